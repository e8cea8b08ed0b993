/*
 * topo.c - the CPUs the engine may use, and where the hash workers run
 * (see topo.h).
 *
 * One hash worker per core the engine may use, each bound to that core:
 * MD5 is the expensive per-byte work (about 0.6 GB/s per core), so each
 * core should run exactly one hasher and keep its chunk buffer in its own
 * L2.  Hardware threads of one core share its execution units, so they do
 * not count as extra hashers; a worker is bound to all the allowed CPUs of
 * its core, which leaves the kernel free to pick the sibling.
 *
 * "May use" is what the process was given, not the machine: the affinity
 * mask (taskset, numactl, a cpuset cgroup, an MPI launcher that bound the
 * rank) or the embedder's own list, and no more workers than the cgroup
 * CPU limit (a container given 2 CPUs of a 64-core host gets 2 hashers,
 * not 64 that the quota then throttles).
 *
 * Which CPUs share a core comes from hwloc: the kernel's topology files
 * differ across kernels, sandboxes hide some of them, and hwloc is the
 * library that knows them all.  The topology is loaded once per engine,
 * when its hash workers start (engine.c: often never, for an engine that
 * sends small objects), with only the levels the pool needs (cores and
 * hardware threads), and dropped once the cores are grouped.  The mask it
 * groups is read earlier, on the thread that made the engine
 * (topo_mask_read): one system call.  The cgroup CPU limit, which hwloc
 * does not read, comes from sysfs.c.  The event loops are not bound: they
 * mostly wait.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: see topo.h.
 */
#include "topo.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>
#include <hwloc/glibc-sched.h>

#include "sysfs.h"

struct topo {
	size_t setsize;            /* bytes of each set (CPU_ALLOC_SIZE) */
	cpu_set_t *mask;           /* the creating thread's affinity mask */
	cpu_set_t *cpus;           /* what the engine may use */
	cpu_set_t **cores;         /* ncores subsets of cpus, by lowest CPU */
	unsigned ncores;
	unsigned workers;          /* the default worker count */
	uint64_t limit_milli;      /* cgroup CPU limit; 0: none */
	int pin;
	int given;                 /* cpus came from the embedder */
	atomic_int bind_errno;     /* first failed binding */
	atomic_uint bind_core;     /* ... and its core */
};


/* ----------------------------------------------------------- CPU sets */

/* The calling thread's affinity mask, in a set as large as the kernel's
 * (sched_getaffinity refuses one smaller than its CPU count). */
static cpu_set_t *affinity_mask(size_t *setsize)
{
	int ncpu;

	for (ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
		size_t sz = CPU_ALLOC_SIZE(ncpu);
		cpu_set_t *set = CPU_ALLOC(ncpu);

		if (!set)
			return NULL;
		if (sched_getaffinity(0, sz, set) == 0) {
			*setsize = sz;
			return set;
		}
		CPU_FREE(set);
		if (errno != EINVAL)
			return NULL;
	}
	return NULL;
}

/* "0-3,8" for set, into buf (truncated with "..." when it does not fit). */
static void format_cpulist(const cpu_set_t *set, size_t setsize, char *buf, size_t len)
{
	size_t n = 0, max = setsize * CHAR_BIT, c = 0;

	buf[0] = '\0';
	while (c < max) {
		size_t e;
		int w;

		if (!CPU_ISSET_S(c, setsize, set)) {
			c++;
			continue;
		}
		for (e = c; e + 1 < max && CPU_ISSET_S(e + 1, setsize, set); e++) {
		}
		w = e > c ? snprintf(buf + n, len - n, "%s%zu-%zu", n ? "," : "", c, e)
			  : snprintf(buf + n, len - n, "%s%zu", n ? "," : "", c);
		if (w < 0 || (size_t)w >= len - n) {
			if (len > 4)
				strcpy(buf + len - 4, "...");
			return;
		}
		n += (size_t)w;
		c = e + 1;
	}
}

/* Lowest CPU of a set (sets here are never empty). */
static size_t first_cpu(const cpu_set_t *set, size_t setsize)
{
	size_t c, max = setsize * CHAR_BIT;

	for (c = 0; c < max && !CPU_ISSET_S(c, setsize, set); c++) {
	}
	return c;
}

/* Orders the cores by their lowest CPU (an insertion sort: a few hundred
 * cores at most, and qsort has no context argument for the set size). */
static void sort_cores(struct topo *t)
{
	unsigned i, j;

	for (i = 1; i < t->ncores; i++) {
		cpu_set_t *c = t->cores[i];
		size_t key = first_cpu(c, t->setsize);

		for (j = i; j > 0 && first_cpu(t->cores[j - 1], t->setsize) > key; j--) {
			t->cores[j] = t->cores[j - 1];
		}
		t->cores[j] = c;
	}
}

/* Adds the CPUs of obj's cpuset that are still in left as one core. */
static int take_core(struct topo *t, hwloc_topology_t hw, hwloc_const_cpuset_t cpuset,
		     cpu_set_t *left)
{
	size_t max = t->setsize * CHAR_BIT;
	cpu_set_t *core = CPU_ALLOC(max);

	if (!core)
		return -1;
	CPU_ZERO_S(t->setsize, core);
	if (hwloc_cpuset_to_glibc_sched_affinity(hw, cpuset, core, t->setsize) < 0) {
		CPU_FREE(core);
		return 0;
	}
	CPU_AND_S(t->setsize, core, core, left);
	if (CPU_COUNT_S(t->setsize, core) == 0) {
		CPU_FREE(core);
		return 0;
	}
	CPU_XOR_S(t->setsize, left, left, core);
	t->cores[t->ncores++] = core;
	return 0;
}

/* Splits t->cpus into cores as hwloc sees the machine (or the synthetic
 * machine a test describes), in the order of their lowest CPU.  A CPU no
 * core of the topology holds (hwloc could not read it) is a core alone. */
static int group_cores(struct topo *t, const char *synthetic)
{
	size_t c, max = t->setsize * CHAR_BIT;
	hwloc_topology_t hw = NULL;
	cpu_set_t *left = CPU_ALLOC(max);
	int i, n, rc = -1;

	if (!left)
		return -1;
	memcpy(left, t->cpus, t->setsize);
	t->cores = calloc((size_t)CPU_COUNT_S(t->setsize, t->cpus), sizeof(*t->cores));
	if (!t->cores || hwloc_topology_init(&hw) < 0)
		goto out;
	/* Only cores and PUs: no caches, NUMA distances or I/O devices. */
	hwloc_topology_set_all_types_filter(hw, HWLOC_TYPE_FILTER_KEEP_NONE);
	hwloc_topology_set_type_filter(hw, HWLOC_OBJ_CORE, HWLOC_TYPE_FILTER_KEEP_ALL);
	if ((synthetic && hwloc_topology_set_synthetic(hw, synthetic) < 0) ||
	    hwloc_topology_load(hw) < 0) {
		/* No topology at all: every CPU is its own core, below. */
		hwloc_topology_destroy(hw);
		hw = NULL;
	}
	n = hw ? hwloc_get_nbobjs_by_type(hw, HWLOC_OBJ_CORE) : 0;
	for (i = 0; i < n; i++) {
		if (take_core(t, hw, hwloc_get_obj_by_type(hw, HWLOC_OBJ_CORE, (unsigned)i)->cpuset,
			      left) < 0)
			goto out;
	}
	for (c = 0; c < max; c++) {
		cpu_set_t *one;

		if (!CPU_ISSET_S(c, t->setsize, left))
			continue;
		if (!(one = CPU_ALLOC(max)))
			goto out;
		CPU_ZERO_S(t->setsize, one);
		CPU_SET_S(c, t->setsize, one);
		t->cores[t->ncores++] = one;
	}
	sort_cores(t);
	rc = 0;
out:
	if (hw)
		hwloc_topology_destroy(hw);
	CPU_FREE(left);
	return rc;
}

cpu_set_t *topo_mask_read(size_t *setsize)
{
	cpu_set_t *set = affinity_mask(setsize);
	long n;
	size_t c;

	if (set)
		return set;
	/* No mask to read (a seccomp sandbox?): the online CPUs. */
	n = sysconf(_SC_NPROCESSORS_ONLN);
	n = n > 0 ? n : 1;
	*setsize = CPU_ALLOC_SIZE(n);
	if (!(set = CPU_ALLOC(n)))
		return NULL;
	CPU_ZERO_S(*setsize, set);
	for (c = 0; c < (size_t)n; c++) {
		CPU_SET_S(c, *setsize, set);
	}
	return set;
}

static cpu_set_t *set_copy(const cpu_set_t *set, size_t setsize)
{
	cpu_set_t *c = CPU_ALLOC(setsize * CHAR_BIT);

	if (c)
		memcpy(c, set, setsize);
	return c;
}

/* The whole topology from the creator's mask (copied). */
static hoist_status topo_build(struct topo **out, const cpu_set_t *mask, size_t setsize,
			       const char *root, const char *synthetic, const char *cpus,
			       enum hoist_pinning pinning, char *err, size_t errlen)
{
	struct topo *t = calloc(1, sizeof(*t));
	hoist_status st = HOIST_E_NOMEM;
	unsigned limit;

	*out = NULL;
	if (!t)
		goto fail;
	if ((unsigned)pinning > HOIST_PINNING_OFF) {
		snprintf(err, errlen, "unknown pinning mode %d", (int)pinning);
		st = HOIST_E_INVALID_ARG;
		goto fail;
	}
	t->setsize = setsize;
	if (!(t->mask = set_copy(mask, setsize)) || !(t->cpus = set_copy(mask, setsize)))
		goto fail;
	if (cpus) {
		t->given = 1;
		if (sysfs_parse_cpulist(cpus, t->cpus, t->setsize) <= 0) {
			snprintf(err, errlen,
				 "cpus \"%.64s\": not a CPU list like \"0-3,8\" of CPUs below %zu",
				 cpus, t->setsize * CHAR_BIT);
			st = HOIST_E_INVALID_ARG;
			goto fail;
		}
	}
	if (group_cores(t, synthetic) < 0)
		goto fail;
	t->limit_milli = sysfs_cgroup_cpu_limit(root);
	t->workers = t->ncores;
	limit = (unsigned)((t->limit_milli + 999) / 1000);
	if (t->limit_milli && limit < t->workers) {
		t->workers = limit ? limit : 1;
	}
	t->pin = pinning == HOIST_PINNING_AUTO && (t->given || t->ncores >= 2);
	*out = t;
	return HOIST_OK;
fail:
	if (st == HOIST_E_NOMEM) {
		snprintf(err, errlen, "out of memory");
	}
	topo_free(t);
	return st;
}

hoist_status topo_new_at(struct topo **out, const char *root, const char *synthetic,
			 const char *cpus, enum hoist_pinning pinning, char *err, size_t errlen)
{
	size_t setsize;
	cpu_set_t *mask = topo_mask_read(&setsize);
	hoist_status st;

	*out = NULL;
	if (!mask) {
		snprintf(err, errlen, "out of memory");
		return HOIST_E_NOMEM;
	}
	st = topo_build(out, mask, setsize, root, synthetic, cpus, pinning, err, errlen);
	CPU_FREE(mask);
	return st;
}

hoist_status topo_new(struct topo **out, const char *cpus, enum hoist_pinning pinning,
		      char *err, size_t errlen)
{
	return topo_new_at(out, "", NULL, cpus, pinning, err, errlen);
}

hoist_status topo_new_mask(struct topo **out, const cpu_set_t *mask, size_t setsize,
			   const char *cpus, enum hoist_pinning pinning, char *err, size_t errlen)
{
	return topo_build(out, mask, setsize, "", NULL, cpus, pinning, err, errlen);
}

const cpu_set_t *topo_creator_mask(const struct topo *t, size_t *setsize)
{
	*setsize = t->setsize;
	return t->mask;
}

void topo_free(struct topo *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < t->ncores; i++) {
		CPU_FREE(t->cores[i]);
	}
	free(t->cores);
	if (t->cpus) {
		CPU_FREE(t->cpus);
	}
	if (t->mask) {
		CPU_FREE(t->mask);
	}
	free(t);
}

unsigned topo_ncores(const struct topo *t)
{
	long n;

	if (t)
		return t->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

const cpu_set_t *topo_core(const struct topo *t, unsigned index, size_t *setsize)
{
	if (index >= t->ncores)
		return NULL;
	*setsize = t->setsize;
	return t->cores[index];
}

int topo_bind_core(struct topo *t, unsigned index)
{
	unsigned i;
	int rc, none = 0;

	if (!t || !t->pin || t->ncores == 0)
		return 0;
	i = index % t->ncores;
	rc = pthread_setaffinity_np(pthread_self(), t->setsize, t->cores[i]);
	if (rc == 0)
		return 0;
	if (atomic_compare_exchange_strong(&t->bind_errno, &none, rc)) {
		atomic_store(&t->bind_core, i);
	}
	return -1;
}

int topo_bind_error(const struct topo *t, char *buf, size_t len)
{
	int e = atomic_load(&((struct topo *)t)->bind_errno);
	char list[256];

	if (e) {
		format_cpulist(t->cores[atomic_load(&((struct topo *)t)->bind_core)], t->setsize,
			       list, sizeof(list));
		snprintf(buf, len, "CPUs %s: %s", list, strerror(e));
	}
	return e;
}

void topo_describe(const struct topo *t, unsigned workers, char *buf, size_t len)
{
	char list[256], limit[64] = "";

	format_cpulist(t->cpus, t->setsize, list, sizeof(list));
	if (t->limit_milli) {
		snprintf(limit, sizeof(limit), ", cgroup CPU limit %.3g",
			 (double)t->limit_milli / 1000);
	}
	snprintf(buf, len, "hash workers: %u on CPUs %s (%s; %u core%s%s), %s", workers, list,
		 t->given ? "as given" : "affinity mask", t->ncores, t->ncores == 1 ? "" : "s",
		 limit, t->pin ? "each bound to one core" : "not bound");
}

void topo_name_thread(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}
