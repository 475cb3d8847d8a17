/* metrics: counters and a latency histogram, in Prometheus text format. */
#include "metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

/* Upper bounds in milliseconds; the last bucket is +Inf. */
static const long metrics_bounds_ms[METRICS_LATENCY_BUCKETS - 1] = {
	1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000,
};
static const char *const metrics_rewrite_names[4] = { "teaser", "generic", "402", "banner" };

void metrics_init(struct metrics *m)
{
	memset(m, 0, sizeof(*m));
	atomic_store(&m->last_reload_ok, true);
	atomic_store(&m->config_generation, 1);
	atomic_store(&m->store_error_logged, (long long)(INT64_MIN / 2));
}

void metrics_count_decision(struct metrics *m, bool full, enum policy_reason r)
{
	if ((unsigned)r < POLICY_R_COUNT)
		atomic_fetch_add(&m->decisions[full ? 0 : 1][r], 1);
}

void metrics_count_status(struct metrics *m, int status)
{
	int c = status / 100;

	atomic_fetch_add(&m->status_class[c >= 1 && c <= 5 ? c : 0], 1);
}

void metrics_observe_upstream(struct metrics *m, long ms)
{
	size_t b = 0;

	if (ms < 0) {
		atomic_fetch_add(&m->upstream_errors, 1);
		return;
	}
	while (b < METRICS_LATENCY_BUCKETS - 1 && ms > metrics_bounds_ms[b])
		b++;
	atomic_fetch_add(&m->upstream_le[b], 1);
	atomic_fetch_add(&m->upstream_count, 1);
	atomic_fetch_add(&m->upstream_sum_us, (unsigned long long)ms * 1000);
}

void metrics_count_token_reject(struct metrics *m, enum token_reject r)
{
	if ((unsigned)r < TOKEN_REJECT_COUNT)
		atomic_fetch_add(&m->token_rejects[r], 1);
}

void metrics_count_rewrite(struct metrics *m, const char *outcome)
{
	for (size_t i = 0; outcome != NULL && i < 4; i++)
		if (strcmp(outcome, metrics_rewrite_names[i]) == 0)
			atomic_fetch_add(&m->teaser_outcomes[i], 1);
}

static int metrics_printf(struct buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int metrics_printf(struct buf *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return buf_append(out, line, (size_t)n);
}

static int metrics_render_decisions(struct metrics *m, struct buf *out)
{
	int rc = metrics_printf(out, "# HELP paywalld_requests_total Gated requests by decision "
				"and reason.\n# TYPE paywalld_requests_total counter\n");

	for (int d = 0; d < 2; d++)
		for (int r = POLICY_R_FREE; r < POLICY_R_COUNT; r++)
			rc |= metrics_printf(out, "paywalld_requests_total{decision=\"%s\",reason=\"%s\"} %llu\n",
					     d == 0 ? "full" : "teaser",
					     policy_reason_name((enum policy_reason)r),
					     atomic_load(&m->decisions[d][r]));
	rc |= metrics_printf(out, "# HELP paywalld_responses_total Responses by status class.\n"
			     "# TYPE paywalld_responses_total counter\n");
	for (int c = 1; c <= 5; c++)
		rc |= metrics_printf(out, "paywalld_responses_total{class=\"%dxx\"} %llu\n", c,
				     atomic_load(&m->status_class[c]));
	return rc;
}

static int metrics_render_upstream(struct metrics *m, struct buf *out)
{
	unsigned long long cum = 0;
	int rc = metrics_printf(out, "# HELP paywalld_upstream_seconds Time to the backend's "
				"response headers.\n# TYPE paywalld_upstream_seconds histogram\n");

	for (size_t b = 0; b < METRICS_LATENCY_BUCKETS; b++) {
		cum += atomic_load(&m->upstream_le[b]);
		if (b < METRICS_LATENCY_BUCKETS - 1)
			rc |= metrics_printf(out, "paywalld_upstream_seconds_bucket{le=\"%g\"} %llu\n",
					     (double)metrics_bounds_ms[b] / 1000.0, cum);
		else
			rc |= metrics_printf(out, "paywalld_upstream_seconds_bucket{le=\"+Inf\"} %llu\n",
					     cum);
	}
	rc |= metrics_printf(out, "paywalld_upstream_seconds_sum %.6f\n",
			     (double)atomic_load(&m->upstream_sum_us) / 1e6);
	rc |= metrics_printf(out, "paywalld_upstream_seconds_count %llu\n",
			     atomic_load(&m->upstream_count));
	rc |= metrics_printf(out, "# HELP paywalld_upstream_errors_total Backend unreachable or "
			     "too slow.\n# TYPE paywalld_upstream_errors_total counter\n"
			     "paywalld_upstream_errors_total %llu\n",
			     atomic_load(&m->upstream_errors));
	return rc;
}

static int metrics_render_rest(struct metrics *m, unsigned long long promos,
			       unsigned long long dropped, struct buf *out)
{
	int rc = metrics_printf(out, "# HELP paywalld_token_rejections_total Presented tokens "
				"refused, by reason.\n# TYPE paywalld_token_rejections_total counter\n");

	for (int r = 1; r < TOKEN_REJECT_COUNT; r++)
		rc |= metrics_printf(out, "paywalld_token_rejections_total{reason=\"%s\"} %llu\n",
				     token_reject_name((enum token_reject)r),
				     atomic_load(&m->token_rejects[r]));
	rc |= metrics_printf(out, "# TYPE paywalld_meter_store_errors_total counter\n"
			     "paywalld_meter_store_errors_total %llu\n",
			     atomic_load(&m->meter_store_errors));
	rc |= metrics_printf(out, "# HELP paywalld_rewrites_total Answers rewritten for readers "
			     "without access.\n# TYPE paywalld_rewrites_total counter\n");
	for (int i = 0; i < 4; i++)
		rc |= metrics_printf(out, "paywalld_rewrites_total{outcome=\"%s\"} %llu\n",
				     metrics_rewrite_names[i], atomic_load(&m->teaser_outcomes[i]));
	rc |= metrics_printf(out, "# TYPE paywalld_teaser_cache_total counter\n"
			     "paywalld_teaser_cache_total{result=\"hit\"} %llu\n"
			     "paywalld_teaser_cache_total{result=\"miss\"} %llu\n",
			     atomic_load(&m->teaser_cache_hits), atomic_load(&m->teaser_cache_misses));
	rc |= metrics_printf(out, "# TYPE paywalld_log_lines_dropped_total counter\n"
			     "paywalld_log_lines_dropped_total %llu\n", dropped);
	rc |= metrics_printf(out, "# TYPE paywalld_config_generation gauge\n"
			     "paywalld_config_generation %llu\n",
			     atomic_load(&m->config_generation));
	rc |= metrics_printf(out, "# TYPE paywalld_config_last_reload_ok gauge\n"
			     "paywalld_config_last_reload_ok %d\n",
			     atomic_load(&m->last_reload_ok) ? 1 : 0);
	rc |= metrics_printf(out, "# TYPE paywalld_config_reloads_total counter\n"
			     "paywalld_config_reloads_total{result=\"ok\"} %llu\n"
			     "paywalld_config_reloads_total{result=\"failed\"} %llu\n",
			     atomic_load(&m->reloads_ok), atomic_load(&m->reloads_failed));
	rc |= metrics_printf(out, "# TYPE paywalld_active_promotions gauge\n"
			     "paywalld_active_promotions %llu\n", promos);
	return rc;
}

int metrics_render(struct metrics *m, unsigned long long active_promotions,
		   unsigned long long log_dropped, struct buf *out)
{
	int rc = metrics_render_decisions(m, out);

	rc |= metrics_render_upstream(m, out);
	rc |= metrics_render_rest(m, active_promotions, log_dropped, out);
	return rc != 0 ? -1 : 0;
}

int metrics_render_store(const struct store_stats *st, struct buf *out)
{
	int rc = metrics_printf(out, "# HELP paywalld_meter_store_up Whether the meter store "
				"answered its last operation.\n"
				"# TYPE paywalld_meter_store_up gauge\n"
				"paywalld_meter_store_up %d\n", st->up ? 1 : 0);

	rc |= metrics_printf(out, "# HELP paywalld_meter_store_round_trips_total Commands sent "
			     "to a networked store (Redis).\n"
			     "# TYPE paywalld_meter_store_round_trips_total counter\n"
			     "paywalld_meter_store_round_trips_total %llu\n", st->round_trips);
	rc |= metrics_printf(out, "# TYPE paywalld_meter_store_timeouts_total counter\n"
			     "paywalld_meter_store_timeouts_total %llu\n", st->timeouts);
	rc |= metrics_printf(out, "# TYPE paywalld_meter_store_connects_total counter\n"
			     "paywalld_meter_store_connects_total{result=\"ok\"} %llu\n"
			     "paywalld_meter_store_connects_total{result=\"failed\"} %llu\n",
			     st->reconnects, st->connect_failures);
	return rc;
}
