/*
 * callback.c - decode, substitute and deliver OSS upload callbacks.
 *
 * Owns: the one hand-written parser in ossemu, a reader for the flat JSON
 * objects of x-oss-callback and x-oss-callback-var ({"name": value, ...}
 * with string, number, true/false/null values; nesting is refused), the
 * ${var} substitution, and the libcurl POST.  Debian 12 ships no JSON
 * library development package among the project's dependencies, and the
 * input is a flat object of strings, so ~100 careful lines beat a new
 * dependency.  Limits: 64 KiB of JSON, 64 members.
 *
 * Threading: reentrant; callback_run uses its own curl easy handle
 * (curl_global_init is done once by main.c before threads start).
 */
#include "callback.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "store.h"

#define JSON_MAX (64 * 1024)
#define JSON_MAX_MEMBERS 64
#define CALLBACK_TIMEOUT_MS 5000L
/* OSS refuses app answers over 1 MB. */
#define CALLBACK_BODY_MAX (1024 * 1024)

struct callback {
	struct hdrs fields; /* callbackUrl, callbackBody, ... */
	struct hdrs vars;   /* x:name -> value */
};

/* ---- flat JSON object reader ---------------------------------------------- */

struct json {
	const char *p, *end;
};

static void ws(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static int put_utf8(struct buf *b, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_append(b, u, n);
}

/* A string starting at the opening quote; decoded into out. */
static int json_string(struct json *j, struct buf *out)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;

		if (c < 0x20)
			return -1;
		if (c != '\\') {
			if (buf_putc(out, (char)c) < 0)
				return -1;
			continue;
		}
		if (j->p >= j->end)
			return -1;
		c = (unsigned char)*j->p++;
		switch (c) {
		case '"': case '\\': case '/':
			if (buf_putc(out, (char)c) < 0)
				return -1;
			break;
		case 'b': if (buf_putc(out, '\b') < 0) return -1; break;
		case 'f': if (buf_putc(out, '\f') < 0) return -1; break;
		case 'n': if (buf_putc(out, '\n') < 0) return -1; break;
		case 'r': if (buf_putc(out, '\r') < 0) return -1; break;
		case 't': if (buf_putc(out, '\t') < 0) return -1; break;
		case 'u': {
			unsigned cp, lo;

			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0)
				return -1;
			j->p += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				/* A high surrogate must be followed by \uDC00-\uDFFF. */
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
				    hex4(j->p + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return -1;
			}
			if (cp == 0 || put_utf8(out, cp) < 0)
				return -1;
			break;
		}
		default:
			return -1;
		}
	}
	if (j->p >= j->end)
		return -1;
	j->p++;
	return 0;
}

static int is_digit(const struct json *j)
{
	return j->p < j->end && *j->p >= '0' && *j->p <= '9';
}

/* A number by the JSON grammar, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?;
 * real OSS refuses "01", "1.", "1e", "-" and the like as "not json format".
 * What follows the number is the caller's to judge ("1abc" fails there). */
static int json_number(struct json *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (!is_digit(j))
		return -1;
	if (*j->p == '0') {
		j->p++;
	} else {
		while (is_digit(j))
			j->p++;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!is_digit(j))
			return -1;
		while (is_digit(j))
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!is_digit(j))
			return -1;
		while (is_digit(j))
			j->p++;
	}
	return 0;
}

/* A scalar that is not a string: number, true, false, null (kept as text). */
static int json_bare(struct json *j, struct buf *out)
{
	const char *s = j->p;

	if (j->p < j->end && (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))) {
		if (json_number(j) < 0)
			return -1;
	} else {
		size_t n;

		/* The whole run of letters, so that "truex" is one bad token. */
		while (j->p < j->end && *j->p >= 'a' && *j->p <= 'z')
			j->p++;
		n = (size_t)(j->p - s);
		if (!((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5)) ||
		      (n == 4 && !memcmp(s, "null", 4))))
			return -1;
	}
	return buf_append(out, s, (size_t)(j->p - s));
}

/* Parses a flat JSON object into name/value pairs. */
static int json_flat_object(const char *doc, size_t len, struct hdrs *out)
{
	struct json j = { doc, doc + len };
	struct buf name = BUF_INIT, value = BUF_INIT;
	int result = -1;

	if (len > JSON_MAX)
		return -1;
	ws(&j);
	if (j.p >= j.end || *j.p++ != '{')
		goto out;
	ws(&j);
	if (j.p < j.end && *j.p == '}') {
		j.p++;
		goto done;
	}
	for (;;) {
		buf_reset(&name);
		buf_reset(&value);
		ws(&j);
		if (json_string(&j, &name) < 0)
			goto out;
		ws(&j);
		if (j.p >= j.end || *j.p++ != ':')
			goto out;
		ws(&j);
		if (j.p < j.end && *j.p == '"') {
			if (json_string(&j, &value) < 0)
				goto out;
		} else if (json_bare(&j, &value) < 0) {
			goto out; /* objects and arrays land here too */
		}
		if (out->n >= JSON_MAX_MEMBERS ||
		    hdrs_add(out, name.data ? name.data : "", value.data ? value.data : "") < 0)
			goto out;
		ws(&j);
		if (j.p < j.end && *j.p == ',') {
			j.p++;
			continue;
		}
		if (j.p < j.end && *j.p == '}') {
			j.p++;
			break;
		}
		goto out;
	}
done:
	ws(&j);
	result = j.p == j.end ? 0 : -1;
out:
	buf_free(&name);
	buf_free(&value);
	if (result < 0)
		hdrs_cleanup(out);
	return result;
}

static int b64_json(const char *b64, struct hdrs *out)
{
	size_t n = strlen(b64);
	uint8_t *raw = malloc(n / 4 * 3 + 4);
	long len;
	int r = -1;

	if (!raw)
		return -1;
	len = base64_decode(raw, b64, n);
	if (len >= 0)
		r = json_flat_object((const char *)raw, (size_t)len, out);
	free(raw);
	return r;
}

enum err_id callback_parse(struct callback **out, const char *callback_b64,
			   const char *var_b64, char *why, size_t whylen)
{
	struct callback *cb = calloc(1, sizeof(*cb));
	const char *url, *body;

	*out = NULL;
	if (!cb)
		return E_INTERNAL;
	if (b64_json(callback_b64, &cb->fields) < 0) {
		snprintf(why, whylen, "The callback configuration is not json format.");
		goto bad;
	}
	url = hdrs_get(&cb->fields, "callbackUrl");
	body = hdrs_get(&cb->fields, "callbackBody");
	if (!url || !*url) {
		snprintf(why, whylen, "The callback configuration has no callbackUrl.");
		goto bad;
	}
	if (!body || !*body) {
		snprintf(why, whylen, "The callbackBody of the callback configuration is empty.");
		goto bad;
	}
	if (var_b64 && *var_b64 && b64_json(var_b64, &cb->vars) < 0) {
		snprintf(why, whylen, "The callback-var configuration is not json format.");
		goto bad;
	}
	*out = cb;
	return E_OK;
bad:
	callback_free(cb);
	return E_CALLBACK_INVALID;
}

void callback_free(struct callback *cb)
{
	if (!cb)
		return;
	hdrs_cleanup(&cb->fields);
	hdrs_cleanup(&cb->vars);
	free(cb);
}

/* ---- substitution ------------------------------------------------------------- */

/* Appends v escaped for a JSON string (without the quotes). */
static int json_escape_append(struct buf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		int r;

		if (*p == '"' || *p == '\\')
			r = buf_printf(b, "\\%c", *p);
		else if (*p < 0x20)
			r = buf_printf(b, "\\u%04x", *p);
		else
			r = buf_putc(b, (char)*p);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* Appends one substituted value.  Form bodies URL-encode it.  JSON bodies
 * escape it; a variable inside a JSON string of the template (quoted)
 * becomes string content, one outside becomes a JSON literal (a number for
 * ${size}, a quoted string otherwise), as in the documented template
 * {"mimeType":${mimeType},"size":${size}}. */
static int value_append(struct buf *b, const char *v, int json, int quoted, int numeric)
{
	if (!json) {
		char *e = curl_easy_escape(NULL, v, 0);
		int r;

		if (!e)
			return -1;
		r = buf_puts(b, e);
		curl_free(e);
		return r;
	}
	if (quoted || numeric)
		return json_escape_append(b, v);
	if (buf_putc(b, '"') < 0 || json_escape_append(b, v) < 0)
		return -1;
	return buf_putc(b, '"');
}

char *callback_body(const struct callback *cb, const struct callback_vars *v)
{
	const char *tpl = hdrs_get(&cb->fields, "callbackBody");
	const char *type = hdrs_get(&cb->fields, "callbackBodyType");
	int json = type && strncmp(type, "application/json", 16) == 0;
	struct buf b = BUF_INIT;
	char size[24], crc[24];
	/* Whether the scan is inside a JSON string of the template: a
	 * variable there is string content even when it does not follow
	 * the opening quote ("dir/${object}"). */
	int in_str = 0;

	snprintf(size, sizeof(size), "%llu", (unsigned long long)v->size);
	snprintf(crc, sizeof(crc), "%llu", (unsigned long long)v->crc64);
	for (const char *p = tpl; *p;) {
		const char *close;
		char name[256];
		const char *val = "";
		int numeric = 0;
		size_t n;

		close = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;
		n = close ? (size_t)(close - p - 2) : 0;
		if (!close || n >= sizeof(name)) {
			if (json && in_str && p[0] == '\\' && p[1]) {
				/* An escape pair: its second character neither
				 * ends the string nor starts a variable. */
				if (buf_append(&b, p, 2) < 0)
					goto fail;
				p += 2;
				continue;
			}
			if (json && *p == '"')
				in_str = !in_str;
			if (buf_putc(&b, *p++) < 0)
				goto fail;
			continue;
		}
		memcpy(name, p + 2, n);
		name[n] = '\0';
		if (!strcmp(name, "bucket")) {
			val = v->bucket;
		} else if (!strcmp(name, "object")) {
			val = v->object;
		} else if (!strcmp(name, "etag")) {
			val = v->etag;
		} else if (!strcmp(name, "size")) {
			val = size;
			numeric = 1;
		} else if (!strcmp(name, "mimeType")) {
			val = v->mime_type;
		} else if (!strcmp(name, "crc64")) {
			val = crc;
		} else if (!strcmp(name, "contentMd5")) {
			val = v->content_md5;
		} else if (!strcmp(name, "clientIp")) {
			val = v->client_ip;
		} else if (!strcmp(name, "reqId")) {
			val = v->request_id;
		} else if (!strcmp(name, "operation")) {
			val = v->operation;
		} else if (!strncmp(name, "x:", 2)) {
			val = hdrs_get(&cb->vars, name);
		}
		/* imageInfo.*, vpcId and unknown names: empty (no image
		 * processing, no VPC here). */
		if (value_append(&b, val ? val : "", json, in_str, numeric) < 0)
			goto fail;
		p = close + 1;
	}
	if (!b.data && buf_puts(&b, "") < 0)
		goto fail;
	return buf_detach(&b);
fail:
	buf_free(&b);
	return NULL;
}

/* ---- delivery ------------------------------------------------------------------- */

struct sink {
	struct buf *b;
	int too_long;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct sink *s = userdata;
	size_t len = size * n;

	if (s->b->len + len > CALLBACK_BODY_MAX) {
		s->too_long = 1;
		return 0;
	}
	return buf_append(s->b, p, len) < 0 ? 0 : len;
}

/* Appends "name: value" (value NULL: "name:", which makes curl drop a
 * header it would add).  On ENOMEM the header is skipped. */
static struct curl_slist *header_add(struct curl_slist *h, const char *name, const char *value)
{
	struct buf line = BUF_INIT;
	struct curl_slist *t = NULL;

	if (buf_printf(&line, value ? "%s: %s" : "%s:", name, value ? value : "") == 0)
		t = curl_slist_append(h, line.data);
	buf_free(&line);
	return t ? t : h;
}

/* One POST; returns 1 on a 200 answer. */
static int post_one(const struct callback *cb, const char *url, const char *body,
		    const struct callback_vars *v, struct callback_result *res)
{
	const char *host = hdrs_get(&cb->fields, "callbackHost");
	const char *type = hdrs_get(&cb->fields, "callbackBodyType");
	struct curl_slist *h = NULL;
	struct sink sink = { &res->body, 0 };
	CURL *c = curl_easy_init();
	CURLcode rc;
	long status = 0;
	char *ctype = NULL;
	int ok = 0;

	if (!c) {
		snprintf(res->message, sizeof(res->message), "Error status : -1.");
		return 0;
	}
	buf_reset(&res->body);
	/* Headers real OSS sends (less its RSA signature). */
	if (host && *host)
		h = header_add(h, "Host", host);
	h = header_add(h, "Content-Type", type && *type ? type : "application/x-www-form-urlencoded");
	h = header_add(h, "x-oss-request-id", v->request_id);
	h = header_add(h, "x-oss-bucket", v->bucket);
	h = header_add(h, "x-oss-tag", "CALLBACK");
	h = header_add(h, "Expect", NULL); /* no 100-continue round trip */
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, CALLBACK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, CALLBACK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_USERAGENT, "aliyun-oss-callback");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
	/* callbackSNI defaults to false; ossemu never checks the app server's
	 * certificate, as it has no trust store configuration of its own. */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(res->message, sizeof(res->message), "Cost too long time.");
	} else if (sink.too_long) {
		snprintf(res->message, sizeof(res->message),
			 "Error Status : %ld.User server return too long content-length value",
			 status);
	} else if (rc != CURLE_OK) {
		snprintf(res->message, sizeof(res->message),
			 "Error status : -1.OSS can not connect to your callbackUrl, please check it");
	} else if (status != 200) {
		snprintf(res->message, sizeof(res->message), "Error status : %ld.", status);
	} else {
		ok = 1;
		curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ctype);
		snprintf(res->content_type, sizeof(res->content_type), "%s",
			 ctype && *ctype ? ctype : "application/json");
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return ok;
}

void callback_run(const struct callback *cb, const struct callback_vars *v,
		  struct callback_result *res)
{
	const char *urls = hdrs_get(&cb->fields, "callbackUrl");
	char *body = callback_body(cb, v);
	char *list = urls ? strdup(urls) : NULL;

	memset(res, 0, sizeof(*res));
	snprintf(res->message, sizeof(res->message), "Error status : -1.");
	if (!body || !list)
		goto out;
	/* Up to five URLs separated by ';', tried in order until one answers 200. */
	for (char *u = list; u;) {
		char *semi = strchr(u, ';');

		if (semi)
			*semi = '\0';
		while (*u == ' ')
			u++;
		if (*u && post_one(cb, u, body, v, res)) {
			res->ok = 1;
			break;
		}
		u = semi ? semi + 1 : NULL;
	}
out:
	if (!res->ok)
		buf_free(&res->body);
	free(body);
	free(list);
}
