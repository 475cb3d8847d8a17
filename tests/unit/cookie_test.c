/* cookie_test: Cookie header parsing, Set-Cookie building and cookie names (cookie.c). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

/* Expects cookie_get to return 0 and the value want. */
static void expect_value(const char *header, const char *name, const char *want)
{
	char out[256];
	int rc = cookie_get(header, name, out, sizeof(out));

	ck_assert_msg(rc == 0, "'%s' in '%s': rc %d, expected 0", name, header, rc);
	ck_assert_msg(strcmp(out, want) == 0, "'%s' in '%s': got '%s', expected '%s'", name,
		      header, out, want);
}

/* Expects cookie_get to return rc (-1 or -2) and to leave out as it was. */
static void expect_rc(const char *header, const char *name, int want)
{
	char out[256] = "untouched";
	int rc = cookie_get(header, name, out, sizeof(out));

	ck_assert_msg(rc == want, "'%s' in '%s': rc %d, expected %d", name ? name : "(null)",
		      header ? header : "(null)", rc, want);
	ck_assert_str_eq(out, "untouched");
}

/* Expects cookie_build to give exactly want. */
static void expect_built(const char *name, const char *value, const struct cookie_attrs *a,
			 const char *want)
{
	char out[512];
	int rc = cookie_build(name, value, a, out, sizeof(out));

	ck_assert_msg(rc == 0, "build '%s=%s': rc %d, expected 0", name, value, rc);
	ck_assert_str_eq(out, want);
}

/* Expects cookie_build to refuse and to leave an empty string. */
static void expect_refused(const char *name, const char *value, const struct cookie_attrs *a)
{
	char out[512] = "untouched";
	int rc = cookie_build(name, value, a, out, sizeof(out));

	ck_assert_msg(rc == -1, "build '%s=%s': rc %d, expected -1", name ? name : "(null)",
		      value ? value : "(null)", rc);
	ck_assert_str_eq(out, "");
}

START_TEST(test_cookie_get_single)
{
	expect_value("pw_token=abc.def-ghi_1", "pw_token", "abc.def-ghi_1");
	expect_value("a=1", "a", "1");
	/* Every cookie-octet class, '=' included (only the first '=' splits). */
	expect_value("a=!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~", "a",
		     "!#$%&'()*+-./09:<=>?@AZ[]^_`az{|}~");
	expect_value("a==", "a", "=");
}
END_TEST

START_TEST(test_cookie_get_several)
{
	static const char *const h = "a=1; b=22; c=333; pw_visitor=v.1.sig";

	expect_value(h, "a", "1");
	expect_value(h, "b", "22");
	expect_value(h, "c", "333");
	expect_value(h, "pw_visitor", "v.1.sig");
	expect_rc(h, "d", -1);
	expect_value("a=1;b=2;c=3", "b", "2");
}
END_TEST

START_TEST(test_cookie_get_prefix_suffix)
{
	expect_value("pw_token2=x; pw_token=y", "pw_token", "y");
	expect_value("pw_token2=x; pw_token=y", "pw_token2", "x");
	expect_value("pw_token=y; pw_token2=x", "pw_token", "y");
	expect_rc("xpw_token=1", "pw_token", -1);
	expect_rc("pw_token2=1", "pw_token", -1);
	expect_rc("pw_tok=1", "pw_token", -1);
	expect_rc("pw_token=1", "pw_tok", -1);
	expect_rc("pw_token=1", "token", -1);
	expect_value("xpw_token=1; pw_token=2; pw_tokenx=3", "pw_token", "2");
	/* A value that looks like a pair is not one. */
	expect_rc("a=pw_token=1", "pw_token", -1);
}
END_TEST

START_TEST(test_cookie_get_case_sensitive)
{
	expect_rc("PW_TOKEN=1", "pw_token", -1);
	expect_rc("Pw_Token=1", "pw_token", -1);
	expect_value("pw_token=1; PW_TOKEN=2", "pw_token", "1");
	expect_value("pw_token=1; PW_TOKEN=2", "PW_TOKEN", "2");
	expect_value("a=AbC", "a", "AbC");
}
END_TEST

START_TEST(test_cookie_get_whitespace)
{
	expect_value("  a=1", "a", "1");
	expect_value("a=1  ", "a", "1");
	expect_value("a=1 ; b=2", "a", "1");
	expect_value("a=1 ;\tb=2", "b", "2");
	expect_value("a=1;\t \tb=2\t", "b", "2");
	expect_value("a= 1 ; b=\t2\t", "a", "1");
	expect_value("a= 1 ; b=\t2\t", "b", "2");
	expect_value("a= \t", "a", "");
	/* Space inside the value is not optional whitespace. */
	expect_rc("a=1 2", "a", -2);
	expect_rc("a=1\t2", "a", -2);
}
END_TEST

START_TEST(test_cookie_get_spaced_name)
{
	/* Other parsers read these as "a": the gateway will not choose. */
	expect_rc("a =1", "a", -2);
	expect_rc("a\t=1", "a", -2);
	expect_rc(" a  = 1 ", "a", -2);
	expect_rc("a=1; a =2", "a", -2);
	expect_rc("a =2; a=1", "a", -2);
	expect_value("b =1; a=2", "a", "2");
}
END_TEST

START_TEST(test_cookie_get_quoted)
{
	expect_value("a=\"xyz\"", "a", "xyz");
	expect_value("a=\"\"", "a", "");
	expect_value("a= \"xyz\" ; b=1", "a", "xyz");
	expect_value("a=\"x=y\"", "a", "x=y");
	expect_rc("a=\"", "a", -2);
	expect_rc("a=\"xyz", "a", -2);
	expect_rc("a=xyz\"", "a", -2);
	expect_rc("a=x\"y", "a", -2);
	expect_rc("a=\" xyz\"", "a", -2);
	expect_rc("a=\"\"xyz\"\"", "a", -2);
	/* cookie-octet excludes ';', so a quoted ';' splits the pair anyway. */
	expect_rc("a=\"x;y\"", "a", -2);
}
END_TEST

START_TEST(test_cookie_get_empty_value)
{
	expect_value("a=", "a", "");
	expect_value("a=;b=1", "a", "");
	expect_value("b=1; a=", "a", "");
	expect_value("a=; b=", "b", "");
}
END_TEST

START_TEST(test_cookie_get_duplicates)
{
	expect_rc("a=1; a=1", "a", -2);
	expect_rc("a=1; a=2", "a", -2);
	expect_rc("a=1; b=2; a=3", "a", -2);
	expect_rc("a=; a=1", "a", -2);
	expect_rc("a=1;a=", "a", -2);
	expect_rc("a=1; a=x y", "a", -2);
	expect_rc("a=1; a=\"1\"", "a", -2);
	/* Only the duplicated name is ambiguous. */
	expect_value("a=1; a=2; b=3", "b", "3");
}
END_TEST

START_TEST(test_cookie_get_malformed)
{
	static const char *const bad[] = {
		"a=x y", "a=x,y", "a=x\\y", "a=\\", "a=x\x01y", "a=\x1f", "a=x\x7fy",
		"a=x\x80y", "a=\xc3\xa9", "a=\xff", "a=x\"y", "a=,", "a=x\ry", "a=x\ny",
		"a=x\x0by",
	};
	char out[64];

	for (size_t i = 0; i < NA(bad); i++)
		expect_rc(bad[i], "a", -2);
	/* A malformed neighbour does not spoil a good cookie. */
	expect_value("b=x y; a=1; c=\x80", "a", "1");
	ck_assert_int_eq(cookie_get("a=x y", "a", out, sizeof(out)), -2);
}
END_TEST

START_TEST(test_cookie_get_too_long)
{
	char out[8] = "untouch";
	char *big = malloc(COOKIE_VALUE_MAX + 8);
	char *h = malloc(COOKIE_VALUE_MAX + 8);

	ck_assert_int_eq(cookie_get("a=abcd", "a", out, 5), 0);
	ck_assert_str_eq(out, "abcd");
	ck_assert_int_eq(cookie_get("a=abcde", "a", out, 5), -2);
	ck_assert_str_eq(out, "abcd");
	ck_assert_int_eq(cookie_get("a=\"abcd\"", "a", out, 5), 0);
	ck_assert_int_eq(cookie_get("a=", "a", out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cookie_get("a=", "a", out, 0), -2);
	ck_assert_int_eq(cookie_get("b=", "a", out, 0), -1);

	/* COOKIE_VALUE_MAX bytes is the limit, whatever the buffer. */
	ck_assert_ptr_nonnull(big);
	ck_assert_ptr_nonnull(h);
	memcpy(h, "a=", 2);
	memset(h + 2, 'v', COOKIE_VALUE_MAX);
	h[2 + COOKIE_VALUE_MAX] = '\0';
	ck_assert_int_eq(cookie_get(h, "a", big, COOKIE_VALUE_MAX + 8), 0);
	ck_assert_uint_eq(strlen(big), COOKIE_VALUE_MAX);
	ck_assert_int_eq(cookie_get(h, "a", big, COOKIE_VALUE_MAX), -2);
	h[2 + COOKIE_VALUE_MAX] = 'v';
	h[3 + COOKIE_VALUE_MAX] = '\0';
	ck_assert_int_eq(cookie_get(h, "a", big, COOKIE_VALUE_MAX + 8), -2);
	free(big);
	free(h);
}
END_TEST

START_TEST(test_cookie_get_no_equals)
{
	expect_value("flag; a=1", "a", "1");
	expect_value("a=1; flag", "a", "1");
	expect_value("a; a=1", "a", "1");
	expect_value("a=1; a", "a", "1");
	expect_rc("flag", "flag", -1);
	expect_rc("a; a", "a", -1);
}
END_TEST

START_TEST(test_cookie_get_trailing_separators)
{
	expect_value("a=1;", "a", "1");
	expect_value("a=1; ", "a", "1");
	expect_value(";;a=1;;", "a", "1");
	expect_value("; ; a=1 ; ;", "a", "1");
	expect_value("a=;", "a", "");
}
END_TEST

START_TEST(test_cookie_get_empty_and_bad_input)
{
	expect_rc("", "a", -1);
	expect_rc(NULL, "a", -1);
	expect_rc(";", "a", -1);
	expect_rc("   ", "a", -1);
	expect_rc("=", "a", -1);
	expect_rc("=1", "a", -1);
	/* Names that are not tokens are never found. */
	expect_rc("=1", "", -1);
	expect_rc("a b=1", "a b", -1);
	expect_rc("a=1", NULL, -1);
	expect_rc("a;b=1", "a;b", -1);
}
END_TEST

START_TEST(test_cookie_get_long_header)
{
	size_t size = 100 * 1024, n = 0;
	char *h = malloc(size + 64);
	char out[64];

	ck_assert_ptr_nonnull(h);
	while (n + 32 < size)
		n += (size_t)snprintf(h + n, size + 64 - n, "c%zu=%08zu; ", n, n);
	snprintf(h + n, size + 64 - n, "pw_token=last");
	ck_assert_int_eq(cookie_get(h, "pw_token", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "last");
	ck_assert_int_eq(cookie_get(h, "c0", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "00000000");
	ck_assert_int_eq(cookie_get(h, "missing", out, sizeof(out)), -1);
	/* A duplicate at the far end still makes the first one ambiguous. */
	snprintf(h + n, size + 64 - n, "c0=again");
	ck_assert_int_eq(cookie_get(h, "c0", out, sizeof(out)), -2);

	/* One 100 KB value: too long, not a crash. */
	memcpy(h, "a=", 2);
	memset(h + 2, 'x', size);
	h[size + 2] = '\0';
	ck_assert_int_eq(cookie_get(h, "a", out, sizeof(out)), -2);
	ck_assert_int_eq(cookie_get(h, "b", out, sizeof(out)), -1);
	free(h);
}
END_TEST

START_TEST(test_cookie_name_is_valid)
{
	static const char *const ok[] = {
		"a", "pw_token", "PW-Visitor.1", "!#$%&'*+-.^_`|~", "__Host-x", "0",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};
	static const char *const bad[] = {
		"", "a b", "a=b", "a;b", "a,b", "a\"b", "(a)", "a@b", "a/b", "a:b", "[a]",
		"{a}", "a?b", "a\\b", "a\tb", "a\r", "a\n", "\x7f", "\x80", "\xc3\xa9",
		"01234567890123456789012345678901234567890123456789012345678901234",
	};

	for (size_t i = 0; i < NA(ok); i++)
		ck_assert_msg(cookie_name_is_valid(ok[i]), "'%s' should be valid", ok[i]);
	for (size_t i = 0; i < NA(bad); i++)
		ck_assert_msg(!cookie_name_is_valid(bad[i]), "'%s' should be invalid", bad[i]);
	ck_assert(!cookie_name_is_valid(NULL));
}
END_TEST

START_TEST(test_cookie_build_examples)
{
	const struct cookie_attrs token = { NULL, 3600, true, true, "Lax" };
	const struct cookie_attrs session = { NULL, -1, false, false, NULL };
	const struct cookie_attrs clear = { "/articles", 0, true, false, "Strict" };
	const struct cookie_attrs none = { "/", 31536000, false, true, "None" };

	expect_built("pw_token", "abc", &token,
		     "pw_token=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax");
	expect_built("a", "1", &session, "a=1; Path=/");
	expect_built("a", "1", NULL, "a=1; Path=/");
	expect_built("pw_token", "", &clear,
		     "pw_token=; Path=/articles; Max-Age=0; HttpOnly; SameSite=Strict");
	expect_built("v", "\"q\"", &none, "v=\"q\"; Path=/; Max-Age=31536000; Secure; SameSite=None");
	expect_built("__Secure-v", "1", &token,
		     "__Secure-v=1; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Lax");
	expect_built("__Host-v", "1", &none,
		     "__Host-v=1; Path=/; Max-Age=31536000; Secure; SameSite=None");
}
END_TEST

/* Appends s to the expected string e of size n (a test-side strcat). */
static void add(char *e, size_t n, const char *s)
{
	size_t len = strlen(e);

	ck_assert_uint_lt(len + strlen(s), n);
	memcpy(e + len, s, strlen(s) + 1);
}

START_TEST(test_cookie_build_every_combination)
{
	static const char *const paths[] = { NULL, "/articles/2024" };
	static const long long ages[] = { -1, 0, 86400 };
	static const char *const ages_text[] = { "", "; Max-Age=0", "; Max-Age=86400" };
	static const char *const same_sites[] = { NULL, "Lax", "Strict", "None" };
	size_t built = 0;

	/* i enumerates path x max-age x HttpOnly x Secure x SameSite. */
	for (size_t i = 0; i < 2 * 3 * 2 * 2 * 4; i++) {
		size_t p = i % 2, m = i / 2 % 3, ss = i / 24;
		bool h = i / 6 % 2, s = i / 12 % 2;
		struct cookie_attrs a = { paths[p], ages[m], h, s, same_sites[ss] };
		char want[256] = "pw_visitor=v1.abc; Path=";

		if (ss == 3 && !s) {
			expect_refused("pw_visitor", "v1.abc", &a);
			continue;
		}
		add(want, sizeof(want), paths[p] ? paths[p] : "/");
		add(want, sizeof(want), ages_text[m]);
		add(want, sizeof(want), h ? "; HttpOnly" : "");
		add(want, sizeof(want), s ? "; Secure" : "");
		if (same_sites[ss] != NULL) {
			add(want, sizeof(want), "; SameSite=");
			add(want, sizeof(want), same_sites[ss]);
		}
		expect_built("pw_visitor", "v1.abc", &a, want);
		built++;
	}
	/* 96 combinations, of which the 12 SameSite=None without Secure are refused. */
	ck_assert_uint_eq(built, 84);
}
END_TEST

START_TEST(test_cookie_build_refuses_injection)
{
	static const char *const bad_names[] = {
		"", "a\r", "a\n", "a\r\nSet-Cookie: x", "a;b", "a,b", "a b", " a", "a=b",
		"a\"", "a\x7f", "a\x80",
		"01234567890123456789012345678901234567890123456789012345678901234",
	};
	static const char *const bad_values[] = {
		"x\r", "x\n", "1\r\nSet-Cookie: admin=1", "x;Domain=evil", "x,y", "x y", " x",
		"x ", "x\ty", "x\"y", "\"x", "x\\y", "x\x01", "x\x7f", "x\x80", "\"x y\"",
	};
	const struct cookie_attrs a = { NULL, -1, true, true, "Lax" };

	for (size_t i = 0; i < NA(bad_names); i++)
		expect_refused(bad_names[i], "1", &a);
	for (size_t i = 0; i < NA(bad_values); i++)
		expect_refused("a", bad_values[i], &a);
	expect_refused(NULL, "1", &a);
	expect_refused("a", NULL, &a);
}
END_TEST

START_TEST(test_cookie_build_value_limit)
{
	char *v = malloc(COOKIE_VALUE_MAX + 2);
	char *out = malloc(COOKIE_VALUE_MAX + 64);

	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(out);
	memset(v, 'v', COOKIE_VALUE_MAX);
	v[COOKIE_VALUE_MAX] = '\0';
	ck_assert_int_eq(cookie_build("a", v, NULL, out, COOKIE_VALUE_MAX + 64), 0);
	ck_assert_uint_eq(strlen(out), COOKIE_VALUE_MAX + strlen("a=; Path=/"));
	v[COOKIE_VALUE_MAX] = 'v';
	v[COOKIE_VALUE_MAX + 1] = '\0';
	ck_assert_int_eq(cookie_build("a", v, NULL, out, COOKIE_VALUE_MAX + 64), -1);
	free(v);
	free(out);
}
END_TEST

START_TEST(test_cookie_build_refuses_attributes)
{
	static const char *const bad_paths[] = {
		"", "articles", "/a b", "/a;b", "/a,b", "/a\r\nX: y", "/a\t", "/\x7f", "/\x80",
	};
	static const char *const bad_same_sites[] = { "", "lax", "none", "STRICT", "Lax ", "Lax;" };
	struct cookie_attrs a = { NULL, -1, false, true, NULL };

	for (size_t i = 0; i < NA(bad_paths); i++) {
		a.path = bad_paths[i];
		expect_refused("a", "1", &a);
	}
	a.path = NULL;
	for (size_t i = 0; i < NA(bad_same_sites); i++) {
		a.same_site = bad_same_sites[i];
		expect_refused("a", "1", &a);
	}
}
END_TEST

START_TEST(test_cookie_build_prefixes)
{
	const struct cookie_attrs plain = { NULL, -1, true, false, "Lax" };
	const struct cookie_attrs secure_sub = { "/sub", -1, true, true, "Lax" };
	const struct cookie_attrs same_site_none = { NULL, -1, false, false, "None" };

	/* A browser drops these; better to fail where the config is read. */
	expect_refused("__Secure-a", "1", &plain);
	expect_refused("__secure-a", "1", &plain);
	expect_refused("__Host-a", "1", &plain);
	expect_refused("__HOST-a", "1", &plain);
	expect_refused("__Host-a", "1", &secure_sub);
	expect_refused("a", "1", &same_site_none);
	expect_built("__Secure-a", "1", &secure_sub,
		     "__Secure-a=1; Path=/sub; HttpOnly; Secure; SameSite=Lax");
	expect_built("__Securex", "1", &plain, "__Securex=1; Path=/; HttpOnly; SameSite=Lax");
	expect_built("__Hostx", "1", &plain, "__Hostx=1; Path=/; HttpOnly; SameSite=Lax");
}
END_TEST

START_TEST(test_cookie_build_too_small)
{
	char out[16] = "untouched";

	/* "a=1; Path=/" is 11 characters: it needs 12 bytes. */
	ck_assert_int_eq(cookie_build("a", "1", NULL, out, 0), -1);
	ck_assert_str_eq(out, "untouched");
	ck_assert_int_eq(cookie_build("a", "1", NULL, out, 11), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cookie_build("a", "1", NULL, out, 1), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(cookie_build("a", "1", NULL, out, 12), 0);
	ck_assert_str_eq(out, "a=1; Path=/");
}
END_TEST

START_TEST(test_cookie_round_trip)
{
	static const char *const values[] = { "", "1", "v1.AbC-_x.sig==", "\"q\"", "!#$%&'()*+" };
	char set[256], header[300], out[64];

	/* What the gateway sets, a browser sends back as "name=value". */
	for (size_t i = 0; i < NA(values); i++) {
		ck_assert_int_eq(cookie_build("pw_token", values[i], NULL, set, sizeof(set)), 0);
		snprintf(header, sizeof(header), "x=1; %.*s; y=2",
			 (int)(strchr(set, ';') - set), set);
		ck_assert_int_eq(cookie_get(header, "pw_token", out, sizeof(out)), 0);
		if (values[i][0] == '"')
			ck_assert_str_eq(out, "q");
		else
			ck_assert_str_eq(out, values[i]);
	}
}
END_TEST

static Suite *cookie_suite(void)
{
	Suite *s = suite_create("cookie");
	TCase *get = tcase_create("get");
	TCase *build = tcase_create("build");

	tcase_add_test(get, test_cookie_get_single);
	tcase_add_test(get, test_cookie_get_several);
	tcase_add_test(get, test_cookie_get_prefix_suffix);
	tcase_add_test(get, test_cookie_get_case_sensitive);
	tcase_add_test(get, test_cookie_get_whitespace);
	tcase_add_test(get, test_cookie_get_spaced_name);
	tcase_add_test(get, test_cookie_get_quoted);
	tcase_add_test(get, test_cookie_get_empty_value);
	tcase_add_test(get, test_cookie_get_duplicates);
	tcase_add_test(get, test_cookie_get_malformed);
	tcase_add_test(get, test_cookie_get_too_long);
	tcase_add_test(get, test_cookie_get_no_equals);
	tcase_add_test(get, test_cookie_get_trailing_separators);
	tcase_add_test(get, test_cookie_get_empty_and_bad_input);
	tcase_add_test(get, test_cookie_get_long_header);
	tcase_add_test(get, test_cookie_name_is_valid);
	suite_add_tcase(s, get);

	tcase_add_test(build, test_cookie_build_examples);
	tcase_add_test(build, test_cookie_build_every_combination);
	tcase_add_test(build, test_cookie_build_refuses_injection);
	tcase_add_test(build, test_cookie_build_value_limit);
	tcase_add_test(build, test_cookie_build_refuses_attributes);
	tcase_add_test(build, test_cookie_build_prefixes);
	tcase_add_test(build, test_cookie_build_too_small);
	tcase_add_test(build, test_cookie_round_trip);
	suite_add_tcase(s, build);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cookie_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
