/* meter: metering periods (rolling windows, calendar months in a time zone)
 * and the `meter` config section. The counting itself is a store's. */
#ifndef PAYWALLD_METER_H
#define PAYWALLD_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "cfg.h"
#include "store.h"

#define METER_LIMIT_MAX 100000
#define METER_DAYS_MAX 3650
#define METER_HOURS_MAX 87600
#define METER_YEAR_FIRST 1970	/* the calendar-month table's span */
#define METER_YEAR_LAST 2100
#define METER_TZ_MAX 128	/* longest accepted zone name */

enum meter_period_kind { METER_ROLLING, METER_CALENDAR_MONTH };

/* A parsed period. Owns month_starts. */
struct meter_period {
	enum meter_period_kind kind;
	int64_t seconds;		/* ROLLING: window length */
	int64_t *month_starts;		/* CALENDAR_MONTH: UTC times of local month starts,
					 * ascending, METER_YEAR_FIRST..METER_YEAR_LAST */
	size_t n_month_starts;
};

/*
 * True when tz names a zone: "UTC", or a file under /usr/share/zoneinfo
 * whose name is letters, digits and "/_+-", has no ".." and does not start
 * with '/'. Thread-safe.
 */
bool meter_tz_exists(const char *tz);

/*
 * Parses "Nd" (days, 1..METER_DAYS_MAX), "Nh" (hours, 1..METER_HOURS_MAX)
 * or "calendar-month", which needs tz (an IANA zone such as "Asia/Tokyo";
 * ignored otherwise). For a calendar month, the start of every local month
 * of METER_YEAR_FIRST..METER_YEAR_LAST is computed now with mktime() under
 * TZ=tz, and the process's TZ is restored after: NOT thread-safe, call it
 * at config load from the main thread only. Returns 0 and fills *out (free
 * with meter_period_free), or -1 with a message in err and *out untouched.
 */
int meter_period_parse(const char *spec, const char *tz, struct meter_period *out,
		       char *err, size_t errlen);
/* Frees the month table; NULL-safe, and safe on a zeroed period. */
void meter_period_free(struct meter_period *p);
/*
 * The start of the window containing now: now - seconds for ROLLING; the
 * last month start <= now for CALENDAR_MONTH (the last table entry after
 * METER_YEAR_LAST; INT64_MIN, everything, before the first). Entries with
 * time >= the start are live. Pure, thread-safe.
 */
int64_t meter_window_start(const struct meter_period *p, int64_t now);
/* How long an entry may have to be kept, for purging: the window length, or
 * 31 days + 1 hour for a month. Pure, thread-safe. */
int64_t meter_period_max_age(const struct meter_period *p);

/* One audience's meter: `{limit: 3, period: 30d}`. */
struct meter_audience {
	long long limit;		/* 0..METER_LIMIT_MAX; 0 is a hard wall */
	char *period_spec;		/* as written */
	struct meter_period period;	/* parsed with the section's timezone */
};

enum meter_on_error { METER_OPEN, METER_CLOSED };

/* `meter.redis`: options of a redis:// store. */
struct meter_redis_config {
	char *password;			/* `password`, or the first line of `password_file` */
	char *key_prefix;
	long long pool_size;
	long long timeout_ms;
	long long connect_timeout_ms;
};

/* The `meter` config section. Owned by struct config. */
struct meter_config {
	bool enabled;			/* the section is present */
	char *store;			/* "memory", "lmdb:DIR" (DIR resolved) or "redis://..." */
	char *timezone;			/* for calendar-month periods */
	struct meter_audience anonymous, registered;
	enum meter_on_error on_store_error;	/* open: serve full; closed: teaser */
	bool readyz_requires_store;	/* a failing store makes /readyz 503 */
	long long lmdb_map_mb;
	long long memory_max_entries;
	struct meter_redis_config redis;	/* `redis:`, for a redis:// store */
};

/* Fills o with what the section says about every store. o borrows mc's
 * strings: keep mc alive while o is used. */
void meter_store_options(const struct meter_config *mc, struct store_options *o);

/*
 * Fills mc with the defaults (memory store, UTC, anonymous 3 per 30d,
 * registered 10 per calendar month, open, 256 MB, 1000000 entries), periods
 * computed, enabled false: for a config without the section. mc must be
 * zeroed or hold a config. Not thread-safe (meter_period_parse). 0 / -1.
 */
int meter_config_defaults(struct meter_config *mc);
/*
 * Parses the section at n into value (a struct meter_config, zeroed or
 * holding a config), over the defaults. Every error is reported with
 * cfg_error at its node ("anonymous.period: expected Nd, Nh or
 * calendar-month, got '30x'"); on -1, value still holds what it needs to be
 * freed. Not thread-safe (meter_period_parse): config load only.
 */
int meter_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value);
/* Frees what the config holds and zeroes it. NULL-safe. */
void meter_config_free(struct meter_config *mc);

#endif
