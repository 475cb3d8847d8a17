/* metrics: counters and a latency histogram, in Prometheus text format. */
#ifndef PAYWALLD_METRICS_H
#define PAYWALLD_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "policy.h"
#include "store.h"
#include "token.h"

#define METRICS_LATENCY_BUCKETS 12

/*
 * Every series is a fixed array of atomics indexed by an enum: no
 * allocation, no lock, bounded cardinality whatever the traffic. Updates
 * are thread-safe; a scrape reads each counter once (a consistent-enough
 * view, as Prometheus expects).
 */
struct metrics {
	atomic_ullong decisions[2][POLICY_R_COUNT];	/* [full|teaser][reason] */
	atomic_ullong status_class[6];				/* 1xx..5xx, [0] other */
	atomic_ullong upstream_le[METRICS_LATENCY_BUCKETS];	/* cumulative at scrape */
	atomic_ullong upstream_count;
	atomic_ullong upstream_sum_us;
	atomic_ullong upstream_errors;
	atomic_ullong token_rejects[TOKEN_REJECT_COUNT];
	atomic_ullong meter_store_errors;
	atomic_ullong teaser_outcomes[4];			/* teaser, generic, 402, banner */
	atomic_ullong teaser_cache_hits;
	atomic_ullong teaser_cache_misses;
	atomic_ullong log_dropped;
	atomic_ullong config_generation;
	atomic_ullong reloads_ok;
	atomic_ullong reloads_failed;
	atomic_bool last_reload_ok;
	atomic_llong store_error_logged;	/* log_due state of the per-request error */
};

void metrics_init(struct metrics *m);
void metrics_count_decision(struct metrics *m, bool full, enum policy_reason r);
void metrics_count_status(struct metrics *m, int status);
/* Time to response headers; ms < 0 counts an upstream failure. */
void metrics_observe_upstream(struct metrics *m, long ms);
void metrics_count_token_reject(struct metrics *m, enum token_reject r);
void metrics_count_rewrite(struct metrics *m, const char *outcome);

/*
 * Appends the Prometheus text exposition of every series to out (bounded
 * by out's max). active_promotions is read live by the caller. 0 / -1.
 */
int metrics_render(struct metrics *m, unsigned long long active_promotions,
		   unsigned long long log_dropped, struct buf *out);
/* Appends the meter store's series (up, round trips, timeouts, connects). */
int metrics_render_store(const struct store_stats *st, struct buf *out);

#endif
