/* httpd: the libmicrohttpd adapter. It knows HTTP, nothing of paywalls. */
#include "httpd.h"

#include <microhttpd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "headers.h"
#include "log.h"
#include "netaddr.h"
#include "pipeline.h"
#include "url.h"

/* Generous for curl, OpenSSL and sanitizers; mostly never touched. */
#define HTTPD_THREAD_STACK (512 * 1024)
/* Room for response headers and the send buffer beside the request's. */
#define HTTPD_MEMORY_EXTRA (16 * 1024)
#define HTTPD_BLOCK_SIZE (64 * 1024)
#define HTTPD_DROP_MIN (1024 * 1024)

struct httpd {
	struct MHD_Daemon *daemon;
	struct snapshot_slot *slot;
	const struct services *svc;
	atomic_long inflight;
	atomic_bool draining;
	unsigned port;
};

enum httpd_stage { HTTPD_NEW, HTTPD_BODY, HTTPD_ANSWERED };

/* Per-request state, created when the request line arrives. */
struct httpd_request {
	struct httpd *h;
	struct snapshot *snap;
	struct pipeline *pl;
	char *target;		/* raw, before libmicrohttpd unescapes it */
	enum httpd_stage stage;
	bool has_body;
	struct header_ref headers[HEADERS_MAX];
	size_t nheaders;
	bool too_many_headers;
	size_t body_dropped;	/* bytes past max_body_bytes, read and dropped */
	struct buf body;
	struct pipeline_input in;
};

static void httpd_request_free(struct httpd_request *r)
{
	if (r == NULL)
		return;
	pipeline_free(r->pl);
	snapshot_release(r->snap);
	buf_free(&r->body);
	free(r->target);
	atomic_fetch_sub(&r->h->inflight, 1);
	free(r);
}

/* Called with the raw request target, before any other callback. */
static void *httpd_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct httpd *h = cls;
	struct httpd_request *r = calloc(1, sizeof(*r));

	(void)conn;
	if (r == NULL)
		return NULL;
	r->h = h;
	atomic_fetch_add(&h->inflight, 1);
	r->snap = snapshot_acquire(h->slot);
	r->target = strdup(uri);
	r->pl = pipeline_new(r->snap, h->svc);
	if (r->target == NULL || r->pl == NULL) {
		httpd_request_free(r);
		return NULL;
	}
	buf_init(&r->body, (size_t)r->snap->cfg->server.max_body_bytes);
	return r;
}

static const char *httpd_termination_reason(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error while sending";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "client timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR: return "client closed the connection";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client aborted";
	default: return "unknown";
	}
}

static void httpd_on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			       enum MHD_RequestTerminationCode toe)
{
	struct httpd_request *r = *req_cls;

	(void)cls;
	(void)conn;
	/* Freeing the request aborts its upstream exchange, if still running. */
	if (r != NULL && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && r->stage == HTTPD_ANSWERED)
		log_info("httpd", "request %s ended early: %s", pipeline_request_id(r->pl),
			 httpd_termination_reason(toe));
	if (r != NULL && r->stage == HTTPD_ANSWERED)
		pipeline_log(r->pl, &r->in.peer);
	httpd_request_free(r);
	*req_cls = NULL;
}

static enum MHD_Result httpd_collect_header(void *cls, enum MHD_ValueKind kind,
					    const char *key, const char *value)
{
	struct httpd_request *r = cls;

	(void)kind;
	if (r->nheaders >= HEADERS_MAX) {
		r->too_many_headers = true;
		return MHD_NO;
	}
	r->headers[r->nheaders].name = key;
	r->headers[r->nheaders].value = value ? value : "";
	r->nheaders++;
	return MHD_YES;
}

static ssize_t httpd_read_body(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct httpd_request *r = cls;
	ssize_t n;

	(void)pos;
	n = pipeline_read(r->pl, dst, max);
	if (n > 0)
		return n;
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static struct MHD_Response *httpd_make_response(struct httpd_request *r,
						const struct pipeline_output *out)
{
	struct MHD_Response *resp;

	if (out->stream)
		resp = MHD_create_response_from_callback(
			out->length < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)out->length,
			HTTPD_BLOCK_SIZE, httpd_read_body, r, NULL);
	else
		resp = MHD_create_response_from_buffer(out->body_len, (void *)out->body,
						       MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return NULL;
	for (size_t i = 0; i < out->nheaders; i++) {
		if (MHD_add_response_header(resp, out->headers[i].name,
					    out->headers[i].value) != MHD_YES)
			log_warn("httpd", "request %s: header %s not sent",
				 pipeline_request_id(r->pl), out->headers[i].name);
	}
	return resp;
}

static enum MHD_Result httpd_send(struct MHD_Connection *conn, struct httpd_request *r,
				  const struct pipeline_output *out)
{
	struct MHD_Response *resp = httpd_make_response(r, out);
	enum MHD_Result ret;

	r->stage = HTTPD_ANSWERED;
	if (resp == NULL)
		return MHD_NO;
	ret = MHD_queue_response(conn, (unsigned)out->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result httpd_reject(struct MHD_Connection *conn, struct httpd_request *r,
				    int status, const char *why)
{
	struct pipeline_output out;

	memset(&out, 0, sizeof(out));
	pipeline_reject(r->pl, status, why, &r->in, &out);
	return httpd_send(conn, r, &out);
}

static void httpd_fill_input(struct httpd_request *r, struct MHD_Connection *conn,
			     const char *method)
{
	const union MHD_ConnectionInfo *ci;

	r->in.method = method;
	r->in.target = r->target;
	r->in.headers = r->headers;
	r->in.nheaders = r->nheaders;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || netaddr_from_sockaddr(ci->client_addr, &r->in.peer) != 0)
		memset(&r->in.peer, 0, sizeof(r->in.peer));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	r->in.client_fd = ci != NULL ? ci->connect_fd : -1;
	r->in.draining = atomic_load(&r->h->draining);
}

/*
 * libmicrohttpd lets a response be queued only before or after the upload,
 * so an oversized body is read and dropped to answer 413 at its end; one
 * that goes on for more than the limit again (at least 1 MiB) is cut off.
 */
static enum MHD_Result httpd_take_body(struct httpd_request *r, const char *data,
				       size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (r->body_dropped == 0 && buf_append(&r->body, data, n) == 0)
		return MHD_YES;
	r->body_dropped += n;
	if (r->body_dropped > r->body.max && r->body_dropped > HTTPD_DROP_MIN) {
		log_info("httpd", "request body far past max_body_bytes: connection closed");
		return MHD_NO;
	}
	return MHD_YES;
}

/* Sum of the request line and header bytes as sent (near enough: name,
 * ": ", value, CRLF), checked against max_header_bytes. */
static bool httpd_headers_too_large(const struct httpd_request *r, const char *method)
{
	size_t total = strlen(method) + strlen(r->target) + 12;

	for (size_t i = 0; i < r->nheaders; i++)
		total += strlen(r->headers[i].name) + strlen(r->headers[i].value) + 4;
	return total > (size_t)r->snap->cfg->server.max_header_bytes;
}

/* First call: the headers are in, the body (if any) is not. */
static enum MHD_Result httpd_begin(struct MHD_Connection *conn, struct httpd_request *r,
				   const char *method)
{
	const char *why, *cl;

	MHD_get_connection_values(conn, MHD_HEADER_KIND, httpd_collect_header, r);
	httpd_fill_input(r, conn, method);
	if (r->too_many_headers)
		return httpd_reject(conn, r, 431, "too many header fields");
	if (httpd_headers_too_large(r, method))
		return httpd_reject(conn, r, 431, "header fields too large");
	if ((why = url_check_target(r->target)) != NULL)
		return httpd_reject(conn, r, 400, why);
	if ((why = headers_check_request(r->headers, r->nheaders)) != NULL)
		return httpd_reject(conn, r, 400, why);
	cl = headers_find(r->headers, r->nheaders, "Content-Length");
	r->has_body = headers_find(r->headers, r->nheaders, "Transfer-Encoding") != NULL ||
		      (cl != NULL && strcmp(cl, "0") != 0) ||
		      strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		      strcmp(method, "PATCH") == 0;
	/* headers_check_request proved cl decimal and at most 18 digits. */
	if (cl != NULL && strtoll(cl, NULL, 10) > r->snap->cfg->server.max_body_bytes)
		return httpd_reject(conn, r, 413, "declared body too large");
	r->stage = HTTPD_BODY;
	return MHD_YES;
}

static enum MHD_Result httpd_on_request(void *cls, struct MHD_Connection *conn,
					const char *url, const char *method,
					const char *version, const char *upload_data,
					size_t *upload_data_size, void **req_cls)
{
	struct httpd_request *r = *req_cls;
	struct pipeline_output out;

	(void)cls;
	(void)url;
	(void)version;
	if (r == NULL)
		return MHD_NO;	/* out of memory at the request line: drop it */
	switch (r->stage) {
	case HTTPD_NEW:
		return httpd_begin(conn, r, method);
	case HTTPD_BODY:
		if (*upload_data_size > 0)
			return httpd_take_body(r, upload_data, upload_data_size);
		if (r->body_dropped > 0)
			return httpd_reject(conn, r, 413, "body too large");
		memset(&out, 0, sizeof(out));
		if (r->has_body) {
			r->in.body = r->body.data ? r->body.data : "";
			r->in.body_len = r->body.len;
		}
		pipeline_run(r->pl, &r->in, &out);
		return httpd_send(conn, r, &out);
	case HTTPD_ANSWERED:
		/* Body bytes after an early answer are read and dropped. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	return MHD_NO;
}

static void httpd_log_mhd(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		return;
	msg[strcspn(msg, "\n")] = '\0';
	log_warn("httpd", "libmicrohttpd: %s", msg);
}

int httpd_start(const struct config *cfg, struct snapshot_slot *slot,
		const struct services *svc, struct httpd **out)
{
	const struct config_server *s = &cfg->server;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct httpd *h;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_USE_ITC;

	if (netaddr_parse_listen(s->listen, &ss, &sl) != 0) {
		log_error("httpd", "bad listen address %s", s->listen);
		return -1;
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -1;
	h->slot = slot;
	h->svc = svc;
	atomic_init(&h->inflight, 0);
	atomic_init(&h->draining, false);
	h->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, httpd_on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, httpd_log_mhd, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->max_connections,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)s->max_header_bytes + HTTPD_MEMORY_EXTRA,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->client_timeout_s,
		MHD_OPTION_THREAD_STACK_SIZE, (size_t)HTTPD_THREAD_STACK,
		MHD_OPTION_STRICT_FOR_CLIENT, 1,
		MHD_OPTION_URI_LOG_CALLBACK, httpd_on_uri, h,
		MHD_OPTION_NOTIFY_COMPLETED, httpd_on_completed, h,
		MHD_OPTION_END);
	if (h->daemon == NULL) {
		log_error("httpd", "cannot listen on %s", s->listen);
		free(h);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di != NULL ? di->port : 0;
	*out = h;
	return 0;
}

unsigned httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_quiesce(struct httpd *h)
{
	MHD_socket fd;

	atomic_store(&h->draining, true);
	fd = MHD_quiesce_daemon(h->daemon);
	/* After quiescing, the listening socket is ours to close. */
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

bool httpd_wait_idle(struct httpd *h, long timeout_ms)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };

	for (long waited = 0; atomic_load(&h->inflight) > 0; waited += 10) {
		if (waited >= timeout_ms)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

void httpd_stop(struct httpd *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
