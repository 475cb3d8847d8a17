/* snapshot: the active configuration and keys, refcounted and swapped atomically. */
#ifndef PAYWALLD_SNAPSHOT_H
#define PAYWALLD_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "keyset.h"
#include "tokcache.h"

/*
 * Everything a request needs that a reload or a key refresh may replace. A
 * request acquires the current snapshot when it starts and releases it when
 * it ends, so it finishes on what it started with whatever swaps happen.
 */
struct snapshot {
	atomic_uint refs;
	unsigned long generation;	/* 1 for the first, +1 per swap */
	struct config *cfg;		/* one reference */
	struct keyset *keys;		/* jwks_file keys, then jwks_url keys; may be NULL */
	struct tokcache *cache;		/* verified tokens under exactly these keys */
};

/* The one mutable slot: which snapshot new requests get. */
struct snapshot_slot {
	pthread_mutex_t lock;
	struct snapshot *current;	/* holds one reference */
	struct keyset *url_keys;	/* last good jwks_url fetch, or NULL */
	char *url_keys_from;		/* the jwks_url they came from */
	unsigned long generation;
};

/* Takes ownership of cfg. 0 / -1 (cfg is freed on failure too). */
int snapshot_slot_init(struct snapshot_slot *slot, struct config *cfg);
/* Drops the slot's references; call after every request has released. */
void snapshot_slot_destroy(struct snapshot_slot *slot);

/* Returns the current snapshot with a reference the caller must release.
 * Thread-safe; never NULL after a successful init. */
struct snapshot *snapshot_acquire(struct snapshot_slot *slot);
/* Drops a reference; the last one frees the snapshot. NULL-safe. */
void snapshot_release(struct snapshot *s);
/*
 * Makes cfg (owned from now on) current for new requests, with its file
 * keys and the last jwks_url keys. Returns the new generation, or 0 on
 * allocation failure (cfg freed, the old snapshot stays).
 */
unsigned long snapshot_swap(struct snapshot_slot *slot, struct config *cfg);
/* Replaces the jwks_url keys fetched from url (a reference is taken) under
 * the current config, provided that config still names url: keys from a
 * URL the publisher removed must never come back. Returns the new
 * generation, or 0 when nothing changed (failure or URL no longer set). */
unsigned long snapshot_swap_url_keys(struct snapshot_slot *slot, const char *url,
				     struct keyset *url_keys);

#endif
