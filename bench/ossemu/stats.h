/*
 * stats.h - request, byte, connection and fault counters behind /-/stats.
 *
 * Threading: every counter is a relaxed atomic.  Counters are independent
 * tallies read only for reporting, so no ordering between them is needed and
 * a snapshot may be a few increments apart across counters.
 */
#ifndef OSSEMU_STATS_H
#define OSSEMU_STATS_H

#include <stdint.h>

#include "ossemu.h"

/* Fault kinds, by the names they carry in --fault and in /-/stats. */
#define OSSEMU_FAULTS(X)            \
	X(FAULT_FAIL, "fail")       \
	X(FAULT_RESET, "reset")     \
	X(FAULT_STALL, "stall")     \
	X(FAULT_LATENCY, "latency") \
	X(FAULT_BANDWIDTH, "bandwidth") \
	X(FAULT_BAD_CRC, "bad_crc")     \
	X(FAULT_CORRUPT, "corrupt_get")

enum fault_kind {
#define OSSEMU_FAULT_ENUM(id, name) id,
	OSSEMU_FAULTS(OSSEMU_FAULT_ENUM)
#undef OSSEMU_FAULT_ENUM
	FAULT_COUNT
};

const char *fault_kind_name(enum fault_kind k);

/* Pseudo-statuses for requests that got no HTTP answer. */
#define STATS_STATUS_RESET   600 /* ossemu dropped it (--reset) */
#define STATS_STATUS_ABORTED 601 /* the client went away first */

struct stats *stats_new(void);
void stats_free(struct stats *s);

void stats_request(struct stats *s, enum op op, unsigned status);
void stats_bytes_in(struct stats *s, uint64_t n);
void stats_bytes_out(struct stats *s, uint64_t n);
void stats_connection(struct stats *s, int delta);
void stats_fault(struct stats *s, enum fault_kind k);
uint64_t stats_fault_count(struct stats *s, enum fault_kind k);
/* A request refused because its STS token had expired. */
void stats_token_expired(struct stats *s);

/* What the document reports from outside the counters. */
struct stats_extra {
	uint64_t objects, uploads;  /* the store's */
	uint64_t tokens_used;       /* distinct STS tokens that signed accepted requests */
	uint64_t imds_issued;       /* credential sets the metadata service minted */
};

/* JSON document (malloc'd, caller frees; NULL on ENOMEM), written with
 * jansson:
 * {"requests":{"uploadpart":{"200":3,"reset":1},...},"requests_total":N,
 *  "bytes_in":N,"bytes_out":N,"active_connections":N,
 *  "faults":{"fail":N,...},
 *  "sts":{"tokens_used":N,"expired_rejections":N,"imds_issued":N},
 *  "objects":N,"uploads":N} */
char *stats_json(struct stats *s, const struct stats_extra *x);

#endif
