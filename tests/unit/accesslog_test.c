/* accesslog_test: the tamper-evident access log (accesslog.c) and its verification (audit.c). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "accesslog.h"
#include "audit.h"
#include "cfg.h"
#include "netaddr.h"

#define KEY "accesslog-test-key-0123456789abcdef"	/* 35 bytes */
#define OTHER_KEY "accesslog-test-key-0123456789abcdeX"
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define TS0 1795791600123LL		/* 2026-11-27T15:00:00.123Z */
#define MAX_LINES 4096

/* ---- helpers: files ---- */

struct env {
	char dir[64];
	char log[128];
};

static void env_init(struct env *e)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/paywalld-accesslog.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	snprintf(e->log, sizeof(e->log), "%s/access.jsonl", e->dir);
}

static void path_in(const struct env *e, const char *name, char *out, size_t outlen)
{
	ck_assert_int_lt(snprintf(out, outlen, "%s/%s", e->dir, name), (int)outlen);
}

/* Removes every file of the directory, then the directory. */
static void env_done(const struct env *e)
{
	static const char *const names[] = { "access.jsonl", "access.jsonl.1", "access.jsonl.2",
					     "fifo", "key", "t.yaml", "copy", NULL };
	char p[256];

	for (size_t i = 0; names[i] != NULL; i++) {
		path_in(e, names[i], p, sizeof(p));
		unlink(p);
	}
	rmdir(e->dir);
}

/* A whole small file, NUL-terminated. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_ge(n, 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(data);
	ck_assert_uint_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)n;
	return data;
}

static void spit(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* A file's lines (newline kept), to be edited and written back. */
struct lines {
	char *v[MAX_LINES];
	size_t n;
};

static void lines_read(const char *path, struct lines *ls)
{
	char *data = slurp(path, NULL), *p = data;

	ls->n = 0;
	while (*p != '\0') {
		char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) + 1 : strlen(p);
		ck_assert_uint_lt(ls->n, MAX_LINES);
		ls->v[ls->n] = strndup(p, len);
		ck_assert_ptr_nonnull(ls->v[ls->n]);
		ls->n++;
		p += len;
	}
	free(data);
}

static void lines_write(const char *path, const struct lines *ls)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	for (size_t i = 0; i < ls->n; i++)
		ck_assert_int_ge(fputs(ls->v[i], f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void lines_free(struct lines *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		free(ls->v[i]);
	ls->n = 0;
}

/* ---- helpers: the log ---- */

static struct audit_config config_make(const struct env *e, enum audit_client_ip ip,
				       long long queue_max)
{
	struct audit_config c;

	memset(&c, 0, sizeof(c));
	c.enabled = true;
	c.log = (char *)e->log;
	c.key.bytes = (unsigned char *)KEY;
	c.key.len = strlen(KEY);
	c.client_ip = ip;
	c.fsync_ms = 0;
	c.queue_max = queue_max;
	c.instance = (char *)"gw-test";
	return c;
}

static struct accesslog *log_open(const struct audit_config *c)
{
	struct accesslog *l = NULL;
	char err[512] = "";

	if (accesslog_open(c, &l, err, sizeof(err)) != 0)
		ck_abort_msg("accesslog_open: %s", err);
	ck_assert_ptr_nonnull(l);
	return l;
}

/* A typical gated request, made different by i. */
static void record_make(struct accesslog_record *r, int i, struct netaddr *client,
			uint8_t visitor[16], char *path, size_t pathlen)
{
	static const char *const reasons[] = { "meter", "subscriber", "meter-exhausted", "free" };

	memset(r, 0, sizeof(*r));
	ck_assert_int_eq(netaddr_parse("203.0.113.77", client), 0);
	memset(visitor, 0x42, 16);
	visitor[0] = (uint8_t)i;
	snprintf(path, pathlen, "/news/article-%d", i);
	r->ts_ms = TS0 + i;
	r->id = "req-1";
	r->method = "GET";
	r->path = path;
	r->status = 200;
	r->bytes = 1000 + i;
	r->ms = 12;
	r->upstream_ms = 9;
	r->client = client;
	r->decision = i % 4 == 2 ? "teaser" : "full";
	r->reason = reasons[i % 4];
	r->promotion = NULL;
	r->article = path;
	r->meter_used = i;
	r->meter_limit = 10;
	r->token = "absent";
	r->visitor = visitor;
	r->user = NULL;
	r->crawler = false;
}

static void write_n(struct accesslog *l, int from, int n)
{
	struct accesslog_record r;
	struct netaddr client;
	uint8_t visitor[16];
	char path[64];

	for (int i = from; i < from + n; i++) {
		record_make(&r, i, &client, visitor, path, sizeof(path));
		accesslog_write(l, &r);
	}
}

/* A log of n lines at e->log, closed. */
static void make_log(const struct env *e, int n)
{
	struct audit_config c = config_make(e, AUDIT_IP_TRUNCATE, 1024);
	struct accesslog *l = log_open(&c);

	write_n(l, 0, n);
	accesslog_close(l);
}

/* verify over the given files, expecting rc; returns the message. */
static const char *verify_v(const char *const *files, size_t n, const char *expect_last,
			    int want_rc)
{
	static char msg[2048];
	int rc = audit_verify_files((const unsigned char *)KEY, strlen(KEY), files, n, expect_last,
				    msg, sizeof(msg));

	ck_assert_msg(rc == want_rc, "verify: rc %d, want %d: %s", rc, want_rc, msg);
	return msg;
}

static const char *verify1(const char *file, int want_rc)
{
	const char *files[] = { file };

	return verify_v(files, 1, NULL, want_rc);
}

static void assert_prefix(const char *s, const char *prefix)
{
	ck_assert_msg(strncmp(s, prefix, strlen(prefix)) == 0, "'%s' does not start with '%s'", s,
		      prefix);
}

/* The file's only (or first) line as JSON. */
static json_t *first_line_json(const char *path)
{
	struct lines ls;
	json_t *o;

	lines_read(path, &ls);
	ck_assert_uint_ge(ls.n, 1);
	o = json_loads(ls.v[0], JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(o);
	lines_free(&ls);
	return o;
}

/* hex HMAC-SHA256(KEY, a || b), the chain as documented. */
static void hmac_hex(const char *a, size_t alen, const char *b, size_t blen, char out[65])
{
	unsigned char *msg = malloc(alen + blen), mac[32];
	unsigned int maclen = 0;

	ck_assert_ptr_nonnull(msg);
	memcpy(msg, a, alen);
	memcpy(msg + alen, b, blen);
	ck_assert_ptr_nonnull(HMAC(EVP_sha256(), KEY, (int)strlen(KEY), msg, alen + blen, mac,
				   &maclen));
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
	free(msg);
}

/* ---- the line ---- */

START_TEST(test_line_all_fields_in_order)
{
	static const char *const keys[] = { "ts", "id", "instance", "method", "path", "status",
		"bytes", "ms", "upstream_ms", "client", "decision", "reason", "promotion", "article",
		"meter_used", "meter_limit", "token", "visitor", "user", "crawler", "chain" };
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	struct accesslog_record r;
	struct netaddr client;
	uint8_t visitor[16];
	char path[64], pseud[33];
	void *it;
	size_t i = 0;

	env_init(&e);
	c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	l = log_open(&c);
	record_make(&r, 3, &client, visitor, path, sizeof(path));
	r.promotion = "black-friday";
	r.user = "alice@example.com";
	r.crawler = true;
	r.token = "valid";
	accesslog_write(l, &r);
	accesslog_close(l);

	json_t *o = first_line_json(e.log);
	for (it = json_object_iter(o); it != NULL; it = json_object_iter_next(o, it), i++) {
		ck_assert_uint_lt(i, sizeof(keys) / sizeof(keys[0]));
		ck_assert_str_eq(json_object_iter_key(it), keys[i]);
	}
	ck_assert_uint_eq(i, sizeof(keys) / sizeof(keys[0]));
	ck_assert_str_eq(json_string_value(json_object_get(o, "ts")), "2026-11-27T15:00:00.126Z");
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "req-1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "instance")), "gw-test");
	ck_assert_str_eq(json_string_value(json_object_get(o, "method")), "GET");
	ck_assert_str_eq(json_string_value(json_object_get(o, "path")), "/news/article-3");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "status")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "bytes")), 1003);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "ms")), 12);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "upstream_ms")), 9);
	ck_assert_str_eq(json_string_value(json_object_get(o, "client")), "203.0.113.0/24");
	ck_assert_str_eq(json_string_value(json_object_get(o, "decision")), "full");
	ck_assert_str_eq(json_string_value(json_object_get(o, "reason")), "free");
	ck_assert_str_eq(json_string_value(json_object_get(o, "promotion")), "black-friday");
	ck_assert_str_eq(json_string_value(json_object_get(o, "article")), "/news/article-3");
	ck_assert_int_eq(json_integer_value(json_object_get(o, "meter_used")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(o, "meter_limit")), 10);
	ck_assert_str_eq(json_string_value(json_object_get(o, "token")), "valid");
	accesslog_pseudonym(&c.key, "visitor", visitor, 16, pseud);
	ck_assert_str_eq(json_string_value(json_object_get(o, "visitor")), pseud);
	accesslog_pseudonym(&c.key, "user", "alice@example.com", 17, pseud);
	ck_assert_str_eq(json_string_value(json_object_get(o, "user")), pseud);
	ck_assert(json_is_true(json_object_get(o, "crawler")));
	json_decref(o);
	/* the raw subject never reaches the file */
	char *text = slurp(e.log, NULL);
	ck_assert_ptr_null(strstr(text, "alice"));
	free(text);
	env_done(&e);
}
END_TEST

START_TEST(test_line_null_when_not_applicable)
{
	static const char *const nulls[] = { "id", "method", "path", "status", "bytes", "ms",
		"upstream_ms", "client", "decision", "reason", "promotion", "article", "meter_used",
		"meter_limit", "token", "visitor", "user" };
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	struct accesslog_record r;

	env_init(&e);
	c = config_make(&e, AUDIT_IP_FULL, 64);
	l = log_open(&c);
	memset(&r, 0, sizeof(r));
	r.ts_ms = 0;
	r.bytes = r.ms = r.upstream_ms = -1;
	r.meter_used = r.meter_limit = -1;
	accesslog_write(l, &r);
	accesslog_close(l);

	json_t *o = first_line_json(e.log);
	ck_assert_uint_eq(json_object_size(o), 21);
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		ck_assert_msg(json_is_null(json_object_get(o, nulls[i])), "%s is not null", nulls[i]);
	ck_assert_str_eq(json_string_value(json_object_get(o, "ts")), "1970-01-01T00:00:00.000Z");
	ck_assert(json_is_false(json_object_get(o, "crawler")));
	json_decref(o);
	verify1(e.log, 0);
	env_done(&e);
}
END_TEST

/* Client addresses under each client_ip setting. */
static void client_case(enum audit_client_ip ip, const char *addr, const char *want)
{
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	struct accesslog_record r;
	struct netaddr a;

	env_init(&e);
	c = config_make(&e, ip, 64);
	l = log_open(&c);
	memset(&r, 0, sizeof(r));
	r.bytes = r.ms = r.upstream_ms = r.meter_used = r.meter_limit = -1;
	ck_assert_int_eq(netaddr_parse(addr, &a), 0);
	r.client = &a;
	accesslog_write(l, &r);
	accesslog_close(l);
	json_t *o = first_line_json(e.log);
	json_t *v = json_object_get(o, "client");
	if (want == NULL)
		ck_assert_msg(json_is_null(v), "%s: client not null", addr);
	else
		ck_assert_str_eq(json_string_value(v), want);
	json_decref(o);
	env_done(&e);
}

START_TEST(test_client_truncation)
{
	client_case(AUDIT_IP_TRUNCATE, "198.51.100.200", "198.51.100.0/24");
	client_case(AUDIT_IP_TRUNCATE, "2001:db8:abcd:1234:5678::1", "2001:db8:abcd::/48");
	client_case(AUDIT_IP_TRUNCATE, "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::/48");
	/* an IPv4 reader on a dual-stack socket: /24, not a /48 that shows it all */
	client_case(AUDIT_IP_TRUNCATE, "::ffff:192.0.2.99", "192.0.2.0/24");
	client_case(AUDIT_IP_FULL, "198.51.100.200", "198.51.100.200");
	client_case(AUDIT_IP_FULL, "2001:db8::7", "2001:db8::7");
	client_case(AUDIT_IP_NONE, "198.51.100.200", NULL);
}
END_TEST

START_TEST(test_pseudonyms)
{
	struct cfg_secret k = { NULL, (unsigned char *)KEY, strlen(KEY) };
	struct cfg_secret k2 = { NULL, (unsigned char *)OTHER_KEY, strlen(OTHER_KEY) };
	uint8_t id[16];
	char a[33], b[33], want[65];

	memset(id, 7, sizeof(id));
	accesslog_pseudonym(&k, "visitor", id, 16, a);
	accesslog_pseudonym(&k, "visitor", id, 16, b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), 32);
	ck_assert_uint_eq(strspn(a, "0123456789abcdef"), 32);
	/* documented: the first 16 bytes of HMAC(key, "visitor:" || id) */
	hmac_hex("visitor:", 8, (const char *)id, 16, want);
	ck_assert_mem_eq(a, want, 32);
	hmac_hex("user:", 5, "bob", 3, want);
	accesslog_pseudonym(&k, "user", "bob", 3, a);
	ck_assert_mem_eq(a, want, 32);
	ck_assert_str_ne(a, "bob");
	/* the kind separates, the key changes everything */
	accesslog_pseudonym(&k, "visitor", "bob", 3, b);
	ck_assert_str_ne(a, b);
	accesslog_pseudonym(&k2, "user", "bob", 3, b);
	ck_assert_str_ne(a, b);
	/* a long sub (no stack buffer) */
	char sub[1000];
	memset(sub, 's', sizeof(sub));
	accesslog_pseudonym(&k, "user", sub, sizeof(sub), a);
	hmac_hex("user:", 5, sub, sizeof(sub), want);
	ck_assert_mem_eq(a, want, 32);
}
END_TEST

START_TEST(test_long_and_odd_strings)
{
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	struct accesslog_record r;
	struct lines ls;
	char *path = malloc(20001), *ctl = malloc(8193);

	ck_assert_ptr_nonnull(path);
	ck_assert_ptr_nonnull(ctl);
	env_init(&e);
	c = config_make(&e, AUDIT_IP_NONE, 64);
	l = log_open(&c);
	memset(&r, 0, sizeof(r));
	r.bytes = r.ms = r.upstream_ms = r.meter_used = r.meter_limit = -1;
	/* 1: cut at ACCESSLOG_FIELD_MAX, at a UTF-8 boundary */
	memset(path, 'a', 20000);
	memcpy(path + ACCESSLOG_FIELD_MAX - 1, "\xc3\xa9", 2);
	path[20000] = '\0';
	r.path = path;
	accesslog_write(l, &r);
	/* 2: not UTF-8 */
	r.path = "/caf\xff\xfe/x";
	accesslog_write(l, &r);
	/* 3: escaping would pass 64 KiB: every string cut shorter */
	memset(ctl, 1, 8192);
	ctl[8192] = '\0';
	r.path = r.article = r.reason = r.promotion = r.id = ctl;
	accesslog_write(l, &r);
	accesslog_close(l);

	lines_read(e.log, &ls);
	ck_assert_uint_eq(ls.n, 3);
	json_t *o = json_loads(ls.v[0], 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(o, "path"))),
			  ACCESSLOG_FIELD_MAX - 1);
	json_decref(o);
	o = json_loads(ls.v[1], 0, NULL);
	ck_assert_ptr_nonnull(o);
	/* written in two parts: "??/" would be a trigraph */
	ck_assert_str_eq(json_string_value(json_object_get(o, "path")), "/caf?" "?/x");
	json_decref(o);
	ck_assert_uint_le(strlen(ls.v[2]), ACCESSLOG_LINE_MAX + 1);
	o = json_loads(ls.v[2], 0, NULL);
	ck_assert_ptr_nonnull(o);
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(o, "path"))), 512);
	json_decref(o);
	lines_free(&ls);
	verify1(e.log, 0);
	free(path);
	free(ctl);
	env_done(&e);
}
END_TEST

/* ---- the chain ---- */

START_TEST(test_chain_as_documented)
{
	struct env e;
	struct lines ls;
	char want[65], prev[65] = ZEROS;

	env_init(&e);
	make_log(&e, 3);
	lines_read(e.log, &ls);
	ck_assert_uint_eq(ls.n, 3);
	for (size_t i = 0; i < ls.n; i++) {
		const char *line = ls.v[i];
		size_t len = strlen(line) - 1;	/* without the newline */
		char *body = strndup(line, len - ACCESSLOG_CHAIN_TAIL + 1);
		ck_assert_ptr_nonnull(body);
		body[len - ACCESSLOG_CHAIN_TAIL] = '}';
		ck_assert_int_eq(strncmp(line + len - ACCESSLOG_CHAIN_TAIL, ",\"chain\":\"", 10), 0);
		ck_assert_int_eq(strncmp(line + len - 2, "\"}", 2), 0);
		hmac_hex(prev, 64, body, strlen(body), want);
		ck_assert_mem_eq(line + len - 66, want, 64);
		memcpy(prev, want, 65);
		/* the body is the JSON object without its chain */
		json_t *o = json_loads(body, 0, NULL);
		ck_assert_ptr_nonnull(o);
		ck_assert_ptr_null(json_object_get(o, "chain"));
		json_decref(o);
		free(body);
	}
	lines_free(&ls);
	env_done(&e);
}
END_TEST

START_TEST(test_verify_intact)
{
	struct env e;
	const char *msg;

	env_init(&e);
	make_log(&e, 5);
	msg = verify1(e.log, 0);
	ck_assert_str_eq(msg, "ok: 5 lines in 1 files");
	/* another key: broken at the first line */
	const char *files[] = { e.log };
	char m[512];
	ck_assert_int_eq(audit_verify_files((const unsigned char *)OTHER_KEY, strlen(OTHER_KEY),
					    files, 1, NULL, m, sizeof(m)), 1);
	assert_prefix(m, e.log);
	ck_assert_ptr_nonnull(strstr(m, ":1: chain broken ("));
	env_done(&e);
}
END_TEST

/* Writes a 6-line log, lets edit() change its lines, expects a break at line `at`. */
static void tamper_case(void (*edit)(struct lines *), unsigned at)
{
	struct env e;
	struct lines ls;
	char want[256];

	env_init(&e);
	make_log(&e, 6);
	lines_read(e.log, &ls);
	edit(&ls);
	lines_write(e.log, &ls);
	lines_free(&ls);
	snprintf(want, sizeof(want), "%s:%u: chain broken (", e.log, at);
	assert_prefix(verify1(e.log, 1), want);
	env_done(&e);
}

static void edit_delete(struct lines *ls)
{
	free(ls->v[2]);
	memmove(&ls->v[2], &ls->v[3], (ls->n - 3) * sizeof(ls->v[0]));
	ls->n--;
}

static void edit_insert_copy(struct lines *ls)
{
	memmove(&ls->v[4], &ls->v[3], (ls->n - 3) * sizeof(ls->v[0]));
	ls->v[3] = strdup(ls->v[1]);
	ls->n++;
}

static void edit_swap(struct lines *ls)
{
	char *t = ls->v[1];

	ls->v[1] = ls->v[2];
	ls->v[2] = t;
}

static void edit_byte(struct lines *ls)
{
	char *p = strstr(ls->v[3], "\"status\":200");

	ck_assert_ptr_nonnull(p);
	p[9] = '4';	/* 200 -> 400 */
}

static void edit_decision(struct lines *ls)
{
	char *p = strstr(ls->v[2], "\"decision\":\"teaser\"");

	ck_assert_ptr_nonnull(p);
	memcpy(p + 12, "full\"  ", 7);	/* still JSON, other meaning */
}

static void edit_blank_line(struct lines *ls)
{
	memmove(&ls->v[2], &ls->v[1], (ls->n - 1) * sizeof(ls->v[0]));
	ls->v[1] = strdup("\n");
	ls->n++;
}

static void edit_cut_last(struct lines *ls)
{
	char *last = ls->v[ls->n - 1];

	last[strlen(last) / 2] = '\0';	/* cut in the middle, no newline */
}

static void edit_delete_first(struct lines *ls)
{
	free(ls->v[0]);
	memmove(&ls->v[0], &ls->v[1], (ls->n - 1) * sizeof(ls->v[0]));
	ls->n--;
}

START_TEST(test_tamper_delete)
{
	tamper_case(edit_delete, 3);
}
END_TEST

START_TEST(test_tamper_delete_first)
{
	tamper_case(edit_delete_first, 1);
}
END_TEST

START_TEST(test_tamper_insert_copy)
{
	tamper_case(edit_insert_copy, 4);
}
END_TEST

START_TEST(test_tamper_swap)
{
	tamper_case(edit_swap, 2);
}
END_TEST

START_TEST(test_tamper_edit_byte)
{
	tamper_case(edit_byte, 4);
}
END_TEST

START_TEST(test_tamper_edit_field)
{
	tamper_case(edit_decision, 3);
}
END_TEST

START_TEST(test_tamper_blank_line)
{
	tamper_case(edit_blank_line, 2);
}
END_TEST

START_TEST(test_tamper_cut_last_line)
{
	tamper_case(edit_cut_last, 6);
}
END_TEST

/* A whole last line removed still chains: only the last chain, kept
 * elsewhere, tells. */
START_TEST(test_truncation_needs_expect_last)
{
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	struct lines ls;
	char last[65], want[256];
	const char *files[1];

	env_init(&e);
	c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	l = log_open(&c);
	write_n(l, 0, 5);
	accesslog_close(l);
	/* the chain the gateway logged at close is the file's last */
	lines_read(e.log, &ls);
	memcpy(last, ls.v[4] + strlen(ls.v[4]) - 67, 64);
	last[64] = '\0';
	files[0] = e.log;
	ck_assert_str_eq(verify_v(files, 1, last, 0), "ok: 5 lines in 1 files");
	free(ls.v[4]);
	ls.n--;
	lines_write(e.log, &ls);
	lines_free(&ls);
	ck_assert_str_eq(verify1(e.log, 0), "ok: 4 lines in 1 files");
	snprintf(want, sizeof(want), "%s:4: chain broken (the sequence ends with chain ", e.log);
	assert_prefix(verify_v(files, 1, last, 1), want);
	env_done(&e);
}
END_TEST

START_TEST(test_last_chain_published)
{
	struct env e;
	struct audit_config c;
	struct accesslog *l;
	char chain[65];
	struct lines ls;

	env_init(&e);
	c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	l = log_open(&c);
	accesslog_last_chain(l, chain);
	ck_assert_str_eq(chain, ZEROS);
	write_n(l, 0, 3);
	/* written once the writer had its turn */
	for (int i = 0; i < 2000 && accesslog_written(l) < 3; i++)
		usleep(1000);
	ck_assert_uint_eq(accesslog_written(l), 3);
	accesslog_last_chain(l, chain);
	accesslog_close(l);
	lines_read(e.log, &ls);
	ck_assert_mem_eq(ls.v[2] + strlen(ls.v[2]) - 67, chain, 64);
	lines_free(&ls);
	const char *files[] = { e.log };
	verify_v(files, 1, chain, 0);
	env_done(&e);
}
END_TEST

/* ---- files: rotation, restart, truncation ---- */

static void wait_for_file(const char *path)
{
	struct stat st;

	for (int i = 0; i < 5000; i++) {
		if (stat(path, &st) == 0 && st.st_size > 0)
			return;
		usleep(1000);
	}
	ck_abort_msg("%s did not appear", path);
}

/* access.jsonl.2 (3 lines), .1 (header + 2), access.jsonl (header + 2). */
static void make_rotated(const struct env *e, char p1[256], char p2[256])
{
	struct audit_config c = config_make(e, AUDIT_IP_TRUNCATE, 64);
	struct accesslog *l = log_open(&c);

	path_in(e, "access.jsonl.1", p1, 256);
	path_in(e, "access.jsonl.2", p2, 256);
	write_n(l, 0, 3);
	for (int i = 0; i < 2000 && accesslog_written(l) < 3; i++)
		usleep(1000);
	ck_assert_int_eq(rename(e->log, p2), 0);
	accesslog_reopen(l);
	wait_for_file(e->log);
	write_n(l, 3, 2);
	for (int i = 0; i < 2000 && accesslog_written(l) < 5; i++)
		usleep(1000);
	ck_assert_int_eq(rename(e->log, p1), 0);
	accesslog_reopen(l);
	wait_for_file(e->log);
	write_n(l, 5, 2);
	accesslog_close(l);
}

START_TEST(test_rotation_sequence)
{
	struct env e;
	char p1[256], p2[256], want[512];
	struct lines ls;

	env_init(&e);
	make_rotated(&e, p1, p2);
	lines_read(p1, &ls);
	ck_assert_uint_eq(ls.n, 3);
	assert_prefix(ls.v[0], "{\"type\":\"header\",\"ts\":\"");
	lines_free(&ls);
	const char *all[] = { p2, p1, e.log };
	ck_assert_str_eq(verify_v(all, 3, NULL, 0), "ok: 9 lines in 3 files");
	/* one file on its own verifies too, saying it continues another */
	const char *one[] = { e.log };
	snprintf(want, sizeof(want), "ok: 3 lines in 1 files\nnote: %s starts with a header", e.log);
	assert_prefix(verify_v(one, 1, NULL, 0), want);
	env_done(&e);
}
END_TEST

START_TEST(test_rotation_out_of_order)
{
	struct env e;
	char p1[256], p2[256], want[512];

	env_init(&e);
	make_rotated(&e, p1, p2);
	const char *swapped[] = { p2, e.log, p1 };
	snprintf(want, sizeof(want), "%s:1: chain broken (the header's prev_chain", e.log);
	assert_prefix(verify_v(swapped, 3, NULL, 1), want);
	const char *reversed[] = { e.log, p1, p2 };
	snprintf(want, sizeof(want), "%s:1: chain broken (the header's prev_chain", p1);
	assert_prefix(verify_v(reversed, 3, NULL, 1), want);
	/* the oldest file, which has no header, given later */
	const char *oldest_last[] = { p1, e.log, p2 };
	snprintf(want, sizeof(want), "%s:1: chain broken (a later file must start with a header",
		 p2);
	assert_prefix(verify_v(oldest_last, 3, NULL, 1), want);
	env_done(&e);
}
END_TEST

START_TEST(test_rotation_missing_file)
{
	struct env e;
	char p1[256], p2[256], want[512];

	env_init(&e);
	make_rotated(&e, p1, p2);
	const char *gap[] = { p2, e.log };
	snprintf(want, sizeof(want), "%s:1: chain broken (the header's prev_chain", e.log);
	assert_prefix(verify_v(gap, 2, NULL, 1), want);
	env_done(&e);
}
END_TEST

START_TEST(test_restart_continues_chain)
{
	struct env e;
	struct lines ls;
	char chain[65];

	env_init(&e);
	make_log(&e, 2);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	struct accesslog *l = log_open(&c);
	write_n(l, 2, 2);
	for (int i = 0; i < 2000 && accesslog_written(l) < 2; i++)
		usleep(1000);
	accesslog_last_chain(l, chain);
	accesslog_close(l);
	lines_read(e.log, &ls);
	ck_assert_uint_eq(ls.n, 5);
	assert_prefix(ls.v[2], "{\"type\":\"header\",");
	/* the header carries the last chain of the run before */
	ck_assert_ptr_nonnull(strstr(ls.v[2], "\"prev_chain\":\""));
	ck_assert_int_eq(strncmp(strstr(ls.v[2], "\"prev_chain\":\"") + 14,
				 ls.v[1] + strlen(ls.v[1]) - 67, 64), 0);
	lines_free(&ls);
	const char *files[] = { e.log };
	ck_assert_str_eq(verify_v(files, 1, chain, 0), "ok: 5 lines in 1 files");
	env_done(&e);
}
END_TEST

START_TEST(test_copytruncate)
{
	struct env e;
	char p1[256];
	size_t len;

	env_init(&e);
	path_in(&e, "access.jsonl.1", p1, sizeof(p1));
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	struct accesslog *l = log_open(&c);
	write_n(l, 0, 3);
	for (int i = 0; i < 2000 && accesslog_written(l) < 3; i++)
		usleep(1000);
	/* what logrotate's copytruncate does */
	char *data = slurp(e.log, &len);
	spit(p1, data, len);
	free(data);
	ck_assert_int_eq(truncate(e.log, 0), 0);
	write_n(l, 3, 2);
	accesslog_close(l);
	const char *files[] = { p1, e.log };
	ck_assert_str_eq(verify_v(files, 2, NULL, 0), "ok: 6 lines in 2 files");
	env_done(&e);
}
END_TEST

/* A crash left half a line: the restart goes on, verification shows where. */
START_TEST(test_damaged_tail_on_restart)
{
	struct env e;
	char want[256];
	FILE *f;

	env_init(&e);
	make_log(&e, 2);
	f = fopen(e.log, "ab");
	ck_assert_ptr_nonnull(f);
	fputs("{\"ts\":\"2026-11-27T15:00:01.000Z\",\"id\":\"cut-he", f);
	fclose(f);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	struct accesslog *l = log_open(&c);
	write_n(l, 2, 2);
	accesslog_close(l);
	struct lines ls;
	lines_read(e.log, &ls);
	ck_assert_uint_eq(ls.n, 6);	/* 2, the half line, header, 2 */
	assert_prefix(ls.v[3], "{\"type\":\"header\",");
	lines_free(&ls);
	snprintf(want, sizeof(want), "%s:3: chain broken (the line does not end with its chain",
		 e.log);
	assert_prefix(verify1(e.log, 1), want);
	env_done(&e);
}
END_TEST

/* A reopen that cannot open the path keeps the old file. */
START_TEST(test_reopen_failure_keeps_file)
{
	struct env e;
	char moved[128];

	env_init(&e);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	struct accesslog *l = log_open(&c);
	write_n(l, 0, 2);
	ck_assert_int_lt(snprintf(moved, sizeof(moved), "%s.moved", e.dir), (int)sizeof(moved));
	ck_assert_int_eq(rename(e.dir, moved), 0);
	accesslog_reopen(l);
	write_n(l, 2, 2);
	accesslog_close(l);
	ck_assert_int_eq(rename(moved, e.dir), 0);
	ck_assert_str_eq(verify1(e.log, 0), "ok: 4 lines in 1 files");
	env_done(&e);
}
END_TEST

/* ---- the writer ---- */

struct drain {
	int fd;
	size_t lines;
};

static void *drain_fifo(void *arg)
{
	struct drain *d = arg;
	char buf[65536];
	ssize_t n;

	while ((n = read(d->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			d->lines += buf[i] == '\n';
	}
	return NULL;
}

/* A writer stuck on a full pipe: the queue fills, lines are dropped and
 * counted, accesslog_write never blocks. */
START_TEST(test_queue_full_drops)
{
	struct env e;
	struct drain d = { -1, 0 };
	pthread_t t;
	unsigned long long sent = 0;

	env_init(&e);
	path_in(&e, "fifo", e.log, sizeof(e.log));
	ck_assert_int_eq(mkfifo(e.log, 0600), 0);
	d.fd = open(e.log, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(d.fd, 0);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 16);
	struct accesslog *l = log_open(&c);
	time_t start = time(NULL);
	while (accesslog_dropped(l) < 100) {
		write_n(l, (int)sent, 1);
		sent++;
		ck_assert_msg(time(NULL) - start < 20, "no drop after %llu lines", sent);
	}
	ck_assert_uint_eq(accesslog_dropped(l), 100);
	/* now let it go */
	ck_assert_int_eq(fcntl(d.fd, F_SETFL, 0), 0);
	ck_assert_int_eq(pthread_create(&t, NULL, drain_fifo, &d), 0);
	accesslog_close(l);
	pthread_join(t, NULL);
	close(d.fd);
	ck_assert_uint_eq(d.lines + 100, sent);
	env_done(&e);
}
END_TEST

struct writer_arg {
	struct accesslog *l;
	int base;
};

static void *writer_thread(void *arg)
{
	struct writer_arg *w = arg;

	write_n(w->l, w->base, 500);
	return NULL;
}

START_TEST(test_concurrent_writers)
{
	struct env e;
	pthread_t t[4];
	struct writer_arg w[4];

	env_init(&e);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 4096);
	c.fsync_ms = 50;
	struct accesslog *l = log_open(&c);
	for (int i = 0; i < 4; i++) {
		w[i].l = l;
		w[i].base = i * 1000;
		ck_assert_int_eq(pthread_create(&t[i], NULL, writer_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	ck_assert_uint_eq(accesslog_dropped(l), 0);
	accesslog_close(l);
	ck_assert_str_eq(verify1(e.log, 0), "ok: 2000 lines in 1 files");
	env_done(&e);
}
END_TEST

START_TEST(test_open_errors)
{
	struct env e;
	struct accesslog *l = (struct accesslog *)&e;
	char err[512] = "";

	env_init(&e);
	struct audit_config c = config_make(&e, AUDIT_IP_TRUNCATE, 64);
	c.log = (char *)"/nonexistent-dir/access.jsonl";
	ck_assert_int_eq(accesslog_open(&c, &l, err, sizeof(err)), -1);
	ck_assert_ptr_eq(l, (struct accesslog *)&e);
	assert_prefix(err, "cannot open /nonexistent-dir/access.jsonl: ");
	/* NULL-safe */
	accesslog_write(NULL, NULL);
	accesslog_reopen(NULL);
	accesslog_close(NULL);
	ck_assert_uint_eq(accesslog_dropped(NULL), 0);
	env_done(&e);
}
END_TEST

/* ---- config ---- */

static int parse_section(const char *dir, const char *yaml, struct audit_config *ac,
			 struct cfg_errors *errs)
{
	yaml_parser_t p;
	yaml_document_t doc;
	int rc;

	cfg_errors_init(errs);
	memset(ac, 0, sizeof(*ac));
	ck_assert(yaml_parser_initialize(&p));
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
	ck_assert(yaml_parser_load(&p, &doc));
	struct cfg_ctx c = { "t.yaml", dir, &doc, errs };
	rc = audit_config_parse(&c, yaml_document_get_root_node(&doc), ac);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	return rc;
}

START_TEST(test_config_section)
{
	struct env e;
	struct audit_config ac;
	struct cfg_errors errs;
	char key[256], host[256];

	env_init(&e);
	path_in(&e, "key", key, sizeof(key));
	spit(key, KEY "\n", strlen(KEY) + 1);
	ck_assert_int_eq(parse_section(e.dir, "log: access.jsonl\nkey_file: key\n", &ac, &errs), 0);
	ck_assert(ac.enabled);
	ck_assert_str_eq(ac.log, e.log);
	ck_assert_uint_eq(ac.key.len, strlen(KEY));
	ck_assert_int_eq(ac.client_ip, AUDIT_IP_TRUNCATE);
	ck_assert_int_eq(ac.fsync_ms, 1000);
	ck_assert_int_eq(ac.queue_max, 65536);
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(ac.instance, host);
	audit_config_free(&ac);
	cfg_errors_free(&errs);

	ck_assert_int_eq(parse_section(e.dir, "log: /var/log/a.jsonl\nkey_file: key\n"
				       "client_ip: none\nfsync_ms: 0\nqueue_max: 16\n"
				       "instance: gw-2\n", &ac, &errs), 0);
	ck_assert_str_eq(ac.log, "/var/log/a.jsonl");
	ck_assert_int_eq(ac.client_ip, AUDIT_IP_NONE);
	ck_assert_int_eq(ac.fsync_ms, 0);
	ck_assert_int_eq(ac.queue_max, 16);
	ck_assert_str_eq(ac.instance, "gw-2");
	audit_config_free(&ac);
	cfg_errors_free(&errs);
	audit_config_free(NULL);
	env_done(&e);
}
END_TEST

START_TEST(test_config_errors)
{
	struct env e;
	struct audit_config ac;
	struct cfg_errors errs;
	char key[256];

	env_init(&e);
	path_in(&e, "key", key, sizeof(key));
	spit(key, "short\n", 6);
	ck_assert_int_eq(parse_section(e.dir, "client_ip: partial\nfsync_ms: 60001\n"
				       "queue_max: 15\nkey_file: key\ncolour: blue\n", &ac, &errs), -1);
	ck_assert_uint_eq(errs.n, 6);
	ck_assert_str_eq(errs.msg[0], "t.yaml:1:12: client_ip: expected truncate, full or none");
	ck_assert_str_eq(errs.msg[1], "t.yaml:2:11: fsync_ms: 60001 is out of range [0, 60000]");
	ck_assert_str_eq(errs.msg[2], "t.yaml:3:12: queue_max: 15 is out of range [16, 10000000]");
	assert_prefix(errs.msg[3], "t.yaml:4:11: key_file: key file ");
	ck_assert_str_eq(errs.msg[4], "t.yaml:5:1: unknown key 'colour'");
	ck_assert_str_eq(errs.msg[5], "t.yaml:1:1: missing required key 'log'");
	audit_config_free(&ac);
	cfg_errors_free(&errs);
	env_done(&e);
}
END_TEST

static Suite *accesslog_suite(void)
{
	Suite *s = suite_create("accesslog");
	TCase *line = tcase_create("line");
	TCase *chain = tcase_create("chain");
	TCase *files = tcase_create("files");
	TCase *writer = tcase_create("writer");
	TCase *config = tcase_create("config");

	tcase_add_test(line, test_line_all_fields_in_order);
	tcase_add_test(line, test_line_null_when_not_applicable);
	tcase_add_test(line, test_client_truncation);
	tcase_add_test(line, test_pseudonyms);
	tcase_add_test(line, test_long_and_odd_strings);
	suite_add_tcase(s, line);

	tcase_add_test(chain, test_chain_as_documented);
	tcase_add_test(chain, test_verify_intact);
	tcase_add_test(chain, test_tamper_delete);
	tcase_add_test(chain, test_tamper_delete_first);
	tcase_add_test(chain, test_tamper_insert_copy);
	tcase_add_test(chain, test_tamper_swap);
	tcase_add_test(chain, test_tamper_edit_byte);
	tcase_add_test(chain, test_tamper_edit_field);
	tcase_add_test(chain, test_tamper_blank_line);
	tcase_add_test(chain, test_tamper_cut_last_line);
	tcase_add_test(chain, test_truncation_needs_expect_last);
	tcase_add_test(chain, test_last_chain_published);
	suite_add_tcase(s, chain);

	tcase_add_test(files, test_rotation_sequence);
	tcase_add_test(files, test_rotation_out_of_order);
	tcase_add_test(files, test_rotation_missing_file);
	tcase_add_test(files, test_restart_continues_chain);
	tcase_add_test(files, test_copytruncate);
	tcase_add_test(files, test_damaged_tail_on_restart);
	tcase_add_test(files, test_reopen_failure_keeps_file);
	suite_add_tcase(s, files);

	tcase_add_test(writer, test_queue_full_drops);
	tcase_add_test(writer, test_concurrent_writers);
	tcase_add_test(writer, test_open_errors);
	tcase_set_timeout(writer, 30);
	suite_add_tcase(s, writer);

	tcase_add_test(config, test_config_section);
	tcase_add_test(config, test_config_errors);
	suite_add_tcase(s, config);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(accesslog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
