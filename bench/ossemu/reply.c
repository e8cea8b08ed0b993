/*
 * reply.c - building replies: error documents, XML results, the headers
 * every object response carries, and the text forms (times, url-encoded
 * keys) the result documents use.
 *
 * Owns: struct reply's contents until http.c turns them into an MHD
 * response.  The common headers (request id, Date, Server, x-oss-ec,
 * x-oss-err) are added by http.c when it queues the reply, so every
 * response gets them whatever path produced it.
 *
 * Threading: functions act on one request, owned by the calling thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "req.h"
#include "sign.h"
#include "stats.h"
#include "xml.h"

void reply_init(struct reply *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->err = E_OK;
}

void reply_cleanup(struct reply *r)
{
	buf_free(&r->body);
	hdrs_cleanup(&r->headers);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

static const char *host_id(const struct req *rq)
{
	return rq->host && *rq->host ? rq->host : "127.0.0.1";
}

void reply_error(struct req *rq, enum err_id e, const struct err_extra *x)
{
	struct reply *r = &rq->reply;

	reply_cleanup(r);
	reply_init(r);
	r->status = err_status(e, rq->dialect);
	r->err = e;
	/* ECs are string literals (the table's or a handler's). */
	r->ec = x && x->ec ? x->ec : err_ec(e);
	r->content_type = "application/xml";
	if (err_render(&r->body, e, rq->dialect, rq->id, host_id(rq), x) < 0)
		buf_free(&r->body);
}

void reply_xml(struct req *rq, const struct buf *xml)
{
	struct reply *r = &rq->reply;

	r->status = 200;
	r->content_type = "application/xml";
	buf_reset(&r->body);
	if (buf_puts(&r->body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") < 0 ||
	    buf_append(&r->body, xml->data ? xml->data : "", xml->len) < 0)
		reply_error(rq, E_INTERNAL, NULL);
}

int reply_header(struct req *rq, const char *name, const char *value)
{
	return hdrs_add(&rq->reply.headers, name, value);
}

void reply_etag_header(struct req *rq, const char *etag)
{
	struct buf b = BUF_INIT;

	if (buf_printf(&b, "\"%s\"", etag) == 0)
		reply_header(rq, "ETag", b.data);
	buf_free(&b);
}

void reply_crc_header(struct req *rq, uint64_t crc)
{
	char dec[21];

	if (rq->srv->cfg->no_crc)
		return;
	if (rq->fp.bad_crc) {
		/* A plausible but wrong value: one bit flipped. */
		crc ^= 1;
		stats_fault(rq->srv->stats, FAULT_BAD_CRC);
	}
	crc64_to_dec(dec, crc);
	reply_header(rq, "x-oss-hash-crc64ecma", dec);
}

void reply_object_headers(struct req *rq, const struct obj_info *o)
{
	char date[30];

	reply_etag_header(rq, o->etag);
	sign_format_rfc1123(date, o->mtime);
	reply_header(rq, "Last-Modified", date);
	/* --no-crc models a server that answers writes without the CRC but
	 * still reports it for a stored object (so a client can verify by
	 * HEAD); --no-crc-anywhere removes it here too. */
	if (rq->srv->cfg->no_crc < 2) {
		char dec[21];

		crc64_to_dec(dec, o->crc64);
		reply_header(rq, "x-oss-hash-crc64ecma", dec);
	}
	reply_header(rq, "Accept-Ranges", "bytes");
	if (rq->dialect == DIALECT_OSS)
		reply_header(rq, "x-oss-object-type", o->nparts ? "Multipart" : "Normal");
	for (size_t i = 0; i < o->hdrs.n; i++) {
		if (strcmp(o->hdrs.v[i].name, "content-type") == 0)
			continue; /* http.c sets it from the stored value */
		reply_header(rq, o->hdrs.v[i].name, o->hdrs.v[i].value);
	}
}

static int add_reply_header(void *ctx, const char *name, const char *value)
{
	return reply_header(ctx, name, value);
}

void reply_opt_headers(struct req *rq, const struct obj_opts *o, int with_checksum)
{
	objopt_headers(o, rq->dialect, with_checksum, add_reply_header, rq);
}

int xml_key_append(struct buf *b, const struct req *rq, const char *name, const char *text)
{
	char *enc;
	int r;

	if (!rq->encoding_url)
		return xml_elem_append(b, name, text);
	/* RFC 3986 unreserved set: '/' and '+' are encoded too, as OSS does
	 * (Go v2 decodes with QueryUnescape, where '+' would mean space). */
	enc = sign_uri_encode(text ? text : "", 0);
	if (!enc)
		return -1;
	r = xml_elem_append(b, name, enc);
	free(enc);
	return r;
}

void iso8601_ms(char out[32], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

const char *xml_ns(const struct req *rq)
{
	return rq->dialect == DIALECT_S3 ? " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"" : "";
}
