/*
 * resume.c - the timer thread that resumes suspended MHD connections.
 *
 * Owns: a binary min-heap of (deadline, connection) and one thread sleeping
 * on a condition variable until the earliest deadline.  Insertion is
 * O(log n), so a bandwidth cap that suspends after every chunk of 4096
 * connections stays cheap.
 *
 * MHD allows MHD_resume_connection from any thread, even before the
 * handler that suspended the connection has returned (it only flags the
 * connection; the worker moves it back after the handler returns).
 *
 * Threading: `mu` guards the heap, `stopping` and `holds`; MHD's own lock is
 * taken inside MHD_suspend/resume while `mu` is held (lock order: mu, then
 * MHD's), and MHD never calls back into this file.
 */
#include "resume.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "ossemu.h"

struct timer {
	uint64_t when;
	struct MHD_Connection *c;
};

struct resumer {
	pthread_t thread;
	int started;

	/* synced: guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* new earliest deadline, or stopping */
	pthread_cond_t held_cv;  /* holds dropped */
	struct timer *heap;
	size_t n, cap;
	int stopping;
	unsigned holds;
};

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void heap_swap(struct timer *a, struct timer *b)
{
	struct timer t = *a;

	*a = *b;
	*b = t;
}

static int heap_push_locked(struct resumer *r, uint64_t when, struct MHD_Connection *c)
{
	size_t i;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct timer *h = realloc(r->heap, cap * sizeof(*h));

		if (!h)
			return -1;
		r->heap = h;
		r->cap = cap;
	}
	i = r->n++;
	r->heap[i].when = when;
	r->heap[i].c = c;
	while (i > 0 && r->heap[(i - 1) / 2].when > r->heap[i].when) {
		heap_swap(&r->heap[(i - 1) / 2], &r->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

static struct timer heap_pop_locked(struct resumer *r)
{
	struct timer top = r->heap[0];
	size_t i = 0;

	r->heap[0] = r->heap[--r->n];
	for (;;) {
		size_t l = 2 * i + 1, m = i;

		if (l < r->n && r->heap[l].when < r->heap[m].when)
			m = l;
		if (l + 1 < r->n && r->heap[l + 1].when < r->heap[m].when)
			m = l + 1;
		if (m == i)
			break;
		heap_swap(&r->heap[i], &r->heap[m]);
		i = m;
	}
	return top;
}

static void *timer_main(void *arg)
{
	struct resumer *r = arg;

	pthread_mutex_lock(&r->mu);
	while (!r->stopping) {
		uint64_t now = mono_ns();

		while (r->n && r->heap[0].when <= now) {
			struct timer t = heap_pop_locked(r);

			MHD_resume_connection(t.c);
		}
		if (r->n) {
			uint64_t when = r->heap[0].when;
			struct timespec ts = { (time_t)(when / 1000000000ULL),
					       (long)(when % 1000000000ULL) };

			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
		} else {
			pthread_cond_wait(&r->cv, &r->mu);
		}
	}
	while (r->n) {
		struct timer t = heap_pop_locked(r);

		MHD_resume_connection(t.c);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

struct resumer *resumer_new(void)
{
	struct resumer *r = calloc(1, sizeof(*r));
	pthread_condattr_t ca;

	if (!r)
		return NULL;
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&r->held_cv, NULL);
	if (pthread_create(&r->thread, NULL, timer_main, r) != 0) {
		resumer_free(r);
		return NULL;
	}
	r->started = 1;
	return r;
}

void resumer_stop(struct resumer *r, unsigned wait_ms)
{
	struct timespec ts;

	if (!r || !r->started)
		return;
	pthread_mutex_lock(&r->mu);
	r->stopping = 1;
	pthread_cond_signal(&r->cv);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (r->holds) {
		if (pthread_cond_timedwait(&r->held_cv, &r->mu, &ts) != 0)
			break;
	}
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	r->started = 0;
}

void resumer_free(struct resumer *r)
{
	if (!r)
		return;
	resumer_stop(r, 0);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cv);
	pthread_cond_destroy(&r->held_cv);
	free(r->heap);
	free(r);
}

int resumer_suspend_until(struct resumer *r, struct MHD_Connection *c, uint64_t when_ns)
{
	int ok = 0;

	pthread_mutex_lock(&r->mu);
	if (!r->stopping) {
		MHD_suspend_connection(c);
		if (heap_push_locked(r, when_ns, c) < 0) {
			MHD_resume_connection(c); /* ENOMEM: go on without the delay */
		} else {
			ok = 1;
			if (r->heap[0].c == c)
				pthread_cond_signal(&r->cv);
		}
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}

int resumer_hold(struct resumer *r, struct MHD_Connection *c)
{
	int ok = 0;

	pthread_mutex_lock(&r->mu);
	if (!r->stopping) {
		MHD_suspend_connection(c);
		r->holds++;
		ok = 1;
	}
	pthread_mutex_unlock(&r->mu);
	return ok;
}

void resumer_release(struct resumer *r, struct MHD_Connection *c)
{
	pthread_mutex_lock(&r->mu);
	MHD_resume_connection(c);
	r->holds--;
	if (!r->holds)
		pthread_cond_broadcast(&r->held_cv);
	pthread_mutex_unlock(&r->mu);
}
