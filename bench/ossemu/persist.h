/*
 * persist.h - the file-level helpers of the on-disk store.
 *
 * Metadata files are "name=value" lines, values percent-encoded (RFC 3986
 * unreserved set) so keys with newlines or '=' survive; they are written to
 * a temp file and renamed over the old one, so a reader (or a restart) sees
 * the old or the new file, never half of one.  No fsync: a crash of ossemu
 * loses nothing it acknowledged, a power loss may (ossemu is a test server).
 *
 * Threading: reentrant; callers serialise access to the same paths.
 */
#ifndef OSSEMU_PERSIST_H
#define OSSEMU_PERSIST_H

#include <stdint.h>

#include "buf.h"
#include "store.h"

/* Appends "name=<encoded value>\n".  0 or -1. */
int meta_append(struct buf *b, const char *name, const char *value);
int meta_append_u64(struct buf *b, const char *name, uint64_t v);
/* Writes content to tmp_path, then renames it to path.  0 or -1 (errno). */
int meta_write(const char *tmp_path, const char *path, const struct buf *content);
/* Reads a metadata file into name/value pairs (values decoded).  0 or -1. */
int meta_read(const char *path, struct hdrs *out);
int meta_get_u64(const struct hdrs *m, const char *name, uint64_t *out);

int mkdir_p(const char *path);
/* Removes a directory tree (no symlinks are followed).  0 or -1. */
int rm_rf(const char *path);
/* Appends len bytes of in (from its offset 0) to out. 0 or -1 (errno). */
int copy_fd(int out, int in, uint64_t len);

#endif
