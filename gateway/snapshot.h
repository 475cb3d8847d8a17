/* snapshot: the active configuration, refcounted and swapped atomically. */
#ifndef PAYWALLD_SNAPSHOT_H
#define PAYWALLD_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>

#include "config.h"

/*
 * Everything a request needs that a reload may replace. A request acquires
 * the current snapshot when it starts and releases it when it ends, so it
 * finishes on the configuration it started with whatever reloads happen.
 */
struct snapshot {
	atomic_uint refs;
	unsigned long generation;	/* 1 for the first config, +1 per reload */
	struct config *cfg;		/* owned */
};

/* The one mutable slot: which snapshot new requests get. */
struct snapshot_slot {
	pthread_mutex_t lock;
	struct snapshot *current;	/* holds one reference */
	unsigned long generation;
};

/* Takes ownership of cfg. 0 / -1 (cfg is freed on failure too). */
int snapshot_slot_init(struct snapshot_slot *slot, struct config *cfg);
/* Drops the slot's reference; call after every request has released. */
void snapshot_slot_destroy(struct snapshot_slot *slot);

/* Returns the current snapshot with a reference the caller must release.
 * Thread-safe; never NULL after a successful init. */
struct snapshot *snapshot_acquire(struct snapshot_slot *slot);
/* Drops a reference; the last one frees the snapshot. NULL-safe. */
void snapshot_release(struct snapshot *s);
/*
 * Makes cfg (owned from now on) current for new requests. Requests holding
 * the old snapshot keep it until they release it. Returns the new
 * generation, or 0 on allocation failure (cfg freed, old one stays).
 */
unsigned long snapshot_swap(struct snapshot_slot *slot, struct config *cfg);

#endif
