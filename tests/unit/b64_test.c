/* b64_test: strict unpadded base64url (b64.c). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void expect_encode(const void *in, size_t n, const char *want)
{
	char out[256];
	long r = b64url_encode(in, n, out, sizeof(out));

	ck_assert_int_eq(r, (long)strlen(want));
	ck_assert_str_eq(out, want);
}

static void expect_decode(const char *in, const void *want, size_t n)
{
	unsigned char out[256];
	long r = b64url_decode(in, strlen(in), out, sizeof(out));

	ck_assert_msg(r == (long)n, "'%s': %ld, expected %zu", in, r, n);
	ck_assert(memcmp(out, want, n) == 0);
}

static void expect_refused(const char *in, size_t len)
{
	unsigned char out[256];

	ck_assert_msg(b64url_decode(in, len, out, sizeof(out)) == -1, "'%.*s' decoded",
		      (int)len, in);
}

/* RFC 4648 section 10, without the padding (JOSE, RFC 7515 section 2). */
START_TEST(test_b64_rfc4648_vectors)
{
	static const struct { const char *plain, *enc; } v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};

	for (size_t i = 0; i < NA(v); i++) {
		expect_encode(v[i].plain, strlen(v[i].plain), v[i].enc);
		expect_decode(v[i].enc, v[i].plain, strlen(v[i].plain));
	}
}
END_TEST

/* The URL-safe alphabet: 62 is '-', 63 is '_'. */
START_TEST(test_b64_url_alphabet)
{
	static const unsigned char fb[] = { 0xfb, 0xff };
	static const unsigned char ff[] = { 0xff, 0xff, 0xfe };
	static const unsigned char jose[] = { 3, 236, 255, 224, 193 };	/* RFC 7515 C */
	unsigned char all[48];

	expect_encode(fb, sizeof(fb), "-_8");
	expect_decode("-_8", fb, sizeof(fb));
	expect_encode(ff, sizeof(ff), "___-");
	expect_encode(jose, sizeof(jose), "A-z_4ME");
	expect_decode("A-z_4ME", jose, sizeof(jose));
	/* The alphabet in order decodes to 48 bytes that encode back to it. */
	ck_assert_int_eq(b64url_decode(alphabet, 64, all, sizeof(all)), 48);
	expect_encode(all, sizeof(all), alphabet);
}
END_TEST

START_TEST(test_b64_strict)
{
	static const char *const bad[] = {
		"Zg==", "Zg=", "Zm8=", "Zm9vYg==", "=", "==", "====",
		"Z", "Zm9vY", "Zm9vYmFyZ",		/* 4k+1 */
		"Zh", "Zm9", "Zm9vYh", "Zm9vYmF",	/* unused low bits set */
		"Zm+v", "Zm/v", "+/8", "Zm9 v", " Zm9v", "Zm9v ", "Zm9v\n", "Zm\r\n9v",
		"Zm9.", "Zm9v.", "Zm\t9", "Zm%39v", "Zm9\x80", "\xc3\xa9", "Zm9*",
	};

	for (size_t i = 0; i < NA(bad); i++)
		expect_refused(bad[i], strlen(bad[i]));
	/* A NUL within len is a character like any other: refused. */
	expect_refused("Zm\0v", 4);
	expect_refused("Zm9v\0\0\0\0", 8);
}
END_TEST

/* Exhaustively, a 2-character string decodes iff its low 4 bits are 0, a
 * 3-character one iff its low 2 bits are 0. */
START_TEST(test_b64_trailing_bits_exhaustive)
{
	char s[4] = "AAA";
	unsigned char out[4];

	for (int a = 0; a < 64; a++) {
		for (int b = 0; b < 64; b++) {
			s[0] = alphabet[a];
			s[1] = alphabet[b];
			long r = b64url_decode(s, 2, out, sizeof(out));
			ck_assert_int_eq(r, (b & 15) == 0 ? 1 : -1);
			if (r == 1)
				ck_assert_int_eq(out[0], (a << 2) | (b >> 4));
		}
	}
	s[0] = 'Z';
	s[1] = 'm';
	for (int c = 0; c < 64; c++) {
		s[2] = alphabet[c];
		ck_assert_int_eq(b64url_decode(s, 3, out, sizeof(out)), (c & 3) == 0 ? 2 : -1);
	}
}
END_TEST

START_TEST(test_b64_capacity)
{
	unsigned char out[6];
	char enc[9];

	/* Exactly enough room, and one byte less. */
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 6), 6);
	ck_assert_int_eq(b64url_decode("Zm9vYmFy", 8, out, 5), -1);
	ck_assert_int_eq(b64url_decode("Zm9vYmE", 7, out, 5), 5);
	ck_assert_int_eq(b64url_decode("Zm9vYmE", 7, out, 4), -1);
	ck_assert_int_eq(b64url_decode("", 0, out, 0), 0);
	/* len is honoured: the rest of the string is not read. */
	ck_assert_int_eq(b64url_decode("Zm9v!!!!", 4, out, sizeof(out)), 3);
	/* Encoding needs B64_ENCODED_SIZE bytes. */
	ck_assert_uint_eq(B64_ENCODED_SIZE(6), 9);
	ck_assert_int_eq(b64url_encode((const unsigned char *)"foobar", 6, enc, 9), 8);
	ck_assert_str_eq(enc, "Zm9vYmFy");
	ck_assert_int_eq(b64url_encode((const unsigned char *)"foobar", 6, enc, 8), -1);
	ck_assert_int_eq(b64url_encode((const unsigned char *)"", 0, enc, 1), 0);
	ck_assert_str_eq(enc, "");
	ck_assert_int_eq(b64url_encode((const unsigned char *)"", 0, enc, 0), -1);
}
END_TEST

START_TEST(test_b64_round_trip)
{
	unsigned char in[101], back[101 + 3];
	char enc[B64_ENCODED_SIZE(101)];
	unsigned seed = 12345;

	for (size_t n = 0; n <= 100; n++) {
		for (size_t i = 0; i < n; i++)
			in[i] = (unsigned char)rand_r(&seed);
		long e = b64url_encode(in, n, enc, B64_ENCODED_SIZE(n));
		/* Unpadded: ceil(4n / 3) characters. */
		ck_assert_int_eq(e, (long)((4 * n + 2) / 3));
		ck_assert_uint_eq(strlen(enc), (size_t)e);
		ck_assert_uint_ne(strlen(enc) % 4, 1);
		for (size_t i = 0; enc[i]; i++)
			ck_assert_ptr_nonnull(memchr(alphabet, enc[i], 64));
		ck_assert_uint_le(n, B64_DECODED_MAX((size_t)e));
		long d = b64url_decode(enc, (size_t)e, back, B64_DECODED_MAX((size_t)e));
		ck_assert_int_eq(d, (long)n);
		ck_assert(memcmp(in, back, n) == 0);
	}
}
END_TEST

/* Every byte value at every position of a 3-byte group survives. */
START_TEST(test_b64_every_byte)
{
	unsigned char in[3], back[3];
	char enc[B64_ENCODED_SIZE(3)];

	for (int pos = 0; pos < 3; pos++) {
		for (int v = 0; v < 256; v++) {
			memset(in, 0x55, sizeof(in));
			in[pos] = (unsigned char)v;
			for (size_t n = (size_t)pos + 1; n <= 3; n++) {
				long e = b64url_encode(in, n, enc, sizeof(enc));
				ck_assert_int_eq(b64url_decode(enc, (size_t)e, back, sizeof(back)),
						 (long)n);
				ck_assert(memcmp(in, back, n) == 0);
			}
		}
	}
}
END_TEST

static Suite *b64_suite(void)
{
	Suite *s = suite_create("b64");
	TCase *tc = tcase_create("b64");

	tcase_add_test(tc, test_b64_rfc4648_vectors);
	tcase_add_test(tc, test_b64_url_alphabet);
	tcase_add_test(tc, test_b64_strict);
	tcase_add_test(tc, test_b64_trailing_bits_exhaustive);
	tcase_add_test(tc, test_b64_capacity);
	tcase_add_test(tc, test_b64_round_trip);
	tcase_add_test(tc, test_b64_every_byte);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(b64_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
