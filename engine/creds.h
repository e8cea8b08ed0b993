/*
 * creds.h - the keys requests are signed with, and their refresh (private).
 *
 * Owns: the current key set (access key id, secret, session token, expiry)
 * as an immutable, reference-counted struct creds_set, and, when the
 * caller gave a provider (hoist_credentials_fn), the "hoist-creds" thread
 * that calls it: once when the engine is made, then ahead of each set's
 * expiry and whenever a server says the token a request carried expired.
 * A new set is swapped in whole under a lock held for a pointer swap, so
 * a request being signed holds one complete set (creds_get) and never a
 * mix of an old key and a new token.
 *
 * Layer: runtime (the signing request reads it; the API layer makes it).
 * Threading: creds_get / creds_put / creds_expired / creds_pending from
 * any thread, never blocking beyond a pointer swap (so the event loops
 * may call them); the provider runs only on the refresher thread (or the
 * thread that makes the engine, for the first set), with no lock held,
 * never two calls at a time.
 */
#ifndef HOIST_CREDS_H
#define HOIST_CREDS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

struct ctx;

/* One complete key set.  Immutable once published; freed (secrets wiped)
 * when the last reference goes. */
struct creds_set {
	_Atomic unsigned refs;
	uint64_t gen;          /* 1, 2, ... in the order sets were taken in */
	char *ak;              /* NULL: anonymous requests */
	char *sk;
	char *token;           /* NULL: none */
	int64_t expiration;    /* Unix seconds; 0: does not expire */
};

struct creds;

/* Tunables of the refresher (0: the defaults written in hoist.h). */
struct creds_options {
	hoist_credentials_fn fn;   /* NULL: the static keys */
	void *userdata;
	unsigned ahead_s;          /* refresh this long before expiry */
};

/* Static keys (ak NULL: anonymous), or the first set from o->fn, fetched
 * on this thread.  ctx is BORROWED for the holder's life (its clock and
 * log).  On failure err holds one line (the provider's, which names the
 * source and never a secret). */
hoist_status creds_new(struct creds **out, const struct ctx *ctx, const char *ak,
		       const char *sk, const char *token, const struct creds_options *o,
		       char *err, size_t errlen);
/* Stops the refresher (waiting for a provider call in progress) and drops
 * the current set; sets still held by requests live on until put. */
void creds_free(struct creds *c);

/* The current set, referenced: pass it to creds_put when done. */
struct creds_set *creds_get(struct creds *c);
void creds_put(struct creds_set *s);

/* 1 when a provider can give new keys. */
int creds_refreshable(const struct creds *c);
/* A server said the token of set gen expired: unless a newer set is in
 * already, wakes the refresher to fetch one now.  Never blocks. */
void creds_expired(struct creds *c, uint64_t gen);
/* 1 while a refresh asked for after set gen expired is still running (a
 * retry of the refused request waits for it); 0 once a newer set is in or
 * the refresh ended without one. */
int creds_pending(struct creds *c, uint64_t gen);
/* Blocks until creds_pending(c, gen) is 0 or timeout_ms pass (for the
 * blocking calls on the caller's thread; never on an event loop). */
void creds_wait(struct creds *c, uint64_t gen, unsigned timeout_ms);

/* Counters, for tests and the log: provider calls, sets swapped in. */
uint64_t creds_fetches(struct creds *c);
uint64_t creds_swaps(struct creds *c);

/* When the refresher fetches ahead of a set's expiry: the due time in
 * Unix seconds for a set expiring at exp that was taken at taken (0 for
 * a set that does not expire: never). Pure, for the unit test. */
int64_t creds_due(int64_t taken, int64_t exp, unsigned ahead_s);

#endif
