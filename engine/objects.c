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
 * only when the answer says EncodingType url.  Keys must come strictly
 * ascending in byte order (OSS and S3 list so); a server that breaks that
 * would silently break a merge, so it is a failure (HOIST_E_SERVER).
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
#include "loop.h"
#include "request.h"
#include "response.h"
#include "sign.h"
#include "status.h"
#include "xml.h"

/* One page entry with the strings it owns. */
struct entry {
	struct hoist_object_entry pub;  /* points into the strings below */
	char *key;
	char *etag;
	char *last_modified;
	char *storage_class;
};

struct hoist_object_lister {
	struct ctx *ctx;
	char *bucket;
	char *prefix;
	char *start_after;
	char page_size[8];         /* max-keys, as text */
	char *token;               /* the next page's continuation token */
	int more;                  /* another page is to be fetched */
	struct entry *page;
	size_t count, cap, next;   /* entries of this page; the next to hand out */
	char *last_key;            /* the last key handed out, for the order check */
};

static void entry_cleanup(struct entry *e)
{
	free(e->key);
	free(e->etag);
	free(e->last_modified);
	free(e->storage_class);
	memset(e, 0, sizeof(*e));
}

static void page_clear(struct hoist_object_lister *l)
{
	size_t i;

	for (i = 0; i < l->count; i++) {
		entry_cleanup(&l->page[i]);
	}
	l->count = 0;
	l->next = 0;
}

/* ------------------------------------------------------------- parser */

struct page_ctx {
	struct hoist_object_lister *l;
	struct entry cur;
	int in_contents;
	int have_size;
	int root_ok;
	int truncated;
	char *token;
	char *encoding;
};

static int setdup(char **dst, const char *text, size_t len)
{
	char *c = malloc(len + 1);

	if (!c)
		return -1;
	memcpy(c, text, len);
	c[len] = '\0';
	free(*dst);
	*dst = c;
	return 0;
}

/* "2026-12-03T07:34:33.000Z" (listings) into Unix seconds, through the
 * signer's parser of the compact form; -1 when it is not that shape. */
static int parse_listing_time(const char *s, int64_t *out)
{
	char compact[17];

	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return -1;
	memcpy(compact, s, 4);
	memcpy(compact + 4, s + 5, 2);
	memcpy(compact + 6, s + 8, 2);
	compact[8] = 'T';
	memcpy(compact + 9, s + 11, 2);
	memcpy(compact + 11, s + 14, 2);
	memcpy(compact + 13, s + 17, 2);
	compact[15] = 'Z';
	compact[16] = '\0';
	return sign_parse_iso8601(compact, out);
}

static int push_entry(struct page_ctx *c)
{
	struct hoist_object_lister *l = c->l;

	if (!c->cur.key || !c->have_size)
		return 3;
	if (l->count == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct entry *np;

		/* A page is asked for 1,000 keys; a server sending far more
		 * is not to be followed into unbounded memory. */
		if (ncap > 65536)
			return 3;
		np = realloc(l->page, ncap * sizeof(*np));
		if (!np)
			return 2;
		l->page = np;
		l->cap = ncap;
	}
	l->page[l->count++] = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	return 0;
}

static int contents_field(struct page_ctx *c, const char *name, const char *text, size_t len)
{
	char num[24];
	uint64_t v;

	if (strcmp(name, "Key") == 0)
		return setdup(&c->cur.key, text, len) ? 2 : 0;
	if (strcmp(name, "ETag") == 0)
		return setdup(&c->cur.etag, text, len) ? 2 : 0;
	if (strcmp(name, "LastModified") == 0)
		return setdup(&c->cur.last_modified, text, len) ? 2 : 0;
	if (strcmp(name, "StorageClass") == 0)
		return setdup(&c->cur.storage_class, text, len) ? 2 : 0;
	if (strcmp(name, "Size") == 0) {
		if (len == 0 || len >= sizeof(num))
			return 3;
		memcpy(num, text, len);
		num[len] = '\0';
		if (parse_u64(num, &v))
			return 3;
		c->cur.pub.size = v;
		c->have_size = 1;
	}
	return 0;
}

static int page_cb(void *ud, enum xml_event ev, const char *path, const char *name,
		   const char *text, size_t len)
{
	struct page_ctx *c = ud;
	const char *root = "ListBucketResult";
	size_t rl = strlen(root);

	if (ev == XML_EV_START) {
		if (!c->root_ok) {
			if (strcmp(path, root) != 0)
				return 1;
			c->root_ok = 1;
		}
		if (strcmp(path, "ListBucketResult/Contents") == 0) {
			entry_cleanup(&c->cur);
			c->in_contents = 1;
			c->have_size = 0;
		}
		return 0;
	}
	if (strncmp(path, root, rl) != 0 || path[rl] != '/')
		return 0;
	path += rl + 1;
	if (strcmp(path, "IsTruncated") == 0) {
		c->truncated = len == 4 && memcmp(text, "true", 4) == 0;
	} else if (strcmp(path, "NextContinuationToken") == 0) {
		return setdup(&c->token, text, len) ? 2 : 0;
	} else if (strcmp(path, "EncodingType") == 0) {
		return setdup(&c->encoding, text, len) ? 2 : 0;
	} else if (c->in_contents && strcmp(path, "Contents") == 0) {
		c->in_contents = 0;
		return push_entry(c);
	} else if (c->in_contents && strncmp(path, "Contents/", 9) == 0) {
		return contents_field(c, name, text, len);
	}
	return 0;
}

static int decode(char **s)
{
	char *d;

	if (!*s)
		return 0;
	d = url_decode(*s);
	if (!d)
		return -1;
	free(*s);
	*s = d;
	return 0;
}

/* Fills the public view of each entry once its strings are final. */
static void publish(struct entry *e)
{
	int64_t t = 0;

	e->pub.key = e->key;
	e->pub.etag = e->etag ? e->etag : "";
	e->pub.last_modified = e->last_modified ? e->last_modified : "";
	e->pub.storage_class = e->storage_class ? e->storage_class : "";
	e->pub.mtime = e->last_modified && parse_listing_time(e->last_modified, &t) == 0 ? t : 0;
}

/* Parses one page into l (replacing the last one).  0, or -1 when the
 * body is not a listing. */
static int page_parse(struct hoist_object_lister *l, const char *body, size_t len)
{
	struct page_ctx c;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	c.l = l;
	page_clear(l);
	rc = body && len ? xml_parse(body, len, page_cb, &c, NULL, 0) : -1;
	entry_cleanup(&c.cur);
	if (rc == 0 && !c.root_ok) {
		rc = -1;
	}
	if (rc == 0 && c.encoding && strcmp(c.encoding, "url") == 0) {
		for (i = 0; i < l->count && rc == 0; i++) {
			rc = decode(&l->page[i].key);
		}
		if (rc == 0) {
			rc = decode(&c.token);
		}
	}
	for (i = 0; i < l->count; i++) {
		publish(&l->page[i]);
	}
	free(c.encoding);
	free(l->token);
	l->token = c.token;
	l->more = c.truncated;
	if (rc != 0) {
		page_clear(l);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- lister */

static hoist_status fetch_page(struct hoist_object_lister *l, struct hoist_result *res)
{
	struct op_spec s = { "ListObjectsV2", "GET", l->bucket, NULL, { { NULL, NULL } }, 0 };
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
	if (page_parse(l, r->body.data, r->body.len) < 0) {
		request_free(r);
		l->more = 0;
		return result_fail(res, HOIST_E_SERVER, "ListObjectsV2", "unreadable ListObjectsV2 response");
	}
	request_free(r);
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
	page_clear(l);
	free(l->page);
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
	const struct entry *e;

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
	while (l->next == l->count && l->more) {
		st = fetch_page(l, &r);
		if (st != HOIST_OK)
			goto out;
	}
	if (l->next == l->count)
		goto out; /* the end */
	e = &l->page[l->next++];
	if (l->last_key && strcmp(e->key, l->last_key) <= 0) {
		l->more = 0;
		l->next = l->count;
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
	struct op_spec s = { "HeadObject", "HEAD", bucket, key, { { NULL, NULL } }, 0 };
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
