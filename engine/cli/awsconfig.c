/*
 * awsconfig.c - credentials and region for s3:// from the AWS CLI's files.
 *
 * Owns: reading ~/.aws/credentials (or $AWS_SHARED_CREDENTIALS_FILE) and
 * ~/.aws/config (or $AWS_CONFIG_FILE) for the profile $AWS_PROFILE (or
 * "default"), the way the AWS CLI does for the keys hoist needs:
 * aws_access_key_id, aws_secret_access_key, aws_session_token and region.
 * Only consulted when the environment variables are not set, which is the
 * AWS CLI's precedence too.  The files are INI: "[section]" lines, then
 * "key = value" lines; '#' and ';' start comments.  In the config file a
 * named profile's section is "[profile NAME]", the default's "[default]".
 * Values are kept in memory only for the engine options; never printed.
 * Threading: main thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t') {
		s++;
	}
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) {
		*--e = '\0';
	}
	return s;
}

int cli_ini_lookup(const char *path, const char *want, const char *const keys[],
		   char **outs[], size_t nkeys)
{
	char line[4096];
	int in_section = 0, found = 0;
	FILE *f;
	size_t i;

	if (!path) {
		return 0;
	}
	f = fopen(path, "r");
	if (!f) {
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		if (*s == '#' || *s == ';' || *s == '\0') {
			continue;
		}
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (end) {
				*end = '\0';
				in_section = strcmp(trim(s + 1), want) == 0;
				found |= in_section;
			}
			continue;
		}
		eq = strchr(s, '=');
		if (!in_section || !eq) {
			continue;
		}
		*eq = '\0';
		for (i = 0; i < nkeys; i++) {
			if (!*outs[i] && strcmp(trim(s), keys[i]) == 0) {
				*outs[i] = strdup(trim(eq + 1));
			}
		}
	}
	fclose(f);
	return found;
}

/* $name, or $HOME/rel when name is unset; malloc'd or NULL. */
static char *aws_file(const char *name, const char *rel)
{
	const char *v = getenv(name), *home = getenv("HOME");
	size_t n;
	char *p;

	if (v && *v) {
		return strdup(v);
	}
	if (!home || !*home) {
		return NULL;
	}
	n = strlen(home) + strlen(rel) + 2;
	p = malloc(n);
	if (p) {
		snprintf(p, n, "%s/%s", home, rel);
	}
	return p;
}

void cli_aws_profile_load(struct cli_aws_profile *p, int want_keys, int want_region)
{
	const char *profile = getenv("AWS_PROFILE");
	char *path, *section;
	size_t n;

	if (!profile || !*profile) {
		profile = "default";
	}
	if (want_keys) {
		static const char *const keys[] = { "aws_access_key_id", "aws_secret_access_key",
						    "aws_session_token" };
		char **outs[] = { &p->access_key_id, &p->secret_access_key, &p->session_token };

		path = aws_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
		cli_ini_lookup(path, profile, keys, outs, 3);
		free(path);
	}
	if (want_region) {
		static const char *const keys[] = { "region" };
		char **outs[] = { &p->region };

		n = strlen(profile) + sizeof("profile ");
		section = malloc(n);
		if (!section) {
			return;
		}
		if (strcmp(profile, "default") == 0) {
			snprintf(section, n, "default");
		} else {
			snprintf(section, n, "profile %s", profile);
		}
		path = aws_file("AWS_CONFIG_FILE", ".aws/config");
		cli_ini_lookup(path, section, keys, outs, 1);
		free(path);
		free(section);
	}
}

void cli_aws_profile_cleanup(struct cli_aws_profile *p)
{
	/* Secrets are wiped before the memory goes back to the allocator
	 * (explicit_bzero: a memset before free may be optimised away). */
	if (p->secret_access_key) {
		explicit_bzero(p->secret_access_key, strlen(p->secret_access_key));
	}
	if (p->session_token) {
		explicit_bzero(p->session_token, strlen(p->session_token));
	}
	free(p->access_key_id);
	free(p->secret_access_key);
	free(p->session_token);
	free(p->region);
	memset(p, 0, sizeof(*p));
}
