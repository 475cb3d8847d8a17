/* pipeline: the steps every proxied request takes, in order, in one place. */
#ifndef PAYWALLD_PIPELINE_H
#define PAYWALLD_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "headers.h"
#include "identity.h"
#include "jwks.h"
#include "metrics.h"
#include "tcache.h"
#include "netaddr.h"
#include "reqid.h"
#include "snapshot.h"
#include "store.h"
#include "upstream.h"

/* Process-wide services a request borrows; they outlive every request and
 * do not change on reload (a different meter store needs a restart). */
struct services {
	struct upstream_pool *pool;
	struct jwks_fetcher *jwks;	/* may be NULL */
	struct store *store;		/* meter store; NULL without a meter section */
	struct metrics *metrics;
	struct accesslog *log;		/* may be NULL: no audit section */
	struct tcache *teasers;		/* rendered teasers; may be NULL */
};

/* What the HTTP adapter hands in. All borrowed for the request's lifetime. */
struct pipeline_input {
	const char *method;
	const char *target;		/* raw request target, already checked */
	const struct header_ref *headers;
	size_t nheaders;
	struct netaddr peer;
	const char *body;		/* NULL when the request has no body */
	size_t body_len;
	int client_fd;
	bool draining;			/* ask the client to close after this */
};

/* What the HTTP adapter sends back. Owned by the pipeline. */
struct pipeline_output {
	int status;
	const struct header_ref *headers;
	size_t nheaders;
	bool stream;			/* body comes from pipeline_read */
	long long length;		/* stream length, -1 when unknown */
	const char *body;		/* fixed body when !stream */
	size_t body_len;
};

struct pipeline;

/* A pipeline for one request, on the given snapshot and services (both
 * borrowed: the caller holds them for longer). NULL when out of memory. */
struct pipeline *pipeline_new(struct snapshot *snap, const struct services *svc);
/* Runs every step up to the response headers. Never fails: a failure
 * becomes an error response. Runs in the calling thread; may block up to
 * the upstream timeout. */
void pipeline_run(struct pipeline *p, const struct pipeline_input *in,
		  struct pipeline_output *out);
/* Streams the body: > 0 bytes, 0 at the end, -1 when it broke off. */
ssize_t pipeline_read(struct pipeline *p, char *dst, size_t len);
/* Answers with a gateway error page, for requests refused before running. */
void pipeline_reject(struct pipeline *p, int status, const char *why,
		     const struct pipeline_input *in, struct pipeline_output *out);
/* The request id chosen for this request (valid after run or reject). */
const char *pipeline_request_id(const struct pipeline *p);
/* Writes the request's access log line (once, when it was answered);
 * peer is the socket peer. Call just before pipeline_free. */
void pipeline_log(struct pipeline *p, const struct netaddr *peer);
/* Ends the request, aborting any unfinished upstream exchange. NULL-safe. */
void pipeline_free(struct pipeline *p);

#endif
