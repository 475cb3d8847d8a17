/* rewrite_test: what a gated answer becomes for a reader without access (rewrite.c). */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rewrite.h"

static const char page[] =
	"<!doctype html><html><head><title>t</title></head><body>"
	"<div class=\"article-body\"><p>Lead sentence one.</p><p>Lead sentence two.</p>"
	"<p>Hidden sentence three, never for readers without access.</p></div></body></html>";
#define HIDDEN "Hidden sentence three"

static struct teaser_config cfg;

static void setup(void)
{
	size_t col;
	char err[256];
	static const char box[] = "<section class=\"paywall-box\">{{reason}}</section>";

	memset(&cfg, 0, sizeof(cfg));
	cfg.present = true;
	cfg.keep_paragraphs = 2;
	ck_assert_int_eq(selector_parse("div.article-body", &cfg.container, &col, err, sizeof(err)), 0);
	ck_assert_int_eq(template_load_buffer(box, sizeof(box) - 1, "box", &cfg.tmpl, err,
					      sizeof(err)), 0);
}

static void teardown(void)
{
	rewrite_config_free(&cfg);
}

/* Portable memmem: the body need not be NUL-terminated. */
static bool contains(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; i + m <= n; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return true;
	return false;
}

static const struct rewrite_values values = { "3", "0", "/a", "", "meter-exhausted" };

static void expect(const char *ctype, const char *body, const char *outcome, int status)
{
	struct rewrite_out out;

	ck_assert_int_eq(rewrite_teaser(&cfg, NULL, ctype, body, strlen(body), &values, &out), 0);
	ck_assert_str_eq(out.outcome, outcome);
	ck_assert_int_eq(out.status, status);
	ck_assert_msg(!contains(out.body, out.len, HIDDEN), "%s: hidden text in the answer", ctype);
	rewrite_out_free(&out);
}

START_TEST(test_rewrite_utf8_page_is_cut)
{
	expect("text/html; charset=utf-8", page, "teaser", 200);
	expect("text/html", page, "teaser", 200);
	expect("text/html;charset=\"UTF-8\"", page, "teaser", 200);
}
END_TEST

/* The cut reads bytes as UTF-8: a page the backend declares in another
 * charset is never cut (and never sent whole): the generic page. */
START_TEST(test_rewrite_other_charset_fails_closed)
{
	expect("text/html; charset=iso-8859-1", page, "generic", 200);
	expect("text/html; Charset=Shift_JIS", page, "generic", 200);
}
END_TEST

START_TEST(test_rewrite_non_html_is_402_and_no_container_is_generic)
{
	expect("application/json", "{\"body\":\"" HIDDEN "\"}", "402", 402);
	expect("application/pdf", HIDDEN, "402", 402);
	expect("text/html", "<p>" HIDDEN "</p>", "generic", 200);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("rewrite");
	TCase *tc = tcase_create("rewrite");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_rewrite_utf8_page_is_cut);
	tcase_add_test(tc, test_rewrite_other_charset_fails_closed);
	tcase_add_test(tc, test_rewrite_non_html_is_402_and_no_container_is_generic);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
