/*
 * stats.c - what an upload tells its caller while and after it runs:
 * progress, per-part reports, and the figures of the result.
 *
 * Layer: transfer.
 *
 * Progress counts the bytes of finished parts plus the bytes already sent
 * of parts in flight, so a bar moves smoothly even with few large parts;
 * it never goes backwards (a re-sent part is not counted twice) and
 * reaches the total only when the upload succeeds.  User callbacks run on
 * the loop thread with no engine lock held, marked as callbacks (ctx.h)
 * so that a free from inside one is refused.
 *
 * Threading: the upload's loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "dialect.h"
#include "upload.h"

void stats_progress(struct hoist_upload *u, int final)
{
	uint64_t total = u->slice ? u->slice_bytes : u->plan.size, cur;

	if (!u->spec.progress)
		return;
	if (u->stream && u->state != UP_DONE && u->expected_size > total) {
		total = u->expected_size; /* a stream's length is known at its end */
	}
	cur = u->pipe.acked + part_pipe_inflight_bytes(&u->pipe);
	if (u->state == UP_PUT && u->ctl) {
		cur += u->ctl->pos;
	}
	if (cur > total) {
		cur = total;
	}
	if (final && u->res.status == HOIST_OK && !u->failing) {
		cur = total;
	}
	if (cur <= u->reported && !final)
		return;
	if (cur < u->reported) {
		cur = u->reported;
	}
	ctx_callback_enter();
	u->spec.progress(cur - u->reported, cur, total, u->pipe.inflight, u->spec.userdata);
	ctx_callback_leave();
	u->reported = cur;
}

void stats_part(struct hoist_upload *u, const struct part *p, const struct request *r)
{
	const struct sums_spec *s = &u->spec.sums;
	struct hoist_part_info info;
	char md5b64[25] = "";
	char sum[13] = "";

	if (!u->spec.on_part)
		return;
	memset(&info, 0, sizeof(info));
	if (s->want_md5 && p->have_md5) {
		md5_to_base64(md5b64, p->md5);
	}
	info.part_number = p->number;
	info.offset = p->off;
	info.size = p->len;
	info.http_status = r ? r->http : 0;
	info.request_id = r && r->request_id ? r->request_id : "";
	info.content_md5 = md5b64;
	info.etag = p->etag ? p->etag : "";
	info.crc64 = p->have_crc ? p->crc : 0;
	info.attempts = p->attempts;
	info.seconds = p->seconds;
	if (p->have_s3sum) {
		s3sum_encode(sum, s->s3sum, p->s3sum);
	}
	info.s3_checksum = sum;
	info.s3_checksum_echoed = p->have_s3sum && r && r->echo;
	ctx_callback_enter();
	u->spec.on_part(&info, u->spec.userdata);
	ctx_callback_leave();
}

static double percentile(double *v, unsigned n, double q)
{
	unsigned i, j;
	size_t k;

	if (n == 0)
		return 0;
	/* Insertion sort is fine for a one-off over <= 10,000 values. */
	for (i = 1; i < n; i++) {
		double x = v[i];

		for (j = i; j > 0 && v[j - 1] > x; j--) {
			v[j] = v[j - 1];
		}
		v[j] = x;
	}
	k = (size_t)(q * (double)(n - 1) + 0.5);
	return v[k < n ? k : n - 1];
}

void stats_finish(struct hoist_upload *u)
{
	struct hoist_result *r = &u->res;
	const struct part_pipe *pp = &u->pipe;
	double *lat;
	unsigned i, n = 0;

	r->seconds = hoist__now_s() - u->t0;
	r->parts = u->slice ? u->slice_count : u->plan.nparts;
	r->part_size = u->plan.nparts ? u->plan.part_size : u->plan.size;
	r->bytes = u->slice ? u->slice_bytes : u->plan.size;
	r->bytes_sent = u->stats.bytes_sent;
	r->retries = u->stats.retries;
	r->ttfb_seconds = u->stats.ttfb;
	if (u->stats.http_status) {
		r->http_status = u->stats.http_status;
	}
	if (u->oc.crc_valid && u->completed) {
		r->crc64 = u->oc.crc;
		r->crc64_valid = 1;
	}
	if (u->plan.nparts == 0)
		return;
	lat = malloc(sizeof(*lat) * pp->nparts);
	if (!lat)
		return;
	for (i = 0; i < pp->nparts; i++) {
		if (pp->parts[i].state == PART_DONE && !pp->parts[i].resumed && pp->parts[i].etag) {
			lat[n++] = pp->parts[i].seconds;
		}
	}
	r->part_p50_seconds = percentile(lat, n, 0.50);
	r->part_p99_seconds = percentile(lat, n, 0.99);
	free(lat);
}
