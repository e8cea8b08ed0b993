/*
 * map.c - string-keyed chained hash map.
 *
 * Owns: slot arrays and entries.  Grows by doubling at load factor 1, never
 * shrinks (the maps here live as long as the process or their bucket).
 * Threading: none; callers hold their own lock.
 */
#include "map.h"

#include <stdlib.h>
#include <string.h>

uint64_t map_hash(const void *p, size_t n, uint64_t seed)
{
	/* FNV-1a, then a splitmix64 finaliser so low bits are well mixed. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

static struct map_ent **find(const struct map *m, const char *key, uint64_t h)
{
	struct map_ent **pp;

	if (!m->nslots)
		return NULL;
	pp = &m->slots[h & (m->nslots - 1)];
	while (*pp) {
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
		pp = &(*pp)->next;
	}
	return pp;
}

void *map_get(const struct map *m, const char *key)
{
	struct map_ent **pp = find(m, key, map_hash(key, strlen(key), 0));

	return pp && *pp ? (*pp)->val : NULL;
}

static int grow(struct map *m)
{
	size_t n = m->nslots ? m->nslots * 2 : 16;
	struct map_ent **slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t i = 0; i < m->nslots; i++) {
		struct map_ent *e = m->slots[i];

		while (e) {
			struct map_ent *next = e->next;
			size_t j = e->hash & (n - 1);

			e->next = slots[j];
			slots[j] = e;
			e = next;
		}
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	return 0;
}

int map_put(struct map *m, const char *key, void *val, void **old)
{
	uint64_t h = map_hash(key, strlen(key), 0);
	struct map_ent **pp;
	struct map_ent *e;

	if (old)
		*old = NULL;
	if (m->n >= m->nslots && grow(m) < 0)
		return -1;
	pp = find(m, key, h);
	if (*pp) {
		if (old)
			*old = (*pp)->val;
		(*pp)->val = val;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->key = strdup(key);
	if (!e->key) {
		free(e);
		return -1;
	}
	e->hash = h;
	e->val = val;
	*pp = e;
	m->n++;
	return 0;
}

void *map_del(struct map *m, const char *key)
{
	struct map_ent **pp = find(m, key, map_hash(key, strlen(key), 0));
	struct map_ent *e;
	void *val;

	if (!pp || !*pp)
		return NULL;
	e = *pp;
	*pp = e->next;
	val = e->val;
	free(e->key);
	free(e);
	m->n--;
	return val;
}

struct map_ent *map_next(const struct map *m, size_t *slot, struct map_ent *it)
{
	if (it && it->next)
		return it->next;
	for (size_t i = it ? *slot + 1 : 0; i < m->nslots; i++) {
		if (m->slots[i]) {
			*slot = i;
			return m->slots[i];
		}
	}
	return NULL;
}

void map_cleanup(struct map *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->nslots; i++) {
		struct map_ent *e = m->slots[i];

		while (e) {
			struct map_ent *next = e->next;

			if (free_val)
				free_val(e->val);
			free(e->key);
			free(e);
			e = next;
		}
	}
	free(m->slots);
	m->slots = NULL;
	m->nslots = 0;
	m->n = 0;
}
