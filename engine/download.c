/*
 * download.c - the download state machine.
 *
 * Layer: transfer.
 *
 * A download is posted to one event loop and lives there:
 *
 *   HEAD (size, ETag, CRC64, version id) -> ranges (part.c) -> checks -> done
 *   failure: stop the ranges -> done
 *
 * An object of one range that a listing described (the caller's known
 * size and ETag, as cp -r has them) skips the HEAD: its one GET is pinned
 * with If-Match on the listed ETag, and what HEAD would have said comes
 * from that answer's own headers (download_adopt_answer), read before its
 * first byte is taken, so every check below is made as after a HEAD.
 *
 * The ranges run in the part pipeline the uploads use (the same adaptive
 * concurrency, retries with backoff, stall detection), without a hashing
 * pre-pass: a range's CRC64 is computed as its bytes are taken
 * (download_req.c).  When every range is in, their CRCs are combined in
 * order and compared with the object's; the expected size and CRC64 of
 * the caller's catalogue are compared too.  The bytes are then in the
 * sink (some perhaps still queued to its writer); making them durable, or
 * removing them, is the owner's step (download_settle, on the caller's
 * thread in hoist_download_wait), kept apart from the transfer.
 *
 * Threading: download_new, download_post, download_cancel,
 * download_wait_finished, download_settle and download_destroy on the
 * caller's thread (download_cancel on any, and from a signal handler);
 * everything else on the loop thread after the start message.
 */
#include "download.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "dialect.h"
#include "download_parts.h"
#include "retry.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

/* Ranges at most: the part table costs ~250 bytes a range, so 100,000
 * ranges (800 GB at 8 MiB) are 25 MB; larger objects get larger ranges. */
#define DL_MAX_RANGES 100000u
#define DL_DEFAULT_RANGE (8ull * 1024 * 1024)

static void finish(struct hoist_download *d);
static void ctl_send(struct hoist_download *d);
static void md5_of(struct hoist_download *d);

/* ------------------------------------------------------------ failure */

static void drop_paused(struct hoist_download *d)
{
	while (d->parked) {
		struct dl_range *g = d->parked;

		d->parked = g->next_paused;
		g->next_paused = NULL;
		g->parked = 0;
	}
	while (d->paused) {
		struct dl_range *g = d->paused;

		d->paused = g->next_paused;
		g->next_paused = NULL;
		g->paused = 0;
		g->paused_req = NULL;
	}
}

/* An ordered sink holds what arrived ahead of its write point, within
 * the budget.  When the budget is full the ranges in flight pause, and if
 * the range at the write point (the head) is not among them (it broke and
 * backs off, or has not started) nothing can free a byte: every slot is
 * held by a paused range waiting for the head.  Then one paused range is
 * parked (its request dropped; what it received stays taken, it continues
 * later from there) and the head is sent at once, backoff or not.  Parked
 * ranges come back when the head is on the wire. */
static void ordered_unblock(struct hoist_download *d)
{
	struct dl_range **pg, *g;
	struct part *hp;

	if (d->sink_kind != SINK_ORDERED || !d->pipe_ready || d->failing ||
	    d->head >= d->pipe.nparts)
		return;
	hp = &d->pipe.parts[d->head];
	if (hp->state == PART_SENDING || hp->state == PART_DONE) {
		while (d->parked) {
			g = d->parked;
			d->parked = g->next_paused;
			g->next_paused = NULL;
			g->parked = 0;
			part_pipe_wake(&d->pipe, &d->pipe.parts[g - d->ranges]);
		}
		return;
	}
	if (concurrency_may_start(d->pipe.cc)) {
		/* A slot is free (a paused range broke off meanwhile) but
		 * nothing finishes to run the scheduler: let the head go. */
		if (hp->state == PART_READY) {
			part_pipe_schedule(&d->pipe);
		}
		return;
	}
	if (!d->paused)
		return;
	for (pg = &d->paused; *pg; pg = &(*pg)->next_paused) {
		if ((unsigned)(*pg - d->ranges) != d->head)
			break;
	}
	if (!*pg)
		return;
	g = *pg;
	*pg = g->next_paused;
	g->paused = 0;
	g->paused_req = NULL;
	g->parked = 1;
	g->next_paused = d->parked;
	d->parked = g;
	ctx_log(d->ctx, "%s: the output buffer is full and range %u (the next to write) is not in "
		"flight: range %u parked, range %u sent now", d->spec.key, d->head + 1,
		(unsigned)(g - d->ranges) + 1, d->head + 1);
	part_pipe_park(&d->pipe, &d->pipe.parts[g - d->ranges]);
	if (hp->state == PART_WAITING) {
		part_pipe_wake(&d->pipe, hp);
	} else {
		part_pipe_schedule(&d->pipe);
	}
}

static void maybe_finish(struct hoist_download *d)
{
	if (!d->failing || d->state == DL_DONE)
		return;
	if ((d->pipe_ready && part_pipe_busy(&d->pipe)) || d->ctl)
		return;
	finish(d);
}

static void fail(struct hoist_download *d, const struct failure *in)
{
	struct failure f = *in;

	if (d->failing)
		return;
	d->failing = 1;
	if (f.http == 412) {
		/* If-Match failed: the object is not the one HEAD described. */
		f.status = HOIST_E_SOURCE_CHANGED;
		f.detail = d->obj.from_listing
				   ? "the object changed since it was listed (If-Match on the listed ETag failed)"
				   : "the object changed during the download (If-Match on its ETag failed)";
		f.code = NULL;
		f.message = NULL;
	}
	result_set_failure(&d->res, &f);
	drop_paused(d);
	if (d->pipe_ready) {
		part_pipe_stop(&d->pipe);
	}
	loop_timer_cancel(d->loop, &d->ctl_timer);
	if (d->ctl) {
		loop_remove(d->loop, &d->ctl->xfer);
		request_note(&d->stats, d->ctl);
		request_free(d->ctl);
		d->ctl = NULL;
	}
}

static void fail_status(struct hoist_download *d, hoist_status st, const char *op,
			const char *detail)
{
	struct failure f;

	failure_init(&f, st, op, 0, detail);
	fail(d, &f);
}

/* -------------------------------------------------------------- ranges */

static struct request *pipe_build(void *owner, struct part *p)
{
	return download_req_range(owner, p);
}

static int pipe_verify(void *owner, struct part *p, const struct request *r, struct failure *f,
		       char *detail, size_t dlen)
{
	int rc = download_req_check(owner, p, r, detail, dlen);

	if (rc < 0) {
		f->status = rc == -2 ? HOIST_E_SOURCE_CHANGED : HOIST_E_NETWORK;
		return -1;
	}
	return 0;
}

static void report_progress(struct hoist_download *d, int final)
{
	uint64_t done = 0;
	unsigned i;

	/* Bytes taken, over every range: never backwards (a retry continues
	 * where its range stopped) and the object's size at the end. */
	if (!d->spec.progress || !d->ranges)
		return;
	for (i = 0; i < d->pipe.nparts; i++) {
		done += d->ranges[i].got;
	}
	if (done < d->reported && !final)
		return;
	ctx_callback_enter();
	d->spec.progress(done - d->reported, done, d->obj.size, d->pipe.inflight,
			 d->spec.userdata);
	ctx_callback_leave();
	d->reported = done;
}

static void pipe_done(void *owner, struct part *p, const struct request *r)
{
	struct hoist_download *d = owner;
	struct hoist_part_info info;
	struct dljournal_mark m = { .index = p->number - 1, .crc = d->ranges[p->number - 1].crc };

	dl_parts_range_done(d, &d->ranges[p->number - 1], &m);
	sink_journal_mark(d->sink, &m);
	if (!d->spec.on_part)
		return;
	memset(&info, 0, sizeof(info));
	info.part_number = p->number;
	info.offset = p->off;
	info.size = p->len;
	info.http_status = r ? r->http : 0;
	info.request_id = r && r->request_id ? r->request_id : "";
	info.content_md5 = "";
	info.etag = d->obj.etag ? d->obj.etag : "";
	info.crc64 = d->ranges[p->number - 1].crc;
	info.attempts = p->attempts;
	info.seconds = p->seconds;
	info.s3_checksum = "";
	ctx_callback_enter();
	d->spec.on_part(&info, d->spec.userdata);
	ctx_callback_leave();
}

static void pipe_hashed(void *owner, struct part *p)
{
	(void)owner;
	(void)p; /* no pre-pass: never called */
}

/* Every range is in: the object's checks. */
static void pipe_complete(void *owner)
{
	struct hoist_download *d = owner;
	struct hoist_result *res = &d->res;
	uint64_t crc = 0;
	char detail[256];
	unsigned i;

	if (d->failing || d->state != DL_RANGES)
		return;
	for (i = 0; i < d->pipe.nparts; i++) {
		crc = i == 0 ? d->ranges[i].crc
			     : crc64_ecma_combine(crc, d->ranges[i].crc, d->pipe.parts[i].len);
	}
	res->verified = HOIST_VERIFY_NONE;
	if (d->spec.crc) {
		res->crc64 = crc;
		res->crc64_valid = 1;
		if (d->obj.crc64_valid) {
			if (crc != d->obj.crc64) {
				snprintf(detail, sizeof(detail),
					 "the bytes received have CRC64 %" PRIu64 ", the object's is %" PRIu64
					 " (x-oss-hash-crc64ecma); nothing was kept",
					 crc, d->obj.crc64);
				fail_status(d, HOIST_E_CHECKSUM, "GetObject", detail);
				maybe_finish(d);
				return;
			}
			res->verified = HOIST_VERIFY_GET_CRC64;
		}
		if (d->obj.s3sum_kind && !d->res.resumed_parts) {
			uint64_t v = 0;

			for (i = 0; i < d->pipe.nparts; i++) {
				uint64_t len = d->pipe.parts[i].len;

				if (d->obj.s3sum_kind == HOIST_S3_CHECKSUM_CRC64NVME) {
					v = i == 0 ? d->ranges[i].s3sum
						   : crc64_nvme_combine(v, d->ranges[i].s3sum, len);
				} else {
					v = i == 0 ? d->ranges[i].s3sum
						   : crc32c_combine((uint32_t)v,
								    (uint32_t)d->ranges[i].s3sum, len);
				}
			}
			if (!s3sum_equals(d->obj.s3sum_text, d->obj.s3sum_kind, v)) {
				snprintf(detail, sizeof(detail),
					 "the bytes received do not match the object's %s %s; nothing was kept",
					 s3sum_header(d->obj.s3sum_kind), d->obj.s3sum_text);
				fail_status(d, HOIST_E_CHECKSUM, "GetObject", detail);
				maybe_finish(d);
				return;
			}
			if (res->verified == HOIST_VERIFY_NONE) {
				res->verified = HOIST_VERIFY_GET_S3SUM;
			}
		}
		if (d->obj.md5_check && !d->res.resumed_parts) {
			uint8_t md5[16];

			md5_final(&d->md5, md5);
			d->obj.md5_check = 0;
			if (!etag_equals_md5(d->obj.etag, md5)) {
				snprintf(detail, sizeof(detail),
					 "the MD5 of the bytes received is not the object's ETag %s; "
					 "nothing was kept", d->obj.etag);
				fail_status(d, HOIST_E_CHECKSUM, "GetObject", detail);
				maybe_finish(d);
				return;
			}
			if (res->verified == HOIST_VERIFY_NONE) {
				res->verified = HOIST_VERIFY_GET_MD5;
			}
		}
		switch (dl_parts_verify(d, detail, sizeof(detail))) {
		case -1:
			fail_status(d, HOIST_E_CHECKSUM, "GetObject", detail);
			maybe_finish(d);
			return;
		case 1:
			if (res->verified == HOIST_VERIFY_NONE) {
				res->verified = HOIST_VERIFY_GET_PARTS_MD5;
			}
			break;
		default:
			break;
		}
		if (d->spec.expected_crc64_set) {
			if (crc != d->spec.expected_crc64) {
				snprintf(detail, sizeof(detail),
					 "the bytes received have CRC64 %" PRIu64 ", expected %" PRIu64,
					 crc, d->spec.expected_crc64);
				fail_status(d, HOIST_E_CHECKSUM, "GetObject", detail);
				maybe_finish(d);
				return;
			}
			if (res->verified == HOIST_VERIFY_NONE) {
				res->verified = HOIST_VERIFY_GET_EXPECTED;
			}
		}
	}
	if (res->verified == HOIST_VERIFY_NONE) {
		ctx_log(d->ctx, "%s: the store offers no checksum of the whole object; "
			"the download is not verified end to end", d->spec.key);
		if (d->spec.require_verified) {
			fail_status(d, HOIST_E_CHECKSUM, "GetObject",
				    "the object could not be verified end to end (no CRC64 from the "
				    "store) and verification is required");
			maybe_finish(d);
			return;
		}
	}
	finish(d);
}

static void pipe_failed(void *owner, const struct failure *f)
{
	struct hoist_download *d = owner;

	fail(d, f);
	maybe_finish(d);
}

static void pipe_settled(void *owner)
{
	maybe_finish(owner);
}

static const struct part_pipe_ops pipe_ops = {
	.build = pipe_build,
	.verify = pipe_verify,
	.done = pipe_done,
	.hashed = pipe_hashed,
	.complete = pipe_complete,
	.failed = pipe_failed,
	.settled = pipe_settled,
};

/* The ranges of an object of size bytes. */
static void plan_ranges(struct plan *pl, uint64_t size, uint64_t requested)
{
	uint64_t ps = requested ? requested : DL_DEFAULT_RANGE;

	while (size / ps >= DL_MAX_RANGES) {
		ps *= 2;
	}
	pl->size = size;
	pl->part_size = ps;
	pl->nparts = size <= ps ? 0 : (unsigned)((size + ps - 1) / ps);
}

static int same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Two ETags of the same object: a listing and a HEAD or GET may differ
 * in quotes (some stores list them bare) and in the case of the hex. */
static int same_etag(const char *a, const char *b)
{
	size_t la, lb;

	if (!a || !b)
		return 0;
	if (*a == '"') {
		a++;
	}
	if (*b == '"') {
		b++;
	}
	la = strcspn(a, "\"");
	lb = strcspn(b, "\"");
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* What an earlier run to the same file left: its journaled ranges are
 * kept when HEAD describes the same object and the ranges are the same;
 * otherwise the journal starts anew for this object. */
static void resume_ranges(struct hoist_download *d)
{
	const struct dljournal_hdr *found;
	struct dljournal_hdr h;
	struct dljournal_mark m;
	unsigned i;
	int keep;

	if (!sink_journaling(d->sink))
		return;
	found = sink_resume_found(d->sink);
	keep = found && found->size == d->obj.size && found->range == d->plan.part_size &&
	       same_str(found->etag, d->obj.etag) && same_str(found->version_id, d->obj.version_id);
	if (found && !keep) {
		ctx_log(d->ctx, "%s: the partial download left by an earlier run is of another "
			"object or range size; starting over", d->spec.key);
	}
	for (i = 0; keep && i < d->pipe.nparts; i++) {
		struct part *p = &d->pipe.parts[i];

		if (p->len == 0 || !sink_resume_range(d->sink, i, &m))
			continue;
		d->ranges[i].got = p->len;
		d->ranges[i].crc = m.crc;
		dl_parts_resumed(&d->ranges[i], &m);
		part_pipe_mark_done(&d->pipe, p);
		d->res.resumed_parts++;
	}
	if (keep) {
		ctx_log(d->ctx, "%s: resuming: %u of %u ranges are on disk already", d->spec.key,
			d->res.resumed_parts, d->pipe.nparts);
	}
	memset(&h, 0, sizeof(h));
	h.size = d->obj.size;
	h.range = d->plan.part_size;
	h.etag = d->obj.etag;
	h.version_id = d->obj.version_id;
	sink_journal_start(d->sink, &h, keep);
	d->journal_started = 1;
}

/* head: the HEAD that described the object, whose round trip sets the
 * start of the concurrency (as Initiate's does for an upload); NULL when
 * there was none.  range_size: the caller's, or the parts' (by_part). */
static int start_ranges(struct hoist_download *d, const struct request *head,
			uint64_t range_size)
{
	struct part_pipe_conf pc;
	unsigned n, jobs;

	plan_ranges(&d->plan, d->obj.size, range_size);
	n = d->plan.nparts ? d->plan.nparts : 1;
	jobs = d->spec.jobs < n ? d->spec.jobs : n;
	memset(&pc, 0, sizeof(pc));
	pc.op = "GetObject";
	pc.jobs = jobs ? jobs : 1;
	pc.fixed_concurrency = d->spec.fixed_concurrency;
	pc.part_size = d->plan.part_size;
	d->ranges = calloc(n, sizeof(*d->ranges));
	if (!d->ranges)
		return -1;
	if (part_pipe_init(&d->pipe, &d->plan, &pc, d->ctx, d->loop, NULL, NULL, &d->stats,
			   &d->cancel, &pipe_ops, d) < 0)
		return -1;
	d->pipe_ready = 1;
	if (dl_parts_start(d, n) < 0)
		return -1;
	if (head) {
		part_pipe_round_trip(&d->pipe, head);
	}
	md5_of(d);
	resume_ranges(d);
	sink_prepare(d->sink, d->obj.size);
	d->state = DL_RANGES;
	part_pipe_run(&d->pipe);
	return 0;
}

/* ---------------------------------------------------------------- HEAD */

static int is_sse_kms(const char *v)
{
	return v && strcasestr(v, "kms") != NULL;
}

/* S3: a full-object checksum the ranges can be combined into (CRC64NVME
 * is always one; CRC32C only when the type says FULL_OBJECT and the value
 * has no "-N" part count).  -1 on ENOMEM. */
static int s3sum_of(struct hoist_download *d, const char *nvme, const char *c32c,
		    const char *type)
{
	const char *v = NULL;

	if (nvme && !strchr(nvme, '-')) {
		d->obj.s3sum_kind = HOIST_S3_CHECKSUM_CRC64NVME;
		v = nvme;
	} else if (c32c && !strchr(c32c, '-') && (!type || strcmp(type, "FULL_OBJECT") == 0)) {
		d->obj.s3sum_kind = HOIST_S3_CHECKSUM_CRC32C;
		v = c32c;
	}
	if (!v)
		return 0;
	d->obj.s3sum_text = strdup(v);
	return d->obj.s3sum_text ? 0 : -1;
}

/* One range (its bytes arrive in order) and an ETag that is the MD5 of
 * the object: a single PUT's, not a multipart "-N" one, and no SSE-KMS or
 * SSE-C, under which the ETag is something else.  OSS says the same of
 * its Normal objects (multipart and appendable ones have other ETags).
 * Not when the store gave the object's CRC64: that check covers every
 * byte already, and the MD5 would only cost CPU (~1.5 ms a MiB).  An
 * object known from its listing decides on its first answer. */
static void md5_of(struct hoist_download *d)
{
	uint8_t md5[16];

	if (!d->spec.crc || d->plan.nparts != 0 || d->obj.sse || !d->obj.etag ||
	    d->obj.crc64_valid || (d->obj.from_listing && !d->obj.adopted) ||
	    etag_to_md5(md5, d->obj.etag) < 0)
		return;
	if (md5_init(&d->md5) == 0) {
		d->obj.md5_check = 1;
	}
}

/* Takes what HEAD said.  HOIST_OK, or a failure with detail. */
static hoist_status on_head(struct hoist_download *d, struct request *r, char *detail,
			    size_t dlen)
{
	struct dl_object *o = &d->obj;

	if (!r->content_length || parse_u64(r->content_length, &o->size) < 0) {
		snprintf(detail, dlen, "HEAD gave no usable Content-Length");
		return HOIST_E_SERVER;
	}
	o->etag = r->etag ? strdup(r->etag) : NULL;
	o->version_id = r->version_id ? strdup(r->version_id) : NULL;
	o->last_modified = r->last_modified ? strdup(r->last_modified) : NULL;
	if ((r->etag && !o->etag) || (r->version_id && !o->version_id) ||
	    (r->last_modified && !o->last_modified))
		return HOIST_E_NOMEM;
	o->crc64 = r->resp_crc;
	o->crc64_valid = r->resp_crc_valid;
	if (result_setstr(&d->res.request_id, r->request_id) < 0)
		return HOIST_E_NOMEM;
	o->sse = is_sse_kms(r->echo) || r->extra[3] != NULL;
	if (s3sum_of(d, r->extra[0], r->extra[1], r->extra[2]) < 0)
		return HOIST_E_NOMEM;
	if (!o->etag) {
		ctx_log(d->ctx, "%s: HEAD gave no ETag; the GETs cannot be pinned with If-Match",
			d->spec.key);
	}
	if (d->spec.expected_size_set && o->size != d->spec.expected_size) {
		snprintf(detail, dlen, "the object has %" PRIu64 " bytes, expected %" PRIu64, o->size,
			 d->spec.expected_size);
		return HOIST_E_CHECKSUM;
	}
	if (d->spec.known_set && (o->size != d->spec.known_size || !same_etag(o->etag, d->spec.known_etag))) {
		snprintf(detail, dlen, "the object changed since it was listed (%" PRIu64 " bytes, "
			 "ETag %s; listed: %" PRIu64 " bytes, ETag %s)", o->size, o->etag ? o->etag : "none",
			 d->spec.known_size, d->spec.known_etag);
		return HOIST_E_SOURCE_CHANGED;
	}
	if (d->spec.expected_crc64_set && o->crc64_valid && o->crc64 != d->spec.expected_crc64) {
		snprintf(detail, dlen, "the object's CRC64 is %" PRIu64 ", expected %" PRIu64,
			 o->crc64, d->spec.expected_crc64);
		return HOIST_E_CHECKSUM;
	}
	if (d->spec.crc && !o->crc64_valid) {
		ctx_log(d->ctx, "%s: the store reports no CRC64 for the object", d->spec.key);
	}
	if (dl_parts_wanted(d)) {
		/* Only its parts can check it: see whether the store serves
		 * them (download_parts.c). */
		d->state = DL_PROBE;
		ctl_send(d);
		return HOIST_OK;
	}
	if (start_ranges(d, r, d->spec.part_size) < 0)
		return HOIST_E_NOMEM;
	return HOIST_OK;
}

/* The probe's answer, whatever it is: parts, or plain ranges.  Only a
 * failure meanwhile (a cancel) stops the download here; a store that
 * refuses the probe is one that does not serve parts. */
static void probe_done(struct request *r)
{
	struct hoist_download *d = r->owner;
	uint64_t part = 0;

	d->ctl = NULL;
	request_note(&d->stats, r);
	if (d->failing) {
		request_free(r);
		maybe_finish(d);
		return;
	}
	if (r->cc == CURLE_OK) {
		part = dl_parts_on_probe(d, r);
	} else {
		ctx_log(d->ctx, "%s: not verified by parts: HEAD ?partNumber=1 failed (%s)",
			d->spec.key, curl_easy_strerror(r->cc));
	}
	if (start_ranges(d, r, part ? part : d->spec.part_size) < 0) {
		fail_status(d, HOIST_E_NOMEM, "GetObject", NULL);
		maybe_finish(d);
	}
	request_free(r);
}

int download_adopt_answer(struct hoist_download *d, request_header_fn get, void *ud,
			  char *detail, size_t dlen)
{
	enum hoist_dialect dialect = d->ctx->conf->dialect;
	const struct dialect_names *nm = dialect_names(dialect);
	struct dl_object *o = &d->obj;
	char *etag = get(ud, "ETag"), *crc = NULL, *vid = NULL, *sse = NULL, *ssec = NULL;
	char *nvme = NULL, *c32c = NULL, *type = NULL;
	int rc = -2;

	/* If-Match makes a store that honours it answer 412 instead; this is
	 * for one that does not. */
	if (!same_etag(etag, o->etag)) {
		snprintf(detail, dlen, "the object changed since it was listed (the GET's ETag is %s, "
			 "listed %s)", etag ? etag : "absent", o->etag);
		free(etag);
		return -1;
	}
	crc = nm->crc64 ? get(ud, nm->crc64) : NULL;
	vid = get(ud, nm->version_id);
	if (dialect == HOIST_DIALECT_S3) {
		sse = get(ud, "x-amz-server-side-encryption");
		ssec = get(ud, "x-amz-server-side-encryption-customer-algorithm");
		nvme = get(ud, "x-amz-checksum-crc64nvme");
		c32c = get(ud, "x-amz-checksum-crc32c");
		type = get(ud, "x-amz-checksum-type");
	} else {
		sse = get(ud, "x-oss-server-side-encryption");
	}
	o->crc64_valid = crc && parse_u64(crc, &o->crc64) == 0;
	o->sse = is_sse_kms(sse) || ssec != NULL;
	free(o->version_id);
	o->version_id = vid;
	vid = NULL;
	free(o->s3sum_text);
	o->s3sum_text = NULL;
	o->s3sum_kind = 0;
	if (s3sum_of(d, nvme, c32c, type) < 0)
		goto out;
	if (d->spec.expected_crc64_set && o->crc64_valid && o->crc64 != d->spec.expected_crc64) {
		/* Caught again at the end; said here as after a HEAD. */
		ctx_log(d->ctx, "%s: the object's CRC64 is %" PRIu64 ", expected %" PRIu64, d->spec.key,
			o->crc64, d->spec.expected_crc64);
	}
	o->adopted = 1;
	if (!o->md5_check) {
		md5_of(d);
	}
	rc = 0;
out:
	free(etag);
	free(crc);
	free(vid);
	free(sse);
	free(ssec);
	free(nvme);
	free(c32c);
	free(type);
	return rc;
}

/* An object of one range that the caller's listing described: no HEAD.
 * 1 when started that way (or failed trying), 0 to send the HEAD.  A
 * 0-byte object still gets its HEAD: its GET has no body to check the
 * answer's headers before, and such objects are few. */
static int start_from_listing(struct hoist_download *d)
{
	uint64_t range = d->spec.part_size ? d->spec.part_size : DL_DEFAULT_RANGE;

	if (!d->spec.known_set || d->spec.known_size == 0 || d->spec.known_size > range ||
	    d->spec.version_id)
		return 0;
	d->obj.size = d->spec.known_size;
	d->obj.etag = strdup(d->spec.known_etag);
	d->obj.from_listing = 1;
	if (!d->obj.etag || start_ranges(d, NULL, d->spec.part_size) < 0) {
		fail_status(d, HOIST_E_NOMEM, "GetObject", NULL);
		maybe_finish(d);
	}
	return 1;
}

static void ctl_done(struct request *r)
{
	struct hoist_download *d = r->owner;
	const struct conf *c = d->ctx->conf;
	hoist_status st;
	struct failure f;
	char detail[256];
	int retry = 0;

	d->ctl = NULL;
	request_note(&d->stats, r);
	request_outcome(r, &st, &retry, &f);
	if (st == HOIST_OK) {
		st = on_head(d, r, detail, sizeof(detail));
		if (st == HOIST_OK) {
			request_free(r);
			return;
		}
		request_failure(&f, r, st, detail);
		retry = 0;
	}
	if (r->http == 404 && !f.code) {
		/* A HEAD has no body: say what was not found. */
		f.code = "NoSuchKey";
	}
	if (!retry && !d->failing && !d->ctl_token_retried && request_token_refresh(r)) {
		/* The token expired and new keys are coming: once more. */
		d->ctl_token_retried = 1;
		d->ctl_creds_waiting = 1;
		d->ctl_creds_gen = r->creds_gen;
		d->stats.retries++;
		loop_timer_set(d->loop, &d->ctl_timer, REQUEST_CREDS_POLL_MS);
		request_free(r);
		return;
	}
	if (retry && d->ctl_attempts < c->max_attempts && !d->failing) {
		uint64_t delay = request_retry_delay(d->ctx, r, d->ctl_attempts, &d->rng);
		char *m = status_message(&f);

		ctx_log(d->ctx, "%s; attempt %u of %u, retrying in %" PRIu64 " ms", m ? m : r->op,
			d->ctl_attempts, c->max_attempts, delay);
		free(m);
		d->stats.retries++;
		loop_timer_set(d->loop, &d->ctl_timer, delay);
		request_free(r);
		return;
	}
	fail(d, &f);
	request_free(r);
	maybe_finish(d);
}

static void ctl_send(struct hoist_download *d)
{
	int probe = d->state == DL_PROBE;
	struct request *r = probe ? dl_parts_probe_req(d) : download_req_head(d);

	if (!r) {
		fail_status(d, HOIST_E_NOMEM, "HeadObject", NULL);
		maybe_finish(d);
		return;
	}
	r->done = probe ? probe_done : ctl_done;
	r->owner = d;
	d->ctl_attempts++;
	d->ctl = r;
	if (request_start(r, d->loop) < 0) {
		d->ctl = NULL;
		fail_status(d, HOIST_E_INTERNAL, r->op, curl_easy_strerror(r->cc));
		request_free(r);
		maybe_finish(d);
	}
}

static void ctl_timer_fire(struct loop_timer *t)
{
	struct hoist_download *d = container_of(t, struct hoist_download, ctl_timer);

	if (d->ctl_creds_waiting && !request_creds_ready(d->ctx, d->ctl_creds_gen)) {
		loop_timer_set(d->loop, &d->ctl_timer, REQUEST_CREDS_POLL_MS);
		return;
	}
	d->ctl_creds_waiting = 0;
	ctl_send(d);
}

/* ----------------------------------------------------------------- sink */

static void sink_msg_fn(struct loop_msg *m)
{
	struct hoist_download *d = container_of(m, struct hoist_download, sink_msg);
	char msg[300];

	if (d->state == DL_DONE) {
		/* The last touch of d: once the writer is stopped, a clear
		 * flag tells quiesce that no message of it is pending. */
		atomic_store_explicit(&d->sink_posted, 0, memory_order_release);
		return;
	}
	atomic_store_explicit(&d->sink_posted, 0, memory_order_release);
	sink_collect(d->sink);
	if (!d->failing && sink_failed(d->sink, msg, sizeof(msg))) {
		fail_status(d, HOIST_E_IO, "write", msg);
		maybe_finish(d);
		return;
	}
	if (!d->failing) {
		download_resume_paused(d);
	}
}

void download_sink_notify(void *owner)
{
	struct hoist_download *d = owner;

	if (!atomic_exchange_explicit(&d->sink_posted, 1, memory_order_acq_rel)) {
		loop_post(d->loop, &d->sink_msg);
	}
}

/* ------------------------------------------------------------ lifecycle */

static void fin_msg_fn(struct loop_msg *m)
{
	struct hoist_download *d = container_of(m, struct hoist_download, fin_msg);

	/* As uploads: after the broadcast the owner may free the download, so
	 * the callback runs first, when nothing of it is on the stack. */
	if (d->spec.on_done) {
		ctx_callback_enter();
		d->spec.on_done(d->res.status, d->spec.userdata);
		ctx_callback_leave();
	}
	pthread_mutex_lock(&d->lock);
	d->synced.finished = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

static void finish(struct hoist_download *d)
{
	struct hoist_result *r = &d->res;

	if (d->state == DL_DONE)
		return;
	d->state = DL_DONE;
	drop_paused(d);
	if (!d->failing) {
		r->status = HOIST_OK;
	}
	result_setstr(&r->bucket, d->spec.bucket);
	result_setstr(&r->key, d->spec.key);
	result_setstr(&r->etag, d->obj.etag);
	result_setstr(&r->version_id, d->obj.version_id);
	r->bytes = d->obj.size;
	r->parts = d->plan.nparts;
	r->part_size = d->plan.part_size;
	r->retries = d->stats.retries;
	r->ttfb_seconds = d->stats.ttfb;
	if (d->stats.http_status && !r->http_status) {
		r->http_status = d->stats.http_status;
	}
	if (!d->failing) {
		report_progress(d, 1);
	}
	loop_client_remove(d->loop, &d->client);
	atomic_store_explicit(&d->done_flag, 1, memory_order_release);
	loop_post(d->loop, &d->fin_msg);
}

static void tick(struct loop_client *c, uint64_t now)
{
	struct hoist_download *d = container_of(c, struct hoist_download, client);
	struct dl_range *g;

	/* A range paused for want of a chunk is waiting for our disk, not
	 * for the network: not a stall. */
	for (g = d->paused; g; g = g->next_paused) {
		if (g->paused_req) {
			g->paused_req->last_io_ms = now;
		}
	}
	if (d->sink) {
		sink_kick(d->sink);
	}
	ordered_unblock(d);
	if (d->pipe_ready) {
		part_pipe_tick(&d->pipe, now);
	}
	if (d->spec.progress && now - d->last_progress_ms >= 100 && d->state == DL_RANGES) {
		d->last_progress_ms = now;
		report_progress(d, 0);
	}
	if (atomic_load_explicit(&d->cancel, memory_order_relaxed) && !d->failing &&
	    d->state != DL_DONE) {
		fail_status(d, HOIST_E_CANCELLED, NULL, NULL);
		maybe_finish(d);
	}
}

static void start_msg_fn(struct loop_msg *m)
{
	struct hoist_download *d = container_of(m, struct hoist_download, start_msg);

	loop_client_add(d->loop, &d->client);
	d->state = DL_HEAD;
	if (!start_from_listing(d)) {
		ctl_send(d);
	}
}

struct hoist_download *download_new(struct ctx *ctx)
{
	struct hoist_download *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->ctx = ctx;
	d->client.tick = tick;
	d->start_msg.fn = start_msg_fn;
	d->fin_msg.fn = fin_msg_fn;
	d->sink_msg.fn = sink_msg_fn;
	d->ctl_timer.heap_index = (size_t)-1;
	d->ctl_timer.fn = ctl_timer_fire;
	d->rng = retry_seed();
	d->t0 = hoist__now_s();
	return d;
}

void download_post(struct hoist_download *d, struct loop *loop)
{
	d->loop = loop;
	loop_post(loop, &d->start_msg);
}

void download_cancel(struct hoist_download *d)
{
	atomic_store_explicit(&d->cancel, 1, memory_order_relaxed);
	if (d->loop && !atomic_load_explicit(&d->done_flag, memory_order_acquire)) {
		loop_wakeup(d->loop);
	}
}

void download_wait_finished(struct hoist_download *d)
{
	pthread_mutex_lock(&d->lock);
	while (!d->synced.finished) {
		pthread_cond_wait(&d->cond, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
}

/* A failed download's partial file is kept for the next run when a rerun
 * may succeed and there is something to continue from. */
static int worth_keeping(const struct hoist_download *d)
{
	switch (d->res.status) {
	case HOIST_E_CHECKSUM:
	case HOIST_E_SOURCE_CHANGED:
	case HOIST_E_NOT_FOUND:
	case HOIST_E_INVALID_ARG:
	case HOIST_E_CONFLICT:
		return 0;
	default:
		/* Whether there is something to continue from (ranges in the
		 * journal, or an earlier run's state this run did not get to
		 * judge because HEAD failed) the sink decides. */
		return sink_journaling(d->sink);
	}
}

static void say_kept(struct hoist_result *r)
{
	struct buf b = BUF_INIT;

	if (r->message &&
	    buf_printf(&b, "%s; the partial download is kept: rerun the same command to resume "
			   "(--restart starts over)", r->message) == 0) {
		free(r->message);
		r->message = buf_detach(&b);
	}
	buf_free(&b);
}

void download_settle(struct hoist_download *d)
{
	char err[400];
	hoist_status st;
	struct failure f;

	if (d->committed)
		return;
	d->committed = 1;
	if (d->res.status == HOIST_OK && d->sink) {
		err[0] = '\0';
		st = sink_commit(d->sink, err, sizeof(err));
		if (st != HOIST_OK) {
			failure_init(&f, st, "write", 0, err);
			result_set_failure(&d->res, &f);
		}
	} else if (d->sink) {
		/* An earlier run's ranges count: kept by this run, or not yet
		 * judged because HEAD failed. */
		int earlier = d->res.resumed_parts ||
			      (!d->journal_started && sink_resume_found(d->sink) != NULL);

		if (sink_keep(d->sink, worth_keeping(d), earlier)) {
			say_kept(&d->res);
		}
	}
	d->res.seconds = hoist__now_s() - d->t0;
	if (d->res.status == HOIST_OK) {
		ctx_log(d->ctx, "%s: %" PRIu64 " bytes in %.3f s", d->spec.key, d->res.bytes,
			d->res.seconds);
	}
}

static void barrier_msg_fn(struct loop_msg *m)
{
	struct hoist_download *d = container_of(m, struct hoist_download, barrier_msg);

	pthread_mutex_lock(&d->lock);
	d->synced.barrier = 1;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
}

/* The writer (or a direct sink's failed write on the loop) may have
 * posted sink_msg before it was stopped: let the loop
 * run what is queued (in order, so one barrier message is enough) before
 * the download goes away.  Not needed when the download finished and no
 * sink message is pending (sink_msg_fn clears the flag as its last touch
 * of a finished download): a tree frees thousands of downloads from one
 * thread, and a round trip to a loop busy at 1 GB/s costs milliseconds. */
static void quiesce(struct hoist_download *d)
{
	int finished;

	if (d->sink) {
		sink_abort(d->sink); /* stops the writer; a no-op after commit */
	}
	if (!d->loop || atomic_load_explicit(&d->live.detached, memory_order_acquire))
		return;
	pthread_mutex_lock(&d->lock);
	finished = d->synced.finished;
	pthread_mutex_unlock(&d->lock);
	if (finished && !atomic_load_explicit(&d->sink_posted, memory_order_acquire))
		return;
	d->barrier_msg.fn = barrier_msg_fn;
	loop_post(d->loop, &d->barrier_msg);
	pthread_mutex_lock(&d->lock);
	while (!d->synced.barrier) {
		pthread_cond_wait(&d->cond, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
}

void download_destroy(struct hoist_download *d)
{
	unsigned i;

	if (!d)
		return;
	quiesce(d);
	if (d->ranges) {
		for (i = 0; i < d->pipe.nparts; i++) {
			free(d->ranges[i].fill);
		}
		dl_parts_cleanup(d, d->plan.nparts ? d->plan.nparts : 1);
	}
	if (d->pipe_ready) {
		part_pipe_free(&d->pipe);
	}
	free(d->ranges);
	sink_free(d->sink);
	free(d->obj.etag);
	free(d->obj.version_id);
	free(d->obj.last_modified);
	free(d->obj.s3sum_text);
	if (d->obj.md5_check) {
		md5_cleanup(&d->md5);
	}
	free(d->spec.bucket);
	free(d->spec.key);
	free(d->spec.version_id);
	free(d->spec.known_etag);
	free(d->target);
	hoist_result_cleanup(&d->res);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
