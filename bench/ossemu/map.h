/*
 * map.h - a string-keyed hash map (chained, power-of-two buckets).
 *
 * Owns: the keys (copied on insert); values are the caller's.  Used by the
 * store for buckets, objects and uploads, and by fault.c for attempt counts.
 * Threading: none; callers hold their own lock.
 */
#ifndef OSSEMU_MAP_H
#define OSSEMU_MAP_H

#include <stddef.h>
#include <stdint.h>

struct map_ent {
	struct map_ent *next;
	uint64_t hash;
	char *key;
	void *val;
};

struct map {
	struct map_ent **slots;
	size_t nslots; /* 0 or a power of two */
	size_t n;
};

#define MAP_INIT { NULL, 0, 0 }

void *map_get(const struct map *m, const char *key);
/* Inserts or replaces; the previous value (if any) goes to *old when old is
 * non-NULL.  Returns 0 or -1 (ENOMEM; the map is unchanged). */
int map_put(struct map *m, const char *key, void *val, void **old);
/* Removes key and returns its value (NULL if absent). */
void *map_del(struct map *m, const char *key);
/* Iteration: start with *it = NULL; returns the next entry or NULL.  The
 * map must not change during an iteration. */
struct map_ent *map_next(const struct map *m, size_t *slot, struct map_ent *it);
/* Frees the map; free_val (may be NULL) is called for every value. */
void map_cleanup(struct map *m, void (*free_val)(void *));

uint64_t map_hash(const void *p, size_t n, uint64_t seed);

#endif
