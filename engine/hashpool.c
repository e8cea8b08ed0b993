/*
 * hashpool.c - pinned hash workers (see hashpool.h).
 *
 * Design: one mutex-protected FIFO for the whole engine, N workers waiting
 * on one condition variable.  Jobs are whole parts (100 KiB to 5 GiB), so
 * queue traffic is a few hundred operations per second at most and a
 * single lock is not contended; work stealing would buy nothing.  The FIFO
 * keeps parts hashed roughly in order, which is the order the send loop
 * wants them.  Each worker owns its chunk buffers, allocated on its own
 * thread after it is bound (first touch puts them on its NUMA node).
 *
 * Two ways to run a worker, fixed by the pool's MD5 path:
 *  - scalar: one job at a time, MD5 by OpenSSL (checksum.h);
 *  - lanes (AVX2, AVX-512): a worker holds up to md5mb_lanes() jobs.  Each
 *    round reads the next HASHPOOL_LANE_CHUNK of every job into that
 *    lane's buffer (or points into a memory job), runs the CRCs over it
 *    while it is in L1/L2, then advances every lane's MD5 in one
 *    md5mb_update.  A job that ends (its short last chunk, an error, a
 *    stop) is finished at once and its lane given to the next queued job
 *    before the following round, so parts of different lengths and parts
 *    that arrive while others are half done share the passes.  A worker
 *    waits on the queue only when it holds no job at all.
 * A job alone in a worker costs what the scalar path does (md5mb finishes
 * a lone lane on its portable block function), so the lanes path is never
 * worse than scalar and only as good as the batches it is given: see
 * hashpool_batch.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: `synced` under lock; `impl`/`lanes`/`threads`/`nthreads`/
 * `topo` immutable after hashpool_new; each worker's buffers and lanes are
 * private to it; the statistics are relaxed atomics.
 */
#include "hashpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "source.h"
#include "topo.h"

/*
 * The most bytes of parts a batch may hold: 256 MiB, 32 parts of the
 * default 8 MiB.  The window is two batches, so with the default part
 * size up to 512 MiB of the file are read ahead of the send point and
 * must stay in the page cache until sent.  Lower: bigger parts get fewer
 * lanes (16 MiB parts fill 16, 64 MiB parts 4).  Higher: more page cache
 * pinned by reading ahead, and a longer wait for the first part of a
 * batch (all of a batch's parts finish at about the same time).
 */
#define HASHPOOL_AHEAD_BYTES (256ull << 20)

struct worker {
	struct hashpool *pool;
	unsigned index;
	pthread_t thread;
	int started;
};

/* One job in a lanes worker. */
struct lane {
	struct hash_job *job;
	uint64_t done;             /* bytes hashed */
	size_t n;                  /* bytes of this round's chunk */
	int rc;                    /* as job->result, once it ends */
	int err;
	struct md5mb_ctx md5;
	uint64_t crc;
	uint64_t nvme;
	uint32_t c32c;
};

struct hashpool {
	/* Immutable after hashpool_new. */
	struct topo *topo;
	struct worker *workers;
	unsigned nthreads;
	enum md5mb_impl impl;
	unsigned lanes;            /* jobs per worker: 1 for scalar */

	/* Statistics only: relaxed, nothing is ordered by them. */
	atomic_uint_least64_t jobs;
	atomic_uint_least64_t rounds;
	atomic_uint_least64_t lane_rounds;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		struct hash_job *head;
		struct hash_job *tail;
		int stopping;
		unsigned ready;    /* workers named and bound */
	} synced;
};

/* Every job ends here, on its worker. */
static void job_done(struct hashpool *p, struct hash_job *j)
{
	atomic_fetch_add_explicit(&p->jobs, 1, memory_order_relaxed);
	j->done(j);
}

static int job_stopped(const struct hash_job *j)
{
	return j->stop && atomic_load_explicit(j->stop, memory_order_relaxed);
}

/* A job that cannot start: the worker has no buffer (ENOMEM), or its
 * upload is stopping.  Sets its result and returns 1; else 0. */
static int job_refused(struct hash_job *j, const void *buf)
{
	if (!buf) {
		j->result = -1;
		j->err = ENOMEM;
		return 1;
	}
	if (job_stopped(j)) {
		j->result = HASH_SKIPPED;
		return 1;
	}
	return 0;
}

static void crcs_update(struct hash_job *j, uint64_t *crc, uint32_t *c32c,
			uint64_t *nvme, const void *p, size_t n)
{
	if (j->want_crc) {
		*crc = crc64_ecma_update(*crc, p, n);
	}
	if (j->want_crc32c) {
		*c32c = crc32c_update(*c32c, p, n);
	}
	if (j->want_crc64nvme) {
		*nvme = crc64_nvme_update(*nvme, p, n);
	}
}

/* The next n bytes of j at off: in place for a memory job, else read into
 * buf.  NULL with *rc set when the read fails. */
static const unsigned char *job_chunk(struct hash_job *j, unsigned char *buf,
				      uint64_t off, size_t n, int *rc, int *err)
{
	if (j->mem)
		return (const unsigned char *)j->mem + off;
	*rc = source_read(j->src, buf, j->off + off, n);
	if (*rc != 0) {
		*err = errno;
		return NULL;
	}
	return buf;
}

/* ---------------------------------------------------------------- scalar */

static void hash_one(struct hash_job *j, unsigned char *buf)
{
	struct md5_ctx ctx = { 0 };
	uint64_t off = 0, crc = 0, nvme = 0;
	uint32_t c32c = 0;
	int rc = 0;

	j->result = 0;
	j->err = 0;
	if (j->want_md5 && md5_init(&ctx) < 0) {
		j->result = -1;
		j->err = ENOMEM;
		return;
	}
	while (off < j->len) {
		size_t n = j->len - off < HASHPOOL_CHUNK ? (size_t)(j->len - off) : HASHPOOL_CHUNK;
		const unsigned char *p;

		if (job_stopped(j)) {
			rc = HASH_SKIPPED;
			break;
		}
		p = job_chunk(j, buf, off, n, &rc, &j->err);
		if (!p)
			break;
		crcs_update(j, &crc, &c32c, &nvme, p, n);
		if (j->want_md5) {
			md5_update(&ctx, p, n);
		}
		off += n;
	}
	if (j->want_md5) {
		if (rc == 0) {
			md5_final(&ctx, j->md5);
		} else {
			md5_cleanup(&ctx);
		}
	}
	j->crc = crc;
	j->crc32c = c32c;
	j->crc64nvme = nvme;
	j->result = rc;
}

void hash_job_run(struct hash_job *j)
{
	unsigned char small[HASH_INLINE_MAX], *buf = small;

	if (!j->mem && j->len > sizeof(small)) {
		buf = malloc(HASHPOOL_CHUNK); /* not a small job: still right */
	}
	if (!job_refused(j, buf)) {
		hash_one(j, buf);
	}
	if (buf != small) {
		free(buf);
	}
	j->done(j);
}

/* ----------------------------------------------------------------- queue */

/* Takes the queue's head; NULL if empty.  Wakes another worker when jobs
 * remain, so that a list submitted with one signal reaches every worker it
 * needs. */
static struct hash_job *queue_pop_locked(struct hashpool *p)
{
	struct hash_job *j = p->synced.head;

	if (!j)
		return NULL;
	p->synced.head = j->next;
	if (!p->synced.head) {
		p->synced.tail = NULL;
	}
	j->next = NULL;
	return j;
}

static void queue_wake_rest_locked(struct hashpool *p)
{
	if (p->synced.head) {
		pthread_cond_signal(&p->cond);
	}
}

static void run_scalar(struct hashpool *p, unsigned char *buf)
{
	for (;;) {
		struct hash_job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->synced.head && !p->synced.stopping) {
			pthread_cond_wait(&p->cond, &p->lock);
		}
		j = queue_pop_locked(p);
		queue_wake_rest_locked(p);
		pthread_mutex_unlock(&p->lock);
		if (!j)
			break;
		if (!job_refused(j, buf)) {
			hash_one(j, buf);
		}
		job_done(p, j);
	}
}

/* ----------------------------------------------------------------- lanes */

static void lane_start(struct lane *l, struct hash_job *j)
{
	memset(l, 0, sizeof(*l));
	l->job = j;
	md5mb_init(&l->md5);
}

static void lane_finish(struct hashpool *p, struct lane *l)
{
	struct hash_job *j = l->job;

	j->result = l->rc;
	j->err = l->rc == -1 ? l->err : 0;
	if (l->rc == 0 && j->want_md5) {
		md5mb_final(&l->md5, j->md5);
	}
	j->crc = l->crc;
	j->crc32c = l->c32c;
	j->crc64nvme = l->nvme;
	job_done(p, j);
}

/* Reads lane i's next chunk and runs its CRCs; returns the chunk, or NULL
 * when the lane has ended (l->rc says how). */
static const unsigned char *lane_read(struct lane *l, unsigned char *buf)
{
	struct hash_job *j = l->job;
	const unsigned char *chunk;
	uint64_t left = j->len - l->done;

	l->n = left < HASHPOOL_LANE_CHUNK ? (size_t)left : HASHPOOL_LANE_CHUNK;
	if (job_stopped(j)) {
		l->rc = HASH_SKIPPED;
		return NULL;
	}
	if (l->n == 0)
		return (const unsigned char *)"";
	chunk = job_chunk(j, buf, l->done, l->n, &l->rc, &l->err);
	if (chunk) {
		crcs_update(j, &l->crc, &l->c32c, &l->nvme, chunk, l->n);
	}
	return chunk;
}

/* One round: a chunk of every busy lane, one multi-buffer MD5 pass, then
 * the lanes that ended are finished and closed up.  Returns the number of
 * lanes still busy. */
static unsigned lanes_round(struct hashpool *p, struct lane *ln, unsigned busy,
			    unsigned char *bufs)
{
	struct md5mb_ctx *ctx[MD5MB_MAX_LANES];
	const void *data[MD5MB_MAX_LANES];
	size_t len[MD5MB_MAX_LANES];
	unsigned i, nmd5 = 0;

	for (i = 0; i < busy; i++) {
		const unsigned char *chunk = lane_read(&ln[i], bufs + (size_t)i * HASHPOOL_LANE_CHUNK);

		if (chunk && ln[i].job->want_md5) {
			ctx[nmd5] = &ln[i].md5;
			data[nmd5] = chunk;
			len[nmd5] = ln[i].n;
			nmd5++;
		}
	}
	if (nmd5 > 0) {
		md5mb_update(p->impl, ctx, data, len, nmd5);
	}
	atomic_fetch_add_explicit(&p->rounds, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&p->lane_rounds, busy, memory_order_relaxed);
	for (i = 0; i < busy;) {
		struct lane *l = &ln[i];

		if (l->rc == 0) {
			l->done += l->n;
		}
		if (l->rc != 0 || l->done == l->job->len) {
			lane_finish(p, l);
			ln[i] = ln[--busy];
			continue;
		}
		i++;
	}
	return busy;
}

static void run_lanes(struct hashpool *p, unsigned char *bufs)
{
	struct lane ln[MD5MB_MAX_LANES];
	unsigned busy = 0;

	for (;;) {
		struct hash_job *j;

		pthread_mutex_lock(&p->lock);
		while (busy == 0 && !p->synced.head && !p->synced.stopping) {
			pthread_cond_wait(&p->cond, &p->lock);
		}
		if (busy == 0 && !p->synced.head) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		while (busy < p->lanes && (j = queue_pop_locked(p)) != NULL) {
			if (!job_refused(j, bufs)) {
				lane_start(&ln[busy++], j);
				continue;
			}
			/* Finished without a lane; done() must not run under
			 * the lock (it posts to a loop, which takes its own). */
			pthread_mutex_unlock(&p->lock);
			job_done(p, j);
			pthread_mutex_lock(&p->lock);
		}
		queue_wake_rest_locked(p);
		pthread_mutex_unlock(&p->lock);
		if (busy > 0) {
			busy = lanes_round(p, ln, busy, bufs);
		}
	}
}

/* ---------------------------------------------------------------- worker */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct hashpool *p = w->pool;
	unsigned char *buf;
	char name[16];

	snprintf(name, sizeof(name), "hoist-hash-%u", w->index);
	topo_name_thread(name);
	if (p->topo) {
		topo_bind_core(p->topo, w->index);
	}
	buf = malloc(p->lanes > 1 ? (size_t)p->lanes * HASHPOOL_LANE_CHUNK : HASHPOOL_CHUNK);
	pthread_mutex_lock(&p->lock);
	p->synced.ready++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);

	if (p->lanes > 1) {
		run_lanes(p, buf);
	} else {
		run_scalar(p, buf);
	}
	free(buf);
	return NULL;
}

/* Workers start on the CPUs of the thread that made the engine, not of
 * the one whose upload happens to start them (the pool starts lazily:
 * engine.c); a pinned worker then binds itself to its core. */
static int start_attr(pthread_attr_t *attr, const struct topo *topo)
{
	const cpu_set_t *mask;
	size_t setsize;

	if (pthread_attr_init(attr) != 0)
		return -1;
	if (!topo)
		return 0;
	mask = topo_creator_mask(topo, &setsize);
	if (pthread_attr_setaffinity_np(attr, setsize, mask) != 0) {
		pthread_attr_destroy(attr);
		return -1;
	}
	return 0;
}

int hashpool_new(struct hashpool **out, struct topo *topo, unsigned nthreads,
		 enum md5mb_impl impl)
{
	pthread_attr_t attr;
	struct hashpool *p;
	unsigned i;

	*out = NULL;
	if (!md5mb_supported(impl))
		return -1;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	if (nthreads == 0) {
		nthreads = topo_ncores(topo);
	}
	p->topo = topo;
	p->impl = impl;
	p->lanes = impl == MD5MB_SCALAR ? 1 : md5mb_lanes(impl);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->workers = calloc(nthreads, sizeof(*p->workers));
	if (!p->workers)
		goto fail;
	p->nthreads = nthreads;
	if (start_attr(&attr, topo) < 0)
		goto fail;
	for (i = 0; i < nthreads; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i;
		if (pthread_create(&p->workers[i].thread, &attr, worker_main,
				   &p->workers[i]) != 0)
			break;
		p->workers[i].started = 1;
	}
	pthread_attr_destroy(&attr);
	if (i < nthreads)
		goto fail;
	/* Return only once every worker is named and pinned, so that what
	 * the caller (or a test reading /proc) sees is the final placement. */
	pthread_mutex_lock(&p->lock);
	while (p->synced.ready < nthreads) {
		pthread_cond_wait(&p->cond, &p->lock);
	}
	pthread_mutex_unlock(&p->lock);
	*out = p;
	return 0;
fail:
	hashpool_free(p);
	return -1;
}

void hashpool_free(struct hashpool *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->synced.stopping = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (i = 0; p->workers && i < p->nthreads; i++) {
		if (p->workers[i].started) {
			pthread_join(p->workers[i].thread, NULL);
		}
	}
	free(p->workers);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

void hashpool_submit_list(struct hashpool *p, struct hash_job *first)
{
	struct hash_job *last = first;

	if (!first)
		return;
	while (last->next) {
		last = last->next;
	}
	pthread_mutex_lock(&p->lock);
	if (p->synced.tail) {
		p->synced.tail->next = first;
	} else {
		p->synced.head = first;
	}
	p->synced.tail = last;
	/* One worker; it wakes the next if it leaves jobs behind. */
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void hashpool_submit(struct hashpool *p, struct hash_job *job)
{
	job->next = NULL;
	hashpool_submit_list(p, job);
}

unsigned hashpool_threads(const struct hashpool *p)
{
	return p->nthreads;
}

unsigned hashpool_batch(const struct hashpool *p, uint64_t part_size)
{
	uint64_t fit;

	if (p->lanes <= 1)
		return 1;
	fit = part_size ? HASHPOOL_AHEAD_BYTES / part_size : p->lanes;
	if (fit < 1) {
		fit = 1;
	}
	return fit < p->lanes ? (unsigned)fit : p->lanes;
}

unsigned hashpool_window(const struct hashpool *p, uint64_t part_size)
{
	if (p->lanes <= 1)
		return 2 * p->nthreads;
	return 2 * hashpool_batch(p, part_size);
}

void hashpool_stats(const struct hashpool *p, struct hashpool_stats *out)
{
	out->jobs = atomic_load_explicit(&p->jobs, memory_order_relaxed);
	out->rounds = atomic_load_explicit(&p->rounds, memory_order_relaxed);
	out->lane_rounds = atomic_load_explicit(&p->lane_rounds, memory_order_relaxed);
}
