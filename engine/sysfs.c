/*
 * sysfs.c - the kernel texts the engine reads about CPUs (see sysfs.h).
 *
 * Everything here parses what the kernel writes, so it assumes nothing:
 * numbers are bounded (no overflow), every field is checked, a file that
 * does not parse is "no information", never a crash.  The parsers have a
 * libFuzzer target (tests/fuzz/fuzz_sysfs.c) and unit tests with fixture
 * trees (tests/unit/test_topo.c).
 *
 * The cgroup CPU limit: /proc/self/cgroup names the process's cgroup in
 * each hierarchy (v2 "0::/path", v1 "N:cpu,cpuacct:/path"),
 * /proc/self/mountinfo where each hierarchy is mounted and which part of
 * it the mount shows (a container sees its own cgroup as "/"); the limit
 * is the smallest one on the way from that cgroup up to the mount, since
 * a parent's quota binds its children (systemd puts CPUQuota on slices).
 *
 * Threading: none; every function works on its arguments and the files.
 */
#include "sysfs.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ parsers */

static const char *skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\n') {
		s++;
	}
	return s;
}

/* A decimal number of at most 18 digits, which cannot overflow (no CPU
 * number or cgroup value is larger without being nonsense).  Returns the
 * position after it, or NULL. */
static const char *parse_num(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int n = 0;

	while (*s >= '0' && *s <= '9') {
		if (++n > 18)
			return NULL;
		v = v * 10 + (uint64_t)(*s - '0');
		s++;
	}
	if (n == 0)
		return NULL;
	*out = v;
	return s;
}

int sysfs_parse_cpulist(const char *s, cpu_set_t *set, size_t setsize)
{
	int count = 0;

	CPU_ZERO_S(setsize, set);
	s = skip_space(s);
	if (!*s)
		return -1;
	for (;;) {
		uint64_t a, b, c;

		s = parse_num(s, &a);
		if (!s)
			return -1;
		b = a;
		if (*s == '-') {
			s = parse_num(s + 1, &b);
			if (!s || b < a)
				return -1;
		}
		if (b >= setsize * CHAR_BIT)
			return -1;
		for (c = a; c <= b; c++) {
			if (!CPU_ISSET_S(c, setsize, set)) {
				CPU_SET_S(c, setsize, set);
				count++;
			}
		}
		if (*s != ',')
			break;
		s++;
	}
	return *skip_space(s) ? -1 : count;
}

/* quota and period in microseconds into thousandths of a CPU, rounded up
 * so that a limit never reads as less than it is. */
static int ratio_milli(uint64_t quota, uint64_t period, uint64_t *milli)
{
	if (period == 0 || quota == 0)
		return -1;
	/* Both below 10^18: quota / period * 1000 in two steps cannot
	 * overflow where quota * 1000 could. */
	*milli = quota / period * 1000 + ((quota % period) * 1000 + period - 1) / period;
	return 1;
}

int sysfs_parse_cpu_max(const char *s, uint64_t *milli)
{
	uint64_t quota = 0, period;
	int unlimited = 0;

	s = skip_space(s);
	if (strncmp(s, "max", 3) == 0) {
		unlimited = 1;
		s += 3;
		if (!*skip_space(s))
			return 0; /* "max" alone: what one may write, not what is read */
	} else if (!(s = parse_num(s, &quota))) {
		return -1;
	}
	if (*s != ' ' || !(s = parse_num(s + 1, &period)) || *skip_space(s) || !period)
		return -1;
	return unlimited ? 0 : ratio_milli(quota, period, milli);
}

int sysfs_parse_cfs(const char *quota_s, const char *period_s, uint64_t *milli)
{
	uint64_t quota, period;
	const char *q = skip_space(quota_s);
	const char *p = parse_num(skip_space(period_s), &period);

	if (!p || *skip_space(p))
		return -1;
	if (*q == '-') {
		/* -1 is "no quota"; no other negative value is the kernel's. */
		q = parse_num(q + 1, &quota);
		return q && quota == 1 && !*skip_space(q) ? 0 : -1;
	}
	if (!(q = parse_num(q, &quota)) || *skip_space(q))
		return -1;
	return ratio_milli(quota, period, milli);
}

/* Decodes mountinfo's octal escapes (\040 for a space ...) in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/* Splits off the next space-separated field of *s, or returns NULL. */
static char *next_field(char **s)
{
	char *f = *s, *e;

	if (!f || !*f)
		return NULL;
	e = strchr(f, ' ');
	if (e) {
		*e = '\0';
		*s = e + 1;
	} else {
		*s = NULL;
	}
	return f;
}

int sysfs_parse_mountinfo_line(char *line, struct sysfs_mount *m)
{
	char *s = line, *f;
	int i;

	line[strcspn(line, "\n")] = '\0';
	/* id, parent id, major:minor, root, mount point, options, then
	 * optional fields up to a lone "-", then type, source, super options. */
	for (i = 0; i < 3; i++) {
		if (!next_field(&s))
			return -1;
	}
	if (!(m->root = next_field(&s)) || !(m->mount_point = next_field(&s)) ||
	    !next_field(&s))
		return -1;
	while ((f = next_field(&s)) && strcmp(f, "-") != 0) {
	}
	if (!f || !(m->fstype = next_field(&s)) || !next_field(&s) ||
	    !(m->super_options = next_field(&s)))
		return -1;
	unescape_octal(m->root);
	unescape_octal(m->mount_point);
	return 0;
}

/* ------------------------------------------------------------- cgroups */

/* Reads a small kernel file into buf; returns 0 or -1. */
int sysfs_read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n ? 0 : -1;
}

/* 1 when the comma-separated list has item. */
static int has_item(const char *list, const char *item)
{
	size_t n = strlen(item);

	while (list && *list) {
		if (strncmp(list, item, n) == 0 && (list[n] == ',' || list[n] == '\0'))
			return 1;
		list = strchr(list, ',');
		list = list ? list + 1 : NULL;
	}
	return 0;
}

struct cg_paths {
	char v2[PATH_MAX];         /* the process's cgroup path in each */
	char v1[PATH_MAX];         /* hierarchy, "" when it has none */
	char v2_dir[PATH_MAX];     /* the directory of that cgroup, and */
	char v1_dir[PATH_MAX];     /* of its hierarchy's root mount */
	char v2_top[PATH_MAX];
	char v1_top[PATH_MAX];
	const char *root;          /* prefix of every path (tests) */
};

/* Calls fn on each line of root/rel (a /proc file: read as it is made). */
static void each_line(const char *root, const char *rel, void (*fn)(char *, struct cg_paths *),
		      struct cg_paths *p)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "re");
	if (!f)
		return;
	while (getline(&line, &cap, f) > 0) {
		fn(line, p);
	}
	free(line);
	fclose(f);
}

/* A line of /proc/self/cgroup: "0::/path" (v2), "N:cpu,cpuacct:/path" (v1). */
static void membership_line(char *line, struct cg_paths *p)
{
	char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

	if (!c2)
		return;
	*c2 = '\0';
	c2[1 + strcspn(c2 + 1, "\n")] = '\0';
	if (strncmp(line, "0:", 2) == 0 && c1[1] == '\0') {
		snprintf(p->v2, sizeof(p->v2), "%s", c2 + 1);
	} else if (has_item(c1 + 1, "cpu")) {
		snprintf(p->v1, sizeof(p->v1), "%s", c2 + 1);
	}
}

/* The directory of cgroup `cg` in a hierarchy mounted at m: the mount
 * shows the hierarchy from m->root down (a container sees its own
 * cgroup as "/"), so the path below the mount is cg minus that root. */
static void cg_dir(char *dir, char *top, const char *root, const struct sysfs_mount *m,
		   const char *cg)
{
	size_t rl = strlen(m->root);
	const char *rest = cg;

	if (strcmp(m->root, "/") != 0) {
		if (strncmp(cg, m->root, rl) == 0 && (cg[rl] == '/' || cg[rl] == '\0')) {
			rest = cg + rl;
		} else {
			rest = ""; /* not below the mount: the mount is as deep as we see */
		}
	}
	snprintf(top, PATH_MAX, "%s%s", root, m->mount_point);
	snprintf(dir, PATH_MAX, "%s%s%s", root, m->mount_point,
		 strcmp(rest, "/") == 0 ? "" : rest);
}

/* A line of /proc/self/mountinfo: the first cgroup2 mount, and the first
 * v1 mount of the cpu controller, locate the process's cgroups. */
static void mount_line(char *line, struct cg_paths *p)
{
	struct sysfs_mount m;

	if (sysfs_parse_mountinfo_line(line, &m) < 0)
		return;
	if (p->v2[0] && !p->v2_dir[0] && strcmp(m.fstype, "cgroup2") == 0) {
		cg_dir(p->v2_dir, p->v2_top, p->root, &m, p->v2);
	} else if (p->v1[0] && !p->v1_dir[0] && strcmp(m.fstype, "cgroup") == 0 &&
		   has_item(m.super_options, "cpu")) {
		cg_dir(p->v1_dir, p->v1_top, p->root, &m, p->v1);
	}
}

/* The limit of one cgroup directory; 0 when it sets none. */
static uint64_t cg_dir_limit(const char *dir, int v2)
{
	char path[PATH_MAX + 32], a[128], b[128];
	uint64_t milli = 0;

	if (v2) {
		snprintf(path, sizeof(path), "%s/cpu.max", dir);
		if (sysfs_read_text(path, a, sizeof(a)) == 0 && sysfs_parse_cpu_max(a, &milli) == 1)
			return milli;
		return 0;
	}
	snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
	if (sysfs_read_text(path, a, sizeof(a)) < 0)
		return 0;
	snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
	if (sysfs_read_text(path, b, sizeof(b)) < 0)
		return 0;
	return sysfs_parse_cfs(a, b, &milli) == 1 ? milli : 0;
}

/* The smallest limit from dir up to top (a parent's quota binds its
 * children too: systemd sets CPUQuota on slices). */
static uint64_t cg_path_limit(char *dir, const char *top, int v2)
{
	size_t toplen = strlen(top);
	uint64_t best = 0;

	if (!dir[0] || strncmp(dir, top, toplen) != 0)
		return 0;
	for (;;) {
		uint64_t l = cg_dir_limit(dir, v2);
		char *slash;

		if (l && (!best || l < best))
			best = l;
		if (strlen(dir) <= toplen)
			break;
		slash = strrchr(dir, '/');
		if (!slash || (size_t)(slash - dir) < toplen)
			break;
		*slash = '\0';
	}
	return best;
}

uint64_t sysfs_cgroup_cpu_limit(const char *root)
{
	struct cg_paths *p = calloc(1, sizeof(*p));
	uint64_t v1, v2;

	if (!p)
		return 0;
	p->root = root;
	each_line(root, "/proc/self/cgroup", membership_line, p);
	if (p->v1[0] || p->v2[0]) {
		each_line(root, "/proc/self/mountinfo", mount_line, p);
	}
	v2 = cg_path_limit(p->v2_dir, p->v2_top, 1);
	v1 = cg_path_limit(p->v1_dir, p->v1_top, 0);
	free(p);
	if (!v1 || (v2 && v2 < v1))
		return v2;
	return v1;
}
