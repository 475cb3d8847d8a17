/* keygen_test: `paywallctl keys generate` (keygen.c): key files, modes, JWK members, refusals. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keygen.h"

struct alg_case {
	const char *alg;
	const char *kty;
	const char *crv;
	size_t size;		/* RSA modulus, EC coordinate or secret bytes */
};

static const struct alg_case algs[] = {
	{ "ES256", "EC", "P-256", 32 },
	{ "ES384", "EC", "P-384", 48 },
	{ "ES512", "EC", "P-521", 66 },
	{ "RS256", "RSA", NULL, 256 },
	{ "RS384", "RSA", NULL, 256 },
	{ "RS512", "RSA", NULL, 256 },
	{ "HS256", "oct", NULL, 32 },
	{ "HS384", "oct", NULL, 48 },
	{ "HS512", "oct", NULL, 64 },
};
#define NALGS ((int)(sizeof(algs) / sizeof(algs[0])))

/* ---- helpers ---- */

static char dir[PATH_MAX];

static void dir_setup(void)
{
	const char *t = getenv("TMPDIR");
	int n = snprintf(dir, sizeof(dir), "%s/keygen_test.XXXXXX", t != NULL && t[0] ? t : "/tmp");

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

static size_t dir_count(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void write_file(const char *name, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	path_in(p, sizeof(p), name);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
}

/* The whole file as a malloc'd string. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;

	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	return st.st_mode & 07777;
}

static int generate(const char *alg, const char *kid, struct keygen_result *res, char *err,
		    size_t errlen)
{
	err[0] = '\0';
	return keygen_generate(alg, kid, dir, res, err, errlen);
}

static void generate_ok(const char *alg, const char *kid, struct keygen_result *res)
{
	char err[PATH_MAX + 256];
	int rc = generate(alg, kid, res, err, sizeof(err));

	if (rc != 0)
		fprintf(stderr, "keygen_generate(%s, %s): %s\n", alg, kid, err);
	ck_assert_int_eq(rc, 0);
}

static void generate_fails(const char *alg, const char *kid, const char *want)
{
	struct keygen_result res;
	char err[PATH_MAX + 256];

	ck_assert_int_eq(generate(alg, kid, &res, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		ck_abort_msg("error '%s' does not contain '%s'", err, want);
}

static json_t *jwks_load(void)
{
	char p[PATH_MAX];
	json_error_t je;
	json_t *doc;

	path_in(p, sizeof(p), "jwks.json");
	doc = json_load_file(p, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		ck_abort_msg("jwks.json: %s", je.text);
	ck_assert(json_is_array(json_object_get(doc, "keys")));
	return doc;
}

/* Strict unpadded base64url; returns the number of bytes or -1. */
static int b64url_decode(const char *in, unsigned char *out, size_t cap)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *in != '\0'; in++) {
		const char *p = strchr(abc, *in);
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
	ck_assert_msg(strchr(s, '=') == NULL, "JWK member %s is padded", name);
	return b64url_decode(s, out, cap);
}

/* The public key a JWK describes, rebuilt with OpenSSL alone. */
static EVP_PKEY *jwk_public_key(const json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	unsigned char a[600], b[600], pt[1 + 2 * 66];
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;

	ck_assert_ptr_nonnull(bld);
	if (strcmp(kty, "RSA") == 0) {
		int nl = member_bytes(jwk, "n", a, sizeof(a)), el = member_bytes(jwk, "e", b, sizeof(b));
		ck_assert(nl > 0 && el > 0);
		n = BN_bin2bn(a, nl, NULL);
		e = BN_bin2bn(b, el, NULL);
		ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1);
		ck_assert(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1);
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		int xl = member_bytes(jwk, "x", a, sizeof(a)), yl = member_bytes(jwk, "y", b, sizeof(b));
		ck_assert(xl == yl && xl > 0 && xl <= 66);
		pt[0] = 4;
		memcpy(pt + 1, a, (size_t)xl);
		memcpy(pt + 1 + xl, b, (size_t)yl);
		ck_assert(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
			json_string_value(json_object_get(jwk, "crv")), 0) == 1);
		ck_assert(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt,
							   1 + 2 * (size_t)xl) == 1);
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

/* The members of jwk, in order, must be exactly want (NULL-terminated). */
static void check_members(const json_t *jwk, const char *const *want)
{
	void *it = json_object_iter((json_t *)jwk);
	size_t i = 0;

	for (; it != NULL; it = json_object_iter_next((json_t *)jwk, it), i++) {
		ck_assert_ptr_nonnull(want[i]);
		ck_assert_str_eq(json_object_iter_key(it), want[i]);
		ck_assert(json_is_string(json_object_iter_value(it)));
	}
	ck_assert_ptr_null(want[i]);
}

/* ---- every alg ---- */

static void check_pem_matches_jwk(const struct keygen_result *res, const json_t *jwk)
{
	char *pem = read_text(res->key_path);
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *priv = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	EVP_PKEY *pub = jwk_public_key(jwk);

	ck_assert(strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
	ck_assert_ptr_nonnull(priv);
	ck_assert_int_eq(EVP_PKEY_eq(priv, pub), 1);
	EVP_PKEY_free(priv);
	EVP_PKEY_free(pub);
	BIO_free(b);
	free(pem);
}

static void check_secret_matches_jwk(const struct keygen_result *res, const json_t *jwk,
				     size_t size)
{
	unsigned char k[128], f[128];
	char *text = read_text(res->key_path);
	size_t len = strlen(text);
	int kl, fl;

	ck_assert(len > 1 && text[len - 1] == '\n' && strchr(text, '\n') == text + len - 1);
	text[len - 1] = '\0';
	fl = b64url_decode(text, f, sizeof(f));
	kl = member_bytes(jwk, "k", k, sizeof(k));
	ck_assert_int_eq(fl, (int)size);
	ck_assert_int_eq(kl, (int)size);
	ck_assert_mem_eq(k, f, size);
	free(text);
}

START_TEST(test_keygen_each_alg)
{
	static const char *const rsa[] = { "kty", "kid", "use", "alg", "n", "e", NULL };
	static const char *const ec[] = { "kty", "kid", "use", "alg", "crv", "x", "y", NULL };
	static const char *const oct[] = { "kty", "kid", "use", "alg", "k", NULL };
	const struct alg_case *c = &algs[_i];
	struct keygen_result res;
	unsigned char buf[600];
	char want[PATH_MAX];
	json_t *doc, *jwk;

	generate_ok(c->alg, "key-1", &res);
	path_in(want, sizeof(want), c->kty[0] == 'o' ? "key-1.key" : "key-1.pem");
	ck_assert_str_eq(res.key_path, want);
	path_in(want, sizeof(want), "jwks.json");
	ck_assert_str_eq(res.jwks_path, want);
	ck_assert_int_eq(mode_of(res.key_path), 0600);
	ck_assert_int_eq(mode_of(res.jwks_path), c->kty[0] == 'o' ? 0600 : 0644);
	ck_assert_int_eq(res.jwks_has_secret, c->kty[0] == 'o');
	ck_assert_uint_eq(dir_count(), 2);

	doc = jwks_load();
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "keys")), 1);
	jwk = json_array_get(json_object_get(doc, "keys"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "kty")), c->kty);
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "kid")), "key-1");
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "use")), "sig");
	ck_assert_str_eq(json_string_value(json_object_get(jwk, "alg")), c->alg);
	if (strcmp(c->kty, "RSA") == 0) {
		check_members(jwk, rsa);
		ck_assert_int_eq(member_bytes(jwk, "n", buf, sizeof(buf)), (int)c->size);
		ck_assert(buf[0] & 0x80);
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "e")), "AQAB");
		check_pem_matches_jwk(&res, jwk);
	} else if (strcmp(c->kty, "EC") == 0) {
		check_members(jwk, ec);
		ck_assert_str_eq(json_string_value(json_object_get(jwk, "crv")), c->crv);
		ck_assert_int_eq(member_bytes(jwk, "x", buf, sizeof(buf)), (int)c->size);
		ck_assert_int_eq(member_bytes(jwk, "y", buf, sizeof(buf)), (int)c->size);
		check_pem_matches_jwk(&res, jwk);
	} else {
		check_members(jwk, oct);
		check_secret_matches_jwk(&res, jwk, c->size);
	}
	json_decref(doc);
}
END_TEST

/* P-521 coordinates are often shorter than 66 bytes as numbers: the JWK
 * must still carry all 66 (RFC 7518 6.2.1.2), so generate until one is. */
START_TEST(test_keygen_ec_coordinates_padded)
{
	unsigned char x[80], y[80];
	bool short_seen = false;

	for (int i = 0; i < 24 && !short_seen; i++) {
		struct keygen_result res;
		char kid[32];
		json_t *doc, *jwk;

		snprintf(kid, sizeof(kid), "p521-%d", i);
		generate_ok("ES512", kid, &res);
		doc = jwks_load();
		jwk = json_array_get(json_object_get(doc, "keys"), (size_t)i);
		ck_assert_int_eq(member_bytes(jwk, "x", x, sizeof(x)), 66);
		ck_assert_int_eq(member_bytes(jwk, "y", y, sizeof(y)), 66);
		/* The top byte of a P-521 coordinate is 0 or 1. */
		ck_assert(x[0] <= 1 && y[0] <= 1);
		short_seen = x[0] == 0 || y[0] == 0;
		json_decref(doc);
	}
	ck_assert(short_seen);
}
END_TEST

/* ---- a growing jwks.json ---- */

START_TEST(test_keygen_keeps_existing_keys)
{
	static const char *const kids[] = { "a", "b", "c", "d" };
	static const char *const want_alg[] = { "RS256", "ES256", "HS256", "ES384" };
	struct keygen_result res;
	json_t *doc, *keys;

	generate_ok("RS256", "a", &res);
	generate_ok("ES256", "b", &res);
	ck_assert_int_eq(mode_of(res.jwks_path), 0644);
	ck_assert_int_eq(res.jwks_has_secret, 0);
	generate_ok("HS256", "c", &res);
	ck_assert_int_eq(mode_of(res.jwks_path), 0600);
	/* Once a secret is in it, the file stays private. */
	generate_ok("ES384", "d", &res);
	ck_assert_int_eq(mode_of(res.jwks_path), 0600);
	ck_assert_int_eq(res.jwks_has_secret, 1);
	doc = jwks_load();
	keys = json_object_get(doc, "keys");
	ck_assert_uint_eq(json_array_size(keys), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *k = json_array_get(keys, i);
		ck_assert_str_eq(json_string_value(json_object_get(k, "kid")), kids[i]);
		ck_assert_str_eq(json_string_value(json_object_get(k, "alg")), want_alg[i]);
	}
	json_decref(doc);
	ck_assert_uint_eq(dir_count(), 5);
}
END_TEST

START_TEST(test_keygen_keeps_foreign_members_and_mode)
{
	struct keygen_result res;
	char p[PATH_MAX];
	json_t *doc, *k0;

	write_file("jwks.json", "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"old\",\"crv\":\"P-256\","
		   "\"x\":\"AA\",\"y\":\"AA\",\"x5t\":\"keep\"}],\"extra\":1}");
	path_in(p, sizeof(p), "jwks.json");
	ck_assert_int_eq(chmod(p, 0640), 0);
	generate_ok("RS256", "new", &res);
	ck_assert_int_eq(mode_of(p), 0640);
	doc = jwks_load();
	k0 = json_array_get(json_object_get(doc, "keys"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(k0, "x5t")), "keep");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "extra")), 1);
	ck_assert_uint_eq(json_array_size(json_object_get(doc, "keys")), 2);
	json_decref(doc);
}
END_TEST

/* ---- refusals: each leaves the directory as it was ---- */

START_TEST(test_keygen_duplicate_kid_refused)
{
	struct keygen_result res;
	char *before, *after, *pem_before, *pem_after;

	generate_ok("ES256", "dup", &res);
	before = read_text(res.jwks_path);
	pem_before = read_text(res.key_path);
	/* Another alg: the private key would go to dup.key, a new file. */
	generate_fails("HS256", "dup", "kid 'dup' is already there");
	generate_fails("ES256", "dup", "kid 'dup' is already there");
	after = read_text(res.jwks_path);
	pem_after = read_text(res.key_path);
	ck_assert_str_eq(before, after);
	ck_assert_str_eq(pem_before, pem_after);
	ck_assert_uint_eq(dir_count(), 2);
	free(before);
	free(after);
	free(pem_before);
	free(pem_after);
}
END_TEST

START_TEST(test_keygen_overwrite_refused)
{
	char p[PATH_MAX];
	char *text;

	write_file("taken.pem", "not mine\n");
	write_file("taken2.key", "not mine either\n");
	generate_fails("ES256", "taken", "taken.pem: already exists, not overwritten");
	generate_fails("HS512", "taken2", "taken2.key: already exists, not overwritten");
	path_in(p, sizeof(p), "taken.pem");
	text = read_text(p);
	ck_assert_str_eq(text, "not mine\n");
	free(text);
	/* jwks.json did not exist and still does not. */
	path_in(p, sizeof(p), "jwks.json");
	ck_assert_int_eq(access(p, F_OK), -1);
	ck_assert_uint_eq(dir_count(), 2);
}
END_TEST

START_TEST(test_keygen_bad_kid_refused)
{
	static const char *const bad[] = {
		"", ".", "..", "../x", "a/b", "/abs", ".hidden", "a b", "a\tb", "k\xc3\xa9",
		"a:b", "a\\b", "ab*", "ok\n",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	static const char *const good[] = {
		"a", "A.b_c-9", "-dash", "x..y",
		"1234567890123456789012345678901234567890123456789012345678901234",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!keygen_kid_valid(bad[i]), "'%s' accepted", bad[i]);
		generate_fails("ES256", bad[i], "--kid: expected 1 to 64 characters");
	}
	generate_fails("ES256", NULL, "--kid");
	ck_assert(!keygen_kid_valid(NULL));
	ck_assert_uint_eq(dir_count(), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(keygen_kid_valid(good[i]), "'%s' refused", good[i]);
}
END_TEST

START_TEST(test_keygen_bad_alg_refused)
{
	static const char *const bad[] = { "none", "PS256", "EdDSA", "es256", "HS128", "" };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		generate_fails(bad[i], "k", "--alg: expected one of ES256|");
	generate_fails(NULL, "k", "--alg");
	ck_assert_uint_eq(dir_count(), 0);
}
END_TEST

START_TEST(test_keygen_bad_jwks_refused)
{
	static const char *const bad[] = {
		"", "not json", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[1]}",
		"{\"keys\":[],\"keys\":[]}", "{\"keys\":[{\"kid\":\"a\"},\"x\"]}",
	};
	char p[PATH_MAX];

	path_in(p, sizeof(p), "k.pem");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file("jwks.json", bad[i]);
		generate_fails("ES256", "k", "jwks.json");
		ck_assert_msg(access(p, F_OK) == -1, "key file left behind for '%s'", bad[i]);
		ck_assert_uint_eq(dir_count(), 1);
	}
}
END_TEST

START_TEST(test_keygen_jwks_too_large_refused)
{
	char p[PATH_MAX];
	FILE *f;

	path_in(p, sizeof(p), "jwks.json");
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"keys\":[],\"pad\":\"", f);
	for (int i = 0; i < KEYGEN_JWKS_MAX; i++)
		fputc('x', f);
	fputs("\"}", f);
	ck_assert_int_eq(fclose(f), 0);
	generate_fails("ES256", "k", "larger than");
	ck_assert_uint_eq(dir_count(), 1);
}
END_TEST

START_TEST(test_keygen_jwks_symlink_refused)
{
	char p[PATH_MAX], target[PATH_MAX];

	write_file("real.json", "{\"keys\":[]}");
	path_in(p, sizeof(p), "jwks.json");
	path_in(target, sizeof(target), "real.json");
	ck_assert_int_eq(symlink(target, p), 0);
	generate_fails("ES256", "k", "symbolic link");
	ck_assert_uint_eq(dir_count(), 2);
}
END_TEST

START_TEST(test_keygen_missing_dir_refused)
{
	struct keygen_result res;
	char err[PATH_MAX + 256], p[PATH_MAX];

	path_in(p, sizeof(p), "nope");
	ck_assert_int_eq(keygen_generate("ES256", "k", p, &res, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "nope/k.pem"));
	ck_assert_int_eq(keygen_generate("ES256", "k", "", &res, err, sizeof(err)), -1);
	ck_assert_int_eq(keygen_generate("ES256", "k", NULL, &res, err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_keygen_trailing_slash)
{
	struct keygen_result res;
	char err[PATH_MAX + 256], d[PATH_MAX + 8], want[PATH_MAX + 16];

	snprintf(d, sizeof(d), "%s//", dir);
	ck_assert_int_eq(keygen_generate("HS256", "s", d, &res, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/s.key", dir);
	ck_assert_str_eq(res.key_path, want);
}
END_TEST

/* ---- the command ---- */

static int run_main(const char *const *args)
{
	char *argv[16];
	int argc = 0;

	while (args[argc] != NULL) {
		ck_assert_int_lt(argc, 15);
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	return keygen_main(argc, argv);
}

START_TEST(test_keygen_main)
{
	const char *ok[] = { "generate", "--alg", "ES256", "--kid", "m", "--dir", dir, NULL };
	const char *ok_hs[] = { "generate", "--kid", "h", "--dir", dir, "--alg", "HS384", NULL };
	const char *again[] = { "generate", "--alg", "RS256", "--kid", "m", "--dir", dir, NULL };
	const char *badalg[] = { "generate", "--alg", "XX", "--kid", "x", "--dir", dir, NULL };
	const char *missing[] = { "generate", "--alg", "ES256", "--kid", "y", NULL };
	const char *novalue[] = { "generate", "--alg", "ES256", "--kid", "y", "--dir", NULL };
	const char *repeated[] = { "generate", "--kid", "a", "--kid", "b", "--alg", "ES256",
				   "--dir", dir, NULL };
	const char *unknown[] = { "generate", "--alg", "ES256", "--kid", "z", "--dir", dir,
				  "--force", NULL };
	const char *sub[] = { "list", NULL };
	const char *none[] = { NULL };
	const char *help[] = { "generate", "--help", NULL };

	ck_assert_int_eq(run_main(ok), 0);
	ck_assert_int_eq(run_main(ok_hs), 0);
	ck_assert_int_eq(run_main(again), 1);
	ck_assert_int_eq(run_main(badalg), 1);
	ck_assert_int_eq(run_main(missing), 2);
	ck_assert_int_eq(run_main(novalue), 2);
	ck_assert_int_eq(run_main(repeated), 2);
	ck_assert_int_eq(run_main(unknown), 2);
	ck_assert_int_eq(run_main(sub), 2);
	ck_assert_int_eq(run_main(none), 2);
	ck_assert_int_eq(run_main(help), 0);
	/* m.pem, h.key and jwks.json: nothing from the failed runs. */
	ck_assert_uint_eq(dir_count(), 3);
}
END_TEST

static Suite *keygen_suite(void)
{
	Suite *s = suite_create("keygen");
	TCase *gen = tcase_create("generate");
	TCase *jwks = tcase_create("jwks");
	TCase *refuse = tcase_create("refuse");
	TCase *cmd = tcase_create("command");
	TCase *all[] = { gen, jwks, refuse, cmd };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], dir_setup, dir_teardown);
		tcase_set_timeout(all[i], 120);
	}
	tcase_add_loop_test(gen, test_keygen_each_alg, 0, NALGS);
	tcase_add_test(gen, test_keygen_ec_coordinates_padded);
	suite_add_tcase(s, gen);

	tcase_add_test(jwks, test_keygen_keeps_existing_keys);
	tcase_add_test(jwks, test_keygen_keeps_foreign_members_and_mode);
	tcase_add_test(jwks, test_keygen_trailing_slash);
	suite_add_tcase(s, jwks);

	tcase_add_test(refuse, test_keygen_duplicate_kid_refused);
	tcase_add_test(refuse, test_keygen_overwrite_refused);
	tcase_add_test(refuse, test_keygen_bad_kid_refused);
	tcase_add_test(refuse, test_keygen_bad_alg_refused);
	tcase_add_test(refuse, test_keygen_bad_jwks_refused);
	tcase_add_test(refuse, test_keygen_jwks_too_large_refused);
	tcase_add_test(refuse, test_keygen_jwks_symlink_refused);
	tcase_add_test(refuse, test_keygen_missing_dir_refused);
	suite_add_tcase(s, refuse);

	tcase_add_test(cmd, test_keygen_main);
	suite_add_tcase(s, cmd);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(keygen_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
