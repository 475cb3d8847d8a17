/* template: the paywall box HTML with {{placeholders}}, loaded once, rendered per response. */
#ifndef PAYWALLD_TEMPLATE_H
#define PAYWALLD_TEMPLATE_H

#include <stddef.h>

/* The largest template file accepted, in bytes. */
#define TEMPLATE_MAX (64 * 1024)
/* The longest value template_render takes, in bytes before escaping. */
#define TEMPLATE_VALUE_MAX 8192

/*
 * The values of the placeholders {{meter_limit}}, {{meter_remaining}},
 * {{return_url}}, {{promotion}} and {{reason}}. NULL renders as empty.
 * return_url is escaped for HTML, not checked as a URL: the caller passes
 * one that is safe in an href (a path on this site), never a scheme it did
 * not choose.
 */
struct template_values {
	const char *meter_limit;
	const char *meter_remaining;
	const char *return_url;
	const char *promotion;
	const char *reason;
};

struct template;

/*
 * Reads the template file at path (at most TEMPLATE_MAX bytes of UTF-8
 * without NUL bytes) and splits it at its placeholders. A placeholder is
 * `{{name}}`, spaces or tabs allowed inside the braces, name one of the
 * five above. Returns 0 and sets *out (freed with template_free), or -1
 * with a message in err (cut at errlen; err may be NULL when errlen is 0)
 * naming path and line when the file cannot be read, is too large, is not
 * UTF-8, holds an unknown {{name}} (the message names it) or a `{{` never
 * closed by `}}`. A lone `}}` is text. *out is written only on 0.
 * Thread-safe (no shared state).
 */
int template_load(const char *path, struct template **out, char *err, size_t errlen);

/* As template_load, from len bytes at text; name stands for the path in
 * messages. */
int template_load_buffer(const char *text, size_t len, const char *name, struct template **out,
			 char *err, size_t errlen);

/* Frees a template. NULL-safe. */
void template_free(struct template *t);

/*
 * Renders t with v (v may be NULL: every value empty). Every value is
 * HTML-escaped (& < > " ' become entities; invalid UTF-8 becomes
 * U+FFFD), so a value can never add markup. Returns a malloc'd
 * NUL-terminated string the caller frees and writes its length to *len
 * (len may be NULL); NULL, *len untouched, when a value is longer than
 * TEMPLATE_VALUE_MAX or memory runs out. A loaded template is read-only:
 * any number of threads may render it at once.
 */
char *template_render(const struct template *t, const struct template_values *v, size_t *len);

#endif
