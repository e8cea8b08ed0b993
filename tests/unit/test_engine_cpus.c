/*
 * test_engine_cpus.c - the engine's hash workers through the public API:
 * how many start and where they may run, read back from the kernel
 * (/proc/self/task/<tid>/comm and sched_getaffinity of each thread), for
 * the default placement, a creating thread bound to one CPU (taskset's
 * case), pinning off, an embedder's CPU list, lists the kernel refuses;
 * and engine options of version 1, laid against an unreadable page so that
 * reading one byte past what a version-1 caller has would crash.  Without
 * a CPU list the workers start with the first upload that hashes ahead of
 * sending (an MD5 of an object over 64 KiB, or a multipart upload), so
 * each test starts one, to an endpoint that refuses the connection: the
 * pool starts before the first request.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "hoist.h"

struct worker {
	pid_t tid;
	cpu_set_t cpus;
};

/* The hoist-hash-* threads of this process and their affinity. */
static int hash_workers(struct worker *out, int max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) && n < max) {
		char path[300], comm[32] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = '\0';
		fclose(f);
		if (strncmp(comm, "hoist-hash-", 11) != 0)
			continue;
		out[n].tid = (pid_t)atoi(de->d_name);
		assert_int_equal(sched_getaffinity(out[n].tid, sizeof(out[n].cpus), &out[n].cpus), 0);
		n++;
	}
	closedir(d);
	return n;
}

/* The workers left after hoist_engine_free: none, once the kernel has
 * reaped them (pthread_join returns when a thread has cleared its id, a
 * moment before its /proc/self/task entry goes, which a loaded machine
 * can stretch). */
static int workers_left(struct worker *w, int max)
{
	int n, tries;

	for (tries = 0; (n = hash_workers(w, max)) > 0 && tries < 200; tries++) {
		usleep(10 * 1000);
	}
	return n;
}

static int first_cpu(const cpu_set_t *s)
{
	int c;

	for (c = 0; c < CPU_SETSIZE; c++) {
		if (CPU_ISSET(c, s))
			return c;
	}
	return -1;
}

/* Options whose uploads fail at once: nothing listens on port 1. */
static void refused_endpoint(struct hoist_engine_options *o)
{
	o->endpoint = "http://127.0.0.1:1";
	o->max_attempts = 1;
}

static struct hoist_engine *engine_with(const struct hoist_engine_options *in)
{
	struct hoist_engine_options o = *in;
	struct hoist_engine *e = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;

	refused_endpoint(&o);
	if (hoist_engine_new(&e, &o, &r) != HOIST_OK) {
		fail_msg("hoist_engine_new: %s", r.message ? r.message : "(no message)");
	}
	hoist_result_cleanup(&r);
	return e;
}

/* One single-request upload of 128 KiB with the given checksum mode, which
 * fails (connection refused); returns when it has ended. */
static void upload_once(struct hoist_engine *e, enum hoist_checksum mode)
{
	static unsigned char data[128 * 1024];
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_result r = HOIST_RESULT_INIT;
	struct hoist_upload *u = NULL;
	char path[] = "/tmp/hoist-test-cpus-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(write(fd, data, sizeof(data)), (ssize_t)sizeof(data));
	o.bucket = "b";
	o.key = "k";
	o.checksum = mode;
	o.no_resume = 1;
	assert_int_equal(hoist_upload_fd_start(&u, e, fd, &o, &r), HOIST_OK);
	assert_int_not_equal(hoist_upload_wait(u, &r), HOIST_OK);
	hoist_result_cleanup(&r);
	hoist_upload_free(u);
	close(fd);
}

/* Starts the engine's hash workers (an upload that hashes MD5 first). */
static void start_workers(struct hoist_engine *e)
{
	upload_once(e, HOIST_CHECKSUM_MD5);
}

static void test_default_placement(void **state)
{
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	struct worker w[256];
	cpu_set_t mine, seen;
	struct hoist_engine *e;
	int n, i;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	e = engine_with(&o);
	/* Nothing hashed yet, nor by an upload that checks CRC64 only (it
	 * is computed as the bytes are sent). */
	assert_int_equal(hash_workers(w, 256), 0);
	upload_once(e, HOIST_CHECKSUM_CRC64);
	assert_int_equal(hash_workers(w, 256), 0);
	start_workers(e);
	n = hash_workers(w, 256);
	assert_true(n >= 1 && n <= CPU_COUNT(&mine));
	CPU_ZERO(&seen);
	for (i = 0; i < n; i++) {
		cpu_set_t in;

		/* Only CPUs we may use; with two or more, each worker has its
		 * own core (this machine has no hardware threads to share). */
		CPU_AND(&in, &w[i].cpus, &mine);
		assert_true(CPU_EQUAL(&in, &w[i].cpus));
		if (n >= 2) {
			CPU_AND(&in, &w[i].cpus, &seen);
			assert_int_equal(CPU_COUNT(&in), 0);
			CPU_OR(&seen, &seen, &w[i].cpus);
		}
	}
	hoist_engine_free(e);
	assert_int_equal(workers_left(w, 256), 0);
}

/* An engine made while this thread may run on `one` CPU only; its
 * workers are then started from this thread back on all of `mine`, and
 * must be nworkers, each on that one CPU. */
static void workers_of_bound_creator(struct hoist_engine_options *o, unsigned nworkers,
				     const cpu_set_t *one, const cpu_set_t *mine)
{
	struct worker w[256];
	struct hoist_engine *e;
	unsigned i;

	assert_int_equal(sched_setaffinity(0, sizeof(*one), one), 0);
	e = engine_with(o);
	assert_int_equal(sched_setaffinity(0, sizeof(*mine), mine), 0);
	start_workers(e);
	assert_int_equal(hash_workers(w, 256), (int)nworkers);
	for (i = 0; i < nworkers; i++) {
		assert_true(CPU_EQUAL(&w[i].cpus, one));
	}
	hoist_engine_free(e);
	assert_int_equal(workers_left(w, 256), 0);
}

static void test_bound_creator(void **state)
{
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	cpu_set_t mine, one;

	(void)state;
	/* What `taskset -c N` does to the whole process, done to this
	 * thread: the engine sees one CPU and starts one worker there, even
	 * when the upload that starts the workers comes from a thread that
	 * may run anywhere. */
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	CPU_ZERO(&one);
	CPU_SET(first_cpu(&mine), &one);
	workers_of_bound_creator(&o, 1, &one, &mine);
	/* Unpinned workers do not bind themselves: they run where the
	 * engine's creator could, not where the starting upload's thread can. */
	o.pinning = HOIST_PINNING_OFF;
	o.hash_threads = 2;
	workers_of_bound_creator(&o, 2, &one, &mine);
}

static void test_pinning_off(void **state)
{
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	struct worker w[8];
	cpu_set_t mine;
	struct hoist_engine *e;
	int n, i;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	o.pinning = HOIST_PINNING_OFF;
	o.hash_threads = 3;
	e = engine_with(&o);
	start_workers(e);
	n = hash_workers(w, 8);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_true(CPU_EQUAL(&w[i].cpus, &mine));
	}
	hoist_engine_free(e);
}

static void test_cpu_list(void **state)
{
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	struct worker w[8];
	cpu_set_t mine;
	struct hoist_engine *e;
	char list[16];
	int c;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	c = first_cpu(&mine);
	snprintf(list, sizeof(list), "%d", c);
	o.cpus = list;
	e = engine_with(&o);
	/* With a list the workers start at once (so that a wrong list fails
	 * hoist_engine_new).  COPIED: the list may go away at once. */
	memset(list, 'x', sizeof(list) - 1);
	assert_int_equal(hash_workers(w, 8), 1);
	assert_int_equal(CPU_COUNT(&w[0].cpus), 1);
	assert_true(CPU_ISSET(c, &w[0].cpus));
	hoist_engine_free(e);
}

static void test_cpu_list_refused(void **state)
{
	static const struct {
		const char *cpus;
		const char *says;
	} rows[] = {
		{ "1000", "cpus: cannot bind the hash workers to CPUs 1000: Invalid argument" },
		{ "0-", "cpus \"0-\": not a CPU list" },
		{ "", "cpus \"\": not a CPU list" },
	};
	struct hoist_engine_options o = HOIST_ENGINE_OPTIONS_INIT;
	struct worker w[8];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct hoist_engine *e = (struct hoist_engine *)1;
		struct hoist_result r = HOIST_RESULT_INIT;

		o.cpus = rows[i].cpus;
		assert_int_equal(hoist_engine_new(&e, &o, &r), HOIST_E_INVALID_ARG);
		assert_null(e);
		if (!r.message || !strstr(r.message, rows[i].says)) {
			fail_msg("cpus \"%s\": \"%s\" does not say \"%s\"", rows[i].cpus,
				 r.message ? r.message : "", rows[i].says);
		}
		hoist_result_cleanup(&r);
		/* Nothing left running. */
		assert_int_equal(workers_left(w, 8), 0);
	}
}

static void test_options_version_1(void **state)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t v1 = offsetof(struct hoist_engine_options, pinning);
	struct hoist_engine_options full = HOIST_ENGINE_OPTIONS_INIT;
	struct worker w[8];
	struct hoist_engine *e = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	char *mem;

	(void)state;
	/* A caller built against version 1 has a struct that ends where
	 * version 2 begins: put its end against a page we cannot read. */
	mem = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(mprotect(mem + page, page, PROT_NONE), 0);
	full.version = 1;
	full.hash_threads = 2;
	refused_endpoint(&full);
	memcpy(mem + page - v1, &full, v1);
	assert_int_equal(hoist_engine_new(&e, (const void *)(mem + page - v1), &r), HOIST_OK);
	start_workers(e);
	assert_int_equal(hash_workers(w, 8), 2);
	hoist_engine_free(e);
	munmap(mem, 2 * page);

	full.version = HOIST_ENGINE_OPTIONS_VERSION + 1;
	e = (struct hoist_engine *)1;
	assert_int_equal(hoist_engine_new(&e, &full, &r), HOIST_E_INVALID_ARG);
	assert_null(e);
	assert_non_null(r.message);
	assert_non_null(strstr(r.message, "engine options version"));
	assert_non_null(strstr(r.message, "expected 1 to"));
	hoist_result_cleanup(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_placement),
		cmocka_unit_test(test_bound_creator),
		cmocka_unit_test(test_pinning_off),
		cmocka_unit_test(test_cpu_list),
		cmocka_unit_test(test_cpu_list_refused),
		cmocka_unit_test(test_options_version_1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
