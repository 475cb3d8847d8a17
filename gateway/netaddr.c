/* netaddr: IP addresses, CIDR ranges and host:port listen addresses. */
#include "netaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t netaddr_v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int netaddr_parse(const char *s, struct netaddr *out)
{
	struct netaddr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, s, a.bytes) == 1) {
		a.family = AF_INET;
	} else if (inet_pton(AF_INET6, s, a.bytes) == 1) {
		a.family = AF_INET6;
	} else {
		return -1;
	}
	*out = a;
	return 0;
}

static int netaddr_parse_prefix(const char *s, unsigned max, unsigned *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9' || strlen(s) > 3)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || (unsigned long)v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static bool netaddr_prefix_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

int netaddr_parse_cidr(const char *s, struct netaddr_cidr *out)
{
	char tmp[NETADDR_STR_MAX + 8];
	struct netaddr_cidr c;
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max;

	if (alen == 0 || alen >= NETADDR_STR_MAX)
		return -1;
	memcpy(tmp, s, alen);
	tmp[alen] = '\0';
	if (netaddr_parse(tmp, &c.addr) != 0)
		return -1;
	max = c.addr.family == AF_INET ? 32 : 128;
	c.prefix = max;
	if (slash != NULL && netaddr_parse_prefix(slash + 1, max, &c.prefix) != 0)
		return -1;
	/* Host bits must be zero: compare the address with itself masked. */
	for (unsigned bit = c.prefix; bit < max; bit++) {
		if (c.addr.bytes[bit / 8] & (0x80 >> (bit % 8)))
			return -1;
	}
	*out = c;
	return 0;
}

bool netaddr_cidr_contains(const struct netaddr_cidr *range, const struct netaddr *addr)
{
	if (range->addr.family == addr->family)
		return netaddr_prefix_equal(range->addr.bytes, addr->bytes, range->prefix);
	if (range->addr.family == AF_INET && addr->family == AF_INET6 &&
	    memcmp(addr->bytes, netaddr_v4mapped_prefix, 12) == 0)
		return netaddr_prefix_equal(range->addr.bytes, addr->bytes + 12, range->prefix);
	return false;
}

int netaddr_from_sockaddr(const struct sockaddr *sa, struct netaddr *out)
{
	struct netaddr a;

	if (sa == NULL)
		return -1;
	memset(&a, 0, sizeof(a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		a.family = AF_INET;
		memcpy(a.bytes, &in->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		a.family = AF_INET6;
		memcpy(a.bytes, &in6->sin6_addr, 16);
	} else {
		return -1;
	}
	*out = a;
	return 0;
}

void netaddr_format(const struct netaddr *a, char dst[NETADDR_STR_MAX])
{
	if (inet_ntop(a->family, a->bytes, dst, NETADDR_STR_MAX) == NULL) {
		dst[0] = '?';
		dst[1] = '\0';
	}
}

static int netaddr_parse_port(const char *s, in_port_t *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9' || strlen(s) > 5)
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*out = htons((in_port_t)v);
	return 0;
}

int netaddr_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[NETADDR_STR_MAX];
	const char *colon, *hstart = s;
	size_t hlen;
	struct netaddr a;
	in_port_t port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL || close[1] != ':')
			return -1;
		hstart = s + 1;
		hlen = (size_t)(close - hstart);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -1;
	memcpy(host, hstart, hlen);
	host[hlen] = '\0';
	if (netaddr_parse(host, &a) != 0 || netaddr_parse_port(colon + 1, &port) != 0)
		return -1;
	/* A bare IPv6 literal needs brackets, or its last group reads as a port. */
	if (a.family == AF_INET6 && s[0] != '[')
		return -1;

	memset(ss, 0, sizeof(*ss));
	if (a.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
		in->sin_family = AF_INET;
		in->sin_port = port;
		memcpy(&in->sin_addr, a.bytes, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		memcpy(&in6->sin6_addr, a.bytes, 16);
		*len = sizeof(*in6);
	}
	return 0;
}
