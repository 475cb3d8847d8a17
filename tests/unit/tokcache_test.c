/* tokcache_test: the bounded cache of verified tokens (tokcache.c). */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokcache.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))
#define LEEWAY 60

/*
 * Claims whose digest selects set `set` of a cache of `sets` sets: the set
 * is the first 8 digest bytes (host order) modulo the number of sets, so
 * those bytes are set to `set` and the rest of the digest tells entries
 * apart by id.
 */
static struct token_claims claims_in_set(uint64_t set, uint32_t id, long long exp)
{
	struct token_claims c;

	memset(&c, 0, sizeof(c));
	memcpy(c.digest, &set, sizeof(set));
	memcpy(c.digest + 8, &id, sizeof(id));
	c.digest[31] = 0xa5;
	snprintf(c.sub, sizeof(c.sub), "user-%u", id);
	snprintf(c.ent[0], sizeof(c.ent[0]), "ent-%u", id);
	c.n_ent = 1;
	c.exp = exp;
	return c;
}

static bool has(struct tokcache *c, const struct token_claims *k, long long now)
{
	struct token_claims out;

	return tokcache_get(c, k->digest, now, LEEWAY, &out);
}

START_TEST(test_tokcache_put_get)
{
	struct tokcache *c = tokcache_new(64);
	struct token_claims a = claims_in_set(3, 1, 2000), b = claims_in_set(3, 2, 3000);
	struct token_claims out;

	ck_assert_ptr_nonnull(c);
	tokcache_put(c, &a);
	tokcache_put(c, &b);
	memset(&out, 0, sizeof(out));
	ck_assert(tokcache_get(c, a.digest, 1000, LEEWAY, &out));
	ck_assert(memcmp(&out, &a, sizeof(a)) == 0);
	ck_assert(tokcache_get(c, b.digest, 1000, LEEWAY, &out));
	ck_assert_str_eq(out.sub, "user-2");
	ck_assert_int_eq(out.exp, 3000);
	/* A digest differing in its last byte only is another token. */
	struct token_claims near = a;
	near.digest[31] ^= 1;
	ck_assert(!tokcache_get(c, near.digest, 1000, LEEWAY, &out));
	tokcache_free(c);
}
END_TEST

/* A miss leaves *out alone. */
START_TEST(test_tokcache_miss_leaves_out)
{
	struct tokcache *c = tokcache_new(16);
	struct token_claims a = claims_in_set(0, 1, 2000), out;

	memset(&out, 0x5a, sizeof(out));
	ck_assert(!tokcache_get(c, a.digest, 1000, LEEWAY, &out));
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(((unsigned char *)&out)[i], 0x5a);
	tokcache_free(c);
}
END_TEST

/* Never served at or after exp + leeway, and the entry is then dropped. */
START_TEST(test_tokcache_expiry)
{
	struct tokcache *c = tokcache_new(16);
	struct token_claims a = claims_in_set(1, 1, 2000);

	tokcache_put(c, &a);
	ck_assert(has(c, &a, 2000 + LEEWAY - 1));
	ck_assert(!has(c, &a, 2000 + LEEWAY));
	/* Dropped: even an earlier clock does not bring it back. */
	ck_assert(!has(c, &a, 1000));
	tokcache_put(c, &a);
	ck_assert(!has(c, &a, 5000));
	ck_assert(!has(c, &a, 1000));
	/* The leeway is the caller's: 0 makes exp itself the end. */
	tokcache_put(c, &a);
	struct token_claims out;
	ck_assert(tokcache_get(c, a.digest, 1999, 0, &out));
	ck_assert(!tokcache_get(c, a.digest, 2000, 0, &out));
	tokcache_free(c);
}
END_TEST

/* 8 entries are 2 sets of 4 ways; fill set 0 and evict its least recently used. */
START_TEST(test_tokcache_lru_in_set)
{
	struct tokcache *c = tokcache_new(8);
	struct token_claims e[6];
	struct token_claims other = claims_in_set(1, 100, 9000);

	for (uint32_t i = 0; i < NA(e); i++)
		e[i] = claims_in_set(0, i, 9000);
	tokcache_put(c, &other);
	for (int i = 0; i < 4; i++)
		tokcache_put(c, &e[i]);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(has(c, &e[i], 1000), "entry %d", i);
	/* Touch 0, 2, 3 (in that order): 1 is now the least recently used. */
	ck_assert(has(c, &e[0], 1000));
	ck_assert(has(c, &e[2], 1000));
	ck_assert(has(c, &e[3], 1000));
	tokcache_put(c, &e[4]);
	ck_assert(!has(c, &e[1], 1000));
	ck_assert(has(c, &e[0], 1000) && has(c, &e[2], 1000) && has(c, &e[3], 1000) &&
		  has(c, &e[4], 1000));
	/* Now 0 is the oldest use. */
	tokcache_put(c, &e[5]);
	ck_assert(!has(c, &e[0], 1000));
	/* The other set was never touched by the evictions. */
	ck_assert(has(c, &other, 1000));
	tokcache_free(c);
}
END_TEST

/* Putting a cached digest again replaces it in place, evicting nothing. */
START_TEST(test_tokcache_put_again)
{
	struct tokcache *c = tokcache_new(4);	/* one set */
	struct token_claims e[4], out;

	for (uint32_t i = 0; i < 4; i++) {
		e[i] = claims_in_set(7, i, 9000);
		tokcache_put(c, &e[i]);
	}
	e[0].exp = 9500;
	tokcache_put(c, &e[0]);
	for (int i = 0; i < 4; i++)
		ck_assert_msg(has(c, &e[i], 1000), "entry %d", i);
	ck_assert(tokcache_get(c, e[0].digest, 1000, LEEWAY, &out));
	ck_assert_int_eq(out.exp, 9500);
	tokcache_free(c);
}
END_TEST

/* Sizes round up to whole sets of 4. */
START_TEST(test_tokcache_sizes)
{
	struct tokcache *c = tokcache_new(1);	/* one set of 4 */
	struct token_claims e[5];

	for (uint32_t i = 0; i < 5; i++)
		e[i] = claims_in_set(i * 1000003u, i, 9000);
	for (int i = 0; i < 4; i++)
		tokcache_put(c, &e[i]);
	for (int i = 0; i < 4; i++)
		ck_assert(has(c, &e[i], 1000));
	tokcache_put(c, &e[4]);
	int present = 0;
	for (int i = 0; i < 5; i++)
		present += has(c, &e[i], 1000);
	ck_assert_int_eq(present, 4);
	tokcache_free(c);
}
END_TEST

START_TEST(test_tokcache_disabled)
{
	struct tokcache *c = tokcache_new(0);
	struct token_claims a = claims_in_set(0, 1, 9000), out;
	unsigned long long hits, misses;

	ck_assert_ptr_nonnull(c);
	tokcache_put(c, &a);
	ck_assert(!tokcache_get(c, a.digest, 1000, LEEWAY, &out));
	tokcache_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, 0);
	tokcache_free(c);
	/* A NULL cache (none configured) behaves as an empty one. */
	tokcache_put(NULL, &a);
	ck_assert(!tokcache_get(NULL, a.digest, 1000, LEEWAY, &out));
	tokcache_stats(NULL, &hits, &misses);
	ck_assert_uint_eq(hits, 0);
	ck_assert_uint_eq(misses, 0);
	tokcache_free(NULL);
}
END_TEST

START_TEST(test_tokcache_stats)
{
	struct tokcache *c = tokcache_new(16);
	struct token_claims a = claims_in_set(2, 1, 2000), b = claims_in_set(2, 2, 2000);
	unsigned long long hits, misses;

	tokcache_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, 0);
	ck_assert_uint_eq(misses, 0);
	tokcache_put(c, &a);
	has(c, &a, 1000);
	has(c, &a, 1000);
	has(c, &b, 1000);
	has(c, &a, 9999);	/* expired: a miss */
	tokcache_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, 2);
	ck_assert_uint_eq(misses, 2);
	tokcache_free(c);
}
END_TEST

/* ---- threads ---- */

#define THREADS 4
#define ROUNDS 20000

struct worker {
	struct tokcache *c;
	unsigned seed;
	unsigned long long hits, bad;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < ROUNDS; i++) {
		uint32_t id = (uint32_t)rand_r(&w->seed) % 512;
		struct token_claims want = claims_in_set(id * 2654435761u, id, 9000), out;
		if (rand_r(&w->seed) % 3 == 0) {
			tokcache_put(w->c, &want);
		} else if (tokcache_get(w->c, want.digest, 1000, LEEWAY, &out)) {
			w->hits++;
			/* A hit is always the whole entry for that digest, never torn. */
			if (memcmp(&out, &want, sizeof(out)) != 0)
				w->bad++;
		}
	}
	return NULL;
}

START_TEST(test_tokcache_threads)
{
	struct tokcache *c = tokcache_new(256);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	unsigned long long hits = 0, misses = 0, seen = 0;

	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ c, (unsigned)i * 7919u + 1, 0, 0 };
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		ck_assert_int_eq(pthread_join(t[i], NULL), 0);
		ck_assert_uint_eq(w[i].bad, 0);
		seen += w[i].hits;
	}
	tokcache_stats(c, &hits, &misses);
	ck_assert_uint_eq(hits, seen);
	ck_assert_uint_gt(hits, 0);
	ck_assert_uint_gt(misses, 0);
	tokcache_free(c);
}
END_TEST

static Suite *tokcache_suite(void)
{
	Suite *s = suite_create("tokcache");
	TCase *tc = tcase_create("cache");
	TCase *th = tcase_create("threads");

	tcase_add_test(tc, test_tokcache_put_get);
	tcase_add_test(tc, test_tokcache_miss_leaves_out);
	tcase_add_test(tc, test_tokcache_expiry);
	tcase_add_test(tc, test_tokcache_lru_in_set);
	tcase_add_test(tc, test_tokcache_put_again);
	tcase_add_test(tc, test_tokcache_sizes);
	tcase_add_test(tc, test_tokcache_disabled);
	tcase_add_test(tc, test_tokcache_stats);
	suite_add_tcase(s, tc);

	tcase_set_timeout(th, 60);
	tcase_add_test(th, test_tokcache_threads);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tokcache_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
