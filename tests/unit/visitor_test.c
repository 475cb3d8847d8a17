/* visitor_test: the signed visitor-id cookie and the `visitor` section (visitor.c). */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "config.h"
#include "visitor.h"

#define NAME "t.yaml"
#define UPSTREAM "upstream: {url: http://127.0.0.1:9000}\n"
#define KEY "visitor-test-key-0123456789abcde"	/* 32 bytes */
#define OTHER_KEY "visitor-test-key-0123456789abcdX"
#define B64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
/* KEY's value for the id 00 01 .. 0f: the id, then the first 16 bytes of
 * HMAC-SHA256(KEY, "paywalld visitor id v1\0" id), base64url. Computed with
 * Python's hmac and checked with `openssl dgst -sha256 -hmac`: cookies live
 * two years, so their format must not drift. */
#define GOLDEN "AAECAwQFBgcICQoLDA0ODzE95uKfW4fTSfnVO_6dRbM"
#define MAX_AGE "Max-Age=63244800"

/* ---- helpers ---- */

/* A visitor section built by hand; the strings are static. */
static struct visitor_config vc_make(const char *cookie, const char *key, bool secure)
{
	struct visitor_config vc;

	memset(&vc, 0, sizeof(vc));
	vc.enabled = true;
	vc.cookie = (char *)cookie;
	vc.secret.bytes = (unsigned char *)key;
	vc.secret.len = key != NULL ? strlen(key) : 0;
	vc.secure_cookie = secure;
	return vc;
}

static void id_seq(uint8_t id[VISITOR_ID_LEN])
{
	for (int i = 0; i < VISITOR_ID_LEN; i++)
		id[i] = (uint8_t)i;
}

/* Expects visitor_parse_value to refuse value and leave id as it was. */
static void parse_fails(const struct visitor_config *vc, const char *value)
{
	uint8_t id[VISITOR_ID_LEN];

	memset(id, 0xa5, sizeof(id));
	ck_assert_msg(visitor_parse_value(vc, value, id) == -1, "'%s' accepted", value);
	for (int i = 0; i < VISITOR_ID_LEN; i++)
		ck_assert_msg(id[i] == 0xa5, "'%s': id written on failure", value);
}

/* Expects visitor_read to refuse the Cookie header. */
static void read_fails(const struct visitor_config *vc, const char *header)
{
	uint8_t id[VISITOR_ID_LEN];

	memset(id, 0xa5, sizeof(id));
	ck_assert_msg(visitor_read(vc, header, id) == -1, "'%s' accepted",
		      header ? header : "(null)");
	for (int i = 0; i < VISITOR_ID_LEN; i++)
		ck_assert_msg(id[i] == 0xa5, "'%s': id written on failure", header);
}

static void read_ok(const struct visitor_config *vc, const char *header,
		    const uint8_t want[VISITOR_ID_LEN])
{
	uint8_t id[VISITOR_ID_LEN];

	ck_assert_msg(visitor_read(vc, header, id) == 0, "'%s' refused", header);
	ck_assert_mem_eq(id, want, VISITOR_ID_LEN);
}

/* A private temporary directory, removed by rm_dir at the end of a test. */
static void make_tmpdir(char *dir, size_t len)
{
	ck_assert_int_lt(snprintf(dir, len, "/tmp/paywalld-unit.XXXXXX"), (int)len);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	ck_assert(n > 0 && (size_t)n < outlen);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	int fd;

	join(path, sizeof(path), dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void rm_dir(const char *dir, const char *const *names)
{
	char p[512];

	for (size_t i = 0; names[i] != NULL; i++) {
		join(p, sizeof(p), dir, names[i]);
		unlink(p);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

/* Loads yaml with relative paths resolved against dir; expects success. */
static struct config *load_ok(const char *dir, const char *yaml)
{
	struct cfg_errors errs;
	struct config *cfg = NULL;

	cfg_errors_init(&errs);
	int rc = config_load_buffer(NAME, dir, yaml, strlen(yaml), &cfg, &errs);
	if (rc != 0 || errs.n != 0)
		cfg_errors_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(cfg);
	cfg_errors_free(&errs);
	return cfg;
}

/* Loads yaml and expects exactly the want[] messages, in order. */
static void expect_errors_v(const char *dir, const char *yaml, const char *const *want)
{
	struct cfg_errors errs;
	struct config sentinel, *cfg = &sentinel;
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	cfg_errors_init(&errs);
	int rc = config_load_buffer(NAME, dir, yaml, strlen(yaml), &cfg, &errs);
	if (errs.n != n) {
		fprintf(stderr, "expected %zu errors, got:\n", n);
		cfg_errors_print(&errs, stderr);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_eq(cfg, &sentinel);
	for (size_t i = 0; i < n && i < errs.n; i++)
		ck_assert_str_eq(errs.msg[i], want[i]);
	ck_assert_uint_eq(errs.n, n);
	cfg_errors_free(&errs);
}

#define expect_errors(dir, yaml, ...) \
	expect_errors_v((dir), (yaml), (const char *const[]){ __VA_ARGS__, NULL })

/* ---- values ---- */

START_TEST(test_visitor_value_golden)
{
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	uint8_t id[VISITOR_ID_LEN], back[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1];

	id_seq(id);
	ck_assert_int_eq(visitor_value(&vc, id, value), 0);
	ck_assert_str_eq(value, GOLDEN);
	ck_assert_int_eq(visitor_parse_value(&vc, GOLDEN, back), 0);
	ck_assert_mem_eq(back, id, VISITOR_ID_LEN);
}
END_TEST

START_TEST(test_visitor_value_round_trip)
{
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	uint8_t id[VISITOR_ID_LEN], back[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1];

	for (int i = 0; i < 200; i++) {
		ck_assert_int_eq(visitor_new(id), 0);
		memset(value, 'x', sizeof(value));
		ck_assert_int_eq(visitor_value(&vc, id, value), 0);
		ck_assert_uint_eq(strlen(value), VISITOR_VALUE_LEN);
		ck_assert_uint_eq(strspn(value, B64URL), VISITOR_VALUE_LEN);
		memset(back, 0, sizeof(back));
		ck_assert_int_eq(visitor_parse_value(&vc, value, back), 0);
		ck_assert_mem_eq(back, id, VISITOR_ID_LEN);
	}
	/* all-zero and all-ones ids too */
	memset(id, 0, sizeof(id));
	ck_assert_int_eq(visitor_value(&vc, id, value), 0);
	ck_assert_int_eq(visitor_parse_value(&vc, value, back), 0);
	ck_assert_mem_eq(back, id, VISITOR_ID_LEN);
	memset(id, 0xff, sizeof(id));
	ck_assert_int_eq(visitor_value(&vc, id, value), 0);
	ck_assert_int_eq(visitor_parse_value(&vc, value, back), 0);
	ck_assert_mem_eq(back, id, VISITOR_ID_LEN);
}
END_TEST

START_TEST(test_visitor_new_differs)
{
	uint8_t a[VISITOR_ID_LEN], b[VISITOR_ID_LEN], zero[VISITOR_ID_LEN] = { 0 };

	ck_assert_int_eq(visitor_new(a), 0);
	ck_assert_int_eq(visitor_new(b), 0);
	ck_assert(memcmp(a, b, VISITOR_ID_LEN) != 0);
	ck_assert(memcmp(a, zero, VISITOR_ID_LEN) != 0);
}
END_TEST

/* Any single changed character is refused: the tag covers the id, and
 * strict base64url refuses stray low bits in the last character. */
START_TEST(test_visitor_value_tampered)
{
	static const char repl[] = "AQgw_-09azZ+/=.%";
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	char v[VISITOR_VALUE_LEN + 1];
	size_t tried = 0;

	for (size_t pos = 0; pos < VISITOR_VALUE_LEN; pos++) {
		for (size_t r = 0; repl[r] != '\0'; r++) {
			memcpy(v, GOLDEN, sizeof(v));
			if (v[pos] == repl[r])
				continue;
			v[pos] = repl[r];
			parse_fails(&vc, v);
			tried++;
		}
		/* a bit flip inside the same alphabet position's neighbour */
		memcpy(v, GOLDEN, sizeof(v));
		v[pos] = B64URL[(strchr(B64URL, v[pos]) - B64URL + 1) % 64];
		parse_fails(&vc, v);
	}
	ck_assert_uint_gt(tried, VISITOR_VALUE_LEN * 10);
}
END_TEST

START_TEST(test_visitor_value_other_key)
{
	struct visitor_config mine = vc_make("pw_vid", KEY, true);
	struct visitor_config other = vc_make("pw_vid", OTHER_KEY, true);
	struct visitor_config longer = vc_make("pw_vid", KEY "x", true);
	uint8_t id[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1];

	parse_fails(&other, GOLDEN);
	parse_fails(&longer, GOLDEN);
	ck_assert_int_eq(visitor_new(id), 0);
	ck_assert_int_eq(visitor_value(&other, id, value), 0);
	parse_fails(&mine, value);
	ck_assert_str_ne(value, GOLDEN);
}
END_TEST

START_TEST(test_visitor_value_wrong_length)
{
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	char v[128];

	parse_fails(&vc, "");
	parse_fails(&vc, "A");
	/* 42: one short */
	snprintf(v, sizeof(v), "%.*s", VISITOR_VALUE_LEN - 1, GOLDEN);
	parse_fails(&vc, v);
	/* 44: one too many, whatever the extra character */
	snprintf(v, sizeof(v), "%sA", GOLDEN);
	parse_fails(&vc, v);
	snprintf(v, sizeof(v), "%s=", GOLDEN);
	parse_fails(&vc, v);
	snprintf(v, sizeof(v), "%s ", GOLDEN);
	parse_fails(&vc, v);
	snprintf(v, sizeof(v), " %s", GOLDEN);
	parse_fails(&vc, v);
	snprintf(v, sizeof(v), "%s%s", GOLDEN, GOLDEN);
	parse_fails(&vc, v);
}
END_TEST

START_TEST(test_visitor_value_no_secret)
{
	struct visitor_config vc = vc_make("pw_vid", NULL, true);
	uint8_t id[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1], sc[VISITOR_SET_COOKIE_MAX];

	id_seq(id);
	ck_assert_int_eq(visitor_value(&vc, id, value), -1);
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, sizeof(sc)), -1);
	parse_fails(&vc, GOLDEN);
}
END_TEST

/* ---- the Cookie header ---- */

START_TEST(test_visitor_read)
{
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	uint8_t id[VISITOR_ID_LEN];

	id_seq(id);
	read_ok(&vc, "pw_vid=" GOLDEN, id);
	read_ok(&vc, "a=1; pw_vid=" GOLDEN "; b=2", id);
	read_ok(&vc, "a=1;pw_vid=" GOLDEN, id);
	read_ok(&vc, "pw_token=xyz; pw_vid=" GOLDEN, id);
	read_ok(&vc, "pw_vid=\"" GOLDEN "\"", id);
	read_ok(&vc, "pw_vid2=zzz; pw_vid=" GOLDEN "; xpw_vid=zzz", id);
	read_ok(&vc, "  pw_vid=" GOLDEN "  ", id);

	read_fails(&vc, NULL);
	read_fails(&vc, "");
	read_fails(&vc, "a=1; b=2");
	read_fails(&vc, "pw_vid=");
	read_fails(&vc, "pw_vid");
	read_fails(&vc, "PW_VID=" GOLDEN);		/* names are case-sensitive */
	read_fails(&vc, "pw_vid=" GOLDEN "; pw_vid=" GOLDEN);	/* twice: ambiguous */
	read_fails(&vc, "pw_vid=" GOLDEN "; pw_vid=other");
	read_fails(&vc, "pw_vid=other; pw_vid=" GOLDEN);
	read_fails(&vc, "pw_vid =" GOLDEN);		/* spaced name */
	read_fails(&vc, "pw_vid=" GOLDEN "A");
	read_fails(&vc, "pw_vid=" GOLDEN GOLDEN);
	read_fails(&vc, "pw_vid=x" GOLDEN);
}
END_TEST

START_TEST(test_visitor_read_custom_name)
{
	struct visitor_config vc = vc_make("vid", KEY, true);
	uint8_t id[VISITOR_ID_LEN];

	id_seq(id);
	read_ok(&vc, "vid=" GOLDEN, id);
	read_ok(&vc, "pw_vid=junk; vid=" GOLDEN, id);
	read_fails(&vc, "pw_vid=" GOLDEN);
}
END_TEST

/* ---- Set-Cookie ---- */

START_TEST(test_visitor_set_cookie)
{
	struct visitor_config secure = vc_make("pw_vid", KEY, true);
	struct visitor_config plain = vc_make("pw_vid", KEY, false);
	struct visitor_config named = vc_make("reader", KEY, true);
	uint8_t id[VISITOR_ID_LEN], back[VISITOR_ID_LEN];
	char sc[VISITOR_SET_COOKIE_MAX], header[128];

	id_seq(id);
	ck_assert_int_eq(VISITOR_MAX_AGE_S, 63244800);	/* two leap years */
	ck_assert_int_eq(visitor_set_cookie(&secure, id, sc, sizeof(sc)), 0);
	ck_assert_str_eq(sc, "pw_vid=" GOLDEN "; Path=/; " MAX_AGE "; HttpOnly; Secure; "
			 "SameSite=Lax");
	ck_assert_int_eq(visitor_set_cookie(&plain, id, sc, sizeof(sc)), 0);
	ck_assert_str_eq(sc, "pw_vid=" GOLDEN "; Path=/; " MAX_AGE "; HttpOnly; SameSite=Lax");
	ck_assert_int_eq(visitor_set_cookie(&named, id, sc, sizeof(sc)), 0);
	ck_assert_str_eq(sc, "reader=" GOLDEN "; Path=/; " MAX_AGE "; HttpOnly; Secure; "
			 "SameSite=Lax");

	/* what a browser sends back reads as the same id */
	snprintf(header, sizeof(header), "%.*s", (int)strcspn(sc, ";"), sc);
	read_ok(&named, header, id);
	ck_assert_int_eq(visitor_read(&named, header, back), 0);
	ck_assert_mem_eq(back, id, VISITOR_ID_LEN);
}
END_TEST

START_TEST(test_visitor_set_cookie_too_small)
{
	struct visitor_config vc = vc_make("pw_vid", KEY, true);
	uint8_t id[VISITOR_ID_LEN];
	char sc[VISITOR_SET_COOKIE_MAX];
	size_t need;

	id_seq(id);
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, sizeof(sc)), 0);
	need = strlen(sc) + 1;
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, need), 0);
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, need - 1), -1);
	ck_assert_str_eq(sc, "");
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, 1), -1);
	ck_assert_str_eq(sc, "");
}
END_TEST

/* ---- the `visitor` config section ---- */

static const char *const cfg_names[] = { "v.key", "short.key", NULL };

START_TEST(test_visitor_config_ok)
{
	char dir[64], yaml[1024], path[512];
	struct config *cfg;
	uint8_t id[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1];

	make_tmpdir(dir, sizeof(dir));
	write_file(dir, "v.key", KEY "\n", strlen(KEY) + 1);

	/* relative to the config's directory; defaults for the rest */
	cfg = load_ok(dir, UPSTREAM "visitor:\n  secret_file: v.key\n");
	ck_assert(cfg->visitor.enabled);
	ck_assert_str_eq(cfg->visitor.cookie, "pw_vid");
	ck_assert(cfg->visitor.secure_cookie);
	ck_assert_uint_eq(cfg->visitor.secret.len, 32);
	ck_assert_mem_eq(cfg->visitor.secret.bytes, KEY, 32);
	join(path, sizeof(path), dir, "v.key");
	ck_assert_str_eq(cfg->visitor.secret.path, path);
	id_seq(id);
	ck_assert_int_eq(visitor_value(&cfg->visitor, id, value), 0);
	ck_assert_str_eq(value, GOLDEN);
	config_free(cfg);

	snprintf(yaml, sizeof(yaml), UPSTREAM "visitor:\n  cookie: vid\n"
		 "  secret_file: %s\n  secure_cookie: false\n", path);
	cfg = load_ok("/nonexistent", yaml);
	ck_assert_str_eq(cfg->visitor.cookie, "vid");
	ck_assert(!cfg->visitor.secure_cookie);
	config_free(cfg);

	/* no section: disabled */
	cfg = load_ok(dir, UPSTREAM);
	ck_assert(!cfg->visitor.enabled);
	config_free(cfg);
	rm_dir(dir, cfg_names);
}
END_TEST

START_TEST(test_visitor_config_errors)
{
	char dir[64], yaml[512], want[640], path[512];

	make_tmpdir(dir, sizeof(dir));
	write_file(dir, "v.key", KEY, strlen(KEY));
	write_file(dir, "short.key", KEY, strlen(KEY) - 1);

	expect_errors(dir, UPSTREAM "visitor:\n  cookie: pw_vid\n",
		      "t.yaml:3:3: missing required key 'secret_file'");
	expect_errors(dir, UPSTREAM "visitor: {}\n", "t.yaml:2:10: missing required key 'secret_file'");
	expect_errors(dir, UPSTREAM "visitor: pw_vid\n",
		      "t.yaml:2:10: expected a mapping of keys to values");

	join(path, sizeof(path), dir, "short.key");
	snprintf(want, sizeof(want), "t.yaml:3:16: secret_file: key file %s: 31 bytes of secret, "
		 "at least 32 needed", path);
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: short.key\n", want);

	join(path, sizeof(path), dir, "none.key");
	snprintf(want, sizeof(want), "t.yaml:3:16: secret_file: cannot open key file %s: "
		 "No such file or directory", path);
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: none.key\n", want);
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: ''\n",
		      "t.yaml:3:16: secret_file: expected a key file path");

	/* a cookie name that is not a token is reported at the section */
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: pw vid\n",
		      "t.yaml:3:3: visitor: cookie is not a valid cookie name");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: 'a;b'\n",
		      "t.yaml:3:3: visitor: cookie is not a valid cookie name");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: 'a=b'\n",
		      "t.yaml:3:3: visitor: cookie is not a valid cookie name");
	snprintf(yaml, sizeof(yaml), UPSTREAM "visitor: {secret_file: v.key, cookie: %065d}\n", 0);
	expect_errors(dir, yaml, "t.yaml:2:10: visitor: cookie is not a valid cookie name");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: ''\n",
		      "t.yaml:4:11: cookie: expected a non-empty string");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: [a]\n",
		      "t.yaml:4:11: cookie: expected a non-empty string");

	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  secure_cookie: yes\n",
		      "t.yaml:4:18: secure_cookie: expected true or false");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  secure: true\n",
		      "t.yaml:4:3: unknown key 'secure'");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  secret_file: v.key\n",
		      "t.yaml:4:3: duplicate key 'secret_file'");
	rm_dir(dir, cfg_names);
}
END_TEST

/*
 * FIXED (regression): visitor_config_parse (gateway/visitor.c) accepts a cookie name with a
 * __Host- or __Secure- prefix together with secure_cookie: false, but
 * cookie_build refuses that pair, so visitor_set_cookie fails on every
 * response and pipeline.c silently sends no Set-Cookie: each anonymous
 * request is then a new visitor and the meter never runs out. The section
 * should refuse the pair at load. Left unregistered until fixed: build with
 * -DVISITOR_TEST_BUGS to run it.
 */
START_TEST(test_visitor_config_prefix_needs_secure)
{
	char dir[64];
	uint8_t id[VISITOR_ID_LEN];
	char sc[VISITOR_SET_COOKIE_MAX];
	struct visitor_config vc = vc_make("__Host-vid", KEY, false);

	/* what goes wrong at run time */
	id_seq(id);
	ck_assert_int_eq(visitor_set_cookie(&vc, id, sc, sizeof(sc)), -1);

	make_tmpdir(dir, sizeof(dir));
	write_file(dir, "v.key", KEY, strlen(KEY));
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: __Host-vid\n"
		      "  secure_cookie: false\n",
		      "t.yaml:3:3: visitor: cookie __Host-vid needs secure_cookie: true");
	expect_errors(dir, UPSTREAM "visitor:\n  secret_file: v.key\n  cookie: __secure-vid\n"
		      "  secure_cookie: false\n",
		      "t.yaml:3:3: visitor: cookie __secure-vid needs secure_cookie: true");
	rm_dir(dir, cfg_names);
}
END_TEST

static Suite *visitor_suite(void)
{
	Suite *s = suite_create("visitor");
	TCase *value = tcase_create("value");
	TCase *cookie = tcase_create("cookie");
	TCase *config = tcase_create("config");

	tcase_add_test(value, test_visitor_value_golden);
	tcase_add_test(value, test_visitor_value_round_trip);
	tcase_add_test(value, test_visitor_new_differs);
	tcase_add_test(value, test_visitor_value_tampered);
	tcase_add_test(value, test_visitor_value_other_key);
	tcase_add_test(value, test_visitor_value_wrong_length);
	tcase_add_test(value, test_visitor_value_no_secret);
	suite_add_tcase(s, value);

	tcase_add_test(cookie, test_visitor_read);
	tcase_add_test(cookie, test_visitor_read_custom_name);
	tcase_add_test(cookie, test_visitor_set_cookie);
	tcase_add_test(cookie, test_visitor_set_cookie_too_small);
	suite_add_tcase(s, cookie);

	tcase_add_test(config, test_visitor_config_ok);
	tcase_add_test(config, test_visitor_config_errors);
	tcase_add_test(config, test_visitor_config_prefix_needs_secure);
	suite_add_tcase(s, config);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(visitor_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
