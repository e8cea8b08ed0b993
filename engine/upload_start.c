/*
 * upload_start.c - the public upload API: option checks, the resume
 * decision, start / wait / cancel / free.
 *
 * Everything here runs on the caller's thread.  Start validates and copies
 * the options, opens the source, plans the parts, decides about resuming
 * (setup_journal), then posts the upload to one event loop (round robin)
 * and returns; upload.c drives it from there.  hoist_upload_cancel is
 * async-signal-safe: an atomic store and curl_multi_wakeup (a write(2) on
 * the loop's wakeup socket).
 * Threading: see upload.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "callback.h"
#include "dialect.h"
#include "engine.h"
#include "journal.h"
#include "loop.h"
#include "source.h"
#include "upload.h"

/* Memory for curl's upload buffers across all parts in flight: each part
 * in flight owns one buffer of CURLOPT_UPLOAD_BUFFERSIZE.  Larger buffers
 * mean fewer read callbacks and syscalls per byte, but jobs x buffer is
 * resident memory (256 jobs x 1 MiB would be 256 MiB), and a buffer that
 * no longer fits in L2 makes every byte cross the memory bus twice (pread
 * writes it, send reads it back).  Measured on a 2-core EPYC (1 MiB L2),
 * 1 GiB over 8 connections to ossemu --discard: 64 KiB 0.78 s, 128-512 KiB
 * 0.52-0.57 s, 1 MiB 0.64-0.81 s, 2 MiB 0.67-0.73 s.  So a 24 MiB budget is
 * split over the jobs, within [16 KiB (curl's minimum), 512 KiB]: 64 jobs
 * get 384 KiB each, 256 get 96 KiB, 1024 get 16 KiB. */
#define UPLOAD_BUFFER_BUDGET (24L * 1024 * 1024)
#define UPLOAD_BUFFER_MIN (16L * 1024)
#define UPLOAD_BUFFER_MAX (512L * 1024)

long upload_buffer_size(unsigned inflight)
{
	long b = UPLOAD_BUFFER_BUDGET / (long)(inflight ? inflight : 1);

	if (b > UPLOAD_BUFFER_MAX) {
		b = UPLOAD_BUFFER_MAX;
	}
	if (b < UPLOAD_BUFFER_MIN) {
		b = UPLOAD_BUFFER_MIN;
	}
	return b & ~(16L * 1024 - 1);
}

/* ------------------------------------------------------------- API */

static hoist_status start_error(struct hoist_result *result, hoist_status st,
				const char *op, const char *detail)
{
	struct failure f;

	if (!result)
		return st;
	memset(&f, 0, sizeof(f));
	f.status = st;
	f.op = op;
	f.detail = detail;
	result_set_failure(result, &f);
	return st;
}

/* The caller's options as this library's struct: a version-1 caller's
 * struct ends before the version-2 fields, which then read as zero (their
 * defaults).  Reading past what the caller's version declares would read
 * whatever follows its struct in memory. */
static hoist_status copy_options(struct hoist_upload_options *o,
				 const struct hoist_upload_options *in, char *err,
				 size_t errlen)
{
	memset(o, 0, sizeof(*o));
	switch (in->version) {
	case 1:
		memcpy(o, in, offsetof(struct hoist_upload_options, concurrency));
		break;
	case HOIST_UPLOAD_OPTIONS_VERSION:
		*o = *in;
		break;
	default:
		snprintf(err, errlen, "upload options version %u, expected 1 to %u", in->version,
			 HOIST_UPLOAD_OPTIONS_VERSION);
		return HOIST_E_INVALID_ARG;
	}
	o->version = HOIST_UPLOAD_OPTIONS_VERSION;
	return HOIST_OK;
}

static hoist_status check_options(const struct hoist_upload_options *o, char *err,
				  size_t errlen)
{
	size_t klen;

	if ((unsigned)o->concurrency > HOIST_CONCURRENCY_FIXED ||
	    (unsigned)o->s3_checksum > HOIST_S3_CHECKSUM_CRC64NVME) {
		snprintf(err, errlen, "unknown concurrency or s3_checksum mode");
		return HOIST_E_INVALID_ARG;
	}
	if (!o->bucket || !*o->bucket) {
		snprintf(err, errlen, "no bucket");
		return HOIST_E_INVALID_ARG;
	}
	if (strlen(o->bucket) > 255 || strchr(o->bucket, '/')) {
		snprintf(err, errlen, "invalid bucket name");
		return HOIST_E_INVALID_ARG;
	}
	klen = o->key ? strlen(o->key) : 0;
	if (klen == 0 || klen > 1023) {
		snprintf(err, errlen, "the object key must have 1 to 1023 bytes");
		return HOIST_E_INVALID_ARG;
	}
	if ((unsigned)o->checksum > HOIST_CHECKSUM_NONE || (unsigned)o->io > HOIST_IO_MMAP) {
		snprintf(err, errlen, "unknown checksum or io mode");
		return HOIST_E_INVALID_ARG;
	}
	if (o->jobs > 4096) {
		snprintf(err, errlen, "jobs above 4096");
		return HOIST_E_INVALID_ARG;
	}
	if (o->callback_url && (!*o->callback_url || !o->callback_body || !*o->callback_body)) {
		snprintf(err, errlen, "a callback needs a URL and a body");
		return HOIST_E_INVALID_ARG;
	}
	if (!o->callback_url && (o->callback_body || o->callback_host ||
				 o->callback_body_type || o->ncallback_vars)) {
		snprintf(err, errlen, "callback options given without a callback URL");
		return HOIST_E_INVALID_ARG;
	}
	if (o->ncallback_vars && !o->callback_vars) {
		snprintf(err, errlen, "callback_vars is NULL");
		return HOIST_E_INVALID_ARG;
	}
	return HOIST_OK;
}

/* "2026-12-03T07:34:33.000Z" (ListMultipartUploads' Initiated) as Unix
 * seconds.  0, or -1 when it is not that form. */
static int parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* How far apart the intent's time (our clock) and Initiated (the server's)
 * may be: OSS and S3 refuse requests whose clock is off by more than 15
 * minutes, so an upload our Initiate created is initiated within that. */
#define INTENT_WINDOW_S (15 * 60)

/* A run was killed while its Initiate was in flight: the server may hold
 * an upload nobody knows the id of.  Abort the uploads of this key that
 * were initiated around the intent and hold no part.  A part means the
 * upload is someone's work in progress (ours never sent one: parts need
 * the id we never learnt), so it is left alone; the window and the
 * emptiness test make aborting another client's upload of the same key
 * unlikely, not impossible: such a client would be in its first seconds,
 * racing us for the same object anyway. */
static void abort_orphans(struct hoist_upload *u, const struct journal_rec *rec)
{
	struct hoist_engine *e = u->engine;
	struct hoist_upload_list *ul = NULL;
	struct hoist_result r;
	size_t i;

	memset(&r, 0, sizeof(r));
	if (hoist_list_uploads(e, u->bucket, u->key, &ul, &r) != HOIST_OK) {
		engine_log(e, "could not list the uploads of %s left by an interrupted run: %s", u->key,
			   r.message ? r.message : "");
		hoist_result_cleanup(&r);
		return;
	}
	hoist_result_cleanup(&r);
	for (i = 0; i < ul->count; i++) {
		const struct hoist_upload_entry *en = &ul->uploads[i];
		struct hoist_part_list *pl = NULL;
		int64_t t;

		if (strcmp(en->key, u->key) != 0 || parse_iso8601(en->initiated, &t) < 0 ||
		    t < rec->intent_time - INTENT_WINDOW_S || t > rec->intent_time + INTENT_WINDOW_S)
			continue;
		memset(&r, 0, sizeof(r));
		if (hoist_list_parts(e, u->bucket, u->key, en->upload_id, &pl, &r) == HOIST_OK &&
		    pl->count == 0) {
			hoist_result_cleanup(&r);
			memset(&r, 0, sizeof(r));
			if (hoist_abort_upload(e, u->bucket, u->key, en->upload_id, &r) == HOIST_OK) {
				engine_log(e, "aborted upload %s, left empty by a run killed during Initiate",
					   en->upload_id);
			}
		}
		hoist_part_list_free(pl);
		hoist_result_cleanup(&r);
	}
	hoist_upload_list_free(ul);
}

/* Aborts the upload an earlier journal names (restart, or a run that was
 * not to be resumed), so that its parts are not orphaned. */
static void abort_journaled(struct hoist_upload *u, const struct journal_rec *rec)
{
	struct hoist_result ar;

	memset(&ar, 0, sizeof(ar));
	if (hoist_abort_upload(u->engine, u->bucket, u->key, rec->upload_id, &ar) != HOIST_OK &&
	    ar.status != HOIST_E_NOT_FOUND) {
		engine_log(u->engine, "could not abort the earlier upload %s: %s", rec->upload_id,
			   ar.message ? ar.message : "");
	} else {
		engine_log(u->engine, "aborted the earlier upload %s", rec->upload_id);
	}
	hoist_result_cleanup(&ar);
}

/* The journal's header for this upload (upload_id NULL: the intent). */
static struct journal_rec journal_header(const struct hoist_upload *u, const char *upload_id)
{
	struct journal_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.endpoint = u->engine->conf.endpoint_url;
	rec.bucket = u->bucket;
	rec.key = u->key;
	rec.upload_id = (char *)upload_id;
	rec.intent_time = engine_now(u->engine);
	rec.no_resume = u->no_resume;
	rec.part_size = u->plan.part_size;
	rec.size = u->plan.size;
	rec.dev = u->src->dev;
	rec.ino = u->src->ino;
	rec.mtime_ns = u->src->mtime_ns;
	return rec;
}

/* Resume decision, on the caller's thread before the upload is posted:
 * find the journal of this (endpoint, bucket, key, file), check that the
 * file is the one it describes, and either resume, refuse, or (restart)
 * abort the old upload and start over.  A journal left by a run that was
 * not to be resumed, or killed during Initiate, is cleaned up.  A fresh
 * upload writes its intent before Initiate (journal.h). */
static hoist_status setup_journal(struct hoist_upload *u, const char *path,
				  const struct hoist_upload_options *o, char *err,
				  size_t errlen)
{
	struct hoist_engine *e = u->engine;
	char *dir = NULL, *real = NULL;
	struct buf id = BUF_INIT;
	struct journal_rec rec;
	hoist_status st = HOIST_OK;
	int rc;

	memset(&rec, 0, sizeof(rec));
	dir = o->checkpoint_dir ? strdup(o->checkpoint_dir) : journal_default_dir();
	if (!dir) {
		engine_log(e, "no checkpoint directory (set one, or HOME): not resumable");
		goto out;
	}
	if (path) {
		real = realpath(path, NULL);
		rc = buf_printf(&id, "path:%s", real ? real : path);
	} else {
		rc = buf_printf(&id, "fd:%" PRIu64 ":%" PRIu64, u->src->dev, u->src->ino);
	}
	if (rc < 0) {
		st = HOIST_E_NOMEM;
		goto out;
	}
	u->journal_path = journal_path(dir, e->conf.endpoint_url, u->bucket, u->key, id.data);
	if (!u->journal_path) {
		st = HOIST_E_NOMEM;
		goto out;
	}
	if (journal_mkdir(dir) < 0) {
		engine_log(e, "cannot create %s (%s): not resumable", dir, strerror(errno));
		free(u->journal_path);
		u->journal_path = NULL;
		goto out;
	}
	rc = journal_load(&rec, u->journal_path);
	if (rc == 1)
		goto fresh;
	if (rc < 0) {
		engine_log(e, "ignoring unreadable journal %s (%s)", u->journal_path,
			   strerror(errno));
		goto fresh;
	}
	if (strcmp(rec.endpoint, e->conf.endpoint_url) != 0 || strcmp(rec.bucket, u->bucket) != 0 ||
	    strcmp(rec.key, u->key) != 0) {
		goto fresh; /* not ours (a hash collision): overwritten */
	}
	if (!rec.upload_id) {
		abort_orphans(u, &rec);
		goto fresh;
	}
	if (rec.no_resume) {
		abort_journaled(u, &rec);
		goto fresh;
	}
	if (o->no_resume) {
		/* Someone's resumable upload of this file: a --no-resume run
		 * leaves it for a later resume and keeps no journal of its
		 * own (it would overwrite that one). */
		engine_log(e, "upload %s of this file is kept for a later resume; this run keeps no journal",
			   rec.upload_id);
		free(u->journal_path);
		u->journal_path = NULL;
		goto out;
	}
	if (!o->restart && (rec.size != u->src->size || rec.mtime_ns != u->src->mtime_ns ||
			    rec.dev != u->src->dev || rec.ino != u->src->ino)) {
		snprintf(err, errlen,
			 "the file changed since upload %.64s was interrupted; rerun with "
			 "--restart to abort that upload and start over (or 'hoist abort "
			 "--upload-id %.64s')",
			 rec.upload_id, rec.upload_id);
		st = HOIST_E_SOURCE_CHANGED;
		goto out;
	}
	if (!o->restart && rec.part_size != u->plan.part_size) {
		/* Another --part-size than the interrupted run: the parts on
		 * the server decide, if the journal's size is still valid. */
		struct plan p;

		if (plan_make(&p, u->plan.size, rec.part_size, e->conf.dialect) == HOIST_OK &&
		    p.part_size == rec.part_size && p.nparts > 0) {
			engine_log(e, "resuming with the interrupted upload's part size %" PRIu64,
				   rec.part_size);
			u->plan = p;
		}
	}
	if (!o->restart && rec.part_size == u->plan.part_size) {
		struct journal_rec hdr;

		u->upload_id = rec.upload_id;
		rec.upload_id = NULL;
		u->resume = rec;
		memset(&rec, 0, sizeof(rec));
		hdr = journal_header(u, u->upload_id);
		if (journal_create(&u->journal, u->journal_path, &hdr) < 0) {
			engine_log(e, "cannot rewrite the journal %s (%s)", u->journal_path,
				   strerror(errno));
		}
		goto out;
	}
	/* --restart, or a different part size: the old upload cannot be
	 * continued; abort it so its parts are not orphaned. */
	abort_journaled(u, &rec);
fresh:
	{
		struct journal_rec hdr = journal_header(u, NULL);

		if (journal_create(&u->journal, u->journal_path, &hdr) < 0) {
			engine_log(e, "cannot write the resume journal %s (%s): this upload will not be resumable",
				   u->journal_path, strerror(errno));
			unlink(u->journal_path);
			free(u->journal_path);
			u->journal_path = NULL;
		}
	}
out:
	journal_rec_cleanup(&rec);
	buf_free(&id);
	free(real);
	free(dir);
	return st;
}

static hoist_status upload_start(struct hoist_upload **out, struct hoist_engine *e,
				 struct source *src, const char *path,
				 const struct hoist_upload_options *o,
				 struct hoist_result *result)
{
	struct hoist_upload *u = NULL;
	hoist_status st;
	char err[512] = "";
	unsigned per_loop;
	long bad = -1;

	if (o->s3_checksum != HOIST_S3_CHECKSUM_NONE && e->conf.dialect != HOIST_DIALECT_S3) {
		source_free(src);
		return start_error(result, HOIST_E_INVALID_ARG, NULL,
				   "s3_checksum needs the S3 dialect");
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		source_free(src);
		return start_error(result, HOIST_E_NOMEM, NULL, NULL);
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->engine = e;
	u->src = src;
	upload_init(u);

	st = plan_make(&u->plan, src->size, o->part_size, e->conf.dialect);
	if (st != HOIST_OK) {
		snprintf(err, sizeof(err),
			 o->part_size > dialect_limits(e->conf.dialect)->max_part
				 ? "part size %" PRIu64 " is above the 5 GiB maximum"
				 : "the file (%" PRIu64 " bytes) is larger than 10,000 parts of 5 GiB",
			 o->part_size > dialect_limits(e->conf.dialect)->max_part ? o->part_size
										  : src->size);
		goto fail;
	}
	u->bucket = strdup(o->bucket);
	u->key = strdup(o->key);
	u->content_type = strdup(o->content_type && *o->content_type ? o->content_type
								     : "application/octet-stream");
	if (!u->bucket || !u->key || !u->content_type) {
		st = HOIST_E_NOMEM;
		goto fail;
	}
	if (o->callback_url) {
		u->callback_b64 = callback_header(o->callback_url, o->callback_body,
						  o->callback_host, o->callback_body_type);
		if (!u->callback_b64) {
			st = HOIST_E_NOMEM;
			goto fail;
		}
		if (o->ncallback_vars) {
			u->callback_var_b64 = callback_var_header(o->callback_vars,
								  o->ncallback_vars, &bad);
			if (!u->callback_var_b64) {
				st = bad >= 0 ? HOIST_E_INVALID_ARG : HOIST_E_NOMEM;
				if (bad >= 0) {
					snprintf(err, sizeof(err),
						 "callback variable %ld is not \"x:name=value\"", bad + 1);
				}
				goto fail;
			}
		}
	}
	u->checksum = o->checksum;
	u->want_md5 = o->checksum == HOIST_CHECKSUM_BOTH || o->checksum == HOIST_CHECKSUM_MD5;
	u->want_crc = o->checksum == HOIST_CHECKSUM_BOTH || o->checksum == HOIST_CHECKSUM_CRC64;
	u->s3sum = o->s3_checksum;
	/* MD5 and S3's checksums go in headers, so they must be known before
	 * the request: hash ahead.  CRC64 alone is computed as the bytes go
	 * out. */
	u->prepass = u->want_md5 || u->s3sum != HOIST_S3_CHECKSUM_NONE;
	u->crc_inline = u->want_crc && !u->prepass;
	u->complete_all = o->complete_all;
	u->forbid_overwrite = o->forbid_overwrite;
	u->no_resume = o->no_resume;
	u->restart = o->restart;
	u->progress = o->progress;
	u->on_part = o->on_part;
	u->userdata = o->userdata;

	u->jobs = o->jobs ? o->jobs : 64;
	per_loop = e->conf.max_connections / e->conf.io_threads;
	if (per_loop == 0) {
		per_loop = 1;
	}
	if (u->jobs > per_loop) {
		u->jobs = per_loop;
	}
	if (u->plan.nparts && u->jobs > u->plan.nparts) {
		u->jobs = u->plan.nparts;
	}
	u->fixed_concurrency = o->concurrency == HOIST_CONCURRENCY_FIXED;
	concurrency_init(&u->cc, u->jobs, u->fixed_concurrency, hoist__now_ms());
	u->upload_buffer = upload_buffer_size(1);
	u->hash_window = 2 * hashpool_threads(e->pool);

	if (u->plan.nparts > 0) {
		st = setup_journal(u, path, o, err, sizeof(err));
		if (st != HOIST_OK)
			goto fail;
	}
	if (parts_init(u) < 0) {
		st = HOIST_E_NOMEM;
		goto fail;
	}
	u->loop = e->loops[atomic_fetch_add_explicit(&e->next_loop, 1, memory_order_relaxed) %
			   e->nloops];
	engine_upload_link(e, u);
	*out = u;
	loop_post(u->loop, &u->start_msg);
	return HOIST_OK;
fail:
	upload_destroy(u);
	return start_error(result, st, NULL, err[0] ? err : NULL);
}

hoist_status hoist_upload_file_start(struct hoist_upload **out, struct hoist_engine *engine,
				     const char *path, const struct hoist_upload_options *opts,
				     struct hoist_result *result)
{
	struct hoist_upload_options o;
	struct source *src = NULL;
	hoist_status st;
	char err[512] = "";

	if (out) {
		*out = NULL;
	}
	if (!out || !engine || !path || !opts)
		return start_error(result, HOIST_E_INVALID_ARG, NULL, "NULL argument");
	st = copy_options(&o, opts, err, sizeof(err));
	if (st == HOIST_OK) {
		st = check_options(&o, err, sizeof(err));
	}
	if (st != HOIST_OK)
		return start_error(result, st, NULL, err);
	st = source_open_path(&src, path, o.io, err, sizeof(err));
	if (st != HOIST_OK) {
		struct buf b = BUF_INIT;

		buf_printf(&b, "%s: %s", path, err);
		st = start_error(result, st, "open", b.data ? b.data : err);
		buf_free(&b);
		return st;
	}
	return upload_start(out, engine, src, path, &o, result);
}

hoist_status hoist_upload_fd_start(struct hoist_upload **out, struct hoist_engine *engine,
				   int fd, const struct hoist_upload_options *opts,
				   struct hoist_result *result)
{
	struct hoist_upload_options o;
	struct source *src = NULL;
	hoist_status st;
	char err[512] = "";

	if (out) {
		*out = NULL;
	}
	if (!out || !engine || !opts)
		return start_error(result, HOIST_E_INVALID_ARG, NULL, "NULL argument");
	st = copy_options(&o, opts, err, sizeof(err));
	if (st == HOIST_OK) {
		st = check_options(&o, err, sizeof(err));
	}
	if (st != HOIST_OK)
		return start_error(result, st, NULL, err);
	st = source_open_fd(&src, fd, o.io, err, sizeof(err));
	if (st != HOIST_OK)
		return start_error(result, st, "open", err);
	return upload_start(out, engine, src, NULL, &o, result);
}

hoist_status hoist_upload_wait(struct hoist_upload *u, struct hoist_result *result)
{
	hoist_status st;

	if (!u)
		return HOIST_E_INVALID_ARG;
	if (loop_current()) {
		return HOIST_E_INVALID_ARG; /* would wait for itself */
	}
	upload_wait_finished(u);
	st = u->res.status;
	if (result) {
		/* The strings move to the caller; a second wait gets the
		 * status and numbers only. */
		*result = u->res;
		memset(&u->res, 0, sizeof(u->res));
		u->res.status = st;
	}
	return st;
}

void hoist_upload_cancel(struct hoist_upload *u)
{
	/* Async-signal-safe: an atomic store and a write(2) inside
	 * curl_multi_wakeup. */
	if (!u)
		return;
	atomic_store_explicit(&u->cancel, 1, memory_order_relaxed);
	if (!atomic_load_explicit(&u->done_flag, memory_order_acquire)) {
		loop_wakeup(u->loop);
	}
}

void hoist_upload_free(struct hoist_upload *u)
{
	if (!u)
		return;
	if (hoist__in_callback || loop_current()) {
		return; /* refused: see hoist.h */
	}
	upload_wait_finished(u);
	if (!atomic_load_explicit(&u->detached, memory_order_acquire)) {
		engine_upload_unlink(u->engine, u);
	}
	upload_destroy(u);
}

hoist_status hoist_upload_file(struct hoist_engine *engine, const char *path,
			       const struct hoist_upload_options *opts,
			       struct hoist_result *result)
{
	struct hoist_upload *u = NULL;
	hoist_status st;

	st = hoist_upload_file_start(&u, engine, path, opts, result);
	if (st != HOIST_OK)
		return st;
	st = hoist_upload_wait(u, result);
	hoist_upload_free(u);
	return st;
}
