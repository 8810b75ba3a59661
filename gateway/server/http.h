/*
 * http: the request/handler contract between the HTTP/2 server and the modules that answer
 * requests (translate, verify, cache, repair, federation, operators).
 *
 * A handler is called once the request is complete (headers and bounded body). It answers
 * exactly once with crgw_req_respond*(), either before returning or later from an asynchronous
 * callback (Redis, a coalesced verification, a peer). A request stays valid until it has been
 * answered, even if the client resets the stream meanwhile: then the answer is discarded
 * (crgw_req_cancelled() tells a long operation it may stop early). The server frees it.
 */
#ifndef CRGW_HTTP_H
#define CRGW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct crgw_server;
struct crgw_config;

#define CRGW_MAX_PATH_PARAMS 4

typedef struct crgw_req {
    const char *method; /* "GET", "POST", ... */
    const char *path;   /* decoded path without the query, e.g. /v1/reports/verify */
    const char *query;  /* raw query string without '?', "" when none */
    const char *body;   /* request body, NUL-terminated (not counted), may be "" */
    size_t body_len;
    const char *content_type; /* "" when absent */

    unsigned role;         /* CRGW_ROLE_* of the caller (config.h); all roles on h2c */
    const char *client;    /* caller identity: certificate SAN URI, or "h2c:loopback" */
    const char *peer_node; /* node code when role is CRGW_ROLE_PEER, else NULL */

    const char *params[CRGW_MAX_PATH_PARAMS]; /* values of {..} segments of the route */
    size_t n_params;

    struct crgw_config *cfg; /* configuration in force when the request arrived (ref held) */
    struct crgw_server *server;
    uint64_t conn_id;
    int32_t stream_id;
    uint64_t started_us;
    void *impl;                   /* server-private */
    struct crgw_sstream *sstream; /* server-private: a streaming route's stream (stream.c) */
} crgw_req;

typedef void (*crgw_handler)(crgw_req *r);

/*
 * Answers the request. body is copied. Extra headers: pairs name, value, NULL-terminated,
 * may be NULL. Calling it twice is a bug (asserted).
 */
void crgw_req_respond(crgw_req *r, int status, const char *content_type, const char *body,
                      size_t len, const char *const *headers);
/* Answers with the JSON serialisation of body (reference stolen), application/json. */
void crgw_req_respond_json(crgw_req *r, int status, json_t *body);
/*
 * RFC 9457 problem: type is the slug appended to https://crgw.example/problems/ (stable), e.g.
 * "body-too-large". extra (stolen, may be NULL) is merged into the object.
 */
void crgw_req_problem(crgw_req *r, int status, const char *type, const char *title, json_t *extra,
                      const char *detail_fmt, ...) __attribute__((format(printf, 6, 7)));
/*
 * The one builder of RFC 9457 problem objects: {"type": https://crgw.example/problems/<type>,
 * "title", "status", "detail"} (new reference). crgw_req_problem answers with one (adding
 * "instance" and extra); answers assembled elsewhere (the verdict cache) use it too.
 */
json_t *crgw_problem_new(int status, const char *type, const char *title, const char *detail);
/* 1 once the client has gone (stream closed before the answer). */
int crgw_req_cancelled(const crgw_req *r);
/* Value of a query parameter (percent-decoded, request-lifetime storage), or NULL. */
const char *crgw_req_query(crgw_req *r, const char *name);
/*
 * 1 when the raw query string names a parameter (percent-decoded) more than once, with the first
 * such name as sent (printable, truncated to cap) in name; else 0. conn.c answers 400
 * repeated-query-parameter before any route runs.
 */
int crgw_query_repeated(const char *query, char *name, size_t cap);
/*
 * Value of the first request header field called name (lower case, as HTTP/2 sends names;
 * request-lifetime storage; "" when sent empty), or NULL when the request has none.
 */
const char *crgw_req_header(crgw_req *r, const char *name);

/* Route table entry (gateway/server/routes.c holds the one static table). */
typedef struct {
    const char *method;
    const char *pattern; /* "/v1/repair/applications/{}": {} matches one segment */
    unsigned roles;      /* allowed CRGW_ROLE_* bits; 0 = any authenticated caller */
    crgw_handler handler;
    const char *name; /* route label for metrics and access logs */
} crgw_route;

/*
 * Streaming routes (gateway/server/stream.c; a module declares them in stream_routes, module.h).
 * The handler runs as soon as the request headers
 * are checked (route, roles; r->body is empty, limits.max_body does not apply). It either
 * answers whole at once (crgw_req_problem: a 4xx before reading anything) or calls
 * crgw_req_stream_accept with its context; then the body arrives in chunks through ops->body
 * as the client sends it. The flow-control window is given back only as the route calls
 * crgw_req_consume (bytes it has processed or copied into bounded storage): memory stays
 * bounded whatever the body size, and a route that stops consuming makes the client wait.
 * The route answers with crgw_req_stream_begin (status and headers, no content-length), then
 * crgw_req_stream_write (copied into the answer backlog, sent as the client's window allows)
 * and ends with crgw_req_stream_end; it may still answer whole (crgw_req_respond*) as long as
 * it has not begun. Callbacks run on the loop, never inside a route's own call into the server
 * (closed and writable are deferred to their own loop turn). A streaming request whose upload
 * makes no progress (no DATA, no consume, no write) for limits.request_timeout_ms is reset.
 */
typedef struct crgw_stream_ops {
    /* A body chunk (valid during the call only). */
    void (*body)(crgw_req *r, void *ctx, const char *data, size_t len);
    /* END_STREAM: the body is complete. */
    void (*end)(crgw_req *r, void *ctx);
    /* The answer backlog fell below the low-water mark after a write reported it full. */
    void (*writable)(crgw_req *r, void *ctx);
    /* The client went away (reset, connection closed, timeout) before the end: the route stops
     * and calls crgw_req_stream_end (which frees the request) once nothing of it is pending. */
    void (*closed)(crgw_req *r, void *ctx);
} crgw_stream_ops;

/* A streaming route: the row of a route and the ops that take its body and write its answer. */
typedef struct {
    crgw_route route;
    const crgw_stream_ops *ops;
} crgw_stream_route;

/* The streaming handler takes the request: body chunks go to its ops with ctx. */
void crgw_req_stream_accept(crgw_req *r, void *ctx);
/* Gives n body bytes back to the client's flow-control window (stream and connection). */
void crgw_req_consume(crgw_req *r, size_t n);
/* Submits the answer's status and headers (pairs, NULL-terminated, may be NULL). 0 or -1 (the
 * client is gone: the route should finish). */
int crgw_req_stream_begin(crgw_req *r, int status, const char *content_type,
                          const char *const *headers);
int crgw_req_stream_begun(const crgw_req *r);
/* Appends answer bytes (copied). Returns 0, or 1 when the backlog is at its high-water mark:
 * produce nothing more until ops->writable. -1 when the client is gone. */
int crgw_req_stream_write(crgw_req *r, const char *data, size_t len);
/* Answer bytes written and not yet handed to HTTP/2. */
size_t crgw_req_stream_backlog(const crgw_req *r);
/* Ends the answer (after what was written) and the request: access log, metrics, and the
 * request is freed once sent (at once when the client is gone). r is invalid afterwards. */
void crgw_req_stream_end(crgw_req *r);

#endif
