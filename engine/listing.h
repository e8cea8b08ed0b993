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
	char *key;                 /* decoded; a key with a NUL byte: its shown
	                              form (RFC 3986, NUL as %00), pub.key_has_nul */
	char *raw;                 /* a key with a NUL byte: its decoded bytes;
	                              else NULL (key holds them) */
	size_t len;                /* the decoded key's length in bytes */
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
 * number, a key does not decode (a key whose decoding holds a NUL byte
 * is kept, flagged key_has_nul: never truncated into another key), there are more than LISTING_MAX_ENTRIES
 * entries, or memory ran out; p is then empty. */
int listing_parse_page(struct listing_page *p, const char *body, size_t len);
void listing_page_cleanup(struct listing_page *p);

/* Byte order of two decoded keys (NULs included): <0, 0, >0 as memcmp. */
int listing_key_cmp(const char *a, size_t alen, const char *b, size_t blen);
/* The decoded bytes of e's key (e->raw, or e->key). */
const char *listing_key_bytes(const struct listing_entry *e);

/* "2026-12-03T07:34:33.000Z" (fraction optional) into Unix seconds.
 * 0, or -1 when it is not that shape. */
int listing_parse_time(const char *s, int64_t *out);

#endif
