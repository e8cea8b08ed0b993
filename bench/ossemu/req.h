/*
 * req.h - one HTTP request in flight, as http.c and the operation handlers
 * (object.c, multipart.c) see it.
 *
 * Life of a request (http.c drives it):
 *   1. headers in: http.c parses addressing, routes to an operation,
 *      authenticates, then calls the operation's begin function, which
 *      validates parameters and picks the body mode;
 *   2. body chunks: streamed into the sink (temp file + CRC64 + MD5, ...),
 *      accumulated (small XML bodies), or drained;
 *   3. body done: http.c checks the digests, then calls the operation's
 *      finish function, which fills rq->reply;
 *   4. the reply is queued (after --latency, if any).
 * An error found at step 1 is kept in rq->err; the body is then drained and
 * the error sent at step 4 (or at once if the client asked for
 * "Expect: 100-continue"), so a client never sees a reset for a 4xx.
 *
 * Threading: a request belongs to the MHD worker thread of its connection,
 * except while an operation runs offloaded (http.c), when the connection is
 * suspended and the helper thread owns the request until it resumes it.
 */
#ifndef OSSEMU_REQ_H
#define OSSEMU_REQ_H

#include <stdint.h>

#include "amzsum.h"
#include "auth.h"
#include "buf.h"
#include "checksum.h"
#include "errors.h"
#include "fault.h"
#include "ossemu.h"
#include "sign.h"
#include "store.h"

struct MHD_Connection;
struct callback;

enum body_mode {
	BODY_DRAIN,  /* count and drop (no body expected, or an error decided) */
	BODY_ACCUM,  /* keep in rq->body, up to rq->accum_max */
	BODY_STREAM  /* temp file (data dir) and checksums, chunk by chunk */
};

/* Checksums computed while a body streams in. */
struct sink {
	int fd;                /* temp file, -1 with --discard */
	char *tmp;             /* its path (owned), NULL once handed over */
	uint64_t crc64;        /* CRC-64/XZ, always */
	int md5_on;
	struct md5_ctx md5;
	void *sha256;          /* EVP_MD_CTX*, when the payload hash is signed */
	struct amzsums amz;    /* x-amz-checksum-* the request gave */
	int write_failed;
};

struct reply {
	unsigned status;
	struct buf body;
	const char *content_type;  /* static string or NULL */
	struct hdrs headers;       /* extra response headers */
	int fd;                    /* >= 0: body is fd[off, off+len) */
	uint64_t off, len;
	int head_only;             /* HEAD: Content-Length len, no body */
	enum err_id err;           /* E_OK unless an error document */
	const char *ec;            /* its EC (static string) for x-oss-ec */
};

struct req {
	struct ossemu *srv;
	struct MHD_Connection *conn;
	char id[25];               /* request id, 24 upper-case hex */
	enum op op;
	enum dialect dialect;
	struct auth_result auth;

	/* As received; the strings live in MHD's connection memory. */
	const char *method;
	const char *path;          /* decoded path */
	const char *host;          /* Host header, "" if none */
	struct sign_kv *query;
	size_t nquery;
	struct sign_kv *headers;
	size_t nheaders;
	int is_head;

	/* Addressing (owned, NULL when absent). */
	char *bucket;
	char *key;

	/* Operation parameters. */
	struct obj_opts opt;       /* PutObject, UploadPart: the object's options */
	const char *upload_id;
	unsigned part_number;
	int encoding_url;          /* encoding-type=url */

	/* An error decided before the body was read (E_OK if none). */
	enum err_id err;
	struct err_extra errx;
	char errmsg[256];          /* storage for errx.message when needed */

	/* Body. */
	enum body_mode mode;
	int has_length;
	uint64_t content_length;
	uint64_t received;
	struct buf body;           /* BODY_ACCUM */
	size_t accum_max;
	struct sink sink;          /* BODY_STREAM */
	int has_md5;               /* Content-MD5 given (checked in all modes) */
	uint8_t md5_want[16];
	char md5_b64[25];          /* MD5 of the body, base64, once known */
	uint8_t md5_got[16];
	int md5_known;

	/* Faults and pacing. */
	struct fault_plan fp;
	int stall_done;
	int latency_done;
	int throttled;
	uint64_t bw_start_ns;

	/* Progress. */
	int begun;
	int finished;              /* rq->reply is ready */
	int offloaded;             /* a helper thread runs the finish step */
	int queued;
	int was_reset;
	struct reply reply;

	/* Upload callback (PutObject, Complete), NULL if none. */
	struct callback *callback;
};

/* ---- reply helpers (reply.c) ---------------------------------------------- */

void reply_init(struct reply *r);
void reply_cleanup(struct reply *r);
/* Error document for rq's dialect; extras from x (may be NULL). */
void reply_error(struct req *rq, enum err_id e, const struct err_extra *x);
/* An XML body with the prolog, status 200. */
void reply_xml(struct req *rq, const struct buf *xml);
int reply_header(struct req *rq, const char *name, const char *value);
void reply_etag_header(struct req *rq, const char *etag_unquoted);
/* x-oss-hash-crc64ecma (unless --no-crc; wrong on purpose with --bad-crc). */
void reply_crc_header(struct req *rq, uint64_t crc);
void reply_object_headers(struct req *rq, const struct obj_info *o);
/* The storage class and encryption headers of o (and with with_checksum
 * its S3 checksum), in rq's dialect. */
void reply_opt_headers(struct req *rq, const struct obj_opts *o, int with_checksum);
/* Echoes the x-amz-checksum-* headers (verified by http.c). */
void reply_checksum_echo(struct req *rq);

/* XML text helpers: <name>text</name> with the key URL-encoded (RFC 3986
 * unreserved) under encoding-type=url. */
int xml_key_append(struct buf *b, const struct req *rq, const char *name, const char *text);
/* "2023-11-22T05:42:34.000Z" */
void iso8601_ms(char out[32], int64_t t);
/* S3 wants the namespace on result documents; OSS sends none. */
const char *xml_ns(const struct req *rq);

/* ---- operations (object.c, multipart.c) ----------------------------------- */

/* begin: validates, sets rq->mode; sets rq->err on a refusal.
 * finish: fills rq->reply (after the body and its digests were checked). */
void op_put_bucket_begin(struct req *rq);
void op_bucket_finish(struct req *rq);      /* put/head/delete bucket, list buckets */
void op_list_objects_finish(struct req *rq);
void op_put_object_begin(struct req *rq);
void op_put_object_finish(struct req *rq);
void op_get_object_finish(struct req *rq);  /* GetObject and HeadObject (get.c) */
void op_delete_object_finish(struct req *rq);
void op_delete_multiple_begin(struct req *rq);
void op_delete_multiple_finish(struct req *rq);

void op_initiate_finish(struct req *rq);
void op_upload_part_begin(struct req *rq);
void op_upload_part_finish(struct req *rq);
void op_complete_begin(struct req *rq);
void op_complete_finish(struct req *rq);
void op_abort_finish(struct req *rq);
void op_list_parts_finish(struct req *rq);
void op_list_uploads_finish(struct req *rq);

/* Shared by PutObject and Complete: headers a request stores with an object. */
int req_object_headers(const struct req *rq, struct hdrs *out);
/* Runs the upload callback for a stored object and turns the reply into
 * the relayed 200 or a 203 CallbackFailed (callback.c does the POST). */
void req_run_callback(struct req *rq, const struct obj_info *o, const char *operation);
/* Parses the storage class and encryption headers into rq->opt; 0, or -1
 * with rq->err set. */
int req_parse_opts(struct req *rq);
/* Parses x-oss-callback(-var) at begin time (sets rq->err if invalid). */
void req_parse_callback(struct req *rq);

/* Opens the streaming sink (temp file when data is kept, checksums) and
 * sets BODY_STREAM.  0 or -1. */
int req_sink_open(struct req *rq);

/* http.c's helpers, split by concern (route.c, body.c). */
int req_resolve(struct req *rq);          /* bucket and key; -1 on ENOMEM */
enum op req_route(const struct req *rq);
void parse_digest_headers(struct req *rq); /* Content-MD5, x-amz-checksum-* */
void sink_write(struct req *rq, const char *p, size_t n);
void sink_cleanup(struct sink *s);
void body_checks(struct req *rq);          /* sets rq->err on a mismatch */

/* Header and query lookups on the request. */
const char *req_header(const struct req *rq, const char *name);
const char *req_query(const struct req *rq, const char *name, int *present);

#endif
