/*
 * `crgw routes`: the route table `crgw serve` builds from the same module list (the server's own
 * routes first), one line per route: METHOD PATTERN ROLES NAME, tab-separated. ROLES is a
 * comma-separated list of role names, or "any" for any authenticated caller. Tests compare it
 * with gateway/openapi.yaml, so a route added to a module must be described there.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/cmd/commands.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/module.h"
#include "gateway/server/ops_routes.h"
#include "gateway/server/routes.h"

#define MAX_MODS 64

int crgw_cmd_routes(int argc, char **argv, crgw_cmd_modules mods)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "crgw routes: takes no arguments\n");
        return 2;
    }
    const crgw_module *all[MAX_MODS + 2];
    size_t n = 0;
    all[n++] = &crgw_ops_module;
    for (size_t i = 0; mods && mods[i] && n < MAX_MODS + 1; i++)
        all[n++] = mods[i];
    all[n] = NULL;
    crgw_route_table *t = NULL;
    crgw_errs errs = {0};
    int rc = crgw_route_table_new(all, &t, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "crgw routes: %s\n", errs.v[i]);
    crgw_errs_cleanup(&errs);
    if (rc != 0)
        return 1;
    for (size_t i = 0; i < crgw_routes_count(t); i++) {
        const crgw_route *r = crgw_routes_at(t, i);
        char roles[128] = "";
        size_t len = 0;
        for (unsigned bit = 1; bit && bit <= CRGW_ROLE_PEER; bit <<= 1) {
            if (!(r->roles & bit))
                continue;
            int k = snprintf(roles + len, sizeof(roles) - len, "%s%s", len ? "," : "",
                             crgw_role_name(bit));
            if (k > 0 && (size_t)k < sizeof(roles) - len)
                len += (size_t)k;
        }
        printf("%s\t%s\t%s\t%s\n", r->method, r->pattern, r->roles ? roles : "any", r->name);
    }
    crgw_route_table_free(t);
    return 0;
}
