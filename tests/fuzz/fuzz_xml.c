/*
 * fuzz_xml.c - libFuzzer target for xml_parse, the parser every response
 * body (engine) and Complete body (ossemu) goes through.
 *
 * Beyond "no crash, no leak, no UB" it checks the reader's promises on
 * whatever expat accepts: paths end in the element name and never nest
 * deeper than XML_MAX_DEPTH, text is NUL-free, no longer than XML_MAX_TEXT
 * and reported with its true length, START and END balance, and any text
 * the reader hands out survives the writer -> reader round trip (parsed by
 * a nested xml_parse from inside the callback, which also exercises
 * reentrancy).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "xml.h"

struct state {
	int depth;
	int starts, ends;
	const char *want; /* round trip: the text the nested parse must see */
	size_t want_len;
	int seen;
};

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static int components(const char *path)
{
	int n = 1;

	for (; *path; path++) {
		n += *path == '/';
	}
	return n;
}

static int roundtrip_cb(void *ud, enum xml_event ev, const char *path, const char *name,
			const char *text, size_t len)
{
	struct state *st = ud;

	(void)name;
	if (ev == XML_EV_END && strcmp(path, "R/T") == 0) {
		check(len == st->want_len && memcmp(text, st->want, len) == 0);
		st->seen = 1;
	}
	return 0;
}

static int cb(void *ud, enum xml_event ev, const char *path, const char *name,
	      const char *text, size_t len)
{
	struct state *st = ud;
	size_t pl = strlen(path), nl = strlen(name);

	check(nl > 0 && nl <= pl && strcmp(path + pl - nl, name) == 0);
	check(pl == nl || path[pl - nl - 1] == '/');
	if (ev == XML_EV_START) {
		check(text == NULL);
		st->depth++;
		st->starts++;
		check(st->depth <= XML_MAX_DEPTH && components(path) == st->depth);
		return 0;
	}
	check(text != NULL && strlen(text) == len && len <= XML_MAX_TEXT);
	check(components(path) == st->depth);
	st->depth--;
	st->ends++;
	{
		struct buf doc = BUF_INIT;
		struct state inner;

		memset(&inner, 0, sizeof(inner));
		inner.want = text;
		inner.want_len = len;
		check(buf_puts(&doc, "<R>") == 0 && xml_elem_append(&doc, "T", text) == 0 &&
		      buf_puts(&doc, "</R>") == 0);
		check(xml_parse(doc.data, doc.len, roundtrip_cb, &inner, NULL, 0) == 0);
		check(inner.seen);
		buf_free(&doc);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct state st;
	char err[128];
	int rc;

	memset(&st, 0, sizeof(st));
	rc = xml_parse((const char *)data, size, cb, &st, err, sizeof(err));
	check(rc == 0 || rc == -1);
	if (rc == 0) {
		check(st.depth == 0 && st.starts == st.ends && st.starts > 0);
		check(err[0] == '\0');
	} else {
		check(err[0] != '\0');
	}
	return 0;
}
