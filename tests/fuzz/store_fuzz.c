/*
 * store_fuzz: the meter store spec (meter.store), above all the redis://
 * URL, and the Redis options checks.
 *
 * Input: the spec, up to a NUL; the bytes after it, if any, are the
 * key_prefix option.
 *
 * Checked besides "no crash, no leak":
 *  - store_spec_check and store_spec_is_valid agree, and an error always
 *    comes with a message;
 *  - a redis:// spec the check accepts opens (opening does not connect)
 *    exactly when its options are accepted, and closes cleanly; a spec it
 *    refuses never opens;
 *  - an accepted key_prefix holds none of '*', '?', '[', '{', '}' (glob or
 *    hash-tag syntax) and is at most STORE_REDIS_PREFIX_MAX bytes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define FUZZ_NAME "store_fuzz"
#include "fuzz_common.h"

static void check_prefix(const char *prefix)
{
	struct store_redis_options o = { NULL, prefix, 1, 1, 1 };
	char err[256] = "";

	if (store_redis_check_options(&o, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			fail("refused prefix without a message", prefix);
		return;
	}
	if (strpbrk(prefix, "*?[{}") != NULL || strlen(prefix) > STORE_REDIS_PREFIX_MAX)
		fail("accepted prefix with glob or tag syntax", prefix);
}

static void check_spec(const char *spec, const char *prefix)
{
	struct store_options o;
	struct store *s = NULL;
	char err[256] = "";
	bool ok = store_spec_check(spec, err, sizeof(err));

	if (ok != store_spec_is_valid(spec))
		fail("store_spec_check and store_spec_is_valid disagree", spec);
	if (!ok && err[0] == '\0')
		fail("refused spec without a message", spec);
	if (strncmp(spec, "redis://", 8) != 0)
		return;		/* opening lmdb: would create directories */
	store_options_defaults(&o);
	o.redis.key_prefix = prefix;
	o.redis.pool_size = 2;
	int rc = store_open_with(spec, &o, &s, err, sizeof(err));
	if (!ok && rc == 0)
		fail("a refused spec opened", spec);
	if (rc == 0) {
		if (s == NULL)
			fail("opened without a store", spec);
		store_close(s);
	} else if (err[0] == '\0') {
		fail("open failed without a message", spec);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	const char *prefix;

	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	prefix = strlen(spec) < size ? spec + strlen(spec) + 1 : STORE_REDIS_PREFIX_DEFAULT;
	check_prefix(prefix);
	check_spec(spec, prefix);
	free(spec);
	return 0;
}
