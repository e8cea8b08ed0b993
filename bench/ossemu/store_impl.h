/*
 * store_impl.h - what store.c and store_upload.c share: the index structs
 * and the path and metadata helpers.  Private to the store.
 *
 * Threading: every *_locked function and every struct field below needs
 * store->mu held (see store.c).
 */
#ifndef OSSEMU_STORE_IMPL_H
#define OSSEMU_STORE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include "buf.h"
#include "keyindex.h"
#include "map.h"
#include "store.h"

struct part {
	struct part_info pi;
	uint64_t gen;            /* data file <gen>.part; 0 with --discard */
};

struct upload {
	char id[33];
	char *key;
	int64_t initiated;
	int forbid_overwrite;
	struct hdrs hdrs;
	struct obj_opts opt;     /* the object's options, and the checksum asked for */
	struct part *parts;      /* sorted by number */
	size_t nparts, cap;
	int completing;          /* Complete is assembling: hands off */
};

struct object {
	struct obj_info info;
	uint64_t gen;            /* data file <gen>.data; 0 with --discard */
};

struct bucket {
	char *name;
	struct map objects;      /* key -> struct object */
	struct keyindex order;   /* the same keys, sorted (listings) */
	struct map uploads;      /* id -> struct upload */
};

struct store {
	/* immutable after store_open */
	const struct ossemu_config *cfg;
	char *dir;               /* NULL with --discard */
	_Atomic uint64_t gen;    /* next generation number */

	/* synced: guarded by mu */
	pthread_mutex_t mu;
	struct map buckets;      /* name -> struct bucket */
};

int64_t store_now(const struct store *s);
uint64_t next_gen(struct store *s);
void free_object(void *p);
void free_bucket(void *p);
int bucket_name_ok(const char *name);
/* Adds a bucket to the index, loading its directory if there is one. */
struct bucket *bucket_add_locked(struct store *s, const char *name);
/* Loads the whole data directory (recover.c). */
int store_recover(struct store *s, char *err, size_t errlen);
void free_upload(void *p);

/* Path builders: malloc'd strings, NULL on ENOMEM. */
char *path_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *tmp_path(struct store *s, const char *suffix);
char *object_data_path(const struct store *s, const char *bucket, uint64_t gen);
char *object_meta_path(const struct store *s, const char *bucket, const char *key);
char *upload_dir(const struct store *s, const char *bucket, const char *id);
char *part_data_path(const struct store *s, const char *bucket, const char *id, uint64_t gen);
char *part_meta_path(const struct store *s, const char *bucket, const char *id, unsigned num);
int write_meta(struct store *s, const char *path, const struct buf *content);

/* The "h.<name>" lines of a metadata file back into headers.  0 or -1. */
int hdrs_decode(struct hdrs *dst, const struct hdrs *meta);
int object_meta_encode(struct buf *b, const char *key, const struct object *o);
int part_meta_encode(struct buf *b, const struct part *p);
int upload_meta_encode(struct buf *b, const struct upload *u);

struct bucket *bucket_get_locked(struct store *s, const char *name);
struct upload *upload_get_locked(struct store *s, const char *bucket, const char *key,
				 const char *id, enum err_id *err);
struct part *part_find(struct upload *u, unsigned num, size_t *pos);
struct part *part_upsert(struct upload *u, const struct part *p, uint64_t *old_gen);
void unlink_tmp(const char *tmp);
/* Adds an object to b's index (map and key order).  0 or -1 (ENOMEM;
 * then neither holds it). */
int bucket_index_put_locked(struct bucket *b, const char *key, struct object *o,
			    struct object **old);
/* Commits an object into bucket b: renames tmp into place, writes its
 * metadata, replaces any old version.  Takes over o on success. */
enum err_id object_commit_locked(struct store *s, struct bucket *b, const char *key,
				 struct object *o, const char *tmp);

#endif
