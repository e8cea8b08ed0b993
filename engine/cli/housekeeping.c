/*
 * housekeeping.c - `hoist abort`, `hoist ls-uploads`, `hoist ls-parts`.
 *
 * Owns: the three multipart housekeeping commands, each one blocking call
 * of hoist.h (AbortMultipartUpload, ListMultipartUploads, ListParts) and
 * its printout: aligned columns for people, or one JSON object with
 * --json.  They share the endpoint, credential and output options of cp.
 * Threading: main thread only (the calls block; Ctrl-C kills at once,
 * which is harmless: nothing is half written on our side).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum hk_opt {
	OPT_UPLOAD_ID = OPT_COMMON_END_
};

static const struct option hk_options[] = {
	{ "upload-id", required_argument, NULL, OPT_UPLOAD_ID },
	{ NULL, 0, NULL, 0 }
};

static const char abort_help[] =
	"Usage: hoist abort oss://BUCKET/KEY --upload-id ID [options]\n"
	"\n"
	"Aborts a multipart upload: the server drops its parts.  Find IDs with\n"
	"'hoist ls-uploads'.\n"
	"\n";

static const char ls_uploads_help[] =
	"Usage: hoist ls-uploads oss://BUCKET[/PREFIX] [options]\n"
	"\n"
	"Lists the multipart uploads in progress in BUCKET (under PREFIX), one a\n"
	"line: initiated, upload id, key.\n"
	"\n";

static const char ls_parts_help[] =
	"Usage: hoist ls-parts oss://BUCKET/KEY --upload-id ID [options]\n"
	"\n"
	"Lists the parts uploaded so far to a multipart upload, one a line:\n"
	"part number, size, CRC64, ETag, last modified.\n"
	"\n";

struct hk {
	const char *cmd;
	struct cli_common common;
	const char *upload_id;
	struct cli_url url;
	int url_ok;
	struct hoist_engine *engine;
};

/* --verbose: the engine's diagnostics on stderr.  The calls block, so
 * nothing else writes to the terminal meanwhile. */
static void hk_log(const char *line, void *userdata)
{
	(void)userdata;
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
}

/* Parses argv (one URL argument), builds the engine.  Returns -1 when the
 * command should exit with *rc (usage, --help, engine refused), else 0. */
static int hk_start(struct hk *h, int argc, char **argv, const char *help,
		    int need_id, int need_key, int *rc)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct option *opts = cli_options_merge(hk_options);
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	int c;

	*rc = CLI_EXIT_USAGE;
	if (!opts) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	optind = 1;
	opterr = 0;
	for (;;) {
		int applied;

		c = getopt_long(argc, argv, ":", opts, NULL);
		if (c == -1)
			break;

		if (c == '?' || c == ':') {
			cli_getopt_error(h->cmd, c, optopt, argv, optind);
			goto fail;
		}
		if (c == OPT_HELP) {
			fputs(help, stdout);
			fputs(cli_help_common, stdout);
			*rc = CLI_EXIT_OK;
			goto fail;
		}
		applied = cli_common_apply(&h->common, h->cmd, c, optarg);
		if (applied < 0) {
			goto fail;
		}
		if (applied) {
			continue;
		}
		if (c == OPT_UPLOAD_ID && need_id) {
			h->upload_id = optarg;
			continue;
		}
		/* Only --upload-id gets here: a known option this command
		 * does not take. */
		cli_usage_error(h->cmd, "--upload-id is not an option of %s", h->cmd);
		goto fail;
	}
	if (argc - optind != 1) {
		cli_usage_error(h->cmd, "takes exactly one oss://BUCKET%s URL",
				need_key ? "/KEY" : "[/PREFIX]");
		goto fail;
	}
	if (need_id && (!h->upload_id || !*h->upload_id)) {
		cli_usage_error(h->cmd, "needs --upload-id ID");
		goto fail;
	}
	if (cli_url_parse(&h->url, argv[optind])) {
		goto fail;
	}
	h->url_ok = 1;
	if (need_key && !*h->url.key) {
		cli_usage_error(h->cmd, "'%s' names no object key", argv[optind]);
		goto fail;
	}
	if (cli_engine_options(&eo, &h->common, &h->url, h->cmd)) {
		goto fail;
	}
	if (h->common.verbose) {
		eo.log = hk_log;
	}
	s = hoist_engine_new(&h->engine, &eo, &r);
	if (s != HOIST_OK) {
		fprintf(stderr, "hoist: %s\n", r.message ? r.message : hoist_strerror(s));
		hoist_result_cleanup(&r);
		*rc = cli_exit_code(s);
		goto fail;
	}
	free(opts);
	return 0;
fail:
	free(opts);
	return -1;
}

static void hk_cleanup(struct hk *h)
{
	hoist_engine_free(h->engine);
	if (h->url_ok) {
		cli_url_cleanup(&h->url);
	}
	cli_common_cleanup(&h->common);
}

/* A failed call: the JSON result with --json, and always the one line. */
static int hk_fail(struct hk *h, struct hoist_result *r, hoist_status s)
{
	r->status = s;
	if (h->common.json) {
		cli_print_result_json(stdout, r, 0, NULL, 0);
	}
	cli_print_failure(r, s);
	return cli_exit_code(s);
}

int cli_abort(int argc, char **argv)
{
	struct hk h = { .cmd = "abort" };
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	int rc;

	if (hk_start(&h, argc, argv, abort_help, 1, 1, &rc)) {
		goto out;
	}
	s = hoist_abort_upload(h.engine, h.url.bucket, h.url.key, h.upload_id, &r);
	if (s != HOIST_OK) {
		rc = hk_fail(&h, &r, s);
		goto out;
	}
	if (h.common.json) {
		cli_json_print(stdout, json_pack("{s:s,s:o,s:o,s:o,s:o}", "status", "OK",
						 "bucket", cli_json_str(h.url.bucket),
						 "key", cli_json_str(h.url.key),
						 "upload_id", cli_json_str(h.upload_id),
						 "request_id", cli_json_str(r.request_id)));
	} else if (!h.common.quiet) {
		fputs("aborted upload ", stdout);
		cli_print_safe(stdout, h.upload_id);
		fputs(" of ", stdout);
		cli_print_safe(stdout, h.url.key);
		fputs(" (request id ", stdout);
		cli_print_safe(stdout, r.request_id);
		fputs(")\n", stdout);
	}
	rc = CLI_EXIT_OK;
out:
	hoist_result_cleanup(&r);
	hk_cleanup(&h);
	return rc;
}

int cli_ls_uploads(int argc, char **argv)
{
	struct hk h = { .cmd = "ls-uploads" };
	struct hoist_upload_list *list = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	size_t i, n;
	int rc;

	if (hk_start(&h, argc, argv, ls_uploads_help, 0, 0, &rc)) {
		goto out;
	}
	s = hoist_list_uploads(h.engine, h.url.bucket, *h.url.key ? h.url.key : NULL,
			       &list, &r);
	if (s != HOIST_OK) {
		rc = hk_fail(&h, &r, s);
		goto out;
	}
	n = hoist_upload_list_count(list);
	if (h.common.json) {
		json_t *a = json_array();

		for (i = 0; a && i < n; i++) {
			const struct hoist_upload_entry *u = hoist_upload_list_get(list, i);

			if (json_array_append_new(a, json_pack("{s:o,s:o,s:o}",
							       "key", cli_json_str(u->key),
							       "upload_id", cli_json_str(u->upload_id),
							       "initiated", cli_json_str(u->initiated))) < 0) {
				json_decref(a);
				a = NULL;
			}
		}
		cli_json_print(stdout, json_pack("{s:s,s:I,s:o}", "status", "OK", "count",
						 (json_int_t)n, "uploads", a));
	} else if (!h.common.quiet) {
		for (i = 0; i < n; i++) {
			const struct hoist_upload_entry *e = hoist_upload_list_get(list, i);

			cli_print_safe(stdout, e->initiated);
			fputs("  ", stdout);
			cli_print_safe(stdout, e->upload_id);
			fputs("  ", stdout);
			cli_print_safe(stdout, e->key);
			fputc('\n', stdout);
		}
	}
	rc = CLI_EXIT_OK;
out:
	hoist_upload_list_free(list);
	hoist_result_cleanup(&r);
	hk_cleanup(&h);
	return rc;
}

int cli_ls_parts(int argc, char **argv)
{
	struct hk h = { .cmd = "ls-parts" };
	struct hoist_part_list *list = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	size_t i, n;
	int rc;

	if (hk_start(&h, argc, argv, ls_parts_help, 1, 1, &rc)) {
		goto out;
	}
	s = hoist_list_parts(h.engine, h.url.bucket, h.url.key, h.upload_id, &list, &r);
	if (s != HOIST_OK) {
		rc = hk_fail(&h, &r, s);
		goto out;
	}
	n = hoist_part_list_count(list);
	if (h.common.json) {
		json_t *a = json_array();

		for (i = 0; a && i < n; i++) {
			const struct hoist_part_entry *p = hoist_part_list_get(list, i);

			if (json_array_append_new(
				    a, json_pack("{s:I,s:o,s:o,s:o,s:o}", "part_number",
						 (json_int_t)p->part_number, "size", cli_json_u64(p->size),
						 "etag", cli_json_str(p->etag), "crc64",
						 p->crc64_valid ? cli_json_u64(p->crc64) : json_null(),
						 "last_modified", cli_json_str(p->last_modified))) < 0) {
				json_decref(a);
				a = NULL;
			}
		}
		cli_json_print(stdout, json_pack("{s:s,s:I,s:o}", "status", "OK", "count",
						 (json_int_t)n, "parts", a));
	} else if (!h.common.quiet) {
		for (i = 0; i < n; i++) {
			const struct hoist_part_entry *p = hoist_part_list_get(list, i);

			fprintf(stdout, "%5u  %12" PRIu64 "  ", p->part_number, p->size);
			if (p->crc64_valid) {
				fprintf(stdout, "%20" PRIu64 "  ", p->crc64);
			} else {
				fprintf(stdout, "%20s  ", "-");
			}
			cli_print_safe(stdout, p->etag);
			fputs("  ", stdout);
			cli_print_safe(stdout, p->last_modified);
			fputc('\n', stdout);
		}
	}
	rc = CLI_EXIT_OK;
out:
	hoist_part_list_free(list);
	hoist_result_cleanup(&r);
	hk_cleanup(&h);
	return rc;
}
