/* errpage_test: the gateway's own error pages (errpage.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errpage.h"

START_TEST(test_errpage_known)
{
	static const int known[] = { 400, 413, 431, 500, 502, 503, 504 };
	const char *generic;
	size_t glen;

	generic = errpage_body(599, &glen);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		char code[16];
		size_t len = 0;
		const char *body = errpage_body(known[i], &len);

		snprintf(code, sizeof(code), "<title>%d ", known[i]);
		ck_assert_ptr_nonnull(body);
		ck_assert_uint_eq(len, strlen(body));
		ck_assert_msg(strstr(body, code) != NULL, "page for %d lacks its code", known[i]);
		ck_assert_ptr_ne(body, generic);
		ck_assert_ptr_eq(strstr(body, "<!doctype html>"), body);
	}
	ck_assert_ptr_nonnull(strstr(errpage_body(502, &glen), "Bad Gateway"));
	ck_assert_ptr_nonnull(strstr(errpage_body(504, &glen), "Gateway Timeout"));
}
END_TEST

START_TEST(test_errpage_generic)
{
	static const int unknown[] = { 0, -1, 200, 404, 418, 501, 999 };
	size_t glen = 0, len = 0;
	const char *generic = errpage_body(599, &glen);

	ck_assert_uint_eq(glen, strlen(generic));
	ck_assert_ptr_nonnull(strstr(generic, "<h1>Error</h1>"));
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		ck_assert_ptr_eq(errpage_body(unknown[i], &len), generic);
		ck_assert_uint_eq(len, glen);
	}
	/* The generic page cannot name a status it does not know. */
	ck_assert_ptr_null(strstr(generic, "404"));
	ck_assert_ptr_null(strstr(generic, "418"));
}
END_TEST

static Suite *errpage_suite(void)
{
	Suite *s = suite_create("errpage");
	TCase *tc = tcase_create("errpage");

	tcase_add_test(tc, test_errpage_known);
	tcase_add_test(tc, test_errpage_generic);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(errpage_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
