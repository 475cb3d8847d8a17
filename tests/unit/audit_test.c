/* audit_test: `paywallctl audit` verify, summary and grep (audit.c) over logs the writer made. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accesslog.h"
#include "audit.h"
#include "visitor.h"

#define KEY "audit-test-key-0123456789abcdefghij"
#define VISITOR_KEY "audit-test-visitor-key-0123456789ab"
#define DAY0 1795737600000LL		/* 2026-11-27T00:00:00Z in ms */
#define MIN (60 * 1000LL)
#define OUT_MAX (64 * 1024)

/* ---- helpers ---- */

struct env {
	char dir[64];
	char log[128];
	char key[128];
};

static void path_in(const struct env *e, const char *name, char *out, size_t outlen)
{
	ck_assert_int_lt(snprintf(out, outlen, "%s/%s", e->dir, name), (int)outlen);
}

static void spit(const char *path, const char *data)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(data, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *data = malloc(OUT_MAX + 1);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(data);
	n = fread(data, 1, OUT_MAX, f);
	data[n] = '\0';
	fclose(f);
	return data;
}

static void env_init(struct env *e)
{
	snprintf(e->dir, sizeof(e->dir), "/tmp/paywalld-audit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(e->dir));
	path_in(e, "access.jsonl", e->log, sizeof(e->log));
	path_in(e, "audit.key", e->key, sizeof(e->key));
	spit(e->key, KEY "\n");
}

static void env_done(const struct env *e)
{
	static const char *const names[] = { "access.jsonl", "access.jsonl.1", "audit.key",
					     "visitor.key", "gw.yaml", "other.jsonl", NULL };
	char p[256];

	for (size_t i = 0; names[i] != NULL; i++) {
		path_in(e, names[i], p, sizeof(p));
		unlink(p);
	}
	rmdir(e->dir);
}

/* One request of the scripted session. */
struct req {
	long long min;			/* minutes after DAY0 */
	const char *decision, *reason, *promotion, *article, *user;
	uint8_t visitor;		/* 0: none, else every id byte */
};

/* A subscriber, a metered reader to exhaustion, a promotion, a paywalled
 * reader, a crawler the next day, and a request to an ungated path. */
static const struct req session[] = {
	{ 10 * 60 + 5, "full", "subscriber", NULL, "a1", "alice", 0 },
	{ 10 * 60 + 20, "full", "meter", NULL, "a1", NULL, 7 },
	{ 10 * 60 + 40, "full", "meter", NULL, "a2", NULL, 7 },
	{ 11 * 60 + 10, "teaser", "meter-exhausted", NULL, "a3", NULL, 7 },
	{ 11 * 60 + 30, "full", "promotion", "bf", "a3", NULL, 9 },
	{ 11 * 60 + 50, "teaser", "subscribers-only", NULL, "a4", "bob", 0 },
	{ 33 * 60, "full", "crawler", NULL, "a1", NULL, 0 },
	{ 33 * 60 + 30, NULL, NULL, NULL, NULL, NULL, 0 },
};
#define SESSION_N (sizeof(session) / sizeof(session[0]))

static void write_session(const char *path, size_t from, size_t to)
{
	struct audit_config c;
	struct accesslog *l = NULL;
	char err[256];

	memset(&c, 0, sizeof(c));
	c.log = (char *)path;
	c.key.bytes = (unsigned char *)KEY;
	c.key.len = strlen(KEY);
	c.queue_max = 1024;
	c.instance = (char *)"gw-1";
	ck_assert_msg(accesslog_open(&c, &l, err, sizeof(err)) == 0, "%s", err);
	for (size_t i = from; i < to; i++) {
		const struct req *q = &session[i];
		struct accesslog_record r;
		uint8_t vid[16];
		memset(&r, 0, sizeof(r));
		memset(vid, q->visitor, sizeof(vid));
		r.ts_ms = DAY0 + q->min * MIN;
		r.id = "r";
		r.method = "GET";
		r.path = q->article != NULL ? q->article : "/about";
		r.status = 200;
		r.bytes = r.ms = r.upstream_ms = r.meter_used = r.meter_limit = -1;
		r.decision = q->decision;
		r.reason = q->reason;
		r.promotion = q->promotion;
		r.article = q->article;
		r.token = q->user != NULL ? "valid" : "absent";
		r.user = q->user;
		r.visitor = q->visitor != 0 ? vid : NULL;
		accesslog_write(l, &r);
	}
	accesslog_close(l);
}

/* Runs audit_main on the NULL-terminated argv, stdout captured into *out
 * (malloc'd). Returns the exit status. */
static int run_v(char **out, const char *const *argv)
{
	char path[] = "/tmp/paywalld-audit-out.XXXXXX";
	int argc = 0, fd = mkstemp(path), saved, rc;

	while (argv[argc] != NULL)
		argc++;
	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	rc = audit_main(argc, (char **)argv);
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	close(fd);
	*out = slurp(path);
	unlink(path);
	return rc;
}

#define run(out, ...) run_v((out), (const char *const[]){ __VA_ARGS__, NULL })

/* Expects status and exactly want on stdout. */
#define expect_run(status, want, ...) \
	do { \
		char *o_; \
		int rc_ = run(&o_, __VA_ARGS__); \
		ck_assert_msg(rc_ == (status), "exit %d, want %d; output: %s", rc_, (status), o_); \
		ck_assert_str_eq(o_, (want)); \
		free(o_); \
	} while (0)

/* ---- summary ---- */

START_TEST(test_summary_json_by_decision)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	expect_run(0, "{\"total\": 8, \"by\": \"decision\", \"groups\": {\"full\": 5, \"teaser\": 2, "
		   "\"-\": 1}}\n", "summary", e.log, "--json");
	env_done(&e);
}
END_TEST

START_TEST(test_summary_json_by_reason)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	expect_run(0, "{\"total\": 8, \"by\": \"reason\", \"groups\": {\"meter\": 2, \"-\": 1, "
		   "\"crawler\": 1, \"meter-exhausted\": 1, \"promotion\": 1, \"subscriber\": 1, "
		   "\"subscribers-only\": 1}}\n", "summary", "--by", "reason", e.log, "--json");
	env_done(&e);
}
END_TEST

START_TEST(test_summary_by_hour_and_day)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	expect_run(0, "{\"total\": 8, \"by\": \"hour\", \"groups\": {\"2026-11-27T10\": 3, "
		   "\"2026-11-27T11\": 3, \"2026-11-28T09\": 2}}\n",
		   "summary", e.log, "--by", "hour", "--json");
	expect_run(0, "{\"total\": 8, \"by\": \"day\", \"groups\": {\"2026-11-27\": 6, "
		   "\"2026-11-28\": 2}}\n", "summary", e.log, "--by", "day", "--json");
	env_done(&e);
}
END_TEST

START_TEST(test_summary_table)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	expect_run(0,
		   "promotion                          requests     teaser       full  teaser/full\n"
		   "-                                         7          2          4         0.50\n"
		   "bf                                        1          0          1         0.00\n"
		   "total                                     8\n",
		   "summary", e.log, "--by", "promotion");
	expect_run(0,
		   "decision                           requests\n"
		   "full                                      5\n"
		   "teaser                                    2\n"
		   "-                                         1\n"
		   "total                                     8\n",
		   "summary", e.log);
	env_done(&e);
}
END_TEST

START_TEST(test_summary_since_until)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	/* --since inclusive, --until exclusive: 11:10, 11:30, 11:50 */
	expect_run(0, "{\"total\": 3, \"by\": \"reason\", \"groups\": {\"meter-exhausted\": 1, "
		   "\"promotion\": 1, \"subscribers-only\": 1}}\n", "summary", e.log, "--by", "reason",
		   "--since", "2026-11-27T11:00:00Z", "--until", "2026-11-28T09:00:00Z", "--json");
	/* the same with offsets and fractions */
	expect_run(0, "{\"total\": 3, \"by\": \"decision\", \"groups\": {\"teaser\": 2, \"full\": 1}}\n",
		   "summary", e.log, "--since", "2026-11-27T12:10:00.000+01:00", "--until",
		   "2026-11-27T06:50:00.001-05:00", "--json");
	expect_run(0, "{\"total\": 0, \"by\": \"day\", \"groups\": {}}\n", "summary", e.log,
		   "--since", "2030-01-01T00:00:00Z", "--by", "day", "--json");
	env_done(&e);
}
END_TEST

/* Rotated files sum up; header lines are not requests; junk is skipped. */
START_TEST(test_summary_files_headers_and_junk)
{
	struct env e;
	char p1[256], *o;
	FILE *f;

	env_init(&e);
	path_in(&e, "access.jsonl.1", p1, sizeof(p1));
	write_session(p1, 0, 4);
	write_session(e.log, 4, SESSION_N);	/* starts with no header: a new file */
	f = fopen(e.log, "ab");
	ck_assert_ptr_nonnull(f);
	fputs("not json\n{\"ts\":\"yesterday\"}\n[1,2]\n{\"type\":\"header\",\"ts\":\"x\"}\n"
	      "{\"ts\":\"2026-11-27T12:00:00.000Z\",\"decision\":7}\n", f);
	fclose(f);
	expect_run(0, "{\"total\": 8, \"by\": \"decision\", \"groups\": {\"full\": 5, \"teaser\": 2, "
		   "\"-\": 1}}\n", "summary", p1, e.log, "--json");
	/* the API counts what it skipped: the header is not one of them */
	struct audit_summary *s = audit_summary_new(AUDIT_BY_DECISION, INT64_MIN, INT64_MAX);
	ck_assert_ptr_nonnull(s);
	f = fopen(e.log, "rb");
	ck_assert_int_eq(audit_summary_feed(s, e.log, f, NULL), 0);
	fclose(f);
	ck_assert_uint_eq(audit_summary_total(s), 4);
	ck_assert_uint_eq(audit_summary_skipped(s), 4);
	audit_summary_free(s);
	ck_assert_int_eq(run(&o, "summary", e.log, "--by", "reason", "--json"), 0);
	free(o);
	env_done(&e);
}
END_TEST

START_TEST(test_summary_group_limit)
{
	size_t n = AUDIT_GROUPS_MAX + 3, cap = n * 80 + 1, len = 0;
	char *data = malloc(cap), *out = NULL;
	size_t outlen = 0;
	FILE *in, *o;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(data + len, cap - len, "{\"ts\":\"2026-11-27T10:00:00.000Z\","
					"\"decision\":\"full\",\"article\":\"a%06zu\"}\n", i);
	in = fmemopen(data, len, "r");
	ck_assert_ptr_nonnull(in);
	struct audit_summary *s = audit_summary_new(AUDIT_BY_ARTICLE, INT64_MIN, INT64_MAX);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(audit_summary_feed(s, "mem", in, NULL), 0);
	fclose(in);
	ck_assert_uint_eq(audit_summary_total(s), n);
	o = open_memstream(&out, &outlen);
	ck_assert_ptr_nonnull(o);
	ck_assert_int_eq(audit_summary_print(s, true, o), 0);
	fclose(o);
	ck_assert_ptr_nonnull(strstr(out, "\"a099999\": 1, \"other\": 3}}\n"));
	const char *head = "{\"total\": 100003, \"by\": \"article\", \"groups\": {\"a000000\": 1, ";
	ck_assert_int_eq(strncmp(out, head, strlen(head)), 0);
	free(out);
	audit_summary_free(s);
	free(data);
}
END_TEST

START_TEST(test_summary_usage)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, 2);
	expect_run(2, "", "summary", e.log, "--by", "colour");
	expect_run(2, "", "summary", e.log, "--since", "yesterday");
	expect_run(2, "", "summary", e.log, "--key", e.key);
	expect_run(2, "", "summary");
	expect_run(2, "", "summary", "/nonexistent/access.jsonl");
	expect_run(2, "", "stats", e.log);
	env_done(&e);
}
END_TEST

START_TEST(test_time_parse)
{
	int64_t ms = 0;

	ck_assert_int_eq(audit_time_parse("2026-11-27T00:00:00Z", &ms), 0);
	ck_assert_int_eq(ms, DAY0);
	ck_assert_int_eq(audit_time_parse("2026-11-27T00:00:00.5Z", &ms), 0);
	ck_assert_int_eq(ms, DAY0 + 500);
	ck_assert_int_eq(audit_time_parse("2026-11-27T00:00:00.123999Z", &ms), 0);
	ck_assert_int_eq(ms, DAY0 + 123);
	ck_assert_int_eq(audit_time_parse("2026-11-27T01:00:00.010+01:00", &ms), 0);
	ck_assert_int_eq(ms, DAY0 + 10);
	ms = 42;
	ck_assert_int_eq(audit_time_parse("2026-11-27T00:00:00", &ms), -1);
	ck_assert_int_eq(audit_time_parse("2026-11-27", &ms), -1);
	ck_assert_int_eq(audit_time_parse("", &ms), -1);
	ck_assert_int_eq(ms, 42);
}
END_TEST

/* ---- grep ---- */

/* The session's line i (0-based) as the file holds it. */
static char *line_of(const char *path, size_t i)
{
	char *all = slurp(path), *p = all, *r;

	for (size_t k = 0; k < i; k++) {
		p = strchr(p, '\n');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	r = strndup(p, (size_t)(strchr(p, '\n') - p) + 1);
	free(all);
	return r;
}

START_TEST(test_grep_user_article_reason)
{
	struct env e;
	char *l0, *l5, *l1, *l2, *l4, want[4096];

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	l0 = line_of(e.log, 0);
	l1 = line_of(e.log, 1);
	l2 = line_of(e.log, 2);
	l4 = line_of(e.log, 4);
	l5 = line_of(e.log, 5);
	expect_run(0, l0, "grep", e.log, "--user", "alice", "--key", e.key);
	expect_run(0, l5, "grep", "--key", e.key, "--user", "bob", e.log);
	expect_run(1, "", "grep", e.log, "--user", "carol", "--key", e.key);
	snprintf(want, sizeof(want), "%s%s", l1, l2);
	expect_run(0, want, "grep", e.log, "--reason", "meter");
	expect_run(0, l4, "grep", e.log, "--article", "a3", "--reason", "promotion");
	expect_run(1, "", "grep", e.log, "--article", "a3", "--reason", "meter");
	/* a pseudonym seen in the log finds the reader's other lines */
	char *v = strstr(l1, "\"visitor\":\"");
	ck_assert_ptr_nonnull(v);
	char p[33], *line_of_3 = line_of(e.log, 3);
	memcpy(p, v + 11, 32);
	p[32] = '\0';
	snprintf(want, sizeof(want), "%s%s%s", l1, l2, line_of_3);
	expect_run(0, want, "grep", e.log, "--pseudonym", p);
	expect_run(0, l1, "grep", e.log, "--pseudonym", p, "--article", "a1", "--reason", "meter");
	free(line_of_3);
	free(l0);
	free(l1);
	free(l2);
	free(l4);
	free(l5);
	env_done(&e);
}
END_TEST

START_TEST(test_grep_usage)
{
	struct env e;

	env_init(&e);
	write_session(e.log, 0, 2);
	expect_run(2, "", "grep", e.log);
	expect_run(2, "", "grep", e.log, "--user", "alice");
	expect_run(2, "", "grep", e.log, "--visitor", "AAAA", "--key", e.key);
	expect_run(2, "", "grep", e.log, "--reason");
	expect_run(2, "", "grep", e.log, "--since", "2026-11-27T00:00:00Z", "--reason", "meter");
	expect_run(2, "", "grep", "/nonexistent/access.jsonl", "--reason", "meter");
	env_done(&e);
}
END_TEST

/* --visitor takes the cookie value and checks it with the config's visitor key. */
START_TEST(test_grep_visitor_cookie)
{
	struct env e;
	struct visitor_config vc;
	uint8_t id[VISITOR_ID_LEN];
	char value[VISITOR_VALUE_LEN + 1], cfg[256], vkey[256], yaml[512], want[4096];
	char *l1, *l2, *l3;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	path_in(&e, "visitor.key", vkey, sizeof(vkey));
	spit(vkey, VISITOR_KEY "\n");
	path_in(&e, "gw.yaml", cfg, sizeof(cfg));
	snprintf(yaml, sizeof(yaml), "upstream: {url: http://127.0.0.1:9000}\n"
		 "visitor:\n  secret_file: %s\n", vkey);
	spit(cfg, yaml);
	memset(&vc, 0, sizeof(vc));
	vc.cookie = (char *)"pw_vid";
	vc.secret.bytes = (unsigned char *)VISITOR_KEY;
	vc.secret.len = strlen(VISITOR_KEY);
	memset(id, 7, sizeof(id));
	ck_assert_int_eq(visitor_value(&vc, id, value), 0);
	l1 = line_of(e.log, 1);
	l2 = line_of(e.log, 2);
	l3 = line_of(e.log, 3);
	snprintf(want, sizeof(want), "%s%s%s", l1, l2, l3);
	expect_run(0, want, "grep", e.log, "--visitor", value, "-c", cfg, "--key", e.key);
	/* without the config, or with a forged cookie: a usage error */
	expect_run(2, "", "grep", e.log, "--visitor", value, "--key", e.key);
	value[5] = value[5] == 'A' ? 'B' : 'A';
	expect_run(2, "", "grep", e.log, "--visitor", value, "-c", cfg, "--key", e.key);
	free(l1);
	free(l2);
	free(l3);
	env_done(&e);
}
END_TEST

/* ---- verify ---- */

static void last_chain(const char *path, char out[65])
{
	char *all = slurp(path);
	size_t n = strlen(all);

	ck_assert_uint_gt(n, 67);
	memcpy(out, all + n - 67, 64);
	out[64] = '\0';
	free(all);
}

START_TEST(test_verify_command)
{
	struct env e;
	char p1[256], chain[65], want[512], *o;

	env_init(&e);
	path_in(&e, "access.jsonl.1", p1, sizeof(p1));
	write_session(p1, 0, 4);
	write_session(p1, 4, SESSION_N);	/* a restart: header, then 4 more */
	last_chain(p1, chain);
	expect_run(0, "ok: 9 lines in 1 files\n", "verify", "--key", e.key, p1);
	expect_run(0, "ok: 9 lines in 1 files\n", "verify", p1, "--key", e.key, "--expect-last",
		   chain);
	chain[0] = chain[0] == '0' ? '1' : '0';
	snprintf(want, sizeof(want), "%s:9: chain broken (the sequence ends with chain ", p1);
	ck_assert_int_eq(run(&o, "verify", p1, "--key", e.key, "--expect-last", chain), 1);
	ck_assert_int_eq(strncmp(o, want, strlen(want)), 0);
	free(o);
	/* standard input */
	int fd = open(p1, O_RDONLY), saved = dup(STDIN_FILENO);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDIN_FILENO), 0);
	expect_run(0, "ok: 9 lines in 1 files\n", "verify", "--key", e.key, "-");
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(fd);
	env_done(&e);
}
END_TEST

START_TEST(test_verify_command_broken)
{
	struct env e;
	char want[512], *o, *all;

	env_init(&e);
	write_session(e.log, 0, SESSION_N);
	all = slurp(e.log);
	char *p = strstr(all, "\"decision\":\"teaser\"");
	ck_assert_ptr_nonnull(p);
	memcpy(p + 12, "full\"  ", 7);
	spit(e.log, all);
	free(all);
	snprintf(want, sizeof(want), "%s:4: chain broken (", e.log);
	ck_assert_int_eq(run(&o, "verify", "--key", e.key, e.log), 1);
	ck_assert_int_eq(strncmp(o, want, strlen(want)), 0);
	ck_assert_ptr_nonnull(strchr(o, '\n'));
	free(o);
	env_done(&e);
}
END_TEST

START_TEST(test_verify_usage)
{
	struct env e;
	char other[256];

	env_init(&e);
	write_session(e.log, 0, 2);
	expect_run(2, "", "verify", e.log);
	expect_run(2, "", "verify", "--key", e.key);
	expect_run(2, "", "verify", "--key", "/nonexistent.key", e.log);
	expect_run(2, "", "verify", "--key", e.key, "--expect-last", "abc", e.log);
	expect_run(2, "", "verify", "--key", e.key, "/nonexistent/access.jsonl");
	expect_run(2, "", "verify", "--key", e.key, "--json", e.log);
	/* a short key file is refused like the gateway refuses it */
	path_in(&e, "other.jsonl", other, sizeof(other));
	spit(other, "short\n");
	expect_run(2, "", "verify", "--key", other, e.log);
	char *o;
	ck_assert_int_eq(run(&o, "--help"), 0);
	ck_assert_int_eq(strncmp(o, "usage: paywallctl audit verify", 30), 0);
	free(o);
	expect_run(2, "", "frobnicate");
	env_done(&e);
}
END_TEST

START_TEST(test_verify_long_line)
{
	size_t len = ACCESSLOG_LINE_MAX + 10;
	char *data = malloc(len + 1), msg[256];
	struct audit_verifier *v = audit_verifier_new((const unsigned char *)KEY, strlen(KEY));
	FILE *in;

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(v);
	memset(data, 'x', len);
	data[len] = '\n';
	in = fmemopen(data, len + 1, "r");
	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(audit_verifier_feed(v, "big", in, msg, sizeof(msg)), 1);
	ck_assert_str_eq(msg, "big:1: chain broken (line longer than 64 KiB)");
	fclose(in);
	audit_verifier_free(v);
	free(data);
}
END_TEST

START_TEST(test_verify_empty_files)
{
	struct env e;
	char p1[256];

	env_init(&e);
	path_in(&e, "access.jsonl.1", p1, sizeof(p1));
	spit(p1, "");
	write_session(e.log, 0, 2);
	const char *files[] = { p1, e.log, p1 };
	char msg[256];
	ck_assert_int_eq(audit_verify_files((const unsigned char *)KEY, strlen(KEY), files, 3,
					    NULL, msg, sizeof(msg)), 0);
	ck_assert_str_eq(msg, "ok: 2 lines in 3 files");
	env_done(&e);
}
END_TEST

static Suite *audit_suite(void)
{
	Suite *s = suite_create("audit");
	TCase *summary = tcase_create("summary");
	TCase *grep = tcase_create("grep");
	TCase *verify = tcase_create("verify");
	TCase *config = tcase_create("config");

	tcase_add_test(summary, test_summary_json_by_decision);
	tcase_add_test(summary, test_summary_json_by_reason);
	tcase_add_test(summary, test_summary_by_hour_and_day);
	tcase_add_test(summary, test_summary_table);
	tcase_add_test(summary, test_summary_since_until);
	tcase_add_test(summary, test_summary_files_headers_and_junk);
	tcase_add_test(summary, test_summary_group_limit);
	tcase_add_test(summary, test_summary_usage);
	tcase_add_test(summary, test_time_parse);
	tcase_set_timeout(summary, 60);
	suite_add_tcase(s, summary);

	tcase_add_test(grep, test_grep_user_article_reason);
	tcase_add_test(grep, test_grep_usage);
	suite_add_tcase(s, grep);

	tcase_add_test(verify, test_verify_command);
	tcase_add_test(verify, test_verify_command_broken);
	tcase_add_test(verify, test_verify_usage);
	tcase_add_test(verify, test_verify_long_line);
	tcase_add_test(verify, test_verify_empty_files);
	suite_add_tcase(s, verify);

	/* loads a whole gateway config */
	tcase_add_test(config, test_grep_visitor_cookie);
	suite_add_tcase(s, config);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
