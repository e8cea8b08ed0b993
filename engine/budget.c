/*
 * budget.c - the engine's memory budget (see budget.h).
 *
 * Layer: runtime.
 *
 * A waiter sleeps on the condition variable with a 50 ms timeout so that a
 * cancel flag set from a signal handler (which cannot broadcast) is seen
 * quickly; releases broadcast, since waiters want different amounts.
 *
 * Threading: `synced` under lock; a share's `used` is an atomic because
 * its transfer reads it for its result while other threads release.
 */
#include "budget.h"

#include <errno.h>
#include <time.h>

void budget_init(struct budget *b, uint64_t limit)
{
	b->limit = limit;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->synced.used = 0;
	b->synced.peak = 0;
}

void budget_cleanup(struct budget *b)
{
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

void budget_share_init(struct budget_share *s, struct budget *b, uint64_t cap)
{
	s->b = b;
	s->cap = cap;
	atomic_init(&s->used, 0);
}

uint64_t budget_share_max(const struct budget_share *s)
{
	return s->cap && s->cap < s->b->limit ? s->cap : s->b->limit;
}

/* Under the lock: whether n more bytes fit s now. */
static int fits_locked(const struct budget_share *s, uint64_t n)
{
	const struct budget *b = s->b;
	uint64_t mine = atomic_load_explicit(&s->used, memory_order_relaxed);

	return b->synced.used + n <= b->limit && (!s->cap || mine + n <= s->cap);
}

static void take_locked(struct budget_share *s, uint64_t n)
{
	struct budget *b = s->b;

	b->synced.used += n;
	if (b->synced.used > b->synced.peak) {
		b->synced.peak = b->synced.used;
	}
	atomic_fetch_add_explicit(&s->used, n, memory_order_relaxed);
}

int budget_acquire(struct budget_share *s, uint64_t n, const atomic_int *cancel)
{
	struct budget *b = s->b;
	int rc = 0;

	if (n > budget_share_max(s))
		return -1;
	pthread_mutex_lock(&b->lock);
	while (!fits_locked(s, n)) {
		struct timespec ts;

		if (cancel && atomic_load_explicit(cancel, memory_order_relaxed)) {
			rc = 1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cond, &b->lock, &ts);
	}
	if (rc == 0) {
		take_locked(s, n);
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

int budget_try_acquire(struct budget_share *s, uint64_t n)
{
	struct budget *b = s->b;
	int rc = -1;

	pthread_mutex_lock(&b->lock);
	if (fits_locked(s, n)) {
		take_locked(s, n);
		rc = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

void budget_release(struct budget_share *s, uint64_t n)
{
	struct budget *b = s->b;

	if (n == 0)
		return;
	pthread_mutex_lock(&b->lock);
	b->synced.used -= n;
	atomic_fetch_sub_explicit(&s->used, n, memory_order_relaxed);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

uint64_t budget_peak(struct budget *b)
{
	uint64_t p;

	pthread_mutex_lock(&b->lock);
	p = b->synced.peak;
	pthread_mutex_unlock(&b->lock);
	return p;
}
