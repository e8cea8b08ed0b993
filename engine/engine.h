/*
 * engine.h - the engine object (private to the API layer).
 *
 * Layer: API.  Only API files (engine.c, upload_start.c, ops.c) include
 * this header: the layers below get what they need handed down (ctx.h).
 *
 * Owns: struct hoist_engine: the configuration resolved from
 * hoist_engine_options (defaults applied, strings copied) and the context
 * built on it, the threads (hash pool, event loops), the curl share
 * handle, and the list of live transfers.
 *
 * Threading: `conf` and `ctx` are immutable after hoist_engine_new (but
 * the clock offset inside ctx, an atomic) and read from every thread;
 * `next_loop` is an atomic; the pool's fields are guarded by `pool_lock`;
 * `synced` by `lock`.
 */
#ifndef HOIST_ENGINE_H
#define HOIST_ENGINE_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "budget.h"
#include "ctx.h"
#include "hoist.h"
#include "live.h"
#include "md5mb.h"

struct topo;
struct hashpool;
struct loop;

struct hoist_engine {
	/* Immutable after hoist_engine_new. */
	struct conf conf;
	struct ctx ctx;            /* ctx.conf points at conf */
	struct budget budget;      /* data buffers of every transfer */
	int budget_ready;
	struct loop **loops;
	unsigned nloops;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	/* Round-robin choice of the loop that owns a new transfer. */
	_Atomic unsigned next_loop;

	/* What the pool needs to start later, as hoist_engine_new found it:
	 * the creating thread's CPUs, the MD5 path, the pinning mode. */
	cpu_set_t *mask;
	size_t masksize;
	enum md5mb_impl md5;
	enum hoist_pinning pinning;

	/* Guarded by pool_lock: the topology and hash pool, NULL until the
	 * first upload that hashes ahead (engine_pool); hash_threads starts
	 * as the option (0: one per core) and is the count once started; a
	 * failed start is kept, with its line. */
	pthread_mutex_t pool_lock;
	int pool_lock_ready;
	struct topo *topo;
	struct hashpool *pool;
	unsigned hash_threads;
	hoist_status pool_failed;
	char pool_why[256];

	/* Synced: guarded by lock. */
	pthread_mutex_t lock;
	struct {
		struct live *live;  /* live transfers, for hoist_engine_free */
	} synced;
};

/* Transfers register with their engine so that hoist_engine_free can
 * cancel and wait for them.  remove is a no-op once the engine let go. */
void engine_live_add(struct hoist_engine *e, struct live *l);
void engine_live_remove(struct hoist_engine *e, struct live *l);
/* The engine's hash pool, started by the first call (topology, workers);
 * NULL with err set when it cannot start.  Any thread. */
struct hashpool *engine_pool(struct hoist_engine *e, char *err, size_t errlen);
/* The loop a new transfer lives on (round robin). */
struct loop *engine_next_loop(struct hoist_engine *e);

#endif
