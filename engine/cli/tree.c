/*
 * tree.c - `hoist cp -r DIR oss://BUCKET/PREFIX/`: a whole tree through one
 * engine.
 *
 * Owns: the include/exclude filters, the merge of the walk of DIR with a
 * listing of PREFIX (--skip-existing, --checksum-compare), the
 * scheduling of many uploads at once on one engine, the per-file reports
 * and the summary.
 *
 * The walk (walk.c) is in byte order of the keys it makes, the order in
 * which OSS and S3 list keys, so that --skip-existing merges it with one
 * paged listing (hoist_object_lister_next) in fixed memory: both cursors
 * only move forward.
 *
 * Scheduling: every file is one hoist upload on the same engine (its
 * loops, connections and hash pool), so small files go as concurrent
 * PutObjects with no process, thread or handshake per file.  A budget of
 * --jobs slots bounds the requests in flight over the whole tree: a
 * single-request file takes one, a multipart file min(parts, jobs / 2)
 * (and that many parts in flight), so two large files can share the
 * width with small ones instead of one taking it all; --files bounds the
 * files in flight.  Files are streamed from their ranges and hold no part
 * buffers, so the engine's memory budget is not what bounds them.  Each
 * upload tells the main thread that it ended through on_done (a queue
 * and a condition variable), and the main thread waits, frees and
 * reports it.  --checksum-compare checks (a HEAD, a read of the file) run
 * on CHECKERS threads of this file and come back through the same queue;
 * a file found different is then started like any other.
 * Threading: the main thread walks, lists, starts, reaps and prints; the
 * engine's loop threads call on_done and progress (the queue's lock, an
 * atomic counter) and the log callback (the terminal lock); the checker
 * threads take checks from their queue and hand them back (the queue's
 * lock), touching nothing else of the tree but its immutable part.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cli.h"
#include "walk.h"

/* ------------------------------------------------------------ options */

enum tree_opt {
	OPT_TREE_INCLUDE = 2000,   /* above cp's ids */
	OPT_TREE_EXCLUDE,
	OPT_TREE_FOLLOW,
	OPT_TREE_SKIP_EXISTING,
	OPT_TREE_CHECKSUM_COMPARE,
	OPT_TREE_FILES
};

static const struct option tree_options[] = {
	{ "recursive", no_argument, NULL, 'r' },
	{ "include", required_argument, NULL, OPT_TREE_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_TREE_EXCLUDE },
	{ "follow-symlinks", no_argument, NULL, OPT_TREE_FOLLOW },
	{ "skip-existing", no_argument, NULL, OPT_TREE_SKIP_EXISTING },
	{ "checksum-compare", no_argument, NULL, OPT_TREE_CHECKSUM_COMPARE },
	{ "files", required_argument, NULL, OPT_TREE_FILES },
	{ NULL, 0, NULL, 0 }
};

const char cli_tree_help[] =
	"Trees (hoist cp -r DIR oss://BUCKET/PREFIX/):\n"
	"  -r, --recursive       upload every file under DIR as PREFIX + its path\n"
	"                        relative to DIR ('/' between names, bytes as they are;\n"
	"                        a PREFIX not ending in '/' gets one); empty\n"
	"                        directories make no object\n"
	"  --include GLOB        --exclude GLOB: repeatable, matched (fnmatch, '*' also\n"
	"                        matches '/') against the relative path of each file, in\n"
	"                        order; the last pattern that matches decides, a file\n"
	"                        no pattern matches is sent: --exclude '*' --include\n"
	"                        '*.jpg' sends only JPEGs\n"
	"  --follow-symlinks     follow symbolic links (a directory already on the path\n"
	"                        is a loop: skipped and counted); default: symlinks,\n"
	"                        like devices, FIFOs and sockets, are skipped and counted\n"
	"  --files N             files in flight at most (default 256); --jobs bounds\n"
	"                        the requests in flight over the whole tree (a small\n"
	"                        file is one, a multipart one up to --jobs / 2 parts):\n"
	"                        on a long network path raise it to the hundreds\n"
	"  --skip-existing       do not send a file when PREFIX already holds its key\n"
	"                        with the same size and a last-modified time not older\n"
	"                        than the file's mtime (one paged listing of PREFIX,\n"
	"                        no request per file).  Trusts sizes and clocks: a\n"
	"                        file rewritten with the same size and an mtime set\n"
	"                        back is not sent\n"
	"  --checksum-compare    with --skip-existing, decide by content instead: a file\n"
	"                        of the same size is not sent when the object's CRC64\n"
	"                        (OSS: a HEAD per such file) or, on S3, its listed ETag\n"
	"                        (the MD5 of a single-part upload) equals the file's,\n"
	"                        computed by reading it.  Trusts the server's checksum;\n"
	"                        an object without one (S3 multipart ETag '-N', OSS\n"
	"                        without CRC64) is sent again\n"
	"  A summary line ends the run; a file that fails is reported on its own line\n"
	"  and the others go on.  Exit 7 when some files failed (EXIT_CODES.md).\n"
	"\n";

struct option *cli_tree_options_merge(const struct option *cp)
{
	size_t n1 = 0, n2 = 0;
	struct option *both, *all;

	while (cp[n1].name) {
		n1++;
	}
	while (tree_options[n2].name) {
		n2++;
	}
	both = calloc(n1 + n2 + 1, sizeof(*both));
	if (!both)
		return NULL;
	memcpy(both, cp, n1 * sizeof(*both));
	memcpy(both + n1, tree_options, n2 * sizeof(*both));
	all = cli_options_merge(both);
	free(both);
	return all;
}

int cli_tree_apply(struct cli_tree_opts *t, int id, const char *arg)
{
	unsigned long v;

	switch (id) {
	case 'r':
		t->recursive = 1;
		return 1;
	case OPT_TREE_INCLUDE:
	case OPT_TREE_EXCLUDE:
		if (!*arg) {
			cli_usage_error("cp", "--%s needs a pattern",
					id == OPT_TREE_INCLUDE ? "include" : "exclude");
			return -1;
		}
		t->filters[t->nfilters].exclude = id == OPT_TREE_EXCLUDE;
		t->filters[t->nfilters].pattern = arg;
		t->nfilters++;
		t->any = 1;
		return 1;
	case OPT_TREE_FOLLOW:
		t->follow_symlinks = 1;
		t->any = 1;
		return 1;
	case OPT_TREE_SKIP_EXISTING:
		t->skip_existing = 1;
		t->any = 1;
		return 1;
	case OPT_TREE_CHECKSUM_COMPARE:
		t->checksum_compare = 1;
		t->any = 1;
		return 1;
	case OPT_TREE_FILES:
		if (cli_parse_uint(&v, arg, 1, 100000)) {
			cli_usage_error("cp", "--files '%s': expected 1 to 100000", arg);
			return -1;
		}
		t->files = (unsigned)v;
		t->any = 1;
		return 1;
	default:
		return 0;
	}
}

/* The last matching pattern decides; no match: included. */
static int filtered_out(const struct cli_tree_opts *t, const char *rel)
{
	int out = 0;
	size_t i;

	for (i = 0; i < t->nfilters; i++) {
		if (fnmatch(t->filters[i].pattern, rel, 0) == 0) {
			out = t->filters[i].exclude;
		}
	}
	return out;
}

/* ---------------------------------------------------------- scheduling */

struct tree;

/* Threads that make the --checksum-compare checks (a HEAD on OSS, then a
 * read of the file), so that a tree against a far store is not a series
 * of round trips on the main thread.  Fewer make the checks a queue on a
 * long path; more only add HEADs in flight (and file reads competing for
 * the same disk).  At most --files. */
#define CHECKERS 16

struct job {
	struct job *next;          /* the done queue (synced) */
	struct job *prev_run, *next_run; /* the running list (main thread) */
	struct tree *t;
	struct hoist_upload *u;
	char *rel;
	char *key;
	unsigned slots;
	/* A --checksum-compare check instead of an upload (u NULL): */
	int check;
	char *path;                /* the file to read */
	char *etag;                /* the listed ETag (S3 compares with it) */
	uint64_t size;
	int same;                  /* the checker's answer */
};

struct failure_note {
	char *rel;
	char *message;
};

#define MAX_FAILURES_KEPT 100

struct tree {
	/* Immutable while files run. */
	const struct cli_tree_opts *opts;
	const struct cli_common *common;
	struct hoist_engine *engine;
	const struct hoist_upload_options *uo;
	enum hoist_dialect dialect;
	const char *bucket;
	const char *root;
	char *prefix;              /* the key prefix: "" or ending in '/' */
	unsigned jobs, max_files;

	/* Synced: the queue of ended uploads (from on_done) and of ended
	 * checks; the queue of checks to make and the checkers' stop flag. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job *done_head, *done_tail;
	pthread_cond_t check_cond;
	struct job *check_head, *check_tail;
	int check_stop;
	pthread_t checkers[CHECKERS];
	unsigned ncheckers;

	/* Atomic: body bytes moved, summed from the progress callbacks. */
	_Atomic uint64_t moved;

	/* Main thread (drawn: under term_lock). */
	pthread_mutex_t term_lock; /* the log callback and the progress line */
	struct job *running;
	struct job *pending_head, *pending_tail; /* checked, to be sent */
	unsigned files_in_flight, slots_used;
	uint64_t sent, sent_bytes, existing, excluded, special, failed, seen;
	struct failure_note notes[MAX_FAILURES_KEPT];
	size_t nnotes;
	double t0, last_draw;
	int drawn, draw;
	struct hoist_object_lister *lister;
	const struct hoist_object_entry *listed; /* the listing's lookahead */
	int listing_done;
	int fatal;                 /* stop walking: listing failed, Ctrl-C */
	hoist_status fatal_status;
	atomic_int abandon;        /* fatal, for the checkers: skip what is queued */
	unsigned refusals;         /* failures in a row that every file would get */
	/* A share (opts->nranks > 1): the rank of each file the filters keep,
	 * in walk order, and the next one's index. */
	uint32_t *owner;
	size_t nowner, next_owner;
	uint64_t others;           /* files other ranks send */
};

/* After this many files in a row refused for a reason every other file
 * would share (credentials, TLS, no such bucket), with none sent, the tree
 * stops: a million-file run must not print a million identical lines.
 * Lower would stop on a few files that really are refused on their own;
 * higher only prints more of the same. */
#define REFUSALS_TO_STOP 8

static volatile sig_atomic_t tree_cancel;

/* Main thread: the run stops (nothing more is started). */
static void stop_run(struct tree *t, hoist_status st)
{
	t->fatal = 1;
	t->fatal_status = st;
	atomic_store_explicit(&t->abandon, 1, memory_order_relaxed);
}

static void on_tree_signal(int sig)
{
	(void)sig;
	tree_cancel = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Engine threads. */
static void cb_done(hoist_status st, void *userdata)
{
	struct job *j = userdata;
	struct tree *t = j->t;

	(void)st;
	pthread_mutex_lock(&t->lock);
	j->next = NULL;
	if (t->done_tail) {
		t->done_tail->next = j;
	} else {
		t->done_head = j;
	}
	t->done_tail = j;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void cb_progress(uint64_t increment, uint64_t transferred, uint64_t total,
			unsigned in_flight, void *userdata)
{
	struct job *j = userdata;

	(void)transferred;
	(void)total;
	(void)in_flight;
	atomic_fetch_add_explicit(&j->t->moved, increment, memory_order_relaxed);
}

static void progress_clear_locked(struct tree *t)
{
	if (t->drawn) {
		fputs("\r\033[K", stderr);
		t->drawn = 0;
	}
}

static void cb_log(const char *line, void *userdata)
{
	struct tree *t = userdata;

	pthread_mutex_lock(&t->term_lock);
	progress_clear_locked(t);
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&t->term_lock);
}

static void progress_draw(struct tree *t)
{
	char b[32];
	double el;
	uint64_t moved;

	if (!t->draw)
		return;
	el = now_s() - t->t0;
	moved = atomic_load_explicit(&t->moved, memory_order_relaxed);
	cli_format_bytes(b, sizeof(b), (double)moved);
	pthread_mutex_lock(&t->term_lock);
	fprintf(stderr, "\r\033[K%" PRIu64 " files sent of %" PRIu64 " seen, %s, %.1f MB/s, %u in flight",
		t->sent, t->seen, b, el > 0 ? (double)moved / el / 1e6 : 0.0, t->files_in_flight);
	fflush(stderr);
	t->drawn = 1;
	pthread_mutex_unlock(&t->term_lock);
}

static void note_failure(struct tree *t, const char *rel, const char *message)
{
	struct failure_note *n;

	t->failed++;
	pthread_mutex_lock(&t->term_lock);
	progress_clear_locked(t);
	fputs("hoist: ", stderr);
	cli_print_safe(stderr, rel);
	fputs(": ", stderr);
	cli_print_safe(stderr, message);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&t->term_lock);
	if (t->nnotes == MAX_FAILURES_KEPT)
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

/* --json: one line per file. */
static void json_file(const struct tree *t, const char *rel, const char *key, const char *action,
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
		if (st == HOIST_OK && r->crc64_valid) {
			json_object_set_new(o, "crc64", cli_json_u64(r->crc64));
		}
		if (st == HOIST_OK) {
			json_object_set_new(o, "etag", cli_json_str(r->etag));
			json_object_set_new(o, "parts", json_integer(r->parts));
			json_object_set_new(o, "seconds", json_real(r->seconds));
		} else {
			json_object_set_new(o, "message",
					    cli_json_str(r->message ? r->message : hoist_strerror(st)));
		}
	}
	cli_json_print(stdout, o);
}

static char *join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->rel);
	free(j->key);
	free(j->path);
	free(j->etag);
	free(j);
}

/* Main thread: a checked file to send after all. */
static void pending_push(struct tree *t, struct job *j)
{
	j->next = NULL;
	if (t->pending_tail) {
		t->pending_tail->next = j;
	} else {
		t->pending_head = j;
	}
	t->pending_tail = j;
}

/* A check ended (reap): a file with the same content is there already. */
static void checked(struct tree *t, struct job *j)
{
	t->files_in_flight--;
	if (j->same) {
		t->existing++;
		json_file(t, j->rel, j->key, "skipped", "exists", NULL, HOIST_OK);
	} else if (!t->fatal) {
		pending_push(t, j);
		return;
	}
	job_free(j);
}

static void cancel_running(struct tree *t);

/* Counts a failure that says the whole tree will fail (see
 * REFUSALS_TO_STOP) and stops the run when there were enough. */
static void note_refusal(struct tree *t, const struct hoist_result *r, hoist_status st)
{
	int shared = st == HOIST_E_AUTH || st == HOIST_E_TLS ||
		     (r->error_code && strcmp(r->error_code, "NoSuchBucket") == 0);

	if (!shared) {
		t->refusals = 0;
		return;
	}
	if (++t->refusals < REFUSALS_TO_STOP || t->sent || t->fatal)
		return;
	stop_run(t, st);
	cancel_running(t);
	pthread_mutex_lock(&t->term_lock);
	progress_clear_locked(t);
	fprintf(stderr, "hoist: stopping: %u files in a row were refused (%s) and none was sent\n",
		t->refusals, r->error_code && *r->error_code ? r->error_code : cli_status_name(st));
	pthread_mutex_unlock(&t->term_lock);
}

/* Reaps the uploads that ended (main thread). */
static void reap(struct tree *t)
{
	struct job *j, *next;

	pthread_mutex_lock(&t->lock);
	j = t->done_head;
	t->done_head = t->done_tail = NULL;
	pthread_mutex_unlock(&t->lock);
	for (; j; j = next) {
		struct hoist_result res = HOIST_RESULT_INIT;
		hoist_status st;

		next = j->next;
		if (j->check) {
			checked(t, j);
			continue;
		}
		st = hoist_upload_wait(j->u, &res);
		hoist_upload_free(j->u);
		if (j->prev_run) {
			j->prev_run->next_run = j->next_run;
		} else {
			t->running = j->next_run;
		}
		if (j->next_run) {
			j->next_run->prev_run = j->prev_run;
		}
		t->files_in_flight--;
		t->slots_used -= j->slots;
		if (st == HOIST_OK) {
			t->sent++;
			t->sent_bytes += res.bytes;
			t->refusals = 0;
			json_file(t, j->rel, j->key, "sent", NULL, &res, st);
		} else {
			json_file(t, j->rel, j->key, "failed", NULL, &res, st);
			note_failure(t, j->rel, res.message ? res.message : hoist_strerror(st));
			note_refusal(t, &res, st);
		}
		hoist_result_cleanup(&res);
		job_free(j);
	}
}

static void cancel_running(struct tree *t)
{
	struct job *j;

	for (j = t->running; j; j = j->next_run) {
		hoist_upload_cancel(j->u);
	}
}

/* Waits until an upload ends (or ~200 ms pass, for the progress line and
 * Ctrl-C), then reaps. */
static void wait_some(struct tree *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 200 * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&t->lock);
	while (!t->done_head && !tree_cancel) {
		if (pthread_cond_timedwait(&t->cond, &t->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&t->lock);
	if (tree_cancel && !t->fatal) {
		stop_run(t, HOIST_E_CANCELLED);
		cancel_running(t);
	}
	reap(t);
	if (t->draw && now_s() - t->last_draw >= 0.2) {
		t->last_draw = now_s();
		progress_draw(t);
	}
}

/* Request slots of a file: 1 for a single PutObject, else its parts up to
 * half the tree's width (see the file comment). */
static unsigned slots_for(const struct tree *t, uint64_t size)
{
	uint64_t ps = 0;
	unsigned nparts = 0, half = t->jobs / 2 ? t->jobs / 2 : 1;

	if (hoist_plan_parts(size, t->uo->part_size, t->dialect, &ps, &nparts) != HOIST_OK ||
	    nparts == 0)
		return 1;
	return nparts < half ? nparts : half;
}

static void start_file(struct tree *t, const char *rel, const char *key, uint64_t size)
{
	struct hoist_upload_options o = *t->uo;
	struct hoist_result res = HOIST_RESULT_INIT;
	struct job *j = calloc(1, sizeof(*j));
	char *path = NULL;
	hoist_status st;

	if (!j || !(j->rel = strdup(rel)) || !(j->key = strdup(key))) {
		note_failure(t, rel, "out of memory");
		job_free(j);
		return;
	}
	j->t = t;
	j->slots = slots_for(t, size);
	while (t->files_in_flight &&
	       (t->slots_used + j->slots > t->jobs || t->files_in_flight >= t->max_files)) {
		wait_some(t);
	}
	if (t->fatal) {
		job_free(j);
		return;
	}
	path = malloc(strlen(t->root) + strlen(rel) + 2);
	if (!path) {
		note_failure(t, rel, "out of memory");
		job_free(j);
		return;
	}
	memcpy(path, t->root, strlen(t->root));
	path[strlen(t->root)] = '/';
	memcpy(path + strlen(t->root) + 1, rel, strlen(rel) + 1);
	o.key = j->key;
	if (!o.content_type) {
		o.content_type = cli_guess_content_type(rel);
	}
	o.jobs = j->slots;
	o.progress = cb_progress;
	o.on_part = NULL;
	o.on_done = cb_done;
	o.userdata = j;
	st = hoist_upload_file_start(&j->u, t->engine, path, &o, &res);
	free(path);
	if (st != HOIST_OK) {
		json_file(t, rel, key, "failed", NULL, &res, st);
		note_failure(t, rel, res.message ? res.message : hoist_strerror(st));
		hoist_result_cleanup(&res);
		job_free(j);
		return;
	}
	j->next_run = t->running;
	if (t->running) {
		t->running->prev_run = j;
	}
	t->running = j;
	t->files_in_flight++;
	t->slots_used += j->slots;
	if (tree_cancel) {
		hoist_upload_cancel(j->u);
	}
}

/* ------------------------------------------------------ skip-existing */

/* The listed object whose key is key, or NULL; consumes the listing up to
 * it.  Both sides ascend in byte order, so nothing listed before key is
 * ever needed again.  A listing failure stops the run (fatal): without it
 * the rule cannot be kept. */
static const struct hoist_object_entry *listed_at(struct tree *t, const char *key)
{
	while (!t->listing_done) {
		int c;

		if (!t->listed) {
			struct hoist_result res = HOIST_RESULT_INIT;
			hoist_status st = hoist_object_lister_next(t->lister, &t->listed, &res);

			if (st != HOIST_OK) {
				pthread_mutex_lock(&t->term_lock);
				progress_clear_locked(t);
				pthread_mutex_unlock(&t->term_lock);
				fputs("hoist: --skip-existing could not list the prefix: ", stderr);
				cli_print_safe(stderr, res.message ? res.message : hoist_strerror(st));
				fputc('\n', stderr);
				hoist_result_cleanup(&res);
				stop_run(t, st);
				t->listing_done = 1;
				return NULL;
			}
			hoist_result_cleanup(&res);
			if (!t->listed) {
				t->listing_done = 1;
				break;
			}
		}
		if (t->listed->key_has_nul) {
			/* No path names a key with a NUL byte. */
			t->listed = NULL;
			continue;
		}
		c = strcmp(t->listed->key, key);
		if (c >= 0)
			return c == 0 ? t->listed : NULL;
		t->listed = NULL;
	}
	return NULL;
}

/* Reads path whole: its CRC64 (as OSS computes it) or MD5.  0 or -1. */
static int file_digest(const char *path, uint64_t *crc, unsigned char md5[16])
{
	EVP_MD_CTX *mc = NULL;
	unsigned char *buf = NULL;
	unsigned int ml = 0;
	int fd = -1, rc = -1;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	buf = malloc(1 << 20);
	if (fd < 0 || !buf)
		goto out;
	if (md5) {
		mc = EVP_MD_CTX_new();
		if (!mc || EVP_DigestInit_ex(mc, EVP_md5(), NULL) != 1)
			goto out;
	}
	*crc = 0;
	for (;;) {
		n = read(fd, buf, 1 << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (md5) {
			if (EVP_DigestUpdate(mc, buf, (size_t)n) != 1)
				goto out;
		} else {
			*crc = hoist_crc64(*crc, buf, (size_t)n);
		}
	}
	if (md5 && EVP_DigestFinal_ex(mc, md5, &ml) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(mc);
	free(buf);
	if (fd >= 0) {
		close(fd);
	}
	return rc;
}

/* The MD5 a plain S3 ETag ("<32 hex>") names, or -1 (a multipart "-N"
 * ETag, or none: nothing to compare with). */
static int etag_md5(unsigned char out[16], const char *etag)
{
	size_t n = strlen(etag), i;
	const char *h = etag;

	if (n == 34 && etag[0] == '"' && etag[33] == '"') {
		h = etag + 1;
	} else if (n != 32) {
		return -1;
	}
	for (i = 0; i < 16; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", h[2 * i]) ||
		    !strchr("0123456789abcdefABCDEF", h[2 * i + 1]))
			return -1;
		out[i] = (unsigned char)v;
	}
	return 0;
}

/* --checksum-compare: 1 when the object's checksum equals the file's. */
static int same_content(struct tree *t, const char *path, const char *key, const char *etag)
{
	unsigned char want[16], got[16];
	uint64_t crc = 0;

	if (t->dialect == HOIST_DIALECT_S3) {
		if (etag_md5(want, etag) < 0 || file_digest(path, &crc, got) < 0)
			return 0;
		return memcmp(want, got, 16) == 0;
	} else {
		struct hoist_result res = HOIST_RESULT_INIT;
		int same = 0;

		if (hoist_head_object(t->engine, t->bucket, key, &res) == HOIST_OK && res.crc64_valid &&
		    file_digest(path, &crc, NULL) == 0) {
			same = crc == res.crc64;
		}
		hoist_result_cleanup(&res);
		return same;
	}
}

/* A checker thread: takes checks off the queue until told to stop, and
 * hands each back through the done queue (as an upload's on_done does). */
static void *checker_main(void *arg)
{
	struct tree *t = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&t->lock);
		while (!t->check_head && !t->check_stop) {
			pthread_cond_wait(&t->check_cond, &t->lock);
		}
		j = t->check_head;
		if (j) {
			t->check_head = j->next;
			if (!t->check_head) {
				t->check_tail = NULL;
			}
		}
		pthread_mutex_unlock(&t->lock);
		if (!j)
			return NULL;
		/* Relaxed: a late answer is harmless, reap drops it. */
		j->same = !atomic_load_explicit(&t->abandon, memory_order_relaxed) &&
			  same_content(t, j->path, j->key, j->etag);
		cb_done(HOIST_OK, j);
	}
}

/* Starts the checkers, with the signals blocked as the engine's threads
 * are (Ctrl-C lands on the main thread).  0 or -1. */
static int checkers_start(struct tree *t)
{
	unsigned n = t->max_files < CHECKERS ? t->max_files : CHECKERS;

	while (t->ncheckers < n) {
		if (pthread_create(&t->checkers[t->ncheckers], NULL, checker_main, t) != 0)
			return t->ncheckers ? 0 : -1;
		t->ncheckers++;
	}
	return 0;
}

static void checkers_stop(struct tree *t)
{
	unsigned i;

	pthread_mutex_lock(&t->lock);
	t->check_stop = 1;
	pthread_cond_broadcast(&t->check_cond);
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < t->ncheckers; i++) {
		pthread_join(t->checkers[i], NULL);
	}
	t->ncheckers = 0;
}

/* Queues the content check of a file the listing holds with its size; it
 * counts as a file in flight. */
static void check_file(struct tree *t, const char *rel, const char *key, uint64_t size,
		       const char *etag)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->rel = strdup(rel)) || !(j->key = strdup(key)) ||
	    !(j->path = malloc(strlen(t->root) + strlen(rel) + 2)) || !(j->etag = strdup(etag))) {
		note_failure(t, rel, "out of memory");
		job_free(j);
		return;
	}
	memcpy(j->path, t->root, strlen(t->root));
	j->path[strlen(t->root)] = '/';
	memcpy(j->path + strlen(t->root) + 1, rel, strlen(rel) + 1);
	j->t = t;
	j->check = 1;
	j->size = size;
	while (t->files_in_flight >= t->max_files) {
		wait_some(t);
	}
	t->files_in_flight++;
	pthread_mutex_lock(&t->lock);
	if (t->check_tail) {
		t->check_tail->next = j;
	} else {
		t->check_head = j;
	}
	t->check_tail = j;
	pthread_cond_signal(&t->check_cond);
	pthread_mutex_unlock(&t->lock);
}

/* What --skip-existing says of a file: send it, it is there (1), or its
 * content is to be checked (2: queued). */
enum { SEND = 0, THERE = 1, CHECKING = 2 };

static int already_there(struct tree *t, const char *rel, const char *key, const struct stat *st)
{
	const struct hoist_object_entry *e = listed_at(t, key);

	if (!e || e->size != (uint64_t)st->st_size)
		return SEND;
	if (!t->opts->checksum_compare)
		return e->mtime != 0 && e->mtime >= (int64_t)st->st_mtime ? THERE : SEND;
	check_file(t, rel, key, e->size, e->etag);
	return CHECKING;
}

/* Main thread: sends the files whose check said so. */
static void drain_pending(struct tree *t)
{
	while (t->pending_head) {
		struct job *j = t->pending_head;

		t->pending_head = j->next;
		if (!t->pending_head) {
			t->pending_tail = NULL;
		}
		if (!t->fatal) {
			start_file(t, j->rel, j->key, j->size);
		}
		job_free(j);
	}
}

/* ---------------------------------------------------------------- run */

static void one_item(struct tree *t, const struct walk_item *it)
{
	char *key;

	if (it->kind == WALK_SKIP) {
		t->special++;
		json_file(t, it->rel, NULL, "skipped", it->why, NULL, HOIST_OK);
		if (t->common->verbose) {
			fputs("* skipped ", stderr);
			cli_print_safe(stderr, it->rel);
			fprintf(stderr, ": %s\n", it->why);
		}
		return;
	}
	if (it->kind == WALK_ERROR) {
		char m[256];

		snprintf(m, sizeof(m), "%s: %s", it->why, strerror(it->err));
		json_file(t, it->rel, NULL, "failed", m, NULL, HOIST_OK);
		note_failure(t, it->rel, m);
		return;
	}
	t->seen++;
	if (filtered_out(t->opts, it->rel)) {
		t->excluded++;
		json_file(t, it->rel, NULL, "skipped", "excluded", NULL, HOIST_OK);
		return;
	}
	if (t->owner) {
		size_t k = t->next_owner++;

		/* A file that appeared since the split went to no one: rank 0's. */
		if ((k < t->nowner ? t->owner[k] : 0) != t->opts->rank) {
			t->others++;
			return;
		}
	}
	key = join(t->prefix, it->rel);
	if (!key) {
		note_failure(t, it->rel, "out of memory");
		return;
	}
	switch (t->opts->skip_existing ? already_there(t, it->rel, key, &it->st) : SEND) {
	case THERE:
		t->existing++;
		json_file(t, it->rel, key, "skipped", "exists", NULL, HOIST_OK);
		break;
	case SEND:
		if (!t->fatal) {
			start_file(t, it->rel, key, (uint64_t)it->st.st_size);
		}
		break;
	default:
		break; /* a checker decides */
	}
	free(key);
}

static void summary(struct tree *t, int rc)
{
	double el = now_s() - t->t0;
	double mbs = el > 0 ? (double)t->sent_bytes / el / 1e6 : 0;
	double fps = el > 0 ? (double)t->sent / el : 0;
	char b[32];
	size_t i;

	if (t->common->json) {
		cli_json_print(stdout,
			       json_pack("{s:b,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:f,s:f}",
					 "summary", 1, "exit_code", rc, "files", cli_json_u64(t->seen),
					 "sent", cli_json_u64(t->sent), "bytes",
					 cli_json_u64(t->sent_bytes), "skipped",
					 cli_json_u64(t->existing + t->excluded + t->special),
					 "existing", cli_json_u64(t->existing), "excluded",
					 cli_json_u64(t->excluded), "special", cli_json_u64(t->special),
					 "failed", cli_json_u64(t->failed), "seconds", el, "mb_per_s",
					 mbs, "files_per_s", fps));
		fflush(stdout);
	} else if (!t->common->quiet) {
		cli_format_bytes(b, sizeof(b), (double)t->sent_bytes);
		fprintf(stdout,
			"sent %" PRIu64 " files (%s) in %.2f s: %.1f MB/s, %.0f files/s; skipped %" PRIu64
			" (%" PRIu64 " existing, %" PRIu64 " excluded, %" PRIu64
			" symlinks or special); failed %" PRIu64 "\n",
			t->sent, b, el, mbs, fps, t->existing + t->excluded + t->special, t->existing,
			t->excluded, t->special, t->failed);
		fflush(stdout);
	}
	if (t->failed) {
		for (i = 0; i < t->nnotes; i++) {
			fputs("hoist: failed: ", stderr);
			cli_print_safe(stderr, t->notes[i].rel);
			fputs(": ", stderr);
			cli_print_safe(stderr, t->notes[i].message);
			fputc('\n', stderr);
		}
		if (t->failed > t->nnotes) {
			fprintf(stderr, "hoist: ... and %" PRIu64 " more failures\n", t->failed - t->nnotes);
		}
	}
}

/* "DIR///" -> "DIR", "/" stays. */
static char *clean_root(const char *dir)
{
	size_t n = strlen(dir);
	char *r;

	while (n > 1 && dir[n - 1] == '/') {
		n--;
	}
	r = malloc(n + 1);
	if (r) {
		memcpy(r, dir, n);
		r[n] = '\0';
	}
	return r;
}

/* qsort has no context argument: the sizes being ordered, main thread only. */
static const uint64_t *split_sizes;

static int by_size_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (split_sizes[x] != split_sizes[y])
		return split_sizes[x] > split_sizes[y] ? -1 : 1;
	return x < y ? -1 : x > y; /* equal sizes: walk order, for determinism */
}

/* The split of a share: one walk with the filters, then each file, the
 * largest first, to the rank with the fewest bytes so far (ties: the
 * lowest rank).  Deterministic, so every rank computes the same split from
 * the same tree.  0, or -1 (out of memory, or the walk failed). */
static int split_tree(struct tree *t, const char *root)
{
	struct walk *w = NULL;
	struct walk_item it;
	uint64_t *size = NULL, *load = NULL;
	size_t *order = NULL, n = 0, cap = 0, i;
	unsigned r, nr = t->opts->nranks;
	int rc = -1;

	if (walk_new(&w, root, t->opts->follow_symlinks) != 0)
		goto out;
	for (walk_next(w, &it); it.kind != WALK_END; walk_next(w, &it)) {
		if (it.kind != WALK_FILE || filtered_out(t->opts, it.rel))
			continue;
		if (n == cap) {
			uint64_t *ns = realloc(size, (cap = cap ? cap * 2 : 1024) * sizeof(*ns));

			if (!ns)
				goto out;
			size = ns;
		}
		size[n++] = (uint64_t)it.st.st_size;
	}
	order = malloc((n ? n : 1) * sizeof(*order));
	t->owner = malloc((n ? n : 1) * sizeof(*t->owner));
	load = calloc(nr, sizeof(*load));
	if (!order || !t->owner || !load)
		goto out;
	for (i = 0; i < n; i++) {
		order[i] = i;
	}
	split_sizes = size;
	qsort(order, n, sizeof(*order), by_size_desc);
	for (i = 0; i < n; i++) {
		unsigned best = 0;

		for (r = 1; r < nr; r++) {
			if (load[r] < load[best])
				best = r;
		}
		t->owner[order[i]] = best;
		load[best] += size[order[i]];
	}
	t->nowner = n;
	rc = 0;
out:
	walk_free(w);
	free(size);
	free(order);
	free(load);
	return rc;
}

int cli_tree_upload(const struct cli_tree_opts *opts, const struct cli_common *common,
		    struct hoist_engine_options *eo, const struct hoist_upload_options *uo,
		    const char *dir, const struct cli_url *url)
{
	struct tree t;
	struct walk *w = NULL;
	struct walk_item it;
	struct hoist_result res = HOIST_RESULT_INIT;
	char *root = NULL;
	int rc = CLI_EXIT_TRANSFER;
	size_t kl = strlen(url->key), i;
	hoist_status st;

	memset(&t, 0, sizeof(t));
	pthread_mutex_init(&t.lock, NULL);
	pthread_cond_init(&t.cond, NULL);
	pthread_cond_init(&t.check_cond, NULL);
	pthread_mutex_init(&t.term_lock, NULL);
	t.opts = opts;
	t.common = common;
	t.uo = uo;
	t.dialect = url->dialect;
	t.bucket = url->bucket;
	t.jobs = uo->jobs ? uo->jobs : 64;
	t.max_files = opts->files ? opts->files : 256;
	t.prefix = join(url->key, kl && url->key[kl - 1] != '/' ? "/" : "");
	root = clean_root(dir);
	if (!t.prefix || !root) {
		fputs("hoist: out of memory\n", stderr);
		goto out;
	}
	t.root = root;
	if (opts->nranks > 1 && split_tree(&t, root) < 0) {
		fputs("hoist: cannot split the tree '", stderr);
		cli_print_safe(stderr, dir);
		fprintf(stderr, "' over the ranks: %s\n", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	if (walk_new(&w, root, opts->follow_symlinks) != 0) {
		fputs("hoist: cannot upload the tree '", stderr);
		cli_print_safe(stderr, dir);
		fprintf(stderr, "': %s\n", errno == ENOTDIR ? "it is not a directory" : strerror(errno));
		goto out;
	}
	if (common->verbose) {
		eo->log = cb_log;
		eo->log_userdata = &t;
	}
	/* As in cp.c: signals blocked while the engine starts its threads,
	 * so that they inherit the block and Ctrl-C lands on this thread. */
	cli_signals_catch(on_tree_signal, 0);
	st = hoist_engine_new(&t.engine, eo, &res);
	if (st == HOIST_OK && opts->checksum_compare && checkers_start(&t) < 0) {
		st = HOIST_E_NOMEM;
		res.message = NULL;
	}
	cli_signals_block(0);
	if (st != HOIST_OK) {
		cli_print_failure(&res, st);
		rc = cli_exit_code(st);
		goto out;
	}
	hoist_result_cleanup(&res);
	if (opts->skip_existing) {
		struct hoist_list_options lo = HOIST_LIST_OPTIONS_INIT;

		lo.bucket = url->bucket;
		lo.prefix = t.prefix;
		st = hoist_object_lister_new(&t.lister, t.engine, &lo, &res);
		if (st != HOIST_OK) {
			cli_print_failure(&res, st);
			rc = cli_exit_code(st);
			goto out;
		}
	}
	t.draw = !common->quiet && !common->json && isatty(STDERR_FILENO);
	t.t0 = now_s();
	for (;;) {
		walk_next(w, &it);
		if (it.kind == WALK_END)
			break;
		one_item(&t, &it);
		if (tree_cancel && !t.fatal) {
			stop_run(&t, HOIST_E_CANCELLED);
			cancel_running(&t);
		}
		if (t.fatal)
			break;
		reap(&t);
		drain_pending(&t);
	}
	while (t.files_in_flight || t.pending_head) {
		if (t.pending_head) {
			drain_pending(&t);
		} else {
			wait_some(&t);
		}
	}
	pthread_mutex_lock(&t.term_lock);
	progress_clear_locked(&t);
	pthread_mutex_unlock(&t.term_lock);
	if (t.fatal) {
		rc = t.fatal_status == HOIST_E_CANCELLED ? CLI_EXIT_CANCELLED : cli_exit_code(t.fatal_status);
	} else {
		rc = t.failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
	}
	if (opts->totals) {
		struct cli_tree_totals *o = opts->totals;

		o->seen = t.seen;
		o->sent = t.sent;
		o->sent_bytes = t.sent_bytes;
		o->existing = t.existing;
		o->excluded = t.excluded;
		o->special = t.special;
		o->failed = t.failed;
		o->others = t.others;
		o->seconds = now_s() - t.t0;
		o->rc = rc;
	} else {
		summary(&t, rc);
	}
	if (rc == CLI_EXIT_CANCELLED) {
		fputs("hoist: cancelled; files not reported sent were not copied (rerun with --skip-existing)\n",
		      stderr);
	} else if (rc == CLI_EXIT_SOME_FAILED) {
		if (t.sent) {
			fprintf(stderr, "hoist: %" PRIu64 " of %" PRIu64 " files failed; the others were copied\n",
				t.failed, t.failed + t.sent);
		} else {
			fprintf(stderr, "hoist: %" PRIu64 " files failed, none was copied\n", t.failed);
		}
	} else if (t.fatal && t.refusals >= REFUSALS_TO_STOP) {
		fprintf(stderr, "hoist: the tree upload stopped after %" PRIu64 " refused files; fix the cause and rerun\n",
			t.failed);
	} else if (t.fatal) {
		fputs("hoist: the tree upload stopped: the listing it needs failed\n", stderr);
	}
out:
	checkers_stop(&t);
	hoist_object_lister_free(t.lister);
	hoist_engine_free(t.engine);
	hoist_result_cleanup(&res);
	walk_free(w);
	for (i = 0; i < t.nnotes; i++) {
		free(t.notes[i].rel);
		free(t.notes[i].message);
	}
	free(t.prefix);
	free(t.owner);
	free(root);
	pthread_cond_destroy(&t.cond);
	pthread_cond_destroy(&t.check_cond);
	pthread_mutex_destroy(&t.lock);
	pthread_mutex_destroy(&t.term_lock);
	return rc;
}
