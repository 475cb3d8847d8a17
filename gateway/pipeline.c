/*
 * pipeline: the steps every proxied request takes, in order, in one place.
 *
 *   peer -> request id -> normalize + route -> identity -> visitor
 *     -> upstream request -> fetch -> backend hints -> decide -> meter
 *     -> respond
 *
 * Each step is a short function here or in its own module; the decision
 * itself is policy_decide (pure), the only side effect the meter's one
 * atomic check-and-count.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "errpage.h"
#include "log.h"
#include "gzip.h"
#include "policy.h"
#include "rewrite.h"
#include "route.h"
#include "url.h"
#include "visitor.h"

#define PIPELINE_URL_MAX (URL_TARGET_MAX + 2048)
#define PIPELINE_XFF_MAX 4096
#define PIPELINE_STREAM_BUFFER (256 * 1024)
/* Gated answers may have to be cut whole: room for the largest page. */
#define PIPELINE_GATED_BUFFER (TEASER_PAGE_MAX + 64 * 1024)

/* What the gate decided for this request, and why. */
struct pipeline_gate {
	enum policy_access access;	/* route, then the backend's override */
	const struct policy_route *route;
	struct policy_result result;
	bool meter_consulted;
	unsigned meter_limit, meter_remaining;
	bool set_visitor_cookie;
	uint8_t visitor[VISITOR_ID_LEN];
	bool has_visitor;
	bool crawler;
	struct netaddr client;		/* the reader's address (trusted XFF) */
	bool client_set;
	unsigned meter_used;
	bool decided;
};

struct pipeline {
	struct snapshot *snap;		/* borrowed */
	const struct services *svc;	/* borrowed */
	struct identity id;
	struct pipeline_gate gate;
	struct rewrite_out rw;		/* the replacement body, when rewritten */
	bool rewritten;
	char *gz;			/* the rewritten body, gzip-encoded */
	struct buf xff;			/* a trusted peer's X-Forwarded-For chain, joined once */
	bool xff_ok;
	size_t gz_len;
	int64_t started_ms;		/* wall clock, for the log line */
	struct timespec t0;
	int status_sent;		/* 0 until answered */
	long long bytes_sent;
	char method[16];
	char article[ROUTE_TARGET_MAX + 1];
	char target[ROUTE_TARGET_MAX + 1];	/* normalized path and query */
	char path[ROUTE_TARGET_MAX + 1];	/* normalized path alone */
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

static int pipeline_join_values(const struct pipeline_input *in, const char *name,
				struct buf *out);
static void pipeline_answered(struct pipeline *p, const struct pipeline_input *in,
			      const struct pipeline_output *out);

struct pipeline *pipeline_new(struct snapshot *snap, const struct services *svc)
{
	struct pipeline *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->snap = snap;
	p->svc = svc;
	buf_init(&p->xff, PIPELINE_XFF_MAX - NETADDR_STR_MAX - 8);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	p->started_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->id.token = IDENTITY_TOKEN_ABSENT;
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	upstream_finish(p->x);
	rewrite_out_free(&p->rw);
	free(p->gz);
	buf_free(&p->xff);
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

/* Normalizes once: the very target the route is matched on is forwarded. */
static const char *pipeline_route(struct pipeline *p, const struct pipeline_input *in)
{
	size_t plen;
	const char *why = route_normalize(in->target, p->target, sizeof(p->target), &plen);

	if (why != NULL)
		return why;
	memcpy(p->path, p->target, plen);
	p->path[plen] = '\0';
	p->gate.route = policy_match_route(&p->snap->cfg->routes, p->path);
	p->gate.access = p->gate.route != NULL ? p->gate.route->access : POLICY_UNMATCHED;
	return NULL;
}

/* The right-most X-Forwarded-For entry that is not a trusted proxy: every
 * entry left of it could have been written by the client. */
static void pipeline_client_from_chain(struct pipeline *p, char *chain)
{
	const struct cfg_cidrs *trusted = &p->snap->cfg->server.trusted_proxies;
	char *end = chain + strlen(chain);

	while (end > chain) {
		char *start = end;
		while (start > chain && start[-1] != ',')
			start--;
		char *b = start, *e = end;
		while (b < e && (*b == ' ' || *b == '\t'))
			b++;
		while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		*e = '\0';
		struct netaddr a;
		if (netaddr_parse(b, &a) != 0)
			return;	/* unparseable: trust nothing further left */
		p->gate.client = a;
		bool is_trusted = false;
		for (size_t i = 0; i < trusted->n && !is_trusted; i++)
			is_trusted = netaddr_cidr_contains(&trusted->v[i], &a);
		if (!is_trusted)
			return;
		end = start > chain ? start - 1 : chain;
	}
}

/* Joins a trusted peer's X-Forwarded-For chain once: it gives the reader's
 * address here and is extended for the backend in pipeline_add_forwarded. */
static void pipeline_client_address(struct pipeline *p, const struct pipeline_input *in)
{
	char copy[PIPELINE_XFF_MAX];

	p->gate.client = in->peer;
	p->gate.client_set = true;
	p->xff_ok = !p->peer_trusted || pipeline_join_values(in, "X-Forwarded-For", &p->xff) == 0;
	if (!p->peer_trusted || !p->xff_ok || p->xff.data == NULL)
		return;
	/* pipeline_client_from_chain cuts the string up as it walks it. */
	memcpy(copy, p->xff.data, p->xff.len + 1);
	pipeline_client_from_chain(p, copy);
}

/* A valid signed visitor cookie, or none (a new id is made only when a
 * gated route needs one). */
static void pipeline_visitor(struct pipeline *p, const struct pipeline_input *in)
{
	const struct visitor_config *vc = &p->snap->cfg->visitor;

	if (vc->enabled &&
	    visitor_read(vc, headers_find(in->headers, in->nheaders, "Cookie"), p->gate.visitor) == 0)
		p->gate.has_visitor = true;
}

static void pipeline_identify_reader(struct pipeline *p, const struct pipeline_input *in)
{
	identity_resolve(&p->snap->cfg->identity, p->snap->keys, p->snap->cache, in->headers,
			 in->nheaders, (long long)time(NULL), &p->id);
	/* The publisher may have rotated keys: look at jwks_url again soon. */
	if (p->id.kid_unknown)
		jwks_fetcher_poke(p->svc->jwks);
	if (p->id.token == IDENTITY_TOKEN_INVALID || p->id.token == IDENTITY_TOKEN_EXPIRED)
		metrics_count_token_reject(p->svc->metrics, p->id.reject);
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

	if (!p->xff_ok)
		return -1;	/* the chain was longer than allowed */
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
	}
	if (headers_forwarded_for(p->xff.data, p->peer_trusted, p->peer, xff, sizeof(xff)) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Forwarded-For", xff) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Forwarded-Proto", proto) != 0 ||
	    pipeline_append_header(&p->up_headers, "X-Request-Id", p->reqid) != 0)
		return -1;
	if (host != NULL && pipeline_append_header(&p->up_headers, "X-Forwarded-Host", host) != 0)
		return -1;
	return 0;
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

/*
 * On gated routes the gateway must get the whole page, in bytes it can cut:
 * no Range (a tail of the article), no conditional request (a 304 that
 * lets a cache show its full copy), no encoding it cannot rewrite.
 */
static bool pipeline_side_door(const char *name)
{
	static const char *const doors[] = { "Range", "If-Range", "If-None-Match",
					     "If-Modified-Since", "If-Match", "If-Unmodified-Since",
					     "Accept-Encoding" };

	for (size_t i = 0; i < sizeof(doors) / sizeof(doors[0]); i++)
		if (strcasecmp(name, doors[i]) == 0)
			return true;
	return false;
}

static bool pipeline_gated(enum policy_access a);

static int pipeline_build_headers(struct pipeline *p, const struct pipeline_input *in)
{
	const char *connection = headers_find(in->headers, in->nheaders, "Connection");
	bool preserve_host = p->snap->cfg->upstream.preserve_host;
	bool gated = pipeline_gated(p->gate.access);

	if (gated && pipeline_append_header(&p->up_headers, "Accept-Encoding", "identity") != 0)
		return -1;
	for (size_t i = 0; i < in->nheaders; i++) {
		const struct header_ref *h = &in->headers[i];
		if (!headers_forward_request(h->name, connection, preserve_host))
			continue;
		if (gated && pipeline_side_door(h->name))
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
	metrics_count_status(p->svc->metrics, status);
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
	pipeline_answered(p, in, out);
}

static enum upstream_result pipeline_fetch(struct pipeline *p, const struct pipeline_input *in)
{
	const struct config_upstream *up = &p->snap->cfg->upstream;
	char url[PIPELINE_URL_MAX], err[CURL_ERROR_SIZE + 64];
	struct upstream_request req;
	enum upstream_result r;

	if (url_join(up->url, p->target, url, sizeof(url)) != 0)
		return UPSTREAM_FAILED;
	/* A gated HEAD is fetched as GET: its headers (length included) must
	 * be those of the answer a GET would get, teaser or full. */
	req.method = pipeline_gated(p->gate.access) && strcmp(in->method, "HEAD") == 0 ? "GET" :
		     in->method;
	req.url = url;
	req.headers = p->up_headers;
	req.body = in->body;
	req.body_len = in->body_len;
	req.connect_timeout_ms = (long)up->connect_timeout_ms;
	req.timeout_ms = (long)up->timeout_ms;
	req.buffer_max = pipeline_gated(p->gate.access) ? PIPELINE_GATED_BUFFER :
			 PIPELINE_STREAM_BUFFER;
	req.client_fd = in->client_fd;
	r = upstream_start(p->svc->pool, &req, &p->x, err, sizeof(err));
	metrics_observe_upstream(p->svc->metrics, r == UPSTREAM_OK ? upstream_header_ms(p->x) :
				 r == UPSTREAM_CLIENT_GONE ? 0 : -1);
	if (r != UPSTREAM_OK)
		log_warn("upstream", "request %s: %s to backend failed: %s", p->reqid, in->method, err);
	return r;
}

/* ---- the gate: backend hints, decision, meter ---- */

static bool pipeline_gated(enum policy_access a)
{
	return a == POLICY_METERED || a == POLICY_SUBSCRIBERS;
}

/* X-Paywall-Access and X-Paywall-Article-Id from the backend (stripped from
 * the response like every X-Paywall-* header). */
static void pipeline_backend_hints(struct pipeline *p, char *article, size_t len)
{
	char *access = upstream_header_dup(p->x, "X-Paywall-Access");
	char *aid = upstream_header_dup(p->x, "X-Paywall-Article-Id");
	enum policy_access a;

	if (access != NULL && policy_access_parse(access, &a) == 0)
		p->gate.access = a;
	else if (access != NULL)
		log_warn("gate", "request %s: backend sent an unknown X-Paywall-Access", p->reqid);
	if (aid != NULL && aid[0] != '\0' && strlen(aid) < len)
		snprintf(article, len, "%s", aid);
	else
		snprintf(article, len, "%s", p->path);
	free(access);
	free(aid);
}

static void pipeline_hash(const char *s, uint8_t out[16])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n < 16)
		memset(md, 0, 16);
	memcpy(out, md, 16);
}

/* Registered readers are metered by their token's sub, everyone else by
 * the visitor cookie's id. */
static const struct meter_audience *pipeline_reader(struct pipeline *p, struct meter_reader *r)
{
	const struct meter_config *mc = &p->snap->cfg->meter;

	if (p->id.token == IDENTITY_TOKEN_VALID) {
		r->kind = 'u';
		pipeline_hash(p->id.claims.sub, r->id);
		return &mc->registered;
	}
	r->kind = 'v';
	memcpy(r->id, p->gate.visitor, VISITOR_ID_LEN);
	return &mc->anonymous;
}

/* The one side effect of a decision: one atomic check-and-count. Only a
 * full 2xx answer to a GET counts; anything else only looks. */
static void pipeline_meter(struct pipeline *p, const struct pipeline_input *in,
			   const char *article, int64_t now)
{
	const struct meter_config *mc = &p->snap->cfg->meter;
	struct store *st = p->svc->store;
	long status = upstream_status(p->x);
	bool count = strcmp(in->method, "GET") == 0 && status >= 200 && status < 300;
	const struct meter_audience *aud;
	struct meter_reader r;
	enum store_result res = STORE_ERROR;
	uint8_t art[16];
	unsigned used = 0;

	aud = pipeline_reader(p, &r);
	pipeline_hash(article, art);
	if (st != NULL)
		res = st->ops->check_and_count(st, &r, art, now, meter_window_start(&aud->period, now),
					       meter_period_max_age(&aud->period), (unsigned)aud->limit,
					       !count, &used);
	if (res == STORE_ERROR) {
		unsigned long long n = atomic_fetch_add(&p->svc->metrics->meter_store_errors, 1) + 1;
		/* Once a second: an outage must not write a line per request. */
		if (log_due(&p->svc->metrics->store_error_logged, 1000))
			log_error("meter", "request %s: meter store failed (%llu so far), "
				  "on_store_error=%s", p->reqid, n,
				  mc->on_store_error == METER_OPEN ? "open" : "closed");
		p->gate.result.decision = mc->on_store_error == METER_OPEN ? POLICY_FULL : POLICY_TEASER;
		p->gate.result.reason = POLICY_R_METER_UNAVAILABLE;
		return;
	}
	p->gate.meter_consulted = true;
	p->gate.meter_used = used;
	p->gate.meter_limit = (unsigned)aud->limit;
	p->gate.meter_remaining = used >= aud->limit ? 0 : (unsigned)aud->limit - used;
	if (res == STORE_LIMIT) {
		p->gate.result.decision = POLICY_TEASER;
		p->gate.result.reason = POLICY_R_METER_EXHAUSTED;
	} else {
		p->gate.result.decision = POLICY_FULL;
	}
}

static void pipeline_decide(struct pipeline *p, const struct pipeline_input *in)
{
	const struct config *cfg = p->snap->cfg;
	const struct policy_route *rt = p->gate.route;
	struct policy_input pi;
	char article[ROUTE_TARGET_MAX + 1];
	int64_t now = (int64_t)time(NULL);
	bool registered = p->id.token == IDENTITY_TOKEN_VALID;

	pipeline_backend_hints(p, article, sizeof(article));
	memcpy(p->article, article, strlen(article) + 1);
	p->gate.decided = true;
	memset(&pi, 0, sizeof(pi));
	pi.access = p->gate.access;
	pi.route_entitlements = rt != NULL && rt->entitlements.n > 0 ?
				&rt->entitlements : &cfg->identity.subscriber_entitlements;
	pi.subscriber_entitlements = &cfg->identity.subscriber_entitlements;
	pi.id = &p->id;
	if (pipeline_gated(pi.access)) {
		pi.promotion = policy_active_promotion(&cfg->promotions, p->path, registered, now);
		pi.crawler = policy_crawler_verified(&cfg->crawlers,
						     headers_find(in->headers, in->nheaders,
								  "User-Agent"), &p->gate.client);
		/* The visitor cookie is set on the first gated answer to a reader without one. */
		if (!p->gate.has_visitor && cfg->visitor.enabled &&
		    visitor_new(p->gate.visitor) == 0) {
			p->gate.has_visitor = true;
			p->gate.set_visitor_cookie = true;
		}
	}
	p->gate.crawler = pi.crawler;
	policy_decide(&pi, &p->gate.result);
	if (p->gate.result.decision == POLICY_ASK_METER)
		pipeline_meter(p, in, article, now);
}

/* The body to rewrite, decoded when the backend encoded it despite being
 * asked for identity. NULL when it cannot be had whole. *decoded (to free)
 * is set when decoding allocated. */
static const char *pipeline_whole_body(struct pipeline *p, size_t *len, char **decoded)
{
	char *ce = upstream_header_dup(p->x, "Content-Encoding");
	const char *body = NULL;
	size_t n = 0;

	*decoded = NULL;
	if (upstream_read_all(p->x, &body, &n) != 0) {
		log_warn("rewrite", "request %s: body too large or broken off", p->reqid);
		body = NULL;
	} else if (ce != NULL && strcasecmp(ce, "identity") != 0) {
		bool zlib = strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0 ||
			    strcasecmp(ce, "deflate") == 0;
		if (!zlib || gzip_decode(body, n, TEASER_PAGE_MAX, decoded, &n) != 0) {
			log_warn("rewrite", "request %s: cannot decode Content-Encoding %s", p->reqid, ce);
			body = NULL;
		} else {
			body = *decoded;
		}
	}
	free(ce);
	*len = n;
	return body;
}

/* Everything a teaser depends on, hashed: a hit is the same page under the
 * same rules with the same values, never another one. */
static void pipeline_teaser_key(const struct pipeline *p, const struct rewrite_values *v,
				const char *body, size_t len, uint8_t key[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned long gen = p->snap->generation;
	const char *parts[] = { p->target, v->reason, v->meter_limit, v->meter_remaining,
				v->promotion };
	bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(ctx, &gen, sizeof(gen)) == 1;

	for (size_t i = 0; ok && i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t n = strlen(parts[i]) + 1;	/* with the NUL: parts cannot run together */
		ok = EVP_DigestUpdate(ctx, parts[i], n) == 1;
	}
	ok = ok && EVP_DigestUpdate(ctx, body, len) == 1 && EVP_DigestFinal_ex(ctx, key, NULL) == 1;
	if (!ok)
		memset(key, 0, 32);
	EVP_MD_CTX_free(ctx);
}

static int pipeline_teaser_cached(struct pipeline *p, const struct teaser_config *global,
				  const struct teaser_config *route, const char *ct,
				  const char *body, size_t len, const struct rewrite_values *v)
{
	uint8_t key[32] = { 0 };
	int rc;

	if (p->svc->teasers != NULL && rewrite_is_html(ct) && len > 0) {
		pipeline_teaser_key(p, v, body, len, key);
		if (tcache_get(p->svc->teasers, key, &p->rw.body, &p->rw.len) == 0) {
			atomic_fetch_add(&p->svc->metrics->teaser_cache_hits, 1);
			p->rw.status = 200;
			p->rw.content_type = "text/html; charset=utf-8";
			p->rw.outcome = "teaser";
			return 0;
		}
		atomic_fetch_add(&p->svc->metrics->teaser_cache_misses, 1);
	}
	rc = rewrite_teaser(global, route, ct, body, len, v, &p->rw);
	/* Only real teasers: a generic page or a 402 is cheap to make again. */
	if (rc == 0 && p->svc->teasers != NULL && strcmp(p->rw.outcome, "teaser") == 0 && len > 0)
		tcache_put(p->svc->teasers, key, p->rw.body, p->rw.len);
	return rc;
}

/*
 * A teaser, or a promotion's banner, needs the whole page. A teaser that
 * cannot be made from it becomes the generic paywall page or a 402; the
 * backend's bytes never go out whole to a reader without access.
 */
static int pipeline_rewrite(struct pipeline *p)
{
	const struct config *cfg = p->snap->cfg;
	const struct pipeline_gate *g = &p->gate;
	const struct policy_promotion *promo = g->result.promotion;
	bool teaser = g->result.decision == POLICY_TEASER;
	bool banner = !teaser && promo != NULL && promo->banner_tmpl != NULL;
	long status = upstream_status(p->x);
	char lim[16] = "", rem[16] = "", *ct = NULL, *decoded = NULL;
	const char *body;
	size_t len = 0;
	int rc = 0;

	/* Error answers are the backend's own pages, not the article. */
	if ((!teaser && !banner) || status < 200 || status >= 300)
		return 0;
	body = pipeline_whole_body(p, &len, &decoded);
	if (body == NULL && !teaser)
		return 0;	/* a banner is a nicety: send the granted page as it is */
	/* Only a whole 200 can be cut; a 206 or any other part is never sent. */
	if (body == NULL || status != 200) {
		body = "";
		len = 0;
	}
	if (g->meter_consulted) {
		snprintf(lim, sizeof(lim), "%u", g->meter_limit);
		snprintf(rem, sizeof(rem), "%u", g->meter_remaining);
	}
	struct rewrite_values v = { lim, rem, p->target, promo ? promo->id : "",
				    policy_reason_name(g->result.reason) };
	const struct teaser_config *rt = g->route != NULL ? g->route->teaser : NULL;
	ct = upstream_header_dup(p->x, "Content-Type");
	if (teaser) {
		rc = pipeline_teaser_cached(p, &cfg->teaser, rt, ct, body, len, &v);
		p->rewritten = rc == 0;
	} else if (rewrite_banner(&cfg->teaser, rt, promo->banner_tmpl, ct, body, len, &v,
				  &p->rw) == 0) {
		p->rewritten = true;
	}
	free(ct);
	free(decoded);
	return rc;
}

/* Compresses a rewritten body for clients that accept gzip. */
static void pipeline_compress(struct pipeline *p, const struct pipeline_input *in)
{
	const char *ae = headers_find(in->headers, in->nheaders, "Accept-Encoding");

	if (!p->rewritten || p->rw.len < 256 || !gzip_accepted(ae))
		return;
	if (gzip_encode(p->rw.body, p->rw.len, &p->gz, &p->gz_len) != 0) {
		p->gz = NULL;
		p->gz_len = 0;
	}
}

static int pipeline_add_gate_headers(struct pipeline *p)
{
	const struct pipeline_gate *g = &p->gate;
	char num[32], cookie[VISITOR_SET_COOKIE_MAX];
	int rc = 0;

	if (g->access == POLICY_UNMATCHED)
		return 0;
	rc |= pipeline_add_out(p, "X-Paywall-Decision",
			       g->result.decision == POLICY_FULL ? "full" : "teaser");
	rc |= pipeline_add_out(p, "X-Paywall-Reason", policy_reason_name(g->result.reason));
	if (g->result.promotion != NULL)
		rc |= pipeline_add_out(p, "X-Paywall-Promotion", g->result.promotion->id);
	if (g->meter_consulted) {
		snprintf(num, sizeof(num), "%u", g->meter_limit);
		rc |= pipeline_add_out(p, "X-Meter-Limit", num);
		snprintf(num, sizeof(num), "%u", g->meter_remaining);
		rc |= pipeline_add_out(p, "X-Meter-Remaining", num);
	}
	if (!pipeline_gated(g->access))
		return rc;
	/* One reader's page must never be stored for another by a shared cache. */
	rc |= pipeline_add_out(p, "Cache-Control", "private");
	rc |= pipeline_add_out(p, "Vary", "Cookie, Authorization, Accept-Encoding");
	if (p->rewritten) {
		rc |= pipeline_add_out(p, "Content-Type", p->rw.content_type);
		if (p->gz != NULL)
			rc |= pipeline_add_out(p, "Content-Encoding", "gzip");
	}
	if (g->set_visitor_cookie &&
	    visitor_set_cookie(&p->snap->cfg->visitor, g->visitor, cookie, sizeof(cookie)) == 0)
		rc |= pipeline_add_out(p, "Set-Cookie", cookie);
	return rc;
}

/* Statuses that never carry a body, whatever Content-Length says. */
static bool pipeline_bodiless(long status, const char *method)
{
	return (status >= 100 && status < 200) || status == 204 || status == 304 ||
	       strcmp(method, "HEAD") == 0;
}

static bool pipeline_representation_header(const char *name)
{
	static const char *const rep[] = { "ETag", "Last-Modified", "Content-Type",
					   "Content-Encoding", "Content-Range", "Accept-Ranges",
					   "Content-MD5", "Digest", "Content-Location" };

	for (size_t i = 0; i < sizeof(rep) / sizeof(rep[0]); i++)
		if (strcasecmp(name, rep[i]) == 0)
			return true;
	return false;
}

static int pipeline_copy_headers(struct pipeline *p)
{
	char *connection = upstream_header_dup(p->x, "Connection");
	struct curl_header *h = NULL;

	while ((h = upstream_next_header(p->x, h)) != NULL) {
		if (!headers_forward_response(h->name, connection))
			continue;
		/* A gated answer's caching is the gateway's to state. */
		if (pipeline_gated(p->gate.access) &&
		    (strcasecmp(h->name, "Cache-Control") == 0 || strcasecmp(h->name, "Vary") == 0 ||
		     strcasecmp(h->name, "Expires") == 0))
			continue;
		/* A rewritten body is another representation: the full page's
		 * validators, ranges and encoding must not describe it. */
		if (p->rewritten && pipeline_representation_header(h->name))
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
	if (pipeline_add_gate_headers(p) != 0 ||
	    pipeline_add_out(p, "X-Request-Id", p->reqid) != 0 ||
	    (identity_token_header(&p->id) != NULL &&
	     pipeline_add_out(p, "X-Paywall-Token", identity_token_header(&p->id)) != 0) ||
	    (in->draining && pipeline_add_out(p, "Connection", "close") != 0)) {
		pipeline_error(p, 500, in, out);
		return;
	}
	out->status = p->rewritten ? p->rw.status : (int)status;
	out->headers = p->out;
	out->nheaders = p->n_out;
	out->body = NULL;
	out->body_len = 0;
	if (p->rewritten) {
		out->stream = false;
		out->body = p->gz != NULL ? p->gz : p->rw.body;
		out->body_len = p->gz != NULL ? p->gz_len : p->rw.len;
		out->length = (long long)out->body_len;
		return;
	}
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

static void pipeline_count(struct pipeline *p, const struct pipeline_output *out)
{
	struct metrics *m = p->svc->metrics;

	metrics_count_status(m, out->status);
	if (p->gate.access != POLICY_UNMATCHED)
		metrics_count_decision(m, p->gate.result.decision == POLICY_FULL, p->gate.result.reason);
	if (p->rewritten)
		metrics_count_rewrite(m, p->rw.outcome);
}

/* What went out, for the access log; streamed bytes are added as they go. */
static void pipeline_answered(struct pipeline *p, const struct pipeline_input *in,
			      const struct pipeline_output *out)
{
	p->status_sent = out->status;
	snprintf(p->method, sizeof(p->method), "%s", in->method);
	if (!out->stream && strcmp(in->method, "HEAD") != 0)
		p->bytes_sent = (long long)out->body_len;
}

static void pipeline_run_steps(struct pipeline *p, const struct pipeline_input *in,
			       struct pipeline_output *out);

void pipeline_run(struct pipeline *p, const struct pipeline_input *in,
		  struct pipeline_output *out)
{
	pipeline_run_steps(p, in, out);
	pipeline_answered(p, in, out);
}

static void pipeline_run_steps(struct pipeline *p, const struct pipeline_input *in,
			       struct pipeline_output *out)
{
	enum upstream_result r;

	const char *why;

	pipeline_identify_peer(p, in);
	if (pipeline_choose_reqid(p, in) != 0) {
		pipeline_error(p, 500, in, out);
		return;
	}
	if ((why = pipeline_route(p, in)) != NULL) {
		pipeline_reject(p, 400, why, in, out);
		return;
	}
	pipeline_identify_reader(p, in);
	pipeline_client_address(p, in);
	pipeline_visitor(p, in);
	if (pipeline_build_headers(p, in) != 0) {
		pipeline_error(p, 500, in, out);
		return;
	}
	r = pipeline_fetch(p, in);
	switch (r) {
	case UPSTREAM_OK:
		pipeline_decide(p, in);
		if (pipeline_rewrite(p) != 0) {
			pipeline_error(p, 500, in, out);
			return;
		}
		pipeline_compress(p, in);
		pipeline_respond(p, in, out);
		pipeline_count(p, out);
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

static const char *pipeline_token_name(enum identity_token t)
{
	static const char *const names[] = { "absent", "valid", "invalid", "expired" };

	return (unsigned)t < 4 ? names[t] : "absent";
}

void pipeline_log(struct pipeline *p, const struct netaddr *peer)
{
	const struct pipeline_gate *g = &p->gate;
	bool gated = g->decided && g->access != POLICY_UNMATCHED;
	struct timespec now;
	struct accesslog_record r;

	if (p == NULL || p->svc->log == NULL || p->status_sent == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	memset(&r, 0, sizeof(r));
	r.ts_ms = p->started_ms;
	r.id = p->reqid[0] ? p->reqid : NULL;
	r.method = p->method[0] ? p->method : NULL;
	r.path = p->path[0] ? p->path : NULL;
	r.status = p->status_sent;
	r.bytes = p->bytes_sent;
	r.ms = (long)((now.tv_sec - p->t0.tv_sec) * 1000 + (now.tv_nsec - p->t0.tv_nsec) / 1000000);
	r.upstream_ms = p->x != NULL ? upstream_header_ms(p->x) : -1;
	r.client = g->client_set ? &g->client : peer;
	r.decision = gated ? (g->result.decision == POLICY_FULL ? "full" : "teaser") : NULL;
	r.reason = gated ? policy_reason_name(g->result.reason) : NULL;
	r.promotion = g->result.promotion != NULL ? g->result.promotion->id : NULL;
	r.article = gated ? p->article : NULL;
	r.meter_used = g->meter_consulted ? (long long)g->meter_used : -1;
	r.meter_limit = g->meter_consulted ? (long long)g->meter_limit : -1;
	r.token = pipeline_token_name(p->id.token);
	r.visitor = g->has_visitor ? g->visitor : NULL;
	r.user = p->id.token == IDENTITY_TOKEN_VALID ? p->id.claims.sub : NULL;
	r.crawler = g->crawler;
	accesslog_write(p->svc->log, &r);
}

ssize_t pipeline_read(struct pipeline *p, char *dst, size_t len)
{
	ssize_t n;

	if (p->x == NULL)
		return -1;
	n = upstream_read(p->x, dst, len);
	if (n > 0)
		p->bytes_sent += n;
	if (n < 0)
		log_warn("upstream", "request %s: response body broke off", p->reqid);
	return n;
}
