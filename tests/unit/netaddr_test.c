/* netaddr_test: addresses, CIDR ranges and listen addresses (netaddr.c). */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static struct netaddr addr(const char *s)
{
	struct netaddr a;

	ck_assert_msg(netaddr_parse(s, &a) == 0, "'%s' should parse", s);
	return a;
}

static struct netaddr_cidr cidr(const char *s)
{
	struct netaddr_cidr c;

	ck_assert_msg(netaddr_parse_cidr(s, &c) == 0, "'%s' should parse as a range", s);
	return c;
}

static bool contains(const char *range, const char *a)
{
	struct netaddr_cidr c = cidr(range);
	struct netaddr x = addr(a);

	return netaddr_cidr_contains(&c, &x);
}

START_TEST(test_netaddr_parse)
{
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct netaddr a;

	ck_assert_int_eq(netaddr_parse("192.0.2.1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET);
	ck_assert_mem_eq(a.bytes, v4, 4);
	ck_assert_int_eq(netaddr_parse("2001:db8::1", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_mem_eq(a.bytes, v6, 16);
	ck_assert_int_eq(netaddr_parse("::", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
	ck_assert_int_eq(netaddr_parse("::ffff:10.1.2.3", &a), 0);
	ck_assert_int_eq(a.family, AF_INET6);
}
END_TEST

START_TEST(test_netaddr_parse_junk)
{
	static const char *const bad[] = {
		"", "localhost", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4",
		"1.2.3.4/8", "[::1]", "::1%lo", "2001:db8:::1", "1.2.3.4:80", "0x7f.0.0.1", ":::",
	};
	struct netaddr a;

	memset(&a, 0x5a, sizeof(a));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(netaddr_parse(bad[i], &a) == -1, "'%s' must be refused", bad[i]);
	/* Nothing is written on failure. */
	ck_assert_int_eq(a.family, 0x5a5a5a5a);
}
END_TEST

START_TEST(test_netaddr_cidr_parse)
{
	struct netaddr_cidr c;

	c = cidr("10.0.0.0/8");
	ck_assert_int_eq(c.addr.family, AF_INET);
	ck_assert_uint_eq(c.prefix, 8);
	c = cidr("192.168.1.7");
	ck_assert_uint_eq(c.prefix, 32);
	c = cidr("fd00::/8");
	ck_assert_int_eq(c.addr.family, AF_INET6);
	ck_assert_uint_eq(c.prefix, 8);
	c = cidr("::1");
	ck_assert_uint_eq(c.prefix, 128);
	c = cidr("0.0.0.0/0");
	ck_assert_uint_eq(c.prefix, 0);
	c = cidr("::/0");
	ck_assert_uint_eq(c.prefix, 0);
	c = cidr("10.0.0.1/32");
	ck_assert_uint_eq(c.prefix, 32);
	c = cidr("2001:db8::1/128");
	ck_assert_uint_eq(c.prefix, 128);
	c = cidr("10.128.0.0/9");
	ck_assert_uint_eq(c.prefix, 9);
}
END_TEST

START_TEST(test_netaddr_cidr_parse_bad)
{
	static const char *const bad[] = {
		"/", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/8/8", "10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0.0/0008", "banana/8",
		"10.0.0.1/8", "10.128.0.0/8", "10.0.0.1/31", "2001:db8::1/64", "::1/127", "fd00::/7", "",
		"1.2.3.4.5/32",
	};
	struct netaddr_cidr c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(netaddr_parse_cidr(bad[i], &c) == -1, "'%s' must be refused",
			      bad[i]);
}
END_TEST

START_TEST(test_netaddr_contains_v4)
{
	ck_assert(contains("10.0.0.0/8", "10.255.255.255"));
	ck_assert(contains("10.0.0.0/8", "10.0.0.0"));
	ck_assert(!contains("10.0.0.0/8", "11.0.0.0"));
	ck_assert(!contains("10.0.0.0/8", "9.255.255.255"));
	ck_assert(contains("192.168.1.128/25", "192.168.1.200"));
	ck_assert(!contains("192.168.1.128/25", "192.168.1.127"));
	ck_assert(contains("192.168.1.7/32", "192.168.1.7"));
	ck_assert(!contains("192.168.1.7/32", "192.168.1.6"));
	ck_assert(contains("0.0.0.0/0", "203.0.113.9"));
}
END_TEST

START_TEST(test_netaddr_contains_v6)
{
	ck_assert(contains("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!contains("2001:db8::/32", "2001:db9::1"));
	ck_assert(contains("fc00::/7", "fdff::1"));
	ck_assert(contains("fc00::/7", "fd00::1"));
	ck_assert(!contains("fc00::/7", "fe00::1"));
	ck_assert(contains("::1/128", "::1"));
	ck_assert(!contains("::1/128", "::2"));
	ck_assert(contains("::/0", "2001:db8::1"));
}
END_TEST

START_TEST(test_netaddr_contains_mapped_and_mismatch)
{
	/* An IPv4-mapped IPv6 peer (dual-stack socket) matches IPv4 ranges. */
	ck_assert(contains("10.0.0.0/8", "::ffff:10.1.2.3"));
	ck_assert(!contains("10.0.0.0/8", "::ffff:11.1.2.3"));
	ck_assert(contains("0.0.0.0/0", "::ffff:1.2.3.4"));
	/* Other families never match. */
	ck_assert(!contains("0.0.0.0/0", "::1"));
	ck_assert(!contains("0.0.0.0/0", "::10.1.2.3"));
	ck_assert(!contains("::/0", "10.1.2.3"));
	ck_assert(!contains("::1/128", "127.0.0.1"));
}
END_TEST

START_TEST(test_netaddr_from_sockaddr)
{
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr un;
	struct netaddr a;
	char s[NETADDR_STR_MAX];

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	ck_assert_int_eq(inet_pton(AF_INET, "198.51.100.4", &in.sin_addr), 1);
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in, &a), 0);
	netaddr_format(&a, s);
	ck_assert_str_eq(s, "198.51.100.4");

	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	ck_assert_int_eq(inet_pton(AF_INET6, "2001:db8::7", &in6.sin6_addr), 1);
	ck_assert_int_eq(netaddr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	netaddr_format(&a, s);
	ck_assert_str_eq(s, "2001:db8::7");

	memset(&un, 0, sizeof(un));
	un.sa_family = AF_UNIX;
	ck_assert_int_eq(netaddr_from_sockaddr(&un, &a), -1);
	ck_assert_int_eq(netaddr_from_sockaddr(NULL, &a), -1);
}
END_TEST

START_TEST(test_netaddr_format_round_trip)
{
	static const char *const in[] = {
		"0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1", "2001:db8::1",
		"fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "::ffff:10.1.2.3",
	};
	char s[NETADDR_STR_MAX];
	struct netaddr a, b;

	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		a = addr(in[i]);
		netaddr_format(&a, s);
		ck_assert_str_eq(s, in[i]);
		b = addr(s);
		ck_assert_int_eq(b.family, a.family);
		ck_assert_mem_eq(b.bytes, a.bytes, sizeof(a.bytes));
	}
	/* Non-canonical input comes back canonical. */
	a = addr("2001:0DB8:0:0:0:0:0:0001");
	netaddr_format(&a, s);
	ck_assert_str_eq(s, "2001:db8::1");
}
END_TEST

START_TEST(test_netaddr_parse_listen)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
	char s[INET6_ADDRSTRLEN];

	ck_assert_int_eq(netaddr_parse_listen("127.0.0.1:0", &ss, &len), 0);
	ck_assert_int_eq(in->sin_family, AF_INET);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in));
	ck_assert_uint_eq(ntohs(in->sin_port), 0);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET, &in->sin_addr, s, sizeof(s)));
	ck_assert_str_eq(s, "127.0.0.1");

	ck_assert_int_eq(netaddr_parse_listen("0.0.0.0:65535", &ss, &len), 0);
	ck_assert_uint_eq(ntohs(in->sin_port), 65535);

	ck_assert_int_eq(netaddr_parse_listen("[::1]:80", &ss, &len), 0);
	ck_assert_int_eq(in6->sin6_family, AF_INET6);
	ck_assert_uint_eq(len, sizeof(struct sockaddr_in6));
	ck_assert_uint_eq(ntohs(in6->sin6_port), 80);
	ck_assert_ptr_nonnull(inet_ntop(AF_INET6, &in6->sin6_addr, s, sizeof(s)));
	ck_assert_str_eq(s, "::1");

	ck_assert_int_eq(netaddr_parse_listen("[::]:8080", &ss, &len), 0);
	ck_assert_uint_eq(ntohs(in6->sin6_port), 8080);
}
END_TEST

START_TEST(test_netaddr_parse_listen_bad)
{
	static const char *const bad[] = {
		"localhost:80", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:99999", "::1:80",
		"::1", "[::1]", "[::1]80", "[::1:80", ":80", "[]:80", "1.2.3.4:-1", "1.2.3.4:+80",
		"1.2.3.4:80x", "1.2.3.4: 80", "1.2.3.4:0080000", "", "[localhost]:80",
		"1.2.3.4:80:80",
	};
	struct sockaddr_storage ss;
	socklen_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(netaddr_parse_listen(bad[i], &ss, &len) == -1,
			      "'%s' must be refused", bad[i]);
}
END_TEST

static Suite *netaddr_suite(void)
{
	Suite *s = suite_create("netaddr");
	TCase *parse = tcase_create("parse");
	TCase *range = tcase_create("cidr");
	TCase *listen = tcase_create("listen");

	tcase_add_test(parse, test_netaddr_parse);
	tcase_add_test(parse, test_netaddr_parse_junk);
	tcase_add_test(parse, test_netaddr_from_sockaddr);
	tcase_add_test(parse, test_netaddr_format_round_trip);
	suite_add_tcase(s, parse);

	tcase_add_test(range, test_netaddr_cidr_parse);
	tcase_add_test(range, test_netaddr_cidr_parse_bad);
	tcase_add_test(range, test_netaddr_contains_v4);
	tcase_add_test(range, test_netaddr_contains_v6);
	tcase_add_test(range, test_netaddr_contains_mapped_and_mismatch);
	suite_add_tcase(s, range);

	tcase_add_test(listen, test_netaddr_parse_listen);
	tcase_add_test(listen, test_netaddr_parse_listen_bad);
	suite_add_tcase(s, listen);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(netaddr_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
