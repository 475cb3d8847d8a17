/* keyset: the publisher's verification keys from a JWKS, parsed once. */
#ifndef PAYWALLD_KEYSET_H
#define PAYWALLD_KEYSET_H

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* The JWS algorithms paywalld verifies (RFC 7518, RFC 8037). */
enum jws_alg {
	JWS_HS256, JWS_HS384, JWS_HS512,
	JWS_RS256, JWS_RS384, JWS_RS512,
	JWS_ES256, JWS_ES384, JWS_ES512,
	JWS_PS256, JWS_PS384, JWS_PS512,
	JWS_EDDSA,
	JWS_ALG_COUNT
};

#define KEYSET_KID_MAX 256
#define KEYSET_KEYS_MAX 64
#define KEYSET_MERGED_MAX (2 * KEYSET_KEYS_MAX)	/* jwks_file plus jwks_url */
#define KEYSET_JSON_MAX (256 * 1024)

/*
 * One key. Its algorithm is pinned when the set is loaded (from the JWK's
 * "alg", or from its type and curve), and a token must name exactly that
 * algorithm: this is what defeats alg confusion.
 */
struct keyset_key {
	char *kid;			/* NULL when the JWK has none */
	enum jws_alg alg;
	EVP_PKEY *pkey;			/* RSA, EC, Ed25519; NULL for HMAC */
	unsigned char *secret;		/* HMAC only; wiped on free */
	size_t secret_len;
	char *pem;			/* SubjectPublicKeyInfo PEM, for libjwt */
	size_t pem_len;
};

/* An immutable, refcounted set. Share it between threads freely. */
struct keyset {
	atomic_uint refs;
	struct keyset_key *keys;
	size_t n;
	size_t skipped;			/* JWKs of a kind or use not verifiable */
};

/* Exact, case-sensitive: "none", "NONE" and "hs256" are not algorithms. */
int jws_alg_parse(const char *name, enum jws_alg *out);
const char *jws_alg_name(enum jws_alg alg);
bool jws_alg_is_hmac(enum jws_alg alg);

/*
 * Parses a JWKS document ({"keys":[...]}). Supported: RSA (2048 bits or
 * more), EC P-256/P-384/P-521 (point checked on the curve), OKP Ed25519 and
 * oct (at least as many bytes as the hash). JWKs for encryption ("use":
 * "enc", a JWE "alg", X25519/X448) or of another kind are skipped and
 * counted; a malformed supported key, a
 * duplicate kid with the same algorithm, or an "alg" that does not fit the
 * key type fail the whole set. Returns 0 and a set with one reference, or
 * -1 with a message in err. Thread-safe.
 */
int keyset_parse(const char *json, size_t len, struct keyset **out, char *err, size_t errlen);
/* keyset_parse for a JWKS fetched from a URL: it is public, so an "oct"
 * key in it would be a secret anyone could read; such keys are skipped. */
int keyset_parse_public(const char *json, size_t len, struct keyset **out, char *err,
			size_t errlen);
/* keyset_parse on a file's contents (at most KEYSET_JSON_MAX bytes). */
int keyset_load_file(const char *path, struct keyset **out, char *err, size_t errlen);
/* A new set holding the keys of a and then b (references, not copies);
 * either may be NULL. Returns NULL when out of memory or when together
 * they hold more than KEYSET_MERGED_MAX keys. */
struct keyset *keyset_merge(const struct keyset *a, const struct keyset *b);

/*
 * The key a token header selects. With a kid, the key with that kid and the
 * header's algorithm; without one, the only key pinned to that algorithm.
 * Sets *kid_known to whether any key carries the kid (an unknown kid may
 * mean the publisher rotated keys). Returns NULL when none fits.
 */
const struct keyset_key *keyset_find(const struct keyset *ks, const char *kid,
				     enum jws_alg alg, bool *kid_known);

struct keyset *keyset_ref(struct keyset *ks);
/* Drops a reference; the last one frees the keys (secrets wiped). NULL-safe. */
void keyset_unref(struct keyset *ks);

#endif
