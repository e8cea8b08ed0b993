/*
 * sink.h - where a download's bytes go (private).
 *
 * Layer: runtime.
 *
 * Owns: the local end of a download, the mirror of source.h: a file
 * written at the object's offsets (a temporary file beside the target,
 * preallocated, then fsynced, renamed over the target and the directory
 * fsynced; or a caller's seekable descriptor), or an ordered writer (a
 * callback, standard output) fed through a reorder buffer.  Bytes arrive
 * on the event loop in chunks (copies of what curl received, a few
 * hundred KiB each) and are written by one writer thread per sink, so a
 * slow disk or a slow reader of standard output never blocks the loop:
 * when no chunk is free the loop pauses the request (CURL_WRITEFUNC_PAUSE)
 * and resumes it when the writer gives chunks back.
 *
 * Memory: a file sink holds at most max_chunks chunks (not counted in the
 * engine's budget: they do not grow with part size).  An ordered sink
 * holds the bytes that arrived ahead of the write point, so its chunks
 * are reserved against the transfer's budget share; two more chunks are
 * kept for the range at the write point (the head), so that the head can
 * always move even when later ranges filled the budget.
 *
 * The durability step (sink_commit) is separate from the transfer: it
 * runs on the caller's thread after the bytes were checked, so that a
 * tree copy can batch it later.
 *
 * Threading: sink_open, sink_commit, sink_abort and sink_free on the
 * owner's (caller's) thread; sink_prepare, sink_chunk_get, sink_submit
 * and sink_collect on the transfer's loop thread; the writer thread
 * touches only the chunks it was handed and the synced section; notify
 * is called from the writer thread without a lock held.
 */
#ifndef HOIST_SINK_H
#define HOIST_SINK_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "dljournal.h"
#include "hoist.h"

struct sink_chunk {
	struct sink_chunk *next;
	uint64_t off;              /* object offset of data[0] */
	size_t len;
	size_t cap;
	int reserve;               /* one of the head's two */
	int oversize;              /* freed when it comes back (sink_chunk_big's, marks) */
	int kind;                  /* SINK_ITEM_* */
	struct dljournal_mark mark; /* a mark's line */
	char data[];
};

/* What a queued item is: bytes, or (resumable file sinks) a journal step,
 * run by the writer in queue order, so a range's mark comes after its
 * bytes were written. */
enum {
	SINK_ITEM_DATA = 0,
	SINK_ITEM_MARK,            /* range is durable: fdatasync, then journal it */
	SINK_ITEM_HEADER           /* (re)write the journal's header */
};

enum sink_kind {
	SINK_PATH = 0,             /* a temporary beside path, renamed over it */
	SINK_FD,                   /* a caller's seekable descriptor */
	SINK_ORDERED               /* write(), in order */
};

/* Writes len bytes in order; 0, or a negative errno value. */
typedef int (*sink_write_fn)(const void *buf, size_t len, void *userdata);

struct sink_conf {
	enum sink_kind kind;
	const char *path;          /* SINK_PATH: the target; COPIED */
	int fd;                    /* SINK_FD: BORROWED */
	sink_write_fn write;       /* SINK_ORDERED */
	void *write_ud;
	size_t chunk_size;
	unsigned max_chunks;       /* file sinks: chunks alive at most */
	struct budget_share *share; /* ordered: chunks reserved here (BORROWED) */
	int resume;                /* SINK_PATH: keep a journal, reuse one found */
	int restart;               /* drop what an earlier run left */
	int no_sync;               /* SINK_PATH: commit renames without fsyncs */
	/* SINK_PATH without resume, for a small object: no writer thread
	 * and no chunks; the loop writes each callback's bytes at once with
	 * sink_write (a thread per file cost more than the file's transfer,
	 * and a copy into a chunk and a write on another thread later cost
	 * 10 % of a tree's throughput). */
	int direct;
	void (*notify)(void *owner); /* writer thread: chunks back, or an error */
	void *owner;
};

struct sink;

/* Opens the sink: creates the temporary file (SINK_PATH) and starts the
 * writer thread (none when direct).  HOIST_OK, or a failure with one line in err. */
hoist_status sink_open(struct sink **out, const struct sink_conf *c, char *err, size_t errlen);
/* Loop thread: the object has size bytes (file sinks preallocate them,
 * on the writer thread, before any write; direct sinks do nothing). */
void sink_prepare(struct sink *s, uint64_t size);
/* Loop thread: a chunk to fill, or NULL when none may be had now (pause
 * and wait for notify).  head: the caller is the range at the write point
 * (ordered sinks keep two chunks for it). */
struct sink_chunk *sink_chunk_get(struct sink *s, int head);
/* Loop thread: a chunk of at least n bytes outside every count, for the
 * rare callback that carries more than a chunk (curl replaying what it
 * buffered during a pause).  NULL on ENOMEM. */
struct sink_chunk *sink_chunk_big(struct sink *s, size_t n);
/* Loop thread, direct sinks: writes n bytes at off now.  0, or -1 once a
 * write failed: the first failure is kept (sink_failed, sink_commit) and
 * later writes are skipped. */
int sink_write(struct sink *s, const char *data, size_t n, uint64_t off);
/* Loop thread: hands a filled chunk to the writer. */
void sink_submit(struct sink *s, struct sink_chunk *c);
/* Loop thread, once per loop iteration: wakes the writer for what was
 * submitted since. */
void sink_kick(struct sink *s);
/* Loop thread: takes back the chunks the writer finished.  Returns the
 * number taken. */
unsigned sink_collect(struct sink *s);
/* Resume (SINK_PATH with resume): what the earlier run's journal said.
 * NULL when there is nothing to resume (no journal, no temporary file,
 * restart).  Loop thread or owner, before sink_journal_start. */
const struct dljournal_hdr *sink_resume_found(const struct sink *s);
/* 1 and *m when range index is durable from the earlier run. */
int sink_resume_range(const struct sink *s, unsigned index, struct dljournal_mark *m);
/* Loop thread: 1 when the sink journals ranges. */
int sink_journaling(const struct sink *s);
/* Loop thread: the object is h (COPIED): keep the earlier run's lines
 * when keep, else start the journal anew (queued to the writer). */
void sink_journal_start(struct sink *s, const struct dljournal_hdr *h, int keep);
/* Loop thread: range m->index's bytes are all submitted; once written
 * and fdatasynced, the writer journals *m (COPIED). */
void sink_journal_mark(struct sink *s, const struct dljournal_mark *m);
/* Any thread: 1 and the one-line reason when a write failed. */
int sink_failed(struct sink *s, char *msg, size_t len);
/* The temporary file's name (SINK_PATH), for messages; NULL otherwise. */
const char *sink_temp_path(const struct sink *s);
/* Caller's thread, once the transfer ended and nothing more is
 * submitted: waits until every chunk is written, stops the writer, then
 * makes the bytes durable:
 * fsync; SINK_PATH renames the temporary over
 * the target and fsyncs the directory.  HOIST_OK or HOIST_E_IO (the
 * temporary file removed) with the line in err. */
hoist_status sink_commit(struct sink *s, char *err, size_t errlen);
/* Caller's thread: stops the writer (queued chunks are dropped) and
 * removes the temporary file.  Nothing to do after a commit. */
void sink_abort(struct sink *s);
/* Caller's thread, after a failed transfer: writes what is queued (marks
 * too), stops the writer, and leaves the temporary file and the journal
 * for the next run when may_keep and the journal then lists a range (of
 * this run, or earlier ones: earlier); otherwise removes them as
 * sink_abort.  Returns 1 when kept. */
int sink_keep(struct sink *s, int may_keep, int earlier);
/* Aborts if neither commit, abort nor keep ran, then frees.  NULL is fine. */
void sink_free(struct sink *s);

#endif
