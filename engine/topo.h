/*
 * topo.h - the CPUs the engine may use and where its hash workers run
 * (private).
 *
 * Owns: the CPU set of the engine (the embedder's list, else the creating
 * thread's affinity mask), its grouping into cores (hwloc's topology), the default worker count (cores, at most the cgroup CPU
 * limit: sysfs.h), binding a worker to one core, and thread names.
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: immutable after topo_new, except the first binding error,
 * an atomic; topo_bind_core is called by each hash worker on itself, at
 * the same time as the others.
 */
#ifndef HOIST_TOPO_H
#define HOIST_TOPO_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

struct topo;

/* Reads the CPU set and the cgroup limit.  cpus: a CPU list ("0-3,8", as
 * the kernel writes them) the engine is handed, or NULL for the calling
 * thread's affinity mask.  pinning decides whether topo_bind_core binds
 * (HOIST_PINNING_AUTO: when cpus was given or the set has two cores or
 * more; otherwise a worker would be bound to what it inherits anyway).
 * Returns HOIST_OK, HOIST_E_INVALID_ARG (err names what is wrong with
 * cpus) or HOIST_E_NOMEM. */
hoist_status topo_new(struct topo **out, const char *cpus,
		      enum hoist_pinning pinning, char *err, size_t errlen);
/* The same for a test: the cgroup files are read under root (a fixture
 * tree), and the cores are those of synthetic, an hwloc synthetic
 * description ("core:2 pu:2(indexes=0,2,1,3)"), when not NULL. */
hoist_status topo_new_at(struct topo **out, const char *root, const char *synthetic,
			 const char *cpus, enum hoist_pinning pinning, char *err, size_t errlen);
/* The same from a mask read earlier (topo_mask_read on the thread that
 * made the engine; COPIED), so that a topology built later, on another
 * thread, is still that thread's. */
hoist_status topo_new_mask(struct topo **out, const cpu_set_t *mask, size_t setsize,
			   const char *cpus, enum hoist_pinning pinning, char *err, size_t errlen);
/* The calling thread's affinity mask (the online CPUs where it cannot be
 * read), CPU_ALLOC'ed, *setsize its size in bytes; NULL: out of memory.
 * One system call: no topology is read. */
cpu_set_t *topo_mask_read(size_t *setsize);
void topo_free(struct topo *t);
/* The mask the topology was built from: where a worker that is not bound
 * to a core runs. */
const cpu_set_t *topo_creator_mask(const struct topo *t, size_t *setsize);
/* The default hash worker count: the cores of the set, at most the cgroup
 * CPU limit rounded up, at least 1.  With t NULL, the online CPUs. */
unsigned topo_ncores(const struct topo *t);
/* The CPUs of core index (in order of their lowest CPU), or NULL past
 * the last; *setsize gets the set's size in bytes. */
const cpu_set_t *topo_core(const struct topo *t, unsigned index, size_t *setsize);
/* Binds the calling thread to core index (modulo the core count) when the
 * topology pins.  Returns 0 (bound, or nothing to do) or -1; the first
 * failure is kept for topo_bind_error. */
int topo_bind_core(struct topo *t, unsigned index);
/* 0, or the errno of the first topo_bind_core that failed; buf then gets
 * "CPUs 4-5: Invalid argument".  Read after the workers are started. */
int topo_bind_error(const struct topo *t, char *buf, size_t len);
/* One line for the engine's log: workers, cores, limit, pinned or not. */
void topo_describe(const struct topo *t, unsigned workers, char *buf, size_t len);

/* Names the calling thread ("hoist-hash-3"); at most 15 characters. */
void topo_name_thread(const char *name);

#endif
