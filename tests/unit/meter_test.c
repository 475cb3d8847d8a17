/* meter_test: metering periods and the `meter` config section (meter.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meter.h"

/* UTC instants used below, from `TZ=zone date -d 'YYYY-MM-DD' +%s`. */
#define UTC_2023_02_01 1675209600
#define UTC_2023_03_01 1677628800
#define UTC_2024_01_01 1704067200
#define UTC_2024_02_01 1706745600
#define UTC_2024_03_01 1709251200
#define UTC_2100_12_01 4131302400LL
#define TOKYO_2024_01_01 1704034800	/* 2023-12-31T15:00Z */
#define TOKYO_2024_02_01 1706713200	/* 2024-01-31T15:00Z */
#define NY_2024_03_01 1709269200	/* 05:00Z, EST */
#define NY_2024_04_01 1711944000	/* 04:00Z, EDT since March 10 */
#define NY_2024_11_01 1730433600	/* 04:00Z, EDT until November 3 */
#define NY_2024_12_01 1733029200	/* 05:00Z, EST */
#define LH_2024_01_01 1704027600	/* 2023-12-31T13:00Z, +11:00 */
#define LH_2024_04_01 1711890000	/* 2024-03-31T13:00Z, +11:00 */
#define LH_2024_05_01 1714483800	/* 2024-04-30T13:30Z, +10:30 */

#define DAY 86400
#define NMONTHS ((METER_YEAR_LAST - METER_YEAR_FIRST + 1) * 12)

static struct meter_period period(const char *spec, const char *tz)
{
	struct meter_period p;
	char err[256] = "";

	memset(&p, 0, sizeof(p));
	if (meter_period_parse(spec, tz, &p, err, sizeof(err)) != 0)
		ck_abort_msg("meter_period_parse(%s, %s): %s", spec, tz ? tz : "NULL", err);
	return p;
}

/* Asserts that parsing fails with exactly want, leaving *out untouched. */
static void period_fails(const char *spec, const char *tz, const char *want)
{
	struct meter_period p;
	char err[256] = "";

	memset(&p, 0x5a, sizeof(p));
	ck_assert_int_eq(meter_period_parse(spec, tz, &p, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	for (size_t i = 0; i < sizeof(p); i++)
		ck_assert_int_eq(((unsigned char *)&p)[i], 0x5a);
}

START_TEST(test_meter_period_rolling)
{
	struct meter_period p = period("30d", NULL);

	ck_assert_int_eq(p.kind, METER_ROLLING);
	ck_assert_int_eq(p.seconds, 30 * DAY);
	ck_assert_ptr_null(p.month_starts);
	ck_assert_int_eq(meter_window_start(&p, 10000000), 10000000 - 30 * DAY);
	ck_assert_int_eq(meter_period_max_age(&p), 30 * DAY);
	meter_period_free(&p);
	ck_assert_int_eq(period("1d", "Asia/Tokyo").seconds, DAY);	/* tz ignored */
	ck_assert_int_eq(period("3650d", NULL).seconds, 3650LL * DAY);
	ck_assert_int_eq(period("1h", NULL).seconds, 3600);
	ck_assert_int_eq(period("24h", NULL).seconds, DAY);
	ck_assert_int_eq(period("87600h", NULL).seconds, 87600LL * 3600);
	ck_assert_int_eq(period("007d", NULL).seconds, 7 * DAY);
	p = period("12h", NULL);
	ck_assert_int_eq(meter_window_start(&p, 50000), 50000 - 12 * 3600);
	ck_assert_int_eq(meter_period_max_age(&p), 12 * 3600);
	meter_period_free(&p);
	meter_period_free(NULL);
}
END_TEST

START_TEST(test_meter_period_errors)
{
	period_fails("", NULL, "expected Nd, Nh or calendar-month");
	period_fails(NULL, NULL, "expected Nd, Nh or calendar-month");
	period_fails("30", NULL, "expected Nd, Nh or calendar-month, got '30'");
	period_fails("d", NULL, "expected Nd, Nh or calendar-month, got 'd'");
	period_fails("30x", NULL, "expected Nd, Nh or calendar-month, got '30x'");
	period_fails("30D", NULL, "expected Nd, Nh or calendar-month, got '30D'");
	period_fails("30dd", NULL, "expected Nd, Nh or calendar-month, got '30dd'");
	period_fails("30 d", NULL, "expected Nd, Nh or calendar-month, got '30 d'");
	period_fails(" 30d", NULL, "expected Nd, Nh or calendar-month, got ' 30d'");
	period_fails("-1d", NULL, "expected Nd, Nh or calendar-month, got '-1d'");
	period_fails("+1d", NULL, "expected Nd, Nh or calendar-month, got '+1d'");
	period_fails("1.5d", NULL, "expected Nd, Nh or calendar-month, got '1.5d'");
	period_fails("30m", NULL, "expected Nd, Nh or calendar-month, got '30m'");
	period_fails("month", NULL, "expected Nd, Nh or calendar-month, got 'month'");
	period_fails("Calendar-Month", NULL,
		     "expected Nd, Nh or calendar-month, got 'Calendar-Month'");
	period_fails("0d", NULL, "'0d' is out of range: 1 to 3650 days");
	period_fails("3651d", NULL, "'3651d' is out of range: 1 to 3650 days");
	period_fails("0h", NULL, "'0h' is out of range: 1 to 87600 hours");
	period_fails("87601h", NULL, "'87601h' is out of range: 1 to 87600 hours");
	period_fails("99999999999999999999d", NULL,
		     "'99999999999999999999d' is out of range: 1 to 3650 days");
	period_fails("calendar-month", NULL, "calendar-month needs a time zone");
	period_fails("calendar-month", "", "calendar-month needs a time zone");
	period_fails("calendar-month", "Mars/Olympus", "unknown time zone 'Mars/Olympus'");
	period_fails("calendar-month", "asia/tokyo", "unknown time zone 'asia/tokyo'");
	period_fails("calendar-month", "Asia", "unknown time zone 'Asia'");	/* a directory */
	period_fails("calendar-month", "/etc/localtime", "unknown time zone '/etc/localtime'");
	period_fails("calendar-month", "../zoneinfo/UTC", "unknown time zone '../zoneinfo/UTC'");
	period_fails("calendar-month", "Asia/../Asia/Tokyo",
		     "unknown time zone 'Asia/../Asia/Tokyo'");
	period_fails("calendar-month", ":Asia/Tokyo", "unknown time zone ':Asia/Tokyo'");
	period_fails("calendar-month", "JST-9", "unknown time zone 'JST-9'");
}
END_TEST

START_TEST(test_meter_tz_exists)
{
	ck_assert(meter_tz_exists("UTC"));
	ck_assert(meter_tz_exists("Asia/Tokyo"));
	ck_assert(meter_tz_exists("America/Argentina/Buenos_Aires"));
	ck_assert(meter_tz_exists("Etc/GMT+5"));
	ck_assert(!meter_tz_exists(NULL));
	ck_assert(!meter_tz_exists(""));
	ck_assert(!meter_tz_exists("Asia/Tokyo "));
	ck_assert(!meter_tz_exists("Asia//Tokyo/.."));
}
END_TEST

START_TEST(test_meter_calendar_utc)
{
	struct meter_period p = period("calendar-month", "UTC");

	ck_assert_int_eq(p.kind, METER_CALENDAR_MONTH);
	ck_assert_uint_eq(p.n_month_starts, NMONTHS);
	ck_assert_int_eq(p.month_starts[0], 0);
	ck_assert_int_eq(p.month_starts[1], 31 * DAY);
	ck_assert_int_eq(p.month_starts[NMONTHS - 1], UTC_2100_12_01);
	for (size_t i = 1; i < p.n_month_starts; i++) {
		ck_assert_int_ge(p.month_starts[i] - p.month_starts[i - 1], 28 * DAY);
		ck_assert_int_le(p.month_starts[i] - p.month_starts[i - 1], 31 * DAY);
	}
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_03_01 + 14 * DAY + 43200),
			 UTC_2024_03_01);
	/* Exactly at a month start, and one second before. */
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_03_01), UTC_2024_03_01);
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_03_01 - 1), UTC_2024_02_01);
	/* Month ends: Jan 31 then Feb; Feb 29 of the leap year 2024; 2023's Feb 28. */
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_02_01 - 1), UTC_2024_01_01);
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_02_01), UTC_2024_02_01);
	ck_assert_int_eq(meter_window_start(&p, UTC_2024_02_01 + 28 * DAY + 43200),
			 UTC_2024_02_01);	/* 2024-02-29T12:00Z */
	ck_assert_int_eq(UTC_2024_03_01 - UTC_2024_02_01, 29 * DAY);
	ck_assert_int_eq(meter_window_start(&p, UTC_2023_03_01 - 1), UTC_2023_02_01);
	ck_assert_int_eq(meter_window_start(&p, UTC_2023_03_01), UTC_2023_03_01);
	ck_assert_int_eq(UTC_2023_03_01 - UTC_2023_02_01, 28 * DAY);
	/* Outside the table. */
	ck_assert_int_eq(meter_window_start(&p, 0), 0);
	ck_assert_int_eq(meter_window_start(&p, -1), INT64_MIN);
	ck_assert_int_eq(meter_window_start(&p, UTC_2100_12_01 + 400LL * DAY), UTC_2100_12_01);
	ck_assert_int_eq(meter_period_max_age(&p), 31 * DAY + 3600);
	meter_period_free(&p);
	ck_assert_ptr_null(p.month_starts);
}
END_TEST

/* 23:30 UTC on the last day of January is already February 1 in Tokyo. */
START_TEST(test_meter_calendar_tokyo)
{
	struct meter_period p = period("calendar-month", "Asia/Tokyo");
	int64_t jan31_2330z = UTC_2024_02_01 - 1800;

	ck_assert_int_eq(meter_window_start(&p, jan31_2330z), TOKYO_2024_02_01);
	ck_assert_int_eq(meter_window_start(&p, TOKYO_2024_02_01), TOKYO_2024_02_01);
	ck_assert_int_eq(meter_window_start(&p, TOKYO_2024_02_01 - 1), TOKYO_2024_01_01);
	ck_assert_int_eq(p.month_starts[0], -9 * 3600);	/* 1970-01-01T00:00+09:00 */
	meter_period_free(&p);
}
END_TEST

/* Month starts are local midnights whatever the DST offset of the day. */
START_TEST(test_meter_calendar_new_york)
{
	struct meter_period p = period("calendar-month", "America/New_York");

	ck_assert_int_eq(p.month_starts[0], 5 * 3600);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_03_01 + 14 * DAY), NY_2024_03_01);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_04_01 - 1), NY_2024_03_01);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_04_01), NY_2024_04_01);
	/* March lost an hour to DST. */
	ck_assert_int_eq(NY_2024_04_01 - NY_2024_03_01, 31 * DAY - 3600);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_11_01 + 14 * DAY), NY_2024_11_01);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_12_01 - 1), NY_2024_11_01);
	ck_assert_int_eq(meter_window_start(&p, NY_2024_12_01), NY_2024_12_01);
	ck_assert_int_eq(NY_2024_12_01 - NY_2024_11_01, 30 * DAY + 3600);
	meter_period_free(&p);
}
END_TEST

/* Lord Howe Island moves its clocks by 30 minutes. */
START_TEST(test_meter_calendar_lord_howe)
{
	struct meter_period p;

	if (!meter_tz_exists("Australia/Lord_Howe"))
		return;
	p = period("calendar-month", "Australia/Lord_Howe");
	ck_assert_int_eq(meter_window_start(&p, LH_2024_01_01 + DAY), LH_2024_01_01);
	ck_assert_int_eq(meter_window_start(&p, LH_2024_05_01 - 1), LH_2024_04_01);
	ck_assert_int_eq(meter_window_start(&p, LH_2024_05_01), LH_2024_05_01);
	ck_assert_int_eq(LH_2024_05_01 - LH_2024_04_01, 30 * DAY + 1800);
	meter_period_free(&p);
}
END_TEST

/* The process's TZ is put back, set or unset, after a month table. */
START_TEST(test_meter_tz_restored)
{
	struct meter_period p;
	time_t jan = UTC_2024_01_01;
	struct tm tm;

	ck_assert_int_eq(setenv("TZ", "Europe/Paris", 1), 0);
	tzset();
	p = period("calendar-month", "Asia/Tokyo");
	meter_period_free(&p);
	ck_assert_str_eq(getenv("TZ"), "Europe/Paris");
	ck_assert_ptr_nonnull(localtime_r(&jan, &tm));
	ck_assert_int_eq(tm.tm_hour, 1);	/* CET */

	ck_assert_int_eq(unsetenv("TZ"), 0);
	tzset();
	p = period("calendar-month", "America/New_York");
	meter_period_free(&p);
	ck_assert_ptr_null(getenv("TZ"));

	/* A failed parse changes nothing either. */
	ck_assert_int_eq(setenv("TZ", "Asia/Tokyo", 1), 0);
	period_fails("calendar-month", "Nowhere/City", "unknown time zone 'Nowhere/City'");
	ck_assert_str_eq(getenv("TZ"), "Asia/Tokyo");
}
END_TEST

/* ---- the `meter` config section ---- */

/* Parses yaml's root node as the meter section into mc (zeroed first),
 * relative paths against /srv/pw; returns meter_config_parse's result. */
static int parse(const char *yaml, struct meter_config *mc, struct cfg_errors *errs)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct cfg_ctx c = { "t.yaml", "/srv/pw", &doc, errs };
	int rc;

	memset(mc, 0, sizeof(*mc));
	cfg_errors_init(errs);
	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
	ck_assert(yaml_parser_load(&p, &doc));
	rc = meter_config_parse(&c, yaml_document_get_root_node(&doc), mc);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

/* Asserts that yaml fails with exactly the given errors (NULL-terminated). */
static void parse_fails(const char *yaml, const char *const *want)
{
	struct meter_config mc;
	struct cfg_errors errs;
	size_t n = 0;

	ck_assert_int_eq(parse(yaml, &mc, &errs), -1);
	for (; want[n] != NULL; n++) {
		ck_assert_uint_gt(errs.n, n);
		ck_assert_str_eq(errs.msg[n], want[n]);
	}
	ck_assert_uint_eq(errs.n, n);
	meter_config_free(&mc);
	cfg_errors_free(&errs);
}

#define FAILS(yaml, ...) parse_fails((yaml), (const char *const[]){ __VA_ARGS__, NULL })

static void check_defaults(const struct meter_config *mc)
{
	ck_assert_str_eq(mc->store, "memory");
	ck_assert_str_eq(mc->timezone, "UTC");
	ck_assert_int_eq(mc->anonymous.limit, 3);
	ck_assert_str_eq(mc->anonymous.period_spec, "30d");
	ck_assert_int_eq(mc->anonymous.period.kind, METER_ROLLING);
	ck_assert_int_eq(mc->anonymous.period.seconds, 30 * DAY);
	ck_assert_int_eq(mc->registered.limit, 10);
	ck_assert_str_eq(mc->registered.period_spec, "calendar-month");
	ck_assert_int_eq(mc->registered.period.kind, METER_CALENDAR_MONTH);
	ck_assert_int_eq(meter_window_start(&mc->registered.period, UTC_2024_02_01 + 5),
			 UTC_2024_02_01);
	ck_assert_int_eq(mc->on_store_error, METER_OPEN);
	ck_assert_int_eq(mc->lmdb_map_mb, 256);
	ck_assert_int_eq(mc->memory_max_entries, 1000000);
}

START_TEST(test_meter_config_defaults)
{
	struct meter_config mc;
	struct cfg_errors errs;

	ck_assert_int_eq(parse("{}", &mc, &errs), 0);
	ck_assert(mc.enabled);
	check_defaults(&mc);
	meter_config_free(&mc);
	ck_assert_ptr_null(mc.store);
	cfg_errors_free(&errs);

	memset(&mc, 0, sizeof(mc));
	ck_assert_int_eq(meter_config_defaults(&mc), 0);
	ck_assert(!mc.enabled);
	check_defaults(&mc);
	/* Again over a filled config: replaced, not leaked. */
	ck_assert_int_eq(meter_config_defaults(&mc), 0);
	check_defaults(&mc);
	meter_config_free(&mc);
	meter_config_free(NULL);
}
END_TEST

/* The example of issue 4, and every key. */
START_TEST(test_meter_config_full)
{
	struct meter_config mc;
	struct cfg_errors errs;

	ck_assert_int_eq(parse("store: lmdb:../var/meter\n"
			       "timezone: Asia/Tokyo\n"
			       "anonymous:  {limit: 3,  period: 30d}\n"
			       "registered: {limit: 10, period: calendar-month}\n"
			       "on_store_error: closed\n"
			       "lmdb_map_mb: 64\n"
			       "memory_max_entries: 500\n", &mc, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert(mc.enabled);
	ck_assert_str_eq(mc.store, "lmdb:/srv/pw/../var/meter");
	ck_assert_str_eq(mc.timezone, "Asia/Tokyo");
	ck_assert_int_eq(mc.anonymous.limit, 3);
	ck_assert_int_eq(mc.anonymous.period.seconds, 30 * DAY);
	ck_assert_int_eq(mc.registered.limit, 10);
	ck_assert_int_eq(meter_window_start(&mc.registered.period, UTC_2024_02_01 - 1800),
			 TOKYO_2024_02_01);
	ck_assert_int_eq(mc.on_store_error, METER_CLOSED);
	ck_assert_int_eq(mc.lmdb_map_mb, 64);
	ck_assert_int_eq(mc.memory_max_entries, 500);
	meter_config_free(&mc);
	cfg_errors_free(&errs);
}
END_TEST

/* meter.redis: every key, the defaults, and what the store gets. */
START_TEST(test_meter_config_redis)
{
	char pwfile[] = "/tmp/meter_test_pw_XXXXXX", yaml[512];
	struct meter_config mc;
	struct store_options o;
	struct cfg_errors errs;
	int fd = mkstemp(pwfile);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "from-file\nsecond line\n", 22), 22);
	close(fd);

	ck_assert_int_eq(parse("store: redis://127.0.0.1:6379/2\n", &mc, &errs), 0);
	ck_assert_str_eq(mc.store, "redis://127.0.0.1:6379/2");
	meter_store_options(&mc, &o);
	ck_assert_ptr_null(o.redis.password);
	ck_assert_str_eq(o.redis.key_prefix, "paywalld:");
	ck_assert_uint_eq(o.redis.pool_size, 16);
	ck_assert_uint_eq(o.redis.timeout_ms, 50);
	ck_assert_uint_eq(o.redis.connect_timeout_ms, 200);
	meter_config_free(&mc);
	cfg_errors_free(&errs);

	ck_assert_int_eq(parse("store: redis://redis.internal\n"
			       "redis: {password: pw, key_prefix: 'site-a:', pool_size: 4,\n"
			       "        timeout_ms: 20, connect_timeout_ms: 300}\n", &mc, &errs), 0);
	meter_store_options(&mc, &o);
	ck_assert_str_eq(o.redis.password, "pw");
	ck_assert_str_eq(o.redis.key_prefix, "site-a:");
	ck_assert_uint_eq(o.redis.pool_size, 4);
	ck_assert_uint_eq(o.redis.timeout_ms, 20);
	ck_assert_uint_eq(o.redis.connect_timeout_ms, 300);
	meter_config_free(&mc);
	cfg_errors_free(&errs);

	snprintf(yaml, sizeof(yaml), "redis: {password_file: %s}\n", pwfile);
	ck_assert_int_eq(parse(yaml, &mc, &errs), 0);
	ck_assert_str_eq(mc.redis.password, "from-file");	/* the first line only */
	meter_config_free(&mc);
	cfg_errors_free(&errs);

	snprintf(yaml, sizeof(yaml), "redis: {password: a, password_file: %s}\n", pwfile);
	FAILS(yaml, "t.yaml:1:37: redis: give password or password_file, not both");
	FAILS("redis: {password_file: /nonexistent/pw}\n",
	      "t.yaml:1:24: password_file: /nonexistent/pw: No such file or directory");
	FAILS("redis: {password: ''}\n", "t.yaml:1:19: redis: a password is 1 to 512 bytes on one line");
	FAILS("redis: {key_prefix: 'a*'}\n",
	      "t.yaml:1:21: key_prefix: redis: key_prefix: up to 64 of A-Z a-z 0-9 : _ . - /");
	FAILS("redis: {pool_size: 0}\n", "t.yaml:1:20: pool_size: 0 is out of range [1, 1024]");
	FAILS("redis: {timeout_ms: 0}\n", "t.yaml:1:21: timeout_ms: 0 is out of range [1, 60000]");
	FAILS("redis: {db: 1}\n", "t.yaml:1:9: unknown key 'db'");
	FAILS("redis: redis://x\n", "t.yaml:1:8: redis: expected a mapping {password, key_prefix, "
	      "pool_size, timeout_ms, ...}");
	unlink(pwfile);
}
END_TEST

START_TEST(test_meter_config_partial)
{
	struct meter_config mc;
	struct cfg_errors errs;

	/* The timezone may follow the period that needs it. */
	ck_assert_int_eq(parse("registered: {period: calendar-month}\n"
			       "timezone: America/New_York\n"
			       "anonymous:\n"
			       "  limit: 0\n"
			       "store: lmdb:/var/lib/paywalld\n"
			       "on_store_error: open\n", &mc, &errs), 0);
	ck_assert_int_eq(meter_window_start(&mc.registered.period, NY_2024_04_01 - 1),
			 NY_2024_03_01);
	ck_assert_int_eq(mc.registered.limit, 10);
	ck_assert_int_eq(mc.anonymous.limit, 0);
	ck_assert_str_eq(mc.anonymous.period_spec, "30d");
	ck_assert_int_eq(mc.anonymous.period.seconds, 30 * DAY);
	ck_assert_str_eq(mc.store, "lmdb:/var/lib/paywalld");
	ck_assert_int_eq(mc.on_store_error, METER_OPEN);
	meter_config_free(&mc);
	cfg_errors_free(&errs);

	/* Rolling periods in hours; a calendar month elsewhere needs no zone. */
	ck_assert_int_eq(parse("anonymous: {period: 12h}\nregistered: {period: 7d, limit: 100000}\n",
			       &mc, &errs), 0);
	ck_assert_int_eq(mc.anonymous.period.seconds, 12 * 3600);
	ck_assert_int_eq(mc.registered.period.kind, METER_ROLLING);
	ck_assert_int_eq(mc.registered.limit, 100000);
	meter_config_free(&mc);
	cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_meter_config_period_errors)
{
	FAILS("anonymous: {limit: 3, period: 30x}\n",
	      "t.yaml:1:31: anonymous.period: expected Nd, Nh or calendar-month, got '30x'");
	FAILS("registered: {limit: 10, period: 0d}\n",
	      "t.yaml:1:33: registered.period: '0d' is out of range: 1 to 3650 days");
	FAILS("anonymous:\n  period: 87601h\n",
	      "t.yaml:2:11: anonymous.period: '87601h' is out of range: 1 to 87600 hours");
	FAILS("anonymous: {period: ''}\n",
	      "t.yaml:1:21: anonymous.period: expected Nd, Nh or calendar-month");
	FAILS("anonymous: {period: [30d]}\n",
	      "t.yaml:1:21: anonymous.period: expected Nd, Nh or calendar-month");
	/* An unknown zone is reported once, at the zone. */
	FAILS("timezone: Mars/Olympus\nregistered: {period: calendar-month}\n",
	      "t.yaml:1:11: timezone: unknown time zone 'Mars/Olympus'");
	FAILS("timezone: ../../../etc/passwd\n",
	      "t.yaml:1:11: timezone: unknown time zone '../../../etc/passwd'");
	FAILS("timezone: /usr/share/zoneinfo/UTC\n",
	      "t.yaml:1:11: timezone: unknown time zone '/usr/share/zoneinfo/UTC'");
	FAILS("timezone: {a: b}\n",
	      "t.yaml:1:11: timezone: unknown time zone '(not a string)'");
}
END_TEST

START_TEST(test_meter_config_errors)
{
	FAILS("anonymous: {limit: 100001}\n",
	      "t.yaml:1:20: anonymous.limit: 100001 is out of range [0, 100000]");
	FAILS("registered: {limit: -1}\n",
	      "t.yaml:1:21: registered.limit: -1 is out of range [0, 100000]");
	FAILS("anonymous: {limit: three}\n",
	      "t.yaml:1:20: anonymous.limit: expected an integer, got 'three'");
	FAILS("anonymous: {limit: '3'}\n",
	      "t.yaml:1:20: anonymous.limit: expected an integer");
	FAILS("anonymous: {limit: 3, colour: red}\n",
	      "t.yaml:1:23: unknown key 'colour'");
	FAILS("anonymous: {limit: 3, limit: 4}\n",
	      "t.yaml:1:23: duplicate key 'limit'");
	FAILS("anonymous: 3\n",
	      "t.yaml:1:12: anonymous: expected a mapping {limit, period}");
	FAILS("registered: [10, calendar-month]\n",
	      "t.yaml:1:13: registered: expected a mapping {limit, period}");
	FAILS("store: rediss://localhost:6379\n",
	      "t.yaml:1:8: store: expected memory, lmdb:DIR or redis://HOST:PORT[/DB], got "
	      "'rediss://localhost:6379'");
	FAILS("store: redis://localhost:6379/x\n",
	      "t.yaml:1:8: store: redis URL: the path must be /DB (0..65535), got '/x'");
	FAILS("store: redis://localhost:0\n",
	      "t.yaml:1:8: store: redis URL: bad port '0'");
	FAILS("store: 'lmdb:'\n", "t.yaml:1:8: store: expected memory, lmdb:DIR or "
	      "redis://HOST:PORT[/DB], got 'lmdb:'");
	FAILS("store: LMDB:/x\n", "t.yaml:1:8: store: expected memory, lmdb:DIR or "
	      "redis://HOST:PORT[/DB], got 'LMDB:/x'");
	FAILS("store: [memory]\n", "t.yaml:1:8: store: expected a string");
	FAILS("on_store_error: maybe\n", "t.yaml:1:17: on_store_error: expected open or closed");
	FAILS("on_store_error: Open\n", "t.yaml:1:17: on_store_error: expected open or closed");
	FAILS("lmdb_map_mb: 0\n", "t.yaml:1:14: lmdb_map_mb: 0 is out of range [1, 1048576]");
	FAILS("memory_max_entries: 0\n",
	      "t.yaml:1:21: memory_max_entries: 0 is out of range [1, 100000000]");
	FAILS("limit: 3\n", "t.yaml:1:1: unknown key 'limit'");
	FAILS("store: memory\nstore: memory\n", "t.yaml:2:1: duplicate key 'store'");
	FAILS("[memory]\n", "t.yaml:1:1: expected a mapping of keys to values");
	/* Parsing goes on after an error: all of them are reported. */
	FAILS("store: nowhere\n"
	      "timezone: Nowhere/City\n"
	      "anonymous: {limit: 1000000, period: 1y}\n"
	      "registered: {period: calendar-month}\n"
	      "on_store_error: sometimes\n",
	      "t.yaml:1:8: store: expected memory, lmdb:DIR or redis://HOST:PORT[/DB], got "
	      "'nowhere'",
	      "t.yaml:2:11: timezone: unknown time zone 'Nowhere/City'",
	      "t.yaml:3:20: anonymous.limit: 1000000 is out of range [0, 100000]",
	      "t.yaml:3:37: anonymous.period: expected Nd, Nh or calendar-month, got '1y'",
	      "t.yaml:5:17: on_store_error: expected open or closed");
}
END_TEST

static Suite *meter_suite(void)
{
	Suite *s = suite_create("meter");
	TCase *tp = tcase_create("periods");
	TCase *tc = tcase_create("config");

	tcase_add_test(tp, test_meter_period_rolling);
	tcase_add_test(tp, test_meter_period_errors);
	tcase_add_test(tp, test_meter_tz_exists);
	tcase_add_test(tp, test_meter_calendar_utc);
	tcase_add_test(tp, test_meter_calendar_tokyo);
	tcase_add_test(tp, test_meter_calendar_new_york);
	tcase_add_test(tp, test_meter_calendar_lord_howe);
	tcase_add_test(tp, test_meter_tz_restored);
	suite_add_tcase(s, tp);

	tcase_add_test(tc, test_meter_config_defaults);
	tcase_add_test(tc, test_meter_config_full);
	tcase_add_test(tc, test_meter_config_redis);
	tcase_add_test(tc, test_meter_config_partial);
	tcase_add_test(tc, test_meter_config_period_errors);
	tcase_add_test(tc, test_meter_config_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(meter_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
