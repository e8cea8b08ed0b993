/*
 * keyindex.c - the sorted key index (see keyindex.h).
 *
 * Owns: the chunks and copies of the keys.  Each chunk holds up to
 * CHUNK_MAX keys in order, the chunks are in order of their keys, and no
 * chunk is empty.  A full chunk is split in two halves before an insert;
 * an emptied chunk is dropped.
 *
 * CHUNK_MAX trades the memmove inside a chunk (at most CHUNK_MAX pointers,
 * 4 KiB at 512) against the memmove of the chunk array (n / CHUNK_MAX * 2
 * pointers per split): 512 keeps both a few microseconds at a million keys.
 *
 * Threading: none (store.h's lock).
 */
#include "keyindex.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_MAX 512

struct kchunk {
	size_t n;
	char *keys[CHUNK_MAX];
};

static const char *last_key(const struct kchunk *c)
{
	return c->keys[c->n - 1];
}

/* The first chunk whose last key is >= key (> key with after), or
 * nchunks when there is none. */
static size_t find_chunk(const struct keyindex *ix, const char *key, int after)
{
	size_t lo = 0, hi = ix->nchunks;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(last_key(ix->chunks[mid]), key);

		if (c < 0 || (after && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first slot in c whose key is >= key (> key with after). */
static size_t find_slot(const struct kchunk *c, const char *key, int after)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(c->keys[mid], key);

		if (r < 0 || (after && r == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int chunks_reserve(struct keyindex *ix)
{
	struct kchunk **v;
	size_t cap;

	if (ix->nchunks < ix->cap)
		return 0;
	cap = ix->cap ? ix->cap * 2 : 16;
	v = realloc(ix->chunks, cap * sizeof(*v));
	if (!v)
		return -1;
	ix->chunks = v;
	ix->cap = cap;
	return 0;
}

/* Splits chunk ci into two halves (ci and ci + 1). */
static int split(struct keyindex *ix, size_t ci)
{
	struct kchunk *a = ix->chunks[ci], *b;
	size_t half = a->n / 2;

	if (chunks_reserve(ix) < 0)
		return -1;
	b = malloc(sizeof(*b));
	if (!b)
		return -1;
	b->n = a->n - half;
	memcpy(b->keys, a->keys + half, b->n * sizeof(*b->keys));
	a->n = half;
	memmove(&ix->chunks[ci + 2], &ix->chunks[ci + 1],
		(ix->nchunks - ci - 1) * sizeof(*ix->chunks));
	ix->chunks[ci + 1] = b;
	ix->nchunks++;
	return 0;
}

int keyindex_insert(struct keyindex *ix, const char *key)
{
	size_t ci, si;
	struct kchunk *c;
	char *copy;

	if (ix->nchunks == 0) {
		/* The first key: a chunk of its own (chunks are never empty). */
		if (chunks_reserve(ix) < 0)
			return -1;
		c = malloc(sizeof(*c));
		copy = c ? strdup(key) : NULL;
		if (!copy) {
			free(c);
			return -1;
		}
		c->n = 1;
		c->keys[0] = copy;
		ix->chunks[ix->nchunks++] = c;
		ix->n = 1;
		return 0;
	}
	/* Past every chunk's last key: it goes at the end of the last one. */
	ci = find_chunk(ix, key, 0);
	if (ci == ix->nchunks)
		ci--;
	c = ix->chunks[ci];
	si = find_slot(c, key, 0);
	if (si < c->n && strcmp(c->keys[si], key) == 0)
		return 1;
	if (c->n == CHUNK_MAX) {
		if (split(ix, ci) < 0)
			return -1;
		if (si > ix->chunks[ci]->n) {
			si -= ix->chunks[ci]->n;
			ci++;
		}
		c = ix->chunks[ci];
	}
	copy = strdup(key);
	if (!copy)
		return -1;
	memmove(&c->keys[si + 1], &c->keys[si], (c->n - si) * sizeof(*c->keys));
	c->keys[si] = copy;
	c->n++;
	ix->n++;
	return 0;
}

void keyindex_remove(struct keyindex *ix, const char *key)
{
	size_t ci = find_chunk(ix, key, 0), si;
	struct kchunk *c;

	if (ci == ix->nchunks)
		return;
	c = ix->chunks[ci];
	si = find_slot(c, key, 0);
	if (si == c->n || strcmp(c->keys[si], key) != 0)
		return;
	free(c->keys[si]);
	memmove(&c->keys[si], &c->keys[si + 1], (c->n - si - 1) * sizeof(*c->keys));
	c->n--;
	ix->n--;
	if (c->n == 0) {
		free(c);
		memmove(&ix->chunks[ci], &ix->chunks[ci + 1],
			(ix->nchunks - ci - 1) * sizeof(*ix->chunks));
		ix->nchunks--;
	}
}

void keyindex_seek(const struct keyindex *ix, const char *key, int after, struct keyindex_it *it)
{
	it->c = find_chunk(ix, key, after);
	it->i = it->c < ix->nchunks ? find_slot(ix->chunks[it->c], key, after) : 0;
}

const char *keyindex_next(const struct keyindex *ix, struct keyindex_it *it)
{
	const char *k;

	if (it->c >= ix->nchunks)
		return NULL;
	k = ix->chunks[it->c]->keys[it->i];
	if (++it->i == ix->chunks[it->c]->n) {
		it->c++;
		it->i = 0;
	}
	return k;
}

void keyindex_cleanup(struct keyindex *ix)
{
	for (size_t c = 0; c < ix->nchunks; c++) {
		for (size_t i = 0; i < ix->chunks[c]->n; i++)
			free(ix->chunks[c]->keys[i]);
		free(ix->chunks[c]);
	}
	free(ix->chunks);
	ix->chunks = NULL;
	ix->nchunks = ix->cap = ix->n = 0;
}
