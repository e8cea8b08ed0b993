/*
 * sign.c - OSS V1, OSS V4 and AWS SigV4 request signatures (see sign.h).
 *
 * Design: each scheme is "canonicalise, then HMAC".  The canonical forms are
 * built into a struct buf from the decoded request description, so the
 * client (signing what it is about to send) and ossemu (re-deriving from
 * what it received) run the very same code; the unit vectors in
 * tests/unit/test_sign.c pin every scheme to the SDKs' and AWS's published
 * values.  Header sets are gathered into a small array of (lower-cased
 * name, trimmed value) pairs, sorted stably so that repeated headers are
 * joined with ',' in the order they were sent, as the SDKs and AWS do.
 *
 * Percent-encoding is the RFC 3986 unreserved set with upper-case hex; it is
 * what the three signature specs define (curl_easy_escape needs a handle and
 * cannot keep '/'), so it lives here in a few lines.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: pure functions over their arguments; reentrant.
 */
#include "sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "checksum.h"

/* ---- small helpers ------------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

static int uri_encode_append(struct buf *b, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";

	if (buf_reserve(b, strlen(s) * 3) < 0)
		return -1;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = hex[c >> 4];
			b->data[b->len++] = hex[c & 0xf];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}

char *sign_uri_encode(const char *s, int keep_slash)
{
	struct buf b = BUF_INIT;

	if (uri_encode_append(&b, nz(s), keep_slash) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int sign_equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

void sign_sha256_hex(char out[65], const void *p, size_t n)
{
	uint8_t md[32];
	unsigned int len = sizeof(md);

	EVP_Digest(n ? p : "", n, md, &len, EVP_sha256(), NULL);
	hex_encode(out, md, 32, 0);
}

static void hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
			const char *msg, size_t msglen)
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, msglen,
	     out, &len);
}

static char ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII-only case folding for header names: strcasecmp follows the locale
 * (a Turkish locale folds 'I' differently). */
static int ascii_caseeq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return 0;
		if (!a[i])
			return 1;
	}
	return 1;
}

static char *lower_dup(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	for (size_t i = 0; i <= n; i++) {
		d[i] = ascii_lower(s[i]);
	}
	return d;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Trims surrounding blanks; with collapse also folds inner runs of blanks
 * into one space (AWS "trimall"; the OSS SDKs only trim). */
static int value_append(struct buf *b, const char *v, int collapse)
{
	const char *end;

	v = nz(v);
	while (is_space(*v)) {
		v++;
	}
	end = v + strlen(v);
	while (end > v && is_space(end[-1])) {
		end--;
	}
	if (!collapse)
		return buf_append(b, v, (size_t)(end - v));
	while (v < end) {
		if (is_space(*v)) {
			while (is_space(*v)) {
				v++;
			}
			if (buf_putc(b, ' ') < 0)
				return -1;
		} else if (buf_putc(b, *v++) < 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- header sets ----------------------------------------------------------- */

struct hdr {
	char *name;        /* lower-cased copy */
	const char *value; /* borrowed, untrimmed */
	size_t idx;        /* position in the request, for a stable sort */
};

struct hdrset {
	struct hdr *h;
	size_t n;
};

static int hdr_cmp(const void *a, const void *b)
{
	const struct hdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static void hdrset_free(struct hdrset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->h[i].name);
	}
	free(s->h);
	s->h = NULL;
	s->n = 0;
}

typedef int (*hdr_pick_fn)(const char *lname, const void *arg);

/* Collects the headers whose lower-cased name the pick function accepts,
 * sorted by name, repeats in request order. */
static int hdrset_collect(struct hdrset *s, const struct sign_request *r,
			  hdr_pick_fn pick, const void *arg)
{
	s->h = NULL;
	s->n = 0;
	if (r->nheaders == 0)
		return 0;
	s->h = calloc(r->nheaders, sizeof(*s->h));
	if (!s->h)
		return -1;
	for (size_t i = 0; i < r->nheaders; i++) {
		char *ln;

		if (!r->headers[i].name)
			continue;
		ln = lower_dup(r->headers[i].name);
		if (!ln) {
			hdrset_free(s);
			return -1;
		}
		if (!pick(ln, arg)) {
			free(ln);
			continue;
		}
		s->h[s->n].name = ln;
		s->h[s->n].value = r->headers[i].value;
		s->h[s->n].idx = i;
		s->n++;
	}
	qsort(s->h, s->n, sizeof(*s->h), hdr_cmp);
	return 0;
}

/* Emits "name:v1,v2\n" per distinct name. */
static int hdrset_emit(struct buf *b, const struct hdrset *s, int collapse)
{
	for (size_t i = 0; i < s->n; i++) {
		int first = i == 0 || strcmp(s->h[i].name, s->h[i - 1].name) != 0;
		int last = i + 1 == s->n || strcmp(s->h[i].name, s->h[i + 1].name) != 0;

		if (first && (buf_puts(b, s->h[i].name) < 0 || buf_putc(b, ':') < 0))
			return -1;
		if (!first && buf_putc(b, ',') < 0)
			return -1;
		if (value_append(b, s->h[i].value, collapse) < 0)
			return -1;
		if (last && buf_putc(b, '\n') < 0)
			return -1;
	}
	return 0;
}

/* The first header with this (lower-case) name, or NULL. */
static const char *header_get(const struct sign_request *r, const char *lname)
{
	for (size_t i = 0; i < r->nheaders; i++) {
		if (r->headers[i].name && ascii_caseeq(r->headers[i].name, lname, (size_t)-1))
			return nz(r->headers[i].value);
	}
	return NULL;
}

/* ---- encoded, sorted query ------------------------------------------------- */

struct qparam {
	char *name;  /* percent-encoded */
	char *value; /* percent-encoded, "" when absent */
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

static void qparams_free(struct qparam *q, size_t n)
{
	for (size_t i = 0; i < n && q; i++) {
		free(q[i].name);
		free(q[i].value);
	}
	free(q);
}

/*
 * All query parameters encoded and sorted by encoded name, then value, and
 * joined with '&'.  always_eq: AWS writes "name=" for an empty value, OSS V4
 * writes the bare "name".
 */
static int canonical_query_append(struct buf *b, const struct sign_request *r,
				  int always_eq)
{
	struct qparam *q;
	int result = -1;

	if (r->nquery == 0)
		return 0;
	q = calloc(r->nquery, sizeof(*q));
	if (!q)
		return -1;
	for (size_t i = 0; i < r->nquery; i++) {
		q[i].name = sign_uri_encode(nz(r->query[i].name), 0);
		q[i].value = sign_uri_encode(nz(r->query[i].value), 0);
		if (!q[i].name || !q[i].value)
			goto out;
	}
	qsort(q, r->nquery, sizeof(*q), qparam_cmp);
	for (size_t i = 0; i < r->nquery; i++) {
		if (i && buf_putc(b, '&') < 0)
			goto out;
		if (buf_puts(b, q[i].name) < 0)
			goto out;
		if ((always_eq || q[i].value[0]) &&
		    (buf_putc(b, '=') < 0 || buf_puts(b, q[i].value) < 0))
			goto out;
	}
	result = 0;
out:
	qparams_free(q, r->nquery);
	return result;
}

/* ---- OSS V1 ---------------------------------------------------------------- */

/* Go v2 requiredSignedParametersMap plus Py v2's resourceGroup; any
 * "x-oss-" query key is also signed (sign_oss_v1_is_subresource). */
static const char *const v1_subresources[] = {
	"acl", "append", "bucketInfo", "callback", "callback-var", "cloudboxes",
	"continuation-token", "delete", "location", "objectMeta", "partNumber",
	"position", "regionList", "resourceGroup", "response-cache-control",
	"response-content-disposition", "response-content-encoding",
	"response-content-language", "response-content-type", "response-expires",
	"restore", "security-token", "sequential", "stat", "symlink", "tagging",
	"uploadId", "uploads", "versionId", "versioning", "versions",
};

int sign_oss_v1_is_subresource(const char *name)
{
	if (!name)
		return 0;
	if (strncmp(name, "x-oss-", 6) == 0)
		return 1;
	for (size_t i = 0; i < sizeof(v1_subresources) / sizeof(v1_subresources[0]); i++) {
		if (strcmp(name, v1_subresources[i]) == 0)
			return 1;
	}
	return 0;
}

static int pick_x_oss(const char *lname, const void *arg)
{
	(void)arg;
	return strncmp(lname, "x-oss-", 6) == 0;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct sign_kv *x = *(const struct sign_kv *const *)a;
	const struct sign_kv *y = *(const struct sign_kv *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(nz(x->value), nz(y->value));
}

static int v1_resource_append(struct buf *b, const struct sign_request *r)
{
	const struct sign_kv **sub = NULL;
	size_t nsub = 0;
	int result = -1;

	/* The key goes in raw: V1 signs the decoded name. */
	if (buf_putc(b, '/') < 0)
		return -1;
	if (r->bucket && *r->bucket) {
		if (buf_puts(b, r->bucket) < 0 || buf_putc(b, '/') < 0 ||
		    buf_puts(b, nz(r->key)) < 0)
			return -1;
	}
	if (r->nquery == 0)
		return 0;
	sub = calloc(r->nquery, sizeof(*sub));
	if (!sub)
		return -1;
	for (size_t i = 0; i < r->nquery; i++) {
		if (sign_oss_v1_is_subresource(r->query[i].name)) {
			sub[nsub++] = &r->query[i];
		}
	}
	qsort(sub, nsub, sizeof(*sub), kv_cmp);
	for (size_t i = 0; i < nsub; i++) {
		if (buf_putc(b, i ? '&' : '?') < 0 || buf_puts(b, sub[i]->name) < 0)
			goto out;
		if (sub[i]->value && *sub[i]->value &&
		    (buf_putc(b, '=') < 0 || buf_puts(b, sub[i]->value) < 0))
			goto out;
	}
	result = 0;
out:
	free(sub);
	return result;
}

char *sign_oss_v1_string_to_sign(const struct sign_request *r, const char *date_line)
{
	struct buf b = BUF_INIT;
	struct hdrset hs = { NULL, 0 };
	char *result = NULL;

	if (buf_puts(&b, nz(r->method)) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	if (value_append(&b, header_get(r, "content-md5"), 0) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	if (value_append(&b, header_get(r, "content-type"), 0) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	if (buf_puts(&b, nz(date_line)) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	if (hdrset_collect(&hs, r, pick_x_oss, NULL) < 0 || hdrset_emit(&b, &hs, 0) < 0)
		goto out;
	if (v1_resource_append(&b, r) < 0)
		goto out;
	result = buf_detach(&b);
out:
	hdrset_free(&hs);
	buf_free(&b);
	return result;
}

int sign_oss_v1(char out[29], const char *secret, const struct sign_request *r,
		const char *date_line)
{
	uint8_t md[20];
	unsigned int len = sizeof(md);
	char *sts = sign_oss_v1_string_to_sign(r, date_line);

	if (!sts)
		return -1;
	HMAC(EVP_sha1(), nz(secret), (int)strlen(nz(secret)),
	     (const unsigned char *)sts, strlen(sts), md, &len);
	free(sts);
	base64_encode(out, md, sizeof(md));
	return 0;
}

/* ---- OSS V4 ---------------------------------------------------------------- */

static int v4_signed_by_default(const char *lname)
{
	return strncmp(lname, "x-oss-", 6) == 0 || strcmp(lname, "content-type") == 0 ||
	       strcmp(lname, "content-md5") == 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The additional header names actually signed: lower-cased, without the
 * default-signed ones and the ones absent from the request, sorted,
 * distinct.  *out is a malloc'd array of malloc'd names. */
static int v4_additional_list(char ***out, size_t *nout, const struct sign_request *r,
			      const struct sign_v4_params *p)
{
	char **names = NULL;
	size_t n = 0;

	*out = NULL;
	*nout = 0;
	if (!p->additional_headers || p->nadditional == 0)
		return 0;
	names = calloc(p->nadditional, sizeof(*names));
	if (!names)
		return -1;
	for (size_t i = 0; i < p->nadditional; i++) {
		char *ln;
		int dup = 0;

		if (!p->additional_headers[i])
			continue;
		ln = lower_dup(p->additional_headers[i]);
		if (!ln)
			goto fail;
		for (size_t j = 0; j < n; j++) {
			dup |= strcmp(names[j], ln) == 0;
		}
		if (dup || v4_signed_by_default(ln) || !header_get(r, ln)) {
			free(ln);
			continue;
		}
		names[n++] = ln;
	}
	qsort(names, n, sizeof(*names), str_cmp);
	*out = names;
	*nout = n;
	return 0;
fail:
	for (size_t j = 0; j < n; j++) {
		free(names[j]);
	}
	free(names);
	return -1;
}

static void names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
	}
	free(names);
}

struct v4_pick {
	char **names;
	size_t n;
};

static int pick_v4(const char *lname, const void *arg)
{
	const struct v4_pick *vp = arg;

	if (v4_signed_by_default(lname))
		return 1;
	for (size_t i = 0; i < vp->n; i++) {
		if (strcmp(vp->names[i], lname) == 0)
			return 1;
	}
	return 0;
}

static int names_join(struct buf *b, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i && buf_putc(b, ';') < 0)
			return -1;
		if (buf_puts(b, names[i]) < 0)
			return -1;
	}
	return 0;
}

char *sign_oss_v4_additional(const struct sign_request *r,
			     const struct sign_v4_params *p)
{
	struct buf b = BUF_INIT;
	char **names;
	size_t n;
	char *result = NULL;

	if (v4_additional_list(&names, &n, r, p) < 0)
		return NULL;
	if (names_join(&b, names, n) == 0) {
		result = buf_detach(&b);
	}
	names_free(names, n);
	buf_free(&b);
	return result;
}

/*
 * The last line of a V4 / SigV4 canonical request: the explicit hash, else
 * the (trimmed) content-sha256 header the request carries, else
 * UNSIGNED-PAYLOAD (what a presigned URL, which has no such header, signs).
 */
static int payload_hash_append(struct buf *b, const struct sign_request *r,
			       const char *explicit_hash, const char *header)
{
	const char *h = header_get(r, header);
	size_t before = b->len;

	if (explicit_hash)
		return buf_puts(b, explicit_hash);
	if (h && value_append(b, h, 0) < 0)
		return -1;
	if (b->len == before)
		return buf_puts(b, "UNSIGNED-PAYLOAD");
	return 0;
}

char *sign_oss_v4_canonical_request(const struct sign_request *r,
				    const struct sign_v4_params *p)
{
	struct buf b = BUF_INIT;
	struct hdrset hs = { NULL, 0 };
	struct v4_pick vp = { NULL, 0 };
	char *result = NULL;

	if (buf_puts(&b, nz(r->method)) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	/* CanonicalURI always names the bucket, whatever the URL style. */
	if (buf_putc(&b, '/') < 0)
		goto out;
	if (r->bucket && *r->bucket) {
		if (uri_encode_append(&b, r->bucket, 1) < 0 || buf_putc(&b, '/') < 0 ||
		    uri_encode_append(&b, nz(r->key), 1) < 0)
			goto out;
	}
	if (buf_putc(&b, '\n') < 0 || canonical_query_append(&b, r, 0) < 0 ||
	    buf_putc(&b, '\n') < 0)
		goto out;
	if (v4_additional_list(&vp.names, &vp.n, r, p) < 0)
		goto out;
	if (hdrset_collect(&hs, r, pick_v4, &vp) < 0 || hdrset_emit(&b, &hs, 0) < 0)
		goto out;
	if (buf_putc(&b, '\n') < 0 || names_join(&b, vp.names, vp.n) < 0 ||
	    buf_putc(&b, '\n') < 0 ||
	    payload_hash_append(&b, r, p->payload_hash, "x-oss-content-sha256") < 0)
		goto out;
	result = buf_detach(&b);
out:
	names_free(vp.names, vp.n);
	hdrset_free(&hs);
	buf_free(&b);
	return result;
}

/* "<algo>\n<datetime>\n<scope>\n<hex sha256(canonical)>" */
static char *string_to_sign(const char *algo, const char *datetime, const char *scope,
			    char *canonical)
{
	struct buf b = BUF_INIT;
	char hash[65];

	if (!canonical)
		return NULL;
	sign_sha256_hex(hash, canonical, strlen(canonical));
	free(canonical);
	if (buf_printf(&b, "%s\n%s\n%s\n%s", algo, datetime, scope, hash) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* The first eight characters of the datetime: the scope date. */
static void scope_date(char out[9], const char *datetime)
{
	size_t i;

	for (i = 0; i < 8 && datetime[i]; i++) {
		out[i] = datetime[i];
	}
	out[i] = '\0';
}

static int v4_scope(struct buf *b, const struct sign_v4_params *p)
{
	char date[9];

	scope_date(date, nz(p->datetime));
	return buf_printf(b, "%s/%s/%s/aliyun_v4_request", date, nz(p->region),
			  p->product ? p->product : "oss");
}

char *sign_oss_v4_string_to_sign(const struct sign_request *r,
				 const struct sign_v4_params *p)
{
	struct buf scope = BUF_INIT;
	char *result = NULL;

	if (v4_scope(&scope, p) == 0) {
		result = string_to_sign("OSS4-HMAC-SHA256", nz(p->datetime), scope.data,
					sign_oss_v4_canonical_request(r, p));
	}
	buf_free(&scope);
	return result;
}

/* key = HMAC(...HMAC(HMAC(prefix + secret, date), region)..., terminator) */
static int derive_and_sign(char out[65], const char *prefix, const char *secret,
			   const char *const parts[4], const char *sts)
{
	struct buf k = BUF_INIT;
	uint8_t key[32], tmp[32];
	int result = -1;

	if (buf_puts(&k, prefix) < 0 || buf_puts(&k, nz(secret)) < 0)
		goto out;
	hmac_sha256(key, k.data, k.len, parts[0], strlen(parts[0]));
	for (int i = 1; i < 4; i++) {
		hmac_sha256(tmp, key, sizeof(key), parts[i], strlen(parts[i]));
		memcpy(key, tmp, sizeof(key));
	}
	hmac_sha256(tmp, key, sizeof(key), sts, strlen(sts));
	hex_encode(out, tmp, sizeof(tmp), 0);
	result = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(tmp, sizeof(tmp));
	if (k.data) {
		OPENSSL_cleanse(k.data, k.len);
	}
	buf_free(&k);
	return result;
}

int sign_oss_v4(char out[65], const struct sign_request *r,
		const struct sign_v4_params *p)
{
	char date[9];
	char *sts = sign_oss_v4_string_to_sign(r, p);
	const char *parts[4];
	int result;

	if (!sts)
		return -1;
	scope_date(date, nz(p->datetime));
	parts[0] = date;
	parts[1] = nz(p->region);
	parts[2] = p->product ? p->product : "oss";
	parts[3] = "aliyun_v4_request";
	result = derive_and_sign(out, "aliyun_v4", p->secret, parts, sts);
	free(sts);
	return result;
}

/* ---- AWS SigV4 ------------------------------------------------------------- */

struct aws_pick {
	const char *list; /* ";"-joined lower-case names */
};

static int pick_aws(const char *lname, const void *arg)
{
	const char *s = ((const struct aws_pick *)arg)->list;
	size_t n = strlen(lname);

	while (*s) {
		const char *e = strchr(s, ';');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len == n && ascii_caseeq(s, lname, n))
			return 1;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

static int pick_all(const char *lname, const void *arg)
{
	(void)lname;
	(void)arg;
	return 1;
}

char *sign_aws_signed_headers(const struct sign_request *r)
{
	struct buf b = BUF_INIT;
	struct hdrset hs;
	char *result = NULL;

	if (hdrset_collect(&hs, r, pick_all, NULL) < 0)
		return NULL;
	for (size_t i = 0; i < hs.n; i++) {
		if (i && strcmp(hs.h[i].name, hs.h[i - 1].name) == 0)
			continue;
		if ((b.len && buf_putc(&b, ';') < 0) || buf_puts(&b, hs.h[i].name) < 0)
			goto out;
	}
	result = buf_detach(&b);
out:
	hdrset_free(&hs);
	buf_free(&b);
	return result;
}

char *sign_aws_canonical_request(const struct sign_request *r,
				 const struct sign_aws_params *p)
{
	struct buf b = BUF_INIT;
	struct hdrset hs = { NULL, 0 };
	struct aws_pick ap;
	char *all = NULL, *once = NULL;
	const char *path = r->path && *r->path ? r->path : "/";
	char *result = NULL;

	ap.list = p->signed_headers;
	if (!ap.list) {
		all = sign_aws_signed_headers(r);
		if (!all)
			goto out;
		ap.list = all;
	}
	if (buf_puts(&b, nz(r->method)) < 0 || buf_putc(&b, '\n') < 0)
		goto out;
	/* S3 signs the path encoded once; every other service encodes the
	 * already-encoded path a second time. */
	if (p->double_encode_path) {
		once = sign_uri_encode(path, 1);
		if (!once || uri_encode_append(&b, once, 1) < 0)
			goto out;
	} else if (uri_encode_append(&b, path, 1) < 0) {
		goto out;
	}
	if (buf_putc(&b, '\n') < 0 || canonical_query_append(&b, r, 1) < 0 ||
	    buf_putc(&b, '\n') < 0)
		goto out;
	if (hdrset_collect(&hs, r, pick_aws, &ap) < 0 || hdrset_emit(&b, &hs, 1) < 0)
		goto out;
	if (buf_putc(&b, '\n') < 0 || buf_puts(&b, ap.list) < 0 || buf_putc(&b, '\n') < 0 ||
	    payload_hash_append(&b, r, p->payload_hash, "x-amz-content-sha256") < 0)
		goto out;
	result = buf_detach(&b);
out:
	free(once);
	free(all);
	hdrset_free(&hs);
	buf_free(&b);
	return result;
}

char *sign_aws_string_to_sign(const struct sign_request *r,
			      const struct sign_aws_params *p)
{
	struct buf scope = BUF_INIT;
	char date[9];
	char *result = NULL;

	scope_date(date, nz(p->datetime));
	if (buf_printf(&scope, "%s/%s/%s/aws4_request", date, nz(p->region),
		       p->service ? p->service : "s3") == 0) {
		result = string_to_sign("AWS4-HMAC-SHA256", nz(p->datetime), scope.data,
					sign_aws_canonical_request(r, p));
	}
	buf_free(&scope);
	return result;
}

int sign_aws_v4(char out[65], const struct sign_request *r,
		const struct sign_aws_params *p)
{
	char date[9];
	char *sts = sign_aws_string_to_sign(r, p);
	const char *parts[4];
	int result;

	if (!sts)
		return -1;
	scope_date(date, nz(p->datetime));
	parts[0] = date;
	parts[1] = nz(p->region);
	parts[2] = p->service ? p->service : "s3";
	parts[3] = "aws4_request";
	result = derive_and_sign(out, "AWS4", p->secret, parts, sts);
	free(sts);
	return result;
}

/* ---- time ---------------------------------------------------------------- */

/* Fixed English names: strftime's %a/%b and strptime follow the process
 * locale, and a host program may have called setlocale. */
static const char wdays[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int to_tm(struct tm *tm, int64_t t)
{
	time_t tt = (time_t)t;

	return gmtime_r(&tt, tm) ? 0 : -1;
}

void sign_format_iso8601(char out[17], int64_t unix_seconds)
{
	struct tm tm;
	char tmp[64];

	/* snprintf rather than strftime: %Y does not zero-pad years below
	 * 1000, and parse/format must round-trip. */
	if (to_tm(&tm, unix_seconds) < 0 || tm.tm_year < -1900 || tm.tm_year + 1900 > 9999) {
		out[0] = '\0';
		return;
	}
	/* via a roomy buffer: the compiler cannot see the fields' ranges */
	snprintf(tmp, sizeof(tmp), "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	memcpy(out, tmp, 17);
}

void sign_format_rfc1123(char out[30], int64_t unix_seconds)
{
	struct tm tm;

	if (to_tm(&tm, unix_seconds) < 0 || tm.tm_year < -1900 || tm.tm_year + 1900 > 9999) {
		out[0] = '\0';
		return;
	}
	snprintf(out, 30, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

/* n decimal digits at s into *v; -1 unless all are digits. */
static int digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* timegm normalises out-of-range fields (Feb 30 -> Mar 2): convert back
 * and insist the fields survive, so only real dates parse. */
static int tm_to_unix(struct tm *tm, int64_t *out)
{
	struct tm want = *tm, back;
	time_t t = timegm(tm);

	if (to_tm(&back, (int64_t)t) < 0)
		return -1;
	if (back.tm_year != want.tm_year || back.tm_mon != want.tm_mon ||
	    back.tm_mday != want.tm_mday || back.tm_hour != want.tm_hour ||
	    back.tm_min != want.tm_min || back.tm_sec != want.tm_sec)
		return -1;
	tm->tm_wday = back.tm_wday;
	*out = (int64_t)t;
	return 0;
}

int sign_parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm;
	int y, mo, d, h, mi, se;

	if (!s || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	if (digits(s, 4, &y) < 0 || digits(s + 4, 2, &mo) < 0 || digits(s + 6, 2, &d) < 0 ||
	    digits(s + 9, 2, &h) < 0 || digits(s + 11, 2, &mi) < 0 ||
	    digits(s + 13, 2, &se) < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return tm_to_unix(&tm, out);
}

/* "Sat, 16 Dec 2023 16:20:57 GMT", strictly; the weekday must match. */
int sign_parse_rfc1123(const char *s, int64_t *out)
{
	struct tm tm;
	int wday = -1, mon = -1, y, d, h, mi, se;
	int64_t t;

	if (!s || strlen(s) != 29 || memcmp(s + 3, ", ", 2) != 0 || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    memcmp(s + 25, " GMT", 4) != 0)
		return -1;
	for (int i = 0; i < 7; i++) {
		if (memcmp(s, wdays[i], 3) == 0) {
			wday = i;
		}
	}
	for (int i = 0; i < 12; i++) {
		if (memcmp(s + 8, months[i], 3) == 0) {
			mon = i;
		}
	}
	if (wday < 0 || mon < 0)
		return -1;
	if (digits(s + 5, 2, &d) < 0 || digits(s + 12, 4, &y) < 0 ||
	    digits(s + 17, 2, &h) < 0 || digits(s + 20, 2, &mi) < 0 ||
	    digits(s + 23, 2, &se) < 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	if (tm_to_unix(&tm, &t) < 0 || tm.tm_wday != wday)
		return -1;
	*out = t;
	return 0;
}
