/*
 * request.c - one signed request on an easy handle (see request.h).
 *
 * The body of an UploadPart or PutObject is never buffered: the read
 * callback pread()s (or copies from the mapping) straight into curl's
 * upload buffer, computing the CRC64 on the way when asked
 * (checksum=crc64: no hashing pre-pass).  If curl rewinds (only to 0 is
 * supported) the CRC restarts with it.
 *
 * Headers: curl's defaults are made explicit where a signature depends on
 * them.  POST would add "Content-Type: application/x-www-form-urlencoded"
 * that V1 signs, so Content-Type is always sent explicitly or suppressed;
 * "Expect: 100-continue" is suppressed (an extra round trip per part);
 * the Host header is set by us so that SigV4 signs exactly what is sent;
 * CURLOPT_PATH_AS_IS keeps keys like "a/../b" intact.  HTTP/1.1 only: S3
 * and OSS speak it, and one stream per connection is what spreads parts
 * over connections.
 *
 * Response headers are read after the transfer with curl_easy_header (no
 * hand-written header parsing); the easy handle is then released at once,
 * so a finished request holds no upload buffer.
 *
 * Secrets: the Authorization header exists only in the slist handed to
 * curl; nothing here logs headers.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: see request.h.
 */
#include "request.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked (glibc's is older) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "checksum.h"
#include "creds.h"
#include "retry.h"
#include "source.h"
#include "trust.h"

#define BODY_CAP_DEFAULT (2u * 1024 * 1024)

struct request *request_new(struct ctx *c, const char *op,
			    const char *method, const char *bucket,
			    const char *key)
{
	struct request *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ctx = c;
	r->sock = -1;
	r->op = op;
	r->method = method;
	r->bucket = bucket ? strdup(bucket) : NULL;
	r->key = key ? strdup(key) : NULL;
	if ((bucket && !r->bucket) || (key && !r->key)) {
		request_free(r);
		return NULL;
	}
	return r;
}

static void free_kv(struct sign_kv *kv, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free((char *)kv[i].name);
		free((char *)kv[i].value);
	}
}

void request_free(struct request *r)
{
	size_t i;

	if (!r)
		return;
	if (r->xfer.easy) {
		curl_easy_cleanup(r->xfer.easy);
	}
	curl_slist_free_all(r->slist);
	req_url_cleanup(&r->url);
	free(r->bucket);
	free(r->key);
	free_kv(r->query, r->nquery);
	free_kv(r->headers, r->nheaders);
	buf_free(&r->body);
	free(r->etag);
	free(r->request_id);
	free(r->version_id);
	free(r->date);
	free(r->retry_after);
	free(r->qos_delay);
	free(r->content_length);
	free(r->content_range);
	free(r->last_modified);
	free(r->echo);
	for (i = 0; i < REQ_MAX_EXTRA; i++) {
		free(r->extra[i]);
	}
	error_doc_cleanup(&r->err);
	free(r);
}

static int add_kv(struct sign_kv *kv, size_t *n, size_t max, const char *name,
		  const char *value)
{
	char *cn, *cv;

	if (*n >= max)
		return -1;
	cn = strdup(name);
	cv = strdup(value ? value : "");
	if (!cn || !cv) {
		free(cn);
		free(cv);
		return -1;
	}
	kv[*n].name = cn;
	kv[*n].value = cv;
	(*n)++;
	return 0;
}

int request_query(struct request *r, const char *name, const char *value)
{
	return add_kv(r->query, &r->nquery, REQ_MAX_QUERY, name, value);
}

int request_header(struct request *r, const char *name, const char *value)
{
	return add_kv(r->headers, &r->nheaders, REQ_MAX_HEADERS, name, value);
}

static const char *find_header(const struct request *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	}
	return NULL;
}

/* ------------------------------------------------------------ callbacks */

static size_t read_source(char *buf, size_t size, size_t nitems, void *ud)
{
	struct request *r = ud;
	size_t n = size * nitems;
	int rc;

	if (r->pos >= r->len)
		return 0;
	if (n > r->len - r->pos) {
		n = (size_t)(r->len - r->pos);
	}
	rc = source_read(r->src, buf, r->off + r->pos, n);
	if (rc != 0) {
		r->src_result = rc;
		r->src_errno = rc < 0 ? errno : 0;
		return CURL_READFUNC_ABORT;
	}
	if (r->crc_inline) {
		r->crc = crc64_ecma_update(r->crc, buf, n);
	}
	if (r->sent_total) {
		*r->sent_total += n;
	}
	r->pos += n;
	r->last_io_ms = hoist__now_ms();
	return n;
}

static size_t read_mem(char *buf, size_t size, size_t nitems, void *ud)
{
	struct request *r = ud;
	size_t n = size * nitems;

	if (r->pos >= r->memlen)
		return 0;
	if (n > r->memlen - r->pos) {
		n = (size_t)(r->memlen - r->pos);
	}
	memcpy(buf, r->mem + r->pos, n);
	r->pos += n;
	return n;
}

static int seek_body(void *ud, curl_off_t offset, int origin)
{
	struct request *r = ud;

	/* curl rewinds only to re-send a whole body (a redirect or an auth
	 * round trip); anything else is refused and the attempt fails, to be
	 * retried as a fresh request. */
	if (origin != SEEK_SET || offset != 0)
		return CURL_SEEKFUNC_CANTSEEK;
	r->pos = 0;
	r->crc = 0;
	return CURL_SEEKFUNC_OK;
}

static size_t write_body(char *data, size_t size, size_t nmemb, void *ud)
{
	struct request *r = ud;
	size_t n = size * nmemb;
	size_t cap = r->body_cap ? r->body_cap : BODY_CAP_DEFAULT;

	r->last_io_ms = hoist__now_ms();
	if (r->sink && r->sink_mode == 0) {
		long http = 0;

		curl_easy_getinfo(r->xfer.easy, CURLINFO_RESPONSE_CODE, &http);
		r->sink_mode = http >= 200 && http < 300 ? 1 : 2;
	}
	if (r->sink_mode == 1)
		return r->sink(r, data, n);
	if (r->body.len + n > cap) {
		/* Keep reading (the connection stays reusable), keep nothing
		 * more. */
		r->body_truncated = 1;
		return n;
	}
	if (buf_append(&r->body, data, n) < 0) {
		return 0; /* curl reports CURLE_WRITE_ERROR */
	}
	return n;
}

/* The socket of the request's connection, for request_wire_moved: a new
 * connection's comes from CURLOPT_SOCKOPTFUNCTION; a reused one's is
 * found by its local port (CURLOPT_PREREQFUNCTION runs before every
 * request, new connection or reused) in the loop's table, which the first
 * request on each connection filled, checked with getsockname so a stale
 * entry (the socket closed, its number reused) is never trusted. */
static int sockopt_cb(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	struct request *r = ud;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		r->sock = fd;
	}
	return CURL_SOCKOPT_OK;
}

static int local_port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return -1;
}

/* The connection's bytes acknowledged by the peer plus bytes received
 * (both monotonic for the socket's life), or 0 when unknown. */
static uint64_t wire_count(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return 0;
	return ti.tcpi_bytes_acked + ti.tcpi_bytes_received;
}

static int prereq_cb(void *ud, char *conn_primary_ip, char *conn_local_ip,
		     int conn_primary_port, int conn_local_port)
{
	struct request *r = ud;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	if (!r->port_fds || conn_local_port <= 0 || conn_local_port > 65535)
		return CURL_PREREQFUNC_OK;
	/* The table holds socket + 1 (0: none; loop.h). */
	if (r->sock >= 0) {
		r->port_fds[conn_local_port] = r->sock + 1;
	} else if (local_port_of(r->port_fds[conn_local_port] - 1) == conn_local_port) {
		r->sock = r->port_fds[conn_local_port] - 1;
	}
	/* What the connection moved before this request is not its
	 * progress. */
	r->wire_seen = wire_count(r->sock);
	return CURL_PREREQFUNC_OK;
}

/* -------------------------------------------------------------- signing */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "host;x-amz-content-sha256;x-amz-date": every header we send that SigV4
 * should cover, lower-cased, sorted, without duplicates. */
static char *aws_signed_headers(const struct sign_kv *h, size_t n)
{
	char *names[REQ_MAX_HEADERS + 4];
	struct buf b = BUF_INIT;
	size_t i, k = 0;
	int rc = 0;

	for (i = 0; i < n && k < sizeof(names) / sizeof(names[0]); i++) {
		const char *nm = h[i].name;
		char *low;
		size_t j;

		if (strcasecmp(nm, "host") != 0 && strcasecmp(nm, "content-md5") != 0 &&
		    strcasecmp(nm, "content-type") != 0 &&
		    strncasecmp(nm, "x-amz-", 6) != 0)
			continue;
		low = strdup(nm);
		if (!low) {
			rc = -1;
			break;
		}
		for (j = 0; low[j]; j++) {
			if (low[j] >= 'A' && low[j] <= 'Z') {
				low[j] = (char)(low[j] - 'A' + 'a');
			}
		}
		names[k++] = low;
	}
	if (rc == 0) {
		qsort(names, k, sizeof(names[0]), cmp_str);
		for (i = 0; i < k; i++) {
			if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
				continue;
			if (b.len) {
				rc |= buf_putc(&b, ';');
			}
			rc |= buf_puts(&b, names[i]);
		}
	}
	for (i = 0; i < k; i++) {
		free(names[i]);
	}
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* Adds the date, token and Authorization headers to the request's header
 * table (and so to the signature input).  Returns 0 or -1. */
static int sign_with(struct request *r, struct buf *auth, const char *ak, const char *sk,
		     const char *token);

/* The keys come from the engine's holder (creds.h): one referenced set for
 * the whole signature, so a refresh on another thread cannot hand us a
 * new key with an old token.  r->creds_gen says which set signed, for an
 * expired-token answer. */
static int sign_request_headers(struct request *r, struct buf *auth)
{
	const struct conf *c = r->ctx->conf;
	struct creds_set *ks;
	int rc;

	if (!r->ctx->creds) {
		return sign_with(r, auth, c->ak, c->sk, c->token);
	}
	ks = creds_get(r->ctx->creds);
	r->creds_gen = ks->gen;
	rc = sign_with(r, auth, ks->ak, ks->sk, ks->token);
	creds_put(ks);
	return rc;
}

static int sign_with(struct request *r, struct buf *auth, const char *ak, const char *sk,
		     const char *token)
{
	const struct conf *c = r->ctx->conf;
	const struct dialect_names *nm = dialect_names(c->dialect);
	char iso[17], rfc[30];
	struct sign_request sr;
	struct sign_kv signed_hdrs[REQ_MAX_HEADERS];
	size_t i, nsigned = 0;
	int rc = 0;

	r->sign_offset = ctx_clock_offset(r->ctx);
	r->sign_time = ctx_now(r->ctx);
	sign_format_iso8601(iso, r->sign_time);
	sign_format_rfc1123(rfc, r->sign_time);

	rc |= request_header(r, "Date", rfc);
	if (c->dialect == HOIST_DIALECT_S3 || c->signature == HOIST_SIGNATURE_V4) {
		rc |= request_header(r, nm->date, iso);
		rc |= request_header(r, nm->content_sha256, "UNSIGNED-PAYLOAD");
	}
	if (ak && token) {
		rc |= request_header(r, nm->security_token, token);
	}
	if (c->dialect == HOIST_DIALECT_S3) {
		rc |= request_header(r, "Host", r->url.host.data);
	}
	if (rc)
		return -1;
	if (!ak) {
		return 0; /* anonymous */
	}

	/* Headers sent empty (to suppress curl's defaults) are absent on the
	 * wire, so they are absent from the signature too. */
	for (i = 0; i < r->nheaders; i++) {
		if (*r->headers[i].value) {
			signed_hdrs[nsigned++] = r->headers[i];
		}
	}
	memset(&sr, 0, sizeof(sr));
	sr.method = r->method;
	sr.bucket = r->bucket;
	sr.key = r->key;
	sr.path = r->url.path.data;
	sr.query = r->query;
	sr.nquery = r->nquery;
	sr.headers = signed_hdrs;
	sr.nheaders = nsigned;

	if (c->dialect == HOIST_DIALECT_S3) {
		struct sign_aws_params p;
		char sig[65];
		char *sh = aws_signed_headers(signed_hdrs, nsigned);

		if (!sh)
			return -1;
		memset(&p, 0, sizeof(p));
		p.secret = sk;
		p.region = c->region;
		p.service = "s3";
		p.datetime = iso;
		p.signed_headers = sh;
		p.payload_hash = "UNSIGNED-PAYLOAD";
		rc = sign_aws_v4(sig, &sr, &p);
		if (rc == 0) {
			rc = buf_printf(auth,
					"Authorization: AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/s3/aws4_request, SignedHeaders=%s, Signature=%s",
					ak, iso, c->region, sh, sig);
		}
		free(sh);
		return rc;
	}
	if (c->signature == HOIST_SIGNATURE_V1) {
		char sig[29];

		if (sign_oss_v1(sig, sk, &sr, rfc) < 0)
			return -1;
		return buf_printf(auth, "Authorization: OSS %s:%s", ak, sig);
	} else {
		struct sign_v4_params p;
		char sig[65];

		memset(&p, 0, sizeof(p));
		p.secret = sk;
		p.region = c->region;
		p.product = "oss";
		p.datetime = iso;
		p.payload_hash = "UNSIGNED-PAYLOAD";
		if (sign_oss_v4(sig, &sr, &p) < 0)
			return -1;
		return buf_printf(auth,
				  "Authorization: OSS4-HMAC-SHA256 Credential=%s/%.8s/%s/oss/aliyun_v4_request,Signature=%s",
				  ak, iso, c->region, sig);
	}
}

/* ---------------------------------------------------------------- setup */

static int add_line(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	if (!n)
		return -1;
	*l = n;
	return 0;
}

static CURLcode prepare(struct request *r)
{
	const struct conf *c = r->ctx->conf;
	struct buf auth = BUF_INIT, line = BUF_INIT;
	CURL *h = NULL;
	CURLcode cc = CURLE_OUT_OF_MEMORY;
	char *cainfo = NULL;
	size_t i;

	if (dialect_url(&r->url, c, r->bucket, r->key, r->query, r->nquery) < 0)
		goto out;
	if (!find_header(r, "Content-Type") &&
	    (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0)) {
		/* A signed, explicit empty type beats curl's silent
		 * form-urlencoded default. */
		if (strcmp(r->method, "POST") == 0 &&
		    request_header(r, "Content-Type", "") < 0)
			goto out;
	}
	if (sign_request_headers(r, &auth) < 0)
		goto out;
	for (i = 0; i < r->nheaders; i++) {
		buf_reset(&line);
		if (*r->headers[i].value) {
			if (buf_printf(&line, "%s: %s", r->headers[i].name,
				       r->headers[i].value) < 0)
				goto out;
		} else if (buf_printf(&line, "%s:", r->headers[i].name) < 0) {
			/* "Name:" removes curl's own header of that name. */
			goto out;
		}
		if (add_line(&r->slist, line.data) < 0)
			goto out;
	}
	if (add_line(&r->slist, "Expect:") < 0 || add_line(&r->slist, "Accept:") < 0)
		goto out;
	if (c->dialect != HOIST_DIALECT_S3) {
		buf_reset(&line);
		if (buf_printf(&line, "Host: %s", r->url.host.data) < 0 ||
		    add_line(&r->slist, line.data) < 0)
			goto out;
	}
	if (auth.len && add_line(&r->slist, auth.data) < 0)
		goto out;

	h = curl_easy_init();
	if (!h)
		goto out;
	r->xfer.easy = h;
	r->errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, r->url.url.data);
	curl_easy_setopt(h, CURLOPT_PRIVATE, (char *)&r->xfer);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->slist);
	curl_easy_setopt(h, CURLOPT_SHARE, r->ctx->share);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, (long)c->low_speed_bytes);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->low_speed_seconds);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(h, CURLOPT_SOCKOPTDATA, r);
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, prereq_cb);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, r);
	/* With a CA file in effect (ours, or libcurl's default bundle), no CA
	 * directory: libcurl reuses the store it built (CURLOPT_CA_CACHE_TIMEOUT)
	 * only when it came from a file alone, so Debian's default CApath made
	 * every connection parse the whole bundle again.  Without a file of
	 * ours, the engine's store over the hashed directory, when it has one
	 * (trust.h): no bundle parsed at all. */
	if (c->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	} else if (r->ctx->trust && !c->insecure) {
		trust_apply(r->ctx->trust, h);
	} else if (curl_easy_getinfo(h, CURLINFO_CAINFO, &cainfo) == CURLE_OK && cainfo) {
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	}
	if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}

	r->pos = 0;
	r->crc = 0;
	r->sink_mode = 0;
	if (strcmp(r->method, "PUT") == 0) {
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READDATA, r);
		curl_easy_setopt(h, CURLOPT_SEEKDATA, r);
		curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, seek_body);
		if (r->body_kind == REQ_BODY_SOURCE) {
			curl_easy_setopt(h, CURLOPT_READFUNCTION, read_source);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->len);
		} else {
			curl_easy_setopt(h, CURLOPT_READFUNCTION, read_mem);
			curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
					 (curl_off_t)(r->body_kind == REQ_BODY_MEM ? r->memlen : 0));
		}
		if (r->upload_buffer) {
			curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, r->upload_buffer);
		}
		/* A PUT's answer is headers and at most a small XML or
		 * callback body: curl's 16 KiB receive buffer per transfer
		 * would be 4 MiB at 256 jobs for nothing. */
		curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 4096L);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body_kind == REQ_BODY_MEM ? r->mem : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)(r->body_kind == REQ_BODY_MEM ? r->memlen : 0));
	} else if (strcmp(r->method, "HEAD") == 0) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		if (r->sink && r->recv_buffer) {
			curl_easy_setopt(h, CURLOPT_BUFFERSIZE, r->recv_buffer);
		}
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	}
	r->started = hoist__now_s();
	r->last_io_ms = hoist__now_ms();
	cc = CURLE_OK;
out:
	buf_free(&auth);
	buf_free(&line);
	return cc;
}

/* ------------------------------------------------------------- capture */

/* request_header_fn over a finished easy handle: curl has parsed the
 * head and trimmed the value; the first of repeated names counts. */
static char *header_dup(void *ud, const char *name)
{
	struct curl_header *hd = NULL;

	if (curl_easy_header(ud, name, 0, CURLH_HEADER, -1, &hd) != CURLHE_OK || !hd)
		return NULL;
	return strdup(hd->value);
}

void request_capture_headers(struct request *r, enum hoist_dialect d,
			     request_header_fn get, void *userdata)
{
	const struct dialect_names *nm = dialect_names(d);
	struct error_doc hdr_err;
	char *crc, *err;
	size_t i;

	if (r->http <= 0)
		return;
	r->etag = get(userdata, "ETag");
	r->request_id = get(userdata, nm->request_id);
	if (!r->request_id) {
		r->request_id = get(userdata, "x-amz-request-id");
	}
	r->version_id = get(userdata, nm->version_id);
	r->date = get(userdata, "Date");
	r->retry_after = get(userdata, "Retry-After");
	r->content_length = get(userdata, "Content-Length");
	r->content_range = get(userdata, "Content-Range");
	r->last_modified = get(userdata, "Last-Modified");
	if (r->echo_header) {
		r->echo = get(userdata, r->echo_header);
	}
	for (i = 0; i < REQ_MAX_EXTRA; i++) {
		if (r->extra_headers[i]) {
			r->extra[i] = get(userdata, r->extra_headers[i]);
		}
	}
	if (nm->qos_delay) {
		r->qos_delay = get(userdata, nm->qos_delay);
	}
	crc = nm->crc64 ? get(userdata, nm->crc64) : NULL;
	if (crc && parse_u64(crc, &r->resp_crc) == 0) {
		r->resp_crc_valid = 1;
	}
	free(crc);
	/* 203 is how OSS says "stored, but the callback failed", with an
	 * Error document like any failure. */
	if (r->http < 300 && r->http != 203)
		return;
	if (r->body.len && !r->body_truncated) {
		response_parse_error(&r->err, r->body.data, r->body.len);
	}
	if (r->err.code || !nm->err)
		return;
	err = get(userdata, nm->err);
	/* A body <Error> without a Code may have filled other fields: it is
	 * replaced only by a header document that parses, and released
	 * first. */
	if (err && response_parse_error_b64(&hdr_err, err) == 0) {
		error_doc_cleanup(&r->err);
		r->err = hdr_err;
	}
	free(err);
}

static void capture(struct request *r, CURLcode cc)
{
	CURL *h = r->xfer.easy;
	curl_off_t t = 0;

	r->cc = cc;
	r->seconds = hoist__now_s() - r->started;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->http);
	if (curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &t) == CURLE_OK) {
		r->ttfb = (double)t / 1e6;
	}
	if (curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &t) == CURLE_OK) {
		r->pretransfer = (double)t / 1e6;
	}
	request_capture_headers(r, r->ctx->conf->dialect, header_dup, h);
	/* Release the handle (and its upload buffer) now: only the captured
	 * copies are needed from here on. */
	curl_easy_cleanup(h);
	r->xfer.easy = NULL;
	curl_slist_free_all(r->slist);
	r->slist = NULL;
}

static void xfer_done(struct loop_xfer *x, CURLcode cc)
{
	struct request *r = (struct request *)x;

	capture(r, cc);
	r->done(r);
}

int request_start(struct request *r, struct loop *l)
{
	r->xfer.done = xfer_done;
	r->port_fds = loop_port_fds(l);
	r->cc = prepare(r);
	if (r->cc != CURLE_OK)
		return -1;
	if (loop_add(l, &r->xfer) < 0) {
		r->cc = CURLE_OUT_OF_MEMORY;
		return -1;
	}
	return 0;
}

long request_live_status(struct request *r)
{
	long http = 0;

	if (r->xfer.easy) {
		curl_easy_getinfo(r->xfer.easy, CURLINFO_RESPONSE_CODE, &http);
	}
	return http;
}

char *request_live_header(struct request *r, const char *name)
{
	return r->xfer.easy ? header_dup(r->xfer.easy, name) : NULL;
}

void request_resume(struct request *r)
{
	if (r->xfer.easy) {
		r->last_io_ms = hoist__now_ms();
		curl_easy_pause(r->xfer.easy, CURLPAUSE_CONT);
	}
}

void request_perform(struct request *r)
{
	CURLcode cc = prepare(r);

	if (cc != CURLE_OK) {
		r->cc = cc;
		return;
	}
	cc = curl_easy_perform(r->xfer.easy);
	capture(r, cc);
}

int request_wire_moved(struct request *r, uint64_t now_ms)
{
	uint64_t seen;

	if (!r->xfer.easy || r->sock < 0)
		return 0;
	seen = wire_count(r->sock);
	if (seen == 0 || seen == r->wire_seen)
		return 0;
	r->wire_seen = seen;
	r->last_io_ms = now_ms;
	return 1;
}

/* ------------------------------------------------------------- outcome */

void request_outcome(struct request *r, hoist_status *status, int *retry,
		     struct failure *f)
{
	memset(f, 0, sizeof(*f));
	f->op = r->op;
	f->part = r->part;
	f->http = r->http;
	f->request_id = r->err.request_id ? r->err.request_id : r->request_id;
	*retry = 0;
	if (r->src_result) {
		*status = r->src_result == SOURCE_SHORT ? HOIST_E_SOURCE_CHANGED : HOIST_E_IO;
		f->detail = r->src_result == SOURCE_SHORT
				    ? "the file is shorter than when the upload started"
				    : strerror(r->src_errno);
		f->http = 0;
	} else if (r->http >= 300 && (r->cc == CURLE_OK || r->err.code)) {
		/* A server that answers an error before reading the body may
		 * reset the connection under our upload: the answer is what
		 * counts. */
		dialect_classify(r->ctx->conf->dialect, r->http, r->err.code,
				 status, retry);
		f->code = r->err.code;
		f->message = r->err.message;
	} else if (r->cc != CURLE_OK) {
		retry_classify_curl(r->cc, status, retry);
		f->detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->cc);
		f->http = 0;
	} else if (r->http >= 200 && r->http < 300) {
		*status = HOIST_OK;
	} else {
		/* 1xx as final status, or no status at all. */
		*status = HOIST_E_NETWORK;
		*retry = 1;
		f->detail = "no usable HTTP response";
	}
	f->status = *status;
}

void request_failure(struct failure *f, const struct request *r, hoist_status st,
		     const char *detail)
{
	failure_init(f, st, r->op, r->part, detail);
	f->http = r->http;
	f->request_id = r->request_id;
}

int request_clock_skew(const struct request *r, int64_t *offset)
{
	int64_t server;

	if (!r->date || sign_parse_rfc1123(r->date, &server) < 0)
		return -1;
	/* sign_time - sign_offset is what the local clock read. */
	*offset = server - (r->sign_time - r->sign_offset);
	return 0;
}

uint64_t request_retry_delay(struct ctx *c, const struct request *r, unsigned attempt,
			     uint64_t *rng)
{
	const struct conf *cf = c->conf;
	uint64_t d = retry_backoff_ms(attempt, cf->retry_base_ms, cf->retry_cap_ms, rng);
	uint64_t sd = retry_server_delay_ms(r->retry_after, r->qos_delay, cf->retry_cap_ms);
	int64_t off;

	if (r->err.code && (strcmp(r->err.code, "RequestTimeTooSkewed") == 0 ||
			    strcmp(r->err.code, "RequestExpired") == 0) &&
	    request_clock_skew(r, &off) == 0) {
		ctx_set_clock_offset(c, off);
		ctx_log(c, "the server's clock differs from ours by %" PRId64 " s; signing with its time",
			off);
	}
	return sd > d ? sd : d;
}

#define TOKEN_RETRY_LOG \
	"the session token expired (request id %s); renewing the credentials and sending once more"

int request_token_refresh(struct request *r)
{
	const char *id;

	if (r->http <= 0 || !dialect_token_expired(r->ctx->conf->dialect, r->http, r->err.code))
		return 0;
	if (!creds_refreshable(r->ctx->creds)) {
		ctx_log(r->ctx, "the session token expired; the keys were given fixed (no credentials provider), so nothing can renew them");
		return 0;
	}
	creds_expired(r->ctx->creds, r->creds_gen);
	id = r->err.request_id ? r->err.request_id : r->request_id ? r->request_id : "-";
	if (r->part) {
		ctx_log(r->ctx, "%s part %u: " TOKEN_RETRY_LOG, r->op, r->part, id);
	} else {
		ctx_log(r->ctx, "%s: " TOKEN_RETRY_LOG, r->op, id);
	}
	return 1;
}

int request_creds_ready(struct ctx *c, uint64_t gen)
{
	return !creds_pending(c->creds, gen);
}

void request_note(struct req_stats *s, const struct request *r)
{
	if (!s->ttfb_set && r->http > 0) {
		s->ttfb = r->ttfb;
		s->ttfb_set = 1;
	}
	if (r->body_kind == REQ_BODY_SOURCE) {
		s->bytes_sent += r->pos;
	}
	if (r->http > 0) {
		s->http_status = r->http;
	}
}

/* Memory for curl's upload buffers across all requests in flight: each
 * owns one buffer of CURLOPT_UPLOAD_BUFFERSIZE.  Larger buffers mean fewer
 * read callbacks and syscalls per byte, but jobs x buffer is resident
 * memory (256 jobs x 1 MiB would be 256 MiB), and a buffer that no longer
 * fits in L2 makes every byte cross the memory bus twice (pread writes it,
 * send reads it back).  Measured on a 2-core EPYC (1 MiB L2), 1 GiB over 8
 * connections to ossemu --discard: 64 KiB 0.78 s, 128-512 KiB 0.52-0.57 s,
 * 1 MiB 0.64-0.81 s, 2 MiB 0.67-0.73 s.  So a 24 MiB budget is split over
 * the requests, within [16 KiB (curl's minimum), 512 KiB]: 64 get 384 KiB
 * each, 256 get 96 KiB, 1024 get 16 KiB. */
#define UPLOAD_BUFFER_BUDGET (24L * 1024 * 1024)
#define UPLOAD_BUFFER_MIN (16L * 1024)
#define UPLOAD_BUFFER_MAX (512L * 1024)

long request_upload_buffer(unsigned inflight)
{
	long b = UPLOAD_BUFFER_BUDGET / (long)(inflight ? inflight : 1);

	if (b > UPLOAD_BUFFER_MAX) {
		b = UPLOAD_BUFFER_MAX;
	}
	if (b < UPLOAD_BUFFER_MIN) {
		b = UPLOAD_BUFFER_MIN;
	}
	return b & ~(16L * 1024 - 1);
}
