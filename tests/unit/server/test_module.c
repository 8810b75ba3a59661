/*
 * A module compiled only into this test: one route and one configuration section, declared in
 * this file alone (no change to gateway/server or gateway/core). The configuration loader parses
 * its section with its descriptor rows (bounds, defaults, file:line errors), crgw_config_check
 * runs its check hook, and an embedded server builds its route and answers a real HTTP/2
 * request (an nghttp2 client session on a socket pair) from the module's state.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/module.h"
#include "gateway/server/server.h"

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

typedef struct {
    int fd;
    int status;
    char body[512];
    size_t len;
    int closed;
} client;

static ssize_t cl_send(nghttp2_session *ss, const uint8_t *data, size_t len, int flags, void *u)
{
    (void)ss;
    (void)flags;
    client *c = u;
    ssize_t n = write(c->fd, data, len);
    return n < 0 ? NGHTTP2_ERR_WOULDBLOCK : n;
}

static int cl_header(nghttp2_session *ss, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *u)
{
    (void)ss;
    (void)f;
    (void)flags;
    (void)vl;
    client *c = u;
    if (nl == 7 && memcmp(name, ":status", 7) == 0)
        c->status = (int)strtol((const char *)value, NULL, 10); /* NUL-terminated */
    return 0;
}

static int cl_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *d, size_t len,
                   void *u)
{
    (void)ss;
    (void)flags;
    (void)id;
    client *c = u;
    if (c->len + len < sizeof(c->body)) {
        memcpy(c->body + c->len, d, len);
        c->len += len;
    }
    return 0;
}

static int cl_close(nghttp2_session *ss, int32_t id, uint32_t code, void *u)
{
    (void)ss;
    (void)id;
    (void)code;
    ((client *)u)->closed = 1;
    return 0;
}

/* GET path on a new connection to the embedded server s; fills c. */
static void get(struct event_base *base, crgw_server *s, const char *path, client *c)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    crgw_conn_accept(s, sv[0], NULL, 0);
    memset(c, 0, sizeof(*c));
    c->fd = sv[1];
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, cl_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, cl_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cl_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cl_close);
    nghttp2_session *ss;
    nghttp2_session_client_new(&ss, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(ss, NGHTTP2_FLAG_NONE, NULL, 0);
#define NV(n, v) {(uint8_t *)n, (uint8_t *)v, sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv hdrs[] = {NV(":method", "GET"), NV(":scheme", "http"),
                         NV(":authority", "localhost"), NV(":path", path)};
    cr_assert_gt(nghttp2_submit_request(ss, NULL, hdrs, 4, NULL, NULL), 0);
    for (int i = 0; i < 2000 && !c->closed; i++) {
        nghttp2_session_send(ss);
        event_base_loop(base, EVLOOP_NONBLOCK);
        uint8_t buf[4096];
        ssize_t n = read(c->fd, buf, sizeof(buf));
        if (n > 0)
            cr_assert_geq(nghttp2_session_mem_recv(ss, buf, (size_t)n), 0);
        else
            usleep(500);
    }
    c->body[c->len] = '\0';
    nghttp2_session_del(ss);
    close(c->fd);
}

Test(module, route_is_served_from_the_module_alone)
{
    crgw_errs errs = {0};
    crgw_config *cfg = load(DATA "greeter.yaml", &errs);
    cr_assert_not_null(cfg);
    struct event_base *base = event_base_new();
    crgw_server *s = crgw_server_new_embedded(base, cfg, "unix:/nonexistent/redis.sock");
    cr_assert_not_null(s);
    client c;
    get(base, s, "/v1/test/greeting", &c);
    cr_assert(c.closed);
    cr_assert_eq(c.status, 200, "%d %s", c.status, c.body);
    cr_assert_str_eq(c.body, "{\"greeting\":\"ni hao\",\"times\":3,\"shout\":true,\"served\":1}");
    get(base, s, "/v1/test/greeting", &c);
    cr_assert(strstr(c.body, "\"served\":2"), "%s", c.body); /* the module's state persists */
    get(base, s, "/healthz", &c); /* the server's own routes are there too */
    cr_assert_eq(c.status, 200);
    get(base, s, "/v1/test/nope", &c);
    cr_assert_eq(c.status, 404);
    crgw_server_free_embedded(s);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
}
