/* timefmt: RFC 3339 timestamps, as promotions and audit logs use them. */
#ifndef PAYWALLD_TIMEFMT_H
#define PAYWALLD_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TIMEFMT_RFC3339_MAX 32

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" into Unix
 * seconds (the fraction is dropped). The offset is required: a local time
 * without one would mean something different on every server. Dates are
 * range-checked (month 1-12, day within the month, leap years; hour 0-23,
 * minute 0-59, second 0-60). 'T' and 'Z' may be lower case (RFC 3339 5.6).
 * Returns 0, or -1 when s is not such a timestamp. Thread-safe.
 */
int timefmt_parse_rfc3339(const char *s, int64_t *out);
/* Formats t as "YYYY-MM-DDTHH:MM:SSZ" (UTC). Returns 0 or -1. */
int timefmt_format_utc(int64_t t, char out[TIMEFMT_RFC3339_MAX]);

#endif
