/*
 * token_fuzz: subscriber token verification (token_verify with both
 * verifiers) and token_digest, against a fixed key set.
 *
 * The key set (FUZZ_JWKS, made once and pasted here) holds an HS256 "oct"
 * key with kid "k1" and a known secret, an EC P-256 key "e1" and an RSA
 * 2048 key "r1". The time is fixed.
 *
 * Input, two forms:
 *  - the bytes are the compact token (everything but a leading NUL);
 *  - a leading NUL byte, then header JSON, a NUL, payload JSON: the target
 *    base64url-encodes both and signs them with the HS256 secret itself, so
 *    that the claim checks and the two verifiers are reached with valid
 *    signatures (the fuzzer could never forge one).
 *
 * Checked besides "no crash":
 *  - TOKEN_VERIFY_EVP and TOKEN_VERIFY_LIBJWT agree: the same enum and
 *    kid_unknown for a token taken as is; the same accept/reject for a
 *    token the target signed (libjwt parses the payload before checking
 *    the signature, so a signed payload that is not a JSON object is
 *    bad-json to one and bad-signature to the other);
 *  - nothing is accepted unless the HS256 key signed it: an accepted
 *    token's header (strictly decoded, no duplicate names) has alg exactly
 *    "HS256" and a kid that is absent or "k1";
 *  - an accepted token's claims are headers-safe: sub of 1 to 256 printable
 *    ASCII bytes, at most 16 entitlements of 1 to 64 printable bytes
 *    without space or comma, and claims.digest equals token_digest;
 *  - token_digest is deterministic, and -1 for a token over TOKEN_MAX.
 *
 * The two divergences this target found (typ other than "JWT"; a raw NUL
 * that jansson dropped) are fixed in token.c and no longer tolerated.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"
#include "keyset.h"
#include "token.h"

#define FUZZ_NAME "token_fuzz"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_NOW 1700000000LL

static const char FUZZ_SECRET[] = "paywalld-fuzz-hs256-secret-k1-32";

static const char FUZZ_JWKS[] =
	"{\"keys\":["
	"{\"kty\":\"oct\",\"k\":\"cGF5d2FsbGQtZnV6ei1oczI1Ni1zZWNyZXQtazEtMzI\","
	"\"kid\":\"k1\",\"alg\":\"HS256\"},"
	"{\"kty\":\"EC\",\"crv\":\"P-256\","
	"\"x\":\"NQvyqorUxRcYIKnyCW7tNmdVNlabPyBkxu0uoURxCjY\","
	"\"y\":\"jtpDk6neSJ5brjA8oVURBrXT3uGjTWgmF3xyDkXHBKg\",\"kid\":\"e1\",\"alg\":\"ES256\"},"
	"{\"kty\":\"RSA\",\"n\":\"pBq9pUBGYf_pcVC9lPcdR1qkHxg6OZiVxVGHx9e2kyeACZB07m2Zx3ibAolr"
	"K-q-W15Fz_sZCz0kFFhS5JkFv8xmkWXeaxeTKBVTxnRv_2wnH-hBYIBSFcRH5mJzlxt1hbkuIs-nQJHhLlF5t"
	"kHftndVUs2_oLTl0Y5ldQ0cHIDu_jbd3VFoYjomu4a9xpWK252TS_5A7EZzuuYHN_95kGqh-UsytwRu314vny2"
	"PwHdjY32PRB1D2iV2JAY0HmrMZhc_uCLeA-caPVJvilhvVO0nbsMYY-jySb7eCMRBYv0ve4nJmBSctbCuFsAEz"
	"vka0dfgtmbJc5CYLJ1DoSHJnw\",\"e\":\"AQAB\",\"kid\":\"r1\",\"alg\":\"RS256\"}"
	"]}";

static struct keyset *keys;
static char issuer[] = "https://id.example.com";
static char *issuer_v[] = { issuer };
static const struct cfg_strs issuers = { issuer_v, 1 };
static const struct token_policy policy = { &issuers, "news-site", 60, "entitlements" };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (keyset_parse(FUZZ_JWKS, strlen(FUZZ_JWKS), &keys, err, sizeof(err)) != 0 ||
	    keys->n != 3) {
		fprintf(stderr, "token_fuzz: the fixed JWKS does not load: %s\n", err);
		abort();
	}
	return 0;
}

/* Strictly decodes part `which` (0 header, 1 payload) into a new buffer. */
static unsigned char *part_of(const char *tok, size_t len, int which, size_t *n)
{
	const char *start = tok, *end = tok + len, *dot;
	unsigned char *buf;
	long r;

	for (int i = 0; i < which; i++) {
		dot = memchr(start, '.', (size_t)(end - start));
		if (dot == NULL)
			return NULL;
		start = dot + 1;
	}
	dot = memchr(start, '.', (size_t)(end - start));
	if (dot != NULL)
		end = dot;
	buf = malloc(B64_DECODED_MAX((size_t)(end - start)) + 1);
	if (buf == NULL)
		return NULL;
	r = b64url_decode(start, (size_t)(end - start), buf, B64_DECODED_MAX((size_t)(end - start)));
	if (r < 0) {
		free(buf);
		return NULL;
	}
	*n = (size_t)r;
	return buf;
}

/* The decoded header of a token, or NULL. */
static json_t *header_of(const char *tok, size_t len)
{
	size_t n;
	unsigned char *buf = part_of(tok, len, 0, &n);
	json_t *j = buf ? json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, NULL) : NULL;

	free(buf);
	return j;
}

static bool printable(const char *s, size_t max, bool space_comma)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e || (!space_comma && (c == ' ' || c == ',')))
			return false;
	}
	return true;
}

/* shown: the token NUL-terminated, for messages (tok is exactly len bytes). */
static void check_accepted(const char *tok, size_t len, const char *shown,
			   const struct token_claims *c)
{
	json_t *h = header_of(tok, len);
	const char *alg = json_string_value(json_object_get(h, "alg"));
	json_t *kid = json_object_get(h, "kid");
	unsigned char d[32];

	if (h == NULL)
		fail("accepted a token whose header does not decode", shown);
	if (alg == NULL || strcmp(alg, "HS256") != 0)
		fail("accepted a token whose alg is not HS256", shown);
	if (kid != NULL && (!json_is_string(kid) || strcmp(json_string_value(kid), "k1") != 0))
		fail("accepted a token whose kid is not k1", shown);
	json_decref(h);
	if (!printable(c->sub, TOKEN_SUB_MAX, true))
		fail("accepted a subject unfit for a header", c->sub);
	if (c->n_ent > TOKEN_ENT_MAX)
		fail("accepted more than TOKEN_ENT_MAX entitlements", shown);
	for (size_t i = 0; i < c->n_ent; i++)
		if (!printable(c->ent[i], TOKEN_ENT_LEN_MAX, false))
			fail("accepted an entitlement unfit for a header", c->ent[i]);
	if (token_digest(tok, len, d) != 0 || memcmp(d, c->digest, 32) != 0)
		fail("claims.digest is not token_digest of the token", shown);
}

static void check_token(const char *tok, size_t len, const char *shown, bool self_signed)
{
	struct token_claims ce, cl;
	bool ue = false, ul = false;
	unsigned char d1[32], d2[32];
	enum token_reject re, rl;
	int r1, r2;

	re = token_verify(tok, len, keys, &policy, FUZZ_NOW, TOKEN_VERIFY_EVP, &ce, &ue);
	rl = token_verify(tok, len, keys, &policy, FUZZ_NOW, TOKEN_VERIFY_LIBJWT, &cl, &ul);
	if ((re == TOKEN_OK) != (rl == TOKEN_OK))
		fail(re == TOKEN_OK ? "EVP accepts, LIBJWT rejects" : "LIBJWT accepts, EVP rejects",
		     shown);
	if (!self_signed && (re != rl || ue != ul))
		fail("EVP and LIBJWT give different reasons", shown);
	if (re == TOKEN_OK)
		check_accepted(tok, len, shown, &ce);
	if (rl == TOKEN_OK) {
		check_accepted(tok, len, shown, &cl);
		if (re == TOKEN_OK && memcmp(&ce, &cl, sizeof(ce)) != 0)
			fail("EVP and LIBJWT accept with different claims", shown);
	}
	if (ue && re != TOKEN_UNKNOWN_KID)
		fail("kid_unknown set without unknown-kid", shown);

	r1 = token_digest(tok, len, d1);
	r2 = token_digest(tok, len, d2);
	if (r1 != r2 || (r1 == 0 && memcmp(d1, d2, 32) != 0))
		fail("token_digest is not deterministic", shown);
	if (len > TOKEN_MAX && (r1 != -1 || re != TOKEN_TOO_LONG))
		fail("a token over TOKEN_MAX is digested or not too-long", shown);
}

/* "\0HEADER\0PAYLOAD": a token signed here with the HS256 secret. */
static void check_self_signed(const uint8_t *data, size_t size)
{
	const uint8_t *h = data + 1, *nul = memchr(h, 0, size - 1);
	size_t hlen = nul ? (size_t)(nul - h) : size - 1;
	const uint8_t *p = nul ? nul + 1 : h + hlen;
	size_t plen = (size_t)(data + size - p);
	size_t cap = B64_ENCODED_SIZE(hlen) + B64_ENCODED_SIZE(plen) + B64_ENCODED_SIZE(32) + 2;
	char *tok = malloc(cap);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	long a, b;

	if (tok == NULL)
		return;
	a = b64url_encode(h, hlen, tok, cap);
	tok[a] = '.';
	b = b64url_encode(p, plen, tok + a + 1, cap - (size_t)a - 1);
	if (HMAC(EVP_sha256(), FUZZ_SECRET, (int)strlen(FUZZ_SECRET), (const unsigned char *)tok,
		 (size_t)(a + 1 + b), mac, &maclen) == NULL)
		abort();
	tok[a + 1 + b] = '.';
	b64url_encode(mac, maclen, tok + a + b + 2, cap - (size_t)(a + b + 2));
	check_token(tok, strlen(tok), tok, true);
	free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tok, *shown;

	if (size > 0 && data[0] == 0) {
		check_self_signed(data, size);
		return 0;
	}
	/* A heap copy of exactly size bytes, so ASan sees any read past it. */
	tok = malloc(size ? size : 1);
	shown = malloc(size + 1);
	if (tok != NULL && shown != NULL) {
		memcpy(tok, data, size);
		memcpy(shown, data, size);
		shown[size] = '\0';
		check_token(tok, size, shown, false);
	}
	free(tok);
	free(shown);
	return 0;
}
