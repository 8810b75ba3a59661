/*
 * conn_guard: body budgets through the flow-control window, header decoding budget, rapid-reset
 * rate, send timeout, and the GOAWAY-flush-linger close (conn_guard.h).
 *
 * One process-wide tick (GUARD_TICK_MS) runs while a connection waits for budget or a stream
 * is sending: it resumes waiting connections when another worker freed budget and resets
 * streams stalled on a zero window. A budget freed in this process resumes at once (an event
 * made active, so never inside an nghttp2 callback).
 */
#include "gateway/server/conn_guard.h"

#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/metrics.h"

#define GUARD_TICK_MS 25
#define GUARD_FLUSH_MS 2000 /* GOAWAY written: the output must drain within this */
#define GUARD_LINGER_MS 250 /* then input is read and dropped until EOF or this long without */
#define GUARD_LINGER_MAX_MS 2000
#define HDR_BURST_S 0.25 /* header budget burst: a quarter second's worth */
#define RST_BURST 200.0
#define RST_RATE 30.0   /* per second; below nghttp2's own limit (1000, 33/s) */
#define CTL_BURST 100.0 /* SETTINGS and PING frames (not acknowledgements) from the peer */
#define CTL_RATE 20.0

enum { LIST_NONE, LIST_OWING, LIST_SENDING };

/*
 * The total budget: one counter per worker process in memory shared before the fork (a worker
 * that dies is zeroed by the parent: crgw_guard_worker_gone); the total is their sum.
 */
#define MAX_WORKERS 256
static _Atomic long long local_slots[1];
static _Atomic long long *slots = local_slots;
static int n_slots = 1, my_slot;

static crgw_guard *guards, *waiters;
static size_t n_sending;
static struct event_base *base;
static struct event *tick_ev, *resume_ev;

void crgw_guard_global_init(int workers)
{
    if (slots != local_slots)
        return;
    if (workers < 1)
        workers = 1;
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    void *p = mmap(NULL, sizeof(long long) * MAX_WORKERS, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        log_warn("guard: shared budget counters: mmap failed, the total budget is per worker");
        return;
    }
    slots = p;
    n_slots = workers;
    for (int i = 0; i < MAX_WORKERS; i++)
        atomic_store(&slots[i], 0);
}

void crgw_guard_worker(int i)
{
    if (i >= 0 && i < n_slots)
        my_slot = i;
}

void crgw_guard_worker_gone(int i)
{
    if (i >= 0 && i < n_slots)
        atomic_store(&slots[i], 0);
}

long long crgw_guard_total_used(void)
{
    long long t = 0;
    for (int i = 0; i < n_slots; i++)
        t += atomic_load_explicit(&slots[i], memory_order_relaxed);
    return t;
}

static void total_add(long long n)
{
    atomic_fetch_add_explicit(&slots[my_slot], n, memory_order_relaxed);
}

static int budget_ok(const crgw_guard *g)
{
    return g->used <= g->per_conn && crgw_guard_total_used() <= (long long)g->total;
}

/* ---- lists ---- */

static void list_add(crgw_guard_stream **head, crgw_guard_stream *gs, unsigned char which)
{
    gs->prev = NULL;
    gs->next = *head;
    if (*head)
        (*head)->prev = gs;
    *head = gs;
    gs->list = which;
    if (which == LIST_SENDING)
        n_sending++;
}

static void list_del(crgw_guard *g, crgw_guard_stream *gs)
{
    if (gs->list == LIST_NONE)
        return;
    crgw_guard_stream **head = gs->list == LIST_OWING ? &g->owing : &g->sending;
    if (gs->prev)
        gs->prev->next = gs->next;
    else
        *head = gs->next;
    if (gs->next)
        gs->next->prev = gs->prev;
    if (gs->list == LIST_SENDING)
        n_sending--;
    gs->prev = gs->next = NULL;
    gs->list = LIST_NONE;
}

static void wait_on(crgw_guard *g)
{
    if (g->waiting)
        return;
    g->waiting = 1;
    g->wprev = NULL;
    g->wnext = waiters;
    if (waiters)
        waiters->wprev = g;
    waiters = g;
}

static void wait_off(crgw_guard *g)
{
    if (!g->waiting)
        return;
    g->waiting = 0;
    if (g->wprev)
        g->wprev->wnext = g->wnext;
    else
        waiters = g->wnext;
    if (g->wnext)
        g->wnext->wprev = g->wprev;
    g->wprev = g->wnext = NULL;
}

static void tick_arm(void)
{
    if (tick_ev && !evtimer_pending(tick_ev, NULL)) {
        struct timeval tv = {0, GUARD_TICK_MS * 1000};
        evtimer_add(tick_ev, &tv);
    }
}

static void resume_soon(void)
{
    if (waiters && resume_ev)
        event_active(resume_ev, EV_TIMEOUT, 0);
}

/* ---- resuming and the tick ---- */

/* Returns the windows owed to g's streams while the budgets hold; -1 when g was freed. */
static int resume_one(crgw_guard *g)
{
    int given = 0;
    while (g->owing && budget_ok(g)) {
        crgw_guard_stream *gs = g->owing;
        list_del(g, gs);
        if (g->session && !g->closing)
            nghttp2_session_consume(g->session, gs->id, gs->owed);
        gs->owed = 0;
        given = 1;
    }
    if (!g->owing)
        wait_off(g);
    if (given && !g->closing)
        return g->ops->flush(g->owner);
    return 0;
}

static void resume_all(void)
{
    for (crgw_guard *g = waiters; g;) {
        crgw_guard *next = g->wnext; /* g may be freed by its flush */
        resume_one(g);
        g = next;
    }
}

static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    resume_all();
    if (waiters)
        tick_arm();
}

/* Resets g's streams the peer keeps at a zero window past the send timeout. */
static void check_stalls(crgw_guard *g, uint64_t now)
{
    int reset = 0;
    int32_t cw = nghttp2_session_get_remote_window_size(g->session);
    for (crgw_guard_stream *gs = g->sending; gs;) {
        crgw_guard_stream *next = gs->next;
        int32_t sw = nghttp2_session_get_stream_remote_window_size(g->session, gs->id);
        if (sw > 0 && cw > 0) {
            gs->stalled_us = 0;
        } else if (!gs->stalled_us) {
            gs->stalled_us = now;
        } else if (now - gs->stalled_us >= (uint64_t)g->send_timeout_ms * 1000u) {
            CRGW_LOG(CRGW_LOG_INFO, g->conn_id, gs->id,
                     "send timeout: the peer kept a zero window for %d ms, stream reset",
                     g->send_timeout_ms);
            list_del(g, gs);
            nghttp2_submit_rst_stream(g->session, NGHTTP2_FLAG_NONE, gs->id, NGHTTP2_CANCEL);
            reset = 1;
        }
        gs = next;
    }
    if (reset)
        g->ops->flush(g->owner);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t now = crgw_now_us();
    for (crgw_guard *g = guards; g;) {
        crgw_guard *next = g->next; /* g may be freed by its flush */
        if (g->sending && g->session && !g->closing)
            check_stalls(g, now);
        g = next;
    }
    resume_all();
    if (waiters || n_sending)
        tick_arm();
}

/* ---- connection lifetime ---- */

void crgw_guard_start(crgw_guard *g, void *owner, const crgw_guard_ops *ops, struct event_base *b,
                      struct bufferevent *bev, nghttp2_session *session, uint64_t conn_id, int tls,
                      const crgw_limits *lim)
{
    if (b != base) {
        /* the first connection of this loop (one loop per process; the fuzz target's own) */
        if (tick_ev)
            event_free(tick_ev);
        if (resume_ev)
            event_free(resume_ev);
        base = b;
        tick_ev = evtimer_new(b, on_tick, NULL);
        resume_ev = event_new(b, -1, 0, on_resume, NULL);
    }
    g->owner = owner;
    g->ops = ops;
    g->session = session;
    g->bev = bev;
    g->conn_id = conn_id;
    g->tls = tls;
    g->per_conn = lim->max_buffered_per_conn;
    g->total = lim->max_buffered_total;
    g->hdr_rate = lim->max_header_bytes_per_s;
    g->send_timeout_ms = lim->send_timeout_ms;
    g->hdr_tokens = (double)g->hdr_rate * HDR_BURST_S;
    g->rst_tokens = RST_BURST;
    g->ctl_tokens = CTL_BURST;
    g->hdr_at_us = g->rst_at_us = g->ctl_at_us = crgw_now_us();
    g->prev = NULL;
    g->next = guards;
    if (guards)
        guards->prev = g;
    guards = g;
}

void crgw_guard_stop(crgw_guard *g)
{
    if (!g->ops)
        return; /* never started (TLS handshake) */
    while (g->owing)
        list_del(g, g->owing);
    while (g->sending)
        list_del(g, g->sending);
    wait_off(g);
    if (g->prev)
        g->prev->next = g->next;
    else
        guards = g->next;
    if (g->next)
        g->next->prev = g->prev;
    if (g->linger)
        event_free(g->linger);
    g->linger = NULL;
    g->session = NULL;
    g->ops = NULL;
}

/* ---- streams ---- */

int crgw_guard_admit(crgw_guard *g, crgw_guard_stream *gs, int32_t id, long long content_length,
                     int has_body, crgw_buf *body)
{
    gs->g = g;
    gs->id = id;
    if (!has_body && content_length <= 0)
        return 0;
    if (g->owing) {
        CRGW_LOG(CRGW_LOG_INFO, g->conn_id, id,
                 "body budget: the connection already waits for budget, upload refused");
        return -1;
    }
    if (content_length <= 0)
        return 0; /* counted as it arrives */
    size_t need = (size_t)content_length;
    if (g->used + need > g->per_conn) {
        CRGW_LOG(CRGW_LOG_INFO, g->conn_id, id,
                 "body budget: %zu declared, %zu of %zu held by the connection", need, g->used,
                 g->per_conn);
        return -1;
    }
    total_add((long long)need);
    long long t = crgw_guard_total_used(); /* two workers racing both back off: safe side */
    if (t > (long long)g->total) {
        total_add(-(long long)need);
        CRGW_LOG(CRGW_LOG_INFO, g->conn_id, id,
                 "body budget: %zu declared, %lld of %zu held by the server", need,
                 t - (long long)need, g->total);
        return -1;
    }
    g->used += need;
    gs->reserved = gs->charged = need;
    crgw_buf_reserve(body, need); /* one allocation; pages are touched as the data comes */
    return 0;
}

void crgw_guard_data(crgw_guard *g, crgw_guard_stream *gs, int32_t id, size_t len, size_t held)
{
    if (!gs || !held || g->closing) {
        if (g->closing)
            return;
        if (gs && gs->owed) { /* the body went (413): what it owed goes back too */
            list_del(g, gs);
            len += gs->owed;
            gs->owed = 0;
            if (!g->owing)
                wait_off(g);
        }
        nghttp2_session_consume(g->session, id, len);
        return;
    }
    gs->g = g;
    gs->id = id;
    gs->received += len;
    size_t want = held > gs->reserved ? held : gs->reserved; /* what the body really holds */
    if (want > gs->charged) {
        g->used += want - gs->charged;
        total_add((long long)(want - gs->charged));
        gs->charged = want;
    }
    if (gs->received <= gs->reserved) {
        nghttp2_session_consume(g->session, id, len); /* within its reservation */
        return;
    }
    if (!g->owing && budget_ok(g)) {
        nghttp2_session_consume(g->session, id, len);
        return;
    }
    gs->owed += len;
    if (gs->list != LIST_OWING) {
        list_del(g, gs);
        list_add(&g->owing, gs, LIST_OWING);
    }
    if (!g->waiting)
        CRGW_LOG(CRGW_LOG_DEBUG, g->conn_id, id, "body budget: %zu held, window withheld", g->used);
    wait_on(g);
    tick_arm();
}

void crgw_guard_sending(crgw_guard *g, crgw_guard_stream *gs, int32_t id)
{
    gs->g = g;
    gs->id = id;
    if (g->send_timeout_ms <= 0 || gs->list == LIST_SENDING)
        return;
    list_del(g, gs);
    gs->stalled_us = 0;
    list_add(&g->sending, gs, LIST_SENDING);
    tick_arm();
}

void crgw_guard_stream_leave(crgw_guard_stream *gs)
{
    crgw_guard *g = gs->g;
    if (!g)
        return;
    list_del(g, gs);
    if (gs->owed && g->session && !g->closing)
        nghttp2_session_consume_connection(g->session, gs->owed); /* the stream is gone */
    gs->owed = 0;
    g->used -= gs->charged <= g->used ? gs->charged : g->used;
    gs->g = NULL;
    if (!g->owing)
        wait_off(g);
    resume_soon();
}

void crgw_guard_stream_free(crgw_guard_stream *gs)
{
    crgw_guard_stream_leave(gs);
    if (gs->charged) {
        total_add(-(long long)gs->charged);
        gs->charged = 0;
        resume_soon();
    }
}

/* ---- header and reset rates ---- */

static int bucket_take(double *tokens, uint64_t *at_us, double rate, double burst, double cost)
{
    *tokens -= cost;
    if (*tokens >= 0)
        return 0;
    uint64_t now = crgw_now_us();
    *tokens += (double)(now - *at_us) * rate / 1e6;
    *at_us = now;
    if (*tokens > burst - cost)
        *tokens = burst - cost;
    return *tokens >= 0 ? 0 : -1;
}

int crgw_guard_header(crgw_guard *g, size_t namelen, size_t valuelen)
{
    double rate = (double)g->hdr_rate;
    if (bucket_take(&g->hdr_tokens, &g->hdr_at_us, rate, rate * HDR_BURST_S,
                    (double)(namelen + valuelen + 32)) == 0)
        return 0;
    if (!g->goaway_code)
        CRGW_LOG(CRGW_LOG_WARN, g->conn_id, 0,
                 "header decoding budget exceeded (%zu bytes/s): GOAWAY ENHANCE_YOUR_CALM",
                 g->hdr_rate);
    g->goaway_code = NGHTTP2_ENHANCE_YOUR_CALM;
    return -1;
}

int crgw_guard_frame(crgw_guard *g, const nghttp2_frame *frame)
{
    double *tokens, rate, burst;
    uint64_t *at;
    const char *what;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        tokens = &g->rst_tokens, at = &g->rst_at_us, rate = RST_RATE, burst = RST_BURST;
        what = "stream resets (rapid reset)";
    } else if ((frame->hd.type == NGHTTP2_SETTINGS || frame->hd.type == NGHTTP2_PING) &&
               !(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        tokens = &g->ctl_tokens, at = &g->ctl_at_us, rate = CTL_RATE, burst = CTL_BURST;
        what = "SETTINGS and PING frames";
    } else {
        return 0;
    }
    if (bucket_take(tokens, at, rate, burst, 1.0) == 0)
        return 0;
    if (!g->goaway_code)
        CRGW_LOG(CRGW_LOG_WARN, g->conn_id, 0, "%s past %.0f/s: GOAWAY ENHANCE_YOUR_CALM", what,
                 rate);
    g->goaway_code = NGHTTP2_ENHANCE_YOUR_CALM;
    return -1;
}

/* ---- closing ---- */

static void linger_arm(crgw_guard *g, int ms);

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_guard *g = arg;
    uint64_t now = crgw_now_us();
    /* still sending: keep reading (a close with unread input would reset the connection and
     * could destroy the GOAWAY before the peer reads it), up to GUARD_LINGER_MAX_MS */
    if (g->lingering && now - g->input_at_us < GUARD_LINGER_MS * 1000u &&
        now - g->linger_at_us < GUARD_LINGER_MAX_MS * 1000u) {
        linger_arm(g, GUARD_LINGER_MS);
        return;
    }
    g->ops->release(g->owner);
}

static void linger_arm(crgw_guard *g, int ms)
{
    if (!g->linger)
        g->linger = evtimer_new(base, on_linger, g);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(g->linger, &tv);
}

static uint32_t code_for(int rv)
{
    switch (rv) {
    case NGHTTP2_ERR_FLOODED:
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS:
        return NGHTTP2_ENHANCE_YOUR_CALM;
    case NGHTTP2_ERR_NOMEM:
    case NGHTTP2_ERR_CALLBACK_FAILURE:
        return NGHTTP2_INTERNAL_ERROR;
    case NGHTTP2_ERR_HEADER_COMP:
        return NGHTTP2_COMPRESSION_ERROR;
    case NGHTTP2_ERR_FLOW_CONTROL:
        return NGHTTP2_FLOW_CONTROL_ERROR;
    default:
        return NGHTTP2_PROTOCOL_ERROR;
    }
}

void crgw_guard_fatal(crgw_guard *g, int rv)
{
    if (g->closing)
        return;
    uint32_t code = g->goaway_code ? g->goaway_code : code_for(rv);
    uint32_t last = (uint32_t)nghttp2_session_get_last_proc_stream_id(g->session) & 0x7fffffffu;
    CRGW_LOG(CRGW_LOG_INFO, g->conn_id, 0, "closing: %s; GOAWAY %s, last stream %u",
             nghttp2_strerror(rv), nghttp2_http2_strerror(code), last);
    /* after a fatal error nothing more comes from nghttp2: the frame is written here, after the
     * whole frames conn_send already queued */
    uint8_t f[17] = {0, 0, 8, NGHTTP2_GOAWAY, 0, 0, 0, 0, 0};
    for (int i = 0; i < 4; i++) {
        f[9 + i] = (uint8_t)(last >> (24 - 8 * i));
        f[13 + i] = (uint8_t)(code >> (24 - 8 * i));
    }
    g->closing = 1;
    evbuffer_add(bufferevent_get_output(g->bev), f, sizeof(f));
    crgw_metrics_counter_add(
        "crgw_http_goaway_total",
        code == NGHTTP2_ENHANCE_YOUR_CALM ? "code=\"enhance_your_calm\"" : "code=\"other\"", 1);
    linger_arm(g, GUARD_FLUSH_MS);
}

void crgw_guard_linger(crgw_guard *g)
{
    g->closing = 1;
    crgw_guard_flushed(g);
}

void crgw_guard_discard(crgw_guard *g)
{
    g->input_at_us = crgw_now_us();
    struct evbuffer *in = bufferevent_get_input(g->bev);
    evbuffer_drain(in, evbuffer_get_length(in));
}

void crgw_guard_flushed(crgw_guard *g)
{
    if (g->lingering || evbuffer_get_length(bufferevent_get_output(g->bev)) > 0)
        return;
    g->lingering = 1;
    g->linger_at_us = crgw_now_us();
    if (!g->tls)
        shutdown(bufferevent_getfd(g->bev), SHUT_WR);
    linger_arm(g, GUARD_LINGER_MS);
}
