/*
 * upload_req.c - the requests an upload sends: PutObject,
 * InitiateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload,
 * HeadObject, AbortMultipartUpload.
 *
 * Layer: transfer.
 *
 * Each builder returns a request with its method, query, headers and body
 * set from the upload's spec; the caller (upload.c for control requests,
 * the part pipeline for UploadParts) sets what it owns and starts it.
 * Bodies are never copied: a Put or a part streams its range of the source
 * (request.c's read callback), a Complete sends the body upload.c built.
 * The object options (metadata, storage class, encryption) are checked and
 * spelled for the dialect once at start (upload_req_object_headers) and go
 * on PutObject and Initiate only: they describe the object.
 *
 * Threading: the upload's loop thread; upload_req_object_headers on the
 * starting thread, before the upload is posted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "upload.h"
#include "xml.h"

static int add_common_object_headers(const struct hoist_upload *u, struct request *r)
{
	const struct dialect_names *nm = dialect_names(u->ctx->conf->dialect);

	if (u->spec.forbid_overwrite && nm->forbid_overwrite)
		return request_header(r, nm->forbid_overwrite, "true");
	return 0;
}

/* Metadata, storage class and encryption: what the object is stored
 * with, so only on PutObject and InitiateMultipartUpload. */
static int add_object_options(const struct hoist_upload *u, struct request *r)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < u->spec.nobj_headers; i++) {
		rc |= request_header(r, u->spec.obj_headers[i].name, u->spec.obj_headers[i].value);
	}
	return rc;
}

static int meta_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		/* ASCII only, whatever the locale says a letter is. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

static int value_ok(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	}
	return 1;
}

static int push_header(struct upload_spec *s, const char *prefix, const char *name,
		       size_t nlen, const char *value)
{
	struct sign_kv *kv = &s->obj_headers[s->nobj_headers];
	char *n = malloc(strlen(prefix) + nlen + 1);
	char *v = strdup(value);

	if (!n || !v) {
		free(n);
		free(v);
		return -1;
	}
	memcpy(n, prefix, strlen(prefix));
	memcpy(n + strlen(prefix), name, nlen);
	n[strlen(prefix) + nlen] = '\0';
	kv->name = n;
	kv->value = v;
	s->nobj_headers++;
	return 0;
}

int upload_req_object_headers(struct upload_spec *s, enum hoist_dialect d,
			      const struct hoist_upload_options *o, char *err, size_t errlen)
{
	int s3 = d == HOIST_DIALECT_S3;
	const char *p = s3 ? "x-amz-" : "x-oss-";
	char name[64];
	size_t i;

	err[0] = '\0';
	s->obj_headers = calloc(o->nmetadata + 3, sizeof(*s->obj_headers));
	if (!s->obj_headers)
		return -1;
	for (i = 0; i < o->nmetadata; i++) {
		const char *m = o->metadata[i], *eq = m ? strchr(m, '=') : NULL;

		if (!eq || !meta_name_ok(m, (size_t)(eq - m)) || !value_ok(eq + 1)) {
			snprintf(err, errlen, "metadata %zu (\"%.40s\") is not NAME=VALUE with a name "
				 "of letters, digits, '-' and '_' and a printable ASCII value", i + 1,
				 m ? m : "");
			return -1;
		}
		snprintf(name, sizeof(name), "%smeta-", p);
		if (push_header(s, name, m, (size_t)(eq - m), eq + 1) < 0)
			return -1;
	}
	if (o->storage_class) {
		if (!value_ok(o->storage_class)) {
			snprintf(err, errlen, "storage class \"%.40s\" is not printable ASCII",
				 o->storage_class);
			return -1;
		}
		if (push_header(s, p, "storage-class", 13, o->storage_class) < 0)
			return -1;
	}
	if (o->sse != HOIST_SSE_NONE) {
		const char *alg = o->sse == HOIST_SSE_AES256 ? "AES256" : s3 ? "aws:kms" : "KMS";

		if (push_header(s, p, "server-side-encryption", 22, alg) < 0)
			return -1;
		if (o->sse_kms_key_id &&
		    push_header(s, p, s3 ? "server-side-encryption-aws-kms-key-id"
					 : "server-side-encryption-key-id",
				s3 ? 37 : 29, o->sse_kms_key_id) < 0)
			return -1;
	}
	return 0;
}

void upload_req_object_headers_free(struct upload_spec *s)
{
	size_t i;

	for (i = 0; i < s->nobj_headers; i++) {
		free((char *)s->obj_headers[i].name);
		free((char *)s->obj_headers[i].value);
	}
	free(s->obj_headers);
	s->obj_headers = NULL;
	s->nobj_headers = 0;
}

static int add_callback_headers(const struct hoist_upload *u, struct request *r)
{
	int rc = 0;

	if (u->spec.callback_b64) {
		rc |= request_header(r, "x-oss-callback", u->spec.callback_b64);
	}
	if (u->spec.callback_var_b64) {
		rc |= request_header(r, "x-oss-callback-var", u->spec.callback_var_b64);
	}
	return rc;
}

/* The body of p streamed from the source, with the inline CRC when no
 * pre-pass computed it. */
static void source_body(const struct hoist_upload *u, struct request *r, const struct part *p)
{
	r->body_kind = REQ_BODY_SOURCE;
	r->src = u->src;
	r->off = p->off;
	r->len = p->len;
	r->crc_inline = u->spec.sums.crc_inline;
}

/* curl allocates the whole upload buffer for every transfer: a 4 KiB
 * object does not need 512 KiB (with hundreds of small files in flight,
 * hoist cp -r, that is memory and page faults for nothing).  The body's
 * size rounded up to curl's 16 KiB minimum is enough; and when many
 * uploads share the loop, the buffer budget is split over every transfer
 * running on it (request_upload_buffer), as a multipart upload splits it
 * over its parts.  Measured, 500 files of 1 MiB through one engine at 64
 * in flight: peak RSS 52 MiB with 512 KiB each. */
static long put_buffer(const struct hoist_upload *u, uint64_t len)
{
	const uint64_t min = 16 * 1024;
	uint64_t want = (len + min - 1) / min * min;
	long buffer = u->loop ? request_upload_buffer(loop_nxfers(u->loop) + 1) : u->upload_buffer;

	if (want < min) {
		want = min;
	}
	return want < (uint64_t)buffer ? (long)want : buffer;
}

static struct request *build_put(struct hoist_upload *u)
{
	struct request *r = request_new(u->ctx, "PutObject", "PUT", u->spec.bucket, u->spec.key);
	int rc = 0;

	if (!r)
		return NULL;
	rc |= request_header(r, "Content-Type", u->spec.content_type);
	rc |= verify_add_headers(&u->spec.sums, r, &u->pipe.parts[0]);
	rc |= add_common_object_headers(u, r);
	rc |= add_object_options(u, r);
	rc |= add_callback_headers(u, r);
	source_body(u, r, &u->pipe.parts[0]);
	r->upload_buffer = put_buffer(u, r->len);
	r->sent_total = &u->pipe.wire_bytes;
	if (rc) {
		request_free(r);
		return NULL;
	}
	return r;
}

static struct request *build_initiate(struct hoist_upload *u)
{
	struct request *r = request_new(u->ctx, "InitiateMultipartUpload", "POST", u->spec.bucket,
					u->spec.key);
	enum hoist_s3_checksum s3sum = u->spec.sums.s3sum;
	int rc = 0;

	if (!r)
		return NULL;
	if (u->ctx->conf->dialect == HOIST_DIALECT_OSS) {
		rc |= request_query(r, "encoding-type", "url");
	}
	rc |= request_query(r, "uploads", NULL);
	rc |= request_header(r, "Content-Type", u->spec.content_type);
	rc |= add_common_object_headers(u, r);
	rc |= add_object_options(u, r);
	/* S3 accepts part checksums only in an upload created for them.
	 * CRC64NVME exists only as a full-object checksum; CRC32C stays
	 * composite (the default, and what RGW knows). */
	if (s3sum != HOIST_S3_CHECKSUM_NONE) {
		rc |= request_header(r, "x-amz-checksum-algorithm", s3sum_algorithm(s3sum));
		if (s3sum == HOIST_S3_CHECKSUM_CRC64NVME) {
			rc |= request_header(r, "x-amz-checksum-type", "FULL_OBJECT");
		}
	}
	if (rc) {
		request_free(r);
		return NULL;
	}
	return r;
}

static struct request *build_list_parts(struct hoist_upload *u)
{
	struct request *r = request_new(u->ctx, "ListParts", "GET", u->spec.bucket, u->spec.key);
	char num[24];
	int rc = 0;

	if (!r)
		return NULL;
	if (u->ctx->conf->dialect == HOIST_DIALECT_OSS) {
		rc |= request_query(r, "encoding-type", "url");
	}
	rc |= request_query(r, "max-parts", "1000");
	if (u->rs.list_marker) {
		snprintf(num, sizeof(num), "%" PRIu64, u->rs.list_marker);
		rc |= request_query(r, "part-number-marker", num);
	}
	rc |= request_query(r, "uploadId", u->upload_id);
	if (rc) {
		request_free(r);
		return NULL;
	}
	return r;
}

static struct request *build_complete(struct hoist_upload *u)
{
	const struct conf *c = u->ctx->conf;
	struct request *r = request_new(u->ctx, "CompleteMultipartUpload", "POST", u->spec.bucket,
					u->spec.key);
	int oss = c->dialect == HOIST_DIALECT_OSS;
	int rc = 0;

	if (!r)
		return NULL;
	if (oss) {
		rc |= request_query(r, "encoding-type", "url");
	}
	rc |= request_query(r, "uploadId", u->upload_id);
	if (u->spec.complete_all && oss) {
		rc |= request_header(r, dialect_names(c->dialect)->complete_all, "yes");
	} else {
		uint8_t md5[16];
		char b64[25];

		md5_once(md5, u->complete_body.data, u->complete_body.len);
		md5_to_base64(b64, md5);
		rc |= request_header(r, "Content-MD5", b64);
		rc |= request_header(r, "Content-Type", "application/xml");
		r->body_kind = REQ_BODY_MEM;
		r->mem = u->complete_body.data;
		r->memlen = u->complete_body.len;
	}
	rc |= add_common_object_headers(u, r);
	rc |= add_callback_headers(u, r);
	if (rc) {
		request_free(r);
		return NULL;
	}
	return r;
}

static struct request *build_abort(struct hoist_upload *u)
{
	struct request *r = request_new(u->ctx, "AbortMultipartUpload", "DELETE", u->spec.bucket,
					u->spec.key);

	if (r && request_query(r, "uploadId", u->upload_id) < 0) {
		request_free(r);
		return NULL;
	}
	return r;
}

struct request *upload_req_control(struct hoist_upload *u)
{
	switch (u->state) {
	case UP_PUT:
		return build_put(u);
	case UP_INITIATE:
		return build_initiate(u);
	case UP_LIST:
		return build_list_parts(u);
	case UP_COMPLETE:
		return build_complete(u);
	case UP_HEAD:
		return request_new(u->ctx, "HeadObject", "HEAD", u->spec.bucket, u->spec.key);
	case UP_ABORT:
		return build_abort(u);
	default:
		return NULL;
	}
}

struct request *upload_req_part(struct hoist_upload *u, struct part *p)
{
	struct request *r = request_new(u->ctx, "UploadPart", "PUT", u->spec.bucket, u->spec.key);
	char num[16];
	int rc = 0;

	if (!r)
		return NULL;
	snprintf(num, sizeof(num), "%u", p->number);
	rc |= request_query(r, "partNumber", num);
	rc |= request_query(r, "uploadId", u->upload_id);
	rc |= verify_add_headers(&u->spec.sums, r, p);
	if (rc) {
		request_free(r);
		return NULL;
	}
	source_body(u, r, p);
	return r;
}

int upload_req_complete_xml(struct hoist_upload *u, struct buf *b)
{
	const struct part_pipe *pp = &u->pipe;
	enum hoist_s3_checksum s3sum = u->spec.sums.s3sum;
	unsigned i;
	int rc = 0;

	rc |= buf_puts(b, "<CompleteMultipartUpload>");
	for (i = 0; i < pp->nparts && rc == 0; i++) {
		rc |= buf_printf(b, "<Part><PartNumber>%u</PartNumber>", pp->parts[i].number);
		rc |= xml_elem_append(b, "ETag", pp->parts[i].etag);
		/* An upload created with x-amz-checksum-algorithm must name
		 * each part's checksum (S3 refuses the Complete otherwise). */
		if (pp->parts[i].have_s3sum) {
			char sum[13];

			s3sum_encode(sum, s3sum, pp->parts[i].s3sum);
			rc |= xml_elem_append(b, s3sum_element(s3sum), sum);
		}
		rc |= buf_puts(b, "</Part>");
	}
	rc |= buf_puts(b, "</CompleteMultipartUpload>");
	return rc ? -1 : 0;
}
