/*
 * dialect.h - what differs between OSS and S3 (private).
 *
 * Owns: limits, header names, endpoint parsing and defaults, request URLs
 * (virtual-host vs path style), the ETag rules (part ETag = MD5 of the part;
 * multipart ETag = MD5 over the part MD5s, "-N", with the OSS twist that it
 * hashes the upper-case hex text), and the mapping from an HTTP status and
 * server error code to a hoist_status and "retry or not".
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: pure functions on immutable data.
 */
#ifndef HOIST_DIALECT_H
#define HOIST_DIALECT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "hoist.h"
#include "sign.h"

struct conf;
struct endpoint;

struct dialect_limits {
	uint64_t min_part;   /* every part but the last */
	uint64_t max_part;   /* also the PutObject maximum */
	unsigned max_parts;
};

const struct dialect_limits *dialect_limits(enum hoist_dialect d);

/* Header names ("x-oss-..." or "x-amz-...").  NULL: the dialect has none. */
struct dialect_names {
	const char *prefix;          /* "x-oss-" */
	const char *date;            /* "x-oss-date" */
	const char *content_sha256;  /* "x-oss-content-sha256" */
	const char *security_token;  /* "x-oss-security-token" */
	const char *request_id;      /* "x-oss-request-id" */
	const char *crc64;           /* "x-oss-hash-crc64ecma" (S3: NULL) */
	const char *version_id;      /* "x-oss-version-id" */
	const char *forbid_overwrite;
	const char *complete_all;    /* OSS only */
	const char *err;             /* base64 error XML on bodiless responses */
	const char *qos_delay;       /* throttling hint in ms (OSS) */
};
const struct dialect_names *dialect_names(enum hoist_dialect d);

/* Splits url ("http(s)://host[:port][/]") with curl's URL parser.
 * Returns 0, or -1 with a reason in err.  endpoint_cleanup frees. */
int endpoint_parse(struct endpoint *ep, const char *url, char *err, size_t errlen);
void endpoint_cleanup(struct endpoint *ep);
/* The default endpoint URL for a region, malloc'd. */
char *dialect_default_endpoint(enum hoist_dialect d, const char *region,
			       int internal);

/* The URL of a request and what goes with it.  bucket NULL/"" is a
 * service-level request; key NULL/"" a bucket-level one.  Query names and
 * values are decoded; they are percent-encoded here in the order given. */
struct req_url {
	struct buf url;      /* "http://127.0.0.1:9000/bkt/a%20b?uploadId=X" */
	struct buf host;     /* Host header value: "127.0.0.1:9000" */
	struct buf path;     /* decoded path as sent, for AWS signing: "/bkt/a b" */
};
int dialect_url(struct req_url *out, const struct conf *c,
		const char *bucket, const char *key, const struct sign_kv *query,
		size_t nquery);
void req_url_cleanup(struct req_url *u);

/* 1 when etag (quotes optional) is the hex of md5, in either case. */
int etag_equals_md5(const char *etag, const uint8_t md5[16]);
/* 1 when two ETags are equal ignoring quotes and case. */
int etag_equal(const char *a, const char *b);
/* 1 when etag (quotes optional) has the multipart form "<hex>-N" that
 * dialect_multipart_etag predicts; 0 for anything else (a plain MD5, as
 * s3rver answers a Complete with, or an empty one, as RGW does). */
int etag_is_multipart(const char *etag);
/* Parses a plain MD5 ETag back into bytes; -1 if it is not one. */
int etag_to_md5(uint8_t md5[16], const char *etag);
/* The quoted multipart ETag the server should return for parts with these
 * MD5s, in list order: OSS "\"<UPPER(md5(UPPERHEX(m1)..UPPERHEX(mN)))>-N\"",
 * S3 "\"<lower(md5(m1..mN raw))>-N\"".  out holds at least 48 bytes.
 * Returns 0 or -1 (ENOMEM). */
int dialect_multipart_etag(enum hoist_dialect d, char *out, size_t outlen,
			   const uint8_t (*md5)[16], unsigned n);

/* S3's additional checksums (x-amz-checksum-*; NULL for NONE): the
 * request/response header, the x-amz-checksum-algorithm value for
 * CreateMultipartUpload, and the element of a Complete body. */
const char *s3sum_header(enum hoist_s3_checksum k);    /* "x-amz-checksum-crc32c" */
const char *s3sum_algorithm(enum hoist_s3_checksum k); /* "CRC32C" */
const char *s3sum_element(enum hoist_s3_checksum k);   /* "ChecksumCRC32C" */
/* The header value: base64 of the big-endian CRC, 4 bytes for CRC32C, 8
 * for CRC64NVME.  out holds 13 bytes. */
void s3sum_encode(char out[13], enum hoist_s3_checksum k, uint64_t v);
/* 1 when text is that encoding of v (base64 compared as bytes). */
int s3sum_equals(const char *text, enum hoist_s3_checksum k, uint64_t v);

/* What a server error means: *status and whether the same request may be
 * sent again.  http is the status code, code the <Code> (may be NULL). */
void dialect_classify(enum hoist_dialect d, long http, const char *code,
		      hoist_status *status, int *retry);
/* 1 when an answer says the session token the request carried expired:
 * OSS 403 SecurityTokenExpired (EC 0002-00000007), S3 400 ExpiredToken
 * (docs/oss-get-list-delete.md 6.2).  Classified HOIST_E_AUTH, not
 * retried, unless a credentials provider can renew the token. */
int dialect_token_expired(enum hoist_dialect d, long http, const char *code);

#endif
