/*
 * cookie_fuzz: cookie_get, cookie_build and cookie_name_is_valid.
 *
 * Input: the first line is the cookie name, the rest (up to a NUL) the
 * Cookie header; an input without '\n' is all header, read for "pw_token".
 *
 * Checked besides "no crash":
 *  - cookie_get agrees with a plain reference parser (split at ';', trim,
 *    split at the first '=') on the result and the value, for buffers of
 *    exactly outlen bytes from 0 up, so ASan sees one byte too many;
 *  - when it returns 0 the value is NUL-terminated, shorter than outlen,
 *    only cookie-octets, appears in the header, and the name appears in the
 *    header followed by '='; otherwise the buffer is left as it was;
 *  - cookie_name_is_valid is true exactly for 1 to 64 tchars;
 *  - cookie_build agrees with a reference builder for every path x SameSite
 *    x HttpOnly x Secure (the header itself also tried as value, path and
 *    SameSite), in buffers of exactly outlen bytes, returns 0 only
 *    when the result fits, and its result holds no CR or LF, starts with
 *    "name=" and has exactly the ';' of its attributes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"

#define FUZZ_NAME "cookie_fuzz"
#include "fuzz_common.h"

#define TCHARS "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_octet(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

static bool ref_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= COOKIE_NAME_MAX && strspn(name, TCHARS) == n;
}

/* The value in [v, v + n) trimmed, unquoted and checked; false when malformed. */
static bool ref_value(const char *v, size_t n, size_t *start, size_t *len)
{
	size_t a = 0, b = n;

	while (a < b && is_ws(v[a]))
		a++;
	while (b > a && is_ws(v[b - 1]))
		b--;
	if (b - a >= 2 && v[a] == '"' && v[b - 1] == '"') {
		a++;
		b--;
	}
	for (size_t i = a; i < b; i++)
		if (!is_octet((unsigned char)v[i]))
			return false;
	*start = a;
	*len = b - a;
	return b - a <= COOKIE_VALUE_MAX;
}

/*
 * Reference cookie_get: walks the segments between ';' by index. A segment
 * is the cookie when, leading blanks skipped, it starts with name and then
 * has only blanks before '='; any blank there makes it malformed.
 */
static int ref_get(const char *h, const char *name, const char **val, size_t *vlen)
{
	size_t nlen = strlen(name), hlen = strlen(h), hits = 0, i = 0;
	bool ok = false;

	if (!ref_name_is_valid(name))
		return -1;
	while (i <= hlen) {
		size_t end = i;
		while (end < hlen && h[end] != ';')
			end++;
		size_t s = i;
		while (s < end && is_ws(h[s]))
			s++;
		if (end - s > nlen && memcmp(h + s, name, nlen) == 0) {
			size_t e = s + nlen;
			while (e < end && is_ws(h[e]))
				e++;
			if (e < end && h[e] == '=') {
				size_t a, n;
				hits++;
				ok = e == s + nlen && ref_value(h + e + 1, end - e - 1, &a, &n);
				if (ok) {
					*val = h + e + 1 + a;
					*vlen = n;
				}
			}
		}
		i = end + 1;
	}
	if (hits == 0)
		return -1;
	return hits == 1 && ok ? 0 : -2;
}

/* Runs cookie_get into a heap buffer of exactly outlen bytes and checks it. */
static void check_get(const char *h, const char *name, size_t outlen)
{
	char *out = malloc(outlen ? outlen : 1);
	const char *want = NULL;
	size_t wlen = 0, len;
	int ref, rc;

	if (out == NULL)
		return;
	out[0] = 'Z';
	ref = ref_get(h, name, &want, &wlen);
	if (ref == 0 && wlen >= outlen)
		ref = -2;
	rc = cookie_get(h, name, out, outlen);
	if (rc != ref)
		fail("cookie_get disagrees with the reference", h);
	if (rc != 0) {
		if (out[0] != 'Z')
			fail("cookie_get wrote into out and failed", h);
		goto out;
	}
	len = strnlen(out, outlen);
	if (len >= outlen)
		fail("cookie_get left out unterminated", h);
	if (len != wlen || memcmp(out, want, wlen) != 0)
		fail("cookie_get returned another value than the reference", h);
	for (size_t i = 0; i < len; i++)
		if (!is_octet((unsigned char)out[i]))
			fail("cookie_get returned a byte that is not a cookie-octet", out);
	if (strstr(h, out) == NULL)
		fail("cookie_get returned a value that is not in the header", out);
out:
	free(out);
}

/* The name appears in h directly followed by '='. */
static void check_name_in_header(const char *h, const char *name)
{
	size_t nlen = strlen(name);

	for (const char *p = strstr(h, name); p != NULL; p = strstr(p + 1, name))
		if (p[nlen] == '=')
			return;
	fail("cookie_get found a name not followed by '=' in the header", name);
}

/* A value cookie_build takes as it is: cookie-octets, perhaps in quotes. */
static bool ref_build_value_is_valid(const char *v)
{
	size_t n = strlen(v);

	if (n > COOKIE_VALUE_MAX)
		return false;
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_octet((unsigned char)v[i]))
			return false;
	return true;
}

/* The documented Set-Cookie value, or NULL when cookie_build must refuse. */
static char *ref_build(const char *name, const char *value, const struct cookie_attrs *a)
{
	const char *path = a->path ? a->path : "/";
	size_t need;
	char *e;

	if (!ref_name_is_valid(name) || !ref_build_value_is_valid(value))
		return NULL;
	if (path[0] != '/' || strcspn(path, ";, \t\r\n") != strlen(path))
		return NULL;
	for (const char *p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			return NULL;
	if (a->same_site && strcmp(a->same_site, "Lax") != 0 &&
	    strcmp(a->same_site, "Strict") != 0 && strcmp(a->same_site, "None") != 0)
		return NULL;
	if (a->same_site && strcmp(a->same_site, "None") == 0 && !a->secure)
		return NULL;
	if ((strncasecmp(name, "__Secure-", 9) == 0 || strncasecmp(name, "__Host-", 7) == 0) &&
	    !a->secure)
		return NULL;
	if (strncasecmp(name, "__Host-", 7) == 0 && strcmp(path, "/") != 0)
		return NULL;
	need = strlen(name) + strlen(value) + strlen(path) + 128;
	e = malloc(need);
	if (e == NULL)
		return NULL;
	snprintf(e, need, "%s=%s; Path=%s", name, value, path);
	if (a->max_age_s >= 0)
		snprintf(e + strlen(e), need - strlen(e), "; Max-Age=%lld", a->max_age_s);
	if (a->http_only)
		snprintf(e + strlen(e), need - strlen(e), "; HttpOnly");
	if (a->secure)
		snprintf(e + strlen(e), need - strlen(e), "; Secure");
	if (a->same_site)
		snprintf(e + strlen(e), need - strlen(e), "; SameSite=%s", a->same_site);
	return e;
}

static size_t count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == c;
	return n;
}

/* Builds into a heap buffer of exactly outlen bytes and checks the result
 * (a goes to cookie_build and may be NULL; ra is what it stands for). */
static void check_build_len(const char *name, const char *value, const struct cookie_attrs *a,
			    const struct cookie_attrs *ra, const char *want, size_t outlen)
{
	char *out = malloc(outlen ? outlen : 1);
	int rc;

	if (out == NULL)
		return;
	out[0] = 'Z';
	rc = cookie_build(name, value, a, out, outlen);
	if (want == NULL || strlen(want) >= outlen) {
		if (rc != -1)
			fail("cookie_build accepted what it must refuse", value);
		if ((outlen == 0 && out[0] != 'Z') || (outlen > 0 && out[0] != '\0'))
			fail("cookie_build left something behind on -1", value);
		goto out;
	}
	if (rc != 0 || strcmp(out, want) != 0)
		fail("cookie_build disagrees with the reference", want);
	if (strchr(out, '\r') != NULL || strchr(out, '\n') != NULL)
		fail("cookie_build wrote a CR or LF", out);
	if (strncmp(out, name, strlen(name)) != 0 || out[strlen(name)] != '=')
		fail("cookie_build output does not start with name=", out);
	if (count_char(out, ';') != 1 + (ra->max_age_s >= 0) + ra->http_only + ra->secure +
				    (ra->same_site != NULL))
		fail("cookie_build output has a ';' of its own", out);
out:
	free(out);
}

/* a NULL stands for a session cookie with Path=/. */
static void check_build(const char *name, const char *value, const struct cookie_attrs *a)
{
	static const struct cookie_attrs session = { NULL, -1, false, false, NULL };
	const struct cookie_attrs *ra = a != NULL ? a : &session;
	char *want = ref_build(name, value, ra);
	/* Room for any output: a refusal in it is not for want of space. */
	size_t room = strlen(name) + strlen(value) + (ra->path ? strlen(ra->path) : 1) +
		      (ra->same_site ? strlen(ra->same_site) : 0) + 80;

	check_build_len(name, value, a, ra, want, 0);
	check_build_len(name, value, a, ra, want, 1);
	check_build_len(name, value, a, ra, want, room);
	if (want != NULL) {
		check_build_len(name, value, a, ra, want, 16);
		check_build_len(name, value, a, ra, want, strlen(want));
		check_build_len(name, value, a, ra, want, strlen(want) + 1);
	}
	free(want);
}

/*
 * Attribute sets for a fuzzed name with a short value (validating a long
 * fuzzed value hundreds of times is all cost): every path x SameSite x
 * HttpOnly x Secure, Max-Age cycling; then h as the path and as SameSite.
 */
static void check_build_attrs(const char *name, const char *h)
{
	static const char *const paths[] = { NULL, "/", "/a/b" };
	static const char *const same_sites[] = { NULL, "Lax", "Strict", "None" };
	static const long long ages[] = { -1, 0, 1, 9223372036854775807LL };

	for (size_t i = 0; i < 3 * 4 * 2 * 2; i++) {
		struct cookie_attrs a = {
			paths[i % 3], ages[i % 4], i / 12 % 2, i / 24, same_sites[i / 3 % 4],
		};
		check_build(name, "v1", &a);
	}
	for (size_t i = 0; i < 4; i++) {
		struct cookie_attrs by_path = { h, ages[i], i % 2, i / 2, "Lax" };
		struct cookie_attrs by_same_site = { NULL, ages[i], i % 2, i / 2, h };

		check_build(name, "v1", &by_path);
		check_build(name, "v1", &by_same_site);
	}
}

/* A fuzzed value under a few typical attribute sets. */
static void check_build_value(const char *name, const char *value)
{
	static const struct cookie_attrs attrs[] = {
		{ NULL, 3600, true, true, "Lax" },
		{ "/a", 0, false, true, "None" },
		{ NULL, -1, true, false, "Strict" },
	};

	for (size_t i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++)
		check_build(name, value, &attrs[i]);
	check_build(name, value, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t lens[] = { 0, 1, 2, 3, 8, 64, COOKIE_VALUE_MAX + 1 };
	char *s = malloc(size + 1);
	const char *name = "pw_token", *h;
	char *nl, value[COOKIE_VALUE_MAX + 1];

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	h = s;
	nl = strchr(s, '\n');
	if (nl != NULL) {
		*nl = '\0';
		name = s;
		h = nl + 1;
	}
	if (cookie_name_is_valid(name) != ref_name_is_valid(name))
		fail("cookie_name_is_valid disagrees with 1 to 64 tchars", name);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		check_get(h, name, lens[i]);
	if (cookie_get(h, name, value, sizeof(value)) == 0) {
		check_name_in_header(h, name);
		check_get(h, name, strlen(value) + 1);
		check_get(h, name, strlen(value));
		check_build_value(name, value);
	}
	check_build_value(name, h);
	check_build_attrs(name, h);
	free(s);
	return 0;
}
