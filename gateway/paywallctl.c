/* paywallctl: the operator CLI. Subcommands share the gateway's modules. */
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

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

static const struct command commands[] = {
	{ "check", "validate a configuration: paywallctl check -c CONFIG", ctl_check },
};

static void ctl_usage(FILE *out)
{
	fprintf(out, "usage: paywallctl COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
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
