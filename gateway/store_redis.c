/* store_redis: the shared meter store. Gateways on many hosts count a
 * reader's articles in one Redis, through one Lua script per request. */
#include "store.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define REDIS_MAGIC 0x52454449u		/* "REDI" */
#define REDIS_PORT_DEFAULT 6379
#define REDIS_DB_MAX 65535
#define REDIS_HOST_MAX 255
#define REDIS_SECRET_MAX 512
#define REDIS_KEY_MAX (STORE_REDIS_PREFIX_MAX + 40)
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 2000
#define REDIS_LOG_EVERY_MS 10000	/* error replies are logged at most this often */
#define REDIS_SWEEP_KEYS 256		/* keys kept from one SCAN reply */
#define REDIS_SCAN_COUNT "100"
#define REDIS_PURGE_BATCH 1000		/* entries one purge script call may delete */
#define REDIS_SHOW_MAX 100000

/*
 * KEYS[1]: the reader's sorted set; ARGV: article, now, window_start,
 * limit, dry_run, keep. Returns {verdict, live count}: 0 already counted,
 * 1 counted (or would be), 2 limit reached. Redis runs a script alone, so
 * the check and the count are one step for every gateway at once.
 */
static const char redis_script_count[] =
	"local key = KEYS[1]\n"
	"redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. ARGV[3])\n"
	"local n = redis.call('ZCARD', key)\n"
	"if redis.call('ZSCORE', key, ARGV[1]) then return {0, n} end\n"
	"if n >= tonumber(ARGV[4]) then return {2, n} end\n"
	"if ARGV[5] == '1' then return {1, n} end\n"
	"redis.call('ZADD', key, ARGV[2], ARGV[1])\n"
	"if redis.call('TTL', key) < tonumber(ARGV[6]) then\n"
	"  redis.call('EXPIRE', key, ARGV[6])\n"
	"end\n"
	"return {1, n + 1}\n";

/* KEYS[1]: a reader's sorted set; ARGV: before, max. Deletes up to max
 * entries older than before; returns how many. */
static const char redis_script_purge[] =
	"local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1],"
	" 'LIMIT', 0, tonumber(ARGV[2]))\n"
	"if #old > 0 then redis.call('ZREM', KEYS[1], unpack(old)) end\n"
	"return #old\n";

enum { REDIS_SCRIPT_COUNT, REDIS_SCRIPT_PURGE, REDIS_SCRIPTS };

struct redis_script {
	const char *text;
	char sha[41];		/* hex SHA-1 of text: what EVALSHA names */
};

struct redis_conn {
	redisContext *ctx;	/* NULL: not connected */
	bool busy;		/* checked out by a thread */
};

/* Where the purge sweep stands: the SCAN cursor and the keys of the last
 * SCAN reply not yet purged. */
struct redis_sweep {
	char cursor[32];
	bool started;
	char *keys[REDIS_SWEEP_KEYS];
	size_t nkeys, next;
};

struct store_redis {
	struct store base;
	unsigned magic;
	char *host, *user, *password, *prefix;
	int port, db;
	struct timeval timeout, connect_timeout;
	unsigned timeout_ms;
	struct redis_script scripts[REDIS_SCRIPTS];
	pthread_mutex_t lock;		/* guards conns, dialing, the backoff and up's changes */
	pthread_cond_t freed;		/* a connection went back to the pool */
	pthread_cond_t dialed;		/* a dial ended */
	struct redis_conn *conns;
	size_t nconns;
	bool dialing;			/* one new connection at a time */
	int64_t retry_at_ms;		/* no new connection before this (monotonic) */
	unsigned backoff_ms;		/* 0 while Redis answers */
	atomic_bool up;			/* changed under lock, read without */
	atomic_llong down_logged_ms, up_logged_ms, error_logged_ms;
	atomic_ullong round_trips, timeouts, reconnects, connect_failures;
	pthread_mutex_t purge_lock;	/* one purge at a time; guards sweep */
	struct redis_sweep sweep;
};

/* One command: argv with lengths (members are binary); script is set for
 * an EVALSHA that Redis may have lost (NOSCRIPT). */
struct redis_cmd {
	int argc;
	const char *argv[10];
	size_t len[10];
	const struct redis_script *script;
};

static struct store_redis *redis_of(struct store *s)
{
	struct store_redis *r = (struct store_redis *)s;

	assert(r != NULL && r->magic == REDIS_MAGIC);
	return r;
}

static int64_t redis_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval redis_tv(unsigned ms)
{
	return (struct timeval){ .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
}

/* ---- the URL ---- */

struct redis_url {
	char *host, *user, *password;
	int port, db;
};

static void redis_url_free(struct redis_url *u)
{
	free(u->host);
	free(u->user);
	if (u->password != NULL)
		OPENSSL_cleanse(u->password, strlen(u->password));
	free(u->password);
	memset(u, 0, sizeof(*u));
}

/* A decimal in [min, max], the whole string. */
static int redis_parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Takes an optional part of a parsed URL (NULL when absent). */
static int redis_url_part(CURLU *h, CURLUPart what, unsigned flags, char **out)
{
	CURLUcode rc = curl_url_get(h, what, out, flags);

	*out = rc == CURLUE_OK ? *out : NULL;
	return rc == CURLUE_OK || rc == CURLUE_NO_PORT || rc == CURLUE_NO_USER ||
	       rc == CURLUE_NO_PASSWORD || rc == CURLUE_NO_QUERY || rc == CURLUE_NO_FRAGMENT ||
	       rc == CURLUE_NO_ZONEID ? 0 : -1;
}

/* Copies what curl gave into u (curl's strings must be curl_free'd). */
static int redis_url_take(struct redis_url *u, char *host, char *port, char *path, char *err,
			  size_t errlen)
{
	size_t hl = strlen(host);

	if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {	/* IPv6 literal */
		host++;
		hl -= 2;
	}
	if (hl == 0 || hl > REDIS_HOST_MAX || (u->host = strndup(host, hl)) == NULL) {
		snprintf(err, errlen, "redis URL: bad host");
		return -1;
	}
	u->port = REDIS_PORT_DEFAULT;
	if (port != NULL && redis_parse_int(port, 1, 65535, &u->port) != 0) {
		snprintf(err, errlen, "redis URL: bad port '%s'", port);
		return -1;
	}
	if (path != NULL && strcmp(path, "/") != 0 && strcmp(path, "") != 0 &&
	    redis_parse_int(path + 1, 0, REDIS_DB_MAX, &u->db) != 0) {
		snprintf(err, errlen, "redis URL: the path must be /DB (0..%d), got '%s'",
			 REDIS_DB_MAX, path);
		return -1;
	}
	return 0;
}

static int redis_url_parse(const char *url, struct redis_url *u, char *err, size_t errlen)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *user = NULL,
	     *pass = NULL, *query = NULL, *frag = NULL, *zone = NULL;
	CURLU *h = curl_url();
	int rc = -1;

	memset(u, 0, sizeof(*u));
	if (h == NULL) {
		snprintf(err, errlen, "redis URL: out of memory");
		return -1;
	}
	if (curl_url_set(h, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(h, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    strcmp(scheme, "redis") != 0 || curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    redis_url_part(h, CURLUPART_PORT, 0, &port) != 0 ||
	    redis_url_part(h, CURLUPART_PATH, 0, &path) != 0 ||
	    redis_url_part(h, CURLUPART_USER, CURLU_URLDECODE, &user) != 0 ||
	    redis_url_part(h, CURLUPART_PASSWORD, CURLU_URLDECODE, &pass) != 0 ||
	    redis_url_part(h, CURLUPART_QUERY, 0, &query) != 0 ||
	    redis_url_part(h, CURLUPART_FRAGMENT, 0, &frag) != 0) {
		snprintf(err, errlen, "redis URL: expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
		goto out;
	}
	if (query != NULL || frag != NULL) {
		snprintf(err, errlen, "redis URL: no query or fragment allowed");
		goto out;
	}
	if (redis_url_part(h, CURLUPART_ZONEID, 0, &zone) != 0 || zone != NULL) {
		snprintf(err, errlen, "redis URL: no IPv6 zone allowed");
		goto out;
	}
	if (user != NULL && *user != '\0' && (pass == NULL || *pass == '\0')) {
		snprintf(err, errlen, "redis URL: a user needs a password (USER:PASSWORD@)");
		goto out;
	}
	if (redis_url_take(u, host, port, path, err, errlen) != 0)
		goto out;
	if ((user != NULL && *user != '\0' && (u->user = strdup(user)) == NULL) ||
	    (pass != NULL && *pass != '\0' && (u->password = strdup(pass)) == NULL)) {
		snprintf(err, errlen, "redis URL: out of memory");
		goto out;
	}
	rc = 0;
out:
	if (pass != NULL)
		OPENSSL_cleanse(pass, strlen(pass));
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(user);
	curl_free(pass);
	curl_free(query);
	curl_free(frag);
	curl_free(zone);
	curl_url_cleanup(h);
	if (rc != 0)
		redis_url_free(u);
	return rc;
}

int store_redis_check_url(const char *url, char *err, size_t errlen)
{
	struct redis_url u;

	if (redis_url_parse(url, &u, err, errlen) != 0)
		return -1;
	redis_url_free(&u);
	return 0;
}

/* ---- connections ---- */

/* Why a call failed: the pool was busy, Redis failed, or Redis refused. */
enum redis_fail { REDIS_FAIL_NONE, REDIS_FAIL_BUSY, REDIS_FAIL_DOWN, REDIS_FAIL_REPLY };

/*
 * Redis failed us. A failed dial doubles the backoff (100 ms .. 2 s); a
 * failed command on an open connection starts it at the minimum only if
 * it was not running, so one stall seen by many threads at once costs one
 * backoff step, not a doubling per thread.
 */
static void redis_mark_down(struct store_redis *r, const char *why, bool dial_failed)
{
	bool was_up;

	pthread_mutex_lock(&r->lock);
	if (dial_failed || r->backoff_ms == 0) {
		r->backoff_ms = r->backoff_ms == 0 ? REDIS_BACKOFF_MIN_MS
				: r->backoff_ms >= REDIS_BACKOFF_MAX_MS / 2 ? REDIS_BACKOFF_MAX_MS
									    : r->backoff_ms * 2;
		r->retry_at_ms = redis_now_ms() + r->backoff_ms;
	}
	was_up = atomic_exchange(&r->up, false);
	pthread_mutex_unlock(&r->lock);
	if (was_up && log_due(&r->down_logged_ms, REDIS_LOG_EVERY_MS))
		log_error("redis", "%s:%d: %s; meters follow on_store_error until it answers",
			  r->host, r->port, why);
}

static void redis_mark_up(struct store_redis *r)
{
	bool was_up;

	if (atomic_load(&r->up))
		return;
	pthread_mutex_lock(&r->lock);
	r->backoff_ms = 0;
	r->retry_at_ms = 0;
	was_up = atomic_exchange(&r->up, true);
	pthread_mutex_unlock(&r->lock);
	if (!was_up && log_due(&r->up_logged_ms, REDIS_LOG_EVERY_MS))
		log_info("redis", "%s:%d answers again: metering resumes", r->host, r->port);
}

/*
 * Sends one command and reads its reply, within timeout_ms (the socket's
 * timeout, set once per connection). NULL when the connection failed: it
 * must then be dropped (a late reply would answer the next command);
 * *timed_out says whether the timeout was the cause.
 */
static redisReply *redis_send(struct store_redis *r, redisContext *ctx, int argc,
			      const char **argv, const size_t *len, bool *timed_out)
{
	redisReply *rep;

	atomic_fetch_add(&r->round_trips, 1);
	errno = 0;
	rep = redisCommandArgv(ctx, argc, argv, len);
	*timed_out = rep == NULL && ctx->err == REDIS_ERR_IO &&
		     (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT);
	if (*timed_out)
		atomic_fetch_add(&r->timeouts, 1);
	return rep;
}

/* A command whose reply must be the status OK (AUTH, SELECT). */
static int redis_send_ok(struct store_redis *r, redisContext *ctx, int argc, const char **argv,
			 char *why, size_t whylen)
{
	size_t len[3];
	bool timed_out;
	redisReply *rep;
	int rc;

	for (int i = 0; i < argc; i++)
		len[i] = strlen(argv[i]);
	rep = redis_send(r, ctx, argc, argv, len, &timed_out);
	if (rep == NULL) {
		snprintf(why, whylen, "%s: %s", argv[0], ctx->errstr);
		return -1;
	}
	rc = rep->type == REDIS_REPLY_STATUS && strcmp(rep->str, "OK") == 0 ? 0 : -1;
	if (rc != 0)
		snprintf(why, whylen, "%s refused: %.*s", argv[0],
			 rep->type == REDIS_REPLY_ERROR ? (int)rep->len : 0,
			 rep->type == REDIS_REPLY_ERROR ? rep->str : "");
	freeReplyObject(rep);
	return rc;
}

/* A new connection, authenticated and on its database, or NULL. */
static redisContext *redis_dial(struct store_redis *r, char *why, size_t whylen)
{
	redisContext *ctx = redisConnectWithTimeout(r->host, r->port, r->connect_timeout);
	char db[16];

	if (ctx == NULL || ctx->err) {
		snprintf(why, whylen, "connect: %s", ctx ? ctx->errstr : "out of memory");
		goto fail;
	}
	if (redisSetTimeout(ctx, r->timeout) != REDIS_OK || redisEnableKeepAlive(ctx) != REDIS_OK) {
		snprintf(why, whylen, "socket options: %s", ctx->errstr);
		goto fail;
	}
	if (r->password != NULL) {
		const char *auth[3] = { "AUTH", r->user ? r->user : r->password, r->password };
		if (redis_send_ok(r, ctx, r->user ? 3 : 2, auth, why, whylen) != 0)
			goto fail;
	}
	snprintf(db, sizeof(db), "%d", r->db);
	if (r->db != 0 &&
	    redis_send_ok(r, ctx, 2, (const char *[]){ "SELECT", db }, why, whylen) != 0)
		goto fail;
	atomic_fetch_add(&r->reconnects, 1);
	return ctx;
fail:
	atomic_fetch_add(&r->connect_failures, 1);
	if (ctx != NULL)
		redisFree(ctx);
	return NULL;
}

/* Waits on cv (r->lock held) until the deadline; false once it passed. */
static bool redis_wait(struct store_redis *r, pthread_cond_t *cv, int64_t deadline)
{
	struct timespec ts = { .tv_sec = deadline / 1000, .tv_nsec = (deadline % 1000) * 1000000L };

	return pthread_cond_timedwait(cv, &r->lock, &ts) != ETIMEDOUT;
}

/* An idle connection, an open one first (r->lock held); NULL when all are busy. */
static struct redis_conn *redis_pick(struct store_redis *r)
{
	struct redis_conn *pick = NULL;

	for (size_t i = 0; i < r->nconns; i++) {
		struct redis_conn *c = &r->conns[i];
		if (c->busy)
			continue;
		if (c->ctx != NULL)
			return c;
		if (pick == NULL)
			pick = c;
	}
	return pick;
}

/* A connection of the pool for this thread alone, waiting until the
 * deadline when all are busy; NULL then. */
static struct redis_conn *redis_checkout(struct store_redis *r, int64_t deadline)
{
	struct redis_conn *pick;
	bool waited_out = false;

	pthread_mutex_lock(&r->lock);
	/* One more look after the deadline: a connection freed at that moment counts. */
	while ((pick = redis_pick(r)) == NULL && !waited_out)
		waited_out = !redis_wait(r, &r->freed, deadline);
	if (pick != NULL)
		pick->busy = true;
	pthread_mutex_unlock(&r->lock);
	if (pick == NULL) {
		atomic_fetch_add(&r->timeouts, 1);
		if (log_due(&r->error_logged_ms, REDIS_LOG_EVERY_MS))
			log_warn("redis", "all %zu connections busy for %u ms: raise meter.redis."
				 "pool_size", r->nconns, r->timeout_ms);
	}
	return pick;
}

static void redis_checkin(struct store_redis *r, struct redis_conn *c)
{
	pthread_mutex_lock(&r->lock);
	c->busy = false;
	pthread_cond_signal(&r->freed);	/* one connection: one waiter */
	pthread_mutex_unlock(&r->lock);
}

static void redis_drop(struct redis_conn *c)
{
	if (c->ctx != NULL)
		redisFree(c->ctx);
	c->ctx = NULL;
}

/*
 * Connects c. One dial at a time: others wait for it within their
 * deadline, so only the dialling caller can spend connect_timeout_ms.
 * Within the backoff after a failure, -1 at once: an outage costs a
 * request no wait.
 */
static int redis_connect(struct store_redis *r, struct redis_conn *c, int64_t deadline)
{
	char why[256];

	pthread_mutex_lock(&r->lock);
	for (;;) {
		if (r->backoff_ms != 0 && redis_now_ms() < r->retry_at_ms)
			goto refuse;
		if (!r->dialing)
			break;
		if (!redis_wait(r, &r->dialed, deadline))
			goto refuse;
	}
	r->dialing = true;
	pthread_mutex_unlock(&r->lock);
	c->ctx = redis_dial(r, why, sizeof(why));
	pthread_mutex_lock(&r->lock);
	r->dialing = false;
	pthread_cond_broadcast(&r->dialed);
	pthread_mutex_unlock(&r->lock);
	if (c->ctx == NULL) {
		redis_mark_down(r, why, true);
		return -1;
	}
	return 0;
refuse:
	pthread_mutex_unlock(&r->lock);
	return -1;
}

static bool redis_error_is(const redisReply *rep, const char *code)
{
	size_t n = strlen(code);

	return rep->type == REDIS_REPLY_ERROR && rep->len >= n &&
	       strncmp(rep->str, code, n) == 0 && (rep->len == n || rep->str[n] == ' ');
}

/* The command on c, sent again as EVAL (which also caches the script) when
 * Redis has lost it. NULL when the connection failed. */
static redisReply *redis_exec(struct store_redis *r, struct redis_conn *c,
			      const struct redis_cmd *cmd, bool *timed_out)
{
	/* hiredis takes const char ** but only reads the array. */
	const char **argv = (const char **)cmd->argv;
	redisReply *rep = redis_send(r, c->ctx, cmd->argc, argv, cmd->len, timed_out);
	const char *eval[10];
	size_t len[10];

	if (rep == NULL || cmd->script == NULL || !redis_error_is(rep, "NOSCRIPT"))
		return rep;
	freeReplyObject(rep);
	memcpy(eval, cmd->argv, sizeof(eval));
	memcpy(len, cmd->len, sizeof(len));
	eval[0] = "EVAL";
	len[0] = 4;
	eval[1] = cmd->script->text;
	len[1] = strlen(cmd->script->text);
	return redis_send(r, c->ctx, cmd->argc, eval, len, timed_out);
}

/*
 * An error reply. A server that cannot serve us (a replica after a
 * failover, loading, a refused password) is treated like a failed
 * connection: dropped, so the next dial finds the new primary, and backed
 * off. A WRONGTYPE is one reader's key. Anything else (OOM, ...) leaves
 * the connection but the store is not up. Always NULL.
 */
static redisReply *redis_on_error(struct store_redis *r, struct redis_conn *c,
				  const struct redis_cmd *cmd, redisReply *rep)
{
	static const char *const unusable[] = { "READONLY", "MASTERDOWN", "LOADING", "NOAUTH",
						 "WRONGPASS", "NOPERM", "BUSY" };
	bool server = false, key = redis_error_is(rep, "WRONGTYPE");
	char why[192];

	for (size_t i = 0; i < sizeof(unusable) / sizeof(unusable[0]); i++)
		server = server || redis_error_is(rep, unusable[i]);
	snprintf(why, sizeof(why), "%s: %.*s", cmd->argv[0], (int)rep->len, rep->str);
	freeReplyObject(rep);
	if (server) {
		redis_drop(c);
		redis_mark_down(r, why, true);
	} else if (key) {
		if (log_due(&r->error_logged_ms, REDIS_LOG_EVERY_MS))
			log_error("redis", "%s:%d: %s", r->host, r->port, why);
	} else {
		pthread_mutex_lock(&r->lock);
		bool was_up = atomic_exchange(&r->up, false);
		pthread_mutex_unlock(&r->lock);
		if (was_up && log_due(&r->down_logged_ms, REDIS_LOG_EVERY_MS))
			log_error("redis", "%s:%d: %s", r->host, r->port, why);
	}
	return NULL;
}

/*
 * Runs cmd on a pooled connection: at most timeout_ms waiting for one (or
 * for another caller's dial), then timeout_ms per command. Returns the
 * reply (the caller frees it), or NULL with *fail saying why. A pooled
 * connection that fails at once (Redis restarted, an idle timeout) is
 * replaced and the command sent once more; a timeout or a failure on a new
 * connection marks Redis down.
 */
static redisReply *redis_call(struct store_redis *r, const struct redis_cmd *cmd,
			      enum redis_fail *fail)
{
	int64_t deadline = redis_now_ms() + r->timeout_ms;
	struct redis_conn *c = redis_checkout(r, deadline);
	redisReply *rep = NULL;
	bool timed_out = false;

	*fail = REDIS_FAIL_BUSY;
	if (c == NULL)
		return NULL;
	*fail = REDIS_FAIL_DOWN;
	for (int attempt = 0; attempt < 2 && rep == NULL; attempt++) {
		bool fresh = c->ctx == NULL;
		if (fresh && redis_connect(r, c, deadline) != 0)
			break;
		if ((rep = redis_exec(r, c, cmd, &timed_out)) != NULL)
			break;
		char why[160];
		snprintf(why, sizeof(why), "%s: %s", cmd->argv[0],
			 timed_out ? "timed out" : c->ctx->errstr);
		redis_drop(c);
		if (timed_out || fresh) {
			redis_mark_down(r, why, false);
			break;
		}
	}
	if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
		*fail = REDIS_FAIL_REPLY;
		rep = redis_on_error(r, c, cmd, rep);
	}
	redis_checkin(r, c);
	if (rep != NULL) {
		*fail = REDIS_FAIL_NONE;
		redis_mark_up(r);
	}
	return rep;
}

/* ---- the store operations ---- */

/* PREFIX{k:hex}: the hash tag keeps a reader's keys in one cluster slot. */
static size_t redis_key(const struct store_redis *r, const struct meter_reader *rd,
			char out[REDIS_KEY_MAX])
{
	static const char hex[] = "0123456789abcdef";
	int n = snprintf(out, REDIS_KEY_MAX, "%s{%c:", r->prefix, rd->kind);
	size_t len = (size_t)n;

	for (size_t i = 0; i < sizeof(rd->id); i++) {
		out[len++] = hex[rd->id[i] >> 4];
		out[len++] = hex[rd->id[i] & 15];
	}
	out[len++] = '}';
	out[len] = '\0';
	return len;
}

static void redis_arg(struct redis_cmd *cmd, const char *s, size_t len)
{
	cmd->argv[cmd->argc] = s;
	cmd->len[cmd->argc] = len;
	cmd->argc++;
}

static void redis_arg_str(struct redis_cmd *cmd, const char *s)
{
	redis_arg(cmd, s, strlen(s));
}

/* The {verdict, count} reply of the count script, checked strictly. */
static enum store_result redis_count_result(const redisReply *rep, unsigned *used)
{
	static const enum store_result verdicts[] = { STORE_ALREADY, STORE_COUNTED, STORE_LIMIT };

	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_INTEGER ||
	    rep->element[1]->type != REDIS_REPLY_INTEGER || rep->element[0]->integer < 0 ||
	    rep->element[0]->integer > 2 || rep->element[1]->integer < 0 ||
	    rep->element[1]->integer > UINT32_MAX)
		return STORE_ERROR;
	*used = (unsigned)rep->element[1]->integer;
	return verdicts[rep->element[0]->integer];
}

static enum store_result redis_check_and_count(struct store *s, const struct meter_reader *rd,
					       const uint8_t article[16], int64_t now,
					       int64_t window_start, int64_t keep, unsigned limit,
					       bool dry_run, unsigned *used)
{
	struct store_redis *r = redis_of(s);
	struct redis_cmd cmd = { .script = &r->scripts[REDIS_SCRIPT_COUNT] };
	char key[REDIS_KEY_MAX], a_now[24], a_start[24], a_limit[16], a_keep[24];
	enum store_result res = STORE_ERROR;
	size_t klen = redis_key(r, rd, key);
	enum redis_fail fail;
	redisReply *rep;

	/* A key must outlive every entry's window, and EXPIRE 0 would delete it.
	 * (A window start before 1970 only comes from a broken clock.) */
	int64_t span = window_start >= now ? 0 : window_start < 0 ? now : now - window_start;
	if (keep < span)
		keep = span;
	snprintf(a_now, sizeof(a_now), "%" PRId64, now);
	snprintf(a_start, sizeof(a_start), "%" PRId64, window_start);
	snprintf(a_limit, sizeof(a_limit), "%u", limit);
	snprintf(a_keep, sizeof(a_keep), "%" PRId64, keep > 0 ? keep : 1);
	redis_arg_str(&cmd, "EVALSHA");
	redis_arg(&cmd, cmd.script->sha, 40);
	redis_arg_str(&cmd, "1");
	redis_arg(&cmd, key, klen);
	redis_arg(&cmd, (const char *)article, 16);
	redis_arg_str(&cmd, a_now);
	redis_arg_str(&cmd, a_start);
	redis_arg_str(&cmd, a_limit);
	redis_arg_str(&cmd, dry_run ? "1" : "0");
	redis_arg_str(&cmd, a_keep);
	*used = 0;
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return STORE_ERROR;
	res = redis_count_result(rep, used);
	if (res == STORE_ERROR && log_due(&r->error_logged_ms, REDIS_LOG_EVERY_MS))
		log_error("redis", "count script: unexpected reply (type %d)", rep->type);
	freeReplyObject(rep);
	return res;
}

/* A score Redis sent as text: an integer time for our entries. */
static int redis_parse_score(const redisReply *e, int64_t *out)
{
	char buf[40], *end;
	double d;

	if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len >= sizeof(buf))
		return -1;
	memcpy(buf, e->str, e->len);
	buf[e->len] = '\0';
	d = strtod(buf, &end);
	if (*end != '\0' || !(d >= -9.0e15 && d <= 9.0e15))
		return -1;
	*out = (int64_t)d;
	return 0;
}

static int redis_show(struct store *s, const struct meter_reader *rd, int64_t window_start,
		      struct store_entry *out, size_t max)
{
	struct store_redis *r = redis_of(s);
	struct redis_cmd cmd = { 0 };
	char key[REDIS_KEY_MAX], a_start[24], a_max[24];
	size_t klen = redis_key(r, rd, key);
	enum redis_fail fail;
	redisReply *rep;
	int n = 0;

	if (max == 0)
		return 0;
	if (max > REDIS_SHOW_MAX)
		max = REDIS_SHOW_MAX;
	snprintf(a_start, sizeof(a_start), "%" PRId64, window_start);
	snprintf(a_max, sizeof(a_max), "%zu", max);
	redis_arg_str(&cmd, "ZRANGEBYSCORE");
	redis_arg(&cmd, key, klen);
	redis_arg_str(&cmd, a_start);
	redis_arg_str(&cmd, "+inf");
	redis_arg_str(&cmd, "WITHSCORES");
	redis_arg_str(&cmd, "LIMIT");
	redis_arg_str(&cmd, "0");
	redis_arg_str(&cmd, a_max);
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements % 2 != 0) {
		freeReplyObject(rep);
		return -1;
	}
	for (size_t i = 0; i + 1 < rep->elements && (size_t)n < max; i += 2) {
		const redisReply *m = rep->element[i];
		/* Something else under our prefix is skipped, not trusted. */
		if (m->type != REDIS_REPLY_STRING || m->len != 16 ||
		    redis_parse_score(rep->element[i + 1], &out[n].time) != 0)
			continue;
		memcpy(out[n].article, m->str, 16);
		n++;
	}
	freeReplyObject(rep);
	return n;
}

static int redis_reset(struct store *s, const struct meter_reader *rd)
{
	struct store_redis *r = redis_of(s);
	struct redis_cmd cmd = { 0 };
	char key[REDIS_KEY_MAX];
	size_t klen = redis_key(r, rd, key);
	enum redis_fail fail;
	redisReply *rep;
	int rc;

	redis_arg_str(&cmd, "DEL");
	redis_arg(&cmd, key, klen);
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return -1;
	rc = rep->type == REDIS_REPLY_INTEGER ? 0 : -1;
	freeReplyObject(rep);
	return rc;
}

static void redis_sweep_clear(struct redis_sweep *sw)
{
	for (size_t i = 0; i < sw->nkeys; i++)
		free(sw->keys[i]);
	sw->nkeys = sw->next = 0;
}

/* One SCAN step from the sweep's cursor, keeping up to REDIS_SWEEP_KEYS
 * of our keys. 0 / -1. */
static int redis_sweep_scan(struct store_redis *r, struct redis_sweep *sw)
{
	struct redis_cmd cmd = { 0 };
	char match[STORE_REDIS_PREFIX_MAX + 4];
	enum redis_fail fail;
	redisReply *rep;
	int rc = -1;

	redis_sweep_clear(sw);
	if (!sw->started)
		snprintf(sw->cursor, sizeof(sw->cursor), "0");
	snprintf(match, sizeof(match), "%s{*", r->prefix);
	redis_arg_str(&cmd, "SCAN");
	redis_arg_str(&cmd, sw->cursor);
	redis_arg_str(&cmd, "MATCH");
	redis_arg_str(&cmd, match);
	redis_arg_str(&cmd, "COUNT");
	redis_arg_str(&cmd, REDIS_SCAN_COUNT);
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return -1;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
	    rep->element[0]->type != REDIS_REPLY_STRING ||
	    rep->element[0]->len >= sizeof(sw->cursor) ||
	    rep->element[1]->type != REDIS_REPLY_ARRAY)
		goto out;
	memcpy(sw->cursor, rep->element[0]->str, rep->element[0]->len);
	sw->cursor[rep->element[0]->len] = '\0';
	sw->started = true;
	for (size_t i = 0; i < rep->element[1]->elements && sw->nkeys < REDIS_SWEEP_KEYS; i++) {
		const redisReply *k = rep->element[1]->element[i];
		if (k->type != REDIS_REPLY_STRING || k->len >= REDIS_KEY_MAX)
			continue;
		if ((sw->keys[sw->nkeys] = strndup(k->str, k->len)) == NULL)
			goto out;
		sw->nkeys++;
	}
	rc = 0;
out:
	freeReplyObject(rep);
	return rc;
}

/* Deletes up to max entries of one key older than before. */
static long redis_purge_key(struct store_redis *r, const char *key, int64_t before, size_t max)
{
	struct redis_cmd cmd = { .script = &r->scripts[REDIS_SCRIPT_PURGE] };
	char a_before[24], a_max[24];
	enum redis_fail fail;
	redisReply *rep;
	long n = -1;

	snprintf(a_before, sizeof(a_before), "%" PRId64, before);
	snprintf(a_max, sizeof(a_max), "%zu", max);
	redis_arg_str(&cmd, "EVALSHA");
	redis_arg(&cmd, cmd.script->sha, 40);
	redis_arg_str(&cmd, "1");
	redis_arg_str(&cmd, key);
	redis_arg_str(&cmd, a_before);
	redis_arg_str(&cmd, a_max);
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return -1;
	if (rep->type == REDIS_REPLY_INTEGER && rep->integer >= 0 && (size_t)rep->integer <= max)
		n = (long)rep->integer;
	freeReplyObject(rep);
	return n;
}

/*
 * Keys expire by themselves (TTL) and check_and_count trims a returning
 * reader, so the gateway does not purge Redis (expires_itself); purge is
 * here for the CLI and the conformance suite: a SCAN sweep that resumes
 * where the last call stopped, one call ending at the end of a sweep.
 */
static long redis_purge(struct store *s, int64_t before, size_t max_entries)
{
	struct store_redis *r = redis_of(s);
	struct redis_sweep *sw = &r->sweep;
	size_t scans = 0, scans_max = store_purge_visit(max_entries) / 100 + 1;
	long deleted = 0;

	if (max_entries == 0)
		return 0;
	pthread_mutex_lock(&r->purge_lock);
	while ((size_t)deleted < max_entries) {
		if (sw->next < sw->nkeys) {
			size_t want = max_entries - (size_t)deleted;
			want = want > REDIS_PURGE_BATCH ? REDIS_PURGE_BATCH : want;
			long n = redis_purge_key(r, sw->keys[sw->next], before, want);
			if (n < 0) {
				deleted = -1;
				break;
			}
			deleted += n;
			if ((size_t)n < want)	/* this key is clean */
				sw->next++;
			continue;
		}
		if (sw->started && strcmp(sw->cursor, "0") == 0) {
			sw->started = false;	/* a whole sweep: the next call starts over */
			break;
		}
		if (scans++ == scans_max)
			break;
		if (redis_sweep_scan(r, sw) != 0) {
			deleted = deleted > 0 ? deleted : -1;
			break;
		}
	}
	pthread_mutex_unlock(&r->purge_lock);
	return deleted;
}

/* Reachable and a primary (ROLE), so writable: a replica left behind by a
 * failover is not ok. A pool too busy to spare a connection within the
 * timeout says nothing about Redis: the last call's verdict stands. */
static int redis_ping(struct store *s)
{
	struct store_redis *r = redis_of(s);
	struct redis_cmd cmd = { 0 };
	enum redis_fail fail;
	redisReply *rep;
	int rc;

	redis_arg_str(&cmd, "ROLE");
	if ((rep = redis_call(r, &cmd, &fail)) == NULL)
		return fail == REDIS_FAIL_BUSY && atomic_load(&r->up) ? 0 : -1;
	rc = rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 &&
	     rep->element[0]->type == REDIS_REPLY_STRING &&
	     strcmp(rep->element[0]->str, "master") == 0 ? 0 : -1;
	freeReplyObject(rep);
	if (rc != 0)
		redis_mark_down(r, "ROLE: not a primary", true);
	return rc;
}

static void redis_stats(struct store *s, struct store_stats *out)
{
	struct store_redis *r = redis_of(s);

	out->up = atomic_load(&r->up);
	out->round_trips = atomic_load(&r->round_trips);
	out->timeouts = atomic_load(&r->timeouts);
	out->reconnects = atomic_load(&r->reconnects);
	out->connect_failures = atomic_load(&r->connect_failures);
}

static void redis_free(struct store_redis *r)
{
	for (size_t i = 0; r->conns != NULL && i < r->nconns; i++)
		redis_drop(&r->conns[i]);
	redis_sweep_clear(&r->sweep);
	free(r->conns);
	free(r->host);
	free(r->user);
	if (r->password != NULL)
		OPENSSL_cleanse(r->password, strlen(r->password));
	free(r->password);
	free(r->prefix);
	free(r);
}

static void redis_close(struct store *s)
{
	struct store_redis *r = redis_of(s);

	pthread_mutex_destroy(&r->purge_lock);
	pthread_cond_destroy(&r->dialed);
	pthread_cond_destroy(&r->freed);
	pthread_mutex_destroy(&r->lock);
	r->magic = 0;
	redis_free(r);
}

static const struct store_ops store_redis_ops = {
	redis_check_and_count, redis_show, redis_reset, redis_purge, redis_ping, redis_close,
	redis_stats, true,
};

/* ---- opening ---- */

static int redis_script_init(struct redis_script *s, const char *text)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
		return -1;
	for (unsigned i = 0; i < 20; i++) {
		s->sha[2 * i] = hex[md[i] >> 4];
		s->sha[2 * i + 1] = hex[md[i] & 15];
	}
	s->sha[40] = '\0';
	s->text = text;
	return 0;
}

/* Prefix characters that are neither glob nor hash-tag syntax, so SCAN's
 * MATCH needs no escaping and the tag stays the reader's. */
static bool redis_prefix_ok(const char *p)
{
	if (strlen(p) > STORE_REDIS_PREFIX_MAX)
		return false;
	for (; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(":_.-/", *p) != NULL))
			return false;
	return true;
}

int store_redis_check_options(const struct store_redis_options *o, char *err, size_t errlen)
{
	const char *prefix = o->key_prefix ? o->key_prefix : STORE_REDIS_PREFIX_DEFAULT;

	if (!redis_prefix_ok(prefix)) {
		snprintf(err, errlen, "redis: key_prefix: up to %d of A-Z a-z 0-9 : _ . - /",
			 STORE_REDIS_PREFIX_MAX);
		return -1;
	}
	if (o->pool_size < 1 || o->pool_size > STORE_REDIS_POOL_MAX || o->timeout_ms < 1 ||
	    o->connect_timeout_ms < 1) {
		snprintf(err, errlen, "redis: pool_size 1..%d and timeouts of 1 ms or more",
			 STORE_REDIS_POOL_MAX);
		return -1;
	}
	if (o->password != NULL && strlen(o->password) > REDIS_SECRET_MAX) {
		snprintf(err, errlen, "redis: password longer than %d bytes", REDIS_SECRET_MAX);
		return -1;
	}
	return 0;
}

/* Moves the URL's parts and o's options into r. */
static int redis_setup(struct store_redis *r, struct redis_url *u,
		       const struct store_redis_options *o)
{
	const char *pw = u->password ? u->password : o->password && *o->password ? o->password
										: NULL;

	r->host = u->host;
	r->user = u->user;
	r->port = u->port;
	r->db = u->db;
	u->host = u->user = NULL;
	if (pw != NULL && (r->password = strdup(pw)) == NULL)
		return -1;
	if ((r->prefix = strdup(o->key_prefix ? o->key_prefix : STORE_REDIS_PREFIX_DEFAULT)) ==
	    NULL)
		return -1;
	r->timeout_ms = o->timeout_ms;
	r->timeout = redis_tv(o->timeout_ms);
	r->connect_timeout = redis_tv(o->connect_timeout_ms);
	r->nconns = o->pool_size;
	if ((r->conns = calloc(r->nconns, sizeof(*r->conns))) == NULL)
		return -1;
	return redis_script_init(&r->scripts[REDIS_SCRIPT_COUNT], redis_script_count) == 0 &&
	       redis_script_init(&r->scripts[REDIS_SCRIPT_PURGE], redis_script_purge) == 0
		       ? 0 : -1;
}

static int redis_sync_init(struct store_redis *r)
{
	pthread_condattr_t ca;
	int made = 0;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&r->freed, &ca) != 0)
		goto fail;
	made++;
	if (pthread_cond_init(&r->dialed, &ca) != 0)
		goto fail;
	made++;
	if (pthread_mutex_init(&r->lock, NULL) != 0)
		goto fail;
	made++;
	if (pthread_mutex_init(&r->purge_lock, NULL) != 0)
		goto fail;
	pthread_condattr_destroy(&ca);
	return 0;
fail:
	if (made >= 3)
		pthread_mutex_destroy(&r->lock);
	if (made >= 2)
		pthread_cond_destroy(&r->dialed);
	if (made >= 1)
		pthread_cond_destroy(&r->freed);
	pthread_condattr_destroy(&ca);
	return -1;
}

int store_redis_open(const char *url, const struct store_redis_options *o, struct store **out,
		     char *err, size_t errlen)
{
	struct store_redis *r = NULL;
	struct redis_url u;

	if (store_redis_check_options(o, err, errlen) != 0 || redis_url_parse(url, &u, err, errlen) != 0)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL || redis_setup(r, &u, o) != 0) {
		snprintf(err, errlen, "redis: out of memory");
		goto fail;
	}
	if (redis_sync_init(r) != 0) {
		snprintf(err, errlen, "redis: cannot create locks");
		goto fail;
	}
	redis_url_free(&u);
	r->base.ops = &store_redis_ops;
	r->magic = REDIS_MAGIC;
	atomic_init(&r->up, true);
	atomic_init(&r->error_logged_ms, INT64_MIN / 2);
	atomic_init(&r->down_logged_ms, INT64_MIN / 2);
	atomic_init(&r->up_logged_ms, INT64_MIN / 2);
	*out = &r->base;
	return 0;
fail:
	redis_url_free(&u);
	if (r != NULL)
		redis_free(r);
	return -1;
}
