/*
 * upload_start.c - the public upload API: option checks, start, wait,
 * cancel, free.
 *
 * Layer: API.
 *
 * Everything here runs on the caller's thread.  Start validates and copies
 * the options, opens the source, plans the parts, lets resume.c decide
 * about resuming, then posts the upload to one event loop (round robin)
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

#include "callback.h"
#include "dialect.h"
#include "engine.h"
#include "hashpool.h"
#include "loop.h"
#include "resume.h"
#include "source.h"
#include "stream.h"
#include "upload.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

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
	case 2:
		memcpy(o, in, offsetof(struct hoist_upload_options, expected_size));
		break;
	case 3:
		memcpy(o, in, offsetof(struct hoist_upload_options, upload_id));
		break;
	case 4:
		memcpy(o, in, offsetof(struct hoist_upload_options, on_done));
		break;
	case 5:
		memcpy(o, in, offsetof(struct hoist_upload_options, metadata));
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
	if (o->upload_id && (!*o->upload_id || o->first_part == 0)) {
		snprintf(err, errlen, "a share needs an upload id and a first part (1-based)");
		return HOIST_E_INVALID_ARG;
	}
	if ((unsigned)o->sse > HOIST_SSE_KMS || (o->sse_kms_key_id && o->sse != HOIST_SSE_KMS) ||
	    (o->sse_kms_key_id && !*o->sse_kms_key_id)) {
		snprintf(err, errlen, "sse_kms_key_id needs HOIST_SSE_KMS (and a key id)");
		return HOIST_E_INVALID_ARG;
	}
	if (o->storage_class && !*o->storage_class) {
		snprintf(err, errlen, "an empty storage class");
		return HOIST_E_INVALID_ARG;
	}
	if (o->nmetadata && !o->metadata) {
		snprintf(err, errlen, "metadata is NULL");
		return HOIST_E_INVALID_ARG;
	}
	if (o->upload_id && (o->s3_checksum || o->callback_url)) {
		snprintf(err, errlen, "a share cannot carry an S3 checksum or a callback "
				      "(hoist.h, \"Shares\")");
		return HOIST_E_INVALID_ARG;
	}
	return HOIST_OK;
}

/* Copies what the caller asked for into u->spec.  Returns HOIST_OK or a
 * failure with err filled. */
static hoist_status fill_spec(struct hoist_upload *u, const struct hoist_engine *e,
			      const struct hoist_upload_options *o, char *err, size_t errlen)
{
	struct upload_spec *s = &u->spec;
	unsigned per_loop;
	long bad = -1;

	s->bucket = strdup(o->bucket);
	s->key = strdup(o->key);
	s->content_type = strdup(o->content_type && *o->content_type ? o->content_type
								     : "application/octet-stream");
	if (!s->bucket || !s->key || !s->content_type)
		return HOIST_E_NOMEM;
	if (o->callback_url) {
		s->callback_b64 = callback_header(o->callback_url, o->callback_body,
						  o->callback_host, o->callback_body_type);
		if (!s->callback_b64)
			return HOIST_E_NOMEM;
		if (o->ncallback_vars) {
			s->callback_var_b64 = callback_var_header(o->callback_vars,
								  o->ncallback_vars, &bad);
			if (!s->callback_var_b64 && bad >= 0) {
				snprintf(err, errlen, "callback variable %ld is not \"x:name=value\"",
					 bad + 1);
				return HOIST_E_INVALID_ARG;
			}
			if (!s->callback_var_b64)
				return HOIST_E_NOMEM;
		}
	}
	if (upload_req_object_headers(s, e->conf.dialect, o, err, errlen) < 0)
		return err[0] ? HOIST_E_INVALID_ARG : HOIST_E_NOMEM;
	s->checksum = o->checksum;
	sums_spec_init(&s->sums, e->conf.dialect, o->checksum, o->s3_checksum);
	/* S3 gives an SSE-KMS object ETags that are no MD5 (of the object or
	 * of its parts); OSS's ETags stay MD5s under KMS. */
	s->sums.etag_not_md5 = e->conf.dialect == HOIST_DIALECT_S3 && o->sse == HOIST_SSE_KMS;
	s->complete_all = o->complete_all;
	s->forbid_overwrite = o->forbid_overwrite;
	s->no_resume = o->no_resume;
	s->restart = o->restart;
	s->progress = o->progress;
	s->on_part = o->on_part;
	s->on_done = o->on_done;
	s->userdata = o->userdata;
	s->jobs = o->jobs ? o->jobs : 64;
	per_loop = e->conf.max_connections / e->conf.io_threads;
	if (per_loop == 0) {
		per_loop = 1;
	}
	if (s->jobs > per_loop) {
		s->jobs = per_loop;
	}
	if (u->plan.nparts && s->jobs > u->plan.nparts) {
		s->jobs = u->plan.nparts;
	}
	s->fixed_concurrency = o->concurrency == HOIST_CONCURRENCY_FIXED;
	return HOIST_OK;
}

/* The plan for src, or the one line saying why there is none. */
static hoist_status make_plan(struct hoist_upload *u, const struct hoist_engine *e,
			      const struct hoist_upload_options *o, char *err, size_t errlen)
{
	const struct dialect_limits *lim = dialect_limits(e->conf.dialect);
	hoist_status st = plan_make(&u->plan, u->src->size, o->part_size, e->conf.dialect);

	if (st == HOIST_OK)
		return st;
	if (o->part_size > lim->max_part) {
		snprintf(err, errlen, "part size %" PRIu64 " is above the 5 GiB maximum", o->part_size);
	} else {
		snprintf(err, errlen, "the file (%" PRIu64 " bytes) is larger than 10,000 parts of 5 GiB",
			 u->src->size);
	}
	return st;
}

static void live_cancel(struct live *l)
{
	upload_cancel(container_of(l, struct hoist_upload, live));
}

static void live_wait(struct live *l)
{
	upload_wait_finished(container_of(l, struct hoist_upload, live));
}

/* The journal's name for a source (journal.h): its real path, or the
 * descriptor's device and inode.  malloc'd; NULL on ENOMEM. */
static char *identity_of(const struct source *src, const char *path)
{
	struct buf b = BUF_INIT;
	char *real = path ? realpath(path, NULL) : NULL;
	int rc;

	if (path) {
		rc = buf_printf(&b, "path:%s", real ? real : path);
	} else {
		rc = buf_printf(&b, "fd:%" PRIu64 ":%" PRIu64, src->dev, src->ino);
	}
	free(real);
	if (rc < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void go_live(struct hoist_upload **out, struct hoist_engine *e, struct hoist_upload *u)
{
	u->live.cancel = live_cancel;
	u->live.wait = live_wait;
	engine_live_add(e, &u->live);
	*out = u;
	upload_post(u, engine_next_loop(e));
}

static hoist_status check_dialect(const struct hoist_engine *e,
				  const struct hoist_upload_options *o, struct hoist_result *result)
{
	if (o->s3_checksum != HOIST_S3_CHECKSUM_NONE && e->conf.dialect != HOIST_DIALECT_S3)
		return result_fail(result, HOIST_E_INVALID_ARG, NULL, "s3_checksum needs the S3 dialect");
	return HOIST_OK;
}

/* Makes u the share of upload o->upload_id that o names: its slice of
 * the plan, the rest excluded.  Returns HOIST_OK or a failure in err. */
static hoist_status share_setup(struct hoist_upload *u, const struct hoist_upload_options *o,
				char *err, size_t errlen)
{
	struct part_pipe *pp = &u->pipe;
	unsigned i, last;

	if (u->plan.nparts == 0) {
		snprintf(err, errlen, "a share needs a multipart plan: the file (%" PRIu64
			 " bytes) fits in one part", u->plan.size);
		return HOIST_E_INVALID_ARG;
	}
	if (o->first_part > u->plan.nparts) {
		snprintf(err, errlen, "first part %u is past the plan's %u parts", o->first_part,
			 u->plan.nparts);
		return HOIST_E_INVALID_ARG;
	}
	last = o->part_count ? o->first_part - 1 + o->part_count : u->plan.nparts;
	if (last > u->plan.nparts || last < o->first_part) {
		snprintf(err, errlen, "parts %u to %u are past the plan's %u parts", o->first_part,
			 last, u->plan.nparts);
		return HOIST_E_INVALID_ARG;
	}
	u->upload_id = strdup(o->upload_id);
	if (!u->upload_id)
		return HOIST_E_NOMEM;
	u->slice = 1;
	u->slice_first = o->first_part;
	u->slice_count = last - o->first_part + 1;
	for (i = 0; i < pp->nparts; i++) {
		if (i + 1 < u->slice_first || i + 1 > last) {
			part_pipe_exclude(pp, &pp->parts[i]);
		} else {
			u->slice_bytes += pp->parts[i].len;
		}
	}
	return HOIST_OK;
}

/* The hash pool, for an upload that hashes parts before it sends them (an
 * MD5 or S3 checksum prepass, a journal check) and is not small: started
 * by the first such upload of the engine.  Others compute CRC64 as the
 * bytes are sent, or hash their one small part, on their loop, and leave
 * the pool alone (and unstarted). */
static hoist_status attach_pool(struct hoist_upload *u, struct hoist_engine *e, int needs,
				char *err, size_t errlen)
{
	if (!needs)
		return HOIST_OK;
	u->pool = engine_pool(e, err, errlen);
	return u->pool ? HOIST_OK : HOIST_E_INTERNAL;
}

static unsigned window_of(const struct hoist_upload *u, uint64_t part_size)
{
	return u->pool ? hashpool_window(u->pool, part_size) : 0;
}

/* The one start path of a seekable source: src (OWNED from here on), path
 * its name when it has one (for the journal's identity). */
static hoist_status upload_start(struct hoist_upload **out, struct hoist_engine *e,
				 struct source *src, const char *path,
				 const struct hoist_upload_options *o,
				 struct hoist_result *result)
{
	struct hoist_upload *u;
	hoist_status st;
	char err[512] = "";
	char *id = NULL;

	if (check_dialect(e, o, result) != HOIST_OK) {
		source_free(src);
		return HOIST_E_INVALID_ARG;
	}
	u = upload_new(&e->ctx, src);
	if (!u)
		return result_fail(result, HOIST_E_NOMEM, NULL, NULL);
	u->engine = e;
	st = make_plan(u, e, o, err, sizeof(err));
	if (st == HOIST_OK) {
		st = fill_spec(u, e, o, err, sizeof(err));
	}
	if (st == HOIST_OK && u->plan.nparts > 0 && !o->upload_id) {
		id = identity_of(src, path);
		st = id ? resume_setup(u, id, o->checkpoint_dir, err, sizeof(err)) : HOIST_E_NOMEM;
		free(id);
	}
	if (st == HOIST_OK && o->upload_id && u->plan.nparts > 0 && u->spec.jobs > 0) {
		/* The send limit is fixed at prepare: clip it to the slice first. */
		unsigned count = o->part_count ? o->part_count : u->plan.nparts;

		if (u->spec.jobs > count) {
			u->spec.jobs = count;
		}
	}
	if (st == HOIST_OK) {
		/* Parts of a multipart upload may be hashed again to check
		 * the journal when it resumes (resume.c); a small object is
		 * hashed on its loop. */
		int needs = u->plan.nparts > 0 ||
			    (u->spec.sums.prepass && u->plan.size > HASH_INLINE_MAX);

		st = attach_pool(u, e, needs, err, sizeof(err));
	}
	if (st == HOIST_OK && upload_prepare(u, window_of(u, u->plan.part_size)) < 0) {
		st = HOIST_E_NOMEM;
	}
	if (st == HOIST_OK && o->upload_id) {
		st = share_setup(u, o, err, sizeof(err));
	}
	if (st != HOIST_OK) {
		upload_destroy(u);
		return result_fail(result, st, NULL, err[0] ? err : NULL);
	}
	go_live(out, e, u);
	return HOIST_OK;
}

/* A stream's start: read is the pull callback, or NULL for a writer. */
static hoist_status stream_start_with(struct hoist_upload **out, struct hoist_engine *e,
				      hoist_read_fn read, void *read_ud,
				      const struct hoist_upload_options *opts,
				      struct hoist_result *result)
{
	struct hoist_upload_options o;
	struct hoist_upload *u;
	struct stream *s;
	hoist_status st;
	char err[512] = "";

	if (out) {
		*out = NULL;
	}
	if (!out || !e || !opts)
		return result_fail(result, HOIST_E_INVALID_ARG, NULL, "NULL argument");
	st = copy_options(&o, opts, err, sizeof(err));
	if (st == HOIST_OK) {
		st = check_options(&o, err, sizeof(err));
	}
	if (st == HOIST_OK && o.upload_id) {
		snprintf(err, sizeof(err), "a share is a slice of a file's plan; a stream has none");
		st = HOIST_E_INVALID_ARG;
	}
	if (st != HOIST_OK)
		return result_fail(result, st, NULL, err);
	if (check_dialect(e, &o, result) != HOIST_OK)
		return HOIST_E_INVALID_ARG;
	/* The upload owns the stream through its source; the stream borrows
	 * the plan and the share that live in the upload. */
	u = upload_new(&e->ctx, NULL);
	if (!u)
		return result_fail(result, HOIST_E_NOMEM, NULL, NULL);
	u->engine = e;
	u->expected_size = o.expected_size;
	u->stream_push = read == NULL;
	budget_share_init(&u->share, &e->budget, o.memory_limit);
	st = plan_stream(&u->splan, budget_share_max(&u->share), o.expected_size, o.part_size,
			 e->conf.dialect, err, sizeof(err));
	if (st == HOIST_OK) {
		st = fill_spec(u, e, &o, err, sizeof(err));
	}
	if (st == HOIST_OK) {
		/* A stream cannot be read again: never resumed, its upload
		 * aborted on failure, its id still journaled (hoist.h). */
		u->spec.no_resume = 1;
		s = stream_new(read, read_ud, &u->splan, &u->share, upload_stream_notify, u);
		if (!s) {
			st = HOIST_E_NOMEM;
		} else {
			u->stream = s;
			u->src = stream_source(s);
		}
	}
	if (st == HOIST_OK) {
		st = resume_setup(u, "stream", o.checkpoint_dir, err, sizeof(err));
	}
	if (st == HOIST_OK) {
		st = attach_pool(u, e, u->spec.sums.prepass, err, sizeof(err));
	}
	if (st == HOIST_OK && upload_prepare_stream(u, window_of(u, u->splan.start)) < 0) {
		st = HOIST_E_NOMEM;
	}
	if (st != HOIST_OK) {
		upload_destroy(u);
		return result_fail(result, st, NULL, err[0] ? err : NULL);
	}
	go_live(out, e, u);
	/* After the post: the reader's first news goes to a known loop. */
	if (stream_start(u->stream) < 0) {
		hoist_upload_cancel(u);
	}
	return HOIST_OK;
}

/* What both start calls share: the checks, then the source from open. */
typedef hoist_status (*open_fn)(struct source **out, const void *what, enum hoist_io io,
				char *err, size_t errlen);

static hoist_status start_with(struct hoist_upload **out, struct hoist_engine *engine,
			       open_fn open, const void *what, const char *path,
			       const struct hoist_upload_options *opts, struct hoist_result *result)
{
	struct hoist_upload_options o;
	struct source *src = NULL;
	hoist_status st;
	char err[512] = "";

	if (out) {
		*out = NULL;
	}
	if (!out || !engine || !opts)
		return result_fail(result, HOIST_E_INVALID_ARG, NULL, "NULL argument");
	st = copy_options(&o, opts, err, sizeof(err));
	if (st == HOIST_OK) {
		st = check_options(&o, err, sizeof(err));
	}
	if (st != HOIST_OK)
		return result_fail(result, st, NULL, err);
	st = open(&src, what, o.io, err, sizeof(err));
	if (st != HOIST_OK) {
		struct buf b = BUF_INIT;

		if (path) {
			buf_printf(&b, "%s: %s", path, err);
		}
		st = result_fail(result, st, "open", b.data ? b.data : err);
		buf_free(&b);
		return st;
	}
	return upload_start(out, engine, src, path, &o, result);
}

static hoist_status open_path(struct source **out, const void *what, enum hoist_io io,
			      char *err, size_t errlen)
{
	return source_open_path(out, what, io, err, errlen);
}

static hoist_status open_fd(struct source **out, const void *what, enum hoist_io io, char *err,
			    size_t errlen)
{
	return source_open_fd(out, *(const int *)what, io, err, errlen);
}

/* The start calls build their failure in a result of this library's
 * version and deliver it into the caller's (hoist.h: only the fields of
 * its version are written). */
static hoist_status deliver(struct hoist_result *caller, struct hoist_result *built,
			    hoist_status st)
{
	if (st != HOIST_OK) {
		result_deliver(caller, built);
	} else {
		hoist_result_cleanup(built);
	}
	return st;
}

hoist_status hoist_upload_file_start(struct hoist_upload **out, struct hoist_engine *engine,
				     const char *path, const struct hoist_upload_options *opts,
				     struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;

	if (!path) {
		if (out) {
			*out = NULL;
		}
		return deliver(result, &r, result_fail(&r, HOIST_E_INVALID_ARG, NULL, "NULL argument"));
	}
	return deliver(result, &r, start_with(out, engine, open_path, path, path, opts, &r));
}

hoist_status hoist_upload_fd_start(struct hoist_upload **out, struct hoist_engine *engine,
				   int fd, const struct hoist_upload_options *opts,
				   struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;

	return deliver(result, &r, start_with(out, engine, open_fd, &fd, NULL, opts, &r));
}

hoist_status hoist_upload_stream_start(struct hoist_upload **out, struct hoist_engine *engine,
				       hoist_read_fn read, void *read_userdata,
				       const struct hoist_upload_options *opts,
				       struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;

	if (!read) {
		if (out) {
			*out = NULL;
		}
		return deliver(result, &r, result_fail(&r, HOIST_E_INVALID_ARG, NULL, "NULL argument"));
	}
	return deliver(result, &r, stream_start_with(out, engine, read, read_userdata, opts, &r));
}

hoist_status hoist_upload_writer_start(struct hoist_upload **out, struct hoist_engine *engine,
				       const struct hoist_upload_options *opts,
				       struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;

	return deliver(result, &r, stream_start_with(out, engine, NULL, NULL, opts, &r));
}

hoist_status hoist_upload_write(struct hoist_upload *u, const void *buf, size_t len)
{
	if (!u || !u->stream || !u->stream_push || u->closed || (!buf && len))
		return HOIST_E_INVALID_ARG;
	if (len == 0)
		return HOIST_OK;
	return stream_write(u->stream, buf, len);
}

hoist_status hoist_upload_close(struct hoist_upload *u)
{
	if (!u || !u->stream || !u->stream_push || u->closed)
		return HOIST_E_INVALID_ARG;
	u->closed = 1;
	return stream_close(u->stream);
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
		 * status only. */
		result_deliver(result, &u->res);
		u->res.status = st;
	}
	return st;
}

hoist_status hoist_upload_parts(struct hoist_upload *u, struct hoist_part_list **out)
{
	struct hoist_part_list *l;
	unsigned i;

	if (out) {
		*out = NULL;
	}
	if (!u || !out || !u->slice || !atomic_load(&u->done_flag) ||
	    u->res.status != HOIST_OK)
		return HOIST_E_INVALID_ARG;
	l = hoist_part_list_new();
	if (!l)
		return HOIST_E_NOMEM;
	for (i = u->slice_first - 1; i < u->slice_first - 1 + u->slice_count; i++) {
		const struct part *p = &u->pipe.parts[i];

		if (hoist_part_list_add(l, p->number, p->len, p->etag, p->crc, p->have_crc) !=
		    HOIST_OK) {
			hoist_part_list_free(l);
			return HOIST_E_NOMEM;
		}
	}
	*out = l;
	return HOIST_OK;
}

void hoist_upload_cancel(struct hoist_upload *u)
{
	if (u) {
		upload_cancel(u);
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
	engine_live_remove(u->engine, &u->live);
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
