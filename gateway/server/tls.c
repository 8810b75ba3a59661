#include "gateway/server/tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "gateway/core/log.h"
#include "gateway/core/x509.h"
#include "gateway/server/config.h"

static int cfg_index = -1;

static void cfg_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    if (ptr)
        crgw_config_unref(ptr);
}

int crgw_tls_identity_of_cert(X509 *cert, const crgw_config *cfg, crgw_tls_identity *id)
{
    memset(id, 0, sizeof(*id));
    if (!cert)
        return CRGW_ERR_NOT_FOUND;
    int rc = CRGW_ERR_NOT_FOUND, n;
    char uri[sizeof(id->uri)];
    for (size_t i = 0; (n = crgw_x509_san_uri(cert, i, uri, sizeof(uri))) != CRGW_ERR_NOT_FOUND;
         i++) {
        if (n <= 0)
            continue;
        size_t len = (size_t)n;
        unsigned roles = crgw_config_client_roles(cfg, uri);
        if (roles) {
            memcpy(id->uri, uri, len + 1);
            id->roles = roles;
            rc = 0;
            break;
        }
        const crgw_node *node = crgw_config_peer_by_uri(cfg, uri);
        if (node) {
            memcpy(id->uri, uri, len + 1);
            id->roles = CRGW_ROLE_PEER;
            snprintf(id->peer_node, sizeof(id->peer_node), "%s", node->code);
            rc = 0;
            break;
        }
    }
    return rc;
}

int crgw_tls_identity_of(SSL *ssl, const crgw_config *cfg, crgw_tls_identity *id)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK) {
        memset(id, 0, sizeof(*id));
        return CRGW_ERR_NOT_FOUND;
    }
    return crgw_tls_identity_of_cert(cert, cfg, id);
}

/* RFC 2253 form, UTF-8 kept readable. */
static void name_string(const X509_NAME *name, char *out, size_t len)
{
    BIO *b = BIO_new(BIO_s_mem());
    out[0] = '\0';
    if (!b)
        return;
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    int n = BIO_read(b, out, (int)len - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static int verify_cb(int ok, X509_STORE_CTX *xs)
{
    X509 *cert = X509_STORE_CTX_get_current_cert(xs);
    char subject[256] = "?";
    if (cert)
        name_string(X509_get_subject_name(cert), subject, sizeof(subject));
    if (!ok) {
        int err = X509_STORE_CTX_get_error(xs);
        log_warn("tls: client certificate refused (depth %d, %s): %s",
                 X509_STORE_CTX_get_error_depth(xs), subject, X509_verify_cert_error_string(err));
        return 0;
    }
    if (X509_STORE_CTX_get_error_depth(xs) != 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    const crgw_config *cfg = ssl ? SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cfg_index) : NULL;
    crgw_tls_identity id;
    if (!cfg || crgw_tls_identity_of_cert(cert, cfg, &id) != 0) {
        log_warn("tls: client certificate refused (%s): no SAN URI of a configured client or "
                 "peer",
                 subject);
        X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
        return 0;
    }
    return 1;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = "\x02h2";
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h2, sizeof(h2) - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void ssl_err(char *err, size_t errlen, const char *what, const char *file)
{
    unsigned long e = ERR_get_error();
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, errlen, "%s %s: %s", what, file ? file : "(none)", e ? buf : "failed");
    ERR_clear_error();
}

SSL_CTX *crgw_tls_ctx_new(crgw_config *cfg, char *err, size_t errlen)
{
    if (cfg_index < 0)
        cfg_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, cfg_free);
    if (!cfg->tls_cert || !cfg->tls_key || !cfg->client_ca) {
        snprintf(err, errlen, "TLS listener needs tls_cert, tls_key and client_ca");
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        ssl_err(err, errlen, "SSL_CTX_new", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* HTTP/2 over TLS 1.2 needs ECDHE with an AEAD (RFC 9113 appendix A) */
    if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
        ssl_err(err, errlen, "cipher list", NULL);
        goto fail_ctx;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1) {
        ssl_err(err, errlen, "certificate", cfg->tls_cert);
        goto fail_ctx;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1) {
        ssl_err(err, errlen, "private key", cfg->tls_key);
        goto fail_ctx;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err(err, errlen, "private key does not match certificate", cfg->tls_cert);
        goto fail_ctx;
    }
    if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca, NULL) != 1) {
        ssl_err(err, errlen, "client CA", cfg->client_ca);
        goto fail_ctx;
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca);
    if (names)
        SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    SSL_CTX_set_verify_depth(ctx, 4);
    static const unsigned char sid_ctx[] = "crgw";
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    SSL_CTX_set_ex_data(ctx, cfg_index, crgw_config_ref(cfg));
    return ctx;

fail_ctx:
    SSL_CTX_free(ctx);
    return NULL;
}
