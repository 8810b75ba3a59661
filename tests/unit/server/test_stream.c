/*
 * Streaming routes (gateway/server/stream.c): a module compiled only into this test echoes the
 * request body back as it arrives, a few KiB per loop turn, consuming only what it has echoed.
 * A real nghttp2 client on a socket pair sends 2 MiB: the echo is byte-exact, the route never
 * holds more than the stream window of unconsumed body (the sender waits), the answer backlog
 * stays at its high-water mark when the client reads slowly, and a client that resets the
 * stream or closes the connection midway makes the route hear `closed` and end (nothing left
 * in flight).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/module.h"
#include "gateway/server/server.h"
#include "gateway/server/stream.h"

#define DATA "tests/unit/data/config/"
#define STEP 4096
#define BODY (2u << 20)

/* ---- the echo module: POST /v1/test/echo (streaming) ---- */

typedef struct {
    crgw_req *r;
    struct evbuffer *in;
    struct event *turn;
    int eof, gone, blocked;
} echo;

static size_t held_max, backlog_max, closed_seen, ended;

static void schedule(echo *e)
{
    struct timeval tv = {0, 0};
    evtimer_add(e->turn, &tv);
}

static void echo_end(echo *e)
{
    crgw_req *r = e->r;
    evbuffer_free(e->in);
    event_free(e->turn);
    free(e);
    ended++;
    crgw_req_stream_end(r);
}

static void on_turn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    echo *e = arg;
    if (e->gone) {
        echo_end(e);
        return;
    }
    if (e->blocked)
        return;
    if (!crgw_req_stream_begun(e->r))
        crgw_req_stream_begin(e->r, 200, "application/octet-stream", NULL);
    char buf[STEP];
    int n = evbuffer_remove(e->in, buf, sizeof(buf));
    if (n > 0) {
        int rv = crgw_req_stream_write(e->r, buf, (size_t)n);
        crgw_req_consume(e->r, (size_t)n);
        if (crgw_req_stream_backlog(e->r) > backlog_max)
            backlog_max = crgw_req_stream_backlog(e->r);
        if (rv == 1)
            e->blocked = 1;
        if (rv < 0)
            return; /* closed comes on its own turn */
    }
    if (evbuffer_get_length(e->in) == 0 && e->eof) {
        echo_end(e);
        return;
    }
    if (evbuffer_get_length(e->in) > 0 && !e->blocked)
        schedule(e);
}

static void on_body(crgw_req *r, void *ctx, const char *d, size_t len)
{
    (void)r;
    echo *e = ctx;
    evbuffer_add(e->in, d, len);
    if (evbuffer_get_length(e->in) > held_max)
        held_max = evbuffer_get_length(e->in);
    schedule(e);
}

static void on_end(crgw_req *r, void *ctx)
{
    (void)r;
    ((echo *)ctx)->eof = 1;
    schedule(ctx);
}

static void on_writable(crgw_req *r, void *ctx)
{
    (void)r;
    ((echo *)ctx)->blocked = 0;
    schedule(ctx);
}

static void on_closed(crgw_req *r, void *ctx)
{
    (void)r;
    closed_seen++;
    ((echo *)ctx)->gone = 1;
    schedule(ctx);
}

static const crgw_stream_ops echo_ops = {
    .body = on_body, .end = on_end, .writable = on_writable, .closed = on_closed};

static void route_echo(crgw_req *r)
{
    echo *e = xcalloc(1, sizeof(*e));
    e->r = r;
    e->in = evbuffer_new();
    e->turn = evtimer_new(crgw_server_base(r->server), on_turn, e);
    crgw_req_stream_accept(r, e);
}

static const crgw_stream_route echo_routes[] = {
    {{"POST", "/v1/test/echo", 0, route_echo, "test_echo"}, &echo_ops},
    {{0}, NULL},
};

static const crgw_module echo_module = {.name = "echo", .stream_routes = echo_routes};
static const crgw_module *const mods[] = {&echo_module, NULL};

/* ---- an nghttp2 client on a socket pair ---- */

typedef struct {
    int fd;
    int status;
    unsigned char *got;
    size_t len;
    size_t sent;
    int closed;
} client;

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) & 0xff);
}

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
        c->status = (int)strtol((const char *)value, NULL, 10);
    return 0;
}

static int cl_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *d, size_t len,
                   void *u)
{
    (void)ss;
    (void)flags;
    (void)id;
    client *c = u;
    if (c->len + len <= BODY) {
        memcpy(c->got + c->len, d, len);
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

static ssize_t body_read(nghttp2_session *ss, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *u)
{
    (void)ss;
    (void)id;
    (void)u;
    client *c = src->ptr;
    size_t n = BODY - c->sent < length ? BODY - c->sent : length;
    for (size_t i = 0; i < n; i++)
        buf[i] = pattern(c->sent + i);
    c->sent += n;
    if (c->sent == BODY)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/*
 * POSTs BODY bytes to the echo route. read_max: bytes read from the socket per step (a slow
 * reader). cut: 0 none, 1 RST_STREAM, 2 close the connection, once cut_after bytes came back.
 */
static void post(struct event_base *base, crgw_server *s, size_t read_max, int cut,
                 size_t cut_after, client *c)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    crgw_conn_accept(s, sv[0], NULL, 0);
    memset(c, 0, sizeof(*c));
    c->fd = sv[1];
    c->got = xmalloc(BODY);
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
    nghttp2_nv hdrs[] = {NV(":method", "POST"), NV(":scheme", "http"),
                         NV(":authority", "localhost"), NV(":path", "/v1/test/echo")};
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = body_read};
    int32_t id = nghttp2_submit_request(ss, NULL, hdrs, 4, &prd, NULL);
    cr_assert_gt(id, 0);
    int open = 1;
    for (int i = 0; i < 200000 && !c->closed && open; i++) {
        nghttp2_session_send(ss);
        event_base_loop(base, EVLOOP_NONBLOCK);
        uint8_t buf[65536];
        size_t want = read_max < sizeof(buf) ? read_max : sizeof(buf);
        ssize_t n = read(c->fd, buf, want);
        if (n > 0)
            cr_assert_geq(nghttp2_session_mem_recv(ss, buf, (size_t)n), 0);
        else
            usleep(200);
        if (cut && c->len >= cut_after) {
            if (cut == 1) {
                nghttp2_submit_rst_stream(ss, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
                nghttp2_session_send(ss);
                cut = 0;
            } else {
                close(c->fd);
                c->fd = -1;
                open = 0;
            }
        }
    }
    for (int i = 0; i < 200; i++) { /* let the server finish what the cut started */
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(500);
    }
    nghttp2_session_del(ss);
    if (c->fd >= 0)
        close(c->fd);
}

static void reset_stats(void)
{
    held_max = backlog_max = closed_seen = ended = 0;
}

static crgw_server *server(struct event_base *base, crgw_config **cfg)
{
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load(DATA "ok.yaml", mods, cfg, &errs), 0, "%s",
                 errs.n ? errs.v[0] : "");
    crgw_errs_cleanup(&errs);
    crgw_server *s = crgw_server_new_embedded(base, *cfg, "unix:/nonexistent/redis.sock");
    cr_assert_not_null(s);
    return s;
}

static void done(struct event_base *base, crgw_server *s, crgw_config *cfg)
{
    crgw_server_free_embedded(s);
    event_base_loop(base, EVLOOP_NONBLOCK);
    event_base_free(base);
    crgw_config_unref(cfg);
}

Test(stream, echo_is_exact_and_the_window_bounds_what_the_route_holds)
{
    struct event_base *base = event_base_new();
    crgw_config *cfg;
    crgw_server *s = server(base, &cfg);
    reset_stats();
    client c;
    post(base, s, 65536, 0, 0, &c);
    cr_assert(c.closed);
    cr_assert_eq(c.status, 200);
    cr_assert_eq(c.len, BODY, "echoed %zu of %u bytes", c.len, BODY);
    for (size_t i = 0; i < BODY; i++)
        cr_assert_eq(c.got[i], pattern(i), "byte %zu", i);
    /* the client could never send more than the stream window ahead of the route */
    cr_assert_leq(held_max, 256 * 1024, "route held %zu unconsumed bytes", held_max);
    cr_assert_gt(held_max, 0);
    cr_assert_eq(ended, 1);
    cr_assert_eq(crgw_conn_inflight(), 0);
    free(c.got);
    done(base, s, cfg);
}

Test(stream, a_slow_reader_holds_the_backlog_at_its_mark)
{
    struct event_base *base = event_base_new();
    crgw_config *cfg;
    crgw_server *s = server(base, &cfg);
    reset_stats();
    client c;
    post(base, s, 1024, 0, 0, &c); /* 1 KiB per step */
    cr_assert(c.closed);
    cr_assert_eq(c.len, BODY);
    for (size_t i = 0; i < BODY; i += 4093)
        cr_assert_eq(c.got[i], pattern(i), "byte %zu", i);
    cr_assert_geq(backlog_max, CRGW_STREAM_HIGH_WATER, "the backlog reached %zu", backlog_max);
    cr_assert_leq(backlog_max, CRGW_STREAM_HIGH_WATER + STEP);
    cr_assert_leq(held_max, 256 * 1024);
    cr_assert_eq(crgw_conn_inflight(), 0);
    free(c.got);
    done(base, s, cfg);
}

Test(stream, a_reset_or_a_closed_connection_midway_ends_the_route)
{
    struct event_base *base = event_base_new();
    crgw_config *cfg;
    crgw_server *s = server(base, &cfg);
    for (int cut = 1; cut <= 2; cut++) {
        reset_stats();
        client c;
        post(base, s, 65536, cut, 300 * 1024, &c);
        cr_assert_geq(c.len, 300 * 1024);
        cr_assert_lt(c.len, BODY, "cut %d: the whole body came back", cut);
        cr_assert_eq(closed_seen, 1, "cut %d: closed heard %zu times", cut, closed_seen);
        cr_assert_eq(ended, 1, "cut %d", cut);
        cr_assert_eq(crgw_conn_inflight(), 0, "cut %d", cut);
        free(c.got);
    }
    /* and the server still serves */
    reset_stats();
    client c;
    post(base, s, 65536, 0, 0, &c);
    cr_assert_eq(c.len, BODY);
    free(c.got);
    done(base, s, cfg);
}
