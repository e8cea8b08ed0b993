/*
 * hashbench.c - the hashing ceilings of this machine, one core at a time.
 *
 * Owns: measuring how many GB per second one core can push through MD5
 * (OpenSSL EVP, via engine/checksum.h), CRC-64/XZ (ISA-L crc64_ecma_refl, via
 * crc64_ecma_update) and, as a reference point, memcpy.  The benchmark harness
 * (bench/harness/) runs it in the same run as the uploads, so that an upload's
 * throughput and CPU cost can be read against what its checksums alone cost:
 * with MD5+CRC64 an upload cannot go faster than cores x MD5 rate, and every
 * GB costs at least 1/MD5-rate core-seconds.
 *
 * Design: one buffer (16 MiB by default: larger than L2, the size of a few
 * parts' worth of page-cache reads), filled with pseudo-random bytes and
 * touched once before timing.  Each algorithm runs whole passes over the
 * buffer until the time budget is spent; the rate is bytes divided by the
 * thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so a busy shared machine
 * lowers the wall-clock rate but not the per-core figure.  Both are printed.
 * Before timing, the CRC is checked against the CRC-64/XZ check value and MD5
 * against RFC 1321's vector, so a broken build cannot report a fast wrong
 * answer.
 *
 * Threading: single-threaded by design (the figure is per core).
 */
#include "checksum.h"

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

/* Known-answer checks: CRC-64/XZ check value and RFC 1321's "abc". */
static int self_check(void)
{
	static const uint8_t md5_abc[16] = {
		0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
		0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72
	};
	uint8_t md5[16];

	if (crc64_ecma_update(0, "123456789", 9) != UINT64_C(0x995DC9BBDF1939FA)) {
		fprintf(stderr, "hashbench: CRC-64/XZ check value mismatch\n");
		return -1;
	}
	md5_once(md5, "abc", 3);
	if (memcmp(md5, md5_abc, sizeof md5) != 0) {
		fprintf(stderr, "hashbench: MD5 known answer mismatch\n");
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hashbench [--seconds S] [--size BYTES] [--json]\n"
		"  Per-core throughput of MD5 (OpenSSL), CRC-64/XZ (ISA-L) and memcpy.\n"
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

int main(int argc, char **argv)
{
	double budget = 1.0;
	uint64_t size = 16u << 20;
	int json = 0, rc = 1, i;
	uint8_t *buf = NULL, *scratch = NULL;
	uint64_t x = UINT64_C(0x9E3779B97F4A7C15);
	struct rate rates[3] = { { .name = "md5" }, { .name = "crc64" }, { .name = "memcpy" } };

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
	if (self_check() < 0)
		goto out;
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

	measure(&rates[0], pass_md5, buf, size, scratch, budget);
	measure(&rates[1], pass_crc64, buf, size, scratch, budget);
	measure(&rates[2], pass_memcpy, buf, size, scratch, budget);

	if (json) {
		printf("{\"buffer_bytes\": %llu, \"seconds_per_algorithm\": %.3f",
		       (unsigned long long)size, budget);
		for (i = 0; i < 3; i++) {
			printf(", \"%s_GBps_per_core\": %.3f, \"%s_wall_GBps\": %.3f",
			       rates[i].name, rates[i].bytes / rates[i].cpu_seconds / 1e9,
			       rates[i].name, rates[i].bytes / rates[i].wall_seconds / 1e9);
		}
		printf("}\n");
	} else {
		printf("%-8s %14s %14s\n", "", "GB/s per core", "GB/s wall");
		for (i = 0; i < 3; i++) {
			printf("%-8s %14.3f %14.3f\n", rates[i].name,
			       rates[i].bytes / rates[i].cpu_seconds / 1e9,
			       rates[i].bytes / rates[i].wall_seconds / 1e9);
		}
	}
	rc = 0;
out:
	free(scratch);
	free(buf);
	return rc;
}
