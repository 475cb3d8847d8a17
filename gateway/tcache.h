/* tcache: a bounded LRU cache of rendered teasers. */
#ifndef PAYWALLD_TCACHE_H
#define PAYWALLD_TCACHE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Teasers of one page are the same for every reader in the same situation,
 * and cutting a page with gumbo costs milliseconds, so they are cached. The
 * caller derives the key from everything the teaser depends on (page bytes,
 * URL, template values, config generation), so a hit can never serve a
 * teaser of another page or another config. Bounded by entries and bytes;
 * least recently used entries go first. Thread-safe (one mutex).
 */
struct tcache;

struct tcache *tcache_new(size_t max_entries, size_t max_bytes);
void tcache_free(struct tcache *c);	/* NULL-safe */
/* A malloc'd copy of the cached body in *body, or -1 on a miss. */
int tcache_get(struct tcache *c, const uint8_t key[32], char **body, size_t *len);
/* Stores a copy (bodies over a quarter of max_bytes are not cached). */
void tcache_put(struct tcache *c, const uint8_t key[32], const char *body, size_t len);
void tcache_stats(struct tcache *c, unsigned long long *hits, unsigned long long *misses);

#endif
