/*
 * concurrency.c - the adaptive in-flight limit (see concurrency.h).
 *
 * Goodput is measured over windows of CC_WINDOW_MS as body bytes handed to
 * curl per second, opened CC_SETTLE_MS after each change so that the
 * connect and the filling of fresh socket buffers do not count as speed.
 * The rules, slow start first, then probing:
 *  - GROW: double the limit after each valid window while the window's
 *    rate beats the best so far by CC_GROW_GAIN; when a doubling does not,
 *    return to the limit that gave the best rate and hold (STEADY);
 *  - STEADY: every probe_every valid windows try +25 % for one window
 *    (PROBE); a gain of CC_PROBE_GAIN keeps it and resumes doubling (the
 *    path got wider), otherwise back, and the next probe waits twice as
 *    long (up to CC_PROBE_MAX windows: a probe costs little, but never
 *    nothing);
 *  - a throttling answer halves the limit and holds growth CC_HOLD_MS.
 * There is no probing downward: fewer connections than the best found are
 * only taken when the server asks for them, so noise in the measurements
 * cannot walk the limit down to a single connection.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: see concurrency.h.
 */
#include "concurrency.h"

/* A window long enough that a few parts' worth of progress on a slow link
 * and the scheduling noise of a shared host average out (too short: growth
 * decisions are coin flips; too long: a WAN upload takes seconds to reach
 * its width).  The settle time covers a TCP connect, a TLS handshake on a
 * LAN, and the first socket-buffer burst. */
#define CC_WINDOW_MS 1000
#define CC_SETTLE_MS 250
/* A doubling must buy 20 %, a +25 % probe 10 %.  While the path is not
 * full a doubling buys close to 100 %, so these only decide where the
 * growth stops: lower, and the noise of one window on a busy host (+-30 %
 * measured on a shared 2-core machine) adds connections that buy nothing
 * but memory traffic; higher, and a path 80 % full is left so. */
#define CC_GROW_GAIN 0.20
#define CC_PROBE_GAIN 0.10
#define CC_PROBE_MIN 4
#define CC_PROBE_MAX 32
/* After a throttling answer, no growth for 10 s: the server's own hints
 * (x-oss-qos-delay-time, Retry-After) are of that order. */
#define CC_HOLD_MS 10000

void concurrency_init(struct concurrency *c, unsigned max, int fixed, uint64_t now_ms)
{
	*c = (struct concurrency){ 0 };
	c->max = max ? max : 1;
	c->fixed = fixed;
	c->limit = fixed || c->max < CONCURRENCY_START ? c->max : CONCURRENCY_START;
	c->phase = CC_GROW;
	c->base_limit = c->limit;
	c->probe_every = CC_PROBE_MIN;
	c->settle_until_ms = now_ms + CC_SETTLE_MS;
}

static void set_limit(struct concurrency *c, unsigned limit, uint64_t now_ms)
{
	if (limit > c->max) {
		limit = c->max;
	}
	if (limit < 1) {
		limit = 1;
	}
	c->limit = limit;
	c->win_start_ms = 0;
	c->settle_until_ms = now_ms + CC_SETTLE_MS;
}

/* One valid window measured rate at c->limit.  Returns 1 if the limit
 * changed. */
static int decide(struct concurrency *c, double rate, uint64_t now_ms)
{
	unsigned old = c->limit;
	int may_grow = c->limit < c->max && now_ms >= c->hold_until_ms;

	c->last_rate = rate;
	switch (c->phase) {
	case CC_GROW:
		if (c->base_rate == 0 || rate >= c->base_rate * (1 + CC_GROW_GAIN)) {
			c->base_rate = rate;
			c->base_limit = c->limit;
			if (may_grow) {
				set_limit(c, c->limit * 2, now_ms);
			} else {
				c->phase = CC_STEADY;
			}
		} else {
			set_limit(c, c->base_limit, now_ms);
			c->phase = CC_STEADY;
			c->steady_windows = 0;
		}
		break;
	case CC_STEADY:
		/* Conditions drift: follow them, smoothed. */
		c->base_rate = c->base_rate == 0 ? rate : 0.7 * c->base_rate + 0.3 * rate;
		c->base_limit = c->limit;
		if (++c->steady_windows >= c->probe_every && may_grow) {
			unsigned step = c->limit / 4 ? c->limit / 4 : 1;

			c->steady_windows = 0;
			c->phase = CC_PROBE;
			set_limit(c, c->limit + step, now_ms);
		}
		break;
	case CC_PROBE:
		if (rate >= c->base_rate * (1 + CC_PROBE_GAIN)) {
			c->base_rate = rate;
			c->base_limit = c->limit;
			c->probe_every = CC_PROBE_MIN;
			c->phase = CC_GROW;
			if (may_grow) {
				set_limit(c, c->limit * 2, now_ms);
			}
		} else {
			set_limit(c, c->base_limit, now_ms);
			c->phase = CC_STEADY;
			c->probe_every = c->probe_every * 2 > CC_PROBE_MAX ? CC_PROBE_MAX
									    : c->probe_every * 2;
		}
		break;
	}
	return c->limit != old;
}

int concurrency_sample(struct concurrency *c, uint64_t now_ms, uint64_t bytes,
		       unsigned inflight)
{
	uint64_t span;
	double rate;
	int starved;

	if (c->fixed || now_ms < c->settle_until_ms) {
		return 0;
	}
	if (c->win_start_ms == 0 || bytes < c->win_start_bytes) {
		c->win_start_ms = now_ms;
		c->win_start_bytes = bytes;
		c->win_starved = inflight < c->limit;
		return 0;
	}
	if (inflight < c->limit) {
		c->win_starved = 1;
	}
	span = now_ms - c->win_start_ms;
	if (span < CC_WINDOW_MS) {
		return 0;
	}
	rate = (double)(bytes - c->win_start_bytes) * 1000.0 / (double)span;
	starved = c->win_starved;
	c->win_start_ms = now_ms;
	c->win_start_bytes = bytes;
	c->win_starved = inflight < c->limit;
	if (starved) {
		return 0;
	}
	return decide(c, rate, now_ms);
}

int concurrency_throttled(struct concurrency *c, uint64_t now_ms)
{
	unsigned old = c->limit;

	if (c->fixed) {
		return 0;
	}
	if (c->last_cut_ms && now_ms - c->last_cut_ms < CC_WINDOW_MS) {
		return 0;
	}
	c->last_cut_ms = now_ms;
	c->hold_until_ms = now_ms + CC_HOLD_MS;
	c->phase = CC_STEADY;
	c->base_rate = 0;
	c->steady_windows = 0;
	c->probe_every = CC_PROBE_MIN;
	set_limit(c, c->limit / 2, now_ms);
	c->base_limit = c->limit;
	return c->limit != old;
}

void concurrency_pause(struct concurrency *c)
{
	c->win_start_ms = 0;
}
