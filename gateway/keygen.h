/* keygen: `paywallctl keys generate`, a new signing key and its JWKS entry. */
#ifndef PAYWALLD_KEYGEN_H
#define PAYWALLD_KEYGEN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* The longest key id; a kid names a file, so it is short and plain. */
#define KEYGEN_KID_MAX 64
/* The largest jwks.json keygen will read back before adding to it. */
#define KEYGEN_JWKS_MAX (1024 * 1024)

/* What keygen_generate wrote, for the operator's message. */
struct keygen_result {
	char key_path[PATH_MAX];	/* DIR/KID.pem, or DIR/KID.key for HS* */
	char jwks_path[PATH_MAX];	/* DIR/jwks.json */
	bool jwks_has_secret;		/* an "oct" key is now in jwks.json */
};

/* True for [A-Za-z0-9._-]{1,64} not starting with '.': a kid that is safe
 * as a file name (no '/', no "." or "..", no hidden files). Thread-safe. */
bool keygen_kid_valid(const char *kid);

/*
 * Generates a key for alg (ES256|ES384|ES512: EC P-256/P-384/P-521;
 * RS256|RS384|RS512: RSA 2048; HS256|HS384|HS512: 32/48/64 random bytes)
 * and stores it under dir:
 *  - the private key in DIR/KID.pem (PKCS#8 PEM) or, for HS*, the secret
 *    base64url-encoded on one line in DIR/KID.key, created with mode 0600;
 *    an existing file is never overwritten;
 *  - the public key as a JWK appended to DIR/jwks.json ({"keys":[...]},
 *    created when missing), replaced atomically through a temporary file
 *    and rename(2). An "oct" key is a secret, so a jwks.json holding one
 *    gets mode 0600; otherwise an existing file keeps its mode, a new one
 *    gets 0644.
 * Fails with -1 and a message in err, leaving no new file behind, on an
 * unknown alg, an invalid kid, a kid already in jwks.json, an existing key
 * file, a jwks.json that is unreadable, larger than KEYGEN_JWKS_MAX or not
 * a {"keys":[...]} object, or any I/O or OpenSSL error. On success returns
 * 0 and fills *res. Private key bytes are wiped from memory before return.
 * Thread-safe, but two calls must not work on the same dir at once: the
 * duplicate-kid check and the rename are not one atomic step.
 */
int keygen_generate(const char *alg, const char *kid, const char *dir,
		    struct keygen_result *res, char *err, size_t errlen);

/*
 * paywallctl keys generate --alg ALG --kid ID --dir DIR
 * argv[0] is the first argument after "keys" ("generate"). Prints what it
 * wrote to stdout, errors (and the secret-in-jwks.json warning) to stderr.
 * Returns the exit code: 0 done, 1 failed, 2 usage error.
 */
int keygen_main(int argc, char **argv);

#endif
