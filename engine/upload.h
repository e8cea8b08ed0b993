/*
 * upload.h - the upload object shared by upload.c and part.c (private).
 *
 * Owns: struct hoist_upload: the copied options, the source and plan, the
 * part table, the state machine's state and the result being built.
 *
 * Threading, by section of the struct:
 *  - "immutable": written by hoist_upload_*_start before the upload is
 *    posted to its loop, read-only afterwards;
 *  - "atomic": cancel / stop flags, set from any thread (cancel from a
 *    signal handler);
 *  - "synced": guarded by `lock` (the finished flag hoist_upload_wait
 *    sleeps on);
 *  - "loop": everything else, touched only on the owning loop's thread
 *    once the start message ran.  Hash workers write only their own part's
 *    hash_job results, which the loop reads after the "hashed" message
 *    (the loop queue's mutex orders the two).
 */
#ifndef HOIST_UPLOAD_H
#define HOIST_UPLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "buf.h"
#include "concurrency.h"
#include "hashpool.h"
#include "hoist.h"
#include "journal.h"
#include "loop.h"
#include "plan.h"
#include "status.h"

struct request;
struct source;
struct journal;

enum part_state {
	PART_PLANNED = 0,  /* waiting for its turn to be hashed */
	PART_HASHING,      /* on the hash pool */
	PART_READY,        /* hashed (or no pre-pass needed), not on the wire */
	PART_SENDING,      /* an UploadPart is in flight */
	PART_WAITING,      /* backing off before a retry */
	PART_DONE
};

struct part {
	struct hoist_upload *u;
	unsigned number;           /* 1-based */
	uint64_t off;
	uint64_t len;
	enum part_state state;
	unsigned attempts;
	int have_md5;
	int have_crc;
	uint8_t md5[16];
	uint64_t crc;
	uint64_t s3sum;            /* CRC32C or CRC64NVME (u->s3sum) */
	int have_s3sum;
	char *etag;                /* the server's, once done */
	int resumed;               /* kept from an earlier run */
	/* Resume: what ListParts said about this part number (verified by
	 * hashing before the part is trusted). */
	char *listed_etag;
	uint64_t listed_crc;
	int listed;
	int listed_crc_valid;
	double seconds;            /* latency of the successful attempt */
	struct request *req;
	struct part *next_retry;
	struct hash_job hj;
	struct loop_msg hashed_msg;
	struct loop_timer timer;
};

enum upload_state {
	UP_NEW = 0,
	UP_PUT,          /* single PutObject */
	UP_INITIATE,
	UP_LIST,         /* resume: ListParts reconciliation */
	UP_PARTS,
	UP_COMPLETE,
	UP_HEAD,         /* verify the object when a response had no CRC */
	UP_ABORT,
	UP_DONE
};

struct hoist_upload {
	/* ---- immutable after start */
	struct hoist_engine *engine;
	struct loop *loop;
	struct source *src;
	struct plan plan;
	char *bucket;
	char *key;
	char *content_type;
	char *callback_b64;        /* x-oss-callback value, NULL: none */
	char *callback_var_b64;
	char *checkpoint_dir;
	char *path;                /* absolute path, NULL for an fd upload */
	enum hoist_checksum checksum;
	int want_md5;
	int want_crc;
	enum hoist_s3_checksum s3sum; /* S3 x-amz-checksum-* per part, or NONE */
	int prepass;               /* hash parts before sending (a header needs
	                              the digest: Content-MD5, x-amz-checksum-*) */
	int crc_inline;            /* CRC64 in the read callback instead */
	unsigned jobs;             /* the most parts in flight (cc.limit is now) */
	int fixed_concurrency;     /* HOIST_CONCURRENCY_FIXED */
	long upload_buffer;        /* PutObject's CURLOPT_UPLOAD_BUFFERSIZE */
	int complete_all;
	int forbid_overwrite;
	int no_resume;
	int restart;
	hoist_progress_fn progress;
	hoist_part_fn on_part;
	void *userdata;
	unsigned hash_window;      /* parts hashed ahead beyond jobs */

	/* ---- atomic */
	atomic_int cancel;         /* hoist_upload_cancel: async-signal-safe */
	atomic_int stop;           /* tells hash workers to skip */

	/* ---- synced */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		int finished;
		int freeing;
	} synced;
	/* Engine list links: guarded by the engine's lock. */
	struct hoist_upload *eng_next;
	struct hoist_upload *eng_prev;
	atomic_int detached;       /* the engine is gone: do not unlink */
	atomic_int done_flag;      /* finished: cancel needs no wakeup */

	/* ---- loop thread */
	struct loop_msg start_msg;
	struct loop_msg fin_msg;
	struct loop_client client;
	enum upload_state state;
	char *upload_id;
	struct part *parts;
	unsigned nparts;           /* >= 1; 1 with plan.nparts == 0 for PutObject */
	unsigned next_hash;
	unsigned next_send;
	unsigned hashing;
	unsigned inflight;
	unsigned done_parts;
	struct part *retry_head;
	struct part *retry_tail;
	struct request *ctl;       /* the one control request in flight */
	unsigned ctl_attempts;
	struct loop_timer ctl_timer;
	int complete_retried;      /* a Complete was re-sent: NoSuchUpload may mean done */
	int failing;
	int keep_for_resume;
	int head_reason_crc;       /* HEAD because the CRC header was missing */
	int head_reason_etag;      /* HEAD because the ETag was empty */
	int head_after_mismatch;   /* HEAD because Complete's CRC64 differed */
	char expected_etag[48];
	int etag_matched;          /* the object's ETag matched our MD5(s) */
	int etag_unchecked;        /* its ETag had no "-N": nothing to compare */
	unsigned unverified_parts; /* parts no response checksum or ETag confirmed */
	uint64_t object_crc;       /* combined CRC64 of the parts */
	int object_crc_valid;
	uint64_t rng;
	double part_ewma_ms;       /* smoothed latency of finished parts */
	struct concurrency cc;     /* parts allowed in flight (concurrency.h) */
	uint64_t wire_bytes;       /* body bytes handed to curl, every attempt */
	uint64_t last_stall_check_ms;
	uint64_t acked;            /* bytes of finished parts */
	uint64_t reported;         /* bytes reported to progress so far */
	uint64_t last_progress_ms;
	uint64_t list_marker;      /* ListParts paging */
	struct hoist_part_list *listed;
	struct journal *journal;
	char *journal_path;        /* NULL: no journal for this upload */
	struct journal_rec resume; /* the journal found at start (resume) */
	uint64_t last_flush_ms;
	struct buf complete_body;
	int completed;             /* the object exists (Put/Complete succeeded) */
	int callback_failed;       /* 203: stored, status HOIST_E_CALLBACK */
	char scratch[128];         /* a request id outliving its document */
	double t0;
	int ttfb_set;
	struct hoist_result res;   /* the result being built */
};

/* upload.c: the control-request machinery part.c relies on. */
void upload_fail(struct hoist_upload *u, const struct failure *f);
void upload_fail_status(struct hoist_upload *u, hoist_status st, const char *op,
			unsigned part, const char *detail);
void upload_maybe_finish(struct hoist_upload *u);
void upload_begin_complete(struct hoist_upload *u);
void upload_note_request(struct hoist_upload *u, const struct request *r);
/* Delay for the next attempt after r failed (backoff, server hints, clock
 * correction for RequestTimeTooSkewed).  */
uint64_t upload_retry_delay(struct hoist_upload *u, const struct request *r,
			    unsigned attempt);
void upload_call_progress(struct hoist_upload *u, int final);
/* The single part of a PutObject is hashed: send the PUT. */
void upload_put_ready(struct hoist_upload *u);

/* CURLOPT_UPLOAD_BUFFERSIZE for a request when `inflight` requests share
 * the memory budget (upload_start.c). */
long upload_buffer_size(unsigned inflight);

/* Lifecycle pieces upload_start.c uses. */
void upload_init(struct hoist_upload *u);      /* callbacks, rng, t0 */
void upload_wait_finished(struct hoist_upload *u);
void upload_destroy(struct hoist_upload *u);   /* frees a finished upload */

/* part.c */
int parts_init(struct hoist_upload *u);
void parts_free(struct hoist_upload *u);
/* Starts hashing and sending as far as the windows allow. */
void parts_schedule(struct hoist_upload *u);
/* Stops every part request and retry timer (on failure / cancel). */
void parts_stop(struct hoist_upload *u);
/* Re-sends parts that made no progress for much longer than a typical
 * part takes (tail latency: one stuck connection must not hold the whole
 * upload until the low-speed limit fires). */
void parts_check_stalls(struct hoist_upload *u, uint64_t now_ms);
/* Bytes sent so far by parts in flight (for progress). */
uint64_t parts_inflight_bytes(struct hoist_upload *u);
/* The combined CRC64 and expected multipart ETag from finished parts. */
void parts_combine(struct hoist_upload *u);
/* Builds the Complete body into b.  0 or -1. */
int parts_complete_xml(struct hoist_upload *u, struct buf *b);
/* The object's S3 checksum the parts predict: the full-object CRC
 * (combined) and S3's composite form ("<crc of the part CRCs>-N"), each
 * base64 as in the Complete body.  0, or -1 when a part lacks its CRC. */
int parts_s3sum_object(struct hoist_upload *u, char full[13], char composite[24]);
/* Adds one finished part's details (for the per-part callback). */
void parts_report(struct hoist_upload *u, struct part *p, const struct request *r);

/* engine list helpers (engine.c calls them under the engine's lock). */
void upload_list_insert_locked(struct hoist_upload **head, struct hoist_upload *u);
void upload_list_remove_locked(struct hoist_upload **head, struct hoist_upload *u);
void upload_list_detach_all_locked(struct hoist_upload **head);

#endif
