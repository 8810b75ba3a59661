/*
 * conn_guard: what one HTTP/2 client may make the server hold, for conn.c.
 *
 * Body memory: every request body byte a connection buffers is counted against
 * limits.max_buffered_per_conn (the connection) and limits.max_buffered_total (every connection
 * of every worker process: one counter in memory shared before the fork). nghttp2's automatic
 * WINDOW_UPDATE is off; a DATA chunk's window is returned (nghttp2_session_consume) only while
 * both budgets hold, otherwise it is owed and the sender waits; when a budget frees (a request
 * finishes), the waiting connections get their windows back. A request that declares its
 * content-length reserves it at the headers; one whose length exceeds what remains of either
 * budget, or a new upload on a connection already waiting for budget, is refused (503).
 *
 * Header decoding: decoded header bytes (name + value + 32 per field, as the header list size)
 * per connection are bounded by limits.max_header_bytes_per_s (token bucket, a quarter second
 * of burst); past it the connection is closed with GOAWAY ENHANCE_YOUR_CALM. Peer RST_STREAM
 * frames (rapid reset: 200 burst, 30/s, before nghttp2's own limit) and SETTINGS and PING
 * frames (100 burst, 20/s) are rate limited the same way.
 *
 * Send timeout: a stream whose answer the peer keeps at a zero flow-control window (stream or
 * connection) longer than limits.send_timeout_ms is reset (CANCEL), which frees it.
 *
 * Closing for a protocol limit: the GOAWAY (with the limit's code) is written after the frames
 * already produced, the output flushed (within 2 s), then the connection lingers (input read and
 * discarded, plain sockets half-closed) until the peer closes, or sends nothing for 250 ms, or
 * 2 s have passed, then it is freed.
 */
#ifndef CRGW_CONN_GUARD_H
#define CRGW_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"

struct bufferevent;

/* Per-stream state, zero-initialised (part of the stream). */
typedef struct crgw_guard_stream {
    struct crgw_guard_stream *prev, *next; /* in its connection's owing or sending list */
    struct crgw_guard *g;                  /* NULL once the stream left its connection */
    int32_t id;
    unsigned char list;  /* which list: 0 none, 1 owing, 2 sending */
    size_t reserved;     /* declared content-length, reserved at the headers */
    size_t received;     /* body bytes received and kept */
    size_t charged;      /* counted against the budgets (reserved + received past it) */
    size_t owed;         /* received bytes whose window is not returned yet */
    uint64_t stalled_us; /* sending: since when the peer's window is zero, 0 when open */
} crgw_guard_stream;

typedef struct crgw_guard_ops {
    int (*flush)(void *owner);    /* conn_send + close on failure; returns -1 when it freed */
    void (*release)(void *owner); /* frees the connection */
} crgw_guard_ops;

typedef struct crgw_guard {
    void *owner;
    const crgw_guard_ops *ops;
    nghttp2_session *session;
    struct bufferevent *bev;
    uint64_t conn_id;
    int tls;
    size_t per_conn, total, hdr_rate; /* limits copied at the start */
    int send_timeout_ms;
    size_t used; /* charged by this connection's streams */
    crgw_guard_stream *owing, *sending;
    double hdr_tokens, rst_tokens, ctl_tokens;
    uint64_t hdr_at_us, rst_at_us, ctl_at_us;
    uint32_t goaway_code; /* the code of the limit a callback hit (0: none) */
    int closing;          /* GOAWAY written: nothing more goes through nghttp2 */
    int lingering;        /* output flushed: waiting for the peer's close */
    uint64_t linger_at_us, input_at_us;
    int waiting; /* in the process's list of connections owed a window */
    struct event *linger;
    struct crgw_guard *prev, *next;   /* the process's guards */
    struct crgw_guard *wprev, *wnext; /* the process's waiting guards */
} crgw_guard;

/* Before the workers fork: the total budget's counters (one per worker) in shared memory. */
void crgw_guard_global_init(int workers);
/* In worker i after the fork: the counter it adds to. */
void crgw_guard_worker(int i);
/* In the parent: worker i ended, what it held is gone with it. */
void crgw_guard_worker_gone(int i);
/* Body bytes held by every connection of every worker (metrics, tests). */
long long crgw_guard_total_used(void);

void crgw_guard_start(crgw_guard *g, void *owner, const crgw_guard_ops *ops,
                      struct event_base *base, struct bufferevent *bev, nghttp2_session *session,
                      uint64_t conn_id, int tls, const crgw_limits *lim);
/* Connection freed: unlinks it from the process lists, frees its timer. */
void crgw_guard_stop(crgw_guard *g);

/*
 * Request headers done for a stream that may carry a body: content_length -1 when absent.
 * Returns 0 (admitted; the declared length is reserved) or -1 (answer 503: over the budget).
 */
int crgw_guard_admit(crgw_guard *g, crgw_guard_stream *gs, int32_t id, long long content_length,
                     int has_body, crgw_buf *body);
/*
 * A DATA chunk of len bytes; held: the memory the stream's body holds now (its capacity), 0
 * when the chunk was discarded. Returns its window now or owes it.
 */
void crgw_guard_data(crgw_guard *g, crgw_guard_stream *gs, int32_t id, size_t len, size_t held);
/* The stream's answer was submitted (send timeout watch). */
void crgw_guard_sending(crgw_guard *g, crgw_guard_stream *gs, int32_t id);
/* The stream left its connection (closed, or the connection freed). */
void crgw_guard_stream_leave(crgw_guard_stream *gs);
/* The stream's body is freed: its bytes go back to the total budget. */
void crgw_guard_stream_free(crgw_guard_stream *gs);

/* A decoded header field; -1 when over the budget (the callback fails, then guard_fatal). */
int crgw_guard_header(crgw_guard *g, size_t namelen, size_t valuelen);
/* A frame from the peer: RST_STREAM, SETTINGS and PING rates; -1 when over one. */
int crgw_guard_frame(crgw_guard *g, const nghttp2_frame *frame);

/*
 * nghttp2_session_mem_recv failed with rv: writes the GOAWAY (the code a callback set, or the
 * one that matches rv) and starts closing.
 */
void crgw_guard_fatal(crgw_guard *g, int rv);
/* The session is finished (nghttp2 wants neither read nor write, output flushed): linger. */
void crgw_guard_linger(crgw_guard *g);
/* Read callback while closing: discards the input. */
void crgw_guard_discard(crgw_guard *g);
/* Write callback while closing: the output is flushed, linger. */
void crgw_guard_flushed(crgw_guard *g);

#endif
