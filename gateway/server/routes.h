/*
 * routes: the one static route table (gateway/server/routes.c) and its matching.
 *
 * Adding a route is one line in the table of routes.c (method, pattern, roles, handler, name);
 * the handler is declared in its module's header. Patterns are literal segments and `{}`,
 * which matches exactly one non-empty segment (its value becomes a path parameter).
 */
#ifndef CRGW_ROUTES_H
#define CRGW_ROUTES_H

#include "gateway/core/err.h"

#include <stddef.h>

#include "gateway/server/http.h"

typedef struct {
    const crgw_route *route;
    size_t index; /* position in the table (metrics) */
    struct {
        const char *p;
        size_t len;
    } params[CRGW_MAX_PATH_PARAMS]; /* views into the matched path */
    size_t n_params;
} crgw_route_match;

/*
 * Matches method and path (len bytes, no query). Returns 0 and fills m, or one of
 * CRGW_ERR_NOT_FOUND / CRGW_ERR_METHOD. For the latter, allow (allow_len bytes)
 * receives the allowed methods, e.g. "GET, POST".
 */
int crgw_routes_match(const char *method, const char *path, size_t len, crgw_route_match *m,
                      char *allow, size_t allow_len);
/* 1 when a caller with these role bits may use the route (roles 0 = any authenticated caller). */
int crgw_routes_allowed(const crgw_route *r, unsigned roles);
size_t crgw_routes_count(void);
const crgw_route *crgw_routes_at(size_t i);

#endif
