/*
 * teaser: rewriting an article page into its teaser, byte for byte outside the article body.
 *
 * gumbo parses the page as a browser would, so markup-looking text in
 * scripts, comments and attributes cannot move the cut. The tree is never
 * serialized again: the rewrite is a list of edits on the original bytes
 * (drop [start, end), perhaps putting something else there), applied in
 * one pass at the end.
 *
 * gumbo's source positions are only as good as the markup, so what can be
 * checked is checked rather than trusted. Once the edits are planned, every
 * node after the cut and every node of a removed element must lie inside a
 * dropped range; and the output, except plain text nodes (which may repeat
 * a hidden sentence legitimately, in the lead or elsewhere) and the
 * caller's insert, is searched once more for hidden text. Either failing
 * gives TEASER_PARSE_ERROR: the caller serves its generic paywall page and
 * never this page.
 */
#include "teaser.h"

#include <assert.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

/* Windows of hidden text are hashed every TEASER_STRIDE bytes (and at the
 * end of each run): whole runs are always found, and any stretch of
 * TEASER_SCRUB_MIN + TEASER_STRIDE - 1 bytes of one. */
#define TEASER_STRIDE 16
#define TEASER_HASH_BASE 0x100000001b3ULL
/* The closing tags at the cut: far more than any real nesting. */
#define TEASER_CLOSERS_MAX (256 * 1024)
/* gumbo records parse errors only up to this count; none are read. */
#define TEASER_GUMBO_ERRORS 0

/* Source bytes [start, end) replaced by rep (nothing when rep_len is 0). */
struct teaser_edit {
	size_t start, end;
	const char *rep;
	size_t rep_len;
	char *owned;	/* freed with the job */
	bool scan;	/* rep is searched for hidden text before it is sent */
};

struct teaser_range {
	size_t start, end;
};

/* A hashed window of hidden text; off is its offset in the arena plus
 * one, 0 for an empty slot. */
struct teaser_slot {
	uint64_t hash;
	size_t off;
};

/* The hidden text: its runs, normalized, one after another in an arena,
 * and a hash set of their windows. */
struct teaser_hidden {
	char *text;
	size_t len, cap;
	struct teaser_slot *slots;
	size_t n_slots, used;
};

struct teaser_job {
	const char *html;
	size_t len;
	const struct teaser_rules *r;
	GumboOutput *g;
	const GumboNode *container;
	size_t content_start;	/* just after the container's start tag */
	size_t end_limit;	/* where its content ends: its end tag, or what closed it */
	size_t cend;		/* after its end tag */
	bool has_end_tag;
	size_t cut;
	const GumboNode *cut_parent;	/* the innermost element open at the cut */
	bool close_p;			/* the kept <p> had no end tag */
	const GumboNode *hidden_first;	/* first node after the cut; NULL: none */
	const GumboNode *after_container; /* first node after the container's subtree */
	struct teaser_hidden hid;
	struct teaser_edit *edits;
	size_t n_edits, cap_edits;
	struct teaser_range *exempt;	/* plain text nodes the final scan skips */
	size_t n_exempt, cap_exempt;
	const GumboNode **removed;	/* elements matched by r->remove */
	size_t n_removed, cap_removed;
	char *scratch;
	size_t scratch_cap;
};

/* ---- small helpers ---- */

/* Returns the array p (capacity *cap items of size bytes) with room for
 * item n, or NULL, p untouched, when memory runs out. */
static void *teaser_grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return p;
	ncap = *cap ? *cap * 2 : 64;
	if (ncap > SIZE_MAX / size || (np = realloc(p, ncap * size)) == NULL)
		return NULL;
	*cap = ncap;
	return np;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t teaser_utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		need = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		need = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

static bool teaser_is_utf8(const char *s, size_t n)
{
	size_t i = 0, k;

	while (i < n) {
		/* ASCII runs are most of any page. */
		while (i < n && (unsigned char)s[i] < 0x80)
			i++;
		if (i == n)
			break;
		k = teaser_utf8_len((const unsigned char *)s + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

static bool teaser_is_element(const GumboNode *n)
{
	return n != NULL && (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE);
}

static bool teaser_is_tag(const GumboNode *n, GumboTag tag)
{
	return teaser_is_element(n) && n->v.element.tag == tag;
}

static bool teaser_is_clone(const GumboNode *n)
{
	return (n->parse_flags & (GUMBO_INSERTION_BY_PARSER | GUMBO_INSERTION_ADOPTION_AGENCY_CLONED |
				  GUMBO_INSERTION_RECONSTRUCTED_FORMATTING_ELEMENT)) != 0;
}

static bool teaser_is_void(GumboTag t)
{
	static const GumboTag tags[] = {
		GUMBO_TAG_AREA, GUMBO_TAG_BASE, GUMBO_TAG_BR, GUMBO_TAG_COL, GUMBO_TAG_EMBED,
		GUMBO_TAG_HR, GUMBO_TAG_IMG, GUMBO_TAG_INPUT, GUMBO_TAG_LINK, GUMBO_TAG_META,
		GUMBO_TAG_PARAM, GUMBO_TAG_SOURCE, GUMBO_TAG_TRACK, GUMBO_TAG_WBR,
		GUMBO_TAG_BASEFONT, GUMBO_TAG_BGSOUND, GUMBO_TAG_FRAME, GUMBO_TAG_KEYGEN,
		GUMBO_TAG_IMAGE, GUMBO_TAG_MENUITEM,
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i] == t)
			return true;
	return false;
}

/* The formatting elements: the parser may clone them (adoption agency,
 * reconstruction), spreading one element's content over several. */
static bool teaser_is_formatting(GumboTag t)
{
	static const GumboTag tags[] = {
		GUMBO_TAG_A, GUMBO_TAG_B, GUMBO_TAG_BIG, GUMBO_TAG_CODE, GUMBO_TAG_EM,
		GUMBO_TAG_FONT, GUMBO_TAG_I, GUMBO_TAG_NOBR, GUMBO_TAG_S, GUMBO_TAG_SMALL,
		GUMBO_TAG_STRIKE, GUMBO_TAG_STRONG, GUMBO_TAG_TT, GUMBO_TAG_U,
	};

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i] == t)
			return true;
	return false;
}

/* Whose content the leak scrub reads as a whole. */
static bool teaser_is_special(const GumboNode *n)
{
	return n->type == GUMBO_NODE_TEMPLATE || teaser_is_tag(n, GUMBO_TAG_SCRIPT) ||
	       teaser_is_tag(n, GUMBO_TAG_STYLE) || teaser_is_tag(n, GUMBO_TAG_NOSCRIPT);
}

/* Where HTML's tokenizer ends a tag name (a NUL does not: it becomes
 * U+FFFD in the name). */
static bool teaser_ends_tag_name(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>';
}

/* The name in a source tag ("<name ..." or "</name ..."), cut where HTML's
 * tokenizer ends it (gumbo_tag_from_original_text also stops at bytes such
 * as \v, which belong to the name). */
static GumboStringPiece teaser_source_name(GumboStringPiece tag)
{
	GumboStringPiece name = { NULL, 0 };
	size_t skip = tag.length > 1 && tag.data[1] == '/' ? 2 : 1, n = 0;

	if (tag.length <= skip || tag.data[0] != '<')
		return name;
	name.data = tag.data + skip;
	while (n < tag.length - skip && !teaser_ends_tag_name(name.data[n]))
		n++;
	name.length = n;
	return name;
}

/* The element's tag name: gumbo's for known tags, else the source's. */
static GumboStringPiece teaser_tag_name(const GumboElement *e)
{
	GumboStringPiece name = { NULL, 0 };

	if (e->tag != GUMBO_TAG_UNKNOWN) {
		name.data = gumbo_normalized_tagname(e->tag);
		name.length = strlen(name.data);
	} else if (e->original_tag.length > 0) {
		name = teaser_source_name(e->original_tag);
	}
	return name;
}

static const GumboVector *teaser_children(const GumboNode *n)
{
	if (n->type == GUMBO_NODE_DOCUMENT)
		return &n->v.document.children;
	if (teaser_is_element(n))
		return &n->v.element.children;
	return NULL;
}

/*
 * The node after n in document order within root's subtree, not entering
 * n's children when skip; NULL at the end. Iterative, so no page nests
 * deeply enough to overflow the stack.
 */
static const GumboNode *teaser_next(const GumboNode *n, const GumboNode *root, bool skip)
{
	const GumboVector *c = skip ? NULL : teaser_children(n);

	if (c != NULL && c->length > 0)
		return c->data[0];
	while (n != root && n->parent != NULL) {
		const GumboVector *pc = teaser_children(n->parent);
		size_t i = n->index_within_parent;

		if (i >= pc->length || pc->data[i] != n) {
			int k = gumbo_vector_index_of((GumboVector *)pc, n);
			if (k < 0)
				return NULL;
			i = (size_t)k;
		}
		if (i + 1 < pc->length)
			return pc->data[i + 1];
		n = n->parent;
	}
	return NULL;
}

static bool teaser_is_inside(const GumboNode *n, const GumboNode *ancestor)
{
	for (; n != NULL; n = n->parent)
		if (n == ancestor)
			return true;
	return false;
}

/* True when the element has its own end tag in the source, at end_pos. */
static bool teaser_has_end_tag(const struct teaser_job *j, const GumboNode *n)
{
	const GumboElement *e = &n->v.element;
	GumboStringPiece t = e->original_end_tag, name = teaser_tag_name(e);

	if (t.length == 0 || (n->parse_flags & GUMBO_INSERTION_IMPLICIT_END_TAG) ||
	    t.data != j->html + e->end_pos.offset || e->end_pos.offset + t.length > j->len ||
	    name.length == 0)
		return false;
	t = teaser_source_name(t);
	return t.length == name.length && strncasecmp(t.data, name.data, name.length) == 0;
}

/*
 * Where element n is in the source: its start tag [*start, *tag_end), and
 * *end after its end tag, or where the token that closed it starts. -1
 * when its start tag is not in the source (implied or cloned by the
 * parser) or gumbo's positions disagree with the bytes.
 */
static int teaser_elem_range(const struct teaser_job *j, const GumboNode *n, size_t *start,
			     size_t *tag_end, size_t *end)
{
	const GumboElement *e = &n->v.element;
	size_t s = e->start_pos.offset;

	if (teaser_is_clone(n) || e->original_tag.length == 0 || e->original_tag.data != j->html + s ||
	    s + e->original_tag.length > j->len)
		return -1;
	*start = s;
	*tag_end = s + e->original_tag.length;
	if (teaser_has_end_tag(j, n) && e->end_pos.offset >= *tag_end)
		*end = e->end_pos.offset + e->original_end_tag.length;
	else if (e->end_pos.offset >= *tag_end && e->end_pos.offset <= j->len)
		*end = e->end_pos.offset;
	else if (e->children.length == 0)
		*end = *tag_end;
	else
		return -1;
	return 0;
}

/* The source range of a text, CDATA or comment node; -1 when gumbo's
 * position disagrees with its text. */
static int teaser_text_range(const struct teaser_job *j, const GumboNode *n, size_t *start,
			     size_t *end)
{
	const GumboText *t = &n->v.text;

	if (t->original_text.data != j->html + t->start_pos.offset ||
	    t->start_pos.offset + t->original_text.length > j->len)
		return -1;
	*start = t->start_pos.offset;
	*end = *start + t->original_text.length;
	return 0;
}

static bool teaser_is_removed(const struct teaser_job *j, const GumboNode *n)
{
	if (!teaser_is_element(n))
		return false;
	for (size_t i = 0; i < j->r->n_remove; i++)
		if (selector_matches(j->r->remove[i], n))
			return true;
	return false;
}

/* ---- normalizing text for comparison ---- */

/* Writes code point cp as UTF-8 (U+FFFD for what is not a scalar value). */
static size_t teaser_put_utf8(char *out, unsigned long cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

static int teaser_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly digits hex digits at s. */
static bool teaser_hex(const char *s, int digits, unsigned long *v)
{
	*v = 0;
	for (int i = 0; i < digits; i++) {
		int d = teaser_hex_digit(s[i]);
		if (d < 0)
			return false;
		*v = *v << 4 | (unsigned long)d;
	}
	return true;
}

/*
 * Decodes the JavaScript/JSON escape at s (a backslash and n - 1 more
 * bytes, n >= 2) into out at *w; returns the bytes read. Reads everything
 * before writing and never writes more than it read, so out may be s.
 */
static size_t teaser_unescape_js(const char *s, size_t n, char *out, size_t *w)
{
	unsigned long cp, lo;

	if (s[1] == 'u' && n >= 6 && teaser_hex(s + 2, 4, &cp)) {
		if (cp >= 0xd800 && cp <= 0xdbff && n >= 12 && s[6] == '\\' && s[7] == 'u' &&
		    teaser_hex(s + 8, 4, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
			*w += teaser_put_utf8(out + *w, 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00));
			return 12;
		}
		*w += teaser_put_utf8(out + *w, cp);
		return 6;
	}
	if (s[1] == 'x' && n >= 4 && teaser_hex(s + 2, 2, &cp)) {
		*w += teaser_put_utf8(out + *w, cp);
		return 4;
	}
	out[(*w)++] = s[1] != '\0' && strchr("nrtfvb", s[1]) != NULL ? ' ' : s[1];
	return 2;
}

static int teaser_digit(char c, bool hex)
{
	if (hex)
		return teaser_hex_digit(c);
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

/* A numeric character reference at s ("&#", n >= 2): as teaser_unescape_js. */
static size_t teaser_unescape_num(const char *s, size_t n, char *out, size_t *w)
{
	bool hex = n > 2 && (s[2] == 'x' || s[2] == 'X');
	size_t i = hex ? 3 : 2, first = i;
	unsigned long cp = 0;
	int d;

	while (i < n && (d = teaser_digit(s[i], hex)) >= 0) {
		cp = cp * (hex ? 16 : 10) + (unsigned long)d;
		if (cp > 0x10ffff)
			cp = 0x110000;
		i++;
	}
	if (i == first) {
		out[(*w)++] = '&';
		return 1;
	}
	if (i < n && s[i] == ';')
		i++;
	*w += teaser_put_utf8(out + *w, cp);
	return i;
}

/* A named character reference at s ('&'): the common ones only. */
static size_t teaser_unescape_named(const char *s, size_t n, char *out, size_t *w)
{
	static const struct {
		const char *name, *utf8;
	} ents[] = {
		{ "amp", "&" }, { "lt", "<" }, { "gt", ">" }, { "quot", "\"" }, { "apos", "'" },
		{ "nbsp", " " }, { "rsquo", "\xe2\x80\x99" }, { "lsquo", "\xe2\x80\x98" },
		{ "rdquo", "\xe2\x80\x9d" }, { "ldquo", "\xe2\x80\x9c" }, { "ndash", "\xe2\x80\x93" },
		{ "mdash", "\xe2\x80\x94" }, { "hellip", "\xe2\x80\xa6" }, { "laquo", "\xc2\xab" },
		{ "raquo", "\xc2\xbb" }, { "eacute", "\xc3\xa9" }, { "egrave", "\xc3\xa8" },
		{ "agrave", "\xc3\xa0" }, { "euro", "\xe2\x82\xac" }, { "pound", "\xc2\xa3" },
		{ "copy", "\xc2\xa9" },
	};

	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		size_t k = strlen(ents[i].name), u = strlen(ents[i].utf8);
		if (n >= k + 2 && memcmp(s + 1, ents[i].name, k) == 0 && s[k + 1] == ';') {
			memmove(out + *w, ents[i].utf8, u);
			*w += u;
			return k + 2;
		}
	}
	out[(*w)++] = '&';
	return 1;
}

/* One pass of JS/JSON escape and HTML character reference decoding from
 * in to out (which may be in); returns the length written, <= n. */
static size_t teaser_decode(const char *in, size_t n, char *out)
{
	size_t i = 0, w = 0;

	while (i < n) {
		if (in[i] == '\\' && i + 1 < n)
			i += teaser_unescape_js(in + i, n - i, out, &w);
		else if (in[i] == '&' && i + 1 < n && in[i + 1] == '#')
			i += teaser_unescape_num(in + i, n - i, out, &w);
		else if (in[i] == '&')
			i += teaser_unescape_named(in + i, n - i, out, &w);
		else
			out[w++] = in[i++];
	}
	return w;
}

/* The length of the whitespace character at s (ASCII or U+00A0), or 0. */
static size_t teaser_space_len(const char *s, size_t n)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f' || *s == '\v')
		return 1;
	if (n >= 2 && (unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0)
		return 2;
	return 0;
}

/* Collapses whitespace runs in s to one space and trims both ends. */
static size_t teaser_squash(char *s, size_t n)
{
	size_t w = 0, k;
	bool space = true;

	for (size_t i = 0; i < n; i += k) {
		k = teaser_space_len(s + i, n - i);
		if (k > 0) {
			if (!space)
				s[w++] = ' ';
			space = true;
			continue;
		}
		k = 1;
		s[w++] = s[i];
		space = false;
	}
	if (w > 0 && s[w - 1] == ' ')
		w--;
	return w;
}

/*
 * The form hidden text and candidates are compared in: escapes decoded
 * twice (a JSON string inside a JS string, "&amp;quot;"), whitespace
 * collapsed. out holds at least n bytes; returns the length.
 */
static size_t teaser_norm(const char *in, size_t n, char *out)
{
	size_t w = teaser_decode(in, n, out);

	w = teaser_decode(out, w, out);
	return teaser_squash(out, w);
}

/* ---- the hidden text set ---- */

static uint64_t teaser_hash(const char *s)
{
	uint64_t h = 0;

	for (size_t i = 0; i < TEASER_SCRUB_MIN; i++)
		h = h * TEASER_HASH_BASE + (unsigned char)s[i];
	return h;
}

static bool teaser_hidden_has(const struct teaser_hidden *h, uint64_t hash, const char *s)
{
	size_t mask = h->n_slots - 1;

	for (size_t i = hash & mask; h->slots[i].off != 0; i = (i + 1) & mask)
		if (h->slots[i].hash == hash &&
		    memcmp(h->text + h->slots[i].off - 1, s, TEASER_SCRUB_MIN) == 0)
			return true;
	return false;
}

static void teaser_hidden_put(struct teaser_slot *slots, size_t n_slots, uint64_t hash, size_t off)
{
	size_t i = hash & (n_slots - 1);

	while (slots[i].off != 0)
		i = (i + 1) & (n_slots - 1);
	slots[i].hash = hash;
	slots[i].off = off + 1;
}

/* Doubles the table once it is half full. */
static int teaser_hidden_reserve(struct teaser_hidden *h)
{
	size_t n = h->n_slots ? h->n_slots * 2 : 1024;
	struct teaser_slot *ns;

	if ((h->used + 1) * 2 <= h->n_slots)
		return 0;
	ns = calloc(n, sizeof(*ns));
	if (ns == NULL)
		return -1;
	for (size_t i = 0; i < h->n_slots; i++)
		if (h->slots[i].off != 0)
			teaser_hidden_put(ns, n, h->slots[i].hash, h->slots[i].off - 1);
	free(h->slots);
	h->slots = ns;
	h->n_slots = n;
	return 0;
}

static int teaser_hidden_window(struct teaser_hidden *h, size_t off)
{
	uint64_t hash = teaser_hash(h->text + off);

	if (h->n_slots > 0 && teaser_hidden_has(h, hash, h->text + off))
		return 0;
	if (teaser_hidden_reserve(h) != 0)
		return -1;
	teaser_hidden_put(h->slots, h->n_slots, hash, off);
	h->used++;
	return 0;
}

/* Adds one hidden text run (as gumbo decoded it) to the set. */
static int teaser_hidden_add(struct teaser_hidden *h, const char *text, size_t n)
{
	size_t m, off = h->len;

	if (n < TEASER_SCRUB_MIN)
		return 0;
	if (h->len + n > h->cap) {
		size_t cap = h->cap * 2 > h->len + n ? h->cap * 2 : h->len + n;
		char *nt = realloc(h->text, cap);
		if (nt == NULL)
			return -1;
		h->text = nt;
		h->cap = cap;
	}
	m = teaser_norm(text, n, h->text + off);
	if (m < TEASER_SCRUB_MIN)
		return 0;
	h->len += m;
	for (size_t p = 0; p + TEASER_SCRUB_MIN <= m; p += TEASER_STRIDE)
		if (teaser_hidden_window(h, off + p) != 0)
			return -1;
	return teaser_hidden_window(h, off + m - TEASER_SCRUB_MIN);
}

/* True when some window of the normalized s (m bytes) is hidden text. */
static bool teaser_hidden_scan(const struct teaser_hidden *h, const char *s, size_t m)
{
	uint64_t top = 1, hash;

	if (m < TEASER_SCRUB_MIN || h->used == 0)
		return false;
	for (size_t i = 1; i < TEASER_SCRUB_MIN; i++)
		top *= TEASER_HASH_BASE;
	hash = teaser_hash(s);
	for (size_t i = 0;; i++) {
		if (teaser_hidden_has(h, hash, s + i))
			return true;
		if (i + TEASER_SCRUB_MIN >= m)
			return false;
		hash = (hash - top * (unsigned char)s[i]) * TEASER_HASH_BASE +
		       (unsigned char)s[i + TEASER_SCRUB_MIN];
	}
}

/*
 * True when s (n bytes: an attribute value, a comment, script text, a
 * stretch of output) holds hidden text once normalized. *err is set when
 * memory runs out (and true returned: the caller fails closed).
 */
static bool teaser_hit(struct teaser_job *j, const char *s, size_t n, bool *err)
{
	size_t m;

	if (j->hid.used == 0 || n < TEASER_SCRUB_MIN)
		return false;
	if (n > j->scratch_cap) {
		char *ns = realloc(j->scratch, n);
		if (ns == NULL) {
			*err = true;
			return true;
		}
		j->scratch = ns;
		j->scratch_cap = n;
	}
	m = teaser_norm(s, n, j->scratch);
	return teaser_hidden_scan(&j->hid, j->scratch, m);
}

/* ---- the edit list ---- */

static int teaser_add_edit(struct teaser_job *j, size_t start, size_t end, const char *rep,
			   size_t rep_len, char *owned, bool scan)
{
	struct teaser_edit *e = teaser_grow(j->edits, &j->cap_edits, j->n_edits, sizeof(*e));

	if (e == NULL) {
		free(owned);
		return -1;
	}
	j->edits = e;
	j->edits[j->n_edits++] = (struct teaser_edit){ start, end, rep, rep_len, owned, scan };
	return 0;
}

/* Drops element n from start tag to end tag. */
static enum teaser_result teaser_drop_element(struct teaser_job *j, const GumboNode *n)
{
	size_t start, tag_end, end;

	if (teaser_elem_range(j, n, &start, &tag_end, &end) != 0)
		return TEASER_PARSE_ERROR;
	return teaser_add_edit(j, start, end, NULL, 0, NULL, false) == 0 ? TEASER_OK :
	       TEASER_PARSE_ERROR;
}

/* Sorts by start; at one start, insertions (empty ranges) first, then the
 * widest range, so that what a range contains comes after it. */
static int teaser_edit_cmp(const void *a, const void *b)
{
	const struct teaser_edit *x = a, *y = b;
	bool xe = x->start == x->end, ye = y->start == y->end;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (xe != ye)
		return xe ? -1 : 1;
	if (x->end != y->end)
		return x->end > y->end ? -1 : 1;
	return 0;
}

/* Sorts the edits and drops those inside another. Edits that overlap
 * without nesting mean the positions are not to be trusted. */
static enum teaser_result teaser_merge(struct teaser_job *j)
{
	size_t w = 0, last_end = 0;

	if (j->n_edits > 0)
		qsort(j->edits, j->n_edits, sizeof(*j->edits), teaser_edit_cmp);
	for (size_t i = 0; i < j->n_edits; i++) {
		struct teaser_edit *e = &j->edits[i];

		if (e->start >= last_end) {
			last_end = e->end;
			j->edits[w++] = *e;
		} else if (e->end <= last_end) {
			free(e->owned);
		} else {
			for (size_t k = i; k < j->n_edits; k++)
				free(j->edits[k].owned);
			j->n_edits = w;
			return TEASER_PARSE_ERROR;
		}
	}
	j->n_edits = w;
	return TEASER_OK;
}

/* True when [start, end) lies inside one dropped range (edits merged). */
static bool teaser_is_dropped(const struct teaser_job *j, size_t start, size_t end)
{
	size_t lo = 0, hi = j->n_edits;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->edits[mid].start <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && j->edits[lo - 1].end >= end && j->edits[lo - 1].end > start;
}

/* ---- opening the page: size, encoding, parse, container ---- */

static bool teaser_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* The labels the Encoding Standard maps to UTF-8. */
static bool teaser_label_is_utf8(const char *s, size_t n)
{
	static const char *const labels[] = {
		"utf-8", "utf8", "unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8",
		"x-unicode20utf8",
	};

	while (n > 0 && teaser_is_space(*s))
		s++, n--;
	while (n > 0 && teaser_is_space(s[n - 1]))
		n--;
	for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
		if (strlen(labels[i]) == n && strncasecmp(labels[i], s, n) == 0)
			return true;
	return false;
}

/* The first "charset", in any case, at or after p; NULL when none. */
static const char *teaser_find_charset(const char *p)
{
	for (; *p != '\0'; p++)
		if (strncasecmp(p, "charset", 7) == 0)
			return p;
	return NULL;
}

/* HTML's "extracting a character encoding from a meta element": the
 * charset in a Content-Type value; false when there is none. */
static bool teaser_content_charset(const char *s, const char **cs, size_t *n)
{
	const char *p = s, *q;

	while ((p = teaser_find_charset(p)) != NULL) {
		p += 7;
		while (teaser_is_space(*p))
			p++;
		if (*p != '=')
			continue;
		p++;
		while (teaser_is_space(*p))
			p++;
		if (*p == '"' || *p == '\'') {
			q = strchr(p + 1, *p);
			if (q == NULL)
				return false;
			*cs = p + 1;
			*n = (size_t)(q - p - 1);
			return true;
		}
		if (*p == '\0')
			return false;
		for (q = p; *q != '\0' && *q != ';' && !teaser_is_space(*q); q++)
			;
		*cs = p;
		*n = (size_t)(q - p);
		return true;
	}
	return false;
}

/* False when a <meta> declares a charset other than UTF-8. */
static bool teaser_meta_is_utf8(const GumboNode *n)
{
	const GumboVector *attrs = &n->v.element.attributes;
	const GumboAttribute *a = gumbo_get_attribute(attrs, "charset");
	const char *cs;
	size_t len;

	if (a != NULL && !teaser_label_is_utf8(a->value, strlen(a->value)))
		return false;
	a = gumbo_get_attribute(attrs, "http-equiv");
	if (a == NULL || strcasecmp(a->value, "content-type") != 0)
		return true;
	a = gumbo_get_attribute(attrs, "content");
	return a == NULL || !teaser_content_charset(a->value, &cs, &len) ||
	       teaser_label_is_utf8(cs, len);
}

/*
 * One walk over the page: every <meta> must agree the page is UTF-8 (that
 * result comes first); the container is the first element matching sel
 * outside <template>. A matching element the parser cloned means the
 * container's content may be spread over several elements: fail closed.
 */
static enum teaser_result teaser_find_container(struct teaser_job *j, const struct selector *sel)
{
	const GumboNode *doc = j->g->document, *n = doc, *found = NULL;
	bool cloned = false;

	while (n != NULL) {
		bool skip = n->type == GUMBO_NODE_TEMPLATE;

		if (teaser_is_tag(n, GUMBO_TAG_META) && !teaser_meta_is_utf8(n))
			return TEASER_NOT_UTF8;
		if (!skip && teaser_is_element(n) && selector_matches(sel, n)) {
			cloned = cloned || teaser_is_clone(n);
			if (found == NULL)
				found = n;
		}
		n = teaser_next(n, doc, skip);
	}
	if (cloned)
		return TEASER_PARSE_ERROR;
	if (found == NULL)
		return TEASER_NO_CONTAINER;
	j->container = found;
	return TEASER_OK;
}

/* Locates the container's start tag, content and end in the source. */
static enum teaser_result teaser_locate_container(struct teaser_job *j)
{
	const GumboNode *c = j->container;
	size_t start;

	if (teaser_is_formatting(c->v.element.tag) ||
	    teaser_elem_range(j, c, &start, &j->content_start, &j->cend) != 0)
		return TEASER_PARSE_ERROR;
	j->has_end_tag = teaser_has_end_tag(j, c);
	j->end_limit = j->has_end_tag ? c->v.element.end_pos.offset : j->cend;
	if (j->end_limit < j->content_start)
		return TEASER_PARSE_ERROR;
	j->after_container = teaser_next(c, j->g->document, true);
	return TEASER_OK;
}

static enum teaser_result teaser_open(struct teaser_job *j, const struct selector *sel)
{
	GumboOptions opts = kGumboDefaultOptions;
	enum teaser_result rc;

	if (j->len > TEASER_PAGE_MAX)
		return TEASER_TOO_LARGE;
	if (!teaser_is_utf8(j->html, j->len))
		return TEASER_NOT_UTF8;
	opts.max_errors = TEASER_GUMBO_ERRORS;
	j->g = gumbo_parse_with_options(&opts, j->html, j->len);
	if (j->g == NULL || j->g->document == NULL)
		return TEASER_PARSE_ERROR;
	rc = teaser_find_container(j, sel);
	return rc == TEASER_OK ? teaser_locate_container(j) : rc;
}

/* ---- the cut ---- */

static bool teaser_is_marker(const struct teaser_job *j, const GumboNode *n)
{
	const char *t = n->v.text.text;
	size_t len = strlen(t), mlen = strlen(j->r->marker);

	while (len > 0 && teaser_is_space(*t))
		t++, len--;
	while (len > 0 && teaser_is_space(t[len - 1]))
		len--;
	return len == mlen && memcmp(t, j->r->marker, len) == 0;
}

/*
 * Finds the cut node: the first marker comment in the container, else its
 * keep_paragraphs-th <p> (or its last, when it has fewer). Neither counts
 * inside <template> (inert), <noscript> (text, not paragraphs, in a browser
 * running scripts) or a removed element.
 */
static void teaser_find_cut_node(const struct teaser_job *j, const GumboNode **marker,
				 const GumboNode **p)
{
	const GumboNode *c = j->container, *n = teaser_next(c, c, false);
	long count = 0;

	*marker = *p = NULL;
	while (n != NULL) {
		bool skip = n->type == GUMBO_NODE_TEMPLATE || teaser_is_tag(n, GUMBO_TAG_NOSCRIPT) ||
			    teaser_is_removed(j, n);

		if (!skip && n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == GUMBO_TAG_P &&
		    n->v.element.tag_namespace == GUMBO_NAMESPACE_HTML &&
		    count < j->r->keep_paragraphs) {
			*p = n;
			count++;
		}
		if (n->type == GUMBO_NODE_COMMENT && j->r->marker != NULL && j->r->marker[0] != '\0' &&
		    teaser_is_marker(j, n)) {
			*marker = n;
			return;
		}
		n = teaser_next(n, c, skip);
	}
}

static enum teaser_result teaser_find_cut(struct teaser_job *j)
{
	const GumboNode *c = j->container, *marker, *p;
	size_t end;

	teaser_find_cut_node(j, &marker, &p);
	if (marker != NULL) {
		if (teaser_text_range(j, marker, &j->cut, &end) != 0)
			return TEASER_PARSE_ERROR;
		j->hidden_first = marker;
		j->cut_parent = marker->parent;
	} else if (p != NULL) {
		const GumboElement *e = &p->v.element;
		j->close_p = !teaser_has_end_tag(j, p);
		j->cut = e->end_pos.offset + (j->close_p ? 0 : e->original_end_tag.length);
		j->hidden_first = teaser_next(p, c, true);
		j->cut_parent = p->parent;
	} else {
		j->cut = j->content_start;
		j->hidden_first = teaser_next(c, c, false);
		j->cut_parent = c;
	}
	if (j->cut < j->content_start || j->cut > j->end_limit)
		return TEASER_PARSE_ERROR;
	return TEASER_OK;
}

/* Appends "</name>" for element n; -1 when its name is unknown or odd. */
static int teaser_append_end_tag(struct buf *b, const GumboNode *n)
{
	GumboStringPiece name = teaser_tag_name(&n->v.element);

	if (name.length == 0)
		return -1;
	for (size_t i = 0; i < name.length; i++) {
		char c = name.data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == ':' || c == '.'))
			return -1;
	}
	if (buf_append(b, "</", 2) != 0 || buf_append(b, name.data, name.length) != 0 ||
	    buf_append(b, ">", 1) != 0)
		return -1;
	return 0;
}

/* What replaces [cut, cend): the insert, the end tags of the elements open
 * at the cut (innermost first), the container's end tag. */
static enum teaser_result teaser_add_cut_edit(struct teaser_job *j)
{
	const GumboNode *c = j->container;
	const GumboElement *ce = &c->v.element;
	struct buf b;
	enum teaser_result rc = TEASER_PARSE_ERROR;

	buf_init(&b, TEASER_CLOSERS_MAX + j->r->insert_len + ce->original_end_tag.length);
	if (buf_append(&b, j->r->insert, j->r->insert_len) != 0)
		goto out;
	if (j->close_p && buf_append(&b, "</p>", 4) != 0)
		goto out;
	for (const GumboNode *a = j->cut_parent; a != c; a = a->parent)
		if (!teaser_is_element(a) || teaser_append_end_tag(&b, a) != 0)
			goto out;
	if (j->has_end_tag) {
		if (buf_append(&b, ce->original_end_tag.data, ce->original_end_tag.length) != 0)
			goto out;
	} else if (!teaser_is_void(ce->tag) && teaser_append_end_tag(&b, c) != 0) {
		goto out;
	}
	if (teaser_add_edit(j, j->cut, j->cend, b.data, b.len, b.data, false) == 0)
		rc = TEASER_OK;
	b.data = NULL;
out:
	buf_free(&b);
	return rc;
}

/* ---- the hidden text ---- */

/* Every text node after the cut, outside <script> and <style> (code, not
 * the article), goes into the hidden set. */
static enum teaser_result teaser_collect_hidden(struct teaser_job *j)
{
	const GumboNode *c = j->container;

	for (const GumboNode *n = j->hidden_first; n != NULL; n = teaser_next(n, c, false)) {
		if (n->type != GUMBO_NODE_TEXT && n->type != GUMBO_NODE_CDATA)
			continue;
		if (teaser_is_tag(n->parent, GUMBO_TAG_SCRIPT) || teaser_is_tag(n->parent, GUMBO_TAG_STYLE))
			continue;
		if (teaser_hidden_add(&j->hid, n->v.text.text, strlen(n->v.text.text)) != 0)
			return TEASER_PARSE_ERROR;
	}
	return TEASER_OK;
}

/* ---- JSON-LD ---- */

static bool teaser_is_ld(const GumboNode *n)
{
	const GumboAttribute *a;
	const char *t;
	size_t len;

	if (!teaser_is_tag(n, GUMBO_TAG_SCRIPT))
		return false;
	a = gumbo_get_attribute(&n->v.element.attributes, "type");
	if (a == NULL)
		return false;
	t = a->value;
	while (teaser_is_space(*t))
		t++;
	len = strcspn(t, ";");
	while (len > 0 && teaser_is_space(t[len - 1]))
		len--;
	return len == 19 && strncasecmp(t, "application/ld+json", 19) == 0;
}

/* Article types: NewsArticle, BlogPosting, ... ("schema:" or URL prefixes
 * allowed). */
static bool teaser_ld_name_is_article(const char *s)
{
	const char *p = strrchr(s, '/'), *q = strrchr(s, ':');
	size_t len;

	if (q != NULL && (p == NULL || q > p))
		p = q;
	s = p != NULL ? p + 1 : s;
	len = strlen(s);
	return (len >= 7 && strcmp(s + len - 7, "Article") == 0) ||
	       (len >= 7 && strcmp(s + len - 7, "Posting") == 0) || strcmp(s, "Report") == 0 ||
	       strcmp(s, "APIReference") == 0;
}

static bool teaser_ld_is_article(const json_t *type)
{
	size_t i;
	json_t *t;

	if (json_is_string(type))
		return teaser_ld_name_is_article(json_string_value(type));
	json_array_foreach(type, i, t)
		if (json_is_string(t) && teaser_ld_name_is_article(json_string_value(t)))
			return true;
	return false;
}

/* Google's paywalled-content markup on an article object. */
static int teaser_ld_mark(const struct teaser_job *j, json_t *o)
{
	json_t *part = json_pack("{s:s, s:b, s:s}", "@type", "WebPageElement",
				 "isAccessibleForFree", 0, "cssSelector",
				 selector_text(j->r->container));

	if (part == NULL || json_object_set_new(o, "isAccessibleForFree", json_false()) != 0) {
		json_decref(part);
		return -1;
	}
	return json_object_set_new(o, "hasPart", part);
}

static int teaser_ld_clean(struct teaser_job *j, json_t *v, bool *err);

static int teaser_ld_clean_object(struct teaser_job *j, json_t *o, bool *err)
{
	bool had_body = json_object_get(o, "articleBody") != NULL ||
			json_object_get(o, "text") != NULL;
	const char *key;
	json_t *val;
	void *tmp;

	json_object_del(o, "articleBody");
	json_object_del(o, "text");
	json_object_foreach_safe(o, tmp, key, val) {
		if (teaser_hit(j, key, strlen(key), err) ||
		    (json_is_string(val) &&
		     teaser_hit(j, json_string_value(val), json_string_length(val), err))) {
			json_object_del(o, key);
			continue;
		}
		if (teaser_ld_clean(j, val, err) != 0)
			return -1;
	}
	if (had_body || teaser_ld_is_article(json_object_get(o, "@type")))
		return teaser_ld_mark(j, o);
	return 0;
}

/* Strips article text from every object in v (any depth: @graph, nested
 * objects) and any string holding hidden text. */
static int teaser_ld_clean(struct teaser_job *j, json_t *v, bool *err)
{
	if (json_is_object(v))
		return teaser_ld_clean_object(j, v, err);
	if (!json_is_array(v))
		return 0;
	for (size_t i = json_array_size(v); i-- > 0;) {
		json_t *item = json_array_get(v, i);

		if (json_is_string(item) &&
		    teaser_hit(j, json_string_value(item), json_string_length(item), err)) {
			if (json_array_remove(v, i) != 0)
				return -1;
		} else if (teaser_ld_clean(j, item, err) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Compact JSON with '/', '<', '>' and '&' escaped: nothing in it can end
 * the script or start a comment. */
static char *teaser_ld_dump(const json_t *v, size_t *len)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_ENCODE_ANY), *out;
	size_t n, extra = 0, w = 0;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	for (size_t i = 0; i < n; i++)
		extra += s[i] == '<' || s[i] == '>' || s[i] == '&' ? 5 : 0;
	out = malloc(n + extra + 1);
	if (out != NULL) {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '<' || s[i] == '>' || s[i] == '&')
				w += (size_t)snprintf(out + w, 7, "\\u%04x", (unsigned)s[i]);
			else
				out[w++] = s[i];
		}
		out[w] = '\0';
		*len = w;
	}
	free(s);
	return out;
}

/* Replaces the text of a JSON-LD script with its cleaned form ("{}" when
 * it does not parse). */
static enum teaser_result teaser_rewrite_ld(struct teaser_job *j, const GumboNode *script)
{
	const GumboVector *kids = &script->v.element.children;
	const GumboNode *t;
	json_t *root;
	size_t start, end, len = 2;
	char *rep = NULL;
	bool err = false;

	if (kids->length == 0)
		return TEASER_OK;
	t = kids->data[0];
	if (kids->length != 1 || (t->type != GUMBO_NODE_TEXT && t->type != GUMBO_NODE_WHITESPACE) ||
	    teaser_text_range(j, t, &start, &end) != 0)
		return TEASER_PARSE_ERROR;
	root = json_loads(t->v.text.text, JSON_DECODE_ANY, NULL);
	if (root != NULL) {
		if (teaser_ld_clean(j, root, &err) == 0 && !err)
			rep = teaser_ld_dump(root, &len);
		json_decref(root);
		if (rep == NULL)
			return TEASER_PARSE_ERROR;
	} else if ((rep = strdup("{}")) == NULL) {
		return TEASER_PARSE_ERROR;
	}
	return teaser_add_edit(j, start, end, rep, len, rep, true) == 0 ? TEASER_OK :
	       TEASER_PARSE_ERROR;
}

/* ---- planning the edits ---- */

/* Drops the attributes of n whose value holds hidden text. */
static enum teaser_result teaser_scrub_attrs(struct teaser_job *j, const GumboNode *n)
{
	const GumboVector *attrs = &n->v.element.attributes;
	bool err = false;

	if (teaser_is_clone(n))
		return TEASER_OK;	/* its attributes are the original's */
	for (unsigned i = 0; i < attrs->length; i++) {
		const GumboAttribute *a = attrs->data[i];
		size_t start = a->name_start.offset, end;

		if (!teaser_hit(j, a->value, strlen(a->value), &err))
			continue;
		end = a->value_start.offset + a->original_value.length;
		if (err || a->original_name.data != j->html + start || a->value_start.offset == 0 ||
		    a->original_value.data != j->html + a->value_start.offset || end > j->len ||
		    end <= start || teaser_add_edit(j, start, end, NULL, 0, NULL, false) != 0)
			return TEASER_PARSE_ERROR;
	}
	return TEASER_OK;
}

/* A comment holding hidden text is dropped; a plain text node is exempt
 * from the final scan (unless its source holds markup gumbo ignored). */
static enum teaser_result teaser_plan_text(struct teaser_job *j, const GumboNode *n)
{
	const GumboText *t = &n->v.text;
	struct teaser_range *r;
	size_t start, end;
	bool err = false;

	if (n->type == GUMBO_NODE_COMMENT) {
		if (!teaser_hit(j, t->text, strlen(t->text), &err))
			return TEASER_OK;
		if (err || teaser_text_range(j, n, &start, &end) != 0 ||
		    teaser_add_edit(j, start, end, NULL, 0, NULL, false) != 0)
			return TEASER_PARSE_ERROR;
		return TEASER_OK;
	}
	if (n->type != GUMBO_NODE_TEXT || j->hid.used == 0 ||
	    teaser_text_range(j, n, &start, &end) != 0 || memchr(j->html + start, '<', end - start) != NULL)
		return TEASER_OK;
	r = teaser_grow(j->exempt, &j->cap_exempt, j->n_exempt, sizeof(*r));
	if (r == NULL)
		return TEASER_PARSE_ERROR;
	j->exempt = r;
	j->exempt[j->n_exempt++] = (struct teaser_range){ start, end };
	return TEASER_OK;
}

/* Where the plan walk is: inside which <script>, <style>, <noscript> or
 * <template> (outermost), until which node. */
struct teaser_walk {
	const GumboNode *n, *special, *special_end;
};

static enum teaser_result teaser_plan_removed(struct teaser_job *j, struct teaser_walk *w)
{
	const GumboNode **r = teaser_grow(j->removed, &j->cap_removed, j->n_removed, sizeof(*r));

	if (r == NULL)
		return TEASER_PARSE_ERROR;
	j->removed = r;
	j->removed[j->n_removed++] = w->n;
	w->n = teaser_next(w->n, j->g->document, true);
	return teaser_drop_element(j, j->removed[j->n_removed - 1]);
}

static enum teaser_result teaser_plan_element(struct teaser_job *j, struct teaser_walk *w)
{
	const GumboNode *n = w->n;
	enum teaser_result rc;

	if (teaser_is_removed(j, n))
		return teaser_plan_removed(j, w);
	rc = teaser_scrub_attrs(j, n);
	if (rc != TEASER_OK)
		return rc;
	if (teaser_is_ld(n)) {
		w->n = teaser_next(n, j->g->document, true);
		return teaser_rewrite_ld(j, n);
	}
	if (w->special == NULL && teaser_is_special(n)) {
		w->special = n;
		w->special_end = teaser_next(n, j->g->document, true);
	}
	w->n = teaser_next(n, j->g->document, false);
	return TEASER_OK;
}

/* Text in a <script>, <style>, <noscript> or <template>: hidden text in
 * it drops the whole element. */
static enum teaser_result teaser_plan_special_text(struct teaser_job *j, struct teaser_walk *w)
{
	const GumboText *t = &w->n->v.text;
	bool err = false;

	if (!teaser_hit(j, t->text, strlen(t->text), &err)) {
		w->n = teaser_next(w->n, j->g->document, false);
		return TEASER_OK;
	}
	w->n = w->special_end;
	return err ? TEASER_PARSE_ERROR : teaser_drop_element(j, w->special);
}

static enum teaser_result teaser_plan_node(struct teaser_job *j, struct teaser_walk *w)
{
	enum teaser_result rc;

	if (teaser_is_element(w->n))
		return teaser_plan_element(j, w);
	if (w->special != NULL && w->n->type != GUMBO_NODE_COMMENT &&
	    w->n->type != GUMBO_NODE_DOCUMENT)
		return teaser_plan_special_text(j, w);
	rc = w->n->type == GUMBO_NODE_DOCUMENT ? TEASER_OK : teaser_plan_text(j, w->n);
	w->n = teaser_next(w->n, j->g->document, false);
	return rc;
}

/*
 * Walks the page outside the hidden part: removes r->remove matches,
 * rewrites JSON-LD, scrubs hidden text from scripts, styles, noscripts,
 * templates, comments and attributes, and notes the plain text nodes.
 */
static enum teaser_result teaser_plan(struct teaser_job *j)
{
	struct teaser_walk w = { j->g->document, NULL, NULL };
	enum teaser_result rc = TEASER_OK;

	while (w.n != NULL && rc == TEASER_OK) {
		if (w.special != NULL && w.n == w.special_end)
			w.special = w.special_end = NULL;
		if (w.n == j->hidden_first) {
			/* Jumping over the hidden part may jump over the end of a
			 * special element inside the container. */
			if (w.special != NULL && teaser_is_inside(w.special, j->container))
				w.special = w.special_end = NULL;
			w.n = j->after_container;
			continue;
		}
		rc = teaser_plan_node(j, &w);
	}
	return rc;
}

/* ---- verifying ---- */

/* True when every byte of node n's own source lies in a dropped range. */
static bool teaser_node_is_dropped(const struct teaser_job *j, const GumboNode *n)
{
	const GumboElement *e;
	size_t start, end;

	if (n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_DOCUMENT)
		return true;
	if (!teaser_is_element(n)) {
		if (n->v.text.original_text.length == 0)
			return true;
		return teaser_text_range(j, n, &start, &end) == 0 && teaser_is_dropped(j, start, end);
	}
	e = &n->v.element;
	if (!teaser_is_clone(n) && e->original_tag.length > 0 &&
	    (e->original_tag.data != j->html + e->start_pos.offset ||
	     !teaser_is_dropped(j, e->start_pos.offset, e->start_pos.offset + e->original_tag.length)))
		return false;
	if (teaser_has_end_tag(j, n) &&
	    !teaser_is_dropped(j, e->end_pos.offset, e->end_pos.offset + e->original_end_tag.length))
		return false;
	return true;
}

/*
 * The check that does not trust the plan: every node after the cut and
 * every node of a removed element must be in a dropped range: text,
 * comments, start tags (but a clone's, which is its original's) and an
 * element's own end tag (gumbo may also name the end tag of an ancestor
 * that closed it implicitly: that one is the ancestor's).
 */
static enum teaser_result teaser_verify(const struct teaser_job *j)
{
	for (const GumboNode *n = j->hidden_first; n != NULL; n = teaser_next(n, j->container, false))
		if (!teaser_node_is_dropped(j, n))
			return TEASER_PARSE_ERROR;
	for (size_t i = 0; i < j->n_removed; i++)
		for (const GumboNode *n = j->removed[i]; n != NULL;
		     n = teaser_next(n, j->removed[i], false))
			if (!teaser_node_is_dropped(j, n))
				return TEASER_PARSE_ERROR;
	return TEASER_OK;
}

/* ---- building the output ---- */

static int teaser_range_cmp(const void *a, const void *b)
{
	const struct teaser_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Scans html[start, end) minus the exempt ranges for hidden text; *next
 * is the first exempt range that may still matter. */
static bool teaser_scan_source(struct teaser_job *j, size_t start, size_t end, size_t *next,
			       bool *err)
{
	size_t pos = start;

	while (pos < end) {
		size_t stop = end;

		while (*next < j->n_exempt && j->exempt[*next].end <= pos)
			(*next)++;
		if (*next < j->n_exempt && j->exempt[*next].start <= pos) {
			pos = j->exempt[*next].end;
			continue;
		}
		if (*next < j->n_exempt && j->exempt[*next].start < end)
			stop = j->exempt[*next].start;
		if (teaser_hit(j, j->html + pos, stop - pos, err))
			return true;
		pos = stop;
	}
	return false;
}

/* Copies the page with the edits applied into a new buffer, scanning what
 * is not plain text or the insert for hidden text on the way. */
static enum teaser_result teaser_build(struct teaser_job *j, char **out, size_t *outlen)
{
	size_t total = j->len, pos = 0, w = 0, next = 0;
	bool err = false;
	char *o;

	for (size_t i = 0; i < j->n_edits; i++)
		total = total - (j->edits[i].end - j->edits[i].start) + j->edits[i].rep_len;
	if (j->n_exempt > 0)
		qsort(j->exempt, j->n_exempt, sizeof(*j->exempt), teaser_range_cmp);
	o = malloc(total + 1);
	if (o == NULL)
		return TEASER_PARSE_ERROR;
	for (size_t i = 0; i <= j->n_edits; i++) {
		const struct teaser_edit *e = i < j->n_edits ? &j->edits[i] : NULL;
		size_t stop = e != NULL ? e->start : j->len;

		if (teaser_scan_source(j, pos, stop, &next, &err) ||
		    (e != NULL && e->scan && teaser_hit(j, e->rep, e->rep_len, &err))) {
			free(o);
			return TEASER_PARSE_ERROR;
		}
		memcpy(o + w, j->html + pos, stop - pos);
		w += stop - pos;
		if (e != NULL && e->rep_len > 0) {
			memcpy(o + w, e->rep, e->rep_len);
			w += e->rep_len;
		}
		pos = e != NULL ? e->end : j->len;
	}
	assert(w == total);
	o[w] = '\0';
	*out = o;
	*outlen = w;
	return TEASER_OK;
}

/* ---- public ---- */

static void teaser_job_free(struct teaser_job *j)
{
	if (j->g != NULL)
		gumbo_destroy_output(&kGumboDefaultOptions, j->g);
	for (size_t i = 0; i < j->n_edits; i++)
		free(j->edits[i].owned);
	free(j->edits);
	free(j->exempt);
	free(j->removed);
	free(j->hid.text);
	free(j->hid.slots);
	free(j->scratch);
}

enum teaser_result teaser_render(const char *html, size_t len, const struct teaser_rules *r,
				 char **out, size_t *outlen)
{
	struct teaser_job j = { .html = html, .len = len, .r = r };
	enum teaser_result rc;

	assert(r != NULL && r->container != NULL && r->keep_paragraphs >= 0);
	assert((r->insert != NULL || r->insert_len == 0) && (r->remove != NULL || r->n_remove == 0));
	if (r->insert_len > TEASER_PAGE_MAX)
		return TEASER_TOO_LARGE;
	if ((rc = teaser_open(&j, r->container)) != TEASER_OK ||
	    (rc = teaser_find_cut(&j)) != TEASER_OK || (rc = teaser_collect_hidden(&j)) != TEASER_OK ||
	    (rc = teaser_add_cut_edit(&j)) != TEASER_OK || (rc = teaser_plan(&j)) != TEASER_OK ||
	    (rc = teaser_merge(&j)) != TEASER_OK || (rc = teaser_verify(&j)) != TEASER_OK)
		goto out;
	rc = teaser_build(&j, out, outlen);
out:
	teaser_job_free(&j);
	return rc;
}

enum teaser_result teaser_inject(const char *html, size_t len, const struct selector *container,
				 const char *banner, size_t banner_len, char **out,
				 size_t *outlen)
{
	static const struct teaser_rules none = { 0 };
	struct teaser_job j = { .html = html, .len = len, .r = &none };
	enum teaser_result rc;
	char *o;

	assert(container != NULL && (banner != NULL || banner_len == 0));
	if (banner_len > TEASER_PAGE_MAX)
		return TEASER_TOO_LARGE;
	rc = teaser_open(&j, container);
	if (rc != TEASER_OK)
		goto out;
	o = malloc(len + banner_len + 1);
	if (o == NULL) {
		rc = TEASER_PARSE_ERROR;
		goto out;
	}
	memcpy(o, html, j.content_start);
	memcpy(o + j.content_start, banner, banner_len);
	memcpy(o + j.content_start + banner_len, html + j.content_start, len - j.content_start);
	o[len + banner_len] = '\0';
	*out = o;
	*outlen = len + banner_len;
out:
	teaser_job_free(&j);
	return rc;
}

const char *teaser_result_name(enum teaser_result r)
{
	switch (r) {
	case TEASER_OK: return "ok";
	case TEASER_NO_CONTAINER: return "no-container";
	case TEASER_NOT_UTF8: return "not-utf8";
	case TEASER_PARSE_ERROR: return "parse-error";
	case TEASER_TOO_LARGE: return "too-large";
	}
	return "?";
}
