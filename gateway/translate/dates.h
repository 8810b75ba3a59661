/*
 * dates: exact date and time formats of the dialects (adapters/README.md, "Date formats").
 *
 * A format is a string of tokens and literal bytes: YYYY (4 digits), MM DD hh mm ss (exactly 2
 * digits), M D (1 or 2 digits, no zero padding); anything else is literal (UTF-8 allowed, e.g.
 * "YYYY年M月D日"). The special format "rfc3339" is RFC 3339 date-time with an offset (Z or
 * +hh:mm; converted to +08:00; fractional seconds accepted and dropped). A time format without
 * an offset is Beijing time (+08:00). Every date must exist.
 */
#ifndef CRGW_DATES_H
#define CRGW_DATES_H

#include <stddef.h>
#include <stdint.h>

#include "gateway/core/time.h"

typedef struct crgw_datefmt crgw_datefmt;

/* Compiles a format. NULL with *why set when invalid. */
crgw_datefmt *crgw_datefmt_new(const char *spec, const char **why);
void crgw_datefmt_free(crgw_datefmt *f);
/* 1 if the format has time fields (h/m/s) */
int crgw_datefmt_has_time(const crgw_datefmt *f);

/* Parses s[0..n) exactly. 0, or -1 with *why (static message). Result in Beijing time. */
int crgw_datefmt_parse(const crgw_datefmt *f, const char *s, size_t n, crgw_datetime *out,
                       const char **why);
/*
 * Writes t in format f into out (size cap, NUL-terminated). Returns the length, or -1 when it
 * does not fit. *lossy set to 1 when the format cannot hold a non-zero field of t (seconds).
 */
int crgw_datefmt_format(const crgw_datefmt *f, const crgw_datetime *t, char *out, size_t cap,
                        int *lossy);

/* Canonical forms: "YYYY-MM-DD" and "YYYY-MM-DDThh:mm:ss+08:00". */
int crgw_date_parse_canonical(const char *s, size_t n, int with_time, crgw_datetime *out,
                              const char **why);
void crgw_date_format_canonical(const crgw_datetime *t, int with_time, char out[32]);

#endif
