/*
 * test_md5mb.c - the multi-buffer MD5 (engine/md5mb.c) on every path this
 * CPU has, against OpenSSL's MD5 (checksum.h's md5_once, an EVP digest that
 * shares no code with md5mb) and RFC 1321's own test suite.
 *
 * What is varied: lane counts 1..33 (past the widest kernel, so batches
 * split), each lane a different length from 0 to 2 MiB with the block
 * edges (55, 56, 63, 64, 65 ...) among them, unaligned starts, messages
 * fed in pieces of random sizes (0 and 1 byte included) so that tails
 * carry across calls, and messages that end and are replaced by new ones
 * while the others are half done, as the hash pool does.  A path the CPU
 * lacks is skipped (and says so); the choice of path is tested through its
 * pure rule, md5mb_choose_from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "checksum.h"
#include "hoist.h"
#include "md5mb.h"

#define MAXLEN (2u << 20)
/* Random lengths, starts and pieces come from one buffer: the longest
 * message plus an offset of up to 63 bytes. */
static unsigned char *pool_bytes;

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static int setup(void **state)
{
	(void)state;
	pool_bytes = malloc(MAXLEN + 64);
	if (!pool_bytes)
		return -1;
	rng_state = 0x9E3779B97F4A7C15ULL;
	for (size_t i = 0; i < MAXLEN + 64; i++) {
		pool_bytes[i] = (unsigned char)(rnd() >> 24);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(pool_bytes);
	return 0;
}

/* Runs fn on every path this CPU has; says which it skips. */
static void each_impl(void (*fn)(enum md5mb_impl impl))
{
	static const enum md5mb_impl all[] = { MD5MB_SCALAR, MD5MB_AVX2, MD5MB_AVX512 };

	for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
		if (md5mb_supported(all[k])) {
			fn(all[k]);
		} else {
			print_message("skipping %s: not on this CPU\n", md5mb_name(all[k]));
		}
	}
}

static void hex16(char out[33], const uint8_t d[16])
{
	for (int i = 0; i < 16; i++) {
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	}
}

/* Asserts that ctx's digest is OpenSSL's MD5 of [p, p + n). */
static void expect_md5(struct md5mb_ctx *ctx, const void *p, size_t n,
		       enum md5mb_impl impl, const char *what, unsigned lane)
{
	uint8_t got[16], want[16];
	char g[33], w[33];

	md5mb_final(ctx, got);
	md5_once(want, p, n);
	if (memcmp(got, want, 16) != 0) {
		hex16(g, got);
		hex16(w, want);
		fail_msg("%s: %s lane %u, %zu bytes: md5mb %s, OpenSSL %s", md5mb_name(impl),
			 what, lane, n, g, w);
	}
}

/* ------------------------------------------------------------ RFC 1321 */

static const struct {
	const char *msg;
	const char *md5;
} rfc1321[] = {
	{ "", "d41d8cd98f00b204e9800998ecf8427e" },
	{ "a", "0cc175b9c0f1b6a831c399e269772661" },
	{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
	{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
	{ "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
	{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	  "d174ab98d277d9f5a5611c2c9f419d9f" },
	{ "1234567890123456789012345678901234567890123456789012345678901234567890"
	  "1234567890", "57edf4a22be3c955ac49da2e2107b67a" },
};
#define NRFC (sizeof(rfc1321) / sizeof(rfc1321[0]))

static void check_rfc(enum md5mb_impl impl, struct md5mb_ctx *ctx, unsigned i, const char *how)
{
	uint8_t d[16];
	char hex[33];

	md5mb_final(ctx, d);
	hex16(hex, d);
	if (strcmp(hex, rfc1321[i].md5) != 0) {
		fail_msg("%s, %s: MD5(\"%s\") = %s, RFC 1321 says %s", md5mb_name(impl), how,
			 rfc1321[i].msg, hex, rfc1321[i].md5);
	}
}

/* The suite three ways: all seven messages as one batch, each alone, and
 * all seven fed one byte per call (every tail carried across calls). */
static void test_rfc1321_suite_on(enum md5mb_impl impl)
{
	struct md5mb_ctx c[NRFC], *cp[NRFC];
	const void *d[NRFC];
	size_t l[NRFC];

	for (unsigned i = 0; i < NRFC; i++) {
		md5mb_init(&c[i]);
		cp[i] = &c[i];
		d[i] = rfc1321[i].msg;
		l[i] = strlen(rfc1321[i].msg);
	}
	md5mb_update(impl, cp, d, l, NRFC);
	for (unsigned i = 0; i < NRFC; i++) {
		check_rfc(impl, &c[i], i, "one batch");
	}
	for (unsigned i = 0; i < NRFC; i++) {
		md5mb_init(&c[i]);
		md5mb_update(impl, cp + i, d + i, l + i, 1);
		check_rfc(impl, &c[i], i, "alone");
	}
	for (unsigned i = 0; i < NRFC; i++) {
		md5mb_init(&c[i]);
	}
	for (size_t off = 0; off < 80; off++) {
		const void *pd[NRFC];
		size_t pl[NRFC];

		for (unsigned i = 0; i < NRFC; i++) {
			pd[i] = rfc1321[i].msg + (off < l[i] ? off : l[i]);
			pl[i] = off < l[i] ? 1 : 0;
		}
		md5mb_update(impl, cp, pd, pl, NRFC);
	}
	for (unsigned i = 0; i < NRFC; i++) {
		check_rfc(impl, &c[i], i, "a byte per call");
	}
	/* Only the 80-byte message has a whole block (the others are
	 * all tail and padding): in every lane at once, so that the
	 * block goes through the vector kernel and not the portable
	 * function that finishes a lone lane. */
	for (unsigned n = md5mb_lanes(impl) / 2; n <= md5mb_lanes(impl); n += n / 2 + 1) {
		struct md5mb_ctx w[MD5MB_MAX_LANES], *wp[MD5MB_MAX_LANES];
		const void *wd[MD5MB_MAX_LANES];
		size_t wl[MD5MB_MAX_LANES];

		for (unsigned i = 0; i < n; i++) {
			md5mb_init(&w[i]);
			wp[i] = &w[i];
			wd[i] = rfc1321[NRFC - 1].msg;
			wl[i] = strlen(rfc1321[NRFC - 1].msg);
		}
		md5mb_update(impl, wp, wd, wl, n);
		for (unsigned i = 0; i < n; i++) {
			check_rfc(impl, &w[i], NRFC - 1, "in every lane");
		}
	}
}

static void test_rfc1321_suite(void **state)
{
	(void)state;
	each_impl(test_rfc1321_suite_on);
}

/* ------------------------------------------------------- random batches */

/* Lengths that sit on MD5's edges: a tail of 55 still takes its length in
 * the same block, 56 needs a second; 64 and its neighbours cross a block. */
static size_t pick_len(size_t max)
{
	static const size_t edges[] = { 0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129 };

	if (rnd() % 4 == 0)
		return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	return rnd_below(max + 1);
}

struct msg {
	struct md5mb_ctx ctx;
	const unsigned char *p;
	size_t len;
	size_t fed;
};

/* Feeds every message of m[0..n) in random pieces, all of them in each
 * call, until each is whole; the piece size is drawn per call and per
 * lane, so lanes end at different calls. */
static void feed_all(enum md5mb_impl impl, struct msg *m, unsigned n, size_t max_piece)
{
	struct md5mb_ctx **cp = calloc(n, sizeof(*cp));
	const void **d = calloc(n, sizeof(*d));
	size_t *l = calloc(n, sizeof(*l));
	int left;

	assert_non_null(cp);
	assert_non_null(d);
	assert_non_null(l);
	do {
		left = 0;
		for (unsigned i = 0; i < n; i++) {
			size_t piece = rnd() % 8 == 0 ? rnd_below(2) : rnd_below(max_piece + 1);

			if (piece > m[i].len - m[i].fed) {
				piece = m[i].len - m[i].fed;
			}
			cp[i] = &m[i].ctx;
			d[i] = m[i].p + m[i].fed;
			l[i] = piece;
			m[i].fed += piece;
			left |= m[i].fed < m[i].len;
		}
		md5mb_update(impl, (struct md5mb_ctx *const *)cp, d, l, n);
	} while (left);
	free(cp);
	free(d);
	free(l);
}

static void random_batches(enum md5mb_impl impl, unsigned nmin, unsigned nmax,
			   size_t maxlen, size_t max_piece)
{
	struct msg m[40];

	for (unsigned n = nmin; n <= nmax; n++) {
		for (unsigned i = 0; i < n; i++) {
			m[i].len = pick_len(maxlen);
			m[i].p = pool_bytes + rnd_below(64);   /* unaligned starts */
			m[i].p += rnd_below(MAXLEN - m[i].len + 1);
			m[i].fed = 0;
			md5mb_init(&m[i].ctx);
		}
		feed_all(impl, m, n, max_piece);
		for (unsigned i = 0; i < n; i++) {
			expect_md5(&m[i].ctx, m[i].p, m[i].len, impl, "random batch", i);
		}
	}
}

/* 1..16 lanes, each up to 2 MiB fed in pieces of up to 256 KiB (the hash
 * pool's shape); 17..33 lanes shorter, so that the widest kernel's two
 * halves and the split into several passes are covered too. */
static void test_random_lengths_on(enum md5mb_impl impl)
{
	random_batches(impl, 1, 16, MAXLEN, 256 * 1024);
	random_batches(impl, 17, 33, 200 * 1024, 64 * 1024);
	/* Small pieces: tails carried across calls all the time. */
	random_batches(impl, 1, 33, 4096, 100);
}

static void test_random_lengths(void **state)
{
	(void)state;
	each_impl(test_random_lengths_on);
}

/* The hash pool's pattern: up to `lanes` messages at once, each advanced by
 * a piece per call; a message that is whole leaves and a new one takes its
 * place in the next call while the others are half done. */
static void test_lanes_join_while_others_run_on(enum md5mb_impl impl)
{
	unsigned width = md5mb_lanes(impl) + 3, started = 0, finished = 0;
	const unsigned total = 120;
	struct msg m[40];
	unsigned busy = 0;

	while (finished < total) {
		struct md5mb_ctx *cp[40];
		const void *d[40];
		size_t l[40];

		while (busy < width && started < total) {
			struct msg *x = &m[busy++];

			x->len = pick_len(300 * 1024);
			x->p = pool_bytes + rnd_below(MAXLEN - x->len + 1);
			x->fed = 0;
			md5mb_init(&x->ctx);
			started++;
		}
		for (unsigned i = 0; i < busy; i++) {
			size_t piece = rnd_below(64 * 1024);

			if (piece > m[i].len - m[i].fed) {
				piece = m[i].len - m[i].fed;
			}
			cp[i] = &m[i].ctx;
			d[i] = m[i].p + m[i].fed;
			l[i] = piece;
			m[i].fed += piece;
		}
		md5mb_update(impl, cp, d, l, busy);
		for (unsigned i = 0; i < busy;) {
			if (m[i].fed == m[i].len) {
				expect_md5(&m[i].ctx, m[i].p, m[i].len, impl, "joined", finished);
				finished++;
				m[i] = m[--busy];
				continue;
			}
			i++;
		}
	}
	assert_int_equal(busy, 0);
}

static void test_lanes_join_while_others_run(void **state)
{
	(void)state;
	each_impl(test_lanes_join_while_others_run_on);
}

/* Every split point of every message up to 200 bytes, in two pieces,
 * while 15 other lanes carry unrelated messages. */
static void test_every_split_on(enum md5mb_impl impl)
{
	for (size_t len = 0; len <= 200; len++) {
		for (size_t cut = 0; cut <= len; cut++) {
			struct md5mb_ctx c[16], *cp[16];
			const void *d[16];
			size_t l[16];

			for (unsigned i = 0; i < 16; i++) {
				md5mb_init(&c[i]);
				cp[i] = &c[i];
				d[i] = pool_bytes + 1000 * i + (i ? 0 : 3);
				l[i] = i ? 64 * i + cut : cut;
			}
			md5mb_update(impl, cp, d, l, 16);
			d[0] = pool_bytes + 3 + cut;
			l[0] = len - cut;
			md5mb_update(impl, cp, d, l, 1);
			expect_md5(&c[0], pool_bytes + 3, len, impl, "split", (unsigned)cut);
			for (unsigned i = 1; i < 16; i++) {
				expect_md5(&c[i], pool_bytes + 1000 * i, l[i], impl, "bystander", i);
			}
		}
	}
}

static void test_every_split(void **state)
{
	(void)state;
	each_impl(test_every_split_on);
}

/* ------------------------------------------------------------- choice */

static void test_choose_rule(void **state)
{
	const unsigned all = 1u << MD5MB_SCALAR | 1u << MD5MB_AVX2 | 1u << MD5MB_AVX512;
	const unsigned avx2 = 1u << MD5MB_SCALAR | 1u << MD5MB_AVX2;
	enum md5mb_impl impl = MD5MB_SCALAR;
	char err[160];

	(void)state;
	if (!md5mb_supported(MD5MB_AVX2)) {
		/* A build without kernels knows only scalar whatever CPUID says. */
		assert_int_equal(md5mb_choose_from(&impl, NULL, all, err, sizeof(err)), 0);
		assert_int_equal(impl, MD5MB_SCALAR);
		assert_int_equal(md5mb_choose_from(&impl, "avx2", all, err, sizeof(err)), -1);
		return;
	}
	/* Unset or empty: the widest present. */
	assert_int_equal(md5mb_choose_from(&impl, NULL, all, err, sizeof(err)), 0);
	assert_int_equal(impl, MD5MB_AVX512);
	assert_int_equal(md5mb_choose_from(&impl, "", avx2, err, sizeof(err)), 0);
	assert_int_equal(impl, MD5MB_AVX2);
	assert_int_equal(md5mb_choose_from(&impl, NULL, 0, err, sizeof(err)), 0);
	assert_int_equal(impl, MD5MB_SCALAR);
	/* Forced and present. */
	assert_int_equal(md5mb_choose_from(&impl, "scalar", all, err, sizeof(err)), 0);
	assert_int_equal(impl, MD5MB_SCALAR);
	assert_int_equal(md5mb_choose_from(&impl, "avx2", all, err, sizeof(err)), 0);
	assert_int_equal(impl, MD5MB_AVX2);
	/* Forced and absent: refused with one line naming the variable, what
	 * is missing and what to use instead; never a quiet fallback. */
	impl = MD5MB_SCALAR;
	assert_int_equal(md5mb_choose_from(&impl, "avx512", avx2, err, sizeof(err)), -1);
	assert_string_equal(err, "HOIST_MD5=avx512: this CPU lacks AVX-512 (F, BW and VL); "
			    "set it to avx2 or scalar, or unset it");
	assert_int_equal(md5mb_choose_from(&impl, "avx2", 0, err, sizeof(err)), -1);
	assert_string_equal(err, "HOIST_MD5=avx2: this CPU lacks AVX2; set it to scalar, or unset it");
	/* Not a path at all (case matters, as for every other knob). */
	assert_int_equal(md5mb_choose_from(&impl, "AVX2", all, err, sizeof(err)), -1);
	assert_string_equal(err, "HOIST_MD5=AVX2: not an MD5 path (scalar, avx2 or avx512)");
	assert_null(strchr(err, '\n'));
}

/* The process's choice (HOIST_MD5 unset in the test environment) is the
 * widest path the CPU has, and hoist_md5_impl names it. */
static void test_process_choice(void **state)
{
	enum md5mb_impl impl, want;
	char err[160];

	(void)state;
	if (getenv("HOIST_MD5") || getenv("HOIST_MD5_HIDE")) {
		skip();
	}
	want = md5mb_supported(MD5MB_AVX512) ? MD5MB_AVX512 :
	       md5mb_supported(MD5MB_AVX2) ? MD5MB_AVX2 : MD5MB_SCALAR;
	assert_int_equal(md5mb_choose(&impl, err, sizeof(err)), 0);
	assert_int_equal(impl, want);
	assert_string_equal(hoist_md5_impl(), md5mb_name(want));
#if defined(__x86_64__) && !defined(HOIST_NO_SIMD)
	assert_int_equal(md5mb_supported(MD5MB_AVX2), __builtin_cpu_supports("avx2") != 0);
#endif
	assert_int_equal(md5mb_lanes(MD5MB_SCALAR), 1);
	assert_int_equal(md5mb_lanes(MD5MB_AVX2), 16);
	assert_int_equal(md5mb_lanes(MD5MB_AVX512), 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321_suite),
		cmocka_unit_test(test_random_lengths),
		cmocka_unit_test(test_lanes_join_while_others_run),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_choose_rule),
		cmocka_unit_test(test_process_choice),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
