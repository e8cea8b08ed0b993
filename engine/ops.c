/*
 * ops.c - the public multipart housekeeping calls and small helpers:
 * hoist_abort_upload, hoist_list_parts, hoist_list_uploads, the ends of a
 * shared upload (hoist_initiate_upload, hoist_complete_upload),
 * hoist_crc64*.
 *
 * Layer: API.
 *
 * Argument checks and the refusal to block an engine thread live here;
 * the requests, their retries and the paging are blocking.c's.
 * Threading: reentrant; any number of threads may call these at once.
 */
#include <stdio.h>
#include <string.h>

#include "blocking.h"
#include "checksum.h"
#include "engine.h"
#include "loop.h"
#include "response.h"
#include "status.h"

static int bad_name(const char *s)
{
	return !s || !*s;
}

hoist_status hoist_abort_upload(struct hoist_engine *engine, const char *bucket,
				const char *key, const char *upload_id,
				struct hoist_result *result)
{
	const char *op = "AbortMultipartUpload";
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st;

	if (!engine || bad_name(bucket) || bad_name(key) || bad_name(upload_id)) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, op, "bucket, key and upload id are required");
	} else if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, op, "called from an engine thread");
	} else {
		st = blocking_abort(&engine->ctx, bucket, key, upload_id, &r);
	}
	result_deliver(result, &r);
	return st;
}

hoist_status hoist_list_parts(struct hoist_engine *engine, const char *bucket,
			      const char *key, const char *upload_id,
			      struct hoist_part_list **out, struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st;

	if (out) {
		*out = NULL;
	}
	if (!engine || !out || bad_name(bucket) || bad_name(key) || bad_name(upload_id)) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListParts",
				 "bucket, key and upload id are required");
	} else if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListParts", "called from an engine thread");
	} else {
		st = blocking_list_parts(&engine->ctx, bucket, key, upload_id, out, &r);
	}
	result_deliver(result, &r);
	return st;
}

hoist_status hoist_list_uploads(struct hoist_engine *engine, const char *bucket,
				const char *prefix, struct hoist_upload_list **out,
				struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st;

	if (out) {
		*out = NULL;
	}
	if (!engine || !out || bad_name(bucket)) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListMultipartUploads", "a bucket is required");
	} else if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListMultipartUploads",
				 "called from an engine thread");
	} else {
		st = blocking_list_uploads(&engine->ctx, bucket, prefix, out, &r);
	}
	result_deliver(result, &r);
	return st;
}

/* The checks the ends of a shared upload share. */
static hoist_status share_opts(struct hoist_result *r, const char *op,
			       const struct hoist_engine *engine,
			       const struct hoist_upload_options *opts)
{
	if (!engine || !opts || bad_name(opts->bucket) || bad_name(opts->key))
		return result_fail(r, HOIST_E_INVALID_ARG, op, "bucket and key are required");
	if (opts->version < 1 || opts->version > HOIST_UPLOAD_OPTIONS_VERSION)
		return result_fail(r, HOIST_E_INVALID_ARG, op, "unknown upload options version");
	if (loop_current())
		return result_fail(r, HOIST_E_INVALID_ARG, op, "called from an engine thread");
	return HOIST_OK;
}

hoist_status hoist_initiate_upload(struct hoist_engine *engine,
				   const struct hoist_upload_options *opts,
				   struct hoist_result *result)
{
	const char *op = "InitiateMultipartUpload";
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st = share_opts(&r, op, engine, opts);

	if (st == HOIST_OK) {
		/* content_type and forbid_overwrite are version-1 fields. */
		st = blocking_initiate(&engine->ctx, opts->bucket, opts->key, opts->content_type,
				       opts->forbid_overwrite, &r);
	}
	result_deliver(result, &r);
	return st;
}

hoist_status hoist_complete_upload(struct hoist_engine *engine,
				   const struct hoist_upload_options *opts, const char *upload_id,
				   const struct hoist_part_list *parts,
				   struct hoist_result *result)
{
	const char *op = "CompleteMultipartUpload";
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st = share_opts(&r, op, engine, opts);

	if (st == HOIST_OK && (bad_name(upload_id) || !parts || parts->count == 0)) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, op, "an upload id and parts are required");
	}
	if (st == HOIST_OK) {
		st = blocking_complete(&engine->ctx, opts->bucket, opts->key, upload_id, parts, &r);
	}
	result_deliver(result, &r);
	return st;
}

uint64_t hoist_crc64(uint64_t crc, const void *buf, size_t len)
{
	return crc64_ecma_update(crc, buf, len);
}

uint64_t hoist_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	return crc64_ecma_combine(crc_a, crc_b, len_b);
}
