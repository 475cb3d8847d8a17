/* mint: `paywallctl token mint`, subscriber tokens signed with libjwt for dev and tests. */
#ifndef PAYWALLD_MINT_H
#define PAYWALLD_MINT_H

#include <stdbool.h>
#include <stddef.h>

/* The largest key file mint reads: a PEM private key or a .key secret. */
#define MINT_KEY_MAX (64 * 1024)
/* Durations are bounded to +-100 years so that now + ttl cannot overflow. */
#define MINT_DURATION_MAX (100LL * 366 * 24 * 3600)
/* The longest kid, sub, iss, aud or entitlements list mint accepts. */
#define MINT_CLAIM_MAX 4096
/* The latest issue time mint accepts: 9999-12-31T23:59:59Z. */
#define MINT_NOW_MAX 253402300799LL

/* What to sign. Every pointer is borrowed for the duration of the call. */
struct mint_request {
	const char *key_path;	/* PEM private key (RSA, EC) or a .key file: one line
				 * of base64url secret, as keygen writes for HS* */
	const char *kid;	/* "kid" header, required */
	const char *alg;	/* NULL: the alg published for kid in the jwks.json
				 * beside the key, else inferred from the key: RSA->RS256,
				 * EC P-256/384/521->ES256/384/512, secret->HS256 */
	const char *sub;	/* "sub" claim, required */
	const char *entitlements; /* comma-separated "entitlements" array; NULL: none */
	long long ttl_s;	/* exp = iat + ttl_s; negative makes an expired token */
	const char *iss;	/* "iss" claim or NULL */
	const char *aud;	/* "aud" claim (one string) or NULL */
	long long now;		/* iat, unix seconds; 0: time(NULL) */
	long long nbf_offset_s;	/* nbf = iat + nbf_offset_s, when set_nbf */
	bool set_nbf;
};

/*
 * Parses a duration: an optionally signed decimal number with an optional
 * unit s, m, h or d (seconds when absent): "30s", "15m", "1h", "2d", "-1h",
 * "3600". Returns 0 and sets *out to seconds, or -1 for anything else or a
 * magnitude over MINT_DURATION_MAX. Thread-safe.
 */
int mint_parse_duration(const char *s, long long *out);

/*
 * Signs a token for req with libjwt. The header is exactly
 * {"alg":ALG,"kid":KID,"typ":"JWT"}; the claims are sub, iat, exp and,
 * when asked for, nbf, iss, aud and entitlements. An explicit alg must fit
 * the key: RS* needs an RSA key of at least 2048 bits, ES256/384/512 an EC
 * key on P-256/384/521, HS256/384/512 a secret of at least 32/48/64 bytes.
 * Returns a malloc'd token (the caller frees it with free()), or NULL with
 * a message in err for an unreadable, encrypted or unsupported key, a
 * mismatched or unknown alg, a missing kid or sub, a string longer than
 * MINT_CLAIM_MAX or not UTF-8, an empty entitlement ("a,,b"), a ttl or
 * nbf offset beyond MINT_DURATION_MAX, a now outside [0, MINT_NOW_MAX], or
 * a libjwt failure. Key bytes are wiped before return.
 * Thread-safe.
 */
char *mint_token(const struct mint_request *req, char *err, size_t errlen);

/*
 * paywallctl token mint --key FILE --kid ID --sub USER [--alg ALG]
 *   [--entitlements a,b] [--ttl 1h] [--iss ISS] [--aud AUD] [--nbf-in 0s]
 *   [--iat-offset 0s]
 * argv[0] is the first argument after "mint". --iat-offset moves the
 * issue time from now (exp and nbf follow it); --nbf-in adds an nbf claim
 * that far after iat. Prints the token and "\n" to stdout, errors to
 * stderr. Returns the exit code: 0 done, 1 failed, 2 usage error.
 */
int mint_main(int argc, char **argv);

#endif
