/* accesslog: the tamper-evident access log (JSON lines, writer thread, hash chain). */
#include "accesslog.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

/* Lines per write(2); a batch holds at most this many chains. */
#define AL_BATCH 256
/* A line that still passes ACCESSLOG_LINE_MAX is formatted again with every
 * string cut to this (JSON escaping can grow a string six times). */
#define AL_FIELD_CUT 512
#define AL_ZERO_CHAIN "0000000000000000000000000000000000000000000000000000000000000000"
#define AL_TAIL_OPEN ",\"chain\":\""
#define AL_TS_MAX 80		/* room for any int year, though the clock gives four digits */

/* A queued line: the JSON object without its closing brace. */
struct al_line {
	struct al_line *next;
	size_t len;
	char text[];
};

struct accesslog {
	/* fixed at open */
	char *path;
	char *instance;
	struct cfg_secret key;
	enum audit_client_ip client_ip;
	long long fsync_ms;
	size_t queue_max;

	/* the writer thread's own (and open/close's, before and after it) */
	int fd;
	bool regular;			/* fd is a regular file: fsync, truncation checks */
	off_t size;			/* bytes we know the file holds */
	bool partial;			/* a failed write left half a line */
	bool have_chain;		/* some line precedes the next one */
	char chain[ACCESSLOG_CHAIN_HEX + 1];
	EVP_MAC_CTX *mac;		/* keyed once */
	char batch[AL_BATCH][ACCESSLOG_CHAIN_HEX + 1];	/* chains of the lines in flight */
	bool dirty;			/* written since the last fsync */
	struct timespec last_sync;	/* CLOCK_MONOTONIC */

	/* shared, under lock */
	bool sync_ready;		/* lock and wake initialised */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct al_line *head, *tail;
	size_t queued;
	size_t queued_bytes;
	bool stop;
	bool reopen;
	char published[ACCESSLOG_CHAIN_HEX + 1];	/* chain, for accesslog_last_chain */

	atomic_ullong written;
	atomic_ullong dropped;
	atomic_llong last_drop_warn;	/* monotonic second of the last warning */
	atomic_llong last_io_warn;
};

/* ---- config ---- */

static int audit_parse_client_ip(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	static const char *const names[] = { "truncate", "full", "none" };
	const char *s = cfg_scalar(n);
	enum audit_client_ip *e = value;

	for (size_t i = 0; s != NULL && i < countof(names); i++) {
		if (strcmp(s, names[i]) == 0) {
			*e = (enum audit_client_ip)i;
			return 0;
		}
	}
	cfg_error(c, n, "client_ip: expected truncate, full or none");
	return -1;
}

#define AC(f) offsetof(struct audit_config, f)
static const struct cfg_field audit_fields[] = {
	{ "log", CFG_PATH, AC(log), true, 0, 0, NULL, NULL },
	{ "key_file", CFG_SECRET, AC(key), true, 0, 0, NULL, NULL },
	{ "client_ip", CFG_CUSTOM, AC(client_ip), false, 0, 0, audit_parse_client_ip, NULL },
	{ "fsync_ms", CFG_INT, AC(fsync_ms), false, 0, 60000, NULL, NULL },
	{ "queue_max", CFG_INT, AC(queue_max), false, 16, 10000000, NULL, NULL },
	{ "instance", CFG_STR, AC(instance), false, 0, 0, NULL, NULL },
};
#undef AC

/* The host name, the default instance; "unknown" when there is none. */
static char *audit_default_instance(void)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
		return strdup("unknown");
	host[sizeof(host) - 1] = '\0';
	return strdup(host);
}

int audit_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *value)
{
	struct audit_config *ac = value;

	ac->enabled = true;
	ac->client_ip = AUDIT_IP_TRUNCATE;
	ac->fsync_ms = 1000;
	ac->queue_max = 65536;
	if ((ac->instance = audit_default_instance()) == NULL) {
		cfg_error(c, n, "audit: out of memory");
		return -1;
	}
	if (cfg_parse_map(c, n, audit_fields, countof(audit_fields), ac) != 0)
		return -1;
	if (strlen(ac->instance) > ACCESSLOG_INSTANCE_MAX) {
		cfg_error(c, n, "audit: instance is longer than %d bytes", ACCESSLOG_INSTANCE_MAX);
		return -1;
	}
	return 0;
}

void audit_config_free(struct audit_config *ac)
{
	if (ac == NULL)
		return;
	cfg_free_fields(audit_fields, countof(audit_fields), ac);
}

/* ---- small helpers ---- */

static long long al_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* True at most once a second per limiter: for warnings under load. */
static bool al_rate_ok(atomic_llong *last)
{
	long long now = al_mono_ms() / 1000, prev = atomic_load(last);

	return prev != now && atomic_compare_exchange_strong(last, &prev, now);
}

static void al_hex(const unsigned char *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" for Unix milliseconds. */
static void al_format_ts(int64_t ms, char out[AL_TS_MAX])
{
	int64_t s = ms / 1000, frac = ms % 1000;
	struct tm tm;
	time_t t;

	if (frac < 0) {
		frac += 1000;
		s--;
	}
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, AL_TS_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)frac);
}

/* ---- pseudonyms and client addresses ---- */

void accesslog_pseudonym(const struct cfg_secret *key, const char *kind, const void *data,
			 size_t len, char out[ACCESSLOG_PSEUDONYM_HEX + 1])
{
	unsigned char stack[512], mac[EVP_MAX_MD_SIZE], *msg = stack;
	size_t klen = strlen(kind), n = klen + 1 + len;
	unsigned int maclen = 0;

	memset(out, '0', ACCESSLOG_PSEUDONYM_HEX);
	out[ACCESSLOG_PSEUDONYM_HEX] = '\0';
	if (n > sizeof(stack) && (msg = malloc(n)) == NULL)
		return;
	memcpy(msg, kind, klen);
	msg[klen] = ':';
	if (len > 0)
		memcpy(msg + klen + 1, data, len);
	if (HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, n, mac, &maclen) != NULL &&
	    maclen >= ACCESSLOG_PSEUDONYM_HEX / 2)
		al_hex(mac, ACCESSLOG_PSEUDONYM_HEX / 2, out);
	if (msg != stack)
		free(msg);
}

/* The client as configured: a /24 or /48 range, the address, or NULL. An
 * IPv4-mapped IPv6 address is an IPv4 reader: it gets /24, not /48 (which
 * would leave the whole IPv4 address visible). */
static void al_client(enum audit_client_ip mode, const struct netaddr *a, char *out,
		      size_t outlen)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char text[NETADDR_STR_MAX];
	struct netaddr t = *a;

	if (mode == AUDIT_IP_FULL) {
		netaddr_format(a, out);
		return;
	}
	if (t.family == AF_INET6 && memcmp(t.bytes, mapped, sizeof(mapped)) == 0) {
		t.family = AF_INET;
		memmove(t.bytes, t.bytes + 12, 4);
		memset(t.bytes + 4, 0, 12);
	}
	if (t.family == AF_INET)
		t.bytes[3] = 0;
	else
		memset(t.bytes + 6, 0, 10);
	netaddr_format(&t, text);
	snprintf(out, outlen, "%s/%s", text, t.family == AF_INET ? "24" : "48");
}

/* ---- formatting ---- */

/* A JSON string of at most cut bytes of s, cut at a UTF-8 boundary; bytes
 * that are not UTF-8 become '?'. NULL s gives null. */
static json_t *al_str(const char *s, size_t cut)
{
	size_t len;
	json_t *j;
	char *copy;

	if (s == NULL)
		return json_null();
	len = strnlen(s, cut + 1);
	if (len > cut) {
		len = cut;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
	}
	if ((j = json_stringn(s, len)) != NULL)
		return j;
	if ((copy = malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

static json_t *al_int(long long v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* Sets key to v (stolen); remembers a failure in *ok. */
static void al_set(json_t *o, const char *key, json_t *v, bool *ok)
{
	if (v == NULL || json_object_set_new(o, key, v) != 0)
		*ok = false;
}

static json_t *al_object(const struct accesslog *l, const struct accesslog_record *r,
			 size_t cut)
{
	char ts[AL_TS_MAX], client[NETADDR_STR_MAX + 8], vis[ACCESSLOG_PSEUDONYM_HEX + 1],
	     usr[ACCESSLOG_PSEUDONYM_HEX + 1];
	json_t *o = json_object();
	bool ok = o != NULL;

	al_format_ts(r->ts_ms, ts);
	if (r->client != NULL && l->client_ip != AUDIT_IP_NONE)
		al_client(l->client_ip, r->client, client, sizeof(client));
	if (r->visitor != NULL)
		accesslog_pseudonym(&l->key, "visitor", r->visitor, 16, vis);
	if (r->user != NULL)
		accesslog_pseudonym(&l->key, "user", r->user, strlen(r->user), usr);
	if (!ok)
		return NULL;
	al_set(o, "ts", json_string(ts), &ok);
	al_set(o, "id", al_str(r->id, cut), &ok);
	al_set(o, "instance", al_str(l->instance, cut), &ok);
	al_set(o, "method", al_str(r->method, cut), &ok);
	al_set(o, "path", al_str(r->path, cut), &ok);
	al_set(o, "status", r->status > 0 ? json_integer(r->status) : json_null(), &ok);
	al_set(o, "bytes", al_int(r->bytes), &ok);
	al_set(o, "ms", al_int(r->ms), &ok);
	al_set(o, "upstream_ms", al_int(r->upstream_ms), &ok);
	al_set(o, "client", r->client != NULL && l->client_ip != AUDIT_IP_NONE ?
	       json_string(client) : json_null(), &ok);
	al_set(o, "decision", al_str(r->decision, cut), &ok);
	al_set(o, "reason", al_str(r->reason, cut), &ok);
	al_set(o, "promotion", al_str(r->promotion, cut), &ok);
	al_set(o, "article", al_str(r->article, cut), &ok);
	al_set(o, "meter_used", al_int(r->meter_used), &ok);
	al_set(o, "meter_limit", al_int(r->meter_limit), &ok);
	al_set(o, "token", al_str(r->token, cut), &ok);
	al_set(o, "visitor", r->visitor != NULL ? json_string(vis) : json_null(), &ok);
	al_set(o, "user", r->user != NULL ? json_string(usr) : json_null(), &ok);
	al_set(o, "crawler", json_boolean(r->crawler), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* The object as a queued line: compact JSON without its closing brace. */
static struct al_line *al_line_from(json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct al_line *line = NULL;
	size_t len;

	if (text == NULL)
		return NULL;
	len = strlen(text);
	assert(len >= 2 && text[len - 1] == '}');
	if (len + ACCESSLOG_CHAIN_TAIL - 1 <= ACCESSLOG_LINE_MAX &&
	    (line = malloc(sizeof(*line) + len)) != NULL) {
		line->next = NULL;
		line->len = len - 1;
		memcpy(line->text, text, len - 1);
	}
	free(text);
	return line;
}

static struct al_line *al_format(const struct accesslog *l, const struct accesslog_record *r)
{
	json_t *o = al_object(l, r, ACCESSLOG_FIELD_MAX);
	struct al_line *line = al_line_from(o);

	json_decref(o);
	if (line == NULL && o != NULL) {
		/* too long: the same with every string cut short */
		o = al_object(l, r, AL_FIELD_CUT);
		line = al_line_from(o);
		json_decref(o);
	}
	return line;
}

static void al_drop(struct accesslog *l, unsigned long long n, const char *why)
{
	unsigned long long total = atomic_fetch_add(&l->dropped, n) + n;

	if (al_rate_ok(&l->last_drop_warn))
		log_warn("accesslog", "%s: %llu lines dropped so far (%s)", l->path, total, why);
}

/* ---- the chain ---- */

/* chain = hex HMAC(key, prev || body || "}"). 0 / -1. */
static int al_chain(struct accesslog *l, const char *prev, const char *body, size_t len,
		    char out[ACCESSLOG_CHAIN_HEX + 1])
{
	unsigned char mac[32];
	size_t maclen = 0;

	if (EVP_MAC_init(l->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(l->mac, (const unsigned char *)prev, ACCESSLOG_CHAIN_HEX) != 1 ||
	    EVP_MAC_update(l->mac, (const unsigned char *)body, len) != 1 ||
	    EVP_MAC_update(l->mac, (const unsigned char *)"}", 1) != 1 ||
	    EVP_MAC_final(l->mac, mac, &maclen, sizeof(mac)) != 1 || maclen != sizeof(mac))
		return -1;
	al_hex(mac, sizeof(mac), out);
	return 0;
}

static EVP_MAC_CTX *al_mac_new(const struct cfg_secret *key)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	EVP_MAC_free(mac);	/* the context keeps its own reference */
	if (ctx != NULL && EVP_MAC_init(ctx, key->bytes, key->len, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

/* Appends body + its chain tail + newline to b, chained from prev. */
static int al_append_chained(struct accesslog *l, struct buf *b, const char *prev,
			     const char *body, size_t len, char chain[ACCESSLOG_CHAIN_HEX + 1])
{
	if (al_chain(l, prev, body, len, chain) != 0)
		return -1;
	if (buf_append(b, body, len) != 0 || buf_append_str(b, AL_TAIL_OPEN) != 0 ||
	    buf_append(b, chain, ACCESSLOG_CHAIN_HEX) != 0 || buf_append_str(b, "\"}\n") != 0)
		return -1;
	return 0;
}

/* ---- the file ---- */

/* write(2) until done or an error; returns the bytes written. */
static size_t al_write_all(int fd, const char *p, size_t len, int *err)
{
	size_t done = 0;

	*err = 0;
	while (done < len) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*err = n < 0 ? errno : EIO;
			break;
		}
		done += (size_t)n;
	}
	return done;
}

static void al_publish(struct accesslog *l)
{
	pthread_mutex_lock(&l->lock);
	memcpy(l->published, l->chain, sizeof(l->published));
	pthread_mutex_unlock(&l->lock);
}

/*
 * Writes chained lines from b: they start at offset start (after a newline
 * ending a half line), ends[i] is the offset after line i, chains[i] its
 * chain. Lines written whole advance the chain; the caller drops the rest.
 * Writer only. Returns the number of lines written whole.
 */
static size_t al_flush(struct accesslog *l, struct buf *b, size_t start, const size_t *ends,
		       char (*chains)[ACCESSLOG_CHAIN_HEX + 1], size_t n)
{
	size_t done, whole = 0;
	int err;

	if (n == 0)
		return 0;
	done = al_write_all(l->fd, b->data, b->len, &err);
	while (whole < n && ends[whole] <= done)
		whole++;
	if (whole > 0) {
		memcpy(l->chain, chains[whole - 1], sizeof(l->chain));
		l->have_chain = true;
		al_publish(l);
	}
	l->size += (off_t)done;
	l->dirty |= done > 0;
	if (done >= start)
		l->partial = done > (whole > 0 ? ends[whole - 1] : start);
	if (whole < n && al_rate_ok(&l->last_io_warn))
		log_error("accesslog", "write to %s failed: %s", l->path, strerror(err));
	return whole;
}

/* The header line that starts a file continuing the chain. 0 / -1. */
static int al_write_header(struct accesslog *l, int64_t now_ms)
{
	char ts[AL_TS_MAX], chain[ACCESSLOG_CHAIN_HEX + 1];
	json_t *o = json_object();
	struct al_line *line;
	struct buf b;
	bool ok = o != NULL;
	size_t end;
	int rc = -1;

	al_format_ts(now_ms, ts);
	if (ok) {
		al_set(o, "type", json_string("header"), &ok);
		al_set(o, "ts", json_string(ts), &ok);
		al_set(o, "instance", al_str(l->instance, ACCESSLOG_FIELD_MAX), &ok);
		al_set(o, "prev_chain", json_string(l->chain), &ok);
	}
	line = ok ? al_line_from(o) : NULL;
	json_decref(o);
	if (line == NULL)
		return -1;
	buf_init(&b, ACCESSLOG_LINE_MAX + 2);
	if ((!l->partial || buf_append_str(&b, "\n") == 0) &&
	    al_append_chained(l, &b, l->chain, line->text, line->len, chain) == 0) {
		end = b.len;
		rc = al_flush(l, &b, l->partial ? 1 : 0, &end, &chain, 1) == 1 ? 0 : -1;
	}
	buf_free(&b);
	free(line);
	return rc;
}

static int64_t al_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The chain of the last line of a non-empty file, so a restart continues
 * it. A file cut in the middle of a line gets a newline first (partial).
 * 0, or -1 when the last line carries no chain (damaged or not our log).
 */
static int al_read_last_chain(int fd, off_t size, char chain[ACCESSLOG_CHAIN_HEX + 1],
			      bool *partial)
{
	size_t want = size < ACCESSLOG_LINE_MAX + 2 ? (size_t)size : ACCESSLOG_LINE_MAX + 2;
	char *tail = malloc(want + 1), *end, *start;
	int rc = -1;

	if (tail == NULL || pread(fd, tail, want, size - (off_t)want) != (ssize_t)want)
		goto out;
	*partial = tail[want - 1] != '\n';
	end = tail + want - (*partial ? 0 : 1);
	start = end;
	while (start > tail && start[-1] != '\n')
		start--;
	if (end - start < ACCESSLOG_CHAIN_TAIL ||
	    memcmp(end - ACCESSLOG_CHAIN_TAIL, AL_TAIL_OPEN, strlen(AL_TAIL_OPEN)) != 0 ||
	    memcmp(end - 2, "\"}", 2) != 0)
		goto out;
	memcpy(chain, end - ACCESSLOG_CHAIN_TAIL + strlen(AL_TAIL_OPEN), ACCESSLOG_CHAIN_HEX);
	chain[ACCESSLOG_CHAIN_HEX] = '\0';
	if (strspn(chain, "0123456789abcdef") != ACCESSLOG_CHAIN_HEX)
		goto out;
	rc = 0;
out:
	free(tail);
	return rc;
}

/* Opens path for appending into l->fd and learns what is in it. 0 / -1. */
static int al_open_file(struct accesslog *l, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", l->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (l->fd >= 0)
		close(l->fd);
	l->fd = fd;
	l->regular = S_ISREG(st.st_mode);
	l->size = l->regular ? st.st_size : 0;
	l->partial = false;
	return 0;
}

/* At open: continue the chain of a non-empty log after a header. */
static int al_continue(struct accesslog *l, char *err, size_t errlen)
{
	int rfd;

	if (!l->regular || l->size == 0)
		return 0;
	rfd = open(l->path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0 || al_read_last_chain(rfd, l->size, l->chain, &l->partial) != 0) {
		log_warn("accesslog", "%s: the last line carries no chain (damaged?): the chain "
			 "restarts from zeros and verification will stop there", l->path);
		memcpy(l->chain, AL_ZERO_CHAIN, sizeof(l->chain));
	}
	if (rfd >= 0)
		close(rfd);
	l->have_chain = true;
	al_publish(l);
	log_info("accesslog", "%s: continuing the chain from %s", l->path, l->chain);
	if (al_write_header(l, al_now_ms()) != 0) {
		snprintf(err, errlen, "cannot write the header line to %s", l->path);
		return -1;
	}
	return 0;
}

/* SIGUSR1: the same path, a new file (or the same one, which is harmless). */
static void al_reopen_file(struct accesslog *l)
{
	char err[512];

	if (l->regular && l->dirty && fsync(l->fd) != 0)
		log_error("accesslog", "fsync of %s failed: %s", l->path, strerror(errno));
	l->dirty = false;
	if (al_open_file(l, err, sizeof(err)) != 0) {
		log_error("accesslog", "reopen failed, still writing to the old file: %s", err);
		return;
	}
	if (l->have_chain && al_write_header(l, al_now_ms()) != 0)
		log_error("accesslog", "%s: cannot write the header line", l->path);
	log_info("accesslog", "reopened %s, last chain %s", l->path, l->chain);
}

/* A file shorter than what we wrote was truncated under us (copytruncate):
 * it gets a header first, so it verifies on its own. */
static void al_check_truncated(struct accesslog *l)
{
	struct stat st;

	if (!l->regular || fstat(l->fd, &st) != 0)
		return;
	if (st.st_size >= l->size) {
		l->size = st.st_size;	/* another writer appended: not ours to judge */
		return;
	}
	log_info("accesslog", "%s was truncated (copytruncate?): starting it with a header",
		 l->path);
	l->size = st.st_size;
	l->partial = false;
	if (l->have_chain && al_write_header(l, al_now_ms()) != 0)
		log_error("accesslog", "%s: cannot write the header line", l->path);
}

/* Chains up to AL_BATCH lines from *line into b, freeing them; ends[] as
 * al_flush wants them. Returns how many; a line that cannot be chained
 * (out of memory) is dropped. */
static size_t al_fill(struct accesslog *l, struct buf *b, struct al_line **line, size_t *ends)
{
	const char *prev = l->have_chain ? l->chain : AL_ZERO_CHAIN;
	size_t n = 0;

	while (*line != NULL && n < AL_BATCH) {
		struct al_line *cur = *line;
		size_t before = b->len;
		*line = cur->next;
		if (al_append_chained(l, b, prev, cur->text, cur->len, l->batch[n]) != 0) {
			b->len = before;
			al_drop(l, 1, "cannot chain the line");
		} else {
			ends[n] = b->len;
			prev = l->batch[n++];
		}
		free(cur);
	}
	return n;
}

/* Writes the queued lines AL_BATCH at a time, freeing them. Writer only. */
static void al_write_lines(struct accesslog *l, struct al_line *line)
{
	size_t ends[AL_BATCH], n, start;
	struct buf b;

	buf_init(&b, (size_t)AL_BATCH * (ACCESSLOG_LINE_MAX + 1) + 1);
	while (line != NULL) {
		al_check_truncated(l);
		buf_reset(&b);
		start = l->partial && buf_append_str(&b, "\n") == 0 ? 1 : 0;
		n = al_fill(l, &b, &line, ends);
		size_t whole = al_flush(l, &b, start, ends, l->batch, n);
		atomic_fetch_add(&l->written, whole);
		if (whole < n)
			al_drop(l, n - whole, "write failed");
	}
	buf_free(&b);
}

static void al_sync(struct accesslog *l)
{
	if (l->dirty && l->regular && fsync(l->fd) != 0 && al_rate_ok(&l->last_io_warn))
		log_error("accesslog", "fsync of %s failed: %s", l->path, strerror(errno));
	l->dirty = false;
	clock_gettime(CLOCK_MONOTONIC, &l->last_sync);
}

static bool al_sync_due(const struct accesslog *l)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - l->last_sync.tv_sec) * 1000 +
	     (now.tv_nsec - l->last_sync.tv_nsec) / 1000000;
	return l->dirty && ms >= l->fsync_ms;
}

/* Waits (lock held) for lines, a reopen, a stop, or the next fsync. */
static void al_wait(struct accesslog *l)
{
	while (!l->stop && !l->reopen && l->head == NULL) {
		if (!l->dirty) {
			pthread_cond_wait(&l->wake, &l->lock);
			continue;
		}
		struct timespec until = l->last_sync;
		until.tv_sec += l->fsync_ms / 1000;
		until.tv_nsec += (l->fsync_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		if (pthread_cond_timedwait(&l->wake, &l->lock, &until) == ETIMEDOUT)
			return;
	}
}

static void *al_run(void *arg)
{
	struct accesslog *l = arg;
	bool stop = false;

	while (!stop) {
		pthread_mutex_lock(&l->lock);
		al_wait(l);
		struct al_line *batch = l->head;
		bool reopen = l->reopen;
		l->head = l->tail = NULL;
		l->queued = 0;
		l->queued_bytes = 0;
		l->reopen = false;
		stop = l->stop;
		pthread_mutex_unlock(&l->lock);

		al_write_lines(l, batch);
		if (reopen)
			al_reopen_file(l);
		if (stop || al_sync_due(l))
			al_sync(l);
	}
	return NULL;
}

/* ---- public ---- */

static void al_free(struct accesslog *l)
{
	if (l->sync_ready) {
		pthread_cond_destroy(&l->wake);
		pthread_mutex_destroy(&l->lock);
	}
	EVP_MAC_CTX_free(l->mac);
	cfg_secret_free(&l->key);
	free(l->path);
	free(l->instance);
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static int al_copy_config(struct accesslog *l, const struct audit_config *cfg)
{
	l->path = strdup(cfg->log);
	l->instance = strdup(cfg->instance != NULL ? cfg->instance : "unknown");
	l->key.bytes = malloc(cfg->key.len);
	if (l->path == NULL || l->instance == NULL || l->key.bytes == NULL)
		return -1;
	memcpy(l->key.bytes, cfg->key.bytes, cfg->key.len);
	l->key.len = cfg->key.len;
	l->client_ip = cfg->client_ip;
	l->fsync_ms = cfg->fsync_ms;
	l->queue_max = (size_t)cfg->queue_max;
	return (l->mac = al_mac_new(&l->key)) != NULL ? 0 : -1;
}

static int al_init_sync(struct accesslog *l)
{
	pthread_condattr_t ca;
	int rc = -1;

	if (pthread_condattr_init(&ca) != 0)
		return -1;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&l->wake, &ca) == 0) {
		if (pthread_mutex_init(&l->lock, NULL) == 0)
			rc = 0;
		else
			pthread_cond_destroy(&l->wake);
	}
	pthread_condattr_destroy(&ca);
	l->sync_ready = rc == 0;
	return rc;
}

int accesslog_open(const struct audit_config *cfg, struct accesslog **out, char *err,
		   size_t errlen)
{
	struct accesslog *l = calloc(1, sizeof(*l));

	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->fd = -1;
	memcpy(l->chain, AL_ZERO_CHAIN, sizeof(l->chain));
	memcpy(l->published, AL_ZERO_CHAIN, sizeof(l->published));
	if (cfg->log == NULL || cfg->key.bytes == NULL || cfg->key.len == 0) {
		snprintf(err, errlen, "no log file or key configured");
		goto fail;
	}
	if (al_copy_config(l, cfg) != 0 || al_init_sync(l) != 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* No thread yet: the writer's fields are ours for now. */
	if (al_open_file(l, err, errlen) != 0 || al_continue(l, err, errlen) != 0)
		goto fail;
	clock_gettime(CLOCK_MONOTONIC, &l->last_sync);
	if (pthread_create(&l->thread, NULL, al_run, l) != 0) {
		snprintf(err, errlen, "cannot start the writer thread");
		goto fail;
	}
	*out = l;
	return 0;
fail:
	al_free(l);
	return -1;
}

void accesslog_write(struct accesslog *l, const struct accesslog_record *r)
{
	struct al_line *line;
	bool queued = false;

	if (l == NULL)
		return;
	if ((line = al_format(l, r)) == NULL) {
		al_drop(l, 1, "cannot format the line");
		return;
	}
	pthread_mutex_lock(&l->lock);
	if (l->queued < l->queue_max && l->queued_bytes + line->len <= ACCESSLOG_QUEUE_BYTES_MAX &&
	    !l->stop) {
		if (l->tail != NULL)
			l->tail->next = line;
		else
			l->head = line;
		l->tail = line;
		l->queued_bytes += line->len;
		/* The writer sleeps only on an empty queue. */
		if (l->queued++ == 0)
			pthread_cond_signal(&l->wake);
		queued = true;
	}
	pthread_mutex_unlock(&l->lock);
	if (!queued) {
		free(line);
		al_drop(l, 1, "queue full");
	}
}

void accesslog_reopen(struct accesslog *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->reopen = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
}

unsigned long long accesslog_dropped(const struct accesslog *l)
{
	return l != NULL ? atomic_load(&((struct accesslog *)l)->dropped) : 0;
}

unsigned long long accesslog_written(const struct accesslog *l)
{
	return l != NULL ? atomic_load(&((struct accesslog *)l)->written) : 0;
}

void accesslog_last_chain(struct accesslog *l, char out[ACCESSLOG_CHAIN_HEX + 1])
{
	pthread_mutex_lock(&l->lock);
	memcpy(out, l->published, ACCESSLOG_CHAIN_HEX + 1);
	pthread_mutex_unlock(&l->lock);
}

void accesslog_close(struct accesslog *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	log_info("accesslog", "%s closed: %llu lines written, %llu dropped, last chain %s",
		 l->path, accesslog_written(l), accesslog_dropped(l), l->chain);
	al_free(l);
}
