/*
 * ops.c - multipart housekeeping: AbortMultipartUpload, ListParts,
 * ListMultipartUploads, and the small public helpers.
 *
 * These are blocking calls on the caller's thread, each request on a
 * private easy handle (request_perform) that still shares DNS and TLS
 * sessions with the loops through the engine's share handle.  Transient
 * failures are retried with the same policy as uploads (retry.h), sleeping
 * on the caller's thread; listings follow IsTruncated to the end.
 * Threading: reentrant; any number of threads may call these at once.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checksum.h"
#include "engine.h"
#include "loop.h"
#include "request.h"
#include "retry.h"

struct op_spec {
	const char *op;
	const char *method;
	const char *bucket;
	const char *key;
	struct sign_kv query[6];
	size_t nquery;
};

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0) {
		;
	}
}

static hoist_status op_fail(struct hoist_result *res, hoist_status st, const char *op,
			    const char *detail)
{
	struct failure f;

	if (!res)
		return st;
	memset(&f, 0, sizeof(f));
	f.status = st;
	f.op = op;
	f.detail = detail;
	result_set_failure(res, &f);
	return st;
}

/* Sends spec until success or a final failure.  On HOIST_OK *out is the
 * finished request (caller frees). */
static hoist_status run(struct hoist_engine *e, const struct op_spec *spec,
			struct request **out, struct hoist_result *res)
{
	const struct engine_conf *c = &e->conf;
	uint64_t rng = retry_seed();
	unsigned attempt;

	*out = NULL;
	for (attempt = 1;; attempt++) {
		struct request *r = request_new(e, spec->op, spec->method, spec->bucket, spec->key);
		hoist_status st;
		struct failure f;
		int retry, rc = 0;
		size_t i;

		if (!r)
			return op_fail(res, HOIST_E_NOMEM, spec->op, NULL);
		for (i = 0; i < spec->nquery; i++) {
			rc |= request_query(r, spec->query[i].name, spec->query[i].value);
		}
		if (rc) {
			request_free(r);
			return op_fail(res, HOIST_E_NOMEM, spec->op, NULL);
		}
		request_perform(r);
		request_outcome(r, &st, &retry, &f);
		if (res && r->http) {
			res->http_status = r->http;
		}
		if (st == HOIST_OK) {
			*out = r;
			return HOIST_OK;
		}
		if (retry && attempt < c->max_attempts) {
			uint64_t d = retry_backoff_ms(attempt, c->retry_base_ms, c->retry_cap_ms, &rng);
			uint64_t sd = retry_server_delay_ms(r->retry_after, r->qos_delay,
							    c->retry_cap_ms);
			int64_t off;
			char *m = status_message(&f);

			if (r->err.code && strcmp(r->err.code, "RequestTimeTooSkewed") == 0 &&
			    request_clock_skew(r, &off) == 0) {
				atomic_store_explicit(&e->clock_offset, off, memory_order_relaxed);
			}
			engine_log(e, "%s; attempt %u of %u, retrying", m ? m : spec->op, attempt,
				   c->max_attempts);
			free(m);
			request_free(r);
			sleep_ms(sd > d ? sd : d);
			continue;
		}
		if (res) {
			result_set_failure(res, &f);
		}
		request_free(r);
		return st;
	}
}

static int bad_name(const char *s)
{
	return !s || !*s;
}

hoist_status hoist_abort_upload(struct hoist_engine *engine, const char *bucket,
				const char *key, const char *upload_id,
				struct hoist_result *result)
{
	struct op_spec s = { "AbortMultipartUpload", "DELETE", bucket, key,
			     { { "uploadId", upload_id } }, 1 };
	struct request *r = NULL;
	hoist_status st;

	if (!engine || bad_name(bucket) || bad_name(key) || bad_name(upload_id))
		return op_fail(result, HOIST_E_INVALID_ARG, s.op, "bucket, key and upload id are required");
	if (loop_current())
		return op_fail(result, HOIST_E_INVALID_ARG, s.op, "called from an engine thread");
	st = run(engine, &s, &r, result);
	if (st == HOIST_OK && result) {
		result->status = HOIST_OK;
		result_setstr(&result->request_id, r->request_id);
		result_setstr(&result->bucket, bucket);
		result_setstr(&result->key, key);
		result_setstr(&result->upload_id, upload_id);
	}
	request_free(r);
	return st;
}

hoist_status hoist_list_parts(struct hoist_engine *engine, const char *bucket,
			      const char *key, const char *upload_id,
			      struct hoist_part_list **out, struct hoist_result *result)
{
	struct hoist_part_list *list = NULL;
	struct list_parts_page page;
	unsigned marker = 0;
	hoist_status st = HOIST_OK;
	char mk[16];

	if (out) {
		*out = NULL;
	}
	if (!engine || !out || bad_name(bucket) || bad_name(key) || bad_name(upload_id))
		return op_fail(result, HOIST_E_INVALID_ARG, "ListParts",
			       "bucket, key and upload id are required");
	if (loop_current())
		return op_fail(result, HOIST_E_INVALID_ARG, "ListParts", "called from an engine thread");
	list = calloc(1, sizeof(*list));
	if (!list)
		return op_fail(result, HOIST_E_NOMEM, "ListParts", NULL);
	for (;;) {
		struct op_spec s = { "ListParts", "GET", bucket, key, { { NULL, NULL } }, 0 };
		struct request *r = NULL;

		if (engine->conf.dialect == HOIST_DIALECT_OSS) {
			s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
		}
		s.query[s.nquery++] = (struct sign_kv){ "max-parts", "1000" };
		if (marker) {
			snprintf(mk, sizeof(mk), "%u", marker);
			s.query[s.nquery++] = (struct sign_kv){ "part-number-marker", mk };
		}
		s.query[s.nquery++] = (struct sign_kv){ "uploadId", upload_id };
		st = run(engine, &s, &r, result);
		if (st != HOIST_OK)
			break;
		if (response_parse_list_parts(list, &page, r->body.data, r->body.len) < 0) {
			st = op_fail(result, HOIST_E_SERVER, "ListParts", "unreadable ListParts response");
			request_free(r);
			break;
		}
		if (result) {
			result_setstr(&result->request_id, r->request_id);
		}
		request_free(r);
		if (!page.truncated || page.next_marker <= marker)
			break;
		marker = page.next_marker;
	}
	if (st != HOIST_OK) {
		hoist_part_list_free(list);
		return st;
	}
	if (result) {
		result->status = HOIST_OK;
		result_setstr(&result->bucket, bucket);
		result_setstr(&result->key, key);
		result_setstr(&result->upload_id, upload_id);
	}
	*out = list;
	return HOIST_OK;
}

hoist_status hoist_list_uploads(struct hoist_engine *engine, const char *bucket,
				const char *prefix, struct hoist_upload_list **out,
				struct hoist_result *result)
{
	struct hoist_upload_list *list = NULL;
	struct list_uploads_page page;
	char *key_marker = NULL, *id_marker = NULL;
	hoist_status st = HOIST_OK;

	if (out) {
		*out = NULL;
	}
	if (!engine || !out || bad_name(bucket))
		return op_fail(result, HOIST_E_INVALID_ARG, "ListMultipartUploads",
			       "a bucket is required");
	if (loop_current())
		return op_fail(result, HOIST_E_INVALID_ARG, "ListMultipartUploads",
			       "called from an engine thread");
	list = calloc(1, sizeof(*list));
	if (!list)
		return op_fail(result, HOIST_E_NOMEM, "ListMultipartUploads", NULL);
	memset(&page, 0, sizeof(page));
	for (;;) {
		struct op_spec s = { "ListMultipartUploads", "GET", bucket, NULL,
				     { { NULL, NULL } }, 0 };
		struct request *r = NULL;

		if (engine->conf.dialect == HOIST_DIALECT_OSS) {
			s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
		}
		if (key_marker) {
			s.query[s.nquery++] = (struct sign_kv){ "key-marker", key_marker };
		}
		s.query[s.nquery++] = (struct sign_kv){ "max-uploads", "1000" };
		if (prefix && *prefix) {
			s.query[s.nquery++] = (struct sign_kv){ "prefix", prefix };
		}
		if (id_marker) {
			s.query[s.nquery++] = (struct sign_kv){ "upload-id-marker", id_marker };
		}
		s.query[s.nquery++] = (struct sign_kv){ "uploads", NULL };
		st = run(engine, &s, &r, result);
		if (st != HOIST_OK)
			break;
		list_uploads_page_cleanup(&page);
		if (response_parse_list_uploads(list, &page, r->body.data, r->body.len) < 0) {
			st = op_fail(result, HOIST_E_SERVER, "ListMultipartUploads",
				     "unreadable ListMultipartUploads response");
			request_free(r);
			break;
		}
		if (result) {
			result_setstr(&result->request_id, r->request_id);
		}
		request_free(r);
		if (!page.truncated || !page.next_key_marker || !*page.next_key_marker)
			break;
		/* Guard against a server that repeats its markers. */
		if (key_marker && strcmp(key_marker, page.next_key_marker) == 0 &&
		    (!id_marker || !page.next_upload_id_marker ||
		     strcmp(id_marker, page.next_upload_id_marker) == 0))
			break;
		free(key_marker);
		free(id_marker);
		key_marker = page.next_key_marker;
		id_marker = page.next_upload_id_marker;
		page.next_key_marker = page.next_upload_id_marker = NULL;
	}
	list_uploads_page_cleanup(&page);
	free(key_marker);
	free(id_marker);
	if (st != HOIST_OK) {
		hoist_upload_list_free(list);
		return st;
	}
	if (result) {
		result->status = HOIST_OK;
		result_setstr(&result->bucket, bucket);
	}
	*out = list;
	return HOIST_OK;
}

uint64_t hoist_crc64(uint64_t crc, const void *buf, size_t len)
{
	return crc64_ecma_update(crc, buf, len);
}

uint64_t hoist_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
	return crc64_ecma_combine(crc_a, crc_b, len_b);
}
