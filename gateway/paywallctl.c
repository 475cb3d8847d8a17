/* paywallctl: the operator CLI. Subcommands share the gateway's modules. */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "b64.h"
#include "config.h"
#include "explain.h"
#include "jwks.h"
#include "keygen.h"
#include "mint.h"
#include "token.h"

struct command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int ctl_check(int argc, char **argv)
{
	struct cfg_errors errs;
	struct config *cfg = NULL;
	const char *path = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else {
			fprintf(stderr, "paywallctl check: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: paywallctl check -c CONFIG\n");
		return 2;
	}
	cfg_errors_init(&errs);
	rc = config_load(path, &cfg, &errs);
	if (rc != 0) {
		cfg_errors_print(&errs, stdout);
	} else {
		printf("%s: ok\n", path);
		config_free(cfg);
	}
	cfg_errors_free(&errs);
	return rc == 0 ? 0 : 1;
}

/* What an operator should do about each refusal. */
static const char *ctl_token_advice(enum token_reject r)
{
	switch (r) {
	case TOKEN_TOO_LONG: return "longer than 8192 bytes";
	case TOKEN_MALFORMED: return "not three strict base64url parts (header.payload.signature)";
	case TOKEN_BAD_JSON: return "header or payload is not a JSON object of the right types";
	case TOKEN_DUPLICATE_NAME: return "a name appears twice in the header or payload";
	case TOKEN_ALG_NONE: return "unsigned token (alg none) is never accepted";
	case TOKEN_ALG_UNSUPPORTED: return "alg is not one of HS/RS/ES/PS256-512 or EdDSA (exact case)";
	case TOKEN_CRIT: return "the header names critical extensions (crit)";
	case TOKEN_UNKNOWN_KID: return "no key in the JWKS has this kid (rotated or wrong issuer?)";
	case TOKEN_NO_KEY: return "no key is pinned to this alg (with this kid, or uniquely)";
	case TOKEN_BAD_SIGNATURE: return "the signature does not verify with the selected key";
	case TOKEN_NO_EXP: return "exp claim is required";
	case TOKEN_EXPIRED: return "exp is past (beyond leeway_s)";
	case TOKEN_NOT_YET_VALID: return "nbf is in the future (beyond leeway_s)";
	case TOKEN_ISSUED_IN_FUTURE: return "iat is in the future (beyond leeway_s)";
	case TOKEN_WRONG_ISSUER: return "iss is not one of identity.issuer";
	case TOKEN_WRONG_AUDIENCE: return "aud does not contain identity.audience";
	case TOKEN_NO_SUBJECT: return "sub claim is required";
	case TOKEN_BAD_CLAIM: return "a claim has the wrong type or form (sub, entitlements, times)";
	default: return "";
	}
}

/* Prints a part as indented JSON, decoded but NOT trusted. */
static void ctl_print_part(const char *label, const char *b64, size_t len)
{
	unsigned char *buf = malloc(B64_DECODED_MAX(len) + 1);
	long n = buf ? b64url_decode(b64, len, buf, B64_DECODED_MAX(len)) : -1;
	json_t *j = n >= 0 ? json_loadb((const char *)buf, (size_t)n, 0, NULL) : NULL;
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	printf("%s: %s\n", label, text ? text : "(not base64url JSON)");
	free(text);
	json_decref(j);
	free(buf);
}

static void ctl_print_unverified(const char *tok)
{
	const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;

	if (d1 == NULL || d2 == NULL) {
		printf("token: not three parts\n");
		return;
	}
	ctl_print_part("header (unverified)", tok, (size_t)(d1 - tok));
	ctl_print_part("claims (unverified)", d1 + 1, (size_t)(d2 - d1 - 1));
}

/* The keys the gateway would use: jwks_file, plus jwks_url fetched now. */
static struct keyset *ctl_keys(const struct identity_config *ic)
{
	struct keyset *url = NULL, *all;
	char err[512];

	if (ic->jwks_url != NULL && jwks_fetch(ic->jwks_url, 5000, &url, NULL, err, sizeof(err)) != 0)
		fprintf(stderr, "paywallctl: jwks_url %s: %s (checking with jwks_file only)\n",
			ic->jwks_url, err);
	all = url ? keyset_merge(ic->file_keys, url) : keyset_ref(ic->file_keys);
	keyset_unref(url);
	return all;
}

static int ctl_token_inspect(int argc, char **argv)
{
	const char *path = NULL, *tok = NULL;
	struct cfg_errors errs;
	struct config *cfg = NULL;
	struct token_claims claims;
	bool kid_unknown;
	int rc = 2;

	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			path = argv[++i];
		else if (tok == NULL)
			tok = argv[i];
	}
	if (path == NULL || tok == NULL) {
		fprintf(stderr, "usage: paywallctl token inspect -c CONFIG TOKEN\n");
		return 2;
	}
	cfg_errors_init(&errs);
	if (config_load(path, &cfg, &errs) != 0) {
		cfg_errors_print(&errs, stderr);
		cfg_errors_free(&errs);
		return 2;
	}
	cfg_errors_free(&errs);
	if (!cfg->identity.enabled) {
		fprintf(stderr, "paywallctl: %s has no identity section\n", path);
		goto out;
	}
	ctl_print_unverified(tok);
	const struct identity_config *ic = &cfg->identity;
	struct token_policy pol = { &ic->issuers, ic->audience, ic->leeway_s,
				    ic->entitlements_claim };
	struct keyset *keys = ctl_keys(ic);
	enum token_reject r = token_verify(tok, strlen(tok), keys, &pol, (long long)time(NULL),
					   TOKEN_VERIFY_EVP, &claims, &kid_unknown);
	keyset_unref(keys);
	if (r == TOKEN_OK) {
		printf("verdict: accepted (sub %s, %zu entitlements, expires in %lld s)\n",
		       claims.sub, claims.n_ent, claims.exp - (long long)time(NULL));
		rc = 0;
	} else {
		printf("verdict: rejected: %s: %s\n", token_reject_name(r), ctl_token_advice(r));
		rc = 1;
	}
out:
	config_free(cfg);
	return rc;
}

static int ctl_token(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "mint") == 0)
		return mint_main(argc - 1, argv + 1);
	if (argc >= 1 && strcmp(argv[0], "inspect") == 0)
		return ctl_token_inspect(argc - 1, argv + 1);
	fprintf(stderr, "usage: paywallctl token mint ... | paywallctl token inspect -c CONFIG TOKEN\n");
	return 2;
}

static int ctl_keys_cmd(int argc, char **argv)
{
	return keygen_main(argc, argv);
}

static const struct command commands[] = {
	{ "check", "validate a configuration: paywallctl check -c CONFIG", ctl_check },
	{ "keys", "keys generate --alg ALG --kid ID --dir DIR", ctl_keys_cmd },
	{ "token", "token mint --key PEM --kid ID --sub USER [...] | token inspect -c CONFIG TOKEN",
	  ctl_token },
	{ "explain", "explain -c CONFIG --path PATH [--token T] [--ip A] [--ua UA] [--at T] "
	  "[--reads N]", explain_main },
	{ "meter", "meter show|reset -c CONFIG (--user SUB | --visitor COOKIE)",
	  explain_meter_main },
	{ "audit", "audit verify --key KEY FILE... | summary FILE... [--by B] [--json] | "
	  "grep FILE... [filters]", audit_main },
};

static void ctl_usage(FILE *out)
{
	fprintf(out, "usage: paywallctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-7s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		ctl_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			rc = commands[i].run(argc - 2, argv + 2);
			curl_global_cleanup();
			return rc;
		}
	}
	fprintf(stderr, "paywallctl: unknown command '%s'\n", argv[1]);
	ctl_usage(stderr);
	curl_global_cleanup();
	return rc;
}
