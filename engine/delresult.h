/*
 * delresult.h - the answer of a quiet DeleteMultipleObjects (private).
 *
 * Owns: <DeleteResult> as OSS and S3 send it in quiet mode (only the keys
 * that were not deleted, as <Error><Key><Code><Message>; no body at all
 * from OSS when every key went), the decoding of keys when it says
 * EncodingType url, and the mapping of those errors back onto the keys
 * asked: a NoSuchKey is no failure (the key is gone, as wanted), a key
 * not asked is ignored.  Through xml.h, so hostile input meets the same
 * limits as every other document.  objects.c sends the requests.
 *
 * Layer: runtime.
 * Threading: pure functions; a delresult is owned by its caller.
 */
#ifndef HOIST_DELRESULT_H
#define HOIST_DELRESULT_H

#include <stddef.h>

#include "hoist.h"

/* Keys one request may name: OSS and S3 both take 1,000 at most, so an
 * answer with more errors than that is refused. */
#define DELRESULT_MAX_KEYS 1000

struct delresult_error {
	char *key;                 /* decoded */
	char *code;                /* NULL when absent */
	char *message;
};

struct delresult {
	struct delresult_error *errs;
	size_t n, cap;
	struct delresult_error cur; /* parse state */
	char *encoding;
	int root_ok;
};

/* Parses body (NULL or empty: every key deleted) into d, which it
 * initialises.  0, or -1 when the body is not a DeleteResult, an Error
 * has no Key, a key does not decode, or memory ran out; release d with
 * delresult_cleanup either way. */
int delresult_parse(struct delresult *d, const char *body, size_t len);
void delresult_cleanup(struct delresult *d);

/* Marks in ks (n statuses, HOIST_OK on entry) each of keys[0..n) that d
 * reports not deleted, with delresult_code_status of its code.  Returns
 * how many were marked; *first is the index in d->errs of the first such
 * error (valid when the return is not 0). */
size_t delresult_apply(const struct delresult *d, const char *const *keys, size_t n,
		       hoist_status *ks, size_t *first);

/* A per-key <Code> as a status: AccessDenied HOIST_E_AUTH, NoSuchBucket
 * HOIST_E_NOT_FOUND, SlowDown / ServiceUnavailable HOIST_E_THROTTLED,
 * anything else HOIST_E_SERVER. */
hoist_status delresult_code_status(const char *code);

#endif
