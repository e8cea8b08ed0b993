/*
 * test_plan.c - part planning from 0 bytes to 48.8 TiB (the 10,000 x 5 GiB
 * ceiling), both dialects: exact table rows for the boundaries, then an
 * invariant sweep over sizes and requested part sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hoist.h"
#include "plan.h"

#define KiB 1024ULL
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define TiB (1024ULL * GiB)

static const struct {
	enum hoist_dialect d;
	uint64_t size, requested;
	hoist_status st;
	uint64_t part;
	unsigned nparts;
} rows[] = {
	/* Small objects go by PutObject (nparts 0). */
	{ HOIST_DIALECT_OSS, 0, 0, HOIST_OK, 8 * MiB, 0 },
	{ HOIST_DIALECT_OSS, 1, 0, HOIST_OK, 8 * MiB, 0 },
	{ HOIST_DIALECT_OSS, 8 * MiB - 1, 0, HOIST_OK, 8 * MiB, 0 },
	{ HOIST_DIALECT_OSS, 8 * MiB, 0, HOIST_OK, 8 * MiB, 0 },
	{ HOIST_DIALECT_OSS, 8 * MiB + 1, 0, HOIST_OK, 8 * MiB, 2 },
	{ HOIST_DIALECT_OSS, 3 * 8 * MiB + 7, 0, HOIST_OK, 8 * MiB, 4 },
	/* The OSS minimum part is 100 KiB (102400). */
	{ HOIST_DIALECT_OSS, 102399, 102400, HOIST_OK, 102400, 0 },
	{ HOIST_DIALECT_OSS, 102400, 102400, HOIST_OK, 102400, 0 },
	{ HOIST_DIALECT_OSS, 102401, 102400, HOIST_OK, 102400, 2 },
	{ HOIST_DIALECT_OSS, 1 * MiB, 1, HOIST_OK, 102400, 11 },
	{ HOIST_DIALECT_OSS, 1 * MiB, 50 * KiB, HOIST_OK, 102400, 11 },
	/* S3: 5 MiB minimum. */
	{ HOIST_DIALECT_S3, 5 * MiB - 1, 1 * MiB, HOIST_OK, 5 * MiB, 0 },
	{ HOIST_DIALECT_S3, 5 * MiB, 1 * MiB, HOIST_OK, 5 * MiB, 0 },
	{ HOIST_DIALECT_S3, 5 * MiB + 1, 1 * MiB, HOIST_OK, 5 * MiB, 2 },
	{ HOIST_DIALECT_S3, 200 * MiB, 0, HOIST_OK, 8 * MiB, 25 },
	/* 10,000 parts exactly, then one byte more grows the part (whole MiB). */
	{ HOIST_DIALECT_OSS, 10000 * 8 * MiB, 0, HOIST_OK, 8 * MiB, 10000 },
	{ HOIST_DIALECT_OSS, 10000 * 8 * MiB + 1, 0, HOIST_OK, 9 * MiB, 8889 },
	{ HOIST_DIALECT_OSS, 1 * TiB, 0, HOIST_OK, 105 * MiB, 9987 },
	/* The ceiling: 10,000 x 5 GiB = 48.8 TiB. */
	{ HOIST_DIALECT_OSS, 10000 * 5 * GiB, 0, HOIST_OK, 5 * GiB, 10000 },
	{ HOIST_DIALECT_S3, 10000 * 5 * GiB, 0, HOIST_OK, 5 * GiB, 10000 },
	{ HOIST_DIALECT_OSS, 10000 * 5 * GiB + 1, 0, HOIST_E_INVALID_ARG, 0, 0 },
	{ HOIST_DIALECT_OSS, 48 * TiB, 5 * GiB, HOIST_OK, 5 * GiB, 9831 },
	/* A requested part above 5 GiB is refused; exactly 5 GiB is fine. */
	{ HOIST_DIALECT_OSS, 1 * GiB, 5 * GiB + 1, HOIST_E_INVALID_ARG, 0, 0 },
	{ HOIST_DIALECT_OSS, 6 * GiB, 5 * GiB, HOIST_OK, 5 * GiB, 2 },
	{ HOIST_DIALECT_OSS, 5 * GiB, 5 * GiB, HOIST_OK, 5 * GiB, 0 },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t part = 12345;
		unsigned n = 777;
		hoist_status st = hoist_plan_parts(rows[i].size, rows[i].requested, rows[i].d,
						   &part, &n);

		if (st != rows[i].st || (st == HOIST_OK && (part != rows[i].part ||
							    n != rows[i].nparts))) {
			print_error("row %zu: size %llu req %llu -> st %d part %llu n %u\n", i,
				    (unsigned long long)rows[i].size,
				    (unsigned long long)rows[i].requested, st,
				    (unsigned long long)part, n);
			fail();
		}
	}
}

/* Every plan must cover the object exactly, respect the limits, and keep
 * the requested size when it is legal and sufficient. */
static void check_invariants(enum hoist_dialect d, uint64_t size, uint64_t req)
{
	uint64_t min = d == HOIST_DIALECT_S3 ? 5 * MiB : 100 * KiB;
	struct plan p;
	uint64_t sum = 0, want = req ? req : 8 * MiB;
	unsigned i;

	assert_int_equal(plan_make(&p, size, req, d), HOIST_OK);
	assert_true(p.part_size >= min);
	assert_true(p.part_size <= 5 * GiB);
	if (want < min)
		want = min;
	if ((size + 9999) / 10000 <= want)
		assert_true(p.part_size == want);
	if (p.nparts == 0) {
		assert_true(size <= p.part_size);
		assert_true(plan_part_len(&p, 0) == size);
		return;
	}
	assert_true(p.nparts >= 2 && p.nparts <= 10000);
	for (i = 0; i < p.nparts; i++) {
		uint64_t len = plan_part_len(&p, i);

		assert_true(plan_part_offset(&p, i) == sum);
		assert_true(len > 0);
		if (i + 1 < p.nparts)
			assert_true(len == p.part_size);
		sum += len;
	}
	assert_true(sum == size);
	assert_true(plan_part_len(&p, p.nparts) == 0);
}

static void test_invariants(void **state)
{
	static const uint64_t reqs[] = { 0, 1, 100 * KiB, 1 * MiB, 5 * MiB, 8 * MiB,
					 64 * MiB + 3, 1 * GiB, 5 * GiB };
	uint64_t x = 88172645463325252ULL;
	size_t r;
	int i;

	(void)state;
	for (r = 0; r < sizeof(reqs) / sizeof(reqs[0]); r++) {
		for (i = 0; i < 200; i++) {
			uint64_t size;

			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Spread sizes over 0 .. 48.8 TiB on a log scale. */
			size = x % (10000 * 5 * GiB + 1) >> (x % 46);
			if (size > 60 * GiB && reqs[r] < 16 * MiB && i % 4)
				size >>= 10; /* keep the per-part loop short */
			check_invariants(HOIST_DIALECT_OSS, size, reqs[r]);
			check_invariants(HOIST_DIALECT_S3, size, reqs[r]);
		}
	}
	check_invariants(HOIST_DIALECT_OSS, 10000 * 5 * GiB, 0);
	check_invariants(HOIST_DIALECT_OSS, 10000 * 5 * GiB - 1, 1);
}

static void test_bad_args(void **state)
{
	uint64_t part;
	unsigned n;

	(void)state;
	assert_int_equal(hoist_plan_parts(1, 0, HOIST_DIALECT_OSS, NULL, &n), HOIST_E_INVALID_ARG);
	assert_int_equal(hoist_plan_parts(1, 0, HOIST_DIALECT_OSS, &part, NULL), HOIST_E_INVALID_ARG);
	assert_int_equal(hoist_plan_parts(1, 0, (enum hoist_dialect)7, &part, &n),
			 HOIST_E_INVALID_ARG);
}

/* Streams: the schedule derived from the budget.  The largest stream for
 * several budgets (the table hoist.h and `hoist cp --help` print), the
 * 10,000-part edge, offsets and indexes that agree part by part, and the
 * refusals: a budget too small for two parts, a part size it cannot hold,
 * an expected size it cannot carry. */
static uint64_t slow_capacity(const struct stream_plan *sp)
{
	uint64_t sum = 0;
	unsigned i;

	for (i = 0; i < sp->max_parts; i++) {
		sum += plan_stream_part_len(sp, i);
	}
	return sum;
}

static void test_stream_schedule(void **state)
{
	static const struct {
		uint64_t budget;
		uint64_t max;
		uint64_t capacity;  /* computed by hand: 1,000 parts a block */
	} srows[] = {
		{ 64 * MiB, 32 * MiB, 1000 * (8 + 16) * MiB + 8000 * 32 * MiB },
		{ 256 * MiB, 128 * MiB, 1000 * (8 + 16 + 32 + 64) * MiB + 6000 * 128 * MiB },
		{ 1 * GiB, 512 * MiB,
		  1000 * (8 + 16 + 32 + 64 + 128 + 256) * MiB + 4000 * 512 * MiB },
		{ 10 * GiB, 5 * GiB,
		  1000 * (8 + 16 + 32 + 64 + 128 + 256 + 512 + 1024 + 2048 + 4096) * MiB },
	};
	struct stream_plan sp;
	char err[256];
	unsigned r, i;

	(void)state;
	for (r = 0; r < sizeof(srows) / sizeof(srows[0]); r++) {
		assert_int_equal(plan_stream(&sp, srows[r].budget, 0, 0, HOIST_DIALECT_OSS, err,
					     sizeof(err)), HOIST_OK);
		assert_true(sp.start == 8 * MiB && sp.max == srows[r].max);
		assert_true(plan_stream_capacity(&sp) == srows[r].capacity);
		assert_true(slow_capacity(&sp) == srows[r].capacity);
		/* Offsets and indexes agree at every block edge and inside. */
		for (i = 0; i < sp.max_parts; i += 499) {
			uint64_t off = plan_stream_part_off(&sp, i);

			assert_int_equal(plan_stream_index(&sp, off), i);
			assert_int_equal(plan_stream_index(&sp, off + plan_stream_part_len(&sp, i) - 1), i);
			assert_true(plan_stream_part_off(&sp, i + 1) == off + plan_stream_part_len(&sp, i));
		}
		assert_int_equal(plan_stream_index(&sp, srows[r].capacity - 1), sp.max_parts - 1);
		assert_int_equal(plan_stream_index(&sp, srows[r].capacity), sp.max_parts);
		/* Every part fits twice in the budget. */
		assert_true(2 * plan_stream_part_len(&sp, sp.max_parts - 1) <= srows[r].budget);
	}
	/* 0 and 1 byte expected: the default schedule. */
	assert_int_equal(plan_stream(&sp, 256 * MiB, 0, 0, HOIST_DIALECT_OSS, err, sizeof(err)), 0);
	assert_true(plan_stream_part_len(&sp, 0) == 8 * MiB);
	assert_int_equal(plan_stream(&sp, 256 * MiB, 1, 0, HOIST_DIALECT_OSS, err, sizeof(err)), 0);
	assert_true(sp.start == 8 * MiB);
	/* An expected size beyond the default capacity raises the start
	 * just enough (whole MiB); one byte more than the budget can carry is
	 * refused with the --memory-limit it would need. */
	assert_int_equal(plan_stream(&sp, 256 * MiB, 1000 * GiB, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_OK);
	assert_true(plan_stream_capacity(&sp) >= 1000 * GiB);
	sp.start -= MiB;
	assert_true(plan_stream_capacity(&sp) < 1000 * GiB);
	assert_int_equal(plan_stream(&sp, 256 * MiB, 10000 * 128 * MiB, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_OK);
	assert_true(sp.start == 128 * MiB);
	assert_int_equal(plan_stream(&sp, 256 * MiB, 10000 * 128 * MiB + 1, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_E_INVALID_ARG);
	assert_non_null(strstr(err, "--memory-limit"));
	/* 48.8 TiB needs 5 GiB parts: a 10 GiB budget; nothing carries more. */
	assert_int_equal(plan_stream(&sp, 10 * GiB, 10000 * 5 * GiB, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_OK);
	assert_int_equal(plan_stream(&sp, 10 * GiB - MiB, 10000 * 5 * GiB, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_E_INVALID_ARG);
	assert_int_equal(plan_stream(&sp, 64 * GiB, 10000 * 5 * GiB + 1, 0, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_E_INVALID_ARG);
	assert_non_null(strstr(err, "the most an object can be"));
	/* Two parts must fit: S3's 5 MiB minimum needs 10 MiB. */
	assert_int_equal(plan_stream(&sp, 9 * MiB, 0, 0, HOIST_DIALECT_S3, err, sizeof(err)),
			 HOIST_E_INVALID_ARG);
	assert_int_equal(plan_stream(&sp, 10 * MiB, 0, 0, HOIST_DIALECT_S3, err, sizeof(err)),
			 HOIST_OK);
	assert_true(sp.start == 5 * MiB && sp.max == 5 * MiB);
	/* A small budget lowers the default part; a requested one it cannot
	 * hold is refused. */
	assert_int_equal(plan_stream(&sp, 4 * MiB, 0, 0, HOIST_DIALECT_OSS, err, sizeof(err)), 0);
	assert_true(sp.start == 2 * MiB && sp.max == 2 * MiB);
	assert_int_equal(plan_stream(&sp, 64 * MiB, 0, 64 * MiB, HOIST_DIALECT_OSS, err,
				     sizeof(err)), HOIST_E_INVALID_ARG);
	assert_non_null(strstr(err, "--part-size"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_stream_schedule),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
