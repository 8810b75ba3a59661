/*
 * xmldsig: XML Signature (enveloped), strict profile, on libxml2's C14N and the sigalg primitive.
 *
 * Profile (ARCHITECTURE.md §4): no DTD, no entity references; exactly one ds:Signature in the
 * document, a child of the document element; children SignedInfo, SignatureValue, KeyInfo only
 * (no Object, no comments, no stray text); exactly one Reference whose URI is "" or "#" + the
 * root's Id (Id values unique in the document); transforms: enveloped-signature, then optionally
 * the XPath filter not(ancestor-or-self::dsig:Signature) (that exact expression only, when
 * allowed), then optionally one C14N (exclusive, inclusive 1.0 or 1.1, without comments);
 * digests SHA-256/384/512 or SM3; signature algorithms of gateway/core/sigalg.h; key from the first
 * KeyInfo/X509Data/X509Certificate (further ones are chain certificates).
 *
 * The element the reference covers is always the document element: the adapter must read only
 * from result.covered (anti-wrapping).
 */
#ifndef CRGW_XMLDSIG_H
#define CRGW_XMLDSIG_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "gateway/core/sigalg.h"

#define CRGW_XMLDSIG_OK 0

#define CRGW_XMLDSIG_NS "http://www.w3.org/2000/09/xmldsig#"

typedef struct {
    int allow_xpath_enveloped; /* accept the xmlsec-suite XPath transform (equivalent filter) */
    EVP_PKEY *key;             /* verify with this key instead of the X509Data certificate */
    int max_depth;             /* element nesting limit, 0 = 64 */
} crgw_xmldsig_opts;

typedef struct {
    const crgw_sigalg *alg; /* SignatureMethod */
    const char *digest;     /* DigestMethod as a digest name ("SHA256", "SM3") */
    xmlNodePtr covered;     /* the element the signature covers (the document element) */
    xmlNodePtr signature;   /* the ds:Signature element */
    X509 *signer;           /* first X509Certificate (owned), NULL when none */
    STACK_OF(X509) * extra; /* further X509Certificates (owned), never NULL after verify */
    char err[256];          /* why verification failed */
} crgw_xmldsig_result;

/*
 * Verifies the enveloped signature of doc. o may be NULL. Returns CRGW_XMLDSIG_OK or an error
 * code; r is filled as far as verification got, and must be cleaned up in every case.
 */
int crgw_xmldsig_verify(xmlDocPtr doc, const crgw_xmldsig_opts *o, crgw_xmldsig_result *r);
void crgw_xmldsig_result_cleanup(crgw_xmldsig_result *r);

typedef struct {
    const char *alg;    /* JWS-style name: RS256 PS256 ES256 ES384 EdDSA SM2-SM3 */
    const char *digest; /* "SHA256" (default), "SHA384", "SHA512", "SM3" */
    int ref_by_id;      /* Reference URI="#<root Id>" instead of "" */
} crgw_xmldsig_sign_opts;

/*
 * Signs doc in place: inserts ds:Signature as the last child of the document element (exclusive
 * C14N, enveloped-signature transform, X509Data = cert then chain). Returns CRGW_XMLDSIG_OK,
 * CRGW_ERR_INVALID (document already signed, no Id for ref_by_id, DTD),
 * CRGW_ERR_ALG, CRGW_ERR_KEY; err gets a reason.
 */
int crgw_xmldsig_sign(xmlDocPtr doc, EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain,
                      const crgw_xmldsig_sign_opts *o, char *err, size_t err_len);

/*
 * Serialises doc in its declared encoding (UTF-8 when none), with the XML declaration.
 * *out malloc'd (free()). Returns 0 or -1.
 */
int crgw_xmldsig_serialize(xmlDocPtr doc, char **out, size_t *out_len);

#endif
