/*
 * The console module (gateway/console) on an embedded server over real HTTP/2 (an nghttp2
 * client session on a socket pair): the embedded assets with their content types, ETag and
 * 304, the security headers, an unknown asset's 404, the roles in /v1/whoami, the language of
 * Accept-Language, and /v1/federation/status (roles, anchors, the log's ring).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "gateway/console/console.h"
#include "gateway/console/console_assets.h"
#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/server.h"
#include "tests/unit/test_h2.h"

#define CONFIG "tests/unit/data/config/ok.yaml"

static const crgw_module *const mods[] = {&crgw_console_module, NULL};

typedef crgw_test_h2 client;
#define hdr crgw_test_h2_header

static void get(struct event_base *b, crgw_server *s, const char *path, client *c,
                const char *const *extra)
{
    crgw_test_h2_get(b, s, path, extra, c);
}

static struct event_base *base;
static crgw_server *srv;
static crgw_config *cfg;
static client cl;

static void setup(void)
{
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load(CONFIG, mods, &cfg, &errs), 0, "%s", errs.n ? errs.v[0] : "");
    crgw_errs_cleanup(&errs);
    base = event_base_new();
    srv = crgw_server_new_embedded(base, cfg, "unix:/nonexistent/redis.sock");
    cr_assert_not_null(srv);
}

static void teardown(void)
{
    crgw_test_h2_free(&cl);
    crgw_server_free_embedded(srv);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    crgw_config_unref(cfg);
}

static const crgw_console_asset *asset(const char *name)
{
    for (const crgw_console_asset *a = crgw_console_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

TestSuite(console, .init = setup, .fini = teardown);

Test(console, index_is_the_embedded_page_with_its_headers)
{
    const crgw_console_asset *a = asset("index.html");
    cr_assert_not_null(a, "index.html is embedded");
    get(base, srv, "/", &cl, NULL);
    cr_assert_eq(cl.status, 200);
    cr_assert_str_eq(hdr(&cl, "content-type"), "text/html; charset=utf-8");
    cr_assert_eq(cl.len, a->len);
    cr_assert_eq(memcmp(cl.body, a->data, a->len), 0, "the bytes of gateway/console/assets");
    cr_assert(strstr(cl.body, "<script src=\"/assets/app.js\""), "the script is a file");
    cr_assert_null(strstr(cl.body, "<script>"), "no inline script");
    cr_assert_null(strstr(cl.body, " style=\""), "no inline style");
    cr_assert_null(strstr(cl.body, "http://"), "no external asset");
    cr_assert_null(strstr(cl.body, "https://"), "no external asset");
    const char *csp = hdr(&cl, "content-security-policy");
    cr_assert_not_null(csp);
    cr_assert(strstr(csp, "default-src 'self'") && strstr(csp, "script-src 'self'") &&
                  strstr(csp, "frame-ancestors 'none'") && strstr(csp, "object-src 'none'"),
              "%s", csp);
    cr_assert_null(strstr(csp, "unsafe-inline"), "%s", csp);
    cr_assert_null(strstr(csp, "unsafe-eval"), "%s", csp);
    cr_assert_str_eq(hdr(&cl, "x-content-type-options"), "nosniff");
    cr_assert_str_eq(hdr(&cl, "cache-control"), "private, no-cache");
    const char *etag = hdr(&cl, "etag");
    cr_assert_not_null(etag);
    cr_assert_eq(strlen(etag), 34, "%s", etag);
    cr_assert(etag[0] == '"' && etag[33] == '"', "a strong validator: %s", etag);
}

Test(console, content_types_of_the_assets)
{
    static const char *const want[][2] = {
        {"app.js", "text/javascript; charset=utf-8"},
        {"app.css", "text/css; charset=utf-8"},
        {"icon.svg", "image/svg+xml"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        char path[64];
        snprintf(path, sizeof(path), "/assets/%s", want[i][0]);
        get(base, srv, path, &cl, NULL);
        cr_assert_eq(cl.status, 200, "%s", path);
        cr_assert_str_eq(hdr(&cl, "content-type"), want[i][1], "%s", path);
        cr_assert_eq(cl.len, asset(want[i][0])->len, "%s", path);
        cr_assert_str_eq(hdr(&cl, "x-content-type-options"), "nosniff");
        cr_assert_str_eq(hdr(&cl, "cache-control"), "private, no-cache");
        cr_assert_not_null(hdr(&cl, "content-security-policy"));
    }
}

Test(console, etag_and_304)
{
    get(base, srv, "/assets/app.js", &cl, NULL);
    char etag[64];
    snprintf(etag, sizeof(etag), "%s", hdr(&cl, "etag"));
    get(base, srv, "/assets/app.css", &cl, NULL);
    cr_assert_str_neq(hdr(&cl, "etag"), etag, "each asset has its own validator");

    const char *const same[] = {"if-none-match", etag, NULL};
    get(base, srv, "/assets/app.js", &cl, same);
    cr_assert_eq(cl.status, 304);
    cr_assert_eq(cl.len, 0, "a 304 has no content");
    cr_assert_str_eq(hdr(&cl, "etag"), etag);
    cr_assert_null(hdr(&cl, "content-length"), "a 304 carries no length of its own");

    char list[160];
    snprintf(list, sizeof(list), "\"0000\", %s", etag);
    const char *const in_list[] = {"if-none-match", list, NULL};
    get(base, srv, "/assets/app.js", &cl, in_list);
    cr_assert_eq(cl.status, 304, "a validator anywhere in the list");

    const char *const other[] = {"if-none-match", "\"00000000000000000000000000000000\"", NULL};
    get(base, srv, "/assets/app.js", &cl, other);
    cr_assert_eq(cl.status, 200);
    cr_assert_eq(cl.len, asset("app.js")->len);

    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%.20s\"", etag); /* a truncated validator is no match */
    const char *const part[] = {"if-none-match", prefix, NULL};
    get(base, srv, "/assets/app.js", &cl, part);
    cr_assert_eq(cl.status, 200);
}

Test(console, unknown_asset_is_404)
{
    get(base, srv, "/assets/nope.js", &cl, NULL);
    cr_assert_eq(cl.status, 404);
    cr_assert(strstr(cl.body, "\"type\":\"https://crgw.example/problems/unknown-asset\""), "%s",
              cl.body);
    cr_assert(strstr(cl.body, "nope.js"), "the answer names the asset: %s", cl.body);
    get(base, srv, "/assets/index.html", &cl, NULL);
    cr_assert_eq(cl.status, 404, "the page is served at / only");
    get(base, srv, "/assets/../main.c", &cl, NULL);
    cr_assert_neq(cl.status, 200);
    get(base, srv, "/assets/", &cl, NULL);
    cr_assert_eq(cl.status, 404);
}

Test(console, whoami_names_node_client_and_roles)
{
    get(base, srv, "/v1/whoami", &cl, NULL);
    cr_assert_eq(cl.status, 200);
    json_t *j = json_loads(cl.body, 0, NULL);
    cr_assert_not_null(j, "%s", cl.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "node"), "code")),
                     "120000");
    json_t *roles = json_object_get(j, "roles");
    cr_assert_eq(json_array_size(roles), 4, "h2c: every local role: %s", cl.body);
    cr_assert_str_eq(json_string_value(json_array_get(roles, 0)), "verifier");
    cr_assert_str_eq(json_string_value(json_array_get(roles, 3)), "operator");
    cr_assert_str_eq(json_string_value(json_object_get(j, "lang")), "zh", "Chinese first");
    json_decref(j);

    const char *const verifier[] = {"x-crgw-role", "verifier", "x-crgw-client",
                                    "urn:crgw:client:120000:verifier", NULL};
    get(base, srv, "/v1/whoami", &cl, verifier);
    j = json_loads(cl.body, 0, NULL);
    roles = json_object_get(j, "roles");
    cr_assert_eq(json_array_size(roles), 1, "%s", cl.body);
    cr_assert_str_eq(json_string_value(json_array_get(roles, 0)), "verifier");
    cr_assert_str_eq(json_string_value(json_object_get(j, "client")),
                     "urn:crgw:client:120000:verifier");
    json_decref(j);

    const char *const desk_en[] = {"x-crgw-role", "repair_desk,platform", "accept-language",
                                   "en-GB,en;q=0.9,zh-CN;q=0.5", NULL};
    get(base, srv, "/v1/whoami", &cl, desk_en);
    j = json_loads(cl.body, 0, NULL);
    roles = json_object_get(j, "roles");
    cr_assert_eq(json_array_size(roles), 2, "%s", cl.body);
    cr_assert_str_eq(json_string_value(json_array_get(roles, 0)), "repair_desk");
    cr_assert_str_eq(json_string_value(json_array_get(roles, 1)), "platform");
    cr_assert_str_eq(json_string_value(json_object_get(j, "lang")), "en");
    json_decref(j);
}

Test(console, language_of_accept_language)
{
    cr_assert_str_eq(crgw_console_lang(NULL), "zh");
    cr_assert_str_eq(crgw_console_lang(""), "zh");
    cr_assert_str_eq(crgw_console_lang("en"), "en");
    cr_assert_str_eq(crgw_console_lang("en-US,en;q=0.9"), "en");
    cr_assert_str_eq(crgw_console_lang("zh-CN,zh;q=0.9,en;q=0.8"), "zh");
    cr_assert_str_eq(crgw_console_lang("en;q=0.5, zh-TW;q=0.8"), "zh");
    cr_assert_str_eq(crgw_console_lang("zh;q=0.4, EN-gb;q=0.6"), "en");
    cr_assert_str_eq(crgw_console_lang("fr-FR,de"), "zh", "neither: Chinese");
    cr_assert_str_eq(crgw_console_lang("eng,zhx"), "zh", "no prefix match");
    cr_assert_str_eq(crgw_console_lang("en;q=0"), "zh", "q=0: not acceptable");
}

Test(console, federation_status_for_operators_only)
{
    log_warn("console-test: a warning for the ring");
    const char *const op[] = {"x-crgw-role", "operator", NULL};
    get(base, srv, "/v1/federation/status", &cl, op);
    cr_assert_eq(cl.status, 200, "%s", cl.body);
    json_t *j = json_loads(cl.body, 0, NULL);
    cr_assert_not_null(j);
    cr_assert_str_eq(json_string_value(json_object_get(j, "node")), "120000");
    cr_assert(json_is_null(json_object_get(j, "trust_version")), "no verify module here");
    json_t *anchors = json_object_get(j, "anchors");
    cr_assert_gt(json_array_size(anchors), 0, "%s", cl.body);
    json_t *a0 = json_array_get(anchors, 0);
    cr_assert(json_is_string(json_object_get(a0, "not_after")), "%s", cl.body);
    cr_assert(json_is_integer(json_object_get(a0, "days_left")), "%s", cl.body);
    cr_assert(json_is_false(json_object_get(j, "ready")), "Redis is absent: not ready");
    cr_assert_gt(json_array_size(json_object_get(j, "not_ready")), 0);
    json_t *errs = json_object_get(j, "recent_errors");
    cr_assert_gt(json_array_size(errs), 0, "%s", cl.body);
    json_t *e0 = json_array_get(errs, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e0, "message")),
                     "console-test: a warning for the ring", "%s", cl.body);
    cr_assert_str_eq(json_string_value(json_object_get(e0, "level")), "warn");
    json_decref(j);

    const char *const verifier[] = {"x-crgw-role", "verifier", NULL};
    get(base, srv, "/v1/federation/status", &cl, verifier);
    cr_assert_eq(cl.status, 403, "%s", cl.body);
}

Test(console, log_ring_keeps_the_last_warnings_newest_first)
{
    for (int i = 0; i < CRGW_LOG_RECENT_MAX + 5; i++)
        log_warn("ring %d", i);
    log_info("not kept: info");
    static char lines[CRGW_LOG_RECENT_MAX][CRGW_LOG_RECENT_LEN];
    size_t n = crgw_log_recent(lines, CRGW_LOG_RECENT_MAX);
    cr_assert_eq(n, CRGW_LOG_RECENT_MAX);
    char want[32];
    snprintf(want, sizeof(want), " ring %d", CRGW_LOG_RECENT_MAX + 4);
    cr_assert(strstr(lines[0], want), "newest first: %s", lines[0]);
    cr_assert(strstr(lines[CRGW_LOG_RECENT_MAX - 1], " ring 5"), "oldest kept: %s",
              lines[CRGW_LOG_RECENT_MAX - 1]);
    cr_assert_eq(crgw_log_recent(lines, 2), 2);
}
