/*
 * hoist.h - the public API of hoist, a bulk upload engine for Alibaba Cloud
 * OSS and S3-compatible object stores.
 *
 * This header is the manual.  Conventions used throughout:
 *
 *  - Handles are opaque and created/freed by the library (_new/_free).
 *    Every _free accepts NULL.
 *  - Options are transparent structs whose first member is `version`; start
 *    from the matching *_OPTIONS_INIT macro and set what you need.  Zero in
 *    any field means "library default", written in the field's comment.
 *    A newer library reads only what the caller's version declares (the
 *    table of versions is at the end of this header).
 *  - Pointers passed in are COPIED unless marked BORROWED (valid until the
 *    stated point).  Strings in results are OWNED by the result and released
 *    by hoist_result_cleanup().
 *  - Functions that can fail return a hoist_status; hoist_strerror() names
 *    it.  Details of a failure (HTTP status, server error code, request id,
 *    the operation and part that failed, a one-line message) travel in the
 *    struct hoist_result you pass (initialised with HOIST_RESULT_INIT),
 *    never in thread-local state.  The _free, _cancel and _cleanup
 *    functions return nothing and cannot fail.
 *
 * Threads: an engine may be used from several threads at once; each
 * transfer is driven by the engine's own threads (a pinned hashing pool
 * and one or more curl event loops).  Callbacks are called from engine
 * threads, never before the start call returns, never two at a time for
 * one transfer, and never under an engine lock.  hoist_upload_free() and
 * hoist_engine_free() called from inside a callback (or from any engine
 * thread) are refused: they return at once and do nothing, and the handle
 * stays valid for its owner to free later from its own thread.  A handle
 * is freed once, by one thread; hoist_engine_free() must not run while
 * another thread is inside a call on that engine or on one of its
 * transfers (free the transfers first, or make sure those calls have
 * returned).
 *
 * Process-wide effects (all on the first use, once per process):
 *  - curl_global_init(CURL_GLOBAL_DEFAULT), on the first hoist_engine_new,
 *    under pthread_once (libcurl 7.84+ makes it thread-safe); never
 *    curl_global_cleanup, so a host that also uses libcurl is unaffected.
 *  - A SIGBUS handler, on the first upload with HOIST_IO_MMAP: a file
 *    truncated under the mapping turns the next access into SIGBUS; the
 *    handler recovers inside our copies and hands every other SIGBUS to
 *    the handler that was installed before (or the default action).
 *  - SIGPIPE is not touched.  Every easy handle sets CURLOPT_NOSIGNAL and
 *    plain sockets write with MSG_NOSIGNAL, but OpenSSL writes to a TLS
 *    socket the peer closed can raise SIGPIPE: a program using https://
 *    endpoints should ignore SIGPIPE (the hoist CLI does).
 *  - The soft RLIMIT_NOFILE is raised toward the hard limit when an engine
 *    is made, by max_connections + 256 descriptors.
 *  - None on the environment; an https:// engine without ca_file reads
 *    SSL_CERT_DIR, as OpenSSL does (see ca_file).  The engine reads the
 *    machine's cores through hwloc when its hash workers start (see
 *    Threads), which loads every hwloc plugin installed (GL, OpenCL,
 *    PCI, libxml2: ~20 libraries, ~7 ms of CPU on Debian 12) unless
 *    HWLOC_PLUGINS_BLACKLIST names them; hoist needs none of them.  A
 *    program that makes engines often may set it before its threads start
 *    (the hoist CLI sets "hwloc_gl,hwloc_opencl,hwloc_pci,hwloc_xml_libxml,..."
 *    when it is unset).
 *  - Threads: each engine starts io_threads event loops (default 1) named
 *    "hoist-io-N", with a credentials provider one "hoist-creds" thread,
 *    and hash_threads workers (default: one per core the thread calling
 *    hoist_engine_new may run on, from its affinity mask and the cgroup
 *    CPU quota; each pinned to its core unless pinning is off) named
 *    "hoist-hash-N".  The workers and the topology they need start with
 *    the first upload that hashes ahead of sending (a multipart upload,
 *    or one request of more than 64 KiB with MD5 or an S3 checksum), or
 *    in hoist_engine_new when cpus is given; an engine that only sends
 *    small objects, checks CRC64 only or downloads never starts them.
 *    hoist_engine_free() joins them all.
 */
#ifndef HOIST_H
#define HOIST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && defined(HOIST_BUILDING)
#define HOIST_EXTERN __attribute__((visibility("default")))
#else
#define HOIST_EXTERN
#endif

#define HOIST_VERSION_MAJOR 0
#define HOIST_VERSION_MINOR 1
#define HOIST_VERSION_PATCH 0
#define HOIST_VERSION_STRING "0.1.0"

/* "0.1.0": the version of the library actually linked. */
HOIST_EXTERN const char *hoist_version(void);

/*
 * Status codes, grouped by what the caller does next.  Values are
 * append-only.  X(name, value, message).
 */
#define HOIST_STATUS_MAP(X)                                                   \
	X(OK, 0, "success")                                                   \
	X(E_INVALID_ARG, 1, "invalid argument")                               \
	X(E_NOMEM, 2, "out of memory")                                        \
	X(E_IO, 3, "local I/O error")                                         \
	X(E_NETWORK, 4, "network error (connect, reset or timeout)")          \
	X(E_THROTTLED, 5, "throttled by the server")                          \
	X(E_AUTH, 6, "access denied (key, signature, token or clock)")        \
	X(E_NOT_FOUND, 7, "bucket, object or upload not found")               \
	X(E_SERVER, 8, "the server refused the request")                      \
	X(E_CHECKSUM, 9, "checksum mismatch")                                 \
	X(E_CALLBACK, 10, "upload callback failed (the object was stored)")   \
	X(E_SOURCE_CHANGED, 11, "the source changed during the transfer")       \
	X(E_CANCELLED, 12, "cancelled")                                       \
	X(E_TLS, 13, "TLS error (certificate or handshake)")                  \
	X(E_INTERNAL, 14, "internal error")                                   \
	X(E_CONFLICT, 15, "the object exists and overwriting is forbidden")

typedef enum hoist_status {
#define HOIST_STATUS_ENUM_(name, value, msg) HOIST_##name = value,
	HOIST_STATUS_MAP(HOIST_STATUS_ENUM_)
#undef HOIST_STATUS_ENUM_
	HOIST_STATUS_COUNT_
} hoist_status;

/* A static string; "unknown status" for values out of range. */
HOIST_EXTERN const char *hoist_strerror(hoist_status s);

/* ---------------------------------------------------------------- engine */

enum hoist_dialect {
	HOIST_DIALECT_OSS = 0, /* Alibaba Cloud OSS (default) */
	HOIST_DIALECT_S3 = 1   /* Amazon S3 and compatible stores */
};

enum hoist_signature {
	HOIST_SIGNATURE_DEFAULT = 0, /* OSS: V4 (OSS4-HMAC-SHA256); S3: SigV4 */
	HOIST_SIGNATURE_V1 = 1,      /* OSS V1 (HMAC-SHA1 "OSS ak:sig") */
	HOIST_SIGNATURE_V4 = 4
};

enum hoist_addressing {
	HOIST_ADDRESSING_AUTO = 0,   /* path style for IP endpoints, else virtual host */
	HOIST_ADDRESSING_VIRTUAL = 1,
	HOIST_ADDRESSING_PATH = 2
};

/* Where the hash workers run (engine options version 2). */
enum hoist_pinning {
	/* Bind each hash worker to one core of the engine's CPUs (cpus, or
	 * the affinity mask of the thread calling hoist_engine_new, as
	 * taskset, numactl or an MPI launcher left it).  With one core and
	 * no cpus list there is nothing to choose: no binding. */
	HOIST_PINNING_AUTO = 0,
	/* Never bind: the workers keep the affinity of the thread calling
	 * hoist_engine_new (an embedder that places its threads itself). */
	HOIST_PINNING_OFF = 1
};

/* ----------------------------------------------------------- credentials
 *
 * Keys come either fixed in the engine options (access_key_id, ...) or
 * from a provider the engine calls for them (engine options version 4).
 * A provider's keys may expire: the engine asks again ahead of expiry, on
 * a thread of its own ("hoist-creds"; never an event loop, never under an
 * engine lock), and swaps the new set in whole, so every request is
 * signed with one complete set.  A request refused because its session
 * token expired (OSS 403 SecurityTokenExpired, S3 400 ExpiredToken) makes
 * the engine ask at once, and that request is sent again once, with the
 * new keys; every other authentication failure (a wrong secret, an
 * invalid token, AccessDenied) stays final as before.  Without a provider
 * an expired token fails the transfer (HOIST_E_AUTH).
 */
struct hoist_credentials {
	const char *access_key_id;     /* required */
	const char *access_key_secret; /* required */
	const char *session_token;     /* STS token; NULL or "": none */
	/* When the keys stop working, Unix seconds (UTC); 0: they do not
	 * expire (the provider is then asked only after a server says the
	 * token expired). */
	int64_t expiration;
};

/* Fills *out with the current keys and returns HOIST_OK, or another status
 * with one line in errbuf (what failed and where, never a secret).  The
 * strings are BORROWED until the provider is called again or the engine
 * is freed; the engine copies them when the call returns.  Called from
 * the thread running hoist_engine_new (the first time: a failure there
 * fails hoist_engine_new with the provider's status and line), then from
 * the engine's "hoist-creds" thread, never two calls at a time, never
 * under an engine lock.  It may block (it is not on a transfer's path),
 * but hoist_engine_free waits for a call in progress. */
typedef hoist_status (*hoist_credentials_fn)(struct hoist_credentials *out, char *errbuf,
					     size_t errlen, void *userdata);

#define HOIST_ENGINE_OPTIONS_VERSION 4
struct hoist_engine_options {
	unsigned version;          /* HOIST_ENGINE_OPTIONS_VERSION (1 to 4) */
	enum hoist_dialect dialect;
	/* "http(s)://host[:port]".  NULL: derived from region as
	 * https://oss-<region>[-internal].aliyuncs.com (OSS) or
	 * https://s3.<region>.amazonaws.com (S3). */
	const char *endpoint;
	const char *region;        /* NULL: "cn-hangzhou" (OSS), "us-east-1" (S3) */
	int internal;              /* OSS: derive the -internal endpoint */
	const char *access_key_id; /* NULL with secret NULL: anonymous requests */
	const char *access_key_secret;
	const char *session_token; /* STS token, may be NULL */
	enum hoist_signature signature;
	enum hoist_addressing addressing;
	/* 0: one per core of the engine's CPUs (see pinning and cpus), at
	 * most the process's cgroup CPU limit (cpu.max, or
	 * cpu.cfs_quota_us / cpu.cfs_period_us) rounded up. */
	unsigned hash_threads;
	unsigned io_threads;       /* curl multi event loops; 0: 1 */
	unsigned max_connections;  /* 0: 1024; caps connections across loops */
	int insecure;              /* 1: do not verify the TLS peer (default verify) */
	/* PEM bundle to trust.  NULL: the system's roots, from OpenSSL's
	 * hashed directory (SSL_CERT_DIR, else OpenSSL's default, e.g.
	 * /etc/ssl/certs) read a root at a time as handshakes need it, one
	 * store per engine; where it holds no hashed names, libcurl's
	 * default bundle.  COPIED. */
	const char *ca_file;
	unsigned connect_timeout_ms; /* 0: 10000 */
	/* A request whose speed stays under low_speed_bytes per second for
	 * low_speed_seconds is cancelled and retried.  0: 1024 B/s, 30 s. */
	unsigned low_speed_bytes;
	unsigned low_speed_seconds;
	unsigned max_attempts;     /* per request, first try included; 0: 6 */
	unsigned retry_base_ms;    /* full-jitter backoff base; 0: 200 */
	unsigned retry_cap_ms;     /* backoff cap; 0: 20000 */
	/* Optional diagnostics sink (e.g. --verbose).  Called from engine
	 * threads, one line at a time, never with secrets or Authorization. */
	void (*log)(const char *line, void *userdata);
	void *log_userdata;        /* BORROWED until hoist_engine_free */
	/* ---- version 2 */
	enum hoist_pinning pinning; /* default HOIST_PINNING_AUTO */
	/* The CPUs the hash workers may use, as a list like "0-3,8" (the
	 * form of /sys/devices/system/cpu/online); COPIED.  NULL: the
	 * affinity mask of the thread calling hoist_engine_new (read there,
	 * even though the workers start later).  With a list the workers
	 * start in hoist_engine_new.  A list the kernel will not run a
	 * worker on (offline CPUs, or outside the process's cpuset) fails
	 * hoist_engine_new with HOIST_E_INVALID_ARG; listed CPUs it cannot
	 * use beside usable ones it drops, as sched_setaffinity(2) does. */
	const char *cpus;
	/* ---- version 3 */
	/* Bytes of data buffers the engine may hold at once, over all its
	 * transfers (the part buffers of streams; see "Streams").  Files are
	 * streamed from their range and need none.  0: 256 MiB. */
	uint64_t memory_limit;
	/* ---- version 4: credentials from a provider ("credentials" above) */
	/* With a provider, access_key_id, access_key_secret and
	 * session_token must be NULL (HOIST_E_INVALID_ARG otherwise). */
	hoist_credentials_fn credentials; /* NULL: the keys above */
	void *credentials_userdata; /* BORROWED until hoist_engine_free */
	/* Ask for new keys this many seconds before they expire.  0: a
	 * quarter of their lifetime, at most 300 s (a 15 min STS token is
	 * renewed at 11 min 15 s, a 1 h one at 55 min).  Too small and a
	 * slow provider lets requests go out with keys about to expire; too
	 * large and it asks for keys the service has not rotated yet. */
	unsigned credentials_refresh_ahead_s;
};
/* Designated in C so that -Wextra (-Wmissing-field-initializers) stays
 * quiet in callers; C++ before C++20 has no designated initializers. */
#ifdef __cplusplus
#define HOIST_ENGINE_OPTIONS_INIT { HOIST_ENGINE_OPTIONS_VERSION }
#else
#define HOIST_ENGINE_OPTIONS_INIT { .version = HOIST_ENGINE_OPTIONS_VERSION }
#endif

struct hoist_engine;
struct hoist_result;

/* Creates an engine: validates options, starts the hash pool and the event
 * loops.  On failure *out is NULL and result (if non-NULL) tells why
 * (status and a one-line message: the option that is wrong). */
HOIST_EXTERN hoist_status hoist_engine_new(struct hoist_engine **out,
					   const struct hoist_engine_options *opts,
					   struct hoist_result *result);
/* Stops the threads and frees the engine.  Transfers still running are
 * cancelled and waited for first; their handles stay valid only to be
 * freed by their owner (hoist_upload_free then only releases memory).
 * Refused (does nothing) from a callback or an engine thread. */
HOIST_EXTERN void hoist_engine_free(struct hoist_engine *engine);

/* ---------------------------------------------------------------- result */

/* How the stored object as a whole was verified (on success).  Values are
 * append-only; the CRC64 ones come first because they are the strongest. */
enum hoist_verify {
	HOIST_VERIFY_NONE = 0,     /* checksums off, or nothing to check with */
	/* Whole-object CRC64 (OSS x-oss-hash-crc64ecma) against the CRC64 the
	 * parts combine to: */
	HOIST_VERIFY_RESPONSE = 1, /* the Complete/Put response header matched */
	HOIST_VERIFY_HEAD = 2,     /* the server omitted it; a HEAD matched */
	/* Every part was verified (its ETag against our MD5, and/or its
	 * checksum header), but nothing the server says about the object as a
	 * whole could be checked: no CRC64, and a final ETag that is not in
	 * the multipart "<md5>-N" form (s3rver, some S3 clones: the plain MD5
	 * of the object).  The upload succeeds; the engine's log says so. */
	HOIST_VERIFY_PARTS = 3,
	/* No CRC64 from the server (S3 stores, or checksum md5), but the
	 * object's ETag matched: the MD5 of a single PUT, or the multipart
	 * ETag ("-N") of the part MD5s we sent, in order. */
	HOIST_VERIFY_ETAG = 4,
	/* Downloads (hoist_download_*): */
	/* The CRC64 of the bytes received, combined over the ranges in order,
	 * equals the object's x-oss-hash-crc64ecma (as HEAD reported it; the
	 * same header on every ranged GET is the whole object's). */
	HOIST_VERIFY_GET_CRC64 = 5,
	/* No CRC64 from the store, but a single-part ETag (an S3 PutObject
	 * without SSE-KMS/SSE-C) equals the MD5 of the bytes received (only
	 * when the object came in one range, whose bytes arrive in order). */
	HOIST_VERIFY_GET_MD5 = 6,
	/* Only the caller's expected_crc64 matched (the store offered no
	 * checksum of its own). */
	HOIST_VERIFY_GET_EXPECTED = 7,
	/* S3: the object's full-object x-amz-checksum-crc64nvme (or -crc32c)
	 * that HEAD gave with x-amz-checksum-mode: ENABLED equals the one the
	 * ranges combine to (a COMPOSITE checksum, "-N", is not checkable). */
	HOIST_VERIFY_GET_S3SUM = 8,
	/* Download, S3: a multipart object ("<md5>-N" ETag, no full-object
	 * checksum) fetched part by part with ?partNumber=K where the store
	 * serves it; MD5(the parts' MD5s) "-N" equals the ETag.  A store that
	 * does not serve parts (Ceph RGW 16.2), parts of unequal sizes, SSE-KMS
	 * or SSE-C (no MD5 ETags) leave it unchecked.  A resumed download is
	 * checked too: the journal keeps each part's MD5 beside its CRC64 (one
	 * whose journal has none, from a run not by parts, is not). */
	HOIST_VERIFY_GET_PARTS_MD5 = 9
};

/* A result is allocated by the caller, filled by the library, and its
 * strings released by hoist_result_cleanup.  `version` says which fields
 * the caller's struct has: the library writes (and cleanup zeroes) only
 * those, so a program built against an older header keeps working with a
 * newer library.  Start from HOIST_RESULT_INIT; a struct zeroed by other
 * means reads as version 1.  Fields are only ever appended, with a new
 * version. */
#define HOIST_RESULT_VERSION 1
struct hoist_result {
	unsigned version;          /* HOIST_RESULT_VERSION */
	hoist_status status;
	long http_status;          /* of the last (or failing) response; 0: none */
	/* Success fields, OWNED. */
	char *request_id;          /* of the final request */
	char *bucket;
	char *key;
	char *location;
	char *etag;                /* with its quotes, as the server sent it */
	char *version_id;
	char *upload_id;           /* multipart only */
	char *encoding_type;
	char *callback_body;       /* the callback server's reply, if any */
	uint64_t crc64;            /* whole-object CRC64 (ECMA), ours */
	int crc64_valid;           /* 1 when crc64 was computed */
	enum hoist_verify verified;
	unsigned parts;            /* 0 for a single PutObject */
	uint64_t part_size;
	uint64_t bytes;            /* object size */
	uint64_t bytes_sent;       /* body bytes sent, retries included */
	unsigned retries;          /* requests re-sent */
	unsigned resumed_parts;    /* parts kept from an earlier run */
	double seconds;            /* wall time of the whole operation */
	double ttfb_seconds;       /* first request sent -> first response byte */
	double part_p50_seconds;   /* part latency percentiles (multipart) */
	double part_p99_seconds;
	/* Failure fields, OWNED. */
	char *error_code;          /* server's <Code>, e.g. "SignatureDoesNotMatch" */
	char *error_message;       /* server's <Message> */
	char *error_request_id;    /* server's request id of the failing request */
	const char *failed_operation; /* static: "UploadPart", "CompleteMultipartUpload", ... */
	unsigned failed_part;      /* 0 if not a part */
	char *message;             /* one line for humans: what, where, code, id */
};

#ifdef __cplusplus
#define HOIST_RESULT_INIT { HOIST_RESULT_VERSION }
#else
#define HOIST_RESULT_INIT { .version = HOIST_RESULT_VERSION }
#endif

/* Releases the OWNED strings and zeroes the fields of r's version (safe on
 * a zeroed one); the version stays, so the struct can be used again. */
HOIST_EXTERN void hoist_result_cleanup(struct hoist_result *r);

/* ---------------------------------------------------------------- upload */

enum hoist_checksum {
	HOIST_CHECKSUM_BOTH = 0,  /* CRC64 checked and Content-MD5 sent (default) */
	HOIST_CHECKSUM_CRC64 = 1, /* CRC64 only: no MD5 computed */
	HOIST_CHECKSUM_MD5 = 2,   /* Content-MD5 and ETag only */
	HOIST_CHECKSUM_NONE = 3
};

enum hoist_io {
	HOIST_IO_PREAD = 0,
	HOIST_IO_MMAP = 1
};

/* Server-side encryption asked for an object (upload options version 6). */
enum hoist_sse {
	HOIST_SSE_NONE = 0,        /* the bucket's default */
	HOIST_SSE_AES256 = 1,      /* store-managed keys (OSS AES256, S3 SSE-S3) */
	HOIST_SSE_KMS = 2          /* KMS (OSS KMS, S3 aws:kms), sse_kms_key_id or the default key */
};

/* How many of `jobs` parts are in flight. */
enum hoist_concurrency {
	/* Like TCP slow start, counted in streams: start at min(jobs, 8)
	 * parts in flight (more when the round trip is long: enough
	 * one-window TCP streams for 4 GB/s), quadruple each round trip
	 * until parts come back, then keep a step only when the finished
	 * parts show it bought throughput; halve on a throttling answer (503
	 * SlowDown, 429, x-oss-qos-delay-time).  Never above jobs.  Too few
	 * streams on a long fat network cost most of the throughput, too
	 * many on a LAN cost little, so it errs toward more: a 30 ms path
	 * gets 64 streams within two round trips. */
	HOIST_CONCURRENCY_ADAPTIVE = 0,
	HOIST_CONCURRENCY_FIXED = 1   /* always jobs parts in flight */
};

/* S3's additional per-request checksum (x-amz-checksum-*), S3 dialect
 * only (an OSS engine refuses it: HOIST_E_INVALID_ARG).  Computed in the
 * same pass as CRC64/MD5 ahead of sending (it is a header), sent as a
 * header (never aws-chunked), and checked against the response's echo when
 * the server sends one (RGW and others ignore them: an absent echo is
 * fine).  The multipart upload is created for it (x-amz-checksum-algorithm)
 * and Complete names each part's value; an object checksum in the
 * Complete answer is compared too.  A mismatch is HOIST_E_CHECKSUM. */
enum hoist_s3_checksum {
	HOIST_S3_CHECKSUM_NONE = 0,      /* default */
	HOIST_S3_CHECKSUM_CRC32C = 1,    /* x-amz-checksum-crc32c */
	HOIST_S3_CHECKSUM_CRC64NVME = 2  /* x-amz-checksum-crc64nvme */
};

/* Progress: transferred of total bytes are done so far, increment of
 * them since the previous call; parts_in_flight requests are on the wire.
 * "Done" counts the bytes of finished parts plus the bytes already sent of
 * parts in flight, so a bar moves smoothly even with few large parts; it
 * never goes backwards (a re-sent part is not counted twice) and reaches
 * total when the upload succeeds.  For a stream, total is what has been
 * read so far (or expected_size while that is larger) until the stream
 * ends.  Called from the upload's event loop thread at most every ~100 ms
 * and once at the end. */
typedef void (*hoist_progress_fn)(uint64_t increment, uint64_t transferred,
				  uint64_t total, unsigned parts_in_flight,
				  void *userdata);

struct hoist_part_info {
	unsigned part_number;
	uint64_t offset;
	uint64_t size;
	long http_status;
	const char *request_id;    /* BORROWED for the callback's duration */
	const char *content_md5;   /* base64, "" when MD5 is off */
	const char *etag;          /* as the server sent it */
	uint64_t crc64;
	unsigned attempts;
	double seconds;
	/* Appended with upload options version 2 (the engine fills the
	 * struct, so a caller built earlier simply does not read these). */
	const char *s3_checksum;   /* the x-amz-checksum-* value sent (base64),
	                              "" when s3_checksum is off; BORROWED */
	int s3_checksum_echoed;    /* 1: the server echoed it back, equal */
};
/* Called once per finished part (for --verbose listings). */
typedef void (*hoist_part_fn)(const struct hoist_part_info *part, void *userdata);

/* Called once when the upload has ended, successfully or not (upload
 * options version 5): from the upload's event loop thread, after its last
 * progress and part callbacks, just before hoist_upload_wait is released
 * (a wait another thread starts once this callback has been called returns
 * as soon as it has returned).  For a caller that runs many uploads at
 * once and must learn which one ended without a thread per upload.  Like every callback, it
 * must not free the upload (refused) nor block. */
typedef void (*hoist_done_fn)(hoist_status status, void *userdata);

/* Version 2 appended concurrency and s3_checksum; a caller built against
 * version 1 (the struct without them) keeps working: its version field
 * says how much of the struct the engine may read. */
#define HOIST_UPLOAD_OPTIONS_VERSION 6
struct hoist_upload_options {
	unsigned version;          /* HOIST_UPLOAD_OPTIONS_VERSION (1 to 6) */
	const char *bucket;        /* required */
	const char *key;           /* required, 1..1023 bytes of UTF-8 */
	uint64_t part_size;        /* 0: 8 MiB; grown to keep <= 10000 parts,
	                              at least 100 KiB (OSS) / 5 MiB (S3) */
	unsigned jobs;             /* parts in flight at most; 0: 64; at most
	                              4096 (see concurrency) */
	enum hoist_checksum checksum;
	enum hoist_io io;
	int complete_all;          /* OSS: x-oss-complete-all: yes, no body */
	int forbid_overwrite;      /* OSS: x-oss-forbid-overwrite: true */
	const char *content_type;  /* NULL: application/octet-stream */
	/* Upload callback (OSS).  callback_url non-NULL enables it. */
	const char *callback_url;
	const char *callback_body;
	const char *callback_host;
	const char *callback_body_type;
	const char *const *callback_vars; /* "x:name=value" each */
	size_t ncallback_vars;
	/* Resume journal (multipart uploads).  checkpoint_dir NULL:
	 * $XDG_CACHE_HOME/hoist or ~/.cache/hoist. */
	const char *checkpoint_dir;
	int no_resume;             /* 1: no journal; abort the upload on failure */
	int restart;               /* 1: abort a journaled upload and start anew */
	hoist_progress_fn progress;
	hoist_part_fn on_part;
	void *userdata;            /* BORROWED until the upload is freed */
	/* ---- version 2 */
	enum hoist_concurrency concurrency; /* default adaptive */
	enum hoist_s3_checksum s3_checksum; /* default none; S3 dialect only */
	/* ---- version 3: streams (hoist_upload_stream_start / _writer_start) */
	/* About how many bytes the stream will have (0: unknown): parts are
	 * planned for it, and a size the memory budget cannot carry is
	 * refused at start (see "Streams" below).  Ignored for files. */
	uint64_t expected_size;
	/* At most this many bytes of the engine's memory budget for this
	 * upload's part buffers (0: no cap of its own). */
	uint64_t memory_limit;
	/* ---- version 4: a share of an upload driven elsewhere ("Shares") */
	/* The id of a multipart upload another process made with
	 * hoist_initiate_upload (COPIED); NULL: an upload of its own.  With
	 * it, a file start uploads only parts first_part (1-based) to
	 * first_part + part_count - 1 (part_count 0: to the last part). */
	const char *upload_id;
	unsigned first_part;
	unsigned part_count;
	/* ---- version 5: many uploads at once (hoist cp -r) */
	hoist_done_fn on_done;     /* NULL: none; userdata is passed to it */
	/* ---- version 6: object options, sent with PutObject or
	 * InitiateMultipartUpload (not by a share: see "Shares") */
	/* User metadata: nmetadata "NAME=VALUE" strings (COPIED), sent as
	 * x-oss-meta-NAME (S3: x-amz-meta-NAME).  NAME: ASCII letters, digits,
	 * '-' and '_'; VALUE: printable ASCII (HOIST_E_INVALID_ARG otherwise). */
	const char *const *metadata;
	size_t nmetadata;
	/* x-oss-storage-class / x-amz-storage-class as given ("IA",
	 * "Archive", "STANDARD_IA" ...); NULL: the bucket's default. */
	const char *storage_class;
	enum hoist_sse sse;        /* default HOIST_SSE_NONE */
	const char *sse_kms_key_id; /* with HOIST_SSE_KMS only; NULL: the default key */
};
#ifdef __cplusplus
#define HOIST_UPLOAD_OPTIONS_INIT { HOIST_UPLOAD_OPTIONS_VERSION }
#else
#define HOIST_UPLOAD_OPTIONS_INIT { .version = HOIST_UPLOAD_OPTIONS_VERSION }
#endif

struct hoist_upload;

/* Starts uploading the file at path (opened by the engine, closed when the
 * upload is freed).  Returns at once; the upload runs on engine threads.
 * On failure *out is NULL and result (if non-NULL) tells why; on success
 * result is not touched (hoist_upload_wait fills it). */
HOIST_EXTERN hoist_status hoist_upload_file_start(struct hoist_upload **out,
						  struct hoist_engine *engine,
						  const char *path,
						  const struct hoist_upload_options *opts,
						  struct hoist_result *result);
/* Same for an open, seekable descriptor: BORROWED until the upload is freed;
 * the engine reads it with pread/mmap and never moves its offset. */
HOIST_EXTERN hoist_status hoist_upload_fd_start(struct hoist_upload **out,
						struct hoist_engine *engine, int fd,
						const struct hoist_upload_options *opts,
						struct hoist_result *result);
/* Blocks until the upload ends; fills result (the fields of its version;
 * the caller then releases it with hoist_result_cleanup) and returns the
 * upload's status.  A second wait returns the status again and fills only
 * result->status.  HOIST_E_INVALID_ARG from an engine thread (it would
 * wait for itself). */
HOIST_EXTERN hoist_status hoist_upload_wait(struct hoist_upload *u,
					    struct hoist_result *result);
/* Asks the upload to stop, and returns at once (the upload ends soon
 * after, with HOIST_E_CANCELLED unless it had already finished).
 * Async-signal-safe: callable from any thread and from a signal handler;
 * calling it again, or on a finished upload, does nothing.  The multipart
 * upload is kept for resume (or aborted with no_resume).  Must not race
 * hoist_upload_free of the same handle. */
HOIST_EXTERN void hoist_upload_cancel(struct hoist_upload *u);
/* Frees an upload: waits for it if still running (cancel first to make
 * that quick), closes its file.  Refused (does nothing) from a callback or
 * an engine thread. */
HOIST_EXTERN void hoist_upload_free(struct hoist_upload *u);

/* ---------------------------------------------------------------- streams
 *
 * A stream has no length known in advance (a pipe, a tar, a database
 * dump).  Its bytes are held in part buffers reserved against the engine's
 * memory budget (hoist_engine_options.memory_limit, 256 MiB by default,
 * shared by every transfer of the engine; upload option memory_limit caps
 * one upload's share): a buffer is filled, hashed, sent, and released only
 * when its part is verified, so a retry re-sends from memory and nothing
 * is lost.  Parts in flight are at most budget / part size, so the budget
 * caps throughput at about that many times the rate of one connection (on
 * a 30 ms / 25 MB/s path, 32 parts of 8 MiB in flight carry ~800 MB/s).
 *
 * Part sizes grow with the part number (blocks of 1,000 parts, doubling
 * from 8 MiB up to budget / 2, at most 5 GiB), which bounds the largest
 * stream a budget can carry without an expected_size:
 *
 *   memory budget   largest part   largest stream   parts in flight (8 MiB)
 *   64 MiB          32 MiB         273 GiB          8
 *   256 MiB         128 MiB        867 GiB          32
 *   1 GiB           512 MiB        2.4 TiB          128
 *   10 GiB          5 GiB          7.8 TiB          1280
 *
 * With expected_size the first parts are made large enough that 10,000
 * parts carry it (48.8 TiB, 10,000 x 5 GiB, needs a 10 GiB budget); a size
 * the budget cannot carry fails the start with HOIST_E_INVALID_ARG and one
 * line naming the memory_limit it needs.  A stream that outgrows what its
 * plan carries fails with HOIST_E_IO naming --expected-size and
 * --memory-limit, aborting its multipart upload.  A stream that ends
 * within its first part goes as one PutObject; an empty one makes a
 * 0-byte object.
 *
 * A stream cannot be read again, so it is never resumed: on a failure or a
 * cancel its multipart upload is aborted (as with no_resume).  Its upload
 * id is still journaled before the first part, so that after a SIGKILL the
 * next upload of the same key (or hoist_list_uploads / hoist_abort_upload)
 * finds it rather than leaving billed parts behind.
 */

/* Pull: fills buf with up to len bytes and returns how many (> 0), 0 at
 * the end, or a negative errno value on an error (the upload then fails
 * with HOIST_E_IO, aborted).  Never called with len 0, never two calls at
 * a time. */
typedef int64_t (*hoist_read_fn)(void *buf, size_t len, void *userdata);

/* Starts uploading what read returns.  read is called from a thread of
 * this upload's own ("hoist-read": never a hash worker or an event loop,
 * so a slow producer stalls nothing else), from after this call returns
 * until it returns 0 or an error, or the upload stops.  read_userdata is
 * BORROWED until the upload is freed.  Cancel: hoist_upload_cancel stops
 * the upload at once, but a read that blocks is not interrupted: the
 * thread is joined when the upload is freed, so make read return (close
 * the pipe, return an error) after cancelling.  opts->io is ignored.
 * Returns and fills result as hoist_upload_file_start. */
HOIST_EXTERN hoist_status hoist_upload_stream_start(struct hoist_upload **out,
						    struct hoist_engine *engine,
						    hoist_read_fn read, void *read_userdata,
						    const struct hoist_upload_options *opts,
						    struct hoist_result *result);
/* Push: starts an upload fed by hoist_upload_write from the caller's
 * thread and ended by hoist_upload_close; then hoist_upload_wait. */
HOIST_EXTERN hoist_status hoist_upload_writer_start(struct hoist_upload **out,
						    struct hoist_engine *engine,
						    const struct hoist_upload_options *opts,
						    struct hoist_result *result);
/* Copies len bytes into the upload's part buffers, blocking while the
 * memory budget is full (backpressure: nothing queues beyond the budget).
 * HOIST_OK, or at once the failure that stopped the upload (what
 * hoist_upload_wait will return; HOIST_E_CANCELLED after a cancel, which
 * also releases a write that is blocked).  One writer thread at a time;
 * HOIST_E_INVALID_ARG on an upload that is not a writer or is closed. */
HOIST_EXTERN hoist_status hoist_upload_write(struct hoist_upload *u, const void *buf,
					     size_t len);
/* Marks the end of the written bytes.  HOIST_OK, or the failure. */
HOIST_EXTERN hoist_status hoist_upload_close(struct hoist_upload *u);

/* Convenience: start + wait + free. */
HOIST_EXTERN hoist_status hoist_upload_file(struct hoist_engine *engine,
					    const char *path,
					    const struct hoist_upload_options *opts,
					    struct hoist_result *result);

/* -------------------------------------------------------------- download
 *
 * A download reads one object into a file, a descriptor or an ordered
 * callback: a HEAD (size, ETag, CRC64, version id), then the object in
 * ranges of part_size bytes fetched by parallel ranged GETs on the
 * engine's event loops, with the adaptive concurrency of uploads.  Every
 * GET carries If-Match on the HEAD's ETag (and versionId when pinned or
 * reported), so an object replaced during the download fails it with
 * HOIST_E_SOURCE_CHANGED instead of mixing two versions; every answer
 * must be 206 with the Content-Range asked for (OSS is sent
 * x-oss-range-behavior: standard, without which it answers an invalid
 * range with the whole object).  A 0-byte object is one plain GET.  An
 * archived object (403 InvalidObjectState) fails at once (HOIST_E_AUTH,
 * one line naming the code).
 *
 * The CRC64 of every range is computed as its bytes arrive, combined in
 * order, and compared with the object's x-oss-hash-crc64ecma; a mismatch
 * is HOIST_E_CHECKSUM and nothing is re-fetched (a file target is left as
 * it was).  result->verified says which check was made (the
 * HOIST_VERIFY_GET_* values, or NONE when the store offered nothing to
 * check against: S3 multipart objects, objects copied without a CRC64).
 * A range whose transfer breaks is re-fetched from the first byte not yet
 * received, with the retry policy of uploads.
 *
 * Writes run on a writer thread per download, not on an event loop: it
 * pwrite()s chunks of a few hundred KiB at their offsets (no range-sized
 * buffer), and a request whose bytes cannot be buffered is paused until
 * the writer catches up.  A file target of at most 1 MiB whose size the
 * caller knew (known_set, no resume) has no writer: the event loop
 * pwrite()s its bytes as they arrive (at most 128 KiB at a time; a thread
 * per small file cost more than its transfer), so on a slow disk such
 * downloads stall the engine's other transfers one write at a time.  A
 * file target is written to a temporary file beside it
 * (".NAME.hoist-PID-N", preallocated), which hoist_download_wait fsyncs
 * and renames over the target (then fsyncs the directory) only
 * after every check passed: the target is either the old file or the
 * whole verified object, never a partial one.  A local write error
 * (ENOSPC, EFBIG) is HOIST_E_IO with the path and errno in the message;
 * the temporary file is removed.
 */

/* Ordered sink: called with the object's bytes in order, from the
 * download's writer thread ("hoist-write"; never an event loop), one call
 * at a time.  Returns 0, or a negative errno value (the download then
 * fails with HOIST_E_IO). */
typedef int (*hoist_write_fn)(const void *buf, size_t len, void *userdata);

#define HOIST_DOWNLOAD_OPTIONS_VERSION 3
struct hoist_download_options {
	unsigned version;          /* HOIST_DOWNLOAD_OPTIONS_VERSION */
	const char *bucket;        /* required */
	const char *key;           /* required, 1..1023 bytes */
	const char *version_id;    /* NULL: the current version */
	uint64_t part_size;        /* range size; 0: 8 MiB; grown to keep at
	                              most 100,000 ranges */
	unsigned jobs;             /* ranges in flight at most; 0: 64; <= 4096 */
	enum hoist_concurrency concurrency; /* default adaptive */
	/* NONE: no CRC64 computed or checked; any other value: CRC64. */
	enum hoist_checksum checksum;
	/* The caller's own catalogue: the object must have this size / CRC64
	 * (HOIST_E_CHECKSUM otherwise, before the target is touched). */
	uint64_t expected_size;
	int expected_size_set;
	uint64_t expected_crc64;
	int expected_crc64_set;
	/* 1: fail (HOIST_E_CHECKSUM) a download that could not be verified
	 * end to end (verified would be HOIST_VERIFY_NONE). */
	int require_verified;
	/* Ordered sinks: the most bytes held ahead of the write point
	 * (reserved against the engine's memory_limit); 0: no cap of its own. */
	uint64_t memory_limit;
	/* Resume (file targets): a journal of the ranges whose bytes are
	 * durable in the temporary file is kept beside it
	 * (".NAME.hoist-journal"; a range is journaled only after an
	 * fdatasync).  A download that fails for a reason a retry may cure
	 * (network, server, local I/O, cancel) keeps both, and the next
	 * download to the same path continues if HEAD still describes the
	 * same object (size, ETag, version) and the range size is the same:
	 * result->resumed_parts ranges are not fetched again.  A failure that
	 * a rerun cannot cure (checksum, the object changed, not found)
	 * removes them. */
	int no_resume;             /* 1: no journal; remove everything on failure */
	int restart;               /* 1: ignore what an earlier run left */
	hoist_progress_fn progress; /* as for uploads; "parts" are ranges */
	hoist_part_fn on_part;     /* once per finished range */
	void *userdata;            /* BORROWED until the download is freed */
	/* Version 2.  1: a file target is renamed into place without the
	 * fsync of the file and of its directory (the bytes are still
	 * verified first), for a caller that makes many files durable at
	 * once (cp -r: one syncfs at the end).  0 (default): durable on
	 * return from hoist_download_wait. */
	int no_sync;
	/* ---- version 3: many downloads at once (hoist cp -r) */
	/* What a listing said of the object (known_etag COPIED, with its
	 * quotes as listed).  With known_set, an object of one range (size at
	 * most the range size) is fetched without a HEAD: its GET carries
	 * If-Match on known_etag, its answer must be 206 with a Content-Range
	 * total of known_size (a 0-byte object: 200 with no body) and the
	 * same ETag, and its own headers give the CRC64 (checked as after a
	 * HEAD), the version id and the encryption.  A larger object is
	 * HEADed as before, and the HEAD must agree with both.  An object
	 * replaced since it was listed fails with HOIST_E_SOURCE_CHANGED and
	 * the target is left as it was. */
	uint64_t known_size;
	const char *known_etag;
	int known_set;
	/* As for uploads (hoist_done_fn): called once from the download's
	 * event loop thread when the transfer has ended, before
	 * hoist_download_wait is released; the caller still calls
	 * hoist_download_wait (which then does not block on the network, and
	 * commits a file target) and hoist_download_free, on its own thread. */
	hoist_done_fn on_done;     /* NULL: none; userdata is passed to it */
};
#ifdef __cplusplus
#define HOIST_DOWNLOAD_OPTIONS_INIT { HOIST_DOWNLOAD_OPTIONS_VERSION }
#else
#define HOIST_DOWNLOAD_OPTIONS_INIT { .version = HOIST_DOWNLOAD_OPTIONS_VERSION }
#endif

struct hoist_download;

/* Starts downloading into path (replaced only by a complete, verified
 * object; see above).  Returns at once; on failure *out is NULL and
 * result tells why (a temporary that cannot be created beside path fails
 * here, HOIST_E_IO). */
HOIST_EXTERN hoist_status hoist_download_file_start(struct hoist_download **out,
						    struct hoist_engine *engine,
						    const char *path,
						    const struct hoist_download_options *opts,
						    struct hoist_result *result);
/* Into a seekable descriptor (BORROWED until the download is freed),
 * written at the object's offsets and fsynced by hoist_download_wait; it
 * is not truncated or preallocated, and holds partial bytes on failure. */
HOIST_EXTERN hoist_status hoist_download_fd_start(struct hoist_download **out,
						  struct hoist_engine *engine, int fd,
						  const struct hoist_download_options *opts,
						  struct hoist_result *result);
/* Into write, in order (standard output, a pipe, a hash).  Bytes are
 * handed over before the object's CRC64 is checked (a stream cannot wait
 * for the end): a failed check is reported by hoist_download_wait. */
HOIST_EXTERN hoist_status hoist_download_writer_start(struct hoist_download **out,
						      struct hoist_engine *engine,
						      hoist_write_fn write, void *write_userdata,
						      const struct hoist_download_options *opts,
						      struct hoist_result *result);
/* Blocks until the download ends, makes a file target durable (fsync,
 * rename, fsync of the directory) or removes its temporary file, fills
 * result (etag, version_id, bytes, crc64, verified, parts = ranges,
 * part_size, retries, seconds) and returns the status.  As
 * hoist_upload_wait otherwise. */
HOIST_EXTERN hoist_status hoist_download_wait(struct hoist_download *d,
					      struct hoist_result *result);
/* As hoist_upload_cancel: async-signal-safe. */
HOIST_EXTERN void hoist_download_cancel(struct hoist_download *d);
/* Waits if still running (the temporary file is removed unless
 * hoist_download_wait committed it), frees.  Refused from a callback or
 * an engine thread. */
HOIST_EXTERN void hoist_download_free(struct hoist_download *d);

/* ------------------------------------------------ multipart housekeeping */

/* AbortMultipartUpload.  Blocking. */
HOIST_EXTERN hoist_status hoist_abort_upload(struct hoist_engine *engine,
					     const char *bucket, const char *key,
					     const char *upload_id,
					     struct hoist_result *result);

/* Listings are opaque: entries are reached through the accessors, so an
 * entry struct can grow (fields appended) without breaking callers. */
struct hoist_part_entry {
	unsigned part_number;
	uint64_t size;
	char *etag;                /* OWNED by the list */
	uint64_t crc64;
	int crc64_valid;
	char *last_modified;       /* OWNED by the list */
};
struct hoist_part_list;
/* ListParts, following IsTruncated to the end.  Blocking.  *out is OWNED by
 * the caller and freed with hoist_part_list_free. */
HOIST_EXTERN hoist_status hoist_list_parts(struct hoist_engine *engine,
					   const char *bucket, const char *key,
					   const char *upload_id,
					   struct hoist_part_list **out,
					   struct hoist_result *result);
/* Entries in ascending part number: count, and entry i (0-based; NULL out
 * of range), BORROWED until the list is freed. */
HOIST_EXTERN size_t hoist_part_list_count(const struct hoist_part_list *list);
HOIST_EXTERN const struct hoist_part_entry *hoist_part_list_get(const struct hoist_part_list *list,
								size_t i);
HOIST_EXTERN void hoist_part_list_free(struct hoist_part_list *list);

struct hoist_upload_entry {
	char *key;                 /* OWNED by the list, decoded */
	char *upload_id;
	char *initiated;     /* "2026-12-03T07:34:33.000Z", as the server says */
};
struct hoist_upload_list;
/* ListMultipartUploads under prefix (NULL: all), following markers. */
HOIST_EXTERN hoist_status hoist_list_uploads(struct hoist_engine *engine,
					     const char *bucket, const char *prefix,
					     struct hoist_upload_list **out,
					     struct hoist_result *result);
HOIST_EXTERN size_t hoist_upload_list_count(const struct hoist_upload_list *list);
HOIST_EXTERN const struct hoist_upload_entry *hoist_upload_list_get(const struct hoist_upload_list *list,
								    size_t i);
HOIST_EXTERN void hoist_upload_list_free(struct hoist_upload_list *list);

/* ---------------------------------------------------------------- shares
 *
 * One multipart upload split across processes or hosts (hoist-mpi, a
 * Slurm array, Spark executors), each with an engine of its own:
 *
 *  1. One of them calls hoist_initiate_upload (result->upload_id).
 *  2. Each uploads its share: hoist_upload_file_start with upload_id,
 *     first_part and part_count set, and the same part_size everywhere
 *     (the plan is a function of the file's size and part_size:
 *     hoist_plan_parts).  A share first lists the upload's parts and keeps
 *     those whose bytes, hashed again here, match what the server holds,
 *     so rerunning a share after a crash sends only what is missing.  A
 *     share never completes, never journals and never aborts the upload
 *     on failure: that is the driver's call.  After hoist_upload_wait,
 *     hoist_upload_parts gives the share's parts.
 *  3. The parts of every share are gathered (hoist_part_list_new / _add)
 *     and one process calls hoist_complete_upload, which completes with
 *     that list and checks the server's whole-object CRC64 against the
 *     parts' CRC64s combined in order, exactly as a whole upload does.
 *
 * The S3 additional checksums (s3_checksum) and upload callbacks are not
 * available to shares (HOIST_E_INVALID_ARG): Complete would have to name
 * what the shares computed.
 */

/* InitiateMultipartUpload for opts->bucket / opts->key (content_type,
 * forbid_overwrite apply).  Blocking.  result->upload_id gets the id. */
HOIST_EXTERN hoist_status hoist_initiate_upload(struct hoist_engine *engine,
						const struct hoist_upload_options *opts,
						struct hoist_result *result);
/* The parts a finished share uploaded or kept (ascending numbers, every
 * one with its ETag and, when checksums are on, its CRC64).  *out is
 * OWNED by the caller (hoist_part_list_free).  HOIST_E_INVALID_ARG when u
 * is not a share or has not finished successfully. */
HOIST_EXTERN hoist_status hoist_upload_parts(struct hoist_upload *u,
					     struct hoist_part_list **out);
/* An empty list to gather parts into (NULL: out of memory). */
HOIST_EXTERN struct hoist_part_list *hoist_part_list_new(void);
/* Appends a part (etag COPIED).  Any order; hoist_complete_upload sorts. */
HOIST_EXTERN hoist_status hoist_part_list_add(struct hoist_part_list *list,
					      unsigned part_number, uint64_t size,
					      const char *etag, uint64_t crc64,
					      int crc64_valid);
/* CompleteMultipartUpload of opts->bucket / opts->key with parts, which
 * must be numbered 1..N without a gap or a repeat.  Blocking.  When every
 * part has its CRC64, the object's is checked against them combined
 * (result->verified, crc64); a mismatch is HOIST_E_CHECKSUM.
 * result->bytes is the sum of the parts' sizes. */
HOIST_EXTERN hoist_status hoist_complete_upload(struct hoist_engine *engine,
						const struct hoist_upload_options *opts,
						const char *upload_id,
						const struct hoist_part_list *parts,
						struct hoist_result *result);

/* ----------------------------------------------------------------- pacer */

/* How many transfers of a batch (a tree's files) to run at once, decided
 * the way an upload decides its parts in flight (the adaptive limit): it
 * starts at 8 slots (more on a path whose round trip is known to be long),
 * quadruples while each transfer's goodput holds, keeps a step only when
 * it bought goodput, probes upward now and then and halves when the
 * server throttles.  On a LAN the batch stays narrow (64 transfers of
 * 1 MiB in flight touch 64 MiB of buffers for no more throughput than 8);
 * on a long fat path it widens to max_slots.  A transfer takes slots (a
 * multipart one may take several).  Pure bookkeeping: it starts nothing.
 * Threading: one thread at a time per pacer (the caller's lock otherwise). */
struct hoist_pacer;
/* max_slots >= 1: never exceeded; fixed: the limit is max_slots, always.
 * *out is OWNED by the caller (hoist_pacer_free). */
HOIST_EXTERN hoist_status hoist_pacer_new(struct hoist_pacer **out, unsigned max_slots,
					  int fixed);
HOIST_EXTERN void hoist_pacer_free(struct hoist_pacer *p);
/* 1 when a transfer of `slots` may start now: it fits under the limit, or
 * nothing is in flight (a transfer wider than the limit runs alone).
 * Each call also samples the slots in use, which paces the start: call it
 * whenever the caller wakes, not only when a transfer ends. */
HOIST_EXTERN int hoist_pacer_may_start(struct hoist_pacer *p, unsigned slots);
/* A transfer of `slots` starts.  Returns the ticket for hoist_pacer_done. */
HOIST_EXTERN unsigned hoist_pacer_start(struct hoist_pacer *p, unsigned slots);
/* It ended after `seconds`, having moved `bytes` of body; ok 0 (a failure)
 * gives the slots back and counts as no evidence. */
HOIST_EXTERN void hoist_pacer_done(struct hoist_pacer *p, unsigned ticket, unsigned slots,
				   uint64_t bytes, double seconds, int ok);
/* A bodiless round trip took `seconds` (a listing page, a HEAD): a long
 * one starts the batch wider, as an upload's Initiate does its parts. */
HOIST_EXTERN void hoist_pacer_round_trip(struct hoist_pacer *p, double seconds);
/* The server asked to slow down (HOIST_E_THROTTLED, 503 SlowDown). */
HOIST_EXTERN void hoist_pacer_throttled(struct hoist_pacer *p);
/* Slots allowed now (1..max_slots). */
HOIST_EXTERN unsigned hoist_pacer_limit(const struct hoist_pacer *p);

/* --------------------------------------------------------------- helpers */

/* CRC-64/XZ as OSS computes it (x-oss-hash-crc64ecma): update(prev, ...)
 * from prev = 0, and the combine of two CRCs. */
HOIST_EXTERN uint64_t hoist_crc64(uint64_t crc, const void *buf, size_t len);
HOIST_EXTERN uint64_t hoist_crc64_combine(uint64_t crc_a, uint64_t crc_b,
					  uint64_t len_b);

/* The MD5 code path the hash threads of every engine in this process use:
 * "avx512" (32 parts per pass, AVX512F/BW/VL), "avx2" (16 parts per pass)
 * or "scalar" (one part at a time, OpenSSL).  Chosen once per process from
 * CPUID, the widest the CPU has, unless the environment variable HOIST_MD5
 * names one.  NULL when HOIST_MD5 names a path this CPU lacks (or no path
 * at all): then hoist_engine_new fails with HOIST_E_INVALID_ARG and a line
 * that says so.  The string is static; any thread. */
HOIST_EXTERN const char *hoist_md5_impl(void);

/* The part size an upload of `size` bytes will use given a requested part
 * size (0: default) and dialect; *nparts gets the part count (0 for an
 * object sent by a single PutObject). */
HOIST_EXTERN hoist_status hoist_plan_parts(uint64_t size, uint64_t requested,
					   enum hoist_dialect dialect,
					   uint64_t *part_size, unsigned *nparts);

/* -------------------------------------------------- objects in a bucket
 *
 * What is already stored, for callers that compare a local tree with a
 * bucket (hoist cp -r --skip-existing).  Blocking, on the caller's thread,
 * with the engine's retry policy; HOIST_E_INVALID_ARG from an engine
 * thread.
 */

#define HOIST_LIST_OPTIONS_VERSION 2
struct hoist_list_options {
	unsigned version;          /* HOIST_LIST_OPTIONS_VERSION */
	const char *bucket;        /* required */
	const char *prefix;        /* NULL or "": every key */
	const char *start_after;   /* NULL: from the first key */
	unsigned page_size;        /* keys per ListObjectsV2 page; 0: 1000 (the most) */
	/* Version 2. */
	const char *delimiter;     /* NULL or "": none (every key under prefix); "/":
	                              one level, the deeper keys rolled up into
	                              entries with is_prefix set */
};
#ifdef __cplusplus
#define HOIST_LIST_OPTIONS_INIT { HOIST_LIST_OPTIONS_VERSION }
#else
#define HOIST_LIST_OPTIONS_INIT { .version = HOIST_LIST_OPTIONS_VERSION }
#endif

/* One listed object.  Listings carry no CRC64; on S3 the ETag of a
 * single-part upload is the MD5 of the object, a multipart one ("-N")
 * is not an MD5 of anything. */
struct hoist_object_entry {
	const char *key;           /* decoded (but see key_has_nul) */
	uint64_t size;
	int64_t mtime;             /* LastModified in Unix seconds; 0: unreadable */
	const char *last_modified; /* as the server wrote it */
	const char *etag;          /* with its quotes, as sent; "" when absent */
	const char *storage_class; /* "" when absent */
	int is_prefix;             /* 1: a common prefix (a listing with a delimiter):
	                              key ends in the delimiter, size 0, no ETag */
	/* 1: the key holds a NUL byte (%00 in a url-encoded listing; S3
	 * allows any UTF-8), which a C string cannot carry.  key is then the
	 * key as the listing encoded it ("a%00b", RFC 3986), for showing
	 * only: never a file name, never a request's key (it would name
	 * another object). */
	int key_has_nul;
};

struct hoist_object_lister;
/* A listing of the keys under opts->prefix in ascending byte order of
 * their UTF-8 (the order OSS and S3 list in: "a-b" before "a/b").  Nothing
 * is sent yet.  *out is OWNED by the caller (hoist_object_lister_free). */
HOIST_EXTERN hoist_status hoist_object_lister_new(struct hoist_object_lister **out,
						  struct hoist_engine *engine,
						  const struct hoist_list_options *opts,
						  struct hoist_result *result);
/* The next object: *entry is BORROWED until the next call or the free, and
 * NULL (with HOIST_OK) at the end.  Fetches a page (ListObjectsV2, with
 * encoding-type=url) when the last one is used up, so the listing holds
 * one page in memory whatever its length.  A listing whose keys do not
 * ascend fails with HOIST_E_SERVER, as does an unreadable page; after a
 * failure the lister returns the end. */
HOIST_EXTERN hoist_status hoist_object_lister_next(struct hoist_object_lister *lister,
						   const struct hoist_object_entry **entry,
						   struct hoist_result *result);
HOIST_EXTERN void hoist_object_lister_free(struct hoist_object_lister *lister);

/* HEAD of one object: on HOIST_OK result->bytes is its size,
 * result->etag its ETag, result->crc64 / crc64_valid the server's CRC64
 * (OSS; S3 stores send none), result->version_id when versioned.  A
 * missing object is HOIST_E_NOT_FOUND. */
HOIST_EXTERN hoist_status hoist_head_object(struct hoist_engine *engine, const char *bucket,
					    const char *key, struct hoist_result *result);

/* What a HEAD says of one object, for hoist_stat_object.  The caller
 * sets version (HOIST_OBJECT_INFO_INIT); the library fills the fields of
 * that version.  Strings are OWNED by the struct (NULL when the server
 * sent none): release with hoist_object_info_cleanup. */
#define HOIST_OBJECT_INFO_VERSION 1
struct hoist_object_info {
	unsigned version;          /* HOIST_OBJECT_INFO_VERSION */
	uint64_t size;
	char *etag;                /* with its quotes */
	uint64_t crc64;            /* x-oss-hash-crc64ecma (OSS; S3 sends none) */
	int crc64_valid;
	char *content_type;
	char *last_modified;       /* as sent: "Thu, 03 Dec 2026 07:34:33 GMT" */
	char *storage_class;       /* NULL: not said (S3 omits STANDARD) */
	char *version_id;          /* versioned buckets only */
};
#ifdef __cplusplus
#define HOIST_OBJECT_INFO_INIT { HOIST_OBJECT_INFO_VERSION }
#else
#define HOIST_OBJECT_INFO_INIT { .version = HOIST_OBJECT_INFO_VERSION }
#endif

/* HEAD of one object into *info (which it cleans first).  A missing
 * object is HOIST_E_NOT_FOUND.  Blocking, as hoist_head_object. */
HOIST_EXTERN hoist_status hoist_stat_object(struct hoist_engine *engine, const char *bucket,
					    const char *key, struct hoist_object_info *info,
					    struct hoist_result *result);
HOIST_EXTERN void hoist_object_info_cleanup(struct hoist_object_info *info);

/* Deleting many objects: DeleteMultipleObjects (POST ?delete, quiet mode,
 * Content-MD5), batch keys a request.  A key that does not exist counts as
 * deleted (OSS and S3 say so). */
#define HOIST_DELETE_OPTIONS_VERSION 1
struct hoist_delete_options {
	unsigned version;          /* HOIST_DELETE_OPTIONS_VERSION */
	const char *bucket;        /* required */
	const char *const *keys;   /* BORROWED for the call; count of them */
	size_t count;
	hoist_status *key_status;  /* NULL, or count statuses the call writes:
	                              HOIST_OK deleted, else why not */
	unsigned batch;            /* keys per request; 0: 1000 (the most) */
};
#ifdef __cplusplus
#define HOIST_DELETE_OPTIONS_INIT { HOIST_DELETE_OPTIONS_VERSION }
#else
#define HOIST_DELETE_OPTIONS_INIT { .version = HOIST_DELETE_OPTIONS_VERSION }
#endif

/* Deletes opts->keys, in batches, on the caller's thread.  HOIST_OK when
 * every key is gone.  Otherwise the status of the first key that was not
 * deleted, result->key naming it and result->error_code / message the
 * server's reason; *deleted (if non-NULL) counts the keys that were.  A
 * request that fails as a whole (auth, network after retries) stops the
 * call: its keys and the later ones get its status. */
HOIST_EXTERN hoist_status hoist_delete_objects(struct hoist_engine *engine,
					       const struct hoist_delete_options *opts,
					       size_t *deleted, struct hoist_result *result);

/* -------------------------------------------------------------- versions
 *
 * What each version of a versioned struct added.  A caller sets `version`
 * to the version its header knew (the *_INIT macros do); the library reads
 * (options) or writes (results) only the fields of that version.
 *
 *   struct                  version  added
 *   hoist_engine_options    1        dialect .. log_userdata
 *                           2        pinning, cpus
 *                           3        memory_limit
 *                           4        credentials, credentials_userdata,
 *                                    credentials_refresh_ahead_s
 *   hoist_upload_options    1        bucket .. userdata
 *                           2        concurrency, s3_checksum
 *                           3        expected_size, memory_limit
 *                           4        upload_id, first_part, part_count
 *                           5        on_done
 *                           6        metadata, nmetadata, storage_class, sse,
 *                                    sse_kms_key_id
 *   hoist_result            1        version .. message
 *   hoist_download_options  1        version .. userdata
 *                           2        no_sync
 *                           3        known_size, known_etag, known_set,
 *                                    on_done
 *   hoist_list_options      1        bucket .. page_size
 *                           2        delimiter
 *   hoist_object_info       1        version .. version_id
 *   hoist_delete_options    1        version .. batch
 *
 * Structs the library fills and hands out by pointer (hoist_part_info,
 * hoist_part_entry, hoist_upload_entry, hoist_object_entry: is_prefix, then key_has_nul
 * were appended) carry no version: fields are only
 * appended, and a caller built earlier simply does not read the new ones.
 */

#ifdef __cplusplus
}
#endif

#endif /* HOIST_H */
