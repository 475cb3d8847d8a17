/* mint: `paywallctl token mint`, subscriber tokens signed with libjwt for dev and tests. */
#include "mint.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64.h"

/* What an alg needs from its key. type is EVP_PKEY_HMAC for a secret. */
struct mint_alg {
	const char *name;
	jwt_alg_t alg;
	int type;
	int nid;		/* EC: the curve */
	int min;		/* RSA: modulus bits; HMAC: secret bytes */
};

/* When no alg is given, the first entry that fits the key is used. */
static const struct mint_alg mint_algs[] = {
	{ "ES256", JWT_ALG_ES256, EVP_PKEY_EC, NID_X9_62_prime256v1, 0 },
	{ "ES384", JWT_ALG_ES384, EVP_PKEY_EC, NID_secp384r1, 0 },
	{ "ES512", JWT_ALG_ES512, EVP_PKEY_EC, NID_secp521r1, 0 },
	{ "RS256", JWT_ALG_RS256, EVP_PKEY_RSA, 0, 2048 },
	{ "RS384", JWT_ALG_RS384, EVP_PKEY_RSA, 0, 2048 },
	{ "RS512", JWT_ALG_RS512, EVP_PKEY_RSA, 0, 2048 },
	{ "HS256", JWT_ALG_HS256, EVP_PKEY_HMAC, 0, 32 },
	{ "HS384", JWT_ALG_HS384, EVP_PKEY_HMAC, 0, 48 },
	{ "HS512", JWT_ALG_HS512, EVP_PKEY_HMAC, 0, 64 },
};

/* A signing key as read from its file: the PEM text for libjwt, or the
 * decoded secret. mint_key_free wipes the bytes. */
struct mint_key {
	unsigned char *bytes;
	size_t len;
	int type;		/* EVP_PKEY_RSA, EVP_PKEY_EC or EVP_PKEY_HMAC */
	int bits;		/* RSA modulus bits */
	int nid;		/* EC curve */
};

static void mint_key_free(struct mint_key *k)
{
	if (k->bytes != NULL) {
		OPENSSL_cleanse(k->bytes, k->len);
		free(k->bytes);
	}
	memset(k, 0, sizeof(*k));
}

/* Reads at most MINT_KEY_MAX bytes of path into a malloc'd, NUL-ended
 * buffer (MINT_KEY_MAX + 1 bytes, wiped and freed by the caller). */
static int mint_read_file(const char *path, unsigned char **out, size_t *outlen,
			  char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((buf = malloc(MINT_KEY_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	do {
		r = read(fd, buf + len, MINT_KEY_MAX + 1 - len);
		if (r > 0)
			len += (size_t)r;
	} while ((r > 0 && len <= MINT_KEY_MAX) || (r < 0 && errno == EINTR));
	if (r < 0 || len > MINT_KEY_MAX) {
		if (r < 0)
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		else
			snprintf(err, errlen, "%s: larger than %d bytes", path, MINT_KEY_MAX);
		OPENSSL_cleanse(buf, MINT_KEY_MAX + 1);
		free(buf);
		close(fd);
		return -1;
	}
	close(fd);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static int mint_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Learns the type, size and curve of the private key in k's PEM text. An
 * encrypted key is refused here, before libjwt would prompt for it. */
static int mint_key_inspect(struct mint_key *k, const char *path, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(k->bytes, (int)k->len);
	EVP_PKEY *pkey = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, mint_no_passphrase, NULL) : NULL;
	char group[64];
	int rc = -1;

	ERR_clear_error();
	if (pkey == NULL) {
		snprintf(err, errlen, "%s: no unencrypted private key in this PEM file", path);
		goto out;
	}
	k->type = EVP_PKEY_get_base_id(pkey);
	k->bits = EVP_PKEY_get_bits(pkey);
	if (k->type == EVP_PKEY_EC) {
		if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) != 1) {
			snprintf(err, errlen, "%s: EC key without a named curve", path);
			goto out;
		}
		k->nid = OBJ_txt2nid(group);
	}
	rc = 0;
out:
	EVP_PKEY_free(pkey);
	BIO_free(b);
	return rc;
}

/* A file holding "-----BEGIN " is a PEM key for libjwt; anything else must
 * be one line of base64url secret (trailing whitespace ignored). */
static int mint_key_load(const char *path, struct mint_key *k, char *err, size_t errlen)
{
	unsigned char *text = NULL, *secret;
	size_t len = 0, cap;
	long n;
	int rc = -1;

	if (mint_read_file(path, &text, &len, err, errlen) != 0)
		return -1;
	if (strstr((char *)text, "-----BEGIN ") != NULL) {
		k->bytes = text;
		k->len = len;
		return mint_key_inspect(k, path, err, errlen);
	}
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' ||
			   text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	cap = B64_DECODED_MAX(len);
	if ((secret = malloc(cap)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((n = b64url_decode((const char *)text, len, secret, cap)) < 0) {
		snprintf(err, errlen, "%s: neither a PEM private key nor a base64url secret", path);
		OPENSSL_cleanse(secret, cap);
		free(secret);
		goto out;
	}
	k->bytes = secret;
	k->len = (size_t)n;
	k->type = EVP_PKEY_HMAC;
	rc = 0;
out:
	OPENSSL_cleanse(text, MINT_KEY_MAX + 1);
	free(text);
	return rc;
}

static const char *mint_type_name(int type)
{
	return type == EVP_PKEY_RSA ? "an RSA key" : type == EVP_PKEY_EC ? "an EC key" :
	       type == EVP_PKEY_HMAC ? "a secret" : "a key of another type";
}

/* The named alg, or the first that fits k when name is NULL, checked
 * against k: a wrong key type, curve or size is refused. */
static const struct mint_alg *mint_alg_pick(const char *name, const struct mint_key *k,
					    char *err, size_t errlen)
{
	const struct mint_alg *a = NULL;

	for (size_t i = 0; i < sizeof(mint_algs) / sizeof(mint_algs[0]) && a == NULL; i++) {
		const struct mint_alg *c = &mint_algs[i];
		if (name != NULL ? strcmp(name, c->name) == 0 :
		    c->type == k->type && (c->nid == 0 || c->nid == k->nid))
			a = c;
	}
	if (a == NULL && name != NULL)
		snprintf(err, errlen, "--alg: expected ES256|ES384|ES512|RS256|RS384|RS512|"
			 "HS256|HS384|HS512, got '%s'", name);
	else if (a == NULL && k->type == EVP_PKEY_EC)
		snprintf(err, errlen, "key: an EC key on a curve other than P-256/384/521");
	else if (a == NULL)
		snprintf(err, errlen, "key: a type libjwt does not sign with (use RSA, EC or "
			 "a secret)");
	else if (a->type != k->type)
		snprintf(err, errlen, "%s needs %s, the key file holds %s", a->name,
			 mint_type_name(a->type), mint_type_name(k->type));
	else if (a->nid != 0 && a->nid != k->nid)
		snprintf(err, errlen, "%s needs an EC key on %s", a->name,
			 a->nid == NID_X9_62_prime256v1 ? "P-256" :
			 a->nid == NID_secp384r1 ? "P-384" : "P-521");
	else if (a->type == EVP_PKEY_RSA && k->bits < a->min)
		snprintf(err, errlen, "%s needs an RSA key of at least %d bits, not %d", a->name,
			 a->min, k->bits);
	else if (a->type == EVP_PKEY_HMAC && k->len < (size_t)a->min)
		snprintf(err, errlen, "%s needs a secret of at least %d bytes, not %zu", a->name,
			 a->min, k->len);
	else
		return a;
	return NULL;
}

static bool mint_str_ok(const char *s, bool required)
{
	return s == NULL ? !required : s[0] != '\0' && strlen(s) <= MINT_CLAIM_MAX;
}

static int mint_check_request(const struct mint_request *r, char *err, size_t errlen)
{
	const char *bad = NULL;

	if (r->key_path == NULL || r->key_path[0] == '\0')
		bad = "key";
	else if (!mint_str_ok(r->kid, true))
		bad = "kid";
	else if (!mint_str_ok(r->sub, true))
		bad = "sub";
	else if (!mint_str_ok(r->iss, false))
		bad = "iss";
	else if (!mint_str_ok(r->aud, false))
		bad = "aud";
	else if (r->entitlements != NULL && strlen(r->entitlements) > MINT_CLAIM_MAX)
		bad = "entitlements";
	if (bad != NULL) {
		snprintf(err, errlen, "%s: expected 1 to %d bytes", bad, MINT_CLAIM_MAX);
		return -1;
	}
	if (r->ttl_s < -MINT_DURATION_MAX || r->ttl_s > MINT_DURATION_MAX ||
	    r->nbf_offset_s < -MINT_DURATION_MAX || r->nbf_offset_s > MINT_DURATION_MAX ||
	    r->now < 0 || r->now > MINT_NOW_MAX) {
		snprintf(err, errlen, "ttl, nbf offset or now out of range");
		return -1;
	}
	return 0;
}

/* Adds {"entitlements":[...]} from "a,b". An empty csv gives []. */
static int mint_add_entitlements(jwt_t *jwt, const char *csv, char *err, size_t errlen)
{
	json_t *obj = json_object(), *arr = json_array();
	const char *p = csv;
	char *text = NULL;
	int rc = -1;

	if (obj == NULL || arr == NULL || json_object_set(obj, "entitlements", arr) != 0)
		goto nomem;
	while (*csv != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0 || json_array_append_new(arr, json_stringn(p, n)) != 0) {
			snprintf(err, errlen, "entitlements: '%s' has an empty or non-UTF-8 item", csv);
			goto out;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if ((text = json_dumps(obj, JSON_COMPACT)) == NULL)
		goto nomem;
	if (jwt_add_grants_json(jwt, text) != 0) {
		snprintf(err, errlen, "entitlements: libjwt refused them");
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "entitlements: out of memory");
out:
	free(text);
	json_decref(arr);
	json_decref(obj);
	return rc;
}

static int mint_add_time(jwt_t *jwt, const char *claim, long long t, char *err, size_t errlen)
{
	int e;

	if (t < LONG_MIN || t > LONG_MAX) {
		snprintf(err, errlen, "%s: %lld does not fit libjwt's long", claim, t);
		return -1;
	}
	if ((e = jwt_add_grant_int(jwt, claim, (long)t)) != 0) {
		snprintf(err, errlen, "%s: %s", claim, strerror(e));
		return -1;
	}
	return 0;
}

/* String claims are checked for UTF-8 by jansson inside libjwt. */
static int mint_add_claims(jwt_t *jwt, const struct mint_request *r, long long iat,
			   char *err, size_t errlen)
{
	const char *name[] = { "sub", "iss", "aud" };
	const char *value[] = { r->sub, r->iss, r->aud };

	for (size_t i = 0; i < sizeof(name) / sizeof(name[0]); i++) {
		if (value[i] != NULL && jwt_add_grant(jwt, name[i], value[i]) != 0) {
			snprintf(err, errlen, "%s: not valid UTF-8", name[i]);
			return -1;
		}
	}
	if (mint_add_time(jwt, "iat", iat, err, errlen) != 0 ||
	    mint_add_time(jwt, "exp", iat + r->ttl_s, err, errlen) != 0 ||
	    (r->set_nbf && mint_add_time(jwt, "nbf", iat + r->nbf_offset_s, err, errlen) != 0))
		return -1;
	if (r->entitlements != NULL && mint_add_entitlements(jwt, r->entitlements, err, errlen) != 0)
		return -1;
	return 0;
}

int mint_parse_duration(const char *s, long long *out)
{
	static const struct { char unit; long long secs; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	long long v, mul = 0;
	char *end;

	if (s == NULL || !(s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || !(end[-1] >= '0' && end[-1] <= '9'))
		return -1;
	if (*end == '\0')
		mul = 1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && mul == 0; i++)
		if (end[0] == units[i].unit && end[1] == '\0')
			mul = units[i].secs;
	if (mul == 0 || v > MINT_DURATION_MAX / mul || v < -MINT_DURATION_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

/*
 * Without --alg, the JWK published for this kid beside the key (the
 * jwks.json keygen wrote) knows the algorithm its key is pinned to; the
 * key type alone cannot tell RS256 from RS512. Writes it to out, or "".
 */
static void mint_alg_from_jwks(const char *key_path, const char *kid, char *out, size_t outlen)
{
	char path[4096];
	const char *slash = strrchr(key_path, '/');
	json_t *root, *k;
	size_t i;

	out[0] = '\0';
	if (snprintf(path, sizeof(path), "%.*sjwks.json", slash ? (int)(slash - key_path + 1) : 0,
		     key_path) >= (int)sizeof(path))
		return;
	root = json_load_file(path, 0, NULL);
	json_array_foreach(json_object_get(root, "keys"), i, k) {
		const char *kk = json_string_value(json_object_get(k, "kid"));
		const char *alg = json_string_value(json_object_get(k, "alg"));
		if (kk != NULL && alg != NULL && strcmp(kk, kid) == 0) {
			snprintf(out, outlen, "%s", alg);
			break;
		}
	}
	json_decref(root);
}

char *mint_token(const struct mint_request *req, char *err, size_t errlen)
{
	char published[16];
	const struct mint_alg *a;
	struct mint_key key;
	jwt_t *jwt = NULL;
	char *token = NULL;
	long long iat;
	int e;

	memset(&key, 0, sizeof(key));
	if (mint_check_request(req, err, errlen) != 0 ||
	    mint_key_load(req->key_path, &key, err, errlen) != 0)
		goto out;
	if (req->alg == NULL)
		mint_alg_from_jwks(req->key_path, req->kid, published, sizeof(published));
	if ((a = mint_alg_pick(req->alg != NULL ? req->alg : published[0] ? published : NULL,
			       &key, err, errlen)) == NULL)
		goto out;
	iat = req->now != 0 ? req->now : (long long)time(NULL);
	if ((e = jwt_new(&jwt)) != 0 ||
	    (e = jwt_set_alg(jwt, a->alg, key.bytes, (int)key.len)) != 0 ||
	    (e = jwt_add_header(jwt, "kid", req->kid)) != 0) {
		snprintf(err, errlen, "libjwt: cannot set up %s with kid '%s': %s", a->name, req->kid,
			 strerror(e));
		goto out;
	}
	if (mint_add_claims(jwt, req, iat, err, errlen) != 0)
		goto out;
	if ((token = jwt_encode_str(jwt)) == NULL)
		snprintf(err, errlen, "libjwt: cannot sign with %s: %s", a->name, strerror(errno));
out:
	jwt_free(jwt);
	mint_key_free(&key);
	return token;
}

/* The command line, as given; durations are parsed afterwards. */
struct mint_args {
	const char *key, *kid, *sub, *alg, *ent, *ttl, *iss, *aud, *nbf_in, *iat_offset;
};

static const struct {
	const char *flag;
	size_t offset;
} mint_flags[] = {
	{ "--key", offsetof(struct mint_args, key) },
	{ "--kid", offsetof(struct mint_args, kid) },
	{ "--sub", offsetof(struct mint_args, sub) },
	{ "--alg", offsetof(struct mint_args, alg) },
	{ "--entitlements", offsetof(struct mint_args, ent) },
	{ "--ttl", offsetof(struct mint_args, ttl) },
	{ "--iss", offsetof(struct mint_args, iss) },
	{ "--aud", offsetof(struct mint_args, aud) },
	{ "--nbf-in", offsetof(struct mint_args, nbf_in) },
	{ "--iat-offset", offsetof(struct mint_args, iat_offset) },
};

static void mint_usage(FILE *out)
{
	fprintf(out, "usage: paywallctl token mint --key FILE --kid ID --sub USER [--alg ALG]\n"
		"         [--entitlements a,b] [--ttl 1h] [--iss ISS] [--aud AUD]\n"
		"         [--nbf-in 0s] [--iat-offset 0s]\n"
		"  FILE  PEM private key (RSA, EC) or a .key base64url secret (HS*)\n"
		"  ALG   ES256|ES384|ES512|RS256|RS384|RS512|HS256|HS384|HS512; default from the key\n"
		"  durations: [-]N[s|m|h|d]; --iat-offset moves iat (exp and nbf follow),\n"
		"  --nbf-in adds nbf = iat + N; a negative --ttl makes an expired token\n");
}

/* Fills a from argv. 0, 1 when help was printed, -1 on a usage error. */
static int mint_parse_args(int argc, char **argv, struct mint_args *a)
{
	for (int i = 0; i < argc; i++) {
		const char **slot = NULL;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			mint_usage(stdout);
			return 1;
		}
		for (size_t f = 0; f < sizeof(mint_flags) / sizeof(mint_flags[0]); f++)
			if (strcmp(argv[i], mint_flags[f].flag) == 0)
				slot = (const char **)(void *)((char *)a + mint_flags[f].offset);
		if (slot == NULL || *slot != NULL || i + 1 >= argc) {
			fprintf(stderr, "paywallctl token mint: %s argument '%s'\n",
				slot == NULL ? "unexpected" : *slot != NULL ? "repeated" :
				"missing value for", argv[i]);
			return -1;
		}
		*slot = argv[++i];
	}
	if (a->key == NULL || a->kid == NULL || a->sub == NULL) {
		mint_usage(stderr);
		return -1;
	}
	return 0;
}

int mint_main(int argc, char **argv)
{
	struct mint_args a = { 0 };
	struct mint_request req = { 0 };
	long long iat_offset = 0;
	char err[512] = "";
	char *token;
	int rc;

	if ((rc = mint_parse_args(argc, argv, &a)) != 0)
		return rc > 0 ? 0 : 2;
	req.ttl_s = 3600;
	if ((a.ttl != NULL && mint_parse_duration(a.ttl, &req.ttl_s) != 0) ||
	    (a.nbf_in != NULL && mint_parse_duration(a.nbf_in, &req.nbf_offset_s) != 0) ||
	    (a.iat_offset != NULL && mint_parse_duration(a.iat_offset, &iat_offset) != 0)) {
		fprintf(stderr, "paywallctl token mint: durations are [-]N[s|m|h|d], e.g. 30s, 15m, "
			"1h, 2d, -1h\n");
		return 2;
	}
	req.key_path = a.key;
	req.kid = a.kid;
	req.sub = a.sub;
	req.alg = a.alg;
	req.entitlements = a.ent;
	req.iss = a.iss;
	req.aud = a.aud;
	req.set_nbf = a.nbf_in != NULL;
	req.now = (long long)time(NULL) + iat_offset;
	if ((token = mint_token(&req, err, sizeof(err))) == NULL) {
		fprintf(stderr, "paywallctl token mint: %s\n", err);
		return 1;
	}
	rc = printf("%s\n", token) < 0 || fflush(stdout) != 0 ? 1 : 0;
	free(token);
	return rc;
}
