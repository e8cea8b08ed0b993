/*
 * source.c - reading the file being uploaded (see source.h).
 *
 * pread mode: positioned reads, so hash workers and the send loop's read
 * callbacks share one descriptor without touching its offset (an fd given
 * by the caller keeps its position, as hoist.h promises).
 *
 * mmap mode: one read-only MAP_SHARED mapping of the whole file, advised
 * MADV_SEQUENTIAL.  A mapped file that is truncated under us turns the next
 * access to a vanished page into SIGBUS, which would kill the host process.
 * The choice made here: every access to the mapping is one memcpy into a
 * caller buffer (a hash worker's chunk buffer, or curl's upload buffer),
 * and that memcpy runs under a per-thread sigsetjmp guard.  A process-wide
 * SIGBUS handler (installed once, on first use of mmap) jumps back to the
 * guard when the faulting thread is inside one, and otherwise hands the
 * signal to whatever handler was there before (or the default action), so
 * genuine crashes elsewhere still crash.  Only memcpy runs under the guard:
 * no lock, no allocation, no library state is ever abandoned by the jump.
 * Before each copy the current size (fstat) is also checked so that the
 * common case, a file that shrank before we got there, is reported without
 * taking a signal at all.
 *
 * Layer: runtime.
 * Threading: source_read is safe from any thread; the guard is
 * thread-local.
 */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------- SIGBUS guard */

static _Thread_local sigjmp_buf *volatile bus_guard;
static struct sigaction bus_previous;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static int bus_installed;

static void bus_handler(int sig, siginfo_t *si, void *uc)
{
	sigjmp_buf *g = bus_guard;

	if (g) {
		bus_guard = NULL;
		siglongjmp(*g, 1);
	}
	/* Not one of our copies: behave as if we were not here. */
	if (bus_previous.sa_flags & SA_SIGINFO) {
		if (bus_previous.sa_sigaction) {
			bus_previous.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (bus_previous.sa_handler != SIG_DFL &&
		   bus_previous.sa_handler != SIG_IGN) {
		bus_previous.sa_handler(sig);
		return;
	}
	/* Default action: restore it and return; the faulting instruction
	 * runs again and the signal is delivered with the default
	 * disposition (a core dump, as without us). */
	signal(SIGBUS, SIG_DFL);
}

static void bus_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = bus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &bus_previous) == 0) {
		bus_installed = 1;
	}
}

/* memcpy from the mapping; 0, or -1 if a page vanished. */
static int guarded_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf jb;

	if (sigsetjmp(jb, 1)) {
		bus_guard = NULL;
		return -1;
	}
	bus_guard = &jb;
	memcpy(dst, src, len);
	bus_guard = NULL;
	return 0;
}

/* --------------------------------------------------------------- source */

int source_read(struct source *s, void *dst, uint64_t off, size_t len)
{
	return s->ops->read(s, dst, off, len);
}

int source_changed(struct source *s)
{
	return s->ops->changed(s);
}

void source_done_with(struct source *s, uint64_t off, uint64_t len)
{
	s->ops->done_with(s, off, len);
}

const void *source_view(struct source *s, uint64_t off, uint64_t len)
{
	return s->ops->view ? s->ops->view(s, off, len) : NULL;
}

void source_free(struct source *s)
{
	if (s) {
		s->ops->free(s);
	}
}

/* ---------------------------------------------------------- file source */

static int file_read(struct source *s, void *dst, uint64_t off, size_t len);
static int file_changed(struct source *s);
static void file_done_with(struct source *s, uint64_t off, uint64_t len);
static void file_free(struct source *s);

static const struct source_ops file_ops = {
	.read = file_read,
	.changed = file_changed,
	.done_with = file_done_with,
	.free = file_free,
};

static hoist_status source_init(struct source *s, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0) {
		snprintf(err, errlen, "fstat: %s", strerror(errno));
		return HOIST_E_IO;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "not a regular file (a size and offsets are needed)");
		return HOIST_E_INVALID_ARG;
	}
	if (S_ISBLK(st.st_mode)) {
		/* Not lseek: a borrowed descriptor keeps its offset. */
		uint64_t bytes = 0;

		if (ioctl(s->fd, BLKGETSIZE64, &bytes) < 0) {
			snprintf(err, errlen, "BLKGETSIZE64: %s", strerror(errno));
			return HOIST_E_IO;
		}
		s->size = bytes;
	} else {
		s->size = (uint64_t)st.st_size;
	}
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	if (s->io == HOIST_IO_MMAP && s->size > 0) {
		void *m;

		if (s->size > (uint64_t)SIZE_MAX) {
			snprintf(err, errlen, "file too large to map");
			return HOIST_E_INVALID_ARG;
		}
		pthread_once(&bus_once, bus_install);
		if (!bus_installed) {
			snprintf(err, errlen, "cannot install the SIGBUS handler mmap needs");
			return HOIST_E_INTERNAL;
		}
		m = mmap(NULL, (size_t)s->size, PROT_READ, MAP_SHARED, s->fd, 0);
		if (m == MAP_FAILED) {
			snprintf(err, errlen, "mmap: %s", strerror(errno));
			return HOIST_E_IO;
		}
		madvise(m, (size_t)s->size, MADV_SEQUENTIAL);
		s->map = m;
	} else {
		/* Parts are read mostly in order, a window at a time. */
		posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	return HOIST_OK;
}

hoist_status source_open_path(struct source **out, const char *path,
			      enum hoist_io io, char *err, size_t errlen)
{
	struct source *s;
	hoist_status st;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return HOIST_E_NOMEM;
	s->ops = &file_ops;
	s->io = io;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;

		snprintf(err, errlen, "%s", strerror(e));
		free(s);
		return e == ENOENT || e == ENOTDIR ? HOIST_E_NOT_FOUND : HOIST_E_IO;
	}
	s->own_fd = 1;
	st = source_init(s, err, errlen);
	if (st != HOIST_OK) {
		source_free(s);
		return st;
	}
	*out = s;
	return HOIST_OK;
}

hoist_status source_open_fd(struct source **out, int fd, enum hoist_io io,
			    char *err, size_t errlen)
{
	struct source *s;
	hoist_status st;

	*out = NULL;
	if (fd < 0) {
		snprintf(err, errlen, "negative file descriptor");
		return HOIST_E_INVALID_ARG;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return HOIST_E_NOMEM;
	s->ops = &file_ops;
	s->io = io;
	s->fd = fd;
	st = source_init(s, err, errlen);
	if (st != HOIST_OK) {
		source_free(s);
		return st;
	}
	*out = s;
	return HOIST_OK;
}

static void file_free(struct source *s)
{
	if (s->map) {
		munmap((void *)s->map, (size_t)s->size);
	}
	if (s->own_fd && s->fd >= 0) {
		close(s->fd);
	}
	free(s);
}

static int current_size(struct source *s, uint64_t *size)
{
	struct stat st;

	if (fstat(s->fd, &st) < 0)
		return -1;
	*size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : s->size;
	return 0;
}

static int file_read(struct source *s, void *dst, uint64_t off, size_t len)
{
	unsigned char *d = dst;
	uint64_t now;

	if (len == 0)
		return 0;
	if (off > s->size || len > s->size - off)
		return SOURCE_SHORT;
	if (s->map) {
		if (current_size(s, &now) < 0)
			return -1;
		if (now < off + len)
			return SOURCE_SHORT;
		if (guarded_copy(d, s->map + off, len) < 0)
			return SOURCE_SHORT;
		/* The bytes now live in the caller's buffer: unmap the pages
		 * we went through, or every part in flight would keep its
		 * pages in our resident set (256 jobs x 8 MiB).  The page
		 * cache keeps them; a retry faults them back in cheaply. */
		file_done_with(s, off, len);
		return 0;
	}
	while (len > 0) {
		ssize_t n = pread(s->fd, d, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			return SOURCE_SHORT;
		d += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_changed(struct source *s)
{
	struct stat st;
	int64_t mt;

	if (fstat(s->fd, &st) < 0)
		return 1;
	if (!S_ISREG(st.st_mode))
		return 0;
	mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	return (uint64_t)st.st_size != s->size || mt != s->mtime_ns;
}

static void file_done_with(struct source *s, uint64_t off, uint64_t len)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t start, end;

	if (!s->map || pg <= 0 || len == 0)
		return;
	/* Whole pages inside the range only, so that this never drops more
	 * than was read (dropping a page another thread is copying from
	 * would only cost it a minor fault: the mapping is shared and
	 * read-only, no data can be lost). */
	start = (off + (uint64_t)pg - 1) / (uint64_t)pg * (uint64_t)pg;
	end = (off + len) / (uint64_t)pg * (uint64_t)pg;
	if (off + len == s->size) {
		end = (s->size + (uint64_t)pg - 1) / (uint64_t)pg * (uint64_t)pg;
	}
	if (end > start) {
		madvise((void *)(s->map + start), (size_t)(end - start), MADV_DONTNEED);
	}
}
