/*
 * plan.c - part planning (see plan.h) and hoist_plan_parts.
 *
 * The rules, and why:
 *  - 8 MiB by default: large enough that per-request overhead (headers,
 *    signing, a response) is noise, small enough that a retry re-sends
 *    little and that 64 parts in flight fill a fast link.
 *  - Grown to keep at most max_parts (10,000) parts, in whole MiB so part
 *    sizes stay readable in listings: a 48.8 TiB object gets 5 GiB parts.
 *  - At least the dialect's minimum (OSS 100 KiB, S3 5 MiB) for every part
 *    but the last, which the servers check only at Complete (EntityTooSmall):
 *    raising a small request is better than failing after the upload.
 *  - An object no larger than one part is sent by one PutObject: fewer
 *    requests and the same verification.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "plan.h"

#include "dialect.h"

#define MIB (1024ULL * 1024)

hoist_status plan_make(struct plan *p, uint64_t size, uint64_t requested,
		       enum hoist_dialect d)
{
	const struct dialect_limits *lim = dialect_limits(d);
	uint64_t part = requested ? requested : PLAN_DEFAULT_PART;
	uint64_t need;

	p->size = size;
	p->part_size = 0;
	p->nparts = 0;
	if (part > lim->max_part)
		return HOIST_E_INVALID_ARG;
	if (size > lim->max_part * (uint64_t)lim->max_parts)
		return HOIST_E_INVALID_ARG;
	if (part < lim->min_part) {
		part = lim->min_part;
	}
	/* Smallest part size that keeps the count within max_parts.  No
	 * overflow: size <= 5 GiB * 10000 < 2^46. */
	need = (size + lim->max_parts - 1) / lim->max_parts;
	if (part < need) {
		part = (need + MIB - 1) / MIB * MIB;
		if (part > lim->max_part) {
			part = lim->max_part;
		}
	}
	p->part_size = part;
	if (size <= part) {
		/* One PutObject; its limit is the same 5 GiB as a part. */
		p->nparts = 0;
		return HOIST_OK;
	}
	p->nparts = (unsigned)((size + part - 1) / part);
	return HOIST_OK;
}

uint64_t plan_part_offset(const struct plan *p, unsigned i)
{
	return p->nparts ? (uint64_t)i * p->part_size : 0;
}

uint64_t plan_part_len(const struct plan *p, unsigned i)
{
	uint64_t off;

	if (p->nparts == 0)
		return p->size;
	off = (uint64_t)i * p->part_size;
	if (off >= p->size)
		return 0;
	return p->size - off < p->part_size ? p->size - off : p->part_size;
}

hoist_status hoist_plan_parts(uint64_t size, uint64_t requested,
			      enum hoist_dialect dialect, uint64_t *part_size,
			      unsigned *nparts)
{
	struct plan p;
	hoist_status st;

	if (!part_size || !nparts ||
	    (dialect != HOIST_DIALECT_OSS && dialect != HOIST_DIALECT_S3))
		return HOIST_E_INVALID_ARG;
	st = plan_make(&p, size, requested, dialect);
	if (st != HOIST_OK)
		return st;
	*part_size = p.part_size;
	*nparts = p.nparts;
	return HOIST_OK;
}
