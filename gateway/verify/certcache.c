#include "gateway/verify/certcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "gateway/core/util.h"

typedef struct {
    unsigned char *der;
    size_t len;
    X509 *cert;
} slot;

static _Thread_local slot slots[CRGW_CERTCACHE_SLOTS]; /* one cache per thread */

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

X509 *crgw_certcache_d2i(const unsigned char *der, size_t len)
{
    if (der == NULL || len == 0 || len > (1u << 20))
        return NULL;
    slot *s = &slots[fnv1a(der, len) % CRGW_CERTCACHE_SLOTS];
    if (s->cert != NULL && s->len == len && memcmp(s->der, der, len) == 0) {
        X509_up_ref(s->cert);
        return s->cert;
    }
    const unsigned char *p = der;
    X509 *c = d2i_X509(NULL, &p, (long)len);
    if (c == NULL || p != der + len) {
        X509_free(c);
        ERR_clear_error();
        return NULL;
    }
    /* decode the public key now, so that cached copies never decode again */
    (void)X509_get0_pubkey(c);
    ERR_clear_error();
    X509_free(s->cert);
    free(s->der);
    s->der = xmalloc(len);
    memcpy(s->der, der, len);
    s->len = len;
    s->cert = c;
    X509_up_ref(c);
    return c;
}

void crgw_certcache_clear(void)
{
    for (size_t i = 0; i < CRGW_CERTCACHE_SLOTS; i++) {
        X509_free(slots[i].cert);
        free(slots[i].der);
        memset(&slots[i], 0, sizeof(slots[i]));
    }
}
