/*
 * engine/mpi/main.c - hoist-mpi: one multipart upload spread over the ranks
 * of an MPI job (mpirun -np N hoist-mpi cp FILE oss://BUCKET/KEY).
 *
 * A driver of the library's shares (hoist.h, "Shares"): rank 0 plans the
 * file (hoist_plan_parts), finds the upload an earlier run of the same job
 * left (unless --no-resume) or initiates one, and broadcasts its id and
 * part size; every rank uploads a contiguous slice of the parts on an
 * engine of its own; the slices' parts are gathered to rank 0, which
 * completes with the whole list and checks the object's CRC64 against
 * them combined, as a single process does.  A failing rank tells the
 * others (a message each rank polls for while its slice runs), so the job
 * fails as a whole in bounded time and no rank hangs in a collective.
 * A tree (cp -r): every rank walks it and sends the files the by-bytes
 * split gives it (tree.c computes the same split on every rank, so no
 * list travels); the counts are summed to rank 0, which prints the
 * summary.
 *
 * The shared CLI code (options, JSON, exit codes) is engine/cli's; this
 * file is a client of hoist.h and cli.h only.
 * Threading: MPI is called from the main thread only (MPI_THREAD_FUNNELED);
 * a helper thread waits for the upload so that the main thread can poll.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "cli.h"

#define TAG_FAIL 71
#define TAG_PROGRESS 72
#define ETAG_MAX 128
#define ID_MAX 512

/* One part's result, as it travels to rank 0 (MPI_BYTE). */
struct wire_part {
	uint32_t number;
	int32_t crc_valid;
	uint64_t size;
	uint64_t crc;
	char etag[ETAG_MAX];
};

/* Each rank's figures, gathered for the summary. */
struct wire_rank {
	int32_t status;
	uint32_t parts;
	uint32_t resumed;
	uint32_t retries;
	uint64_t bytes;
	uint64_t bytes_sent;
	double seconds;
	char message[256];
};

/* What rank 0 broadcasts before the shares start. */
struct wire_plan {
	int32_t status;            /* HOIST_OK, or why the job cannot start */
	uint32_t nparts;
	uint64_t part_size;
	uint64_t size;
	char upload_id[ID_MAX];
	char message[256];
};

struct args {
	struct cli_common common;
	struct cli_tree_opts tree;
	struct cli_url url;
	const char *file;
	uint64_t part_size;
	unsigned jobs;
	int fixed_jobs;
	int no_resume;
	enum hoist_checksum checksum;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static const char help[] =
	"Usage: mpirun -np N hoist-mpi cp FILE oss://BUCKET/KEY [options]\n"
	"       mpirun -np N hoist-mpi cp FILE s3://BUCKET/KEY [options]\n"
	"       mpirun -np N hoist-mpi cp -r DIR oss://BUCKET/PREFIX/ [options]\n"
	"\n"
	"Uploads FILE (on a filesystem every rank sees) as one multipart upload\n"
	"whose parts are split over the ranks in contiguous slices; rank 0\n"
	"completes it and checks the object's CRC64 against the parts'.\n"
	"Rerunning the same job after a failure resumes the upload: each rank\n"
	"keeps the parts the server holds whose bytes, hashed again, match.\n"
	"With -r, the files of DIR are split over the ranks by bytes (largest\n"
	"first, each to the least loaded rank); rank 0 prints the summed\n"
	"summary.  The tree options of hoist cp -r apply (--include, --exclude,\n"
	"--skip-existing, --checksum-compare, --follow-symlinks, --files).\n"
	"\n"
	"Options (as for hoist cp):\n"
	"  --part-size SIZE   part size (default: as hoist cp plans it)\n"
	"  --jobs N           parts in flight per rank, at most (default 64)\n"
	"  --fixed-jobs       always keep --jobs parts in flight per rank\n"
	"  --checksum MODE    both (default), crc64, md5 or none\n"
	"  --no-resume        abort the upload when the job fails\n"
	"and the shared options of hoist (see 'hoist cp --help'): --endpoint,\n"
	"--region, --cacert, --insecure, --retries, --threads, --json,\n"
	"--verbose, --quiet ...\n"
	"\n"
	"Exit codes are hoist's (0 stored and verified, 2 usage, 3 transfer,\n"
	"4 checksum, 6 source changed, 130 cancelled); every rank exits with\n"
	"the job's code.\n";

enum { OPT_PART_SIZE = OPT_COMMON_END_, OPT_JOBS, OPT_FIXED_JOBS, OPT_CHECKSUM, OPT_NO_RESUME };

static const struct option extra_options[] = {
	{ "part-size", required_argument, NULL, OPT_PART_SIZE },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "fixed-jobs", no_argument, NULL, OPT_FIXED_JOBS },
	{ "checksum", required_argument, NULL, OPT_CHECKSUM },
	{ "no-resume", no_argument, NULL, OPT_NO_RESUME },
	{ NULL, 0, NULL, 0 }
};

static int parse_checksum(enum hoist_checksum *out, const char *a)
{
	static const struct {
		const char *name;
		enum hoist_checksum mode;
	} modes[] = { { "both", HOIST_CHECKSUM_BOTH }, { "crc64", HOIST_CHECKSUM_CRC64 },
		      { "md5", HOIST_CHECKSUM_MD5 }, { "none", HOIST_CHECKSUM_NONE } };
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(a, modes[i].name) == 0) {
			*out = modes[i].mode;
			return 0;
		}
	}
	return -1;
}

/* Returns 0, 1 after --help, or -1 after a usage line. */
static int parse_args(struct args *a, int argc, char **argv)
{
	struct option *opts = cli_tree_options_merge(extra_options);
	unsigned long n;
	int id, rc = -1;

	if (!opts)
		return -1;
	if (argc < 2 || strcmp(argv[1], "cp") != 0) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			fputs(help, stdout);
			rc = 1;
		} else {
			fputs("hoist-mpi: usage: mpirun -np N hoist-mpi cp FILE URL [options]\n",
			      stderr);
		}
		goto out;
	}
	argc--;
	argv++;
	a->tree.filters = calloc((size_t)argc + 1, sizeof(*a->tree.filters));
	if (!a->tree.filters)
		goto out;
	opterr = 0;
	optind = 1;
	while ((id = getopt_long(argc, argv, "r", opts, NULL)) != -1) {
		int applied = cli_common_apply(&a->common, "cp", id, optarg);

		if (applied < 0)
			goto out;
		if (applied)
			continue;
		applied = cli_tree_apply(&a->tree, id, optarg);
		if (applied < 0)
			goto out;
		if (applied)
			continue;
		switch (id) {
		case OPT_HELP:
			fputs(help, stdout);
			rc = 1;
			goto out;
		case OPT_PART_SIZE:
			if (cli_parse_size(&a->part_size, optarg) < 0) {
				cli_usage_error("cp", "--part-size '%s': expected a size such as 8M",
						optarg);
				goto out;
			}
			break;
		case OPT_JOBS:
			if (cli_parse_uint(&n, optarg, 1, 4096) < 0) {
				cli_usage_error("cp", "--jobs '%s': expected 1 to 4096", optarg);
				goto out;
			}
			a->jobs = (unsigned)n;
			break;
		case OPT_FIXED_JOBS:
			a->fixed_jobs = 1;
			break;
		case OPT_CHECKSUM:
			if (parse_checksum(&a->checksum, optarg) < 0) {
				cli_usage_error("cp", "--checksum '%s': expected both, crc64, md5 or none",
						optarg);
				goto out;
			}
			break;
		case OPT_NO_RESUME:
			a->no_resume = 1;
			break;
		default:
			cli_getopt_error("cp", id, optopt, argv, optind);
			goto out;
		}
	}
	if (argc - optind != 2) {
		cli_usage_error("cp", "expected FILE and oss://BUCKET/KEY");
		goto out;
	}
	a->file = argv[optind];
	if (cli_url_parse(&a->url, argv[optind + 1]) < 0)
		goto out;
	if (!*a->url.key && !a->tree.recursive) {
		cli_usage_error("cp", "the URL needs a key: oss://BUCKET/KEY");
		goto out;
	}
	if (a->tree.any && !a->tree.recursive) {
		cli_usage_error("cp", "tree options need -r");
		goto out;
	}
	rc = 0;
out:
	free(opts);
	return rc;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hoist-mpi: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int g_rank;

static void on_log(const char *line, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "hoist-mpi[%d]: %s\n", g_rank, line);
}

/* ---------------------------------------------------------------- rank 0 */

/* The upload an earlier run of this job left for this key (the newest), or
 * a new one.  Fills p (status and message on failure). */
static void find_or_initiate(struct hoist_engine *e, const struct args *a,
			     const struct hoist_upload_options *uo, struct wire_plan *p)
{
	struct hoist_result r = HOIST_RESULT_INIT;
	struct hoist_upload_list *l = NULL;
	const char *best = NULL, *best_at = "";
	hoist_status st;
	size_t i;

	if (!a->no_resume &&
	    hoist_list_uploads(e, a->url.bucket, a->url.key, &l, NULL) == HOIST_OK) {
		for (i = 0; i < hoist_upload_list_count(l); i++) {
			const struct hoist_upload_entry *u = hoist_upload_list_get(l, i);

			if (strcmp(u->key, a->url.key) == 0 && u->initiated &&
			    strcmp(u->initiated, best_at) >= 0) {
				best = u->upload_id;
				best_at = u->initiated;
			}
		}
	}
	if (best && strlen(best) < sizeof(p->upload_id)) {
		snprintf(p->upload_id, sizeof(p->upload_id), "%s", best);
		if (a->common.verbose) {
			say("resuming upload %s", best);
		}
		p->status = HOIST_OK;
		goto out;
	}
	st = hoist_initiate_upload(e, uo, &r);
	p->status = st;
	if (st == HOIST_OK && r.upload_id && strlen(r.upload_id) < sizeof(p->upload_id)) {
		snprintf(p->upload_id, sizeof(p->upload_id), "%s", r.upload_id);
	} else {
		p->status = st == HOIST_OK ? HOIST_E_SERVER : st;
		snprintf(p->message, sizeof(p->message), "%s",
			 r.message ? r.message : "InitiateMultipartUpload failed");
	}
out:
	hoist_upload_list_free(l);
	hoist_result_cleanup(&r);
}

/* ------------------------------------------------------ the job's progress
 *
 * One bar for the job, on rank 0: every other rank sends its bytes done
 * about four times a second (one message in flight at most) and a final
 * message when its share ends; rank 0 sums them with its own and waits for
 * every final before the gathers, so that no progress message is left
 * unreceived. */

struct job_progress {
	struct cli_progress *bar;  /* rank 0 on a terminal; NULL elsewhere */
	int lines;                 /* rank 0, stderr not a terminal (mpirun's
	                              pipes): a line every few seconds */
	double t0, last_line;
	uint64_t total;
	int rank, size;
	uint64_t *done;            /* rank 0: the last bytes done of each rank */
	int nfinal;                /* rank 0: finals received */
	uint64_t msg[2];           /* others: the message in flight */
	MPI_Request req;
	double last_send;
};

static _Atomic uint64_t my_done;

static void on_progress(uint64_t increment, uint64_t transferred, uint64_t total,
			unsigned in_flight, void *userdata)
{
	(void)increment;
	(void)total;
	(void)in_flight;
	(void)userdata;
	atomic_store(&my_done, transferred);
}

static double now_s(void);

/* Rank 0: takes what has come in and redraws.  Others: sends bytes done
 * when the last message has gone and a quarter second has passed. */
static void progress_pump(struct job_progress *jp)
{
	if (jp->rank == 0) {
		uint64_t sum = atomic_load(&my_done);
		int flag = 1, i;

		while (flag) {
			MPI_Status stt;
			uint64_t m[2];

			MPI_Iprobe(MPI_ANY_SOURCE, TAG_PROGRESS, MPI_COMM_WORLD, &flag, &stt);
			if (!flag)
				break;
			MPI_Recv(m, 2, MPI_UINT64_T, stt.MPI_SOURCE, TAG_PROGRESS, MPI_COMM_WORLD,
				 MPI_STATUS_IGNORE);
			if (jp->done) {
				jp->done[stt.MPI_SOURCE] = m[0];
			}
			jp->nfinal += m[1] != 0;
		}
		for (i = 1; jp->done && i < jp->size; i++) {
			sum += jp->done[i];
		}
		if (sum > jp->total) {
			sum = jp->total;
		}
		if (jp->bar) {
			cli_progress_update(0, sum, jp->total, 0, jp->bar);
		} else if (jp->lines && now_s() - jp->last_line >= 3) {
			char d[32], t[32];
			double el = now_s() - jp->t0;

			jp->last_line = now_s();
			cli_format_bytes(d, sizeof(d), (double)sum);
			cli_format_bytes(t, sizeof(t), (double)jp->total);
			fprintf(stderr, "hoist-mpi: %3u%% %s of %s, %.0f MB/s over %d ranks\n",
				jp->total ? (unsigned)(sum * 100 / jp->total) : 100, d, t,
				el > 0 ? (double)sum / el / 1e6 : 0, jp->size);
		}
		return;
	}
	if (jp->req != MPI_REQUEST_NULL) {
		int flag = 0;

		MPI_Test(&jp->req, &flag, MPI_STATUS_IGNORE);
		if (!flag)
			return;
	}
	if (now_s() - jp->last_send < 0.25)
		return;
	jp->last_send = now_s();
	jp->msg[0] = atomic_load(&my_done);
	jp->msg[1] = 0;
	MPI_Isend(jp->msg, 2, MPI_UINT64_T, 0, TAG_PROGRESS, MPI_COMM_WORLD, &jp->req);
}

/* The end of this rank's share: others send their final message; rank 0
 * waits for every final (a rank that dies ends the job through mpirun). */
static void progress_end(struct job_progress *jp, int ok)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	if (jp->rank != 0) {
		if (jp->req != MPI_REQUEST_NULL) {
			MPI_Wait(&jp->req, MPI_STATUS_IGNORE);
		}
		jp->msg[0] = atomic_load(&my_done);
		jp->msg[1] = 1;
		MPI_Send(jp->msg, 2, MPI_UINT64_T, 0, TAG_PROGRESS, MPI_COMM_WORLD);
		return;
	}
	while (jp->nfinal < jp->size - 1) {
		progress_pump(jp);
		if (jp->nfinal < jp->size - 1) {
			nanosleep(&ts, NULL);
		}
	}
	if (jp->bar) {
		cli_progress_finish(jp->bar, ok);
	}
}

/* --------------------------------------------------------------- a share */

struct waiter {
	struct hoist_upload *u;
	struct hoist_result *res;
	hoist_status st;
	atomic_int done;
};

static void *wait_thread(void *p)
{
	struct waiter *w = p;

	w->st = hoist_upload_wait(w->u, w->res);
	atomic_store(&w->done, 1);
	return NULL;
}

static void tell_others(int rank, int size)
{
	int one = 1, r;

	for (r = 0; r < size; r++) {
		if (r != rank) {
			MPI_Request req;

			MPI_Isend(&one, 1, MPI_INT, r, TAG_FAIL, MPI_COMM_WORLD, &req);
			MPI_Request_free(&req);
		}
	}
}

/* Runs this rank's share to its end; cancels it when another rank failed
 * or a signal came.  *parts gets its parts on success. */
static hoist_status run_share(struct hoist_engine *e, const struct args *a,
			      struct hoist_upload_options *uo, struct hoist_result *res,
			      struct hoist_part_list **parts, int rank, int size,
			      MPI_Request *fail_req, int *told, struct job_progress *jp)
{
	struct waiter w = { .res = res };
	pthread_t th;
	int flag = 0, cancelled = 0;
	hoist_status st;

	st = hoist_upload_file_start(&w.u, e, a->file, uo, res);
	if (st != HOIST_OK)
		return st;
	if (pthread_create(&th, NULL, wait_thread, &w) != 0) {
		hoist_upload_cancel(w.u);
		st = hoist_upload_wait(w.u, res);
		hoist_upload_free(w.u);
		return st == HOIST_OK ? HOIST_E_INTERNAL : st;
	}
	while (!atomic_load(&w.done)) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (!cancelled && !flag) {
			MPI_Test(fail_req, &flag, MPI_STATUS_IGNORE);
		}
		if (!cancelled && (flag || interrupted)) {
			hoist_upload_cancel(w.u);
			cancelled = 1;
		}
		progress_pump(jp);
		nanosleep(&ts, NULL);
	}
	pthread_join(th, NULL);
	st = w.st;
	if (st == HOIST_OK) {
		st = hoist_upload_parts(w.u, parts);
	} else if (!flag && !*told) {
		tell_others(rank, size);
		*told = 1;
	}
	hoist_upload_free(w.u);
	return st;
}

/* ------------------------------------------------------------ gathering */

static struct wire_part *pack_parts(const struct hoist_part_list *l, int *n)
{
	size_t i, count = hoist_part_list_count(l);
	struct wire_part *w = calloc(count ? count : 1, sizeof(*w));

	*n = 0;
	if (!w)
		return NULL;
	for (i = 0; i < count; i++) {
		const struct hoist_part_entry *p = hoist_part_list_get(l, i);

		w[i].number = p->part_number;
		w[i].size = p->size;
		w[i].crc = p->crc64;
		w[i].crc_valid = p->crc64_valid;
		snprintf(w[i].etag, sizeof(w[i].etag), "%s", p->etag ? p->etag : "");
	}
	*n = (int)count;
	return w;
}

/* Rank 0: every rank's parts into one list (NULL on OOM). */
static struct hoist_part_list *gather_parts(const struct wire_part *mine, int n, int rank,
					    int size, struct wire_part **all_out)
{
	int *counts = NULL, *displs = NULL, total = 0, i;
	struct wire_part *all = NULL;
	struct hoist_part_list *l = NULL;
	int bytes = n * (int)sizeof(*mine);

	if (rank == 0) {
		counts = calloc((size_t)size, sizeof(int));
		displs = calloc((size_t)size, sizeof(int));
	}
	MPI_Gather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rank == 0 && counts && displs) {
		for (i = 0; i < size; i++) {
			displs[i] = total;
			total += counts[i];
		}
		all = malloc(total ? (size_t)total : 1);
	}
	MPI_Gatherv(mine, bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
	if (rank == 0 && all) {
		l = hoist_part_list_new();
		for (i = 0; l && i < total / (int)sizeof(*all); i++) {
			if (hoist_part_list_add(l, all[i].number, all[i].size, all[i].etag, all[i].crc,
						all[i].crc_valid) != HOIST_OK) {
				hoist_part_list_free(l);
				l = NULL;
			}
		}
	}
	free(counts);
	free(displs);
	*all_out = all;
	return l;
}

/* ---------------------------------------------------------------- output */

static void print_summary(const struct args *a, const struct hoist_result *r,
			  const struct wire_rank *ranks, int size, double seconds)
{
	uint64_t sent = 0;
	unsigned resumed = 0, retries = 0;
	int i;

	for (i = 0; i < size; i++) {
		sent += ranks[i].bytes_sent;
		resumed += ranks[i].resumed;
		retries += ranks[i].retries;
	}
	if (a->common.json) {
		struct hoist_result c = *r;
		json_t *o, *arr = json_array();

		c.bytes_sent = sent;
		c.resumed_parts = resumed;
		c.retries = retries;
		c.seconds = seconds;
		o = cli_result_json(&c, 0, NULL, 0);
		for (i = 0; arr && i < size; i++) {
			json_array_append_new(
				arr, json_pack("{s:i,s:s,s:i,s:o,s:o,s:i,s:f}", "rank", i, "status",
					       cli_status_name((hoist_status)ranks[i].status), "parts",
					       (int)ranks[i].parts, "bytes", cli_json_u64(ranks[i].bytes),
					       "bytes_sent", cli_json_u64(ranks[i].bytes_sent),
					       "resumed_parts", (int)ranks[i].resumed, "seconds",
					       ranks[i].seconds));
		}
		if (o) {
			json_object_set_new(o, "ranks", arr ? arr : json_null());
			json_object_set_new(o, "nranks", json_integer(size));
		} else {
			json_decref(arr);
		}
		cli_json_print(stdout, o);
	} else if (!a->common.quiet && r->status == HOIST_OK) {
		struct hoist_result c = *r;

		c.seconds = seconds;
		cli_print_result(stdout, &c);
		printf("ranks: %d, parts kept from an earlier run: %u\n", size, resumed);
	}
}

/* ------------------------------------------------------------------ trees */

/* The job's exit code from every rank's: the most serious first. */
static int worst_code(const int *codes, int n)
{
	static const int order[] = { CLI_EXIT_CANCELLED, CLI_EXIT_USAGE, CLI_EXIT_TRANSFER,
				     CLI_EXIT_CHECKSUM, CLI_EXIT_SOURCE_CHANGED, CLI_EXIT_CALLBACK,
				     CLI_EXIT_SOME_FAILED };
	size_t k;
	int i;

	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		for (i = 0; i < n; i++) {
			if (codes[i] == order[k])
				return codes[i];
		}
	}
	for (i = 0; i < n; i++) {
		if (codes[i] != 0)
			return codes[i];
	}
	return CLI_EXIT_OK;
}

/* cp -r over the ranks: each sends its share; rank 0 sums and prints. */
static int run_tree(struct args *a, struct hoist_engine_options *eo,
		    struct hoist_upload_options *uo, int rank, int size)
{
	struct cli_tree_totals me, *all = NULL;
	int *codes = NULL, rc, i;

	memset(&me, 0, sizeof(me));
	a->tree.rank = (unsigned)rank;
	a->tree.nranks = (unsigned)size;
	a->tree.totals = &me;
	me.rc = cli_tree_upload(&a->tree, &a->common, eo, uo, a->file, &a->url);
	if (rank == 0) {
		all = calloc((size_t)size, sizeof(*all));
		codes = calloc((size_t)size, sizeof(*codes));
	}
	MPI_Gather(&me, sizeof(me), MPI_BYTE, all, sizeof(me), MPI_BYTE, 0, MPI_COMM_WORLD);
	rc = me.rc;
	if (rank == 0 && all && codes) {
		struct cli_tree_totals sum = all[0]; /* seen, excluded, special: every rank's walk */
		json_t *arr = a->common.json ? json_array() : NULL;

		sum.sent = sum.sent_bytes = sum.existing = sum.failed = 0;
		for (i = 0; i < size; i++) {
			sum.sent += all[i].sent;
			sum.sent_bytes += all[i].sent_bytes;
			sum.existing += all[i].existing;
			sum.failed += all[i].failed;
			if (all[i].seconds > sum.seconds)
				sum.seconds = all[i].seconds;
			codes[i] = all[i].rc;
			if (arr) {
				json_array_append_new(arr, json_pack("{s:i,s:o,s:o,s:o,s:i}", "rank", i,
								     "sent", cli_json_u64(all[i].sent),
								     "bytes", cli_json_u64(all[i].sent_bytes),
								     "failed", cli_json_u64(all[i].failed),
								     "exit_code", all[i].rc));
			}
		}
		rc = worst_code(codes, size);
		if (a->common.json) {
			double el = sum.seconds > 0 ? sum.seconds : 1e-9;

			cli_json_print(stdout,
				       json_pack("{s:b,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:f,s:f,s:f,s:i,s:o}",
						 "summary", 1, "exit_code", rc, "files",
						 cli_json_u64(sum.seen), "sent", cli_json_u64(sum.sent),
						 "bytes", cli_json_u64(sum.sent_bytes), "existing",
						 cli_json_u64(sum.existing), "excluded",
						 cli_json_u64(sum.excluded), "failed",
						 cli_json_u64(sum.failed), "seconds", sum.seconds,
						 "mb_per_s", (double)sum.sent_bytes / el / 1e6,
						 "files_per_s", (double)sum.sent / el, "nranks", size,
						 "ranks", arr ? arr : json_null()));
		} else if (!a->common.quiet) {
			char b[32];

			cli_format_bytes(b, sizeof(b), (double)sum.sent_bytes);
			printf("sent %" PRIu64 " files (%s) in %.2f s over %d ranks; skipped %" PRIu64
			       " (%" PRIu64 " existing, %" PRIu64 " excluded, %" PRIu64
			       " symlinks or special); failed %" PRIu64 "\n",
			       sum.sent, b, sum.seconds, size,
			       sum.existing + sum.excluded + sum.special, sum.existing, sum.excluded,
			       sum.special, sum.failed);
		}
	}
	MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
	free(all);
	free(codes);
	return rc;
}

/* ------------------------------------------------------------------ main */

static void slice_of(unsigned nparts, int rank, int size, unsigned *first, unsigned *count)
{
	unsigned base = nparts / (unsigned)size, extra = nparts % (unsigned)size;
	unsigned r = (unsigned)rank;

	*count = base + (r < extra);
	*first = r * base + (r < extra ? r : extra) + 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct args a = { .checksum = HOIST_CHECKSUM_BOTH };
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options uo = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_result er = HOIST_RESULT_INIT, res = HOIST_RESULT_INIT;
	struct hoist_result fin = HOIST_RESULT_INIT;
	struct hoist_engine *e = NULL;
	struct hoist_part_list *mine = NULL, *all = NULL;
	struct wire_part *packed = NULL, *gathered = NULL;
	struct wire_rank me, *ranks = NULL;
	struct wire_plan plan;
	struct job_progress jp;
	MPI_Request fail_req = MPI_REQUEST_NULL;
	hoist_status st = HOIST_OK, worst;
	int rank, size, provided, parsed, nmine = 0, told = 0, i, rc, fail_msg = 0;
	unsigned first = 0, count = 0;
	double t0;

	MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	g_rank = rank;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	t0 = now_s();
	memset(&me, 0, sizeof(me));
	memset(&plan, 0, sizeof(plan));
	memset(&jp, 0, sizeof(jp));

	parsed = parse_args(&a, argc, argv);
	if (parsed != 0) {
		rc = parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto finalize;
	}
	if (cli_engine_options(&eo, &a.common, &a.url, "cp") < 0) {
		rc = CLI_EXIT_USAGE;
		goto finalize;
	}
	if (a.common.verbose) {
		eo.log = on_log;
	}
	uo.bucket = a.url.bucket;
	uo.jobs = a.jobs;
	uo.checksum = a.checksum;
	uo.no_resume = a.no_resume;
	uo.concurrency = a.fixed_jobs ? HOIST_CONCURRENCY_FIXED : HOIST_CONCURRENCY_ADAPTIVE;
	if (a.tree.recursive) {
		uo.part_size = a.part_size;
		rc = run_tree(&a, &eo, &uo, rank, size);
		goto finalize;
	}
	if (hoist_engine_new(&e, &eo, &er) != HOIST_OK) {
		if (rank == 0) {
			cli_print_failure(&er, er.status);
		}
		rc = cli_exit_code(er.status);
		goto finalize;
	}
	uo.key = a.url.key;
	uo.part_size = a.part_size;
	uo.no_resume = 0; /* shares never journal; --no-resume is the driver's */

	/* Rank 0 plans and finds or makes the upload; everyone learns it. */
	if (rank == 0) {
		struct stat sb;

		if (stat(a.file, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			plan.status = HOIST_E_IO;
			snprintf(plan.message, sizeof(plan.message), "%s: %s", a.file,
				 errno ? strerror(errno) : "not a regular file");
		} else if ((st = hoist_plan_parts((uint64_t)sb.st_size, a.part_size,
						  a.url.dialect, &plan.part_size,
						  &plan.nparts)) != HOIST_OK) {
			plan.status = st;
			snprintf(plan.message, sizeof(plan.message), "%s: cannot plan its parts",
				 a.file);
		} else {
			plan.size = (uint64_t)sb.st_size;
			if (plan.nparts > 0) {
				uo.part_size = plan.part_size;
				find_or_initiate(e, &a, &uo, &plan);
			}
		}
	}
	MPI_Bcast(&plan, sizeof(plan), MPI_BYTE, 0, MPI_COMM_WORLD);
	if (plan.status != HOIST_OK) {
		if (rank == 0) {
			fprintf(stderr, "hoist: %s\n", plan.message);
		}
		rc = cli_exit_code((hoist_status)plan.status);
		goto finalize;
	}
	if (plan.nparts == 0) {
		/* One part: nothing to split; rank 0 uploads it alone. */
		if (rank == 0) {
			st = hoist_upload_file(e, a.file, &uo, &fin);
			if (a.common.json) {
				cli_print_result_json(stdout, &fin, 0, NULL, 0);
			} else if (st == HOIST_OK && !a.common.quiet) {
				cli_print_result(stdout, &fin);
			} else if (st != HOIST_OK) {
				cli_print_failure(&fin, st);
			}
		}
		MPI_Bcast(&st, sizeof(st), MPI_BYTE, 0, MPI_COMM_WORLD);
		rc = cli_exit_code(st);
		goto finalize;
	}

	/* Every rank: its slice. */
	MPI_Irecv(&fail_msg, 1, MPI_INT, MPI_ANY_SOURCE, TAG_FAIL, MPI_COMM_WORLD, &fail_req);
	slice_of(plan.nparts, rank, size, &first, &count);
	uo.part_size = plan.part_size;
	uo.upload_id = plan.upload_id;
	uo.first_part = first;
	uo.part_count = count;
	jp.total = plan.size;
	jp.rank = rank;
	jp.size = size;
	jp.req = MPI_REQUEST_NULL;
	if (rank == 0) {
		jp.done = calloc((size_t)size, sizeof(*jp.done));
		if (!a.common.quiet && !a.common.json) {
			if (isatty(STDERR_FILENO)) {
				jp.bar = cli_progress_new(1);
			} else {
				jp.lines = 1;
			}
		}
		jp.t0 = jp.last_line = now_s();
	}
	uo.progress = on_progress;
	if (count > 0) {
		st = run_share(e, &a, &uo, &res, &mine, rank, size, &fail_req, &told, &jp);
	}
	progress_end(&jp, st == HOIST_OK);
	me.status = st;
	me.parts = count;
	me.bytes = res.bytes;
	me.bytes_sent = res.bytes_sent;
	me.resumed = res.resumed_parts;
	me.retries = res.retries;
	me.seconds = res.seconds;
	if (st != HOIST_OK) {
		snprintf(me.message, sizeof(me.message), "%s",
			 res.message ? res.message : hoist_strerror(st));
	}

	/* Everyone reaches the gathers, failed or not: nobody hangs. */
	if (rank == 0) {
		ranks = calloc((size_t)size, sizeof(*ranks));
	}
	MPI_Gather(&me, sizeof(me), MPI_BYTE, ranks, sizeof(me), MPI_BYTE, 0, MPI_COMM_WORLD);
	packed = pack_parts(mine, &nmine);
	all = gather_parts(packed, st == HOIST_OK ? nmine : 0, rank, size, &gathered);

	worst = HOIST_OK;
	if (rank == 0) {
		int failed = -1;

		for (i = 0; ranks && i < size; i++) {
			/* The first real failure names the job's; a rank cancelled
			 * because another failed says less. */
			if (ranks[i].status != HOIST_OK &&
			    (failed < 0 || (ranks[failed].status == HOIST_E_CANCELLED &&
					    ranks[i].status != HOIST_E_CANCELLED))) {
				failed = i;
			}
		}
		if (!ranks || !all) {
			worst = HOIST_E_NOMEM;
			fputs("hoist: out of memory gathering the parts\n", stderr);
		} else if (failed >= 0) {
			worst = (hoist_status)ranks[failed].status;
			fprintf(stderr, "hoist: rank %d: %s\n", failed, ranks[failed].message);
			if (a.no_resume) {
				hoist_abort_upload(e, a.url.bucket, a.url.key, plan.upload_id, NULL);
			} else {
				fprintf(stderr, "hoist: upload %s kept: rerun the same job to resume\n",
					plan.upload_id);
			}
		} else {
			worst = hoist_complete_upload(e, &uo, plan.upload_id, all, &fin);
			fin.part_size = plan.part_size;
			if (worst != HOIST_OK) {
				cli_print_failure(&fin, worst);
			}
		}
		if (worst == HOIST_OK || a.common.json) {
			if (worst != HOIST_OK && fin.status == HOIST_OK) {
				fin.status = worst;
			}
			print_summary(&a, &fin, ranks, size, now_s() - t0);
		}
	}
	MPI_Bcast(&worst, sizeof(worst), MPI_BYTE, 0, MPI_COMM_WORLD);
	rc = cli_exit_code(worst);
	/* Nobody failed (or this rank did): the receive is still posted. */
	if (fail_req != MPI_REQUEST_NULL) {
		MPI_Cancel(&fail_req);
		MPI_Wait(&fail_req, MPI_STATUS_IGNORE);
	}

finalize:
	hoist_part_list_free(mine);
	hoist_part_list_free(all);
	free(packed);
	free(gathered);
	free(ranks);
	free(jp.done);
	cli_progress_free(jp.bar);
	hoist_result_cleanup(&res);
	hoist_result_cleanup(&fin);
	hoist_result_cleanup(&er);
	hoist_engine_free(e);
	cli_url_cleanup(&a.url);
	free(a.tree.filters);
	cli_common_cleanup(&a.common);
	MPI_Finalize();
	return rc;
}
