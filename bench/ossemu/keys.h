/*
 * keys.h - the access keys ossemu accepts: the --key ones, fixed at start,
 * and the short-lived STS keys the metadata service (imds.h) mints while it
 * runs.
 *
 * A key is never removed while the server runs, so a pointer from
 * keyring_find stays valid until keyring_free: a request being verified
 * never sees a key vanish, and a key past its expiry can still be told
 * apart from an unknown one (SecurityTokenExpired, not InvalidAccessKeyId).
 * Minted keys are bounded by the rate the metadata service mints them (one
 * per half token lifetime), so the ring grows slowly.
 *
 * Threading: all functions are thread-safe.
 */
#ifndef OSSEMU_KEYS_H
#define OSSEMU_KEYS_H

#include <stdint.h>

#include "ossemu.h"

struct keyring;

struct keyring *keyring_new(const struct ossemu_config *cfg);
void keyring_free(struct keyring *kr);

/* The key whose id is ak, or NULL.  BORROWED: valid until keyring_free. */
const struct ossemu_key *keyring_find(struct keyring *kr, const char *ak);
/* Adds a key (strings copied).  0, or -1 on ENOMEM or a duplicate id. */
int keyring_add(struct keyring *kr, const char *ak, const char *sk, const char *token,
		int64_t expires);
/* Records that k's STS token signed an accepted request; the first use of
 * each token counts once in keyring_tokens_used. */
void keyring_note_use(struct keyring *kr, const struct ossemu_key *k);
uint64_t keyring_tokens_used(struct keyring *kr);

#endif
