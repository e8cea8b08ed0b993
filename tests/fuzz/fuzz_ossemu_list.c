/*
 * fuzz_ossemu_list.c - libFuzzer target for ossemu's listings: the sorted
 * key index (bench/ossemu/keyindex.c) and the paging over it
 * (store_list.c store_object_list), against a slow reference written here.
 *
 * Input: one field per line; bytes are taken as they are (0xFF, UTF-8, '/'
 * and all), "\n" cannot occur inside a field.
 *   "k KEY"     put an object KEY          "x KEY"  delete KEY
 *   "p PREFIX"  the listing's prefix       "d DELIM" its delimiter
 *   "m N"       max items per page (0..1000; default 3)
 *   "l"         list now (also done once at the end)
 * The store is the real one, in --discard mode.
 *
 * Checked at every listing, beyond "no crash, no leak, no UB": paging
 * from the start, each page resuming after the previous one's last item
 * (as V1 NextMarker and V2 continuation tokens do), until a page is not
 * truncated, yields exactly the reference listing: the keys that start with
 * the prefix in byte order (strcmp), each key with the delimiter after the
 * prefix rolled into its common prefix, listed once; every page holds at
 * most N items and only the last is not truncated; max 0 lists nothing.
 */
// fuzz-sources: bench/ossemu/store.c bench/ossemu/store_upload.c bench/ossemu/store_list.c
// fuzz-sources: bench/ossemu/keyindex.c bench/ossemu/errors.c bench/ossemu/map.c
// fuzz-sources: bench/ossemu/persist.c bench/ossemu/recover.c bench/ossemu/objopt.c
// fuzz-sources: bench/ossemu/kv.c bench/ossemu/amzsum.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define MAXKEYS 512

static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

static char bucket_name[] = "bkt";
static char *buckets[1] = { bucket_name };
static struct ossemu_config cfg;
static struct store *store;

/* ---- the reference ------------------------------------------------------------ */

struct keyset {
	char *k[MAXKEYS];
	size_t n;
};

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void set_put(struct keyset *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->k[i], key) == 0)
			return;
	}
	if (s->n < MAXKEYS) {
		s->k[s->n] = strdup(key);
		check(s->k[s->n] != NULL);
		s->n++;
	}
}

static void set_del(struct keyset *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->k[i], key) == 0) {
			free(s->k[i]);
			s->k[i] = s->k[--s->n];
			return;
		}
	}
}

/* The whole listing, items as "K:key" or "P:prefix", in order. */
static size_t reference(struct keyset *s, const char *prefix, const char *delim, char **out)
{
	size_t plen = strlen(prefix), n = 0;

	qsort(s->k, s->n, sizeof(*s->k), cmp);
	for (size_t i = 0; i < s->n; i++) {
		const char *k = s->k[i], *d;
		size_t len;
		char *item;

		if (strncmp(k, prefix, plen) != 0)
			continue;
		d = delim && *delim ? strstr(k + plen, delim) : NULL;
		len = d ? (size_t)(d - k) + strlen(delim) : strlen(k);
		item = malloc(len + 3);
		check(item != NULL);
		item[0] = d ? 'P' : 'K';
		item[1] = ':';
		memcpy(item + 2, k, len);
		item[len + 2] = '\0';
		if (n && strcmp(out[n - 1], item) == 0) {
			free(item); /* the same common prefix as the key before */
			continue;
		}
		out[n++] = item;
	}
	return n;
}

/* ---- the check ------------------------------------------------------------------ */

static void list_and_compare(struct keyset *s, const char *prefix, const char *delim,
			     unsigned max)
{
	char *want[MAXKEYS];
	size_t nwant = reference(s, prefix, delim, want), got = 0;
	char *after = NULL;
	int pages = 0;

	for (;;) {
		struct list_query q = { prefix, delim, after, max };
		struct list_page pg;

		check(store_object_list(store, "bkt", &q, &pg) == E_OK);
		check(pg.n <= max);
		for (size_t i = 0; i < pg.n; i++) {
			const struct list_item *it = &pg.items[i];

			check(got < nwant && want[got][0] == (it->is_prefix ? 'P' : 'K') &&
			      strcmp(want[got] + 2, it->key) == 0);
			got++;
		}
		check(!pg.truncated || (pg.n > 0 && pg.next && strcmp(pg.next, pg.items[pg.n - 1].key) == 0));
		free(after);
		after = pg.truncated ? strdup(pg.next) : NULL;
		list_page_cleanup(&pg);
		if (!after)
			break;
		check(++pages <= MAXKEYS + 1);
	}
	check(got == (max == 0 ? 0 : nwant));
	for (size_t i = 0; i < nwant; i++)
		free(want[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keyset set;
	char *copy = malloc(size + 1), *line, *next;
	char prefix[256] = "", delim[16] = "";
	unsigned max = 3;
	char err[256];

	if (!copy)
		return 0;
	if (!store) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.discard = 1;
		cfg.buckets = buckets;
		cfg.nbuckets = 1;
		store = store_open(&cfg, err, sizeof(err));
		check(store != NULL);
	}
	memset(&set, 0, sizeof(set));
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (line = copy; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == 'l' && !line[1]) {
			list_and_compare(&set, prefix, delim, max);
			continue;
		}
		if (!line[0] || line[1] != ' ')
			continue;
		if (line[0] == 'k' && line[2] && set.n < MAXKEYS) {
			struct obj_info o;

			memset(&o, 0, sizeof(o));
			check(store_object_put(store, "bkt", line + 2, &o, NULL, 0) == E_OK);
			set_put(&set, line + 2);
		} else if (line[0] == 'x') {
			check(store_object_delete(store, "bkt", line + 2) == E_OK);
			set_del(&set, line + 2);
		} else if (line[0] == 'p') {
			snprintf(prefix, sizeof(prefix), "%s", line + 2);
		} else if (line[0] == 'd') {
			snprintf(delim, sizeof(delim), "%s", line + 2);
		} else if (line[0] == 'm') {
			max = (unsigned)strtoul(line + 2, NULL, 10) % 1001;
		}
	}
	list_and_compare(&set, prefix, delim, max);
	/* Empty the bucket for the next input. */
	for (size_t i = 0; i < set.n; i++) {
		check(store_object_delete(store, "bkt", set.k[i]) == E_OK);
		free(set.k[i]);
	}
	{
		struct list_query q = { "", NULL, NULL, 10 };
		struct list_page pg;

		check(store_object_list(store, "bkt", &q, &pg) == E_OK && pg.n == 0);
		list_page_cleanup(&pg);
	}
	free(copy);
	return 0;
}
