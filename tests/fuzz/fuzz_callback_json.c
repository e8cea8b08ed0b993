/*
 * fuzz_callback_json.c - libFuzzer target for ossemu's upload callback
 * (bench/ossemu/callback.c): callback_parse, which base64-decodes the
 * x-oss-callback and x-oss-callback-var headers and reads them with
 * jansson into a flat object, and
 * callback_body, which substitutes ${var}s into the callbackBody template,
 * form-encoded or as JSON.
 *
 * Input, two modes:
 *  - starting with 'b': the rest is the header values themselves, the
 *    x-oss-callback value, then (after a line "--") the x-oss-callback-var
 *    value, so malformed base64 reaches the decoder;
 *  - anything else: the callback JSON, then optionally "\n--\n" and the
 *    callback-var JSON, then optionally "\n--\n" and the object key; the
 *    JSON texts are base64-encoded here, as a client does, so the fuzzer
 *    works on the JSON directly.  ("\n--\n" cannot occur in valid JSON.)
 *
 * Checked beyond "no crash, no leak, no UB":
 *  - callback_parse (jansson underneath) agrees with a strict reference
 *    reader written here, sharing no code with it (RFC 8259 restricted to
 *    one flat object of scalars: the grammar of numbers and literals, no
 *    control characters, valid escapes and surrogate pairs, no \u0000,
 *    valid UTF-8 - no overlong forms, no encoded surrogates, nothing past
 *    U+10FFFF -, integers within 64 bits, finite reals, no name twice, at
 *    most 64 members and 64 KiB): the callback is accepted exactly when
 *    both texts are such objects and callbackUrl and callbackBody are there
 *    and non-empty;
 *  - a callbackBody without "${" comes back from callback_body verbatim;
 *  - with callbackBodyType application/json, when the template is valid
 *    JSON once its ${var}s are taken as values (dropped inside strings,
 *    0 for ${size} and "" for the others outside), the substituted body is valid JSON whatever the object
 *    key holds (quotes, backslashes, control characters).
 */
// fuzz-sources: bench/ossemu/callback.c bench/ossemu/store.c bench/ossemu/store_upload.c
// fuzz-sources: bench/ossemu/errors.c bench/ossemu/map.c bench/ossemu/persist.c bench/ossemu/amzsum.c
// fuzz-sources: bench/ossemu/recover.c bench/ossemu/objopt.c bench/ossemu/kv.c
// fuzz-sources: bench/ossemu/keyindex.c bench/ossemu/store_list.c
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "callback.h"
#include "checksum.h"

#define JSON_MAX (64 * 1024)
#define JSON_MAX_MEMBERS 64
#define MAX_DEPTH 64

/* A broken promise: say which one, then abort (the fuzzer saves the input). */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* ---- strict reference reader for flat objects ---------------------------- */

struct rd {
	const char *p, *end;
};

static void ws(struct rd *r)
{
	while (r->p < r->end &&
	       (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
		r->p++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex4(const char *p, const char *end, unsigned *out)
{
	unsigned v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct buf *b, unsigned cp)
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
	check(buf_append(b, u, n) == 0);
}

/* The length of the valid UTF-8 character at p (end bounds it), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, i;
	unsigned lo = 0x80, hi = 0xBF;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF)
		n = 2;
	else if (p[0] >= 0xE0 && p[0] <= 0xEF)
		n = 3;
	else if (p[0] >= 0xF0 && p[0] <= 0xF4)
		n = 4;
	else
		return 0;
	/* The second byte's range excludes overlong forms, surrogates and
	 * code points past U+10FFFF. */
	if (p[0] == 0xE0)
		lo = 0xA0;
	else if (p[0] == 0xED)
		hi = 0x9F;
	else if (p[0] == 0xF0)
		lo = 0x90;
	else if (p[0] == 0xF4)
		hi = 0x8F;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	}
	return n;
}

/* A string at the opening quote, decoded into out (if non-NULL).  strict:
 * surrogates must pair and \u0000 is refused (the flat reader's rules);
 * otherwise any \uXXXX is syntax enough. */
static int ref_string(struct rd *r, struct buf *out, int strict)
{
	if (r->p >= r->end || *r->p != '"')
		return -1;
	r->p++;
	while (r->p < r->end && *r->p != '"') {
		unsigned char c = (unsigned char)*r->p++;
		unsigned cp, lo;

		if (c < 0x20)
			return -1;
		if (c != '\\') {
			size_t n = 1;

			if (strict) {
				n = utf8_len((const unsigned char *)r->p - 1, (const unsigned char *)r->end);
				if (n == 0)
					return -1;
			}
			if (out) {
				check(buf_append(out, r->p - 1, n) == 0);
			}
			r->p += n - 1;
			continue;
		}
		if (r->p >= r->end)
			return -1;
		c = (unsigned char)*r->p++;
		switch (c) {
		case '"': case '\\': case '/':
			cp = c;
			break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (hex4(r->p, r->end, &cp) < 0)
				return -1;
			r->p += 4;
			if (!strict)
				continue;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
				    hex4(r->p + 2, r->end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
					return -1;
				r->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
				return -1;
			}
			break;
		default:
			return -1;
		}
		if (out) {
			put_utf8(out, cp);
		}
	}
	if (r->p >= r->end)
		return -1;
	r->p++;
	return 0;
}

static int digit(const struct rd *r)
{
	return r->p < r->end && *r->p >= '0' && *r->p <= '9';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int ref_number(struct rd *r)
{
	if (r->p < r->end && *r->p == '-') {
		r->p++;
	}
	if (!digit(r))
		return -1;
	if (*r->p == '0') {
		r->p++;
	} else {
		while (digit(r)) {
			r->p++;
		}
	}
	if (r->p < r->end && *r->p == '.') {
		r->p++;
		if (!digit(r))
			return -1;
		while (digit(r)) {
			r->p++;
		}
	}
	if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
		r->p++;
		if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
			r->p++;
		}
		if (!digit(r))
			return -1;
		while (digit(r)) {
			r->p++;
		}
	}
	return 0;
}

static int ref_literal(struct rd *r, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(r->end - r->p) < n || memcmp(r->p, lit, n) != 0)
		return -1;
	r->p += n;
	return 0;
}

/* A number's text that a 64-bit integer or a finite double holds. */
static int number_fits(const char *s, size_t n)
{
	char *tmp = strndup(s, n);
	int real = memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n), fits;

	check(tmp != NULL);
	errno = 0;
	if (!real) {
		(void)strtoll(tmp, NULL, 10);
		fits = errno != ERANGE;
	} else {
		double d = strtod(tmp, NULL);

		fits = !((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE);
	}
	free(tmp);
	return fits;
}

/* A scalar; its text (strings decoded) into out. */
static int ref_scalar(struct rd *r, struct buf *out)
{
	const char *s = r->p;

	if (r->p >= r->end)
		return -1;
	if (*r->p == '"')
		return ref_string(r, out, 1);
	if (ref_literal(r, "true") < 0 && ref_literal(r, "false") < 0 &&
	    ref_literal(r, "null") < 0) {
		if (ref_number(r) < 0 || !number_fits(s, (size_t)(r->p - s)))
			return -1;
	}
	/* A literal glued to more letters ("truex") is one bad token. */
	if (r->p < r->end && *r->p >= 'a' && *r->p <= 'z')
		return -1;
	check(buf_append(out, s, (size_t)(r->p - s)) == 0);
	return 0;
}

struct members {
	char *name[JSON_MAX_MEMBERS];
	char *value[JSON_MAX_MEMBERS];
	size_t n;
};

static void members_free(struct members *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->name[i]);
		free(m->value[i]);
	}
	m->n = 0;
}

/* First value of name, as hdrs_get answers. */
static const char *members_get(const struct members *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->name[i], name) == 0)
			return m->value[i];
	}
	return NULL;
}

static int ref_flat_object(const char *doc, size_t len, struct members *m)
{
	struct rd r = { doc, doc + len };
	int rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > JSON_MAX)
		return -1;
	ws(&r);
	if (r.p >= r.end || *r.p++ != '{')
		goto out;
	ws(&r);
	if (r.p < r.end && *r.p == '}') {
		r.p++;
	} else {
		for (;;) {
			struct buf name = BUF_INIT, value = BUF_INIT;

			ws(&r);
			if (ref_string(&r, &name, 1) < 0) {
				buf_free(&name);
				goto out;
			}
			ws(&r);
			if (r.p >= r.end || *r.p++ != ':' || (ws(&r), ref_scalar(&r, &value)) < 0 ||
			    m->n == JSON_MAX_MEMBERS) {
				buf_free(&name);
				buf_free(&value);
				goto out;
			}
			check(buf_putc(&name, '\0') == 0 && buf_putc(&value, '\0') == 0);
			if (members_get(m, name.data)) {
				buf_free(&name); /* a name twice: refused */
				buf_free(&value);
				goto out;
			}
			m->name[m->n] = name.data;
			m->value[m->n] = value.data;
			m->n++;
			ws(&r);
			if (r.p < r.end && *r.p == ',') {
				r.p++;
				continue;
			}
			if (r.p < r.end && *r.p == '}') {
				r.p++;
				break;
			}
			goto out;
		}
	}
	ws(&r);
	rc = r.p == r.end ? 0 : -1;
out:
	if (rc < 0) {
		members_free(m);
	}
	return rc;
}

/* ---- general JSON validity (for substituted bodies) ------------------------ */

static int ref_value(struct rd *r, int depth);

static int ref_container(struct rd *r, int depth, char close)
{
	r->p++;
	ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		ws(r);
		if (close == '}') {
			if (ref_string(r, NULL, 0) < 0)
				return -1;
			ws(r);
			if (r->p >= r->end || *r->p++ != ':')
				return -1;
		}
		if (ref_value(r, depth + 1) < 0)
			return -1;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close) {
			r->p++;
			return 0;
		}
		return -1;
	}
}

static int ref_value(struct rd *r, int depth)
{
	if (depth > MAX_DEPTH)
		return -1;
	ws(r);
	if (r->p >= r->end)
		return -1;
	switch (*r->p) {
	case '{':
		return ref_container(r, depth, '}');
	case '[':
		return ref_container(r, depth, ']');
	case '"':
		return ref_string(r, NULL, 0);
	case 't':
		return ref_literal(r, "true");
	case 'f':
		return ref_literal(r, "false");
	case 'n':
		return ref_literal(r, "null");
	default:
		return ref_number(r);
	}
}

static int json_valid(const char *s, size_t n)
{
	struct rd r = { s, s + n };

	if (ref_value(&r, 0) < 0)
		return 0;
	ws(&r);
	return r.p == r.end;
}

/* The template with every ${name} callback_body would substitute taken
 * out of strings and, outside them, made what callback.c promises: a
 * number (0) for ${size}, a string ("") for anything else.  The lexical
 * state is tracked the way a JSON reader sees the template, so a variable
 * further into a string ("dir/${object}") is string content too. */
static char *template_skeleton(const char *tpl)
{
	struct buf b = BUF_INIT;
	int in_str = 0;

	for (const char *p = tpl; *p;) {
		const char *close = p[0] == '$' && p[1] == '{' ? strchr(p + 2, '}') : NULL;

		if (close && (size_t)(close - p - 2) < 256) {
			int size = (size_t)(close - p - 2) == 4 && memcmp(p + 2, "size", 4) == 0;

			if (!in_str) {
				check(buf_puts(&b, size ? "0" : "\"\"") == 0);
			}
			p = close + 1;
			continue;
		}
		if (in_str && *p == '\\' && p[1]) {
			check(buf_append(&b, p, 2) == 0);
			p += 2;
			continue;
		}
		if (*p == '"') {
			in_str = !in_str;
		}
		check(buf_putc(&b, *p++) == 0);
	}
	check(buf_puts(&b, "") == 0);
	return buf_detach(&b);
}

/* ---- the target ------------------------------------------------------------------ */

static char *b64(const char *s, size_t n)
{
	char *out = malloc(BASE64_LEN(n) + 1);

	check(out != NULL);
	out[base64_encode(out, (const uint8_t *)s, n)] = '\0';
	return out;
}

/* Splits [p, end) at the first "\n--\n": *rest is NULL when absent. */
static size_t cut(const char *p, const char *end, const char **rest)
{
	const char *sep = memmem(p, (size_t)(end - p), "\n--\n", 4);

	*rest = sep ? sep + 4 : NULL;
	return sep ? (size_t)(sep - p) : (size_t)(end - p);
}

static void check_body(const struct callback *cb, const struct members *fields,
		       const char *object)
{
	const char *tpl = members_get(fields, "callbackBody");
	const char *type = members_get(fields, "callbackBodyType");
	struct callback_vars v = {
		.bucket = "bkt",
		.object = object,
		.etag = "5D41402ABC4B2A76B9719D911017C592",
		.size = 12345,
		.mime_type = "text/plain",
		.crc64 = 6571598172666981661ULL,
		.content_md5 = "XUFAKrxLKna5cZ2REBfFkg==",
		.client_ip = "127.0.0.1",
		.request_id = "0123456789ABCDEF01234567",
		.operation = "PutObject",
	};
	char *body = callback_body(cb, &v);

	check(body != NULL && tpl != NULL);
	if (!strstr(tpl, "${")) {
		check(strcmp(body, tpl) == 0);
	}
	if (type && strncmp(type, "application/json", 16) == 0) {
		char *skel = template_skeleton(tpl);

		if (json_valid(skel, strlen(skel))) {
			check(json_valid(body, strlen(body)));
		}
		free(skel);
	}
	free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *rest, *rest2;
	char *cb_b64, *var_b64 = NULL, *object = NULL;
	struct members fields, vars;
	struct callback *cb = NULL;
	enum err_id e;
	char why[256];
	int want = -1, json_mode = !(size > 0 && data[0] == 'b');
	size_t l1, l2 = 0;

	if (size > 3 * JSON_MAX)
		return 0;
	memset(&fields, 0, sizeof(fields));
	memset(&vars, 0, sizeof(vars));
	if (json_mode) {
		l1 = cut(p, end, &rest);
		cb_b64 = b64(p, l1);
		if (rest) {
			l2 = cut(rest, end, &rest2);
			var_b64 = b64(rest, l2);
			object = rest2 ? strndup(rest2, (size_t)(end - rest2)) : NULL;
		}
		/* What the strict reference says. */
		want = ref_flat_object(p, l1, &fields) == 0 &&
		       members_get(&fields, "callbackUrl") &&
		       *members_get(&fields, "callbackUrl") &&
		       members_get(&fields, "callbackBody") &&
		       *members_get(&fields, "callbackBody") &&
		       (!var_b64 || !*var_b64 || ref_flat_object(rest, l2, &vars) == 0);
	} else {
		/* Raw header values, "\n--\n" between them. */
		l1 = cut(p + 1, end, &rest);
		cb_b64 = strndup(p + 1, l1);
		if (rest) {
			var_b64 = strndup(rest, (size_t)(end - rest));
		}
	}
	check(cb_b64 != NULL);
	if (!object) {
		object = strdup("dir/a \"b\"\\c\n\x01.txt");
	}
	check(object != NULL);

	e = callback_parse(&cb, cb_b64, var_b64, why, sizeof(why));
	check(e == E_OK || e == E_CALLBACK_INVALID);
	check((e == E_OK) == (cb != NULL));
	if (e != E_OK) {
		check(memchr(why, '\0', sizeof(why)) && why[0] != '\0');
	}
	if (want >= 0) {
		check((e == E_OK) == want);
	}
	if (cb && want == 1) {
		check_body(cb, &fields, object);
	}
	callback_free(cb);
	members_free(&fields);
	members_free(&vars);
	free(cb_b64);
	free(var_b64);
	free(object);
	return 0;
}
