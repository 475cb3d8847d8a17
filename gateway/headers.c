/* headers: which request and response headers cross the gateway, and how. */
#include "headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool headers_has_prefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool headers_is_hop_by_hop(const char *name)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "TE", "Trailer", "Trailers",
		"Transfer-Encoding", "Upgrade",
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return headers_has_prefix(name, "Proxy-");
}

bool headers_connection_lists(const char *connection, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = connection;

	if (connection == NULL || nlen == 0)
		return false;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ',')
			p++;
		const char *end = p;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == nlen && strncasecmp(start, name, nlen) == 0)
			return true;
	}
	return false;
}

bool headers_is_gateway_owned(const char *name)
{
	return headers_has_prefix(name, "X-Paywall-");
}

bool headers_forward_request(const char *name, const char *connection, bool preserve_host)
{
	static const char *const own[] = {
		"X-Request-Id", "Content-Length", "Expect", "Forwarded",
	};

	/* Every X-Forwarded-*, not only the three the gateway writes: backends
	 * build links from -Port and -Prefix, so a client must not choose them.
	 * Names with '_' are dropped as nginx does by default: CGI-style
	 * backends read X_Paywall_User as X-Paywall-User. */
	if (strchr(name, '_') != NULL)
		return false;
	if (headers_is_hop_by_hop(name) || headers_is_gateway_owned(name) ||
	    headers_has_prefix(name, "X-Forwarded-") ||
	    headers_connection_lists(connection, name))
		return false;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcasecmp(name, own[i]) == 0)
			return false;
	if (strcasecmp(name, "Host") == 0)
		return preserve_host;
	return true;
}

bool headers_forward_response(const char *name, const char *connection)
{
	/* libmicrohttpd writes Content-Length and framing from the body it sends. */
	if (strcasecmp(name, "Content-Length") == 0)
		return false;
	return !headers_is_hop_by_hop(name) && !headers_is_gateway_owned(name) &&
	       !headers_connection_lists(connection, name);
}

const char *headers_find(const struct header_ref *h, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

static size_t headers_count(const struct header_ref *h, size_t n, const char *name)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			c++;
	return c;
}

static bool headers_is_decimal(const char *s)
{
	if (*s == '\0' || strlen(s) > 18)
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

const char *headers_check_request(const struct header_ref *h, size_t n)
{
	static const char *const single[] = { "Host", "Authorization", "Cookie" };
	size_t ncl = headers_count(h, n, "Content-Length");
	size_t nte = headers_count(h, n, "Transfer-Encoding");

	if (ncl > 0 && nte > 0)
		return "both Content-Length and Transfer-Encoding";
	if (nte > 1)
		return "repeated Transfer-Encoding";
	if (nte == 1 && strcasecmp(headers_find(h, n, "Transfer-Encoding"), "chunked") != 0)
		return "unsupported Transfer-Encoding";
	if (ncl > 1)
		return "repeated Content-Length";
	if (ncl == 1 && !headers_is_decimal(headers_find(h, n, "Content-Length")))
		return "malformed Content-Length";
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
		if (headers_count(h, n, single[i]) > 1)
			return single[i][0] == 'H' ? "repeated Host" :
			       single[i][0] == 'A' ? "repeated Authorization" : "repeated Cookie";
	return NULL;
}

int headers_forwarded_for(const char *client_xff, bool peer_trusted, const char *peer,
			  char *out, size_t outlen)
{
	int n;

	if (peer_trusted && client_xff != NULL && client_xff[0] != '\0')
		n = snprintf(out, outlen, "%s, %s", client_xff, peer);
	else
		n = snprintf(out, outlen, "%s", peer);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
