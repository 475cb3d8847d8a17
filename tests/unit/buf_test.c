/* buf_test: the bounded byte buffer (buf.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

START_TEST(test_buf_append_within_max)
{
	struct buf b;

	buf_init(&b, 16);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_append_str(&b, ", world"), 0);
	ck_assert_uint_eq(b.len, 12);
	ck_assert_str_eq(b.data, "hello, world");
	ck_assert_int_eq(buf_append(&b, "abcd", 4), 0);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_mem_eq(b.data, "hello, worldabcd", 16);
	ck_assert_int_eq(b.data[16], '\0');
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_append_binary)
{
	static const char bin[] = { 'a', '\0', 'b', '\0' };
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_append(&b, bin, sizeof(bin)), 0);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, bin, 4);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_append_over_max)
{
	struct buf b;

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append(&b, "123456789", 9), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append(&b, "12345", 5), 0);
	ck_assert_int_eq(buf_append(&b, "6789", 4), -1);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_str_eq(b.data, "12345");
	ck_assert_int_eq(buf_append_str(&b, "6789"), -1);
	ck_assert_str_eq(b.data, "12345");
	/* Filling up to max exactly is fine; then even one byte is refused. */
	ck_assert_int_eq(buf_append(&b, "678", 3), 0);
	ck_assert_str_eq(b.data, "12345678");
	ck_assert_int_eq(buf_append(&b, "9", 1), -1);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_int_eq(buf_append(&b, "x", (size_t)-1), -1);
	ck_assert_uint_eq(b.len, 8);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_grows_past_initial_capacity)
{
	struct buf b;
	char chunk[1000];

	memset(chunk, 'z', sizeof(chunk));
	buf_init(&b, 100000);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_le(b.cap, 100000);
	ck_assert_int_eq(buf_append(&b, chunk, 1), -1);
	ck_assert_int_eq(b.data[99999], 'z');
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume)
{
	struct buf b;

	buf_init(&b, 64);
	ck_assert_int_eq(buf_append_str(&b, "abcdef"), 0);
	buf_consume(&b, 2);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_str_eq(b.data, "cdef");
	buf_consume(&b, 0);
	ck_assert_str_eq(b.data, "cdef");
	buf_consume(&b, 4);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append_str(&b, "gh"), 0);
	ck_assert_str_eq(b.data, "gh");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_consume_frees_room)
{
	struct buf b;

	buf_init(&b, 4);
	ck_assert_int_eq(buf_append(&b, "abcd", 4), 0);
	ck_assert_int_eq(buf_append(&b, "e", 1), -1);
	buf_consume(&b, 3);
	ck_assert_int_eq(buf_append(&b, "efg", 3), 0);
	ck_assert_str_eq(b.data, "defg");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reset)
{
	struct buf b;

	buf_init(&b, 8);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_int_eq(buf_append_str(&b, "12345678"), 0);
	buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_str_eq(b.data, "");
	/* The whole maximum is available again. */
	ck_assert_int_eq(buf_append_str(&b, "abcdefgh"), 0);
	ck_assert_str_eq(b.data, "abcdefgh");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_free)
{
	struct buf zero;
	struct buf b;

	memset(&zero, 0, sizeof(zero));
	buf_free(&zero);
	ck_assert_ptr_null(zero.data);
	buf_free(NULL);

	buf_init(&b, 8);
	ck_assert_int_eq(buf_append_str(&b, "abc"), 0);
	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
	/* Reusable after buf_init. */
	buf_init(&b, 8);
	ck_assert_int_eq(buf_append_str(&b, "xyz"), 0);
	ck_assert_str_eq(b.data, "xyz");
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_max_zero)
{
	struct buf b;

	buf_init(&b, 0);
	ck_assert_int_eq(buf_append(&b, "a", 1), -1);
	ck_assert_int_eq(buf_append_str(&b, "abc"), -1);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_null(b.data);
	buf_free(&b);
}
END_TEST

/* Regression: an empty append to a fresh buffer wrote through NULL (an
 * empty X-Forwarded-For from a trusted proxy crashed a request thread). */
START_TEST(test_buf_append_empty_to_fresh_buffer)
{
	struct buf b;

	buf_init(&b, 100);
	ck_assert_int_eq(buf_append(&b, "", 0), 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_str_eq(b.data, "");
	ck_assert_int_eq(buf_append_str(&b, ""), 0);
	ck_assert_uint_eq(b.len, 0);
	buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_buf_append_within_max);
	tcase_add_test(tc, test_buf_append_binary);
	tcase_add_test(tc, test_buf_append_over_max);
	tcase_add_test(tc, test_buf_grows_past_initial_capacity);
	tcase_add_test(tc, test_buf_consume);
	tcase_add_test(tc, test_buf_consume_frees_room);
	tcase_add_test(tc, test_buf_reset);
	tcase_add_test(tc, test_buf_free);
	tcase_add_test(tc, test_buf_max_zero);
	tcase_add_test(tc, test_buf_append_empty_to_fresh_buffer);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
