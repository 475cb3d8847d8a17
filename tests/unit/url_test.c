/* url_test: request target checks and upstream URL joining (url.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

#define NOT_ORIGIN "request target is not in origin form"
#define BAD_CHAR "invalid character in request target"
#define BAD_ESCAPE "malformed percent-escape in request target"
#define TOO_LONG "request target too long"

static void expect_reason(const char *target, const char *want)
{
	const char *why = url_check_target(target);

	ck_assert_msg(why != NULL && strcmp(why, want) == 0, "'%s': expected '%s', got '%s'",
		      target ? target : "(null)", want, why ? why : "(accepted)");
}

START_TEST(test_url_target_ok)
{
	static const char *const ok[] = {
		"/", "/a/b?c=d&e=f", "/%2e%2E/x", "/?a[]=1&b[x]=2", "/a?{x}|y^z",
		"/articles/2024/10/slug-with_dots.and~tilde", "/a:b@c!$&'()*+,;=",
		"/search?q=a/b?c", "/a%2Fb",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *why = url_check_target(ok[i]);
		ck_assert_msg(why == NULL, "'%s' rejected: %s", ok[i], why);
	}
}
END_TEST

START_TEST(test_url_target_not_origin_form)
{
	expect_reason("", NOT_ORIGIN);
	expect_reason("article", NOT_ORIGIN);
	expect_reason("http://x/", NOT_ORIGIN);
	expect_reason("*", NOT_ORIGIN);
	expect_reason("example.org:443", NOT_ORIGIN);
	expect_reason(NULL, NOT_ORIGIN);
}
END_TEST

START_TEST(test_url_target_bad_chars)
{
	expect_reason("/a b", BAD_CHAR);
	expect_reason("/a\\b", BAD_CHAR);
	expect_reason("/a\x80", BAD_CHAR);
	expect_reason("/\xc3\xa9", BAD_CHAR);
	expect_reason("/#frag", BAD_CHAR);
	expect_reason("/a?b#frag", BAD_CHAR);
	expect_reason("/a[0]", BAD_CHAR);
	expect_reason("/a]", BAD_CHAR);
	expect_reason("/a{b}", BAD_CHAR);
	expect_reason("/a\"b", BAD_CHAR);
	expect_reason("/a<b>", BAD_CHAR);
	expect_reason("/a\tb", BAD_CHAR);
	expect_reason("/a\r\nHost: evil", BAD_CHAR);
	expect_reason("/a?b c", BAD_CHAR);
	expect_reason("/a?`", BAD_CHAR);
}
END_TEST

START_TEST(test_url_target_bad_escapes)
{
	expect_reason("/%zz", BAD_ESCAPE);
	expect_reason("/%2", BAD_ESCAPE);
	expect_reason("/%", BAD_ESCAPE);
	expect_reason("/%g0", BAD_ESCAPE);
	expect_reason("/%0g", BAD_ESCAPE);
	expect_reason("/a?x=%", BAD_ESCAPE);
	expect_reason("/%%41", BAD_ESCAPE);
}
END_TEST

START_TEST(test_url_target_length)
{
	char *t = malloc(URL_TARGET_MAX + 2);

	ck_assert_ptr_nonnull(t);
	memset(t, 'a', URL_TARGET_MAX + 1);
	t[0] = '/';
	t[URL_TARGET_MAX] = '\0';
	ck_assert_ptr_null(url_check_target(t));
	t[URL_TARGET_MAX] = 'a';
	t[URL_TARGET_MAX + 1] = '\0';
	expect_reason(t, TOO_LONG);
	free(t);
}
END_TEST

/* Regression: an escape straddling the limit skipped the length check. */
START_TEST(test_url_target_length_escape_at_limit)
{
	size_t len = URL_TARGET_MAX + 2;
	char *t = malloc(len + 1);

	ck_assert_ptr_nonnull(t);
	for (size_t at = URL_TARGET_MAX - 2; at <= URL_TARGET_MAX - 1; at++) {
		memset(t, 'a', len);
		t[0] = '/';
		memcpy(t + at, "%41", 3);
		t[at + 3 <= len ? len : at + 3] = '\0';
		expect_reason(t, TOO_LONG);
	}
	free(t);
}
END_TEST

START_TEST(test_url_join)
{
	char out[128];

	ck_assert_int_eq(url_join("http://b:8080", "/a?x=1", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://b:8080/a?x=1");
	ck_assert_int_eq(url_join("http://b:8080/", "/a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://b:8080/a");
	ck_assert_int_eq(url_join("http://b///", "/a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "http://b/a");
	ck_assert_int_eq(url_join("https://b/site", "/a/b", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://b/site/a/b");
	ck_assert_int_eq(url_join("https://b/site/", "/", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "https://b/site/");
}
END_TEST

START_TEST(test_url_join_too_small)
{
	char out[32];

	/* "http://b/a" is 10 characters: 11 bytes are needed. */
	ck_assert_int_eq(url_join("http://b/", "/a", out, 10), -1);
	ck_assert_int_eq(url_join("http://b/", "/a", out, 11), 0);
	ck_assert_str_eq(out, "http://b/a");
	ck_assert_int_eq(url_join("http://b", "/a", out, 1), -1);
}
END_TEST

static Suite *url_suite(void)
{
	Suite *s = suite_create("url");
	TCase *target = tcase_create("check_target");
	TCase *join = tcase_create("join");

	tcase_add_test(target, test_url_target_ok);
	tcase_add_test(target, test_url_target_not_origin_form);
	tcase_add_test(target, test_url_target_bad_chars);
	tcase_add_test(target, test_url_target_bad_escapes);
	tcase_add_test(target, test_url_target_length);
	tcase_add_test(target, test_url_target_length_escape_at_limit);
	suite_add_tcase(s, target);

	tcase_add_test(join, test_url_join);
	tcase_add_test(join, test_url_join_too_small);
	suite_add_tcase(s, join);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(url_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
