/*
 * delete.c - the DeleteMultipleObjects body parser (delete.h), through the
 * shared expat reader (engine/xml.h: no DOCTYPE, bounded depth and text).
 *
 * Owns: the body's rules (docs/oss-get-list-delete.md §5.2): a <Delete>
 * root, 1 to 1,000 <Object>s each with one non-empty <Key> (its
 * <VersionId> is read and ignored: no versioning here), <Quiet> true or
 * false.  The operation around it is object.c's.
 *
 * Threading: reentrant.
 */
#include "delete.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xml.h"

struct parse {
	struct delete_req *d;
	int root_ok;
	int has_key;      /* the current <Object> had a <Key> */
	int bad;
	const char *ec;
};

static int on_xml(void *ud, enum xml_event ev, const char *path, const char *name,
		  const char *text, size_t len)
{
	struct parse *p = ud;

	(void)name;
	if (ev == XML_EV_START) {
		if (strcmp(path, "Delete") == 0)
			p->root_ok = 1;
		else if (strcmp(path, "Delete/Object") == 0)
			p->has_key = 0;
		return 0;
	}
	if (strcmp(path, "Delete/Quiet") == 0) {
		if (len == 4 && strncasecmp(text, "true", 4) == 0) {
			p->d->quiet = 1;
		} else if (!(len == 5 && strncasecmp(text, "false", 5) == 0)) {
			p->ec = "0016-00000610";
			return p->bad = 1;
		}
	} else if (strcmp(path, "Delete/Object/Key") == 0) {
		char **v;

		if (len == 0 || memchr(text, '\0', len) || p->has_key) {
			p->ec = len == 0 ? "0016-00000613" : NULL;
			return p->bad = 1;
		}
		if (p->d->n == DELETE_MAX_KEYS)
			return p->bad = 1;
		v = realloc(p->d->keys, (p->d->n + 1) * sizeof(*v));
		if (!v)
			return p->bad = 1;
		p->d->keys = v;
		v[p->d->n] = strndup(text, len);
		if (!v[p->d->n])
			return p->bad = 1;
		p->d->n++;
		p->has_key = 1;
	} else if (strcmp(path, "Delete/Object") == 0 && !p->has_key) {
		p->ec = "0016-00000613";
		return p->bad = 1;
	}
	return 0;
}

enum err_id delete_parse(const char *body, size_t len, struct delete_req *out, const char **ec)
{
	struct parse p;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.d = out;
	*ec = NULL;
	if (len == 0 || xml_parse(body, len, on_xml, &p, NULL, 0) != 0 || p.bad || !p.root_ok ||
	    out->n == 0) {
		*ec = p.ec;
		delete_req_cleanup(out);
		return E_MALFORMED_XML;
	}
	return E_OK;
}

void delete_req_cleanup(struct delete_req *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->keys[i]);
	free(d->keys);
	memset(d, 0, sizeof(*d));
}
