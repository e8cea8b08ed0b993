/*
 * ossemu.h - the private contract between ossemu's files.
 *
 * Owns: the configuration (filled by main.c from argv, immutable once the
 * daemon starts), the operation and dialect enums every file names, and the
 * server context that ties the modules together.  Each module keeps its own
 * state behind its own header (store.h, auth.h, fault.h, stats.h, ...); this
 * header only holds what more than two of them need.
 *
 * Threading: struct ossemu_config and the pointers in struct ossemu are
 * written by the main thread before MHD starts and only read afterwards.
 */
#ifndef OSSEMU_H
#define OSSEMU_H

#include <stddef.h>
#include <stdint.h>

/* The two wire dialects one port speaks, chosen per request (auth.c). */
enum dialect {
	DIALECT_OSS = 0,
	DIALECT_S3 = 1
};

/* Operations, by the name they carry in /-/stats and in --fault scopes. */
#define OSSEMU_OPS(X)                      \
	X(OP_STATS, "stats")               \
	X(OP_LIST_BUCKETS, "listbuckets")  \
	X(OP_PUT_BUCKET, "putbucket")      \
	X(OP_HEAD_BUCKET, "headbucket")    \
	X(OP_DELETE_BUCKET, "deletebucket") \
	X(OP_LIST_OBJECTS, "listobjects")  \
	X(OP_LIST_UPLOADS, "listuploads")  \
	X(OP_INITIATE, "initiate")         \
	X(OP_UPLOAD_PART, "uploadpart")    \
	X(OP_COMPLETE, "complete")         \
	X(OP_ABORT, "abort")               \
	X(OP_LIST_PARTS, "listparts")      \
	X(OP_PUT_OBJECT, "putobject")      \
	X(OP_GET_OBJECT, "getobject")      \
	X(OP_HEAD_OBJECT, "headobject")    \
	X(OP_DELETE_OBJECT, "deleteobject") \
	X(OP_DELETE_MULTIPLE, "deletemultiple") \
	X(OP_IMDS, "imds")                 \
	X(OP_UNKNOWN, "unknown")

enum op {
#define OSSEMU_OP_ENUM(id, name) id,
	OSSEMU_OPS(OSSEMU_OP_ENUM)
#undef OSSEMU_OP_ENUM
	OP_COUNT
};

const char *op_name(enum op op);
/* -1 if name is not an operation. */
int op_from_name(const char *name);

struct ossemu_key {
	char *ak;
	char *sk;
	char *token;     /* NULL: no STS token required for this AK */
	int64_t expires; /* unix seconds (server clock) the token expires at; 0: never */
};

/* What the metadata service asks of a caller (--imds-mode). */
enum imds_mode {
	IMDS_BOTH = 0, /* token optional (ECS "normal" mode); a token sent must be valid */
	IMDS_V2,       /* token required (ECS "security hardening" mode) */
	IMDS_V1        /* no token service at all (PUT /latest/api/token: 404) */
};

struct fault_rule; /* fault.h */

struct ossemu_config {
	const char *host;          /* listen address, default 127.0.0.1 */
	unsigned port;             /* 0 = pick a free one */
	char **buckets;            /* --bucket, created at start */
	size_t nbuckets;
	struct ossemu_key *keys;   /* --key AK:SK[:TOKEN[:EXPIRES]] */
	size_t nkeys;
	int anonymous;             /* --anonymous: unsigned requests allowed */
	char *data_dir;            /* --data-dir, or a private temp dir */
	int data_dir_is_temp;      /* remove data_dir at exit */
	int discard;               /* --discard: keep sizes and checksums only */
	int md5_etags;             /* --md5-etags: real MD5 even with --discard */
	const char *tls_cert;      /* PEM files, both or neither */
	const char *tls_key;
	unsigned threads;          /* MHD thread pool size (0 = cores) */
	size_t conn_memory;        /* MHD per-connection memory, bytes */
	int64_t clock_offset;      /* seconds added to the server clock */
	int verbose;               /* one stderr line per request */
	const char *imds_role;     /* --imds ROLE[:TTL]: the metadata service, or NULL */
	unsigned imds_ttl;         /* lifetime of its STS keys, seconds */
	enum imds_mode imds_mode;  /* --imds-mode */

	/* Faults (fault.c interprets them). */
	uint64_t seed;
	struct fault_rule *rules;
	size_t nrules;
	double latency_ms;         /* --latency */
	double conn_bandwidth;     /* --conn-bandwidth, bytes per second; 0 = off */
	int no_crc;                /* 1: --no-crc (write responses), 2: --no-crc-anywhere */
	int no_part_number;        /* --no-part-number: S3 GET/HEAD ignore ?partNumber
	                              (the whole object, no x-amz-mp-parts-count), as
	                              Ceph RGW 16.2 does */
};

struct store;
struct stats;
struct faults;
struct resumer;
struct keyring;
struct imds;

/* The server: one per process. */
struct ossemu {
	const struct ossemu_config *cfg;
	struct store *store;
	struct stats *stats;
	struct faults *faults;
	struct resumer *resumer;
	struct keyring *keys;      /* --key keys and the metadata service's */
	struct imds *imds;         /* NULL without --imds */
	void *daemon;              /* struct MHD_Daemon* (http.c) */
	unsigned port;             /* the port actually bound */
};

/* Server clock in unix seconds, including --clock-offset. */
int64_t ossemu_now(const struct ossemu *s);
/* Monotonic nanoseconds, for timers. */
uint64_t mono_ns(void);

#endif
