/* template: the paywall box HTML with {{placeholders}}, loaded once, rendered per response. */
#include "template.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_FIELDS 5
#define TEMPLATE_LITERAL (-1)

static const char *const template_names[TEMPLATE_FIELDS] = {
	"meter_limit", "meter_remaining", "return_url", "promotion", "reason",
};

/* A run of literal text (field TEMPLATE_LITERAL: text[off, off + len)) or
 * one placeholder. */
struct template_part {
	size_t off, len;
	int field;
};

struct template {
	char *text;
	size_t len;
	struct template_part *parts;
	size_t n_parts, cap_parts;
};

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t template_utf8_len(const unsigned char *s, size_t n)
{
	size_t need;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

/* The line (1-based) that byte off of text is on. */
static size_t template_line(const char *text, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Checks that text is UTF-8 without NUL bytes; the offset of the first
 * bad byte, or len. */
static size_t template_check_text(const char *text, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = template_utf8_len((const unsigned char *)text + i, len - i);
		if (n == 0 || text[i] == '\0')
			return i;
		i += n;
	}
	return len;
}

static int template_add_part(struct template *t, size_t off, size_t len, int field)
{
	struct template_part *np;
	size_t cap;

	if (field == TEMPLATE_LITERAL && len == 0)
		return 0;
	if (t->n_parts == t->cap_parts) {
		cap = t->cap_parts ? t->cap_parts * 2 : 8;
		np = realloc(t->parts, cap * sizeof(*np));
		if (np == NULL)
			return -1;
		t->parts = np;
		t->cap_parts = cap;
	}
	t->parts[t->n_parts++] = (struct template_part){ off, len, field };
	return 0;
}

/* The field a placeholder name (spaces and tabs around it allowed) names,
 * or -1. */
static int template_field(const char *name, size_t len)
{
	while (len > 0 && (*name == ' ' || *name == '\t')) {
		name++;
		len--;
	}
	while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
		len--;
	for (int i = 0; i < TEMPLATE_FIELDS; i++)
		if (strlen(template_names[i]) == len && memcmp(template_names[i], name, len) == 0)
			return i;
	return -1;
}

/* Where the two-byte string pat ("{{" or "}}") next starts at or after
 * from, or len. */
static size_t template_find(const char *text, size_t len, size_t from, const char *pat)
{
	for (size_t i = from; i + 1 < len; i++)
		if (text[i] == pat[0] && text[i + 1] == pat[1])
			return i;
	return len;
}

/* Copies a placeholder name into out for a message: at most 48 bytes,
 * anything unprintable shown as '?'. */
static void template_quote_name(const char *name, size_t len, char *out, size_t outlen)
{
	size_t n = 0;

	for (size_t i = 0; i < len && i < 48 && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)name[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Splits t->text into literal runs and placeholders. */
static int template_split(struct template *t, const char *name, char *err, size_t errlen)
{
	size_t pos = 0, open, close;
	char shown[64];
	int field;

	while (pos < t->len) {
		open = template_find(t->text, t->len, pos, "{{");
		if (template_add_part(t, pos, open - pos, TEMPLATE_LITERAL) != 0)
			goto nomem;
		if (open == t->len)
			return 0;
		close = template_find(t->text, t->len, open + 2, "}}");
		if (close == t->len) {
			snprintf(err, errlen, "template: %s:%zu: '{{' is never closed by '}}'", name,
				 template_line(t->text, open));
			return -1;
		}
		field = template_field(t->text + open + 2, close - open - 2);
		if (field < 0) {
			template_quote_name(t->text + open + 2, close - open - 2, shown,
					    sizeof(shown));
			snprintf(err, errlen, "template: %s:%zu: unknown placeholder {{%s}}", name,
				 template_line(t->text, open), shown);
			return -1;
		}
		if (template_add_part(t, open, close + 2 - open, field) != 0)
			goto nomem;
		pos = close + 2;
	}
	return 0;
nomem:
	snprintf(err, errlen, "template: %s: out of memory", name);
	return -1;
}

int template_load_buffer(const char *text, size_t len, const char *name, struct template **out,
			 char *err, size_t errlen)
{
	struct template *t = NULL;
	size_t bad;
	int rc = -1;

	if (errlen == 0)
		err = NULL;
	if (len > TEMPLATE_MAX) {
		snprintf(err, errlen, "template: %s: larger than %d bytes", name, TEMPLATE_MAX);
		goto out;
	}
	bad = template_check_text(text, len);
	if (bad < len) {
		snprintf(err, errlen, "template: %s:%zu: not UTF-8 (or a NUL byte)", name,
			 template_line(text, bad));
		goto out;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL || (t->text = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "template: %s: out of memory", name);
		goto out;
	}
	memcpy(t->text, text, len);
	t->text[len] = '\0';
	t->len = len;
	rc = template_split(t, name, err, errlen);
out:
	if (rc == 0)
		*out = t;
	else
		template_free(t);
	return rc;
}

/* Reads at most TEMPLATE_MAX + 1 bytes of path into buf: the count, or -1. */
static long template_read_file(const char *path, char *buf, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL) {
		snprintf(err, errlen, "template: %s: %s", path, strerror(errno));
		return -1;
	}
	n = fread(buf, 1, TEMPLATE_MAX + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "template: %s: read error", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return (long)n;
}

int template_load(const char *path, struct template **out, char *err, size_t errlen)
{
	char *buf = malloc(TEMPLATE_MAX + 1);
	long n;
	int rc = -1;

	if (errlen == 0)
		err = NULL;
	if (buf == NULL) {
		snprintf(err, errlen, "template: %s: out of memory", path);
		goto out;
	}
	n = template_read_file(path, buf, err, errlen);
	if (n < 0)
		goto out;
	rc = template_load_buffer(buf, (size_t)n, path, out, err, errlen);
out:
	free(buf);
	return rc;
}

void template_free(struct template *t)
{
	if (t == NULL)
		return;
	free(t->text);
	free(t->parts);
	free(t);
}

static const char *template_value(const struct template_values *v, int field)
{
	const char *const vals[TEMPLATE_FIELDS] = {
		v->meter_limit, v->meter_remaining, v->return_url, v->promotion, v->reason,
	};

	return vals[field] != NULL ? vals[field] : "";
}

/* Writes v (n bytes) HTML-escaped to out, or only counts when out is NULL;
 * returns the escaped length (at most 6 * n). */
static size_t template_escape(const char *v, size_t n, char *out)
{
	size_t w = 0, i = 0, k;
	const char *rep;

	while (i < n) {
		unsigned char c = (unsigned char)v[i];

		k = 1;
		switch (c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			k = template_utf8_len((const unsigned char *)v + i, n - i);
			rep = k == 0 ? "\xef\xbf\xbd" : NULL;
			k = k == 0 ? 1 : k;
		}
		if (rep == NULL) {
			if (out != NULL)
				memcpy(out + w, v + i, k);
			w += k;
		} else {
			if (out != NULL)
				memcpy(out + w, rep, strlen(rep));
			w += strlen(rep);
		}
		i += k;
	}
	return w;
}

char *template_render(const struct template *t, const struct template_values *v, size_t *len)
{
	static const struct template_values none = { 0 };
	size_t vlen[TEMPLATE_FIELDS], total = 0, w = 0;
	char *out;

	if (v == NULL)
		v = &none;
	for (int f = 0; f < TEMPLATE_FIELDS; f++) {
		vlen[f] = strnlen(template_value(v, f), TEMPLATE_VALUE_MAX + 1);
		if (vlen[f] > TEMPLATE_VALUE_MAX)
			return NULL;
	}
	/* At most TEMPLATE_MAX / 4 placeholders of 6 * TEMPLATE_VALUE_MAX
	 * bytes each: the total fits a size_t with room to spare. */
	for (size_t i = 0; i < t->n_parts; i++) {
		const struct template_part *p = &t->parts[i];
		total += p->field == TEMPLATE_LITERAL ? p->len :
			 template_escape(template_value(v, p->field), vlen[p->field], NULL);
	}
	out = malloc(total + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < t->n_parts; i++) {
		const struct template_part *p = &t->parts[i];
		if (p->field == TEMPLATE_LITERAL) {
			memcpy(out + w, t->text + p->off, p->len);
			w += p->len;
		} else {
			w += template_escape(template_value(v, p->field), vlen[p->field], out + w);
		}
	}
	out[w] = '\0';
	if (len != NULL)
		*len = w;
	return out;
}
