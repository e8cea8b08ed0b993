/*
 * status.c - status names, result cleanup and the one-line failure message.
 *
 * Owns: hoist_strerror (from HOIST_STATUS_MAP, so names and messages can
 * never drift apart), hoist_version, hoist_result_cleanup, and the message
 * builder every failure path goes through (status.h).  Server text is
 * flattened to one line: a hostile or odd server cannot move the cursor or
 * forge a second line in a log.
 *
 * Layer: base (shared by every layer above; see ARCHITECTURE.md).
 * Threading: reentrant; no shared state.
 */
#include "status.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *const status_msgs[] = {
#define HOIST_STATUS_MSG_(name, value, msg) [value] = msg,
	HOIST_STATUS_MAP(HOIST_STATUS_MSG_)
#undef HOIST_STATUS_MSG_
};

const char *hoist_strerror(hoist_status s)
{
	if ((int)s < 0 || (size_t)s >= sizeof(status_msgs) / sizeof(status_msgs[0]) ||
	    !status_msgs[s])
		return "unknown status";
	return status_msgs[s];
}

const char *hoist_version(void)
{
	return HOIST_VERSION_STRING;
}

/* The OWNED strings of a result, by offset, so that cleanup and delivery
 * touch only the fields a caller's version has. */
static const size_t result_strings[] = {
	offsetof(struct hoist_result, request_id),
	offsetof(struct hoist_result, bucket),
	offsetof(struct hoist_result, key),
	offsetof(struct hoist_result, location),
	offsetof(struct hoist_result, etag),
	offsetof(struct hoist_result, version_id),
	offsetof(struct hoist_result, upload_id),
	offsetof(struct hoist_result, encoding_type),
	offsetof(struct hoist_result, callback_body),
	offsetof(struct hoist_result, error_code),
	offsetof(struct hoist_result, error_message),
	offsetof(struct hoist_result, error_request_id),
	offsetof(struct hoist_result, message),
};

size_t result_size(unsigned version)
{
	/* Version 1 is the whole struct this library knows; 0 (a struct
	 * zeroed by hand) reads as 1; a newer caller's struct is larger and
	 * gets the fields we know. */
	(void)version;
	return sizeof(struct hoist_result);
}

static char **string_at(struct hoist_result *r, size_t off)
{
	return (char **)(void *)((char *)r + off);
}

void hoist_result_cleanup(struct hoist_result *r)
{
	unsigned v;
	size_t i, n;

	if (!r)
		return;
	v = r->version;
	n = result_size(v);
	for (i = 0; i < sizeof(result_strings) / sizeof(result_strings[0]); i++) {
		if (result_strings[i] + sizeof(char *) <= n) {
			free(*string_at(r, result_strings[i]));
		}
	}
	memset(r, 0, n);
	r->version = v;
}

void result_deliver(struct hoist_result *dst, struct hoist_result *src)
{
	unsigned v;
	size_t i, n;

	if (!dst) {
		hoist_result_cleanup(src);
		return;
	}
	v = dst->version;
	n = result_size(v);
	memcpy(dst, src, n);
	dst->version = v;
	/* Strings the caller's version has no field for stay ours. */
	for (i = 0; i < sizeof(result_strings) / sizeof(result_strings[0]); i++) {
		if (result_strings[i] + sizeof(char *) > n) {
			free(*string_at(src, result_strings[i]));
		}
	}
	memset(src, 0, sizeof(*src));
	src->version = HOIST_RESULT_VERSION;
}

int result_setstr(char **dst, const char *s)
{
	char *c = NULL;

	if (s) {
		c = strdup(s);
		if (!c)
			return -1;
	}
	free(*dst);
	*dst = c;
	return 0;
}

/* Appends s with control characters (including newlines) turned into
 * spaces and runs of whitespace collapsed, so the message stays one line. */
static int put_flat(struct buf *b, const char *s)
{
	int space = 0;
	int rc = 0;

	for (; *s && rc == 0; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = 1;
			continue;
		}
		if (space && b->len > 0) {
			rc = buf_putc(b, ' ');
		}
		space = 0;
		if (rc == 0) {
			rc = buf_putc(b, (char)c);
		}
	}
	return rc;
}

char *status_message(const struct failure *f)
{
	struct buf b = BUF_INIT;
	int rc = 0;

	if (f->op) {
		rc |= buf_puts(&b, f->op);
		if (f->part) {
			rc |= buf_printf(&b, " part %u", f->part);
		}
		rc |= buf_puts(&b, ": ");
	}
	if (f->code && *f->code) {
		if (f->http) {
			rc |= buf_printf(&b, "%ld ", f->http);
		}
		rc |= put_flat(&b, f->code);
		if (f->message && *f->message) {
			rc |= buf_puts(&b, ": ");
			rc |= put_flat(&b, f->message);
		}
		if (f->detail && *f->detail) {
			rc |= buf_puts(&b, " (");
			rc |= put_flat(&b, f->detail);
			rc |= buf_putc(&b, ')');
		}
	} else if (f->http >= 300 && f->status != HOIST_E_CHECKSUM &&
		   f->status != HOIST_E_SOURCE_CHANGED) {
		rc |= buf_printf(&b, "HTTP %ld", f->http);
		rc |= buf_printf(&b, " (%s)", hoist_strerror(f->status));
		if (f->detail && *f->detail) {
			rc |= buf_puts(&b, ": ");
			rc |= put_flat(&b, f->detail);
		}
	} else {
		rc |= buf_puts(&b, hoist_strerror(f->status));
		if (f->detail && *f->detail) {
			rc |= buf_puts(&b, ": ");
			rc |= put_flat(&b, f->detail);
		}
	}
	if (f->request_id && *f->request_id) {
		rc |= buf_puts(&b, " (request id ");
		rc |= put_flat(&b, f->request_id);
		rc |= buf_putc(&b, ')');
	}
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int result_set_failure(struct hoist_result *r, const struct failure *f)
{
	int rc = 0;

	r->status = f->status;
	if (f->http) {
		r->http_status = f->http;
	}
	r->failed_operation = f->op;
	r->failed_part = f->part;
	rc |= result_setstr(&r->error_code, f->code);
	rc |= result_setstr(&r->error_message, f->message);
	rc |= result_setstr(&r->error_request_id, f->request_id);
	free(r->message);
	r->message = status_message(f);
	if (!r->message) {
		rc = -1;
	}
	return rc ? -1 : 0;
}

void failure_init(struct failure *f, hoist_status st, const char *op, unsigned part,
		  const char *detail)
{
	memset(f, 0, sizeof(*f));
	f->status = st;
	f->op = op;
	f->part = part;
	f->detail = detail;
}

hoist_status result_fail(struct hoist_result *r, hoist_status st, const char *op,
			 const char *detail)
{
	struct failure f;

	if (r) {
		failure_init(&f, st, op, 0, detail);
		result_set_failure(r, &f);
	}
	return st;
}
