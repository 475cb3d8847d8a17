/* route: path normalization and route pattern matching for access decisions. */
#ifndef PAYWALLD_ROUTE_H
#define PAYWALLD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_TARGET_MAX 8192
#define ROUTE_PATTERN_MAX 512

/*
 * Normalizes the path of a request target (origin form, already checked by
 * url_check_target) and writes "PATH[?QUERY]" to out: the normalized path
 * followed by the query exactly as received. *path_len receives the length
 * of the path part. The gateway matches routes on this path AND forwards
 * exactly this target upstream, so the backend can never see a different
 * path than the one the decision was made on.
 *
 * The path (up to the first '?') is normalized in one pass: escapes of
 * unreserved characters are decoded, other escapes keep upper-case hex;
 * ";params" are dropped from each segment; "." and ".." segments are
 * resolved (RFC 3986 5.2.4, never above the root); trailing dots of a
 * segment are dropped and segments of three or more dots removed; empty
 * segments collapse; a trailing slash and the client's case are kept.
 *
 * Refused, because some backend decodes them into path structure the
 * decision did not see: an encoded '/', '\', NUL or ';', a '%25' that the
 * output would leave in front of two hex digits (a double-encoded escape),
 * escaped bytes that are not valid UTF-8 (overlong forms of '.' and '/'),
 * a raw '\', any raw character outside RFC 3986 pchar, a malformed escape.
 *
 * Returns NULL, or a short reason for a 400 (then neither out nor
 * *path_len is written). A target longer than ROUTE_TARGET_MAX or an out
 * too small for the result gives "path too long". The caller owns out.
 * Thread-safe, no allocation (uses about ROUTE_TARGET_MAX bytes of stack).
 */
const char *route_normalize(const char *target, char *out, size_t outlen, size_t *path_len);

/*
 * Case-insensitive (ASCII) glob match of a normalized path against a route
 * pattern such as "/article/" followed by '*' (a comment cannot spell it):
 * '*' matches any run of characters, including '/' and the empty run;
 * every other character matches itself. So that pattern matches
 * "/article/x", "/article/x/" and "/article/a/b", not "/article".
 * A trailing '/' (not the root) is also ignored on both sides, as most
 * backends do: "/about" matches "/about/" and "/about/" matches "/about".
 * Both strings must be non-NULL. Iterative, O(len(pattern) * len(path))
 * at worst, whatever the pattern. Thread-safe, no allocation.
 */
bool route_glob_match(const char *pattern, const char *path);

/*
 * True when pattern is a valid route pattern: starts with '/', visible
 * ASCII, no '?', no '%', at most ROUTE_PATTERN_MAX bytes, and already in
 * normalized form ('*' counting as an ordinary character): no "//", no "."
 * or ".." segment, no segment ending in '.', no ';', no '\'. A pattern
 * outside that form could never match a normalized path, so an operator's
 * "/premium/./x" would silently leave that page ungated. NULL is
 * invalid. Thread-safe, no allocation.
 */
bool route_pattern_is_valid(const char *pattern);

#endif
