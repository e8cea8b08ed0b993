/*
 * part.c - the part pipeline (see part.h).
 *
 * Layer: transfer.
 *
 * Two windows bound the work in progress:
 *  - at most `limit` requests in flight: not jobs itself but the adaptive
 *    limit of concurrency.c (at most jobs), so goodput decides how many
 *    connections the path is worth;
 *  - hashing runs at most limit + hash_window parts ahead of the first part
 *    not yet sent, so a part's bytes are still in the page cache when the
 *    read callback streams them (and memory never depends on the object
 *    size: the part table is ~250 bytes per part).
 * First sends go in part order (the tail of the object is not started
 * late); retries go first, as soon as their backoff expires.
 *
 * Threading: everything here runs on the owner's loop thread, except
 * part_hashed_worker, which runs on a hash worker and only posts.
 */
#include "part.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "retry.h"
#include "source.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static void part_hashed_worker(struct hash_job *j);
static void part_hashed_msg(struct loop_msg *m);
static void part_timer_fire(struct loop_timer *t);

static void part_setup(struct part_pipe *pp, struct part *p, unsigned i, uint64_t off,
		       uint64_t len)
{
	p->pipe = pp;
	p->number = i + 1;
	p->off = off;
	p->len = len;
	p->state = pp->conf.prepass ? PART_PLANNED : PART_READY;
	p->hj.done = part_hashed_worker;
	p->hashed_msg.fn = part_hashed_msg;
	p->timer.heap_index = (size_t)-1;
	p->timer.fn = part_timer_fire;
}

static int pipe_setup(struct part_pipe *pp, unsigned capacity,
		      const struct part_pipe_conf *conf, struct ctx *ctx, struct loop *loop,
		      struct hashpool *pool, struct source *src, struct req_stats *stats,
		      const atomic_int *cancel, const struct part_pipe_ops *ops, void *owner)
{
	memset(pp, 0, sizeof(*pp));
	pp->ctx = ctx;
	pp->loop = loop;
	pp->pool = pool;
	pp->src = src;
	pp->conf = *conf;
	/* The pool's lanes: see hash_ahead. */
	pp->hash_batch = pool ? hashpool_batch(pool, conf->part_size) : 1;
	pp->stats = stats;
	pp->cancel = cancel;
	pp->ops = ops;
	pp->owner = owner;
	pp->rng = retry_seed();
	concurrency_init(&pp->own_cc, conf->jobs, conf->fixed_concurrency, hoist__now_ms());
	pp->cc = &pp->own_cc;
	pp->peak_limit = pp->cc->limit;
	pp->parts = calloc(capacity, sizeof(*pp->parts));
	if (!pp->parts)
		return -1;
	pp->capacity = capacity;
	return 0;
}

int part_pipe_init(struct part_pipe *pp, const struct plan *plan,
		   const struct part_pipe_conf *conf, struct ctx *ctx, struct loop *loop,
		   struct hashpool *pool, struct source *src, struct req_stats *stats,
		   const atomic_int *cancel, const struct part_pipe_ops *ops, void *owner)
{
	unsigned i, n = plan->nparts ? plan->nparts : 1;

	if (pipe_setup(pp, n, conf, ctx, loop, pool, src, stats, cancel, ops, owner) < 0)
		return -1;
	pp->nparts = n;
	for (i = 0; i < n; i++) {
		part_setup(pp, &pp->parts[i], i, plan_part_offset(plan, i), plan_part_len(plan, i));
	}
	return 0;
}

int part_pipe_init_open(struct part_pipe *pp, unsigned capacity,
			const struct part_pipe_conf *conf, struct ctx *ctx, struct loop *loop,
			struct hashpool *pool, struct source *src, struct req_stats *stats,
			const atomic_int *cancel, const struct part_pipe_ops *ops, void *owner)
{
	if (pipe_setup(pp, capacity, conf, ctx, loop, pool, src, stats, cancel, ops, owner) < 0)
		return -1;
	pp->open = 1;
	return 0;
}

struct part *part_pipe_append(struct part_pipe *pp, uint64_t off, uint64_t len)
{
	struct part *p;

	if (!pp->open || pp->nparts >= pp->capacity)
		return NULL;
	p = &pp->parts[pp->nparts];
	part_setup(pp, p, pp->nparts, off, len);
	pp->nparts++;
	return p;
}

void part_pipe_close(struct part_pipe *pp)
{
	pp->open = 0;
	part_pipe_schedule(pp);
}

void part_pipe_free(struct part_pipe *pp)
{
	unsigned i;

	for (i = 0; pp->parts && i < pp->nparts; i++) {
		free(pp->parts[i].etag);
		free(pp->parts[i].listed_etag);
	}
	free(pp->parts);
	pp->parts = NULL;
}

static void fail(struct part_pipe *pp, hoist_status st, const char *op, unsigned part,
		 const char *detail)
{
	struct failure f;

	failure_init(&f, st, op, part, detail);
	pp->ops->failed(pp->owner, &f);
}

int part_pipe_busy(const struct part_pipe *pp)
{
	return pp->inflight || pp->hashing;
}

void part_pipe_mark_done(struct part_pipe *pp, struct part *p)
{
	p->state = PART_DONE;
	pp->done_parts++;
	pp->acked += p->len;
}

void part_pipe_exclude(struct part_pipe *pp, struct part *p)
{
	p->state = PART_DONE;
	pp->done_parts++;
}

/* ---------------------------------------------------------------- hash */

static void part_hashed_worker(struct hash_job *j)
{
	struct part *p = container_of(j, struct part, hj);

	loop_post(p->pipe->loop, &p->hashed_msg);
}

/* Prepares p's job and links it at *tail (hash_ahead submits the list). */
static void submit_hash(struct part_pipe *pp, struct part *p, struct hash_job ***tail)
{
	struct hash_job *j = &p->hj;

	j->src = pp->src;
	j->off = p->off;
	j->len = p->len;
	/* A stream's part is hashed in its buffer, without a copy. */
	j->mem = p->len ? source_view(pp->src, p->off, p->len) : NULL;
	j->want_md5 = pp->conf.want_md5 || (p->hash_extra & PART_SUM_MD5);
	j->want_crc = pp->conf.want_crc || (p->hash_extra & PART_SUM_CRC);
	j->want_crc32c = pp->conf.s3sum == HOIST_S3_CHECKSUM_CRC32C;
	j->want_crc64nvme = pp->conf.s3sum == HOIST_S3_CHECKSUM_CRC64NVME;
	j->stop = &pp->stop;
	j->next = NULL;
	p->state = PART_HASHING;
	pp->hashing++;
	**tail = j;
	*tail = &j->next;
}

static void part_hashed_msg(struct loop_msg *m)
{
	struct part *p = container_of(m, struct part, hashed_msg);
	struct part_pipe *pp = p->pipe;
	struct hash_job *j = &p->hj;
	char detail[128];

	pp->hashing--;
	if (j->result == HASH_SKIPPED || pp->stopped) {
		p->state = PART_PLANNED;
		pp->ops->settled(pp->owner);
		return;
	}
	if (j->result != 0) {
		if (j->result == SOURCE_SHORT) {
			fail(pp, HOIST_E_SOURCE_CHANGED, "read", p->number,
			     "the file is shorter than when the upload started");
		} else {
			snprintf(detail, sizeof(detail), "%s", strerror(j->err));
			fail(pp, HOIST_E_IO, "read", p->number, detail);
		}
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
	pp->ops->hashed(pp->owner, p);
	if (!pp->stopped) {
		part_pipe_schedule(pp);
	}
}

/*
 * Queues hashing up to the window ahead of the send point, hash_batch
 * parts at a time: the pool hashes the parts it holds together, one per
 * SIMD lane, so parts let in one by one as sends finish would each be
 * hashed alone at scalar speed.  Whole batches only (a remainder would be
 * hashed in a half-empty pass), except the upload's last parts when they
 * are all there is.  This cannot stall the send loop: a batch is held back
 * only while the window already holds at least hash_window - hash_batch +
 * 1 parts past next_send that are hashed or being hashed (the pool's
 * window is two batches).
 */
static void hash_ahead(struct part_pipe *pp)
{
	uint64_t limit = (uint64_t)pp->next_send + pp->cc->limit + pp->conf.hash_window;
	struct hash_job *list = NULL, **tail = &list;

	if (limit > pp->nparts) {
		limit = pp->nparts;
	}
	if (pp->next_hash >= limit)
		return;
	if (limit < pp->nparts) {
		limit -= (limit - pp->next_hash) % pp->hash_batch;
		if (limit == pp->next_hash)
			return;
	}
	while (!pp->stopped && pp->next_hash < limit) {
		struct part *p = &pp->parts[pp->next_hash++];

		if (p->state == PART_PLANNED) {
			submit_hash(pp, p, &tail);
		}
	}
	if (pp->pool) {
		hashpool_submit_list(pp->pool, list);
		return;
	}
	/* No pool: a small object's one part (upload_start.c), hashed here;
	 * its result still comes back as a message, as from a worker. */
	while (list) {
		struct hash_job *j = list;

		list = j->next;
		hash_job_run(j);
	}
}

/* ---------------------------------------------------------------- send */

static void part_done(struct request *r);

static void part_send(struct part_pipe *pp, struct part *p)
{
	struct request *r = pp->ops->build(pp->owner, p);

	if (!r) {
		fail(pp, HOIST_E_NOMEM, pp->conf.op, p->number, NULL);
		return;
	}
	/* Split the buffer budget by the ceiling, not the limit now: parts
	 * started while the limit is low stay in flight when it rises, and the
	 * budget must hold whatever the controller does.  (Measured on LAN:
	 * sized by the limit, the first parts' 512 KiB buffers made the
	 * adaptive run cost 0.46 CPU-s/GB where --fixed-jobs 64 cost 0.39.) */
	r->upload_buffer = request_upload_buffer(pp->cc->max);
	r->sent_total = &pp->wire_bytes;
	r->body_cap = 64 * 1024;
	r->done = part_done;
	r->owner = p;
	r->part = p->number;
	p->attempts++;
	p->state = PART_SENDING;
	p->req = r;
	pp->inflight++;
	p->cc_epoch = concurrency_take(pp->cc);
	if (request_start(r, pp->loop) < 0) {
		p->req = NULL;
		pp->inflight--;
		concurrency_give(pp->cc);
		p->state = PART_READY;
		fail(pp, HOIST_E_INTERNAL, r->op, p->number, curl_easy_strerror(r->cc));
		request_free(r);
	}
}

/* The server asked us to slow down, not just failed. */
static int throttled(const struct request *r)
{
	if (r->http == 429 || (r->qos_delay && *r->qos_delay)) {
		return 1;
	}
	return r->http == 503 && r->err.code && strcmp(r->err.code, "SlowDown") == 0;
}

/* A retryable failure of p's request r: back off and send again, unless
 * the attempts are spent or the transfer is being cancelled.  Returns 0
 * when a retry was arranged. */
static int retry_later(struct part_pipe *pp, struct part *p, struct request *r,
		       const struct failure *f)
{
	uint64_t delay;
	char *msg;

	if (p->attempts >= pp->ctx->conf->max_attempts ||
	    atomic_load_explicit(pp->cancel, memory_order_relaxed))
		return -1;
	delay = request_retry_delay(pp->ctx, r, p->attempts, &pp->rng);
	if (throttled(r)) {
		unsigned before = pp->cc->limit;

		if (concurrency_throttled(pp->cc, hoist__now_ms())) {
			ctx_log(pp->ctx, "the server is throttling: parts in flight %u -> %u", before,
				pp->cc->limit);
		}
	}
	msg = status_message(f);
	ctx_log(pp->ctx, "%s; attempt %u of %u, retrying in %" PRIu64 " ms",
		msg ? msg : pp->conf.op, p->attempts, pp->ctx->conf->max_attempts, delay);
	free(msg);
	pp->stats->retries++;
	p->state = PART_WAITING;
	loop_timer_set(pp->loop, &p->timer, delay);
	return 0;
}

/* p's request was refused because its session token expired, and new
 * keys are on their way (request_token_refresh): send it once more when
 * they are in, whatever the attempts so far (it is not a transient
 * failure, and it happens once). */
static int token_retry(struct part_pipe *pp, struct part *p, struct request *r)
{
	if (p->token_retried || atomic_load_explicit(pp->cancel, memory_order_relaxed) ||
	    !request_token_refresh(r))
		return -1;
	p->token_retried = 1;
	p->creds_waiting = 1;
	p->creds_gen = r->creds_gen;
	pp->stats->retries++;
	p->state = PART_WAITING;
	loop_timer_set(pp->loop, &p->timer, REQUEST_CREDS_POLL_MS);
	return 0;
}

static void log_limit(struct part_pipe *pp, unsigned before, const char *why)
{
	if (pp->cc->limit > pp->peak_limit) {
		pp->peak_limit = pp->cc->limit;
	}
	ctx_log(pp->ctx, "parts in flight %u -> %u (%s)", before, pp->cc->limit, why);
}

/* p's request r succeeded: evidence for the limit. */
static void note_done(struct part_pipe *pp, struct part *p, const struct request *r)
{
	unsigned before = pp->cc->limit;
	char why[80];

	if (concurrency_done(pp->cc, hoist__now_ms(), p->cc_epoch, p->len, r->seconds * 1000)) {
		snprintf(why, sizeof(why), "%.1f MiB/s measured, parts take %.0f ms",
			 pp->cc->last_rate / (1024.0 * 1024.0), pp->cc->part_ms);
		log_limit(pp, before, why);
	}
}

static void part_done(struct request *r)
{
	struct part *p = r->owner;
	struct part_pipe *pp = p->pipe;
	hoist_status st;
	struct failure f;
	char detail[200];
	int retry;

	p->req = NULL;
	pp->inflight--;
	concurrency_give(pp->cc);
	request_note(pp->stats, r);
	if (pp->stopped) {
		p->state = PART_READY;
		request_free(r);
		pp->ops->settled(pp->owner);
		return;
	}
	request_outcome(r, &st, &retry, &f);
	if (st == HOIST_OK && pp->ops->verify(pp->owner, p, r, &f, detail, sizeof(detail)) < 0) {
		st = f.status;
		retry = 1;
		f.detail = detail;
		f.code = NULL;
		f.message = NULL;
		f.request_id = r->request_id;
	}
	if (st == HOIST_OK) {
		p->seconds = r->seconds;
		note_done(pp, p, r);
		pp->part_ewma_ms = pp->part_ewma_ms == 0
					   ? r->seconds * 1000
					   : 0.8 * pp->part_ewma_ms + 0.2 * r->seconds * 1000;
		part_pipe_mark_done(pp, p);
		pp->ops->done(pp->owner, p, r);
		request_free(r);
		part_pipe_schedule(pp);
		return;
	}
	if ((retry && retry_later(pp, p, r, &f) == 0) ||
	    (!retry && token_retry(pp, p, r) == 0)) {
		request_free(r);
		part_pipe_schedule(pp);
		return;
	}
	pp->ops->failed(pp->owner, &f);
	request_free(r);
}

static void part_timer_fire(struct loop_timer *t)
{
	struct part *p = container_of(t, struct part, timer);
	struct part_pipe *pp = p->pipe;

	if (p->creds_waiting && !request_creds_ready(pp->ctx, p->creds_gen) &&
	    !atomic_load_explicit(pp->cancel, memory_order_relaxed)) {
		loop_timer_set(pp->loop, &p->timer, REQUEST_CREDS_POLL_MS);
		return;
	}
	p->creds_waiting = 0;
	p->state = PART_READY;
	p->next_retry = NULL;
	if (pp->retry_tail) {
		pp->retry_tail->next_retry = p;
	} else {
		pp->retry_head = p;
	}
	pp->retry_tail = p;
	part_pipe_schedule(pp);
}

static struct part *pop_retry(struct part_pipe *pp)
{
	struct part *p = pp->retry_head;

	if (p) {
		pp->retry_head = p->next_retry;
		if (!pp->retry_head) {
			pp->retry_tail = NULL;
		}
		p->next_retry = NULL;
	}
	return p;
}

/* The next part to send: a retry first, else the next unsent one if it is
 * ready.  NULL: nothing can go now. */
static struct part *next_to_send(struct part_pipe *pp)
{
	struct part *p = pop_retry(pp);

	if (p)
		return p;
	while (pp->next_send < pp->nparts && pp->parts[pp->next_send].state == PART_DONE) {
		pp->next_send++;
	}
	if (pp->next_send < pp->nparts && pp->parts[pp->next_send].state == PART_READY)
		return &pp->parts[pp->next_send++];
	return NULL;
}

void part_pipe_schedule(struct part_pipe *pp)
{
	if (pp->stopped)
		return;
	/* Hashing runs ahead, even before sending may start. */
	hash_ahead(pp);
	if (!pp->running)
		return;
	while (concurrency_may_start(pp->cc) && !pp->stopped) {
		struct part *p = next_to_send(pp);

		if (!p)
			break;
		part_send(pp, p);
	}
	if (pp->stopped)
		return;
	/* Sending moved next_send: let hashing follow. */
	hash_ahead(pp);
	if (!pp->stopped && !pp->open && pp->done_parts == pp->nparts && pp->inflight == 0) {
		if (!pp->cc->fixed) {
			ctx_log(pp->ctx, "%s: at most %u parts in flight (limit %u at the end)",
				pp->conf.op, pp->peak_limit, pp->cc->limit);
		}
		pp->ops->complete(pp->owner);
	}
}

void part_pipe_run(struct part_pipe *pp)
{
	pp->running = 1;
	part_pipe_schedule(pp);
}

void part_pipe_stop(struct part_pipe *pp)
{
	unsigned i;

	pp->stopped = 1;
	atomic_store_explicit(&pp->stop, 1, memory_order_relaxed);
	for (i = 0; pp->parts && i < pp->nparts; i++) {
		struct part *p = &pp->parts[i];

		if (p->state == PART_SENDING && p->req) {
			loop_remove(pp->loop, &p->req->xfer);
			request_note(pp->stats, p->req);
			concurrency_give(pp->cc);
			request_free(p->req);
			p->req = NULL;
			pp->inflight--;
			p->state = PART_READY;
		} else if (p->state == PART_WAITING) {
			loop_timer_cancel(pp->loop, &p->timer);
			p->state = PART_READY;
		}
	}
	pp->retry_head = pp->retry_tail = NULL;
}

/* ---------------------------------------------------------------- stalls */

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
 * server that stopped reading or answering.  Three attempts (--retries 2)
 * then fail in about 16 s instead of 3 x 30 s of low-speed limit. */
#define STALL_MIN_MS 2000
#define STALL_FIRST_MS 5000
#define STALL_FACTOR 6
/* After this long without a read callback the socket is asked (one
 * getsockopt per quiet part per scan). */
#define STALL_QUIET_MS 200
/* Ticks come once per loop iteration, thousands of times a second under
 * load: the scans over the part table run every 50 ms. */
#define STALL_SCAN_MS 50

static uint64_t stall_limit_ms(const struct part_pipe *pp)
{
	uint64_t limit;

	if (pp->part_ewma_ms <= 0)
		return STALL_FIRST_MS;
	limit = (uint64_t)(pp->part_ewma_ms * STALL_FACTOR);
	return limit < STALL_MIN_MS ? STALL_MIN_MS : limit;
}

/* p's request has been idle for idle ms: cancel it and send it again, or
 * fail the transfer when that was its last attempt.  Returns -1 when the
 * transfer failed. */
static int restart_stalled(struct part_pipe *pp, struct part *p, uint64_t idle)
{
	struct request *r = p->req;

	loop_remove(pp->loop, &r->xfer);
	request_note(pp->stats, r);
	concurrency_give(pp->cc);
	request_free(r);
	p->req = NULL;
	pp->inflight--;
	if (p->attempts >= pp->ctx->conf->max_attempts) {
		char detail[160];

		snprintf(detail, sizeof(detail),
			 "the request stalled: no byte moved for %.1f s, on each of %u "
			 "attempts (the server stopped reading or answering)",
			 (double)idle / 1000.0, p->attempts);
		fail(pp, HOIST_E_NETWORK, pp->conf.op, p->number, detail);
		return -1;
	}
	ctx_log(pp->ctx, "%s part %u: no progress for %" PRIu64 " ms (parts take ~%.0f ms); re-sending",
		pp->conf.op, p->number, idle, pp->part_ewma_ms);
	pp->stats->retries++;
	p->state = PART_WAITING;
	loop_timer_set(pp->loop, &p->timer, 0);
	return 0;
}

static void check_stalls(struct part_pipe *pp, uint64_t now)
{
	uint64_t limit = stall_limit_ms(pp);
	unsigned i;

	for (i = 0; i < pp->nparts && !pp->stopped && pp->inflight; i++) {
		struct part *p = &pp->parts[i];
		struct request *r = p->req;

		if (p->state != PART_SENDING || !r || r->last_io_ms > now)
			continue;
		/* Quiet at the read callback: ask the socket whether bytes
		 * still move, often enough that the idle time is accurate. */
		if (now - r->last_io_ms >= STALL_QUIET_MS) {
			request_wire_moved(r, now);
		}
		if (now - r->last_io_ms < limit)
			continue;
		if (restart_stalled(pp, p, now - r->last_io_ms) < 0)
			return;
	}
}

void part_pipe_tick(struct part_pipe *pp, uint64_t now)
{
	if (now - pp->last_stall_check_ms >= STALL_SCAN_MS) {
		pp->last_stall_check_ms = now;
		if (pp->running && !pp->stopped && pp->inflight) {
			check_stalls(pp, now);
		}
	}
	if (pp->running && !pp->stopped) {
		unsigned before = pp->cc->limit;
		int changed = concurrency_sample(pp->cc, now);

		if (changed) {
			char why[80];

			snprintf(why, sizeof(why), "no part back yet, a round trip is %" PRIu64 " ms",
				 concurrency_round_ms(pp->cc));
			log_limit(pp, before, why);
		}
		/* A shared controller may have been raised by another pipe:
		 * start what the limit allows now. */
		if (changed || (pp->cc != &pp->own_cc && concurrency_may_start(pp->cc) &&
				pp->next_send < pp->nparts)) {
			part_pipe_schedule(pp);
		}
	} else if (pp->cc == &pp->own_cc) {
		/* Only our own: a shared controller is still measuring others. */
		concurrency_pause(pp->cc);
	}
}

void part_pipe_share_concurrency(struct part_pipe *pp, struct concurrency *cc)
{
	pp->cc = cc;
	pp->peak_limit = cc->limit;
}

void part_pipe_round_trip(struct part_pipe *pp, const struct request *r)
{
	double rt = r->ttfb - r->pretransfer;
	unsigned before = pp->cc->limit;

	concurrency_round_trip(pp->cc, (rt > 0 ? rt : r->seconds) * 1000);
	if (pp->cc->limit != before) {
		char why[80];

		snprintf(why, sizeof(why), "the start for a %.0f ms round trip", pp->cc->rtt_ms);
		log_limit(pp, before, why);
	}
}

void part_pipe_park(struct part_pipe *pp, struct part *p)
{
	struct request *r = p->req;

	if (p->state != PART_SENDING || !r)
		return;
	loop_remove(pp->loop, &r->xfer);
	request_note(pp->stats, r);
	concurrency_give(pp->cc);
	request_free(r);
	p->req = NULL;
	pp->inflight--;
	if (p->attempts > 0) {
		p->attempts--; /* not a failure: the attempt did not count */
	}
	p->state = PART_WAITING;
}

void part_pipe_wake(struct part_pipe *pp, struct part *p)
{
	if (p->state != PART_WAITING || pp->stopped)
		return;
	loop_timer_cancel(pp->loop, &p->timer);
	part_timer_fire(&p->timer);
}

uint64_t part_pipe_inflight_bytes(const struct part_pipe *pp)
{
	uint64_t sum = 0;
	unsigned i;

	if (pp->inflight == 0)
		return 0;
	for (i = 0; i < pp->nparts; i++) {
		if (pp->parts[i].state == PART_SENDING && pp->parts[i].req) {
			sum += pp->parts[i].req->pos;
		}
	}
	return sum;
}
