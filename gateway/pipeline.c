/*
 * pipeline: the steps every proxied request takes, in order, in one place.
 *
 *   peer -> request id -> identity -> upstream request -> fetch -> respond
 *
 * Later steps of the paywall (route, decide, rewrite) slot in between;
 * each is a short function in its own module.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "buf.h"
#include "errpage.h"
#include "log.h"
#include "url.h"

#define PIPELINE_URL_MAX (URL_TARGET_MAX + 2048)
#define PIPELINE_XFF_MAX 4096
#define PIPELINE_STREAM_BUFFER (256 * 1024)

struct pipeline {
	struct snapshot *snap;		/* borrowed */
	struct upstream_pool *pool;	/* borrowed */
	struct jwks_fetcher *jwks;	/* borrowed, may be NULL */
	struct identity id;
	struct upstream_exchange *x;
	struct curl_slist *up_headers;
	char reqid[REQID_SIZE];
	char peer[NETADDR_STR_MAX];
	bool peer_trusted;
	struct header_ref out[HEADERS_MAX];
	char *owned[2 * HEADERS_MAX];	/* strings behind out[] */
	size_t n_out;
	size_t n_owned;
};

struct pipeline *pipeline_new(struct snapshot *snap, struct upstream_pool *pool,
			      struct jwks_fetcher *jwks)
{
	struct pipeline *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->snap = snap;
	p->pool = pool;
	p->jwks = jwks;
	p->id.token = IDENTITY_TOKEN_ABSENT;
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	upstream_finish(p->x);
	curl_slist_free_all(p->up_headers);
	for (size_t i = 0; i < p->n_owned; i++)
		free(p->owned[i]);
	free(p);
}

const char *pipeline_request_id(const struct pipeline *p)
{
	return p->reqid;
}

/* Adds a response header, copying both strings. 0 / -1 when full. */
static int pipeline_add_out(struct pipeline *p, const char *name, const char *value)
{
	char *n, *v;

	if (p->n_out >= HEADERS_MAX || p->n_owned + 2 > 2 * HEADERS_MAX)
		return -1;
	n = strdup(name);
	v = strdup(value);
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return -1;
	}
	p->owned[p->n_owned++] = n;
	p->owned[p->n_owned++] = v;
	p->out[p->n_out].name = n;
	p->out[p->n_out].value = v;
	p->n_out++;
	return 0;
}

static void pipeline_identify_peer(struct pipeline *p, const struct pipeline_input *in)
{
	const struct cfg_cidrs *trusted = &p->snap->cfg->server.trusted_proxies;

	netaddr_format(&in->peer, p->peer);
	p->peer_trusted = false;
	for (size_t i = 0; i < trusted->n; i++) {
		if (netaddr_cidr_contains(&trusted->v[i], &in->peer)) {
			p->peer_trusted = true;
			break;
		}
	}
}

/* Keeps a trusted proxy's request id so one id follows the request through
 * every tier; anyone else's could be chosen to collide, so it is replaced. */
static int pipeline_choose_reqid(struct pipeline *p, const struct pipeline_input *in)
{
	const char *sent = headers_find(in->headers, in->nheaders, "X-Request-Id");

	if (p->peer_trusted && reqid_is_valid(sent)) {
		memcpy(p->reqid, sent, strlen(sent) + 1);
		return 0;
	}
	return reqid_generate(p->reqid);
}

static void pipeline_identify_reader(struct pipeline *p, const struct pipeline_input *in)
{
	identity_resolve(&p->snap->cfg->identity, p->snap->keys, p->snap->cache, in->headers,
			 in->nheaders, (long long)time(NULL), &p->id);
	/* The publisher may have rotated keys: look at jwks_url again soon. */
	if (p->id.kid_unknown)
		jwks_fetcher_poke(p->jwks);
}

static int pipeline_append_header(struct curl_slist **list, const char *name,
				  const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	struct curl_slist *l = NULL;
	char *line = malloc(len);

	if (line == NULL)
		return -1;
	/* libcurl sends "Name;" as an empty header; "Name:" would delete it. */
	if (value[0] == '\0')
		snprintf(line, len, "%s;", name);
	else
		snprintf(line, len, "%s: %s", name, value);
	l = curl_slist_append(*list, line);
	free(line);
	if (l == NULL)
		return -1;
	*list = l;
	return 0;
}

/* The joined values of every header called name (trusted chains only). */
static int pipeline_join_values(const struct pipeline_input *in, const char *name,
				struct buf *out)
{
	for (size_t i = 0; i < in->nheaders; i++) {
		if (strcasecmp(in->headers[i].name, name) != 0)
			continue;
		if (out->len > 0 && buf_append_str(out, ", ") != 0)
			return -1;
		if (buf_append_str(out, in->headers[i].value) != 0)
			return -1;
	}
	return 0;
}

static int pipeline_add_forwarded(struct pipeline *p, const struct pipeline_input *in)
{
	const char *host = headers_find(in->headers, in->nheaders, "Host");
	const char *proto = "http";
	char xff[PIPELINE_XFF_MAX];
	struct buf chain;
	int rc = -1;

	buf_init(&chain, PIPELINE_XFF_MAX - NETADDR_STR_MAX - 8);
	if (p->peer_trusted) {
		const char *sent_proto = headers_find(in->headers, in->nheaders,
						      "X-Forwarded-Proto");
		const char *sent_host = headers_find(in->headers, in->nheaders,
						     "X-Forwarded-Host");
		if (sent_proto != NULL && (strcmp(sent_proto, "http") == 0 ||
					   strcmp(sent_proto, "https") == 0))
			proto = sent_proto;
		if (sent_host != NULL && sent_host[0] != '\0')
			host = sent_host;
		if (pipeline_join_values(in, "X-Forwarded-For", &chain) != 0)
			goto out;
	}
	if (headers_forwarded_for(chain.data, p->peer_trusted, p->peer, xff, sizeof(xff)) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Forwarded-For", xff) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Forwarded-Proto", proto) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Request-Id", p->reqid) != 0)
		goto out;
	if (host != NULL && pipeline_append_header(&p->up_headers, "X-Forwarded-Host", host) != 0)
		goto out;
	rc = 0;
out:
	buf_free(&chain);
	return rc;
}

/* Switches off headers libcurl would otherwise invent on the client's behalf. */
static int pipeline_suppress_defaults(struct pipeline *p, const struct pipeline_input *in)
{
	struct curl_slist *l;

	if ((l = curl_slist_append(p->up_headers, "Expect:")) == NULL)
		return -1;
	p->up_headers = l;
	if (headers_find(in->headers, in->nheaders, "Accept") == NULL) {
		if ((l = curl_slist_append(p->up_headers, "Accept:")) == NULL)
			return -1;
		p->up_headers = l;
	}
	if (in->body != NULL && headers_find(in->headers, in->nheaders, "Content-Type") == NULL) {
		if ((l = curl_slist_append(p->up_headers, "Content-Type:")) == NULL)
			return -1;
		p->up_headers = l;
	}
	return 0;
}

/* The verified reader, for the backend to personalise; only the gateway
 * sets these (the client's X-Paywall-* were dropped). */
static int pipeline_add_identity(struct pipeline *p)
{
	char ent[TOKEN_ENT_MAX * (TOKEN_ENT_LEN_MAX + 1) + 1];

	if (p->id.token != IDENTITY_TOKEN_VALID)
		return 0;
	if (identity_join_entitlements(&p->id, ent, sizeof(ent)) != 0)
		return -1;
	if (pipeline_append_header(&p->up_headers, "X-Paywall-User", p->id.claims.sub) != 0)
		return -1;
	return pipeline_append_header(&p->up_headers, "X-Paywall-Entitlements", ent);
}

static int pipeline_build_headers(struct pipeline *p, const struct pipeline_input *in)
{
	const char *connection = headers_find(in->headers, in->nheaders, "Connection");
	bool preserve_host = p->snap->cfg->upstream.preserve_host;

	for (size_t i = 0; i < in->nheaders; i++) {
		const struct header_ref *h = &in->headers[i];
		if (!headers_forward_request(h->name, connection, preserve_host))
			continue;
		if (pipeline_append_header(&p->up_headers, h->name, h->value) != 0)
			return -1;
	}
	if (pipeline_add_forwarded(p, in) != 0 || pipeline_add_identity(p) != 0)
		return -1;
	return pipeline_suppress_defaults(p, in);
}

static void pipeline_error(struct pipeline *p, int status, const struct pipeline_input *in,
			   struct pipeline_output *out)
{
	out->status = status;
	out->stream = false;
	out->body = errpage_body(status, &out->body_len);
	out->length = (long long)out->body_len;
	p->n_out = 0;
	/* A failed add only loses a header of an error page; the page still goes. */
	(void)pipeline_add_out(p, "Content-Type", "text/html; charset=utf-8");
	(void)pipeline_add_out(p, "Cache-Control", "no-store");
	(void)pipeline_add_out(p, "X-Request-Id", p->reqid);
	if (identity_token_header(&p->id) != NULL)
		(void)pipeline_add_out(p, "X-Paywall-Token", identity_token_header(&p->id));
	if (in->draining || status == 400 || status == 413 || status == 431)
		(void)pipeline_add_out(p, "Connection", "close");
	out->headers = p->out;
	out->nheaders = p->n_out;
}

void pipeline_reject(struct pipeline *p, int status, const char *why,
		     const struct pipeline_input *in, struct pipeline_output *out)
{
	pipeline_identify_peer(p, in);
	if (p->reqid[0] == '\0' && reqid_generate(p->reqid) != 0)
		memcpy(p->reqid, "-", 2);
	log_info("httpd", "request %s from %s refused with %d: %s", p->reqid,
		 p->peer[0] ? p->peer : "?", status, why);
	pipeline_error(p, status, in, out);
}

static enum upstream_result pipeline_fetch(struct pipeline *p, const struct pipeline_input *in)
{
	const struct config_upstream *up = &p->snap->cfg->upstream;
	char url[PIPELINE_URL_MAX], err[CURL_ERROR_SIZE + 64];
	struct upstream_request req;
	enum upstream_result r;

	if (url_join(up->url, in->target, url, sizeof(url)) != 0)
		return UPSTREAM_FAILED;
	req.method = in->method;
	req.url = url;
	req.headers = p->up_headers;
	req.body = in->body;
	req.body_len = in->body_len;
	req.connect_timeout_ms = (long)up->connect_timeout_ms;
	req.timeout_ms = (long)up->timeout_ms;
	req.buffer_max = PIPELINE_STREAM_BUFFER;
	req.client_fd = in->client_fd;
	r = upstream_start(p->pool, &req, &p->x, err, sizeof(err));
	if (r != UPSTREAM_OK)
		log_warn("upstream", "request %s: %s to backend failed: %s", p->reqid, in->method, err);
	return r;
}

/* Statuses that never carry a body, whatever Content-Length says. */
static bool pipeline_bodiless(long status, const char *method)
{
	return (status >= 100 && status < 200) || status == 204 || status == 304 ||
	       strcmp(method, "HEAD") == 0;
}

static int pipeline_copy_headers(struct pipeline *p)
{
	char *connection = upstream_header_dup(p->x, "Connection");
	struct curl_header *h = NULL;

	while ((h = upstream_next_header(p->x, h)) != NULL) {
		if (!headers_forward_response(h->name, connection))
			continue;
		if (pipeline_add_out(p, h->name, h->value) != 0) {
			log_warn("upstream", "request %s: response headers past %d dropped",
				 p->reqid, HEADERS_MAX);
			break;
		}
	}
	free(connection);
	return 0;
}

static void pipeline_respond(struct pipeline *p, const struct pipeline_input *in,
			     struct pipeline_output *out)
{
	long status = upstream_status(p->x);

	p->n_out = 0;
	pipeline_copy_headers(p);
	if (pipeline_add_out(p, "X-Request-Id", p->reqid) != 0 ||
	    (identity_token_header(&p->id) != NULL &&
	     pipeline_add_out(p, "X-Paywall-Token", identity_token_header(&p->id)) != 0) ||
	    (in->draining && pipeline_add_out(p, "Connection", "close") != 0)) {
		pipeline_error(p, 500, in, out);
		return;
	}
	out->status = (int)status;
	out->headers = p->out;
	out->nheaders = p->n_out;
	out->body = NULL;
	out->body_len = 0;
	out->length = upstream_content_length(p->x);
	/* HEAD keeps the announced length; other bodiless answers send none. */
	out->stream = strcmp(in->method, "HEAD") == 0 || !pipeline_bodiless(status, in->method);
	if (!out->stream)
		out->length = 0;
	else if (strcmp(in->method, "HEAD") != 0 &&
		 upstream_body_complete(p->x, &out->body, &out->body_len)) {
		out->stream = false;
		out->length = (long long)out->body_len;
	}
}

void pipeline_run(struct pipeline *p, const struct pipeline_input *in,
		  struct pipeline_output *out)
{
	enum upstream_result r;

	pipeline_identify_peer(p, in);
	if (pipeline_choose_reqid(p, in) != 0) {
		pipeline_error(p, 500, in, out);
		return;
	}
	pipeline_identify_reader(p, in);
	if (pipeline_build_headers(p, in) != 0) {
		pipeline_error(p, 500, in, out);
		return;
	}
	r = pipeline_fetch(p, in);
	switch (r) {
	case UPSTREAM_OK:
		pipeline_respond(p, in, out);
		return;
	case UPSTREAM_TIMEOUT:
		pipeline_error(p, 504, in, out);
		return;
	case UPSTREAM_UNREACHABLE:
		pipeline_error(p, 502, in, out);
		return;
	case UPSTREAM_CLIENT_GONE:
	case UPSTREAM_FAILED:
		pipeline_error(p, 500, in, out);
		return;
	}
}

ssize_t pipeline_read(struct pipeline *p, char *dst, size_t len)
{
	ssize_t n;

	if (p->x == NULL)
		return -1;
	n = upstream_read(p->x, dst, len);
	if (n < 0)
		log_warn("upstream", "request %s: response body broke off", p->reqid);
	return n;
}
