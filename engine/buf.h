/*
 * buf.h - a growable byte string.
 *
 * Owns: one heap buffer that is always NUL-terminated, so it can be handed to
 * string functions.  Used by signing, XML building and response capture in
 * both the engine and ossemu.
 *
 * Layer: base, the core shared with ossemu (see ARCHITECTURE.md).
 * Threading: none; a buf belongs to whoever holds it.
 */
#ifndef HOIST_BUF_H
#define HOIST_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* NULL until the first append; always NUL-terminated after */
	size_t len;   /* bytes used, not counting the terminator */
	size_t cap;   /* bytes allocated */
};

#define BUF_INIT { NULL, 0, 0 }

/* All return 0 on success, -1 on allocation failure (the buf is unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
int buf_reserve(struct buf *b, size_t extra);
/* Hands the string to the caller (never NULL on success: "" for empty). */
char *buf_detach(struct buf *b);
void buf_reset(struct buf *b);  /* len = 0, keeps memory */
void buf_free(struct buf *b);   /* releases memory, back to BUF_INIT */

#endif
