/* cfg: table-driven parsing of YAML config maps with file:line:col errors. */
#ifndef PAYWALLD_CFG_H
#define PAYWALLD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#include "netaddr.h"

#define CFG_ERRORS_MAX 64

/* Collected errors, each "FILE:LINE:COL: message" (1-based). Owns them. */
struct cfg_errors {
	char *msg[CFG_ERRORS_MAX];
	size_t n;
	size_t dropped;		/* errors past CFG_ERRORS_MAX, counted only */
};

void cfg_errors_init(struct cfg_errors *e);
void cfg_errors_free(struct cfg_errors *e);
/* Prints one error per line, then "N more errors" when some were dropped. */
void cfg_errors_print(const struct cfg_errors *e, FILE *out);

/* Parse state shared by the section parsers. Borrowed pointers only. */
struct cfg_ctx {
	const char *file;	/* name used in messages */
	const char *dir;	/* relative paths resolve against it */
	yaml_document_t *doc;
	struct cfg_errors *errs;
};

/* Records an error at the node's position (or 1:1 when node is NULL). */
void cfg_error(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Lists stored by the CFG_STRS and CFG_CIDRS kinds. */
struct cfg_strs {
	char **v;
	size_t n;
};

struct cfg_cidrs {
	struct netaddr_cidr *v;
	size_t n;
};

/* A secret read from a key file; bytes are wiped on free. */
struct cfg_secret {
	char *path;
	unsigned char *bytes;
	size_t len;
};

#define CFG_SECRET_MIN 32
#define CFG_SECRET_MAX 4096

enum cfg_kind {
	CFG_STR,	/* char *, non-empty */
	CFG_INT,	/* long long in [min, max] */
	CFG_BOOL,	/* bool: true | false */
	CFG_LISTEN,	/* char *, "HOST:PORT" with a literal address */
	CFG_URL,	/* char *, absolute http:// or https:// URL */
	CFG_PATH,	/* char *, resolved against the config's directory */
	CFG_STRS,	/* struct cfg_strs: a sequence of non-empty strings */
	CFG_CIDRS,	/* struct cfg_cidrs: a sequence of addresses or ranges */
	CFG_SECRET,	/* struct cfg_secret: a key file path, read and checked */
	CFG_CUSTOM,	/* parsed and freed by the field's own functions */
};

struct cfg_field {
	const char *key;
	enum cfg_kind kind;
	size_t offset;		/* of the value inside the section struct */
	bool required;
	long long min, max;	/* CFG_INT bounds */
	/* CFG_CUSTOM: returns 0 / -1 (after cfg_error). */
	int (*parse)(struct cfg_ctx *c, yaml_node_t *node, void *value);
	void (*free)(void *value);
};

/*
 * Parses a mapping node against a field table, writing into obj. Fields
 * absent from the map keep the values obj already holds (the defaults).
 * Unknown keys, duplicate keys, wrong types and missing required keys are
 * errors; parsing goes on after an error so all of them are reported.
 * Returns 0 when no error was found in this map, -1 otherwise.
 */
int cfg_parse_map(struct cfg_ctx *c, yaml_node_t *map, const struct cfg_field *fields,
		  size_t nfields, void *obj);
/* Parses one value node as field f describes, into obj (at f->offset):
 * for custom parsers that accept several shapes. 0 / -1. */
int cfg_parse_value(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f, void *obj);
/* Frees what cfg_parse_map (or the defaults) stored in obj. */
void cfg_free_fields(const struct cfg_field *fields, size_t nfields, void *obj);

/* The scalar text of a node, or NULL when it is not a scalar. */
const char *cfg_scalar(const yaml_node_t *n);
/* Resolves p against dir unless absolute. Returns a malloc'd string or NULL. */
char *cfg_resolve_path(const char *dir, const char *p);
/* Reads a key file into s (see CFG_SECRET). 0, or -1 with a message in err. */
int cfg_secret_load(const char *path, struct cfg_secret *s, char *err, size_t errlen);
void cfg_secret_free(struct cfg_secret *s);
void cfg_strs_free(struct cfg_strs *s);

#endif
