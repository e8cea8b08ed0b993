/*
 * stream_agent.c - how a backup agent hands hoist a stream it produces:
 * the push API (hoist_upload_write from its own thread) and the pull API
 * (a read callback hoist calls from a thread of its own).
 *
 *   stream_agent push|pull BUCKET KEY SIZE [options]
 *     --fail-at N       pull: the read callback fails (EIO) at offset N
 *     --cancel-after MS push: another thread cancels the upload after MS
 *                       milliseconds (a writer blocked by the memory
 *                       budget must be released)
 *     --memory-limit N  the engine's budget for part buffers (bytes)
 *     --part-size N
 *
 * The bytes are a pattern the test regenerates independently: byte i is
 * block[i % 65536] ^ ((i >> 16) & 0xff), block from xorshift64 seeded
 * with 1.  The endpoint comes from HOIST_ENDPOINT, the keys from
 * OSS_ACCESS_KEY_ID / OSS_ACCESS_KEY_SECRET.  Prints one line:
 *   status=OK bytes=N parts=P crc64=C write_status=... seconds=S
 * and exits 0 on success, 1 on an upload failure, 2 on bad arguments.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hoist.h"

static unsigned char block[65536];

static void make_block(void)
{
	uint64_t x = 1;
	size_t i;

	for (i = 0; i < sizeof(block); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		block[i] = (unsigned char)x;
	}
}

static void pattern(unsigned char *out, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t p = off + i;

		out[i] = block[p % sizeof(block)] ^ (unsigned char)(p >> 16);
	}
}

struct feed {
	uint64_t size;
	uint64_t pos;
	int64_t fail_at;
};

static int64_t pull(void *buf, size_t len, void *userdata)
{
	struct feed *f = userdata;
	size_t n = len;

	if (f->fail_at >= 0 && f->pos >= (uint64_t)f->fail_at)
		return -EIO;
	if (n > f->size - f->pos) {
		n = (size_t)(f->size - f->pos);
	}
	if (f->fail_at >= 0 && f->pos + n > (uint64_t)f->fail_at) {
		n = (size_t)((uint64_t)f->fail_at - f->pos);
	}
	pattern(buf, f->pos, n);
	f->pos += n;
	return (int64_t)n;
}

struct canceller {
	struct hoist_upload *u;
	long ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = { c->ms / 1000, (c->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	hoist_upload_cancel(c->u);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options o = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_result r = HOIST_RESULT_INIT;
	struct hoist_engine *e = NULL;
	struct hoist_upload *u = NULL;
	struct feed f = { 0, 0, -1 };
	struct canceller c = { NULL, -1 };
	hoist_status st, wst = HOIST_OK;
	pthread_t t;
	double t0;
	int i, push, rc = 1;

	if (argc < 5 || (strcmp(argv[1], "push") != 0 && strcmp(argv[1], "pull") != 0)) {
		fprintf(stderr, "usage: stream_agent push|pull BUCKET KEY SIZE [options]\n");
		return 2;
	}
	push = strcmp(argv[1], "push") == 0;
	f.size = strtoull(argv[4], NULL, 10);
	for (i = 5; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--fail-at") == 0) {
			f.fail_at = strtoll(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--cancel-after") == 0) {
			c.ms = strtol(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--memory-limit") == 0) {
			eo.memory_limit = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--part-size") == 0) {
			o.part_size = strtoull(argv[i + 1], NULL, 10);
		} else {
			fprintf(stderr, "stream_agent: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	make_block();
	eo.endpoint = getenv("HOIST_ENDPOINT");
	eo.access_key_id = getenv("OSS_ACCESS_KEY_ID");
	eo.access_key_secret = getenv("OSS_ACCESS_KEY_SECRET");
	o.bucket = argv[2];
	o.key = argv[3];
	o.no_resume = 1;
	if (hoist_engine_new(&e, &eo, &r) != HOIST_OK) {
		fprintf(stderr, "stream_agent: %s\n", r.message ? r.message : "engine");
		hoist_result_cleanup(&r);
		return 1;
	}
	t0 = now_s();
	st = push ? hoist_upload_writer_start(&u, e, &o, &r)
		  : hoist_upload_stream_start(&u, e, pull, &f, &o, &r);
	if (st != HOIST_OK) {
		fprintf(stderr, "stream_agent: %s\n", r.message ? r.message : hoist_strerror(st));
		goto out;
	}
	if (c.ms >= 0) {
		c.u = u;
		pthread_create(&t, NULL, cancel_later, &c);
	}
	if (push) {
		/* The agent's own thread produces, in chunks that do not match
		 * the part size. */
		static unsigned char chunk[1000003];
		uint64_t off = 0;

		while (off < f.size && wst == HOIST_OK) {
			size_t n = f.size - off < sizeof(chunk) ? (size_t)(f.size - off) : sizeof(chunk);

			pattern(chunk, off, n);
			wst = hoist_upload_write(u, chunk, n);
			off += n;
		}
		if (wst == HOIST_OK) {
			wst = hoist_upload_close(u);
		}
	}
	st = hoist_upload_wait(u, &r);
	if (c.ms >= 0) {
		pthread_join(t, NULL);
	}
	printf("status=%s bytes=%" PRIu64 " parts=%u crc64=%" PRIu64 " write_status=%s seconds=%.3f\n",
	       st == HOIST_OK ? "OK" : hoist_strerror(st), r.bytes, r.parts, r.crc64,
	       wst == HOIST_OK ? "OK" : hoist_strerror(wst), now_s() - t0);
	if (st != HOIST_OK) {
		fprintf(stderr, "stream_agent: %s\n", r.message ? r.message : hoist_strerror(st));
	}
	rc = st == HOIST_OK ? 0 : 1;
out:
	hoist_upload_free(u);
	hoist_result_cleanup(&r);
	hoist_engine_free(e);
	return rc;
}
