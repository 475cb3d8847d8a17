/*
 * token: verification of subscriber JWTs (JWS compact form) and their claims.
 *
 * libjwt 1.10 is unsafe on its own (it reads alg case-insensitively, accepts
 * an RSA public key PEM as an HMAC secret, verifies nothing with an empty
 * key, decodes base64 leniently, keeps the last of duplicate JSON names,
 * alloca()s the token and checks no claims). So everything it would decide
 * is decided here first, from our own strict parse; libjwt, when chosen,
 * only checks the signature of a token that already passed, with the key
 * and algorithm this module picked.
 */
#include "token.h"

#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64.h"

#define TOKEN_SIG_MAX 1024	/* RSA 8192 bits */

struct token_parts {
	const char *header, *payload, *sig;
	size_t header_len, payload_len, sig_len;
	size_t signed_len;	/* "header.payload" */
};

static const char *const token_reject_names[TOKEN_REJECT_COUNT] = {
	"ok", "too-long", "malformed", "bad-json", "duplicate-name", "alg-none",
	"alg-unsupported", "crit", "unknown-kid", "no-key", "bad-signature", "no-exp",
	"expired", "not-yet-valid", "issued-in-future", "wrong-issuer", "wrong-audience",
	"no-subject", "bad-claim",
};

const char *token_reject_name(enum token_reject r)
{
	return (unsigned)r < TOKEN_REJECT_COUNT ? token_reject_names[r] : "?";
}

/* Exactly three non-empty-header parts separated by exactly two dots. */
static int token_split(const char *tok, size_t len, struct token_parts *p)
{
	const char *d1 = memchr(tok, '.', len), *d2;

	if (d1 == NULL)
		return -1;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
	if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
		return -1;
	p->header = tok;
	p->header_len = (size_t)(d1 - tok);
	p->payload = d1 + 1;
	p->payload_len = (size_t)(d2 - d1 - 1);
	p->sig = d2 + 1;
	p->sig_len = len - (size_t)(d2 + 1 - tok);
	p->signed_len = (size_t)(d2 - tok);
	return p->header_len > 0 && p->payload_len > 0 ? 0 : -1;
}

/* Strictly decodes a part and parses it as one JSON object, refusing
 * duplicate names (jansson would otherwise keep the last one). */
static enum token_reject token_decode_json(const char *b64, size_t len, json_t **out)
{
	unsigned char *buf = malloc(B64_DECODED_MAX(len) + 1);
	json_error_t jerr;
	json_t *j;
	long n;

	if (buf == NULL)
		return TOKEN_MALFORMED;
	n = b64url_decode(b64, len, buf, B64_DECODED_MAX(len));
	if (n < 0) {
		free(buf);
		return TOKEN_MALFORMED;
	}
	/* jansson drops a NUL after a number or literal ({"a":1\0,...}), so
	 * bytes could hide behind one: JSON text never contains a raw NUL. */
	if (memchr(buf, 0, (size_t)n) != NULL) {
		free(buf);
		return TOKEN_BAD_JSON;
	}
	j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (j == NULL)
		return json_error_code(&jerr) == json_error_duplicate_key ? TOKEN_DUPLICATE_NAME :
		       TOKEN_BAD_JSON;
	if (!json_is_object(j)) {
		json_decref(j);
		return TOKEN_BAD_JSON;
	}
	*out = j;
	return TOKEN_OK;
}

static const EVP_MD *token_md(enum jws_alg a)
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

static bool token_verify_hmac(const struct keyset_key *k, const unsigned char *data,
			      size_t len, const unsigned char *sig, size_t siglen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (k->secret == NULL || k->secret_len == 0 ||
	    HMAC(token_md(k->alg), k->secret, (int)k->secret_len, data, len, mac, &maclen) == NULL)
		return false;
	return siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
}

static bool token_verify_pkey(const struct keyset_key *k, const unsigned char *data,
			      size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool pss = k->alg >= JWS_PS256 && k->alg <= JWS_PS512;
	bool ok = false;

	if (ctx == NULL || k->pkey == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, &pctx, token_md(k->alg), NULL, k->pkey) != 1)
		goto out;
	/* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash. */
	if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		goto out;
	ok = EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;
out:
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* JWS carries ECDSA as raw r||s; OpenSSL wants DER. r or s of zero (the
 * "psychic signature") is refused before OpenSSL sees it. */
static bool token_verify_ecdsa(const struct keyset_key *k, const unsigned char *data,
			       size_t len, const unsigned char *sig, size_t siglen)
{
	size_t half = k->alg == JWS_ES256 ? 32 : k->alg == JWS_ES384 ? 48 : 66;
	unsigned char *der = NULL;
	ECDSA_SIG *es = NULL;
	BIGNUM *r, *s;
	bool ok = false;
	int derlen;

	if (siglen != 2 * half)
		return false;
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (r == NULL || s == NULL || BN_is_zero(r) || BN_is_zero(s) ||
	    (es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	derlen = i2d_ECDSA_SIG(es, &der);
	if (derlen > 0) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		ok = ctx != NULL &&
		     EVP_DigestVerifyInit(ctx, NULL, token_md(k->alg), NULL, k->pkey) == 1 &&
		     EVP_DigestVerify(ctx, der, (size_t)derlen, data, len) == 1;
		EVP_MD_CTX_free(ctx);
	}
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return ok;
}

static bool token_verify_eddsa(const struct keyset_key *k, const unsigned char *data,
			       size_t len, const unsigned char *sig, size_t siglen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx != NULL && siglen == 64 &&
		  EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
		  EVP_DigestVerify(ctx, sig, siglen, data, len) == 1;

	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool token_verify_evp(const struct keyset_key *k, const struct token_parts *p,
			     const unsigned char *sig, size_t siglen)
{
	const unsigned char *data = (const unsigned char *)p->header;

	if (jws_alg_is_hmac(k->alg))
		return token_verify_hmac(k, data, p->signed_len, sig, siglen);
	if (k->alg >= JWS_ES256 && k->alg <= JWS_ES512)
		return token_verify_ecdsa(k, data, p->signed_len, sig, siglen);
	if (k->alg == JWS_EDDSA)
		return token_verify_eddsa(k, data, p->signed_len, sig, siglen);
	return token_verify_pkey(k, data, p->signed_len, sig, siglen);
}

static jwt_alg_t token_libjwt_alg(enum jws_alg a)
{
	static const jwt_alg_t map[] = {
		JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512, JWT_ALG_RS256, JWT_ALG_RS384,
		JWT_ALG_RS512, JWT_ALG_ES256, JWT_ALG_ES384, JWT_ALG_ES512,
	};

	return (unsigned)a < sizeof(map) / sizeof(map[0]) ? map[a] : JWT_ALG_INVAL;
}

/* libjwt's check, on a token that already passed every pre-check here,
 * with a non-empty key of the pinned type and the result's alg compared. */
static bool token_verify_libjwt(const struct keyset_key *k, const char *tok, size_t len)
{
	const unsigned char *key = jws_alg_is_hmac(k->alg) ? k->secret :
				   (const unsigned char *)k->pem;
	size_t keylen = jws_alg_is_hmac(k->alg) ? k->secret_len : k->pem_len;
	jwt_alg_t want = token_libjwt_alg(k->alg);
	char copy[TOKEN_MAX + 1];
	jwt_t *jwt = NULL;
	bool ok;

	if (want == JWT_ALG_INVAL || key == NULL || keylen == 0 || len > TOKEN_MAX)
		return false;
	memcpy(copy, tok, len);
	copy[len] = '\0';
	ok = jwt_decode(&jwt, copy, key, (int)keylen) == 0 && jwt != NULL &&
	     jwt_get_alg(jwt) == want;
	jwt_free(jwt);
	return ok;
}

/* Explicit typing (RFC 8725 3.11): an ID-style JWT or an RFC 9068 access
 * token, or no typ at all; any other type is not a subscriber token. */
static bool token_typ_ok(json_t *typ)
{
	static const char *const ok[] = { "JWT", "at+jwt", "application/at+jwt" };
	const char *t = json_string_value(typ);

	if (typ == NULL)
		return true;
	for (size_t i = 0; t != NULL && i < sizeof(ok) / sizeof(ok[0]); i++)
		if (strcasecmp(t, ok[i]) == 0)
			return true;
	return false;
}

/* libjwt 1.10 refuses any typ but "JWT"; such tokens are checked with EVP. */
static bool token_libjwt_can(const struct keyset_key *k, const char *header_b64, size_t len)
{
	unsigned char buf[TOKEN_MAX];
	long n = b64url_decode(header_b64, len, buf, sizeof(buf));
	json_t *h, *typ;
	bool can;

	if (token_libjwt_alg(k->alg) == JWT_ALG_INVAL || n < 0)
		return false;
	h = json_loadb((const char *)buf, (size_t)n, 0, NULL);
	typ = json_object_get(h, "typ");
	can = typ == NULL || strcasecmp(json_string_value(typ), "JWT") == 0;
	json_decref(h);
	return can;
}

static enum token_reject token_check_header(json_t *h, const struct keyset *ks,
					    const struct keyset_key **key, bool *kid_unknown)
{
	const char *alg = json_string_value(json_object_get(h, "alg"));
	json_t *kidj = json_object_get(h, "kid");
	const char *kid = NULL;
	enum jws_alg a;
	bool known;

	if (alg == NULL)
		return TOKEN_ALG_UNSUPPORTED;
	if (strcasecmp(alg, "none") == 0)
		return TOKEN_ALG_NONE;
	if (jws_alg_parse(alg, &a) != 0)
		return TOKEN_ALG_UNSUPPORTED;
	/* No extension is understood, so any critical one must be refused. */
	if (json_object_get(h, "crit") != NULL)
		return TOKEN_CRIT;
	if (!token_typ_ok(json_object_get(h, "typ")))
		return TOKEN_BAD_JSON;
	if (kidj != NULL) {
		kid = json_string_value(kidj);
		if (kid == NULL || strlen(kid) > KEYSET_KID_MAX)
			return TOKEN_BAD_JSON;
	}
	/* jku, x5u, jwk and x5c are ignored: keys come from the config only. */
	*key = keyset_find(ks, kid, a, &known);
	if (*key != NULL)
		return TOKEN_OK;
	if (kid != NULL && !known) {
		*kid_unknown = true;
		return TOKEN_UNKNOWN_KID;
	}
	return TOKEN_NO_KEY;
}

/* NumericDate: integer or real seconds; -1 when of the wrong type. */
static int token_numeric(json_t *v, long long *out)
{
	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		double d = json_real_value(v);
		if (!isfinite(d) || d < -9.0e15 || d > 9.0e15)
			return -1;
		*out = (long long)d;	/* whole seconds; NumericDates are not negative */
		return 0;
	}
	return -1;
}

static enum token_reject token_check_times(json_t *pl, long long now, long long leeway,
					   struct token_claims *c)
{
	json_t *exp = json_object_get(pl, "exp"), *nbf = json_object_get(pl, "nbf");
	json_t *iat = json_object_get(pl, "iat");
	long long v;

	if (exp == NULL)
		return TOKEN_NO_EXP;
	if (token_numeric(exp, &c->exp) != 0)
		return TOKEN_BAD_CLAIM;
	if (nbf != NULL && token_numeric(nbf, &v) != 0)
		return TOKEN_BAD_CLAIM;
	/* now and leeway are small, so only they are added to or subtracted:
	 * a signed exp of INT64_MAX must not overflow anything. */
	if (nbf != NULL && v > now + leeway)
		return TOKEN_NOT_YET_VALID;
	if (iat != NULL && token_numeric(iat, &v) != 0)
		return TOKEN_BAD_CLAIM;
	if (iat != NULL && v > now + leeway)
		return TOKEN_ISSUED_IN_FUTURE;
	return c->exp <= now - leeway ? TOKEN_EXPIRED : TOKEN_OK;
}

static bool token_issuer_ok(json_t *pl, const struct cfg_strs *issuers)
{
	const char *iss = json_string_value(json_object_get(pl, "iss"));

	if (issuers == NULL || issuers->n == 0)
		return true;
	for (size_t i = 0; iss != NULL && i < issuers->n; i++)
		if (strcmp(iss, issuers->v[i]) == 0)
			return true;
	return false;
}

static bool token_audience_ok(json_t *pl, const char *audience)
{
	json_t *aud = json_object_get(pl, "aud"), *v;
	size_t i;

	if (audience == NULL)
		return true;
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), audience) == 0;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), audience) == 0)
			return true;
	return false;
}

/* Subjects and entitlements travel to the backend in headers: printable
 * ASCII only, so no claim can split or forge a header. */
static bool token_printable(const char *s, size_t max, bool allow_space_comma)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		unsigned char c = (unsigned char)s[n];
		if (n >= max || c < 0x20 || c > 0x7e)
			return false;
		if (!allow_space_comma && (c == ' ' || c == ','))
			return false;
	}
	return n > 0;
}

static int token_add_entitlement(struct token_claims *c, const char *s, size_t len)
{
	char tmp[TOKEN_ENT_LEN_MAX + 1];

	if (len == 0 || len > TOKEN_ENT_LEN_MAX || c->n_ent >= TOKEN_ENT_MAX)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!token_printable(tmp, TOKEN_ENT_LEN_MAX, false))
		return -1;
	memcpy(c->ent[c->n_ent++], tmp, len + 1);
	return 0;
}

/* An array of strings, or one space-separated string (OAuth scope style). */
static enum token_reject token_entitlements(json_t *v, struct token_claims *c)
{
	json_t *e;
	size_t i;

	if (v == NULL)
		return TOKEN_OK;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		while (*s != '\0') {
			size_t n = strcspn(s, " ");
			if (n > 0 && token_add_entitlement(c, s, n) != 0)
				return TOKEN_BAD_CLAIM;
			s += n;
			s += strspn(s, " ");
		}
		return TOKEN_OK;
	}
	if (!json_is_array(v))
		return TOKEN_BAD_CLAIM;
	json_array_foreach(v, i, e) {
		const char *s = json_string_value(e);
		if (s == NULL || token_add_entitlement(c, s, strlen(s)) != 0)
			return TOKEN_BAD_CLAIM;
	}
	return TOKEN_OK;
}

static enum token_reject token_check_claims(json_t *pl, const struct token_policy *pol,
					    long long now, struct token_claims *c)
{
	json_t *subj = json_object_get(pl, "sub");
	const char *sub = json_string_value(subj);
	enum token_reject r;

	if (subj == NULL)
		return TOKEN_NO_SUBJECT;
	if (sub == NULL || !token_printable(sub, TOKEN_SUB_MAX, true) || sub[0] == ' ' ||
	    sub[strlen(sub) - 1] == ' ')
		return TOKEN_BAD_CLAIM;	/* "alice " and " alice" must not pass for "alice" */
	if (!token_issuer_ok(pl, pol->issuers))
		return TOKEN_WRONG_ISSUER;
	if (!token_audience_ok(pl, pol->audience))
		return TOKEN_WRONG_AUDIENCE;
	if ((r = token_check_times(pl, now, pol->leeway_s, c)) != TOKEN_OK)
		return r;
	memcpy(c->sub, sub, strlen(sub) + 1);
	if (pol->entitlements_claim != NULL)
		return token_entitlements(json_object_get(pl, pol->entitlements_claim), c);
	return TOKEN_OK;
}

static enum token_reject token_check_signature(const struct keyset_key *key,
					       const struct token_parts *p, const char *tok,
					       size_t len, enum token_verifier how)
{
	unsigned char sig[TOKEN_SIG_MAX];
	long siglen = b64url_decode(p->sig, p->sig_len, sig, sizeof(sig));
	bool ok;

	if (siglen <= 0)
		return siglen == 0 || p->sig_len == 0 ? TOKEN_BAD_SIGNATURE : TOKEN_MALFORMED;
	/* libjwt lacks PS*, EdDSA and typed tokens; those are checked with EVP. */
	if (how == TOKEN_VERIFY_LIBJWT && token_libjwt_can(key, p->header, p->header_len))
		ok = token_verify_libjwt(key, tok, len);
	else
		ok = token_verify_evp(key, p, sig, (size_t)siglen);
	return ok ? TOKEN_OK : TOKEN_BAD_SIGNATURE;
}

enum token_reject token_verify(const char *tok, size_t len, const struct keyset *ks,
			       const struct token_policy *pol, long long now,
			       enum token_verifier how, struct token_claims *claims,
			       bool *kid_unknown)
{
	const struct keyset_key *key = NULL;
	struct token_parts p;
	json_t *header = NULL, *payload = NULL;
	enum token_reject r;

	*kid_unknown = false;
	memset(claims, 0, sizeof(*claims));
	if (len > TOKEN_MAX)
		return TOKEN_TOO_LONG;
	if (token_split(tok, len, &p) != 0)
		return TOKEN_MALFORMED;
	/* A header is a few names; a big one is only there to make JSON
	 * parsing of an unverified part expensive (deep nesting). */
	if (p.header_len > TOKEN_HEADER_MAX)
		return TOKEN_TOO_LONG;
	if ((r = token_decode_json(p.header, p.header_len, &header)) != TOKEN_OK)
		return r;
	if ((r = token_check_header(header, ks, &key, kid_unknown)) != TOKEN_OK)
		goto out;
	if ((r = token_check_signature(key, &p, tok, len, how)) != TOKEN_OK)
		goto out;
	/* Only a payload whose signature verified is read at all. */
	if ((r = token_decode_json(p.payload, p.payload_len, &payload)) != TOKEN_OK)
		goto out;
	if ((r = token_check_claims(payload, pol, now, claims)) != TOKEN_OK)
		goto out;
	if (token_digest(tok, len, claims->digest) != 0)
		r = TOKEN_MALFORMED;
out:
	json_decref(header);
	json_decref(payload);
	return r;
}

static int token_digest_part(EVP_MD_CTX *ctx, const char *b64, size_t len)
{
	unsigned char buf[TOKEN_MAX];
	long n = b64url_decode(b64, len, buf, sizeof(buf));
	uint32_t nl;

	if (n < 0)
		return -1;
	/* Length-prefixed, so part boundaries cannot shift between tokens. */
	nl = (uint32_t)n;
	return EVP_DigestUpdate(ctx, &nl, sizeof(nl)) == 1 &&
	       EVP_DigestUpdate(ctx, buf, (size_t)n) == 1 ? 0 : -1;
}

int token_digest(const char *tok, size_t len, unsigned char out[32])
{
	struct token_parts p;
	EVP_MD_CTX *ctx;
	int rc = -1;

	if (len > TOKEN_MAX || token_split(tok, len, &p) != 0)
		return -1;
	ctx = EVP_MD_CTX_new();
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    token_digest_part(ctx, p.header, p.header_len) == 0 &&
	    token_digest_part(ctx, p.payload, p.payload_len) == 0 &&
	    token_digest_part(ctx, p.sig, p.sig_len) == 0 &&
	    EVP_DigestFinal_ex(ctx, out, NULL) == 1)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}
