/*
 * persist.c - metadata files, directory trees and file copies for store.c.
 *
 * Owns: the metadata file format (persist.h) and the few filesystem
 * primitives the store needs.  Decoding uses libcurl's unescaper and
 * encoding the signing module's RFC 3986 encoder: no hand-rolled escaping.
 *
 * Threading: reentrant; store.c serialises writers of one path.
 */
#include "persist.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checksum.h"
#include "sign.h"

int meta_append(struct buf *b, const char *name, const char *value)
{
	char *enc = sign_uri_encode(value ? value : "", 0);
	int r;

	if (!enc)
		return -1;
	r = buf_printf(b, "%s=%s\n", name, enc);
	free(enc);
	return r;
}

int meta_append_u64(struct buf *b, const char *name, uint64_t v)
{
	return buf_printf(b, "%s=%llu\n", name, (unsigned long long)v);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int meta_write(const char *tmp_path, const char *path, const struct buf *content)
{
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int saved;

	if (fd < 0)
		return -1;
	if (write_all(fd, content->data ? content->data : "", content->len) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp_path, path) < 0)
		goto fail;
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp_path);
	errno = saved;
	return -1;
}

int meta_read(const char *path, struct hdrs *out)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int result = -1;

	out->v = NULL;
	out->n = 0;
	if (!f)
		return -1;
	for (len = getline(&line, &cap, f); len > 0; len = getline(&line, &cap, f)) {
		char *eq;
		char *val;
		int vlen = 0;

		if (line[len - 1] == '\n')
			line[--len] = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		val = curl_easy_unescape(NULL, eq + 1, 0, &vlen);
		if (!val)
			goto out;
		if (hdrs_add(out, line, val) < 0) {
			curl_free(val);
			goto out;
		}
		curl_free(val);
	}
	result = 0;
out:
	free(line);
	fclose(f);
	if (result < 0)
		hdrs_cleanup(out);
	return result;
}

int meta_get_u64(const struct hdrs *m, const char *name, uint64_t *out)
{
	const char *v = hdrs_get(m, name);

	if (!v)
		return -1;
	return parse_u64(v, out);
}

int mkdir_p(const char *path)
{
	char *p = strdup(path);
	int result = -1;

	if (!p)
		return -1;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			goto out;
		*s = '/';
	}
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		goto out;
	result = 0;
out:
	free(p);
	return result;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int rm_rf(const char *path)
{
	if (access(path, F_OK) < 0)
		return errno == ENOENT ? 0 : -1;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int copy_fd(int out, int in, uint64_t len)
{
	loff_t off_in = 0;
	char *bounce = NULL;
	int result = -1;

	/* copy_file_range keeps the bytes in the kernel (and may reflink);
	 * fall back to read/write where the filesystem refuses it. */
	while (len) {
		size_t want = len > (1u << 30) ? (1u << 30) : (size_t)len;
		ssize_t n = copy_file_range(in, &off_in, out, NULL, want, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
			      errno == EOPNOTSUPP))
			break;
		if (n < 0)
			goto out;
		if (n == 0) {
			errno = EIO; /* the part file is shorter than recorded */
			goto out;
		}
		len -= (uint64_t)n;
	}
	if (len) {
		bounce = malloc(1u << 20);
		if (!bounce)
			goto out;
	}
	while (len) {
		size_t want = len > (1u << 20) ? (1u << 20) : (size_t)len;
		ssize_t n = pread(in, bounce, want, off_in);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto out;
		}
		if (write_all(out, bounce, (size_t)n) < 0)
			goto out;
		off_in += n;
		len -= (uint64_t)n;
	}
	result = 0;
out:
	free(bounce);
	return result;
}
