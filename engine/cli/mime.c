/*
 * mime.c - the Content-Type of a file guessed from its name, as the
 * system's /etc/mime.types says (Debian's media-types package; the same
 * table curl, Python and the web servers read), for uploads without
 * --content-type.
 *
 * The table is read once, lazily, and kept for the process: a tree of a
 * million files pays for one read.  Without the file every type is
 * application/octet-stream, as before.
 * Threading: cli_guess_content_type may be called from any thread; the
 * first call reads the table under a pthread_once.
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

/* Lines are "type ext ext ...", '#' starts a comment. */
static void load(void)
{
	FILE *f = fopen(MIME_TYPES, "r");
	char line[1024];
	size_t cap = 0;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save = NULL, *type, *ext;
		char *hash = strchr(line, '#');

		if (hash) {
			*hash = '\0';
		}
		type = strtok_r(line, " \t\r\n", &save);
		if (!type || !strchr(type, '/'))
			continue;
		while ((ext = strtok_r(NULL, " \t\r\n", &save))) {
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

const char *cli_guess_content_type(const char *path)
{
	const char *base, *dot;
	struct mime_entry key, *hit;
	char ext[32];
	size_t i, n;

	if (!path)
		return NULL;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base || !dot[1])
		return NULL;
	n = strlen(dot + 1);
	if (n >= sizeof(ext))
		return NULL;
	for (i = 0; i <= n; i++) {
		ext[i] = (char)tolower((unsigned char)dot[1 + i]);
	}
	pthread_once(&once, load);
	key.ext = ext;
	hit = ntable ? bsearch(&key, table, ntable, sizeof(*table), by_ext) : NULL;
	/* bsearch may land on any of equal keys: step back to the first. */
	while (hit && hit > table && by_ext(hit - 1, &key) == 0) {
		hit--;
	}
	return hit ? hit->type : NULL;
}
