/* token: verification of subscriber JWTs (JWS compact form) and their claims. */
#ifndef PAYWALLD_TOKEN_H
#define PAYWALLD_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "keyset.h"

#define TOKEN_MAX 8192			/* bytes of the compact form */
#define TOKEN_HEADER_MAX 2048		/* base64url bytes of the header part */
#define TOKEN_SUB_MAX 256
#define TOKEN_ENT_MAX 16		/* entitlements per token; more: invalid */
#define TOKEN_ENT_LEN_MAX 64

/* Why a token was refused. TOKEN_OK is the only acceptance. */
enum token_reject {
	TOKEN_OK,
	TOKEN_TOO_LONG,
	TOKEN_MALFORMED,		/* not three base64url parts */
	TOKEN_BAD_JSON,			/* header or payload: not a JSON object */
	TOKEN_DUPLICATE_NAME,		/* the same name twice in header or payload */
	TOKEN_ALG_NONE,			/* "none" in any casing */
	TOKEN_ALG_UNSUPPORTED,
	TOKEN_CRIT,			/* a crit header names an extension */
	TOKEN_UNKNOWN_KID,
	TOKEN_NO_KEY,			/* no key pinned to the header's alg */
	TOKEN_BAD_SIGNATURE,
	TOKEN_NO_EXP,
	TOKEN_EXPIRED,
	TOKEN_NOT_YET_VALID,		/* nbf in the future */
	TOKEN_ISSUED_IN_FUTURE,		/* iat in the future */
	TOKEN_WRONG_ISSUER,
	TOKEN_WRONG_AUDIENCE,
	TOKEN_NO_SUBJECT,
	TOKEN_BAD_CLAIM,		/* a claim of the wrong type or form */
	TOKEN_REJECT_COUNT
};

/* How a token must look to be accepted. Borrowed pointers. */
struct token_policy {
	const struct cfg_strs *issuers;	/* iss must equal one; NULL or empty: any */
	const char *audience;		/* aud must contain it; NULL: any */
	long long leeway_s;
	const char *entitlements_claim;
};

/* Which implementation checks the signature. Both must agree (tested). */
enum token_verifier {
	TOKEN_VERIFY_EVP,	/* OpenSSL EVP on keys parsed once: the hot path */
	TOKEN_VERIFY_LIBJWT,	/* libjwt 1.10, behind the same pre-checks */
};

/* What a valid token says. Fixed size: no allocation per request. */
struct token_claims {
	char sub[TOKEN_SUB_MAX + 1];
	char ent[TOKEN_ENT_MAX][TOKEN_ENT_LEN_MAX + 1];
	size_t n_ent;
	long long exp;
	unsigned char digest[32];	/* SHA-256 of decoded header, payload, signature */
};

/*
 * Verifies a compact JWS of len bytes against the key set and the policy at
 * time now (Unix seconds). Returns TOKEN_OK and fills *claims, or the first
 * reason found; never reads the payload of a token whose signature does not
 * verify. *kid_unknown is set when the header names a kid the set lacks.
 * Thread-safe; allocates only transiently.
 */
enum token_reject token_verify(const char *tok, size_t len, const struct keyset *ks,
			       const struct token_policy *pol, long long now,
			       enum token_verifier how, struct token_claims *claims,
			       bool *kid_unknown);

/*
 * The cache key of a token: SHA-256 over its decoded parts, so that two
 * encodings of one token (which strict decoding already forbids) can never
 * be two entries. Returns 0, or -1 when the token is not three base64url
 * parts (it is then not cacheable, and token_verify will refuse it).
 */
int token_digest(const char *tok, size_t len, unsigned char out[32]);

/* A short, stable name for logs and metrics ("expired", "bad-signature"). */
const char *token_reject_name(enum token_reject r);

#endif
