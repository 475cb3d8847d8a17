/*
 * route_fuzz: path normalization (route_normalize), route_glob_match and
 * route_pattern_is_valid.
 *
 * Input: the bytes up to a NUL are a request target. When they hold a
 * '\n', the part before it is also a glob pattern and the part after it a
 * path to match it against.
 *
 * Checked besides "no crash":
 *  - an accepted target's path starts with '/', holds no "//", no segment
 *    made of or ending in '.', no ';' or '\', only RFC 3986 pchars, and
 *    every '%' starts an upper-case escape of a byte that is not
 *    unreserved, '/', '\', NUL or ';', never "%25" before two hex digits;
 *    it is no longer than the input's path, and *path_len says where it ends;
 *  - the query (from the first '?') is byte-identical to the input's;
 *  - normalizing the output again gives the output (idempotence);
 *  - the result fits a buffer of exactly its size and is refused with
 *    "path too long" by one byte less, which is then left untouched;
 *  - '*' matches every path, every path matches itself as a pattern, and
 *    route_pattern_is_valid accepts a normalized path without '%' of at
 *    most ROUTE_PATTERN_MAX bytes, and only strings that normalize to
 *    themselves;
 *  - acceptance and result agree with a reference normalizer written
 *    another way (split into segments, then a stack of them), whose UTF-8
 *    check decodes code points instead of following Unicode table 3-7;
 *  - on short inputs, route_glob_match agrees with a naive recursive
 *    matcher (with the same trailing-slash rule).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

#define FUZZ_NAME "route_fuzz"
#include "fuzz_common.h"

/* The reference matcher is exponential in the stars: keep it small. */
#define REF_PATTERN_MAX 16
#define REF_PATH_MAX 32
#define REF_STARS_MAX 5

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;	/* lower case counts as not hex: the output never has it */
}

static int hex_any(char c)
{
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : hex_value(c);
}

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_pchar(unsigned char c)
{
	return is_unreserved(c) || (c != '\0' && strchr("!$&'()*+,=:@%/", c) != NULL);
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Rule 7 and the character set, on the path part p[0..len). */
static void check_path(const char *p, size_t len)
{
	if (len == 0 || p[0] != '/')
		fail("normalized path not starting with '/'", p);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!is_pchar(c))
			fail("normalized path with a non-pchar, ';' or '\\'", p);
		if (c == '/' && i + 1 < len && p[i + 1] == '/')
			fail("normalized path with \"//\"", p);
		if (c == '.' && (i + 1 == len || p[i + 1] == '/'))
			fail("normalized path with a segment ending in '.'", p);
		if (c != '%')
			continue;
		if (i + 2 >= len || hex_value(p[i + 1]) < 0 || hex_value(p[i + 2]) < 0)
			fail("normalized path with a bad or lower-case escape", p);
		unsigned char b = (unsigned char)(hex_value(p[i + 1]) << 4 | hex_value(p[i + 2]));
		if (is_unreserved(b) || b == '/' || b == '\\' || b == '\0' || b == ';')
			fail("normalized path with a forbidden escape", p);
		if (b == '%' && i + 4 < len && hex_value(p[i + 3]) >= 0 && hex_value(p[i + 4]) >= 0)
			fail("normalized path with a double-encoded escape", p);
		i += 2;
	}
}

/* Whether b[0..n) is UTF-8: code points decoded, then range-checked. */
static bool ref_utf8(const unsigned char *b, size_t n)
{
	static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };

	for (size_t i = 0; i < n;) {
		size_t len = b[i] < 0x80 ? 1 : b[i] >= 0xc0 && b[i] < 0xe0 ? 2 :
			     b[i] >= 0xe0 && b[i] < 0xf0 ? 3 : b[i] >= 0xf0 && b[i] < 0xf8 ? 4 : 0;
		unsigned long cp;

		if (len == 0 || i + len > n)
			return false;
		cp = len == 1 ? b[i] : b[i] & (0x7fu >> len);
		for (size_t k = 1; k < len; k++) {
			if ((b[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (b[i + k] & 0x3f);
		}
		if (len > 1 && (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))
			return false;
		i += len;
	}
	return true;
}

/*
 * Reference for one segment s[0..n): the part before any ';', decoded into
 * text (unreserved bytes as is, others as upper-case escapes) at t, its
 * length returned; (size_t)-1 when the segment must be refused.
 */
static size_t ref_segment(const char *s, size_t n, char *t)
{
	unsigned char bytes[ROUTE_TARGET_MAX];
	size_t nb = 0, nt = 0;

	for (size_t i = 0; i < n && s[i] != ';'; i++) {
		unsigned char b = (unsigned char)s[i];
		if (b == '%') {
			int hi = i + 1 < n ? hex_any(s[i + 1]) : -1;
			int lo = i + 2 < n ? hex_any(s[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return (size_t)-1;
			b = (unsigned char)(hi << 4 | lo);
			if (b == '/' || b == '\\' || b == '\0' || b == ';')
				return (size_t)-1;
			i += 2;
			if (!is_unreserved(b)) {
				nt += (size_t)snprintf(t + nt, 4, "%%%02X", b);
				bytes[nb++] = b;
				continue;
			}
		}
		t[nt++] = (char)b;
		bytes[nb++] = b;
	}
	return ref_utf8(bytes, nb) ? nt : (size_t)-1;
}

/*
 * Reference normalizer of path[0..len) into out (NUL-terminated): false
 * when refused. Kept segments are a stack of (offset, length) into text.
 */
static bool ref_normalize(const char *path, size_t len, char *out)
{
	static char text[4 * ROUTE_TARGET_MAX];
	static size_t off[ROUTE_TARGET_MAX], seglen[ROUTE_TARGET_MAX];
	size_t nseg = 0, used = 0, o = 0;
	bool trailing = false;

	for (size_t i = 0; i < len; i++)
		if (!is_pchar((unsigned char)path[i]) && path[i] != ';')
			return false;
	for (size_t i = 1; i <= len;) {
		size_t end = i, n, dots = 0;
		while (end < len && path[end] != '/')
			end++;
		n = ref_segment(path + i, end - i, text + used);
		if (n == (size_t)-1)
			return false;
		while (dots < n && text[used + n - 1 - dots] == '.')
			dots++;
		trailing = dots == n;
		if (dots == n && n == 2 && nseg > 0)
			nseg--;
		if (dots < n) {
			off[nseg] = used;
			seglen[nseg++] = n - dots;
			used += n;
		}
		i = end + 1;
	}
	for (size_t k = 0; k < nseg; k++) {
		out[o++] = '/';
		memcpy(out + o, text + off[k], seglen[k]);
		o += seglen[k];
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	for (size_t k = 0; k + 4 < o; k++)
		if (memcmp(out + k, "%25", 3) == 0 && hex_any(out[k + 3]) >= 0 &&
		    hex_any(out[k + 4]) >= 0)
			return false;
	return true;
}

/* Normalizes into a heap block of exactly outlen bytes; checks the boundary. */
static void check_out_size(const char *target, const char *want, size_t want_plen)
{
	size_t need = strlen(want) + 1, plen = 7;
	char *out = malloc(need);

	if (out == NULL)
		return;
	if (route_normalize(target, out, need, &plen) != NULL || strcmp(out, want) != 0 ||
	    plen != want_plen)
		fail("result not written to a buffer of exactly its size", target);
	memset(out, 'Z', need);
	plen = 7;
	const char *why = route_normalize(target, out, need - 1, &plen);
	if (why == NULL || strcmp(why, "path too long") != 0)
		fail("result accepted by a buffer one byte short", target);
	for (size_t i = 0; i < need; i++)
		if (out[i] != 'Z')
			fail("a refused target wrote into out", target);
	if (plen != 7)
		fail("a refused target wrote *path_len", target);
	free(out);
}

static void check_patterns(const char *path, size_t plen)
{
	if (!route_glob_match("*", path))
		fail("'*' does not match a path", path);
	if (!route_glob_match(path, path))
		fail("a path does not match itself as a pattern", path);
	if (plen <= ROUTE_PATTERN_MAX && strchr(path, '%') == NULL && !route_pattern_is_valid(path))
		fail("a normalized path refused as a pattern", path);
}

static void check_target(const char *target)
{
	char *out = malloc(ROUTE_TARGET_MAX + 1), *again = malloc(ROUTE_TARGET_MAX + 1);
	size_t plen = 0, plen2 = 0, in_plen = strcspn(target, "?");

	if (out == NULL || again == NULL)
		goto out;
	bool ref_ok = target[0] == '/' && strlen(target) <= ROUTE_TARGET_MAX &&
		      ref_normalize(target, in_plen, again);
	if (route_normalize(target, out, ROUTE_TARGET_MAX + 1, &plen) != NULL) {
		if (ref_ok)
			fail("target refused that the reference accepts", target);
		goto out;
	}
	if (!ref_ok)
		fail("target accepted that the reference refuses", target);
	if (plen != strlen(again) || memcmp(out, again, plen) != 0)
		fail("result differs from the reference's", target);
	if (plen > in_plen)
		fail("normalized path longer than the input's", target);
	if (strcmp(out + plen, target + in_plen) != 0 || strcspn(out, "?") != plen)
		fail("query not kept byte for byte, or path_len wrong", target);
	check_path(out, plen);
	if (route_normalize(out, again, ROUTE_TARGET_MAX + 1, &plen2) != NULL)
		fail("normalized target refused when normalized again", out);
	if (strcmp(out, again) != 0 || plen2 != plen)
		fail("normalization not idempotent", target);
	check_out_size(target, out, plen);
	out[plen] = '\0';
	check_patterns(out, plen);
out:
	free(again);
	free(out);
}

/* A pattern is valid only in normalized form. */
static void check_pattern_validity(const char *s)
{
	char out[ROUTE_PATTERN_MAX + 1];
	size_t plen;

	if (!route_pattern_is_valid(s))
		return;
	if (strlen(s) > ROUTE_PATTERN_MAX || strchr(s, '?') != NULL || strchr(s, '%') != NULL)
		fail("pattern too long or with '?' or '%' accepted", s);
	if (route_normalize(s, out, sizeof(out), &plen) != NULL || strcmp(out, s) != 0)
		fail("pattern accepted that is not in normalized form", s);
}

static bool ref_match(const char *p, const char *pend, const char *s, const char *send)
{
	if (p == pend)
		return s == send;
	if (*p == '*')
		return ref_match(p + 1, pend, s, send) || (s < send && ref_match(p, pend, s + 1, send));
	return s < send && lower((unsigned char)*p) == lower((unsigned char)*s) &&
	       ref_match(p + 1, pend, s + 1, send);
}

static const char *end_sans_slash(const char *s)
{
	size_t len = strlen(s);

	return s + (len > 1 && s[len - 1] == '/' ? len - 1 : len);
}

static void check_glob(const char *pattern, const char *path)
{
	size_t stars = 0;
	bool got = route_glob_match(pattern, path);

	for (const char *c = pattern; *c != '\0'; c++)
		stars += *c == '*';
	if (strlen(pattern) > REF_PATTERN_MAX || strlen(path) > REF_PATH_MAX ||
	    stars > REF_STARS_MAX)
		return;
	bool want = ref_match(pattern, pattern + strlen(pattern), path, path + strlen(path)) ||
		    ref_match(pattern, end_sans_slash(pattern), path, end_sans_slash(path));
	if (got != want)
		fail(want ? "glob missed a match" : "glob matched wrongly", pattern);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char *nl;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';

	check_target(s);
	check_pattern_validity(s);
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		check_target(nl + 1);
		check_pattern_validity(s);
		check_glob(s, nl + 1);
		if (!route_glob_match("*", nl + 1))
			fail("'*' does not match a path", nl + 1);
	}
	free(s);
	return 0;
}
