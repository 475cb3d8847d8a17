/*
 * policy: routes, promotions and verified crawlers, and the pure decision
 * function over them.
 */
#include "policy.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "route.h"
#include "timefmt.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))
#define POLICY_LIST_MAX 1000		/* routes, promotions */
#define POLICY_RANGES_MAX 100000

/* ---- config: routes ---- */

static const char *const policy_access_names[] = { "unmatched", "free", "metered",
						   "subscribers" };

int policy_access_parse(const char *s, enum policy_access *out)
{
	for (size_t i = 1; s != NULL && i < countof(policy_access_names); i++) {
		if (strcmp(s, policy_access_names[i]) == 0) {
			*out = (enum policy_access)i;
			return 0;
		}
	}
	return -1;
}

const char *policy_access_name(enum policy_access a)
{
	return (unsigned)a < countof(policy_access_names) ? policy_access_names[a] : "?";
}

static int policy_parse_access(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	if (policy_access_parse(cfg_scalar(n), value) != 0) {
		cfg_error(c, n, "access: expected free, metered or subscribers");
		return -1;
	}
	return 0;
}

static int policy_parse_pattern(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);
	char **out = value;

	if (s == NULL || !route_pattern_is_valid(s)) {
		cfg_error(c, n, "path: expected a pattern like /article/* in normalized form "
			  "(starts with /, printable ASCII, no ?, %%, ;, backslash, //, dot segments)");
		return -1;
	}
	free(*out);
	*out = strdup(s);
	return *out != NULL ? 0 : -1;
}

static void policy_free_string(void *value)
{
	free(*(char **)value);
	*(char **)value = NULL;
}

#define RT(f) offsetof(struct policy_route, f)
static const struct cfg_field policy_route_fields[] = {
	{ "path", CFG_CUSTOM, RT(path), true, 0, 0, policy_parse_pattern, policy_free_string },
	{ "access", CFG_CUSTOM, RT(access), true, 0, 0, policy_parse_access, NULL },
	{ "entitlements", CFG_STRS, RT(entitlements), false, 0, 0, NULL, NULL },
	{ "teaser", CFG_CUSTOM, RT(teaser), false, 0, 0, rewrite_override_parse,
	  rewrite_override_free },
};
#undef RT

/* Parses each item of a sequence node into an array of `size`-byte structs. */
static int policy_parse_list(struct cfg_ctx *c, yaml_node_t *n, const char *what,
			     int (*item)(struct cfg_ctx *, yaml_node_t *, void *), size_t size,
			     void **out, size_t *count)
{
	size_t cap, i = 0;
	char *v;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "%s: expected a list", what);
		return -1;
	}
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cap > POLICY_LIST_MAX) {
		cfg_error(c, n, "%s: more than %d entries", what, POLICY_LIST_MAX);
		return -1;
	}
	v = calloc(cap ? cap : 1, size);
	if (v == NULL) {
		cfg_error(c, n, "%s: out of memory", what);
		return -1;
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++, i++) {
		if (item(c, yaml_document_get_node(c->doc, *it), v + i * size) != 0)
			rc = -1;
	}
	*out = v;
	*count = cap;
	return rc;
}

static int policy_parse_route(struct cfg_ctx *c, yaml_node_t *n, void *route)
{
	return cfg_parse_map(c, n, policy_route_fields, countof(policy_route_fields), route);
}

int policy_routes_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_routes *r = value;
	void *v = NULL;

	int rc = policy_parse_list(c, n, "routes", policy_parse_route, sizeof(struct policy_route),
				   &v, &r->n);
	r->v = v;
	return rc;
}

void policy_routes_free(struct policy_routes *r)
{
	for (size_t i = 0; r->v != NULL && i < r->n; i++)
		cfg_free_fields(policy_route_fields, countof(policy_route_fields), &r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* ---- config: promotions ---- */

static int policy_parse_time(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	const char *s = cfg_scalar(n);

	if (s == NULL || timefmt_parse_rfc3339(s, value) != 0) {
		cfg_error(c, n, "expected an RFC 3339 time with offset, like "
			  "2022-09-01T00:00:00+09:00");
		return -1;
	}
	return 0;
}

static int policy_parse_audience(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	static const char *const names[] = { "everyone", "anonymous", "registered" };
	const char *s = cfg_scalar(n);

	for (size_t i = 0; s != NULL && i < countof(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*(enum policy_audience *)value = (enum policy_audience)i;
			return 0;
		}
	}
	cfg_error(c, n, "audience: expected everyone, anonymous or registered");
	return -1;
}

static int policy_parse_paths(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	static const struct cfg_field list = { "paths", CFG_STRS, 0, false, 0, 0, NULL, NULL };
	struct cfg_strs *s = value;

	if (cfg_parse_value(c, n, &list, s) != 0)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		if (!route_pattern_is_valid(s->v[i])) {
			cfg_error(c, n, "paths: '%s' is not a pattern like /article/*", s->v[i]);
			return -1;
		}
	}
	if (s->n == 0) {
		cfg_error(c, n, "paths: at least one pattern is needed");
		return -1;
	}
	return 0;
}

/* The banner is loaded now, not at the first request of the promotion. */
static int policy_parse_banner(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_promotion *p = (struct policy_promotion *)
		((char *)value - offsetof(struct policy_promotion, banner));
	const char *s = cfg_scalar(n);
	char err[512], *path;

	if (s == NULL || s[0] == '\0' || (path = cfg_resolve_path(c->dir, s)) == NULL) {
		cfg_error(c, n, "banner: expected a template file path");
		return -1;
	}
	free(p->banner);
	template_free(p->banner_tmpl);
	p->banner_tmpl = NULL;
	p->banner = path;
	if (template_load(path, &p->banner_tmpl, err, sizeof(err)) != 0) {
		cfg_error(c, n, "banner: %s", err);
		return -1;
	}
	return 0;
}

static void policy_free_banner(void *value)
{
	struct policy_promotion *p = (struct policy_promotion *)
		((char *)value - offsetof(struct policy_promotion, banner));

	free(p->banner);
	template_free(p->banner_tmpl);
	p->banner = NULL;
	p->banner_tmpl = NULL;
}

static void policy_free_strs(void *value)
{
	cfg_strs_free(value);
}

#define PR(f) offsetof(struct policy_promotion, f)
static const struct cfg_field policy_promotion_fields[] = {
	{ "id", CFG_STR, PR(id), true, 0, 0, NULL, NULL },
	{ "starts", CFG_CUSTOM, PR(starts), true, 0, 0, policy_parse_time, NULL },
	{ "ends", CFG_CUSTOM, PR(ends), true, 0, 0, policy_parse_time, NULL },
	{ "paths", CFG_CUSTOM, PR(paths), true, 0, 0, policy_parse_paths, policy_free_strs },
	{ "audience", CFG_CUSTOM, PR(audience), false, 0, 0, policy_parse_audience, NULL },
	{ "banner", CFG_CUSTOM, PR(banner), false, 0, 0, policy_parse_banner, policy_free_banner },
};
#undef PR

static int policy_parse_promotion(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_promotion *p = value;

	if (cfg_parse_map(c, n, policy_promotion_fields, countof(policy_promotion_fields), p) != 0)
		return -1;
	if (p->ends <= p->starts) {
		cfg_error(c, n, "promotion %s: ends must be after starts", p->id);
		return -1;
	}
	return 0;
}

static int policy_check_unique_ids(struct cfg_ctx *c, yaml_node_t *n,
				   const struct policy_promotions *p)
{
	for (size_t i = 0; i < p->n; i++) {
		for (size_t j = 0; j < i; j++) {
			if (p->v[i].id && p->v[j].id && strcmp(p->v[i].id, p->v[j].id) == 0) {
				cfg_error(c, n, "promotions: id '%s' is used twice", p->v[i].id);
				return -1;
			}
		}
	}
	return 0;
}

static int policy_parse_promotion_list(struct cfg_ctx *c, yaml_node_t *n,
				       struct policy_promotions *p)
{
	void *v = NULL;
	int rc = policy_parse_list(c, n, "promotions", policy_parse_promotion,
				   sizeof(struct policy_promotion), &v, &p->n);

	p->v = v;
	if (rc == 0)
		rc = policy_check_unique_ids(c, n, p);
	return rc;
}

#define CONFIG_INCLUDE_MAX (1024 * 1024)

/* Like the main config: a regular file of bounded size, opened without
 * blocking, so a FIFO or a device named by mistake cannot hang a reload. */
static FILE *policy_open_include(const char *path)
{
	struct stat st;
	FILE *f;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_INCLUDE_MAX ||
	    (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return NULL;
	}
	return f;
}

/* `promotions: {include: FILE}`: editors may own that file alone. Errors in
 * it are reported with its own name, line and column. */
static int policy_parse_include(struct cfg_ctx *c, yaml_node_t *inc, struct policy_promotions *p)
{
	const char *name = cfg_scalar(inc);
	struct cfg_ctx sub = { NULL, NULL, NULL, c->errs };
	yaml_parser_t parser;
	yaml_document_t doc;
	char *path, *dir, *slash;
	FILE *f = NULL;
	int rc = -1;

	if (name == NULL || (path = cfg_resolve_path(c->dir, name)) == NULL) {
		cfg_error(c, inc, "include: expected a file path");
		return -1;
	}
	if ((dir = strdup(path)) == NULL || (f = policy_open_include(path)) == NULL) {
		cfg_error(c, inc, "include: cannot open %s (a regular file of at most %d bytes)",
			  path, CONFIG_INCLUDE_MAX);
		goto out;
	}
	slash = strrchr(dir, '/');
	if (slash != NULL)
		slash[slash == dir ? 1 : 0] = '\0';
	sub.file = path;
	sub.dir = slash != NULL ? dir : ".";
	if (!yaml_parser_initialize(&parser))
		goto out;
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_node_t at;
		memset(&at, 0, sizeof(at));
		at.start_mark = parser.problem_mark;
		cfg_error(&sub, &at, "YAML syntax error: %s", parser.problem ? parser.problem : "");
		yaml_parser_delete(&parser);
		goto out;
	}
	sub.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		cfg_error(&sub, NULL, "empty promotions file");
	else
		rc = policy_parse_promotion_list(&sub, root, p);
	yaml_document_delete(&doc);
	/* A second document would be silently ignored: refuse it, as config.c does. */
	if (rc == 0 && yaml_parser_load(&parser, &doc)) {
		if (yaml_document_get_root_node(&doc) != NULL) {
			cfg_error(&sub, yaml_document_get_root_node(&doc),
				  "more than one YAML document in the file");
			rc = -1;
		}
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
	if (rc == 0 && (p->include = strdup(path)) == NULL)
		rc = -1;
out:
	if (f != NULL)
		fclose(f);
	free(dir);
	free(path);
	return rc;
}

int policy_promotions_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_promotions *p = value;

	if (n->type == YAML_MAPPING_NODE) {
		yaml_node_pair_t *pair = n->data.mapping.pairs.start;
		const char *key = pair < n->data.mapping.pairs.top ?
				  cfg_scalar(yaml_document_get_node(c->doc, pair->key)) : NULL;
		if (n->data.mapping.pairs.top - pair != 1 || key == NULL ||
		    strcmp(key, "include") != 0) {
			cfg_error(c, n, "promotions: expected a list, or {include: FILE}");
			return -1;
		}
		return policy_parse_include(c, yaml_document_get_node(c->doc, pair->value), p);
	}
	return policy_parse_promotion_list(c, n, p);
}

void policy_promotions_free(struct policy_promotions *p)
{
	for (size_t i = 0; p->v != NULL && i < p->n; i++)
		cfg_free_fields(policy_promotion_fields, countof(policy_promotion_fields), &p->v[i]);
	free(p->v);
	free(p->include);
	memset(p, 0, sizeof(*p));
}

/* ---- config: crawlers ---- */

/* Google's published format: {"prefixes":[{"ipv4Prefix":"66.249.64.0/27"},
 * {"ipv6Prefix":"2001:4860:4801:10::/64"}, ...]}. */
static int policy_load_ranges(const char *path, struct policy_crawlers *cr, char *err,
			      size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr), *pfx, *e;
	size_t i;

	if (root == NULL) {
		snprintf(err, errlen, "%s: %s (line %d)", path, jerr.text, jerr.line);
		return -1;
	}
	pfx = json_object_get(root, "prefixes");
	if (!json_is_array(pfx) || json_array_size(pfx) > POLICY_RANGES_MAX ||
	    (cr->ranges = calloc(json_array_size(pfx) + 1, sizeof(*cr->ranges))) == NULL) {
		snprintf(err, errlen, "%s: expected {\"prefixes\": [...]} of at most %d ranges", path,
			 POLICY_RANGES_MAX);
		json_decref(root);
		return -1;
	}
	json_array_foreach(pfx, i, e) {
		const char *s = json_string_value(json_object_get(e, "ipv4Prefix"));
		if (s == NULL)
			s = json_string_value(json_object_get(e, "ipv6Prefix"));
		if (s == NULL || netaddr_parse_cidr(s, &cr->ranges[cr->n_ranges]) != 0) {
			snprintf(err, errlen, "%s: prefix %zu is not an ipv4Prefix or ipv6Prefix range",
				 path, i + 1);
			json_decref(root);
			return -1;
		}
		cr->n_ranges++;
	}
	json_decref(root);
	return 0;
}

static int policy_parse_ranges_file(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_crawlers *cr = (struct policy_crawlers *)
		((char *)value - offsetof(struct policy_crawlers, ranges_file));
	const char *s = cfg_scalar(n);
	char err[512];

	if (s == NULL || s[0] == '\0' || (cr->ranges_file = cfg_resolve_path(c->dir, s)) == NULL) {
		cfg_error(c, n, "ranges_file: expected a file path");
		return -1;
	}
	if (policy_load_ranges(cr->ranges_file, cr, err, sizeof(err)) != 0) {
		cfg_error(c, n, "ranges_file: %s", err);
		return -1;
	}
	return 0;
}

static void policy_free_ranges_file(void *value)
{
	struct policy_crawlers *cr = (struct policy_crawlers *)
		((char *)value - offsetof(struct policy_crawlers, ranges_file));

	free(cr->ranges_file);
	free(cr->ranges);
	cr->ranges_file = NULL;
	cr->ranges = NULL;
	cr->n_ranges = 0;
}

#define CR(f) offsetof(struct policy_crawlers, f)
static const struct cfg_field policy_crawler_fields[] = {
	{ "ranges_file", CFG_CUSTOM, CR(ranges_file), true, 0, 0, policy_parse_ranges_file,
	  policy_free_ranges_file },
	{ "user_agents", CFG_STRS, CR(user_agents), true, 0, 0, NULL, NULL },
};
#undef CR

int policy_crawlers_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct policy_crawlers *cr = value;

	cr->enabled = true;
	return cfg_parse_map(c, n, policy_crawler_fields, countof(policy_crawler_fields), cr);
}

void policy_crawlers_free(struct policy_crawlers *cr)
{
	cfg_free_fields(policy_crawler_fields, countof(policy_crawler_fields), cr);
}

/* ---- matching and deciding ---- */

const struct policy_route *policy_match_route(const struct policy_routes *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (route_glob_match(r->v[i].path, path))
			return &r->v[i];
	return NULL;
}

static bool policy_audience_fits(enum policy_audience a, bool registered)
{
	return a == POLICY_EVERYONE || (a == POLICY_REGISTERED) == registered;
}

const struct policy_promotion *policy_active_promotion(const struct policy_promotions *p,
							const char *path, bool registered,
							int64_t now)
{
	for (size_t i = 0; i < p->n; i++) {
		const struct policy_promotion *pr = &p->v[i];
		if (now < pr->starts || now >= pr->ends || !policy_audience_fits(pr->audience, registered))
			continue;
		for (size_t j = 0; j < pr->paths.n; j++)
			if (route_glob_match(pr->paths.v[j], path))
				return pr;
	}
	return NULL;
}

/* Case-insensitive substring search (strcasestr is a GNU extension). */
static bool policy_contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return false;
	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

bool policy_crawler_verified(const struct policy_crawlers *cr, const char *user_agent,
			     const struct netaddr *client)
{
	bool named = false;

	if (!cr->enabled || user_agent == NULL)
		return false;
	for (size_t i = 0; i < cr->user_agents.n && !named; i++)
		named = policy_contains_ci(user_agent, cr->user_agents.v[i]);
	if (!named)
		return false;
	for (size_t i = 0; i < cr->n_ranges; i++)
		if (netaddr_cidr_contains(&cr->ranges[i], client))
			return true;
	return false;
}

static void policy_set(struct policy_result *out, enum policy_decision d, enum policy_reason r)
{
	out->decision = d;
	out->reason = r;
}

void policy_decide(const struct policy_input *in, struct policy_result *out)
{
	out->promotion = NULL;
	switch (in->access) {
	case POLICY_UNMATCHED:
		policy_set(out, POLICY_FULL, POLICY_R_NONE);
		return;
	case POLICY_FREE:
		policy_set(out, POLICY_FULL, POLICY_R_FREE);
		return;
	case POLICY_METERED:
		if (identity_has_any(in->id, in->subscriber_entitlements)) {
			policy_set(out, POLICY_FULL, POLICY_R_SUBSCRIBER);
			return;
		}
		break;
	case POLICY_SUBSCRIBERS:
		if (identity_has_any(in->id, in->route_entitlements)) {
			policy_set(out, POLICY_FULL, POLICY_R_SUBSCRIBER);
			return;
		}
		break;
	}
	if (in->promotion != NULL) {
		policy_set(out, POLICY_FULL, POLICY_R_PROMOTION);
		out->promotion = in->promotion;
	} else if (in->crawler) {
		policy_set(out, POLICY_FULL, POLICY_R_CRAWLER);
	} else if (in->access == POLICY_METERED) {
		policy_set(out, POLICY_ASK_METER, POLICY_R_METER);
	} else {
		policy_set(out, POLICY_TEASER, POLICY_R_SUBSCRIBERS_ONLY);
	}
}

const char *policy_reason_name(enum policy_reason r)
{
	static const char *const names[] = { "none", "free", "subscriber", "promotion", "crawler",
					     "meter", "meter-exhausted", "subscribers-only",
					     "meter-unavailable" };

	return (unsigned)r < countof(names) ? names[r] : "?";
}
