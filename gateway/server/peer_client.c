/*
 * peer_client: nghttp2 client sessions to peers, shaped like nghttp2 1.52
 * examples/libevent-client.c, one connection per peer.
 *
 * Re-entrancy: crgw_peers_post() only queues the request and activates the peer's flush event;
 * connecting, submitting and nghttp2_session_send() happen from that event, never from inside
 * an nghttp2 callback. A connection is torn down only from bufferevent callbacks or the flush
 * event (never inside nghttp2_session_mem_recv), and its requests are failed after being
 * detached from the peer, so a completion callback may post again safely.
 */
#include "gateway/server/peer_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/core/x509.h"
#include "gateway/server/config.h"
#include "gateway/server/h2.h"
#include "gateway/server/list.h"
#include "gateway/server/tls.h"

#define MAX_RESPONSE (64 * 1024)
#define OUTPUT_HIGH_WATER (1024 * 1024)

enum { ST_IDLE = 0, ST_CONNECTING, ST_CONNECTED };

typedef struct peer peer;

typedef struct req {
    struct req *prev, *next;
    peer *pe;
    char *path;
    char *ctype;
    char *body;        /* owned; out sends it */
    crgw_h2_span out;  /* over body */
    int32_t stream_id; /* -1 while queued */
    int status;
    crgw_buf resp;
    crgw_peer_cb cb;
    void *priv;
    struct event *timer;
} req;

/* One address of a peer node (a node may run on several hosts). */
typedef struct {
    char *url;
    char *authority;
    struct sockaddr_storage sa;
    int salen;
} peer_addr;

struct peer {
    crgw_peers *owner;
    char code[8];
    char *tls_uri;
    peer_addr *addrs;
    size_t n_addrs;
    size_t cur;    /* the address connected to or tried next */
    size_t failed; /* addresses that failed in a row since the last connection */
    int state;
    struct bufferevent *bev;
    nghttp2_session *sess;
    struct event *flush_ev;
    req *head, *tail;
    size_t n;
};

struct crgw_peers {
    struct event_base *base;
    crgw_config *cfg;
    SSL_CTX *ctx;
    int timeout_ms;
    peer *peers;
    size_t n;
};

static void req_unlink(req *r)
{
    peer *pe = r->pe;
    CRGW_LIST_REMOVE(pe->head, pe->tail, r);
    pe->n--;
}

static void req_free(req *r)
{
    if (r->timer)
        event_free(r->timer);
    crgw_buf_cleanup(&r->resp);
    free(r->path);
    free(r->ctype);
    free(r->body);
    free(r);
}

/* Unlinks, runs the callback, frees. */
static void req_complete(req *r, int status, const char *err)
{
    req_unlink(r);
    if (r->pe->sess && r->stream_id >= 0)
        nghttp2_session_set_stream_user_data(r->pe->sess, r->stream_id, NULL);
    const char *body = r->resp.data ? r->resp.data : "";
    if (r->resp.data) {
        /* NUL-terminate for the callback (buffer has room: crgw_buf keeps capacity). */
        if (crgw_buf_add(&r->resp, "", 1) == 0)
            r->resp.len--;
        body = r->resp.data;
    }
    r->cb(status, body, status ? r->resp.len : 0, err, r->priv);
    req_free(r);
}

static void schedule_flush(peer *pe)
{
    event_active(pe->flush_ev, EV_TIMEOUT, 0);
}

static void peer_teardown(peer *pe)
{
    if (pe->sess) {
        nghttp2_session_del(pe->sess);
        pe->sess = NULL;
    }
    if (pe->bev) {
        bufferevent_free(pe->bev);
        pe->bev = NULL;
    }
    pe->state = ST_IDLE;
}

/*
 * Closes the connection and fails every request (queued ones too). A node with several
 * addresses: the next connection goes to the next one, and a failed connect to one address
 * moves on to the next at once, keeping the requests queued, until every address failed once.
 */
static void peer_close(peer *pe, const char *why)
{
    int was = pe->state;
    peer_teardown(pe);
    if (pe->n_addrs > 1 && strcmp(why, "shutting down") != 0) {
        const char *from = pe->addrs[pe->cur].url;
        pe->cur = (pe->cur + 1) % pe->n_addrs;
        if (was == ST_CONNECTING && ++pe->failed < pe->n_addrs && pe->n) {
            log_info("peer %s: %s: %s; trying %s", pe->code, from, why, pe->addrs[pe->cur].url);
            schedule_flush(pe);
            return;
        }
        pe->failed = 0;
    }
    req *list = pe->head;
    size_t n = pe->n;
    pe->head = pe->tail = NULL;
    pe->n = 0;
    if (n)
        log_debug("peer %s: connection closed (%s), failing %zu request(s)", pe->code, why, n);
    else if (was == ST_CONNECTED)
        log_debug("peer %s: connection closed (%s)", pe->code, why);
    while (list) {
        req *r = list;
        list = r->next;
        r->prev = r->next = NULL;
        /* Detached: complete without touching the peer's list. */
        const char *body = "";
        r->cb(0, body, 0, why, r->priv);
        req_free(r);
    }
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *ud)
{
    (void)s;
    (void)flags;
    peer *pe = ud;
    struct evbuffer *out = bufferevent_get_output(pe->bev);
    if (evbuffer_get_length(out) > OUTPUT_HIGH_WATER)
        return NGHTTP2_ERR_WOULDBLOCK;
    if (bufferevent_write(pe->bev, data, len) != 0)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    return (ssize_t)len;
}

static int on_header_cb(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *ud)
{
    (void)flags;
    (void)ud;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_RESPONSE)
        return 0;
    req *r = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (r == NULL)
        return 0;
    if (namelen == 7 && memcmp(name, ":status", 7) == 0 && valuelen == 3) {
        int st = 0;
        for (size_t i = 0; i < 3; i++)
            st = st * 10 + (value[i] - '0');
        r->status = st;
    }
    return 0;
}

static int on_data_cb(nghttp2_session *s, uint8_t flags, int32_t stream_id, const uint8_t *data,
                      size_t len, void *ud)
{
    (void)flags;
    (void)ud;
    req *r = nghttp2_session_get_stream_user_data(s, stream_id);
    if (r != NULL)
        (void)crgw_buf_add(&r->resp, data, len); /* an oversized answer is truncated */
    return 0;
}

static int on_close_cb(nghttp2_session *s, int32_t stream_id, uint32_t error_code, void *ud)
{
    (void)ud;
    req *r = nghttp2_session_get_stream_user_data(s, stream_id);
    if (r == NULL)
        return 0;
    r->stream_id = -1;
    if (r->status == 0 || error_code != 0) {
        char why[64];
        snprintf(why, sizeof(why), "stream closed (%s)", nghttp2_http2_strerror(error_code));
        req_complete(r, 0, why);
    } else {
        req_complete(r, r->status, NULL);
    }
    return 0;
}

static void submit_queued(peer *pe)
{
    for (req *r = pe->head; r; r = r->next) {
        if (r->stream_id >= 0)
            continue;
        char clen[24];
        snprintf(clen, sizeof(clen), "%zu", r->out.len);
#define NV(n, v) {(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE}
        nghttp2_nv hdrs[] = {
            NV(":method", "POST"),
            NV(":scheme", "https"),
            NV(":authority", pe->addrs[pe->cur].authority),
            NV(":path", r->path),
            NV("content-type", r->ctype),
            NV("content-length", clen),
        };
#undef NV
        nghttp2_data_provider dp = {.source.ptr = &r->out, .read_callback = crgw_h2_span_read};
        int32_t id = nghttp2_submit_request(pe->sess, NULL, hdrs, CRGW_ARRAY_LEN(hdrs), &dp, r);
        if (id < 0) {
            /* Stream ids exhausted or similar: the connection must be renewed. */
            log_warn("peer %s: submit: %s", pe->code, nghttp2_strerror(id));
            break;
        }
        r->stream_id = id;
    }
}

static int session_flush(peer *pe)
{
    int rv = nghttp2_session_send(pe->sess);
    if (rv != 0) {
        log_warn("peer %s: session send: %s", pe->code, nghttp2_strerror(rv));
        return -1;
    }
    if (!nghttp2_session_want_read(pe->sess) && !nghttp2_session_want_write(pe->sess) &&
        evbuffer_get_length(bufferevent_get_output(pe->bev)) == 0)
        return -1;
    return 0;
}

static void readcb(struct bufferevent *bev, void *arg)
{
    peer *pe = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len = evbuffer_get_length(in);
    unsigned char *data = evbuffer_pullup(in, -1);
    ssize_t rv = nghttp2_session_mem_recv(pe->sess, data, len);
    if (rv < 0) {
        log_warn("peer %s: protocol error: %s", pe->code, nghttp2_strerror((int)rv));
        peer_close(pe, "protocol error");
        return;
    }
    evbuffer_drain(in, (size_t)rv);
    submit_queued(pe);
    if (session_flush(pe) != 0)
        peer_close(pe, "session ended");
}

static void writecb(struct bufferevent *bev, void *arg)
{
    (void)bev;
    peer *pe = arg;
    if (pe->sess == NULL)
        return;
    if (session_flush(pe) != 0)
        peer_close(pe, "session ended");
}

static int check_server(peer *pe, SSL *ssl, char *why, size_t whylen)
{
    const unsigned char *alpn = NULL;
    unsigned alpnlen = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpnlen);
    if (alpnlen != 2 || memcmp(alpn, "h2", 2) != 0) {
        snprintf(why, whylen, "peer did not select ALPN h2");
        return -1;
    }
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        snprintf(why, whylen, "peer certificate not verified");
        return -1;
    }
    if (!crgw_cert_has_uri(cert, pe->tls_uri)) {
        snprintf(why, whylen, "peer certificate does not name %s", pe->tls_uri);
        return -1;
    }
    return 0;
}

static void start_session(peer *pe)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close_cb);
    nghttp2_session_client_new(&pe->sess, cbs, pe);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
    };
    nghttp2_submit_settings(pe->sess, NGHTTP2_FLAG_NONE, iv, CRGW_ARRAY_LEN(iv));
    pe->state = ST_CONNECTED;
}

static void eventcb(struct bufferevent *bev, short events, void *arg)
{
    peer *pe = arg;
    if (events & BEV_EVENT_CONNECTED) {
        char why[160];
        SSL *ssl = bufferevent_openssl_get_ssl(bev);
        if (check_server(pe, ssl, why, sizeof(why)) != 0) {
            log_warn("peer %s: %s", pe->code, why);
            peer_close(pe, why);
            return;
        }
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        start_session(pe);
        pe->failed = 0;
        log_info("peer %s: connected to %s", pe->code, pe->addrs[pe->cur].url);
        submit_queued(pe);
        if (session_flush(pe) != 0)
            peer_close(pe, "session ended");
        return;
    }
    const char *why = "connection closed";
    if (events & BEV_EVENT_ERROR) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        int se = EVUTIL_SOCKET_ERROR();
        static char buf[160];
        if (e)
            ERR_error_string_n(e, buf, sizeof(buf));
        else
            snprintf(buf, sizeof(buf), "%s", se ? evutil_socket_error_to_string(se) : "error");
        why = buf;
    } else if (events & BEV_EVENT_TIMEOUT) {
        why = "timeout";
    }
    if (pe->state == ST_CONNECTING)
        log_debug("peer %s: connect failed: %s", pe->code, why);
    peer_close(pe, why);
}

static void peer_connect(peer *pe)
{
    crgw_peers *p = pe->owner;
    SSL *ssl = SSL_new(p->ctx);
    if (ssl == NULL) {
        peer_close(pe, "SSL_new failed");
        return;
    }
    pe->bev = bufferevent_openssl_socket_new(p->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                             BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (pe->bev == NULL) {
        SSL_free(ssl);
        peer_close(pe, "bufferevent failed");
        return;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(pe->bev, 1);
    bufferevent_setcb(pe->bev, readcb, writecb, eventcb, pe);
    bufferevent_enable(pe->bev, EV_READ | EV_WRITE);
    struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(pe->bev, NULL, &tv);
    pe->state = ST_CONNECTING;
    peer_addr *a = &pe->addrs[pe->cur];
    if (bufferevent_socket_connect(pe->bev, (struct sockaddr *)&a->sa, a->salen) != 0)
        peer_close(pe, "connect failed");
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    peer *pe = arg;
    if (pe->n == 0)
        return;
    if (pe->state == ST_IDLE) {
        peer_connect(pe);
        return;
    }
    if (pe->state != ST_CONNECTED)
        return;
    submit_queued(pe);
    if (session_flush(pe) != 0)
        peer_close(pe, "session ended");
}

static void timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    req *r = arg;
    peer *pe = r->pe;
    /*
     * A peer that does not answer within the timeout (or a connection stuck in the TCP or TLS
     * handshake: a stopped process still completes TCP handshakes from its backlog) is treated
     * as gone: the connection is renewed and every request on it fails.
     */
    log_debug("peer %s: request timed out", pe->code);
    if (pe->state != ST_IDLE) {
        peer_close(pe, "request timeout");
        return;
    }
    req_complete(r, 0, "request timeout");
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[160] = "";
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s%s%s: %s", what, file ? " " : "", file ? file : "", buf);
}

static SSL_CTX *client_ctx(const crgw_config *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ssl_err(err, errlen, "SSL_CTX_new", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (!cfg->tls_cert || !cfg->tls_key || !cfg->client_ca) {
        snprintf(err, errlen, "tls cert, key and client_ca are required for peers");
        goto fail;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        ssl_err(err, errlen, "certificate", cfg->tls_cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "private key", cfg->tls_key);
        goto fail;
    }
    if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1) {
        ssl_err(err, errlen, "federation CA", cfg->client_ca);
        goto fail;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    static const unsigned char alpn[] = "\x02h2";
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* "https://HOST:PORT[/...]" -> sockaddr; localhost maps to 127.0.0.1. */
static int parse_url(peer_addr *pe, const char *url)
{
    const char *p = url;
    if (strncmp(p, "https://", 8) != 0)
        return -1;
    p += 8;
    size_t n = strcspn(p, "/");
    char hp[128];
    if (n == 0 || n >= sizeof(hp))
        return -1;
    memcpy(hp, p, n);
    hp[n] = '\0';
    pe->authority = xstrdup(hp);
    char num[140];
    if (strncmp(hp, "localhost:", 10) == 0)
        snprintf(num, sizeof(num), "127.0.0.1%s", hp + 9);
    else
        snprintf(num, sizeof(num), "%s", hp);
    pe->salen = (int)sizeof(pe->sa);
    if (evutil_parse_sockaddr_port(num, (struct sockaddr *)&pe->sa, &pe->salen) != 0)
        return -1;
    pe->url = xstrdup(url);
    return 0;
}

static void addrs_free(peer *pe)
{
    for (size_t i = 0; i < pe->n_addrs; i++) {
        free(pe->addrs[i].url);
        free(pe->addrs[i].authority);
    }
    free(pe->addrs);
    pe->addrs = NULL;
    pe->n_addrs = 0;
}

/* Every usable address of nd; 0 when there is at least one. */
static int peer_addrs(peer *pe, const crgw_node *nd)
{
    pe->addrs = xcalloc(nd->urls.n ? nd->urls.n : 1, sizeof(*pe->addrs));
    for (size_t i = 0; i < nd->urls.n; i++) {
        peer_addr *a = &pe->addrs[pe->n_addrs];
        if (parse_url(a, nd->urls.v[i]) != 0) {
            log_warn("peer %s: unusable url '%s' (numeric address or localhost needed)", nd->code,
                     nd->urls.v[i]);
            free(a->authority);
            memset(a, 0, sizeof(*a));
            continue;
        }
        pe->n_addrs++;
    }
    return pe->n_addrs ? 0 : -1;
}

crgw_peers *crgw_peers_new(struct event_base *base, crgw_config *cfg, int timeout_ms, char *err,
                           size_t errlen)
{
    SSL_CTX *ctx = client_ctx(cfg, err, errlen);
    if (ctx == NULL)
        return NULL;
    crgw_peers *p = xcalloc(1, sizeof(*p));
    p->base = base;
    p->cfg = crgw_config_ref(cfg);
    p->ctx = ctx;
    p->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
    p->peers = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(peer));
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        const crgw_node *nd = &cfg->nodes[i];
        if (strcmp(nd->code, cfg->node) == 0 || nd->urls.n == 0)
            continue;
        peer *pe = &p->peers[p->n];
        pe->owner = p;
        snprintf(pe->code, sizeof(pe->code), "%s", nd->code);
        if (peer_addrs(pe, nd) != 0) {
            addrs_free(pe);
            memset(pe, 0, sizeof(*pe));
            continue;
        }
        char uri[64];
        snprintf(uri, sizeof(uri), "urn:crgw:node:%s", nd->code);
        pe->tls_uri = xstrdup(nd->tls_uri ? nd->tls_uri : uri);
        pe->flush_ev = event_new(base, -1, 0, flush_cb, pe);
        p->n++;
    }
    return p;
}

/* Fails the peer's requests ("shutting down") and frees what it holds (not pe itself). */
static void peer_cleanup(peer *pe)
{
    peer_close(pe, "shutting down");
    event_free(pe->flush_ev);
    addrs_free(pe);
    free(pe->tls_uri);
}

void crgw_peers_free(crgw_peers *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        peer_cleanup(&p->peers[i]);
    free(p->peers);
    SSL_CTX_free(p->ctx);
    crgw_config_unref(p->cfg);
    free(p);
}

static peer *find_peer(const crgw_peers *p, const char *node)
{
    size_t i = 0;
    while (i < p->n && strcmp(p->peers[i].code, node) != 0)
        i++;
    return i < p->n ? &p->peers[i] : NULL;
}

int crgw_peers_post(crgw_peers *p, const char *node, const char *path, const char *content_type,
                    const char *body, size_t len, crgw_peer_cb cb, void *priv)
{
    peer *pe = find_peer(p, node);
    if (pe == NULL)
        return CRGW_ERR_INVALID;
    req *r = xcalloc(1, sizeof(*r));
    r->pe = pe;
    r->path = xstrdup(path);
    r->ctype = xstrdup(content_type);
    r->body = xmalloc(len + 1);
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->out.data = r->body;
    r->out.len = len;
    r->stream_id = -1;
    crgw_buf_init(&r->resp, MAX_RESPONSE);
    r->cb = cb;
    r->priv = priv;
    r->timer = evtimer_new(p->base, timeout_cb, r);
    struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
    evtimer_add(r->timer, &tv);
    CRGW_LIST_APPEND(pe->head, pe->tail, r);
    pe->n++;
    schedule_flush(pe);
    return 0;
}

size_t crgw_peers_inflight(const crgw_peers *p, const char *node)
{
    const peer *pe = find_peer(p, node);
    return pe ? pe->n : 0;
}

int crgw_peers_connected(const crgw_peers *p, const char *node)
{
    const peer *pe = find_peer(p, node);
    return pe && pe->state == ST_CONNECTED;
}

int crgw_cert_has_uri(X509 *cert, const char *uri)
{
    return crgw_x509_san_has_uri(cert, uri);
}
