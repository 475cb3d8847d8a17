/* store: opening a meter store by its spec, and what all stores share. */
#include "store.h"

#include <stdio.h>
#include <string.h>

void store_options_defaults(struct store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mem_entries = STORE_MEM_ENTRIES_DEFAULT;
	o->lmdb_map_mb = STORE_LMDB_MAP_MB_DEFAULT;
	o->redis.key_prefix = STORE_REDIS_PREFIX_DEFAULT;
	o->redis.pool_size = STORE_REDIS_POOL_DEFAULT;
	o->redis.timeout_ms = STORE_REDIS_TIMEOUT_MS_DEFAULT;
	o->redis.connect_timeout_ms = STORE_REDIS_CONNECT_TIMEOUT_MS_DEFAULT;
}

static bool store_is_redis(const char *spec)
{
	return strncmp(spec, "redis://", 8) == 0;
}

bool store_spec_check(const char *spec, char *err, size_t errlen)
{
	char tmp[256];

	if (err == NULL) {
		err = tmp;
		errlen = sizeof(tmp);
	}
	if (spec != NULL && store_is_redis(spec))
		return store_redis_check_url(spec, err, errlen) == 0;
	if (spec != NULL && (strcmp(spec, "memory") == 0 ||
			     (strncmp(spec, "lmdb:", 5) == 0 && spec[5] != '\0')))
		return true;
	snprintf(err, errlen, "expected memory, lmdb:DIR or redis://HOST:PORT[/DB], got '%s'",
		 spec ? spec : "");
	return false;
}

bool store_spec_is_valid(const char *spec)
{
	return store_spec_check(spec, NULL, 0);
}

int store_open_with(const char *spec, const struct store_options *o, struct store **out,
		    char *err, size_t errlen)
{
	struct store_options def;

	if (o == NULL) {
		store_options_defaults(&def);
		o = &def;
	}
	if (!store_spec_check(spec, err, errlen))
		return -1;
	if (store_is_redis(spec))
		return store_redis_open(spec, &o->redis, out, err, errlen);
	if (strncmp(spec, "lmdb:", 5) == 0)
		return store_lmdb_open(spec + 5, o->lmdb_map_mb, out, err, errlen);
	size_t n = o->mem_entries ? o->mem_entries : STORE_MEM_ENTRIES_DEFAULT;
	if (store_mem_open(n, out) != 0) {
		snprintf(err, errlen, "store: memory: cannot allocate %zu entries", n);
		return -1;
	}
	return 0;
}

int store_open(const char *spec, struct store **out, char *err, size_t errlen)
{
	return store_open_with(spec, NULL, out, err, errlen);
}

const char *store_spec_redact(const char *spec, char *out, size_t len)
{
	const char *at;

	if (spec == NULL || strncmp(spec, "redis://", 8) != 0 ||
	    (at = strrchr(spec + 8, '@')) == NULL)
		return spec;
	snprintf(out, len, "redis://***@%s", at + 1);
	return out;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->up = true;
	if (s != NULL && s->ops->stats != NULL)
		s->ops->stats(s, out);
}

void store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *store_result_name(enum store_result r)
{
	switch (r) {
	case STORE_ALREADY: return "already";
	case STORE_COUNTED: return "counted";
	case STORE_LIMIT: return "limit";
	case STORE_ERROR: return "error";
	}
	return "?";
}
