/*
 * objopt.c - storage class, server-side encryption and S3 object
 * checksums of stored objects (objopt.h): request parsing, response
 * headers, metadata lines.
 *
 * Owns: the storage-class table of both dialects and the encryption
 * header spellings.  ossemu encrypts nothing: it records what was asked and
 * answers as the services do (the headers, the KMS key id, SSE-C's key
 * check, S3's non-MD5 ETags), so clients meet the same protocol.
 *
 * Threading: pure functions; constant tables.
 */
#include "objopt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "amzsum.h"
#include "kv.h"
#include "checksum.h"
#include "persist.h"
#include "store.h"

/* Both dialects' names of a class; an empty name: that dialect shows the
 * other's.  archived: GET refused (403 InvalidObjectState) until restored,
 * which ossemu does not implement. */
static const struct {
	const char *oss, *s3;
	int archived;
} classes[] = {
	{ "Standard", "STANDARD", 0 },          /* index 0: the default */
	{ "IA", "STANDARD_IA", 0 },
	{ "Archive", "GLACIER", 1 },
	{ "ColdArchive", "DEEP_ARCHIVE", 1 },
	{ "DeepColdArchive", "", 1 },
	{ "", "REDUCED_REDUNDANCY", 0 },
	{ "", "ONEZONE_IA", 0 },
	{ "", "INTELLIGENT_TIERING", 0 },
	{ "", "GLACIER_IR", 0 },
	{ "", "OUTPOSTS", 0 },
	{ "", "SNOW", 0 },
	{ "", "EXPRESS_ONEZONE", 0 },
};
#define NCLASSES (sizeof(classes) / sizeof(*classes))

/* KMS key ids answered when the request named none (the services answer
 * their account's default key). */
#define OSS_DEFAULT_KMS_KEY "ossemu-default-kms-key"
#define S3_DEFAULT_KMS_KEY "arn:aws:kms:us-east-1:000000000000:key/ossemu-default"

static int class_find(const char *v, enum dialect d)
{
	for (size_t i = 0; i < NCLASSES; i++) {
		/* OSS names are matched without case (the SDKs spell them
		 * "Standard", ossutil "standard"); S3's are upper case. */
		if (d == DIALECT_OSS && *classes[i].oss && strcasecmp(v, classes[i].oss) == 0)
			return (int)i;
		if (d == DIALECT_S3 && *classes[i].s3 && strcmp(v, classes[i].s3) == 0)
			return (int)i;
	}
	return -1;
}

const char *objopt_class_name(const struct obj_opts *o, enum dialect d)
{
	size_t i = o->sclass < NCLASSES ? o->sclass : 0;
	const char *name = d == DIALECT_S3 ? classes[i].s3 : classes[i].oss;

	return *name ? name : (d == DIALECT_S3 ? classes[i].oss : classes[i].s3);
}

int objopt_is_archived(const struct obj_opts *o)
{
	return o->sclass < NCLASSES && classes[o->sclass].archived;
}

static int copy_str(char *dst, size_t cap, const char *v)
{
	size_t n = strlen(v);

	if (n >= cap)
		return -1;
	memcpy(dst, v, n + 1);
	return 0;
}

static enum err_id parse_oss_sse(struct obj_opts *o, const struct sign_kv *h, size_t nh,
				 const char **bad)
{
	const char *alg = kv_header(h, nh, "x-oss-server-side-encryption");
	const char *key = kv_header(h, nh, "x-oss-server-side-encryption-key-id");
	const char *data = kv_header(h, nh, "x-oss-server-side-data-encryption");

	if (!alg) {
		*bad = key ? "x-oss-server-side-encryption-key-id" :
			     data ? "x-oss-server-side-data-encryption" : NULL;
		return *bad ? E_INVALID_ARGUMENT : E_OK;
	}
	*bad = "x-oss-server-side-encryption";
	if (strcmp(alg, "AES256") == 0)
		o->sse = SSE_AES256;
	else if (strcmp(alg, "KMS") == 0)
		o->sse = SSE_KMS;
	else if (strcmp(alg, "SM4") == 0)
		o->sse = SSE_SM4;
	else
		return E_INVALID_ENCRYPTION;
	/* A key id or SM4 data encryption means something with KMS only. */
	if ((key || data) && o->sse != SSE_KMS) {
		*bad = key ? "x-oss-server-side-encryption-key-id" : "x-oss-server-side-data-encryption";
		return E_INVALID_ARGUMENT;
	}
	if (data && strcmp(data, "SM4") != 0) {
		*bad = "x-oss-server-side-data-encryption";
		return E_INVALID_ENCRYPTION;
	}
	if ((key && copy_str(o->sse_key_id, sizeof(o->sse_key_id), key) < 0) ||
	    (data && copy_str(o->sse_data, sizeof(o->sse_data), data) < 0)) {
		*bad = key ? "x-oss-server-side-encryption-key-id" : "x-oss-server-side-data-encryption";
		return E_INVALID_ARGUMENT;
	}
	*bad = NULL;
	return E_OK;
}

/* SSE-C: AES256 and a 256-bit key whose MD5 the request states. */
static enum err_id parse_ssec(struct obj_opts *o, const struct sign_kv *h, size_t nh,
			      const char **bad)
{
	const char *alg = kv_header(h, nh, "x-amz-server-side-encryption-customer-algorithm");
	const char *key = kv_header(h, nh, "x-amz-server-side-encryption-customer-key");
	const char *md5 = kv_header(h, nh, "x-amz-server-side-encryption-customer-key-MD5");
	uint8_t raw[48], d[16];
	char want[25];
	long n;

	*bad = "x-amz-server-side-encryption-customer-algorithm";
	if (!alg || strcmp(alg, "AES256") != 0)
		return alg ? E_INVALID_ENCRYPTION : E_INVALID_ARGUMENT;
	*bad = "x-amz-server-side-encryption-customer-key";
	if (!key || strlen(key) != BASE64_LEN(32))
		return E_INVALID_ARGUMENT;
	n = base64_decode(raw, key, strlen(key));
	if (n != 32)
		return E_INVALID_ARGUMENT;
	md5_once(d, raw, 32);
	md5_to_base64(want, d);
	*bad = "x-amz-server-side-encryption-customer-key-MD5";
	if (!md5 || strcmp(md5, want) != 0)
		return E_INVALID_ARGUMENT;
	o->sse = SSE_C;
	memcpy(o->ssec_md5, want, sizeof(want));
	*bad = NULL;
	return E_OK;
}

static enum err_id parse_s3_sse(struct obj_opts *o, const struct sign_kv *h, size_t nh,
				const char **bad)
{
	const char *alg = kv_header(h, nh, "x-amz-server-side-encryption");
	const char *key = kv_header(h, nh, "x-amz-server-side-encryption-aws-kms-key-id");

	if (kv_header(h, nh, "x-amz-server-side-encryption-customer-algorithm") ||
	    kv_header(h, nh, "x-amz-server-side-encryption-customer-key")) {
		if (alg) {
			*bad = "x-amz-server-side-encryption";
			return E_INVALID_ARGUMENT; /* SSE-C excludes the other kinds */
		}
		return parse_ssec(o, h, nh, bad);
	}
	if (!alg) {
		*bad = key ? "x-amz-server-side-encryption-aws-kms-key-id" : NULL;
		return key ? E_INVALID_ARGUMENT : E_OK;
	}
	*bad = "x-amz-server-side-encryption";
	if (strcmp(alg, "AES256") == 0) {
		o->sse = SSE_AES256;
	} else if (strcmp(alg, "aws:kms") == 0 || strcmp(alg, "aws:kms:dsse") == 0) {
		o->sse = SSE_KMS;
		if (alg[7])
			copy_str(o->sse_data, sizeof(o->sse_data), "dsse");
	} else {
		return E_INVALID_ENCRYPTION;
	}
	if (key && o->sse != SSE_KMS) {
		*bad = "x-amz-server-side-encryption-aws-kms-key-id";
		return E_INVALID_ARGUMENT;
	}
	if (key && copy_str(o->sse_key_id, sizeof(o->sse_key_id), key) < 0) {
		*bad = "x-amz-server-side-encryption-aws-kms-key-id";
		return E_INVALID_ARGUMENT;
	}
	*bad = NULL;
	return E_OK;
}

enum err_id objopt_check_ssec(const struct obj_opts *o, const struct sign_kv *h, size_t nh)
{
	struct obj_opts got;
	const char *bad;

	if (o->sse != SSE_C)
		return E_OK;
	memset(&got, 0, sizeof(got));
	if (parse_ssec(&got, h, nh, &bad) != E_OK)
		return E_SSEC_REQUIRED;
	return strcmp(got.ssec_md5, o->ssec_md5) == 0 ? E_OK : E_SSEC_MISMATCH;
}

void objopt_etag_digest(const struct obj_opts *o, enum dialect d, uint8_t digest[16])
{
	static const char salt[] = "ossemu: not the MD5 of the data";
	uint8_t tmp[16 + sizeof(salt)];

	if (d != DIALECT_S3 || (o->sse != SSE_KMS && o->sse != SSE_C))
		return;
	memcpy(tmp, digest, 16);
	memcpy(tmp + 16, salt, sizeof(salt));
	md5_once(digest, tmp, sizeof(tmp));
}

enum err_id objopt_parse(struct obj_opts *o, const struct sign_kv *h, size_t nh,
			 enum dialect d, const char **bad)
{
	const char *name = d == DIALECT_S3 ? "x-amz-storage-class" : "x-oss-storage-class";
	const char *sc = kv_header(h, nh, name);

	memset(o, 0, sizeof(*o));
	*bad = NULL;
	if (sc) {
		int i = class_find(sc, d);

		if (i < 0) {
			*bad = name;
			return E_INVALID_STORAGE_CLASS;
		}
		o->sclass = (unsigned char)i;
	}
	return d == DIALECT_S3 ? parse_s3_sse(o, h, nh, bad) : parse_oss_sse(o, h, nh, bad);
}

enum err_id objopt_parse_mp_checksum(struct obj_opts *o, const struct sign_kv *h, size_t nh,
				     const char **bad)
{
	const char *alg = kv_header(h, nh, "x-amz-checksum-algorithm");
	const char *type = kv_header(h, nh, "x-amz-checksum-type");
	int k;

	*bad = NULL;
	if (!alg) {
		*bad = type ? "x-amz-checksum-type" : NULL;
		return type ? E_INVALID_REQUEST : E_OK;
	}
	k = amzsum_from_name(alg);
	if (k < 0) {
		*bad = "x-amz-checksum-algorithm";
		return E_INVALID_REQUEST;
	}
	o->mp_alg = (unsigned char)(k + 1);
	/* CRC64NVME exists only as a full-object checksum, the SHAs only as
	 * composites; the CRC32s default to composite (AWS's rules). */
	o->mp_full = k == AMZSUM_CRC64NVME;
	if (type) {
		int full = strcmp(type, "FULL_OBJECT") == 0;

		if ((!full && strcmp(type, "COMPOSITE") != 0) ||
		    (full && (k == AMZSUM_SHA1 || k == AMZSUM_SHA256)) ||
		    (!full && k == AMZSUM_CRC64NVME)) {
			*bad = "x-amz-checksum-type";
			return E_INVALID_REQUEST;
		}
		o->mp_full = (unsigned char)full;
	}
	return E_OK;
}

static const char *sse_value(const struct obj_opts *o, enum dialect d)
{
	switch (o->sse) {
	case SSE_AES256:
		return "AES256";
	case SSE_KMS:
		if (d == DIALECT_S3)
			return strcmp(o->sse_data, "dsse") == 0 ? "aws:kms:dsse" : "aws:kms";
		return "KMS";
	case SSE_SM4:
		return "SM4";
	default:
		return NULL;
	}
}

int objopt_headers(const struct obj_opts *o, enum dialect d, int with_checksum,
		   objopt_add_fn add, void *ctx)
{
	const char *v = sse_value(o, d);
	int r = 0;

	if (d == DIALECT_OSS) {
		r |= add(ctx, "x-oss-storage-class", objopt_class_name(o, d));
		if (v)
			r |= add(ctx, "x-oss-server-side-encryption", v);
		if (o->sse == SSE_KMS) {
			r |= add(ctx, "x-oss-server-side-encryption-key-id",
				 *o->sse_key_id ? o->sse_key_id : OSS_DEFAULT_KMS_KEY);
			if (strcmp(o->sse_data, "SM4") == 0)
				r |= add(ctx, "x-oss-server-side-data-encryption", "SM4");
		}
	} else {
		/* S3 names the class only when it is not STANDARD. */
		if (o->sclass != 0)
			r |= add(ctx, "x-amz-storage-class", objopt_class_name(o, d));
		if (v)
			r |= add(ctx, "x-amz-server-side-encryption", v);
		if (o->sse == SSE_KMS)
			r |= add(ctx, "x-amz-server-side-encryption-aws-kms-key-id",
				 *o->sse_key_id ? o->sse_key_id : S3_DEFAULT_KMS_KEY);
		if (o->sse == SSE_C) {
			r |= add(ctx, "x-amz-server-side-encryption-customer-algorithm", "AES256");
			r |= add(ctx, "x-amz-server-side-encryption-customer-key-MD5", o->ssec_md5);
		}
		if (with_checksum && o->cks.alg) {
			r |= add(ctx, amzsum_header((enum amzsum_kind)(o->cks.alg - 1)), o->cks.value);
			r |= add(ctx, "x-amz-checksum-type", o->cks.composite ? "COMPOSITE" : "FULL_OBJECT");
		}
	}
	return r ? -1 : 0;
}

int objopt_encode(struct buf *b, const struct obj_opts *o)
{
	int r = 0;

	if (o->sclass)
		r |= meta_append_u64(b, "opt.class", o->sclass);
	if (o->sse) {
		r |= meta_append_u64(b, "opt.sse", o->sse);
		r |= meta_append(b, "opt.ssekey", o->sse_key_id);
		r |= meta_append(b, "opt.ssedata", o->sse_data);
		r |= meta_append(b, "opt.ssecmd5", o->ssec_md5);
	}
	if (o->cks.alg) {
		r |= meta_append_u64(b, "opt.cksalg", o->cks.alg);
		r |= meta_append_u64(b, "opt.ckscomp", o->cks.composite);
		r |= meta_append(b, "opt.cks", o->cks.value);
	}
	if (o->mp_alg) {
		r |= meta_append_u64(b, "opt.mpalg", o->mp_alg);
		r |= meta_append_u64(b, "opt.mpfull", o->mp_full);
	}
	return r ? -1 : 0;
}

static int get_small(const struct hdrs *m, const char *name, unsigned max, unsigned char *out)
{
	uint64_t v;

	if (meta_get_u64(m, name, &v) < 0)
		return 0; /* absent: the default */
	if (v > max)
		return -1;
	*out = (unsigned char)v;
	return 0;
}

static int get_str(const struct hdrs *m, const char *name, char *dst, size_t cap)
{
	const char *v = hdrs_get(m, name);

	return v ? copy_str(dst, cap, v) : 0;
}

int objopt_decode(struct obj_opts *o, const struct hdrs *meta)
{
	int r = 0;

	memset(o, 0, sizeof(*o));
	r |= get_small(meta, "opt.class", NCLASSES - 1, &o->sclass);
	r |= get_small(meta, "opt.sse", SSE_C, &o->sse);
	r |= get_str(meta, "opt.ssekey", o->sse_key_id, sizeof(o->sse_key_id));
	r |= get_str(meta, "opt.ssedata", o->sse_data, sizeof(o->sse_data));
	r |= get_str(meta, "opt.ssecmd5", o->ssec_md5, sizeof(o->ssec_md5));
	r |= get_small(meta, "opt.cksalg", AMZSUM_COUNT, &o->cks.alg);
	r |= get_small(meta, "opt.ckscomp", 1, &o->cks.composite);
	r |= get_str(meta, "opt.cks", o->cks.value, sizeof(o->cks.value));
	r |= get_small(meta, "opt.mpalg", AMZSUM_COUNT, &o->mp_alg);
	r |= get_small(meta, "opt.mpfull", 1, &o->mp_full);
	return r ? -1 : 0;
}
