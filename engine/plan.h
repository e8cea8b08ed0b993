/*
 * plan.h - how an object is cut into parts (private).
 *
 * Owns: the part size and count for an object size, a requested part size
 * and the dialect's limits (dialect.h); the offset and length of part i.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#ifndef HOIST_PLAN_H
#define HOIST_PLAN_H

#include <stdint.h>

#include "hoist.h"

#define PLAN_DEFAULT_PART (8ULL * 1024 * 1024)

struct plan {
	uint64_t size;       /* object size */
	uint64_t part_size;  /* every part but the last has exactly this size */
	unsigned nparts;     /* 0: a single PutObject of the whole object */
};

/* Fills p.  requested 0 means PLAN_DEFAULT_PART; a request below the
 * dialect's minimum is raised to it; the size grows (in whole MiB) until
 * at most max_parts parts are needed.  HOIST_E_INVALID_ARG when requested
 * exceeds the dialect's maximum part size or the object cannot fit in
 * max_parts parts of the maximum size. */
hoist_status plan_make(struct plan *p, uint64_t size, uint64_t requested,
		       enum hoist_dialect d);

/* Part i (0-based): offset and length.  For nparts == 0, part 0 is the
 * whole object. */
uint64_t plan_part_offset(const struct plan *p, unsigned i);
uint64_t plan_part_len(const struct plan *p, unsigned i);

#endif
