/*
 * tree_get.c - `hoist cp -r oss://BUCKET/PREFIX/ DIR`: a whole prefix
 * downloaded through one engine.
 *
 * Owns: the mapping of keys to paths under DIR and the refusal of keys
 * that would leave it, the directories it creates, the scheduling of many
 * downloads at once on one engine, --skip-existing's mirror rule, the
 * per-file reports, the summary and the one durability step (syncfs) at
 * the end.  A client of include/hoist.h only (cli.h).
 *
 * One paged listing of PREFIX (hoist_object_lister_next) drives the run:
 * each key K is DIR/(K minus PREFIX).  A relative key that is empty is the
 * prefix's own marker; one that starts with '/', holds "//", or has a
 * segment "." or ".." is refused: a malicious bucket must not write
 * outside DIR.  A directory on the way that exists as anything but a
 * directory (a symlink planted in DIR) fails that file rather than being
 * followed.
 *
 * Scheduling: every file is one hoist download on the same engine.  As in
 * tree.c, a small object takes one request slot, a large one
 * min(ranges, jobs / 2), and --files bounds the files in flight; how many
 * slots run at once is a hoist_pacer's (the adaptive limit uploads use
 * for parts, fed with whole files), under the --jobs ceiling: on a LAN 64
 * files of 1 MiB in flight only touched 64 MiB of fresh buffers for less
 * throughput than 8.  The main thread starts each
 * download with the listing's size and ETag (an object of one range then
 * costs one GET, no HEAD: the engine pins it with If-Match on that ETag)
 * and an on_done callback, which queues the job from the engine's loop
 * thread; the main thread then commits (hoist_download_wait, which no
 * longer blocks on the network), frees and reports it.  No thread of this
 * file waits on a download.
 *
 * Durability: downloads run with no_sync (each file is verified, then its
 * temporary renamed into place without an fsync), and one syncfs(2) on
 * DIR's filesystem at the end makes every file and rename durable at once.
 *
 * Threading: the main thread lists, decides, creates directories, starts,
 * reaps and prints; engine threads call the done callback (the done queue,
 * under the lock), the progress callback (an atomic counter) and the log
 * callback (the terminal lock).
 */
#include <errno.h>  /* syncfs: _GNU_SOURCE, set by the Makefile */
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct tg;

struct tg_job {
	struct tg_job *next;       /* the done queue (lock) */
	struct tg_job *prev_run, *next_run; /* running downloads (main thread) */
	struct tg *t;
	struct hoist_download *d;  /* while running */
	char *rel;
	char *key;
	char *path;
	char *etag;                /* the listing's; NULL: none listed */
	uint64_t size;
	int64_t mtime;             /* the listing's last-modified; 0: unknown */
	unsigned slots;
	unsigned ticket;           /* the pacer's, for hoist_pacer_done */
	double started;            /* now_s() when it started */
	hoist_status done_st;      /* as on_done said (set before it is queued) */
	hoist_status st;
	struct hoist_result res;
};

struct tg_note {
	char *rel;
	char *message;
};

#define TG_NOTES_KEPT 100
/* As tree.c: this many files in a row refused for a reason every file
 * shares (credentials, TLS, no such bucket) with none received stops it. */
#define TG_REFUSALS_TO_STOP 8

struct tg {
	/* Immutable while files run. */
	const struct cli_tree_opts *opts;
	const struct cli_common *common;
	const struct hoist_download_options *dlo;
	struct hoist_engine *engine;
	const char *root;          /* DIR without trailing '/' */
	char *prefix;              /* "" or ending in '/' */
	unsigned jobs, max_files;
	uint64_t part_size;

	/* Synced (lock): the downloads that ended, queued by on_done. */
	pthread_mutex_t lock;
	pthread_cond_t done_cond;  /* main: a job ended */
	struct tg_job *done_head, *done_tail;

	_Atomic uint64_t moved;    /* body bytes, from progress callbacks */

	/* Main thread. */
	struct tg_job *running;    /* started, not reaped */
	struct hoist_pacer *pacer; /* how many slots run at once, under jobs */
	pthread_mutex_t term_lock;
	unsigned files_in_flight, slots_used;
	uint64_t listed, received, received_bytes, existing, excluded, dirs, refused, failed;
	struct tg_note notes[TG_NOTES_KEPT];
	size_t nnotes;
	char *last_parent;         /* the last directory made sure of */
	double t0, last_draw;
	int draw, drawn;
	int fatal;
	hoist_status fatal_status;
	unsigned refusals;
};

static volatile sig_atomic_t tg_cancel;

static void on_signal(int sig)
{
	(void)sig;
	tg_cancel = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *join3(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *s = malloc(la + ls + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, sep, ls);
		memcpy(s + la + ls, b, lb + 1);
	}
	return s;
}

const char cli_tree_get_help[] =
	"Tree downloads (hoist cp -r oss://BUCKET/PREFIX/ DIR; s3:// too):\n"
	"  Lists PREFIX once (a PREFIX not ending in '/' gets one) and writes each key\n"
	"  K to DIR/(K minus PREFIX), DIR created if missing; keys ending in '/' make\n"
	"  directories.  A key that would leave DIR (a leading '/', '//', a '.' or\n"
	"  '..' segment) is refused, reported on its own line and counted, never\n"
	"  written; a directory on the way that is a symlink is not followed (that\n"
	"  file fails).  --files, --include and --exclude (on the relative key) are\n"
	"  as for uploads; --jobs is the ceiling of the slots in flight, which start\n"
	"  at 8 and widen while wider pays (a long path), as an upload's parts do\n"
	"  (--fixed-jobs: always --jobs); --skip-existing keeps a local file of the\n"
	"  object's size whose mtime is not older than its last-modified (trusts\n"
	"  sizes and clocks, no request per file).  Each file is verified, renamed\n"
	"  into place from a temporary beside it and given the object's\n"
	"  last-modified as its mtime; the tree is made durable once at the end\n"
	"  (syncfs of DIR's filesystem), so a crash during the run may leave files\n"
	"  of this run empty or short: rerun without\n"
	"  --skip-existing after a crash.  Exit 7: some keys failed or were refused.\n"
	"\n";

/* ------------------------------------------------------------ reports */

static void clear_line_locked(struct tg *t)
{
	if (t->drawn) {
		fputs("\r\033[K", stderr);
		t->drawn = 0;
	}
}

static void cb_log(const char *line, void *userdata)
{
	struct tg *t = userdata;

	pthread_mutex_lock(&t->term_lock);
	clear_line_locked(t);
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&t->term_lock);
}

static void cb_progress(uint64_t increment, uint64_t transferred, uint64_t total,
			unsigned in_flight, void *userdata)
{
	struct tg_job *j = userdata;

	(void)transferred;
	(void)total;
	(void)in_flight;
	atomic_fetch_add_explicit(&j->t->moved, increment, memory_order_relaxed);
}

static void progress_draw(struct tg *t)
{
	uint64_t moved = atomic_load_explicit(&t->moved, memory_order_relaxed);
	double el = now_s() - t->t0;
	char b[32];

	cli_format_bytes(b, sizeof(b), (double)moved);
	pthread_mutex_lock(&t->term_lock);
	fprintf(stderr, "\r\033[K%" PRIu64 " files received of %" PRIu64 " listed, %s, %.1f MB/s, %u in flight",
		t->received, t->listed, b, el > 0 ? (double)moved / el / 1e6 : 0.0, t->files_in_flight);
	fflush(stderr);
	t->drawn = 1;
	pthread_mutex_unlock(&t->term_lock);
}

/* One stderr line "hoist: REL: MESSAGE", and a note for the summary. */
static void note_line(struct tg *t, const char *what, const char *rel, const char *message)
{
	struct tg_note *n;

	pthread_mutex_lock(&t->term_lock);
	clear_line_locked(t);
	fprintf(stderr, "hoist: %s", what);
	cli_print_safe(stderr, rel);
	fputs(": ", stderr);
	cli_print_safe(stderr, message);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&t->term_lock);
	if (t->nnotes == TG_NOTES_KEPT)
		return;
	n = &t->notes[t->nnotes];
	n->rel = strdup(rel);
	n->message = strdup(message);
	if (n->rel && n->message) {
		t->nnotes++;
	} else {
		free(n->rel);
		free(n->message);
	}
}

static void note_failure(struct tg *t, const char *rel, const char *message)
{
	t->failed++;
	note_line(t, "", rel, message);
}

/* --json: one line per key. */
static void json_key(const struct tg *t, const char *rel, const char *key, const char *action,
		     const char *reason, const struct hoist_result *r, hoist_status st)
{
	json_t *o;

	if (!t->common->json)
		return;
	o = json_pack("{s:o,s:o,s:o}", "file", cli_json_str(rel), "key", cli_json_str(key),
		      "action", cli_json_str(action));
	if (o && reason) {
		json_object_set_new(o, "reason", cli_json_str(reason));
	}
	if (o && r) {
		json_object_set_new(o, "status", json_string(cli_status_name(st)));
		json_object_set_new(o, "bytes", cli_json_u64(r->bytes));
		if (st == HOIST_OK) {
			if (r->crc64_valid) {
				json_object_set_new(o, "crc64", cli_json_u64(r->crc64));
			}
			json_object_set_new(o, "etag", cli_json_str(r->etag));
			json_object_set_new(o, "verified", json_boolean(r->verified != HOIST_VERIFY_NONE));
			json_object_set_new(o, "seconds", json_real(r->seconds));
		} else {
			json_object_set_new(o, "message",
					    cli_json_str(r->message ? r->message : hoist_strerror(st)));
		}
	}
	cli_json_print(stdout, o);
}

/* ------------------------------------------------------ keys to paths */

/* Why rel (the key minus PREFIX) must not be written, or NULL when it
 * stays inside DIR.  A trailing '/' (a directory marker) is allowed. */
static const char *refusal(const char *rel)
{
	const char *seg = rel;

	if (rel[0] == '/')
		return "an absolute path";
	for (;;) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0 && end)
			return "an empty segment ('//')";
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return "a '.' or '..' segment";
		if (!end || !end[1])
			return NULL;
		seg = end + 1;
	}
}

/* Makes sure DIR/rel (a relative directory, no trailing '/') exists, one
 * segment at a time, never through something that is not a directory
 * (a symlink is not followed).  0, or -1 with msg set. */
static int make_dirs(const struct tg *t, const char *rel, char *msg, size_t len)
{
	size_t rl = strlen(t->root), n = strlen(rel), i;
	char *p = malloc(rl + n + 2);
	int rc = -1;

	if (!p) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	memcpy(p, t->root, rl);
	p[rl] = '/';
	memcpy(p + rl + 1, rel, n + 1);
	for (i = rl + 1; i <= rl + 1 + n; i++) {
		struct stat st;

		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST) {
			snprintf(msg, len, "cannot create the directory '%s': %s", p + rl + 1, strerror(errno));
			goto out;
		}
		if (lstat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(msg, len, "'%s' exists and is not a directory (symlinks are not followed)",
				 p + rl + 1);
			goto out;
		}
		if (i < rl + 1 + n) {
			p[i] = '/';
		}
	}
	rc = 0;
out:
	free(p);
	return rc;
}

/* The parent directories of the file rel, remembering the last one so
 * that the files of one directory cost one check between them. */
static int make_parent(struct tg *t, const char *rel, char *msg, size_t len)
{
	const char *slash = strrchr(rel, '/');
	char *parent;

	if (!slash)
		return 0;
	parent = strndup(rel, (size_t)(slash - rel));
	if (!parent) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if (t->last_parent && strcmp(parent, t->last_parent) == 0) {
		free(parent);
		return 0;
	}
	if (make_dirs(t, parent, msg, len) < 0) {
		free(parent);
		return -1;
	}
	free(t->last_parent);
	t->last_parent = parent;
	return 0;
}

/* ------------------------------------------------------------ downloads */

/* Engine loop thread: the download of j ended.  Queues it for the main
 * thread; nothing else (a callback must not block nor free). */
static void cb_done(hoist_status st, void *userdata)
{
	struct tg_job *j = userdata;
	struct tg *t = j->t;

	j->done_st = st;
	pthread_mutex_lock(&t->lock);
	j->next = NULL;
	if (t->done_tail) {
		t->done_tail->next = j;
	} else {
		t->done_head = j;
	}
	t->done_tail = j;
	pthread_cond_signal(&t->done_cond);
	pthread_mutex_unlock(&t->lock);
}

static void running_remove(struct tg *t, struct tg_job *j)
{
	if (j->prev_run) {
		j->prev_run->next_run = j->next_run;
	} else if (t->running == j) {
		t->running = j->next_run;
	}
	if (j->next_run) {
		j->next_run->prev_run = j->prev_run;
	}
	j->prev_run = j->next_run = NULL;
}

/* Main thread: starts j's download.  Returns 0, or -1 when it did not
 * start (j->st and j->res say why; the caller reports it). */
static int download_start(struct tg *t, struct tg_job *j)
{
	struct hoist_download_options o = *t->dlo;

	o.version = HOIST_DOWNLOAD_OPTIONS_VERSION;
	o.key = j->key;
	o.jobs = j->slots;
	o.no_sync = 1;
	/* One range has nothing to resume, and its journal would cost a
	 * file and two fdatasyncs per object: only a multi-range object
	 * keeps one, so a rerun continues a large file. */
	if (j->size <= t->part_size) {
		o.no_resume = 1;
	}
	if (j->etag) {
		o.known_set = 1;
		o.known_size = j->size;
		o.known_etag = j->etag;
	}
	o.progress = cb_progress;
	o.on_part = NULL;
	o.on_done = cb_done;
	o.userdata = j;
	j->st = hoist_download_file_start(&j->d, t->engine, j->path, &o, &j->res);
	if (j->st != HOIST_OK)
		return -1;
	j->prev_run = NULL;
	j->next_run = t->running;
	if (t->running) {
		t->running->prev_run = j;
	}
	t->running = j;
	return 0;
}

/* Main thread: a download that ended (on_done ran): commit, free. */
static void download_end(struct tg *t, struct tg_job *j)
{
	running_remove(t, j);
	j->st = hoist_download_wait(j->d, &j->res);
	hoist_download_free(j->d);
	j->d = NULL;
}

static void job_free(struct tg_job *j)
{
	if (!j)
		return;
	hoist_result_cleanup(&j->res);
	free(j->rel);
	free(j->key);
	free(j->path);
	free(j->etag);
	free(j);
}

/* Main thread: stop starting, cancel what runs (each still ends through
 * on_done and is reaped). */
static void stop_run(struct tg *t, hoist_status st)
{
	struct tg_job *j;

	if (t->fatal)
		return;
	t->fatal = 1;
	t->fatal_status = st;
	for (j = t->running; j; j = j->next_run) {
		hoist_download_cancel(j->d);
	}
}

static void note_refusal(struct tg *t, const struct hoist_result *r, hoist_status st)
{
	int shared = st == HOIST_E_AUTH || st == HOIST_E_TLS ||
		     (r->error_code && strcmp(r->error_code, "NoSuchBucket") == 0);

	if (!shared) {
		t->refusals = 0;
		return;
	}
	if (++t->refusals < TG_REFUSALS_TO_STOP || t->received || t->fatal)
		return;
	stop_run(t, st);
	pthread_mutex_lock(&t->term_lock);
	clear_line_locked(t);
	fprintf(stderr, "hoist: stopping: %u files in a row were refused (%s) and none was received\n",
		t->refusals, r->error_code && *r->error_code ? r->error_code : cli_status_name(st));
	pthread_mutex_unlock(&t->term_lock);
}

/* The file gets the object's last-modified as its mtime, as mirrors do,
 * so that --skip-existing's rule holds however the local clock differs
 * from the store's. */
static void set_mtime(struct tg *t, const struct tg_job *j)
{
	struct timespec ts[2];

	if (j->mtime <= 0)
		return;
	ts[0].tv_sec = ts[1].tv_sec = (time_t)j->mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (utimensat(AT_FDCWD, j->path, ts, AT_SYMLINK_NOFOLLOW) < 0 && t->common->verbose) {
		pthread_mutex_lock(&t->term_lock);
		clear_line_locked(t);
		fputs("* cannot set the mtime of ", stderr);
		cli_print_safe(stderr, j->rel);
		fprintf(stderr, ": %s\n", strerror(errno));
		pthread_mutex_unlock(&t->term_lock);
	}
}

/* Main thread: whether j may start now (nothing runs, or it fits under
 * the pacer's limit and --files). */
static int admissible(struct tg *t, const struct tg_job *j)
{
	return !t->files_in_flight ||
	       (hoist_pacer_may_start(t->pacer, j->slots) && t->files_in_flight < t->max_files);
}

/* Main thread: j takes its slots and its download starts. */
static void launch(struct tg *t, struct tg_job *j)
{
	t->files_in_flight++;
	t->slots_used += j->slots;
	j->ticket = hoist_pacer_start(t->pacer, j->slots);
	j->started = now_s();
	if (download_start(t, j) < 0) {
		/* Reported like any failure, by the next reap. */
		cb_done(j->st, j);
	}
}

/* Main thread: reports the downloads that ended.  Their slots are given
 * back first and *waiting (the next file, NULL: none) started in them
 * before any commit runs: a slot left empty while commits ran (then
 * writing each file, now close, rename and mtime) was 10 % of a LAN's
 * tree throughput (500 files of 1 MiB, 8 slots). */
static void reap(struct tg *t, struct tg_job **waiting)
{
	struct tg_job *head, *j, *next;

	pthread_mutex_lock(&t->lock);
	head = t->done_head;
	t->done_head = t->done_tail = NULL;
	pthread_mutex_unlock(&t->lock);
	for (j = head; j; j = j->next) {
		t->files_in_flight--;
		t->slots_used -= j->slots;
		/* What a file of this width moved in the time it took. */
		hoist_pacer_done(t->pacer, j->ticket, j->slots, j->done_st == HOIST_OK ? j->size : 0,
				 now_s() - j->started, j->done_st == HOIST_OK);
	}
	if (head && waiting && *waiting && !t->fatal && admissible(t, *waiting)) {
		launch(t, *waiting);
		*waiting = NULL;
	}
	for (j = head; j; j = next) {
		next = j->next;
		if (j->d) {
			download_end(t, j);
		}
		if (j->st == HOIST_E_THROTTLED) {
			hoist_pacer_throttled(t->pacer);
		}
		/* A GET's first byte is a round trip plus little: it corrects
		 * the listing's estimate (the pacer keeps the least). */
		if (j->res.ttfb_seconds > 0) {
			hoist_pacer_round_trip(t->pacer, j->res.ttfb_seconds);
		}
		if (j->st == HOIST_OK) {
			set_mtime(t, j);
			t->received++;
			t->received_bytes += j->res.bytes;
			t->refusals = 0;
			json_key(t, j->rel, j->key, "received", NULL, &j->res, j->st);
		} else if (j->st == HOIST_E_CANCELLED && t->fatal) {
			/* The run was stopped; the summary says so once. */
		} else {
			json_key(t, j->rel, j->key, "failed", NULL, &j->res, j->st);
			note_failure(t, j->rel, j->res.message ? j->res.message : hoist_strerror(j->st));
			note_refusal(t, &j->res, j->st);
		}
		job_free(j);
	}
}

/* Main thread: waits for a download to end (or ~200 ms, for the
 * progress line and Ctrl-C), then reaps (starting *waiting if it fits). */
static void wait_some(struct tg *t, struct tg_job **waiting)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->done_head && !tg_cancel) {
		if (pthread_cond_timedwait(&t->done_cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t->lock);
	if (tg_cancel) {
		stop_run(t, HOIST_E_CANCELLED);
	}
	reap(t, waiting);
	if (t->draw && now_s() - t->last_draw >= 0.2) {
		t->last_draw = now_s();
		progress_draw(t);
	}
}

/* Ranges of an object up to half the tree's width (see tree.c). */
static unsigned slots_for(const struct tg *t, uint64_t size)
{
	uint64_t ranges = size ? (size + t->part_size - 1) / t->part_size : 1;
	unsigned half = t->jobs / 2 ? t->jobs / 2 : 1;

	return ranges < half ? (unsigned)ranges : half;
}

/* Main thread: queues the download of key into DIR/rel. */
static void start_file(struct tg *t, const char *rel, const struct hoist_object_entry *e)
{
	struct tg_job *j = calloc(1, sizeof(*j));

	if (!j || !(j->rel = strdup(rel)) || !(j->key = strdup(e->key)) ||
	    !(j->path = join3(t->root, "/", rel)) ||
	    (e->etag && *e->etag && !(j->etag = strdup(e->etag)))) {
		note_failure(t, rel, "out of memory");
		job_free(j);
		return;
	}
	j->t = t;
	j->size = e->size;
	j->mtime = e->mtime;
	j->slots = slots_for(t, e->size);
	j->res = (struct hoist_result)HOIST_RESULT_INIT;
	while (j && !t->fatal && !admissible(t, j)) {
		wait_some(t, &j);
	}
	if (!j)
		return; /* started by a reap */
	if (t->fatal) {
		job_free(j);
		return;
	}
	launch(t, j);
}

/* --skip-existing's mirror rule: a regular file of the object's size
 * whose mtime is not older than the object's last-modified. */
static int already_there(const struct tg *t, const char *rel, const struct hoist_object_entry *e)
{
	struct stat st;
	char *path = join3(t->root, "/", rel);
	int there;

	if (!path)
		return 0;
	there = lstat(path, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == e->size &&
		e->mtime > 0 && (int64_t)st.st_mtime >= e->mtime;
	free(path);
	return there;
}

static void one_entry(struct tg *t, const struct hoist_object_entry *e)
{
	size_t pl = strlen(t->prefix), rl;
	const char *rel, *why;
	char msg[512];

	t->listed++;
	if (e->key_has_nul) {
		why = "a NUL byte in the key, which no file name can hold";
		goto refuse;
	}
	if (strncmp(e->key, t->prefix, pl) != 0) {
		why = "not under the prefix";
		goto refuse;
	}
	rel = e->key + pl;
	rl = strlen(rel);
	if (rl == 0) {
		return; /* PREFIX's own directory marker: DIR itself */
	}
	why = refusal(rel);
	if (why)
		goto refuse;
	if (t->opts->nfilters) {
		int out = 0;
		size_t i;

		for (i = 0; i < t->opts->nfilters; i++) {
			if (fnmatch(t->opts->filters[i].pattern, rel, 0) == 0) {
				out = t->opts->filters[i].exclude;
			}
		}
		if (out) {
			t->excluded++;
			json_key(t, rel, e->key, "skipped", "excluded", NULL, HOIST_OK);
			return;
		}
	}
	if (rel[rl - 1] == '/') {
		char *d = strndup(rel, rl - 1);

		if (!d || make_dirs(t, d, msg, sizeof(msg)) < 0) {
			json_key(t, rel, e->key, "failed", d ? msg : "out of memory", NULL, HOIST_OK);
			note_failure(t, rel, d ? msg : "out of memory");
		} else {
			t->dirs++;
			json_key(t, rel, e->key, "directory", NULL, NULL, HOIST_OK);
		}
		free(d);
		return;
	}
	if (t->opts->skip_existing && already_there(t, rel, e)) {
		t->existing++;
		json_key(t, rel, e->key, "skipped", "exists", NULL, HOIST_OK);
		return;
	}
	if (make_parent(t, rel, msg, sizeof(msg)) < 0) {
		json_key(t, rel, e->key, "failed", msg, NULL, HOIST_OK);
		note_failure(t, rel, msg);
		return;
	}
	start_file(t, rel, e);
	return;
refuse:
	t->refused++;
	json_key(t, e->key, e->key, "refused", why, NULL, HOIST_OK);
	snprintf(msg, sizeof(msg), e->key_has_nul ? "(url-encoded) refused: %s" :
		 "refused: the key would leave the directory (%s)", why);
	note_line(t, "key ", e->key, msg);
}

/* ---------------------------------------------------------------- run */

static void summary(const struct tg *t, int rc, double el)
{
	double mbs = el > 0 ? (double)t->received_bytes / el / 1e6 : 0;
	double fps = el > 0 ? (double)t->received / el : 0;
	char b[32];
	size_t i;

	if (t->common->json) {
		cli_json_print(stdout,
			       json_pack("{s:b,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:f,s:f}",
					 "summary", 1, "exit_code", rc, "listed", cli_json_u64(t->listed),
					 "received", cli_json_u64(t->received), "bytes",
					 cli_json_u64(t->received_bytes), "skipped",
					 cli_json_u64(t->existing + t->excluded), "existing",
					 cli_json_u64(t->existing), "excluded", cli_json_u64(t->excluded),
					 "directories", cli_json_u64(t->dirs), "refused",
					 cli_json_u64(t->refused), "failed", cli_json_u64(t->failed),
					 "seconds", el, "mb_per_s", mbs, "files_per_s", fps));
		fflush(stdout);
	} else if (!t->common->quiet) {
		cli_format_bytes(b, sizeof(b), (double)t->received_bytes);
		fprintf(stdout,
			"received %" PRIu64 " files (%s) in %.2f s: %.1f MB/s, %.0f files/s; skipped %" PRIu64
			" (%" PRIu64 " existing, %" PRIu64 " excluded); %" PRIu64 " directories; refused %" PRIu64
			" keys; failed %" PRIu64 "\n",
			t->received, b, el, mbs, fps, t->existing + t->excluded, t->existing, t->excluded,
			t->dirs, t->refused, t->failed);
		fflush(stdout);
	}
	for (i = 0; i < t->nnotes; i++) {
		fputs("hoist: failed: ", stderr);
		cli_print_safe(stderr, t->notes[i].rel);
		fputs(": ", stderr);
		cli_print_safe(stderr, t->notes[i].message);
		fputc('\n', stderr);
	}
	if (t->failed + t->refused > t->nnotes) {
		fprintf(stderr, "hoist: ... and %" PRIu64 " more\n", t->failed + t->refused - t->nnotes);
	}
}

/* DIR, created (with its parents) when missing; an open descriptor for
 * the syncfs at the end, or -1 after one line. */
static int open_root(const char *root)
{
	char *p = strdup(root);
	size_t i;
	int fd;

	if (!p) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	for (i = 1; p[i]; i++) {
		if (p[i] == '/') {
			p[i] = '\0';
			(void)mkdir(p, 0777);
			p[i] = '/';
		}
	}
	(void)mkdir(p, 0777);
	free(p);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		fputs("hoist: cannot download into '", stderr);
		cli_print_safe(stderr, root);
		fprintf(stderr, "': %s\n", errno == ENOTDIR ? "it is not a directory" : strerror(errno));
	}
	return fd;
}

/* Main thread: lists PREFIX and hands out its files until the end. */
static void run_listing(struct tg *t, struct hoist_object_lister *lister)
{
	int first = 1;

	for (;;) {
		const struct hoist_object_entry *e = NULL;
		struct hoist_result res = HOIST_RESULT_INIT;
		double t0 = now_s();
		hoist_status st = hoist_object_lister_next(lister, &e, &res);

		/* The first page is a round trip (and its server time, a
		 * little more): on a long path the pacer starts wider. */
		if (first && st == HOIST_OK) {
			hoist_pacer_round_trip(t->pacer, now_s() - t0);
			first = 0;
		}

		if (st != HOIST_OK) {
			pthread_mutex_lock(&t->term_lock);
			clear_line_locked(t);
			pthread_mutex_unlock(&t->term_lock);
			fputs("hoist: the listing of the prefix failed: ", stderr);
			cli_print_safe(stderr, res.message ? res.message : hoist_strerror(st));
			fputc('\n', stderr);
			hoist_result_cleanup(&res);
			stop_run(t, st);
			return;
		}
		hoist_result_cleanup(&res);
		if (!e)
			return;
		one_entry(t, e);
		if (tg_cancel) {
			stop_run(t, HOIST_E_CANCELLED);
		}
		if (t->fatal)
			return;
		reap(t, NULL);
		if (t->draw && now_s() - t->last_draw >= 0.2) {
			t->last_draw = now_s();
			progress_draw(t);
		}
	}
}

static char *clean_root(const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/') {
		n--;
	}
	return strndup(dir, n);
}

int cli_tree_download(const struct cli_tree_opts *opts, const struct cli_common *common,
		      struct hoist_engine_options *eo, const struct hoist_download_options *dlo,
		      const struct cli_url *url, const char *dir)
{
	struct tg t;
	struct hoist_list_options lo = HOIST_LIST_OPTIONS_INIT;
	struct hoist_object_lister *lister = NULL;
	struct hoist_result res = HOIST_RESULT_INIT;
	char *root = NULL;
	size_t kl = strlen(url->key), i;
	int rc = CLI_EXIT_TRANSFER, dirfd = -1;
	double el;
	hoist_status st;

	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.done_cond, NULL);
	pthread_mutex_init(&t.term_lock, NULL);
	t.opts = opts;
	t.common = common;
	t.dlo = dlo;
	t.jobs = dlo->jobs ? dlo->jobs : 64;
	t.max_files = opts->files ? opts->files : 256;
	t.part_size = dlo->part_size ? dlo->part_size : 8ull << 20;
	t.prefix = join3(url->key, kl && url->key[kl - 1] != '/' ? "/" : "", "");
	root = clean_root(dir);
	if (!t.prefix || !root) {
		fputs("hoist: out of memory\n", stderr);
		goto out;
	}
	t.root = root;
	dirfd = open_root(root);
	if (dirfd < 0)
		goto out;
	if (common->verbose) {
		eo->log = cb_log;
		eo->log_userdata = &t;
	}
	/* Every file's download allocates its chunks (up to 1 MiB each) and
	 * frees them when it ends.  glibc's defaults give such blocks back to
	 * the kernel (munmap, or madvise when an arena's top is trimmed) and
	 * the next file faults fresh pages in: on 500 files of 1 MiB that was
	 * half the client's CPU (1.9 CPU-s against 1.0 with these fixed
	 * thresholds).  Kept mapped, freed blocks serve the next file; the
	 * process is ours (the CLI), and memory stays what the peak used. */
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 128 << 20);
	cli_signals_catch(on_signal, 1);
	st = hoist_engine_new(&t.engine, eo, &res);
	cli_signals_block(0);
	if (st != HOIST_OK) {
		cli_print_failure(&res, st);
		rc = cli_exit_code(st);
		goto out;
	}
	hoist_result_cleanup(&res);
	st = hoist_pacer_new(&t.pacer, t.jobs, dlo->concurrency == HOIST_CONCURRENCY_FIXED);
	if (st != HOIST_OK) {
		fputs("hoist: out of memory\n", stderr);
		rc = cli_exit_code(st);
		goto out;
	}
	lo.bucket = url->bucket;
	lo.prefix = t.prefix;
	st = hoist_object_lister_new(&lister, t.engine, &lo, &res);
	if (st != HOIST_OK) {
		cli_print_failure(&res, st);
		rc = cli_exit_code(st);
		goto out;
	}
	t.draw = !common->quiet && !common->json && isatty(STDERR_FILENO);
	t.t0 = now_s();
	run_listing(&t, lister);
	while (t.files_in_flight) {
		wait_some(&t, NULL);
	}
	pthread_mutex_lock(&t.term_lock);
	clear_line_locked(&t);
	pthread_mutex_unlock(&t.term_lock);
	/* The one durability step: every file renamed into place and every
	 * directory made, on DIR's filesystem, reaches the disk here. */
	if (t.received + t.dirs && syncfs(dirfd) < 0) {
		fputs("hoist: syncfs of '", stderr);
		cli_print_safe(stderr, root);
		fprintf(stderr, "' failed: %s; the files received may not survive a crash\n", strerror(errno));
		t.fatal = 1;
		t.fatal_status = HOIST_E_IO;
	}
	el = now_s() - t.t0;
	if (t.fatal) {
		rc = t.fatal_status == HOIST_E_CANCELLED ? CLI_EXIT_CANCELLED : cli_exit_code(t.fatal_status);
	} else {
		rc = t.failed || t.refused ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
	}
	summary(&t, rc, el);
	if (rc == CLI_EXIT_CANCELLED) {
		fputs("hoist: cancelled; files not reported received were not written (rerun with --skip-existing)\n",
		      stderr);
	} else if (rc == CLI_EXIT_SOME_FAILED) {
		fprintf(stderr, "hoist: %" PRIu64 " files failed and %" PRIu64 " keys were refused; %" PRIu64
			" files were received\n", t.failed, t.refused, t.received);
	}
out:
	while (t.files_in_flight) {
		wait_some(&t, NULL);
	}
	if (common->verbose && t.pacer) {
		fprintf(stderr, "hoist: slots in flight at the end: %u of --jobs %u\n",
			hoist_pacer_limit(t.pacer), t.jobs);
	}
	hoist_pacer_free(t.pacer);
	hoist_object_lister_free(lister);
	hoist_engine_free(t.engine);
	hoist_result_cleanup(&res);
	if (dirfd >= 0) {
		close(dirfd);
	}
	for (i = 0; i < t.nnotes; i++) {
		free(t.notes[i].rel);
		free(t.notes[i].message);
	}
	free(t.last_parent);
	free(t.prefix);
	free(root);
	pthread_cond_destroy(&t.done_cond);
	pthread_mutex_destroy(&t.lock);
	pthread_mutex_destroy(&t.term_lock);
	return rc;
}
