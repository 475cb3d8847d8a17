/* jwks: fetching the publisher's key set from jwks_url, and keeping it fresh. */
#ifndef PAYWALLD_JWKS_H
#define PAYWALLD_JWKS_H

#include "keyset.h"
#include "snapshot.h"

/*
 * Fetches and parses a JWKS over HTTP(S) (bounded: KEYSET_JSON_MAX bytes,
 * timeout_ms for the whole exchange, status 200 required, no redirects;
 * "oct" keys are skipped: a fetched set is public). Returns 0 with a set and
 * the body's SHA-256 in digest (32 bytes; may be NULL), or -1 with a
 * message. Thread-safe.
 */
int jwks_fetch(const char *url, long timeout_ms, struct keyset **out, unsigned char *digest,
	       char *err, size_t errlen);

struct jwks_fetcher;

/*
 * Starts the refresher thread for slot (borrowed until stop). While the
 * current config has identity.jwks_url, it fetches at once and then every
 * jwks_refresh_s, and installs each good set with snapshot_swap_url_keys;
 * a failed fetch is logged and the last good set stays. NULL on failure.
 */
struct jwks_fetcher *jwks_fetcher_start(struct snapshot_slot *slot);
/* Asks for an early refresh (a token named an unknown kid); honoured at
 * most once per jwks_min_refresh_s. Thread-safe, never blocks; NULL-safe. */
void jwks_fetcher_poke(struct jwks_fetcher *f);
/* Stops and joins the thread. NULL-safe. */
void jwks_fetcher_stop(struct jwks_fetcher *f);

#endif
