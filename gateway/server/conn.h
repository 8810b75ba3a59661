/*
 * conn: one client connection: its bufferevent (socket or OpenSSL), its nghttp2 server session
 * and its streams (request, arena, bounded body, response). Used by server.c (accept, drain)
 * and http.c (answers).
 *
 * Process-wide list of connections (one server per process). A stream is freed in one place:
 * when nghttp2 closed it and it has been answered; a stream closed before its handler answered
 * is detached (conn = NULL) and freed by the answer (STYLE.md rules 7 and 8).
 *
 * Identity: over TLS, the verified client certificate's SAN URI mapped by the configuration
 * (crgw_tls_identity). On the loopback h2c listener the caller is "h2c:loopback" with every
 * local role (verifier, repair_desk, platform, operator; not peer), and three request headers,
 * honoured on h2c only and ignored over TLS, let tests and developers simulate a caller:
 *   x-crgw-role: verifier[,operator...]   exactly these roles ("peer" allowed: with
 *                                         x-crgw-client urn:crgw:node:<code>, peer_node is set)
 *   x-crgw-client: <identity>             the client identity (access log, handlers)
 *   x-crgw-test-delay-ms: N               hold the complete request N ms (max 10000) before
 *                                         its handler runs (drain tests)
 *
 * Protections: request body bounded by limits.max_body (413, declared content-length checked
 * at the headers, streamed bodies while they arrive), header list by limits.max_header_list
 * (431), a request must be complete within limits.request_timeout_ms (408), a connection
 * without streams is closed after limits.idle_timeout_ms, SETTINGS_MAX_CONCURRENT_STREAMS =
 * limits.max_streams, nghttp2's stream-reset rate limit and CONTINUATION limit; body budgets,
 * header decoding budget, frame rates, send timeout and GOAWAY before close (conn_guard.h).
 */
#ifndef CRGW_CONN_H
#define CRGW_CONN_H

#include <stddef.h>

#include <event2/util.h>
#include <nghttp2/nghttp2.h>

#include "gateway/server/http.h"
#include "gateway/server/server.h"

struct sockaddr;

/* Takes ownership of fd. tls: start a TLS handshake with crgw_server_ssl_ctx(s); else h2c. */
void crgw_conn_accept(crgw_server *s, evutil_socket_t fd, const struct sockaddr *sa, int tls);
/*
 * Drain step for every connection: final == 0 sends the shutdown notice (GOAWAY with the
 * maximum stream id), final == 1 the GOAWAY with the last stream processed.
 */
void crgw_conn_drain_all(int final);
/* Closes every connection now (exit); requests in flight are detached. */
void crgw_conn_close_all(void);
size_t crgw_conn_count(void);
size_t crgw_conn_open_streams(void);
/* Requests dispatched to a handler and not answered yet (detached ones included). */
size_t crgw_conn_inflight(void);
/* Releases the process-wide nghttp2 callbacks and options (exit). */
void crgw_conn_cleanup(void);

/* For gateway/server/http.c. */
void crgw_conn_respond(crgw_req *r, int status, const char *content_type, const char *body,
                       size_t len, const char *const *headers);
int crgw_conn_cancelled(const crgw_req *r);
/* The problem answer of crgw_req_problem with extra headers (gateway/server/http.c; e.g. Allow). */
void crgw_http_problem_ex(crgw_req *r, int status, const char *type, const char *title,
                          json_t *extra, const char *const *headers, const char *detail);
/* For gateway/server/stream.c (streaming routes): the session of r's connection (NULL when it
 * is gone); a flush of what was submitted (from outside the receive path; refreshes the
 * stream's idle deadline); the answer's headers with a data provider; the end of the answer
 * (status 0: the one submitted), after which r may be freed. */
nghttp2_session *crgw_conn_session(crgw_req *r);
void crgw_conn_kick(crgw_req *r);
int crgw_conn_stream_submit(crgw_req *r, int status, const char *content_type,
                            const char *const *headers, const nghttp2_data_provider *prd);
void crgw_conn_stream_done(crgw_req *r, int status, size_t bytes);
/* Request-lifetime storage (the stream's arena), 8-byte aligned. */
void *crgw_conn_alloc(crgw_req *r, size_t n);

#endif
