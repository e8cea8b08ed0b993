/*
 * test_engine_concurrency.c - the adaptive in-flight limit (concurrency.c)
 * against model networks in simulated time (1 ms steps).
 *
 * The model: requests of part_bytes each; a request's body flows at
 * min(per-stream cap, shared cap / bodies flowing), times a noise factor
 * drawn per request; its answer comes one round trip after its last byte.
 * The controller sees only what the engine gives it: the round trip of a
 * bodiless request, slots taken and given back, finished requests with
 * their bytes and latency, throttling answers, and a sample every ms.
 *  - long fat network (30 ms, 25 MB/s per stream, 1.6 GB/s shared): >= 56
 *    streams within 6 round trips, and the upload as fast as 64 fixed;
 *  - loopback (full at 8 streams): goodput at the cap, growth stops;
 *  - throttling (503 above 24 in flight): the limit backs off and stays
 *    near what the server takes;
 *  - noise (+-30 % per request, and one request in 20 three times slower)
 *    on a path that needs 200 streams: never walks down;
 *  - the tail (fewer parts than slots) decides nothing; fixed never moves;
 *  - small objects: a window spans 100 ms at least; a feeder that cannot
 *    fill a step up has that step undone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "concurrency.h"

#define MB 1e6
#define MAXREQ 4096

struct model {
	double rtt_ms;
	double stream_Bps;    /* per-stream cap */
	double cap_Bps;       /* shared cap */
	double part_bytes;
	unsigned nparts;      /* 0: endless */
	double noise;         /* +- fraction per request */
	unsigned slow_every;  /* every Nth request 3x slower; 0: none */
	unsigned throttle_above; /* 503 SlowDown when more in flight; 0: never */
	unsigned feed_max;    /* the client keeps at most this many in flight; 0: no bound */
};

struct req {
	double left;          /* body bytes to go */
	double factor;
	uint64_t start_ms;
	uint64_t answer_ms;   /* 0: body still flowing */
	unsigned epoch;
	int throttled;
};

struct sim {
	struct model m;
	struct concurrency c;
	struct req r[MAXREQ];
	unsigned n;           /* requests in flight */
	uint64_t now;
	unsigned started;     /* parts started (first attempts) */
	unsigned retry;       /* parts waiting to be re-sent */
	unsigned done;
	double delivered;     /* bytes of finished parts */
	unsigned throttles;
	unsigned min_after;   /* the lowest limit since `watch` was set */
	unsigned watch;
	unsigned max_seen;
	uint64_t seed;
};

static double rnd(struct sim *s)
{
	s->seed = s->seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(s->seed >> 11) / 9007199254740992.0;
}

static void sim_init(struct sim *s, const struct model *m, unsigned jobs, int fixed)
{
	memset(s, 0, sizeof(*s));
	s->m = *m;
	s->now = 1000;
	s->seed = 42;
	concurrency_init(&s->c, jobs, fixed, s->now);
	/* What Initiate tells the engine before the first part. */
	concurrency_round_trip(&s->c, m->rtt_ms);
	s->max_seen = s->c.limit;
	s->min_after = ~0u;
}

static int parts_left(const struct sim *s)
{
	return s->retry || !s->m.nparts || s->started < s->m.nparts;
}

static void start_requests(struct sim *s)
{
	while (concurrency_may_start(&s->c) && parts_left(s) && s->n < MAXREQ &&
	       (!s->m.feed_max || s->n < s->m.feed_max)) {
		struct req *q = &s->r[s->n++];
		unsigned nth = s->started + s->retry;

		memset(q, 0, sizeof(*q));
		q->left = s->m.part_bytes;
		q->factor = 1 + s->m.noise * (2 * rnd(s) - 1);
		if (s->m.slow_every && nth % s->m.slow_every == 0) {
			q->factor /= 3;
		}
		q->start_ms = s->now;
		q->epoch = concurrency_take(&s->c);
		if (s->retry) {
			s->retry--;
		} else {
			s->started++;
		}
		if (s->m.throttle_above && s->n > s->m.throttle_above) {
			q->throttled = 1; /* answered 503 after a round trip */
			q->left = 0;
			q->answer_ms = s->now + (uint64_t)s->m.rtt_ms;
		}
	}
}

/* One ms of the model. */
static void step(struct sim *s)
{
	unsigned i, flowing = 0;
	double share;

	s->now++;
	for (i = 0; i < s->n; i++) {
		flowing += s->r[i].answer_ms == 0;
	}
	share = flowing ? s->m.cap_Bps / flowing : 0;
	if (share > s->m.stream_Bps) {
		share = s->m.stream_Bps;
	}
	for (i = 0; i < s->n; i++) {
		struct req *q = &s->r[i];

		if (q->answer_ms)
			continue;
		q->left -= share * q->factor / 1000.0;
		if (q->left <= 0) {
			q->answer_ms = s->now + (uint64_t)s->m.rtt_ms;
		}
	}
	for (i = 0; i < s->n;) {
		struct req q = s->r[i];

		if (!q.answer_ms || q.answer_ms > s->now) {
			i++;
			continue;
		}
		s->r[i] = s->r[--s->n];
		concurrency_give(&s->c);
		if (q.throttled) {
			s->throttles++;
			s->retry++;
			concurrency_throttled(&s->c, s->now);
			continue;
		}
		s->done++;
		s->delivered += s->m.part_bytes;
		concurrency_done(&s->c, s->now, q.epoch, (uint64_t)s->m.part_bytes,
				 (double)(s->now - q.start_ms));
	}
	concurrency_sample(&s->c, s->now);
	start_requests(s);
	assert_true(s->c.limit >= 1 && s->c.limit <= s->c.max);
	if (s->c.limit > s->max_seen) {
		s->max_seen = s->c.limit;
	}
	if (s->watch && s->c.limit < s->min_after) {
		s->min_after = s->c.limit;
	}
}

/* Runs ms of simulated time, or until every part is done. */
static void sim_run(struct sim *s, uint64_t ms)
{
	uint64_t end = s->now + ms;

	if (s->now == 1000) {
		start_requests(s);
	}
	while (s->now < end && (parts_left(s) || s->n)) {
		step(s);
	}
}

/* Time until the limit first reaches at least n (ms), or UINT64_MAX. */
static uint64_t time_to(struct sim *s, unsigned n, uint64_t within)
{
	uint64_t t0 = s->now;

	start_requests(s);
	while (s->now - t0 < within) {
		if (s->c.limit >= n)
			return s->now - t0;
		step(s);
	}
	return UINT64_MAX;
}

static const struct model lfn = {
	.rtt_ms = 30, .stream_Bps = 25 * MB, .cap_Bps = 1600 * MB, .part_bytes = 8 << 20,
};

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

static void test_long_fat_network(void **state)
{
	static struct sim s, f;
	struct model m = lfn;
	uint64_t t, t_fixed;

	(void)state;
	/* 64 streams fill it (64 x 25 MB/s = 1.6 GB/s). */
	for (unsigned jobs = 64; jobs <= 256; jobs *= 4) {
		sim_init(&s, &m, jobs, 0);
		t = time_to(&s, 56, 6 * 30);
		print_message("jobs %u: >= 56 streams after %llu ms\n", jobs,
			      (unsigned long long)t);
		assert_true(t <= 6 * 30);
	}

	/* A whole 1 GiB upload (128 parts) against --fixed-jobs 64. */
	m.nparts = 128;
	sim_init(&s, &m, 64, 0);
	sim_run(&s, 60000);
	sim_init(&f, &m, 64, 1);
	sim_run(&f, 60000);
	t = s.now - 1000;
	t_fixed = f.now - 1000;
	print_message("1 GiB: adaptive %llu ms, fixed 64 %llu ms\n", (unsigned long long)t,
		      (unsigned long long)t_fixed);
	assert_int_equal(s.done, 128);
	assert_true(t * 90 <= t_fixed * 100);
}

static void test_wan_100ms(void **state)
{
	static struct sim s, f;
	/* 100 ms, 10 MB/s per stream, a wide path: with --jobs 256 the
	 * default must be within 10 % of 256 fixed for 1 GiB. */
	struct model m = { .rtt_ms = 100, .stream_Bps = 10 * MB, .cap_Bps = 10000 * MB,
			   .part_bytes = 8 << 20, .nparts = 128 };
	uint64_t t, t_fixed;

	(void)state;
	sim_init(&s, &m, 256, 0);
	sim_run(&s, 60000);
	sim_init(&f, &m, 256, 1);
	sim_run(&f, 60000);
	t = s.now - 1000;
	t_fixed = f.now - 1000;
	print_message("100 ms: adaptive %llu ms, fixed 256 %llu ms\n", (unsigned long long)t,
		      (unsigned long long)t_fixed);
	assert_true(t * 90 <= t_fixed * 100);
}

static void test_loopback(void **state)
{
	static struct sim s;
	/* 250 MB/s per stream, 2 GB/s for the host: full at 8. */
	struct model m = { .rtt_ms = 0.2, .stream_Bps = 250 * MB, .cap_Bps = 2000 * MB,
			   .part_bytes = 8 << 20 };
	double before;
	unsigned at;

	(void)state;
	sim_init(&s, &m, 256, 0);
	/* No blind step on a LAN: before the first part is back (33 ms) the
	 * limit is still the start. */
	sim_run(&s, 30);
	assert_int_equal(s.c.limit, CONCURRENCY_START);
	sim_run(&s, 2000);
	at = s.c.limit;
	/* Growth stopped where the path is full: the one step past it bought
	 * nothing and was undone, whatever jobs allows. */
	print_message("loopback: limit %u after 2 s, at most %u\n", at, s.max_seen);
	assert_true(at >= 8 && at <= 10);
	assert_true(s.max_seen <= 32);
	before = s.delivered;
	sim_run(&s, 10000);
	print_message("loopback: limit %u, at most %u, %.0f MB/s\n", s.c.limit, s.max_seen,
		      (s.delivered - before) / 10.0 / MB);
	assert_true(s.max_seen <= 256);
	assert_true(s.c.limit <= at * 5 / 4 + 1);
	assert_true((s.delivered - before) / 10.0 >= 0.95 * m.cap_Bps);
}

/* Objects of 1 MiB over a full loopback, each +-30 %: four of them finish
 * in 5 ms, and windows that short would read the host's noise as gains or
 * losses.  A window spans 100 ms at least, whatever the objects. */
static void test_small_objects_windows_span(void **state)
{
	static struct sim s;
	/* 100 MB/s per stream, 800 MB/s for the host: full at 8. */
	struct model m = { .rtt_ms = 0.2, .stream_Bps = 100 * MB, .cap_Bps = 800 * MB,
			   .part_bytes = 1 << 20, .noise = 0.3 };

	(void)state;
	sim_init(&s, &m, 256, 0);
	sim_run(&s, 10000);
	print_message("1 MiB objects: %u windows in 10 s, %u objects, limit %u\n", s.c.windows,
		      s.done, s.c.limit);
	assert_true(s.done > 5000);
	assert_true(s.c.windows >= 50);
	assert_true(s.c.windows <= 10000 / 100);
	/* The path is full at 8: noise must not ratchet the limit far past
	 * it (with windows of 5 ms it reached 208 here). */
	assert_true(s.c.limit <= 20);
}

/* A feeder that keeps only 12 requests in flight (a tree whose files are
 * committed on one thread): 8 slots stay busy, so the first window steps
 * to 16, which the feeder cannot fill; those windows are never busy, and
 * the step is undone rather than kept for the whole run. */
static void test_feeder_bound_undoes_step(void **state)
{
	static struct sim s;
	struct model m = { .rtt_ms = 0.2, .stream_Bps = 250 * MB, .cap_Bps = 2000 * MB,
			   .part_bytes = 1 << 20, .feed_max = 12 };

	(void)state;
	sim_init(&s, &m, 64, 0);
	sim_run(&s, 5000);
	print_message("feeder of 12: limit %u after 5 s, at most %u\n", s.c.limit, s.max_seen);
	assert_true(s.max_seen > CONCURRENCY_START); /* it did step up */
	assert_int_equal(s.c.limit, CONCURRENCY_START);
}

static void test_lan_capped_streams(void **state)
{
	static struct sim s;
	/* A LAN (0.5 ms) to a store that caps each connection at 100 MB/s,
	 * 2 GB/s for the host: needs 20 streams, found from evidence alone
	 * (no blind steps below 8 ms). */
	struct model m = { .rtt_ms = 0.5, .stream_Bps = 100 * MB, .cap_Bps = 2000 * MB,
			   .part_bytes = 8 << 20 };
	uint64_t t;
	double before;

	(void)state;
	sim_init(&s, &m, 256, 0);
	t = time_to(&s, 20, 1000);
	print_message("capped LAN: >= 20 streams after %llu ms\n", (unsigned long long)t);
	assert_true(t <= 1000);
	before = s.delivered;
	sim_run(&s, 10000);
	print_message("capped LAN: limit %u, %.0f MB/s\n", s.c.limit,
		      (s.delivered - before) / 10.0 / MB);
	assert_true((s.delivered - before) / 10.0 >= 0.90 * m.cap_Bps);
}

static void test_throttled(void **state)
{
	static struct sim s;
	/* A server that answers 503 SlowDown above 24 requests in flight. */
	struct model m = lfn;
	unsigned throttles_early;
	double limit_sum = 0;
	int i;

	(void)state;
	m.throttle_above = 24;
	sim_init(&s, &m, 256, 0);
	sim_run(&s, 2000);
	assert_true(s.throttles > 0);
	assert_true(s.c.limit <= 32);
	throttles_early = s.throttles;
	for (i = 0; i < 60; i++) {
		sim_run(&s, 1000);
		limit_sum += s.c.limit;
	}
	print_message("throttled: %u 503s in the first 2 s, %u in 60 s more; mean limit %.1f\n",
		      throttles_early, s.throttles - throttles_early, limit_sum / 60);
	/* Backed off and stays near what the server takes: probes above it
	 * cost a few 503s now and then, not a stream of them. */
	assert_true(limit_sum / 60 >= 8 && limit_sum / 60 <= 32);
	assert_true(s.throttles - throttles_early < 400);

	/* Cut once per burst: answers to parts sent together count once. */
	sim_init(&s, &lfn, 64, 0);
	sim_run(&s, 500);
	assert_int_equal(s.c.limit, 64);
	assert_int_equal(concurrency_throttled(&s.c, s.now), 1);
	assert_int_equal(s.c.limit, 32);
	assert_int_equal(concurrency_throttled(&s.c, s.now + 10), 0);
	assert_int_equal(s.c.limit, 32);
	/* Down to one stream, never zero. */
	for (i = 1; i <= 10; i++) {
		concurrency_throttled(&s.c, s.now + 20000 * (uint64_t)i);
	}
	assert_int_equal(s.c.limit, 1);
}

static void test_noisy_does_not_walk_down(void **state)
{
	static struct sim s;
	/* 10 ms, 10 MB/s per stream, 2 GB/s: needs 200 streams; 256 KiB
	 * requests (a tree of small objects), each +-30 % and one in 20
	 * three times slower. */
	struct model m = { .rtt_ms = 10, .stream_Bps = 10 * MB, .cap_Bps = 2000 * MB,
			   .part_bytes = 256 << 10, .noise = 0.3, .slow_every = 20 };
	double before;

	(void)state;
	sim_init(&s, &m, 1024, 0);
	assert_true(time_to(&s, 200, 3000) != UINT64_MAX);
	s.watch = 1;
	before = s.delivered;
	sim_run(&s, 60000);
	print_message("noisy: limit %u, lowest %u after reaching 200, %u windows, %.0f MB/s\n",
		      s.c.limit, s.min_after, s.c.windows, (s.delivered - before) / 60.0 / MB);
	assert_true(s.c.windows > 100);
	assert_true(s.min_after >= 200);
	assert_true((s.delivered - before) / 60.0 >= 0.85 * m.cap_Bps);
}

static void test_tail_decides_nothing(void **state)
{
	static struct sim s;
	struct model m = lfn;
	unsigned before;

	(void)state;
	/* 3 parts for 8 slots: never busy, never a window, no growth. */
	m.nparts = 3;
	sim_init(&s, &m, 64, 0);
	before = s.c.limit;
	sim_run(&s, 5000);
	assert_int_equal(s.done, 3);
	assert_int_equal(s.c.limit, before);
	assert_int_equal(s.c.windows, 0);
}

static void test_fixed(void **state)
{
	static struct sim s;

	(void)state;
	sim_init(&s, &lfn, 48, 1);
	sim_run(&s, 3000);
	assert_int_equal(s.c.limit, 48);
	assert_int_equal(s.max_seen, 48);
	assert_int_equal(concurrency_throttled(&s.c, s.now), 0);
	assert_int_equal(s.c.limit, 48);
}

static void test_shared_bound(void **state)
{
	struct concurrency c;
	unsigned i;

	(void)state;
	/* Two transfers drawing on one controller are bounded together. */
	concurrency_init(&c, 8, 1, 0);
	for (i = 0; i < 20 && concurrency_may_start(&c); i++) {
		concurrency_take(&c);
	}
	assert_int_equal(i, 8);
	concurrency_give(&c);
	assert_true(concurrency_may_start(&c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start),
		cmocka_unit_test(test_long_fat_network),
		cmocka_unit_test(test_wan_100ms),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_small_objects_windows_span),
		cmocka_unit_test(test_feeder_bound_undoes_step),
		cmocka_unit_test(test_lan_capped_streams),
		cmocka_unit_test(test_throttled),
		cmocka_unit_test(test_noisy_does_not_walk_down),
		cmocka_unit_test(test_tail_decides_nothing),
		cmocka_unit_test(test_fixed),
		cmocka_unit_test(test_shared_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
