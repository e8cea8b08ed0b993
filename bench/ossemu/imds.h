/*
 * imds.h - a test instance-metadata service, as Alibaba Cloud ECS serves
 * a RAM role's credentials (docs/oss-get-list-delete.md §6.3), on ossemu's
 * own port under /latest/ (--imds ROLE[:TTL_SECONDS]).
 *
 *   PUT /latest/api/token   X-aliyun-ecs-metadata-token-ttl-seconds: 1..21600
 *       -> a metadata token (IMDSv2; 404 with --imds-mode v1)
 *   GET /latest/meta-data/ram/security-credentials/       -> the role name
 *   GET /latest/meta-data/ram/security-credentials/ROLE   -> JSON credentials
 *       (header X-aliyun-ecs-metadata-token: required with --imds-mode v2,
 *       optional but checked when sent otherwise; 401 when missing or bad)
 *
 * Credentials are STS keys minted into the key ring (keys.h) with an
 * expiry TTL_SECONDS after they were minted.  A set is handed out until
 * half its life has passed; the next request after that gets a new set,
 * while the old one keeps working until its own expiry: a client that
 * refreshes in the second half of a token's life always gets a fresh,
 * full-length one.
 *
 * Threading: imds_handle is thread-safe (one lock for the current set and
 * the token table).
 */
#ifndef OSSEMU_IMDS_H
#define OSSEMU_IMDS_H

#include <stdint.h>

#include "buf.h"
#include "ossemu.h"
#include "sign.h"

struct keyring;
struct imds;

struct imds_reply {
	unsigned status;
	const char *content_type; /* static */
	struct buf body;
};

struct imds *imds_new(const struct ossemu_config *cfg, struct keyring *keys);
void imds_free(struct imds *m);
/* Is this request path the metadata service's (/latest or below)? */
int imds_path(const char *path);
/* Answers one request; now is the server clock.  out->body is the caller's
 * to free (buf_free). */
void imds_handle(struct imds *m, const char *method, const char *path,
		 const struct sign_kv *headers, size_t nheaders, int64_t now,
		 struct imds_reply *out);
/* Credential sets minted so far. */
uint64_t imds_issued(struct imds *m);

#endif
