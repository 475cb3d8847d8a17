/* keyset_test: JWKS parsing, algorithm pinning and key lookup (keyset.c). */
#include <check.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyset.h"
#include "token_support.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

/* Made once in main; RSA generation is slow under ASan. */
static EVP_PKEY *rsa2048, *rsa1024, *ec256, *ec384, *ec521, *ed;

static void fixture_setup(void)
{
	rsa2048 = ts_gen_rsa(2048);
	rsa1024 = ts_gen_rsa(1024);
	ec256 = ts_gen_ec("P-256");
	ec384 = ts_gen_ec("P-384");
	ec521 = ts_gen_ec("P-521");
	ed = ts_gen_ed25519();
}

static int parse(const char *json, struct keyset **ks, char *err, size_t errlen)
{
	*ks = NULL;
	err[0] = '\0';
	return keyset_parse(json, strlen(json), ks, err, errlen);
}

/* Expects the JWKS {"keys":[jwk]} to fail, with a message. */
static void expect_refused(const char *jwks)
{
	struct keyset *ks;
	char err[512];

	ck_assert_msg(parse(jwks, &ks, err, sizeof(err)) == -1, "accepted: %s", jwks);
	ck_assert_msg(ks == NULL, "set returned on failure: %s", jwks);
	ck_assert_msg(err[0] != '\0', "no message: %s", jwks);
}

static void expect_jwk_refused(const char *jwk)
{
	char *jwks = ts_strf("{\"keys\":[%s]}", jwk);

	expect_refused(jwks);
	free(jwks);
}

/* Parses a one-key set that must be valid and returns it. */
static struct keyset *one(const char *jwk)
{
	char *jwks = ts_strf("{\"keys\":[%s]}", jwk);
	struct keyset *ks;
	char err[512];

	ck_assert_msg(parse(jwks, &ks, err, sizeof(err)) == 0, "%s: %s", jwk, err);
	ck_assert_uint_eq(ks->n, 1);
	free(jwks);
	return ks;
}

/* The JWK of a key, with alg (NULL: none) and extra members. */
static char *jwk_of(EVP_PKEY *pkey, const char *kid, const char *alg, const char *extra)
{
	struct ts_key k = ts_key_pkey(kid, JWS_RS256, pkey);

	return ts_jwk_ex(&k, alg, extra);
}

static char *oct_jwk(size_t len, const char *kid, const char *alg)
{
	unsigned char *secret = ts_random(len);
	struct ts_key k = ts_key_hmac(kid, JWS_HS256, secret, len);
	char *j = ts_jwk_ex(&k, alg, NULL);

	free(secret);
	free(k.secret);
	return j;
}

/* ---- jws_alg ---- */

START_TEST(test_jws_alg_names)
{
	enum jws_alg a;

	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		ck_assert_int_eq(jws_alg_parse(jws_alg_name((enum jws_alg)i), &a), 0);
		ck_assert_int_eq(a, i);
	}
	ck_assert_str_eq(jws_alg_name(JWS_EDDSA), "EdDSA");
	ck_assert_str_eq(jws_alg_name(JWS_ALG_COUNT), "?");
	static const char *const bad[] = {
		"none", "None", "NONE", "hs256", "Hs256", "HS256 ", " HS256", "RS1", "ES256K",
		"EDDSA", "eddsa", "Ed25519", "", "HS", "PS", "RSA-OAEP", "HS2560",
	};
	for (size_t i = 0; i < NA(bad); i++)
		ck_assert_msg(jws_alg_parse(bad[i], &a) == -1, "'%s' parsed", bad[i]);
	ck_assert(jws_alg_is_hmac(JWS_HS256) && jws_alg_is_hmac(JWS_HS384) &&
		  jws_alg_is_hmac(JWS_HS512));
	ck_assert(!jws_alg_is_hmac(JWS_RS256) && !jws_alg_is_hmac(JWS_ES256) &&
		  !jws_alg_is_hmac(JWS_PS256) && !jws_alg_is_hmac(JWS_EDDSA));
}
END_TEST

/* ---- each key type, pinned ---- */

START_TEST(test_keyset_rsa)
{
	char *j = jwk_of(rsa2048, "r1", NULL, NULL);
	struct keyset *ks = one(j);

	ck_assert_int_eq(ks->keys[0].alg, JWS_RS256);	/* the default for RSA */
	ck_assert_str_eq(ks->keys[0].kid, "r1");
	ck_assert_ptr_nonnull(ks->keys[0].pkey);
	ck_assert(EVP_PKEY_eq(ks->keys[0].pkey, rsa2048) == 1);
	ck_assert_ptr_nonnull(ks->keys[0].pem);
	ck_assert_uint_eq(strlen(ks->keys[0].pem), ks->keys[0].pem_len);
	ck_assert(strncmp(ks->keys[0].pem, "-----BEGIN PUBLIC KEY-----", 26) == 0);
	ck_assert_ptr_null(ks->keys[0].secret);
	ck_assert_uint_eq(ks->skipped, 0);
	keyset_unref(ks);
	free(j);

	static const char *const algs[] = { "RS256", "RS384", "RS512", "PS256", "PS384",
					    "PS512" };
	for (size_t i = 0; i < NA(algs); i++) {
		enum jws_alg want;
		j = jwk_of(rsa2048, "r1", algs[i], "\"use\":\"sig\"");
		ks = one(j);
		ck_assert_int_eq(jws_alg_parse(algs[i], &want), 0);
		ck_assert_int_eq(ks->keys[0].alg, want);
		keyset_unref(ks);
		free(j);
	}
}
END_TEST

START_TEST(test_keyset_ec)
{
	struct { EVP_PKEY **k; enum jws_alg alg; } t[] = {
		{ &ec256, JWS_ES256 }, { &ec384, JWS_ES384 }, { &ec521, JWS_ES512 },
	};

	for (size_t i = 0; i < NA(t); i++) {
		char *j = jwk_of(*t[i].k, "e", NULL, NULL);
		char *ja = jwk_of(*t[i].k, "e", jws_alg_name(t[i].alg), NULL);
		struct keyset *ks = one(j), *ksa = one(ja);
		ck_assert_int_eq(ks->keys[0].alg, t[i].alg);
		ck_assert_int_eq(ksa->keys[0].alg, t[i].alg);
		ck_assert(EVP_PKEY_eq(ks->keys[0].pkey, *t[i].k) == 1);
		ck_assert_ptr_nonnull(ks->keys[0].pem);
		keyset_unref(ks);
		keyset_unref(ksa);
		free(j);
		free(ja);
	}
}
END_TEST

START_TEST(test_keyset_okp)
{
	char *j = jwk_of(ed, NULL, NULL, NULL);
	char *ja = jwk_of(ed, "ed", "EdDSA", NULL);
	struct keyset *ks = one(j), *ksa = one(ja);

	ck_assert_int_eq(ks->keys[0].alg, JWS_EDDSA);
	ck_assert_ptr_null(ks->keys[0].kid);
	ck_assert_int_eq(ksa->keys[0].alg, JWS_EDDSA);
	ck_assert(EVP_PKEY_eq(ks->keys[0].pkey, ed) == 1);
	keyset_unref(ks);
	keyset_unref(ksa);
	free(j);
	free(ja);
	/* X25519 is for key agreement, not signatures: skipped, not loaded. */
	{
		struct keyset *xs;
		char err[512];
		ck_assert_int_eq(parse("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\","
				       "\"x\":\"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo\"}]}",
				       &xs, err, sizeof(err)), 0);
		ck_assert_uint_eq(xs->n, 0);
		ck_assert_uint_eq(xs->skipped, 1);
		keyset_unref(xs);
	}
	/* Ed448 is not supported for signatures. */
	expect_jwk_refused("{\"kty\":\"OKP\",\"crv\":\"Ed448\","
			   "\"x\":\"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo\"}");
	/* x of 31 and of 33 bytes. */
	{
		unsigned char pub[33] = { 0 };
		size_t n = 32;
		ck_assert(EVP_PKEY_get_raw_public_key(ed, pub, &n) == 1);
		char *x31 = ts_b64(pub, 31), *x33 = ts_b64(pub, 33);
		char *a = ts_strf("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x31);
		char *b = ts_strf("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", x33);
		expect_jwk_refused(a);
		expect_jwk_refused(b);
		free(a);
		free(b);
		free(x31);
		free(x33);
	}
}
END_TEST

START_TEST(test_keyset_oct)
{
	struct { size_t len; const char *alg; enum jws_alg want; } ok[] = {
		{ 32, NULL, JWS_HS256 }, { 32, "HS256", JWS_HS256 }, { 48, "HS384", JWS_HS384 },
		{ 64, "HS512", JWS_HS512 }, { 100, "HS256", JWS_HS256 }, { 64, NULL, JWS_HS256 },
	};

	for (size_t i = 0; i < NA(ok); i++) {
		char *j = oct_jwk(ok[i].len, "h", ok[i].alg);
		struct keyset *ks = one(j);
		ck_assert_int_eq(ks->keys[0].alg, ok[i].want);
		ck_assert_uint_eq(ks->keys[0].secret_len, ok[i].len);
		ck_assert_ptr_null(ks->keys[0].pkey);
		ck_assert_ptr_null(ks->keys[0].pem);
		keyset_unref(ks);
		free(j);
	}
}
END_TEST

/* RFC 7518 3.2: an HMAC key at least as long as the hash output. */
START_TEST(test_keyset_oct_too_short)
{
	struct { size_t len; const char *alg; } bad[] = {
		{ 16, "HS256" }, { 16, NULL }, { 31, "HS256" }, { 47, "HS384" },
		{ 32, "HS384" }, { 48, "HS512" }, { 63, "HS512" },
	};

	for (size_t i = 0; i < NA(bad); i++) {
		char *j = oct_jwk(bad[i].len, "h", bad[i].alg);
		expect_jwk_refused(j);
		free(j);
	}
	expect_jwk_refused("{\"kty\":\"oct\",\"k\":\"\"}");
	expect_jwk_refused("{\"kty\":\"oct\"}");
	expect_jwk_refused("{\"kty\":\"oct\",\"k\":42}");
}
END_TEST

START_TEST(test_keyset_rsa_too_small)
{
	char *j = jwk_of(rsa1024, "small", NULL, NULL);
	char *ja = jwk_of(rsa1024, "small", "RS256", NULL);

	expect_jwk_refused(j);
	expect_jwk_refused(ja);
	free(j);
	free(ja);
}
END_TEST

/* Leading zero bytes do not make a small modulus big. */
START_TEST(test_keyset_rsa_leading_zeros)
{
	BIGNUM *n = NULL;
	unsigned char buf[300];
	char *nb, *j;

	ck_assert(EVP_PKEY_get_bn_param(rsa1024, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	/* 1024 bits left-padded to 300 bytes. */
	ck_assert_int_eq(BN_bn2binpad(n, buf, sizeof(buf)), (int)sizeof(buf));
	nb = ts_b64(buf, sizeof(buf));
	j = ts_strf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", nb);
	expect_jwk_refused(j);
	free(j);
	free(nb);
	BN_free(n);
	n = NULL;

	/* A 2048-bit modulus with one leading zero byte is still 2048 bits. */
	ck_assert(EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	ck_assert_int_eq(BN_bn2binpad(n, buf, 257), 257);
	nb = ts_b64(buf, 257);
	j = ts_strf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", nb);
	keyset_unref(one(j));
	free(j);
	free(nb);
	BN_free(n);
}
END_TEST

/* A 2047-bit modulus spans 256 bytes but is not 2048 bits; e = 1 makes
 * every padded message its own signature; an even e is no RSA key. */
START_TEST(test_keyset_rsa_bits_and_exponent)
{
	BIGNUM *n = NULL;
	unsigned char buf[256];
	char *nb, *j;
	static const char *const bad_e[] = { "AQ", "Ag", "AAE", "AQAA" };	/* 1, 2, 1, 65536 */

	ck_assert(EVP_PKEY_get_bn_param(rsa2048, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
	ck_assert_int_eq(BN_bn2binpad(n, buf, sizeof(buf)), (int)sizeof(buf));
	nb = ts_b64(buf, sizeof(buf));
	for (size_t i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++) {
		j = ts_strf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}", nb, bad_e[i]);
		expect_jwk_refused(j);
		free(j);
	}
	free(nb);
	buf[0] = 0x7f;	/* top bit clear: 2047 bits in 256 bytes */
	nb = ts_b64(buf, sizeof(buf));
	j = ts_strf("{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}", nb);
	expect_jwk_refused(j);
	free(j);
	free(nb);
	BN_free(n);
}
END_TEST

/* Encryption keys published beside signing keys are skipped, not fatal,
 * even without "use". */
START_TEST(test_keyset_skips_encryption_keys)
{
	char *enc = jwk_of(rsa2048, "enc", "RSA-OAEP-256", NULL);
	char *sig = jwk_of(rsa2048, "sig", NULL, NULL);
	char *jwks = ts_strf("{\"keys\":[%s,%s,{\"kty\":\"OKP\",\"crv\":\"X25519\","
			     "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}", enc, sig);
	struct keyset *ks;
	char err[512];

	ck_assert_msg(parse(jwks, &ks, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ks->n, 1);
	ck_assert_uint_eq(ks->skipped, 2);
	ck_assert_str_eq(ks->keys[0].kid, "sig");
	keyset_unref(ks);
	free(jwks);
	free(enc);
	free(sig);
}
END_TEST

START_TEST(test_keyset_rsa_malformed)
{
	expect_jwk_refused("{\"kty\":\"RSA\",\"e\":\"AQAB\"}");
	expect_jwk_refused("{\"kty\":\"RSA\",\"n\":\"AQAB\"}");
	expect_jwk_refused("{\"kty\":\"RSA\",\"n\":\"not base64!\",\"e\":\"AQAB\"}");
	expect_jwk_refused("{\"kty\":\"RSA\",\"n\":\"\",\"e\":\"AQAB\"}");
	expect_jwk_refused("{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}");
}
END_TEST

/* Parts of an EC JWK as text, for tampering. */
struct ec_parts {
	const char *crv;
	char *x, *y;
	size_t size;
};

static struct ec_parts ec_parts_of(EVP_PKEY *k)
{
	struct ec_parts p;
	BIGNUM *x = NULL, *y = NULL;

	p.size = ((size_t)EVP_PKEY_get_bits(k) + 7) / 8;
	p.crv = p.size == 32 ? "P-256" : p.size == 48 ? "P-384" : "P-521";
	ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1);
	ck_assert(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1);
	p.x = ts_bn_b64(x, p.size);
	p.y = ts_bn_b64(y, p.size);
	BN_free(x);
	BN_free(y);
	return p;
}

static char *ec_jwk_raw(const char *crv, const unsigned char *x, size_t xl,
			const unsigned char *y, size_t yl)
{
	char *xb = ts_b64(x, xl), *yb = ts_b64(y, yl);
	char *j = ts_strf("{\"kty\":\"EC\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", crv, xb,
			  yb);

	free(xb);
	free(yb);
	return j;
}

/* The invalid-curve attack needs an off-curve point accepted: refuse it. */
START_TEST(test_keyset_ec_off_curve)
{
	EVP_PKEY *keys[] = { ec256, ec384, ec521 };

	for (size_t i = 0; i < NA(keys); i++) {
		struct ec_parts p = ec_parts_of(keys[i]);
		size_t xl, yl;
		unsigned char *x = ts_unb64(p.x, &xl), *y = ts_unb64(p.y, &yl);
		char *good = ec_jwk_raw(p.crv, x, xl, y, yl), *bad;

		keyset_unref(one(good));
		y[yl - 1] ^= 1;		/* tweak y */
		bad = ec_jwk_raw(p.crv, x, xl, y, yl);
		expect_jwk_refused(bad);
		free(bad);
		y[yl - 1] ^= 1;
		/* The point (0, 0) and coordinates of all ones (>= p). */
		memset(x, 0, xl);
		memset(y, 0, yl);
		bad = ec_jwk_raw(p.crv, x, xl, y, yl);
		expect_jwk_refused(bad);
		free(bad);
		memset(x, 0xff, xl);
		memset(y, 0xff, yl);
		bad = ec_jwk_raw(p.crv, x, xl, y, yl);
		expect_jwk_refused(bad);
		free(bad);
		free(good);
		free(x);
		free(y);
		free(p.x);
		free(p.y);
	}
}
END_TEST

START_TEST(test_keyset_ec_wrong_lengths)
{
	struct ec_parts p = ec_parts_of(ec256);
	size_t xl, yl;
	unsigned char *x = ts_unb64(p.x, &xl), *y = ts_unb64(p.y, &yl);
	unsigned char x33[33] = { 0 };
	char *j;

	/* x of 31 bytes (its last byte dropped) and of 33 (a zero in front). */
	j = ec_jwk_raw("P-256", x, xl - 1, y, yl);
	expect_jwk_refused(j);
	free(j);
	memcpy(x33 + 1, x, 32);
	j = ec_jwk_raw("P-256", x33, 33, y, yl);
	expect_jwk_refused(j);
	free(j);
	/* A P-256 point labelled P-384. */
	j = ec_jwk_raw("P-384", x, xl, y, yl);
	expect_jwk_refused(j);
	free(j);
	/* Curves not supported, and a missing y. */
	j = ec_jwk_raw("secp256k1", x, xl, y, yl);
	expect_jwk_refused(j);
	free(j);
	j = ec_jwk_raw("P-192", x, xl, y, yl);
	expect_jwk_refused(j);
	free(j);
	j = ts_strf("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}", p.x);
	expect_jwk_refused(j);
	free(j);
	free(x);
	free(y);
	free(p.x);
	free(p.y);
}
END_TEST

/* A key's "alg" must fit its type: this is what pins the algorithm. */
START_TEST(test_keyset_alg_must_fit)
{
	struct { EVP_PKEY **k; const char *alg; } bad[] = {
		{ &rsa2048, "ES256" }, { &rsa2048, "HS256" }, { &rsa2048, "EdDSA" },
		{ &ec256, "ES384" }, { &ec256, "ES512" }, { &ec256, "RS256" }, { &ec256, "HS256" },
		{ &ec384, "ES256" }, { &ec521, "ES384" }, { &ed, "ES256" }, { &ed, "RS256" },
		{ &rsa2048, "none" }, { &rsa2048, "rs256" }, { &ec256, "RS1" },
	};

	for (size_t i = 0; i < NA(bad); i++) {
		char *j = jwk_of(*bad[i].k, "k", bad[i].alg, NULL);
		expect_jwk_refused(j);
		free(j);
	}
	static const char *const oct_bad[] = { "RS256", "ES256", "PS256", "EdDSA", "none" };
	for (size_t i = 0; i < NA(oct_bad); i++) {
		char *j = oct_jwk(64, "h", oct_bad[i]);
		expect_jwk_refused(j);
		free(j);
	}
	/* "alg" of the wrong JSON type. */
	char *j = jwk_of(rsa2048, "k", NULL, "\"alg\":256");
	struct keyset *ks;
	char err[256];
	char *jwks = ts_strf("{\"keys\":[%s]}", j);
	/* A non-string alg is treated as absent or refused, never as another alg. */
	if (parse(jwks, &ks, err, sizeof(err)) == 0) {
		ck_assert_int_eq(ks->keys[0].alg, JWS_RS256);
		keyset_unref(ks);
	}
	free(jwks);
	free(j);
}
END_TEST

/* Encryption keys and unknown key types are skipped, not fatal. */
START_TEST(test_keyset_skipped)
{
	char *sig = jwk_of(ec256, "s", NULL, "\"use\":\"sig\"");
	char *enc = jwk_of(rsa2048, "e", "RSA-OAEP", "\"use\":\"enc\"");
	char *enc2 = jwk_of(ec384, "e2", NULL, "\"use\":\"enc\"");
	char *jwks = ts_strf("{\"keys\":[%s,%s,{\"kty\":\"foo\",\"kid\":\"f\"},%s,"
			     "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"use\":\"enc\",\"x\":\"AAAA\"}]}",
			     enc, sig, enc2);
	struct keyset *ks;
	char err[256];

	ck_assert_msg(parse(jwks, &ks, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ks->n, 1);
	ck_assert_uint_eq(ks->skipped, 4);
	ck_assert_str_eq(ks->keys[0].kid, "s");
	keyset_unref(ks);
	free(sig);
	free(enc);
	free(enc2);
	free(jwks);

	/* Only encryption keys: a valid, empty set. */
	ck_assert_int_eq(parse("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\"}]}", &ks, err,
			       sizeof(err)), 0);
	ck_assert_uint_eq(ks->n, 0);
	ck_assert_uint_eq(ks->skipped, 1);
	keyset_unref(ks);
}
END_TEST

START_TEST(test_keyset_duplicate_kid)
{
	char *a = jwk_of(rsa2048, "same", "RS256", NULL);
	char *b = jwk_of(ec256, "other", NULL, NULL);
	char *c = jwk_of(rsa2048, "same", "RS256", NULL);
	char *ps = jwk_of(rsa2048, "same", "PS256", NULL);
	char *jwks = ts_strf("{\"keys\":[%s,%s,%s]}", a, b, c);
	struct keyset *ks;
	char err[256];

	expect_refused(jwks);
	free(jwks);
	/* The same kid for two algorithms is two keys. */
	jwks = ts_strf("{\"keys\":[%s,%s]}", a, ps);
	ck_assert_msg(parse(jwks, &ks, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ks->n, 2);
	keyset_unref(ks);
	free(jwks);
	/* Two keys without kid for the same alg cannot be told apart. */
	char *n1 = oct_jwk(32, NULL, "HS256"), *n2 = oct_jwk(32, NULL, "HS256");
	jwks = ts_strf("{\"keys\":[%s,%s]}", n1, n2);
	expect_refused(jwks);
	free(jwks);
	free(n1);
	free(n2);
	free(a);
	free(b);
	free(c);
	free(ps);
}
END_TEST

START_TEST(test_keyset_kid_forms)
{
	char *big = ts_xmalloc(KEYSET_KID_MAX + 2);
	char *j;

	expect_jwk_refused("{\"kty\":\"oct\",\"kid\":\"\",\"k\":"
			   "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
	expect_jwk_refused("{\"kty\":\"oct\",\"kid\":7,\"k\":"
			   "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");
	memset(big, 'k', KEYSET_KID_MAX + 1);
	big[KEYSET_KID_MAX + 1] = '\0';
	j = ts_strf("{\"kty\":\"oct\",\"kid\":\"%s\",\"k\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", big);
	expect_jwk_refused(j);
	free(j);
	big[KEYSET_KID_MAX] = '\0';
	j = ts_strf("{\"kty\":\"oct\",\"kid\":\"%s\",\"k\":"
		    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", big);
	struct keyset *ks = one(j);
	ck_assert_uint_eq(strlen(ks->keys[0].kid), KEYSET_KID_MAX);
	keyset_unref(ks);
	free(j);
	free(big);
}
END_TEST

static char *many_oct(size_t n)
{
	char *acc = ts_xstrdup("{\"keys\":[");

	for (size_t i = 0; i < n; i++) {
		char *next = ts_strf("%s%s{\"kty\":\"oct\",\"kid\":\"k%zu\",\"k\":"
				     "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
				     acc, i ? "," : "", i);
		free(acc);
		acc = next;
	}
	char *out = ts_strf("%s]}", acc);
	free(acc);
	return out;
}

START_TEST(test_keyset_max_keys)
{
	char *ok = many_oct(KEYSET_KEYS_MAX), *over = many_oct(KEYSET_KEYS_MAX + 1);
	struct keyset *ks;
	char err[256];

	ck_assert_msg(parse(ok, &ks, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ks->n, KEYSET_KEYS_MAX);
	keyset_unref(ks);
	expect_refused(over);
	free(ok);
	free(over);
}
END_TEST

START_TEST(test_keyset_bad_json)
{
	static const char *const bad[] = {
		"", "{", "[]", "{}", "{\"keys\":{}}", "{\"keys\":\"x\"}", "{\"keys\":null}",
		"{\"keys\":[]}x", "{\"keys\":[],\"keys\":[]}",
		"{\"keys\":[{\"kty\":\"oct\",\"kty\":\"RSA\",\"k\":"
		"\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
		"\"k\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"}]}",
		"{\"keys\":[42]}", "{\"keys\":[{}]}", "{\"keys\":[{\"kty\":7}]}",
	};

	for (size_t i = 0; i < NA(bad); i++)
		expect_refused(bad[i]);
	/* The length argument is honoured: a valid prefix is not the document. */
	struct keyset *ks;
	char err[256];
	ck_assert_int_eq(keyset_parse("{\"keys\":[]}", 5, &ks, err, sizeof(err)), -1);
}
END_TEST

/* The oct secret is the decoded k, exactly. */
START_TEST(test_keyset_oct_secret_bytes)
{
	unsigned char k[32];
	struct ts_key tk;
	char *j;
	struct keyset *ks;

	for (size_t i = 0; i < sizeof(k); i++)
		k[i] = (unsigned char)(i * 7 + 1);
	k[5] = 0;	/* a NUL inside the secret */
	tk = ts_key_hmac("h", JWS_HS256, k, sizeof(k));
	j = ts_jwk(&tk);
	ks = one(j);
	ck_assert_uint_eq(ks->keys[0].secret_len, sizeof(k));
	ck_assert(memcmp(ks->keys[0].secret, k, sizeof(k)) == 0);
	keyset_unref(ks);
	free(j);
	free(tk.secret);
}
END_TEST

/* ---- keyset_find ---- */

static struct keyset *find_set(void)
{
	char *a = jwk_of(rsa2048, "r1", "RS256", NULL);
	char *b = jwk_of(rsa2048, "r1", "PS256", NULL);
	char *c = jwk_of(ec256, "e1", NULL, NULL);
	char *d = jwk_of(ec256, "e2", NULL, NULL);
	char *e = jwk_of(ed, NULL, NULL, NULL);
	char *f = oct_jwk(48, "h1", "HS384");
	char *jwks = ts_strf("{\"keys\":[%s,%s,%s,%s,%s,%s]}", a, b, c, d, e, f);
	struct keyset *ks = ts_keyset(jwks);

	free(a);
	free(b);
	free(c);
	free(d);
	free(e);
	free(f);
	free(jwks);
	return ks;
}

START_TEST(test_keyset_find)
{
	struct keyset *ks = find_set();
	const struct keyset_key *k;
	bool known;

	/* kid and alg. */
	k = keyset_find(ks, "r1", JWS_RS256, &known);
	ck_assert(k != NULL && k->alg == JWS_RS256 && known);
	k = keyset_find(ks, "r1", JWS_PS256, &known);
	ck_assert(k != NULL && k->alg == JWS_PS256 && known);
	/* A known kid with another algorithm: no key, but the kid is known. */
	known = false;
	ck_assert_ptr_null(keyset_find(ks, "r1", JWS_HS256, &known));
	ck_assert(known);
	ck_assert_ptr_null(keyset_find(ks, "e1", JWS_ES384, &known));
	ck_assert(known);
	/* An unknown kid. */
	known = true;
	ck_assert_ptr_null(keyset_find(ks, "r2", JWS_RS256, &known));
	ck_assert(!known);
	ck_assert_ptr_null(keyset_find(ks, "R1", JWS_RS256, &known));
	ck_assert(!known);
	ck_assert_ptr_null(keyset_find(ks, "", JWS_RS256, &known));
	ck_assert(!known);
	/* A kid never matches a key without one (the Ed25519 key). */
	ck_assert_ptr_null(keyset_find(ks, "ed", JWS_EDDSA, &known));
	ck_assert(!known);
	/* No kid: only when exactly one key has the alg. */
	k = keyset_find(ks, NULL, JWS_RS256, &known);
	ck_assert(k != NULL && strcmp(k->kid, "r1") == 0 && k->alg == JWS_RS256);
	ck_assert(!known);
	k = keyset_find(ks, NULL, JWS_EDDSA, &known);
	ck_assert(k != NULL && k->kid == NULL);
	k = keyset_find(ks, NULL, JWS_HS384, &known);
	ck_assert(k != NULL && strcmp(k->kid, "h1") == 0);
	ck_assert_ptr_null(keyset_find(ks, NULL, JWS_ES256, &known));	/* two */
	ck_assert_ptr_null(keyset_find(ks, NULL, JWS_HS256, &known));	/* none */
	ck_assert_ptr_null(keyset_find(ks, NULL, JWS_ES512, &known));
	/* A NULL set has no keys. */
	known = true;
	ck_assert_ptr_null(keyset_find(NULL, "r1", JWS_RS256, &known));
	ck_assert(!known);
	keyset_unref(ks);
}
END_TEST

/* ---- keyset_merge, references ---- */

START_TEST(test_keyset_merge)
{
	struct keyset *a = find_set();
	char *o = oct_jwk(32, "h256", "HS256");
	char *r = jwk_of(rsa2048, "r1", "RS256", NULL);	/* a's kid again */
	char *jwks = ts_strf("{\"keys\":[%s,%s]}", o, r);
	struct keyset *b = ts_keyset(jwks);
	struct keyset *m = keyset_merge(a, b), *ma, *mb, *none;
	const struct keyset_key *k;
	bool known;

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n, a->n + b->n);
	/* a's keys first, then b's. */
	for (size_t i = 0; i < a->n; i++)
		ck_assert_int_eq(m->keys[i].alg, a->keys[i].alg);
	ck_assert_str_eq(m->keys[a->n].kid, "h256");
	ck_assert(memcmp(m->keys[a->n].secret, b->keys[0].secret, 32) == 0);
	/* The sources can go: the merged set holds its own copies. */
	keyset_unref(a);
	keyset_unref(b);
	k = keyset_find(m, "h256", JWS_HS256, &known);
	ck_assert(k != NULL && k->secret_len == 32);
	k = keyset_find(m, "r1", JWS_RS256, &known);
	ck_assert(k != NULL && k->pem != NULL && k->pkey != NULL);
	ck_assert_uint_eq(strlen(k->pem), k->pem_len);
	/* RS256 without kid is now ambiguous (two keys). */
	ck_assert_ptr_null(keyset_find(m, NULL, JWS_RS256, &known));

	ma = keyset_merge(m, NULL);
	mb = keyset_merge(NULL, m);
	none = keyset_merge(NULL, NULL);
	ck_assert(ma != NULL && mb != NULL && none != NULL);
	ck_assert_uint_eq(ma->n, m->n);
	ck_assert_uint_eq(mb->n, m->n);
	ck_assert_uint_eq(none->n, 0);
	keyset_unref(m);
	ck_assert_ptr_nonnull(keyset_find(ma, "h256", JWS_HS256, &known));
	keyset_unref(ma);
	keyset_unref(mb);
	keyset_unref(none);
	free(o);
	free(r);
	free(jwks);
}
END_TEST

/* Regression: keyset_merge had no limit. A file set and a URL set of 64
 * keys each merge (128); anything beyond KEYSET_MERGED_MAX is refused. */
START_TEST(test_keyset_merge_limit)
{
	char *jwks = many_oct(KEYSET_KEYS_MAX);
	struct keyset *a = ts_keyset(jwks), *b = ts_keyset(jwks);
	struct keyset *m = keyset_merge(a, b), *over;

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(m->n, KEYSET_MERGED_MAX);
	over = keyset_merge(m, a);
	ck_assert_ptr_null(over);
	keyset_unref(m);
	keyset_unref(a);
	keyset_unref(b);
	free(jwks);
}
END_TEST

START_TEST(test_keyset_refs)
{
	struct keyset *ks = find_set();

	ck_assert_ptr_eq(keyset_ref(ks), ks);
	keyset_unref(ks);
	/* Still alive: one reference left. */
	ck_assert_ptr_nonnull(keyset_find(ks, "r1", JWS_RS256, &(bool){ false }));
	keyset_unref(ks);
	keyset_unref(NULL);
	ck_assert_ptr_null(keyset_ref(NULL));
}
END_TEST

/* ---- keyset_load_file ---- */

static char *write_temp(const char *content, size_t len)
{
	char *path = ts_xstrdup("/tmp/keyset_test.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
	close(fd);
	return path;
}

START_TEST(test_keyset_load_file)
{
	char *j = jwk_of(ec256, "e1", NULL, NULL);
	char *jwks = ts_strf("{\"keys\":[%s]}", j);
	char *path = write_temp(jwks, strlen(jwks));
	char *bad = write_temp("{\"keys\":[", 9);
	char *empty = write_temp("", 0);
	char dir[] = "/tmp/keyset_test_dir.XXXXXX";
	struct keyset *ks = NULL;
	char err[512];

	ck_assert_msg(keyset_load_file(path, &ks, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(ks->n, 1);
	ck_assert_str_eq(ks->keys[0].kid, "e1");
	keyset_unref(ks);

	ks = NULL;
	err[0] = '\0';
	ck_assert_int_eq(keyset_load_file("/nonexistent/jwks.json", &ks, err, sizeof(err)), -1);
	ck_assert_ptr_null(ks);
	ck_assert_msg(strstr(err, "/nonexistent/jwks.json") != NULL, "%s", err);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	err[0] = '\0';
	ck_assert_int_eq(keyset_load_file(dir, &ks, err, sizeof(err)), -1);
	ck_assert_ptr_null(ks);
	ck_assert(err[0] != '\0');
	rmdir(dir);

	err[0] = '\0';
	ck_assert_int_eq(keyset_load_file(bad, &ks, err, sizeof(err)), -1);
	ck_assert(err[0] != '\0');
	ck_assert_int_eq(keyset_load_file(empty, &ks, err, sizeof(err)), -1);
	/* Not a regular file. */
	ck_assert_int_eq(keyset_load_file("/dev/null", &ks, err, sizeof(err)), -1);
	ck_assert_ptr_null(ks);

	unlink(path);
	unlink(bad);
	unlink(empty);
	free(path);
	free(bad);
	free(empty);
	free(j);
	free(jwks);
}
END_TEST

START_TEST(test_keyset_load_file_too_big)
{
	size_t n = KEYSET_JSON_MAX + 1;
	char *big = ts_xmalloc(n);
	char *path;
	struct keyset *ks = NULL;
	char err[512];

	/* Valid JSON (the keys array and then spaces) one byte over the limit. */
	memset(big, ' ', n);
	memcpy(big, "{\"keys\":[]}", 11);
	path = write_temp(big, n);
	ck_assert_int_eq(keyset_load_file(path, &ks, err, sizeof(err)), -1);
	ck_assert_ptr_null(ks);
	unlink(path);
	free(path);
	/* At the limit it loads. */
	path = write_temp(big, n - 1);
	ck_assert_msg(keyset_load_file(path, &ks, err, sizeof(err)) == 0, "%s", err);
	keyset_unref(ks);
	unlink(path);
	free(path);
	free(big);
}
END_TEST

static Suite *keyset_suite(void)
{
	Suite *s = suite_create("keyset");
	TCase *parse_tc = tcase_create("parse");
	TCase *find = tcase_create("find");
	TCase *file = tcase_create("file");

	tcase_add_test(parse_tc, test_jws_alg_names);
	tcase_add_test(parse_tc, test_keyset_rsa);
	tcase_add_test(parse_tc, test_keyset_ec);
	tcase_add_test(parse_tc, test_keyset_okp);
	tcase_add_test(parse_tc, test_keyset_oct);
	tcase_add_test(parse_tc, test_keyset_oct_too_short);
	tcase_add_test(parse_tc, test_keyset_rsa_too_small);
	tcase_add_test(parse_tc, test_keyset_rsa_leading_zeros);
	tcase_add_test(parse_tc, test_keyset_rsa_malformed);
	tcase_add_test(parse_tc, test_keyset_ec_off_curve);
	tcase_add_test(parse_tc, test_keyset_ec_wrong_lengths);
	tcase_add_test(parse_tc, test_keyset_alg_must_fit);
	tcase_add_test(parse_tc, test_keyset_skipped);
	tcase_add_test(parse_tc, test_keyset_duplicate_kid);
	tcase_add_test(parse_tc, test_keyset_kid_forms);
	tcase_add_test(parse_tc, test_keyset_max_keys);
	tcase_add_test(parse_tc, test_keyset_bad_json);
	tcase_add_test(parse_tc, test_keyset_oct_secret_bytes);
	suite_add_tcase(s, parse_tc);

	tcase_add_test(find, test_keyset_find);
	tcase_add_test(find, test_keyset_merge);
	tcase_add_test(find, test_keyset_refs);
	suite_add_tcase(s, find);

	tcase_add_test(file, test_keyset_load_file);
	tcase_add_test(file, test_keyset_load_file_too_big);
	suite_add_tcase(s, file);

	tcase_add_test(file, test_keyset_merge_limit);
	tcase_add_test(file, test_keyset_rsa_bits_and_exponent);
	tcase_add_test(file, test_keyset_skips_encryption_keys);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fixture_setup();
	sr = srunner_create(keyset_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
