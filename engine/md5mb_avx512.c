/*
 * md5mb_avx512.c - the MD5 kernels for AVX-512 (AVX512F instructions; the
 * path also requires BW and VL, see md5mb.c).
 *
 * Owns: md5mb_avx512_x1 and _x2, which advance 16 and 32 messages by the
 * same number of 64-byte blocks.  Written from RFC 1321: each of the 64
 * steps
 *     a = b + ((a + f(b, c, d) + X[k] + T[i]) <<< s)
 * is done on 16 lanes at once, one 32-bit word of each message per lane.
 * AVX-512 has the two instructions that make MD5 cheap: vpternlogd
 * computes any of F, G, H, I of three registers in one instruction, and
 * vprold rotates in one.  The critical path of a step is then f, add,
 * rotate, add (a + X[k] + T[i] is computed off it, from the a of four
 * steps before): 4 instructions.  On Zen 5 each of them takes 2 cycles
 * (measured: vpaddd, vprold and vpternlogd on zmm all 2.0 cycles of
 * latency, 2-3 per cycle of throughput), so one set of 16 lanes is bound
 * by its chain at 8 cycles a step and uses a fraction of the core; x2
 * runs two independent sets step by step, which the out-of-order core
 * overlaps (6.2 GB/s for x1, 8.6 for x2 per core here).
 *
 * The message words come from 16 unaligned 64-byte loads per set, one per
 * lane, turned word-major by a 16x16 transpose of 32-bit words (64
 * shuffles per block, on ports the dependency chains leave idle).
 *
 * Built with a target attribute, so the rest of the build stays baseline
 * x86-64; md5mb.c calls it only when CPUID says the CPU has it.
 *
 * Threading: touches only its arguments.
 */
#include "md5mb_kernel.h"

#if MD5MB_HAVE_X86

#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl")))
#define ALWAYS_INLINE __attribute__((always_inline))

/* vpternlogd truth tables, operands (b, c, d) as (A, B, C): bit
 * A*4 + B*2 + C of the immediate is the function's value there. */
#define TL_F 0xca  /* b ? c : d */
#define TL_G 0xe4  /* d ? b : c */
#define TL_H 0x96  /* b ^ c ^ d */
#define TL_I 0x39  /* c ^ (b | ~d) */

/* An empty asm that GCC and clang must assume changes v: it stops them
 * from reassociating a + X[k] + T[i] + f into (a + f) + ..., which would
 * put a second addition on the critical path. */
#define PIN(v) __asm__("" : "+v"(v))

/* One step on each of the G groups of 16 lanes. */
#define VSTEP(tl, a, b, c, d, k, s, t) \
	_Pragma("GCC unroll 2") \
	for (int g = 0; g < G; g++) { \
		__m512i sum_ = _mm512_add_epi32(a[g], _mm512_add_epi32(x[g][k], \
						_mm512_set1_epi32((int)(t)))); \
		PIN(sum_); \
		a[g] = _mm512_add_epi32(b[g], _mm512_rol_epi32(_mm512_add_epi32(sum_, \
			_mm512_ternarylogic_epi32(b[g], c[g], d[g], tl)), s)); \
	}
#define VSTEP1(a, b, c, d, k, s, t) VSTEP(TL_F, a, b, c, d, k, s, t)
#define VSTEP2(a, b, c, d, k, s, t) VSTEP(TL_G, a, b, c, d, k, s, t)
#define VSTEP3(a, b, c, d, k, s, t) VSTEP(TL_H, a, b, c, d, k, s, t)
#define VSTEP4(a, b, c, d, k, s, t) VSTEP(TL_I, a, b, c, d, k, s, t)

/*
 * x[j] = word j of lanes 0..15, loaded from p[0..15] + off.  Unpacking 32-
 * then 64-bit elements makes, in 128-bit quarter q of b[4g + c], word
 * 4q + c of lanes 4g .. 4g+3; two rounds of 128-bit shuffles then move
 * quarter q of group g to quarter g of word 4q + c.
 */
TARGET ALWAYS_INLINE static inline void load16(__m512i x[16], const uint8_t *const *p,
						size_t off)
{
	__m512i r[16], a[16], b[16];

	_Pragma("GCC unroll 16")
	for (int l = 0; l < 16; l++) {
		r[l] = _mm512_loadu_si512(p[l] + off);
	}
	_Pragma("GCC unroll 16")
	for (int i = 0; i < 16; i += 2) {
		a[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
		a[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
	}
	_Pragma("GCC unroll 16")
	for (int g = 0; g < 16; g += 4) {
		b[g] = _mm512_unpacklo_epi64(a[g], a[g + 2]);
		b[g + 1] = _mm512_unpackhi_epi64(a[g], a[g + 2]);
		b[g + 2] = _mm512_unpacklo_epi64(a[g + 1], a[g + 3]);
		b[g + 3] = _mm512_unpackhi_epi64(a[g + 1], a[g + 3]);
	}
	_Pragma("GCC unroll 16")
	for (int c = 0; c < 4; c++) {
		/* e0: quarters 0, 2 of groups 0, 1; e1: quarters 1, 3; e2/e3
		 * the same of groups 2, 3. */
		__m512i e0 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0x88);
		__m512i e1 = _mm512_shuffle_i32x4(b[c], b[4 + c], 0xdd);
		__m512i e2 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0x88);
		__m512i e3 = _mm512_shuffle_i32x4(b[8 + c], b[12 + c], 0xdd);

		x[c] = _mm512_shuffle_i32x4(e0, e2, 0x88);
		x[8 + c] = _mm512_shuffle_i32x4(e0, e2, 0xdd);
		x[4 + c] = _mm512_shuffle_i32x4(e1, e3, 0x88);
		x[12 + c] = _mm512_shuffle_i32x4(e1, e3, 0xdd);
	}
}

/* G (1 or 2, a constant once inlined) groups of 16 lanes in step. */
TARGET ALWAYS_INLINE static inline void blocks(struct md5mb_lanes *st,
					       const uint8_t *const *p,
					       size_t nblocks, const int G)
{
	__m512i a[2], b[2], c[2], d[2];

	_Pragma("GCC unroll 2")
	for (int g = 0; g < G; g++) {
		a[g] = _mm512_load_si512(st->h[0] + 16 * g);
		b[g] = _mm512_load_si512(st->h[1] + 16 * g);
		c[g] = _mm512_load_si512(st->h[2] + 16 * g);
		d[g] = _mm512_load_si512(st->h[3] + 16 * g);
	}
	for (size_t blk = 0; blk < nblocks; blk++) {
		__m512i x[2][16], a0[2], b0[2], c0[2], d0[2];

		_Pragma("GCC unroll 2")
		for (int g = 0; g < G; g++) {
			load16(x[g], p + 16 * g, 64 * blk);
			a0[g] = a[g];
			b0[g] = b[g];
			c0[g] = c[g];
			d0[g] = d[g];
		}
		MD5MB_ROUND1(VSTEP1)
		MD5MB_ROUND2(VSTEP2)
		MD5MB_ROUND3(VSTEP3)
		MD5MB_ROUND4(VSTEP4)
		_Pragma("GCC unroll 2")
		for (int g = 0; g < G; g++) {
			a[g] = _mm512_add_epi32(a[g], a0[g]);
			b[g] = _mm512_add_epi32(b[g], b0[g]);
			c[g] = _mm512_add_epi32(c[g], c0[g]);
			d[g] = _mm512_add_epi32(d[g], d0[g]);
		}
	}
	_Pragma("GCC unroll 2")
	for (int g = 0; g < G; g++) {
		_mm512_store_si512(st->h[0] + 16 * g, a[g]);
		_mm512_store_si512(st->h[1] + 16 * g, b[g]);
		_mm512_store_si512(st->h[2] + 16 * g, c[g]);
		_mm512_store_si512(st->h[3] + 16 * g, d[g]);
	}
}

TARGET void md5mb_avx512_x1(struct md5mb_lanes *st, const uint8_t *const *p, size_t nblocks)
{
	blocks(st, p, nblocks, 1);
}

TARGET void md5mb_avx512_x2(struct md5mb_lanes *st, const uint8_t *const *p, size_t nblocks)
{
	blocks(st, p, nblocks, 2);
}

#else
/* Not x86-64: no kernel (ISO C wants a declaration in every file). */
typedef int md5mb_avx512_absent;
#endif
