/*
 * concurrency.h - how many requests of a transfer (or of several) are in
 * flight (private).
 *
 * Owns: the adaptive in-flight limit.  `jobs` is a ceiling, not a target.
 * Too few streams on a long fat network cost most of the throughput (each
 * TCP stream carries what its window allows); too many on a LAN cost
 * little (measured: no more CPU per byte at 64 streams than at 8 on
 * loopback).  The first mistake is the expensive one, so the limit grows
 * like TCP slow start, per round trip, and steps back only on evidence:
 *  - START: until a request finishes there is no evidence, and the limit
 *    quadruples once per round trip (the latency of a bodiless request,
 *    Initiate or ListParts) while the slots are taken.  A path where
 *    requests finish within a few round trips (a LAN) stops this early;
 *    a long fat one reaches jobs before its first part is back;
 *  - then the evidence is the finished requests: goodput per stream is
 *    bytes over request-seconds of those started at the current limit,
 *    and goodput is that times the slots in use (Little's law), so socket
 *    buffers that swallow a fresh connection's first megabytes count for
 *    nothing.  Steps up (x4 while goodput per stream holds, then +25 %
 *    probes) are kept when they buy goodput; a step that buys nothing is
 *    undone; a throttling answer (503 SlowDown, 429, x-oss-qos-delay-time)
 *    halves the limit.
 *
 * Shaped for more than one upload: the controller counts the slots itself,
 * so any number of pipelines on one loop (a tree's small objects, a
 * download's ranged GETs: a request's bytes are its body in either
 * direction) can draw on one controller and be bounded as a whole.  Pure:
 * no clock of its own; the caller feeds times, and the unit test drives it
 * with model networks in simulated time.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: one loop thread (no lock): everyone who shares a controller
 * runs on the same loop.
 */
#ifndef HOIST_CONCURRENCY_H
#define HOIST_CONCURRENCY_H

#include <stdint.h>

/* The first limit of an adaptive transfer: loopback on a small host is
 * full at about 8 streams, and from 8 two quadruplings (two round trips)
 * reach 128. */
#define CONCURRENCY_START 8

enum concurrency_phase {
	CC_START = 0, /* no request finished yet: x4 per round trip */
	CC_GROW,      /* stepping up while steps pay */
	CC_STEADY,    /* holding; probing upward every probe_every windows */
	CC_PROBE      /* one window at a higher limit; keep it if it gains */
};

struct concurrency {
	/* ---- set by concurrency_init */
	unsigned max;            /* jobs: never exceeded */
	int fixed;               /* 1: the limit is max, always */

	/* ---- kept by the users (concurrency_take / _give) */
	unsigned inflight;       /* slots taken */

	/* ---- learnt */
	double rtt_ms;           /* the fastest bodiless request; 0: none */
	double part_ms;          /* smoothed latency of finished requests */

	/* ---- controller state */
	unsigned limit;          /* slots allowed now, 1..max */
	enum concurrency_phase phase;
	unsigned epoch;          /* bumped at every change of the limit */
	uint64_t changed_ms;     /* when the limit last changed (0: not yet) */
	unsigned ref_limit;      /* the limit of the reference window */
	double ref_rate;         /* its goodput, bytes/s; 0: none yet */
	/* The open evidence window: requests started in this epoch that
	 * finished, and the slots in use over time. */
	uint64_t win_start_ms;   /* 0: none open */
	double ev_bytes;
	double ev_ms;
	unsigned ev_n;
	double slot_ms;          /* integral of inflight over the window */
	uint64_t last_ms;
	unsigned last_inflight;
	unsigned steady_windows; /* valid windows since the last probe */
	unsigned probe_every;    /* valid windows between probes */
	uint64_t hold_until_ms;  /* after throttling: no growth before */
	uint64_t last_cut_ms;    /* the last throttling cut; 0: none */
	double last_rate;        /* the last valid window's goodput (logs) */
	unsigned windows;        /* valid evidence windows so far */
};

/* max >= 1.  Adaptive: the limit starts at min(max, CONCURRENCY_START). */
void concurrency_init(struct concurrency *c, unsigned max, int fixed, uint64_t now_ms);

/* 1 when one more request may start. */
static inline int concurrency_may_start(const struct concurrency *c)
{
	return c->inflight < c->limit;
}

/* A request takes a slot (remember the epoch it returns, for
 * concurrency_done) / gives it back. */
static inline unsigned concurrency_take(struct concurrency *c)
{
	c->inflight++;
	return c->epoch;
}

static inline void concurrency_give(struct concurrency *c)
{
	if (c->inflight) {
		c->inflight--;
	}
}

/* A request without a body came back after ms (Initiate, ListParts): the
 * round trip, which paces START. */
void concurrency_round_trip(struct concurrency *c, double ms);

/* A request that took a slot in epoch finished well after ms, having
 * moved bytes of body (either direction).  Call after concurrency_give.
 * Returns 1 when the limit changed. */
int concurrency_done(struct concurrency *c, uint64_t now_ms, unsigned epoch, uint64_t bytes,
		     double ms);

/* A sample, as often as the caller likes (every loop tick): keeps the
 * account of slots in use and paces START.  Returns 1 when the limit
 * changed (the caller starts more requests). */
int concurrency_sample(struct concurrency *c, uint64_t now_ms);

/* The server asked us to slow down.  Halves the limit (at most once per
 * request latency, so a burst of 503s on parts sent together counts once)
 * and holds growth for a while.  Returns 1 when the limit changed.  A
 * fixed limit never changes: retries' backoff alone handles throttling. */
int concurrency_throttled(struct concurrency *c, uint64_t now_ms);

/* Forget the open window (sending paused: no requests for a while). */
void concurrency_pause(struct concurrency *c);

/* START's step, in ms: the round trip, 25 ms to 1 s (100 ms unknown). */
uint64_t concurrency_round_ms(const struct concurrency *c);

#endif
