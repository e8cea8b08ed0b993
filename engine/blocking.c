/*
 * blocking.c - requests sent and retried on the caller's thread (see
 * blocking.h).
 *
 * Layer: transfer.
 *
 * Each request runs on a private easy handle (request_perform) that still
 * shares DNS and TLS sessions with the loops through the share handle.
 * Transient failures are retried with the one retry policy
 * (request_retry_delay), sleeping on the caller's thread; listings follow
 * IsTruncated to the end.
 * Threading: reentrant; any number of threads may call these at once.
 */
#include "blocking.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "request.h"
#include "response.h"
#include "creds.h"
#include "retry.h"

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0) {
		;
	}
}

/* Sends spec until success or a final failure.  On HOIST_OK *out is the
 * finished request (caller frees). */
hoist_status blocking_run(struct ctx *ctx, const struct op_spec *spec,
			  struct request **out, struct hoist_result *res)
{
	const struct conf *c = ctx->conf;
	uint64_t rng = retry_seed();
	unsigned attempt;
	int token_retried = 0;

	*out = NULL;
	for (attempt = 1;; attempt++) {
		struct request *r = request_new(ctx, spec->op, spec->method, spec->bucket, spec->key);
		hoist_status st;
		struct failure f;
		int retry, rc = 0;
		size_t i;

		if (!r)
			return result_fail(res, HOIST_E_NOMEM, spec->op, NULL);
		for (i = 0; i < spec->nquery; i++) {
			rc |= request_query(r, spec->query[i].name, spec->query[i].value);
		}
		if (rc) {
			request_free(r);
			return result_fail(res, HOIST_E_NOMEM, spec->op, NULL);
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
		if (!retry && !token_retried && request_token_refresh(r)) {
			uint64_t gen = r->creds_gen;

			/* The caller's thread may wait for the refresher (a
			 * minute at most: the provider's own timeouts are
			 * shorter), then sends once more. */
			token_retried = 1;
			request_free(r);
			creds_wait(ctx->creds, gen, 60000);
			continue;
		}
		if (retry && attempt < c->max_attempts) {
			uint64_t d = request_retry_delay(ctx, r, attempt, &rng);
			char *m = status_message(&f);

			ctx_log(ctx, "%s; attempt %u of %u, retrying", m ? m : spec->op, attempt,
				c->max_attempts);
			free(m);
			request_free(r);
			sleep_ms(d);
			continue;
		}
		if (res) {
			result_set_failure(res, &f);
		}
		request_free(r);
		return st;
	}
}

hoist_status blocking_abort(struct ctx *ctx, const char *bucket, const char *key,
			    const char *upload_id, struct hoist_result *result)
{
	struct op_spec s = { "AbortMultipartUpload", "DELETE", bucket, key,
			     { { "uploadId", upload_id } }, 1 };
	struct request *r = NULL;
	hoist_status st;

	st = blocking_run(ctx, &s, &r, result);
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

hoist_status blocking_list_parts(struct ctx *ctx, const char *bucket, const char *key,
				 const char *upload_id, struct hoist_part_list **out,
				 struct hoist_result *result)
{
	struct hoist_part_list *list = NULL;
	struct list_parts_page page;
	unsigned marker = 0;
	hoist_status st = HOIST_OK;
	char mk[16];

	*out = NULL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return result_fail(result, HOIST_E_NOMEM, "ListParts", NULL);
	for (;;) {
		struct op_spec s = { "ListParts", "GET", bucket, key, { { NULL, NULL } }, 0 };
		struct request *r = NULL;

		if (ctx->conf->dialect == HOIST_DIALECT_OSS) {
			s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
		}
		s.query[s.nquery++] = (struct sign_kv){ "max-parts", "1000" };
		if (marker) {
			snprintf(mk, sizeof(mk), "%u", marker);
			s.query[s.nquery++] = (struct sign_kv){ "part-number-marker", mk };
		}
		s.query[s.nquery++] = (struct sign_kv){ "uploadId", upload_id };
		st = blocking_run(ctx, &s, &r, result);
		if (st != HOIST_OK)
			break;
		if (response_parse_list_parts(list, &page, r->body.data, r->body.len) < 0) {
			st = result_fail(result, HOIST_E_SERVER, "ListParts", "unreadable ListParts response");
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

hoist_status blocking_list_uploads(struct ctx *ctx, const char *bucket, const char *prefix,
				   struct hoist_upload_list **out, struct hoist_result *result)
{
	struct hoist_upload_list *list = NULL;
	struct list_uploads_page page;
	char *key_marker = NULL, *id_marker = NULL;
	hoist_status st = HOIST_OK;

	*out = NULL;
	list = calloc(1, sizeof(*list));
	if (!list)
		return result_fail(result, HOIST_E_NOMEM, "ListMultipartUploads", NULL);
	memset(&page, 0, sizeof(page));
	for (;;) {
		struct op_spec s = { "ListMultipartUploads", "GET", bucket, NULL,
				     { { NULL, NULL } }, 0 };
		struct request *r = NULL;

		if (ctx->conf->dialect == HOIST_DIALECT_OSS) {
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
		st = blocking_run(ctx, &s, &r, result);
		if (st != HOIST_OK)
			break;
		list_uploads_page_cleanup(&page);
		if (response_parse_list_uploads(list, &page, r->body.data, r->body.len) < 0) {
			st = result_fail(result, HOIST_E_SERVER, "ListMultipartUploads",
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
