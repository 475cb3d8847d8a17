/* upstream: requests to the article backend over pooled keep-alive connections. */
#ifndef PAYWALLD_UPSTREAM_H
#define PAYWALLD_UPSTREAM_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * A pool of idle libcurl handles. Each handle keeps its own keep-alive
 * connections to the backend, so checking one out reuses a warm connection
 * and returning it keeps that connection for the next request. At most
 * max_idle handles wait in the pool; beyond that a returned one is freed.
 * Thread-safe.
 */
struct upstream_pool;

struct upstream_pool *upstream_pool_new(size_t max_idle);
/* Frees the pool and its idle handles. Every exchange must be finished. */
void upstream_pool_free(struct upstream_pool *pool);

/* What to send. Every pointer is borrowed for the exchange's lifetime. */
struct upstream_request {
	const char *method;
	const char *url;
	const struct curl_slist *headers;	/* complete, already filtered */
	const char *body;			/* NULL: no body */
	size_t body_len;
	long connect_timeout_ms;
	long timeout_ms;	/* for the response headers, then per body read */
	size_t buffer_max;	/* body bytes held before reading the backend pauses */
	int client_fd;		/* watched for hang-up while waiting; -1: none */
};

enum upstream_result {
	UPSTREAM_OK,
	UPSTREAM_UNREACHABLE,	/* connect, send or protocol failure: 502 */
	UPSTREAM_TIMEOUT,	/* no answer in time: 504 */
	UPSTREAM_CLIENT_GONE,	/* the reader hung up; nothing to answer */
	UPSTREAM_FAILED,	/* local failure (memory): 500 */
};

/* One exchange with the backend, owned by the thread that started it. */
struct upstream_exchange;

/*
 * Sends the request and waits for the response headers. Returns the
 * result; with UPSTREAM_OK *out holds the exchange, to be ended with
 * upstream_finish. On any other result nothing is left to free.
 * errbuf (may be NULL) receives libcurl's explanation of a failure.
 */
enum upstream_result upstream_start(struct upstream_pool *pool,
				    const struct upstream_request *req,
				    struct upstream_exchange **out,
				    char *errbuf, size_t errlen);

long upstream_status(const struct upstream_exchange *x);
/* The response's Content-Length, or -1 when the length is not announced. */
long long upstream_content_length(const struct upstream_exchange *x);
/*
 * Iterates over the final response's headers in order: pass prev NULL for
 * the first. The strings stay valid until the next call or the finish.
 */
struct curl_header *upstream_next_header(struct upstream_exchange *x,
					 struct curl_header *prev);

/* A malloc'd copy of the response header's first value, or NULL. */
char *upstream_header_dup(struct upstream_exchange *x, const char *name);

/*
 * Copies up to len body bytes into dst, waiting for the backend when none
 * are buffered. Returns the count (> 0), 0 at the end of the body, or -1
 * on a failure or a read timeout (the body is then incomplete).
 */
ssize_t upstream_read(struct upstream_exchange *x, char *dst, size_t len);

/*
 * True when the backend has sent the whole body and all of it is buffered;
 * then *body and *len describe it (valid until upstream_finish) and
 * upstream_read is not needed. Small pages usually arrive with their
 * headers, and answering them from memory lets the body go out in the same
 * write as the headers.
 */
bool upstream_body_complete(const struct upstream_exchange *x, const char **body,
			    size_t *len);

/*
 * Reads the rest of the body into the exchange's buffer (at most the
 * request's buffer_max bytes) and returns it, valid until upstream_finish.
 * Returns 0, or -1 when the body is larger, breaks off or times out.
 */
int upstream_read_all(struct upstream_exchange *x, const char **body, size_t *len);

/* Milliseconds from the start until the response headers were complete. */
long upstream_header_ms(const struct upstream_exchange *x);

/* Ends the exchange (aborting it when unfinished) and returns its handle
 * to the pool. NULL-safe. */
void upstream_finish(struct upstream_exchange *x);

#endif
