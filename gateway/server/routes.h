/*
 * routes: the route table of a server, built once from the module list (gateway/server/module.h)
 * and its matching.
 *
 * Adding a route is one row in its module's routes (method, pattern, roles, handler, name);
 * the table concatenates the modules' rows in list order and refuses a duplicate method and
 * pattern, or a duplicate name (metrics and access-log label). Patterns are literal segments
 * and `{}`, which matches exactly one non-empty segment (its value becomes a path parameter).
 */
#ifndef CRGW_ROUTES_H
#define CRGW_ROUTES_H

#include <stddef.h>

#include "gateway/core/err.h"
#include "gateway/server/http.h"

struct crgw_module;
struct crgw_errs;

typedef struct crgw_route_table crgw_route_table;

typedef struct {
    const crgw_route *route;
    const crgw_stream_ops *stream; /* a streaming route's ops, else NULL */
    size_t index;                  /* position in the table (metrics) */
    struct {
        const char *p;
        size_t len;
    } params[CRGW_MAX_PATH_PARAMS]; /* views into the matched path */
    size_t n_params;
} crgw_route_match;

/*
 * The table of the routes of mods (NULL-terminated). Returns 0 and *out, or CRGW_ERR_INVALID
 * with one message per duplicate or malformed row in errs.
 */
int crgw_route_table_new(const struct crgw_module *const *mods, crgw_route_table **out,
                         struct crgw_errs *errs);
void crgw_route_table_free(crgw_route_table *t);

/*
 * Matches method and path (len bytes, no query). Returns 0 and fills m, or CRGW_ERR_NOT_FOUND
 * (no pattern matches the path: 404) / CRGW_ERR_METHOD (a pattern matches, not with this
 * method: 405). For the latter, allow (allow_len bytes) receives the allowed methods, e.g.
 * "GET, POST".
 */
int crgw_routes_match(const crgw_route_table *t, const char *method, const char *path, size_t len,
                      crgw_route_match *m, char *allow, size_t allow_len);
/* 1 when a caller with these role bits may use the route (roles 0 = any authenticated caller). */
int crgw_routes_allowed(const crgw_route *r, unsigned roles);
size_t crgw_routes_count(const crgw_route_table *t);
const crgw_route *crgw_routes_at(const crgw_route_table *t, size_t i);

#endif
