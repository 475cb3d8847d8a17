/*
 * rewrite: what a gated answer becomes when the reader may not have it
 * whole, and the `teaser:` config section.
 */
#include "rewrite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))
#define REWRITE_REMOVE_MAX 64

/* ---- config ---- */

static int rewrite_parse_selector(struct cfg_ctx *c, yaml_node_t *n, const char *what,
				  struct selector **out)
{
	const char *s = cfg_scalar(n);
	char err[256];
	size_t col = 0;

	if (s == NULL || selector_parse(s, out, &col, err, sizeof(err)) != 0) {
		/* Point at the offending character inside the scalar when it is on one line. */
		yaml_node_t at = *n;
		if (s != NULL && col > 0 && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			at.start_mark.column += col - 1;
		cfg_error(c, &at, "%s: %s", what, s ? err : "expected a selector");
		return -1;
	}
	return 0;
}

static int rewrite_parse_container(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	selector_free(*(struct selector **)value);
	*(struct selector **)value = NULL;
	return rewrite_parse_selector(c, n, "selector", value);
}

static void rewrite_free_selector(void *value)
{
	selector_free(*(struct selector **)value);
	*(struct selector **)value = NULL;
}

static int rewrite_parse_template(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct teaser_config *t = (struct teaser_config *)
		((char *)value - offsetof(struct teaser_config, tmpl));
	const char *s = cfg_scalar(n);
	char err[512], *path;

	if (s == NULL || s[0] == '\0' || (path = cfg_resolve_path(c->dir, s)) == NULL) {
		cfg_error(c, n, "template: expected a file path");
		return -1;
	}
	template_free(t->tmpl);
	free(t->template_path);
	t->tmpl = NULL;
	t->template_path = path;
	if (template_load(path, &t->tmpl, err, sizeof(err)) != 0) {
		cfg_error(c, n, "template: %s", err);
		return -1;
	}
	return 0;
}

static void rewrite_free_template(void *value)
{
	struct teaser_config *t = (struct teaser_config *)
		((char *)value - offsetof(struct teaser_config, tmpl));

	template_free(t->tmpl);
	free(t->template_path);
	t->tmpl = NULL;
	t->template_path = NULL;
}

static void rewrite_free_remove(void *value)
{
	struct teaser_config *t = (struct teaser_config *)
		((char *)value - offsetof(struct teaser_config, remove));

	for (size_t i = 0; i < t->n_remove; i++)
		selector_free(t->remove[i]);
	free(t->remove);
	t->remove = NULL;
	t->n_remove = 0;
}

static int rewrite_parse_remove(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct teaser_config *t = (struct teaser_config *)
		((char *)value - offsetof(struct teaser_config, remove));
	size_t cap;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "remove: expected a list of selectors");
		return -1;
	}
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (cap > REWRITE_REMOVE_MAX) {
		cfg_error(c, n, "remove: more than %d selectors", REWRITE_REMOVE_MAX);
		return -1;
	}
	rewrite_free_remove(value);
	t->remove_set = true;
	if ((t->remove = calloc(cap ? cap : 1, sizeof(*t->remove))) == NULL)
		return -1;
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		if (rewrite_parse_selector(c, yaml_document_get_node(c->doc, *it), "remove",
					   &t->remove[t->n_remove]) != 0)
			rc = -1;
		else
			t->n_remove++;
	}
	return rc;
}

#define TC(f) offsetof(struct teaser_config, f)
static const struct cfg_field rewrite_fields[] = {
	{ "selector", CFG_CUSTOM, TC(container), true, 0, 0, rewrite_parse_container,
	  rewrite_free_selector },
	{ "keep_paragraphs", CFG_INT, TC(keep_paragraphs), false, 0, 1000, NULL, NULL },
	{ "marker", CFG_STR, TC(marker), false, 0, 0, NULL, NULL },
	{ "template", CFG_CUSTOM, TC(tmpl), true, 0, 0, rewrite_parse_template,
	  rewrite_free_template },
	{ "remove", CFG_CUSTOM, TC(remove), false, 0, 0, rewrite_parse_remove, rewrite_free_remove },
};
/* A route's override: the same keys, none required. */
static const struct cfg_field rewrite_override_fields[] = {
	{ "selector", CFG_CUSTOM, TC(container), false, 0, 0, rewrite_parse_container,
	  rewrite_free_selector },
	{ "keep_paragraphs", CFG_INT, TC(keep_paragraphs), false, 0, 1000, NULL, NULL },
	{ "marker", CFG_STR, TC(marker), false, 0, 0, NULL, NULL },
	{ "template", CFG_CUSTOM, TC(tmpl), false, 0, 0, rewrite_parse_template,
	  rewrite_free_template },
	{ "remove", CFG_CUSTOM, TC(remove), false, 0, 0, rewrite_parse_remove, rewrite_free_remove },
};
#undef TC

int rewrite_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct teaser_config *t = value;

	t->present = true;
	t->keep_paragraphs = 2;
	return cfg_parse_map(c, n, rewrite_fields, countof(rewrite_fields), t);
}

void rewrite_config_free(struct teaser_config *t)
{
	cfg_free_fields(rewrite_fields, countof(rewrite_fields), t);
}

int rewrite_override_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct teaser_config **slot = value, *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		cfg_error(c, n, "teaser: out of memory");
		return -1;
	}
	t->present = true;
	t->keep_paragraphs = -1;
	rewrite_override_free(slot);
	*slot = t;
	return cfg_parse_map(c, n, rewrite_override_fields, countof(rewrite_override_fields), t);
}

void rewrite_override_free(void *value)
{
	struct teaser_config **slot = value;

	if (*slot == NULL)
		return;
	cfg_free_fields(rewrite_override_fields, countof(rewrite_override_fields), *slot);
	free(*slot);
	*slot = NULL;
}

/* ---- rewriting ---- */

bool rewrite_is_html(const char *ct)
{
	size_t n;

	if (ct == NULL)
		return false;
	n = strcspn(ct, "; ");
	return (n == 9 && strncasecmp(ct, "text/html", 9) == 0) ||
	       (n == 21 && strncasecmp(ct, "application/xhtml+xml", 21) == 0);
}

/* A charset parameter other than UTF-8 in the backend's Content-Type: the
 * cut would work on bytes it misreads, so the page is never cut. */
static bool rewrite_charset_not_utf8(const char *ct)
{
	const char *p = ct;

	while (p != NULL && (p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "charset=", 8) != 0)
			continue;
		p += 8;
		if (*p == '"')
			p++;
		return strncasecmp(p, "utf-8", 5) != 0 && strncasecmp(p, "utf8", 4) != 0;
	}
	return false;
}

static bool rewrite_is_json(const char *ct)
{
	size_t n = ct ? strcspn(ct, "; ") : 0;

	return ct != NULL && n >= 4 && strncasecmp(ct + n - 4, "json", 4) == 0;
}

/* A route's field where set, the section's otherwise. */
struct rewrite_rules_src {
	const struct selector *container;
	long long keep;
	const char *marker;
	const struct template *tmpl;
	const struct selector *const *remove;
	size_t n_remove;
};

static void rewrite_merge(const struct teaser_config *g, const struct teaser_config *r,
			  struct rewrite_rules_src *out)
{
	out->container = r && r->container ? r->container : g->container;
	out->keep = r && r->keep_paragraphs >= 0 ? r->keep_paragraphs : g->keep_paragraphs;
	out->marker = r && r->marker ? r->marker : g->marker;
	out->tmpl = r && r->tmpl ? r->tmpl : g->tmpl;
	out->remove = (const struct selector *const *)(r && r->remove_set ? r->remove : g->remove);
	out->n_remove = r && r->remove_set ? r->n_remove : g->n_remove;
}

static char *rewrite_render(const struct template *t, const struct rewrite_values *v,
			    size_t *len)
{
	struct template_values tv = { v->meter_limit, v->meter_remaining, v->return_url,
				      v->promotion, v->reason };

	return t != NULL ? template_render(t, &tv, len) : NULL;
}

static const char rewrite_generic_head[] =
	"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	"<meta name=\"robots\" content=\"noindex\"><title>Subscribe to read</title></head>\n"
	"<body>\n";
static const char rewrite_generic_tail[] = "\n</body></html>\n";

/* The fail-closed page: the paywall box alone, in a minimal document. */
static int rewrite_generic(const char *box, size_t box_len, struct rewrite_out *out)
{
	size_t hl = sizeof(rewrite_generic_head) - 1, tl = sizeof(rewrite_generic_tail) - 1;
	char *b = malloc(hl + box_len + tl + 1);

	if (b == NULL)
		return -1;
	memcpy(b, rewrite_generic_head, hl);
	memcpy(b + hl, box, box_len);
	memcpy(b + hl + box_len, rewrite_generic_tail, tl + 1);
	out->status = 200;
	out->body = b;
	out->len = hl + box_len + tl;
	out->content_type = "text/html; charset=utf-8";
	out->outcome = "generic";
	return 0;
}

static int rewrite_402(const char *content_type, const struct rewrite_values *v,
		       struct rewrite_out *out)
{
	char buf[512];
	int n;

	if (rewrite_is_json(content_type)) {
		n = snprintf(buf, sizeof(buf), "{\"error\":\"payment_required\",\"reason\":\"%s\"}\n",
			     v->reason ? v->reason : "");
		out->content_type = "application/json";
	} else {
		n = snprintf(buf, sizeof(buf), "<!doctype html>\n<html lang=\"en\"><head>"
			     "<meta charset=\"utf-8\"><title>Payment Required</title></head>\n"
			     "<body><h1>Subscribe to read</h1><p>This content is for "
			     "subscribers (%s).</p></body></html>\n", v->reason ? v->reason : "");
		out->content_type = "text/html; charset=utf-8";
	}
	if (n < 0 || (size_t)n >= sizeof(buf) || (out->body = strdup(buf)) == NULL)
		return -1;
	out->status = 402;
	out->len = (size_t)n;
	out->outcome = "402";
	return 0;
}

int rewrite_teaser(const struct teaser_config *global, const struct teaser_config *route,
		   const char *content_type, const char *body, size_t len,
		   const struct rewrite_values *v, struct rewrite_out *out)
{
	struct rewrite_rules_src src;
	struct teaser_rules rules;
	enum teaser_result r;
	char *box;
	size_t box_len = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!rewrite_is_html(content_type))
		return rewrite_402(content_type, v, out);
	if (!global->present)
		return rewrite_402(content_type, v, out);	/* no teaser section: no cut */
	rewrite_merge(global, route, &src);
	if ((box = rewrite_render(src.tmpl, v, &box_len)) == NULL)
		return -1;
	rules.container = src.container;
	rules.keep_paragraphs = src.keep >= 0 ? (long)src.keep : 0;
	rules.marker = src.marker;
	rules.insert = box;
	rules.insert_len = box_len;
	rules.remove = src.remove;
	rules.n_remove = src.n_remove;
	r = rewrite_charset_not_utf8(content_type) ? TEASER_NOT_UTF8 :
	    teaser_render(body, len, &rules, &out->body, &out->len);
	if (r == TEASER_OK) {
		out->status = 200;
		out->content_type = "text/html; charset=utf-8";
		out->outcome = "teaser";
		rc = 0;
	} else {
		log_warn("rewrite", "page could not be cut (%s): generic paywall page sent",
			 teaser_result_name(r));
		rc = rewrite_generic(box, box_len, out);
	}
	free(box);
	return rc;
}

int rewrite_banner(const struct teaser_config *global, const struct teaser_config *route,
		   const struct template *banner, const char *content_type, const char *body,
		   size_t len, const struct rewrite_values *v, struct rewrite_out *out)
{
	struct rewrite_rules_src src;
	size_t blen = 0;
	char *b;
	enum teaser_result r;

	memset(out, 0, sizeof(*out));
	if (!global->present || banner == NULL || !rewrite_is_html(content_type) ||
	    rewrite_charset_not_utf8(content_type))
		return -1;
	rewrite_merge(global, route, &src);
	if ((b = rewrite_render(banner, v, &blen)) == NULL)
		return -1;
	r = teaser_inject(body, len, src.container, b, blen, &out->body, &out->len);
	free(b);
	if (r != TEASER_OK)
		return -1;
	out->status = 200;
	out->content_type = "text/html; charset=utf-8";
	out->outcome = "banner";
	return 0;
}

void rewrite_out_free(struct rewrite_out *out)
{
	free(out->body);
	out->body = NULL;
}
