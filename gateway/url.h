/* url: checks of the client's request target and the upstream URL. */
#ifndef PAYWALLD_URL_H
#define PAYWALLD_URL_H

#include <stddef.h>

#define URL_TARGET_MAX 8192

/*
 * Checks a request target in origin form ("/path?query"): it starts with
 * '/', is at most URL_TARGET_MAX bytes, holds only RFC 3986 characters,
 * and every '%' starts a valid escape. Absolute-form, authority-form and
 * '*' targets are refused: the gateway is a reverse proxy, not a forward
 * one. Returns NULL when acceptable, else a short reason for a 400.
 */
const char *url_check_target(const char *target);

/*
 * Writes base (without its trailing '/') followed by target into out.
 * Returns 0, or -1 when out is too small.
 */
int url_join(const char *base, const char *target, char *out, size_t outlen);

#endif
