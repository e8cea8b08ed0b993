/*
 * test_listing.c - the ListObjectsV2 page parser (engine/listing.c) on the
 * documents OSS and S3 send: entries with every field, encoding-type=url
 * keys and tokens decoded only when the document says so, truncated pages,
 * the listing time format, a key with a NUL byte kept and flagged, never
 * cut, and hostile or broken pages (no Key, no Size,
 * a bad Size, a DOCTYPE, another root) refused with the page left empty.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "listing.h"

#define S(x) x, strlen(x)

static void test_oss_page(void **state)
{
	struct listing_page p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(listing_parse_page(&p, S(
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<ListBucketResult xmlns=\"http://doc.oss-cn-hangzhou.aliyuncs.com\">\n"
		"<Name>bkt</Name><Prefix>t%2F</Prefix><MaxKeys>2</MaxKeys><EncodingType>url</EncodingType>\n"
		"<IsTruncated>true</IsTruncated><NextContinuationToken>tok%2B1</NextContinuationToken>\n"
		"<Contents><Key>t%2Fa-b</Key><LastModified>2026-12-03T07:34:33.000Z</LastModified>"
		"<ETag>\"5B3F\"</ETag><Type>Normal</Type><Size>4</Size><StorageClass>Standard</StorageClass>"
		"<Owner><ID>1</ID><DisplayName>1</DisplayName></Owner></Contents>\n"
		"<Contents><Key>t%2Fa%2Fb%20c%2B%2541%C3%BC</Key><LastModified>2026-01-01T00:00:00Z</LastModified>"
		"<Size>0</Size></Contents>\n"
		"<CommonPrefixes><Prefix>t%2Fz%2F</Prefix></CommonPrefixes>\n"
		"</ListBucketResult>")), 0);
	assert_int_equal(p.count, 3);
	assert_true(p.truncated);
	assert_string_equal(p.next_token, "tok+1");
	/* The common prefix, decoded, after the keys it sorts after. */
	assert_string_equal(p.entries[2].pub.key, "t/z/");
	assert_true(p.entries[2].pub.is_prefix);
	assert_false(p.entries[0].pub.is_prefix);
	assert_string_equal(p.entries[0].pub.key, "t/a-b");
	assert_int_equal(p.entries[0].pub.size, 4);
	assert_string_equal(p.entries[0].pub.etag, "\"5B3F\"");
	assert_string_equal(p.entries[0].pub.storage_class, "Standard");
	assert_int_equal(p.entries[0].pub.mtime, 1796283273); /* date -u -d 2026-12-03T07:34:33Z +%s */
	assert_string_equal(p.entries[1].pub.key, "t/a/b c+%41\xc3\xbc");
	assert_int_equal(p.entries[1].pub.size, 0);
	assert_string_equal(p.entries[1].pub.etag, "");
	assert_int_equal(p.entries[1].pub.mtime, 1767225600);

	/* The next page replaces this one. */
	assert_int_equal(listing_parse_page(&p, S(
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>t/%41</Key><Size>18446744073709551615</Size></Contents></ListBucketResult>")), 0);
	assert_int_equal(p.count, 1);
	assert_false(p.truncated);
	assert_null(p.next_token);
	/* No EncodingType: the key is taken as sent, '%41' stays. */
	assert_string_equal(p.entries[0].pub.key, "t/%41");
	assert_true(p.entries[0].pub.size == UINT64_MAX);
	listing_page_cleanup(&p);
}

/* Servers send the CommonPrefixes after every Contents; the page is in
 * byte order of keys and prefixes together ("a-b" < "a/" < "a0" < "b/"). */
static void test_prefixes_sorted_in(void **state)
{
	struct listing_page p;
	static const char *const want[] = { "a b", "a-b", "a/", "a0", "b/", "c" };
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(listing_parse_page(&p, S(
		"<ListBucketResult><IsTruncated>false</IsTruncated>"
		"<Contents><Key>a b</Key><Size>1</Size></Contents>"
		"<Contents><Key>a-b</Key><Size>2</Size></Contents>"
		"<Contents><Key>a0</Key><Size>3</Size></Contents>"
		"<Contents><Key>c</Key><Size>4</Size></Contents>"
		"<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"
		"<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes>"
		"</ListBucketResult>")), 0);
	assert_int_equal(p.count, 6);
	for (i = 0; i < 6; i++) {
		assert_string_equal(p.entries[i].pub.key, want[i]);
		assert_int_equal(p.entries[i].pub.is_prefix, want[i][strlen(want[i]) - 1] == '/');
	}
	assert_int_equal(p.entries[1].pub.size, 2);
	assert_int_equal(p.entries[2].pub.size, 0);
	/* An empty Prefix is no prefix at all: the page is refused. */
	assert_int_equal(listing_parse_page(&p, S(
		"<ListBucketResult><CommonPrefixes><Prefix></Prefix></CommonPrefixes>"
		"</ListBucketResult>")), -1);
	listing_page_cleanup(&p);
}

static void test_refused(void **state)
{
	static const char *bad[] = {
		"<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>12x</Size></Contents></ListBucketResult>",
		"<ListBucketResult><Contents><Key>a</Key><Size>184467440737095516150</Size></Contents></ListBucketResult>",
		/* A token is sent back as is: one with a NUL cannot be. */
		"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
		"<NextContinuationToken>t%00u</NextContinuationToken></ListBucketResult>",
		"<Error><Code>AccessDenied</Code></Error>",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><ListBucketResult/>",
		"<ListBucketResult><Contents>",
		"",
	};
	struct listing_page p;
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(listing_parse_page(&p, S(
			"<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>"
			"<Contents><Key>keep</Key><Size>1</Size></Contents></ListBucketResult>")), 0);
		assert_int_equal(p.count, 1);
		if (listing_parse_page(&p, bad[i], strlen(bad[i])) != -1) {
			fail_msg("accepted: %s", bad[i]);
		}
		assert_int_equal(p.count, 0);
		assert_false(p.truncated);
		assert_null(p.next_token);
	}
	listing_page_cleanup(&p);
}

/* A url-encoded key that decodes to bytes with a NUL is neither refused
 * with the whole page nor cut at the NUL (into the key "x/a", another
 * object): it is kept, flagged, shown encoded, its bytes kept for the
 * order ("x/a" < "x/a\0b" < "x/a\x01" < "x/a b"). */
static void test_nul_key(void **state)
{
	struct listing_page p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(listing_parse_page(&p, S(
		"<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
		"<Contents><Key>x%2Fa</Key><Size>1</Size></Contents>"
		"<Contents><Key>x%2Fa%00b%20%00</Key><Size>2</Size></Contents>"
		"<Contents><Key>x%2Fa%01</Key><Size>3</Size></Contents>"
		"<CommonPrefixes><Prefix>x%2Fa%00%2F</Prefix></CommonPrefixes>"
		"</ListBucketResult>")), 0);
	assert_int_equal(p.count, 4);
	assert_string_equal(p.entries[0].pub.key, "x/a");
	assert_false(p.entries[0].pub.key_has_nul);
	/* The prefix "x/a\0/" sorts before "x/a\0b \0" (0x2f < 0x62). */
	assert_string_equal(p.entries[1].pub.key, "x/a%00/");
	assert_true(p.entries[1].pub.is_prefix && p.entries[1].pub.key_has_nul);
	assert_string_equal(p.entries[2].pub.key, "x/a%00b%20%00");
	assert_true(p.entries[2].pub.key_has_nul);
	assert_int_equal(p.entries[2].pub.size, 2);
	assert_int_equal(p.entries[2].len, 7);
	assert_memory_equal(listing_key_bytes(&p.entries[2]), "x/a\0b \0", 7);
	assert_string_equal(p.entries[3].pub.key, "x/a\x01");
	assert_false(p.entries[3].pub.key_has_nul);
	assert_true(listing_key_cmp("x/a", 3, "x/a\0b", 5) < 0);
	assert_true(listing_key_cmp("x/a\0b", 5, "x/a\x01", 4) < 0);
	assert_int_equal(listing_key_cmp("ab", 2, "ab", 2), 0);
	listing_page_cleanup(&p);
}

static void test_many_entries(void **state)
{
	/* LISTING_MAX_ENTRIES + 1 entries are refused, the maximum is not. */
	const char *one = "<Contents><Key>k</Key><Size>1</Size></Contents>";
	size_t n, len = strlen(one), i;
	struct listing_page p;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (n = LISTING_MAX_ENTRIES; n <= LISTING_MAX_ENTRIES + 1; n++) {
		char *doc = malloc(n * len + 64), *w = doc;

		assert_non_null(doc);
		w += sprintf(w, "<ListBucketResult>");
		for (i = 0; i < n; i++) {
			memcpy(w, one, len);
			w += len;
		}
		w += sprintf(w, "</ListBucketResult>");
		assert_int_equal(listing_parse_page(&p, doc, (size_t)(w - doc)), n == LISTING_MAX_ENTRIES ? 0 : -1);
		free(doc);
	}
	listing_page_cleanup(&p);
}

static void test_time(void **state)
{
	int64_t t = -1;

	(void)state;
	assert_int_equal(listing_parse_time("1970-01-01T00:00:00.000Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(listing_parse_time("2000-02-29T23:59:59Z", &t), 0);
	assert_int_equal(t, 951868799);
	assert_int_equal(listing_parse_time("2000-02-29 23:59:59Z", &t), -1);
	assert_int_equal(listing_parse_time("2000-02-29T23:59:59", &t), -1);
	assert_int_equal(listing_parse_time("2000-02-29T23:59:59+08:00", &t), -1);
	assert_int_equal(listing_parse_time("Wed, 03 Dec 2026 07:34:33 GMT", &t), -1);
	assert_int_equal(listing_parse_time("", &t), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oss_page),
		cmocka_unit_test(test_prefixes_sorted_in),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_nul_key),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
