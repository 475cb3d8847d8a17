/* audit: `paywallctl audit`: verify, summarize and search access logs. */
#include "audit.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accesslog.h"
#include "cfg.h"
#include "config.h"
#include "timefmt.h"
#include "visitor.h"

#define countof(a) (sizeof(a) / sizeof((a)[0]))

#define AUDIT_HEADER_START "{\"type\":\"header\","
#define AUDIT_TAIL_OPEN ",\"chain\":\""
#define AUDIT_ZERO_CHAIN "0000000000000000000000000000000000000000000000000000000000000000"
#define AUDIT_DIAG_PER_FILE 10
#define AUDIT_NULL_GROUP "-"
#define AUDIT_OTHER_GROUP "other"

/* ---- reading lines in constant memory ---- */

struct audit_reader {
	FILE *in;
	char *line;			/* ACCESSLOG_LINE_MAX + 1 bytes */
	size_t len;
	unsigned long long no;		/* 1-based number of the current line */
	bool too_long;			/* the line went past the buffer; the rest was skipped */
};

static int audit_reader_init(struct audit_reader *r, FILE *in)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->line = malloc(ACCESSLOG_LINE_MAX + 1);
	return r->line != NULL ? 0 : -1;
}

static void audit_reader_free(struct audit_reader *r)
{
	free(r->line);
	r->line = NULL;
}

/* The next line without its newline (NUL-terminated, but it may hold NULs:
 * use len). 1: a line; 0: the end; -1: a read error. */
static int audit_read_line(struct audit_reader *r)
{
	int c = getc_unlocked(r->in);

	r->len = 0;
	r->too_long = false;
	if (c == EOF)
		return ferror(r->in) ? -1 : 0;
	r->no++;
	while (c != EOF && c != '\n') {
		if (r->len < ACCESSLOG_LINE_MAX)
			r->line[r->len++] = (char)c;
		else
			r->too_long = true;
		c = getc_unlocked(r->in);
	}
	r->line[r->len] = '\0';
	return c == EOF && ferror(r->in) ? -1 : 1;
}

static bool audit_is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Whether the line ends with ,"chain":"<64 hex>"} */
static bool audit_has_tail(const char *line, size_t len)
{
	const char *t;

	if (len < ACCESSLOG_CHAIN_TAIL)
		return false;
	t = line + len - ACCESSLOG_CHAIN_TAIL;
	return memcmp(t, AUDIT_TAIL_OPEN, 10) == 0 && audit_is_hex(t + 10, ACCESSLOG_CHAIN_HEX) &&
	       memcmp(t + 74, "\"}", 2) == 0;
}

static bool audit_is_header(const char *line, size_t len)
{
	size_t n = strlen(AUDIT_HEADER_START);

	return len >= n && memcmp(line, AUDIT_HEADER_START, n) == 0;
}

/* A line as a JSON object, or NULL. */
static json_t *audit_parse(const struct audit_reader *r)
{
	json_t *o;

	if (r->too_long)
		return NULL;
	o = json_loadb(r->line, r->len, JSON_REJECT_DUPLICATES, NULL);
	if (o != NULL && !json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

static FILE *audit_open(const char *name)
{
	return strcmp(name, "-") == 0 ? stdin : fopen(name, "r");
}

static void audit_close(FILE *f)
{
	if (f != NULL && f != stdin)
		fclose(f);
}

/* ---- verify ---- */

struct audit_verifier {
	EVP_MAC_CTX *mac;
	char chain[ACCESSLOG_CHAIN_HEX + 1];
	bool started;			/* a line has been seen */
	bool continues;			/* the first line was a header */
	char first[ACCESSLOG_CHAIN_HEX + 1];	/* its prev_chain */
	char *first_name;
	char *last_name;		/* the file of the last line */
	unsigned long long last_no;
	unsigned long long lines;
	size_t files;
};

struct audit_verifier *audit_verifier_new(const unsigned char *key, size_t keylen)
{
	struct audit_verifier *v = calloc(1, sizeof(*v));
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};

	if (v != NULL && mac != NULL)
		v->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (v == NULL || v->mac == NULL || EVP_MAC_init(v->mac, key, keylen, params) != 1) {
		audit_verifier_free(v);
		return NULL;
	}
	memcpy(v->chain, AUDIT_ZERO_CHAIN, sizeof(v->chain));
	return v;
}

void audit_verifier_free(struct audit_verifier *v)
{
	if (v == NULL)
		return;
	EVP_MAC_CTX_free(v->mac);
	free(v->first_name);
	free(v->last_name);
	free(v);
}

static int audit_broken(const char *name, unsigned long long no, char *msg, size_t msglen,
			const char *why)
{
	snprintf(msg, msglen, "%s:%llu: chain broken (%s)", name, no, why);
	return 1;
}

/* The prev_chain of a header line. 0 / -1. */
static int audit_header_prev(const struct audit_reader *r, char out[ACCESSLOG_CHAIN_HEX + 1])
{
	json_t *o = audit_parse(r);
	const char *p = json_string_value(json_object_get(o, "prev_chain"));
	int rc = -1;

	if (p != NULL && strlen(p) == ACCESSLOG_CHAIN_HEX && audit_is_hex(p, ACCESSLOG_CHAIN_HEX)) {
		memcpy(out, p, ACCESSLOG_CHAIN_HEX + 1);
		rc = 0;
	}
	json_decref(o);
	return rc;
}

/* Where the chain must come from for this line: headers say it, a later
 * file's first line must be a header. NULL, or why it is broken. */
static const char *audit_verify_link(struct audit_verifier *v, const struct audit_reader *r,
				     const char *name)
{
	char prev[ACCESSLOG_CHAIN_HEX + 1];

	if (!audit_is_header(r->line, r->len)) {
		if (r->no == 1 && v->started)
			return "a later file must start with a header line: files out of order "
			       "or one missing";
		return NULL;
	}
	if (audit_header_prev(r, prev) != 0)
		return "a header line without a valid prev_chain";
	if (!v->started) {
		memcpy(v->chain, prev, sizeof(v->chain));
		memcpy(v->first, prev, sizeof(v->first));
		v->continues = true;
		v->first_name = strdup(name);
		return NULL;
	}
	if (CRYPTO_memcmp(prev, v->chain, ACCESSLOG_CHAIN_HEX) != 0)
		return "the header's prev_chain is not the chain before it: a file missing, "
		       "out of order, or lines lost before it";
	return NULL;
}

static const char *audit_verify_mac(struct audit_verifier *v, const struct audit_reader *r)
{
	unsigned char mac[32];
	char hex[ACCESSLOG_CHAIN_HEX + 1];
	size_t maclen = 0, body = r->len - ACCESSLOG_CHAIN_TAIL;
	static const char digits[] = "0123456789abcdef";

	if (EVP_MAC_init(v->mac, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(v->mac, (const unsigned char *)v->chain, ACCESSLOG_CHAIN_HEX) != 1 ||
	    EVP_MAC_update(v->mac, (const unsigned char *)r->line, body) != 1 ||
	    EVP_MAC_update(v->mac, (const unsigned char *)"}", 1) != 1 ||
	    EVP_MAC_final(v->mac, mac, &maclen, sizeof(mac)) != 1 || maclen != sizeof(mac))
		return "cannot compute the HMAC";
	for (size_t i = 0; i < sizeof(mac); i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[ACCESSLOG_CHAIN_HEX] = '\0';
	if (CRYPTO_memcmp(hex, r->line + body + 10, ACCESSLOG_CHAIN_HEX) != 0)
		return "the line was edited, inserted, deleted or moved (its chain does not "
		       "follow from the line before)";
	memcpy(v->chain, hex, sizeof(v->chain));
	return NULL;
}

/* One line. NULL when it follows, else why not. */
static const char *audit_verify_line(struct audit_verifier *v, const struct audit_reader *r,
				     const char *name)
{
	const char *why;

	if (r->too_long)
		return "line longer than 64 KiB";
	if (!audit_has_tail(r->line, r->len))
		return "the line does not end with its chain field: damaged, cut or not a log line";
	if ((why = audit_verify_link(v, r, name)) != NULL || (why = audit_verify_mac(v, r)) != NULL)
		return why;
	v->started = true;
	v->lines++;
	return NULL;
}

int audit_verifier_feed(struct audit_verifier *v, const char *name, FILE *in, char *msg,
			size_t msglen)
{
	struct audit_reader r;
	const char *why = NULL;
	int got, rc = 0;

	if (audit_reader_init(&r, in) != 0) {
		snprintf(msg, msglen, "%s: out of memory", name);
		return -1;
	}
	flockfile(in);
	while ((got = audit_read_line(&r)) == 1) {
		if ((why = audit_verify_line(v, &r, name)) != NULL)
			break;
	}
	funlockfile(in);
	v->files++;
	if (why != NULL) {
		rc = audit_broken(name, r.no, msg, msglen, why);
	} else if (got < 0) {
		snprintf(msg, msglen, "%s:%llu: read error: %s", name, r.no + 1, strerror(errno));
		rc = -1;
	} else if (r.no > 0) {
		free(v->last_name);
		v->last_name = strdup(name);
		v->last_no = r.no;
	}
	audit_reader_free(&r);
	return rc;
}

int audit_verifier_finish(struct audit_verifier *v, const char *expect_last, char *msg,
			  size_t msglen)
{
	int n;

	if (expect_last != NULL && (strlen(expect_last) != ACCESSLOG_CHAIN_HEX ||
				    CRYPTO_memcmp(expect_last, v->chain, ACCESSLOG_CHAIN_HEX) != 0)) {
		snprintf(msg, msglen, "%s:%llu: chain broken (the sequence ends with chain %s, "
			 "expected %s: lines removed from its end, or a newer file missing)",
			 v->last_name ? v->last_name : "(no lines)", v->last_no, v->chain,
			 expect_last);
		return 1;
	}
	n = snprintf(msg, msglen, "ok: %llu lines in %zu files", v->lines, v->files);
	if (v->continues && n >= 0 && (size_t)n < msglen)
		snprintf(msg + n, msglen - (size_t)n, "\nnote: %s starts with a header: it "
			 "continues chain %s of an earlier file, which was not checked",
			 v->first_name ? v->first_name : "the first file", v->first);
	return 0;
}

int audit_verify_files(const unsigned char *key, size_t keylen, const char *const *files,
		       size_t n, const char *expect_last, char *msg, size_t msglen)
{
	struct audit_verifier *v = audit_verifier_new(key, keylen);
	int rc = 0;

	if (v == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		FILE *f = audit_open(files[i]);
		if (f == NULL) {
			snprintf(msg, msglen, "%s: cannot open: %s", files[i], strerror(errno));
			rc = -1;
			break;
		}
		rc = audit_verifier_feed(v, files[i], f, msg, msglen);
		audit_close(f);
	}
	if (rc == 0)
		rc = audit_verifier_finish(v, expect_last, msg, msglen);
	audit_verifier_free(v);
	return rc;
}

/* ---- times ---- */

int audit_time_parse(const char *s, int64_t *ms)
{
	int64_t sec;
	int frac = 0, digits = 0;

	if (timefmt_parse_rfc3339(s, &sec) != 0 || sec > INT64_MAX / 1000 - 1 ||
	    sec < INT64_MIN / 1000 + 1)
		return -1;
	/* timefmt checked the shape: a fraction, if any, starts at offset 19. */
	if (s[19] == '.') {
		for (const char *p = s + 20; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		for (; digits < 3; digits++)
			frac *= 10;
	}
	*ms = sec * 1000 + frac;
	return 0;
}

/* ---- summary ---- */

struct audit_group {
	char *key;
	unsigned long long n, teaser, full;
};

struct audit_summary {
	enum audit_by by;
	int64_t since, until;
	struct audit_group *slots;	/* open addressing, NULL key: empty */
	size_t cap, used;
	struct audit_group other;	/* past AUDIT_GROUPS_MAX */
	unsigned long long total, skipped;
};

static const char *const audit_by_names[] = { "decision", "reason", "promotion", "article",
					      "hour", "day" };

int audit_by_parse(const char *s, enum audit_by *out)
{
	for (size_t i = 0; i < countof(audit_by_names); i++) {
		if (strcmp(s, audit_by_names[i]) == 0) {
			*out = (enum audit_by)i;
			return 0;
		}
	}
	return -1;
}

struct audit_summary *audit_summary_new(enum audit_by by, int64_t since_ms, int64_t until_ms)
{
	struct audit_summary *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->by = by;
	s->since = since_ms;
	s->until = until_ms;
	s->cap = 1024;
	s->slots = calloc(s->cap, sizeof(*s->slots));
	if (s->slots == NULL) {
		free(s);
		return NULL;
	}
	return s;
}

void audit_summary_free(struct audit_summary *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->cap; i++)
		free(s->slots[i].key);
	free(s->slots);
	free(s);
}

unsigned long long audit_summary_total(const struct audit_summary *s)
{
	return s->total;
}

unsigned long long audit_summary_skipped(const struct audit_summary *s)
{
	return s->skipped;
}

static size_t audit_hash(const char *k)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *k != '\0'; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ULL;
	return (size_t)h;
}

static struct audit_group *audit_slot(struct audit_group *slots, size_t cap, const char *key)
{
	size_t i = audit_hash(key) & (cap - 1);

	while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

/* Doubles the table (kept under half full). 0 / -1. */
static int audit_grow(struct audit_summary *s)
{
	size_t cap = s->cap * 2;
	struct audit_group *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].key != NULL)
			*audit_slot(slots, cap, s->slots[i].key) = s->slots[i];
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

/* The group of key, created when there is room, else "other". */
static struct audit_group *audit_group(struct audit_summary *s, const char *key)
{
	struct audit_group *g = audit_slot(s->slots, s->cap, key);

	if (g->key != NULL)
		return g;
	if (s->used >= AUDIT_GROUPS_MAX)
		return &s->other;
	if (2 * (s->used + 1) > s->cap) {
		if (audit_grow(s) != 0)
			return &s->other;
		g = audit_slot(s->slots, s->cap, key);
	}
	if ((g->key = strdup(key)) == NULL)
		return &s->other;
	s->used++;
	return g;
}

/* Copies at most AUDIT_GROUP_KEY_MAX bytes of v, cut at a UTF-8 boundary. */
static void audit_cut_key(const char *v, char *out)
{
	size_t len = strnlen(v, AUDIT_GROUP_KEY_MAX + 1);

	if (len > AUDIT_GROUP_KEY_MAX) {
		len = AUDIT_GROUP_KEY_MAX;
		while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out, v, len);
	out[len] = '\0';
}

/* The line's group key into out. 0, or -1 when the field is of a wrong type. */
static int audit_key_of(const struct audit_summary *s, json_t *o, int64_t ts,
			char out[AUDIT_GROUP_KEY_MAX + 1])
{
	json_t *v;
	struct tm tm;
	time_t t = (time_t)(ts >= 0 ? ts / 1000 : (ts - 999) / 1000);

	if (s->by == AUDIT_BY_HOUR || s->by == AUDIT_BY_DAY) {
		if (gmtime_r(&t, &tm) == NULL)
			return -1;
		if (s->by == AUDIT_BY_HOUR)
			snprintf(out, AUDIT_GROUP_KEY_MAX + 1, "%04d-%02d-%02dT%02d",
				 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour);
		else
			snprintf(out, AUDIT_GROUP_KEY_MAX + 1, "%04d-%02d-%02d", tm.tm_year + 1900,
				 tm.tm_mon + 1, tm.tm_mday);
		return 0;
	}
	v = json_object_get(o, audit_by_names[s->by]);
	if (v == NULL || json_is_null(v)) {
		snprintf(out, AUDIT_GROUP_KEY_MAX + 1, "%s", AUDIT_NULL_GROUP);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	audit_cut_key(json_string_value(v), out);
	return 0;
}

/* Counts one line. NULL, or why it was skipped. */
static const char *audit_count(struct audit_summary *s, const struct audit_reader *r)
{
	char key[AUDIT_GROUP_KEY_MAX + 1];
	json_t *o = audit_parse(r);
	const char *why = NULL, *ts, *decision;
	int64_t ms;

	if (o == NULL) {
		why = r->too_long ? "longer than 64 KiB" : "not a JSON object";
	} else if (json_is_string(json_object_get(o, "type"))) {
		why = NULL;	/* a header: not a request */
	} else if ((ts = json_string_value(json_object_get(o, "ts"))) == NULL ||
		   audit_time_parse(ts, &ms) != 0) {
		why = "no valid ts";
	} else if (ms >= s->since && ms < s->until) {
		if (audit_key_of(s, o, ms, key) != 0) {
			why = "a field to group by is not a string";
		} else {
			struct audit_group *g = audit_group(s, key);
			decision = json_string_value(json_object_get(o, "decision"));
			g->n++;
			g->teaser += decision != NULL && strcmp(decision, "teaser") == 0;
			g->full += decision != NULL && strcmp(decision, "full") == 0;
			s->total++;
		}
	}
	json_decref(o);
	return why;
}

int audit_summary_feed(struct audit_summary *s, const char *name, FILE *in, FILE *diag)
{
	struct audit_reader r;
	unsigned long long reported = 0;
	const char *why;
	int got;

	if (audit_reader_init(&r, in) != 0)
		return -1;
	flockfile(in);
	while ((got = audit_read_line(&r)) == 1) {
		if ((why = audit_count(s, &r)) == NULL)
			continue;
		s->skipped++;
		if (diag != NULL && reported++ < AUDIT_DIAG_PER_FILE)
			fprintf(diag, "%s:%llu: skipped: %s\n", name, r.no, why);
	}
	funlockfile(in);
	if (diag != NULL && reported > AUDIT_DIAG_PER_FILE)
		fprintf(diag, "%s: %llu more lines skipped\n", name, reported - AUDIT_DIAG_PER_FILE);
	audit_reader_free(&r);
	return got < 0 ? -1 : 0;
}

/* Hours and days in time order; other groups by count, most first. */
static int audit_cmp_count(const void *a, const void *b)
{
	const struct audit_group *x = *(const struct audit_group *const *)a;
	const struct audit_group *y = *(const struct audit_group *const *)b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int audit_cmp_key(const void *a, const void *b)
{
	const struct audit_group *x = *(const struct audit_group *const *)a;
	const struct audit_group *y = *(const struct audit_group *const *)b;

	return strcmp(x->key, y->key);
}

/* The groups in print order, "other" last when used. Caller frees. */
static const struct audit_group **audit_sorted(const struct audit_summary *s, size_t *n)
{
	const struct audit_group **v = malloc((s->used + 1) * sizeof(*v));
	size_t k = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slots[i].key != NULL)
			v[k++] = &s->slots[i];
	qsort(v, k, sizeof(*v), s->by == AUDIT_BY_HOUR || s->by == AUDIT_BY_DAY ?
	      audit_cmp_key : audit_cmp_count);
	if (s->other.n > 0)
		v[k++] = &s->other;
	*n = k;
	return v;
}

static const char *audit_group_name(const struct audit_group *g)
{
	return g->key != NULL ? g->key : AUDIT_OTHER_GROUP;
}

static int audit_print_json(const struct audit_summary *s, const struct audit_group **v,
			    size_t n, FILE *out)
{
	json_t *o = json_object(), *groups = json_object();
	char *text = NULL;
	int rc = -1;

	if (o == NULL || groups == NULL)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (json_object_set_new(groups, audit_group_name(v[i]), json_integer((json_int_t)v[i]->n)) != 0)
			goto out;
	if (json_object_set_new(o, "total", json_integer((json_int_t)s->total)) != 0 ||
	    json_object_set_new(o, "by", json_string(audit_by_names[s->by])) != 0 ||
	    json_object_set(o, "groups", groups) != 0)
		goto out;
	text = json_dumps(o, JSON_PRESERVE_ORDER);
	if (text != NULL && fprintf(out, "%s\n", text) >= 0)
		rc = 0;
out:
	free(text);
	json_decref(groups);
	json_decref(o);
	return rc;
}

static void audit_print_table(const struct audit_summary *s, const struct audit_group **v,
			      size_t n, FILE *out)
{
	bool ratio = s->by != AUDIT_BY_DECISION;

	if (ratio)
		fprintf(out, "%-32s %10s %10s %10s %12s\n", audit_by_names[s->by], "requests",
			"teaser", "full", "teaser/full");
	else
		fprintf(out, "%-32s %10s\n", audit_by_names[s->by], "requests");
	for (size_t i = 0; i < n; i++) {
		const struct audit_group *g = v[i];
		if (!ratio) {
			fprintf(out, "%-32s %10llu\n", audit_group_name(g), g->n);
		} else if (g->full > 0) {
			fprintf(out, "%-32s %10llu %10llu %10llu %12.2f\n", audit_group_name(g), g->n,
				g->teaser, g->full, (double)g->teaser / (double)g->full);
		} else {
			fprintf(out, "%-32s %10llu %10llu %10llu %12s\n", audit_group_name(g), g->n,
				g->teaser, g->full, "-");
		}
	}
	fprintf(out, "%-32s %10llu\n", "total", s->total);
}

int audit_summary_print(const struct audit_summary *s, bool json, FILE *out)
{
	size_t n = 0;
	const struct audit_group **v = audit_sorted(s, &n);
	int rc = 0;

	if (v == NULL)
		return -1;
	if (json)
		rc = audit_print_json(s, v, n, out);
	else
		audit_print_table(s, v, n, out);
	free(v);
	return rc;
}

/* ---- grep ---- */

static bool audit_field_is(json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL && strcmp(v, want) == 0;
}

static bool audit_matches(const struct audit_filter *f, json_t *o)
{
	if (json_object_get(o, "type") != NULL)
		return false;	/* header lines are not requests */
	if (f->visitor != NULL && !audit_field_is(o, "visitor", f->visitor))
		return false;
	if (f->user != NULL && !audit_field_is(o, "user", f->user))
		return false;
	if (f->pseudonym != NULL && !audit_field_is(o, "visitor", f->pseudonym) &&
	    !audit_field_is(o, "user", f->pseudonym))
		return false;
	if (f->article != NULL && !audit_field_is(o, "article", f->article))
		return false;
	if (f->reason != NULL && !audit_field_is(o, "reason", f->reason))
		return false;
	return true;
}

long long audit_grep_stream(const struct audit_filter *f, FILE *in, FILE *out)
{
	struct audit_reader r;
	long long matched = 0;
	int got;

	if (audit_reader_init(&r, in) != 0)
		return -1;
	flockfile(in);
	while ((got = audit_read_line(&r)) == 1) {
		json_t *o = audit_parse(&r);
		bool hit = o != NULL && audit_matches(f, o);
		json_decref(o);
		if (!hit)
			continue;
		if (fwrite(r.line, 1, r.len, out) != r.len || putc('\n', out) == EOF) {
			got = -1;
			break;
		}
		matched++;
	}
	funlockfile(in);
	audit_reader_free(&r);
	return got < 0 ? -1 : matched;
}

/* ---- the command ---- */

static void audit_usage(FILE *out)
{
	fprintf(out,
		"usage: paywallctl audit verify --key KEY [--expect-last CHAIN] FILE...\n"
		"       paywallctl audit summary FILE... [--since T] [--until T]\n"
		"                  [--by decision|reason|promotion|article|hour|day] [--json]\n"
		"       paywallctl audit grep FILE... [--key KEY] [-c CONFIG] [--visitor COOKIE]\n"
		"                  [--user SUB] [--pseudonym P] [--article ID] [--reason R]\n"
		"FILEs oldest first; \"-\" reads standard input. KEY is audit.key_file.\n");
}

/* Options shared by the three commands; files are the other arguments. */
struct audit_args {
	const char **files;
	size_t nfiles;
	const char *key, *expect_last, *since, *until, *by, *config;
	const char *visitor, *user, *pseudonym, *article, *reason;
	bool json;
};

enum { AUDIT_VERIFY = 1, AUDIT_SUMMARY = 2, AUDIT_GREP = 4 };

struct audit_opt {
	const char *name;
	size_t offset;		/* of the const char * in struct audit_args */
	unsigned commands;	/* which take it */
};

#define AO(f) offsetof(struct audit_args, f)
static const struct audit_opt audit_opts[] = {
	{ "--key", AO(key), AUDIT_VERIFY | AUDIT_GREP },
	{ "--expect-last", AO(expect_last), AUDIT_VERIFY },
	{ "--since", AO(since), AUDIT_SUMMARY },
	{ "--until", AO(until), AUDIT_SUMMARY },
	{ "--by", AO(by), AUDIT_SUMMARY },
	{ "-c", AO(config), AUDIT_GREP },
	{ "--config", AO(config), AUDIT_GREP },
	{ "--visitor", AO(visitor), AUDIT_GREP },
	{ "--user", AO(user), AUDIT_GREP },
	{ "--pseudonym", AO(pseudonym), AUDIT_GREP },
	{ "--article", AO(article), AUDIT_GREP },
	{ "--reason", AO(reason), AUDIT_GREP },
};
#undef AO

/* 0, or -1 after printing what is wrong. a->files is allocated. */
static int audit_parse_args(const char *cmd, int argc, char **argv, unsigned command,
			    struct audit_args *a)
{
	bool only_files = false;

	memset(a, 0, sizeof(*a));
	a->files = calloc((size_t)argc + 1, sizeof(*a->files));
	if (a->files == NULL)
		return -1;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		size_t k;
		if (only_files || s[0] != '-' || strcmp(s, "-") == 0) {
			a->files[a->nfiles++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			only_files = true;
			continue;
		}
		if (command == AUDIT_SUMMARY && strcmp(s, "--json") == 0) {
			a->json = true;
			continue;
		}
		for (k = 0; k < countof(audit_opts); k++)
			if ((audit_opts[k].commands & command) && strcmp(s, audit_opts[k].name) == 0)
				break;
		if (k == countof(audit_opts) || i + 1 >= argc) {
			fprintf(stderr, "paywallctl audit %s: %s '%s'\n", cmd,
				k == countof(audit_opts) ? "unknown option" : "missing value for", s);
			return -1;
		}
		*(const char **)((char *)a + audit_opts[k].offset) = argv[++i];
	}
	if (a->nfiles == 0) {
		fprintf(stderr, "paywallctl audit %s: no FILE given\n", cmd);
		return -1;
	}
	return 0;
}

static int audit_load_key(const char *cmd, const char *path, struct cfg_secret *key)
{
	char err[512];

	if (path == NULL) {
		fprintf(stderr, "paywallctl audit %s: --key KEY (audit.key_file) is required\n", cmd);
		return -1;
	}
	if (cfg_secret_load(path, key, err, sizeof(err)) != 0) {
		fprintf(stderr, "paywallctl audit %s: %s\n", cmd, err);
		return -1;
	}
	return 0;
}

static int audit_cmd_verify(int argc, char **argv)
{
	struct cfg_secret key = { NULL, NULL, 0 };
	struct audit_args a;
	char msg[1024];
	int rc = 2;

	if (audit_parse_args("verify", argc, argv, AUDIT_VERIFY, &a) != 0 ||
	    audit_load_key("verify", a.key, &key) != 0)
		goto out;
	if (a.expect_last != NULL && (strlen(a.expect_last) != ACCESSLOG_CHAIN_HEX ||
				      !audit_is_hex(a.expect_last, ACCESSLOG_CHAIN_HEX))) {
		fprintf(stderr, "paywallctl audit verify: --expect-last takes 64 lowercase hex "
			"characters\n");
		goto out;
	}
	switch (audit_verify_files(key.bytes, key.len, a.files, a.nfiles, a.expect_last, msg,
				   sizeof(msg))) {
	case 0:
		printf("%s\n", msg);
		rc = 0;
		break;
	case 1:
		printf("%s\n", msg);
		rc = 1;
		break;
	default:
		fprintf(stderr, "paywallctl audit verify: %s\n", msg);
		break;
	}
out:
	cfg_secret_free(&key);
	free(a.files);
	return rc;
}

static int audit_parse_bound(const char *opt, const char *s, int64_t *ms)
{
	if (s == NULL || audit_time_parse(s, ms) == 0)
		return 0;
	fprintf(stderr, "paywallctl audit summary: %s: '%s' is not an RFC 3339 time "
		"(2026-11-27T19:30:00Z)\n", opt, s);
	return -1;
}

static int audit_cmd_summary(int argc, char **argv)
{
	struct audit_summary *s = NULL;
	enum audit_by by = AUDIT_BY_DECISION;
	int64_t since = INT64_MIN, until = INT64_MAX;
	struct audit_args a;
	int rc = 2;

	if (audit_parse_args("summary", argc, argv, AUDIT_SUMMARY, &a) != 0 ||
	    audit_parse_bound("--since", a.since, &since) != 0 ||
	    audit_parse_bound("--until", a.until, &until) != 0)
		goto out;
	if (a.by != NULL && audit_by_parse(a.by, &by) != 0) {
		fprintf(stderr, "paywallctl audit summary: --by takes decision, reason, promotion, "
			"article, hour or day\n");
		goto out;
	}
	if ((s = audit_summary_new(by, since, until)) == NULL)
		goto out;
	for (size_t i = 0; i < a.nfiles; i++) {
		FILE *f = audit_open(a.files[i]);
		int frc = f != NULL ? audit_summary_feed(s, a.files[i], f, stderr) : -1;
		if (frc != 0)
			fprintf(stderr, "paywallctl audit summary: %s: cannot read: %s\n", a.files[i],
				strerror(errno));
		audit_close(f);
		if (frc != 0)
			goto out;
	}
	rc = audit_summary_print(s, a.json, stdout) == 0 ? 0 : 2;
out:
	audit_summary_free(s);
	free(a.files);
	return rc;
}

/* The visitor id in a cookie value, checked with the config's visitor key. */
static int audit_visitor_id(const char *config_path, const char *cookie, uint8_t id[16])
{
	struct cfg_errors errs;
	struct config *cfg = NULL;
	int rc = -1;

	if (config_path == NULL) {
		fprintf(stderr, "paywallctl audit grep: --visitor needs -c CONFIG (its visitor key "
			"checks the cookie)\n");
		return -1;
	}
	cfg_errors_init(&errs);
	if (config_load(config_path, &cfg, &errs) != 0) {
		cfg_errors_print(&errs, stderr);
	} else if (!cfg->visitor.enabled) {
		fprintf(stderr, "paywallctl audit grep: %s has no visitor section\n", config_path);
	} else if (visitor_parse_value(&cfg->visitor, cookie, id) != 0) {
		fprintf(stderr, "paywallctl audit grep: --visitor: not a visitor cookie value "
			"signed with %s's visitor key\n", config_path);
	} else {
		rc = 0;
	}
	cfg_errors_free(&errs);
	config_free(cfg);
	return rc;
}

/* Turns --visitor and --user into pseudonyms (into vis and usr). 0 / -1. */
static int audit_grep_filter(struct audit_args *a, struct audit_filter *f,
			     char vis[ACCESSLOG_PSEUDONYM_HEX + 1],
			     char usr[ACCESSLOG_PSEUDONYM_HEX + 1])
{
	struct cfg_secret key = { NULL, NULL, 0 };
	uint8_t id[VISITOR_ID_LEN];
	int rc = -1;

	memset(f, 0, sizeof(*f));
	f->pseudonym = a->pseudonym;
	f->article = a->article;
	f->reason = a->reason;
	if (a->visitor == NULL && a->user == NULL && a->pseudonym == NULL && a->article == NULL &&
	    a->reason == NULL) {
		fprintf(stderr, "paywallctl audit grep: give at least one of --visitor, --user, "
			"--pseudonym, --article, --reason\n");
		return -1;
	}
	if (a->visitor == NULL && a->user == NULL)
		return 0;
	if (audit_load_key("grep", a->key, &key) != 0)
		return -1;
	if (a->visitor != NULL) {
		if (audit_visitor_id(a->config, a->visitor, id) != 0)
			goto out;
		accesslog_pseudonym(&key, "visitor", id, sizeof(id), vis);
		f->visitor = vis;
	}
	if (a->user != NULL) {
		accesslog_pseudonym(&key, "user", a->user, strlen(a->user), usr);
		f->user = usr;
	}
	rc = 0;
out:
	OPENSSL_cleanse(id, sizeof(id));
	cfg_secret_free(&key);
	return rc;
}

static int audit_cmd_grep(int argc, char **argv)
{
	char vis[ACCESSLOG_PSEUDONYM_HEX + 1], usr[ACCESSLOG_PSEUDONYM_HEX + 1];
	struct audit_filter f;
	struct audit_args a;
	long long total = 0;
	int rc = 2;

	if (audit_parse_args("grep", argc, argv, AUDIT_GREP, &a) != 0 ||
	    audit_grep_filter(&a, &f, vis, usr) != 0)
		goto out;
	for (size_t i = 0; i < a.nfiles; i++) {
		FILE *in = audit_open(a.files[i]);
		long long n = in != NULL ? audit_grep_stream(&f, in, stdout) : -1;
		if (n < 0)
			fprintf(stderr, "paywallctl audit grep: %s: cannot read: %s\n", a.files[i],
				strerror(errno));
		audit_close(in);
		if (n < 0)
			goto out;
		total += n;
	}
	rc = fflush(stdout) != 0 ? 2 : total > 0 ? 0 : 1;
out:
	free(a.files);
	return rc;
}

int audit_main(int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "verify") == 0)
		return audit_cmd_verify(argc, argv);
	if (argc >= 1 && strcmp(argv[0], "summary") == 0)
		return audit_cmd_summary(argc, argv);
	if (argc >= 1 && strcmp(argv[0], "grep") == 0)
		return audit_cmd_grep(argc, argv);
	audit_usage(argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) ?
		    stdout : stderr);
	return argc >= 1 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) ? 0 : 2;
}
