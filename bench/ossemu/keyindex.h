/*
 * keyindex.h - a bucket's keys in byte order, for listings.
 *
 * The store finds objects by hash (map.h); a listing needs them in order
 * from a marker.  Sorting the whole bucket per page made a 100,000-key
 * listing cost O(n log n) per 1,000 keys; this keeps the order instead: a
 * sorted array of sorted chunks (a B+ tree of height two), so an insert or
 * a removal moves at most one chunk's pointers and a seek is two binary
 * searches.
 *
 * Order is strcmp's, i.e. unsigned bytes: "a-b" < "a/b" < "ab", and UTF-8
 * sorts by code point, as OSS and S3 list.
 *
 * Threading: none; the store's lock guards it.
 */
#ifndef OSSEMU_KEYINDEX_H
#define OSSEMU_KEYINDEX_H

#include <stddef.h>

struct kchunk;

struct keyindex {
	struct kchunk **chunks;
	size_t nchunks, cap;
	size_t n;              /* keys in all */
};

#define KEYINDEX_INIT { NULL, 0, 0, 0 }

/* A position: chunk c, slot i. */
struct keyindex_it {
	size_t c, i;
};

/* Adds key (copied).  0, 1 if it was there already, -1 on ENOMEM. */
int keyindex_insert(struct keyindex *ix, const char *key);
/* Removes key if present. */
void keyindex_remove(struct keyindex *ix, const char *key);
/* Positions it at the first key >= key (> key with after set). */
void keyindex_seek(const struct keyindex *ix, const char *key, int after, struct keyindex_it *it);
/* The key at it, then steps past it; NULL at the end.  The string is
 * valid until the index next changes. */
const char *keyindex_next(const struct keyindex *ix, struct keyindex_it *it);
void keyindex_cleanup(struct keyindex *ix);

#endif
