#include "gateway/server/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/module.h"

struct crgw_route_table {
    crgw_route *v;
    const crgw_stream_ops **ops; /* per row: a streaming route's ops, else NULL */
    size_t n;
};

/* The pattern is "/"-separated literal segments and "{}"; 1 when well formed. */
static int pattern_ok(const char *p)
{
    if (p[0] != '/')
        return 0;
    for (const char *q = p; *q; q++)
        if ((*q == '{' && q[1] != '}') || (*q == '}' && (q == p || q[-1] != '{')))
            return 0;
    return 1;
}

static void add_route(crgw_route_table *t, const crgw_module *m, const crgw_route *r,
                      const crgw_stream_ops *ops, crgw_errs *errs)
{
    if (!r->pattern || !pattern_ok(r->pattern) || !r->handler || !r->name) {
        crgw_errs_add(errs, "module %s: route %s %s: needs a pattern /..., a handler and a name",
                      m->name, r->method, r->pattern ? r->pattern : "(none)");
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].method, r->method) == 0 && strcmp(t->v[i].pattern, r->pattern) == 0)
            crgw_errs_add(errs, "module %s: route %s %s is already declared (%s)", m->name,
                          r->method, r->pattern, t->v[i].name);
        else if (strcmp(t->v[i].name, r->name) == 0)
            crgw_errs_add(errs, "module %s: route name '%s' is already used by %s %s", m->name,
                          r->name, t->v[i].method, t->v[i].pattern);
    }
    t->ops[t->n] = ops;
    t->v[t->n++] = *r;
}

int crgw_route_table_new(const crgw_module *const *mods, crgw_route_table **out, crgw_errs *errs)
{
    size_t n = 0, before = errs->n;
    for (size_t k = 0; mods && mods[k]; k++)
        for (const crgw_route *r = mods[k]->routes; r && r->method; r++)
            n++;
    for (size_t k = 0; mods && mods[k]; k++)
        for (const crgw_stream_route *r = mods[k]->stream_routes; r && r->route.method; r++)
            n++;
    crgw_route_table *t = xcalloc(1, sizeof(*t));
    t->v = xcalloc(n + 1, sizeof(*t->v));
    t->ops = xcalloc(n + 1, sizeof(*t->ops));
    for (size_t k = 0; mods && mods[k]; k++) {
        for (const crgw_route *r = mods[k]->routes; r && r->method; r++)
            add_route(t, mods[k], r, NULL, errs);
        for (const crgw_stream_route *r = mods[k]->stream_routes; r && r->route.method; r++)
            add_route(t, mods[k], &r->route, r->ops, errs);
    }
    if (errs->n > before) {
        crgw_route_table_free(t);
        return CRGW_ERR_INVALID;
    }
    *out = t;
    return 0;
}

void crgw_route_table_free(crgw_route_table *t)
{
    if (!t)
        return;
    free(t->v);
    free(t->ops);
    free(t);
}

size_t crgw_routes_count(const crgw_route_table *t)
{
    return t ? t->n : 0;
}

const crgw_route *crgw_routes_at(const crgw_route_table *t, size_t i)
{
    return t && i < t->n ? &t->v[i] : NULL;
}

int crgw_routes_allowed(const crgw_route *r, unsigned roles)
{
    return r->roles == 0 || (r->roles & roles) != 0;
}

/* Matches pattern against path[0..len); fills params. */
static int pattern_match(const char *pat, const char *path, size_t len, crgw_route_match *m)
{
    size_t i = 0;
    m->n_params = 0;
    while (*pat) {
        if (pat[0] == '{' && pat[1] == '}') {
            size_t start = i;
            while (i < len && path[i] != '/')
                i++;
            if (i == start || m->n_params == CRGW_MAX_PATH_PARAMS)
                return 0;
            m->params[m->n_params].p = path + start;
            m->params[m->n_params].len = i - start;
            m->n_params++;
            pat += 2;
            continue;
        }
        if (i >= len || path[i] != *pat)
            return 0;
        i++;
        pat++;
    }
    return i == len;
}

int crgw_routes_match(const crgw_route_table *t, const char *method, const char *path, size_t len,
                      crgw_route_match *m, char *allow, size_t allow_len)
{
    int path_found = 0;
    size_t alen = 0;
    if (allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < t->n; i++) {
        if (!pattern_match(t->v[i].pattern, path, len, m))
            continue;
        if (strcmp(t->v[i].method, method) == 0) {
            m->route = &t->v[i];
            m->stream = t->ops[i];
            m->index = i;
            return 0;
        }
        if (allow_len && alen < allow_len) {
            int n = snprintf(allow + alen, allow_len - alen, "%s%s", path_found ? ", " : "",
                             t->v[i].method);
            if (n > 0)
                alen += (size_t)n;
        }
        path_found = 1;
    }
    m->route = NULL;
    m->stream = NULL;
    m->n_params = 0;
    return path_found ? CRGW_ERR_METHOD : CRGW_ERR_NOT_FOUND;
}
