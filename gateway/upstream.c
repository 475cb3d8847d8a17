/* upstream: requests to the article backend over pooled keep-alive connections. */
#include "upstream.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"

#define UPSTREAM_RECV_BUFFER (64 * 1024)
/* Idle handles keep body buffers up to this size: pooled memory stays
 * bounded (pool_size times this) while typical pages reuse theirs. */
#define UPSTREAM_KEEP_BUFFER (128 * 1024)

struct upstream_handle {
	CURL *easy;
	CURLM *multi;	/* owns the keep-alive connections of this handle */
	struct buf body;	/* reused by each exchange, so no per-request malloc */
	struct upstream_handle *next;
};

struct upstream_pool {
	pthread_mutex_t lock;
	struct upstream_handle *idle;
	size_t n_idle;
	size_t max_idle;
};

struct upstream_exchange {
	struct upstream_pool *pool;
	struct upstream_handle *h;
	struct buf *body;	/* the handle's */
	size_t buffer_max;
	bool headers_done;
	bool done;
	bool paused;
	bool watch_client;
	CURLcode result;
	long status;
	int client_fd;
	long timeout_ms;
	struct timespec t0;
	long header_ms;
	char errbuf[CURL_ERROR_SIZE];
};

enum upstream_want { UPSTREAM_WANT_HEADERS, UPSTREAM_WANT_BODY, UPSTREAM_WANT_DONE };

static long upstream_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void upstream_handle_free(struct upstream_handle *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->easy);
	curl_multi_cleanup(h->multi);
	buf_free(&h->body);
	free(h);
}

static struct upstream_handle *upstream_handle_new(void)
{
	struct upstream_handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	buf_init(&h->body, 0);
	h->easy = curl_easy_init();
	h->multi = curl_multi_init();
	if (h->easy == NULL || h->multi == NULL ||
	    curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, 2L) != CURLM_OK) {
		upstream_handle_free(h);
		return NULL;
	}
	return h;
}

struct upstream_pool *upstream_pool_new(size_t max_idle)
{
	struct upstream_pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return NULL;
	}
	p->max_idle = max_idle;
	return p;
}

void upstream_pool_free(struct upstream_pool *pool)
{
	if (pool == NULL)
		return;
	while (pool->idle != NULL) {
		struct upstream_handle *h = pool->idle;
		pool->idle = h->next;
		upstream_handle_free(h);
	}
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static struct upstream_handle *upstream_pool_get(struct upstream_pool *pool)
{
	struct upstream_handle *h;

	pthread_mutex_lock(&pool->lock);
	h = pool->idle;
	if (h != NULL) {
		pool->idle = h->next;
		pool->n_idle--;
	}
	pthread_mutex_unlock(&pool->lock);
	if (h == NULL)
		h = upstream_handle_new();
	return h;
}

static void upstream_pool_put(struct upstream_pool *pool, struct upstream_handle *h)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->n_idle < pool->max_idle) {
		h->next = pool->idle;
		pool->idle = h;
		pool->n_idle++;
		h = NULL;
	}
	pthread_mutex_unlock(&pool->lock);
	upstream_handle_free(h);
}

static size_t upstream_on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct upstream_exchange *x = ud;
	size_t len = size * nmemb;

	/* Back-pressure: a slow reader stops the backend read, not our memory. */
	if (x->body->len >= x->buffer_max || buf_append(x->body, p, len) != 0) {
		x->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	return len;
}

/* One allocation for a body of announced length, instead of a doubling
 * series of copies; a failure only means growing as data comes. */
static void upstream_presize(struct upstream_exchange *x)
{
	curl_off_t cl = -1;

	if (curl_easy_getinfo(x->h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK ||
	    cl <= 0)
		return;
	(void)buf_reserve(x->body, (size_t)cl < x->body->max ? (size_t)cl : x->body->max);
}

static size_t upstream_on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct upstream_exchange *x = ud;
	size_t len = size * nmemb;
	long code = 0;

	/* A blank line ends a header block; 1xx blocks are interim, skip them. */
	if ((len == 2 && p[0] == '\r') || (len == 1 && p[0] == '\n')) {
		if (curl_easy_getinfo(x->h->easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
		    code >= 200) {
			x->headers_done = true;
			x->status = code;
			upstream_presize(x);
			x->header_ms = upstream_now_ms() -
				       ((long)x->t0.tv_sec * 1000 + x->t0.tv_nsec / 1000000);
		}
	}
	return len;
}

/*
 * Every method-related option is set on every request, because handles are
 * reused without curl_easy_reset (which would rebuild libcurl's option
 * block and buffers each time): HTTPGET clears what a previous POST or HEAD
 * left behind.
 */
static int upstream_set_method(CURL *e, const struct upstream_request *req)
{
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, NULL) != CURLE_OK;
	if (req->body != NULL) {
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)req->body_len) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body) != CURLE_OK;
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK;
	} else if (strcmp(req->method, "HEAD") == 0) {
		bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
	} else if (strcmp(req->method, "GET") != 0) {
		bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req->method) != CURLE_OK;
	}
	return bad ? -1 : 0;
}

static int upstream_configure(struct upstream_exchange *x, const struct upstream_request *req)
{
	CURL *e = x->h->easy;
	int bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	/* The target was checked already; curl must not rewrite dot segments. */
	bad |= curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms) != CURLE_OK;
	/* Bodies pass through as the backend encoded them. */
	bad |= curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)UPSTREAM_RECV_BUFFER) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upstream_on_body) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upstream_on_header) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) != CURLE_OK;
	return bad || upstream_set_method(e, req) != 0 ? -1 : 0;
}

static void upstream_collect(struct upstream_exchange *x)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(x->h->multi, &left)) != NULL) {
		if (m->msg == CURLMSG_DONE) {
			x->done = true;
			x->result = m->data.result;
		}
	}
}

/* A reader that closed its side of the connection will never read the
 * answer; data instead means a pipelined request, so stop watching. */
static bool upstream_client_gone(struct upstream_exchange *x)
{
	char c;
	ssize_t r = recv(x->client_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (r > 0) {
		x->watch_client = false;
		return false;
	}
	return r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static bool upstream_satisfied(const struct upstream_exchange *x, enum upstream_want w)
{
	if (x->done || (w == UPSTREAM_WANT_DONE && x->paused))
		return true;
	if (w == UPSTREAM_WANT_DONE)
		return false;
	return w == UPSTREAM_WANT_HEADERS ? x->headers_done : x->body->len > 0;
}

/* Runs libcurl in this thread until what is wanted arrives or time runs out. */
static enum upstream_result upstream_drive(struct upstream_exchange *x, enum upstream_want w,
					   long wait_ms)
{
	long deadline = upstream_now_ms() + wait_ms;

	for (;;) {
		struct curl_waitfd wfd = { x->client_fd, CURL_WAIT_POLLIN, 0 };
		int running;
		long left;

		if (curl_multi_perform(x->h->multi, &running) != CURLM_OK)
			return UPSTREAM_FAILED;
		upstream_collect(x);
		if (upstream_satisfied(x, w))
			return UPSTREAM_OK;
		left = deadline - upstream_now_ms();
		if (left <= 0)
			return UPSTREAM_TIMEOUT;
		if (curl_multi_poll(x->h->multi, &wfd, x->watch_client ? 1 : 0,
				    left > 1000 ? 1000 : (int)left, NULL) != CURLM_OK)
			return UPSTREAM_FAILED;
		if (x->watch_client && wfd.revents != 0 && upstream_client_gone(x))
			return UPSTREAM_CLIENT_GONE;
	}
}

static enum upstream_result upstream_map_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return UPSTREAM_TIMEOUT;
	case CURLE_OUT_OF_MEMORY:
		return UPSTREAM_FAILED;
	default:
		return UPSTREAM_UNREACHABLE;
	}
}

enum upstream_result upstream_start(struct upstream_pool *pool,
				    const struct upstream_request *req,
				    struct upstream_exchange **out,
				    char *errbuf, size_t errlen)
{
	struct upstream_exchange *x = calloc(1, sizeof(*x));
	enum upstream_result r = UPSTREAM_FAILED;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (x == NULL)
		return UPSTREAM_FAILED;
	x->pool = pool;
	x->buffer_max = req->buffer_max;
	x->client_fd = req->client_fd;
	x->watch_client = req->client_fd >= 0;
	x->timeout_ms = req->timeout_ms;
	clock_gettime(CLOCK_MONOTONIC, &x->t0);
	x->h = upstream_pool_get(pool);
	if (x->h == NULL)
		goto fail;
	x->body = &x->h->body;
	buf_reset(x->body);
	x->body->max = req->buffer_max + CURL_MAX_WRITE_SIZE;
	if (upstream_configure(x, req) != 0)
		goto fail;
	if (curl_multi_add_handle(x->h->multi, x->h->easy) != CURLM_OK)
		goto fail;
	r = upstream_drive(x, UPSTREAM_WANT_HEADERS, req->timeout_ms);
	if (r == UPSTREAM_OK && !x->headers_done)
		r = upstream_map_error(x->result);
	if (r != UPSTREAM_OK)
		goto fail;
	*out = x;
	return UPSTREAM_OK;
fail:
	if (errbuf != NULL && errlen > 0)
		snprintf(errbuf, errlen, "%s", x->errbuf[0] ? x->errbuf :
			 r == UPSTREAM_TIMEOUT ? "no response headers in time" :
			 r == UPSTREAM_CLIENT_GONE ? "client went away" : "transfer failed");
	upstream_finish(x);
	return r;
}

long upstream_status(const struct upstream_exchange *x)
{
	return x->status;
}

long long upstream_content_length(const struct upstream_exchange *x)
{
	curl_off_t cl = -1;

	if (curl_easy_getinfo(x->h->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) != CURLE_OK)
		return -1;
	return cl < 0 ? -1 : (long long)cl;
}

struct curl_header *upstream_next_header(struct upstream_exchange *x, struct curl_header *prev)
{
	return curl_easy_nextheader(x->h->easy, CURLH_HEADER, -1, prev);
}

char *upstream_header_dup(struct upstream_exchange *x, const char *name)
{
	struct curl_header *h;

	if (curl_easy_header(x->h->easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return NULL;
	return strdup(h->value);
}

static void upstream_resume(struct upstream_exchange *x)
{
	if (!x->paused)
		return;
	x->paused = false;
	/* May call upstream_on_body at once with the data held back. */
	if (curl_easy_pause(x->h->easy, CURLPAUSE_CONT) != CURLE_OK)
		x->paused = true;
}

ssize_t upstream_read(struct upstream_exchange *x, char *dst, size_t len)
{
	size_t n;

	if (x->body->len == 0 && !x->done) {
		upstream_resume(x);
		if (upstream_drive(x, UPSTREAM_WANT_BODY, x->timeout_ms) != UPSTREAM_OK)
			return -1;
	}
	if (x->body->len == 0)
		return x->done && x->result == CURLE_OK ? 0 : -1;
	n = x->body->len < len ? x->body->len : len;
	memcpy(dst, x->body->data, n);
	buf_consume(x->body, n);
	if (x->body->len < x->buffer_max)
		upstream_resume(x);
	return (ssize_t)n;
}

bool upstream_body_complete(const struct upstream_exchange *x, const char **body,
			    size_t *len)
{
	if (!x->done || x->result != CURLE_OK || x->paused)
		return false;
	*body = x->body->data != NULL ? x->body->data : "";
	*len = x->body->len;
	return true;
}

int upstream_read_all(struct upstream_exchange *x, const char **body, size_t *len)
{
	while (!x->done) {
		/* A full buffer pauses the transfer: then the body is too large. */
		if (x->paused)
			return -1;
		if (upstream_drive(x, UPSTREAM_WANT_DONE, x->timeout_ms) != UPSTREAM_OK)
			return -1;
	}
	if (x->result != CURLE_OK)
		return -1;
	*body = x->body->data != NULL ? x->body->data : "";
	*len = x->body->len;
	return 0;
}

long upstream_header_ms(const struct upstream_exchange *x)
{
	return x->header_ms;
}

void upstream_finish(struct upstream_exchange *x)
{
	if (x == NULL)
		return;
	if (x->h != NULL) {
		/* Removing an unfinished transfer aborts it and drops its connection. */
		if (curl_multi_remove_handle(x->h->multi, x->h->easy) != CURLM_OK) {
			upstream_handle_free(x->h);
		} else {
			/* Nothing may point into the exchange once it is freed. */
			if (curl_easy_setopt(x->h->easy, CURLOPT_ERRORBUFFER, NULL) != CURLE_OK ||
			    curl_easy_setopt(x->h->easy, CURLOPT_HTTPHEADER, NULL) != CURLE_OK ||
			    curl_easy_setopt(x->h->easy, CURLOPT_POSTFIELDS, NULL) != CURLE_OK)
				upstream_handle_free(x->h);
			else {
				if (x->h->body.cap > UPSTREAM_KEEP_BUFFER)
					buf_free(&x->h->body);
				upstream_pool_put(x->pool, x->h);
			}
		}
	}
	free(x);
}
