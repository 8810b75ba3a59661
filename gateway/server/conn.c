/*
 * conn: nghttp2 1.52 server sessions on libevent bufferevents, shaped like nghttp2's
 * examples/libevent-server.c: read chunks go to nghttp2_session_mem_recv, output is produced
 * with nghttp2_session_mem_send into a local batch buffer and appended to the bufferevent in
 * large pieces, up to a high-water mark (resumed from the write callback).
 *
 * Flow control: automatic WINDOW_UPDATE is off; a DATA chunk dropped (stream already answered)
 * is consumed at once, one copied into the stream's bounded body only while the body budgets
 * hold (conn_guard.h, which also owns the header budget, frame rates, send timeout and the
 * GOAWAY-flush-linger close).
 *
 * Hot path (a GET answered synchronously): streams come from a per-connection free list, each
 * with an inline arena for headers, path and response headers; no allocation per request.
 */
#include "gateway/server/conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn_guard.h"
#include "gateway/server/h2.h"
#include "gateway/server/list.h"
#include "gateway/server/metrics.h"
#include "gateway/server/request.h"
#include "gateway/server/routes.h"
#include "gateway/server/stream.h"
#include "gateway/server/tls.h"

#define ARENA_SIZE 2048
#define POOL_MAX 32
#define OUTPUT_HIGH_WATER (64 * 1024)
#define BATCH_SIZE (16 * 1024)
/* initial windows, or the connection's body budget when smaller (the most it can overrun it by) */
#define STREAM_WINDOW (256 * 1024)
#define CONN_WINDOW (1024 * 1024)
#define WINDOW(w, budget) ((uint32_t)((budget) < (size_t)(w) ? (budget) : (size_t)(w)))
#define MAX_TEST_DELAY_MS 10000

#define ALL_LOCAL_ROLES                                                                            \
    (CRGW_ROLE_VERIFIER | CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_PLATFORM | CRGW_ROLE_OPERATOR)

enum {
    F_HEADERS_DONE = 1u << 0, /* request headers received and checked */
    F_COMPLETE = 1u << 1,     /* END_STREAM received */
    F_DISPATCHED = 1u << 2,   /* handed to the handler (or to the test delay timer) */
    F_ANSWERED = 1u << 3,     /* crgw_req_respond called */
    F_CLOSED = 1u << 4,       /* nghttp2 closed the stream */
    F_SUBMITTED = 1u << 5,    /* response submitted to nghttp2 */
    F_RESET = 1u << 6,        /* RST_STREAM submitted by us */
};

typedef struct chunk {
    struct chunk *next;
} chunk;

typedef struct crgw_conn crgw_conn;

/* A request header field as received (crgw_req_header), in the stream arena. */
typedef struct req_header {
    struct req_header *next;
    const char *name, *value;
} req_header;

typedef struct stream {
    crgw_req req;
    crgw_conn *conn; /* NULL once detached */
    struct stream *prev, *next;
    int32_t id;
    unsigned flags;
    int early_status; /* header-time failure: 431 */
    size_t hdr_bytes;
    const char *raw_path; /* :path as received */
    const char *x_role, *x_client, *x_delay;
    req_header *hdrs, *hdrs_last; /* regular header fields, in the order received */
    long long content_length;     /* -1 when absent */
    crgw_buf body;
    size_t dropped;       /* body bytes discarded after an early answer */
    uint64_t deadline_us; /* request must be complete by then */
    size_t route_index;   /* for metrics; crgw_routes_count() when unmatched */
    const char *route_name;
    const crgw_route *route; /* the matched route (the server's table outlives its streams) */
    int status;
    crgw_h2_span resp; /* the answer's body */
    char *resp_heap;
    struct event *delay_timer;
    size_t arena_used;
    chunk *overflow;
    crgw_guard_stream g; /* body budget, send timeout */
    _Alignas(8) char arena[ARENA_SIZE];
} stream;

struct crgw_conn {
    crgw_server *srv;
    uint64_t id;
    struct bufferevent *bev;
    nghttp2_session *session;
    int tls;
    crgw_tls_identity ident;
    char addr[64];
    stream *head, *tail;
    size_t n_streams;
    stream *pool;
    size_t n_pool;
    struct event *idle_timer;
    struct event *slow_timer;
    int in_recv;
    int goaway_final;
    crgw_guard g; /* what the client may make us hold; GOAWAY-flush-linger closing */
    crgw_conn *prev, *next;
};

static crgw_conn *conns;
static size_t n_conns, n_open_streams, n_inflight;
static uint64_t next_conn_id = 1;
static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;

static void conn_free(crgw_conn *c);
static int conn_send(crgw_conn *c);
static void conn_after_io(crgw_conn *c);

size_t crgw_conn_count(void)
{
    return n_conns;
}

size_t crgw_conn_open_streams(void)
{
    return n_open_streams;
}

size_t crgw_conn_inflight(void)
{
    return n_inflight;
}

/* ---- stream arena and lifetime ---- */

static void *arena_alloc(stream *s, size_t n)
{
    size_t off = (s->arena_used + 7u) & ~(size_t)7u;
    if (off <= ARENA_SIZE && n <= ARENA_SIZE - off) {
        s->arena_used = off + n;
        return s->arena + off;
    }
    chunk *ch = xmalloc(sizeof(chunk) + 8 + n);
    ch->next = s->overflow;
    s->overflow = ch;
    return (char *)ch + ((sizeof(chunk) + 7u) & ~(size_t)7u);
}

static char *arena_strndup(stream *s, const char *p, size_t n)
{
    char *d = arena_alloc(s, n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

void *crgw_conn_alloc(crgw_req *r, size_t n)
{
    return arena_alloc(r->impl, n);
}

const char *crgw_req_header(crgw_req *r, const char *name)
{
    const stream *s = r->impl;
    for (const req_header *h = s->hdrs; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h->value;
    return NULL;
}

static stream *stream_new(crgw_conn *c, int32_t id)
{
    stream *s = c->pool;
    if (s) {
        c->pool = s->next;
        c->n_pool--;
    } else {
        s = xmalloc(sizeof(*s));
    }
    /* everything before the arena */
    memset(s, 0, offsetof(stream, arena));
    s->conn = c;
    s->id = id;
    s->content_length = -1;
    s->route_index = crgw_routes_count(crgw_server_routes(c->srv));
    s->route_name = "unmatched";
    s->req.method = "";
    s->req.path = "";
    s->req.query = "";
    s->req.body = "";
    s->req.content_type = "";
    /* copies: a request may outlive its connection (answered after the client went away) */
    s->req.client = c->tls ? arena_strndup(s, c->ident.uri, strlen(c->ident.uri)) : "h2c:loopback";
    s->req.role = c->tls ? c->ident.roles : ALL_LOCAL_ROLES;
    s->req.peer_node = c->tls && c->ident.peer_node[0]
                           ? arena_strndup(s, c->ident.peer_node, strlen(c->ident.peer_node))
                           : NULL;
    s->req.server = c->srv;
    s->req.conn_id = c->id;
    s->req.stream_id = id;
    s->req.started_us = crgw_now_us();
    s->req.impl = s;
    crgw_config *cfg = crgw_server_config(c->srv);
    s->req.cfg = crgw_config_ref(cfg);
    crgw_buf_init(&s->body, cfg->limits.max_body);
    s->deadline_us = s->req.started_us + (uint64_t)cfg->limits.request_timeout_ms * 1000u;
    /* link */
    CRGW_LIST_APPEND(c->head, c->tail, s);
    c->n_streams++;
    n_open_streams++;
    return s;
}

static void stream_unlink(stream *s)
{
    crgw_conn *c = s->conn;
    CRGW_LIST_REMOVE(c->head, c->tail, s);
    crgw_guard_stream_leave(&s->g);
    c->n_streams--;
    n_open_streams--;
}

/*
 * Streams closed before their handler answered (conn == NULL), so that the exit can free those
 * a handler never answered (drain deadline).
 */
static stream *detached;

static void detach(stream *s)
{
    s->conn = NULL;
    CRGW_LIST_PUSH(detached, s);
}

static void undetach(stream *s)
{
    CRGW_LIST_UNLINK(detached, s);
}

/* Frees what the stream holds; returns it to its connection's pool when there is one. */
static void stream_release(stream *s)
{
    while (s->overflow) {
        chunk *n = s->overflow->next;
        free(s->overflow);
        s->overflow = n;
    }
    crgw_buf_cleanup(&s->body);
    crgw_guard_stream_free(&s->g);
    free(s->resp_heap);
    if (s->delay_timer)
        event_free(s->delay_timer);
    crgw_sstream_free(s->req.sstream);
    crgw_config_unref(s->req.cfg);
    crgw_conn *c = s->conn;
    if (c && c->n_pool < POOL_MAX) {
        s->next = c->pool;
        c->pool = s;
        c->n_pool++;
    } else {
        free(s);
    }
}

/* ---- answering ---- */

#define NV(n, v, vl)                                                                               \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, (vl),                                       \
            NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE                           \
    }

/* Metrics, access log, in-flight count of an answer; frees a stream the client left (1). */
static int answer_account(stream *s, int status, size_t len)
{
    crgw_req *r = &s->req;
    crgw_assert(!(s->flags & F_ANSWERED));
    int was_dispatched = (s->flags & F_DISPATCHED) != 0;
    s->flags |= F_ANSWERED;
    s->status = status;
    uint64_t us = crgw_now_us() - r->started_us;
    crgw_metrics_request(s->route_index, status, us);
    CRGW_LOG(CRGW_LOG_INFO, r->conn_id, r->stream_id,
             "access client=%s method=%s path=%s route=%s status=%d bytes=%zu us=%llu%s", r->client,
             r->method, r->path, s->route_name, status, len, (unsigned long long)us,
             (s->flags & F_CLOSED) ? " (client gone, answer dropped)" : "");
    if (was_dispatched)
        n_inflight--;
    crgw_conn *c = s->conn;
    if (!c || (s->flags & F_CLOSED)) {
        struct crgw_server *srv = r->server; /* r lives inside s: read before the release */
        if (!c)
            undetach(s);
        stream_release(s);
        if (!c)
            crgw_server_check_drained(srv);
        return 1;
    }
    return 0;
}

/* The answer's header list (content-length when len >= 0), in the stream arena. */
static size_t answer_nv(stream *s, int status, const char *content_type, long long len,
                        const char *const *headers, nghttp2_nv **out)
{
    size_t nh = 0;
    while (headers && headers[nh * 2])
        nh++;
    nghttp2_nv *nv = arena_alloc(s, (4 + nh) * sizeof(*nv));
    size_t n = 0;
    const char *st = crgw_h2_status(status, arena_alloc(s, 8));
    nv[n++] = (nghttp2_nv)NV(":status", st, strlen(st));
    size_t dlen;
    const char *date = crgw_h2_date(&dlen);
    nv[n] = (nghttp2_nv)NV("date", date, dlen);
    nv[n++].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME; /* the value changes every second */
    if (content_type && content_type[0]) {
        size_t ctl = strlen(content_type); /* copied: the caller's string may be temporary */
        nv[n++] = (nghttp2_nv)NV("content-type", arena_strndup(s, content_type, ctl), ctl);
    }
    if (len >= 0 && status != 304) { /* a 304 has no content, and its length would be the 200's */
        char *cl = arena_alloc(s, 24);
        int cll = snprintf(cl, 24, "%lld", len);
        nv[n++] = (nghttp2_nv)NV("content-length", cl, (size_t)cll);
    }
    for (size_t i = 0; i < nh; i++) {
        const char *hn = headers[2 * i], *hv = headers[2 * i + 1];
        nv[n].name = (uint8_t *)(uintptr_t)hn;
        nv[n].namelen = strlen(hn);
        nv[n].value = (uint8_t *)(uintptr_t)(hv ? hv : "");
        nv[n].valuelen = hv ? strlen(hv) : 0;
        nv[n].flags = NGHTTP2_NV_FLAG_NONE; /* names/values copied by nghttp2 */
        n++;
    }
    *out = nv;
    return n;
}

/* Flushes what was submitted from outside the receive path (timer, Redis; STYLE.md 13). */
static void conn_kick(crgw_conn *c)
{
    if (c && !c->in_recv) {
        if (conn_send(c) != 0)
            conn_free(c);
        else
            conn_after_io(c);
    }
}

void crgw_conn_respond(crgw_req *r, int status, const char *content_type, const char *body,
                       size_t len, const char *const *headers)
{
    stream *s = r->impl;
    if (r->sstream)
        crgw_sstream_settle(r);
    if (answer_account(s, status, len))
        return;
    crgw_conn *c = s->conn;
    nghttp2_nv *nv;
    size_t n = answer_nv(s, status, content_type, (long long)len, headers, &nv);
    nghttp2_data_provider prd;
    prd.source.ptr = &s->resp;
    prd.read_callback = crgw_h2_span_read;
    if (len) {
        char *copy;
        if (len <= ARENA_SIZE / 2 && s->arena_used + len + 8 <= ARENA_SIZE) {
            copy = arena_alloc(s, len);
        } else {
            s->resp_heap = xmalloc(len);
            copy = s->resp_heap;
        }
        memcpy(copy, body, len);
        s->resp.data = copy;
        s->resp.len = len;
    }
    int rv = nghttp2_submit_response(c->session, s->id, nv, n, len ? &prd : NULL);
    if (rv != 0) {
        CRGW_LOG(CRGW_LOG_WARN, c->id, s->id, "submit_response: %s", nghttp2_strerror(rv));
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
    } else {
        crgw_guard_sending(&c->g, &s->g, s->id);
    }
    s->flags |= F_SUBMITTED;
    conn_kick(c);
}

/* ---- streaming routes (gateway/server/stream.c) ---- */

nghttp2_session *crgw_conn_session(crgw_req *r)
{
    stream *s = r->impl;
    return s->conn ? s->conn->session : NULL;
}

void crgw_conn_kick(crgw_req *r)
{
    stream *s = r->impl;
    if (!s->conn || (s->flags & F_CLOSED))
        return;
    s->deadline_us = crgw_now_us() + (uint64_t)r->cfg->limits.request_timeout_ms * 1000u;
    conn_kick(s->conn);
}

int crgw_conn_stream_submit(crgw_req *r, int status, const char *content_type,
                            const char *const *headers, const nghttp2_data_provider *prd)
{
    stream *s = r->impl;
    if (!s->conn || (s->flags & F_CLOSED))
        return -1;
    nghttp2_nv *nv;
    size_t n = answer_nv(s, status, content_type, -1, headers, &nv);
    s->status = status;
    s->flags |= F_SUBMITTED;
    if (nghttp2_submit_response(s->conn->session, s->id, nv, n, prd) != 0) {
        nghttp2_submit_rst_stream(s->conn->session, NGHTTP2_FLAG_NONE, s->id,
                                  NGHTTP2_INTERNAL_ERROR);
        return -1;
    }
    crgw_conn_kick(r);
    return 0;
}

void crgw_conn_stream_done(crgw_req *r, int status, size_t bytes)
{
    stream *s = r->impl;
    crgw_conn *c = s->conn;
    if (!answer_account(s, status ? status : (s->status ? s->status : 500), bytes))
        conn_kick(c);
}

int crgw_conn_cancelled(const crgw_req *r)
{
    const stream *s = r->impl;
    return (s->flags & F_CLOSED) != 0;
}

/* Early answer (before or while the body arrives): a problem+json through the common path. */
static void reject(stream *s, int status, const char *type, const char *title, const char *detail,
                   const char *allow)
{
    if (!allow) {
        crgw_http_problem_ex(&s->req, status, type, title, NULL, NULL, detail);
        return;
    }
    const char *headers[] = {"allow", allow, NULL};
    crgw_http_problem_ex(&s->req, status, type, title, json_pack("{s:s}", "allow", allow), headers,
                         detail);
}

/* ---- request processing ---- */

static void *arena_cb(void *s, size_t n)
{
    return arena_alloc(s, n);
}

/* END_STREAM of the request headers or data: route checks, then the handler. */
static void on_headers_done(stream *s)
{
    s->flags |= F_HEADERS_DONE;
    crgw_conn *c = s->conn;
    if (s->early_status == 431) {
        reject(s, 431, "headers-too-large", "Request header fields too large",
               "the request's header list exceeds the configured limit", NULL);
        return;
    }
    if (crgw_request_split_path(s->raw_path, arena_cb, s, &s->req.path, &s->req.query) != 0) {
        reject(s, 400, "bad-path", "Bad request path", "the request path is malformed", NULL);
        return;
    }
    char qname[64], qdetail[128];
    if (crgw_query_repeated(s->req.query, qname, sizeof(qname))) {
        snprintf(qdetail, sizeof(qdetail), "query parameter '%s' is given more than once", qname);
        reject(s, 400, "repeated-query-parameter", "Repeated query parameter", qdetail, NULL);
        return;
    }
    if (!c->tls && crgw_request_h2c_identity(&s->req, s->x_role, s->x_client) != 0) {
        reject(s, 400, "bad-role-header", "Bad x-crgw-role header",
               "x-crgw-role must list role names (verifier, repair_desk, platform, operator, "
               "peer)",
               NULL);
        return;
    }
    crgw_route_match m;
    char allow[64];
    int rv = crgw_routes_match(crgw_server_routes(s->conn->srv), s->req.method, s->req.path,
                               strlen(s->req.path), &m, allow, sizeof(allow));
    int streaming = rv == 0 && m.stream; /* its own limits, no max_body */
    if (!streaming && s->content_length > 0 &&
        (unsigned long long)s->content_length > s->body.limit) {
        reject(s, 413, "body-too-large", "Request body too large",
               "the request body exceeds the configured limit", NULL);
        return;
    }
    if (rv == CRGW_ERR_NOT_FOUND) {
        reject(s, 404, "not-found", "Not found", "no route for this path", NULL);
        return;
    }
    if (rv == CRGW_ERR_METHOD) {
        reject(s, 405, "method-not-allowed", "Method not allowed",
               "the route exists but not with this method", allow);
        return;
    }
    s->route_index = m.index;
    s->route_name = m.route->name;
    s->route = m.route;
    for (size_t i = 0; i < m.n_params; i++)
        s->req.params[i] = arena_strndup(s, m.params[i].p, m.params[i].len);
    s->req.n_params = m.n_params;
    if (!crgw_routes_allowed(m.route, s->req.role)) {
        reject(s, 403, "forbidden", "Forbidden", "the caller's role may not use this route", NULL);
        return;
    }
    if (streaming) { /* the handler runs now and gets the body as it arrives */
        s->flags |= F_DISPATCHED;
        n_inflight++;
        s->req.sstream = crgw_sstream_new(&s->req, m.stream);
        m.route->handler(&s->req);
    }
}

static void run_handler(stream *s)
{
    s->route->handler(&s->req);
}

static void on_delay(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    stream *s = arg;
    run_handler(s);
}

static void on_request_complete(stream *s)
{
    s->flags |= F_COMPLETE;
    if (s->flags & F_ANSWERED)
        return;
    if (!(s->flags & F_HEADERS_DONE))
        return;
    if (s->req.sstream) {
        crgw_sstream_eof(&s->req);
        return;
    }
    s->req.body = s->body.data ? s->body.data : "";
    s->req.body_len = s->body.len;
    s->flags |= F_DISPATCHED;
    n_inflight++;
    crgw_conn *c = s->conn;
    if (!c->tls && s->x_delay) {
        /* loopback test hook: hold the request before its handler (drain tests) */
        long ms = strtol(s->x_delay, NULL, 10);
        if (ms > 0) {
            if (ms > MAX_TEST_DELAY_MS)
                ms = MAX_TEST_DELAY_MS;
            s->delay_timer = evtimer_new(crgw_server_base(c->srv), on_delay, s);
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
            evtimer_add(s->delay_timer, &tv);
            return;
        }
    }
    run_handler(s);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    crgw_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    stream *s = stream_new(c, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
    if (evtimer_pending(c->idle_timer, NULL))
        evtimer_del(c->idle_timer);
    if (!evtimer_pending(c->slow_timer, NULL)) {
        int ms = s->req.cfg->limits.request_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(c->slow_timer, &tv);
    }
    return 0;
}

static int name_is(const uint8_t *name, size_t len, const char *lit, size_t litlen)
{
    return len == litlen && memcmp(name, lit, len) == 0;
}
#define NAME_IS(lit) name_is(name, namelen, lit, sizeof(lit) - 1)

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    (void)flags;
    crgw_conn *c = user_data;
    if (crgw_guard_header(&c->g, namelen, valuelen) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* GOAWAY ENHANCE_YOUR_CALM (readcb) */
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s || s->early_status || (s->flags & F_HEADERS_DONE))
        return 0; /* trailers are ignored */
    s->hdr_bytes += namelen + valuelen + 32;
    if (s->hdr_bytes > s->req.cfg->limits.max_header_list) {
        s->early_status = 431;
        return 0;
    }
    const char *v = (const char *)value;
    if (namelen && name[0] == ':') {
        if (NAME_IS(":method"))
            s->req.method = arena_strndup(s, v, valuelen);
        else if (NAME_IS(":path"))
            s->raw_path = arena_strndup(s, v, valuelen);
        return 0;
    }
    req_header *h = arena_alloc(s, sizeof(*h));
    h->next = NULL;
    h->name = arena_strndup(s, (const char *)name, namelen);
    h->value = arena_strndup(s, v, valuelen);
    if (s->hdrs_last)
        s->hdrs_last->next = h;
    else
        s->hdrs = h;
    s->hdrs_last = h;
    if (NAME_IS("content-type"))
        s->req.content_type = arena_strndup(s, v, valuelen);
    else if (NAME_IS("content-length")) {
        long long n = 0;
        size_t i;
        for (i = 0; i < valuelen && v[i] >= '0' && v[i] <= '9' && n < (1LL << 50); i++)
            n = n * 10 + (v[i] - '0');
        s->content_length = n;
    } else if (!c->tls && namelen > 7 && memcmp(name, "x-crgw-", 7) == 0) {
        /* loopback development listener only: simulated identity and test delay */
        if (NAME_IS("x-crgw-role"))
            s->x_role = arena_strndup(s, v, valuelen);
        else if (NAME_IS("x-crgw-client"))
            s->x_client = arena_strndup(s, v, valuelen);
        else if (NAME_IS("x-crgw-test-delay-ms"))
            s->x_delay = arena_strndup(s, v, valuelen);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    crgw_conn *c = user_data;
    if (crgw_guard_frame(&c->g, frame) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE; /* GOAWAY ENHANCE_YOUR_CALM (readcb) */
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    stream *s = nghttp2_session_get_stream_user_data(session, frame->hd.stream_id);
    if (!s)
        return 0; /* the stream may already be gone (STYLE.md) */
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        on_headers_done(s);
        if (!(s->flags & F_ANSWERED) && !s->req.sstream && /* a stream route reads as it goes */
            crgw_guard_admit(&c->g, &s->g, s->id, s->content_length,
                             !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM), &s->body) != 0)
            reject(s, 503, "body-budget", "Server busy: request body budget exhausted",
                   "the request body does not fit in what remains of the connection's or the "
                   "server's request body budget; retry later",
                   NULL);
    }
    if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && !(s->flags & F_COMPLETE))
        on_request_complete(s);
    return 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                         const uint8_t *data, size_t len, void *user_data)
{
    (void)flags;
    crgw_conn *c = user_data;
    stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (s && s->req.sstream && !(s->flags & F_ANSWERED)) {
        s->deadline_us = crgw_now_us() + (uint64_t)s->req.cfg->limits.request_timeout_ms * 1000u;
        crgw_sstream_body(&s->req, (const char *)data, len); /* consumed by the route */
        return 0;
    }
    size_t held = 0; /* 0: dropped */
    if (s && !(s->flags & (F_ANSWERED | F_DISPATCHED))) {
        held = crgw_buf_add(&s->body, data, len) == 0 ? s->body.cap : 0;
        if (!held) {
            crgw_buf_cleanup(&s->body);
            reject(s, 413, "body-too-large", "Request body too large",
                   "the request body exceeds the configured limit", NULL);
        }
    } else if (s && (s->flags & F_ANSWERED)) {
        /*
         * Answered early (413, 404 with a body...): discard the rest of the upload, up to
         * another max_body, then reset. Not at once: some clients (curl 7.88) drop a response
         * followed by RST_STREAM(NO_ERROR) while they are still uploading.
         */
        s->dropped += len;
        if (s->dropped > s->body.limit && !(s->flags & F_RESET)) {
            s->flags |= F_RESET;
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
        }
    }
    /* dropped: the window goes back; copied: while the body budgets hold (conn_guard) */
    crgw_guard_data(&c->g, s ? &s->g : NULL, stream_id, len, held);
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    crgw_conn *c = user_data;
    stream *s = nghttp2_session_get_stream_user_data(session, stream_id);
    if (!s)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    if (error_code != NGHTTP2_NO_ERROR && !(s->flags & F_ANSWERED))
        CRGW_LOG(CRGW_LOG_DEBUG, c->id, stream_id, "stream reset: %s",
                 nghttp2_http2_strerror(error_code));
    s->flags |= F_CLOSED;
    stream_unlink(s);
    if (s->req.sstream)
        crgw_sstream_closed(&s->req); /* window back; the route hears it on its own turn */
    if ((s->flags & F_DISPATCHED) && !(s->flags & F_ANSWERED)) {
        detach(s); /* the handler's answer frees it */
    } else {
        stream_release(s);
    }
    if (c->n_streams == 0) {
        int ms = crgw_server_config(c->srv)->limits.idle_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        evtimer_add(c->idle_timer, &tv);
    }
    return 0;
}

static int on_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
                    void *user_data)
{
    (void)session;
    (void)lib_error_code;
    crgw_conn *c = user_data;
    CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "http2: %.*s", (int)len, msg);
    return 0;
}

static void init_nghttp2(void)
{
    if (callbacks)
        return;
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
    nghttp2_option_new(&options);
    nghttp2_option_set_no_auto_window_update(options, 1);
    /* rapid reset (CVE-2023-44487) and CONTINUATION flood (CVE-2024-28182): Debian backports */
    nghttp2_option_set_stream_reset_rate_limit(options, 1000, 33);
    nghttp2_option_set_max_continuations(options, 8);
    nghttp2_option_set_max_outbound_ack(options, 1000);
    nghttp2_option_set_max_settings(options, 32);
}

void crgw_conn_cleanup(void)
{
    if (callbacks)
        nghttp2_session_callbacks_del(callbacks);
    if (options)
        nghttp2_option_del(options);
    callbacks = NULL;
    options = NULL;
}

/* ---- connection I/O ---- */

static int conn_send(crgw_conn *c)
{
    if (!c->session || c->g.closing)
        return 0;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char batch[BATCH_SIZE];
    size_t blen = 0;
    while (evbuffer_get_length(out) + blen < OUTPUT_HIGH_WATER) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->session, &data);
        if (n < 0) {
            CRGW_LOG(CRGW_LOG_WARN, c->id, 0, "mem_send: %s", nghttp2_strerror((int)n));
            return -1;
        }
        if (n == 0)
            break;
        if (blen + (size_t)n > sizeof(batch)) {
            if (blen)
                evbuffer_add(out, batch, blen);
            blen = 0;
        }
        if ((size_t)n > sizeof(batch)) {
            evbuffer_add(out, data, (size_t)n);
        } else {
            memcpy(batch + blen, data, (size_t)n);
            blen += (size_t)n;
        }
    }
    if (blen)
        evbuffer_add(out, batch, blen);
    return 0;
}

/* Closes the connection once the session wants neither read nor write and output is flushed. */
static void conn_after_io(crgw_conn *c)
{
    if (!c->session || c->g.closing)
        return;
    if (nghttp2_session_want_read(c->session) || nghttp2_session_want_write(c->session))
        return;
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return;
    crgw_guard_linger(&c->g); /* then conn_free */
}

static void readcb(struct bufferevent *bev, void *arg)
{
    crgw_conn *c = arg;
    if (!c->session)
        return;
    if (c->g.closing) {
        crgw_guard_discard(&c->g);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(bev);
    c->in_recv = 1;
    struct evbuffer_iovec v[8];
    while (evbuffer_get_length(in) > 0) {
        int nv = evbuffer_peek(in, -1, NULL, v, 8);
        if (nv > 8)
            nv = 8;
        size_t total = 0;
        for (int i = 0; i < nv; i++) {
            ssize_t n = nghttp2_session_mem_recv(c->session, v[i].iov_base, v[i].iov_len);
            if (n < 0) {
                c->in_recv = 0;
                crgw_guard_fatal(&c->g, (int)n); /* GOAWAY, flush, linger, conn_free */
                crgw_guard_discard(&c->g);
                return;
            }
            total += (size_t)n;
        }
        evbuffer_drain(in, total);
    }
    c->in_recv = 0;
    if (conn_send(c) != 0) {
        conn_free(c);
        return;
    }
    conn_after_io(c);
}

static void writecb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    crgw_conn *c = arg;
    if (!c->session)
        return;
    if (c->g.closing) {
        crgw_guard_flushed(&c->g);
        return;
    }
    if (nghttp2_session_want_write(c->session) && conn_send(c) != 0) {
        conn_free(c);
        return;
    }
    conn_after_io(c);
}

static int guard_flush(void *owner)
{
    crgw_conn *c = owner;
    if (conn_send(c) != 0) {
        conn_free(c);
        return -1;
    }
    conn_after_io(c);
    return 0;
}

static void guard_release(void *owner)
{
    conn_free(owner);
}

static const crgw_guard_ops guard_ops = {guard_flush, guard_release};

static int conn_start_session(crgw_conn *c)
{
    init_nghttp2();
    if (nghttp2_session_server_new2(&c->session, callbacks, c, options) != 0) {
        c->session = NULL;
        return -1;
    }
    const crgw_config *cfg = crgw_server_config(c->srv);
    crgw_guard_start(&c->g, c, &guard_ops, crgw_server_base(c->srv), c->bev, c->session, c->id,
                     c->tls, &cfg->limits);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->limits.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE,
         WINDOW(STREAM_WINDOW, cfg->limits.max_buffered_per_conn)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)cfg->limits.max_header_list},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, CRGW_ARRAY_LEN(iv)) != 0)
        return -1;
    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                          WINDOW(CONN_WINDOW, cfg->limits.max_buffered_per_conn));
    if (crgw_server_draining(c->srv))
        nghttp2_submit_shutdown_notice(c->session);
    return conn_send(c);
}

static void eventcb(struct bufferevent *bev, short events, void *arg)
{
    crgw_conn *c = arg;
    if (events & BEV_EVENT_CONNECTED) {
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        const unsigned char *alpn = NULL;
        unsigned alpnlen = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
        if (alpnlen != 2 || memcmp(alpn, "h2", 2) != 0) {
            CRGW_LOG(CRGW_LOG_INFO, c->id, 0, "closing %s: h2 not negotiated", c->addr);
            conn_free(c);
            return;
        }
        if (crgw_tls_identity_of(ssl, crgw_server_config(c->srv), &c->ident) != 0) {
            CRGW_LOG(CRGW_LOG_WARN, c->id, 0, "closing %s: client certificate not known", c->addr);
            conn_free(c);
            return;
        }
        CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "tls established from %s: %s (%s)", c->addr,
                 c->ident.uri, SSL_get_version(ssl));
        if (conn_start_session(c) != 0) {
            conn_free(c);
            return;
        }
        /* data may have arrived with the handshake */
        readcb(bev, c);
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
        if ((events & BEV_EVENT_EOF) && c->g.closing && !c->g.lingering)
            return; /* the peer half-closed: its GOAWAY still goes out (conn_guard) */
        if (c->tls && !c->session && (events & BEV_EVENT_ERROR)) {
            unsigned long e = bufferevent_get_openssl_error(bev);
            char buf[160] = "";
            if (e)
                ERR_error_string_n(e, buf, sizeof(buf));
            CRGW_LOG(CRGW_LOG_INFO, c->id, 0, "tls handshake with %s failed%s%s", c->addr,
                     e ? ": " : "", buf);
        } else {
            CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "connection closed by %s", c->addr);
        }
        conn_free(c);
    }
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_conn *c = arg;
    if (c->n_streams > 0)
        return;
    CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "idle timeout");
    if (!c->session) {
        conn_free(c);
        return;
    }
    nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
    if (conn_send(c) != 0) {
        conn_free(c);
        return;
    }
    conn_after_io(c);
}

static void on_slow(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_conn *c = arg;
    uint64_t now = crgw_now_us();
    uint64_t next = 0;
    c->in_recv = 1; /* batch the answers, one flush below */
    for (stream *s = c->head; s;) {
        stream *n = s->next;
        if ((s->flags & (F_COMPLETE | F_ANSWERED | F_RESET)) == F_ANSWERED) {
            /* answered early, upload still going on: stop it at the deadline */
            if (s->deadline_us <= now) {
                s->flags |= F_RESET;
                nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
            } else if (!next || s->deadline_us < next) {
                next = s->deadline_us;
            }
        } else if (!(s->flags & (F_COMPLETE | F_ANSWERED))) {
            if (s->deadline_us <= now && s->req.sstream) {
                if (!(s->flags & F_RESET)) { /* no progress for request_timeout_ms */
                    CRGW_LOG(CRGW_LOG_INFO, c->id, s->id, "streaming request idle: reset");
                    s->flags |= F_RESET;
                    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_CANCEL);
                }
            } else if (s->deadline_us <= now) {
                CRGW_LOG(CRGW_LOG_INFO, c->id, s->id, "request timeout");
                reject(s, 408, "request-timeout", "Request timeout",
                       "the request was not complete within the configured time", NULL);
                /* a grace period for the answer, then the stream is reset (branch above) */
                s->deadline_us = now + (uint64_t)s->req.cfg->limits.request_timeout_ms * 1000u;
                if (!next || s->deadline_us < next)
                    next = s->deadline_us;
            } else if (!next || s->deadline_us < next) {
                next = s->deadline_us;
            }
        }
        s = n;
    }
    c->in_recv = 0;
    if (next) {
        uint64_t d = next - now;
        struct timeval tv = {(time_t)(d / 1000000u), (suseconds_t)(d % 1000000u)};
        evtimer_add(c->slow_timer, &tv);
    }
    if (conn_send(c) != 0) {
        conn_free(c);
        return;
    }
    conn_after_io(c);
}

void crgw_conn_accept(crgw_server *srv, evutil_socket_t fd, const struct sockaddr *sa, int tls)
{
    struct event_base *base = crgw_server_base(srv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    crgw_conn *c = xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->id = next_conn_id++;
    c->tls = tls;
    if (sa && sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        evutil_inet_ntop(AF_INET, &in->sin_addr, c->addr, sizeof(c->addr));
        size_t l = strlen(c->addr);
        snprintf(c->addr + l, sizeof(c->addr) - l, ":%u", ntohs(in->sin_port));
    } else if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        evutil_inet_ntop(AF_INET6, &in6->sin6_addr, c->addr, sizeof(c->addr));
    } else {
        snprintf(c->addr, sizeof(c->addr), "?");
    }
    if (tls) {
        SSL *ssl = SSL_new(crgw_server_ssl_ctx(srv));
        if (!ssl) {
            evutil_closesocket(fd);
            free(c);
            return;
        }
        c->bev = bufferevent_openssl_socket_new(base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
    } else {
        c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    }
    if (!c->bev) {
        evutil_closesocket(fd);
        free(c);
        return;
    }
    c->idle_timer = evtimer_new(base, on_idle, c);
    c->slow_timer = evtimer_new(base, on_slow, c);
    CRGW_LIST_PUSH(conns, c);
    n_conns++;
    crgw_metrics_counter_add("crgw_http_connections_total",
                             tls ? "listener=\"tls\"" : "listener=\"h2c\"", 1);
    CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "accepted %s connection from %s", tls ? "tls" : "h2c",
             c->addr);
    int ms = crgw_server_config(srv)->limits.idle_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(c->idle_timer, &tv);
    bufferevent_setcb(c->bev, readcb, writecb, eventcb, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (!tls && conn_start_session(c) != 0)
        conn_free(c);
}

static void conn_free(crgw_conn *c)
{
    CRGW_LOG(CRGW_LOG_DEBUG, c->id, 0, "connection %s freed", c->addr);
    if (c->session) {
        nghttp2_session_del(c->session); /* does not call on_stream_close */
        c->session = NULL;
    }
    crgw_guard_stop(&c->g);
    while (c->head) {
        stream *s = c->head;
        s->flags |= F_CLOSED;
        stream_unlink(s);
        if (s->req.sstream)
            crgw_sstream_closed(&s->req);
        if ((s->flags & F_DISPATCHED) && !(s->flags & F_ANSWERED)) {
            detach(s);
        } else {
            s->conn = NULL; /* not to the pool: it goes away with the connection */
            stream_release(s);
        }
    }
    while (c->pool) {
        stream *s = c->pool;
        c->pool = s->next;
        free(s);
    }
    event_free(c->idle_timer);
    event_free(c->slow_timer);
    bufferevent_free(c->bev);
    CRGW_LIST_UNLINK(conns, c);
    n_conns--;
    crgw_server *srv = c->srv;
    free(c);
    crgw_server_check_drained(srv);
}

void crgw_conn_drain_all(int final)
{
    crgw_conn *c = conns;
    while (c) {
        crgw_conn *next = c->next;
        if (!c->session) {
            if (final)
                conn_free(c); /* still in the TLS handshake */
        } else {
            if (final) {
                nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE,
                                      nghttp2_session_get_last_proc_stream_id(c->session),
                                      NGHTTP2_NO_ERROR, NULL, 0);
                c->goaway_final = 1;
            } else {
                nghttp2_submit_shutdown_notice(c->session);
            }
            if (conn_send(c) != 0)
                conn_free(c);
            else
                conn_after_io(c);
        }
        c = next;
    }
}

void crgw_conn_close_all(void)
{
    while (conns)
        conn_free(conns);
    /* requests no handler will answer any more (modules are stopped by now) */
    while (detached) {
        stream *s = detached;
        undetach(s);
        n_inflight--;
        stream_release(s);
    }
}
