/* visitor: the anonymous reader's id, carried in an HMAC-signed cookie. */
#ifndef PAYWALLD_VISITOR_H
#define PAYWALLD_VISITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "cfg.h"

#define VISITOR_ID_LEN 16
#define VISITOR_VALUE_LEN 43		/* base64url of id (16) and tag (16) */
#define VISITOR_MAX_AGE_S (2LL * 366 * 24 * 3600)
#define VISITOR_SET_COOKIE_MAX 256

/* The `visitor` config section. Owned by struct config. */
struct visitor_config {
	bool enabled;
	char *cookie;			/* cookie name, default pw_vid */
	struct cfg_secret secret;	/* HMAC key (secret_file) */
	bool secure_cookie;
};

int visitor_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *vc);
void visitor_config_free(struct visitor_config *vc);

/*
 * The visitor id in the request's Cookie header (NULL: none). Returns 0 and
 * writes id when the cookie is present once, well formed and carries a tag
 * made with our key; -1 otherwise (missing, malformed, forged or signed with
 * another key): the caller then treats the reader as a new visitor.
 * Thread-safe; compares tags in constant time.
 */
int visitor_read(const struct visitor_config *vc, const char *cookie_header,
		 uint8_t id[VISITOR_ID_LEN]);
/* A fresh random id. 0 / -1 (random generator failure). */
int visitor_new(uint8_t id[VISITOR_ID_LEN]);
/* The signed cookie value for id (VISITOR_VALUE_LEN chars + NUL). 0 / -1. */
int visitor_value(const struct visitor_config *vc, const uint8_t id[VISITOR_ID_LEN],
		  char out[VISITOR_VALUE_LEN + 1]);
/* The whole Set-Cookie value: name=value; Path=/; Max-Age=2 years; HttpOnly;
 * Secure (when configured); SameSite=Lax. 0 / -1. */
int visitor_set_cookie(const struct visitor_config *vc, const uint8_t id[VISITOR_ID_LEN],
		       char *out, size_t outlen);
/* Parses a cookie VALUE as given to operators (paywallctl meter --visitor). */
int visitor_parse_value(const struct visitor_config *vc, const char *value,
			uint8_t id[VISITOR_ID_LEN]);

#endif
