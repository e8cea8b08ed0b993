/*
 * test_dljournal.c - the download resume journal (engine/dljournal.c) in a
 * temporary directory: lines written by dljournal_append read back by a
 * second open, with and without a part's MD5 ("r INDEX CRC64 [MD5HEX]"),
 * the last line of an index winning, a torn last line ignored, and a line
 * with a bad MD5 making nothing of the journal trusted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dljournal.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hoist-dljournal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/.f.hoist-journal", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static struct dljournal *open_j(void)
{
	struct dljournal *j;
	char err[256];

	assert_int_equal(dljournal_open(&j, path, err, sizeof(err)), HOIST_OK);
	return j;
}

static void write_text(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_round_trip(void **state)
{
	struct dljournal_hdr h = { .size = 15728647, .range = 5242880, .etag = "\"ab-4\"" };
	struct dljournal_mark m[3] = {
		{ .index = 0, .crc = 1, .has_md5 = 1 },
		{ .index = 2, .crc = 18446744073709551615ull },
		{ .index = 0, .crc = 7, .has_md5 = 1 },
	}, got;
	struct dljournal *j = open_j();

	(void)state;
	for (int i = 0; i < 16; i++) {
		m[0].md5[i] = (uint8_t)(i * 17);
		m[2].md5[i] = (uint8_t)(255 - i);
	}
	assert_null(dljournal_found(j));
	assert_int_equal(dljournal_reset(j, &h), 0);
	assert_int_equal(dljournal_append(j, m, 3), 0);
	dljournal_free(j);

	j = open_j();
	assert_non_null(dljournal_found(j));
	assert_int_equal(dljournal_found(j)->range, 5242880);
	assert_string_equal(dljournal_found(j)->etag, "\"ab-4\"");
	/* The last line of index 0 wins, with its MD5. */
	assert_int_equal(dljournal_range(j, 0, &got), 1);
	assert_int_equal(got.crc, 7);
	assert_int_equal(got.has_md5, 1);
	assert_memory_equal(got.md5, m[2].md5, 16);
	assert_int_equal(dljournal_range(j, 2, &got), 1);
	assert_int_equal(got.crc, 18446744073709551615ull);
	assert_int_equal(got.has_md5, 0);
	assert_int_equal(dljournal_range(j, 1, &got), 0);
	dljournal_free(j);
}

static const char hdr[] = "hoist-download 1\nsize 100\nrange 10\netag -\nversion -\n";

static void test_lines(void **state)
{
	struct dljournal *j;
	struct dljournal_mark got;
	char text[512];

	(void)state;
	/* A line without an MD5 (a plain-range run) and a torn last one. */
	snprintf(text, sizeof(text), "%sr 3 42\nr 4 43 000102030405060708090a0b0c0d0e0f\nr 5 4",
		 hdr);
	write_text(text);
	j = open_j();
	assert_int_equal(dljournal_range(j, 3, &got), 1);
	assert_int_equal(got.has_md5, 0);
	assert_int_equal(dljournal_range(j, 4, &got), 1);
	assert_int_equal(got.has_md5, 1);
	assert_int_equal(got.md5[15], 15);
	assert_int_equal(dljournal_range(j, 5, &got), 0);
	dljournal_free(j);
}

static void test_bad_md5(void **state)
{
	static const char *const bad[] = {
		"r 4 43 000102030405060708090a0b0c0d0e0\n",    /* 31 digits */
		"r 4 43 000102030405060708090a0b0c0d0e0fff\n", /* 34 */
		"r 4 43 0001020304050607080g0a0b0c0d0e0f\n",   /* not hex */
		"r 4 43 \n",
		"r 4 x 000102030405060708090a0b0c0d0e0f\n",
	};
	struct dljournal *j;
	struct dljournal_mark got;
	char text[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%sr 3 42\n%s", hdr, bad[i]);
		write_text(text);
		j = open_j();
		assert_null(dljournal_found(j));
		assert_int_equal(dljournal_range(j, 3, &got), 0);
		dljournal_free(j);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_md5, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
