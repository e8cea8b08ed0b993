/*
 * fault.h - deterministic fault injection.
 *
 * Rules come from the global flags (--fail RATE, --reset RATE, --stall
 * RATE:SECONDS, --bad-crc RATE: every operation but /-/stats and the
 * metadata service; --corrupt-get RATE: GetObject) and from scoped ones
 * (--fault uploadpart:fail=0.05,reset=0.01); a scoped rule overrides the
 * global rule of the same kind for its operation.
 *
 * On GetObject, reset, stall and corrupt act on the response body: the
 * connection is dropped or stalled half-way through it, or one byte of it
 * is sent flipped (send.h).  A GetObject without a body to act on (an
 * error, an empty object) is reset or stalled before the answer, as every
 * other operation is.
 *
 * Decisions are a pure function of (--seed, fault kind, operation, bucket,
 * key, part number, attempt), where attempt counts how often that
 * same request was seen before.  So a run is reproducible whatever the
 * interleaving of concurrent requests, and a retried request draws a fresh
 * decision (with rate < 1 it eventually gets through).
 *
 * Threading: faults_decide is thread-safe (the attempt table has a lock).
 */
#ifndef OSSEMU_FAULT_H
#define OSSEMU_FAULT_H

#include <stddef.h>

#include "ossemu.h"
#include "stats.h"

struct fault_rule {
	int op;               /* enum op, or -1 for every operation */
	enum fault_kind kind; /* FAIL, RESET, STALL, BAD_CRC or CORRUPT */
	double rate;          /* 0..1 */
	double seconds;       /* STALL only */
};

/* What to do to one request (filled by faults_decide). */
struct fault_plan {
	unsigned fail;        /* 0, or 500 (InternalError) / 503 (SlowDown) */
	int reset;            /* drop the connection (mid-body if there is one) */
	double stall_s;       /* > 0: stop reading / answering for this long */
	int bad_crc;          /* send a wrong x-oss-hash-crc64ecma */
	int corrupt;          /* flip one byte of the response body */
	double corrupt_frac;  /* where: this fraction of the body, in [0, 1) */
};

/* Appends a rule parsed from a global flag value (kind given) or from a
 * --fault spec "OP:KIND=VALUE[,KIND=VALUE]".  Returns 0, or -1 with a
 * message in err. */
int fault_rule_add(struct ossemu_config *cfg, int op, enum fault_kind kind,
		   const char *value, char *err, size_t errlen);
int fault_spec_add(struct ossemu_config *cfg, const char *spec, char *err, size_t errlen);

struct faults *faults_new(const struct ossemu_config *cfg);
void faults_free(struct faults *f);
void faults_decide(struct faults *f, struct fault_plan *out, enum op op, const char *bucket,
		   const char *key, const char *upload_id, unsigned part);

#endif
