/*
 * engine.h - the engine object shared by every engine file (private).
 *
 * Owns: struct hoist_engine, the configuration resolved from
 * hoist_engine_options (defaults applied, strings copied), the threads
 * (hash pool, event loops), the curl share handle, the clock offset learnt
 * from RequestTimeTooSkewed, and the list of live uploads.
 *
 * Threading: `conf` is immutable after hoist_engine_new and read from every
 * thread; `clock_offset` and `next_loop` are atomics; `synced` is guarded by
 * `lock`.
 */
#ifndef HOIST_ENGINE_H
#define HOIST_ENGINE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "hoist.h"

struct topo;
struct hashpool;
struct loop;
struct hoist_upload;

/* An endpoint split once at engine creation, so that URL building is string
 * concatenation of parts curl's URL parser already validated. */
struct endpoint {
	char *scheme;    /* "http" or "https" */
	char *host;      /* as in a URL: "1.2.3.4", "[::1]", "oss-cn-hangzhou.aliyuncs.com" */
	char *port;      /* NULL when the URL gave none */
	int is_ip;       /* literal IPv4/IPv6 address, or localhost: path style */
};

struct engine_conf {
	enum hoist_dialect dialect;
	struct endpoint ep;
	char *endpoint_url;        /* canonical "scheme://host[:port]", for the journal */
	char *region;
	char *ak;                  /* NULL: anonymous */
	char *sk;
	char *token;
	enum hoist_signature signature; /* resolved: V1 or V4 */
	int path_style;            /* resolved from addressing and is_ip */
	unsigned hash_threads;     /* resolved (>= 1) */
	unsigned io_threads;
	unsigned max_connections;
	int insecure;
	char *ca_file;
	unsigned connect_timeout_ms;
	unsigned low_speed_bytes;
	unsigned low_speed_seconds;
	unsigned max_attempts;
	unsigned retry_base_ms;
	unsigned retry_cap_ms;
	void (*log)(const char *line, void *userdata);
	void *log_userdata;
};

struct hoist_engine {
	/* Immutable after hoist_engine_new. */
	struct engine_conf conf;
	struct topo *topo;
	struct hashpool *pool;
	struct loop **loops;
	unsigned nloops;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

	/* Seconds to add to the local clock when signing; set when a server
	 * says RequestTimeTooSkewed.  Relaxed: any recent value is fine, the
	 * next signature simply uses it. */
	_Atomic int64_t clock_offset;
	/* Round-robin choice of the loop that owns a new upload. */
	_Atomic unsigned next_loop;

	/* Synced: guarded by lock. */
	pthread_mutex_t lock;
	struct {
		struct hoist_upload *uploads; /* live uploads, for hoist_engine_free */
	} synced;
};

/* Now as Unix seconds, corrected by the learnt clock offset. */
int64_t engine_now(struct hoist_engine *e);
/* One diagnostic line to the user's log sink, if any.  Never pass secrets. */
void engine_log(const struct hoist_engine *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Uploads register with their engine so that hoist_engine_free can cancel
 * them (upload.c owns the list links). */
void engine_upload_link(struct hoist_engine *e, struct hoist_upload *u);
void engine_upload_unlink(struct hoist_engine *e, struct hoist_upload *u);

/* Set while a user callback runs on this thread, so that hoist_*_free
 * called from inside one can refuse (see hoist.h). */
extern _Thread_local int hoist__in_callback;

/* Monotonic milliseconds / seconds. */
uint64_t hoist__now_ms(void);
double hoist__now_s(void);

#endif
