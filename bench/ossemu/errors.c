/*
 * errors.c - the error table and the error documents of both dialects.
 *
 * Owns: the mapping from enum err_id to status, code, message and EC, and
 * the rendering of <Error> documents.  OSS documents carry <EC> (and the
 * response an x-oss-ec header, added by http.c); S3 documents do not.
 *
 * Threading: constant data and reentrant functions only.
 */
#include "errors.h"

#include "xml.h"

struct err_def {
	unsigned status;
	const char *oss_code;
	const char *s3_code;
	const char *ec;
	const char *message;
};

static const struct err_def defs[E_COUNT] = {
#define OSSEMU_ERR_DEF(id, st, oc, sc, ec, msg) [id] = { st, oc, sc, ec, msg },
	OSSEMU_ERRORS(OSSEMU_ERR_DEF)
#undef OSSEMU_ERR_DEF
};

/* Where S3 differs from OSS for the same error.  AWS's error list: both
 * token errors are 400 Bad Request (OSS: 403), with S3's own messages. */
static const struct {
	enum err_id id;
	unsigned status;
	const char *message;
} s3_diffs[] = {
	{ E_INVALID_TOKEN, 400, "The provided token is malformed or otherwise invalid." },
	{ E_TOKEN_EXPIRED, 400, "The provided token has expired." },
	{ E_INVALID_OBJECT_STATE, 403,
	  "The operation is not valid for the object's storage class" },
};

static const struct err_def *def(enum err_id e)
{
	if ((unsigned)e >= E_COUNT)
		e = E_INTERNAL;
	return &defs[e];
}

static int s3_diff(enum err_id e)
{
	for (size_t i = 0; i < sizeof(s3_diffs) / sizeof(*s3_diffs); i++) {
		if (s3_diffs[i].id == e)
			return (int)i;
	}
	return -1;
}

unsigned err_status(enum err_id e, enum dialect d)
{
	int i = d == DIALECT_S3 ? s3_diff(e) : -1;

	return i >= 0 ? s3_diffs[i].status : def(e)->status;
}

static const char *err_message(enum err_id e, enum dialect d)
{
	int i = d == DIALECT_S3 ? s3_diff(e) : -1;

	return i >= 0 ? s3_diffs[i].message : def(e)->message;
}

const char *err_code(enum err_id e, enum dialect d)
{
	return d == DIALECT_S3 ? def(e)->s3_code : def(e)->oss_code;
}

const char *err_ec(enum err_id e)
{
	return def(e)->ec;
}

/* Appends <name>text</name> when text is set. */
static int opt_elem(struct buf *b, const char *name, const char *text)
{
	if (!text)
		return 0;
	return xml_elem_append(b, name, text);
}

int err_render(struct buf *out, enum err_id e, enum dialect d, const char *request_id,
	       const char *host_id, const struct err_extra *x)
{
	static const struct err_extra none;
	const struct err_def *ed = def(e);
	int r = 0;

	if (!x)
		x = &none;
	r |= buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  ");
	r |= xml_elem_append(out, "Code", err_code(e, d));
	r |= buf_puts(out, "\n  ");
	r |= xml_elem_append(out, "Message", x->message ? x->message : err_message(e, d));
	r |= buf_puts(out, "\n  ");
	r |= xml_elem_append(out, "RequestId", request_id);
	r |= buf_puts(out, "\n  ");
	r |= xml_elem_append(out, "HostId", host_id ? host_id : "");
	r |= opt_elem(out, "BucketName", x->bucket);
	r |= opt_elem(out, "Key", x->key);
	r |= opt_elem(out, "UploadId", x->upload_id);
	r |= opt_elem(out, "ArgumentName", x->arg_name);
	r |= opt_elem(out, "ArgumentValue", x->arg_value);
	r |= opt_elem(out, d == DIALECT_S3 ? "AWSAccessKeyId" : "OSSAccessKeyId", x->ak);
	r |= opt_elem(out, "SignatureProvided", x->sig_provided);
	r |= opt_elem(out, "StringToSign", x->string_to_sign);
	r |= opt_elem(out, "SecurityToken", x->security_token);
	r |= opt_elem(out, "StorageClass", x->storage_class);
	if (d == DIALECT_OSS) {
		const char *ec = x->ec ? x->ec : ed->ec;

		r |= buf_puts(out, "\n  ");
		r |= xml_elem_append(out, "EC", ec);
		r |= buf_puts(out, "\n  ");
		r |= buf_printf(out, "<RecommendDoc>https://api.aliyun.com/troubleshoot?q=%s"
				"</RecommendDoc>", ec);
	}
	r |= buf_puts(out, "\n</Error>\n");
	return r ? -1 : 0;
}
