/*
 * ctx.h - what every layer of the engine needs, handed down (private).
 *
 * Layer: base (below the network and transfer layers; see ARCHITECTURE.md).
 *
 * Owns: the configuration resolved from hoist_engine_options (struct
 * conf), the curl share handle the engine made, the clock (monotonic
 * time, and Unix time corrected by the offset a server's Date taught us),
 * the diagnostics sink, and the "inside a user callback" marker.  The
 * engine (the API layer) fills one struct ctx and hands a pointer down to
 * every transfer and request; nothing below the API includes engine.h.
 *
 * Threading: `conf` and `share` are immutable once the engine is made and
 * read from every thread; `clock_offset` is an atomic; the callback
 * marker is thread-local.
 */
#ifndef HOIST_CTX_H
#define HOIST_CTX_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include <curl/curl.h>

#include "hoist.h"

/* An endpoint split once at engine creation (dialect.c parses it), so
 * that URL building is concatenation of parts curl's parser validated. */
struct endpoint {
	char *scheme;    /* "http" or "https" */
	char *host;      /* as in a URL: "1.2.3.4", "[::1]", "oss-cn-hangzhou.aliyuncs.com" */
	char *port;      /* NULL when the URL gave none */
	int is_ip;       /* literal IPv4/IPv6 address, or localhost: path style */
};

/* The engine's options with every default applied and every string
 * copied. */
struct conf {
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
	uint64_t memory_limit;     /* bytes of data buffers (budget.h) */
	void (*log)(const char *line, void *userdata);
	void *log_userdata;
};

struct creds;
struct trust;

struct ctx {
	const struct conf *conf;
	CURLSH *share;             /* DNS cache and TLS sessions, never connections */
	/* The roots TLS connections verify against when conf names no CA
	 * file (trust.h); NULL: libcurl's default bundle. */
	struct trust *trust;
	/* The keys requests are signed with (creds.h, runtime layer: only a
	 * pointer here).  NULL: conf's static keys. */
	struct creds *creds;
	/* Seconds to add to the local clock when signing; set when a server
	 * says RequestTimeTooSkewed.  Relaxed: any recent value is fine, the
	 * next signature simply uses it. */
	_Atomic int64_t clock_offset;
};

/* Monotonic milliseconds / seconds. */
uint64_t hoist__now_ms(void);
double hoist__now_s(void);

/* Now as Unix seconds, corrected by the learnt clock offset. */
int64_t ctx_now(const struct ctx *c);
int64_t ctx_clock_offset(const struct ctx *c);
void ctx_set_clock_offset(struct ctx *c, int64_t offset);

/* One diagnostic line to the user's log sink, if any.  Never pass
 * secrets.  Runs the sink as a user callback (see below). */
void ctx_log(const struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set while a user callback runs on this thread, so that hoist_*_free
 * called from inside one can refuse (see hoist.h).  Every call into user
 * code is bracketed by ctx_callback_enter / ctx_callback_leave. */
extern _Thread_local int hoist__in_callback;
static inline void ctx_callback_enter(void)
{
	hoist__in_callback++;
}
static inline void ctx_callback_leave(void)
{
	hoist__in_callback--;
}

#endif
