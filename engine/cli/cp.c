/*
 * cp.c - `hoist cp FILE oss://BUCKET/KEY`: one upload through hoist.h.
 *
 * Owns: the cp options, the engine and upload it creates, Ctrl-C, and the
 * terminal while the upload runs (progress bar, --verbose part lines and
 * engine log lines, which share one lock so they never tear each other).
 * Ctrl-C and SIGTERM: a handler calls hoist_upload_cancel(), which hoist.h
 * makes safe in a signal handler; a second Ctrl-C kills at once
 * (SA_RESETHAND).  Both signals are blocked while the engine starts its
 * threads, so they inherit the block and every signal lands on the main
 * thread; the main thread blocks them again before it clears the pointer
 * and frees the upload, so the handler never sees a freed upload.
 * Threading: main thread, plus the callbacks run on engine threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

enum cp_opt {
	OPT_PART_SIZE = OPT_COMMON_END_,
	OPT_JOBS,
	OPT_CHECKSUM,
	OPT_IO,
	OPT_COMPLETE_ALL,
	OPT_FORBID_OVERWRITE,
	OPT_CONTENT_TYPE,
	OPT_META,
	OPT_STORAGE_CLASS,
	OPT_SSE,
	OPT_SSE_KMS_KEY_ID,
	OPT_CALLBACK_URL,
	OPT_CALLBACK_BODY,
	OPT_CALLBACK_HOST,
	OPT_CALLBACK_BODY_TYPE,
	OPT_CALLBACK_VAR,
	OPT_CHECKPOINT_DIR,
	OPT_NO_RESUME,
	OPT_RESTART,
	OPT_FIXED_JOBS,
	OPT_S3_CHECKSUM,
	OPT_MEMORY_LIMIT,
	OPT_EXPECTED_SIZE,
	OPT_EXPECT_SIZE,
	OPT_EXPECT_CRC64,
	OPT_VERSION_ID,
	OPT_REQUIRE_VERIFIED
};

static const struct option cp_options[] = {
	{ "part-size", required_argument, NULL, OPT_PART_SIZE },
	{ "jobs", required_argument, NULL, OPT_JOBS },
	{ "checksum", required_argument, NULL, OPT_CHECKSUM },
	{ "io", required_argument, NULL, OPT_IO },
	{ "complete-all", no_argument, NULL, OPT_COMPLETE_ALL },
	{ "forbid-overwrite", no_argument, NULL, OPT_FORBID_OVERWRITE },
	{ "content-type", required_argument, NULL, OPT_CONTENT_TYPE },
	{ "meta", required_argument, NULL, OPT_META },
	{ "storage-class", required_argument, NULL, OPT_STORAGE_CLASS },
	{ "sse", required_argument, NULL, OPT_SSE },
	{ "sse-kms-key-id", required_argument, NULL, OPT_SSE_KMS_KEY_ID },
	{ "callback-url", required_argument, NULL, OPT_CALLBACK_URL },
	{ "callback-body", required_argument, NULL, OPT_CALLBACK_BODY },
	{ "callback-host", required_argument, NULL, OPT_CALLBACK_HOST },
	{ "callback-body-type", required_argument, NULL, OPT_CALLBACK_BODY_TYPE },
	{ "callback-var", required_argument, NULL, OPT_CALLBACK_VAR },
	{ "checkpoint-dir", required_argument, NULL, OPT_CHECKPOINT_DIR },
	{ "no-resume", no_argument, NULL, OPT_NO_RESUME },
	{ "restart", no_argument, NULL, OPT_RESTART },
	{ "fixed-jobs", no_argument, NULL, OPT_FIXED_JOBS },
	{ "s3-checksum", required_argument, NULL, OPT_S3_CHECKSUM },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "expected-size", required_argument, NULL, OPT_EXPECTED_SIZE },
	{ "expect-size", required_argument, NULL, OPT_EXPECT_SIZE },
	{ "expect-crc64", required_argument, NULL, OPT_EXPECT_CRC64 },
	{ "version-id", required_argument, NULL, OPT_VERSION_ID },
	{ "require-verified", no_argument, NULL, OPT_REQUIRE_VERIFIED },
	{ NULL, 0, NULL, 0 }
};

static const char cp_help[] =
	"Usage: hoist cp FILE oss://BUCKET/KEY [options]\n"
	"       hoist cp FILE s3://BUCKET/KEY [options]\n"
	"       hoist cp oss://BUCKET/KEY FILE|DIR|- [options]   (download; see below)\n"
	"       hoist cp -r DIR oss://BUCKET/PREFIX/ [options]   (s3:// too)\n"
	"       hoist cp -r oss://BUCKET/PREFIX/ DIR [options]   (tree download)\n"
	"\n"
	"Uploads FILE (or '-': standard input, whatever it is: a pipe, a socket,\n"
	"a terminal or a file) as one object, in parallel parts when it is larger\n"
	"than one part, verifying every part's MD5 and CRC64 and the whole\n"
	"object's CRC64.  A KEY that is empty or ends in '/' gets FILE's name\n"
	"appended.\n"
	"\n"
	"Upload options:\n"
	"  --part-size SIZE      part size: bytes, or with K, M, G (= KiB, MiB, GiB);\n"
	"                        default 8 MiB, grown to keep at most 10,000 parts,\n"
	"                        at least 100 KiB (S3: 5 MiB)\n"
	"  --jobs N              parts in flight at most, 1 to 4096 (default 64); hoist\n"
	"                        starts at 8 (more on a long round trip), quadruples\n"
	"                        each round trip until parts come back, then keeps\n"
	"                        growing while that buys throughput\n"
	"  --fixed-jobs          always keep --jobs parts in flight (no adapting)\n"
	"  --checksum MODE       both (default: Content-MD5 and CRC64), crc64, md5, none\n"
	"  --s3-checksum ALGO    s3:// only: also send x-amz-checksum-ALGO per part,\n"
	"                        crc32c or crc64nvme (default none)\n"
	"  --io pread|mmap       how parts are read from FILE (default pread)\n"
	"  --complete-all        complete with x-oss-complete-all: yes (OSS)\n"
	"  --forbid-overwrite    fail if the object exists (OSS)\n"
	"  --content-type TYPE   default: from the file's extension (/etc/mime.types),\n"
	"                        else application/octet-stream\n"
	"  --meta NAME=VALUE     user metadata (x-oss-meta-NAME, S3 x-amz-meta-NAME);\n"
	"                        repeatable\n"
	"  --storage-class CLASS Standard, IA, Archive, ColdArchive ... (S3: STANDARD,\n"
	"                        STANDARD_IA, GLACIER ...), as the store spells them\n"
	"  --sse AES256|KMS      server-side encryption (S3: SSE-S3 or aws:kms)\n"
	"  --sse-kms-key-id ID   the KMS key of --sse KMS (default: the store's)\n"
	"  --callback-url URL    OSS upload callback; with --callback-body TEMPLATE,\n"
	"                        --callback-host HOST, --callback-body-type TYPE and\n"
	"                        --callback-var x:name=value (repeatable)\n"
	"  --checkpoint-dir DIR  resume journals (default ~/.cache/hoist)\n"
	"  --no-resume           keep no journal; abort the upload on failure\n"
	"  --restart             abort a journaled upload of this file and start anew\n"
	"\n"
	"Streams (standard input that is not a file: a pipe, a socket, a terminal):\n"
	"  --memory-limit SIZE   the most memory part buffers may take (default 256M);\n"
	"                        parts are sent from memory and released once verified\n"
	"  --expected-size SIZE  about how big the stream will be: parts are planned\n"
	"                        for it, and a size the memory limit cannot carry is\n"
	"                        refused before anything is sent\n"
	"  Part sizes double every 1,000 parts from 8 MiB up to half the memory limit,\n"
	"  which bounds the largest stream without --expected-size:\n"
	"      --memory-limit   largest part   largest stream   parts in flight\n"
	"      64M              32 MiB         273 GiB          8\n"
	"      256M             128 MiB        867 GiB          32\n"
	"      1G               512 MiB        2.4 TiB          128\n"
	"      10G              5 GiB          7.8 TiB          1280 (at most --jobs)\n"
	"  A stream is never resumed: on a failure or Ctrl-C its upload is aborted.\n"
	"\n"
	"Download: hoist cp oss://BUCKET/KEY FILE|DIR|-   (and s3://BUCKET/KEY)\n"
	"  Reads the object in parallel ranged GETs (--part-size is the range size,\n"
	"  --jobs, --fixed-jobs and --checksum none|... as above), each pinned with\n"
	"  If-Match to the ETag a HEAD reported, the CRC64 of every range computed\n"
	"  as it arrives and the whole object's checked against the store's.  FILE\n"
	"  is written through a temporary file beside it and replaced only by the\n"
	"  complete, verified object (fsync, rename); a DIR gets the key's last\n"
	"  segment as the name; '-' writes standard output, in order (the result\n"
	"  then goes to stderr).  Exit 6: the object changed during the download;\n"
	"  4: a CRC64 mismatch (FILE untouched); 3: a local write error.  An S3\n"
	"  multipart object with no full-object checksum is read part by part\n"
	"  (?partNumber, where the store serves it; --part-size does not apply)\n"
	"  and its parts' MD5s checked against its \"<md5>-N\" ETag.\n"
	"  --expect-size SIZE    fail (exit 4) unless the object has this size\n"
	"  --expect-crc64 N      fail (exit 4) unless its CRC64 (decimal) is N\n"
	"  --version-id ID       read this version of the object\n"
	"  --require-verified    fail (exit 4) when the store offers no checksum to\n"
	"                        verify the object with\n"
	"  --memory-limit SIZE   '-' only: the most bytes held ahead of the output\n"
	"\n";

/* ------------------------------------------------ callbacks and signals */

static volatile sig_atomic_t cancel_requested;

/* The stream's read callback over standard input.  It polls so that a
 * Ctrl-C is noticed even while nothing arrives: the engine joins this
 * thread when the upload is freed, and a read blocked on an idle terminal
 * or pipe would hold it there. */
static int64_t read_stdin(void *buf, size_t len, void *userdata)
{
	(void)userdata;
	for (;;) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		ssize_t n;
		int rc;

		if (cancel_requested)
			return -ECANCELED;
		rc = poll(&pfd, 1, 200);
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc <= 0)
			continue;
		n = read(0, buf, len);
		if (n >= 0)
			return n;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* The running upload, for the signal handler.  A lock-free atomic pointer:
 * the handler may only load it. */
static _Atomic(struct hoist_upload *) running_upload;

static void on_signal(int sig)
{
	struct hoist_upload *u = atomic_load(&running_upload);

	(void)sig;
	cancel_requested = 1;
	if (u) {
		hoist_upload_cancel(u);
	}
}

struct cp_state {
	pthread_mutex_t term_lock;     /* serialises everything drawn on the terminal */
	struct cli_progress *progress;
	int json;
	int print_parts;               /* human --verbose part lines */
	/* --json --verbose: part records, kept until the end (guarded by
	 * term_lock; strings are our copies). */
	struct hoist_part_info *parts;
	size_t nparts, cap;
	int oom;
};

static void cb_progress(uint64_t increment, uint64_t transferred, uint64_t total,
			unsigned in_flight, void *userdata)
{
	struct cp_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	cli_progress_update(increment, transferred, total, in_flight, st->progress);
	pthread_mutex_unlock(&st->term_lock);
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

static void keep_part(struct cp_state *st, const struct hoist_part_info *p)
{
	struct hoist_part_info *c;

	if (st->nparts == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 64;
		struct hoist_part_info *np = realloc(st->parts, ncap * sizeof(*np));

		if (!np) {
			st->oom = 1;
			return;
		}
		st->parts = np;
		st->cap = ncap;
	}
	c = &st->parts[st->nparts];
	*c = *p;
	c->request_id = dup_or_empty(p->request_id);
	c->content_md5 = dup_or_empty(p->content_md5);
	c->etag = dup_or_empty(p->etag);
	c->s3_checksum = dup_or_empty(p->s3_checksum);
	if (!c->request_id || !c->content_md5 || !c->etag || !c->s3_checksum) {
		free((char *)c->request_id);
		free((char *)c->content_md5);
		free((char *)c->etag);
		free((char *)c->s3_checksum);
		st->oom = 1;
		return;
	}
	st->nparts++;
}

static int part_cmp(const void *a, const void *b)
{
	const struct hoist_part_info *x = a, *y = b;

	return (x->part_number > y->part_number) - (x->part_number < y->part_number);
}

static void cb_part(const struct hoist_part_info *p, void *userdata)
{
	struct cp_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	if (st->json) {
		keep_part(st, p);
	} else if (st->print_parts) {
		cli_progress_clear(st->progress);
		cli_print_part(stdout, p);
	}
	pthread_mutex_unlock(&st->term_lock);
}

static void cb_log(const char *line, void *userdata)
{
	struct cp_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	cli_progress_clear(st->progress);
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&st->term_lock);
}

/* ------------------------------------------------------------- options */

struct cp_args {
	struct cli_common common;
	struct hoist_upload_options uo;
	const char **vars;         /* --callback-var values, BORROWED from argv */
	size_t nvars;
	const char **meta;         /* --meta values, BORROWED from argv */
	size_t nmeta;
	const char *file;
	const char *url_text;
	uint64_t memory_limit;     /* --memory-limit, 0: the engine's default */
	/* Download-only options (refused for an upload). */
	struct hoist_download_options dl;
	const char *dl_only;       /* the first one given, for the refusal */
	struct cli_tree_opts tree; /* -r and its options (tree.c) */
};

static int parse_checksum(enum hoist_checksum *out, const char *a)
{
	static const struct {
		const char *name;
		enum hoist_checksum v;
	} t[] = {
		{ "both", HOIST_CHECKSUM_BOTH }, { "crc64", HOIST_CHECKSUM_CRC64 },
		{ "md5", HOIST_CHECKSUM_MD5 }, { "none", HOIST_CHECKSUM_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(a, t[i].name) == 0) {
			*out = t[i].v;
			return 0;
		}
	}
	return -1;
}

/* Returns 0, 1 for --help (printed), or -1 after a usage line. */
static int cp_parse(struct cp_args *a, int argc, char **argv)
{
	struct option *opts = cli_tree_options_merge(cp_options);
	unsigned long v;
	int ret = -1, c;

	if (!opts) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	optind = 1;
	opterr = 0;
	for (;;) {
		int applied;

		c = getopt_long(argc, argv, ":r", opts, NULL);
		if (c == -1)
			break;

		if (c == '?' || c == ':') {
			cli_getopt_error("cp", c, optopt, argv, optind);
			goto out;
		}
		if (c == OPT_HELP) {
			fputs(cp_help, stdout);
			fputs(cli_tree_help, stdout);
			fputs(cli_tree_get_help, stdout);
			fputs(cli_help_common, stdout);
			ret = 1;
			goto out;
		}
		applied = cli_common_apply(&a->common, "cp", c, optarg);
		if (applied < 0) {
			goto out;
		}
		if (applied) {
			continue;
		}
		applied = cli_tree_apply(&a->tree, c, optarg);
		if (applied < 0) {
			goto out;
		}
		if (applied) {
			continue;
		}
		switch (c) {
		case OPT_PART_SIZE:
			if (cli_parse_size(&a->uo.part_size, optarg) || a->uo.part_size == 0) {
				cli_usage_error("cp", "--part-size '%s': expected bytes, or a number with K, M, G, KiB, MiB or GiB",
						optarg);
				goto out;
			}
			break;
		case OPT_JOBS:
			if (cli_parse_uint(&v, optarg, 1, 4096)) {
				cli_usage_error("cp", "--jobs '%s': expected 1 to 4096", optarg);
				goto out;
			}
			a->uo.jobs = (unsigned)v;
			break;
		case OPT_CHECKSUM:
			if (parse_checksum(&a->uo.checksum, optarg)) {
				cli_usage_error("cp", "--checksum '%s': expected both, crc64, md5 or none",
						optarg);
				goto out;
			}
			break;
		case OPT_IO:
			if (strcmp(optarg, "pread") == 0) {
				a->uo.io = HOIST_IO_PREAD;
			} else if (strcmp(optarg, "mmap") == 0) {
				a->uo.io = HOIST_IO_MMAP;
			} else {
				cli_usage_error("cp", "--io '%s': expected pread or mmap", optarg);
				goto out;
			}
			break;
		case OPT_COMPLETE_ALL:
			a->uo.complete_all = 1;
			break;
		case OPT_FORBID_OVERWRITE:
			a->uo.forbid_overwrite = 1;
			break;
		case OPT_CONTENT_TYPE:
			a->uo.content_type = optarg;
			break;
		case OPT_META:
			if (!strchr(optarg, '=')) {
				cli_usage_error("cp", "--meta '%s': expected NAME=VALUE", optarg);
				goto out;
			}
			a->meta[a->nmeta++] = optarg;
			break;
		case OPT_STORAGE_CLASS:
			a->uo.storage_class = optarg;
			break;
		case OPT_SSE:
			if (strcasecmp(optarg, "AES256") == 0) {
				a->uo.sse = HOIST_SSE_AES256;
			} else if (strcasecmp(optarg, "KMS") == 0 || strcmp(optarg, "aws:kms") == 0) {
				a->uo.sse = HOIST_SSE_KMS;
			} else {
				cli_usage_error("cp", "--sse '%s': expected AES256 or KMS", optarg);
				goto out;
			}
			break;
		case OPT_SSE_KMS_KEY_ID:
			a->uo.sse_kms_key_id = optarg;
			break;
		case OPT_CALLBACK_URL:
			a->uo.callback_url = optarg;
			break;
		case OPT_CALLBACK_BODY:
			a->uo.callback_body = optarg;
			break;
		case OPT_CALLBACK_HOST:
			a->uo.callback_host = optarg;
			break;
		case OPT_CALLBACK_BODY_TYPE:
			a->uo.callback_body_type = optarg;
			break;
		case OPT_CALLBACK_VAR:
			/* OSS takes only lowercase "x:" names; a typo here would
			 * otherwise surface as a server error after the upload. */
			if (strncmp(optarg, "x:", 2) != 0 || !strchr(optarg + 2, '=') ||
			    optarg[2] == '=') {
				cli_usage_error("cp", "--callback-var '%s': expected x:name=value",
						optarg);
				goto out;
			}
			a->vars[a->nvars++] = optarg;
			break;
		case OPT_CHECKPOINT_DIR:
			a->uo.checkpoint_dir = optarg;
			break;
		case OPT_NO_RESUME:
			a->uo.no_resume = 1;
			break;
		case OPT_RESTART:
			a->uo.restart = 1;
			break;
		case OPT_FIXED_JOBS:
			a->uo.concurrency = HOIST_CONCURRENCY_FIXED;
			break;
		case OPT_MEMORY_LIMIT:
			if (cli_parse_size(&a->memory_limit, optarg) || a->memory_limit == 0) {
				cli_usage_error("cp", "--memory-limit '%s': expected a size such as 64M", optarg);
				goto out;
			}
			break;
		case OPT_EXPECTED_SIZE:
			if (cli_parse_size(&a->uo.expected_size, optarg)) {
				cli_usage_error("cp", "--expected-size '%s': expected a size such as 20G", optarg);
				goto out;
			}
			break;
		case OPT_EXPECT_SIZE:
			if (cli_parse_size(&a->dl.expected_size, optarg)) {
				cli_usage_error("cp", "--expect-size '%s': expected a size in bytes", optarg);
				goto out;
			}
			a->dl.expected_size_set = 1;
			a->dl_only = a->dl_only ? a->dl_only : "--expect-size";
			break;
		case OPT_EXPECT_CRC64: {
			char *end = NULL;

			errno = 0;
			a->dl.expected_crc64 = strtoull(optarg, &end, 10);
			if (errno || !end || *end || !*optarg || *optarg == '-') {
				cli_usage_error("cp", "--expect-crc64 '%s': expected the CRC64 in decimal",
						optarg);
				goto out;
			}
			a->dl.expected_crc64_set = 1;
			a->dl_only = a->dl_only ? a->dl_only : "--expect-crc64";
			break;
		}
		case OPT_VERSION_ID:
			a->dl.version_id = optarg;
			a->dl_only = a->dl_only ? a->dl_only : "--version-id";
			break;
		case OPT_REQUIRE_VERIFIED:
			a->dl.require_verified = 1;
			a->dl_only = a->dl_only ? a->dl_only : "--require-verified";
			break;
		case OPT_S3_CHECKSUM:
			if (strcmp(optarg, "none") == 0) {
				a->uo.s3_checksum = HOIST_S3_CHECKSUM_NONE;
			} else if (strcmp(optarg, "crc32c") == 0) {
				a->uo.s3_checksum = HOIST_S3_CHECKSUM_CRC32C;
			} else if (strcmp(optarg, "crc64nvme") == 0) {
				a->uo.s3_checksum = HOIST_S3_CHECKSUM_CRC64NVME;
			} else {
				cli_usage_error("cp", "--s3-checksum '%s': expected crc32c, crc64nvme or none",
						optarg);
				goto out;
			}
			break;
		default:
			cli_usage_error("cp", "unexpected option");
			goto out;
		}
	}
	if (argc - optind != 2) {
		cli_usage_error("cp", argc - optind < 2 ? "needs FILE and oss://BUCKET/KEY"
						       : "takes one FILE and one URL, got '%s' too",
				argc - optind < 2 ? "" : argv[optind + 2]);
		goto out;
	}
	a->file = argv[optind];
	a->url_text = argv[optind + 1];
	if (a->tree.any && !a->tree.recursive) {
		cli_usage_error("cp", "--include, --exclude, --follow-symlinks, --skip-existing, --checksum-compare and --files need -r");
		goto out;
	}
	if (a->tree.checksum_compare && !a->tree.skip_existing) {
		cli_usage_error("cp", "--checksum-compare needs --skip-existing");
		goto out;
	}
	if (a->tree.recursive && strcmp(a->file, "-") == 0) {
		cli_usage_error("cp", "-r needs a directory, not standard input");
		goto out;
	}
	if (!a->uo.callback_url &&
	    (a->uo.callback_body || a->uo.callback_host || a->uo.callback_body_type ||
	     a->nvars)) {
		cli_usage_error("cp", "--callback-body, --callback-host, --callback-body-type and --callback-var need --callback-url");
		goto out;
	}
	if (a->uo.callback_url && !a->uo.callback_body) {
		cli_usage_error("cp", "--callback-url needs --callback-body (OSS refuses an empty template)");
		goto out;
	}
	ret = 0;
out:
	free(opts);
	return ret;
}

/* KEY empty or ending in '/': append FILE's base name, like cp(1) into a
 * directory.  Returns a malloc'd key or NULL (OOM or no usable name). */
static char *final_key(const char *key, const char *file)
{
	const char *base = strrchr(file, '/');
	size_t kl = strlen(key), bl;
	char *out;

	if (kl && key[kl - 1] != '/') {
		return strdup(key);
	}
	base = base ? base + 1 : file;
	bl = strlen(base);
	if (bl == 0 || strcmp(file, "-") == 0) {
		return NULL;
	}
	out = malloc(kl + bl + 1);
	if (out) {
		memcpy(out, key, kl);
		memcpy(out + kl, base, bl + 1);
	}
	return out;
}

/* Checks that path names a readable file before anything is sent, so the
 * user gets the path and errno in one plain line (the engine opens it again
 * itself: the journal keys on its identity).  Returns 0, or -1 with the
 * reason in msg. */
static int check_source(char *msg, size_t len, const char *path)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0) {
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, len, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(msg, len, "cannot read '%s': %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (S_ISDIR(st.st_mode)) {
		snprintf(msg, len, "cannot upload '%s': it is a directory", path);
		return -1;
	}
	return 0;
}

/* Standard input is a regular file: sent from its offsets (zero-copy,
 * resumable) rather than as a stream. */
static int stdin_is_file(void)
{
	struct stat st;

	return fstat(0, &st) == 0 && S_ISREG(st.st_mode);
}

/* A pipe on standard input holds 64 KiB by default: every 64 KiB the
 * writer and our reader wake each other.  1 MiB (the default
 * pipe-max-size an unprivileged process may ask for) cuts those wakeups
 * sixteenfold; measured on 2 cores, 1 GiB through `cat |`: the stream's
 * CPU per GiB drops (see README).  A refusal changes nothing. */
static void widen_pipe(void)
{
	struct stat st;

	if (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) {
		fcntl(0, F_SETPIPE_SZ, 1 << 20);
	}
}

/* A failure before the upload started: the one line, and the JSON object
 * with --json.  Not through the engine's result: its strings are the
 * engine's to free. */
static int early_failure(int json, hoist_status s, char *message)
{
	struct hoist_result er;

	memset(&er, 0, sizeof(er));
	er.status = s;
	er.message = message;
	if (json) {
		cli_print_result_json(stdout, &er, 0, NULL, 0);
	}
	cli_print_failure(&er, s);
	return cli_exit_code(s);
}

/* ---------------------------------------------------------------- cp */

/* `hoist cp -r URL DIR`: tree_get.c, with the per-file options of da. */
static int cp_tree_download(struct cp_args *a, struct cli_download_args *da)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct cli_url url;
	int rc = CLI_EXIT_USAGE;

	if (da->opts.expected_size_set || da->opts.expected_crc64_set || da->opts.version_id) {
		cli_usage_error("cp", "--expect-size, --expect-crc64 and --version-id name one object, not a tree");
		return rc;
	}
	if (strcmp(da->dest, "-") == 0) {
		cli_usage_error("cp", "-r needs a directory to download into, not standard output");
		return rc;
	}
	if (a->tree.follow_symlinks || a->tree.checksum_compare) {
		cli_usage_error("cp", "--follow-symlinks and --checksum-compare are for tree uploads");
		return rc;
	}
	if (cli_url_parse(&url, da->url_text))
		return rc;
	if (cli_engine_options(&eo, &a->common, &url, "cp") == 0) {
		eo.memory_limit = a->memory_limit;
		da->opts.bucket = url.bucket;
		rc = cli_tree_download(&a->tree, &a->common, &eo, &da->opts, &url, da->dest);
	}
	cli_url_cleanup(&url);
	return rc;
}

/* `hoist cp URL DEST`: the options that mean something for a download
 * are handed to download.c; the upload-only ones are refused. */
static int cp_download(struct cp_args *a, char **argv)
{
	struct cli_download_args da;
	const struct hoist_upload_options *u = &a->uo;

	const char *bad = u->callback_url ? "--callback-url"
			  : u->complete_all ? "--complete-all"
			  : u->forbid_overwrite ? "--forbid-overwrite"
			  : u->content_type ? "--content-type"
			  : u->s3_checksum ? "--s3-checksum"
			  : u->io ? "--io"
			  : u->expected_size ? "--expected-size"
			  : u->checkpoint_dir ? "--checkpoint-dir (a download's journal is beside FILE)"
			  : a->nmeta ? "--meta"
			  : u->storage_class ? "--storage-class"
			  : u->sse ? "--sse"
			  : u->sse_kms_key_id ? "--sse-kms-key-id"
			  : NULL;

	(void)argv;
	if (bad) {
		cli_usage_error("cp", "%s is for uploads, not downloads (hoist cp URL FILE)", bad);
		return CLI_EXIT_USAGE;
	}
	memset(&da, 0, sizeof(da));
	da.common = &a->common;
	da.opts = a->dl;
	da.opts.version = HOIST_DOWNLOAD_OPTIONS_VERSION;
	da.opts.part_size = u->part_size;
	da.opts.jobs = u->jobs;
	da.opts.concurrency = u->concurrency;
	da.opts.checksum = u->checksum;
	da.opts.no_resume = u->no_resume;
	da.opts.restart = u->restart;
	da.url_text = a->file;
	da.dest = a->url_text;
	da.memory_limit = a->memory_limit;
	if (a->tree.recursive)
		return cp_tree_download(a, &da);
	return cli_download(&da);
}

int cli_cp(int argc, char **argv)
{
	struct cp_args a = { .uo = HOIST_UPLOAD_OPTIONS_INIT, .dl = HOIST_DOWNLOAD_OPTIONS_INIT };
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct cp_state st = { .term_lock = PTHREAD_MUTEX_INITIALIZER };
	struct hoist_result res = HOIST_RESULT_INIT;
	struct cli_url url;
	struct hoist_engine *engine = NULL;
	struct hoist_upload *u = NULL;
	char errbuf[512] = "";
	char *key = NULL;
	hoist_status s;
	int rc = CLI_EXIT_USAGE, pr, url_ok = 0, ok;
	size_t i;

	a.vars = calloc((size_t)argc, sizeof(*a.vars));
	a.meta = calloc((size_t)argc, sizeof(*a.meta));
	a.tree.filters = calloc((size_t)argc, sizeof(*a.tree.filters));
	if (!a.vars || !a.meta || !a.tree.filters) {
		fputs("hoist: out of memory\n", stderr);
		return CLI_EXIT_TRANSFER;
	}
	pr = cp_parse(&a, argc, argv);
	if (pr) {
		rc = pr > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	if (strncmp(a.file, "oss://", 6) == 0 || strncmp(a.file, "s3://", 5) == 0) {
		rc = cp_download(&a, argv);
		goto out;
	}
	if (a.dl_only) {
		cli_usage_error("cp", "%s is for downloads (hoist cp URL FILE)", a.dl_only);
		goto out;
	}
	if (cli_url_parse(&url, a.url_text)) {
		goto out;
	}
	url_ok = 1;
	if (a.uo.s3_checksum != HOIST_S3_CHECKSUM_NONE && url.dialect != HOIST_DIALECT_S3) {
		cli_usage_error("cp", "--s3-checksum needs an s3:// URL");
		goto out;
	}
	if (a.tree.recursive) {
		/* The whole tree, through one engine: tree.c. */
		if (cli_engine_options(&eo, &a.common, &url, "cp")) {
			goto out;
		}
		eo.memory_limit = a.memory_limit;
		a.uo.bucket = url.bucket;
		a.uo.callback_vars = a.vars;
		a.uo.ncallback_vars = a.nvars;
		a.uo.metadata = a.meta;
		a.uo.nmetadata = a.nmeta;
		rc = cli_tree_upload(&a.tree, &a.common, &eo, &a.uo, a.file, &url);
		goto out;
	}
	key = final_key(url.key, a.file);
	if (!key) {
		cli_usage_error("cp", "'%s' names no object key", a.url_text);
		goto out;
	}
	if (cli_engine_options(&eo, &a.common, &url, "cp")) {
		goto out;
	}
	eo.memory_limit = a.memory_limit;
	if (check_source(errbuf, sizeof(errbuf), a.file)) {
		rc = early_failure(a.common.json, HOIST_E_IO, errbuf);
		goto out;
	}
	a.uo.bucket = url.bucket;
	a.uo.key = key;
	a.uo.callback_vars = a.vars;
	a.uo.ncallback_vars = a.nvars;
	a.uo.metadata = a.meta;
	a.uo.nmetadata = a.nmeta;
	if (!a.uo.content_type && strcmp(a.file, "-") != 0) {
		a.uo.content_type = cli_guess_content_type_one(a.file);
	}

	st.json = a.common.json;
	st.print_parts = a.common.verbose && !a.common.json;
	st.progress = cli_progress_new(!a.common.quiet);
	if (!st.progress) {
		fputs("hoist: out of memory\n", stderr);
		rc = CLI_EXIT_TRANSFER;
		goto out;
	}
	if (a.common.verbose) {
		eo.log = cb_log;
		eo.log_userdata = &st;
	}
	a.uo.progress = cb_progress;
	a.uo.on_part = a.common.verbose ? cb_part : NULL;
	a.uo.userdata = &st;

	/* A closed stdout must not kill an upload half done. */
	cli_signals_catch(on_signal, 0);

	s = hoist_engine_new(&engine, &eo, &res);
	if (s != HOIST_OK) {
		cli_signals_block(0);
		rc = early_failure(a.common.json, s, res.message ? res.message : (char *)hoist_strerror(s));
		goto out;
	}
	if (strcmp(a.file, "-") == 0 && stdin_is_file()) {
		s = hoist_upload_fd_start(&u, engine, 0, &a.uo, &res);
	} else if (strcmp(a.file, "-") == 0) {
		widen_pipe();
		s = hoist_upload_stream_start(&u, engine, read_stdin, NULL, &a.uo, &res);
	} else {
		s = hoist_upload_file_start(&u, engine, a.file, &a.uo, &res);
	}
	if (s == HOIST_OK) {
		atomic_store(&running_upload, u);
		if (cancel_requested) {
			hoist_upload_cancel(u);
		}
	}
	cli_signals_block(0);
	if (s == HOIST_OK) {
		s = hoist_upload_wait(u, &res);
		cli_signals_block(1);
		atomic_store(&running_upload, NULL);
		hoist_upload_free(u);
		u = NULL;
		cli_signals_block(0);
	}
	res.status = s;

	ok = s == HOIST_OK || s == HOIST_E_CALLBACK;
	pthread_mutex_lock(&st.term_lock);
	if (ok) {
		cli_progress_update(0, res.bytes, res.bytes, 0, st.progress);
	}
	cli_progress_finish(st.progress, ok);
	pthread_mutex_unlock(&st.term_lock);

	if (a.common.json) {
		if (st.parts) {
			qsort(st.parts, st.nparts, sizeof(*st.parts), part_cmp);
		}
		cli_print_result_json(stdout, &res, a.common.verbose, st.parts, st.nparts);
	} else if (ok && !a.common.quiet) {
		cli_print_result(stdout, &res);
	}
	if (s != HOIST_OK) {
		cli_print_failure(&res, s);
	}
	rc = cli_exit_code(s);
	/* A --json --verbose part list that lost records to OOM would mislead
	 * the harness; the upload itself is still fine. */
	if (st.oom) {
		fputs("hoist: out of memory while recording parts; the part list is incomplete\n",
		      stderr);
	}
out:
	hoist_engine_free(engine);
	hoist_result_cleanup(&res);
	for (i = 0; i < st.nparts; i++) {
		free((char *)st.parts[i].request_id);
		free((char *)st.parts[i].content_md5);
		free((char *)st.parts[i].etag);
		free((char *)st.parts[i].s3_checksum);
	}
	free(st.parts);
	cli_progress_free(st.progress);
	free(key);
	if (url_ok) {
		cli_url_cleanup(&url);
	}
	cli_common_cleanup(&a.common);
	free(a.vars);
	free(a.meta);
	free(a.tree.filters);
	return rc;
}
