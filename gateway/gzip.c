/* gzip: whole-buffer gzip encoding and bounded decoding (zlib). */
#include "gzip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define GZIP_CHUNK (64 * 1024)

int gzip_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen)
{
	z_stream z;
	char *buf = NULL;
	size_t cap = 0, used = 0;
	int rc = Z_OK;

	memset(&z, 0, sizeof(z));
	/* 32 + 15: accept both gzip and zlib headers. */
	if (inflateInit2(&z, 32 + 15) != Z_OK)
		return -1;
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	while (rc != Z_STREAM_END) {
		if (used == cap) {
			size_t ncap = cap ? cap * 2 : GZIP_CHUNK;
			char *nb;
			if (cap >= max || (ncap > max && (ncap = max) <= cap))
				goto fail;
			if ((nb = realloc(buf, ncap)) == NULL)
				goto fail;
			buf = nb;
			cap = ncap;
		}
		z.next_out = (Bytef *)buf + used;
		z.avail_out = (uInt)(cap - used);
		rc = inflate(&z, Z_NO_FLUSH);
		used = cap - z.avail_out;
		if (rc != Z_OK && rc != Z_STREAM_END)
			goto fail;
		if (rc == Z_OK && z.avail_in == 0 && z.avail_out > 0)
			goto fail;	/* truncated stream */
	}
	inflateEnd(&z);
	*out = buf;
	*outlen = used;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return -1;
}

int gzip_encode(const char *in, size_t len, char **out, size_t *outlen)
{
	z_stream z;
	uLong bound;
	char *buf;

	memset(&z, 0, sizeof(z));
	/* 16 + 15: a gzip wrapper. Level 6: zlib's default balance. */
	if (deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&z, (uLong)len) + 32;
	if ((buf = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return -1;
	}
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)buf;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(buf);
		return -1;
	}
	*outlen = bound - z.avail_out;
	*out = buf;
	deflateEnd(&z);
	return 0;
}

/* Walks "gzip;q=0.5, br" style lists: gzip (or *) with a non-zero q. */
bool gzip_accepted(const char *ae)
{
	const char *p = ae;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",;");
		size_t t = n;
		while (t > 0 && p[t - 1] == ' ')
			t--;
		bool named = (t == 4 && strncasecmp(p, "gzip", 4) == 0) || (t == 1 && p[0] == '*');
		const char *q = p + n, *end = p + strcspn(p, ",");
		bool zero = false;
		if (*q == ';') {
			const char *qv = strstr(q, "q=");
			if (qv != NULL && qv < end) {
				qv += 2;
				zero = qv[0] == '0' && (qv[1] != '.' || strspn(qv + 2, "0") >= (size_t)(end - qv - 2));
			}
		}
		if (named)
			return !zero;
		p = *end ? end + 1 : end;
	}
	return false;
}
