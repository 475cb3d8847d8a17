/* paywalld: the gateway daemon. Arguments, signals and wiring; no logic. */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "admin.h"
#include "httpd.h"
#include "jwks.h"
#include "meter.h"
#include "pipeline.h"
#include "store.h"
#include "log.h"
#include "snapshot.h"
#include "upstream.h"

#define PAYWALLD_VERSION "0.1.0"
/* Each purge also syncs the LMDB store to disk (it runs MDB_NOSYNC), so
 * this bounds what an OS crash can lose; small batches keep each hold on
 * the store's write lock to milliseconds. */
#define MAIN_TEASER_CACHE_ENTRIES 1024
#define MAIN_TEASER_CACHE_BYTES (64 * 1024 * 1024)
#define MAIN_PURGE_EVERY_S 1
#define MAIN_PURGE_BATCH 1000

struct options {
	const char *config;
	const char *ready_file;
	int check;
};

static void main_usage(FILE *out)
{
	fprintf(out,
		"usage: paywalld -c CONFIG [--ready-file FILE]\n"
		"       paywalld --check -c CONFIG\n"
		"\n"
		"  -c, --config FILE   configuration (YAML)\n"
		"  --check             validate the configuration and exit\n"
		"  --ready-file FILE   once listening, write the bound port to FILE\n"
		"  -V, --version       print the version\n"
		"\n"
		"signals: HUP reloads the configuration, TERM/INT drain and stop\n");
}

static int main_parse_args(int argc, char **argv, struct options *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc) {
			o->config = argv[++i];
		} else if (strcmp(a, "--ready-file") == 0 && i + 1 < argc) {
			o->ready_file = argv[++i];
		} else if (strcmp(a, "--check") == 0) {
			o->check = 1;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			printf("paywalld %s\n", PAYWALLD_VERSION);
			exit(0);
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			main_usage(stdout);
			exit(0);
		} else {
			fprintf(stderr, "paywalld: unexpected argument '%s'\n", a);
			return -1;
		}
	}
	if (o->config == NULL) {
		fprintf(stderr, "paywalld: -c CONFIG is required\n");
		return -1;
	}
	return 0;
}

/* Written via a temporary file and rename, so a reader never sees half:
 * the proxy port, then the admin port. */
static int main_write_ready(const char *path, unsigned port, unsigned admin_port)
{
	char tmp[4096];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	if (fprintf(f, "%u\n%u\n", port, admin_port) < 0) {
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

static struct config *main_load_config(const char *path)
{
	struct cfg_errors errs;
	struct config *cfg = NULL;

	cfg_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != 0) {
		cfg_errors_print(&errs, stderr);
		cfg = NULL;
	}
	cfg_errors_free(&errs);
	return cfg;
}

static bool main_same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool main_same_redis(const struct meter_redis_config *a,
			    const struct meter_redis_config *b)
{
	return main_same_str(a->password, b->password) &&
	       main_same_str(a->key_prefix, b->key_prefix) && a->pool_size == b->pool_size &&
	       a->timeout_ms == b->timeout_ms && a->connect_timeout_ms == b->connect_timeout_ms;
}

/* Listener settings are fixed when the socket is opened; say so on reload. */
static void main_warn_restart_only(const struct config *old, const struct config *new)
{
	const struct config_server *a = &old->server, *b = &new->server;

	if (strcmp(a->listen, b->listen) != 0 || a->max_connections != b->max_connections ||
	    a->max_header_bytes != b->max_header_bytes ||
	    a->client_timeout_s != b->client_timeout_s ||
	    old->upstream.pool_size != new->upstream.pool_size)
		log_warn("main", "reload: listen, max_connections, max_header_bytes, "
			 "client_timeout_s and pool_size take effect only after a restart");
	if (old->audit.enabled != new->audit.enabled ||
	    (old->audit.log && new->audit.log && strcmp(old->audit.log, new->audit.log) != 0))
		log_warn("main", "reload: audit log changes take effect only after a restart");
	if (old->meter.enabled != new->meter.enabled ||
	    (old->meter.store && new->meter.store && strcmp(old->meter.store, new->meter.store) != 0) ||
	    !main_same_redis(&old->meter.redis, &new->meter.redis))
		log_warn("main", "reload: a different meter store or redis options take effect "
			 "only after a restart");
}

static void main_reload(struct snapshot_slot *slot, struct metrics *metrics, const char *path)
{
	struct cfg_errors errs;
	struct config *cfg = NULL;
	struct snapshot *cur;
	unsigned long gen;

	cfg_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != 0) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("main", "reload failed, keeping the running config: %s",
				  errs.msg[i]);
		cfg_errors_free(&errs);
		atomic_fetch_add(&metrics->reloads_failed, 1);
		atomic_store(&metrics->last_reload_ok, false);
		return;
	}
	cfg_errors_free(&errs);
	cur = snapshot_acquire(slot);
	main_warn_restart_only(cur->cfg, cfg);
	snapshot_release(cur);
	gen = snapshot_swap(slot, cfg);
	if (gen == 0) {
		log_error("main", "reload failed: out of memory");
		atomic_fetch_add(&metrics->reloads_failed, 1);
		atomic_store(&metrics->last_reload_ok, false);
	} else {
		log_info("main", "reload ok, config generation %lu", gen);
		atomic_fetch_add(&metrics->reloads_ok, 1);
		atomic_store(&metrics->last_reload_ok, true);
		atomic_store(&metrics->config_generation, gen);
	}
}

/* Signals are taken synchronously by the main thread, never in handlers. */
static int main_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -1;
	return pthread_sigmask(SIG_BLOCK, set, NULL) == 0 ? 0 : -1;
}

/* Deletes meter entries too old to matter for any period, a bounded batch at
 * a time, so the store does not grow with readers who never come back. */
static void main_purge_meter(struct snapshot_slot *slot, struct store *store)
{
	struct snapshot *s;
	int64_t age, a2;
	long n;

	if (store == NULL || store->ops->expires_itself)
		return;
	s = snapshot_acquire(slot);
	bool enabled = s->cfg->meter.enabled;
	age = meter_period_max_age(&s->cfg->meter.anonymous.period);
	a2 = meter_period_max_age(&s->cfg->meter.registered.period);
	snapshot_release(s);
	/* A reload that dropped the meter leaves no period: purge nothing. */
	if (!enabled || age <= 0 || a2 <= 0)
		return;
	n = store->ops->purge(store, (int64_t)time(NULL) - (age > a2 ? age : a2), MAIN_PURGE_BATCH);
	if (n < 0)
		log_error("meter", "purge of expired meter entries failed");
	else if (n > 0)
		log_info("meter", "purged %ld expired meter entries", n);
}

/* A store that does not answer at start (Redis started after the gateway)
 * is not fatal, but worth a line; the ping also sets /metrics' store_up. */
static void main_check_store(struct store *store, const char *spec)
{
	char safe[256];

	if (store != NULL && store->ops->ping(store) != 0)
		log_warn("main", "meter store %s does not answer yet: meters follow "
			 "on_store_error until it does", store_spec_redact(spec, safe, sizeof(safe)));
}

static unsigned long long main_log_dropped(void *log)
{
	return log != NULL ? accesslog_dropped(log) : 0;
}

static void main_serve(struct httpd *h, struct snapshot_slot *slot, struct services *svc,
		       const sigset_t *set, const char *path)
{
	for (;;) {
		struct timespec every = { MAIN_PURGE_EVERY_S, 0 };
		int sig = sigtimedwait(set, NULL, &every);
		if (sig < 0) {
			if (errno == EAGAIN)
				main_purge_meter(slot, svc->store);
			continue;
		}
		if (sig == SIGHUP) {
			main_reload(slot, svc->metrics, path);
		} else if (sig == SIGUSR1) {
			if (svc->log != NULL)
				accesslog_reopen(svc->log);
			else
				log_info("main", "SIGUSR1: no audit log to reopen");
		} else {
			struct snapshot *s = snapshot_acquire(slot);
			long drain = (long)s->cfg->server.drain_timeout_ms;
			snapshot_release(s);
			log_info("main", "signal %d: draining (up to %ld ms)", sig, drain);
			httpd_quiesce(h);
			if (!httpd_wait_idle(h, drain))
				log_warn("main", "drain timeout: closing requests still in flight");
			return;
		}
	}
}

int main(int argc, char **argv)
{
	struct snapshot_slot slot;
	struct services svc = { NULL, NULL, NULL, NULL, NULL, NULL };
	struct metrics metrics;
	struct httpd *h = NULL;
	struct admin *admin = NULL;
	struct store_options sopts;
	char err[512];
	struct options o;
	struct config *cfg;
	sigset_t set;
	int rc = 1;

	if (main_parse_args(argc, argv, &o) != 0) {
		main_usage(stderr);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "paywalld: libcurl initialisation failed\n");
		return 1;
	}
	cfg = main_load_config(o.config);
	if (cfg == NULL) {
		curl_global_cleanup();
		return 2;
	}
	if (o.check) {
		printf("%s: ok\n", o.config);
		config_free(cfg);
		curl_global_cleanup();
		return 0;
	}
	if (main_block_signals(&set) != 0) {
		config_free(cfg);
		goto out_curl;
	}
	meter_store_options(&cfg->meter, &sopts);
	if (cfg->meter.enabled &&
	    store_open_with(cfg->meter.store, &sopts, &svc.store, err, sizeof(err)) != 0) {
		char safe[256];
		log_error("main", "meter store %s: %s",
			  store_spec_redact(cfg->meter.store, safe, sizeof(safe)), err);
		config_free(cfg);
		goto out_curl;
	}
	main_check_store(svc.store, cfg->meter.store);
	metrics_init(&metrics);
	svc.metrics = &metrics;
	svc.teasers = tcache_new(MAIN_TEASER_CACHE_ENTRIES, MAIN_TEASER_CACHE_BYTES);
	svc.pool = upstream_pool_new((size_t)cfg->upstream.pool_size);
	if (svc.pool == NULL || snapshot_slot_init(&slot, cfg) != 0) {
		upstream_pool_free(svc.pool);
		if (svc.store != NULL)
			svc.store->ops->close(svc.store);
		goto out_curl;
	}
	if (slot.current->cfg->audit.enabled &&
	    accesslog_open(&slot.current->cfg->audit, &svc.log, err, sizeof(err)) != 0) {
		log_error("main", "audit log: %s", err);
		goto out;
	}
	if ((svc.jwks = jwks_fetcher_start(&slot)) == NULL ||
	    httpd_start(slot.current->cfg, &slot, &svc, &h) != 0 ||
	    admin_start(slot.current->cfg->server.admin_listen, &slot, &metrics, svc.store,
			main_log_dropped, svc.log, &admin) != 0)
		goto out;
	log_info("main", "paywalld %s listening on %s (port %u), upstream %s", PAYWALLD_VERSION,
		 slot.current->cfg->server.listen, httpd_port(h), slot.current->cfg->upstream.url);
	log_info("main", "admin endpoints on %s (port %u)", slot.current->cfg->server.admin_listen,
		 admin_port(admin));
	if (o.ready_file != NULL &&
	    main_write_ready(o.ready_file, httpd_port(h), admin_port(admin)) != 0) {
		log_error("main", "cannot write ready file %s: %s", o.ready_file, strerror(errno));
		goto out;
	}
	main_serve(h, &slot, &svc, &set, o.config);
	rc = 0;
out:
	httpd_stop(h);
	admin_stop(admin);
	accesslog_close(svc.log);
	tcache_free(svc.teasers);
	jwks_fetcher_stop(svc.jwks);
	snapshot_slot_destroy(&slot);
	upstream_pool_free(svc.pool);
	if (svc.store != NULL)
		svc.store->ops->close(svc.store);
	if (rc == 0)
		log_info("main", "stopped");
out_curl:
	curl_global_cleanup();
	return rc;
}
