/* template_test: loading paywall templates, their errors, and rendering with escaped values (template.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "template.h"

/* Writes len bytes to a new temporary file; its path goes to path. */
static void write_temp(char *path, size_t pathlen, const char *text, size_t len)
{
	int fd;

	snprintf(path, pathlen, "%s/paywalld-template-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(path);
	ck_assert_msg(fd >= 0, "mkstemp");
	ck_assert(write(fd, text, len) == (ssize_t)len);
	ck_assert(close(fd) == 0);
}

static struct template *load_text(const char *text)
{
	struct template *t = NULL;
	char err[256] = "";

	ck_assert_msg(template_load_buffer(text, strlen(text), "test.html", &t, err, sizeof(err)) == 0,
		      "'%s': %s", text, err);
	ck_assert_ptr_nonnull(t);
	return t;
}

/* Expects text to be refused with a message containing what. */
static void expect_load_error(const char *text, size_t len, const char *what)
{
	struct template *t = (struct template *)0x1;
	char err[256] = "";

	ck_assert_int_eq(template_load_buffer(text, len, "bad.html", &t, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, what) != NULL, "message '%s' lacks '%s'", err, what);
	ck_assert_msg(strncmp(err, "template: bad.html", 18) == 0, "message '%s' names no file", err);
	ck_assert_ptr_eq(t, (struct template *)0x1);
}

/* A literal's bytes, NULs included. */
#define LOAD_ERROR(lit, what) expect_load_error(lit, sizeof(lit) - 1, what)

static void expect_render(const struct template *t, const struct template_values *v,
			  const char *want)
{
	size_t len = 0;
	char *out = template_render(t, v, &len);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
	free(out);
}

START_TEST(test_template_render_values)
{
	struct template *t = load_text(
		"<div class=\"paywall\"><p>{{meter_remaining}} of {{meter_limit}} left</p>"
		"<a href=\"/subscribe?return={{return_url}}\">Subscribe</a>"
		"<p class=promo>{{promotion}}</p><!-- {{reason}} --></div>");
	struct template_values v = { "5", "0", "/article/x?y=1&z=2", "Half price", "meter" };

	expect_render(t, &v,
		      "<div class=\"paywall\"><p>0 of 5 left</p>"
		      "<a href=\"/subscribe?return=/article/x?y=1&amp;z=2\">Subscribe</a>"
		      "<p class=promo>Half price</p><!-- meter --></div>");
	template_free(t);
}
END_TEST

START_TEST(test_template_render_escapes_every_value)
{
	static const char evil[] = "<script>alert('x')</script>\"&";
	static const char esc[] = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;&amp;";
	struct template *t = load_text("[{{meter_limit}}|{{meter_remaining}}|{{return_url}}|"
				       "{{promotion}}|{{reason}}]");
	struct template_values v = { evil, evil, evil, evil, evil };
	char want[512];

	snprintf(want, sizeof(want), "[%s|%s|%s|%s|%s]", esc, esc, esc, esc, esc);
	expect_render(t, &v, want);
	template_free(t);
}
END_TEST

START_TEST(test_template_render_null_and_utf8)
{
	struct template *t = load_text("a{{promotion}}b{{ reason }}c{{\tmeter_limit\t}}d");
	struct template_values v = { .promotion = "Caf\xc3\xa9 \xe2\x82\xac" };
	struct template_values bad = { .promotion = "x\xff\xc3y", .reason = "\xed\xa0\x80" };

	expect_render(t, NULL, "abcd");
	expect_render(t, &(struct template_values){ 0 }, "abcd");
	expect_render(t, &v, "aCaf\xc3\xa9 \xe2\x82\xac" "bcd");
	/* Invalid UTF-8 (a stray byte, a cut sequence, a surrogate) becomes U+FFFD. */
	expect_render(t, &bad,
		      "ax\xef\xbf\xbd\xef\xbf\xbdyb\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "cd");
	template_free(t);
}
END_TEST

START_TEST(test_template_render_plain_and_repeated)
{
	struct template *t = load_text("no placeholders }} here { {");
	struct template *r = load_text("{{reason}}{{reason}}{{reason}}");
	struct template *e = load_text("");
	struct template_values v = { .reason = "r&" };

	expect_render(t, &v, "no placeholders }} here { {");
	expect_render(r, &v, "r&amp;r&amp;r&amp;");
	expect_render(e, &v, "");
	template_free(t);
	template_free(r);
	template_free(e);
}
END_TEST

START_TEST(test_template_render_value_limit)
{
	struct template *t = load_text("{{return_url}}");
	char *big = malloc(TEMPLATE_VALUE_MAX + 2);
	struct template_values v = { .return_url = big };
	size_t len = 77;
	char *out;

	memset(big, '&', TEMPLATE_VALUE_MAX);
	big[TEMPLATE_VALUE_MAX] = '\0';
	out = template_render(t, &v, &len);
	ck_assert_ptr_nonnull(out);
	ck_assert_uint_eq(len, 5 * TEMPLATE_VALUE_MAX);
	free(out);
	big[TEMPLATE_VALUE_MAX] = 'x';
	big[TEMPLATE_VALUE_MAX + 1] = '\0';
	ck_assert_ptr_null(template_render(t, &v, &len));
	ck_assert_uint_eq(len, 5 * TEMPLATE_VALUE_MAX);
	out = template_render(t, NULL, NULL);
	ck_assert_str_eq(out, "");
	free(out);
	free(big);
	template_free(t);
}
END_TEST

START_TEST(test_template_load_errors)
{
	char *big = malloc(TEMPLATE_MAX + 1);

	LOAD_ERROR("a {{nope}} b", "unknown placeholder {{nope}}");
	LOAD_ERROR("line1\nline2 {{ Meter_Limit }}", "bad.html:2: unknown placeholder");
	LOAD_ERROR("{{}}", "unknown placeholder {{}}");
	LOAD_ERROR("{{{meter_limit}}}", "unknown placeholder {{{meter_limit}}");
	LOAD_ERROR("a\nb\n{{meter_limit", "bad.html:3: '{{' is never closed");
	LOAD_ERROR("{{reason}} {{", "never closed");
	LOAD_ERROR("{{reason} }", "never closed");
	LOAD_ERROR("x\xff", "not UTF-8");
	LOAD_ERROR("a\nb\0c", "bad.html:2: not UTF-8");
	LOAD_ERROR("{{bad\x01name}}", "{{bad?name}}");
	memset(big, 'x', TEMPLATE_MAX + 1);
	expect_load_error(big, TEMPLATE_MAX + 1, "larger than");
	free(big);
	template_free(NULL);
}
END_TEST

START_TEST(test_template_load_file)
{
	static const char text[] = "<div>{{meter_limit}}</div>\n";
	char path[512], err[256] = "";
	struct template *t = NULL;
	char *big = malloc(TEMPLATE_MAX + 1);

	write_temp(path, sizeof(path), text, strlen(text));
	ck_assert_msg(template_load(path, &t, err, sizeof(err)) == 0, "%s", err);
	expect_render(t, &(struct template_values){ .meter_limit = "3" }, "<div>3</div>\n");
	template_free(t);
	ck_assert(unlink(path) == 0);

	/* Exactly the maximum loads; one byte more does not. */
	memset(big, 'x', TEMPLATE_MAX + 1);
	write_temp(path, sizeof(path), big, TEMPLATE_MAX);
	ck_assert_msg(template_load(path, &t, err, sizeof(err)) == 0, "%s", err);
	template_free(t);
	ck_assert(unlink(path) == 0);
	write_temp(path, sizeof(path), big, TEMPLATE_MAX + 1);
	t = (struct template *)0x1;
	ck_assert_int_eq(template_load(path, &t, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "larger than") != NULL && strstr(err, path) != NULL, "%s", err);
	ck_assert_ptr_eq(t, (struct template *)0x1);
	ck_assert(unlink(path) == 0);

	ck_assert_int_eq(template_load("/nonexistent/paywall.html", &t, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/paywall.html") != NULL, "%s", err);
	ck_assert_int_eq(template_load("/nonexistent/paywall.html", &t, NULL, 0), -1);
	free(big);
}
END_TEST

static Suite *template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *render = tcase_create("render");
	TCase *load = tcase_create("load");

	tcase_add_test(render, test_template_render_values);
	tcase_add_test(render, test_template_render_escapes_every_value);
	tcase_add_test(render, test_template_render_null_and_utf8);
	tcase_add_test(render, test_template_render_plain_and_repeated);
	tcase_add_test(render, test_template_render_value_limit);
	suite_add_tcase(s, render);
	tcase_add_test(load, test_template_load_errors);
	tcase_add_test(load, test_template_load_file);
	suite_add_tcase(s, load);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(template_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
