/*
 * dljournal.c - the download resume journal (see dljournal.h).
 *
 * Layer: runtime.
 *
 * Format (text, one field per line, so a human can read it and a torn
 * append loses at most its own line):
 *
 *   hoist-download 1
 *   size 30000007
 *   range 8388608
 *   etag "AEC2...-4"
 *   version -
 *   r 0 6982070198473705701
 *   r 2 ...
 *
 * Threading: see dljournal.h.
 */
#include "dljournal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "checksum.h"

struct dljournal {
	char *path;
	int fd;
	int have_hdr;
	struct dljournal_hdr found;
	/* Ranges an earlier run journaled: a sorted-by-index table would need
	 * the range count before HEAD; a plain array grown as lines come. */
	struct dljournal_mark *marks;
	size_t n, cap;
};

void dljournal_hdr_cleanup(struct dljournal_hdr *h)
{
	free(h->etag);
	free(h->version_id);
	memset(h, 0, sizeof(*h));
}

static int add_range(struct dljournal *j, const struct dljournal_mark *m)
{
	if (j->n == j->cap) {
		size_t ncap = j->cap ? j->cap * 2 : 64;
		struct dljournal_mark *nm = realloc(j->marks, ncap * sizeof(*nm));

		if (!nm)
			return -1;
		j->marks = nm;
		j->cap = ncap;
	}
	j->marks[j->n++] = *m;
	return 0;
}

/* "INDEX CRC64" or "INDEX CRC64 MD5HEX" of an "r" line. */
static int parse_range(char *sp, struct dljournal_mark *m)
{
	unsigned long long a;
	char *end, *md5;

	memset(m, 0, sizeof(*m));
	errno = 0;
	a = strtoull(sp, &end, 10);
	if (errno || end == sp || *end != ' ' || a > 0xffffffffull)
		return -1;
	m->index = (unsigned)a;
	md5 = strchr(end + 1, ' ');
	if (md5) {
		*md5++ = '\0';
		if (strlen(md5) != 32 || hex_decode(m->md5, md5, 16) < 0)
			return -1;
		m->has_md5 = 1;
	}
	return parse_u64(end + 1, &m->crc);
}

/* One complete line (without its newline).  Returns 0, or -1 when the
 * line makes the journal unusable (then nothing of it is trusted). */
static int parse_line(struct dljournal *j, char *line, int first)
{
	char *sp = strchr(line, ' ');
	struct dljournal_mark m;

	if (first)
		return strcmp(line, "hoist-download 1") == 0 ? 0 : -1;
	if (!sp)
		return -1;
	*sp++ = '\0';
	if (strcmp(line, "size") == 0)
		return parse_u64(sp, &j->found.size);
	if (strcmp(line, "range") == 0)
		return parse_u64(sp, &j->found.range);
	if (strcmp(line, "etag") == 0 || strcmp(line, "version") == 0) {
		char **dst = line[0] == 'e' ? &j->found.etag : &j->found.version_id;

		if (strcmp(sp, "-") == 0)
			return 0;
		free(*dst);
		*dst = strdup(sp);
		return *dst ? 0 : -1;
	}
	if (strcmp(line, "r") == 0) {
		return parse_range(sp, &m) < 0 ? -1 : add_range(j, &m);
	}
	return -1;
}

static void parse(struct dljournal *j, char *text, size_t len)
{
	size_t pos = 0;
	int first = 1;

	while (pos < len) {
		char *nl = memchr(text + pos, '\n', len - pos);

		if (!nl)
			break; /* a torn last line */
		*nl = '\0';
		if (parse_line(j, text + pos, first) < 0) {
			dljournal_forget(j);
			return;
		}
		first = 0;
		pos = (size_t)(nl - text) + 1;
	}
	j->have_hdr = !first && j->found.range > 0;
	if (!j->have_hdr) {
		dljournal_forget(j);
	}
}

static int read_all(int fd, struct buf *b)
{
	char tmp[65536];

	for (;;) {
		ssize_t n = read(fd, tmp, sizeof(tmp));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (buf_append(b, tmp, (size_t)n) < 0)
			return -1;
	}
}

hoist_status dljournal_open(struct dljournal **out, const char *path, char *err, size_t errlen)
{
	struct dljournal *j = calloc(1, sizeof(*j));
	struct buf b = BUF_INIT;

	*out = NULL;
	if (!j)
		return HOIST_E_NOMEM;
	j->fd = -1;
	j->path = strdup(path);
	if (!j->path) {
		dljournal_free(j);
		return HOIST_E_NOMEM;
	}
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		dljournal_free(j);
		return HOIST_E_IO;
	}
	if (flock(j->fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "'%s' is in use: another hoist is downloading to this file", path);
		close(j->fd);
		j->fd = -1; /* not ours: never removed */
		free(j->path);
		j->path = NULL;
		dljournal_free(j);
		return HOIST_E_CONFLICT;
	}
	if (read_all(j->fd, &b) == 0 && b.len) {
		parse(j, b.data, b.len);
	}
	buf_free(&b);
	*out = j;
	return HOIST_OK;
}

const struct dljournal_hdr *dljournal_found(const struct dljournal *j)
{
	return j->have_hdr ? &j->found : NULL;
}

int dljournal_range(const struct dljournal *j, unsigned index, struct dljournal_mark *m)
{
	size_t i;

	if (!j->have_hdr)
		return 0;
	/* The last line for an index wins (a range journaled twice). */
	for (i = j->n; i-- > 0;) {
		if (j->marks[i].index == index) {
			*m = j->marks[i];
			return 1;
		}
	}
	return 0;
}

void dljournal_forget(struct dljournal *j)
{
	j->have_hdr = 0;
	dljournal_hdr_cleanup(&j->found);
	j->n = 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int dljournal_reset(struct dljournal *j, const struct dljournal_hdr *h)
{
	struct buf b = BUF_INIT;
	int rc;

	if (buf_printf(&b, "hoist-download 1\nsize %" PRIu64 "\nrange %" PRIu64 "\netag %s\nversion %s\n",
		       h->size, h->range, h->etag && *h->etag ? h->etag : "-",
		       h->version_id && *h->version_id ? h->version_id : "-") < 0) {
		buf_free(&b);
		return -ENOMEM;
	}
	if (ftruncate(j->fd, 0) < 0 || lseek(j->fd, 0, SEEK_SET) < 0) {
		rc = -errno;
	} else {
		rc = write_all(j->fd, b.data, b.len);
	}
	if (rc == 0 && fdatasync(j->fd) < 0) {
		rc = -errno;
	}
	buf_free(&b);
	return rc;
}

int dljournal_append(struct dljournal *j, const struct dljournal_mark *m, size_t n)
{
	struct buf b = BUF_INIT;
	char hex[33];
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		hex[0] = '\0';
		if (m[i].has_md5) {
			hex_encode(hex, m[i].md5, 16, 0);
		}
		rc = buf_printf(&b, "r %u %" PRIu64 "%s%s\n", m[i].index, m[i].crc,
				m[i].has_md5 ? " " : "", hex);
	}
	if (rc < 0) {
		buf_free(&b);
		return -ENOMEM;
	}
	/* O_APPEND is not set (reset truncates and seeks); every write goes
	 * at the end because only this thread writes. */
	rc = write_all(j->fd, b.data, b.len);
	buf_free(&b);
	return rc;
}

void dljournal_remove(struct dljournal *j)
{
	if (j && j->path && j->fd >= 0) {
		unlink(j->path);
	}
}

void dljournal_free(struct dljournal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		close(j->fd);
	}
	dljournal_hdr_cleanup(&j->found);
	free(j->marks);
	free(j->path);
	free(j);
}
