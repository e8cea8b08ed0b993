/*
 * concurrency.h - how many of an upload's parts are in flight (private).
 *
 * Owns: the adaptive in-flight limit of one multipart upload.  `jobs` is a
 * ceiling, not a target: more connections than the path needs cost memory
 * traffic (every stream keeps a curl upload buffer and kernel socket
 * buffers warm; on a 2-core host sending over loopback 64 streams take
 * ~1.5x the CPU per byte of 8), while a long fat network needs many.  So
 * the limit starts modest, doubles while the measured goodput rises, then
 * holds and probes upward now and then; a throttling answer (503 SlowDown,
 * 429, x-oss-qos-delay-time) halves it.  This is a pure controller: the
 * caller feeds it samples (time, a monotonic byte count, parts in flight)
 * and applies the limit; the unit test drives it with model networks.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: one upload's loop thread (no lock; no clock of its own).
 */
#ifndef HOIST_CONCURRENCY_H
#define HOIST_CONCURRENCY_H

#include <stdint.h>

/* The first limit of an adaptive upload: what saturates a local link or a
 * small host (8 streams of 512 KiB upload buffers stay in L3) while still
 * letting a WAN upload reach 64 in three doublings. */
#define CONCURRENCY_START 8

enum concurrency_phase {
	CC_GROW = 0,  /* doubling while each doubling gains */
	CC_STEADY,    /* holding; probing upward every probe_every windows */
	CC_PROBE      /* one window at a higher limit; keep it if it gains */
};

struct concurrency {
	/* Set by concurrency_init. */
	unsigned max;            /* the upload's jobs: never exceeded */
	int fixed;               /* 1: the limit is max, always */

	/* Controller state. */
	unsigned limit;          /* parts allowed in flight now, 1..max */
	enum concurrency_phase phase;
	unsigned base_limit;     /* the limit to fall back to after a failed step */
	double base_rate;        /* bytes/s measured at base_limit; 0: unknown */
	uint64_t settle_until_ms; /* no window opens before (a change settling) */
	uint64_t win_start_ms;   /* 0: no window open */
	uint64_t win_start_bytes;
	int win_starved;         /* a sample in the window had inflight < limit */
	unsigned steady_windows; /* valid windows since the last probe */
	unsigned probe_every;    /* valid windows between probes */
	uint64_t hold_until_ms;  /* after throttling: no growth before */
	uint64_t last_cut_ms;    /* the last throttling cut; 0: none */
	double last_rate;        /* the last valid window's rate, for logs */
};

/* max >= 1.  Adaptive: the limit starts at min(max, CONCURRENCY_START). */
void concurrency_init(struct concurrency *c, unsigned max, int fixed, uint64_t now_ms);

/* One sample, at least every ~100 ms while parts are being sent: bytes is
 * a monotonic count of body bytes handed to the network, inflight the
 * parts on the wire now.  A window in which the limit was not what bounded
 * the work (fewer parts in flight than allowed: the tail of the upload,
 * hashing behind, retries waiting) is not used.  Returns 1 when the limit
 * changed (the caller schedules more parts, or lets some finish). */
int concurrency_sample(struct concurrency *c, uint64_t now_ms, uint64_t bytes,
		       unsigned inflight);

/* The server asked us to slow down.  Halves the limit (at most once per
 * window, so a burst of 503s on parts sent together counts once) and holds
 * growth for a while.  Returns 1 when the limit changed.  A fixed limit
 * never changes: retries' backoff alone handles throttling then. */
int concurrency_throttled(struct concurrency *c, uint64_t now_ms);

/* Forget the open window (sending paused: no parts to send for a while). */
void concurrency_pause(struct concurrency *c);

#endif
