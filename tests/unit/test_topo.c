/*
 * test_topo.c - the CPUs the engine may use: the kernel-text parsers (CPU
 * lists, cgroup v2 cpu.max, v1 CFS quota, mountinfo lines), the cgroup
 * CPU limit found in fixture trees laid out as the kernel lays out /proc
 * and /sys (v2, v1 + unified hybrid, a container's view, nested limits),
 * cores grouped from sysfs sibling lists, and binding a real thread.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sysfs.h"
#include "topo.h"

/* ------------------------------------------------------------ fixtures */

struct tree {
	char root[64];
};

/* Writes text to root/rel, making the directories on the way. */
static void put(const struct tree *t, const char *rel, const char *text)
{
	char path[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->root, rel);
	for (p = path + strlen(t->root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(path, 0755);
		*p = '/';
	}
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	snprintf(t->root, sizeof(t->root), "/tmp/hoist-topo-XXXXXX");
	assert_non_null(mkdtemp(t->root));
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* ------------------------------------------------------------- parsers */

static void test_cpulist(void **state)
{
	static const struct {
		const char *in;
		int count;
		const char *cpus; /* the CPUs expected, as a 0/1 string from CPU 0 */
	} rows[] = {
		{ "0", 1, "1" },
		{ "0-3,8\n", 5, "111100001" },
		{ "  2,0 \n", 2, "101" },
		{ "1-2,2-3", 3, "0111" },           /* overlaps count once */
		{ "1023", 1, NULL },                /* the last CPU of 1024 */
		{ "", -1, NULL },
		{ "\n", -1, NULL },
		{ "3-1", -1, NULL },                /* backwards */
		{ "1024", -1, NULL },               /* does not fit */
		{ "0-1024", -1, NULL },
		{ "0,,1", -1, NULL },
		{ "0,", -1, NULL },
		{ "-1", -1, NULL },
		{ "1-", -1, NULL },
		{ "0, 1", -1, NULL },               /* the kernel writes no spaces */
		{ "a", -1, NULL },
		{ "0x1", -1, NULL },
		{ "99999999999999999999", -1, NULL }, /* no overflow to a small CPU */
	};
	size_t setsize = CPU_ALLOC_SIZE(1024), i, c;
	cpu_set_t *set = CPU_ALLOC(1024);

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int n = sysfs_parse_cpulist(rows[i].in, set, setsize);

		if (n != rows[i].count) {
			fail_msg("\"%s\": %d CPUs, want %d", rows[i].in, n, rows[i].count);
		}
		for (c = 0; rows[i].cpus && c < 64; c++) {
			int want = c < strlen(rows[i].cpus) && rows[i].cpus[c] == '1';

			if (!!CPU_ISSET_S(c, setsize, set) != want) {
				fail_msg("\"%s\": CPU %zu is %s", rows[i].in, c, want ? "missing" : "extra");
			}
		}
	}
	assert_int_equal(sysfs_parse_cpulist("1023", set, setsize), 1);
	assert_true(CPU_ISSET_S(1023, setsize, set));
	CPU_FREE(set);
}

static void test_cpu_max(void **state)
{
	static const struct {
		const char *in;
		int rc;
		uint64_t milli;
	} rows[] = {
		{ "max 100000\n", 0, 0 },
		{ "max", 0, 0 },
		{ "150000 100000\n", 1, 1500 },
		{ "50000 100000", 1, 500 },
		{ "1 3", 1, 334 },                  /* rounded up, never below */
		{ "400000 100000", 1, 4000 },
		{ "999999999999999999 1", 1, 999999999999999999ULL * 1000 },
		{ "0 100000", -1, 0 },
		{ "100000 0", -1, 0 },
		{ "100000", -1, 0 },
		{ "100000  100000", -1, 0 },
		{ "max 0", -1, 0 },
		{ "-1 100000", -1, 0 },
		{ "", -1, 0 },
		{ "maxx 100000", -1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t m = 0;
		int rc = sysfs_parse_cpu_max(rows[i].in, &m);

		if (rc != rows[i].rc || (rc == 1 && m != rows[i].milli)) {
			fail_msg("\"%s\": rc %d milli %llu, want %d %llu", rows[i].in, rc,
				 (unsigned long long)m, rows[i].rc, (unsigned long long)rows[i].milli);
		}
	}
}

static void test_cfs(void **state)
{
	static const struct {
		const char *quota, *period;
		int rc;
		uint64_t milli;
	} rows[] = {
		{ "-1\n", "100000\n", 0, 0 },
		{ "200000\n", "100000\n", 1, 2000 },
		{ "50000", "100000", 1, 500 },
		{ "-2", "100000", -1, 0 },
		{ "-1", "", -1, 0 },
		{ "-", "100000", -1, 0 },
		{ "100000", "0", -1, 0 },
		{ "1e5", "100000", -1, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t m = 0;
		int rc = sysfs_parse_cfs(rows[i].quota, rows[i].period, &m);

		if (rc != rows[i].rc || (rc == 1 && m != rows[i].milli)) {
			fail_msg("\"%s\"/\"%s\": rc %d milli %llu", rows[i].quota, rows[i].period, rc,
				 (unsigned long long)m);
		}
	}
}

static void test_mountinfo_line(void **state)
{
	char a[] = "36 35 98:0 /docker/ab /sys/fs/cgroup/my\\040cpu rw,nosuid shared:9 "
		   "master:2 - cgroup cgroup rw,cpu,cpuacct\n";
	char b[] = "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate";
	char c[] = "29 23 0:26 / /sys/fs/cgroup rw cgroup2 cgroup2 rw"; /* no "-" */
	char d[] = "29 23 0:26 / /x rw - cgroup2 cgroup2";               /* no super options */
	char e[] = "";
	struct sysfs_mount m;

	(void)state;
	assert_int_equal(sysfs_parse_mountinfo_line(a, &m), 0);
	assert_string_equal(m.root, "/docker/ab");
	assert_string_equal(m.mount_point, "/sys/fs/cgroup/my cpu");
	assert_string_equal(m.fstype, "cgroup");
	assert_string_equal(m.super_options, "rw,cpu,cpuacct");
	assert_int_equal(sysfs_parse_mountinfo_line(b, &m), 0);
	assert_string_equal(m.fstype, "cgroup2");
	assert_string_equal(m.mount_point, "/sys/fs/cgroup");
	assert_int_equal(sysfs_parse_mountinfo_line(c, &m), -1);
	assert_int_equal(sysfs_parse_mountinfo_line(d, &m), -1);
	assert_int_equal(sysfs_parse_mountinfo_line(e, &m), -1);
}

/* --------------------------------------------------------- cgroup limit */

#define MI_V2 "29 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"

static void test_limit_v2_nested(void **state)
{
	struct tree *t = *state;

	put(t, "proc/self/cgroup", "0::/user.slice/app.scope\n");
	put(t, "proc/self/mountinfo",
	    "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n" MI_V2);
	/* The parent's limit (2 CPUs) binds the child that has none. */
	put(t, "sys/fs/cgroup/user.slice/cpu.max", "200000 100000\n");
	put(t, "sys/fs/cgroup/user.slice/app.scope/cpu.max", "max 100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 2000);
	/* A tighter child wins. */
	put(t, "sys/fs/cgroup/user.slice/app.scope/cpu.max", "150000 100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 1500);
}

static void test_limit_v1_hybrid(void **state)
{
	struct tree *t = *state;

	/* This machine's layout: v1 controllers, an empty unified v2. */
	put(t, "proc/self/cgroup",
	    "4:memory:/job\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/job/step\n0::/job\n");
	put(t, "proc/self/mountinfo",
	    "31 25 0:28 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	    "30 25 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
	    "40 25 0:35 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
	put(t, "sys/fs/cgroup/cpu/job/step/cpu.cfs_quota_us", "-1\n");
	put(t, "sys/fs/cgroup/cpu/job/step/cpu.cfs_period_us", "100000\n");
	put(t, "sys/fs/cgroup/cpu/job/cpu.cfs_quota_us", "50000\n");
	put(t, "sys/fs/cgroup/cpu/job/cpu.cfs_period_us", "100000\n");
	/* A cpuacct-only hierarchy is not the cpu one, whatever it holds. */
	put(t, "sys/fs/cgroup/cpuacct/cpu.cfs_quota_us", "1000\n");
	put(t, "sys/fs/cgroup/cpuacct/cpu.cfs_period_us", "100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 500);
	/* A v2 limit tighter than v1's wins too. */
	put(t, "sys/fs/cgroup/unified/job/cpu.max", "30000 100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 300);
}

static void test_limit_container(void **state)
{
	struct tree *t = *state;

	/* No cgroup namespace: the process is in /docker/abc, and the mount
	 * shows that cgroup as its top (root field /docker/abc). */
	put(t, "proc/self/cgroup", "0::/docker/abc\n");
	put(t, "proc/self/mountinfo",
	    "29 23 0:26 /docker/abc /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n");
	put(t, "sys/fs/cgroup/cpu.max", "100000 100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 1000);
}

static void test_limit_none(void **state)
{
	struct tree *t = *state;

	/* Nothing to read at all, then a membership without a mount, then
	 * garbage where the limit should be. */
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 0);
	put(t, "proc/self/cgroup", "0::/a\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 0);
	put(t, "proc/self/mountinfo", MI_V2);
	put(t, "sys/fs/cgroup/a/cpu.max", "lots\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 0);
	put(t, "sys/fs/cgroup/a/cpu.max", "max 100000\n");
	assert_int_equal(sysfs_cgroup_cpu_limit(t->root), 0);
}

/* --------------------------------------------------------------- cores */

static void cpus_of(const struct topo *t, unsigned core, char *out, size_t len)
{
	size_t setsize, c, n = 0;
	const cpu_set_t *s = topo_core(t, core, &setsize);

	out[0] = '\0';
	for (c = 0; s && c < 64; c++) {
		if (CPU_ISSET_S(c, setsize, s)) {
			n += (size_t)snprintf(out + n, len - n, "%s%zu", n ? "," : "", c);
		}
	}
}

#define INTEL "core:2 pu:2(indexes=0,2,1,3)"

static void test_cores_from_topology(void **state)
{
	struct tree *t = *state;
	struct topo *tp = NULL;
	char err[256] = "", got[64];

	/* Two cores of two hardware threads, numbered as Intel does (the
	 * siblings of 0 are 0 and 2), as hwloc's synthetic machine. */
	assert_int_equal(topo_new_at(&tp, t->root, INTEL, "0-3", HOIST_PINNING_AUTO, err,
				     sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 2);
	cpus_of(tp, 0, got, sizeof(got));
	assert_string_equal(got, "0,2");
	cpus_of(tp, 1, got, sizeof(got));
	assert_string_equal(got, "1,3");
	assert_null(topo_core(tp, 2, &(size_t){ 0 }));
	topo_free(tp);

	/* One thread of each core: two cores of one CPU each. */
	assert_int_equal(topo_new_at(&tp, t->root, INTEL, "2,3", HOIST_PINNING_AUTO, err, sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 2);
	cpus_of(tp, 0, got, sizeof(got));
	assert_string_equal(got, "2");
	topo_free(tp);

	/* A cgroup limit of 1.5 CPUs: two workers (rounded up), then 0.5: one. */
	put(t, "proc/self/cgroup", "0::/\n");
	put(t, "proc/self/mountinfo", MI_V2);
	put(t, "sys/fs/cgroup/cpu.max", "150000 100000\n");
	assert_int_equal(topo_new_at(&tp, t->root, INTEL, "0-3", HOIST_PINNING_AUTO, err, sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 2);
	topo_free(tp);
	put(t, "sys/fs/cgroup/cpu.max", "50000 100000\n");
	assert_int_equal(topo_new_at(&tp, t->root, INTEL, "0-3", HOIST_PINNING_AUTO, err, sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 1);
	topo_describe(tp, 1, got, sizeof(got));
	topo_free(tp);
}

static void test_cores_outside_topology(void **state)
{
	struct tree *t = *state;
	struct topo *tp = NULL;
	char err[256];

	/* CPUs the topology does not hold (or no topology: a description
	 * hwloc refuses): every such CPU is its own core. */
	assert_int_equal(topo_new_at(&tp, t->root, "core:2 pu:1", "0-2,5", HOIST_PINNING_AUTO, err, sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 4);
	topo_free(tp);
	assert_int_equal(topo_new_at(&tp, t->root, "no such machine", "0-2", HOIST_PINNING_AUTO,
				     err, sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 3);
	topo_free(tp);
	/* Two cores of two threads, the whole machine: two workers. */
	assert_int_equal(topo_new_at(&tp, t->root, "core:2 pu:2", "0-3", HOIST_PINNING_AUTO, err,
				     sizeof(err)),
			 HOIST_OK);
	assert_int_equal(topo_ncores(tp), 2);
	topo_free(tp);
}

static void test_bad_cpus(void **state)
{
	static const char *const bad[] = { "", "x", "3-1", "0,", "0-99999999" };
	struct topo *tp = (struct topo *)1;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(topo_new(&tp, bad[i], HOIST_PINNING_AUTO, err, sizeof(err)),
				 HOIST_E_INVALID_ARG);
		assert_null(tp);
		if (!strstr(err, "cpus \"") || !strstr(err, bad[i])) {
			fail_msg("\"%s\": message \"%s\" does not name the list", bad[i], err);
		}
	}
	assert_int_equal(topo_new(&tp, NULL, (enum hoist_pinning)7, err, sizeof(err)),
			 HOIST_E_INVALID_ARG);
}

/* ------------------------------------------------------------- binding */

struct bind_arg {
	struct topo *t;
	unsigned index;
	int rc;
	cpu_set_t got;
};

static void *bind_thread(void *p)
{
	struct bind_arg *a = p;

	a->rc = topo_bind_core(a->t, a->index);
	CPU_ZERO(&a->got);
	pthread_getaffinity_np(pthread_self(), sizeof(a->got), &a->got);
	return NULL;
}

static void bind_in_thread(struct bind_arg *a)
{
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, bind_thread, a), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
}

static void test_bind(void **state)
{
	cpu_set_t mine;
	struct topo *tp = NULL;
	struct bind_arg a;
	char err[256], list[16], why[256];
	int first = -1, c;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(mine), &mine), 0);
	for (c = 0; c < CPU_SETSIZE && first < 0; c++) {
		if (CPU_ISSET(c, &mine))
			first = c;
	}
	/* A list of one CPU we may use: the worker runs there, only. */
	snprintf(list, sizeof(list), "%d", first);
	assert_int_equal(topo_new(&tp, list, HOIST_PINNING_AUTO, err, sizeof(err)), HOIST_OK);
	a = (struct bind_arg){ .t = tp, .index = 5 };
	bind_in_thread(&a);
	assert_int_equal(a.rc, 0);
	assert_int_equal(CPU_COUNT(&a.got), 1);
	assert_true(CPU_ISSET(first, &a.got));
	assert_int_equal(topo_bind_error(tp, why, sizeof(why)), 0);
	topo_free(tp);

	/* Pinning off: the thread keeps what it inherited. */
	assert_int_equal(topo_new(&tp, list, HOIST_PINNING_OFF, err, sizeof(err)), HOIST_OK);
	a = (struct bind_arg){ .t = tp, .index = 0 };
	bind_in_thread(&a);
	assert_int_equal(a.rc, 0);
	assert_true(CPU_EQUAL(&a.got, &mine));
	topo_free(tp);

	/* A CPU that parses but does not exist: the kernel refuses, and the
	 * failure is kept to be reported, naming the CPUs. */
	assert_int_equal(topo_new(&tp, "1000", HOIST_PINNING_AUTO, err, sizeof(err)), HOIST_OK);
	a = (struct bind_arg){ .t = tp, .index = 0 };
	bind_in_thread(&a);
	assert_int_equal(a.rc, -1);
	assert_int_equal(topo_bind_error(tp, why, sizeof(why)), EINVAL);
	assert_non_null(strstr(why, "CPUs 1000: "));
	topo_free(tp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpulist),
		cmocka_unit_test(test_cpu_max),
		cmocka_unit_test(test_cfs),
		cmocka_unit_test(test_mountinfo_line),
		cmocka_unit_test_setup_teardown(test_limit_v2_nested, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_limit_v1_hybrid, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_limit_container, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_limit_none, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cores_from_topology, tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_cores_outside_topology, tree_setup, tree_teardown),
		cmocka_unit_test(test_bad_cpus),
		cmocka_unit_test(test_bind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
