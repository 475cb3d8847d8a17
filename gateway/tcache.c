/* tcache: a bounded LRU cache of rendered teasers. */
#include "tcache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tcache_entry {
	uint8_t key[32];
	char *body;
	size_t len;
	struct tcache_entry *prev, *next;	/* LRU list, most recent first */
	struct tcache_entry *chain;		/* hash bucket */
};

struct tcache {
	pthread_mutex_t lock;
	struct tcache_entry **buckets;
	size_t nbuckets;
	struct tcache_entry *head, *tail;
	size_t entries, bytes, max_entries, max_bytes;
	unsigned long long hits, misses;
};

struct tcache *tcache_new(size_t max_entries, size_t max_bytes)
{
	struct tcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->nbuckets = max_entries * 2 + 1;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (c->buckets == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	c->max_entries = max_entries;
	c->max_bytes = max_bytes;
	return c;
}

static size_t tcache_bucket(const struct tcache *c, const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));	/* the key is a SHA-256: already uniform */
	return (size_t)(h % c->nbuckets);
}

static void tcache_unlink(struct tcache *c, struct tcache_entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void tcache_push_front(struct tcache *c, struct tcache_entry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static struct tcache_entry *tcache_find(struct tcache *c, const uint8_t key[32])
{
	struct tcache_entry *e = c->buckets[tcache_bucket(c, key)];

	while (e != NULL && memcmp(e->key, key, 32) != 0)
		e = e->chain;
	return e;
}

static void tcache_evict(struct tcache *c, struct tcache_entry *e)
{
	struct tcache_entry **p = &c->buckets[tcache_bucket(c, e->key)];

	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	tcache_unlink(c, e);
	c->entries--;
	c->bytes -= e->len;
	free(e->body);
	free(e);
}

void tcache_free(struct tcache *c)
{
	if (c == NULL)
		return;
	while (c->tail != NULL)
		tcache_evict(c, c->tail);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

int tcache_get(struct tcache *c, const uint8_t key[32], char **body, size_t *len)
{
	struct tcache_entry *e;
	char *copy = NULL;
	size_t n = 0;

	if (c == NULL)
		return -1;
	pthread_mutex_lock(&c->lock);
	e = tcache_find(c, key);
	if (e != NULL && (copy = malloc(e->len + 1)) != NULL) {
		memcpy(copy, e->body, e->len);
		copy[e->len] = '\0';
		n = e->len;
		tcache_unlink(c, e);
		tcache_push_front(c, e);
		c->hits++;
	} else {
		c->misses++;
	}
	pthread_mutex_unlock(&c->lock);
	if (copy == NULL)
		return -1;
	*body = copy;
	*len = n;
	return 0;
}

void tcache_put(struct tcache *c, const uint8_t key[32], const char *body, size_t len)
{
	struct tcache_entry *e;

	if (c == NULL || c->max_entries == 0 || len > c->max_bytes / 4)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL || (e->body = malloc(len + 1)) == NULL) {
		free(e);
		return;
	}
	memcpy(e->key, key, 32);
	memcpy(e->body, body, len);
	e->len = len;
	pthread_mutex_lock(&c->lock);
	struct tcache_entry *old = tcache_find(c, key);
	if (old != NULL)
		tcache_evict(c, old);
	while (c->tail != NULL && (c->entries >= c->max_entries || c->bytes + len > c->max_bytes))
		tcache_evict(c, c->tail);
	size_t b = tcache_bucket(c, key);
	e->chain = c->buckets[b];
	c->buckets[b] = e;
	tcache_push_front(c, e);
	c->entries++;
	c->bytes += len;
	pthread_mutex_unlock(&c->lock);
}

void tcache_stats(struct tcache *c, unsigned long long *hits, unsigned long long *misses)
{
	if (c == NULL) {
		*hits = *misses = 0;
		return;
	}
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}
