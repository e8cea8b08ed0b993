/*
 * concurrency.c - the adaptive in-flight limit (see concurrency.h).
 *
 * The start is CONCURRENCY_START, raised once the first round trip is
 * known (CC_HOST_BPS below).  Then two kinds of step:
 *  - START, blind: x4 once per round trip while the slots are taken, until
 *    the first request finishes.  Nothing better is known then, and the
 *    cheap mistake is too many streams; not on a LAN (a round trip under
 *    CC_BLIND_MIN_RTT_MS), where streams are not what the path lacks;
 *  - evidence windows: from a change of the limit until enough requests
 *    started since then have finished (half the limit, 4 to 16), goodput
 *    per stream is their bytes over their request-seconds and goodput is
 *    that times the slots in use on average (Little's law).  A window
 *    spans CC_WINDOW_MIN_MS at least.  One in which fewer than 80 % of the
 *    slots were in use (the tail, hashing behind, retries waiting, a
 *    feeder slower than the slots) decides nothing, except that it undoes
 *    a step up it follows.  Then:
 *    GROW: the first window is the reference and the limit quadruples;
 *      after a step, if goodput per stream held (>= CC_STREAM_HOLDS of the
 *      reference's) the path is not full: quadruple again.  If it fell
 *      but the step still bought CC_GAIN more goodput, keep the step and
 *      hold; if it bought nothing, go back to the reference's limit;
 *    STEADY: every probe_every windows try +25 % for one window (PROBE); a
 *      gain of CC_GAIN keeps it and resumes growing (the path got wider),
 *      otherwise back, and the next probe waits twice as long (up to
 *      CC_PROBE_MAX windows);
 *    a throttling answer halves the limit and holds growth CC_HOLD_MS.
 * There is no step downward otherwise: fewer streams than the best found
 * are only taken when the server asks for them, so noise in the
 * measurements cannot walk the limit down.
 *
 * Why finished requests and not bytes handed to the socket: a fresh
 * connection's socket buffers take megabytes at memory speed (ossemu's
 * WAN profile: ~5 MB of receive buffer per connection, 8 MiB parts), so
 * in the first round trips bytes handed out say how fast the CPU copies,
 * not how fast the path drains (measured: 8 streams at 30 ms / 25 MB/s
 * "moved" 920 MiB/s in their first 31 ms, 32 streams then 630 MiB/s).
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: see concurrency.h.
 */
#include "concurrency.h"

/* START's step: a round trip, 25 ms to 1 s.  Below 25 ms the scheduling
 * noise of a shared 2-core host is as large as a round trip; before any
 * round trip is known, 100 ms. */
#define CC_ROUND_MIN_MS 25
#define CC_ROUND_MAX_MS 1000
#define CC_ROUND_UNKNOWN_MS 100
/* The start on a long path.  A TCP stream carries at most its window per
 * round trip, and Linux caps an autotuned send buffer at 4 MiB
 * (net.ipv4.tcp_wmem), so at 100 ms a stream carries at most ~40 MB/s.  A
 * host sends a few GB/s (a 25 Gb/s NIC; this 2-core VM 2.3 GB/s over
 * loopback): start with enough streams for 4 GB/s, which saves a START
 * step per factor 4 (at 100 ms: 96 streams instead of 8, two round trips,
 * 10 % of a 1 GiB upload at 10 MB/s per stream).  A host that cannot send
 * that much only has idle slots for a round trip or two: the cheap
 * mistake.  Below 8 ms the start stays CONCURRENCY_START. */
#define CC_HOST_BPS 4e9
#define CC_STREAM_WINDOW (4.0 * 1024 * 1024)
/* Blind START steps only on a path whose round trip is known to be at
 * least 8 ms, or not known.  Below that one stream's window per round trip
 * is over 500 MB/s, so the first streams are not held back by the path:
 * what limits them is the CPU, and blind steps only add streams that cost
 * it.  Measured (2-core EPYC, 2 GiB to ossemu --discard over loopback,
 * 8 MiB parts, --checksum crc64): a blind step in the first 25 ms took the
 * limit to 32 and the evidence that followed to 64, 0.88-1.09 s; at a
 * fixed 8, 0.68-0.82 s; 8 curls, 0.73-0.96 s.  The evidence windows still
 * grow a LAN whose streams are capped (a store's per-connection limit):
 * x4 per window of finished parts. */
#define CC_BLIND_MIN_RTT_MS 8.0
/* A window (and a START step) counts when on average 80 % of the slots
 * were in use. */
#define CC_BUSY 0.8
/* Finished requests a window needs: half the limit, 4 to 16 (fewer: one
 * slow request decides; more: a step takes many part latencies). */
#define CC_EV_MIN 4
#define CC_EV_MAX 16
/* And the time it spans: 100 ms at least.  Small objects finish four at a
 * time in a few ms, and windows that short measure the host's scheduling,
 * not the path: a tree of 1 MiB downloads over loopback (2-core VM, 8
 * slots throughout) saw 18-30 ms windows read 1,103 to 1,879 MB/s, so a
 * probe was kept on noise alone (its +10 % bar) and the limit ratcheted
 * up to 16 or 20, which cost the tree 10 % against a fixed 8.  A part of
 * 8 MiB takes 30 ms or more even on a LAN, so parts' windows already span
 * this; on a WAN every window does. */
#define CC_WINDOW_MIN_MS 100
/* Growth: x4 while goodput per stream holds at 60 % of the reference's.
 * A path far from full gives new streams what the old ones get; a full
 * one shares the same goodput among more streams, 25 % each after a
 * quadrupling, so noise of +-30 % between windows cannot pass for either.
 * A step (or a probe) is kept when it bought 10 % more goodput. */
#define CC_GROW_FACTOR 4
#define CC_STREAM_HOLDS 0.6
#define CC_GAIN 0.10
#define CC_PROBE_MIN 4
#define CC_PROBE_MAX 32
/* After a throttling answer, no growth for 10 s: the server's own hints
 * (x-oss-qos-delay-time, Retry-After) are of that order.  Cuts come at
 * most once per request latency (and 500 ms): the answers to parts sent
 * together arrive together and are one signal. */
#define CC_HOLD_MS 10000
#define CC_CUT_GAP_MS 500

void concurrency_init(struct concurrency *c, unsigned max, int fixed, uint64_t now_ms)
{
	(void)now_ms;
	*c = (struct concurrency){ 0 };
	c->max = max ? max : 1;
	c->fixed = fixed;
	c->limit = fixed || c->max < CONCURRENCY_START ? c->max : CONCURRENCY_START;
	c->phase = CC_START;
	c->ref_limit = c->limit;
	c->probe_every = CC_PROBE_MIN;
}

void concurrency_round_trip(struct concurrency *c, double ms)
{
	double start;

	if (ms > 0 && (c->rtt_ms == 0 || ms < c->rtt_ms)) {
		c->rtt_ms = ms;
	}
	/* Known before the first request (Initiate's round trip): start where
	 * streams of one full send buffer per round trip carry what the host
	 * can send. */
	if (c->fixed || c->phase != CC_START || c->changed_ms || c->rtt_ms <= 0)
		return;
	start = CC_HOST_BPS * (c->rtt_ms / 1000.0) / CC_STREAM_WINDOW + 0.999;
	if (start > c->limit) {
		c->limit = start > c->max ? c->max : (unsigned)start;
		c->ref_limit = c->limit;
	}
}

uint64_t concurrency_round_ms(const struct concurrency *c)
{
	double w = c->rtt_ms > 0 ? c->rtt_ms : CC_ROUND_UNKNOWN_MS;

	if (w < CC_ROUND_MIN_MS) {
		w = CC_ROUND_MIN_MS;
	}
	if (w > CC_ROUND_MAX_MS) {
		w = CC_ROUND_MAX_MS;
	}
	return (uint64_t)w;
}

static void open_window(struct concurrency *c, uint64_t now_ms)
{
	c->win_start_ms = now_ms ? now_ms : 1;
	c->ev_bytes = 0;
	c->ev_ms = 0;
	c->ev_n = 0;
	c->slot_ms = 0;
	c->last_ms = c->win_start_ms;
	c->last_inflight = c->inflight;
}

/* Every change starts a new epoch: only requests started after it are
 * evidence about it. */
static void set_limit(struct concurrency *c, unsigned limit, uint64_t now_ms)
{
	if (limit > c->max) {
		limit = c->max;
	}
	if (limit < 1) {
		limit = 1;
	}
	if (limit != c->limit) {
		c->limit = limit;
		c->epoch++;
		c->changed_ms = now_ms;
	}
	open_window(c, now_ms);
}

static void take_reference(struct concurrency *c, double rate)
{
	c->ref_limit = c->limit;
	c->ref_rate = rate;
}

static void hold(struct concurrency *c)
{
	c->phase = CC_STEADY;
	c->steady_windows = 0;
}

/* A step up that did not pay: back to the reference's limit, holding; a
 * failed probe also waits twice as long for the next one. */
static void undo_step(struct concurrency *c, uint64_t now_ms)
{
	if (c->phase == CC_PROBE) {
		c->probe_every = c->probe_every * 2 > CC_PROBE_MAX ? CC_PROBE_MAX : c->probe_every * 2;
	}
	set_limit(c, c->ref_limit, now_ms);
	hold(c);
}

/* x4 a step; x2 on a LAN, where a step past a full path costs a window
 * of many more streams than it needs (measured: 16 streams 32 % slower
 * than 8 on loopback, 1 GiB), and a LAN's short parts make windows
 * cheap, so smaller steps lose nothing. */
static unsigned grow_factor(const struct concurrency *c)
{
	return c->rtt_ms > 0 && c->rtt_ms < CC_BLIND_MIN_RTT_MS ? 2 : CC_GROW_FACTOR;
}

static void grow(struct concurrency *c, double rate, int may_grow, uint64_t now_ms)
{
	double p, q;

	if (c->ref_rate == 0 || c->limit == c->ref_limit) {
		take_reference(c, rate);
		if (may_grow) {
			set_limit(c, c->limit * grow_factor(c), now_ms);
		} else {
			hold(c);
		}
		return;
	}
	p = rate / c->ref_rate;
	q = p * (double)c->ref_limit / (double)c->limit; /* per stream */
	if (q >= CC_STREAM_HOLDS && p >= 1 + CC_GAIN) {
		take_reference(c, rate);
		if (may_grow) {
			set_limit(c, c->limit * grow_factor(c), now_ms);
		} else {
			hold(c);
		}
	} else if (p >= 1 + CC_GAIN) {
		take_reference(c, rate);
		hold(c);
	} else {
		undo_step(c, now_ms);
	}
}

/* One valid window measured rate at c->limit.  Returns 1 if the limit
 * changed. */
static int decide(struct concurrency *c, double rate, uint64_t now_ms)
{
	unsigned old = c->limit;
	int may_grow = c->limit < c->max && now_ms >= c->hold_until_ms;

	c->last_rate = rate;
	c->windows++;
	switch (c->phase) {
	case CC_START:
	case CC_GROW:
		c->phase = CC_GROW;
		grow(c, rate, may_grow, now_ms);
		break;
	case CC_STEADY:
		/* Conditions drift: follow them, smoothed. */
		c->ref_rate = c->ref_rate == 0 ? rate : 0.7 * c->ref_rate + 0.3 * rate;
		c->ref_limit = c->limit;
		if (++c->steady_windows >= c->probe_every && may_grow) {
			unsigned step = c->limit / 4 ? c->limit / 4 : 1;

			c->steady_windows = 0;
			c->phase = CC_PROBE;
			set_limit(c, c->limit + step, now_ms);
		}
		break;
	case CC_PROBE:
		if (rate >= c->ref_rate * (1 + CC_GAIN)) {
			/* Wider than it was: the probe is the new reference and
			 * growth resumes from it. */
			take_reference(c, rate);
			c->probe_every = CC_PROBE_MIN;
			c->phase = CC_GROW;
			if (may_grow) {
				set_limit(c, c->limit * 2, now_ms);
			}
		} else {
			undo_step(c, now_ms);
		}
		break;
	}
	if (c->limit == old) {
		open_window(c, now_ms);
	}
	return c->limit != old;
}

/* The slots in use, integrated over the open window. */
static void account(struct concurrency *c, uint64_t now_ms)
{
	if (c->win_start_ms == 0 || now_ms < c->last_ms) {
		open_window(c, now_ms);
		return;
	}
	c->slot_ms += (double)c->last_inflight * (double)(now_ms - c->last_ms);
	c->last_ms = now_ms;
	c->last_inflight = c->inflight;
}

int concurrency_sample(struct concurrency *c, uint64_t now_ms)
{
	if (c->fixed)
		return 0;
	account(c, now_ms);
	if (c->changed_ms == 0) {
		c->changed_ms = now_ms ? now_ms : 1; /* sending began */
		return 0;
	}
	if (c->phase != CC_START || c->limit >= c->max || now_ms < c->hold_until_ms)
		return 0;
	if (c->rtt_ms > 0 && c->rtt_ms < CC_BLIND_MIN_RTT_MS)
		return 0; /* a LAN: wait for evidence (see CC_BLIND_MIN_RTT_MS) */
	if (now_ms - c->changed_ms < concurrency_round_ms(c) ||
	    (double)c->inflight < CC_BUSY * c->limit)
		return 0;
	set_limit(c, c->limit * CC_GROW_FACTOR, now_ms);
	return 1;
}

/* A window whose slots were not kept 80 % busy: the limit did not bound
 * the work, so it says nothing about the path.  Except just after a step
 * up (GROW, PROBE): then it says the step was not needed, since what feeds
 * the slots (a walk, a commit on one thread, the hash pool) cannot use
 * them, and the wider limit is undone.  Left in place it only waits: a
 * tree of 1 MiB downloads kept 10-12 of 16 slots busy for the whole run,
 * never valid, never reverted, and ran 10 % slower than at 8. */
static int idle_window(struct concurrency *c, uint64_t now_ms)
{
	unsigned old = c->limit;

	if ((c->phase == CC_GROW || c->phase == CC_PROBE) && c->ref_rate > 0 &&
	    c->limit > c->ref_limit) {
		undo_step(c, now_ms);
		return c->limit != old;
	}
	open_window(c, now_ms);
	return 0;
}

int concurrency_done(struct concurrency *c, uint64_t now_ms, unsigned epoch, uint64_t bytes,
		     double ms)
{
	unsigned need = c->limit / 2;
	uint64_t span;
	double avg, rate;

	if (ms <= 0)
		ms = 0.001;
	c->part_ms = c->part_ms == 0 ? ms : 0.8 * c->part_ms + 0.2 * ms;
	if (c->fixed)
		return 0;
	account(c, now_ms);
	if (c->phase == CC_START) {
		/* The first evidence: from now on steps wait for it.  On a LAN
		 * the first parts also paid for connecting and slow start, a
		 * large share of a part there: they would make a poor reference
		 * (measured: 8 streams looked 40 % slower than they are, and
		 * the step to 32 they invited cost 20 %).  So only parts
		 * started from now on are evidence. */
		c->phase = CC_GROW;
		if (c->rtt_ms > 0 && c->rtt_ms < CC_BLIND_MIN_RTT_MS) {
			c->epoch++;
			open_window(c, now_ms);
		}
	}
	if (epoch != c->epoch)
		return 0;
	c->ev_bytes += (double)bytes;
	c->ev_ms += ms;
	c->ev_n++;
	need = need < CC_EV_MIN ? CC_EV_MIN : need > CC_EV_MAX ? CC_EV_MAX : need;
	span = now_ms - c->win_start_ms;
	if (c->ev_n < need || span < CC_WINDOW_MIN_MS)
		return 0;
	avg = c->slot_ms / (double)span;
	if (avg < CC_BUSY * c->limit)
		return idle_window(c, now_ms);
	/* Little's law: what the slots carry is the slots in use times what
	 * one carries per second. */
	rate = c->ev_bytes * 1000.0 / c->ev_ms * avg;
	return decide(c, rate, now_ms);
}

int concurrency_throttled(struct concurrency *c, uint64_t now_ms)
{
	unsigned old = c->limit;
	uint64_t gap = c->part_ms > CC_CUT_GAP_MS ? (uint64_t)c->part_ms : CC_CUT_GAP_MS;

	if (c->fixed)
		return 0;
	if (c->last_cut_ms && now_ms - c->last_cut_ms < gap)
		return 0;
	c->last_cut_ms = now_ms;
	c->hold_until_ms = now_ms + CC_HOLD_MS;
	c->ref_rate = 0;
	c->probe_every = CC_PROBE_MIN;
	set_limit(c, c->limit / 2, now_ms);
	c->ref_limit = c->limit;
	hold(c);
	return c->limit != old;
}

void concurrency_pause(struct concurrency *c)
{
	c->win_start_ms = 0;
}
