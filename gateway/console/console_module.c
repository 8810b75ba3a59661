/*
 * console_module: the console module (see console.h): the page and its embedded assets with
 * their caching and security headers, GET /v1/whoami, the module's state (the assets' ETags,
 * the trust anchors' expiry) and hooks.
 */
#include "gateway/console/console.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "gateway/console/console_assets.h"
#include "gateway/console/console_state.h"
#include "gateway/core/hex.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

/* No inline script or style, nothing from another origin, no framing, no plugins. */
#define CONSOLE_CSP                                                                                \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "                    \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "form-action 'self'; frame-ancestors 'none'"

const char *crgw_console_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},   {".svg", "image/svg+xml"},
        {".json", "application/json"},         {".txt", "text/plain; charset=utf-8"},
    };
    size_t l = strlen(name);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t e = strlen(types[i].ext);
        if (l > e && strcmp(name + l - e, types[i].ext) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

/* Index of the asset called name, or -1. */
static int asset_index(const char *name)
{
    for (int i = 0; crgw_console_assets[i].name; i++)
        if (strcmp(crgw_console_assets[i].name, name) == 0)
            return i;
    return -1;
}

/* 1 when an If-None-Match value names etag (or is "*"). */
static int etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return 0;
    if (strcmp(inm, "*") == 0)
        return 1;
    size_t el = strlen(etag);
    for (const char *p = inm; (p = strstr(p, etag)) != NULL; p += el) {
        /* a whole entry: at the start or after "," / " " / "W/", up to "," or the end */
        char after = p[el];
        if (after == 0 || after == ',' || after == ' ')
            return 1;
    }
    return 0;
}

static void serve_asset(crgw_req *r, int i)
{
    crgw_console_state *st = crgw_server_state(r->server, &crgw_console_module);
    const crgw_console_asset *a = &crgw_console_assets[i];
    const char *etag = st->etags[i];
    /* revalidated at every use (a 304 on loopback costs one round trip): the page and its
     * script always come from the same build, also right after an upgrade */
    const char *cache = "private, no-cache";
    const char *const headers[] = {
        "etag",
        etag,
        "cache-control",
        cache,
        "content-security-policy",
        CONSOLE_CSP,
        "x-content-type-options",
        "nosniff",
        "referrer-policy",
        "no-referrer",
        "x-frame-options",
        "DENY",
        NULL,
    };
    if (etag_matches(crgw_req_header(r, "if-none-match"), etag)) {
        crgw_req_respond(r, 304, NULL, "", 0, headers);
        return;
    }
    crgw_req_respond(r, 200, crgw_console_content_type(a->name), (const char *)a->data, a->len,
                     headers);
}

static void route_index(crgw_req *r)
{
    int i = asset_index("index.html");
    if (i < 0) {
        crgw_req_problem(r, 500, "internal", "Internal error", NULL, "the console was not built");
        return;
    }
    serve_asset(r, i);
}

static void route_asset(crgw_req *r)
{
    const char *name = r->params[0];
    int i = strcmp(name, "index.html") == 0 ? -1 : asset_index(name);
    if (i < 0) {
        crgw_req_problem(r, 404, "unknown-asset", "Unknown asset", NULL,
                         "the console has no asset named '%s'", name);
        return;
    }
    serve_asset(r, i);
}

/* The weight of one Accept-Language entry ("zh-CN;q=0.8": 0.8; no q: 1). */
static double entry_q(const char *e, size_t len)
{
    for (size_t i = 0; i + 2 < len; i++) {
        if (e[i] == ';' && (e[i + 1] == 'q' || e[i + 1] == 'Q') && e[i + 2] == '=') {
            char num[16];
            size_t n = len - i - 3 < sizeof(num) - 1 ? len - i - 3 : sizeof(num) - 1;
            memcpy(num, e + i + 3, n);
            num[n] = 0;
            char *end;
            double q = strtod(num, &end);
            return end == num || q < 0 ? 0 : q > 1 ? 1 : q;
        }
    }
    return 1;
}

const char *crgw_console_lang(const char *al)
{
    double zh = -1, en = -1;
    for (const char *p = al; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= 2) {
            double q = entry_q(p, len);
            int is_zh = (p[0] == 'z' || p[0] == 'Z') && (p[1] == 'h' || p[1] == 'H');
            int is_en = (p[0] == 'e' || p[0] == 'E') && (p[1] == 'n' || p[1] == 'N');
            int whole = len == 2 || p[2] == '-' || p[2] == ';' || p[2] == '_';
            if (whole && is_zh && q > zh)
                zh = q;
            if (whole && is_en && q > en)
                en = q;
        }
        p += len;
    }
    return en > 0 && en > zh ? "en" : "zh";
}

static void route_whoami(crgw_req *r)
{
    const crgw_config *cfg = r->cfg;
    const crgw_node *me = crgw_config_node(cfg, cfg->node);
    json_t *o = json_object();
    json_t *node = json_object();
    json_object_set_new(node, "code", json_string(cfg->node));
    json_object_set_new(node, "name",
                        json_string(cfg->node_name   ? cfg->node_name
                                    : me && me->name ? me->name
                                                     : cfg->node));
    json_object_set_new(node, "dialect",
                        me && me->dialect ? json_string(me->dialect) : json_null());
    json_object_set_new(o, "node", node);
    json_object_set_new(o, "client", json_string(r->client ? r->client : ""));
    json_t *roles = json_array();
    for (unsigned bit = 0; bit < 5; bit++)
        if (r->role & (1u << bit))
            json_array_append_new(roles, json_string(crgw_role_name(1u << bit)));
    json_object_set_new(o, "roles", roles);
    json_object_set_new(o, "lang",
                        json_string(crgw_console_lang(crgw_req_header(r, "accept-language"))));
    crgw_req_respond_json(r, 200, o);
}

/* ---- state and hooks ---- */

static int console_start(crgw_server *s, void **state)
{
    crgw_console_state *st = xcalloc(1, sizeof(*st));
    size_t n = 0;
    while (crgw_console_assets[n].name)
        n++;
    st->etags = xcalloc(n + 1, sizeof(*st->etags));
    for (size_t i = 0; i < n; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        crgw_assert(EVP_Digest(crgw_console_assets[i].data, crgw_console_assets[i].len, md, &mdlen,
                               EVP_sha256(), NULL) == 1);
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        crgw_hex(md, 16, hex); /* 128 bits are plenty for a cache validator */
        st->etags[i] = xmalloc(36);
        snprintf(st->etags[i], 36, "\"%.32s\"", hex);
    }
    st->n_assets = n;
    st->anchors = crgw_console_anchors(crgw_server_config(s));
    *state = st;
    return 0;
}

static void console_reload(crgw_server *s, void *state, crgw_config *old)
{
    (void)old;
    crgw_console_state *st = state;
    json_decref(st->anchors);
    st->anchors = crgw_console_anchors(crgw_server_config(s));
}

static void console_stop(crgw_server *s, void *state)
{
    (void)s;
    crgw_console_state *st = state;
    for (size_t i = 0; i < st->n_assets; i++)
        free(st->etags[i]);
    free(st->etags);
    json_decref(st->anchors);
    free(st);
}

static const crgw_route console_routes[] = {
    {"GET", "/", 0, route_index, "console_index"},
    {"GET", "/assets/{}", 0, route_asset, "console_asset"},
    {"GET", "/v1/whoami", 0, route_whoami, "whoami"},
    {"GET", "/v1/federation/status", CRGW_ROLE_OPERATOR, crgw_console_route_status,
     "federation_status"},
    {0},
};

const crgw_module crgw_console_module = {
    .name = "console",
    .routes = console_routes,
    .start = console_start,
    .reload = console_reload,
    .stop = console_stop,
};
