/*
 * listing.h - the parser of one ListObjectsV2 page (private).
 *
 * Owns: ListBucketResult as OSS and S3 send it: the Contents entries
 * (Key, Size, LastModified, ETag, StorageClass), the CommonPrefixes of a
 * listing with a delimiter (entries flagged is_prefix, the page sorted so
 * they stand in byte order among the keys), IsTruncated,
 * NextContinuationToken, and the decoding of keys and token when the
 * document says EncodingType url.  Through xml.h, so hostile input meets
 * the same limits as every other document.  objects.c pages with it.
 *
 * Layer: runtime.
 * Threading: pure functions; a page is owned by its caller.
 */
#ifndef HOIST_LISTING_H
#define HOIST_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

/* The most entries a page may hold: a page is asked for at most 1,000,
 * so a server sending far more is not followed into unbounded memory. */
#define LISTING_MAX_ENTRIES 65536

struct listing_entry {
	struct hoist_object_entry pub; /* points into the strings below */
	char *key;                 /* decoded */
	char *etag;
	char *last_modified;
	char *storage_class;
};

struct listing_page {
	struct listing_entry *entries;
	size_t count, cap;
	int truncated;             /* IsTruncated */
	char *next_token;          /* NextContinuationToken, decoded; NULL: none */
};

/* Parses body into p, replacing what p held.  0, or -1 when the body is
 * not a ListBucketResult, an entry lacks Key or Size, a Size is not a
 * number, a key does not decode, there are more than LISTING_MAX_ENTRIES
 * entries, or memory ran out; p is then empty. */
int listing_parse_page(struct listing_page *p, const char *body, size_t len);
void listing_page_cleanup(struct listing_page *p);

/* "2026-12-03T07:34:33.000Z" (fraction optional) into Unix seconds.
 * 0, or -1 when it is not that shape. */
int listing_parse_time(const char *s, int64_t *out);

#endif
