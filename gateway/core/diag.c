#include "gateway/core/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"

void crgw_diags_add(crgw_diags *d, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    crgw_diags_addv(d, path, fmt, ap);
    va_end(ap);
}

void crgw_diags_addv(crgw_diags *d, const char *path, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 8;
        d->v = xrealloc(d->v, d->cap * sizeof(crgw_diag));
    }
    d->v[d->n].path = xstrdup(path ? path : "$");
    d->v[d->n].message = xstrdup(msg);
    d->n++;
}

void crgw_diags_cleanup(crgw_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->v[i].path);
        free(d->v[i].message);
    }
    free(d->v);
    d->v = NULL;
    d->n = d->cap = 0;
}

int crgw_diags_has_path(const crgw_diags *d, const char *path)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->v[i].path, path) == 0)
            return 1;
    return 0;
}

json_t *crgw_diags_to_json(const crgw_diags *d)
{
    json_t *a = json_array();
    for (size_t i = 0; i < d->n; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:s}", "path", d->v[i].path, "message", d->v[i].message));
    return a;
}
