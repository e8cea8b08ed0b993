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

#include "buf.h"
#include "checksum.h"
#include "dialect.h"
#include "request.h"
#include "response.h"
#include "creds.h"
#include "retry.h"
#include "xml.h"

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
		for (i = 0; i < spec->nheaders; i++) {
			rc |= request_header(r, spec->headers[i].name, spec->headers[i].value);
		}
		for (i = 0; i < sizeof(spec->keep) / sizeof(spec->keep[0]) &&
			    i < REQ_MAX_EXTRA; i++) {
			r->extra_headers[i] = spec->keep[i];
		}
		if (spec->body) {
			r->body_kind = REQ_BODY_MEM;
			r->mem = spec->body;
			r->memlen = spec->body_len;
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
	struct op_spec s = { .op = "AbortMultipartUpload", .method = "DELETE", .bucket = bucket,
			     .key = key, .query = { { "uploadId", upload_id } }, .nquery = 1 };
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
		struct op_spec s = { .op = "ListParts", .method = "GET", .bucket = bucket, .key = key };
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
		struct op_spec s = { .op = "ListMultipartUploads", .method = "GET",
				     .bucket = bucket };
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

/* ------------------------------------------------------- shared upload */

hoist_status blocking_initiate(struct ctx *ctx, const char *bucket, const char *key,
			       const char *content_type, int forbid_overwrite,
			       struct hoist_result *result)
{
	struct op_spec s = { .op = "InitiateMultipartUpload", .method = "POST", .bucket = bucket,
			     .key = key, .query = { { "uploads", NULL } }, .nquery = 1,
			     .headers = { { "Content-Type", content_type && *content_type
								    ? content_type
								    : "application/octet-stream" } },
			     .nheaders = 1 };
	const struct dialect_names *dn = dialect_names(ctx->conf->dialect);
	struct initiate_doc d;
	struct request *r = NULL;
	hoist_status st;

	if (ctx->conf->dialect == HOIST_DIALECT_OSS) {
		s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
	}
	if (forbid_overwrite && dn->forbid_overwrite) {
		s.headers[s.nheaders++] = (struct sign_kv){ dn->forbid_overwrite, "true" };
	}
	st = blocking_run(ctx, &s, &r, result);
	if (st != HOIST_OK)
		return st;
	memset(&d, 0, sizeof(d));
	if (response_parse_initiate(&d, r->body.data, r->body.len) < 0 || !d.upload_id) {
		st = result_fail(result, HOIST_E_SERVER, s.op, "the response has no UploadId");
	} else if (result) {
		result->status = HOIST_OK;
		result_setstr(&result->request_id, r->request_id);
		result_setstr(&result->bucket, bucket);
		result_setstr(&result->key, key);
		result_setstr(&result->upload_id, d.upload_id);
	}
	initiate_doc_cleanup(&d);
	request_free(r);
	return st;
}

static int by_number(const void *a, const void *b)
{
	const struct hoist_part_entry *x = *(const struct hoist_part_entry *const *)a;
	const struct hoist_part_entry *y = *(const struct hoist_part_entry *const *)b;

	return x->part_number < y->part_number ? -1 : x->part_number > y->part_number;
}

/* parts in number order (into *sorted, the caller frees), checked to be
 * 1..N; the Complete body; their combined CRC64 (*crc_valid 0 when a part
 * has none); the total size. */
static hoist_status complete_body(const struct hoist_part_list *parts, struct buf *xml,
				  uint64_t *crc, int *crc_valid, uint64_t *bytes, char *err,
				  size_t errlen)
{
	const struct hoist_part_entry **v = calloc(parts->count, sizeof(*v));
	hoist_status st = HOIST_OK;
	size_t i;
	int rc = 0;

	if (!v)
		return HOIST_E_NOMEM;
	for (i = 0; i < parts->count; i++) {
		v[i] = &parts->parts[i];
	}
	qsort(v, parts->count, sizeof(*v), by_number);
	*crc = 0;
	*crc_valid = 1;
	*bytes = 0;
	rc |= buf_puts(xml, "<CompleteMultipartUpload>");
	for (i = 0; i < parts->count && rc == 0; i++) {
		if (v[i]->part_number != i + 1) {
			snprintf(err, errlen, "the part list has %s part %zu",
				 v[i]->part_number < i + 1 ? "a repeated" : "no", i + 1);
			st = HOIST_E_INVALID_ARG;
			goto out;
		}
		rc |= buf_printf(xml, "<Part><PartNumber>%u</PartNumber>", v[i]->part_number);
		rc |= xml_elem_append(xml, "ETag", v[i]->etag);
		rc |= buf_puts(xml, "</Part>");
		*crc_valid &= v[i]->crc64_valid;
		*crc = crc64_ecma_combine(*crc, v[i]->crc64, v[i]->size);
		*bytes += v[i]->size;
	}
	rc |= buf_puts(xml, "</CompleteMultipartUpload>");
	if (rc) {
		st = HOIST_E_NOMEM;
	}
out:
	free(v);
	return st;
}

/* The object's CRC64 by HEAD: 1 and *crc, 0 when the store gives none. */
static int head_crc(struct ctx *ctx, const char *bucket, const char *key, uint64_t *crc)
{
	struct op_spec s = { .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key };
	struct request *r = NULL;
	int have = 0;

	if (blocking_run(ctx, &s, &r, NULL) == HOIST_OK && r->resp_crc_valid) {
		*crc = r->resp_crc;
		have = 1;
	}
	request_free(r);
	return have;
}

hoist_status blocking_complete(struct ctx *ctx, const char *bucket, const char *key,
			       const char *upload_id, const struct hoist_part_list *parts,
			       struct hoist_result *result)
{
	struct op_spec s = { .op = "CompleteMultipartUpload", .method = "POST", .bucket = bucket,
			     .key = key, .query = { { "uploadId", upload_id } }, .nquery = 1,
			     .headers = { { "Content-Type", "application/xml" } }, .nheaders = 1 };
	struct buf xml = BUF_INIT;
	struct complete_doc d;
	struct request *r = NULL;
	uint64_t crc, bytes, got;
	int crc_valid, have;
	hoist_status st;
	char err[256] = "", md5b64[25];
	uint8_t md5[16];

	memset(&d, 0, sizeof(d));
	st = complete_body(parts, &xml, &crc, &crc_valid, &bytes, err, sizeof(err));
	if (st != HOIST_OK) {
		st = result_fail(result, st, s.op, err[0] ? err : NULL);
		goto out;
	}
	md5_once(md5, xml.data, xml.len);
	md5_to_base64(md5b64, md5);
	s.headers[s.nheaders++] = (struct sign_kv){ "Content-MD5", md5b64 };
	if (ctx->conf->dialect == HOIST_DIALECT_OSS) {
		s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
	}
	s.body = xml.data;
	s.body_len = xml.len;
	st = blocking_run(ctx, &s, &r, result);
	if (st != HOIST_OK)
		goto out;
	if (response_parse_complete(&d, r->body.data, r->body.len) != 0) {
		/* A 200 whose body is an Error (S3), or unreadable. */
		st = result_fail(result, HOIST_E_SERVER, s.op,
				 d.err.code ? d.err.code : "unreadable CompleteMultipartUpload response");
		goto out;
	}
	if (result) {
		result->status = HOIST_OK;
		result_setstr(&result->request_id, r->request_id);
		result_setstr(&result->bucket, bucket);
		result_setstr(&result->key, key);
		result_setstr(&result->upload_id, upload_id);
		result_setstr(&result->etag, d.etag && *d.etag ? d.etag : r->etag);
		result_setstr(&result->location, d.location);
		result_setstr(&result->version_id, r->version_id);
		result->parts = (unsigned)parts->count;
		result->bytes = bytes;
		result->verified = HOIST_VERIFY_NONE;
	}
	if (!crc_valid)
		goto out;
	have = r->resp_crc_valid;
	got = r->resp_crc;
	if (have && got == crc) {
		if (result) {
			result->verified = HOIST_VERIFY_RESPONSE;
		}
	} else if (head_crc(ctx, bucket, key, &got) && got == crc) {
		/* No CRC in the answer, or a damaged header: the object says. */
		if (result) {
			result->verified = HOIST_VERIFY_HEAD;
		}
	} else if (have || head_crc(ctx, bucket, key, &got)) {
		snprintf(err, sizeof(err), "the object's CRC64 %" PRIu64 " is not the %" PRIu64
			 " its parts combine to", got, crc);
		st = result_fail(result, HOIST_E_CHECKSUM, s.op, err);
		goto out;
	}
	if (result) {
		result->crc64 = crc;
		result->crc64_valid = 1;
	}
out:
	complete_doc_cleanup(&d);
	request_free(r);
	buf_free(&xml);
	return st;
}
