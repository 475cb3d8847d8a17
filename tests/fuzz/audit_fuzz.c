/*
 * audit_fuzz: `paywallctl audit` verify, summary and grep over arbitrary
 * bytes as a log file (audit.c).
 *
 * Input: one flag byte, then the file. Flag bits 0-2 pick the summary's
 * --by (modulo 6); bit 3 selects chain mode.
 *
 * Checked besides "no crash" (and bounded memory: every line is read into
 * a fixed 64 KiB buffer):
 *  - verify returns 0 or 1 (never a read error on memory), and an intact
 *    verdict counts no more lines than the file has;
 *  - summary's --json output is one JSON object whose total is the
 *    summary's total; counted plus skipped lines are no more than the file's;
 *  - grep prints no more lines than the file has, each a line of the file.
 * Chain mode: every line of the file (cut to fit) is given a chain as
 * accesslog.h defines it, with an independent HMAC; verify must accept the
 * result, and must refuse it once any one byte of any line is changed.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accesslog.h"
#include "audit.h"

#define FUZZ_NAME "audit_fuzz"
#include "fuzz_common.h"

#define KEY "audit-fuzz-key-0123456789abcdefghij"
#define CHAIN_LINES_MAX 64
#define CHAIN_BODY_MAX 512

static size_t count_lines(const uint8_t *p, size_t n)
{
	size_t lines = 0;

	for (size_t i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines + (n > 0 && p[n - 1] != '\n');
}

/* 0 / 1 from a verifier over one in-memory file. */
static int verify_mem(const char *data, size_t len, unsigned long long *lines)
{
	struct audit_verifier *v = audit_verifier_new((const unsigned char *)KEY, strlen(KEY));
	char msg[1024];
	FILE *in = fmemopen((void *)data, len, "r");
	int rc;

	if (v == NULL || in == NULL)
		fail("out of memory", NULL);
	rc = audit_verifier_feed(v, "fuzz", in, msg, sizeof(msg));
	if (rc == -1)
		fail("verify reported a read error on memory", msg);
	if (rc == 0)
		rc = audit_verifier_finish(v, NULL, msg, sizeof(msg));
	if (rc == 0 && sscanf(msg, "ok: %llu lines", lines) != 1)
		fail("verify said ok without a count", msg);
	fclose(in);
	audit_verifier_free(v);
	return rc;
}

static void check_verify(const uint8_t *p, size_t n)
{
	unsigned long long lines = 0;

	if (verify_mem((const char *)p, n, &lines) == 0 && lines > count_lines(p, n))
		fail("verify counted more lines than the file has", NULL);
}

static void check_summary(const uint8_t *p, size_t n, enum audit_by by)
{
	struct audit_summary *s = audit_summary_new(by, INT64_MIN + (n % 3 == 0 ? 0 : 1),
						    INT64_MAX);
	char *out = NULL;
	size_t outlen = 0;
	FILE *in = fmemopen((void *)p, n, "r"), *o = open_memstream(&out, &outlen);
	json_t *j;

	if (s == NULL || in == NULL || o == NULL)
		fail("out of memory", NULL);
	if (audit_summary_feed(s, "fuzz", in, NULL) != 0)
		fail("summary reported a read error on memory", NULL);
	if (audit_summary_total(s) + audit_summary_skipped(s) > count_lines(p, n))
		fail("summary counted more lines than the file has", NULL);
	if (audit_summary_print(s, true, o) != 0)
		fail("summary could not print", NULL);
	fclose(o);
	j = json_loads(out, 0, NULL);
	if (!json_is_object(j) || json_object_size(j) != 3)
		fail("summary --json is not one object of three members", out);
	if ((unsigned long long)json_integer_value(json_object_get(j, "total")) !=
	    audit_summary_total(s))
		fail("summary --json total differs", out);
	/* the table too */
	o = fopen("/dev/null", "w");
	if (o != NULL) {
		audit_summary_print(s, false, o);
		fclose(o);
	}
	json_decref(j);
	free(out);
	fclose(in);
	audit_summary_free(s);
}

static void check_grep(const uint8_t *p, size_t n)
{
	struct audit_filter f = { NULL, NULL, NULL, NULL, "meter" };
	char *out = NULL;
	size_t outlen = 0;
	FILE *in = fmemopen((void *)p, n, "r"), *o = open_memstream(&out, &outlen);
	long long got;

	if (in == NULL || o == NULL)
		fail("out of memory", NULL);
	got = audit_grep_stream(&f, in, o);
	fclose(o);
	if (got < 0)
		fail("grep reported an error on memory", NULL);
	if ((size_t)got > count_lines(p, n) || count_lines((uint8_t *)out, outlen) != (size_t)got)
		fail("grep printed another number of lines than it matched", out);
	fclose(in);
	free(out);
}

/* ---- chain mode ---- */

static void chain_hex(const char *prev, const char *body, size_t len, char out[65])
{
	unsigned char msg[64 + CHAIN_BODY_MAX + 1], mac[32];
	unsigned int maclen = 0;

	memcpy(msg, prev, 64);
	memcpy(msg + 64, body, len);
	msg[64 + len] = '}';
	if (HMAC(EVP_sha256(), KEY, (int)strlen(KEY), msg, 64 + len + 1, mac, &maclen) == NULL)
		fail("HMAC failed", NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* Builds a chained log from the input's lines: each line's bytes (no
 * newline, at most CHAIN_BODY_MAX, not starting like a header) get a tail. */
static void check_chain(const uint8_t *p, size_t n)
{
	size_t cap = CHAIN_LINES_MAX * (CHAIN_BODY_MAX + ACCESSLOG_CHAIN_TAIL + 1) + 1;
	char *log = malloc(cap);
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	size_t len = 0, lines = 0, body_at[CHAIN_LINES_MAX], body_len[CHAIN_LINES_MAX];
	unsigned long long counted = 0;
	size_t i = 0;

	if (log == NULL)
		fail("out of memory", NULL);
	while (i < n && lines < CHAIN_LINES_MAX) {
		size_t start = i, bl;
		while (i < n && p[i] != '\n')
			i++;
		bl = i - start < CHAIN_BODY_MAX ? i - start : CHAIN_BODY_MAX;
		i++;
		body_at[lines] = len;
		body_len[lines] = bl;
		memcpy(log + len, p + start, bl);
		if (bl > 0 && log[len] == '{')
			log[len] = '[';	/* never a header line */
		chain_hex(prev, log + len, bl, prev);
		len += bl;
		len += (size_t)snprintf(log + len, cap - len, ",\"chain\":\"%s\"}\n", prev);
		lines++;
	}
	if (lines == 0) {
		free(log);
		return;
	}
	if (verify_mem(log, len, &counted) != 0 || counted != lines)
		fail("verify refused a log chained as documented", NULL);
	/* any one byte changed breaks it (a body byte, or the tail's comma) */
	size_t k = p[0] % lines, at = body_at[k] + (body_len[k] ? p[n - 1] % body_len[k] : 0);
	char was = log[at];
	log[at] ^= 0x01;
	if (was != '\n' && log[at] != '\n' && verify_mem(log, len, &counted) != 1)
		fail("verify accepted a changed byte", NULL);
	free(log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data + 1;
	size_t n;

	if (size == 0)
		return 0;
	n = size - 1;
	if (data[0] & 0x08) {
		check_chain(p, n);
		return 0;
	}
	if (n == 0)
		return 0;	/* fmemopen wants a buffer */
	check_verify(p, n);
	check_summary(p, n, (enum audit_by)((data[0] & 7) % 6));
	check_grep(p, n);
	return 0;
}
