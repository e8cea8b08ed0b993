/*
 * objects.c - what is already in a bucket: a paged listing of the objects
 * under a prefix (ListObjectsV2) and the HEAD of one object, for callers
 * that compare a local tree with a bucket (hoist cp -r --skip-existing).
 *
 * Layer: API.
 *
 * A lister holds one page (at most 1,000 entries) and fetches the next
 * when the caller has consumed it, so a listing of millions of keys costs
 * the memory of one page and can be merged with a walk of a local tree
 * that is in the same byte order.  Listings are asked with
 * encoding-type=url (a key may hold bytes XML cannot carry) and decoded
 * only when the answer says EncodingType url (the parser is listing.c).
 * Keys must come strictly ascending in byte order (OSS and S3 list so); a
 * server that breaks that would silently break a merge, so it is a
 * failure (HOIST_E_SERVER).
 * hoist_stat_object is the same HEAD with the headers a person asks for
 * (type, mtime, storage class) kept.  hoist_delete_objects sends
 * DeleteMultipleObjects in quiet mode, so an answer lists only the keys
 * that were not deleted, and maps them back to the caller's index.
 * Requests go through blocking.c: the engine's retry policy, on the
 * caller's thread.
 * Threading: a lister belongs to one thread at a time; hoist_head_object
 * is reentrant.  Never on an engine thread (they sleep between retries).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "buf.h"
#include "checksum.h"
#include "delresult.h"
#include "dialect.h"
#include "engine.h"
#include "listing.h"
#include "loop.h"
#include "request.h"
#include "status.h"
#include "xml.h"

struct hoist_object_lister {
	struct ctx *ctx;
	char *bucket;
	char *prefix;
	char *start_after;
	char *delimiter;
	char page_size[8];         /* max-keys, as text */
	char *token;               /* the next page's continuation token */
	int more;                  /* another page is to be fetched */
	struct listing_page page;
	size_t next;               /* the next entry of the page to hand out */
	char *last_key;            /* the last key handed out (its decoded bytes),
	                              for the order check */
	size_t last_len;
};

/* ------------------------------------------------------------- lister */

static hoist_status fetch_page(struct hoist_object_lister *l, struct hoist_result *res)
{
	struct op_spec s = { .op = "ListObjectsV2", .method = "GET", .bucket = l->bucket };
	struct request *r = NULL;
	hoist_status st;

	s.query[s.nquery++] = (struct sign_kv){ "continuation-token", l->token };
	s.query[s.nquery++] = (struct sign_kv){ "delimiter", l->delimiter };
	s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
	s.query[s.nquery++] = (struct sign_kv){ "list-type", "2" };
	s.query[s.nquery++] = (struct sign_kv){ "max-keys", l->page_size };
	s.query[s.nquery++] = (struct sign_kv){ "prefix", l->prefix };
	s.query[s.nquery++] = (struct sign_kv){ "start-after", l->start_after };
	/* Absent values are left out; the rest stay in name order. */
	{
		size_t i, n = 0;

		for (i = 0; i < s.nquery; i++) {
			if (s.query[i].value && *s.query[i].value) {
				s.query[n++] = s.query[i];
			}
		}
		s.nquery = n;
	}
	st = blocking_run(l->ctx, &s, &r, res);
	if (st != HOIST_OK)
		return st;
	l->next = 0;
	if (listing_parse_page(&l->page, r->body.data, r->body.len) < 0) {
		request_free(r);
		l->more = 0;
		return result_fail(res, HOIST_E_SERVER, "ListObjectsV2", "unreadable ListObjectsV2 response");
	}
	request_free(r);
	free(l->token);
	l->token = l->page.next_token;
	l->page.next_token = NULL;
	l->more = l->page.truncated;
	if (l->more && (!l->token || !*l->token)) {
		l->more = 0;
		return result_fail(res, HOIST_E_SERVER, "ListObjectsV2",
				   "a truncated listing without a continuation token");
	}
	/* After the first page the token says where to go on. */
	free(l->start_after);
	l->start_after = NULL;
	return HOIST_OK;
}

void hoist_object_lister_free(struct hoist_object_lister *l)
{
	if (!l)
		return;
	listing_page_cleanup(&l->page);
	free(l->bucket);
	free(l->prefix);
	free(l->start_after);
	free(l->delimiter);
	free(l->token);
	free(l->last_key);
	free(l);
}

hoist_status hoist_object_lister_new(struct hoist_object_lister **out,
				     struct hoist_engine *engine,
				     const struct hoist_list_options *opts,
				     struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	struct hoist_object_lister *l = NULL;
	hoist_status st = HOIST_OK;
	unsigned page;

	if (out) {
		*out = NULL;
	}
	if (!out || !engine || !opts || opts->version < 1 ||
	    opts->version > HOIST_LIST_OPTIONS_VERSION || !opts->bucket || !*opts->bucket) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListObjectsV2",
				 "a bucket and options of a known version are required");
		goto out;
	}
	page = opts->page_size ? opts->page_size : 1000;
	if (page > 1000) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListObjectsV2", "page_size above 1000");
		goto out;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		st = result_fail(&r, HOIST_E_NOMEM, "ListObjectsV2", NULL);
		goto out;
	}
	l->ctx = &engine->ctx;
	snprintf(l->page_size, sizeof(l->page_size), "%u", page);
	if (result_setstr(&l->bucket, opts->bucket) ||
	    result_setstr(&l->prefix, opts->prefix) ||
	    result_setstr(&l->start_after, opts->start_after) ||
	    (opts->version >= 2 && result_setstr(&l->delimiter, opts->delimiter))) {
		st = result_fail(&r, HOIST_E_NOMEM, "ListObjectsV2", NULL);
		goto out;
	}
	l->more = 1;
	*out = l;
	l = NULL;
out:
	hoist_object_lister_free(l);
	result_deliver(result, &r);
	return st;
}

hoist_status hoist_object_lister_next(struct hoist_object_lister *l,
				      const struct hoist_object_entry **entry,
				      struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st = HOIST_OK;
	const struct listing_entry *e;

	if (entry) {
		*entry = NULL;
	}
	if (!l || !entry) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListObjectsV2", "NULL argument");
		goto out;
	}
	if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "ListObjectsV2", "called from an engine thread");
		goto out;
	}
again:
	/* A page may be empty yet truncated (OSS may answer so): go on. */
	while (l->next == l->page.count && l->more) {
		st = fetch_page(l, &r);
		if (st != HOIST_OK)
			goto out;
	}
	if (l->next == l->page.count)
		goto out; /* the end */
	e = &l->page.entries[l->next++];
	/* Common prefixes only when asked for: a merge with a tree walk
	 * wants keys, whatever the server adds. */
	if (e->pub.is_prefix && !l->delimiter)
		goto again;
	if (l->last_key &&
	    listing_key_cmp(listing_key_bytes(e), e->len, l->last_key, l->last_len) <= 0) {
		l->more = 0;
		l->next = l->page.count;
		st = result_fail(&r, HOIST_E_SERVER, "ListObjectsV2",
				 "the listing is not in ascending byte order of keys");
		goto out;
	}
	free(l->last_key);
	l->last_key = malloc(e->len + 1);
	if (!l->last_key) {
		st = result_fail(&r, HOIST_E_NOMEM, "ListObjectsV2", NULL);
		goto out;
	}
	memcpy(l->last_key, listing_key_bytes(e), e->len + 1);
	l->last_len = e->len;
	*entry = &e->pub;
out:
	result_deliver(result, &r);
	return st;
}

/* ---------------------------------------------------------------- HEAD */

hoist_status hoist_head_object(struct hoist_engine *engine, const char *bucket, const char *key,
			       struct hoist_result *result)
{
	struct op_spec s = { .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key };
	struct hoist_result r = HOIST_RESULT_INIT;
	struct request *rq = NULL;
	hoist_status st;
	uint64_t size = 0;

	if (!engine || !bucket || !*bucket || !key || !*key) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "HeadObject", "bucket and key are required");
		goto out;
	}
	if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "HeadObject", "called from an engine thread");
		goto out;
	}
	st = blocking_run(&engine->ctx, &s, &rq, &r);
	if (st != HOIST_OK)
		goto out;
	r.status = HOIST_OK;
	if (rq->content_length && parse_u64(rq->content_length, &size) == 0) {
		r.bytes = size;
	}
	r.crc64 = rq->resp_crc;
	r.crc64_valid = rq->resp_crc_valid;
	if (result_setstr(&r.request_id, rq->request_id) || result_setstr(&r.etag, rq->etag) ||
	    result_setstr(&r.version_id, rq->version_id) || result_setstr(&r.bucket, bucket) ||
	    result_setstr(&r.key, key)) {
		st = result_fail(&r, HOIST_E_NOMEM, "HeadObject", NULL);
	}
out:
	request_free(rq);
	result_deliver(result, &r);
	return st;
}

/* ---------------------------------------------------------------- stat */

void hoist_object_info_cleanup(struct hoist_object_info *info)
{
	unsigned v;

	if (!info)
		return;
	v = info->version;
	free(info->etag);
	free(info->content_type);
	free(info->last_modified);
	free(info->storage_class);
	free(info->version_id);
	memset(info, 0, sizeof(*info));
	info->version = v;
}

hoist_status hoist_stat_object(struct hoist_engine *engine, const char *bucket, const char *key,
			       struct hoist_object_info *info, struct hoist_result *result)
{
	struct op_spec s = { .op = "HeadObject", .method = "HEAD", .bucket = bucket, .key = key };
	struct hoist_result r = HOIST_RESULT_INIT;
	struct request *rq = NULL;
	hoist_status st;

	if (!engine || !bucket || !*bucket || !key || !*key || !info || info->version < 1) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "HeadObject",
				 "bucket, key and info of a known version are required");
		goto out;
	}
	hoist_object_info_cleanup(info);
	if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "HeadObject", "called from an engine thread");
		goto out;
	}
	s.keep[0] = "Content-Type";
	s.keep[1] = engine->ctx.conf->dialect == HOIST_DIALECT_OSS ? "x-oss-storage-class"
								    : "x-amz-storage-class";
	st = blocking_run(&engine->ctx, &s, &rq, &r);
	if (st != HOIST_OK)
		goto out;
	r.status = HOIST_OK;
	if (rq->content_length) {
		parse_u64(rq->content_length, &info->size);
	}
	r.bytes = info->size;
	info->crc64 = rq->resp_crc;
	info->crc64_valid = rq->resp_crc_valid;
	if (result_setstr(&info->etag, rq->etag) || result_setstr(&info->content_type, rq->extra[0]) ||
	    result_setstr(&info->storage_class, rq->extra[1]) ||
	    result_setstr(&info->last_modified, rq->last_modified) ||
	    result_setstr(&info->version_id, rq->version_id) ||
	    result_setstr(&r.request_id, rq->request_id) || result_setstr(&r.bucket, bucket) ||
	    result_setstr(&r.key, key)) {
		hoist_object_info_cleanup(info);
		st = result_fail(&r, HOIST_E_NOMEM, "HeadObject", NULL);
	}
out:
	request_free(rq);
	result_deliver(result, &r);
	return st;
}

/* -------------------------------------------------------------- delete */

static hoist_status delete_body(struct buf *xml, const char *const *keys, size_t n)
{
	size_t i;
	int rc = 0;

	rc |= buf_puts(xml, "<Delete><Quiet>true</Quiet>");
	for (i = 0; i < n && rc == 0; i++) {
		rc |= buf_puts(xml, "<Object>");
		rc |= xml_elem_append(xml, "Key", keys[i]);
		rc |= buf_puts(xml, "</Object>");
	}
	rc |= buf_puts(xml, "</Delete>");
	return rc ? HOIST_E_NOMEM : HOIST_OK;
}

/* One batch: keys[0..n) in one request; their statuses into ks (n of
 * them, all HOIST_OK first).  Returns the request's status; per-key
 * refusals leave it HOIST_OK and count in *failed, the first described
 * in res. */
static hoist_status delete_batch(struct ctx *ctx, const char *bucket, const char *const *keys,
				 size_t n, hoist_status *ks, size_t *failed,
				 struct hoist_result *res)
{
	struct op_spec s = { .op = "DeleteMultipleObjects", .method = "POST", .bucket = bucket,
			     .query = { { "delete", NULL } }, .nquery = 1,
			     .headers = { { "Content-Type", "application/xml" } }, .nheaders = 1 };
	struct buf xml = BUF_INIT;
	struct delresult d;
	struct request *r = NULL;
	hoist_status st;
	char md5b64[25];
	uint8_t md5[16];
	size_t i, j, first = 0;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		ks[i] = HOIST_OK;
	}
	st = delete_body(&xml, keys, n);
	if (st != HOIST_OK) {
		st = result_fail(res, st, s.op, NULL);
		goto out;
	}
	md5_once(md5, xml.data, xml.len);
	md5_to_base64(md5b64, md5);
	s.headers[s.nheaders++] = (struct sign_kv){ "Content-MD5", md5b64 };
	/* OSS: the keys of the answer url-encoded, so any byte survives. */
	if (ctx->conf->dialect == HOIST_DIALECT_OSS) {
		s.query[s.nquery++] = (struct sign_kv){ "encoding-type", "url" };
	}
	s.body = xml.data;
	s.body_len = xml.len;
	st = blocking_run(ctx, &s, &r, res);
	if (st != HOIST_OK)
		goto out;
	if (delresult_parse(&d, r->body.data, r->body.len) != 0) {
		st = result_fail(res, HOIST_E_SERVER, s.op, "unreadable DeleteMultipleObjects response");
		goto out;
	}
	j = delresult_apply(&d, keys, n, ks, &first);
	if (j && *failed == 0 && res) {
		const struct delresult_error *e = &d.errs[first];
		struct failure f;

		failure_init(&f, delresult_code_status(e->code), s.op, 0, "a key was not deleted");
		f.http = r->http;
		f.code = e->code;
		f.message = e->message;
		f.request_id = r->request_id;
		result_set_failure(res, &f);
		result_setstr(&res->key, e->key);
	}
	*failed += j;
out:
	delresult_cleanup(&d);
	request_free(r);
	buf_free(&xml);
	return st;
}

hoist_status hoist_delete_objects(struct hoist_engine *engine,
				  const struct hoist_delete_options *opts, size_t *deleted,
				  struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st = HOIST_OK, first = HOIST_OK, *ks = NULL;
	size_t off, i, failed = 0, done = 0, batch;

	if (deleted) {
		*deleted = 0;
	}
	if (!engine || !opts || opts->version < 1 || opts->version > HOIST_DELETE_OPTIONS_VERSION ||
	    !opts->bucket || !*opts->bucket || (opts->count && !opts->keys)) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "DeleteMultipleObjects",
				 "a bucket, keys and options of a known version are required");
		goto out;
	}
	batch = opts->batch ? opts->batch : DELRESULT_MAX_KEYS;
	if (batch > DELRESULT_MAX_KEYS) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "DeleteMultipleObjects", "batch above 1000");
		goto out;
	}
	for (i = 0; i < opts->count; i++) {
		if (!opts->keys[i] || !*opts->keys[i]) {
			st = result_fail(&r, HOIST_E_INVALID_ARG, "DeleteMultipleObjects",
					 "an empty key");
			goto out;
		}
	}
	if (loop_current()) {
		st = result_fail(&r, HOIST_E_INVALID_ARG, "DeleteMultipleObjects",
				 "called from an engine thread");
		goto out;
	}
	ks = opts->key_status ? opts->key_status : malloc(batch * sizeof(*ks));
	if (!ks) {
		st = result_fail(&r, HOIST_E_NOMEM, "DeleteMultipleObjects", NULL);
		goto out;
	}
	for (off = 0; off < opts->count; off += batch) {
		size_t n = opts->count - off < batch ? opts->count - off : batch;
		hoist_status *bs = opts->key_status ? ks + off : ks;
		size_t before = failed;
		struct hoist_result br = HOIST_RESULT_INIT;

		/* r keeps the first key's refusal; a later batch reports into
		 * br, which replaces it only when that request fails whole. */
		st = delete_batch(&engine->ctx, opts->bucket, opts->keys + off, n, bs, &failed,
				  first == HOIST_OK ? &r : &br);
		if (st != HOIST_OK && first != HOIST_OK) {
			hoist_result_cleanup(&r);
			r = br;
		} else {
			hoist_result_cleanup(&br);
		}
		if (st != HOIST_OK) {
			/* The whole request failed: this batch and the rest. */
			if (opts->key_status) {
				for (i = off; i < opts->count; i++) {
					ks[i] = st;
				}
			}
			goto out;
		}
		done += n - (failed - before);
		for (i = 0; i < n && first == HOIST_OK; i++) {
			first = bs[i];
		}
	}
	st = first;
	if (st == HOIST_OK) {
		r.status = HOIST_OK;
		result_setstr(&r.bucket, opts->bucket);
	}
out:
	if (ks && ks != opts->key_status) {
		free(ks);
	}
	if (deleted) {
		*deleted = done;
	}
	result_deliver(result, &r);
	return st;
}
