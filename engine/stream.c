/*
 * stream.c - a source of unknown length (see stream.h).
 *
 * Layer: runtime.
 *
 * Buffers: a part's buffer is reserved against the budget before it is
 * filled and stays reserved until its part is done; then it goes to a free
 * list and is reused for a later part of the same size (no allocation per
 * part once the stream runs).  Part sizes only grow (plan.h), so when they
 * do, the free buffers that became too small are freed and their bytes
 * given back.  The producer waits for a buffer on the stream's condition
 * variable with a 50 ms timeout: a part done here signals it, a release by
 * another transfer of the engine is seen at the next timeout, and so is a
 * cancel set from a signal handler.
 *
 * Threading: the producer's state (cur, held0) belongs to the reader
 * thread (pull) or the writer's thread (push); `synced` is under lock; a
 * buffer in bufs[] is written before its part is published under the lock
 * and read by consumers only after they took the part (so the lock orders
 * them); stop is an atomic.
 */
#include "stream.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "source.h"

struct sbuf {
	struct sbuf *next;
	unsigned char *data;
	uint64_t cap;
	uint64_t fill;
};

struct stream {
	struct source src;          /* the source view (first: see from_src) */
	/* Immutable after stream_new. */
	hoist_read_fn read;
	void *read_ud;
	const struct stream_plan *sp;
	struct budget_share *share;
	stream_notify_fn notify;
	void *owner;
	struct sbuf **bufs;         /* by part index, max_parts entries */
	pthread_t thread;
	int started;

	/* Producer only. */
	struct sbuf *cur;           /* the part being filled */
	unsigned cur_index;
	struct sbuf *held0;         /* a full first part held back */
	uint64_t total;             /* bytes produced */

	atomic_int stop;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		unsigned published;
		unsigned taken;
		int ended;
		int end_with_part;  /* the end came with the last published part */
		int end_taken;
		uint64_t total;
		int err;
		int err_taken;
		char detail[200];
		hoist_status fail;  /* the consumer's failure; HOIST_OK while fine */
		struct sbuf *free;
	} synced;
};

static struct stream *from_src(struct source *src)
{
	return (struct stream *)src;
}

/* ---------------------------------------------------------------- source */

static int src_read(struct source *src, void *dst, uint64_t off, size_t len)
{
	struct stream *s = from_src(src);
	unsigned i;
	struct sbuf *b;
	uint64_t base;

	if (len == 0)
		return 0;
	i = plan_stream_index(s->sp, off);
	b = i < s->sp->max_parts ? s->bufs[i] : NULL;
	base = plan_stream_part_off(s->sp, i);
	if (!b || off - base + len > b->fill) {
		errno = EINVAL; /* a part that is not held: a bug, not a short file */
		return -1;
	}
	memcpy(dst, b->data + (off - base), len);
	return 0;
}

static const void *src_view(struct source *src, uint64_t off, uint64_t len)
{
	struct stream *s = from_src(src);
	unsigned i = plan_stream_index(s->sp, off);
	struct sbuf *b = i < s->sp->max_parts ? s->bufs[i] : NULL;
	uint64_t base = plan_stream_part_off(s->sp, i);

	if (!b || off - base + len > b->fill)
		return NULL;
	return b->data + (off - base);
}

static int src_changed(struct source *src)
{
	(void)src;
	return 0; /* what was read is what is held */
}

static void src_done_with(struct source *src, uint64_t off, uint64_t len)
{
	struct stream *s = from_src(src);
	unsigned i = plan_stream_index(s->sp, off);
	struct sbuf *b;

	(void)len;
	if (i >= s->sp->max_parts)
		return;
	pthread_mutex_lock(&s->lock);
	b = s->bufs[i];
	s->bufs[i] = NULL;
	if (b) {
		b->next = s->synced.free;
		s->synced.free = b;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

static void src_free(struct source *src)
{
	stream_free(from_src(src));
}

static const struct source_ops stream_ops = {
	.read = src_read,
	.changed = src_changed,
	.done_with = src_done_with,
	.free = src_free,
	.view = src_view,
};

struct source *stream_source(struct stream *s)
{
	return &s->src;
}

/* -------------------------------------------------------------- buffers */

static void sbuf_drop(struct stream *s, struct sbuf *b)
{
	if (!b)
		return;
	budget_release(s->share, b->cap);
	free(b->data);
	free(b);
}

/* Under the lock: a free buffer of at least len bytes, dropping those that
 * are smaller (parts only grow).  NULL when none. */
static struct sbuf *take_free_locked(struct stream *s, uint64_t len)
{
	struct sbuf **pp = &s->synced.free, *b;

	while ((b = *pp) != NULL) {
		if (b->cap >= len) {
			*pp = b->next;
			b->next = NULL;
			return b;
		}
		*pp = b->next;
		sbuf_drop(s, b);
	}
	return NULL;
}

static void wait_a_while_locked(struct stream *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cond, &s->lock, &ts);
}

/* The buffer for part index: a free one, or one the budget lets us make;
 * waits while neither.  NULL when the stream stopped (or ENOMEM). */
static struct sbuf *get_buffer(struct stream *s, unsigned index)
{
	uint64_t len = plan_stream_part_len(s->sp, index);
	struct sbuf *b = NULL;

	pthread_mutex_lock(&s->lock);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		b = take_free_locked(s, len);
		if (b || budget_try_acquire(s->share, len) == 0)
			break;
		wait_a_while_locked(s);
	}
	pthread_mutex_unlock(&s->lock);
	if (atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		if (b) {
			sbuf_drop(s, b);
		}
		return NULL;
	}
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (b) {
			b->data = malloc((size_t)len);
		}
		if (!b || !b->data) {
			free(b);
			budget_release(s->share, len);
			return NULL;
		}
		b->cap = len;
	}
	b->fill = 0;
	return b;
}

/* ------------------------------------------------------------- producer */

static void publish(struct stream *s, unsigned index, struct sbuf *b, int end)
{
	pthread_mutex_lock(&s->lock);
	if (b) {
		s->bufs[index] = b;
		s->synced.published++;
	}
	if (end) {
		s->synced.ended = 1;
		s->synced.end_with_part = b != NULL;
		s->synced.total = s->total;
	}
	pthread_mutex_unlock(&s->lock);
	s->notify(s->owner);
}

static void produce_error(struct stream *s, int err, const char *detail)
{
	pthread_mutex_lock(&s->lock);
	if (!s->synced.err) {
		s->synced.err = err;
		snprintf(s->synced.detail, sizeof(s->synced.detail), "%s", detail);
	}
	pthread_mutex_unlock(&s->lock);
	atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
	s->notify(s->owner);
}

/* The stream goes on past its first part: it is multipart, publish it. */
static void release_held0(struct stream *s)
{
	if (s->held0) {
		publish(s, 0, s->held0, 0);
		s->held0 = NULL;
	}
}

/* Makes sure cur is a buffer with room.  0, or -1 when producing must stop
 * (stopped, out of memory, or the stream outgrew its plan: reported). */
static int need_room(struct stream *s)
{
	char detail[200];

	if (s->cur)
		return 0;
	if (s->cur_index >= s->sp->max_parts) {
		snprintf(detail, sizeof(detail),
			 "the stream is larger than %u parts can carry under this memory budget "
			 "(%llu bytes): give --expected-size, or raise --memory-limit",
			 s->sp->max_parts, (unsigned long long)plan_stream_capacity(s->sp));
		produce_error(s, -E2BIG, detail);
		return -1;
	}
	s->cur = get_buffer(s, s->cur_index);
	if (!s->cur) {
		if (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
			produce_error(s, -ENOMEM, "out of memory for a part buffer");
		}
		return -1;
	}
	return 0;
}

/* n bytes landed in cur: count them; a full part is handed on. */
static void filled(struct stream *s, size_t n)
{
	s->cur->fill += n;
	s->total += n;
	if (s->cur_index > 0) {
		release_held0(s);
	}
	if (s->cur->fill < s->cur->cap)
		return;
	if (s->cur_index == 0) {
		s->held0 = s->cur; /* until the next byte tells one part from many */
	} else {
		publish(s, s->cur_index, s->cur, 0);
	}
	s->cur = NULL;
	s->cur_index++;
}

static void produce_end(struct stream *s)
{
	if (s->held0) {
		publish(s, 0, s->held0, 1);
		s->held0 = NULL;
	} else if (s->cur && s->cur->fill > 0) {
		publish(s, s->cur_index, s->cur, 1);
		s->cur = NULL;
	} else {
		publish(s, 0, NULL, 1);
	}
}

static void *reader_main(void *arg)
{
	struct stream *s = arg;

	pthread_setname_np(pthread_self(), "hoist-read");
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		int64_t n;

		if (need_room(s) < 0)
			break;
		n = s->read(s->cur->data + s->cur->fill, (size_t)(s->cur->cap - s->cur->fill),
			    s->read_ud);
		if (n < 0) {
			char detail[200];

			snprintf(detail, sizeof(detail), "reading the stream: %s", strerror((int)-n));
			produce_error(s, (int)n, detail);
			break;
		}
		if (n == 0) {
			produce_end(s);
			break;
		}
		if ((uint64_t)n > s->cur->cap - s->cur->fill) {
			produce_error(s, -EINVAL, "the read callback returned more than it was asked");
			break;
		}
		filled(s, (size_t)n);
	}
	return NULL;
}

hoist_status stream_write(struct stream *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	hoist_status st;

	while (len > 0) {
		size_t n;

		if (need_room(s) < 0)
			break;
		n = (size_t)(s->cur->cap - s->cur->fill);
		if (n > len) {
			n = len;
		}
		memcpy(s->cur->data + s->cur->fill, p, n);
		filled(s, n);
		p += n;
		len -= n;
	}
	pthread_mutex_lock(&s->lock);
	st = s->synced.fail;
	if (st == HOIST_OK && s->synced.err) {
		st = s->synced.err == -E2BIG ? HOIST_E_IO : HOIST_E_NOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	if (st == HOIST_OK && len > 0) {
		st = HOIST_E_CANCELLED;
	}
	return st;
}

hoist_status stream_close(struct stream *s)
{
	hoist_status st;

	pthread_mutex_lock(&s->lock);
	st = s->synced.fail;
	pthread_mutex_unlock(&s->lock);
	if (st != HOIST_OK)
		return st;
	produce_end(s);
	return HOIST_OK;
}

/* ------------------------------------------------------------- consumer */

int stream_take(struct stream *s, unsigned *index, uint64_t *off, uint64_t *len, int *last,
		int *err, char *detail, size_t dlen)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->synced.taken < s->synced.published) {
		unsigned i = s->synced.taken++;

		*index = i;
		*off = plan_stream_part_off(s->sp, i);
		*len = s->bufs[i]->fill;
		*last = s->synced.ended && s->synced.end_with_part && s->synced.taken == s->synced.published;
		if (*last) {
			s->synced.end_taken = 1;
		}
		rc = 1;
	} else if (s->synced.err && !s->synced.err_taken) {
		s->synced.err_taken = 1;
		*err = s->synced.err;
		snprintf(detail, dlen, "%s", s->synced.detail);
		rc = 3;
	} else if (s->synced.ended && !s->synced.end_taken) {
		s->synced.end_taken = 1;
		*off = s->synced.total;
		rc = 2;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void stream_fail(struct stream *s, hoist_status st)
{
	pthread_mutex_lock(&s->lock);
	if (s->synced.fail == HOIST_OK) {
		s->synced.fail = st;
	}
	atomic_store_explicit(&s->stop, 1, memory_order_relaxed);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------ lifecycle */

struct stream *stream_new(hoist_read_fn read, void *read_userdata, const struct stream_plan *sp,
			  struct budget_share *share, stream_notify_fn notify, void *owner)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->bufs = calloc(sp->max_parts, sizeof(*s->bufs));
	if (!s->bufs) {
		free(s);
		return NULL;
	}
	s->src.ops = &stream_ops;
	s->src.fd = -1;
	s->read = read;
	s->read_ud = read_userdata;
	s->sp = sp;
	s->share = share;
	s->notify = notify;
	s->owner = owner;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return s;
}

int stream_start(struct stream *s)
{
	if (!s->read)
		return 0;
	if (pthread_create(&s->thread, NULL, reader_main, s) != 0)
		return -1;
	s->started = 1;
	return 0;
}

void stream_stop(struct stream *s)
{
	stream_fail(s, HOIST_E_CANCELLED);
	if (s->started) {
		/* A read that blocks keeps us here until it returns (hoist.h
		 * says so: the caller makes its read return). */
		pthread_join(s->thread, NULL);
		s->started = 0;
	}
}

void stream_free(struct stream *s)
{
	struct sbuf *b;
	unsigned i;

	if (!s)
		return;
	stream_stop(s);
	for (i = 0; i < s->sp->max_parts; i++) {
		sbuf_drop(s, s->bufs[i]);
	}
	while ((b = s->synced.free) != NULL) {
		s->synced.free = b->next;
		sbuf_drop(s, b);
	}
	sbuf_drop(s, s->cur);
	sbuf_drop(s, s->held0);
	free(s->bufs);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
