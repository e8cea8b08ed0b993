/*
 * engine.c - engine lifetime: options, defaults, threads (see engine.h).
 *
 * hoist_engine_new validates and copies the options, resolves every
 * "0 means default" (the defaults are written in hoist.h), parses the
 * endpoint once with curl's URL parser, then starts the shared pieces:
 * the curl share handle (DNS cache and TLS sessions, never connections:
 * those belong to each loop's multi handle) and the event loops.  The CPUs
 * it may use (topo.h) and the pinned hash pool start with the first upload
 * that hashes ahead of sending (engine_pool), or here for an embedder's
 * CPU list.  hoist_engine_free cancels the
 * transfers still running, waits for them to settle, then stops the
 * threads.
 *
 * Layer: API.
 * Threading: the engine may be used from several threads; `conf` is
 * immutable, the live list is under `lock`, the pool's start under
 * `pool_lock`.
 */
#include "engine.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "buf.h"
#include "creds.h"
#include "dialect.h"
#include "hashpool.h"
#include "loop.h"
#include "md5mb.h"
#include "status.h"
#include "topo.h"
#include "trust.h"

/* ------------------------------------------------------------ curl share */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
		       void *ud)
{
	struct hoist_engine *e = ud;

	(void)h;
	(void)access;
	if ((unsigned)data < CURL_LOCK_DATA_LAST) {
		pthread_mutex_lock(&e->share_locks[data]);
	}
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud)
{
	struct hoist_engine *e = ud;

	(void)h;
	if ((unsigned)data < CURL_LOCK_DATA_LAST) {
		pthread_mutex_unlock(&e->share_locks[data]);
	}
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ----------------------------------------------------------- lifecycle */

static void conf_cleanup(struct conf *c)
{
	endpoint_cleanup(&c->ep);
	free(c->endpoint_url);
	free(c->region);
	free(c->ak);
	if (c->sk) {
		/* Do not leave the secret in freed heap memory. */
		explicit_bzero(c->sk, strlen(c->sk));
		free(c->sk);
	}
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c->ca_file);
	memset(c, 0, sizeof(*c));
}

static int dupopt(char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : -1;
}

#define FAIL(st_, ...)                                        \
	do {                                                  \
		st = (st_);                                   \
		if (errbuf && errlen)                         \
			snprintf(errbuf, errlen, __VA_ARGS__); \
		goto out;                                     \
	} while (0)

/* Fills c from o, applying the documented defaults. */
static hoist_status conf_init(struct conf *c,
			      const struct hoist_engine_options *o,
			      char *errbuf, size_t errlen)
{
	hoist_status st = HOIST_OK;
	char *url = NULL;
	char err[256];

	memset(c, 0, sizeof(*c));
	if (o->dialect != HOIST_DIALECT_OSS && o->dialect != HOIST_DIALECT_S3) {
		FAIL(HOIST_E_INVALID_ARG, "unknown dialect %d", (int)o->dialect);
	}
	c->dialect = o->dialect;
	if (o->signature != HOIST_SIGNATURE_DEFAULT && o->signature != HOIST_SIGNATURE_V1 &&
	    o->signature != HOIST_SIGNATURE_V4) {
		FAIL(HOIST_E_INVALID_ARG, "unknown signature version %d", (int)o->signature);
	}
	if (o->dialect == HOIST_DIALECT_S3 && o->signature == HOIST_SIGNATURE_V1) {
		FAIL(HOIST_E_INVALID_ARG, "signature V1 is an OSS scheme; S3 uses SigV4");
	}
	c->signature = o->signature == HOIST_SIGNATURE_V1 ? HOIST_SIGNATURE_V1
							  : HOIST_SIGNATURE_V4;
	if (!o->access_key_id != !o->access_key_secret) {
		FAIL(HOIST_E_INVALID_ARG,
		     "access key id and secret go together (both or neither)");
	}
	if ((o->access_key_id && !*o->access_key_id) ||
	    (o->access_key_secret && !*o->access_key_secret)) {
		FAIL(HOIST_E_INVALID_ARG, "empty access key id or secret");
	}
	if (o->session_token && !o->access_key_id) {
		FAIL(HOIST_E_INVALID_ARG, "a session token needs an access key");
	}
	if (o->credentials && (o->access_key_id || o->session_token)) {
		FAIL(HOIST_E_INVALID_ARG,
		     "static keys and a credentials provider are exclusive (give one)");
	}
	if (o->addressing != HOIST_ADDRESSING_AUTO && o->addressing != HOIST_ADDRESSING_VIRTUAL &&
	    o->addressing != HOIST_ADDRESSING_PATH) {
		FAIL(HOIST_E_INVALID_ARG, "unknown addressing %d", (int)o->addressing);
	}

	if (dupopt(&c->region, o->region ? o->region
				       : o->dialect == HOIST_DIALECT_S3 ? "us-east-1"
									: "cn-hangzhou") ||
	    dupopt(&c->ak, o->access_key_id) || dupopt(&c->sk, o->access_key_secret) ||
	    dupopt(&c->token, o->session_token && *o->session_token ? o->session_token : NULL) ||
	    dupopt(&c->ca_file, o->ca_file)) {
		FAIL(HOIST_E_NOMEM, "out of memory");
	}
	if (!*c->region) {
		FAIL(HOIST_E_INVALID_ARG, "empty region");
	}

	if (o->endpoint) {
		url = strdup(o->endpoint);
	} else {
		url = dialect_default_endpoint(o->dialect, c->region, o->internal);
	}
	if (!url) {
		FAIL(HOIST_E_NOMEM, "out of memory");
	}
	if (endpoint_parse(&c->ep, url, err, sizeof(err)) < 0) {
		FAIL(HOIST_E_INVALID_ARG, "%s", err);
	}
	{
		struct buf b = BUF_INIT;

		if (buf_printf(&b, "%s://%s%s%s", c->ep.scheme, c->ep.host,
			       c->ep.port ? ":" : "", c->ep.port ? c->ep.port : "") < 0) {
			FAIL(HOIST_E_NOMEM, "out of memory");
		}
		c->endpoint_url = buf_detach(&b);
	}
	c->path_style = o->addressing == HOIST_ADDRESSING_PATH ||
			(o->addressing == HOIST_ADDRESSING_AUTO && c->ep.is_ip);
	if (!c->path_style && c->ep.is_ip) {
		FAIL(HOIST_E_INVALID_ARG,
		     "virtual-host addressing needs a host name, not an IP endpoint");
	}

	c->hash_threads = o->hash_threads;
	c->io_threads = o->io_threads ? o->io_threads : 1;
	if (c->io_threads > 64 || c->hash_threads > 1024) {
		FAIL(HOIST_E_INVALID_ARG, "too many threads");
	}
	c->max_connections = o->max_connections ? o->max_connections : 1024;
	if (c->max_connections > 65536) {
		FAIL(HOIST_E_INVALID_ARG, "max_connections above 65536");
	}
	c->insecure = o->insecure;
	c->connect_timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 10000;
	c->low_speed_bytes = o->low_speed_bytes ? o->low_speed_bytes : 1024;
	c->low_speed_seconds = o->low_speed_seconds ? o->low_speed_seconds : 30;
	c->max_attempts = o->max_attempts ? o->max_attempts : 6;
	if (c->max_attempts > 100) {
		FAIL(HOIST_E_INVALID_ARG, "max_attempts above 100");
	}
	c->retry_base_ms = o->retry_base_ms ? o->retry_base_ms : 200;
	c->retry_cap_ms = o->retry_cap_ms ? o->retry_cap_ms : 20000;
	if (c->retry_cap_ms < c->retry_base_ms) {
		c->retry_cap_ms = c->retry_base_ms;
	}
	/* 256 MiB: what a backup host spares without asking; streams need
	 * two parts in memory at least, so it bounds their part size and the
	 * largest stream (hoist.h has the table). */
	c->memory_limit = o->memory_limit ? o->memory_limit : 256ULL * 1024 * 1024;
	c->log = o->log;
	c->log_userdata = o->log_userdata;
out:
	free(url);
	if (st != HOIST_OK) {
		conf_cleanup(c);
	}
	return st;
}

/* Hundreds of connections need hundreds of descriptors; the soft limit is
 * often 1024.  Raising the soft limit up to the hard one is what every
 * server does at start; it changes nothing else. */
static void raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

/* The caller's options as the current struct: an older caller's struct
 * ends before the fields of later versions, so only what its version
 * declares may be read; the fields it has not got stay 0, their
 * defaults. */
static hoist_status copy_options(struct hoist_engine_options *o,
				 const struct hoist_engine_options *in, char *errbuf,
				 size_t errlen)
{
	hoist_status st = HOIST_OK;

	memset(o, 0, sizeof(*o));
	switch (in->version) {
	case 1:
		memcpy(o, in, offsetof(struct hoist_engine_options, pinning));
		break;
	case 2:
		memcpy(o, in, offsetof(struct hoist_engine_options, memory_limit));
		break;
	case 3:
		memcpy(o, in, offsetof(struct hoist_engine_options, credentials));
		break;
	case HOIST_ENGINE_OPTIONS_VERSION:
		*o = *in;
		break;
	default:
		FAIL(HOIST_E_INVALID_ARG, "engine options version %u, expected 1 to %u",
		     in->version, HOIST_ENGINE_OPTIONS_VERSION);
	}
	o->version = HOIST_ENGINE_OPTIONS_VERSION;
out:
	return st;
}

/* Reads the topology and starts the hash workers: a topology load (~1 ms
 * of CPU with hwloc) and a thread per core, which an engine that only
 * downloads, or sends small objects with CRC64 computed as they are sent,
 * never needs.  Under pool_lock, or before the engine is shared. */
static hoist_status pool_start(struct hoist_engine *e, const char *cpus, char *why,
			       size_t whylen)
{
	hoist_status st;

	st = topo_new_mask(&e->topo, e->mask, e->masksize, cpus, e->pinning, why, whylen);
	if (st != HOIST_OK)
		return st;
	if (e->hash_threads == 0) {
		e->hash_threads = topo_ncores(e->topo);
	}
	ctx_log(&e->ctx, "MD5: %s (%u parts per pass)", md5mb_name(e->md5), md5mb_lanes(e->md5));
	if (hashpool_new(&e->pool, e->topo, e->hash_threads, e->md5) < 0) {
		snprintf(why, whylen, "cannot start the hash threads");
		return HOIST_E_INTERNAL;
	}
	/* A list the embedder gave that the kernel will not run threads on
	 * is its mistake to hear about; the affinity mask cannot be one. */
	if (topo_bind_error(e->topo, why, whylen) && cpus) {
		char bind[200];

		snprintf(bind, sizeof(bind), "%s", why);
		snprintf(why, whylen, "cpus: cannot bind the hash workers to %s", bind);
		return HOIST_E_INVALID_ARG;
	}
	topo_describe(e->topo, e->hash_threads, why, whylen);
	ctx_log(&e->ctx, "%s", why);
	return HOIST_OK;
}

struct hashpool *engine_pool(struct hoist_engine *e, char *err, size_t errlen)
{
	struct hashpool *p;

	pthread_mutex_lock(&e->pool_lock);
	if (!e->pool && e->pool_failed == HOIST_OK) {
		e->pool_failed = pool_start(e, NULL, e->pool_why, sizeof(e->pool_why));
		if (e->pool_failed != HOIST_OK) {
			/* Kept: every later upload gets the same answer. */
			hashpool_free(e->pool);
			e->pool = NULL;
			topo_free(e->topo);
			e->topo = NULL;
		}
	}
	p = e->pool;
	if (!p) {
		snprintf(err, errlen, "%s", e->pool_why);
	}
	pthread_mutex_unlock(&e->pool_lock);
	return p;
}

/* hoist_engine_new's work; errbuf gets the one line of a failure. */
static hoist_status engine_create(struct hoist_engine **out,
				  const struct hoist_engine_options *in, char *errbuf,
				  size_t errlen)
{
	struct hoist_engine_options o, *opts = &o;
	struct hoist_engine *e = NULL;
	hoist_status st = HOIST_OK;
	unsigned i, per_loop;
	enum md5mb_impl md5;
	char md5_err[160], why[256];

	if (errbuf && errlen) {
		errbuf[0] = '\0';
	}
	if (!out || !in) {
		FAIL(HOIST_E_INVALID_ARG, "NULL argument");
	}
	*out = NULL;
	st = copy_options(&o, in, errbuf, errlen);
	if (st != HOIST_OK)
		goto out;
	/* A forced MD5 path (HOIST_MD5) the CPU lacks is refused, never
	 * replaced by another. */
	if (md5mb_choose(&md5, md5_err, sizeof(md5_err)) < 0) {
		FAIL(HOIST_E_INVALID_ARG, "%s", md5_err);
	}
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK) {
		FAIL(HOIST_E_INTERNAL, "curl_global_init failed");
	}

	e = calloc(1, sizeof(*e));
	if (!e) {
		FAIL(HOIST_E_NOMEM, "out of memory");
	}
	pthread_mutex_init(&e->lock, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_init(&e->share_locks[i], NULL);
	}
	st = conf_init(&e->conf, opts, errbuf, errlen);
	if (st != HOIST_OK)
		goto out;
	e->ctx.conf = &e->conf;
	{
		struct creds_options co = { opts->credentials, opts->credentials_userdata,
					    opts->credentials_refresh_ahead_s };

		st = creds_new(&e->ctx.creds, &e->ctx, e->conf.ak, e->conf.sk, e->conf.token, &co,
			       errbuf, errlen);
		if (st != HOIST_OK)
			goto out;
	}
	budget_init(&e->budget, e->conf.memory_limit);
	e->budget_ready = 1;

	e->ctx.share = curl_share_init();
	if (!e->ctx.share) {
		FAIL(HOIST_E_NOMEM, "curl_share_init failed");
	}
	curl_share_setopt(e->ctx.share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(e->ctx.share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(e->ctx.share, CURLSHOPT_USERDATA, e);
	curl_share_setopt(e->ctx.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(e->ctx.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	/* No CA file given: the roots of the hashed directory, read as
	 * handshakes need them (trust.h), rather than libcurl's whole bundle
	 * before the first one. */
	if (!e->conf.ca_file && !e->conf.insecure && strcmp(e->conf.ep.scheme, "https") == 0) {
		e->ctx.trust = trust_new();
		if (e->ctx.trust) {
			ctx_log(&e->ctx, "TLS: trusting the certificates of %s",
				trust_dir(e->ctx.trust));
		} else {
			ctx_log(&e->ctx, "TLS: trusting libcurl's default CA bundle");
		}
	}

	raise_nofile(e->conf.max_connections + 256);
	if ((unsigned)opts->pinning > HOIST_PINNING_OFF) {
		FAIL(HOIST_E_INVALID_ARG, "unknown pinning mode %d", (int)opts->pinning);
	}
	e->md5 = md5;
	e->pinning = opts->pinning;
	e->hash_threads = e->conf.hash_threads;
	pthread_mutex_init(&e->pool_lock, NULL);
	e->pool_lock_ready = 1;
	/* One system call now; the topology and the workers wait for the
	 * first upload that hashes (engine_pool), but on this thread's CPUs. */
	e->mask = topo_mask_read(&e->masksize);
	if (!e->mask) {
		FAIL(HOIST_E_NOMEM, "out of memory");
	}
	/* An embedder's own list is checked, and bound, here: a wrong one
	 * fails hoist_engine_new, not some later upload. */
	if (opts->cpus) {
		st = pool_start(e, opts->cpus, why, sizeof(why));
		if (st != HOIST_OK) {
			FAIL(st, "%s", why);
		}
	}
	e->loops = calloc(e->conf.io_threads, sizeof(*e->loops));
	if (!e->loops) {
		FAIL(HOIST_E_NOMEM, "out of memory");
	}
	per_loop = e->conf.max_connections / e->conf.io_threads;
	if (per_loop == 0) {
		per_loop = 1;
	}
	for (i = 0; i < e->conf.io_threads; i++) {
		if (loop_new(&e->loops[i], i, per_loop) < 0) {
			FAIL(HOIST_E_INTERNAL, "cannot start the event loops");
		}
		e->nloops++;
	}
	*out = e;
	e = NULL;
out:
	if (e) {
		hoist_engine_free(e);
	}
	return st;
}

void engine_live_add(struct hoist_engine *e, struct live *l)
{
	pthread_mutex_lock(&e->lock);
	l->prev = NULL;
	l->next = e->synced.live;
	if (l->next) {
		l->next->prev = l;
	}
	e->synced.live = l;
	pthread_mutex_unlock(&e->lock);
}

void engine_live_remove(struct hoist_engine *e, struct live *l)
{
	if (atomic_load_explicit(&l->detached, memory_order_acquire))
		return; /* the engine is gone */
	pthread_mutex_lock(&e->lock);
	if (l->prev) {
		l->prev->next = l->next;
	} else if (e->synced.live == l) {
		e->synced.live = l->next;
	}
	if (l->next) {
		l->next->prev = l->prev;
	}
	l->next = l->prev = NULL;
	pthread_mutex_unlock(&e->lock);
}

struct loop *engine_next_loop(struct hoist_engine *e)
{
	return e->loops[atomic_fetch_add_explicit(&e->next_loop, 1, memory_order_relaxed) %
			e->nloops];
}

/* Cancels every live transfer and waits for each to settle; the
 * transfers themselves stay for their owners to free. */
static void detach_all_locked(struct hoist_engine *e)
{
	struct live *l;

	for (l = e->synced.live; l; l = l->next) {
		l->cancel(l);
	}
	while (e->synced.live) {
		l = e->synced.live;
		e->synced.live = l->next;
		l->wait(l);
		l->next = l->prev = NULL;
		atomic_store_explicit(&l->detached, 1, memory_order_release);
	}
}

void hoist_engine_free(struct hoist_engine *e)
{
	unsigned i;

	if (!e)
		return;
	if (hoist__in_callback || loop_current()) {
		return; /* refused: see hoist.h */
	}
	/* Cancel what still runs and wait for it to settle; the uploads
	 * themselves stay for their owners to free. */
	pthread_mutex_lock(&e->lock);
	detach_all_locked(e);
	pthread_mutex_unlock(&e->lock);

	for (i = 0; i < e->nloops; i++) {
		loop_free(e->loops[i]);
	}
	free(e->loops);
	hashpool_free(e->pool);
	topo_free(e->topo);
	if (e->mask) {
		CPU_FREE(e->mask);
	}
	if (e->pool_lock_ready) {
		pthread_mutex_destroy(&e->pool_lock);
	}
	/* After the loops: no request signs any more. */
	creds_free(e->ctx.creds);
	trust_free(e->ctx.trust);
	if (e->ctx.share) {
		curl_share_cleanup(e->ctx.share);
	}
	if (e->budget_ready) {
		budget_cleanup(&e->budget);
	}
	conf_cleanup(&e->conf);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++) {
		pthread_mutex_destroy(&e->share_locks[i]);
	}
	pthread_mutex_destroy(&e->lock);
	free(e);
}

hoist_status hoist_engine_new(struct hoist_engine **out, const struct hoist_engine_options *opts,
			      struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	char err[512] = "";
	hoist_status st = engine_create(out, opts, err, sizeof(err));

	if (st != HOIST_OK) {
		result_fail(&r, st, NULL, err[0] ? err : NULL);
		result_deliver(result, &r);
	}
	return st;
}
