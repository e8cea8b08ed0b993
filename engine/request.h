/*
 * request.h - one signed HTTP request and what came back (private).
 *
 * Owns: easy handle setup (URL, headers, TLS, timeouts, body source),
 * signing through sign.h, the read callback that streams a body straight
 * from the file range (with an optional inline CRC64), capture of the
 * response headers hoist cares about and of the body (capped), and the
 * parse of an error body.  A request is one attempt: a retry is a new
 * request (fresh signature, fresh date).
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: a request belongs to one thread at a time: the loop thread
 * while it runs on a loop (request_start), or the caller of
 * request_perform.
 */
#ifndef HOIST_REQUEST_H
#define HOIST_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "buf.h"
#include "ctx.h"
#include "dialect.h"
#include "loop.h"
#include "response.h"
#include "sign.h"
#include "status.h"

struct source;

enum req_body {
	REQ_BODY_NONE = 0,
	REQ_BODY_MEM,       /* mem/memlen, BORROWED until the request ends */
	REQ_BODY_SOURCE     /* [off, off+len) of src */
};

#define REQ_MAX_QUERY 8
#define REQ_MAX_HEADERS 16
#define REQ_MAX_EXTRA 4

struct request {
	struct loop_xfer xfer;      /* the loop's view; CURLOPT_PRIVATE */
	struct ctx *ctx;

	/* Set by the owner before request_start/request_perform. */
	const char *op;             /* static: "UploadPart" */
	const char *method;         /* static: "PUT", "POST", "GET", "HEAD", "DELETE" */
	char *bucket;               /* copies */
	char *key;
	struct sign_kv query[REQ_MAX_QUERY];    /* OWNED copies */
	size_t nquery;
	struct sign_kv headers[REQ_MAX_HEADERS]; /* OWNED copies */
	size_t nheaders;
	enum req_body body_kind;
	const char *mem;
	size_t memlen;
	struct source *src;
	uint64_t off;
	uint64_t len;
	int crc_inline;             /* CRC64 of the body bytes as they are read */
	uint64_t *sent_total;       /* if set, += every body byte handed to curl
	                               (the owner's thread: the loop's) */
	size_t body_cap;            /* response bytes kept; 0: 2 MiB */
	long upload_buffer;         /* CURLOPT_UPLOAD_BUFFERSIZE; 0: curl's */
	const char *echo_header;    /* static: a response header to keep in
	                               echo (x-amz-checksum-*), or NULL */
	const char *extra_headers[REQ_MAX_EXTRA]; /* static: more to keep in extra */
	void (*done)(struct request *r); /* loop thread, after capture */
	/* A body sink (a GET's bytes): when set, the bytes of a 2xx response
	 * go to sink instead of r->body (error bodies are still captured).
	 * Returns n (taken), CURL_WRITEFUNC_PAUSE (not taken: curl offers the
	 * same bytes again after request_resume), or anything else to abort
	 * the transfer.  The sink adds to r->pos and *r->sent_total itself
	 * (what it took); loop thread. */
	size_t (*sink)(struct request *r, const char *data, size_t n);
	long recv_buffer;           /* CURLOPT_BUFFERSIZE for a sink; 0: curl's */
	int sink_mode;              /* 0 undecided, 1 to the sink, 2 captured */
	void *owner;
	unsigned part;              /* for messages: 0 if not a part */

	/* Transfer state. */
	struct curl_slist *slist;
	struct req_url url;
	uint64_t pos;               /* body bytes handed to curl */
	uint64_t crc;               /* inline CRC64 of body[0, pos) */
	int src_result;             /* 0, SOURCE_SHORT or -1 (see source.h) */
	int src_errno;
	char errbuf[CURL_ERROR_SIZE];
	int64_t sign_time;          /* Unix seconds the signature claims */
	uint64_t creds_gen;         /* the key set that signed (creds.h); 0: static */
	int64_t sign_offset;        /* the clock offset included in sign_time */
	double started;             /* hoist__now_s() at start */
	uint64_t last_io_ms;        /* hoist__now_ms() of the last body byte
	                               sent or response byte received */
	uint64_t wire_seen;         /* the socket's acked + received bytes
	                               at the last request_wire_moved */
	int sock;                   /* the connection's socket, -1 unknown */
	int *port_fds;              /* the loop's (loop_port_fds), or NULL */

	/* Results, valid once done runs (or request_perform returns). */
	CURLcode cc;
	long http;
	struct buf body;
	int body_truncated;
	char *etag;
	char *request_id;
	char *version_id;
	char *date;
	char *retry_after;
	char *qos_delay;
	char *content_length;
	char *content_range;
	char *last_modified;
	char *echo;                 /* echo_header's value, if it came */
	char *extra[REQ_MAX_EXTRA]; /* extra_headers' values, if they came */
	uint64_t resp_crc;
	int resp_crc_valid;
	struct error_doc err;       /* when http >= 300 and the body (or
	                               x-oss-err) was an Error document */
	double ttfb;                /* CURLINFO_STARTTRANSFER_TIME */
	double pretransfer;         /* CURLINFO_PRETRANSFER_TIME: connect and
	                               TLS done, the request about to go */
	double seconds;             /* start to completion */
};

/* A new request for op (static string).  NULL on ENOMEM. */
struct request *request_new(struct ctx *c, const char *op,
			    const char *method, const char *bucket,
			    const char *key);
void request_free(struct request *r);
/* Copies name/value; -1 on ENOMEM or when the table is full. */
int request_query(struct request *r, const char *name, const char *value);
int request_header(struct request *r, const char *name, const char *value);

/* One response header's value by name (names are case-blind; the first
 * one when a name repeats), as a malloc'd copy OWNED by the caller, or
 * NULL when absent (or on ENOMEM). */
typedef char *(*request_header_fn)(void *userdata, const char *name);

/* The header half of a finished transfer, for a response with r->http > 0
 * (otherwise nothing): fills etag, request_id (x-amz-request-id when the
 * dialect's own is absent), version_id, date, retry_after, content_length,
 * echo (when echo_header is set), qos_delay and resp_crc/resp_crc_valid
 * from get; for a status >= 300 or 203, fills err from r->body (unless
 * truncated) or else from the dialect's base64 x-oss-err header.  The
 * fields must be empty before; request_free releases them.  Separate
 * from the curl handle so that the fuzz target runs this very code. */
void request_capture_headers(struct request *r, enum hoist_dialect d,
			     request_header_fn get, void *userdata);

/* Loop thread: signs and adds to the loop.  Returns 0, or -1 with r->cc
 * set (setup failed: r->done is not called). */
int request_start(struct request *r, struct loop *l);
/* Loop thread, on a running request: the response status and one header
 * received so far (malloc'd, or NULL), for a sink that checks the answer
 * before it takes a byte. */
long request_live_status(struct request *r);
char *request_live_header(struct request *r, const char *name);
/* Loop thread: lets a sink that paused take bytes again (curl may call
 * the sink from inside this call). */
void request_resume(struct request *r);

/* Any thread: signs and performs on a private easy handle, blocking. */
void request_perform(struct request *r);

/* Loop thread, for a running request that looks idle: 1 when its
 * connection moved bytes since the last call (the kernel's count of bytes
 * the peer acknowledged plus bytes received, TCP_INFO), and then
 * last_io_ms is set to now_ms.  The read callback alone cannot tell: a
 * whole part may sit in socket buffers (several MB on a fast path) that
 * a slow link drains for seconds after the last callback. */
int request_wire_moved(struct request *r, uint64_t now_ms);

/* What the outcome means: *status, whether the same request may be sent
 * again, and the failure description (strings BORROWED from r).  For a
 * 2xx response status is HOIST_OK. */
void request_outcome(struct request *r, hoist_status *status, int *retry,
		     struct failure *f);

/* f describes a failure of status st about r's answer: r's operation,
 * part, HTTP status and request id, and detail (BORROWED). */
void request_failure(struct failure *f, const struct request *r, hoist_status st,
		     const char *detail);

/* The server's clock from the Date header minus the time we signed with,
 * for RequestTimeTooSkewed.  Returns 0 and sets *offset, or -1. */
int request_clock_skew(const struct request *r, int64_t *offset);

/* The one retry policy, for every caller (parts, control requests, the
 * blocking housekeeping calls): how long to wait before attempt + 1 after
 * r failed.  Full-jitter backoff from the engine's base and cap, at least
 * what the server asked (Retry-After, x-oss-qos-delay-time); and when the
 * server says our clock is off (RequestTimeTooSkewed, RequestExpired) the
 * signing clock is corrected by its Date first, so the retry is signed
 * right.  rng is the caller's backoff state. */
uint64_t request_retry_delay(struct ctx *c, const struct request *r, unsigned attempt,
			     uint64_t *rng);

/* The one expired-token policy, for every owner of requests: when r was
 * refused because its session token expired and the engine's provider can
 * give new keys, asks for them (never blocks) and returns 1; the owner
 * then sends the request once more (once: a second refusal is final),
 * when request_creds_ready(r) says the refresh is over.  0 otherwise. */
int request_token_refresh(struct request *r);
/* Whether a refresh asked for after r's refusal is over (1), so that the
 * retry is signed with the new keys. */
int request_creds_ready(struct ctx *c, uint64_t gen);
/* How long an owner waits between request_creds_ready polls, ms: short,
 * since a local metadata service answers in about a millisecond, but the
 * loop is not spun. */
#define REQUEST_CREDS_POLL_MS 20

/* What a transfer adds up over its requests, for its result. */
struct req_stats {
	uint64_t bytes_sent;       /* body bytes sent, retries included */
	unsigned retries;          /* requests re-sent */
	long http_status;          /* of the last response */
	double ttfb;               /* of the first response */
	int ttfb_set;
};
/* Adds a finished (or abandoned) request to s. */
void request_note(struct req_stats *s, const struct request *r);

/* CURLOPT_UPLOAD_BUFFERSIZE for a request when `inflight` requests share
 * the memory budget for curl's upload buffers. */
long request_upload_buffer(unsigned inflight);

#endif
