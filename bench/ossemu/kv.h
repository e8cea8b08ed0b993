/*
 * kv.h - lookups in a request's headers and query (arrays of struct
 * sign_kv, the shape the signing core takes).
 *
 * Threading: pure functions.
 */
#ifndef OSSEMU_KV_H
#define OSSEMU_KV_H

#include <stddef.h>

#include "sign.h"

/* Case-insensitive header lookup in a kv array (first match). */
const char *kv_header(const struct sign_kv *h, size_t n, const char *name);
/* Exact query lookup; *present tells a bare "?name" from an absent one. */
const char *kv_query(const struct sign_kv *q, size_t n, const char *name, int *present);

#endif
