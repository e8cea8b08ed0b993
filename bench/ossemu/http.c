/*
 * http.c - libmicrohttpd glue: the daemon, the request state machine of
 * req.h (addressing and routing are in route.c, body streaming and digest
 * checks in body.c), pacing faults, and queueing replies with the headers
 * every response carries.
 *
 * Design: MHD runs an epoll thread pool (--threads, default one per core).
 * Bodies are never held whole: MHD hands the access handler chunks of up to
 * its per-connection read buffer (--conn-memory), which go straight to a
 * temp file and the running checksums.  Nothing here blocks a worker for
 * long: latency, stalls and bandwidth caps suspend the connection and let
 * the timer thread (resume.c) resume it; Complete (which copies part files)
 * and upload callbacks (an outbound POST) run on a helper thread while the
 * connection is suspended.
 *
 * Threading: MHD calls every function here on the worker thread that owns
 * the connection, except offload_main (a helper thread; see req.h for the
 * hand-over rule).  Shared state is in stats (atomics), store (its lock),
 * faults (its lock) and the resumer (its lock).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "callback.h"
#include "http.h"
#include "imds.h"
#include "keys.h"
#include "req.h"
#include "resume.h"
#include "send.h"
#include "stats.h"


static _Atomic uint64_t request_seq;
static uint32_t request_prefix;

/* ---- collecting what MHD parsed ------------------------------------------ */

struct kv_vec {
	struct sign_kv *v;
	size_t n, cap;
	int oom;
};

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct kv_vec *vec = cls;

	(void)kind;
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 32;
		struct sign_kv *v = realloc(vec->v, cap * sizeof(*v));

		if (!v) {
			vec->oom = 1;
			return MHD_NO;
		}
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n].name = key;
	vec->v[vec->n].value = value;
	vec->n++;
	return MHD_YES;
}

static int collect(struct MHD_Connection *c, enum MHD_ValueKind kind, struct sign_kv **out,
		   size_t *n)
{
	struct kv_vec vec = { NULL, 0, 0, 0 };

	MHD_get_connection_values(c, kind, collect_kv, &vec);
	if (vec.oom) {
		free(vec.v);
		return -1;
	}
	*out = vec.v;
	*n = vec.n;
	return 0;
}

/* ---- request setup -------------------------------------------------------------- */

static void new_request_id(char out[25])
{
	uint64_t n = atomic_fetch_add_explicit(&request_seq, 1, memory_order_relaxed);

	snprintf(out, 25, "%08X%016llX", request_prefix, (unsigned long long)n);
}

static int op_needs_bucket(enum op op)
{
	return op != OP_STATS && op != OP_LIST_BUCKETS && op != OP_PUT_BUCKET &&
	       op != OP_UNKNOWN;
}

static void begin(struct req *rq, const char *url, const char *method)
{
	struct ossemu *srv = rq->srv;
	struct auth_input in;
	const char *cl;
	const char *enc;

	rq->method = method;
	rq->path = url;
	rq->host = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Host");
	if (!rq->host)
		rq->host = "";
	rq->is_head = strcmp(method, "HEAD") == 0;
	rq->mode = BODY_DRAIN;
	rq->sink.fd = -1;
	rq->bw_start_ns = mono_ns();
	if (collect(rq->conn, MHD_HEADER_KIND, &rq->headers, &rq->nheaders) < 0 ||
	    collect(rq->conn, MHD_GET_ARGUMENT_KIND, &rq->query, &rq->nquery) < 0) {
		rq->err = E_INTERNAL;
		return;
	}
	cl = req_header(rq, "Content-Length");
	if (cl && parse_u64(cl, &rq->content_length) == 0)
		rq->has_length = 1;
	if (strcmp(url, "/-/stats") == 0) {
		/* Unsigned and always allowed; never faulted. */
		rq->op = OP_STATS;
		return;
	}
	if (srv->imds && imds_path(url)) {
		/* The metadata service: unsigned, faulted only by --fault imds:. */
		rq->op = OP_IMDS;
		faults_decide(srv->faults, &rq->fp, rq->op, NULL, url, NULL, 0);
		if (rq->fp.fail) {
			rq->err = rq->fp.fail == 503 ? E_SLOW_DOWN : E_INTERNAL;
			stats_fault(srv->stats, FAULT_FAIL);
		}
		return;
	}
	if (req_resolve(rq) < 0) {
		rq->err = E_INTERNAL;
		return;
	}
	rq->op = req_route(rq);
	enc = req_query(rq, "encoding-type", NULL);
	rq->encoding_url = enc && strcmp(enc, "url") == 0;

	memset(&in, 0, sizeof(in));
	in.method = method;
	in.bucket = rq->bucket;
	in.key = rq->key;
	in.path = url;
	in.query = rq->query;
	in.nquery = rq->nquery;
	in.headers = rq->headers;
	in.nheaders = rq->nheaders;
	in.now = ossemu_now(srv);
	auth_check(&rq->auth, srv->cfg, srv->keys, &in);
	rq->dialect = rq->auth.dialect;
	if (rq->auth.err != E_OK) {
		rq->err = rq->auth.err;
		if (rq->auth.ak[0])
			rq->errx.ak = rq->auth.ak;
		if (rq->err == E_SIGNATURE_MISMATCH) {
			rq->errx.sig_provided = rq->auth.sig_provided;
			rq->errx.string_to_sign = rq->auth.string_to_sign;
		}
		if (rq->err == E_TOKEN_EXPIRED) {
			/* OSS echoes the expired token in <SecurityToken>. */
			stats_token_expired(srv->stats);
			if (rq->dialect == DIALECT_OSS)
				rq->errx.security_token = rq->auth.expired_token;
		}
		return;
	}
	keyring_note_use(srv->keys, rq->auth.key);
	if (rq->op == OP_UNKNOWN) {
		rq->err = E_NOT_IMPLEMENTED;
		return;
	}
	if (op_needs_bucket(rq->op) && !store_bucket_exists(srv->store, rq->bucket)) {
		rq->err = E_NO_SUCH_BUCKET;
		rq->errx.bucket = rq->bucket;
		return;
	}
	parse_digest_headers(rq);
	if (rq->err != E_OK)
		return;
	switch (rq->op) {
	case OP_PUT_BUCKET:
		op_put_bucket_begin(rq);
		break;
	case OP_PUT_OBJECT:
		op_put_object_begin(rq);
		break;
	case OP_UPLOAD_PART:
		op_upload_part_begin(rq);
		break;
	case OP_COMPLETE:
		op_complete_begin(rq);
		break;
	case OP_DELETE_MULTIPLE:
		op_delete_multiple_begin(rq);
		break;
	default:
		break;
	}
	if (rq->err != E_OK)
		return;
	faults_decide(srv->faults, &rq->fp, rq->op, rq->bucket, rq->key, rq->upload_id,
		      rq->part_number);
	if (rq->fp.fail) {
		rq->err = rq->fp.fail == 503 ? E_SLOW_DOWN : E_INTERNAL;
		stats_fault(srv->stats, FAULT_FAIL);
	}
}

static void req_free(struct req *rq)
{
	if (!rq)
		return;
	sink_cleanup(&rq->sink);
	reply_cleanup(&rq->reply);
	auth_result_cleanup(&rq->auth);
	callback_free(rq->callback);
	buf_free(&rq->body);
	free(rq->headers);
	free(rq->query);
	free(rq->bucket);
	free(rq->key);
	free(rq);
}

/* ---- finishing --------------------------------------------------------------------- */

char *http_stats_json(struct ossemu *srv)
{
	struct stats_extra x;

	memset(&x, 0, sizeof(x));
	store_counts(srv->store, &x.objects, &x.uploads);
	x.tokens_used = keyring_tokens_used(srv->keys);
	x.imds_issued = srv->imds ? imds_issued(srv->imds) : 0;
	return stats_json(srv->stats, &x);
}

static void op_stats_finish(struct req *rq)
{
	char *json = http_stats_json(rq->srv);

	if (!json || buf_puts(&rq->reply.body, json) < 0) {
		free(json);
		reply_error(rq, E_INTERNAL, NULL);
		return;
	}
	free(json);
	rq->reply.status = 200;
	rq->reply.content_type = "application/json";
}

static void op_imds_finish(struct req *rq)
{
	struct imds_reply out;

	memset(&out, 0, sizeof(out));
	imds_handle(rq->srv->imds, rq->method, rq->path, rq->headers, rq->nheaders,
		    ossemu_now(rq->srv), &out);
	buf_free(&rq->reply.body);
	rq->reply.body = out.body;
	rq->reply.status = out.status;
	rq->reply.content_type = out.content_type;
}

static void run_op(struct req *rq)
{
	switch (rq->op) {
	case OP_STATS:
		op_stats_finish(rq);
		break;
	case OP_IMDS:
		op_imds_finish(rq);
		break;
	case OP_LIST_BUCKETS:
	case OP_PUT_BUCKET:
	case OP_HEAD_BUCKET:
	case OP_DELETE_BUCKET:
		op_bucket_finish(rq);
		break;
	case OP_LIST_OBJECTS:
		op_list_objects_finish(rq);
		break;
	case OP_PUT_OBJECT:
		op_put_object_finish(rq);
		break;
	case OP_GET_OBJECT:
	case OP_HEAD_OBJECT:
		op_get_object_finish(rq);
		break;
	case OP_DELETE_OBJECT:
		op_delete_object_finish(rq);
		break;
	case OP_DELETE_MULTIPLE:
		op_delete_multiple_finish(rq);
		break;
	case OP_LIST_UPLOADS:
		op_list_uploads_finish(rq);
		break;
	case OP_INITIATE:
		op_initiate_finish(rq);
		break;
	case OP_UPLOAD_PART:
		op_upload_part_finish(rq);
		break;
	case OP_COMPLETE:
		op_complete_finish(rq);
		break;
	case OP_ABORT:
		op_abort_finish(rq);
		break;
	case OP_LIST_PARTS:
		op_list_parts_finish(rq);
		break;
	default:
		reply_error(rq, E_NOT_IMPLEMENTED, NULL);
		break;
	}
	if (!rq->reply.status)
		reply_error(rq, E_INTERNAL, NULL);
}

static void *offload_main(void *arg)
{
	struct req *rq = arg;

	run_op(rq);
	rq->finished = 1;
	resumer_release(rq->srv->resumer, rq->conn);
	return NULL;
}

/* Runs the finish step on a helper thread with the connection suspended:
 * Complete copies part files and callbacks wait on another server, and
 * neither may hold up the other connections of this worker.  Returns 0 if
 * the caller must run it inline (shutting down, or no thread). */
static int offload_start(struct req *rq)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	if (!resumer_hold(rq->srv->resumer, rq->conn))
		return 0;
	rq->offloaded = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &attr, offload_main, rq);
	pthread_attr_destroy(&attr);
	if (r != 0) {
		rq->offloaded = 0;
		resumer_release(rq->srv->resumer, rq->conn);
		return 0;
	}
	return 1;
}

static ssize_t never_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* True when GetObject's faults act on its response body: it answered 2xx
 * with bytes to send. */
static int get_body_faulted(const struct req *rq)
{
	const struct reply *r = &rq->reply;

	if (rq->op != OP_GET_OBJECT || !rq->finished || r->status < 200 || r->status > 299 ||
	    r->head_only)
		return 0;
	return (r->fd >= 0 ? r->len : r->body.len) > 0;
}

/* What to do to rq's response body: pace it (--conn-bandwidth, every
 * body), and for a GetObject that answers with bytes, the body faults its
 * fault plan drew (reset and stall half-way, one byte flipped). */
static void plan_body(const struct req *rq, uint64_t len, struct send_plan *p)
{
	const struct fault_plan *fp = &rq->fp;

	send_plan_init(p);
	if (len == 0)
		return;
	p->bandwidth = rq->srv->cfg->conn_bandwidth;
	if (!get_body_faulted(rq))
		return;
	if (fp->reset)
		p->reset_at = len / 2;
	if (fp->stall_s > 0) {
		p->stall_at = len / 2;
		p->stall_s = fp->stall_s;
	}
	if (fp->corrupt)
		p->corrupt_at = (uint64_t)(fp->corrupt_frac * (double)len) % len;
}

/* The MHD response for rq->reply's body; *counted says whether the sender
 * counts bytes_out itself (as it hands bytes over). */
static struct MHD_Response *make_response(struct req *rq, const struct send_plan *plan,
					  uint64_t *out_len, int *counted)
{
	struct reply *r = &rq->reply;
	struct MHD_Response *resp;

	*counted = 0;
	*out_len = 0;
	if (r->head_only)
		return MHD_create_response_from_callback(r->len, 4096, never_read, NULL, NULL);
	if (r->fd >= 0) {
		int fd = r->fd;

		*out_len = r->len;
		r->fd = -1; /* the response closes it, on failure too */
		if (send_plan_active(plan)) {
			*counted = 1;
			return send_response_new(rq->srv, rq->conn, plan, fd, r->off, NULL, r->len);
		}
		resp = MHD_create_response_from_fd_at_offset64(r->len, fd, r->off);
		if (!resp)
			close(fd);
		return resp;
	}
	{
		size_t len = r->body.len;
		char *data = buf_detach(&r->body);

		*out_len = len;
		if (len && send_plan_active(plan)) {
			*counted = 1;
			return send_response_new(rq->srv, rq->conn, plan, -1, 0, data, len);
		}
		resp = data ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE) : NULL;
		if (!resp)
			free(data);
		return resp;
	}
}

static enum MHD_Result queue_reply(struct req *rq)
{
	struct reply *r = &rq->reply;
	struct MHD_Response *resp;
	struct send_plan plan;
	uint64_t out_len = 0;
	char date[30];
	char *err_b64 = NULL;
	int counted = 0;
	enum MHD_Result ret;

	if (r->err != E_OK && rq->is_head && r->body.len) {
		/* HEAD has no body: OSS puts the error document in x-oss-err. */
		err_b64 = malloc(BASE64_LEN(r->body.len) + 1);
		if (err_b64)
			base64_encode(err_b64, (const uint8_t *)r->body.data, r->body.len);
	}
	plan_body(rq, r->head_only ? 0 : (r->fd >= 0 ? r->len : r->body.len), &plan);
	resp = make_response(rq, &plan, &out_len, &counted);
	if (!resp) {
		free(err_b64);
		return MHD_NO;
	}
	sign_format_rfc1123(date, ossemu_now(rq->srv));
	MHD_add_response_header(resp, "Server", "AliyunOSS");
	MHD_add_response_header(resp, "Date", date);
	if (rq->dialect == DIALECT_S3) {
		MHD_add_response_header(resp, "x-amz-request-id", rq->id);
		MHD_add_response_header(resp, "x-amz-id-2", rq->id);
	} else {
		MHD_add_response_header(resp, "x-oss-request-id", rq->id);
	}
	if (r->err != E_OK && rq->dialect == DIALECT_OSS)
		MHD_add_response_header(resp, "x-oss-ec", r->ec ? r->ec : err_ec(r->err));
	if (err_b64)
		MHD_add_response_header(resp, "x-oss-err", err_b64);
	if (r->content_type)
		MHD_add_response_header(resp, "Content-Type", r->content_type);
	for (size_t i = 0; i < r->headers.n; i++)
		MHD_add_response_header(resp, r->headers.v[i].name, r->headers.v[i].value);
	/* Counted before the client can see the answer, so a client that reads
	 * /-/stats after a response always finds that response counted; a
	 * body that will be cut off counts as a reset, not as its status. */
	if (plan.reset_at != SEND_NEVER) {
		rq->was_reset = 1;
		stats_request(rq->srv->stats, rq->op, STATS_STATUS_RESET);
	} else {
		stats_request(rq->srv->stats, rq->op, r->status);
	}
	rq->queued = 1;
	ret = MHD_queue_response(rq->conn, r->status, resp);
	MHD_destroy_response(resp);
	free(err_b64);
	if (!rq->is_head && !counted)
		stats_bytes_out(rq->srv->stats, out_len);
	return ret;
}

/* Suspends until delay_ns from now.  1 if suspended. */
static int pause_for(struct req *rq, uint64_t delay_ns)
{
	return resumer_suspend_until(rq->srv->resumer, rq->conn, mono_ns() + delay_ns);
}

/* MHD's view: is the connection suspended right now?  Only its worker
 * thread changes that, and this runs on it. */
static int is_suspended(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_SUSPENDED);

	return ci && ci->suspended == MHD_YES;
}

static enum MHD_Result on_chunk(struct req *rq, const char *data, size_t *size, int may_pause)
{
	const struct ossemu_config *cfg = rq->srv->cfg;
	size_t n = *size;

	/* Not while suspended: MHD must not close a connection it holds in
	 * its suspended list; the next regular chunk will do. */
	if (may_pause && rq->fp.reset && rq->err == E_OK) {
		uint64_t at = rq->has_length ? rq->content_length / 2 : 0;

		if (rq->received + n > at) {
			/* Drop the connection with the body half read; nothing is
			 * stored, so nothing acknowledged is lost. */
			rq->was_reset = 1;
			stats_fault(rq->srv->stats, FAULT_RESET);
			stats_request(rq->srv->stats, rq->op, STATS_STATUS_RESET);
			return MHD_NO;
		}
	}
	rq->received += n;
	stats_bytes_in(rq->srv->stats, n);
	switch (rq->mode) {
	case BODY_STREAM:
		sink_write(rq, data, n);
		break;
	case BODY_ACCUM:
		if (rq->body.len + n > rq->accum_max) {
			rq->err = rq->op == OP_COMPLETE ? E_MALFORMED_XML : E_TOO_LARGE_BODY;
			buf_free(&rq->body);
			rq->mode = BODY_DRAIN;
		} else if (buf_append(&rq->body, data, n) < 0) {
			rq->err = E_INTERNAL;
			buf_free(&rq->body);
			rq->mode = BODY_DRAIN;
		}
		break;
	case BODY_DRAIN:
		break;
	}
	*size = 0;
	if (!may_pause)
		return MHD_YES;
	if (rq->fp.stall_s > 0 && !rq->stall_done) {
		/* Stop reading mid-body for a while; the client sees a stall. */
		rq->stall_done = 1;
		stats_fault(rq->srv->stats, FAULT_STALL);
		pause_for(rq, (uint64_t)(rq->fp.stall_s * 1e9));
		return MHD_YES;
	}
	if (cfg->conn_bandwidth > 0) {
		uint64_t due = rq->bw_start_ns + (uint64_t)((double)rq->received / cfg->conn_bandwidth * 1e9);
		uint64_t now = mono_ns();

		if (due > now + PACE_MIN_SUSPEND_NS && pause_for(rq, due - now) && !rq->throttled) {
			rq->throttled = 1;
			stats_fault(rq->srv->stats, FAULT_BANDWIDTH);
		}
	}
	return MHD_YES;
}

/* The faults that act before the answer (or, with a body, before the op):
 * 0 go on, 1 suspended for a stall (return MHD_YES), -1 drop the
 * connection (return MHD_NO). */
static int answer_faults(struct req *rq)
{
	struct stats *st = rq->srv->stats;

	if (rq->fp.reset && rq->err == E_OK) {
		rq->was_reset = 1;
		stats_fault(st, FAULT_RESET);
		stats_request(st, rq->op, STATS_STATUS_RESET);
		return -1;
	}
	if (rq->fp.stall_s > 0 && !rq->stall_done) {
		rq->stall_done = 1;
		stats_fault(st, FAULT_STALL);
		if (pause_for(rq, (uint64_t)(rq->fp.stall_s * 1e9)))
			return 1;
	}
	return 0;
}

static int wants_offload(const struct req *rq)
{
	return rq->op == OP_COMPLETE || rq->callback;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size, void **req_cls)
{
	struct ossemu *srv = cls;
	struct req *rq = *req_cls;
	const char *expect;

	(void)version;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		rq->srv = srv;
		rq->conn = c;
		reply_init(&rq->reply);
		new_request_id(rq->id);
		*req_cls = rq;
		begin(rq, url, method);
		rq->begun = 1;
		if (rq->err != E_OK && rq->mode == BODY_STREAM) {
			sink_cleanup(&rq->sink);
			rq->mode = BODY_DRAIN;
		}
		expect = req_header(rq, "Expect");
		if (rq->err != E_OK && expect && strcasecmp(expect, "100-continue") == 0) {
			/* Refuse before the body is sent: MHD skips the 100. */
			reply_error(rq, rq->err, &rq->errx);
			rq->finished = 1;
			return queue_reply(rq);
		}
		return MHD_YES;
	}
	if (is_suspended(c)) {
		/* libmicrohttpd 0.9.75 goes on handing over the chunks of a
		 * chunked body it already decoded after the handler suspended
		 * the connection.  Take them, but never suspend twice (that
		 * corrupts MHD's lists) and never answer now: MHD calls again
		 * after the resume. */
		if (*upload_data_size && !rq->finished && !rq->offloaded)
			return on_chunk(rq, upload_data, upload_data_size, 0);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->finished || rq->offloaded) {
			*upload_data_size = 0; /* cannot happen; be safe */
			return MHD_YES;
		}
		return on_chunk(rq, upload_data, upload_data_size, 1);
	}
	if (rq->has_length && rq->received < rq->content_length && !rq->finished)
		return MHD_YES; /* resumed mid-body */
	if (!rq->finished) {
		if (rq->offloaded)
			return MHD_YES;
		if (rq->op != OP_GET_OBJECT) {
			int f = answer_faults(rq);

			if (f)
				return f < 0 ? MHD_NO : MHD_YES;
		}
		if (rq->err == E_OK)
			body_checks(rq);
		if (rq->err != E_OK) {
			reply_error(rq, rq->err, &rq->errx);
			rq->finished = 1;
		} else if (wants_offload(rq) && offload_start(rq)) {
			return MHD_YES;
		} else {
			run_op(rq);
			rq->finished = 1;
		}
	}
	if (rq->op == OP_GET_OBJECT && !get_body_faulted(rq)) {
		/* No body to fault (an error, an empty object): as elsewhere. */
		int f = answer_faults(rq);

		if (f)
			return f < 0 ? MHD_NO : MHD_YES;
	}
	/* The metadata service is on the instance, not across the WAN. */
	if (srv->cfg->latency_ms > 0 && !rq->latency_done && rq->op != OP_STATS &&
	    rq->op != OP_IMDS) {
		rq->latency_done = 1;
		stats_fault(srv->stats, FAULT_LATENCY);
		if (pause_for(rq, (uint64_t)(srv->cfg->latency_ms * 1e6)))
			return MHD_YES;
	}
	return queue_reply(rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ossemu *srv = cls;
	struct req *rq = *req_cls;
	unsigned status;

	(void)c;
	if (!rq)
		return;
	*req_cls = NULL;
	(void)toe;
	/* Answers and resets were counted when they happened (before the
	 * client could notice); what is left is a client that went away. */
	if (rq->queued) {
		status = rq->reply.status;
	} else if (rq->was_reset) {
		status = STATS_STATUS_RESET;
	} else {
		status = STATS_STATUS_ABORTED;
		stats_request(srv->stats, rq->op, status);
	}
	if (srv->cfg->verbose)
		fprintf(stderr, "ossemu: %s %s %s -> %u (%s, %llu bytes in)\n", rq->id,
			rq->method ? rq->method : "?", rq->path ? rq->path : "?", status,
			op_name(rq->op), (unsigned long long)rq->received);
	req_free(rq);
}

/* With --conn-bandwidth the body is paced where ossemu reads it, so the
 * kernel must not acknowledge far ahead of that: with loopback's
 * autotuned receive buffer (up to 6 MB) a whole part would be acked at
 * once and then read for seconds, which no real link does and which a
 * client watching its socket's acknowledged bytes (a stall detector)
 * would take for a server that stopped reading.  A receive buffer of
 * about 100 ms at the capped rate keeps acks flowing at that rate, with
 * room for the pacer's wake-ups (MIN_SUSPEND_NS) so the cap stays the
 * limit; 64 KiB at least (the floor of a real TCP window). */
static void pace_socket(const struct ossemu_config *cfg, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci;
	double want = cfg->conn_bandwidth * 0.1;
	int v;

	if (cfg->conn_bandwidth <= 0)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	if (want < 65536) {
		want = 65536;
	} else if (want > 8 * 1048576) {
		want = 8 * 1048576;
	}
	v = (int)want;
	setsockopt(ci->connect_fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct ossemu *srv = cls;

	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		pace_socket(srv->cfg, c);
	}
	stats_connection(srv->stats, toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* ---- daemon ---------------------------------------------------------------------------- */

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	struct buf b = BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	for (n = fread(chunk, 1, sizeof(chunk), f); n > 0; n = fread(chunk, 1, sizeof(chunk), f)) {
		if (buf_append(&b, chunk, n) < 0) {
			fclose(f);
			buf_free(&b);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
	}
	fclose(f);
	return buf_detach(&b);
}

int http_start(struct ossemu *s, char *err, size_t errlen)
{
	const struct ossemu_config *cfg = s->cfg;
	struct sockaddr_storage ss;
	struct MHD_OptionItem opts[16];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_SUPPRESS_DATE_NO_CLOCK | MHD_USE_ERROR_LOG;
	char *cert = NULL, *key = NULL;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	size_t increment;
	int n = 0;
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	request_prefix = rnd;
	memset(&ss, 0, sizeof(ss));
	if (strchr(cfg->host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET6, cfg->host, &a->sin6_addr) != 1)
			goto bad_host;
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)cfg->port);
		if (inet_pton(AF_INET, cfg->host, &a->sin_addr) != 1)
			goto bad_host;
	}
	/* MHD grows a connection's read buffer by this much at a time; a
	 * large step gets big upload chunks (fewer handler calls) at once. */
	increment = cfg->conn_memory / 4;
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, &ss };
	if (cfg->threads > 1) /* 1: MHD's single internal thread, no pool */
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_THREAD_POOL_SIZE, cfg->threads, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, 8192, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_LIMIT,
					     (intptr_t)cfg->conn_memory, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_MEMORY_INCREMENT,
					     (intptr_t)increment, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 300, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, s };
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, s };
	if (cfg->tls_cert) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			snprintf(err, errlen, "this libmicrohttpd has no TLS support");
			return -1;
		}
		cert = read_file(cfg->tls_cert, err, errlen);
		key = cert ? read_file(cfg->tls_key, err, errlen) : NULL;
		if (!cert || !key) {
			free(cert);
			return -1;
		}
		flags |= MHD_USE_TLS;
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, cert };
		opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, key };
	}
	opts[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
	d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
			     MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	/* MHD hands the PEM text to GnuTLS, which copies it, at start (the
	 * TLS test under ASan would catch a later read). */
	free(cert);
	free(key);
	if (!d) {
		snprintf(err, errlen, "cannot start the HTTP daemon on %s:%u (port in use?)",
			 cfg->host, cfg->port);
		return -1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info && info->port ? info->port : cfg->port;
	s->daemon = d;
	return 0;
bad_host:
	snprintf(err, errlen, "--host %s: not a numeric IP address", cfg->host);
	return -1;
}

void http_stop(struct ossemu *s)
{
	struct MHD_Daemon *d = s->daemon;

	if (!d)
		return;
	MHD_quiesce_daemon(d);
	/* Resume everything suspended (timers at once, offloaded work when it
	 * is done: callbacks time out after 5 s per URL) before stopping, as
	 * MHD requires. */
	resumer_stop(s->resumer, 60000);
	MHD_stop_daemon(d);
	s->daemon = NULL;
}
