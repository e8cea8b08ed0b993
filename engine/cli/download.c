/*
 * download.c - `hoist cp oss://BUCKET/KEY FILE|DIR|-`: one download
 * through hoist.h.
 *
 * Owns: the destination (a file, a directory that gets the key's last
 * segment, or '-' for standard output), the engine and download it
 * creates, Ctrl-C, and the printout.  cp.c parses the command line (the
 * options are those of an upload, plus the download-only ones) and hands
 * over when the source is a URL.
 *
 * Standard output carries the object's bytes, so with '-' the result (and
 * --json) goes to stderr.  SIGXFSZ is ignored so that a file size limit
 * (ulimit -f) surfaces as EFBIG, one line and exit 3, rather than killing
 * the process with a partial temporary file behind.
 * Threading: main thread, plus the callbacks run on engine threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static _Atomic(struct hoist_download *) running;
static volatile sig_atomic_t cancel_requested;

static void on_signal(int sig)
{
	struct hoist_download *d = atomic_load(&running);

	(void)sig;
	cancel_requested = 1;
	if (d) {
		hoist_download_cancel(d);
	}
}

struct dl_state {
	pthread_mutex_t term_lock;
	struct cli_progress *progress;
	int print_parts;
	FILE *out;                 /* where lines for humans go */
};

static void cb_progress(uint64_t increment, uint64_t transferred, uint64_t total,
			unsigned in_flight, void *userdata)
{
	struct dl_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	cli_progress_update(increment, transferred, total, in_flight, st->progress);
	pthread_mutex_unlock(&st->term_lock);
}

static void cb_part(const struct hoist_part_info *p, void *userdata)
{
	struct dl_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	cli_progress_clear(st->progress);
	fprintf(st->out, "range %u: offset %" PRIu64 ", %" PRIu64 " bytes, status %ld, CRC64 %" PRIu64
		", %u attempt%s, %.3f s, request id ",
		p->part_number, p->offset, p->size, p->http_status, p->crc64, p->attempts,
		p->attempts == 1 ? "" : "s", p->seconds);
	cli_print_safe(st->out, p->request_id);
	fputc('\n', st->out);
	pthread_mutex_unlock(&st->term_lock);
}

static void cb_log(const char *line, void *userdata)
{
	struct dl_state *st = userdata;

	pthread_mutex_lock(&st->term_lock);
	cli_progress_clear(st->progress);
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&st->term_lock);
}

/* Standard output, in order, from the download's writer thread. */
static int write_stdout(const void *buf, size_t len, void *userdata)
{
	const char *p = buf;

	(void)userdata;
	while (len) {
		ssize_t n = write(1, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* FILE, or DIR/<the key's last segment>.  malloc'd; NULL with msg set. */
static char *destination(const char *dest, const char *key, char *msg, size_t len)
{
	struct stat st;
	const char *base = strrchr(key, '/');
	size_t dl, bl;
	char *out;

	dl = strlen(dest);
	if (stat(dest, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (dl && dest[dl - 1] == '/') {
			snprintf(msg, len, "'%s' is not a directory", dest);
			return NULL;
		}
		return strdup(dest);
	}
	base = base ? base + 1 : key;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		snprintf(msg, len, "the key '%s' has no last segment to name a file in '%s'", key, dest);
		return NULL;
	}
	bl = strlen(base);
	out = malloc(dl + bl + 2);
	if (out) {
		memcpy(out, dest, dl);
		out[dl] = '/';
		memcpy(out + dl + 1, base, bl + 1);
	}
	return out;
}

static void print_human(FILE *f, const struct hoist_result *r, const char *dest)
{
	static const char *const how[] = {
		[HOIST_VERIFY_GET_CRC64] = "CRC64 verified against the object's x-oss-hash-crc64ecma",
		[HOIST_VERIFY_GET_MD5] = "verified: the MD5 of the bytes equals the object's ETag",
		[HOIST_VERIFY_GET_EXPECTED] = "CRC64 verified against --expect-crc64 only",
		[HOIST_VERIFY_GET_S3SUM] = "verified against the object's full-object x-amz-checksum",
		[HOIST_VERIFY_GET_PARTS_MD5] = "verified: fetched by parts, their MD5s make the "
					       "object's multipart ETag",
	};
	char size[32], rate[32];
	double secs = r->seconds;

	fprintf(f, "%-14s %s\n", "status:", "OK");
	fprintf(f, "%-14s ", "object:");
	cli_print_safe(f, r->bucket);
	fputc('/', f);
	cli_print_safe(f, r->key);
	fprintf(f, "\n%-14s ", "to:");
	cli_print_safe(f, dest);
	fprintf(f, "\n%-14s ", "ETag:");
	cli_print_safe(f, r->etag);
	fprintf(f, "\n%-14s ", "version id:");
	cli_print_safe(f, r->version_id);
	if (r->crc64_valid) {
		fprintf(f, "\n%-14s %" PRIu64, "CRC64:", r->crc64);
	}
	cli_format_bytes(size, sizeof(size), (double)r->bytes);
	cli_format_bytes(rate, sizeof(rate), secs > 0 ? (double)r->bytes / secs : 0);
	fprintf(f, "\n%-14s %" PRIu64 " (%s) in %.2f s, %s/s", "bytes:", r->bytes, size, secs, rate);
	if (r->parts) {
		cli_format_bytes(size, sizeof(size), (double)r->part_size);
		fprintf(f, ", %u ranges of %s", r->parts, size);
	} else {
		fputs(", one GET", f);
	}
	if (r->retries) {
		fprintf(f, ", %u retries", r->retries);
	}
	fputc('\n', f);
	if ((unsigned)r->verified < sizeof(how) / sizeof(how[0]) && how[r->verified]) {
		fprintf(f, "%s\n", how[r->verified]);
	} else {
		fputs(r->crc64_valid ? "not verified: the store reported no checksum of the object\n"
				     : "not verified (checksums off)\n",
		      f);
	}
	fflush(f);
}

static int early(int json, FILE *jf, hoist_status s, char *message)
{
	struct hoist_result er;

	memset(&er, 0, sizeof(er));
	er.status = s;
	er.message = message;
	if (json) {
		cli_print_result_json(jf, &er, 0, NULL, 0);
	}
	cli_print_failure(&er, s);
	return cli_exit_code(s);
}

int cli_download(const struct cli_download_args *a)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_download_options o = a->opts;
	struct dl_state st = { .term_lock = PTHREAD_MUTEX_INITIALIZER };
	struct hoist_result res = HOIST_RESULT_INIT;
	struct hoist_engine *engine = NULL;
	struct hoist_download *d = NULL;
	struct cli_url url;
	char msg[512] = "";
	char *dest = NULL;
	int to_stdout = strcmp(a->dest, "-") == 0;
	FILE *info = to_stdout ? stderr : stdout;
	int rc = CLI_EXIT_USAGE, url_ok = 0, ok;
	hoist_status s;
	size_t kl;

	if (cli_url_parse(&url, a->url_text))
		goto out;
	url_ok = 1;
	kl = strlen(url.key);
	if (kl == 0 || url.key[kl - 1] == '/') {
		cli_usage_error("cp", "'%s' names no object (a download needs oss://BUCKET/KEY)",
				a->url_text);
		goto out;
	}
	if (cli_engine_options(&eo, a->common, &url, "cp"))
		goto out;
	eo.memory_limit = a->memory_limit;
	if (!to_stdout) {
		dest = destination(a->dest, url.key, msg, sizeof(msg));
		if (!dest) {
			rc = early(a->common->json, info, msg[0] ? HOIST_E_INVALID_ARG : HOIST_E_NOMEM,
				   msg[0] ? msg : (char *)"out of memory");
			goto out;
		}
	}
	o.bucket = url.bucket;
	o.key = url.key;

	st.out = info;
	st.print_parts = a->common->verbose && !a->common->json;
	st.progress = cli_progress_new(!a->common->quiet);
	if (!st.progress) {
		fputs("hoist: out of memory\n", stderr);
		rc = CLI_EXIT_TRANSFER;
		goto out;
	}
	if (a->common->verbose) {
		eo.log = cb_log;
		eo.log_userdata = &st;
	}
	o.progress = cb_progress;
	o.on_part = st.print_parts ? cb_part : NULL;
	o.userdata = &st;

	cli_signals_catch(on_signal, 1);

	s = hoist_engine_new(&engine, &eo, &res);
	if (s != HOIST_OK) {
		cli_signals_block(0);
		rc = early(a->common->json, info, s, res.message ? res.message : (char *)hoist_strerror(s));
		goto out;
	}
	if (to_stdout) {
		s = hoist_download_writer_start(&d, engine, write_stdout, NULL, &o, &res);
	} else {
		s = hoist_download_file_start(&d, engine, dest, &o, &res);
	}
	if (s == HOIST_OK) {
		atomic_store(&running, d);
		if (cancel_requested) {
			hoist_download_cancel(d);
		}
	}
	cli_signals_block(0);
	if (s == HOIST_OK) {
		s = hoist_download_wait(d, &res);
		cli_signals_block(1);
		atomic_store(&running, NULL);
		hoist_download_free(d);
		d = NULL;
		cli_signals_block(0);
	}
	res.status = s;
	ok = s == HOIST_OK;
	pthread_mutex_lock(&st.term_lock);
	if (ok) {
		cli_progress_update(0, res.bytes, res.bytes, 0, st.progress);
	}
	cli_progress_finish(st.progress, ok);
	pthread_mutex_unlock(&st.term_lock);
	if (a->common->json) {
		cli_print_result_json(info, &res, 0, NULL, 0);
	} else if (ok && !a->common->quiet) {
		print_human(info, &res, to_stdout ? "standard output" : dest);
	}
	if (!ok) {
		cli_print_failure(&res, s);
	}
	rc = cli_exit_code(s);
out:
	hoist_engine_free(engine);
	hoist_result_cleanup(&res);
	cli_progress_free(st.progress);
	free(dest);
	if (url_ok) {
		cli_url_cleanup(&url);
	}
	return rc;
}
