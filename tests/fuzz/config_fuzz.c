/*
 * config_fuzz: the YAML configuration loader (config_load_buffer, and through
 * it libyaml, cfg_parse_map and every field kind of config.c).
 *
 * Checked besides "no crash, no leak":
 *  - the result is either 0 with a config and no error, or -1 with no
 *    config and at least one error (counted or dropped);
 *  - every error reads "fuzz.yaml:LINE:COL: message" with LINE and COL
 *    positive decimal numbers, as cfg.h promises;
 *  - an accepted config holds a listen address and an upstream URL.
 */
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "config.h"

#define FUZZ_NAME "config_fuzz"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PREFIX "fuzz.yaml:"

/* Skips a positive decimal number; NULL when there is none. */
static const char *skip_number(const char *p)
{
	const char *start = p;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == start || *start == '0')
		return NULL;
	return p;
}

static bool error_is_well_formed(const char *m)
{
	const char *p;

	if (m == NULL || strncmp(m, PREFIX, strlen(PREFIX)) != 0)
		return false;
	p = skip_number(m + strlen(PREFIX));
	if (p == NULL || *p != ':')
		return false;
	p = skip_number(p + 1);
	return p != NULL && p[0] == ':' && p[1] == ' ';
}

/* Fails with the first error as detail, after printing all of them. */
static void fail_errs(const char *what, const struct cfg_errors *errs)
{
	cfg_errors_print(errs, stderr);
	fail(what, errs->n > 0 ? errs->msg[0] : "(no error)");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* curl_url (upstream.url validation) wants the library initialised. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct cfg_errors errs;
	int rc;

	if (size > CONFIG_FILE_MAX)
		return 0;
	cfg_errors_init(&errs);
	rc = config_load_buffer("fuzz.yaml", "/nonexistent", (const char *)data, size, &cfg,
				&errs);
	if (rc == 0) {
		if (cfg == NULL)
			fail_errs("returned 0 without a config", &errs);
		if (errs.n != 0 || errs.dropped != 0)
			fail_errs("returned 0 with errors", &errs);
		if (cfg->server.listen == NULL || cfg->upstream.url == NULL)
			fail_errs("accepted config without listen or upstream.url", &errs);
	} else if (rc == -1) {
		if (cfg != NULL)
			fail_errs("returned -1 but set the config", &errs);
		if (errs.n == 0 && errs.dropped == 0)
			fail_errs("returned -1 without an error", &errs);
	} else {
		fail_errs("returned neither 0 nor -1", &errs);
	}
	if (errs.n > CFG_ERRORS_MAX)
		fail_errs("more errors than CFG_ERRORS_MAX", &errs);
	for (size_t i = 0; i < errs.n; i++)
		if (!error_is_well_formed(errs.msg[i]))
			fail_errs("error not in FILE:LINE:COL: form", &errs);
	config_free(cfg);
	cfg_errors_free(&errs);
	return 0;
}
