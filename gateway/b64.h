/* b64: strict base64url (RFC 4648 section 5, no padding), as JOSE uses it. */
#ifndef PAYWALLD_B64_H
#define PAYWALLD_B64_H

#include <stddef.h>

/* Bytes needed to decode n characters (an upper bound). */
#define B64_DECODED_MAX(n) (((n) / 4) * 3 + 3)
/* Characters needed to encode n bytes, plus the NUL. */
#define B64_ENCODED_SIZE(n) ((((n) + 2) / 3) * 4 + 1)

/*
 * Decodes exactly len characters of unpadded base64url into out (capacity
 * outcap). Strict, so that one byte string has one encoding: no padding,
 * no whitespace, no characters outside [A-Za-z0-9_-], a length of 4k+1 is
 * impossible, and the unused low bits of the last character must be zero.
 * Returns the decoded length, or -1. Thread-safe.
 */
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap);
/* Encodes n bytes into out (B64_ENCODED_SIZE(n) bytes), NUL-terminated.
 * Returns the length written, or -1 when out is too small. */
long b64url_encode(const unsigned char *in, size_t n, char *out, size_t outcap);

#endif
