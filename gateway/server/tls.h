/*
 * tls: the server's TLS context (OpenSSL 3): TLS 1.2+, ALPN "h2" only, client certificate
 * required, verified against the federation CA (cfg->client_ca) and mapped to an identity at
 * the handshake; an untrusted chain, or a certificate naming no configured client or peer, is
 * refused there (alert), never at the HTTP layer.
 */
#ifndef CRGW_TLS_H
#define CRGW_TLS_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <openssl/ssl.h>

struct crgw_config;

typedef struct {
    char uri[256];     /* the SAN URI that matched */
    unsigned roles;    /* CRGW_ROLE_* bits */
    char peer_node[8]; /* node code when roles == CRGW_ROLE_PEER, else "" */
} crgw_tls_identity;

/*
 * Builds the server SSL_CTX for cfg (a reference to cfg is held by the context and released
 * when OpenSSL frees it). Returns NULL with a message in err on failure.
 */
SSL_CTX *crgw_tls_ctx_new(struct crgw_config *cfg, char *err, size_t errlen);
/* Maps a certificate to an identity under cfg. Returns 0 or CRGW_ERR_NOT_FOUND. */
int crgw_tls_identity_of_cert(X509 *cert, const struct crgw_config *cfg, crgw_tls_identity *id);
/* Identity of the connection's verified peer (after the handshake). Same return codes. */
int crgw_tls_identity_of(SSL *ssl, const struct crgw_config *cfg, crgw_tls_identity *id);

#endif
