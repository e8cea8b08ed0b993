/*
 * md5mb.h - MD5 of many messages at once, in SIMD lanes (private).
 *
 * Owns: the MD5 paths of this process (scalar; AVX2, 8 lanes a register;
 * AVX-512, 16 lanes a register), the choice between them (once, from CPUID
 * or HOIST_MD5), and a message context that any of them can advance.
 *
 * MD5 is serial within a message, so one message cannot go faster than
 * one core's scalar speed (about 0.65 GB/s here).  Different messages are
 * independent: a 512-bit register holds one 32-bit word of 16 messages and
 * every instruction of RFC 1321's 64 steps advances all 16.  The parts of
 * an upload are such messages.  Each path runs two registers' worth of
 * messages per pass (16 with AVX2, 32 with AVX-512), interleaved: a step
 * is a chain of four dependent instructions, and on a core where each
 * takes 2 cycles (Zen 5) one set of lanes leaves most of the core idle.
 * Passes with fewer busy lanes use one register set.
 *
 * Use: a struct md5mb_ctx per message (md5mb_init), then md5mb_update with
 * a batch of contexts, each with its own next piece of bytes, any lengths
 * (0 too), any alignment, as many calls as the message has pieces; then
 * md5mb_final per message.  A batch may mix messages that just started
 * with ones half done and ones about to end; a message can leave after any
 * call and a new one take its place in the next (that is how the hash pool
 * keeps lanes full while parts of different lengths come and go).  Within
 * one call the lanes run together as long as each has whole blocks left
 * and the rest finish alone, so the pieces of one call should be of
 * similar size (the hash pool's chunks are).  The digests do not depend on
 * the path, the batch or how a message was cut into pieces: each is the
 * MD5 of the concatenation of its pieces.
 *
 * Threading: no shared state after md5mb_choose's first call (which
 * pthread_once guards); contexts belong to the caller.
 */
#ifndef HOIST_MD5MB_H
#define HOIST_MD5MB_H

#include <stddef.h>
#include <stdint.h>

enum md5mb_impl {
	MD5MB_SCALAR = 0,  /* one message at a time (the hash pool uses OpenSSL) */
	MD5MB_AVX2 = 1,    /* 16 lanes: 2 x 8 */
	MD5MB_AVX512 = 2,  /* 32 lanes: 2 x 16; AVX512F, BW and VL */
};
#define MD5MB_IMPLS 3
#define MD5MB_MAX_LANES 32

struct md5mb_ctx {
	uint32_t h[4];      /* chaining values A, B, C, D */
	uint64_t bytes;     /* fed so far; bytes % 64 of them wait in tail */
	uint8_t tail[64];
};

void md5mb_init(struct md5mb_ctx *c);

/* Appends data[i][0, len[i]) to ctx[i]'s message, for i < n, advancing up
 * to md5mb_lanes(impl) of them per pass.  The contexts must be distinct;
 * data[i] may be NULL when len[i] is 0.  impl must be supported (an
 * assertion: md5mb_supported). */
void md5mb_update(enum md5mb_impl impl, struct md5mb_ctx *const ctx[],
		  const void *const data[], const size_t len[], unsigned n);

/* Pads, writes the digest and leaves c unusable until md5mb_init. */
void md5mb_final(struct md5mb_ctx *c, uint8_t out[16]);

/* Lanes of a path (1, 16, 32), its name ("scalar", "avx2", "avx512"), and
 * whether this CPU and this build can run it (scalar always). */
unsigned md5mb_lanes(enum md5mb_impl impl);
const char *md5mb_name(enum md5mb_impl impl);
int md5mb_supported(enum md5mb_impl impl);

/* The path this process uses: the one HOIST_MD5 names, or else the widest
 * the CPU has.  Decided on the first call, the same answer afterwards.
 * Returns 0, or -1 with one line in err when HOIST_MD5 names no path or a
 * path this CPU lacks: a forced path is never quietly replaced by another.
 * HOIST_MD5_HIDE (a comma list of paths, for tests only) makes the choice
 * behave as if the CPU lacked those. */
int md5mb_choose(enum md5mb_impl *out, char *err, size_t errlen);

/* md5mb_choose's rule without the environment, for tests: forced is
 * HOIST_MD5's value (NULL or "" for the CPU's best), cpu a bit mask of
 * 1u << impl for the paths present. */
int md5mb_choose_from(enum md5mb_impl *out, const char *forced, unsigned cpu,
		      char *err, size_t errlen);

#endif
