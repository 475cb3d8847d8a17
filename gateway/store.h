/* store: where meters live. A small table of functions, so the embedded
 * (LMDB), shared (Redis) and memory stores pass one conformance suite. */
#ifndef PAYWALLD_STORE_H
#define PAYWALLD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whose meter: a visitor (signed cookie id) or a registered user (hashed sub). */
#define STORE_READER_VISITOR 'v'
#define STORE_READER_USER 'u'

struct meter_reader {
	uint8_t kind;		/* STORE_READER_VISITOR or STORE_READER_USER */
	uint8_t id[16];
};

/* One counted article of a reader: the caller's 16-byte hash of the article
 * id, and the Unix time of the read that counted it. */
struct store_entry {
	uint8_t article[16];
	int64_t time;
};

enum store_result {
	STORE_ALREADY,		/* article counted within the window: free re-read */
	STORE_COUNTED,		/* counted now (or, with dry_run, would be counted) */
	STORE_LIMIT,		/* the reader has `limit` articles in the window and this one is new */
	STORE_ERROR,		/* the store failed; the caller applies on_store_error */
};

/* What a store reports for /metrics; stores without a network (memory,
 * LMDB) leave everything zero but up. */
struct store_stats {
	bool up;			/* the last operation reached the store */
	unsigned long long round_trips;	/* commands sent to a server */
	unsigned long long timeouts;	/* commands or pool waits past the timeout */
	unsigned long long reconnects;	/* connections opened */
	unsigned long long connect_failures;
};

struct store;

/*
 * Every function is thread-safe: one store is shared by all of a process's
 * threads. A store must not be used in a child after fork(): the child
 * opens its own.
 */
struct store_ops {
	/*
	 * The one atomic check-and-count. Entries of this reader older than
	 * window_start are deleted; then ALREADY if the article has an entry
	 * >= window_start; else LIMIT if the reader has >= limit live entries;
	 * else (unless dry_run) the entry is written with time now, and COUNTED.
	 * keep is how long, in seconds from now, an entry written now can
	 * matter to any window (the period's longest span): a store that
	 * expires data by itself (Redis) keeps the reader's entries at least
	 * that long; the others ignore it and rely on purge.
	 * *used receives the live count after the operation (0 on STORE_ERROR);
	 * a dry run never changes it. All of it is one transaction: concurrent
	 * calls (threads, and for LMDB processes) can never let a reader exceed
	 * limit. limit may be 0 (LIMIT for every new article).
	 */
	enum store_result (*check_and_count)(struct store *s, const struct meter_reader *r,
					     const uint8_t article[16], int64_t now,
					     int64_t window_start, int64_t keep, unsigned limit,
					     bool dry_run, unsigned *used);
	/* Copies up to max of the reader's live entries (time >= window_start),
	 * in no particular order, into out. Returns how many, or -1. Deletes
	 * nothing. */
	int (*show)(struct store *s, const struct meter_reader *r, int64_t window_start,
		    struct store_entry *out, size_t max);
	/* Deletes every entry of the reader. 0 / -1. */
	int (*reset)(struct store *s, const struct meter_reader *r);
	/*
	 * Deletes up to max_entries entries older than before, whatever the
	 * reader; returns how many, or -1. Bounded so a purge never holds the
	 * write lock long: it also visits at most store_purge_visit(max_entries)
	 * entries, resuming where the previous call stopped, so repeated calls
	 * sweep the whole store. Call it about once a second from one
	 * maintenance thread: for LMDB it is also the durability point (below).
	 */
	long (*purge)(struct store *s, int64_t before, size_t max_entries);
	/* Reachable and writable (for /readyz). 0 / -1. */
	int (*ping)(struct store *s);
	/* Flushes and frees everything. NULL-safe through store_close. */
	void (*close)(struct store *s);
	/* Fills out; NULL for stores with nothing to report. */
	void (*stats)(struct store *s, struct store_stats *out);
	/* Entries expire by themselves (Redis TTLs): the periodic purge is not
	 * needed, and the gateway does not run it against a shared server. */
	bool expires_itself;
};

/* How many entries one purge call may visit for max deletions. */
static inline size_t store_purge_visit(size_t max)
{
	return max < 64 ? 1024 : max > SIZE_MAX / 16 ? SIZE_MAX : 16 * max;
}

/* The public part; each implementation's data follows it privately. */
struct store {
	const struct store_ops *ops;
};

#define STORE_MEM_ENTRIES_DEFAULT 1000000
#define STORE_LMDB_MAP_MB_DEFAULT 256

/*
 * A store in this process's memory: a hash table of readers under one
 * mutex, holding at most max_entries entries in all (1 or more). When full,
 * what would be COUNTED is STORE_ERROR instead (logged); expired entries
 * free room as their readers come back or purge runs. Counts die with the
 * process: for tests and single-process demos. 0, or -1 when out of memory.
 */
int store_mem_open(size_t max_entries, struct store **out);

/*
 * The embedded store: an LMDB environment in dir (data.mdb and lock.mdb),
 * created with mode 0700 (and missing parents) when absent, with a map of
 * map_mb MiB (0 means STORE_LMDB_MAP_MB_DEFAULT); a MiB holds about 10,000
 * entries (measured with random reader ids), so the default 256 holds about
 * 2.5 million. Open a dir ONCE per process and keep that store across
 * config reloads: LMDB forbids opening one environment twice in a process
 * (closing the second copy drops the first's file locks). Several gateway
 * processes on one host may open the same dir: LMDB's lock file serializes
 * their writers, so the limit holds across processes too. A full map makes
 * writes STORE_ERROR (logged), never a crash; purge still frees room.
 *
 * Durability: the environment runs with MDB_NOSYNC, so a count costs no
 * fsync; purge and close flush with mdb_env_sync. A committed count is in
 * the shared page cache at once, so it survives a restart or a kill -9 of
 * the process. An OS crash or power loss can lose the counts made since the
 * last purge (so purge about once a second) and, as LMDB warns for
 * MDB_NOSYNC, may leave the file inconsistent: the meter is disposable, so
 * after such a crash an operator who sees open errors removes dir and
 * readers start fresh meters.
 * The cost of syncing every count (MDB_NOMETASYNC) is an fdatasync per new
 * article read, serialized under LMDB's single writer.
 *
 * 0, or -1 with a message in err.
 */
int store_lmdb_open(const char *dir, size_t map_mb, struct store **out, char *err,
		    size_t errlen);

/* The options of the Redis store (`meter.redis`). Strings are borrowed. */
struct store_redis_options {
	const char *password;		/* NULL or "": no AUTH (the URL's wins) */
	const char *key_prefix;		/* NULL: STORE_REDIS_PREFIX_DEFAULT */
	unsigned pool_size;		/* connections, 1..STORE_REDIS_POOL_MAX */
	unsigned timeout_ms;		/* per command and per pool wait */
	unsigned connect_timeout_ms;
};

#define STORE_REDIS_PREFIX_DEFAULT "paywalld:"
#define STORE_REDIS_PREFIX_MAX 64
#define STORE_REDIS_POOL_DEFAULT 16
#define STORE_REDIS_POOL_MAX 1024
#define STORE_REDIS_TIMEOUT_MS_DEFAULT 50
#define STORE_REDIS_CONNECT_TIMEOUT_MS_DEFAULT 200

/*
 * The shared store: meters in a Redis server at url
 * (redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]), so gateways on many hosts
 * count a reader's articles together. Each reader is one sorted set
 * (member: article hash, score: read time) named
 * PREFIX "{" kind ":" hex id "}", so a reader's data stays in one Redis
 * Cluster slot; it expires `keep` seconds after its last count.
 * check_and_count is one Lua script (EVALSHA; loaded again on NOSCRIPT):
 * one round trip, atomic in Redis, so the limit holds across instances.
 *
 * Connections come from a pool of pool_size. A call waits at most
 * timeout_ms for a pooled connection (or for another caller's dial: one
 * caller at a time dials, bounded by connect_timeout_ms), then each
 * command has timeout_ms (a socket timeout: it bounds each read and
 * write). A failed or timed-out command drops its connection;
 * a failed dial, or a server that cannot serve (READONLY after a failover,
 * LOADING, NOAUTH), backs new connections off 100 ms doubling to 2 s,
 * during which calls fail at once with STORE_ERROR instead of waiting: an
 * outage costs requests no time, and counting resumes by itself when
 * Redis answers again. Opening does not connect (Redis may start after
 * the gateway). hiredis writes with write(2): the process must ignore
 * SIGPIPE. 0, or -1 with a message in err.
 */
int store_redis_open(const char *url, const struct store_redis_options *o, struct store **out,
		     char *err, size_t errlen);
/* Check a redis:// URL and options as store_redis_open would. 0, or -1
 * with a message in err. */
int store_redis_check_url(const char *url, char *err, size_t errlen);
int store_redis_check_options(const struct store_redis_options *o, char *err, size_t errlen);

/* Every option of every store, for store_open_with. */
struct store_options {
	size_t mem_entries;		/* memory: 0 means the default */
	size_t lmdb_map_mb;		/* lmdb: 0 means the default */
	struct store_redis_options redis;
};

/* Fills o with every default. */
void store_options_defaults(struct store_options *o);

/*
 * Opens by spec: "memory", "lmdb:DIR" or "redis://...", with o's options
 * (NULL: the defaults). The one entry point for the gateway and the CLI.
 * 0, or -1 with a message in err.
 */
int store_open_with(const char *spec, const struct store_options *o, struct store **out,
		    char *err, size_t errlen);
/* store_open_with(spec, NULL, ...). */
int store_open(const char *spec, struct store **out, char *err, size_t errlen);
/* True when spec has a form store_open accepts (the directory and the
 * server are not checked); err, when not NULL, says why not. */
bool store_spec_check(const char *spec, char *err, size_t errlen);
bool store_spec_is_valid(const char *spec);
/* spec fit for a log: a redis:// URL's user and password become ***.
 * Returns spec itself when there is nothing to hide, else out. */
const char *store_spec_redact(const char *spec, char *out, size_t len);
/* Fills out from s->ops->stats, or {up = true} for stores without one. */
void store_get_stats(struct store *s, struct store_stats *out);
/* s->ops->close(s), NULL-safe. */
void store_close(struct store *s);

/* "already", "counted", "limit", "error": for logs and the CLI. */
const char *store_result_name(enum store_result r);

#endif
