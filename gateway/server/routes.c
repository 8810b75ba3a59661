#include "gateway/server/routes.h"

#include <stdio.h>
#include <string.h>

#include "gateway/cache/cache_route.h"
#include "gateway/core/util.h"
#include "gateway/repair/federation.h"
#include "gateway/repair/repair.h"
#include "gateway/server/config.h"
#include "gateway/server/ops_routes.h"
#include "gateway/translate/translate_route.h"
#include "gateway/verify/verify_route.h"

/*
 * The route table. One line per route: method, pattern ({} = one segment), roles allowed
 * (CRGW_ROLE_* bits; 0 = any authenticated caller: any valid client or peer certificate over TLS,
 * anybody on the loopback h2c listener), handler, name (metrics and access log label).
 */
static const crgw_route routes[] = {
    {"GET", "/healthz", 0, crgw_route_healthz, "healthz"},
    {"GET", "/readyz", 0, crgw_route_readyz, "readyz"},
    {"GET", "/metrics", 0, crgw_route_metrics, "metrics"},
    {"POST", "/v1/reports/translate", CRGW_ROLE_VERIFIER, crgw_route_translate,
     "reports_translate"},
    {"POST", "/v1/reports/verify", CRGW_ROLE_VERIFIER, crgw_route_verify_cached, "reports_verify"},
    {"GET", "/v1/federation/peers", CRGW_ROLE_OPERATOR, crgw_route_federation_peers,
     "federation_peers"},
    {"POST", "/v1/federation/peers/{}/dead-letters/redrive", CRGW_ROLE_OPERATOR,
     crgw_route_federation_redrive, "federation_redrive"},
    {"POST", "/v1/repair/applications", CRGW_ROLE_REPAIR_DESK, crgw_route_repair_application_post,
     "repair_application_post"},
    {"GET", "/v1/repair/applications/{}", CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_OPERATOR,
     crgw_route_repair_application_get, "repair_application_get"},
    {"POST", "/v1/repair/decisions", CRGW_ROLE_PLATFORM, crgw_route_repair_decision,
     "repair_decision"},
    {"GET", "/v1/subjects/{}/repairs",
     CRGW_ROLE_VERIFIER | CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_PLATFORM, crgw_route_subject_repairs,
     "subject_repairs"},
    {"POST", "/federation/v1/repair/applications", CRGW_ROLE_PEER, crgw_route_fed_applications,
     "federation_applications"},
    {"POST", "/federation/v1/repair/events", CRGW_ROLE_PEER, crgw_route_fed_events,
     "federation_events"},
};

size_t crgw_routes_count(void)
{
    return CRGW_ARRAY_LEN(routes);
}

const crgw_route *crgw_routes_at(size_t i)
{
    return i < CRGW_ARRAY_LEN(routes) ? &routes[i] : NULL;
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

int crgw_routes_match(const char *method, const char *path, size_t len, crgw_route_match *m,
                      char *allow, size_t allow_len)
{
    int path_found = 0;
    size_t alen = 0;
    if (allow_len)
        allow[0] = '\0';
    for (size_t i = 0; i < CRGW_ARRAY_LEN(routes); i++) {
        if (!pattern_match(routes[i].pattern, path, len, m))
            continue;
        if (strcmp(routes[i].method, method) == 0) {
            m->route = &routes[i];
            m->index = i;
            return 0;
        }
        if (allow_len && alen < allow_len) {
            int n = snprintf(allow + alen, allow_len - alen, "%s%s", path_found ? ", " : "",
                             routes[i].method);
            if (n > 0)
                alen += (size_t)n;
        }
        path_found = 1;
    }
    m->route = NULL;
    m->n_params = 0;
    return path_found ? CRGW_ERR_METHOD : CRGW_ERR_NOT_FOUND;
}
