/*
 * sign.h - request signatures: OSS V1 (HMAC-SHA1), OSS V4
 * (OSS4-HMAC-SHA256) and AWS SigV4 (AWS4-HMAC-SHA256).
 *
 * Owns: canonicalisation and HMAC of a request described by struct
 * sign_request.  The same code signs in the engine and verifies in ossemu
 * (the server rebuilds the request description from what it received and
 * compares in constant time), so the unit vectors test both sides.
 *
 * Inputs are always *decoded* (a key "a b+c" is passed as such, not as
 * "a%20b%2Bc"); the functions percent-encode where the scheme requires it
 * (RFC 3986 unreserved set, upper-case hex).
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: pure functions, reentrant.
 */
#ifndef HOIST_SIGN_H
#define HOIST_SIGN_H

#include <stddef.h>
#include <stdint.h>

struct sign_kv {
	const char *name;
	const char *value; /* query: NULL or "" means a bare "?name" */
};

struct sign_request {
	const char *method;           /* "PUT" */
	const char *bucket;           /* NULL or "" for service-level requests */
	const char *key;              /* decoded; NULL or "" for bucket-level */
	const char *path;             /* AWS only: decoded URI path as sent,
	                                 "/bucket/key" (path style) or "/key" */
	const struct sign_kv *query;  /* decoded, any order */
	size_t nquery;
	const struct sign_kv *headers; /* names in any case, values untrimmed */
	size_t nheaders;
};

/* ---- OSS V1 ------------------------------------------------------------ */
/* The string to sign (malloc'd, caller frees; NULL on ENOMEM).  date_line is
 * the Date header (or the Expires value for presigned URLs). */
char *sign_oss_v1_string_to_sign(const struct sign_request *r, const char *date_line);
/* out: base64 HMAC-SHA1, 28 chars + NUL.  Returns 0 or -1 (ENOMEM). */
int sign_oss_v1(char out[29], const char *secret, const struct sign_request *r,
		const char *date_line);
/* 1 if name is a V1 sub-resource (signed in CanonicalizedResource). */
int sign_oss_v1_is_subresource(const char *name);

/* ---- OSS V4 ------------------------------------------------------------ */
struct sign_v4_params {
	const char *secret;
	const char *region;        /* "cn-hangzhou" */
	const char *product;       /* "oss" (NULL = "oss") */
	const char *datetime;      /* "20231216T162057Z" */
	const char *const *additional_headers; /* lower or mixed case; may be NULL */
	size_t nadditional;
	const char *payload_hash;  /* NULL = the x-oss-content-sha256 header's
	                              value, or "UNSIGNED-PAYLOAD" if absent */
};
/* Canonical request / string to sign (malloc'd, caller frees). */
char *sign_oss_v4_canonical_request(const struct sign_request *r,
				    const struct sign_v4_params *p);
char *sign_oss_v4_string_to_sign(const struct sign_request *r,
				 const struct sign_v4_params *p);
/* out: lower-case hex, 64 chars + NUL.  Returns 0 or -1. */
int sign_oss_v4(char out[65], const struct sign_request *r,
		const struct sign_v4_params *p);
/* The ";"-joined AdditionalHeaders value actually used (drops default-signed
 * and absent names), malloc'd; "" when none. */
char *sign_oss_v4_additional(const struct sign_request *r,
			     const struct sign_v4_params *p);

/* ---- AWS SigV4 --------------------------------------------------------- */
struct sign_aws_params {
	const char *secret;
	const char *region;        /* "us-east-1" */
	const char *service;       /* NULL = "s3" */
	const char *datetime;      /* x-amz-date "20130524T000000Z" */
	const char *signed_headers; /* ";"-joined lower-case names, sorted, e.g.
	                               "host;x-amz-content-sha256;x-amz-date";
	                               NULL = every header of the request */
	const char *payload_hash;  /* hex SHA-256 or "UNSIGNED-PAYLOAD"; NULL =
	                              the x-amz-content-sha256 header's value,
	                              or "UNSIGNED-PAYLOAD" if absent */
	int double_encode_path;    /* 0 for S3 (encode once), 1 for other services */
};
char *sign_aws_canonical_request(const struct sign_request *r,
				 const struct sign_aws_params *p);
char *sign_aws_string_to_sign(const struct sign_request *r,
			      const struct sign_aws_params *p);
int sign_aws_v4(char out[65], const struct sign_request *r,
		const struct sign_aws_params *p);
/* The SignedHeaders value naming every header of r: lower-cased, sorted,
 * distinct, ";"-joined (malloc'd; NULL on ENOMEM). */
char *sign_aws_signed_headers(const struct sign_request *r);

/* ---- helpers shared by engine and server -------------------------------- */
/* Percent-encodes with the RFC 3986 unreserved set; keep_slash keeps '/'.
 * Appends to a malloc'd string; NULL on ENOMEM. */
char *sign_uri_encode(const char *s, int keep_slash);
/* Constant-time string equality (length leaks, content does not). */
int sign_equal_ct(const char *a, const char *b);
/* hex SHA-256 of a buffer: out 65 bytes. */
void sign_sha256_hex(char out[65], const void *p, size_t n);
/* time -> "20231216T162057Z" (out 17) and RFC 1123 "Sat, 16 Dec 2023 16:20:57 GMT" (out 30). */
void sign_format_iso8601(char out[17], int64_t unix_seconds);
void sign_format_rfc1123(char out[30], int64_t unix_seconds);
/* Parse either form back; -1 if malformed. */
int sign_parse_iso8601(const char *s, int64_t *out);
int sign_parse_rfc1123(const char *s, int64_t *out);

#endif
