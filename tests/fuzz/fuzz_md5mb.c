/*
 * fuzz_md5mb.c - libFuzzer target for the multi-buffer MD5 (engine/md5mb.c):
 * the same bytes through every MD5 path this CPU has and through OpenSSL,
 * lane by lane.
 *
 * The input decides everything: its first four bytes the lane count
 * (1..40, past the widest kernel), how many times the payload is repeated
 * to make long messages cheaply (up to 64 KiB), and the seed of the piece
 * schedule; the rest is the payload.  Lane i's message is a slice of the
 * repeated payload at an offset of its own (so lanes differ in length and
 * alignment), fed in pieces whose sizes the schedule draws per call and
 * per lane (0 and 1 byte included), all lanes in each call, until every
 * message is whole.  Checked: each lane's digest equals OpenSSL's MD5 of
 * its slice (checksum.h's md5_once, an EVP digest that shares no code with
 * md5mb), on every path.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "md5mb.h"

#define MAX_LANES 40
#define MAX_MSG (64 * 1024)

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static uint32_t next(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void run(enum md5mb_impl impl, const uint8_t *buf, size_t size, unsigned n,
		const size_t *off, const size_t *len, uint32_t seed)
{
	struct md5mb_ctx ctx[MAX_LANES], *cp[MAX_LANES];
	const void *data[MAX_LANES];
	size_t piece[MAX_LANES], fed[MAX_LANES] = { 0 };
	int left;

	(void)size;
	for (unsigned i = 0; i < n; i++) {
		md5mb_init(&ctx[i]);
		cp[i] = &ctx[i];
	}
	do {
		left = 0;
		for (unsigned i = 0; i < n; i++) {
			uint32_t r = next(&seed);
			/* Mostly pieces of a few blocks, sometimes 0 or 1 byte,
			 * sometimes the whole rest. */
			size_t want = r % 8 == 0 ? (r >> 3) % 2 : r % 8 == 1 ? len[i] : (r >> 3) % 700;

			if (want > len[i] - fed[i]) {
				want = len[i] - fed[i];
			}
			data[i] = buf + off[i] + fed[i];
			piece[i] = want;
			fed[i] += want;
			left |= fed[i] < len[i];
		}
		md5mb_update(impl, cp, data, piece, n);
	} while (left);
	for (unsigned i = 0; i < n; i++) {
		uint8_t got[16], want[16];

		md5mb_final(&ctx[i], got);
		md5_once(want, buf + off[i], len[i]);
		check(memcmp(got, want, 16) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n_in)
{
	static uint8_t buf[MAX_MSG];
	size_t off[MAX_LANES], len[MAX_LANES], size, plen;
	unsigned n, rep;
	uint32_t seed;

	if (n_in < 4)
		return 0;
	n = 1 + in[0] % MAX_LANES;
	rep = 1 + in[1] % 64;
	seed = (uint32_t)in[2] << 8 | in[3] | 1;
	in += 4;
	plen = n_in - 4;
	size = plen * rep < MAX_MSG ? plen * rep : MAX_MSG;
	for (size_t i = 0; i < size; i++) {
		buf[i] = (uint8_t)(in[i % plen] + i / plen);   /* repeats differ */
	}
	for (unsigned i = 0; i < n; i++) {
		off[i] = (i * 7919u + (plen ? in[i % plen] : 0u)) % (size + 1);
		len[i] = size - off[i];
		if (i % 3 == 1) {
			len[i] /= 2;
		}
	}
	for (int impl = 0; impl < MD5MB_IMPLS; impl++) {
		if (md5mb_supported((enum md5mb_impl)impl)) {
			run((enum md5mb_impl)impl, buf, size, n, off, len, seed);
		}
	}
	return 0;
}
