/*
 * delresult.c - the answer of a quiet DeleteMultipleObjects (see
 * delresult.h).
 *
 * A state machine over xml.h's (path, text) events, as listing.c is: the
 * text of <Error>'s Key, Code and Message and of EncodingType; <Deleted>
 * entries (a verbose answer) cost nothing.  Keys are decoded after the
 * whole document parsed, once EncodingType is known.
 *
 * Layer: runtime.
 * Threading: pure functions.
 */
#include "delresult.h"

#include <stdlib.h>
#include <string.h>

#include "response.h"
#include "xml.h"

static void error_cleanup(struct delresult_error *e)
{
	free(e->key);
	free(e->code);
	free(e->message);
	memset(e, 0, sizeof(*e));
}

void delresult_cleanup(struct delresult *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		error_cleanup(&d->errs[i]);
	}
	error_cleanup(&d->cur);
	free(d->errs);
	free(d->encoding);
	memset(d, 0, sizeof(*d));
}

static int dupn(char **dst, const char *text, size_t len)
{
	char *c = malloc(len + 1);

	if (!c)
		return 2;
	memcpy(c, text, len);
	c[len] = '\0';
	free(*dst);
	*dst = c;
	return 0;
}

static int delete_cb(void *ud, enum xml_event ev, const char *path, const char *name,
		     const char *text, size_t len)
{
	struct delresult *d = ud;

	(void)name;
	if (ev == XML_EV_START) {
		if (!d->root_ok) {
			if (strcmp(path, "DeleteResult") != 0)
				return 1;
			d->root_ok = 1;
		}
		return 0;
	}
	if (strcmp(path, "DeleteResult/EncodingType") == 0)
		return dupn(&d->encoding, text, len);
	if (strcmp(path, "DeleteResult/Error/Key") == 0)
		return dupn(&d->cur.key, text, len);
	if (strcmp(path, "DeleteResult/Error/Code") == 0)
		return dupn(&d->cur.code, text, len);
	if (strcmp(path, "DeleteResult/Error/Message") == 0)
		return dupn(&d->cur.message, text, len);
	if (strcmp(path, "DeleteResult/Error") == 0) {
		if (!d->cur.key)
			return 3;
		if (d->n == d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 8;
			struct delresult_error *ne;

			if (d->n >= DELRESULT_MAX_KEYS)
				return 3; /* more errors than a request may name keys */
			if (nc > DELRESULT_MAX_KEYS) {
				nc = DELRESULT_MAX_KEYS;
			}
			ne = realloc(d->errs, nc * sizeof(*ne));
			if (!ne)
				return 2;
			d->errs = ne;
			d->cap = nc;
		}
		d->errs[d->n++] = d->cur;
		memset(&d->cur, 0, sizeof(d->cur));
	}
	return 0;
}

/* The answer of a quiet delete: OSS sends no body when all went, S3 an
 * empty DeleteResult.  0, or -1 when unreadable. */
int delresult_parse(struct delresult *d, const char *body, size_t len)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	if (!body || len == 0)
		return 0;
	if (xml_parse(body, len, delete_cb, d, NULL, 0) != 0 || !d->root_ok)
		return -1;
	if (d->encoding && strcmp(d->encoding, "url") == 0) {
		for (i = 0; i < d->n; i++) {
			char *k = url_decode(d->errs[i].key);

			if (!k)
				return -1;
			free(d->errs[i].key);
			d->errs[i].key = k;
		}
	}
	return 0;
}

/* A per-key refusal's status: the codes a caller acts on differently. */
hoist_status delresult_code_status(const char *code)
{
	if (!code)
		return HOIST_E_SERVER;
	if (strcmp(code, "AccessDenied") == 0)
		return HOIST_E_AUTH;
	if (strcmp(code, "NoSuchBucket") == 0)
		return HOIST_E_NOT_FOUND;
	if (strcmp(code, "SlowDown") == 0 || strcmp(code, "ServiceUnavailable") == 0)
		return HOIST_E_THROTTLED;
	return HOIST_E_SERVER;
}

size_t delresult_apply(const struct delresult *d, const char *const *keys, size_t n,
		       hoist_status *ks, size_t *first)
{
	size_t i, j, marked = 0;

	for (j = 0; j < d->n; j++) {
		const struct delresult_error *e = &d->errs[j];

		/* Absent already is what the caller wanted (the S3 rule). */
		if (e->code && strcmp(e->code, "NoSuchKey") == 0)
			continue;
		for (i = 0; i < n; i++) {
			if (ks[i] == HOIST_OK && strcmp(keys[i], e->key) == 0)
				break;
		}
		if (i == n)
			continue; /* a key not asked (or named twice): nothing to pin it on */
		ks[i] = delresult_code_status(e->code);
		if (marked++ == 0) {
			*first = j;
		}
	}
	return marked;
}
