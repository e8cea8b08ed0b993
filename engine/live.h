/*
 * live.h - how a transfer is on its engine's list of live transfers
 * (private).
 *
 * Layer: base.
 *
 * Owns: the intrusive node a transfer embeds so that the engine (the API
 * layer, engine.c, which owns the list) can cancel and wait for it when it
 * is freed, without knowing what kind of transfer it is: the transfer
 * fills in how to cancel and wait for itself.
 *
 * Threading: the links are guarded by the engine's lock; `detached` is an
 * atomic set by the engine once it let go of the node.
 */
#ifndef HOIST_LIVE_H
#define HOIST_LIVE_H

#include <stdatomic.h>

struct live {
	struct live *next;
	struct live *prev;
	void (*cancel)(struct live *l); /* async-signal-safe */
	void (*wait)(struct live *l);   /* blocks until the transfer finished */
	atomic_int detached;            /* the engine is gone: do not unlink */
};

#endif
