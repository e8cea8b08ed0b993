/*
 * upload.c - the upload state machine and the public upload API.
 *
 * An upload is posted to one event loop and lives there:
 *
 *   PutObject:  PUT -> [HEAD] -> done
 *   multipart:  Initiate -> parts (part.c) -> Complete -> [HEAD] -> done
 *   resume:     ListParts (reconcile with the journal) -> parts -> ...
 *   failure:    stop parts -> Abort (or keep the upload for resume) -> done
 *
 * "Control" requests (Put, Initiate, ListParts, Complete, Head, Abort) go
 * one at a time through ctl_send/ctl_done with their own retry count; parts
 * run many at a time in part.c.  HEAD is used only when a response lacked
 * what we verify with (no x-oss-hash-crc64ecma from an OSS server, or an
 * empty ETag as RGW sends), and result->verified says what checked the
 * object: its CRC64 (response or HEAD), its ETag, or only its parts (a
 * final ETag without "-N", as s3rver sends, cannot be predicted from the
 * parts: it is logged, not failed; a "-N" ETag that differs fails).
 * The end is signalled from a posted message, so that no code on the stack
 * can touch the upload after hoist_upload_wait returns and the owner frees
 * it.
 *
 * Threading: the API functions run on the caller's thread; everything
 * after the start message runs on the loop thread (see upload.h).
 */
#include "upload.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callback.h"
#include "checksum.h"
#include "dialect.h"
#include "engine.h"
#include "journal.h"
#include "request.h"
#include "retry.h"
#include "source.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void ctl_send(struct hoist_upload *u);
static void ctl_enter(struct hoist_upload *u, enum upload_state state);
static void upload_finish(struct hoist_upload *u);

/* -------------------------------------------------------- engine list */

void upload_list_insert_locked(struct hoist_upload **head, struct hoist_upload *u)
{
	u->eng_prev = NULL;
	u->eng_next = *head;
	if (*head) {
		(*head)->eng_prev = u;
	}
	*head = u;
}

void upload_list_remove_locked(struct hoist_upload **head, struct hoist_upload *u)
{
	if (u->detached)
		return;
	if (u->eng_prev) {
		u->eng_prev->eng_next = u->eng_next;
	} else if (*head == u) {
		*head = u->eng_next;
	}
	if (u->eng_next) {
		u->eng_next->eng_prev = u->eng_prev;
	}
	u->eng_next = u->eng_prev = NULL;
}

void upload_wait_finished(struct hoist_upload *u)
{
	pthread_mutex_lock(&u->lock);
	while (!u->synced.finished) {
		pthread_cond_wait(&u->cond, &u->lock);
	}
	pthread_mutex_unlock(&u->lock);
}

void upload_list_detach_all_locked(struct hoist_upload **head)
{
	struct hoist_upload *u;

	for (u = *head; u; u = u->eng_next) {
		hoist_upload_cancel(u);
	}
	while (*head) {
		u = *head;
		*head = u->eng_next;
		upload_wait_finished(u);
		atomic_store_explicit(&u->detached, 1, memory_order_release);
		u->eng_next = u->eng_prev = NULL;
	}
}

/* ------------------------------------------------------------ helpers */

void upload_note_request(struct hoist_upload *u, const struct request *r)
{
	if (!u->ttfb_set && r->http > 0) {
		u->res.ttfb_seconds = r->ttfb;
		u->ttfb_set = 1;
	}
	if (r->body_kind == REQ_BODY_SOURCE) {
		u->res.bytes_sent += r->pos;
	}
	if (r->http > 0) {
		u->res.http_status = r->http;
	}
}

uint64_t upload_retry_delay(struct hoist_upload *u, const struct request *r,
			    unsigned attempt)
{
	const struct engine_conf *c = &u->engine->conf;
	uint64_t d = retry_backoff_ms(attempt, c->retry_base_ms, c->retry_cap_ms, &u->rng);
	uint64_t sd = retry_server_delay_ms(r->retry_after, r->qos_delay, c->retry_cap_ms);
	int64_t off;

	if (sd > d) {
		d = sd;
	}
	if (r->err.code && (strcmp(r->err.code, "RequestTimeTooSkewed") == 0 ||
			    strcmp(r->err.code, "RequestExpired") == 0) &&
	    request_clock_skew(r, &off) == 0) {
		atomic_store_explicit(&u->engine->clock_offset, off, memory_order_relaxed);
		engine_log(u->engine,
			   "the server's clock differs from ours by %" PRId64 " s; signing with its time",
			   off);
	}
	return d;
}

void upload_fail(struct hoist_upload *u, const struct failure *f)
{
	if (u->failing)
		return;
	u->failing = 1;
	result_set_failure(&u->res, f);
	parts_stop(u);
	loop_timer_cancel(u->loop, &u->ctl_timer);
	/* A PUT or ListParts in flight is abandoned at once; an Initiate is
	 * let finish so that its upload id can be aborted; Complete, HEAD and
	 * Abort are never interrupted (upload_tick does not cancel them). */
	if (u->ctl && (u->state == UP_PUT || u->state == UP_LIST)) {
		loop_remove(u->loop, &u->ctl->xfer);
		upload_note_request(u, u->ctl);
		request_free(u->ctl);
		u->ctl = NULL;
	}
}

void upload_fail_status(struct hoist_upload *u, hoist_status st, const char *op,
			unsigned part, const char *detail)
{
	struct failure f;

	memset(&f, 0, sizeof(f));
	f.status = st;
	f.op = op;
	f.part = part;
	f.detail = detail;
	upload_fail(u, &f);
}

void upload_call_progress(struct hoist_upload *u, int final)
{
	uint64_t total = u->plan.size, cur;

	if (!u->progress)
		return;
	cur = u->acked + parts_inflight_bytes(u);
	if (u->state == UP_PUT && u->ctl) {
		cur += u->ctl->pos;
	}
	if (cur > total) {
		cur = total;
	}
	if (final && u->res.status == HOIST_OK && !u->failing) {
		cur = total;
	}
	if (cur <= u->reported && !final)
		return;
	if (cur < u->reported) {
		cur = u->reported;
	}
	hoist__in_callback++;
	u->progress(cur - u->reported, cur, total, u->inflight, u->userdata);
	hoist__in_callback--;
	u->reported = cur;
}

/* Where a failed upload goes: keep it for resume when a journal can bring
 * it back, abort it otherwise, so that no parts are orphaned. */
static int worth_keeping(const struct hoist_upload *u)
{
	switch (u->res.status) {
	case HOIST_E_SOURCE_CHANGED:
	case HOIST_E_NOT_FOUND:
	case HOIST_E_CONFLICT:
	case HOIST_E_INVALID_ARG:
		return 0;
	default:
		return u->journal != NULL && !u->no_resume;
	}
}

void upload_maybe_finish(struct hoist_upload *u)
{
	if (!u->failing || u->state == UP_ABORT || u->state == UP_DONE)
		return;
	if (u->inflight || u->hashing || u->ctl)
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

static int add_common_object_headers(struct hoist_upload *u, struct request *r)
{
	const struct dialect_names *nm = dialect_names(u->engine->conf.dialect);
	int rc = 0;

	if (u->forbid_overwrite && nm->forbid_overwrite) {
		rc |= request_header(r, nm->forbid_overwrite, "true");
	}
	return rc;
}

static int add_callback_headers(struct hoist_upload *u, struct request *r)
{
	int rc = 0;

	if (u->callback_b64) {
		rc |= request_header(r, "x-oss-callback", u->callback_b64);
	}
	if (u->callback_var_b64) {
		rc |= request_header(r, "x-oss-callback-var", u->callback_var_b64);
	}
	return rc;
}

static struct buf complete_body_of(struct hoist_upload *u, int *rc)
{
	struct buf b = BUF_INIT;

	*rc = parts_complete_xml(u, &b);
	return b;
}

static void ctl_done(struct request *r);

/* The request of the current state.  NULL on ENOMEM. */
static struct request *ctl_build(struct hoist_upload *u)
{
	const struct engine_conf *c = &u->engine->conf;
	int oss = c->dialect == HOIST_DIALECT_OSS;
	struct request *r = NULL;
	char num[24];
	int rc = 0;

	switch (u->state) {
	case UP_PUT:
		r = request_new(u->engine, "PutObject", "PUT", u->bucket, u->key);
		if (!r)
			return NULL;
		rc |= request_header(r, "Content-Type", u->content_type);
		if (u->want_md5 && u->parts[0].have_md5) {
			char b64[25];

			md5_to_base64(b64, u->parts[0].md5);
			rc |= request_header(r, "Content-MD5", b64);
		}
		if (u->parts[0].have_s3sum) {
			char sum[13];

			s3sum_encode(sum, u->s3sum, u->parts[0].s3sum);
			rc |= request_header(r, s3sum_header(u->s3sum), sum);
			r->echo_header = s3sum_header(u->s3sum);
		}
		rc |= add_common_object_headers(u, r);
		rc |= add_callback_headers(u, r);
		r->body_kind = REQ_BODY_SOURCE;
		r->src = u->src;
		r->off = 0;
		r->len = u->plan.size;
		r->crc_inline = u->crc_inline;
		r->upload_buffer = u->upload_buffer;
		r->sent_total = &u->wire_bytes;
		break;
	case UP_INITIATE:
		r = request_new(u->engine, "InitiateMultipartUpload", "POST", u->bucket, u->key);
		if (!r)
			return NULL;
		if (oss) {
			rc |= request_query(r, "encoding-type", "url");
		}
		rc |= request_query(r, "uploads", NULL);
		rc |= request_header(r, "Content-Type", u->content_type);
		rc |= add_common_object_headers(u, r);
		/* S3 accepts part checksums only in an upload created for
		 * them.  CRC64NVME exists only as a full-object checksum;
		 * CRC32C stays composite (the default, and what RGW knows). */
		if (u->s3sum != HOIST_S3_CHECKSUM_NONE) {
			rc |= request_header(r, "x-amz-checksum-algorithm",
					     s3sum_algorithm(u->s3sum));
			if (u->s3sum == HOIST_S3_CHECKSUM_CRC64NVME) {
				rc |= request_header(r, "x-amz-checksum-type", "FULL_OBJECT");
			}
		}
		break;
	case UP_LIST:
		r = request_new(u->engine, "ListParts", "GET", u->bucket, u->key);
		if (!r)
			return NULL;
		if (oss) {
			rc |= request_query(r, "encoding-type", "url");
		}
		rc |= request_query(r, "max-parts", "1000");
		if (u->list_marker) {
			snprintf(num, sizeof(num), "%" PRIu64, u->list_marker);
			rc |= request_query(r, "part-number-marker", num);
		}
		rc |= request_query(r, "uploadId", u->upload_id);
		break;
	case UP_COMPLETE:
		r = request_new(u->engine, "CompleteMultipartUpload", "POST", u->bucket, u->key);
		if (!r)
			return NULL;
		if (oss) {
			rc |= request_query(r, "encoding-type", "url");
		}
		rc |= request_query(r, "uploadId", u->upload_id);
		if (u->complete_all && oss) {
			rc |= request_header(r, dialect_names(c->dialect)->complete_all, "yes");
		} else {
			uint8_t md5[16];
			char b64[25];

			md5_once(md5, u->complete_body.data, u->complete_body.len);
			md5_to_base64(b64, md5);
			rc |= request_header(r, "Content-MD5", b64);
			rc |= request_header(r, "Content-Type", "application/xml");
			r->body_kind = REQ_BODY_MEM;
			r->mem = u->complete_body.data;
			r->memlen = u->complete_body.len;
		}
		rc |= add_common_object_headers(u, r);
		rc |= add_callback_headers(u, r);
		break;
	case UP_HEAD:
		r = request_new(u->engine, "HeadObject", "HEAD", u->bucket, u->key);
		break;
	case UP_ABORT:
		r = request_new(u->engine, "AbortMultipartUpload", "DELETE", u->bucket, u->key);
		if (r) {
			rc |= request_query(r, "uploadId", u->upload_id);
		}
		break;
	default:
		return NULL;
	}
	if (!r || rc) {
		request_free(r);
		return NULL;
	}
	r->done = ctl_done;
	r->owner = u;
	return r;
}

/* Moves the upload to a control step (Initiate, Complete, HEAD, Abort) and
 * sends its first attempt: the attempt count belongs to the step, so every
 * entry resets it. */
static void ctl_enter(struct hoist_upload *u, enum upload_state state)
{
	u->state = state;
	u->ctl_attempts = 0;
	ctl_send(u);
}

static void ctl_send(struct hoist_upload *u)
{
	struct request *r = ctl_build(u);

	if (!r) {
		if (u->state == UP_ABORT) {
			upload_finish(u);
			return;
		}
		upload_fail_status(u, HOIST_E_NOMEM, NULL, 0, NULL);
		upload_maybe_finish(u);
		return;
	}
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

	ctl_send(u);
}

void upload_begin_complete(struct hoist_upload *u)
{
	int rc;

	if (u->state != UP_PARTS || u->failing)
		return;
	/* Never complete an object from bytes that may have changed. */
	if (source_changed(u->src)) {
		upload_fail_status(u, HOIST_E_SOURCE_CHANGED, "CompleteMultipartUpload", 0,
				   "the file changed (size or mtime) during the upload; not completing");
		upload_maybe_finish(u);
		return;
	}
	parts_combine(u);
	journal_flush(u->journal);
	buf_free(&u->complete_body);
	if (!(u->complete_all && u->engine->conf.dialect == HOIST_DIALECT_OSS)) {
		u->complete_body = complete_body_of(u, &rc);
		if (rc) {
			upload_fail_status(u, HOIST_E_NOMEM, "CompleteMultipartUpload", 0, NULL);
			upload_maybe_finish(u);
			return;
		}
	}
	ctl_enter(u, UP_COMPLETE);
}

/* The object's CRC64 check shared by Put, Complete and Head.  Returns 0
 * when it matched or cannot be checked (*need_head tells whether a HEAD
 * could), -1 on a mismatch (f filled). */
static int check_object_crc(struct hoist_upload *u, const struct request *r,
			    enum hoist_verify how, int *need_head, struct failure *f,
			    char *detail, size_t dlen)
{
	*need_head = 0;
	/* S3 has no whole-object CRC64 to compare with: a HEAD would not
	 * find one either. */
	if (!u->object_crc_valid || !dialect_names(u->engine->conf.dialect)->crc64)
		return 0;
	if (!r->resp_crc_valid) {
		*need_head = 1;
		return 0;
	}
	if (r->resp_crc != u->object_crc) {
		memset(f, 0, sizeof(*f));
		f->status = HOIST_E_CHECKSUM;
		f->op = r->op;
		f->http = r->http;
		f->request_id = r->request_id;
		snprintf(detail, dlen,
			 "the stored object's CRC64 is %" PRIu64 ", the parts sent combine to %" PRIu64,
			 r->resp_crc, u->object_crc);
		f->detail = detail;
		return -1;
	}
	u->res.verified = how;
	return 0;
}

/* The object's ETag against the multipart ETag the parts sent predict.
 * Returns 0 when it matched or cannot be compared, 1 when it is empty
 * (RGW: ask HEAD), -1 on a mismatch (f filled).  An ETag without the
 * "-N" suffix is not a multipart ETag at all: s3rver answers with the
 * plain MD5 of the object, which the parts' MD5s cannot predict.  Every
 * part was verified already, so that is noted, not failed; a "-N" ETag
 * that differs is a wrong object and fails. */
static int check_object_etag(struct hoist_upload *u, const struct request *r,
			     const char *etag, struct failure *f, char *detail, size_t dlen)
{
	if (!u->expected_etag[0])
		return 0;
	if (!etag || !*etag)
		return 1;
	if (!etag_is_multipart(etag)) {
		if (!u->etag_unchecked) {
			engine_log(u->engine,
				   "%s: the server's ETag %.64s is not a multipart ETag "
				   "(\"<md5>-N\"): every part was verified, the object as a "
				   "whole cannot be checked by its ETag",
				   u->key, etag);
		}
		u->etag_unchecked = 1;
		return 0;
	}
	if (!etag_equal(etag, u->expected_etag)) {
		memset(f, 0, sizeof(*f));
		f->status = HOIST_E_CHECKSUM;
		f->op = r->op;
		f->http = r->http;
		f->request_id = r->request_id;
		snprintf(detail, dlen, "the object's ETag is %.64s, the parts sent give %s", etag,
			 u->expected_etag);
		f->detail = detail;
		return -1;
	}
	u->etag_matched = 1;
	return 0;
}

/* S3: the object checksum a Complete answer names (AWS does, for uploads
 * created with x-amz-checksum-algorithm) against the one the parts
 * predict: CRC64NVME is a full-object CRC; CRC32C is composite,
 * "<CRC32C of the part CRCs>-N", unless the server made it full-object.
 * Absent (RGW, ossemu, s3rver): nothing to check.  Returns 0, or -1 on a
 * mismatch with f filled. */
static int check_object_s3sum(struct hoist_upload *u, const struct request *r,
			      const struct complete_doc *d, struct failure *f, char *detail,
			      size_t dlen)
{
	const char *got = u->s3sum == HOIST_S3_CHECKSUM_CRC32C ? d->checksum_crc32c
								 : d->checksum_crc64nvme;
	char full[13], composite[24];

	if (u->s3sum == HOIST_S3_CHECKSUM_NONE || !got || !*got ||
	    parts_s3sum_object(u, full, composite) < 0)
		return 0;
	if (strcmp(got, full) == 0 || strcmp(got, composite) == 0)
		return 0;
	memset(f, 0, sizeof(*f));
	f->status = HOIST_E_CHECKSUM;
	f->op = r->op;
	f->http = r->http;
	f->request_id = r->request_id;
	snprintf(detail, dlen, "the object's %s is %.32s, the parts sent give %s (or %s)",
		 s3sum_element(u->s3sum), got, full, composite);
	f->detail = detail;
	return -1;
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
	if (check_object_crc(u, r, HOIST_VERIFY_RESPONSE, &need_head, &cf, detail,
			     sizeof(detail)) < 0) {
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
	struct part *p = &u->parts[0];
	int need_head = 0;

	if (r->http == 203) {
		/* Stored, callback failed: our CRC still describes it. */
		if (u->crc_inline && r->pos == p->len) {
			p->crc = r->crc;
			p->have_crc = 1;
		}
		u->object_crc = p->crc;
		u->object_crc_valid = u->want_crc && p->have_crc;
		u->acked = u->plan.size;
		callback_failed(u, r);
		return HOIST_OK;
	}
	memset(f, 0, sizeof(*f));
	f->op = r->op;
	f->http = r->http;
	f->request_id = r->request_id;
	f->detail = detail;
	*retry = 1;
	if (u->crc_inline) {
		if (r->pos != p->len) {
			snprintf(detail, dlen, "the request ended after %" PRIu64 " of %" PRIu64 " bytes",
				 r->pos, p->len);
			return f->status = HOIST_E_NETWORK;
		}
		p->crc = r->crc;
		p->have_crc = 1;
	}
	if (u->want_md5 && p->have_md5 && !u->callback_b64 &&
	    !etag_equals_md5(r->etag, p->md5)) {
		char ours[33];

		hex_encode(ours, p->md5, 16, u->engine->conf.dialect != HOIST_DIALECT_S3);
		snprintf(detail, dlen, "server ETag %.64s, our MD5 %s", r->etag ? r->etag : "(none)",
			 ours);
		return f->status = HOIST_E_CHECKSUM;
	}
	if (p->have_s3sum && r->echo && !s3sum_equals(r->echo, u->s3sum, p->s3sum)) {
		snprintf(detail, dlen, "server %s %.24s does not match ours",
			 s3sum_header(u->s3sum), r->echo);
		return f->status = HOIST_E_CHECKSUM;
	}
	if (u->want_md5 && p->have_md5 && u->callback_b64 && r->etag &&
	    !etag_equals_md5(r->etag, p->md5)) {
		snprintf(detail, dlen, "server ETag %.64s does not match our MD5", r->etag);
		return f->status = HOIST_E_CHECKSUM;
	}
	if (u->want_md5 && p->have_md5 && r->etag) {
		u->etag_matched = 1;
	}
	u->object_crc = p->crc;
	u->object_crc_valid = u->want_crc && p->have_crc;
	if (check_object_crc(u, r, HOIST_VERIFY_RESPONSE, &need_head, f, detail, dlen) < 0) {
		return HOIST_E_CHECKSUM; /* retried: the PUT replaces the object */
	}
	u->acked = u->plan.size;
	fill_success(u, r);
	result_setstr(&u->res.etag, r->etag);
	if (u->callback_b64 && r->body.len) {
		result_setstr(&u->res.callback_body, r->body.data);
	}
	u->completed = 1;
	if (need_head) {
		u->head_reason_crc = 1;
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
		memset(f, 0, sizeof(*f));
		f->op = r->op;
		f->http = r->http;
		f->request_id = r->request_id;
		snprintf(detail, dlen, "the response has no UploadId");
		f->detail = detail;
		*retry = 1;
		return f->status = HOIST_E_SERVER;
	}
	u->upload_id = d.upload_id;
	d.upload_id = NULL;
	initiate_doc_cleanup(&d);
	if (u->failing) {
		upload_maybe_finish(u); /* cancelled meanwhile: abort it */
		return HOIST_OK;
	}
	if (u->journal_path) {
		/* Replace the intent with the upload id before any part goes
		 * out (journal.h): from here on a killed run can resume. */
		struct journal *intent = u->journal;
		struct journal_rec rec;

		memset(&rec, 0, sizeof(rec));
		rec.endpoint = u->engine->conf.endpoint_url;
		rec.bucket = u->bucket;
		rec.key = u->key;
		rec.upload_id = u->upload_id;
		rec.no_resume = u->no_resume;
		rec.part_size = u->plan.part_size;
		rec.size = u->plan.size;
		rec.dev = u->src->dev;
		rec.ino = u->src->ino;
		rec.mtime_ns = u->src->mtime_ns;
		u->journal = NULL;
		if (journal_create(&u->journal, u->journal_path, &rec) < 0) {
			engine_log(u->engine,
				   "cannot write the resume journal %s (%s): this upload will not be resumable",
				   u->journal_path, strerror(errno));
			u->journal = intent;
		} else {
			journal_close(intent); /* its file was replaced */
		}
	}
	u->state = UP_PARTS;
	parts_schedule(u);
	return HOIST_OK;
}

/* Resume: marks the parts ListParts reports.  Those the journal recorded
 * with the same size and ETag (and CRC) are done; other listed parts of the
 * right size are verified by hashing our range (part.c). */
static void reconcile(struct hoist_upload *u)
{
	struct hoist_part_list *l = u->listed;
	size_t i;

	for (i = 0; l && i < l->count; i++) {
		const struct hoist_part_entry *e = &l->parts[i];
		const struct journal_part *jp;
		struct part *p;

		if (e->part_number == 0 || e->part_number > u->nparts || !e->etag)
			continue;
		p = &u->parts[e->part_number - 1];
		if (p->state == PART_DONE || e->size != p->len)
			continue;
		jp = journal_rec_find(&u->resume, e->part_number);
		/* With an S3 checksum every part is hashed again: the journal
		 * does not keep that checksum and Complete must name it. */
		if (!u->s3sum && jp && jp->size == e->size && jp->etag &&
		    etag_equal(jp->etag, e->etag) &&
		    (!jp->crc_valid || !e->crc64_valid || jp->crc == e->crc64)) {
			p->etag = strdup(e->etag);
			if (!p->etag)
				continue;
			if (jp->crc_valid || e->crc64_valid) {
				p->crc = jp->crc_valid ? jp->crc : e->crc64;
				p->have_crc = 1;
			}
			if (etag_to_md5(p->md5, p->etag) == 0) {
				p->have_md5 = 1;
			}
			p->resumed = 1;
			u->res.resumed_parts++;
			p->state = PART_DONE;
			u->done_parts++;
			u->acked += p->len;
			journal_part(u->journal, p->number, p->len, p->etag, p->crc, p->have_crc);
			continue;
		}
		free(p->listed_etag);
		p->listed_etag = strdup(e->etag);
		if (!p->listed_etag)
			continue;
		p->listed = 1;
		p->listed_crc = e->crc64;
		p->listed_crc_valid = e->crc64_valid;
		p->state = PART_PLANNED; /* hash it, then compare */
	}
	hoist_part_list_free(u->listed);
	u->listed = NULL;
	journal_rec_cleanup(&u->resume);
	engine_log(u->engine, "resuming upload %s: %u of %u parts already on the server",
		   u->upload_id, u->done_parts, u->nparts);
}

static hoist_status on_list(struct hoist_upload *u, struct request *r,
			    struct failure *f, int *retry, char *detail, size_t dlen)
{
	struct list_parts_page page;

	if (!u->listed) {
		u->listed = calloc(1, sizeof(*u->listed));
		if (!u->listed) {
			memset(f, 0, sizeof(*f));
			f->op = r->op;
			*retry = 0;
			return f->status = HOIST_E_NOMEM;
		}
	}
	if (response_parse_list_parts(u->listed, &page, r->body.data, r->body.len) < 0) {
		memset(f, 0, sizeof(*f));
		f->op = r->op;
		f->http = r->http;
		f->request_id = r->request_id;
		snprintf(detail, dlen, "unreadable ListParts response");
		f->detail = detail;
		*retry = 1;
		return f->status = HOIST_E_SERVER;
	}
	if (page.truncated && page.next_marker > u->list_marker) {
		u->list_marker = page.next_marker;
		u->ctl_attempts = 0;
		ctl_send(u);
		return HOIST_OK;
	}
	reconcile(u);
	u->state = UP_PARTS;
	parts_schedule(u);
	return HOIST_OK;
}

static hoist_status on_complete(struct hoist_upload *u, struct request *r,
				struct failure *f, int *retry, char *detail, size_t dlen)
{
	struct complete_doc d;
	const char *etag;
	int need_head = 0, rc;

	if (r->http == 203) {
		callback_failed(u, r);
		return HOIST_OK;
	}
	memset(&d, 0, sizeof(d));
	if (!u->callback_b64) {
		rc = response_parse_complete(&d, r->body.data, r->body.len);
		if (rc != 0) {
			memset(f, 0, sizeof(*f));
			f->op = r->op;
			f->http = r->http;
			f->request_id = r->request_id;
			if (rc == 1) {
				/* An error inside a 200: S3 does this for
				 * failures after it started answering. */
				hoist_status st;

				dialect_classify(u->engine->conf.dialect, 400, d.err.code, &st, retry);
				if (d.err.code && (strcmp(d.err.code, "InternalError") == 0 ||
						   strcmp(d.err.code, "ServiceUnavailable") == 0)) {
					st = HOIST_E_SERVER;
					*retry = 1;
				}
				snprintf(detail, dlen, "%s: %s (a 200 response whose body is an error)",
					 d.err.code ? d.err.code : "Error",
					 d.err.message ? d.err.message : "");
				f->detail = detail;
				if (d.err.request_id) {
					snprintf(u->scratch, sizeof(u->scratch), "%s", d.err.request_id);
				}
				complete_doc_cleanup(&d);
				return f->status = st;
			}
			snprintf(detail, dlen, "unreadable CompleteMultipartUpload response");
			f->detail = detail;
			*retry = 0;
			return f->status = HOIST_E_SERVER;
		}
	}
	u->completed = 1;
	fill_success(u, r);
	if (check_object_s3sum(u, r, &d, f, detail, dlen) < 0) {
		complete_doc_cleanup(&d);
		*retry = 0;
		return f->status;
	}
	etag = d.etag && *d.etag ? d.etag : r->etag;
	result_setstr(&u->res.etag, etag);
	result_setstr(&u->res.location, d.location);
	result_setstr(&u->res.encoding_type, d.encoding_type);
	if (u->callback_b64 && r->body.len) {
		result_setstr(&u->res.callback_body, r->body.data);
	}
	complete_doc_cleanup(&d);

	if (check_object_crc(u, r, HOIST_VERIFY_RESPONSE, &need_head, f, detail, dlen) < 0) {
		/* The object exists now; ask it directly before calling it
		 * wrong: a damaged response header must not fail a good
		 * upload, and a wrong object says so again on HEAD. */
		engine_log(u->engine, "%s: %s; checking the object with HEAD", u->key, detail);
		need_head = 1;
		u->head_after_mismatch = 1;
	}
	u->head_reason_crc = need_head;
	rc = check_object_etag(u, r, u->res.etag, f, detail, dlen);
	if (rc < 0) {
		*retry = 0;
		return f->status;
	}
	if (rc > 0) {
		u->head_reason_etag = 1; /* RGW: empty <ETag> */
	}
	if (u->head_reason_crc || u->head_reason_etag) {
		ctl_enter(u, UP_HEAD);
	} else {
		upload_finish(u);
	}
	return HOIST_OK;
}

static hoist_status on_head(struct hoist_upload *u, struct request *r,
			    struct failure *f, int *retry, char *detail, size_t dlen)
{
	uint64_t len = 0;
	int need_head = 0, checked = 0, rc;

	memset(f, 0, sizeof(*f));
	f->op = r->op;
	f->http = r->http;
	f->request_id = r->request_id;
	f->detail = detail;
	*retry = 0;
	if (r->content_length && parse_u64(r->content_length, &len) == 0 &&
	    len != u->plan.size) {
		snprintf(detail, dlen, "the stored object has %" PRIu64 " bytes, we sent %" PRIu64,
			 len, u->plan.size);
		return f->status = HOIST_E_CHECKSUM;
	}
	if (check_object_crc(u, r, HOIST_VERIFY_HEAD, &need_head, f, detail, dlen) < 0)
		return HOIST_E_CHECKSUM;
	if (u->object_crc_valid && !need_head && dialect_names(u->engine->conf.dialect)->crc64) {
		checked = 1;
	}
	if (r->etag && *r->etag) {
		rc = check_object_etag(u, r, r->etag, f, detail, dlen);
		if (rc < 0)
			return f->status;
		if (u->etag_matched) {
			checked = 1;
		}
		if (!u->res.etag || !*u->res.etag) {
			result_setstr(&u->res.etag, r->etag);
		}
	}
	if (u->object_crc_valid && need_head) {
		engine_log(u->engine, "the server sends no CRC64 for %s, not even on HEAD%s", u->key,
			   u->etag_matched ? ": the object is verified by its ETag only" : "");
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

static void ctl_done(struct request *r)
{
	struct hoist_upload *u = r->owner;
	const struct engine_conf *c = &u->engine->conf;
	hoist_status st;
	struct failure f;
	char detail[256];
	int retry = 0;

	u->ctl = NULL;
	upload_note_request(u, r);
	request_outcome(r, &st, &retry, &f);

	if (u->state == UP_ABORT) {
		if (st != HOIST_OK && retry && u->ctl_attempts < 3) {
			u->ctl = NULL;
			loop_timer_set(u->loop, &u->ctl_timer, upload_retry_delay(u, r, u->ctl_attempts));
			request_free(r);
			return;
		}
		if (st != HOIST_OK && r->http != 404) {
			char *m = status_message(&f);

			engine_log(u->engine, "could not abort upload %s: %s", u->upload_id,
				   m ? m : "");
			free(m);
		} else {
			free(u->upload_id);
			u->upload_id = NULL;
			result_setstr(&u->res.upload_id, NULL);
		}
		request_free(r);
		upload_finish(u);
		return;
	}
	if (st == HOIST_OK) {
		switch (u->state) {
		case UP_PUT:
			st = on_put(u, r, &f, &retry, detail, sizeof(detail));
			break;
		case UP_INITIATE:
			st = on_initiate(u, r, &f, &retry, detail, sizeof(detail));
			break;
		case UP_LIST:
			st = on_list(u, r, &f, &retry, detail, sizeof(detail));
			break;
		case UP_COMPLETE:
			st = on_complete(u, r, &f, &retry, detail, sizeof(detail));
			break;
		case UP_HEAD:
			st = on_head(u, r, &f, &retry, detail, sizeof(detail));
			break;
		default:
			st = HOIST_E_INTERNAL;
			memset(&f, 0, sizeof(f));
			f.status = st;
			break;
		}
		if (st == HOIST_OK) {
			request_free(r);
			return;
		}
		if (u->scratch[0] && !f.request_id) {
			f.request_id = u->scratch;
		}
	} else if (u->state == UP_LIST && r->http == 404) {
		/* The journaled upload is gone (aborted or completed since):
		 * start over. */
		engine_log(u->engine, "upload %s no longer exists; starting a new one",
			   u->upload_id);
		free(u->upload_id);
		u->upload_id = NULL;
		hoist_part_list_free(u->listed);
		u->listed = NULL;
		journal_rec_cleanup(&u->resume);
		journal_discard(u->journal);
		u->journal = NULL;
		request_free(r);
		ctl_enter(u, UP_INITIATE);
		parts_schedule(u);
		return;
	} else if (u->state == UP_COMPLETE && u->complete_retried && r->http == 404 &&
		   r->err.code && strcmp(r->err.code, "NoSuchUpload") == 0) {
		request_free(r);
		parts_combine(u);
		ctl_enter(u, UP_HEAD);
		return;
	} else if (u->state == UP_HEAD && u->completed && retry == 0 &&
		   !u->head_after_mismatch) {
		/* The object was completed; only its verification failed. */
		engine_log(u->engine, "HEAD after completion failed; the object is not verified");
		request_free(r);
		upload_finish(u);
		return;
	}

	if (retry && u->ctl_attempts < c->max_attempts && !u->failing) {
		uint64_t delay = upload_retry_delay(u, r, u->ctl_attempts);
		char *m = status_message(&f);

		engine_log(u->engine, "%s; attempt %u of %u, retrying in %" PRIu64 " ms",
			   m ? m : r->op, u->ctl_attempts, c->max_attempts, delay);
		free(m);
		u->res.retries++;
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

/* ------------------------------------------------------------ lifecycle */

static double percentile(double *v, unsigned n, double q)
{
	unsigned i, j;
	size_t k;

	if (n == 0)
		return 0;
	/* Insertion sort is fine for a one-off over <= 10,000 values. */
	for (i = 1; i < n; i++) {
		double x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--) {
			v[j] = v[j - 1];
		}
		v[j] = x;
	}
	k = (size_t)(q * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

static void finish_stats(struct hoist_upload *u)
{
	struct hoist_result *r = &u->res;
	double *lat;
	unsigned i, n = 0;

	r->seconds = hoist__now_s() - u->t0;
	r->parts = u->plan.nparts;
	r->part_size = u->plan.nparts ? u->plan.part_size : u->plan.size;
	r->bytes = u->plan.size;
	if (u->object_crc_valid && u->completed) {
		r->crc64 = u->object_crc;
		r->crc64_valid = 1;
	}
	if (u->plan.nparts == 0)
		return;
	lat = malloc(sizeof(*lat) * u->nparts);
	if (!lat)
		return;
	for (i = 0; i < u->nparts; i++) {
		if (u->parts[i].state == PART_DONE && !u->parts[i].resumed) {
			lat[n++] = u->parts[i].seconds;
		}
	}
	r->part_p50_seconds = percentile(lat, n, 0.50);
	r->part_p99_seconds = percentile(lat, n, 0.99);
	free(lat);
}

/* Runs from a posted message, when nothing of this upload is on the stack:
 * after the broadcast the owner may free the upload at once. */
static void fin_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, fin_msg);

	pthread_mutex_lock(&u->lock);
	u->synced.finished = 1;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

static void upload_finish(struct hoist_upload *u)
{
	struct hoist_result *r = &u->res;

	if (u->state == UP_DONE)
		return;
	u->state = UP_DONE;
	if (!u->failing && !u->callback_failed) {
		r->status = HOIST_OK;
		/* Without a CRC64 from the server, say what did check the
		 * object. */
		if (r->verified == HOIST_VERIFY_NONE && u->etag_matched) {
			r->verified = HOIST_VERIFY_ETAG;
		} else if (r->verified == HOIST_VERIFY_NONE && u->etag_unchecked &&
			 u->unverified_parts == 0) {
			r->verified = HOIST_VERIFY_PARTS;
		}
	}
	if (!r->bucket) {
		result_setstr(&r->bucket, u->bucket);
	}
	if (!r->key) {
		result_setstr(&r->key, u->key);
	}
	finish_stats(u);
	if (u->keep_for_resume && u->journal) {
		struct buf b = BUF_INIT;

		if (r->message &&
		    buf_printf(&b, "%s; upload %s kept for resume: rerun the same command to "
				   "continue, or abort it with 'hoist abort --upload-id %s'",
			       r->message, u->upload_id, u->upload_id) == 0) {
			free(r->message);
			r->message = buf_detach(&b);
		}
		buf_free(&b);
		journal_close(u->journal);
	} else {
		journal_discard(u->journal);
	}
	u->journal = NULL;
	if (r->status == HOIST_OK || r->status == HOIST_E_CALLBACK) {
		engine_log(u->engine, "%s: %" PRIu64 " bytes in %.3f s", u->key, r->bytes,
			   r->seconds);
	}
	upload_call_progress(u, 1);
	loop_client_remove(u->loop, &u->client);
	atomic_store_explicit(&u->done_flag, 1, memory_order_release);
	loop_post(u->loop, &u->fin_msg);
}

static void upload_tick(struct loop_client *c, uint64_t now)
{
	struct hoist_upload *u = container_of(c, struct hoist_upload, client);

	if (u->journal && now - u->last_flush_ms >= 1000) {
		journal_flush(u->journal);
		u->last_flush_ms = now;
	}
	/* Ticks come once per loop iteration, thousands of times a second
	 * under load: the scans over the part table run every 50 ms. */
	if (now - u->last_stall_check_ms >= 50) {
		u->last_stall_check_ms = now;
		parts_check_stalls(u, now);
	}
	if (u->state == UP_PARTS && !u->failing) {
		unsigned before = u->cc.limit;

		if (concurrency_sample(&u->cc, now, u->wire_bytes, u->inflight)) {
			engine_log(u->engine, "parts in flight %u -> %u (%.1f MiB/s measured)", before,
				   u->cc.limit, u->cc.last_rate / (1024.0 * 1024.0));
			parts_schedule(u);
		}
	} else {
		concurrency_pause(&u->cc);
	}
	if (u->progress && now - u->last_progress_ms >= 100) {
		u->last_progress_ms = now;
		upload_call_progress(u, 0);
	}
	/* Last: this may finish the upload. */
	if (atomic_load_explicit(&u->cancel, memory_order_relaxed) && !u->failing &&
	    (u->state == UP_NEW || u->state == UP_PUT || u->state == UP_INITIATE ||
	     u->state == UP_LIST || u->state == UP_PARTS)) {
		upload_fail_status(u, HOIST_E_CANCELLED, NULL, 0, NULL);
		upload_maybe_finish(u);
	}
}

static void start_msg_fn(struct loop_msg *m)
{
	struct hoist_upload *u = container_of(m, struct hoist_upload, start_msg);

	loop_client_add(u->loop, &u->client);
	u->last_flush_ms = hoist__now_ms();
	if (u->plan.nparts == 0) {
		u->state = UP_PUT;
		if (!u->prepass) {
			ctl_send(u);
		} else {
			parts_schedule(u); /* hash first, then PUT (part.c) */
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
	parts_schedule(u);
}

/* part.c calls this when the single part of a PutObject is hashed. */
void upload_put_ready(struct hoist_upload *u)
{
	if (u->state == UP_PUT && !u->ctl && !u->failing) {
		u->parts[0].state = PART_SENDING;
		ctl_send(u);
	}
}

void upload_destroy(struct hoist_upload *u)
{
	if (!u)
		return;
	parts_free(u);
	source_free(u->src);
	hoist_part_list_free(u->listed);
	journal_rec_cleanup(&u->resume);
	buf_free(&u->complete_body);
	free(u->journal_path);
	free(u->upload_id);
	free(u->bucket);
	free(u->key);
	free(u->content_type);
	free(u->callback_b64);
	free(u->callback_var_b64);
	hoist_result_cleanup(&u->res);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void upload_init(struct hoist_upload *u)
{
	u->client.tick = upload_tick;
	u->start_msg.fn = start_msg_fn;
	u->fin_msg.fn = fin_msg_fn;
	u->ctl_timer.heap_index = (size_t)-1;
	u->ctl_timer.fn = ctl_timer_fire;
	u->rng = retry_seed();
	u->t0 = hoist__now_s();
}
