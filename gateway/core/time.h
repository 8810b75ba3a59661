/*
 * time: the project's one RFC 3339 parser and its civil-date arithmetic (proleptic Gregorian,
 * Beijing time +08:00, the zone of the API), and the formatting of instants.
 *
 * Days are counted from 1970-01-01. RFC 3339 input is a date-time with an offset (Z or +hh:mm);
 * fractional seconds are accepted and dropped; the result is converted to +08:00.
 */
#ifndef CRGW_TIME_H
#define CRGW_TIME_H

#include <stddef.h>
#include <stdint.h>

#define CRGW_BEIJING_OFFSET_S (8 * 3600)

typedef struct {
    int y, mo, d, h, mi, s;
    int has_frac; /* rfc3339 input had non-zero fractional seconds (dropped) */
} crgw_datetime;

/* 1 if y-mo-d exists in the proleptic Gregorian calendar (years 1..9999). */
int crgw_date_valid(int y, int mo, int d);
/* 0, or -1 with *why (static message) when the date (and with with_time the time) is invalid. */
int crgw_datetime_check(const crgw_datetime *t, int with_time, const char **why);

/*
 * Reads exactly count decimal digits of s[0..n) at *i into *out; *i is advanced past each digit
 * read. 0, or -1 at the end of s or at a non-digit (*out untouched).
 */
int crgw_time_digits(const char *s, size_t n, size_t *i, int count, int *out);

/* Civil date <-> days since 1970-01-01. */
int32_t crgw_days_from_civil(int y, int m, int d);
void crgw_civil_from_days(int32_t day, int *y, int *m, int *d);

/*
 * Parses s[0..n) exactly as an RFC 3339 date-time with an offset into *t, in Beijing time.
 * 0, or -1 with *why (static message).
 */
int crgw_datetime_parse_rfc3339(const char *s, size_t n, crgw_datetime *t, const char **why);
/*
 * The NUL-terminated RFC 3339 date-time s to Unix seconds; with date_only_ok, a bare YYYY-MM-DD
 * is 00:00 Beijing time of that day. The one parser of instants in the project (verification,
 * cache, calendar). 0, or -1 when s is NULL or invalid.
 */
int crgw_time_parse_rfc3339(const char *s, int date_only_ok, int64_t *unix_s);

/* "YYYY-MM-DDThh:mm:ss+08:00" of Unix time t into out (cap bytes; "" when it does not fit). */
void crgw_time_format_rfc3339(int64_t t, char *out, size_t cap);
/* "YYYY-MM-DDThh:mm:ssZ" (UTC) of Unix time t into out (cap bytes; "" when it does not fit). */
void crgw_time_format_utc(int64_t t, char *out, size_t cap);

#endif
