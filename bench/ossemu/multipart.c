/*
 * multipart.c - the multipart operations (oss-protocol.md §2-§6):
 * Initiate, UploadPart, Complete, Abort, ListParts, ListMultipartUploads.
 *
 * Owns: parameter validation, the Complete body parse (a real XML parser,
 * engine/xml.h: entities such as &#34; and &quot; come back unescaped), and
 * the result documents.  The rules of Complete (order, existence, ETags,
 * minimum sizes, forbid-overwrite, final ETag, CRC combine) are the
 * store's, which holds the parts.
 *
 * Threading: each function runs on the thread that owns the request
 * (op_complete_finish on a helper thread; see http.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "req.h"
#include "sign.h"
#include "xml.h"

/* A Complete body names at most 10,000 parts at ~100 bytes each; a larger
 * body is refused (MalformedXML) rather than accumulated. */
#define COMPLETE_BODY_MAX (2u * 1024 * 1024)
#define OSS_MAX_PART_SIZE (5ULL * 1024 * 1024 * 1024)
#define LIST_MAX 1000u

static void no_such_upload(struct req *rq, const char *ec)
{
	struct err_extra x;

	memset(&x, 0, sizeof(x));
	x.upload_id = rq->upload_id;
	x.ec = ec;
	reply_error(rq, E_NO_SUCH_UPLOAD, &x);
}

static int forbid_overwrite(const struct req *rq)
{
	const char *v = req_header(rq, "x-oss-forbid-overwrite");
	const char *inm = req_header(rq, "If-None-Match");

	return (v && strcasecmp(v, "true") == 0) || (inm && strcmp(inm, "*") == 0);
}

static const char *storage_class(const struct req *rq)
{
	return rq->dialect == DIALECT_OSS ? "Standard" : "STANDARD";
}

/* ---- Initiate ---------------------------------------------------------------- */

/* Initiate's options: storage class, encryption and (S3) the checksum
 * algorithm the parts will carry.  0, or -1 with the error answered. */
static int initiate_opts(struct req *rq)
{
	const char *bad = NULL;
	enum err_id e;

	if (req_parse_opts(rq) == 0) {
		e = rq->dialect == DIALECT_S3 ?
			    objopt_parse_mp_checksum(&rq->opt, rq->headers, rq->nheaders, &bad) :
			    E_OK;
		if (e == E_OK)
			return 0;
		rq->err = e;
		rq->errx.arg_name = bad;
		rq->errx.arg_value = bad ? req_header(rq, bad) : NULL;
	}
	reply_error(rq, rq->err, &rq->errx);
	return -1;
}

void op_initiate_finish(struct req *rq)
{
	struct hdrs h;
	char id[33];
	struct buf x = BUF_INIT;
	enum err_id e;
	int r = 0;

	if (initiate_opts(rq) < 0)
		return;
	if (req_object_headers(rq, &h) < 0) {
		reply_error(rq, E_INTERNAL, NULL);
		return;
	}
	e = store_upload_create(rq->srv->store, rq->bucket, rq->key, &h, &rq->opt,
				forbid_overwrite(rq), id);
	hdrs_cleanup(&h);
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	r |= buf_printf(&x, "<InitiateMultipartUploadResult%s>", xml_ns(rq));
	if (rq->encoding_url)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	r |= xml_elem_append(&x, "Bucket", rq->bucket);
	r |= xml_key_append(&x, rq, "Key", rq->key);
	r |= xml_elem_append(&x, "UploadId", id);
	r |= buf_puts(&x, "</InitiateMultipartUploadResult>");
	if (r) {
		reply_error(rq, E_INTERNAL, NULL);
	} else {
		reply_xml(rq, &x);
		reply_opt_headers(rq, &rq->opt, 0);
		if (rq->opt.mp_alg) {
			reply_header(rq, "x-amz-checksum-algorithm",
				     amzsum_name((enum amzsum_kind)(rq->opt.mp_alg - 1)));
			reply_header(rq, "x-amz-checksum-type",
				     rq->opt.mp_full ? "FULL_OBJECT" : "COMPOSITE");
		}
	}
	buf_free(&x);
}

/* ---- UploadPart ------------------------------------------------------------------ */

void op_upload_part_begin(struct req *rq)
{
	const char *pn = req_query(rq, "partNumber", NULL);
	uint64_t n;
	enum err_id e;

	rq->upload_id = req_query(rq, "uploadId", NULL);
	if (!pn || parse_u64(pn, &n) < 0 || n < 1 || n > PART_NUMBER_MAX) {
		rq->err = E_INVALID_ARGUMENT;
		rq->errx.arg_name = "partNumber";
		rq->errx.arg_value = pn ? pn : "";
		rq->errx.message = "Part number must be an integer between 1 and 10000, inclusive.";
		return;
	}
	rq->part_number = (unsigned)n;
	/* Parts inherit the upload's encryption: SSE-C parts must bring the
	 * same key, and S3 ETags of encrypted parts are not MD5s. */
	e = store_upload_opts(rq->srv->store, rq->bucket, rq->key, rq->upload_id, &rq->opt);
	if (e != E_OK) {
		rq->err = e;
		rq->errx.upload_id = rq->upload_id;
		return;
	}
	e = objopt_check_ssec(&rq->opt, rq->headers, rq->nheaders);
	if (e != E_OK) {
		rq->err = e;
		return;
	}
	if (rq->has_length && rq->content_length > OSS_MAX_PART_SIZE) {
		rq->err = E_ENTITY_TOO_LARGE;
		return;
	}
	if (req_sink_open(rq) < 0)
		rq->err = E_INTERNAL;
}

void op_upload_part_finish(struct req *rq)
{
	struct part_info pi;
	char etag[33];
	char *tmp;
	enum err_id e;

	memset(&pi, 0, sizeof(pi));
	pi.num = rq->part_number;
	pi.size = rq->received;
	pi.crc64 = rq->sink.crc64;
	pi.mtime = ossemu_now(rq->srv);
	if (rq->md5_known)
		memcpy(pi.md5, rq->md5_got, 16);
	else
		discard_etag_digest(pi.md5, pi.crc64, pi.size);
	objopt_etag_digest(&rq->opt, rq->dialect, pi.md5);
	{
		enum amzsum_kind k;

		if (amzsum_first(&rq->sink.amz, 1, &k)) {
			pi.amz_alg = (unsigned char)(k + 1);
			pi.amz_crc = rq->sink.amz.s[k].crc;
		}
	}
	tmp = rq->sink.tmp;
	rq->sink.tmp = NULL; /* the store renames or unlinks it */
	e = store_part_put(rq->srv->store, rq->bucket, rq->key, rq->upload_id, &pi, tmp);
	free(tmp);
	if (e == E_NO_SUCH_UPLOAD) {
		no_such_upload(rq, NULL); /* aborted or completed meanwhile */
		return;
	}
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	rq->reply.status = 200;
	part_etag(etag, &pi, rq->dialect);
	reply_etag_header(rq, etag);
	if (rq->md5_known)
		reply_header(rq, "Content-MD5", rq->md5_b64);
	reply_crc_header(rq, pi.crc64);
	reply_checksum_echo(rq);
	reply_opt_headers(rq, &rq->opt, 0);
}

/* ---- Complete --------------------------------------------------------------------- */

void op_complete_begin(struct req *rq)
{
	rq->upload_id = req_query(rq, "uploadId", NULL);
	req_parse_callback(rq);
	if (rq->err != E_OK)
		return;
	rq->mode = BODY_ACCUM;
	rq->accum_max = COMPLETE_BODY_MAX;
}

struct complete_parse {
	struct complete_part *v;
	size_t n, cap;
	unsigned cur_num;
	int has_num;
	char *cur_etag;
	int root_ok;
	int bad;
};

static int on_complete_xml(void *ud, enum xml_event ev, const char *path, const char *name,
			   const char *text, size_t len)
{
	struct complete_parse *cp = ud;

	(void)name;
	if (ev == XML_EV_START) {
		if (strcmp(path, "CompleteMultipartUpload") == 0)
			cp->root_ok = 1;
		if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
			cp->has_num = 0;
			free(cp->cur_etag);
			cp->cur_etag = NULL;
		}
		return 0;
	}
	if (strcmp(path, "CompleteMultipartUpload/Part/PartNumber") == 0) {
		char num[16];
		uint64_t v;

		/* Surrounding whitespace is tolerated, anything else is not. */
		while (len && (*text == ' ' || *text == '\n' || *text == '\t' || *text == '\r')) {
			text++;
			len--;
		}
		while (len && (text[len - 1] == ' ' || text[len - 1] == '\n' ||
			       text[len - 1] == '\t' || text[len - 1] == '\r'))
			len--;
		if (len == 0 || len >= sizeof(num))
			return cp->bad = 1;
		memcpy(num, text, len);
		num[len] = '\0';
		if (parse_u64(num, &v) < 0 || v > 0xFFFFFFFFu)
			return cp->bad = 1;
		cp->cur_num = (unsigned)v;
		cp->has_num = 1;
	} else if (strcmp(path, "CompleteMultipartUpload/Part/ETag") == 0) {
		free(cp->cur_etag);
		cp->cur_etag = strndup(text, len);
		if (!cp->cur_etag)
			return cp->bad = 1;
	} else if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
		if (!cp->has_num || !cp->cur_etag)
			return cp->bad = 1;
		if (cp->n == cp->cap) {
			size_t cap = cp->cap ? cp->cap * 2 : 64;
			struct complete_part *nv = realloc(cp->v, cap * sizeof(*nv));

			if (!nv)
				return cp->bad = 1;
			cp->v = nv;
			cp->cap = cap;
		}
		cp->v[cp->n].num = cp->cur_num;
		cp->v[cp->n].etag = cp->cur_etag;
		cp->cur_etag = NULL;
		cp->n++;
	}
	return 0;
}

static void complete_parse_free(struct complete_parse *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		free((char *)cp->v[i].etag);
	free(cp->v);
	free(cp->cur_etag);
}

static int body_is_blank(const struct buf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		if (!strchr(" \t\r\n", b->data[i]))
			return 0;
	}
	return 1;
}

void op_complete_finish(struct req *rq)
{
	const char *all_h = req_header(rq, "x-oss-complete-all");
	int all = all_h && strcasecmp(all_h, "yes") == 0;
	struct complete_parse cp;
	struct complete_req creq;
	struct obj_info o;
	struct buf x = BUF_INIT;
	struct buf loc = BUF_INIT;
	unsigned bad_part = 0;
	enum err_id e;
	int r = 0;

	memset(&cp, 0, sizeof(cp));
	memset(&o, 0, sizeof(o));
	e = store_upload_check(rq->srv->store, rq->bucket, rq->key, rq->upload_id);
	if (e != E_OK) {
		no_such_upload(rq, NULL);
		return;
	}
	if (all) {
		if (!body_is_blank(&rq->body)) {
			struct err_extra ex = { .arg_name = "x-oss-complete-all", .arg_value = "yes" };

			reply_error(rq, E_COMPLETE_ALL_BODY, &ex);
			return;
		}
	} else {
		char why[128] = "";

		if (!rq->body.len ||
		    xml_parse(rq->body.data, rq->body.len, on_complete_xml, &cp, why, sizeof(why)) != 0 ||
		    cp.bad || !cp.root_ok) {
			complete_parse_free(&cp);
			reply_error(rq, E_MALFORMED_XML, NULL);
			return;
		}
	}
	memset(&creq, 0, sizeof(creq));
	creq.parts = cp.v;
	creq.nparts = cp.n;
	creq.all = all;
	creq.dialect = rq->dialect;
	creq.forbid_overwrite = forbid_overwrite(rq);
	e = store_upload_complete(rq->srv->store, rq->bucket, rq->key, rq->upload_id, &creq, &o,
				  &bad_part);
	complete_parse_free(&cp);
	if (e != E_OK) {
		struct err_extra ex;
		char num[16];

		memset(&ex, 0, sizeof(ex));
		if (e == E_NO_SUCH_UPLOAD) {
			no_such_upload(rq, NULL);
			return;
		}
		if (e == E_FILE_EXISTS && rq->dialect == DIALECT_S3 &&
		    !req_header(rq, "x-oss-forbid-overwrite"))
			e = E_PRECONDITION_FAILED;
		if (bad_part && (e == E_INVALID_PART || e == E_ENTITY_TOO_SMALL ||
				 e == E_INVALID_PART_ORDER)) {
			snprintf(num, sizeof(num), "%u", bad_part);
			ex.arg_name = "PartNumber";
			ex.arg_value = num;
		}
		ex.upload_id = rq->upload_id;
		reply_error(rq, e, &ex);
		return;
	}
	{
		/* Location is a URL: the key goes in percent-encoded. */
		char *ekey = sign_uri_encode(rq->key, 1);

		r |= !ekey;
		r |= buf_printf(&loc, "http://%s/%s/%s",
				rq->host && *rq->host ? rq->host : "127.0.0.1", rq->bucket,
				ekey ? ekey : "");
		free(ekey);
	}
	r |= buf_printf(&x, "<CompleteMultipartUploadResult%s>", xml_ns(rq));
	if (rq->encoding_url)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	r |= xml_elem_append(&x, "Location", loc.data);
	r |= xml_elem_append(&x, "Bucket", rq->bucket);
	r |= xml_key_append(&x, rq, "Key", rq->key);
	r |= buf_printf(&x, "<ETag>\"%s\"</ETag>", o.etag);
	if (o.opt.cks.alg) {
		r |= xml_elem_append(&x, amzsum_element((enum amzsum_kind)(o.opt.cks.alg - 1)),
				     o.opt.cks.value);
		r |= xml_elem_append(&x, "ChecksumType",
				     o.opt.cks.composite ? "COMPOSITE" : "FULL_OBJECT");
	}
	r |= buf_puts(&x, "</CompleteMultipartUploadResult>");
	if (r) {
		reply_error(rq, E_INTERNAL, NULL);
	} else {
		reply_xml(rq, &x);
		reply_etag_header(rq, o.etag);
		reply_opt_headers(rq, &o.opt, 1);
		reply_crc_header(rq, o.crc64);
		req_run_callback(rq, &o, "CompleteMultipartUpload");
	}
	obj_info_cleanup(&o);
	buf_free(&x);
	buf_free(&loc);
}

/* ---- Abort ------------------------------------------------------------------------- */

void op_abort_finish(struct req *rq)
{
	enum err_id e;

	rq->upload_id = req_query(rq, "uploadId", NULL);
	e = store_upload_abort(rq->srv->store, rq->bucket, rq->key, rq->upload_id);
	if (e == E_NO_SUCH_UPLOAD) {
		no_such_upload(rq, "0042-00000002");
		return;
	}
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	rq->reply.status = 204;
}

/* ---- ListParts ------------------------------------------------------------------------ */

static int query_u64(const struct req *rq, const char *name, uint64_t dflt, uint64_t *out)
{
	const char *v = req_query(rq, name, NULL);

	*out = dflt;
	if (!v || !*v)
		return 0;
	return parse_u64(v, out);
}

void op_list_parts_finish(struct req *rq)
{
	struct part_info *v = NULL;
	size_t n = 0;
	uint64_t max, marker;
	int truncated = 0, r = 0;
	struct buf x = BUF_INIT;
	enum err_id e;

	rq->upload_id = req_query(rq, "uploadId", NULL);
	if (query_u64(rq, "max-parts", LIST_MAX, &max) < 0 || max > 0x7fffffff) {
		struct err_extra ex = { .arg_name = "max-parts",
					.arg_value = req_query(rq, "max-parts", NULL) };

		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return;
	}
	if (query_u64(rq, "part-number-marker", 0, &marker) < 0 || marker > PART_NUMBER_MAX) {
		struct err_extra ex = { .arg_name = "part-number-marker",
					.arg_value = req_query(rq, "part-number-marker", NULL) };

		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return;
	}
	if (max > LIST_MAX)
		max = LIST_MAX;
	e = store_parts_list(rq->srv->store, rq->bucket, rq->key, rq->upload_id, (unsigned)marker,
			     (unsigned)max, &v, &n, &truncated);
	if (e == E_NO_SUCH_UPLOAD) {
		no_such_upload(rq, NULL);
		return;
	}
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	r |= buf_printf(&x, "<ListPartsResult%s>", xml_ns(rq));
	if (rq->encoding_url)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	r |= xml_elem_append(&x, "Bucket", rq->bucket);
	r |= xml_key_append(&x, rq, "Key", rq->key);
	r |= xml_elem_append(&x, "UploadId", rq->upload_id);
	if (rq->dialect == DIALECT_S3)
		r |= buf_puts(&x, "<Initiator><ID>ossemu</ID><DisplayName>ossemu</DisplayName>"
				  "</Initiator><Owner><ID>ossemu</ID><DisplayName>ossemu"
				  "</DisplayName></Owner>");
	r |= buf_printf(&x, "<StorageClass>%s</StorageClass>", storage_class(rq));
	r |= buf_printf(&x, "<PartNumberMarker>%llu</PartNumberMarker>",
			(unsigned long long)marker);
	r |= buf_printf(&x, "<NextPartNumberMarker>%u</NextPartNumberMarker>",
			n ? v[n - 1].num : (unsigned)marker);
	r |= buf_printf(&x, "<MaxParts>%llu</MaxParts>", (unsigned long long)max);
	r |= buf_printf(&x, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
	for (size_t i = 0; i < n; i++) {
		char etag[33], when[32], crc[21];

		part_etag(etag, &v[i], rq->dialect);
		iso8601_ms(when, v[i].mtime);
		crc64_to_dec(crc, v[i].crc64);
		r |= buf_printf(&x, "<Part><PartNumber>%u</PartNumber>", v[i].num);
		r |= xml_elem_append(&x, "LastModified", when);
		r |= buf_printf(&x, "<ETag>\"%s\"</ETag>", etag);
		if (rq->srv->cfg->no_crc < 2)
			r |= xml_elem_append(&x, "HashCrc64ecma", crc);
		r |= buf_printf(&x, "<Size>%llu</Size></Part>", (unsigned long long)v[i].size);
	}
	r |= buf_puts(&x, "</ListPartsResult>");
	if (r)
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
	buf_free(&x);
	free(v);
}

/* ---- ListMultipartUploads ----------------------------------------------------------------- */

void op_list_uploads_finish(struct req *rq)
{
	const char *prefix = req_query(rq, "prefix", NULL);
	const char *delim = req_query(rq, "delimiter", NULL);
	const char *km = req_query(rq, "key-marker", NULL);
	const char *uim = req_query(rq, "upload-id-marker", NULL);
	struct upload_entry *v = NULL;
	size_t n = 0, count = 0, i = 0;
	uint64_t max;
	struct buf x = BUF_INIT, items = BUF_INIT, cp = BUF_INIT;
	const char *next_key = NULL, *next_id = NULL;
	int truncated = 0, r = 0;
	enum err_id e;

	if (!prefix)
		prefix = "";
	if (query_u64(rq, "max-uploads", LIST_MAX, &max) < 0) {
		struct err_extra ex = { .arg_name = "max-uploads",
					.arg_value = req_query(rq, "max-uploads", NULL) };

		reply_error(rq, E_INVALID_ARGUMENT, &ex);
		return;
	}
	if (max > LIST_MAX)
		max = LIST_MAX;
	e = store_uploads_list(rq->srv->store, rq->bucket, &v, &n);
	if (e != E_OK) {
		reply_error(rq, e, NULL);
		return;
	}
	/* Markers: keys after key-marker; with upload-id-marker also the
	 * uploads of key-marker itself whose id sorts after it. */
	if (km && *km) {
		while (i < n) {
			int c = strcmp(v[i].key, km);

			if (c < 0 || (c == 0 && (!uim || !*uim || strcmp(v[i].id, uim) <= 0)))
				i++;
			else
				break;
		}
	}
	for (; i < n; i++) {
		size_t plen = strlen(prefix);
		const char *d;

		if (strncmp(v[i].key, prefix, plen) != 0)
			continue;
		d = delim && *delim ? strstr(v[i].key + plen, delim) : NULL;
		if (d) {
			size_t cplen = (size_t)(d - v[i].key) + strlen(delim);

			if (cp.len == cplen && memcmp(cp.data, v[i].key, cplen) == 0)
				continue;
			if (km && strlen(km) == cplen && memcmp(km, v[i].key, cplen) == 0)
				continue; /* the key marker is this prefix: listed before */
			if (count == max) {
				truncated = 1;
				break;
			}
			buf_reset(&cp);
			r |= buf_append(&cp, v[i].key, cplen);
			r |= buf_puts(&items, "<CommonPrefixes>");
			r |= xml_key_append(&items, rq, "Prefix", cp.data);
			r |= buf_puts(&items, "</CommonPrefixes>");
			/* Resume after the prefix (next_id empty: all its uploads). */
			next_key = cp.data;
			next_id = "";
			count++;
			continue;
		} else {
			char when[32];

			if (count == max) {
				truncated = 1;
				break;
			}
			iso8601_ms(when, v[i].initiated);
			r |= buf_puts(&items, "<Upload>");
			r |= xml_key_append(&items, rq, "Key", v[i].key);
			r |= xml_elem_append(&items, "UploadId", v[i].id);
			r |= buf_printf(&items, "<StorageClass>%s</StorageClass>", storage_class(rq));
			r |= xml_elem_append(&items, "Initiated", when);
			r |= buf_puts(&items, "</Upload>");
		}
		next_key = v[i].key;
		next_id = v[i].id;
		count++;
	}
	r |= buf_printf(&x, "<ListMultipartUploadsResult%s>", xml_ns(rq));
	if (rq->encoding_url)
		r |= buf_puts(&x, "<EncodingType>url</EncodingType>");
	r |= xml_elem_append(&x, "Bucket", rq->bucket);
	r |= xml_key_append(&x, rq, "KeyMarker", km ? km : "");
	r |= xml_elem_append(&x, "UploadIdMarker", uim ? uim : "");
	r |= xml_key_append(&x, rq, "NextKeyMarker", truncated && next_key ? next_key : "");
	r |= xml_elem_append(&x, "NextUploadIdMarker", truncated && next_id ? next_id : "");
	if (delim)
		r |= xml_key_append(&x, rq, "Delimiter", delim);
	r |= xml_key_append(&x, rq, "Prefix", prefix);
	r |= buf_printf(&x, "<MaxUploads>%llu</MaxUploads>", (unsigned long long)max);
	r |= buf_printf(&x, "<IsTruncated>%s</IsTruncated>", truncated ? "true" : "false");
	r |= buf_append(&x, items.data ? items.data : "", items.len);
	r |= buf_puts(&x, "</ListMultipartUploadsResult>");
	if (r)
		reply_error(rq, E_INTERNAL, NULL);
	else
		reply_xml(rq, &x);
	buf_free(&x);
	buf_free(&items);
	buf_free(&cp);
	upload_entries_free(v, n);
}
