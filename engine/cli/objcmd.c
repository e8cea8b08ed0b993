/*
 * objcmd.c - `hoist ls`, `hoist stat`, `hoist rm`: the commands people
 * reach for around a copy.
 *
 * Owns: their options, help texts and printouts.  ls pages through the
 * library's object lister (one page in memory; one level with a '/'
 * delimiter unless -r), stat is hoist_stat_object (a HEAD), rm is
 * hoist_delete_objects: one key, or with -r every key under a prefix,
 * fed to the library 1,000 at a time as the listing goes, so a prefix of
 * millions of keys costs the memory of one batch.  rm -r asks before it
 * deletes when stdin is a terminal, unless --force; from a script (stdin
 * not a terminal) it does not ask.
 * A client of include/hoist.h only, like the rest of the CLI.
 * Threading: main thread only (every call blocks; Ctrl-C kills at once,
 * which leaves nothing half done on our side: a batch is deleted by the
 * server or not).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Keys per DeleteMultipleObjects request: the most OSS and S3 take. */
#define RM_BATCH 1000

enum obj_opt {
	OPT_RECURSIVE = OPT_COMMON_END_,
	OPT_FORCE
};

static const struct option obj_options[] = {
	{ "recursive", no_argument, NULL, OPT_RECURSIVE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ NULL, 0, NULL, 0 }
};

static const char ls_help[] =
	"Usage: hoist ls oss://BUCKET[/PREFIX] [options]   (also s3://)\n"
	"\n"
	"Lists the objects whose keys start with PREFIX, in byte order of keys,\n"
	"one a line: last modified, size, key.  Without -r one level: keys past\n"
	"the next '/' after PREFIX are rolled up into one 'PRE' line per common\n"
	"prefix (a \"directory\").  --json prints one JSON object a line:\n"
	"{\"key\",\"size\",\"last_modified\",\"etag\",\"storage_class\"} for an object,\n"
	"{\"prefix\"} for a common prefix.  A key holding a NUL byte (S3 allows\n"
	"one) is shown url-encoded (%00), marked so, with \"key_encoding\":\"url\".\n"
	"\n"
	"  -r, --recursive       every key under PREFIX, no rolling up\n"
	"\n";

static const char stat_help[] =
	"Usage: hoist stat oss://BUCKET/KEY [options]   (also s3://)\n"
	"\n"
	"Prints what a HEAD of the object says: size, ETag, CRC64 (OSS; S3 stores\n"
	"send none), content type, last modified, storage class and version id.\n"
	"A missing object exits 3.\n"
	"\n";

static const char rm_help[] =
	"Usage: hoist rm oss://BUCKET/KEY [options]\n"
	"       hoist rm -r oss://BUCKET/PREFIX/ [options]   (also s3://)\n"
	"\n"
	"Deletes one object, or with -r every object whose key starts with PREFIX\n"
	"(as given: 'logs' also matches 'logs-old/...'; end it in '/' for a\n"
	"directory), by DeleteMultipleObjects, 1,000 keys a request.  A key that\n"
	"does not exist is not an error.  When stdin is a terminal, rm -r asks\n"
	"first; it does not ask when stdin is not a terminal (scripts).  Exits 0\n"
	"when every key is gone, 7 when some were refused (each named on stderr)\n"
	"and the others deleted, 3 when a request failed.\n"
	"\n"
	"  -r, --recursive       every key under PREFIX\n"
	"  -f, --force           do not ask, even on a terminal\n"
	"\n";

struct objcmd {
	struct cli_session s;
	int recursive;
	int force;
};

/* Parses argv (one URL), builds the engine.  allow: the command's own
 * options ("r", "rf" or ""); need_key: the URL must name a key.  Returns
 * -1 when the command should exit with *rc, else 0. */
static int obj_start(struct objcmd *o, int argc, char **argv, const char *help,
		     const char *allow, int need_key, int *rc)
{
	struct option *opts = cli_options_merge(obj_options);
	int c;

	*rc = CLI_EXIT_USAGE;
	if (!opts) {
		fputs("hoist: out of memory\n", stderr);
		return -1;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":rf", opts, NULL)) != -1) {
		int applied;

		if (c == '?' || c == ':') {
			cli_getopt_error(o->s.cmd, c, optopt, argv, optind);
			goto fail;
		}
		if (c == OPT_HELP) {
			fputs(help, stdout);
			fputs(cli_help_common, stdout);
			*rc = CLI_EXIT_OK;
			goto fail;
		}
		applied = cli_common_apply(&o->s.common, o->s.cmd, c, optarg);
		if (applied < 0)
			goto fail;
		if (applied)
			continue;
		if (c == 'r' || c == OPT_RECURSIVE) {
			c = 'r';
		} else if (c == 'f' || c == OPT_FORCE) {
			c = 'f';
		}
		if (!strchr(allow, c)) {
			cli_usage_error(o->s.cmd, "%s is not an option of %s",
					c == 'r' ? "--recursive" : "--force", o->s.cmd);
			goto fail;
		}
		if (c == 'r') {
			o->recursive = 1;
		} else {
			o->force = 1;
		}
	}
	if (argc - optind != 1) {
		cli_usage_error(o->s.cmd, "takes exactly one oss://BUCKET%s URL",
				need_key ? "/KEY" : "[/PREFIX]");
		goto fail;
	}
	if (cli_session_open(&o->s, argv[optind], need_key, rc))
		goto fail;
	free(opts);
	return 0;
fail:
	free(opts);
	return -1;
}

/* ------------------------------------------------------------------ ls */

static void ls_print(const struct objcmd *o, const struct hoist_object_entry *e)
{
	if (o->s.common.json) {
		if (e->is_prefix) {
			cli_json_print(stdout, json_pack("{s:o}", "prefix", cli_json_str(e->key)));
		} else {
			json_t *j = json_pack("{s:o,s:o,s:o,s:o,s:o}", "key", cli_json_str(e->key),
					      "size", cli_json_u64(e->size), "last_modified",
					      cli_json_str(e->last_modified), "etag",
					      cli_json_str(e->etag), "storage_class",
					      cli_json_str(e->storage_class));

			if (j && e->key_has_nul) {
				json_object_set_new(j, "key_encoding", json_string("url"));
			}
			cli_json_print(stdout, j);
		}
		return;
	}
	if (e->is_prefix) {
		fprintf(stdout, "%24s  %12s  ", "", "PRE");
	} else {
		fprintf(stdout, "%24s  %12" PRIu64 "  ", e->last_modified, e->size);
	}
	cli_print_safe(stdout, e->key);
	if (e->key_has_nul) {
		fputs("  (url-encoded: the key holds a NUL byte)", stdout);
	}
	fputc('\n', stdout);
}

int cli_ls(int argc, char **argv)
{
	struct objcmd o = { .s.cmd = "ls" };
	struct hoist_list_options lo = HOIST_LIST_OPTIONS_INIT;
	struct hoist_object_lister *l = NULL;
	struct hoist_result r = HOIST_RESULT_INIT;
	const struct hoist_object_entry *e;
	hoist_status s;
	int rc;

	if (obj_start(&o, argc, argv, ls_help, "r", 0, &rc))
		goto out;
	lo.bucket = o.s.url.bucket;
	lo.prefix = o.s.url.key;
	lo.delimiter = o.recursive ? NULL : "/";
	s = hoist_object_lister_new(&l, o.s.engine, &lo, &r);
	while (s == HOIST_OK && (s = hoist_object_lister_next(l, &e, &r)) == HOIST_OK && e) {
		if (!o.s.common.quiet || o.s.common.json) {
			ls_print(&o, e);
		}
	}
	if (s != HOIST_OK) {
		fflush(stdout);
		rc = cli_session_fail(&o.s, &r, s);
		goto out;
	}
	rc = CLI_EXIT_OK;
out:
	hoist_object_lister_free(l);
	hoist_result_cleanup(&r);
	cli_session_close(&o.s);
	return rc;
}

/* ---------------------------------------------------------------- stat */

static void stat_line(const char *name, const char *value)
{
	fprintf(stdout, "%-15s ", name);
	cli_print_safe(stdout, value ? value : "-");
	fputc('\n', stdout);
}

int cli_stat(int argc, char **argv)
{
	struct objcmd o = { .s.cmd = "stat" };
	struct hoist_object_info info = HOIST_OBJECT_INFO_INIT;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status s;
	char num[24];
	int rc;

	if (obj_start(&o, argc, argv, stat_help, "", 1, &rc))
		goto out;
	s = hoist_stat_object(o.s.engine, o.s.url.bucket, o.s.url.key, &info, &r);
	if (s != HOIST_OK) {
		rc = cli_session_fail(&o.s, &r, s);
		goto out;
	}
	if (o.s.common.json) {
		cli_json_print(stdout,
			       json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "status", "OK",
					 "bucket", cli_json_str(o.s.url.bucket), "key",
					 cli_json_str(o.s.url.key), "size", cli_json_u64(info.size),
					 "etag", cli_json_str(info.etag), "crc64",
					 info.crc64_valid ? cli_json_u64(info.crc64) : json_null(),
					 "content_type", cli_json_str(info.content_type),
					 "last_modified", cli_json_str(info.last_modified),
					 "storage_class", cli_json_str(info.storage_class),
					 "version_id", cli_json_str(info.version_id), "request_id",
					 cli_json_str(r.request_id)));
	} else if (!o.s.common.quiet) {
		stat_line("key", o.s.url.key);
		snprintf(num, sizeof(num), "%" PRIu64, info.size);
		stat_line("size", num);
		stat_line("etag", info.etag);
		if (info.crc64_valid) {
			snprintf(num, sizeof(num), "%" PRIu64, info.crc64);
		}
		stat_line("crc64", info.crc64_valid ? num : NULL);
		stat_line("content-type", info.content_type);
		stat_line("last-modified", info.last_modified);
		stat_line("storage-class", info.storage_class);
		stat_line("version-id", info.version_id);
	}
	rc = CLI_EXIT_OK;
out:
	hoist_object_info_cleanup(&info);
	hoist_result_cleanup(&r);
	cli_session_close(&o.s);
	return rc;
}

/* ------------------------------------------------------------------ rm */

struct rm_run {
	struct objcmd *o;
	char *keys[RM_BATCH];      /* the batch being gathered, OWNED */
	hoist_status st[RM_BATCH];
	size_t n;
	uint64_t deleted, failed;
};

/* Asks on the terminal; 1 to go on.  Only called when stdin is one. */
static int rm_confirm(const struct objcmd *o, const char *url)
{
	char line[64];

	fputs("hoist: rm: delete every object under ", stderr);
	cli_print_safe(stderr, url);
	fputs(" ? [y/N] ", stderr);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	(void)o;
	return line[0] == 'y' || line[0] == 'Y';
}

/* Sends the gathered batch; per-key refusals are counted and named on
 * stderr.  Returns the status of the request as a whole. */
static hoist_status rm_flush(struct rm_run *m, struct hoist_result *r)
{
	struct hoist_delete_options d = HOIST_DELETE_OPTIONS_INIT;
	struct hoist_result br = HOIST_RESULT_INIT;
	hoist_status s;
	size_t i, done = 0;

	if (m->n == 0)
		return HOIST_OK;
	d.bucket = m->o->s.url.bucket;
	d.keys = (const char *const *)m->keys;
	d.count = m->n;
	d.key_status = m->st;
	s = hoist_delete_objects(m->o->s.engine, &d, &done, &br);
	m->deleted += done;
	if (s != HOIST_OK && !br.key) {
		/* No key named: the request failed as a whole (auth, network
		 * after retries); the caller reports it and stops. */
		hoist_result_cleanup(r);
		*r = br;
		goto out;
	}
	if (s != HOIST_OK) {
		/* Per-key refusals: each named, the run goes on (exit 7). */
		for (i = 0; i < m->n; i++) {
			if (m->st[i] == HOIST_OK)
				continue;
			m->failed++;
			fputs("hoist: rm: ", stderr);
			cli_print_safe(stderr, m->keys[i]);
			fputs(": not deleted: ", stderr);
			cli_print_safe(stderr, strcmp(br.key, m->keys[i]) == 0 && br.message
						       ? br.message
						       : hoist_strerror(m->st[i]));
			fputc('\n', stderr);
		}
		s = HOIST_OK;
	}
	hoist_result_cleanup(&br);
out:
	for (i = 0; i < m->n; i++) {
		free(m->keys[i]);
		m->keys[i] = NULL;
	}
	m->n = 0;
	return s;
}

/* Every key under the URL's prefix, deleted a batch at a time as the
 * listing goes (the lister's next page is asked after the deletes of the
 * last one: keys after the continuation point are not touched). */
static hoist_status rm_tree(struct rm_run *m, struct hoist_result *r)
{
	struct hoist_list_options lo = HOIST_LIST_OPTIONS_INIT;
	struct hoist_object_lister *l = NULL;
	const struct hoist_object_entry *e;
	hoist_status s;

	lo.bucket = m->o->s.url.bucket;
	lo.prefix = m->o->s.url.key;
	s = hoist_object_lister_new(&l, m->o->s.engine, &lo, r);
	while (s == HOIST_OK && (s = hoist_object_lister_next(l, &e, r)) == HOIST_OK && e) {
		if (e->key_has_nul) {
			/* Its shown form names another object, and a Delete
			 * document (XML 1.0) cannot carry a NUL. */
			m->failed++;
			fputs("hoist: rm: ", stderr);
			cli_print_safe(stderr, e->key);
			fputs(" (url-encoded): not deleted: the key holds a NUL byte, which hoist "
			      "cannot name in a request\n", stderr);
			continue;
		}
		m->keys[m->n] = strdup(e->key);
		if (!m->keys[m->n]) {
			s = HOIST_E_NOMEM;
			break;
		}
		if (++m->n == RM_BATCH) {
			s = rm_flush(m, r);
		}
	}
	if (s == HOIST_OK) {
		s = rm_flush(m, r);
	}
	hoist_object_lister_free(l);
	return s;
}

int cli_rm(int argc, char **argv)
{
	struct objcmd o = { .s.cmd = "rm" };
	struct hoist_result r = HOIST_RESULT_INIT;
	struct rm_run *m = NULL;
	hoist_status s;
	size_t i;
	int rc;

	if (obj_start(&o, argc, argv, rm_help, "rf", 0, &rc))
		goto out;
	if (!o.recursive && !*o.s.url.key) {
		cli_usage_error(o.s.cmd, "'%s' names no object key (rm -r for a prefix)",
				argv[argc - 1]);
		rc = CLI_EXIT_USAGE;
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		fputs("hoist: out of memory\n", stderr);
		rc = cli_exit_code(HOIST_E_NOMEM);
		goto out;
	}
	m->o = &o;
	if (o.recursive && !o.force && isatty(STDIN_FILENO) &&
	    !rm_confirm(&o, argv[argc - 1])) {
		fputs("hoist: rm: nothing deleted\n", stderr);
		rc = CLI_EXIT_OK;
		goto out;
	}
	if (o.recursive) {
		s = rm_tree(m, &r);
	} else {
		m->keys[0] = strdup(o.s.url.key);
		m->n = m->keys[0] ? 1 : 0;
		s = m->n ? rm_flush(m, &r) : HOIST_E_NOMEM;
	}
	if (s != HOIST_OK) {
		rc = cli_session_fail(&o.s, &r, s);
		goto out;
	}
	rc = m->failed ? CLI_EXIT_SOME_FAILED : CLI_EXIT_OK;
	if (o.s.common.json) {
		cli_json_print(stdout, json_pack("{s:s,s:o,s:o,s:o,s:o}", "status",
						 m->failed ? "SOME_FAILED" : "OK", "bucket",
						 cli_json_str(o.s.url.bucket), "prefix",
						 cli_json_str(o.s.url.key), "deleted",
						 cli_json_u64(m->deleted), "failed",
						 cli_json_u64(m->failed)));
	} else if (!o.s.common.quiet) {
		fprintf(stdout, "deleted %" PRIu64 " object%s", m->deleted,
			m->deleted == 1 ? "" : "s");
		if (m->failed) {
			fprintf(stdout, ", %" PRIu64 " not deleted", m->failed);
		}
		fputc('\n', stdout);
	}
out:
	if (m) {
		for (i = 0; i < m->n; i++) {
			free(m->keys[i]);
		}
		free(m);
	}
	hoist_result_cleanup(&r);
	cli_session_close(&o.s);
	return rc;
}
