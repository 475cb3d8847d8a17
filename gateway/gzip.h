/* gzip: whole-buffer gzip encoding and bounded decoding (zlib). */
#ifndef PAYWALLD_GZIP_H
#define PAYWALLD_GZIP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Decodes a gzip or zlib-deflate body of len bytes into a malloc'd buffer
 * of at most max bytes (*out, *outlen). A body that would decode past max
 * (a compression bomb, or just a huge page) fails. 0 / -1. Thread-safe.
 */
int gzip_decode(const char *in, size_t len, size_t max, char **out, size_t *outlen);
/* Encodes len bytes as gzip into a malloc'd buffer. 0 / -1. */
int gzip_encode(const char *in, size_t len, char **out, size_t *outlen);
/* True when an Accept-Encoding value accepts gzip (q=0 means refused). */
bool gzip_accepted(const char *accept_encoding);

#endif
