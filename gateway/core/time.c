#include "gateway/core/time.h"

#include <string.h>
#include <time.h>

int crgw_date_valid(int y, int mo, int d)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[mo - 1] + (mo == 2 && leap);
    return d <= max;
}

int crgw_datetime_check(const crgw_datetime *t, int with_time, const char **why)
{
    if (!crgw_date_valid(t->y, t->mo, t->d)) {
        *why = "no such date";
        return -1;
    }
    if (with_time && (t->h > 23 || t->mi > 59 || t->s > 59)) {
        *why = "no such time of day";
        return -1;
    }
    return 0;
}

int32_t crgw_days_from_civil(int y, int m, int d)
{
    /* H. Hinnant, "chrono-compatible low-level date algorithms". */
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void crgw_civil_from_days(int32_t z0, int *y, int *m, int *d)
{
    int z = z0 + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int yy = (int)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yy + (*m <= 2);
}

int crgw_time_digits(const char *s, size_t n, size_t *i, int count, int *out)
{
    int v = 0;
    for (int k = 0; k < count; k++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    *out = v;
    return 0;
}

/* shift t by delta minutes */
static void shift_minutes(crgw_datetime *t, long delta)
{
    long days = crgw_days_from_civil(t->y, t->mo, t->d);
    long mins = (long)t->h * 60 + t->mi + delta;
    long dd = mins >= 0 ? mins / 1440 : -((-mins + 1439) / 1440);
    mins -= dd * 1440;
    crgw_civil_from_days((int32_t)(days + dd), &t->y, &t->mo, &t->d);
    t->h = (int)(mins / 60);
    t->mi = (int)(mins % 60);
}

int crgw_datetime_parse_rfc3339(const char *s, size_t n, crgw_datetime *t, const char **why)
{
    size_t i = 0;
    memset(t, 0, sizeof(*t));
    *why = "not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss+08:00)";
    if (crgw_time_digits(s, n, &i, 4, &t->y) || i >= n || s[i++] != '-' ||
        crgw_time_digits(s, n, &i, 2, &t->mo) || i >= n || s[i++] != '-' ||
        crgw_time_digits(s, n, &i, 2, &t->d) || i >= n || (s[i] != 'T' && s[i] != 't'))
        return -1;
    i++;
    if (crgw_time_digits(s, n, &i, 2, &t->h) || i >= n || s[i++] != ':' ||
        crgw_time_digits(s, n, &i, 2, &t->mi) || i >= n || s[i++] != ':' ||
        crgw_time_digits(s, n, &i, 2, &t->s))
        return -1;
    if (i < n && s[i] == '.') {
        i++;
        size_t st = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (s[i] != '0')
                t->has_frac = 1;
            i++;
        }
        if (i == st)
            return -1;
    }
    if (i >= n) {
        *why = "RFC 3339 date-time without a time zone offset";
        return -1;
    }
    long off;
    if (s[i] == 'Z' || s[i] == 'z') {
        off = 0;
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i++] == '-' ? -1 : 1, oh, om;
        if (crgw_time_digits(s, n, &i, 2, &oh) || i >= n || s[i++] != ':' ||
            crgw_time_digits(s, n, &i, 2, &om) || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60L + om);
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    if (crgw_datetime_check(t, 1, why))
        return -1;
    if (off != 480)
        shift_minutes(t, 480 - off);
    if (!crgw_date_valid(t->y, t->mo, t->d)) {
        *why = "date out of range after conversion to +08:00";
        return -1;
    }
    return 0;
}

int crgw_time_parse_rfc3339(const char *s, int date_only_ok, int64_t *unix_s)
{
    crgw_datetime t;
    const char *why;
    if (s == NULL)
        return -1;
    size_t n = strlen(s);
    if (n == 10 && date_only_ok) {
        size_t i = 0;
        memset(&t, 0, sizeof(t));
        if (crgw_time_digits(s, n, &i, 4, &t.y) || s[i++] != '-' ||
            crgw_time_digits(s, n, &i, 2, &t.mo) || s[i++] != '-' ||
            crgw_time_digits(s, n, &i, 2, &t.d) || !crgw_date_valid(t.y, t.mo, t.d))
            return -1;
    } else if (crgw_datetime_parse_rfc3339(s, n, &t, &why) != 0) {
        return -1;
    }
    /* t is Beijing time (+08:00) */
    *unix_s = (int64_t)crgw_days_from_civil(t.y, t.mo, t.d) * 86400 + t.h * 3600 + t.mi * 60 + t.s -
              CRGW_BEIJING_OFFSET_S;
    return 0;
}

static void format(int64_t t, const char *fmt, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    if (strftime(out, cap, fmt, &tm) == 0 && cap)
        out[0] = '\0';
}

void crgw_time_format_rfc3339(int64_t t, char *out, size_t cap)
{
    format(t + CRGW_BEIJING_OFFSET_S, "%Y-%m-%dT%H:%M:%S+08:00", out, cap);
}

void crgw_time_format_utc(int64_t t, char *out, size_t cap)
{
    format(t, "%Y-%m-%dT%H:%M:%SZ", out, cap);
}
