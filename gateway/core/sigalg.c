#include "gateway/core/sigalg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>

#include "gateway/core/util.h"

#define URI_MORE "http://www.w3.org/2001/04/xmldsig-more#"
#define URI_MORE07 "http://www.w3.org/2007/05/xmldsig-more#"
#define URI_MORE21 "http://www.w3.org/2021/04/xmldsig-more#"

static const crgw_sigalg sigalgs[] = {
    {"RS256", URI_MORE "rsa-sha256", CRGW_SIGKIND_RSA_PKCS1, "SHA256", NID_undef, CRGW_SIGENC_RAW,
     CRGW_SIGENC_RAW},
    {"RS384", URI_MORE "rsa-sha384", CRGW_SIGKIND_RSA_PKCS1, "SHA384", NID_undef, CRGW_SIGENC_RAW,
     CRGW_SIGENC_RAW},
    {"RS512", URI_MORE "rsa-sha512", CRGW_SIGKIND_RSA_PKCS1, "SHA512", NID_undef, CRGW_SIGENC_RAW,
     CRGW_SIGENC_RAW},
    {"PS256", URI_MORE07 "sha256-rsa-MGF1", CRGW_SIGKIND_RSA_PSS, "SHA256", NID_undef,
     CRGW_SIGENC_RAW, CRGW_SIGENC_RAW},
    {"PS384", URI_MORE07 "sha384-rsa-MGF1", CRGW_SIGKIND_RSA_PSS, "SHA384", NID_undef,
     CRGW_SIGENC_RAW, CRGW_SIGENC_RAW},
    {"PS512", URI_MORE07 "sha512-rsa-MGF1", CRGW_SIGKIND_RSA_PSS, "SHA512", NID_undef,
     CRGW_SIGENC_RAW, CRGW_SIGENC_RAW},
    {"ES256", URI_MORE "ecdsa-sha256", CRGW_SIGKIND_ECDSA, "SHA256", NID_X9_62_prime256v1,
     CRGW_SIGENC_P1363, CRGW_SIGENC_P1363},
    {"ES384", URI_MORE "ecdsa-sha384", CRGW_SIGKIND_ECDSA, "SHA384", NID_secp384r1,
     CRGW_SIGENC_P1363, CRGW_SIGENC_P1363},
    {"ES512", URI_MORE "ecdsa-sha512", CRGW_SIGKIND_ECDSA, "SHA512", NID_secp521r1,
     CRGW_SIGENC_P1363, CRGW_SIGENC_P1363},
    {"EdDSA", URI_MORE21 "eddsa-ed25519", CRGW_SIGKIND_ED25519, NULL, NID_undef, CRGW_SIGENC_RAW,
     CRGW_SIGENC_RAW},
    {"SM2-SM3", "urn:oid:1.2.156.10197.1.501", CRGW_SIGKIND_SM2, "SM3", NID_sm2, CRGW_SIGENC_P1363,
     CRGW_SIGENC_DER},
};

static const struct {
    const char *uri;
    const char *md;
} digests[] = {
    {"http://www.w3.org/2001/04/xmlenc#sha256", "SHA256"},
    {URI_MORE "sha384", "SHA384"},
    {"http://www.w3.org/2001/04/xmlenc#sha512", "SHA512"},
    {"urn:oid:1.2.156.10197.1.401", "SM3"},
};

const crgw_sigalg *crgw_sigalg_by_jws(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < CRGW_ARRAY_LEN(sigalgs); i++)
        if (strcmp(sigalgs[i].jws, name) == 0)
            return &sigalgs[i];
    return NULL;
}

const crgw_sigalg *crgw_sigalg_by_uri(const char *uri)
{
    if (uri == NULL)
        return NULL;
    for (size_t i = 0; i < CRGW_ARRAY_LEN(sigalgs); i++)
        if (sigalgs[i].xml_uri != NULL && strcmp(sigalgs[i].xml_uri, uri) == 0)
            return &sigalgs[i];
    return NULL;
}

const EVP_MD *crgw_sigalg_digest_by_uri(const char *uri)
{
    if (uri == NULL)
        return NULL;
    for (size_t i = 0; i < CRGW_ARRAY_LEN(digests); i++)
        if (strcmp(digests[i].uri, uri) == 0)
            return EVP_get_digestbyname(digests[i].md);
    return NULL;
}

const char *crgw_sigalg_digest_uri(const char *md_name)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(digests); i++)
        if (strcmp(digests[i].md, md_name) == 0)
            return digests[i].uri;
    return NULL;
}

static int key_curve_nid(EVP_PKEY *key)
{
    char name[64];
    size_t len = 0;
    if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len))
        return NID_undef;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    if (nid == NID_undef)
        nid = OBJ_ln2nid(name);
    return nid;
}

static int key_is_sm2(EVP_PKEY *key)
{
    if (EVP_PKEY_is_a(key, "SM2"))
        return 1;
    return EVP_PKEY_is_a(key, "EC") && key_curve_nid(key) == NID_sm2;
}

int crgw_sigalg_key_fits(const crgw_sigalg *alg, EVP_PKEY *key, int pin_curve)
{
    if (alg == NULL || key == NULL)
        return 0;
    switch (alg->kind) {
    case CRGW_SIGKIND_RSA_PKCS1:
        return EVP_PKEY_is_a(key, "RSA");
    case CRGW_SIGKIND_RSA_PSS:
        return EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS");
    case CRGW_SIGKIND_ECDSA:
        if (!EVP_PKEY_is_a(key, "EC") || key_is_sm2(key))
            return 0;
        return !pin_curve || alg->curve_nid == NID_undef || key_curve_nid(key) == alg->curve_nid;
    case CRGW_SIGKIND_ED25519:
        return EVP_PKEY_is_a(key, "ED25519");
    case CRGW_SIGKIND_SM2:
        return key_is_sm2(key);
    }
    return 0;
}

/* Size in bytes of each of r and s for a P1363 signature with this key. */
static size_t ec_order_bytes(EVP_PKEY *key)
{
    int bits = EVP_PKEY_get_bits(key);
    return bits > 0 ? ((size_t)bits + 7) / 8 : 0;
}

static int p1363_to_der(EVP_PKEY *key, const unsigned char *sig, size_t len, unsigned char **der,
                        size_t *der_len)
{
    size_t n = ec_order_bytes(key);
    if (n == 0 || len != 2 * n)
        return -1;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)n, NULL);
    BIGNUM *s = BN_bin2bn(sig + n, (int)n, NULL);
    if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return -1;
    }
    unsigned char *out = NULL;
    int dl = i2d_ECDSA_SIG(es, &out);
    ECDSA_SIG_free(es);
    if (dl <= 0)
        return -1;
    *der = out;
    *der_len = (size_t)dl;
    return 0;
}

static int der_to_p1363(EVP_PKEY *key, const unsigned char *der, size_t len, unsigned char **out,
                        size_t *out_len)
{
    size_t n = ec_order_bytes(key);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (es == NULL || n == 0)
        goto fail;
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    unsigned char *buf = OPENSSL_malloc(2 * n);
    if (buf == NULL || BN_bn2binpad(r, buf, (int)n) < 0 || BN_bn2binpad(s, buf + n, (int)n) < 0) {
        OPENSSL_free(buf);
        goto fail;
    }
    ECDSA_SIG_free(es);
    *out = buf;
    *out_len = 2 * n;
    return 0;
fail:
    ECDSA_SIG_free(es);
    return -1;
}

/* Sets up md ctx for sign or verify; returns 1 on success. */
static int digest_init(const crgw_sigalg *alg, EVP_PKEY *key, EVP_MD_CTX *mctx, int sign)
{
    const EVP_MD *md = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    if (alg->md != NULL) {
        md = EVP_get_digestbyname(alg->md);
        if (md == NULL)
            return 0;
    }
    if (alg->kind == CRGW_SIGKIND_SM2) {
        pctx = EVP_PKEY_CTX_new(key, NULL);
        if (pctx == NULL)
            return 0;
        if (EVP_PKEY_CTX_set1_id(pctx, CRGW_SM2_ID, strlen(CRGW_SM2_ID)) <= 0) {
            EVP_PKEY_CTX_free(pctx);
            return 0;
        }
        EVP_MD_CTX_set_pkey_ctx(mctx, pctx);
    }
    int ok = sign ? EVP_DigestSignInit(mctx, &pctx, md, NULL, key)
                  : EVP_DigestVerifyInit(mctx, &pctx, md, NULL, key);
    if (ok != 1)
        return 0;
    if (alg->kind == CRGW_SIGKIND_RSA_PSS) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0)
            return 0;
    } else if (alg->kind == CRGW_SIGKIND_RSA_PKCS1) {
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0)
            return 0;
    }
    return 1;
}

static void free_pkey_ctx_of(EVP_MD_CTX *mctx, const crgw_sigalg *alg)
{
    /* EVP_MD_CTX_set_pkey_ctx does not transfer ownership: free ours explicitly. */
    if (alg->kind == CRGW_SIGKIND_SM2) {
        EVP_PKEY_CTX *pctx = EVP_MD_CTX_get_pkey_ctx(mctx);
        EVP_MD_CTX_free(mctx);
        EVP_PKEY_CTX_free(pctx);
    } else {
        EVP_MD_CTX_free(mctx);
    }
}

int crgw_sigalg_verify(const crgw_sigalg *alg, EVP_PKEY *key, const unsigned char *msg,
                       size_t msg_len, const unsigned char *sig, size_t sig_len, crgw_sigenc enc)
{
    if (!crgw_sigalg_key_fits(alg, key, 0))
        return CRGW_ERR_KEY;
    unsigned char *der = NULL;
    size_t der_len = 0;
    int is_ec = alg->kind == CRGW_SIGKIND_ECDSA || alg->kind == CRGW_SIGKIND_SM2;
    if (is_ec && enc == CRGW_SIGENC_P1363) {
        if (p1363_to_der(key, sig, sig_len, &der, &der_len) != 0)
            return CRGW_ERR_SIG;
        sig = der;
        sig_len = der_len;
    } else if (is_ec != (enc != CRGW_SIGENC_RAW)) {
        return CRGW_ERR_SIG;
    }
    int rc = CRGW_ERR_SIG;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL) {
        rc = CRGW_ERR_INTERNAL;
        goto out;
    }
    if (!digest_init(alg, key, mctx, 0))
        goto out_ctx;
    if (EVP_DigestVerify(mctx, sig, sig_len, msg, msg_len) == 1)
        rc = CRGW_SIGALG_OK;
out_ctx:
    free_pkey_ctx_of(mctx, alg);
out:
    OPENSSL_free(der);
    ERR_clear_error();
    return rc;
}

int crgw_sigalg_sign(const crgw_sigalg *alg, EVP_PKEY *key, const unsigned char *msg,
                     size_t msg_len, crgw_sigenc enc, unsigned char **sig, size_t *sig_len)
{
    if (!crgw_sigalg_key_fits(alg, key, 0))
        return CRGW_ERR_KEY;
    int rc = CRGW_ERR_INTERNAL;
    unsigned char *buf = NULL;
    size_t len = 0;
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    if (mctx == NULL)
        return rc;
    if (!digest_init(alg, key, mctx, 1))
        goto out;
    if (EVP_DigestSign(mctx, NULL, &len, msg, msg_len) != 1)
        goto out;
    buf = OPENSSL_malloc(len ? len : 1);
    if (buf == NULL || EVP_DigestSign(mctx, buf, &len, msg, msg_len) != 1)
        goto out;
    int is_ec = alg->kind == CRGW_SIGKIND_ECDSA || alg->kind == CRGW_SIGKIND_SM2;
    if (is_ec && enc == CRGW_SIGENC_P1363) {
        unsigned char *p = NULL;
        size_t pl = 0;
        if (der_to_p1363(key, buf, len, &p, &pl) != 0)
            goto out;
        OPENSSL_free(buf);
        buf = p;
        len = pl;
    }
    *sig = xmalloc(len);
    memcpy(*sig, buf, len);
    *sig_len = len;
    rc = CRGW_SIGALG_OK;
out:
    OPENSSL_free(buf);
    free_pkey_ctx_of(mctx, alg);
    ERR_clear_error();
    return rc;
}

/*
 * The TBS part of a signed ASN.1 object (certificate, CRL): the first element of the outer
 * SEQUENCE, as encoded. Returns 0 and a slice into der.
 */
static int der_header(const unsigned char *p, size_t len, size_t *hdr, size_t *body)
{
    if (len < 2 || p[0] != 0x30)
        return -1;
    size_t l = p[1];
    size_t h = 2;
    if (l & 0x80) {
        size_t nb = l & 0x7f;
        if (nb == 0 || nb > 4 || len < 2 + nb)
            return -1;
        l = 0;
        for (size_t i = 0; i < nb; i++)
            l = (l << 8) | p[2 + i];
        h += nb;
    }
    if (l > len - h)
        return -1;
    *hdr = h;
    *body = l;
    return 0;
}

static int tbs_slice(const unsigned char *der, size_t len, const unsigned char **tbs,
                     size_t *tbs_len)
{
    size_t h, b, h2, b2;
    if (der_header(der, len, &h, &b) != 0)
        return -1;
    if (der_header(der + h, b, &h2, &b2) != 0)
        return -1;
    *tbs = der + h;
    *tbs_len = h2 + b2;
    return 0;
}

static int verify_sm2_tbs(const unsigned char *der, size_t der_len, const ASN1_BIT_STRING *sig,
                          EVP_PKEY *issuer_key)
{
    const unsigned char *tbs;
    size_t tbs_len;
    if (tbs_slice(der, der_len, &tbs, &tbs_len) != 0)
        return 0;
    const crgw_sigalg *alg = crgw_sigalg_by_jws("SM2-SM3");
    return crgw_sigalg_verify(alg, issuer_key, tbs, tbs_len, ASN1_STRING_get0_data(sig),
                              (size_t)ASN1_STRING_length(sig), CRGW_SIGENC_DER) == CRGW_SIGALG_OK;
}

int crgw_sigalg_cert_is_sm2_signed(const X509 *cert)
{
    return X509_get_signature_nid(cert) == NID_SM2_with_SM3;
}

int crgw_sigalg_verify_cert_sig(X509 *cert, EVP_PKEY *issuer_key)
{
    if (!crgw_sigalg_cert_is_sm2_signed(cert)) {
        int ok = X509_verify(cert, issuer_key) == 1;
        ERR_clear_error();
        return ok;
    }
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0)
        return 0;
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    X509_get0_signature(&sig, &alg, cert);
    int ok = verify_sm2_tbs(der, (size_t)len, sig, issuer_key);
    OPENSSL_free(der);
    return ok;
}

int crgw_sigalg_verify_crl_sig(X509_CRL *crl, EVP_PKEY *issuer_key)
{
    if (X509_CRL_get_signature_nid(crl) != NID_SM2_with_SM3) {
        int ok = X509_CRL_verify(crl, issuer_key) == 1;
        ERR_clear_error();
        return ok;
    }
    unsigned char *der = NULL;
    int len = i2d_X509_CRL(crl, &der);
    if (len <= 0)
        return 0;
    const ASN1_BIT_STRING *sig;
    const X509_ALGOR *alg;
    X509_CRL_get0_signature(crl, &sig, &alg);
    int ok = verify_sm2_tbs(der, (size_t)len, sig, issuer_key);
    OPENSSL_free(der);
    return ok;
}

int crgw_sigalg_key_strong(EVP_PKEY *key, char *why, size_t why_len)
{
    if (key == NULL) {
        snprintf(why, why_len, "no key");
        return 0;
    }
    if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        int bits = EVP_PKEY_get_bits(key);
        if (bits < 2048) {
            snprintf(why, why_len, "RSA-%d key, policy requires >= 2048 bits", bits);
            return 0;
        }
        return 1;
    }
    if (key_is_sm2(key) || EVP_PKEY_is_a(key, "ED25519"))
        return 1;
    if (EVP_PKEY_is_a(key, "EC")) {
        int nid = key_curve_nid(key);
        if (nid == NID_X9_62_prime256v1 || nid == NID_secp384r1)
            return 1;
        snprintf(why, why_len, "EC curve %s not allowed (P-256, P-384, SM2)",
                 nid == NID_undef ? "unknown" : OBJ_nid2sn(nid));
        return 0;
    }
    snprintf(why, why_len, "key type %s not allowed", EVP_PKEY_get0_type_name(key));
    return 0;
}

void crgw_sigalg_key_desc(EVP_PKEY *key, char *out, size_t out_len)
{
    if (key == NULL) {
        snprintf(out, out_len, "none");
    } else if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS")) {
        snprintf(out, out_len, "RSA-%d", EVP_PKEY_get_bits(key));
    } else if (key_is_sm2(key)) {
        snprintf(out, out_len, "SM2");
    } else if (EVP_PKEY_is_a(key, "EC")) {
        int nid = key_curve_nid(key);
        const char *nist = EC_curve_nid2nist(nid);
        snprintf(out, out_len, "EC-%s", nist ? nist : OBJ_nid2sn(nid));
    } else {
        snprintf(out, out_len, "%s", EVP_PKEY_get0_type_name(key));
    }
}
