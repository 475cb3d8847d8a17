/* headers: which request and response headers cross the gateway, and how. */
#ifndef PAYWALLD_HEADERS_H
#define PAYWALLD_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

/* A borrowed header: both strings belong to someone else (libmicrohttpd). */
struct header_ref {
	const char *name;
	const char *value;
};

/* The most headers one request may carry; more is answered with 431. */
#define HEADERS_MAX 128

/*
 * True for headers that describe one hop, not the message: Connection,
 * Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade and every Proxy-*.
 * Case-insensitive. Thread-safe, like everything here.
 */
bool headers_is_hop_by_hop(const char *name);
/* True when name is one of the comma-separated tokens of a Connection
 * header value (which makes it hop-by-hop for this message). */
bool headers_connection_lists(const char *connection, const char *name);
/* True for X-Paywall-*: the gateway's own channel to the backend. */
bool headers_is_gateway_owned(const char *name);

/*
 * Whether a client request header is forwarded upstream as it is. Besides
 * hop-by-hop and X-Paywall-* headers, the gateway drops every X-Forwarded-*
 * and Forwarded header (it writes For, Proto and Host itself, from trusted
 * values only), X-Request-Id (likewise), every name containing '_' (which
 * CGI-style backends confuse with '-'), framing headers libcurl
 * writes (Content-Length, Expect) and Host unless preserve_host is set.
 * connection is the request's Connection header value or NULL.
 */
bool headers_forward_request(const char *name, const char *connection, bool preserve_host);
/* Whether an upstream response header is passed on to the client. */
bool headers_forward_response(const char *name, const char *connection);

/*
 * Checks the framing and credential headers of a request. Returns NULL
 * when acceptable, else a short reason for a 400:
 *  - Content-Length together with Transfer-Encoding (request smuggling),
 *  - a Transfer-Encoding other than chunked,
 *  - Content-Length repeated or not a decimal number,
 *  - Host, Authorization or Cookie repeated: the gateway will not guess
 *    which credential or host the client meant.
 */
const char *headers_check_request(const struct header_ref *h, size_t n);

/* The value of the first header called name, or NULL. */
const char *headers_find(const struct header_ref *h, size_t n, const char *name);

/*
 * Builds the X-Forwarded-For value for upstream. A trusted peer's chain
 * (client_xff, the joined X-Forwarded-For values it sent, may be NULL) is
 * kept and the peer appended; from anyone else the client's value is
 * discarded and replaced by the peer address. Returns 0, or -1 when out is
 * too small.
 */
int headers_forwarded_for(const char *client_xff, bool peer_trusted, const char *peer,
			  char *out, size_t outlen);

#endif
