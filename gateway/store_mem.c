/* store_mem: the in-memory meter store (tests, demos), and store_open, the
 * one entry point that picks a store from its spec. */
#include "store.h"

#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define STORE_MEM_MAGIC 0x4d454d53u	/* "MEMS" */
#define STORE_MEM_BUCKETS_MIN 64
#define STORE_MEM_BUCKETS_MAX (1u << 22)

/* A reader with at least one entry. Readers whose entries all expire are
 * freed, so memory follows the entry count. */
struct mem_reader {
	struct mem_reader *next;	/* hash chain */
	struct meter_reader key;
	struct store_entry *e;
	size_t n, cap;
};

struct store_mem {
	struct store base;
	unsigned magic;
	pthread_mutex_t lock;
	struct mem_reader **buckets;
	size_t nbuckets;		/* a power of two */
	size_t entries;			/* in all readers */
	size_t max_entries;
	size_t purge_bucket;		/* where the next purge resumes */
	atomic_llong full_logged;	/* last "full" log line, for rate limiting */
};

static struct store_mem *mem_of(struct store *s)
{
	struct store_mem *m = (struct store_mem *)s;

	assert(m != NULL && m->magic == STORE_MEM_MAGIC);
	return m;
}

/* FNV-1a over kind and id: reader ids are random or hashed already. */
static size_t mem_bucket(const struct store_mem *m, const struct meter_reader *r)
{
	uint64_t h = 0xcbf29ce484222325ull;

	h = (h ^ r->kind) * 0x100000001b3ull;
	for (size_t i = 0; i < sizeof(r->id); i++)
		h = (h ^ r->id[i]) * 0x100000001b3ull;
	return (size_t)(h & (m->nbuckets - 1));
}

static bool mem_same_reader(const struct meter_reader *a, const struct meter_reader *b)
{
	return a->kind == b->kind && memcmp(a->id, b->id, sizeof(a->id)) == 0;
}

/* The chain link pointing at the reader's record, or at the chain's NULL end. */
static struct mem_reader **mem_find(struct store_mem *m, const struct meter_reader *r)
{
	struct mem_reader **pp = &m->buckets[mem_bucket(m, r)];

	while (*pp != NULL && !mem_same_reader(&(*pp)->key, r))
		pp = &(*pp)->next;
	return pp;
}

/* Unlinks and frees the reader at *pp, returning its entries to the budget. */
static void mem_drop(struct store_mem *m, struct mem_reader **pp)
{
	struct mem_reader *rd = *pp;

	*pp = rd->next;
	m->entries -= rd->n;
	free(rd->e);
	free(rd);
}

/* Deletes the reader's entries older than before (at most max); frees the
 * reader when none is left. Returns how many were deleted. */
static size_t mem_expire(struct store_mem *m, struct mem_reader **pp, int64_t before,
			 size_t max)
{
	struct mem_reader *rd = *pp;
	size_t kept = 0, deleted = 0;

	for (size_t i = 0; i < rd->n; i++) {
		if (rd->e[i].time < before && deleted < max)
			deleted++;
		else
			rd->e[kept++] = rd->e[i];
	}
	rd->n = kept;
	m->entries -= deleted;
	if (kept == 0)
		mem_drop(m, pp);
	return deleted;
}

static void mem_log_full(struct store_mem *m, int64_t now)
{
	long long last = atomic_load(&m->full_logged);

	if (now - last >= 10 && atomic_compare_exchange_strong(&m->full_logged, &last, now))
		log_error("store", "memory store full (%zu entries): raise "
			  "meter.memory_max_entries", m->max_entries);
}

/* Appends an entry, creating the reader at *pp when absent. 0 / -1. */
static int mem_append(struct store_mem *m, struct mem_reader **pp,
		      const struct meter_reader *r, const uint8_t article[16], int64_t now)
{
	struct mem_reader *rd = *pp;

	if (m->entries >= m->max_entries) {
		mem_log_full(m, now);
		return -1;
	}
	if (rd == NULL) {
		if ((rd = calloc(1, sizeof(*rd))) == NULL)
			return -1;
		rd->key = *r;
		*pp = rd;
	}
	if (rd->n == rd->cap) {
		size_t cap = rd->cap ? 2 * rd->cap : 4;
		struct store_entry *e = realloc(rd->e, cap * sizeof(*e));
		if (e == NULL) {
			if (rd->n == 0)
				mem_drop(m, pp);
			return -1;
		}
		rd->e = e;
		rd->cap = cap;
	}
	memcpy(rd->e[rd->n].article, article, 16);
	rd->e[rd->n].time = now;
	rd->n++;
	m->entries++;
	return 0;
}

static enum store_result mem_check_and_count(struct store *s, const struct meter_reader *r,
					     const uint8_t article[16], int64_t now,
					     int64_t window_start, int64_t keep, unsigned limit,
					     bool dry_run, unsigned *used)
{
	struct store_mem *m = mem_of(s);
	enum store_result res;
	struct mem_reader **pp;
	size_t live = 0;

	(void)keep;	/* purge deletes what no window needs */
	pthread_mutex_lock(&m->lock);
	pp = mem_find(m, r);
	if (*pp != NULL)
		mem_expire(m, pp, window_start, SIZE_MAX);
	if (*pp != NULL) {
		live = (*pp)->n;
		for (size_t i = 0; i < live; i++)
			if (memcmp((*pp)->e[i].article, article, 16) == 0) {
				res = STORE_ALREADY;
				goto out;
			}
	}
	if (live >= limit) {
		res = STORE_LIMIT;
	} else if (dry_run) {
		res = STORE_COUNTED;
	} else if (mem_append(m, pp, r, article, now) != 0) {
		res = STORE_ERROR;
	} else {
		res = STORE_COUNTED;
		live++;
	}
out:
	pthread_mutex_unlock(&m->lock);
	*used = res == STORE_ERROR ? 0 : (unsigned)live;
	return res;
}

static int mem_show(struct store *s, const struct meter_reader *r, int64_t window_start,
		    struct store_entry *out, size_t max)
{
	struct store_mem *m = mem_of(s);
	struct mem_reader *rd;
	size_t n = 0;

	pthread_mutex_lock(&m->lock);
	rd = *mem_find(m, r);
	for (size_t i = 0; rd != NULL && i < rd->n && n < max; i++)
		if (rd->e[i].time >= window_start)
			out[n++] = rd->e[i];
	pthread_mutex_unlock(&m->lock);
	return (int)(n > INT_MAX ? INT_MAX : n);
}

static int mem_reset(struct store *s, const struct meter_reader *r)
{
	struct store_mem *m = mem_of(s);
	struct mem_reader **pp;

	pthread_mutex_lock(&m->lock);
	pp = mem_find(m, r);
	if (*pp != NULL)
		mem_drop(m, pp);
	pthread_mutex_unlock(&m->lock);
	return 0;
}

/* Walks buckets from where the last purge stopped, wrapping once. */
static long mem_purge(struct store *s, int64_t before, size_t max_entries)
{
	struct store_mem *m = mem_of(s);
	size_t deleted = 0, visited = 0, budget = store_purge_visit(max_entries), start;

	pthread_mutex_lock(&m->lock);
	start = m->purge_bucket;
	for (size_t b = 0; b < m->nbuckets && deleted < max_entries && visited < budget; b++) {
		size_t i = (start + b) & (m->nbuckets - 1);
		struct mem_reader **pp = &m->buckets[i];
		while (*pp != NULL && deleted < max_entries) {
			struct mem_reader *rd = *pp;
			visited += rd->n;
			deleted += mem_expire(m, pp, before, max_entries - deleted);
			if (*pp == rd)
				pp = &rd->next;
		}
		/* Resume at a bucket only partly done, else at the next one. */
		m->purge_bucket = *pp != NULL ? i : (i + 1) & (m->nbuckets - 1);
	}
	pthread_mutex_unlock(&m->lock);
	return (long)deleted;
}

static int mem_ping(struct store *s)
{
	(void)mem_of(s);
	return 0;
}

static void mem_close(struct store *s)
{
	struct store_mem *m = mem_of(s);

	for (size_t i = 0; i < m->nbuckets; i++)
		while (m->buckets[i] != NULL)
			mem_drop(m, &m->buckets[i]);
	pthread_mutex_destroy(&m->lock);
	free(m->buckets);
	m->magic = 0;
	free(m);
}

static const struct store_ops store_mem_ops = {
	mem_check_and_count, mem_show, mem_reset, mem_purge, mem_ping, mem_close, NULL, false,
};

/* About 8 entries per bucket when full: readers hold a few entries each. */
static size_t mem_buckets_for(size_t max_entries)
{
	size_t n = STORE_MEM_BUCKETS_MIN;

	while (n < STORE_MEM_BUCKETS_MAX && n < max_entries / 8)
		n *= 2;
	return n;
}

int store_mem_open(size_t max_entries, struct store **out)
{
	struct store_mem *m;

	if (max_entries == 0)
		return -1;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	m->nbuckets = mem_buckets_for(max_entries);
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (m->buckets == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
		free(m->buckets);
		free(m);
		return -1;
	}
	m->base.ops = &store_mem_ops;
	m->magic = STORE_MEM_MAGIC;
	m->max_entries = max_entries;
	atomic_init(&m->full_logged, INT64_MIN / 2);
	*out = &m->base;
	return 0;
}
