/*
 * hashpool.h - the pinned workers that read and hash parts (private).
 *
 * Owns: one worker thread per core (topo.h), each bound to its core and
 * named "hoist-hash-N", each with one reused chunk buffer; a FIFO of jobs
 * shared by all uploads of the engine.
 *
 * A job reads [off, off+len) of a source in HASHPOOL_CHUNK pieces and
 * computes MD5, CRC64 and S3's CRC32C or CRC64NVME (those asked for) in the
 * same pass over each piece while it is in cache.  When done it calls job->done on the worker thread; the callback
 * posts the result to the owning event loop and must not block.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: hashpool_submit from any thread.  A job is owned by the pool
 * from submit until its done callback returns.
 */
#ifndef HOIST_HASHPOOL_H
#define HOIST_HASHPOOL_H

#include <stdatomic.h>
#include <stdint.h>

struct source;
struct topo;
struct hashpool;

/* 256 KiB: fits in the L2 of every x86 core of the last decade next to
 * MD5's state, so each byte crosses the memory bus once.  Smaller chunks
 * cost more syscalls per byte; larger ones spill out of L2. */
#define HASHPOOL_CHUNK (256 * 1024)

#define HASH_SKIPPED 2  /* job->result: *stop was set, nothing computed */

struct hash_job {
	struct hash_job *next;       /* the pool's queue link */
	struct source *src;
	uint64_t off;
	uint64_t len;
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

/* Starts nthreads workers (0: one per core), bound when topo is non-NULL.
 * Returns 0 or -1. */
int hashpool_new(struct hashpool **out, struct topo *topo, unsigned nthreads);
/* Finishes queued jobs, joins the workers, frees. */
void hashpool_free(struct hashpool *p);
void hashpool_submit(struct hashpool *p, struct hash_job *job);
unsigned hashpool_threads(const struct hashpool *p);

#endif
