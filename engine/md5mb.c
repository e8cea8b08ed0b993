/*
 * md5mb.c - MD5 in lanes: the path choice, message contexts, the lane
 * manager and the portable block function (see md5mb.h).
 *
 * Design: the SIMD kernels (md5mb_avx2.c, md5mb_avx512.c) only know how to
 * advance all their lanes by the same number of whole 64-byte blocks.
 * Everything else is here, in plain C:
 *  - bytes that do not fill a block wait in the context's tail, so a
 *    message can be fed in pieces of any length;
 *  - a batch is run as rounds: each round advances every lane that still
 *    has whole blocks by the smallest count among them, and a lane that
 *    runs out leaves the round.  A lane with nothing to do is pointed at a
 *    busy lane's bytes (already in cache, so it costs no memory traffic)
 *    and its result is dropped: the kernel needs no masks and no branches;
 *  - when fewer lanes are busy than a kernel's min_lanes, the rest finish
 *    on the portable block function, which is then cheaper than a vector
 *    pass that carries mostly idle lanes;
 *  - the first block of a piece that completes a waiting tail, and the one
 *    or two padding blocks of md5mb_final, go through the portable block
 *    function too: a few hundred cycles per piece, against the piece's
 *    hundreds of blocks.
 * The path is chosen once per process: HOIST_MD5, else the widest the CPU
 * reports (__builtin_cpu_supports, which also checks that the OS saves the
 * vector state).  A path that is named but absent is an error, never a
 * silent fallback: a benchmark or test that asked for AVX-512 and got
 * scalar would measure or prove the wrong thing.
 *
 * Threading: md5mb_choose's decision and the CPU mask are computed under
 * pthread_once and read-only afterwards; everything else touches only its
 * arguments.
 */
#include "md5mb.h"

#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoist.h"
#include "md5mb_kernel.h"

struct kernel {
	const char *name;
	const char *needs;      /* what the CPU must have, for the refusal */
	unsigned lanes;         /* x2's; x1 runs lanes / 2 */
	/* Fewer busy lanes than this: finish them on the portable function.
	 * From hashbench-style runs on the 2-core EPYC (Zen 5, where vector
	 * adds take 2 cycles): the portable function does 0.65-0.70 GB/s
	 * whatever the lane count (lanes go one after the other); AVX2's
	 * 8-lane pass with 2 busy lanes 0.53 GB/s, with 4 1.1; AVX-512's
	 * 16-lane pass with 2 busy lanes 0.77-0.87. */
	unsigned min_lanes;
	md5mb_blocks_fn *x1, *x2;
};

static const struct kernel kernels[MD5MB_IMPLS] = {
	[MD5MB_SCALAR] = { "scalar", "nothing", 1, 1, NULL, NULL },
#if MD5MB_HAVE_X86
	[MD5MB_AVX2] = { "avx2", "AVX2", 16, 3, md5mb_avx2_x1, md5mb_avx2_x2 },
	[MD5MB_AVX512] = { "avx512", "AVX-512 (F, BW and VL)", 32, 2,
			   md5mb_avx512_x1, md5mb_avx512_x2 },
#else
	[MD5MB_AVX2] = { "avx2", "AVX2", 16, 3, NULL, NULL },
	[MD5MB_AVX512] = { "avx512", "AVX-512 (F, BW and VL)", 32, 2, NULL, NULL },
#endif
};

/* ---------------------------------------------------- portable blocks */

static uint32_t rol32(uint32_t x, int s)
{
	return (x << s) | (x >> (32 - s));
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* RFC 1321's F, G, H, I, each in the form with the fewest operations on
 * the value just computed (b): F and G as selects, I with ~d hoisted. */
#define MD5_F(b, c, d) ((d) ^ ((b) & ((c) ^ (d))))
#define MD5_G(b, c, d) ((c) ^ ((d) & ((b) ^ (c))))
#define MD5_H(b, c, d) ((b) ^ (c) ^ (d))
#define MD5_I(b, c, d) ((c) ^ ((b) | ~(d)))

#define PSTEP(f, a, b, c, d, k, s, t) \
	a = b + rol32(a + f(b, c, d) + x[k] + (t), s);
#define PSTEP1(a, b, c, d, k, s, t) PSTEP(MD5_F, a, b, c, d, k, s, t)
#define PSTEP2(a, b, c, d, k, s, t) PSTEP(MD5_G, a, b, c, d, k, s, t)
#define PSTEP3(a, b, c, d, k, s, t) PSTEP(MD5_H, a, b, c, d, k, s, t)
#define PSTEP4(a, b, c, d, k, s, t) PSTEP(MD5_I, a, b, c, d, k, s, t)

static void md5_blocks_portable(uint32_t h[4], const uint8_t *p, size_t nblocks)
{
	for (; nblocks > 0; nblocks--, p += 64) {
		uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];

		for (int i = 0; i < 16; i++) {
			x[i] = load_le32(p + 4 * i);
		}
		MD5MB_ROUND1(PSTEP1)
		MD5MB_ROUND2(PSTEP2)
		MD5MB_ROUND3(PSTEP3)
		MD5MB_ROUND4(PSTEP4)
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
	}
}

/* ------------------------------------------------------------ contexts */

void md5mb_init(struct md5mb_ctx *c)
{
	/* RFC 1321 section 3.3, as little-endian words. */
	c->h[0] = 0x67452301u;
	c->h[1] = 0xefcdab89u;
	c->h[2] = 0x98badcfeu;
	c->h[3] = 0x10325476u;
	c->bytes = 0;
}

void md5mb_final(struct md5mb_ctx *c, uint8_t out[16])
{
	uint8_t blk[128];
	unsigned t = (unsigned)(c->bytes & 63);
	unsigned n = t < 56 ? 64 : 128;
	uint64_t bits = c->bytes << 3;

	memcpy(blk, c->tail, t);
	blk[t] = 0x80;
	memset(blk + t + 1, 0, n - t - 1 - 8);
	for (int i = 0; i < 8; i++) {
		blk[n - 8 + i] = (uint8_t)(bits >> (8 * i));
	}
	md5_blocks_portable(c->h, blk, n / 64);
	for (int i = 0; i < 4; i++) {
		store_le32(out + 4 * i, c->h[i]);
	}
}

/* ------------------------------------------------------- lane manager */

struct lane_run {
	struct md5mb_ctx *ctx;
	const uint8_t *p;       /* next whole block */
	size_t blocks;          /* whole blocks left in this call */
};

/* Tops up c's waiting tail from the piece, then leaves the piece's whole
 * blocks in *lr and its last len % 64 bytes in the tail. */
static void lane_prepare(struct lane_run *lr, struct md5mb_ctx *c,
			 const uint8_t *p, size_t len)
{
	unsigned t = (unsigned)(c->bytes & 63);

	lr->ctx = c;
	lr->p = p;
	lr->blocks = 0;
	c->bytes += len;
	if (len == 0)
		return;
	if (t > 0) {
		size_t take = len < 64 - t ? len : 64 - t;

		memcpy(c->tail + t, p, take);
		p += take;
		len -= take;
		if (t + take < 64)
			return;
		md5_blocks_portable(c->h, c->tail, 1);
	}
	lr->p = p;
	lr->blocks = len / 64;
	if (len % 64) {
		memcpy(c->tail, p + (len - len % 64), len % 64);
	}
}

/*
 * Runs the whole blocks of lr[0..m) (m <= k->lanes) in rounds.  Each round
 * packs the busy lanes into the first kernel slots (the state lives in
 * the contexts between rounds, so a lane can move), takes x1 when they fit
 * in it, and pads the other slots with the first busy lane.
 */
static void lanes_run(const struct kernel *k, struct lane_run *lr, unsigned m)
{
	struct md5mb_lanes st;
	const uint8_t *p[MD5MB_MAX_LANES];
	unsigned busy[MD5MB_MAX_LANES];

	for (;;) {
		unsigned nb = 0, width;
		size_t step = SIZE_MAX;

		for (unsigned i = 0; i < m; i++) {
			if (lr[i].blocks) {
				busy[nb++] = i;
				if (lr[i].blocks < step) {
					step = lr[i].blocks;
				}
			}
		}
		if (!k->x2 || nb == 0 || nb < k->min_lanes)
			break;
		width = nb <= k->lanes / 2 ? k->lanes / 2 : k->lanes;
		for (unsigned s = 0; s < width; s++) {
			const struct lane_run *l = &lr[busy[s < nb ? s : 0]];

			p[s] = l->p;
			for (int w = 0; w < 4; w++) {
				st.h[w][s] = l->ctx->h[w];
			}
		}
		(width == k->lanes ? k->x2 : k->x1)(&st, p, step);
		for (unsigned s = 0; s < nb; s++) {
			struct lane_run *l = &lr[busy[s]];

			for (int w = 0; w < 4; w++) {
				l->ctx->h[w] = st.h[w][s];
			}
			l->p += 64 * step;
			l->blocks -= step;
		}
	}
	/* Too few lanes busy for a vector pass to pay: one by one. */
	for (unsigned i = 0; i < m; i++) {
		if (lr[i].blocks) {
			md5_blocks_portable(lr[i].ctx->h, lr[i].p, lr[i].blocks);
			lr[i].blocks = 0;
		}
	}
}

void md5mb_update(enum md5mb_impl impl, struct md5mb_ctx *const ctx[],
		  const void *const data[], const size_t len[], unsigned n)
{
	struct lane_run lr[MD5MB_MAX_LANES];
	const struct kernel *k;

	assert((unsigned)impl < MD5MB_IMPLS && md5mb_supported(impl));
	k = &kernels[impl];
	for (unsigned base = 0; base < n; base += k->lanes) {
		unsigned m = n - base < k->lanes ? n - base : k->lanes;

		for (unsigned i = 0; i < m; i++) {
			lane_prepare(&lr[i], ctx[base + i], data[base + i], len[base + i]);
		}
		lanes_run(k, lr, m);
	}
}

/* ------------------------------------------------------------- choice */

static unsigned cpu_paths;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

static void cpu_probe(void)
{
	cpu_paths = 1u << MD5MB_SCALAR;
#if MD5MB_HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		cpu_paths |= 1u << MD5MB_AVX2;
	}
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl")) {
		cpu_paths |= 1u << MD5MB_AVX512;
	}
#endif
}

unsigned md5mb_lanes(enum md5mb_impl impl)
{
	return (unsigned)impl < MD5MB_IMPLS ? kernels[impl].lanes : 0;
}

const char *md5mb_name(enum md5mb_impl impl)
{
	return (unsigned)impl < MD5MB_IMPLS ? kernels[impl].name : "?";
}

int md5mb_supported(enum md5mb_impl impl)
{
	if ((unsigned)impl >= MD5MB_IMPLS)
		return 0;
	if (impl == MD5MB_SCALAR)
		return 1;
	pthread_once(&cpu_once, cpu_probe);
	return kernels[impl].x2 && (cpu_paths & (1u << impl));
}

static int impl_by_name(const char *s, enum md5mb_impl *out)
{
	for (int i = 0; i < MD5MB_IMPLS; i++) {
		if (strcmp(s, kernels[i].name) == 0) {
			*out = (enum md5mb_impl)i;
			return 0;
		}
	}
	return -1;
}

int md5mb_choose_from(enum md5mb_impl *out, const char *forced, unsigned cpu,
		      char *err, size_t errlen)
{
	enum md5mb_impl want;
	char have[64] = "";

	cpu |= 1u << MD5MB_SCALAR;
	if (!MD5MB_HAVE_X86) {
		cpu = 1u << MD5MB_SCALAR;
	}
	if (!forced || !*forced) {
		*out = cpu & (1u << MD5MB_AVX512) ? MD5MB_AVX512 :
		       cpu & (1u << MD5MB_AVX2) ? MD5MB_AVX2 : MD5MB_SCALAR;
		return 0;
	}
	if (impl_by_name(forced, &want) < 0) {
		if (err && errlen) {
			snprintf(err, errlen, "HOIST_MD5=%.32s: not an MD5 path "
				 "(scalar, avx2 or avx512)", forced);
		}
		return -1;
	}
	if (!(cpu & (1u << want))) {
		for (int i = MD5MB_IMPLS - 1; i >= 0; i--) {
			if (cpu & (1u << i)) {
				size_t used = strlen(have);

				snprintf(have + used, sizeof(have) - used, "%s%s",
					 used ? (i == 0 ? " or " : ", ") : "", kernels[i].name);
			}
		}
		if (err && errlen) {
			if (MD5MB_HAVE_X86) {
				snprintf(err, errlen, "HOIST_MD5=%s: this CPU lacks %s; set it to "
					 "%s, or unset it", forced, kernels[want].needs, have);
			} else {
				snprintf(err, errlen, "HOIST_MD5=%s: this build has no %s kernel; "
					 "set it to scalar, or unset it", forced, forced);
			}
		}
		return -1;
	}
	*out = want;
	return 0;
}

/* HOIST_MD5_HIDE: the paths to treat as absent (tests only); the
 * unknown names in it are ignored, scalar cannot be hidden. */
static unsigned hidden_paths(const char *s)
{
	unsigned mask = 0;

	while (s && *s) {
		size_t n = strcspn(s, ",");

		for (int i = 1; i < MD5MB_IMPLS; i++) {
			if (strlen(kernels[i].name) == n && strncmp(s, kernels[i].name, n) == 0) {
				mask |= 1u << i;
			}
		}
		s += n;
		if (*s == ',') {
			s++;
		}
	}
	return mask;
}

static struct {
	int rc;
	enum md5mb_impl impl;
	char err[160];
} chosen;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

static void choose_init(void)
{
	unsigned cpu;

	pthread_once(&cpu_once, cpu_probe);
	cpu = cpu_paths & ~hidden_paths(getenv("HOIST_MD5_HIDE"));
	chosen.rc = md5mb_choose_from(&chosen.impl, getenv("HOIST_MD5"), cpu,
				      chosen.err, sizeof(chosen.err));
}

int md5mb_choose(enum md5mb_impl *out, char *err, size_t errlen)
{
	pthread_once(&choose_once, choose_init);
	if (chosen.rc < 0) {
		if (err && errlen) {
			snprintf(err, errlen, "%s", chosen.err);
		}
		return -1;
	}
	*out = chosen.impl;
	return 0;
}

/* The public name of the choice (hoist.h). */
const char *hoist_md5_impl(void)
{
	enum md5mb_impl impl;

	if (md5mb_choose(&impl, NULL, 0) < 0)
		return NULL;
	return md5mb_name(impl);
}
