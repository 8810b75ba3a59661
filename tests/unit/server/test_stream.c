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
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/module.h"
#include "gateway/server/server.h"
#include "gateway/server/stream.h"
#include "tests/unit/test_h2.h"

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
    crgw_test_h2 h;
    size_t sent; /* of the request body */
} client;

static unsigned char pattern(size_t i)
{
    return (unsigned char)((i * 7 + i / 251) & 0xff);
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
    crgw_test_h2 *h = &c->h;
    c->sent = 0;
    crgw_test_h2_open(s, h);
    nghttp2_nv hdrs[4];
    size_t nh = crgw_test_h2_nv(hdrs, 4, "POST", "/v1/test/echo", NULL);
    nghttp2_data_provider prd = {.source.ptr = c, .read_callback = body_read};
    int32_t id = nghttp2_submit_request(h->ss, NULL, hdrs, nh, &prd, NULL);
    cr_assert_gt(id, 0);
    for (int i = 0; i < 200000 && !h->closed && h->fd >= 0; i++) {
        if (!crgw_test_h2_step(base, h, read_max))
            usleep(200);
        if (cut && h->len >= cut_after) {
            if (cut == 1) {
                nghttp2_submit_rst_stream(h->ss, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
                nghttp2_session_send(h->ss);
                cut = 0;
            } else {
                close(h->fd);
                h->fd = -1;
            }
        }
    }
    for (int i = 0; i < 200; i++) { /* let the server finish what the cut started */
        event_base_loop(base, EVLOOP_NONBLOCK);
        usleep(500);
    }
    crgw_test_h2_close(h);
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
    client c = {0};
    post(base, s, 65536, 0, 0, &c);
    cr_assert(c.h.closed);
    cr_assert_eq(c.h.status, 200);
    cr_assert_eq(c.h.len, BODY, "echoed %zu of %u bytes", c.h.len, BODY);
    for (size_t i = 0; i < BODY; i++)
        cr_assert_eq((unsigned char)c.h.body[i], pattern(i), "byte %zu", i);
    /* the client could never send more than the stream window ahead of the route */
    cr_assert_leq(held_max, 256 * 1024, "route held %zu unconsumed bytes", held_max);
    cr_assert_gt(held_max, 0);
    cr_assert_eq(ended, 1);
    cr_assert_eq(crgw_conn_inflight(), 0);
    crgw_test_h2_free(&c.h);
    done(base, s, cfg);
}

Test(stream, a_slow_reader_holds_the_backlog_at_its_mark)
{
    struct event_base *base = event_base_new();
    crgw_config *cfg;
    crgw_server *s = server(base, &cfg);
    reset_stats();
    client c = {0};
    post(base, s, 1024, 0, 0, &c); /* 1 KiB per step */
    cr_assert(c.h.closed);
    cr_assert_eq(c.h.len, BODY);
    for (size_t i = 0; i < BODY; i += 4093)
        cr_assert_eq((unsigned char)c.h.body[i], pattern(i), "byte %zu", i);
    cr_assert_geq(backlog_max, CRGW_STREAM_HIGH_WATER, "the backlog reached %zu", backlog_max);
    cr_assert_leq(backlog_max, CRGW_STREAM_HIGH_WATER + STEP);
    cr_assert_leq(held_max, 256 * 1024);
    cr_assert_eq(crgw_conn_inflight(), 0);
    crgw_test_h2_free(&c.h);
    done(base, s, cfg);
}

Test(stream, a_reset_or_a_closed_connection_midway_ends_the_route)
{
    struct event_base *base = event_base_new();
    crgw_config *cfg;
    crgw_server *s = server(base, &cfg);
    for (int cut = 1; cut <= 2; cut++) {
        reset_stats();
        client c = {0};
        post(base, s, 65536, cut, 300 * 1024, &c);
        cr_assert_geq(c.h.len, 300 * 1024);
        cr_assert_lt(c.h.len, BODY, "cut %d: the whole body came back", cut);
        cr_assert_eq(closed_seen, 1, "cut %d: closed heard %zu times", cut, closed_seen);
        cr_assert_eq(ended, 1, "cut %d", cut);
        cr_assert_eq(crgw_conn_inflight(), 0, "cut %d", cut);
        crgw_test_h2_free(&c.h);
    }
    /* and the server still serves */
    reset_stats();
    client c = {0};
    post(base, s, 65536, 0, 0, &c);
    cr_assert_eq(c.h.len, BODY);
    crgw_test_h2_free(&c.h);
    done(base, s, cfg);
}
