/*
 * md5mb_avx2.c - the MD5 kernels for AVX2.
 *
 * Owns: md5mb_avx2_x1 and _x2, which advance 8 and 16 messages by the same
 * number of 64-byte blocks, RFC 1321's 64 steps on 8 lanes a register.
 * AVX2 has no three-input logic and no rotate, so each function is written
 * with the fewest operations on b, the value the previous step just
 * produced:
 *   F = d ^ (b & (c ^ d))        c ^ d is ready before b
 *   G = (b & d) + (c & ~d)       the two terms have no bit in common, so
 *                                the OR is an ADD and c & ~d joins the sum
 *                                before b is known
 *   H = b ^ (c ^ d)
 *   I = c ^ (b | ~d)             ~d is ready before b
 * and a rotation is two shifts and an OR.  The chain of a step is then 5
 * to 6 instructions against AVX-512's 4, for half the lanes; where each
 * takes 2 cycles (Zen 5, ymm as zmm) one set of 8 lanes reaches only
 * 2.3 GB/s per core, so x2 interleaves two sets (4.3 GB/s).
 *
 * The message words come from two unaligned 32-byte loads per lane (words
 * 0-7 and 8-15), made word-major by two 8x8 transposes of 32-bit words.
 *
 * Built with a target attribute, so the rest of the build stays baseline
 * x86-64; md5mb.c calls it only when CPUID says the CPU has AVX2.
 *
 * Threading: touches only its arguments.
 */
#include "md5mb_kernel.h"

#if MD5MB_HAVE_X86

#include <immintrin.h>

#define TARGET __attribute__((target("avx2")))

#define ALWAYS_INLINE __attribute__((always_inline))

/* See md5mb_avx512.c: keeps the terms that do not need b summed first. */
#define PIN(v) __asm__("" : "+x"(v))

#define ROL(v, s) _mm256_or_si256(_mm256_slli_epi32(v, s), _mm256_srli_epi32(v, 32 - (s)))

/* The part of a + f + X[k] + T[i] that is known before b, per function. */
#define PRE_F(b, c, d) _mm256_setzero_si256()
#define PRE_G(b, c, d) _mm256_andnot_si256(d, c)
#define PRE_H(b, c, d) _mm256_setzero_si256()
#define PRE_I(b, c, d) _mm256_setzero_si256()
/* And the rest of f, which needs b. */
#define ON_F(b, c, d) _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d)))
#define ON_G(b, c, d) _mm256_and_si256(b, d)
#define ON_H(b, c, d) _mm256_xor_si256(b, _mm256_xor_si256(c, d))
#define ON_I(b, c, d) _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones)))

/* One step on each of the G groups of 8 lanes. */
#define YSTEP(fn, a, b, c, d, k, s, t) \
	_Pragma("GCC unroll 2") \
	for (int g = 0; g < G; g++) { \
		__m256i sum_ = _mm256_add_epi32(_mm256_add_epi32(a[g], \
			_mm256_add_epi32(x[g][k], _mm256_set1_epi32((int)(t)))), \
			PRE_##fn(b[g], c[g], d[g])); \
		PIN(sum_); \
		sum_ = _mm256_add_epi32(sum_, ON_##fn(b[g], c[g], d[g])); \
		a[g] = _mm256_add_epi32(b[g], ROL(sum_, s)); \
	}
#define YSTEP1(a, b, c, d, k, s, t) YSTEP(F, a, b, c, d, k, s, t)
#define YSTEP2(a, b, c, d, k, s, t) YSTEP(G, a, b, c, d, k, s, t)
#define YSTEP3(a, b, c, d, k, s, t) YSTEP(H, a, b, c, d, k, s, t)
#define YSTEP4(a, b, c, d, k, s, t) YSTEP(I, a, b, c, d, k, s, t)

/*
 * x[j] = word j of every lane, from r[l] = 8 words of lane l.  After the
 * 32- and 64-bit unpacks, 128-bit half q of b[4g + c] holds word 4q + c of
 * lanes 4g .. 4g+3; one 128-bit permute per word puts the halves together.
 */
TARGET ALWAYS_INLINE static inline void transpose8(__m256i x[8], const __m256i r[8])
{
	__m256i a[8], b[8];

	_Pragma("GCC unroll 8")
	for (int i = 0; i < 8; i += 2) {
		a[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
		a[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
	}
	_Pragma("GCC unroll 8")
	for (int g = 0; g < 8; g += 4) {
		b[g] = _mm256_unpacklo_epi64(a[g], a[g + 2]);
		b[g + 1] = _mm256_unpackhi_epi64(a[g], a[g + 2]);
		b[g + 2] = _mm256_unpacklo_epi64(a[g + 1], a[g + 3]);
		b[g + 3] = _mm256_unpackhi_epi64(a[g + 1], a[g + 3]);
	}
	_Pragma("GCC unroll 8")
	for (int c = 0; c < 4; c++) {
		x[c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x20);
		x[4 + c] = _mm256_permute2x128_si256(b[c], b[4 + c], 0x31);
	}
}

/* x[j] = word j of lanes 0..7, loaded from p[0..7] + off. */
TARGET ALWAYS_INLINE static inline void load8(__m256i x[16], const uint8_t *const *p,
					      size_t off)
{
	__m256i lo[8], hi[8];

	_Pragma("GCC unroll 8")
	for (int l = 0; l < 8; l++) {
		const __m256i *q = (const __m256i *)(p[l] + off);

		lo[l] = _mm256_loadu_si256(q);
		hi[l] = _mm256_loadu_si256(q + 1);
	}
	transpose8(x, lo);
	transpose8(x + 8, hi);
}

/* G (1 or 2, a constant once inlined) groups of 8 lanes in step. */
TARGET ALWAYS_INLINE static inline void blocks(struct md5mb_lanes *st,
					       const uint8_t *const *p,
					       size_t nblocks, const int G)
{
	const __m256i ones = _mm256_set1_epi32(-1);
	__m256i a[2], b[2], c[2], d[2];

	_Pragma("GCC unroll 2")
	for (int g = 0; g < G; g++) {
		a[g] = _mm256_load_si256((const __m256i *)(st->h[0] + 8 * g));
		b[g] = _mm256_load_si256((const __m256i *)(st->h[1] + 8 * g));
		c[g] = _mm256_load_si256((const __m256i *)(st->h[2] + 8 * g));
		d[g] = _mm256_load_si256((const __m256i *)(st->h[3] + 8 * g));
	}
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m256i x[2][16], a0[2], b0[2], c0[2], d0[2];

		_Pragma("GCC unroll 2")
		for (int g = 0; g < G; g++) {
			load8(x[g], p + 8 * g, 64 * blk);
			a0[g] = a[g];
			b0[g] = b[g];
			c0[g] = c[g];
			d0[g] = d[g];
		}
		MD5MB_ROUND1(YSTEP1)
		MD5MB_ROUND2(YSTEP2)
		MD5MB_ROUND3(YSTEP3)
		MD5MB_ROUND4(YSTEP4)
		_Pragma("GCC unroll 2")
		for (int g = 0; g < G; g++) {
			a[g] = _mm256_add_epi32(a[g], a0[g]);
			b[g] = _mm256_add_epi32(b[g], b0[g]);
			c[g] = _mm256_add_epi32(c[g], c0[g]);
			d[g] = _mm256_add_epi32(d[g], d0[g]);
		}
	}
	_Pragma("GCC unroll 2")
	for (int g = 0; g < G; g++) {
		_mm256_store_si256((__m256i *)(st->h[0] + 8 * g), a[g]);
		_mm256_store_si256((__m256i *)(st->h[1] + 8 * g), b[g]);
		_mm256_store_si256((__m256i *)(st->h[2] + 8 * g), c[g]);
		_mm256_store_si256((__m256i *)(st->h[3] + 8 * g), d[g]);
	}
}

TARGET void md5mb_avx2_x1(struct md5mb_lanes *st, const uint8_t *const *p, size_t nblocks)
{
	blocks(st, p, nblocks, 1);
}

TARGET void md5mb_avx2_x2(struct md5mb_lanes *st, const uint8_t *const *p, size_t nblocks)
{
	blocks(st, p, nblocks, 2);
}

#else
/* Not x86-64: no kernel (ISO C wants a declaration in every file). */
typedef int md5mb_avx2_absent;
#endif
