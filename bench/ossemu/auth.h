/*
 * auth.h - who signed a request, in which dialect, and is it genuine.
 *
 * The dialect is chosen by the Authorization scheme ("OSS ", "OSS4-HMAC-
 * SHA256 " -> OSS; "AWS4-HMAC-SHA256 " -> S3) or, for presigned URLs, by the
 * query (OSSAccessKeyId / x-oss-signature-version -> OSS; X-Amz-Algorithm ->
 * S3).  An unsigned request is OSS unless it carries an x-amz-* header, and
 * is accepted only with --anonymous.
 *
 * Verification rebuilds a struct sign_request from what was received
 * (decoded path, bucket, key, query, headers), signs it with the shared
 * core (engine/sign.h), the same code the client signs with, and compares
 * in constant time.
 *
 * Threading: reentrant.
 */
#ifndef OSSEMU_AUTH_H
#define OSSEMU_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"
#include "kv.h"
#include "ossemu.h"
#include "sign.h"

struct auth_input {
	const char *method;
	const char *bucket;    /* NULL for service-level requests */
	const char *key;       /* NULL for bucket-level requests */
	const char *path;      /* decoded request path, as sent (AWS) */
	const struct sign_kv *query;
	size_t nquery;
	const struct sign_kv *headers;
	size_t nheaders;
	int64_t now;           /* server clock */
};

struct auth_result {
	enum dialect dialect;
	enum err_id err;             /* E_OK: accepted */
	int anonymous;
	const char *scheme;          /* "OSS", "OSS4", "AWS4", "anonymous" */
	char ak[128];                /* the access key id claimed, if any */
	/* The body must hash (SHA-256, lower-case hex) to this when set: the
	 * client signed the payload (x-amz-content-sha256 / x-oss-content-sha256). */
	char payload_sha256[65];
	char sig_provided[129];      /* for SignatureDoesNotMatch documents */
	char *string_to_sign;        /* malloc'd or NULL; never holds a token */
	/* BORROWED from the key ring (valid while the server runs): */
	const struct ossemu_key *key;  /* the key that signed, when accepted with a token */
	const char *expired_token;     /* E_TOKEN_EXPIRED: the token, echoed by OSS */
};

struct keyring;

/* cfg for --anonymous, kr for the keys. */
void auth_check(struct auth_result *out, const struct ossemu_config *cfg, struct keyring *kr,
		const struct auth_input *in);
void auth_result_cleanup(struct auth_result *r);

#endif
