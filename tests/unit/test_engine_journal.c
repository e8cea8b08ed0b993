/*
 * test_engine_journal.c - the resume journal: naming, an on-disk round
 * trip (header, parts, keys with spaces / newlines / UTF-8, mode 0600),
 * a torn last line, later records winning, malformed files refused, and a
 * mutation sweep over a valid journal that must never crash the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hoist-journal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_naming(void **state)
{
	char *a, *b, *c, *d;

	(void)state;
	a = journal_path("/x", "http://h:1", "b", "k", "path:/f");
	b = journal_path("/x", "http://h:1", "b", "k", "path:/f");
	c = journal_path("/x", "http://h:1", "b", "k2", "path:/f");
	d = journal_path("/x", "http://h:2", "b", "k", "path:/f");
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_string_not_equal(a, d);
	assert_int_equal(strlen(a), strlen("/x/") + 32 + strlen(".journal"));
	assert_memory_equal(a, "/x/", 3);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void test_round_trip(void **state)
{
	struct journal_rec in, out;
	struct journal *j = NULL;
	const struct journal_part *p;
	struct stat st;
	char *path;
	FILE *f;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.endpoint = "http://127.0.0.1:9000";
	in.bucket = "bkt";
	in.key = "dir/a b\n+c%\xc3\xa9";
	in.upload_id = "0004B9894A22E5B1888A1E29F823ABCD";
	in.part_size = 8388608;
	in.size = 1073741831;
	in.dev = 2049;
	in.ino = 123456789;
	in.mtime_ns = 1700000000123456789LL;
	path = journal_path(dir, in.endpoint, in.bucket, in.key, "path:/f");
	assert_int_equal(journal_mkdir(dir), 0);
	assert_int_equal(journal_create(&j, path, &in), 0);
	assert_string_equal(journal_file(j), path);
	journal_part(j, 1, 8388608, "\"AAAA\"", 6571598172666981661ULL, 1);
	journal_part(j, 3, 8388608, "\"CCCC\"", 0, 0);
	journal_part(j, 1, 8388608, "\"AAA2\"", 42, 1); /* a re-sent part: later wins */
	journal_flush(j);
	journal_close(j);

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(journal_load(&out, path), 0);
	assert_string_equal(out.endpoint, in.endpoint);
	assert_string_equal(out.bucket, in.bucket);
	assert_string_equal(out.key, in.key);
	assert_string_equal(out.upload_id, in.upload_id);
	assert_true(out.part_size == in.part_size && out.size == in.size);
	assert_true(out.dev == in.dev && out.ino == in.ino && out.mtime_ns == in.mtime_ns);
	assert_int_equal(out.nparts, 3);
	p = journal_rec_find(&out, 1);
	assert_non_null(p);
	assert_string_equal(p->etag, "\"AAA2\"");
	assert_true(p->crc_valid && p->crc == 42);
	p = journal_rec_find(&out, 3);
	assert_non_null(p);
	assert_false(p->crc_valid);
	assert_null(journal_rec_find(&out, 2));
	journal_rec_cleanup(&out);

	/* A torn append (no newline) is ignored; the rest still loads. */
	f = fopen(path, "a");
	fputs("part 2 8388608 77 %22BB", f);
	fclose(f);
	assert_int_equal(journal_load(&out, path), 0);
	assert_int_equal(out.nparts, 3);
	assert_null(journal_rec_find(&out, 2));
	journal_rec_cleanup(&out);

	/* Discard removes it. */
	assert_int_equal(journal_create(&j, path, &in), 0);
	journal_discard(j);
	assert_int_equal(journal_load(&out, path), 1);
	free(path);
}

/* The intent written before Initiate: no upload id, a time; then the same
 * path rewritten with the id (as on_initiate does), replacing it whole.
 * A "resume 0" journal says so when read back; a header without both an
 * upload id and an intent is refused. */
static void test_intent(void **state)
{
	struct journal_rec in, out;
	struct journal *j = NULL, *j2 = NULL;
	char *path;
	FILE *f;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.endpoint = "http://127.0.0.1:9000";
	in.bucket = "bkt";
	in.key = "k";
	in.intent_time = 1764747273;
	in.part_size = 102400;
	in.size = 1000000;
	in.dev = 1;
	in.ino = 2;
	in.mtime_ns = 3;
	path = journal_path(dir, in.endpoint, in.bucket, in.key, "path:/intent");
	assert_int_equal(journal_mkdir(dir), 0);
	assert_int_equal(journal_create(&j, path, &in), 0);
	/* Parts appended to an intent are never read back: there is no
	 * upload they could belong to. */
	journal_part(j, 1, 102400, "\"E1\"", 1, 1);
	journal_flush(j);
	assert_int_equal(journal_load(&out, path), 0);
	assert_null(out.upload_id);
	assert_true(out.intent_time == 1764747273);
	assert_int_equal(out.no_resume, 0);
	assert_int_equal(out.nparts, 0);
	journal_rec_cleanup(&out);

	in.upload_id = "UPLOADID";
	in.no_resume = 1;
	assert_int_equal(journal_create(&j2, path, &in), 0);
	journal_close(j);
	journal_part(j2, 2, 102400, "\"E2\"", 0, 0);
	journal_close(j2);
	assert_int_equal(journal_load(&out, path), 0);
	assert_string_equal(out.upload_id, "UPLOADID");
	assert_int_equal(out.no_resume, 1);
	assert_int_equal(out.nparts, 1);
	assert_non_null(journal_rec_find(&out, 2));
	journal_rec_cleanup(&out);

	/* Neither an id nor an intent: not a journal; and create refuses
	 * to write one. */
	f = fopen(path, "w");
	fputs("hoist-journal 1\nendpoint e\nbucket b\nkey k\npart-size 1\nsize 1\n"
	      "dev 1\nino 1\nmtime-ns 1\nend-header\n", f);
	fclose(f);
	assert_int_equal(journal_load(&out, path), -1);
	in.upload_id = NULL;
	in.intent_time = 0;
	assert_int_equal(journal_create(&j, path, &in), -1);
	unlink(path);
	free(path);
}

static const char good[] =
	"hoist-journal 1\n"
	"endpoint http%3A%2F%2Fh%3A1\n"
	"bucket b\n"
	"key k%20x\n"
	"upload-id U\n"
	"part-size 102400\n"
	"size 204801\n"
	"dev 1\n"
	"ino 2\n"
	"mtime-ns -5\n"
	"end-header\n"
	"part 1 102400 12 %22E1%22\n"
	"part 2 102400 - %22E2%22\n";

static void test_parse(void **state)
{
	struct journal_rec r;
	char *m;
	size_t i, n = sizeof(good) - 1;

	(void)state;
	assert_int_equal(journal_parse(&r, good, n), 0);
	assert_string_equal(r.key, "k x");
	assert_true(r.mtime_ns == -5);
	assert_int_equal(r.nparts, 2);
	journal_rec_cleanup(&r);

	/* Malformed: wrong magic, missing fields, bad numbers, no end. */
	assert_int_equal(journal_parse(&r, "hoist-journal 2\n", 16), -1);
	assert_int_equal(journal_parse(&r, good, strstr(good, "end-header") - good), -1);
	{
		char bad[sizeof(good)];

		memcpy(bad, good, sizeof(good));
		memcpy(strstr(bad, "size 204801"), "size 2x4801", 11);
		assert_int_equal(journal_parse(&r, bad, n), -1);
		memcpy(bad, good, sizeof(good));
		memcpy(strstr(bad, "bucket b"), "bucker b", 8);
		assert_int_equal(journal_parse(&r, bad, n), -1);
	}
	/* A bad part line ends the list but keeps what came before. */
	{
		char bad[sizeof(good)];

		memcpy(bad, good, sizeof(good));
		memcpy(strstr(bad, "part 2 102400 -"), "part 0 102400 -", 15);
		assert_int_equal(journal_parse(&r, bad, n), 0);
		assert_int_equal(r.nparts, 1);
		journal_rec_cleanup(&r);
	}

	/* Every single-byte mutation and truncation parses or fails cleanly. */
	m = malloc(n);
	for (i = 0; i < n; i++) {
		static const char subs[] = { '\0', '\n', ' ', '%', '9', '-', 'x' };
		size_t s;

		for (s = 0; s < sizeof(subs); s++) {
			memcpy(m, good, n);
			m[i] = subs[s];
			if (journal_parse(&r, m, n) == 0)
				journal_rec_cleanup(&r);
		}
		if (journal_parse(&r, good, i) == 0)
			journal_rec_cleanup(&r);
	}
	free(m);
}

static void test_missing_and_garbage(void **state)
{
	struct journal_rec r;
	char path[128];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/none.journal", dir);
	assert_int_equal(journal_load(&r, path), 1);
	snprintf(path, sizeof(path), "%s/garbage.journal", dir);
	f = fopen(path, "w");
	fputs("GARBAGE\n", f);
	fclose(f);
	assert_int_equal(journal_load(&r, path), -1);
}

/* A temporary journal left by a killed hoist is removed by the next run;
 * one whose process still lives (another hoist creating it) is kept. */
static void test_stale_tmp(void **state)
{
	struct journal_rec in;
	struct journal *j = NULL;
	char dead[512], live[512];
	char *path;
	pid_t child;
	FILE *f;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.endpoint = "http://127.0.0.1:9000";
	in.bucket = "bkt";
	in.key = "stale";
	in.upload_id = "U1";
	in.part_size = 102400;
	in.size = 1;
	path = journal_path(dir, in.endpoint, in.bucket, in.key, "path:/stale");
	assert_int_equal(journal_mkdir(dir), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, NULL, 0), child); /* reaped: its pid is free */
	snprintf(dead, sizeof(dead), "%s.tmp%ld", path, (long)child);
	snprintf(live, sizeof(live), "%s.tmp%ld", path, (long)getppid());
	f = fopen(dead, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(live, "w");
	assert_non_null(f);
	fclose(f);
	assert_int_equal(journal_create(&j, path, &in), 0);
	assert_int_equal(access(dead, F_OK), -1);
	assert_int_equal(access(live, F_OK), 0);
	journal_discard(j);
	unlink(live);
	free(path);
}

/* Found by fuzz_journal: a part without an ETag once ended the part list
 * on reading (losing every later part), and an mtime of INT64_MIN was
 * written but refused on reading. */
static void test_fuzz_findings(void **state)
{
	struct journal_rec in, out;
	struct journal *j = NULL;
	char *path;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.endpoint = "http://127.0.0.1:9000";
	in.bucket = "bkt";
	in.key = "fuzz";
	in.upload_id = "U2";
	in.part_size = 102400;
	in.size = 3 * 102400;
	in.mtime_ns = INT64_MIN;
	path = journal_path(dir, in.endpoint, in.bucket, in.key, "path:/fuzz");
	assert_int_equal(journal_mkdir(dir), 0);
	assert_int_equal(journal_create(&j, path, &in), 0);
	journal_part(j, 1, 102400, "\"A\"", 1, 1);
	journal_part(j, 2, 102400, NULL, 2, 1);
	journal_part(j, 3, 102400, "", 3, 1);
	journal_part(j, 4, 102400, "\"D\"", 4, 1);
	journal_close(j);
	assert_int_equal(journal_load(&out, path), 0);
	assert_true(out.mtime_ns == INT64_MIN);
	assert_int_equal(out.nparts, 2);
	assert_non_null(journal_rec_find(&out, 1));
	assert_null(journal_rec_find(&out, 2));
	assert_null(journal_rec_find(&out, 3));
	assert_non_null(journal_rec_find(&out, 4));
	assert_string_equal(journal_rec_find(&out, 4)->etag, "\"D\"");
	journal_rec_cleanup(&out);
	unlink(path);
	free(path);
}

static void test_default_dir(void **state)
{
	char *d;

	(void)state;
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	d = journal_default_dir();
	assert_string_equal(d, "/xdg/hoist");
	free(d);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	d = journal_default_dir();
	assert_string_equal(d, "/home/u/.cache/hoist");
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_naming),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_intent),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_missing_and_garbage),
		cmocka_unit_test(test_stale_tmp),
		cmocka_unit_test(test_fuzz_findings),
		cmocka_unit_test(test_default_dir),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
