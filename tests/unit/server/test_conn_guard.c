/*
 * gateway/server/conn_guard.c: body budgets (admission, the window withheld and given back when
 * a budget frees), the header decoding budget, the RST_STREAM / SETTINGS / PING rates and the
 * send timeout, over a real nghttp2 client session talking to a real server session in memory.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "gateway/server/conn_guard.h"

/* ---- a client and a server session wired back to back ---- */

typedef struct pair {
    nghttp2_session *cli, *srv;
    crgw_guard g;
    crgw_guard_stream gs[8]; /* by stream id / 2 */
    crgw_buf body[8];
    size_t received;
    uint32_t cli_close_code[8];
    int cli_closed[8];
    size_t upload_left;
} pair;

static struct event_base *base;

static void pump(pair *p)
{
    for (int round = 0; round < 1000; round++) {
        int moved = 0;
        const uint8_t *d;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(p->cli, &d)) > 0) {
            cr_assert_eq(nghttp2_session_mem_recv(p->srv, d, (size_t)n), n);
            moved = 1;
        }
        while ((n = nghttp2_session_mem_send(p->srv, &d)) > 0) {
            cr_assert_eq(nghttp2_session_mem_recv(p->cli, d, (size_t)n), n);
            moved = 1;
        }
        if (!moved)
            return;
    }
}

static int flush_cb(void *owner)
{
    pump(owner);
    return 0;
}

static void release_cb(void *owner)
{
    (void)owner;
}

static const crgw_guard_ops ops = {flush_cb, release_cb};

static int srv_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                    void *user)
{
    (void)s;
    (void)flags;
    pair *p = user;
    crgw_buf_add(&p->body[id / 2], data, len);
    p->received += len;
    crgw_guard_data(&p->g, &p->gs[id / 2], id, len, p->body[id / 2].cap);
    return 0;
}

static int cli_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    (void)s;
    pair *p = user;
    p->cli_closed[id / 2] = 1;
    p->cli_close_code[id / 2] = code;
    return 0;
}

static ssize_t upload(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                      uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)id;
    (void)src;
    pair *p = user;
    size_t n = length < p->upload_left ? length : p->upload_left;
    memset(buf, 'x', n);
    p->upload_left -= n;
    if (!p->upload_left)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void pair_new(pair *p, const crgw_limits *lim)
{
    memset(p, 0, sizeof(*p));
    if (!base)
        base = event_base_new();
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_data);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    cr_assert_eq(nghttp2_session_server_new2(&p->srv, cb, p, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cli_close);
    cr_assert_eq(nghttp2_session_client_new(&p->cli, cb, p), 0);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(p->cli, NGHTTP2_FLAG_NONE, NULL, 0);
    nghttp2_submit_settings(p->srv, NGHTTP2_FLAG_NONE, NULL, 0);
    for (size_t i = 0; i < 8; i++)
        crgw_buf_init(&p->body[i], 1 << 24);
    crgw_guard_start(&p->g, p, &ops, base, NULL, p->srv, 1, 0, lim);
    pump(p);
}

static void pair_free(pair *p)
{
    for (size_t i = 0; i < 8; i++) {
        crgw_guard_stream_free(&p->gs[i]);
        crgw_buf_cleanup(&p->body[i]);
    }
    crgw_guard_stop(&p->g);
    nghttp2_session_del(p->cli);
    nghttp2_session_del(p->srv);
}

static crgw_limits limits(size_t per_conn, size_t total)
{
    crgw_limits l = {0};
    l.max_buffered_per_conn = per_conn;
    l.max_buffered_total = total;
    l.max_header_bytes_per_s = 64 * 1024;
    l.send_timeout_ms = 100;
    return l;
}

static const nghttp2_nv req_nv[] = {
    {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
    {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
    {(uint8_t *)":path", (uint8_t *)"/up", 5, 3, 0},
    {(uint8_t *)":authority", (uint8_t *)"t", 10, 1, 0},
};

/* ---- admission ---- */

Test(conn_guard, admission_within_both_budgets)
{
    crgw_limits l = limits(1000000, 1500000);
    pair a, b;
    pair_new(&a, &l);
    pair_new(&b, &l);
    long long t0 = crgw_guard_total_used();
    crgw_buf scratch;
    crgw_buf_init(&scratch, 1 << 24);
    cr_assert_eq(crgw_guard_admit(&a.g, &a.gs[1], 1, 600000, 1, &scratch), 0);
    cr_assert_geq(scratch.cap, 600000, "the declared length is allocated at once");
    cr_assert_eq(crgw_guard_admit(&a.g, &a.gs[2], 3, 600000, 1, &scratch), -1,
                 "past the connection's budget");
    cr_assert_eq(crgw_guard_admit(&b.g, &b.gs[1], 1, 600000, 1, &scratch), 0);
    cr_assert_eq(crgw_guard_total_used() - t0, 1200000);
    cr_assert_eq(crgw_guard_admit(&b.g, &b.gs[2], 3, 400000, 1, &scratch), -1,
                 "past the server's total");
    cr_assert_eq(crgw_guard_admit(&b.g, &b.gs[3], 5, -1, 0, &scratch), 0, "no body: admitted");
    crgw_guard_stream_free(&a.gs[1]);
    cr_assert_eq(crgw_guard_total_used() - t0, 600000, "a finished request frees its budget");
    cr_assert_eq(crgw_guard_admit(&b.g, &b.gs[2], 3, 400000, 1, &scratch), 0);
    crgw_buf_cleanup(&scratch);
    pair_free(&a);
    pair_free(&b);
    cr_assert_eq(crgw_guard_total_used(), t0);
}

/* ---- the window withheld past the budget, given back when it frees ---- */

Test(conn_guard, window_withheld_then_resumed)
{
    crgw_limits l = limits(100000, 1 << 30);
    pair p;
    pair_new(&p, &l);
    crgw_buf scratch;
    crgw_buf_init(&scratch, 1 << 24);
    /* another request of the connection holds 80 KB (declared) */
    cr_assert_eq(crgw_guard_admit(&p.g, &p.gs[3], 7, 80000, 1, &scratch), 0);
    /* an upload of 1 MB without content-length */
    p.upload_left = 1000000;
    nghttp2_data_provider prd = {.read_callback = upload};
    int32_t id = nghttp2_submit_request(p.cli, NULL, req_nv, 4, &prd, NULL);
    cr_assert_eq(id, 1);
    pump(&p);
    /* the connection window is 65535: at most that much past the budget */
    size_t first = p.received;
    cr_assert_gt(first, 20000);
    cr_assert_leq(first, 20000 + 65535 + 65536, "received %zu", first);
    cr_assert_gt(p.upload_left, 0, "the sender waits");
    cr_assert(p.g.owing != NULL && p.g.waiting, "the stream owes its window");
    pump(&p);
    cr_assert_eq(p.received, first, "nothing more while the budget is exceeded");
    /* the other request finishes: its 80 KB go back, the waiting upload resumes */
    crgw_guard_stream_free(&p.gs[3]);
    event_base_loop(base, EVLOOP_NONBLOCK);
    cr_assert_gt(p.received, first, "resumed: %zu after %zu", p.received, first);
    cr_assert_gt(p.upload_left, 0, "and held again at the budget");
    crgw_buf_cleanup(&scratch);
    pair_free(&p);
}

/* ---- header decoding budget and frame rates ---- */

Test(conn_guard, header_budget)
{
    crgw_limits l = limits(100000, 1 << 30);
    pair p;
    pair_new(&p, &l);
    int ok = 0;
    while (ok < 1000 && crgw_guard_header(&p.g, 10, 1000) == 0)
        ok++;
    /* 64 KiB/s, a quarter second of burst, 1042 bytes a field: about 15 fields */
    cr_assert(ok >= 15 && ok <= 17, "%d fields", ok);
    cr_assert_eq(p.g.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    pair_free(&p);
}

Test(conn_guard, frame_rates)
{
    crgw_limits l = limits(100000, 1 << 30);
    pair p;
    pair_new(&p, &l);
    nghttp2_frame f;
    memset(&f, 0, sizeof(f));
    f.hd.type = NGHTTP2_RST_STREAM;
    int ok = 0;
    while (ok < 10000 && crgw_guard_frame(&p.g, &f) == 0)
        ok++;
    cr_assert(ok >= 200 && ok < 210, "%d resets", ok);
    cr_assert_eq(p.g.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    pair_free(&p);

    pair_new(&p, &l);
    f.hd.type = NGHTTP2_SETTINGS;
    f.hd.flags = NGHTTP2_FLAG_ACK;
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(crgw_guard_frame(&p.g, &f), 0, "acknowledgements are not counted");
    f.hd.flags = 0;
    ok = 0;
    while (ok < 10000 && crgw_guard_frame(&p.g, &f) == 0)
        ok++;
    cr_assert(ok >= 100 && ok < 105, "%d SETTINGS", ok);
    f.hd.type = NGHTTP2_DATA;
    cr_assert_eq(crgw_guard_frame(&p.g, &f), 0, "DATA is not rate limited here");
    pair_free(&p);
}

/* ---- send timeout ---- */

static ssize_t answer(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                      uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)id;
    (void)src;
    (void)user;
    size_t n = length < 100 ? length : 100;
    memset(buf, 'a', n);
    if (n == 100)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

Test(conn_guard, send_timeout_resets_a_zero_window_stream)
{
    crgw_limits l = limits(100000, 1 << 30);
    pair p;
    pair_new(&p, &l);
    /* the client allows no response data at all */
    nghttp2_settings_entry iv = {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0};
    nghttp2_submit_settings(p.cli, NGHTTP2_FLAG_NONE, &iv, 1);
    int32_t id = nghttp2_submit_request(p.cli, NULL, req_nv, 4, NULL, NULL);
    pump(&p);
    nghttp2_nv st = {(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0};
    nghttp2_data_provider prd = {.read_callback = answer};
    cr_assert_eq(nghttp2_submit_response(p.srv, id, &st, 1, &prd), 0);
    crgw_guard_sending(&p.g, &p.gs[id / 2], id);
    pump(&p);
    cr_assert_eq(p.cli_closed[id / 2], 0, "waiting for window");
    uint64_t start = crgw_now_us();
    while (!p.cli_closed[id / 2] && crgw_now_us() - start < 2000000) {
        struct timeval tv = {0, 10000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    uint64_t ms = (crgw_now_us() - start) / 1000;
    cr_assert_eq(p.cli_closed[id / 2], 1, "reset after %llu ms", (unsigned long long)ms);
    cr_assert_eq(p.cli_close_code[id / 2], NGHTTP2_CANCEL);
    cr_assert(ms >= 90 && ms < 600, "after %llu ms (send_timeout_ms 100)", (unsigned long long)ms);
    cr_assert_null(p.g.sending, "no longer watched");
    pair_free(&p);
}
