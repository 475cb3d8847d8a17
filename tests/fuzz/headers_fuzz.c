/*
 * headers_fuzz: the header policy of headers.c (check_request, find,
 * connection_lists, forward_request, forward_response, forwarded_for) and
 * reqid_is_valid on every header value.
 *
 * Input: one flag byte (bit 0: peer trusted, bit 1: preserve_host, bits
 * 2-7: the X-Forwarded-For output buffer size), then lines "name:value"
 * (split at the first ':'; a line without one is a name with an empty
 * value), at most 64 of them. The last line is also the peer address.
 *
 * Checked besides "no crash":
 *  - check_request returns NULL only when Content-Length and
 *    Transfer-Encoding are not both present, Transfer-Encoding is at most
 *    one "chunked", Content-Length at most one run of digits, and Host,
 *    Authorization and Cookie appear at most once (names case-insensitive);
 *  - headers_find returns the value of the first matching header;
 *  - headers_connection_lists agrees with a plain reference tokenizer;
 *  - forward_request is never true for X-Paywall-*, hop-by-hop names,
 *    names the Connection header lists, the headers the gateway writes
 *    itself, or Host without preserve_host; forward_response never for
 *    X-Paywall-*, hop-by-hop, listed names or Content-Length;
 *  - forwarded_for stays inside its (exactly sized heap) buffer, returns 0
 *    exactly when the documented value fits, and then writes that value;
 *  - reqid_is_valid is true exactly for [A-Za-z0-9._-]{1,64}.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "headers.h"
#include "reqid.h"

#define FUZZ_NAME "headers_fuzz"
#include "fuzz_common.h"

#define MAX_LINES 64

static size_t count(const struct header_ref *h, size_t n, const char *name)
{
	size_t c = 0;

	for (size_t i = 0; i < n; i++)
		c += strcasecmp(h[i].name, name) == 0;
	return c;
}

static bool has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static bool is_hop_by_hop(const char *name)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "TE", "Trailer", "Transfer-Encoding", "Upgrade",
	};

	for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return true;
	return has_prefix_ci(name, "Proxy-");
}

/* Reference: split on ',', trim SP and HTAB, compare case-insensitively. */
static bool ref_connection_lists(const char *connection, const char *name)
{
	const char *p = connection;

	if (connection == NULL || name[0] == '\0')
		return false;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *start = p;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - start) == strlen(name) &&
		    strncasecmp(start, name, strlen(name)) == 0)
			return true;
		if (comma == NULL)
			return false;
		p = comma + 1;
	}
}

static bool ref_reqid_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > REQID_MAX)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

static void check_request(const struct header_ref *h, size_t n)
{
	size_t ncl = count(h, n, "Content-Length"), nte = count(h, n, "Transfer-Encoding");

	if (headers_check_request(h, n) != NULL)
		return;
	if (ncl > 0 && nte > 0)
		fail("accepted both Content-Length and Transfer-Encoding", "");
	if (nte > 1 || (nte == 1 &&
			strcasecmp(headers_find(h, n, "Transfer-Encoding"), "chunked") != 0))
		fail("accepted a Transfer-Encoding other than one chunked",
		     headers_find(h, n, "Transfer-Encoding"));
	if (ncl > 1 || (ncl == 1 && !is_digits(headers_find(h, n, "Content-Length"))))
		fail("accepted a repeated or malformed Content-Length",
		     headers_find(h, n, "Content-Length"));
	if (count(h, n, "Host") > 1 || count(h, n, "Authorization") > 1 ||
	    count(h, n, "Cookie") > 1)
		fail("accepted a repeated Host, Authorization or Cookie", "");
}

static void check_find(const struct header_ref *h, size_t n, const char *name)
{
	const char *want = NULL;

	for (size_t i = 0; i < n && want == NULL; i++)
		if (strcasecmp(h[i].name, name) == 0)
			want = h[i].value;
	if (headers_find(h, n, name) != want)
		fail("headers_find did not return the first match", name);
}

static void check_forward(const char *name, const char *connection, bool preserve_host)
{
	static const char *const own[] = {
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
		"X-Request-Id", "Content-Length", "Expect",
	};
	bool blocked = has_prefix_ci(name, "X-Paywall-") || is_hop_by_hop(name) ||
		       ref_connection_lists(connection, name);
	bool req = headers_forward_request(name, connection, preserve_host);
	bool resp = headers_forward_response(name, connection);

	if (headers_connection_lists(connection, name) !=
	    ref_connection_lists(connection, name))
		fail("headers_connection_lists disagrees with the reference", name);
	if (req && blocked)
		fail("forward_request passes an X-Paywall-*, hop-by-hop or listed header", name);
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (req && strcasecmp(name, own[i]) == 0)
			fail("forward_request passes a header the gateway writes", name);
	if (req && !preserve_host && strcasecmp(name, "Host") == 0)
		fail("forward_request passes Host without preserve_host", name);
	if (resp && (blocked || strcasecmp(name, "Content-Length") == 0))
		fail("forward_response passes a header it must drop", name);
}

/* The documented X-Forwarded-For value, as a new string (NULL: no memory). */
static char *expected_xff(const char *xff, bool trusted, const char *peer)
{
	bool chain = trusted && xff != NULL && xff[0] != '\0';
	size_t xlen = chain ? strlen(xff) : 0, plen = strlen(peer);
	char *e = malloc(xlen + 2 + plen + 1);

	if (e == NULL)
		return NULL;
	if (chain) {
		memcpy(e, xff, xlen);
		memcpy(e + xlen, ", ", 2);
		xlen += 2;
	}
	memcpy(e + xlen, peer, plen + 1);
	return e;
}

static void check_forwarded_for(const char *xff, bool trusted, const char *peer,
				size_t outlen)
{
	char *want = expected_xff(xff, trusted, peer);
	char *out = malloc(outlen ? outlen : 1);
	int rc;

	if (want == NULL || out == NULL)
		goto out;
	out[0] = 'Z';	/* with outlen 0 nothing at all may be written */
	rc = headers_forwarded_for(xff, trusted, peer, out, outlen);
	if (strlen(want) < outlen) {
		if (rc != 0)
			fail("forwarded_for refused a value that fits", want);
		if (strcmp(out, want) != 0)
			fail("forwarded_for wrote something else", out);
	} else {
		if (rc != -1)
			fail("forwarded_for accepted a value that does not fit", want);
		if (outlen == 0 && out[0] != 'Z')
			fail("forwarded_for wrote into a zero-length buffer", want);
	}
out:
	free(want);
	free(out);
}

/* Splits text into at most MAX_LINES "name:value" headers inside text. */
static size_t split(char *text, struct header_ref *h)
{
	size_t n = 0;
	char *p = text;

	while (n < MAX_LINES && *p != '\0') {
		char *nl = strchr(p, '\n');
		char *colon;
		if (nl != NULL)
			*nl = '\0';
		colon = strchr(p, ':');
		h[n].name = p;
		h[n].value = "";
		if (colon != NULL) {
			*colon = '\0';
			h[n].value = colon + 1;
		}
		n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const probes[] = {
		"Host", "Cookie", "Authorization", "Content-Length", "Transfer-Encoding",
		"Connection", "X-Forwarded-For", "x-paywall-user", "",
	};
	struct header_ref h[MAX_LINES];
	const char *connection, *peer;
	bool trusted, preserve_host;
	size_t n, outlen;
	char *text;

	if (size < 1)
		return 0;
	trusted = data[0] & 1;
	preserve_host = data[0] & 2;
	outlen = data[0] >> 2;
	text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	n = split(text, h);

	check_request(h, n);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		check_find(h, n, probes[i]);
	connection = headers_find(h, n, "Connection");
	for (size_t i = 0; i < n; i++) {
		check_find(h, n, h[i].name);
		check_forward(h[i].name, connection, preserve_host);
		check_forward(h[i].name, NULL, preserve_host);
		/* Each value as a Connection list, against its own and the next name. */
		check_forward(h[i].name, h[i].value, preserve_host);
		if (i + 1 < n)
			check_forward(h[i + 1].name, h[i].value, preserve_host);
		if (reqid_is_valid(h[i].value) != ref_reqid_is_valid(h[i].value))
			fail("reqid_is_valid disagrees with [A-Za-z0-9._-]{1,64}", h[i].value);
	}
	peer = n > 0 ? h[n - 1].value : "192.0.2.1";
	check_forwarded_for(headers_find(h, n, "X-Forwarded-For"), trusted, peer, outlen);
	check_forwarded_for(headers_find(h, n, "X-Forwarded-For"), trusted, peer, 256);
	free(text);
	return 0;
}
