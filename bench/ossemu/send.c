/*
 * send.c - paced and faulted response bodies (see send.h).
 *
 * Owns: struct sender, the state of one body served through an MHD
 * content reader: where it comes from (a file range or a buffer), the
 * pacing clock, and the fault points.
 *
 * Pacing works like the request side (http.c on_chunk): a slice goes out
 * when the bytes already handed to MHD are on schedule (start + sent / rate
 * is not in the future); otherwise the reader suspends the connection until
 * they are and returns 0, and MHD calls it again after the resume.  So the
 * average rate is the cap, with at most one slice ahead of it.  A slice is
 * PACE_SLICE_NS worth of bytes: smaller slices shape the stream more
 * smoothly but cost a suspend/resume round trip (a few microseconds) each;
 * larger ones send bursts a receiver can see.  Time spent stalled is not
 * credited to the pacing clock (a stalled stream does not burst afterwards).
 *
 * Threading: MHD calls the reader on the worker thread that owns the
 * connection, one call at a time; the free callback runs when MHD drops the
 * response.  Suspension goes through the resumer (thread-safe); the
 * counters are stats' atomics.
 */
#include "send.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resume.h"
#include "stats.h"

/* A pacing slice: 5 ms of the cap, at least 4 KiB (a tiny cap would
 * otherwise suspend per handful of bytes).  The reader's buffer is at most
 * READER_BLOCK_MAX: larger buys nothing (MHD sends it in pieces anyway) and
 * every paced or faulted response holds one. */
#define PACE_SLICE_NS 5000000ULL
#define PACE_SLICE_MIN 4096u
#define READER_BLOCK_MAX (256u * 1024)

struct sender {
	/* immutable after send_response_new */
	struct ossemu *srv;
	struct MHD_Connection *conn;
	int fd;                 /* >= 0: the body is fd[off, off + len) */
	uint64_t off;
	char *mem;              /* otherwise mem[0, len) */
	uint64_t len;
	struct send_plan plan;
	uint64_t slice;         /* bytes per pacing slice */

	/* owned by the connection's worker thread (the reader) */
	uint64_t start_ns;      /* pacing clock origin, moved on by stalls */
	int started;
	int stalled;
	int throttled;
};

void send_plan_init(struct send_plan *p)
{
	memset(p, 0, sizeof(*p));
	p->stall_at = SEND_NEVER;
	p->reset_at = SEND_NEVER;
	p->corrupt_at = SEND_NEVER;
}

int send_plan_active(const struct send_plan *p)
{
	return p->bandwidth > 0 || p->stall_at != SEND_NEVER || p->reset_at != SEND_NEVER ||
	       p->corrupt_at != SEND_NEVER;
}

/* Suspends the connection until when_ns.  0 when the server is stopping:
 * the caller then goes on at once (returning 0 unsuspended would make MHD
 * call the reader again in a busy loop). */
static int pause_until(struct sender *s, uint64_t when_ns)
{
	return resumer_suspend_until(s->srv->resumer, s->conn, when_ns);
}

static int fill(struct sender *s, uint64_t pos, char *buf, size_t n)
{
	size_t got = 0;

	if (s->fd < 0) {
		memcpy(buf, s->mem + pos, n);
		return 0;
	}
	while (got < n) {
		ssize_t r = pread(s->fd, buf + got, n - got, (off_t)(s->off + pos + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1; /* the file is shorter than the index says */
		got += (size_t)r;
	}
	return 0;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sender *s = cls;
	const struct send_plan *p = &s->plan;
	uint64_t n, now = mono_ns();

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!s->started) {
		s->started = 1;
		s->start_ns = now;
	}
	if (pos >= p->reset_at) {
		/* Drop the connection mid-body: the client holds a short body
		 * under a Content-Length it will never see filled. */
		stats_fault(s->srv->stats, FAULT_RESET);
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (!s->stalled && pos >= p->stall_at) {
		uint64_t d = (uint64_t)(p->stall_s * 1e9);

		s->stalled = 1;
		s->start_ns += d;
		stats_fault(s->srv->stats, FAULT_STALL);
		if (pause_until(s, now + d))
			return 0;
	}
	if (p->bandwidth > 0) {
		uint64_t due = s->start_ns + (uint64_t)((double)pos / p->bandwidth * 1e9);

		if (due > now + PACE_MIN_SUSPEND_NS) {
			if (!s->throttled) {
				s->throttled = 1;
				stats_fault(s->srv->stats, FAULT_BANDWIDTH);
			}
			if (pause_until(s, due))
				return 0;
		}
	}
	n = s->len - pos;
	if (n > max)
		n = max;
	if (p->bandwidth > 0 && n > s->slice)
		n = s->slice;
	/* Stop exactly at the fault points, so they hit the byte planned. */
	if (pos + n > p->reset_at)
		n = p->reset_at - pos;
	if (!s->stalled && pos + n > p->stall_at)
		n = p->stall_at - pos;
	if (fill(s, pos, buf, (size_t)n) < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (p->corrupt_at >= pos && p->corrupt_at < pos + n) {
		buf[p->corrupt_at - pos] ^= (char)0xFF;
		stats_fault(s->srv->stats, FAULT_CORRUPT);
	}
	stats_bytes_out(s->srv->stats, n);
	return (ssize_t)n;
}

static void sender_free(void *cls)
{
	struct sender *s = cls;

	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->mem);
	free(s);
}

struct MHD_Response *send_response_new(struct ossemu *srv, struct MHD_Connection *conn,
				       const struct send_plan *plan, int fd, uint64_t off,
				       char *mem, uint64_t len)
{
	struct sender *s = calloc(1, sizeof(*s));
	struct MHD_Response *resp;
	uint64_t block;

	if (!s) {
		if (fd >= 0)
			close(fd);
		free(mem);
		return NULL;
	}
	s->srv = srv;
	s->conn = conn;
	s->fd = fd;
	s->off = off;
	s->mem = mem;
	s->len = len;
	s->plan = *plan;
	s->slice = (uint64_t)(plan->bandwidth * (double)PACE_SLICE_NS / 1e9);
	if (s->slice < PACE_SLICE_MIN)
		s->slice = PACE_SLICE_MIN;
	block = len < READER_BLOCK_MAX ? len : READER_BLOCK_MAX;
	if (plan->bandwidth > 0 && block > s->slice)
		block = s->slice;
	if (block < 1)
		block = 1;
	resp = MHD_create_response_from_callback(len, (size_t)block, reader, s, sender_free);
	if (!resp)
		sender_free(s);
	return resp;
}
