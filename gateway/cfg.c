/* cfg: table-driven parsing of YAML config maps with file:line:col errors. */
#include "cfg.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cfg_errors_init(struct cfg_errors *e)
{
	memset(e, 0, sizeof(*e));
}

void cfg_errors_free(struct cfg_errors *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	memset(e, 0, sizeof(*e));
}

void cfg_errors_print(const struct cfg_errors *e, FILE *out)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(out, "%s\n", e->msg[i]);
	if (e->dropped > 0)
		fprintf(out, "%zu more errors\n", e->dropped);
}

void cfg_error(struct cfg_ctx *c, const yaml_node_t *at, const char *fmt, ...)
{
	char text[512], line[1024];
	unsigned long ln = 1, col = 1;
	va_list ap;

	if (c->errs->n >= CFG_ERRORS_MAX) {
		c->errs->dropped++;
		return;
	}
	if (at != NULL) {
		ln = (unsigned long)at->start_mark.line + 1;
		col = (unsigned long)at->start_mark.column + 1;
	}
	va_start(ap, fmt);
	if (vsnprintf(text, sizeof(text), fmt, ap) < 0)
		text[0] = '\0';
	va_end(ap);
	if (snprintf(line, sizeof(line), "%s:%lu:%lu: %s", c->file, ln, col, text) < 0)
		return;
	char *m = strdup(line);
	if (m == NULL) {
		c->errs->dropped++;
		return;
	}
	c->errs->msg[c->errs->n++] = m;
}

const char *cfg_scalar(const yaml_node_t *n)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

/* True for a scalar written without quotes: numbers and booleans. */
static bool cfg_is_plain(const yaml_node_t *n)
{
	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

char *cfg_resolve_path(const char *dir, const char *p)
{
	size_t dl, pl;
	char *out;

	if (p[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(p);
	dl = strlen(dir);
	pl = strlen(p);
	out = malloc(dl + pl + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, dir, dl);
	out[dl] = '/';
	memcpy(out + dl + 1, p, pl + 1);
	return out;
}

void cfg_strs_free(struct cfg_strs *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

void cfg_secret_free(struct cfg_secret *s)
{
	if (s == NULL)
		return;
	if (s->bytes != NULL) {
		OPENSSL_cleanse(s->bytes, s->len);
		free(s->bytes);
	}
	free(s->path);
	memset(s, 0, sizeof(*s));
}

int cfg_secret_load(const char *path, struct cfg_secret *s, char *err, size_t errlen)
{
	unsigned char tmp[CFG_SECRET_MAX + 2];
	size_t len = 0;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open key file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key file %s: not a regular file", path);
		goto out;
	}
	while (len < sizeof(tmp) && (r = read(fd, tmp + len, sizeof(tmp) - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read key file %s: %s", path, strerror(errno));
			goto out;
		}
		len += (size_t)r;
	}
	/* One trailing newline is an editor's, not part of the secret. */
	if (len > 0 && tmp[len - 1] == '\n')
		len--;
	if (len > CFG_SECRET_MAX) {
		snprintf(err, errlen, "key file %s: longer than %d bytes", path, CFG_SECRET_MAX);
		goto out;
	}
	if (len < CFG_SECRET_MIN) {
		snprintf(err, errlen, "key file %s: %zu bytes of secret, at least %d needed",
			 path, len, CFG_SECRET_MIN);
		goto out;
	}
	s->bytes = malloc(len);
	s->path = strdup(path);
	if (s->bytes == NULL || s->path == NULL) {
		snprintf(err, errlen, "key file %s: out of memory", path);
		cfg_secret_free(s);
		goto out;
	}
	memcpy(s->bytes, tmp, len);
	s->len = len;
	rc = 0;
out:
	OPENSSL_cleanse(tmp, sizeof(tmp));
	close(fd);
	return rc;
}

static int cfg_parse_int(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			 long long *out)
{
	const char *s = cfg_scalar(n);
	char *end;
	long long v;

	if (s == NULL || !cfg_is_plain(n) || *s == '\0') {
		cfg_error(c, n, "%s: expected an integer", f->key);
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		cfg_error(c, n, "%s: expected an integer, got '%s'", f->key, s);
		return -1;
	}
	if (v < f->min || v > f->max) {
		cfg_error(c, n, "%s: %lld is out of range [%lld, %lld]", f->key, v, f->min, f->max);
		return -1;
	}
	*out = v;
	return 0;
}

static int cfg_parse_bool(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			  bool *out)
{
	const char *s = cfg_scalar(n);

	if (s != NULL && cfg_is_plain(n) && strcmp(s, "true") == 0) {
		*out = true;
		return 0;
	}
	if (s != NULL && cfg_is_plain(n) && strcmp(s, "false") == 0) {
		*out = false;
		return 0;
	}
	cfg_error(c, n, "%s: expected true or false", f->key);
	return -1;
}

static int cfg_check_url(const char *s)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *extra = NULL;
	int rc = -1;

	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
		goto out;
	/* A base URL is scheme, host, port and path prefix: request targets are
	 * appended to it, so a query, fragment or credentials would corrupt them. */
	if (curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_USER, &extra, 0) == CURLUE_OK)
		goto out;
	rc = 0;
out:
	curl_free(extra);
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* Validates and stores a string-valued field, replacing any default. */
static int cfg_parse_string(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			    char **out)
{
	const char *s = cfg_scalar(n);
	struct sockaddr_storage ss;
	socklen_t sl;
	char *v;

	if (s == NULL || *s == '\0') {
		cfg_error(c, n, "%s: expected a non-empty string", f->key);
		return -1;
	}
	if (f->kind == CFG_LISTEN && netaddr_parse_listen(s, &ss, &sl) != 0) {
		cfg_error(c, n, "%s: expected HOST:PORT with a literal IP address, got '%s'",
			  f->key, s);
		return -1;
	}
	if (f->kind == CFG_URL && cfg_check_url(s) != 0) {
		cfg_error(c, n, "%s: expected an absolute http:// or https:// URL without "
			  "query, fragment or credentials, got '%s'",
			  f->key, s);
		return -1;
	}
	v = f->kind == CFG_PATH ? cfg_resolve_path(c->dir, s) : strdup(s);
	if (v == NULL) {
		cfg_error(c, n, "%s: out of memory", f->key);
		return -1;
	}
	free(*out);
	*out = v;
	return 0;
}

static int cfg_parse_strs(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			  struct cfg_strs *out)
{
	struct cfg_strs s = { NULL, 0 };
	yaml_node_item_t *it;
	size_t cap;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "%s: expected a list", f->key);
		return -1;
	}
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	s.v = calloc(cap ? cap : 1, sizeof(*s.v));
	if (s.v == NULL)
		goto fail;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		const char *v = cfg_scalar(item);
		if (v == NULL || *v == '\0') {
			cfg_error(c, item, "%s: expected a non-empty string", f->key);
			goto fail;
		}
		if ((s.v[s.n] = strdup(v)) == NULL)
			goto fail;
		s.n++;
	}
	cfg_strs_free(out);
	*out = s;
	return 0;
fail:
	cfg_strs_free(&s);
	return -1;
}

static int cfg_parse_cidrs(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			   struct cfg_cidrs *out)
{
	struct cfg_cidrs r = { NULL, 0 };
	yaml_node_item_t *it;
	size_t cap;
	int rc = 0;

	if (n->type != YAML_SEQUENCE_NODE) {
		cfg_error(c, n, "%s: expected a list of addresses or CIDR ranges", f->key);
		return -1;
	}
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	r.v = calloc(cap ? cap : 1, sizeof(*r.v));
	if (r.v == NULL) {
		cfg_error(c, n, "%s: out of memory", f->key);
		return -1;
	}
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(c->doc, *it);
		const char *v = cfg_scalar(item);
		if (v == NULL || netaddr_parse_cidr(v, &r.v[r.n]) != 0) {
			cfg_error(c, item, "%s: '%s' is not an address or a CIDR range "
				  "with zero host bits", f->key, v ? v : "(not a string)");
			rc = -1;
			continue;
		}
		r.n++;
	}
	if (rc != 0) {
		free(r.v);
		return -1;
	}
	free(out->v);
	*out = r;
	return 0;
}

static int cfg_parse_secret(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			    struct cfg_secret *out)
{
	struct cfg_secret s = { NULL, NULL, 0 };
	const char *v = cfg_scalar(n);
	char err[512];
	char *path;
	int rc;

	if (v == NULL || *v == '\0') {
		cfg_error(c, n, "%s: expected a key file path", f->key);
		return -1;
	}
	if ((path = cfg_resolve_path(c->dir, v)) == NULL) {
		cfg_error(c, n, "%s: out of memory", f->key);
		return -1;
	}
	rc = cfg_secret_load(path, &s, err, sizeof(err));
	free(path);
	if (rc != 0) {
		cfg_error(c, n, "%s: %s", f->key, err);
		return -1;
	}
	cfg_secret_free(out);
	*out = s;
	return 0;
}

static int cfg_parse_field(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f,
			   void *obj)
{
	void *p = (char *)obj + f->offset;

	switch (f->kind) {
	case CFG_STR:
	case CFG_LISTEN:
	case CFG_URL:
	case CFG_PATH:
		return cfg_parse_string(c, n, f, p);
	case CFG_INT:
		return cfg_parse_int(c, n, f, p);
	case CFG_BOOL:
		return cfg_parse_bool(c, n, f, p);
	case CFG_STRS:
		return cfg_parse_strs(c, n, f, p);
	case CFG_CIDRS:
		return cfg_parse_cidrs(c, n, f, p);
	case CFG_SECRET:
		return cfg_parse_secret(c, n, f, p);
	case CFG_CUSTOM:
		return f->parse(c, n, p);
	}
	return -1;
}

int cfg_parse_value(struct cfg_ctx *c, yaml_node_t *n, const struct cfg_field *f, void *obj)
{
	return cfg_parse_field(c, n, f, obj);
}

static const struct cfg_field *cfg_find_field(const struct cfg_field *fields, size_t n,
					      const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* Fields are few (under 64 per map), so one bit each tracks "seen". */
int cfg_parse_map(struct cfg_ctx *c, yaml_node_t *map, const struct cfg_field *fields,
		  size_t nfields, void *obj)
{
	uint64_t seen = 0;
	yaml_node_pair_t *pair;
	int rc = 0;

	assert(nfields <= 64);

	if (map == NULL || map->type != YAML_MAPPING_NODE) {
		cfg_error(c, map, "expected a mapping of keys to values");
		return -1;
	}
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
		const char *key = cfg_scalar(k);
		const struct cfg_field *f = key ? cfg_find_field(fields, nfields, key) : NULL;

		if (f == NULL) {
			cfg_error(c, k, "unknown key '%s'", key ? key : "(not a string)");
			rc = -1;
			continue;
		}
		uint64_t bit = UINT64_C(1) << (size_t)(f - fields);
		if (seen & bit) {
			cfg_error(c, k, "duplicate key '%s'", key);
			rc = -1;
			continue;
		}
		seen |= bit;
		if (cfg_parse_field(c, v, f, obj) != 0)
			rc = -1;
	}
	for (size_t i = 0; i < nfields; i++) {
		if (fields[i].required && !(seen & (UINT64_C(1) << i))) {
			cfg_error(c, map, "missing required key '%s'", fields[i].key);
			rc = -1;
		}
	}
	return rc;
}

void cfg_free_fields(const struct cfg_field *fields, size_t nfields, void *obj)
{
	for (size_t i = 0; i < nfields; i++) {
		void *p = (char *)obj + fields[i].offset;
		switch (fields[i].kind) {
		case CFG_STR:
		case CFG_LISTEN:
		case CFG_URL:
		case CFG_PATH:
			free(*(char **)p);
			*(char **)p = NULL;
			break;
		case CFG_STRS:
			cfg_strs_free(p);
			break;
		case CFG_CIDRS:
			free(((struct cfg_cidrs *)p)->v);
			((struct cfg_cidrs *)p)->v = NULL;
			((struct cfg_cidrs *)p)->n = 0;
			break;
		case CFG_SECRET:
			cfg_secret_free(p);
			break;
		case CFG_CUSTOM:
			if (fields[i].free != NULL)
				fields[i].free(p);
			break;
		case CFG_INT:
		case CFG_BOOL:
			break;
		}
	}
}
