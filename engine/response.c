/*
 * response.c - response body parsers (see response.h).
 *
 * Each parser is a small state machine over xml.h's (path, text) events: it
 * keeps the text of the elements it knows by their full path and ignores
 * the rest, so extra elements a server adds (EC, RecommendDoc, HostId,
 * StorageClass...) cost nothing.  Every string result is a fresh copy; a
 * partially parsed document is cleaned up before returning an error.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "response.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "checksum.h"
#include "xml.h"

char *url_decode_bytes(const char *s, size_t *len)
{
	int n = 0;
	char *d, *c;

	if (strlen(s) > (size_t)XML_MAX_TEXT)
		return NULL;
	/* curl_easy_unescape ignores its handle since curl 7.82. */
	d = curl_easy_unescape(NULL, s, 0, &n);
	if (!d)
		return NULL;
	c = malloc((size_t)n + 1);
	if (c) {
		memcpy(c, d, (size_t)n + 1);
		*len = (size_t)n;
	}
	curl_free(d);
	return c;
}

char *url_decode(const char *s)
{
	size_t n = 0;
	char *d = url_decode_bytes(s, &n);

	if (d && memchr(d, '\0', n)) {
		free(d);
		return NULL;
	}
	return d;
}

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

static int decode_in_place(char **s)
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

/* ---------------------------------------------------------------- Error */

void error_doc_cleanup(struct error_doc *e)
{
	free(e->code);
	free(e->message);
	free(e->request_id);
	free(e->ec);
	memset(e, 0, sizeof(*e));
}

static int error_field(struct error_doc *e, const char *path, const char *text,
		       size_t len)
{
	if (strcmp(path, "Error/Code") == 0)
		return setdup(&e->code, text, len);
	if (strcmp(path, "Error/Message") == 0)
		return setdup(&e->message, text, len);
	if (strcmp(path, "Error/RequestId") == 0)
		return setdup(&e->request_id, text, len);
	if (strcmp(path, "Error/EC") == 0)
		return setdup(&e->ec, text, len);
	return 0;
}

struct error_ctx {
	struct error_doc *e;
	int root_ok;
	int seen_root;
};

static int error_cb(void *ud, enum xml_event ev, const char *path,
		    const char *name, const char *text, size_t len)
{
	struct error_ctx *c = ud;

	if (ev == XML_EV_START) {
		if (!c->seen_root) {
			c->seen_root = 1;
			c->root_ok = strcmp(path, "Error") == 0;
			if (!c->root_ok)
				return 1;
		}
		return 0;
	}
	return error_field(c->e, path, text, len) ? 2 : 0;
}

int response_parse_error(struct error_doc *e, const char *body, size_t len)
{
	struct error_ctx c = { e, 0, 0 };

	memset(e, 0, sizeof(*e));
	if (!body || len == 0)
		return -1;
	if (xml_parse(body, len, error_cb, &c, NULL, 0) != 0 || !c.root_ok) {
		error_doc_cleanup(e);
		return -1;
	}
	return 0;
}

/* The cap keeps a hostile header from costing more than a body would; a
 * real x-oss-err is a few hundred bytes. */
#define ERR_B64_MAX (64 * 1024)

int response_parse_error_b64(struct error_doc *e, const char *b64)
{
	size_t n = strlen(b64);
	uint8_t *xml;
	long len;
	int rc;

	memset(e, 0, sizeof(*e));
	if (n == 0 || n > ERR_B64_MAX)
		return -1;
	xml = malloc(n / 4 * 3 + 3);
	if (!xml)
		return -1;
	len = base64_decode(xml, b64, n);
	rc = len > 0 ? response_parse_error(e, (const char *)xml, (size_t)len) : -1;
	free(xml);
	return rc;
}

/* ------------------------------------------------------------- Initiate */

void initiate_doc_cleanup(struct initiate_doc *d)
{
	free(d->bucket);
	free(d->key);
	free(d->upload_id);
	free(d->encoding_type);
	memset(d, 0, sizeof(*d));
}

static int initiate_cb(void *ud, enum xml_event ev, const char *path,
		       const char *name, const char *text, size_t len)
{
	struct initiate_doc *d = ud;
	const char *p = "InitiateMultipartUploadResult/";
	size_t pl = strlen(p);

	if (ev == XML_EV_START) {
		return strncmp(path, "InitiateMultipartUploadResult",
			       strlen("InitiateMultipartUploadResult")) == 0 ? 0 : 1;
	}
	if (strncmp(path, p, pl) != 0)
		return 0;
	path += pl;
	if (strcmp(path, "Bucket") == 0)
		return setdup(&d->bucket, text, len) ? 2 : 0;
	if (strcmp(path, "Key") == 0)
		return setdup(&d->key, text, len) ? 2 : 0;
	if (strcmp(path, "UploadId") == 0)
		return setdup(&d->upload_id, text, len) ? 2 : 0;
	if (strcmp(path, "EncodingType") == 0)
		return setdup(&d->encoding_type, text, len) ? 2 : 0;
	return 0;
}

int response_parse_initiate(struct initiate_doc *d, const char *body, size_t len)
{
	memset(d, 0, sizeof(*d));
	if (!body || len == 0 ||
	    xml_parse(body, len, initiate_cb, d, NULL, 0) != 0 ||
	    !d->upload_id || !*d->upload_id)
		goto fail;
	if (d->encoding_type && strcmp(d->encoding_type, "url") == 0 &&
	    decode_in_place(&d->key) < 0)
		goto fail;
	return 0;
fail:
	initiate_doc_cleanup(d);
	return -1;
}

/* ------------------------------------------------------------- Complete */

void complete_doc_cleanup(struct complete_doc *d)
{
	free(d->location);
	free(d->bucket);
	free(d->key);
	free(d->etag);
	free(d->encoding_type);
	free(d->checksum_crc32c);
	free(d->checksum_crc64nvme);
	error_doc_cleanup(&d->err);
	memset(d, 0, sizeof(*d));
}

struct complete_ctx {
	struct complete_doc *d;
	int root; /* 0 unknown, 1 result, 2 error */
};

static int complete_cb(void *ud, enum xml_event ev, const char *path,
		       const char *name, const char *text, size_t len)
{
	struct complete_ctx *c = ud;
	struct complete_doc *d = c->d;
	const char *p = "CompleteMultipartUploadResult/";
	size_t pl = strlen(p);

	if (ev == XML_EV_START) {
		if (c->root == 0) {
			if (strcmp(path, "CompleteMultipartUploadResult") == 0) {
				c->root = 1;
			} else if (strcmp(path, "Error") == 0) {
				c->root = 2;
			} else {
				return 1;
			}
		}
		return 0;
	}
	if (c->root == 2)
		return error_field(&d->err, path, text, len) ? 2 : 0;
	if (strncmp(path, p, pl) != 0)
		return 0;
	path += pl;
	if (strcmp(path, "Location") == 0)
		return setdup(&d->location, text, len) ? 2 : 0;
	if (strcmp(path, "Bucket") == 0)
		return setdup(&d->bucket, text, len) ? 2 : 0;
	if (strcmp(path, "Key") == 0)
		return setdup(&d->key, text, len) ? 2 : 0;
	if (strcmp(path, "ETag") == 0)
		return setdup(&d->etag, text, len) ? 2 : 0;
	if (strcmp(path, "EncodingType") == 0)
		return setdup(&d->encoding_type, text, len) ? 2 : 0;
	if (strcmp(path, "ChecksumCRC32C") == 0)
		return setdup(&d->checksum_crc32c, text, len) ? 2 : 0;
	if (strcmp(path, "ChecksumCRC64NVME") == 0)
		return setdup(&d->checksum_crc64nvme, text, len) ? 2 : 0;
	return 0;
}

int response_parse_complete(struct complete_doc *d, const char *body, size_t len)
{
	struct complete_ctx c = { d, 0 };

	memset(d, 0, sizeof(*d));
	if (!body || len == 0 ||
	    xml_parse(body, len, complete_cb, &c, NULL, 0) != 0 || c.root == 0)
		goto fail;
	if (c.root == 2)
		return 1;
	if (d->encoding_type && strcmp(d->encoding_type, "url") == 0 &&
	    decode_in_place(&d->key) < 0)
		goto fail;
	return 0;
fail:
	complete_doc_cleanup(d);
	return -1;
}

/* ------------------------------------------------------------ ListParts */

struct parts_ctx {
	struct hoist_part_list *list;
	struct list_parts_page *page;
	struct hoist_part_entry cur;
	int in_part;
	int have_number;
	int have_size;
	int root_ok;
	size_t cap;
};

static void part_entry_free(struct hoist_part_entry *p)
{
	free(p->etag);
	free(p->last_modified);
	memset(p, 0, sizeof(*p));
}

void hoist_part_list_free(struct hoist_part_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++) {
		part_entry_free(&list->parts[i]);
	}
	free(list->parts);
	free(list);
}

struct hoist_part_list *hoist_part_list_new(void)
{
	return calloc(1, sizeof(struct hoist_part_list));
}

hoist_status hoist_part_list_add(struct hoist_part_list *list, unsigned part_number,
				 uint64_t size, const char *etag, uint64_t crc64, int crc64_valid)
{
	struct hoist_part_entry *e;

	if (!list || part_number == 0 || !etag || !*etag)
		return HOIST_E_INVALID_ARG;
	if (list->count >= list->cap) {
		size_t ncap = list->count ? list->count * 2 : 16;

		e = realloc(list->parts, ncap * sizeof(*e));
		if (!e)
			return HOIST_E_NOMEM;
		list->parts = e;
		list->cap = ncap;
	}
	e = &list->parts[list->count];
	memset(e, 0, sizeof(*e));
	e->etag = strdup(etag);
	if (!e->etag)
		return HOIST_E_NOMEM;
	e->part_number = part_number;
	e->size = size;
	e->crc64 = crc64;
	e->crc64_valid = crc64_valid != 0;
	list->count++;
	return HOIST_OK;
}

size_t hoist_part_list_count(const struct hoist_part_list *list)
{
	return list ? list->count : 0;
}

const struct hoist_part_entry *hoist_part_list_get(const struct hoist_part_list *list, size_t i)
{
	return list && i < list->count ? &list->parts[i] : NULL;
}

static int parse_uint_text(const char *text, size_t len, uint64_t *out)
{
	char tmp[24];

	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, text, len);
	tmp[len] = '\0';
	return parse_u64(tmp, out);
}

static int parts_push(struct parts_ctx *c)
{
	struct hoist_part_list *l = c->list;
	struct hoist_part_entry *np;

	if (l->count == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;

		if (ncap > 1000000)
			return -1;
		np = realloc(l->parts, ncap * sizeof(*np));
		if (!np)
			return -1;
		l->parts = np;
		c->cap = ncap;
	}
	l->parts[l->count++] = c->cur;
	memset(&c->cur, 0, sizeof(c->cur));
	return 0;
}

static int parts_cb(void *ud, enum xml_event ev, const char *path,
		    const char *name, const char *text, size_t len)
{
	struct parts_ctx *c = ud;
	uint64_t v;

	if (ev == XML_EV_START) {
		if (!c->root_ok) {
			if (strcmp(path, "ListPartsResult") != 0)
				return 1;
			c->root_ok = 1;
		}
		if (strcmp(path, "ListPartsResult/Part") == 0) {
			part_entry_free(&c->cur);
			c->in_part = 1;
			c->have_number = c->have_size = 0;
		}
		return 0;
	}
	if (strcmp(path, "ListPartsResult/IsTruncated") == 0) {
		c->page->truncated = len == 4 && memcmp(text, "true", 4) == 0;
		return 0;
	}
	if (strcmp(path, "ListPartsResult/NextPartNumberMarker") == 0) {
		if (len && parse_uint_text(text, len, &v) == 0 && v <= 100000) {
			c->page->next_marker = (unsigned)v;
		}
		return 0;
	}
	if (!c->in_part)
		return 0;
	if (strcmp(path, "ListPartsResult/Part") == 0) {
		c->in_part = 0;
		if (!c->have_number || !c->have_size)
			return 3;
		return parts_push(c) ? 2 : 0;
	}
	if (strcmp(path, "ListPartsResult/Part/PartNumber") == 0) {
		if (parse_uint_text(text, len, &v) || v == 0 || v > 100000)
			return 3;
		c->cur.part_number = (unsigned)v;
		c->have_number = 1;
	} else if (strcmp(path, "ListPartsResult/Part/Size") == 0) {
		if (parse_uint_text(text, len, &v))
			return 3;
		c->cur.size = v;
		c->have_size = 1;
	} else if (strcmp(path, "ListPartsResult/Part/ETag") == 0) {
		return setdup(&c->cur.etag, text, len) ? 2 : 0;
	} else if (strcmp(path, "ListPartsResult/Part/HashCrc64ecma") == 0) {
		if (parse_uint_text(text, len, &v) == 0) {
			c->cur.crc64 = v;
			c->cur.crc64_valid = 1;
		}
	} else if (strcmp(path, "ListPartsResult/Part/LastModified") == 0) {
		return setdup(&c->cur.last_modified, text, len) ? 2 : 0;
	}
	return 0;
}

int response_parse_list_parts(struct hoist_part_list *list,
			      struct list_parts_page *page, const char *body,
			      size_t len)
{
	struct parts_ctx c;
	size_t start = list->count;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(page, 0, sizeof(*page));
	c.list = list;
	c.page = page;
	c.cap = list->count;
	/* The caller's array may have spare room we do not know of: keep
	 * capacity == count so parts_push reallocates. */
	rc = body && len ? xml_parse(body, len, parts_cb, &c, NULL, 0) : -1;
	part_entry_free(&c.cur);
	if (rc != 0 || !c.root_ok) {
		while (list->count > start) {
			part_entry_free(&list->parts[--list->count]);
		}
		return -1;
	}
	return 0;
}

/* ------------------------------------------------- ListMultipartUploads */

void hoist_upload_list_free(struct hoist_upload_list *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->count; i++) {
		free(list->uploads[i].key);
		free(list->uploads[i].upload_id);
		free(list->uploads[i].initiated);
	}
	free(list->uploads);
	free(list);
}

size_t hoist_upload_list_count(const struct hoist_upload_list *list)
{
	return list ? list->count : 0;
}

const struct hoist_upload_entry *hoist_upload_list_get(const struct hoist_upload_list *list,
						       size_t i)
{
	return list && i < list->count ? &list->uploads[i] : NULL;
}

void list_uploads_page_cleanup(struct list_uploads_page *p)
{
	free(p->next_key_marker);
	free(p->next_upload_id_marker);
	memset(p, 0, sizeof(*p));
}

struct uploads_ctx {
	struct hoist_upload_list *list;
	struct list_uploads_page *page;
	struct hoist_upload_entry cur;
	char *encoding_type;
	size_t cap;
	size_t start;
	int in_upload;
	int root_ok;
};

static void upload_entry_free(struct hoist_upload_entry *u)
{
	free(u->key);
	free(u->upload_id);
	free(u->initiated);
	memset(u, 0, sizeof(*u));
}

static int uploads_cb(void *ud, enum xml_event ev, const char *path,
		      const char *name, const char *text, size_t len)
{
	struct uploads_ctx *c = ud;
	struct hoist_upload_list *l = c->list;
	const char *p = "ListMultipartUploadsResult/";
	size_t pl = strlen(p);

	if (ev == XML_EV_START) {
		if (!c->root_ok) {
			if (strcmp(path, "ListMultipartUploadsResult") != 0)
				return 1;
			c->root_ok = 1;
		}
		if (strcmp(path, "ListMultipartUploadsResult/Upload") == 0) {
			upload_entry_free(&c->cur);
			c->in_upload = 1;
		}
		return 0;
	}
	if (strncmp(path, p, pl) != 0)
		return 0;
	path += pl;
	if (strcmp(path, "IsTruncated") == 0) {
		c->page->truncated = len == 4 && memcmp(text, "true", 4) == 0;
	} else if (strcmp(path, "NextKeyMarker") == 0) {
		return setdup(&c->page->next_key_marker, text, len) ? 2 : 0;
	} else if (strcmp(path, "NextUploadIdMarker") == 0) {
		return setdup(&c->page->next_upload_id_marker, text, len) ? 2 : 0;
	} else if (strcmp(path, "EncodingType") == 0) {
		return setdup(&c->encoding_type, text, len) ? 2 : 0;
	} else if (c->in_upload && strcmp(path, "Upload") == 0) {
		c->in_upload = 0;
		if (!c->cur.key || !c->cur.upload_id)
			return 3;
		if (l->count == c->cap) {
			size_t ncap = c->cap ? c->cap * 2 : 64;
			struct hoist_upload_entry *nu;

			if (ncap > 10000000)
				return 2;
			nu = realloc(l->uploads, ncap * sizeof(*nu));
			if (!nu)
				return 2;
			l->uploads = nu;
			c->cap = ncap;
		}
		l->uploads[l->count++] = c->cur;
		memset(&c->cur, 0, sizeof(c->cur));
	} else if (c->in_upload && strcmp(path, "Upload/Key") == 0) {
		return setdup(&c->cur.key, text, len) ? 2 : 0;
	} else if (c->in_upload && strcmp(path, "Upload/UploadId") == 0) {
		return setdup(&c->cur.upload_id, text, len) ? 2 : 0;
	} else if (c->in_upload && strcmp(path, "Upload/Initiated") == 0) {
		return setdup(&c->cur.initiated, text, len) ? 2 : 0;
	}
	return 0;
}

int response_parse_list_uploads(struct hoist_upload_list *list,
				struct list_uploads_page *page,
				const char *body, size_t len)
{
	struct uploads_ctx c;
	size_t i;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(page, 0, sizeof(*page));
	c.list = list;
	c.page = page;
	c.cap = list->count;
	c.start = list->count;
	rc = body && len ? xml_parse(body, len, uploads_cb, &c, NULL, 0) : -1;
	upload_entry_free(&c.cur);
	if (rc == 0 && c.root_ok && c.encoding_type &&
	    strcmp(c.encoding_type, "url") == 0) {
		for (i = c.start; i < list->count && rc == 0; i++) {
			rc = decode_in_place(&list->uploads[i].key);
		}
		if (rc == 0) {
			rc = decode_in_place(&page->next_key_marker);
		}
	}
	free(c.encoding_type);
	if (rc != 0 || !c.root_ok) {
		while (list->count > c.start) {
			upload_entry_free(&list->uploads[--list->count]);
		}
		list_uploads_page_cleanup(page);
		return -1;
	}
	return 0;
}
