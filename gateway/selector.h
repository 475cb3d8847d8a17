/* selector: the small CSS selector subset that names parts of an article page. */
#ifndef PAYWALLD_SELECTOR_H
#define PAYWALLD_SELECTOR_H

#include <gumbo.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest selector text accepted, in bytes. */
#define SELECTOR_TEXT_MAX 256
/* At most this many compounds joined by descendant combinators ... */
#define SELECTOR_PARTS_MAX 8
/* ... and at most this many simple selectors in one compound. */
#define SELECTOR_SIMPLE_MAX 8

struct selector;

/*
 * Parses s: a tag name, `.class`, `#id`, `[attr]` and `[attr=value]` (value
 * an identifier or quoted with '...' or "..."), compounds of those
 * (`div.article-body`, `link[rel=amphtml]`) and the descendant combinator
 * (spaces or tabs). Whitespace around the whole selector is allowed. Names
 * are ASCII: letters, digits, '-' and '_', not starting with a digit.
 * Returns 0 and sets *out (the caller frees it with selector_free), or -1
 * and writes the 1-based column of the byte where the selector goes wrong
 * to *err_col and a message (NUL-terminated, cut at errlen) to err. Errors:
 * empty, the combinators '>', '+', '~', pseudo-classes ':', '*', ',',
 * unbalanced brackets, unterminated quotes, attribute operators other than
 * '=', escapes, non-ASCII bytes, more than SELECTOR_TEXT_MAX bytes,
 * SELECTOR_PARTS_MAX compounds or SELECTOR_SIMPLE_MAX simple selectors per
 * compound. s may be NULL (empty). *out and *err_col are written only at
 * the exit; err may be NULL when errlen is 0. Thread-safe.
 */
int selector_parse(const char *s, struct selector **out, size_t *err_col, char *err,
		   size_t errlen);

/* Frees a parsed selector. NULL-safe. */
void selector_free(struct selector *s);

/*
 * True when element (a GUMBO_NODE_ELEMENT or GUMBO_NODE_TEMPLATE node) is
 * matched by s: its last compound matches element and each earlier compound
 * matches some ancestor, in order. Tag and attribute names compare ASCII
 * case-insensitively; `.class` matches any whitespace-separated token of
 * the class attribute; ids, classes and attribute values compare exactly,
 * but the values of the attributes HTML lists as case-insensitive for
 * selectors (rel, type, lang, media, ...), as in a browser.
 * Any other node, or NULL, is never matched. Reads only; thread-safe.
 */
bool selector_matches(const struct selector *s, const GumboNode *element);

/* The selector's source text, trimmed of surrounding whitespace (for the
 * JSON-LD hasPart cssSelector). Owned by s; valid until selector_free. */
const char *selector_text(const struct selector *s);

#endif
