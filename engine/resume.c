/*
 * resume.c - resuming an interrupted upload (see resume.h).
 *
 * Layer: transfer.
 *
 * On restart: a changed file is refused (--restart aborts the old
 * upload); otherwise ListParts is reconciled with the journal: a listed
 * part whose size and ETag (and CRC64) match the journal is kept without
 * reading it; a listed part the journal does not know is hashed and kept
 * if it matches; everything else is sent again.  The journal is deleted
 * after success.
 *
 * Threading: see resume.h.
 */
#include "resume.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blocking.h"
#include "dialect.h"
#include "journal.h"
#include "part.h"
#include "response.h"
#include "source.h"
#include "upload.h"

/* "2026-12-03T07:34:33.000Z" (ListMultipartUploads' Initiated) as Unix
 * seconds.  0, or -1 when it is not that form. */
static int parse_iso8601(const char *s, int64_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/* How far apart the intent's time (our clock) and Initiated (the server's)
 * may be: OSS and S3 refuse requests whose clock is off by more than 15
 * minutes, so an upload our Initiate created is initiated within that. */
#define INTENT_WINDOW_S (15 * 60)

/* A run was killed while its Initiate was in flight: the server may hold
 * an upload nobody knows the id of.  Abort the uploads of this key that
 * were initiated around the intent and hold no part.  A part means the
 * upload is someone's work in progress (ours never sent one: parts need
 * the id we never learnt), so it is left alone; the window and the
 * emptiness test make aborting another client's upload of the same key
 * unlikely, not impossible: such a client would be in its first seconds,
 * racing us for the same object anyway. */
static void abort_orphans(struct hoist_upload *u, const struct journal_rec *rec)
{
	struct ctx *ctx = u->ctx;
	struct hoist_upload_list *ul = NULL;
	struct hoist_result r;
	size_t i;

	memset(&r, 0, sizeof(r));
	if (blocking_list_uploads(ctx, u->spec.bucket, u->spec.key, &ul, &r) != HOIST_OK) {
		ctx_log(ctx, "could not list the uploads of %s left by an interrupted run: %s", u->spec.key,
			   r.message ? r.message : "");
		hoist_result_cleanup(&r);
		return;
	}
	hoist_result_cleanup(&r);
	for (i = 0; i < ul->count; i++) {
		const struct hoist_upload_entry *en = &ul->uploads[i];
		struct hoist_part_list *pl = NULL;
		int64_t t;

		if (strcmp(en->key, u->spec.key) != 0 || parse_iso8601(en->initiated, &t) < 0 ||
		    t < rec->intent_time - INTENT_WINDOW_S || t > rec->intent_time + INTENT_WINDOW_S)
			continue;
		memset(&r, 0, sizeof(r));
		if (blocking_list_parts(ctx, u->spec.bucket, u->spec.key, en->upload_id, &pl, &r) == HOIST_OK &&
		    pl->count == 0) {
			hoist_result_cleanup(&r);
			memset(&r, 0, sizeof(r));
			if (blocking_abort(ctx, u->spec.bucket, u->spec.key, en->upload_id, &r) == HOIST_OK) {
				ctx_log(ctx, "aborted upload %s, left empty by a run killed during Initiate",
					en->upload_id);
			}
		}
		hoist_part_list_free(pl);
		hoist_result_cleanup(&r);
	}
	hoist_upload_list_free(ul);
}

/* Aborts the upload an earlier journal names (restart, or a run that was
 * not to be resumed), so that its parts are not orphaned. */
static void abort_journaled(struct hoist_upload *u, const struct journal_rec *rec)
{
	struct hoist_result ar;

	memset(&ar, 0, sizeof(ar));
	if (blocking_abort(u->ctx, u->spec.bucket, u->spec.key, rec->upload_id, &ar) != HOIST_OK &&
	    ar.status != HOIST_E_NOT_FOUND) {
		ctx_log(u->ctx, "could not abort the earlier upload %s: %s", rec->upload_id,
			ar.message ? ar.message : "");
	} else {
		ctx_log(u->ctx, "aborted the earlier upload %s", rec->upload_id);
	}
	hoist_result_cleanup(&ar);
}

/* The journal's header for this upload (upload_id NULL: the intent). */
static struct journal_rec journal_header(const struct hoist_upload *u, const char *upload_id)
{
	struct journal_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.endpoint = u->ctx->conf->endpoint_url;
	rec.bucket = u->spec.bucket;
	rec.key = u->spec.key;
	rec.upload_id = (char *)upload_id;
	rec.intent_time = ctx_now(u->ctx);
	rec.no_resume = u->spec.no_resume;
	rec.part_size = u->plan.part_size;
	rec.size = u->plan.size;
	rec.dev = u->src->dev;
	rec.ino = u->src->ino;
	rec.mtime_ns = u->src->mtime_ns;
	return rec;
}

/* Resume decision, on the caller's thread before the upload is posted:
 * find the journal of this (endpoint, bucket, key, file), check that the
 * file is the one it describes, and either resume, refuse, or (restart)
 * abort the old upload and start over.  A journal left by a run that was
 * not to be resumed, or killed during Initiate, is cleaned up.  A fresh
 * upload writes its intent before Initiate (journal.h). */
hoist_status resume_setup(struct hoist_upload *u, const char *identity, const char *checkpoint_dir,
			  char *err, size_t errlen)
{
	struct resume_state *rs = &u->rs;
	const struct conf *c = u->ctx->conf;
	char *dir = NULL;
	struct journal_rec rec;
	hoist_status st = HOIST_OK;
	int rc;

	memset(&rec, 0, sizeof(rec));
	dir = checkpoint_dir ? strdup(checkpoint_dir) : journal_default_dir();
	if (!dir) {
		ctx_log(u->ctx, "no checkpoint directory (set one, or HOME): not resumable");
		goto out;
	}
	rs->journal_path = journal_path(dir, c->endpoint_url, u->spec.bucket, u->spec.key, identity);
	if (!rs->journal_path) {
		st = HOIST_E_NOMEM;
		goto out;
	}
	if (journal_mkdir(dir) < 0) {
		ctx_log(u->ctx, "cannot create %s (%s): not resumable", dir, strerror(errno));
		free(rs->journal_path);
		rs->journal_path = NULL;
		goto out;
	}
	rc = journal_load(&rec, rs->journal_path);
	if (rc == 1)
		goto fresh;
	if (rc < 0) {
		ctx_log(u->ctx, "ignoring unreadable journal %s (%s)", rs->journal_path,
			   strerror(errno));
		goto fresh;
	}
	if (strcmp(rec.endpoint, c->endpoint_url) != 0 || strcmp(rec.bucket, u->spec.bucket) != 0 ||
	    strcmp(rec.key, u->spec.key) != 0) {
		goto fresh; /* not ours (a hash collision): overwritten */
	}
	if (!rec.upload_id) {
		abort_orphans(u, &rec);
		goto fresh;
	}
	if (rec.no_resume) {
		abort_journaled(u, &rec);
		goto fresh;
	}
	if (u->spec.no_resume) {
		/* Someone's resumable upload of this file: a --no-resume run
		 * leaves it for a later resume and keeps no journal of its
		 * own (it would overwrite that one). */
		ctx_log(u->ctx, "upload %s of this file is kept for a later resume; this run keeps no journal",
			   rec.upload_id);
		free(rs->journal_path);
		rs->journal_path = NULL;
		goto out;
	}
	if (!u->spec.restart && (rec.size != u->src->size || rec.mtime_ns != u->src->mtime_ns ||
			    rec.dev != u->src->dev || rec.ino != u->src->ino)) {
		snprintf(err, errlen,
			 "the file changed since upload %.64s was interrupted; rerun with "
			 "--restart to abort that upload and start over (or 'hoist abort "
			 "--upload-id %.64s')",
			 rec.upload_id, rec.upload_id);
		st = HOIST_E_SOURCE_CHANGED;
		goto out;
	}
	if (!u->spec.restart && rec.part_size != u->plan.part_size) {
		/* Another --part-size than the interrupted run: the parts on
		 * the server decide, if the journal's size is still valid. */
		struct plan p;

		if (plan_make(&p, u->plan.size, rec.part_size, c->dialect) == HOIST_OK &&
		    p.part_size == rec.part_size && p.nparts > 0) {
			ctx_log(u->ctx, "resuming with the interrupted upload's part size %" PRIu64,
				   rec.part_size);
			u->plan = p;
		}
	}
	if (!u->spec.restart && rec.part_size == u->plan.part_size) {
		struct journal_rec hdr;

		u->upload_id = rec.upload_id;
		rec.upload_id = NULL;
		rs->found = rec;
		memset(&rec, 0, sizeof(rec));
		hdr = journal_header(u, u->upload_id);
		if (journal_create(&rs->journal, rs->journal_path, &hdr) < 0) {
			ctx_log(u->ctx, "cannot rewrite the journal %s (%s)", rs->journal_path,
				   strerror(errno));
		}
		goto out;
	}
	/* --restart, or a different part size: the old upload cannot be
	 * continued; abort it so its parts are not orphaned. */
	abort_journaled(u, &rec);
fresh:
	{
		struct journal_rec hdr = journal_header(u, NULL);

		if (journal_create(&rs->journal, rs->journal_path, &hdr) < 0) {
			ctx_log(u->ctx, "cannot write the resume journal %s (%s): this upload will not be resumable",
				   rs->journal_path, strerror(errno));
			unlink(rs->journal_path);
			free(rs->journal_path);
			rs->journal_path = NULL;
		}
	}
out:
	journal_rec_cleanup(&rec);
	free(dir);
	return st;
}

void resume_initiated(struct hoist_upload *u)
{
	struct resume_state *rs = &u->rs;
	struct journal *intent = rs->journal;
	struct journal_rec rec;

	if (!rs->journal_path)
		return;
	/* Replace the intent with the upload id before any part goes out
	 * (journal.h): from here on a killed run can resume. */
	rec = journal_header(u, u->upload_id);
	rs->journal = NULL;
	if (journal_create(&rs->journal, rs->journal_path, &rec) < 0) {
		ctx_log(u->ctx, "cannot write the resume journal %s (%s): this upload will not be resumable",
			rs->journal_path, strerror(errno));
		rs->journal = intent;
	} else {
		journal_close(intent); /* its file was replaced */
	}
}

/* A listed part that the journal recorded with the same size and ETag
 * (and CRC) is done without reading it. */
static int keep_journaled(struct hoist_upload *u, struct part *p, const struct hoist_part_entry *e)
{
	const struct journal_part *jp = journal_rec_find(&u->rs.found, e->part_number);

	/* With an S3 checksum every part is hashed again: the journal does
	 * not keep that checksum and Complete must name it. */
	if (u->spec.sums.s3sum || !jp || jp->size != e->size || !jp->etag ||
	    !etag_equal(jp->etag, e->etag) ||
	    (jp->crc_valid && e->crc64_valid && jp->crc != e->crc64))
		return 0;
	p->etag = strdup(e->etag);
	if (!p->etag)
		return 0;
	if (jp->crc_valid || e->crc64_valid) {
		p->crc = jp->crc_valid ? jp->crc : e->crc64;
		p->have_crc = 1;
	}
	if (etag_to_md5(p->md5, p->etag) == 0) {
		p->have_md5 = 1;
	}
	p->resumed = 1;
	u->res.resumed_parts++;
	part_pipe_mark_done(&u->pipe, p);
	resume_part_done(u, p);
	return 1;
}

void resume_reconcile(struct hoist_upload *u)
{
	struct hoist_part_list *l = u->rs.listed;
	struct part_pipe *pp = &u->pipe;
	size_t i;

	for (i = 0; l && i < l->count; i++) {
		const struct hoist_part_entry *e = &l->parts[i];
		struct part *p;

		if (e->part_number == 0 || e->part_number > pp->nparts || !e->etag)
			continue;
		p = &pp->parts[e->part_number - 1];
		if (p->state == PART_DONE || e->size != p->len || keep_journaled(u, p, e))
			continue;
		free(p->listed_etag);
		p->listed_etag = strdup(e->etag);
		if (!p->listed_etag)
			continue;
		/* Hash it, then compare with whatever the server can tell:
		 * the CRC (OSS) or the ETag (S3). */
		p->listed = 1;
		p->listed_crc = e->crc64;
		p->listed_crc_valid = e->crc64_valid;
		p->hash_extra = e->crc64_valid ? PART_SUM_CRC : PART_SUM_MD5;
		p->state = PART_PLANNED;
	}
	hoist_part_list_free(u->rs.listed);
	u->rs.listed = NULL;
	journal_rec_cleanup(&u->rs.found);
	ctx_log(u->ctx, "resuming upload %s: %u of %u parts already on the server", u->upload_id,
		pp->done_parts, pp->nparts);
}

int resume_hashed(struct hoist_upload *u, struct part *p)
{
	int same;

	if (!p->listed)
		return 0;
	p->listed = 0;
	same = p->listed_crc_valid ? p->have_crc && p->crc == p->listed_crc
				   : p->have_md5 && etag_equals_md5(p->listed_etag, p->md5);
	if (!same || (p->have_md5 && !etag_equals_md5(p->listed_etag, p->md5)))
		return 0;
	/* The server already holds exactly these bytes. */
	p->etag = p->listed_etag;
	p->listed_etag = NULL;
	p->resumed = 1;
	u->res.resumed_parts++;
	if (u->spec.sums.want_md5 && !p->have_md5 && etag_to_md5(p->md5, p->etag) == 0) {
		p->have_md5 = 1;
	}
	part_pipe_mark_done(&u->pipe, p);
	source_done_with(u->src, p->off, p->len);
	resume_part_done(u, p);
	return 1;
}

void resume_part_done(struct hoist_upload *u, const struct part *p)
{
	journal_part(u->rs.journal, p->number, p->len, p->etag, p->crc, p->have_crc);
}

void resume_forget(struct hoist_upload *u)
{
	ctx_log(u->ctx, "upload %s no longer exists; starting a new one", u->upload_id);
	free(u->upload_id);
	u->upload_id = NULL;
	hoist_part_list_free(u->rs.listed);
	u->rs.listed = NULL;
	journal_rec_cleanup(&u->rs.found);
	journal_discard(u->rs.journal);
	u->rs.journal = NULL;
	if (u->rs.journal_path) {
		/* A new Initiate follows: record its intent first. */
		struct journal_rec hdr = journal_header(u, NULL);

		if (journal_create(&u->rs.journal, u->rs.journal_path, &hdr) < 0) {
			ctx_log(u->ctx, "cannot write the resume journal %s (%s)", u->rs.journal_path,
				strerror(errno));
		}
	}
}

void resume_flush(struct hoist_upload *u, uint64_t now_ms, int force)
{
	if (u->rs.journal && (force || now_ms - u->rs.last_flush_ms >= 1000)) {
		journal_flush(u->rs.journal);
		u->rs.last_flush_ms = now_ms;
	}
}

void resume_end(struct hoist_upload *u, int keep)
{
	if (keep) {
		journal_close(u->rs.journal);
	} else {
		journal_discard(u->rs.journal);
	}
	u->rs.journal = NULL;
}

void resume_state_cleanup(struct resume_state *rs)
{
	/* Still open only when the upload never ran (its start failed after
	 * the decision): the file stays for the next run to decide. */
	journal_close(rs->journal);
	rs->journal = NULL;
	hoist_part_list_free(rs->listed);
	rs->listed = NULL;
	journal_rec_cleanup(&rs->found);
	free(rs->journal_path);
	rs->journal_path = NULL;
}
