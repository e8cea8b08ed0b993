/*
 * fuzz_response.c - libFuzzer target for the engine's response body
 * parsers (engine/response.c): Error, InitiateMultipartUploadResult,
 * CompleteMultipartUploadResult (or an Error inside a 200), ListPartsResult
 * and ListMultipartUploadsResult, plus url_decode, which turns the
 * encoding-type=url keys of those documents back into bytes.  Every one of
 * them reads what a server (or anything posing as one) sent.
 *
 * Input: the first byte picks the parser, the rest is the body.
 *   '0' Error, '1' Initiate, '2' Complete, '3' ListParts, '4' ListUploads
 *   (the byte modulo 8; 5..7 run every parser on the same body).
 * The two list parsers are called twice, on the text before and after the
 * first NUL byte (XML has no NUL), appending to one list that already holds
 * an entry: that is how the engine follows IsTruncated pages.
 *
 * Checked beyond "no crash, no leak, no UB": return values are the
 * documented ones; every string handed out is NUL-terminated (strlen under
 * ASan) and no longer than the body; a document without an UploadId is
 * never an Initiate result; a list page that parses appends exactly as many
 * entries as the document has complete <Part>/<Upload> elements (counted by
 * a separate xml_parse pass), each with its required fields, and leaves
 * the entries already in the list untouched; a page that fails appends
 * nothing; url_decode inverts sign_uri_encode.
 */
// fuzz-sources: engine/response.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoist.h"
#include "response.h"
#include "sign.h"
#include "xml.h"

/* A broken promise: say which one, then abort (the fuzzer saves the input). */
static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

/* A string the parser handed out: NULL, or terminated within the body's
 * length (decoding only shrinks, entities only shrink). */
static void check_str(const char *s, size_t body_len)
{
	if (s) {
		check(strlen(s) <= body_len);
	}
}

struct counter {
	const char *path;
	size_t n;
};

static int count_cb(void *ud, enum xml_event ev, const char *path, const char *name,
		    const char *text, size_t len)
{
	struct counter *c = ud;

	(void)name;
	(void)text;
	(void)len;
	if (ev == XML_EV_END && strcmp(path, c->path) == 0) {
		c->n++;
	}
	return 0;
}

/* How many elements at path the document holds (the reference count). */
static size_t count_elements(const char *body, size_t len, const char *path)
{
	struct counter c = { path, 0 };

	if (len == 0 || xml_parse(body, len, count_cb, &c, NULL, 0) != 0)
		return 0;
	return c.n;
}

static void fuzz_error(const char *body, size_t len)
{
	struct error_doc e;
	int rc = response_parse_error(&e, body, len);

	check(rc == 0 || rc == -1);
	if (rc < 0) {
		check(!e.code && !e.message && !e.request_id && !e.ec);
		return;
	}
	check_str(e.code, len);
	check_str(e.message, len);
	check_str(e.request_id, len);
	check_str(e.ec, len);
	error_doc_cleanup(&e);
	check(!e.code && !e.message && !e.request_id && !e.ec);
}

static void fuzz_initiate(const char *body, size_t len)
{
	struct initiate_doc d;
	int rc = response_parse_initiate(&d, body, len);

	check(rc == 0 || rc == -1);
	if (rc < 0) {
		check(!d.bucket && !d.key && !d.upload_id && !d.encoding_type);
		return;
	}
	check(d.upload_id && *d.upload_id);
	check_str(d.upload_id, len);
	check_str(d.bucket, len);
	check_str(d.key, len);
	check_str(d.encoding_type, len);
	initiate_doc_cleanup(&d);
}

static void fuzz_complete(const char *body, size_t len)
{
	struct complete_doc d;
	int rc = response_parse_complete(&d, body, len);

	check(rc == 0 || rc == 1 || rc == -1);
	if (rc < 0) {
		check(!d.location && !d.bucket && !d.key && !d.etag && !d.err.code);
		return;
	}
	if (rc == 1) {
		/* An Error document fills nothing of the result. */
		check(!d.location && !d.bucket && !d.key && !d.etag);
		check_str(d.err.code, len);
		check_str(d.err.message, len);
		check_str(d.err.request_id, len);
		check_str(d.err.ec, len);
	} else {
		check(!d.err.code && !d.err.message && !d.err.request_id && !d.err.ec);
		check_str(d.location, len);
		check_str(d.bucket, len);
		check_str(d.key, len);
		check_str(d.etag, len);
		check_str(d.encoding_type, len);
	}
	complete_doc_cleanup(&d);
}

static void fuzz_list_parts(const char *p1, size_t l1, const char *p2, size_t l2)
{
	struct hoist_part_list *list = calloc(1, sizeof(*list));
	const char *pages[2] = { p1, p2 };
	size_t lens[2] = { l1, l2 };

	check(list != NULL);
	/* One entry already there, in an array of exactly that size: a
	 * parser that believed in spare room would write past it. */
	list->parts = calloc(1, sizeof(*list->parts));
	check(list->parts != NULL);
	list->parts[0].part_number = 7;
	list->parts[0].size = 100;
	list->parts[0].etag = strdup("\"seed\"");
	check(list->parts[0].etag != NULL);
	list->count = 1;

	for (int i = 0; i < 2; i++) {
		struct list_parts_page page;
		size_t before = list->count;
		int rc = response_parse_list_parts(list, &page, pages[i], lens[i]);

		check(rc == 0 || rc == -1);
		if (rc < 0) {
			check(list->count == before);
			continue;
		}
		check(list->count - before ==
		      count_elements(pages[i], lens[i], "ListPartsResult/Part"));
		check(page.truncated == 0 || page.truncated == 1);
		check(page.next_marker <= 100000);
		for (size_t j = before; j < list->count; j++) {
			const struct hoist_part_entry *e = &list->parts[j];

			check(e->part_number >= 1 && e->part_number <= 100000);
			check(e->crc64_valid == 0 || e->crc64_valid == 1);
			check_str(e->etag, lens[i]);
			check_str(e->last_modified, lens[i]);
		}
	}
	check(list->parts[0].part_number == 7 && list->parts[0].size == 100 &&
	      strcmp(list->parts[0].etag, "\"seed\"") == 0);
	hoist_part_list_free(list);
}

static void fuzz_list_uploads(const char *p1, size_t l1, const char *p2, size_t l2)
{
	struct hoist_upload_list *list = calloc(1, sizeof(*list));
	const char *pages[2] = { p1, p2 };
	size_t lens[2] = { l1, l2 };

	check(list != NULL);
	list->uploads = calloc(1, sizeof(*list->uploads));
	check(list->uploads != NULL);
	list->uploads[0].key = strdup("seed/key");
	list->uploads[0].upload_id = strdup("SEEDID");
	check(list->uploads[0].key && list->uploads[0].upload_id);
	list->count = 1;

	for (int i = 0; i < 2; i++) {
		struct list_uploads_page page;
		size_t before = list->count;
		int rc = response_parse_list_uploads(list, &page, pages[i], lens[i]);

		check(rc == 0 || rc == -1);
		if (rc < 0) {
			check(list->count == before);
			check(!page.next_key_marker && !page.next_upload_id_marker);
			continue;
		}
		check(list->count - before ==
		      count_elements(pages[i], lens[i], "ListMultipartUploadsResult/Upload"));
		check(page.truncated == 0 || page.truncated == 1);
		check_str(page.next_key_marker, lens[i]);
		check_str(page.next_upload_id_marker, lens[i]);
		for (size_t j = before; j < list->count; j++) {
			const struct hoist_upload_entry *e = &list->uploads[j];

			check(e->key != NULL && e->upload_id != NULL);
			check_str(e->key, lens[i]);
			check_str(e->upload_id, lens[i]);
			check_str(e->initiated, lens[i]);
		}
		list_uploads_page_cleanup(&page);
	}
	check(strcmp(list->uploads[0].key, "seed/key") == 0 &&
	      strcmp(list->uploads[0].upload_id, "SEEDID") == 0 && !list->uploads[0].initiated);
	hoist_upload_list_free(list);
}

/* url_decode on the body as a string; and decode(encode(x)) == x. */
static void fuzz_url_decode(const char *body, size_t len)
{
	char *s = malloc(len + 1), *d, *e, *dd;

	check(s != NULL);
	memcpy(s, body, len);
	s[len] = '\0';
	d = url_decode(s);
	if (d) {
		check(strlen(d) <= strlen(s));
		free(d);
	}
	e = sign_uri_encode(s, 0);
	check(e != NULL);
	dd = url_decode(e);
	/* url_decode refuses text beyond XML_MAX_TEXT; below that it must
	 * give the original back. */
	check(dd != NULL || strlen(e) > (size_t)XML_MAX_TEXT);
	if (dd) {
		check(strcmp(dd, s) == 0);
	}
	free(dd);
	free(e);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body, *nul, *p2;
	size_t len, l1, l2;
	unsigned sel;

	if (size < 1 || size > 256 * 1024)
		return 0;
	sel = data[0] % 8;
	body = (const char *)data + 1;
	len = size - 1;
	nul = memchr(body, '\0', len);
	l1 = nul ? (size_t)(nul - body) : len;
	p2 = nul ? nul + 1 : body + len;
	l2 = nul ? len - l1 - 1 : 0;

	if (sel == 0 || sel >= 5) {
		fuzz_error(body, len);
	}
	if (sel == 1 || sel >= 5) {
		fuzz_initiate(body, len);
	}
	if (sel == 2 || sel >= 5) {
		fuzz_complete(body, len);
	}
	if (sel == 3 || sel >= 5) {
		fuzz_list_parts(body, l1, p2, l2);
	}
	if (sel == 4 || sel >= 5) {
		fuzz_list_uploads(body, l1, p2, l2);
	}
	if (sel >= 5) {
		fuzz_url_decode(body, l1);
	}
	return 0;
}
