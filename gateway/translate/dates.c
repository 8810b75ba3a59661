#include "gateway/translate/dates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/time.h"
#include "gateway/core/util.h"

enum tok { T_LIT, T_Y4, T_MO2, T_MO1, T_D2, T_D1, T_H2, T_MI2, T_S2 };

typedef struct {
    enum tok t;
    char *lit; /* T_LIT */
    size_t len;
} item;

struct crgw_datefmt {
    int rfc3339;
    int has_time, has_sec;
    item *v;
    size_t n;
};

static const struct {
    const char *s;
    enum tok t;
} TOKS[] = {
    {"YYYY", T_Y4}, {"MM", T_MO2}, {"DD", T_D2}, {"hh", T_H2},
    {"mm", T_MI2},  {"ss", T_S2},  {"M", T_MO1}, {"D", T_D1},
};

void crgw_datefmt_free(crgw_datefmt *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].lit);
    free(f->v);
    free(f);
}

crgw_datefmt *crgw_datefmt_new(const char *spec, const char **why)
{
    crgw_datefmt *f = xcalloc(1, sizeof(*f));
    if (strcmp(spec, "rfc3339") == 0) {
        f->rfc3339 = f->has_time = f->has_sec = 1;
        return f;
    }
    size_t cap = strlen(spec) + 1;
    f->v = xcalloc(cap, sizeof(item));
    unsigned seen = 0;
    const char *p = spec;
    while (*p) {
        size_t k;
        for (k = 0; k < CRGW_ARRAY_LEN(TOKS); k++)
            if (strncmp(p, TOKS[k].s, strlen(TOKS[k].s)) == 0)
                break;
        if (k < CRGW_ARRAY_LEN(TOKS)) {
            enum tok t = TOKS[k].t;
            unsigned bit = 1u << (unsigned)t;
            if (seen & bit) {
                *why = "a date field appears twice in the format";
                goto fail;
            }
            seen |= bit;
            f->v[f->n++].t = t;
            p += strlen(TOKS[k].s);
            continue;
        }
        if (f->n > 0 && f->v[f->n - 1].t == T_LIT) {
            item *it = &f->v[f->n - 1];
            it->lit = xrealloc(it->lit, it->len + 2);
            it->lit[it->len++] = *p;
            it->lit[it->len] = '\0';
        } else {
            item *it = &f->v[f->n++];
            it->t = T_LIT;
            it->lit = xstrndup(p, 1);
            it->len = 1;
        }
        p++;
    }
    int y = !!(seen & (1u << T_Y4));
    int mo = !!(seen & ((1u << T_MO2) | (1u << T_MO1)));
    int d = !!(seen & ((1u << T_D2) | (1u << T_D1)));
    if (!y || !mo || !d || ((seen & (1u << T_MO2)) && (seen & (1u << T_MO1))) ||
        ((seen & (1u << T_D2)) && (seen & (1u << T_D1)))) {
        *why = "a date format needs exactly one year (YYYY), month (MM or M) and day (DD or D)";
        goto fail;
    }
    f->has_time = !!(seen & ((1u << T_H2) | (1u << T_MI2) | (1u << T_S2)));
    f->has_sec = !!(seen & (1u << T_S2));
    if (f->has_time && !((seen & (1u << T_H2)) && (seen & (1u << T_MI2)))) {
        *why = "a time format needs hours (hh) and minutes (mm)";
        goto fail;
    }
    return f;
fail:
    crgw_datefmt_free(f);
    return NULL;
}

int crgw_datefmt_has_time(const crgw_datefmt *f)
{
    return f->has_time;
}

/* 1 or 2 digits without zero padding */
static int digits12(const char *s, size_t n, size_t *i, int *out)
{
    if (*i >= n || s[*i] < '1' || s[*i] > '9')
        return -1;
    int v = s[(*i)++] - '0';
    if (*i < n && s[*i] >= '0' && s[*i] <= '9')
        v = v * 10 + (s[(*i)++] - '0');
    *out = v;
    return 0;
}

int crgw_datefmt_parse(const crgw_datefmt *f, const char *s, size_t n, crgw_datetime *out,
                       const char **why)
{
    if (f->rfc3339)
        return crgw_datetime_parse_rfc3339(s, n, out, why);
    crgw_datetime t = {0};
    size_t i = 0;
    *why = "does not match the date format";
    for (size_t k = 0; k < f->n; k++) {
        const item *it = &f->v[k];
        int r = 0;
        switch (it->t) {
        case T_LIT:
            if (n - i < it->len || memcmp(s + i, it->lit, it->len) != 0)
                return -1;
            i += it->len;
            break;
        case T_Y4:
            r = crgw_time_digits(s, n, &i, 4, &t.y);
            break;
        case T_MO2:
            r = crgw_time_digits(s, n, &i, 2, &t.mo);
            break;
        case T_D2:
            r = crgw_time_digits(s, n, &i, 2, &t.d);
            break;
        case T_MO1:
            r = digits12(s, n, &i, &t.mo);
            break;
        case T_D1:
            r = digits12(s, n, &i, &t.d);
            break;
        case T_H2:
            r = crgw_time_digits(s, n, &i, 2, &t.h);
            break;
        case T_MI2:
            r = crgw_time_digits(s, n, &i, 2, &t.mi);
            break;
        case T_S2:
            r = crgw_time_digits(s, n, &i, 2, &t.s);
            break;
        }
        if (r)
            return -1;
    }
    if (i != n)
        return -1;
    if (crgw_datetime_check(&t, f->has_time, why))
        return -1;
    *out = t;
    return 0;
}

static int put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n + 1 > cap)
        return -1;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

static int putnum(char *out, size_t cap, size_t *len, int v, int width)
{
    char tmp[16];
    int k = width > 0 ? snprintf(tmp, sizeof(tmp), "%0*d", width, v)
                      : snprintf(tmp, sizeof(tmp), "%d", v);
    return put(out, cap, len, tmp, (size_t)k);
}

int crgw_datefmt_format(const crgw_datefmt *f, const crgw_datetime *t, char *out, size_t cap,
                        int *lossy)
{
    size_t len = 0;
    *lossy = 0;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (f->rfc3339) {
        char tmp[32];
        crgw_date_format_canonical(t, 1, tmp);
        return put(out, cap, &len, tmp, strlen(tmp)) ? -1 : (int)len;
    }
    if (!f->has_sec && t->s != 0)
        *lossy = 1;
    for (size_t k = 0; k < f->n; k++) {
        const item *it = &f->v[k];
        int r = 0;
        switch (it->t) {
        case T_LIT:
            r = put(out, cap, &len, it->lit, it->len);
            break;
        case T_Y4:
            r = putnum(out, cap, &len, t->y, 4);
            break;
        case T_MO2:
            r = putnum(out, cap, &len, t->mo, 2);
            break;
        case T_D2:
            r = putnum(out, cap, &len, t->d, 2);
            break;
        case T_MO1:
            r = putnum(out, cap, &len, t->mo, 0);
            break;
        case T_D1:
            r = putnum(out, cap, &len, t->d, 0);
            break;
        case T_H2:
            r = putnum(out, cap, &len, t->h, 2);
            break;
        case T_MI2:
            r = putnum(out, cap, &len, t->mi, 2);
            break;
        case T_S2:
            r = putnum(out, cap, &len, t->s, 2);
            break;
        }
        if (r)
            return -1;
    }
    return (int)len;
}

int crgw_date_parse_canonical(const char *s, size_t n, int with_time, crgw_datetime *out,
                              const char **why)
{
    if (with_time)
        return crgw_datetime_parse_rfc3339(s, n, out, why);
    crgw_datetime t = {0};
    size_t i = 0;
    *why = "not a date YYYY-MM-DD";
    if (crgw_time_digits(s, n, &i, 4, &t.y) || i >= n || s[i++] != '-' ||
        crgw_time_digits(s, n, &i, 2, &t.mo) || i >= n || s[i++] != '-' ||
        crgw_time_digits(s, n, &i, 2, &t.d) || i != n)
        return -1;
    if (crgw_datetime_check(&t, 0, why))
        return -1;
    *out = t;
    return 0;
}

static char *digits_out(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void crgw_date_format_canonical(const crgw_datetime *t, int with_time, char out[32])
{
    /* hot path: no printf */
    char *p = out;
    p = digits_out(p, t->y % 10000, 4);
    *p++ = '-';
    p = digits_out(p, t->mo % 100, 2);
    *p++ = '-';
    p = digits_out(p, t->d % 100, 2);
    if (with_time) {
        *p++ = 'T';
        p = digits_out(p, t->h % 100, 2);
        *p++ = ':';
        p = digits_out(p, t->mi % 100, 2);
        *p++ = ':';
        p = digits_out(p, t->s % 100, 2);
        memcpy(p, "+08:00", 6);
        p += 6;
    }
    *p = '\0';
}
