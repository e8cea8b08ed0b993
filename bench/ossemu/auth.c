/*
 * auth.c - request authentication: OSS V1 and V4 (header and presigned),
 * AWS SigV4 (header and presigned), STS tokens, clock skew, expiry.
 *
 * Owns: parsing of Authorization headers and presigned query parameters,
 * the key table lookup, and the order of checks, which follows the real
 * services: malformed -> unknown key -> time (skew / expiry) -> signature ->
 * security token.  The canonicalisation itself is the shared core's
 * (engine/sign.c), so a bug there shows up on both sides of every test.
 *
 * Secrets never leave this file: no error document carries a secret, and
 * none carries a session token (StringToSign is left out when a token is
 * in it) except the one OSS itself echoes: the expired token of a
 * SecurityTokenExpired answer, as <SecurityToken>.
 *
 * Threading: reentrant.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checksum.h"
#include "keys.h"

/* Real OSS and S3 allow 15 minutes between request time and server time. */
#define SKEW_MAX_SECONDS (15 * 60)
/* S3 caps presigned URLs at 7 days; OSS V4 does too. */
#define PRESIGN_MAX_SECONDS (7 * 24 * 3600)

static void set_ak(struct auth_result *out, const char *ak, size_t n)
{
	if (n >= sizeof(out->ak))
		n = sizeof(out->ak) - 1;
	memcpy(out->ak, ak, n);
	out->ak[n] = '\0';
}

static void set_sig(struct auth_result *out, const char *sig)
{
	snprintf(out->sig_provided, sizeof(out->sig_provided), "%s", sig);
}

static int64_t abs64(int64_t v)
{
	return v < 0 ? -v : v;
}

/* The STS rule: a key configured with a token demands that exact token,
 * and a token sent with a key that has none is refused too.  A token past
 * its expiry (the server clock) is SecurityTokenExpired, which OSS answers
 * with the token echoed: out->expired_token points at it. */
static enum err_id token_check(struct auth_result *out, const struct ossemu_key *k,
			       const char *sent, int64_t now)
{
	if (!k->token)
		return sent && *sent ? E_INVALID_TOKEN : E_OK;
	if (!sent || !sign_equal_ct(sent, k->token))
		return E_INVALID_TOKEN;
	if (k->expires && now >= k->expires) {
		out->expired_token = k->token;
		return E_TOKEN_EXPIRED;
	}
	out->key = k;
	return E_OK;
}

static void build_request(struct sign_request *r, const struct auth_input *in,
			  const struct sign_kv *query, size_t nquery)
{
	memset(r, 0, sizeof(*r));
	r->method = in->method;
	r->bucket = in->bucket;
	r->key = in->key;
	r->path = in->path;
	r->query = query;
	r->nquery = nquery;
	r->headers = in->headers;
	r->nheaders = in->nheaders;
}

/* A copy of the query without the named parameters (the signature itself
 * is never part of what it signs).  NULL on ENOMEM. */
static struct sign_kv *query_without(const struct auth_input *in, const char *drop1,
				     const char *drop2, size_t *n)
{
	struct sign_kv *q = calloc(in->nquery + 1, sizeof(*q));

	*n = 0;
	if (!q)
		return NULL;
	for (size_t i = 0; i < in->nquery; i++) {
		const char *name = in->query[i].name;

		if ((drop1 && strcmp(name, drop1) == 0) || (drop2 && strcmp(name, drop2) == 0))
			continue;
		q[(*n)++] = in->query[i];
	}
	return q;
}

/* ---- OSS V1 --------------------------------------------------------------- */

static int v1_matches(const struct ossemu_key *k, const struct sign_request *r,
		      const char *date_line, const char *sig)
{
	char want[29];

	if (sign_oss_v1(want, k->sk, r, date_line) < 0)
		return 0;
	return sign_equal_ct(want, sig);
}

static void oss_v1_header(struct auth_result *out, struct keyring *kr,
			  const struct auth_input *in, const char *auth)
{
	const char *p = auth + 4, *colon;
	const char *date = kv_header(in->headers, in->nheaders, "Date");
	const char *xdate = kv_header(in->headers, in->nheaders, "x-oss-date");
	const char *token = kv_header(in->headers, in->nheaders, "x-oss-security-token");
	const struct ossemu_key *k;
	struct sign_request r;
	int64_t t;
	int ok;

	out->scheme = "OSS";
	while (*p == ' ')
		p++;
	colon = strchr(p, ':');
	if (!colon || colon == p || !colon[1]) {
		out->err = E_AUTH_MALFORMED;
		return;
	}
	set_ak(out, p, (size_t)(colon - p));
	set_sig(out, colon + 1);
	k = keyring_find(kr, out->ak);
	if (!k) {
		out->err = E_INVALID_ACCESS_KEY_ID;
		return;
	}
	/* The date line is the Date header; ali-oss (a browser-safe client)
	 * sends none and signs x-oss-date instead, as Py v2 and the C SDK do
	 * when both are present.  Accept either. */
	if ((!date || sign_parse_rfc1123(date, &t) < 0) &&
	    (!xdate || sign_parse_rfc1123(xdate, &t) < 0)) {
		out->err = E_MISSING_DATE;
		return;
	}
	if (abs64(in->now - t) > SKEW_MAX_SECONDS) {
		out->err = E_TIME_SKEWED;
		return;
	}
	build_request(&r, in, in->query, in->nquery);
	ok = (date && v1_matches(k, &r, date, colon + 1)) ||
	     (xdate && v1_matches(k, &r, xdate, colon + 1));
	if (!ok) {
		out->err = E_SIGNATURE_MISMATCH;
		if (!token)
			out->string_to_sign = sign_oss_v1_string_to_sign(&r, date ? date : xdate);
		return;
	}
	out->err = token_check(out, k, token, in->now);
}

static void oss_v1_presigned(struct auth_result *out, struct keyring *kr,
			     const struct auth_input *in)
{
	const char *ak = kv_query(in->query, in->nquery, "OSSAccessKeyId", NULL);
	const char *expires = kv_query(in->query, in->nquery, "Expires", NULL);
	const char *sig = kv_query(in->query, in->nquery, "Signature", NULL);
	const char *token = kv_query(in->query, in->nquery, "security-token", NULL);
	const struct ossemu_key *k;
	struct sign_request r;
	uint64_t exp;

	out->scheme = "OSS";
	if (!ak || !*ak || !expires || !sig || !*sig) {
		out->err = E_AUTH_MALFORMED;
		return;
	}
	set_ak(out, ak, strlen(ak));
	set_sig(out, sig);
	k = keyring_find(kr, ak);
	if (!k) {
		out->err = E_INVALID_ACCESS_KEY_ID;
		return;
	}
	if (parse_u64(expires, &exp) < 0) {
		out->err = E_AUTH_MALFORMED;
		return;
	}
	if ((int64_t)exp < in->now) {
		out->err = E_REQUEST_EXPIRED;
		return;
	}
	/* OSSAccessKeyId, Expires and Signature are not sub-resources, so the
	 * core leaves them out of the canonical resource by itself. */
	build_request(&r, in, in->query, in->nquery);
	if (!v1_matches(k, &r, expires, sig)) {
		out->err = E_SIGNATURE_MISMATCH;
		if (!token)
			out->string_to_sign = sign_oss_v1_string_to_sign(&r, expires);
		return;
	}
	out->err = token_check(out, k, token, in->now);
}

/* ---- V4 credential scopes --------------------------------------------------- */

struct scope {
	char ak[128];
	char date[9];
	char region[64];
	char product[32];
	char terminal[32];
};

/* "AK/YYYYMMDD/REGION/PRODUCT/TERMINAL" (the AK may not contain '/'). */
static int scope_parse(struct scope *sc, const char *s, size_t n)
{
	char tmp[512];
	char *fields[5];
	char *p;
	int nf = 0;

	if (n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	p = tmp;
	while (nf < 5) {
		char *slash = strchr(p, '/');

		fields[nf++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	if (nf != 5 || strchr(fields[4], '/'))
		return -1;
	if (!*fields[0] || strlen(fields[0]) >= sizeof(sc->ak) || strlen(fields[1]) != 8 ||
	    !*fields[2] || strlen(fields[2]) >= sizeof(sc->region) ||
	    strlen(fields[3]) >= sizeof(sc->product) ||
	    strlen(fields[4]) >= sizeof(sc->terminal))
		return -1;
	snprintf(sc->ak, sizeof(sc->ak), "%s", fields[0]);
	memcpy(sc->date, fields[1], 9);
	snprintf(sc->region, sizeof(sc->region), "%s", fields[2]);
	snprintf(sc->product, sizeof(sc->product), "%s", fields[3]);
	snprintf(sc->terminal, sizeof(sc->terminal), "%s", fields[4]);
	return 0;
}

/* Finds "Name=value" in a comma-separated Authorization parameter list;
 * spaces after commas are allowed (the docs have them, the SDKs do not). */
static const char *auth_param(const char *list, const char *name, size_t *len)
{
	size_t nlen = strlen(name);
	const char *p = list;

	while (*p) {
		const char *end;

		while (*p == ' ' || *p == ',')
			p++;
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if ((size_t)(end - p) > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
			const char *v = p + nlen + 1;
			size_t n = (size_t)(end - v);

			while (n && v[n - 1] == ' ')
				n--;
			*len = n;
			return v;
		}
		p = end;
	}
	return NULL;
}

static int copy_param(char *dst, size_t cap, const char *v, size_t n)
{
	if (!v || n >= cap)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Splits "a;b;c" into a malloc'd array of pointers into a malloc'd copy. */
static char **split_semicolons(const char *s, size_t *n, char **storage)
{
	size_t count = 1;
	char **v;
	char *copy = strdup(s);

	*n = 0;
	*storage = copy;
	if (!copy)
		return NULL;
	for (const char *p = s; *p; p++)
		count += *p == ';';
	v = calloc(count, sizeof(*v));
	if (!v)
		return NULL;
	for (char *p = copy; p;) {
		char *semi = strchr(p, ';');

		if (semi)
			*semi = '\0';
		if (*p)
			v[(*n)++] = p;
		p = semi ? semi + 1 : NULL;
	}
	return v;
}

static int payload_is_hash(const char *v)
{
	if (!v || strlen(v) != 64)
		return 0;
	for (int i = 0; i < 64; i++) {
		if (!strchr("0123456789abcdef", v[i]))
			return 0;
	}
	return 1;
}

/* ---- OSS V4 ------------------------------------------------------------------ */

static void oss_v4(struct auth_result *out, struct keyring *kr,
		   const struct auth_input *in, const char *auth)
{
	const char *cred, *addl, *sig, *datetime, *token, *expires_s = NULL;
	size_t ncred = 0, naddl = 0, nsig = 0;
	char sigbuf[80], addlbuf[1024] = "";
	struct scope sc;
	const struct ossemu_key *k;
	struct sign_kv *q = NULL;
	size_t nq = 0, nadd = 0;
	char **add = NULL;
	char *add_store = NULL;
	struct sign_v4_params p;
	struct sign_request r;
	char want[65];
	int64_t t;
	int presigned = auth == NULL;

	out->scheme = "OSS4";
	if (presigned) {
		cred = kv_query(in->query, in->nquery, "x-oss-credential", NULL);
		addl = kv_query(in->query, in->nquery, "x-oss-additional-headers", NULL);
		sig = kv_query(in->query, in->nquery, "x-oss-signature", NULL);
		datetime = kv_query(in->query, in->nquery, "x-oss-date", NULL);
		expires_s = kv_query(in->query, in->nquery, "x-oss-expires", NULL);
		token = kv_query(in->query, in->nquery, "x-oss-security-token", NULL);
		ncred = cred ? strlen(cred) : 0;
		naddl = addl ? strlen(addl) : 0;
		nsig = sig ? strlen(sig) : 0;
	} else {
		const char *list = auth + strlen("OSS4-HMAC-SHA256");

		cred = auth_param(list, "Credential", &ncred);
		addl = auth_param(list, "AdditionalHeaders", &naddl);
		sig = auth_param(list, "Signature", &nsig);
		datetime = kv_header(in->headers, in->nheaders, "x-oss-date");
		token = kv_header(in->headers, in->nheaders, "x-oss-security-token");
	}
	if (!cred || scope_parse(&sc, cred, ncred) < 0 ||
	    copy_param(sigbuf, sizeof(sigbuf), sig, nsig) < 0 ||
	    (addl && copy_param(addlbuf, sizeof(addlbuf), addl, naddl) < 0)) {
		out->err = E_AUTH_MALFORMED;
		goto out;
	}
	set_ak(out, sc.ak, strlen(sc.ak));
	set_sig(out, sigbuf);
	k = keyring_find(kr, sc.ak);
	if (!k) {
		out->err = E_INVALID_ACCESS_KEY_ID;
		goto out;
	}
	if (!datetime || sign_parse_iso8601(datetime, &t) < 0) {
		out->err = E_MISSING_DATE;
		goto out;
	}
	if (strncmp(datetime, sc.date, 8) != 0 || strcmp(sc.terminal, "aliyun_v4_request") != 0) {
		out->err = E_AUTH_MALFORMED;
		goto out;
	}
	if (presigned) {
		uint64_t exp;

		if (!expires_s || parse_u64(expires_s, &exp) < 0 || exp > PRESIGN_MAX_SECONDS) {
			out->err = E_AUTH_MALFORMED;
			goto out;
		}
		if (t + (int64_t)exp < in->now) {
			out->err = E_REQUEST_EXPIRED;
			goto out;
		}
		if (t - in->now > SKEW_MAX_SECONDS) {
			out->err = E_TIME_SKEWED;
			goto out;
		}
	} else if (abs64(in->now - t) > SKEW_MAX_SECONDS) {
		out->err = E_TIME_SKEWED;
		goto out;
	}
	q = query_without(in, presigned ? "x-oss-signature" : NULL, NULL, &nq);
	add = addlbuf[0] ? split_semicolons(addlbuf, &nadd, &add_store) : NULL;
	if (!q || (addlbuf[0] && !add)) {
		out->err = E_INTERNAL;
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.secret = k->sk;
	p.region = sc.region;
	p.product = sc.product;
	p.datetime = datetime;
	p.additional_headers = (const char *const *)add;
	p.nadditional = nadd;
	p.payload_hash = presigned ? "UNSIGNED-PAYLOAD" : NULL;
	build_request(&r, in, q, nq);
	if (sign_oss_v4(want, &r, &p) < 0) {
		out->err = E_INTERNAL;
		goto out;
	}
	if (!sign_equal_ct(want, sigbuf)) {
		out->err = E_SIGNATURE_MISMATCH;
		if (!token)
			out->string_to_sign = sign_oss_v4_string_to_sign(&r, &p);
		goto out;
	}
	out->err = token_check(out, k, token, in->now);
	if (out->err == E_OK && !presigned) {
		const char *ph = kv_header(in->headers, in->nheaders, "x-oss-content-sha256");

		if (payload_is_hash(ph))
			memcpy(out->payload_sha256, ph, 65);
	}
out:
	free(q);
	free(add);
	free(add_store);
}

/* ---- AWS SigV4 --------------------------------------------------------------- */

static void aws_v4(struct auth_result *out, struct keyring *kr,
		   const struct auth_input *in, const char *auth)
{
	const char *cred, *signed_h, *sig, *datetime, *token, *expires_s = NULL;
	const char *payload = NULL;
	size_t ncred = 0, nsh = 0, nsig = 0;
	char sigbuf[80], shbuf[2048];
	struct scope sc;
	const struct ossemu_key *k;
	struct sign_kv *q = NULL;
	size_t nq = 0;
	struct sign_aws_params p;
	struct sign_request r;
	char want[65];
	int64_t t;
	int presigned = auth == NULL;

	out->scheme = "AWS4";
	if (presigned) {
		cred = kv_query(in->query, in->nquery, "X-Amz-Credential", NULL);
		signed_h = kv_query(in->query, in->nquery, "X-Amz-SignedHeaders", NULL);
		sig = kv_query(in->query, in->nquery, "X-Amz-Signature", NULL);
		datetime = kv_query(in->query, in->nquery, "X-Amz-Date", NULL);
		expires_s = kv_query(in->query, in->nquery, "X-Amz-Expires", NULL);
		token = kv_query(in->query, in->nquery, "X-Amz-Security-Token", NULL);
		ncred = cred ? strlen(cred) : 0;
		nsh = signed_h ? strlen(signed_h) : 0;
		nsig = sig ? strlen(sig) : 0;
	} else {
		const char *list = auth + strlen("AWS4-HMAC-SHA256");

		cred = auth_param(list, "Credential", &ncred);
		signed_h = auth_param(list, "SignedHeaders", &nsh);
		sig = auth_param(list, "Signature", &nsig);
		datetime = kv_header(in->headers, in->nheaders, "x-amz-date");
		token = kv_header(in->headers, in->nheaders, "x-amz-security-token");
		payload = kv_header(in->headers, in->nheaders, "x-amz-content-sha256");
	}
	if (!cred || scope_parse(&sc, cred, ncred) < 0 ||
	    copy_param(sigbuf, sizeof(sigbuf), sig, nsig) < 0 ||
	    copy_param(shbuf, sizeof(shbuf), signed_h, nsh) < 0 ||
	    strcmp(sc.terminal, "aws4_request") != 0) {
		out->err = E_AUTH_MALFORMED;
		goto out;
	}
	set_ak(out, sc.ak, strlen(sc.ak));
	set_sig(out, sigbuf);
	k = keyring_find(kr, sc.ak);
	if (!k) {
		out->err = E_INVALID_ACCESS_KEY_ID;
		goto out;
	}
	if (!presigned) {
		if (!payload) {
			out->err = E_MISSING_CONTENT_SHA256;
			goto out;
		}
		if (strncmp(payload, "STREAMING-", 10) == 0) {
			/* aws-chunked bodies (signed chunks or trailers) are not
			 * decoded by ossemu; Debian's boto3/awscli do not send them. */
			out->err = E_NOT_IMPLEMENTED;
			goto out;
		}
	}
	if (!datetime || sign_parse_iso8601(datetime, &t) < 0) {
		out->err = E_MISSING_DATE;
		goto out;
	}
	if (strncmp(datetime, sc.date, 8) != 0) {
		out->err = E_AUTH_MALFORMED;
		goto out;
	}
	if (presigned) {
		uint64_t exp;

		if (!expires_s || parse_u64(expires_s, &exp) < 0 || exp > PRESIGN_MAX_SECONDS) {
			out->err = E_AUTH_MALFORMED;
			goto out;
		}
		if (t + (int64_t)exp < in->now) {
			out->err = E_REQUEST_EXPIRED;
			goto out;
		}
		if (t - in->now > SKEW_MAX_SECONDS) {
			out->err = E_TIME_SKEWED;
			goto out;
		}
	} else if (abs64(in->now - t) > SKEW_MAX_SECONDS) {
		out->err = E_TIME_SKEWED;
		goto out;
	}
	q = query_without(in, presigned ? "X-Amz-Signature" : NULL, NULL, &nq);
	if (!q) {
		out->err = E_INTERNAL;
		goto out;
	}
	memset(&p, 0, sizeof(p));
	p.secret = k->sk;
	p.region = sc.region;
	p.service = sc.product;
	p.datetime = datetime;
	p.signed_headers = shbuf;
	p.payload_hash = presigned ? "UNSIGNED-PAYLOAD" : NULL;
	build_request(&r, in, q, nq);
	if (sign_aws_v4(want, &r, &p) < 0) {
		out->err = E_INTERNAL;
		goto out;
	}
	if (!sign_equal_ct(want, sigbuf)) {
		out->err = E_SIGNATURE_MISMATCH;
		if (!token)
			out->string_to_sign = sign_aws_string_to_sign(&r, &p);
		goto out;
	}
	out->err = token_check(out, k, token, in->now);
	if (out->err == E_OK && payload_is_hash(payload))
		memcpy(out->payload_sha256, payload, 65);
out:
	free(q);
}

/* ---- dispatch ------------------------------------------------------------------ */

static int has_amz_header(const struct auth_input *in)
{
	for (size_t i = 0; i < in->nheaders; i++) {
		if (in->headers[i].name && strncasecmp(in->headers[i].name, "x-amz-", 6) == 0)
			return 1;
	}
	return 0;
}

void auth_check(struct auth_result *out, const struct ossemu_config *cfg, struct keyring *kr,
		const struct auth_input *in)
{
	const char *auth = kv_header(in->headers, in->nheaders, "Authorization");
	int present;

	memset(out, 0, sizeof(*out));
	out->err = E_OK;
	if (auth && strncmp(auth, "OSS4-HMAC-SHA256", 16) == 0 && (auth[16] == ' ' || !auth[16])) {
		out->dialect = DIALECT_OSS;
		oss_v4(out, kr, in, auth);
	} else if (auth && strncmp(auth, "OSS ", 4) == 0) {
		out->dialect = DIALECT_OSS;
		oss_v1_header(out, kr, in, auth);
	} else if (auth && strncmp(auth, "AWS4-HMAC-SHA256", 16) == 0 &&
		   (auth[16] == ' ' || !auth[16])) {
		out->dialect = DIALECT_S3;
		aws_v4(out, kr, in, auth);
	} else if (auth && *auth) {
		/* SigV2 ("AWS ak:sig") and anything else. */
		out->dialect = strncmp(auth, "AWS", 3) == 0 ? DIALECT_S3 : DIALECT_OSS;
		out->scheme = "unsupported";
		out->err = E_AUTH_UNSUPPORTED;
	} else if (kv_query(in->query, in->nquery, "x-oss-signature-version", &present), present) {
		out->dialect = DIALECT_OSS;
		oss_v4(out, kr, in, NULL);
	} else if (kv_query(in->query, in->nquery, "OSSAccessKeyId", &present), present) {
		out->dialect = DIALECT_OSS;
		oss_v1_presigned(out, kr, in);
	} else if (kv_query(in->query, in->nquery, "X-Amz-Algorithm", &present), present) {
		out->dialect = DIALECT_S3;
		aws_v4(out, kr, in, NULL);
	} else {
		out->dialect = has_amz_header(in) ? DIALECT_S3 : DIALECT_OSS;
		out->scheme = "anonymous";
		out->anonymous = 1;
		out->err = cfg->anonymous ? E_OK : E_ANONYMOUS_DENIED;
	}
}

void auth_result_cleanup(struct auth_result *r)
{
	free(r->string_to_sign);
	r->string_to_sign = NULL;
}
