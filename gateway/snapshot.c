/* snapshot: the active configuration and keys, refcounted and swapped atomically. */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

/* True when cfg still names the URL the slot's url_keys came from. */
static bool snapshot_url_current(const struct config *cfg, const char *url)
{
	const char *want = cfg->identity.enabled ? cfg->identity.jwks_url : NULL;

	return want != NULL && url != NULL && strcmp(want, url) == 0;
}

static void snapshot_drop_url_keys(struct snapshot_slot *slot)
{
	keyset_unref(slot->url_keys);
	free(slot->url_keys_from);
	slot->url_keys = NULL;
	slot->url_keys_from = NULL;
}

static void snapshot_free(struct snapshot *s)
{
	config_free(s->cfg);
	keyset_unref(s->keys);
	tokcache_free(s->cache);
	free(s);
}

/* Builds a snapshot holding a new reference to cfg. */
static struct snapshot *snapshot_new(struct config *cfg, struct keyset *url_keys,
				     unsigned long generation)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	struct keyset *file_keys = cfg->identity.file_keys;

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	s->generation = generation;
	s->cfg = config_ref(cfg);
	if (url_keys != NULL)
		s->keys = keyset_merge(file_keys, url_keys);
	else
		s->keys = keyset_ref(file_keys);
	/* A new key set starts a new cache: a removed key's tokens must fail. */
	s->cache = tokcache_new((size_t)cfg->identity.cache_size);
	if ((url_keys != NULL && s->keys == NULL) || s->cache == NULL) {
		snapshot_free(s);
		return NULL;
	}
	return s;
}

int snapshot_slot_init(struct snapshot_slot *slot, struct config *cfg)
{
	slot->generation = 1;
	slot->url_keys = NULL;
	slot->url_keys_from = NULL;
	slot->current = snapshot_new(cfg, NULL, slot->generation);
	config_free(cfg);	/* the snapshot holds its own reference */
	if (slot->current == NULL)
		return -1;
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
	snapshot_drop_url_keys(slot);
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
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		snapshot_free(s);
}

/* Called with the lock held: installs s, returns the old one to release. */
static struct snapshot *snapshot_install(struct snapshot_slot *slot, struct snapshot *s)
{
	struct snapshot *old = slot->current;

	slot->current = s;
	slot->generation = s->generation;
	return old;
}

unsigned long snapshot_swap(struct snapshot_slot *slot, struct config *cfg)
{
	struct snapshot *s, *old = NULL;
	unsigned long gen = 0;

	pthread_mutex_lock(&slot->lock);
	/* A reload that drops or changes jwks_url revokes the keys it gave. */
	if (!snapshot_url_current(cfg, slot->url_keys_from))
		snapshot_drop_url_keys(slot);
	s = snapshot_new(cfg, slot->url_keys, slot->generation + 1);
	if (s != NULL) {
		old = snapshot_install(slot, s);
		gen = s->generation;
	}
	pthread_mutex_unlock(&slot->lock);
	config_free(cfg);
	snapshot_release(old);
	return gen;
}

unsigned long snapshot_swap_url_keys(struct snapshot_slot *slot, const char *url,
				     struct keyset *url_keys)
{
	struct snapshot *s = NULL, *old = NULL;
	unsigned long gen = 0;
	char *from;

	pthread_mutex_lock(&slot->lock);
	/* A fetch that was running across a reload must not install stale keys. */
	if (snapshot_url_current(slot->current->cfg, url))
		s = snapshot_new(slot->current->cfg, url_keys, slot->generation + 1);
	if (s != NULL && (from = strdup(url)) != NULL) {
		snapshot_drop_url_keys(slot);
		slot->url_keys = keyset_ref(url_keys);
		slot->url_keys_from = from;
		old = snapshot_install(slot, s);
		gen = s->generation;
	} else if (s != NULL) {
		old = s;	/* out of memory: discard the new one */
	}
	pthread_mutex_unlock(&slot->lock);
	snapshot_release(old);
	return gen;
}
