/* config_test: the YAML config loader (config.c, cfg.c): errors with positions, defaults, key files. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "cfg.h"
#include "config.h"

#define NAME "t.yaml"
#define DIR "/etc/paywalld"
#define MINIMAL "upstream:\n  url: http://127.0.0.1:9000\n"
#define NOT_LISTEN ": expected HOST:PORT with a literal IP address, got '"
#define NOT_CIDR "' is not an address or a CIDR range with zero host bits"

/* ---- helpers ---- */

/* Where the committed fixtures are: run.sh exports the absolute path. */
static const char *fixtures(void)
{
	const char *d = getenv("PAYWALLD_FIXTURES");

	return d != NULL && d[0] != '\0' ? d : "tests/fixtures";
}

static void fixture_path(char *out, size_t outlen, const char *name)
{
	int n = snprintf(out, outlen, "%s/config/%s", fixtures(), name);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* Loads yaml from memory and expects success without any error. */
static struct config *load_ok(const char *yaml)
{
	struct cfg_errors errs;
	struct config *cfg = NULL;

	cfg_errors_init(&errs);
	int rc = config_load_buffer(NAME, DIR, yaml, strlen(yaml), &cfg, &errs);
	if (rc != 0 || errs.n != 0)
		cfg_errors_print(&errs, stderr);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(cfg);
	cfg_errors_free(&errs);
	return cfg;
}

/* Checks a failed load: -1, *out untouched, exactly the want[] messages. */
static void check_errors(int rc, struct config *cfg, struct config *sentinel,
			 struct cfg_errors *errs, const char *const *want)
{
	size_t n = 0;

	while (want[n] != NULL)
		n++;
	if (errs->n != n) {
		fprintf(stderr, "expected %zu errors, got:\n", n);
		cfg_errors_print(errs, stderr);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_ptr_eq(cfg, sentinel);
	for (size_t i = 0; i < n && i < errs->n; i++)
		ck_assert_str_eq(errs->msg[i], want[i]);
	ck_assert_uint_eq(errs->n, n);
	ck_assert_uint_eq(errs->dropped, 0);
	cfg_errors_free(errs);
}

/* Loads yaml from memory and expects exactly the listed errors, in order. */
static void expect_errors_v(const char *yaml, const char *const *want)
{
	struct cfg_errors errs;
	struct config sentinel, *cfg = &sentinel;

	cfg_errors_init(&errs);
	int rc = config_load_buffer(NAME, DIR, yaml, strlen(yaml), &cfg, &errs);
	check_errors(rc, cfg, &sentinel, &errs, want);
}

#define expect_errors(yaml, ...) \
	expect_errors_v((yaml), (const char *const[]){ __VA_ARGS__, NULL })
#define expect_error(yaml, msg) expect_errors((yaml), (msg))

/* The same through config_load on a file. */
static void expect_file_errors_v(const char *path, const char *const *want)
{
	struct cfg_errors errs;
	struct config sentinel, *cfg = &sentinel;

	cfg_errors_init(&errs);
	int rc = config_load(path, &cfg, &errs);
	check_errors(rc, cfg, &sentinel, &errs, want);
}

#define expect_file_errors(path, ...) \
	expect_file_errors_v((path), (const char *const[]){ __VA_ARGS__, NULL })

/* "upstream: ..." plus a server section holding one line "  KEY: VALUE". */
static void server_line(char *out, size_t outlen, const char *line)
{
	int n = snprintf(out, outlen, "server:\n  %s\n" MINIMAL, line);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* MINIMAL plus one upstream line "  KEY: VALUE" (line 3 of the document). */
static void upstream_line(char *out, size_t outlen, const char *line)
{
	int n = snprintf(out, outlen, MINIMAL "  %s\n", line);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* A private temporary directory, removed by rm_tree at the end of a test. */
static void make_tmpdir(char *dir, size_t len)
{
	ck_assert_int_lt(snprintf(dir, len, "/tmp/paywalld-unit.XXXXXX"), (int)len);
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	ck_assert(n > 0 && (size_t)n < outlen);
}

/* Removes the files the tests put in dir, then dir itself. */
static void rm_dir(const char *dir, const char *const *names)
{
	char p[512];

	for (size_t i = 0; names[i] != NULL; i++) {
		join(p, sizeof(p), dir, names[i]);
		unlink(p);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}

/* ---- document level ---- */

START_TEST(test_config_defaults)
{
	struct config *cfg = load_ok(MINIMAL);

	ck_assert_str_eq(cfg->path, NAME);
	ck_assert_str_eq(cfg->server.listen, "127.0.0.1:8080");
	ck_assert_uint_eq(cfg->server.trusted_proxies.n, 0);
	ck_assert_int_eq(cfg->server.max_connections, 4096);
	ck_assert_int_eq(cfg->server.max_header_bytes, 16384);
	ck_assert_int_eq(cfg->server.max_body_bytes, 16LL * 1024 * 1024);
	ck_assert_int_eq(cfg->server.client_timeout_s, 30);
	ck_assert_int_eq(cfg->server.drain_timeout_ms, 10000);
	ck_assert_str_eq(cfg->upstream.url, "http://127.0.0.1:9000");
	ck_assert_int_eq(cfg->upstream.connect_timeout_ms, 1000);
	ck_assert_int_eq(cfg->upstream.timeout_ms, 10000);
	ck_assert_int_eq(cfg->upstream.pool_size, 256);
	ck_assert(!cfg->upstream.preserve_host);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_every_key)
{
	struct config *cfg = load_ok(
		"upstream:\n"
		"  url: https://backend.example:8443/prefix\n"
		"  connect_timeout_ms: 5\n"
		"  timeout_ms: 6\n"
		"  pool_size: 0\n"
		"  preserve_host: true\n"
		"server:\n"
		"  listen: 0.0.0.0:0\n"
		"  trusted_proxies: [10.0.0.0/8]\n"
		"  max_connections: 1\n"
		"  max_header_bytes: 1024\n"
		"  max_body_bytes: 0\n"
		"  client_timeout_s: 3600\n"
		"  drain_timeout_ms: 0\n");

	ck_assert_str_eq(cfg->server.listen, "0.0.0.0:0");
	ck_assert_uint_eq(cfg->server.trusted_proxies.n, 1);
	ck_assert_int_eq(cfg->server.max_connections, 1);
	ck_assert_int_eq(cfg->server.max_header_bytes, 1024);
	ck_assert_int_eq(cfg->server.max_body_bytes, 0);
	ck_assert_int_eq(cfg->server.client_timeout_s, 3600);
	ck_assert_int_eq(cfg->server.drain_timeout_ms, 0);
	ck_assert_str_eq(cfg->upstream.url, "https://backend.example:8443/prefix");
	ck_assert_int_eq(cfg->upstream.connect_timeout_ms, 5);
	ck_assert_int_eq(cfg->upstream.timeout_ms, 6);
	ck_assert_int_eq(cfg->upstream.pool_size, 0);
	ck_assert(cfg->upstream.preserve_host);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_partial_server_keeps_other_defaults)
{
	struct config *cfg = load_ok("server:\n  max_connections: 7\n" MINIMAL);

	ck_assert_int_eq(cfg->server.max_connections, 7);
	ck_assert_str_eq(cfg->server.listen, "127.0.0.1:8080");
	ck_assert_int_eq(cfg->server.max_header_bytes, 16384);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_yaml_syntax_error)
{
	expect_error("upstream:\n  url: [a\n",
		     "t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' "
		     "while parsing a flow sequence");
	expect_error("upstream: : :\n",
		     "t.yaml:1:11: YAML syntax error: mapping values are not allowed "
		     "in this context");
	expect_error("upstream:\n\turl: http://x\n",
		     "t.yaml:2:1: YAML syntax error: found character that cannot start "
		     "any token while scanning for the next token");
}
END_TEST

START_TEST(test_config_empty_document)
{
	expect_error("", "t.yaml:1:1: empty configuration");
	expect_error("# nothing but a comment\n\n", "t.yaml:1:1: empty configuration");
}
END_TEST

START_TEST(test_config_two_documents)
{
	expect_error(MINIMAL "---\nserver: {}\n",
		     "t.yaml:4:1: more than one YAML document in the file");
	/* A syntax error in the second document is reported too. */
	expect_error(MINIMAL "---\nserver: [\n",
		     "t.yaml:5:1: YAML syntax error: did not find expected node content "
		     "while parsing a flow node");
}
END_TEST

START_TEST(test_config_top_level_not_mapping)
{
	expect_error("- server\n- upstream\n",
		     "t.yaml:1:1: expected a mapping of sections (server, upstream, ...)");
	expect_error("\n  upstream\n",
		     "t.yaml:2:3: expected a mapping of sections (server, upstream, ...)");
}
END_TEST

START_TEST(test_config_unknown_section)
{
	expect_error(MINIMAL "logging:\n  level: debug\n", "t.yaml:3:1: unknown section 'logging'");
	expect_error("? [a]\n: 1\n" MINIMAL, "t.yaml:1:3: unknown section '(not a string)'");
	/* Names are case-sensitive. */
	expect_error(MINIMAL "Server: {}\n", "t.yaml:3:1: unknown section 'Server'");
}
END_TEST

START_TEST(test_config_duplicate_section)
{
	expect_error(MINIMAL "server: {}\nupstream:\n  url: http://other\n",
		     "t.yaml:4:1: duplicate section 'upstream'");
	expect_error("server: {}\n" MINIMAL "server: {}\n",
		     "t.yaml:4:1: duplicate section 'server'");
}
END_TEST

START_TEST(test_config_missing_upstream)
{
	expect_error("server:\n  listen: 127.0.0.1:1\n",
		     "t.yaml:1:1: missing required section 'upstream'");
	expect_error("{}\n", "t.yaml:1:1: missing required section 'upstream'");
}
END_TEST

START_TEST(test_config_section_not_mapping)
{
	expect_error("upstream: http://x\n", "t.yaml:1:11: expected a mapping of keys to values");
	expect_error("upstream:\n", "t.yaml:1:10: expected a mapping of keys to values");
	expect_error("server: [a]\n" MINIMAL, "t.yaml:1:9: expected a mapping of keys to values");
}
END_TEST

START_TEST(test_config_unknown_key)
{
	expect_error("server:\n  listen: 127.0.0.1:1\n  lisen: 127.0.0.1:2\n" MINIMAL,
		     "t.yaml:3:3: unknown key 'lisen'");
	expect_error(MINIMAL "  timeout: 5\n", "t.yaml:3:3: unknown key 'timeout'");
	expect_error("upstream: {url: http://x,  URL: http://y}\n",
		     "t.yaml:1:28: unknown key 'URL'");
	expect_error("upstream: {url: http://x, [k]: 1}\n",
		     "t.yaml:1:27: unknown key '(not a string)'");
}
END_TEST

START_TEST(test_config_duplicate_key)
{
	expect_error(MINIMAL "  pool_size: 1\n  pool_size: 2\n",
		     "t.yaml:4:3: duplicate key 'pool_size'");
	expect_error("upstream:\n  url: http://a\n  url: http://b\n",
		     "t.yaml:3:3: duplicate key 'url'");
}
END_TEST

START_TEST(test_config_missing_url)
{
	expect_error("upstream:\n  timeout_ms: 5\n", "t.yaml:2:3: missing required key 'url'");
	expect_error("upstream: {}\n", "t.yaml:1:11: missing required key 'url'");
}
END_TEST

/* ---- value types ---- */

START_TEST(test_config_int_not_a_number)
{
	char y[256];

	server_line(y, sizeof(y), "max_connections: many");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer, got 'many'");
	server_line(y, sizeof(y), "max_connections: 1.5");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer, got '1.5'");
	server_line(y, sizeof(y), "max_connections: 0x10");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer, got '0x10'");
	server_line(y, sizeof(y), "max_connections: 99999999999999999999");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer, "
		     "got '99999999999999999999'");
	server_line(y, sizeof(y), "max_connections: [1]");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer");
	server_line(y, sizeof(y), "max_connections:");
	expect_error(y, "t.yaml:2:19: max_connections: expected an integer");
}
END_TEST

START_TEST(test_config_int_quoted)
{
	char y[256];

	server_line(y, sizeof(y), "max_connections: \"10\"");
	expect_error(y, "t.yaml:2:20: max_connections: expected an integer");
	upstream_line(y, sizeof(y), "timeout_ms: '10'");
	expect_error(y, "t.yaml:3:15: timeout_ms: expected an integer");
}
END_TEST

START_TEST(test_config_int_range)
{
	char y[256];
	struct config *cfg;

	server_line(y, sizeof(y), "max_connections: 0");
	expect_error(y, "t.yaml:2:20: max_connections: 0 is out of range [1, 1000000]");
	server_line(y, sizeof(y), "max_connections: -5");
	expect_error(y, "t.yaml:2:20: max_connections: -5 is out of range [1, 1000000]");
	server_line(y, sizeof(y), "max_connections: 1000001");
	expect_error(y, "t.yaml:2:20: max_connections: 1000001 is out of range [1, 1000000]");
	server_line(y, sizeof(y), "max_header_bytes: 1023");
	expect_error(y, "t.yaml:2:21: max_header_bytes: 1023 is out of range [1024, 1048576]");
	server_line(y, sizeof(y), "max_body_bytes: 1073741825");
	expect_error(y, "t.yaml:2:19: max_body_bytes: 1073741825 is out of range "
		     "[0, 1073741824]");
	server_line(y, sizeof(y), "client_timeout_s: 0");
	expect_error(y, "t.yaml:2:21: client_timeout_s: 0 is out of range [1, 3600]");
	server_line(y, sizeof(y), "drain_timeout_ms: 600001");
	expect_error(y, "t.yaml:2:21: drain_timeout_ms: 600001 is out of range [0, 600000]");
	upstream_line(y, sizeof(y), "connect_timeout_ms: 0");
	expect_error(y, "t.yaml:3:23: connect_timeout_ms: 0 is out of range [1, 600000]");
	upstream_line(y, sizeof(y), "timeout_ms: 3600001");
	expect_error(y, "t.yaml:3:15: timeout_ms: 3600001 is out of range [1, 3600000]");
	upstream_line(y, sizeof(y), "pool_size: -1");
	expect_error(y, "t.yaml:3:14: pool_size: -1 is out of range [0, 100000]");

	/* The bounds themselves are accepted. */
	server_line(y, sizeof(y), "max_connections: 1000000");
	cfg = load_ok(y);
	ck_assert_int_eq(cfg->server.max_connections, 1000000);
	config_free(cfg);
	server_line(y, sizeof(y), "max_body_bytes: 1073741824");
	cfg = load_ok(y);
	ck_assert_int_eq(cfg->server.max_body_bytes, 1073741824LL);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_bool)
{
	char y[256];
	struct config *cfg;

	upstream_line(y, sizeof(y), "preserve_host: yes");
	expect_error(y, "t.yaml:3:18: preserve_host: expected true or false");
	upstream_line(y, sizeof(y), "preserve_host: 1");
	expect_error(y, "t.yaml:3:18: preserve_host: expected true or false");
	upstream_line(y, sizeof(y), "preserve_host: True");
	expect_error(y, "t.yaml:3:18: preserve_host: expected true or false");
	upstream_line(y, sizeof(y), "preserve_host: \"true\"");
	expect_error(y, "t.yaml:3:18: preserve_host: expected true or false");

	upstream_line(y, sizeof(y), "preserve_host: true");
	cfg = load_ok(y);
	ck_assert(cfg->upstream.preserve_host);
	config_free(cfg);
	upstream_line(y, sizeof(y), "preserve_host: false");
	cfg = load_ok(y);
	ck_assert(!cfg->upstream.preserve_host);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_listen)
{
	char y[256];
	struct config *cfg;

	server_line(y, sizeof(y), "listen: localhost:8080");
	expect_error(y, "t.yaml:2:11: listen" NOT_LISTEN "localhost:8080'");
	server_line(y, sizeof(y), "listen: 127.0.0.1");
	expect_error(y, "t.yaml:2:11: listen" NOT_LISTEN "127.0.0.1'");
	server_line(y, sizeof(y), "listen: 127.0.0.1:70000");
	expect_error(y, "t.yaml:2:11: listen" NOT_LISTEN "127.0.0.1:70000'");
	server_line(y, sizeof(y), "listen: ::1:8080");
	expect_error(y, "t.yaml:2:11: listen" NOT_LISTEN "::1:8080'");
	server_line(y, sizeof(y), "listen: ''");
	expect_error(y, "t.yaml:2:11: listen: expected a non-empty string");
	server_line(y, sizeof(y), "listen: [127.0.0.1:80]");
	expect_error(y, "t.yaml:2:11: listen: expected a non-empty string");

	server_line(y, sizeof(y), "listen: '[::1]:8080'");
	cfg = load_ok(y);
	ck_assert_str_eq(cfg->server.listen, "[::1]:8080");
	config_free(cfg);
}
END_TEST

#define URL_TAIL "without query, fragment or credentials, "

START_TEST(test_config_url)
{
	struct config *cfg;

	expect_error("upstream:\n  url: ftp://files.example/\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'ftp://files.example/'");
	expect_error("upstream:\n  url: /relative/path\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got '/relative/path'");
	expect_error("upstream:\n  url: backend.example\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'backend.example'");
	expect_error("upstream:\n  url: http://\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'http://'");
	/* Targets are appended to the base: nothing may follow its path. */
	expect_error("upstream:\n  url: http://h/p?q=1\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'http://h/p?q=1'");
	expect_error("upstream:\n  url: http://h/p#frag\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'http://h/p#frag'");
	expect_error("upstream:\n  url: http://user:pw@h/\n",
		     "t.yaml:2:8: url: expected an absolute http:// or https:// URL " URL_TAIL
		     "got 'http://user:pw@h/'");
	expect_error("upstream:\n  url: ''\n", "t.yaml:2:8: url: expected a non-empty string");
	expect_error("upstream:\n  url:\n", "t.yaml:2:7: url: expected a non-empty string");

	cfg = load_ok("upstream:\n  url: 'HTTPS://[::1]:8443'\n");
	ck_assert_str_eq(cfg->upstream.url, "HTTPS://[::1]:8443");
	config_free(cfg);
}
END_TEST

START_TEST(test_config_trusted_proxies_not_list)
{
	char y[256];

	server_line(y, sizeof(y), "trusted_proxies: 10.0.0.0/8");
	expect_error(y, "t.yaml:2:20: trusted_proxies: expected a list of addresses "
		     "or CIDR ranges");
	server_line(y, sizeof(y), "trusted_proxies: {a: b}");
	expect_error(y, "t.yaml:2:20: trusted_proxies: expected a list of addresses "
		     "or CIDR ranges");
}
END_TEST

START_TEST(test_config_trusted_proxies_bad_items)
{
	/* Every bad item is reported at its own position. */
	expect_errors("server:\n"
		      "  trusted_proxies:\n"
		      "    - 10.0.0.0/8\n"
		      "    - 10.0.0.1/8\n"
		      "    - banana\n"
		      "    - 10.0.0.0/33\n"
		      "    - {a: b}\n"
		      "    - '::1/129'\n"
		      "    - 2001:db8::1/32\n" MINIMAL,
		      "t.yaml:4:7: trusted_proxies: '10.0.0.1/8" NOT_CIDR,
		      "t.yaml:5:7: trusted_proxies: 'banana" NOT_CIDR,
		      "t.yaml:6:7: trusted_proxies: '10.0.0.0/33" NOT_CIDR,
		      "t.yaml:7:7: trusted_proxies: '(not a string)" NOT_CIDR,
		      "t.yaml:8:7: trusted_proxies: '::1/129" NOT_CIDR,
		      "t.yaml:9:7: trusted_proxies: '2001:db8::1/32" NOT_CIDR);
}
END_TEST

START_TEST(test_config_trusted_proxies_ok)
{
	struct netaddr a;
	struct config *cfg = load_ok("server:\n"
				     "  trusted_proxies: [10.0.0.0/8, 192.168.1.7, '::1',"
				     " 'fd00::/8', '2001:db8::/32', 0.0.0.0/0]\n" MINIMAL);
	const struct cfg_cidrs *t = &cfg->server.trusted_proxies;

	ck_assert_uint_eq(t->n, 6);
	ck_assert_uint_eq(t->v[0].prefix, 8);
	ck_assert_uint_eq(t->v[1].prefix, 32);
	ck_assert_uint_eq(t->v[2].prefix, 128);
	ck_assert_uint_eq(t->v[3].prefix, 8);
	ck_assert_uint_eq(t->v[4].prefix, 32);
	ck_assert_uint_eq(t->v[5].prefix, 0);
	ck_assert_int_eq(netaddr_parse("fd12::5", &a), 0);
	ck_assert(netaddr_cidr_contains(&t->v[3], &a));
	ck_assert(!netaddr_cidr_contains(&t->v[4], &a));
	config_free(cfg);

	cfg = load_ok("server:\n  trusted_proxies: []\n" MINIMAL);
	ck_assert_uint_eq(cfg->server.trusted_proxies.n, 0);
	config_free(cfg);
}
END_TEST

START_TEST(test_config_all_errors_reported)
{
	expect_errors("server:\n"
		      "  listen: localhost:1\n"
		      "  max_connections: 0\n"
		      "  colour: blue\n"
		      "  max_connections: 5\n"
		      "logging: {}\n"
		      "upstream:\n"
		      "  preserve_host: yes\n"
		      "  timeout_ms: '5'\n",
		      "t.yaml:2:11: listen" NOT_LISTEN "localhost:1'",
		      "t.yaml:3:20: max_connections: 0 is out of range [1, 1000000]",
		      "t.yaml:4:3: unknown key 'colour'",
		      "t.yaml:5:3: duplicate key 'max_connections'",
		      "t.yaml:6:1: unknown section 'logging'",
		      "t.yaml:8:18: preserve_host: expected true or false",
		      "t.yaml:9:15: timeout_ms: expected an integer",
		      "t.yaml:8:3: missing required key 'url'");
}
END_TEST

START_TEST(test_config_error_limit)
{
	char y[4096];
	size_t off = 0;
	struct cfg_errors errs;
	struct config *cfg = NULL;
	char *text = NULL;
	size_t textlen = 0;
	FILE *f;

	off += (size_t)snprintf(y + off, sizeof(y) - off, "upstream:\n  url: http://x\n");
	for (int i = 0; i < CFG_ERRORS_MAX + 6; i++)
		off += (size_t)snprintf(y + off, sizeof(y) - off, "  k%d: 1\n", i);
	ck_assert_uint_lt(off, sizeof(y) - 1);
	cfg_errors_init(&errs);
	ck_assert_int_eq(config_load_buffer(NAME, DIR, y, off, &cfg, &errs), -1);
	ck_assert_ptr_null(cfg);
	ck_assert_uint_eq(errs.n, CFG_ERRORS_MAX);
	ck_assert_uint_eq(errs.dropped, 6);
	ck_assert_str_eq(errs.msg[0], "t.yaml:3:3: unknown key 'k0'");

	f = open_memstream(&text, &textlen);
	ck_assert_ptr_nonnull(f);
	cfg_errors_print(&errs, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_ptr_nonnull(strstr(text, "t.yaml:66:3: unknown key 'k63'\n6 more errors\n"));
	free(text);
	cfg_errors_free(&errs);
	ck_assert_uint_eq(errs.n, 0);
}
END_TEST

/* ---- files ---- */

START_TEST(test_config_load_valid_file)
{
	char path[512];
	struct cfg_errors errs;
	struct config *cfg = NULL;
	const struct cfg_cidrs *t;

	fixture_path(path, sizeof(path), "valid.yaml");
	cfg_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != 0)
		cfg_errors_print(&errs, stderr);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_ptr_nonnull(cfg);
	ck_assert_str_eq(cfg->path, path);
	ck_assert_str_eq(cfg->server.listen, "[::1]:8081");
	t = &cfg->server.trusted_proxies;
	ck_assert_uint_eq(t->n, 3);
	ck_assert_uint_eq(t->v[0].prefix, 8);
	ck_assert_uint_eq(t->v[1].prefix, 32);
	ck_assert_uint_eq(t->v[2].prefix, 8);
	ck_assert_int_eq(cfg->server.max_connections, 100);
	ck_assert_int_eq(cfg->server.max_header_bytes, 8192);
	ck_assert_int_eq(cfg->server.max_body_bytes, 1048576);
	ck_assert_int_eq(cfg->server.client_timeout_s, 5);
	ck_assert_int_eq(cfg->server.drain_timeout_ms, 2000);
	ck_assert_str_eq(cfg->upstream.url, "https://articles.example.org:8443/site");
	ck_assert_int_eq(cfg->upstream.connect_timeout_ms, 250);
	ck_assert_int_eq(cfg->upstream.timeout_ms, 3000);
	ck_assert_int_eq(cfg->upstream.pool_size, 8);
	ck_assert(cfg->upstream.preserve_host);
	config_free(cfg);
	cfg_errors_free(&errs);
}
END_TEST

START_TEST(test_config_load_invalid_file)
{
	char path[512], want[6][640];
	static const char *const msgs[6] = {
		"3:11: listen" NOT_LISTEN "localhost:8080'",
		"4:20: max_connections: 0 is out of range [1, 1000000]",
		"5:21: trusted_proxies: '10.0.0.1/8" NOT_CIDR,
		"7:3: unknown key 'urll'",
		"8:18: preserve_host: expected true or false",
		"7:3: missing required key 'url'",
	};

	fixture_path(path, sizeof(path), "invalid.yaml");
	for (int i = 0; i < 6; i++)
		snprintf(want[i], sizeof(want[i]), "%s:%s", path, msgs[i]);
	expect_file_errors(path, want[0], want[1], want[2], want[3], want[4], want[5]);
}
END_TEST

START_TEST(test_config_load_missing_file)
{
	char path[512], want[640];

	fixture_path(path, sizeof(path), "no-such-file.yaml");
	snprintf(want, sizeof(want), "%s:1:1: cannot open: No such file or directory", path);
	expect_file_errors(path, want);
}
END_TEST

START_TEST(test_config_load_directory)
{
	char path[512], want[640];

	fixture_path(path, sizeof(path), "");
	snprintf(want, sizeof(want), "%s:1:1: not a regular file of at most 1048576 bytes", path);
	expect_file_errors(path, want);
}
END_TEST

START_TEST(test_config_load_size_limit)
{
	static const char *const names[] = { "max.yaml", "big.yaml", NULL };
	char dir[64], path[512], want[640];
	size_t len = CONFIG_FILE_MAX;
	char *data = malloc(len + 1);
	struct cfg_errors errs;
	struct config *cfg = NULL;

	ck_assert_ptr_nonnull(data);
	make_tmpdir(dir, sizeof(dir));
	/* A valid config padded with a comment to exactly the limit loads... */
	memset(data, '#', len);
	memcpy(data, MINIMAL, strlen(MINIMAL));
	data[len - 1] = '\n';
	join(path, sizeof(path), dir, "max.yaml");
	write_file(path, data, len);
	cfg_errors_init(&errs);
	ck_assert_int_eq(config_load(path, &cfg, &errs), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_str_eq(cfg->upstream.url, "http://127.0.0.1:9000");
	config_free(cfg);
	/* ...one byte more is refused before it is read. */
	data[len - 1] = '#';
	data[len] = '\n';
	join(path, sizeof(path), dir, "big.yaml");
	write_file(path, data, len + 1);
	snprintf(want, sizeof(want), "%s:1:1: not a regular file of at most 1048576 bytes", path);
	expect_file_errors(path, want);
	free(data);
	rm_dir(dir, names);
}
END_TEST

/* ---- key files (cfg_secret_load) ---- */

/* Writes data to dir/name and loads it as a key file. */
static int secret_try(const char *dir, const char *name, const void *data, size_t len,
		      struct cfg_secret *s, char *err, size_t errlen)
{
	char path[512];

	join(path, sizeof(path), dir, name);
	write_file(path, data, len);
	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	return cfg_secret_load(path, s, err, errlen);
}

static const char *const secret_names[] = {
	"k32", "k31", "k32nl", "k31nl", "k32nlnl", "k33mid", "k4096", "k4096nl", "k4097",
	"k10000", NULL
};

START_TEST(test_config_secret_lengths)
{
	char dir[64], err[512], want[640], path[512];
	unsigned char data[10000];
	struct cfg_secret s;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)('a' + i % 26);
	make_tmpdir(dir, sizeof(dir));

	ck_assert_int_eq(secret_try(dir, "k32", data, 32, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 32);
	ck_assert_mem_eq(s.bytes, data, 32);
	join(path, sizeof(path), dir, "k32");
	ck_assert_str_eq(s.path, path);
	cfg_secret_free(&s);
	ck_assert_ptr_null(s.bytes);
	ck_assert_uint_eq(s.len, 0);

	ck_assert_int_eq(secret_try(dir, "k31", data, 31, &s, err, sizeof(err)), -1);
	join(path, sizeof(path), dir, "k31");
	snprintf(want, sizeof(want), "key file %s: 31 bytes of secret, at least 32 needed", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(s.bytes);

	/* One trailing newline is not part of the secret... */
	memcpy(data + 200, data, 32);
	data[232] = '\n';
	ck_assert_int_eq(secret_try(dir, "k32nl", data + 200, 33, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 32);
	ck_assert_mem_eq(s.bytes, data, 32);
	cfg_secret_free(&s);
	/* ...so it does not make up for a short one... */
	data[231] = '\n';
	ck_assert_int_eq(secret_try(dir, "k31nl", data + 200, 32, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ": 31 bytes of secret, at least 32 needed"));
	/* ...and only one is stripped. */
	memcpy(data + 200, data, 32);
	data[232] = '\n';
	data[233] = '\n';
	ck_assert_int_eq(secret_try(dir, "k32nlnl", data + 200, 34, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 33);
	ck_assert_int_eq(s.bytes[32], '\n');
	cfg_secret_free(&s);

	/* A newline inside the secret is kept. */
	memcpy(data + 200, data, 33);
	data[216] = '\n';
	ck_assert_int_eq(secret_try(dir, "k33mid", data + 200, 33, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 33);
	ck_assert_mem_eq(s.bytes, data + 200, 33);
	cfg_secret_free(&s);

	ck_assert_int_eq(secret_try(dir, "k4096", data, 4096, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 4096);
	cfg_secret_free(&s);
	memcpy(data + 5000, data, 4096);
	data[9096] = '\n';
	ck_assert_int_eq(secret_try(dir, "k4096nl", data + 5000, 4097, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.len, 4096);
	cfg_secret_free(&s);

	ck_assert_int_eq(secret_try(dir, "k4097", data, 4097, &s, err, sizeof(err)), -1);
	join(path, sizeof(path), dir, "k4097");
	snprintf(want, sizeof(want), "key file %s: longer than 4096 bytes", path);
	ck_assert_str_eq(err, want);
	ck_assert_ptr_null(s.bytes);
	ck_assert_int_eq(secret_try(dir, "k10000", data, sizeof(data), &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, ": longer than 4096 bytes"));

	rm_dir(dir, secret_names);
}
END_TEST

START_TEST(test_config_secret_missing)
{
	struct cfg_secret s;
	char err[512];

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(cfg_secret_load("/nonexistent/paywalld.key", &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "cannot open key file /nonexistent/paywalld.key: "
		     "No such file or directory");
	ck_assert_ptr_null(s.bytes);
	ck_assert_ptr_null(s.path);
	cfg_secret_free(&s);
	cfg_secret_free(NULL);
}
END_TEST

START_TEST(test_config_resolve_path)
{
	char *p;

	p = cfg_resolve_path("/etc/paywalld", "/var/lib/key");
	ck_assert_str_eq(p, "/var/lib/key");
	free(p);
	p = cfg_resolve_path("/etc/paywalld", "keys/jwt.key");
	ck_assert_str_eq(p, "/etc/paywalld/keys/jwt.key");
	free(p);
	p = cfg_resolve_path(".", "k");
	ck_assert_str_eq(p, "./k");
	free(p);
	p = cfg_resolve_path(NULL, "k");
	ck_assert_str_eq(p, "k");
	free(p);
	p = cfg_resolve_path("", "k");
	ck_assert_str_eq(p, "k");
	free(p);
}
END_TEST

/* ---- cfg_parse_map with the kinds the config schema does not use yet ---- */

struct kinds {
	char *name;
	char *file;
	struct cfg_strs tags;
	struct cfg_secret key;
};

static const struct cfg_field kinds_fields[] = {
	{ "name", CFG_STR, offsetof(struct kinds, name), true, 0, 0, NULL, NULL },
	{ "file", CFG_PATH, offsetof(struct kinds, file), false, 0, 0, NULL, NULL },
	{ "tags", CFG_STRS, offsetof(struct kinds, tags), false, 0, 0, NULL, NULL },
	{ "key", CFG_SECRET, offsetof(struct kinds, key), false, 0, 0, NULL, NULL },
};

#define NKINDS (sizeof(kinds_fields) / sizeof(kinds_fields[0]))

/* Parses yaml's root map into k against kinds_fields; returns cfg_parse_map's result. */
static int kinds_parse(const char *yaml, const char *dir, struct kinds *k,
		       struct cfg_errors *errs)
{
	yaml_parser_t p;
	yaml_document_t doc;
	struct cfg_ctx c = { "k.yaml", dir, &doc, errs };
	int rc;

	memset(k, 0, sizeof(*k));
	cfg_errors_init(errs);
	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
	ck_assert(yaml_parser_load(&p, &doc));
	rc = cfg_parse_map(&c, yaml_document_get_root_node(&doc), kinds_fields, NKINDS, k);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

START_TEST(test_config_cfg_kinds)
{
	struct cfg_errors errs;
	struct kinds k;

	ck_assert_int_eq(kinds_parse("name: n\nfile: data/x.db\ntags: [a, b]\n", "/srv", &k,
				     &errs), 0);
	ck_assert_str_eq(k.name, "n");
	ck_assert_str_eq(k.file, "/srv/data/x.db");
	ck_assert_uint_eq(k.tags.n, 2);
	ck_assert_str_eq(k.tags.v[1], "b");
	cfg_free_fields(kinds_fields, NKINDS, &k);
	ck_assert_ptr_null(k.name);
	cfg_errors_free(&errs);

	ck_assert_int_eq(kinds_parse("file: /abs\ntags: [a, '', c]\nkey: missing.key\n",
				     "/nonexistent", &k, &errs), -1);
	ck_assert_uint_eq(errs.n, 3);
	ck_assert_str_eq(errs.msg[0], "k.yaml:2:11: tags: expected a non-empty string");
	ck_assert_str_eq(errs.msg[1], "k.yaml:3:6: key: cannot open key file "
			 "/nonexistent/missing.key: No such file or directory");
	ck_assert_str_eq(errs.msg[2], "k.yaml:1:1: missing required key 'name'");
	ck_assert_str_eq(k.file, "/abs");
	ck_assert_uint_eq(k.tags.n, 0);
	cfg_free_fields(kinds_fields, NKINDS, &k);
	cfg_errors_free(&errs);

	ck_assert_int_eq(kinds_parse("name: ''\ntags: x\n", "/", &k, &errs), -1);
	ck_assert_uint_eq(errs.n, 2);
	ck_assert_str_eq(errs.msg[0], "k.yaml:1:7: name: expected a non-empty string");
	ck_assert_str_eq(errs.msg[1], "k.yaml:2:7: tags: expected a list");
	cfg_free_fields(kinds_fields, NKINDS, &k);
	cfg_errors_free(&errs);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *doc = tcase_create("document");
	TCase *types = tcase_create("types");
	TCase *files = tcase_create("files");
	TCase *cfg = tcase_create("cfg");

	tcase_add_test(doc, test_config_defaults);
	tcase_add_test(doc, test_config_every_key);
	tcase_add_test(doc, test_config_partial_server_keeps_other_defaults);
	tcase_add_test(doc, test_config_yaml_syntax_error);
	tcase_add_test(doc, test_config_empty_document);
	tcase_add_test(doc, test_config_two_documents);
	tcase_add_test(doc, test_config_top_level_not_mapping);
	tcase_add_test(doc, test_config_unknown_section);
	tcase_add_test(doc, test_config_duplicate_section);
	tcase_add_test(doc, test_config_missing_upstream);
	tcase_add_test(doc, test_config_section_not_mapping);
	tcase_add_test(doc, test_config_unknown_key);
	tcase_add_test(doc, test_config_duplicate_key);
	tcase_add_test(doc, test_config_missing_url);
	tcase_add_test(doc, test_config_all_errors_reported);
	tcase_add_test(doc, test_config_error_limit);
	suite_add_tcase(s, doc);

	tcase_add_test(types, test_config_int_not_a_number);
	tcase_add_test(types, test_config_int_quoted);
	tcase_add_test(types, test_config_int_range);
	tcase_add_test(types, test_config_bool);
	tcase_add_test(types, test_config_listen);
	tcase_add_test(types, test_config_url);
	tcase_add_test(types, test_config_trusted_proxies_not_list);
	tcase_add_test(types, test_config_trusted_proxies_bad_items);
	tcase_add_test(types, test_config_trusted_proxies_ok);
	suite_add_tcase(s, types);

	tcase_add_test(files, test_config_load_valid_file);
	tcase_add_test(files, test_config_load_invalid_file);
	tcase_add_test(files, test_config_load_missing_file);
	tcase_add_test(files, test_config_load_directory);
	tcase_add_test(files, test_config_load_size_limit);
	tcase_set_timeout(files, 30);
	suite_add_tcase(s, files);

	tcase_add_test(cfg, test_config_secret_lengths);
	tcase_add_test(cfg, test_config_secret_missing);
	tcase_add_test(cfg, test_config_resolve_path);
	tcase_add_test(cfg, test_config_cfg_kinds);
	suite_add_tcase(s, cfg);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
