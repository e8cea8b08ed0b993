/*
 * restore_agent.c - how a backup agent restores an object through the
 * library: into a path (replaced only by the verified object), into a
 * descriptor it owns, or through an ordered write callback (here: the
 * bytes appended to OUT while their CRC64 is computed in order, as a
 * restore that pipes into an archiver would).
 *
 *   restore_agent path|fd|writer BUCKET KEY OUT [options]
 *     --part-size N      range size (bytes)
 *     --jobs N
 *     --cancel-after MS  another thread cancels the download after MS ms
 *     --expect-crc64 C   the caller's catalogue says the object has CRC64 C
 *
 * The endpoint comes from HOIST_ENDPOINT, the keys from OSS_ACCESS_KEY_ID
 * / OSS_ACCESS_KEY_SECRET.  Prints one line:
 *   status=OK bytes=N ranges=R crc64=C verified=V writer_crc64=W calls=K seconds=S
 * (writer_crc64 and calls: the writer mode's own CRC64 of what it was
 * handed, and how many calls), and exits 0 on success, 1 on a download
 * failure, 2 on bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hoist.h"

struct writer_state {
	int fd;
	uint64_t crc;
	uint64_t calls;
};

/* Called in order from the download's writer thread. */
static int write_cb(const void *buf, size_t len, void *userdata)
{
	struct writer_state *w = userdata;
	const char *p = buf;

	w->crc = hoist_crc64(w->crc, buf, len);
	w->calls++;
	while (len) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

struct canceller {
	struct hoist_download *d;
	unsigned ms;
};

static void *cancel_main(void *arg)
{
	struct canceller *c = arg;
	struct timespec ts = { c->ms / 1000, (long)(c->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	hoist_download_cancel(c->d);
	return NULL;
}

int main(int argc, char **argv)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_download_options o = HOIST_DOWNLOAD_OPTIONS_INIT;
	struct hoist_result res = HOIST_RESULT_INIT;
	struct writer_state w = { -1, 0, 0 };
	struct hoist_engine *e = NULL;
	struct hoist_download *d = NULL;
	struct canceller c = { NULL, 0 };
	pthread_t th;
	const char *mode, *out;
	hoist_status st;
	int i, fd = -1, rc = 1, cancel_thread = 0;

	if (argc < 5)
		return 2;
	mode = argv[1];
	o.bucket = argv[2];
	o.key = argv[3];
	out = argv[4];
	for (i = 5; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--part-size") == 0) {
			o.part_size = strtoull(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--jobs") == 0) {
			o.jobs = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--cancel-after") == 0) {
			c.ms = (unsigned)strtoul(argv[i + 1], NULL, 10);
		} else if (strcmp(argv[i], "--expect-crc64") == 0) {
			o.expected_crc64 = strtoull(argv[i + 1], NULL, 10);
			o.expected_crc64_set = 1;
		} else {
			return 2;
		}
	}
	eo.endpoint = getenv("HOIST_ENDPOINT");
	eo.access_key_id = getenv("OSS_ACCESS_KEY_ID");
	eo.access_key_secret = getenv("OSS_ACCESS_KEY_SECRET");
	st = hoist_engine_new(&e, &eo, &res);
	if (st != HOIST_OK) {
		printf("status=%s message=%s\n", hoist_strerror(st), res.message ? res.message : "");
		hoist_result_cleanup(&res);
		return 1;
	}
	if (strcmp(mode, "path") == 0) {
		st = hoist_download_file_start(&d, e, out, &o, &res);
	} else if (strcmp(mode, "fd") == 0 || strcmp(mode, "writer") == 0) {
		fd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0) {
			perror(out);
			hoist_engine_free(e);
			return 2;
		}
		if (mode[0] == 'f') {
			st = hoist_download_fd_start(&d, e, fd, &o, &res);
		} else {
			w.fd = fd;
			st = hoist_download_writer_start(&d, e, write_cb, &w, &o, &res);
		}
	} else {
		hoist_engine_free(e);
		return 2;
	}
	if (st == HOIST_OK && c.ms) {
		c.d = d;
		cancel_thread = pthread_create(&th, NULL, cancel_main, &c) == 0;
	}
	if (st == HOIST_OK) {
		st = hoist_download_wait(d, &res);
	}
	if (cancel_thread) {
		pthread_join(th, NULL);
	}
	hoist_download_free(d);
	printf("status=%s bytes=%" PRIu64 " ranges=%u crc64=%" PRIu64 " verified=%d writer_crc64=%" PRIu64
	       " calls=%" PRIu64 " seconds=%.3f message=%s\n",
	       st == HOIST_OK ? "OK" : hoist_strerror(st), res.bytes, res.parts, res.crc64,
	       (int)res.verified, w.crc, w.calls, res.seconds, res.message ? res.message : "");
	rc = st == HOIST_OK ? 0 : 1;
	hoist_result_cleanup(&res);
	if (fd >= 0) {
		close(fd);
	}
	hoist_engine_free(e);
	return rc;
}
