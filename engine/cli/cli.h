/*
 * cli.h - what the files of the hoist command line share.
 *
 * The CLI is a client of include/hoist.h only: it never includes an engine
 * header.  Its files split by concern: main.c (dispatch, --help, exit
 * codes), args.c (option values: sizes, oss:// and s3:// URLs, endpoints,
 * credentials, the options every command shares), awsconfig.c (the AWS
 * CLI's credentials and config files, for s3://), creds.c (the
 * credentials chain: variables, profile files, the ECS RAM role), cp.c
 * (the upload, and the command line of a download), download.c (the download),
 * housekeeping.c (abort, ls-uploads, ls-parts), output.c (result printing,
 * JSON), progress.c (the progress bar), tree.c (cp -r: filters, listing
 * merge, many uploads on one engine), walk.c (its walk, walk.h) and
 * tree_get.c (cp -r URL DIR: many downloads on one engine).
 * Threading: everything runs on the main thread, except the progress and
 * per-part callbacks, which the engine calls from its own threads one at a
 * time per upload (see hoist.h).  engine/mpi/ (hoist-mpi) reuses args.c,
 * awsconfig.c, output.c and progress.c.
 */
#ifndef HOIST_CLI_H
#define HOIST_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "hoist.h"

/* Exit codes: the contract with scripts, documented in EXIT_CODES.md and in
 * `hoist --help`.  Values never change meaning. */
enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_USAGE = 2,        /* bad command line: nothing was sent */
	CLI_EXIT_TRANSFER = 3,     /* network, server, auth, not found, local I/O */
	CLI_EXIT_CHECKSUM = 4,     /* a part or the object failed verification */
	CLI_EXIT_CALLBACK = 5,     /* object stored, the upload callback failed */
	CLI_EXIT_SOURCE_CHANGED = 6, /* the file changed under the upload */
	CLI_EXIT_SOME_FAILED = 7,  /* cp -r: some files failed, the others were copied */
	CLI_EXIT_CANCELLED = 130   /* Ctrl-C or SIGTERM, as shells count it */
};

/* The exit code for a status (OK -> 0, INVALID_ARG -> 2, ...). */
int cli_exit_code(hoist_status s);

/* ------------------------------------------------------------- args.c */

/* A parsed oss://BUCKET/KEY or s3://BUCKET/KEY.  The strings point into a
 * copy owned by the struct; cli_url_cleanup releases it. */
struct cli_url {
	enum hoist_dialect dialect;
	char *bucket;
	char *key;                 /* "" when the URL names only the bucket */
	char *mem_;                /* owns bucket and key */
};

/* Parses text into url.  Returns 0, or -1 after printing one usage line
 * naming what is wrong.  A key is taken verbatim (not percent-decoded). */
int cli_url_parse(struct cli_url *url, const char *text);
void cli_url_cleanup(struct cli_url *url);

/* Parses "123", "8M", "8MiB", "1G" ... (K, M, G, T and KiB, MiB, GiB, TiB
 * are all powers of 1024).  Returns 0 or -1 (bad syntax or overflow). */
int cli_parse_size(uint64_t *out, const char *text);
/* A decimal integer in [min, max].  Returns 0 or -1. */
int cli_parse_uint(unsigned long *out, const char *text, unsigned long min,
		   unsigned long max);
/* Seconds, possibly fractional ("2.5"), into milliseconds in [1, max_ms]. */
int cli_parse_seconds_ms(unsigned *out, const char *text, unsigned max_ms);

/* What ~/.aws/credentials and ~/.aws/config say for $AWS_PROFILE
 * (awsconfig.c); every field malloc'd or NULL. */
struct cli_aws_profile {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
	char *region;
};

/* Copies the value of each keys[i] in section `want` of the INI file at
 * path into *outs[i] (malloc'd) unless already set.  "[section]" lines,
 * "key = value" lines, '#' and ';' comments.  Returns 1 when the section
 * exists, 0 when it (or the file) does not. */
int cli_ini_lookup(const char *path, const char *want, const char *const keys[],
		   char **outs[], size_t nkeys);

/* Fills the fields still NULL in p: the keys from the credentials file
 * when want_keys, the region from the config file when want_region.
 * Missing files or profiles leave them NULL. */
void cli_aws_profile_load(struct cli_aws_profile *p, int want_keys, int want_region);
void cli_aws_profile_cleanup(struct cli_aws_profile *p);

/* ------------------------------------------------------------ creds.c */

struct cli_creds;
/* Walks the credentials chain of url's dialect (creds.c has the order)
 * and fills eo: static keys, or a provider the engine calls again for
 * keys that expire; nothing for anonymous requests.  With c->verbose, one
 * stderr line names the source (never a key).  *out owns what eo points
 * to: free it after the engine.  Returns 0, or -1 after a usage line. */
struct cli_common;
int cli_creds_resolve(struct cli_creds **out, struct hoist_engine_options *eo,
		      const struct cli_common *c, const struct cli_url *url, const char *cmd);
void cli_creds_free(struct cli_creds *cc);

/* Options every network command shares (endpoint, credentials, TLS ...). */
struct cli_common {
	const char *endpoint;      /* as given; NULL: from region */
	char *endpoint_owned;      /* "https://" + endpoint when no scheme was given */
	const char *region;
	int internal;
	enum hoist_signature signature;
	enum hoist_addressing addressing;
	const char *ca_file;
	int insecure;
	unsigned connect_timeout_ms;
	unsigned max_attempts;
	unsigned hash_threads;
	unsigned io_threads;
	unsigned max_connections;
	int verbose;
	int quiet;
	int json;
	struct cli_aws_profile aws; /* s3:// only, when the environment is silent */
	const char *profile;       /* --profile (oss://) */
	struct cli_creds *creds;   /* the chosen credentials (creds.c); the
	                              engine borrows them: freed after it */
};

/* getopt_long ids of the shared options (above any short option letter). */
enum cli_common_opt {
	OPT_ENDPOINT = 1000,
	OPT_REGION,
	OPT_INTERNAL,
	OPT_SIGNATURE,
	OPT_PATH_STYLE,
	OPT_CACERT,
	OPT_INSECURE,
	OPT_CONNECT_TIMEOUT,
	OPT_RETRIES,
	OPT_THREADS,
	OPT_IO_THREADS,
	OPT_MAX_CONNECTIONS,
	OPT_VERBOSE,
	OPT_QUIET,
	OPT_JSON,
	OPT_HELP,
	OPT_PROFILE,
	OPT_COMMON_END_           /* command-specific ids start here */
};

/* The struct option rows of the shared options, terminated by a zero row;
 * commands append their own (see cli_options_merge). */
extern const struct option cli_common_options[];
/* Builds one getopt_long table: common rows then extra rows (each list ends
 * with a zero row).  Returns a malloc'd table or NULL. */
struct option *cli_options_merge(const struct option *extra);

/* Applies one parsed shared option.  Returns 1 when id was a shared option
 * and it was applied, 0 when id is not a shared option, -1 after printing a
 * usage line for a bad value. */
int cli_common_apply(struct cli_common *c, const char *cmd, int id,
		     const char *arg);
/* Fills engine options from the shared options, the URL's dialect and the
 * credential variables of that dialect.  The strings stay BORROWED from c
 * and the environment.  Returns 0 or -1 after a usage line. */
int cli_engine_options(struct hoist_engine_options *eo, struct cli_common *c,
		       const struct cli_url *url, const char *cmd);
void cli_common_cleanup(struct cli_common *c);

/* session.c: a command of blocking calls, once its options are parsed
 * into common.  cmd is set by the caller; open parses the URL (need_key:
 * it must name a key) and makes the engine: -1 means exit with *rc (the
 * line is printed).  fail prints a call's failure (JSON with --json) and
 * returns its exit code.  close is safe after a failed open. */
struct cli_session {
	const char *cmd;
	struct cli_common common;
	struct cli_url url;
	int url_ok;
	struct hoist_engine *engine;
};
int cli_session_open(struct cli_session *s, const char *url_text, int need_key, int *rc);
void cli_session_close(struct cli_session *s);
int cli_session_fail(const struct cli_session *s, struct hoist_result *r, hoist_status st);

/* Reports getopt_long's failure for argv (unknown option or missing
 * value) as one usage line. */
void cli_getopt_error(const char *cmd, int ret, int optopt_, char *const argv[],
		      int optind_);

/* The one usage line: "hoist: <cmd>: <what> (see 'hoist <cmd> --help')". */
void cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------- commands */

/* signals.c: SIGPIPE (and with writes_files SIGXFSZ) ignored, SIGINT and
 * SIGTERM to handler once (SA_RESETHAND), and both left blocked: the
 * caller starts the engine, then cli_signals_block(0). */
void cli_signals_catch(void (*handler)(int), int writes_files);
void cli_signals_block(int block);

int cli_cp(int argc, char **argv);

/* A download (download.c): `hoist cp URL DEST`, parsed by cp.c. */
struct cli_download_args {
	struct cli_common *common;
	struct hoist_download_options opts; /* part size, jobs, checks ... */
	const char *url_text;
	const char *dest;          /* FILE, DIR or "-" */
	uint64_t memory_limit;     /* --memory-limit, 0: the engine's default */
};
int cli_download(const struct cli_download_args *a);
int cli_abort(int argc, char **argv);
int cli_ls_uploads(int argc, char **argv);
int cli_ls_parts(int argc, char **argv);
/* objcmd.c: hoist ls, hoist stat, hoist rm. */
int cli_ls(int argc, char **argv);
int cli_stat(int argc, char **argv);
int cli_rm(int argc, char **argv);

/* Help texts (main.c); each ends with a newline. */
extern const char cli_help_common[];

/* ------------------------------------------------------------ output.c */

/* JSON values for --json (jansson; the caller owns the reference):
 * cli_json_str is s as a string, NULL -> null, each invalid UTF-8 byte as
 * U+FFFD so the output always parses; cli_json_u64 is any unsigned 64-bit
 * integer, INT64_MAX and above included (a CRC64).  Both NULL on OOM. */
json_t *cli_json_str(const char *s);
json_t *cli_json_u64(uint64_t v);
/* Prints v, compact, and a newline, then releases it (NULL: an OOM line
 * on stderr). */
void cli_json_print(FILE *f, json_t *v);
/* Writes s for a human: control bytes as \xNN so a key cannot move the
 * cursor.  NULL -> "-". */
void cli_print_safe(FILE *f, const char *s);

/* Per-part line for --verbose (called from engine threads, serialised). */
void cli_print_part(FILE *f, const struct hoist_part_info *p);
/* The final printout of a finished upload, human form. */
void cli_print_result(FILE *f, const struct hoist_result *r);
/* The result as a JSON object (as below; NULL on OOM), for a caller that
 * adds fields of its own (hoist-mpi's per-rank figures). */
json_t *cli_result_json(const struct hoist_result *r, int with_parts,
			const struct hoist_part_info *parts, size_t nparts);
/* The whole result as one JSON object and a newline; with_parts adds the
 * nparts per-part records as "part_list" (--json --verbose). */
void cli_print_result_json(FILE *f, const struct hoist_result *r, int with_parts,
			   const struct hoist_part_info *parts, size_t nparts);
/* The one failure line on stderr: "hoist: <message>". */
void cli_print_failure(const struct hoist_result *r, hoist_status s);

/* The canonical name of a status ("OK", "E_CHECKSUM", ...). */
const char *cli_status_name(hoist_status s);
/* "1.50 GiB": human size with a binary unit into buf. */
void cli_format_bytes(char *buf, size_t len, double bytes);

/* ---------------------------------------------------------- progress.c */

struct cli_progress;

/* A progress bar on fd 2 when it is a terminal and enabled is non-zero;
 * otherwise an object whose functions do nothing.  NULL on OOM. */
struct cli_progress *cli_progress_new(int enabled);
void cli_progress_free(struct cli_progress *p);
/* The hoist_progress_fn: userdata is the cli_progress. */
void cli_progress_update(uint64_t increment, uint64_t transferred,
			 uint64_t total, unsigned parts_in_flight,
			 void *userdata);
/* Erases the bar (before another line is written to the terminal); the
 * next update draws it again. */
void cli_progress_clear(struct cli_progress *p);
/* Draws the final state and ends the line (ok: the upload succeeded). */
void cli_progress_finish(struct cli_progress *p, int ok);

/* -------------------------------------------------------------- mime.c */

/* The Content-Type /etc/mime.types gives path's extension, or NULL (no
 * extension, unknown, or no table).  Static storage; any thread. */
const char *cli_guess_content_type(const char *path);
/* The same for a run of one file: scans the table for this extension
 * alone, without building it.  Valid until the thread's next call. */
const char *cli_guess_content_type_one(const char *path);

/* -------------------------------------------------------------- tree.c */

/* cp -r: the tree options, filled by cli_tree_apply while cp parses. */
struct cli_tree_filter {
	int exclude;               /* 1: --exclude, 0: --include */
	const char *pattern;       /* BORROWED from argv */
};
struct cli_tree_opts {
	int recursive;             /* -r */
	int any;                   /* a tree option other than -r was given */
	struct cli_tree_filter *filters; /* room for argc entries, the caller's */
	size_t nfilters;
	int follow_symlinks;
	int skip_existing;
	int checksum_compare;
	unsigned files;            /* --files; 0: 256 */
	/* A share of the tree (hoist-mpi): with nranks > 1 this process sends
	 * only the files the by-bytes split gives rank (largest first, each to
	 * the least loaded rank; every rank computes the same split from its
	 * own walk), and fills *totals instead of printing the summary. */
	unsigned rank, nranks;
	struct cli_tree_totals *totals;
};

/* A tree upload's counts (hoist-mpi sums them over the ranks). */
struct cli_tree_totals {
	uint64_t seen, sent, sent_bytes, existing, excluded, special, failed, others;
	double seconds;
	int rc;
};

/* cp's option rows plus the tree's, after the shared ones (malloc'd). */
struct option *cli_tree_options_merge(const struct option *cp);
/* 1 when id was a tree option (applied), 0 when not, -1 after a usage line. */
int cli_tree_apply(struct cli_tree_opts *t, int id, const char *arg);
/* Uploads the tree under dir to url's bucket and prefix; uo carries the
 * per-file options (bucket set; key, jobs and callbacks are the tree's).
 * Returns the exit code. */
int cli_tree_upload(const struct cli_tree_opts *opts, const struct cli_common *common,
		    struct hoist_engine_options *eo, const struct hoist_upload_options *uo,
		    const char *dir, const struct cli_url *url);
extern const char cli_tree_help[];

/* ---------------------------------------------------------- tree_get.c */

/* Downloads every object under url's prefix into dir (cp -r URL DIR);
 * dlo carries the per-file options (bucket set; key, jobs and callbacks
 * are the tree's).  Returns the exit code. */
int cli_tree_download(const struct cli_tree_opts *opts, const struct cli_common *common,
		      struct hoist_engine_options *eo, const struct hoist_download_options *dlo,
		      const struct cli_url *url, const char *dir);
extern const char cli_tree_get_help[];

#endif
