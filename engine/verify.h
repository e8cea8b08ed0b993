/*
 * verify.h - what a transfer checks, and how (private).
 *
 * Layer: transfer.
 *
 * Owns: the checksums an upload computes (struct sums_spec: from the
 * checksum mode and S3's additional checksum), the headers that carry
 * them on a request (Content-MD5, x-amz-checksum-*), the check of each
 * answer (ETag = our MD5, x-oss-hash-crc64ecma = our CRC64, the echoed
 * x-amz-checksum-*), and the checks of the stored object as a whole: the
 * CRC64 the parts combine to against the server's, the multipart ETag the
 * part MD5s predict, S3's object checksum.  A new checksum is added here
 * (and in checksum.c, which computes it, and hashpool.c, which runs it).
 *
 * Threading: pure functions on the caller's structs (the upload's loop
 * thread).
 */
#ifndef HOIST_VERIFY_H
#define HOIST_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hoist.h"
#include "status.h"

struct part;
struct request;
struct complete_doc;

struct sums_spec {
	enum hoist_dialect dialect;
	int want_md5;              /* Content-MD5 sent, ETag checked */
	int want_crc;              /* CRC64 checked */
	enum hoist_s3_checksum s3sum; /* x-amz-checksum-* per request, or NONE */
	/* MD5 and S3's checksums go in headers, so they must be known before
	 * the request: hash ahead.  CRC64 alone is computed as the bytes go
	 * out (crc_inline). */
	int prepass;
	int crc_inline;
	/* The store's ETags are not MD5s (S3 with SSE-KMS): Content-MD5 is
	 * still sent, and the store checks it (BadDigest), but no ETag is
	 * compared with our MD5. */
	int etag_not_md5;
};

/* The spec for a checksum mode. */
void sums_spec_init(struct sums_spec *s, enum hoist_dialect d, enum hoist_checksum mode,
		    enum hoist_s3_checksum s3sum);

/* Adds the digest headers of p to r (and asks r to keep the echo).
 * 0 or -1 (ENOMEM). */
int verify_add_headers(const struct sums_spec *s, struct request *r, const struct part *p);

/* Checks a 2xx answer r that stored p's bytes: an UploadPart
 * (VERIFY_PART: the ETag must be there, Complete names it, and a CRC64
 * header must be ours), or the one part of a PutObject (its CRC64 is the
 * object's: verify_object_crc).  VERIFY_ETAG_MAY_LACK: an answer without
 * an ETag is not held against our MD5 (a callback's answer).  Takes the
 * inline CRC from r.  Returns 0, or -1 with f->status and detail filled
 * (a mismatch, worth a retry).  *confirmed is 1 when something the server
 * said confirmed the bytes (its ETag against our MD5, its CRC64, its
 * checksum echo). */
enum { VERIFY_PART = 1, VERIFY_ETAG_MAY_LACK = 2 };
int verify_answer(const struct sums_spec *s, struct part *p, const struct request *r,
		  unsigned how, int *confirmed, struct failure *f, char *detail, size_t dlen);

/* What the object as a whole is checked with, and what checked it. */
struct object_check {
	uint64_t crc;              /* combined CRC64 of the parts */
	int crc_valid;
	char expected_etag[48];    /* the multipart ETag the parts predict, or "" */
	int etag_matched;          /* the object's ETag matched our MD5(s) */
	int etag_unchecked;        /* its ETag had no "-N": nothing to compare */
	unsigned unverified_parts; /* parts no response confirmed */
	enum hoist_verify verified; /* what matched, for the result */
	int head_reason_crc;       /* HEAD because the CRC header was missing */
	int head_reason_etag;      /* HEAD because the ETag was empty */
	int head_after_mismatch;   /* HEAD because Complete's CRC64 differed */
};

/* Fills oc's crc and expected_etag from the parts (multipart: nparts of
 * them; a PutObject passes its one part and multipart 0).  A part with no
 * MD5 of its own takes it from a plain MD5 ETag (resumed parts). */
void verify_combine(struct object_check *oc, const struct sums_spec *s, struct part *parts,
		    unsigned nparts, int multipart);

/* The object's CRC64 in r's answer against oc->crc.  0 when it matched
 * (oc->verified = how) or cannot be checked (*need_head: a HEAD could),
 * -1 on a mismatch (f filled, detail in detail). */
int verify_object_crc(struct object_check *oc, const struct sums_spec *s,
		      const struct request *r, enum hoist_verify how, int *need_head,
		      struct failure *f, char *detail, size_t dlen);

/* The object's ETag against the multipart ETag the parts predict.  0 when
 * it matched or cannot be compared, 1 when it is empty (RGW: ask HEAD),
 * -1 on a mismatch.  An ETag without "-N" is not a multipart ETag at all
 * (s3rver): noted in etag_unchecked, not failed.  log_line gets the line
 * to log when that happens first (else ""). */
int verify_object_etag(struct object_check *oc, const struct request *r, const char *etag,
		       struct failure *f, char *detail, size_t dlen, char *log_line,
		       size_t loglen);

/* S3: the object checksum a Complete answer names against the one the
 * parts predict (full-object or composite "-N").  0 when it matches or is
 * absent, -1 on a mismatch. */
int verify_object_s3sum(const struct sums_spec *s, struct part *parts, unsigned nparts,
			const struct request *r, const struct complete_doc *d,
			struct failure *f, char *detail, size_t dlen);

/* The final verdict of a successful upload when no CRC64 decided it. */
void verify_settle(struct object_check *oc);

#endif
