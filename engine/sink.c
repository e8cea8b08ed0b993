/*
 * sink.c - the local end of a download: chunks, the writer thread, the
 * temporary file and its commit (see sink.h).
 *
 * Layer: runtime.
 *
 * The loop owns the free lists (free, reserve) and the count of chunks
 * alive; the writer owns the chunks it took from the queue until it puts
 * them on `returned`; queue, returned, the error and the stop flags are
 * the synced section.  One writer per sink: pwrite of a page-cache file
 * runs at several GB/s on one thread, and an ordered sink must write in
 * order anyway.  The writer posts news through notify (the owner posts one
 * loop message), and never holds the lock while writing or notifying.
 *
 * A direct sink (a small object of a tree) has no writer and no chunks:
 * the loop pwrite()s each callback's bytes (at most a receive buffer,
 * 128 KiB) at their offset as they come, so a slow disk stalls that loop
 * for one such write at a time.
 *
 * An ordered sink's writer keeps the chunks that came ahead of its write
 * point in a list sorted by offset (at most budget / chunk size of them)
 * and writes each as soon as it is next.
 *
 * Threading: see sink.h.
 */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <stdatomic.h>

#include "buf.h"
#include "topo.h"

struct sink {
	/* ---- immutable after sink_open */
	struct sink_conf conf;
	char *path;                /* SINK_PATH target */
	char *tmp;                 /* SINK_PATH temporary */
	struct dljournal *journal; /* resumable: beside tmp */
	int resumable;             /* journal found, temporary file found */
	int fd;                    /* file sinks; -1 ordered */
	int own_fd;
	pthread_t thread;
	int started;

	/* ---- synced: guarded by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct {
		struct sink_chunk *queue;
		struct sink_chunk **queue_tail;
		struct sink_chunk *returned;
		uint64_t prealloc;     /* bytes to preallocate, once */
		int want_prealloc;
		int closing;           /* commit: write what is queued, then exit */
		int aborting;          /* drop what is queued, exit */
		int busy;              /* the writer holds chunks it took */
		int idle;              /* the writer sleeps on cond: signal it */
		int err;               /* first errno, 0: none */
		char msg[256];
	} synced;

	/* ---- loop thread until queued, then the writer (the queue orders) */
	struct dljournal_hdr hdr;

	/* ---- writer thread */
	struct sink_chunk *pending;  /* ordered: sorted by offset */
	struct dljournal_mark *marks; /* marks of one batch */
	size_t nmarks, mark_cap;
	unsigned lines;              /* range lines journaled (read after the join) */
	int told;                    /* the failure was notified */
	uint64_t next_off;           /* ordered: the write point */

	/* ---- atomic: the loop ran out of chunks and waits for notify */
	atomic_int want_notify;

	/* ---- loop thread */
	int failed_direct;           /* a direct write failed (the error is synced.err) */
	unsigned unkicked;           /* chunks queued since the writer was woken */
	struct sink_chunk *free_list;
	struct sink_chunk *reserve;
	unsigned alive;              /* chunks allocated, the reserve excluded */

	/* ---- owner's thread */
	int ended;                   /* committed or aborted */
};

/* Chunks queued before the writer is woken without waiting for the end
 * of the loop iteration: a wake costs a futex call on both sides, a late
 * one only latency (the chunks are already copied). */
#define SINK_KICK_EVERY 4

static struct sink_chunk *chunk_new(size_t cap)
{
	struct sink_chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		memset(c, 0, sizeof(*c));
		c->cap = cap;
	}
	return c;
}

static void free_chain(struct sink_chunk *c)
{
	while (c) {
		struct sink_chunk *n = c->next;

		free(c);
		c = n;
	}
}

/* ---------------------------------------------------------------- writer */

static void record_error_locked(struct sink *s, int err, const char *what)
{
	if (s->synced.err)
		return;
	s->synced.err = err ? err : EIO;
	snprintf(s->synced.msg, sizeof(s->synced.msg), "%s '%s': %s", what,
		 s->tmp ? s->tmp : (s->conf.kind == SINK_FD ? "descriptor" : "output"),
		 strerror(s->synced.err));
}

static int pwrite_all(int fd, const char *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Preallocation: the blocks are reserved at once (a full disk fails now,
 * not after gigabytes) and the file does not fragment as ranges land out
 * of order.  A filesystem without fallocate gets its size only, and so
 * does tmpfs: there fallocate allocates and zeroes every page up front
 * (0.19 CPU-s for 2 GiB, measured: 10 % of a whole download's CPU) that
 * the writes then overwrite, and memory does not fragment; a full tmpfs
 * still fails the first write that needs a page (ENOSPC, exit 3). */
static int preallocate(int fd, uint64_t size)
{
	struct statfs sf;

	if (size && (fstatfs(fd, &sf) != 0 || sf.f_type != TMPFS_MAGIC) &&
	    fallocate(fd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0)
		return -errno;
	return 0;
}

/* Ordered: keep c in offset order among the chunks ahead of the write
 * point, then write every chunk that is next. */
static int ordered_take(struct sink *s, struct sink_chunk *c, struct sink_chunk ***ret_tail)
{
	struct sink_chunk **pp = &s->pending;
	int rc = 0;

	while (*pp && (*pp)->off < c->off) {
		pp = &(*pp)->next;
	}
	c->next = *pp;
	*pp = c;
	while (rc == 0 && s->pending && s->pending->off == s->next_off) {
		struct sink_chunk *h = s->pending;

		rc = s->conf.write(h->data, h->len, s->conf.write_ud);
		s->next_off += h->len;
		s->pending = h->next;
		h->next = NULL;
		**ret_tail = h;
		*ret_tail = &h->next;
	}
	return rc;
}

/* A batch's marks: the ranges' bytes were written above (queue order);
 * make them durable, then say so, in that order, so a line never
 * describes bytes a crash could lose.  One fdatasync covers every mark of
 * the batch: while it runs, more marks queue up for the next one. */
static int flush_marks(struct sink *s)
{
	int rc;

	if (fdatasync(s->fd) < 0)
		return -errno;
	rc = dljournal_append(s->journal, s->marks, s->nmarks);
	if (rc == 0) {
		s->lines += (unsigned)s->nmarks;
	}
	return rc;
}

static int journal_item(struct sink *s, const struct sink_chunk *c)
{
	if (!s->journal)
		return 0;
	if (c->kind == SINK_ITEM_HEADER)
		return dljournal_reset(s->journal, &s->hdr);
	if (s->nmarks == s->mark_cap) {
		size_t ncap = s->mark_cap ? s->mark_cap * 2 : 64;
		struct dljournal_mark *nm = realloc(s->marks, ncap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		s->marks = nm;
		s->mark_cap = ncap;
	}
	s->marks[s->nmarks++] = c->mark;
	return 0;
}

static void *writer_main(void *arg)
{
	struct sink *s = arg;

	topo_name_thread("hoist-write");
	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct sink_chunk *work, *done = NULL, **done_tail = &done;
		int prealloc = 0, failed, rc = 0;
		uint64_t psize = 0;

		while (!s->synced.queue && !s->synced.want_prealloc && !s->synced.closing &&
		       !s->synced.aborting) {
			s->synced.idle = 1;
			pthread_cond_wait(&s->cond, &s->lock);
			s->synced.idle = 0;
		}
		if (s->synced.aborting)
			break;
		if (!s->synced.queue && !s->synced.want_prealloc && s->synced.closing)
			break;
		work = s->synced.queue;
		s->synced.queue = NULL;
		s->synced.queue_tail = &s->synced.queue;
		if (s->synced.want_prealloc) {
			prealloc = 1;
			psize = s->synced.prealloc;
			s->synced.want_prealloc = 0;
		}
		failed = s->synced.err != 0;
		s->synced.busy = 1;
		pthread_mutex_unlock(&s->lock);

		if (prealloc && !failed && s->fd >= 0 && s->conf.kind == SINK_PATH) {
			rc = preallocate(s->fd, psize);
			if (rc < 0) {
				pthread_mutex_lock(&s->lock);
				record_error_locked(s, -rc, "preallocate");
				pthread_mutex_unlock(&s->lock);
				failed = 1;
			}
		}
		while (work) {
			struct sink_chunk *c = work;

			work = c->next;
			c->next = NULL;
			if (failed) {
				*done_tail = c;
				done_tail = &c->next;
				continue;
			}
			if (c->kind != SINK_ITEM_DATA) {
				rc = journal_item(s, c);
				*done_tail = c;
				done_tail = &c->next;
			} else if (s->conf.kind == SINK_ORDERED) {
				rc = ordered_take(s, c, &done_tail);
			} else {
				rc = pwrite_all(s->fd, c->data, c->len, c->off);
				*done_tail = c;
				done_tail = &c->next;
			}
			if (rc < 0) {
				pthread_mutex_lock(&s->lock);
				record_error_locked(s, -rc, "write");
				pthread_mutex_unlock(&s->lock);
				failed = 1;
			}
		}
		if (!failed && s->nmarks) {
			rc = flush_marks(s);
			if (rc < 0) {
				pthread_mutex_lock(&s->lock);
				record_error_locked(s, -rc, "journal");
				pthread_mutex_unlock(&s->lock);
				failed = 1;
			}
		}
		s->nmarks = 0;

		pthread_mutex_lock(&s->lock);
		if (done) {
			*done_tail = s->synced.returned;
			s->synced.returned = done;
		}
		s->synced.busy = 0;
		pthread_cond_broadcast(&s->cond);
		/* The loop collects returned chunks itself when it needs
		 * some; a message only when it waits for them (paused
		 * ranges), or to report a failure. */
		if (((done && atomic_exchange(&s->want_notify, 0)) || (failed && !s->told)) &&
		    s->conf.notify) {
			s->told = failed;
			pthread_mutex_unlock(&s->lock);
			s->conf.notify(s->conf.owner);
			pthread_mutex_lock(&s->lock);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ------------------------------------------------------------------ open */

/* "<dir>/.<name>.hoist-<pid>-<n>": beside the target, so that the rename
 * stays on one filesystem; hidden, and unique per process and call. */
static char *temp_name(const char *path)
{
	static _Atomic unsigned counter;
	const char *slash = strrchr(path, '/');
	struct buf b = BUF_INIT;
	int rc;

	if (slash) {
		rc = buf_printf(&b, "%.*s/.%s.hoist-%ld-%u", (int)(slash - path), path, slash + 1,
				(long)getpid(), counter++);
	} else {
		rc = buf_printf(&b, ".%s.hoist-%ld-%u", path, (long)getpid(), counter++);
	}
	if (rc < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* ".NAME.hoist-SUFFIX" beside path. */
static char *beside(const char *path, const char *suffix)
{
	const char *slash = strrchr(path, '/');
	struct buf b = BUF_INIT;
	int rc;

	if (slash) {
		rc = buf_printf(&b, "%.*s/.%s.hoist-%s", (int)(slash - path), path, slash + 1, suffix);
	} else {
		rc = buf_printf(&b, ".%s.hoist-%s", path, suffix);
	}
	if (rc < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

/* A resumable file sink: the journal first (its lock says whether another
 * download owns this target), then the temporary file, reused when the
 * journal found one to go with. */
static hoist_status open_resumable(struct sink *s, const struct sink_conf *c, char *err,
				   size_t errlen)
{
	char *jpath = NULL;
	hoist_status st = HOIST_E_NOMEM;
	int existed;

	s->path = strdup(c->path);
	s->tmp = s->path ? beside(c->path, "tmp") : NULL;
	jpath = s->path ? beside(c->path, "journal") : NULL;
	if (!s->tmp || !jpath)
		goto out;
	st = dljournal_open(&s->journal, jpath, err, errlen);
	if (st != HOIST_OK) {
		free(s->tmp);
		s->tmp = NULL; /* another download's: not ours to remove */
		goto out;
	}
	s->fd = open(s->tmp, O_WRONLY | O_CLOEXEC);
	existed = s->fd >= 0;
	if (!existed) {
		s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
	}
	if (s->fd < 0) {
		snprintf(err, errlen, "cannot create '%s': %s", s->tmp, strerror(errno));
		st = HOIST_E_IO;
		goto out;
	}
	s->own_fd = 1;
	if (!existed || c->restart) {
		dljournal_forget(s->journal);
	}
	s->resumable = dljournal_found(s->journal) != NULL;
	st = HOIST_OK;
out:
	free(jpath);
	return st;
}

hoist_status sink_open(struct sink **out, const struct sink_conf *c, char *err, size_t errlen)
{
	struct sink *s = calloc(1, sizeof(*s));
	hoist_status st = HOIST_E_NOMEM;
	unsigned i;

	*out = NULL;
	if (!s)
		return HOIST_E_NOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->conf = *c;
	s->fd = -1;
	s->synced.queue_tail = &s->synced.queue;
	if (c->kind == SINK_PATH && c->resume) {
		st = open_resumable(s, c, err, errlen);
		if (st != HOIST_OK)
			goto out;
		st = HOIST_E_NOMEM;
	} else if (c->kind == SINK_PATH) {
		s->path = strdup(c->path);
		s->tmp = s->path ? temp_name(c->path) : NULL;
		if (!s->tmp)
			goto out;
		s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (s->fd < 0) {
			snprintf(err, errlen, "cannot create '%s': %s", s->tmp, strerror(errno));
			free(s->tmp);
			s->tmp = NULL; /* not ours to remove */
			st = HOIST_E_IO;
			goto out;
		}
		s->own_fd = 1;
	} else if (c->kind == SINK_FD) {
		s->fd = c->fd;
	}
	if (c->kind == SINK_ORDERED) {
		for (i = 0; i < 2; i++) {
			struct sink_chunk *ch = chunk_new(c->chunk_size);

			if (!ch)
				goto out;
			ch->reserve = 1;
			ch->next = s->reserve;
			s->reserve = ch;
		}
	}
	if (c->direct && c->kind == SINK_PATH && !c->resume) {
		*out = s;
		return HOIST_OK;
	}
	s->conf.direct = 0;
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		st = HOIST_E_INTERNAL;
		goto out;
	}
	s->started = 1;
	*out = s;
	return HOIST_OK;
out:
	sink_free(s);
	return st;
}

/* ------------------------------------------------------------------ loop */

void sink_prepare(struct sink *s, uint64_t size)
{
	if (s->conf.direct)
		return; /* no writer; a small file grows by its writes */
	pthread_mutex_lock(&s->lock);
	s->synced.prealloc = size;
	s->synced.want_prealloc = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

struct sink_chunk *sink_chunk_get(struct sink *s, int head)
{
	struct sink_chunk *c;

	if (!s->free_list) {
		sink_collect(s); /* what the writer gave back, without a message */
	}
	c = s->free_list;
	if (c) {
		s->free_list = c->next;
	} else if (s->conf.kind != SINK_ORDERED && s->alive < s->conf.max_chunks) {
		c = chunk_new(s->conf.chunk_size);
		if (c) {
			s->alive++;
		}
	} else if (s->conf.kind == SINK_ORDERED &&
		   budget_try_acquire(s->conf.share, s->conf.chunk_size) == 0) {
		c = chunk_new(s->conf.chunk_size);
		if (c) {
			s->alive++;
		} else {
			budget_release(s->conf.share, s->conf.chunk_size);
		}
	}
	if (!c && head && s->reserve) {
		c = s->reserve;
		s->reserve = c->next;
	}
	if (!c) {
		/* Ask for a message when chunks come back, then look once
		 * more: the writer may have returned some after the collect
		 * above but before it could see the flag. */
		atomic_store(&s->want_notify, 1);
		sink_collect(s);
		c = s->free_list;
		if (c) {
			s->free_list = c->next;
		} else if (head && s->reserve) {
			c = s->reserve;
			s->reserve = c->next;
		}
	}
	if (c) {
		c->next = NULL;
		c->len = 0;
	}
	return c;
}

struct sink_chunk *sink_chunk_big(struct sink *s, size_t n)
{
	struct sink_chunk *c = chunk_new(n);

	(void)s;
	if (c) {
		c->oversize = 1;
	}
	return c;
}

int sink_write(struct sink *s, const char *data, size_t n, uint64_t off)
{
	int rc;

	if (s->failed_direct)
		return -1;
	rc = pwrite_all(s->fd, data, n, off);
	if (rc == 0)
		return 0;
	s->failed_direct = 1;
	pthread_mutex_lock(&s->lock);
	record_error_locked(s, -rc, "write");
	pthread_mutex_unlock(&s->lock);
	return -1;
}

void sink_submit(struct sink *s, struct sink_chunk *c)
{
	c->next = NULL;
	pthread_mutex_lock(&s->lock);
	*s->synced.queue_tail = c;
	s->synced.queue_tail = &c->next;
	/* The writer is woken once per loop iteration (sink_kick), or at
	 * once when a few chunks wait: a futex wake per chunk was ~5 % of the
	 * loop's time at 1 GB/s.  A busy writer looks at the queue again
	 * before it sleeps. */
	if (++s->unkicked >= SINK_KICK_EVERY || c->kind != SINK_ITEM_DATA) {
		s->unkicked = 0;
		if (s->synced.idle) {
			pthread_cond_signal(&s->cond);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

void sink_kick(struct sink *s)
{
	if (!s->unkicked)
		return;
	s->unkicked = 0;
	pthread_mutex_lock(&s->lock);
	if (s->synced.idle && s->synced.queue) {
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
}

unsigned sink_collect(struct sink *s)
{
	struct sink_chunk *c;
	unsigned n = 0;

	pthread_mutex_lock(&s->lock);
	c = s->synced.returned;
	s->synced.returned = NULL;
	pthread_mutex_unlock(&s->lock);
	while (c) {
		struct sink_chunk *next = c->next;

		if (c->oversize) {
			free(c);
		} else if (c->reserve) {
			c->next = s->reserve;
			s->reserve = c;
		} else {
			c->next = s->free_list;
			s->free_list = c;
		}
		c = next;
		n++;
	}
	return n;
}

int sink_failed(struct sink *s, char *msg, size_t len)
{
	int failed;

	pthread_mutex_lock(&s->lock);
	failed = s->synced.err != 0;
	if (failed && msg) {
		snprintf(msg, len, "%s", s->synced.msg);
	}
	pthread_mutex_unlock(&s->lock);
	return failed;
}

const char *sink_temp_path(const struct sink *s)
{
	return s->tmp;
}

/* ---------------------------------------------------------------- owner */

static void stop_writer(struct sink *s, int abort)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	if (abort) {
		s->synced.aborting = 1;
	} else {
		s->synced.closing = 1;
	}
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	s->started = 0;
}

static void remove_temp(struct sink *s)
{
	if (s->own_fd && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	if (s->tmp) {
		unlink(s->tmp);
		free(s->tmp);
		s->tmp = NULL;
	}
	if (s->journal) {
		dljournal_remove(s->journal);
		dljournal_free(s->journal);
		s->journal = NULL;
	}
}

/* fsync of the directory: the rename itself must survive a crash. */
static int sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	int fd, rc = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(*dir ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		rc = -errno;
	}
	if (fd >= 0) {
		close(fd);
	}
	free(dir);
	return rc;
}

hoist_status sink_commit(struct sink *s, char *err, size_t errlen)
{
	const char *what = NULL;
	int e = 0;

	stop_writer(s, 0);
	s->ended = 1;
	if (sink_failed(s, err, errlen)) {
		remove_temp(s);
		return HOIST_E_IO;
	}
	if (s->conf.kind == SINK_ORDERED) {
		if (s->pending) {
			snprintf(err, errlen, "bytes missing before offset %" PRIu64, s->pending->off);
			return HOIST_E_INTERNAL;
		}
		return HOIST_OK;
	}
	if (!(s->conf.no_sync && s->conf.kind == SINK_PATH) && fsync(s->fd) < 0 &&
	    errno != EINVAL && errno != EROFS) {
		/* EINVAL: a descriptor that cannot sync (a pipe, /dev/null). */
		e = errno;
		what = "fsync";
	}
	if (!what && s->conf.kind == SINK_PATH) {
		if (close(s->fd) < 0) {
			e = errno;
			what = "close";
		}
		s->fd = -1;
		if (!what && rename(s->tmp, s->path) < 0) {
			e = errno;
			what = "rename";
		}
		if (!what) {
			free(s->tmp);
			s->tmp = NULL;
			if (s->journal) {
				dljournal_remove(s->journal);
				dljournal_free(s->journal);
				s->journal = NULL;
			}
			e = s->conf.no_sync ? 0 : -sync_dir_of(s->path);
			if (e) {
				what = "fsync the directory of";
			}
		}
	}
	if (what) {
		snprintf(err, errlen, "%s '%s': %s", what, s->tmp ? s->tmp : s->path ? s->path : "descriptor",
			 strerror(e));
		remove_temp(s);
		return HOIST_E_IO;
	}
	return HOIST_OK;
}

void sink_abort(struct sink *s)
{
	if (s->ended)
		return;
	stop_writer(s, 1);
	s->ended = 1;
	remove_temp(s);
}

int sink_keep(struct sink *s, int may_keep, int earlier)
{
	if (s->ended)
		return 0;
	if (!may_keep || !s->journal || s->conf.kind != SINK_PATH) {
		sink_abort(s);
		return 0;
	}
	stop_writer(s, 0);
	s->ended = 1;
	if (!s->lines && !earlier) {
		remove_temp(s); /* an empty temporary file is only clutter */
		return 0;
	}
	if (s->own_fd && s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	free(s->tmp);
	s->tmp = NULL;
	dljournal_free(s->journal);
	s->journal = NULL;
	return 1;
}

const struct dljournal_hdr *sink_resume_found(const struct sink *s)
{
	return s->resumable ? dljournal_found(s->journal) : NULL;
}

int sink_resume_range(const struct sink *s, unsigned index, struct dljournal_mark *m)
{
	return s->resumable && dljournal_range(s->journal, index, m);
}

int sink_journaling(const struct sink *s)
{
	return s->journal != NULL;
}

/* A journal step as a queue item (freed when it comes back). */
static void queue_item(struct sink *s, int kind, const struct dljournal_mark *m)
{
	struct sink_chunk *c = chunk_new(0);

	if (!c) {
		/* Without the item the journal just lacks this step: the
		 * range is fetched again on resume.  Nothing is wrong. */
		return;
	}
	c->oversize = 1;
	c->kind = kind;
	if (m) {
		c->mark = *m;
	}
	sink_submit(s, c);
}

void sink_journal_start(struct sink *s, const struct dljournal_hdr *h, int keep)
{
	if (!s->journal)
		return;
	if (keep)
		return; /* the earlier header stands; new lines follow the old */
	s->resumable = 0;
	dljournal_hdr_cleanup(&s->hdr);
	s->hdr.size = h->size;
	s->hdr.range = h->range;
	s->hdr.etag = h->etag ? strdup(h->etag) : NULL;
	s->hdr.version_id = h->version_id ? strdup(h->version_id) : NULL;
	queue_item(s, SINK_ITEM_HEADER, NULL);
}

void sink_journal_mark(struct sink *s, const struct dljournal_mark *m)
{
	if (s->journal) {
		queue_item(s, SINK_ITEM_MARK, m);
	}
}

void sink_free(struct sink *s)
{
	if (!s)
		return;
	sink_abort(s);
	remove_temp(s);
	dljournal_hdr_cleanup(&s->hdr);
	free(s->marks);
	pthread_mutex_lock(&s->lock);
	free_chain(s->synced.queue);
	free_chain(s->synced.returned);
	pthread_mutex_unlock(&s->lock);
	if (s->conf.kind == SINK_ORDERED && s->conf.share) {
		budget_release(s->conf.share, (uint64_t)s->alive * s->conf.chunk_size);
	}
	free_chain(s->pending);
	free_chain(s->free_list);
	free_chain(s->reserve);
	free(s->path);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
