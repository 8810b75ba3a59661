/*
 * An nghttp2 client on a socket pair against an embedded server (crgw_server_new_embedded), for
 * the unit tests of routes over real HTTP/2 frames. Header-only (static inline functions), included
 * once per test file after <criterion/criterion.h>.
 *
 *   crgw_test_h2 c = {0};
 *   crgw_test_h2_get(base, server, "/path", extra_headers_or_NULL, &c);  c.status, c.body, ...
 *   crgw_test_h2_free(&c);
 *
 * Tests that drive a stream themselves (uploads, slow readers, resets): crgw_test_h2_open, submit
 * with crgw_test_h2_nv headers, crgw_test_h2_step in their own loop, crgw_test_h2_close.
 */
#ifndef CRGW_TEST_H2_H
#define CRGW_TEST_H2_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "gateway/core/util.h"
#include "gateway/server/conn.h"
#include "gateway/server/server.h"

#define CRGW_TEST_H2_HEADERS 24

typedef struct {
    int fd;
    nghttp2_session *ss;
    int status;
    int closed;
    char *body; /* NUL-terminated once the request is done */
    size_t len, cap;
    int nh; /* response headers but :status */
    char hname[CRGW_TEST_H2_HEADERS][64];
    char hvalue[CRGW_TEST_H2_HEADERS][512];
} crgw_test_h2;

static inline const char *crgw_test_h2_header(const crgw_test_h2 *c, const char *name)
{
    for (int i = 0; i < c->nh; i++)
        if (strcmp(c->hname[i], name) == 0)
            return c->hvalue[i];
    return NULL;
}

static inline ssize_t crgw_test_h2_send(nghttp2_session *ss, const uint8_t *data, size_t len, int flags,
                                 void *u)
{
    (void)ss;
    (void)flags;
    crgw_test_h2 *c = u;
    ssize_t n = write(c->fd, data, len);
    return n < 0 ? NGHTTP2_ERR_WOULDBLOCK : n;
}

static inline int crgw_test_h2_on_header(nghttp2_session *ss, const nghttp2_frame *f,
                                  const uint8_t *name, size_t nl, const uint8_t *value, size_t vl,
                                  uint8_t flags, void *u)
{
    (void)ss;
    (void)f;
    (void)flags;
    crgw_test_h2 *c = u;
    if (nl == 7 && memcmp(name, ":status", 7) == 0) {
        c->status = (int)strtol((const char *)value, NULL, 10); /* NUL-terminated */
    } else if (c->nh < CRGW_TEST_H2_HEADERS && nl < sizeof(c->hname[0]) &&
               vl < sizeof(c->hvalue[0])) {
        memcpy(c->hname[c->nh], name, nl);
        c->hname[c->nh][nl] = 0;
        memcpy(c->hvalue[c->nh], value, vl);
        c->hvalue[c->nh][vl] = 0;
        c->nh++;
    }
    return 0;
}

static inline void crgw_test_h2_add(crgw_test_h2 *c, const void *d, size_t len)
{
    if (c->len + len + 1 > c->cap) {
        c->cap = (c->len + len + 1) * 2;
        c->body = xrealloc(c->body, c->cap);
    }
    memcpy(c->body + c->len, d, len);
    c->len += len;
    c->body[c->len] = '\0';
}

static inline int crgw_test_h2_on_data(nghttp2_session *ss, uint8_t flags, int32_t id, const uint8_t *d,
                                size_t len, void *u)
{
    (void)ss;
    (void)flags;
    (void)id;
    crgw_test_h2_add(u, d, len);
    return 0;
}

static inline int crgw_test_h2_on_close(nghttp2_session *ss, int32_t id, uint32_t code, void *u)
{
    (void)ss;
    (void)id;
    (void)code;
    ((crgw_test_h2 *)u)->closed = 1;
    return 0;
}

/* A new connection to s (c's previous body freed): the client session, SETTINGS queued. */
static inline void crgw_test_h2_open(crgw_server *s, crgw_test_h2 *c)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    crgw_conn_accept(s, sv[0], NULL, 0);
    free(c->body);
    memset(c, 0, sizeof(*c));
    c->fd = sv[1];
    crgw_test_h2_add(c, "", 0); /* body never NULL */
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, crgw_test_h2_send);
    nghttp2_session_callbacks_set_on_header_callback(cb, crgw_test_h2_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, crgw_test_h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, crgw_test_h2_on_close);
    nghttp2_session_client_new(&c->ss, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(c->ss, NGHTTP2_FLAG_NONE, NULL, 0);
}

/* The request headers of method and path, then extra (name, value, ..., NULL); returns the count. */
static inline size_t crgw_test_h2_nv(nghttp2_nv *nv, size_t max, const char *method, const char *path,
                              const char *const *extra)
{
    const char *pairs[] = {":method", method, ":scheme", "http", ":authority", "localhost",
                           ":path", path};
    size_t n = 0;
    for (size_t i = 0; i < 8 && n < max; i += 2, n++)
        nv[n] = (nghttp2_nv){(uint8_t *)(uintptr_t)pairs[i], (uint8_t *)(uintptr_t)pairs[i + 1],
                             strlen(pairs[i]), strlen(pairs[i + 1]), NGHTTP2_NV_FLAG_NONE};
    for (size_t i = 0; extra && extra[i] && n < max; i += 2, n++)
        nv[n] = (nghttp2_nv){(uint8_t *)(uintptr_t)extra[i], (uint8_t *)(uintptr_t)extra[i + 1],
                             strlen(extra[i]), strlen(extra[i + 1]), NGHTTP2_NV_FLAG_NONE};
    return n;
}

/*
 * One turn: the client sends what it can, the server's loop runs once, at most read_max bytes
 * are read back. 0 when nothing came (the caller may sleep a little).
 */
static inline int crgw_test_h2_step(struct event_base *base, crgw_test_h2 *c, size_t read_max)
{
    nghttp2_session_send(c->ss);
    event_base_loop(base, EVLOOP_NONBLOCK);
    uint8_t buf[65536];
    ssize_t n = read(c->fd, buf, read_max < sizeof(buf) ? read_max : sizeof(buf));
    if (n <= 0)
        return 0;
    cr_assert_geq(nghttp2_session_mem_recv(c->ss, buf, (size_t)n), 0);
    return 1;
}

static inline void crgw_test_h2_close(crgw_test_h2 *c)
{
    nghttp2_session_del(c->ss);
    c->ss = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static inline void crgw_test_h2_free(crgw_test_h2 *c)
{
    free(c->body);
    memset(c, 0, sizeof(*c));
}

/* GET path (extra request headers: name, value, ..., NULL) on a new connection; fills c. */
static inline void crgw_test_h2_get(struct event_base *base, crgw_server *s, const char *path,
                             const char *const *extra, crgw_test_h2 *c)
{
    crgw_test_h2_open(s, c);
    nghttp2_nv hdrs[4 + CRGW_TEST_H2_HEADERS];
    size_t n = crgw_test_h2_nv(hdrs, sizeof(hdrs) / sizeof(hdrs[0]), "GET", path, extra);
    cr_assert_gt(nghttp2_submit_request(c->ss, NULL, hdrs, n, NULL, NULL), 0);
    for (int i = 0; i < 4000 && !c->closed; i++)
        if (!crgw_test_h2_step(base, c, 16384))
            usleep(200);
    crgw_test_h2_close(c);
    cr_assert(c->closed, "no answer to GET %s", path);
}

#endif
