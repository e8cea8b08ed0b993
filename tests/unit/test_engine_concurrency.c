/*
 * test_engine_concurrency.c - the adaptive in-flight limit (concurrency.c)
 * driven by model networks, 100 ms samples of simulated time:
 *  - a local link that is full at 8 streams and slows down with more
 *    (loopback on a small host): the limit stays at 8;
 *  - a long fat network where each stream carries 10 MB/s up to a cap:
 *    the limit doubles to the width the cap needs, never above jobs;
 *  - a path that widens later: a probe finds it and growth resumes;
 *  - throttling halves the limit once per burst and holds growth;
 *  - windows in which fewer parts were in flight than allowed (the tail,
 *    hashing behind) decide nothing; a fixed limit never moves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "concurrency.h"

/* Bytes per second at a given number of streams. */
typedef double (*model_fn)(unsigned streams, double param);

static double local_link(unsigned streams, double param)
{
	/* Full at 8; every stream beyond costs 1.5 % (memory traffic). */
	(void)param;
	if (streams <= 8) {
		return 1e9 * streams / 8.0;
	}
	return 1e9 * (1.0 - 0.015 * (streams - 8));
}

static double wide_network(unsigned streams, double cap)
{
	double r = 10e6 * streams;

	return r < cap ? r : cap;
}

struct sim {
	struct concurrency c;
	uint64_t now;      /* ms */
	double bytes;
	unsigned max_seen;
	unsigned changes;
	unsigned ticks_at[4097];
};

static void sim_init(struct sim *s, unsigned max, int fixed)
{
	memset(s, 0, sizeof(*s));
	s->now = 1000;
	concurrency_init(&s->c, max, fixed, s->now);
	s->max_seen = s->c.limit;
}

/* Runs seconds of simulated time; inflight is the limit unless starve
 * caps it. */
static void sim_run(struct sim *s, double seconds, model_fn m, double param,
		    unsigned starve)
{
	uint64_t end = s->now + (uint64_t)(seconds * 1000);

	while (s->now < end) {
		unsigned inflight = s->c.limit;

		if (starve && inflight > starve) {
			inflight = starve;
		}
		s->now += 100;
		s->bytes += m(inflight, param) * 0.1;
		if (concurrency_sample(&s->c, s->now, (uint64_t)s->bytes, inflight)) {
			s->changes++;
		}
		assert_true(s->c.limit >= 1 && s->c.limit <= s->c.max);
		if (s->c.limit > s->max_seen) {
			s->max_seen = s->c.limit;
		}
		s->ticks_at[s->c.limit]++;
	}
}

static void test_start(void **state)
{
	struct concurrency c;

	(void)state;
	concurrency_init(&c, 64, 0, 0);
	assert_int_equal(c.limit, CONCURRENCY_START);
	concurrency_init(&c, 3, 0, 0);
	assert_int_equal(c.limit, 3);
	concurrency_init(&c, 64, 1, 0);
	assert_int_equal(c.limit, 64);
	concurrency_init(&c, 0, 0, 0);
	assert_int_equal(c.limit, 1);
}

static void test_local_link_stays_small(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 64, 0);
	sim_run(&s, 120, local_link, 0, 0);
	/* One doubling tried (16 gains nothing), then probes of +25 % now
	 * and then, each undone. */
	assert_int_equal(s.c.limit, 8);
	assert_true(s.max_seen <= 16);
	assert_true(s.ticks_at[8] > 1200 * 85 / 100);
}

static void test_wide_network_grows(void **state)
{
	static struct sim s;

	(void)state;
	/* 500 MB/s needs 50 streams: 8, 16, 32, 64 (jobs). */
	sim_init(&s, 64, 0);
	sim_run(&s, 6, wide_network, 500e6, 0);
	assert_int_equal(s.c.limit, 64);
	sim_run(&s, 60, wide_network, 500e6, 0);
	assert_int_equal(s.c.limit, 64);

	/* Never above jobs, even when more would help. */
	sim_init(&s, 20, 0);
	sim_run(&s, 30, wide_network, 5e9, 0);
	assert_int_equal(s.c.limit, 20);
	assert_int_equal(s.max_seen, 20);

	/* 160 MB/s: 8 (80), 16 (160, doubled), 32 (160: no gain, back). */
	sim_init(&s, 256, 0);
	sim_run(&s, 60, wide_network, 160e6, 0);
	assert_int_equal(s.c.limit, 16);
	assert_true(s.max_seen <= 32);
}

static void test_path_widens(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 256, 0);
	sim_run(&s, 30, wide_network, 100e6, 0);
	assert_true(s.c.limit >= 8 && s.c.limit <= 16);
	/* More bandwidth appears: a probe sees it, doubling resumes. */
	sim_run(&s, 90, wide_network, 1e9, 0);
	assert_true(s.c.limit >= 100);
}

static void test_throttled(void **state)
{
	static struct sim s;
	uint64_t t;

	(void)state;
	sim_init(&s, 64, 0);
	sim_run(&s, 10, wide_network, 1e9, 0);
	assert_int_equal(s.c.limit, 64);
	/* A burst of 503s from parts sent together: one halving. */
	assert_int_equal(concurrency_throttled(&s.c, s.now), 1);
	assert_int_equal(s.c.limit, 32);
	assert_int_equal(concurrency_throttled(&s.c, s.now + 10), 0);
	assert_int_equal(concurrency_throttled(&s.c, s.now + 500), 0);
	assert_int_equal(s.c.limit, 32);
	/* Still throttled a window later: halved again. */
	t = s.now + 1000;
	assert_int_equal(concurrency_throttled(&s.c, t), 1);
	assert_int_equal(s.c.limit, 16);
	s.now = t;
	/* No growth while the hold lasts, however good the windows look. */
	sim_run(&s, 9, wide_network, 1e9, 0);
	assert_int_equal(s.c.limit, 16);
	/* Then probing finds the width again. */
	sim_run(&s, 60, wide_network, 1e9, 0);
	assert_int_equal(s.c.limit, 64);

	/* Down to one stream, never zero. */
	sim_init(&s, 4, 0);
	for (t = 0; t < 5; t++) {
		concurrency_throttled(&s.c, s.now + 2000 * (t + 1));
	}
	assert_int_equal(s.c.limit, 1);
}

static void test_starved_windows_decide_nothing(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 64, 0);
	sim_run(&s, 30, wide_network, 1e9, 5);
	assert_int_equal(s.c.limit, 8);
	assert_int_equal(s.changes, 0);
	/* A pause forgets the open window: the next one starts afresh. */
	concurrency_pause(&s.c);
	assert_int_equal(s.c.win_start_ms, 0);
}

static void test_fixed(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, 48, 1);
	sim_run(&s, 30, local_link, 0, 0);
	assert_int_equal(s.c.limit, 48);
	assert_int_equal(concurrency_throttled(&s.c, s.now), 0);
	assert_int_equal(s.c.limit, 48);
	assert_int_equal(s.changes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_local_link_stays_small),
		cmocka_unit_test(test_wide_network_grows),
		cmocka_unit_test(test_path_widens),
		cmocka_unit_test(test_throttled),
		cmocka_unit_test(test_starved_windows_decide_nothing),
		cmocka_unit_test(test_fixed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
