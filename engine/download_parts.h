/*
 * download_parts.h - verifying an S3 multipart object by its parts (see
 * download_parts.c).
 *
 * Layer: transfer.  Threading: the download's loop thread.
 */
#ifndef HOIST_DOWNLOAD_PARTS_H
#define HOIST_DOWNLOAD_PARTS_H

#include <stddef.h>
#include <stdint.h>

struct hoist_download;
struct dl_range;
struct dljournal_mark;
struct part;
struct request;

/* After HEAD: 1 when the object can only be checked by its parts (S3, a
 * multipart ETag, no full-object checksum, no SSE-KMS/SSE-C, checksums
 * on); sets obj.mp_parts. */
int dl_parts_wanted(struct hoist_download *d);
/* The probe: HEAD ?partNumber=1, pinned like the HEAD.  NULL on ENOMEM. */
struct request *dl_parts_probe_req(struct hoist_download *d);
/* What the probe's answer says, apart from the download (unit-tested). */
struct dl_parts_probe {
	unsigned etag_parts;        /* N of the ETag "<hex>-N" */
	uint64_t size;              /* the object's, from the HEAD */
	long http;
	const char *parts_count;    /* x-amz-mp-parts-count, NULL when absent */
	const char *content_length;
	const char *content_range;  /* NULL when absent (a store may send none) */
};
/* Part 1's length when the answer shows a store serving the object's N
 * parts, all but the last of that length; else 0 and *why says why. */
uint64_t dl_parts_judge(const struct dl_parts_probe *pr, const char **why);
/* Its answer: part 1's length when the object is fetched by parts
 * (obj.by_part set), 0 when not (the reason is logged). */
uint64_t dl_parts_on_probe(struct hoist_download *d, const struct request *r);
/* With the ranges planned: one MD5 per range.  0, or -1 on ENOMEM. */
int dl_parts_start(struct hoist_download *d, unsigned nranges);
/* A range's request: ?partNumber=K on its first attempt (1; the caller
 * then sends no Range), 0 otherwise, -1 on ENOMEM. */
int dl_parts_query(struct hoist_download *d, const struct part *p, struct request *r);
/* Bytes taken by a range, in order. */
void dl_parts_take(struct dl_range *g, const char *data, size_t n);
/* A range's bytes are all in: its MD5 is final, and goes in its
 * journal line (m) while the plan is still the parts (a range done after
 * a part was found elsewhere is no part: a resumed run must not take its
 * MD5 for one). */
void dl_parts_range_done(struct hoist_download *d, struct dl_range *g,
			 struct dljournal_mark *m);
/* A range an earlier run journaled: its MD5 from the line, if it has one. */
void dl_parts_resumed(struct dl_range *g, const struct dljournal_mark *m);
/* A part was not where the plan put it: stop checking by parts. */
void dl_parts_lost(struct hoist_download *d, const char *why);
/* When every range is in: 1 verified, 0 not checked by parts, -1 a
 * mismatch (or ENOMEM) with detail. */
int dl_parts_verify(struct hoist_download *d, char *detail, size_t dlen);
void dl_parts_cleanup(struct hoist_download *d, unsigned nranges);

#endif
