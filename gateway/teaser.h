/* teaser: rewriting an article page into its teaser, byte for byte outside the article body. */
#ifndef PAYWALLD_TEASER_H
#define PAYWALLD_TEASER_H

#include <stddef.h>

#include "selector.h"

/* Pages larger than this are not rewritten: TEASER_TOO_LARGE. */
#define TEASER_PAGE_MAX (8 * 1024 * 1024)
/* Hidden text runs at least this long (bytes, after collapsing whitespace)
 * are looked for in the rest of the page by the leak scrub. */
#define TEASER_SCRUB_MIN 24

/* What to keep of a page and what to put in place of the rest. The
 * selectors and strings stay the caller's; nothing here is kept after the
 * call. */
struct teaser_rules {
	const struct selector *container;	/* the article body */
	long keep_paragraphs;			/* >= 0 */
	const char *marker;			/* comment text, e.g. "paywall-break"; NULL or "": none */
	const char *insert;			/* HTML put at the cut (a rendered template) */
	size_t insert_len;
	const struct selector *const *remove;	/* removed anywhere in the page */
	size_t n_remove;
};

enum teaser_result {
	TEASER_OK,
	TEASER_NO_CONTAINER,
	TEASER_NOT_UTF8,
	TEASER_PARSE_ERROR,
	TEASER_TOO_LARGE,
};

/*
 * Rewrites a whole page (len bytes of UTF-8 at html, not NUL-terminated)
 * into a teaser. Everything outside the container is copied byte for byte,
 * except application/ld+json blocks (articleBody and text removed,
 * isAccessibleForFree false and hasPart added on article objects; `{}` when
 * unparseable), elements matched by r->remove (start tag to end tag) and
 * what the leak scrub removes: <script>, <style>, <noscript> and
 * <template> elements, comments and attributes whose text holds a hidden
 * text run of TEASER_SCRUB_MIN bytes or more (JSON and HTML escapes
 * decoded). Inside the container: the lead up to the cut (the marker
 * comment, else the end of the r->keep_paragraphs-th <p>), r->insert, the
 * end tags of the elements open at the cut, the container's end tag.
 *
 * On TEASER_OK *out is a malloc'd copy (NUL-terminated; the caller frees
 * it) of *outlen bytes. Otherwise *out and *outlen are untouched and the
 * caller must not serve the page: TEASER_NO_CONTAINER (no element matches
 * r->container outside <template>), TEASER_NOT_UTF8 (invalid UTF-8, or a
 * <meta> declaring another charset), TEASER_TOO_LARGE (len above
 * TEASER_PAGE_MAX), TEASER_PARSE_ERROR (fails closed: the container or a
 * removed element cannot be located in the source bytes, the container is
 * a formatting element gumbo may have cloned, a hidden node's bytes would
 * survive, hidden text is found where it cannot be removed, or memory ran
 * out). The caller's Content-Type charset, if any, is its own to check.
 *
 * Costs one gumbo parse (gumbo slows down quadratically on very deeply
 * nested markup) plus linear passes; memory a few times len. Thread-safe.
 */
enum teaser_result teaser_render(const char *html, size_t len, const struct teaser_rules *r,
				 char **out, size_t *outlen);

/*
 * Injects banner (banner_len bytes of HTML) right after the start tag of the
 * container of a full page, for promotions. Nothing else changes: not the
 * JSON-LD, not a byte. Same results and the same checks on the page as
 * teaser_render (size, UTF-8, charset, a container whose start tag is in
 * the source). Ownership as teaser_render. Thread-safe.
 */
enum teaser_result teaser_inject(const char *html, size_t len, const struct selector *container,
				 const char *banner, size_t banner_len, char **out,
				 size_t *outlen);

/* "ok", "no-container", "not-utf8", "parse-error", "too-large"; "?" for
 * anything else. Static strings. */
const char *teaser_result_name(enum teaser_result r);

#endif
