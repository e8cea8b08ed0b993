/*
 * part.h - the part pipeline: the parts of one object on their way
 * between the local end and the store (private).
 *
 * Layer: transfer.
 *
 * Owns: the part table of one transfer and the windows over it:
 *  - at most `cc->limit` parts on the wire (the adaptive limit of
 *    concurrency.c, never above jobs; the pipe's own controller, or one
 *    shared with other pipes of the loop so that they are bounded as a
 *    whole);
 *  - hashing (the pre-pass a transfer needs when a request header carries
 *    a digest, or to check a part an earlier run left on the server) a
 *    bounded window ahead of the first part not yet sent, so its bytes are
 *    still in the page cache when the request streams them;
 *  - retries with backoff (retries go first, first sends in part order) and
 *    stalls (a part idle on the wire is cancelled and re-sent).
 * What moves a part (the request), how an answer is checked, and what a
 * finished part means (a journal line, a callback) belong to the owner,
 * through struct part_pipe_ops: the pipeline knows no UploadPart, no
 * journal and no result.  Its owner today is the upload state machine
 * (upload.c); a download drives the same pipeline with ranged GETs.
 *
 * Part life: planned -> hashing -> ready -> sending -> done, with
 * sending -> waiting (backoff) -> ready on a retryable failure.
 *
 * Threading: everything on the owning loop's thread, except the hash
 * workers, which write only their part's hash_job results and post a
 * message (the loop queue's mutex orders the two).
 */
#ifndef HOIST_PART_H
#define HOIST_PART_H

#include <stdatomic.h>
#include <stdint.h>

#include "concurrency.h"
#include "ctx.h"
#include "hashpool.h"
#include "loop.h"
#include "request.h"
#include "status.h"

struct plan;
struct source;
struct part_pipe;

enum part_state {
	PART_PLANNED = 0,  /* waiting for its turn to be hashed */
	PART_HASHING,      /* on the hash pool */
	PART_READY,        /* hashed (or no pre-pass needed), not on the wire */
	PART_SENDING,      /* a request is in flight */
	PART_WAITING,      /* backing off before a retry */
	PART_DONE
};

/* The checksums a part can carry (hash_job's want_* bits, as a set). */
enum {
	PART_SUM_MD5 = 1,
	PART_SUM_CRC = 2
};

struct part {
	struct part_pipe *pipe;
	unsigned number;           /* 1-based */
	uint64_t off;
	uint64_t len;
	enum part_state state;
	unsigned attempts;
	int token_retried;         /* the one resend after an expired token is spent */
	int creds_waiting;         /* the resend waits for the refresh of creds_gen */
	uint64_t creds_gen;
	unsigned hash_extra;       /* PART_SUM_* to hash beyond the pipe's own */
	int have_md5;
	int have_crc;
	uint8_t md5[16];
	uint64_t crc;
	uint64_t s3sum;            /* CRC32C or CRC64NVME (the pipe's s3sum) */
	int have_s3sum;
	char *etag;                /* the server's, once done (the owner's) */
	int resumed;               /* kept from an earlier run */
	/* Resume: what ListParts said about this part number (verified by
	 * hashing before the part is trusted; the owner's). */
	char *listed_etag;
	uint64_t listed_crc;
	int listed;
	int listed_crc_valid;
	double seconds;            /* latency of the successful attempt */
	unsigned cc_epoch;         /* the limit's epoch when the attempt started */
	struct request *req;
	struct part *next_retry;
	struct hash_job hj;
	struct loop_msg hashed_msg;
	struct loop_timer timer;
};

/* How the pipeline tells its owner what happened, and asks what only the
 * owner knows.  Every function runs on the loop thread; owner is
 * part_pipe_init's. */
struct part_pipe_ops {
	/* The request that moves p (method, URL, headers, body source).  The
	 * pipeline sets its done callback, counters and buffer size and
	 * starts it.  NULL: out of memory. */
	struct request *(*build)(void *owner, struct part *p);
	/* A 2xx answer for p.  0 when it checks (p's etag/checksums taken
	 * from r as the owner needs them), or -1 with f->status and detail
	 * filled: a mismatch, retried like a transport error. */
	int (*verify)(void *owner, struct part *p, const struct request *r,
		      struct failure *f, char *detail, size_t dlen);
	/* p is done and verified (r its request; NULL when done without one,
	 * see part_pipe_mark_done). */
	void (*done)(void *owner, struct part *p, const struct request *r);
	/* p was hashed (its sums are set) and is ready; the owner may mark it
	 * done (resume: the server already holds these bytes), or send it
	 * itself when the pipeline is not running (a single PutObject). */
	void (*hashed)(void *owner, struct part *p);
	/* Every part is done and nothing is in flight. */
	void (*complete)(void *owner);
	/* The transfer cannot go on: a part failed for good, a read failed,
	 * memory ran out.  The owner stops the pipeline (part_pipe_stop). */
	void (*failed)(void *owner, const struct failure *f);
	/* After part_pipe_stop: something outstanding came back; the owner
	 * checks part_pipe_busy to know whether everything has settled. */
	void (*settled)(void *owner);
};

/* What to hash ahead and which checksums the pipe's requests carry. */
struct part_pipe_conf {
	const char *op;            /* static: the parts' operation, "UploadPart" */
	int prepass;               /* hash every part before sending it */
	int want_md5;
	int want_crc;
	enum hoist_s3_checksum s3sum;
	unsigned jobs;             /* the most parts in flight */
	int fixed_concurrency;
	unsigned hash_window;      /* parts hashed ahead beyond the send limit */
	uint64_t part_size;        /* a typical part (the pool's batching) */
};

struct part_pipe {
	/* ---- immutable after part_pipe_init */
	struct ctx *ctx;
	struct loop *loop;
	struct hashpool *pool;
	struct source *src;         /* what the pre-pass reads; NULL: none */
	const struct part_pipe_ops *ops;
	void *owner;
	struct part_pipe_conf conf;
	unsigned hash_batch;        /* parts queued for hashing at a time */
	struct req_stats *stats;    /* the owner's counters, added to here */
	const atomic_int *cancel;   /* the owner's cancel flag: no retry then */

	/* ---- atomic: hash workers skip when set */
	atomic_int stop;

	/* ---- loop thread */
	struct part *parts;
	unsigned nparts;
	unsigned next_hash;
	unsigned next_send;
	unsigned hashing;
	unsigned inflight;
	unsigned done_parts;
	struct part *retry_head;
	struct part *retry_tail;
	unsigned capacity;          /* parts the table holds (nparts <= it) */
	int open;                   /* more parts may be appended (a stream) */
	int running;                /* sending allowed (the owner said so) */
	int stopped;                /* part_pipe_stop ran */
	struct concurrency own_cc;  /* parts allowed in flight, unless shared */
	struct concurrency *cc;     /* &own_cc, or a controller shared by the
	                               pipes of one loop (part_pipe_share_concurrency) */
	unsigned peak_limit;        /* the highest limit seen (logs) */
	uint64_t wire_bytes;        /* body bytes handed to curl, every attempt */
	uint64_t acked;             /* bytes of finished parts */
	double part_ewma_ms;        /* smoothed latency of finished parts */
	uint64_t last_stall_check_ms;
	uint64_t rng;
};

/* nparts parts of the plan's sizes (offset and length of each from
 * plan.h: part 0 is the whole object when plan->nparts is 0).  Returns 0,
 * or -1 on ENOMEM.  Nothing runs until part_pipe_schedule. */
int part_pipe_init(struct part_pipe *pp, const struct plan *plan,
		   const struct part_pipe_conf *conf, struct ctx *ctx, struct loop *loop,
		   struct hashpool *pool, struct source *src, struct req_stats *stats,
		   const atomic_int *cancel, const struct part_pipe_ops *ops, void *owner);
void part_pipe_free(struct part_pipe *pp);
/* A pipeline for a stream: no parts yet, room for capacity of them,
 * appended as the stream produces them (part_pipe_append) and closed at
 * its end (part_pipe_close); it completes only once closed.  The table is
 * allocated whole, so a part never moves (~250 bytes each, untouched
 * pages of it are never resident).  0 or -1 (ENOMEM). */
int part_pipe_init_open(struct part_pipe *pp, unsigned capacity,
			const struct part_pipe_conf *conf, struct ctx *ctx, struct loop *loop,
			struct hashpool *pool, struct source *src, struct req_stats *stats,
			const atomic_int *cancel, const struct part_pipe_ops *ops, void *owner);
/* Appends part number nparts + 1 at [off, off + len).  NULL when the
 * table is full or the pipe closed. */
struct part *part_pipe_append(struct part_pipe *pp, uint64_t off, uint64_t len);
/* No more parts: the pipe completes when the ones it has are done. */
void part_pipe_close(struct part_pipe *pp);

/* Starts hashing (and sending, once running) as far as the windows allow.
 * Call after anything that may open a window. */
void part_pipe_schedule(struct part_pipe *pp);
/* Allows sending (after Initiate / ListParts) and schedules. */
void part_pipe_run(struct part_pipe *pp);
/* Stops every request and retry timer; hash jobs in flight come back as
 * skipped (ops->settled then). */
void part_pipe_stop(struct part_pipe *pp);
/* 1 while a hash job or a request of this pipe is outstanding. */
int part_pipe_busy(const struct part_pipe *pp);
/* Once per loop tick: stall checks and the adaptive limit. */
void part_pipe_tick(struct part_pipe *pp, uint64_t now_ms);
/* Draws on cc (a controller of the same loop, outliving the pipe) instead
 * of the pipe's own: several transfers bounded as a whole.  Before
 * part_pipe_run. */
void part_pipe_share_concurrency(struct part_pipe *pp, struct concurrency *cc);
/* r, a bodiless request of the transfer (Initiate, ListParts), came back:
 * from its request sent (after any connect and TLS handshake, which a
 * reused connection does not pay) to its first answer byte is a round trip
 * plus the server's time, which paces the controller's first steps. */
void part_pipe_round_trip(struct part_pipe *pp, const struct request *r);
/* Marks p done without a request of ours (resume: the server holds it). */
void part_pipe_mark_done(struct part_pipe *pp, struct part *p);
/* p is another process's (a share's parts are a slice of the plan): never
 * hashed or sent, not counted as bytes moved. */
void part_pipe_exclude(struct part_pipe *pp, struct part *p);
/* Takes p's request (PART_SENDING) off the wire without counting a
 * failure or an attempt, and leaves p waiting, with no timer, until
 * part_pipe_wake: for an owner whose request waits on something only
 * another part can release (a download's ordered sink waiting for its
 * head range).  What p's request received is the owner's to keep. */
void part_pipe_park(struct part_pipe *pp, struct part *p);
/* A waiting part (backing off, or parked) goes to the front of the
 * sends now (retries go first), and sending is scheduled. */
void part_pipe_wake(struct part_pipe *pp, struct part *p);
/* Bytes sent so far by parts in flight (progress). */
uint64_t part_pipe_inflight_bytes(const struct part_pipe *pp);

#endif
