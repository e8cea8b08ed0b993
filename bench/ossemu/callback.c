/*
 * callback.c - decode, substitute and deliver OSS upload callbacks.
 *
 * Owns: reading the flat JSON objects of x-oss-callback and
 * x-oss-callback-var ({"name": value, ...} with string, number,
 * true/false/null values; nesting and duplicate names are refused) with
 * jansson, the ${var} substitution (values escaped for JSON bodies by
 * jansson too, for form bodies by libcurl), and the libcurl POST.
 * Limits: 64 KiB of JSON, 64 members.
 *
 * Threading: reentrant; callback_run uses its own curl easy handle
 * (curl_global_init is done once by main.c before threads start).
 */
#include "callback.h"

#include <curl/curl.h>
#include <jansson.h>
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

/* ---- reading the callback JSON (jansson) ---------------------------------------- */

/* The text a scalar stands for in substitutions and fields: a string's
 * content, an integer in decimal, a real as jansson writes it, or
 * true/false/null.  0, or -1 (not a scalar, ENOMEM). */
static int scalar_text(json_t *v, struct buf *out)
{
	char *txt;
	int r;

	if (json_is_string(v))
		return buf_append(out, json_string_value(v), json_string_length(v));
	if (json_is_object(v) || json_is_array(v))
		return -1; /* a nested value: refused, as "not json format" */
	txt = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
	if (!txt)
		return -1;
	r = buf_puts(out, txt);
	free(txt);
	return r;
}

/* Parses a flat JSON object of scalars into name/value pairs, with
 * jansson: RFC 8259 with its checks (valid UTF-8, no \u0000, surrogates in
 * pairs, integers within 64 bits, finite reals), duplicate names refused
 * (which value OSS keeps is not documented; refusing is the safe reading),
 * at most JSON_MAX bytes and JSON_MAX_MEMBERS members. */
static int json_flat_object(const char *doc, size_t len, struct hdrs *out)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *name;
	struct buf value = BUF_INIT;
	int result = -1;

	/* A raw NUL is no JSON whitespace (RFC 8259), but jansson's loader
	 * lets one through between tokens (found by fuzz_callback_json). */
	if (len > JSON_MAX || memchr(doc, '\0', len))
		return -1;
	root = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root) || json_object_size(root) > JSON_MAX_MEMBERS)
		goto out;
	/* Member order is the document's (jansson keeps insertion order). */
	json_object_foreach(root, name, v) {
		buf_reset(&value);
		if (scalar_text(v, &value) < 0 || buf_puts(&value, "") < 0 ||
		    memchr(value.data, '\0', value.len) ||
		    hdrs_add(out, name, value.data) < 0)
			goto out;
	}
	result = 0;
out:
	buf_free(&value);
	json_decref(root);
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

/* Appends v as a JSON string literal written by jansson, with its quotes
 * (quoted) or without them.  A value that is not valid UTF-8 (a key made
 * of arbitrary bytes; OSS requires UTF-8 names) has each byte that does
 * not start a valid character replaced by '?', so the body stays JSON. */
static int json_string_append(struct buf *b, const char *v, int quoted)
{
	size_t n = strlen(v);
	json_t *js = json_stringn(v, n);
	char *txt;
	int r;

	if (!js) {
		struct buf fixed = BUF_INIT;

		for (size_t i = 0; i < n;) {
			size_t k;

			for (k = 1; k <= 4 && i + k <= n; k++) {
				json_t *c = json_stringn(v + i, k);

				if (c) {
					json_decref(c);
					break;
				}
			}
			if (k <= 4 && i + k <= n) {
				r = buf_append(&fixed, v + i, k);
				i += k;
			} else {
				r = buf_putc(&fixed, '?');
				i++;
			}
			if (r < 0) {
				buf_free(&fixed);
				return -1;
			}
		}
		js = json_stringn(fixed.data ? fixed.data : "", fixed.len);
		buf_free(&fixed);
		if (!js)
			return -1;
	}
	txt = json_dumps(js, JSON_ENCODE_ANY);
	json_decref(js);
	if (!txt)
		return -1;
	n = strlen(txt);
	r = quoted ? buf_append(b, txt, n) : buf_append(b, txt + 1, n - 2);
	free(txt);
	return r;
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
	return json_string_append(b, v, !(quoted || numeric));
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
