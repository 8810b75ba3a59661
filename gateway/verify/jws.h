/*
 * jws: JSON Web Signature (RFC 7515), compact and flattened JSON serializations, strict profile:
 *   - alg from the table of gateway/core/sigalg.h (RS/PS/ES256..512, EdDSA = Ed25519, SM2-SM3),
 * never "none", never HMAC; callers narrow it further with an allow-list;
 *   - no "crit" (no extension is understood), no unprotected header, no "jwk"/"jku"/"x5u"/"b64";
 *   - duplicate member names refused in the JSON and in the header; strict base64url;
 *   - the signer certificate is x5c[0] (standard base64 DER), further entries are its chain.
 * The payload is returned as bytes: parsing it (strictly) is the caller's business.
 */
#ifndef CRGW_JWS_H
#define CRGW_JWS_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/core/sigalg.h"

typedef enum {
    CRGW_JWS_COMPACT = 1,
    CRGW_JWS_FLATTENED = 2,
} crgw_jws_form;

#define CRGW_JWS_OK 0

/* A parsed JWS (crgw_jws_parse); everything owned, released by crgw_jws_cleanup. */
typedef struct {
    crgw_jws_form form;
    const crgw_sigalg *alg;
    json_t *header;         /* the protected header */
    const char *typ;        /* header "typ" or NULL (points into header) */
    unsigned char *payload; /* decoded payload, NUL-terminated (not counted); one
                               allocation with sig and signing_input */
    size_t payload_len;
    char *signing_input; /* ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) */
    size_t signing_input_len;
    unsigned char *sig;
    size_t sig_len;
    STACK_OF(X509) * x5c; /* x5c[0] = signer; NULL when the header has none */
    char err[200];        /* why parsing or verification failed */
} crgw_jws;

/* Does the input look like a JWS (flattened JSON with "signature", or three dot-separated parts)?
 */
int crgw_jws_sniff(const char *data, size_t len, crgw_jws_form *form);

/*
 * Parses data (trailing white space ignored) as a JWS of the given form (0 = either). Does not
 * verify. Returns CRGW_JWS_OK, CRGW_ERR_INVALID or CRGW_ERR_ALG, with jws->err set.
 * jws must be crgw_jws_cleanup'ed in every case.
 */
int crgw_jws_parse(const char *data, size_t len, crgw_jws_form form, crgw_jws *jws);

/*
 * Verifies the signature with key, or with x5c[0]'s key when key is NULL. The key must fit the
 * alg (ES256 = P-256, ...). Returns CRGW_JWS_OK, CRGW_ERR_SIG, CRGW_ERR_KEY.
 */
int crgw_jws_check(crgw_jws *jws, EVP_PKEY *key);

void crgw_jws_cleanup(crgw_jws *jws);
/* Frees the parsed-header cache of the calling thread (one per thread; thread exit, tests). */
void crgw_jws_cache_clear(void);

/*
 * Signs payload: header {"alg", "typ" (when typ != NULL), "x5c" (when x5c != NULL)} in that order,
 * compact form or pretty-printed flattened JSON (with a trailing newline). *out is malloc'd,
 * NUL-terminated. Returns CRGW_JWS_OK, CRGW_ERR_ALG (unknown alg), CRGW_ERR_KEY.
 */
int crgw_jws_sign(EVP_PKEY *key, const char *alg, const char *typ, STACK_OF(X509) * x5c,
                  const void *payload, size_t len, crgw_jws_form form, char **out, size_t *out_len);

/* Compact JWS without typ: what federation messages use (ES256 + x5c). */
int crgw_jws_sign_compact(EVP_PKEY *key, const char *alg, STACK_OF(X509) * x5c, const void *payload,
                          size_t len, char **out);

/*
 * Verifies a compact JWS end to end: parse, alg in allowed_algs (NULL-terminated list; NULL =
 * {"ES256", NULL}), signature with x5c[0], and, when store != NULL, x5c[0] chains to store at the
 * current time (x5c[1..] as untrusted intermediates). On success *payload (malloc'd,
 * NUL-terminated) and, when signer != NULL, *signer (caller frees with X509_free).
 * Returns CRGW_JWS_OK or a CRGW_JWS_ERR_* code; err (may be NULL) gets a reason.
 */
int crgw_jws_verify_compact(const char *jws, size_t len, const char *const *allowed_algs,
                            X509_STORE *store, unsigned char **payload, size_t *payload_len,
                            X509 **signer, char *err, size_t err_len);

#endif
