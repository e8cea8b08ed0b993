/*
 * creds.c - the current key set and its refresher thread (see creds.h).
 *
 * The set is a pointer under `lock`, which is held only to swap it or to
 * take a reference: an event loop signing a request waits at most for a
 * pointer copy, never for a provider.  The provider is called with no lock
 * held, on the "hoist-creds" thread, which sleeps on a condition variable
 * (CLOCK_MONOTONIC, so a wall-clock step does not wake or stall it) until
 * the current set is due (creds_due), a request reports its token expired
 * (creds_expired), or the engine stops.
 *
 * A fetch that fails keeps the old set (it may still work for a while)
 * and is tried again after 1, 2, 4 ... 30 s; so is a fetch that returns
 * the very set already in use (a metadata service that has not rotated
 * yet), which is not swapped in.  A set the provider returns is validated
 * (both key halves present) and copied; the provider's strings are never
 * kept.
 *
 * Layer: runtime.
 * Threading: see creds.h.  Lock order: this lock is a leaf (nothing is
 * called under it but allocation-free bookkeeping).
 */
#include "creds.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctx.h"

#define RETRY_MAX_S 30     /* backoff cap after failed or unhelpful fetches */
#define AHEAD_MAX_S 300    /* default: a quarter of the life, at most this */

struct creds {
	/* Immutable after creds_new. */
	const struct ctx *ctx;
	hoist_credentials_fn fn;
	void *userdata;
	unsigned ahead_s;
	pthread_t thread;
	int thread_started;

	/* Synced: guarded by lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake;       /* the refresher waits on it */
	pthread_cond_t settled;    /* creds_wait waits on it */
	struct {
		struct creds_set *cur;
		int64_t taken;         /* Unix seconds cur was fetched at */
		uint64_t next_gen;
		int forced;            /* fetch now: a token expired */
		int fetching;          /* a provider call is running */
		int stop;
		unsigned failures;     /* consecutive fetches without a new set */
		int64_t retry_at;      /* 0: none; else do not fetch before */
		uint64_t fetches;
		uint64_t swaps;
	} synced;
};

/* ------------------------------------------------------------- sets */

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void set_free(struct creds_set *s)
{
	if (!s)
		return;
	free(s->ak);
	wipe_free(s->sk);
	wipe_free(s->token);
	free(s);
}

static struct creds_set *set_new(const char *ak, const char *sk, const char *token,
				 int64_t expiration)
{
	struct creds_set *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->expiration = expiration;
	s->ak = ak ? strdup(ak) : NULL;
	s->sk = sk ? strdup(sk) : NULL;
	s->token = token && *token ? strdup(token) : NULL;
	if ((ak && !s->ak) || (sk && !s->sk) || (token && *token && !s->token)) {
		set_free(s);
		return NULL;
	}
	return s;
}

void creds_put(struct creds_set *s)
{
	/* acq_rel: the last owner must see every write of the others before
	 * it frees (none write, but the set was published by another
	 * thread). */
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		set_free(s);
	}
}

struct creds_set *creds_get(struct creds *c)
{
	struct creds_set *s;

	pthread_mutex_lock(&c->lock);
	s = c->synced.cur;
	/* Relaxed is enough: the lock orders this against the swap, and the
	 * reference we hold keeps the count above zero. */
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&c->lock);
	return s;
}

static int set_same(const struct creds_set *a, const struct creds_set *b)
{
	return a->ak && b->ak && strcmp(a->ak, b->ak) == 0 && strcmp(a->sk, b->sk) == 0 &&
	       !a->token == !b->token && (!a->token || strcmp(a->token, b->token) == 0);
}

/* ---------------------------------------------------------- policy */

int64_t creds_due(int64_t taken, int64_t exp, unsigned ahead_s)
{
	int64_t life, ahead;

	if (exp <= 0)
		return INT64_MAX;
	if (ahead_s) {
		ahead = ahead_s;
	} else {
		life = exp - taken;
		ahead = life > 0 ? life / 4 : 0;
		if (ahead > AHEAD_MAX_S) {
			ahead = AHEAD_MAX_S;
		}
	}
	return exp - ahead;
}

static int64_t wall_now(const struct creds *c)
{
	return ctx_now(c->ctx);
}

/* When the refresher should fetch next, Unix seconds (INT64_MAX: only
 * when a token is reported expired). */
static int64_t next_fetch_locked(const struct creds *c)
{
	int64_t due = creds_due(c->synced.taken, c->synced.cur->expiration, c->ahead_s);

	if (c->synced.retry_at && c->synced.retry_at > due) {
		due = c->synced.retry_at;
	}
	return due;
}

static int64_t backoff_s(unsigned failures)
{
	int64_t d = 1;

	while (failures > 1 && d < RETRY_MAX_S) {
		d *= 2;
		failures--;
	}
	return d < RETRY_MAX_S ? d : RETRY_MAX_S;
}

/* ---------------------------------------------------------- fetching */

/* One provider call, no lock held.  Returns the new set (gen not yet
 * assigned), or NULL with err filled. */
static struct creds_set *fetch(struct creds *c, hoist_status *st, char *err, size_t errlen)
{
	struct hoist_credentials out;
	struct creds_set *s;

	memset(&out, 0, sizeof(out));
	err[0] = '\0';
	ctx_callback_enter();
	*st = c->fn(&out, err, errlen, c->userdata);
	ctx_callback_leave();
	if (*st == HOIST_OK && (!out.access_key_id || !*out.access_key_id ||
				!out.access_key_secret || !*out.access_key_secret)) {
		*st = HOIST_E_AUTH;
		snprintf(err, errlen, "the credentials provider returned no access key");
	}
	if (*st != HOIST_OK) {
		if (!err[0]) {
			snprintf(err, errlen, "the credentials provider failed: %s", hoist_strerror(*st));
		}
		return NULL;
	}
	s = set_new(out.access_key_id, out.access_key_secret, out.session_token, out.expiration);
	if (!s) {
		*st = HOIST_E_NOMEM;
		snprintf(err, errlen, "out of memory");
	}
	return s;
}

/* Takes the result of a fetch in; returns the set it replaced (to put
 * outside the lock) or NULL. */
static struct creds_set *apply_locked(struct creds *c, struct creds_set *s, int64_t now)
{
	struct creds_set *old = c->synced.cur;

	if (!s || set_same(s, old)) {
		c->synced.failures++;
		c->synced.retry_at = now + backoff_s(c->synced.failures);
		return s; /* unused: put by the caller */
	}
	s->gen = ++c->synced.next_gen;
	c->synced.cur = s;
	c->synced.taken = now;
	c->synced.failures = 0;
	c->synced.retry_at = 0;
	c->synced.swaps++;
	return old;
}

static void log_outcome(struct creds *c, int swapped, const struct creds_set *s, int forced,
			const char *err, int64_t now)
{
	if (swapped) {
		if (s->expiration > 0) {
			ctx_log(c->ctx, "credentials: new keys from the provider%s, valid for %" PRId64 " s",
				forced ? " (the server said the token expired)" : "", s->expiration - now);
		} else {
			ctx_log(c->ctx, "credentials: new keys from the provider%s",
				forced ? " (the server said the token expired)" : "");
		}
	} else if (err[0]) {
		ctx_log(c->ctx, "credentials: refresh failed, keeping the current keys: %s", err);
	} else {
		ctx_log(c->ctx, "credentials: the provider returned the keys in use; asking again later");
	}
}

static void *refresher(void *arg)
{
	struct creds *c = arg;

	pthread_setname_np(pthread_self(), "hoist-creds");
	pthread_mutex_lock(&c->lock);
	while (!c->synced.stop) {
		int64_t now = wall_now(c), due = next_fetch_locked(c);
		struct creds_set *s, *drop;
		char err[256];
		hoist_status st;
		int forced, swapped;

		if (!c->synced.forced && now < due) {
			struct timespec ts;
			int64_t wait = due - now;

			/* Wake at least hourly: the wall clock may have
			 * jumped (the due time is in wall-clock seconds). */
			if (wait > 3600) {
				wait = 3600;
			}
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += (time_t)wait;
			pthread_cond_timedwait(&c->wake, &c->lock, &ts);
			continue;
		}
		forced = c->synced.forced;
		c->synced.fetching = 1;
		c->synced.fetches++;
		pthread_mutex_unlock(&c->lock);

		s = fetch(c, &st, err, sizeof(err));

		pthread_mutex_lock(&c->lock);
		now = wall_now(c);
		drop = apply_locked(c, s, now);
		swapped = drop != s;
		c->synced.fetching = 0;
		/* A report that came in during an unforced fetch that brought
		 * nothing new still wants its own fetch. */
		if (forced || swapped) {
			c->synced.forced = 0;
		}
		pthread_cond_broadcast(&c->settled);
		if (swapped) {
			/* The new set is referenced by cur; logging reads only
			 * its expiry, which is immutable. */
			s = c->synced.cur;
		}
		pthread_mutex_unlock(&c->lock);
		log_outcome(c, swapped, s, forced, err, now);
		creds_put(drop);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---------------------------------------------------------- lifetime */

hoist_status creds_new(struct creds **out, const struct ctx *ctx, const char *ak,
		       const char *sk, const char *token, const struct creds_options *o,
		       char *err, size_t errlen)
{
	struct creds *c = calloc(1, sizeof(*c));
	pthread_condattr_t ca;
	hoist_status st = HOIST_OK;

	*out = NULL;
	err[0] = '\0';
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return HOIST_E_NOMEM;
	}
	c->ctx = ctx;
	c->fn = o ? o->fn : NULL;
	c->userdata = o ? o->userdata : NULL;
	c->ahead_s = o ? o->ahead_s : 0;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->wake, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&c->settled, NULL);

	if (c->fn) {
		c->synced.cur = fetch(c, &st, err, errlen);
		c->synced.fetches = 1;
	} else {
		c->synced.cur = set_new(ak, sk, token, 0);
		if (!c->synced.cur) {
			st = HOIST_E_NOMEM;
			snprintf(err, errlen, "out of memory");
		}
	}
	if (!c->synced.cur)
		goto out;
	c->synced.cur->gen = c->synced.next_gen = 1;
	c->synced.taken = wall_now(c);
	if (c->fn) {
		if (pthread_create(&c->thread, NULL, refresher, c) != 0) {
			st = HOIST_E_INTERNAL;
			snprintf(err, errlen, "cannot start the credentials thread: %s", strerror(errno));
			goto out;
		}
		c->thread_started = 1;
	}
	*out = c;
	c = NULL;
out:
	creds_free(c);
	return st;
}

void creds_free(struct creds *c)
{
	if (!c)
		return;
	if (c->thread_started) {
		pthread_mutex_lock(&c->lock);
		c->synced.stop = 1;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	creds_put(c->synced.cur);
	pthread_cond_destroy(&c->wake);
	pthread_cond_destroy(&c->settled);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* ---------------------------------------------------- expiry reports */

int creds_refreshable(const struct creds *c)
{
	return c && c->fn != NULL;
}

void creds_expired(struct creds *c, uint64_t gen)
{
	if (!creds_refreshable(c))
		return;
	pthread_mutex_lock(&c->lock);
	if (c->synced.cur->gen <= gen) {
		/* A report is a reason to ask now, whatever the backoff says:
		 * requests are failing. */
		c->synced.forced = 1;
		c->synced.retry_at = 0;
		pthread_cond_signal(&c->wake);
	}
	pthread_mutex_unlock(&c->lock);
}

static int pending_locked(const struct creds *c, uint64_t gen)
{
	return c->synced.cur->gen <= gen && !c->synced.stop &&
	       (c->synced.forced || c->synced.fetching);
}

int creds_pending(struct creds *c, uint64_t gen)
{
	int p;

	if (!creds_refreshable(c))
		return 0;
	pthread_mutex_lock(&c->lock);
	p = pending_locked(c, gen);
	pthread_mutex_unlock(&c->lock);
	return p;
}

void creds_wait(struct creds *c, uint64_t gen, unsigned timeout_ms)
{
	struct timespec ts;

	if (!creds_refreshable(c))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->lock);
	while (pending_locked(c, gen)) {
		if (pthread_cond_timedwait(&c->settled, &c->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&c->lock);
}

uint64_t creds_fetches(struct creds *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->synced.fetches;
	pthread_mutex_unlock(&c->lock);
	return n;
}

uint64_t creds_swaps(struct creds *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->lock);
	n = c->synced.swaps;
	pthread_mutex_unlock(&c->lock);
	return n;
}
