/* url: checks of the client's request target and the upstream URL. */
#include "url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool url_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* unreserved / sub-delims / ":" / "@" / "/" / "?" (RFC 3986 pchar + query). */
static bool url_is_allowed(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@/?", c) != NULL;
}

/* Characters real browsers send unescaped in queries (PHP's a[]=1, say). */
static bool url_is_lenient_query(char c)
{
	return c != '\0' && strchr("[]{}|^", c) != NULL;
}

const char *url_check_target(const char *target)
{
	bool in_query = false;
	size_t i;

	if (target == NULL || target[0] != '/')
		return "request target is not in origin form";
	if (strnlen(target, URL_TARGET_MAX + 1) > URL_TARGET_MAX)
		return "request target too long";
	for (i = 0; target[i] != '\0'; i++) {
		if (target[i] == '%') {
			if (!url_is_hex(target[i + 1]) || !url_is_hex(target[i + 2]))
				return "malformed percent-escape in request target";
			i += 2;
			continue;
		}
		if (target[i] == '?')
			in_query = true;
		if (!url_is_allowed(target[i]) && !(in_query && url_is_lenient_query(target[i])))
			return "invalid character in request target";
	}
	return NULL;
}

int url_join(const char *base, const char *target, char *out, size_t outlen)
{
	size_t blen = strlen(base);
	int n;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen > (size_t)0x7fffffff)
		return -1;
	n = snprintf(out, outlen, "%.*s%s", (int)blen, base, target);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
