/* meter: metering periods (rolling windows, calendar months in a time zone)
 * and the `meter` config section. The counting itself is a store's. */
#include "meter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "store.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

#define METER_ZONEINFO "/usr/share/zoneinfo/"
#define METER_MONTHS ((size_t)(METER_YEAR_LAST - METER_YEAR_FIRST + 1) * 12)
#define METER_MONTH_MAX_AGE (31 * 86400 + 3600)

bool meter_tz_exists(const char *tz)
{
	char path[sizeof(METER_ZONEINFO) + METER_TZ_MAX];
	size_t len;
	struct stat st;

	if (tz == NULL)
		return false;
	if (strcmp(tz, "UTC") == 0)
		return true;	/* glibc knows it even without tzdata */
	len = strlen(tz);
	if (len == 0 || len > METER_TZ_MAX || tz[0] == '/' || strstr(tz, "..") != NULL ||
	    strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_+-") != len)
		return false;
	snprintf(path, sizeof(path), "%s%s", METER_ZONEINFO, tz);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* "Nd" or "Nh": digits, then the unit, nothing else. 0 / -1 with message. */
static int meter_parse_rolling(const char *spec, int64_t *seconds, char *err, size_t errlen)
{
	long long n, max;
	char *end;

	if (spec[0] < '0' || spec[0] > '9')
		goto syntax;
	errno = 0;
	n = strtoll(spec, &end, 10);
	if ((*end != 'd' && *end != 'h') || end[1] != '\0')
		goto syntax;
	max = *end == 'd' ? METER_DAYS_MAX : METER_HOURS_MAX;
	if (errno != 0 || n < 1 || n > max) {
		snprintf(err, errlen, "'%s' is out of range: 1 to %lld %s", spec, max,
			 *end == 'd' ? "days" : "hours");
		return -1;
	}
	*seconds = n * (*end == 'd' ? 86400 : 3600);
	return 0;
syntax:
	snprintf(err, errlen, "expected Nd, Nh or calendar-month, got '%s'", spec);
	return -1;
}

/* Local midnight of the first day of every month, under the current TZ. */
static int meter_fill_months(int64_t *v)
{
	size_t i = 0;

	for (int y = METER_YEAR_FIRST; y <= METER_YEAR_LAST; y++) {
		for (int m = 0; m < 12; m++) {
			struct tm tm;
			time_t t;

			memset(&tm, 0, sizeof(tm));
			tm.tm_year = y - 1900;
			tm.tm_mon = m;
			tm.tm_mday = 1;
			tm.tm_isdst = -1;	/* whatever the zone says for that day */
			errno = 0;
			t = mktime(&tm);
			if (t == (time_t)-1 && errno != 0)
				return -1;
			if (i > 0 && (int64_t)t <= v[i - 1])
				return -1;
			v[i++] = (int64_t)t;
		}
	}
	return 0;
}

/* Sets TZ=tz for the table, then puts the process's TZ back as it was. */
static int meter_month_table(const char *tz, int64_t **out)
{
	const char *cur = getenv("TZ");
	char *saved = cur != NULL ? strdup(cur) : NULL;
	int64_t *v = malloc(METER_MONTHS * sizeof(*v));
	int rc = -1;

	if (v == NULL || (cur != NULL && saved == NULL) || setenv("TZ", tz, 1) != 0)
		goto out;
	tzset();
	rc = meter_fill_months(v);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
out:
	free(saved);
	if (rc != 0) {
		free(v);
		return -1;
	}
	*out = v;
	return 0;
}

int meter_period_parse(const char *spec, const char *tz, struct meter_period *out,
		       char *err, size_t errlen)
{
	struct meter_period p;

	memset(&p, 0, sizeof(p));
	if (spec == NULL || spec[0] == '\0') {
		snprintf(err, errlen, "expected Nd, Nh or calendar-month");
		return -1;
	}
	if (strcmp(spec, "calendar-month") != 0) {
		if (meter_parse_rolling(spec, &p.seconds, err, errlen) != 0)
			return -1;
		p.kind = METER_ROLLING;
		*out = p;
		return 0;
	}
	if (tz == NULL || tz[0] == '\0') {
		snprintf(err, errlen, "calendar-month needs a time zone");
		return -1;
	}
	if (!meter_tz_exists(tz)) {
		snprintf(err, errlen, "unknown time zone '%s'", tz);
		return -1;
	}
	if (meter_month_table(tz, &p.month_starts) != 0) {
		snprintf(err, errlen, "cannot compute the month starts of time zone '%s'", tz);
		return -1;
	}
	p.kind = METER_CALENDAR_MONTH;
	p.n_month_starts = METER_MONTHS;
	*out = p;
	return 0;
}

void meter_period_free(struct meter_period *p)
{
	if (p == NULL)
		return;
	free(p->month_starts);
	memset(p, 0, sizeof(*p));
}

int64_t meter_window_start(const struct meter_period *p, int64_t now)
{
	size_t lo = 0, hi = p->n_month_starts;

	if (p->kind == METER_ROLLING)
		return now - p->seconds;
	if (hi == 0 || now < p->month_starts[0])
		return INT64_MIN;
	/* Invariant: month_starts[lo] <= now, and every index >= hi is > now. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (p->month_starts[mid] <= now)
			lo = mid;
		else
			hi = mid;
	}
	return p->month_starts[lo];
}

int64_t meter_period_max_age(const struct meter_period *p)
{
	return p->kind == METER_ROLLING ? p->seconds : METER_MONTH_MAX_AGE;
}

/* ---- the `meter` config section ---- */

static int meter_parse_limit(struct cfg_ctx *c, yaml_node_t *n, void *value, const char *key)
{
	const struct cfg_field f = { key, CFG_INT, 0, false, 0, METER_LIMIT_MAX, NULL, NULL };

	return cfg_parse_value(c, n, &f, value);
}

/* Only the syntax here: a calendar month needs the timezone, which may come
 * later in the map, so the table is computed once the map is read. */
static int meter_parse_period(struct cfg_ctx *c, yaml_node_t *n, void *value, const char *key)
{
	const char *s = cfg_scalar(n);
	char **spec = value, *dup, err[256];
	int64_t seconds;

	if (s == NULL || s[0] == '\0') {
		cfg_error(c, n, "%s: expected Nd, Nh or calendar-month", key);
		return -1;
	}
	if (strcmp(s, "calendar-month") != 0 &&
	    meter_parse_rolling(s, &seconds, err, sizeof(err)) != 0) {
		cfg_error(c, n, "%s: %s", key, err);
		return -1;
	}
	if ((dup = strdup(s)) == NULL) {
		cfg_error(c, n, "%s: out of memory", key);
		return -1;
	}
	free(*spec);
	*spec = dup;
	return 0;
}

/* Custom parsers get no key, so each audience has its own pair: messages
 * then name the full path ("registered.limit: ..."). */
static int meter_parse_anonymous_limit(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_limit(c, n, value, "anonymous.limit");
}

static int meter_parse_anonymous_period(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_period(c, n, value, "anonymous.period");
}

static int meter_parse_registered_limit(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_limit(c, n, value, "registered.limit");
}

static int meter_parse_registered_period(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_period(c, n, value, "registered.period");
}

#define MA(f) offsetof(struct meter_audience, f)
static const struct cfg_field meter_anonymous_fields[] = {
	{ "limit", CFG_CUSTOM, MA(limit), false, 0, 0, meter_parse_anonymous_limit, NULL },
	{ "period", CFG_CUSTOM, MA(period_spec), false, 0, 0, meter_parse_anonymous_period,
	  NULL },
};

static const struct cfg_field meter_registered_fields[] = {
	{ "limit", CFG_CUSTOM, MA(limit), false, 0, 0, meter_parse_registered_limit, NULL },
	{ "period", CFG_CUSTOM, MA(period_spec), false, 0, 0, meter_parse_registered_period,
	  NULL },
};
#undef MA

static int meter_parse_audience(struct cfg_ctx *c, yaml_node_t *n, void *value,
				const char *name, const struct cfg_field *fields)
{
	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(c, n, "%s: expected a mapping {limit, period}", name);
		return -1;
	}
	return cfg_parse_map(c, n, fields, 2, value);
}

static int meter_parse_anonymous(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_audience(c, n, value, "anonymous", meter_anonymous_fields);
}

static int meter_parse_registered(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	return meter_parse_audience(c, n, value, "registered", meter_registered_fields);
}

static void meter_free_audience(void *value)
{
	struct meter_audience *a = value;

	free(a->period_spec);
	a->period_spec = NULL;
	meter_period_free(&a->period);
}

/* "memory", "lmdb:DIR" (DIR resolved against the config's directory) or a
 * redis:// URL. */
static int meter_parse_store(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	char **store = value, *dir = NULL, *v = NULL, err[256];
	size_t len;

	if (s == NULL || !store_spec_check(s, err, sizeof(err))) {
		cfg_error(c, n, "store: %s", s ? err : "expected a string");
		return -1;
	}
	if (strncmp(s, "lmdb:", 5) != 0) {
		v = strdup(s);
	} else if ((dir = cfg_resolve_path(c->dir, s + 5)) != NULL) {
		len = strlen(dir) + 6;
		if ((v = malloc(len)) != NULL)
			snprintf(v, len, "lmdb:%s", dir);
		free(dir);
	}
	if (v == NULL) {
		cfg_error(c, n, "store: out of memory");
		return -1;
	}
	free(*store);
	*store = v;
	return 0;
}

static void meter_free_secret_str(void *value)
{
	char **s = value;

	if (*s != NULL)
		OPENSSL_cleanse(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

static int meter_set_password(struct cfg_ctx *c, yaml_node_t *n, char **out, const char *pw)
{
	if (*out != NULL) {
		cfg_error(c, n, "redis: give password or password_file, not both");
		return -1;
	}
	if (strlen(pw) == 0 || strlen(pw) > 512 || strpbrk(pw, "\r\n") != NULL) {
		cfg_error(c, n, "redis: a password is 1 to 512 bytes on one line");
		return -1;
	}
	if ((*out = strdup(pw)) == NULL) {
		cfg_error(c, n, "redis: out of memory");
		return -1;
	}
	return 0;
}

static int meter_parse_redis_password(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);

	if (s == NULL) {
		cfg_error(c, n, "password: expected a string");
		return -1;
	}
	return meter_set_password(c, n, value, s);
}

/* The password file's first line, so the secret stays out of the config. */
static int meter_parse_redis_password_file(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	char *path = NULL, line[520] = "";
	FILE *f = NULL;
	int rc = -1;

	if (s == NULL || *s == '\0' || (path = cfg_resolve_path(c->dir, s)) == NULL) {
		cfg_error(c, n, "password_file: expected a path");
		return -1;
	}
	if ((f = fopen(path, "re")) == NULL) {
		cfg_error(c, n, "password_file: %s: %s", path, strerror(errno));
		goto out;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	rc = meter_set_password(c, n, value, line);
out:
	OPENSSL_cleanse(line, sizeof(line));
	if (f != NULL)
		fclose(f);
	free(path);
	return rc;
}

static int meter_parse_redis_prefix(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	char **out = value;
	struct store_redis_options o = { .key_prefix = s, .pool_size = 1, .timeout_ms = 1,
					 .connect_timeout_ms = 1 };
	char err[256];

	if (s == NULL || store_redis_check_options(&o, err, sizeof(err)) != 0) {
		cfg_error(c, n, "key_prefix: %s", s ? err : "expected a string");
		return -1;
	}
	free(*out);
	if ((*out = strdup(s)) == NULL) {
		cfg_error(c, n, "key_prefix: out of memory");
		return -1;
	}
	return 0;
}

static void meter_free_str(void *value)
{
	char **s = value;

	free(*s);
	*s = NULL;
}

static int meter_parse_timezone(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	char **tz = value, *v;

	if (s == NULL || !meter_tz_exists(s)) {
		cfg_error(c, n, "timezone: unknown time zone '%s'", s ? s : "(not a string)");
		return -1;
	}
	if ((v = strdup(s)) == NULL) {
		cfg_error(c, n, "timezone: out of memory");
		return -1;
	}
	free(*tz);
	*tz = v;
	return 0;
}

static int meter_parse_on_error(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	enum meter_on_error *e = value;

	if (s != NULL && strcmp(s, "open") == 0) {
		*e = METER_OPEN;
		return 0;
	}
	if (s != NULL && strcmp(s, "closed") == 0) {
		*e = METER_CLOSED;
		return 0;
	}
	cfg_error(c, n, "on_store_error: expected open or closed");
	return -1;
}

#define MR(f) offsetof(struct meter_redis_config, f)
static const struct cfg_field meter_redis_fields[] = {
	{ "password", CFG_CUSTOM, MR(password), false, 0, 0, meter_parse_redis_password,
	  meter_free_secret_str },
	{ "password_file", CFG_CUSTOM, MR(password), false, 0, 0, meter_parse_redis_password_file,
	  NULL },
	{ "key_prefix", CFG_CUSTOM, MR(key_prefix), false, 0, 0, meter_parse_redis_prefix,
	  meter_free_str },
	{ "pool_size", CFG_INT, MR(pool_size), false, 1, STORE_REDIS_POOL_MAX, NULL, NULL },
	{ "timeout_ms", CFG_INT, MR(timeout_ms), false, 1, 60000, NULL, NULL },
	{ "connect_timeout_ms", CFG_INT, MR(connect_timeout_ms), false, 1, 60000, NULL, NULL },
};
#undef MR

static int meter_parse_redis(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	if (n->type != YAML_MAPPING_NODE) {
		cfg_error(c, n, "redis: expected a mapping {password, key_prefix, pool_size, "
			  "timeout_ms, ...}");
		return -1;
	}
	return cfg_parse_map(c, n, meter_redis_fields, countof(meter_redis_fields), value);
}

static void meter_free_redis(void *value)
{
	cfg_free_fields(meter_redis_fields, countof(meter_redis_fields), value);
}

#define MC(f) offsetof(struct meter_config, f)
static const struct cfg_field meter_fields[] = {
	/* A redis:// store may carry a password: wiped on free. */
	{ "store", CFG_CUSTOM, MC(store), false, 0, 0, meter_parse_store, meter_free_secret_str },
	{ "timezone", CFG_CUSTOM, MC(timezone), false, 0, 0, meter_parse_timezone,
	  meter_free_str },
	{ "anonymous", CFG_CUSTOM, MC(anonymous), false, 0, 0, meter_parse_anonymous,
	  meter_free_audience },
	{ "registered", CFG_CUSTOM, MC(registered), false, 0, 0, meter_parse_registered,
	  meter_free_audience },
	{ "on_store_error", CFG_CUSTOM, MC(on_store_error), false, 0, 0, meter_parse_on_error,
	  NULL },
	{ "lmdb_map_mb", CFG_INT, MC(lmdb_map_mb), false, 1, 1024 * 1024, NULL, NULL },
	{ "memory_max_entries", CFG_INT, MC(memory_max_entries), false, 1, 100000000, NULL,
	  NULL },
	{ "redis", CFG_CUSTOM, MC(redis), false, 0, 0, meter_parse_redis, meter_free_redis },
	{ "readyz_requires_store", CFG_BOOL, MC(readyz_requires_store), false, 0, 0, NULL, NULL },
};
#undef MC

/* Everything but the period tables, which depend on the timezone. */
static int meter_set_defaults(struct meter_config *mc)
{
	meter_config_free(mc);
	mc->store = strdup("memory");
	mc->timezone = strdup("UTC");
	mc->anonymous.limit = 3;
	mc->anonymous.period_spec = strdup("30d");
	mc->registered.limit = 10;
	mc->registered.period_spec = strdup("calendar-month");
	mc->on_store_error = METER_OPEN;
	mc->readyz_requires_store = true;
	mc->lmdb_map_mb = STORE_LMDB_MAP_MB_DEFAULT;
	mc->memory_max_entries = STORE_MEM_ENTRIES_DEFAULT;
	mc->redis.key_prefix = strdup(STORE_REDIS_PREFIX_DEFAULT);
	mc->redis.pool_size = STORE_REDIS_POOL_DEFAULT;
	mc->redis.timeout_ms = STORE_REDIS_TIMEOUT_MS_DEFAULT;
	mc->redis.connect_timeout_ms = STORE_REDIS_CONNECT_TIMEOUT_MS_DEFAULT;
	return mc->store && mc->timezone && mc->redis.key_prefix && mc->anonymous.period_spec &&
	       mc->registered.period_spec ? 0 : -1;
}

/* Computes an audience's period from its spec and the section's timezone. */
static int meter_resolve_audience(struct meter_audience *a, const char *tz, char *err,
				  size_t errlen)
{
	struct meter_period p;

	if (meter_period_parse(a->period_spec, tz, &p, err, errlen) != 0)
		return -1;
	meter_period_free(&a->period);
	a->period = p;
	return 0;
}

int meter_config_defaults(struct meter_config *mc)
{
	char err[256];

	if (meter_set_defaults(mc) != 0 ||
	    meter_resolve_audience(&mc->anonymous, mc->timezone, err, sizeof(err)) != 0 ||
	    meter_resolve_audience(&mc->registered, mc->timezone, err, sizeof(err)) != 0)
		return -1;
	return 0;
}

int meter_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct meter_config *mc = value;
	char err[256];

	if (meter_set_defaults(mc) != 0) {
		cfg_error(c, n, "meter: out of memory");
		return -1;
	}
	mc->enabled = true;
	if (cfg_parse_map(c, n, meter_fields, countof(meter_fields), mc) != 0)
		return -1;
	/* The specs and the zone were checked above: what fails here is memory
	 * or mktime, so the section itself is the place to report it. */
	if (meter_resolve_audience(&mc->anonymous, mc->timezone, err, sizeof(err)) != 0) {
		cfg_error(c, n, "anonymous.period: %s", err);
		return -1;
	}
	if (meter_resolve_audience(&mc->registered, mc->timezone, err, sizeof(err)) != 0) {
		cfg_error(c, n, "registered.period: %s", err);
		return -1;
	}
	return 0;
}

void meter_config_free(struct meter_config *mc)
{
	if (mc == NULL)
		return;
	cfg_free_fields(meter_fields, countof(meter_fields), mc);
	memset(mc, 0, sizeof(*mc));
}

void meter_store_options(const struct meter_config *mc, struct store_options *o)
{
	store_options_defaults(o);
	o->mem_entries = (size_t)mc->memory_max_entries;
	o->lmdb_map_mb = (size_t)mc->lmdb_map_mb;
	o->redis.password = mc->redis.password;
	o->redis.key_prefix = mc->redis.key_prefix;
	o->redis.pool_size = (unsigned)mc->redis.pool_size;
	o->redis.timeout_ms = (unsigned)mc->redis.timeout_ms;
	o->redis.connect_timeout_ms = (unsigned)mc->redis.connect_timeout_ms;
}
