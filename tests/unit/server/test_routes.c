/*
 * gateway/server/routes.c and gateway/server/metrics.c: route matching (404/405, path parameters, role
 * checks) and the Prometheus rendering.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/ops_routes.h"
#include "gateway/server/routes.h"
#include "tests/unit/test_modules.h"

/* The table crgw serve builds: the server's own routes, then main's modules. */
static const crgw_route_table *table(void)
{
    static crgw_route_table *t;
    if (!t) {
        const crgw_module *mods[8] = {&crgw_ops_module};
        for (size_t i = 0; crgw_test_modules[i]; i++)
            mods[i + 1] = crgw_test_modules[i];
        crgw_errs errs = {0};
        cr_assert_eq(crgw_route_table_new(mods, &t, &errs), 0);
        crgw_errs_cleanup(&errs);
    }
    return t;
}

static int match(const char *method, const char *path, crgw_route_match *m, char *allow,
                 size_t allow_len)
{
    return crgw_routes_match(table(), method, path, strlen(path), m, allow, allow_len);
}

Test(routes, literal_routes_match)
{
    crgw_route_match m;
    char allow[64];
    cr_assert_eq(match("GET", "/healthz", &m, allow, sizeof(allow)), 0);
    cr_assert_str_eq(m.route->name, "healthz");
    cr_assert_eq(m.n_params, 0);
    cr_assert_eq(crgw_routes_at(table(), m.index), m.route);
    cr_assert_eq(match("GET", "/metrics", &m, allow, sizeof(allow)), 0);
    cr_assert_str_eq(m.route->name, "metrics");
}

Test(routes, unknown_path_is_not_found)
{
    crgw_route_match m;
    char allow[64];
    cr_assert_eq(match("GET", "/nope", &m, allow, sizeof(allow)), CRGW_ERR_NOT_FOUND);
    cr_assert_eq(match("GET", "/healthz/", &m, allow, sizeof(allow)), CRGW_ERR_NOT_FOUND);
    cr_assert_eq(match("GET", "/healthzz", &m, allow, sizeof(allow)), CRGW_ERR_NOT_FOUND);
    cr_assert_eq(match("GET", "", &m, allow, sizeof(allow)), CRGW_ERR_NOT_FOUND);
    cr_assert_null(m.route);
}

Test(routes, wrong_method_lists_allowed)
{
    crgw_route_match m;
    char allow[64];
    cr_assert_eq(match("POST", "/healthz", &m, allow, sizeof(allow)), CRGW_ERR_METHOD);
    cr_assert_str_eq(allow, "GET");
    cr_assert_eq(match("DELETE", "/readyz", &m, allow, sizeof(allow)), CRGW_ERR_METHOD);
}

/* Every pattern with {} segments: a value matches, an empty or extra segment does not. */
Test(routes, path_parameters)
{
    size_t tested = 0;
    for (size_t i = 0; i < crgw_routes_count(table()); i++) {
        const crgw_route *r = crgw_routes_at(table(), i);
        if (!strstr(r->pattern, "{}"))
            continue;
        char path[200], empty[200], longer[256];
        size_t j = 0, k = 0, nparams = 0;
        for (const char *p = r->pattern; *p; p++) {
            if (p[0] == '{' && p[1] == '}') {
                j += (size_t)snprintf(path + j, sizeof(path) - j, "v%zu", nparams++);
                p++;
            } else {
                path[j++] = *p;
                empty[k++] = *p;
            }
        }
        path[j] = '\0';
        empty[k] = '\0';
        snprintf(longer, sizeof(longer), "%s/extra", path);
        crgw_route_match m;
        cr_assert_eq(match(r->method, path, &m, NULL, 0), 0, "%s", path);
        cr_assert_eq(m.n_params, nparams);
        for (size_t n = 0; n < nparams; n++) {
            char want[32];
            snprintf(want, sizeof(want), "v%zu", n);
            cr_assert_eq(m.params[n].len, strlen(want));
            cr_assert_eq(memcmp(m.params[n].p, want, m.params[n].len), 0);
        }
        cr_assert_neq(match(r->method, empty, &m, NULL, 0), 0, "%s", empty);
        cr_assert_neq(match(r->method, longer, &m, NULL, 0), 0, "%s", longer);
        tested++;
    }
    cr_assert_geq(tested, 3, "the repair and federation routes have {} segments");
}

Test(routes, roles)
{
    crgw_route r = {"GET", "/x", CRGW_ROLE_OPERATOR, NULL, "x"};
    cr_assert(crgw_routes_allowed(&r, CRGW_ROLE_OPERATOR));
    cr_assert(crgw_routes_allowed(&r, CRGW_ROLE_OPERATOR | CRGW_ROLE_VERIFIER));
    cr_assert_not(crgw_routes_allowed(&r, CRGW_ROLE_VERIFIER));
    cr_assert_not(crgw_routes_allowed(&r, CRGW_ROLE_PEER));
    cr_assert_not(crgw_routes_allowed(&r, 0));
    crgw_route any = {"GET", "/y", 0, NULL, "y"};
    cr_assert(crgw_routes_allowed(&any, CRGW_ROLE_PEER));
    cr_assert(crgw_routes_allowed(&any, CRGW_ROLE_VERIFIER));
}

Test(routes, table_is_sane)
{
    for (size_t i = 0; i < crgw_routes_count(table()); i++) {
        const crgw_route *r = crgw_routes_at(table(), i);
        cr_assert_not_null(r->handler, "%s", r->name);
        cr_assert_eq(r->pattern[0], '/', "%s", r->name);
        for (size_t j = 0; j < i; j++) {
            const crgw_route *o = crgw_routes_at(table(), j);
            cr_assert(strcmp(o->name, r->name) != 0, "duplicate route name %s", r->name);
            cr_assert(strcmp(o->method, r->method) != 0 || strcmp(o->pattern, r->pattern) != 0,
                      "duplicate route %s %s", r->method, r->pattern);
        }
    }
    cr_assert_null(crgw_routes_at(table(), crgw_routes_count(table())));
}

Test(metrics, render)
{
    crgw_metrics_reset();
    crgw_metrics_set_routes(table());
    crgw_metrics_help("crgw_test_things_total", "Things.");
    crgw_metrics_counter_add("crgw_test_things_total", "kind=\"a\"", 2);
    crgw_metrics_counter_add("crgw_test_things_total", "kind=\"a\"", 3);
    crgw_metrics_counter_add("crgw_test_things_total", "kind=\"b\"", 1);
    crgw_metrics_gauge_set("crgw_test_level", NULL, 1.5);
    crgw_metrics_observe("crgw_test_seconds", NULL, 0.003);
    crgw_metrics_observe("crgw_test_seconds", NULL, 20);
    crgw_metrics_request(0, 200, 100);
    crgw_metrics_request(0, 200, 2000000);
    crgw_metrics_request(crgw_routes_count(table()), 404, 10);
    crgw_buf b;
    crgw_buf_init(&b, 1 << 20);
    cr_assert_eq(crgw_metrics_render(&b), 0);
    const char *t = b.data;
    cr_assert_not_null(strstr(t, "# HELP crgw_test_things_total Things.\n"));
    cr_assert_not_null(strstr(t, "# TYPE crgw_test_things_total counter\n"));
    cr_assert_not_null(strstr(t, "crgw_test_things_total{kind=\"a\"} 5\n"));
    cr_assert_not_null(strstr(t, "crgw_test_things_total{kind=\"b\"} 1\n"));
    cr_assert_not_null(strstr(t, "# TYPE crgw_test_level gauge\ncrgw_test_level 1.5\n"));
    cr_assert_not_null(strstr(t, "crgw_test_seconds_bucket{le=\"0.0025\"} 0\n"));
    cr_assert_not_null(strstr(t, "crgw_test_seconds_bucket{le=\"0.005\"} 1\n"));
    cr_assert_not_null(strstr(t, "crgw_test_seconds_bucket{le=\"10\"} 1\n"));
    cr_assert_not_null(strstr(t, "crgw_test_seconds_bucket{le=\"+Inf\"} 2\n"));
    cr_assert_not_null(strstr(t, "crgw_test_seconds_count 2\n"));
    char want[128];
    snprintf(want, sizeof(want), "crgw_http_requests_total{route=\"%s\",status=\"200\"} 2\n",
             crgw_routes_at(table(), 0)->name);
    cr_assert_not_null(strstr(t, want), "%s", t);
    cr_assert_not_null(
        strstr(t, "crgw_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n"));
    snprintf(want, sizeof(want),
             "crgw_http_request_duration_seconds_bucket{route=\"%s\",le=\"0.0005\"} 1\n",
             crgw_routes_at(table(), 0)->name);
    cr_assert_not_null(strstr(t, want));
    /* a too small buffer is refused, not truncated silently */
    crgw_buf small;
    crgw_buf_init(&small, 64);
    cr_assert_eq(crgw_metrics_render(&small), CRGW_ERR_TOOBIG);
    crgw_buf_cleanup(&small);
    crgw_buf_cleanup(&b);
    crgw_metrics_reset();
}

/* The table refuses a second route with the same method and pattern, or the same name. */
static void h(crgw_req *r)
{
    (void)r;
}

Test(routes, duplicates_are_refused)
{
    static const crgw_route a[] = {{"GET", "/v1/a", 0, h, "a"}, {0}};
    static const crgw_route same_path[] = {{"GET", "/v1/a", 0, h, "other"}, {0}};
    static const crgw_route same_name[] = {{"POST", "/v1/b", 0, h, "a"}, {0}};
    static const crgw_route other_method[] = {{"POST", "/v1/a", 0, h, "a_post"}, {0}};
    static const crgw_route bad[] = {{"GET", "v1/nope", 0, h, "bad"}, {0}};
    const crgw_module ma = {.name = "ma", .routes = a}, mp = {.name = "mp", .routes = same_path},
                      mn = {.name = "mn", .routes = same_name},
                      mo = {.name = "mo", .routes = other_method}, mb = {.name = "mb", .routes = bad};
    crgw_route_table *t = NULL;
    crgw_errs errs = {0};
    const crgw_module *l1[] = {&ma, &mp, NULL};
    cr_assert_eq(crgw_route_table_new(l1, &t, &errs), CRGW_ERR_INVALID);
    cr_assert_eq(errs.n, 1);
    cr_assert(strstr(errs.v[0], "module mp: route GET /v1/a is already declared (a)"), "%s",
              errs.v[0]);
    crgw_errs_cleanup(&errs);
    const crgw_module *l2[] = {&ma, &mn, NULL};
    cr_assert_eq(crgw_route_table_new(l2, &t, &errs), CRGW_ERR_INVALID);
    cr_assert(strstr(errs.v[0], "route name 'a' is already used"), "%s", errs.v[0]);
    crgw_errs_cleanup(&errs);
    const crgw_module *l3[] = {&mb, NULL};
    cr_assert_eq(crgw_route_table_new(l3, &t, &errs), CRGW_ERR_INVALID);
    crgw_errs_cleanup(&errs);
    const crgw_module *l4[] = {&ma, &mo, NULL};
    cr_assert_eq(crgw_route_table_new(l4, &t, &errs), 0);
    cr_assert_eq(crgw_routes_count(t), 2);
    crgw_route_match m;
    char allow[32];
    cr_assert_eq(crgw_routes_match(t, "DELETE", "/v1/a", 5, &m, allow, sizeof(allow)),
                 CRGW_ERR_METHOD);
    cr_assert_str_eq(allow, "GET, POST");
    crgw_route_table_free(t);
    /* the modules of crgw serve together: no duplicate */
    cr_assert_gt(crgw_routes_count(table()), 10);
}
