/*
 * h2: pieces both nghttp2 users of the server share (conn.c answers, peer_client.c requests).
 *
 * crgw_h2_span is a body that nghttp2 sends from memory: point a data provider's source.ptr
 * at the span and its read_callback at crgw_h2_span_read. The bytes stay the owner's; they
 * must live until the stream is closed.
 */
#ifndef CRGW_H2_H
#define CRGW_H2_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nghttp2/nghttp2.h>

typedef struct crgw_h2_span {
    const char *data;
    size_t len; /* bytes in data */
    size_t off; /* bytes handed to nghttp2 so far */
} crgw_h2_span;

/* nghttp2_data_source_read_callback over the crgw_h2_span at source->ptr. */
ssize_t crgw_h2_span_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                          uint32_t *data_flags, nghttp2_data_source *source, void *user_data);

/* The Date header value, formatted once per second (static storage). */
const char *crgw_h2_date(size_t *len);
/* ":status" text of status; buf (8 bytes) is used for the uncommon ones. */
const char *crgw_h2_status(int status, char *buf);

#endif
