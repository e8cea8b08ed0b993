/*
 * test_stream.c - the stream source on its own: parts cut by the plan, a
 * full first part held back until the next byte tells one part from many,
 * the held parts read back by offset, buffers released only when their
 * part is done (a reader that fills the budget waits), the outgrown plan,
 * a failing read, and a push writer blocked by the budget that a failure
 * releases.  The consumer here is the test itself, through stream_take.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "source.h"
#include "stream.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)

static atomic_int notified;

static void note(void *owner)
{
	(void)owner;
	atomic_fetch_add(&notified, 1);
}

/* A pull source of n pseudo-random bytes, handed out in odd-sized reads;
 * fail_at >= 0 makes the read at that offset fail with EIO. */
struct feed {
	uint64_t n;
	uint64_t pos;
	int64_t fail_at;
};

static unsigned char byte_at(uint64_t i)
{
	return (unsigned char)((i * 2654435761u) >> 13);
}

static int64_t feed_read(void *buf, size_t len, void *ud)
{
	struct feed *f = ud;
	unsigned char *b = buf;
	size_t i, n = len > 77777 ? 77777 : len;

	if (f->fail_at >= 0 && f->pos >= (uint64_t)f->fail_at)
		return -EIO;
	if (f->pos + n > f->n) {
		n = (size_t)(f->n - f->pos);
	}
	for (i = 0; i < n; i++) {
		b[i] = byte_at(f->pos + i);
	}
	f->pos += n;
	return (int64_t)n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Takes everything until the end (releasing each part after checking its
 * bytes through the source), or until an error; returns the end code. */
static int drain(struct stream *s, const struct stream_plan *sp, unsigned *nparts,
		 uint64_t *total, int *err, int release)
{
	unsigned char *chk = malloc(4 * MiB);
	unsigned index;
	uint64_t off, len;
	int last, rc;
	char detail[200];

	assert_non_null(chk);
	*nparts = 0;
	for (;;) {
		rc = stream_take(s, &index, &off, &len, &last, err, detail, sizeof(detail));
		if (rc == 0) {
			sleep_ms(2);
			continue;
		}
		if (rc == 1) {
			uint64_t i;

			assert_int_equal(index, *nparts);
			assert_true(off == plan_stream_part_off(sp, index));
			assert_true(len <= plan_stream_part_len(sp, index));
			assert_true(len <= 4 * MiB);
			assert_int_equal(source_read(stream_source(s), chk, off, (size_t)len), 0);
			for (i = 0; i < len; i++) {
				if (chk[i] != byte_at(off + i))
					fail_msg("byte %llu differs", (unsigned long long)(off + i));
			}
			(*nparts)++;
			*total = off + len;
			if (release) {
				source_done_with(stream_source(s), off, len);
			}
			if (last) {
				rc = 2;
				break;
			}
			continue;
		}
		if (rc == 2) {
			*total = off;
		}
		break;
	}
	free(chk);
	return rc;
}

static void run_pull(uint64_t n, unsigned want_parts, int want_last_with_part)
{
	struct stream_plan sp = { 1 * MiB, 4 * MiB, 10000 };
	struct budget b;
	struct budget_share sh;
	struct feed f = { n, 0, -1 };
	struct stream *s;
	unsigned nparts;
	uint64_t total = 0;
	int err = 0, rc;

	budget_init(&b, 8 * MiB);
	budget_share_init(&sh, &b, 0);
	s = stream_new(feed_read, &f, &sp, &sh, note, NULL);
	assert_non_null(s);
	assert_int_equal(stream_start(s), 0);
	rc = drain(s, &sp, &nparts, &total, &err, 1);
	assert_int_equal(rc, 2);
	assert_int_equal(nparts, want_parts);
	assert_true(total == n);
	(void)want_last_with_part;
	stream_free(s);
	/* Every byte of the budget came back. */
	assert_int_equal(budget_try_acquire(&sh, 8 * MiB), 0);
	budget_release(&sh, 8 * MiB);
	budget_cleanup(&b);
}

static void test_pull_sizes(void **state)
{
	(void)state;
	run_pull(0, 0, 0);           /* empty: the end alone */
	run_pull(1, 1, 1);
	run_pull(1 * MiB - 1, 1, 1);
	run_pull(1 * MiB, 1, 1);     /* held back, then known to be the only part */
	run_pull(1 * MiB + 1, 2, 1);
	run_pull(3 * MiB + 7, 4, 1);
	run_pull(12 * MiB, 12, 0);   /* ends on a part boundary: the end comes alone */
}

/* The budget holds 3 parts; the consumer keeps them all: the reader must
 * wait, and go on only when one is released. */
static void test_backpressure(void **state)
{
	struct stream_plan sp = { 1 * MiB, 1 * MiB, 10000 };
	struct budget b;
	struct budget_share sh;
	struct feed f = { 10 * MiB, 0, -1 };
	struct stream *s;
	unsigned index, got = 0;
	uint64_t off, len;
	int last, err, i;
	char detail[200];

	(void)state;
	budget_init(&b, 3 * MiB);
	budget_share_init(&sh, &b, 0);
	s = stream_new(feed_read, &f, &sp, &sh, note, NULL);
	assert_int_equal(stream_start(s), 0);
	for (i = 0; i < 100 && got < 3; i++) {
		if (stream_take(s, &index, &off, &len, &last, &err, detail, sizeof(detail)) == 1) {
			got++;
		} else {
			sleep_ms(5);
		}
	}
	sleep_ms(200);
	/* Three parts fill the budget: the reader waits for a buffer before
	 * it reads on. */
	assert_int_equal(got, 3);
	assert_int_equal(stream_take(s, &index, &off, &len, &last, &err, detail, sizeof(detail)), 0);
	assert_true(f.pos == 3 * MiB);
	source_done_with(stream_source(s), 0, 1 * MiB);
	for (i = 0; i < 200; i++) {
		if (stream_take(s, &index, &off, &len, &last, &err, detail, sizeof(detail)) == 1)
			break;
		sleep_ms(5);
	}
	assert_true(i < 200);
	assert_int_equal(index, 3);
	stream_free(s);
	budget_cleanup(&b);
}

static void test_outgrown_and_read_error(void **state)
{
	struct stream_plan sp = { 1 * MiB, 1 * MiB, 3 };
	struct budget b;
	struct budget_share sh;
	struct feed f = { 3 * MiB + 1, 0, -1 };
	struct stream *s;
	unsigned nparts;
	uint64_t total = 0;
	int err = 0;

	(void)state;
	budget_init(&b, 8 * MiB);
	budget_share_init(&sh, &b, 0);
	s = stream_new(feed_read, &f, &sp, &sh, note, NULL);
	assert_int_equal(stream_start(s), 0);
	assert_int_equal(drain(s, &sp, &nparts, &total, &err, 1), 3);
	assert_int_equal(err, -E2BIG);
	stream_free(s);

	f = (struct feed){ 5 * MiB, 0, 2 * MiB + 5 };
	sp.max_parts = 10000;
	s = stream_new(feed_read, &f, &sp, &sh, note, NULL);
	assert_int_equal(stream_start(s), 0);
	assert_int_equal(drain(s, &sp, &nparts, &total, &err, 1), 3);
	assert_int_equal(err, -EIO);
	stream_free(s);
	budget_cleanup(&b);
}

struct writer {
	struct stream *s;
	hoist_status st;
	atomic_int done;
};

static void *write_lots(void *arg)
{
	struct writer *w = arg;
	static unsigned char chunk[256 * 1024];
	int i;

	for (i = 0; i < 64; i++) {
		w->st = stream_write(w->s, chunk, sizeof(chunk));
		if (w->st != HOIST_OK)
			break;
	}
	atomic_store(&w->done, 1);
	return NULL;
}

/* A push writer blocked by a full budget is released by the consumer's
 * failure, and every later write returns that failure at once. */
static void test_push_blocked_then_failed(void **state)
{
	struct stream_plan sp = { 1 * MiB, 1 * MiB, 10000 };
	struct budget b;
	struct budget_share sh;
	struct writer w = { 0 };
	pthread_t t;

	(void)state;
	budget_init(&b, 2 * MiB);
	budget_share_init(&sh, &b, 0);
	w.s = stream_new(NULL, NULL, &sp, &sh, note, NULL);
	assert_non_null(w.s);
	pthread_create(&t, NULL, write_lots, &w);
	sleep_ms(300);
	assert_int_equal(atomic_load(&w.done), 0); /* blocked: 2 MiB of 16 written */
	stream_fail(w.s, HOIST_E_CANCELLED);
	pthread_join(t, NULL);
	assert_int_equal(w.st, HOIST_E_CANCELLED);
	assert_int_equal(stream_write(w.s, "x", 1), HOIST_E_CANCELLED);
	assert_int_equal(stream_close(w.s), HOIST_E_CANCELLED);
	stream_free(w.s);
	budget_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pull_sizes),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_outgrown_and_read_error),
		cmocka_unit_test(test_push_blocked_then_failed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
