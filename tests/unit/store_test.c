/* store_test: one conformance suite run against every meter store (memory,
 * LMDB, Redis), then what only one store promises: for LMDB restarts,
 * kill -9 and a full map; for Redis outages, slowness, lost scripts and
 * passwords. The Redis tests run real redis-server processes on loopback. */
#define _XOPEN_SOURCE 700	/* nftw */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* The loop index of the conformance tests: which store they run against. */
enum { KIND_MEMORY, KIND_LMDB, KIND_REDIS, KIND_COUNT };

#define NTHREADS 20
#define LIMIT 3

static char base_dir[200];	/* made by main, removed after the run */
static int redis_port;		/* the shared redis-server main starts */
static pid_t redis_pid;
#define KEEP 86400		/* how long a count matters, for stores with TTLs */

static const struct meter_reader V1 = { STORE_READER_VISITOR, { 1 } };
static const struct meter_reader V2 = { STORE_READER_VISITOR, { 2 } };
static const struct meter_reader U1 = { STORE_READER_USER, { 1 } };	/* V1's id, other kind */

/* A fresh directory for one LMDB store (the store creates the last part). */
static void fresh_dir(char *out, size_t len)
{
	char tmpl[256];

	snprintf(tmpl, sizeof(tmpl), "%s/t-XXXXXX", base_dir);
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	snprintf(out, len, "%s/meter", tmpl);
}

static struct store *open_lmdb(const char *dir, size_t map_mb)
{
	struct store *s = NULL;
	char err[256] = "";

	if (store_lmdb_open(dir, map_mb, &s, err, sizeof(err)) != 0)
		ck_abort_msg("store_lmdb_open %s: %s", dir, err);
	return s;
}

/* ---- redis-server processes ---- */

/* A loopback port nobody listens on right now. */
static int free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* A direct connection to the test server, for what the store must not do
 * itself (DEBUG SLEEP, SCRIPT FLUSH, TTL). NULL when it does not answer. */
static redisContext *redis_direct(int port)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);

	if (c != NULL && c->err) {
		redisFree(c);
		return NULL;
	}
	if (c != NULL)
		redisSetTimeout(c, tv);
	return c;
}

static redisReply *redis_vdo(int port, const char *fmt, va_list ap)
{
	redisContext *c = redis_direct(port);
	redisReply *rep;

	ck_assert_ptr_nonnull(c);
	rep = redisvCommand(c, fmt, ap);
	ck_assert_ptr_nonnull(rep);
	redisFree(c);
	return rep;
}

/* Runs one command on the server, expecting a reply; returns it. */
static redisReply *redis_do(int port, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;

	va_start(ap, fmt);
	rep = redis_vdo(port, fmt, ap);
	va_end(ap);
	return rep;
}

/* The same, for a command that must not fail. */
static void redis_do_ok(int port, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;

	va_start(ap, fmt);
	rep = redis_vdo(port, fmt, ap);
	va_end(ap);
	ck_assert_int_ne(rep->type, REDIS_REPLY_ERROR);
	freeReplyObject(rep);
}

/* Starts redis-server on port (0: a free one), extra args appended; waits
 * until it answers PING. Returns its PID (the port in *port), or -1. */
static pid_t redis_start(int *port, const char *arg1, const char *arg2)
{
	for (int attempt = 0; attempt < 5; attempt++) {
		int p = *port ? *port : free_port();
		char ps[16];
		pid_t pid;

		snprintf(ps, sizeof(ps), "%d", p);
		if ((pid = fork()) < 0)
			return -1;
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);
			if (null >= 0)
				dup2(null, STDOUT_FILENO);
			execlp("redis-server", "redis-server", "--port", ps, "--bind", "127.0.0.1",
			       "--save", "", "--appendonly", "no", "--daemonize", "no",
			       arg1, arg2, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 200; i++) {
			redisContext *c = redis_direct(p);
			bool up = false;
			if (c != NULL) {
				redisReply *rep = redisCommand(c, "PING");
				/* With requirepass, PING is refused: still up. */
				up = rep != NULL;
				if (rep != NULL)
					freeReplyObject(rep);
				redisFree(c);
			}
			if (up) {
				*port = p;
				return pid;
			}
			if (waitpid(pid, NULL, WNOHANG) == pid)
				break;	/* lost the port to someone: try another */
			usleep(25 * 1000);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void redis_stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* A Redis store on port with the given prefix, timeout and pool. */
static struct store *open_redis_with(int port, const char *prefix, unsigned timeout_ms,
				     unsigned pool, const char *password)
{
	struct store_redis_options o = { password, prefix, pool, timeout_ms, 500 };
	struct store *s = NULL;
	char url[64], err[256] = "";

	snprintf(url, sizeof(url), "redis://127.0.0.1:%d/0", port);
	if (store_redis_open(url, &o, &s, err, sizeof(err)) != 0)
		ck_abort_msg("store_redis_open %s: %s", url, err);
	return s;
}

static struct store *open_kind(int kind)
{
	struct store *s = NULL;
	char dir[320];

	if (kind == KIND_MEMORY) {
		ck_assert_int_eq(store_mem_open(1000, &s), 0);
		return s;
	}
	if (kind == KIND_REDIS) {
		/* Each test starts from an empty database, as the others do. */
		redis_do_ok(redis_port, "FLUSHALL");
		return open_redis_with(redis_port, "test:", 2000, 8, NULL);
	}
	fresh_dir(dir, sizeof(dir));
	return open_lmdb(dir, 0);
}

static const uint8_t *art(unsigned n)
{
	static _Thread_local uint8_t a[16];

	memset(a, 0, sizeof(a));
	memcpy(a, &n, sizeof(n));
	a[15] = 0xa5;
	return a;
}

static enum store_result cc(struct store *s, const struct meter_reader *r, unsigned article,
			    int64_t now, int64_t window_start, unsigned limit, bool dry_run,
			    unsigned *used)
{
	return s->ops->check_and_count(s, r, art(article), now, window_start, KEEP, limit,
				       dry_run, used);
}

/* Counts article with the usual limit and no window, expecting COUNTED. */
static void count(struct store *s, const struct meter_reader *r, unsigned article,
		  int64_t now, unsigned want_used)
{
	unsigned used = 99;

	ck_assert_int_eq(cc(s, r, article, now, 0, 100, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, want_used);
}

/* The time of article in the reader's live entries, or -1 when absent. */
static int64_t shown(struct store *s, const struct meter_reader *r, unsigned article,
		     int64_t window_start)
{
	struct store_entry e[64];
	int n = s->ops->show(s, r, window_start, e, 64);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++)
		if (memcmp(e[i].article, art(article), 16) == 0)
			return e[i].time;
	return -1;
}

static int nshown(struct store *s, const struct meter_reader *r, int64_t window_start)
{
	struct store_entry e[64];
	int n = s->ops->show(s, r, window_start, e, 64);

	ck_assert_int_ge(n, 0);
	return n;
}

/* ---- the conformance suite: _i is the store kind ---- */

START_TEST(test_store_first_read)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, LIMIT, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(shown(s, &V1, 1, 0), 1000);
	store_close(s);
}
END_TEST

/* A re-read is free and keeps the time of the read that counted. */
START_TEST(test_store_reread)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	count(s, &V1, 1, 1000, 1);
	ck_assert_int_eq(cc(s, &V1, 1, 2000, 0, LIMIT, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(shown(s, &V1, 1, 0), 1000);
	ck_assert_int_eq(nshown(s, &V1, 0), 1);
	store_close(s);
}
END_TEST

START_TEST(test_store_limit)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	for (unsigned a = 1; a <= LIMIT; a++) {
		ck_assert_int_eq(cc(s, &V1, a, 1000 + a, 0, LIMIT, false, &used), STORE_COUNTED);
		ck_assert_uint_eq(used, a);
	}
	ck_assert_int_eq(cc(s, &V1, 4, 1100, 0, LIMIT, false, &used), STORE_LIMIT);
	ck_assert_uint_eq(used, LIMIT);
	/* At the limit, counted articles stay free. */
	ck_assert_int_eq(cc(s, &V1, 2, 1100, 0, LIMIT, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, LIMIT);
	ck_assert_int_eq(nshown(s, &V1, 0), LIMIT);
	ck_assert_int_eq(shown(s, &V1, 4, 0), -1);
	store_close(s);
}
END_TEST

/* A limit of 0 is a hard wall for new articles. */
START_TEST(test_store_limit_zero)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 0, false, &used), STORE_LIMIT);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(nshown(s, &V1, 0), 0);
	/* One counted before the limit was lowered stays free. */
	count(s, &V1, 2, 1000, 1);
	ck_assert_int_eq(cc(s, &V1, 2, 1001, 0, 0, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 1);
	store_close(s);
}
END_TEST

START_TEST(test_store_dry_run)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, LIMIT, true, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(nshown(s, &V1, 0), 0);
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, LIMIT, true, &used), STORE_COUNTED);

	count(s, &V1, 1, 1000, 1);
	ck_assert_int_eq(cc(s, &V1, 1, 1001, 0, LIMIT, true, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 1);
	count(s, &V1, 2, 1000, 2);
	ck_assert_int_eq(cc(s, &V1, 3, 1001, 0, LIMIT, true, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 2);
	count(s, &V1, 3, 1000, 3);
	ck_assert_int_eq(cc(s, &V1, 9, 1001, 0, LIMIT, true, &used), STORE_LIMIT);
	ck_assert_uint_eq(used, LIMIT);
	ck_assert_int_eq(nshown(s, &V1, 0), LIMIT);
	ck_assert_int_eq(shown(s, &V1, 9, 0), -1);
	store_close(s);
}
END_TEST

/* Entries before window_start are gone: the article counts again, and it
 * frees a place under the limit. One at window_start is still live. */
START_TEST(test_store_window)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	count(s, &V1, 1, 1000, 1);
	count(s, &V1, 2, 2000, 2);
	ck_assert_int_eq(cc(s, &V1, 3, 3000, 0, 2, false, &used), STORE_LIMIT);
	ck_assert_int_eq(cc(s, &V1, 2, 3000, 2000, 2, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 1);	/* article 1 expired and was deleted */
	ck_assert_int_eq(nshown(s, &V1, 0), 1);
	ck_assert_int_eq(cc(s, &V1, 3, 3000, 2000, 2, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 2);
	/* Later, article 2 has expired too and counts afresh, with the new time. */
	ck_assert_int_eq(cc(s, &V1, 2, 5000, 2001, 2, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 2);
	ck_assert_int_eq(shown(s, &V1, 2, 0), 5000);
	ck_assert_int_eq(shown(s, &V1, 3, 0), 3000);
	store_close(s);
}
END_TEST

/* Readers, and the two kinds of one id, have separate meters. */
START_TEST(test_store_readers_independent)
{
	struct store *s = open_kind(_i);
	unsigned used = 99;

	count(s, &V1, 1, 1000, 1);
	count(s, &V1, 2, 1000, 2);
	ck_assert_int_eq(cc(s, &V1, 3, 1000, 0, 2, false, &used), STORE_LIMIT);
	ck_assert_int_eq(cc(s, &V2, 1, 1000, 0, 2, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(cc(s, &U1, 1, 1000, 0, 2, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 1);
	ck_assert_int_eq(nshown(s, &V1, 0), 2);
	ck_assert_int_eq(nshown(s, &V2, 0), 1);
	ck_assert_int_eq(nshown(s, &U1, 0), 1);
	store_close(s);
}
END_TEST

START_TEST(test_store_show)
{
	struct store *s = open_kind(_i);
	struct store_entry e[4];

	ck_assert_int_eq(nshown(s, &V1, 0), 0);
	count(s, &V1, 1, 100, 1);
	count(s, &V1, 2, 200, 2);
	count(s, &V1, 3, 300, 3);
	count(s, &V2, 4, 400, 1);
	ck_assert_int_eq(nshown(s, &V1, 0), 3);
	ck_assert_int_eq(shown(s, &V1, 1, 0), 100);
	ck_assert_int_eq(shown(s, &V1, 2, 0), 200);
	ck_assert_int_eq(shown(s, &V1, 3, 0), 300);
	ck_assert_int_eq(shown(s, &V1, 4, 0), -1);
	/* Only live entries, and showing deletes nothing. */
	ck_assert_int_eq(nshown(s, &V1, 200), 2);
	ck_assert_int_eq(shown(s, &V1, 1, 200), -1);
	ck_assert_int_eq(nshown(s, &V1, 0), 3);
	/* At most max. */
	ck_assert_int_eq(s->ops->show(s, &V1, 0, e, 1), 1);
	ck_assert_int_eq(s->ops->show(s, &V1, 0, e, 0), 0);
	store_close(s);
}
END_TEST

START_TEST(test_store_reset)
{
	struct store *s = open_kind(_i);

	count(s, &V1, 1, 1000, 1);
	count(s, &V1, 2, 1000, 2);
	count(s, &V2, 1, 1000, 1);
	count(s, &U1, 1, 1000, 1);
	ck_assert_int_eq(s->ops->reset(s, &V1), 0);
	ck_assert_int_eq(nshown(s, &V1, 0), 0);
	ck_assert_int_eq(nshown(s, &V2, 0), 1);
	ck_assert_int_eq(nshown(s, &U1, 0), 1);
	count(s, &V1, 2, 1000, 1);
	ck_assert_int_eq(s->ops->reset(s, &V1), 0);
	ck_assert_int_eq(s->ops->reset(s, &V1), 0);	/* nothing to reset */
	store_close(s);
}
END_TEST

START_TEST(test_store_purge)
{
	struct store *s = open_kind(_i);

	count(s, &V1, 1, 100, 1);
	count(s, &V1, 2, 200, 2);
	count(s, &V1, 3, 900, 3);
	count(s, &V2, 1, 150, 1);
	count(s, &U1, 1, 950, 1);
	ck_assert_int_eq(s->ops->purge(s, 500, 2), 2);
	ck_assert_int_eq(s->ops->purge(s, 500, 100), 1);
	ck_assert_int_eq(s->ops->purge(s, 500, 100), 0);
	ck_assert_int_eq(s->ops->purge(s, 500, 0), 0);
	ck_assert_int_eq(nshown(s, &V1, 0), 1);
	ck_assert_int_eq(shown(s, &V1, 3, 0), 900);
	ck_assert_int_eq(nshown(s, &V2, 0), 0);
	ck_assert_int_eq(shown(s, &U1, 1, 0), 950);
	store_close(s);
}
END_TEST

/* Small purges resume where the last stopped: together they sweep it all
 * and never touch a live entry. */
START_TEST(test_store_purge_sweeps)
{
	struct store *s = open_kind(_i);
	long total = 0, got;
	int calls = 0;

	for (unsigned i = 0; i < 60; i++) {
		struct meter_reader r = { i % 2 ? STORE_READER_USER : STORE_READER_VISITOR, { 0 } };
		memcpy(r.id, &i, sizeof(i));
		count(s, &r, 1, 100, 1);		/* old */
		count(s, &r, 2, 1000, 2);	/* live */
	}
	while ((got = s->ops->purge(s, 500, 7)) > 0) {
		ck_assert_int_le(got, 7);
		total += got;
		ck_assert_int_lt(++calls, 100);
	}
	ck_assert_int_eq(got, 0);
	ck_assert_int_eq(total, 60);
	for (unsigned i = 0; i < 60; i++) {
		struct meter_reader r = { i % 2 ? STORE_READER_USER : STORE_READER_VISITOR, { 0 } };
		memcpy(r.id, &i, sizeof(i));
		ck_assert_int_eq(nshown(s, &r, 0), 1);
		ck_assert_int_eq(shown(s, &r, 2, 0), 1000);
	}
	store_close(s);
}
END_TEST

START_TEST(test_store_ping)
{
	struct store *s = open_kind(_i);

	ck_assert_int_eq(s->ops->ping(s), 0);
	store_close(s);
	store_close(NULL);
}
END_TEST

struct race {
	struct store *s;
	pthread_barrier_t *go;
	unsigned article;
	enum store_result res;
	unsigned used;
};

static void *race_run(void *arg)
{
	struct race *r = arg;

	pthread_barrier_wait(r->go);
	r->res = cc(r->s, &V1, r->article, 1000, 0, LIMIT, false, &r->used);
	return NULL;
}

/* NTHREADS threads, released at once, each count a distinct article of one
 * reader; returns how many were COUNTED (the rest must be LIMIT). */
static int race(struct store *s, unsigned first_article)
{
	pthread_t t[NTHREADS];
	struct race r[NTHREADS];
	pthread_barrier_t go;
	int counted = 0;

	if (pthread_barrier_init(&go, NULL, NTHREADS) != 0)
		return -1;
	for (unsigned i = 0; i < NTHREADS; i++) {
		r[i] = (struct race){ s, &go, first_article + i, STORE_ERROR, 0 };
		if (pthread_create(&t[i], NULL, race_run, &r[i]) != 0)
			return -1;
	}
	for (unsigned i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (unsigned i = 0; i < NTHREADS; i++) {
		if (r[i].res == STORE_COUNTED)
			counted++;
		else if (r[i].res != STORE_LIMIT || r[i].used != LIMIT)
			return -1;
	}
	return counted;
}

START_TEST(test_store_threads)
{
	struct store *s = open_kind(_i);

	for (int round = 0; round < 5; round++) {
		ck_assert_int_eq(s->ops->reset(s, &V1), 0);
		ck_assert_int_eq(race(s, 0), LIMIT);
		ck_assert_int_eq(nshown(s, &V1, 0), LIMIT);
	}
	store_close(s);
}
END_TEST

/* ---- memory store only ---- */

/* Full: a new entry is an error, not an eviction; re-reads still work. */
START_TEST(test_store_mem_full)
{
	struct store *s = NULL;
	unsigned used = 99;

	ck_assert_int_eq(store_mem_open(0, &s), -1);
	ck_assert_int_eq(store_mem_open(3, &s), 0);
	count(s, &V1, 1, 100, 1);
	count(s, &V1, 2, 100, 2);
	count(s, &V2, 1, 900, 1);
	ck_assert_int_eq(cc(s, &V1, 3, 1000, 0, 10, false, &used), STORE_ERROR);
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(cc(s, &U1, 3, 1000, 0, 10, false, &used), STORE_ERROR);
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 10, false, &used), STORE_ALREADY);
	ck_assert_int_eq(cc(s, &U1, 3, 1000, 0, 10, true, &used), STORE_COUNTED);
	ck_assert_int_eq(s->ops->purge(s, 500, 100), 2);
	ck_assert_int_eq(cc(s, &U1, 3, 1000, 0, 10, false, &used), STORE_COUNTED);
	store_close(s);
}
END_TEST

/* ---- LMDB only ---- */

START_TEST(test_store_open_spec)
{
	char dir[320], spec[400], err[256], file[400];
	struct store *s = NULL;
	struct stat st;
	FILE *f;

	ck_assert_int_eq(store_open("memory", &s, err, sizeof(err)), 0);
	store_close(s);
	fresh_dir(dir, sizeof(dir));
	snprintf(spec, sizeof(spec), "lmdb:%s/a/b", dir);
	ck_assert_int_eq(store_open(spec, &s, err, sizeof(err)), 0);
	store_close(s);
	/* Missing parents created, the store's directory private. */
	snprintf(file, sizeof(file), "%s/a/b", dir);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	snprintf(file, sizeof(file), "%s/a/b/data.mdb", dir);
	ck_assert_int_eq(stat(file, &st), 0);

	/* Redis is not dialled at open: it may start after the gateway. */
	ck_assert_int_eq(store_open("redis://localhost", &s, err, sizeof(err)), 0);
	store_close(s);
	ck_assert_int_eq(store_open("rediss://localhost", &s, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "expected memory, lmdb:DIR or redis://HOST:PORT[/DB], got "
			      "'rediss://localhost'");
	ck_assert_int_eq(store_open("lmdb:", &s, err, sizeof(err)), -1);
	ck_assert_int_eq(store_open("Memory", &s, err, sizeof(err)), -1);

	/* A file where the directory should be. */
	snprintf(file, sizeof(file), "%s/a/b/data.mdb/x", dir);
	ck_assert_int_eq(store_lmdb_open(file, 0, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "cannot create"));
	snprintf(file, sizeof(file), "%s/plain", dir);
	ck_assert_ptr_nonnull(f = fopen(file, "w"));
	fclose(f);
	ck_assert_int_eq(store_lmdb_open(file, 0, &s, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is not a directory"));

	ck_assert_str_eq(store_result_name(STORE_ALREADY), "already");
	ck_assert_str_eq(store_result_name(STORE_COUNTED), "counted");
	ck_assert_str_eq(store_result_name(STORE_LIMIT), "limit");
	ck_assert_str_eq(store_result_name(STORE_ERROR), "error");
}
END_TEST

START_TEST(test_store_lmdb_reopen)
{
	char dir[320];
	struct store *s;
	unsigned used = 99;

	fresh_dir(dir, sizeof(dir));
	s = open_lmdb(dir, 0);
	count(s, &V1, 1, 1000, 1);
	count(s, &V1, 2, 1001, 2);
	store_close(s);
	s = open_lmdb(dir, 0);
	ck_assert_int_eq(cc(s, &V1, 1, 2000, 0, LIMIT, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 2);
	ck_assert_int_eq(shown(s, &V1, 2, 0), 1001);
	store_close(s);
}
END_TEST

static void write_byte(int fd, char c)
{
	while (write(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static char read_byte(int fd)
{
	char c = 0;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
	return c;
}

/* A child's part in the two-process race: NTHREADS/2 threads, released
 * when the parent says go. Exits with how many it counted, or 100. */
static struct store *open_shared(int kind, const char *dir)
{
	struct store *s = NULL;
	char err[256];

	if (kind == KIND_REDIS)
		return open_redis_with(redis_port, "test:", 2000, 4, NULL);
	return store_lmdb_open(dir, 0, &s, err, sizeof(err)) == 0 ? s : NULL;
}

static void race_child(int kind, const char *dir, unsigned first_article, int ready_fd,
		       int go_fd)
{
	enum { N = NTHREADS / 2 };
	struct store *s = open_shared(kind, dir);
	pthread_t t[N];
	struct race r[N];
	pthread_barrier_t go;
	int counted = 0;

	if (s == NULL || pthread_barrier_init(&go, NULL, N + 1) != 0)
		_exit(100);
	for (unsigned i = 0; i < N; i++) {
		r[i] = (struct race){ s, &go, first_article + i, STORE_ERROR, 0 };
		if (pthread_create(&t[i], NULL, race_run, &r[i]) != 0)
			_exit(100);
	}
	write_byte(ready_fd, 'r');
	if (read_byte(go_fd) != 'g')
		_exit(100);
	pthread_barrier_wait(&go);
	for (unsigned i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (r[i].res == STORE_COUNTED)
			counted++;
		else if (r[i].res != STORE_LIMIT)
			_exit(100);
	}
	store_close(s);
	_exit(counted);
}

/* Two processes x NTHREADS/2 threads, one reader, NTHREADS articles: the
 * limit holds across processes (for Redis: across gateway instances). */
START_TEST(test_store_processes)
{
	int ready[2], go[2], total = 0;
	pid_t pid[2];
	char dir[320] = "";
	struct store *s;

	if (_i == KIND_LMDB) {
		fresh_dir(dir, sizeof(dir));
		s = open_lmdb(dir, 0);	/* created before the children race to */
	} else {
		s = open_kind(_i);	/* an empty database */
	}
	store_close(s);
	for (int round = 0; round < 3; round++) {
		total = 0;
		ck_assert_int_eq(pipe(ready), 0);
		ck_assert_int_eq(pipe(go), 0);
		for (int p = 0; p < 2; p++) {
			pid[p] = fork();
			ck_assert_int_ge(pid[p], 0);
			if (pid[p] == 0)
				race_child(_i, dir, 100 * (unsigned)round + 50 * (unsigned)p,
					   ready[1], go[0]);
		}
		ck_assert_int_eq(read_byte(ready[0]), 'r');
		ck_assert_int_eq(read_byte(ready[0]), 'r');
		write_byte(go[1], 'g');
		write_byte(go[1], 'g');
		for (int p = 0; p < 2; p++) {
			int st;
			ck_assert_int_eq(waitpid(pid[p], &st, 0), pid[p]);
			ck_assert(WIFEXITED(st));
			ck_assert_int_le(WEXITSTATUS(st), LIMIT);
			total += WEXITSTATUS(st);
		}
		close(ready[0]);
		close(ready[1]);
		close(go[0]);
		close(go[1]);
		ck_assert_int_eq(total, LIMIT);
		s = open_shared(_i, dir);
		ck_assert_ptr_nonnull(s);
		ck_assert_int_eq(nshown(s, &V1, 0), LIMIT);
		ck_assert_int_eq(s->ops->reset(s, &V1), 0);
		store_close(s);
	}
}
END_TEST

/* A count committed by a process that is then killed with SIGKILL (no
 * close, no sync) is there for the next process. */
START_TEST(test_store_lmdb_kill9)
{
	int ready[2], st;
	char dir[320];
	struct store *s;
	unsigned used = 99;
	pid_t pid;

	fresh_dir(dir, sizeof(dir));
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];
		if (store_lmdb_open(dir, 0, &s, err, sizeof(err)) != 0 ||
		    cc(s, &V1, 1, 1000, 0, LIMIT, false, &used) != STORE_COUNTED ||
		    cc(s, &V1, 2, 1001, 0, LIMIT, false, &used) != STORE_COUNTED)
			_exit(100);
		write_byte(ready[1], 'r');
		for (;;)
			pause();
	}
	ck_assert_int_eq(read_byte(ready[0]), 'r');
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(ready[0]);
	close(ready[1]);
	s = open_lmdb(dir, 0);
	ck_assert_int_eq(cc(s, &V1, 1, 2000, 0, LIMIT, false, &used), STORE_ALREADY);
	ck_assert_uint_eq(used, 2);
	ck_assert_int_eq(shown(s, &V1, 2, 0), 1001);
	store_close(s);
}
END_TEST

/* A process killed at any moment, perhaps inside a write transaction,
 * leaves a store the next process can write to (LMDB's robust mutex). */
START_TEST(test_store_lmdb_kill9_busy)
{
	int ready[2], st;
	char dir[320];
	struct store *s;
	unsigned used = 99;
	pid_t pid;

	fresh_dir(dir, sizeof(dir));
	ck_assert_int_eq(pipe(ready), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char err[256];
		if (store_lmdb_open(dir, 0, &s, err, sizeof(err)) != 0)
			_exit(100);
		for (unsigned i = 0;; i++) {
			struct meter_reader r = { STORE_READER_VISITOR, { 0 } };
			memcpy(r.id, &i, sizeof(i));
			cc(s, &r, i, 1000, 0, LIMIT, false, &used);
			if (i == 0)
				write_byte(ready[1], 'r');
		}
	}
	ck_assert_int_eq(read_byte(ready[0]), 'r');
	usleep(100 * 1000);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(ready[0]);
	close(ready[1]);
	s = open_lmdb(dir, 0);
	ck_assert_int_eq(s->ops->ping(s), 0);
	ck_assert_int_eq(cc(s, &U1, 1, 2000, 0, LIMIT, false, &used), STORE_COUNTED);
	ck_assert_int_ge(s->ops->purge(s, 1001, 1000), 1);
	store_close(s);
}
END_TEST

/* A map too small for the entries: STORE_ERROR, no crash, and the store
 * works again once purge has made room. */
START_TEST(test_store_lmdb_map_full)
{
	char dir[320];
	struct store *s;
	unsigned used = 99, i;
	enum store_result res = STORE_COUNTED;

	fresh_dir(dir, sizeof(dir));
	s = open_lmdb(dir, 1);
	for (i = 0; i < 200000; i++) {
		struct meter_reader r = { STORE_READER_VISITOR, { 0 } };
		memcpy(r.id, &i, sizeof(i));
		res = cc(s, &r, 1, 100, 0, LIMIT, false, &used);
		if (res != STORE_COUNTED)
			break;
	}
	ck_assert_int_eq(res, STORE_ERROR);
	ck_assert_uint_eq(used, 0);
	ck_assert_uint_gt(i, 5000);
	ck_assert_int_eq(s->ops->ping(s), 0);
	/* Reading what is there still works. */
	struct meter_reader r0 = { STORE_READER_VISITOR, { 0 } };
	ck_assert_int_eq(cc(s, &r0, 1, 200, 0, LIMIT, false, &used), STORE_ALREADY);
	/* A purge too large for the full map retries smaller batches. */
	long got = s->ops->purge(s, 200, 5000), total = got;
	ck_assert_int_gt(got, 0);
	while (total < 5000 && (got = s->ops->purge(s, 200, 5000)) > 0)
		total += got;
	ck_assert_int_ge(total, 5000);
	ck_assert_int_eq(cc(s, &V1, 7, 300, 0, LIMIT, false, &used), STORE_COUNTED);
	ck_assert_int_eq(cc(s, &V2, 7, 300, 0, LIMIT, false, &used), STORE_COUNTED);
	store_close(s);
}
END_TEST

/* ---- Redis only ---- */

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct store_stats stats_of(struct store *s)
{
	struct store_stats st;

	store_get_stats(s, &st);
	return st;
}

/* Calls until the store counts again (Redis back, backoff over): how long
 * it took in ms, or -1 after 8 s. */
static int64_t wait_counting(struct store *s, unsigned article)
{
	int64_t t0 = ms_now();
	unsigned used;

	while (ms_now() - t0 < 8000) {
		if (cc(s, &V2, article, 1000, 0, 100, false, &used) != STORE_ERROR)
			return ms_now() - t0;
		usleep(20 * 1000);
	}
	return -1;
}

/* The data model the docs promise: one sorted set per reader, hash-tagged,
 * 16-byte members scored by read time, expiring `keep` after a count. */
START_TEST(test_store_redis_keys)
{
	struct store *s = open_kind(KIND_REDIS);
	redisReply *rep;
	char key[80];

	count(s, &V1, 1, 1000, 1);
	count(s, &U1, 1, 1000, 1);
	snprintf(key, sizeof(key), "test:{v:01000000000000000000000000000000}");
	rep = redis_do(redis_port, "TYPE %s", key);
	ck_assert_str_eq(rep->str, "zset");
	freeReplyObject(rep);
	rep = redis_do(redis_port, "TTL %s", key);
	ck_assert_int_gt(rep->integer, KEEP - 60);
	ck_assert_int_le(rep->integer, KEEP);
	freeReplyObject(rep);
	rep = redis_do(redis_port, "ZRANGE %s 0 -1 WITHSCORES", key);
	ck_assert_uint_eq(rep->elements, 2);
	ck_assert_uint_eq(rep->element[0]->len, 16);
	ck_assert_int_eq(memcmp(rep->element[0]->str, art(1), 16), 0);
	ck_assert_str_eq(rep->element[1]->str, "1000");
	freeReplyObject(rep);
	rep = redis_do(redis_port, "EXISTS test:{u:01000000000000000000000000000000}");
	ck_assert_int_eq(rep->integer, 1);
	freeReplyObject(rep);
	rep = redis_do(redis_port, "DBSIZE");
	ck_assert_int_eq(rep->integer, 2);
	freeReplyObject(rep);
	store_close(s);
}
END_TEST

/* One round trip per decision once the script is loaded; a Redis that
 * lost it (restart, SCRIPT FLUSH) gets it again within the same call. */
START_TEST(test_store_redis_one_round_trip)
{
	struct store *s = open_kind(KIND_REDIS);
	unsigned long long before;
	unsigned used;

	count(s, &V1, 1, 1000, 1);
	before = stats_of(s).round_trips;
	count(s, &V1, 2, 1000, 2);
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ALREADY);
	ck_assert_int_eq(cc(s, &V1, 9, 1000, 0, 2, true, &used), STORE_LIMIT);
	ck_assert_uint_eq(stats_of(s).round_trips - before, 3);
	redis_do_ok(redis_port, "SCRIPT FLUSH");
	count(s, &V1, 3, 1000, 3);
	ck_assert_uint_eq(stats_of(s).round_trips - before, 5);	/* NOSCRIPT, then EVAL */
	count(s, &V1, 4, 1000, 4);
	ck_assert_uint_eq(stats_of(s).round_trips - before, 6);	/* EVALSHA works again */
	ck_assert(stats_of(s).up);
	store_close(s);
}
END_TEST

/* The pool is bounded: 20 threads racing through 2 connections open no
 * more than 2, and the limit still holds exactly. */
START_TEST(test_store_redis_pool_bound)
{
	struct store *s;

	redis_do_ok(redis_port, "FLUSHALL");
	s = open_redis_with(redis_port, "test:", 2000, 2, NULL);
	ck_assert_int_eq(race(s, 0), LIMIT);
	ck_assert_uint_le(stats_of(s).reconnects, 2);	/* never more than the pool */
	ck_assert_uint_eq(stats_of(s).connect_failures, 0);
	store_close(s);
}
END_TEST

/* Redis killed: calls fail at once (no waiting on a dead server), ping
 * says so; Redis back on its port: counting resumes with no reopen. */
START_TEST(test_store_redis_outage)
{
	int port = 0;
	pid_t pid = redis_start(&port, NULL, NULL);
	struct store *s;
	unsigned used;
	int64_t t0, took;

	ck_assert_int_gt(pid, 0);
	s = open_redis_with(port, "test:", 50, 4, NULL);
	count(s, &V1, 1, 1000, 1);
	ck_assert_int_eq(s->ops->ping(s), 0);
	redis_stop(pid);
	t0 = ms_now();
	ck_assert_int_eq(cc(s, &V1, 2, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert_uint_eq(used, 0);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(cc(s, &V1, 3, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert_int_lt(ms_now() - t0, 1000);
	ck_assert(!stats_of(s).up);
	ck_assert_int_eq(s->ops->ping(s), -1);
	ck_assert_int_eq(s->ops->show(s, &V1, 0, (struct store_entry[4]){ 0 }, 4), -1);
	ck_assert_int_eq(s->ops->reset(s, &V1), -1);
	ck_assert_uint_ge(stats_of(s).connect_failures, 1);

	pid = redis_start(&port, NULL, NULL);
	ck_assert_int_gt(pid, 0);
	took = wait_counting(s, 1);
	ck_assert_int_ge(took, 0);
	ck_assert_int_lt(took, 4000);	/* the backoff is at most 2 s */
	ck_assert(stats_of(s).up);
	ck_assert_int_eq(s->ops->ping(s), 0);
	/* The new server is empty (no persistence here): a fresh meter. */
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 1);
	store_close(s);
	redis_stop(pid);
}
END_TEST

struct sleeper {
	int port;
	int ok;
};

static void *redis_sleeper(void *arg)
{
	struct sleeper *z = arg;
	redisContext *c = redis_direct(z->port);
	redisReply *rep = c ? redisCommand(c, "DEBUG SLEEP 1") : NULL;

	z->ok = rep != NULL && rep->type == REDIS_REPLY_STATUS;
	if (rep != NULL)
		freeReplyObject(rep);
	if (c != NULL)
		redisFree(c);
	return NULL;
}

/* A Redis that stops answering (DEBUG SLEEP) costs a call the timeout,
 * not the stall; after it wakes up counting resumes. */
START_TEST(test_store_redis_slow)
{
	int port = 0;
	pid_t pid = redis_start(&port, "--enable-debug-command", "yes");
	struct sleeper z = { 0, 0 };
	struct store *s;
	pthread_t t;
	unsigned used;
	int64_t t0, took;

	ck_assert_int_gt(pid, 0);
	z.port = port;
	s = open_redis_with(port, "test:", 50, 4, NULL);
	count(s, &V1, 1, 1000, 1);
	ck_assert_int_eq(pthread_create(&t, NULL, redis_sleeper, &z), 0);
	usleep(150 * 1000);		/* the server is asleep now */
	t0 = ms_now();
	ck_assert_int_eq(cc(s, &V1, 2, 1000, 0, 100, false, &used), STORE_ERROR);
	took = ms_now() - t0;
	ck_assert_int_ge(took, 40);
	ck_assert_int_lt(took, 400);
	ck_assert_uint_ge(stats_of(s).timeouts, 1);
	ck_assert(!stats_of(s).up);
	/* While it sleeps, calls do not queue up behind it either. */
	t0 = ms_now();
	for (int i = 0; i < 20; i++)
		cc(s, &V1, 3, 1000, 0, 100, false, &used);
	ck_assert_int_lt(ms_now() - t0, 1000);
	pthread_join(t, NULL);
	ck_assert_int_eq(z.ok, 1);
	ck_assert_int_ge(wait_counting(s, 4), 0);
	/* The count that timed out may or may not have reached Redis; the
	 * first one is there. */
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ALREADY);
	store_close(s);
	redis_stop(pid);
}
END_TEST

struct hammer {
	struct store *s;
	atomic_bool stop;
	unsigned article;
};

static void *redis_hammer(void *arg)
{
	struct hammer *h = arg;
	struct meter_reader rd = { STORE_READER_VISITOR, { 9 } };
	unsigned used;

	while (!atomic_load(&h->stop))
		h->s->ops->check_and_count(h->s, &rd, art(h->article), 1000, 0, KEEP, 100, false,
					   &used);
	return NULL;
}

/* One stall seen by a whole pool at once is one backoff step, not a
 * doubling per thread: counting resumes within a few hundred ms of Redis
 * waking up, not after the 2 s maximum. */
START_TEST(test_store_redis_stall_backoff)
{
	int port = 0;
	pid_t pid = redis_start(&port, "--enable-debug-command", "yes");
	struct sleeper z = { 0, 0 };
	struct hammer h[16];
	pthread_t t[16], zt;
	struct store *s;
	int64_t took;

	ck_assert_int_gt(pid, 0);
	z.port = port;
	s = open_redis_with(port, "test:", 50, 16, NULL);
	count(s, &V1, 1, 1000, 1);
	for (int i = 0; i < 16; i++) {
		h[i].s = s;
		h[i].article = (unsigned)i;
		atomic_init(&h[i].stop, false);
		ck_assert_int_eq(pthread_create(&t[i], NULL, redis_hammer, &h[i]), 0);
	}
	usleep(50 * 1000);
	ck_assert_int_eq(pthread_create(&zt, NULL, redis_sleeper, &z), 0);	/* 1 s asleep */
	pthread_join(zt, NULL);
	ck_assert_int_eq(z.ok, 1);
	for (int i = 0; i < 16; i++)
		atomic_store(&h[i].stop, true);
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	took = wait_counting(s, 5);
	ck_assert_int_ge(took, 0);
	ck_assert_int_lt(took, 700);
	store_close(s);
	redis_stop(pid);
}
END_TEST

/* A primary turned replica (a failover behind the same address) refuses
 * writes: the store is down, ping says so, the connection is dropped and
 * dialled again; once it is a primary again, counting resumes. */
START_TEST(test_store_redis_readonly)
{
	int port = 0, other = 0;
	pid_t pid = redis_start(&port, NULL, NULL), pid2 = redis_start(&other, NULL, NULL);
	struct store *s;
	unsigned used;
	unsigned long long dials;

	ck_assert_int_gt(pid, 0);
	ck_assert_int_gt(pid2, 0);
	s = open_redis_with(port, "test:", 500, 2, NULL);
	count(s, &V1, 1, 1000, 1);
	ck_assert_int_eq(s->ops->ping(s), 0);
	dials = stats_of(s).reconnects;
	redis_do_ok(port, "REPLICAOF 127.0.0.1 %d", other);
	ck_assert_int_eq(cc(s, &V1, 2, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert(!stats_of(s).up);
	ck_assert_int_eq(s->ops->ping(s), -1);
	redis_do_ok(port, "REPLICAOF NO ONE");
	ck_assert_int_ge(wait_counting(s, 3), 0);
	ck_assert_uint_gt(stats_of(s).reconnects, dials);	/* dialled again, not stuck */
	ck_assert(stats_of(s).up);
	ck_assert_int_eq(s->ops->ping(s), 0);
	store_close(s);
	redis_stop(pid);
	redis_stop(pid2);
}
END_TEST

/* Something else's key where a reader's meter should be fails that reader
 * only: the store stays up for everyone else. */
START_TEST(test_store_redis_wrong_type)
{
	struct store *s = open_kind(KIND_REDIS);
	unsigned used;

	redis_do_ok(redis_port, "SET test:{v:01000000000000000000000000000000} x");
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert(stats_of(s).up);
	count(s, &V2, 1, 1000, 1);
	ck_assert_int_eq(s->ops->ping(s), 0);
	store_close(s);
}
END_TEST

START_TEST(test_store_redis_password)
{
	int port = 0;
	pid_t pid = redis_start(&port, "--requirepass", "s3cret-dev");
	struct store_redis_options o = { NULL, "test:", 2, 500, 500 };
	struct store *s;
	unsigned used;
	char url[96], err[256];

	ck_assert_int_gt(pid, 0);
	s = open_redis_with(port, "test:", 500, 2, NULL);
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert(!stats_of(s).up);	/* NOAUTH: it answers, but the meter does not work */
	ck_assert_int_eq(s->ops->ping(s), -1);
	store_close(s);
	s = open_redis_with(port, "test:", 500, 2, "wrong");
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ERROR);
	store_close(s);
	s = open_redis_with(port, "test:", 500, 2, "s3cret-dev");
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_COUNTED);
	store_close(s);
	/* In the URL instead, percent-encoded, on database 3. */
	snprintf(url, sizeof(url), "redis://:s3cret%%2Ddev@127.0.0.1:%d/3", port);
	ck_assert_int_eq(store_redis_open(url, &o, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_COUNTED);
	ck_assert_uint_eq(used, 1);	/* database 3 is not database 0 */
	store_close(s);
	redis_stop(pid);
}
END_TEST

START_TEST(test_store_redis_config)
{
	static const char *good[] = {
		"redis://localhost", "redis://127.0.0.1:6380", "redis://h:1/0", "redis://h/15",
		"redis://:pw@h", "redis://user:pw@h:6379/2", "redis://[::1]:6379/1",
	};
	static const char *bad[] = {
		"redis://", "redis://h:0", "redis://h:65536", "redis://h/x", "redis://h/1/2",
		"redis://h/-1", "redis://h/1?db=2", "redis://h#x", "http://h", "redis:h",
		"redis://h/65536", "redis://[fe80::1%25eth0]:6379", "redis://user@h",
	};
	struct store_redis_options o = { NULL, "ok:", 1, 1, 1 };
	char err[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(store_redis_check_url(good[i], err, sizeof(err)) == 0, "%s: %s",
			      good[i], err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(store_redis_check_url(bad[i], err, sizeof(err)) == -1, "%s accepted",
			      bad[i]);
	ck_assert(store_spec_is_valid("redis://h:6379/0"));
	ck_assert_str_eq(store_spec_redact("redis://u:p@ss@h:1/2", err, sizeof(err)),
			 "redis://***@h:1/2");
	ck_assert_str_eq(store_spec_redact("redis://h:1/2", err, sizeof(err)), "redis://h:1/2");
	ck_assert_str_eq(store_spec_redact("lmdb:/a@b", err, sizeof(err)), "lmdb:/a@b");
	ck_assert(!store_spec_is_valid("redis://h:6379/x"));
	ck_assert_int_eq(store_redis_check_options(&o, err, sizeof(err)), 0);
	o.key_prefix = "a*b";		/* a glob in SCAN's MATCH */
	ck_assert_int_eq(store_redis_check_options(&o, err, sizeof(err)), -1);
	o.key_prefix = "a{b";		/* a hash tag that is not the reader's */
	ck_assert_int_eq(store_redis_check_options(&o, err, sizeof(err)), -1);
	o.key_prefix = "ok";
	o.pool_size = 0;
	ck_assert_int_eq(store_redis_check_options(&o, err, sizeof(err)), -1);
}
END_TEST

/* A Redis that cannot be reached at all: open works, calls fail fast. */
START_TEST(test_store_redis_never_up)
{
	struct store *s = open_redis_with(free_port(), "test:", 50, 2, NULL);
	unsigned used;
	int64_t t0 = ms_now();

	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(cc(s, &V1, 1, 1000, 0, 100, false, &used), STORE_ERROR);
	ck_assert_int_lt(ms_now() - t0, 1000);
	ck_assert_int_eq(s->ops->ping(s), -1);
	ck_assert_int_eq(s->ops->purge(s, 100, 10), -1);
	store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
	static const struct {
		const char *name;
		int kind;
	} kinds[KIND_COUNT] = { { "memory", KIND_MEMORY }, { "lmdb", KIND_LMDB },
				{ "redis", KIND_REDIS } };
	Suite *s = suite_create("store");
	TCase *tc;

	/* The conformance suite: the same tests, once per store. */
	for (int k = 0; k < KIND_COUNT; k++) {
		tc = tcase_create(kinds[k].name);
		tcase_set_timeout(tc, 120);
#define CONFORM(t) tcase_add_loop_test(tc, t, kinds[k].kind, kinds[k].kind + 1)
		CONFORM(test_store_first_read);
		CONFORM(test_store_reread);
		CONFORM(test_store_limit);
		CONFORM(test_store_limit_zero);
		CONFORM(test_store_dry_run);
		CONFORM(test_store_window);
		CONFORM(test_store_readers_independent);
		CONFORM(test_store_show);
		CONFORM(test_store_reset);
		CONFORM(test_store_purge);
		CONFORM(test_store_purge_sweeps);
		CONFORM(test_store_ping);
		CONFORM(test_store_threads);
		if (kinds[k].kind != KIND_MEMORY)	/* a memory store is one process's */
			CONFORM(test_store_processes);
#undef CONFORM
		suite_add_tcase(s, tc);
	}

	tc = tcase_create("memory only");
	tcase_add_test(tc, test_store_mem_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("lmdb only");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_open_spec);
	tcase_add_test(tc, test_store_lmdb_reopen);
	tcase_add_test(tc, test_store_lmdb_kill9);
	tcase_add_test(tc, test_store_lmdb_kill9_busy);
	tcase_add_test(tc, test_store_lmdb_map_full);
	suite_add_tcase(s, tc);

	tc = tcase_create("redis only");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_store_redis_keys);
	tcase_add_test(tc, test_store_redis_one_round_trip);
	tcase_add_test(tc, test_store_redis_pool_bound);
	tcase_add_test(tc, test_store_redis_outage);
	tcase_add_test(tc, test_store_redis_slow);
	tcase_add_test(tc, test_store_redis_password);
	tcase_add_test(tc, test_store_redis_config);
	tcase_add_test(tc, test_store_redis_never_up);
	tcase_add_test(tc, test_store_redis_stall_backoff);
	tcase_add_test(tc, test_store_redis_readonly);
	tcase_add_test(tc, test_store_redis_wrong_type);
	suite_add_tcase(s, tc);
	return s;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	SRunner *sr = srunner_create(store_suite());
	const char *tmp = getenv("TMPDIR");
	int failed;

	snprintf(base_dir, sizeof(base_dir), "%s/store_test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(base_dir) == NULL) {
		perror("store_test: mkdtemp");
		return EXIT_FAILURE;
	}
	signal(SIGPIPE, SIG_IGN);	/* as the gateway: a closed socket is an error */
	if ((redis_pid = redis_start(&redis_port, NULL, NULL)) < 0) {
		fprintf(stderr, "store_test: cannot start redis-server\n");
		return EXIT_FAILURE;
	}
	srunner_run_all(sr, CK_NORMAL);
	redis_stop(redis_pid);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	nftw(base_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
