/*
 * plan.h - how an object is cut into parts (private).
 *
 * Owns: the part size and count for an object size, a requested part size
 * and the dialect's limits (dialect.h); the offset and length of part i.
 *
 * Layer: runtime (pure planning, below the transfer; see ARCHITECTURE.md).
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

/* Streams (a length not known in advance): the part size grows with the
 * part number.  Parts come in blocks of PLAN_STREAM_BLOCK; block k's parts
 * are start * 2^k bytes, at most max.  max is the largest part the memory
 * budget holds two of (budget / 2 in whole MiB, at most the dialect's
 * 5 GiB); start is the requested part size (8 MiB by default), at least
 * the dialect's minimum, raised (in whole MiB) until max_parts parts carry
 * the expected size.  The largest stream is the sum over the 10,000 parts. */
#define PLAN_STREAM_BLOCK 1000

struct stream_plan {
	uint64_t start;
	uint64_t max;
	unsigned max_parts;
};

/* Fills sp for a stream under budget bytes of part buffers, expected
 * bytes (0: unknown) and a requested part size (0: default).  Returns
 * HOIST_OK, or HOIST_E_INVALID_ARG with one line in err naming what to
 * change (--memory-limit, --part-size) when the budget cannot hold two
 * parts, the requested part, or a stream of the expected size. */
hoist_status plan_stream(struct stream_plan *sp, uint64_t budget, uint64_t expected,
			 uint64_t requested, enum hoist_dialect d, char *err, size_t errlen);
/* Part i (0-based): length and offset. */
uint64_t plan_stream_part_len(const struct stream_plan *sp, unsigned i);
uint64_t plan_stream_part_off(const struct stream_plan *sp, unsigned i);
/* The most bytes a stream can have under sp (max_parts parts). */
uint64_t plan_stream_capacity(const struct stream_plan *sp);
/* The part that holds byte off (max_parts when off is beyond them). */
unsigned plan_stream_index(const struct stream_plan *sp, uint64_t off);

#endif
