/* identity: who is asking. A verified subscriber token, or nobody known. */
#include "identity.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cookie.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* `issuer: X` or `issuer: [X, Y]`. */
static int identity_parse_issuer(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	static const struct cfg_field list = { "issuer", CFG_STRS, 0, false, 0, 0, NULL, NULL };
	struct cfg_strs *s = value;
	const char *one = cfg_scalar(n);
	char **v;

	if (n->type == YAML_SEQUENCE_NODE)
		return cfg_parse_value(c, n, &list, s);
	if (one == NULL || one[0] == '\0') {
		cfg_error(c, n, "issuer: expected a string or a list of strings");
		return -1;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL || (v[0] = strdup(one)) == NULL) {
		free(v);
		cfg_error(c, n, "issuer: out of memory");
		return -1;
	}
	cfg_strs_free(s);
	s->v = v;
	s->n = 1;
	return 0;
}

static void identity_free_issuer(void *value)
{
	cfg_strs_free(value);
}

/* The key file is read and every key parsed now, so a bad key is a config
 * error with a position rather than a surprise at the first request. */
static int identity_parse_jwks_file(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct identity_config *ic = (struct identity_config *)
		((char *)value - offsetof(struct identity_config, jwks_file));
	const char *p = cfg_scalar(n);
	char err[512], *path;
	struct keyset *ks;

	if (p == NULL || p[0] == '\0') {
		cfg_error(c, n, "jwks_file: expected a file path");
		return -1;
	}
	if ((path = cfg_resolve_path(c->dir, p)) == NULL) {
		cfg_error(c, n, "jwks_file: out of memory");
		return -1;
	}
	if (keyset_load_file(path, &ks, err, sizeof(err)) != 0) {
		cfg_error(c, n, "jwks_file: %s", err);
		free(path);
		return -1;
	}
	free(ic->jwks_file);
	keyset_unref(ic->file_keys);
	ic->jwks_file = path;
	ic->file_keys = ks;
	return 0;
}

static void identity_free_jwks_file(void *value)
{
	struct identity_config *ic = (struct identity_config *)
		((char *)value - offsetof(struct identity_config, jwks_file));

	free(ic->jwks_file);
	ic->jwks_file = NULL;
	keyset_unref(ic->file_keys);
	ic->file_keys = NULL;
}

#define IC(f) offsetof(struct identity_config, f)
static const struct cfg_field identity_fields[] = {
	{ "token_cookie", CFG_STR, IC(token_cookie), false, 0, 0, NULL, NULL },
	{ "jwks_file", CFG_CUSTOM, IC(jwks_file), false, 0, 0, identity_parse_jwks_file,
	  identity_free_jwks_file },
	{ "jwks_url", CFG_URL, IC(jwks_url), false, 0, 0, NULL, NULL },
	{ "jwks_refresh_s", CFG_INT, IC(jwks_refresh_s), false, 10, 86400, NULL, NULL },
	{ "jwks_min_refresh_s", CFG_INT, IC(jwks_min_refresh_s), false, 1, 86400, NULL, NULL },
	/* Required: without them any token the same key signed for another
	 * application of the identity provider would be accepted here. */
	{ "issuer", CFG_CUSTOM, IC(issuers), true, 0, 0, identity_parse_issuer,
	  identity_free_issuer },
	{ "audience", CFG_STR, IC(audience), true, 0, 0, NULL, NULL },
	{ "leeway_s", CFG_INT, IC(leeway_s), false, 0, 600, NULL, NULL },
	{ "entitlements_claim", CFG_STR, IC(entitlements_claim), false, 0, 0, NULL, NULL },
	{ "subscriber_entitlements", CFG_STRS, IC(subscriber_entitlements), false, 0, 0, NULL,
	  NULL },
	{ "cache_size", CFG_INT, IC(cache_size), false, 0, 1000000, NULL, NULL },
};
#undef IC

static int identity_set_defaults(struct identity_config *ic)
{
	ic->token_cookie = strdup("pw_token");
	ic->entitlements_claim = strdup("entitlements");
	ic->jwks_refresh_s = 600;
	ic->jwks_min_refresh_s = 30;
	ic->leeway_s = 60;
	ic->cache_size = 4096;
	return ic->token_cookie != NULL && ic->entitlements_claim != NULL ? 0 : -1;
}

static bool identity_url_safe(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	bool ok = false;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		ok = strcmp(scheme, "https") == 0 || strcmp(host, "localhost") == 0 ||
		     strcmp(host, "[::1]") == 0 || strncmp(host, "127.", 4) == 0;
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return ok;
}

int identity_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct identity_config *ic = value;
	int rc;

	if (identity_set_defaults(ic) != 0) {
		cfg_error(c, n, "identity: out of memory");
		return -1;
	}
	ic->enabled = true;
	rc = cfg_parse_map(c, n, identity_fields, countof(identity_fields), ic);
	if (rc == 0 && ic->jwks_file == NULL && ic->jwks_url == NULL) {
		cfg_error(c, n, "identity: needs jwks_file or jwks_url (or both)");
		rc = -1;
	}
	if (rc == 0 && ic->jwks_url != NULL && !identity_url_safe(ic->jwks_url)) {
		cfg_error(c, n, "identity: jwks_url must be https:// (http:// only on loopback): "
			  "anyone on the path could hand the gateway keys");
		rc = -1;
	}
	if (rc == 0 && !cookie_name_is_valid(ic->token_cookie)) {
		cfg_error(c, n, "identity: token_cookie is not a valid cookie name");
		rc = -1;
	}
	return rc;
}

void identity_config_free(struct identity_config *ic)
{
	cfg_free_fields(identity_fields, countof(identity_fields), ic);
}

/* "Bearer <token>" with any casing of the scheme; other schemes carry no
 * subscriber token. Returns the token and its length, or NULL. */
static const char *identity_bearer(const char *auth, size_t *len)
{
	const char *t;

	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	t = auth + 7;
	while (*t == ' ')
		t++;
	*len = strcspn(t, " \t");
	if (*len == 0 || t[*len + strspn(t + *len, " \t")] != '\0')
		return NULL;
	return t;
}

static void identity_verify(const struct identity_config *ic, const struct keyset *keys,
			    struct tokcache *cache, const char *tok, size_t len,
			    long long now, struct identity *out)
{
	struct token_policy pol = { &ic->issuers, ic->audience, ic->leeway_s,
				    ic->entitlements_claim };
	unsigned char digest[32];
	enum token_reject r;

	if (len <= TOKEN_MAX && token_digest(tok, len, digest) == 0 &&
	    tokcache_get(cache, digest, now, ic->leeway_s, &out->claims)) {
		out->token = IDENTITY_TOKEN_VALID;
		return;
	}
	r = token_verify(tok, len, keys, &pol, now, TOKEN_VERIFY_EVP, &out->claims,
			 &out->kid_unknown);
	out->reject = r;
	if (r == TOKEN_OK) {
		out->token = IDENTITY_TOKEN_VALID;
		tokcache_put(cache, &out->claims);
	} else {
		out->token = r == TOKEN_EXPIRED ? IDENTITY_TOKEN_EXPIRED : IDENTITY_TOKEN_INVALID;
	}
}

void identity_resolve(const struct identity_config *ic, const struct keyset *keys,
		      struct tokcache *cache, const struct header_ref *h, size_t n,
		      long long now, struct identity *out)
{
	char cookie[TOKEN_MAX + 2];
	const char *tok = NULL, *hdr;
	size_t len = 0;

	memset(out, 0, sizeof(*out));
	out->token = IDENTITY_TOKEN_ABSENT;
	if (!ic->enabled)
		return;
	tok = identity_bearer(headers_find(h, n, "Authorization"), &len);
	hdr = headers_find(h, n, "Cookie");
	if (tok == NULL && hdr != NULL) {
		int rc = cookie_get(hdr, ic->token_cookie, cookie, sizeof(cookie));
		if (rc == 0) {
			tok = cookie;
			len = strlen(cookie);
		} else if (rc == -2) {
			/* Twice, or too long, or malformed: presented but unusable. */
			out->token = IDENTITY_TOKEN_INVALID;
			out->reject = TOKEN_MALFORMED;
			return;
		}
	}
	if (tok == NULL)
		return;
	identity_verify(ic, keys, cache, tok, len, now, out);
	if (out->token == IDENTITY_TOKEN_VALID)
		out->subscriber = identity_has_any(out, &ic->subscriber_entitlements);
}

bool identity_has_any(const struct identity *id, const struct cfg_strs *entitlements)
{
	if (id->token != IDENTITY_TOKEN_VALID || entitlements == NULL)
		return false;
	for (size_t i = 0; i < id->claims.n_ent; i++)
		for (size_t j = 0; j < entitlements->n; j++)
			if (strcmp(id->claims.ent[i], entitlements->v[j]) == 0)
				return true;
	return false;
}

const char *identity_token_header(const struct identity *id)
{
	switch (id->token) {
	case IDENTITY_TOKEN_INVALID: return "invalid";
	case IDENTITY_TOKEN_EXPIRED: return "expired";
	default: return NULL;
	}
}

int identity_join_entitlements(const struct identity *id, char *out, size_t outlen)
{
	size_t used = 0;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	for (size_t i = 0; i < id->claims.n_ent; i++) {
		int n = snprintf(out + used, outlen - used, "%s%s", i ? "," : "", id->claims.ent[i]);
		if (n < 0 || (size_t)n >= outlen - used)
			return -1;
		used += (size_t)n;
	}
	return 0;
}
