/*
 * download.h - one download: the state machine and what it owns (private).
 *
 * Layer: transfer.
 *
 * Owns: struct hoist_download: what the caller asked for (struct
 * dl_spec), the object as HEAD described it, the ranges (the part
 * pipeline of part.h driven with ranged GETs: no hashing pre-pass, each
 * range's CRC64 computed as its bytes arrive), the sink its bytes go to
 * (sink.h), and the result being built.  The files of this concern:
 * download.c (the state machine and the pipeline's owner), download_req.c
 * (the HEAD and GET requests and the body sink that checks each answer
 * before it takes a byte); download_start.c is the public API over them.
 *
 * Threading, by section of the struct (as upload.h):
 *  - "immutable": written by the start call before the download is
 *    posted to its loop;
 *  - "atomic": the cancel flag (any thread, signal handlers too), the
 *    done flag, the sink message's posted flag;
 *  - "synced": guarded by `lock`;
 *  - "loop": everything else, only on the owning loop's thread.
 */
#ifndef HOIST_DOWNLOAD_H
#define HOIST_DOWNLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "budget.h"
#include "checksum.h"
#include "ctx.h"
#include "hoist.h"
#include "live.h"
#include "loop.h"
#include "part.h"
#include "plan.h"
#include "request.h"
#include "sink.h"
#include "status.h"

enum dl_state {
	DL_NEW = 0,
	DL_HEAD,
	DL_PROBE,                  /* HEAD ?partNumber=1 (download_parts.c) */
	DL_RANGES,
	DL_DONE
};

struct dl_spec {
	char *bucket;
	char *key;
	char *version_id;          /* pinned by the caller, NULL: current */
	uint64_t part_size;        /* requested; 0: default */
	unsigned jobs;
	int fixed_concurrency;
	int crc;                   /* compute and check CRC64 */
	uint64_t expected_size;
	int expected_size_set;
	uint64_t expected_crc64;
	int expected_crc64_set;
	int require_verified;
	int no_resume;
	int restart;
	hoist_progress_fn progress;
	hoist_part_fn on_part;
	hoist_done_fn on_done;
	void *userdata;
	/* What a listing said (options version 3): see from_listing. */
	int known_set;
	uint64_t known_size;
	char *known_etag;
};

/* What HEAD said about the object. */
struct dl_object {
	uint64_t size;
	char *etag;                /* as sent, quotes included */
	char *version_id;          /* the version every GET asks for */
	char *last_modified;
	uint64_t crc64;
	int crc64_valid;
	int sse;                   /* SSE-KMS or SSE-C: the ETag is no MD5 */
	enum hoist_s3_checksum s3sum_kind; /* a full-object x-amz-checksum-* */
	char *s3sum_text;          /* its header value, base64 */
	int md5_check;             /* one range, and the ETag is its MD5 */
	unsigned mp_parts;         /* N of a multipart ETag "<hex>-N" (S3), else 0 */
	int by_part;               /* fetched and checked by parts (download_parts.c) */
	/* No HEAD: size and ETag are the listing's, and the rest (CRC64,
	 * version id, encryption, S3 checksums) is taken from the first GET
	 * answer's headers before its first byte (adopted). */
	int from_listing;
	int adopted;
};

#define DL_BAD_CHANGED 2

/* One range's progress over all its attempts (index = part number - 1). */
struct dl_range {
	uint64_t got;              /* bytes taken by the sink, in order */
	uint64_t crc;              /* CRC64 of those bytes */
	uint64_t s3sum;            /* their CRC64NVME or CRC32C (obj.s3sum_kind) */
	uint64_t skip;             /* bytes of this answer to drop first */
	struct sink_chunk *fill;   /* the chunk being filled */
	const struct request *checked; /* the attempt whose answer was checked */
	int bad;                   /* that answer is wrong: its bytes are dropped;
	                              DL_BAD_CHANGED: of another object */
	char bad_detail[192];
	int paused;                /* its request returned CURL_WRITEFUNC_PAUSE */
	int parked;                /* taken off the wire for the head (ordered) */
	struct request *paused_req;
	struct dl_range *next_paused;
	struct md5_ctx md5;        /* obj.by_part: this part's bytes so far */
	int md5_on;
	int asked_part;            /* this attempt asked for ?partNumber */
	uint8_t digest[16];        /* obj.by_part: the part's MD5, once all in */
	int digest_ok;             /* ... taken here, or from the journal */
};

struct hoist_download {
	/* ---- immutable after start */
	void *engine;              /* the API layer's (struct hoist_engine) */
	struct ctx *ctx;
	struct loop *loop;
	struct dl_spec spec;
	struct sink *sink;
	enum sink_kind sink_kind;
	struct budget_share share;
	size_t chunk_size;
	unsigned max_chunks;       /* file sinks */
	long recv_buffer;
	int direct;                /* a direct sink: the loop writes (sink_write) */
	char *target;              /* the path, for messages; NULL: fd or writer */

	/* ---- atomic */
	atomic_int cancel;
	atomic_int done_flag;
	atomic_int sink_posted;

	/* ---- synced */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		int finished;
		int barrier;
	} synced;
	struct live live;

	/* ---- loop thread */
	struct loop_msg start_msg;
	struct loop_msg fin_msg;
	struct loop_msg sink_msg;
	struct loop_msg barrier_msg;
	struct loop_client client;
	enum dl_state state;
	struct dl_object obj;
	struct plan plan;
	struct part_pipe pipe;
	int pipe_ready;
	int journal_started;       /* the journal describes this object now */
	struct dl_range *ranges;
	struct md5_ctx md5;        /* obj.md5_check: the bytes of the one range */
	unsigned head;             /* ordered sinks: first range not wholly taken */
	struct dl_range *paused;   /* ranges waiting for a chunk */
	struct dl_range *parked;   /* ordered: ranges parked so the head can go */
	struct request *ctl;       /* the HEAD in flight */
	unsigned ctl_attempts;
	/* An expired session token: one resend of the HEAD once the refresh
	 * of ctl_creds_gen is over (request_token_refresh, issue 13). */
	int ctl_token_retried;
	int ctl_creds_waiting;
	uint64_t ctl_creds_gen;
	struct loop_timer ctl_timer;
	uint64_t rng;
	int failing;
	struct req_stats stats;
	uint64_t reported;
	uint64_t last_progress_ms;
	double t0;
	struct hoist_result res;

	/* ---- owner's thread, after the loop finished */
	int committed;
};

/* ----------------------------------------------------------- download.c */

/* A new download (not started): the API fills spec and the sink, then
 * calls download_post.  NULL on ENOMEM. */
struct hoist_download *download_new(struct ctx *ctx);
void download_post(struct hoist_download *d, struct loop *loop);
void download_cancel(struct hoist_download *d);
void download_wait_finished(struct hoist_download *d);
/* Owner's thread, once finished: commit (or drop) the sink's bytes and
 * settle the result.  Idempotent. */
void download_settle(struct hoist_download *d);
/* Frees a finished (or never posted) download. */
void download_destroy(struct hoist_download *d);
/* The writer thread's news (sink notify): posts one loop message. */
void download_sink_notify(void *owner);
/* Loop thread, an object known from its listing (obj.from_listing): the
 * first answer's headers (read through get) say what HEAD would have:
 * CRC64, version id, encryption, S3 checksums; then the MD5 check is
 * decided.  0, or -1 with detail when the answer is of another object
 * than the one listed (its ETag differs), or -2 on ENOMEM. */
int download_adopt_answer(struct hoist_download *d, request_header_fn get, void *ud,
			  char *detail, size_t dlen);

/* ------------------------------------------------------- download_req.c */

/* The HEAD of the object.  NULL on ENOMEM. */
struct request *download_req_head(struct hoist_download *d);
/* The GET of range p (from its first byte not yet taken), with the body
 * sink.  NULL on ENOMEM. */
struct request *download_req_range(struct hoist_download *d, struct part *p);
/* After a range's GET answered 2xx: 0 when the answer is whole and as
 * asked, else -1 with detail (retried; -2: the answer is of another
 * object than the listing described, HOIST_E_SOURCE_CHANGED if it stays
 * so). */
int download_req_check(struct hoist_download *d, struct part *p, const struct request *r,
		       char *detail, size_t dlen);
/* Loop thread: a range's request may take bytes again. */
void download_resume_paused(struct hoist_download *d);

#endif
