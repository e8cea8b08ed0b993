/*
 * resume.h - suspend an MHD connection now, resume it later.
 *
 * Latency, bandwidth caps and stalls must not block the MHD worker threads
 * (a WAN profile has hundreds of connections and a handful of threads), and
 * slow work (assembling an object at Complete, the upload callback) must not
 * stall the other connections of a worker.  So the handler suspends its
 * connection and either a timer (resumer_suspend_until) or a helper thread
 * (resumer_hold / resumer_release) resumes it.
 *
 * Threading: all functions are thread-safe.  A connection is suspended
 * under the resumer's lock, so resumer_stop can guarantee that none is left
 * suspended when MHD_stop_daemon runs (MHD requires that).
 */
#ifndef OSSEMU_RESUME_H
#define OSSEMU_RESUME_H

#include <stdint.h>

struct MHD_Connection;
struct resumer;

struct resumer *resumer_new(void);
/* Stops the timer thread: refuses new suspensions, resumes every timed
 * one, then waits (up to wait_ms) for held connections to be released. */
void resumer_stop(struct resumer *r, unsigned wait_ms);
void resumer_free(struct resumer *r);

/* Suspends c and resumes it at monotonic time when_ns.  Returns 1 if
 * suspended, 0 if the resumer is stopping (the caller goes on at once). */
int resumer_suspend_until(struct resumer *r, struct MHD_Connection *c, uint64_t when_ns);
/* Suspends c until resumer_release(c).  Returns 1, or 0 when stopping. */
int resumer_hold(struct resumer *r, struct MHD_Connection *c);
void resumer_release(struct resumer *r, struct MHD_Connection *c);

#endif
