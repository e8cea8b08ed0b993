/*
 * walk.h - the walk of a local tree in byte order of the keys it makes
 * (hoist cp -r; see walk.c).
 *
 * Threading: a walk belongs to one thread.
 */
#ifndef HOIST_CLI_WALK_H
#define HOIST_CLI_WALK_H

#include <sys/stat.h>

struct walk;

enum walk_kind {
	WALK_FILE,                 /* a regular file (st is its stat) */
	WALK_SKIP,                 /* symlink, special file, loop, broken link */
	WALK_ERROR,                /* could not read or stat: to report and count */
	WALK_END
};

struct walk_item {
	enum walk_kind kind;
	const char *rel;           /* relative to the root; BORROWED until the next walk_next */
	const char *why;           /* WALK_SKIP: "symlink", ...; WALK_ERROR: what failed (static) */
	int err;                   /* WALK_ERROR: errno */
	struct stat st;            /* WALK_FILE */
};

/* Opens root (a directory, or a symlink to one) for a walk; follow: go
 * through symlinks.  0, or -1 with errno (ENOTDIR when root is not a
 * directory).  *out is freed with walk_free, also after a failure. */
int walk_new(struct walk **out, const char *root, int follow);
/* The next item, in ascending byte order of the relative paths: a
 * directory "a" is ordered as "a/", so "a-b" comes before "a/b". */
void walk_next(struct walk *w, struct walk_item *it);
void walk_free(struct walk *w);

#endif
