/* buf: a growable byte buffer with a hard maximum size. */
#ifndef PAYWALLD_BUF_H
#define PAYWALLD_BUF_H

#include <stddef.h>

/*
 * A buffer owns its bytes. `max` is fixed at init: an append that would
 * grow past it fails and leaves the buffer unchanged, so no input can make
 * the gateway allocate without bound. Not thread-safe.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
/* Returns 0, or -1 when the result would exceed max or memory runs out. */
int buf_append(struct buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string (not counting the NUL in len). */
int buf_append_str(struct buf *b, const char *s);
/* Makes room for a total of need bytes without changing the contents, so
 * a known final size costs one allocation. 0, or -1 past max. */
int buf_reserve(struct buf *b, size_t need);
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Frees the bytes; the struct may be reused after buf_init. NULL-safe. */
void buf_free(struct buf *b);

#endif
