/*
 * pacer.c - the public pacer (include/hoist.h): the adaptive in-flight
 * limit of concurrency.c, offered to a caller that schedules a batch of
 * transfers itself (the CLI's tree download: files, not parts).
 *
 * Owns: the mapping of a transfer that takes several slots onto the
 * controller, which counts requests: it takes them all at once, and its
 * request-seconds are its seconds times its slots, so that goodput per
 * slot stays comparable between one-range and multi-range files.  The
 * clock is ours (the controller has none).
 *
 * Layer: API.
 * Threading: none of its own; one caller thread per pacer (hoist.h).
 */
#include <stdlib.h>

#include "concurrency.h"
#include "ctx.h"
#include "hoist.h"

/* Files finished in one epoch that make one piece of evidence.  The
 * controller decides on 4 to 16 finished requests, right for parts of
 * 8 MiB; a tree's files of 1 MiB on a LAN finish in a few ms each, and
 * 8 of them are a window shorter than the scheduling noise of a shared
 * host (measured, 500 files of 1 MiB: windows of single files read
 * 364 to 1892 MB/s at the same width, and the limit wandered 8-50; with
 * bundles of 4 it stayed 8-20). */
#define PACER_BUNDLE 8

struct hoist_pacer {
	struct concurrency cc;
	/* The bundle being gathered: files of epoch `ticket` */
	unsigned ticket, n;
	uint64_t bytes;
	double ms;
};

hoist_status hoist_pacer_new(struct hoist_pacer **out, unsigned max_slots, int fixed)
{
	struct hoist_pacer *p;

	if (!out)
		return HOIST_E_INVALID_ARG;
	*out = NULL;
	if (max_slots == 0)
		return HOIST_E_INVALID_ARG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return HOIST_E_NOMEM;
	concurrency_init(&p->cc, max_slots, fixed != 0, hoist__now_ms());
	*out = p;
	return HOIST_OK;
}

void hoist_pacer_free(struct hoist_pacer *p)
{
	free(p);
}

int hoist_pacer_may_start(struct hoist_pacer *p, unsigned slots)
{
	if (!p)
		return 0;
	concurrency_sample(&p->cc, hoist__now_ms());
	return p->cc.inflight == 0 || p->cc.inflight + slots <= p->cc.limit;
}

unsigned hoist_pacer_start(struct hoist_pacer *p, unsigned slots)
{
	unsigned epoch = 0, i;

	if (!p)
		return 0;
	for (i = 0; i < (slots ? slots : 1); i++) {
		epoch = concurrency_take(&p->cc);
	}
	/* The account integrates the slots in use as they were since the
	 * last sample, then notes the new count. */
	concurrency_sample(&p->cc, hoist__now_ms());
	return epoch;
}

void hoist_pacer_done(struct hoist_pacer *p, unsigned ticket, unsigned slots, uint64_t bytes,
		      double seconds, int ok)
{
	unsigned i, n = slots ? slots : 1;

	if (!p)
		return;
	for (i = 0; i < n; i++) {
		concurrency_give(&p->cc);
	}
	if (ok && seconds > 0 && ticket == p->cc.epoch) {
		if (p->n && p->ticket != ticket) {
			p->n = 0;
		}
		if (p->n == 0) {
			p->ticket = ticket;
			p->bytes = 0;
			p->ms = 0;
		}
		p->bytes += bytes;
		p->ms += seconds * 1000.0 * n;
		if (++p->n < PACER_BUNDLE) {
			concurrency_sample(&p->cc, hoist__now_ms());
			return;
		}
		p->n = 0;
		concurrency_done(&p->cc, hoist__now_ms(), ticket, p->bytes, p->ms);
	} else {
		concurrency_sample(&p->cc, hoist__now_ms());
	}
}

void hoist_pacer_round_trip(struct hoist_pacer *p, double seconds)
{
	if (p && seconds > 0) {
		concurrency_round_trip(&p->cc, seconds * 1000.0);
	}
}

void hoist_pacer_throttled(struct hoist_pacer *p)
{
	if (p) {
		concurrency_throttled(&p->cc, hoist__now_ms());
	}
}

unsigned hoist_pacer_limit(const struct hoist_pacer *p)
{
	return p ? p->cc.limit : 0;
}
