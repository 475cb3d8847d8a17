/* cookie: reading the Cookie request header and building Set-Cookie values. */
#ifndef PAYWALLD_COOKIE_H
#define PAYWALLD_COOKIE_H

#include <stdbool.h>
#include <stddef.h>

/* The longest cookie name the gateway reads or writes. */
#define COOKIE_NAME_MAX 64
/* The longest cookie value (without quotes) the gateway reads or writes;
 * a buffer of COOKIE_VALUE_MAX + 1 bytes holds any value cookie_get returns. */
#define COOKIE_VALUE_MAX 8192

/*
 * Finds the value of the cookie called name in a Cookie request header value
 * (RFC 6265 section 5.4 syntax: "a=1; b=2"). Returns 0 and writes the value
 * (NUL-terminated, at most outlen-1 bytes) to out when the cookie is present
 * exactly once with a valid value; returns -1 when absent; returns -2 when
 * present more than once (ambiguous: the caller must treat it as absent AND
 * may report it), or when its value is malformed or longer than outlen-1
 * (or than COOKIE_VALUE_MAX).
 * Surrounding double quotes of a value are removed (RFC 6265 cookie-value
 * allows DQUOTE *cookie-octet DQUOTE). Cookie names compare case-sensitively.
 * Whitespace: optional spaces/tabs around ';' and around the whole value are
 * ignored. A pair without '=' is skipped (browsers send such). Valid value
 * octets are RFC 6265 cookie-octet: 0x21, 0x23-0x2B, 0x2D-0x3A, 0x3C-0x5B,
 * 0x5D-0x7E.
 * A pair with spaces or tabs between the name and '=' ("a =1") counts as
 * present but malformed (-2): lenient parsers, the backend's perhaps, read
 * it as the cookie, so the gateway does not pick one reading.
 * header may be NULL (no Cookie header): -1. A name that is not valid
 * (cookie_name_is_valid) is never found: -1. out is written only on 0;
 * with outlen 0 nothing fits, so a present cookie gives -2.
 * Thread-safe, no allocation.
 */
int cookie_get(const char *header, const char *name, char *out, size_t outlen);

/* Attributes of a Set-Cookie the gateway sends. */
struct cookie_attrs {
	const char *path;      /* NULL: "/" */
	long long max_age_s;   /* < 0: session cookie (no Max-Age); 0 deletes the cookie */
	bool http_only;
	bool secure;
	const char *same_site; /* NULL: omitted; else "Lax", "Strict" or "None" */
};

/*
 * Builds a Set-Cookie header value "name=value; Path=/; Max-Age=N; HttpOnly;
 * Secure; SameSite=Lax" into out. Returns 0, or -1 when name or value is not
 * a valid token / cookie-value (never emits a header that could be split or
 * injected: no CR, LF, ';', ',' or space in name/value) or out is too small.
 * The value may be empty (to clear a cookie) or quoted, at most
 * COOKIE_VALUE_MAX bytes. a may be NULL: a session cookie with Path=/ only.
 * Also -1, because a browser would drop or misplace the cookie:
 *  - a path not starting with '/' or holding a byte outside 0x21-0x7E, ';'
 *    or ',';
 *  - same_site other than exactly "Lax", "Strict" or "None", or "None"
 *    without secure;
 *  - a name starting "__Secure-" without secure, or "__Host-" without
 *    secure or with a path other than "/" (RFC 6265bis cookie prefixes,
 *    matched case-insensitively as browsers do).
 * On -1 out holds "" when outlen > 0. The strings stay the caller's.
 * Thread-safe, no allocation.
 */
int cookie_build(const char *name, const char *value, const struct cookie_attrs *a,
		 char *out, size_t outlen);

/* True when name is an RFC 6265 / RFC 7230 token (valid cookie name) of 1
 * to COOKIE_NAME_MAX bytes. NULL is not valid. Thread-safe. */
bool cookie_name_is_valid(const char *name);

#endif
