/*
 * list.c - ListObjects (V1, GET /) and ListObjectsV2 (GET /?list-type=2):
 * parameters, paging tokens and the result document, in both dialects
 * (docs/oss-get-list-delete.md §4).  The page itself is the store's
 * (store_list.c), in byte order of keys.
 *
 *  - max-keys: OSS defaults to 100 and refuses more than 1000 (400
 *    InvalidArgument); S3 defaults to 1000 and serves at most that.
 *  - V1 pages by marker: NextMarker is the page's last item (a key, or a
 *    common prefix); OSS sends it on every truncated page, S3 only when a
 *    delimiter was given (clients resume from the last Key otherwise).
 *  - V2 pages by an opaque continuation token (here the hex of the last
 *    item) or from start-after; a token wins over start-after; KeyCount
 *    counts Contents and CommonPrefixes.
 *  - encoding-type=url encodes Key, Prefix, Delimiter, Marker, NextMarker,
 *    StartAfter and CommonPrefixes/Prefix with the RFC 3986 unreserved set
 *    (so '/' and '+' too, which Go v2's QueryUnescape needs), and says so
 *    in <EncodingType>.
 *  - Contents carry Type (OSS), the stored StorageClass and, in V1 and in
 *    V2 with fetch-owner=true, the Owner.
 *
 * Threading: runs on the thread that owns the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"
#include "xml.h"

#define LIST_MAX 1000u
#define OSS_LIST_DEFAULT 100u

/* max-keys: -1 (bad value, answered) or 0 with *out set. */
static int parse_max(struct req *rq, unsigned *out)
{
	const char *v = req_query(rq, "max-keys", NULL);
	uint64_t n;

	*out = rq->dialect == DIALECT_OSS ? OSS_LIST_DEFAULT : LIST_MAX;
	if (!v || !*v)
		return 0;
	if (parse_u64(v, &n) < 0 || (rq->dialect == DIALECT_OSS && n > LIST_MAX)) {
		struct err_extra ex = { .arg_name = "max-keys", .arg_value = v };

		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return -1;
	}
	*out = n > LIST_MAX ? LIST_MAX : (unsigned)n;
	return 0;
}

static int owner(struct buf *x)
{
	return buf_puts(x, "<Owner><ID>ossemu</ID><DisplayName>ossemu</DisplayName></Owner>");
}

static int contents(struct buf *x, const struct req *rq, const struct list_item *it,
		    int with_owner)
{
	struct obj_opts o;
	char when[32];
	int r = 0;

	memset(&o, 0, sizeof(o));
	o.sclass = it->sclass;
	iso8601_ms(when, it->mtime);
	r |= buf_puts(x, "<Contents>");
	r |= xml_key_append(x, rq, "Key", it->key);
	r |= xml_elem_append(x, "LastModified", when);
	r |= buf_printf(x, "<ETag>\"%s\"</ETag>", it->etag);
	if (rq->dialect == DIALECT_OSS)
		r |= buf_printf(x, "<Type>%s</Type>", it->nparts ? "Multipart" : "Normal");
	r |= buf_printf(x, "<Size>%llu</Size>", (unsigned long long)it->size);
	r |= xml_elem_append(x, "StorageClass", objopt_class_name(&o, rq->dialect));
	if (with_owner)
		r |= owner(x);
	r |= buf_puts(x, "</Contents>");
	return r;
}

/* The key a V2 continuation token stands for (malloc'd), or NULL with the
 * error answered. */
static char *token_key(struct req *rq, const char *token)
{
	size_t tl = strlen(token);
	char *k = calloc(tl / 2 + 1, 1);

	if (!k || tl % 2 || hex_decode((uint8_t *)k, token, tl / 2) < 0 || strlen(k) != tl / 2) {
		struct err_extra ex = { .arg_name = "continuation-token", .arg_value = token };

		free(k);
		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return NULL;
	}
	return k;
}

/* The page's items, then the elements that describe it. */
static int document(struct buf *x, struct req *rq, const struct list_query *q,
		    const struct list_page *pg, int v2, const char *token, const char *start_after)
{
	const char *fo = req_query(rq, "fetch-owner", NULL);
	int with_owner = !v2 || (fo && strcmp(fo, "true") == 0);
	int r = 0;

	r |= buf_printf(x, "<ListBucketResult%s>", xml_ns(rq));
	r |= xml_elem_append(x, "Name", rq->bucket);
	r |= xml_key_append(x, rq, "Prefix", q->prefix);
	if (v2) {
		r |= buf_printf(x, "<KeyCount>%zu</KeyCount>", pg->n);
		if (token)
			r |= xml_elem_append(x, "ContinuationToken", token);
		if (start_after)
			r |= xml_key_append(x, rq, "StartAfter", start_after);
		if (pg->next) {
			char *hex = malloc(strlen(pg->next) * 2 + 1);

			r |= !hex;
			if (hex) {
				hex_encode(hex, (const uint8_t *)pg->next, strlen(pg->next), 0);
				r |= xml_elem_append(x, "NextContinuationToken", hex);
			}
			free(hex);
		}
	} else {
		r |= xml_key_append(x, rq, "Marker", q->after ? q->after : "");
		if (pg->next && (rq->dialect == DIALECT_OSS || q->delimiter))
			r |= xml_key_append(x, rq, "NextMarker", pg->next);
	}
	r |= buf_printf(x, "<MaxKeys>%u</MaxKeys>", q->max);
	if (q->delimiter)
		r |= xml_key_append(x, rq, "Delimiter", q->delimiter);
	if (rq->encoding_url)
		r |= buf_puts(x, "<EncodingType>url</EncodingType>");
	r |= buf_printf(x, "<IsTruncated>%s</IsTruncated>", pg->truncated ? "true" : "false");
	for (size_t i = 0; i < pg->n; i++) {
		if (pg->items[i].is_prefix)
			continue;
		r |= contents(x, rq, &pg->items[i], with_owner);
	}
	for (size_t i = 0; i < pg->n; i++) {
		if (!pg->items[i].is_prefix)
			continue;
		r |= buf_puts(x, "<CommonPrefixes>");
		r |= xml_key_append(x, rq, "Prefix", pg->items[i].key);
		r |= buf_puts(x, "</CommonPrefixes>");
	}
	r |= buf_puts(x, "</ListBucketResult>");
	return r;
}

void op_list_objects_finish(struct req *rq)
{
	const char *lt = req_query(rq, "list-type", NULL);
	int v2 = lt && strcmp(lt, "2") == 0;
	const char *token = NULL, *start_after = NULL;
	char *tkey = NULL;
	struct list_query q;
	struct list_page pg;
	struct buf x = BUF_INIT;
	enum err_id e;

	memset(&q, 0, sizeof(q));
	memset(&pg, 0, sizeof(pg));
	q.prefix = req_query(rq, "prefix", NULL);
	if (!q.prefix)
		q.prefix = "";
	q.delimiter = req_query(rq, "delimiter", NULL);
	if (q.delimiter && !*q.delimiter)
		q.delimiter = NULL;
	if (parse_max(rq, &q.max) < 0)
		return;
	if (v2) {
		token = req_query(rq, "continuation-token", NULL);
		start_after = req_query(rq, "start-after", NULL);
		if (token && *token) {
			tkey = token_key(rq, token);
			if (!tkey)
				return;
			q.after = tkey;
		} else {
			q.after = start_after;
		}
	} else {
		q.after = req_query(rq, "marker", NULL);
	}
	e = store_object_list(rq->srv->store, rq->bucket, &q, &pg);
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		goto out;
	}
	if (document(&x, rq, &q, &pg, v2, token, start_after))
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
out:
	buf_free(&x);
	list_page_cleanup(&pg);
	free(tkey);
}
