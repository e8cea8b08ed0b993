/*
 * fuzz_ossemu_delete.c - libFuzzer target for the DeleteMultipleObjects
 * body parser (bench/ossemu/delete.c delete_parse).
 *
 * Input, two modes:
 *  - starting with 'k': a round trip.  The rest is a list of keys, one per
 *    line, folded into printable ASCII; bit 0 of the second byte asks for
 *    <Quiet>true</Quiet>, bit 1 for an XML prolog, bit 2 for whitespace
 *    between elements.  The body is written here (with its own escaping of
 *    & < > " ', not the project's) and must parse back to the same keys in
 *    the same order, quiet as asked, or be refused exactly when there are
 *    no keys, an empty key, or more than 1,000;
 *  - anything else: the body as it is.  Whatever it holds, an accepted
 *    body has 1 to 1,000 keys, none empty, none with a NUL; a refused one is
 *    MalformedXML with no EC or one of the two OSS documents for it
 *    (0016-00000613, 0016-00000610).
 */
// fuzz-sources: bench/ossemu/delete.c
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "delete.h"

static void check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "%s:%d: check failed\n", __FILE__, line);
		abort();
	}
}
#define check(ok) check_at((ok), __LINE__)

static void escape(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *e = NULL;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: break;
		}
		check(e ? buf_puts(b, e) == 0 : buf_putc(b, s[i]) == 0);
	}
}

static void round_trip(const uint8_t *data, size_t size)
{
	uint8_t flags = size > 1 ? data[1] : 0;
	const char *sp = flags & 4 ? "\n  " : "";
	char *keys = malloc(size + 1), *p;
	char **want = calloc(size + 1, sizeof(*want));
	size_t nwant = 0, n = 0;
	int empty = 0;
	struct buf b = BUF_INIT;
	struct delete_req d;
	const char *ec;
	enum err_id e;

	check(keys && want);
	for (size_t i = 2; i < size; i++) {
		uint8_t c = data[i];

		keys[n++] = c == '\n' ? '\n' : (char)(' ' + c % 95);
	}
	keys[n] = '\0';
	if (flags & 2) {
		check(buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") == 0);
	}
	check(buf_printf(&b, "<Delete>%s", sp) == 0);
	if (flags & 1) {
		check(buf_printf(&b, "<Quiet>true</Quiet>%s", sp) == 0);
	}
	for (p = size > 2 ? keys : NULL; p;) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		want[nwant++] = p;
		empty |= len == 0;
		check(buf_printf(&b, "<Object>%s<Key>", sp) == 0);
		escape(&b, p, len);
		check(buf_printf(&b, "</Key>%s</Object>%s", sp, sp) == 0);
		if (nl)
			*nl = '\0';
		p = nl ? nl + 1 : NULL;
	}
	check(buf_puts(&b, "</Delete>") == 0);
	e = delete_parse(b.data, b.len, &d, &ec);
	if (nwant == 0 || empty || nwant > DELETE_MAX_KEYS) {
		check(e == E_MALFORMED_XML);
		check(!empty || (ec && strcmp(ec, "0016-00000613") == 0) || nwant > DELETE_MAX_KEYS);
	} else {
		check(e == E_OK && d.n == nwant && d.quiet == !!(flags & 1));
		for (size_t i = 0; i < nwant; i++) {
			check(strcmp(d.keys[i], want[i]) == 0);
		}
		delete_req_cleanup(&d);
	}
	buf_free(&b);
	free(want);
	free(keys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct delete_req d;
	const char *ec;
	enum err_id e;

	if (size > 4 * 1024 * 1024)
		return 0;
	if (size > 0 && data[0] == 'k') {
		round_trip(data, size);
		return 0;
	}
	e = delete_parse((const char *)data, size, &d, &ec);
	if (e == E_OK) {
		check(d.n >= 1 && d.n <= DELETE_MAX_KEYS && ec == NULL);
		for (size_t i = 0; i < d.n; i++) {
			check(d.keys[i] && d.keys[i][0] != '\0');
		}
		delete_req_cleanup(&d);
	} else {
		check(e == E_MALFORMED_XML && d.n == 0 && d.keys == NULL);
		check(!ec || strcmp(ec, "0016-00000613") == 0 || strcmp(ec, "0016-00000610") == 0);
	}
	return 0;
}
