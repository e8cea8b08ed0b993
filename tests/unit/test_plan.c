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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_invariants),
		cmocka_unit_test(test_bad_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
