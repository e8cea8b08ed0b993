/*
 * object.c - the bucket and single-object operations: PutBucket,
 * HeadBucket, DeleteBucket, ListBuckets, PutObject, DeleteObject,
 * DeleteMultipleObjects; and the upload callback step PutObject shares
 * with Complete.  GetObject and
 * HeadObject are get.c's, ListObjects list.c's.
 *
 * Owns: the result documents and response headers of those operations.
 * Storage is the store's; streaming and digests are http.c's.
 *
 * Threading: each function runs on the thread that owns the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "callback.h"
#include "delete.h"
#include "req.h"
#include "sign.h"
#include "xml.h"

/* Bodies read and ignored (CreateBucketConfiguration): bounded so a
 * client cannot make ossemu hold much for them. */
#define SMALL_BODY_MAX (64u * 1024)

/* Headers stored with an object and returned on GET/HEAD. */
static int stored_header(const char *lname)
{
	return strcmp(lname, "content-type") == 0 || strcmp(lname, "cache-control") == 0 ||
	       strcmp(lname, "content-disposition") == 0 ||
	       strcmp(lname, "content-encoding") == 0 ||
	       strcmp(lname, "content-language") == 0 || strcmp(lname, "expires") == 0 ||
	       strncmp(lname, "x-oss-meta-", 11) == 0 || strncmp(lname, "x-amz-meta-", 11) == 0;
}

int req_object_headers(const struct req *rq, struct hdrs *out)
{
	out->v = NULL;
	out->n = 0;
	for (size_t i = 0; i < rq->nheaders; i++) {
		char lname[256];
		size_t n = strlen(rq->headers[i].name);

		if (n >= sizeof(lname))
			continue;
		for (size_t j = 0; j <= n; j++) {
			char c = rq->headers[i].name[j];

			lname[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		if (!stored_header(lname))
			continue;
		if (hdrs_add(out, lname, rq->headers[i].value) < 0) {
			hdrs_cleanup(out);
			return -1;
		}
	}
	return 0;
}

static int forbid_overwrite(const struct req *rq)
{
	const char *v = req_header(rq, "x-oss-forbid-overwrite");
	const char *inm = req_header(rq, "If-None-Match");

	return (v && strcasecmp(v, "true") == 0) || (inm && strcmp(inm, "*") == 0);
}

/* The error for an existing key under forbid-overwrite: OSS's 409, or S3's
 * 412 when the request used If-None-Match. */
static enum err_id exists_error(const struct req *rq)
{
	const char *v = req_header(rq, "x-oss-forbid-overwrite");

	if (rq->dialect == DIALECT_S3 && !(v && strcasecmp(v, "true") == 0))
		return E_PRECONDITION_FAILED;
	return E_FILE_EXISTS;
}

/* ---- callbacks --------------------------------------------------------------- */

void req_parse_callback(struct req *rq)
{
	const char *cb = req_header(rq, "x-oss-callback");
	const char *var = req_header(rq, "x-oss-callback-var");

	if (rq->dialect != DIALECT_OSS)
		return;
	if (!cb) {
		/* Presigned URLs carry them as (signed) query parameters. */
		cb = req_query(rq, "callback", NULL);
		var = req_query(rq, "callback-var", NULL);
	}
	if (!cb || !*cb)
		return;
	if (callback_parse(&rq->callback, cb, var, rq->errmsg, sizeof(rq->errmsg)) != E_OK) {
		rq->err = E_CALLBACK_INVALID;
		rq->errx.message = rq->errmsg;
	}
}

void req_run_callback(struct req *rq, const struct obj_info *o, const char *operation)
{
	struct callback_vars v;
	struct callback_result res;
	struct hdrs keep;
	const char *ctype = hdrs_get(&o->hdrs, "content-type");
	char ip[64] = "127.0.0.1";

	if (!rq->callback)
		return;
	memset(&v, 0, sizeof(v));
	v.bucket = rq->bucket;
	v.object = rq->key;
	v.etag = o->etag;
	v.size = o->size;
	v.mime_type = ctype ? ctype : "application/octet-stream";
	v.crc64 = o->crc64;
	v.content_md5 = rq->op == OP_PUT_OBJECT && rq->md5_known ? rq->md5_b64 : "";
	v.client_ip = ip;
	v.request_id = rq->id;
	v.operation = operation;
	callback_run(rq->callback, &v, &res);

	/* Keep the object headers (ETag, CRC) on either answer. */
	keep = rq->reply.headers;
	rq->reply.headers.v = NULL;
	rq->reply.headers.n = 0;
	if (res.ok) {
		buf_free(&rq->reply.body);
		rq->reply.body = res.body;
		rq->reply.status = 200;
		rq->reply.content_type = NULL;
		rq->reply.headers = keep;
		reply_header(rq, "Content-Type", res.content_type);
		return;
	}
	{
		struct err_extra x;

		memset(&x, 0, sizeof(x));
		x.message = res.message;
		reply_error(rq, E_CALLBACK_FAILED, &x);
	}
	hdrs_cleanup(&rq->reply.headers);
	rq->reply.headers = keep;
}

/* ---- buckets ------------------------------------------------------------------ */

void op_put_bucket_begin(struct req *rq)
{
	/* A CreateBucketConfiguration body may come: read and ignore it. */
	rq->mode = BODY_ACCUM;
	rq->accum_max = SMALL_BODY_MAX;
}

static void list_buckets(struct req *rq)
{
	size_t n = 0;
	char **names = store_bucket_names(rq->srv->store, &n);
	struct buf x = BUF_INIT;
	char when[32];
	int r = 0;

	if (!names) {
		reply_error(rq, E_INTERNAL, NULL);
		return;
	}
	iso8601_ms(when, ossemu_now(rq->srv));
	r |= buf_printf(&x, "<ListAllMyBucketsResult%s><Owner><ID>ossemu</ID>"
			"<DisplayName>ossemu</DisplayName></Owner><Buckets>", xml_ns(rq));
	for (size_t i = 0; i < n; i++) {
		r |= buf_puts(&x, "<Bucket>");
		r |= xml_elem_append(&x, "Name", names[i]);
		r |= xml_elem_append(&x, "CreationDate", when);
		if (rq->dialect == DIALECT_OSS)
			r |= buf_puts(&x, "<Location>oss-ossemu</Location>"
					  "<StorageClass>Standard</StorageClass>");
		r |= buf_puts(&x, "</Bucket>");
	}
	r |= buf_puts(&x, "</Buckets></ListAllMyBucketsResult>");
	if (r)
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
	buf_free(&x);
	store_strings_free(names, n);
}

void op_bucket_finish(struct req *rq)
{
	enum err_id e;

	switch (rq->op) {
	case OP_LIST_BUCKETS:
		list_buckets(rq);
		return;
	case OP_PUT_BUCKET:
		e = store_bucket_create(rq->srv->store, rq->bucket);
		if (e != E_OK) {
			struct err_extra x = { .bucket = rq->bucket };

			reply_error(rq, e, &x);
			return;
		}
		rq->reply.status = 200;
		if (rq->dialect == DIALECT_S3) {
			struct buf loc = BUF_INIT;

			if (buf_printf(&loc, "/%s", rq->bucket) == 0)
				reply_header(rq, "Location", loc.data);
			buf_free(&loc);
		}
		return;
	case OP_HEAD_BUCKET:
		rq->reply.status = 200;
		return;
	case OP_DELETE_BUCKET:
		e = store_bucket_delete(rq->srv->store, rq->bucket);
		if (e != E_OK) {
			struct err_extra x = { .bucket = rq->bucket };

			reply_error(rq, e, &x);
			return;
		}
		rq->reply.status = 204;
		return;
	default:
		reply_error(rq, E_NOT_IMPLEMENTED, NULL);
	}
}

/* ---- PutObject --------------------------------------------------------------------- */

void op_put_object_begin(struct req *rq)
{
	if (forbid_overwrite(rq)) {
		struct obj_info o;
		int fd;

		if (store_object_open(rq->srv->store, rq->bucket, rq->key, &o, &fd) == E_OK) {
			if (fd >= 0)
				close(fd);
			obj_info_cleanup(&o);
			rq->err = exists_error(rq);
			return;
		}
	}
	if (req_parse_opts(rq) < 0)
		return;
	req_parse_callback(rq);
	if (rq->err != E_OK)
		return;
	if (req_sink_open(rq) < 0)
		rq->err = E_INTERNAL;
}

int req_parse_opts(struct req *rq)
{
	const char *bad = NULL;
	enum err_id e = objopt_parse(&rq->opt, rq->headers, rq->nheaders, rq->dialect, &bad);

	if (e == E_OK)
		return 0;
	rq->err = e;
	if (bad) {
		rq->errx.arg_name = bad;
		rq->errx.arg_value = req_header(rq, bad);
	}
	return -1;
}

/* The S3 checksum a PutObject body came with (already verified by
 * body_checks): the object's full-object checksum. */
static void put_checksum(const struct req *rq, struct obj_opts *o)
{
	enum amzsum_kind k;
	const char *v;

	if (!amzsum_first(&rq->sink.amz, 0, &k))
		return;
	v = req_header(rq, amzsum_header(k));
	if (!v || strlen(v) >= sizeof(o->cks.value))
		return;
	o->cks.alg = (unsigned char)(k + 1);
	o->cks.composite = 0;
	memcpy(o->cks.value, v, strlen(v) + 1);
}

/* The ETag digest of a streamed body: its MD5, or the --discard stand-in. */
static void body_digest(const struct req *rq, uint8_t out[16])
{
	if (rq->md5_known)
		memcpy(out, rq->md5_got, 16);
	else
		discard_etag_digest(out, rq->sink.crc64, rq->received);
}

void reply_checksum_echo(struct req *rq)
{
	for (int k = 0; k < AMZSUM_COUNT; k++) {
		if (rq->sink.amz.s[k].on)
			reply_header(rq, amzsum_header(k), req_header(rq, amzsum_header(k)));
	}
}

void op_put_object_finish(struct req *rq)
{
	struct obj_info o;
	uint8_t d[16];
	char *tmp;
	enum err_id e;

	memset(&o, 0, sizeof(o));
	o.opt = rq->opt;
	put_checksum(rq, &o.opt);
	body_digest(rq, d);
	objopt_etag_digest(&o.opt, rq->dialect, d);
	hex_encode(o.etag, d, 16, rq->dialect == DIALECT_OSS);
	o.size = rq->received;
	o.crc64 = rq->sink.crc64;
	o.mtime = ossemu_now(rq->srv);
	if (req_object_headers(rq, &o.hdrs) < 0) {
		reply_error(rq, E_INTERNAL, NULL);
		return;
	}
	tmp = rq->sink.tmp;
	rq->sink.tmp = NULL; /* the store renames or unlinks it */
	e = store_object_put(rq->srv->store, rq->bucket, rq->key, &o, tmp, forbid_overwrite(rq));
	free(tmp);
	if (e != E_OK) {
		obj_info_cleanup(&o);
		reply_error(rq, e == E_FILE_EXISTS ? exists_error(rq) : e, NULL);
		return;
	}
	rq->reply.status = 200;
	reply_etag_header(rq, o.etag);
	if (rq->md5_known)
		reply_header(rq, "Content-MD5", rq->md5_b64);
	reply_crc_header(rq, o.crc64);
	reply_checksum_echo(rq);
	reply_opt_headers(rq, &o.opt, 0);
	if (rq->callback) {
		if (req_object_headers(rq, &o.hdrs) == 0)
			req_run_callback(rq, &o, "PutObject");
	}
	obj_info_cleanup(&o);
}

void op_delete_object_finish(struct req *rq)
{
	enum err_id e = store_object_delete(rq->srv->store, rq->bucket, rq->key);

	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	rq->reply.status = 204;
}

/* ---- DeleteMultipleObjects ------------------------------------------------------ */

/* 1,000 keys of up to 1 KiB, each escaped at worst 6-fold (&quot;), plus
 * the tags: bounded so a client cannot make ossemu hold more. */
#define DELETE_BODY_MAX (8u * 1024 * 1024)

/* Content-MD5 is required (OSS EC 0016-00000606; S3 also takes an
 * x-amz-checksum-* instead) and checked against the body as any
 * Content-MD5 is (InvalidDigest / BadDigest).  Keys that do not exist are
 * reported deleted, as both services do.  The answer lists <Deleted><Key>
 * in request order (URL-encoded with encoding-type=url, a query parameter
 * as the SDKs send it, or the header the OSS document lists); in quiet mode
 * OSS answers 200 with no body, S3 an empty <DeleteResult/>. */

void op_delete_multiple_begin(struct req *rq)
{
	enum amzsum_kind k;

	if (!rq->has_md5 && !(rq->dialect == DIALECT_S3 && amzsum_first(&rq->sink.amz, 0, &k))) {
		rq->err = E_MISSING_CONTENT_MD5;
		return;
	}
	rq->mode = BODY_ACCUM;
	rq->accum_max = DELETE_BODY_MAX;
}

void op_delete_multiple_finish(struct req *rq)
{
	const char *enc_h = req_header(rq, "Encoding-type");
	struct delete_req d;
	struct buf x = BUF_INIT;
	const char *ec;
	enum err_id e;
	int r = 0;

	/* The SDKs send encoding-type as a query parameter; the OSS document
	 * lists it as a header. */
	if (enc_h && strcmp(enc_h, "url") == 0)
		rq->encoding_url = 1;
	e = delete_parse(rq->body.data ? rq->body.data : "", rq->body.len, &d, &ec);
	if (e != E_OK) {
		struct err_extra ex = { .ec = rq->dialect == DIALECT_OSS ? ec : NULL };

		reply_error(rq, e, &ex);
		return;
	}
	for (size_t i = 0; i < d.n; i++) {
		e = store_object_delete(rq->srv->store, rq->bucket, d.keys[i]);
		if (e != E_OK)
			break;
	}
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		delete_req_cleanup(&d);
		return;
	}
	if (d.quiet && rq->dialect == DIALECT_OSS) {
		/* "OSS does not return a response body" (EC 0016-00000610's page). */
		rq->reply.status = 200;
		delete_req_cleanup(&d);
		return;
	}
	r |= buf_printf(&x, "<DeleteResult%s>", xml_ns(rq));
	if (rq->encoding_url && rq->dialect == DIALECT_OSS)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	for (size_t i = 0; !d.quiet && i < d.n; i++) {
		r |= buf_puts(&x, "<Deleted>");
		r |= xml_key_append(&x, rq, "Key", d.keys[i]);
		r |= buf_puts(&x, "</Deleted>");
	}
	r |= buf_puts(&x, "</DeleteResult>");
	if (r)
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
	buf_free(&x);
	delete_req_cleanup(&d);
}
