/*
 * mime.c - the Content-Type of a file guessed from its name, as the
 * system's /etc/mime.types says (Debian's media-types package; the same
 * table curl, Python and the web servers read), for uploads without
 * --content-type.
 *
 * For a tree the table is read once, lazily, and kept for the process: a
 * million files pay for one read.  One file (cli_guess_content_type_one)
 * only scans the file for its extension: building the table of ~2,000
 * entries cost a one-file run ~25 page faults and ~0.4 ms.  Without the
 * file every type is application/octet-stream, as before.
 * Threading: cli_guess_content_type may be called from any thread; the
 * first call reads the table under a pthread_once.
 * cli_guess_content_type_one's answer lives in a thread-local buffer.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

struct mime_entry {
	char *ext;                 /* lower case, without the dot */
	char *type;
	size_t line;               /* order in the file: the first one wins */
};

static struct mime_entry *table;
static size_t ntable;
static pthread_once_t once = PTHREAD_ONCE_INIT;
#define MIME_TYPES "/etc/mime.types"

static int by_ext(const void *a, const void *b)
{
	return strcmp(((const struct mime_entry *)a)->ext, ((const struct mime_entry *)b)->ext);
}

static int by_ext_then_line(const void *a, const void *b)
{
	const struct mime_entry *x = a, *y = b;
	int c = strcmp(x->ext, y->ext);

	return c ? c : (x->line < y->line ? -1 : x->line > y->line);
}

static void add(size_t *cap, const char *ext, const char *type)
{
	struct mime_entry *e;
	char *x, *t;
	size_t i;

	if (ntable == *cap) {
		size_t ncap = *cap ? *cap * 2 : 512;

		e = realloc(table, ncap * sizeof(*e));
		if (!e)
			return;
		table = e;
		*cap = ncap;
	}
	x = strdup(ext);
	t = strdup(type);
	if (!x || !t) {
		free(x);
		free(t);
		return;
	}
	for (i = 0; x[i]; i++) {
		x[i] = (char)tolower((unsigned char)x[i]);
	}
	table[ntable].ext = x;
	table[ntable].type = t;
	table[ntable].line = ntable;
	ntable++;
}

/* Lines are "type ext ext ...", '#' starts a comment.  Splits line in
 * place: returns its type, or NULL when it names none; the extensions
 * then come from next_ext. */
static char *line_type(char *line, char **save)
{
	char *hash = strchr(line, '#'), *type;

	if (hash) {
		*hash = '\0';
	}
	type = strtok_r(line, " \t\r\n", save);
	return type && strchr(type, '/') ? type : NULL;
}

static char *next_ext(char **save)
{
	return strtok_r(NULL, " \t\r\n", save);
}

static void load(void)
{
	FILE *f = fopen(MIME_TYPES, "r");
	char line[1024];
	size_t cap = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *type = line_type(line, &save), *ext;

		while (type && (ext = next_ext(&save))) {
			add(&cap, ext, type);
		}
	}
	fclose(f);
	/* The first line naming an extension wins, as in the file's own
	 * convention. */
	if (ntable) {
		qsort(table, ntable, sizeof(*table), by_ext_then_line);
	}
}

/* The extension of path's last name, lower case, into ext; 0 when it has
 * none (".profile", "a.", no dot) or one longer than extlen - 1. */
static int ext_of(const char *path, char *ext, size_t extlen)
{
	const char *base, *dot;
	size_t i, n;

	if (!path)
		return 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !dot[1])
		return 0;
	n = strlen(dot + 1);
	if (n >= extlen)
		return 0;
	for (i = 0; i <= n; i++) {
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	}
	return 1;
}

const char *cli_guess_content_type_one(const char *path)
{
	static _Thread_local char found[128];
	char ext[32], line[1024];
	const char *type = NULL;
	FILE *f;

	if (!ext_of(path, ext, sizeof(ext)) || !(f = fopen(MIME_TYPES, "r")))
		return NULL;
	/* The first line naming ext wins, as in the table. */
	while (!type && fgets(line, sizeof(line), f)) {
		char *save = NULL, *e;

		type = line_type(line, &save);
		while (type && (e = next_ext(&save)) && strcasecmp(e, ext) != 0) {
			/* another extension of this type */
		}
		if (type && !e) {
			type = NULL;
		}
	}
	fclose(f);
	if (!type)
		return NULL;
	if (strlen(type) >= sizeof(found))
		return cli_guess_content_type(path); /* the table has room */
	memcpy(found, type, strlen(type) + 1);
	return found;
}

const char *cli_guess_content_type(const char *path)
{
	struct mime_entry key, *hit;
	char ext[32];

	if (!ext_of(path, ext, sizeof(ext)))
		return NULL;
	pthread_once(&once, load);
	key.ext = ext;
	hit = ntable ? bsearch(&key, table, ntable, sizeof(*table), by_ext) : NULL;
	/* bsearch may land on any of equal keys: step back to the first. */
	while (hit && hit > table && by_ext(hit - 1, &key) == 0) {
		hit--;
	}
	return hit ? hit->type : NULL;
}
