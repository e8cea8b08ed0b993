/*
 * dialect.c - OSS vs S3: limits, names, URLs, ETags, error classes.
 *
 * URLs are built from an endpoint that curl's own URL parser split at
 * engine creation (endpoint_parse), and object keys are percent-encoded
 * with sign_uri_encode (RFC 3986 unreserved plus '/'), the same function
 * the signers use, so the URL sent and the URI signed cannot disagree.
 * Path style is used for IP endpoints and localhost (a name like
 * "bkt.127.0.0.1" does not resolve) or when asked for; virtual-host style
 * otherwise, as the SDKs do.
 *
 * Error classes (see dialect_classify): transient conditions are retried
 * (5xx, 408, 429, RequestTimeTooSkewed after a clock correction, BadDigest
 * / InvalidDigest because bytes can be damaged on the way), everything that
 * a resend cannot fix (AccessDenied, SignatureDoesNotMatch, NoSuchBucket,
 * InvalidArgument, EntityTooSmall...) is not.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "dialect.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "checksum.h"
#include "ctx.h"

static const struct dialect_limits limits_oss = {
	.min_part = 100 * 1024,
	.max_part = 5ULL * 1024 * 1024 * 1024,
	.max_parts = 10000,
};
static const struct dialect_limits limits_s3 = {
	.min_part = 5ULL * 1024 * 1024,
	.max_part = 5ULL * 1024 * 1024 * 1024,
	.max_parts = 10000,
};

const struct dialect_limits *dialect_limits(enum hoist_dialect d)
{
	return d == HOIST_DIALECT_S3 ? &limits_s3 : &limits_oss;
}

static const struct dialect_names names_oss = {
	.prefix = "x-oss-",
	.date = "x-oss-date",
	.content_sha256 = "x-oss-content-sha256",
	.security_token = "x-oss-security-token",
	.request_id = "x-oss-request-id",
	.crc64 = "x-oss-hash-crc64ecma",
	.version_id = "x-oss-version-id",
	.forbid_overwrite = "x-oss-forbid-overwrite",
	.complete_all = "x-oss-complete-all",
	.err = "x-oss-err",
	.qos_delay = "x-oss-qos-delay-time",
};
static const struct dialect_names names_s3 = {
	.prefix = "x-amz-",
	.date = "x-amz-date",
	.content_sha256 = "x-amz-content-sha256",
	.security_token = "x-amz-security-token",
	.request_id = "x-amz-request-id",
	.crc64 = NULL,
	.version_id = "x-amz-version-id",
	.forbid_overwrite = NULL,
	.complete_all = NULL,
	.err = NULL,
	.qos_delay = NULL,
};

const struct dialect_names *dialect_names(enum hoist_dialect d)
{
	return d == HOIST_DIALECT_S3 ? &names_s3 : &names_oss;
}

/* ------------------------------------------------------------ endpoint */

void endpoint_cleanup(struct endpoint *ep)
{
	if (!ep)
		return;
	free(ep->scheme);
	free(ep->host);
	free(ep->port);
	memset(ep, 0, sizeof(*ep));
}

static char *dup_curl(char *s)
{
	char *c = s ? strdup(s) : NULL;

	curl_free(s);
	return c;
}

int endpoint_parse(struct endpoint *ep, const char *url, char *err, size_t errlen)
{
	CURLU *u = NULL;
	char *path = NULL, *query = NULL, *scheme = NULL, *host = NULL, *port = NULL;
	char *user = NULL;
	int rc = -1;
	struct in_addr a4;

	memset(ep, 0, sizeof(*ep));
	u = curl_url();
	if (!u) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_DEFAULT_SCHEME) != CURLUE_OK) {
		snprintf(err, errlen, "endpoint '%s' is not a valid URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "endpoint '%s' has no host", url);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		snprintf(err, errlen, "endpoint '%s': scheme must be http or https", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen, "endpoint '%s': credentials do not belong in the URL", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    strcmp(path, "/") != 0 && strcmp(path, "") != 0) {
		snprintf(err, errlen, "endpoint '%s' must not have a path", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		snprintf(err, errlen, "endpoint '%s' must not have a query", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) {
		port = NULL;
	}
	ep->scheme = dup_curl(scheme);
	ep->host = dup_curl(host);
	ep->port = port ? dup_curl(port) : NULL;
	scheme = host = port = NULL;
	if (!ep->scheme || !ep->host) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ep->is_ip = ep->host[0] == '[' || inet_pton(AF_INET, ep->host, &a4) == 1 ||
		    strcasecmp(ep->host, "localhost") == 0;
	rc = 0;
out:
	curl_free(path);
	curl_free(query);
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(user);
	curl_url_cleanup(u);
	if (rc) {
		endpoint_cleanup(ep);
	}
	return rc;
}

char *dialect_default_endpoint(enum hoist_dialect d, const char *region,
			       int internal)
{
	struct buf b = BUF_INIT;
	int rc;

	if (d == HOIST_DIALECT_S3) {
		rc = buf_printf(&b, "https://s3.%s.amazonaws.com", region);
	} else {
		rc = buf_printf(&b, "https://oss-%s%s.aliyuncs.com", region,
				internal ? "-internal" : "");
	}
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* ------------------------------------------------------------------ URL */

void req_url_cleanup(struct req_url *u)
{
	buf_free(&u->url);
	buf_free(&u->host);
	buf_free(&u->path);
}

static int put_encoded(struct buf *b, const char *s, int keep_slash)
{
	char *e = sign_uri_encode(s, keep_slash);
	int rc;

	if (!e)
		return -1;
	rc = buf_puts(b, e);
	free(e);
	return rc;
}

int dialect_url(struct req_url *out, const struct conf *c,
		const char *bucket, const char *key, const struct sign_kv *query,
		size_t nquery)
{
	const struct endpoint *ep = &c->ep;
	int has_bucket = bucket && *bucket;
	int has_key = key && *key;
	int vhost = has_bucket && !c->path_style;
	int rc = 0;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (vhost) {
		rc |= buf_printf(&out->host, "%s.%s", bucket, ep->host);
	} else {
		rc |= buf_puts(&out->host, ep->host);
	}
	if (ep->port) {
		rc |= buf_printf(&out->host, ":%s", ep->port);
	}

	rc |= buf_putc(&out->path, '/');
	if (has_bucket && !vhost) {
		rc |= buf_puts(&out->path, bucket);
		rc |= buf_putc(&out->path, '/');
	}
	if (has_key) {
		rc |= buf_puts(&out->path, key);
	}

	rc |= buf_printf(&out->url, "%s://", ep->scheme);
	rc |= buf_append(&out->url, out->host.data, out->host.len);
	if (rc == 0) {
		rc |= put_encoded(&out->url, out->path.data, 1);
	}
	for (i = 0; i < nquery && rc == 0; i++) {
		rc |= buf_putc(&out->url, i ? '&' : '?');
		rc |= put_encoded(&out->url, query[i].name, 0);
		if (query[i].value && *query[i].value) {
			rc |= buf_putc(&out->url, '=');
			rc |= put_encoded(&out->url, query[i].value, 0);
		}
	}
	if (rc) {
		req_url_cleanup(out);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- ETags */

/* The ETag without surrounding quotes (and without a W/ prefix): *len. */
static const char *etag_bare(const char *etag, size_t *len)
{
	size_t n;

	if (!etag) {
		etag = "";
	}
	if (strncmp(etag, "W/", 2) == 0) {
		etag += 2;
	}
	n = strlen(etag);
	if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
		etag++;
		n -= 2;
	}
	*len = n;
	return etag;
}

int etag_equal(const char *a, const char *b)
{
	size_t la, lb;
	const char *pa = etag_bare(a, &la);
	const char *pb = etag_bare(b, &lb);

	return la == lb && la > 0 && strncasecmp(pa, pb, la) == 0;
}

int etag_is_multipart(const char *etag)
{
	size_t n, i, dash = 0;
	const char *p = etag_bare(etag, &n);

	for (i = 0; i < n; i++) {
		if (p[i] == '-') {
			dash = i;
		}
	}
	if (dash == 0 || dash + 1 >= n) {
		return 0;
	}
	for (i = dash + 1; i < n; i++) {
		if (p[i] < '0' || p[i] > '9') {
			return 0;
		}
	}
	return 1;
}

int etag_to_md5(uint8_t md5[16], const char *etag)
{
	size_t n;
	const char *p = etag_bare(etag, &n);

	if (n != 32)
		return -1;
	return hex_decode(md5, p, 16);
}

int etag_equals_md5(const char *etag, const uint8_t md5[16])
{
	uint8_t got[16];

	if (etag_to_md5(got, etag) < 0)
		return 0;
	return memcmp(got, md5, 16) == 0;
}

int dialect_multipart_etag(enum hoist_dialect d, char *out, size_t outlen,
			   const uint8_t (*md5)[16], unsigned n)
{
	struct md5_ctx ctx;
	uint8_t digest[16];
	char hex[33];
	unsigned i;
	int upper = d != HOIST_DIALECT_S3;

	if (outlen < 48 || md5_init(&ctx) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (upper) {
			/* OSS hashes the 32-character upper-case hex text of
			 * each part's MD5 (oss-protocol.md 4.3). */
			hex_encode(hex, md5[i], 16, 1);
			md5_update(&ctx, hex, 32);
		} else {
			md5_update(&ctx, md5[i], 16);
		}
	}
	md5_final(&ctx, digest);
	hex_encode(hex, digest, 16, upper);
	snprintf(out, outlen, "\"%s-%u\"", hex, n);
	return 0;
}

/* ------------------------------------------------------- S3 checksums */

const char *s3sum_header(enum hoist_s3_checksum k)
{
	switch (k) {
	case HOIST_S3_CHECKSUM_CRC32C:
		return "x-amz-checksum-crc32c";
	case HOIST_S3_CHECKSUM_CRC64NVME:
		return "x-amz-checksum-crc64nvme";
	default:
		return NULL;
	}
}

const char *s3sum_algorithm(enum hoist_s3_checksum k)
{
	switch (k) {
	case HOIST_S3_CHECKSUM_CRC32C:
		return "CRC32C";
	case HOIST_S3_CHECKSUM_CRC64NVME:
		return "CRC64NVME";
	default:
		return NULL;
	}
}

const char *s3sum_element(enum hoist_s3_checksum k)
{
	switch (k) {
	case HOIST_S3_CHECKSUM_CRC32C:
		return "ChecksumCRC32C";
	case HOIST_S3_CHECKSUM_CRC64NVME:
		return "ChecksumCRC64NVME";
	default:
		return NULL;
	}
}

static size_t s3sum_width(enum hoist_s3_checksum k)
{
	return k == HOIST_S3_CHECKSUM_CRC32C ? 4 : 8;
}

void s3sum_encode(char out[13], enum hoist_s3_checksum k, uint64_t v)
{
	uint8_t be[8];
	size_t w = s3sum_width(k), i;

	for (i = 0; i < w; i++) {
		be[i] = (uint8_t)(v >> (8 * (w - 1 - i)));
	}
	base64_encode(out, be, w);
}

int s3sum_equals(const char *text, enum hoist_s3_checksum k, uint64_t v)
{
	uint8_t got[12], want[8];
	size_t w = s3sum_width(k), n, i;
	long len;

	if (!text)
		return 0;
	n = strlen(text);
	if (n != BASE64_LEN(w))
		return 0;
	len = base64_decode(got, text, n);
	if (len != (long)w)
		return 0;
	for (i = 0; i < w; i++) {
		want[i] = (uint8_t)(v >> (8 * (w - 1 - i)));
	}
	return memcmp(got, want, w) == 0;
}

/* ------------------------------------------------------ classification */

void dialect_classify(enum hoist_dialect d, long http, const char *code,
		      hoist_status *status, int *retry)
{
	(void)d;
	if (!code) {
		code = "";
	}
	*retry = 0;
	if (http >= 200 && http < 300) {
		*status = HOIST_OK;
		return;
	}
	if (strcmp(code, "RequestTimeTooSkewed") == 0 ||
	    strcmp(code, "RequestExpired") == 0) {
		/* Retried after the clock offset is corrected from the
		 * response's Date (upload.c / ops.c). */
		*status = HOIST_E_AUTH;
		*retry = 1;
		return;
	}
	if (strcmp(code, "InvalidDigest") == 0 || strcmp(code, "BadDigest") == 0) {
		/* The server saw other bytes than we hashed: damaged on the
		 * way (retry) or the file changed (the source check catches
		 * that before Complete). */
		*status = HOIST_E_CHECKSUM;
		*retry = 1;
		return;
	}
	if (strcmp(code, "SlowDown") == 0 || http == 429 ||
	    strcmp(code, "TooManyRequests") == 0 ||
	    strcmp(code, "RequestThrottled") == 0) {
		*status = HOIST_E_THROTTLED;
		*retry = 1;
		return;
	}
	if (http == 408 || strcmp(code, "RequestTimeout") == 0) {
		*status = HOIST_E_NETWORK;
		*retry = 1;
		return;
	}
	if (http >= 500) {
		*status = http == 503 ? HOIST_E_THROTTLED : HOIST_E_SERVER;
		*retry = 1;
		return;
	}
	if (http == 401 || http == 403) {
		*status = HOIST_E_AUTH;
		return;
	}
	if (http == 404) {
		*status = HOIST_E_NOT_FOUND;
		return;
	}
	if (http == 409 && (strcmp(code, "FileAlreadyExists") == 0 ||
			    strcmp(code, "PreconditionFailed") == 0)) {
		*status = HOIST_E_CONFLICT;
		return;
	}
	if (http == 412) {
		*status = HOIST_E_CONFLICT;
		return;
	}
	*status = HOIST_E_SERVER;
}

int dialect_token_expired(enum hoist_dialect d, long http, const char *code)
{
	if (!code)
		return 0;
	if (d == HOIST_DIALECT_S3)
		return http == 400 && strcmp(code, "ExpiredToken") == 0;
	return http == 403 && strcmp(code, "SecurityTokenExpired") == 0;
}
