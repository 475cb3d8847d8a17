/* admin: /healthz, /readyz and /metrics on a separate, loopback listener. */
#include "admin.h"

#include <curl/curl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "meter.h"
#include "netaddr.h"

#define ADMIN_METRICS_MAX (256 * 1024)

struct admin {
	struct MHD_Daemon *daemon;
	struct snapshot_slot *slot;
	struct metrics *m;
	struct store *store;
	unsigned long long (*log_dropped)(void *);
	void *log_cls;
	unsigned port;
};

static enum MHD_Result admin_reply(struct MHD_Connection *c, unsigned status, const char *type,
				   const char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								  MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, "Content-Type", type) != MHD_YES ||
	    MHD_add_response_header(r, "Cache-Control", "no-store") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A TCP connection to the backend within a second: reachable, whatever
 * its pages say. */
static bool admin_backend_reachable(const char *url)
{
	CURL *e = curl_easy_init();
	bool ok;

	if (e == NULL)
		return false;
	ok = curl_easy_setopt(e, CURLOPT_URL, url) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 1000L) == CURLE_OK &&
	     curl_easy_perform(e) == CURLE_OK;
	curl_easy_cleanup(e);
	return ok;
}

/*
 * 503 when the gateway cannot answer as configured: no backend, or a
 * failing meter store unless meter.readyz_requires_store is false (a fleet
 * sharing one Redis would otherwise all leave the load balancer at once,
 * though each still answers per on_store_error).
 */
static enum MHD_Result admin_readyz(struct admin *a, struct MHD_Connection *c)
{
	struct snapshot *s = snapshot_acquire(a->slot);
	bool backend = admin_backend_reachable(s->cfg->upstream.url);
	bool store = a->store == NULL || a->store->ops->ping(a->store) == 0;
	bool store_needed = s->cfg->meter.readyz_requires_store;
	char state[96], body[320];
	int n;

	if (a->store == NULL || store)
		snprintf(state, sizeof(state), "%s", a->store == NULL ? "none" : "ok");
	else
		snprintf(state, sizeof(state), "failing (answers follow on_store_error=%s)",
			 s->cfg->meter.on_store_error == METER_OPEN ? "open" : "closed");
	n = snprintf(body, sizeof(body), "config: loaded\nbackend: %s\nmeter store: %s\n",
		     backend ? "reachable" : "unreachable", state);
	snapshot_release(s);
	return admin_reply(c, backend && (store || !store_needed) ? 200 : 503,
			   "text/plain; charset=utf-8", body, n > 0 ? (size_t)n : 0);
}

static unsigned long long admin_active_promotions(struct admin *a)
{
	struct snapshot *s = snapshot_acquire(a->slot);
	const struct policy_promotions *p = &s->cfg->promotions;
	time_t now = time(NULL);
	unsigned long long n = 0;

	for (size_t i = 0; i < p->n; i++)
		n += now >= p->v[i].starts && now < p->v[i].ends;
	snapshot_release(s);
	return n;
}

static enum MHD_Result admin_metrics(struct admin *a, struct MHD_Connection *c)
{
	struct buf out;
	enum MHD_Result ret;
	unsigned long long dropped = a->log_dropped ? a->log_dropped(a->log_cls) : 0;
	struct store_stats st;

	store_get_stats(a->store, &st);
	buf_init(&out, ADMIN_METRICS_MAX);
	if (metrics_render(a->m, admin_active_promotions(a), dropped, &out) != 0 ||
	    (a->store != NULL && metrics_render_store(&st, &out) != 0)) {
		buf_free(&out);
		return admin_reply(c, 500, "text/plain", "metrics too large\n", 18);
	}
	ret = admin_reply(c, 200, "text/plain; version=0.0.4", out.data ? out.data : "", out.len);
	buf_free(&out);
	return ret;
}

static enum MHD_Result admin_on_request(void *cls, struct MHD_Connection *c, const char *url,
					const char *method, const char *version,
					const char *upload, size_t *upload_size, void **req_cls)
{
	struct admin *a = cls;

	(void)version;
	(void)upload;
	(void)upload_size;
	if (*req_cls == NULL) {
		*req_cls = a;	/* wait for the whole request */
		return MHD_YES;
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return admin_reply(c, 405, "text/plain", "method not allowed\n", 19);
	if (strcmp(url, "/healthz") == 0)
		return admin_reply(c, 200, "text/plain", "ok\n", 3);
	if (strcmp(url, "/readyz") == 0)
		return admin_readyz(a, c);
	if (strcmp(url, "/metrics") == 0)
		return admin_metrics(a, c);
	return admin_reply(c, 404, "text/plain", "not found\n", 10);
}

int admin_start(const char *listen, struct snapshot_slot *slot, struct metrics *m,
		struct store *store, unsigned long long (*log_dropped)(void *), void *log_cls,
		struct admin **out)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	struct admin *a;
	const union MHD_DaemonInfo *di;

	if (netaddr_parse_listen(listen, &ss, &sl) != 0 || (a = calloc(1, sizeof(*a))) == NULL)
		return -1;
	a->slot = slot;
	a->m = m;
	a->store = store;
	a->log_dropped = log_dropped;
	a->log_cls = log_cls;
	a->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				     (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, admin_on_request, a,
				     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				     MHD_OPTION_CONNECTION_LIMIT, 64U,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (a->daemon == NULL) {
		log_error("admin", "cannot listen on %s", listen);
		free(a);
		return -1;
	}
	di = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
	a->port = di != NULL ? di->port : 0;
	*out = a;
	return 0;
}

unsigned admin_port(const struct admin *a)
{
	return a != NULL ? a->port : 0;
}

void admin_stop(struct admin *a)
{
	if (a == NULL)
		return;
	MHD_stop_daemon(a->daemon);
	free(a);
}
