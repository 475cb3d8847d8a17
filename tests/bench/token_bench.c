/*
 * token_bench: verifications per second of subscriber tokens, through the
 * gateway's own code: token_verify on the EVP path (keys parsed once) and on
 * the libjwt path, and identity_resolve answering from the token cache.
 * Usage: token_bench [SECONDS_PER_CASE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "headers.h"
#include "identity.h"
#include "keygen.h"
#include "keyset.h"
#include "mint.h"
#include "token.h"
#include "tokcache.h"

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *bench_mint(const char *dir, const char *alg, const char *kid, const char *ext)
{
	char key[4096], err[256];
	struct keygen_result res;
	struct mint_request req;
	char *tok;

	if (keygen_generate(alg, kid, dir, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "token_bench: keygen %s: %s\n", alg, err);
		exit(1);
	}
	snprintf(key, sizeof(key), "%s/%s.%s", dir, kid, ext);
	memset(&req, 0, sizeof(req));
	req.key_path = key;
	req.kid = kid;
	req.alg = alg;
	req.sub = "bench-subscriber";
	req.entitlements = "digital,premium";
	req.ttl_s = 3600;
	req.iss = "https://id.example.com";
	req.aud = "news-site";
	if ((tok = mint_token(&req, err, sizeof(err))) == NULL) {
		fprintf(stderr, "token_bench: mint %s: %s\n", alg, err);
		exit(1);
	}
	return tok;
}

/* Runs token_verify for `seconds`; returns verifications per second. */
static double bench_verify(const char *tok, const struct keyset *ks, enum token_verifier how,
			   double seconds)
{
	struct cfg_strs iss = { NULL, 0 };
	struct token_policy pol = { &iss, "news-site", 60, "entitlements" };
	struct token_claims c;
	double start = bench_now(), el;
	unsigned long n = 0;
	bool unknown;

	do {
		for (int i = 0; i < 16; i++, n++) {
			if (token_verify(tok, strlen(tok), ks, &pol, (long long)time(NULL), how, &c,
					 &unknown) != TOKEN_OK) {
				fprintf(stderr, "token_bench: token refused\n");
				exit(1);
			}
		}
		el = bench_now() - start;
	} while (el < seconds);
	return (double)n / el;
}

/* The request path with a warm cache: header lookup, digest, cache hit. */
static double bench_cached(const char *tok, struct keyset *ks, double seconds)
{
	struct identity_config ic;
	struct tokcache *cache = tokcache_new(4096);
	char auth[TOKEN_MAX + 16];
	struct header_ref h[1] = { { "Authorization", auth } };
	struct identity id;
	double start, el;
	unsigned long n = 0;

	memset(&ic, 0, sizeof(ic));
	ic.enabled = true;
	ic.token_cookie = "pw_token";
	ic.audience = "news-site";
	ic.leeway_s = 60;
	ic.entitlements_claim = "entitlements";
	snprintf(auth, sizeof(auth), "Bearer %s", tok);
	identity_resolve(&ic, ks, cache, h, 1, (long long)time(NULL), &id);
	start = bench_now();
	do {
		for (int i = 0; i < 64; i++, n++) {
			identity_resolve(&ic, ks, cache, h, 1, (long long)time(NULL), &id);
			if (id.token != IDENTITY_TOKEN_VALID) {
				fprintf(stderr, "token_bench: cached token refused\n");
				exit(1);
			}
		}
		el = bench_now() - start;
	} while (el < seconds);
	tokcache_free(cache);
	return (double)n / el;
}

int main(int argc, char **argv)
{
	static const struct { const char *alg, *ext; } cases[] = {
		{ "RS256", "pem" }, { "ES256", "pem" }, { "ES384", "pem" }, { "HS256", "key" },
	};
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 1.0;
	char dir[] = "/tmp/token-bench.XXXXXX", jwks[256], err[256], *toks[4];
	struct keyset *ks;

	if (mkdtemp(dir) == NULL)
		return 1;
	for (size_t i = 0; i < 4; i++) {
		char kid[16];
		snprintf(kid, sizeof(kid), "b%zu", i);
		toks[i] = bench_mint(dir, cases[i].alg, kid, cases[i].ext);
	}
	snprintf(jwks, sizeof(jwks), "%s/jwks.json", dir);
	if (keyset_load_file(jwks, &ks, err, sizeof(err)) != 0) {
		fprintf(stderr, "token_bench: %s\n", err);
		return 1;
	}
	printf("%-6s %16s %16s %18s\n", "alg", "EVP verify/s", "libjwt verify/s", "cached lookup/s");
	for (size_t i = 0; i < 4; i++) {
		printf("%-6s %16.0f %16.0f %18.0f\n", cases[i].alg,
		       bench_verify(toks[i], ks, TOKEN_VERIFY_EVP, seconds),
		       bench_verify(toks[i], ks, TOKEN_VERIFY_LIBJWT, seconds),
		       bench_cached(toks[i], ks, seconds));
		free(toks[i]);
	}
	keyset_unref(ks);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
