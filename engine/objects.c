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
 * Requests go through blocking.c: the engine's retry policy, on the
 * caller's thread.
 * Threading: a lister belongs to one thread at a time; hoist_head_object
 * is reentrant.  Never on an engine thread (they sleep between retries).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blocking.h"
#include "checksum.h"
#include "engine.h"
#include "listing.h"
#include "loop.h"
#include "request.h"
#include "status.h"

struct hoist_object_lister {
	struct ctx *ctx;
	char *bucket;
	char *prefix;
	char *start_after;
	char page_size[8];         /* max-keys, as text */
	char *token;               /* the next page's continuation token */
	int more;                  /* another page is to be fetched */
	struct listing_page page;
	size_t next;               /* the next entry of the page to hand out */
	char *last_key;            /* the last key handed out, for the order check */
};

/* ------------------------------------------------------------- lister */

static hoist_status fetch_page(struct hoist_object_lister *l, struct hoist_result *res)
{
	struct op_spec s = { .op = "ListObjectsV2", .method = "GET", .bucket = l->bucket };
	struct request *r = NULL;
	hoist_status st;

	s.query[s.nquery++] = (struct sign_kv){ "continuation-token", l->token };
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
	    result_setstr(&l->start_after, opts->start_after)) {
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
	/* A page may be empty yet truncated (OSS may answer so): go on. */
	while (l->next == l->page.count && l->more) {
		st = fetch_page(l, &r);
		if (st != HOIST_OK)
			goto out;
	}
	if (l->next == l->page.count)
		goto out; /* the end */
	e = &l->page.entries[l->next++];
	if (l->last_key && strcmp(e->key, l->last_key) <= 0) {
		l->more = 0;
		l->next = l->page.count;
		st = result_fail(&r, HOIST_E_SERVER, "ListObjectsV2",
				 "the listing is not in ascending byte order of keys");
		goto out;
	}
	if (result_setstr(&l->last_key, e->key)) {
		st = result_fail(&r, HOIST_E_NOMEM, "ListObjectsV2", NULL);
		goto out;
	}
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
