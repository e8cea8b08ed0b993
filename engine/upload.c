/*
 * upload.c - the upload state machine.
 *
 * Layer: transfer.
 *
 * An upload is posted to one event loop and lives there:
 *
 *   PutObject:  PUT -> [HEAD] -> done
 *   multipart:  Initiate -> parts (part.c) -> Complete -> [HEAD] -> done
 *   resume:     ListParts (reconcile with the journal) -> parts -> ...
 *   failure:    stop parts -> Abort (or keep the upload for resume) -> done
 *
 * "Control" requests (Put, Initiate, ListParts, Complete, Head, Abort) go
 * one at a time through ctl_send/ctl_done with their own attempt count;
 * parts run many at a time in the part pipeline, which reports back
 * through part_pipe_ops.  HEAD is used only when a response lacked what we
 * verify with (no x-oss-hash-crc64ecma from an OSS server, or an empty
 * ETag as RGW sends), and result->verified says what checked the object
 * (verify.h).  The end is signalled from a posted message, so that no code
 * on the stack can touch the upload after hoist_upload_wait returns and
 * the owner frees it.
 *
 * Threading: upload_new, upload_prepare, upload_post, upload_cancel,
 * upload_wait_finished and upload_destroy run on the caller's thread
 * (upload_cancel on any, and from a signal handler); everything else runs
 * on the loop thread after the start message (see upload.h).
 */
#include "upload.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "resume.h"
#include "retry.h"
#include "source.h"
#include "stream.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void ctl_send(struct hoist_upload *u);
static void ctl_enter(struct hoist_upload *u, enum upload_state state);
static void upload_finish(struct hoist_upload *u);

/* ------------------------------------------------------------ failure */

void upload_fail(struct hoist_upload *u, const struct failure *f)
{
	if (u->failing)
		return;
	u->failing = 1;
	result_set_failure(&u->res, f);
	part_pipe_stop(&u->pipe);
	if (u->stream) {
		stream_fail(u->stream, f->status); /* a writer learns it at once */
	}
	loop_timer_cancel(u->loop, &u->ctl_timer);
	/* A PUT or ListParts in flight is abandoned at once; an Initiate is
	 * let finish so that its upload id can be aborted; Complete, HEAD and
	 * Abort are never interrupted (upload_tick does not cancel them). */
	if (u->ctl && (u->state == UP_PUT || u->state == UP_LIST)) {
		loop_remove(u->loop, &u->ctl->xfer);
		request_note(&u->stats, u->ctl);
		request_free(u->ctl);
		u->ctl = NULL;
	}
}

void upload_fail_status(struct hoist_upload *u, hoist_status st, const char *op,
			unsigned part, const char *detail)
{
	struct failure f;

	failure_init(&f, st, op, part, detail);
	upload_fail(u, &f);
}

/* Where a failed upload goes: keep it for resume when a journal can bring
 * it back, abort it otherwise, so that no parts are orphaned. */
static int worth_keeping(const struct hoist_upload *u)
{
	/* A share's upload belongs to its driver, which decides. */
	if (u->slice)
		return 1;
	switch (u->res.status) {
	case HOIST_E_SOURCE_CHANGED:
	case HOIST_E_NOT_FOUND:
	case HOIST_E_CONFLICT:
	case HOIST_E_INVALID_ARG:
		return 0;
	default:
		return u->rs.journal != NULL && !u->spec.no_resume;
	}
}

void upload_maybe_finish(struct hoist_upload *u)
{
	if (!u->failing || u->state == UP_ABORT || u->state == UP_DONE)
		return;
	if (part_pipe_busy(&u->pipe) || u->ctl)
		return;
	if (u->upload_id && !u->res.upload_id) {
		result_setstr(&u->res.upload_id, u->upload_id);
	}
	if (u->upload_id && worth_keeping(u)) {
		u->keep_for_resume = 1;
		upload_finish(u);
		return;
	}
	if (u->upload_id) {
		ctl_enter(u, UP_ABORT);
		return;
	}
	upload_finish(u);
}

/* --------------------------------------------------------- control */

static void ctl_done(struct request *r);

/* Moves the upload to a control step (Initiate, Complete, HEAD, Abort) and
 * sends its first attempt: the attempt count belongs to the step, so every
 * entry resets it. */
static void ctl_enter(struct hoist_upload *u, enum upload_state state)
{
	u->state = state;
	u->ctl_attempts = 0;
	u->ctl_token_retried = 0;
	ctl_send(u);
}

static void ctl_send(struct hoist_upload *u)
{
	struct request *r = upload_req_control(u);

	if (!r) {
		if (u->state == UP_ABORT) {
			upload_finish(u);
			return;
		}
		upload_fail_status(u, HOIST_E_NOMEM, NULL, 0, NULL);
		upload_maybe_finish(u);
		return;
	}
	r->done = ctl_done;
	r->owner = u;
	u->ctl_attempts++;
	u->ctl = r;
	if (request_start(r, u->loop) < 0) {
		u->ctl = NULL;
		if (u->state == UP_ABORT) {
			request_free(r);
			upload_finish(u);
			return;
		}
		upload_fail_status(u, HOIST_E_INTERNAL, r->op, 0, curl_easy_strerror(r->cc));
		request_free(r);
		upload_maybe_finish(u);
	}
}

static void ctl_timer_fire(struct loop_timer *t)
{
	struct hoist_upload *u = container_of(t, struct hoist_upload, ctl_timer);

	if (u->ctl_creds_waiting && !request_creds_ready(u->ctx, u->ctl_creds_gen) &&
	    !atomic_load_explicit(&u->cancel, memory_order_relaxed)) {
		loop_timer_set(u->loop, &u->ctl_timer, REQUEST_CREDS_POLL_MS);
		return;
	}
	u->ctl_creds_waiting = 0;
	ctl_send(u);
}

/* A share's parts are all done: its CRC64 (of its slice, for the log and
 * the result) and the end, without a Complete (hoist.h "Shares"). */
static void share_finish(struct hoist_upload *u)
{
	const struct part_pipe *pp = &u->pipe;
	unsigned i, crcs = 0;
	uint64_t crc = 0;

	for (i = u->slice_first - 1; i < u->slice_first - 1 + u->slice_count; i++) {
		if (pp->parts[i].have_crc) {
			crc = crc64_ecma_combine(crc, pp->parts[i].crc, pp->parts[i].len);
			crcs++;
		}
	}
	if (crcs == u->slice_count) {
		u->res.crc64 = crc;
		u->res.crc64_valid = 1;
	}
	u->oc.verified = HOIST_VERIFY_NONE;
	result_setstr(&u->res.upload_id, u->upload_id);
	upload_finish(u);
}

/* Every part is done (part_pipe_ops complete): Complete. */
static void begin_complete(void *owner)
{
	struct hoist_upload *u = owner;

	if (u->state != UP_PARTS || u->failing)
		return;
	if (u->slice) {
		if (source_changed(u->src)) {
			upload_fail_status(u, HOIST_E_SOURCE_CHANGED, "UploadPart", 0,
					   "the file changed (size or mtime) during the upload");
			upload_maybe_finish(u);
			return;
		}
		share_finish(u);
		return;
	}
	/* Never complete an object from bytes that may have changed. */
	if (source_changed(u->src)) {
		upload_fail_status(u, HOIST_E_SOURCE_CHANGED, "CompleteMultipartUpload", 0,
				   "the file changed (size or mtime) during the upload; not completing");
		upload_maybe_finish(u);
		return;
	}
	verify_combine(&u->oc, &u->spec.sums, u->pipe.parts, u->pipe.nparts, 1);
	resume_flush(u, hoist__now_ms(), 1);
	buf_free(&u->complete_body);
	if (!(u->spec.complete_all && u->ctx->conf->dialect == HOIST_DIALECT_OSS) &&
	    upload_req_complete_xml(u, &u->complete_body) < 0) {
		upload_fail_status(u, HOIST_E_NOMEM, "CompleteMultipartUpload", 0, NULL);
		upload_maybe_finish(u);
		return;
	}
	ctl_enter(u, UP_COMPLETE);
}

static int fill_success(struct hoist_upload *u, const struct request *r)
{
	int rc = 0;

	rc |= result_setstr(&u->res.request_id, r->request_id);
	if (r->version_id) {
		rc |= result_setstr(&u->res.version_id, r->version_id);
	}
	if (u->upload_id) {
		rc |= result_setstr(&u->res.upload_id, u->upload_id);
	}
	return rc;
}

/* 203 from Put or Complete: the object is stored, the callback failed. */
static void callback_failed(struct hoist_upload *u, const struct request *r)
{
	struct failure f;
	struct failure cf;
	char detail[200];
	int need_head;

	fill_success(u, r);
	if (r->etag) {
		result_setstr(&u->res.etag, r->etag);
	}
	u->completed = 1;
	if (verify_object_crc(&u->oc, &u->spec.sums, r, HOIST_VERIFY_RESPONSE, &need_head, &cf,
			      detail, sizeof(detail)) < 0) {
		result_set_failure(&u->res, &cf);
		u->failing = 1;
		upload_finish(u);
		return;
	}
	u->callback_failed = 1;
	memset(&f, 0, sizeof(f));
	f.status = HOIST_E_CALLBACK;
	f.op = r->op;
	f.http = r->http;
	f.code = r->err.code ? r->err.code : "CallbackFailed";
	f.message = r->err.message;
	f.request_id = r->err.request_id ? r->err.request_id : r->request_id;
	f.detail = "the object was stored";
	result_set_failure(&u->res, &f);
	upload_finish(u);
}

/* Per-state handling of a 2xx.  Returns HOIST_OK when it moved the state
 * machine on; otherwise the failure (f, *retry) for ctl_done. */
static hoist_status on_put(struct hoist_upload *u, struct request *r,
			   struct failure *f, int *retry, char *detail, size_t dlen)
{
	const struct sums_spec *s = &u->spec.sums;
	struct part *p = &u->pipe.parts[0];
	int need_head = 0, confirmed;

	if (r->http == 203) {
		/* Stored, callback failed: our CRC still describes it. */
		if (s->crc_inline && r->pos == p->len) {
			p->crc = r->crc;
			p->have_crc = 1;
		}
		verify_combine(&u->oc, s, p, 1, 0);
		part_pipe_mark_done(&u->pipe, p);
		callback_failed(u, r);
		return HOIST_OK;
	}
	request_failure(f, r, HOIST_OK, detail);
	*retry = 1;
	if (verify_answer(s, p, r, u->spec.callback_b64 ? VERIFY_ETAG_MAY_LACK : 0, &confirmed, f,
			  detail, dlen) < 0)
		return f->status;
	if (s->want_md5 && p->have_md5 && r->etag) {
		u->oc.etag_matched = 1;
	}
	verify_combine(&u->oc, s, p, 1, 0);
	if (verify_object_crc(&u->oc, s, r, HOIST_VERIFY_RESPONSE, &need_head, f, detail, dlen) < 0)
		return HOIST_E_CHECKSUM; /* retried: the PUT replaces the object */
	part_pipe_mark_done(&u->pipe, p);
	fill_success(u, r);
	result_setstr(&u->res.etag, r->etag);
	if (u->spec.callback_b64 && r->body.len) {
		result_setstr(&u->res.callback_body, r->body.data);
	}
	u->completed = 1;
	if (need_head) {
		u->oc.head_reason_crc = 1;
		ctl_enter(u, UP_HEAD);
	} else {
		upload_finish(u);
	}
	return HOIST_OK;
}

static hoist_status on_initiate(struct hoist_upload *u, struct request *r,
				struct failure *f, int *retry, char *detail, size_t dlen)
{
	struct initiate_doc d;

	if (response_parse_initiate(&d, r->body.data, r->body.len) < 0) {
		snprintf(detail, dlen, "the response has no UploadId");
		request_failure(f, r, HOIST_E_SERVER, detail);
		*retry = 1;
		return f->status;
	}
	u->upload_id = d.upload_id;
	d.upload_id = NULL;
	initiate_doc_cleanup(&d);
	if (u->failing) {
		upload_maybe_finish(u); /* cancelled meanwhile: abort it */
		return HOIST_OK;
	}
	resume_initiated(u);
	u->state = UP_PARTS;
	part_pipe_round_trip(&u->pipe, r);
	part_pipe_run(&u->pipe);
	return HOIST_OK;
}

static hoist_status on_list(struct hoist_upload *u, struct request *r,
			    struct failure *f, int *retry, char *detail, size_t dlen)
{
	struct list_parts_page page;

	if (!u->rs.listed) {
		u->rs.listed = calloc(1, sizeof(*u->rs.listed));
		if (!u->rs.listed) {
			failure_init(f, HOIST_E_NOMEM, r->op, 0, NULL);
			*retry = 0;
			return f->status;
		}
	}
	if (response_parse_list_parts(u->rs.listed, &page, r->body.data, r->body.len) < 0) {
		snprintf(detail, dlen, "unreadable ListParts response");
		request_failure(f, r, HOIST_E_SERVER, detail);
		*retry = 1;
		return f->status;
	}
	if (page.truncated && page.next_marker > u->rs.list_marker) {
		u->rs.list_marker = page.next_marker;
		u->ctl_attempts = 0;
		ctl_send(u);
		return HOIST_OK;
	}
	resume_reconcile(u);
	u->state = UP_PARTS;
	part_pipe_round_trip(&u->pipe, r);
	part_pipe_run(&u->pipe);
	return HOIST_OK;
}

/* A 200 Complete whose body is an <Error> (S3 does this for failures
 * after it started answering): its status, retryable for server errors. */
static hoist_status complete_error(struct hoist_upload *u, struct complete_doc *d,
				   struct failure *f, int *retry, char *detail, size_t dlen)
{
	hoist_status st;

	dialect_classify(u->ctx->conf->dialect, 400, d->err.code, &st, retry);
	if (d->err.code && (strcmp(d->err.code, "InternalError") == 0 ||
			    strcmp(d->err.code, "ServiceUnavailable") == 0)) {
		st = HOIST_E_SERVER;
		*retry = 1;
	}
	snprintf(detail, dlen, "%s: %s (a 200 response whose body is an error)",
		 d->err.code ? d->err.code : "Error", d->err.message ? d->err.message : "");
	f->detail = detail;
	if (d->err.request_id) {
		snprintf(u->scratch, sizeof(u->scratch), "%s", d->err.request_id);
	}
	return f->status = st;
}

static hoist_status on_complete(struct hoist_upload *u, struct request *r,
				struct failure *f, int *retry, char *detail, size_t dlen)
{
	struct complete_doc d;
	char line[256];
	const char *etag;
	int need_head = 0, rc;

	if (r->http == 203) {
		callback_failed(u, r);
		return HOIST_OK;
	}
	memset(&d, 0, sizeof(d));
	if (!u->spec.callback_b64) {
		rc = response_parse_complete(&d, r->body.data, r->body.len);
		if (rc != 0) {
			request_failure(f, r, HOIST_OK, NULL);
			if (rc == 1) {
				hoist_status st = complete_error(u, &d, f, retry, detail, dlen);

				complete_doc_cleanup(&d);
				return st;
			}
			snprintf(detail, dlen, "unreadable CompleteMultipartUpload response");
			f->detail = detail;
			*retry = 0;
			return f->status = HOIST_E_SERVER;
		}
	}
	u->completed = 1;
	fill_success(u, r);
	if (verify_object_s3sum(&u->spec.sums, u->pipe.parts, u->pipe.nparts, r, &d, f, detail,
				dlen) < 0) {
		complete_doc_cleanup(&d);
		*retry = 0;
		return f->status;
	}
	etag = d.etag && *d.etag ? d.etag : r->etag;
	result_setstr(&u->res.etag, etag);
	result_setstr(&u->res.location, d.location);
	result_setstr(&u->res.encoding_type, d.encoding_type);
	if (u->spec.callback_b64 && r->body.len) {
		result_setstr(&u->res.callback_body, r->body.data);
	}
	complete_doc_cleanup(&d);

	if (verify_object_crc(&u->oc, &u->spec.sums, r, HOIST_VERIFY_RESPONSE, &need_head, f,
			      detail, dlen) < 0) {
		/* The object exists now; ask it directly before calling it
		 * wrong: a damaged response header must not fail a good
		 * upload, and a wrong object says so again on HEAD. */
		ctx_log(u->ctx, "%s: %s; checking the object with HEAD", u->spec.key, detail);
		need_head = 1;
		u->oc.head_after_mismatch = 1;
	}
	u->oc.head_reason_crc = need_head;
	rc = verify_object_etag(&u->oc, r, u->res.etag, f, detail, dlen, line, sizeof(line));
	if (line[0]) {
		ctx_log(u->ctx, "%s: %s", u->spec.key, line);
	}
	if (rc < 0) {
		*retry = 0;
		return f->status;
	}
	if (rc > 0) {
		u->oc.head_reason_etag = 1; /* RGW: empty <ETag> */
	}
	if (u->oc.head_reason_crc || u->oc.head_reason_etag) {
		ctl_enter(u, UP_HEAD);
	} else {
		upload_finish(u);
	}
	return HOIST_OK;
}

static hoist_status on_head(struct hoist_upload *u, struct request *r,
			    struct failure *f, int *retry, char *detail, size_t dlen)
{
	const struct sums_spec *s = &u->spec.sums;
	uint64_t len = 0;
	int need_head = 0, checked = 0, rc;
	char line[256];

	request_failure(f, r, HOIST_OK, detail);
	*retry = 0;
	if (r->content_length && parse_u64(r->content_length, &len) == 0 &&
	    len != u->plan.size) {
		snprintf(detail, dlen, "the stored object has %" PRIu64 " bytes, we sent %" PRIu64,
			 len, u->plan.size);
		return f->status = HOIST_E_CHECKSUM;
	}
	if (verify_object_crc(&u->oc, s, r, HOIST_VERIFY_HEAD, &need_head, f, detail, dlen) < 0)
		return HOIST_E_CHECKSUM;
	if (u->oc.crc_valid && !need_head && dialect_names(s->dialect)->crc64) {
		checked = 1;
	}
	if (r->etag && *r->etag) {
		rc = verify_object_etag(&u->oc, r, r->etag, f, detail, dlen, line, sizeof(line));
		if (line[0]) {
			ctx_log(u->ctx, "%s: %s", u->spec.key, line);
		}
		if (rc < 0)
			return f->status;
		if (u->oc.etag_matched) {
			checked = 1;
		}
		if (!u->res.etag || !*u->res.etag) {
			result_setstr(&u->res.etag, r->etag);
		}
	}
	if (u->oc.crc_valid && need_head) {
		ctx_log(u->ctx, "the server sends no CRC64 for %s, not even on HEAD%s", u->spec.key,
			u->oc.etag_matched ? ": the object is verified by its ETag only" : "");
	}
	if (u->complete_retried && !u->completed) {
		/* A Complete that was re-sent answered NoSuchUpload: the
		 * first one most likely went through.  Believe it only if
		 * the object proves it. */
		if (!checked) {
			snprintf(detail, dlen,
				 "the upload is gone after a re-sent Complete and the object "
				 "cannot be verified");
			return f->status = HOIST_E_NOT_FOUND;
		}
		u->completed = 1;
		fill_success(u, r);
		if (r->etag) {
			result_setstr(&u->res.etag, r->etag);
		}
	}
	upload_finish(u);
	return HOIST_OK;
}

static hoist_status on_success(struct hoist_upload *u, struct request *r, struct failure *f,
			       int *retry, char *detail, size_t dlen)
{
	switch (u->state) {
	case UP_PUT:
		return on_put(u, r, f, retry, detail, dlen);
	case UP_INITIATE:
		return on_initiate(u, r, f, retry, detail, dlen);
	case UP_LIST:
		return on_list(u, r, f, retry, detail, dlen);
	case UP_COMPLETE:
		return on_complete(u, r, f, retry, detail, dlen);
	case UP_HEAD:
		return on_head(u, r, f, retry, detail, dlen);
	default:
		memset(f, 0, sizeof(*f));
		return f->status = HOIST_E_INTERNAL;
	}
}

/* The Abort of a failed upload answered. */
static void abort_done(struct hoist_upload *u, struct request *r, hoist_status st,
		       const struct failure *f, int retry)
{
	if (st != HOIST_OK && retry && u->ctl_attempts < 3) {
		loop_timer_set(u->loop, &u->ctl_timer,
			       request_retry_delay(u->ctx, r, u->ctl_attempts, &u->rng));
		request_free(r);
		return;
	}
	if (st != HOIST_OK && r->http != 404) {
		char *m = status_message(f);

		ctx_log(u->ctx, "could not abort upload %s: %s", u->upload_id, m ? m : "");
		free(m);
	} else {
		free(u->upload_id);
		u->upload_id = NULL;
		result_setstr(&u->res.upload_id, NULL);
	}
	request_free(r);
	upload_finish(u);
}

/* Failures that are not failures in the state they happen in.  Returns 1
 * when it took care of r. */
static int expected_failure(struct hoist_upload *u, struct request *r, int retry)
{
	if (u->state == UP_LIST && r->http == 404 && u->slice) {
		upload_fail_status(u, HOIST_E_NOT_FOUND, "ListParts", 0,
				   "the upload of this share does not exist (completed or aborted)");
		request_free(r);
		upload_maybe_finish(u);
		return 1;
	}
	if (u->state == UP_LIST && r->http == 404) {
		/* The journaled upload is gone (aborted or completed since):
		 * start over. */
		resume_forget(u);
		request_free(r);
		ctl_enter(u, UP_INITIATE);
		part_pipe_schedule(&u->pipe);
		return 1;
	}
	if (u->state == UP_COMPLETE && u->complete_retried && r->http == 404 && r->err.code &&
	    strcmp(r->err.code, "NoSuchUpload") == 0) {
		request_free(r);
		verify_combine(&u->oc, &u->spec.sums, u->pipe.parts, u->pipe.nparts, 1);
		ctl_enter(u, UP_HEAD);
		return 1;
	}
	if (u->state == UP_HEAD && u->completed && retry == 0 && !u->oc.head_after_mismatch) {
		/* The object was completed; only its verification failed. */
		ctx_log(u->ctx, "HEAD after completion failed; the object is not verified");
		request_free(r);
		upload_finish(u);
		return 1;
	}
	return 0;
}

static void ctl_done(struct request *r)
{
	struct hoist_upload *u = r->owner;
	const struct conf *c = u->ctx->conf;
	hoist_status st;
	struct failure f;
	char detail[256];
	int retry = 0;

	u->ctl = NULL;
	request_note(&u->stats, r);
	request_outcome(r, &st, &retry, &f);

	if (u->state == UP_ABORT) {
		abort_done(u, r, st, &f, retry);
		return;
	}
	if (st == HOIST_OK) {
		st = on_success(u, r, &f, &retry, detail, sizeof(detail));
		if (st == HOIST_OK) {
			request_free(r);
			return;
		}
		if (u->scratch[0] && !f.request_id) {
			f.request_id = u->scratch;
		}
	} else if (expected_failure(u, r, retry)) {
		return;
	}

	if (!retry && !u->failing && !u->ctl_token_retried && request_token_refresh(r)) {
		/* The token expired and new keys are coming: once more. */
		u->ctl_token_retried = 1;
		u->ctl_creds_waiting = 1;
		u->ctl_creds_gen = r->creds_gen;
		u->stats.retries++;
		if (u->state == UP_COMPLETE) {
			u->complete_retried = 1;
		}
		u->scratch[0] = '\0';
		loop_timer_set(u->loop, &u->ctl_timer, REQUEST_CREDS_POLL_MS);
		request_free(r);
		return;
	}
	if (retry && u->ctl_attempts < c->max_attempts && !u->failing) {
		uint64_t delay = request_retry_delay(u->ctx, r, u->ctl_attempts, &u->rng);
		char *m = status_message(&f);

		ctx_log(u->ctx, "%s; attempt %u of %u, retrying in %" PRIu64 " ms", m ? m : r->op,
			u->ctl_attempts, c->max_attempts, delay);
		free(m);
		u->stats.retries++;
		if (u->state == UP_COMPLETE) {
			u->complete_retried = 1;
		}
		u->scratch[0] = '\0';
		loop_timer_set(u->loop, &u->ctl_timer, delay);
		request_free(r);
		return;
	}
	if (u->completed) {
		/* The object exists: a failed check is reported, but there is
		 * no upload left to abort. */
		free(u->upload_id);
		u->upload_id = NULL;
	}
	upload_fail(u, &f);
	u->scratch[0] = '\0';
	request_free(r);
	upload_maybe_finish(u);
}

/* ------------------------------------------------------ part pipeline */

static struct request *pipe_build(void *owner, struct part *p)
{
	return upload_req_part(owner, p);
}

static int pipe_verify(void *owner, struct part *p, const struct request *r, struct failure *f,
		       char *detail, size_t dlen)
{
	struct hoist_upload *u = owner;
	int confirmed;

	if (verify_answer(&u->spec.sums, p, r, VERIFY_PART, &confirmed, f, detail, dlen) < 0)
		return -1;
	p->etag = strdup(r->etag);
	if (!p->etag) {
		f->status = HOIST_E_NOMEM;
		snprintf(detail, dlen, "out of memory");
		return -1;
	}
	/* Nothing the server said confirmed these bytes (CRC64 only on an S3
	 * store): the result must not claim every part was verified. */
	if (!confirmed) {
		u->oc.unverified_parts++;
	}
	return 0;
}

static void pipe_done(void *owner, struct part *p, const struct request *r)
{
	struct hoist_upload *u = owner;

	source_done_with(u->src, p->off, p->len);
	resume_part_done(u, p);
	stats_part(u, p, r);
}

static void pipe_hashed(void *owner, struct part *p)
{
	struct hoist_upload *u = owner;

	if (resume_hashed(u, p))
		return;
	/* The single part of a PutObject is hashed: send the PUT. */
	if (u->state == UP_PUT && !u->ctl && !u->failing) {
		p->state = PART_SENDING;
		ctl_send(u);
	}
}

static void pipe_failed(void *owner, const struct failure *f)
{
	struct hoist_upload *u = owner;

	upload_fail(u, f);
	upload_maybe_finish(u);
}

static void pipe_settled(void *owner)
{
	upload_maybe_finish(owner);
}

static const struct part_pipe_ops pipe_ops = {
	.build = pipe_build,
	.verify = pipe_verify,
	.done = pipe_done,
	.hashed = pipe_hashed,
	.complete = begin_complete,
	.failed = pipe_failed,
	.settled = pipe_settled,
};

/* -------------------------------------------------------------- streams */

/* The stream ended within its first part (len bytes, maybe 0): one
 * PutObject from the buffer. */
static void stream_put(struct hoist_upload *u, uint64_t len)
{
	u->plan.size = len;
	u->plan.part_size = len;
	u->plan.nparts = 0;
	if (!part_pipe_append(&u->pipe, 0, len)) {
		upload_fail_status(u, HOIST_E_INTERNAL, "PutObject", 0, "no room for the part");
		upload_maybe_finish(u);
		return;
	}
	u->pipe.open = 0;
	u->state = UP_PUT;
	if (u->spec.sums.prepass) {
		part_pipe_schedule(&u->pipe); /* hash first, then PUT */
	} else {
		ctl_send(u);
	}
}

/* A filled part of the stream: the first one that is not also the last
 * makes it a multipart upload. */
static void stream_part(struct hoist_upload *u, unsigned index, uint64_t off, uint64_t len,
			int last)
{
	if (u->state == UP_STREAM) {
		if (last && index == 0) {
			stream_put(u, len);
			return;
		}
		u->plan.part_size = u->splan.start;
		u->state = UP_INITIATE;
		ctl_send(u);
		if (u->failing)
			return;
	}
	if (!part_pipe_append(&u->pipe, off, len)) {
		upload_fail_status(u, HOIST_E_INTERNAL, "UploadPart", index + 1, "no room for the part");
		upload_maybe_finish(u);
		return;
	}
	u->plan.size = off + len;
	u->plan.nparts = u->pipe.nparts;
	if (last) {
		part_pipe_close(&u->pipe);
	} else {
		part_pipe_schedule(&u->pipe);
	}
}

static void stream_end(struct hoist_upload *u, uint64_t total)
{
	if (u->state == UP_STREAM) {
		stream_put(u, 0); /* nothing at all: a 0-byte object */
		return;
	}
	u->plan.size = total;
	part_pipe_close(&u->pipe);
}

static void stream_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, stream_msg);
	char detail[200];
	uint64_t off, len;
	unsigned index;
	int last, err, rc;

	atomic_store_explicit(&u->stream_posted, 0, memory_order_release);
	while (!u->failing && u->state != UP_DONE &&
	       (rc = stream_take(u->stream, &index, &off, &len, &last, &err, detail,
				 sizeof(detail))) != 0) {
		if (rc == 1) {
			stream_part(u, index, off, len, last);
		} else if (rc == 2) {
			stream_end(u, off);
		} else {
			upload_fail_status(u, err == -ENOMEM ? HOIST_E_NOMEM : HOIST_E_IO, "read",
					   0, detail);
			upload_maybe_finish(u);
		}
	}
}

void upload_stream_notify(void *owner)
{
	struct hoist_upload *u = owner;

	/* One message in flight at a time: the handler drains everything. */
	if (!atomic_exchange_explicit(&u->stream_posted, 1, memory_order_acq_rel)) {
		loop_post(u->loop, &u->stream_msg);
	}
}

/* ------------------------------------------------------------ lifecycle */

/* Runs from a posted message, when nothing of this upload is on the stack:
 * after the broadcast the owner may free the upload at once, so the done
 * callback runs before it (a wait that starts inside it then returns as
 * soon as the callback does). */
static void fin_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, fin_msg);

	if (u->spec.on_done) {
		ctx_callback_enter();
		u->spec.on_done(u->res.status, u->spec.userdata);
		ctx_callback_leave();
	}
	pthread_mutex_lock(&u->lock);
	u->synced.finished = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* The message of a failed upload kept for resume says how to go on. */
static void say_kept(struct hoist_result *r, const char *upload_id)
{
	struct buf b = BUF_INIT;

	if (r->message &&
	    buf_printf(&b, "%s; upload %s kept for resume: rerun the same command to "
			   "continue, or abort it with 'hoist abort --upload-id %s'",
		       r->message, upload_id, upload_id) == 0) {
		free(r->message);
		r->message = buf_detach(&b);
	}
	buf_free(&b);
}

static void upload_finish(struct hoist_upload *u)
{
	struct hoist_result *r = &u->res;
	int keep;

	if (u->state == UP_DONE)
		return;
	u->state = UP_DONE;
	if (!u->failing && !u->callback_failed) {
		r->status = HOIST_OK;
		verify_settle(&u->oc);
		r->verified = u->oc.verified;
	}
	if (!r->bucket) {
		result_setstr(&r->bucket, u->spec.bucket);
	}
	if (!r->key) {
		result_setstr(&r->key, u->spec.key);
	}
	stats_finish(u);
	keep = u->keep_for_resume && u->rs.journal;
	if (keep) {
		say_kept(r, u->upload_id);
	}
	resume_end(u, keep);
	if (r->status == HOIST_OK || r->status == HOIST_E_CALLBACK) {
		ctx_log(u->ctx, "%s: %" PRIu64 " bytes in %.3f s", u->spec.key, r->bytes, r->seconds);
	}
	stats_progress(u, 1);
	loop_client_remove(u->loop, &u->client);
	atomic_store_explicit(&u->done_flag, 1, memory_order_release);
	loop_post(u->loop, &u->fin_msg);
}

static void upload_tick(struct loop_client *c, uint64_t now)
{
	struct hoist_upload *u = container_of(c, struct hoist_upload, client);

	resume_flush(u, now, 0);
	part_pipe_tick(&u->pipe, now);
	if (u->spec.progress && now - u->last_progress_ms >= 100) {
		u->last_progress_ms = now;
		stats_progress(u, 0);
	}
	/* Last: this may finish the upload. */
	if (atomic_load_explicit(&u->cancel, memory_order_relaxed) && !u->failing &&
	    (u->state == UP_NEW || u->state == UP_STREAM || u->state == UP_PUT ||
	     u->state == UP_INITIATE ||
	     u->state == UP_LIST || u->state == UP_PARTS)) {
		upload_fail_status(u, HOIST_E_CANCELLED, NULL, 0, NULL);
		upload_maybe_finish(u);
	}
}

static void start_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, start_msg);

	loop_client_add(u->loop, &u->client);
	u->rs.last_flush_ms = hoist__now_ms();
	if (u->stream) {
		u->state = UP_STREAM; /* the stream's first part decides */
		return;
	}
	if (u->plan.nparts == 0) {
		u->state = UP_PUT;
		if (!u->spec.sums.prepass) {
			ctl_send(u);
		} else {
			part_pipe_schedule(&u->pipe); /* hash first, then PUT */
		}
		return;
	}
	if (u->upload_id) {
		u->state = UP_LIST;
		ctl_send(u);
		return;
	}
	u->state = UP_INITIATE;
	ctl_send(u);
	part_pipe_schedule(&u->pipe); /* hashing runs ahead of Initiate */
}

struct hoist_upload *upload_new(struct ctx *ctx, struct source *src)
{
	struct hoist_upload *u = calloc(1, sizeof(*u));

	if (!u) {
		source_free(src);
		return NULL;
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	u->ctx = ctx;
	u->src = src;
	u->client.tick = upload_tick;
	u->start_msg.fn = start_msg_fn;
	u->fin_msg.fn = fin_msg_fn;
	u->stream_msg.fn = stream_msg_fn;
	u->ctl_timer.heap_index = (size_t)-1;
	u->ctl_timer.fn = ctl_timer_fire;
	u->rng = retry_seed();
	u->t0 = hoist__now_s();
	u->upload_buffer = request_upload_buffer(1);
	return u;
}

static void pipe_conf(const struct hoist_upload *u, unsigned hash_window,
		      struct part_pipe_conf *pc)
{
	memset(pc, 0, sizeof(*pc));
	pc->op = "UploadPart";
	pc->prepass = u->spec.sums.prepass;
	pc->want_md5 = u->spec.sums.want_md5;
	pc->want_crc = u->spec.sums.want_crc;
	pc->s3sum = u->spec.sums.s3sum;
	pc->jobs = u->spec.jobs;
	pc->fixed_concurrency = u->spec.fixed_concurrency;
	pc->hash_window = hash_window;
	pc->part_size = u->stream ? u->splan.start : u->plan.part_size;
}

int upload_prepare(struct hoist_upload *u, unsigned hash_window)
{
	struct part_pipe_conf pc;

	pipe_conf(u, hash_window, &pc);
	/* The loop is known only when posted; the pipeline reads it then. */
	return part_pipe_init(&u->pipe, &u->plan, &pc, u->ctx, NULL, u->pool, u->src, &u->stats,
			      &u->cancel, &pipe_ops, u);
}

int upload_prepare_stream(struct hoist_upload *u, unsigned hash_window)
{
	struct part_pipe_conf pc;

	pipe_conf(u, hash_window, &pc);
	return part_pipe_init_open(&u->pipe, u->splan.max_parts, &pc, u->ctx, NULL, u->pool,
				   u->src, &u->stats, &u->cancel, &pipe_ops, u);
}

void upload_post(struct hoist_upload *u, struct loop *loop)
{
	u->loop = loop;
	u->pipe.loop = loop;
	loop_post(loop, &u->start_msg);
}

void upload_cancel(struct hoist_upload *u)
{
	/* Async-signal-safe: an atomic store and a write(2) inside
	 * curl_multi_wakeup. */
	atomic_store_explicit(&u->cancel, 1, memory_order_relaxed);
	if (u->loop && !atomic_load_explicit(&u->done_flag, memory_order_acquire)) {
		loop_wakeup(u->loop);
	}
}

void upload_wait_finished(struct hoist_upload *u)
{
	pthread_mutex_lock(&u->lock);
	while (!u->synced.finished) {
		pthread_cond_wait(&u->cond, &u->lock);
	}
	pthread_mutex_unlock(&u->lock);
}

static void barrier_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, barrier_msg);

	pthread_mutex_lock(&u->lock);
	u->synced.barrier = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* A stream's producer may have posted stream_msg after the upload ended:
 * stop it (no more posts), then let the loop run what is queued (messages
 * run in order, so a barrier message is enough) before the stream and the
 * upload go away. */
static void quiesce_stream(struct hoist_upload *u)
{
	stream_stop(u->stream);
	/* Never posted, or the engine is gone (its loops ran every posted
	 * message before they stopped). */
	if (!u->loop || atomic_load_explicit(&u->live.detached, memory_order_acquire))
		return;
	u->barrier_msg.fn = barrier_msg_fn;
	loop_post(u->loop, &u->barrier_msg);
	pthread_mutex_lock(&u->lock);
	while (!u->synced.barrier) {
		pthread_cond_wait(&u->cond, &u->lock);
	}
	pthread_mutex_unlock(&u->lock);
}

void upload_destroy(struct hoist_upload *u)
{
	if (!u)
		return;
	if (u->stream) {
		quiesce_stream(u);
	}
	part_pipe_free(&u->pipe);
	source_free(u->src);
	resume_state_cleanup(&u->rs);
	buf_free(&u->complete_body);
	free(u->upload_id);
	free(u->spec.bucket);
	free(u->spec.key);
	free(u->spec.content_type);
	upload_req_object_headers_free(&u->spec);
	free(u->spec.callback_b64);
	free(u->spec.callback_var_b64);
	hoist_result_cleanup(&u->res);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
