/*
 * backup_agent.c - libhoist embedded the way a backup agent would use it.
 *
 * One engine for the life of the agent; one upload with a progress line;
 * Ctrl-C (SIGINT) or SIGTERM cancels it cleanly (the multipart upload is
 * kept, so running the agent again resumes it); the result printed as
 * key=value lines that a supervisor can parse.  Build it against an
 * installed libhoist with pkg-config (README.md beside this file).
 *
 *   OSS_ACCESS_KEY_ID=... OSS_ACCESS_KEY_SECRET=... \
 *     backup_agent [-e ENDPOINT] [-3] [-p PART_SIZE] FILE BUCKET KEY
 *
 * -e  endpoint URL (default: OSS cn-hangzhou); -3: the S3 dialect (keys
 *     from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY); -p part size bytes.
 * Exit: 0 stored and verified, 130 cancelled, 1 anything else.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hoist.h>

/* The upload the signal handler cancels.  hoist_upload_cancel is
 * async-signal-safe (an atomic store and a write to a socket), so calling
 * it from the handler is allowed; the pointer is atomic so that the
 * handler never sees a half-written one. */
static _Atomic(struct hoist_upload *) running;
static volatile sig_atomic_t cancel_asked;

static void on_signal(int sig)
{
	struct hoist_upload *u = atomic_load(&running);

	(void)sig;
	cancel_asked = 1;
	if (u) {
		hoist_upload_cancel(u);
	}
}

/* Progress comes from an engine thread at most every ~100 ms and once at
 * the end; it must return quickly and must not free the upload. */
static void on_progress(uint64_t increment, uint64_t done, uint64_t total,
			unsigned in_flight, void *userdata)
{
	(void)increment;
	(void)userdata;
	fprintf(stderr, "progress: %3u%% %" PRIu64 "/%" PRIu64 " bytes, %u parts in flight\n",
		total ? (unsigned)(done * 100 / total) : 100, done, total, in_flight);
}

static void on_log(const char *line, void *userdata)
{
	(void)userdata;
	fprintf(stderr, "hoist: %s\n", line);
}

static void print_result(const struct hoist_result *r)
{
	static const char *const verified[] = { "none", "response", "head", "parts", "etag" };

	printf("status=%d\nstatus_text=%s\n", (int)r->status, hoist_strerror(r->status));
	printf("bucket=%s\nkey=%s\n", r->bucket ? r->bucket : "", r->key ? r->key : "");
	printf("etag=%s\n", r->etag ? r->etag : "");
	if (r->crc64_valid) {
		printf("crc64=%" PRIu64 "\n", r->crc64);
	}
	printf("verified=%s\n",
	       (unsigned)r->verified < sizeof(verified) / sizeof(verified[0]) ? verified[r->verified]
									    : "?");
	printf("bytes=%" PRIu64 "\nparts=%u\nresumed_parts=%u\nseconds=%.3f\n", r->bytes, r->parts,
	       r->resumed_parts, r->seconds);
	if (r->upload_id) {
		printf("upload_id=%s\n", r->upload_id);
	}
	if (r->status != HOIST_OK && r->message) {
		printf("message=%s\n", r->message);
	}
	fflush(stdout);
}

static void usage(void)
{
	fputs("usage: backup_agent [-e ENDPOINT] [-3] [-p PART_SIZE] FILE BUCKET KEY\n", stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_upload_options uo = HOIST_UPLOAD_OPTIONS_INIT;
	struct hoist_engine *engine = NULL;
	struct hoist_upload *u = NULL;
	struct hoist_result res = HOIST_RESULT_INIT;
	struct sigaction sa;
	sigset_t sigs;
	hoist_status st;
	int opt, rc = 1;

	while ((opt = getopt(argc, argv, "e:3p:")) != -1) {
		switch (opt) {
		case 'e':
			eo.endpoint = optarg;
			break;
		case '3':
			eo.dialect = HOIST_DIALECT_S3;
			break;
		case 'p':
			uo.part_size = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 3) {
		usage();
	}
	printf("library=%s\n", hoist_version());
	eo.access_key_id = getenv(eo.dialect == HOIST_DIALECT_S3 ? "AWS_ACCESS_KEY_ID"
								 : "OSS_ACCESS_KEY_ID");
	eo.access_key_secret = getenv(eo.dialect == HOIST_DIALECT_S3 ? "AWS_SECRET_ACCESS_KEY"
								     : "OSS_ACCESS_KEY_SECRET");
	eo.log = on_log;

	/* The engine's threads inherit the signal mask of the thread that
	 * creates the engine: block the signals while it starts them, so
	 * that the handler only ever runs on this thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	st = hoist_engine_new(&engine, &eo, &res);
	if (st != HOIST_OK) {
		fprintf(stderr, "backup_agent: cannot start the engine: %s\n",
			res.message ? res.message : hoist_strerror(st));
		goto out;
	}
	hoist_result_cleanup(&res);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	uo.bucket = argv[optind + 1];
	uo.key = argv[optind + 2];
	uo.progress = on_progress;
	st = hoist_upload_file_start(&u, engine, argv[optind], &uo, &res);
	if (st != HOIST_OK) {
		print_result(&res);
		goto out;
	}
	atomic_store(&running, u);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	if (cancel_asked) {
		hoist_upload_cancel(u); /* a signal came before the upload existed */
	}
	st = hoist_upload_wait(u, &res);
	/* No handler may touch the upload once it is freed. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	atomic_store(&running, NULL);
	print_result(&res);
	rc = st == HOIST_OK ? 0 : st == HOIST_E_CANCELLED ? 130 : 1;
out:
	hoist_upload_free(u);
	hoist_result_cleanup(&res);
	hoist_engine_free(engine);
	return rc;
}
