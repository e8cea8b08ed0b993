/*
 * upload.h - one upload: the state machine and what it owns (private).
 *
 * Layer: transfer.
 *
 * Owns: struct hoist_upload: what the caller asked for (struct
 * upload_spec), the source and the plan, the part pipeline (part.h) it
 * drives, the control request in flight (Put, Initiate, ListParts,
 * Complete, Head, Abort), the object checks (verify.h), the resume state
 * (resume.h), and the result being built.  The files of this concern:
 * upload.c (the state machine), upload_req.c (the requests it sends),
 * resume.c (journal and reconciliation), stats.c (progress, per-part
 * reports, the result's figures); upload_start.c is the public API over
 * them.
 *
 * Threading, by section of the struct:
 *  - "immutable": written by the start call before the upload is posted
 *    to its loop, read-only afterwards;
 *  - "atomic": the cancel flag, set from any thread (from a signal
 *    handler too), and the done flag;
 *  - "synced": guarded by `lock` (the finished flag hoist_upload_wait
 *    sleeps on);
 *  - "loop": everything else, touched only on the owning loop's thread
 *    once the start message ran.
 */
#ifndef HOIST_UPLOAD_H
#define HOIST_UPLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "budget.h"
#include "buf.h"
#include "ctx.h"
#include "hoist.h"
#include "journal.h"
#include "live.h"
#include "loop.h"
#include "part.h"
#include "plan.h"
#include "request.h"
#include "status.h"
#include "verify.h"

struct hashpool;
struct source;

enum upload_state {
	UP_NEW = 0,
	UP_STREAM,       /* a stream's first part is not full yet: Put or multipart? */
	UP_PUT,          /* single PutObject */
	UP_INITIATE,
	UP_LIST,         /* resume: ListParts reconciliation */
	UP_PARTS,
	UP_COMPLETE,
	UP_HEAD,         /* verify the object when a response had no CRC */
	UP_ABORT,
	UP_DONE
};

/* What the caller asked for, validated and copied. */
struct upload_spec {
	char *bucket;
	char *key;
	char *content_type;
	char *callback_b64;        /* x-oss-callback value, NULL: none */
	char *callback_var_b64;
	/* Object options (metadata, storage class, encryption) as the
	 * headers PutObject and Initiate carry: nobj_headers name/value
	 * pairs, both OWNED. */
	struct sign_kv *obj_headers;
	size_t nobj_headers;
	enum hoist_checksum checksum;
	struct sums_spec sums;
	unsigned jobs;             /* the most parts in flight */
	int fixed_concurrency;     /* HOIST_CONCURRENCY_FIXED */
	int complete_all;
	int forbid_overwrite;
	int no_resume;
	int restart;
	hoist_progress_fn progress;
	hoist_part_fn on_part;
	hoist_done_fn on_done;
	void *userdata;
};

/* Resume and its journal (resume.c). */
struct resume_state {
	char *journal_path;        /* NULL: no journal for this upload */
	struct journal *journal;
	struct journal_rec found;  /* the journal found at start (resuming) */
	struct hoist_part_list *listed;
	uint64_t list_marker;      /* ListParts paging */
	uint64_t last_flush_ms;
};

struct hoist_upload {
	/* ---- immutable after start */
	void *engine;              /* the API layer's (struct hoist_engine) */
	struct ctx *ctx;
	struct loop *loop;
	struct hashpool *pool;     /* NULL: nothing is hashed ahead of sending */
	struct source *src;
	struct plan plan;
	struct upload_spec spec;
	long upload_buffer;        /* PutObject's CURLOPT_UPLOAD_BUFFERSIZE */
	/* A share of an upload driven elsewhere (hoist.h "Shares"): parts
	 * slice_first .. slice_first + slice_count - 1 only, no Complete. */
	int slice;
	unsigned slice_first, slice_count;
	uint64_t slice_bytes;
	/* A stream (NULL for a file): src is its source view. */
	struct stream *stream;
	int stream_push;           /* fed by hoist_upload_write */
	struct stream_plan splan;
	struct budget_share share;
	uint64_t expected_size;
	int closed;                /* hoist_upload_close was called (writer thread) */

	/* ---- atomic */
	atomic_int cancel;         /* hoist_upload_cancel: async-signal-safe */
	atomic_int stream_posted;  /* stream_msg is posted and has not run */
	atomic_int done_flag;      /* finished: cancel needs no wakeup */

	/* ---- synced */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		int finished;
		int barrier;       /* upload_destroy's message reached the loop */
	} synced;
	struct live live;          /* on the engine's list (engine.c) */

	/* ---- loop thread */
	struct loop_msg start_msg;
	struct loop_msg fin_msg;
	struct loop_msg stream_msg;
	struct loop_msg barrier_msg;
	struct loop_client client;
	enum upload_state state;
	char *upload_id;
	struct part_pipe pipe;
	struct request *ctl;       /* the one control request in flight */
	unsigned ctl_attempts;
	/* An expired session token: one resend per control step, once the
	 * refresh of ctl_creds_gen is over (request_token_refresh). */
	int ctl_token_retried;
	int ctl_creds_waiting;
	uint64_t ctl_creds_gen;
	struct loop_timer ctl_timer;
	uint64_t rng;              /* control requests' backoff */
	int complete_retried;      /* a Complete was re-sent: NoSuchUpload may mean done */
	int failing;
	int keep_for_resume;
	struct object_check oc;
	struct resume_state rs;
	struct req_stats stats;
	uint64_t reported;         /* bytes reported to progress so far */
	uint64_t last_progress_ms;
	struct buf complete_body;
	int completed;             /* the object exists (Put/Complete succeeded) */
	int callback_failed;       /* 203: stored, status HOIST_E_CALLBACK */
	char scratch[128];         /* a request id outliving its document */
	double t0;
	struct hoist_result res;   /* the result being built */
};

/* ------------------------------------------------------------- upload.c */

/* A new upload of src (OWNED from here on, also on failure), not yet
 * started: the API fills spec and plan, then calls upload_post.  NULL on
 * ENOMEM. */
struct hoist_upload *upload_new(struct ctx *ctx, struct source *src);
/* The pipeline for the plan and spec (after resume decided the plan).
 * 0 or -1 (ENOMEM). */
int upload_prepare(struct hoist_upload *u, unsigned hash_window);
/* The same for a stream: the pipeline takes parts as the stream produces
 * them.  0 or -1 (ENOMEM). */
int upload_prepare_stream(struct hoist_upload *u, unsigned hash_window);
/* What a stream calls (from its producing thread) when it has news. */
void upload_stream_notify(void *owner);
/* Posts the upload to loop; it runs there from now on. */
void upload_post(struct hoist_upload *u, struct loop *loop);
void upload_cancel(struct hoist_upload *u);
void upload_wait_finished(struct hoist_upload *u);
/* Frees a finished (or never posted) upload. */
void upload_destroy(struct hoist_upload *u);

/* Loop thread: the failure machinery the other upload files share. */
void upload_fail(struct hoist_upload *u, const struct failure *f);
void upload_fail_status(struct hoist_upload *u, hoist_status st, const char *op,
			unsigned part, const char *detail);
void upload_maybe_finish(struct hoist_upload *u);

/* ---------------------------------------------------------- upload_req.c */

/* The control request of u's state (Put, Initiate, ListParts, Complete,
 * Head, Abort), with its done callback still to set.  NULL on ENOMEM. */
struct request *upload_req_control(struct hoist_upload *u);
/* The UploadPart of p (struct part_pipe_ops build). */
struct request *upload_req_part(struct hoist_upload *u, struct part *p);
/* The Complete body naming every part.  0 or -1 (ENOMEM). */
int upload_req_complete_xml(struct hoist_upload *u, struct buf *b);
/* The object options of o as s->obj_headers, in d's spelling.  0, or -1:
 * err names a bad value (else out of memory). */
int upload_req_object_headers(struct upload_spec *s, enum hoist_dialect d,
			      const struct hoist_upload_options *o, char *err, size_t errlen);
void upload_req_object_headers_free(struct upload_spec *s);

/* -------------------------------------------------------------- stats.c */

/* Calls the progress callback (at most every ~100 ms unless final). */
void stats_progress(struct hoist_upload *u, int final);
/* Reports one finished part to the per-part callback. */
void stats_part(struct hoist_upload *u, const struct part *p, const struct request *r);
/* The result's figures: seconds, sizes, part latency percentiles. */
void stats_finish(struct hoist_upload *u);

#endif
