/*
 * dljournal.h - the resume journal of a download to a file (private).
 *
 * Layer: runtime.
 *
 * Owns: one text file beside the download's temporary file
 * (".NAME.hoist-journal"), mode 0600, no secrets: a header naming the
 * object as HEAD described it (size, range size, ETag, version id), then
 * one line per range whose bytes are durable in the temporary file
 * ("r INDEX CRC64", then " MD5HEX" for a range that is a part of an S3
 * object checked by its parts), appended with one write(2) per batch after an
 * fdatasync of the temporary file, so a line never describes bytes a crash
 * could lose.  A torn last line (a crash during the append) is ignored.
 * The file is locked (flock) while a download uses it: a second download
 * to the same target fails at once instead of writing the same file.
 *
 * Threading: open and the readers on the caller's thread before the
 * transfer starts, reset and append on the sink's writer thread only;
 * never two threads at once (the sink's queue orders them).
 */
#ifndef HOIST_DLJOURNAL_H
#define HOIST_DLJOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

struct dljournal_hdr {
	uint64_t size;
	uint64_t range;
	char *etag;                /* NULL: none */
	char *version_id;          /* NULL: none */
};

/* One range's line. */
struct dljournal_mark {
	unsigned index;            /* 0-based */
	uint64_t crc;              /* CRC64 of its bytes */
	int has_md5;               /* md5 is the MD5 of its bytes (download_parts.c) */
	uint8_t md5[16];
};

struct dljournal;

/* Opens (creating it when absent) and locks the journal at path, and
 * reads what an earlier run left.  HOIST_OK; HOIST_E_CONFLICT when another
 * process holds it; HOIST_E_IO with err. */
hoist_status dljournal_open(struct dljournal **out, const char *path, char *err, size_t errlen);
/* The header an earlier run wrote, or NULL. */
const struct dljournal_hdr *dljournal_found(const struct dljournal *j);
/* 1 and *m when the earlier run journaled range index (0-based). */
int dljournal_range(const struct dljournal *j, unsigned index, struct dljournal_mark *m);
/* Forgets what was read (a restart, or a header that no longer matches). */
void dljournal_forget(struct dljournal *j);
/* Writer thread: truncates and writes h as the new header, synced.
 * 0 or -errno. */
int dljournal_reset(struct dljournal *j, const struct dljournal_hdr *h);
/* Writer thread: appends n range lines in one write.  0 or -errno. */
int dljournal_append(struct dljournal *j, const struct dljournal_mark *m, size_t n);
/* Removes the file (after success, or when the state is worthless). */
void dljournal_remove(struct dljournal *j);
/* Closes (unlocks) and frees; the file stays unless removed. */
void dljournal_free(struct dljournal *j);
void dljournal_hdr_cleanup(struct dljournal_hdr *h);

#endif
