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
	struct cli_session s;
	const char *upload_id;
};

/* Parses argv (one URL argument), builds the engine.  Returns -1 when the
 * command should exit with *rc (usage, --help, engine refused), else 0. */
static int hk_start(struct hk *h, int argc, char **argv, const char *help,
		    int need_id, int need_key, int *rc)
{
	struct option *opts = cli_options_merge(hk_options);
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
			cli_getopt_error(h->s.cmd, c, optopt, argv, optind);
			goto fail;
		}
		if (c == OPT_HELP) {
			fputs(help, stdout);
			fputs(cli_help_common, stdout);
			*rc = CLI_EXIT_OK;
			goto fail;
		}
		applied = cli_common_apply(&h->s.common, h->s.cmd, c, optarg);
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
		cli_usage_error(h->s.cmd, "--upload-id is not an option of %s", h->s.cmd);
		goto fail;
	}
	if (argc - optind != 1) {
		cli_usage_error(h->s.cmd, "takes exactly one oss://BUCKET%s URL",
				need_key ? "/KEY" : "[/PREFIX]");
		goto fail;
	}
	if (need_id && (!h->upload_id || !*h->upload_id)) {
		cli_usage_error(h->s.cmd, "needs --upload-id ID");
		goto fail;
	}
	if (cli_session_open(&h->s, argv[optind], need_key, rc))
		goto fail;
	free(opts);
	return 0;
fail:
	free(opts);
	return -1;
}

int cli_abort(int argc, char **argv)
{
	struct hk h = { .s.cmd = "abort" };
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	int rc;

	if (hk_start(&h, argc, argv, abort_help, 1, 1, &rc)) {
		goto out;
	}
	s = hoist_abort_upload(h.s.engine, h.s.url.bucket, h.s.url.key, h.upload_id, &r);
	if (s != HOIST_OK) {
		rc = cli_session_fail(&h.s, &r, s);
		goto out;
	}
	if (h.s.common.json) {
		cli_json_print(stdout, json_pack("{s:s,s:o,s:o,s:o,s:o}", "status", "OK",
						 "bucket", cli_json_str(h.s.url.bucket),
						 "key", cli_json_str(h.s.url.key),
						 "upload_id", cli_json_str(h.upload_id),
						 "request_id", cli_json_str(r.request_id)));
	} else if (!h.s.common.quiet) {
		fputs("aborted upload ", stdout);
		cli_print_safe(stdout, h.upload_id);
		fputs(" of ", stdout);
		cli_print_safe(stdout, h.s.url.key);
		fputs(" (request id ", stdout);
		cli_print_safe(stdout, r.request_id);
		fputs(")\n", stdout);
	}
	rc = CLI_EXIT_OK;
out:
	hoist_result_cleanup(&r);
	cli_session_close(&h.s);
	return rc;
}

int cli_ls_uploads(int argc, char **argv)
{
	struct hk h = { .s.cmd = "ls-uploads" };
	struct hoist_upload_list *list = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	size_t i, n;
	int rc;

	if (hk_start(&h, argc, argv, ls_uploads_help, 0, 0, &rc)) {
		goto out;
	}
	s = hoist_list_uploads(h.s.engine, h.s.url.bucket, *h.s.url.key ? h.s.url.key : NULL,
			       &list, &r);
	if (s != HOIST_OK) {
		rc = cli_session_fail(&h.s, &r, s);
		goto out;
	}
	n = hoist_upload_list_count(list);
	if (h.s.common.json) {
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
	} else if (!h.s.common.quiet) {
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
	cli_session_close(&h.s);
	return rc;
}

int cli_ls_parts(int argc, char **argv)
{
	struct hk h = { .s.cmd = "ls-parts" };
	struct hoist_part_list *list = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	size_t i, n;
	int rc;

	if (hk_start(&h, argc, argv, ls_parts_help, 1, 1, &rc)) {
		goto out;
	}
	s = hoist_list_parts(h.s.engine, h.s.url.bucket, h.s.url.key, h.upload_id, &list, &r);
	if (s != HOIST_OK) {
		rc = cli_session_fail(&h.s, &r, s);
		goto out;
	}
	n = hoist_part_list_count(list);
	if (h.s.common.json) {
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
	} else if (!h.s.common.quiet) {
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
	cli_session_close(&h.s);
	return rc;
}
