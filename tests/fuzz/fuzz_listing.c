/*
 * fuzz_listing.c - libFuzzer target for the ListObjectsV2 page parser
 * (engine/listing.c), which reads what a server (or anything posing as
 * one) sends when hoist cp -r --skip-existing merges a tree with a
 * listing.
 *
 * Input: the body, parsed twice into the same page (as the lister does
 * page after page): first the text before the first NUL byte, then the
 * rest.
 *
 * Checked beyond "no crash, no leak, no UB": the return value is 0 or -1;
 * a failed parse leaves the page empty (no entries, not truncated, no
 * token); a page that parses holds exactly as many entries as the document
 * has <ListBucketResult><Contents> elements (counted by a separate
 * xml_parse pass), never more than LISTING_MAX_ENTRIES, and every string
 * handed out is NUL-terminated and no longer than the body (decoding and
 * entities only shrink), with the public view pointing at the entry's own
 * strings.
 */
// fuzz-sources: engine/listing.c engine/response.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "listing.h"
#include "xml.h"

static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

static int count_cb(void *ud, enum xml_event ev, const char *path, const char *name,
		    const char *text, size_t len)
{
	size_t *n = ud;

	(void)name;
	(void)text;
	(void)len;
	/* An object, or a common prefix (listing.c makes each an entry). */
	if (ev == XML_EV_END && (strcmp(path, "ListBucketResult/Contents") == 0 ||
				 strcmp(path, "ListBucketResult/CommonPrefixes/Prefix") == 0)) {
		(*n)++;
	}
	return 0;
}

static void one(struct listing_page *p, const char *body, size_t len)
{
	size_t i, want = 0;
	int rc = listing_parse_page(p, body, len);

	check(rc == 0 || rc == -1);
	if (rc < 0) {
		check(p->count == 0 && !p->truncated && !p->next_token);
		return;
	}
	check(xml_parse(body, len, count_cb, &want, NULL, 0) == 0);
	check(p->count == want && p->count <= LISTING_MAX_ENTRIES);
	check(!p->next_token || strlen(p->next_token) <= len);
	for (i = 0; i < p->count; i++) {
		const struct listing_entry *e = &p->entries[i];

		check(e->key && e->pub.key == e->key && strlen(e->key) <= len);
		if (e->pub.is_prefix) {
			check(e->pub.size == 0);
			continue;
		}
		check(e->pub.etag && strlen(e->pub.etag) <= len);
		check(e->pub.last_modified && strlen(e->pub.last_modified) <= len);
		check(e->pub.storage_class && strlen(e->pub.storage_class) <= len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const char *nul = memchr(body, '\0', size);
	size_t first = nul ? (size_t)(nul - body) : size;
	struct listing_page p;

	memset(&p, 0, sizeof(p));
	one(&p, body, first);
	if (nul) {
		one(&p, nul + 1, size - first - 1);
	}
	listing_page_cleanup(&p);
	return 0;
}
