/* headers_test: which headers cross the gateway (headers.c), request framing checks, X-Forwarded-For. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "headers.h"

#define H(n, v) { (n), (v) }
#define NH(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_headers_hop_by_hop)
{
	static const char *const hop[] = {
		"connection", "Connection", "KEEP-ALIVE", "te", "TE", "Trailer", "trailers",
		"transfer-encoding", "Transfer-Encoding", "upgrade", "Proxy-Authorization",
		"proxy-connection", "Proxy-Authenticate", "PROXY-anything",
	};
	static const char *const end_to_end[] = {
		"Content-Type", "Content-Length", "Cookie", "Host", "Authorization",
		"Connections", "Upgrade-Insecure-Requests", "X-Proxy-Id", "Proxy", "T", "",
	};

	for (size_t i = 0; i < NH(hop); i++)
		ck_assert_msg(headers_is_hop_by_hop(hop[i]), "%s should be hop-by-hop", hop[i]);
	for (size_t i = 0; i < NH(end_to_end); i++)
		ck_assert_msg(!headers_is_hop_by_hop(end_to_end[i]), "%s is end-to-end",
			      end_to_end[i]);
}
END_TEST

START_TEST(test_headers_connection_lists)
{
	ck_assert(headers_connection_lists("close, X-Foo", "x-foo"));
	ck_assert(headers_connection_lists("X-Foo", "X-Foo"));
	ck_assert(headers_connection_lists("keep-alive,x-foo", "X-FOO"));
	ck_assert(headers_connection_lists(" \tX-Foo\t , close", "x-foo"));
	ck_assert(headers_connection_lists("close,,, ,X-Bar  ", "x-bar"));
	ck_assert(headers_connection_lists("a,\tb\t,c", "b"));
	ck_assert(!headers_connection_lists("close, X-Foo", "X-Fo"));
	ck_assert(!headers_connection_lists("close, X-Foo", "X-Foo2"));
	ck_assert(!headers_connection_lists("close, X-Foo-Bar", "X-Foo"));
	ck_assert(!headers_connection_lists("X Foo", "X"));
	ck_assert(!headers_connection_lists("", "close"));
	ck_assert(!headers_connection_lists(", ,", "close"));
	ck_assert(!headers_connection_lists(NULL, "close"));
	ck_assert(!headers_connection_lists("close, ", ""));
}
END_TEST

START_TEST(test_headers_gateway_owned)
{
	ck_assert(headers_is_gateway_owned("X-Paywall-User"));
	ck_assert(headers_is_gateway_owned("x-paywall-access"));
	ck_assert(headers_is_gateway_owned("X-PAYWALL-"));
	ck_assert(!headers_is_gateway_owned("X-Paywall"));
	ck_assert(!headers_is_gateway_owned("X-Paywalls-User"));
}
END_TEST

START_TEST(test_headers_forward_request_dropped)
{
	static const char *const dropped[] = {
		"X-Paywall-User", "x-paywall-user", "X-PAYWALL-USER", "X-Paywall-Access",
		"X-Forwarded-For", "x-forwarded-for", "X-Forwarded-Proto", "X-Forwarded-Host",
		"X-Forwarded-Port", "x-forwarded-prefix", "X-Forwarded-Server",
		"X-Request-Id", "x-request-id", "Content-Length", "content-length", "Expect",
		"Forwarded", "Host", "host", "Connection", "Keep-Alive", "TE", "Upgrade",
		"Transfer-Encoding", "Proxy-Authorization",
	};

	for (size_t i = 0; i < NH(dropped); i++)
		ck_assert_msg(!headers_forward_request(dropped[i], NULL, false),
			      "%s must not be forwarded", dropped[i]);
	/* Named in the request's Connection header: hop-by-hop for this message. */
	ck_assert(!headers_forward_request("X-Debug", "close, x-debug", false));
	ck_assert(!headers_forward_request("Cookie", "Cookie", true));
	ck_assert(headers_forward_request("X-Debug", "close", false));
}
END_TEST

START_TEST(test_headers_forward_request_host)
{
	ck_assert(!headers_forward_request("Host", NULL, false));
	ck_assert(headers_forward_request("Host", NULL, true));
	ck_assert(headers_forward_request("HOST", "close", true));
	/* preserve_host does not reopen the other dropped headers. */
	ck_assert(!headers_forward_request("X-Forwarded-Host", NULL, true));
}
END_TEST

START_TEST(test_headers_forward_request_kept)
{
	static const char *const kept[] = {
		"Cookie", "Authorization", "User-Agent", "Accept-Encoding", "Range",
		"Accept", "If-None-Match", "Content-Type", "X-Forwarded", "X-Requested-With",
	};

	for (size_t i = 0; i < NH(kept); i++) {
		ck_assert_msg(headers_forward_request(kept[i], NULL, false),
			      "%s must be forwarded", kept[i]);
		ck_assert_msg(headers_forward_request(kept[i], "keep-alive", true),
			      "%s must be forwarded", kept[i]);
	}
}
END_TEST

START_TEST(test_headers_forward_response)
{
	static const char *const dropped[] = {
		"Content-Length", "content-length", "Transfer-Encoding", "X-Paywall-Access",
		"x-paywall-user", "Connection", "Keep-Alive", "Trailer", "Upgrade",
		"Proxy-Authenticate",
	};
	static const char *const kept[] = {
		"Set-Cookie", "ETag", "Content-Type", "Cache-Control", "Last-Modified",
		"Content-Encoding", "Location", "Vary",
	};

	for (size_t i = 0; i < NH(dropped); i++)
		ck_assert_msg(!headers_forward_response(dropped[i], NULL),
			      "%s must not reach the client", dropped[i]);
	for (size_t i = 0; i < NH(kept); i++)
		ck_assert_msg(headers_forward_response(kept[i], "close"),
			      "%s must reach the client", kept[i]);
	ck_assert(!headers_forward_response("X-Backend-Node", "close, X-Backend-Node"));
	ck_assert(headers_forward_response("X-Backend-Node", "close"));
}
END_TEST

START_TEST(test_headers_check_request_ok)
{
	static const struct header_ref plain[] = {
		H("Host", "example.org"), H("Authorization", "Bearer x"), H("Cookie", "a=1"),
		H("Accept", "*/*"), H("Accept", "text/html"), H("X-Forwarded-For", "1.2.3.4"),
		H("X-Forwarded-For", "5.6.7.8"),
	};
	static const struct header_ref chunked[] = {
		H("Host", "h"), H("Transfer-Encoding", "chunked"),
	};
	static const struct header_ref chunked_case[] = { H("transfer-encoding", "Chunked") };
	static const struct header_ref cl[] = { H("Content-Length", "12") };
	static const struct header_ref cl0[] = { H("content-length", "0") };
	static const struct header_ref cl18[] = { H("Content-Length", "999999999999999999") };

	ck_assert_ptr_null(headers_check_request(NULL, 0));
	ck_assert_ptr_null(headers_check_request(plain, NH(plain)));
	ck_assert_ptr_null(headers_check_request(chunked, NH(chunked)));
	ck_assert_ptr_null(headers_check_request(chunked_case, NH(chunked_case)));
	ck_assert_ptr_null(headers_check_request(cl, NH(cl)));
	ck_assert_ptr_null(headers_check_request(cl0, NH(cl0)));
	ck_assert_ptr_null(headers_check_request(cl18, NH(cl18)));
}
END_TEST

START_TEST(test_headers_check_request_smuggling)
{
	static const struct header_ref cl_te[] = {
		H("Content-Length", "5"), H("Transfer-Encoding", "chunked"),
	};
	static const struct header_ref te_cl[] = {
		H("transfer-encoding", "chunked"), H("CONTENT-LENGTH", "0"),
	};
	static const struct header_ref te_gzip[] = { H("Transfer-Encoding", "gzip, chunked") };
	static const struct header_ref te_space[] = { H("Transfer-Encoding", " chunked") };
	static const struct header_ref te_two[] = {
		H("Transfer-Encoding", "chunked"), H("Transfer-Encoding", "chunked"),
	};

	ck_assert_str_eq(headers_check_request(cl_te, NH(cl_te)),
			 "both Content-Length and Transfer-Encoding");
	ck_assert_str_eq(headers_check_request(te_cl, NH(te_cl)),
			 "both Content-Length and Transfer-Encoding");
	ck_assert_str_eq(headers_check_request(te_gzip, NH(te_gzip)),
			 "unsupported Transfer-Encoding");
	ck_assert_str_eq(headers_check_request(te_space, NH(te_space)),
			 "unsupported Transfer-Encoding");
	ck_assert_str_eq(headers_check_request(te_two, NH(te_two)), "repeated Transfer-Encoding");
}
END_TEST

START_TEST(test_headers_check_request_content_length)
{
	static const struct header_ref two_equal[] = {
		H("Content-Length", "12"), H("content-length", "12"),
	};
	static const char *const bad[] = {
		"12abc", "-1", "+1", " 12", "12 ", "", "0x10", "1e3", "1,2",
		"1000000000000000000", "9999999999999999999",
	};

	ck_assert_str_eq(headers_check_request(two_equal, NH(two_equal)),
			 "repeated Content-Length");
	for (size_t i = 0; i < NH(bad); i++) {
		struct header_ref h[] = { H("Host", "h"), H("Content-Length", bad[i]) };
		const char *why = headers_check_request(h, NH(h));
		ck_assert_msg(why != NULL && strcmp(why, "malformed Content-Length") == 0,
			      "Content-Length '%s': got %s", bad[i], why ? why : "(accepted)");
	}
}
END_TEST

START_TEST(test_headers_check_request_repeated_credentials)
{
	static const struct header_ref host[] = { H("Host", "a"), H("HOST", "b") };
	static const struct header_ref authz[] = {
		H("Authorization", "Bearer a"), H("Accept", "*/*"), H("authorization", "Bearer a"),
	};
	static const struct header_ref cookie[] = { H("cookie", "a=1"), H("Cookie", "b=2") };
	static const struct header_ref one_each[] = {
		H("host", "a"), H("AUTHORIZATION", "x"), H("COOKIE", "c=1"),
	};

	ck_assert_str_eq(headers_check_request(host, NH(host)), "repeated Host");
	ck_assert_str_eq(headers_check_request(authz, NH(authz)), "repeated Authorization");
	ck_assert_str_eq(headers_check_request(cookie, NH(cookie)), "repeated Cookie");
	ck_assert_ptr_null(headers_check_request(one_each, NH(one_each)));
}
END_TEST

START_TEST(test_headers_find)
{
	static const struct header_ref h[] = {
		H("Host", "a"), H("x-one", "1"), H("X-One", "2"),
	};

	ck_assert_str_eq(headers_find(h, NH(h), "X-ONE"), "1");
	ck_assert_str_eq(headers_find(h, NH(h), "host"), "a");
	ck_assert_ptr_null(headers_find(h, NH(h), "Cookie"));
	ck_assert_ptr_null(headers_find(h, 0, "Host"));
}
END_TEST

START_TEST(test_headers_forwarded_for)
{
	char out[64];

	ck_assert_int_eq(headers_forwarded_for("203.0.113.5", true, "10.0.0.2", out, sizeof(out)),
			 0);
	ck_assert_str_eq(out, "203.0.113.5, 10.0.0.2");
	ck_assert_int_eq(headers_forwarded_for("1.1.1.1, 2.2.2.2", true, "10.0.0.2", out,
					       sizeof(out)), 0);
	ck_assert_str_eq(out, "1.1.1.1, 2.2.2.2, 10.0.0.2");
	ck_assert_int_eq(headers_forwarded_for(NULL, true, "10.0.0.2", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "10.0.0.2");
	ck_assert_int_eq(headers_forwarded_for("", true, "::1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "::1");
}
END_TEST

START_TEST(test_headers_forwarded_for_untrusted)
{
	char out[64];

	/* A forged chain from an untrusted peer is replaced, not extended. */
	ck_assert_int_eq(headers_forwarded_for("127.0.0.1, 10.0.0.1", false, "198.51.100.7", out,
					       sizeof(out)), 0);
	ck_assert_str_eq(out, "198.51.100.7");
	ck_assert_int_eq(headers_forwarded_for(NULL, false, "198.51.100.7", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "198.51.100.7");
}
END_TEST

START_TEST(test_headers_forwarded_for_too_small)
{
	char out[17];

	/* "1.2.3.4, 5.6.7.8" is 16 characters: it needs 17 bytes. */
	ck_assert_int_eq(headers_forwarded_for("1.2.3.4", true, "5.6.7.8", out, 16), -1);
	ck_assert_int_eq(headers_forwarded_for("1.2.3.4", true, "5.6.7.8", out, 17), 0);
	ck_assert_str_eq(out, "1.2.3.4, 5.6.7.8");
	ck_assert_int_eq(headers_forwarded_for(NULL, false, "255.255.255.255", out, 15), -1);
	ck_assert_int_eq(headers_forwarded_for(NULL, false, "255.255.255.255", out, 16), 0);
	ck_assert_str_eq(out, "255.255.255.255");
}
END_TEST

static Suite *headers_suite(void)
{
	Suite *s = suite_create("headers");
	TCase *fwd = tcase_create("forwarding");
	TCase *chk = tcase_create("check_request");
	TCase *xff = tcase_create("forwarded_for");

	tcase_add_test(fwd, test_headers_hop_by_hop);
	tcase_add_test(fwd, test_headers_connection_lists);
	tcase_add_test(fwd, test_headers_gateway_owned);
	tcase_add_test(fwd, test_headers_forward_request_dropped);
	tcase_add_test(fwd, test_headers_forward_request_host);
	tcase_add_test(fwd, test_headers_forward_request_kept);
	tcase_add_test(fwd, test_headers_forward_response);
	suite_add_tcase(s, fwd);

	tcase_add_test(chk, test_headers_check_request_ok);
	tcase_add_test(chk, test_headers_check_request_smuggling);
	tcase_add_test(chk, test_headers_check_request_content_length);
	tcase_add_test(chk, test_headers_check_request_repeated_credentials);
	tcase_add_test(chk, test_headers_find);
	suite_add_tcase(s, chk);

	tcase_add_test(xff, test_headers_forwarded_for);
	tcase_add_test(xff, test_headers_forwarded_for_untrusted);
	tcase_add_test(xff, test_headers_forwarded_for_too_small);
	suite_add_tcase(s, xff);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(headers_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
