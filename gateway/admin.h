/* admin: /healthz, /readyz and /metrics on a separate, loopback listener. */
#ifndef PAYWALLD_ADMIN_H
#define PAYWALLD_ADMIN_H

#include "metrics.h"
#include "snapshot.h"
#include "store.h"

struct admin;

/*
 * Listens on listen (HOST:PORT) with one internal thread. Requests here
 * are never proxied, decided or logged in the access log. slot, metrics
 * and store (may be NULL) are borrowed until admin_stop. 0 / -1.
 */
int admin_start(const char *listen, struct snapshot_slot *slot, struct metrics *m,
		struct store *store, unsigned long long (*log_dropped)(void *), void *log_cls,
		struct admin **out);
unsigned admin_port(const struct admin *a);
void admin_stop(struct admin *a);	/* NULL-safe */

#endif
