/*
 * part.c - the part pipeline of a multipart upload (and the one "part" of
 * a PutObject's pre-pass).
 *
 * A part goes planned -> hashing -> ready -> sending -> done, with
 * sending -> waiting -> ready on a retryable failure.  Two windows bound
 * the work in progress:
 *  - at most `limit` UploadParts are in flight (see below);
 *  - hashing runs at most limit + hash_window parts ahead of the first part
 *    not yet sent, so a part's bytes are still in the page cache when the
 *    read callback streams them (and memory never depends on the object
 *    size: the part table is ~200 bytes per part).
 * The send window is not jobs itself but the adaptive limit of
 * concurrency.c (at most jobs): goodput decides how many connections the
 * path is worth.  First sends go in part order (the tail of the object is
 * not started late); retries go first, as soon as their backoff expires.
 *
 * Verification of each response: the ETag must be our MD5 (when MD5 is
 * on), x-oss-hash-crc64ecma must be our CRC64 (when the server sends it).
 * A mismatch is retried like a transport error, then fails the upload with
 * HOIST_E_CHECKSUM naming the part.  With checksum=crc64 there is no
 * pre-pass: the CRC is computed in the read callback as the bytes go out.
 *
 * Threading: everything here runs on the upload's loop thread, except
 * part_hashed_worker, which runs on a hash worker and only posts.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "engine.h"
#include "journal.h"
#include "request.h"
#include "source.h"
#include "upload.h"
#include "xml.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void part_hashed_worker(struct hash_job *j);
static void part_hashed_msg(struct loop_msg *m);
static void part_timer_fire(struct loop_timer *t);

int parts_init(struct hoist_upload *u)
{
	unsigned i, n = u->plan.nparts ? u->plan.nparts : 1;

	u->parts = calloc(n, sizeof(*u->parts));
	if (!u->parts)
		return -1;
	u->nparts = n;
	for (i = 0; i < n; i++) {
		struct part *p = &u->parts[i];

		p->u = u;
		p->number = i + 1;
		p->off = plan_part_offset(&u->plan, i);
		p->len = plan_part_len(&u->plan, i);
		p->state = u->prepass ? PART_PLANNED : PART_READY;
		p->hj.done = part_hashed_worker;
		p->hashed_msg.fn = part_hashed_msg;
		p->timer.heap_index = (size_t)-1;
		p->timer.fn = part_timer_fire;
	}
	return 0;
}

void parts_free(struct hoist_upload *u)
{
	unsigned i;

	for (i = 0; u->parts && i < u->nparts; i++) {
		free(u->parts[i].etag);
		free(u->parts[i].listed_etag);
	}
	free(u->parts);
	u->parts = NULL;
}

/* ---------------------------------------------------------------- hash */

static void part_hashed_worker(struct hash_job *j)
{
	struct part *p = container_of(j, struct part, hj);

	loop_post(p->u->loop, &p->hashed_msg);
}

static void submit_hash(struct hoist_upload *u, struct part *p)
{
	struct hash_job *j = &p->hj;

	j->src = u->src;
	j->off = p->off;
	j->len = p->len;
	/* A part listed by the server from an earlier run is compared with
	 * whatever the server can tell: the CRC (OSS) or the ETag (S3). */
	j->want_md5 = u->want_md5 || (p->listed && !p->listed_crc_valid);
	j->want_crc = u->want_crc || (p->listed && p->listed_crc_valid);
	j->want_crc32c = u->s3sum == HOIST_S3_CHECKSUM_CRC32C;
	j->want_crc64nvme = u->s3sum == HOIST_S3_CHECKSUM_CRC64NVME;
	j->stop = &u->stop;
	p->state = PART_HASHING;
	u->hashing++;
	hashpool_submit(u->engine->pool, j);
}

static void mark_done(struct hoist_upload *u, struct part *p)
{
	p->state = PART_DONE;
	u->done_parts++;
	u->acked += p->len;
	source_done_with(u->src, p->off, p->len);
}

static void part_hashed_msg(struct loop_msg *m)
{
	struct part *p = container_of(m, struct part, hashed_msg);
	struct hoist_upload *u = p->u;
	struct hash_job *j = &p->hj;
	char detail[128];

	u->hashing--;
	if (j->result == HASH_SKIPPED || u->failing) {
		p->state = PART_PLANNED;
		upload_maybe_finish(u);
		return;
	}
	if (j->result != 0) {
		if (j->result == SOURCE_SHORT) {
			upload_fail_status(u, HOIST_E_SOURCE_CHANGED, "read", p->number,
					   "the file is shorter than when the upload started");
		} else {
			snprintf(detail, sizeof(detail), "%s", strerror(j->err));
			upload_fail_status(u, HOIST_E_IO, "read", p->number, detail);
		}
		upload_maybe_finish(u);
		return;
	}
	if (j->want_md5) {
		memcpy(p->md5, j->md5, 16);
		p->have_md5 = 1;
	}
	if (j->want_crc) {
		p->crc = j->crc;
		p->have_crc = 1;
	}
	if (j->want_crc32c || j->want_crc64nvme) {
		p->s3sum = j->want_crc32c ? j->crc32c : j->crc64nvme;
		p->have_s3sum = 1;
	}
	p->state = PART_READY;
	if (p->listed) {
		int same = p->listed_crc_valid ? p->have_crc && p->crc == p->listed_crc
					       : p->have_md5 &&
							 etag_equals_md5(p->listed_etag, p->md5);

		if (same && (!p->have_md5 || etag_equals_md5(p->listed_etag, p->md5))) {
			/* The server already holds exactly these bytes. */
			p->etag = p->listed_etag;
			p->listed_etag = NULL;
			p->resumed = 1;
			u->res.resumed_parts++;
			if (u->want_md5 && !p->have_md5 && etag_to_md5(p->md5, p->etag) == 0) {
				p->have_md5 = 1;
			}
			mark_done(u, p);
			journal_part(u->journal, p->number, p->len, p->etag, p->crc, p->have_crc);
		}
		p->listed = 0;
	}
	parts_schedule(u);
}

/* ---------------------------------------------------------------- send */

static void part_done(struct request *r);

static void part_send(struct hoist_upload *u, struct part *p)
{
	struct request *r;
	char num[16], md5b64[25];

	r = request_new(u->engine, "UploadPart", "PUT", u->bucket, u->key);
	if (!r)
		goto nomem;
	snprintf(num, sizeof(num), "%u", p->number);
	if (request_query(r, "partNumber", num) < 0 ||
	    request_query(r, "uploadId", u->upload_id) < 0)
		goto nomem;
	if (u->want_md5 && p->have_md5) {
		md5_to_base64(md5b64, p->md5);
		if (request_header(r, "Content-MD5", md5b64) < 0)
			goto nomem;
	}
	if (p->have_s3sum) {
		char sum[13];

		s3sum_encode(sum, u->s3sum, p->s3sum);
		if (request_header(r, s3sum_header(u->s3sum), sum) < 0)
			goto nomem;
		r->echo_header = s3sum_header(u->s3sum);
	}
	r->body_kind = REQ_BODY_SOURCE;
	r->src = u->src;
	r->off = p->off;
	r->len = p->len;
	r->crc_inline = u->crc_inline;
	r->upload_buffer = upload_buffer_size(u->cc.limit);
	r->sent_total = &u->wire_bytes;
	r->body_cap = 64 * 1024;
	r->done = part_done;
	r->owner = p;
	r->part = p->number;
	p->attempts++;
	p->state = PART_SENDING;
	p->req = r;
	u->inflight++;
	if (request_start(r, u->loop) < 0) {
		p->req = NULL;
		u->inflight--;
		p->state = PART_READY;
		upload_fail_status(u, HOIST_E_INTERNAL, "UploadPart", p->number,
				   curl_easy_strerror(r->cc));
		request_free(r);
	}
	return;
nomem:
	request_free(r);
	upload_fail_status(u, HOIST_E_NOMEM, "UploadPart", p->number, NULL);
}

/* Checks a 2xx UploadPart response against our hashes.  Returns 0, or -1
 * with f (detail in detail[]) describing a retryable mismatch. */
static int verify_part(struct hoist_upload *u, struct part *p, struct request *r,
		       struct failure *f, char *detail, size_t dlen)
{
	char ours[33];

	if (u->crc_inline) {
		if (r->pos != p->len) {
			f->status = HOIST_E_NETWORK;
			snprintf(detail, dlen, "the request ended after %" PRIu64 " of %" PRIu64 " bytes",
				 r->pos, p->len);
			return -1;
		}
		p->crc = r->crc;
		p->have_crc = 1;
	}
	if (!r->etag || !*r->etag) {
		f->status = HOIST_E_SERVER;
		snprintf(detail, dlen, "the response has no ETag");
		return -1;
	}
	if (u->want_crc && p->have_crc && r->resp_crc_valid && r->resp_crc != p->crc) {
		f->status = HOIST_E_CHECKSUM;
		snprintf(detail, dlen, "server CRC64 %" PRIu64 ", ours %" PRIu64,
			 r->resp_crc, p->crc);
		return -1;
	}
	if (u->want_md5 && p->have_md5 && !etag_equals_md5(r->etag, p->md5)) {
		hex_encode(ours, p->md5, 16, u->engine->conf.dialect != HOIST_DIALECT_S3);
		f->status = HOIST_E_CHECKSUM;
		snprintf(detail, dlen, "server ETag %.64s, our MD5 %s", r->etag, ours);
		return -1;
	}
	/* S3 servers that know x-amz-checksum-* echo it (after checking it
	 * themselves: a mismatch would have been BadDigest); RGW and others
	 * ignore it, so an absent echo is no failure. */
	if (p->have_s3sum && r->echo && !s3sum_equals(r->echo, u->s3sum, p->s3sum)) {
		char sum[13];

		s3sum_encode(sum, u->s3sum, p->s3sum);
		f->status = HOIST_E_CHECKSUM;
		snprintf(detail, dlen, "server %s %.24s, ours %s", s3sum_header(u->s3sum), r->echo,
			 sum);
		return -1;
	}
	/* Nothing the server said confirmed these bytes (CRC64 only on an S3
	 * store): the result must not claim every part was verified. */
	if (!(u->want_md5 && p->have_md5) &&
	    !(u->want_crc && p->have_crc && r->resp_crc_valid) && !(p->have_s3sum && r->echo)) {
		u->unverified_parts++;
	}
	return 0;
}

/* The server asked us to slow down, not just failed. */
static int throttled(const struct request *r)
{
	if (r->http == 429 || (r->qos_delay && *r->qos_delay)) {
		return 1;
	}
	return r->http == 503 && r->err.code && strcmp(r->err.code, "SlowDown") == 0;
}

static void part_done(struct request *r)
{
	struct part *p = r->owner;
	struct hoist_upload *u = p->u;
	const struct engine_conf *c = &u->engine->conf;
	hoist_status st;
	struct failure f;
	char detail[200];
	int retry;

	p->req = NULL;
	u->inflight--;
	upload_note_request(u, r);
	if (u->failing) {
		p->state = PART_READY;
		request_free(r);
		upload_maybe_finish(u);
		return;
	}
	request_outcome(r, &st, &retry, &f);
	if (st == HOIST_OK) {
		if (verify_part(u, p, r, &f, detail, sizeof(detail)) < 0) {
			st = f.status;
			retry = 1;
			f.detail = detail;
			f.code = NULL;
			f.message = NULL;
			f.request_id = r->request_id;
		}
	}
	if (st == HOIST_OK) {
		p->etag = strdup(r->etag);
		if (!p->etag) {
			upload_fail_status(u, HOIST_E_NOMEM, "UploadPart", p->number, NULL);
			request_free(r);
			upload_maybe_finish(u);
			return;
		}
		p->seconds = r->seconds;
		u->part_ewma_ms = u->part_ewma_ms == 0
					  ? r->seconds * 1000
					  : 0.8 * u->part_ewma_ms + 0.2 * r->seconds * 1000;
		mark_done(u, p);
		journal_part(u->journal, p->number, p->len, p->etag, p->crc, p->have_crc);
		parts_report(u, p, r);
		request_free(r);
		parts_schedule(u);
		return;
	}
	if (retry && p->attempts < c->max_attempts &&
	    !atomic_load_explicit(&u->cancel, memory_order_relaxed)) {
		uint64_t delay = upload_retry_delay(u, r, p->attempts);
		char *msg = status_message(&f);

		if (throttled(r)) {
			unsigned before = u->cc.limit;

			if (concurrency_throttled(&u->cc, hoist__now_ms())) {
				engine_log(u->engine, "the server is throttling: parts in flight %u -> %u",
					   before, u->cc.limit);
			}
		}

		engine_log(u->engine, "%s; attempt %u of %u, retrying in %" PRIu64 " ms",
			   msg ? msg : "UploadPart failed", p->attempts, c->max_attempts, delay);
		free(msg);
		u->res.retries++;
		p->state = PART_WAITING;
		loop_timer_set(u->loop, &p->timer, delay);
		request_free(r);
		parts_schedule(u);
		return;
	}
	upload_fail(u, &f);
	request_free(r);
	upload_maybe_finish(u);
}

static void part_timer_fire(struct loop_timer *t)
{
	struct part *p = container_of(t, struct part, timer);
	struct hoist_upload *u = p->u;

	p->state = PART_READY;
	p->next_retry = NULL;
	if (u->retry_tail) {
		u->retry_tail->next_retry = p;
	} else {
		u->retry_head = p;
	}
	u->retry_tail = p;
	parts_schedule(u);
}

static struct part *pop_retry(struct hoist_upload *u)
{
	struct part *p = u->retry_head;

	if (p) {
		u->retry_head = p->next_retry;
		if (!u->retry_head) {
			u->retry_tail = NULL;
		}
		p->next_retry = NULL;
	}
	return p;
}

void parts_schedule(struct hoist_upload *u)
{
	uint64_t limit;

	if (u->failing)
		return;
	/* Hashing runs ahead, even while Initiate is in flight. */
	limit = (uint64_t)u->next_send + u->cc.limit + u->hash_window;
	while (u->next_hash < u->nparts && u->next_hash < limit) {
		struct part *p = &u->parts[u->next_hash++];

		if (p->state == PART_PLANNED) {
			submit_hash(u, p);
		}
	}
	if (u->state == UP_PUT) {
		if (u->parts[0].state == PART_READY) {
			upload_put_ready(u);
		}
		return;
	}
	if (u->state != UP_PARTS)
		return;
	while (u->inflight < u->cc.limit && !u->failing) {
		struct part *p = pop_retry(u);

		if (!p) {
			while (u->next_send < u->nparts &&
			       u->parts[u->next_send].state == PART_DONE) {
				u->next_send++;
			}
			if (u->next_send < u->nparts &&
			    u->parts[u->next_send].state == PART_READY) {
				p = &u->parts[u->next_send++];
			}
		}
		if (!p)
			break;
		part_send(u, p);
	}
	if (u->failing) {
		/* A send could not even start: nothing else will drive the
		 * upload to its end if nothing is outstanding. */
		upload_maybe_finish(u);
		return;
	}
	/* Sending moved next_send: let hashing follow. */
	limit = (uint64_t)u->next_send + u->cc.limit + u->hash_window;
	while (!u->failing && u->next_hash < u->nparts && u->next_hash < limit) {
		struct part *p = &u->parts[u->next_hash++];

		if (p->state == PART_PLANNED) {
			submit_hash(u, p);
		}
	}
	if (!u->failing && u->done_parts == u->nparts && u->inflight == 0) {
		upload_begin_complete(u);
	}
}

void parts_stop(struct hoist_upload *u)
{
	unsigned i;

	atomic_store_explicit(&u->stop, 1, memory_order_relaxed);
	for (i = 0; u->parts && i < u->nparts; i++) {
		struct part *p = &u->parts[i];

		if (p->state == PART_SENDING && p->req) {
			loop_remove(u->loop, &p->req->xfer);
			u->res.bytes_sent += p->req->pos;
			request_free(p->req);
			p->req = NULL;
			u->inflight--;
			p->state = PART_READY;
		} else if (p->state == PART_WAITING) {
			loop_timer_cancel(u->loop, &p->timer);
			p->state = PART_READY;
		}
	}
	u->retry_head = u->retry_tail = NULL;
}

/* The idle time after which a part in flight counts as stalled: several
 * times what parts take here (learnt from the finished ones, as aws-c-s3
 * learns its first-byte timeout), never under STALL_MIN_MS so that a slow
 * but moving network is left alone.  Too low: healthy parts are re-sent and
 * bytes wasted; too high: one stuck connection holds the tail of the
 * upload until curl's low-speed limit (30 s by default).
 *
 * Before any part has finished there is nothing learnt, and a store that
 * stalls every UploadPart never lets one finish: STALL_FIRST_MS is the
 * idle limit then.  Idle means no body byte handed to curl, no response
 * byte received, and no byte acknowledged by the peer on the socket
 * (request_wire_moved: a whole part may sit in socket buffers that a slow
 * link drains for seconds after the last read callback), so a slow
 * connection that moves is never idle; what waits 5 s in silence is a
 * server that stopped reading or answering.
 * Three attempts (--retries 2) then fail in about 16 s instead of 3 x 30 s
 * of low-speed limit. */
#define STALL_MIN_MS 2000
#define STALL_FIRST_MS 5000
#define STALL_FACTOR 6
/* After this long without a read callback the socket is asked (one
 * getsockopt per quiet part per scan). */
#define STALL_QUIET_MS 200

static uint64_t stall_limit_ms(const struct hoist_upload *u)
{
	uint64_t limit;

	if (u->part_ewma_ms <= 0)
		return STALL_FIRST_MS;
	limit = (uint64_t)(u->part_ewma_ms * STALL_FACTOR);
	return limit < STALL_MIN_MS ? STALL_MIN_MS : limit;
}

void parts_check_stalls(struct hoist_upload *u, uint64_t now)
{
	const struct engine_conf *c = &u->engine->conf;
	uint64_t limit;
	unsigned i;

	if (u->state != UP_PARTS || u->failing || u->inflight == 0)
		return;
	limit = stall_limit_ms(u);
	for (i = 0; i < u->nparts && !u->failing; i++) {
		struct part *p = &u->parts[i];
		struct request *r = p->req;
		uint64_t idle;

		if (p->state != PART_SENDING || !r || r->last_io_ms > now)
			continue;
		/* Quiet at the read callback: ask the socket whether bytes
		 * still move, often enough that the idle time is accurate. */
		if (now - r->last_io_ms >= STALL_QUIET_MS) {
			request_wire_moved(r, now);
		}
		if (now - r->last_io_ms < limit)
			continue;
		idle = now - r->last_io_ms;
		loop_remove(u->loop, &r->xfer);
		upload_note_request(u, r);
		request_free(r);
		p->req = NULL;
		u->inflight--;
		if (p->attempts >= c->max_attempts) {
			char detail[160];

			snprintf(detail, sizeof(detail),
				 "the request stalled: no byte moved for %.1f s, on each of %u "
				 "attempts (the server stopped reading or answering)",
				 (double)idle / 1000.0, p->attempts);
			upload_fail_status(u, HOIST_E_NETWORK, "UploadPart", p->number, detail);
			upload_maybe_finish(u);
			return;
		}
		engine_log(u->engine,
			   "UploadPart part %u: no progress for %" PRIu64 " ms (parts take ~%.0f ms); "
			   "re-sending",
			   p->number, idle, u->part_ewma_ms);
		u->res.retries++;
		p->state = PART_WAITING;
		loop_timer_set(u->loop, &p->timer, 0);
	}
}

uint64_t parts_inflight_bytes(struct hoist_upload *u)
{
	uint64_t sum = 0;
	unsigned i;

	if (u->inflight == 0)
		return 0;
	for (i = 0; i < u->nparts; i++) {
		if (u->parts[i].state == PART_SENDING && u->parts[i].req) {
			sum += u->parts[i].req->pos;
		}
	}
	return sum;
}

void parts_combine(struct hoist_upload *u)
{
	uint8_t(*md5s)[16] = NULL;
	uint64_t crc = 0;
	int crc_ok = 1, md5_ok = 1;
	unsigned i;

	for (i = 0; i < u->nparts; i++) {
		struct part *p = &u->parts[i];

		if (!p->have_crc) {
			crc_ok = 0;
		} else {
			crc = crc64_ecma_combine(crc, p->crc, p->len);
		}
		if (!p->have_md5 && (!p->etag || etag_to_md5(p->md5, p->etag) < 0)) {
			md5_ok = 0;
		} else {
			p->have_md5 = 1;
		}
	}
	u->object_crc = crc;
	u->object_crc_valid = crc_ok && u->want_crc;
	u->expected_etag[0] = '\0';
	if (md5_ok && u->want_md5 && u->plan.nparts > 0) {
		md5s = malloc((size_t)u->nparts * 16);
		if (md5s) {
			for (i = 0; i < u->nparts; i++) {
				memcpy(md5s[i], u->parts[i].md5, 16);
			}
			if (dialect_multipart_etag(u->engine->conf.dialect, u->expected_etag,
						   sizeof(u->expected_etag), md5s,
						   u->nparts) < 0) {
				u->expected_etag[0] = '\0';
			}
			free(md5s);
		}
	}
}

int parts_complete_xml(struct hoist_upload *u, struct buf *b)
{
	unsigned i;
	int rc = 0;

	rc |= buf_puts(b, "<CompleteMultipartUpload>");
	for (i = 0; i < u->nparts && rc == 0; i++) {
		rc |= buf_printf(b, "<Part><PartNumber>%u</PartNumber>", u->parts[i].number);
		rc |= xml_elem_append(b, "ETag", u->parts[i].etag);
		/* An upload created with x-amz-checksum-algorithm must name
		 * each part's checksum (S3 refuses the Complete otherwise). */
		if (u->parts[i].have_s3sum) {
			char sum[13];

			s3sum_encode(sum, u->s3sum, u->parts[i].s3sum);
			rc |= xml_elem_append(b, s3sum_element(u->s3sum), sum);
		}
		rc |= buf_puts(b, "</Part>");
	}
	rc |= buf_puts(b, "</CompleteMultipartUpload>");
	return rc ? -1 : 0;
}

int parts_s3sum_object(struct hoist_upload *u, char full[13], char composite[24])
{
	uint64_t whole = 0, ofparts = 0;
	unsigned i;

	for (i = 0; i < u->nparts; i++) {
		const struct part *p = &u->parts[i];
		uint8_t be[8];
		size_t w = u->s3sum == HOIST_S3_CHECKSUM_CRC32C ? 4 : 8, k;

		if (!p->have_s3sum)
			return -1;
		if (u->s3sum == HOIST_S3_CHECKSUM_CRC32C) {
			whole = crc32c_combine((uint32_t)whole, (uint32_t)p->s3sum, p->len);
		} else {
			whole = crc64_nvme_combine(whole, p->s3sum, p->len);
		}
		/* Composite: the same CRC over the parts' big-endian CRCs. */
		for (k = 0; k < w; k++) {
			be[k] = (uint8_t)(p->s3sum >> (8 * (w - 1 - k)));
		}
		if (u->s3sum == HOIST_S3_CHECKSUM_CRC32C) {
			ofparts = crc32c_update((uint32_t)ofparts, be, w);
		} else {
			ofparts = crc64_nvme_update(ofparts, be, w);
		}
	}
	s3sum_encode(full, u->s3sum, whole);
	s3sum_encode(composite, u->s3sum, ofparts);
	snprintf(composite + strlen(composite), 24 - strlen(composite), "-%u", u->nparts);
	return 0;
}

void parts_report(struct hoist_upload *u, struct part *p, const struct request *r)
{
	struct hoist_part_info info;
	char md5b64[25] = "";
	char sum[13] = "";

	if (!u->on_part)
		return;
	memset(&info, 0, sizeof(info));
	if (u->want_md5 && p->have_md5) {
		md5_to_base64(md5b64, p->md5);
	}
	info.part_number = p->number;
	info.offset = p->off;
	info.size = p->len;
	info.http_status = r ? r->http : 0;
	info.request_id = r && r->request_id ? r->request_id : "";
	info.content_md5 = md5b64;
	info.etag = p->etag ? p->etag : "";
	info.crc64 = p->have_crc ? p->crc : 0;
	info.attempts = p->attempts;
	info.seconds = p->seconds;
	if (p->have_s3sum) {
		s3sum_encode(sum, u->s3sum, p->s3sum);
	}
	info.s3_checksum = sum;
	info.s3_checksum_echoed = p->have_s3sum && r && r->echo;
	hoist__in_callback++;
	u->on_part(&info, u->userdata);
	hoist__in_callback--;
}
