/*
 * netaddr_fuzz: netaddr_parse, netaddr_parse_cidr, netaddr_parse_listen,
 * netaddr_cidr_contains and netaddr_format.
 *
 * Input: the whole input (up to the first NUL) is tried as an address, a
 * CIDR range and a listen address; split at the first space it is also
 * tried as "RANGE ADDRESS" for netaddr_cidr_contains.
 *
 * Checked besides "no crash":
 *  - a parsed address, formatted and parsed again, gives the same family
 *    and bytes, and the text fits NETADDR_STR_MAX;
 *  - a parsed CIDR has prefix <= 32 / 128 and zero host bits, contains its
 *    own base address (an IPv4 range also its ::ffff:a.b.c.d form), and
 *    "FORMATTED/PREFIX" parses back to the same range;
 *  - every prefix of a parsed address, masked, contains that address;
 *  - netaddr_cidr_contains agrees with a bit-by-bit reference;
 *  - a parsed listen address is a sockaddr_in / _in6 of the right length,
 *    and formatting it as HOST:PORT / [HOST]:PORT parses back the same.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

#define FUZZ_NAME "netaddr_fuzz"
#include "fuzz_common.h"

static bool bit(const uint8_t *b, unsigned i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

static unsigned max_prefix(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* Reference for netaddr_cidr_contains, one bit at a time. */
static bool ref_contains(const struct netaddr_cidr *r, const struct netaddr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *ab = a->bytes;

	if (r->addr.family != a->family) {
		if (r->addr.family != AF_INET || a->family != AF_INET6 ||
		    memcmp(a->bytes, mapped, 12) != 0)
			return false;
		ab = a->bytes + 12;
	}
	for (unsigned i = 0; i < r->prefix; i++)
		if (bit(r->addr.bytes, i) != bit(ab, i))
			return false;
	return true;
}

static void check_contains(const struct netaddr_cidr *r, const struct netaddr *a,
			   const char *s)
{
	if (netaddr_cidr_contains(r, a) != ref_contains(r, a))
		fail("netaddr_cidr_contains disagrees with the reference", s);
}

static void check_address(const char *s)
{
	struct netaddr a, b;
	struct netaddr_cidr r;
	char text[NETADDR_STR_MAX];

	if (netaddr_parse(s, &a) != 0)
		return;
	if (a.family != AF_INET && a.family != AF_INET6)
		fail("parsed address of an unknown family", s);
	memset(text, 'Z', sizeof(text));
	netaddr_format(&a, text);
	if (memchr(text, '\0', sizeof(text)) == NULL)
		fail("formatted address not NUL-terminated", s);
	if (netaddr_parse(text, &b) != 0 || a.family != b.family ||
	    memcmp(a.bytes, b.bytes, sizeof(a.bytes)) != 0)
		fail("address does not survive format and parse", s);
	/* Every prefix of the address, host bits cleared, contains it. */
	for (unsigned p = 0; p <= max_prefix(a.family); p++) {
		r.addr = a;
		r.prefix = p;
		for (unsigned i = p; i < max_prefix(a.family); i++)
			r.addr.bytes[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
		if (!netaddr_cidr_contains(&r, &a))
			fail("a masked prefix does not contain its address", s);
	}
}

static void check_cidr(const char *s)
{
	struct netaddr_cidr r, r2;
	struct netaddr mapped;
	char text[NETADDR_STR_MAX], again[NETADDR_STR_MAX + 8];

	if (netaddr_parse_cidr(s, &r) != 0)
		return;
	if ((r.addr.family != AF_INET && r.addr.family != AF_INET6) ||
	    r.prefix > max_prefix(r.addr.family))
		fail("parsed CIDR with a bad family or prefix", s);
	for (unsigned i = r.prefix; i < max_prefix(r.addr.family); i++)
		if (bit(r.addr.bytes, i))
			fail("parsed CIDR with host bits set", s);
	if (!netaddr_cidr_contains(&r, &r.addr))
		fail("CIDR does not contain its own base address", s);
	if (r.addr.family == AF_INET) {
		memset(&mapped, 0, sizeof(mapped));
		mapped.family = AF_INET6;
		mapped.bytes[10] = mapped.bytes[11] = 0xff;
		memcpy(mapped.bytes + 12, r.addr.bytes, 4);
		if (!netaddr_cidr_contains(&r, &mapped))
			fail("IPv4 CIDR does not contain its own base as ::ffff:a.b.c.d", s);
	}
	netaddr_format(&r.addr, text);
	snprintf(again, sizeof(again), "%s/%u", text, r.prefix);
	if (netaddr_parse_cidr(again, &r2) != 0 || r2.prefix != r.prefix ||
	    r2.addr.family != r.addr.family ||
	    memcmp(r2.addr.bytes, r.addr.bytes, sizeof(r.addr.bytes)) != 0)
		fail("CIDR does not survive format and parse", s);
}

static void check_listen(const char *s)
{
	struct sockaddr_storage ss, ss2;
	socklen_t len = 0, len2 = 0;
	struct netaddr a;
	char host[NETADDR_STR_MAX], again[NETADDR_STR_MAX + 16];
	unsigned port;

	if (netaddr_parse_listen(s, &ss, &len) != 0)
		return;
	if (netaddr_from_sockaddr((const struct sockaddr *)&ss, &a) != 0)
		fail("listen address of an unknown family", s);
	if (len != (a.family == AF_INET ? sizeof(struct sockaddr_in)
					 : sizeof(struct sockaddr_in6)))
		fail("listen address with the wrong length", s);
	port = ntohs(a.family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					 : ((struct sockaddr_in6 *)&ss)->sin6_port);
	netaddr_format(&a, host);
	snprintf(again, sizeof(again), a.family == AF_INET ? "%s:%u" : "[%s]:%u", host, port);
	memset(&ss2, 0, sizeof(ss2));
	if (netaddr_parse_listen(again, &ss2, &len2) != 0 || len2 != len ||
	    memcmp(&ss, &ss2, len) != 0)
		fail("listen address does not survive format and parse", s);
}

static void check_pair(char *s)
{
	char *space = strchr(s, ' ');
	struct netaddr_cidr r;
	struct netaddr a;

	if (space == NULL)
		return;
	*space = '\0';
	if (netaddr_parse_cidr(s, &r) == 0 && netaddr_parse(space + 1, &a) == 0)
		check_contains(&r, &a, s);
	*space = ' ';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_address(s);
	check_cidr(s);
	check_listen(s);
	check_pair(s);
	free(s);
	return 0;
}
