/*
 * objopt.h - the options an object is stored with, beyond its bytes and
 * headers: storage class, server-side encryption and S3's full-object
 * checksum.  Set by PutObject and InitiateMultipartUpload (then inherited
 * by Complete), kept in the metadata file, answered on HEAD/GET and (the
 * storage class) in listings, in the reading request's dialect.
 *
 * Storage classes are kept as one table of both dialects' names
 * (Standard = STANDARD, IA = STANDARD_IA, Archive = GLACIER, ColdArchive =
 * DEEP_ARCHIVE; the classes only one side has keep their one name), so an
 * object written over S3 lists as Archive over OSS.
 *
 * Threading: pure functions over caller-owned structs.
 */
#ifndef OSSEMU_OBJOPT_H
#define OSSEMU_OBJOPT_H

#include <stdint.h>

#include "buf.h"
#include "errors.h"
#include "ossemu.h"
#include "sign.h"

struct hdrs;

enum sse_kind {
	SSE_NONE = 0,
	SSE_AES256,  /* x-oss-server-side-encryption: AES256 / x-amz-...: AES256 */
	SSE_KMS,     /* KMS / aws:kms (and aws:kms:dsse) */
	SSE_SM4,     /* OSS only */
	SSE_C        /* S3 SSE-C: the client holds the key */
};

/* An S3 full-object (or composite) checksum, as x-amz-checksum-<alg>. */
struct obj_checksum {
	unsigned char alg;       /* 0: none; else enum amzsum_kind + 1 */
	unsigned char composite; /* "<b64>-N", x-amz-checksum-type COMPOSITE */
	char value[40];          /* base64 text, "-N" included */
};

struct obj_opts {
	unsigned char sclass;    /* index in the storage-class table; 0 = Standard */
	unsigned char sse;       /* enum sse_kind */
	char sse_key_id[128];    /* KMS key id ("" when the service picked one) */
	char sse_data[8];        /* OSS x-oss-server-side-data-encryption (SM4) or "" */
	char ssec_md5[25];       /* SSE-C: base64 MD5 of the customer key */
	struct obj_checksum cks;
	/* Multipart uploads only: the algorithm and type Initiate asked for. */
	unsigned char mp_alg;    /* 0 or enum amzsum_kind + 1 */
	unsigned char mp_full;   /* FULL_OBJECT */
};

/* Reads the storage class and encryption headers of a PutObject or an
 * Initiate (dialect d).  E_OK, or the error to answer with its argument
 * name in *bad (a header name). */
enum err_id objopt_parse(struct obj_opts *o, const struct sign_kv *h, size_t nh,
			 enum dialect d, const char **bad);
/* The checksum algorithm and type an S3 Initiate asked for. */
enum err_id objopt_parse_mp_checksum(struct obj_opts *o, const struct sign_kv *h, size_t nh,
				     const char **bad);

/* SSE-C objects are read (and their parts written) only with the same
 * customer key: E_OK, E_SSEC_REQUIRED (headers missing or malformed) or
 * E_SSEC_MISMATCH (another key). */
enum err_id objopt_check_ssec(const struct obj_opts *o, const struct sign_kv *h, size_t nh);
/* The ETag digest of a body whose MD5 is md5: the MD5 itself, except in the
 * S3 dialect for SSE-KMS and SSE-C objects, whose ETags AWS documents as
 * not an MD5 of the data (here: an MD5 of the MD5 and a fixed salt, stable
 * for the same bytes). */
void objopt_etag_digest(const struct obj_opts *o, enum dialect d, uint8_t digest[16]);

/* Storage class name in dialect d. */
const char *objopt_class_name(const struct obj_opts *o, enum dialect d);
/* True for the classes that must be restored before a GET (Archive,
 * ColdArchive, DeepColdArchive, GLACIER, DEEP_ARCHIVE). */
int objopt_is_archived(const struct obj_opts *o);

/* Adds the response headers of the options (storage class, encryption;
 * the checksum only when with_checksum) through add(ctx, name, value). */
typedef int (*objopt_add_fn)(void *ctx, const char *name, const char *value);
int objopt_headers(const struct obj_opts *o, enum dialect d, int with_checksum,
		   objopt_add_fn add, void *ctx);

/* Metadata file lines ("opt.*"), and back.  0 or -1. */
int objopt_encode(struct buf *b, const struct obj_opts *o);
int objopt_decode(struct obj_opts *o, const struct hdrs *meta);

#endif
