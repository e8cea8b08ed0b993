/*
 * keys.c - the key ring (see keys.h).
 *
 * Owns: one entry per access key id, in a map, each holding the key and a
 * "its token was used" flag.  The --key keys borrow their strings from the
 * configuration (which outlives the ring); minted keys own copies.
 *
 * Threading: `lock` (a read-write lock: every request looks a key up,
 * only the metadata service adds) guards the map; entries are immutable
 * once added except `used`, an atomic flag whose first set bumps
 * `tokens_used` (relaxed: both are tallies for /-/stats, read alone).
 */
#include "keys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

struct ring_key {
	struct ossemu_key k;  /* first: keyring_note_use casts back */
	int owned;            /* strings are ours to free */
	atomic_int used;
};

struct keyring {
	/* synced: guarded by lock */
	pthread_rwlock_t lock;
	struct map keys;      /* ak -> struct ring_key */

	_Atomic uint64_t tokens_used;
};

static void free_entry(void *p)
{
	struct ring_key *rk = p;

	if (!rk)
		return;
	if (rk->owned) {
		free(rk->k.ak);
		free(rk->k.sk);
		free(rk->k.token);
	}
	free(rk);
}

struct keyring *keyring_new(const struct ossemu_config *cfg)
{
	struct keyring *kr = calloc(1, sizeof(*kr));

	if (!kr)
		return NULL;
	pthread_rwlock_init(&kr->lock, NULL);
	for (size_t i = 0; i < cfg->nkeys; i++) {
		struct ring_key *rk = calloc(1, sizeof(*rk));

		/* A repeated --key AK: the last one wins, as it always did. */
		if (!rk || map_put(&kr->keys, cfg->keys[i].ak, rk, NULL) < 0) {
			free(rk);
			keyring_free(kr);
			return NULL;
		}
		rk->k = cfg->keys[i];
	}
	return kr;
}

void keyring_free(struct keyring *kr)
{
	if (!kr)
		return;
	map_cleanup(&kr->keys, free_entry);
	pthread_rwlock_destroy(&kr->lock);
	free(kr);
}

const struct ossemu_key *keyring_find(struct keyring *kr, const char *ak)
{
	struct ring_key *rk;

	pthread_rwlock_rdlock(&kr->lock);
	rk = map_get(&kr->keys, ak);
	pthread_rwlock_unlock(&kr->lock);
	return rk ? &rk->k : NULL;
}

int keyring_add(struct keyring *kr, const char *ak, const char *sk, const char *token,
		int64_t expires)
{
	struct ring_key *rk = calloc(1, sizeof(*rk));
	int r = -1;

	if (!rk)
		return -1;
	rk->owned = 1;
	rk->k.ak = strdup(ak);
	rk->k.sk = strdup(sk);
	rk->k.token = token ? strdup(token) : NULL;
	rk->k.expires = expires;
	if (!rk->k.ak || !rk->k.sk || (token && !rk->k.token)) {
		free_entry(rk);
		return -1;
	}
	pthread_rwlock_wrlock(&kr->lock);
	if (!map_get(&kr->keys, ak) && map_put(&kr->keys, ak, rk, NULL) == 0) {
		rk = NULL;
		r = 0;
	}
	pthread_rwlock_unlock(&kr->lock);
	free_entry(rk);
	return r;
}

void keyring_note_use(struct keyring *kr, const struct ossemu_key *k)
{
	struct ring_key *rk = (struct ring_key *)k;

	if (!k || !k->token)
		return;
	if (atomic_exchange_explicit(&rk->used, 1, memory_order_relaxed) == 0)
		atomic_fetch_add_explicit(&kr->tokens_used, 1, memory_order_relaxed);
}

uint64_t keyring_tokens_used(struct keyring *kr)
{
	return atomic_load_explicit(&kr->tokens_used, memory_order_relaxed);
}
