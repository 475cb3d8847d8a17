/* selector_test: parsing the selector subset, its errors and columns, and matching (selector.c). */
#include <check.h>
#include <gumbo.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

/* Expects s to parse, with selector_text want (NULL: s itself). */
static void expect_parses(const char *s, const char *want)
{
	struct selector *sel = NULL;
	size_t col = 99;
	char err[128] = "";

	ck_assert_msg(selector_parse(s, &sel, &col, err, sizeof(err)) == 0, "'%s': %s (column %zu)",
		      s, err, col);
	ck_assert_str_eq(selector_text(sel), want != NULL ? want : s);
	ck_assert_uint_eq(col, 99);
	selector_free(sel);
}

/* Expects s to fail at 1-based column col, with a message containing what. */
static void expect_error(const char *s, size_t col, const char *what)
{
	struct selector *sel = (struct selector *)0x1;
	size_t got = 0;
	char err[128] = "";

	ck_assert_msg(selector_parse(s, &sel, &got, err, sizeof(err)) == -1, "'%s' parsed",
		      s != NULL ? s : "(null)");
	ck_assert_msg(got == col, "'%s': column %zu, expected %zu (%s)", s != NULL ? s : "(null)",
		      got, col, err);
	ck_assert_msg(strstr(err, what) != NULL, "'%s': message '%s' lacks '%s'",
		      s != NULL ? s : "(null)", err, what);
	ck_assert_msg(strncmp(err, "selector: ", 10) == 0, "message '%s' names no module", err);
	ck_assert_ptr_eq(sel, (struct selector *)0x1);
}

START_TEST(test_selector_parse_valid)
{
	static const char *const ok[] = {
		"div", "DIV", ".article-body", "#main", "[data-paywall]", "[data-paywall=subscriber]",
		"[data-paywall='subscriber']", "[data-paywall=\"subscriber\"]", "div.article-body",
		"link[rel=amphtml]", "section.gh-content.gh-canvas", "article#story .body p",
		"main div.entry-content", "custom-element", "h2", "[data-x=\"a b ] c\"]",
		"[ data-x = y ]", "a.b#c[d][e=f]", "._private", ".-moz-thing", "[x='']",
	};

	for (size_t i = 0; i < NA(ok); i++)
		expect_parses(ok[i], NULL);
	expect_parses("  div.article-body  ", "div.article-body");
	expect_parses("div\t\tp", NULL);
}
END_TEST

START_TEST(test_selector_parse_errors)
{
	expect_error("", 1, "empty");
	expect_error("   ", 1, "empty");
	expect_error(NULL, 1, "empty");
	expect_error("div > p", 5, "'>'");
	expect_error("div>p", 4, "'>'");
	expect_error("a + b", 3, "'+'");
	expect_error("a ~ b", 3, "'~'");
	expect_error("a:hover", 2, "pseudo");
	expect_error("p::before", 2, "pseudo");
	expect_error("*", 1, "universal");
	expect_error("div *", 5, "universal");
	expect_error("div, p", 4, "lists");
	expect_error("[data-x", 1, "never closed");
	expect_error("div [data-x=y", 5, "never closed");
	expect_error("a]", 2, "without '['");
	expect_error("[=x]", 2, "attribute name");
	expect_error("[a~=b]", 3, "'~='");
	expect_error("[a^=b]", 3, "'^='");
	expect_error("[a|=b]", 3, "'|='");
	expect_error("[a*=b]", 3, "'*='");
	expect_error("[a$=b]", 3, "'$='");
	expect_error("[a='b]", 4, "unterminated");
	expect_error("[a=\"b']", 4, "unterminated");
	expect_error("[a=]", 4, "attribute value");
	expect_error("[a=b c]", 6, "unexpected 'c'");
	expect_error("[a=b i]", 6, "unexpected 'i'");
	expect_error("div.", 5, "class name");
	expect_error("div#", 5, "id");
	expect_error("div..x", 5, "class name");
	expect_error("1div", 1, "unexpected '1'");
	expect_error(".1x", 2, "class name");
	expect_error(".-1x", 2, "class name");
	expect_error("div\\.x", 4, "escapes");
	expect_error("[a='b\\'c']", 6, "escapes");
	expect_error("div.caf\xc3\xa9", 8, "0xc3");
	expect_error(".\xc3\xa9", 2, "non-ASCII");
	expect_error("  div > p", 7, "'>'");
	expect_error("div\x01", 4, "0x01");
}
END_TEST

START_TEST(test_selector_parse_limits)
{
	char s[SELECTOR_TEXT_MAX + 8];
	struct selector *sel;
	size_t col;
	char err[128];

	memset(s, 'a', SELECTOR_TEXT_MAX);
	s[SELECTOR_TEXT_MAX] = '\0';
	expect_parses(s, NULL);
	s[SELECTOR_TEXT_MAX] = 'a';
	s[SELECTOR_TEXT_MAX + 1] = '\0';
	expect_error(s, SELECTOR_TEXT_MAX + 1, "longer");
	expect_parses("a b c d e f g h", NULL);
	expect_error("a b c d e f g h i", 17, "compounds");
	expect_parses("a.b.c.d.e.f.g.h", NULL);
	expect_error("a.b.c.d.e.f.g.h.i", 16, "simple selectors");
	/* A message cut at errlen, and none at all with errlen 0. */
	ck_assert_int_eq(selector_parse("div > p", &sel, &col, err, 12), -1);
	ck_assert_str_eq(err, "selector: c");
	ck_assert_int_eq(selector_parse("div > p", &sel, &col, NULL, 0), -1);
	ck_assert_uint_eq(col, 5);
	selector_free(NULL);
}
END_TEST

/* ---- matching ---- */

static GumboOutput *parse(const char *html)
{
	return gumbo_parse(html);
}

/* The first element (document order) whose id attribute is id. */
static const GumboNode *by_id(const GumboNode *n, const char *id)
{
	const GumboVector *kids;
	const GumboAttribute *a;

	if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT &&
	    n->type != GUMBO_NODE_TEMPLATE)
		return NULL;
	if (n->type != GUMBO_NODE_DOCUMENT) {
		a = gumbo_get_attribute(&n->v.element.attributes, "id");
		if (a != NULL && strcmp(a->value, id) == 0)
			return n;
	}
	kids = n->type == GUMBO_NODE_DOCUMENT ? &n->v.document.children : &n->v.element.children;
	for (unsigned i = 0; i < kids->length; i++) {
		const GumboNode *f = by_id(kids->data[i], id);
		if (f != NULL)
			return f;
	}
	return NULL;
}

static bool matches(const char *sel_text, const GumboOutput *g, const char *id)
{
	struct selector *sel;
	size_t col;
	char err[128];
	const GumboNode *n = by_id(g->document, id);
	bool m;

	ck_assert_msg(n != NULL, "no element #%s", id);
	ck_assert_msg(selector_parse(sel_text, &sel, &col, err, sizeof(err)) == 0, "%s", err);
	m = selector_matches(sel, n);
	selector_free(sel);
	return m;
}

#define MATCH(sel, id) ck_assert_msg(matches(sel, g, id), "'%s' should match #%s", sel, id)
#define NO_MATCH(sel, id) ck_assert_msg(!matches(sel, g, id), "'%s' should not match #%s", sel, id)

static const char page[] =
	"<!DOCTYPE html><html><head>"
	"<link id=l1 rel=amphtml href=/amp><link id=l2 REL=\"AmpHtml\" href=/amp2>"
	"<link id=l3 rel=stylesheet></head><body>"
	"<main id=main class=layout><article id=story class=\"story  featured\">"
	"<div id=body class=\"article-body\n extra\" data-paywall=subscriber>"
	"<p id=p1 class=lead>x</p><section id=s1><p id=p2>y</p></section></div>"
	"<div id=other class=article-bodywork DATA-Paywall=\"\"><p id=p3>z</p></div>"
	"</article></main><my-widget id=w1 class=article-body></my-widget>"
	"<svg id=svg1><foreignObject id=fo1 class=article-body></foreignObject></svg>"
	"<template id=t1><div id=in-template class=article-body></div></template>"
	"<div\x0b id=vt class=article-body></div\x0b>"
	"<div\x01 id=vn class=article-body></div>"
	"</body></html>";

START_TEST(test_selector_matches_simple)
{
	GumboOutput *g = parse(page);

	MATCH("div", "body");
	MATCH("DIV", "body");
	MATCH("div.article-body", "body");
	MATCH(".article-body", "body");
	MATCH(".extra", "body");
	MATCH(".article-body.extra", "body");
	NO_MATCH(".article-body", "other");	/* a token, not a prefix */
	NO_MATCH(".Article-body", "body");	/* classes compare exactly */
	MATCH("#body", "body");
	NO_MATCH("#Body", "body");
	MATCH("[data-paywall]", "body");
	MATCH("[DATA-PAYWALL]", "body");
	MATCH("[data-paywall=subscriber]", "body");
	MATCH("[data-paywall='subscriber']", "body");
	NO_MATCH("[data-paywall=Subscriber]", "body");
	MATCH("[data-paywall]", "other");	/* attribute names are case-insensitive */
	MATCH("[data-paywall=\"\"]", "other");
	NO_MATCH("[data-paywall=subscriber]", "other");
	MATCH("link[rel=amphtml]", "l1");
	MATCH("link[rel=amphtml]", "l2");	/* rel values are case-insensitive in HTML */
	MATCH("link[rel=AMPHTML]", "l1");
	NO_MATCH("[id=P1]", "p1");		/* other values compare exactly */
	NO_MATCH("link[rel=amphtml]", "l3");
	MATCH("my-widget.article-body", "w1");
	MATCH("MY-WIDGET", "w1");
	NO_MATCH("div.article-body", "w1");
	MATCH("foreignObject.article-body", "fo1");
	MATCH("div.article-body", "in-template");	/* the caller skips templates */
	MATCH("p.lead", "p1");
	/* "div\v" is another element: \v does not end a tag name. */
	NO_MATCH("div", "vt");
	NO_MATCH("div.article-body", "vt");
	NO_MATCH("div", "vn");
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}
END_TEST

START_TEST(test_selector_matches_descendant)
{
	GumboOutput *g = parse(page);

	MATCH("article div", "body");
	MATCH("main article div.article-body", "body");
	MATCH("main div", "body");
	MATCH("html body main", "main");
	MATCH(".layout .story #body p", "p2");
	MATCH("div p", "p2");
	MATCH("div section p", "p2");
	MATCH("article p", "p3");
	NO_MATCH("section p", "p1");
	NO_MATCH("div article", "story");
	NO_MATCH("article main div", "body");	/* order matters */
	NO_MATCH("p p", "p2");
	NO_MATCH("div.article-body p", "p3");
	MATCH("svg foreignObject", "fo1");
	MATCH("template div", "in-template");
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}
END_TEST

START_TEST(test_selector_matches_non_elements)
{
	GumboOutput *g = parse("<p id=a>text<!-- c --></p>");
	const GumboNode *p = by_id(g->document, "a");
	struct selector *sel;
	size_t col;
	char err[64];

	ck_assert_int_eq(selector_parse("p", &sel, &col, err, sizeof(err)), 0);
	ck_assert(selector_matches(sel, p));
	ck_assert(!selector_matches(sel, p->v.element.children.data[0]));
	ck_assert(!selector_matches(sel, p->v.element.children.data[1]));
	ck_assert(!selector_matches(sel, g->document));
	ck_assert(!selector_matches(sel, NULL));
	ck_assert(!selector_matches(NULL, p));
	selector_free(sel);
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}
END_TEST

/* A NUL in a tag name is part of it (U+FFFD), not its end. */
START_TEST(test_selector_matches_nul_in_tag_name)
{
	static const char html[] = "<div\0 id=z></div><my-el\0x id=y></my-el>";
	GumboOutput *g = gumbo_parse_with_options(&kGumboDefaultOptions, html, sizeof(html) - 1);

	NO_MATCH("div", "z");
	NO_MATCH("my-el", "y");
	gumbo_destroy_output(&kGumboDefaultOptions, g);
}
END_TEST

static Suite *selector_suite(void)
{
	Suite *s = suite_create("selector");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_selector_parse_valid);
	tcase_add_test(tc, test_selector_parse_errors);
	tcase_add_test(tc, test_selector_parse_limits);
	tcase_add_test(tc, test_selector_matches_simple);
	tcase_add_test(tc, test_selector_matches_descendant);
	tcase_add_test(tc, test_selector_matches_non_elements);
	tcase_add_test(tc, test_selector_matches_nul_in_tag_name);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(selector_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
