/*
 * certcache: parsed certificates by their DER bytes. OpenSSL 3.0's d2i_X509 decodes the public
 * key through the provider decoders, which costs more than an ECDSA verification; reports carry
 * the same few signer certificates over and over, so the verifier parses each one once.
 *
 * One cache per thread (thread-local: the server has one event loop per process, `crgw verify
 * --jobs N` one verifier per worker thread), so no locks. Bounded (CRGW_CERTCACHE_SLOTS entries,
 * a slot is overwritten on collision).
 */
#ifndef CRGW_CERTCACHE_H
#define CRGW_CERTCACHE_H

#include <stddef.h>

#include <openssl/x509.h>

#define CRGW_CERTCACHE_SLOTS 512

/*
 * The certificate encoded by exactly der[0..len) (trailing bytes refused), as a new reference
 * (X509_free it), or NULL when it is not a DER certificate.
 */
X509 *crgw_certcache_d2i(const unsigned char *der, size_t len);

/* Frees every certificate cached by the calling thread (tests, shutdown, thread exit). */
void crgw_certcache_clear(void);

#endif
