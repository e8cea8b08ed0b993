/*
 * test_pacer.c - the public pacer (hoist_pacer_*, pacer.c) through
 * include/hoist.h only.
 *
 * The rules a tree download leans on: the adaptive start (8 slots, or
 * max when fewer), admission by slots (a wide transfer alone when nothing
 * runs), fixed never moving, a long round trip starting wider, throttling
 * halving, failures being no evidence; then two model paths in real time
 * (the pacer keeps its own clock for the slots in use) with the files'
 * seconds given exactly, so the decisions are deterministic:
 *  - a path whose streams do not share (each file 5 ms whatever the
 *    width): the limit grows past 32;
 *  - a LAN full at any width (a file's time grows with the width): it
 *    comes back to 8 after a step and never settles wider than a probe.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "hoist.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0) {
	}
}

static void test_arguments(void **state)
{
	struct hoist_pacer *p = (struct hoist_pacer *)1;

	(void)state;
	assert_int_equal(hoist_pacer_new(NULL, 8, 0), HOIST_E_INVALID_ARG);
	assert_int_equal(hoist_pacer_new(&p, 0, 0), HOIST_E_INVALID_ARG);
	assert_null(p);
	assert_int_equal(hoist_pacer_limit(NULL), 0);
	assert_int_equal(hoist_pacer_may_start(NULL, 1), 0);
	hoist_pacer_free(NULL);
}

static void test_start_and_admission(void **state)
{
	struct hoist_pacer *p = NULL;
	unsigned i, t[8];

	(void)state;
	assert_int_equal(hoist_pacer_new(&p, 64, 0), HOIST_OK);
	assert_int_equal(hoist_pacer_limit(p), 8);
	for (i = 0; i < 8; i++) {
		assert_true(hoist_pacer_may_start(p, 1));
		t[i] = hoist_pacer_start(p, 1);
	}
	assert_false(hoist_pacer_may_start(p, 1));
	hoist_pacer_done(p, t[0], 1, 0, 0.01, 0); /* a failure: a slot back */
	assert_true(hoist_pacer_may_start(p, 1));
	assert_false(hoist_pacer_may_start(p, 2));
	for (i = 1; i < 8; i++) {
		hoist_pacer_done(p, t[i], 1, 0, 0.01, 0);
	}
	assert_int_equal(hoist_pacer_limit(p), 8);
	/* Wider than the limit: alone, when nothing runs. */
	assert_true(hoist_pacer_may_start(p, 20));
	t[0] = hoist_pacer_start(p, 20);
	assert_false(hoist_pacer_may_start(p, 1));
	hoist_pacer_done(p, t[0], 20, 0, 0.01, 0);
	/* Multi-slot files count their slots. */
	t[0] = hoist_pacer_start(p, 3);
	t[1] = hoist_pacer_start(p, 3);
	assert_false(hoist_pacer_may_start(p, 3));
	assert_true(hoist_pacer_may_start(p, 2));
	hoist_pacer_done(p, t[0], 3, 0, 0.01, 0);
	hoist_pacer_done(p, t[1], 3, 0, 0.01, 0);
	hoist_pacer_free(p);

	assert_int_equal(hoist_pacer_new(&p, 4, 0), HOIST_OK);
	assert_int_equal(hoist_pacer_limit(p), 4);
	hoist_pacer_free(p);
}

static void test_fixed_round_trip_throttled(void **state)
{
	struct hoist_pacer *p = NULL;

	(void)state;
	assert_int_equal(hoist_pacer_new(&p, 64, 1), HOIST_OK);
	assert_int_equal(hoist_pacer_limit(p), 64);
	hoist_pacer_throttled(p);
	hoist_pacer_round_trip(p, 0.0001);
	assert_int_equal(hoist_pacer_limit(p), 64);
	hoist_pacer_free(p);

	/* A LAN's round trip leaves the start alone ... */
	assert_int_equal(hoist_pacer_new(&p, 64, 0), HOIST_OK);
	hoist_pacer_round_trip(p, 0.0005);
	assert_int_equal(hoist_pacer_limit(p), 8);
	hoist_pacer_free(p);
	/* ... a long one starts wider (4 GB/s of 4 MiB windows per 100 ms is
	 * 96 streams: capped at max), and throttling halves it. */
	assert_int_equal(hoist_pacer_new(&p, 64, 0), HOIST_OK);
	hoist_pacer_round_trip(p, 0.1);
	assert_int_equal(hoist_pacer_limit(p), 64);
	hoist_pacer_throttled(p);
	assert_int_equal(hoist_pacer_limit(p), 32);
	hoist_pacer_free(p);
}

/* Rounds of a model path: every round fills the limit with one-slot files
 * of 1 MiB, waits 5 ms with them in flight, then ends them all with the
 * seconds file_s(width) says.  Returns the widest limit seen; *last gets
 * the limit at the end. */
static unsigned run_model(struct hoist_pacer *p, unsigned rounds, double (*file_s)(unsigned),
			  unsigned *last)
{
	unsigned r, i, n, widest = 0, t[256];

	for (r = 0; r < rounds; r++) {
		for (n = 0; n < 256 && hoist_pacer_may_start(p, 1); n++) {
			t[n] = hoist_pacer_start(p, 1);
		}
		sleep_ms(5);
		for (i = 0; i < n; i++) {
			hoist_pacer_done(p, t[i], 1, 1u << 20, file_s(n), 1);
		}
		if (hoist_pacer_limit(p) > widest) {
			widest = hoist_pacer_limit(p);
		}
	}
	*last = hoist_pacer_limit(p);
	return widest;
}

static double unshared(unsigned width)
{
	(void)width;
	return 0.005;
}

static double shared(unsigned width)
{
	return 0.0005 * width; /* 2 GB/s at any width */
}

static void test_grows_where_streams_do_not_share(void **state)
{
	struct hoist_pacer *p = NULL;
	unsigned last;

	(void)state;
	assert_int_equal(hoist_pacer_new(&p, 64, 0), HOIST_OK);
	hoist_pacer_round_trip(p, 0.002); /* short: no wider start, no blind steps */
	run_model(p, 60, unshared, &last);
	assert_true(last >= 32);
	hoist_pacer_free(p);
}

static void test_stays_narrow_on_a_full_lan(void **state)
{
	struct hoist_pacer *p = NULL;
	unsigned widest, last;

	(void)state;
	assert_int_equal(hoist_pacer_new(&p, 64, 0), HOIST_OK);
	hoist_pacer_round_trip(p, 0.0005);
	widest = run_model(p, 60, shared, &last);
	assert_true(widest >= 10); /* it did try */
	assert_true(last <= 10);   /* 8, or a probe of +25 % */
	hoist_pacer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arguments),
		cmocka_unit_test(test_start_and_admission),
		cmocka_unit_test(test_fixed_round_trip_throttled),
		cmocka_unit_test(test_grows_where_streams_do_not_share),
		cmocka_unit_test(test_stays_narrow_on_a_full_lan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
