/* config: the paywalld configuration schema, loaded from YAML, immutable. */
#ifndef PAYWALLD_CONFIG_H
#define PAYWALLD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <stdatomic.h>

#include "accesslog.h"
#include "cfg.h"
#include "identity.h"
#include "meter.h"
#include "policy.h"
#include "visitor.h"

#define CONFIG_FILE_MAX (1024 * 1024)

struct config_server {
	char *listen;			/* HOST:PORT */
	char *admin_listen;		/* HOST:PORT of /healthz /readyz /metrics */
	struct cfg_cidrs trusted_proxies;
	long long max_connections;
	long long max_header_bytes;	/* request line + headers */
	long long max_body_bytes;	/* request body */
	long long client_timeout_s;	/* idle or incomplete client connection */
	long long drain_timeout_ms;	/* SIGTERM: wait for in-flight requests */
};

struct config_upstream {
	char *url;			/* http(s)://host[:port][/prefix] */
	long long connect_timeout_ms;
	long long timeout_ms;		/* until response headers; then per read */
	long long pool_size;		/* idle keep-alive connections kept */
	bool preserve_host;		/* forward the client's Host header */
};

/* A whole configuration. Immutable once loaded; share it through snapshot. */
struct config {
	atomic_uint refs;
	char *path;
	struct config_server server;
	struct config_upstream upstream;
	struct identity_config identity;
	struct visitor_config visitor;
	struct meter_config meter;
	struct policy_routes routes;
	struct policy_promotions promotions;
	struct policy_crawlers crawlers;
	struct teaser_config teaser;
	struct audit_config audit;
};

/*
 * Loads and validates the file at path. On success returns 0 and *out owns
 * a new config (free with config_free). On failure returns -1, *out is
 * untouched and errs holds every error found ("FILE:LINE:COL: message").
 * Relative paths inside resolve against the file's directory.
 * Thread-safe (no shared state).
 */
int config_load(const char *path, struct config **out, struct cfg_errors *errs);
/* The same from memory; name is used in messages, dir for relative paths. */
int config_load_buffer(const char *name, const char *dir, const char *data, size_t len,
		       struct config **out, struct cfg_errors *errs);
/* Takes another reference (snapshots that share a config). */
struct config *config_ref(struct config *cfg);
/* Drops a reference; the last frees everything. NULL-safe. */
void config_free(struct config *cfg);

#endif
