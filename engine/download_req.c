/*
 * download_req.c - the requests of a download and the body sink of its
 * ranged GETs.
 *
 * Layer: transfer.
 *
 * A range's GET asks for the bytes of its range not yet taken (a retry
 * continues where the broken attempt stopped: what was taken is already
 * in the sink and in the range's CRC), with If-Match on the HEAD's ETag,
 * the version id, and (OSS) x-oss-range-behavior: standard; on an S3
 * object checked by its parts, the first attempt asks for ?partNumber=K
 * instead (download_parts.c).  The body
 * sink checks the answer before it takes its first byte: 206 and exactly
 * the Content-Range asked for (a 0-byte object: 200).  A wrong answer's
 * bytes are read and dropped (the connection stays reusable) and the
 * range fails its check after the transfer, to be retried.  Taken bytes
 * are copied into sink chunks and their CRC64 updated in the same pass;
 * when no chunk can be had (the writer is behind, or an ordered sink's
 * budget is full) the sink returns CURL_WRITEFUNC_PAUSE and the range
 * waits on the paused list until chunks come back.  An object known from
 * a listing (no HEAD) takes its CRC64 and the rest from the first
 * answer's headers here, before the first byte (download_adopt_answer).
 *
 * Threading: the download's loop thread.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialect.h"
#include "download.h"
#include "download_parts.h"

static struct dl_range *range_of(struct hoist_download *d, const struct part *p)
{
	return &d->ranges[p->number - 1];
}

static int add_version(struct hoist_download *d, struct request *r)
{
	const char *vid = d->spec.version_id ? d->spec.version_id : d->obj.version_id;

	/* "null" is S3's and OSS's name for the version of an unversioned
	 * object: asking for it would be refused where versioning is off. */
	if (!vid || !*vid || strcmp(vid, "null") == 0)
		return 0;
	return request_query(r, "versionId", vid);
}

struct request *download_req_head(struct hoist_download *d)
{
	struct request *r = request_new(d->ctx, "HeadObject", "HEAD", d->spec.bucket, d->spec.key);

	if (!r)
		return NULL;
	if (add_version(d, r) < 0 ||
	    (d->ctx->conf->dialect == HOIST_DIALECT_S3 &&
	     request_header(r, "x-amz-checksum-mode", "ENABLED") < 0)) {
		request_free(r);
		return NULL;
	}
	if (d->ctx->conf->dialect == HOIST_DIALECT_S3) {
		r->echo_header = "x-amz-server-side-encryption";
		r->extra_headers[0] = "x-amz-checksum-crc64nvme";
		r->extra_headers[1] = "x-amz-checksum-crc32c";
		r->extra_headers[2] = "x-amz-checksum-type";
		r->extra_headers[3] = "x-amz-server-side-encryption-customer-algorithm";
	} else {
		r->echo_header = "x-oss-server-side-encryption";
	}
	return r;
}

/* ------------------------------------------------------------ the sink */

static char *live_get(void *ud, const char *name)
{
	return request_live_header(ud, name);
}

/* The first bytes of an answer: is it what was asked?  Sets g->bad. */
static void check_answer(struct hoist_download *d, struct part *p, struct dl_range *g,
			 struct request *r)
{
	long http = request_live_status(r);
	char *cr;
	uint64_t a, b, total;
	uint64_t want_a = p->off + g->got - g->skip;
	uint64_t want_b = p->off + p->len - 1;
	int n = 0;

	g->checked = r;
	g->bad = 0;
	if (p->len == 0) {
		/* A 0-byte object has no body; bytes here are another one. */
		g->bad = 1;
		snprintf(g->bad_detail, sizeof(g->bad_detail),
			 "the object was empty at HEAD, the GET has a body");
		return;
	}
	if (http != 206) {
		g->bad = 1;
		snprintf(g->bad_detail, sizeof(g->bad_detail),
			 "asked for bytes %" PRIu64 "-%" PRIu64 ", the answer is %ld without a range",
			 want_a, want_b, http);
		return;
	}
	cr = request_live_header(r, "Content-Range");
	if (cr) {
		n = sscanf(cr, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &total);
	}
	if (n != 3 || a != want_a || b != want_b || total != d->obj.size) {
		/* Without a HEAD the size is the listing's: another total is
		 * another object. */
		g->bad = n == 3 && total != d->obj.size && d->obj.from_listing ? DL_BAD_CHANGED : 1;
		snprintf(g->bad_detail, sizeof(g->bad_detail),
			 "asked for bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 ", got Content-Range '%s'%s",
			 want_a, want_b, d->obj.size, cr ? cr : "(none)",
			 g->bad == DL_BAD_CHANGED ? ": the object changed since it was listed" : "");
	}
	free(cr);
	if (!g->bad && d->obj.from_listing && !d->obj.adopted) {
		int rc = download_adopt_answer(d, live_get, r, g->bad_detail, sizeof(g->bad_detail));

		if (rc == -2) {
			g->bad = 1;
			snprintf(g->bad_detail, sizeof(g->bad_detail), "out of memory");
		} else if (rc < 0) {
			g->bad = DL_BAD_CHANGED;
		}
	}
}

/* A ?partNumber answer that is not where the plan put the part: the
 * parts are not of one size, so they cannot be checked one by one; the
 * range is fetched again by its Range (download_parts.c). */
static void check_part_answer(struct hoist_download *d, struct part *p, struct dl_range *g,
			      struct request *r)
{
	char why[240];

	check_answer(d, p, g, r);
	if (!g->bad)
		return;
	snprintf(why, sizeof(why), "part %u: %s", p->number, g->bad_detail);
	dl_parts_lost(d, why);
}

static void pause_range(struct hoist_download *d, struct dl_range *g, struct request *r)
{
	if (g->paused)
		return;
	g->paused = 1;
	g->paused_req = r;
	g->next_paused = d->paused;
	d->paused = g;
}

static void submit_fill(struct hoist_download *d, struct dl_range *g)
{
	if (g->fill && g->fill->len) {
		sink_submit(d->sink, g->fill);
		g->fill = NULL;
	}
}

/* The range's checksums over n more bytes. */
static void sum(struct hoist_download *d, struct dl_range *g, const char *data, size_t n)
{
	if (!d->spec.crc)
		return;
	g->crc = crc64_ecma_update(g->crc, data, n);
	if (d->obj.s3sum_kind == HOIST_S3_CHECKSUM_CRC64NVME) {
		g->s3sum = crc64_nvme_update(g->s3sum, data, n);
	} else if (d->obj.s3sum_kind == HOIST_S3_CHECKSUM_CRC32C) {
		g->s3sum = crc32c_update((uint32_t)g->s3sum, data, n);
	}
	if (d->obj.md5_check) {
		md5_update(&d->md5, data, n);
	}
	dl_parts_take(g, data, n);
}

/* Copies n bytes (all of them: curl takes no partial count) into the
 * range's chunks, or writes them at once to a direct sink (a failed write
 * fails the download through the sink's message; the bytes still count,
 * so the answer is read to its end).  The chunks are found first, so that
 * a pause takes nothing: a callback carries at most recv_buffer <=
 * chunk_size bytes, so the fill chunk and one more always hold it. */
static int take(struct hoist_download *d, struct part *p, struct dl_range *g, const char *data,
		size_t n)
{
	int head = d->sink_kind == SINK_ORDERED && (unsigned)(p->number - 1) == d->head;
	struct sink_chunk *extra = NULL;
	size_t room, first;

	if (d->direct) {
		if (sink_write(d->sink, data, n, p->off + g->got) < 0) {
			download_sink_notify(d);
		}
		sum(d, g, data, n);
		g->got += n;
		return 0;
	}
	if (!g->fill) {
		g->fill = sink_chunk_get(d->sink, head);
		if (!g->fill)
			return -1;
		g->fill->off = p->off + g->got;
	}
	room = g->fill->cap - g->fill->len;
	if (n > room) {
		extra = n - room <= d->chunk_size ? sink_chunk_get(d->sink, head)
						   : sink_chunk_big(d->sink, n - room);
		if (!extra)
			return -1;
	}
	first = n < room ? n : room;
	memcpy(g->fill->data + g->fill->len, data, first);
	g->fill->len += first;
	sum(d, g, data, n);
	g->got += n;
	if (extra) {
		sink_submit(d->sink, g->fill);
		extra->off = p->off + g->got - (n - first);
		memcpy(extra->data, data + first, n - first);
		extra->len = n - first;
		g->fill = extra;
	}
	if (g->fill->len == g->fill->cap || g->got == p->len) {
		submit_fill(d, g);
	}
	if (g->got == p->len && head) {
		while (d->head < d->pipe.nparts &&
		       d->ranges[d->head].got == d->pipe.parts[d->head].len) {
			d->head++;
		}
	}
	return 0;
}

static size_t range_sink(struct request *r, const char *data, size_t n)
{
	struct part *p = r->owner;
	struct hoist_download *d = p->pipe->owner;
	struct dl_range *g = range_of(d, p);
	size_t drop = 0;

	if (g->checked != r) {
		if (g->asked_part) {
			check_part_answer(d, p, g, r);
		} else {
			check_answer(d, p, g, r);
		}
	}
	if (g->bad) {
		r->pos += n;
		return n;
	}
	if (g->skip) {
		drop = n < g->skip ? n : (size_t)g->skip;
		g->skip -= drop;
	}
	if (n - drop > p->len - g->got) {
		g->bad = 1;
		snprintf(g->bad_detail, sizeof(g->bad_detail),
			 "the answer is longer than the %" PRIu64 " bytes asked for", p->len);
		r->pos += n;
		return n;
	}
	if (n > drop && take(d, p, g, data + drop, n - drop) < 0) {
		g->skip += drop; /* offered again after the pause */
		pause_range(d, g, r);
		return CURL_WRITEFUNC_PAUSE;
	}
	r->pos += n;
	if (r->sent_total) {
		*r->sent_total += n;
	}
	return n;
}

struct request *download_req_range(struct hoist_download *d, struct part *p)
{
	struct dl_range *g = range_of(d, p);
	struct request *r = request_new(d->ctx, "GetObject", "GET", d->spec.bucket, d->spec.key);
	char range[64];
	uint64_t start;
	int rc = 0, asked;

	if (!r)
		return NULL;
	g->checked = NULL;
	g->bad = 0;
	g->skip = 0;
	rc |= add_version(d, r);
	if (d->obj.etag && *d->obj.etag) {
		rc |= request_header(r, "If-Match", d->obj.etag);
	}
	asked = dl_parts_query(d, p, r);
	g->asked_part = asked == 1;
	rc |= asked < 0;
	if (p->len > 0 && !g->asked_part) {
		/* A range whose every byte came but whose answer then broke
		 * asks for its last byte again, and drops it. */
		start = g->got < p->len ? p->off + g->got : p->off + p->len - 1;
		g->skip = g->got < p->len ? 0 : 1;
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, start, p->off + p->len - 1);
		rc |= request_header(r, "Range", range);
		if (d->ctx->conf->dialect == HOIST_DIALECT_OSS) {
			rc |= request_header(r, "x-oss-range-behavior", "standard");
		} else if (d->obj.from_listing) {
			/* No HEAD asked for the checksums: this answer must say them. */
			rc |= request_header(r, "x-amz-checksum-mode", "ENABLED");
		}
	}
	if (rc) {
		request_free(r);
		return NULL;
	}
	r->sink = range_sink;
	r->recv_buffer = d->recv_buffer;
	return r;
}

int download_req_check(struct hoist_download *d, struct part *p, const struct request *r,
		       char *detail, size_t dlen)
{
	struct dl_range *g = range_of(d, p);

	if (g->checked == r && g->bad) {
		snprintf(detail, dlen, "%s", g->bad_detail);
		return g->bad == DL_BAD_CHANGED ? -2 : -1;
	}
	if (p->len == 0 && r->http != 200) {
		snprintf(detail, dlen, "a plain GET of the empty object answered %ld", r->http);
		return -1;
	}
	if (g->got != p->len) {
		snprintf(detail, dlen, "the answer ended after %" PRIu64 " of the range's %" PRIu64 " bytes",
			 g->got, p->len);
		return -1;
	}
	return 0;
}

void download_resume_paused(struct hoist_download *d)
{
	struct dl_range *list = d->paused;

	d->paused = NULL;
	while (list) {
		struct dl_range *g = list;

		list = g->next_paused;
		g->next_paused = NULL;
		g->paused = 0;
		/* The sink may run (and pause again) inside this call. */
		request_resume(g->paused_req);
	}
}
