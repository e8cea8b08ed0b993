/*
 * object.c - the bucket and single-object operations: PutBucket,
 * HeadBucket, DeleteBucket, ListBuckets, ListObjects (V1 and V2),
 * PutObject, DeleteObject; and the upload callback step PutObject shares
 * with Complete.  GetObject and HeadObject are get.c's.
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
#include "req.h"
#include "sign.h"
#include "xml.h"

/* Bodies read and ignored (CreateBucketConfiguration): bounded so a
 * client cannot make ossemu hold much for them. */
#define SMALL_BODY_MAX (64u * 1024)
#define LIST_MAX 1000u

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

/* ---- ListObjects ----------------------------------------------------------------- */

static int parse_max(const struct req *rq, const char *name, unsigned *out)
{
	const char *v = req_query(rq, name, NULL);
	uint64_t n;

	*out = LIST_MAX;
	if (!v || !*v)
		return 0;
	if (parse_u64(v, &n) < 0)
		return -1;
	*out = n > LIST_MAX ? LIST_MAX : (unsigned)n;
	return 0;
}

/* The common prefix of key under (prefix, delimiter), or 0 if none:
 * *len is the length of prefix + the part up to and including delimiter. */
static int common_prefix(const char *key, const char *prefix, const char *delim, size_t *len)
{
	size_t plen = strlen(prefix);
	const char *d;

	if (!delim || !*delim)
		return 0;
	d = strstr(key + plen, delim);
	if (!d)
		return 0;
	*len = (size_t)(d - key) + strlen(delim);
	return 1;
}

void op_list_objects_finish(struct req *rq)
{
	const char *prefix = req_query(rq, "prefix", NULL);
	const char *delim = req_query(rq, "delimiter", NULL);
	const char *lt = req_query(rq, "list-type", NULL);
	int v2 = lt && strcmp(lt, "2") == 0;
	const char *marker = NULL, *token = NULL, *start_after = NULL;
	char *token_key = NULL;
	struct object_entry *v = NULL;
	size_t n = 0, i, count = 0;
	unsigned max;
	struct buf x = BUF_INIT, cps = BUF_INIT, last = BUF_INIT, cp = BUF_INIT;
	int truncated = 0, r = 0;
	enum err_id e;

	if (!prefix)
		prefix = "";
	if (parse_max(rq, "max-keys", &max) < 0) {
		struct err_extra ex = { .arg_name = "max-keys",
					.arg_value = req_query(rq, "max-keys", NULL) };

		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return;
	}
	if (v2) {
		token = req_query(rq, "continuation-token", NULL);
		start_after = req_query(rq, "start-after", NULL);
		if (token && *token) {
			/* Tokens are the hex of the last key returned. */
			size_t tl = strlen(token);

			token_key = calloc(tl / 2 + 1, 1);
			if (!token_key || tl % 2 || hex_decode((uint8_t *)token_key, token, tl / 2) < 0) {
				struct err_extra ex = { .arg_name = "continuation-token",
							.arg_value = token };

				free(token_key);
				reply_error(rq, E_INVALID_ARGUMENT, &ex);
				return;
			}
			marker = token_key;
		} else if (start_after) {
			marker = start_after;
		}
	} else {
		marker = req_query(rq, "marker", NULL);
	}
	e = store_object_list(rq->srv->store, rq->bucket, prefix, &v, &n);
	if (e != E_OK) {
		free(token_key);
		reply_error(rq, e, NULL);
		return;
	}
	r |= buf_printf(&x, "<ListBucketResult%s>", xml_ns(rq));
	r |= xml_elem_append(&x, "Name", rq->bucket);
	for (i = 0; i < n && marker && *marker && strcmp(v[i].key, marker) <= 0; i++)
		;
	for (; i < n; i++) {
		size_t cplen;

		if (common_prefix(v[i].key, prefix, delim, &cplen)) {
			if (cp.len == cplen && memcmp(cp.data, v[i].key, cplen) == 0)
				continue; /* same common prefix as the previous key */
			if (marker && strlen(marker) == cplen && memcmp(marker, v[i].key, cplen) == 0)
				continue; /* the marker is this prefix: the last page had it */
			if (count == max) {
				truncated = 1;
				break;
			}
			buf_reset(&cp);
			r |= buf_append(&cp, v[i].key, cplen);
			r |= buf_puts(&cps, "<CommonPrefixes>");
			r |= xml_key_append(&cps, rq, "Prefix", cp.data);
			r |= buf_puts(&cps, "</CommonPrefixes>");
			/* Resume after every key under this prefix. */
			buf_reset(&last);
			r |= buf_append(&last, v[i].key, cplen);
			r |= buf_puts(&last, "\xff");
			count++;
			continue;
		}
		if (count == max) {
			truncated = 1;
			break;
		}
		{
			char when[32];

			iso8601_ms(when, v[i].mtime);
			r |= buf_puts(&cps, "<Contents>");
			r |= xml_key_append(&cps, rq, "Key", v[i].key);
			r |= xml_elem_append(&cps, "LastModified", when);
			r |= buf_printf(&cps, "<ETag>\"%s\"</ETag>", v[i].etag);
			if (rq->dialect == DIALECT_OSS)
				r |= buf_puts(&cps, "<Type>Normal</Type>");
			r |= buf_printf(&cps, "<Size>%llu</Size>", (unsigned long long)v[i].size);
			r |= buf_puts(&cps, rq->dialect == DIALECT_OSS ?
						    "<StorageClass>Standard</StorageClass>" :
						    "<StorageClass>STANDARD</StorageClass>");
			r |= buf_puts(&cps, "</Contents>");
		}
		buf_reset(&last);
		r |= buf_puts(&last, v[i].key);
		count++;
	}
	r |= xml_key_append(&x, rq, "Prefix", prefix);
	if (v2) {
		r |= buf_printf(&x, "<KeyCount>%zu</KeyCount>", count);
		if (token)
			r |= xml_elem_append(&x, "ContinuationToken", token);
		if (start_after)
			r |= xml_key_append(&x, rq, "StartAfter", start_after);
		if (truncated && last.len) {
			char *hex = malloc(last.len * 2 + 1);

			if (hex) {
				hex_encode(hex, (const uint8_t *)last.data, last.len, 0);
				r |= xml_elem_append(&x, "NextContinuationToken", hex);
			}
			free(hex);
		}
	} else {
		r |= xml_key_append(&x, rq, "Marker", marker ? marker : "");
		if (truncated && last.len) {
			/* Drop the 0xFF sentinel of a common prefix. */
			if (last.data[last.len - 1] == '\xff')
				last.data[--last.len] = '\0';
			r |= xml_key_append(&x, rq, "NextMarker", last.data);
		}
	}
	r |= buf_printf(&x, "<MaxKeys>%u</MaxKeys>", max);
	if (delim)
		r |= xml_key_append(&x, rq, "Delimiter", delim);
	if (rq->encoding_url)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	r |= buf_printf(&x, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
	r |= buf_append(&x, cps.data ? cps.data : "", cps.len);
	r |= buf_puts(&x, "</ListBucketResult>");
	if (r)
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
	buf_free(&x);
	buf_free(&cps);
	buf_free(&cp);
	buf_free(&last);
	object_entries_free(v, n);
	free(token_key);
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
