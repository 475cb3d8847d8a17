/* tokcache: a bounded cache of verified tokens, so a returning subscriber
 * costs a lookup instead of a signature check. */
#ifndef PAYWALLD_TOKCACHE_H
#define PAYWALLD_TOKCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "token.h"

struct tokcache;

/*
 * A cache of at most `entries` tokens (rounded up to a multiple of 4; 0
 * disables caching). Entries are keyed by token_digest and expire with
 * the token: a lookup at or after exp + leeway misses. Thread-safe.
 * NULL when out of memory.
 */
struct tokcache *tokcache_new(size_t entries);
void tokcache_free(struct tokcache *c);

/* Copies the cached claims of digest into *out when present and not
 * expired at now. */
bool tokcache_get(struct tokcache *c, const unsigned char digest[32], long long now,
		  long long leeway_s, struct token_claims *out);
/* Stores claims (claims->digest is the key), evicting the least recently
 * used entry of its set when full. */
void tokcache_put(struct tokcache *c, const struct token_claims *claims);

/* Hits and misses since creation, for metrics. */
void tokcache_stats(struct tokcache *c, unsigned long long *hits, unsigned long long *misses);

#endif
