/*
 * calendar: the working-day calendar of the repair deadlines (config/calendar-cn.yaml) and the
 * deadline computation of credit repair ("3 + 7": 3 working days to accept, 7 to decide after
 * acceptance, 10 overall, +10 on extension; DOMAIN.md, credit repair).
 *
 * Days are counted as days since 1970-01-01 (proleptic Gregorian), in Beijing time. A day is a
 * working day when it is listed in a year's `workdays` (adjusted working weekend, 调休上班), or
 * it is Monday..Friday and not listed in `holidays`. Days of years the file does not describe
 * fall back to Monday..Friday (crgw_calendar_covers() says whether a year is described).
 *
 * Counting convention: "N working days after D" is the N-th working day strictly after day D
 * (the filing or acceptance day itself never counts, whether or not it is a working day).
 */
#ifndef CRGW_CALENDAR_H
#define CRGW_CALENDAR_H

#include "gateway/core/err.h"
#include "gateway/core/time.h"

#include <stddef.h>
#include <stdint.h>

typedef struct crgw_calendar crgw_calendar;

/* Deadline periods (working days). */
#define CRGW_REPAIR_ACCEPT_DAYS 3
#define CRGW_REPAIR_DECIDE_DAYS 7
#define CRGW_REPAIR_OVERALL_DAYS 10
#define CRGW_REPAIR_EXTENSION_DAYS 10

/*
 * Loads a calendar file. Returns 0 and *out, or CRGW_ERR_IO / CRGW_ERR_INVALID with a
 * message "path: line N: ..." in err.
 */
int crgw_calendar_load(const char *path, crgw_calendar **out, char *err, size_t errlen);
void crgw_calendar_free(crgw_calendar *cal);
/* A calendar that describes no year (Monday..Friday everywhere): the fallback when none loads. */
crgw_calendar *crgw_calendar_new_empty(void);

/* 1 when day (days since epoch) is a working day. */
int crgw_calendar_is_workday(const crgw_calendar *cal, int32_t day);
/* 1 when the file describes that year; 2 when it describes it as provisional; 0 otherwise. */
int crgw_calendar_covers(const crgw_calendar *cal, int year);
/* The n-th working day strictly after day (n >= 1); day itself when n <= 0. */
int32_t crgw_calendar_add_workdays(const crgw_calendar *cal, int32_t day, int n);

/* Civil date <-> days since 1970-01-01: crgw_days_from_civil, crgw_civil_from_days (core/time). */
/* Parses exactly "YYYY-MM-DD" (an existing date). Returns 0 or -1. */
int crgw_date_parse_day(const char *s, size_t n, int32_t *day);
/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void crgw_date_format_day(int32_t day, char out[11]);
/* The Beijing-time day of a Unix time (seconds). */
int32_t crgw_day_of_unix(int64_t unix_s);
/*
 * The Beijing-time day of an RFC 3339 date-time ("2026-11-23T10:00:00+08:00", "...Z", any
 * offset, optional fraction). Returns 0 and *day, or -1 when malformed.
 */
int crgw_day_of_rfc3339(const char *s, int32_t *day);

/*
 * The deadlines of one application. filed: day the application was filed (pushed); accepted:
 * day of acceptance or -1; extended: the identifying unit extended the case (+10 working days on
 * the decision and on the overall deadline).
 */
typedef struct {
    int32_t accept_by;  /* filed + 3 */
    int32_t decide_by;  /* accepted + 7 (+10), -1 before acceptance */
    int32_t overall_by; /* filed + 10 (+10) */
} crgw_repair_deadlines;

void crgw_repair_deadlines_compute(const crgw_calendar *cal, int32_t filed, int32_t accepted,
                                   int extended, crgw_repair_deadlines *d);

/*
 * 1 when an application in state status (API names) is overdue on day today: not yet accepted
 * or refused after accept_by, not yet decided after decide_by, or still open after overall_by.
 * Final states (refused, repaired, rejected, revoked) are never overdue.
 */
int crgw_repair_overdue(const crgw_repair_deadlines *d, const char *status, int32_t today);

#endif
