/*
 * test_download_parts.c - the verdict on a HEAD ?partNumber=1 answer
 * (dl_parts_judge): which answers plan a download by parts (part 1's
 * length) and which leave it to plain ranges, with the reason; the
 * x-amz-mp-parts-count and Content-Length parse refuses what is not a
 * plain decimal count.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "download_parts.h"

#define MIB (1024ull * 1024)

/* 3 parts of 5 MiB and a 7-byte one, as boto3 puts them. */
static struct dl_parts_probe good(void)
{
	struct dl_parts_probe p = {
		.etag_parts = 4, .size = 15 * MIB + 7, .http = 206, .parts_count = "4",
		.content_length = "5242880", .content_range = "bytes 0-5242879/15728647",
	};

	return p;
}

static uint64_t judge(const struct dl_parts_probe *p, const char *want_why)
{
	const char *why = "unset";
	uint64_t v = dl_parts_judge(p, &why);

	if (want_why) {
		assert_int_equal(v, 0);
		assert_non_null(why);
		assert_non_null(strstr(why, want_why));
	} else {
		assert_null(why);
	}
	return v;
}

static void test_by_parts(void **state)
{
	struct dl_parts_probe p = good();

	(void)state;
	assert_int_equal(judge(&p, NULL), 5 * MIB);
	/* A store may send no Content-Range on the HEAD: the length rules. */
	p.content_range = NULL;
	assert_int_equal(judge(&p, NULL), 5 * MIB);
	/* Exactly N full parts. */
	p = good();
	p.size = 20 * MIB;
	p.content_range = "bytes 0-5242879/20971520";
	assert_int_equal(judge(&p, NULL), 5 * MIB);
	/* One part: the whole object, 200 or 206. */
	p.etag_parts = 1;
	p.parts_count = "1";
	p.size = 3 * MIB + 1;
	p.content_length = "3145729";
	p.content_range = NULL;
	p.http = 200;
	assert_int_equal(judge(&p, NULL), 3 * MIB + 1);
}

static void test_not_served(void **state)
{
	struct dl_parts_probe p = good();

	(void)state;
	/* Ceph RGW 16.2: the whole object, no parts count. */
	p.http = 200;
	p.parts_count = NULL;
	p.content_length = "15728647";
	p.content_range = NULL;
	judge(&p, "no x-amz-mp-parts-count");
	p = good();
	p.http = 400;
	judge(&p, "refused");
	p = good();
	p.http = 416;
	judge(&p, "refused");
}

/* Each of bad[] in one header of a good answer (field: its offset in
 * the probe) is refused for why; keep_range 0 drops the Content-Range,
 * so that the field itself is what is judged. */
static void each_refused(const char *const *bad, size_t n, size_t field, int keep_range,
			 const char *why)
{
	struct dl_parts_probe p;

	for (size_t i = 0; i < n; i++) {
		p = good();
		if (!keep_range) {
			p.content_range = NULL;
		}
		*(const char **)((char *)&p + field) = bad[i];
		judge(&p, why);
	}
}

#define EACH_REFUSED(bad, field, keep_range, why) \
	each_refused(bad, sizeof(bad) / sizeof(bad[0]), offsetof(struct dl_parts_probe, field), \
		     keep_range, why)

static void test_bad_counts(void **state)
{
	static const char *const bad[] = { "", "0", "3", "5", "-4", "4x", " 4", "4 ", "+4",
					   "18446744073709551620" };

	(void)state;
	EACH_REFUSED(bad, parts_count, 1, "disagrees with the ETag");
}

static void test_bad_lengths(void **state)
{
	static const char *const bad[] = { NULL, "", "0", "-5242880", "5242880x",
					   "15728648" /* more than the object */ };

	(void)state;
	EACH_REFUSED(bad, content_length, 0, "part 1's length");
}

static void test_bad_ranges(void **state)
{
	static const char *const bad[] = { "bytes 1-5242880/15728647", "bytes 0-5242878/15728647",
					   "bytes 0-5242879/15728648", "bytes 0-5242879/*",
					   "bytes 0-5242879/15728647x", "garbage", "" };

	(void)state;
	EACH_REFUSED(bad, content_range, 1, "Content-Range");
}

static void test_unequal_parts(void **state)
{
	struct dl_parts_probe p = good();

	(void)state;
	/* 5, 7 and 2 MiB: 3 x 5 MiB is more than 14 MiB, 2 x 5 is less. */
	p.etag_parts = 3;
	p.parts_count = "3";
	p.size = 14 * MIB;
	p.content_range = NULL;
	assert_int_equal(judge(&p, NULL), 5 * MIB); /* that one cannot be seen here */
	/* 5, 5, 9 MiB: part 1 times 3 misses 19 MiB. */
	p.size = 19 * MIB;
	judge(&p, "not of one size");
	/* 5, 1, 1 MiB: part 1 times 2 already covers 7 MiB. */
	p.size = 7 * MIB;
	judge(&p, "not of one size");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_parts),
		cmocka_unit_test(test_not_served),
		cmocka_unit_test(test_bad_counts),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_bad_ranges),
		cmocka_unit_test(test_unequal_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
