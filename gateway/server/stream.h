/*
 * stream: the streaming routes of the server (crgw_stream_ops in gateway/server/http.h): body
 * chunks handed to the route as they arrive, the flow-control window given back only as the
 * route consumes, and an answer written in pieces through an nghttp2 data provider that
 * defers (NGHTTP2_ERR_DEFERRED) while the backlog is empty and is resumed by each write.
 *
 * conn.c creates a crgw_sstream when a request matches a streaming route, forwards DATA and
 * END_STREAM to it, tells it when the stream closes, and frees it with the stream. The answer
 * backlog has a high-water mark (a write past it asks the route to wait for ops->writable) so
 * that a client that reads slowly holds at most that much plus one piece.
 */
#ifndef CRGW_STREAM_H
#define CRGW_STREAM_H

#include <stddef.h>

#include "gateway/server/http.h"

#define CRGW_STREAM_HIGH_WATER (64 * 1024) /* answer backlog: a write past it says "full" */
#define CRGW_STREAM_LOW_WATER (16 * 1024)  /* ops->writable once the backlog is below it */

typedef struct crgw_sstream crgw_sstream;

/* For conn.c: the streaming state of r (r->sstream) for a route with these ops. */
crgw_sstream *crgw_sstream_new(crgw_req *r, const crgw_stream_ops *ops);
/* A DATA chunk of the request (the window is not given back here). */
void crgw_sstream_body(crgw_req *r, const char *data, size_t len);
/* END_STREAM of the request. */
void crgw_sstream_eof(crgw_req *r);
/* The stream closed or its connection went away: bytes received and not consumed go back to
 * the connection's window; a route that has not ended hears ops->closed on its own turn. */
void crgw_sstream_closed(crgw_req *r);
/* The request is answered whole (crgw_req_respond* before crgw_req_stream_begin): the bytes
 * not consumed go back to the window. */
void crgw_sstream_settle(crgw_req *r);
void crgw_sstream_free(crgw_sstream *ss);

#endif
