/*
 * test_hashpool.c - the hash pool (engine/hashpool.c) on every MD5 path
 * this CPU has: parts read from a real file (pread and mmap) and parts in
 * memory, of lengths around every chunk and block edge, at unaligned
 * offsets, with every mix of checksums asked for, one worker and two.
 * Each result is compared with the checksum of the same bytes computed in
 * one piece from a separate copy of the file (MD5 by OpenSSL, which the
 * lanes path does not use).  Also: a batch submitted as a list is hashed
 * in full lanes, stopped jobs are skipped, a range past the end of the
 * file reports a short source, and the batch and window sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>

#include "checksum.h"
#include "hashpool.h"
#include "source.h"

#define FILE_SIZE (40u << 20)

static char path[] = "/tmp/hoist-test-hashpool-XXXXXX";
static unsigned char *copy;   /* the file's bytes, read separately */

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static unsigned done_count;

static void on_done(struct hash_job *j)
{
	(void)j;
	pthread_mutex_lock(&done_lock);
	done_count++;
	pthread_cond_signal(&done_cond);
	pthread_mutex_unlock(&done_lock);
}

static void wait_done(unsigned n)
{
	pthread_mutex_lock(&done_lock);
	while (done_count < n) {
		pthread_cond_wait(&done_cond, &done_lock);
	}
	pthread_mutex_unlock(&done_lock);
}

static uint64_t rng = 0x2545F4914F6CDD1DULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int setup(void **state)
{
	int fd = mkstemp(path);
	size_t off = 0;

	(void)state;
	copy = malloc(FILE_SIZE);
	if (fd < 0 || !copy)
		return -1;
	for (size_t i = 0; i < FILE_SIZE; i += 8) {
		uint64_t v = rnd();

		memcpy(copy + i, &v, 8);
	}
	while (off < FILE_SIZE) {
		ssize_t n = write(fd, copy + off, FILE_SIZE - off);

		if (n <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	free(copy);
	return 0;
}

static const enum md5mb_impl impls[] = { MD5MB_SCALAR, MD5MB_AVX2, MD5MB_AVX512 };

/* Lengths on the edges of MD5 blocks, of the lanes' 64 KiB chunks and of
 * the scalar path's 256 KiB ones, and a few whole parts. */
static const uint64_t edge_lens[] = {
	0, 1, 55, 56, 63, 64, 65, 4095,
	64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1,
	256 * 1024 - 1, 256 * 1024, 256 * 1024 + 1,
	1 << 20, 3 * (1 << 20) + 17, 5 * (1 << 20) + 4097, 8 << 20,
};
#define NEDGE (sizeof(edge_lens) / sizeof(edge_lens[0]))
#define NJOBS 48

struct want {
	uint8_t md5[16];
	uint64_t crc, nvme;
	uint32_t c32c;
};

/* Fills jobs[0..n) with ranges of the file (or of `mem`, when non-NULL),
 * each with its own mix of checksums, and their expected results. */
static void make_jobs(struct hash_job *jobs, struct want *want, unsigned n,
		      struct source *src, const unsigned char *mem)
{
	for (unsigned i = 0; i < n; i++) {
		struct hash_job *j = &jobs[i];
		uint64_t len = i < NEDGE ? edge_lens[i] : rnd() % (2 << 20);
		uint64_t off = rnd() % (FILE_SIZE - len + 1);

		memset(j, 0, sizeof(*j));
		j->src = mem ? NULL : src;
		j->mem = mem ? mem + off : NULL;
		j->off = mem ? 0 : off;
		j->len = len;
		/* Every combination over the jobs; most want MD5 and CRC64,
		 * as the default upload does. */
		j->want_md5 = i % 7 != 3;
		j->want_crc = i % 5 != 2;
		j->want_crc32c = i % 3 == 0;
		j->want_crc64nvme = i % 4 == 1;
		j->done = on_done;
		md5_once(want[i].md5, copy + off, len);
		want[i].crc = crc64_ecma_update(0, copy + off, len);
		want[i].c32c = crc32c_update(0, copy + off, len);
		want[i].nvme = crc64_nvme_update(0, copy + off, len);
	}
}

static void check_jobs(const struct hash_job *jobs, const struct want *want, unsigned n,
		       enum md5mb_impl impl, const char *what)
{
	for (unsigned i = 0; i < n; i++) {
		const struct hash_job *j = &jobs[i];

		if (j->result != 0) {
			fail_msg("%s, %s: job %u (%llu bytes): result %d", md5mb_name(impl), what, i,
				 (unsigned long long)j->len, j->result);
		}
		if (j->want_md5 && memcmp(j->md5, want[i].md5, 16) != 0) {
			fail_msg("%s, %s: job %u (%llu bytes): MD5 differs from OpenSSL's",
				 md5mb_name(impl), what, i, (unsigned long long)j->len);
		}
		if (j->want_crc && j->crc != want[i].crc) {
			fail_msg("%s, %s: job %u (%llu bytes): CRC64 differs", md5mb_name(impl), what,
				 i, (unsigned long long)j->len);
		}
		if (j->want_crc32c && j->crc32c != want[i].c32c) {
			fail_msg("%s, %s: job %u: CRC32C differs", md5mb_name(impl), what, i);
		}
		if (j->want_crc64nvme && j->crc64nvme != want[i].nvme) {
			fail_msg("%s, %s: job %u: CRC64NVME differs", md5mb_name(impl), what, i);
		}
	}
}

/* Submits jobs in two lists, the second while the first is being hashed,
 * so that lanes are refilled from the queue while others run. */
static void run_jobs(struct hashpool *p, struct hash_job *jobs, unsigned n)
{
	unsigned half = n / 2;

	pthread_mutex_lock(&done_lock);
	done_count = 0;
	pthread_mutex_unlock(&done_lock);
	for (unsigned i = 0; i + 1 < n; i++) {
		jobs[i].next = i + 1 == half ? NULL : &jobs[i + 1];
	}
	jobs[n - 1].next = NULL;
	hashpool_submit_list(p, &jobs[0]);
	hashpool_submit_list(p, &jobs[half]);
	wait_done(n);
}

static void test_parts(void **state)
{
	static struct hash_job jobs[NJOBS];
	static struct want want[NJOBS];

	(void)state;
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		if (!md5mb_supported(impls[k])) {
			print_message("skipping %s: not on this CPU\n", md5mb_name(impls[k]));
			continue;
		}
		for (unsigned threads = 1; threads <= 2; threads++) {
			struct hashpool *p;
			char err[128];

			assert_int_equal(hashpool_new(&p, NULL, threads, impls[k]), 0);
			for (int io = 0; io < 2; io++) {
				struct source *src;

				assert_int_equal(source_open_path(&src, path, io ? HOIST_IO_MMAP :
								  HOIST_IO_PREAD, err, sizeof(err)),
						 HOIST_OK);
				make_jobs(jobs, want, NJOBS, src, NULL);
				run_jobs(p, jobs, NJOBS);
				check_jobs(jobs, want, NJOBS, impls[k], io ? "mmap" : "pread");
				source_free(src);
			}
			make_jobs(jobs, want, NJOBS, NULL, copy);
			run_jobs(p, jobs, NJOBS);
			check_jobs(jobs, want, NJOBS, impls[k], "in memory");
			hashpool_free(p);
		}
	}
}

/* One worker, 32 parts of 1 MiB submitted as one list: the lanes path
 * hashes them together (the mean busy lanes per round is the lane count,
 * give or take the first round); the scalar path runs no rounds. */
static void test_batch_fills_lanes(void **state)
{
	static struct hash_job jobs[32];

	(void)state;
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		enum md5mb_impl impl = impls[k];
		unsigned n = impl == MD5MB_SCALAR ? 8 : md5mb_lanes(impl);
		struct hashpool_stats st;
		struct hashpool *p;

		if (!md5mb_supported(impl))
			continue;
		assert_int_equal(hashpool_new(&p, NULL, 1, impl), 0);
		for (unsigned i = 0; i < n; i++) {
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].mem = copy + (size_t)i * (1 << 20);
			jobs[i].len = 1 << 20;
			jobs[i].want_md5 = 1;
			jobs[i].done = on_done;
			jobs[i].next = i + 1 < n ? &jobs[i + 1] : NULL;
		}
		pthread_mutex_lock(&done_lock);
		done_count = 0;
		pthread_mutex_unlock(&done_lock);
		hashpool_submit_list(p, &jobs[0]);
		wait_done(n);
		hashpool_stats(p, &st);
		assert_int_equal(st.jobs, n);
		if (impl == MD5MB_SCALAR) {
			assert_int_equal(st.rounds, 0);
		} else {
			/* 1 MiB in lane chunks: every round has all n lanes. */
			assert_int_equal(st.rounds, (1 << 20) / HASHPOOL_LANE_CHUNK);
			assert_int_equal(st.lane_rounds, n * ((1 << 20) / HASHPOOL_LANE_CHUNK));
		}
		for (unsigned i = 0; i < n; i++) {
			uint8_t want[16];

			md5_once(want, copy + (size_t)i * (1 << 20), 1 << 20);
			assert_memory_equal(jobs[i].md5, want, 16);
		}
		hashpool_free(p);
	}
}

/* A stopping upload's jobs are skipped; a range past the end of the file
 * (it shrank) is a short source; neither holds a lane or the others up. */
static void test_skip_and_short(void **state)
{
	static struct hash_job jobs[6];
	atomic_int stop = 1;

	(void)state;
	for (size_t k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
		struct hashpool *p;
		struct source *src;
		char err[128];
		uint8_t want[16];

		if (!md5mb_supported(impls[k]))
			continue;
		assert_int_equal(hashpool_new(&p, NULL, 1, impls[k]), 0);
		assert_int_equal(source_open_path(&src, path, HOIST_IO_PREAD, err, sizeof(err)),
				 HOIST_OK);
		for (unsigned i = 0; i < 6; i++) {
			memset(&jobs[i], 0, sizeof(jobs[i]));
			jobs[i].src = src;
			jobs[i].off = (uint64_t)i << 20;
			jobs[i].len = 1 << 20;
			jobs[i].want_md5 = 1;
			jobs[i].want_crc = 1;
			jobs[i].done = on_done;
			jobs[i].next = i + 1 < 6 ? &jobs[i + 1] : NULL;
		}
		jobs[1].stop = &stop;
		jobs[3].off = FILE_SIZE - 1000;   /* 1 MiB from 1000 bytes before the end */
		pthread_mutex_lock(&done_lock);
		done_count = 0;
		pthread_mutex_unlock(&done_lock);
		hashpool_submit_list(p, &jobs[0]);
		wait_done(6);
		assert_int_equal(jobs[1].result, HASH_SKIPPED);
		assert_int_equal(jobs[3].result, SOURCE_SHORT);
		for (unsigned i = 0; i < 6; i++) {
			if (i == 1 || i == 3)
				continue;
			assert_int_equal(jobs[i].result, 0);
			md5_once(want, copy + jobs[i].off, 1 << 20);
			assert_memory_equal(jobs[i].md5, want, 16);
			assert_true(jobs[i].crc == crc64_ecma_update(0, copy + jobs[i].off, 1 << 20));
		}
		source_free(src);
		hashpool_free(p);
	}
}

static void test_batch_and_window(void **state)
{
	struct hashpool *p;

	(void)state;
	assert_int_equal(hashpool_new(&p, NULL, 2, MD5MB_SCALAR), 0);
	assert_int_equal(hashpool_batch(p, 8 << 20), 1);
	assert_int_equal(hashpool_window(p, 8 << 20), 4);
	hashpool_free(p);
	if (md5mb_supported(MD5MB_AVX512)) {
		assert_int_equal(hashpool_new(&p, NULL, 2, MD5MB_AVX512), 0);
		assert_int_equal(hashpool_batch(p, 8 << 20), 32);
		assert_int_equal(hashpool_window(p, 8 << 20), 64);
		assert_int_equal(hashpool_batch(p, 100 * 1024), 32);
		/* Bounded in bytes: 256 MiB a batch. */
		assert_int_equal(hashpool_batch(p, 64 << 20), 4);
		assert_int_equal(hashpool_window(p, 64 << 20), 8);
		assert_int_equal(hashpool_batch(p, 5ull << 30), 1);
		assert_int_equal(hashpool_window(p, 5ull << 30), 2);
		hashpool_free(p);
	}
	if (md5mb_supported(MD5MB_AVX2)) {
		assert_int_equal(hashpool_new(&p, NULL, 1, MD5MB_AVX2), 0);
		assert_int_equal(hashpool_batch(p, 8 << 20), 16);
		assert_int_equal(hashpool_window(p, 8 << 20), 32);
		hashpool_free(p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_batch_fills_lanes),
		cmocka_unit_test(test_skip_and_short),
		cmocka_unit_test(test_batch_and_window),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
