/*
 * source.h - where an upload's bytes come from (private).
 *
 * Layer: runtime (below the transfer).
 *
 * Owns: a seekable file or descriptor, read by offset with pread or copied
 * from a read-only shared mapping; the file's identity (device, inode,
 * size, mtime) taken at open, and the check that it has not changed.
 * No part buffers: any range can be read again for a retry.
 *
 * Threading: source_read may run concurrently on any threads (pread and
 * memcpy from a read-only mapping need no lock).  The rest belongs to the
 * thread that opened the source.
 */
#ifndef HOIST_SOURCE_H
#define HOIST_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hoist.h"

/* A source: what a transfer's parts are read from.  The seekable file or
 * descriptor below is the first implementation; a stream (a pipe, a pull
 * callback, push writes) hands out its bytes from part buffers it holds
 * until the part is verified, behind the same functions. */
struct source;
struct source_ops {
	/* Exactly len bytes at off into dst: 0; SOURCE_SHORT when the
	 * source no longer has them (a file that shrank); -1 with errno. */
	int (*read)(struct source *s, void *dst, uint64_t off, size_t len);
	/* 1 when what was read may differ from what is there now. */
	int (*changed)(struct source *s);
	/* [off, off+len) will not be read again soon (its part is done). */
	void (*done_with)(struct source *s, uint64_t off, uint64_t len);
	void (*free)(struct source *s);
	/* Optional: [off, off+len) as memory the source holds, valid until
	 * done_with of that range (a stream's part buffer), or NULL. */
	const void *(*view)(struct source *s, uint64_t off, uint64_t len);
};

struct source {
	const struct source_ops *ops;
	uint64_t size;       /* at open */
	/* Identity, for the resume journal and change detection; 0 when the
	 * source has none. */
	uint64_t dev;
	uint64_t ino;
	int64_t mtime_ns;
	/* The whole source as read-only memory, when it is one (mmap): a hash
	 * worker may read it in place instead of copying (a read still goes
	 * through source_read, which guards against a vanished page). */
	const unsigned char *map;
	/* The file source's own. */
	int fd;
	int own_fd;          /* 1: opened from a path, closed by source_free */
	enum hoist_io io;
};

/* The file source: opens path (O_RDONLY|O_CLOEXEC) or borrows fd.  A
 * non-regular file is refused (HOIST_E_INVALID_ARG: the engine needs a
 * size and offsets).  err gets one line on failure. */
hoist_status source_open_path(struct source **out, const char *path,
			      enum hoist_io io, char *err, size_t errlen);
hoist_status source_open_fd(struct source **out, int fd, enum hoist_io io,
			    char *err, size_t errlen);
void source_free(struct source *s);

/* Reads exactly len bytes at off into dst.  Returns 0; SOURCE_SHORT if the
 * file ended early (it shrank: a changed source); or -1 with errno set.
 * In mmap mode a page that vanished (SIGBUS) reads as SOURCE_SHORT instead
 * of killing the process. */
#define SOURCE_SHORT 1
int source_read(struct source *s, void *dst, uint64_t off, size_t len);

/* 1 if the file's size or mtime differ from those at open (or fstat
 * fails), else 0. */
int source_changed(struct source *s);

/* The bytes of [off, off+len) in place when the source holds them in
 * memory (a hash worker then reads them without a copy), else NULL. */
const void *source_view(struct source *s, uint64_t off, uint64_t len);

/* A hint that the bytes of [off, off+len) will not be read again soon:
 * in mmap mode the range is dropped from our page tables so a long upload
 * does not grow the resident set (the page cache keeps the data). */
void source_done_with(struct source *s, uint64_t off, uint64_t len);

#endif
