/* tokcache: a bounded cache of verified tokens, so a returning subscriber
 * costs a lookup instead of a signature check. */
#include "tokcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Set-associative: a digest picks a set of TOKCACHE_WAYS entries, and only
 * that set is searched and evicted from (least recently used first). Sets
 * share TOKCACHE_LOCKS mutexes, so threads rarely contend.
 */
#define TOKCACHE_WAYS 4
#define TOKCACHE_LOCKS 64

struct tokcache_entry {
	bool used;
	unsigned long long last_use;
	struct token_claims claims;
};

struct tokcache {
	struct tokcache_entry *entries;
	size_t sets;
	pthread_mutex_t locks[TOKCACHE_LOCKS];
	atomic_ullong tick;
	atomic_ullong hits;
	atomic_ullong misses;
};

struct tokcache *tokcache_new(size_t entries)
{
	struct tokcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->sets = (entries + TOKCACHE_WAYS - 1) / TOKCACHE_WAYS;
	if (c->sets > 0) {
		c->entries = calloc(c->sets * TOKCACHE_WAYS, sizeof(*c->entries));
		if (c->entries == NULL) {
			free(c);
			return NULL;
		}
	}
	for (size_t i = 0; i < TOKCACHE_LOCKS; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	return c;
}

void tokcache_free(struct tokcache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < TOKCACHE_LOCKS; i++)
		pthread_mutex_destroy(&c->locks[i]);
	free(c->entries);
	free(c);
}

static size_t tokcache_set(const struct tokcache *c, const unsigned char digest[32])
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h));	/* a SHA-256 is already uniform */
	return (size_t)(h % c->sets);
}

bool tokcache_get(struct tokcache *c, const unsigned char digest[32], long long now,
		  long long leeway_s, struct token_claims *out)
{
	bool hit = false;
	size_t set;

	if (c == NULL || c->sets == 0)
		return false;
	set = tokcache_set(c, digest);
	pthread_mutex_lock(&c->locks[set % TOKCACHE_LOCKS]);
	for (size_t w = 0; w < TOKCACHE_WAYS; w++) {
		struct tokcache_entry *e = &c->entries[set * TOKCACHE_WAYS + w];
		if (!e->used || memcmp(e->claims.digest, digest, 32) != 0)
			continue;
		if (e->claims.exp <= now - leeway_s) {
			e->used = false;	/* expired: never served again */
			break;
		}
		e->last_use = atomic_fetch_add(&c->tick, 1);
		*out = e->claims;
		hit = true;
		break;
	}
	pthread_mutex_unlock(&c->locks[set % TOKCACHE_LOCKS]);
	atomic_fetch_add(hit ? &c->hits : &c->misses, 1);
	return hit;
}

void tokcache_put(struct tokcache *c, const struct token_claims *claims)
{
	struct tokcache_entry *victim = NULL;
	size_t set;

	if (c == NULL || c->sets == 0)
		return;
	set = tokcache_set(c, claims->digest);
	pthread_mutex_lock(&c->locks[set % TOKCACHE_LOCKS]);
	for (size_t w = 0; w < TOKCACHE_WAYS; w++) {
		struct tokcache_entry *e = &c->entries[set * TOKCACHE_WAYS + w];
		if (!e->used || memcmp(e->claims.digest, claims->digest, 32) == 0) {
			victim = e;
			break;
		}
		if (victim == NULL || e->last_use < victim->last_use)
			victim = e;
	}
	victim->used = true;
	victim->last_use = atomic_fetch_add(&c->tick, 1);
	victim->claims = *claims;
	pthread_mutex_unlock(&c->locks[set % TOKCACHE_LOCKS]);
}

void tokcache_stats(struct tokcache *c, unsigned long long *hits, unsigned long long *misses)
{
	*hits = c ? atomic_load(&c->hits) : 0;
	*misses = c ? atomic_load(&c->misses) : 0;
}
