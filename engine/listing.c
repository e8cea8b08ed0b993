/*
 * listing.c - one ListObjectsV2 page into entries (see listing.h).
 *
 * A state machine over xml.h's (path, text) events, as response.c's
 * parsers are: the text of the elements it knows, by full path; every
 * other element (Owner, Type, RestoreInfo...) costs nothing.  A listing
 * asked with a delimiter also names CommonPrefixes: each becomes an entry
 * flagged is_prefix, and the page is sorted so that they interleave with
 * the keys in byte order (the servers send the two lists apart).  Keys and the token are decoded only when the document says
 * <EncodingType>url</EncodingType> (OSS and S3 encode only when asked and
 * say so), after the whole document parsed; a key whose decoding holds
 * a NUL byte is kept with its bytes and flagged (see decode_key).
 *
 * Layer: runtime.
 * Threading: pure functions.
 */
#include "listing.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "checksum.h"
#include "response.h"
#include "sign.h"
#include "xml.h"

static void entry_cleanup(struct listing_entry *e)
{
	free(e->key);
	free(e->raw);
	free(e->etag);
	free(e->last_modified);
	free(e->storage_class);
	memset(e, 0, sizeof(*e));
}

static void page_clear(struct listing_page *p)
{
	size_t i;

	for (i = 0; i < p->count; i++) {
		entry_cleanup(&p->entries[i]);
	}
	p->count = 0;
	p->truncated = 0;
	free(p->next_token);
	p->next_token = NULL;
}

void listing_page_cleanup(struct listing_page *p)
{
	page_clear(p);
	free(p->entries);
	memset(p, 0, sizeof(*p));
}

int listing_parse_time(const char *s, int64_t *out)
{
	char compact[17];

	/* The signer parses the compact ISO 8601 form; listings write the
	 * extended one. */
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':' || s[strlen(s) - 1] != 'Z' || (s[19] != 'Z' && s[19] != '.'))
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

struct page_ctx {
	struct listing_page *p;
	struct listing_entry cur;
	int in_contents;
	int have_size;
	int root_ok;
	int prefixes;              /* a CommonPrefixes came: sort the page */
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

static int push_entry(struct page_ctx *c)
{
	struct listing_page *p = c->p;

	if (!c->cur.key || !c->have_size)
		return 3;
	if (p->count == p->cap) {
		size_t ncap = p->cap ? p->cap * 2 : 64;
		struct listing_entry *ne;

		if (p->count >= LISTING_MAX_ENTRIES)
			return 3;
		ne = realloc(p->entries, ncap * sizeof(*ne));
		if (!ne)
			return 2;
		p->entries = ne;
		p->cap = ncap;
	}
	p->entries[p->count++] = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	return 0;
}

/* A <CommonPrefixes><Prefix>: an entry of size 0 flagged is_prefix. */
static int push_prefix(struct page_ctx *c, const char *text, size_t len)
{
	if (len == 0)
		return 3;
	entry_cleanup(&c->cur);
	if (setdup(&c->cur.key, text, len))
		return 2;
	c->cur.pub.is_prefix = 1;
	c->prefixes = 1;
	c->have_size = 1;
	return push_entry(c);
}

int listing_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

const char *listing_key_bytes(const struct listing_entry *e)
{
	return e->raw ? e->raw : e->key;
}

static int by_key(const void *a, const void *b)
{
	const struct listing_entry *x = a, *y = b;

	return listing_key_cmp(listing_key_bytes(x), x->len, listing_key_bytes(y), y->len);
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
	static const char root[] = "ListBucketResult";
	const size_t rl = sizeof(root) - 1;
	struct page_ctx *c = ud;

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
		c->p->truncated = len == 4 && memcmp(text, "true", 4) == 0;
	} else if (strcmp(path, "NextContinuationToken") == 0) {
		return setdup(&c->p->next_token, text, len) ? 2 : 0;
	} else if (strcmp(path, "EncodingType") == 0) {
		return setdup(&c->encoding, text, len) ? 2 : 0;
	} else if (strcmp(path, "CommonPrefixes/Prefix") == 0) {
		return push_prefix(c, text, len);
	} else if (c->in_contents && strcmp(path, "Contents") == 0) {
		c->in_contents = 0;
		return push_entry(c);
	} else if (c->in_contents && strncmp(path, "Contents/", 9) == 0 && !strchr(path + 9, '/')) {
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

/* n decoded bytes holding NULs, shown unambiguously: each run between
 * NULs RFC 3986-encoded ('/' kept), each NUL as %00. */
static char *shown_form(const char *d, size_t n)
{
	struct buf b = { 0 };
	size_t i = 0;
	int rc = 0;

	while (rc == 0) {
		size_t run = strnlen(d + i, n - i);
		char *enc = sign_uri_encode(d + i, 1);

		rc = enc ? buf_append(&b, enc, strlen(enc)) : -1;
		free(enc);
		i += run;
		if (i >= n)
			break;
		if (rc == 0)
			rc = buf_append(&b, "%00", 3);
		i++;
	}
	if (rc != 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

/* A key that decodes to bytes with a NUL is kept, flagged, never cut at
 * the NUL: "a%00b" truncated would be the key "a", another object (a
 * download would write it, rm would delete it). */
static int decode_key(struct listing_entry *e)
{
	size_t n = 0;
	char *d = url_decode_bytes(e->key, &n);

	if (!d)
		return -1;
	free(e->key);
	e->key = d;
	e->len = n;
	if (!memchr(d, '\0', n))
		return 0;
	e->raw = d;
	e->key = shown_form(d, n);
	e->pub.key_has_nul = 1;
	return e->key ? 0 : -1;
}

/* The public view of an entry, once its strings are final. */
static void publish(struct listing_entry *e)
{
	int64_t t = 0;

	e->pub.key = e->key;
	e->pub.etag = e->etag ? e->etag : "";
	e->pub.last_modified = e->last_modified ? e->last_modified : "";
	e->pub.storage_class = e->storage_class ? e->storage_class : "";
	e->pub.mtime = e->last_modified && listing_parse_time(e->last_modified, &t) == 0 ? t : 0;
}

int listing_parse_page(struct listing_page *p, const char *body, size_t len)
{
	struct page_ctx c;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	c.p = p;
	page_clear(p);
	rc = body && len ? xml_parse(body, len, page_cb, &c, NULL, 0) : -1;
	entry_cleanup(&c.cur);
	for (i = 0; i < p->count; i++) {
		p->entries[i].len = strlen(p->entries[i].key);
	}
	if (rc == 0 && !c.root_ok) {
		rc = -1;
	}
	if (rc == 0 && c.encoding && strcmp(c.encoding, "url") == 0) {
		for (i = 0; i < p->count && rc == 0; i++) {
			rc = decode_key(&p->entries[i]);
		}
		if (rc == 0) {
			rc = decode(&p->next_token);
		}
	}
	free(c.encoding);
	if (rc == 0 && c.prefixes) {
		qsort(p->entries, p->count, sizeof(*p->entries), by_key);
	}
	if (rc != 0) {
		page_clear(p);
		return -1;
	}
	for (i = 0; i < p->count; i++) {
		publish(&p->entries[i]);
	}
	return 0;
}
