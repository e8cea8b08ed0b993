/*
 * status.h - failure details and the one-line message (private).
 *
 * Owns: filling the failure half of struct hoist_result in one place, so
 * that every failure, whatever its origin (server error body, curl error,
 * local check), reads the same way:
 *   "UploadPart part 7: 403 SignatureDoesNotMatch: <message> (request id X)"
 *
 * Layer: base (shared by every layer above; see ARCHITECTURE.md).
 * Threading: pure functions on caller-owned structs.
 */
#ifndef HOIST_STATUS_H
#define HOIST_STATUS_H

#include "hoist.h"

struct failure {
	hoist_status status;
	const char *op;          /* static operation name, NULL: none */
	unsigned part;           /* 0: not a part */
	long http;               /* 0: no response */
	const char *code;        /* server <Code>, BORROWED */
	const char *message;     /* server <Message>, BORROWED */
	const char *request_id;  /* BORROWED */
	const char *detail;      /* local reason or curl's text, BORROWED */
};

/* The bytes of struct hoist_result a caller of that version has. */
size_t result_size(unsigned version);
/* Moves src (a result the library built, of this library's version) into
 * the caller's dst, writing only the fields of dst's version; src is left
 * empty.  dst NULL: src is cleaned up. */
void result_deliver(struct hoist_result *dst, struct hoist_result *src);

/* f describes a failure of status st in op (part, detail), nothing else
 * known (no response). */
void failure_init(struct failure *f, hoist_status st, const char *op, unsigned part,
		  const char *detail);
/* Sets r (when non-NULL) to that failure and returns st. */
hoist_status result_fail(struct hoist_result *r, hoist_status st, const char *op,
			 const char *detail);

/* Copies f into r's failure fields (replacing earlier ones) and builds
 * r->message.  Returns 0, or -1 on ENOMEM (r->status is set anyway). */
int result_set_failure(struct hoist_result *r, const struct failure *f);
/* The one-line message for f, malloc'd (NULL on ENOMEM). */
char *status_message(const struct failure *f);
/* *dst = strdup(s) (NULL stays NULL), freeing the old value; -1 on ENOMEM. */
int result_setstr(char **dst, const char *s);

#endif
