/*
 * calendar: working days from config/calendar-cn.yaml, and the repair deadlines.
 *
 * File format:
 *   years:
 *     2026:
 *       source: text            (optional)
 *       provisional: true       (optional)
 *       holidays: [2026-01-01..2026-01-03, 2026-02-15, ...]   dates or A..B ranges (inclusive)
 *       workdays: [2026-01-04, ...]                            adjusted working weekends
 * Every date of a year's lists must lie in that year.
 */
#include "gateway/repair/calendar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/core/yamltree.h"

#define MAX_FILE (1u << 20)
#define MAX_RANGE_DAYS 60

typedef struct {
    int32_t *v;
    size_t n, cap;
} dayset;

typedef struct {
    int year;
    int provisional;
} year_info;

struct crgw_calendar {
    dayset holidays;
    dayset workdays;
    year_info *years;
    size_t n_years;
};

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int crgw_date_parse_day(const char *s, size_t n, int32_t *day)
{
    int y, m, d;
    if (n != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (!crgw_date_valid(y, m, d))
        return -1;
    *day = crgw_days_from_civil(y, m, d);
    return 0;
}

void crgw_date_format_day(int32_t day, char out[11])
{
    int y, m, d;
    crgw_civil_from_days(day, &y, &m, &d);
    unsigned uy = (unsigned)y % 10000u, um = (unsigned)m % 100u, ud = (unsigned)d % 100u;
    out[0] = (char)('0' + uy / 1000);
    out[1] = (char)('0' + uy / 100 % 10);
    out[2] = (char)('0' + uy / 10 % 10);
    out[3] = (char)('0' + uy % 10);
    out[4] = '-';
    out[5] = (char)('0' + um / 10);
    out[6] = (char)('0' + um % 10);
    out[7] = '-';
    out[8] = (char)('0' + ud / 10);
    out[9] = (char)('0' + ud % 10);
    out[10] = '\0';
}

int32_t crgw_day_of_unix(int64_t unix_s)
{
    int64_t t = unix_s + 8 * 3600;
    int64_t q = t / 86400;
    if (t % 86400 < 0)
        q--;
    return (int32_t)q;
}

int crgw_day_of_rfc3339(const char *s, int32_t *day)
{
    int64_t unix_s;
    if (crgw_time_parse_rfc3339(s, 0, &unix_s) != 0)
        return -1;
    *day = crgw_day_of_unix(unix_s);
    return 0;
}

static void dayset_add(dayset *s, int32_t d)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 32;
        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = d;
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int dayset_has(const dayset *s, int32_t d)
{
    return s->n && bsearch(&d, s->v, s->n, sizeof(*s->v), cmp_day) != NULL;
}

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(char *err, size_t errlen, const char *path, int line, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: line %d: %s", path, line, msg);
    return CRGW_ERR_INVALID;
}

/* Adds the dates of a list (dates or A..B ranges) of year y to set. */
static int load_list(const char *path, const crgw_ynode *list, int y, int ranges, dayset *set,
                     char *err, size_t errlen)
{
    if (list == NULL)
        return 0;
    if (list->type != CRGW_Y_SEQ)
        return fail(err, errlen, path, list->line, "expected a list of dates");
    for (size_t i = 0; i < list->n; i++) {
        const crgw_ynode *it = list->kids[i];
        if (it->type != CRGW_Y_SCALAR)
            return fail(err, errlen, path, it->line, "expected a date");
        const char *s = it->scalar;
        const char *dots = strstr(s, "..");
        int32_t a, b;
        if (dots != NULL) {
            if (!ranges || crgw_date_parse_day(s, (size_t)(dots - s), &a) != 0 ||
                crgw_date_parse_day(dots + 2, strlen(dots + 2), &b) != 0 || b < a ||
                b - a > MAX_RANGE_DAYS)
                return fail(err, errlen, path, it->line, "bad date range '%s'", s);
        } else {
            if (crgw_date_parse_day(s, strlen(s), &a) != 0)
                return fail(err, errlen, path, it->line, "bad date '%s' (YYYY-MM-DD)", s);
            b = a;
        }
        int ya, yb, m, d;
        crgw_civil_from_days(a, &ya, &m, &d);
        crgw_civil_from_days(b, &yb, &m, &d);
        if (ya != y || yb != y)
            return fail(err, errlen, path, it->line, "'%s' is not in year %d", s, y);
        for (int32_t x = a; x <= b; x++)
            dayset_add(set, x);
    }
    return 0;
}

static int load_year(const char *path, const char *key, int key_line, const crgw_ynode *v,
                     crgw_calendar *cal, char *err, size_t errlen)
{
    int y;
    if (strlen(key) != 4 || digits(key, 4, &y) != 0 || y < 1900)
        return fail(err, errlen, path, key_line, "bad year '%s'", key);
    if (v->type != CRGW_Y_MAP)
        return fail(err, errlen, path, v->line, "year %d: expected a mapping", y);
    for (size_t i = 0; i < v->n; i++) {
        const char *k = v->keys[i];
        if (strcmp(k, "source") && strcmp(k, "provisional") && strcmp(k, "holidays") &&
            strcmp(k, "workdays"))
            return fail(err, errlen, path, v->key_lines[i], "unknown key '%s'", k);
    }
    for (size_t i = 0; i < cal->n_years; i++)
        if (cal->years[i].year == y)
            return fail(err, errlen, path, key_line, "year %d listed twice", y);
    int prov = 0;
    const crgw_ynode *p = crgw_yaml_get(v, "provisional");
    if (p != NULL) {
        if (p->type != CRGW_Y_SCALAR || (strcmp(p->scalar, "true") && strcmp(p->scalar, "false")))
            return fail(err, errlen, path, p->line, "provisional: expected true or false");
        prov = strcmp(p->scalar, "true") == 0;
    }
    int rc = load_list(path, crgw_yaml_get(v, "holidays"), y, 1, &cal->holidays, err, errlen);
    if (rc == 0)
        rc = load_list(path, crgw_yaml_get(v, "workdays"), y, 0, &cal->workdays, err, errlen);
    if (rc != 0)
        return rc;
    cal->years = xrealloc(cal->years, (cal->n_years + 1) * sizeof(*cal->years));
    cal->years[cal->n_years].year = y;
    cal->years[cal->n_years].provisional = prov;
    cal->n_years++;
    return 0;
}

int crgw_calendar_load(const char *path, crgw_calendar **out, char *err, size_t errlen)
{
    crgw_ynode *root = NULL;
    char yerr[256];
    *out = NULL;
    if (crgw_yaml_load(path, MAX_FILE, &root, yerr, sizeof(yerr)) != 0) {
        snprintf(err, errlen, "%s: %s", path, yerr);
        return CRGW_ERR_IO;
    }
    crgw_calendar *cal = xcalloc(1, sizeof(*cal));
    int rc = 0;
    const crgw_ynode *years = crgw_yaml_get(root, "years");
    if (root->type != CRGW_Y_MAP || years == NULL || years->type != CRGW_Y_MAP) {
        rc = fail(err, errlen, path, root->line, "expected a mapping 'years'");
        goto out;
    }
    for (size_t i = 0; i < years->n && rc == 0; i++)
        rc = load_year(path, years->keys[i], years->key_lines[i], years->kids[i], cal, err, errlen);
    if (rc != 0)
        goto out;
    qsort(cal->holidays.v, cal->holidays.n, sizeof(int32_t), cmp_day);
    qsort(cal->workdays.v, cal->workdays.n, sizeof(int32_t), cmp_day);
    for (size_t i = 0; i < cal->workdays.n; i++) {
        if (dayset_has(&cal->holidays, cal->workdays.v[i])) {
            char d[11];
            crgw_date_format_day(cal->workdays.v[i], d);
            rc = fail(err, errlen, path, years->line, "%s is both a holiday and a workday", d);
            goto out;
        }
    }
out:
    crgw_yaml_free(root);
    if (rc != 0) {
        crgw_calendar_free(cal);
        return rc;
    }
    *out = cal;
    return 0;
}

crgw_calendar *crgw_calendar_new_empty(void)
{
    return xcalloc(1, sizeof(crgw_calendar));
}

void crgw_calendar_free(crgw_calendar *cal)
{
    if (cal == NULL)
        return;
    free(cal->holidays.v);
    free(cal->workdays.v);
    free(cal->years);
    free(cal);
}

int crgw_calendar_is_workday(const crgw_calendar *cal, int32_t day)
{
    if (dayset_has(&cal->workdays, day))
        return 1;
    /* 1970-01-01 was a Thursday: weekday 0 = Monday. */
    int wd = (int)(((int64_t)day + 3) % 7);
    if (wd < 0)
        wd += 7;
    if (wd >= 5)
        return 0;
    return !dayset_has(&cal->holidays, day);
}

int crgw_calendar_covers(const crgw_calendar *cal, int year)
{
    for (size_t i = 0; i < cal->n_years; i++)
        if (cal->years[i].year == year)
            return cal->years[i].provisional ? 2 : 1;
    return 0;
}

int32_t crgw_calendar_add_workdays(const crgw_calendar *cal, int32_t day, int n)
{
    while (n > 0) {
        day++;
        if (crgw_calendar_is_workday(cal, day))
            n--;
    }
    return day;
}

void crgw_repair_deadlines_compute(const crgw_calendar *cal, int32_t filed, int32_t accepted,
                                   int extended, crgw_repair_deadlines *d)
{
    int ext = extended ? CRGW_REPAIR_EXTENSION_DAYS : 0;
    d->accept_by = crgw_calendar_add_workdays(cal, filed, CRGW_REPAIR_ACCEPT_DAYS);
    d->decide_by = accepted < 0
                       ? -1
                       : crgw_calendar_add_workdays(cal, accepted, CRGW_REPAIR_DECIDE_DAYS + ext);
    d->overall_by = crgw_calendar_add_workdays(cal, filed, CRGW_REPAIR_OVERALL_DAYS + ext);
}

int crgw_repair_overdue(const crgw_repair_deadlines *d, const char *status, int32_t today)
{
    if (strcmp(status, "submitted") == 0 || strcmp(status, "delivered") == 0)
        return today > d->accept_by || today > d->overall_by;
    if (strcmp(status, "accepted") == 0)
        return (d->decide_by >= 0 && today > d->decide_by) || today > d->overall_by;
    return 0;
}
