/* netaddr: IP addresses, CIDR ranges and host:port listen addresses. */
#ifndef PAYWALLD_NETADDR_H
#define PAYWALLD_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An address in network byte order; IPv4 is kept as 4 bytes, not mapped. */
struct netaddr {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

struct netaddr_cidr {
	struct netaddr addr;	/* host bits are zero */
	unsigned prefix;	/* 0..32 or 0..128 */
};

#define NETADDR_STR_MAX 46	/* INET6_ADDRSTRLEN */

/* Parses a literal IPv4 or IPv6 address (no port, no brackets). 0 / -1. */
int netaddr_parse(const char *s, struct netaddr *out);
/*
 * Parses "ADDR/PREFIX" or a bare address (a full-length prefix). Rejects
 * host bits set past the prefix, so a typo such as 10.0.0.1/8 is reported
 * instead of silently trusting a whole /8. 0 / -1.
 */
int netaddr_parse_cidr(const char *s, struct netaddr_cidr *out);
/* True when addr lies in the range. An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) matches IPv4 ranges. */
bool netaddr_cidr_contains(const struct netaddr_cidr *range, const struct netaddr *addr);
/* Converts a socket address (AF_INET / AF_INET6) into a netaddr. 0 / -1. */
int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out);
/* Writes the textual form, NUL-terminated, into dst (NETADDR_STR_MAX bytes). */
void netaddr_format(const struct netaddr *a, char dst[NETADDR_STR_MAX]);

/*
 * Parses a listen address "HOST:PORT" or "[V6]:PORT" where HOST is a literal
 * address (names are not resolved: a listener must not depend on DNS).
 * PORT 0 asks the kernel for a free port. Fills a sockaddr_in / _in6 in ss
 * and its length. 0 / -1.
 */
int netaddr_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len);

#endif
