/*
 * download_parts.c - verifying an S3 multipart object by its parts.
 *
 * Layer: transfer (download.c drives it; nothing here calls back up).
 *
 * An S3 multipart object's ETag is "<md5 of the parts' MD5s>-N", not the
 * MD5 of its bytes, and without a full-object checksum (checksum mode) it
 * is all the store offers to check against.  Where the store serves
 * ?partNumber=K, the parts can be fetched one by one and each one's MD5
 * computed as its bytes arrive; MD5(MD5_1 .. MD5_N) "-N" must then be the
 * ETag.  The probe is one HEAD ?partNumber=1: a store that serves parts
 * answers with x-amz-mp-parts-count and part 1's length; one that does
 * not (Ceph RGW 16.2) answers for the whole object without the count, and
 * the download goes on as plain ranges with nothing claimed.
 *
 * The plan: N ranges of part 1's length (the last one shorter), which is
 * how every client we know splits (aws-cli, boto3, the CRT, hoist).  A
 * range's first attempt asks for ?partNumber=K, so the store's own
 * Content-Range says where part K lies; if that is not where the plan put
 * it (parts of unequal size), by-part checking stops for this download
 * (its bytes are still right: every answer is checked against the range
 * asked for) and it finishes unverified, saying why.  A retry after some
 * bytes came continues with a Range of what is missing (S3 refuses a Range
 * with partNumber): the part's place is known by then.  The MD5s run on
 * the loop thread, 0.6-0.7 GB/s a core: the price of a check where the
 * store offers no other, paid only then.  A part's MD5 goes in its
 * journal line beside its CRC64 (the same trust: the line is written
 * after its bytes are durable), so a resumed download is still checked
 * by parts; a journal line without one (a range fetched as a plain range
 * by an earlier run) leaves the object unverified, said so.
 *
 * Threading: the download's loop thread.
 */
#include "download_parts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "dljournal.h"
#include "download.h"

/* N of a multipart ETag "<hex>-N", quotes optional; 0 when it is not one. */
static unsigned etag_parts(const char *etag)
{
	const char *dash;
	char *end;
	unsigned long n;

	if (!etag || !etag_is_multipart(etag) || !(dash = strrchr(etag, '-')))
		return 0;
	n = strtoul(dash + 1, &end, 10);
	if (end == dash + 1 || (*end && *end != '"') || n == 0 || n > 10000)
		return 0;
	return (unsigned)n;
}

int dl_parts_wanted(struct hoist_download *d)
{
	const struct dl_object *o = &d->obj;

	if (d->ctx->conf->dialect != HOIST_DIALECT_S3 || !d->spec.crc || o->s3sum_kind ||
	    o->sse || o->size == 0)
		return 0;
	d->obj.mp_parts = etag_parts(o->etag);
	return d->obj.mp_parts > 0;
}

struct request *dl_parts_probe_req(struct hoist_download *d)
{
	struct request *r = download_req_head(d);

	if (!r)
		return NULL;
	r->op = "HeadObject?partNumber";
	if (request_query(r, "partNumber", "1") < 0 ||
	    (d->obj.etag && request_header(r, "If-Match", d->obj.etag) < 0)) {
		request_free(r);
		return NULL;
	}
	r->extra_headers[0] = "x-amz-mp-parts-count";
	r->extra_headers[1] = NULL;
	r->extra_headers[2] = NULL;
	r->extra_headers[3] = NULL;
	return r;
}

/* A count or length as the store wrote it; 0 when it is no plain decimal. */
static uint64_t header_u64(const char *s)
{
	uint64_t v;

	return s && parse_u64(s, &v) == 0 ? v : 0;
}

uint64_t dl_parts_judge(const struct dl_parts_probe *pr, const char **why)
{
	uint64_t count = header_u64(pr->parts_count), p1 = header_u64(pr->content_length);
	uint64_t a, b, total;
	char tail;

	*why = NULL;
	if (pr->http != 200 && pr->http != 206) {
		*why = "the store refused HEAD ?partNumber=1";
	} else if (!pr->parts_count) {
		*why = "the store does not serve ?partNumber (no x-amz-mp-parts-count)";
	} else if (count == 0 || count != pr->etag_parts) {
		*why = "x-amz-mp-parts-count disagrees with the ETag";
	} else if (p1 == 0 || p1 > pr->size) {
		*why = "part 1's length is missing or impossible";
	} else if (pr->content_range &&
		   (sscanf(pr->content_range, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64 "%c", &a, &b,
			   &total, &tail) != 3 ||
		    a != 0 || b != p1 - 1 || total != pr->size)) {
		*why = "the Content-Range of part 1 is not its first bytes of the object";
	} else if (p1 * (count - 1) >= pr->size || p1 * count < pr->size) {
		*why = "the parts are not of one size (part 1's length times the count misses "
		       "the object's)";
	}
	return *why ? 0 : p1;
}

uint64_t dl_parts_on_probe(struct hoist_download *d, const struct request *r)
{
	const struct dl_object *o = &d->obj;
	struct dl_parts_probe pr = {
		.etag_parts = o->mp_parts, .size = o->size, .http = r->http,
		.parts_count = r->extra[0], .content_length = r->content_length,
		.content_range = r->content_range,
	};
	const char *why;
	uint64_t p1 = dl_parts_judge(&pr, &why);

	if (!p1) {
		ctx_log(d->ctx, "%s: not verified by parts: %s", d->spec.key, why);
		return 0;
	}
	d->obj.by_part = 1;
	ctx_log(d->ctx, "%s: %u parts of %" PRIu64 " bytes, each fetched by ?partNumber and "
		"checked by its MD5 against the ETag", d->spec.key, o->mp_parts, p1);
	return p1;
}

int dl_parts_start(struct hoist_download *d, unsigned nranges)
{
	unsigned i;

	if (!d->obj.by_part)
		return 0;
	if (nranges != d->obj.mp_parts) {
		dl_parts_lost(d, "the plan's ranges are not the object's parts");
		return 0;
	}
	for (i = 0; i < nranges; i++) {
		if (md5_init(&d->ranges[i].md5) < 0)
			return -1;
		d->ranges[i].md5_on = 1;
	}
	return 0;
}

int dl_parts_query(struct hoist_download *d, const struct part *p, struct request *r)
{
	char n[16];

	if (!d->obj.by_part || d->ranges[p->number - 1].got != 0)
		return 0;
	snprintf(n, sizeof(n), "%u", p->number);
	return request_query(r, "partNumber", n) < 0 ? -1 : 1;
}

void dl_parts_take(struct dl_range *g, const char *data, size_t n)
{
	if (g->md5_on) {
		md5_update(&g->md5, data, n);
	}
}

void dl_parts_range_done(struct hoist_download *d, struct dl_range *g,
			 struct dljournal_mark *m)
{
	if (!g->md5_on)
		return;
	md5_final(&g->md5, g->digest);
	g->md5_on = 0;
	g->digest_ok = 1;
	if (d->obj.by_part) {
		memcpy(m->md5, g->digest, sizeof(m->md5));
		m->has_md5 = 1;
	}
}

void dl_parts_resumed(struct dl_range *g, const struct dljournal_mark *m)
{
	if (!g->md5_on)
		return;
	md5_cleanup(&g->md5);
	g->md5_on = 0;
	if (m->has_md5) {
		memcpy(g->digest, m->md5, sizeof(g->digest));
		g->digest_ok = 1;
	}
}

void dl_parts_lost(struct hoist_download *d, const char *why)
{
	if (!d->obj.by_part)
		return;
	d->obj.by_part = 0;
	ctx_log(d->ctx, "%s: not verified by parts: %s", d->spec.key, why);
}

int dl_parts_verify(struct hoist_download *d, char *detail, size_t dlen)
{
	unsigned i, n = d->obj.mp_parts;
	uint8_t (*md5)[16];
	char want[64], oss[64] = "";
	int rc = -1;

	if (!d->obj.by_part)
		return 0;
	for (i = 0; i < n; i++) {
		if (!d->ranges[i].digest_ok && !d->ranges[i].md5_on) {
			ctx_log(d->ctx, "%s: not verified by parts: part %u came from an earlier "
				"run that kept no MD5 of it", d->spec.key, i + 1);
			return 0;
		}
	}
	md5 = calloc(n, sizeof(*md5));
	if (!md5) {
		snprintf(detail, dlen, "out of memory while checking the parts' MD5s");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (d->ranges[i].md5_on) {
			md5_final(&d->ranges[i].md5, d->ranges[i].digest);
			d->ranges[i].md5_on = 0;
		}
		memcpy(md5[i], d->ranges[i].digest, 16);
	}
	/* S3's rule, or OSS's (the MD5 of the parts' upper-case hex digests):
	 * a store that speaks both dialects keeps the ETag the Complete made,
	 * and an object completed over OSS is read over S3 too. */
	if (dialect_multipart_etag(HOIST_DIALECT_S3, want, sizeof(want),
				   (const uint8_t (*)[16])md5, n) < 0 ||
	    (!etag_equal(want, d->obj.etag) &&
	     dialect_multipart_etag(HOIST_DIALECT_OSS, oss, sizeof(oss),
				    (const uint8_t (*)[16])md5, n) < 0)) {
		snprintf(detail, dlen, "out of memory while checking the parts' MD5s");
	} else if (!etag_equal(want, d->obj.etag) && !etag_equal(oss, d->obj.etag)) {
		snprintf(detail, dlen,
			 "the %u parts received make the multipart ETag %s, the object's is %s; "
			 "nothing was kept", n, want, d->obj.etag);
	} else {
		rc = 1;
	}
	free(md5);
	return rc;
}

void dl_parts_cleanup(struct hoist_download *d, unsigned nranges)
{
	unsigned i;

	for (i = 0; d->ranges && i < nranges; i++) {
		if (d->ranges[i].md5_on) {
			md5_cleanup(&d->ranges[i].md5);
			d->ranges[i].md5_on = 0;
		}
	}
}
