/*
 * callback.h - the OSS upload callback headers (private).
 *
 * Owns: the JSON of x-oss-callback and x-oss-callback-var and their base64
 * form.  Threading: pure functions.
 *
 * Layer: runtime and network (below the transfer; see ARCHITECTURE.md).
 */
#ifndef HOIST_CALLBACK_H
#define HOIST_CALLBACK_H

#include <stddef.h>

#include "buf.h"

/* Appends s as a JSON string literal (quotes included): ", \ and control
 * characters escaped, other bytes (UTF-8) passed through.  0 or -1. */
int json_string_append(struct buf *b, const char *s);

/* base64(JSON) for x-oss-callback: callbackUrl and callbackBody required,
 * host and body type optional (NULL).  NULL on ENOMEM. */
char *callback_header(const char *url, const char *body, const char *host,
		      const char *body_type);
/* base64(JSON) for x-oss-callback-var from "x:name=value" strings.
 * Returns NULL on ENOMEM and sets *bad to the index of a malformed
 * variable (no '=', or a name not starting with "x:"), else -1. */
char *callback_var_header(const char *const *vars, size_t n, long *bad);

#endif
