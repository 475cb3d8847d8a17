/* timefmt_test: RFC 3339 parsing and UTC formatting (timefmt.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"

/* Unix seconds of some instants, from `date -u -d ISO8601 +%s`. */
#define SEP_1_TOKYO 1661958000LL	/* 2022-09-01T00:00:00+09:00 */
#define OCT_1_TOKYO 1664550000LL	/* 2022-10-01T00:00:00+09:00 */
#define LEAP_DAY_NOON 1709208000LL	/* 2024-02-29T12:00:00Z */
#define SEP_1_MINUS_0530 1662010200LL	/* 2022-09-01T00:00:00-05:30 */
#define NEW_YEAR_2017 1483228800LL	/* 2017-01-01T00:00:00Z */
#define MAR_1_2000 951868800LL		/* 2000-03-01T00:00:00Z */
#define LAST_9999 253402300799LL	/* 9999-12-31T23:59:59Z */
#define FIRST_0001 (-62135596800LL)	/* 0001-01-01T00:00:00Z */
#define FIRST_0000 (FIRST_0001 - 366LL * 86400)	/* year 0 is a leap year */
#define FIRST_1900 (-2208988800LL)	/* 1900-01-01T00:00:00Z */

struct time_row {
	const char *s;
	int64_t want;
};

static const struct time_row valid[] = {
	{ "1970-01-01T00:00:00Z", 0 },
	{ "1970-01-01T00:00:01Z", 1 },
	{ "1969-12-31T23:59:59Z", -1 },
	{ "2038-01-19T03:14:07Z", 2147483647LL },
	{ "2038-01-19T03:14:08Z", 2147483648LL },
	/* the same instant written in three offsets, and lower case */
	{ "2022-09-01T00:00:00+09:00", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00Z", SEP_1_TOKYO },
	{ "2022-08-31T10:00:00-05:00", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00+00:00", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00-00:00", SEP_1_TOKYO },
	{ "2022-08-31t15:00:00z", SEP_1_TOKYO },
	{ "2022-08-31t15:00:00Z", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00z", SEP_1_TOKYO },
	{ "2022-10-01T00:00:00+09:00", OCT_1_TOKYO },
	{ "2022-09-01T00:00:00-05:30", SEP_1_MINUS_0530 },
	{ "2022-09-01T05:30:00Z", SEP_1_MINUS_0530 },
	{ "2022-09-01T00:00:00+23:59", SEP_1_TOKYO + 9 * 3600 - 23 * 3600 - 59 * 60 },
	{ "2022-09-01T00:00:00-23:59", SEP_1_TOKYO + 9 * 3600 + 23 * 3600 + 59 * 60 },
	/* fractions are dropped, whatever their length */
	{ "2022-08-31T15:00:00.0Z", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00.5Z", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00.999999999Z", SEP_1_TOKYO },
	{ "2022-09-01T00:00:00.123456+09:00", SEP_1_TOKYO },
	{ "2022-08-31T15:00:00.000000000001z", SEP_1_TOKYO },
	/* calendars: leap days, century rules, month ends */
	{ "2024-02-29T12:00:00Z", LEAP_DAY_NOON },
	{ "2000-02-29T00:00:00Z", MAR_1_2000 - 86400 },
	{ "2000-03-01T00:00:00Z", MAR_1_2000 },
	{ "2022-01-31T00:00:00Z", 1643587200LL },
	{ "2022-12-31T23:59:59Z", 1672531199LL },
	{ "1900-01-01T00:00:00Z", FIRST_1900 },
	{ "9999-12-31T23:59:59Z", LAST_9999 },
	{ "0001-01-01T00:00:00Z", FIRST_0001 },
	{ "0000-01-01T00:00:00Z", FIRST_0000 },
	{ "0000-02-29T00:00:00Z", FIRST_0000 + 59 * 86400 },
	/* a leap second is the next second's instant */
	{ "2016-12-31T23:59:60Z", NEW_YEAR_2017 },
	{ "2017-01-01T08:59:60+09:00", NEW_YEAR_2017 },
};

static const char *const invalid[] = {
	"",
	"Z",
	"2022",
	"2022-09-01",
	"2022-09-01T00:00",
	"2022-09-01T00:00Z",
	"2022-09-01T00:00:00",		/* no offset: a local time */
	"2022-09-01T00:00:00+0900",
	"2022-09-01T00:00:00+09",
	"2022-09-01T00:00:00+9:00",
	"2022-09-01T00:00:00+09:0",
	"2022-09-01T00:00:00+09:00:00",
	"2022-09-01T00:00:00 +09:00",
	"2022-09-01T00:00:00+24:00",	/* offset hour 24 */
	"2022-09-01T00:00:00-24:00",
	"2022-09-01T00:00:00+09:60",
	"2022-09-01T00:00:00UTC",
	"2022-09-01T00:00:00GMT",
	"2022-09-01T00:00:00ZZ",
	"2022-09-01T00:00:00Z ",
	"2022-09-01T00:00:00Zjunk",
	"2022-09-01T00:00:00+09:00x",
	"2022-09-01T00:00:00+09:00Z",
	" 2022-09-01T00:00:00Z",
	"2022-09-01 00:00:00Z",		/* RFC 3339 allows it in a note; we do not */
	"2022-09-01_00:00:00Z",
	"2022-09-01T00:00:00.Z",	/* a fraction needs a digit */
	"2022-09-01T00:00:00.+09:00",
	"2022-09-01T00:00:00,5Z",
	"2022-09-01T00:00:00.5.5Z",
	"2022-09-01T00:00:00.5 Z",
	"2022-9-01T00:00:00Z",
	"2022-09-1T00:00:00Z",
	"22-09-01T00:00:00Z",
	"+2022-09-01T00:00:00Z",
	"-2022-09-01T00:00:00Z",
	"02022-09-01T00:00:00Z",
	"2022/09/01T00:00:00Z",
	"2022-09-01T00.00.00Z",
	"2022-09-01T0:00:00Z",
	"2022-09-01T00:0:00Z",
	"2022-09-01T00:00:0Z",
	"2022-09-01T-1:00:00Z",
	"2022-09-01T 1:00:00Z",
	"2022-0a-01T00:00:00Z",
	"２０２２-09-01T00:00:00Z",	/* full-width digits */
	/* range checks */
	"2022-00-01T00:00:00Z",
	"2022-13-01T00:00:00Z",
	"2022-99-01T00:00:00Z",
	"2022-09-00T00:00:00Z",
	"2022-09-31T00:00:00Z",
	"2022-04-31T00:00:00Z",
	"2022-06-31T00:00:00Z",
	"2022-11-31T00:00:00Z",
	"2022-01-32T00:00:00Z",
	"2023-02-29T00:00:00Z",
	"2024-02-30T00:00:00Z",
	"1900-02-29T00:00:00Z",
	"2100-02-29T00:00:00Z",
	"2022-09-01T24:00:00Z",
	"2022-09-01T99:00:00Z",
	"2022-09-01T00:60:00Z",
	"2022-09-01T00:00:61Z",
	"2022-09-01T00:00:99Z",
};

START_TEST(test_timefmt_valid)
{
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int64_t got = 42;
		int rc = timefmt_parse_rfc3339(valid[i].s, &got);

		ck_assert_msg(rc == 0, "'%s' rejected", valid[i].s);
		ck_assert_msg(got == valid[i].want, "'%s': expected %lld, got %lld", valid[i].s,
			      (long long)valid[i].want, (long long)got);
	}
}
END_TEST

START_TEST(test_timefmt_invalid)
{
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int64_t got = 42;

		ck_assert_msg(timefmt_parse_rfc3339(invalid[i], &got) == -1, "'%s' accepted as %lld",
			      invalid[i], (long long)got);
		ck_assert_msg(got == 42, "'%s': out written on failure", invalid[i]);
	}
}
END_TEST

/* Every day of 2024 and 2023 parses exactly when it exists, one day apart. */
START_TEST(test_timefmt_every_day)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	char s[64];
	int64_t t, prev = 1672531200LL - 86400;	/* 2022-12-31 */

	for (int y = 2023; y <= 2024; y++) {
		for (int m = 1; m <= 12; m++) {
			int last = days[m - 1] + (m == 2 && y == 2024);

			for (int d = 1; d <= 31; d++) {
				snprintf(s, sizeof(s), "%04d-%02d-%02dT00:00:00Z", y, m, d);
				if (d > last) {
					ck_assert_msg(timefmt_parse_rfc3339(s, &t) == -1, "%s accepted", s);
					continue;
				}
				ck_assert_msg(timefmt_parse_rfc3339(s, &t) == 0, "%s rejected", s);
				ck_assert_msg(t == prev + 86400, "%s: %lld", s, (long long)t);
				prev = t;
			}
		}
	}
	ck_assert_int_eq(prev, 1735603200LL);	/* 2024-12-31 */
}
END_TEST

/* Long inputs are refused without reading past their end (ASan). */
START_TEST(test_timefmt_long)
{
	static const char head[] = "2022-08-31T15:00:00.";
	size_t len = 100000;
	char *s = malloc(len + 1);
	int64_t t = 42;

	ck_assert_ptr_nonnull(s);
	memset(s, '1', len);
	s[len] = '\0';
	ck_assert_int_eq(timefmt_parse_rfc3339(s, &t), -1);
	/* a valid prefix followed by a very long fraction */
	memcpy(s, head, strlen(head));
	s[len - 1] = 'Z';
	ck_assert_int_eq(timefmt_parse_rfc3339(s, &t), -1);
	/* and a valid timestamp followed by much junk */
	memcpy(s, "2022-08-31T15:00:00Z", 20);
	memset(s + 20, 'Z', len - 20);
	ck_assert_int_eq(timefmt_parse_rfc3339(s, &t), -1);
	ck_assert_int_eq(t, 42);
	free(s);
}
END_TEST

/* Every prefix of a valid timestamp is refused: nothing is read past the NUL. */
START_TEST(test_timefmt_prefixes)
{
	static const char *const full[] = { "2022-09-01T00:00:00.123+09:00",
					    "2022-08-31T15:00:00Z" };
	char buf[64];
	int64_t t = 42;

	for (size_t k = 0; k < 2; k++) {
		size_t n = strlen(full[k]);

		for (size_t i = 0; i < n; i++) {
			char *p = malloc(i + 1);	/* exactly sized: ASan sees an overread */

			ck_assert_ptr_nonnull(p);
			memcpy(p, full[k], i);
			p[i] = '\0';
			ck_assert_msg(timefmt_parse_rfc3339(p, &t) == -1, "'%s' accepted", p);
			free(p);
		}
		snprintf(buf, sizeof(buf), "%s", full[k]);
		ck_assert_int_eq(timefmt_parse_rfc3339(buf, &t), 0);
		ck_assert_int_eq(t, SEP_1_TOKYO);
	}
}
END_TEST

static void expect_format(int64_t t, const char *want)
{
	char out[TIMEFMT_RFC3339_MAX];

	memset(out, 'x', sizeof(out));
	ck_assert_msg(timefmt_format_utc(t, out) == 0, "%lld: not formatted", (long long)t);
	ck_assert_msg(memchr(out, '\0', sizeof(out)) != NULL, "%lld: not terminated", (long long)t);
	ck_assert_str_eq(out, want);
}

START_TEST(test_timefmt_format)
{
	expect_format(0, "1970-01-01T00:00:00Z");
	expect_format(-1, "1969-12-31T23:59:59Z");
	expect_format(2147483648LL, "2038-01-19T03:14:08Z");
	expect_format(SEP_1_TOKYO, "2022-08-31T15:00:00Z");
	expect_format(LEAP_DAY_NOON, "2024-02-29T12:00:00Z");
	expect_format(LAST_9999, "9999-12-31T23:59:59Z");
	expect_format(FIRST_1900, "1900-01-01T00:00:00Z");
}
END_TEST

/* format then parse gives the value back, across the years 1000 to 9999. */
START_TEST(test_timefmt_round_trip)
{
	static const int64_t fixed[] = { 0, -1, 1, 2147483647LL, 2147483648LL, SEP_1_TOKYO,
					 OCT_1_TOKYO - 1, LEAP_DAY_NOON, MAR_1_2000 - 1, LAST_9999,
					 FIRST_1900, -30610224000LL /* 1000-01-01 */ };
	char out[TIMEFMT_RFC3339_MAX];
	int64_t back, t;
	uint64_t x = 88172645463325252ULL;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		ck_assert_int_eq(timefmt_format_utc(fixed[i], out), 0);
		ck_assert_msg(timefmt_parse_rfc3339(out, &back) == 0, "'%s' rejected", out);
		ck_assert_msg(back == fixed[i], "%lld -> %s -> %lld", (long long)fixed[i], out,
			      (long long)back);
	}
	/* xorshift: a few thousand values spread over 1000..9999 */
	for (int i = 0; i < 5000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = -30610224000LL + (int64_t)(x % (uint64_t)(LAST_9999 + 30610224000LL + 1));
		ck_assert_int_eq(timefmt_format_utc(t, out), 0);
		ck_assert_uint_eq(strlen(out), 20);
		ck_assert_msg(timefmt_parse_rfc3339(out, &back) == 0, "'%s' rejected", out);
		ck_assert_msg(back == t, "%lld -> %s -> %lld", (long long)t, out, (long long)back);
	}
}
END_TEST

/*
 * FIXED (regression): timefmt_format_utc (gateway/timefmt.c) formats years 0001-0999 with
 * fewer than four digits ("100-01-01T00:00:00Z" for -59011459200): strftime's
 * %Y does not pad. The header promises "YYYY-MM-DDTHH:MM:SSZ" and the parser
 * refuses the result, so the round trip breaks. Left unregistered until
 * fixed; it runs in the suite.
 */
START_TEST(test_timefmt_format_years_before_1000)
{
	char out[TIMEFMT_RFC3339_MAX];
	int64_t back = 42;

	expect_format(FIRST_0001, "0001-01-01T00:00:00Z");
	expect_format(-59011459200LL, "0100-01-01T00:00:00Z");
	expect_format(-30610224001LL, "0999-12-31T23:59:59Z");
	ck_assert_int_eq(timefmt_format_utc(FIRST_0001, out), 0);
	ck_assert_int_eq(timefmt_parse_rfc3339(out, &back), 0);
	ck_assert_int_eq(back, FIRST_0001);
}
END_TEST

static Suite *timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *parse = tcase_create("parse");
	TCase *format = tcase_create("format");

	tcase_add_test(parse, test_timefmt_valid);
	tcase_add_test(parse, test_timefmt_invalid);
	tcase_add_test(parse, test_timefmt_every_day);
	tcase_add_test(parse, test_timefmt_long);
	tcase_add_test(parse, test_timefmt_prefixes);
	suite_add_tcase(s, parse);

	tcase_add_test(format, test_timefmt_format);
	tcase_add_test(format, test_timefmt_round_trip);
	tcase_add_test(format, test_timefmt_format_years_before_1000);
	suite_add_tcase(s, format);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(timefmt_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
