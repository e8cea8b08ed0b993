/*
 * journal.h - the resume journal of a multipart upload (private).
 *
 * Owns: one file per (endpoint, bucket, key, source file) in the checkpoint
 * directory, mode 0600, holding no secret: the upload id, the part size,
 * the file's identity (device, inode, size, mtime) and one line per
 * finished part (number, size, ETag, CRC64).  The header is written
 * atomically (temporary file, fsync, rename, fsync of the directory); part
 * lines are appended and made durable in batches (journal_flush, about
 * once a second), so a crash loses at most the last second of records,
 * and those parts are found again by ListParts and verified by hashing.
 * A torn last line is ignored when reading.
 *
 * Intent: the journal is written *before* InitiateMultipartUpload, without
 * an upload id and with the time of the intent, then rewritten with the id
 * as soon as Initiate answers.  A hoist killed in between leaves an intent
 * journal, and the next run looks for the upload that Initiate may have
 * created (an empty upload of that key, initiated around that time) and
 * aborts it, so nothing billed is orphaned.  A journal of an upload that
 * is not to be resumed (no_resume, streams) says "resume 0": the next run
 * aborts that upload instead of continuing it.
 *
 * Layer: transfer (below the API; see ARCHITECTURE.md).
 * Threading: a journal belongs to the upload's loop thread; journal_load
 * and journal_parse are pure.
 */
#ifndef HOIST_JOURNAL_H
#define HOIST_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct journal;

struct journal_part {
	unsigned number;
	uint64_t size;
	char *etag;
	uint64_t crc;
	int crc_valid;
};

struct journal_rec {
	char *endpoint;
	char *bucket;
	char *key;
	char *upload_id;           /* NULL in an intent journal */
	int64_t intent_time;       /* Unix seconds of the intent; 0: none */
	int no_resume;             /* 1 ("resume 0"): the next run aborts it */
	uint64_t part_size;
	uint64_t size;
	uint64_t dev;
	uint64_t ino;
	int64_t mtime_ns;
	struct journal_part *parts;  /* in file order; later lines win */
	size_t nparts;
	size_t cap;
};

/* "<dir>/<32 hex>.journal" naming this upload; malloc'd, NULL on ENOMEM.
 * identity names the source ("path:/abs/file" or "fd:<dev>:<ino>"). */
char *journal_path(const char *dir, const char *endpoint, const char *bucket,
		   const char *key, const char *identity);
/* The default directory: $XDG_CACHE_HOME/hoist or $HOME/.cache/hoist
 * (malloc'd; NULL when neither variable is set). */
char *journal_default_dir(void);
/* Creates dir (and missing parents) with mode 0700.  0 or -1 (errno). */
int journal_mkdir(const char *dir);

/* Reads path.  Returns 0 (rec filled), 1 if there is no journal, -1 if it
 * cannot be read or is not a journal (errno set; EINVAL: malformed). */
int journal_load(struct journal_rec *rec, const char *path);
/* Parses journal text (the fuzzing entry point).  0 or -1. */
int journal_parse(struct journal_rec *rec, const char *text, size_t len);
void journal_rec_cleanup(struct journal_rec *rec);
/* The last record for part number, or NULL. */
const struct journal_part *journal_rec_find(const struct journal_rec *rec,
					    unsigned number);

/* Writes a new journal with rec's header (rec->parts ignored) atomically
 * and opens it for appending; an existing file at path is replaced (the
 * rename is atomic).  rec->upload_id NULL writes an intent journal (then
 * rec->intent_time is required).  0 or -1 (errno). */
int journal_create(struct journal **out, const char *path,
		   const struct journal_rec *rec);
/* Appends one finished part (no-op when j is NULL).  Errors are
 * remembered and make the journal inert (resume then falls back to
 * ListParts + hashing). */
void journal_part(struct journal *j, unsigned number, uint64_t size,
		  const char *etag, uint64_t crc, int crc_valid);
/* fdatasync if anything was appended since the last flush. */
void journal_flush(struct journal *j);
/* Flushes and closes (keeps the file). */
void journal_close(struct journal *j);
/* Closes and deletes the file. */
void journal_discard(struct journal *j);
const char *journal_file(const struct journal *j);

#endif
