/*
 * store.c - the in-memory index of buckets, objects and uploads, and its
 * mirror on disk.
 *
 * Layout of a data directory (names of data files carry a generation number
 * that never repeats, even across restarts, so a rename never replaces a
 * file some reader still has open under the same name):
 *
 *   DIR/tmp/                         bodies being received; emptied at start
 *   DIR/b/<bucket>/                  one directory per bucket
 *   DIR/b/<bucket>/o/<h>.meta        object <key>: h = SHA-256(key)[0:40]
 *   DIR/b/<bucket>/o/<gen>.data      its bytes
 *   DIR/b/<bucket>/u/<id>/upload.meta   an open multipart upload
 *   DIR/b/<bucket>/u/<id>/<NNNNN>.meta  part NNNNN, naming <gen>.part
 *
 * A commit is: data renamed into place, then the metadata renamed over the
 * old metadata (the commit point), then the old data unlinked.  Recovery
 * (recover.c) loads every metadata file whose data file exists and removes
 * data files no metadata names.
 *
 * Threading: `mu` guards everything below it in struct store, in memory and
 * on disk (see store.h for what runs unlocked).
 */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "checksum.h"
#include "map.h"
#include "persist.h"
#include "sign.h"
#include "store_impl.h"

/* ---- small helpers -------------------------------------------------------- */

int hdrs_add(struct hdrs *h, const char *name, const char *value)
{
	struct hdr *v = realloc(h->v, (h->n + 1) * sizeof(*v));

	if (!v)
		return -1;
	h->v = v;
	v[h->n].name = strdup(name);
	v[h->n].value = strdup(value ? value : "");
	if (!v[h->n].name || !v[h->n].value) {
		free(v[h->n].name);
		free(v[h->n].value);
		return -1;
	}
	h->n++;
	return 0;
}

int hdrs_copy(struct hdrs *dst, const struct hdrs *src)
{
	dst->v = NULL;
	dst->n = 0;
	for (size_t i = 0; i < src->n; i++) {
		if (hdrs_add(dst, src->v[i].name, src->v[i].value) < 0) {
			hdrs_cleanup(dst);
			return -1;
		}
	}
	return 0;
}

const char *hdrs_get(const struct hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++) {
		if (strcmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	}
	return NULL;
}

void hdrs_cleanup(struct hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

void obj_info_cleanup(struct obj_info *o)
{
	hdrs_cleanup(&o->hdrs);
	free(o->psizes);
	o->psizes = NULL;
}

int obj_info_copy(struct obj_info *dst, const struct obj_info *src)
{
	*dst = *src;
	dst->psizes = NULL;
	dst->hdrs.v = NULL;
	dst->hdrs.n = 0;
	if (src->psizes && src->nparts) {
		dst->psizes = malloc(src->nparts * sizeof(*dst->psizes));
		if (!dst->psizes)
			return -1;
		memcpy(dst->psizes, src->psizes, src->nparts * sizeof(*dst->psizes));
	}
	if (hdrs_copy(&dst->hdrs, &src->hdrs) < 0) {
		obj_info_cleanup(dst);
		return -1;
	}
	return 0;
}

void part_etag(char out[33], const struct part_info *pi, enum dialect d)
{
	hex_encode(out, pi->md5, 16, d == DIALECT_OSS);
}

void discard_etag_digest(uint8_t out[16], uint64_t crc64, uint64_t size)
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(crc64 >> (56 - 8 * i));
		out[8 + i] = (uint8_t)(size >> (56 - 8 * i));
	}
}

int64_t store_now(const struct store *s)
{
	return (int64_t)time(NULL) + s->cfg->clock_offset;
}

uint64_t next_gen(struct store *s)
{
	return atomic_fetch_add_explicit(&s->gen, 1, memory_order_relaxed);
}

void free_object(void *p)
{
	struct object *o = p;

	if (!o)
		return;
	obj_info_cleanup(&o->info);
	free(o);
}

void free_upload(void *p)
{
	struct upload *u = p;

	if (!u)
		return;
	free(u->key);
	hdrs_cleanup(&u->hdrs);
	free(u->parts);
	free(u);
}

void free_bucket(void *p)
{
	struct bucket *b = p;

	if (!b)
		return;
	map_cleanup(&b->objects, free_object);
	keyindex_cleanup(&b->order);
	map_cleanup(&b->uploads, free_upload);
	free(b->name);
	free(b);
}

/* ---- paths ---------------------------------------------------------------- */

/* All path builders return a malloc'd string or NULL. */
char *path_fmt(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (r < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static void key_hash(char out[41], const char *key)
{
	char hex[65];

	sign_sha256_hex(hex, key, strlen(key));
	memcpy(out, hex, 40);
	out[40] = '\0';
}

char *tmp_path(struct store *s, const char *suffix)
{
	return path_fmt("%s/tmp/%016llx%s", s->dir, (unsigned long long)next_gen(s), suffix);
}

char *object_data_path(const struct store *s, const char *bucket, uint64_t gen)
{
	return path_fmt("%s/b/%s/o/%016llx.data", s->dir, bucket, (unsigned long long)gen);
}

char *object_meta_path(const struct store *s, const char *bucket, const char *key)
{
	char h[41];

	key_hash(h, key);
	return path_fmt("%s/b/%s/o/%s.meta", s->dir, bucket, h);
}

char *upload_dir(const struct store *s, const char *bucket, const char *id)
{
	return path_fmt("%s/b/%s/u/%s", s->dir, bucket, id);
}

char *part_data_path(const struct store *s, const char *bucket, const char *id,
			    uint64_t gen)
{
	return path_fmt("%s/b/%s/u/%s/%016llx.part", s->dir, bucket, id, (unsigned long long)gen);
}

char *part_meta_path(const struct store *s, const char *bucket, const char *id,
			    unsigned num)
{
	return path_fmt("%s/b/%s/u/%s/%05u.meta", s->dir, bucket, id, num);
}

/* Writes a metadata file through a fresh temp name.  0 or -1. */
int write_meta(struct store *s, const char *path, const struct buf *content)
{
	char *tmp = tmp_path(s, ".meta");
	int r;

	if (!tmp)
		return -1;
	r = meta_write(tmp, path, content);
	free(tmp);
	return r;
}

/* ---- metadata encodings ----------------------------------------------------- */

static int hdrs_encode(struct buf *b, const struct hdrs *h)
{
	for (size_t i = 0; i < h->n; i++) {
		struct buf name = BUF_INIT;
		int r = buf_printf(&name, "h.%s", h->v[i].name);

		if (r == 0)
			r = meta_append(b, name.data, h->v[i].value);
		buf_free(&name);
		if (r < 0)
			return -1;
	}
	return 0;
}

int hdrs_decode(struct hdrs *dst, const struct hdrs *meta)
{
	for (size_t i = 0; i < meta->n; i++) {
		if (strncmp(meta->v[i].name, "h.", 2) != 0)
			continue;
		if (hdrs_add(dst, meta->v[i].name + 2, meta->v[i].value) < 0)
			return -1;
	}
	return 0;
}

int object_meta_encode(struct buf *b, const char *key, const struct object *o)
{
	int r = 0;

	r |= meta_append(b, "key", key);
	r |= meta_append_u64(b, "size", o->info.size);
	r |= meta_append(b, "etag", o->info.etag);
	r |= meta_append_u64(b, "crc64", o->info.crc64);
	r |= meta_append_u64(b, "mtime", (uint64_t)o->info.mtime);
	r |= meta_append_u64(b, "nparts", o->info.nparts);
	r |= meta_append_u64(b, "gen", o->gen);
	if (o->info.psizes) {
		r |= buf_puts(b, "psizes=");
		for (unsigned i = 0; i < o->info.nparts; i++)
			r |= buf_printf(b, "%s%llu", i ? "," : "",
					(unsigned long long)o->info.psizes[i]);
		r |= buf_putc(b, '\n');
	}
	r |= hdrs_encode(b, &o->info.hdrs);
	r |= objopt_encode(b, &o->info.opt);
	return r ? -1 : 0;
}

int part_meta_encode(struct buf *b, const struct part *p)
{
	char md5[33];
	int r = 0;

	hex_encode(md5, p->pi.md5, 16, 0);
	r |= meta_append_u64(b, "num", p->pi.num);
	r |= meta_append_u64(b, "size", p->pi.size);
	r |= meta_append(b, "md5", md5);
	r |= meta_append_u64(b, "crc64", p->pi.crc64);
	r |= meta_append_u64(b, "mtime", (uint64_t)p->pi.mtime);
	r |= meta_append_u64(b, "gen", p->gen);
	if (p->pi.amz_alg) {
		r |= meta_append_u64(b, "amzalg", p->pi.amz_alg);
		r |= meta_append_u64(b, "amzcrc", p->pi.amz_crc);
	}
	return r ? -1 : 0;
}

int upload_meta_encode(struct buf *b, const struct upload *u)
{
	int r = 0;

	r |= meta_append(b, "key", u->key);
	r |= meta_append(b, "id", u->id);
	r |= meta_append_u64(b, "initiated", (uint64_t)u->initiated);
	r |= meta_append_u64(b, "forbid", (uint64_t)u->forbid_overwrite);
	r |= hdrs_encode(b, &u->hdrs);
	r |= objopt_encode(b, &u->opt);
	return r ? -1 : 0;
}

/* ---- lookup ----------------------------------------------------------------- */

struct bucket *bucket_get_locked(struct store *s, const char *name)
{
	return map_get(&s->buckets, name);
}

/* The upload `id` of `key` in `bucket`, or NULL with *err set. */
struct upload *upload_get_locked(struct store *s, const char *bucket, const char *key,
					const char *id, enum err_id *err)
{
	struct bucket *b = bucket_get_locked(s, bucket);
	struct upload *u;

	if (!b) {
		*err = E_NO_SUCH_BUCKET;
		return NULL;
	}
	u = map_get(&b->uploads, id);
	if (!u || strcmp(u->key, key) != 0 || u->completing) {
		*err = E_NO_SUCH_UPLOAD;
		return NULL;
	}
	*err = E_OK;
	return u;
}

struct part *part_find(struct upload *u, unsigned num, size_t *pos)
{
	size_t lo = 0, hi = u->nparts;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (u->parts[mid].pi.num < num)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	if (lo < u->nparts && u->parts[lo].pi.num == num)
		return &u->parts[lo];
	return NULL;
}

/* Inserts or replaces a part; returns the slot or NULL (ENOMEM). */
struct part *part_upsert(struct upload *u, const struct part *p, uint64_t *old_gen)
{
	size_t pos;
	struct part *slot = part_find(u, p->pi.num, &pos);

	*old_gen = 0;
	if (slot) {
		*old_gen = slot->gen;
		*slot = *p;
		return slot;
	}
	if (u->nparts == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct part *v = realloc(u->parts, cap * sizeof(*v));

		if (!v)
			return NULL;
		u->parts = v;
		u->cap = cap;
	}
	memmove(&u->parts[pos + 1], &u->parts[pos], (u->nparts - pos) * sizeof(*u->parts));
	u->parts[pos] = *p;
	u->nparts++;
	return &u->parts[pos];
}

/* ---- lifecycle ------------------------------------------------------------- */

struct store *store_open(const struct ossemu_config *cfg, char *err, size_t errlen)
{
	struct store *s = calloc(1, sizeof(*s));
	struct timespec ts;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	pthread_mutex_init(&s->mu, NULL);
	/* Generations start at the wall clock in ns: unique across restarts. */
	clock_gettime(CLOCK_REALTIME, &ts);
	atomic_init(&s->gen, (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
	if (!cfg->discard) {
		s->dir = strdup(cfg->data_dir);
		if (!s->dir || store_recover(s, err, errlen) < 0)
			goto fail;
	}
	for (size_t i = 0; i < cfg->nbuckets; i++) {
		enum err_id e = store_bucket_create(s, cfg->buckets[i]);

		if (e != E_OK) {
			snprintf(err, errlen, "cannot create bucket '%s' (%s)", cfg->buckets[i],
				 err_code(e, DIALECT_OSS));
			goto fail;
		}
	}
	return s;
fail:
	store_close(s);
	return NULL;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	map_cleanup(&s->buckets, free_bucket);
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

int store_keeps_data(const struct store *s)
{
	return s->dir != NULL;
}

void store_counts(struct store *s, uint64_t *objects, uint64_t *uploads)
{
	size_t slot = 0;
	struct map_ent *e = NULL;

	*objects = *uploads = 0;
	pthread_mutex_lock(&s->mu);
	for (e = map_next(&s->buckets, &slot, NULL); e; e = map_next(&s->buckets, &slot, e)) {
		struct bucket *b = e->val;

		*objects += b->objects.n;
		*uploads += b->uploads.n;
	}
	pthread_mutex_unlock(&s->mu);
}

int store_tmp_open(struct store *s, char **path)
{
	char *p;
	int fd;

	*path = NULL;
	if (!s->dir)
		return -1;
	p = tmp_path(s, ".tmp");
	if (!p)
		return -1;
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(p);
		return -1;
	}
	*path = p;
	return fd;
}

void unlink_tmp(const char *tmp)
{
	if (tmp)
		unlink(tmp);
}

/* ---- buckets --------------------------------------------------------------- */

int store_bucket_exists(struct store *s, const char *bucket)
{
	int r;

	pthread_mutex_lock(&s->mu);
	r = bucket_get_locked(s, bucket) != NULL;
	pthread_mutex_unlock(&s->mu);
	return r;
}

enum err_id store_bucket_create(struct store *s, const char *bucket)
{
	enum err_id e = E_OK;

	if (!bucket_name_ok(bucket))
		return E_INVALID_BUCKET_NAME;
	pthread_mutex_lock(&s->mu);
	if (!bucket_get_locked(s, bucket)) {
		char *dir = s->dir ? path_fmt("%s/b/%s", s->dir, bucket) : NULL;

		if (s->dir && (!dir || mkdir_p(dir) < 0))
			e = E_INTERNAL;
		else if (!bucket_add_locked(s, bucket))
			e = E_INTERNAL;
		free(dir);
	}
	pthread_mutex_unlock(&s->mu);
	return e;
}

enum err_id store_bucket_delete(struct store *s, const char *bucket)
{
	struct bucket *b;
	enum err_id e = E_OK;

	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b) {
		e = E_NO_SUCH_BUCKET;
	} else if (b->objects.n || b->uploads.n) {
		e = E_BUCKET_NOT_EMPTY;
	} else {
		char *dir = s->dir ? path_fmt("%s/b/%s", s->dir, bucket) : NULL;

		if (dir)
			rm_rf(dir);
		free(dir);
		free_bucket(map_del(&s->buckets, bucket));
	}
	pthread_mutex_unlock(&s->mu);
	return e;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_bucket_names(struct store *s, size_t *n)
{
	char **v;
	size_t slot = 0, i = 0;
	struct map_ent *e = NULL;

	pthread_mutex_lock(&s->mu);
	v = calloc(s->buckets.n + 1, sizeof(*v));
	for (e = v ? map_next(&s->buckets, &slot, NULL) : NULL; e;
	     e = map_next(&s->buckets, &slot, e)) {
		v[i] = strdup(e->key);
		if (!v[i]) {
			store_strings_free(v, i);
			v = NULL;
			break;
		}
		i++;
	}
	pthread_mutex_unlock(&s->mu);
	if (!v)
		return NULL;
	qsort(v, i, sizeof(*v), cmp_str);
	*n = i;
	return v;
}

void store_strings_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- objects --------------------------------------------------------------- */

int bucket_index_put_locked(struct bucket *b, const char *key, struct object *o,
			    struct object **old)
{
	/* The order first: a key the map does not hold yet is new to it. */
	int fresh = !map_get(&b->objects, key);

	*old = NULL;
	if (fresh && keyindex_insert(&b->order, key) < 0)
		return -1;
	if (map_put(&b->objects, key, o, (void **)old) < 0) {
		if (fresh)
			keyindex_remove(&b->order, key);
		return -1;
	}
	return 0;
}

enum err_id object_commit_locked(struct store *s, struct bucket *b, const char *key,
				 struct object *o, const char *tmp)
{
	struct object *old = NULL;
	char *data = NULL, *meta = NULL, *old_data = NULL;
	struct buf content = BUF_INIT;
	enum err_id e = E_INTERNAL;

	if (s->dir) {
		o->gen = next_gen(s);
		data = object_data_path(s, b->name, o->gen);
		meta = object_meta_path(s, b->name, key);
		if (!data || !meta || object_meta_encode(&content, key, o) < 0)
			goto out;
		if (rename(tmp, data) < 0) {
			fprintf(stderr, "ossemu: rename %s: %s\n", tmp, strerror(errno));
			goto out;
		}
		if (write_meta(s, meta, &content) < 0) {
			fprintf(stderr, "ossemu: write %s: %s\n", meta, strerror(errno));
			unlink(data);
			goto out;
		}
	}
	if (bucket_index_put_locked(b, key, o, &old) < 0) {
		/* The files are committed but the index is not: undo the files
		 * would lose the old object, so keep the new one on disk only;
		 * a restart will find it.  Report the failure. */
		goto out;
	}
	if (old && s->dir) {
		old_data = object_data_path(s, b->name, old->gen);
		if (old_data)
			unlink(old_data);
	}
	free_object(old);
	e = E_OK;
out:
	if (e != E_OK && tmp)
		unlink(tmp);
	buf_free(&content);
	free(data);
	free(meta);
	free(old_data);
	return e;
}

enum err_id store_object_put(struct store *s, const char *bucket, const char *key,
			     struct obj_info *info, const char *tmp_path_in, int forbid_overwrite)
{
	struct object *o = NULL;
	struct bucket *b;
	enum err_id e;

	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b) {
		e = E_NO_SUCH_BUCKET;
		goto out;
	}
	if (forbid_overwrite && map_get(&b->objects, key)) {
		e = E_FILE_EXISTS;
		goto out;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		e = E_INTERNAL;
		goto out;
	}
	o->info = *info;
	info->hdrs.v = NULL;
	info->hdrs.n = 0;
	info->psizes = NULL;
	e = object_commit_locked(s, b, key, o, tmp_path_in);
	if (e == E_OK) {
		o = NULL;
		tmp_path_in = NULL;
	}
out:
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK)
		unlink_tmp(tmp_path_in);
	free_object(o);
	return e;
}

enum err_id store_object_open(struct store *s, const char *bucket, const char *key,
			      struct obj_info *out, int *fd)
{
	struct bucket *b;
	struct object *o;
	enum err_id e = E_OK;

	*fd = -1;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	o = b ? map_get(&b->objects, key) : NULL;
	if (!b) {
		e = E_NO_SUCH_BUCKET;
	} else if (!o) {
		e = E_NO_SUCH_KEY;
	} else {
		if (obj_info_copy(out, &o->info) < 0)
			e = E_INTERNAL;
		if (e == E_OK && s->dir) {
			/* Opened under the lock: a later overwrite or delete
			 * unlinks the file but this fd keeps the bytes. */
			char *data = object_data_path(s, bucket, o->gen);

			*fd = data ? open(data, O_RDONLY | O_CLOEXEC) : -1;
			if (*fd < 0)
				e = E_INTERNAL;
			free(data);
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK)
		obj_info_cleanup(out);
	return e;
}

enum err_id store_object_delete(struct store *s, const char *bucket, const char *key)
{
	struct bucket *b;
	struct object *o;
	enum err_id e = E_OK;

	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b) {
		e = E_NO_SUCH_BUCKET;
		goto out;
	}
	o = map_del(&b->objects, key);
	if (o)
		keyindex_remove(&b->order, key);
	if (o && s->dir) {
		char *meta = object_meta_path(s, bucket, key);
		char *data = object_data_path(s, bucket, o->gen);

		/* Metadata first: a crash in between leaves an orphan data
		 * file that recovery removes, never a dangling object. */
		if (meta)
			unlink(meta);
		if (data)
			unlink(data);
		free(meta);
		free(data);
	}
	free_object(o);
out:
	pthread_mutex_unlock(&s->mu);
	return e;
}

