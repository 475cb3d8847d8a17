/* keygen: `paywallctl keys generate`, a new signing key and its JWKS entry. */
#include "keygen.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64.h"

enum keygen_kty { KEYGEN_RSA, KEYGEN_EC, KEYGEN_OCT };

struct keygen_alg {
	const char *name;
	enum keygen_kty kty;
	const char *crv;	/* EC: the JWK curve, also a group name OpenSSL knows */
	size_t size;		/* RSA: modulus bits; EC: coordinate bytes; oct: secret bytes */
};

static const struct keygen_alg keygen_algs[] = {
	{ "ES256", KEYGEN_EC, "P-256", 32 },
	{ "ES384", KEYGEN_EC, "P-384", 48 },
	{ "ES512", KEYGEN_EC, "P-521", 66 },
	{ "RS256", KEYGEN_RSA, NULL, 2048 },
	{ "RS384", KEYGEN_RSA, NULL, 2048 },
	{ "RS512", KEYGEN_RSA, NULL, 2048 },
	{ "HS256", KEYGEN_OCT, NULL, 32 },
	{ "HS384", KEYGEN_OCT, NULL, 48 },
	{ "HS512", KEYGEN_OCT, NULL, 64 },
};

#define KEYGEN_ALGS "ES256|ES384|ES512|RS256|RS384|RS512|HS256|HS384|HS512"
#define KEYGEN_SECRET_MAX 64
/* An RSA modulus of up to 4096 bits fits; keygen makes 2048. */
#define KEYGEN_BN_MAX 512
#define KEYGEN_PEM_MODE 0600
#define KEYGEN_JWKS_MODE 0644

/* A new key: pkey for RSA and EC, secret for oct. private_text is what goes
 * into the private key file. keygen_key_free wipes all of it. */
struct keygen_key {
	EVP_PKEY *pkey;
	unsigned char secret[KEYGEN_SECRET_MAX];
	size_t secret_len;
	char *private_text;
	size_t private_len;
};

static const struct keygen_alg *keygen_find_alg(const char *name)
{
	for (size_t i = 0; name != NULL && i < sizeof(keygen_algs) / sizeof(keygen_algs[0]); i++)
		if (strcmp(name, keygen_algs[i].name) == 0)
			return &keygen_algs[i];
	return NULL;
}

static void keygen_wipe_free(char *s, size_t len)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, len);
	free(s);
}

static void keygen_key_free(struct keygen_key *k)
{
	EVP_PKEY_free(k->pkey);
	keygen_wipe_free(k->private_text, k->private_len);
	OPENSSL_cleanse(k, sizeof(*k));
}

/* Base64url without padding (RFC 7515 section 2). Returns a malloc'd
 * string or NULL; the caller wipes it when the input was secret. */
static char *keygen_b64url(const unsigned char *in, size_t len)
{
	char *out;

	if (len > KEYGEN_JWKS_MAX || (out = malloc(B64_ENCODED_SIZE(len))) == NULL)
		return NULL;
	if (b64url_encode(in, len, out, B64_ENCODED_SIZE(len)) < 0) {
		free(out);
		return NULL;
	}
	return out;
}

static int keygen_set_b64url(json_t *obj, const char *name, const unsigned char *p, size_t len)
{
	char *s = keygen_b64url(p, len);
	int rc;

	if (s == NULL)
		return -1;
	rc = json_object_set_new(obj, name, json_string(s)) == 0 ? 0 : -1;
	keygen_wipe_free(s, strlen(s));
	return rc;
}

/* Sets obj[name] to the base64url big-endian bytes of a key parameter,
 * left-padded with zeros to pad bytes (0: no padding). */
static int keygen_set_bn(json_t *obj, const char *name, const EVP_PKEY *pkey,
			 const char *param, size_t pad)
{
	unsigned char buf[KEYGEN_BN_MAX];
	BIGNUM *bn = NULL;
	int n, rc = -1;

	if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
		goto out;
	if (pad > sizeof(buf) || (size_t)BN_num_bytes(bn) > sizeof(buf))
		goto out;
	n = pad > 0 ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
	if (n <= 0)
		goto out;
	rc = keygen_set_b64url(obj, name, buf, (size_t)n);
out:
	BN_free(bn);
	return rc;
}

/* Builds the public JWK of k. Returns a new reference, or NULL. */
static json_t *keygen_jwk_new(const struct keygen_alg *a, const char *kid,
			      const struct keygen_key *k)
{
	static const char *const kty[] = { "RSA", "EC", "oct" };
	json_t *jwk = json_object();
	int bad;

	if (jwk == NULL)
		return NULL;
	bad = json_object_set_new(jwk, "kty", json_string(kty[a->kty])) ||
	      json_object_set_new(jwk, "kid", json_string(kid)) ||
	      json_object_set_new(jwk, "use", json_string("sig")) ||
	      json_object_set_new(jwk, "alg", json_string(a->name));
	switch (a->kty) {
	case KEYGEN_RSA:
		bad = bad || keygen_set_bn(jwk, "n", k->pkey, OSSL_PKEY_PARAM_RSA_N, 0) ||
		      keygen_set_bn(jwk, "e", k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
		break;
	case KEYGEN_EC:
		bad = bad || json_object_set_new(jwk, "crv", json_string(a->crv)) ||
		      keygen_set_bn(jwk, "x", k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, a->size) ||
		      keygen_set_bn(jwk, "y", k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, a->size);
		break;
	case KEYGEN_OCT:
		bad = bad || keygen_set_b64url(jwk, "k", k->secret, k->secret_len);
		break;
	}
	if (bad) {
		json_decref(jwk);
		return NULL;
	}
	return jwk;
}

/* PKCS#8 PEM of pkey into k->private_text. The BIO is secure memory,
 * cleared when freed. */
static int keygen_pem(struct keygen_key *k)
{
	BIO *b = BIO_new(BIO_s_secmem());
	char *p;
	long n;
	int rc = -1;

	if (b == NULL)
		return -1;
	if (PEM_write_bio_PKCS8PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		goto out;
	n = BIO_get_mem_data(b, &p);
	if (n <= 0 || (k->private_text = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(k->private_text, p, (size_t)n);
	k->private_len = (size_t)n;
	rc = 0;
out:
	BIO_free(b);
	return rc;
}

/* The secret's base64url text and a newline into k->private_text. */
static int keygen_secret_text(struct keygen_key *k)
{
	char *s = keygen_b64url(k->secret, k->secret_len);
	size_t n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	k->private_text = malloc(n + 1);
	if (k->private_text != NULL) {
		memcpy(k->private_text, s, n);
		k->private_text[n] = '\n';
		k->private_len = n + 1;
	}
	keygen_wipe_free(s, n);
	return k->private_text != NULL ? 0 : -1;
}

static int keygen_key_make(const struct keygen_alg *a, struct keygen_key *k,
			   char *err, size_t errlen)
{
	int rc = -1;

	switch (a->kty) {
	case KEYGEN_RSA:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", a->size);
		rc = k->pkey != NULL ? keygen_pem(k) : -1;
		break;
	case KEYGEN_EC:
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", a->crv);
		rc = k->pkey != NULL ? keygen_pem(k) : -1;
		break;
	case KEYGEN_OCT:
		if (RAND_priv_bytes(k->secret, (int)a->size) != 1)
			break;
		k->secret_len = a->size;
		rc = keygen_secret_text(k);
		break;
	}
	if (rc != 0)
		snprintf(err, errlen, "%s key generation failed (OpenSSL)", a->name);
	return rc;
}

static int keygen_write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Creates path (which must not exist) with exactly mode, writes len bytes
 * and syncs. On failure nothing is left at path. */
static int keygen_write_new(const char *path, const char *data, size_t len, mode_t mode,
			    char *err, size_t errlen)
{
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path,
			 errno == EEXIST ? "already exists, not overwritten" : strerror(errno));
		return -1;
	}
	/* fchmod, not the umask, decides: 0600 must not become 0644 or 0400. */
	if (fchmod(fd, mode) != 0 || keygen_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		e = errno;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e));
	if (unlink(path) != 0)
		snprintf(err, errlen, "%s: cannot write (%s), and cannot remove it", path,
			 strerror(e));
	return -1;
}

/* Reads at most KEYGEN_JWKS_MAX bytes of fd into a malloc'd, NUL-ended
 * buffer. 0, or -1 with errno set (EFBIG when the file is larger). */
static int keygen_read_all(int fd, char **out, size_t *outlen)
{
	char *buf = malloc(KEYGEN_JWKS_MAX + 1);
	size_t len = 0;
	ssize_t r;

	if (buf == NULL)
		return -1;
	do {
		r = read(fd, buf + len, KEYGEN_JWKS_MAX + 1 - len);
		if (r > 0)
			len += (size_t)r;
	} while ((r > 0 && len <= KEYGEN_JWKS_MAX) || (r < 0 && errno == EINTR));
	if (r < 0 || len > KEYGEN_JWKS_MAX) {
		if (len > KEYGEN_JWKS_MAX)
			errno = EFBIG;
		keygen_wipe_free(buf, KEYGEN_JWKS_MAX + 1);
		return -1;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* The "keys" array of a {"keys":[{...}, ...]} document, or NULL. */
static json_t *keygen_jwks_keys(const json_t *doc)
{
	json_t *keys = json_object_get(doc, "keys"), *k;
	size_t i;

	if (!json_is_array(keys))
		return NULL;
	json_array_foreach(keys, i, k)
		if (!json_is_object(k))
			return NULL;
	return keys;
}

/* Frees a JWKS document after wiping the secret of every "oct" key, which
 * jansson would free without clearing. NULL-safe. */
static void keygen_jwks_free(json_t *doc)
{
	json_t *keys = json_object_get(doc, "keys"), *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		json_t *v = json_object_get(k, "k");
		if (json_is_string(v))
			OPENSSL_cleanse((char *)json_string_value(v), json_string_length(v));
	}
	json_decref(doc);
}

static bool keygen_jwks_has(const json_t *keys, const char *member, const char *value)
{
	json_t *k;
	size_t i;

	json_array_foreach(keys, i, k) {
		const char *v = json_string_value(json_object_get(k, member));
		if (v != NULL && strcmp(v, value) == 0)
			return true;
	}
	return false;
}

/* Loads path into *out, or a new {"keys":[]} when it does not exist;
 * *mode gets the file's permission bits (KEYGEN_JWKS_MODE when new). */
static int keygen_jwks_load(const char *path, json_t **out, mode_t *mode,
			    char *err, size_t errlen)
{
	json_error_t je;
	struct stat st;
	json_t *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		if ((*out = json_pack("{s:[]}", "keys")) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			return -1;
		}
		*mode = KEYGEN_JWKS_MODE;
		return 0;
	}
	if (fd < 0) {
		/* rename(2) would replace a symlink, not the file it points to. */
		snprintf(err, errlen, "%s: %s", path, errno == ELOOP ?
			 "is a symbolic link; keygen replaces it, so it must be a regular file" :
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (keygen_read_all(fd, &text, &len) != 0) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %d bytes", path, KEYGEN_JWKS_MAX);
		else
			snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		goto out;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
		goto out;
	}
	if (keygen_jwks_keys(doc) == NULL) {
		snprintf(err, errlen, "%s: not a JWKS document ({\"keys\":[{...}, ...]})", path);
		goto out;
	}
	*out = doc;
	doc = NULL;
	*mode = st.st_mode & 0777;
	rc = 0;
out:
	keygen_jwks_free(doc);
	keygen_wipe_free(text, len);
	close(fd);
	return rc;
}

/* Makes a rename durable. Best effort: the new jwks.json is already in
 * place, so a failure here cannot be undone and is not reported. */
static void keygen_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Writes doc to path.tmp.PID with mode, then renames it over path. */
static int keygen_jwks_store(const char *dir, const char *path, const json_t *doc, mode_t mode,
			     char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	char *text, *line = NULL;
	size_t len = 0;
	int n, rc = -1;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((text = json_dumps(doc, JSON_INDENT(2))) == NULL)
		goto nomem;
	len = strlen(text);
	if ((line = malloc(len + 1)) == NULL)
		goto nomem;
	memcpy(line, text, len);
	line[len] = '\n';
	if (keygen_write_new(tmp, line, len + 1, mode, err, errlen) != 0)
		goto out;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: cannot replace: %s", path, strerror(errno));
		if (unlink(tmp) != 0)
			snprintf(err, errlen, "%s: cannot replace it, nor remove %s", path, tmp);
		goto out;
	}
	keygen_sync_dir(dir);
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "%s: out of memory", path);
out:
	keygen_wipe_free(line, len + 1);
	keygen_wipe_free(text, len);
	return rc;
}

/* DIR/KID.pem (or .key) and DIR/jwks.json, with DIR's trailing '/' dropped. */
static int keygen_paths(const char *dir, const char *kid, const struct keygen_alg *a,
			struct keygen_result *r, char *err, size_t errlen)
{
	const char *ext = a->kty == KEYGEN_OCT ? ".key" : ".pem";
	size_t dl = strlen(dir);
	int n1, n2;

	if (dl == 0 || dl >= PATH_MAX) {
		snprintf(err, errlen, "--dir: expected a directory");
		return -1;
	}
	while (dl > 0 && dir[dl - 1] == '/')
		dl--;
	n1 = snprintf(r->key_path, sizeof(r->key_path), "%.*s/%s%s", (int)dl, dir, kid, ext);
	n2 = snprintf(r->jwks_path, sizeof(r->jwks_path), "%.*s/jwks.json", (int)dl, dir);
	if (n1 < 0 || (size_t)n1 >= sizeof(r->key_path) ||
	    n2 < 0 || (size_t)n2 >= sizeof(r->jwks_path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

bool keygen_kid_valid(const char *kid)
{
	size_t n;

	if (kid == NULL || kid[0] == '.')
		return false;
	for (n = 0; kid[n] != '\0'; n++) {
		char c = kid[n];
		if (n >= KEYGEN_KID_MAX)
			return false;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return n > 0;
}

/* The private key file is created (O_EXCL) before jwks.json is replaced,
 * and removed again when that fails, so either both are written or neither. */
int keygen_generate(const char *alg, const char *kid, const char *dir,
		    struct keygen_result *res, char *err, size_t errlen)
{
	const struct keygen_alg *a = keygen_find_alg(alg);
	struct keygen_key key;
	struct keygen_result r;
	json_t *jwks = NULL, *keys, *jwk;
	bool key_written = false;
	mode_t mode;
	int rc = -1;

	memset(&key, 0, sizeof(key));
	memset(&r, 0, sizeof(r));
	if (a == NULL) {
		snprintf(err, errlen, "--alg: expected one of " KEYGEN_ALGS ", got '%s'",
			 alg != NULL ? alg : "");
		return -1;
	}
	if (!keygen_kid_valid(kid)) {
		snprintf(err, errlen, "--kid: expected 1 to %d characters of [A-Za-z0-9._-], "
			 "not starting with '.'", KEYGEN_KID_MAX);
		return -1;
	}
	if (dir == NULL || keygen_paths(dir, kid, a, &r, err, errlen) != 0)
		return -1;
	if (keygen_jwks_load(r.jwks_path, &jwks, &mode, err, errlen) != 0)
		goto out;
	keys = keygen_jwks_keys(jwks);
	if (keygen_jwks_has(keys, "kid", kid)) {
		snprintf(err, errlen, "%s: kid '%s' is already there", r.jwks_path, kid);
		goto out;
	}
	if (keygen_key_make(a, &key, err, errlen) != 0)
		goto out;
	if ((jwk = keygen_jwk_new(a, kid, &key)) == NULL || json_array_append_new(keys, jwk) != 0) {
		snprintf(err, errlen, "%s: cannot build the JWK", r.jwks_path);
		goto out;
	}
	r.jwks_has_secret = keygen_jwks_has(keys, "kty", "oct");
	if (keygen_write_new(r.key_path, key.private_text, key.private_len, KEYGEN_PEM_MODE,
			     err, errlen) != 0)
		goto out;
	key_written = true;
	if (keygen_jwks_store(dir, r.jwks_path, jwks, r.jwks_has_secret ? 0600 : mode,
			      err, errlen) != 0)
		goto out;
	*res = r;
	rc = 0;
out:
	if (rc != 0 && key_written && unlink(r.key_path) != 0)
		snprintf(err, errlen, "%s: written, but jwks.json was not and the key file "
			 "cannot be removed: %s", r.key_path, strerror(errno));
	keygen_key_free(&key);
	keygen_jwks_free(jwks);
	return rc;
}

static void keygen_usage(FILE *out)
{
	fprintf(out, "usage: paywallctl keys generate --alg ALG --kid ID --dir DIR\n"
		"  ALG  " KEYGEN_ALGS "\n"
		"  ID   1 to %d characters of [A-Za-z0-9._-]; names DIR/ID.pem (DIR/ID.key for HS*)\n"
		"  DIR  where the private key is written and jwks.json is created or extended\n",
		KEYGEN_KID_MAX);
}

int keygen_main(int argc, char **argv)
{
	const char *alg = NULL, *kid = NULL, *dir = NULL;
	struct keygen_result res;
	char err[PATH_MAX + 256];

	if (argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
		keygen_usage(stdout);
		return 0;
	}
	if (argc < 1 || strcmp(argv[0], "generate") != 0) {
		if (argc < 1)
			fprintf(stderr, "paywallctl keys: expected a subcommand\n");
		else
			fprintf(stderr, "paywallctl keys: unknown subcommand '%s'\n", argv[0]);
		keygen_usage(stderr);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		const char **slot = strcmp(argv[i], "--alg") == 0 ? &alg :
				    strcmp(argv[i], "--kid") == 0 ? &kid :
				    strcmp(argv[i], "--dir") == 0 ? &dir : NULL;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			keygen_usage(stdout);
			return 0;
		}
		if (slot == NULL || *slot != NULL || i + 1 >= argc) {
			fprintf(stderr, "paywallctl keys generate: %s argument '%s'\n",
				slot == NULL ? "unexpected" : *slot != NULL ? "repeated" :
				"missing value for", argv[i]);
			return 2;
		}
		*slot = argv[++i];
	}
	if (alg == NULL || kid == NULL || dir == NULL) {
		keygen_usage(stderr);
		return 2;
	}
	if (keygen_generate(alg, kid, dir, &res, err, sizeof(err)) != 0) {
		fprintf(stderr, "paywallctl keys generate: %s\n", err);
		return 1;
	}
	if (res.jwks_has_secret)
		fprintf(stderr, "paywallctl keys generate: warning: %s now holds a secret (an HMAC "
			"\"oct\" key): protect it like a private key; it is mode 0600 and must "
			"never be published\n", res.jwks_path);
	if (printf("wrote %s (private, 0600) and added %s to %s\n", res.key_path, kid,
		   res.jwks_path) < 0 || fflush(stdout) != 0)
		return 1;
	return 0;
}
