/*
 * callback.c - OSS upload callback headers (see callback.h).
 *
 * OSS takes the callback description as base64 of a JSON object
 * (oss-protocol.md 5.1): {"callbackUrl":..,"callbackBody":..,
 * "callbackHost":..,"callbackBodyType":..}, and custom variables as base64
 * of {"x:name":"value",...}.  The JSON is written here because no JSON
 * library is among the project's dependencies and the subset needed (one
 * flat object of strings) is small; string escaping follows RFC 8259.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "callback.h"

#include <stdlib.h>
#include <string.h>

#include "checksum.h"

int json_string_append(struct buf *b, const char *s)
{
	int rc = buf_putc(b, '"');

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '"':
			rc = buf_puts(b, "\\\"");
			break;
		case '\\':
			rc = buf_puts(b, "\\\\");
			break;
		case '\n':
			rc = buf_puts(b, "\\n");
			break;
		case '\r':
			rc = buf_puts(b, "\\r");
			break;
		case '\t':
			rc = buf_puts(b, "\\t");
			break;
		case '\b':
			rc = buf_puts(b, "\\b");
			break;
		case '\f':
			rc = buf_puts(b, "\\f");
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				rc = buf_printf(b, "\\u%04x", c);
			} else {
				rc = buf_putc(b, (char)c);
			}
		}
	}
	if (rc == 0) {
		rc = buf_putc(b, '"');
	}
	return rc;
}

static char *b64_of(struct buf *json)
{
	char *out;

	out = malloc(BASE64_LEN(json->len) + 1);
	if (!out)
		return NULL;
	base64_encode(out, (const uint8_t *)json->data, json->len);
	out[BASE64_LEN(json->len)] = '\0';
	return out;
}

static int member(struct buf *b, const char *name, const char *value, int *first)
{
	int rc = 0;

	if (!*first) {
		rc |= buf_putc(b, ',');
	}
	*first = 0;
	rc |= json_string_append(b, name);
	rc |= buf_putc(b, ':');
	rc |= json_string_append(b, value);
	return rc;
}

char *callback_header(const char *url, const char *body, const char *host,
		      const char *body_type)
{
	struct buf b = BUF_INIT;
	int first = 1, rc = 0;
	char *out = NULL;

	rc |= buf_putc(&b, '{');
	rc |= member(&b, "callbackUrl", url, &first);
	rc |= member(&b, "callbackBody", body ? body : "", &first);
	if (host && *host) {
		rc |= member(&b, "callbackHost", host, &first);
	}
	if (body_type && *body_type) {
		rc |= member(&b, "callbackBodyType", body_type, &first);
	}
	rc |= buf_putc(&b, '}');
	if (rc == 0) {
		out = b64_of(&b);
	}
	buf_free(&b);
	return out;
}

char *callback_var_header(const char *const *vars, size_t n, long *bad)
{
	struct buf b = BUF_INIT, name = BUF_INIT;
	int first = 1, rc = 0;
	char *out = NULL;
	size_t i;

	*bad = -1;
	rc |= buf_putc(&b, '{');
	for (i = 0; i < n && rc == 0; i++) {
		const char *v = vars[i];
		const char *eq = v ? strchr(v, '=') : NULL;

		if (!eq || strncmp(v, "x:", 2) != 0 || eq == v + 2) {
			*bad = (long)i;
			buf_free(&b);
			buf_free(&name);
			return NULL;
		}
		buf_reset(&name);
		rc |= buf_append(&name, v, (size_t)(eq - v));
		if (rc == 0) {
			rc |= member(&b, name.data, eq + 1, &first);
		}
	}
	rc |= buf_putc(&b, '}');
	if (rc == 0) {
		out = b64_of(&b);
	}
	buf_free(&b);
	buf_free(&name);
	return out;
}
