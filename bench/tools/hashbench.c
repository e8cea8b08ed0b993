/*
 * hashbench.c - the hashing ceilings of this machine, one core at a time.
 *
 * Owns: measuring how many GB per second one core can push through MD5 on
 * every path (OpenSSL EVP, via engine/checksum.h; the multi-buffer paths
 * of engine/md5mb.h that this CPU has, all lanes busy; one message alone on
 * the multi-buffer code, as a lone part is hashed), CRC-64/XZ (ISA-L
 * crc64_ecma_refl, via crc64_ecma_update) and, as a reference point,
 * memcpy.  The benchmark harness (bench/harness/) runs it in the same run
 * as the uploads, so that an upload's throughput and CPU cost can be read
 * against what its checksums alone cost: every GB of the default mode
 * costs at least 1/MD5-rate core-seconds on the path in use.
 *
 * Design: one buffer (16 MiB by default: larger than L2, the size of a few
 * parts' worth of page-cache reads), filled with pseudo-random bytes and
 * touched once before timing.  Each algorithm runs whole passes over the
 * buffer until the time budget is spent; the rate is bytes divided by the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy shared machine
 * lowers the wall-clock rate but not the per-core figure.  Both are printed.
 * A multi-buffer pass cuts the buffer into one message per lane and feeds
 * them in 64 KiB pieces, all lanes in each call, as the hash pool does.
 * Before timing, the CRC is checked against the CRC-64/XZ check value and
 * every MD5 path against RFC 1321's vector and against OpenSSL over the
 * buffer's lanes, so a broken build cannot report a fast wrong answer.
 *
 * Threading: single-threaded by design (the figure is per core).
 */
#include "checksum.h"
#include "hoist.h"
#include "md5mb.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The answers are accumulated here so the compiler cannot drop the work. */
static volatile uint64_t sink;

struct rate {
	const char *name;
	uint64_t bytes;
	double cpu_seconds;
	double wall_seconds;
};

static double clock_seconds(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pass_crc64(const uint8_t *buf, size_t n, uint8_t *scratch)
{
	(void)scratch;
	sink ^= crc64_ecma_update(0, buf, n);
}

static void pass_md5(const uint8_t *buf, size_t n, uint8_t *scratch)
{
	struct md5_ctx c;
	uint8_t out[16];

	(void)scratch;
	if (md5_init(&c) < 0) {
		fprintf(stderr, "hashbench: md5_init failed\n");
		exit(1);
	}
	md5_update(&c, buf, n);
	md5_final(&c, out);
	sink ^= out[0];
}

static void pass_memcpy(const uint8_t *buf, size_t n, uint8_t *scratch)
{
	memcpy(scratch, buf, n);
	sink ^= scratch[n / 2];
}

/* The pieces the hash pool feeds each lane (HASHPOOL_LANE_CHUNK). */
#define PIECE (64 * 1024)

/* MD5 of `lanes` messages, the buffer cut into that many, on impl. */
static void md5mb_lanes_pass(enum md5mb_impl impl, unsigned lanes, const uint8_t *buf,
			     size_t n, uint8_t out[][16])
{
	struct md5mb_ctx ctx[MD5MB_MAX_LANES], *cp[MD5MB_MAX_LANES];
	const void *data[MD5MB_MAX_LANES];
	size_t len[MD5MB_MAX_LANES], per = n / lanes;

	for (unsigned i = 0; i < lanes; i++) {
		md5mb_init(&ctx[i]);
		cp[i] = &ctx[i];
	}
	for (size_t off = 0; off < per; off += PIECE) {
		for (unsigned i = 0; i < lanes; i++) {
			data[i] = buf + i * per + off;
			len[i] = per - off < PIECE ? per - off : PIECE;
		}
		md5mb_update(impl, cp, data, len, lanes);
	}
	for (unsigned i = 0; i < lanes; i++) {
		md5mb_final(&ctx[i], out[i]);
	}
}

static enum md5mb_impl pass_impl;

static void pass_md5mb(const uint8_t *buf, size_t n, uint8_t *scratch)
{
	uint8_t out[MD5MB_MAX_LANES][16];

	(void)scratch;
	md5mb_lanes_pass(pass_impl, md5mb_lanes(pass_impl), buf, n, out);
	sink ^= out[0][0];
}

/* One message alone on the multi-buffer code: what a lone part costs (the
 * lane manager hands it to the portable block function). */
static void pass_md5mb_one(const uint8_t *buf, size_t n, uint8_t *scratch)
{
	uint8_t out[1][16];

	(void)scratch;
	md5mb_lanes_pass(pass_impl, 1, buf, n, out);
	sink ^= out[0][0];
}

/* Runs whole passes of fn over buf until budget CPU seconds are spent. */
static void measure(struct rate *r, void (*fn)(const uint8_t *, size_t, uint8_t *),
		    const uint8_t *buf, size_t n, uint8_t *scratch, double budget)
{
	double c0, w0, c1;

	fn(buf, n, scratch); /* warm caches and lazy initialisation */
	c0 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	w0 = clock_seconds(CLOCK_MONOTONIC);
	r->bytes = 0;
	do {
		fn(buf, n, scratch);
		r->bytes += n;
		c1 = clock_seconds(CLOCK_THREAD_CPUTIME_ID);
	} while (c1 - c0 < budget);
	r->cpu_seconds = c1 - c0;
	r->wall_seconds = clock_seconds(CLOCK_MONOTONIC) - w0;
}

/* Known-answer checks: CRC-64/XZ check value, RFC 1321's "abc" on every
 * MD5 path, and every multi-buffer path against OpenSSL over the buffer's
 * lanes. */
static int self_check(const uint8_t *buf, size_t n)
{
	static const uint8_t md5_abc[16] = {
		0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
		0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72
	};
	uint8_t md5[16], lanes[MD5MB_MAX_LANES][16];

	if (crc64_ecma_update(0, "123456789", 9) != UINT64_C(0x995DC9BBDF1939FA)) {
		fprintf(stderr, "hashbench: CRC-64/XZ check value mismatch\n");
		return -1;
	}
	md5_once(md5, "abc", 3);
	if (memcmp(md5, md5_abc, sizeof md5) != 0) {
		fprintf(stderr, "hashbench: MD5 known answer mismatch\n");
		return -1;
	}
	for (int impl = 0; impl < MD5MB_IMPLS; impl++) {
		unsigned l = md5mb_lanes((enum md5mb_impl)impl);

		if (!md5mb_supported((enum md5mb_impl)impl))
			continue;
		md5mb_lanes_pass((enum md5mb_impl)impl, 1, (const uint8_t *)"abc", 3, lanes);
		if (memcmp(lanes[0], md5_abc, sizeof md5) != 0) {
			fprintf(stderr, "hashbench: MD5 (%s) known answer mismatch\n",
				md5mb_name((enum md5mb_impl)impl));
			return -1;
		}
		md5mb_lanes_pass((enum md5mb_impl)impl, l, buf, n, lanes);
		for (unsigned i = 0; i < l; i++) {
			md5_once(md5, buf + i * (n / l), n / l);
			if (memcmp(md5, lanes[i], sizeof md5) != 0) {
				fprintf(stderr, "hashbench: MD5 (%s) lane %u differs from OpenSSL\n",
					md5mb_name((enum md5mb_impl)impl), i);
				return -1;
			}
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hashbench [--seconds S] [--size BYTES] [--json]\n"
		"  Per-core throughput of MD5 (OpenSSL; each multi-buffer path this CPU\n"
		"  has, all lanes busy and one lane alone), CRC-64/XZ (ISA-L) and memcpy.\n"
		"  --seconds S   CPU time per algorithm (default 1.0)\n"
		"  --size BYTES  buffer size (default 16777216)\n"
		"  --json        one JSON object on stdout instead of a table\n");
}

static int parse_seconds(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v <= 0 || v > 600)
		return -1;
	*out = v;
	return 0;
}

/* The rows: OpenSSL's MD5, the multi-buffer paths this CPU has, CRC64,
 * memcpy.  "x OpenSSL" is each MD5 row's ratio to the first, same run. */
#define MAX_ROWS 8

static void print_rates(const struct rate *r, int n, int json, uint64_t size, double budget)
{
	const char *chosen = hoist_md5_impl();
	double openssl = r[0].bytes / r[0].cpu_seconds;

	if (json) {
		printf("{\"buffer_bytes\": %llu, \"seconds_per_algorithm\": %.3f, "
		       "\"md5_impl\": \"%s\"", (unsigned long long)size, budget,
		       chosen ? chosen : "none");
		for (int i = 0; i < n; i++) {
			printf(", \"%s_GBps_per_core\": %.3f, \"%s_wall_GBps\": %.3f",
			       r[i].name, r[i].bytes / r[i].cpu_seconds / 1e9,
			       r[i].name, r[i].bytes / r[i].wall_seconds / 1e9);
		}
		printf("}\n");
		return;
	}
	printf("%-13s %14s %14s %10s\n", "", "GB/s per core", "GB/s wall", "x OpenSSL");
	for (int i = 0; i < n; i++) {
		double rate = r[i].bytes / r[i].cpu_seconds;

		printf("%-13s %14.3f %14.3f", r[i].name, rate / 1e9,
		       r[i].bytes / r[i].wall_seconds / 1e9);
		if (strncmp(r[i].name, "md5", 3) == 0) {
			printf(" %10.1f", rate / openssl);
		}
		printf("\n");
	}
	printf("(the engine uses md5 path %s; md5_portable is one message alone)\n",
	       chosen ? chosen : "none: HOIST_MD5 names a path this CPU lacks");
}

int main(int argc, char **argv)
{
	static char names[MD5MB_IMPLS][24];
	double budget = 1.0;
	uint64_t size = 16u << 20;
	int json = 0, rc = 1, i, n = 0;
	uint8_t *buf = NULL, *scratch = NULL;
	uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
	struct rate rates[MAX_ROWS];

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			if (parse_seconds(argv[++i], &budget) < 0) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(argv[i], "--size") && i + 1 < argc) {
			if (parse_u64(argv[++i], &size) < 0 || size < 4096 || size > (UINT64_C(1) << 32)) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* Whole 64-byte blocks for every lane of every path. */
	size -= size % (MD5MB_MAX_LANES * 64);
	buf = malloc(size);
	scratch = malloc(size);
	if (!buf || !scratch) {
		fprintf(stderr, "hashbench: out of memory for a %llu-byte buffer\n",
			(unsigned long long)size);
		goto out;
	}
	/* xorshift64: incompressible bytes, and every page touched before timing. */
	for (uint64_t off = 0; off + 8 <= size; off += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + off, &x, 8);
	}
	memset(scratch, 0, size);
	if (self_check(buf, size) < 0)
		goto out;

	memset(rates, 0, sizeof(rates));
	rates[n].name = "md5";
	measure(&rates[n++], pass_md5, buf, size, scratch, budget);
	pass_impl = MD5MB_SCALAR;
	rates[n].name = "md5_portable";
	measure(&rates[n++], pass_md5mb_one, buf, size, scratch, budget);
	for (int impl = MD5MB_AVX2; impl < MD5MB_IMPLS; impl++) {
		if (!md5mb_supported((enum md5mb_impl)impl))
			continue;
		pass_impl = (enum md5mb_impl)impl;
		snprintf(names[impl], sizeof(names[impl]), "md5_%s", md5mb_name(pass_impl));
		rates[n].name = names[impl];
		measure(&rates[n++], pass_md5mb, buf, size, scratch, budget);
	}
	rates[n].name = "crc64";
	measure(&rates[n++], pass_crc64, buf, size, scratch, budget);
	rates[n].name = "memcpy";
	measure(&rates[n++], pass_memcpy, buf, size, scratch, budget);
	print_rates(rates, n, json, size, budget);
	rc = 0;
out:
	free(scratch);
	free(buf);
	return rc;
}
