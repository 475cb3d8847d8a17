/* mint_test: `paywallctl token mint` (mint.c), checked with OpenSSL alone and against jose. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "keygen.h"
#include "mint.h"

#define NOW 1700000000LL
#define TOKEN_MAX 8192

static const char *const algs[] = {
	"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "HS256", "HS384", "HS512",
};
#define NALGS ((int)(sizeof(algs) / sizeof(algs[0])))

/* ---- temporary directory ---- */

static char dir[PATH_MAX];

static void dir_setup(void)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(dir, sizeof(dir), "%s/mint_test.XXXXXX", t != NULL && t[0] ? t : "/tmp");

	ck_assert(n > 0 && (size_t)n < sizeof(dir));
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void dir_teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static void path_in(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	ck_assert(n > 0 && (size_t)n < len);
}

static void write_bytes(const char *name, const void *p, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	path_in(path, sizeof(path), name);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Writes pkey's private key as PEM: PKCS#8, traditional or encrypted. */
static void write_pem(const char *name, EVP_PKEY *pkey, int form)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;

	ck_assert_ptr_nonnull(b);
	if (form == 0)
		ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL), 1);
	else if (form == 1)
		ck_assert_int_eq(PEM_write_bio_PrivateKey_traditional(b, pkey, NULL, NULL, 0, NULL,
								       NULL), 1);
	else
		ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(b, pkey, EVP_aes_256_cbc(), NULL, 0,
							       NULL, (void *)"passphrase"), 1);
	n = BIO_get_mem_data(b, &p);
	write_bytes(name, p, (size_t)n);
	BIO_free(b);
}

/* ---- base64url, JWKs and verification with OpenSSL alone ---- */

static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		const char *p = in[i] != '\0' ? strchr(abc, in[i]) : NULL;
		if (p == NULL)
			return -1;
		acc = (acc << 6) | (unsigned)(p - abc);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -1;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return (int)n;
}

static int member_bytes(const json_t *jwk, const char *name, unsigned char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	ck_assert_msg(s != NULL, "JWK member %s missing", name);
	return b64url_decode(s, strlen(s), out, cap);
}

static size_t crv_size(const char *crv)
{
	return strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
}

/* The public key a JWK (RSA, EC or OKP Ed25519) describes. */
static EVP_PKEY *jwk_public_key(const json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	unsigned char a[600], b[600], pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	int al, bl;

	ck_assert_ptr_nonnull(bld);
	ck_assert_ptr_nonnull(kty);
	if (strcmp(kty, "OKP") == 0) {
		ck_assert_str_eq(crv, "Ed25519");
		ck_assert_int_eq(member_bytes(jwk, "x", a, sizeof(a)), 32);
		OSSL_PARAM_BLD_free(bld);
		return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, 32);
	}
	if (strcmp(kty, "RSA") == 0) {
		al = member_bytes(jwk, "n", a, sizeof(a));
		bl = member_bytes(jwk, "e", b, sizeof(b));
		ck_assert(al > 0 && bl > 0);
		n = BN_bin2bn(a, al, NULL);
		e = BN_bin2bn(b, bl, NULL);
		ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1);
		ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		ck_assert_str_eq(kty, "EC");
		al = member_bytes(jwk, "x", a, sizeof(a));
		bl = member_bytes(jwk, "y", b, sizeof(b));
		ck_assert_int_eq(al, (int)crv_size(crv));
		ck_assert_int_eq(bl, al);
		pt[0] = 4;
		memcpy(pt + 1, a, (size_t)al);
		memcpy(pt + 1 + al, b, (size_t)bl);
		ck_assert(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, crv, 0) == 1);
		ck_assert(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
							   1 + 2 * (size_t)al) == 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ck_assert(ctx != NULL && params != NULL);
	ck_assert(EVP_PKEY_fromdata_init(ctx) == 1);
	ck_assert(EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(e);
	return pkey;
}

static const EVP_MD *alg_md(const char *alg)
{
	const char *bits = alg + 2;

	if (strcmp(alg, "EdDSA") == 0)
		return NULL;
	return strcmp(bits, "256") == 0 ? EVP_sha256() : strcmp(bits, "384") == 0 ? EVP_sha384() :
	       EVP_sha512();
}

/* JWS ES* signatures are r||s, each padded to the curve size (RFC 7518
 * 3.4); OpenSSL verifies DER. Returns the DER length or 0. */
static int ecdsa_raw_to_der(const unsigned char *sig, int len, size_t size, unsigned char *der)
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)size, NULL), *ss = BN_bin2bn(sig + size, (int)size, NULL);
	unsigned char *p = der;
	int n;

	ck_assert(s != NULL && r != NULL && ss != NULL);
	if ((size_t)len != 2 * size) {
		BN_free(r);
		BN_free(ss);
		ECDSA_SIG_free(s);
		return 0;
	}
	ck_assert_int_eq(ECDSA_SIG_set0(s, r, ss), 1);
	n = i2d_ECDSA_SIG(s, &p);
	ECDSA_SIG_free(s);
	return n > 0 ? n : 0;
}

static bool verify_hmac(const char *alg, const json_t *jwk, const unsigned char *msg,
			size_t msglen, const unsigned char *sig, int siglen)
{
	unsigned char key[256], mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	int kl = member_bytes(jwk, "k", key, sizeof(key));

	ck_assert_int_gt(kl, 0);
	ck_assert_ptr_nonnull(HMAC(alg_md(alg), key, kl, msg, msglen, mac, &maclen));
	return (unsigned)siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
}

/* True when token's signature verifies under jwk for alg. */
static bool verify_token(const char *token, const json_t *jwk, const char *alg)
{
	const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
	unsigned char sig[1024], der[1024];
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md = NULL;
	EVP_PKEY *pkey;
	size_t msglen;
	int siglen, ok;

	ck_assert(dot1 != NULL && dot2 != NULL && strchr(dot2 + 1, '.') == NULL);
	msglen = (size_t)(dot2 - token);
	siglen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig));
	if (siglen <= 0)
		return false;
	if (alg[0] == 'H')
		return verify_hmac(alg, jwk, (const unsigned char *)token, msglen, sig, siglen);
	if (alg[0] == 'E' && alg[1] == 'S') {
		siglen = ecdsa_raw_to_der(sig, siglen,
			crv_size(json_string_value(json_object_get(jwk, "crv"))), der);
		if (siglen == 0)
			return false;
		memcpy(sig, der, (size_t)siglen);
	}
	pkey = jwk_public_key(jwk);
	md = EVP_MD_CTX_new();
	ck_assert(pkey != NULL && md != NULL);
	ck_assert_int_eq(EVP_DigestVerifyInit(md, &pctx, alg_md(alg), NULL, pkey), 1);
	if (alg[0] == 'P') {
		ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 0);
		ck_assert_int_gt(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST), 0);
	}
	ok = EVP_DigestVerify(md, sig, (size_t)siglen, (const unsigned char *)token, msglen);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ok == 1;
}

/* Part i (0 header, 1 claims) of a token, decoded, as a string. */
static char *token_part(const char *token, int i)
{
	const char *p = token, *end;
	char *out = calloc(1, TOKEN_MAX);
	int n;

	ck_assert_ptr_nonnull(out);
	for (int k = 0; k < i; k++)
		p = strchr(p, '.') + 1;
	end = strchr(p, '.');
	ck_assert_ptr_nonnull(end);
	n = b64url_decode(p, (size_t)(end - p), (unsigned char *)out, TOKEN_MAX - 1);
	ck_assert_int_gt(n, 0);
	return out;
}

static json_t *token_claims(const char *token)
{
	char *text = token_part(token, 1);
	json_error_t je;
	json_t *c = json_loads(text, JSON_REJECT_DUPLICATES, &je);

	ck_assert_msg(c != NULL, "claims: %s", je.text);
	ck_assert(json_is_object(c));
	free(text);
	return c;
}

static void check_header(const char *token, const char *alg, const char *kid)
{
	char want[256], *h = token_part(token, 0);

	snprintf(want, sizeof(want), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", alg, kid);
	ck_assert_str_eq(h, want);
	free(h);
}

static long long claim_int(const json_t *c, const char *name)
{
	json_t *v = json_object_get(c, name);

	ck_assert_msg(json_is_integer(v), "claim %s is not an integer", name);
	return json_integer_value(v);
}

static const char *claim_str(const json_t *c, const char *name)
{
	const char *v = json_string_value(json_object_get(c, name));

	ck_assert_msg(v != NULL, "claim %s is not a string", name);
	return v;
}

/* The JWK keygen wrote for kid (a new reference). */
static json_t *jwk_of(const char *kid)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *doc, *k, *found = NULL;
	size_t i;

	path_in(path, sizeof(path), "jwks.json");
	doc = json_load_file(path, 0, &je);
	ck_assert_ptr_nonnull(doc);
	json_array_foreach(json_object_get(doc, "keys"), i, k)
		if (strcmp(json_string_value(json_object_get(k, "kid")), kid) == 0)
			found = json_incref(k);
	json_decref(doc);
	ck_assert_ptr_nonnull(found);
	return found;
}

/* Generates alg's key as kid with keygen; key_path gets its file. */
static void make_key(const char *alg, const char *kid, char *key_path, size_t len)
{
	struct keygen_result res;
	char err[PATH_MAX + 256];

	if (keygen_generate(alg, kid, dir, &res, err, sizeof(err)) != 0)
		ck_abort_msg("keygen %s: %s", alg, err);
	ck_assert_uint_lt(strlen(res.key_path), len);
	memcpy(key_path, res.key_path, strlen(res.key_path) + 1);
}

static struct mint_request base_request(const char *key_path, const char *kid, const char *alg)
{
	struct mint_request r;

	memset(&r, 0, sizeof(r));
	r.key_path = key_path;
	r.kid = kid;
	r.alg = alg;
	r.sub = "subscriber-42";
	r.entitlements = "basic,premium";
	r.ttl_s = 600;
	r.iss = "https://issuer.example";
	r.aud = "paywalld";
	r.now = NOW;
	return r;
}

static char *mint_ok(const struct mint_request *r)
{
	char err[512] = "";
	char *t = mint_token(r, err, sizeof(err));

	ck_assert_msg(t != NULL, "mint_token: %s", err);
	return t;
}

static void mint_fails(const struct mint_request *r, const char *want)
{
	char err[512] = "";
	char *t = mint_token(r, err, sizeof(err));

	ck_assert_ptr_null(t);
	if (strstr(err, want) == NULL)
		ck_abort_msg("error '%s' does not contain '%s'", err, want);
}

static void check_standard_claims(const char *token)
{
	json_t *c = token_claims(token), *ent = json_object_get(c, "entitlements");

	ck_assert_str_eq(claim_str(c, "sub"), "subscriber-42");
	ck_assert_str_eq(claim_str(c, "iss"), "https://issuer.example");
	ck_assert_str_eq(claim_str(c, "aud"), "paywalld");
	ck_assert_int_eq(claim_int(c, "iat"), NOW);
	ck_assert_int_eq(claim_int(c, "exp"), NOW + 600);
	ck_assert(json_is_array(ent));
	ck_assert_uint_eq(json_array_size(ent), 2);
	ck_assert_str_eq(json_string_value(json_array_get(ent, 0)), "basic");
	ck_assert_str_eq(json_string_value(json_array_get(ent, 1)), "premium");
	ck_assert_uint_eq(json_object_size(c), 6);
	json_decref(c);
}

/* ---- libjwt tokens, every alg ---- */

START_TEST(test_mint_each_alg)
{
	const char *alg = algs[_i];
	char key[PATH_MAX];
	json_t *jwk;
	char *t;

	make_key(alg, "k1", key, sizeof(key));
	jwk = jwk_of("k1");
	struct mint_request r = base_request(key, "k1", alg);
	t = mint_ok(&r);
	check_header(t, alg, "k1");
	check_standard_claims(t);
	ck_assert_msg(verify_token(t, jwk, alg), "%s token does not verify", alg);
	free(t);
	json_decref(jwk);
}
END_TEST

/* The verifier must not be a rubber stamp: a changed claim, a changed
 * signature or another key of the same type all fail. */
START_TEST(test_mint_tampering_detected)
{
	const char *alg = algs[_i];
	char key[PATH_MAX], other[PATH_MAX];
	json_t *jwk, *jwk2;
	char *t;
	char *dot;

	make_key(alg, "k1", key, sizeof(key));
	make_key(alg, "k2", other, sizeof(other));
	jwk = jwk_of("k1");
	jwk2 = jwk_of("k2");
	struct mint_request r = base_request(key, "k1", alg);
	t = mint_ok(&r);
	ck_assert(verify_token(t, jwk, alg));
	ck_assert(!verify_token(t, jwk2, alg));
	dot = strchr(t, '.');
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	ck_assert(!verify_token(t, jwk, alg));
	dot[3] = dot[3] == 'A' ? 'B' : 'A';
	dot = strrchr(t, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	ck_assert(!verify_token(t, jwk, alg));
	free(t);
	json_decref(jwk);
	json_decref(jwk2);
}
END_TEST

START_TEST(test_mint_alg_inferred)
{
	/* The alg published for the kid in the jwks.json beside the key wins:
	 * the key type alone cannot tell RS256 from RS512. */
	static const char *const gen[] = { "ES256", "ES384", "ES512", "RS512", "HS512" };
	static const char *const want[] = { "ES256", "ES384", "ES512", "RS512", "HS512" };

	for (size_t i = 0; i < sizeof(gen) / sizeof(gen[0]); i++) {
		char key[PATH_MAX], kid[16];
		json_t *jwk;
		char *t;

		snprintf(kid, sizeof(kid), "k%zu", i);
		make_key(gen[i], kid, key, sizeof(key));
		jwk = jwk_of(kid);
		struct mint_request r = base_request(key, kid, NULL);
		t = mint_ok(&r);
		check_header(t, want[i], kid);
		ck_assert(verify_token(t, jwk, want[i]));
		free(t);
		json_decref(jwk);
	}
}
END_TEST

/* libjwt reads traditional ("BEGIN EC PRIVATE KEY") PEM as well. */
START_TEST(test_mint_traditional_pem)
{
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	char path[PATH_MAX];
	char *t;

	ck_assert(ec != NULL && rsa != NULL);
	write_pem("ec.pem", ec, 1);
	write_pem("rsa.pem", rsa, 1);
	path_in(path, sizeof(path), "ec.pem");
	struct mint_request r = base_request(path, "t", NULL);
	t = mint_ok(&r);
	check_header(t, "ES384", "t");
	free(t);
	path_in(path, sizeof(path), "rsa.pem");
	r.alg = "RS384";
	t = mint_ok(&r);
	check_header(t, "RS384", "t");
	free(t);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
}
END_TEST

/* ---- claims ---- */

START_TEST(test_mint_expired_and_nbf)
{
	char key[PATH_MAX];
	json_t *c;
	char *t;
	long long t0 = (long long)time(NULL), iat;

	make_key("ES256", "k", key, sizeof(key));
	struct mint_request r = base_request(key, "k", NULL);
	r.now = 0;
	r.ttl_s = -3600;
	r.set_nbf = true;
	r.nbf_offset_s = -30;
	t = mint_ok(&r);
	c = token_claims(t);
	iat = claim_int(c, "iat");
	ck_assert(iat >= t0 && iat <= (long long)time(NULL));
	ck_assert_int_eq(claim_int(c, "exp"), iat - 3600);
	ck_assert_int_lt(claim_int(c, "exp"), t0);
	ck_assert_int_eq(claim_int(c, "nbf"), iat - 30);
	json_decref(c);
	free(t);

	r.now = NOW;
	r.ttl_s = 0;
	r.nbf_offset_s = 0;
	t = mint_ok(&r);
	c = token_claims(t);
	ck_assert_int_eq(claim_int(c, "exp"), NOW);
	ck_assert_int_eq(claim_int(c, "nbf"), NOW);
	json_decref(c);
	free(t);
}
END_TEST

START_TEST(test_mint_optional_claims_absent)
{
	char key[PATH_MAX];
	json_t *c;
	char *t;

	make_key("HS256", "k", key, sizeof(key));
	struct mint_request r = base_request(key, "k", NULL);
	r.iss = NULL;
	r.aud = NULL;
	r.entitlements = NULL;
	t = mint_ok(&r);
	c = token_claims(t);
	ck_assert_uint_eq(json_object_size(c), 3);
	ck_assert_str_eq(claim_str(c, "sub"), "subscriber-42");
	json_decref(c);
	free(t);

	r.entitlements = "";
	t = mint_ok(&r);
	c = token_claims(t);
	ck_assert(json_is_array(json_object_get(c, "entitlements")));
	ck_assert_uint_eq(json_array_size(json_object_get(c, "entitlements")), 0);
	json_decref(c);
	free(t);
}
END_TEST

START_TEST(test_mint_claims_escaped)
{
	char key[PATH_MAX];
	json_t *c, *ent;
	char *t;

	make_key("HS384", "k", key, sizeof(key));
	struct mint_request r = base_request(key, "k", "HS384");
	r.sub = "user \"quoted\" \\ \xc3\xa9";
	r.entitlements = "a\"b,c\\d,\xc3\xa9t\xc3\xa9,x y";
	t = mint_ok(&r);
	c = token_claims(t);
	ck_assert_str_eq(claim_str(c, "sub"), r.sub);
	ent = json_object_get(c, "entitlements");
	ck_assert_uint_eq(json_array_size(ent), 4);
	ck_assert_str_eq(json_string_value(json_array_get(ent, 0)), "a\"b");
	ck_assert_str_eq(json_string_value(json_array_get(ent, 1)), "c\\d");
	ck_assert_str_eq(json_string_value(json_array_get(ent, 2)), "\xc3\xa9t\xc3\xa9");
	ck_assert_str_eq(json_string_value(json_array_get(ent, 3)), "x y");
	json_decref(c);
	free(t);
}
END_TEST

/* ---- refusals ---- */

START_TEST(test_mint_alg_key_mismatch_refused)
{
	char ec[PATH_MAX], rsa[PATH_MAX], hs[PATH_MAX];

	make_key("ES256", "ec", ec, sizeof(ec));
	make_key("RS256", "rsa", rsa, sizeof(rsa));
	make_key("HS256", "hs", hs, sizeof(hs));
	struct mint_request r = base_request(ec, "ec", "RS256");
	mint_fails(&r, "RS256 needs an RSA key, the key file holds an EC key");
	r.alg = "ES384";
	mint_fails(&r, "ES384 needs an EC key on P-384");
	r.alg = "HS256";
	mint_fails(&r, "HS256 needs a secret, the key file holds an EC key");
	r.key_path = rsa;
	r.alg = "ES256";
	mint_fails(&r, "ES256 needs an EC key, the key file holds an RSA key");
	r.key_path = hs;
	r.alg = "RS256";
	mint_fails(&r, "RS256 needs an RSA key, the key file holds a secret");
	r.alg = "HS384";
	mint_fails(&r, "HS384 needs a secret of at least 48 bytes, not 32");
	r.alg = "HS512";
	mint_fails(&r, "HS512 needs a secret of at least 64 bytes, not 32");
	static const char *const unknown[] = { "none", "PS256", "EdDSA", "hs256", "" };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		r.alg = unknown[i];
		mint_fails(&r, "--alg: expected ES256|");
	}
}
END_TEST

START_TEST(test_mint_bad_keys_refused)
{
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *p224 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-224");
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *enc = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	char path[PATH_MAX], *big;

	ck_assert(small != NULL && p224 != NULL && ed != NULL && enc != NULL);
	write_pem("small.pem", small, 0);
	write_pem("p224.pem", p224, 0);
	write_pem("ed.pem", ed, 0);
	write_pem("enc.pem", enc, 2);
	write_bytes("garbage.key", "not base64url!\n", 15);
	write_bytes("padded.key", "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0cw==\n", 46);
	write_bytes("short.key", "c2hvcnQ\n", 8);
	big = malloc(MINT_KEY_MAX + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'A', MINT_KEY_MAX + 1);
	write_bytes("big.key", big, MINT_KEY_MAX + 1);
	free(big);

	static const struct { const char *file, *alg, *want; } cases[] = {
		{ "small.pem", NULL, "RS256 needs an RSA key of at least 2048 bits, not 1024" },
		{ "p224.pem", NULL, "an EC key on a curve other than P-256/384/521" },
		{ "p224.pem", "ES256", "ES256 needs an EC key on P-256" },
		{ "ed.pem", NULL, "key: a type libjwt does not sign with" },
		{ "enc.pem", NULL, "no unencrypted private key in this PEM file" },
		{ "garbage.key", NULL, "neither a PEM private key nor a base64url secret" },
		{ "padded.key", NULL, "neither a PEM private key nor a base64url secret" },
		{ "short.key", NULL, "HS256 needs a secret of at least 32 bytes, not 5" },
		{ "big.key", NULL, "larger than 65536 bytes" },
		{ "missing.pem", NULL, "missing.pem: cannot open: No such file" },
		{ ".", NULL, "not a regular file" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		path_in(path, sizeof(path), cases[i].file);
		struct mint_request r = base_request(path, "k", cases[i].alg);
		mint_fails(&r, cases[i].want);
	}
	EVP_PKEY_free(small);
	EVP_PKEY_free(p224);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(enc);
}
END_TEST

START_TEST(test_mint_bad_request_refused)
{
	char key[PATH_MAX], *longs;

	make_key("HS256", "k", key, sizeof(key));
	longs = malloc(MINT_CLAIM_MAX + 2);
	ck_assert_ptr_nonnull(longs);
	memset(longs, 'x', MINT_CLAIM_MAX + 1);
	longs[MINT_CLAIM_MAX + 1] = '\0';
	struct mint_request r = base_request(key, "k", NULL);
	r.kid = NULL;
	mint_fails(&r, "kid: expected 1 to 4096 bytes");
	r.kid = "";
	mint_fails(&r, "kid: expected");
	r.kid = "k";
	r.sub = NULL;
	mint_fails(&r, "sub: expected");
	r.sub = longs;
	mint_fails(&r, "sub: expected");
	r.sub = "\xff\xfe";
	mint_fails(&r, "sub: not valid UTF-8");
	r.sub = "s";
	r.iss = "";
	mint_fails(&r, "iss: expected");
	r.iss = NULL;
	r.aud = longs;
	mint_fails(&r, "aud: expected");
	r.aud = NULL;
	r.key_path = NULL;
	mint_fails(&r, "key: expected");
	r.key_path = key;
	static const char *const ents[] = { "a,,b", ",a", "a,", ",", "ok,\xff" };
	for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		r.entitlements = ents[i];
		mint_fails(&r, "has an empty or non-UTF-8 item");
	}
	r.entitlements = NULL;
	r.ttl_s = MINT_DURATION_MAX + 1;
	mint_fails(&r, "out of range");
	r.ttl_s = 60;
	r.now = -1;
	mint_fails(&r, "out of range");
	r.now = MINT_NOW_MAX + 1;
	mint_fails(&r, "out of range");
	free(longs);
}
END_TEST

/* ---- durations ---- */

START_TEST(test_mint_parse_duration)
{
	static const struct { const char *s; long long v; } ok[] = {
		{ "30s", 30 }, { "15m", 900 }, { "1h", 3600 }, { "2d", 172800 }, { "-1h", -3600 },
		{ "0s", 0 }, { "0", 0 }, { "3600", 3600 }, { "+5m", 300 }, { "-90", -90 },
		{ "36600d", 36600LL * 86400 }, { "-36600d", -36600LL * 86400 },
	};
	static const char *const bad[] = {
		"", "s", "h", "-", "-h", "1x", "1.5h", "1hh", " 1h", "1h ", "1 h", "1H", "0x10",
		"99999999999999999999", "36601d", "3162240001", "--1h", "1e3",
	};
	long long v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 12345;
		ck_assert_msg(mint_parse_duration(ok[i].s, &v) == 0, "'%s' refused", ok[i].s);
		ck_assert_int_eq(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		ck_assert_msg(mint_parse_duration(bad[i], &v) == -1, "'%s' accepted", bad[i]);
		ck_assert_int_eq(v, 12345);
	}
	ck_assert_int_eq(mint_parse_duration(NULL, &v), -1);
}
END_TEST

/* ---- the command ---- */

/* Runs mint_main on args (NULL-terminated) with stdout captured in out. */
static int run_main(const char *const *args, char *out, size_t outlen)
{
	char *argv[32];
	int argc = 0, fds[2], saved, rc;
	size_t n = 0;
	ssize_t r;

	while (args[argc] != NULL) {
		ck_assert_int_lt(argc, 31);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	fflush(stdout);
	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fds[1], STDOUT_FILENO), 0);
	close(fds[1]);
	rc = mint_main(argc, argv);
	fflush(stdout);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	close(saved);
	while (n + 1 < outlen && (r = read(fds[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	return rc;
}

START_TEST(test_mint_main)
{
	char key[PATH_MAX], out[TOKEN_MAX];
	long long t0 = (long long)time(NULL), iat;
	json_t *jwk, *c;

	make_key("ES512", "cli", key, sizeof(key));
	jwk = jwk_of("cli");
	const char *ok[] = { "--key", key, "--kid", "cli", "--sub", "bob", "--entitlements", "gold",
			     "--ttl", "-1h", "--nbf-in", "30s", "--iat-offset", "-10m", "--iss", "i",
			     "--aud", "a", NULL };
	ck_assert_int_eq(run_main(ok, out, sizeof(out)), 0);
	ck_assert_uint_gt(strlen(out), 10);
	ck_assert_int_eq(out[strlen(out) - 1], '\n');
	out[strlen(out) - 1] = '\0';
	ck_assert_ptr_null(strchr(out, '\n'));
	check_header(out, "ES512", "cli");
	ck_assert(verify_token(out, jwk, "ES512"));
	c = token_claims(out);
	iat = claim_int(c, "iat");
	ck_assert(iat >= t0 - 600 && iat <= (long long)time(NULL) - 600);
	ck_assert_int_eq(claim_int(c, "exp"), iat - 3600);
	ck_assert_int_eq(claim_int(c, "nbf"), iat + 30);
	ck_assert_str_eq(claim_str(c, "sub"), "bob");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(c, "entitlements"), 0)),
			 "gold");
	json_decref(c);
	json_decref(jwk);

	const char *dflt[] = { "--sub", "x", "--kid", "cli", "--key", key, "--alg", "ES512", NULL };
	ck_assert_int_eq(run_main(dflt, out, sizeof(out)), 0);
	c = token_claims(out);
	ck_assert_int_eq(claim_int(c, "exp") - claim_int(c, "iat"), 3600);
	ck_assert_ptr_null(json_object_get(c, "nbf"));
	json_decref(c);

	const char *nosub[] = { "--key", key, "--kid", "cli", NULL };
	const char *badttl[] = { "--key", key, "--kid", "c", "--sub", "s", "--ttl", "1y", NULL };
	const char *badkey[] = { "--key", "/nonexistent", "--kid", "c", "--sub", "s", NULL };
	const char *badalg[] = { "--key", key, "--kid", "c", "--sub", "s", "--alg", "RS256", NULL };
	const char *rep[] = { "--key", key, "--key", key, "--kid", "c", "--sub", "s", NULL };
	const char *extra[] = { "--key", key, "--kid", "c", "--sub", "s", "--exp", "1", NULL };
	const char *novalue[] = { "--key", key, "--kid", "c", "--sub", NULL };
	const char *help[] = { "--help", NULL };
	const char *none[] = { NULL };
	ck_assert_int_eq(run_main(nosub, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(badttl, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(badkey, out, sizeof(out)), 1);
	ck_assert_int_eq(run_main(badalg, out, sizeof(out)), 1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(run_main(rep, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(extra, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(novalue, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(none, out, sizeof(out)), 2);
	ck_assert_int_eq(run_main(help, out, sizeof(out)), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: paywallctl token mint"));
}
END_TEST

/* ---- interoperability with jose (tests/interop/mint.mjs) ---- */

static char jose_script[PATH_MAX];

/* True when node and tests/interop (after `npm ci`) are there. When not,
 * the jose tests pass with a note, unless PAYWALLD_REQUIRE_JOSE is set. */
static bool jose_available(void)
{
	const char *fx = getenv("PAYWALLD_FIXTURES");
	const char *req = getenv("PAYWALLD_REQUIRE_JOSE");
	char mod[PATH_MAX];
	bool ok;

	snprintf(jose_script, sizeof(jose_script), "%s/%s",
		 fx != NULL && fx[0] != '\0' ? fx : "tests/fixtures", "../interop/mint.mjs");
	snprintf(mod, sizeof(mod), "%s/%s", fx != NULL && fx[0] != '\0' ? fx : "tests/fixtures",
		 "../interop/node_modules/jose/package.json");
	ok = access(jose_script, R_OK) == 0 && access(mod, R_OK) == 0 &&
	     system("node --version >/dev/null 2>&1") == 0;
	if (!ok && req != NULL && req[0] != '\0')
		ck_abort_msg("jose interop needs node and `npm ci` in tests/interop");
	if (!ok)
		fprintf(stderr, "mint_test: jose interop skipped: no node or no "
			"tests/interop/node_modules (run npm ci there)\n");
	return ok;
}

/* Runs node mint.mjs with args; its one line of stdout goes to out. */
static int jose_run(const char *args, char *out, size_t outlen)
{
	char cmd[PATH_MAX * 3];
	FILE *p;
	int st;

	ck_assert(strchr(jose_script, '\'') == NULL && strchr(dir, '\'') == NULL);
	snprintf(cmd, sizeof(cmd), "node '%s' %s", jose_script, args);
	fflush(stdout);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(out, (int)outlen, p) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The same claims from libjwt and from jose, both verified by OpenSSL. */
START_TEST(test_mint_jose_same_keys)
{
	const char *alg = algs[_i];
	char key[PATH_MAX], args[PATH_MAX * 2], tok[TOKEN_MAX];
	json_t *jwk, *cj, *cl;
	char *t;

	if (!jose_available())
		return;
	make_key(alg, "j1", key, sizeof(key));
	jwk = jwk_of("j1");
	snprintf(args, sizeof(args), "--alg %s --key '%s' --kid j1 --sub subscriber-42 "
		 "--ent basic,premium --iss https://issuer.example --aud paywalld --ttl 600 "
		 "--now %lld", alg, key, NOW);
	ck_assert_int_eq(jose_run(args, tok, sizeof(tok)), 0);
	check_header(tok, alg, "j1");
	check_standard_claims(tok);
	ck_assert_msg(verify_token(tok, jwk, alg), "jose %s token does not verify", alg);

	struct mint_request r = base_request(key, "j1", alg);
	t = mint_ok(&r);
	cj = token_claims(tok);
	cl = token_claims(t);
	ck_assert(json_equal(cj, cl));
	/* Same header bytes: only the claim order differs between the two. */
	ck_assert(strncmp(t, tok, (size_t)(strchr(t, '.') - t)) == 0);
	json_decref(cj);
	json_decref(cl);
	free(t);
	json_decref(jwk);
}
END_TEST

/* Keys jose made (PS*, EdDSA too): its JWK verifies its tokens under
 * OpenSSL, and libjwt signs with its PKCS#8 files for the algs it knows. */
START_TEST(test_mint_jose_own_keys)
{
	static const char *const jalgs[] = {
		"PS256", "PS384", "PS512", "EdDSA", "ES256", "ES384", "ES512", "RS256", "HS256",
	};
	const char *alg = jalgs[_i];
	char args[PATH_MAX * 2], line[TOKEN_MAX], key[PATH_MAX];
	json_error_t je;
	json_t *jwk;

	if (!jose_available())
		return;
	snprintf(args, sizeof(args), "--genkey %s --out '%s' --kid jk", alg, dir);
	ck_assert_int_eq(jose_run(args, line, sizeof(line)), 0);
	jwk = json_loads(line, 0, &je);
	ck_assert_msg(jwk != NULL, "jose JWK: %s", je.text);
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "kid")), "jk");
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), alg);
	path_in(key, sizeof(key), alg[0] == 'H' ? "jk.key" : "jk.pem");
	snprintf(args, sizeof(args), "--alg %s --key '%s' --kid jk --sub s --exp-offset -60 "
		 "--nbf-offset 5", alg, key);
	ck_assert_int_eq(jose_run(args, line, sizeof(line)), 0);
	check_header(line, alg, "jk");
	ck_assert_msg(verify_token(line, jwk, alg), "jose %s token does not verify", alg);
	json_t *c = token_claims(line);
	ck_assert_int_lt(claim_int(c, "exp"), (long long)time(NULL));
	ck_assert_int_eq(claim_int(c, "nbf"), claim_int(c, "exp") + 65);
	json_decref(c);
	if ((alg[0] == 'E' && alg[1] == 'S') || alg[0] == 'R' || alg[0] == 'H') {
		struct mint_request r = base_request(key, "jk", alg);
		char *t = mint_ok(&r);
		ck_assert_msg(verify_token(t, jwk, alg), "libjwt %s token with a jose key", alg);
		free(t);
	}
	json_decref(jwk);
}
END_TEST

static Suite *mint_suite(void)
{
	Suite *s = suite_create("mint");
	TCase *sign = tcase_create("sign");
	TCase *claims = tcase_create("claims");
	TCase *refuse = tcase_create("refuse");
	TCase *cmd = tcase_create("command");
	TCase *jose = tcase_create("jose");
	TCase *all[] = { sign, claims, refuse, cmd, jose };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], dir_setup, dir_teardown);
		tcase_set_timeout(all[i], 120);
	}
	tcase_add_loop_test(sign, test_mint_each_alg, 0, NALGS);
	tcase_add_loop_test(sign, test_mint_tampering_detected, 0, NALGS);
	tcase_add_test(sign, test_mint_alg_inferred);
	tcase_add_test(sign, test_mint_traditional_pem);
	suite_add_tcase(s, sign);

	tcase_add_test(claims, test_mint_expired_and_nbf);
	tcase_add_test(claims, test_mint_optional_claims_absent);
	tcase_add_test(claims, test_mint_claims_escaped);
	tcase_add_test(claims, test_mint_parse_duration);
	suite_add_tcase(s, claims);

	tcase_add_test(refuse, test_mint_alg_key_mismatch_refused);
	tcase_add_test(refuse, test_mint_bad_keys_refused);
	tcase_add_test(refuse, test_mint_bad_request_refused);
	suite_add_tcase(s, refuse);

	tcase_add_test(cmd, test_mint_main);
	suite_add_tcase(s, cmd);

	tcase_add_loop_test(jose, test_mint_jose_same_keys, 0, NALGS);
	tcase_add_loop_test(jose, test_mint_jose_own_keys, 0, 9);
	suite_add_tcase(s, jose);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(mint_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
