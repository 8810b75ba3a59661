/*
 * sigalg: the one signature primitive of the gateway. Every signature crgw checks (XMLDSig
 * SignedInfo, JWS signing input, Wycheproof vectors in the tests) goes through
 * crgw_sigalg_verify(); crgw sign and JWS signing go through crgw_sigalg_sign().
 *
 * Algorithms are named by their JWS name (RS256 PS256 ES256 ES384 EdDSA SM2-SM3 ...) and, for
 * XMLDSig, by their SignatureMethod URI. SM2-with-SM3 always uses the distinguishing ID
 * 1234567812345678 (OpenSSL 3.0 does not apply the default ID by itself).
 */
#ifndef CRGW_SIGALG_H
#define CRGW_SIGALG_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

typedef enum {
    CRGW_SIGKIND_RSA_PKCS1 = 1,
    CRGW_SIGKIND_RSA_PSS,
    CRGW_SIGKIND_ECDSA,
    CRGW_SIGKIND_ED25519,
    CRGW_SIGKIND_SM2,
} crgw_sigkind;

/* How the signature bytes are encoded (RSA and Ed25519 have only CRGW_SIGENC_RAW). */
typedef enum {
    CRGW_SIGENC_RAW = 0,   /* RSA, Ed25519: the bytes as defined by the scheme */
    CRGW_SIGENC_DER = 1,   /* ECDSA/SM2: DER SEQUENCE { r, s } */
    CRGW_SIGENC_P1363 = 2, /* ECDSA/SM2: r || s, each the size of the group order */
} crgw_sigenc;

typedef struct {
    const char *jws;     /* JWS "alg" name, e.g. "ES256"; "SM2-SM3" for SM2-with-SM3 */
    const char *xml_uri; /* XMLDSig SignatureMethod URI, NULL when none */
    crgw_sigkind kind;
    const char *md;      /* digest name for EVP_get_digestbyname ("SHA256", "SM3"), NULL = none */
    int curve_nid;       /* required curve for JWS/policy, NID_undef when not pinned */
    crgw_sigenc jws_enc; /* encoding in JWS */
    crgw_sigenc xml_enc; /* encoding in XMLDSig */
} crgw_sigalg;

/* The SM2 distinguishing ID used everywhere (GB/T 35276 default). */
#define CRGW_SM2_ID "1234567812345678"

#define CRGW_SIGALG_OK 0

/* Look-ups; NULL when unknown. */
const crgw_sigalg *crgw_sigalg_by_jws(const char *name);
const crgw_sigalg *crgw_sigalg_by_uri(const char *uri);

/* Digest by XMLDSig DigestMethod URI (SHA-256/384/512, SM3), NULL when unsupported. */
const EVP_MD *crgw_sigalg_digest_by_uri(const char *uri);
/* The DigestMethod URI of a digest name ("SHA256", "SM3", ...), NULL when none. */
const char *crgw_sigalg_digest_uri(const char *md_name);

/*
 * Does the key fit the algorithm (type; for ECDSA a curve, pinned when pin_curve and the
 * algorithm names one)? Returns 1 or 0.
 */
int crgw_sigalg_key_fits(const crgw_sigalg *alg, EVP_PKEY *key, int pin_curve);

/*
 * Verifies sig over msg with key. enc is the signature encoding (see crgw_sigenc); for P1363 the
 * length must be exactly twice the group order size. The whole sig buffer is used (trailing bytes
 * fail). Returns CRGW_SIGALG_OK, CRGW_ERR_SIG, CRGW_ERR_KEY.
 */
int crgw_sigalg_verify(const crgw_sigalg *alg, EVP_PKEY *key, const unsigned char *msg,
                       size_t msg_len, const unsigned char *sig, size_t sig_len, crgw_sigenc enc);

/*
 * Signs msg with key; *sig (malloc'd, free()) receives the signature in encoding enc.
 * Returns CRGW_SIGALG_OK, CRGW_ERR_KEY, CRGW_ERR_INTERNAL.
 */
int crgw_sigalg_sign(const crgw_sigalg *alg, EVP_PKEY *key, const unsigned char *msg,
                     size_t msg_len, crgw_sigenc enc, unsigned char **sig, size_t *sig_len);

/*
 * Verifies a certificate's (tbs_der/sig) or CRL's signature with issuer_key, applying the SM2 ID
 * when the signature algorithm is SM2-with-SM3. Returns 1 when it verifies, 0 otherwise.
 */
int crgw_sigalg_verify_cert_sig(X509 *cert, EVP_PKEY *issuer_key);
int crgw_sigalg_verify_crl_sig(X509_CRL *crl, EVP_PKEY *issuer_key);

/* 1 when the certificate is signed with SM2-with-SM3. */
int crgw_sigalg_cert_is_sm2_signed(const X509 *cert);

/*
 * Security policy of a public key: RSA >= 2048 bits, EC on P-256/P-384 or the SM2 curve,
 * Ed25519. Returns 1 when acceptable; otherwise 0 and a reason ("RSA-1024 < 2048") in why.
 */
int crgw_sigalg_key_strong(EVP_PKEY *key, char *why, size_t why_len);

/* Short description of a key ("RSA-2048", "EC-P-256", "SM2", "Ed25519"). */
void crgw_sigalg_key_desc(EVP_PKEY *key, char *out, size_t out_len);

#endif
