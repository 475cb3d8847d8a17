/*
 * accesslog: the tamper-evident access log. One JSON object per line and per
 * request, written by a dedicated thread, each line chained to the one
 * before it with a keyed HMAC.
 *
 * The line format
 * ---------------
 * A request line is one JSON object with these keys, always all of them, in
 * this order, without spaces, ended by a newline:
 *
 *   ts id instance method path status bytes ms upstream_ms client decision
 *   reason promotion article meter_used meter_limit token visitor user
 *   crawler chain
 *
 * A key that does not apply holds null. `ts` is UTC with milliseconds
 * ("2026-11-27T19:30:00.123Z"); `client` is "203.0.113.0/24" or
 * "2001:db8:1::/48" (client_ip: truncate), the address (full) or null (none);
 * `visitor` and `user` are pseudonyms (below), never the cookie or the sub.
 *
 * A header line starts a file that continues an earlier one (after SIGUSR1,
 * logrotate, copytruncate or a restart on a non-empty log):
 *
 *   {"type":"header","ts":"...","instance":"...","prev_chain":"<64 hex>","chain":"<64 hex>"}
 *
 * The chain
 * ---------
 * Every line, request or header, ends with the 76 bytes
 *
 *   ,"chain":"<64 lowercase hex>"}
 *
 * Its BODY is the line without its newline and with those 76 bytes replaced
 * by a single "}" (so it is the JSON object without its chain field). Then
 *
 *   chain = hex(HMAC-SHA256(key, PREV || BODY))
 *
 * where PREV is the previous line's chain as 64 ASCII hex characters: the
 * previous line of the same file, or for a file's first line the last chain
 * of the file before it (which a header line repeats as prev_chain), or 64
 * '0' characters for the very first line of a new log. key is the content of
 * audit.key_file less one trailing newline (as for every key file).
 * Deleting, inserting, reordering or editing a line breaks the chain at that
 * line; a file missing from a rotated sequence breaks it at the next
 * header. Removing whole lines from the END of the newest file does not: the
 * gateway logs the last chain on stderr at every reopen and at shutdown
 * ("accesslog: ... last chain X"); ship that elsewhere and check it with
 * `paywallctl audit verify --expect-last X`.
 *
 * A verifier in Python (files oldest first):
 *
 *   import hashlib, hmac, json, sys
 *   key = open(sys.argv[1], 'rb').read()
 *   key = key[:-1] if key.endswith(b'\n') else key
 *   prev = None
 *   for name in sys.argv[2:]:
 *       for n, line in enumerate(open(name, 'rb'), 1):
 *           line = line.rstrip(b'\n'); tail = line[-76:]
 *           assert tail[:10] == b',"chain":"' and tail[-2:] == b'"}', (name, n)
 *           if line.startswith(b'{"type":"header",'):
 *               p = json.loads(line)['prev_chain'].encode()
 *               assert prev in (None, p), (name, n); prev = p
 *           else:
 *               assert n > 1 or prev is None, (name, n); prev = prev or b'0' * 64
 *           mac = hmac.new(key, prev + line[:-76] + b'}', hashlib.sha256)
 *           prev = mac.hexdigest().encode(); assert prev == tail[10:74], (name, n)
 *   print('ok')
 *
 * Pseudonyms: the first 16 bytes, as 32 lowercase hex characters, of
 * HMAC-SHA256(key, "visitor:" || the 16 id bytes) and of
 * HMAC-SHA256(key, "user:" || sub).
 */
#ifndef PAYWALLD_ACCESSLOG_H
#define PAYWALLD_ACCESSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "cfg.h"
#include "netaddr.h"

#define ACCESSLOG_LINE_MAX (64 * 1024)	/* bytes of a line, newline excluded */
#define ACCESSLOG_CHAIN_HEX 64
#define ACCESSLOG_CHAIN_TAIL 76		/* strlen(",\"chain\":\"") + 64 + strlen("\"}") */
#define ACCESSLOG_PSEUDONYM_HEX 32
#define ACCESSLOG_FIELD_MAX 8192	/* longer strings are cut (at a UTF-8 boundary) */
#define ACCESSLOG_INSTANCE_MAX 255
/* Bytes waiting for the writer, whatever queue_max says: long lines cannot
 * make the queue take gigabytes. */
#define ACCESSLOG_QUEUE_BYTES_MAX (64 * 1024 * 1024)

enum audit_client_ip { AUDIT_IP_TRUNCATE, AUDIT_IP_FULL, AUDIT_IP_NONE };

/* The `audit` config section. Owned by struct config. */
struct audit_config {
	bool enabled;			/* the section is present */
	char *log;			/* resolved path */
	struct cfg_secret key;		/* key_file: chain and pseudonym key */
	enum audit_client_ip client_ip;
	long long fsync_ms;		/* at most this long between fsyncs; 0: every write */
	long long queue_max;		/* lines waiting for the writer */
	char *instance;			/* default: the host name */
};

/* Parses the section into an audit_config (a config_sections entry). */
int audit_config_parse(struct cfg_ctx *c, yaml_node_t *n, void *audit_config);
void audit_config_free(struct audit_config *ac);

/* One request, filled by the pipeline. Strings are borrowed for the call. */
struct accesslog_record {
	int64_t ts_ms;			/* Unix milliseconds */
	const char *id, *method, *path;	/* NULL: null */
	int status;			/* <= 0: null (no answer was sent) */
	long long bytes;		/* -1: null */
	long ms, upstream_ms;		/* -1: null */
	const struct netaddr *client;	/* NULL: null */
	const char *decision, *reason, *promotion, *article;	/* NULL: null */
	long long meter_used, meter_limit;			/* -1: null */
	const char *token;		/* absent|valid|invalid|expired, NULL: null */
	const uint8_t *visitor;		/* 16-byte visitor id or NULL */
	const char *user;		/* the raw sub or NULL: only its pseudonym is logged */
	bool crawler;
};

struct accesslog;

/*
 * Opens (creating, mode 0640) the log at cfg->log for appending and starts
 * the writer thread. Everything needed is copied: cfg may be freed after.
 * When the file is not empty, its last line's chain is read and continued,
 * after a header line carrying it (a damaged last line is reported on
 * stderr and the chain restarts from zeros, so verification shows the
 * damage). Returns 0, or -1 with a message in err.
 */
int accesslog_open(const struct audit_config *cfg, struct accesslog **out, char *err,
		   size_t errlen);
/*
 * Formats the record as one line (jansson; string fields past
 * ACCESSLOG_FIELD_MAX bytes are cut) and queues it. Never waits on disk:
 * when queue_max lines (or ACCESSLOG_QUEUE_BYTES_MAX bytes) are waiting, the
 * line is dropped and counted, with a warning on stderr at most once a
 * second. Thread-safe; NULL-safe (no-op).
 */
void accesslog_write(struct accesslog *l, const struct accesslog_record *r);
/*
 * Asks the writer to close and reopen the file at the same path (SIGUSR1
 * after logrotate moved it). Lines queued before are written to the old
 * file; the reopened file gets a header line with the last chain. A failed
 * open is logged and the old file kept. Thread-safe, never blocks on disk.
 */
void accesslog_reopen(struct accesslog *l);
/* Lines dropped (queue full, write errors) and request lines written. */
unsigned long long accesslog_dropped(const struct accesslog *l);
unsigned long long accesslog_written(const struct accesslog *l);
/* The chain of the last line written (64 hex + NUL). Thread-safe. */
void accesslog_last_chain(struct accesslog *l, char out[ACCESSLOG_CHAIN_HEX + 1]);
/* Writes what is queued, fsyncs, joins the writer, logs the last chain,
 * frees. Call once no thread writes any more. NULL-safe. */
void accesslog_close(struct accesslog *l);

/* The pseudonym of data under key: kind is "visitor" (data: the 16 id
 * bytes) or "user" (data: the sub). out gets 32 hex chars and a NUL (all
 * '0' if HMAC fails, which it does only when out of memory). Thread-safe. */
void accesslog_pseudonym(const struct cfg_secret *key, const char *kind, const void *data,
			 size_t len, char out[ACCESSLOG_PSEUDONYM_HEX + 1]);

#endif
