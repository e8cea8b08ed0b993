/*
 * topo.h - CPU topology and thread placement with hwloc (private).
 *
 * Owns: the hwloc topology, loaded once per engine; the number of cores;
 * binding the calling thread to one core.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: read-only after topo_new; topo_bind_core is called by each
 * hash worker on itself (hwloc allows concurrent binding calls on a
 * topology that is no longer modified).
 */
#ifndef HOIST_TOPO_H
#define HOIST_TOPO_H

struct topo;

/* Loads the topology.  Returns NULL on failure (the engine then runs
 * unpinned with one worker per online CPU). */
struct topo *topo_new(void);
void topo_free(struct topo *t);
/* Cores (not hardware threads): the default hash worker count. */
unsigned topo_ncores(const struct topo *t);
/* Binds the calling thread to core (index modulo the core count).
 * Returns 0 or -1. */
int topo_bind_core(struct topo *t, unsigned index);

/* Names the calling thread ("hoist-hash-3"); at most 15 characters. */
void topo_name_thread(const char *name);

#endif
