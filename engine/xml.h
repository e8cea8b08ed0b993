/*
 * xml.h - reading and writing the small XML documents of the protocol.
 *
 * Owns: an expat-based reader that turns a document into a flat stream of
 * (path, text) events, and escaping for the writer side.  Both the engine
 * (Initiate/Complete/ListParts/ListMultipartUploads/Error results) and ossemu
 * (CompleteMultipartUpload bodies) parse through here, so there is one place
 * that limits depth, text length and entity expansion of hostile input.
 *
 * The reader refuses DOCTYPE / entity declarations (no billion laughs, no
 * external entities), nesting deeper than XML_MAX_DEPTH, and element text
 * longer than XML_MAX_TEXT.  Entities like &#34; &quot; &amp; are unescaped.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: reentrant; a parse uses only its own state.
 */
#ifndef HOIST_XML_H
#define HOIST_XML_H

#include <stddef.h>

#include "buf.h"

#define XML_MAX_DEPTH 16
#define XML_MAX_TEXT  (64 * 1024)

enum xml_event {
	XML_EV_START, /* an element opened: text is NULL */
	XML_EV_END    /* an element closed: text is its full unescaped text
	                 content (direct character data only), len its length */
};

/* path is "/"-joined element names from the root, e.g.
 * "ListPartsResult/Part/PartNumber"; name is the last component.  Return 0
 * to go on, non-zero to stop the parse (xml_parse then returns that value). */
typedef int (*xml_event_fn)(void *userdata, enum xml_event ev, const char *path,
			    const char *name, const char *text, size_t len);

/* Returns 0 on success, the callback's non-zero value if it stopped, or -1
 * if the document is malformed or breaks a limit (err gets a one-line reason
 * when err is non-NULL). */
int xml_parse(const char *doc, size_t len, xml_event_fn cb, void *userdata,
	      char *err, size_t errlen);

/* Appends s with & < > " ' escaped.  Returns 0 or -1 (ENOMEM). */
int xml_escape_append(struct buf *b, const char *s);
/* Appends "<name>escaped text</name>". */
int xml_elem_append(struct buf *b, const char *name, const char *text);

#endif
