/*
 * stream.h - a source of unknown length: part buffers filled from a pull
 * callback on a reader thread of its own, or from push writes on the
 * caller's thread (private).
 *
 * Layer: runtime.
 *
 * Owns: the part buffers of one stream, reserved against the engine's
 * memory budget (budget.h) before they are filled and released only when
 * their part is done (verified), so a retry re-sends from memory; the
 * reader thread ("hoist-read") of a pull stream; the backpressure of a push
 * stream (a write blocks while the budget is full); and the source
 * interface (source.h) through which the part pipeline, the hash workers
 * and the request read callbacks read a held part by offset.
 *
 * Parts follow the stream plan (plan.h): part i has plan_stream_part_len
 * bytes except the last.  A full first part is held back until the next
 * byte (or the end) arrives, so that a stream which ends within its first
 * part is known to be one part, for one PutObject.
 *
 * The consumer (the upload, on its loop thread) is told through notify,
 * called from the producing thread with no lock held, that stream_take
 * has something: filled parts in order, then the end or an error.
 *
 * Threading: stream_write / stream_close on the writer's thread (never two
 * at a time); stream_take / stream_fail / source reads from any thread;
 * `synced` under the stream's lock.
 */
#ifndef HOIST_STREAM_H
#define HOIST_STREAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "budget.h"
#include "hoist.h"
#include "plan.h"

struct source;
struct stream;

/* Called from the producing thread when stream_take has news. */
typedef void (*stream_notify_fn)(void *owner);

/* A pull stream reading from read (hoist.h's hoist_read_fn) on a thread of
 * its own, or (read NULL) a push stream fed by stream_write.  The plan and
 * the share are BORROWED for the stream's life.  NULL on ENOMEM. */
struct stream *stream_new(hoist_read_fn read, void *read_userdata, const struct stream_plan *sp,
			  struct budget_share *share, stream_notify_fn notify, void *owner);
/* Starts the reader thread of a pull stream (a no-op for push).  0, -1. */
int stream_start(struct stream *s);
/* Stops producing and joins the reader (which stops after its current
 * read returns): from then on notify is never called again. */
void stream_stop(struct stream *s);
/* stream_stop, then frees every buffer and the stream. */
void stream_free(struct stream *s);

/* The source view of the stream's held parts. */
struct source *stream_source(struct stream *s);

/* The next piece of news, in order: 1 with a filled part (*index, *off,
 * *len; *last when the stream ended with it), 2 when the stream ended
 * after the parts already taken (*off = its total length), 3 when it
 * failed (*err a negative errno, or -E2BIG when it outgrew its plan;
 * detail gets one line), 0 when there is nothing new. */
int stream_take(struct stream *s, unsigned *index, uint64_t *off, uint64_t *len, int *last,
		int *err, char *detail, size_t dlen);

/* The consumer failed (or was cancelled): producing stops, a blocked or
 * later write returns st. */
void stream_fail(struct stream *s, hoist_status st);

/* Push stream, writer's thread: copies len bytes, waiting while the
 * budget is full.  HOIST_OK, or the failure that stopped the stream. */
hoist_status stream_write(struct stream *s, const void *buf, size_t len);
/* Marks the end of a push stream.  HOIST_OK, or the failure. */
hoist_status stream_close(struct stream *s);

#endif
