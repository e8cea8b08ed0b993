/*
 * session.c - what a command that makes blocking calls (abort, ls-uploads,
 * ls-parts, ls, stat, rm) holds once its options are parsed: the URL, the
 * shared options and one engine.
 *
 * Owns: turning the one URL argument and the common options into an
 * engine (a wrong URL or option is one usage line, exit 2; an engine the
 * library refuses is one line and its exit code), --verbose logging of the
 * engine's diagnostics (the calls block, so nothing else writes to the
 * terminal meanwhile), the failure report of a call, and the cleanup.
 * Threading: main thread only.
 */
#include <stdio.h>

#include "cli.h"

static void session_log(const char *line, void *userdata)
{
	(void)userdata;
	fputs("* ", stderr);
	cli_print_safe(stderr, line);
	fputc('\n', stderr);
}

int cli_session_open(struct cli_session *s, const char *url_text, int need_key, int *rc)
{
	struct hoist_engine_options eo = HOIST_ENGINE_OPTIONS_INIT;
	struct hoist_result r = HOIST_RESULT_INIT;
	hoist_status st;

	*rc = CLI_EXIT_USAGE;
	if (cli_url_parse(&s->url, url_text))
		return -1;
	s->url_ok = 1;
	if (need_key && !*s->url.key) {
		cli_usage_error(s->cmd, "'%s' names no object key", url_text);
		return -1;
	}
	if (cli_engine_options(&eo, &s->common, &s->url, s->cmd))
		return -1;
	if (s->common.verbose) {
		eo.log = session_log;
	}
	st = hoist_engine_new(&s->engine, &eo, &r);
	if (st != HOIST_OK) {
		fprintf(stderr, "hoist: %s\n", r.message ? r.message : hoist_strerror(st));
		hoist_result_cleanup(&r);
		*rc = cli_exit_code(st);
		return -1;
	}
	return 0;
}

void cli_session_close(struct cli_session *s)
{
	hoist_engine_free(s->engine);
	s->engine = NULL;
	if (s->url_ok) {
		cli_url_cleanup(&s->url);
		s->url_ok = 0;
	}
	cli_common_cleanup(&s->common);
}

int cli_session_fail(const struct cli_session *s, struct hoist_result *r, hoist_status st)
{
	r->status = st;
	if (s->common.json) {
		cli_print_result_json(stdout, r, 0, NULL, 0);
	}
	cli_print_failure(r, st);
	return cli_exit_code(st);
}
