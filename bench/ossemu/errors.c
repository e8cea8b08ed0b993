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

static const struct err_def *def(enum err_id e)
{
	if ((unsigned)e >= E_COUNT)
		e = E_INTERNAL;
	return &defs[e];
}

unsigned err_status(enum err_id e)
{
	return def(e)->status;
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
	r |= xml_elem_append(out, "Message", x->message ? x->message : ed->message);
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
