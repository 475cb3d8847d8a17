/* timefmt: RFC 3339 timestamps, as promotions and audit logs use them. */
#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads exactly n digits. */
static int timefmt_digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool timefmt_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int timefmt_days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && timefmt_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (no timegm: it is
 * not in C11 or POSIX, and this is exact and tiny). */
static int64_t timefmt_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

static int timefmt_offset(const char *s, int *seconds)
{
	int hh, mm;

	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0') {
		*seconds = 0;
		return 0;
	}
	if ((s[0] != '+' && s[0] != '-') || timefmt_digits(s + 1, 2, &hh) != 0 || s[3] != ':' ||
	    timefmt_digits(s + 4, 2, &mm) != 0 || s[6] != '\0' || hh > 23 || mm > 59)
		return -1;
	*seconds = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
	return 0;
}

int timefmt_parse_rfc3339(const char *s, int64_t *out)
{
	int y, mo, d, h, mi, sec, off;
	const char *p;

	if (strnlen(s, TIMEFMT_RFC3339_MAX + 16) > TIMEFMT_RFC3339_MAX + 8)
		return -1;
	if (timefmt_digits(s, 4, &y) != 0 || s[4] != '-' || timefmt_digits(s + 5, 2, &mo) != 0 ||
	    s[7] != '-' || timefmt_digits(s + 8, 2, &d) != 0 || (s[10] != 'T' && s[10] != 't') ||
	    timefmt_digits(s + 11, 2, &h) != 0 || s[13] != ':' ||
	    timefmt_digits(s + 14, 2, &mi) != 0 || s[16] != ':' ||
	    timefmt_digits(s + 17, 2, &sec) != 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > timefmt_days_in_month(y, mo) || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (timefmt_offset(p, &off) != 0)
		return -1;
	*out = timefmt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return 0;
}

int timefmt_format_utc(int64_t t, char out[TIMEFMT_RFC3339_MAX])
{
	time_t tt = (time_t)t;
	struct tm tm;
	int n;

	/* Four-digit years only: the parser takes exactly what this writes. */
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -1;
	n = snprintf(out, TIMEFMT_RFC3339_MAX, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return n > 0 && n < TIMEFMT_RFC3339_MAX ? 0 : -1;
}
