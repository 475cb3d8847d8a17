/* buf: a growable byte buffer with a hard maximum size. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int buf_reserve(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need > b->max)
		return -1;
	/* data must exist even for an empty append: callers read it as a string. */
	if (b->data != NULL && need <= b->cap)
		return 0;
	/* Start at 16 KiB: most uses are network reads of about that size. */
	cap = b->cap ? b->cap : (b->max < 16384 ? b->max : 16384);
	while (cap < need)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	if (cap < need)
		return -1;
	p = realloc(b->data, cap + 1);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -1;
	if (buf_reserve(b, b->len + n) != 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	/* Always terminated, so text users may treat data as a C string. */
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
