/*
 * token_support: key generation, JWK export and JWS signing for the token,
 * keyset and tokcache tests.
 *
 * Every unit test program links only libgateway.a, so the helpers are static
 * functions in this header. Keys are made in-process with OpenSSL EVP and
 * tokens are signed here from arbitrary header and payload text, so a test
 * can craft any malformed or hostile token. Failures of the helpers
 * themselves (OpenSSL refusing to generate or sign) abort the program: they
 * are bugs in the test, not outcomes of the code under test.
 */
#ifndef PAYWALLD_TOKEN_SUPPORT_H
#define PAYWALLD_TOKEN_SUPPORT_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "keyset.h"

/* Each test program uses a part of these helpers. */
#define TS_FN static __attribute__((unused))

/* A signing key as the tests hold it: the private half, or an HMAC secret. */
struct ts_key {
	const char *kid;		/* the kid of its JWK; NULL: none */
	enum jws_alg alg;		/* what it signs with */
	EVP_PKEY *pkey;			/* private key; NULL for HMAC */
	unsigned char *secret;		/* HMAC secret (malloc'd) */
	size_t secret_len;
};

TS_FN void __attribute__((noreturn, format(printf, 1, 2))) ts_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("token_support: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

TS_FN void *ts_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		ts_die("out of memory");
	return p;
}

TS_FN char *ts_xstrdup(const char *s)
{
	size_t n = strlen(s);
	char *p = ts_xmalloc(n + 1);

	memcpy(p, s, n + 1);
	return p;
}

/* printf into a new string. */
TS_FN char *__attribute__((format(printf, 1, 2))) ts_strf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		ts_die("vsnprintf");
	p = ts_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* ---- keys ---- */

TS_FN EVP_PKEY *ts_gen_rsa(unsigned bits)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);

	if (k == NULL)
		ts_die("RSA %u keygen", bits);
	return k;
}

/* curve: an OpenSSL group name ("P-256", "P-384", "P-521"). */
TS_FN EVP_PKEY *ts_gen_ec(const char *curve)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);

	if (k == NULL)
		ts_die("EC %s keygen", curve);
	return k;
}

TS_FN EVP_PKEY *ts_gen_ed25519(void)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	if (k == NULL)
		ts_die("Ed25519 keygen");
	return k;
}

/* n random bytes in a new buffer. */
TS_FN unsigned char *ts_random(size_t n)
{
	unsigned char *p = ts_xmalloc(n);

	if (n > 0 && RAND_bytes(p, (int)n) != 1)
		ts_die("RAND_bytes");
	return p;
}

TS_FN struct ts_key ts_key_pkey(const char *kid, enum jws_alg alg, EVP_PKEY *pkey)
{
	struct ts_key k = { kid, alg, pkey, NULL, 0 };

	return k;
}

TS_FN struct ts_key ts_key_hmac(const char *kid, enum jws_alg alg, const void *secret,
				 size_t len)
{
	struct ts_key k = { kid, alg, NULL, ts_xmalloc(len), len };

	memcpy(k.secret, secret, len);
	return k;
}

/* The SubjectPublicKeyInfo PEM of a key (what libjwt is handed), malloc'd. */
TS_FN char *ts_public_pem(EVP_PKEY *pkey, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long n;

	if (bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1)
		ts_die("PEM_write_bio_PUBKEY");
	n = BIO_get_mem_data(bio, &data);
	out = ts_xmalloc((size_t)n + 1);
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	*len = (size_t)n;
	BIO_free(bio);
	return out;
}

/* ---- base64url ---- */

TS_FN char *ts_b64(const void *data, size_t n)
{
	size_t cap = B64_ENCODED_SIZE(n);
	char *out = ts_xmalloc(cap);

	if (b64url_encode(data, n, out, cap) < 0)
		ts_die("b64url_encode");
	return out;
}

TS_FN char *ts_b64s(const char *s)
{
	return ts_b64(s, strlen(s));
}

/* Decodes a test-made base64url string (which must be valid). */
TS_FN unsigned char *ts_unb64(const char *s, size_t *n)
{
	size_t len = strlen(s);
	unsigned char *out = ts_xmalloc(B64_DECODED_MAX(len));
	long r = b64url_decode(s, len, out, B64_DECODED_MAX(len));

	if (r < 0)
		ts_die("b64url_decode of a test string '%s'", s);
	*n = (size_t)r;
	return out;
}

/* ---- JWK export ---- */

TS_FN char *ts_bn_b64(const BIGNUM *bn, size_t pad)
{
	size_t n = pad ? pad : (size_t)BN_num_bytes(bn);
	unsigned char *buf = ts_xmalloc(n);
	char *s;

	if (BN_bn2binpad(bn, buf, (int)n) < 0)
		ts_die("BN_bn2binpad");
	s = ts_b64(buf, n);
	free(buf);
	return s;
}

TS_FN const char *ts_ec_crv(EVP_PKEY *pkey)
{
	switch (EVP_PKEY_get_bits(pkey)) {
	case 256: return "P-256";
	case 384: return "P-384";
	case 521: return "P-521";
	default: ts_die("EC key of %d bits", EVP_PKEY_get_bits(pkey));
	}
}

/* The public members of a JWK, without braces ("kty":"RSA","n":...,"e":...). */
TS_FN char *ts_jwk_members(const struct ts_key *k)
{
	char *s;

	if (k->pkey == NULL) {
		char *kb = ts_b64(k->secret, k->secret_len);
		s = ts_strf("\"kty\":\"oct\",\"k\":\"%s\"", kb);
		free(kb);
	} else if (EVP_PKEY_is_a(k->pkey, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;
		char *nb, *eb;
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
			ts_die("RSA params");
		nb = ts_bn_b64(n, 0);
		eb = ts_bn_b64(e, 0);
		s = ts_strf("\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"", nb, eb);
		free(nb);
		free(eb);
		BN_free(n);
		BN_free(e);
	} else if (EVP_PKEY_is_a(k->pkey, "EC")) {
		BIGNUM *x = NULL, *y = NULL;
		size_t size = ((size_t)EVP_PKEY_get_bits(k->pkey) + 7) / 8;
		char *xb, *yb;
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) != 1 ||
		    EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) != 1)
			ts_die("EC params");
		xb = ts_bn_b64(x, size);
		yb = ts_bn_b64(y, size);
		s = ts_strf("\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"",
			    ts_ec_crv(k->pkey), xb, yb);
		free(xb);
		free(yb);
		BN_free(x);
		BN_free(y);
	} else if (EVP_PKEY_is_a(k->pkey, "ED25519")) {
		unsigned char pub[32];
		size_t n = sizeof(pub);
		char *xb;
		if (EVP_PKEY_get_raw_public_key(k->pkey, pub, &n) != 1 || n != 32)
			ts_die("Ed25519 public key");
		xb = ts_b64(pub, n);
		s = ts_strf("\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"", xb);
		free(xb);
	} else {
		ts_die("unknown key type");
	}
	return s;
}

/*
 * The public JWK of k as a JSON object text. alg: the "alg" member's value,
 * or NULL to leave it out; extra: more members ("\"use\":\"sig\"") or NULL.
 */
TS_FN char *ts_jwk_ex(const struct ts_key *k, const char *alg, const char *extra)
{
	char *m = ts_jwk_members(k);
	char *kid = k->kid ? ts_strf(",\"kid\":\"%s\"", k->kid) : ts_xstrdup("");
	char *a = alg ? ts_strf(",\"alg\":\"%s\"", alg) : ts_xstrdup("");
	char *s = ts_strf("{%s%s%s%s%s}", m, kid, a, extra ? "," : "", extra ? extra : "");

	free(m);
	free(kid);
	free(a);
	return s;
}

/* The JWK with its pinned algorithm named. */
TS_FN char *ts_jwk(const struct ts_key *k)
{
	return ts_jwk_ex(k, jws_alg_name(k->alg), NULL);
}

/* {"keys":[...]} of the JWKs of n keys, each with its alg. */
TS_FN char *ts_jwks(const struct ts_key *keys, size_t n)
{
	char *acc = ts_xstrdup("{\"keys\":[");

	for (size_t i = 0; i < n; i++) {
		char *j = ts_jwk(&keys[i]);
		char *next = ts_strf("%s%s%s", acc, i ? "," : "", j);
		free(acc);
		free(j);
		acc = next;
	}
	char *out = ts_strf("%s]}", acc);
	free(acc);
	return out;
}

/* Parses a JWKS the test expects to be valid. */
TS_FN struct keyset *ts_keyset(const char *json)
{
	struct keyset *ks = NULL;
	char err[256] = "";

	if (keyset_parse(json, strlen(json), &ks, err, sizeof(err)) != 0)
		ts_die("keyset_parse of a valid test JWKS: %s", err);
	return ks;
}

/* ---- signing ---- */

TS_FN const EVP_MD *ts_md(enum jws_alg a)
{
	switch (a) {
	case JWS_HS256: case JWS_RS256: case JWS_ES256: case JWS_PS256:
		return EVP_sha256();
	case JWS_HS384: case JWS_RS384: case JWS_ES384: case JWS_PS384:
		return EVP_sha384();
	case JWS_HS512: case JWS_RS512: case JWS_ES512: case JWS_PS512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

TS_FN size_t ts_ec_half(enum jws_alg a)
{
	return a == JWS_ES256 ? 32 : a == JWS_ES384 ? 48 : 66;
}

/* Raw EVP signature (DER for ECDSA) of in with a private key. */
TS_FN unsigned char *ts_evp_sign(const struct ts_key *k, const char *in, size_t inlen,
				  size_t *siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool pss = k->alg >= JWS_PS256 && k->alg <= JWS_PS512;
	unsigned char *sig;
	size_t n = 0;

	if (ctx == NULL || EVP_DigestSignInit(ctx, &pctx, ts_md(k->alg), NULL, k->pkey) != 1)
		ts_die("EVP_DigestSignInit for %s", jws_alg_name(k->alg));
	if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		ts_die("PSS parameters");
	if (EVP_DigestSign(ctx, NULL, &n, (const unsigned char *)in, inlen) != 1)
		ts_die("EVP_DigestSign size");
	sig = ts_xmalloc(n);
	if (EVP_DigestSign(ctx, sig, &n, (const unsigned char *)in, inlen) != 1)
		ts_die("EVP_DigestSign");
	EVP_MD_CTX_free(ctx);
	*siglen = n;
	return sig;
}

/* DER ECDSA to JWS's raw r||s, each padded to half bytes. */
TS_FN unsigned char *ts_der_to_raw(const unsigned char *der, size_t derlen, size_t half)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *s;
	unsigned char *raw = ts_xmalloc(2 * half);

	if (es == NULL)
		ts_die("d2i_ECDSA_SIG");
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)half) < 0 || BN_bn2binpad(s, raw + half, (int)half) < 0)
		ts_die("ECDSA r/s padding");
	ECDSA_SIG_free(es);
	return raw;
}

/*
 * The JWS signature of in (the "header.payload" text) with k, as raw bytes:
 * HMAC, RSASSA-PKCS1-v1_5, RSASSA-PSS with salt = hash length, ECDSA r||s,
 * or Ed25519. der: leave ECDSA signatures in DER (a wrong encoding for JWS).
 */
TS_FN unsigned char *ts_sign_ex(const struct ts_key *k, const char *in, size_t inlen,
				 size_t *siglen, bool der)
{
	unsigned char *sig;

	if (jws_alg_is_hmac(k->alg)) {
		unsigned int n = 0;
		sig = ts_xmalloc(EVP_MAX_MD_SIZE);
		if (HMAC(ts_md(k->alg), k->secret, (int)k->secret_len,
			 (const unsigned char *)in, inlen, sig, &n) == NULL)
			ts_die("HMAC");
		*siglen = n;
		return sig;
	}
	if (k->alg == JWS_EDDSA) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		size_t n = 64;
		sig = ts_xmalloc(n);
		if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
		    EVP_DigestSign(ctx, sig, &n, (const unsigned char *)in, inlen) != 1)
			ts_die("Ed25519 sign");
		EVP_MD_CTX_free(ctx);
		*siglen = n;
		return sig;
	}
	sig = ts_evp_sign(k, in, inlen, siglen);
	if (k->alg >= JWS_ES256 && k->alg <= JWS_ES512 && !der) {
		size_t half = ts_ec_half(k->alg);
		unsigned char *raw = ts_der_to_raw(sig, *siglen, half);
		free(sig);
		*siglen = 2 * half;
		return raw;
	}
	return sig;
}

/* "h64.p64.sig64" with k's signature over "h64.p64" (k NULL: empty sig). */
TS_FN char *ts_token_parts(const struct ts_key *k, const char *h64, const char *p64)
{
	char *input = ts_strf("%s.%s", h64, p64);
	char *sig64, *tok;

	if (k != NULL) {
		size_t n;
		unsigned char *sig = ts_sign_ex(k, input, strlen(input), &n, false);
		sig64 = ts_b64(sig, n);
		free(sig);
	} else {
		sig64 = ts_xstrdup("");
	}
	tok = ts_strf("%s.%s", input, sig64);
	free(input);
	free(sig64);
	return tok;
}

/* A token from header and payload JSON text, signed with k (NULL: unsigned). */
TS_FN char *ts_token(const struct ts_key *k, const char *header, const char *payload)
{
	char *h = ts_b64s(header), *p = ts_b64s(payload);
	char *tok = ts_token_parts(k, h, p);

	free(h);
	free(p);
	return tok;
}

#endif
