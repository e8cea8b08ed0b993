/*
 * blocking.h - requests sent and retried on the caller's thread (private).
 *
 * Layer: transfer.
 *
 * Owns: the blocking housekeeping requests (AbortMultipartUpload,
 * ListParts, ListMultipartUploads) and the two ends of a shared upload
 * (Initiate, Complete from a gathered part list: hoist.h "Shares") with
 * the engine's retry policy, for the public calls of ops.c and for
 * resume.c, which cleans up what an
 * interrupted run left before an upload starts.  Never on an engine
 * thread: these sleep between attempts.
 * Threading: reentrant.
 */
#ifndef HOIST_BLOCKING_H
#define HOIST_BLOCKING_H

#include <stddef.h>

#include "ctx.h"
#include "hoist.h"
#include "sign.h"

struct request;

struct op_spec {
	const char *op;
	const char *method;
	const char *bucket;
	const char *key;
	struct sign_kv query[8];
	size_t nquery;
	struct sign_kv headers[4];
	size_t nheaders;
	const char *body;          /* BORROWED; NULL: none */
	size_t body_len;
	const char *keep[4];       /* static: response headers to keep in the
	                              request's extra[] (REQ_MAX_EXTRA) */
};

/* Sends spec until success or a final failure.  On HOIST_OK *out is the
 * finished request (the caller frees it); otherwise res (if non-NULL)
 * tells why. */
hoist_status blocking_run(struct ctx *ctx, const struct op_spec *spec, struct request **out,
			  struct hoist_result *res);

/* The operations, arguments already checked (ops.c checks the public
 * ones).  Results as hoist.h documents for hoist_abort_upload,
 * hoist_list_parts and hoist_list_uploads. */
hoist_status blocking_abort(struct ctx *ctx, const char *bucket, const char *key,
			    const char *upload_id, struct hoist_result *result);
hoist_status blocking_list_parts(struct ctx *ctx, const char *bucket, const char *key,
				 const char *upload_id, struct hoist_part_list **out,
				 struct hoist_result *result);
hoist_status blocking_list_uploads(struct ctx *ctx, const char *bucket, const char *prefix,
				   struct hoist_upload_list **out, struct hoist_result *result);
/* InitiateMultipartUpload; result->upload_id on success.  content_type
 * NULL: application/octet-stream. */
hoist_status blocking_initiate(struct ctx *ctx, const char *bucket, const char *key,
			       const char *content_type, int forbid_overwrite,
			       struct hoist_result *result);
/* CompleteMultipartUpload with parts (numbered 1..N, any order; checked
 * here), then the object's CRC64 against theirs combined (a HEAD when the
 * answer has none). */
hoist_status blocking_complete(struct ctx *ctx, const char *bucket, const char *key,
			       const char *upload_id, const struct hoist_part_list *parts,
			       struct hoist_result *result);

#endif
