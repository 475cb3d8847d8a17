/*
 * policy: routes, promotions and verified crawlers, and the pure decision
 * function over them. No I/O, no clock: `now` is an argument, which is
 * what makes `paywallctl explain --at` exact.
 */
#ifndef PAYWALLD_POLICY_H
#define PAYWALLD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "cfg.h"
#include "identity.h"
#include "netaddr.h"
#include "rewrite.h"

enum policy_access { POLICY_UNMATCHED, POLICY_FREE, POLICY_METERED, POLICY_SUBSCRIBERS };

struct policy_route {
	char *path;			/* glob, matched case-insensitively */
	enum policy_access access;
	struct cfg_strs entitlements;	/* subscribers routes: any of these */
	struct teaser_config *teaser;	/* this section's layout, or NULL */
};

/* `routes:` first match wins. */
struct policy_routes {
	struct policy_route *v;
	size_t n;
};

enum policy_audience { POLICY_EVERYONE, POLICY_ANONYMOUS, POLICY_REGISTERED };

struct policy_promotion {
	char *id;
	int64_t starts;			/* inclusive, Unix seconds */
	int64_t ends;			/* exclusive */
	struct cfg_strs paths;		/* globs */
	enum policy_audience audience;
	char *banner;			/* resolved path of the banner template, or NULL */
	struct template *banner_tmpl;	/* loaded at config time */
};

/* `promotions:` a list, or {include: FILE} holding the list. */
struct policy_promotions {
	struct policy_promotion *v;
	size_t n;
	char *include;			/* the included file, for reload messages */
};

/* `crawlers:` verified search engine crawlers. */
struct policy_crawlers {
	bool enabled;
	char *ranges_file;
	struct netaddr_cidr *ranges;
	size_t n_ranges;
	struct cfg_strs user_agents;	/* case-insensitive substrings */
};

int policy_routes_parse(struct cfg_ctx *c, yaml_node_t *n, void *routes);
void policy_routes_free(struct policy_routes *r);
int policy_promotions_parse(struct cfg_ctx *c, yaml_node_t *n, void *promotions);
void policy_promotions_free(struct policy_promotions *p);
int policy_crawlers_parse(struct cfg_ctx *c, yaml_node_t *n, void *crawlers);
void policy_crawlers_free(struct policy_crawlers *cr);

/* The first route whose glob matches the normalized path, or NULL. */
const struct policy_route *policy_match_route(const struct policy_routes *r, const char *path);
/* "free", "metered", "subscribers" <-> enum; -1 for anything else. */
int policy_access_parse(const char *s, enum policy_access *out);
const char *policy_access_name(enum policy_access a);
/* The first promotion active at now (starts <= now < ends) for this path
 * and audience, or NULL. */
const struct policy_promotion *policy_active_promotion(const struct policy_promotions *p,
							const char *path, bool registered,
							int64_t now);
/* True only when the user agent names a listed crawler AND the client
 * address lies in a published range: the user agent alone proves nothing. */
bool policy_crawler_verified(const struct policy_crawlers *cr, const char *user_agent,
			     const struct netaddr *client);

enum policy_decision { POLICY_FULL, POLICY_TEASER, POLICY_ASK_METER };
enum policy_reason {
	POLICY_R_NONE,			/* unmatched: not a gated route */
	POLICY_R_FREE, POLICY_R_SUBSCRIBER, POLICY_R_PROMOTION, POLICY_R_CRAWLER,
	POLICY_R_METER, POLICY_R_METER_EXHAUSTED, POLICY_R_SUBSCRIBERS_ONLY,
	POLICY_R_METER_UNAVAILABLE,	/* the store failed: on_store_error decided */
	POLICY_R_COUNT
};

/* Everything the decision depends on. Borrowed pointers. */
struct policy_input {
	enum policy_access access;	/* after the backend's override */
	const struct cfg_strs *route_entitlements;	/* subscribers routes */
	const struct cfg_strs *subscriber_entitlements;	/* metered routes */
	const struct identity *id;
	const struct policy_promotion *promotion;	/* active one, or NULL */
	bool crawler;			/* verified */
};

struct policy_result {
	enum policy_decision decision;
	enum policy_reason reason;
	const struct policy_promotion *promotion;	/* when it granted */
};

/*
 * The decision, in this order: a free route; a subscriber (valid token with
 * one of the route's entitlements, or of subscriber_entitlements on metered
 * routes); an active promotion; a verified crawler; then the meter on
 * metered routes (POLICY_ASK_METER: the caller's one atomic check-and-count
 * turns it into full/meter or teaser/meter-exhausted), and a teaser for
 * subscribers-only routes. Pure: no I/O, no clock, thread-safe.
 */
void policy_decide(const struct policy_input *in, struct policy_result *out);
const char *policy_reason_name(enum policy_reason r);

#endif
