/* route: path normalization and route pattern matching for access decisions. */
#include "route.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#define ROUTE_NOT_ORIGIN "request target is not in origin form"
#define ROUTE_TOO_LONG "path too long"
#define ROUTE_BAD_CHAR "invalid character in path"
#define ROUTE_BAD_ESCAPE "malformed percent-escape in path"
#define ROUTE_BACKSLASH "backslash in path"
#define ROUTE_ENC_SLASH "encoded slash in path"
#define ROUTE_ENC_BACKSLASH "encoded backslash in path"
#define ROUTE_ENC_NUL "encoded NUL in path"
#define ROUTE_ENC_SEMICOLON "encoded semicolon in path"
#define ROUTE_DOUBLE_ESCAPE "double-encoded escape in path"
#define ROUTE_BAD_UTF8 "invalid UTF-8 in path"

/* Where the bytes that escapes stand for are in a UTF-8 sequence. */
struct route_utf8 {
	unsigned need;		/* continuation bytes still expected */
	unsigned char lo, hi;	/* allowed range of the next one */
};

/* The path being built in buf: "/seg/seg", the final '/' added at the end. */
struct route_norm {
	char *buf;
	size_t cap;		/* usable bytes of buf */
	size_t len;
	struct route_utf8 utf8;
	bool trailing_slash;	/* the last segment was empty or removed */
};

static int route_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool route_is_unreserved(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 pchar, with '%' (escapes are checked apart) and '/'. */
static bool route_is_path_char(unsigned char c)
{
	return route_is_unreserved(c) || (c != '\0' && strchr("!$&'()*+,;=:@%/", c) != NULL);
}

static unsigned char route_ascii_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/*
 * Feeds one byte to the UTF-8 check (Unicode table 3-7): false for a byte
 * that cannot come next. Overlong forms, surrogates and code points above
 * U+10FFFF are refused, so "%C0%AE" can never stand for a '.'.
 */
static bool route_utf8_step(struct route_utf8 *u, unsigned char b)
{
	bool lead = u->need == 0;

	if (!lead && (b < u->lo || b > u->hi))
		return false;
	if (!lead)
		u->need--;
	u->lo = 0x80;
	u->hi = 0xbf;
	if (!lead || b < 0x80)
		return true;
	if (b >= 0xc2 && b <= 0xdf)
		u->need = 1;
	else if (b >= 0xe0 && b <= 0xef)
		u->need = 2;
	else if (b >= 0xf0 && b <= 0xf4)
		u->need = 3;
	else
		return false;
	if (b == 0xe0)
		u->lo = 0xa0;
	else if (b == 0xed)
		u->hi = 0x9f;
	else if (b == 0xf0)
		u->lo = 0x90;
	else if (b == 0xf4)
		u->hi = 0x8f;
	return true;
}

static bool route_put(struct route_norm *n, char c)
{
	if (n->len >= n->cap)
		return false;
	n->buf[n->len++] = c;
	return true;
}

/* Raw characters of the path part: only pchars, and a '\' gets its own reason. */
static const char *route_check_chars(const char *path, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (path[i] == '\\')
			return ROUTE_BACKSLASH;
		if (!route_is_path_char((unsigned char)path[i]))
			return ROUTE_BAD_CHAR;
	}
	return NULL;
}

/*
 * Copies the escape at path[k] ('%' and two hex digits, all before end):
 * decoded when it stands for an unreserved character, else with upper-case
 * hex. Refuses what a backend could decode into a separator.
 */
static const char *route_copy_escape(struct route_norm *n, const char *path, size_t end, size_t k)
{
	static const char hex[] = "0123456789ABCDEF";
	int hi = k + 1 < end ? route_hex_value(path[k + 1]) : -1;
	int lo = k + 2 < end && hi >= 0 ? route_hex_value(path[k + 2]) : -1;
	unsigned char b;

	if (hi < 0 || lo < 0)
		return ROUTE_BAD_ESCAPE;
	b = (unsigned char)(hi << 4 | lo);
	if (b == '/')
		return ROUTE_ENC_SLASH;
	if (b == '\\')
		return ROUTE_ENC_BACKSLASH;
	if (b == '\0')
		return ROUTE_ENC_NUL;
	/* A proxy that decodes before a Java server strips ";params" (nginx
	 * in front of Tomcat) turns "/free/..%3B/article/x" into
	 * "/free/..;/article/x", which Tomcat serves as /article/x. */
	if (b == ';')
		return ROUTE_ENC_SEMICOLON;
	if (!route_utf8_step(&n->utf8, b))
		return ROUTE_BAD_UTF8;
	if (route_is_unreserved(b))
		return route_put(n, (char)b) ? NULL : ROUTE_TOO_LONG;
	if (!route_put(n, '%') || !route_put(n, hex[b >> 4]) || !route_put(n, hex[b & 15]))
		return ROUTE_TOO_LONG;
	return NULL;
}

/*
 * Copies one segment, from path[*i] up to the next '/' or end, decoding
 * escapes and dropping ";params". Leaves *i on that '/' or on end.
 */
static const char *route_copy_segment(struct route_norm *n, const char *path, size_t end, size_t *i)
{
	size_t k;

	for (k = *i; k < end && path[k] != '/'; k++) {
		const char *why = NULL;

		if (path[k] == ';') {
			while (k < end && path[k] != '/')
				k++;
			break;
		}
		if (path[k] == '%') {
			why = route_copy_escape(n, path, end, k);
			k += 2;
		} else if (!route_utf8_step(&n->utf8, (unsigned char)path[k])) {
			why = ROUTE_BAD_UTF8;
		} else if (!route_put(n, path[k])) {
			why = ROUTE_TOO_LONG;
		}
		if (why != NULL)
			return why;
	}
	if (n->utf8.need > 0)
		return ROUTE_BAD_UTF8;
	*i = k;
	return NULL;
}

/*
 * Settles the segment just copied to buf[start..len), start being its '/'.
 * Made only of dots (or empty), it goes: "" and "." alone, ".." with the
 * segment before it, "..." and longer like "." (some servers ignore
 * trailing dots, so the segment names nothing). Otherwise its trailing dots
 * go, as Windows and some CMSs would ignore them.
 */
static void route_close_segment(struct route_norm *n, size_t start)
{
	size_t seglen = n->len - start - 1, dots = 0;

	while (dots < seglen && n->buf[n->len - 1 - dots] == '.')
		dots++;
	if (dots < seglen) {
		n->len -= dots;
		n->trailing_slash = false;
		return;
	}
	n->len = start;
	if (seglen == 2) {
		/* ".." takes the segment before it along, if there is one. */
		while (n->len > 0 && n->buf[n->len - 1] != '/')
			n->len--;
		if (n->len > 0)
			n->len--;
	}
	n->trailing_slash = true;
}

/*
 * A "%25" followed by two hex digits becomes an escape when a backend
 * decodes once more (a decoding proxy in front of it, say): "%252e%252e"
 * would be ".." there while it is an ordinary segment here.
 */
static bool route_has_double_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 4 < len; i++) {
		if (memcmp(s + i, "%25", 3) == 0 && route_hex_value(s[i + 3]) >= 0 &&
		    route_hex_value(s[i + 4]) >= 0)
			return true;
	}
	return false;
}

/*
 * Normalizes path[0..len) (starting with '/') into buf of cap bytes, no
 * NUL added; *outlen gets the length. The result is never longer than the
 * input: each kept segment reuses the '/' that opened it, and the final
 * '/' is only added in place of a removed segment's.
 */
static const char *route_normalize_path(const char *path, size_t len, char *buf, size_t cap,
					size_t *outlen)
{
	struct route_norm n = { .buf = buf, .cap = cap };
	const char *why = route_check_chars(path, len);
	size_t i = 0;

	while (why == NULL && i < len) {
		size_t start = n.len;

		if (!route_put(&n, '/'))
			return ROUTE_TOO_LONG;
		i++;
		why = route_copy_segment(&n, path, len, &i);
		if (why == NULL)
			route_close_segment(&n, start);
	}
	if (why != NULL)
		return why;
	if ((n.len == 0 || n.trailing_slash) && !route_put(&n, '/'))
		return ROUTE_TOO_LONG;
	if (route_has_double_escape(buf, n.len))
		return ROUTE_DOUBLE_ESCAPE;
	*outlen = n.len;
	return NULL;
}

const char *route_normalize(const char *target, char *out, size_t outlen, size_t *path_len)
{
	char buf[ROUTE_TARGET_MAX];
	size_t tlen, plen, nlen, qlen;
	const char *why;

	assert(out != NULL || outlen == 0);
	assert(path_len != NULL);
	if (target == NULL || target[0] != '/')
		return ROUTE_NOT_ORIGIN;
	tlen = strnlen(target, ROUTE_TARGET_MAX + 1);
	if (tlen > ROUTE_TARGET_MAX)
		return ROUTE_TOO_LONG;
	plen = strcspn(target, "?");
	why = route_normalize_path(target, plen, buf, sizeof(buf), &nlen);
	if (why != NULL)
		return why;
	qlen = tlen - plen;
	if (nlen + qlen >= outlen)
		return ROUTE_TOO_LONG;
	memcpy(out, buf, nlen);
	memcpy(out + nlen, target + plen, qlen);
	out[nlen + qlen] = '\0';
	*path_len = nlen;
	return NULL;
}

/*
 * The classic iterative wildcard match of pattern[0..pn) against
 * s[0..sn): on a mismatch, only the last '*' is retried, one character
 * further on. Earlier stars never need a retry, since whatever the last
 * star could not absorb they cannot either; hence no recursion and no
 * exponential blow-up on patterns like "*a*a*a*b".
 */
static bool route_glob(const char *pattern, size_t pn, const char *s, size_t sn)
{
	size_t p = 0, k = 0, star = SIZE_MAX, resume = 0;

	while (k < sn) {
		if (p < pn && pattern[p] == '*') {
			star = p++;
			resume = k;
		} else if (p < pn && route_ascii_lower((unsigned char)pattern[p]) ==
					     route_ascii_lower((unsigned char)s[k])) {
			p++;
			k++;
		} else if (star != SIZE_MAX) {
			p = star + 1;
			k = ++resume;
		} else {
			return false;
		}
	}
	while (p < pn && pattern[p] == '*')
		p++;
	return p == pn;
}

/* The length of s without one trailing '/', the root excepted. */
static size_t route_len_sans_slash(const char *s)
{
	size_t len = strlen(s);

	return len > 1 && s[len - 1] == '/' ? len - 1 : len;
}

/*
 * Also tried without a trailing slash on either side: most backends serve
 * "/x/" like "/x", so an exact pattern "/x" must not let "/x/" through
 * ungated (nor "/x/" miss "/x").
 */
bool route_glob_match(const char *pattern, const char *path)
{
	assert(pattern != NULL && path != NULL);
	return route_glob(pattern, strlen(pattern), path, strlen(path)) ||
	       route_glob(pattern, route_len_sans_slash(pattern), path, route_len_sans_slash(path));
}

bool route_pattern_is_valid(const char *pattern)
{
	char buf[ROUTE_PATTERN_MAX];
	size_t len, nlen;

	if (pattern == NULL || pattern[0] != '/')
		return false;
	len = strnlen(pattern, ROUTE_PATTERN_MAX + 1);
	if (len > ROUTE_PATTERN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)pattern[i];
		if (c < 0x21 || c > 0x7e || c == '?' || c == '%')
			return false;
	}
	if (route_normalize_path(pattern, len, buf, sizeof(buf), &nlen) != NULL)
		return false;
	return nlen == len && memcmp(buf, pattern, len) == 0;
}
