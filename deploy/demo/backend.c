/* Demo news-site backend that paywalld's demo, integration tests and benchmarks run behind the gateway. */

#define ZLIB_CONST

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <zlib.h>

#define BACKEND_MAX_FILES 1024
#define BACKEND_MAX_DEPTH 8
#define BACKEND_MAX_FILE_BYTES ((size_t)16 * 1024 * 1024)
#define BACKEND_SLOW_DEFAULT_MS 1000
#define BACKEND_SLOW_CAP_MS 60000
#define BACKEND_BIG_CAP ((uint64_t)200 * 1024 * 1024)
#define BACKEND_BODY_CAP ((uint64_t)64 * 1024 * 1024)
#define BACKEND_DRIP_CHUNKS_CAP 1000
#define BACKEND_DRIP_DELAY_CAP 10000
#define BACKEND_DRIP_SIZE_CAP (1024 * 1024)
#define BACKEND_READER_BLOCK (64 * 1024)
#define BACKEND_LAST_MODIFIED "Tue, 12 Mar 2024 09:00:00 GMT"
#define BACKEND_CACHE_CONTROL "public, max-age=60"

/* One servable resource; API documents are stored here too so they get ETag, Range and gzip for free. */
struct backend_file {
	char *path; /* relative to the root, '/'-separated, no leading slash */
	char *data; /* always NUL-terminated so the HTML scanners can use str* functions */
	size_t len;
	unsigned char *gz; /* NULL when the type does not benefit from compression */
	size_t gz_len;
	const char *ctype;
	char etag[24];
	char etag_gz[28];
};

struct backend_ctx {
	struct backend_file *files;
	size_t nfiles;
	size_t cap;
	atomic_ullong requests;
	atomic_ullong connections;
	atomic_ullong jwks_fetches;
	const char *jwks_path; /* --jwks: re-read on every request, so tests can rotate keys */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
};

/* Created by the URI log callback (the only place the raw request target is visible), freed on completion. */
struct backend_request {
	char *raw_uri;
	EVP_MD_CTX *md;
	uint64_t body_bytes;
	bool started;
	bool too_large;
	bool responded;
};

struct backend_big {
	uint64_t total;
};

struct backend_drip {
	struct backend_ctx *ctx;
	unsigned long chunks;
	unsigned long delay_ms;
	size_t size;
	unsigned long index;
	size_t offset;
};

struct backend_header_walk {
	json_t *list;
	bool failed;
};

enum backend_range_kind { BACKEND_RANGE_NONE, BACKEND_RANGE_OK, BACKEND_RANGE_UNSATISFIABLE };

static const char backend_not_found_html[] =
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Not found</title></head>"
	"<body><h1>404 Not Found</h1><p>There is no page at this address on the Harbourside Herald.</p>"
	"</body></html>\n";

static const char backend_too_large_text[] = "request body too large\n";

/* ---------------------------------------------------------------- helpers */

static bool backend_str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool backend_str_has_suffix(const char *s, const char *suffix)
{
	size_t ls = strlen(s);
	size_t lx = strlen(suffix);

	return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

/* Strict decimal parse: the whole string must be a number within [min, max]. */
static bool backend_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (!s || *s == '\0' || *s == ' ' || *s == '+')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static void backend_hex_encode(const unsigned char *in, size_t n, char *out, size_t out_size)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < out_size; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * i] = '\0';
}

/* Header values may carry arbitrary bytes; JSON needs UTF-8, so fall back to reading them as Latin-1. */
static json_t *backend_json_text(const char *s, size_t len)
{
	json_t *str = json_stringn(s, len);
	char *buf;
	size_t i, o = 0;

	if (str)
		return str;
	if (len > (SIZE_MAX - 1) / 2)
		return NULL;
	buf = malloc(2 * len + 1);
	if (!buf)
		return NULL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x80) {
			buf[o++] = (char)c;
		} else {
			buf[o++] = (char)(0xc0 | (c >> 6));
			buf[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	str = json_stringn(buf, o);
	free(buf);
	return str;
}

static const char *backend_type_for_path(const char *path)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },  { ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },              { ".json", "application/json" },
		{ ".js", "text/javascript; charset=utf-8" }, { ".txt", "text/plain; charset=utf-8" },
		{ ".png", "image/png" },                  { ".jpg", "image/jpeg" },
		{ ".ico", "image/x-icon" },
	};
	size_t i;

	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (backend_str_has_suffix(path, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static bool backend_type_is_compressible(const char *ctype)
{
	return backend_str_has_prefix(ctype, "text/") || strcmp(ctype, "image/svg+xml") == 0 ||
	       strcmp(ctype, "application/json") == 0;
}

/* ----------------------------------------------------------- stop / sleep */

/* Sleeps are interruptible so SIGTERM does not wait for a 60 s /slow to finish. Returns false if stopping. */
static bool backend_sleep_ms(struct backend_ctx *ctx, long ms)
{
	struct timespec deadline;
	bool stopping;
	int rc = 0;

	if (clock_gettime(CLOCK_MONOTONIC, &deadline) != 0)
		return false;
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_lock(&ctx->stop_lock) != 0)
		return false;
	while (!ctx->stopping && rc == 0)
		rc = pthread_cond_timedwait(&ctx->stop_cond, &ctx->stop_lock, &deadline);
	stopping = ctx->stopping;
	if (pthread_mutex_unlock(&ctx->stop_lock) != 0)
		return false;
	return !stopping && rc == ETIMEDOUT;
}

static void backend_signal_stop(struct backend_ctx *ctx)
{
	if (pthread_mutex_lock(&ctx->stop_lock) != 0)
		return;
	ctx->stopping = true;
	if (pthread_cond_broadcast(&ctx->stop_cond) != 0)
		fprintf(stderr, "demo-backend: pthread_cond_broadcast failed\n");
	if (pthread_mutex_unlock(&ctx->stop_lock) != 0)
		fprintf(stderr, "demo-backend: pthread_mutex_unlock failed\n");
}

static int backend_init_stop(struct backend_ctx *ctx)
{
	pthread_condattr_t attr;
	int rc = -1;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0)
		goto out;
	if (pthread_mutex_init(&ctx->stop_lock, NULL) != 0)
		goto out;
	if (pthread_cond_init(&ctx->stop_cond, &attr) != 0) {
		if (pthread_mutex_destroy(&ctx->stop_lock) != 0)
			fprintf(stderr, "demo-backend: pthread_mutex_destroy failed\n");
		goto out;
	}
	rc = 0;
out:
	if (pthread_condattr_destroy(&attr) != 0)
		rc = -1;
	return rc;
}

/* ------------------------------------------------------------ site loading */

static struct backend_file *backend_add_file(struct backend_ctx *ctx, char *path, char *data, size_t len)
{
	struct backend_file *f;

	if (ctx->nfiles == ctx->cap) {
		size_t cap = ctx->cap ? ctx->cap * 2 : 32;
		struct backend_file *grown;

		if (cap > BACKEND_MAX_FILES) {
			fprintf(stderr, "demo-backend: more than %d files under --root\n", BACKEND_MAX_FILES);
			return NULL;
		}
		grown = realloc(ctx->files, cap * sizeof *grown);
		if (!grown)
			return NULL;
		ctx->files = grown;
		ctx->cap = cap;
	}
	f = &ctx->files[ctx->nfiles++];
	memset(f, 0, sizeof *f);
	f->path = path;
	f->data = data;
	f->len = len;
	f->ctype = backend_type_for_path(path);
	return f;
}

static char *backend_read_file(const char *full, size_t *len_out)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(full, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		goto fail;
	if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > BACKEND_MAX_FILE_BYTES)
		goto fail;
	buf = malloc((size_t)st.st_size + 1);
	if (!buf)
		goto fail;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto fail;
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	*len_out = got;
	return buf;
fail:
	fprintf(stderr, "demo-backend: cannot load %s: %s\n", full, strerror(errno));
	if (fd >= 0 && close(fd) != 0)
		fprintf(stderr, "demo-backend: close %s failed\n", full);
	free(buf);
	return NULL;
}

static int backend_load_tree(struct backend_ctx *ctx, const char *root, const char *rel, int depth);

static int backend_load_entry(struct backend_ctx *ctx, const char *root, const char *rel, int depth)
{
	char full[PATH_MAX];
	struct stat st;
	char *path = NULL;
	char *data = NULL;
	size_t len = 0;
	int n = snprintf(full, sizeof full, "%s/%s", root, rel);

	if (n < 0 || (size_t)n >= sizeof full || stat(full, &st) != 0)
		goto fail;
	if (S_ISDIR(st.st_mode))
		return backend_load_tree(ctx, root, rel, depth + 1);
	if (!S_ISREG(st.st_mode))
		return 0;
	path = strdup(rel);
	data = backend_read_file(full, &len);
	if (!path || !data || !backend_add_file(ctx, path, data, len))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "demo-backend: cannot load %s/%s\n", root, rel);
	free(path);
	free(data);
	return -1;
}

static int backend_load_tree(struct backend_ctx *ctx, const char *root, const char *rel, int depth)
{
	char dir_path[PATH_MAX];
	char child[PATH_MAX];
	DIR *dir = NULL;
	int rc = -1;
	int n = snprintf(dir_path, sizeof dir_path, "%s/%s", root, rel);

	if (depth > BACKEND_MAX_DEPTH || n < 0 || (size_t)n >= sizeof dir_path)
		goto out;
	dir = opendir(dir_path);
	if (!dir) {
		fprintf(stderr, "demo-backend: opendir %s: %s\n", dir_path, strerror(errno));
		goto out;
	}
	for (;;) {
		struct dirent *ent;

		errno = 0;
		ent = readdir(dir);
		if (!ent) {
			if (errno != 0)
				goto out;
			break;
		}
		if (ent->d_name[0] == '.') /* also skips editor droppings like .swp */
			continue;
		n = snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", ent->d_name);
		if (n < 0 || (size_t)n >= sizeof child)
			goto out;
		if (backend_load_entry(ctx, root, child, depth) != 0)
			goto out;
	}
	rc = 0;
out:
	if (dir && closedir(dir) != 0)
		rc = -1;
	return rc;
}

static int backend_gzip(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
	z_stream zs;
	unsigned char *buf = NULL;
	uLong bound;
	int rc = -1;

	memset(&zs, 0, sizeof zs);
	if (len > UINT_MAX || deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	bound = deflateBound(&zs, (uLong)len);
	buf = malloc(bound);
	if (!buf || bound > UINT_MAX)
		goto out;
	zs.next_in = (const Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		goto out;
	*out = buf;
	*out_len = (size_t)zs.total_out;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	if (deflateEnd(&zs) != Z_OK)
		rc = -1;
	return rc;
}

/* Strong validators per representation: the gzip body is different bytes, so it gets its own tag. */
static int backend_prepare_file(struct backend_file *f)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[17];
	int n;

	if (EVP_Digest(f->data, f->len, md, &md_len, EVP_sha256(), NULL) != 1 || md_len < 8)
		return -1;
	backend_hex_encode(md, 8, hex, sizeof hex);
	n = snprintf(f->etag, sizeof f->etag, "\"%s\"", hex);
	if (n < 0 || (size_t)n >= sizeof f->etag)
		return -1;
	n = snprintf(f->etag_gz, sizeof f->etag_gz, "\"%s-gz\"", hex);
	if (n < 0 || (size_t)n >= sizeof f->etag_gz)
		return -1;
	if (backend_type_is_compressible(f->ctype))
		return backend_gzip(f->data, f->len, &f->gz, &f->gz_len);
	return 0;
}

static int backend_compare_files(const void *a, const void *b)
{
	const struct backend_file *fa = a;
	const struct backend_file *fb = b;

	return strcmp(fa->path, fb->path);
}

static struct backend_file *backend_find_file(struct backend_ctx *ctx, const char *path)
{
	struct backend_file key;

	memset(&key, 0, sizeof key);
	key.path = (char *)(uintptr_t)path;
	if (ctx->nfiles == 0)
		return NULL;
	return bsearch(&key, ctx->files, ctx->nfiles, sizeof *ctx->files, backend_compare_files);
}

/* ------------------------------------------------------ article extraction */

static size_t backend_put_utf8(char *out, unsigned long cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp >= 0xd800 && cp <= 0xdfff)
		cp = 0xfffd;
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes one entity at s (which starts with '&'); returns bytes consumed, 0 if not an entity we know.
 * Every entity is at least 4 bytes long and decodes to at most 4, so output never outgrows input. */
static size_t backend_decode_entity(const char *s, const char *end, char *out, size_t *out_len)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
		{ "&apos;", "'" }, { "&#39;", "'" }, { "&nbsp;", " " }, { "&middot;", "\xc2\xb7" },
	};
	size_t i;
	char *num_end = NULL;
	unsigned long cp;

	for (i = 0; i < sizeof named / sizeof named[0]; i++) {
		size_t n = strlen(named[i].name);

		if ((size_t)(end - s) >= n && memcmp(s, named[i].name, n) == 0) {
			*out_len = strlen(named[i].text);
			memcpy(out, named[i].text, *out_len);
			return n;
		}
	}
	if (end - s < 4 || s[1] != '#')
		return 0;
	errno = 0;
	cp = (s[2] == 'x' || s[2] == 'X') ? strtoul(s + 3, &num_end, 16) : strtoul(s + 2, &num_end, 10);
	if (errno != 0 || num_end >= end || *num_end != ';' || cp == 0 || cp > 0x10ffff ||
	    num_end - s + 1 < 4)
		return 0;
	*out_len = backend_put_utf8(out, cp);
	return (size_t)(num_end - s) + 1;
}

/* Visible text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed. */
static json_t *backend_html_text(const char *start, const char *end)
{
	char *buf = malloc((size_t)(end - start) + 1);
	size_t o = 0;
	bool in_tag = false;
	bool space = false;
	json_t *text;

	if (!buf)
		return NULL;
	while (start < end) {
		size_t used, produced = 0;
		char c = *start;

		if (in_tag || c == '<') {
			in_tag = c != '>';
			start++;
			continue;
		}
		if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
			space = o > 0;
			start++;
			continue;
		}
		if (space)
			buf[o++] = ' ';
		space = false;
		used = c == '&' ? backend_decode_entity(start, end, buf + o, &produced) : 0;
		if (used == 0) {
			buf[o++] = c;
			used = 1;
		} else {
			o += produced;
		}
		start += used;
	}
	text = json_stringn(buf, o);
	free(buf);
	return text;
}

/* Text between the end of the opening tag that begins at 'open' and the next 'close'. */
static json_t *backend_element_text(const char *html, const char *open, const char *close)
{
	const char *start = strstr(html, open);
	const char *end;

	if (!start)
		return NULL;
	start = strchr(start, '>');
	if (!start)
		return NULL;
	start++;
	end = strstr(start, close);
	return end ? backend_html_text(start, end) : NULL;
}

static json_t *backend_article_paragraphs(const char *html)
{
	const char *body = strstr(html, "<div class=\"article-body\">");
	const char *body_end;
	json_t *paras = json_array();

	if (!body || !paras)
		goto fail;
	body_end = strstr(body, "</div>");
	if (!body_end)
		goto fail;
	for (const char *p = strstr(body, "<p"); p && p < body_end; p = strstr(p, "<p")) {
		const char *start = strchr(p, '>');
		const char *end = start ? strstr(start, "</p>") : NULL;

		if (!end || end > body_end)
			goto fail;
		if (json_array_append_new(paras, backend_html_text(start + 1, end)) != 0)
			goto fail;
		p = end;
	}
	return paras;
fail:
	json_decref(paras);
	return NULL;
}

/* "premium/x.html" -> section "premium", slug "x"; anything else is not an article. */
static bool backend_article_split(const char *path, char *section, size_t section_size, char *slug,
				  size_t slug_size)
{
	static const char *const sections[] = { "article", "premium", "sponsored" };
	size_t i;

	for (i = 0; i < sizeof sections / sizeof sections[0]; i++) {
		size_t sl = strlen(sections[i]);
		const char *name = path + sl + 1;
		size_t nl;

		if (strncmp(path, sections[i], sl) != 0 || path[sl] != '/' || strchr(name, '/'))
			continue;
		if (!backend_str_has_suffix(name, ".html"))
			continue;
		nl = strlen(name) - strlen(".html");
		if (nl == 0 || nl >= slug_size || sl >= section_size)
			return false;
		memcpy(slug, name, nl);
		slug[nl] = '\0';
		memcpy(section, sections[i], sl + 1);
		return true;
	}
	return false;
}

static json_t *backend_article_json(const struct backend_file *f, const char *section, const char *slug,
				    bool with_body)
{
	char url[PATH_MAX];
	int n = snprintf(url, sizeof url, "/%s/%s", section, slug);
	json_t *doc;

	if (n < 0 || (size_t)n >= sizeof url)
		return NULL;
	doc = json_pack("{s:s, s:s, s:s, s:o?}", "slug", slug, "path", url, "access",
			strcmp(section, "article") == 0 ? "metered" : section, "headline",
			backend_element_text(f->data, "<h1", "</h1>"));
	if (!doc || !json_is_string(json_object_get(doc, "headline")))
		goto fail;
	if (!with_body)
		return doc;
	if (json_object_set_new(doc, "standfirst",
				backend_element_text(f->data, "<p class=\"standfirst\"", "</p>")) != 0)
		goto fail;
	if (json_object_set_new(doc, "body", backend_article_paragraphs(f->data)) != 0)
		goto fail;
	return doc;
fail:
	fprintf(stderr, "demo-backend: cannot extract article from %s\n", f->path);
	json_decref(doc);
	return NULL;
}

static int backend_add_json_file(struct backend_ctx *ctx, const char *path, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	char *name = strdup(path);
	struct backend_file *f;

	json_decref(doc);
	if (!text || !name)
		goto fail;
	f = backend_add_file(ctx, name, text, strlen(text));
	if (!f)
		goto fail;
	f->ctype = "application/json";
	return 0;
fail:
	free(text);
	free(name);
	return -1;
}

static int backend_add_article_api(struct backend_ctx *ctx, size_t idx, json_t *list)
{
	char section[16];
	char slug[256];
	char path[PATH_MAX];
	const struct backend_file *f = &ctx->files[idx];
	int n;

	if (!backend_article_split(f->path, section, sizeof section, slug, sizeof slug))
		return 0;
	if (json_array_append_new(list, backend_article_json(f, section, slug, false)) != 0)
		return -1;
	n = snprintf(path, sizeof path, "api/article/%s.json", slug);
	if (n < 0 || (size_t)n >= sizeof path)
		return -1;
	/* Re-read through the index: backend_add_json_file may move ctx->files. */
	return backend_add_json_file(ctx, path, backend_article_json(&ctx->files[idx], section, slug, true));
}

static int backend_build_api(struct backend_ctx *ctx)
{
	size_t site_files = ctx->nfiles;
	json_t *list = json_array();
	size_t i;

	if (!list)
		return -1;
	for (i = 0; i < site_files; i++) {
		if (backend_add_article_api(ctx, i, list) != 0) {
			json_decref(list);
			return -1;
		}
	}
	return backend_add_json_file(ctx, "api/articles.json", list);
}

static int backend_load_site(struct backend_ctx *ctx, const char *root)
{
	size_t i;

	if (backend_load_tree(ctx, root, "", 0) != 0)
		return -1;
	qsort(ctx->files, ctx->nfiles, sizeof *ctx->files, backend_compare_files);
	if (backend_build_api(ctx) != 0)
		return -1;
	qsort(ctx->files, ctx->nfiles, sizeof *ctx->files, backend_compare_files);
	for (i = 0; i < ctx->nfiles; i++) {
		if (i > 0 && strcmp(ctx->files[i - 1].path, ctx->files[i].path) == 0) {
			fprintf(stderr, "demo-backend: duplicate resource %s (two sections share a slug?)\n",
				ctx->files[i].path);
			return -1;
		}
		if (backend_prepare_file(&ctx->files[i]) != 0)
			return -1;
	}
	return 0;
}

static void backend_free_site(struct backend_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nfiles; i++) {
		free(ctx->files[i].path);
		free(ctx->files[i].data);
		free(ctx->files[i].gz);
	}
	free(ctx->files);
	ctx->files = NULL;
	ctx->nfiles = 0;
	ctx->cap = 0;
}

/* -------------------------------------------------------- response helpers */

static bool backend_add_headers(struct MHD_Response *resp, const char *const *pairs, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		if (MHD_add_response_header(resp, pairs[i], pairs[i + 1]) != MHD_YES) {
			fprintf(stderr, "demo-backend: MHD refused header %s\n", pairs[i]);
			return false;
		}
	}
	return true;
}

static enum MHD_Result backend_queue(struct MHD_Connection *conn, unsigned int status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result backend_queue_text(struct MHD_Connection *conn, unsigned int status, const char *ctype,
					  const char *text, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)(uintptr_t)text,
								    MHD_RESPMEM_MUST_COPY);
	const char *hdrs[] = { MHD_HTTP_HEADER_CONTENT_TYPE, ctype, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store" };

	if (resp && !backend_add_headers(resp, hdrs, 4)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, status, resp);
}

static enum MHD_Result backend_queue_json(struct MHD_Connection *conn, unsigned int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct MHD_Response *resp = NULL;
	const char *hdrs[] = { MHD_HTTP_HEADER_CONTENT_TYPE, "application/json", MHD_HTTP_HEADER_CACHE_CONTROL,
			       "no-store" };

	json_decref(doc);
	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer_with_free_callback(strlen(text), text, &free);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	if (!backend_add_headers(resp, hdrs, 4)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, status, resp);
}

static enum MHD_Result backend_queue_not_found(struct MHD_Connection *conn)
{
	return backend_queue_text(conn, MHD_HTTP_NOT_FOUND, "text/html; charset=utf-8", backend_not_found_html,
				  sizeof backend_not_found_html - 1);
}

static enum MHD_Result backend_queue_bad_method(struct MHD_Connection *conn, const char *allow)
{
	static const char text[] = "method not allowed\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof text - 1, (void *)(uintptr_t)text,
								    MHD_RESPMEM_PERSISTENT);
	const char *hdrs[] = { MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8", MHD_HTTP_HEADER_ALLOW,
			       allow };

	if (resp && !backend_add_headers(resp, hdrs, 4)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

static enum MHD_Result backend_queue_bad_request(struct MHD_Connection *conn, const char *why)
{
	char text[256];
	int n = snprintf(text, sizeof text, "bad request: %s\n", why);

	if (n < 0 || (size_t)n >= sizeof text)
		return MHD_NO;
	return backend_queue_text(conn, MHD_HTTP_BAD_REQUEST, "text/plain; charset=utf-8", text, (size_t)n);
}

/* Query parameter as an integer in [0, cap]; larger values are clamped, garbage is an error. */
static bool backend_query_number(struct MHD_Connection *conn, const char *name, long long def, long long cap,
				 long long *out)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, name);
	long long n;

	if (!v) {
		*out = def;
		return true;
	}
	if (!backend_parse_ll(v, 0, LLONG_MAX, &n))
		return false;
	*out = n > cap ? cap : n;
	return true;
}

/* ------------------------------------------------------- static site files */

static bool backend_etag_matches(const char *header, const struct backend_file *f)
{
	const char *p = header;

	while (*p) {
		const char *end;
		size_t len;

		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (strncmp(p, "W/", 2) == 0) /* If-None-Match uses the weak comparison */
			p += 2;
		end = p;
		while (*end && *end != ',')
			end++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 1 && *p == '*') || (len == strlen(f->etag) && memcmp(p, f->etag, len) == 0) ||
		    (len == strlen(f->etag_gz) && memcmp(p, f->etag_gz, len) == 0))
			return true;
		p = end;
	}
	return false;
}

/* RFC 9110 qvalues are "0", "0.", "0.0" ... "1.000"; only all-zero ones mean "not acceptable". */
static bool backend_qvalue_is_zero(const char *q, const char *end)
{
	if (q >= end || *q != '0')
		return false;
	for (q++; q < end && (*q == '.' || *q == '0'); q++)
		;
	return q == end || *q == ' ' || *q == '\t' || *q == ';';
}

/* True if Accept-Encoding lists gzip without q=0. */
static bool backend_accepts_gzip(struct MHD_Connection *conn)
{
	const char *p = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_ENCODING);

	while (p && *p) {
		const char *end = strchr(p, ',');
		const char *params;
		size_t len;

		while (*p == ' ' || *p == '\t')
			p++;
		if (!end)
			end = p + strlen(p);
		params = memchr(p, ';', (size_t)(end - p));
		len = (size_t)((params ? params : end) - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if ((len == 4 && strncasecmp(p, "gzip", 4) == 0) || (len == 6 && strncasecmp(p, "x-gzip", 6) == 0)) {
			const char *q = params ? strstr(params, "q=") : NULL;

			return !(q && q < end && backend_qvalue_is_zero(q + 2, end));
		}
		p = *end ? end + 1 : end;
	}
	return false;
}

/* Single ranges only: "bytes=N-", "bytes=N-M", "bytes=-N". Anything else is ignored (full 200). */
static enum backend_range_kind backend_parse_range(const char *spec, size_t len, size_t *first, size_t *last)
{
	char buf[64];
	char *dash;
	long long a = -1, b = -1;
	size_t n;

	if (!spec || strncasecmp(spec, "bytes=", 6) != 0)
		return BACKEND_RANGE_NONE;
	spec += 6;
	n = strlen(spec);
	if (n == 0 || n >= sizeof buf || strchr(spec, ','))
		return BACKEND_RANGE_NONE;
	memcpy(buf, spec, n + 1);
	dash = strchr(buf, '-');
	if (!dash)
		return BACKEND_RANGE_NONE;
	*dash = '\0';
	if (buf[0] && !backend_parse_ll(buf, 0, LLONG_MAX, &a))
		return BACKEND_RANGE_NONE;
	if (dash[1] && !backend_parse_ll(dash + 1, 0, LLONG_MAX, &b))
		return BACKEND_RANGE_NONE;
	if (a < 0 && b < 0)
		return BACKEND_RANGE_NONE;
	if (a < 0) { /* suffix range: the last b bytes */
		if (b == 0 || len == 0)
			return BACKEND_RANGE_UNSATISFIABLE;
		*first = (uint64_t)b >= len ? 0 : len - (size_t)b;
		*last = len - 1;
		return BACKEND_RANGE_OK;
	}
	if (b >= 0 && b < a)
		return BACKEND_RANGE_NONE;
	if ((uint64_t)a >= len)
		return BACKEND_RANGE_UNSATISFIABLE;
	*first = (size_t)a;
	*last = (b < 0 || (uint64_t)b >= len) ? len - 1 : (size_t)b;
	return BACKEND_RANGE_OK;
}

static bool backend_add_validators(struct MHD_Response *resp, const struct backend_file *f, bool gz)
{
	const char *hdrs[] = {
		MHD_HTTP_HEADER_CONTENT_TYPE, f->ctype, MHD_HTTP_HEADER_ETAG, gz ? f->etag_gz : f->etag,
		MHD_HTTP_HEADER_LAST_MODIFIED, BACKEND_LAST_MODIFIED, MHD_HTTP_HEADER_CACHE_CONTROL,
		BACKEND_CACHE_CONTROL, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes",
	};

	if (!backend_add_headers(resp, hdrs, sizeof hdrs / sizeof hdrs[0]))
		return false;
	if (f->gz && !backend_add_headers(resp, (const char *const[]){ MHD_HTTP_HEADER_VARY, "Accept-Encoding" }, 2))
		return false;
	return !gz ||
	       backend_add_headers(resp, (const char *const[]){ MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip" }, 2);
}

static enum MHD_Result backend_serve_range(struct MHD_Connection *conn, const struct backend_file *f,
					   enum backend_range_kind kind, size_t first, size_t last)
{
	char content_range[96];
	struct MHD_Response *resp;
	unsigned int status;
	int n;

	if (kind == BACKEND_RANGE_UNSATISFIABLE) {
		status = MHD_HTTP_RANGE_NOT_SATISFIABLE;
		n = snprintf(content_range, sizeof content_range, "bytes */%zu", f->len);
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else {
		status = MHD_HTTP_PARTIAL_CONTENT;
		n = snprintf(content_range, sizeof content_range, "bytes %zu-%zu/%zu", first, last, f->len);
		resp = MHD_create_response_from_buffer(last - first + 1, f->data + first, MHD_RESPMEM_PERSISTENT);
	}
	if (!resp)
		return MHD_NO;
	if (n < 0 || (size_t)n >= sizeof content_range || !backend_add_validators(resp, f, false) ||
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, content_range) != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, status, resp);
}

/* MHD never sends a body with 304 but derives Content-Length from the response size; an empty
 * buffer would claim "Content-Length: 0", which RFC 9110 forbids unless the 200 body is empty. */
static enum MHD_Result backend_serve_not_modified(struct MHD_Connection *conn, const struct backend_file *f,
						  bool gz)
{
	struct MHD_Response *resp = gz ? MHD_create_response_from_buffer(f->gz_len, f->gz, MHD_RESPMEM_PERSISTENT)
				       : MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);

	if (resp && !backend_add_validators(resp, f, gz)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_NOT_MODIFIED, resp);
}

/* If-Range with a validator other than ours means the client's partial copy is stale: send it all. */
static bool backend_if_range_allows(struct MHD_Connection *conn, const struct backend_file *f)
{
	const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);

	return !v || strcmp(v, f->etag) == 0 || strcmp(v, BACKEND_LAST_MODIFIED) == 0;
}

static enum MHD_Result backend_serve_file(struct MHD_Connection *conn, const struct backend_file *f)
{
	const char *inm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *range = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	bool gz = f->gz && backend_accepts_gzip(conn);
	enum backend_range_kind kind = BACKEND_RANGE_NONE;
	struct MHD_Response *resp;
	size_t first = 0, last = 0;

	if (inm && backend_etag_matches(inm, f))
		return backend_serve_not_modified(conn, f, gz);
	if (range && backend_if_range_allows(conn, f))
		kind = backend_parse_range(range, f->len, &first, &last);
	if (kind != BACKEND_RANGE_NONE)
		return backend_serve_range(conn, f, kind, first, last);
	resp = gz ? MHD_create_response_from_buffer(f->gz_len, f->gz, MHD_RESPMEM_PERSISTENT)
		  : MHD_create_response_from_buffer(f->len, f->data, MHD_RESPMEM_PERSISTENT);
	if (resp && !backend_add_validators(resp, f, gz)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

/* URL -> resource: exact match, then "<url>.html", with "/" and ".../" mapping to index.html. */
static const struct backend_file *backend_resolve_path(struct backend_ctx *ctx, const char *url)
{
	char path[PATH_MAX];
	const struct backend_file *f;
	const char *rel = url + 1;
	int n;

	if (url[0] != '/' || strstr(url, ".."))
		return NULL;
	if (rel[0] == '\0' || backend_str_has_suffix(rel, "/")) {
		n = snprintf(path, sizeof path, "%sindex.html", rel);
		return (n < 0 || (size_t)n >= sizeof path) ? NULL : backend_find_file(ctx, path);
	}
	f = backend_find_file(ctx, rel);
	if (f)
		return f;
	n = snprintf(path, sizeof path, "%s.html", rel);
	return (n < 0 || (size_t)n >= sizeof path) ? NULL : backend_find_file(ctx, path);
}

static enum MHD_Result backend_serve_site(struct backend_ctx *ctx, struct MHD_Connection *conn, const char *url)
{
	const struct backend_file *f = backend_resolve_path(ctx, url);

	if (f)
		return backend_serve_file(conn, f);
	if (backend_str_has_prefix(url, "/api/"))
		return backend_queue_json(conn, MHD_HTTP_NOT_FOUND,
					  json_pack("{s:s, s:o}", "error", "not found", "path",
						    backend_json_text(url, strlen(url))));
	return backend_queue_not_found(conn);
}

/* ------------------------------------------------------- dynamic endpoints */

static enum MHD_Result backend_serve_slow(struct backend_ctx *ctx, struct MHD_Connection *conn)
{
	char text[64];
	long long ms;
	int n;

	if (!backend_query_number(conn, "ms", BACKEND_SLOW_DEFAULT_MS, BACKEND_SLOW_CAP_MS, &ms))
		return backend_queue_bad_request(conn, "ms must be a non-negative integer");
	if (ms > 0 && !backend_sleep_ms(ctx, (long)ms))
		return MHD_NO; /* shutting down */
	n = snprintf(text, sizeof text, "slow %lld\n", ms);
	if (n < 0 || (size_t)n >= sizeof text)
		return MHD_NO;
	return backend_queue_text(conn, MHD_HTTP_OK, "text/plain; charset=utf-8", text, (size_t)n);
}

static enum MHD_Result backend_serve_status(struct MHD_Connection *conn, const char *code_text)
{
	char text[64];
	long long code;
	int n;

	if (!backend_parse_ll(code_text, 200, 599, &code))
		code = MHD_HTTP_BAD_REQUEST;
	n = snprintf(text, sizeof text, "status %lld\n", code);
	if (n < 0 || (size_t)n >= sizeof text)
		return MHD_NO;
	/* 204 and 304 must not carry a body. */
	if (code == MHD_HTTP_NO_CONTENT || code == MHD_HTTP_NOT_MODIFIED)
		n = 0;
	return backend_queue_text(conn, (unsigned int)code, "text/plain; charset=utf-8", text, (size_t)n);
}

/* Byte i is 'a' + (i / 1024) % 26, so any misplaced offset shows up as a wrong letter. */
static ssize_t backend_big_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	const struct backend_big *big = cls;
	size_t done = 0;

	if (pos >= big->total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if ((uint64_t)max > big->total - pos)
		max = (size_t)(big->total - pos);
	while (done < max) {
		uint64_t at = pos + done;
		size_t run = (size_t)(1024 - at % 1024);

		if (run > max - done)
			run = max - done;
		memset(buf + done, 'a' + (int)((at / 1024) % 26), run);
		done += run;
	}
	return (ssize_t)done;
}

static enum MHD_Result backend_serve_big(struct MHD_Connection *conn)
{
	const char *chunked = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "chunked");
	bool use_chunked = chunked && strcmp(chunked, "0") != 0;
	struct backend_big *big;
	struct MHD_Response *resp;
	long long bytes;

	if (!backend_query_number(conn, "bytes", 1024, (long long)BACKEND_BIG_CAP, &bytes))
		return backend_queue_bad_request(conn, "bytes must be a non-negative integer");
	big = malloc(sizeof *big);
	if (!big)
		return MHD_NO;
	big->total = (uint64_t)bytes;
	resp = MHD_create_response_from_callback(use_chunked ? MHD_SIZE_UNKNOWN : big->total, BACKEND_READER_BLOCK,
						 &backend_big_read, big, &free);
	if (!resp) {
		free(big);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

/* MHD may ask for less than a chunk; the delay is applied once per logical chunk, before its first byte. */
static ssize_t backend_drip_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct backend_drip *drip = cls;
	size_t n;

	(void)pos;
	if (drip->index >= drip->chunks)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (drip->offset == 0 && drip->index > 0 && drip->delay_ms > 0 &&
	    !backend_sleep_ms(drip->ctx, (long)drip->delay_ms))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = drip->size - drip->offset;
	if (n > max)
		n = max;
	memset(buf, 'a' + (int)(drip->index % 26), n);
	drip->offset += n;
	if (drip->offset == drip->size) {
		drip->offset = 0;
		drip->index++;
	}
	return (ssize_t)n;
}

static enum MHD_Result backend_serve_drip(struct backend_ctx *ctx, struct MHD_Connection *conn)
{
	struct backend_drip *drip;
	struct MHD_Response *resp;
	long long chunks, delay, size;

	if (!backend_query_number(conn, "chunks", 5, BACKEND_DRIP_CHUNKS_CAP, &chunks) ||
	    !backend_query_number(conn, "delay_ms", 500, BACKEND_DRIP_DELAY_CAP, &delay) ||
	    !backend_query_number(conn, "size", 1024, BACKEND_DRIP_SIZE_CAP, &size) || size == 0)
		return backend_queue_bad_request(conn, "chunks, delay_ms and size must be integers, size >= 1");
	drip = calloc(1, sizeof *drip);
	if (!drip)
		return MHD_NO;
	drip->ctx = ctx;
	drip->chunks = (unsigned long)chunks;
	drip->delay_ms = (unsigned long)delay;
	drip->size = (size_t)size;
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BACKEND_READER_BLOCK, &backend_drip_read, drip,
						 &free);
	if (!resp) {
		free(drip);
		return MHD_NO;
	}
	if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8") != MHD_YES) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result backend_echo_add_header(void *cls, enum MHD_ValueKind kind, const char *key,
					       size_t key_size, const char *value, size_t value_size)
{
	struct backend_header_walk *walk = cls;
	json_t *pair = json_pack("[o, o]", backend_json_text(key, key_size),
				 backend_json_text(value ? value : "", value ? value_size : 0));

	(void)kind;
	if (json_array_append_new(walk->list, pair) != 0) {
		walk->failed = true;
		return MHD_NO;
	}
	return MHD_YES;
}

static enum MHD_Result backend_serve_echo(struct MHD_Connection *conn, struct backend_request *req,
					  const char *method)
{
	struct backend_header_walk walk = { json_array(), false };
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	if (!walk.list || !req->md || EVP_DigestFinal_ex(req->md, md, &md_len) != 1)
		goto fail;
	backend_hex_encode(md, md_len, hex, sizeof hex);
	if (MHD_get_connection_values_n(conn, MHD_HEADER_KIND, &backend_echo_add_header, &walk) < 0 || walk.failed)
		goto fail;
	return backend_queue_json(conn, MHD_HTTP_OK,
				  json_pack("{s:o, s:o, s:o, s:I, s:s}", "method",
					    backend_json_text(method, strlen(method)), "uri",
					    backend_json_text(req->raw_uri, strlen(req->raw_uri)), "headers", walk.list,
					    "body_bytes", (json_int_t)req->body_bytes, "body_sha256", hex));
fail:
	json_decref(walk.list);
	return MHD_NO;
}

/* Headers a proxy must strip (hop-by-hop) next to ones it must keep; refusals are logged, not fatal. */
static enum MHD_Result backend_serve_hop(struct MHD_Connection *conn)
{
	static const char text[] = "hop\n";
	static const char *const hdrs[] = {
		"Content-Type", "text/plain; charset=utf-8", "Connection", "X-Hop-Custom",
		"X-Hop-Custom", "secret", "Keep-Alive", "timeout=5", "Proxy-Authenticate", "Basic",
		"Trailer", "X-T", "Upgrade", "h2c", "X-Paywall-Backend-Test", "1", "X-End-To-End", "kept",
	};
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof text - 1, (void *)(uintptr_t)text,
								    MHD_RESPMEM_PERSISTENT);
	size_t i;

	if (!resp)
		return MHD_NO;
	for (i = 0; i + 1 < sizeof hdrs / sizeof hdrs[0]; i += 2)
		if (MHD_add_response_header(resp, hdrs[i], hdrs[i + 1]) != MHD_YES)
			fprintf(stderr, "demo-backend: /hop: MHD refused header %s: %s\n", hdrs[i], hdrs[i + 1]);
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result backend_serve_cookies(struct MHD_Connection *conn)
{
	static const char text[] = "cookies\n";
	static const char *const hdrs[] = {
		MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8", MHD_HTTP_HEADER_CACHE_CONTROL, "no-store",
		MHD_HTTP_HEADER_SET_COOKIE, "a=1; Path=/",                 MHD_HTTP_HEADER_SET_COOKIE,    "b=2; Path=/",
	};
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof text - 1, (void *)(uintptr_t)text,
								    MHD_RESPMEM_PERSISTENT);

	if (resp && !backend_add_headers(resp, hdrs, sizeof hdrs / sizeof hdrs[0])) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

static enum MHD_Result backend_serve_stats(struct backend_ctx *ctx, struct MHD_Connection *conn, bool reset)
{
	if (reset) {
		atomic_store(&ctx->requests, 0);
		atomic_store(&ctx->connections, 0);
		atomic_store(&ctx->jwks_fetches, 0);
	}
	return backend_queue_json(conn, MHD_HTTP_OK,
				  json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)atomic_load(&ctx->requests),
					    "connections", (json_int_t)atomic_load(&ctx->connections),
					    "jwks_fetches", (json_int_t)atomic_load(&ctx->jwks_fetches)));
}

/* A page carrying the backend's per-response paywall hints, as a CMS would
 * send them: /hint?access=free|metered|subscribers&article=ID. */
static enum MHD_Result backend_serve_hint(struct MHD_Connection *conn)
{
	const char *access = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "access");
	const char *article = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "article");
	static const char body[] = "<!doctype html><p>hinted page</p>\n";
	struct MHD_Response *resp = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
								     MHD_RESPMEM_PERSISTENT);

	if (resp == NULL)
		return MHD_NO;
	if (MHD_add_response_header(resp, "Content-Type", "text/html; charset=utf-8") != MHD_YES ||
	    (access != NULL && MHD_add_response_header(resp, "X-Paywall-Access", access) != MHD_YES) ||
	    (article != NULL && MHD_add_response_header(resp, "X-Paywall-Article-Id", article) != MHD_YES)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	return backend_queue(conn, MHD_HTTP_OK, resp);
}

/* The identity provider's key set, as a publisher's IdP would publish it. */
static enum MHD_Result backend_serve_jwks(struct backend_ctx *ctx, struct MHD_Connection *conn)
{
	json_error_t jerr;
	json_t *doc;

	atomic_fetch_add(&ctx->jwks_fetches, 1);
	if (ctx->jwks_path == NULL)
		return backend_queue_not_found(conn);
	doc = json_load_file(ctx->jwks_path, 0, &jerr);
	if (doc == NULL)
		return backend_queue_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
					  "jwks unreadable\n", strlen("jwks unreadable\n"));
	return backend_queue_json(conn, MHD_HTTP_OK, doc);
}

/* ------------------------------------------------------------ dispatching */

static bool backend_is_echo(const char *url)
{
	return strcmp(url, "/echo") == 0 || backend_str_has_prefix(url, "/echo/");
}

static bool backend_is_read(const char *method)
{
	return strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
}

static enum MHD_Result backend_route_request(struct backend_ctx *ctx, struct MHD_Connection *conn,
					     struct backend_request *req, const char *url, const char *method)
{
	if (req->too_large)
		return backend_queue_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
					  backend_too_large_text, sizeof backend_too_large_text - 1);
	if (backend_is_echo(url))
		return backend_serve_echo(conn, req, method);
	if (strcmp(url, "/stats/reset") == 0)
		return strcmp(method, MHD_HTTP_METHOD_POST) == 0 ? backend_serve_stats(ctx, conn, true)
								 : backend_queue_bad_method(conn, "POST");
	if (!backend_is_read(method))
		return backend_queue_bad_method(conn, "GET, HEAD");
	if (strcmp(url, "/slow") == 0)
		return backend_serve_slow(ctx, conn);
	if (backend_str_has_prefix(url, "/status/"))
		return backend_serve_status(conn, url + strlen("/status/"));
	if (strcmp(url, "/error") == 0)
		return backend_serve_status(conn, "500");
	if (strcmp(url, "/big") == 0)
		return backend_serve_big(conn);
	if (strcmp(url, "/drip") == 0)
		return backend_serve_drip(ctx, conn);
	if (strcmp(url, "/hop") == 0)
		return backend_serve_hop(conn);
	if (strcmp(url, "/set-cookies") == 0)
		return backend_serve_cookies(conn);
	if (strcmp(url, "/stats") == 0)
		return backend_serve_stats(ctx, conn, false);
	if (strcmp(url, "/.well-known/jwks.json") == 0)
		return backend_serve_jwks(ctx, conn);
	if (strcmp(url, "/hint") == 0 || backend_str_has_prefix(url, "/hint/"))
		return backend_serve_hint(conn);
	return backend_serve_site(ctx, conn, url);
}

/* First call: count the request, refuse oversized declared bodies before any 100-continue goes out. */
static enum MHD_Result backend_begin_request(struct backend_ctx *ctx, struct MHD_Connection *conn,
					     struct backend_request *req, const char *url)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	long long declared;

	req->started = true;
	atomic_fetch_add(&ctx->requests, 1);
	if (cl && backend_parse_ll(cl, 0, LLONG_MAX, &declared) && (uint64_t)declared > BACKEND_BODY_CAP) {
		req->responded = true;
		return backend_queue_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "text/plain; charset=utf-8",
					  backend_too_large_text, sizeof backend_too_large_text - 1);
	}
	if (!backend_is_echo(url))
		return MHD_YES;
	req->md = EVP_MD_CTX_new();
	if (!req->md || EVP_DigestInit_ex(req->md, EVP_sha256(), NULL) != 1)
		return MHD_NO;
	return MHD_YES;
}

/* Bodies are consumed for every request (so keep-alive stays usable) but only hashed for /echo. */
static bool backend_consume_body(struct backend_request *req, const char *data, size_t len)
{
	if (req->too_large)
		return true;
	if (req->body_bytes + len > BACKEND_BODY_CAP) {
		req->too_large = true;
		return true;
	}
	req->body_bytes += len;
	return !req->md || EVP_DigestUpdate(req->md, data, len) == 1;
}

static enum MHD_Result backend_handle_access(void *cls, struct MHD_Connection *conn, const char *url,
					     const char *method, const char *version, const char *upload_data,
					     size_t *upload_data_size, void **req_cls)
{
	struct backend_ctx *ctx = cls;
	struct backend_request *req = *req_cls;

	(void)version;
	if (!req)
		return MHD_NO; /* the URI log callback could not allocate */
	if (!req->started)
		return backend_begin_request(ctx, conn, req, url);
	if (*upload_data_size > 0) {
		bool ok = backend_consume_body(req, upload_data, *upload_data_size);

		*upload_data_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	if (req->responded)
		return MHD_YES;
	req->responded = true;
	return backend_route_request(ctx, conn, req, url, method);
}

static void *backend_log_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct backend_request *req = calloc(1, sizeof *req);

	(void)cls;
	(void)conn;
	if (!req)
		return NULL;
	req->raw_uri = strdup(uri ? uri : "");
	if (!req->raw_uri) {
		free(req);
		return NULL;
	}
	return req;
}

static void backend_complete_request(void *cls, struct MHD_Connection *conn, void **req_cls,
				     enum MHD_RequestTerminationCode toe)
{
	struct backend_request *req = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!req)
		return;
	EVP_MD_CTX_free(req->md);
	free(req->raw_uri);
	free(req);
	*req_cls = NULL;
}

static void backend_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
				      enum MHD_ConnectionNotificationCode toe)
{
	struct backend_ctx *ctx = cls;

	(void)conn;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&ctx->connections, 1);
}

/* ------------------------------------------------------------------- main */

struct backend_options {
	const char *listen;
	const char *root;
	const char *ready_file;
	const char *jwks;
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_storage addr;
	bool ipv6;
};

static void backend_print_usage(void)
{
	fprintf(stderr, "usage: demo-backend --listen HOST:PORT --root DIR [--ready-file FILE] [--jwks FILE]\n");
}

/* "127.0.0.1:8080" or "[::1]:8080"; port 0 asks the kernel for an ephemeral one. */
static bool backend_parse_listen(struct backend_options *opt)
{
	const char *colon = strrchr(opt->listen, ':');
	const char *host = opt->listen;
	size_t host_len;
	long long port;

	if (!colon || !backend_parse_ll(colon + 1, 0, 65535, &port))
		return false;
	host_len = (size_t)(colon - host);
	if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
		host++;
		host_len -= 2;
		opt->ipv6 = true;
	}
	if (host_len == 0 || host_len >= sizeof opt->host)
		return false;
	memcpy(opt->host, host, host_len);
	opt->host[host_len] = '\0';
	memset(&opt->addr, 0, sizeof opt->addr);
	if (opt->ipv6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&opt->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return inet_pton(AF_INET6, opt->host, &sin6->sin6_addr) == 1;
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)&opt->addr;

	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, opt->host, &sin->sin_addr) == 1;
}

static bool backend_parse_args(int argc, char **argv, struct backend_options *opt)
{
	int i;

	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--listen") == 0)
			opt->listen = argv[i + 1];
		else if (strcmp(argv[i], "--root") == 0)
			opt->root = argv[i + 1];
		else if (strcmp(argv[i], "--ready-file") == 0)
			opt->ready_file = argv[i + 1];
		else if (strcmp(argv[i], "--jwks") == 0)
			opt->jwks = argv[i + 1];
		else
			return false;
	}
	return i == argc && opt->listen && opt->root && backend_parse_listen(opt);
}

/* Tests poll for the ready file, so it must never be seen half-written. */
static int backend_write_ready_file(const char *path, unsigned int port)
{
	char tmp[PATH_MAX];
	FILE *fp = NULL;
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof tmp)
		goto fail;
	fp = fopen(tmp, "w");
	if (!fp || fprintf(fp, "%u\n", port) < 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		goto fail;
	n = fclose(fp);
	fp = NULL;
	if (n != 0 || rename(tmp, path) != 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "demo-backend: cannot write ready file %s: %s\n", path, strerror(errno));
	if (fp && fclose(fp) != 0)
		fprintf(stderr, "demo-backend: fclose %s failed\n", tmp);
	return -1;
}

static struct MHD_Daemon *backend_start_daemon(struct backend_ctx *ctx, struct backend_options *opt)
{
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			     MHD_USE_ERROR_LOG | (opt->ipv6 ? MHD_USE_IPv6 : 0);

	return MHD_start_daemon(flags, 0, NULL, NULL, &backend_handle_access, ctx, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&opt->addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)2000,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)30, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
				MHD_OPTION_URI_LOG_CALLBACK, &backend_log_uri, ctx, MHD_OPTION_NOTIFY_COMPLETED,
				&backend_complete_request, ctx, MHD_OPTION_NOTIFY_CONNECTION,
				&backend_notify_connection, ctx, MHD_OPTION_END);
}

static int backend_announce(struct MHD_Daemon *d, const struct backend_options *opt)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	if (!info || info->port == 0) {
		fprintf(stderr, "demo-backend: cannot determine the bound port\n");
		return -1;
	}
	if (opt->ready_file && backend_write_ready_file(opt->ready_file, info->port) != 0)
		return -1;
	fprintf(stderr, "demo-backend: listening on %s%s%s:%u\n", opt->ipv6 ? "[" : "", opt->host,
		opt->ipv6 ? "]" : "", (unsigned int)info->port);
	return 0;
}

/* Signals are blocked before the daemon starts so every MHD thread inherits the mask and sigwait gets them. */
static int backend_block_signals(sigset_t *set)
{
	struct sigaction ign;

	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &ign, NULL) != 0)
		return -1;
	if (sigemptyset(set) != 0 || sigaddset(set, SIGTERM) != 0 || sigaddset(set, SIGINT) != 0)
		return -1;
	return pthread_sigmask(SIG_BLOCK, set, NULL) == 0 ? 0 : -1;
}

static int backend_wait_for_signal(const sigset_t *set)
{
	int sig = 0;

	for (;;) {
		int rc = sigwait(set, &sig);

		if (rc == 0)
			return sig;
		if (rc != EINTR)
			return -1;
	}
}

int main(int argc, char **argv)
{
	struct backend_options opt;
	struct backend_ctx ctx;
	struct MHD_Daemon *d = NULL;
	sigset_t set;
	int rc = 1;
	bool stop_ready = false;

	memset(&opt, 0, sizeof opt);
	memset(&ctx, 0, sizeof ctx);
	atomic_init(&ctx.requests, 0);
	atomic_init(&ctx.connections, 0);
	atomic_init(&ctx.jwks_fetches, 0);
	if (!backend_parse_args(argc, argv, &opt)) {
		backend_print_usage();
		return 2;
	}
	if (backend_init_stop(&ctx) != 0)
		goto out;
	stop_ready = true;
	ctx.jwks_path = opt.jwks;
	if (backend_block_signals(&set) != 0 || backend_load_site(&ctx, opt.root) != 0)
		goto out;
	d = backend_start_daemon(&ctx, &opt);
	if (!d) {
		fprintf(stderr, "demo-backend: cannot listen on %s\n", opt.listen);
		goto out;
	}
	if (backend_announce(d, &opt) != 0 || backend_wait_for_signal(&set) < 0)
		goto out;
	rc = 0;
out:
	if (stop_ready)
		backend_signal_stop(&ctx);
	if (d)
		MHD_stop_daemon(d);
	backend_free_site(&ctx);
	if (stop_ready && (pthread_cond_destroy(&ctx.stop_cond) != 0 || pthread_mutex_destroy(&ctx.stop_lock) != 0))
		rc = 1;
	return rc;
}
