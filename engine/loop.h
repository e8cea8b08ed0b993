/*
 * loop.h - one curl multi event loop on its own thread (private).
 *
 * Owns: a thread named "hoist-io-N", its curl multi handle (and so its
 * connection pool), a locked queue of messages posted from other threads,
 * timers, and the list of clients (uploads) it drives.
 *
 * Everything an upload does on the network happens on its loop's thread:
 * message handlers, timer callbacks, transfer completions and client ticks
 * all run there, one at a time, so upload state needs no lock.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: loop_post and loop_wakeup from any thread (loop_wakeup is
 * async-signal-safe: it is curl_multi_wakeup, a write to a socketpair);
 * everything else only on the loop's own thread.
 */
#ifndef HOIST_LOOP_H
#define HOIST_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

struct loop;

/* A message: fn(msg) runs on the loop thread.  Intrusive, no allocation;
 * the poster owns the memory and must not reuse it until fn has run. */
struct loop_msg {
	struct loop_msg *next;
	void (*fn)(struct loop_msg *msg);
};

/* A transfer: the easy handle's CURLOPT_PRIVATE must point here.  done runs
 * on the loop thread after the handle was removed from the multi. */
struct loop_xfer {
	CURL *easy;
	void (*done)(struct loop_xfer *x, CURLcode cc);
};

/* A one-shot timer. */
struct loop_timer {
	uint64_t due_ms;
	size_t heap_index;    /* (size_t)-1 when not armed */
	void (*fn)(struct loop_timer *t);
};
#define LOOP_TIMER_INIT(f) { 0, (size_t)-1, (f) }

/* A client is ticked once per loop iteration (at least every 100 ms while
 * it is registered): it checks its cancel flag and reports progress. */
struct loop_client {
	struct loop_client *next;
	struct loop_client *prev;
	void (*tick)(struct loop_client *c, uint64_t now_ms);
};

/* Starts the loop thread.  maxconn caps its connections; share may be NULL.
 * Returns 0 or -1. */
int loop_new(struct loop **out, unsigned index, unsigned maxconn);
/* Stops (after the posted messages ran) and joins the thread.  Every
 * transfer and client must be gone. */
void loop_free(struct loop *l);

void loop_post(struct loop *l, struct loop_msg *m);
void loop_wakeup(struct loop *l);

/* Loop thread only. */
int loop_add(struct loop *l, struct loop_xfer *x);
/* Removes a running transfer; its done is not called. */
void loop_remove(struct loop *l, struct loop_xfer *x);
void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
void loop_client_add(struct loop *l, struct loop_client *c);
void loop_client_remove(struct loop *l, struct loop_client *c);
/* Loop thread: the transfers running on the loop now (all its uploads'). */
unsigned loop_nxfers(const struct loop *l);
/* Loop thread: the loop's table from local TCP port to socket, for
 * request.c to find the socket of a reused connection (libcurl tells a
 * request its local port, not its socket).  65536 entries, each the
 * socket + 1; 0 unknown. */
int *loop_port_fds(struct loop *l);
/* The loop this thread runs, or NULL when not on a loop thread. */
struct loop *loop_current(void);

#endif
