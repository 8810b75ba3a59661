/*
 * Fuzz target: the federation receive path (POST /federation/v1/repair/events and
 * /applications) of node 120000, through the real server: an embedded crgw server (no Redis:
 * a message that passes every check ends in 503 store-unavailable) and an nghttp2 client on a
 * socket pair sending one request per input as a peer (h2c test identity: x-crgw-role peer,
 * x-crgw-client the node's URI).
 *
 * Input: byte 0 picks the route (bit 0), the sending node (bits 1-2: 130100, 330100, 110000,
 * or 120000 itself), and whether the rest is signed (bit 3 clear: the rest is the payload JSON,
 * signed with the sender's federation key, as a peer would send it; set: the rest is sent as
 * the body unchanged, a forged or broken JWS). The seed corpus holds valid events and
 * applications, so that mutation reaches every field check behind the signature.
 *
 * Findings: crashes, sanitizer reports, leaks, and an answer other than 200/202 (accepted),
 * 400, 403, 422 (refused, with a problem body that names a detail) or 503 (passed, no store).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "gateway/core/log.h"
#include "gateway/repair/federation.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/server.h"
#include "tests/unit/test_modules.h"

#ifndef CRGW_SRCDIR
#define CRGW_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const senders[] = {"130100", "330100", "110000", "120000"};
static struct event_base *base;
static crgw_server *srv;
static crgw_federation *signer[4];

static crgw_config *load(const char *code)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/test/node-%s.yaml", CRGW_SRCDIR, code);
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    if (crgw_config_load(path, crgw_test_modules, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        abort();
    }
    crgw_errs_cleanup(&errs);
    return cfg;
}

static void init(void)
{
    crgw_log_set_level("error");
    for (size_t i = 0; i < 4; i++) {
        crgw_config *c = load(senders[i]);
        signer[i] = crgw_federation_new(c);
        if (!signer[i])
            abort();
        crgw_config_unref(c);
    }
    crgw_config *cfg = load("120000");
    base = event_base_new();
    srv = crgw_server_new_embedded(base, cfg, "unix:/nonexistent/crgw-fuzz.sock");
    if (!srv)
        abort();
    crgw_config_unref(cfg);
}

/* ---- the client side ---- */

typedef struct {
    int fd;
    const uint8_t *body;
    size_t len, off;
    int status;
    int closed;
    char resp[4096];
    size_t rlen;
} client;

static ssize_t send_cb(nghttp2_session *s, const uint8_t *d, size_t n, int fl, void *ud)
{
    (void)s;
    (void)fl;
    client *c = ud;
    ssize_t w = write(c->fd, d, n);
    if (w < 0)
        return NGHTTP2_ERR_WOULDBLOCK;
    return w;
}

static int header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *ud)
{
    (void)s;
    (void)f;
    (void)flags;
    client *c = ud;
    if (nl == 7 && memcmp(name, ":status", 7) == 0 && vl == 3)
        c->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
    return 0;
}

static int data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *d, size_t n,
                   void *ud)
{
    (void)s;
    (void)flags;
    (void)id;
    client *c = ud;
    size_t room = sizeof(c->resp) - 1 - c->rlen;
    if (n > room)
        n = room;
    memcpy(c->resp + c->rlen, d, n);
    c->rlen += n;
    c->resp[c->rlen] = '\0';
    return 0;
}

static int close_cb(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void)s;
    (void)id;
    (void)err;
    ((client *)ud)->closed = 1;
    return 0;
}

static ssize_t body_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                       nghttp2_data_source *src, void *ud)
{
    (void)s;
    (void)id;
    (void)src;
    client *c = ud;
    size_t n = c->len - c->off;
    if (n > length)
        n = length;
    memcpy(buf, c->body + c->off, n);
    c->off += n;
    if (c->off == c->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Sends one request and runs both sides until its stream closes; returns the status (0: none). */
static int exchange(const char *path, const char *node, const uint8_t *body, size_t len, client *c)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    crgw_conn_accept(srv, sv[0], NULL, 0);
    c->fd = sv[1];
    c->body = body;
    c->len = len;
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
    nghttp2_session *sess;
    nghttp2_session_client_new(&sess, cb, c);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(sess, NGHTTP2_FLAG_NONE, NULL, 0);
    char uri[64], clen[24];
    snprintf(uri, sizeof(uri), "urn:crgw:node:%s", node);
    snprintf(clen, sizeof(clen), "%zu", len);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
    nghttp2_nv h[] = {NV(":method", "POST"),
                      NV(":scheme", "http"),
                      NV(":authority", "127.0.0.1"),
                      NV(":path", path),
                      NV("content-type", "application/jose"),
                      NV("content-length", clen),
                      NV("x-crgw-role", "peer"),
                      NV("x-crgw-client", uri)};
#undef NV
    nghttp2_data_provider dp = {.read_callback = body_cb};
    if (nghttp2_submit_request(sess, NULL, h, sizeof(h) / sizeof(h[0]), &dp, NULL) < 0)
        abort();
    for (int round = 0; round < 2000 && !c->closed; round++) {
        if (nghttp2_session_send(sess) != 0)
            break;
        event_base_loop(base, EVLOOP_NONBLOCK);
        uint8_t buf[16384];
        ssize_t n;
        while ((n = read(sv[1], buf, sizeof(buf))) > 0)
            if (nghttp2_session_mem_recv(sess, buf, (size_t)n) < 0)
                break;
    }
    nghttp2_session_del(sess);
    close(sv[1]);
    crgw_conn_close_all();
    event_base_loop(base, EVLOOP_NONBLOCK);
    return c->closed ? c->status : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!base)
        init();
    if (size < 1 || size > 65536)
        return 0;
    uint8_t sel = data[0];
    const char *path =
        sel & 1 ? "/federation/v1/repair/applications" : "/federation/v1/repair/events";
    size_t who = (sel >> 1) & 3;
    char *jws = NULL;
    size_t jl = 0;
    const uint8_t *body = data + 1;
    size_t blen = size - 1;
    if (!(sel & 8)) {
        if (crgw_federation_sign(signer[who], (const char *)data + 1, size - 1, &jws, &jl) != 0)
            abort();
        body = (const uint8_t *)jws;
        blen = jl;
    }
    client c;
    memset(&c, 0, sizeof(c));
    int st = exchange(path, senders[who], body, blen, &c);
    free(jws);
    if (getenv("FUZZ_FEDERATION_VERBOSE")) /* checks what the seeds reach */
        fprintf(stderr, "fuzz_federation: %s from %s: %d %s\n", path, senders[who], st, c.resp);
    if (st == 0)
        abort(); /* no answer to a complete request */
    if (st != 200 && st != 202 && st != 400 && st != 403 && st != 422 && st != 503) {
        fprintf(stderr, "fuzz_federation: unexpected status %d: %s\n", st, c.resp);
        abort();
    }
    if (st >= 400 &&
        (strstr(c.resp, "\"detail\":\"") == NULL || strstr(c.resp, "\"detail\":\"\"") != NULL)) {
        fprintf(stderr, "fuzz_federation: refusal %d without a detail: %s\n", st, c.resp);
        abort();
    }
    if (who == 3 && st != 403) {
        fprintf(stderr, "fuzz_federation: a message of this node itself answered %d\n", st);
        abort();
    }
    return 0;
}
