/*
 * sysfs.h - parsers of the kernel texts about CPUs, and the cgroup CPU
 * limit (private).
 *
 * Owns: reading small /proc and /sys files; CPU lists ("0-3,8"); cgroup v2
 * cpu.max and v1 cpu.cfs_quota_us / cpu.cfs_period_us; mountinfo lines;
 * finding the calling process's cgroup CPU limit.  Every lookup takes a
 * root directory, "" in production and a fixture tree in tests.
 * Threading: none (no state).
 */
#ifndef HOIST_SYSFS_H
#define HOIST_SYSFS_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a small file (at most len - 1 bytes) into buf, NUL-terminated.
 * Returns 0, or -1 when it cannot be read or is empty. */
int sysfs_read_text(const char *path, char *buf, size_t len);

/* Sets in set (setsize bytes, CPU_ALLOC_SIZE) the CPUs of the list s:
 * comma-separated CPUs and ranges "a-b", optional surrounding white
 * space and a final newline.  Returns the number of CPUs listed, or -1 for
 * bad syntax, an empty list, a range that runs backwards, or a CPU that
 * does not fit the set. */
int sysfs_parse_cpulist(const char *s, cpu_set_t *set, size_t setsize);

/* The CPUs a cgroup CPU limit allows, in thousandths (1500: one and a half
 * CPUs), parsed from a v2 cpu.max ("150000 100000", "max 100000") or from
 * v1 cpu.cfs_quota_us and cpu.cfs_period_us texts.  Return 1 and set
 * *milli for a limit, 0 for none ("max", -1), -1 for text that is neither. */
int sysfs_parse_cpu_max(const char *s, uint64_t *milli);
int sysfs_parse_cfs(const char *quota, const char *period, uint64_t *milli);

/* The cgroup CPU limit of the calling process as the kernel reports it
 * under root ("" in production; a test's fixture tree otherwise): the
 * smallest limit on the path from its cgroup to the hierarchy's root, v2
 * and v1 hierarchies both, in thousandths of a CPU; 0 when there is none
 * or it cannot be read. */
uint64_t sysfs_cgroup_cpu_limit(const char *root);

/* One line of /proc/self/mountinfo, split in place: the mount's root and
 * mount point (octal escapes decoded), the file system type and the super
 * options.  Returns 0, or -1 for a line without those fields. */
struct sysfs_mount {
	char *root;
	char *mount_point;
	char *fstype;
	char *super_options;
};
int sysfs_parse_mountinfo_line(char *line, struct sysfs_mount *m);

#endif
