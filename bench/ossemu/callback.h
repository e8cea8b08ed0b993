/*
 * callback.h - the OSS upload callback (oss-protocol.md §5).
 *
 * On PutObject and CompleteMultipartUpload with x-oss-callback, after the
 * object is stored, ossemu POSTs the substituted callbackBody to
 * callbackUrl (loopback allowed, unlike real OSS; 5 s timeout) and relays
 * the app server's 200 answer, or reports 203 CallbackFailed.  The object
 * stays stored either way.
 *
 * Not reproduced: the RSA signature headers (Authorization,
 * x-oss-pub-key-url) real OSS adds for the app server to verify, and the
 * check that the app's body is valid JSON.
 *
 * Threading: callback_run blocks (up to 5 s per URL); http.c runs it on a
 * helper thread with the connection suspended.  Otherwise reentrant.
 */
#ifndef OSSEMU_CALLBACK_H
#define OSSEMU_CALLBACK_H

#include <stdint.h>

#include "buf.h"
#include "errors.h"

struct callback;

struct callback_vars {
	const char *bucket;
	const char *object;
	const char *etag;        /* without quotes */
	uint64_t size;
	const char *mime_type;
	uint64_t crc64;
	const char *content_md5; /* base64, "" for Complete */
	const char *client_ip;
	const char *request_id;
	const char *operation;   /* "PutObject", "CompleteMultipartUpload" */
};

struct callback_result {
	int ok;                 /* the app server answered 200 */
	struct buf body;        /* its body (ok only) */
	char content_type[128]; /* its Content-Type (ok only) */
	char message[256];      /* the CallbackFailed message otherwise */
};

/* Decodes x-oss-callback (and x-oss-callback-var, may be NULL).  Returns
 * E_OK with *out set, or E_CALLBACK_INVALID (with a reason in why). */
enum err_id callback_parse(struct callback **out, const char *callback_b64,
			   const char *var_b64, char *why, size_t whylen);
void callback_free(struct callback *cb);

/* Performs the callback; res->body must be freed with buf_free. */
void callback_run(const struct callback *cb, const struct callback_vars *v,
		  struct callback_result *res);

/* The substituted body (malloc'd), exposed for unit tests. */
char *callback_body(const struct callback *cb, const struct callback_vars *v);

#endif
