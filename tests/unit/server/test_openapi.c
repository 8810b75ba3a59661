/*
 * gateway/server/openapi.c: the description embedded in the binary is gateway/openapi.yaml byte
 * for byte, and every route of the table built from the modules has its path and method there
 * (tests/integration/openapi_routes.sh checks the same, and the other direction, on `crgw routes`).
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/openapi.h"
#include "gateway/server/ops_routes.h"
#include "gateway/server/routes.h"
#include "tests/unit/test_modules.h"

Test(openapi, embedded_is_the_file)
{
    FILE *f = fopen("gateway/openapi.yaml", "rb");
    cr_assert_not_null(f, "run from the repository root");
    static char file[1 << 20];
    size_t n = fread(file, 1, sizeof(file), f);
    fclose(f);
    size_t len = 0;
    const char *text = crgw_openapi_yaml(&len);
    cr_assert_eq(len, n, "embedded %zu bytes, the file has %zu: rebuild", len, n);
    cr_assert_eq(memcmp(text, file, n), 0);
    cr_assert_eq(text[len], '\0');
    cr_assert_eq(strncmp(text, "openapi: 3.1.", 13), 0);
}

/* 1 when the YAML path key (e.g. /v1/repair/applications/{id}) has the route's pattern ({}). */
static int same_path(const char *key, size_t klen, const char *pattern)
{
    size_t i = 0;
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '{' && p[1] == '}') {
            if (i >= klen || key[i] != '{')
                return 0;
            while (i < klen && key[i] != '}')
                i++;
            i++;
            p++;
            continue;
        }
        if (i >= klen || key[i] != *p)
            return 0;
        i++;
    }
    return i == klen;
}

/* 1 when the description has an operation for method and pattern. */
static int documented(const char *yaml, const char *method, const char *pattern)
{
    char op[16];
    size_t k = 0;
    for (; method[k] && k + 1 < sizeof(op); k++)
        op[k] = (char)tolower((unsigned char)method[k]);
    op[k] = '\0';
    for (const char *l = yaml; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, "  /", 3) != 0)
            continue;
        const char *colon = strchr(l, ':');
        if (!colon || colon[1] != '\n' || !same_path(l + 2, (size_t)(colon - l - 2), pattern))
            continue;
        /* the operations of this path item: lines "    get:" until the next path */
        for (const char *m = colon + 2; *m && strncmp(m, "  /", 3) != 0 && m[0] == ' ';) {
            if (strncmp(m, "    ", 4) == 0 && m[4] != ' ' && strncmp(m + 4, op, k) == 0 &&
                m[4 + k] == ':')
                return 1;
            const char *nl = strchr(m, '\n');
            if (!nl)
                break;
            m = nl + 1;
        }
    }
    return 0;
}

Test(openapi, every_route_is_documented)
{
    const crgw_module *mods[16] = {&crgw_ops_module};
    size_t n = 1;
    for (size_t i = 0; crgw_test_modules[i]; i++)
        mods[n++] = crgw_test_modules[i];
    crgw_route_table *t = NULL;
    crgw_errs errs = {0};
    cr_assert_eq(crgw_route_table_new(mods, &t, &errs), 0);
    crgw_errs_cleanup(&errs);
    size_t len;
    const char *yaml = crgw_openapi_yaml(&len);
    cr_assert_gt(crgw_routes_count(t), 10);
    for (size_t i = 0; i < crgw_routes_count(t); i++) {
        const crgw_route *r = crgw_routes_at(t, i);
        cr_expect(documented(yaml, r->method, r->pattern),
                  "route %s %s (%s) is not in gateway/openapi.yaml", r->method, r->pattern,
                  r->name);
    }
    cr_assert_not(documented(yaml, "GET", "/v1/no-such-route"));
    cr_assert_not(documented(yaml, "DELETE", "/healthz"));
    cr_assert(documented(yaml, "GET", "/v1/openapi.yaml"));
    crgw_route_table_free(t);
}
