/*
 * hashpool.c - pinned hash workers (see hashpool.h).
 *
 * Design: one mutex-protected FIFO for the whole engine, N workers waiting
 * on one condition variable.  Jobs are whole parts (100 KiB to 5 GiB), so
 * queue traffic is a few hundred operations per second at most and a
 * single lock is not contended; work stealing would buy nothing.  The FIFO
 * keeps parts hashed roughly in order, which is the order the send loop
 * wants them.  Each worker owns a HASHPOOL_CHUNK buffer allocated on its
 * own thread after it is bound (first touch puts it on its NUMA node).
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: `synced` under lock; `threads`/`nthreads`/`topo` immutable
 * after hashpool_new; each worker's buffer is private to it.
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

struct worker {
	struct hashpool *pool;
	unsigned index;
	pthread_t thread;
	int started;
};

struct hashpool {
	/* Immutable after hashpool_new. */
	struct topo *topo;
	struct worker *workers;
	unsigned nthreads;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		struct hash_job *head;
		struct hash_job *tail;
		int stopping;
		unsigned ready;    /* workers named and bound */
	} synced;
};

static void hash_one(struct hash_job *j, unsigned char *buf)
{
	struct md5_ctx ctx = { 0 };
	uint64_t off = j->off, left = j->len;
	uint64_t crc = 0, nvme = 0;
	uint32_t c32c = 0;
	int rc = 0;

	j->result = 0;
	j->err = 0;
	if (j->want_md5 && md5_init(&ctx) < 0) {
		j->result = -1;
		j->err = ENOMEM;
		return;
	}
	while (left > 0) {
		size_t n = left < HASHPOOL_CHUNK ? (size_t)left : HASHPOOL_CHUNK;

		if (j->stop && atomic_load_explicit(j->stop, memory_order_relaxed)) {
			rc = HASH_SKIPPED;
			break;
		}
		rc = source_read(j->src, buf, off, n);
		if (rc != 0) {
			j->err = errno;
			break;
		}
		if (j->want_crc) {
			crc = crc64_ecma_update(crc, buf, n);
		}
		if (j->want_md5) {
			md5_update(&ctx, buf, n);
		}
		if (j->want_crc32c) {
			c32c = crc32c_update(c32c, buf, n);
		}
		if (j->want_crc64nvme) {
			nvme = crc64_nvme_update(nvme, buf, n);
		}
		off += n;
		left -= n;
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
	buf = malloc(HASHPOOL_CHUNK);
	pthread_mutex_lock(&p->lock);
	p->synced.ready++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);

	for (;;) {
		struct hash_job *j;

		pthread_mutex_lock(&p->lock);
		while (!p->synced.head && !p->synced.stopping) {
			pthread_cond_wait(&p->cond, &p->lock);
		}
		j = p->synced.head;
		if (!j) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		p->synced.head = j->next;
		if (!p->synced.head) {
			p->synced.tail = NULL;
		}
		pthread_mutex_unlock(&p->lock);

		j->next = NULL;
		if (!buf) {
			j->result = -1;
			j->err = ENOMEM;
		} else if (j->stop && atomic_load_explicit(j->stop, memory_order_relaxed)) {
			j->result = HASH_SKIPPED;
		} else {
			hash_one(j, buf);
		}
		j->done(j);
	}
	free(buf);
	return NULL;
}

int hashpool_new(struct hashpool **out, struct topo *topo, unsigned nthreads)
{
	struct hashpool *p;
	unsigned i;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -1;
	if (nthreads == 0) {
		nthreads = topo_ncores(topo);
	}
	p->topo = topo;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->workers = calloc(nthreads, sizeof(*p->workers));
	if (!p->workers)
		goto fail;
	p->nthreads = nthreads;
	for (i = 0; i < nthreads; i++) {
		p->workers[i].pool = p;
		p->workers[i].index = i;
		if (pthread_create(&p->workers[i].thread, NULL, worker_main,
				   &p->workers[i]) != 0)
			goto fail;
		p->workers[i].started = 1;
	}
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

void hashpool_submit(struct hashpool *p, struct hash_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->synced.tail) {
		p->synced.tail->next = job;
	} else {
		p->synced.head = job;
	}
	p->synced.tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

unsigned hashpool_threads(const struct hashpool *p)
{
	return p->nthreads;
}
