/*
 * fuzz_sysfs.c - libFuzzer target for the parsers of the kernel texts the
 * engine reads at start-up (engine/sysfs.c): CPU lists, cgroup v2
 * cpu.max, v1 CFS quota/period, and /proc/self/mountinfo lines.  A
 * container runtime or a FUSE-mounted /proc can put anything there.
 *
 * Checked beyond "no crash": a CPU list that parses sets exactly as many
 * CPUs as it reports, all of them inside the set, and parsing it again
 * gives the same set; a limit is never 0 CPUs; the cpu.max and CFS forms
 * agree on the same numbers; a mountinfo line that parses yields four
 * strings inside the line, none longer than the line.
 */
// fuzz-sources: engine/sysfs.c
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysfs.h"

static void check(int ok)
{
	if (!ok) {
		abort();
	}
}

static void check_cpulist(const char *s)
{
	size_t setsize = CPU_ALLOC_SIZE(1024);
	cpu_set_t *a = CPU_ALLOC(1024), *b = CPU_ALLOC(1024);
	int n;

	check(a && b);
	n = sysfs_parse_cpulist(s, a, setsize);
	check(n == -1 || n > 0);
	if (n > 0) {
		check(CPU_COUNT_S(setsize, a) == n);
		check(sysfs_parse_cpulist(s, b, setsize) == n);
		check(CPU_EQUAL_S(setsize, a, b));
	}
	CPU_FREE(a);
	CPU_FREE(b);
}

static void check_limits(const char *s)
{
	uint64_t m = 0, m2 = 0;
	int rc = sysfs_parse_cpu_max(s, &m);
	const char *bar = strchr(s, '|');

	check(rc >= -1 && rc <= 1);
	if (rc == 1) {
		check(m >= 1);
	}
	if (bar) {
		char *quota = strndup(s, (size_t)(bar - s));

		check(quota != NULL);
		rc = sysfs_parse_cfs(quota, bar + 1, &m);
		check(rc >= -1 && rc <= 1);
		if (rc == 1) {
			/* The same two numbers written as cpu.max mean the same. */
			char line[128];
			unsigned long long q, p;

			check(m >= 1);
			if (sscanf(quota, "%llu", &q) == 1 && sscanf(bar + 1, "%llu", &p) == 1) {
				snprintf(line, sizeof(line), "%llu %llu", q, p);
				check(sysfs_parse_cpu_max(line, &m2) == 1 && m2 == m);
			}
		}
		free(quota);
	}
}

static void check_mountinfo(const char *s, size_t n)
{
	char *line = strdup(s);
	struct sysfs_mount m;

	check(line != NULL);
	if (sysfs_parse_mountinfo_line(line, &m) == 0) {
		const char *f[] = { m.root, m.mount_point, m.fstype, m.super_options };
		size_t i;

		for (i = 0; i < 4; i++) {
			check(f[i] >= line && f[i] < line + n + 1);
			check(strlen(f[i]) <= n);
		}
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	check(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	check_cpulist(s);
	check_limits(s);
	check_mountinfo(s, strlen(s));
	free(s);
	return 0;
}
