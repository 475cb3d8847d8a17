/* cookie: reading the Cookie request header and building Set-Cookie values. */
#include "cookie.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One pair of a Cookie header; the pointers point into the header. */
struct cookie_pair {
	const char *name;
	size_t nlen;
	const char *value;	/* NULL: the pair has no '=' */
	size_t vlen;
	bool spaced;		/* spaces or tabs between the name and '=' */
};

static bool cookie_is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 tchar: what a token, and so a cookie name, is made of. */
static bool cookie_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 6265 cookie-octet: printable US-ASCII but space, DQUOTE, ',', ';', '\'. */
static bool cookie_is_octet(unsigned char c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
	       (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

/* Narrows the span s, len past the spaces and tabs at both of its ends. */
static void cookie_trim(const char **s, size_t *len)
{
	while (*len > 0 && cookie_is_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && cookie_is_space((*s)[*len - 1]))
		(*len)--;
}

/*
 * Reads the pair that starts at p and ends at the next ';' (or the end of
 * the header) into pair, both parts trimmed. Returns where the following
 * pair starts, or NULL when this one was the last.
 */
static const char *cookie_next_pair(const char *p, struct cookie_pair *pair)
{
	const char *semi = strchr(p, ';');
	size_t len = semi != NULL ? (size_t)(semi - p) : strlen(p);
	const char *eq = memchr(p, '=', len);

	pair->name = p;
	pair->nlen = eq != NULL ? (size_t)(eq - p) : len;
	pair->value = NULL;
	pair->vlen = 0;
	cookie_trim(&pair->name, &pair->nlen);
	pair->spaced = eq != NULL && pair->name + pair->nlen < eq;
	if (eq != NULL) {
		pair->value = eq + 1;
		pair->vlen = (size_t)(p + len - pair->value);
		cookie_trim(&pair->value, &pair->vlen);
	}
	return semi != NULL ? semi + 1 : NULL;
}

/* Drops one pair of surrounding double quotes from the span v, len. True
 * when what remains is all cookie-octets. */
static bool cookie_unquote_value(const char **v, size_t *len)
{
	if (*len >= 2 && (*v)[0] == '"' && (*v)[*len - 1] == '"') {
		(*v)++;
		*len -= 2;
	}
	for (size_t i = 0; i < *len; i++)
		if (!cookie_is_octet((unsigned char)(*v)[i]))
			return false;
	return true;
}

/* A Path attribute the browser keeps, and that cannot end the attribute. */
static bool cookie_path_is_valid(const char *path)
{
	if (path[0] != '/')
		return false;
	for (; *path != '\0'; path++) {
		unsigned char c = (unsigned char)*path;
		if (c < 0x21 || c > 0x7e || c == ';' || c == ',')
			return false;
	}
	return true;
}

/* Browsers drop a SameSite=None cookie that is not also Secure. */
static bool cookie_same_site_is_valid(const char *same_site, bool secure)
{
	if (same_site == NULL)
		return true;
	if (strcmp(same_site, "None") == 0)
		return secure;
	return strcmp(same_site, "Lax") == 0 || strcmp(same_site, "Strict") == 0;
}

/* The name prefixes browsers enforce (RFC 6265bis section 4.1.3). */
static bool cookie_prefix_is_kept(const char *name, bool secure, const char *path)
{
	if (strncasecmp(name, "__Secure-", 9) == 0)
		return secure;
	if (strncasecmp(name, "__Host-", 7) == 0)
		return secure && strcmp(path, "/") == 0;
	return true;
}

static bool cookie_build_is_valid(const char *name, const char *value,
				  const struct cookie_attrs *a, const char *path)
{
	const char *v = value;
	size_t vlen;

	if (!cookie_name_is_valid(name) || value == NULL)
		return false;
	vlen = strnlen(value, COOKIE_VALUE_MAX + 1);
	if (vlen > COOKIE_VALUE_MAX || !cookie_unquote_value(&v, &vlen))
		return false;
	return cookie_path_is_valid(path) && cookie_same_site_is_valid(a->same_site, a->secure) &&
	       cookie_prefix_is_kept(name, a->secure, path);
}

int cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
	struct cookie_pair pair, found = { 0 };
	const char *p = header;
	size_t nlen, hits = 0;

	if (header == NULL || !cookie_name_is_valid(name))
		return -1;
	nlen = strlen(name);
	while (p != NULL) {
		p = cookie_next_pair(p, &pair);
		if (pair.value == NULL || pair.nlen != nlen || memcmp(pair.name, name, nlen) != 0)
			continue;
		if (++hits > 1)
			return -2;
		found = pair;
	}
	if (hits == 0)
		return -1;
	if (found.spaced || !cookie_unquote_value(&found.value, &found.vlen) ||
	    found.vlen > COOKIE_VALUE_MAX || found.vlen >= outlen)
		return -2;
	memcpy(out, found.value, found.vlen);
	out[found.vlen] = '\0';
	return 0;
}

int cookie_build(const char *name, const char *value, const struct cookie_attrs *a,
		 char *out, size_t outlen)
{
	static const struct cookie_attrs session = { NULL, -1, false, false, NULL };
	const char *path;
	char max_age[32] = "";
	int n = -1;

	if (a == NULL)
		a = &session;
	path = a->path != NULL ? a->path : "/";
	if (cookie_build_is_valid(name, value, a, path)) {
		if (a->max_age_s >= 0)
			snprintf(max_age, sizeof(max_age), "; Max-Age=%lld", a->max_age_s);
		n = snprintf(out, outlen, "%s=%s; Path=%s%s%s%s%s%s", name, value, path, max_age,
			     a->http_only ? "; HttpOnly" : "", a->secure ? "; Secure" : "",
			     a->same_site != NULL ? "; SameSite=" : "",
			     a->same_site != NULL ? a->same_site : "");
	}
	if (n < 0 || (size_t)n >= outlen) {
		/* Never leave a truncated header behind for a caller that ignores -1. */
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

bool cookie_name_is_valid(const char *name)
{
	size_t len;

	if (name == NULL)
		return false;
	len = strnlen(name, COOKIE_NAME_MAX + 1);
	if (len == 0 || len > COOKIE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!cookie_is_tchar((unsigned char)name[i]))
			return false;
	return true;
}
