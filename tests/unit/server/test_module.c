/*
 * A module compiled only into this test: one route and one configuration section, declared in
 * this file alone (no change to gateway/server or gateway/core). The configuration loader parses
 * its section with its descriptor rows (bounds, defaults, file:line errors), crgw_config_check
 * runs its check hook, and an embedded server builds its route and answers a real HTTP/2
 * request (an nghttp2 client session on a socket pair) from the module's state.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/module.h"
#include "gateway/server/server.h"
#include "tests/unit/test_h2.h"

#define DATA "tests/unit/data/config/"

/* ---- the test module: GET /v1/test/greeting, section `greeter:` ---- */

typedef struct {
    char *greeting;
    int times;
    int shout;
} greeter_conf;

typedef struct {
    int served; /* requests answered by this module's state */
} greeter_state;

extern const crgw_module greeter_module;

static void route_greeting(crgw_req *r)
{
    greeter_state *st = crgw_server_state(r->server, &greeter_module);
    const greeter_conf *gc = crgw_config_section(r->cfg, &greeter_module);
    st->served++;
    json_t *o = json_pack("{s:s,s:i,s:b,s:i}", "greeting", gc->greeting, "times", gc->times,
                          "shout", gc->shout, "served", st->served);
    crgw_req_respond_json(r, 200, o);
}

static int greeter_check(crgw_config *cfg, crgw_errs *errs)
{
    const greeter_conf *gc = crgw_config_section(cfg, &greeter_module);
    if (gc->shout && gc->times > 3) {
        crgw_errs_add(errs, "%s:%d: greeter: shouting more than 3 times is rude", cfg->path,
                      crgw_config_section_line(cfg, &greeter_module));
        return CRGW_ERR_INVALID;
    }
    return 0;
}

static int greeter_start(crgw_server *s, void **state)
{
    (void)s;
    *state = xcalloc(1, sizeof(greeter_state));
    return 0;
}

static void greeter_stop(crgw_server *s, void *state)
{
    (void)s;
    free(state);
}

static const crgw_route greeter_routes[] = {
    {"GET", "/v1/test/greeting", CRGW_ROLE_VERIFIER, route_greeting, "test_greeting"},
    {0},
};

static const crgw_conf_field greeter_fields[] = {
    CRGW_CONF_STR_ROW(greeter_conf, greeting, "hello", "what to say"),
    CRGW_CONF_INT_ROW(greeter_conf, times, 1, 5, 2, "how many times"),
    CRGW_CONF_BOOL_ROW(greeter_conf, shout, 0, "in capitals"),
    {0},
};

const crgw_module greeter_module = {
    .name = "greeter",
    .routes = greeter_routes,
    .section = "greeter",
    .fields = greeter_fields,
    .conf_size = sizeof(greeter_conf),
    .check = greeter_check,
    .checks = "greeter",
    .start = greeter_start,
    .stop = greeter_stop,
};

static const crgw_module *const mods[] = {&greeter_module, NULL};

static crgw_config *load(const char *path, crgw_errs *errs)
{
    crgw_config *cfg = NULL;
    int rc = crgw_config_load(path, mods, &cfg, errs);
    return rc == 0 ? cfg : NULL;
}

/* ---- configuration section ---- */

Test(module, section_values_and_defaults)
{
    crgw_errs errs = {0};
    crgw_config *cfg = load(DATA "greeter.yaml", &errs);
    cr_assert_not_null(cfg, "%s", errs.n ? errs.v[0] : "");
    const greeter_conf *gc = crgw_config_section(cfg, &greeter_module);
    cr_assert_str_eq(gc->greeting, "ni hao");
    cr_assert_eq(gc->times, 3);
    cr_assert_eq(gc->shout, 1);
    cr_assert_eq(crgw_config_section_line(cfg, &greeter_module), 7);
    cr_assert_eq(crgw_config_check(cfg, &errs, NULL), 0);
    crgw_config_unref(cfg);
    /* a node file without the section: the rows' defaults */
    cfg = load(DATA "ok.yaml", &errs);
    cr_assert_not_null(cfg);
    gc = crgw_config_section(cfg, &greeter_module);
    cr_assert_str_eq(gc->greeting, "hello");
    cr_assert_eq(gc->times, 2);
    cr_assert_eq(gc->shout, 0);
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
}

Test(module, section_errors_name_file_and_line)
{
    crgw_errs errs = {0};
    cr_assert_null(load(DATA "greeter-bad.yaml", &errs));
    cr_assert_eq(errs.n, 2, "%zu errors", errs.n);
    cr_assert(strstr(errs.v[0], "greeter-bad.yaml:8: ") && strstr(errs.v[0], "times"), "%s",
              errs.v[0]);
    cr_assert(strstr(errs.v[1], "greeter-bad.yaml:9: unknown key 'colour' in greeter"), "%s",
              errs.v[1]);
    crgw_errs_cleanup(&errs);
}

Test(module, check_hook_refuses)
{
    crgw_errs errs = {0};
    crgw_config *cfg = load(DATA "greeter-rude.yaml", &errs);
    cr_assert_not_null(cfg, "the rows accept it: %s", errs.n ? errs.v[0] : "");
    const crgw_module *failed = NULL;
    cr_assert_eq(crgw_config_check(cfg, &errs, &failed), CRGW_ERR_INVALID);
    cr_assert_eq(failed, &greeter_module);
    cr_assert(strstr(errs.v[0], "greeter-rude.yaml:7: greeter: shouting"), "%s", errs.v[0]);
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
}

/* ---- the route, over HTTP/2 ---- */

Test(module, route_is_served_from_the_module_alone)
{
    crgw_errs errs = {0};
    crgw_config *cfg = load(DATA "greeter.yaml", &errs);
    cr_assert_not_null(cfg);
    struct event_base *base = event_base_new();
    crgw_server *s = crgw_server_new_embedded(base, cfg, "unix:/nonexistent/redis.sock");
    cr_assert_not_null(s);
    crgw_test_h2 c = {0};
    crgw_test_h2_get(base, s, "/v1/test/greeting", NULL, &c);
    cr_assert(c.closed);
    cr_assert_eq(c.status, 200, "%d %s", c.status, c.body);
    cr_assert_str_eq(c.body, "{\"greeting\":\"ni hao\",\"times\":3,\"shout\":true,\"served\":1}");
    crgw_test_h2_get(base, s, "/v1/test/greeting", NULL, &c);
    cr_assert(strstr(c.body, "\"served\":2"), "%s", c.body); /* the module's state persists */
    crgw_test_h2_get(base, s, "/healthz", NULL, &c); /* the server's own routes are there too */
    cr_assert_eq(c.status, 200);
    crgw_test_h2_get(base, s, "/v1/test/nope", NULL, &c);
    cr_assert_eq(c.status, 404);
    crgw_test_h2_free(&c);
    crgw_server_free_embedded(s);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
}
