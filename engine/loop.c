/*
 * loop.c - curl multi event loops (see loop.h).
 *
 * One iteration: run the posted messages (the whole queue, swapped out
 * under the lock so posters never wait for handlers), fire due timers,
 * curl_multi_perform, deliver finished transfers, tick the clients, then
 * sleep in curl_multi_poll until a socket is ready, curl's own timeout
 * expires, our next timer is due, 100 ms pass (progress), or someone calls
 * curl_multi_wakeup.  Completions and posted messages are handled outside
 * of any curl callback, so handlers may freely add and remove transfers.
 *
 * The multi handle owns the connection pool: keep-alive connections are
 * reused by the next request that goes to the same host.  Its size is
 * capped by CURLMOPT_MAX_TOTAL_CONNECTIONS (transfers beyond the cap wait
 * inside curl for a free connection) and CURLMOPT_MAXCONNECTS keeps that
 * many idle connections alive instead of curl's default of 4 per handle.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 * Threading: `synced` under lock; the rest is the loop thread's.
 */
#include "loop.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "topo.h"

struct loop {
	/* Immutable after loop_new. */
	unsigned index;
	CURLM *multi;
	pthread_t thread;
	int started;

	pthread_mutex_t lock;
	struct {
		struct loop_msg *head;
		struct loop_msg *tail;
		int stopping;
	} synced;

	/* Loop thread only. */
	struct loop_timer **heap;
	size_t nheap;
	size_t capheap;
	struct loop_client clients; /* sentinel of a circular list */
	unsigned nxfers;
	int *port_fds;              /* loop_port_fds */
};

static _Thread_local struct loop *current_loop;

int *loop_port_fds(struct loop *l)
{
	return l->port_fds;
}

struct loop *loop_current(void)
{
	return current_loop;
}

/* ---------------------------------------------------------------- timers */

static void heap_swap(struct loop *l, size_t a, size_t b)
{
	struct loop_timer *t = l->heap[a];

	l->heap[a] = l->heap[b];
	l->heap[b] = t;
	l->heap[a]->heap_index = a;
	l->heap[b]->heap_index = b;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (l->heap[p]->due_ms <= l->heap[i]->due_ms)
			break;
		heap_swap(l, i, p);
		i = p;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->nheap && l->heap[c]->due_ms < l->heap[m]->due_ms) {
			m = c;
		}
		if (c + 1 < l->nheap && l->heap[c + 1]->due_ms < l->heap[m]->due_ms) {
			m = c + 1;
		}
		if (m == i)
			break;
		heap_swap(l, i, m);
		i = m;
	}
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	size_t i = t->heap_index;

	if (i == (size_t)-1)
		return;
	l->nheap--;
	if (i != l->nheap) {
		l->heap[i] = l->heap[l->nheap];
		l->heap[i]->heap_index = i;
		heap_down(l, i);
		heap_up(l, i);
	}
	t->heap_index = (size_t)-1;
}

void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t delay_ms)
{
	loop_timer_cancel(l, t);
	if (l->nheap == l->capheap) {
		size_t ncap = l->capheap ? l->capheap * 2 : 64;
		struct loop_timer **nh = realloc(l->heap, ncap * sizeof(*nh));

		if (!nh) {
			/* Without memory for the heap, fire at once: a retry
			 * without its backoff beats a part that never runs. */
			t->fn(t);
			return;
		}
		l->heap = nh;
		l->capheap = ncap;
	}
	t->due_ms = hoist__now_ms() + delay_ms;
	t->heap_index = l->nheap;
	l->heap[l->nheap++] = t;
	heap_up(l, t->heap_index);
}

static void run_timers(struct loop *l)
{
	uint64_t now = hoist__now_ms();

	while (l->nheap > 0 && l->heap[0]->due_ms <= now) {
		struct loop_timer *t = l->heap[0];

		loop_timer_cancel(l, t);
		t->fn(t);
	}
}

/* --------------------------------------------------------------- clients */

void loop_client_add(struct loop *l, struct loop_client *c)
{
	c->next = &l->clients;
	c->prev = l->clients.prev;
	l->clients.prev->next = c;
	l->clients.prev = c;
}

void loop_client_remove(struct loop *l, struct loop_client *c)
{
	(void)l;
	if (!c->next)
		return;
	c->prev->next = c->next;
	c->next->prev = c->prev;
	c->next = c->prev = NULL;
}

static void tick_clients(struct loop *l)
{
	uint64_t now = hoist__now_ms();
	struct loop_client *c = l->clients.next;

	/* A tick may remove its own client (an upload that finishes), so
	 * take the next link first. */
	while (c != &l->clients) {
		struct loop_client *next = c->next;

		c->tick(c, now);
		c = next;
	}
}

/* ------------------------------------------------------------ transfers */

unsigned loop_nxfers(const struct loop *l)
{
	return l->nxfers;
}

int loop_add(struct loop *l, struct loop_xfer *x)
{
	if (curl_multi_add_handle(l->multi, x->easy) != CURLM_OK)
		return -1;
	l->nxfers++;
	return 0;
}

void loop_remove(struct loop *l, struct loop_xfer *x)
{
	if (curl_multi_remove_handle(l->multi, x->easy) == CURLM_OK) {
		l->nxfers--;
	}
}

static void deliver_done(struct loop *l)
{
	CURLMsg *m;
	int left;

	for (;;) {
		struct loop_xfer *x = NULL;
		CURLcode cc;

		m = curl_multi_info_read(l->multi, &left);
		if (!m)
			break;
		if (m->msg != CURLMSG_DONE)
			continue;
		cc = m->data.result;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(l->multi, m->easy_handle);
		l->nxfers--;
		if (x) {
			x->done(x, cc);
		}
	}
}

/* -------------------------------------------------------------- posting */

/* Only the post that finds the queue empty wakes the loop: the loop
 * drains the whole queue after that wakeup (curl's wakeup is sticky: a
 * poll that starts after it returns at once), so later posts ride on it.
 * A tree of small files posts a start and a finish per file: one write
 * to the wakeup socket (and one poll return) per post was a third of the
 * loop's system calls. */
void loop_post(struct loop *l, struct loop_msg *m)
{
	int was_empty;

	m->next = NULL;
	pthread_mutex_lock(&l->lock);
	was_empty = l->synced.head == NULL;
	if (l->synced.tail) {
		l->synced.tail->next = m;
	} else {
		l->synced.head = m;
	}
	l->synced.tail = m;
	pthread_mutex_unlock(&l->lock);
	if (was_empty) {
		curl_multi_wakeup(l->multi);
	}
}

void loop_wakeup(struct loop *l)
{
	curl_multi_wakeup(l->multi);
}

/* Runs the posted messages; returns 1 if the loop was asked to stop. */
static int run_posted(struct loop *l)
{
	struct loop_msg *m;
	int stopping;

	pthread_mutex_lock(&l->lock);
	m = l->synced.head;
	l->synced.head = l->synced.tail = NULL;
	stopping = l->synced.stopping;
	pthread_mutex_unlock(&l->lock);
	while (m) {
		struct loop_msg *next = m->next;

		m->fn(m);
		m = next;
	}
	return stopping;
}

static void *loop_main(void *arg)
{
	struct loop *l = arg;
	char name[16];

	current_loop = l;
	snprintf(name, sizeof(name), "hoist-io-%u", l->index);
	topo_name_thread(name);
	for (;;) {
		int running = 0, stopping, wait_ms;

		stopping = run_posted(l);
		run_timers(l);
		curl_multi_perform(l->multi, &running);
		deliver_done(l);
		tick_clients(l);
		if (stopping && l->nxfers == 0 && l->clients.next == &l->clients &&
		    l->nheap == 0) {
			/* One more pass for messages posted while stopping. */
			pthread_mutex_lock(&l->lock);
			stopping = l->synced.head == NULL;
			pthread_mutex_unlock(&l->lock);
			if (stopping)
				break;
			continue;
		}
		wait_ms = l->clients.next != &l->clients ? 100 : 1000;
		if (l->nheap > 0) {
			uint64_t now = hoist__now_ms(), due = l->heap[0]->due_ms;

			if (due <= now) {
				wait_ms = 0;
			} else if (due - now < (uint64_t)wait_ms) {
				wait_ms = (int)(due - now);
			}
		}
		curl_multi_poll(l->multi, NULL, 0, wait_ms, NULL);
	}
	current_loop = NULL;
	return NULL;
}

int loop_new(struct loop **out, unsigned index, unsigned maxconn)
{
	struct loop *l;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->index = index;
	l->clients.next = l->clients.prev = &l->clients;
	pthread_mutex_init(&l->lock, NULL);
	/* Zeroed pages the kernel maps on first touch: filling 256 KiB at
	 * start cost 64 page faults (~1 ms on a VM) before the first request
	 * of a run that may use one port. */
	l->port_fds = calloc(65536, sizeof(*l->port_fds));
	if (!l->port_fds) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return -1;
	}
	l->multi = curl_multi_init();
	if (!l->multi)
		goto fail;
	curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)maxconn);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)maxconn);
	/* HTTP/1.1 only (request.c): no multiplexing to wait for. */
	curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
	if (pthread_create(&l->thread, NULL, loop_main, l) != 0)
		goto fail;
	l->started = 1;
	{
		/* Named from here too, so the name is there when loop_new
		 * returns (the thread names itself as well). */
		char name[16];

		snprintf(name, sizeof(name), "hoist-io-%u", index);
		pthread_setname_np(l->thread, name);
	}
	*out = l;
	return 0;
fail:
	loop_free(l);
	return -1;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->lock);
		l->synced.stopping = 1;
		pthread_mutex_unlock(&l->lock);
		curl_multi_wakeup(l->multi);
		pthread_join(l->thread, NULL);
	}
	if (l->multi) {
		curl_multi_cleanup(l->multi);
	}
	free(l->heap);
	free(l->port_fds);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
