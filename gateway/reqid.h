/* reqid: request ids, kept from a trusted proxy or generated. */
#ifndef PAYWALLD_REQID_H
#define PAYWALLD_REQID_H

#include <stdbool.h>

#define REQID_MAX 64
#define REQID_SIZE (REQID_MAX + 1)

/* True for [A-Za-z0-9._-]{1,64}: safe to log and to pass on as is. */
bool reqid_is_valid(const char *s);
/* Writes 32 hex characters of fresh randomness (128 bits) and a NUL.
 * Returns 0, or -1 when the random generator fails. Thread-safe. */
int reqid_generate(char out[REQID_SIZE]);

#endif
