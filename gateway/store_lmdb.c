/* store_lmdb: the embedded meter store, one LMDB environment shared by the
 * gateway's threads and by the gateway processes of one host. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

/*
 * One database, keyed reader (kind, id: 17 bytes) || article (16 bytes), so
 * a reader's entries are adjacent and one MDB_SET_RANGE on the 17-byte
 * prefix reaches them all. The value is the counting read's Unix time as 8
 * little-endian bytes.
 */
#define LMDB_MAGIC 0x4c4d4442u	/* "LMDB" */
#define LMDB_PREFIX_LEN 17
#define LMDB_KEY_LEN (LMDB_PREFIX_LEN + 16)
#define LMDB_VAL_LEN 8
#define LMDB_MAX_READERS 1024	/* read txns (show) at once, all processes */
#define LMDB_LOG_EVERY_S 10	/* a full map is logged at most this often */

/* A position in the key space; unset means the first key. */
struct lmdb_sweep {
	uint8_t key[LMDB_KEY_LEN];
	bool set;
};

struct store_lmdb {
	struct store base;
	unsigned magic;
	MDB_env *env;
	MDB_dbi dbi;
	char *dir;
	size_t map_mb;
	pthread_mutex_t purge_lock;	/* one purge at a time; guards sweep */
	struct lmdb_sweep sweep;	/* where the next purge resumes */
	atomic_llong full_logged;
};

static struct store_lmdb *lmdb_of(struct store *s)
{
	struct store_lmdb *l = (struct store_lmdb *)s;

	assert(l != NULL && l->magic == LMDB_MAGIC);
	return l;
}

static void lmdb_put_le64(uint8_t out[8], int64_t v)
{
	uint64_t u = (uint64_t)v;

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(u >> (8 * i));
}

static int64_t lmdb_get_le64(const uint8_t in[8])
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u |= (uint64_t)in[i] << (8 * i);
	return (int64_t)u;
}

static void lmdb_prefix(const struct meter_reader *r, uint8_t out[LMDB_PREFIX_LEN])
{
	out[0] = r->kind;
	memcpy(out + 1, r->id, sizeof(r->id));
}

/* The time stored in an entry, or INT64_MIN for a value of the wrong size
 * (never written by this code): it then reads as expired and is deleted. */
static int64_t lmdb_entry_time(const MDB_val *v)
{
	return v->mv_size == LMDB_VAL_LEN ? lmdb_get_le64(v->mv_data) : INT64_MIN;
}

static bool lmdb_in_prefix(const MDB_val *k, const uint8_t prefix[LMDB_PREFIX_LEN])
{
	return k->mv_size == LMDB_KEY_LEN && memcmp(k->mv_data, prefix, LMDB_PREFIX_LEN) == 0;
}

/* Logs an LMDB failure; a full map, which repeats on every new read until
 * purge frees room, at most every LMDB_LOG_EVERY_S seconds. */
static void lmdb_log(struct store_lmdb *l, const char *what, int rc)
{
	long long now = (long long)time(NULL), last;

	if (rc != MDB_MAP_FULL) {
		log_error("store", "lmdb %s: %s: %s", l->dir, what, mdb_strerror(rc));
		return;
	}
	last = atomic_load(&l->full_logged);
	if (now - last >= LMDB_LOG_EVERY_S &&
	    atomic_compare_exchange_strong(&l->full_logged, &last, now))
		log_error("store", "lmdb %s: %s: map full (%zu MB): raise meter.lmdb_map_mb",
			  l->dir, what, l->map_mb);
}

/*
 * Walks the reader's entries in txn: deletes those older than window_start
 * (all of them when article is NULL), counts the others into *live and
 * tells whether article is among them. Returns 0 or an LMDB error.
 */
static int lmdb_scan_reader(struct store_lmdb *l, MDB_txn *txn, const struct meter_reader *r,
			    const uint8_t *article, int64_t window_start, unsigned *live,
			    bool *found)
{
	uint8_t prefix[LMDB_PREFIX_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	*live = 0;
	*found = false;
	lmdb_prefix(r, prefix);
	if ((rc = mdb_cursor_open(txn, l->dbi, &cur)) != 0)
		return rc;
	k.mv_size = sizeof(prefix);
	k.mv_data = prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && lmdb_in_prefix(&k, prefix)) {
		if (article == NULL || lmdb_entry_time(&v) < window_start) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				break;
		} else {
			(*live)++;
			if (memcmp((uint8_t *)k.mv_data + LMDB_PREFIX_LEN, article, 16) == 0)
				*found = true;
		}
		/* After a delete the cursor already sits on the next entry;
		 * MDB_NEXT knows and returns that one. */
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int lmdb_put_entry(struct store_lmdb *l, MDB_txn *txn, const struct meter_reader *r,
			  const uint8_t article[16], int64_t now)
{
	uint8_t key[LMDB_KEY_LEN], val[LMDB_VAL_LEN];
	MDB_val k = { sizeof(key), key }, v = { sizeof(val), val };

	lmdb_prefix(r, key);
	memcpy(key + LMDB_PREFIX_LEN, article, 16);
	lmdb_put_le64(val, now);
	return mdb_put(txn, l->dbi, &k, &v, 0);
}

/* One write transaction: LMDB's single writer lock (shared by processes
 * through lock.mdb) is what makes the check and the count atomic. */
static enum store_result lmdb_check_and_count(struct store *s, const struct meter_reader *r,
					      const uint8_t article[16], int64_t now,
					      int64_t window_start, int64_t keep, unsigned limit,
					      bool dry_run, unsigned *used)
{
	struct store_lmdb *l = lmdb_of(s);
	enum store_result res = STORE_ERROR, verdict;
	const char *what = "begin";
	MDB_txn *txn = NULL;
	unsigned live = 0;
	bool found;
	int rc;

	(void)keep;	/* purge deletes what no window needs */
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		goto out;
	what = "scan";
	if ((rc = lmdb_scan_reader(l, txn, r, article, window_start, &live, &found)) != 0)
		goto out;
	verdict = found ? STORE_ALREADY : live >= limit ? STORE_LIMIT : STORE_COUNTED;
	if (verdict == STORE_COUNTED && !dry_run) {
		what = "put";
		if ((rc = lmdb_put_entry(l, txn, r, article, now)) != 0)
			goto out;
		live++;
	}
	/* Commit even without a new entry: expired ones may have been deleted. */
	what = "commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc == 0)
		res = verdict;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0)
		lmdb_log(l, what, rc);
	*used = res == STORE_ERROR ? 0 : live;
	return res;
}

static int lmdb_show(struct store *s, const struct meter_reader *r, int64_t window_start,
		     struct store_entry *out, size_t max)
{
	struct store_lmdb *l = lmdb_of(s);
	uint8_t prefix[LMDB_PREFIX_LEN];
	MDB_cursor *cur = NULL;
	MDB_txn *txn = NULL;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	lmdb_prefix(r, prefix);
	if ((rc = mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_cursor_open(txn, l->dbi, &cur)) != 0)
		goto out;
	k.mv_size = sizeof(prefix);
	k.mv_data = prefix;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	for (; rc == 0 && n < max && lmdb_in_prefix(&k, prefix);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		int64_t t = lmdb_entry_time(&v);
		if (t < window_start)
			continue;
		memcpy(out[n].article, (uint8_t *)k.mv_data + LMDB_PREFIX_LEN, 16);
		out[n].time = t;
		n++;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0) {
		lmdb_log(l, "show", rc);
		return -1;
	}
	return (int)(n > INT_MAX ? INT_MAX : n);
}

static int lmdb_reset(struct store *s, const struct meter_reader *r)
{
	struct store_lmdb *l = lmdb_of(s);
	MDB_txn *txn = NULL;
	unsigned live;
	bool found;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		goto out;
	if ((rc = lmdb_scan_reader(l, txn, r, NULL, 0, &live, &found)) != 0)
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0)
		lmdb_log(l, "reset", rc);
	return rc == 0 ? 0 : -1;
}

static int lmdb_key_cmp(const MDB_val *k, const uint8_t key[LMDB_KEY_LEN])
{
	size_t n = k->mv_size < LMDB_KEY_LEN ? k->mv_size : LMDB_KEY_LEN;
	int c = memcmp(k->mv_data, key, n);

	return c != 0 ? c : (k->mv_size > LMDB_KEY_LEN) - (k->mv_size < LMDB_KEY_LEN);
}

/*
 * One purge transaction's sweep: from where the last purge stopped (*pos)
 * to the end, then from the beginning back to there. Stops at max
 * deletions or at the visit budget and writes the next key to visit into
 * *next (unset once a whole sweep is done). Returns 0 or an LMDB error.
 */
static int lmdb_purge_scan(MDB_cursor *cur, const struct lmdb_sweep *pos, int64_t before,
			   size_t max, size_t *deleted, struct lmdb_sweep *next)
{
	size_t visited = 0, budget = store_purge_visit(max);
	bool wrapped = false;
	uint8_t start[LMDB_KEY_LEN];
	MDB_val k = { sizeof(start), start }, v;
	int rc;

	memcpy(start, pos->key, sizeof(start));
	memset(next, 0, sizeof(*next));
	rc = mdb_cursor_get(cur, &k, &v, pos->set ? MDB_SET_RANGE : MDB_FIRST);
	for (;;) {
		if (rc == MDB_NOTFOUND && pos->set && !wrapped) {
			wrapped = true;
			rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
			continue;
		}
		if (rc == MDB_NOTFOUND || (rc == 0 && wrapped && lmdb_key_cmp(&k, start) >= 0))
			return 0;
		if (rc != 0)
			return rc;
		if (*deleted >= max || visited >= budget) {
			memcpy(next->key, k.mv_data,
			       k.mv_size < LMDB_KEY_LEN ? k.mv_size : LMDB_KEY_LEN);
			next->set = true;
			return 0;
		}
		visited++;
		if (lmdb_entry_time(&v) < before) {
			if ((rc = mdb_cursor_del(cur, 0)) != 0)
				return rc;
			(*deleted)++;
		}
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
}

/* One purge transaction of at most max deletions. Caller holds purge_lock.
 * 0 or an LMDB error; the sweep position moves only on success. */
static int lmdb_purge_txn(struct store_lmdb *l, int64_t before, size_t max, size_t *deleted)
{
	struct lmdb_sweep next;
	MDB_cursor *cur;
	MDB_txn *txn;
	int rc;

	*deleted = 0;
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, l->dbi, &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	rc = lmdb_purge_scan(cur, &l->sweep, before, max, deleted, &next);
	mdb_cursor_close(cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	if ((rc = mdb_txn_commit(txn)) == 0)
		l->sweep = next;
	return rc;
}

/*
 * Deleting copies pages too, so in a full map a large purge fails with
 * MDB_MAP_FULL: it is retried with half as many deletions, down to one, so
 * purge can always free the room a full map needs. Also the durability
 * point: with MDB_NOSYNC, this sync puts the counts since the last purge on
 * disk (see store.h).
 */
static long lmdb_purge(struct store *s, int64_t before, size_t max_entries)
{
	struct store_lmdb *l = lmdb_of(s);
	const char *what = "purge";
	size_t deleted = 0, batch = max_entries;
	int rc;

	pthread_mutex_lock(&l->purge_lock);
	while ((rc = lmdb_purge_txn(l, before, batch, &deleted)) == MDB_MAP_FULL && batch > 1)
		batch /= 2;
	if (rc == 0) {
		what = "sync";
		rc = mdb_env_sync(l->env, 1);
	}
	pthread_mutex_unlock(&l->purge_lock);
	if (rc != 0) {
		lmdb_log(l, what, rc);
		return -1;
	}
	return (long)deleted;
}

/* Taking the writer lock proves the environment usable by this process. */
static int lmdb_ping(struct store *s)
{
	struct store_lmdb *l = lmdb_of(s);
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0) {
		lmdb_log(l, "ping", rc);
		return -1;
	}
	mdb_txn_abort(txn);
	return 0;
}

static void lmdb_free(struct store_lmdb *l)
{
	if (l->env != NULL)
		mdb_env_close(l->env);
	pthread_mutex_destroy(&l->purge_lock);
	free(l->dir);
	l->magic = 0;
	free(l);
}

static void lmdb_close(struct store *s)
{
	struct store_lmdb *l = lmdb_of(s);
	int rc;

	if ((rc = mdb_env_sync(l->env, 1)) != 0)
		lmdb_log(l, "sync", rc);
	lmdb_free(l);
}

static const struct store_ops store_lmdb_ops = {
	lmdb_check_and_count, lmdb_show, lmdb_reset, lmdb_purge, lmdb_ping, lmdb_close, NULL, false,
};

/* mkdir -p with mode 0700 for what it creates; dir must end up a directory. */
static int lmdb_mkdirs(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	struct stat st;

	if (len == 0 || len >= sizeof(path)) {
		snprintf(err, errlen, "lmdb: bad directory name '%s'", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "lmdb: cannot create %s: %s", path, strerror(errno));
			return -1;
		}
		path[i] = dir[i];
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "lmdb: %s is not a directory", dir);
		return -1;
	}
	return 0;
}

/* Opens the environment and the database of an allocated store. 0, or an
 * LMDB error with what names the step. */
static int lmdb_env_setup(struct store_lmdb *l, const char **what)
{
	MDB_txn *txn = NULL;
	int rc, dead;

	*what = "create";
	if ((rc = mdb_env_create(&l->env)) != 0) {
		l->env = NULL;
		return rc;
	}
	*what = "set size";
	if ((rc = mdb_env_set_mapsize(l->env, l->map_mb << 20)) != 0 ||
	    (rc = mdb_env_set_maxreaders(l->env, LMDB_MAX_READERS)) != 0)
		return rc;
	*what = "open";
	if ((rc = mdb_env_open(l->env, l->dir, MDB_NOTLS | MDB_NOSYNC, 0600)) != 0)
		return rc;
	/* Reader slots left by killed processes would pin old pages forever. */
	*what = "reader check";
	if ((rc = mdb_reader_check(l->env, &dead)) != 0)
		return rc;
	*what = "open database";
	if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_dbi_open(txn, NULL, 0, &l->dbi)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

int store_lmdb_open(const char *dir, size_t map_mb, struct store **out, char *err,
		    size_t errlen)
{
	struct store_lmdb *l;
	const char *what;
	int rc;

	if (map_mb == 0)
		map_mb = STORE_LMDB_MAP_MB_DEFAULT;
	if (map_mb > (SIZE_MAX >> 21)) {
		snprintf(err, errlen, "lmdb %s: map size %zu MB is too large", dir, map_mb);
		return -1;
	}
	if (lmdb_mkdirs(dir, err, errlen) != 0)
		return -1;
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->dir = strdup(dir)) == NULL ||
	    pthread_mutex_init(&l->purge_lock, NULL) != 0) {
		if (l != NULL)
			free(l->dir);
		free(l);
		snprintf(err, errlen, "lmdb %s: out of memory", dir);
		return -1;
	}
	l->base.ops = &store_lmdb_ops;
	l->magic = LMDB_MAGIC;
	l->map_mb = map_mb;
	atomic_init(&l->full_logged, INT64_MIN / 2);
	if ((rc = lmdb_env_setup(l, &what)) != 0) {
		snprintf(err, errlen, "lmdb %s: %s: %s", dir, what, mdb_strerror(rc));
		lmdb_free(l);
		return -1;
	}
	*out = &l->base;
	return 0;
}
