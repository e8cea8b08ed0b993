/*
 * store_upload.c - multipart uploads in the store: initiate, parts, list,
 * abort and complete (validation, assembly, commit).
 *
 * Complete runs in three steps so the lock is never held while bytes are
 * copied: (1) under the lock, validate the part list and mark the upload
 * "completing" (no part may change, no other Complete or Abort may start);
 * (2) unlocked, concatenate the part files into a temp file; (3) under the
 * lock, commit the object and forget the upload.  A failure in (2) or (3)
 * clears the mark, so the client may retry.
 *
 * Threading: store->mu as in store.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "amzsum.h"
#include "checksum.h"
#include "persist.h"
#include "store_impl.h"

static int new_upload_id(char out[33])
{
	uint8_t raw[16];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		got += (size_t)n;
	}
	hex_encode(out, raw, sizeof(raw), 1);
	return 0;
}

enum err_id store_upload_create(struct store *s, const char *bucket, const char *key,
				struct hdrs *hdrs, const struct obj_opts *opt,
				int forbid_overwrite, char id[33])
{
	struct upload *u = calloc(1, sizeof(*u));
	struct bucket *b;
	struct buf content = BUF_INIT;
	char *dir = NULL, *meta = NULL;
	enum err_id e = E_INTERNAL;

	if (!u)
		return E_INTERNAL;
	u->key = strdup(key);
	if (!u->key || new_upload_id(u->id) < 0)
		goto fail;
	u->initiated = store_now(s);
	u->forbid_overwrite = forbid_overwrite;
	if (opt)
		u->opt = *opt;
	if (hdrs) {
		u->hdrs = *hdrs;
		hdrs->v = NULL;
		hdrs->n = 0;
	}
	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b) {
		e = E_NO_SUCH_BUCKET;
		goto unlock;
	}
	if (s->dir) {
		dir = upload_dir(s, bucket, u->id);
		meta = dir ? path_fmt("%s/upload.meta", dir) : NULL;
		if (!meta || upload_meta_encode(&content, u) < 0 || mkdir_p(dir) < 0 ||
		    write_meta(s, meta, &content) < 0) {
			if (dir)
				rm_rf(dir);
			goto unlock;
		}
	}
	if (map_put(&b->uploads, u->id, u, NULL) < 0) {
		if (dir)
			rm_rf(dir);
		goto unlock;
	}
	memcpy(id, u->id, 33);
	u = NULL;
	e = E_OK;
unlock:
	pthread_mutex_unlock(&s->mu);
fail:
	free_upload(u);
	buf_free(&content);
	free(dir);
	free(meta);
	return e;
}

enum err_id store_upload_check(struct store *s, const char *bucket, const char *key,
			       const char *id)
{
	enum err_id e;

	pthread_mutex_lock(&s->mu);
	upload_get_locked(s, bucket, key, id, &e);
	pthread_mutex_unlock(&s->mu);
	return e;
}

enum err_id store_upload_opts(struct store *s, const char *bucket, const char *key,
			      const char *id, struct obj_opts *out)
{
	struct upload *u;
	enum err_id e;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	u = upload_get_locked(s, bucket, key, id, &e);
	if (u)
		*out = u->opt;
	pthread_mutex_unlock(&s->mu);
	return e;
}

enum err_id store_part_put(struct store *s, const char *bucket, const char *key,
			   const char *id, const struct part_info *pi, const char *tmp)
{
	struct part p;
	struct upload *u;
	struct buf content = BUF_INIT;
	char *data = NULL, *meta = NULL, *old_data = NULL;
	uint64_t old_gen = 0;
	enum err_id e;

	memset(&p, 0, sizeof(p));
	p.pi = *pi;
	pthread_mutex_lock(&s->mu);
	u = upload_get_locked(s, bucket, key, id, &e);
	if (!u)
		goto out;
	e = E_INTERNAL;
	if (s->dir) {
		p.gen = next_gen(s);
		data = part_data_path(s, bucket, id, p.gen);
		meta = part_meta_path(s, bucket, id, pi->num);
		if (!data || !meta || part_meta_encode(&content, &p) < 0)
			goto out;
		if (rename(tmp, data) < 0) {
			fprintf(stderr, "ossemu: rename %s: %s\n", tmp, strerror(errno));
			goto out;
		}
		tmp = NULL;
		if (write_meta(s, meta, &content) < 0) {
			fprintf(stderr, "ossemu: write %s: %s\n", meta, strerror(errno));
			unlink(data);
			goto out;
		}
	}
	if (!part_upsert(u, &p, &old_gen))
		goto out; /* ENOMEM; the files say the part exists: a restart agrees */
	if (s->dir && old_gen) {
		old_data = part_data_path(s, bucket, id, old_gen);
		if (old_data)
			unlink(old_data);
	}
	e = E_OK;
out:
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK)
		unlink_tmp(tmp);
	buf_free(&content);
	free(data);
	free(meta);
	free(old_data);
	return e;
}

enum err_id store_parts_list(struct store *s, const char *bucket, const char *key,
			     const char *id, unsigned marker, unsigned max,
			     struct part_info **out, size_t *n, int *truncated)
{
	struct upload *u;
	size_t pos, i = 0;
	enum err_id e;

	*out = NULL;
	*n = 0;
	*truncated = 0;
	pthread_mutex_lock(&s->mu);
	u = upload_get_locked(s, bucket, key, id, &e);
	if (!u)
		goto out;
	part_find(u, marker + 1, &pos);
	*out = calloc((size_t)max + 1, sizeof(**out));
	if (!*out) {
		e = E_INTERNAL;
		goto out;
	}
	for (; pos < u->nparts && i < max; pos++)
		(*out)[i++] = u->parts[pos].pi;
	*truncated = pos < u->nparts;
	*n = i;
out:
	pthread_mutex_unlock(&s->mu);
	return e;
}

/* Removes an upload from the index and the disk. */
static void upload_forget_locked(struct store *s, struct bucket *b, struct upload *u)
{
	if (s->dir) {
		char *dir = upload_dir(s, b->name, u->id);

		if (dir && rm_rf(dir) < 0)
			fprintf(stderr, "ossemu: cannot remove %s: %s\n", dir, strerror(errno));
		free(dir);
	}
	free_upload(map_del(&b->uploads, u->id));
}

enum err_id store_upload_abort(struct store *s, const char *bucket, const char *key,
			       const char *id)
{
	struct upload *u;
	enum err_id e;

	pthread_mutex_lock(&s->mu);
	u = upload_get_locked(s, bucket, key, id, &e);
	if (u)
		upload_forget_locked(s, bucket_get_locked(s, bucket), u);
	pthread_mutex_unlock(&s->mu);
	return e;
}

static int cmp_upload_entry(const void *a, const void *b)
{
	const struct upload_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->id, y->id);
}

enum err_id store_uploads_list(struct store *s, const char *bucket,
			       struct upload_entry **out, size_t *n)
{
	struct bucket *b;
	struct upload_entry *v = NULL;
	size_t slot = 0, i = 0;
	struct map_ent *it = NULL;
	enum err_id e = E_OK;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	if (!b) {
		e = E_NO_SUCH_BUCKET;
		goto out;
	}
	v = calloc(b->uploads.n + 1, sizeof(*v));
	if (!v) {
		e = E_INTERNAL;
		goto out;
	}
	for (it = map_next(&b->uploads, &slot, NULL); it;
	     it = map_next(&b->uploads, &slot, it)) {
		struct upload *u = it->val;

		if (u->completing)
			continue;
		v[i].key = strdup(u->key);
		if (!v[i].key) {
			e = E_INTERNAL;
			break;
		}
		memcpy(v[i].id, u->id, sizeof(v[i].id));
		v[i].initiated = u->initiated;
		i++;
	}
out:
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK) {
		upload_entries_free(v, i);
		return e;
	}
	qsort(v, i, sizeof(*v), cmp_upload_entry);
	*out = v;
	*n = i;
	return E_OK;
}

void upload_entries_free(struct upload_entry *v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i].key);
	free(v);
}

/* ---- Complete ---------------------------------------------------------------- */

/* Compares an ETag from a Complete body with a part's digest: quotes
 * stripped, case ignored (clients differ; see oss-protocol.md §12). */
static int etag_matches(const char *given, const struct part_info *pi)
{
	char want[33];
	size_t n;

	while (*given == ' ' || *given == '\t' || *given == '\n' || *given == '\r')
		given++;
	if (*given == '"')
		given++;
	n = strlen(given);
	while (n && (given[n - 1] == ' ' || given[n - 1] == '\t' || given[n - 1] == '\n' ||
		     given[n - 1] == '\r'))
		n--;
	if (n && given[n - 1] == '"')
		n--;
	hex_encode(want, pi->md5, 16, 0);
	return n == 32 && strncasecmp(given, want, 32) == 0;
}

/* The final ETag: OSS hashes the concatenated upper-case hex part ETags
 * (oss-protocol.md §4.3), S3 the concatenated raw 16-byte digests; both
 * append "-N".  Upper-case hex for OSS, lower-case for S3. */
static int final_etag(char out[48], const struct part *v, size_t n, enum dialect d)
{
	struct md5_ctx c;
	uint8_t md5[16];
	char hex[33];

	if (md5_init(&c) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (d == DIALECT_OSS) {
			hex_encode(hex, v[i].pi.md5, 16, 1);
			md5_update(&c, hex, 32);
		} else {
			md5_update(&c, v[i].pi.md5, 16);
		}
	}
	md5_final(&c, md5);
	hex_encode(hex, md5, 16, d == DIALECT_OSS);
	snprintf(out, 48, "%s-%u", hex, (unsigned)(n % 100000));
	return 0;
}

/* The S3 object checksum of an upload created with x-amz-checksum-
 * algorithm, from the parts' own (each part must have come with one of that
 * algorithm; otherwise the object gets none, rather than a guess). */
static void object_checksum(struct obj_opts *o, const struct part *v, size_t n)
{
	uint64_t *crcs = NULL, *lens = NULL;

	memset(&o->cks, 0, sizeof(o->cks));
	if (!o->mp_alg || n == 0)
		return;
	crcs = calloc(n, sizeof(*crcs));
	lens = calloc(n, sizeof(*lens));
	for (size_t i = 0; crcs && lens && i < n; i++) {
		if (v[i].pi.amz_alg != o->mp_alg)
			goto out;
		crcs[i] = v[i].pi.amz_crc;
		lens[i] = v[i].pi.size;
	}
	if (crcs && lens &&
	    amzsum_object(o->cks.value, sizeof(o->cks.value), (enum amzsum_kind)(o->mp_alg - 1),
			  o->mp_full, crcs, lens, n) == 0) {
		o->cks.alg = o->mp_alg;
		o->cks.composite = !o->mp_full;
	}
out:
	free(crcs);
	free(lens);
}

/* Step 1: validates the list and picks the parts (malloc'd copy in *sel).
 * Marks the upload completing on success. */
static enum err_id complete_select_locked(struct store *s, struct upload *u, struct bucket *b,
					  const struct complete_req *req, struct part **sel,
					  size_t *nsel, unsigned *bad_part)
{
	uint64_t min = req->dialect == DIALECT_S3 ? S3_MIN_PART_SIZE : OSS_MIN_PART_SIZE;
	size_t n = req->all ? u->nparts : req->nparts;
	struct part *v;

	*sel = NULL;
	*nsel = 0;
	if (n == 0)
		return req->all ? E_INVALID_PART : E_MALFORMED_XML;
	v = calloc(n, sizeof(*v));
	if (!v)
		return E_INTERNAL;
	for (size_t i = 0; i < n; i++) {
		const struct part *p;

		if (req->all) {
			p = &u->parts[i];
		} else {
			const struct complete_part *cp = &req->parts[i];
			size_t pos;

			*bad_part = cp->num;
			if (cp->num < 1 || cp->num > PART_NUMBER_MAX) {
				free(v);
				return E_INVALID_PART;
			}
			if (i > 0 && cp->num <= req->parts[i - 1].num) {
				free(v);
				return E_INVALID_PART_ORDER;
			}
			p = part_find(u, cp->num, &pos);
			if (!p || !etag_matches(cp->etag ? cp->etag : "", &p->pi)) {
				free(v);
				return E_INVALID_PART;
			}
		}
		v[i] = *p;
	}
	/* Every part but the last must reach the dialect's minimum. */
	for (size_t i = 0; i + 1 < n; i++) {
		if (v[i].pi.size < min) {
			*bad_part = v[i].pi.num;
			free(v);
			return E_ENTITY_TOO_SMALL;
		}
	}
	*bad_part = 0;
	if ((req->forbid_overwrite || u->forbid_overwrite) && map_get(&b->objects, u->key)) {
		free(v);
		return E_FILE_EXISTS;
	}
	(void)s;
	u->completing = 1;
	*sel = v;
	*nsel = n;
	return E_OK;
}

/* Step 2: concatenates the selected part files into a new temp file. */
static enum err_id complete_assemble(struct store *s, const char *bucket, const char *id,
				     const struct part *v, size_t n, char **tmp_out)
{
	char *tmp = NULL;
	int fd = store_tmp_open(s, &tmp);
	enum err_id e = E_INTERNAL;

	*tmp_out = NULL;
	if (fd < 0)
		return E_INTERNAL;
	for (size_t i = 0; i < n; i++) {
		char *path = part_data_path(s, bucket, id, v[i].gen);
		int in = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		int r = in < 0 ? -1 : copy_fd(fd, in, v[i].pi.size);

		if (r < 0)
			fprintf(stderr, "ossemu: assembling part %u from %s: %s\n", v[i].pi.num,
				path ? path : "?", strerror(errno));
		if (in >= 0)
			close(in);
		free(path);
		if (r < 0)
			goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	*tmp_out = tmp;
	tmp = NULL;
	e = E_OK;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	return e;
}

enum err_id store_upload_complete(struct store *s, const char *bucket, const char *key,
				  const char *id, const struct complete_req *req,
				  struct obj_info *out, unsigned *bad_part)
{
	struct part *sel = NULL;
	size_t nsel = 0;
	struct object *o = NULL;
	struct upload *u;
	struct bucket *b;
	char *tmp = NULL;
	enum err_id e;

	memset(out, 0, sizeof(*out));
	*bad_part = 0;
	pthread_mutex_lock(&s->mu);
	u = upload_get_locked(s, bucket, key, id, &e);
	if (u)
		e = complete_select_locked(s, u, bucket_get_locked(s, bucket), req, &sel, &nsel,
					   bad_part);
	pthread_mutex_unlock(&s->mu);
	if (e != E_OK)
		goto out;

	o = calloc(1, sizeof(*o));
	if (!o) {
		e = E_INTERNAL;
		goto undo;
	}
	/* Whole-object CRC by combining the part CRCs: no re-read. */
	for (size_t i = 0; i < nsel; i++) {
		o->info.crc64 = crc64_ecma_combine(o->info.crc64, sel[i].pi.crc64, sel[i].pi.size);
		o->info.size += sel[i].pi.size;
	}
	o->info.nparts = (unsigned)nsel;
	o->info.psizes = calloc(nsel, sizeof(*o->info.psizes));
	if (!o->info.psizes) {
		e = E_INTERNAL;
		goto undo;
	}
	for (size_t i = 0; i < nsel; i++)
		o->info.psizes[i] = sel[i].pi.size;
	if (final_etag(o->info.etag, sel, nsel, req->dialect) < 0) {
		e = E_INTERNAL;
		goto undo;
	}
	if (s->dir) {
		e = complete_assemble(s, bucket, id, sel, nsel, &tmp);
		if (e != E_OK)
			goto undo;
	}

	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	u = b ? map_get(&b->uploads, id) : NULL;
	if (!u) {
		/* Only a bucket delete could get here, and it refuses buckets
		 * with uploads; be safe anyway. */
		e = E_NO_SUCH_UPLOAD;
	} else if ((req->forbid_overwrite || u->forbid_overwrite) &&
		   map_get(&b->objects, key)) {
		e = E_FILE_EXISTS;
		u->completing = 0;
	} else {
		o->info.mtime = store_now(s);
		o->info.opt = u->opt;
		object_checksum(&o->info.opt, sel, nsel);
		if (hdrs_copy(&o->info.hdrs, &u->hdrs) < 0) {
			e = E_INTERNAL;
		} else {
			for (size_t i = 0; req->hdrs && i < req->hdrs->n; i++) {
				if (hdrs_add(&o->info.hdrs, req->hdrs->v[i].name,
					     req->hdrs->v[i].value) < 0)
					e = E_INTERNAL;
			}
		}
		if (e == E_OK)
			e = object_commit_locked(s, b, key, o, tmp);
		if (e == E_OK) {
			free(tmp); /* renamed into place */
			tmp = NULL;
			/* On ENOMEM only the copied headers and part sizes
			 * are missing; the object is committed either way. */
			(void)obj_info_copy(out, &o->info);
			o = NULL; /* owned by the index */
			upload_forget_locked(s, b, u);
		} else {
			u->completing = 0;
		}
	}
	pthread_mutex_unlock(&s->mu);
	goto out;
undo:
	pthread_mutex_lock(&s->mu);
	b = bucket_get_locked(s, bucket);
	u = b ? map_get(&b->uploads, id) : NULL;
	if (u)
		u->completing = 0;
	pthread_mutex_unlock(&s->mu);
out:
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free_object(o);
	free(sel);
	return e;
}
