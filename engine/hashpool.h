/*
 * hashpool.h - the pinned workers that read and hash parts (private).
 *
 * Owns: one worker thread per core (topo.h), each bound to its core and
 * named "hoist-hash-N", each with its own chunk buffers; a FIFO of jobs
 * shared by all uploads of the engine; the MD5 path (md5mb.h) they use.
 *
 * A job hashes [off, off+len) of a source, or len bytes in memory, in
 * chunks, and computes MD5, CRC64 and S3's CRC32C or CRC64NVME (those
 * asked for) in the same pass over each chunk while it is in cache.  With
 * a multi-buffer MD5 path a worker takes up to md5mb_lanes() queued jobs
 * at once and advances all of them by one chunk per round, taking more
 * from the queue into the lanes that finish; it never waits for jobs to
 * arrive, it groups what is queued.  Submitters that want full lanes queue
 * parts in batches (hashpool_batch, hashpool_submit_list).  When done it
 * calls job->done on the worker thread; the callback posts the result to
 * the owning event loop and must not block.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: hashpool_submit* from any thread.  A job is owned by the pool
 * from submit until its done callback returns.
 */
#ifndef HOIST_HASHPOOL_H
#define HOIST_HASHPOOL_H

#include <stdatomic.h>
#include <stdint.h>

#include "md5mb.h"

struct source;
struct topo;
struct hashpool;

/* 256 KiB: the scalar path's chunk.  It fits in the L2 of every x86 core
 * of the last decade next to MD5's state, so each byte crosses the memory
 * bus once.  Smaller chunks cost more syscalls per byte; larger ones spill
 * out of L2. */
#define HASHPOOL_CHUNK (256 * 1024)

/* 64 KiB per lane on the multi-buffer path: 32 lanes make 2 MiB of buffers
 * per worker, which a round's MD5 pass reads back from L2/L3 right after
 * each chunk was read and CRCed.  Measured (1 GiB uploads, AVX-512): 64
 * and 128 KiB cost the same CPU per GiB, 256 KiB 7 % more; each doubling
 * adds 2 MiB of resident buffers per worker.  Smaller would cost a pread
 * per fewer bytes. */
#define HASHPOOL_LANE_CHUNK (64 * 1024)

#define HASH_SKIPPED 2  /* job->result: *stop was set, nothing computed */

struct hash_job {
	struct hash_job *next;       /* the pool's queue link */
	struct source *src;
	uint64_t off;
	uint64_t len;
	/* Non-NULL: the bytes are [mem, mem + len) in memory (a part buffer
	 * of a stream), hashed in place; src and off are not used.  BORROWED
	 * until done is called. */
	const void *mem;
	int want_md5;
	int want_crc;
	int want_crc32c;             /* S3 x-amz-checksum-crc32c */
	int want_crc64nvme;          /* S3 x-amz-checksum-crc64nvme */
	const atomic_int *stop;      /* non-zero: skip (the upload is stopping) */
	void (*done)(struct hash_job *job);
	/* Results, written by the worker before done. */
	uint8_t md5[16];
	uint64_t crc;
	uint32_t crc32c;
	uint64_t crc64nvme;
	int result;                  /* 0, SOURCE_SHORT, -1 (err), HASH_SKIPPED */
	int err;                     /* errno when result == -1 */
};

/* An object of at most this many bytes sent in one request is hashed on
 * its event loop (hash_job_run) rather than by the pool: a scalar MD5 of
 * 64 KiB takes ~0.1 ms, less than waking a worker and posting back, and an
 * engine that sends only such objects never starts the pool. */
#define HASH_INLINE_MAX (64 * 1024)

/* Runs j on the calling thread, scalar, then calls j->done there. */
void hash_job_run(struct hash_job *j);

/* Starts nthreads workers (0: one per core), bound when topo is non-NULL,
 * hashing MD5 with impl (which must be supported: md5mb_supported).
 * Returns 0 or -1. */
int hashpool_new(struct hashpool **out, struct topo *topo, unsigned nthreads,
		 enum md5mb_impl impl);
/* Finishes queued jobs, joins the workers, frees. */
void hashpool_free(struct hashpool *p);
void hashpool_submit(struct hashpool *p, struct hash_job *job);
/* Queues a NULL-terminated chain of jobs (linked by next) in one step, so
 * that a worker that wakes sees all of them and puts them in lanes
 * together. */
void hashpool_submit_list(struct hashpool *p, struct hash_job *first);
unsigned hashpool_threads(const struct hashpool *p);

/*
 * How to feed the pool parts of part_size bytes: queue them hashpool_batch
 * at a time (one worker's lanes, so a batch is hashed in one multi-buffer
 * pass), and keep at most hashpool_window parts hashed or queued ahead of
 * what is being sent (two batches: one being sent while the next is
 * hashed).  Both are bounded in bytes (HASHPOOL_AHEAD_BYTES in hashpool.c):
 * the parts ahead must still be in the page cache when they are sent.
 * With the scalar path the batch is 1 and the window 2 x threads.
 */
unsigned hashpool_batch(const struct hashpool *p, uint64_t part_size);
unsigned hashpool_window(const struct hashpool *p, uint64_t part_size);

/* What the workers did so far (for tests and diagnostics): jobs finished,
 * and for the lanes path the rounds run and the sum over rounds of the
 * lanes busy in them (lane_rounds / rounds = how full the passes were). */
struct hashpool_stats {
	uint64_t jobs;
	uint64_t rounds;
	uint64_t lane_rounds;
};
void hashpool_stats(const struct hashpool *p, struct hashpool_stats *out);

#endif
