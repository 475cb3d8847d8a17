/*
 * token_test: subscriber token verification (token.c) with keys made here.
 *
 * Every token is built from header and payload text and signed in this
 * program (token_support.h), so each rule gets its own hostile token. Each
 * case runs through both verifiers, TOKEN_VERIFY_EVP and TOKEN_VERIFY_LIBJWT,
 * and must give exactly the expected enum token_reject from both; the
 * differential test then runs the whole corpus and lists every case where
 * the two disagree.
 *
 * Tests that expose a known gateway bug are marked BUG and are registered
 * (formerly only with TOKEN_TEST_BUGS; all fixed and registered now), so the suite stays
 * green until the bug is fixed.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "token_support.h"

#define NA(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1700000000LL	/* every case is checked at this instant */

/* ---- fixture: made once in main, inherited by every forked test ---- */

struct signer {
	const char *name;
	struct ts_key key;
};

static struct signer signers[32];
static size_t n_signers;
static struct keyset *ks_main;		/* one key per alg; two ES256 keys */
static struct keyset *ks_rsa_only;	/* one RSA key without "alg" */
static char *attacker_jwk;		/* the attacker's RSA public JWK, no kid */
static char *attacker_jwk_kid;		/* the same with kid "rs256" */

static const struct ts_key *signer(const char *name)
{
	for (size_t i = 0; i < n_signers; i++)
		if (strcmp(signers[i].name, name) == 0)
			return &signers[i].key;
	ts_die("no signer %s", name);
}

static void add_signer(const char *name, struct ts_key k)
{
	if (n_signers == NA(signers))
		ts_die("too many signers");
	signers[n_signers].name = name;
	signers[n_signers].key = k;
	n_signers++;
}

/* An HMAC signer whose secret is a public key's PEM: the key-confusion attack. */
static void add_pem_signer(const char *name, EVP_PKEY *pkey, bool trim_newline)
{
	size_t len;
	char *pem = ts_public_pem(pkey, &len);

	if (trim_newline && len > 0 && pem[len - 1] == '\n')
		len--;
	add_signer(name, ts_key_hmac(NULL, JWS_HS256, pem, len));
	free(pem);
}

static void fixture_setup(void)
{
	EVP_PKEY *rsa = ts_gen_rsa(2048), *atk_rsa = ts_gen_rsa(2048);
	EVP_PKEY *ec256 = ts_gen_ec("P-256"), *ec256old = ts_gen_ec("P-256");
	EVP_PKEY *ec384 = ts_gen_ec("P-384"), *ec521 = ts_gen_ec("P-521");
	EVP_PKEY *atk_ec = ts_gen_ec("P-256"), *ed = ts_gen_ed25519();
	unsigned char *s32 = ts_random(32), *s48 = ts_random(48), *s64 = ts_random(64);
	unsigned char *other = ts_random(32);
	struct ts_key main_keys[15];
	char *json;
	size_t n = 0;

	/* The publisher's keys: kid = signer name. */
	add_signer("hs256", ts_key_hmac("hs256", JWS_HS256, s32, 32));
	add_signer("hs384", ts_key_hmac("hs384", JWS_HS384, s48, 48));
	add_signer("hs512", ts_key_hmac("hs512", JWS_HS512, s64, 64));
	add_signer("rs256", ts_key_pkey("rs256", JWS_RS256, rsa));
	add_signer("rs384", ts_key_pkey("rs384", JWS_RS384, rsa));
	add_signer("rs512", ts_key_pkey("rs512", JWS_RS512, rsa));
	add_signer("ps256", ts_key_pkey("ps256", JWS_PS256, rsa));
	add_signer("ps384", ts_key_pkey("ps384", JWS_PS384, rsa));
	add_signer("ps512", ts_key_pkey("ps512", JWS_PS512, rsa));
	add_signer("es256", ts_key_pkey("es256", JWS_ES256, ec256));
	add_signer("es256-old", ts_key_pkey("es256-old", JWS_ES256, ec256old));
	add_signer("es384", ts_key_pkey("es384", JWS_ES384, ec384));
	add_signer("es512", ts_key_pkey("es512", JWS_ES512, ec521));
	add_signer("ed25519", ts_key_pkey("ed25519", JWS_EDDSA, ed));
	for (n = 0; n < n_signers; n++)
		main_keys[n] = signers[n].key;
	json = ts_jwks(main_keys, n);
	ks_main = ts_keyset(json);
	free(json);

	/* RSA only, alg left to the default (RS256). */
	{
		struct ts_key k = ts_key_pkey("rs256", JWS_RS256, rsa);
		char *jwk = ts_jwk_ex(&k, NULL, NULL);
		json = ts_strf("{\"keys\":[%s]}", jwk);
		ks_rsa_only = ts_keyset(json);
		free(jwk);
		free(json);
	}

	/* Keys the publisher never had. */
	add_signer("atk-rs256", ts_key_pkey("attacker", JWS_RS256, atk_rsa));
	add_signer("atk-es256", ts_key_pkey("attacker", JWS_ES256, atk_ec));
	add_signer("hs256-other", ts_key_hmac(NULL, JWS_HS256, other, 32));
	/* A real key used with an algorithm other than its pinned one. */
	add_signer("rs256-as-rs384", ts_key_pkey("rs256", JWS_RS384, rsa));
	add_signer("rs256-as-ps256", ts_key_pkey("rs256", JWS_PS256, rsa));
	/* HMAC with the public key PEM as secret (libjwt accepts these). */
	add_pem_signer("pem-rsa", rsa, false);
	add_pem_signer("pem-rsa-trim", rsa, true);
	add_pem_signer("pem-ec", ec256, false);

	{
		struct ts_key a = ts_key_pkey(NULL, JWS_RS256, atk_rsa);
		struct ts_key b = ts_key_pkey("rs256", JWS_RS256, atk_rsa);
		attacker_jwk = ts_jwk(&a);
		attacker_jwk_kid = ts_jwk(&b);
	}
	free(s32);
	free(s48);
	free(s64);
	free(other);
}

/* ---- policies ---- */

static char iss_a[] = "https://id.example.com", iss_b[] = "https://login.example.org";
static char *iss_one_v[] = { iss_a };
static char *iss_two_v[] = { iss_a, iss_b };
static const struct cfg_strs iss_one = { iss_one_v, 1 };
static const struct cfg_strs iss_two = { iss_two_v, 2 };

enum pol { POL_STD, POL_LEEWAY0, POL_TWO_ISS, POL_ANY };

static struct token_policy policy(enum pol p)
{
	struct token_policy pol = { &iss_one, "news-site", 60, "entitlements" };

	if (p == POL_LEEWAY0)
		pol.leeway_s = 0;
	if (p == POL_TWO_ISS)
		pol.issuers = &iss_two;
	if (p == POL_ANY) {
		pol.issuers = NULL;
		pol.audience = NULL;
	}
	return pol;
}

static const char *how_name(enum token_verifier how)
{
	return how == TOKEN_VERIFY_EVP ? "EVP" : "LIBJWT";
}

/* ---- token text ---- */

#define HK(alg, kid) "{\"alg\":\"" alg "\",\"kid\":\"" kid "\"}"
#define HA(alg) "{\"alg\":\"" alg "\"}"
#define ISS "\"iss\":\"https://id.example.com\""
#define AUD "\"aud\":\"news-site\""
#define SUB "\"sub\":\"reader-1\""
#define EXP "\"exp\":1700003600"
#define ENT "\"entitlements\":[\"digital\",\"premium\"]"
#define STD SUB "," ISS "," AUD "," EXP
#define P_STD "{" STD "," ENT "}"
#define P_WITH(x) "{" STD "," x "}"
/* Everything but exp, which the case supplies. */
#define P_EXP(x) "{" SUB "," ISS "," AUD "," x "}"
/* Everything but the subject. */
#define P_SUB(x) "{" ISS "," AUD "," EXP "," x "}"
#define P_ISS(x) "{" SUB "," AUD "," EXP x "}"
#define P_AUD(x) "{" SUB "," ISS "," EXP x "}"

/* Which part of the token a mutation changes. */
enum part { PART_NONE, PART_HDR, PART_PAY, PART_SIG };

enum mut {
	M_NONE,
	M_PAD,		/* '=' padding after a length that is not 4k */
	M_4K1,		/* 'A's appended up to a length of 4k+1 */
	M_TRAIL,	/* the unused low bits of the last character set */
	M_BADCHAR,	/* one character replaced by '!' */
	M_STDALPHA,	/* the same bytes in standard base64 ('+', '/') */
	M_SPACE,	/* a space inserted */
	M_EMPTY,	/* signature: nothing */
	M_JUNK,		/* signature: "AAAA" appended */
	M_BANG,		/* signature: "!!" appended (libjwt alone accepts it) */
	M_EQ,		/* signature: "==" appended (libjwt alone accepts it) */
	M_FLIP,		/* payload, after signing: one character changed */
	M_ZERO,		/* signature: as many zero bytes */
	M_R_ZERO,	/* signature: first half (ECDSA r) zero */
	M_SHORT,	/* signature: last byte dropped */
	M_LONG,		/* signature: a zero byte appended */
	M_DER,		/* signature: ECDSA left in DER */
	M_HUGE,		/* signature: 1100 random bytes */
};

struct tok_case {
	const char *name;
	const char *signer;	/* NULL: an empty signature */
	const char *header;	/* JSON text */
	const char *payload;	/* JSON text; NULL: P_STD */
	enum part part;
	enum mut mut;
	enum token_reject want;
	/* libjwt parses the payload before it checks the signature, so a
	 * signed but malformed payload is "bad-signature" on that path: both
	 * refuse, the reason differs. TOKEN_OK here means "same as want". */
	enum token_reject want_libjwt;
	enum pol pol;
	bool rsa_only;		/* verify against ks_rsa_only */
	const char *raw;	/* the whole token as is */
	char *(*make)(void);	/* builds the whole token */
};

/* base64url of text, with spaces appended to the JSON (harmless) until the
 * encoding's length is not a multiple of 4, when unaligned is set. */
static char *encode_part(const char *json, bool unaligned)
{
	char *s = ts_b64s(json);
	char *padded = ts_xstrdup(json);

	while (unaligned && strlen(s) % 4 == 0) {
		char *more = ts_strf("%s ", padded);
		free(padded);
		free(s);
		padded = more;
		s = ts_b64s(padded);
	}
	free(padded);
	return s;
}

static char *std_alphabet(const char *json)
{
	char *padded = ts_xstrdup(json);

	/* Shift the alignment until some sextet is 62 or 63. */
	for (int tries = 0; tries < 3; tries++) {
		char *s = ts_b64s(padded);
		bool changed = false;
		for (char *c = s; *c; c++) {
			if (*c == '-' || *c == '_') {
				*c = *c == '-' ? '+' : '/';
				changed = true;
			}
		}
		if (changed) {
			free(padded);
			return s;
		}
		free(s);
		char *more = ts_strf("%s ", padded);
		free(padded);
		padded = more;
	}
	ts_die("no '-' or '_' in the encoding of %s", json);
}

/* Adds 1 to the value of the last character: on a valid encoding of a
 * length that is not 4k, that sets an unused (so far zero) low bit. */
static void bump_last(char *s)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t len = strlen(s);
	const char *at;

	if (len % 4 == 0 || (at = strchr(alphabet, s[len - 1])) == NULL || at[1] == '\0')
		ts_die("no unused bits in '%s'", s);
	s[len - 1] = at[1];
}

/* Applies a text mutation to a base64url part; returns a new string. */
static char *mutate_text(const char *json, enum mut m)
{
	char *s, *out;
	size_t len;

	switch (m) {
	case M_PAD:
		s = encode_part(json, true);
		len = strlen(s);
		out = ts_strf("%s%s", s, len % 4 == 2 ? "==" : "=");
		free(s);
		return out;
	case M_4K1:
		s = ts_b64s(json);
		while (strlen(s) % 4 != 1) {
			out = ts_strf("%sA", s);
			free(s);
			s = out;
		}
		return s;
	case M_TRAIL:
		s = encode_part(json, true);
		bump_last(s);
		return s;
	case M_BADCHAR:
		s = ts_b64s(json);
		s[strlen(s) / 2] = '!';
		return s;
	case M_STDALPHA:
		return std_alphabet(json);
	case M_SPACE:
		s = ts_b64s(json);
		len = strlen(s) / 2;
		out = ts_strf("%.*s %s", (int)len, s, s + len);
		free(s);
		return out;
	default:
		return ts_b64s(json);
	}
}

/* Mutates the decoded signature or its text. */
static char *mutate_sig(const struct ts_key *k, const char *input, enum mut m)
{
	unsigned char *sig;
	size_t n;
	char *s, *out;

	if (m == M_EMPTY || k == NULL)
		return ts_xstrdup("");
	if (m == M_HUGE) {
		unsigned char *r = ts_random(1100);
		s = ts_b64(r, 1100);
		free(r);
		return s;
	}
	sig = ts_sign_ex(k, input, strlen(input), &n, m == M_DER);
	switch (m) {
	case M_ZERO:
		memset(sig, 0, n);
		break;
	case M_R_ZERO:
		memset(sig, 0, n / 2);
		break;
	case M_SHORT:
		n--;
		break;
	case M_LONG: {
		unsigned char *longer = ts_xmalloc(n + 1);
		memcpy(longer, sig, n);
		longer[n++] = 0;
		free(sig);
		sig = longer;
		break;
	}
	default:
		break;
	}
	s = ts_b64(sig, n);
	free(sig);
	switch (m) {
	case M_JUNK:
		out = ts_strf("%sAAAA", s);
		break;
	case M_BANG:
		out = ts_strf("%s!!", s);
		break;
	case M_EQ:
		out = ts_strf("%s==", s);
		break;
	case M_PAD:
		out = ts_strf("%s%s", s, strlen(s) % 4 == 2 ? "==" : "=");
		break;
	case M_BADCHAR:
		out = ts_strf("%.*s!%s", (int)(strlen(s) / 2), s, s + strlen(s) / 2 + 1);
		break;
	case M_TRAIL:
		bump_last(s);
		return s;
	default:
		return s;
	}
	free(s);
	return out;
}

static char *build_case(const struct tok_case *c)
{
	const struct ts_key *k;
	char *h, *p, *input, *sig, *tok;

	if (c->raw != NULL)
		return ts_xstrdup(c->raw);
	if (c->make != NULL)
		return c->make();
	k = c->signer ? signer(c->signer) : NULL;
	h = mutate_text(c->header, c->part == PART_HDR ? c->mut : M_NONE);
	p = mutate_text(c->payload ? c->payload : P_STD,
			c->part == PART_PAY && c->mut != M_FLIP ? c->mut : M_NONE);
	input = ts_strf("%s.%s", h, p);
	sig = mutate_sig(k, input, c->part == PART_SIG ? c->mut : M_NONE);
	if (c->part == PART_PAY && c->mut == M_FLIP) {
		/* Change one character in the middle, keeping it base64url. */
		char *q = p + strlen(p) / 2;
		*q = *q == 'A' ? 'B' : 'A';
	}
	tok = ts_strf("%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	free(input);
	free(sig);
	return tok;
}

/* ---- whole-token builders ---- */

/* A valid HS256 token of exactly target bytes (padding claims grow it). */
static char *token_of_length(size_t target)
{
	for (int hp = 0; hp < 3; hp++) {
		char *hpad = ts_strf("%.*s", hp, "xxx");
		char *h = ts_strf("{\"alg\":\"HS256\",\"kid\":\"hs256\",\"x\":\"%s\"}", hpad);
		/* Start a little below the size where the payload makes it. */
		for (size_t n = target > 400 ? target * 3 / 4 - 300 : 0; n < target; n++) {
			char *fill = ts_xmalloc(n + 1);
			memset(fill, 'p', n);
			fill[n] = '\0';
			char *pl = ts_strf(P_WITH("\"pad\":\"%s\""), fill);
			char *tok = ts_token(signer("hs256"), h, pl);
			size_t len = strlen(tok);
			free(fill);
			free(pl);
			if (len == target) {
				free(hpad);
				free(h);
				return tok;
			}
			free(tok);
			if (len > target)
				break;
		}
		free(hpad);
		free(h);
	}
	ts_die("no token of %zu bytes", target);
}

static char *tok_8192(void)
{
	return token_of_length(TOKEN_MAX);
}

static char *tok_8193(void)
{
	return token_of_length(TOKEN_MAX + 1);
}

static char *tok_100k(void)
{
	char *h = ts_b64s(HK("HS256", "hs256"));
	size_t n = 100 * 1024;
	char *pl = ts_xmalloc(n + 1);
	char *tok;

	memset(pl, 'A', n);
	pl[n] = '\0';
	tok = ts_token_parts(signer("hs256"), h, pl);
	free(h);
	free(pl);
	return tok;
}

/* An attacker's key embedded as "jwk", signing the token. */
static char *tok_jwk_embedded(void)
{
	char *h = ts_strf("{\"alg\":\"RS256\",\"jwk\":%s}", attacker_jwk);
	char *tok = ts_token(signer("atk-rs256"), h, P_STD);

	free(h);
	return tok;
}

/* The same, with the embedded key and the header naming a real kid. */
static char *tok_jwk_embedded_kid(void)
{
	char *h = ts_strf("{\"alg\":\"RS256\",\"kid\":\"rs256\",\"jwk\":%s}", attacker_jwk_kid);
	char *tok = ts_token(signer("atk-rs256"), h, P_STD);

	free(h);
	return tok;
}

static char *tok_kid_too_long(void)
{
	char kid[KEYSET_KID_MAX + 2];
	char *h, *tok;

	memset(kid, 'k', sizeof(kid) - 1);
	kid[sizeof(kid) - 1] = '\0';
	h = ts_strf("{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid);
	tok = ts_token(signer("hs256"), h, P_STD);
	free(h);
	return tok;
}

static char *sub_of(size_t n)
{
	char *s = ts_xmalloc(n + 1), *pl, *tok;

	memset(s, 's', n);
	s[n] = '\0';
	pl = ts_strf(P_SUB("\"sub\":\"%s\""), s);
	tok = ts_token(signer("hs256"), HK("HS256", "hs256"), pl);
	free(s);
	free(pl);
	return tok;
}

static char *tok_sub_256(void)
{
	return sub_of(TOKEN_SUB_MAX);
}

static char *tok_sub_257(void)
{
	return sub_of(TOKEN_SUB_MAX + 1);
}

static char *ents_of(size_t n, bool as_string)
{
	char *acc = ts_xstrdup("");
	char *pl, *tok;

	for (size_t i = 0; i < n; i++) {
		char *next = as_string ? ts_strf("%s%se%zu", acc, i ? " " : "", i) :
			     ts_strf("%s%s\"e%zu\"", acc, i ? "," : "", i);
		free(acc);
		acc = next;
	}
	pl = as_string ? ts_strf(P_WITH("\"entitlements\":\"%s\""), acc) :
	     ts_strf(P_WITH("\"entitlements\":[%s]"), acc);
	tok = ts_token(signer("hs256"), HK("HS256", "hs256"), pl);
	free(acc);
	free(pl);
	return tok;
}

static char *tok_ent_16(void) { return ents_of(TOKEN_ENT_MAX, false); }
static char *tok_ent_17(void) { return ents_of(TOKEN_ENT_MAX + 1, false); }
static char *tok_ent_16s(void) { return ents_of(TOKEN_ENT_MAX, true); }
static char *tok_ent_17s(void) { return ents_of(TOKEN_ENT_MAX + 1, true); }

static char *ent_len(size_t n)
{
	char *e = ts_xmalloc(n + 1), *pl, *tok;

	memset(e, 'e', n);
	e[n] = '\0';
	pl = ts_strf(P_WITH("\"entitlements\":[\"%s\"]"), e);
	tok = ts_token(signer("hs256"), HK("HS256", "hs256"), pl);
	free(e);
	free(pl);
	return tok;
}

static char *tok_ent_len_64(void) { return ent_len(TOKEN_ENT_LEN_MAX); }
static char *tok_ent_len_65(void) { return ent_len(TOKEN_ENT_LEN_MAX + 1); }

#define HS HK("HS256", "hs256")

/* HS256 over header and payload bytes that may hold a NUL. */
static char *token_bytes(const char *h, size_t hl, const char *p, size_t pl)
{
	char *h64 = ts_b64(h, hl), *p64 = ts_b64(p, pl);
	char *tok = ts_token_parts(signer("hs256"), h64, p64);

	free(h64);
	free(p64);
	return tok;
}

static char *tok_nul_in_payload(void)
{
	static const char p[] = "{" STD "\0}";	/* a NUL after the exp number */

	return token_bytes(HS, strlen(HS), p, sizeof(p) - 1);
}

static char *tok_nul_in_header(void)
{
	static const char h[] = "{\"alg\":\"HS256\",\"n\":1\0,\"kid\":\"hs256\"}";

	return token_bytes(h, sizeof(h) - 1, P_STD, strlen(P_STD));
}

static char *tok_nul_after_string(void)
{
	static const char p[] = "{" SUB "\0," ISS "," AUD "," EXP "}";

	return token_bytes(HS, strlen(HS), p, sizeof(p) - 1);
}

/* ---- the corpus ---- */

#define VALID(alg, kid) { .name = "valid " alg " " kid, .signer = kid, .header = HK(alg, kid), \
			  .want = TOKEN_OK }

static const struct tok_case cases[] = {
	/* Every algorithm, each against its own pinned key. */
	VALID("HS256", "hs256"), VALID("HS384", "hs384"), VALID("HS512", "hs512"),
	VALID("RS256", "rs256"), VALID("RS384", "rs384"), VALID("RS512", "rs512"),
	VALID("ES256", "es256"), VALID("ES256", "es256-old"), VALID("ES384", "es384"),
	VALID("ES512", "es512"),
	VALID("PS256", "ps256"), VALID("PS384", "ps384"), VALID("PS512", "ps512"),
	VALID("EdDSA", "ed25519"),
	{ .name = "valid typ JWT", .signer = "rs256",
	  .header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rs256\"}", .want = TOKEN_OK },
	{ .name = "valid no kid, one RS256 key", .signer = "rs256", .header = HA("RS256"),
	  .want = TOKEN_OK },
	{ .name = "valid no kid, one HS384 key", .signer = "hs384", .header = HA("HS384"),
	  .want = TOKEN_OK },
	{ .name = "valid no kid, RSA-only set, default alg", .signer = "rs256",
	  .header = HA("RS256"), .rsa_only = true, .want = TOKEN_OK },
	{ .name = "valid exactly 8192 bytes", .make = tok_8192, .want = TOKEN_OK },
	{ .name = "valid no entitlements", .signer = "hs256", .header = HS,
	  .payload = "{" STD "}", .want = TOKEN_OK },
	{ .name = "valid entitlements string", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":\" digital  premium \""), .want = TOKEN_OK },
	{ .name = "valid exp real", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1700003600.75"), .want = TOKEN_OK },
	{ .name = "valid any policy, no iss or aud", .signer = "hs256", .header = HS,
	  .payload = "{" SUB "," EXP "}", .pol = POL_ANY, .want = TOKEN_OK },
	{ .name = "valid unknown header members ignored", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"cty\":\"x\",\"zzz\":[1,{}]}",
	  .want = TOKEN_OK },

	/* Length. */
	{ .name = "8193 bytes", .make = tok_8193, .want = TOKEN_TOO_LONG },
	{ .name = "100 KB", .make = tok_100k, .want = TOKEN_TOO_LONG },

	/* Shape: exactly two dots, non-empty header and payload. */
	{ .name = "empty string", .raw = "", .want = TOKEN_MALFORMED },
	{ .name = "no dot", .raw = "eyJhbGciOiJIUzI1NiJ9", .want = TOKEN_MALFORMED },
	{ .name = "one dot", .raw = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0",
	  .want = TOKEN_MALFORMED },
	{ .name = "three dots", .raw = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA.AAAA",
	  .want = TOKEN_MALFORMED },
	{ .name = "only dots", .raw = "..", .want = TOKEN_MALFORMED },
	{ .name = "empty header", .raw = ".eyJzdWIiOiJ4In0.AAAA", .want = TOKEN_MALFORMED },
	{ .name = "empty payload", .raw = "eyJhbGciOiJIUzI1NiJ9..AAAA",
	  .want = TOKEN_MALFORMED },

	/* Strict base64url in the header. */
	{ .name = "header '=' padding", .signer = "hs256", .header = HS, .part = PART_HDR,
	  .mut = M_PAD, .want = TOKEN_MALFORMED },
	{ .name = "header length 4k+1", .signer = "hs256", .header = HS, .part = PART_HDR,
	  .mut = M_4K1, .want = TOKEN_MALFORMED },
	{ .name = "header trailing bits", .signer = "hs256", .header = HS, .part = PART_HDR,
	  .mut = M_TRAIL, .want = TOKEN_MALFORMED },
	{ .name = "header '!'", .signer = "hs256", .header = HS, .part = PART_HDR,
	  .mut = M_BADCHAR, .want = TOKEN_MALFORMED },
	{ .name = "header standard alphabet", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"x\":\"?>?>?>~~~>?>?\"}",
	  .part = PART_HDR, .mut = M_STDALPHA, .want = TOKEN_MALFORMED },
	{ .name = "header space", .signer = "hs256", .header = HS, .part = PART_HDR,
	  .mut = M_SPACE, .want = TOKEN_MALFORMED },
	/* ... in a validly signed payload ... */
	{ .name = "payload '=' padding", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_PAD, .want = TOKEN_MALFORMED },
	{ .name = "payload length 4k+1", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_4K1, .want = TOKEN_MALFORMED },
	{ .name = "payload trailing bits", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_TRAIL, .want = TOKEN_MALFORMED },
	{ .name = "payload space", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_SPACE, .want = TOKEN_MALFORMED },
	{ .name = "payload standard alphabet", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"x\":\"?>?>?>~~~>?>?\""), .part = PART_PAY, .mut = M_STDALPHA,
	  .want = TOKEN_MALFORMED },
	/* ... and in the signature. */
	{ .name = "signature '=' padding", .signer = "hs256", .header = HS, .part = PART_SIG,
	  .mut = M_PAD, .want = TOKEN_MALFORMED },
	{ .name = "signature '!'", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_BADCHAR, .want = TOKEN_MALFORMED },
	{ .name = "RS256 signature + '!!'", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_BANG, .want = TOKEN_MALFORMED },
	{ .name = "RS256 signature + '=='", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_EQ, .want = TOKEN_MALFORMED },
	{ .name = "ES256 signature + '!!'", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_BANG, .want = TOKEN_MALFORMED },
	{ .name = "signature trailing bits", .signer = "hs256", .header = HS,
	  .part = PART_SIG, .mut = M_TRAIL, .want = TOKEN_MALFORMED },
	{ .name = "signature over 1024 bytes", .signer = "rs256",
	  .header = HK("RS256", "rs256"), .part = PART_SIG, .mut = M_HUGE,
	  .want = TOKEN_MALFORMED },

	/* JSON. */
	{ .name = "header not JSON", .signer = "hs256", .header = "alg: HS256",
	  .want = TOKEN_BAD_JSON },
	{ .name = "header JSON array", .signer = "hs256", .header = "[\"HS256\"]",
	  .want = TOKEN_BAD_JSON },
	{ .name = "header JSON trailing garbage", .signer = "hs256", .header = HS "x",
	  .want = TOKEN_BAD_JSON },
	{ .name = "header duplicate alg", .signer = "rs256",
	  .header = "{\"alg\":\"RS256\",\"alg\":\"none\"}", .want = TOKEN_DUPLICATE_NAME },
	{ .name = "header duplicate kid", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"kid\":\"rs256\"}",
	  .want = TOKEN_DUPLICATE_NAME },
	{ .name = "payload duplicate sub", .signer = "hs256", .header = HS,
	  .payload = "{\"sub\":\"a\",\"sub\":\"b\"," ISS "," AUD "," EXP "}",
	  .want = TOKEN_DUPLICATE_NAME },
	{ .name = "payload duplicate exp", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"exp\":1"), .want = TOKEN_DUPLICATE_NAME },

	/* alg none, in any casing, signed or not. */
	{ .name = "alg none", .header = HA("none"), .want = TOKEN_ALG_NONE },
	{ .name = "alg None", .header = HA("None"), .want = TOKEN_ALG_NONE },
	{ .name = "alg NONE", .header = HA("NONE"), .want = TOKEN_ALG_NONE },
	{ .name = "alg nOnE", .header = HA("nOnE"), .want = TOKEN_ALG_NONE },
	{ .name = "alg none signed", .signer = "hs256", .header = HK("none", "hs256"),
	  .want = TOKEN_ALG_NONE },
	{ .name = "alg None signed", .signer = "hs256", .header = HK("None", "hs256"),
	  .want = TOKEN_ALG_NONE },
	{ .name = "alg NONE signed", .signer = "rs256", .header = HK("NONE", "rs256"),
	  .want = TOKEN_ALG_NONE },
	{ .name = "alg nOnE signed", .signer = "hs256", .header = HA("nOnE"),
	  .want = TOKEN_ALG_NONE },

	/* Algorithms that are not exactly a supported name. */
	{ .name = "alg hs256", .signer = "hs256", .header = HK("hs256", "hs256"),
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg Rs256", .signer = "rs256", .header = HK("Rs256", "rs256"),
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg RS1", .signer = "rs256", .header = HK("RS1", "rs256"),
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg missing", .signer = "hs256", .header = "{\"kid\":\"hs256\"}",
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg empty", .signer = "hs256", .header = HK("", "hs256"),
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg a number", .signer = "hs256", .header = "{\"alg\":256,\"kid\":\"hs256\"}",
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg null", .signer = "hs256", .header = "{\"alg\":null}",
	  .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg with NUL escape", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\\u0000\",\"kid\":\"hs256\"}", .want = TOKEN_BAD_JSON },
	{ .name = "alg HS256 with a trailing space", .signer = "hs256",
	  .header = HK("HS256 ", "hs256"), .want = TOKEN_ALG_UNSUPPORTED },
	{ .name = "alg ES256K", .signer = "es256", .header = HK("ES256K", "es256"),
	  .want = TOKEN_ALG_UNSUPPORTED },

	/* crit. */
	{ .name = "crit b64", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":false,\"crit\":[\"b64\"]}",
	  .want = TOKEN_CRIT },
	{ .name = "crit exp", .signer = "rs256",
	  .header = "{\"alg\":\"RS256\",\"kid\":\"rs256\",\"crit\":[\"exp\"],\"exp\":1}",
	  .want = TOKEN_CRIT },

	/* kid. */
	{ .name = "kid unknown", .signer = "hs256", .header = HK("HS256", "nope"),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid traversal", .signer = "hs256", .header = HK("HS256", "../../etc/passwd"),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid absolute path", .signer = "rs256", .header = HK("RS256", "/dev/null"),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid SQL", .signer = "hs256", .header = HK("HS256", "' OR 1=1 --"),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid empty", .signer = "hs256", .header = HK("HS256", ""),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid case differs", .signer = "hs256", .header = HK("HS256", "HS256"),
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "kid a number", .signer = "hs256", .header = "{\"alg\":\"HS256\",\"kid\":1}",
	  .want = TOKEN_BAD_JSON },
	{ .name = "kid over 256 bytes", .make = tok_kid_too_long, .want = TOKEN_BAD_JSON },
	{ .name = "no kid, two ES256 keys", .signer = "es256", .header = HA("ES256"),
	  .want = TOKEN_NO_KEY },
	{ .name = "no kid, no key of alg", .signer = "hs256", .header = HA("HS256"),
	  .rsa_only = true, .want = TOKEN_NO_KEY },

	/* The algorithm is pinned by the key, not chosen by the token. */
	{ .name = "RS384 with the RS256 key's kid", .signer = "rs256-as-rs384",
	  .header = HK("RS384", "rs256"), .want = TOKEN_NO_KEY },
	{ .name = "PS256 with the RS256 key's kid", .signer = "rs256-as-ps256",
	  .header = HK("PS256", "rs256"), .want = TOKEN_NO_KEY },
	{ .name = "ES384 with the ES256 key's kid", .signer = "es256",
	  .header = HK("ES384", "es256"), .want = TOKEN_NO_KEY },
	{ .name = "EdDSA with an ES256 kid", .signer = "ed25519", .header = HK("EdDSA", "es256"),
	  .want = TOKEN_NO_KEY },

	/* Key confusion: HMAC keyed with the public key PEM. */
	{ .name = "HS256 keyed with RSA PEM, RSA kid", .signer = "pem-rsa",
	  .header = HK("HS256", "rs256"), .want = TOKEN_NO_KEY },
	{ .name = "HS256 keyed with RSA PEM (no newline), RSA kid", .signer = "pem-rsa-trim",
	  .header = HK("HS256", "rs256"), .want = TOKEN_NO_KEY },
	{ .name = "HS256 keyed with RSA PEM, no kid", .signer = "pem-rsa", .header = HA("HS256"),
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 keyed with RSA PEM, no kid, RSA-only set", .signer = "pem-rsa",
	  .header = HA("HS256"), .rsa_only = true, .want = TOKEN_NO_KEY },
	{ .name = "HS256 keyed with RSA PEM, RSA kid, RSA-only set", .signer = "pem-rsa",
	  .header = HK("HS256", "rs256"), .rsa_only = true, .want = TOKEN_NO_KEY },
	{ .name = "HS256 keyed with EC PEM, EC kid", .signer = "pem-ec",
	  .header = HK("HS256", "es256"), .want = TOKEN_NO_KEY },
	{ .name = "HS256 keyed with EC PEM, no kid", .signer = "pem-ec", .header = HA("HS256"),
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS512 keyed with RSA PEM, RSA kid", .signer = "pem-rsa",
	  .header = HK("HS512", "rs256"), .want = TOKEN_NO_KEY },

	/* Signatures. */
	{ .name = "HS256 empty signature", .signer = "hs256", .header = HS, .part = PART_SIG,
	  .mut = M_EMPTY, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "RS256 empty signature", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_EMPTY, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 empty signature", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_EMPTY, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "EdDSA empty signature", .signer = "ed25519",
	  .header = HK("EdDSA", "ed25519"), .part = PART_SIG, .mut = M_EMPTY,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 signature + AAAA", .signer = "hs256", .header = HS, .part = PART_SIG,
	  .mut = M_JUNK, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "RS256 signature + AAAA", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_JUNK, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "PS256 signature + AAAA", .signer = "ps256", .header = HK("PS256", "ps256"),
	  .part = PART_SIG, .mut = M_JUNK, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 signature + AAAA", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_JUNK, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "EdDSA signature + AAAA", .signer = "ed25519",
	  .header = HK("EdDSA", "ed25519"), .part = PART_SIG, .mut = M_JUNK,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 signature + zero byte", .signer = "hs256", .header = HS,
	  .part = PART_SIG, .mut = M_LONG, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "RS256 signature short", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_SHORT, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 flipped payload", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_FLIP, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "RS256 flipped payload", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_PAY, .mut = M_FLIP, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES384 flipped payload", .signer = "es384", .header = HK("ES384", "es384"),
	  .part = PART_PAY, .mut = M_FLIP, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "PS512 flipped payload", .signer = "ps512", .header = HK("PS512", "ps512"),
	  .part = PART_PAY, .mut = M_FLIP, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "EdDSA flipped payload", .signer = "ed25519",
	  .header = HK("EdDSA", "ed25519"), .part = PART_PAY, .mut = M_FLIP,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 wrong secret", .signer = "hs256-other", .header = HS,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "HS256 zero signature", .signer = "hs256", .header = HS, .part = PART_SIG,
	  .mut = M_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "RS256 zero signature", .signer = "rs256", .header = HK("RS256", "rs256"),
	  .part = PART_SIG, .mut = M_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 r=s=0", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES384 r=s=0", .signer = "es384", .header = HK("ES384", "es384"),
	  .part = PART_SIG, .mut = M_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES512 r=s=0", .signer = "es512", .header = HK("ES512", "es512"),
	  .part = PART_SIG, .mut = M_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 r=0", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_R_ZERO, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 63-byte signature", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_SHORT, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 65-byte signature", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_LONG, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 DER signature", .signer = "es256", .header = HK("ES256", "es256"),
	  .part = PART_SIG, .mut = M_DER, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES512 DER signature", .signer = "es512", .header = HK("ES512", "es512"),
	  .part = PART_SIG, .mut = M_DER, .want = TOKEN_BAD_SIGNATURE },
	{ .name = "EdDSA 63-byte signature", .signer = "ed25519",
	  .header = HK("EdDSA", "ed25519"), .part = PART_SIG, .mut = M_SHORT,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "ES256 signed by ES256-old's kid", .signer = "es256-old",
	  .header = HK("ES256", "es256"), .want = TOKEN_BAD_SIGNATURE },

	/* Keys named by the token are never fetched nor used. */
	{ .name = "jku to attacker, attacker kid", .signer = "atk-rs256",
	  .header = "{\"alg\":\"RS256\",\"kid\":\"attacker\","
		    "\"jku\":\"https://evil.example/jwks.json\"}",
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "jku to attacker, no kid", .signer = "atk-rs256",
	  .header = "{\"alg\":\"RS256\",\"jku\":\"https://evil.example/jwks.json\"}",
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "jku to attacker, real kid", .signer = "atk-rs256",
	  .header = "{\"alg\":\"RS256\",\"kid\":\"rs256\","
		    "\"jku\":\"https://evil.example/jwks.json\"}",
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "x5u to attacker, no kid", .signer = "atk-rs256",
	  .header = "{\"alg\":\"RS256\",\"x5u\":\"https://evil.example/cert.pem\"}",
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "x5u to attacker, attacker kid", .signer = "atk-es256",
	  .header = "{\"alg\":\"ES256\",\"kid\":\"attacker\","
		    "\"x5u\":\"https://evil.example/cert.pem\"}",
	  .want = TOKEN_UNKNOWN_KID },
	{ .name = "x5c junk, attacker key", .signer = "atk-es256",
	  .header = "{\"alg\":\"ES256\",\"kid\":\"es256\",\"x5c\":[\"MIIB\"]}",
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "jwk embedded, no kid", .make = tok_jwk_embedded,
	  .want = TOKEN_BAD_SIGNATURE },
	{ .name = "jwk embedded, real kid", .make = tok_jwk_embedded_kid,
	  .want = TOKEN_BAD_SIGNATURE },

	/* exp. */
	{ .name = "exp missing", .signer = "hs256", .header = HS,
	  .payload = "{" SUB "," ISS "," AUD "}", .want = TOKEN_NO_EXP },
	{ .name = "exp a string", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":\"1700003600\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "exp null", .signer = "hs256", .header = HS, .payload = P_EXP("\"exp\":null"),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "exp true", .signer = "hs256", .header = HS, .payload = P_EXP("\"exp\":true"),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "exp huge real", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1e300"), .want = TOKEN_BAD_CLAIM },
	{ .name = "exp now-61, leeway 60", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1699999939"), .want = TOKEN_EXPIRED },
	{ .name = "exp now-60, leeway 60", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1699999940"), .want = TOKEN_EXPIRED },
	{ .name = "exp now-59, leeway 60", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1699999941"), .want = TOKEN_OK },
	{ .name = "exp now, leeway 60", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1700000000"), .want = TOKEN_OK },
	{ .name = "exp now, leeway 0", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1700000000"), .pol = POL_LEEWAY0, .want = TOKEN_EXPIRED },
	{ .name = "exp now+1, leeway 0", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1700000001"), .pol = POL_LEEWAY0, .want = TOKEN_OK },
	{ .name = "exp now-0.5 real, leeway 0", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":1699999999.5"), .pol = POL_LEEWAY0,
	  .want = TOKEN_EXPIRED },
	{ .name = "exp 0", .signer = "hs256", .header = HS, .payload = P_EXP("\"exp\":0"),
	  .want = TOKEN_EXPIRED },
	{ .name = "exp negative", .signer = "hs256", .header = HS,
	  .payload = P_EXP("\"exp\":-9223372036854775808"), .want = TOKEN_EXPIRED },

	/* nbf and iat. */
	{ .name = "nbf now+61", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"nbf\":1700000061"), .want = TOKEN_NOT_YET_VALID },
	{ .name = "nbf now+60", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"nbf\":1700000060"), .want = TOKEN_OK },
	{ .name = "nbf now+59", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"nbf\":1700000059"), .want = TOKEN_OK },
	{ .name = "nbf now+1, leeway 0", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"nbf\":1700000001"), .pol = POL_LEEWAY0,
	  .want = TOKEN_NOT_YET_VALID },
	{ .name = "nbf a string", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"nbf\":\"0\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "iat now+61", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"iat\":1700000061"), .want = TOKEN_ISSUED_IN_FUTURE },
	{ .name = "iat now+59", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"iat\":1700000059"), .want = TOKEN_OK },
	{ .name = "iat past", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"iat\":1699990000"), .want = TOKEN_OK },
	{ .name = "iat an array", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"iat\":[1]"), .want = TOKEN_BAD_CLAIM },

	/* iss. */
	{ .name = "iss wrong", .signer = "hs256", .header = HS,
	  .payload = "{" SUB ",\"iss\":\"https://evil.example\"," AUD "," EXP "}",
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss trailing slash", .signer = "hs256", .header = HS,
	  .payload = "{" SUB ",\"iss\":\"https://id.example.com/\"," AUD "," EXP "}",
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss other case", .signer = "hs256", .header = HS,
	  .payload = "{" SUB ",\"iss\":\"https://ID.example.com\"," AUD "," EXP "}",
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss missing", .signer = "hs256", .header = HS, .payload = P_ISS(""),
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss an array", .signer = "hs256", .header = HS,
	  .payload = P_ISS(",\"iss\":[\"https://id.example.com\"]"),
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss first of two", .signer = "hs256", .header = HS, .pol = POL_TWO_ISS,
	  .want = TOKEN_OK },
	{ .name = "iss second of two", .signer = "hs256", .header = HS, .pol = POL_TWO_ISS,
	  .payload = P_ISS(",\"iss\":\"https://login.example.org\""), .want = TOKEN_OK },
	{ .name = "iss second issuer, only one configured", .signer = "hs256", .header = HS,
	  .payload = P_ISS(",\"iss\":\"https://login.example.org\""),
	  .want = TOKEN_WRONG_ISSUER },
	{ .name = "iss none of two", .signer = "hs256", .header = HS, .pol = POL_TWO_ISS,
	  .payload = P_ISS(",\"iss\":\"https://evil.example\""), .want = TOKEN_WRONG_ISSUER },

	/* aud. */
	{ .name = "aud string", .signer = "hs256", .header = HS, .want = TOKEN_OK },
	{ .name = "aud array containing", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":[\"other\",\"news-site\"]"), .want = TOKEN_OK },
	{ .name = "aud array not containing", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":[\"other\",\"news-site-2\"]"),
	  .want = TOKEN_WRONG_AUDIENCE },
	{ .name = "aud empty array", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":[]"), .want = TOKEN_WRONG_AUDIENCE },
	{ .name = "aud wrong string", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":\"news\""), .want = TOKEN_WRONG_AUDIENCE },
	{ .name = "aud missing", .signer = "hs256", .header = HS, .payload = P_AUD(""),
	  .want = TOKEN_WRONG_AUDIENCE },
	{ .name = "aud a number", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":1"), .want = TOKEN_WRONG_AUDIENCE },
	{ .name = "aud an object", .signer = "hs256", .header = HS,
	  .payload = P_AUD(",\"aud\":{\"news-site\":true}"), .want = TOKEN_WRONG_AUDIENCE },

	/* sub. */
	{ .name = "sub missing", .signer = "hs256", .header = HS,
	  .payload = "{" ISS "," AUD "," EXP "}", .want = TOKEN_NO_SUBJECT },
	{ .name = "sub CR LF", .signer = "hs256", .header = HS,
	  .payload = P_SUB("\"sub\":\"a\\r\\nX-Paywall-User: admin\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "sub LF", .signer = "hs256", .header = HS, .payload = P_SUB("\"sub\":\"a\\nb\""),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "sub non-ASCII", .signer = "hs256", .header = HS,
	  .payload = P_SUB("\"sub\":\"ren\\u00e9\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "sub DEL", .signer = "hs256", .header = HS,
	  .payload = P_SUB("\"sub\":\"a\\u007f\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "sub empty", .signer = "hs256", .header = HS, .payload = P_SUB("\"sub\":\"\""),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "sub a number", .signer = "hs256", .header = HS, .payload = P_SUB("\"sub\":42"),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "sub null", .signer = "hs256", .header = HS, .payload = P_SUB("\"sub\":null"),
	  .want = TOKEN_BAD_CLAIM },
	{ .name = "sub 256 bytes", .make = tok_sub_256, .want = TOKEN_OK },
	{ .name = "sub 257 bytes", .make = tok_sub_257, .want = TOKEN_BAD_CLAIM },

	/* Entitlements. */
	{ .name = "entitlements 16", .make = tok_ent_16, .want = TOKEN_OK },
	{ .name = "entitlements 17", .make = tok_ent_17, .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlements string of 16", .make = tok_ent_16s, .want = TOKEN_OK },
	{ .name = "entitlements string of 17", .make = tok_ent_17s, .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement of 64 bytes", .make = tok_ent_len_64, .want = TOKEN_OK },
	{ .name = "entitlement of 65 bytes", .make = tok_ent_len_65, .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement with a comma", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"digital,premium\"]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement string with a comma", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":\"digital,premium\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement with a control char", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"digital\\u0001\"]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement with CR LF", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":\"digital\\r\\nX: y\""), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement with a space", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"a b\"]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement empty", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"\"]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement non-ASCII", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"pr\\u00e9mium\"]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement a number", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[\"digital\",7]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlement null", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":[null]"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlements an object", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":{\"digital\":true}"), .want = TOKEN_BAD_CLAIM },
	{ .name = "entitlements a number", .signer = "hs256", .header = HS,
	  .payload = P_WITH("\"entitlements\":1"), .want = TOKEN_BAD_CLAIM },
};

/* ---- running a case ---- */

static enum token_reject run(const char *tok, bool rsa_only, enum pol p,
			     enum token_verifier how, struct token_claims *claims,
			     bool *kid_unknown)
{
	struct token_policy pol = policy(p);

	return token_verify(tok, strlen(tok), rsa_only ? ks_rsa_only : ks_main, &pol, NOW, how,
			    claims, kid_unknown);
}

static void check_case(const struct tok_case *c)
{
	char *tok = build_case(c);
	static const enum token_verifier hows[] = { TOKEN_VERIFY_EVP, TOKEN_VERIFY_LIBJWT };

	for (size_t i = 0; i < NA(hows); i++) {
		struct token_claims claims;
		bool unknown;
		enum token_reject r = run(tok, c->rsa_only, c->pol, hows[i], &claims, &unknown);
		enum token_reject want = hows[i] == TOKEN_VERIFY_LIBJWT && c->want_libjwt != TOKEN_OK ?
					 c->want_libjwt : c->want;
		ck_assert_msg(r == want, "%s (%s): got %s, expected %s", c->name,
			      how_name(hows[i]), token_reject_name(r), token_reject_name(want));
		ck_assert_msg(unknown == (r == TOKEN_UNKNOWN_KID),
			      "%s (%s): kid_unknown %d with %s", c->name, how_name(hows[i]),
			      unknown, token_reject_name(r));
	}
	free(tok);
}

START_TEST(test_token_case)
{
	check_case(&cases[_i]);
}
END_TEST

/* ---- claims of valid tokens ---- */

static void expect_claims(const char *tok, enum token_verifier how, const char *sub,
			  long long exp, const char *const *ents, size_t n_ent)
{
	struct token_claims c;
	bool unknown = true;
	unsigned char digest[32];
	enum token_reject r = run(tok, false, POL_STD, how, &c, &unknown);

	ck_assert_msg(r == TOKEN_OK, "%s: %s", how_name(how), token_reject_name(r));
	ck_assert(!unknown);
	ck_assert_str_eq(c.sub, sub);
	ck_assert_int_eq(c.exp, exp);
	ck_assert_uint_eq(c.n_ent, n_ent);
	for (size_t i = 0; i < n_ent; i++)
		ck_assert_str_eq(c.ent[i], ents[i]);
	ck_assert_int_eq(token_digest(tok, strlen(tok), digest), 0);
	ck_assert(memcmp(digest, c.digest, 32) == 0);
}

START_TEST(test_token_claims_every_alg)
{
	static const char *const ents[] = { "digital", "premium" };
	static const char *const algs[][2] = {
		{ "HS256", "hs256" }, { "HS384", "hs384" }, { "HS512", "hs512" },
		{ "RS256", "rs256" }, { "RS384", "rs384" }, { "RS512", "rs512" },
		{ "ES256", "es256" }, { "ES384", "es384" }, { "ES512", "es512" },
		{ "PS256", "ps256" }, { "PS384", "ps384" }, { "PS512", "ps512" },
		{ "EdDSA", "ed25519" },
	};

	for (size_t i = 0; i < NA(algs); i++) {
		char *h = ts_strf(HK("%s", "%s"), algs[i][0], algs[i][1]);
		char *tok = ts_token(signer(algs[i][1]), h, P_STD);
		expect_claims(tok, TOKEN_VERIFY_EVP, "reader-1", 1700003600, ents, 2);
		expect_claims(tok, TOKEN_VERIFY_LIBJWT, "reader-1", 1700003600, ents, 2);
		free(h);
		free(tok);
	}
}
END_TEST

START_TEST(test_token_claims_entitlement_forms)
{
	static const char *const three[] = { "digital", "premium", "archive" };
	char *a = ts_token(signer("hs256"), HS,
			   P_WITH("\"entitlements\":[\"digital\",\"premium\",\"archive\"]"));
	char *s = ts_token(signer("rs256"), HK("RS256", "rs256"),
			   P_WITH("\"entitlements\":\"  digital premium   archive \""));
	char *none = ts_token(signer("es256"), HK("ES256", "es256"), "{" STD "}");
	char *empty = ts_token(signer("hs256"), HS, P_WITH("\"entitlements\":\"\""));
	char *other = ts_token(signer("hs256"), HS,
			       P_WITH("\"scope\":\"digital\",\"entitlements\":[]"));
	char *realexp = ts_token(signer("hs256"), HS, P_EXP("\"exp\":1700003600.9"));

	expect_claims(a, TOKEN_VERIFY_EVP, "reader-1", 1700003600, three, 3);
	expect_claims(a, TOKEN_VERIFY_LIBJWT, "reader-1", 1700003600, three, 3);
	expect_claims(s, TOKEN_VERIFY_EVP, "reader-1", 1700003600, three, 3);
	expect_claims(s, TOKEN_VERIFY_LIBJWT, "reader-1", 1700003600, three, 3);
	expect_claims(none, TOKEN_VERIFY_EVP, "reader-1", 1700003600, NULL, 0);
	expect_claims(empty, TOKEN_VERIFY_EVP, "reader-1", 1700003600, NULL, 0);
	expect_claims(other, TOKEN_VERIFY_EVP, "reader-1", 1700003600, NULL, 0);
	expect_claims(realexp, TOKEN_VERIFY_EVP, "reader-1", 1700003600, NULL, 0);
	free(a);
	free(s);
	free(none);
	free(empty);
	free(other);
	free(realexp);
}
END_TEST

/* The entitlements claim's name comes from the policy. */
START_TEST(test_token_claims_custom_claim_name)
{
	char *tok = ts_token(signer("hs256"), HS, P_WITH("\"scope\":\"digital premium\","
							  "\"entitlements\":7"));
	struct token_policy pol = policy(POL_STD);
	struct token_claims c;
	bool unknown;

	pol.entitlements_claim = "scope";
	ck_assert_int_eq(token_verify(tok, strlen(tok), ks_main, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_OK);
	ck_assert_uint_eq(c.n_ent, 2);
	ck_assert_str_eq(c.ent[1], "premium");
	pol.entitlements_claim = NULL;
	ck_assert_int_eq(token_verify(tok, strlen(tok), ks_main, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_OK);
	ck_assert_uint_eq(c.n_ent, 0);
	pol.entitlements_claim = "entitlements";
	ck_assert_int_eq(token_verify(tok, strlen(tok), ks_main, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_BAD_CLAIM);
	free(tok);
}
END_TEST

/* The token is read as len bytes, not as a C string. */
START_TEST(test_token_length_is_explicit)
{
	char *tok = ts_token(signer("hs256"), HS, P_STD);
	size_t len = strlen(tok);
	char *longer = ts_strf("%sXYZ", tok);
	struct token_policy pol = policy(POL_STD);
	struct token_claims c;
	bool unknown;

	ck_assert_int_eq(token_verify(longer, len, ks_main, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_OK);
	ck_assert_int_eq(token_verify(longer, len, ks_main, &pol, NOW, TOKEN_VERIFY_LIBJWT, &c,
				      &unknown), TOKEN_OK);
	ck_assert_int_ne(token_verify(tok, len - 1, ks_main, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_OK);
	free(tok);
	free(longer);
}
END_TEST

/* An unknown kid is reported (a JWKS refresh may help); others are not. */
START_TEST(test_token_kid_unknown_flag)
{
	static const struct { const char *signer, *header; enum token_reject want; bool flag; }
	t[] = {
		{ "hs256", HK("HS256", "rotated-away"), TOKEN_UNKNOWN_KID, true },
		{ "hs256", HK("HS256", "../../etc/passwd"), TOKEN_UNKNOWN_KID, true },
		{ "hs256", HK("HS256", "rs256"), TOKEN_NO_KEY, false },
		{ "es256", HA("ES256"), TOKEN_NO_KEY, false },
		{ "hs256", HS, TOKEN_OK, false },
		{ "hs256-other", HS, TOKEN_BAD_SIGNATURE, false },
		{ NULL, HK("none", "nope"), TOKEN_ALG_NONE, false },
	};

	for (size_t i = 0; i < NA(t); i++) {
		char *tok = ts_token(t[i].signer ? signer(t[i].signer) : NULL, t[i].header, P_STD);
		for (int how = TOKEN_VERIFY_EVP; how <= TOKEN_VERIFY_LIBJWT; how++) {
			struct token_claims c;
			bool unknown = !t[i].flag;
			enum token_reject r = run(tok, false, POL_STD, how, &c, &unknown);
			ck_assert_msg(r == t[i].want, "%s: %s", t[i].header, token_reject_name(r));
			ck_assert_msg(unknown == t[i].flag, "%s: kid_unknown %d", t[i].header,
				      unknown);
		}
		free(tok);
	}
}
END_TEST

/* The keyset and the now argument decide, nothing else. */
START_TEST(test_token_empty_and_null_keyset)
{
	char *tok = ts_token(signer("hs256"), HS, P_STD);
	struct keyset *empty = ts_keyset("{\"keys\":[]}");
	struct token_policy pol = policy(POL_STD);
	struct token_claims c;
	bool unknown;

	ck_assert_int_eq(token_verify(tok, strlen(tok), empty, &pol, NOW, TOKEN_VERIFY_EVP, &c,
				      &unknown), TOKEN_UNKNOWN_KID);
	ck_assert(unknown);
	ck_assert_int_eq(token_verify(tok, strlen(tok), NULL, &pol, NOW, TOKEN_VERIFY_LIBJWT, &c,
				      &unknown), TOKEN_UNKNOWN_KID);
	/* The same token, a day later. */
	ck_assert_int_eq(token_verify(tok, strlen(tok), ks_main, &pol, NOW + 86400,
				      TOKEN_VERIFY_EVP, &c, &unknown), TOKEN_EXPIRED);
	keyset_unref(empty);
	free(tok);
}
END_TEST

/* ---- differential: EVP and libjwt agree on the whole corpus ---- */

START_TEST(test_token_differential)
{
	size_t mismatches = 0;
	char report[4096] = "";
	size_t used = 0;

	for (size_t i = 0; i < NA(cases); i++) {
		char *tok = build_case(&cases[i]);
		struct token_claims ce, cl;
		bool ue, ul;
		enum token_reject re = run(tok, cases[i].rsa_only, cases[i].pol, TOKEN_VERIFY_EVP,
					   &ce, &ue);
		enum token_reject rl = run(tok, cases[i].rsa_only, cases[i].pol,
					   TOKEN_VERIFY_LIBJWT, &cl, &ul);
		if (re != rl || ue != ul ||
		    (re == TOKEN_OK && memcmp(&ce, &cl, sizeof(ce)) != 0)) {
			mismatches++;
			int w = snprintf(report + used, sizeof(report) - used,
					 "\n  %s: EVP %s, LIBJWT %s", cases[i].name,
					 token_reject_name(re), token_reject_name(rl));
			if (w > 0 && (size_t)w < sizeof(report) - used)
				used += (size_t)w;
		}
		free(tok);
	}
	ck_assert_msg(mismatches == 0, "%zu of %zu cases differ:%s", mismatches, NA(cases),
		      report);
}
END_TEST

/* ---- token_digest ---- */

START_TEST(test_token_digest)
{
	char *a = ts_token(signer("es256"), HK("ES256", "es256"), P_STD);
	/* ECDSA signs with a fresh nonce: same header and payload, other signature. */
	char *b = ts_token(signer("es256"), HK("ES256", "es256"), P_STD);
	char *junk = ts_strf("%sAAAA", a);
	char *unsigned_tok = ts_token(NULL, HA("none"), P_STD);
	unsigned char d1[32], d2[32], d3[32], d4[32];

	ck_assert_str_ne(a, b);
	ck_assert_int_eq(token_digest(a, strlen(a), d1), 0);
	ck_assert_int_eq(token_digest(a, strlen(a), d2), 0);
	ck_assert(memcmp(d1, d2, 32) == 0);
	ck_assert_int_eq(token_digest(b, strlen(b), d3), 0);
	ck_assert(memcmp(d1, d3, 32) != 0);
	ck_assert_int_eq(token_digest(junk, strlen(junk), d4), 0);
	ck_assert(memcmp(d1, d4, 32) != 0);
	/* An empty signature is still three parts. */
	ck_assert_int_eq(token_digest(unsigned_tok, strlen(unsigned_tok), d4), 0);
	free(a);
	free(b);
	free(junk);
	free(unsigned_tok);
}
END_TEST

/* Part boundaries are part of the digest: moving bytes across a dot (which
 * re-encodes them) gives another digest. */
START_TEST(test_token_digest_boundaries)
{
	unsigned char d1[32], d2[32];
	char *x = ts_strf("%s.%s.%s", "QUJD", "REVG", "R0hJ");	/* ABC.DEF.GHI */
	char *y = ts_strf("%s.%s.%s", "QUJDREVG", "R0hJ", "");	/* ABCDEF.GHI. */

	ck_assert_int_eq(token_digest(x, strlen(x), d1), 0);
	ck_assert_int_eq(token_digest(y, strlen(y), d2), 0);
	ck_assert(memcmp(d1, d2, 32) != 0);
	free(x);
	free(y);
}
END_TEST

START_TEST(test_token_digest_malformed)
{
	static const char *const bad[] = {
		"", "abc", "QUJD.REVG", "QUJD.REVG.R0hJ.R0hJ", ".REVG.R0hJ", "QUJD..R0hJ",
		"QUJD=.REVG.R0hJ", "QUJD.RE+G.R0hJ", "QUJD.REVG.R0hJR", "QUJD.REV.R0hJ",
		"QU JD.REVG.R0hJ", "QUJD.REVG.R0h/",
	};
	unsigned char d[32];
	char *big = tok_8193();
	char *ok = tok_8192();

	for (size_t i = 0; i < NA(bad); i++)
		ck_assert_msg(token_digest(bad[i], strlen(bad[i]), d) == -1, "'%s'", bad[i]);
	ck_assert_int_eq(token_digest(big, strlen(big), d), -1);
	ck_assert_int_eq(token_digest(ok, strlen(ok), d), 0);
	free(big);
	free(ok);
}
END_TEST

START_TEST(test_token_reject_names)
{
	ck_assert_str_eq(token_reject_name(TOKEN_OK), "ok");
	ck_assert_str_eq(token_reject_name(TOKEN_EXPIRED), "expired");
	ck_assert_str_eq(token_reject_name(TOKEN_BAD_SIGNATURE), "bad-signature");
	ck_assert_str_eq(token_reject_name(TOKEN_BAD_CLAIM), "bad-claim");
	ck_assert_str_eq(token_reject_name(TOKEN_REJECT_COUNT), "?");
	ck_assert_str_eq(token_reject_name((enum token_reject)-1), "?");
	for (int i = 0; i < TOKEN_REJECT_COUNT; i++) {
		const char *a = token_reject_name((enum token_reject)i);
		ck_assert(a != NULL && a[0] != '\0' && strcmp(a, "?") != 0);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(a, token_reject_name((enum token_reject)j));
	}
}
END_TEST

/* ---- regressions: bugs the fuzzer and these tests found, now fixed ---- */

static const struct tok_case regression_cases[] = {
	/* libjwt refuses any typ but "JWT"; typed access tokens (RFC 9068, as
	 * Auth0 and Okta issue) are checked with EVP on both paths. */
	{ .name = "typ at+jwt", .signer = "rs256",
	  .header = "{\"alg\":\"RS256\",\"typ\":\"at+jwt\",\"kid\":\"rs256\"}", .want = TOKEN_OK },
	{ .name = "typ at+jwt HS256", .signer = "hs256",
	  .header = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"hs256\"}", .want = TOKEN_OK },
	/* Any other typ is not a subscriber token (RFC 8725 explicit typing). */
	{ .name = "typ JOSE", .signer = "es256",
	  .header = "{\"alg\":\"ES256\",\"typ\":\"JOSE\",\"kid\":\"es256\"}",
	  .want = TOKEN_BAD_JSON },
	/* Signed but malformed payloads: refused by both, reasons differ. */
	{ .name = "payload not JSON", .signer = "hs256", .header = HS, .payload = "sub=x",
	  .want = TOKEN_BAD_JSON, .want_libjwt = TOKEN_BAD_SIGNATURE },
	{ .name = "payload JSON string", .signer = "hs256", .header = HS, .payload = "\"x\"",
	  .want = TOKEN_BAD_JSON, .want_libjwt = TOKEN_BAD_SIGNATURE },
	{ .name = "payload JSON array", .signer = "hs256", .header = HS, .payload = "[" SUB "]",
	  .want = TOKEN_BAD_JSON, .want_libjwt = TOKEN_BAD_SIGNATURE },
	{ .name = "payload '!'", .signer = "hs256", .header = HS, .part = PART_PAY,
	  .mut = M_BADCHAR, .want = TOKEN_MALFORMED, .want_libjwt = TOKEN_BAD_SIGNATURE },
	{ .name = "payload NUL after a string", .make = tok_nul_after_string,
	  .want = TOKEN_BAD_JSON, .want_libjwt = TOKEN_BAD_SIGNATURE },
	/* jansson drops a NUL after a number ({"a":1\0,...}); found by
	 * token_fuzz: a raw NUL is never JSON, so both refuse. */
	{ .name = "payload NUL after a number", .make = tok_nul_in_payload,
	  .want = TOKEN_BAD_JSON, .want_libjwt = TOKEN_BAD_SIGNATURE },
	{ .name = "header NUL after a number", .make = tok_nul_in_header,
	  .want = TOKEN_BAD_JSON },
};

START_TEST(test_token_regression_case)
{
	check_case(&regression_cases[_i]);
}
END_TEST

/* Regression: `now >= exp + leeway` overflowed for a signed exp of
 * INT64_MAX (UBSan abort); the check now only subtracts from now. */
START_TEST(test_token_exp_overflow)
{
	char *tok = ts_token(signer("hs256"), HS, P_EXP("\"exp\":9223372036854775807"));
	struct token_claims c;
	bool unknown;

	ck_assert_int_eq(run(tok, false, POL_STD, TOKEN_VERIFY_EVP, &c, &unknown), TOKEN_OK);
	free(tok);
}
END_TEST

static Suite *token_suite(void)
{
	Suite *s = suite_create("token");
	TCase *rules = tcase_create("rules");
	TCase *claims = tcase_create("claims");
	TCase *diff = tcase_create("differential");
	TCase *digest = tcase_create("digest");

	tcase_set_timeout(rules, 60);
	tcase_set_timeout(diff, 60);
	tcase_add_loop_test(rules, test_token_case, 0, (int)NA(cases));
	suite_add_tcase(s, rules);

	tcase_add_test(claims, test_token_claims_every_alg);
	tcase_add_test(claims, test_token_claims_entitlement_forms);
	tcase_add_test(claims, test_token_claims_custom_claim_name);
	tcase_add_test(claims, test_token_length_is_explicit);
	tcase_add_test(claims, test_token_kid_unknown_flag);
	tcase_add_test(claims, test_token_empty_and_null_keyset);
	suite_add_tcase(s, claims);

	tcase_add_test(diff, test_token_differential);
	suite_add_tcase(s, diff);

	tcase_add_test(digest, test_token_digest);
	tcase_add_test(digest, test_token_digest_boundaries);
	tcase_add_test(digest, test_token_digest_malformed);
	tcase_add_test(digest, test_token_reject_names);
	suite_add_tcase(s, digest);

	TCase *regressions = tcase_create("regressions");
	tcase_add_loop_test(regressions, test_token_regression_case, 0, (int)NA(regression_cases));
	tcase_add_test(regressions, test_token_exp_overflow);
	suite_add_tcase(s, regressions);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	fixture_setup();
	sr = srunner_create(token_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	keyset_unref(ks_main);
	keyset_unref(ks_rsa_only);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
