/* selector: the small CSS selector subset that names parts of an article page. */
#include "selector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum selector_kind { SELECTOR_TAG, SELECTOR_CLASS, SELECTOR_ID, SELECTOR_ATTR, SELECTOR_ATTR_EQ };

/* One simple selector; name and value point into the selector's text. */
struct selector_simple {
	enum selector_kind kind;
	const char *name;
	size_t name_len;
	const char *value;	/* SELECTOR_ATTR_EQ only */
	size_t value_len;
};

struct selector_compound {
	struct selector_simple simple[SELECTOR_SIMPLE_MAX];
	size_t n;
};

struct selector {
	char text[SELECTOR_TEXT_MAX + 1];	/* the trimmed source */
	struct selector_compound parts[SELECTOR_PARTS_MAX];
	size_t n_parts;
};

/* Parsing state: s is the caller's text, sel->text the trimmed copy that
 * names end up pointing into; base is where that copy starts in s. */
struct selector_parser {
	const char *s;
	size_t pos, end, base;
	struct selector *sel;
	size_t err_col;
	char msg[128];
};

static bool selector_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool selector_is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-';
}

static bool selector_is_name_char(char c)
{
	return selector_is_name_start(c) || (c >= '0' && c <= '9');
}

/* Records the first error only: column is 0-based in s. Returns -1. */
static int __attribute__((format(printf, 3, 4)))
selector_fail(struct selector_parser *p, size_t column, const char *fmt, ...)
{
	va_list ap;

	if (p->err_col != 0)
		return -1;
	p->err_col = column + 1;
	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* Explains a byte that cannot start or continue a compound. */
static int selector_fail_unexpected(struct selector_parser *p)
{
	unsigned char c;

	if (p->pos >= p->end)
		return selector_fail(p, p->pos, "unexpected end of selector");
	c = (unsigned char)p->s[p->pos];
	if (c == '>' || c == '+' || c == '~')
		return selector_fail(p, p->pos,
				     "combinator '%c' is not supported (only descendant)", c);
	if (c == ':')
		return selector_fail(p, p->pos, "pseudo-classes are not supported");
	if (c == '*')
		return selector_fail(p, p->pos, "the universal selector '*' is not supported");
	if (c == ',')
		return selector_fail(p, p->pos, "selector lists (',') are not supported");
	if (c == ']')
		return selector_fail(p, p->pos, "']' without '['");
	if (c == '\\')
		return selector_fail(p, p->pos, "escapes are not supported");
	if (c < 0x21 || c > 0x7e)
		return selector_fail(p, p->pos, "unexpected byte 0x%02x", c);
	return selector_fail(p, p->pos, "unexpected '%c'", c);
}

/* Reads a name (letters, digits, '-', '_', not starting with a digit or
 * "-digit") at p->pos; what names it. */
static int selector_read_name(struct selector_parser *p, const char *what, const char **name,
			      size_t *len)
{
	size_t start = p->pos;

	if (p->pos >= p->end || !selector_is_name_start(p->s[p->pos]) ||
	    (p->s[p->pos] == '-' && p->pos + 1 < p->end && p->s[p->pos + 1] >= '0' &&
	     p->s[p->pos + 1] <= '9')) {
		if (p->pos < p->end && (unsigned char)p->s[p->pos] >= 0x80)
			return selector_fail(p, p->pos, "non-ASCII byte in %s", what);
		return selector_fail(p, p->pos, "expected %s", what);
	}
	while (p->pos < p->end && selector_is_name_char(p->s[p->pos]))
		p->pos++;
	*name = p->sel->text + (start - p->base);
	*len = p->pos - start;
	return 0;
}

static void selector_skip_space(struct selector_parser *p)
{
	while (p->pos < p->end && selector_is_space(p->s[p->pos]))
		p->pos++;
}

/* A quoted attribute value: any bytes but the quote, a backslash or a line
 * break, between matching quotes. */
static int selector_read_quoted(struct selector_parser *p, struct selector_simple *ss)
{
	size_t open = p->pos;
	char q = p->s[p->pos++];

	while (p->pos < p->end && p->s[p->pos] != q) {
		char c = p->s[p->pos];
		if (c == '\\')
			return selector_fail(p, p->pos, "escapes are not supported");
		if (c == '\n' || c == '\r' || c == '\f')
			break;
		if ((unsigned char)c >= 0x80)
			return selector_fail(p, p->pos, "non-ASCII byte in attribute value");
		p->pos++;
	}
	if (p->pos >= p->end || p->s[p->pos] != q)
		return selector_fail(p, open, "unterminated quoted value");
	ss->value = p->sel->text + (open + 1 - p->base);
	ss->value_len = p->pos - open - 1;
	p->pos++;
	return 0;
}

/* An unquoted attribute value: one or more name characters. */
static int selector_read_bare(struct selector_parser *p, struct selector_simple *ss)
{
	size_t start = p->pos;

	while (p->pos < p->end && selector_is_name_char(p->s[p->pos]))
		p->pos++;
	if (p->pos == start)
		return p->pos < p->end && p->s[p->pos] != ']' ? selector_fail_unexpected(p) :
		       selector_fail(p, p->pos, "expected an attribute value");
	ss->value = p->sel->text + (start - p->base);
	ss->value_len = p->pos - start;
	return 0;
}

/* `[name]` or `[name=value]`, whitespace allowed inside the brackets. */
static int selector_read_attr(struct selector_parser *p, struct selector_simple *ss)
{
	size_t open = p->pos++;
	char c;

	selector_skip_space(p);
	if (selector_read_name(p, "an attribute name", &ss->name, &ss->name_len) != 0)
		return -1;
	ss->kind = SELECTOR_ATTR;
	selector_skip_space(p);
	if (p->pos >= p->end)
		return selector_fail(p, open, "'[' is never closed");
	c = p->s[p->pos];
	if (strchr("~|^$*", c) != NULL && p->pos + 1 < p->end && p->s[p->pos + 1] == '=')
		return selector_fail(p, p->pos, "attribute operator '%c=' is not supported", c);
	if (c == '=') {
		p->pos++;
		selector_skip_space(p);
		ss->kind = SELECTOR_ATTR_EQ;
		if (p->pos < p->end && (p->s[p->pos] == '"' || p->s[p->pos] == '\'')) {
			if (selector_read_quoted(p, ss) != 0)
				return -1;
		} else if (selector_read_bare(p, ss) != 0) {
			return -1;
		}
		selector_skip_space(p);
	}
	if (p->pos >= p->end)
		return selector_fail(p, open, "'[' is never closed");
	if (p->s[p->pos] != ']')
		return selector_fail_unexpected(p);
	p->pos++;
	return 0;
}

/* One simple selector after the optional tag: '.', '#' or '['. Returns 1
 * when the byte at pos starts none of them. */
static int selector_read_simple(struct selector_parser *p, struct selector_simple *ss)
{
	char c = p->pos < p->end ? p->s[p->pos] : '\0';

	if (c == '.' || c == '#') {
		p->pos++;
		ss->kind = c == '.' ? SELECTOR_CLASS : SELECTOR_ID;
		return selector_read_name(p, c == '.' ? "a class name after '.'" :
					  "an id after '#'", &ss->name, &ss->name_len);
	}
	if (c == '[')
		return selector_read_attr(p, ss);
	return 1;
}

/* A compound: an optional tag name, then '.class', '#id' and '[...]'. */
static int selector_read_compound(struct selector_parser *p, struct selector_compound *cp)
{
	int rc;

	cp->n = 0;
	if (p->pos < p->end && selector_is_name_start(p->s[p->pos]) && p->s[p->pos] != '-') {
		cp->simple[0].kind = SELECTOR_TAG;
		if (selector_read_name(p, "a tag name", &cp->simple[0].name,
				       &cp->simple[0].name_len) != 0)
			return -1;
		cp->n = 1;
	}
	for (;;) {
		size_t at = p->pos;
		struct selector_simple ss = { 0 };

		rc = selector_read_simple(p, &ss);
		if (rc < 0)
			return -1;
		if (rc > 0)
			break;
		if (cp->n == SELECTOR_SIMPLE_MAX)
			return selector_fail(p, at, "more than %d simple selectors in a compound",
					     SELECTOR_SIMPLE_MAX);
		cp->simple[cp->n++] = ss;
	}
	return cp->n > 0 ? 0 : selector_fail_unexpected(p);
}

/* Compounds separated by whitespace, up to p->end. */
static int selector_read_all(struct selector_parser *p)
{
	for (;;) {
		size_t at = p->pos;

		if (p->sel->n_parts == SELECTOR_PARTS_MAX)
			return selector_fail(p, at, "more than %d compounds", SELECTOR_PARTS_MAX);
		if (selector_read_compound(p, &p->sel->parts[p->sel->n_parts]) != 0)
			return -1;
		p->sel->n_parts++;
		if (p->pos >= p->end)
			return 0;
		if (!selector_is_space(p->s[p->pos]))
			return selector_fail_unexpected(p);
		selector_skip_space(p);
	}
}

int selector_parse(const char *s, struct selector **out, size_t *err_col, char *err,
		   size_t errlen)
{
	struct selector_parser p = { .s = s != NULL ? s : "" };
	int rc = -1;

	/* Bounded: anything longer is refused below, whatever its length. */
	p.end = strnlen(p.s, SELECTOR_TEXT_MAX * 4 + 1);
	while (p.pos < p.end && selector_is_space(p.s[p.pos]))
		p.pos++;
	while (p.end > p.pos && selector_is_space(p.s[p.end - 1]))
		p.end--;
	p.base = p.pos;
	if (p.pos == p.end) {
		selector_fail(&p, 0, "empty selector");
		goto out;
	}
	if (p.end - p.pos > SELECTOR_TEXT_MAX) {
		selector_fail(&p, p.pos + SELECTOR_TEXT_MAX, "longer than %d bytes",
			      SELECTOR_TEXT_MAX);
		goto out;
	}
	p.sel = calloc(1, sizeof(*p.sel));
	if (p.sel == NULL) {
		selector_fail(&p, 0, "out of memory");
		goto out;
	}
	memcpy(p.sel->text, p.s + p.pos, p.end - p.pos);
	rc = selector_read_all(&p);
out:
	if (rc == 0) {
		*out = p.sel;
	} else {
		selector_free(p.sel);
		*err_col = p.err_col;
		if (errlen > 0)
			snprintf(err, errlen, "selector: %s", p.msg);
	}
	return rc;
}

void selector_free(struct selector *s)
{
	free(s);
}

/* Where HTML's tokenizer ends a tag name (a NUL does not: it becomes
 * U+FFFD in the name). */
static bool selector_ends_tag_name(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '/' || c == '>';
}

/* The element's tag name: gumbo's for known tags, else the source's, cut
 * where HTML's tokenizer ends a tag name (gumbo_tag_from_original_text
 * also stops at bytes such as \v, which belong to the name). Empty when it
 * cannot be known. */
static GumboStringPiece selector_tag_name(const GumboElement *e)
{
	GumboStringPiece name = { NULL, 0 };
	size_t n = 0;

	if (e->tag != GUMBO_TAG_UNKNOWN) {
		name.data = gumbo_normalized_tagname(e->tag);
		name.length = strlen(name.data);
	} else if (e->original_tag.length > 1 && e->original_tag.data[0] == '<') {
		name.data = e->original_tag.data + 1;
		while (n < e->original_tag.length - 1 && !selector_ends_tag_name(name.data[n]))
			n++;
		name.length = n;
	}
	return name;
}

/* The attributes whose values HTML matches case-insensitively in
 * selectors (HTML, "Case-sensitivity of selectors"). */
static bool selector_value_is_caseless(const char *name)
{
	static const char *const names[] = {
		"accept", "accept-charset", "align", "alink", "axis", "bgcolor", "charset",
		"checked", "clear", "codetype", "color", "compact", "declare", "defer", "dir",
		"direction", "disabled", "enctype", "face", "frame", "hreflang", "http-equiv",
		"lang", "language", "link", "media", "method", "multiple", "nohref", "noresize",
		"noshade", "nowrap", "readonly", "rel", "rev", "rules", "scope", "scrolling",
		"selected", "shape", "target", "text", "type", "valign", "valuetype", "vlink",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static const GumboAttribute *selector_attr(const GumboElement *e, const char *name, size_t len)
{
	for (unsigned i = 0; i < e->attributes.length; i++) {
		const GumboAttribute *a = e->attributes.data[i];
		if (strncasecmp(a->name, name, len) == 0 && a->name[len] == '\0')
			return a;
	}
	return NULL;
}

/* True when the class attribute value has the token name. */
static bool selector_has_class(const char *value, const char *name, size_t len)
{
	const char *p = value;

	while (*p != '\0') {
		size_t n;

		while (*p != '\0' && selector_is_space(*p))
			p++;
		n = 0;
		while (p[n] != '\0' && !selector_is_space(p[n]))
			n++;
		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n;
	}
	return false;
}

static bool selector_simple_matches(const struct selector_simple *ss, const GumboElement *e)
{
	const GumboAttribute *a;
	GumboStringPiece tag;

	switch (ss->kind) {
	case SELECTOR_TAG:
		tag = selector_tag_name(e);
		return tag.length == ss->name_len && tag.length > 0 &&
		       strncasecmp(tag.data, ss->name, ss->name_len) == 0;
	case SELECTOR_CLASS:
		a = selector_attr(e, "class", 5);
		return a != NULL && selector_has_class(a->value, ss->name, ss->name_len);
	case SELECTOR_ID:
		a = selector_attr(e, "id", 2);
		return a != NULL && strlen(a->value) == ss->name_len &&
		       memcmp(a->value, ss->name, ss->name_len) == 0;
	case SELECTOR_ATTR:
		return selector_attr(e, ss->name, ss->name_len) != NULL;
	case SELECTOR_ATTR_EQ:
		a = selector_attr(e, ss->name, ss->name_len);
		if (a == NULL || strlen(a->value) != ss->value_len)
			return false;
		if (selector_value_is_caseless(a->name))
			return strncasecmp(a->value, ss->value, ss->value_len) == 0;
		return memcmp(a->value, ss->value, ss->value_len) == 0;
	}
	return false;
}

static bool selector_is_element(const GumboNode *n)
{
	return n != NULL && (n->type == GUMBO_NODE_ELEMENT || n->type == GUMBO_NODE_TEMPLATE);
}

static bool selector_compound_matches(const struct selector_compound *cp, const GumboNode *n)
{
	if (!selector_is_element(n))
		return false;
	for (size_t i = 0; i < cp->n; i++)
		if (!selector_simple_matches(&cp->simple[i], &n->v.element))
			return false;
	return true;
}

bool selector_matches(const struct selector *s, const GumboNode *element)
{
	const GumboNode *n;
	size_t i;

	if (s == NULL || s->n_parts == 0 ||
	    !selector_compound_matches(&s->parts[s->n_parts - 1], element))
		return false;
	/* Descendant combinators only: the nearest matching ancestor is always
	 * the best choice, so one upward pass decides. */
	n = element->parent;
	for (i = s->n_parts - 1; i > 0; i--) {
		while (n != NULL && !selector_compound_matches(&s->parts[i - 1], n))
			n = n->parent;
		if (n == NULL)
			return false;
		n = n->parent;
	}
	return true;
}

const char *selector_text(const struct selector *s)
{
	return s->text;
}
