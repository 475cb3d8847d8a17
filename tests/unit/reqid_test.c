/* reqid_test: request id validation and generation (reqid.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "reqid.h"

START_TEST(test_reqid_valid)
{
	char max[REQID_MAX + 1];

	memset(max, 'a', REQID_MAX);
	max[REQID_MAX] = '\0';
	ck_assert(reqid_is_valid("x"));
	ck_assert(reqid_is_valid("-"));
	ck_assert(reqid_is_valid(max));
	ck_assert(reqid_is_valid("abcdefghijklmnopqrstuvwxyz"));
	ck_assert(reqid_is_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
	ck_assert(reqid_is_valid("0123456789._-"));
	ck_assert(reqid_is_valid("req-2024.01_ab"));
}
END_TEST

START_TEST(test_reqid_invalid)
{
	char long_id[REQID_MAX + 2];
	static const char *const bad[] = {
		"", " ", "a b", "a/b", "a\nb", "abc\n", "\xc3\xa9t\xc3\xa9", "a\xff", "a:b",
		"a%20", "a\"b", "a\\b", "{id}", "a+b", "a=b", "\t",
	};

	memset(long_id, 'a', REQID_MAX + 1);
	long_id[REQID_MAX + 1] = '\0';
	ck_assert(!reqid_is_valid(long_id));
	ck_assert(!reqid_is_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!reqid_is_valid(bad[i]), "'%s' must be invalid", bad[i]);
}
END_TEST

static bool is_lower_hex(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

START_TEST(test_reqid_generate)
{
	char a[REQID_SIZE], b[REQID_SIZE];

	memset(a, 'X', sizeof(a));
	memset(b, 'X', sizeof(b));
	ck_assert_int_eq(reqid_generate(a), 0);
	ck_assert_int_eq(reqid_generate(b), 0);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_uint_eq(strlen(b), 32);
	ck_assert(is_lower_hex(a));
	ck_assert(is_lower_hex(b));
	ck_assert_str_ne(a, b);
	ck_assert(reqid_is_valid(a));
	ck_assert(reqid_is_valid(b));
}
END_TEST

START_TEST(test_reqid_generate_many)
{
	char id[REQID_SIZE], prev[REQID_SIZE] = "";

	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(reqid_generate(id), 0);
		ck_assert_uint_eq(strlen(id), 32);
		ck_assert(is_lower_hex(id));
		ck_assert_str_ne(id, prev);
		memcpy(prev, id, sizeof(id));
	}
}
END_TEST

static Suite *reqid_suite(void)
{
	Suite *s = suite_create("reqid");
	TCase *tc = tcase_create("reqid");

	tcase_add_test(tc, test_reqid_valid);
	tcase_add_test(tc, test_reqid_invalid);
	tcase_add_test(tc, test_reqid_generate);
	tcase_add_test(tc, test_reqid_generate_many);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(reqid_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
