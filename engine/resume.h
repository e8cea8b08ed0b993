/*
 * resume.h - resuming an interrupted upload, and leaving nothing behind
 * (private).
 *
 * Layer: transfer.
 *
 * Owns: the decision at start (find the journal of this endpoint, bucket,
 * key and file; resume it, refuse a changed file, restart, or clean up
 * what a killed run left: journal.h's intent and "resume 0"), the intent
 * written before Initiate and its replacement by the upload id, the
 * reconciliation of ListParts with the journal, the check of a listed part
 * once it is hashed, a journal line per finished part, and the journal's
 * end (kept for resume, or removed).
 *
 * Threading: resume_setup runs on the caller's thread before the upload
 * is posted (it may block on housekeeping requests); everything else on
 * the upload's loop thread.
 */
#ifndef HOIST_RESUME_H
#define HOIST_RESUME_H

#include <stddef.h>
#include <stdint.h>

#include "hoist.h"

struct hoist_upload;
struct part;
struct resume_state;

/* The resume decision for a multipart upload of the source that identity
 * names ("path:/abs/file", "fd:<dev>:<ino>", "stream"), journals under
 * checkpoint_dir (NULL: the default).
 * May set u->upload_id (resuming) and change u->plan (the interrupted
 * run's part size).  Returns HOIST_OK, or a failure with one line in err
 * (a changed file: HOIST_E_SOURCE_CHANGED). */
hoist_status resume_setup(struct hoist_upload *u, const char *identity, const char *checkpoint_dir,
			  char *err, size_t errlen);

/* Initiate answered with u->upload_id: the journal records it before any
 * part goes out. */
void resume_initiated(struct hoist_upload *u);
/* ListParts' last page is in rs.listed: marks the parts the server holds
 * and the journal confirms done, and the other listed parts to be hashed
 * and compared (resume_hashed). */
void resume_reconcile(struct hoist_upload *u);
/* A listed part was hashed: 1 when the server holds exactly these bytes
 * (the part is then done), else 0 (it is sent again). */
int resume_hashed(struct hoist_upload *u, struct part *p);
/* Journals a finished part. */
void resume_part_done(struct hoist_upload *u, const struct part *p);
/* The journaled upload is gone from the server: forget it, start anew. */
void resume_forget(struct hoist_upload *u);
/* Makes the journal durable (about once a second, and before Complete). */
void resume_flush(struct hoist_upload *u, uint64_t now_ms, int force);
/* The upload ended: keep the journal (keep) or remove it. */
void resume_end(struct hoist_upload *u, int keep);
void resume_state_cleanup(struct resume_state *rs);

#endif
