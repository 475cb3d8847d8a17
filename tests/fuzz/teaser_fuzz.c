/*
 * teaser_fuzz: teaser_render, teaser_inject and selector_parse on arbitrary pages.
 *
 * Input: a page. Its first line is also tried as a selector.
 *
 * Fixed rules: container div.article-body, keep 2, marker "paywall-break",
 * a rendered template as the insert, remove [data-paywall=subscriber].
 *
 * Checked besides "no crash":
 *  - the leak oracle: when teaser_render returns TEASER_OK, no text node of
 *    the container after the cut, 24 bytes or more (gumbo's decoded text
 *    or its source bytes), appears in the teaser, unless the same bytes
 *    occur in the page outside those text nodes (a repeated sentence) or
 *    in the insert, or the occurrence overlaps bytes the rewrite writes
 *    itself (JSON-LD, the insert and the end tags after it). The container and the cut come from a walk over
 *    gumbo's tree of the input written here, not from teaser.c: the first
 *    div with the class token article-body outside <template>; the first
 *    "paywall-break" comment in it, else the end of its second <p>, with
 *    <template>, <noscript> and subscriber elements counting for neither;
 *  - a teaser is NUL-terminated and, the page being UTF-8, UTF-8;
 *  - results other than TEASER_OK leave *out and *outlen alone;
 *  - teaser_inject returns the page with the banner inserted at one point
 *    and nothing else changed, and agrees with teaser_render on whether
 *    the page has a usable container;
 *  - selector_parse on the first line: on success selector_text is a part
 *    of the line and matching it against every element does not crash; on
 *    failure the column lies within the line (or just after it).
 */
#include <gumbo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "selector.h"
#include "teaser.h"
#include "template.h"

#define FUZZ_NAME "teaser_fuzz"
#include "fuzz_common.h"

#define BANNER "<div class=\"promo\">Offer</div>"
#define MIN_TEXT 24

static const char template_text[] =
	"<div class=\"paywall-box\"><p>You have read {{meter_limit}} articles "
	"({{meter_remaining}} left).</p><a href=\"/subscribe?r={{return_url}}\">Subscribe</a>"
	"<p>{{promotion}}</p><!-- {{reason}} --></div>";

struct fixed {
	struct selector *container, *subscriber;
	char *insert;
	size_t insert_len;
};

/* The rules are the same for every input: built once. */
static const struct fixed *fixed_rules(void)
{
	static struct fixed f;
	static bool ready;
	struct template *t;
	struct template_values v = { "5", "0", "/article/x?a=1&b=2", "<b>Half price</b>", "meter" };
	size_t col;
	char err[256];

	if (ready)
		return &f;
	if (selector_parse("div.article-body", &f.container, &col, err, sizeof(err)) != 0 ||
	    selector_parse("[data-paywall=subscriber]", &f.subscriber, &col, err, sizeof(err)) != 0 ||
	    template_load_buffer(template_text, sizeof(template_text) - 1, "fuzz", &t, err,
				 sizeof(err)) != 0)
		fail("fixed rules do not load", err);
	f.insert = template_render(t, &v, &f.insert_len);
	template_free(t);
	if (f.insert == NULL)
		fail("template_render failed", NULL);
	ready = true;
	return &f;
}

/* ---- an independent walk over gumbo's tree ---- */

static const GumboVector *kids_of(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return &n->v.document.children;
	if (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE)
		return &n->v.element.children;
	return NULL;
}

/* Pre-order successor inside root, by child index (no recursion: fuzzed
 * pages nest deeply). skip: do not enter n. */
static const GumboNode *succ(const GumboNode *n, const GumboNode *root, bool skip)
{
	const GumboVector *k = skip ? NULL : kids_of(n);

	if (k != NULL && k->length > 0)
		return k->data[0];
	for (; n != root && n->parent != NULL; n = n->parent) {
		const GumboVector *pk = kids_of(n->parent);
		for (unsigned i = 0; i + 1 < pk->length; i++)
			if (pk->data[i] == n)
				return pk->data[i + 1];
	}
	return NULL;
}

static bool has_class_token(const GumboNode *n, const char *tok)
{
	const GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, "class");
	size_t tl = strlen(tok);
	const char *p;

	if (a == NULL)
		return false;
	for (p = a->value; *p != '\0';) {
		size_t len;
		while (*p != '\0' && strchr(" \t\n\r\f", *p) != NULL)
			p++;
		len = strcspn(p, " \t\n\r\f");
		if (len == tl && memcmp(p, tok, tl) == 0)
			return true;
		p += len;
	}
	return false;
}

static const GumboNode *oracle_container(const GumboNode *doc)
{
	for (const GumboNode *n = doc; n != NULL; n = succ(n, doc, n->type == GUMBO_NODE_TEMPLATE))
		if (n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_DIV &&
		    has_class_token(n, "article-body"))
			return n;
	return NULL;
}

static bool is_inert(const GumboNode *n)
{
	const GumboAttribute *a;

	if (n->type == GUMBO_NODE_TEMPLATE)
		return true;
	if (n->type != GUMBO_NODE_ELEMENT)
		return false;
	if (n->v.element.tag == GUMBO_TAG_NOSCRIPT)
		return true;
	a = gumbo_get_attribute(&n->v.element.attributes, "data-paywall");
	return a != NULL && strcmp(a->value, "subscriber") == 0;
}

static bool is_marker_comment(const GumboNode *n)
{
	const char *t = n->v.text.text;
	size_t len = strlen(t);

	if (n->type != GUMBO_NODE_COMMENT)
		return false;
	while (len > 0 && strchr(" \t\n\r\f", *t) != NULL)
		t++, len--;
	while (len > 0 && strchr(" \t\n\r\f", t[len - 1]) != NULL)
		len--;
	return len == 13 && memcmp(t, "paywall-break", 13) == 0;
}

/* The first node of the container after the cut (NULL: none). */
static const GumboNode *oracle_cut(const GumboNode *c)
{
	const GumboNode *p_cut = NULL;
	int count = 0;

	for (const GumboNode *n = succ(c, c, false); n != NULL; n = succ(n, c, is_inert(n)))
		if (!is_inert(n) && is_marker_comment(n))
			return n;
	for (const GumboNode *n = succ(c, c, false); n != NULL && count < 2;
	     n = succ(n, c, is_inert(n))) {
		if (!is_inert(n) && n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_P &&
		    n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML) {
			p_cut = n;
			count++;
		}
	}
	return p_cut != NULL ? succ(p_cut, c, true) : succ(c, c, false);
}

static bool is_text(const GumboNode *n)
{
	return n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_CDATA;
}

/*
 * Substring search by hashed windows. The oracle never hands whole output
 * strings to memcmp or strstr: libFuzzer would learn them (CMP tracing)
 * and build inputs whose hidden text equals what the rewrite itself writes
 * (an insert, "{}", closing tags), which is no leak.
 */
struct windows {
	struct win {
		uint64_t h;
		size_t pos;
	} *w;
	size_t n;
};

static uint64_t hash_window(const char *s)
{
	uint64_t h = 0;

	for (size_t i = 0; i < MIN_TEXT; i++)
		h = h * 0x100000001b3ULL + (unsigned char)s[i];
	return h;
}

static int win_cmp(const void *a, const void *b)
{
	const struct win *x = a, *y = b;

	if (x->h != y->h)
		return x->h < y->h ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static void windows_build(const char *s, size_t n, struct windows *w)
{
	w->n = n >= MIN_TEXT ? n - MIN_TEXT + 1 : 0;
	w->w = malloc((w->n + 1) * sizeof(*w->w));
	if (w->w == NULL)
		fail("out of memory", NULL);
	for (size_t i = 0; i < w->n; i++)
		w->w[i] = (struct win){ hash_window(s + i), i };
	qsort(w->w, w->n, sizeof(*w->w), win_cmp);
}

static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

struct range {
	size_t start, end;
};

struct ranges {
	struct range r[64];
	size_t n;
};

static bool overlaps(const struct ranges *rs, size_t at, size_t len)
{
	for (size_t i = 0; rs != NULL && i < rs->n; i++)
		if (at < rs->r[i].end && at + len > rs->r[i].start)
			return true;
	return false;
}

/* p (m >= MIN_TEXT bytes) occurs in s (n bytes, windows w) somewhere not
 * overlapping skip. */
static bool occurs(const char *s, size_t n, const struct windows *w, const char *p, size_t m,
		   const struct ranges *skip)
{
	uint64_t h = hash_window(p);
	size_t lo = 0, hi = w->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->w[mid].h < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < w->n && w->w[lo].h == h; lo++) {
		size_t at = w->w[lo].pos;
		if (at + m <= n && same_bytes(s + at, p, m) && !overlaps(skip, at, m))
			return true;
	}
	return false;
}

/* A type attribute naming JSON-LD, loosely (a superset of teaser.c's). */
static bool names_ld_json(const char *v)
{
	for (; *v != '\0'; v++)
		if (strncasecmp(v, "ld+json", 7) == 0)
			return true;
	return false;
}

static void add_range(struct ranges *rs, size_t start, size_t end)
{
	if (rs->n < sizeof(rs->r) / sizeof(rs->r[0]))
		rs->r[rs->n++] = (struct range){ start, end };
	else
		rs->r[rs->n - 1].end = (size_t)-1;	/* too many: skip the rest */
}

/*
 * What the rewrite writes itself: JSON-LD texts (found by parsing the
 * teaser) and each copy of the insert with the end tags after it. Hidden
 * bytes copied from the page lie wholly outside these; an occurrence that
 * overlaps one is text equal to generated bytes.
 */
static void generated_ranges(const char *out, size_t outlen, const struct fixed *f,
			     struct ranges *rs)
{
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, out, outlen);

	rs->n = 0;
	for (const GumboNode *n = g->document; n != NULL; n = succ(n, g->document, false)) {
		const GumboAttribute *a;
		const GumboNode *t;

		if (n->type != GUMBO_NODE_ELEMENT || n->v.element.tag != GUMBO_TAG_SCRIPT ||
		    n->v.element.children.length != 1)
			continue;
		a = gumbo_get_attribute(&n->v.element.attributes, "type");
		t = n->v.element.children.data[0];
		if (a != NULL && names_ld_json(a->value) && is_text(t))
			add_range(rs, (size_t)(t->v.text.original_text.data - out),
				  (size_t)(t->v.text.original_text.data - out) +
					  t->v.text.original_text.length);
	}
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	for (size_t at = 0; at + f->insert_len <= outlen; at++) {
		size_t end = at + f->insert_len;
		if (out[at] != f->insert[0] || !same_bytes(out + at, f->insert, f->insert_len))
			continue;
		while (end + 1 < outlen && out[end] == '<' && out[end + 1] == '/') {
			const char *gt = memchr(out + end, '>', outlen - end);
			if (gt == NULL)
				break;
			end = (size_t)(gt - out) + 1;
		}
		add_range(rs, at, end);
	}
}

/* The leak oracle on one TEASER_OK result. */
static void check_no_leak(const uint8_t *data, size_t size, const char *out, size_t outlen,
			  const struct fixed *f)
{
	const char *in = (const char *)data;
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, in, size);
	const GumboNode *c = oracle_container(g->document), *first;
	struct windows wout, wmask, wins;
	struct ranges gen;
	char *masked;

	if (c == NULL)
		fail("TEASER_OK but the oracle finds no container", NULL);
	first = oracle_cut(c);
	masked = malloc(size + 1);
	if (masked == NULL)
		fail("out of memory", NULL);
	memcpy(masked, in, size);
	for (const GumboNode *n = first; n != NULL; n = succ(n, c, false))
		if (is_text(n) && n->v.text.original_text.data >= in &&
		    n->v.text.original_text.data + n->v.text.original_text.length <= in + size)
			memset(masked + (n->v.text.original_text.data - in), 0,
			       n->v.text.original_text.length);
	windows_build(out, outlen, &wout);
	windows_build(masked, size, &wmask);
	windows_build(f->insert, f->insert_len, &wins);
	generated_ranges(out, outlen, f, &gen);
	for (const GumboNode *n = first; n != NULL; n = succ(n, c, false)) {
		const char *t = n->v.text.text;
		const GumboStringPiece *raw = &n->v.text.original_text;
		size_t tl;

		if (!is_text(n))
			continue;
		tl = strlen(t);
		if (tl >= MIN_TEXT && occurs(out, outlen, &wout, t, tl, &gen) &&
		    !occurs(masked, size, &wmask, t, tl, NULL) &&
		    !occurs(f->insert, f->insert_len, &wins, t, tl, NULL))
			fail("hidden text node in the teaser", t);
		if (raw->length >= MIN_TEXT && occurs(out, outlen, &wout, raw->data, raw->length, &gen) &&
		    !occurs(masked, size, &wmask, raw->data, raw->length, NULL))
			fail("hidden source bytes in the teaser", raw->data);
	}
	free(wout.w);
	free(wmask.w);
	free(wins.w);
	free(masked);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}

static bool utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
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

static enum teaser_result check_render(const uint8_t *data, size_t size, const struct fixed *f)
{
	const struct selector *const remove[] = { f->subscriber };
	struct teaser_rules r = { f->container, 2, "paywall-break", f->insert, f->insert_len,
				  remove, 1 };
	char *out = (char *)"untouched";
	size_t outlen = 7;
	enum teaser_result rc = teaser_render((const char *)data, size, &r, &out, &outlen);

	if (rc != TEASER_OK) {
		if (strcmp(out, "untouched") != 0 || outlen != 7)
			fail("teaser_render wrote *out on failure", teaser_result_name(rc));
		return rc;
	}
	if (out[outlen] != '\0')
		fail("teaser not NUL-terminated", NULL);
	if (!utf8_ok((const unsigned char *)out, outlen))
		fail("teaser not UTF-8", out);
	check_no_leak(data, size, out, outlen, f);
	free(out);
	return rc;
}

/* The banner goes in at one place; every other byte is the page's. The
 * page checks are teaser_render's, which may also fail later. */
static void check_inject(const uint8_t *data, size_t size, const struct fixed *f,
			 enum teaser_result render_rc)
{
	const size_t bl = sizeof(BANNER) - 1;
	char *out = NULL;
	size_t outlen = 0, lcp = 0;
	enum teaser_result rc = teaser_inject((const char *)data, size, f->container, BANNER, bl,
					      &out, &outlen);

	if (render_rc == TEASER_PARSE_ERROR ? rc != TEASER_OK && rc != TEASER_PARSE_ERROR :
	    rc != render_rc)
		fail("teaser_inject and teaser_render disagree on the page", teaser_result_name(rc));
	if (rc != TEASER_OK)
		return;
	if (outlen != size + bl || out[outlen] != '\0')
		fail("teaser_inject changed more than the banner", NULL);
	while (lcp < size && out[lcp] == (char)data[lcp])
		lcp++;
	for (size_t p = lcp + 1; p-- > 0;) {
		if (memcmp(out + p, BANNER, bl) == 0 &&
		    memcmp(out + p + bl, data + p, size - p) == 0) {
			free(out);
			return;
		}
	}
	fail("teaser_inject changed more than the banner", NULL);
}

/* The first line as a selector. */
static void check_selector(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t len = nl != NULL ? (size_t)(nl - data) : size, col = 0;
	char line[1100], err[128];
	struct selector *sel = NULL;
	GumboOutput *g;

	if (len >= sizeof(line))
		len = sizeof(line) - 1;
	memcpy(line, data, len);
	line[len] = '\0';
	if (selector_parse(line, &sel, &col, err, sizeof(err)) != 0) {
		if (col < 1 || col > strlen(line) + 1)
			fail("selector error column outside the line", line);
		return;
	}
	if (strstr(line, selector_text(sel)) == NULL || selector_text(sel)[0] == '\0')
		fail("selector_text is not part of the line", line);
	g = gumbo_parse_with_options(&kGumboDefaultOptions, (const char *)data, size);
	for (const GumboNode *n = g->document; n != NULL; n = succ(n, g->document, false))
		(void)selector_matches(sel, n);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
	selector_free(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct fixed *f = fixed_rules();
	enum teaser_result rc;

	if (size > 256 * 1024)
		return 0;
	rc = check_render(data, size, f);
	check_inject(data, size, f, rc);
	check_selector(data, size);
	return 0;
}
