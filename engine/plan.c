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
 * Layer: runtime (pure planning, below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions.
 */
#include "plan.h"

#include <stdio.h>

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

/* ---------------------------------------------------------------- streams */

uint64_t plan_stream_part_len(const struct stream_plan *sp, unsigned i)
{
	unsigned k = i / PLAN_STREAM_BLOCK;
	uint64_t len = sp->start;

	while (k-- > 0 && len < sp->max) {
		len *= 2;
	}
	return len < sp->max ? len : sp->max;
}

uint64_t plan_stream_part_off(const struct stream_plan *sp, unsigned i)
{
	uint64_t off = 0;
	unsigned done = 0;

	/* Whole blocks first, then the parts of i's block. */
	while (done + PLAN_STREAM_BLOCK <= i) {
		off += (uint64_t)PLAN_STREAM_BLOCK * plan_stream_part_len(sp, done);
		done += PLAN_STREAM_BLOCK;
	}
	return off + (uint64_t)(i - done) * plan_stream_part_len(sp, done);
}

uint64_t plan_stream_capacity(const struct stream_plan *sp)
{
	return plan_stream_part_off(sp, sp->max_parts);
}

unsigned plan_stream_index(const struct stream_plan *sp, uint64_t off)
{
	uint64_t base = 0;
	unsigned i = 0;

	while (i < sp->max_parts) {
		uint64_t len = plan_stream_part_len(sp, i);
		unsigned n = PLAN_STREAM_BLOCK - i % PLAN_STREAM_BLOCK;
		uint64_t span;

		if (n > sp->max_parts - i) {
			n = sp->max_parts - i;
		}
		span = (uint64_t)n * len;
		if (off < base + span)
			return i + (unsigned)((off - base) / len);
		base += span;
		i += n;
	}
	return sp->max_parts;
}

/* "256 MiB", "1.5 TiB": sizes for the one-line messages. */
static const char *human(char *buf, size_t len, uint64_t v)
{
	static const char *const unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	double x = (double)v;
	unsigned u = 0;

	while (x >= 1024 && u < 4) {
		x /= 1024;
		u++;
	}
	if (u == 0 || x == (double)(uint64_t)x) {
		snprintf(buf, len, "%.0f %s", x, unit[u]);
	} else {
		snprintf(buf, len, "%.1f %s", x, unit[u]);
	}
	return buf;
}

hoist_status plan_stream(struct stream_plan *sp, uint64_t budget, uint64_t expected,
			 uint64_t requested, enum hoist_dialect d, char *err, size_t errlen)
{
	const struct dialect_limits *lim = dialect_limits(d);
	char h1[24], h2[24], h3[24], h4[24], h5[24];
	uint64_t lo, hi, need;

	sp->max_parts = lim->max_parts;
	sp->max = budget / 2 / MIB * MIB;
	if (sp->max > lim->max_part) {
		sp->max = lim->max_part;
	}
	if (sp->max < lim->min_part) {
		snprintf(err, errlen,
			 "a stream needs two parts of at least %s in memory: --memory-limit %s is too "
			 "small", human(h1, sizeof(h1), lim->min_part), human(h2, sizeof(h2), budget));
		return HOIST_E_INVALID_ARG;
	}
	sp->start = requested ? requested : PLAN_DEFAULT_PART;
	if (sp->start < lim->min_part) {
		sp->start = lim->min_part;
	}
	if (requested && sp->start > sp->max) {
		snprintf(err, errlen,
			 "--part-size %s needs --memory-limit of at least %s (two parts in memory)",
			 human(h1, sizeof(h1), sp->start), human(h2, sizeof(h2), 2 * sp->start));
		return HOIST_E_INVALID_ARG;
	}
	if (sp->start > sp->max) {
		sp->start = sp->max;
	}
	if (expected <= plan_stream_capacity(sp))
		return HOIST_OK;
	/* The smallest start (whole MiB) whose schedule carries expected:
	 * capacity grows with start. */
	lo = sp->start;
	hi = sp->max;
	sp->start = hi;
	if (plan_stream_capacity(sp) < expected) {
		need = ((expected + sp->max_parts - 1) / sp->max_parts + MIB - 1) / MIB * MIB;
		if (need > lim->max_part) {
			snprintf(err, errlen,
				 "a stream of %s is larger than %u parts of %s, the most an object can be",
				 human(h1, sizeof(h1), expected), sp->max_parts,
				 human(h2, sizeof(h2), lim->max_part));
		} else {
			snprintf(err, errlen,
				 "a stream of %s needs parts of %s, but --memory-limit %s holds only "
				 "two of %s: raise --memory-limit to at least %s",
				 human(h1, sizeof(h1), expected), human(h2, sizeof(h2), need),
				 human(h3, sizeof(h3), budget), human(h4, sizeof(h4), sp->max),
				 human(h5, sizeof(h5), 2 * need));
		}
		return HOIST_E_INVALID_ARG;
	}
	while (hi - lo > MIB) {
		uint64_t mid = (lo + hi) / 2 / MIB * MIB;

		if (mid <= lo) {
			break;
		}
		sp->start = mid;
		if (plan_stream_capacity(sp) >= expected) {
			hi = mid;
		} else {
			lo = mid;
		}
	}
	sp->start = hi;
	return HOIST_OK;
}
