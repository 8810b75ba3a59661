/*
 * peer_client: HTTP/2 client over mutual TLS to the federation's peer nodes (nghttp2 1.52 client
 * sessions on libevent bufferevent_openssl).
 *
 * One connection per peer, streams multiplexed, opened on demand and reopened after a failure
 * (the caller, the outbox, paces retries). TLS: ALPN h2 only, client certificate = this node's
 * federation certificate (cfg->tls_cert/tls_key), the server's chain verified against the
 * federation CA (cfg->client_ca) and its SAN URI must be the peer's tls_uri. Only numeric
 * addresses (and "localhost") are accepted in peer URLs: no DNS lookup blocks the loop.
 */
#ifndef CRGW_PEER_CLIENT_H
#define CRGW_PEER_CLIENT_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <openssl/x509.h>

struct event_base;
struct crgw_config;

typedef struct crgw_peers crgw_peers;

/*
 * Completion of a request: status is the HTTP status, or 0 when no answer came (connect or TLS
 * failure, reset, timeout; err says why). body (NUL-terminated, len bytes) is valid during the
 * callback only. Called exactly once, never from inside crgw_peers_post().
 */
typedef void (*crgw_peer_cb)(int status, const char *body, size_t len, const char *err, void *priv);

/* Creates the client set for cfg (reference held). NULL with err filled on failure. */
crgw_peers *crgw_peers_new(struct event_base *base, struct crgw_config *cfg, int timeout_ms,
                           char *err, size_t errlen);
/* Fails every pending request (callbacks run) and frees. */
void crgw_peers_free(crgw_peers *p);

/*
 * POSTs body (copied) to path at node's URL. Returns 0 (cb will run) or CRGW_ERR_INVALID.
 */
int crgw_peers_post(crgw_peers *p, const char *node, const char *path, const char *content_type,
                    const char *body, size_t len, crgw_peer_cb cb, void *priv);

/* Requests in flight or queued for node. */
size_t crgw_peers_inflight(const crgw_peers *p, const char *node);
/* 1 when a connection to node is established. */
int crgw_peers_connected(const crgw_peers *p, const char *node);

/* 1 when the certificate has exactly this SAN URI among its subject alternative names. */
int crgw_cert_has_uri(X509 *cert, const char *uri);

#endif
