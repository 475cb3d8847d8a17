/* snapshot: the active configuration, refcounted and swapped atomically. */
#include "snapshot.h"

#include <stdlib.h>

static struct snapshot *snapshot_new(struct config *cfg, unsigned long generation)
{
	struct snapshot *s = malloc(sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->generation = generation;
	s->cfg = cfg;
	return s;
}

int snapshot_slot_init(struct snapshot_slot *slot, struct config *cfg)
{
	slot->generation = 1;
	slot->current = snapshot_new(cfg, slot->generation);
	if (slot->current == NULL) {
		config_free(cfg);
		return -1;
	}
	if (pthread_mutex_init(&slot->lock, NULL) != 0) {
		snapshot_release(slot->current);
		slot->current = NULL;
		return -1;
	}
	return 0;
}

void snapshot_slot_destroy(struct snapshot_slot *slot)
{
	snapshot_release(slot->current);
	slot->current = NULL;
	pthread_mutex_destroy(&slot->lock);
}

/*
 * Reading the pointer and taking the reference must be one step, or a
 * concurrent swap could free the snapshot in between; an uncontended mutex
 * costs tens of nanoseconds, well below anything else a request does.
 */
struct snapshot *snapshot_acquire(struct snapshot_slot *slot)
{
	struct snapshot *s;

	pthread_mutex_lock(&slot->lock);
	s = slot->current;
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&slot->lock);
	return s;
}

void snapshot_release(struct snapshot *s)
{
	if (s == NULL)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) {
		config_free(s->cfg);
		free(s);
	}
}

unsigned long snapshot_swap(struct snapshot_slot *slot, struct config *cfg)
{
	struct snapshot *s, *old;
	unsigned long gen;

	pthread_mutex_lock(&slot->lock);
	gen = slot->generation + 1;
	s = snapshot_new(cfg, gen);
	if (s == NULL) {
		pthread_mutex_unlock(&slot->lock);
		config_free(cfg);
		return 0;
	}
	old = slot->current;
	slot->current = s;
	slot->generation = gen;
	pthread_mutex_unlock(&slot->lock);
	snapshot_release(old);
	return gen;
}
