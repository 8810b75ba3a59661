/*
 * stream: streaming routes (gateway/server/stream.h, the contract in http.h).
 *
 * Flow control: conn.c runs nghttp2 without automatic WINDOW_UPDATE and, for a streaming
 * request, does not consume DATA itself; crgw_req_consume does, as the route has processed the
 * bytes. What the route has not consumed when it ends (or when the client goes) is given back
 * at the connection level, so that the connection's window never leaks.
 *
 * Answer: the data provider reads from the backlog (an evbuffer); while it is empty and the
 * route has not ended it returns NGHTTP2_ERR_DEFERRED, and each write resumes it
 * (nghttp2_session_resume_data). Notifications to the route (closed, writable) go through one
 * event activated on the loop, never from inside a call of the route into the server (a write
 * whose flush fails frees the connection: the route must not be re-entered then).
 */
#include "gateway/server/stream.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/server.h"

struct crgw_sstream {
    crgw_req *r;
    const crgw_stream_ops *ops;
    void *ctx;
    int accepted;
    int begun;
    int ended;         /* crgw_req_stream_end called: EOF after the backlog */
    int gone;          /* the client went away */
    int closed_told;   /* ops->closed called (or due) */
    int want_writable; /* a write reported "full" */
    int eof;           /* the request's END_STREAM arrived */
    int end_pending;   /* ended before the body's end: END_STREAM waits for it (see below) */
    int end_status;
    size_t dropped;  /* body bytes discarded after the end */
    size_t received; /* request body bytes received */
    size_t consumed; /* of them given back to the window */
    size_t sent;     /* answer bytes handed to nghttp2 */
    struct evbuffer *out;
    struct event *wake;
    nghttp2_data_provider prd;
};

static void finish(crgw_sstream *ss);

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_sstream *ss = arg;
    if (ss->end_pending && ss->gone) {
        ss->end_pending = 0;
        finish(ss);
        return;
    }
    if (ss->ended || !ss->accepted)
        return;
    if (ss->gone) {
        if (!ss->closed_told) {
            ss->closed_told = 1;
            ss->ops->closed(ss->r, ss->ctx); /* may end (and free) the request */
        }
        return;
    }
    if (ss->want_writable && evbuffer_get_length(ss->out) < CRGW_STREAM_LOW_WATER) {
        ss->want_writable = 0;
        if (ss->ops->writable)
            ss->ops->writable(ss->r, ss->ctx);
    }
}

static ssize_t out_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                        uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    crgw_sstream *ss = source->ptr;
    size_t have = evbuffer_get_length(ss->out);
    if (have == 0 && !ss->ended)
        return NGHTTP2_ERR_DEFERRED;
    size_t n = have < length ? have : length;
    if (n)
        evbuffer_remove(ss->out, buf, n);
    ss->sent += n;
    if (ss->ended && evbuffer_get_length(ss->out) == 0)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    if (ss->want_writable && evbuffer_get_length(ss->out) < CRGW_STREAM_LOW_WATER)
        event_active(ss->wake, 0, 0);
    return (ssize_t)n;
}

crgw_sstream *crgw_sstream_new(crgw_req *r, const crgw_stream_ops *ops)
{
    crgw_sstream *ss = xcalloc(1, sizeof(*ss));
    ss->r = r;
    ss->ops = ops;
    ss->out = evbuffer_new();
    ss->wake = event_new(crgw_server_base(r->server), -1, 0, on_wake, ss);
    crgw_assert(ss->out && ss->wake);
    ss->prd.source.ptr = ss;
    ss->prd.read_callback = out_read;
    return ss;
}

void crgw_sstream_free(crgw_sstream *ss)
{
    if (!ss)
        return;
    event_free(ss->wake);
    evbuffer_free(ss->out);
    free(ss);
}

void crgw_sstream_body(crgw_req *r, const char *data, size_t len)
{
    crgw_sstream *ss = r->sstream;
    ss->received += len;
    if (ss->end_pending) { /* the route is done: discard, up to another max_body, then reset */
        nghttp2_session *h = crgw_conn_session(r);
        ss->consumed += len;
        ss->dropped += len;
        if (h)
            nghttp2_session_consume(h, r->stream_id, len);
        if (h && ss->dropped > r->cfg->limits.max_body && !ss->gone)
            nghttp2_submit_rst_stream(h, NGHTTP2_FLAG_NONE, r->stream_id, NGHTTP2_NO_ERROR);
        return;
    }
    if (ss->accepted && !ss->ended)
        ss->ops->body(r, ss->ctx, data, len);
}

void crgw_sstream_eof(crgw_req *r)
{
    crgw_sstream *ss = r->sstream;
    ss->eof = 1;
    if (ss->end_pending) {
        ss->end_pending = 0;
        finish(ss);
        return;
    }
    if (ss->accepted && !ss->ended)
        ss->ops->end(r, ss->ctx);
}

/* Gives back what was received and not consumed: to the connection's window, and to the
 * stream's while it is open (so that an upload the route no longer reads can go on, to be
 * discarded by conn.c, instead of waiting on a closed window). */
static void give_back_rest(crgw_sstream *ss)
{
    nghttp2_session *h = crgw_conn_session(ss->r);
    if (h && ss->received > ss->consumed) {
        if (ss->gone || crgw_req_cancelled(ss->r))
            nghttp2_session_consume_connection(h, ss->received - ss->consumed);
        else
            nghttp2_session_consume(h, ss->r->stream_id, ss->received - ss->consumed);
    }
    CRGW_LOG(CRGW_LOG_DEBUG, ss->r->conn_id, ss->r->stream_id,
             "stream: %zu body bytes received, %zu given back by the route", ss->received,
             ss->consumed);
    ss->consumed = ss->received;
}

void crgw_sstream_settle(crgw_req *r)
{
    crgw_sstream *ss = r->sstream;
    give_back_rest(ss);
    ss->ended = 1; /* answered whole: the route is done with the stream */
}

void crgw_sstream_closed(crgw_req *r)
{
    crgw_sstream *ss = r->sstream;
    give_back_rest(ss);
    if (ss->gone)
        return;
    ss->gone = 1;
    if ((ss->accepted && !ss->ended) || ss->end_pending)
        event_active(ss->wake, 0, 0);
}

/* ---- the route's side (http.h) ---- */

void crgw_req_stream_accept(crgw_req *r, void *ctx)
{
    crgw_sstream *ss = r->sstream;
    crgw_assert(ss && !ss->accepted);
    ss->accepted = 1;
    ss->ctx = ctx;
    if (ss->gone)
        event_active(ss->wake, 0, 0);
}

void crgw_req_consume(crgw_req *r, size_t n)
{
    crgw_sstream *ss = r->sstream;
    if (n > ss->received - ss->consumed)
        n = ss->received - ss->consumed;
    if (n == 0)
        return;
    ss->consumed += n;
    nghttp2_session *h = crgw_conn_session(r);
    if (!h || ss->gone)
        return;
    nghttp2_session_consume(h, r->stream_id, n);
    crgw_conn_kick(r);
}

int crgw_req_stream_begin(crgw_req *r, int status, const char *content_type,
                          const char *const *headers)
{
    crgw_sstream *ss = r->sstream;
    crgw_assert(ss && !ss->begun && !ss->ended);
    ss->begun = 1;
    if (ss->gone)
        return -1;
    return crgw_conn_stream_submit(r, status, content_type, headers, &ss->prd);
}

int crgw_req_stream_begun(const crgw_req *r)
{
    return r->sstream && r->sstream->begun;
}

int crgw_req_stream_write(crgw_req *r, const char *data, size_t len)
{
    crgw_sstream *ss = r->sstream;
    crgw_assert(ss->begun && !ss->ended);
    if (ss->gone)
        return -1;
    evbuffer_add(ss->out, data, len);
    nghttp2_session *h = crgw_conn_session(r);
    if (h) {
        nghttp2_session_resume_data(h, r->stream_id);
        crgw_conn_kick(r); /* may free the connection: then ss->gone is set */
    }
    if (ss->gone)
        return -1;
    if (evbuffer_get_length(ss->out) >= CRGW_STREAM_HIGH_WATER) {
        ss->want_writable = 1;
        return 1;
    }
    return 0;
}

size_t crgw_req_stream_backlog(const crgw_req *r)
{
    return r->sstream ? evbuffer_get_length(r->sstream->out) : 0;
}

void crgw_req_stream_end(crgw_req *r)
{
    crgw_sstream *ss = r->sstream;
    crgw_assert(ss && !ss->ended);
    give_back_rest(ss);
    ss->ended = 1;
    int status = ss->begun ? 0 : ss->gone ? 499 : 500; /* 499: nobody to answer */
    if (!ss->begun && !ss->gone) { /* ended without an answer: a bug of the route */
        CRGW_LOG(CRGW_LOG_WARN, r->conn_id, r->stream_id, "streaming route ended unanswered");
        crgw_conn_stream_submit(r, 500, NULL, NULL, &ss->prd);
    }
    ss->end_status = status;
    if (!ss->eof && !ss->gone) {
        /*
         * The body has not all arrived: END_STREAM waits for the client's (what is left of the
         * upload is discarded as it comes), because nghttp2 follows an answer that ends first
         * with RST_STREAM(NO_ERROR), after which curl 7.88 waits on its upload until it times
         * out instead of finishing. The idle deadline (request_timeout_ms) still applies.
         */
        ss->end_pending = 1;
        return;
    }
    finish(ss);
}

/* END_STREAM after the backlog, and the end of the request (may free r and ss). */
static void finish(crgw_sstream *ss)
{
    crgw_req *r = ss->r;
    nghttp2_session *h = crgw_conn_session(r);
    if (h && !ss->gone)
        nghttp2_session_resume_data(h, r->stream_id);
    /* last: may free the request and ss (the stream is released once sent or at once) */
    crgw_conn_stream_done(r, ss->end_status, ss->sent + evbuffer_get_length(ss->out));
}
