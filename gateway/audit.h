/*
 * audit: `paywallctl audit`, the access log's reader side: verify the hash
 * chain, count decisions, find one reader's or one article's lines. Every
 * command streams its files line by line (lines up to ACCESSLOG_LINE_MAX
 * bytes), so logs of any size take constant memory. The line format and the
 * chain are described at the top of accesslog.h.
 *
 *   paywallctl audit verify --key KEY [--expect-last CHAIN] FILE...
 *       FILEs in order, oldest first ("-": standard input). Exit 0 and
 *       "ok: N lines in M files" when intact (N counts every line, header
 *       lines too; a note follows when the first file continues an earlier
 *       one). Exit 1 and "FILE:LINE: chain broken (why)" for the first broken
 *       line: edited, inserted, deleted or reordered lines, a later file that
 *       does not start with a header, a header whose prev_chain is not the
 *       chain before it (a file missing or out of order), a line longer than
 *       64 KiB. --expect-last: the chain the gateway last logged on stderr;
 *       the sequence must end with it, which catches lines removed from its
 *       end. Exit 2: usage, unreadable key or file.
 *
 *   paywallctl audit summary FILE... [--since T] [--until T]
 *                            [--by decision|reason|promotion|article|hour|day] [--json]
 *       Counts request lines per group (default: by decision), with the
 *       teaser and full counts and their ratio per group when not by
 *       decision. T is RFC 3339 (2026-11-27T19:30:00Z, fraction and offset
 *       allowed); --since is inclusive, --until exclusive. hour and day are
 *       UTC ("2026-11-27T19", "2026-11-27"). A field that is null counts
 *       under "-"; keys are cut at AUDIT_GROUP_KEY_MAX bytes; past
 *       AUDIT_GROUPS_MAX groups, new keys count under "other". Lines that
 *       are not log lines are skipped and reported on stderr. --json prints
 *       one object: {"total": N, "by": "reason", "groups": {"meter": N, ...}}.
 *       Exit 0, or 2 on usage or an unreadable file.
 *
 *   paywallctl audit grep FILE... [--key KEY] [-c CONFIG] [--visitor COOKIE]
 *                         [--user SUB] [--pseudonym P] [--article ID] [--reason R]
 *       Prints the request lines matching every filter given, as they are.
 *       --user takes the raw sub and --visitor the raw visitor cookie VALUE
 *       (as paywallctl meter does); both are matched by their pseudonym, so
 *       they need --key (audit.key_file), and --visitor needs -c CONFIG too,
 *       for the visitor section's key that checks the cookie. --pseudonym
 *       matches a pseudonym seen in the log (32 hex chars) as visitor or
 *       user. At least one filter is required. Exit 0 when a line matched,
 *       1 when none did, 2 on usage or an unreadable file.
 *
 * Nothing here is shared between threads; the functions are reentrant.
 */
#ifndef PAYWALLD_AUDIT_H
#define PAYWALLD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AUDIT_GROUPS_MAX 100000
#define AUDIT_GROUP_KEY_MAX 256

/* ---- verify ---- */

struct audit_verifier;

/* A verifier for one sequence of files, chained with key (copied). NULL
 * when out of memory. */
struct audit_verifier *audit_verifier_new(const unsigned char *key, size_t keylen);
/*
 * Verifies the next file of the sequence, read from in (name for
 * messages). Returns 0 while intact, 1 at the first broken line (msg says
 * "NAME:LINE: chain broken (why)"; feed no more), -1 on a read error.
 */
int audit_verifier_feed(struct audit_verifier *v, const char *name, FILE *in, char *msg,
			size_t msglen);
/* After the last file: 0 and "ok: N lines in M files" (and a note), or 1
 * when expect_last (64 hex, or NULL) is not the last chain. */
int audit_verifier_finish(struct audit_verifier *v, const char *expect_last, char *msg,
			  size_t msglen);
void audit_verifier_free(struct audit_verifier *v);

/* The whole of verify over named files ("-": stdin): 0 intact, 1 broken,
 * -1 when a file cannot be read; msg as above or the read error. */
int audit_verify_files(const unsigned char *key, size_t keylen, const char *const *files,
		       size_t n, const char *expect_last, char *msg, size_t msglen);

/* ---- summary ---- */

enum audit_by { AUDIT_BY_DECISION, AUDIT_BY_REASON, AUDIT_BY_PROMOTION, AUDIT_BY_ARTICLE,
		AUDIT_BY_HOUR, AUDIT_BY_DAY };

/* "decision" ... "day". 0 / -1. */
int audit_by_parse(const char *s, enum audit_by *out);
/* Parses an RFC 3339 time into Unix milliseconds. 0 / -1. */
int audit_time_parse(const char *s, int64_t *ms);

struct audit_summary;

/* Counts lines with since_ms <= ts < until_ms (INT64_MIN / INT64_MAX: no
 * bound). NULL when out of memory. */
struct audit_summary *audit_summary_new(enum audit_by by, int64_t since_ms, int64_t until_ms);
/* Adds the lines of in. Skipped lines are reported on diag ("NAME:LINE:
 * why", the first ten per file; diag may be NULL). 0, or -1 on a read error. */
int audit_summary_feed(struct audit_summary *s, const char *name, FILE *in, FILE *diag);
unsigned long long audit_summary_total(const struct audit_summary *s);
unsigned long long audit_summary_skipped(const struct audit_summary *s);
/* Prints the table, or the JSON object, to out. 0 / -1. */
int audit_summary_print(const struct audit_summary *s, bool json, FILE *out);
void audit_summary_free(struct audit_summary *s);

/* ---- grep ---- */

/* What a line must hold; NULL members match anything. Borrowed. */
struct audit_filter {
	const char *visitor;		/* visitor pseudonym */
	const char *user;		/* user pseudonym */
	const char *pseudonym;		/* either */
	const char *article;
	const char *reason;
};

/* Copies the request lines of in matching f to out. Returns how many, or
 * -1 on a read or write error. */
long long audit_grep_stream(const struct audit_filter *f, FILE *in, FILE *out);

/* ---- the command ---- */

/* paywallctl audit: argv[0] is verify, summary or grep. Returns the exit
 * status described above. */
int audit_main(int argc, char **argv);

#endif
