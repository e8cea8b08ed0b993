/*
 * download_start.c - the public download API: option checks, start, wait,
 * cancel, free.
 *
 * Layer: API.
 *
 * Everything here runs on the caller's thread.  Start validates and copies
 * the options, opens the sink (a file target's temporary file is created
 * here, so a directory that cannot take it fails at once), then posts the
 * download to one event loop (round robin); download.c drives it from
 * there.  Wait is where a file target is made durable (download_settle).
 * Threading: see download.h.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "download.h"
#include "engine.h"

#define container_of(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

static hoist_status check_options(const struct hoist_download_options *o, char *err,
				  size_t errlen)
{
	size_t klen;

	if (o->version < 1 || o->version > HOIST_DOWNLOAD_OPTIONS_VERSION) {
		snprintf(err, errlen, "download options version %u, expected 1 to %u", o->version,
			 HOIST_DOWNLOAD_OPTIONS_VERSION);
		return HOIST_E_INVALID_ARG;
	}
	if (!o->bucket || !*o->bucket || strlen(o->bucket) > 255 || strchr(o->bucket, '/')) {
		snprintf(err, errlen, "no bucket, or an invalid bucket name");
		return HOIST_E_INVALID_ARG;
	}
	klen = o->key ? strlen(o->key) : 0;
	if (klen == 0 || klen > 1023) {
		snprintf(err, errlen, "the object key must have 1 to 1023 bytes");
		return HOIST_E_INVALID_ARG;
	}
	if (o->jobs > 4096 || (unsigned)o->concurrency > HOIST_CONCURRENCY_FIXED ||
	    (unsigned)o->checksum > HOIST_CHECKSUM_NONE) {
		snprintf(err, errlen, "jobs above 4096, or an unknown concurrency or checksum mode");
		return HOIST_E_INVALID_ARG;
	}
	if (o->part_size > 5ull * 1024 * 1024 * 1024) {
		snprintf(err, errlen, "range size above 5 GiB");
		return HOIST_E_INVALID_ARG;
	}
	if (o->version >= 3 && o->known_set && (!o->known_etag || !*o->known_etag)) {
		snprintf(err, errlen, "known_set without a known_etag");
		return HOIST_E_INVALID_ARG;
	}
	return HOIST_OK;
}

static hoist_status fill_spec(struct hoist_download *d, const struct hoist_engine *e,
			      const struct hoist_download_options *o)
{
	struct dl_spec *s = &d->spec;
	unsigned per_loop = e->conf.max_connections / e->conf.io_threads;

	s->bucket = strdup(o->bucket);
	s->key = strdup(o->key);
	s->version_id = o->version_id && *o->version_id ? strdup(o->version_id) : NULL;
	if (!s->bucket || !s->key || (o->version_id && *o->version_id && !s->version_id))
		return HOIST_E_NOMEM;
	s->part_size = o->part_size;
	s->jobs = o->jobs ? o->jobs : 64;
	if (per_loop == 0) {
		per_loop = 1;
	}
	if (s->jobs > per_loop) {
		s->jobs = per_loop;
	}
	s->fixed_concurrency = o->concurrency == HOIST_CONCURRENCY_FIXED;
	s->crc = o->checksum != HOIST_CHECKSUM_NONE;
	s->expected_size = o->expected_size;
	s->expected_size_set = o->expected_size_set;
	s->expected_crc64 = o->expected_crc64;
	s->expected_crc64_set = o->expected_crc64_set;
	s->require_verified = o->require_verified;
	s->no_resume = o->no_resume;
	s->restart = o->restart;
	s->progress = o->progress;
	s->on_part = o->on_part;
	s->userdata = o->userdata;
	if (o->version >= 3) {
		s->on_done = o->on_done;
		s->known_set = o->known_set;
		s->known_size = o->known_size;
		if (o->known_set && !(s->known_etag = strdup(o->known_etag)))
			return HOIST_E_NOMEM;
	}
	return HOIST_OK;
}

/* Chunk and receive sizes for jobs ranges in flight.  Every range in
 * flight fills one chunk and curl holds one receive buffer for it, so
 * both shrink as jobs grow, within CHUNK_MEMORY for the chunks (file
 * sinks: ranges in flight + 8 at least, the rest for the writer's queue):
 * 8 jobs get 1 MiB chunks, 64 get 336 KiB, 256 get 80 KiB (307 of
 * them).  Larger chunks mean fewer hand-offs to the writer (a lock, now
 * and then a wakeup) and fewer pwrite calls; past ~1 MiB they stop paying
 * and only cost memory: with 32 MiB, 256 jobs peaked at 66-70 MiB RSS. */
#define CHUNK_MEMORY (24u << 20)

static void size_buffers(struct hoist_download *d, unsigned jobs)
{
	size_t chunk = CHUNK_MEMORY / (jobs + 8);
	long recv = (long)((8u << 20) / (jobs ? jobs : 1));

	chunk &= ~(size_t)((16u << 10) - 1);
	if (chunk < (64u << 10)) {
		chunk = 64u << 10;
	}
	if (chunk > (1u << 20)) {
		chunk = 1u << 20;
	}
	if (recv < (16L << 10)) {
		recv = 16L << 10;
	}
	if (recv > (128L << 10)) {
		recv = 128L << 10;
	}
	if ((size_t)recv > chunk) {
		recv = (long)chunk;
	}
	d->chunk_size = chunk;
	d->recv_buffer = recv;
	d->max_chunks = (unsigned)(CHUNK_MEMORY / chunk);
	if (d->max_chunks < jobs + 8) {
		d->max_chunks = jobs + 8;
	}
}

/* A small object known from a listing (no resume, one range) goes to a
 * direct sink (sink.h): no writer thread, whose start and join cost ~50 us
 * of CPU a file, more than a 16 KiB GET and a tenth of a 1 MiB one
 * (measured: 500 files of 1 MiB, one clone3 and one madvise of a thread
 * stack each), and no chunk: the loop writes each callback's bytes.  The
 * earlier way, a chunk holding the object until hoist_download_wait wrote
 * it, copied every byte once more and wrote on the one thread that also
 * starts and reaps a tree's files: 500 files of 1 MiB over loopback took
 * 0.48 s against 0.40 s direct (medians of 21 alternating runs; one
 * object of the same 500 MiB 0.35 s).  Larger objects get a writer, whose
 * cost their transfer dwarfs, and whose loop never waits on the disk. */
#define DIRECT_MAX (1u << 20)

static void go_direct(struct hoist_download *d, struct sink_conf *sc,
		      const struct hoist_download_options *o)
{
	uint64_t range = d->spec.part_size ? d->spec.part_size : 8ull << 20;

	if (!d->spec.known_set || d->spec.version_id)
		return;
	/* A chunk no larger than the object: a 16 KiB file must not cost a
	 * 1 MiB allocation (mmap, page faults, munmap). */
	if (d->spec.known_size < d->chunk_size) {
		size_t c = (size_t)((d->spec.known_size + (16u << 10) - 1) & ~(uint64_t)((16u << 10) - 1));

		d->chunk_size = c ? c : 16u << 10;
		if ((size_t)d->recv_buffer > d->chunk_size) {
			d->recv_buffer = (long)d->chunk_size;
		}
	}
	if (sc->kind != SINK_PATH || !o->no_resume || d->spec.known_size > DIRECT_MAX ||
	    d->spec.known_size > range)
		return;
	d->direct = 1;
	sc->direct = 1;
}

static void live_cancel(struct live *l)
{
	download_cancel(container_of(l, struct hoist_download, live));
}

static void live_wait(struct live *l)
{
	download_wait_finished(container_of(l, struct hoist_download, live));
}

static hoist_status start_with(struct hoist_download **out, struct hoist_engine *e,
			       struct sink_conf *sc, const struct hoist_download_options *o,
			       struct hoist_result *result)
{
	struct hoist_download *d;
	hoist_status st;
	char err[512] = "";

	if (out) {
		*out = NULL;
	}
	if (!out || !e || !o)
		return result_fail(result, HOIST_E_INVALID_ARG, NULL, "NULL argument");
	st = check_options(o, err, sizeof(err));
	if (st != HOIST_OK)
		return result_fail(result, st, NULL, err);
	d = download_new(&e->ctx);
	if (!d)
		return result_fail(result, HOIST_E_NOMEM, NULL, NULL);
	d->engine = e;
	st = fill_spec(d, e, o);
	if (st == HOIST_OK) {
		size_buffers(d, d->spec.jobs);
		budget_share_init(&d->share, &e->budget, o->memory_limit);
		go_direct(d, sc, o);
		sc->chunk_size = d->chunk_size;
		sc->max_chunks = d->max_chunks;
		sc->share = &d->share;
		sc->resume = !o->no_resume;
		sc->restart = o->restart;
		sc->no_sync = o->version >= 2 && o->no_sync;
		sc->notify = download_sink_notify;
		sc->owner = d;
		d->sink_kind = sc->kind;
		st = sink_open(&d->sink, sc, err, sizeof(err));
	}
	if (st != HOIST_OK) {
		download_destroy(d);
		return result_fail(result, st, "open", err[0] ? err : NULL);
	}
	d->live.cancel = live_cancel;
	d->live.wait = live_wait;
	engine_live_add(e, &d->live);
	*out = d;
	download_post(d, engine_next_loop(e));
	return HOIST_OK;
}

static hoist_status deliver(struct hoist_result *caller, struct hoist_result *built,
			    hoist_status st)
{
	if (st != HOIST_OK) {
		result_deliver(caller, built);
	} else {
		hoist_result_cleanup(built);
	}
	return st;
}

hoist_status hoist_download_file_start(struct hoist_download **out, struct hoist_engine *engine,
				       const char *path, const struct hoist_download_options *opts,
				       struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	struct sink_conf sc = { .kind = SINK_PATH, .path = path };

	if (!path || !*path) {
		if (out) {
			*out = NULL;
		}
		return deliver(result, &r, result_fail(&r, HOIST_E_INVALID_ARG, NULL, "no path"));
	}
	return deliver(result, &r, start_with(out, engine, &sc, opts, &r));
}

hoist_status hoist_download_fd_start(struct hoist_download **out, struct hoist_engine *engine,
				     int fd, const struct hoist_download_options *opts,
				     struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	struct sink_conf sc = { .kind = SINK_FD, .fd = fd };

	if (fd < 0) {
		if (out) {
			*out = NULL;
		}
		return deliver(result, &r, result_fail(&r, HOIST_E_INVALID_ARG, NULL, "bad descriptor"));
	}
	return deliver(result, &r, start_with(out, engine, &sc, opts, &r));
}

hoist_status hoist_download_writer_start(struct hoist_download **out,
					 struct hoist_engine *engine, hoist_write_fn write,
					 void *write_userdata,
					 const struct hoist_download_options *opts,
					 struct hoist_result *result)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	struct sink_conf sc = { .kind = SINK_ORDERED, .write = write, .write_ud = write_userdata };

	if (!write) {
		if (out) {
			*out = NULL;
		}
		return deliver(result, &r, result_fail(&r, HOIST_E_INVALID_ARG, NULL, "NULL argument"));
	}
	return deliver(result, &r, start_with(out, engine, &sc, opts, &r));
}

hoist_status hoist_download_wait(struct hoist_download *d, struct hoist_result *result)
{
	hoist_status st;

	if (!d || loop_current())
		return HOIST_E_INVALID_ARG;
	download_wait_finished(d);
	download_settle(d);
	st = d->res.status;
	if (result) {
		result_deliver(result, &d->res);
		d->res.status = st;
	}
	return st;
}

void hoist_download_cancel(struct hoist_download *d)
{
	if (d) {
		download_cancel(d);
	}
}

void hoist_download_free(struct hoist_download *d)
{
	if (!d)
		return;
	if (hoist__in_callback || loop_current())
		return; /* refused: see hoist.h */
	download_wait_finished(d);
	engine_live_remove(d->engine, &d->live);
	download_destroy(d);
}
