/*
 * conn: one client connection: its bufferevent (socket or OpenSSL), its nghttp2 server session
 * and its streams (request, arena, bounded body, response). Used by server.c (accept, drain)
 * and http.c (answers).
 *
 * Process-wide list of connections (one server per process). A stream is freed in one place:
 * when nghttp2 closed it and it has been answered; a stream closed before its handler answered
 * is detached (conn = NULL) and freed by the answer (STYLE.md rules 7 and 8).
 */
#ifndef CRGW_CONN_H
#define CRGW_CONN_H

#include <stddef.h>

#include <event2/util.h>

#include "gateway/http.h"
#include "gateway/server.h"

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

/* For gateway/http.c. */
void crgw_conn_respond(crgw_req *r, int status, const char *content_type, const char *body,
                       size_t len, const char *const *headers);
int crgw_conn_cancelled(const crgw_req *r);
/* Request-lifetime storage (the stream's arena), 8-byte aligned. */
void *crgw_conn_alloc(crgw_req *r, size_t n);

#endif
