/*
 * store_list.c - one page of a bucket listing (ListObjects V1 and V2),
 * built under the store lock from the bucket's key index.
 *
 * A page starts at the first key after the marker (or at the prefix) and
 * walks the index in byte order while keys start with the prefix.  With a
 * delimiter, a key with the delimiter after the prefix stands for its
 * common prefix, which is listed once and then jumped over: the walk seeks
 * to the first key past every key with that prefix, so a directory of a
 * million keys costs one seek, not a million steps.  A common prefix equal
 * to the marker is the previous page's last item and is jumped over too.
 * So a page costs O(page x log n), whatever the bucket holds.
 *
 * Threading: store->mu held (taken here).
 */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* The least string greater than every string that starts with p, into out
 * (strlen(p) + 1 bytes): p with its last byte below 0xFF incremented and
 * what follows it dropped.  0, or -1 when there is none (p is all 0xFF). */
static int prefix_successor(const char *p, size_t n, char *out)
{
	while (n > 0 && (unsigned char)p[n - 1] == 0xFF)
		n--;
	if (n == 0)
		return -1;
	memcpy(out, p, n - 1);
	out[n - 1] = (char)((unsigned char)p[n - 1] + 1);
	out[n] = '\0';
	return 0;
}

static int add_item(struct list_page *pg, size_t cap, const char *key, size_t len,
		    const struct object *o)
{
	struct list_item *it;

	if (pg->n == cap)
		return -1;
	it = &pg->items[pg->n];
	memset(it, 0, sizeof(*it));
	it->key = strndup(key, len);
	if (!it->key)
		return -1;
	if (o) {
		it->size = o->info.size;
		memcpy(it->etag, o->info.etag, sizeof(it->etag));
		it->mtime = o->info.mtime;
		it->nparts = o->info.nparts;
		it->sclass = o->info.opt.sclass;
	} else {
		it->is_prefix = 1;
	}
	pg->n++;
	return 0;
}

/* Walks b from the query's start; fills pg.  0 or -1 (ENOMEM). */
static int walk_locked(struct bucket *b, const struct list_query *q, struct list_page *pg)
{
	const char *prefix = q->prefix ? q->prefix : "";
	const char *delim = q->delimiter && *q->delimiter ? q->delimiter : NULL;
	size_t plen = strlen(prefix), dlen = delim ? strlen(delim) : 0;
	struct keyindex_it it;
	const char *k;
	char *succ = NULL;
	int r = 0;

	if (q->after && *q->after && strcmp(q->after, prefix) >= 0)
		keyindex_seek(&b->order, q->after, 1, &it);
	else
		keyindex_seek(&b->order, prefix, 0, &it);
	for (k = keyindex_next(&b->order, &it); k; k = keyindex_next(&b->order, &it)) {
		const char *d;
		size_t cplen;

		if (strncmp(k, prefix, plen) != 0)
			break; /* keys with the prefix are contiguous: past them */
		d = delim ? strstr(k + plen, delim) : NULL;
		if (!d) {
			if (pg->n == q->max) {
				pg->truncated = 1;
				break;
			}
			r = add_item(pg, q->max, k, strlen(k), map_get(&b->objects, k));
			if (r < 0)
				break;
			continue;
		}
		cplen = (size_t)(d - k) + dlen;
		if (!(q->after && strlen(q->after) == cplen && memcmp(q->after, k, cplen) == 0)) {
			if (pg->n == q->max) {
				pg->truncated = 1;
				break;
			}
			r = add_item(pg, q->max, k, cplen, NULL);
			if (r < 0)
				break;
		}
		/* Jump past every key under this common prefix. */
		free(succ);
		succ = malloc(cplen + 1);
		if (!succ) {
			r = -1;
			break;
		}
		if (prefix_successor(k, cplen, succ) < 0)
			break; /* nothing sorts after it */
		keyindex_seek(&b->order, succ, 0, &it);
	}
	free(succ);
	return r;
}

enum err_id store_object_list(struct store *s, const char *bucket, const struct list_query *q,
			      struct list_page *pg)
{
	struct bucket *b;
	enum err_id e = E_OK;

	memset(pg, 0, sizeof(*pg));
	pg->items = calloc((size_t)q->max + 1, sizeof(*pg->items));
	if (!pg->items)
		return E_INTERNAL;
	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b)
		e = E_NO_SUCH_BUCKET;
	else if (q->max > 0 && walk_locked(b, q, pg) < 0)
		e = E_INTERNAL;
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK) {
		list_page_cleanup(pg);
		return e;
	}
	if (pg->truncated && pg->n)
		pg->next = strdup(pg->items[pg->n - 1].key);
	if (pg->truncated && pg->n && !pg->next) {
		list_page_cleanup(pg);
		return E_INTERNAL;
	}
	return E_OK;
}

void list_page_cleanup(struct list_page *pg)
{
	for (size_t i = 0; pg->items && i < pg->n; i++)
		free(pg->items[i].key);
	free(pg->items);
	free(pg->next);
	memset(pg, 0, sizeof(*pg));
}
