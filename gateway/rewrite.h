/*
 * rewrite: what a gated answer becomes when the reader may not have it
 * whole: a teaser (HTML), 402 (anything else), or the generic paywall page
 * when the page cannot be cut safely; and the promotion banner on full
 * pages. Also the `teaser:` config section and its per-route overrides.
 */
#ifndef PAYWALLD_REWRITE_H
#define PAYWALLD_REWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "cfg.h"
#include "selector.h"
#include "teaser.h"
#include "template.h"

/* The `teaser:` section, or a route's override (unset fields inherit). */
struct teaser_config {
	bool present;
	struct selector *container;
	long long keep_paragraphs;	/* -1: unset (overrides) */
	char *marker;
	struct template *tmpl;
	char *template_path;
	struct selector **remove;
	size_t n_remove;
	bool remove_set;
};

int rewrite_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *teaser_config);
/* The same for a route's `teaser:` map: every key optional. */
int rewrite_override_parse(struct cfg_ctx *c, yaml_node_t *n, void *teaser_config_ptr);
void rewrite_config_free(struct teaser_config *t);
void rewrite_override_free(void *teaser_config_ptr);

/* Values placed in the paywall template ({{meter_limit}} ...). */
struct rewrite_values {
	const char *meter_limit, *meter_remaining, *return_url, *promotion, *reason;
};

/* What to send instead of the backend's answer. Owns body. */
struct rewrite_out {
	int status;
	char *body;
	size_t len;
	const char *content_type;
	const char *outcome;		/* "teaser", "generic", "402", "banner" */
};

/*
 * Turns a whole 2xx backend answer (decoded already: identity bytes) into
 * what a reader without access gets. HTML: the teaser under the rules of
 * route over global; if the page cannot be cut safely (no container, not
 * UTF-8, parse trouble, too large): the generic paywall page, status 200.
 * Anything else: 402 with a short body in the same family (JSON or HTML).
 * Never returns the backend's bytes whole. 0, or -1 when out of memory
 * (the caller then answers 500, still without the page).
 */
int rewrite_teaser(const struct teaser_config *global, const struct teaser_config *route,
		   const char *content_type, const char *body, size_t len,
		   const struct rewrite_values *v, struct rewrite_out *out);
/* Injects a promotion's banner at the top of the container of a full HTML
 * page. Returns 0 with out filled, or -1 when it cannot (the caller then
 * sends the page unchanged: it was granted in full anyway). */
int rewrite_banner(const struct teaser_config *global, const struct teaser_config *route,
		   const struct template *banner, const char *content_type, const char *body,
		   size_t len, const struct rewrite_values *v, struct rewrite_out *out);
void rewrite_out_free(struct rewrite_out *out);
/* True for text/html and application/xhtml+xml (parameters ignored). */
bool rewrite_is_html(const char *content_type);

#endif
