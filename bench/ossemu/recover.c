/*
 * recover.c - loading a data directory at start (and a bucket directory
 * when a bucket is added): metadata files are read back, files no metadata
 * refers to (half-written bodies, replaced versions) are removed.
 *
 * Owns: the rules of what counts as committed (see store.c's layout: a
 * metadata file whose data file exists with the recorded size).
 *
 * Threading: called with store->mu held, or before any thread starts.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checksum.h"
#include "persist.h"
#include "store_impl.h"

/* ---- recovery ---------------------------------------------------------------- */

static int is_hex_name(const char *name, size_t hexlen, const char *suffix)
{
	size_t n = strlen(name);

	if (n != hexlen + strlen(suffix) || strcmp(name + hexlen, suffix) != 0)
		return 0;
	for (size_t i = 0; i < hexlen; i++) {
		if (!strchr("0123456789abcdefABCDEF", name[i]))
			return 0;
	}
	return 1;
}

int bucket_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return 0;
	}
	return name[0] != '-' && name[0] != '.' && name[n - 1] != '-' && name[n - 1] != '.';
}

static uint64_t file_size(const char *path, int *exists)
{
	struct stat st;

	*exists = stat(path, &st) == 0 && S_ISREG(st.st_mode);
	return *exists ? (uint64_t)st.st_size : 0;
}

/* "123,456,7" -> o->psizes (nparts entries, summing to the size). */
static int psizes_decode(struct obj_info *o, const char *s)
{
	uint64_t sum = 0;
	unsigned i = 0;

	if (!s)
		return 0; /* written before part sizes were kept */
	o->psizes = calloc(o->nparts, sizeof(*o->psizes));
	if (!o->psizes)
		return -1;
	while (*s && i < o->nparts) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		char num[24];

		if (n == 0 || n >= sizeof(num))
			return -1;
		memcpy(num, s, n);
		num[n] = '\0';
		if (parse_u64(num, &o->psizes[i]) < 0)
			return -1;
		sum += o->psizes[i++];
		s += n + (comma ? 1 : 0);
	}
	return i == o->nparts && !*s && sum == o->size ? 0 : -1;
}

/* Loads object metadata files; removes data files nothing refers to. */
static int recover_objects(struct store *s, struct bucket *b)
{
	char *dir = path_fmt("%s/b/%s/o", s->dir, b->name);
	struct map live = MAP_INIT; /* referenced data file names */
	DIR *d = NULL;
	struct dirent *de;
	int result = -1;

	if (!dir || mkdir_p(dir) < 0)
		goto out;
	d = opendir(dir);
	if (!d)
		goto out;
	for (de = readdir(d); de; de = readdir(d)) {
		struct hdrs m = { NULL, 0 };
		struct object *o = NULL;
		const char *key, *etag;
		uint64_t v;
		char *path = NULL, *data = NULL;
		int exists;

		if (!is_hex_name(de->d_name, 40, ".meta"))
			continue;
		path = path_fmt("%s/%s", dir, de->d_name);
		if (!path || meta_read(path, &m) < 0)
			goto next;
		key = hdrs_get(&m, "key");
		etag = hdrs_get(&m, "etag");
		o = calloc(1, sizeof(*o));
		if (!key || !etag || !o || strlen(etag) >= sizeof(o->info.etag))
			goto next;
		snprintf(o->info.etag, sizeof(o->info.etag), "%s", etag);
		if (meta_get_u64(&m, "size", &o->info.size) < 0 ||
		    meta_get_u64(&m, "crc64", &o->info.crc64) < 0 ||
		    meta_get_u64(&m, "gen", &o->gen) < 0)
			goto next;
		if (meta_get_u64(&m, "mtime", &v) == 0)
			o->info.mtime = (int64_t)v;
		if (meta_get_u64(&m, "nparts", &v) == 0 && v <= PART_NUMBER_MAX)
			o->info.nparts = (unsigned)v;
		if (o->info.nparts && psizes_decode(&o->info, hdrs_get(&m, "psizes")) < 0)
			goto next;
		data = object_data_path(s, b->name, o->gen);
		if (!data || file_size(data, &exists) != o->info.size || !exists) {
			fprintf(stderr, "ossemu: dropping object %s/%s: data file missing or short\n",
				b->name, key);
			unlink(path);
			goto next;
		}
		if (hdrs_decode(&o->info.hdrs, &m) < 0 || objopt_decode(&o->info.opt, &m) < 0)
			goto next;
		{
			struct object *dup;

			if (bucket_index_put_locked(b, key, o, &dup) < 0)
				goto next;
			free_object(dup); /* two metadata files for one key: the last read wins */
		}
		o = NULL;
		(void)map_put(&live, strrchr(data, '/') + 1, (void *)1, NULL);
next:
		free_object(o);
		hdrs_cleanup(&m);
		free(path);
		free(data);
	}
	rewinddir(d);
	for (de = readdir(d); de; de = readdir(d)) {
		if (is_hex_name(de->d_name, 16, ".data") && !map_get(&live, de->d_name)) {
			char *p = path_fmt("%s/%s", dir, de->d_name);

			if (p)
				unlink(p);
			free(p);
		}
	}
	result = 0;
out:
	if (d)
		closedir(d);
	map_cleanup(&live, NULL);
	free(dir);
	return result;
}

static void recover_upload(struct store *s, struct bucket *b, const char *id)
{
	char *dir = upload_dir(s, b->name, id);
	char *meta = dir ? path_fmt("%s/upload.meta", dir) : NULL;
	struct hdrs m = { NULL, 0 };
	struct map live = MAP_INIT;
	struct upload *u = NULL;
	DIR *d = NULL;
	struct dirent *de;
	uint64_t v;

	if (!meta || meta_read(meta, &m) < 0 || !hdrs_get(&m, "key")) {
		if (dir) {
			fprintf(stderr, "ossemu: dropping upload %s: no metadata\n", id);
			rm_rf(dir);
		}
		goto out;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		goto out;
	memcpy(u->id, id, 32); /* recover_uploads checked: 32 hex digits */
	u->id[32] = '\0';
	u->key = strdup(hdrs_get(&m, "key"));
	if (!u->key || hdrs_decode(&u->hdrs, &m) < 0 || objopt_decode(&u->opt, &m) < 0)
		goto out;
	if (meta_get_u64(&m, "initiated", &v) == 0)
		u->initiated = (int64_t)v;
	if (meta_get_u64(&m, "forbid", &v) == 0)
		u->forbid_overwrite = v != 0;
	d = opendir(dir);
	if (!d)
		goto out;
	for (de = readdir(d); de; de = readdir(d)) {
		struct hdrs pm = { NULL, 0 };
		struct part p;
		uint64_t num, old;
		const char *md5;
		char *path = NULL, *data = NULL;
		int exists;

		if (strlen(de->d_name) != 10 || strcmp(de->d_name + 5, ".meta") != 0)
			continue;
		memset(&p, 0, sizeof(p));
		path = path_fmt("%s/%s", dir, de->d_name);
		if (!path || meta_read(path, &pm) < 0)
			goto next;
		md5 = hdrs_get(&pm, "md5");
		if (meta_get_u64(&pm, "num", &num) < 0 || num < 1 || num > PART_NUMBER_MAX ||
		    meta_get_u64(&pm, "size", &p.pi.size) < 0 ||
		    meta_get_u64(&pm, "crc64", &p.pi.crc64) < 0 ||
		    meta_get_u64(&pm, "gen", &p.gen) < 0 || !md5 || strlen(md5) != 32 ||
		    hex_decode(p.pi.md5, md5, 16) < 0)
			goto next;
		p.pi.num = (unsigned)num;
		if (meta_get_u64(&pm, "mtime", &v) == 0)
			p.pi.mtime = (int64_t)v;
		if (meta_get_u64(&pm, "amzalg", &v) == 0 && v <= 255 &&
		    meta_get_u64(&pm, "amzcrc", &p.pi.amz_crc) == 0)
			p.pi.amz_alg = (unsigned char)v;
		data = part_data_path(s, b->name, id, p.gen);
		if (!data || file_size(data, &exists) != p.pi.size || !exists) {
			unlink(path);
			goto next;
		}
		if (!part_upsert(u, &p, &old))
			goto next;
		(void)map_put(&live, strrchr(data, '/') + 1, (void *)1, NULL);
next:
		hdrs_cleanup(&pm);
		free(path);
		free(data);
	}
	rewinddir(d);
	for (de = readdir(d); de; de = readdir(d)) {
		if (is_hex_name(de->d_name, 16, ".part") && !map_get(&live, de->d_name)) {
			char *p = path_fmt("%s/%s", dir, de->d_name);

			if (p)
				unlink(p);
			free(p);
		}
	}
	if (map_put(&b->uploads, u->id, u, NULL) == 0)
		u = NULL;
out:
	if (d)
		closedir(d);
	free_upload(u);
	map_cleanup(&live, NULL);
	hdrs_cleanup(&m);
	free(meta);
	free(dir);
}

static int recover_uploads(struct store *s, struct bucket *b)
{
	char *dir = path_fmt("%s/b/%s/u", s->dir, b->name);
	DIR *d = NULL;
	struct dirent *de;
	int result = -1;

	if (!dir || mkdir_p(dir) < 0)
		goto out;
	d = opendir(dir);
	if (!d)
		goto out;
	for (de = readdir(d); de; de = readdir(d)) {
		if (is_hex_name(de->d_name, 32, ""))
			recover_upload(s, b, de->d_name);
	}
	result = 0;
out:
	if (d)
		closedir(d);
	free(dir);
	return result;
}

/* Adds a bucket to the index (and loads it from disk when there is one). */
struct bucket *bucket_add_locked(struct store *s, const char *name)
{
	struct bucket *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->name = strdup(name);
	if (!b->name)
		goto fail;
	if (s->dir && (recover_objects(s, b) < 0 || recover_uploads(s, b) < 0))
		goto fail;
	if (map_put(&s->buckets, name, b, NULL) < 0)
		goto fail;
	return b;
fail:
	free_bucket(b);
	return NULL;
}

int store_recover(struct store *s, char *err, size_t errlen)
{
	char *bdir = path_fmt("%s/b", s->dir);
	char *tdir = path_fmt("%s/tmp", s->dir);
	DIR *d = NULL;
	struct dirent *de;
	int result = -1;

	if (!bdir || !tdir) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (rm_rf(tdir) < 0 || mkdir_p(tdir) < 0 || mkdir_p(bdir) < 0) {
		snprintf(err, errlen, "cannot prepare %s: %s", s->dir, strerror(errno));
		goto out;
	}
	d = opendir(bdir);
	if (!d) {
		snprintf(err, errlen, "cannot read %s: %s", bdir, strerror(errno));
		goto out;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		if (!bucket_name_ok(de->d_name))
			continue;
		if (!bucket_add_locked(s, de->d_name)) {
			snprintf(err, errlen, "cannot load bucket %s: %s", de->d_name,
				 strerror(errno));
			goto out;
		}
	}
	result = 0;
out:
	if (d)
		closedir(d);
	free(bdir);
	free(tdir);
	return result;
}
