/* config: the paywalld configuration schema, loaded from YAML, immutable. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define countof(a) (sizeof(a) / sizeof((a)[0]))

static const struct cfg_field config_server_fields[] = {
	{ "listen", CFG_LISTEN, offsetof(struct config_server, listen), false, 0, 0, NULL, NULL },
	{ "admin_listen", CFG_LISTEN, offsetof(struct config_server, admin_listen), false, 0, 0,
	  NULL, NULL },
	{ "trusted_proxies", CFG_CIDRS, offsetof(struct config_server, trusted_proxies),
	  false, 0, 0, NULL, NULL },
	{ "max_connections", CFG_INT, offsetof(struct config_server, max_connections),
	  false, 1, 1000000, NULL, NULL },
	{ "max_header_bytes", CFG_INT, offsetof(struct config_server, max_header_bytes),
	  false, 1024, 1024 * 1024, NULL, NULL },
	{ "max_body_bytes", CFG_INT, offsetof(struct config_server, max_body_bytes),
	  false, 0, 1024LL * 1024 * 1024, NULL, NULL },
	{ "client_timeout_s", CFG_INT, offsetof(struct config_server, client_timeout_s),
	  false, 1, 3600, NULL, NULL },
	{ "drain_timeout_ms", CFG_INT, offsetof(struct config_server, drain_timeout_ms),
	  false, 0, 600000, NULL, NULL },
};

static const struct cfg_field config_upstream_fields[] = {
	{ "url", CFG_URL, offsetof(struct config_upstream, url), true, 0, 0, NULL, NULL },
	{ "connect_timeout_ms", CFG_INT, offsetof(struct config_upstream, connect_timeout_ms),
	  false, 1, 600000, NULL, NULL },
	{ "timeout_ms", CFG_INT, offsetof(struct config_upstream, timeout_ms),
	  false, 1, 3600000, NULL, NULL },
	{ "pool_size", CFG_INT, offsetof(struct config_upstream, pool_size),
	  false, 0, 100000, NULL, NULL },
	{ "preserve_host", CFG_BOOL, offsetof(struct config_upstream, preserve_host),
	  false, 0, 0, NULL, NULL },
};

static int config_parse_server(struct cfg_ctx *c, yaml_node_t *n, void *server)
{
	return cfg_parse_map(c, n, config_server_fields, countof(config_server_fields), server);
}

static void config_free_server(void *server)
{
	cfg_free_fields(config_server_fields, countof(config_server_fields), server);
}

static int config_parse_upstream(struct cfg_ctx *c, yaml_node_t *n, void *upstream)
{
	return cfg_parse_map(c, n, config_upstream_fields, countof(config_upstream_fields),
			     upstream);
}

static void config_free_upstream(void *upstream)
{
	cfg_free_fields(config_upstream_fields, countof(config_upstream_fields), upstream);
}

/* Adapters: each module's free function takes its own struct type. */
static void config_free_identity(void *v) { identity_config_free(v); }
static void config_free_visitor(void *v) { visitor_config_free(v); }
static void config_free_meter(void *v) { meter_config_free(v); }
static void config_free_routes(void *v) { policy_routes_free(v); }
static void config_free_promotions(void *v) { policy_promotions_free(v); }
static void config_free_crawlers(void *v) { policy_crawlers_free(v); }
static void config_free_teaser(void *v) { rewrite_config_free(v); }
static void config_free_audit(void *v) { audit_config_free(v); }

/*
 * The top-level sections: one line per feature, pointing at its own
 * module's parser and the part of struct config it fills.
 */
struct config_section {
	const char *name;
	bool required;
	size_t offset;
	int (*parse)(struct cfg_ctx *c, yaml_node_t *n, void *section);
	void (*free)(void *section);
};

#define SECTION(name, req, field, parse, free) \
	{ name, req, offsetof(struct config, field), parse, free }
static const struct config_section config_sections[] = {
	SECTION("server", false, server, config_parse_server, config_free_server),
	SECTION("upstream", true, upstream, config_parse_upstream, config_free_upstream),
	SECTION("identity", false, identity, identity_config_parse, config_free_identity),
	SECTION("visitor", false, visitor, visitor_config_parse, config_free_visitor),
	SECTION("meter", false, meter, meter_config_parse, config_free_meter),
	SECTION("routes", false, routes, policy_routes_parse, config_free_routes),
	SECTION("promotions", false, promotions, policy_promotions_parse, config_free_promotions),
	SECTION("crawlers", false, crawlers, policy_crawlers_parse, config_free_crawlers),
	SECTION("teaser", false, teaser, rewrite_config_parse, config_free_teaser),
	SECTION("audit", false, audit, audit_config_parse, config_free_audit),
};
#undef SECTION

static int config_set_defaults(struct config *cfg)
{
	cfg->server.listen = strdup("127.0.0.1:8080");
	cfg->server.admin_listen = strdup("127.0.0.1:8081");
	cfg->server.max_connections = 4096;
	cfg->server.max_header_bytes = 16 * 1024;
	cfg->server.max_body_bytes = 16 * 1024 * 1024;
	cfg->server.client_timeout_s = 30;
	cfg->server.drain_timeout_ms = 10000;
	cfg->upstream.connect_timeout_ms = 1000;
	cfg->upstream.timeout_ms = 10000;
	cfg->upstream.pool_size = 256;
	cfg->upstream.preserve_host = false;
	return cfg->server.listen != NULL && cfg->server.admin_listen != NULL ? 0 : -1;
}

struct config *config_ref(struct config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void config_free(struct config *cfg)
{
	if (cfg == NULL || atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	for (size_t i = 0; i < countof(config_sections); i++)
		config_sections[i].free((char *)cfg + config_sections[i].offset);
	free(cfg->path);
	free(cfg);
}

static const struct config_section *config_find_section(const char *name)
{
	for (size_t i = 0; i < countof(config_sections); i++)
		if (strcmp(config_sections[i].name, name) == 0)
			return &config_sections[i];
	return NULL;
}

/* Rules that span sections, reported at the section that breaks them. */
static int config_check_across(struct cfg_ctx *c, struct config *cfg,
			       yaml_node_t *const nodes[])
{
	int rc = 0;
	bool metered = false;

	for (size_t i = 0; i < cfg->routes.n; i++)
		metered |= cfg->routes.v[i].access == POLICY_METERED;
	if (metered && !cfg->meter.enabled) {
		cfg_error(c, nodes[5], "routes: metered routes need a meter section");
		rc = -1;
	}
	if (cfg->meter.enabled && !cfg->visitor.enabled) {
		cfg_error(c, nodes[4], "meter: anonymous readers are metered by the signed visitor "
			  "cookie: add a visitor section");
		rc = -1;
	}
	return rc;
}

static int config_parse_root(struct cfg_ctx *c, yaml_node_t *root, struct config *cfg)
{
	bool seen[countof(config_sections)] = { false };
	yaml_node_t *nodes[countof(config_sections)] = { NULL };
	yaml_node_pair_t *pair;
	int rc = 0;

	if (root == NULL || root->type != YAML_MAPPING_NODE) {
		cfg_error(c, root, "expected a mapping of sections (server, upstream, ...)");
		return -1;
	}
	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		const char *name = cfg_scalar(k);
		const struct config_section *s = name ? config_find_section(name) : NULL;

		if (s == NULL) {
			cfg_error(c, k, "unknown section '%s'", name ? name : "(not a string)");
			rc = -1;
			continue;
		}
		if (seen[s - config_sections]) {
			cfg_error(c, k, "duplicate section '%s'", name);
			rc = -1;
			continue;
		}
		seen[s - config_sections] = true;
		nodes[s - config_sections] = k;
		if (s->parse(c, v, (char *)cfg + s->offset) != 0)
			rc = -1;
	}
	if (rc == 0 && config_check_across(c, cfg, nodes) != 0)
		rc = -1;
	for (size_t i = 0; i < countof(config_sections); i++) {
		if (config_sections[i].required && !seen[i]) {
			cfg_error(c, root, "missing required section '%s'", config_sections[i].name);
			rc = -1;
		}
	}
	return rc;
}

/* Reports a libyaml syntax error at its own position. */
static void config_yaml_error(struct cfg_ctx *c, const yaml_parser_t *p)
{
	yaml_node_t at;

	memset(&at, 0, sizeof(at));
	at.start_mark = p->problem_mark;
	if (p->context != NULL)
		cfg_error(c, &at, "YAML syntax error: %s %s", p->problem ? p->problem : "",
			  p->context);
	else
		cfg_error(c, &at, "YAML syntax error: %s", p->problem ? p->problem : "unknown");
}

static int config_parse_document(struct cfg_ctx *c, yaml_parser_t *p, struct config *cfg)
{
	yaml_document_t doc, extra;
	int rc = -1;

	if (!yaml_parser_load(p, &doc)) {
		config_yaml_error(c, p);
		return -1;
	}
	c->doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL) {
		cfg_error(c, NULL, "empty configuration");
		goto out;
	}
	/* A second document would be silently ignored: refuse it instead. */
	if (!yaml_parser_load(p, &extra)) {
		config_yaml_error(c, p);
		goto out;
	}
	if (yaml_document_get_root_node(&extra) != NULL) {
		cfg_error(c, yaml_document_get_root_node(&extra),
			  "more than one YAML document in the file");
		yaml_document_delete(&extra);
		goto out;
	}
	yaml_document_delete(&extra);
	rc = config_parse_root(c, root, cfg);
out:
	c->doc = NULL;
	yaml_document_delete(&doc);
	return rc;
}

int config_load_buffer(const char *name, const char *dir, const char *data, size_t len,
		       struct config **out, struct cfg_errors *errs)
{
	struct cfg_ctx c = { name, dir, NULL, errs };
	struct config *cfg;
	yaml_parser_t p;
	int rc;

	cfg = calloc(1, sizeof(*cfg));
	if (cfg != NULL)
		atomic_init(&cfg->refs, 1);
	if (cfg == NULL || config_set_defaults(cfg) != 0 || (cfg->path = strdup(name)) == NULL) {
		cfg_error(&c, NULL, "out of memory");
		config_free(cfg);
		return -1;
	}
	if (!yaml_parser_initialize(&p)) {
		cfg_error(&c, NULL, "out of memory");
		config_free(cfg);
		return -1;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	rc = config_parse_document(&c, &p, cfg);
	yaml_parser_delete(&p);
	if (rc != 0 || errs->n > 0 || errs->dropped > 0) {
		config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

static int config_read_file(const char *path, char **data, size_t *len, char *err,
			    size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	/* O_NONBLOCK: a FIFO named by mistake must not hang the check. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX) {
		snprintf(err, errlen, "not a regular file of at most %d bytes", CONFIG_FILE_MAX);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "cannot read: %s", r < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*len = got;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

int config_load(const char *path, struct config **out, struct cfg_errors *errs)
{
	char err[256], *data = NULL, *dir = NULL, *slash;
	size_t len;
	int rc;

	if (config_read_file(path, &data, &len, err, sizeof(err)) != 0) {
		struct cfg_ctx c = { path, NULL, NULL, errs };
		cfg_error(&c, NULL, "%s", err);
		return -1;
	}
	dir = strdup(path);
	if (dir == NULL) {
		free(data);
		return -1;
	}
	slash = strrchr(dir, '/');
	if (slash == NULL)
		dir[0] = '\0';
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	rc = config_load_buffer(path, dir[0] ? dir : ".", data, len, out, errs);
	free(dir);
	free(data);
	return rc;
}
