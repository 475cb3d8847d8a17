/* explain: `paywallctl explain`, the decision for a request, without a gateway. */
#include "explain.h"

#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "identity.h"
#include "meter.h"
#include "policy.h"
#include "route.h"
#include "store.h"
#include "timefmt.h"
#include "visitor.h"

/* The CLI may wait longer on Redis than a request would. */
#define EXPLAIN_REDIS_TIMEOUT_MS 2000

struct explain_args {
	const char *config, *path, *token, *ip, *ua, *at;
	long long reads;
	const char *cmd, *user, *visitor;	/* meter show|reset */
};

static int explain_parse_args(int argc, char **argv, struct explain_args *a)
{
	memset(a, 0, sizeof(*a));
	a->ip = "203.0.113.10";
	for (int i = 0; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char **slot = strcmp(k, "-c") == 0 || strcmp(k, "--config") == 0 ? &a->config :
				    strcmp(k, "--path") == 0 ? &a->path :
				    strcmp(k, "--token") == 0 ? &a->token :
				    strcmp(k, "--ip") == 0 ? &a->ip :
				    strcmp(k, "--ua") == 0 ? &a->ua :
				    strcmp(k, "--at") == 0 ? &a->at :
				    strcmp(k, "--user") == 0 ? &a->user :
				    strcmp(k, "--visitor") == 0 ? &a->visitor : NULL;
		if (strcmp(k, "--reads") == 0 && v != NULL) {
			char *end;
			errno = 0;
			a->reads = strtoll(v, &end, 10);
			if (errno != 0 || *end != '\0' || a->reads < 0)
				return -1;
			i++;
		} else if (slot != NULL && v != NULL) {
			*slot = v;
			i++;
		} else if (a->cmd == NULL && k[0] != '-') {
			a->cmd = k;
		} else {
			fprintf(stderr, "paywallctl: unexpected argument '%s'\n", k);
			return -1;
		}
	}
	return a->config != NULL ? 0 : -1;
}

static struct config *explain_load(const char *path)
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

static void explain_reader(const struct config *cfg, const struct explain_args *a, int64_t now,
			   struct identity *id)
{
	char auth[TOKEN_MAX + 16];
	struct header_ref h[1] = { { "Authorization", auth } };

	memset(id, 0, sizeof(*id));
	id->token = IDENTITY_TOKEN_ABSENT;
	if (a->token == NULL)
		return;
	snprintf(auth, sizeof(auth), "Bearer %s", a->token);
	identity_resolve(&cfg->identity, cfg->identity.file_keys, NULL, h, 1, now, id);
}

static void explain_print_reader(const struct identity *id)
{
	if (id->token == IDENTITY_TOKEN_VALID) {
		printf("reader:    registered, sub %s, entitlements:", id->claims.sub);
		for (size_t i = 0; i < id->claims.n_ent; i++)
			printf(" %s", id->claims.ent[i]);
		printf("%s\n", id->claims.n_ent ? "" : " none");
	} else if (id->token == IDENTITY_TOKEN_ABSENT) {
		printf("reader:    anonymous (no token)\n");
	} else {
		printf("reader:    anonymous (token %s: %s)\n",
		       id->token == IDENTITY_TOKEN_EXPIRED ? "expired" : "invalid",
		       token_reject_name(id->reject));
	}
}

/* Every promotion that covers the path, with where --at falls in its window. */
static void explain_print_promotions(const struct config *cfg, const char *path, int64_t now)
{
	int shown = 0;

	for (size_t i = 0; i < cfg->promotions.n; i++) {
		const struct policy_promotion *p = &cfg->promotions.v[i];
		bool covers = false;
		char s[TIMEFMT_RFC3339_MAX], e[TIMEFMT_RFC3339_MAX];
		static const char *const aud[] = { "everyone", "anonymous", "registered" };

		for (size_t j = 0; j < p->paths.n && !covers; j++)
			covers = route_glob_match(p->paths.v[j], path);
		if (!covers || timefmt_format_utc(p->starts, s) != 0 ||
		    timefmt_format_utc(p->ends, e) != 0)
			continue;
		printf("promotion: %s [%s, %s) for %s: %s\n", p->id, s, e, aud[p->audience],
		       now < p->starts ? "upcoming" : now >= p->ends ? "past" : "running");
		shown++;
	}
	if (shown == 0)
		printf("promotion: none covers this path\n");
}

static void explain_meter(const struct config *cfg, const struct identity *id, long long reads,
			  struct policy_result *r)
{
	const struct meter_audience *aud = id->token == IDENTITY_TOKEN_VALID ?
					   &cfg->meter.registered : &cfg->meter.anonymous;

	printf("meter:     %s reader, limit %lld per %s, %lld read so far (--reads)\n",
	       id->token == IDENTITY_TOKEN_VALID ? "registered" : "anonymous", aud->limit,
	       aud->period_spec ? aud->period_spec : "?", reads);
	if (reads < aud->limit) {
		r->decision = POLICY_FULL;
		printf("           a new article counts: %lld remaining after it\n",
		       aud->limit - reads - 1);
	} else {
		r->decision = POLICY_TEASER;
		r->reason = POLICY_R_METER_EXHAUSTED;
		printf("           limit reached: new articles get the teaser; re-reads stay free\n");
	}
}

static int explain_run(const struct config *cfg, const struct explain_args *a, int64_t now)
{
	char norm[ROUTE_TARGET_MAX + 1], path[ROUTE_TARGET_MAX + 1];
	const char *why;
	size_t plen;
	struct identity id;
	struct netaddr client;
	struct policy_input in;
	struct policy_result r;

	if ((why = route_normalize(a->path, norm, sizeof(norm), &plen)) != NULL) {
		printf("path:      %s\ndecision:  400 Bad Request (%s)\n", a->path, why);
		return 0;
	}
	memcpy(path, norm, plen);
	path[plen] = '\0';
	const struct policy_route *rt = policy_match_route(&cfg->routes, path);
	printf("path:      %s (normalized; this is what the backend receives)\n", path);
	printf("route:     %s%s%s\n", rt ? rt->path : "no route matches: passed through untouched",
	       rt ? " -> " : "", rt ? policy_access_name(rt->access) : "");
	explain_reader(cfg, a, now, &id);
	explain_print_reader(&id);
	explain_print_promotions(cfg, path, now);
	if (netaddr_parse(a->ip, &client) != 0) {
		fprintf(stderr, "paywallctl explain: --ip %s is not an address\n", a->ip);
		return 2;
	}
	memset(&in, 0, sizeof(in));
	in.access = rt ? rt->access : POLICY_UNMATCHED;
	in.route_entitlements = rt && rt->entitlements.n ? &rt->entitlements :
				&cfg->identity.subscriber_entitlements;
	in.subscriber_entitlements = &cfg->identity.subscriber_entitlements;
	in.id = &id;
	in.promotion = policy_active_promotion(&cfg->promotions, path,
					       id.token == IDENTITY_TOKEN_VALID, now);
	in.crawler = policy_crawler_verified(&cfg->crawlers, a->ua, &client);
	printf("crawler:   %s\n", in.crawler ? "verified (user agent and address range)" :
	       a->ua ? "not verified" : "no user agent given");
	policy_decide(&in, &r);
	if (r.decision == POLICY_ASK_METER)
		explain_meter(cfg, &id, a->reads, &r);
	printf("decision:  %s, reason %s%s%s\n", r.decision == POLICY_FULL ? "full" : "teaser",
	       policy_reason_name(r.reason), r.promotion ? ", promotion " : "",
	       r.promotion ? r.promotion->id : "");
	return 0;
}

int explain_main(int argc, char **argv)
{
	struct explain_args a;
	struct config *cfg;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if (explain_parse_args(argc, argv, &a) != 0 || a.path == NULL || a.cmd != NULL) {
		fprintf(stderr, "usage: paywallctl explain -c CONFIG --path PATH [--token T] "
			"[--ip ADDR] [--ua UA] [--at RFC3339] [--reads N]\n");
		return 2;
	}
	if (a.at != NULL && timefmt_parse_rfc3339(a.at, &now) != 0) {
		fprintf(stderr, "paywallctl explain: --at needs an RFC 3339 time with offset\n");
		return 2;
	}
	if ((cfg = explain_load(a.config)) == NULL)
		return 2;
	char at[TIMEFMT_RFC3339_MAX];
	if (timefmt_format_utc(now, at) == 0)
		printf("at:        %s\n", at);
	rc = explain_run(cfg, &a, now);
	config_free(cfg);
	return rc;
}

static int explain_reader_key(const struct config *cfg, const struct explain_args *a,
			      struct meter_reader *r)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (a->user != NULL) {
		r->kind = 'u';
		if (EVP_Digest(a->user, strlen(a->user), md, &n, EVP_sha256(), NULL) != 1)
			return -1;
		memcpy(r->id, md, 16);
		return 0;
	}
	r->kind = 'v';
	if (visitor_parse_value(&cfg->visitor, a->visitor, r->id) != 0) {
		fprintf(stderr, "paywallctl meter: the visitor cookie is malformed or not signed "
			"with this config's visitor key\n");
		return -1;
	}
	return 0;
}

static int explain_meter_run(const struct config *cfg, const struct explain_args *a,
			     struct store *st)
{
	const struct meter_audience *aud = a->user ? &cfg->meter.registered : &cfg->meter.anonymous;
	int64_t now = (int64_t)time(NULL), start = meter_window_start(&aud->period, now);
	struct store_entry e[256];
	struct meter_reader r;
	int n;

	if (explain_reader_key(cfg, a, &r) != 0)
		return 1;
	if (strcmp(a->cmd, "reset") == 0) {
		if (st->ops->reset(st, &r) != 0) {
			fprintf(stderr, "paywallctl meter: the meter store failed\n");
			return 1;
		}
		printf("meter reset for this %s\n", a->user ? "user" : "visitor");
		return 0;
	}
	if ((n = st->ops->show(st, &r, start, e, sizeof(e) / sizeof(e[0]))) < 0) {
		fprintf(stderr, "paywallctl meter: the meter store failed\n");
		return 1;
	}
	printf("%d of %lld articles read in the current period (%s)\n", n, aud->limit,
	       aud->period_spec ? aud->period_spec : "?");
	for (int i = 0; i < n; i++) {
		char t[TIMEFMT_RFC3339_MAX];
		if (timefmt_format_utc(e[i].time, t) != 0)
			t[0] = '\0';
		printf("  article ");
		for (int b = 0; b < 8; b++)
			printf("%02x", e[i].article[b]);
		printf("...  read %s\n", t);
	}
	return 0;
}

int explain_meter_main(int argc, char **argv)
{
	struct explain_args a;
	struct config *cfg;
	struct store *st = NULL;
	struct store_options o;
	char err[512];
	int rc = 1;

	if (explain_parse_args(argc, argv, &a) != 0 || a.cmd == NULL ||
	    (strcmp(a.cmd, "show") != 0 && strcmp(a.cmd, "reset") != 0) ||
	    (a.user == NULL) == (a.visitor == NULL)) {
		fprintf(stderr, "usage: paywallctl meter show|reset -c CONFIG "
			"(--user SUB | --visitor COOKIE_VALUE)\n");
		return 2;
	}
	if ((cfg = explain_load(a.config)) == NULL)
		return 2;
	if (!cfg->meter.enabled || strcmp(cfg->meter.store, "memory") == 0) {
		fprintf(stderr, "paywallctl meter: needs an lmdb: or redis:// meter store (a "
			"memory store lives only inside the gateway)\n");
		goto out;
	}
	/* hiredis writes with write(2): a Redis that closed the connection
	 * must be an error, not the end of the process. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		goto out;
	meter_store_options(&cfg->meter, &o);
	/* The CLI waits for a slow Redis rather than fail at the gateway's 50 ms. */
	if (o.redis.timeout_ms < EXPLAIN_REDIS_TIMEOUT_MS)
		o.redis.timeout_ms = EXPLAIN_REDIS_TIMEOUT_MS;
	if (o.redis.connect_timeout_ms < EXPLAIN_REDIS_TIMEOUT_MS)
		o.redis.connect_timeout_ms = EXPLAIN_REDIS_TIMEOUT_MS;
	o.redis.pool_size = 1;
	if (store_open_with(cfg->meter.store, &o, &st, err, sizeof(err)) != 0) {
		char safe[256];
		fprintf(stderr, "paywallctl meter: %s: %s\n",
			store_spec_redact(cfg->meter.store, safe, sizeof(safe)), err);
		goto out;
	}
	rc = explain_meter_run(cfg, &a, st);
	st->ops->close(st);
out:
	config_free(cfg);
	return rc;
}
