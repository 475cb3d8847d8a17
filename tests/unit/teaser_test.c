/*
 * teaser_test: the HTML rewriter (teaser.c) against the page corpus in
 * tests/fixtures/pages/, with the leak oracle.
 *
 * Every NAME.expect there describes NAME.html, one "key value" per line
 * (value: the rest of the line; '#' starts a comment line):
 *   container SEL     the container selector (default div.article-body)
 *   keep N            keep_paragraphs (default 2)
 *   marker TEXT       the marker comment text (default none)
 *   remove SEL        a remove selector (repeatable)
 *   result NAME       the teaser_result_name expected (default ok)
 *   lead TEXT         a lead sentence: in the page and in the teaser
 *   hidden TEXT       a hidden sentence: in the page, nowhere in the teaser
 *   keep-text TEXT    in the page and, unchanged, in the teaser
 *   gone TEXT         in the page, not in the teaser (removed or scrubbed)
 *   out-text TEXT     in the teaser (what an edit leaves)
 *   ld article|any    JSON-LD checks: "any": every block parses and has no
 *                     articleBody or text; "article": also at least one
 *                     article object, each marked not free with hasPart
 *   outside exact     the bytes before the container's start tag and after
 *                     its end are the page's, but for JSON-LD texts
 * Besides, for every page the teaser must parse with the container holding
 * the insert, and the independent oracle below must find no text node of
 * the container after the cut (24 bytes or more) in it.
 */
#include <check.h>
#include <dirent.h>
#include <gumbo.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "selector.h"
#include "teaser.h"

#define MAX_FIXTURES 64
#define MAX_LINES 48
#define INSERT "<div class=\"paywall-box\"><p>Subscribe to keep reading.</p></div>"
#define BANNER "<div class=\"promo-banner\">Spring offer: three months for one.</div>"

static char *fixtures[MAX_FIXTURES];
static int n_fixtures;

struct expect {
	char container[SELECTOR_TEXT_MAX + 1];
	long keep;
	char marker[128];
	bool has_marker;
	char *remove[8];
	int n_remove;
	char result[32];
	char *lead[MAX_LINES], *hidden[MAX_LINES], *keep_text[MAX_LINES], *gone[MAX_LINES],
		*out_text[MAX_LINES];
	int n_lead, n_hidden, n_keep_text, n_gone, n_out_text;
	char ld[16];
	bool exact;
};

/* ---- files ---- */

static const char *fixture_dir(void)
{
	static char dir[1024];
	const char *root = getenv("PAYWALLD_FIXTURES");

	snprintf(dir, sizeof(dir), "%s/pages", root != NULL ? root : "tests/fixtures");
	return dir;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	ck_assert(n >= 0 && fseek(f, 0, SEEK_SET) == 0);
	buf = malloc((size_t)n + 1);
	ck_assert(buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static char *read_fixture(const char *name, const char *ext, size_t *len)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s%s", fixture_dir(), name, ext);
	return read_file(path, len);
}

static void add_line(char **arr, int *n, char *value)
{
	ck_assert(*n < MAX_LINES);
	arr[(*n)++] = value;
}

static void parse_expect_line(struct expect *e, char *key, char *value)
{
	if (strcmp(key, "container") == 0)
		snprintf(e->container, sizeof(e->container), "%s", value);
	else if (strcmp(key, "keep") == 0)
		e->keep = strtol(value, NULL, 10);
	else if (strcmp(key, "marker") == 0)
		e->has_marker = snprintf(e->marker, sizeof(e->marker), "%s", value) > 0;
	else if (strcmp(key, "remove") == 0 && e->n_remove < 8)
		e->remove[e->n_remove++] = value;
	else if (strcmp(key, "result") == 0)
		snprintf(e->result, sizeof(e->result), "%s", value);
	else if (strcmp(key, "lead") == 0)
		add_line(e->lead, &e->n_lead, value);
	else if (strcmp(key, "hidden") == 0)
		add_line(e->hidden, &e->n_hidden, value);
	else if (strcmp(key, "keep-text") == 0)
		add_line(e->keep_text, &e->n_keep_text, value);
	else if (strcmp(key, "gone") == 0)
		add_line(e->gone, &e->n_gone, value);
	else if (strcmp(key, "out-text") == 0)
		add_line(e->out_text, &e->n_out_text, value);
	else if (strcmp(key, "ld") == 0)
		snprintf(e->ld, sizeof(e->ld), "%s", value);
	else if (strcmp(key, "outside") == 0)
		e->exact = strcmp(value, "exact") == 0;
	else
		ck_abort_msg("unknown expect key '%s'", key);
}

/* Parses the sidecar in text (kept alive: values point into it). */
static void parse_expect(char *text, struct expect *e)
{
	char *line = text, *nl, *sp;

	memset(e, 0, sizeof(*e));
	snprintf(e->container, sizeof(e->container), "div.article-body");
	e->keep = 2;
	snprintf(e->result, sizeof(e->result), "ok");
	for (; line != NULL && *line != '\0'; line = nl) {
		nl = strchr(line, '\n');
		if (nl != NULL)
			*nl++ = '\0';
		if (*line == '#' || *line == '\0')
			continue;
		sp = strchr(line, ' ');
		ck_assert_msg(sp != NULL, "expect line without value: %s", line);
		*sp = '\0';
		parse_expect_line(e, line, sp + 1);
	}
}

/* ---- gumbo helpers ---- */

static const GumboVector *children(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return &n->v.document.children;
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		return &n->v.element.children;
	return NULL;
}

static bool is_element(const GumboNode *n)
{
	return n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE;
}

/* The first element matching sel, not entering <template>. */
static const GumboNode *find_first(const GumboNode *n, const struct selector *sel)
{
	const GumboVector *kids = children(n);

	if (n->type == GUMBO_NODE_TEMPLATE)
		return NULL;
	if (n->type == GUMBO_NODE_ELEMENT && selector_matches(sel, n))
		return n;
	for (unsigned i = 0; kids != NULL && i < kids->length; i++) {
		const GumboNode *f = find_first(kids->data[i], sel);
		if (f != NULL)
			return f;
	}
	return NULL;
}

static bool is_ld(const GumboNode *n)
{
	const GumboAttribute *a;

	if (n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_SCRIPT)
		return false;
	a = gumbo_get_attribute(&n->v.element.attributes, "type");
	return a != NULL && strncasecmp(a->value, "application/ld+json", 19) == 0;
}

/* Collects the JSON-LD script text nodes of the tree. */
static void find_ld(const GumboNode *n, const GumboNode **out, int *count)
{
	const GumboVector *kids = children(n);

	if (is_ld(n)) {
		if (n->v.element.children.length == 1 && *count < 16)
			out[(*count)++] = n->v.element.children.data[0];
		return;
	}
	for (unsigned i = 0; kids != NULL && i < kids->length; i++)
		find_ld(kids->data[i], out, count);
}

static bool subtree_has_class(const GumboNode *n, const char *cls)
{
	const GumboVector *kids = children(n);
	const GumboAttribute *a;

	if (is_element(n)) {
		a = gumbo_get_attribute(&n->v.element.attributes, "class");
		if (a != NULL && strcmp(a->value, cls) == 0)
			return true;
	}
	for (unsigned i = 0; kids != NULL && i < kids->length; i++)
		if (subtree_has_class(kids->data[i], cls))
			return true;
	return false;
}

/* ---- the independent leak oracle ---- */

/* A flat pre-order list of a subtree, with where each node's subtree ends
 * and whether it is inside a <template> or a removed element. */
struct flat {
	const GumboNode *node[100000];
	int end[100000];
	bool inert[100000];
	int n;
};

static void flatten(struct flat *f, const GumboNode *n, bool inert, const struct expect *e,
		    struct selector *const *rm)
{
	const GumboVector *kids = children(n);
	int me = f->n++;

	ck_assert(me < 100000);
	for (int i = 0; i < e->n_remove && n->type == GUMBO_NODE_ELEMENT; i++)
		inert = inert || selector_matches(rm[i], n);
	inert = inert || n->type == GUMBO_NODE_TEMPLATE ||
		(n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_NOSCRIPT);
	f->node[me] = n;
	f->inert[me] = inert;
	for (unsigned i = 0; kids != NULL && i < kids->length; i++)
		flatten(f, kids->data[i], inert, e, rm);
	f->end[me] = f->n;
}

static bool is_marker(const GumboNode *n, const char *marker)
{
	const char *t = n->v.text.text;
	size_t len = strlen(t);

	while (len > 0 && strchr(" \t\n\r\f", *t) != NULL)
		t++, len--;
	while (len > 0 && strchr(" \t\n\r\f", t[len - 1]) != NULL)
		len--;
	return len == strlen(marker) && memcmp(t, marker, len) == 0;
}

/* The index in f of the first node after the cut, as issue 5 words it. */
static int oracle_cut(const struct flat *f, const struct expect *e)
{
	int last_p = -1, count = 0;

	for (int i = 1; i < f->n && e->has_marker; i++)
		if (!f->inert[i] && f->node[i]->type == GUMBO_NODE_COMMENT &&
		    is_marker(f->node[i], e->marker))
			return i;
	for (int i = 1; i < f->n && count < e->keep; i++) {
		const GumboNode *n = f->node[i];
		if (!f->inert[i] && n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_P &&
		    n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML) {
			last_p = i;
			count++;
		}
	}
	return last_p < 0 ? 1 : f->end[last_p];
}

/* s (n bytes, n > 0) occurs in hay (len bytes). */
static bool contains(const char *hay, size_t len, const char *s, size_t n)
{
	const char *p = hay, *end = hay + len;

	while (n > 0 && (size_t)(end - p) >= n && (p = memchr(p, s[0], (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) >= n && memcmp(p, s, n) == 0)
			return true;
		p++;
	}
	return false;
}

/*
 * For every text node of the container after the cut, 24 bytes or more
 * (gumbo's text and its source bytes): absent from the teaser, unless the
 * same bytes occur in the page outside those text nodes (a repeated
 * sentence) or in the insert.
 */
static void oracle_check(const char *name, const char *in, size_t len, const struct expect *e,
			 const char *out, size_t outlen)
{
	struct selector *sel, *rm[8];
	struct flat *f = malloc(sizeof(*f));
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, in, len);
	const GumboNode *c;
	char *masked = malloc(len + 1), err[128];
	size_t col;
	int cut;

	ck_assert(f != NULL && masked != NULL);
	ck_assert(selector_parse(e->container, &sel, &col, err, sizeof(err)) == 0);
	for (int i = 0; i < e->n_remove; i++)
		ck_assert(selector_parse(e->remove[i], &rm[i], &col, err, sizeof(err)) == 0);
	c = find_first(g->document, sel);
	ck_assert_msg(c != NULL, "%s: oracle finds no container", name);
	f->n = 0;
	flatten(f, c, false, e, rm);
	cut = oracle_cut(f, e);
	memcpy(masked, in, len);
	masked[len] = '\0';
	for (int i = cut; i < f->n; i++) {
		const GumboText *t = &f->node[i]->v.text;
		if (f->node[i]->type == GUMBO_NODE_TEXT || f->node[i]->type == GUMBO_NODE_CDATA)
			memset(masked + (t->original_text.data - in), 0, t->original_text.length);
	}
	for (int i = cut; i < f->n; i++) {
		const GumboNode *n = f->node[i];
		const GumboStringPiece *raw = &n->v.text.original_text;
		const char *t = n->v.text.text;

		if (n->type != GUMBO_NODE_TEXT && n->type != GUMBO_NODE_CDATA)
			continue;
		if (strlen(t) >= 24 && contains(out, outlen, t, strlen(t)))
			ck_assert_msg(contains(masked, len, t, strlen(t)) || strstr(INSERT, t) != NULL,
				      "%s: LEAK of hidden text node \"%s\"", name, t);
		if (raw->length >= 24 && contains(out, outlen, raw->data, raw->length))
			ck_assert_msg(contains(masked, len, raw->data, raw->length),
				      "%s: LEAK of hidden source \"%.*s\"", name, (int)raw->length,
				      raw->data);
	}
	for (int i = 0; i < e->n_remove; i++)
		selector_free(rm[i]);
	selector_free(sel);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	free(masked);
	free(f);
}

/* ---- checks on a teaser ---- */

static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t k = s[i] < 0x80 ? 1 : s[i] >= 0xc2 && s[i] <= 0xdf ? 2 :
			   s[i] >= 0xe0 && s[i] <= 0xef ? 3 : s[i] >= 0xf0 && s[i] <= 0xf4 ? 4 : 0;
		if (k == 0 || i + k > n)
			return false;
		for (size_t j = 1; j < k; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		i += k;
	}
	return true;
}

static bool ld_is_article(const json_t *type)
{
	const char *s = json_string_value(type);
	size_t len, i;
	json_t *t;

	if (json_is_array(type)) {
		json_array_foreach(type, i, t)
			if (ld_is_article(t))
				return true;
		return false;
	}
	len = s != NULL ? strlen(s) : 0;
	return len >= 7 && (strcmp(s + len - 7, "Article") == 0 || strcmp(s + len - 7, "Posting") == 0);
}

/* No articleBody or text at any depth; article objects not free, with
 * hasPart naming the container. Counts the article objects. */
static void check_ld_value(const char *name, const json_t *v, const char *sel, int *articles)
{
	const char *key;
	json_t *val, *part;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, val)
			check_ld_value(name, val, sel, articles);
		return;
	}
	if (!json_is_object(v))
		return;
	ck_assert_msg(json_object_get(v, "articleBody") == NULL, "%s: articleBody left", name);
	ck_assert_msg(json_object_get(v, "text") == NULL, "%s: text left", name);
	if (ld_is_article(json_object_get(v, "@type"))) {
		(*articles)++;
		ck_assert_msg(json_is_false(json_object_get(v, "isAccessibleForFree")),
			      "%s: article object not marked isAccessibleForFree false", name);
		part = json_object_get(v, "hasPart");
		ck_assert_msg(json_is_object(part), "%s: no hasPart", name);
		ck_assert_str_eq(json_string_value(json_object_get(part, "@type")), "WebPageElement");
		ck_assert(json_is_false(json_object_get(part, "isAccessibleForFree")));
		ck_assert_str_eq(json_string_value(json_object_get(part, "cssSelector")), sel);
	}
	json_object_foreach((json_t *)v, key, val)
		check_ld_value(name, val, sel, articles);
}

static void check_ld(const char *name, const GumboOutput *g, const struct expect *e)
{
	const GumboNode *ld[16];
	int n = 0, articles = 0;

	find_ld(g->document, ld, &n);
	for (int i = 0; i < n; i++) {
		json_error_t jerr;
		json_t *j = json_loads(ld[i]->v.text.text, JSON_DECODE_ANY, &jerr);

		ck_assert_msg(j != NULL, "%s: JSON-LD %d does not parse: %s", name, i, jerr.text);
		check_ld_value(name, j, e->container, &articles);
		json_decref(j);
	}
	if (strcmp(e->ld, "article") == 0)
		ck_assert_msg(articles > 0, "%s: no article object in the JSON-LD", name);
}

/* Where the container's start tag ends and its end tag ends, and the
 * JSON-LD text ranges of the page. */
struct bounds {
	size_t tag_end, end;
	size_t ld_start[16], ld_end[16];
	int n_ld;
};

static void get_bounds(const char *html, size_t len, const char *container, struct bounds *b)
{
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, html, len);
	const GumboNode *ld[16], *c;
	struct selector *sel;
	size_t col;
	char err[128];

	ck_assert(selector_parse(container, &sel, &col, err, sizeof(err)) == 0);
	c = find_first(g->document, sel);
	ck_assert(c != NULL);
	b->tag_end = c->v.element.start_pos.offset + c->v.element.original_tag.length;
	b->end = c->v.element.end_pos.offset;
	if (!(c->parse_flags & GUMBO_INSERTION_IMPLICIT_END_TAG))
		b->end += c->v.element.original_end_tag.length;
	b->n_ld = 0;
	find_ld(g->document, ld, &b->n_ld);
	for (int i = 0; i < b->n_ld; i++) {
		b->ld_start[i] = (size_t)(ld[i]->v.text.original_text.data - html);
		b->ld_end[i] = b->ld_start[i] + ld[i]->v.text.original_text.length;
	}
	selector_free(sel);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}

/* html[from, to) without the JSON-LD texts in it; *n its length. */
static char *strip_ld(const char *html, size_t from, size_t to, const struct bounds *b, size_t *n)
{
	char *s = malloc(to - from + 1);

	*n = 0;
	for (size_t i = from; i < to; i++) {
		bool in_ld = false;
		for (int k = 0; k < b->n_ld; k++)
			in_ld = in_ld || (i >= b->ld_start[k] && i < b->ld_end[k]);
		if (!in_ld)
			s[(*n)++] = html[i];
	}
	return s;
}

static void check_same(const char *name, const char *what, const char *a, size_t from_a,
		       size_t to_a, const struct bounds *ba, const char *b, size_t from_b,
		       size_t to_b, const struct bounds *bb)
{
	size_t na, nb;
	char *sa = strip_ld(a, from_a, to_a, ba, &na), *sb = strip_ld(b, from_b, to_b, bb, &nb);

	ck_assert_msg(na == nb && memcmp(sa, sb, na) == 0,
		      "%s: the bytes %s the container differ from the page's", name, what);
	free(sa);
	free(sb);
}

/* Outside the container, the teaser is the page byte for byte, JSON-LD
 * texts aside. */
static void check_outside(const char *name, const char *in, size_t len, const char *out,
			  size_t outlen, const struct expect *e)
{
	struct bounds bi, bo;

	get_bounds(in, len, e->container, &bi);
	get_bounds(out, outlen, e->container, &bo);
	check_same(name, "before", in, 0, bi.tag_end, &bi, out, 0, bo.tag_end, &bo);
	check_same(name, "after", in, bi.end, len, &bi, out, bo.end, outlen, &bo);
}

static void check_strings(const char *name, const char *in, size_t len, const char *out,
			  size_t outlen, const struct expect *e)
{
	for (int i = 0; i < e->n_hidden; i++) {
		ck_assert_msg(contains(in, len, e->hidden[i], strlen(e->hidden[i])),
			      "%s: hidden sentence not in the page: %s", name, e->hidden[i]);
		ck_assert_msg(!contains(out, outlen, e->hidden[i], strlen(e->hidden[i])),
			      "%s: LEAK: %s", name, e->hidden[i]);
	}
	for (int i = 0; i < e->n_gone; i++) {
		ck_assert_msg(contains(in, len, e->gone[i], strlen(e->gone[i])),
			      "%s: 'gone' text not in the page: %s", name, e->gone[i]);
		ck_assert_msg(!contains(out, outlen, e->gone[i], strlen(e->gone[i])),
			      "%s: still there: %s", name, e->gone[i]);
	}
	for (int i = 0; i < e->n_lead; i++)
		ck_assert_msg(contains(in, len, e->lead[i], strlen(e->lead[i])) &&
			      contains(out, outlen, e->lead[i], strlen(e->lead[i])),
			      "%s: lead missing: %s", name, e->lead[i]);
	for (int i = 0; i < e->n_keep_text; i++)
		ck_assert_msg(contains(in, len, e->keep_text[i], strlen(e->keep_text[i])) &&
			      contains(out, outlen, e->keep_text[i], strlen(e->keep_text[i])),
			      "%s: not kept: %s", name, e->keep_text[i]);
	for (int i = 0; i < e->n_out_text; i++)
		ck_assert_msg(contains(out, outlen, e->out_text[i], strlen(e->out_text[i])),
			      "%s: not in the teaser: %s", name, e->out_text[i]);
}

/* The teaser parses, its container (the first match) holds the insert. */
static void check_tree(const char *name, const char *out, size_t outlen, const struct expect *e)
{
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, out, outlen);
	struct selector *sel;
	const GumboNode *c;
	size_t col;
	char err[128];

	ck_assert(selector_parse(e->container, &sel, &col, err, sizeof(err)) == 0);
	c = find_first(g->document, sel);
	ck_assert_msg(c != NULL, "%s: no container in the teaser", name);
	ck_assert_msg(subtree_has_class(c, "paywall-box"), "%s: the insert is not in the container",
		      name);
	if (e->ld[0] != '\0')
		check_ld(name, g, e);
	selector_free(sel);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}

/* Renders with the rules of e; returns the result, the teaser in *out. */
static enum teaser_result render(const char *html, size_t len, const struct expect *e,
				 char **out, size_t *outlen)
{
	struct selector *sel, *rm[8];
	size_t col;
	char err[128];
	enum teaser_result rc;

	ck_assert_msg(selector_parse(e->container, &sel, &col, err, sizeof(err)) == 0, "%s", err);
	for (int i = 0; i < e->n_remove; i++)
		ck_assert_msg(selector_parse(e->remove[i], &rm[i], &col, err, sizeof(err)) == 0, "%s",
			      err);
	struct teaser_rules r = {
		sel, e->keep, e->has_marker ? e->marker : NULL, INSERT, strlen(INSERT),
		(const struct selector *const *)rm, (size_t)e->n_remove,
	};
	rc = teaser_render(html, len, &r, out, outlen);
	for (int i = 0; i < e->n_remove; i++)
		selector_free(rm[i]);
	selector_free(sel);
	return rc;
}

/* Every check on one page and its teaser under the rules of e. */
static void check_teaser(const char *name, const char *in, size_t len, const struct expect *e)
{
	char *out = (char *)"untouched";
	size_t outlen = 12345;
	enum teaser_result rc = render(in, len, e, &out, &outlen);

	ck_assert_msg(strcmp(teaser_result_name(rc), e->result) == 0, "%s: result %s, expected %s",
		      name, teaser_result_name(rc), e->result);
	if (rc != TEASER_OK) {
		ck_assert_str_eq(out, "untouched");
		ck_assert_uint_eq(outlen, 12345);
		return;
	}
	ck_assert_uint_eq(strlen(out), outlen);
	ck_assert_msg(utf8_valid((const unsigned char *)out, outlen), "%s: teaser not UTF-8", name);
	check_strings(name, in, len, out, outlen, e);
	check_tree(name, out, outlen, e);
	if (e->exact)
		check_outside(name, in, len, out, outlen, e);
	oracle_check(name, in, len, e, out, outlen);
	free(out);
}

START_TEST(test_teaser_fixture)
{
	const char *name = fixtures[_i];
	size_t len, elen;
	char *in = read_fixture(name, ".html", &len), *etext = read_fixture(name, ".expect", &elen);
	struct expect e;

	parse_expect(etext, &e);
	check_teaser(name, in, len, &e);
	free(in);
	free(etext);
}
END_TEST

/* ---- the same pages under other rules ---- */

static void load_case(const char *name, char **in, size_t *len, char **etext, struct expect *e)
{
	size_t elen;

	*in = read_fixture(name, ".html", len);
	*etext = read_fixture(name, ".expect", &elen);
	parse_expect(*etext, e);
}

/* Moves every lead line to hidden (keep 0). */
static void all_hidden(struct expect *e)
{
	for (int i = 0; i < e->n_lead; i++)
		add_line(e->hidden, &e->n_hidden, e->lead[i]);
	e->n_lead = 0;
}

START_TEST(test_teaser_keep_zero)
{
	char *in, *etext, *out;
	size_t len, outlen;
	struct expect e;

	load_case("demo", &in, &len, &etext, &e);
	e.keep = 0;
	all_hidden(&e);
	check_teaser("demo keep 0", in, len, &e);
	ck_assert_int_eq(render(in, len, &e, &out, &outlen), TEASER_OK);
	ck_assert_msg(strstr(out, "<div class=\"article-body\">" INSERT "</div>") != NULL,
		      "keep 0: the insert does not follow the start tag");
	free(out);
	free(in);
	free(etext);
}
END_TEST

START_TEST(test_teaser_keep_more_than_paragraphs)
{
	char *in, *etext, *out;
	size_t len, outlen;
	struct expect e;

	load_case("demo", &in, &len, &etext, &e);
	e.keep = 20;
	for (int i = 0; i < e.n_hidden; i++)
		add_line(e.lead, &e.n_lead, e.hidden[i]);
	e.n_hidden = 0;
	check_teaser("demo keep 20", in, len, &e);
	ck_assert_int_eq(render(in, len, &e, &out, &outlen), TEASER_OK);
	ck_assert(strstr(out, "until the end of April.</p>" INSERT "</div>") != NULL);
	free(out);
	free(in);
	free(etext);

	/* Text after the last paragraph is dropped all the same. */
	load_case("text-between", &in, &len, &etext, &e);
	e.keep = 99;
	e.n_hidden = 0;
	add_line(e.lead, &e.n_lead, "Loose text right after the second paragraph must never reach the reader.");
	add_line(e.lead, &e.n_lead, "The roof trusses are strong enough to carry the weight of a fifteen-metre lead wall.");
	add_line(e.hidden, &e.n_hidden, "Bold loose text near the end of the container is hidden as well.");
	add_line(e.hidden, &e.n_hidden, "and a trailing loose sentence closes the article.");
	check_teaser("text-between keep 99", in, len, &e);
	free(in);
	free(etext);
}
END_TEST

START_TEST(test_teaser_marker_absent_and_unset)
{
	char *in, *etext;
	size_t len;
	struct expect e;

	/* Without the marker configured, Ghost's comment is just a comment. */
	load_case("ghost", &in, &len, &etext, &e);
	e.has_marker = false;
	e.keep = 1;
	e.n_lead = 1;
	e.n_hidden = 0;
	e.n_gone = 0;
	add_line(e.hidden, &e.n_hidden, "The forty-one volumes were moved to the county archive in the winter of 1979 and have hardly been opened since.");
	add_line(e.hidden, &e.n_hidden, "The keepers recorded fog on more than a third of all nights, far more often than the modern weather station on the headland.");
	check_teaser("ghost without marker", in, len, &e);
	free(in);
	free(etext);
}
END_TEST

/* Renders html (a C string) with the default rules; the result. */
static enum teaser_result render_str(const char *html, const char *container, long keep,
				     char **out, size_t *outlen)
{
	struct expect e;

	memset(&e, 0, sizeof(e));
	snprintf(e.container, sizeof(e.container), "%s", container);
	e.keep = keep;
	return render(html, strlen(html), &e, out, outlen);
}

static void expect_result(const char *html, const char *container, enum teaser_result want)
{
	char *out = NULL;
	size_t outlen = 0;
	enum teaser_result rc = render_str(html, container, 2, &out, &outlen);

	ck_assert_msg(rc == want, "%s for %.80s, expected %s", teaser_result_name(rc), html,
		      teaser_result_name(want));
	if (rc == TEASER_OK)
		free(out);
	else
		ck_assert_ptr_null(out);
}

#define LONG_HIDDEN "This hidden sentence is long enough for the leak scrub to notice."
#define BODY(x) "<!DOCTYPE html><html><head><meta charset=utf-8></head><body>" x "</body></html>"
#define ARTICLE "<div class=article-body><p>Lead one.</p><p>Lead two.</p><p>" LONG_HIDDEN "</p></div>"

START_TEST(test_teaser_encodings)
{
	expect_result(BODY(ARTICLE), "div.article-body", TEASER_OK);
	expect_result("\xef\xbb\xbf" BODY(ARTICLE), "div.article-body", TEASER_OK);
	expect_result(BODY("\xff" ARTICLE), "div.article-body", TEASER_NOT_UTF8);
	expect_result(BODY("\xc0\xaf" ARTICLE), "div.article-body", TEASER_NOT_UTF8);
	expect_result(BODY("\xed\xa0\x80" ARTICLE), "div.article-body", TEASER_NOT_UTF8);
	expect_result(BODY("\xf4\x90\x80\x80" ARTICLE), "div.article-body", TEASER_NOT_UTF8);
	expect_result(BODY("\xe2\x82" ARTICLE), "div.article-body", TEASER_NOT_UTF8);
	expect_result("<meta charset=\"UTF-8\">" ARTICLE, "div.article-body", TEASER_OK);
	expect_result("<meta charset=\" utf8 \">" ARTICLE, "div.article-body", TEASER_OK);
	expect_result("<meta charset=windows-1252>" ARTICLE, "div.article-body", TEASER_NOT_UTF8);
	expect_result("<meta charset=utf-16>" ARTICLE, "div.article-body", TEASER_NOT_UTF8);
	expect_result("<meta http-equiv=Content-Type content=\"text/html; charset=UTF-8\">" ARTICLE,
		      "div.article-body", TEASER_OK);
	expect_result("<meta http-equiv=content-type content=\"text/html\">" ARTICLE,
		      "div.article-body", TEASER_OK);
	expect_result("<meta http-equiv=\"CONTENT-TYPE\" content='text/html;charset = \"koi8-r\"'>" ARTICLE,
		      "div.article-body", TEASER_NOT_UTF8);
	expect_result("<meta http-equiv=refresh content=\"0; charset=latin1\">" ARTICLE,
		      "div.article-body", TEASER_OK);
	expect_result(ARTICLE "<meta charset=iso-8859-15>", "div.article-body", TEASER_NOT_UTF8);
}
END_TEST

START_TEST(test_teaser_located_or_fail_closed)
{
	char *out;
	size_t outlen;

	/* A container whose start tag the parser made up. */
	expect_result("<table><tr><td><p>a</p></td></tr></table>", "tbody", TEASER_PARSE_ERROR);
	expect_result("<p>No body tag here, " LONG_HIDDEN "</p>", "body", TEASER_PARSE_ERROR);
	expect_result("", "div", TEASER_NO_CONTAINER);
	expect_result("<template><div class=article-body><p>x</p></div></template>",
		      "div.article-body", TEASER_NO_CONTAINER);
	/* A container closed by its parent's end tag: the parent's tag stays. */
	ck_assert_int_eq(render_str(BODY("<section><div class=article-body><p>Lead.</p>"
					 "<p>" LONG_HIDDEN "</p></section><p>After.</p>"),
				    "div.article-body", 1, &out, &outlen),
			 TEASER_OK);
	ck_assert_msg(strstr(out, "<p>Lead.</p>" INSERT "</div></section><p>After.</p>") != NULL,
		      "%s", out);
	ck_assert(strstr(out, LONG_HIDDEN) == NULL);
	free(out);
	/* A container whose end the parser implied at a block start. */
	ck_assert_int_eq(render_str(BODY("<p class=lede>" LONG_HIDDEN "<div>After.</div>"), "p.lede",
				    2, &out, &outlen),
			 TEASER_OK);
	ck_assert_msg(strstr(out, "<p class=lede>" INSERT "</p><div>After.</div>") != NULL, "%s", out);
	free(out);
	/* Unclosed at the end of the page. */
	ck_assert_int_eq(render_str("<div class=article-body><p>Lead.<p>" LONG_HIDDEN,
				    "div.article-body", 1, &out, &outlen),
			 TEASER_OK);
	ck_assert_str_eq(out, "<div class=article-body><p>Lead." INSERT "</p></div>");
	free(out);
}
END_TEST

START_TEST(test_teaser_scrub_fails_closed_where_it_cannot_remove)
{
	/* Hidden text in places no edit can take it from: markup the parser
	 * ignores. The teaser is refused rather than sent. */
	expect_result(BODY("<span></span data-x=\"" LONG_HIDDEN "\">" ARTICLE), "div.article-body",
		      TEASER_PARSE_ERROR);
	expect_result("<!DOCTYPE html SYSTEM \"" LONG_HIDDEN "\">" ARTICLE, "div.article-body",
		      TEASER_PARSE_ERROR);
	expect_result(BODY("<div data-a=x data-a=\"" LONG_HIDDEN "\"></div>" ARTICLE),
		      "div.article-body", TEASER_PARSE_ERROR);
	/* The same text where the scrub can remove it is fine. */
	expect_result(BODY("<div data-a=\"" LONG_HIDDEN "\"></div>" ARTICLE), "div.article-body",
		      TEASER_OK);
	expect_result(BODY("<!-- " LONG_HIDDEN " -->" ARTICLE), "div.article-body", TEASER_OK);
	expect_result(BODY("<style>/* " LONG_HIDDEN " */</style>" ARTICLE), "div.article-body",
		      TEASER_OK);
	/* Plain text elsewhere on the page (a pull quote) is the page's own. */
	expect_result(BODY("<aside>" LONG_HIDDEN "</aside>" ARTICLE), "div.article-body", TEASER_OK);
}
END_TEST

START_TEST(test_teaser_ld_escaping)
{
	char *out;
	size_t outlen;
	const char *page = "<script type=application/ld+json>{\"@type\":\"Article\",\"name\":"
			   "\"<\\/script><!--x&y\",\"articleBody\":\"" LONG_HIDDEN "\"}</script>" ARTICLE;

	ck_assert_int_eq(render_str(page, "div.article-body", 2, &out, &outlen), TEASER_OK);
	ck_assert_msg(strstr(out, "{\"@type\":\"Article\",\"name\":\"\\u003c\\/script\\u003e"
				  "\\u003c!--x\\u0026y\",\"isAccessibleForFree\":false,\"hasPart\":"
				  "{\"@type\":\"WebPageElement\",\"isAccessibleForFree\":false,"
				  "\"cssSelector\":\"div.article-body\"}}</script>") != NULL,
		      "%s", out);
	free(out);
}
END_TEST

/* A page of about size bytes: a lead, then numbered hidden paragraphs,
 * and a script holding one of them. */
static char *huge_page(size_t size, size_t *len)
{
	char *p = malloc(size + 4096);
	size_t n = 0;
	int i = 0;

	n += (size_t)snprintf(p + n, 4096, "<!DOCTYPE html><html><head><meta charset=utf-8>"
			      "<title>Huge</title></head><body><div class=article-body>"
			      "<p>The generated lead paragraph of a very long page.</p>"
			      "<p>The second generated lead paragraph of a very long page.</p>");
	while (n < size)
		n += (size_t)snprintf(p + n, 4096, "<p>Generated hidden paragraph number %d of the "
				      "huge page, with <em>some</em> inline markup.</p>\n", i++);
	n += (size_t)snprintf(p + n, 4096, "</div><script>var copy = \"Generated hidden "
			      "paragraph number 12345 of the huge page, with \";</script>"
			      "<footer>End of the huge page.</footer></body></html>");
	*len = n;
	return p;
}

START_TEST(test_teaser_huge_page)
{
	size_t len, outlen;
	char *in = huge_page(5 * 1024 * 1024, &len), *out;
	struct expect e;
	clock_t t0 = clock();
	double secs;

	memset(&e, 0, sizeof(e));
	snprintf(e.container, sizeof(e.container), "div.article-body");
	e.keep = 2;
	ck_assert_int_eq(render(in, len, &e, &out, &outlen), TEASER_OK);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	printf("teaser_test: %zu-byte page rewritten in %.2f s (CPU, sanitizer build)\n", len, secs);
	ck_assert_msg(secs < 30, "too slow: %.2f s", secs);
	ck_assert(outlen < 2048);
	ck_assert(strstr(out, "The second generated lead paragraph") != NULL);
	ck_assert(strstr(out, "number 0 of") == NULL && strstr(out, "12345") == NULL);
	ck_assert(strstr(out, "<footer>End of the huge page.</footer>") != NULL);
	free(out);
	free(in);

	in = calloc(TEASER_PAGE_MAX + 1, 1);
	ck_assert_int_eq(render(in, TEASER_PAGE_MAX + 1, &e, &out, &outlen), TEASER_TOO_LARGE);
	free(in);
}
END_TEST

START_TEST(test_teaser_inject)
{
	char *in, *etext, *out, *c;
	size_t len, outlen, at;
	struct expect e;
	struct selector *sel;
	size_t col;
	char err[128];
	GumboOutput *g;
	const GumboNode *box, *first;

	load_case("demo", &in, &len, &etext, &e);
	ck_assert(selector_parse("div.article-body", &sel, &col, err, sizeof(err)) == 0);
	ck_assert_int_eq(teaser_inject(in, len, sel, BANNER, strlen(BANNER), &out, &outlen),
			 TEASER_OK);
	c = strstr(in, "<div class=\"article-body\">");
	ck_assert(c != NULL);
	at = (size_t)(c - in) + strlen("<div class=\"article-body\">");
	ck_assert_uint_eq(outlen, len + strlen(BANNER));
	ck_assert(memcmp(out, in, at) == 0);
	ck_assert(memcmp(out + at, BANNER, strlen(BANNER)) == 0);
	ck_assert(memcmp(out + at + strlen(BANNER), in + at, len - at) == 0);
	g = gumbo_parse_with_options(&kGumboDefaultOptions, out, outlen);
	box = find_first(g->document, sel);
	first = box->v.element.children.data[0];
	ck_assert(is_element(first));
	ck_assert_str_eq(gumbo_get_attribute(&first->v.element.attributes, "class")->value,
			 "promo-banner");
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	free(out);
	free(in);
	free(etext);

	in = read_fixture("no-container", ".html", &len);
	ck_assert_int_eq(teaser_inject(in, len, sel, BANNER, strlen(BANNER), &out, &outlen),
			 TEASER_NO_CONTAINER);
	free(in);
	in = read_fixture("latin1", ".html", &len);
	ck_assert_int_eq(teaser_inject(in, len, sel, BANNER, strlen(BANNER), &out, &outlen),
			 TEASER_NOT_UTF8);
	free(in);
	ck_assert_int_eq(teaser_inject("<b class=article-body>x</b>", 27, sel, "", 0, &out, &outlen),
			 TEASER_NO_CONTAINER);
	selector_free(sel);
}
END_TEST

START_TEST(test_teaser_result_names)
{
	ck_assert_str_eq(teaser_result_name(TEASER_OK), "ok");
	ck_assert_str_eq(teaser_result_name(TEASER_NO_CONTAINER), "no-container");
	ck_assert_str_eq(teaser_result_name(TEASER_NOT_UTF8), "not-utf8");
	ck_assert_str_eq(teaser_result_name(TEASER_PARSE_ERROR), "parse-error");
	ck_assert_str_eq(teaser_result_name(TEASER_TOO_LARGE), "too-large");
	ck_assert_str_eq(teaser_result_name((enum teaser_result)99), "?");
}
END_TEST

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists the fixtures: every NAME.expect in the pages directory. */
static void list_fixtures(void)
{
	DIR *d = opendir(fixture_dir());
	struct dirent *de;

	if (d == NULL) {
		fprintf(stderr, "teaser_test: cannot open %s\n", fixture_dir());
		return;
	}
	while ((de = readdir(d)) != NULL && n_fixtures < MAX_FIXTURES) {
		size_t n = strlen(de->d_name);
		if (n > 7 && strcmp(de->d_name + n - 7, ".expect") == 0)
			fixtures[n_fixtures++] = strndup(de->d_name, n - 7);
	}
	closedir(d);
	qsort(fixtures, (size_t)n_fixtures, sizeof(fixtures[0]), name_cmp);
}

static Suite *teaser_suite(void)
{
	Suite *s = suite_create("teaser");
	TCase *pages = tcase_create("pages");
	TCase *rules = tcase_create("rules");
	TCase *big = tcase_create("big");

	tcase_add_loop_test(pages, test_teaser_fixture, 0, n_fixtures);
	suite_add_tcase(s, pages);
	tcase_add_test(rules, test_teaser_keep_zero);
	tcase_add_test(rules, test_teaser_keep_more_than_paragraphs);
	tcase_add_test(rules, test_teaser_marker_absent_and_unset);
	tcase_add_test(rules, test_teaser_encodings);
	tcase_add_test(rules, test_teaser_located_or_fail_closed);
	tcase_add_test(rules, test_teaser_scrub_fails_closed_where_it_cannot_remove);
	tcase_add_test(rules, test_teaser_ld_escaping);
	tcase_add_test(rules, test_teaser_inject);
	tcase_add_test(rules, test_teaser_result_names);
	suite_add_tcase(s, rules);
	tcase_set_timeout(big, 120);
	tcase_add_test(big, test_teaser_huge_page);
	suite_add_tcase(s, big);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	list_fixtures();
	if (n_fixtures < 20) {
		fprintf(stderr, "teaser_test: only %d fixtures in %s\n", n_fixtures, fixture_dir());
		return EXIT_FAILURE;
	}
	sr = srunner_create(teaser_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (int i = 0; i < n_fixtures; i++)
		free(fixtures[i]);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
