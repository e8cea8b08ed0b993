/*
 * test_xml.c - the expat reader and the writer helpers: event paths and
 * unescaped text on protocol documents, every hostile-input limit (DOCTYPE,
 * entities, depth, text size, document size), malformed input, the
 * callback's stop, and a writer -> reader round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "xml.h"

/* Records every event as "S path name\n" or "E path name=text\n"; stops
 * with stop_rc at the stop_at-th event (1-based) when set. */
struct rec {
	struct buf log;
	int events;
	int stop_at;
	int stop_rc;
};

static int record(void *ud, enum xml_event ev, const char *path, const char *name,
		  const char *text, size_t len)
{
	struct rec *r = ud;

	r->events++;
	if (ev == XML_EV_START) {
		assert_null(text);
		buf_printf(&r->log, "S %s %s\n", path, name);
	} else {
		assert_non_null(text);
		assert_int_equal(strlen(text), len);
		buf_printf(&r->log, "E %s %s=", path, name);
		buf_append(&r->log, text, len);
		buf_putc(&r->log, '\n');
	}
	if (r->stop_at && r->events == r->stop_at)
		return r->stop_rc;
	return 0;
}

/* Parses doc; returns xml_parse's value, log in r (caller frees). */
static int parse(struct rec *r, const char *doc, size_t len, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	return xml_parse(doc, len, record, r, err, errlen);
}

static const struct {
	const char *what, *doc, *log;
} good[] = {
	{ "ListParts with prolog, namespace and pretty-printing",
	  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	  "<ListPartsResult xmlns=\"http://doc.oss-cn-hangzhou.aliyuncs.com\">\n"
	  "  <Bucket>b</Bucket>\n"
	  "  <Part>\n    <PartNumber>1</PartNumber>\n"
	  "    <ETag>\"3349DC700140D7F86A0784842780****\"</ETag>\n  </Part>\n"
	  "</ListPartsResult>\n",
	  "S ListPartsResult ListPartsResult\n"
	  "S ListPartsResult/Bucket Bucket\n"
	  "E ListPartsResult/Bucket Bucket=b\n"
	  "S ListPartsResult/Part Part\n"
	  "S ListPartsResult/Part/PartNumber PartNumber\n"
	  "E ListPartsResult/Part/PartNumber PartNumber=1\n"
	  "S ListPartsResult/Part/ETag ETag\n"
	  "E ListPartsResult/Part/ETag ETag=\"3349DC700140D7F86A0784842780****\"\n"
	  "E ListPartsResult/Part Part=\n    \n    \n  \n"
	  "E ListPartsResult ListPartsResult=\n  \n  \n\n" },
	{ "Go v2 Complete body: &#34; unescaped",
	  "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&#34;8EFDA8BE206636A695359836FE0A****&#34;</ETag></Part></CompleteMultipartUpload>",
	  "S CompleteMultipartUpload CompleteMultipartUpload\n"
	  "S CompleteMultipartUpload/Part Part\n"
	  "S CompleteMultipartUpload/Part/PartNumber PartNumber\n"
	  "E CompleteMultipartUpload/Part/PartNumber PartNumber=1\n"
	  "S CompleteMultipartUpload/Part/ETag ETag\n"
	  "E CompleteMultipartUpload/Part/ETag ETag=\"8EFDA8BE206636A695359836FE0A****\"\n"
	  "E CompleteMultipartUpload/Part Part=\n"
	  "E CompleteMultipartUpload CompleteMultipartUpload=\n" },
	{ "predefined and numeric entities",
	  "<a>&quot;x&quot; &amp; &lt;y&gt; &apos;&#x41;&#66;</a>",
	  "S a a\nE a a=\"x\" & <y> 'AB\n" },
	{ "mixed content: direct text only, pieces joined",
	  "<a>x<b>y</b>z<c/>w</a>",
	  "S a a\nS a/b b\nE a/b b=y\nS a/c c\nE a/c c=\nE a a=xzw\n" },
	{ "CDATA and UTF-8",
	  "<Key><![CDATA[<not a tag> & ]]>\xe4\xb8\xad\xe6\x96\x87</Key>",
	  "S Key Key\nE Key Key=<not a tag> & \xe4\xb8\xad\xe6\x96\x87\n" },
	{ "attributes, comments and processing instructions ignored",
	  "<!-- c --><Error a=\"1\"><?pi x?><Code>NoSuchUpload</Code></Error>",
	  "S Error Error\nS Error/Code Code\nE Error/Code Code=NoSuchUpload\nE Error Error=\n" },
	{ "prefixed names stay as written",
	  "<s:R xmlns:s=\"urn:x\"><s:K>v</s:K></s:R>",
	  "S s:R s:R\nS s:R/s:K s:K\nE s:R/s:K s:K=v\nE s:R s:R=\n" },
};

static void test_good_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct rec r;
		char err[128];
		int rc = parse(&r, good[i].doc, strlen(good[i].doc), err, sizeof(err));

		if (rc != 0 || strcmp(r.log.data, good[i].log) != 0) {
			print_error("document \"%s\": rc %d (%s)\n", good[i].what, rc, err);
		}
		assert_int_equal(rc, 0);
		assert_string_equal(r.log.data, good[i].log);
		assert_string_equal(err, "");
		buf_free(&r.log);
	}
}

static const struct {
	const char *what, *doc;
} bad[] = {
	{ "billion laughs",
	  "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	  "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	  "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">"
	  "<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">"
	  "]><lolz>&lol4;</lolz>" },
	{ "external entity",
	  "<?xml version=\"1.0\"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
	  "<foo>&xxe;</foo>" },
	{ "external DTD", "<!DOCTYPE foo SYSTEM \"http://127.0.0.1:1/x.dtd\"><foo/>" },
	{ "parameter entity",
	  "<!DOCTYPE foo [<!ENTITY % p SYSTEM \"http://127.0.0.1:1/p\"> %p;]><foo/>" },
	{ "harmless-looking DOCTYPE", "<!DOCTYPE foo><foo>x</foo>" },
	{ "undefined entity", "<a>&foo;</a>" },
	{ "truncated", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>" },
	{ "truncated in a tag", "<a><b" },
	{ "mismatched tags", "<a><b></a></b>" },
	{ "two roots", "<a/><b/>" },
	{ "text after the root", "<a/>junk" },
	{ "empty", "" },
	{ "only whitespace", "  \n" },
	{ "not XML", "hello world" },
	{ "JSON", "{\"a\": 1}" },
	{ "bad character reference", "<a>&#0;</a>" },
	{ "unescaped ampersand", "<a>a & b</a>" },
	{ "unescaped less-than", "<a>a < b</a>" },
	{ "invalid UTF-8", "<a>\xff\xfe</a>" },
};

static void test_hostile_documents(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rec r;
		char err[128];
		int rc = parse(&r, bad[i].doc, strlen(bad[i].doc), err, sizeof(err));

		if (rc != -1) {
			print_error("document \"%s\" accepted\n", bad[i].what);
		}
		assert_int_equal(rc, -1);
		assert_true(strlen(err) > 0);
		buf_free(&r.log);
	}
	/* a NUL inside the document is not XML either */
	{
		struct rec r;

		assert_int_equal(parse(&r, "<a>x\0y</a>", 10, NULL, 0), -1);
		buf_free(&r.log);
	}
}

/* The DOCTYPE is refused before any entity is declared or expanded: no
 * element event at all reaches the callback. */
static void test_doctype_refused_early(void **state)
{
	struct rec r;
	char err[128];

	(void)state;
	assert_int_equal(parse(&r, bad[0].doc, strlen(bad[0].doc), err, sizeof(err)), -1);
	assert_int_equal(r.events, 0);
	assert_non_null(strstr(err, "DOCTYPE"));
	buf_free(&r.log);
}

static char *nested(int depth)
{
	struct buf b = BUF_INIT;

	for (int i = 0; i < depth; i++) {
		buf_puts(&b, "<e>");
	}
	buf_puts(&b, "x");
	for (int i = 0; i < depth; i++) {
		buf_puts(&b, "</e>");
	}
	return buf_detach(&b);
}

static void test_depth_limit(void **state)
{
	struct rec r;
	char err[128];
	char *ok = nested(XML_MAX_DEPTH), *deep = nested(XML_MAX_DEPTH + 1);
	char *very = nested(100000);

	(void)state;
	assert_int_equal(parse(&r, ok, strlen(ok), err, sizeof(err)), 0);
	assert_int_equal(r.events, 2 * XML_MAX_DEPTH);
	buf_free(&r.log);
	assert_int_equal(parse(&r, deep, strlen(deep), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "deep"));
	/* the callback saw the 16 allowed levels opening, nothing deeper */
	assert_int_equal(r.events, XML_MAX_DEPTH);
	buf_free(&r.log);
	assert_int_equal(parse(&r, very, strlen(very), err, sizeof(err)), -1);
	buf_free(&r.log);
	free(ok);
	free(deep);
	free(very);
}

static char *text_doc(size_t n, const char *piece)
{
	struct buf b = BUF_INIT;
	size_t plen = strlen(piece), have = 0;

	buf_puts(&b, "<a>");
	while (have < n) {
		buf_puts(&b, piece);
		have += plen == 5 ? 1 : plen; /* "&amp;" is one character */
	}
	buf_puts(&b, "</a>");
	return buf_detach(&b);
}

static void test_text_limit(void **state)
{
	struct rec r;
	char err[128];
	/* plain text arrives in large runs, "&amp;" one character at a time:
	 * the limit must hold for both */
	char *at = text_doc(XML_MAX_TEXT, "x"), *over = text_doc(XML_MAX_TEXT + 1, "x");
	char *over_ent = text_doc(XML_MAX_TEXT + 1, "&amp;");

	(void)state;
	assert_int_equal(parse(&r, at, strlen(at), err, sizeof(err)), 0);
	assert_int_equal(r.log.len, strlen("S a a\nE a a=\n") + XML_MAX_TEXT);
	buf_free(&r.log);
	assert_int_equal(parse(&r, over, strlen(over), err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	buf_free(&r.log);
	assert_int_equal(parse(&r, over_ent, strlen(over_ent), err, sizeof(err)), -1);
	buf_free(&r.log);
	free(at);
	free(over);
	free(over_ent);
}

/* Over 16 MiB is refused before parsing; many small elements below it are
 * fine (a 10,000-part Complete body is ~1 MiB). */
static void test_document_limit(void **state)
{
	struct rec r;
	char err[128];
	size_t big = 16u * 1024 * 1024 + 1;
	char *doc = malloc(big);
	struct buf b = BUF_INIT;

	(void)state;
	assert_non_null(doc);
	memset(doc, ' ', big);
	memcpy(doc, "<a>", 3);
	memcpy(doc + big - 4, "</a>", 4);
	assert_int_equal(parse(&r, doc, big, err, sizeof(err)), -1);
	assert_int_equal(r.events, 0);
	assert_non_null(strstr(err, "larger"));
	buf_free(&r.log);
	free(doc);

	buf_puts(&b, "<CompleteMultipartUpload>");
	for (int i = 1; i <= 10000; i++) {
		buf_printf(&b, "<Part><PartNumber>%d</PartNumber>"
			       "<ETag>&#34;8EFDA8BE206636A695359836FE0A0E0A&#34;</ETag></Part>", i);
	}
	buf_puts(&b, "</CompleteMultipartUpload>");
	assert_int_equal(parse(&r, b.data, b.len, err, sizeof(err)), 0);
	assert_int_equal(r.events, 2 + 10000 * 6);
	buf_free(&r.log);
	buf_free(&b);
}

static void test_callback_stop(void **state)
{
	static const char doc[] = "<a><b>1</b><c>2</c></a>";
	struct rec r;
	char err[128];

	(void)state;
	/* stop at the 3rd event (END of b): no later event is delivered */
	memset(&r, 0, sizeof(r));
	r.stop_at = 3;
	r.stop_rc = 7;
	assert_int_equal(xml_parse(doc, strlen(doc), record, &r, err, sizeof(err)), 7);
	assert_int_equal(r.events, 3);
	assert_string_equal(r.log.data, "S a a\nS a/b b\nE a/b b=1\n");
	buf_free(&r.log);
	/* stop on the very last event (END of the root) still reports it */
	memset(&r, 0, sizeof(r));
	r.stop_at = 6;
	r.stop_rc = 42;
	assert_int_equal(xml_parse(doc, strlen(doc), record, &r, NULL, 0), 42);
	assert_int_equal(r.events, 6);
	buf_free(&r.log);
	/* stop on the first START */
	memset(&r, 0, sizeof(r));
	r.stop_at = 1;
	r.stop_rc = -5;
	assert_int_equal(xml_parse(doc, strlen(doc), record, &r, NULL, 0), -5);
	assert_int_equal(r.events, 1);
	buf_free(&r.log);
}

static void test_writer(void **state)
{
	static const char *const texts[] = {
		"plain", "", "\"8EFDA8BE206636A695359836FE0A****\"", "a&b<c>d'e\"f",
		"&amp; is not re-read", "]]> end of CDATA", "\xe4\xb8\xad \t\n", "cr\r\nlf",
	};
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(xml_escape_append(&b, "a&b<c>d\"e'f"), 0);
	assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	buf_reset(&b);
	assert_int_equal(xml_elem_append(&b, "ETag", "\"X\""), 0);
	assert_int_equal(xml_elem_append(&b, "Empty", NULL), 0);
	assert_string_equal(b.data, "<ETag>&quot;X&quot;</ETag><Empty></Empty>");
	buf_reset(&b);

	/* what the writer builds, the reader gives back byte for byte */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct rec r;
		struct buf want = BUF_INIT;

		buf_reset(&b);
		buf_puts(&b, "<Root>");
		assert_int_equal(xml_elem_append(&b, "Key", texts[i]), 0);
		buf_puts(&b, "</Root>");
		assert_int_equal(parse(&r, b.data, b.len, NULL, 0), 0);
		buf_printf(&want, "S Root Root\nS Root/Key Key\nE Root/Key Key=%s\nE Root Root=\n",
			   texts[i]);
		assert_string_equal(r.log.data, want.data);
		buf_free(&want);
		buf_free(&r.log);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_documents),
		cmocka_unit_test(test_hostile_documents),
		cmocka_unit_test(test_doctype_refused_early),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_text_limit),
		cmocka_unit_test(test_document_limit),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_writer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
