/*
 * topo.c - hwloc placement of the hash workers (see topo.h).
 *
 * One hash worker per core, bound to that core's cpuset with
 * HWLOC_CPUBIND_THREAD: MD5 is the expensive per-byte work (about
 * 0.6 GB/s per core), so each core should run exactly one hasher and keep
 * its chunk buffer in its own L2.  Hardware threads of one core share its
 * execution units, so they do not count as extra hashers.  The binding is
 * a cpuset of the whole core (all its PUs), which leaves the kernel free to
 * pick the sibling.  The event loops are not bound: they mostly wait.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: see topo.h.
 */
#include "topo.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <hwloc.h>

struct topo {
	hwloc_topology_t topo;
	unsigned ncores;
};

struct topo *topo_new(void)
{
	struct topo *t = calloc(1, sizeof(*t));
	int n;

	if (!t)
		return NULL;
	if (hwloc_topology_init(&t->topo) < 0) {
		free(t);
		return NULL;
	}
	if (hwloc_topology_load(t->topo) < 0) {
		hwloc_topology_destroy(t->topo);
		free(t);
		return NULL;
	}
	n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_CORE);
	if (n <= 0) {
		n = hwloc_get_nbobjs_by_type(t->topo, HWLOC_OBJ_PU);
	}
	t->ncores = n > 0 ? (unsigned)n : 1;
	return t;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	hwloc_topology_destroy(t->topo);
	free(t);
}

unsigned topo_ncores(const struct topo *t)
{
	long n;

	if (t)
		return t->ncores;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int topo_bind_core(struct topo *t, unsigned index)
{
	hwloc_obj_t obj;

	if (!t)
		return -1;
	obj = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_CORE, index % t->ncores);
	if (!obj) {
		obj = hwloc_get_obj_by_type(t->topo, HWLOC_OBJ_PU, index % t->ncores);
	}
	if (!obj || !obj->cpuset)
		return -1;
	return hwloc_set_cpubind(t->topo, obj->cpuset, HWLOC_CPUBIND_THREAD) < 0 ? -1 : 0;
}

void topo_name_thread(const char *name)
{
	pthread_setname_np(pthread_self(), name);
}
