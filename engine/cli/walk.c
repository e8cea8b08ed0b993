/*
 * walk.c - the walk of a local tree for hoist cp -r, in byte order of the
 * keys it makes.
 *
 * Owns: reading directories (openat / fdopendir, so a path is resolved
 * once per level), classifying entries (d_type when the file system gives
 * it, else lstat), the order, symlink policy and loop detection.
 *
 * OSS and S3 list keys in byte order of their UTF-8, so a walk in the same
 * order merges with one paged listing in fixed memory (tree.c).  Each
 * directory's entries are sorted by their key form, a directory "a" as
 * "a/": every key under it starts with "a/", and no sibling's name can
 * contain '/', so comparing "a/" with a sibling orders the whole subtree
 * as the listing does ("a-b" before "a/b": '-' is 0x2D, '/' 0x2F).  A
 * directory is read whole when the walk enters it: memory is one entry
 * list per level of the current path (and its open descriptor), never the
 * tree, and the first file comes as soon as the first directories are
 * read.  Symlinks and special files are items to skip; with follow a link
 * is what its target is, and a directory already on the current path
 * (compared by device and inode) is a loop, skipped.
 * Threading: a walk belongs to one thread.
 */
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind {
	K_FILE,
	K_DIR,
	K_LINK,     /* a symlink not followed */
	K_SPECIAL,  /* device, FIFO, socket */
	K_BROKEN    /* a followed symlink whose target is missing */
};

struct dent {
	char *key;                 /* the name, with '/' appended for a directory */
	size_t nlen;               /* the name's length (without that '/') */
	unsigned char kind;
	unsigned char followed;    /* reached through a symlink */
};

struct level {
	int fd;                    /* the directory, for openat / fstatat */
	dev_t dev;
	ino_t ino;
	struct dent *ents;
	size_t n, next;
	size_t rel_len;            /* length of rel for this directory ("" or "a/b/") */
};

struct walk {
	const char *root;
	int follow;
	struct level *stack;
	size_t depth, cap;
	char *rel;                 /* the relative path being built */
	size_t rel_cap;
};

static int dent_cmp(const void *a, const void *b)
{
	const struct dent *x = a, *y = b;

	return strcmp(x->key, y->key);
}

static void level_free(struct level *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->ents[i].key);
	}
	free(l->ents);
	if (l->fd >= 0) {
		close(l->fd);
	}
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

/* What a directory entry is, from d_type when the file system gives it,
 * else from lstat; a followed symlink is what its target is. */
static void classify(struct dent *e, int dfd, const char *name, unsigned char dtype, int follow)
{
	struct stat st;

	if (dtype == DT_UNKNOWN) {
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			e->kind = K_BROKEN;
			return;
		}
		dtype = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR
			: S_ISLNK(st.st_mode) ? DT_LNK : DT_CHR;
	}
	if (dtype == DT_LNK) {
		if (!follow) {
			e->kind = K_LINK;
			return;
		}
		e->followed = 1;
		if (fstatat(dfd, name, &st, 0) != 0) {
			e->kind = K_BROKEN;
			return;
		}
		dtype = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_CHR;
	}
	e->kind = dtype == DT_REG ? K_FILE : dtype == DT_DIR ? K_DIR : K_SPECIAL;
}

/* Reads the directory open at fd into l (which takes fd), sorted by key
 * form.  0, or -1 with errno. */
static int level_read(struct level *l, int fd, int follow)
{
	struct stat st;
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int dfd, saved;

	l->fd = fd;
	if (fstat(fd, &st) != 0)
		return -1;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	dfd = dup(fd);
	if (dfd < 0)
		return -1;
	d = fdopendir(dfd);
	if (!d) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	for (;;) {
		struct dent *e;
		size_t nl;

		errno = 0;
		de = readdir(d);
		if (!de)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (l->n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			struct dent *ne = realloc(l->ents, ncap * sizeof(*ne));

			if (!ne)
				goto fail;
			l->ents = ne;
			cap = ncap;
		}
		e = &l->ents[l->n];
		memset(e, 0, sizeof(*e));
		classify(e, fd, de->d_name, de->d_type, follow);
		nl = strlen(de->d_name);
		e->nlen = nl;
		e->key = malloc(nl + 2);
		if (!e->key)
			goto fail;
		memcpy(e->key, de->d_name, nl);
		e->key[nl] = e->kind == K_DIR ? '/' : '\0';
		e->key[nl + 1] = '\0';
		l->n++;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	if (l->n > 1) {
		qsort(l->ents, l->n, sizeof(*l->ents), dent_cmp); /* an empty one has no array */
	}
	return 0;
fail:
	saved = errno ? errno : ENOMEM;
	closedir(d);
	errno = saved;
	return -1;
}

static int rel_set(struct walk *w, size_t at, const char *name, size_t nlen, int slash)
{
	size_t need = at + nlen + 2;

	if (need > w->rel_cap) {
		size_t ncap = need * 2;
		char *nr = realloc(w->rel, ncap);

		if (!nr)
			return -1;
		w->rel = nr;
		w->rel_cap = ncap;
	}
	memcpy(w->rel + at, name, nlen);
	if (slash) {
		w->rel[at + nlen++] = '/';
	}
	w->rel[at + nlen] = '\0';
	return 0;
}

static int walk_push(struct walk *w, int fd, size_t rel_len)
{
	struct level *l;

	if (w->depth == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 16;
		struct level *ns = realloc(w->stack, ncap * sizeof(*ns));

		if (!ns) {
			close(fd);
			errno = ENOMEM;
			return -1;
		}
		w->stack = ns;
		w->cap = ncap;
	}
	l = &w->stack[w->depth];
	memset(l, 0, sizeof(*l));
	l->rel_len = rel_len;
	if (level_read(l, fd, w->follow) != 0) {
		int saved = errno;

		level_free(l);
		errno = saved;
		return -1;
	}
	w->depth++;
	return 0;
}

static int on_path(const struct walk *w, dev_t dev, ino_t ino)
{
	size_t i;

	for (i = 0; i < w->depth; i++) {
		if (w->stack[i].dev == dev && w->stack[i].ino == ino)
			return 1;
	}
	return 0;
}

int walk_new(struct walk **out, const char *root, int follow)
{
	struct walk *w = calloc(1, sizeof(*w));
	int fd;

	*out = w;
	if (!w) {
		errno = ENOMEM;
		return -1;
	}
	w->root = root;
	w->follow = follow;
	if (rel_set(w, 0, "", 0, 0) < 0) {
		errno = ENOMEM;
		return -1;
	}
	/* The root itself may be a link to a directory, as with cp -r. */
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	return walk_push(w, fd, 0);
}

void walk_free(struct walk *w)
{
	if (!w)
		return;
	while (w->depth) {
		level_free(&w->stack[--w->depth]);
	}
	free(w->stack);
	free(w->rel);
	free(w);
}

void walk_next(struct walk *w, struct walk_item *it)
{
	memset(it, 0, sizeof(*it));
	while (w->depth) {
		struct level *l = &w->stack[w->depth - 1];
		struct dent *e;
		int fd, flags;

		if (l->next == l->n) {
			level_free(l);
			w->depth--;
			continue;
		}
		e = &l->ents[l->next++];
		if (rel_set(w, l->rel_len, e->key, e->nlen, 0) < 0) {
			it->kind = WALK_ERROR;
			it->why = "out of memory";
			it->err = ENOMEM;
			it->rel = "";
			return;
		}
		it->rel = w->rel;
		switch (e->kind) {
		case K_LINK:
			it->kind = WALK_SKIP;
			it->why = "symlink";
			return;
		case K_SPECIAL:
			it->kind = WALK_SKIP;
			it->why = "special file";
			return;
		case K_BROKEN:
			it->kind = WALK_SKIP;
			it->why = "broken symlink";
			return;
		case K_FILE:
			flags = e->followed ? 0 : AT_SYMLINK_NOFOLLOW;
			if (fstatat(l->fd, e->key, &it->st, flags) != 0) {
				it->kind = WALK_ERROR;
				it->why = "cannot stat";
				it->err = errno;
				return;
			}
			if (!S_ISREG(it->st.st_mode)) {
				it->kind = WALK_SKIP; /* changed since it was listed */
				it->why = "not a regular file";
				return;
			}
			it->kind = WALK_FILE;
			return;
		case K_DIR:
		default:
			break;
		}
		flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (e->followed ? 0 : O_NOFOLLOW);
		fd = openat(l->fd, e->key, flags);
		if (fd < 0) {
			it->kind = WALK_ERROR;
			it->why = "cannot open the directory";
			it->err = errno;
			return;
		}
		{
			struct stat st;
			size_t rl = l->rel_len + e->nlen + 1;

			if (fstat(fd, &st) == 0 && on_path(w, st.st_dev, st.st_ino)) {
				close(fd);
				it->kind = WALK_SKIP;
				it->why = "symlink loop";
				return;
			}
			if (rel_set(w, l->rel_len, e->key, e->nlen, 1) < 0 || walk_push(w, fd, rl) < 0) {
				it->kind = WALK_ERROR;
				it->why = "cannot read the directory";
				it->err = errno;
				it->rel = w->rel;
				return;
			}
		}
		/* l may have moved with the stack: loop again from the top. */
	}
	it->kind = WALK_END;
}

