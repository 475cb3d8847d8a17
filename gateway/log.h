/* log: one-line structured operational messages on stderr. */
#ifndef PAYWALLD_LOG_H
#define PAYWALLD_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/*
 * Writes one line to stderr:
 *   2026-11-27T19:30:00.123Z level=info module=upstream msg="..."
 * The message is formatted with printf rules and quoted; quotes, backslashes
 * and control characters in it are escaped so a line can never be split or
 * forged by data (a hostile header value, say). Lines longer than 2 KiB are
 * truncated. Thread-safe: one write(2) per line.
 */
void log_msg(enum log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Rate limiting for messages an outage would repeat per request: true at
 * most once per every_ms (monotonic clock) for one *last, which the caller
 * owns and initialises to INT64_MIN / 2. Thread-safe.
 */
bool log_due(atomic_llong *last, long long every_ms);

#define log_info(mod, ...)  log_msg(LOG_INFO, (mod), __VA_ARGS__)
#define log_warn(mod, ...)  log_msg(LOG_WARN, (mod), __VA_ARGS__)
#define log_error(mod, ...) log_msg(LOG_ERROR, (mod), __VA_ARGS__)

#endif
