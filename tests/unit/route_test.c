/* route_test: path normalization and route glob matching (route.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

#define NOT_ORIGIN "request target is not in origin form"
#define TOO_LONG "path too long"
#define BAD_CHAR "invalid character in path"
#define BAD_ESCAPE "malformed percent-escape in path"
#define BACKSLASH "backslash in path"
#define ENC_SLASH "encoded slash in path"
#define ENC_BACKSLASH "encoded backslash in path"
#define ENC_NUL "encoded NUL in path"
#define ENC_SEMICOLON "encoded semicolon in path"
#define DOUBLE_ESCAPE "double-encoded escape in path"
#define BAD_UTF8 "invalid UTF-8 in path"

/*
 * One hostile (or plain) target: what it normalizes to, or why it is
 * refused, and the canonical target it must be decided like.
 */
struct route_row {
	const char *target;
	const char *want;	/* normalized target; NULL when refused */
	const char *why;	/* the reason when refused */
	const char *same_as;	/* canonical form for the routing invariant, or NULL */
};

static const struct route_row rows[] = {
	/* plain forms */
	{ "/", "/", NULL, NULL },
	{ "/article/x", "/article/x", NULL, "/article/x" },
	{ "/article/x/", "/article/x/", NULL, "/article/x" },
	{ "/static.css", "/static.css", NULL, NULL },
	{ "/~user/%7euser", "/~user/~user", NULL, NULL },
	/* case is kept; matching ignores it */
	{ "/ARTICLE/X", "/ARTICLE/X", NULL, "/article/x" },
	{ "/Article/X/", "/Article/X/", NULL, "/article/x" },
	/* duplicate slashes */
	{ "/article//x", "/article/x", NULL, "/article/x" },
	{ "//article/x", "/article/x", NULL, "/article/x" },
	{ "//a///b", "/a/b", NULL, NULL },
	{ "/article/x//", "/article/x/", NULL, "/article/x" },
	{ "//", "/", NULL, NULL },
	{ "///", "/", NULL, NULL },
	/* dot segments */
	{ "/./article/x", "/article/x", NULL, "/article/x" },
	{ "/article/./x", "/article/x", NULL, "/article/x" },
	{ "/static/../article/x", "/article/x", NULL, "/article/x" },
	{ "/x/../a", "/a", NULL, NULL },
	{ "/../a", "/a", NULL, NULL },
	{ "/../../article/x", "/article/x", NULL, "/article/x" },
	{ "/a/b/c/../../d", "/a/d", NULL, NULL },
	{ "/a/./b/../../c/", "/c/", NULL, NULL },
	{ "/article/x/../../article/x", "/article/x", NULL, "/article/x" },
	{ "/article/x/.", "/article/x/", NULL, "/article/x" },
	{ "/article/x/..", "/article/", NULL, NULL },
	{ "/..", "/", NULL, NULL },
	{ "/.", "/", NULL, NULL },
	{ "/static/.././article/x", "/article/x", NULL, "/article/x" },
	/* encoded dots and letters: decoded once */
	{ "/static/%2e%2e/article/x", "/article/x", NULL, "/article/x" },
	{ "/static/%2E%2e/article/x", "/article/x", NULL, "/article/x" },
	{ "/static/.%2E/article/x", "/article/x", NULL, "/article/x" },
	{ "/static/%2e./article/x", "/article/x", NULL, "/article/x" },
	{ "/%2e%2E", "/", NULL, NULL },
	{ "/%2e/article/x", "/article/x", NULL, "/article/x" },
	{ "/article/x/%2e", "/article/x/", NULL, "/article/x" },
	{ "/article/x/%2e%2e", "/article/", NULL, NULL },
	{ "/%61rticle/x", "/article/x", NULL, "/article/x" },
	{ "/%61%72%74%69%63%6c%65/%78", "/article/x", NULL, "/article/x" },
	{ "/%41RTICLE/x", "/ARTICLE/x", NULL, "/article/x" },
	{ "/%7E", "/~", NULL, NULL },
	{ "/%7e", "/~", NULL, NULL },
	{ "/a%2d%5f%2E%7e%30%39", "/a-_.~09", NULL, NULL },
	/* other escapes stay, with upper-case hex */
	{ "/a%3b", NULL, ENC_SEMICOLON, NULL },
	{ "/a%3a%3A%40", "/a%3A%3A%40", NULL, NULL },
	{ "/x%20y%2c", "/x%20y%2C", NULL, NULL },
	{ "/article/%c3%a9t%C3%A9", "/article/%C3%A9t%C3%A9", NULL, NULL },
	{ "/%f0%9f%98%80", "/%F0%9F%98%80", NULL, NULL },
	{ "/c%23-tips%3f", "/c%23-tips%3F", NULL, NULL },
	/* path parameters */
	{ "/article/x;jsessionid=ABC", "/article/x", NULL, "/article/x" },
	{ "/a;jsessionid=1/b", "/a/b", NULL, NULL },
	{ "/article/x;v=1", "/article/x", NULL, "/article/x" },
	{ "/article;x/y", "/article/y", NULL, "/article/y" },
	{ "/static;/../article/x", "/article/x", NULL, "/article/x" },
	{ "/static/..;/article/x", "/article/x", NULL, "/article/x" },
	{ "/static/..;x=1/article/x", "/article/x", NULL, "/article/x" },
	{ "/article/x;a;b", "/article/x", NULL, "/article/x" },
	{ "/article/x;a/..;b/x", "/article/x", NULL, "/article/x" },
	{ "/a/.;/b", "/a/b", NULL, NULL },
	{ "/article/x;/", "/article/x/", NULL, "/article/x" },
	{ "/article/x/;", "/article/x/", NULL, "/article/x" },
	{ "/;x", "/", NULL, NULL },
	{ "/article/x;p=%2F", "/article/x", NULL, "/article/x" },
	/* trailing dots */
	{ "/article/x.", "/article/x", NULL, "/article/x" },
	{ "/article/x...", "/article/x", NULL, "/article/x" },
	{ "/article./x", "/article/x", NULL, "/article/x" },
	{ "/article/x%2e", "/article/x", NULL, "/article/x" },
	{ "/article/x.;v=1", "/article/x", NULL, "/article/x" },
	{ "/article/.../x", "/article/x", NULL, "/article/x" },
	{ "/.../article/x", "/article/x", NULL, "/article/x" },
	{ "/..../x", "/x", NULL, NULL },
	{ "/article/x/.../", "/article/x/", NULL, "/article/x" },
	{ "/article/...", "/article/", NULL, NULL },
	{ "/.well-known/a.b.c", "/.well-known/a.b.c", NULL, NULL },
	/* the query is kept byte for byte, whatever it holds */
	{ "/article/x?y=1", "/article/x?y=1", NULL, "/article/x" },
	{ "/a?b/../c", "/a?b/../c", NULL, NULL },
	{ "/article//x?a=%2f&b=%2e%2E;c", "/article/x?a=%2f&b=%2e%2E;c", NULL, "/article/x" },
	{ "/article/x?", "/article/x?", NULL, "/article/x" },
	{ "/static/x?/../../article/x", "/static/x?/../../article/x", NULL, "/static/x" },
	{ "/?", "/?", NULL, NULL },
	/* refused: encoded separators */
	{ "/static/..%2farticle/x", NULL, ENC_SLASH, NULL },
	{ "/static/..%2Farticle/x", NULL, ENC_SLASH, NULL },
	{ "/static%2F..%2Farticle/x", NULL, ENC_SLASH, NULL },
	{ "/article/x%2F", NULL, ENC_SLASH, NULL },
	{ "/static/..%5carticle/x", NULL, ENC_BACKSLASH, NULL },
	{ "/a%5C", NULL, ENC_BACKSLASH, NULL },
	{ "/a%00", NULL, ENC_NUL, NULL },
	{ "/static/..\\article/x", NULL, BACKSLASH, NULL },
	{ "/article/x%3Bv=1", NULL, ENC_SEMICOLON, NULL },
	{ "/static/..%3B/article/x", NULL, ENC_SEMICOLON, NULL },
	{ "/article%3bx/x", NULL, ENC_SEMICOLON, NULL },
	/* refused: double encoding (one pass here, a second one in a backend) */
	{ "/%252e", NULL, DOUBLE_ESCAPE, NULL },
	{ "/static/%252e%252e/article/x", NULL, DOUBLE_ESCAPE, NULL },
	{ "/a%25%32%65", NULL, DOUBLE_ESCAPE, NULL },
	{ "/a%252F", NULL, DOUBLE_ESCAPE, NULL },
	{ "/50%25-off", "/50%25-off", NULL, NULL },
	{ "/a%25", "/a%25", NULL, NULL },
	{ "/a%25/2e", "/a%25/2e", NULL, NULL },
	/* refused: bytes that are not UTF-8, overlong '.' and '/' first */
	{ "/static/%c0%ae%c0%ae/article/x", NULL, BAD_UTF8, NULL },
	{ "/%C0%AF", NULL, BAD_UTF8, NULL },
	{ "/%e0%80%ae", NULL, BAD_UTF8, NULL },
	{ "/%C3", NULL, BAD_UTF8, NULL },
	{ "/%C3/%A9", NULL, BAD_UTF8, NULL },
	{ "/%C3;x", NULL, BAD_UTF8, NULL },
	{ "/%C3a", NULL, BAD_UTF8, NULL },
	{ "/%ED%A0%80", NULL, BAD_UTF8, NULL },
	{ "/%F4%90%80%80", NULL, BAD_UTF8, NULL },
	{ "/%FF", NULL, BAD_UTF8, NULL },
	/* refused: malformed or outside origin form */
	{ "/a%zz", NULL, BAD_ESCAPE, NULL },
	{ "/a%2", NULL, BAD_ESCAPE, NULL },
	{ "/a%", NULL, BAD_ESCAPE, NULL },
	{ "/a%2?x", NULL, BAD_ESCAPE, NULL },
	{ "/a b", NULL, BAD_CHAR, NULL },
	{ "/a#b", NULL, BAD_CHAR, NULL },
	{ "/a\x80", NULL, BAD_CHAR, NULL },
	{ "/a\r\nX: y", NULL, BAD_CHAR, NULL },
	{ "", NULL, NOT_ORIGIN, NULL },
	{ "article/x", NULL, NOT_ORIGIN, NULL },
	{ "http://h/article/x", NULL, NOT_ORIGIN, NULL },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* Patterns the routing invariant is checked with. */
static const char *const patterns[] = {
	"/article/*", "/static/*", "/premium/*", "/article/x", "/article/x/", "/*", "/",
};

START_TEST(test_route_table)
{
	char out[ROUTE_TARGET_MAX + 1];

	for (size_t i = 0; i < NROWS; i++) {
		const struct route_row *r = &rows[i];
		size_t plen = 12345;
		const char *why = route_normalize(r->target, out, sizeof(out), &plen);

		if (r->want == NULL) {
			ck_assert_msg(why != NULL && strcmp(why, r->why) == 0,
				      "'%s': expected '%s', got '%s'", r->target, r->why,
				      why ? why : "(accepted)");
			ck_assert_uint_eq(plen, 12345);
			continue;
		}
		ck_assert_msg(why == NULL, "'%s' refused: %s", r->target, why);
		ck_assert_msg(strcmp(out, r->want) == 0, "'%s': expected '%s', got '%s'", r->target,
			      r->want, out);
		ck_assert_msg(plen == strcspn(r->want, "?"), "'%s': path_len %zu", r->target, plen);
	}
}
END_TEST

/* Normalizing a normalized target changes nothing. */
START_TEST(test_route_idempotent)
{
	char again[ROUTE_TARGET_MAX + 1];

	for (size_t i = 0; i < NROWS; i++) {
		size_t plen;

		if (rows[i].want == NULL)
			continue;
		ck_assert_ptr_null(route_normalize(rows[i].want, again, sizeof(again), &plen));
		ck_assert_msg(strcmp(again, rows[i].want) == 0, "'%s' -> '%s' -> '%s'",
			      rows[i].target, rows[i].want, again);
	}
}
END_TEST

/* A variant is routed like its canonical form under every pattern. */
START_TEST(test_route_variants_routed_alike)
{
	char v[ROUTE_TARGET_MAX + 1], c[ROUTE_TARGET_MAX + 1];
	size_t pairs = 0;

	for (size_t i = 0; i < NROWS; i++) {
		size_t vlen, clen;

		if (rows[i].same_as == NULL)
			continue;
		ck_assert_ptr_null(route_normalize(rows[i].target, v, sizeof(v), &vlen));
		ck_assert_ptr_null(route_normalize(rows[i].same_as, c, sizeof(c), &clen));
		v[vlen] = '\0';
		c[clen] = '\0';
		for (size_t k = 0; k < sizeof(patterns) / sizeof(patterns[0]); k++) {
			ck_assert_msg(route_glob_match(patterns[k], v) == route_glob_match(patterns[k], c),
				      "'%s' and '%s' routed apart by '%s'", rows[i].target,
				      rows[i].same_as, patterns[k]);
		}
		pairs++;
	}
	ck_assert_uint_ge(pairs, 40);
}
END_TEST

START_TEST(test_route_table_size)
{
	ck_assert_uint_ge(NROWS, 60);
}
END_TEST

/* "/" then n - 1 copies of c, NUL-terminated, in a block of exactly n + 1 bytes. */
static char *make_target(size_t n, char c)
{
	char *t = malloc(n + 1);

	ck_assert_ptr_nonnull(t);
	memset(t, c, n);
	t[0] = '/';
	t[n] = '\0';
	return t;
}

START_TEST(test_route_length_limit)
{
	char *t = make_target(ROUTE_TARGET_MAX, 'a');
	char *out = malloc(ROUTE_TARGET_MAX + 1);
	size_t plen;

	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_null(route_normalize(t, out, ROUTE_TARGET_MAX + 1, &plen));
	ck_assert_str_eq(out, t);
	ck_assert_uint_eq(plen, ROUTE_TARGET_MAX);
	/* The same length with a query: the limit is on the whole target. */
	t[100] = '?';
	ck_assert_ptr_null(route_normalize(t, out, ROUTE_TARGET_MAX + 1, &plen));
	ck_assert_str_eq(out, t);
	ck_assert_uint_eq(plen, 100);
	free(t);

	t = make_target(ROUTE_TARGET_MAX + 1, 'a');
	ck_assert_str_eq(route_normalize(t, out, ROUTE_TARGET_MAX + 1, &plen), TOO_LONG);
	free(t);
	free(out);
}
END_TEST

/* A long target of dot segments and slashes shrinks to almost nothing. */
START_TEST(test_route_long_shrinking)
{
	char *t = make_target(ROUTE_TARGET_MAX, '/');
	char out[16];
	size_t plen;

	for (size_t i = 1; i + 3 <= ROUTE_TARGET_MAX; i += 3)
		memcpy(t + i, "../", 3);
	memcpy(t + ROUTE_TARGET_MAX - 2, "/x", 2);
	ck_assert_ptr_null(route_normalize(t, out, sizeof(out), &plen));
	ck_assert_str_eq(out, "/x");
	free(t);
}
END_TEST

START_TEST(test_route_out_size)
{
	/* "/b?q=1" is 6 characters: 7 bytes are needed. */
	const char *t = "/a/../b;p?q=1";
	char out[16];
	size_t plen = 99;

	memset(out, 'Z', sizeof(out));
	ck_assert_str_eq(route_normalize(t, out, 6, &plen), TOO_LONG);
	ck_assert_uint_eq(plen, 99);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'Z');
	ck_assert_str_eq(route_normalize(t, out, 0, &plen), TOO_LONG);
	ck_assert_str_eq(route_normalize(t, NULL, 0, &plen), TOO_LONG);
	ck_assert_ptr_null(route_normalize(t, out, 7, &plen));
	ck_assert_str_eq(out, "/b?q=1");
	ck_assert_uint_eq(plen, 2);
	ck_assert_int_eq(out[7], 'Z');

	/* The root: "/" needs 2 bytes. */
	ck_assert_str_eq(route_normalize("/./", out, 1, &plen), TOO_LONG);
	ck_assert_ptr_null(route_normalize("/./", out, 2, &plen));
	ck_assert_str_eq(out, "/");
}
END_TEST

/* Nothing is written when the target is refused, even late in the path. */
START_TEST(test_route_refused_writes_nothing)
{
	char out[64];
	size_t plen = 7;

	memset(out, 'Z', sizeof(out));
	ck_assert_str_eq(route_normalize("/article/x/y/z%2F", out, sizeof(out), &plen), ENC_SLASH);
	ck_assert_str_eq(route_normalize(NULL, out, sizeof(out), &plen), NOT_ORIGIN);
	ck_assert_uint_eq(plen, 7);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'Z');
}
END_TEST

START_TEST(test_route_glob_basics)
{
	ck_assert(route_glob_match("/article/*", "/article/x"));
	ck_assert(route_glob_match("/article/*", "/article/x/"));
	ck_assert(route_glob_match("/article/*", "/article/a/b"));
	ck_assert(route_glob_match("/article/*", "/article/"));
	ck_assert(!route_glob_match("/article/*", "/article"));
	ck_assert(!route_glob_match("/article/*", "/articles/x"));
	ck_assert(!route_glob_match("/article/*", "/"));
	ck_assert(!route_glob_match("/static/*", "/static.css"));
	ck_assert(route_glob_match("/static/*", "/static/a.css"));
	ck_assert(!route_glob_match("/article/*", "/x/article/y"));
}
END_TEST

START_TEST(test_route_glob_case)
{
	ck_assert(route_glob_match("/article/*", "/ARTICLE/X"));
	ck_assert(route_glob_match("/ARTICLE/*", "/article/x"));
	ck_assert(route_glob_match("/Premium/*", "/pReMiUm/x"));
	ck_assert(route_glob_match("/about", "/ABOUT"));
	/* ASCII only: a byte above 0x7f is not folded. */
	ck_assert(!route_glob_match("/\xc3\xa9", "/\xc3\x89"));
	ck_assert(!route_glob_match("/@", "/`"));
	ck_assert(!route_glob_match("/[", "/{"));
}
END_TEST

START_TEST(test_route_glob_stars)
{
	ck_assert(route_glob_match("*", ""));
	ck_assert(route_glob_match("*", "/anything/at/all?x"));
	ck_assert(route_glob_match("/*", "/"));
	ck_assert(route_glob_match("/a*b", "/ab"));
	ck_assert(route_glob_match("/a*b", "/a/x/b"));
	ck_assert(!route_glob_match("/a*b", "/a/x/bc"));
	ck_assert(route_glob_match("/a/*/b/*", "/a/x/b/y"));
	ck_assert(route_glob_match("/a/*/b/*", "/a/x/y/b/"));
	ck_assert(route_glob_match("/a/*/b/*", "/a/b/b/c"));
	ck_assert(!route_glob_match("/a/*/b/*", "/a/b/c"));
	ck_assert(!route_glob_match("/a/*/b/*", "/a/x/c/y"));
	ck_assert(route_glob_match("/**x", "/x"));
	ck_assert(route_glob_match("/**/x", "/a/b/x"));
	ck_assert(!route_glob_match("/**/x", "/x"));
	ck_assert(route_glob_match("/*.css", "/a/b.CSS"));
	ck_assert(!route_glob_match("/*.css", "/a/b.css/x"));
	/* A '*' in the path is an ordinary character for the pattern. */
	ck_assert(route_glob_match("/a*", "/a*"));
	ck_assert(!route_glob_match("/a", "/a*"));
}
END_TEST

START_TEST(test_route_glob_exact)
{
	ck_assert(route_glob_match("/about", "/about"));
	ck_assert(route_glob_match("/About", "/aBOUT"));
	ck_assert(!route_glob_match("/about", "/abou"));
	ck_assert(!route_glob_match("/about", "/aboutx"));
	ck_assert(route_glob_match("", ""));
	ck_assert(!route_glob_match("", "/"));
	ck_assert(!route_glob_match("/", ""));
}
END_TEST

/* Backends serve "/x/" like "/x": an exact pattern must not miss either. */
START_TEST(test_route_glob_trailing_slash)
{
	ck_assert(route_glob_match("/about", "/about/"));
	ck_assert(route_glob_match("/About/", "/about"));
	ck_assert(route_glob_match("/about/", "/about/"));
	ck_assert(route_glob_match("/*.css", "/a/b.css/"));
	ck_assert(route_glob_match("/article/*", "/article/"));
	ck_assert(!route_glob_match("/article/*", "/article"));
	ck_assert(!route_glob_match("/about", "/about//"));
	ck_assert(!route_glob_match("/", "/x/"));
	ck_assert(!route_glob_match("/x/", "/"));
	ck_assert(route_glob_match("/", "/"));
}
END_TEST

/* Backtracking over every star would take years here; the last-star retry takes a blink. */
START_TEST(test_route_glob_pathological)
{
	char *path = make_target(200000, 'a');
	char *pattern = make_target(ROUTE_PATTERN_MAX, '*');

	ck_assert(!route_glob_match("*a*a*a*a*a*a*a*a*a*a*b", path));
	ck_assert(route_glob_match("*a*a*a*a*a*a*a*a*a*a*a", path));
	for (size_t i = 2; i < ROUTE_PATTERN_MAX; i += 2)
		pattern[i] = 'a';
	pattern[ROUTE_PATTERN_MAX - 1] = 'b';
	ck_assert(!route_glob_match(pattern, path));
	pattern[ROUTE_PATTERN_MAX - 1] = '*';
	ck_assert(route_glob_match(pattern, path));
	free(pattern);
	free(path);
}
END_TEST

START_TEST(test_route_pattern_valid)
{
	static const char *const ok[] = {
		"/", "/article/*", "/a/*/b/*", "/*", "/Premium/*", "/static/*.css", "/about",
		"/x/", "/.well-known/*", "/a*b", "/**", "/~u/@x:y!$&'()+,=",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_msg(route_pattern_is_valid(ok[i]), "'%s' refused", ok[i]);
}
END_TEST

START_TEST(test_route_pattern_invalid)
{
	static const char *const bad[] = {
		"", "article/*", "*", "/a?b", "/a%2e", "/a%41", "/a b", "/a\tb", "/\xc3\xa9",
		"/a\x7f", "/a//b", "//", "/a/./b", "/a/../b", "/.", "/..", "/a/.", "/a./b",
		"/a/*.", "/a;x", "/a;x/*", "/a\\b", "/a#b", "/a[1]",
	};

	ck_assert(!route_pattern_is_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!route_pattern_is_valid(bad[i]), "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(test_route_pattern_length)
{
	char *p = make_target(ROUTE_PATTERN_MAX, 'a');

	ck_assert(route_pattern_is_valid(p));
	free(p);
	p = make_target(ROUTE_PATTERN_MAX + 1, 'a');
	ck_assert(!route_pattern_is_valid(p));
	free(p);
}
END_TEST

static Suite *route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *norm = tcase_create("normalize");
	TCase *glob = tcase_create("glob");
	TCase *pattern = tcase_create("pattern");

	tcase_add_test(norm, test_route_table);
	tcase_add_test(norm, test_route_idempotent);
	tcase_add_test(norm, test_route_variants_routed_alike);
	tcase_add_test(norm, test_route_table_size);
	tcase_add_test(norm, test_route_length_limit);
	tcase_add_test(norm, test_route_long_shrinking);
	tcase_add_test(norm, test_route_out_size);
	tcase_add_test(norm, test_route_refused_writes_nothing);
	suite_add_tcase(s, norm);

	tcase_add_test(glob, test_route_glob_basics);
	tcase_add_test(glob, test_route_glob_case);
	tcase_add_test(glob, test_route_glob_stars);
	tcase_add_test(glob, test_route_glob_exact);
	tcase_add_test(glob, test_route_glob_trailing_slash);
	tcase_add_test(glob, test_route_glob_pathological);
	tcase_set_timeout(glob, 5);
	suite_add_tcase(s, glob);

	tcase_add_test(pattern, test_route_pattern_valid);
	tcase_add_test(pattern, test_route_pattern_invalid);
	tcase_add_test(pattern, test_route_pattern_length);
	suite_add_tcase(s, pattern);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
