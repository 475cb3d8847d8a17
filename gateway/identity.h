/* identity: who is asking. A verified subscriber token, or nobody known. */
#ifndef PAYWALLD_IDENTITY_H
#define PAYWALLD_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "cfg.h"
#include "headers.h"
#include "keyset.h"
#include "token.h"
#include "tokcache.h"

/* The `identity` config section. Owned by struct config. */
struct identity_config {
	bool enabled;			/* the section is present */
	char *token_cookie;
	char *jwks_file;		/* resolved path, or NULL */
	struct keyset *file_keys;	/* parsed at load; NULL without jwks_file */
	char *jwks_url;
	long long jwks_refresh_s;
	long long jwks_min_refresh_s;	/* unknown-kid refreshes at most this often */
	struct cfg_strs issuers;
	char *audience;
	long long leeway_s;
	char *entitlements_claim;
	struct cfg_strs subscriber_entitlements;
	long long cache_size;
};

/* Parses the section into ic (a struct identity_config; a config_sections entry). */
int identity_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *ic);
void identity_config_free(struct identity_config *ic);

enum identity_token { IDENTITY_TOKEN_ABSENT, IDENTITY_TOKEN_VALID, IDENTITY_TOKEN_INVALID,
		      IDENTITY_TOKEN_EXPIRED };

/* The result for one request. Fixed size, no allocation. */
struct identity {
	enum identity_token token;
	enum token_reject reject;	/* why, when INVALID or EXPIRED */
	bool subscriber;		/* valid and holds a subscriber entitlement */
	bool kid_unknown;		/* a refresh of jwks_url may help */
	struct token_claims claims;	/* valid only when token is VALID */
};

/*
 * Resolves the request's identity: the token from "Authorization: Bearer"
 * or else the token cookie, looked up in the cache, verified otherwise.
 * Never fails: anything wrong with a token makes the reader anonymous with
 * the reason recorded. keys and cache are borrowed (cache may be NULL).
 * Thread-safe.
 */
void identity_resolve(const struct identity_config *ic, const struct keyset *keys,
		      struct tokcache *cache, const struct header_ref *h, size_t n,
		      long long now, struct identity *out);
/* True when the valid identity holds one of the named entitlements. */
bool identity_has_any(const struct identity *id, const struct cfg_strs *entitlements);
/* The value for X-Paywall-Token ("invalid", "expired") or NULL. */
const char *identity_token_header(const struct identity *id);
/* Writes the entitlements comma-separated; returns 0 or -1 if too small. */
int identity_join_entitlements(const struct identity *id, char *out, size_t outlen);

#endif
