/* keyset: the publisher's verification keys from a JWKS, parsed once. */
#include "keyset.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"

#define KEYSET_PART_MAX 1024	/* decoded bytes of one JWK member (RSA 8192) */

static const char *const jws_alg_names[JWS_ALG_COUNT] = {
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
	"ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA",
};

int jws_alg_parse(const char *name, enum jws_alg *out)
{
	for (int i = 0; i < JWS_ALG_COUNT; i++) {
		if (strcmp(name, jws_alg_names[i]) == 0) {
			*out = (enum jws_alg)i;
			return 0;
		}
	}
	return -1;
}

const char *jws_alg_name(enum jws_alg alg)
{
	return (unsigned)alg < JWS_ALG_COUNT ? jws_alg_names[alg] : "?";
}

bool jws_alg_is_hmac(enum jws_alg alg)
{
	return alg == JWS_HS256 || alg == JWS_HS384 || alg == JWS_HS512;
}

static void keyset_key_clear(struct keyset_key *k)
{
	free(k->kid);
	EVP_PKEY_free(k->pkey);
	if (k->secret != NULL) {
		OPENSSL_cleanse(k->secret, k->secret_len);
		free(k->secret);
	}
	free(k->pem);
	memset(k, 0, sizeof(*k));
}

struct keyset *keyset_ref(struct keyset *ks)
{
	if (ks != NULL)
		atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void keyset_unref(struct keyset *ks)
{
	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (size_t i = 0; i < ks->n; i++)
		keyset_key_clear(&ks->keys[i]);
	free(ks->keys);
	free(ks);
}

/* Decodes a base64url JWK member into buf; returns its length or -1. */
static long keyset_member(json_t *jwk, const char *name, unsigned char *buf, size_t cap)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	if (s == NULL || s[0] == '\0')
		return -1;
	return b64url_decode(s, strlen(s), buf, cap);
}

static int keyset_export_pem(struct keyset_key *k)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = -1;

	if (bio == NULL)
		return -1;
	if (PEM_write_bio_PUBKEY(bio, k->pkey) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || (k->pem = malloc((size_t)len + 1)) == NULL)
		goto out;
	memcpy(k->pem, data, (size_t)len);
	k->pem[len] = '\0';
	k->pem_len = (size_t)len;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

static EVP_PKEY *keyset_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static const char *keyset_parse_rsa(json_t *jwk, struct keyset_key *k)
{
	unsigned char n[KEYSET_PART_MAX], e[16];
	long nlen = keyset_member(jwk, "n", n, sizeof(n));
	long elen = keyset_member(jwk, "e", e, sizeof(e));
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	const char *why = "RSA key: out of memory";

	if (nlen < 0 || elen <= 0)
		return "RSA key: n and e must be base64url";
	/* Leading zero bytes do not count towards the modulus size. */
	long skip = 0;
	while (skip < nlen && n[skip] == 0)
		skip++;
	if (nlen - skip < 256)
		return "RSA key: modulus shorter than 2048 bits";
	bn = BN_bin2bn(n + skip, (int)(nlen - skip), NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	if (bn != NULL && BN_num_bits(bn) < 2048) {
		why = "RSA key: modulus shorter than 2048 bits";
		goto out;
	}
	/* e = 1 makes every padded message its own signature: forgeable. */
	if (be != NULL && (!BN_is_odd(be) || BN_is_one(be))) {
		why = "RSA key: public exponent must be odd and greater than 1";
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bn == NULL || be == NULL || bld == NULL ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) != 1)
		goto out;
	k->pkey = keyset_pkey_fromdata("RSA", bld);
	why = k->pkey != NULL ? NULL : "RSA key: rejected by OpenSSL";
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return why;
}

struct keyset_curve {
	const char *crv;
	const char *group;
	size_t size;
	enum jws_alg alg;
};

static const struct keyset_curve keyset_curves[] = {
	{ "P-256", "prime256v1", 32, JWS_ES256 },
	{ "P-384", "secp384r1", 48, JWS_ES384 },
	{ "P-521", "secp521r1", 66, JWS_ES512 },
};

static const char *keyset_parse_ec(json_t *jwk, struct keyset_key *k, enum jws_alg *def)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	const struct keyset_curve *c = NULL;
	unsigned char x[80], y[80], pub[1 + 2 * 80];
	OSSL_PARAM_BLD *bld;
	EVP_PKEY_CTX *check;

	for (size_t i = 0; crv != NULL && i < sizeof(keyset_curves) / sizeof(keyset_curves[0]); i++)
		if (strcmp(crv, keyset_curves[i].crv) == 0)
			c = &keyset_curves[i];
	if (c == NULL)
		return "EC key: crv must be P-256, P-384 or P-521";
	if (keyset_member(jwk, "x", x, sizeof(x)) != (long)c->size ||
	    keyset_member(jwk, "y", y, sizeof(y)) != (long)c->size)
		return "EC key: x and y must be base64url of the curve's size";
	pub[0] = 0x04;	/* uncompressed point */
	memcpy(pub + 1, x, c->size);
	memcpy(pub + 1 + c->size, y, c->size);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
					     1 + 2 * c->size) != 1) {
		OSSL_PARAM_BLD_free(bld);
		return "EC key: out of memory";
	}
	k->pkey = keyset_pkey_fromdata("EC", bld);
	OSSL_PARAM_BLD_free(bld);
	if (k->pkey == NULL)
		return "EC key: rejected by OpenSSL";
	/* An off-curve point is the classic invalid-curve attack: refuse it. */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	int ok = check != NULL && EVP_PKEY_public_check(check) == 1;
	EVP_PKEY_CTX_free(check);
	if (!ok)
		return "EC key: point is not on the curve";
	*def = c->alg;
	return NULL;
}

static const char *keyset_parse_okp(json_t *jwk, struct keyset_key *k)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	unsigned char x[64];

	if (crv == NULL || strcmp(crv, "Ed25519") != 0)
		return "OKP key: only crv Ed25519 is supported";
	if (keyset_member(jwk, "x", x, sizeof(x)) != 32)
		return "OKP key: x must be 32 bytes of base64url";
	k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
	return k->pkey != NULL ? NULL : "OKP key: rejected by OpenSSL";
}

static const char *keyset_parse_oct(json_t *jwk, struct keyset_key *k)
{
	unsigned char buf[KEYSET_PART_MAX];
	long len = keyset_member(jwk, "k", buf, sizeof(buf));

	if (len <= 0) {
		OPENSSL_cleanse(buf, sizeof(buf));
		return "oct key: k must be base64url";
	}
	k->secret = malloc((size_t)len);
	if (k->secret != NULL) {
		memcpy(k->secret, buf, (size_t)len);
		k->secret_len = (size_t)len;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return k->secret != NULL ? NULL : "oct key: out of memory";
}

/* Whether alg may be used with a key of this type (and size). */
static const char *keyset_check_alg(const char *kty, const struct keyset_key *k,
				    enum jws_alg def)
{
	static const size_t hmac_min[] = { 32, 48, 64 };

	if (strcmp(kty, "RSA") == 0)
		return (k->alg >= JWS_RS256 && k->alg <= JWS_RS512) ||
		       (k->alg >= JWS_PS256 && k->alg <= JWS_PS512) ? NULL :
		       "alg does not fit an RSA key";
	if (strcmp(kty, "EC") == 0)
		return k->alg == def ? NULL : "alg does not fit the EC key's curve";
	if (strcmp(kty, "OKP") == 0)
		return k->alg == JWS_EDDSA ? NULL : "alg does not fit an OKP key";
	if (!jws_alg_is_hmac(k->alg))
		return "alg does not fit an oct key";
	return k->secret_len >= hmac_min[k->alg - JWS_HS256] ? NULL :
	       "oct key shorter than its hash (RFC 7518 3.2)";
}

static const char *keyset_parse_kid(json_t *jwk, struct keyset_key *k)
{
	json_t *kid = json_object_get(jwk, "kid");
	const char *s;

	if (kid == NULL)
		return NULL;
	s = json_string_value(kid);
	if (s == NULL || s[0] == '\0' || strlen(s) > KEYSET_KID_MAX)
		return "kid must be a non-empty string of at most 256 bytes";
	k->kid = strdup(s);
	return k->kid != NULL ? NULL : "out of memory";
}

/* Keys for encryption (JWE algorithms, X25519/X448 agreement) are not for
 * us even without "use": identity providers publish them side by side. */
static bool keyset_is_encryption_key(json_t *jwk, const char *alg)
{
	static const char *const jwe_prefixes[] = { "RSA-OAEP", "RSA1_5", "ECDH-ES", "A128",
						    "A192", "A256", "dir", "PBES2" };
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (crv != NULL && (strcmp(crv, "X25519") == 0 || strcmp(crv, "X448") == 0))
		return true;
	for (size_t i = 0; alg != NULL && i < sizeof(jwe_prefixes) / sizeof(jwe_prefixes[0]); i++)
		if (strncmp(alg, jwe_prefixes[i], strlen(jwe_prefixes[i])) == 0)
			return true;
	return false;
}

/* Parses one JWK; *skip is set for keys that are not for verification. */
static const char *keyset_parse_jwk(json_t *jwk, struct keyset_key *k, bool *skip)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *use = json_string_value(json_object_get(jwk, "use"));
	const char *alg = json_string_value(json_object_get(jwk, "alg"));
	enum jws_alg def = JWS_RS256;
	const char *why;

	*skip = false;
	if (!json_is_object(jwk) || kty == NULL)
		return "not a JWK (object with kty)";
	if (keyset_is_encryption_key(jwk, alg) || (use != NULL && strcmp(use, "sig") != 0) ||
	    (strcmp(kty, "RSA") != 0 && strcmp(kty, "EC") != 0 && strcmp(kty, "OKP") != 0 &&
	     strcmp(kty, "oct") != 0)) {
		*skip = true;
		return NULL;
	}
	if ((why = keyset_parse_kid(jwk, k)) != NULL)
		return why;
	if (strcmp(kty, "RSA") == 0) {
		why = keyset_parse_rsa(jwk, k);
	} else if (strcmp(kty, "EC") == 0) {
		why = keyset_parse_ec(jwk, k, &def);
	} else if (strcmp(kty, "OKP") == 0) {
		why = keyset_parse_okp(jwk, k);
		def = JWS_EDDSA;
	} else {
		why = keyset_parse_oct(jwk, k);
		def = JWS_HS256;
	}
	if (why != NULL)
		return why;
	if (alg != NULL && jws_alg_parse(alg, &k->alg) != 0)
		return "alg is not a supported JWS algorithm";
	if (alg == NULL)
		k->alg = def;
	if ((why = keyset_check_alg(kty, k, def)) != NULL)
		return why;
	if (k->pkey != NULL && keyset_export_pem(k) != 0)
		return "cannot export the public key";
	return NULL;
}

static bool keyset_duplicate(const struct keyset *ks, const struct keyset_key *k)
{
	for (size_t i = 0; i < ks->n; i++) {
		const struct keyset_key *o = &ks->keys[i];
		if (o->alg == k->alg && ((o->kid == NULL && k->kid == NULL) ||
					 (o->kid != NULL && k->kid != NULL &&
					  strcmp(o->kid, k->kid) == 0)))
			return true;
	}
	return false;
}

static int keyset_fill(struct keyset *ks, json_t *keys, bool allow_secret, char *err,
		       size_t errlen)
{
	size_t i;
	json_t *jwk;

	json_array_foreach(keys, i, jwk) {
		struct keyset_key k;
		bool skip;
		const char *why;

		memset(&k, 0, sizeof(k));
		why = keyset_parse_jwk(jwk, &k, &skip);
		if (why == NULL && !skip && keyset_duplicate(ks, &k))
			why = "duplicate kid for the same alg";
		if (why != NULL) {
			snprintf(err, errlen, "key %zu%s%s%s: %s", i + 1, k.kid ? " (kid \"" : "",
				 k.kid ? k.kid : "", k.kid ? "\")" : "", why);
			keyset_key_clear(&k);
			return -1;
		}
		if (skip || (!allow_secret && k.secret != NULL)) {
			keyset_key_clear(&k);
			ks->skipped++;
			continue;
		}
		ks->keys[ks->n++] = k;
	}
	return 0;
}

static int keyset_parse_opt(const char *json, size_t len, bool allow_secret,
			    struct keyset **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL, *keys;
	struct keyset *ks = NULL;
	int rc = -1;

	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(err, errlen, "JWKS is not valid JSON: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		snprintf(err, errlen, "JWKS has no \"keys\" array");
		goto out;
	}
	if (json_array_size(keys) > KEYSET_KEYS_MAX) {
		snprintf(err, errlen, "JWKS has more than %d keys", KEYSET_KEYS_MAX);
		goto out;
	}
	ks = calloc(1, sizeof(*ks));
	if (ks == NULL || (ks->keys = calloc(json_array_size(keys) + 1, sizeof(*ks->keys))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	atomic_init(&ks->refs, 1);
	if (keyset_fill(ks, keys, allow_secret, err, errlen) != 0)
		goto out;
	*out = ks;
	ks = NULL;
	rc = 0;
out:
	if (ks != NULL) {
		atomic_init(&ks->refs, 1);
		keyset_unref(ks);
	}
	json_decref(root);
	return rc;
}

int keyset_parse(const char *json, size_t len, struct keyset **out, char *err, size_t errlen)
{
	return keyset_parse_opt(json, len, true, out, err, errlen);
}

int keyset_parse_public(const char *json, size_t len, struct keyset **out, char *err,
			size_t errlen)
{
	return keyset_parse_opt(json, len, false, out, err, errlen);
}

int keyset_load_file(const char *path, struct keyset **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t got = 0;
	struct stat st;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEYSET_JSON_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", path,
			 KEYSET_JSON_MAX);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "cannot read %s", path);
			goto out;
		}
		got += (size_t)r;
	}
	rc = keyset_parse(buf, got, out, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

static int keyset_copy_key(struct keyset_key *dst, const struct keyset_key *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->alg = src->alg;
	if (src->kid != NULL && (dst->kid = strdup(src->kid)) == NULL)
		return -1;
	if (src->pkey != NULL) {
		if (EVP_PKEY_up_ref(src->pkey) != 1)
			return -1;
		dst->pkey = src->pkey;
	}
	if (src->secret != NULL) {
		if ((dst->secret = malloc(src->secret_len)) == NULL)
			return -1;
		memcpy(dst->secret, src->secret, src->secret_len);
		dst->secret_len = src->secret_len;
	}
	if (src->pem != NULL) {
		if ((dst->pem = strdup(src->pem)) == NULL)
			return -1;
		dst->pem_len = src->pem_len;
	}
	return 0;
}

struct keyset *keyset_merge(const struct keyset *a, const struct keyset *b)
{
	size_t na = a ? a->n : 0, nb = b ? b->n : 0;
	struct keyset *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return NULL;
	atomic_init(&ks->refs, 1);
	if (na + nb > KEYSET_MERGED_MAX)
		goto fail;
	ks->keys = calloc(na + nb + 1, sizeof(*ks->keys));
	if (ks->keys == NULL)
		goto fail;
	for (size_t i = 0; i < na + nb; i++) {
		const struct keyset_key *src = i < na ? &a->keys[i] : &b->keys[i - na];
		if (keyset_copy_key(&ks->keys[ks->n], src) != 0) {
			keyset_key_clear(&ks->keys[ks->n]);
			goto fail;
		}
		ks->n++;
	}
	return ks;
fail:
	keyset_unref(ks);
	return NULL;
}

const struct keyset_key *keyset_find(const struct keyset *ks, const char *kid,
				     enum jws_alg alg, bool *kid_known)
{
	const struct keyset_key *found = NULL;
	size_t fits = 0;

	*kid_known = false;
	if (ks == NULL)
		return NULL;
	for (size_t i = 0; i < ks->n; i++) {
		const struct keyset_key *k = &ks->keys[i];
		if (kid != NULL) {
			if (k->kid == NULL || strcmp(k->kid, kid) != 0)
				continue;
			*kid_known = true;
			if (k->alg == alg)
				return k;
		} else if (k->alg == alg) {
			found = k;
			fits++;
		}
	}
	return fits == 1 ? found : NULL;
}
