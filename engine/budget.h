/*
 * budget.h - the engine's memory budget for data buffers (private).
 *
 * Layer: runtime.
 *
 * Owns: one count of bytes that every data buffer the engine allocates is
 * reserved against (the part buffers of streams, the reorder buffer of a
 * download to an ordered sink), shared by all transfers of an engine, so
 * that a backup agent running eight streams on one engine stays inside one
 * number (hoist_engine_options.memory_limit).  A transfer may also cap its
 * own share (struct budget_share).  Buffers that a seekable source or a
 * file sink never needs (they stream from and to the file) are not
 * counted: this is the memory that grows with concurrency x part size.
 *
 * A reservation either succeeds whole or waits: budget_acquire blocks the
 * calling thread (a stream's reader thread, a push writer: never an event
 * loop) until the bytes are free or its cancel flag is set;
 * budget_try_acquire never blocks (for loop threads).
 *
 * Threading: every function is thread-safe (one mutex; waits are short
 * and never on an event loop).
 */
#ifndef HOIST_BUDGET_H
#define HOIST_BUDGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct budget {
	/* Immutable after budget_init. */
	uint64_t limit;
	/* Synced: guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		uint64_t used;
		uint64_t peak;
	} synced;
};

/* One transfer's part of the budget: at most cap bytes (0: no cap of its
 * own), used counted here too.  Owned by the transfer. */
struct budget_share {
	struct budget *b;
	uint64_t cap;
	_Atomic uint64_t used;
};

void budget_init(struct budget *b, uint64_t limit);
void budget_cleanup(struct budget *b);

void budget_share_init(struct budget_share *s, struct budget *b, uint64_t cap);
/* The most a share can ever hold: min(cap, limit). */
uint64_t budget_share_max(const struct budget_share *s);

/* Reserves n bytes for s, waiting while the budget (or s's cap) is full.
 * Returns 0; 1 when *cancel became non-zero while waiting (nothing
 * reserved); -1 when n can never fit (above budget_share_max). */
int budget_acquire(struct budget_share *s, uint64_t n, const atomic_int *cancel);
/* The same without waiting: 0, or -1 when it does not fit now. */
int budget_try_acquire(struct budget_share *s, uint64_t n);
/* Gives back n bytes reserved by s, and wakes the waiters. */
void budget_release(struct budget_share *s, uint64_t n);
/* The most the budget held at once (for tests and the result). */
uint64_t budget_peak(struct budget *b);

#endif
