/* httpd: the libmicrohttpd adapter. It knows HTTP, nothing of paywalls. */
#ifndef PAYWALLD_HTTPD_H
#define PAYWALLD_HTTPD_H

#include <stdbool.h>

#include "config.h"
#include "pipeline.h"
#include "snapshot.h"
#include "upstream.h"

struct httpd;

/*
 * Starts listening with the listener settings of cfg (listen address,
 * connection limit, header size limit, client timeout: these need a
 * restart to change). Each connection gets its own thread; requests take
 * the current snapshot from slot and use the services; both borrowed until
 * httpd_stop. Returns 0 and *out, or -1 (logged).
 */
int httpd_start(const struct config *cfg, struct snapshot_slot *slot,
		const struct services *svc, struct httpd **out);
/* The port actually bound (useful with port 0). */
unsigned httpd_port(const struct httpd *h);
/* Stops accepting connections; requests still arriving on open ones are
 * served with "Connection: close". */
void httpd_quiesce(struct httpd *h);
/* Waits until no request is in flight or timeout_ms pass. True when idle. */
bool httpd_wait_idle(struct httpd *h, long timeout_ms);
/* Closes every connection, joins the threads and frees h. NULL-safe. */
void httpd_stop(struct httpd *h);

#endif
