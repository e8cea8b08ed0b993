/*
 * journal.c - the resume journal (see journal.h).
 *
 * Format: text, one record per line, every string percent-encoded (so no
 * key can forge a line), every number decimal:
 *
 *   hoist-journal 1
 *   endpoint http%3A%2F%2F127.0.0.1%3A9000
 *   bucket bkt
 *   key dir%2Fa%20b
 *   upload-id 0004B9894A22E5B1888A1E29F823ABCD   (absent in an intent)
 *   intent 1764747273                          (optional: Unix seconds)
 *   resume 1                                   (optional: 0 or 1, default 1)
 *   part-size 8388608
 *   size 1073741824
 *   dev 2049
 *   ino 1234567
 *   mtime-ns 1700000000123456789
 *   end-header
 *   part 1 8388608 6571598172666981661 %22ETAG%22
 *   part 2 8388608 - %22ETAG%22            ("-": no CRC64 known)
 *
 * The parser accepts exactly this (it reads bytes from disk that anything
 * could have written, and is a fuzz target); a part line that does not
 * parse ends the part list (a torn append after a crash).
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: see journal.h.
 */
#include "journal.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "checksum.h"
#include "response.h"
#include "sign.h"

#define MAGIC "hoist-journal 1"
#define JOURNAL_MAX (64u * 1024 * 1024)

struct journal {
	int fd;
	int dirty;
	int broken;
	char *path;
};

/* ------------------------------------------------------------- naming */

char *journal_path(const char *dir, const char *endpoint, const char *bucket,
		   const char *key, const char *identity)
{
	struct buf id = BUF_INIT, out = BUF_INIT;
	char hex[65];
	int rc = 0;

	rc |= buf_printf(&id, "%s\n%s\n%s\n%s", endpoint, bucket, key, identity);
	if (rc == 0) {
		sign_sha256_hex(hex, id.data, id.len);
		rc |= buf_printf(&out, "%s/%.32s.journal", dir, hex);
	}
	buf_free(&id);
	if (rc) {
		buf_free(&out);
		return NULL;
	}
	return buf_detach(&out);
}

char *journal_default_dir(void)
{
	const char *x = getenv("XDG_CACHE_HOME");
	const char *h = getenv("HOME");
	struct buf b = BUF_INIT;
	int rc;

	if (x && *x == '/') {
		rc = buf_printf(&b, "%s/hoist", x);
	} else if (h && *h) {
		rc = buf_printf(&b, "%s/.cache/hoist", h);
	} else {
		return NULL;
	}
	if (rc) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int journal_mkdir(const char *dir)
{
	char *copy, *p;
	int rc = 0;

	copy = strdup(dir);
	if (!copy)
		return -1;
	for (p = copy + 1; *p && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			rc = -1;
		}
		*p = '/';
	}
	if (rc == 0 && mkdir(copy, 0700) < 0 && errno != EEXIST) {
		rc = -1;
	}
	free(copy);
	return rc;
}

/* ------------------------------------------------------------- parsing */

void journal_rec_cleanup(struct journal_rec *rec)
{
	size_t i;

	free(rec->endpoint);
	free(rec->bucket);
	free(rec->key);
	free(rec->upload_id);
	for (i = 0; i < rec->nparts; i++) {
		free(rec->parts[i].etag);
	}
	free(rec->parts);
	memset(rec, 0, sizeof(*rec));
}

const struct journal_part *journal_rec_find(const struct journal_rec *rec,
					    unsigned number)
{
	size_t i = rec->nparts;

	while (i-- > 0) {
		if (rec->parts[i].number == number)
			return &rec->parts[i];
	}
	return NULL;
}

/* A line [p, end) without its newline, split at the first space. */
struct line {
	const char *name;
	size_t nlen;
	const char *val;
	size_t vlen;
};

static int next_line(const char **cur, const char *end, struct line *l)
{
	const char *p = *cur, *nl, *sp;

	if (p >= end)
		return -1;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl) {
		return -1; /* a torn last line */
	}
	*cur = nl + 1;
	sp = memchr(p, ' ', (size_t)(nl - p));
	l->name = p;
	l->nlen = sp ? (size_t)(sp - p) : (size_t)(nl - p);
	l->val = sp ? sp + 1 : nl;
	l->vlen = sp ? (size_t)(nl - sp - 1) : 0;
	return 0;
}

static int is(const struct line *l, const char *name)
{
	return l->nlen == strlen(name) && memcmp(l->name, name, l->nlen) == 0;
}

static int take_u64(const char *s, size_t n, uint64_t *out)
{
	char tmp[24];

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return parse_u64(tmp, out);
}

static int take_i64(const char *s, size_t n, int64_t *out)
{
	uint64_t v;
	int neg = n > 0 && s[0] == '-';

	/* INT64_MIN has no positive twin: allow one more when negative, so
	 * that every value journal_create writes reads back. */
	if (take_u64(s + neg, n - (size_t)neg, &v) < 0 || v > (uint64_t)INT64_MAX + (uint64_t)neg)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int take_str(const char *s, size_t n, char **out)
{
	char *tmp, *d;

	if (n == 0 || n > 8192 || memchr(s, '\0', n))
		return -1;
	tmp = malloc(n + 1);
	if (!tmp)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	d = url_decode(tmp);
	free(tmp);
	if (!d)
		return -1;
	free(*out);
	*out = d;
	return 0;
}

static int parse_part(struct journal_rec *rec, const struct line *l)
{
	const char *p = l->val, *end = l->val + l->vlen;
	const char *f[4];
	size_t fl[4];
	struct journal_part jp;
	uint64_t v;
	int i;

	for (i = 0; i < 4; i++) {
		const char *sp = i < 3 ? memchr(p, ' ', (size_t)(end - p)) : NULL;

		if (p > end || (i < 3 && !sp))
			return -1;
		f[i] = p;
		fl[i] = i < 3 ? (size_t)(sp - p) : (size_t)(end - p);
		p = i < 3 ? sp + 1 : end;
	}
	memset(&jp, 0, sizeof(jp));
	if (take_u64(f[0], fl[0], &v) < 0 || v == 0 || v > 10000)
		return -1;
	jp.number = (unsigned)v;
	if (take_u64(f[1], fl[1], &jp.size) < 0)
		return -1;
	if (fl[2] == 1 && f[2][0] == '-') {
		jp.crc_valid = 0;
	} else if (take_u64(f[2], fl[2], &jp.crc) == 0) {
		jp.crc_valid = 1;
	} else {
		return -1;
	}
	if (take_str(f[3], fl[3], &jp.etag) < 0)
		return -1;
	if (rec->nparts == rec->cap) {
		size_t ncap = rec->cap ? rec->cap * 2 : 64;
		struct journal_part *np;

		np = ncap > 1000000 ? NULL : realloc(rec->parts, ncap * sizeof(*np));
		if (!np) {
			free(jp.etag);
			return -1;
		}
		rec->parts = np;
		rec->cap = ncap;
	}
	rec->parts[rec->nparts++] = jp;
	return 0;
}

int journal_parse(struct journal_rec *rec, const char *text, size_t len)
{
	const char *cur = text, *end = text + len;
	struct line l;
	int have = 0, rc = -1;

	memset(rec, 0, sizeof(*rec));
	if (next_line(&cur, end, &l) < 0 || l.vlen + l.nlen + 1 != strlen(MAGIC) ||
	    memcmp(l.name, MAGIC, strlen(MAGIC)) != 0)
		goto out;
	for (;;) {
		if (next_line(&cur, end, &l) < 0) {
			goto out; /* no end-header: not a complete journal */
		}
		if (is(&l, "end-header"))
			break;
		if (is(&l, "endpoint")) {
			if (take_str(l.val, l.vlen, &rec->endpoint) < 0)
				goto out;
			have |= 1;
		} else if (is(&l, "bucket")) {
			if (take_str(l.val, l.vlen, &rec->bucket) < 0)
				goto out;
			have |= 2;
		} else if (is(&l, "key")) {
			if (take_str(l.val, l.vlen, &rec->key) < 0)
				goto out;
			have |= 4;
		} else if (is(&l, "upload-id")) {
			if (take_str(l.val, l.vlen, &rec->upload_id) < 0)
				goto out;
			have |= 8;
		} else if (is(&l, "intent")) {
			if (take_i64(l.val, l.vlen, &rec->intent_time) < 0 || rec->intent_time <= 0)
				goto out;
		} else if (is(&l, "resume")) {
			if (l.vlen != 1 || (l.val[0] != '0' && l.val[0] != '1'))
				goto out;
			rec->no_resume = l.val[0] == '0';
		} else if (is(&l, "part-size")) {
			if (take_u64(l.val, l.vlen, &rec->part_size) < 0 || rec->part_size == 0)
				goto out;
			have |= 16;
		} else if (is(&l, "size")) {
			if (take_u64(l.val, l.vlen, &rec->size) < 0)
				goto out;
			have |= 32;
		} else if (is(&l, "dev")) {
			if (take_u64(l.val, l.vlen, &rec->dev) < 0)
				goto out;
			have |= 64;
		} else if (is(&l, "ino")) {
			if (take_u64(l.val, l.vlen, &rec->ino) < 0)
				goto out;
			have |= 128;
		} else if (is(&l, "mtime-ns")) {
			if (take_i64(l.val, l.vlen, &rec->mtime_ns) < 0)
				goto out;
			have |= 256;
		}
		/* Unknown header lines are skipped: newer versions may add. */
	}
	/* An intent journal has no upload id (and no parts), but a time. */
	if (have != 511 && !(have == 511 - 8 && rec->intent_time > 0))
		goto out;
	while (next_line(&cur, end, &l) == 0) {
		if (!rec->upload_id || !is(&l, "part") || parse_part(rec, &l) < 0)
			break;
	}
	rc = 0;
out:
	if (rc) {
		journal_rec_cleanup(rec);
	}
	return rc;
}

int journal_load(struct journal_rec *rec, const char *path)
{
	struct buf b = BUF_INIT;
	char chunk[65536];
	int fd, rc = -1;
	ssize_t n;

	memset(rec, 0, sizeof(*rec));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (b.len + (size_t)n > JOURNAL_MAX || buf_append(&b, chunk, (size_t)n) < 0) {
			errno = EFBIG;
			goto out;
		}
	}
	if (!b.data || journal_parse(rec, b.data, b.len) < 0) {
		errno = EINVAL;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	buf_free(&b);
	return rc;
}

/* ------------------------------------------------------------- writing */

static int put_enc(struct buf *b, const char *name, const char *s)
{
	char *e = sign_uri_encode(s ? s : "", 0);
	int rc;

	if (!e)
		return -1;
	rc = buf_printf(b, "%s %s\n", name, e);
	free(e);
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

/* A hoist killed between creating its temporary journal and renaming it
 * leaves "<journal>.tmp<pid>" behind; the next run for the same upload
 * removes those whose process is gone (a live one may be another hoist
 * creating the same journal right now, and keeps its file). */
static void remove_stale_tmp(const char *path)
{
	char *dcopy = strdup(path), *bcopy = strdup(path);
	struct buf prefix = BUF_INIT, victim = BUF_INIT;
	const char *dir, *base;
	struct dirent *de;
	DIR *d = NULL;

	if (!dcopy || !bcopy)
		goto out;
	dir = dirname(dcopy);
	base = basename(bcopy);
	if (buf_printf(&prefix, "%s.tmp", base) < 0)
		goto out;
	d = opendir(dir);
	if (!d)
		goto out;
	while ((de = readdir(d)) != NULL) {
		uint64_t pid;

		if (strncmp(de->d_name, prefix.data, prefix.len) != 0)
			continue;
		if (parse_u64(de->d_name + prefix.len, &pid) < 0 || pid == 0 || pid > INT32_MAX)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		buf_reset(&victim);
		if (buf_printf(&victim, "%s/%s", dir, de->d_name) == 0)
			unlink(victim.data);
	}
out:
	if (d)
		closedir(d);
	buf_free(&prefix);
	buf_free(&victim);
	free(dcopy);
	free(bcopy);
}

int journal_create(struct journal **out, const char *path, const struct journal_rec *rec)
{
	struct journal *j = NULL;
	struct buf b = BUF_INIT, tmp = BUF_INIT;
	int fd = -1, rc = 0, saved;

	*out = NULL;
	if (!rec->upload_id && rec->intent_time <= 0) {
		errno = EINVAL;
		return -1;
	}
	rc |= buf_puts(&b, MAGIC "\n");
	rc |= put_enc(&b, "endpoint", rec->endpoint);
	rc |= put_enc(&b, "bucket", rec->bucket);
	rc |= put_enc(&b, "key", rec->key);
	if (rec->upload_id) {
		rc |= put_enc(&b, "upload-id", rec->upload_id);
	} else {
		rc |= buf_printf(&b, "intent %" PRId64 "\n", rec->intent_time);
	}
	if (rec->no_resume) {
		rc |= buf_puts(&b, "resume 0\n");
	}
	rc |= buf_printf(&b, "part-size %" PRIu64 "\nsize %" PRIu64 "\ndev %" PRIu64
			     "\nino %" PRIu64 "\nmtime-ns %" PRId64 "\nend-header\n",
			 rec->part_size, rec->size, rec->dev, rec->ino, rec->mtime_ns);
	rc |= buf_printf(&tmp, "%s.tmp%ld", path, (long)getpid());
	j = calloc(1, sizeof(*j));
	if (j) {
		j->path = strdup(path);
	}
	if (rc || !j || !j->path) {
		errno = ENOMEM;
		goto fail;
	}
	remove_stale_tmp(path);
	unlink(tmp.data);
	fd = open(tmp.data, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		goto fail;
	if (write_all(fd, b.data, b.len) < 0 || fsync(fd) < 0 || rename(tmp.data, path) < 0)
		goto fail;
	fsync_dir(path);
	j->fd = fd;
	buf_free(&b);
	buf_free(&tmp);
	*out = j;
	return 0;
fail:
	saved = errno;
	if (fd >= 0) {
		close(fd);
		unlink(tmp.data);
	}
	if (j) {
		free(j->path);
	}
	free(j);
	buf_free(&b);
	buf_free(&tmp);
	errno = saved;
	return -1;
}

void journal_part(struct journal *j, unsigned number, uint64_t size, const char *etag,
		  uint64_t crc, int crc_valid)
{
	struct buf b = BUF_INIT;
	char *e;
	int rc;

	if (!j || j->broken)
		return;
	/* A part is only worth keeping with the ETag Complete will name; an
	 * empty field would also end the part list when the journal is read
	 * back (found by fuzz_journal), losing every later part. */
	if (!etag || !*etag)
		return;
	e = sign_uri_encode(etag, 0);
	if (!e) {
		j->broken = 1;
		return;
	}
	if (crc_valid) {
		rc = buf_printf(&b, "part %u %" PRIu64 " %" PRIu64 " %s\n", number, size, crc, e);
	} else {
		rc = buf_printf(&b, "part %u %" PRIu64 " - %s\n", number, size, e);
	}
	free(e);
	/* One write(2) per line with O_APPEND: lines never interleave, and a
	 * crash leaves at worst one torn line at the end. */
	if (rc || write_all(j->fd, b.data, b.len) < 0) {
		j->broken = 1;
	} else {
		j->dirty = 1;
	}
	buf_free(&b);
}

void journal_flush(struct journal *j)
{
	if (!j || !j->dirty || j->broken)
		return;
	fdatasync(j->fd);
	j->dirty = 0;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	journal_flush(j);
	close(j->fd);
	free(j->path);
	free(j);
}

void journal_discard(struct journal *j)
{
	if (!j)
		return;
	close(j->fd);
	unlink(j->path);
	fsync_dir(j->path);
	free(j->path);
	free(j);
}

const char *journal_file(const struct journal *j)
{
	return j ? j->path : NULL;
}
