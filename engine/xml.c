/*
 * xml.c - expat reader turning a document into flat (path, text) events,
 * and the escaping the writers need (see xml.h).
 *
 * Design: one expat parser per call, fed the whole document at once (the
 * protocol's documents are small and arrive fully buffered).  A stack of
 * element frames, one per open element, holds where the element's name
 * starts in the joined path and the text gathered so far; the END event
 * hands that text out.  Every hostile-input limit is enforced here: no
 * DOCTYPE at all (which rules out entity declarations, so no billion laughs
 * and no external entities; parameter entities are off too), depth at most
 * XML_MAX_DEPTH, element text at most XML_MAX_TEXT, and the whole document at
 * most XML_MAX_DOC.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: reentrant; all state lives in the struct on xml_parse's stack.
 */
#include "xml.h"

#include <stdio.h>
#include <string.h>

#include <expat.h>

/*
 * Largest document accepted.  The biggest legitimate one is a
 * CompleteMultipartUpload body for 10,000 parts (~1 MiB with Go v2's
 * escaping) or a ListParts page; 16 MiB leaves room for pretty-printing
 * while keeping a hostile body from costing more than a bounded parse.
 */
#define XML_MAX_DOC (16u * 1024 * 1024)

struct frame {
	size_t path_len; /* length of the path before this element's name */
	struct buf text; /* direct character data, unescaped */
};

struct xml_state {
	XML_Parser parser;
	xml_event_fn cb;
	void *userdata;
	struct buf path;
	struct frame stack[XML_MAX_DEPTH];
	int depth;
	int stop;        /* callback's non-zero return, or -1 for our own error */
	char *err;
	size_t errlen;
};

static void fail(struct xml_state *st, int code, const char *why)
{
	if (st->stop)
		return;
	st->stop = code;
	if (st->err && st->errlen && why) {
		snprintf(st->err, st->errlen, "%s", why);
	}
	XML_StopParser(st->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **atts)
{
	struct xml_state *st = ud;
	struct frame *f;
	int rc;

	(void)atts;
	if (st->stop)
		return;
	if (st->depth >= XML_MAX_DEPTH) {
		fail(st, -1, "XML nested too deeply");
		return;
	}
	f = &st->stack[st->depth];
	f->path_len = st->path.len;
	buf_reset(&f->text);
	if ((st->depth && buf_putc(&st->path, '/') < 0) || buf_puts(&st->path, name) < 0) {
		fail(st, -1, "out of memory");
		return;
	}
	st->depth++;
	rc = st->cb(st->userdata, XML_EV_START, st->path.data,
		    st->path.data + st->path.len - strlen(name), NULL, 0);
	if (rc) {
		fail(st, rc, "stopped by the caller");
	}
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct xml_state *st = ud;
	struct frame *f;
	int rc;

	if (st->stop || st->depth == 0)
		return;
	f = &st->stack[st->depth - 1];
	rc = st->cb(st->userdata, XML_EV_END, st->path.data,
		    st->path.data + st->path.len - strlen(name),
		    f->text.data ? f->text.data : "", f->text.len);
	st->depth--;
	st->path.len = f->path_len;
	if (st->path.data) {
		st->path.data[st->path.len] = '\0';
	}
	if (rc) {
		fail(st, rc, "stopped by the caller");
	}
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct xml_state *st = ud;
	struct frame *f;

	/* Text outside the root element cannot happen (expat rejects it). */
	if (st->stop || st->depth == 0)
		return;
	f = &st->stack[st->depth - 1];
	if ((size_t)len > XML_MAX_TEXT - f->text.len) {
		fail(st, -1, "XML element text too long");
		return;
	}
	if (buf_append(&f->text, s, (size_t)len) < 0) {
		fail(st, -1, "out of memory");
	}
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid,
			       const XML_Char *pubid, int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	fail(ud, -1, "XML DOCTYPE refused");
}

/* Belt and braces: entity declarations only occur inside a DOCTYPE, which
 * on_doctype already refuses before any is seen. */
static void XMLCALL on_entity(void *ud, const XML_Char *name, int is_param,
			      const XML_Char *value, int value_len, const XML_Char *base,
			      const XML_Char *sysid, const XML_Char *pubid,
			      const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	fail(ud, -1, "XML entity declaration refused");
}

int xml_parse(const char *doc, size_t len, xml_event_fn cb, void *userdata,
	      char *err, size_t errlen)
{
	struct xml_state st;
	int result = -1;

	memset(&st, 0, sizeof(st));
	st.cb = cb;
	st.userdata = userdata;
	st.err = err;
	st.errlen = errlen;
	if (err && errlen) {
		err[0] = '\0';
	}
	if (len > XML_MAX_DOC) {
		if (err && errlen) {
			snprintf(err, errlen, "XML document larger than %u bytes", XML_MAX_DOC);
		}
		return -1;
	}
	st.parser = XML_ParserCreate(NULL);
	if (!st.parser) {
		if (err && errlen) {
			snprintf(err, errlen, "out of memory");
		}
		return -1;
	}
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, on_start, on_end);
	XML_SetCharacterDataHandler(st.parser, on_text);
	XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
	XML_SetEntityDeclHandler(st.parser, on_entity);
	XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);

	/* A stop we asked for wins over expat's verdict: expat reports it as
	 * an abort, or as success when it came from the root's END handler. */
	if (XML_Parse(st.parser, doc ? doc : "", (int)len, XML_TRUE) != XML_STATUS_OK &&
	    !st.stop) {
		if (err && errlen) {
			snprintf(err, errlen, "malformed XML at line %lu: %s",
				 (unsigned long)XML_GetCurrentLineNumber(st.parser),
				 XML_ErrorString(XML_GetErrorCode(st.parser)));
		}
		result = -1;
	} else {
		result = st.stop;
	}

	for (int i = 0; i < XML_MAX_DEPTH; i++) {
		buf_free(&st.stack[i].text);
	}
	buf_free(&st.path);
	XML_ParserFree(st.parser);
	return result;
}

/* Other control characters cannot be written in XML 1.0 at all; text that
 * may hold them (object keys) is sent with encoding-type=url instead. */
int xml_escape_append(struct buf *b, const char *s)
{
	const char *run = s;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		/* a literal CR would come back as LF (XML end-of-line
		 * normalisation); the reference keeps it */
		case '\r': rep = "&#13;"; break;
		default: continue;
		}
		if (buf_append(b, run, (size_t)(s - run)) < 0 || buf_puts(b, rep) < 0)
			return -1;
		run = s + 1;
	}
	return buf_append(b, run, (size_t)(s - run));
}

int xml_elem_append(struct buf *b, const char *name, const char *text)
{
	if (buf_putc(b, '<') < 0 || buf_puts(b, name) < 0 || buf_putc(b, '>') < 0)
		return -1;
	if (text && xml_escape_append(b, text) < 0)
		return -1;
	if (buf_puts(b, "</") < 0 || buf_puts(b, name) < 0 || buf_putc(b, '>') < 0)
		return -1;
	return 0;
}
