/* snapshot_test: refcounted config snapshots and their swap under concurrent readers (snapshot.c). */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snapshot.h"

#define READERS 4
#define SWAPS 200

/* A minimal valid config whose max_connections records which one it is. */
static struct config *make_config(long long tag)
{
	char yaml[256];
	struct cfg_errors errs;
	struct config *cfg = NULL;
	int n = snprintf(yaml, sizeof(yaml),
			 "server:\n  max_connections: %lld\n"
			 "upstream:\n  url: http://127.0.0.1:9/gen%lld\n", tag, tag);

	ck_assert(n > 0 && (size_t)n < sizeof(yaml));
	cfg_errors_init(&errs);
	ck_assert_int_eq(config_load_buffer("snap.yaml", "/", yaml, (size_t)n, &cfg, &errs), 0);
	cfg_errors_free(&errs);
	return cfg;
}

START_TEST(test_snapshot_generations)
{
	struct snapshot_slot slot;
	struct snapshot *s;
	struct config *first = make_config(1);

	ck_assert_int_eq(snapshot_slot_init(&slot, first), 0);
	s = snapshot_acquire(&slot);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->generation, 1);
	ck_assert_ptr_eq(s->cfg, first);
	ck_assert_uint_eq(atomic_load(&s->refs), 2);
	snapshot_release(s);

	ck_assert_uint_eq(snapshot_swap(&slot, make_config(2)), 2);
	s = snapshot_acquire(&slot);
	ck_assert_uint_eq(s->generation, 2);
	ck_assert_int_eq(s->cfg->server.max_connections, 2);
	snapshot_release(s);

	ck_assert_uint_eq(snapshot_swap(&slot, make_config(3)), 3);
	ck_assert_uint_eq(snapshot_swap(&slot, make_config(4)), 4);
	s = snapshot_acquire(&slot);
	ck_assert_uint_eq(s->generation, 4);
	snapshot_release(s);
	snapshot_release(NULL);
	snapshot_slot_destroy(&slot);
}
END_TEST

START_TEST(test_snapshot_old_stays_valid)
{
	struct snapshot_slot slot;
	struct snapshot *old, *cur, *again;

	ck_assert_int_eq(snapshot_slot_init(&slot, make_config(1)), 0);
	old = snapshot_acquire(&slot);
	again = snapshot_acquire(&slot);
	ck_assert_ptr_eq(old, again);
	ck_assert_uint_eq(atomic_load(&old->refs), 3);
	snapshot_release(again);

	ck_assert_uint_eq(snapshot_swap(&slot, make_config(2)), 2);
	/* The slot dropped its reference; ours keeps the old config alive. */
	ck_assert_uint_eq(atomic_load(&old->refs), 1);
	ck_assert_uint_eq(old->generation, 1);
	ck_assert_int_eq(old->cfg->server.max_connections, 1);
	ck_assert_str_eq(old->cfg->upstream.url, "http://127.0.0.1:9/gen1");

	cur = snapshot_acquire(&slot);
	ck_assert_ptr_ne(cur, old);
	ck_assert_uint_eq(cur->generation, 2);
	ck_assert_str_eq(cur->cfg->upstream.url, "http://127.0.0.1:9/gen2");

	/* A second swap while the old one is still held: still readable. */
	ck_assert_uint_eq(snapshot_swap(&slot, make_config(3)), 3);
	ck_assert_str_eq(old->cfg->upstream.url, "http://127.0.0.1:9/gen1");
	ck_assert_str_eq(cur->cfg->upstream.url, "http://127.0.0.1:9/gen2");
	snapshot_release(old);	/* frees generation 1 */
	snapshot_release(cur);	/* frees generation 2 */
	snapshot_slot_destroy(&slot);
}
END_TEST

struct reader {
	pthread_t thread;
	struct snapshot_slot *slot;
	atomic_bool *stop;
	atomic_uint *running;	/* readers that completed an iteration */
	unsigned long iterations;
	unsigned long errors;	/* checked by the main thread: no ck_assert off it */
};

/* Acquires and releases until told to stop, checking what it reads. */
static void *reader_run(void *arg)
{
	struct reader *r = arg;
	unsigned long last = 0;

	while (!atomic_load(r->stop)) {
		struct snapshot *s = snapshot_acquire(r->slot);
		char want[64];

		snprintf(want, sizeof(want), "http://127.0.0.1:9/gen%lu", s->generation);
		if (s->generation < last ||
		    s->cfg->server.max_connections != (long long)s->generation ||
		    strcmp(s->cfg->upstream.url, want) != 0)
			r->errors++;
		last = s->generation;
		snapshot_release(s);
		if (r->iterations++ == 0)
			atomic_fetch_add(r->running, 1);
	}
	return NULL;
}

START_TEST(test_snapshot_concurrent_swaps)
{
	struct snapshot_slot slot;
	struct reader readers[READERS];
	atomic_bool stop;
	atomic_uint running;
	struct snapshot *s;

	atomic_init(&stop, false);
	atomic_init(&running, 0);
	ck_assert_int_eq(snapshot_slot_init(&slot, make_config(1)), 0);
	for (int i = 0; i < READERS; i++) {
		readers[i] = (struct reader){ .slot = &slot, .stop = &stop, .running = &running };
		ck_assert_int_eq(pthread_create(&readers[i].thread, NULL, reader_run, &readers[i]),
				 0);
	}
	/* Swap only once every reader is in its loop. */
	while (atomic_load(&running) < READERS)
		sched_yield();
	for (unsigned long gen = 2; gen <= SWAPS + 1; gen++) {
		ck_assert_uint_eq(snapshot_swap(&slot, make_config((long long)gen)), gen);
		/* Let every reader see a few generations, not just the last one. */
		if (gen % 50 == 0)
			sched_yield();
	}
	atomic_store(&stop, true);
	for (int i = 0; i < READERS; i++) {
		ck_assert_int_eq(pthread_join(readers[i].thread, NULL), 0);
		ck_assert_uint_eq(readers[i].errors, 0);
		ck_assert_uint_gt(readers[i].iterations, 0);
	}
	s = snapshot_acquire(&slot);
	ck_assert_uint_eq(s->generation, SWAPS + 1);
	ck_assert_uint_eq(atomic_load(&s->refs), 2);
	snapshot_release(s);
	snapshot_slot_destroy(&slot);
}
END_TEST

static Suite *snapshot_suite(void)
{
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("snapshot");
	TCase *mt = tcase_create("threads");

	tcase_add_test(tc, test_snapshot_generations);
	tcase_add_test(tc, test_snapshot_old_stays_valid);
	suite_add_tcase(s, tc);

	tcase_add_test(mt, test_snapshot_concurrent_swaps);
	tcase_set_timeout(mt, 60);
	suite_add_tcase(s, mt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(snapshot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
