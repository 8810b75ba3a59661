/*
 * xmlsec's own test documents (tests/fixtures/vectors/xmlsec, see INDEX.tsv there) through
 * crgw_xmldsig_verify, with the accepted XPath filter not(ancestor-or-self::dsig:Signature):
 * the documents of supported algorithms verify with their keys, every negative fails, and a
 * changed byte or another XPath expression fails.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "gateway/translate/translate.h"
#include "gateway/core/util.h"
#include "gateway/verify/xmldsig.h"

#define XS "tests/fixtures/vectors/xmlsec/"

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    cr_assert_eq(crgw_read_file(path, 1 << 22, &d, len), 0, "%s", path);
    return d;
}

static EVP_PKEY *pubkey(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(k, "%s", path);
    return k;
}

static X509 *cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(c, "%s", path);
    return c;
}

/* Verifies buf; when chain_store != NULL also chains the KeyInfo certificate. */
static int verify_buf(const char *buf, size_t len, EVP_PKEY *key, int allow_xpath,
                      char *err, size_t err_len, crgw_xmldsig_result *keep)
{
    crgw_diags d = {0};
    xmlDocPtr doc = NULL;
    if (crgw_xml_parse_strict(buf, len, 0, &doc, &d) != 0) {
        snprintf(err, err_len, "parse: %s", d.n ? d.v[0].message : "?");
        crgw_diags_cleanup(&d);
        return -100;
    }
    crgw_diags_cleanup(&d);
    crgw_xmldsig_opts o = {.allow_xpath_enveloped = allow_xpath, .key = key};
    crgw_xmldsig_result r;
    int rc = crgw_xmldsig_verify(doc, &o, &r);
    snprintf(err, err_len, "%s", r.err);
    if (keep != NULL) {
        *keep = r;
        keep->covered = NULL;
        keep->signature = NULL;
    } else {
        crgw_xmldsig_result_cleanup(&r);
    }
    xmlFreeDoc(doc);
    return rc;
}

static int verify_file(const char *file, EVP_PKEY *key, char *err, size_t err_len)
{
    size_t len;
    char path[512];
    snprintf(path, sizeof(path), XS "%s", file);
    char *d = slurp(path, &len);
    int rc = verify_buf(d, len, key, 1, err, err_len, NULL);
    free(d);
    return rc;
}

static const struct {
    const char *doc;
    const char *key;
    const char *wrong_key;
} positives[] = {
    {"aleksey-xmldsig-01/enveloped-sha256-rsa-sha256.xml", "keys-pr742/largersapubkey.pem",
     "keys/rsa/rsa-4096-pubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-sha256-rsa-pss-sha256.xml", "keys/rsa/rsa-4096-pubkey.pem",
     "keys-pr742/largersapubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-sha384-rsa-pss-sha384.xml", "keys/rsa/rsa-4096-pubkey.pem",
     "keys-pr742/largersapubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-sha512-rsa-pss-sha512.xml", "keys/rsa/rsa-4096-pubkey.pem",
     "keys-pr742/largersapubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-sha256-ecdsa-sha256.xml", "keys/ec/ec-prime256v1-pubkey.pem",
     "keys/rsa/rsa-4096-pubkey.pem"},
    /* ECDSA-SHA384 over a P-521 key (the suite has no P-384 document) */
    {"aleksey-xmldsig-01/enveloped-sha384-ecdsa-sha384.xml", "keys/ec/ec-prime521v1-pubkey.pem",
     "keys/ec/ec-prime256v1-pubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-sha256-eddsa-ed25519.xml",
     "keys/eddsa/eddsa-ed25519-pubkey.pem", "keys/ec/ec-prime256v1-pubkey.pem"},
    {"aleksey-xmldsig-01/enveloped-x509-missing-cert.xml", "keys/rsa/rsa-2048-pubkey.pem",
     "keys/rsa/rsa-4096-pubkey.pem"},
};

Test(xmlsec_suite, positives_verify_with_their_keys)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(positives); i++) {
        char kp[512], err[256];
        snprintf(kp, sizeof(kp), XS "%s", positives[i].key);
        EVP_PKEY *k = pubkey(kp);
        cr_expect_eq(verify_file(positives[i].doc, k, err, sizeof(err)), CRGW_XMLDSIG_OK,
                     "%s: %s", positives[i].doc, err);
        EVP_PKEY_free(k);
    }
}

Test(xmlsec_suite, wrong_key_fails)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(positives); i++) {
        char kp[512], err[256];
        snprintf(kp, sizeof(kp), XS "%s", positives[i].wrong_key);
        EVP_PKEY *k = pubkey(kp);
        int rc = verify_file(positives[i].doc, k, err, sizeof(err));
        cr_expect(rc == CRGW_ERR_SIG || rc == CRGW_ERR_KEY, "%s: %d %s",
                  positives[i].doc, rc, err);
        EVP_PKEY_free(k);
    }
}

Test(xmlsec_suite, xpath_only_when_allowed_and_exact)
{
    char path[512], err[256];
    size_t len;
    snprintf(path, sizeof(path), XS "%s", positives[4].doc);
    char *d = slurp(path, &len);
    snprintf(path, sizeof(path), XS "%s", positives[4].key);
    EVP_PKEY *k = pubkey(path);
    /* the gateway profile proper (XPath not allowed) refuses the document */
    cr_expect_eq(verify_buf(d, len, k, 0, err, sizeof(err), NULL), CRGW_ERR_INVALID);
    /* another XPath expression of the same length is refused even when XPath is allowed */
    char *x = strstr(d, "not(ancestor-or-self::dsig:Signature)");
    cr_assert_not_null(x);
    memcpy(x, "not(ancestor-or-self::dsig:Signatury)", 37);
    cr_expect_eq(verify_buf(d, len, k, 1, err, sizeof(err), NULL), CRGW_ERR_INVALID, "%s",
                 err);
    memcpy(x, "self::node()|ancestor::dsig:Signature", 37);
    cr_expect_eq(verify_buf(d, len, k, 1, err, sizeof(err), NULL), CRGW_ERR_INVALID);
    free(d);
    EVP_PKEY_free(k);
}

Test(xmlsec_suite, changed_data_fails)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(positives); i++) {
        char path[512], err[256];
        size_t len;
        snprintf(path, sizeof(path), XS "%s", positives[i].doc);
        char *d = slurp(path, &len);
        snprintf(path, sizeof(path), XS "%s", positives[i].key);
        EVP_PKEY *k = pubkey(path);
        char *h = strstr(d, "Hello, World!");
        cr_assert_not_null(h, "%s", positives[i].doc);
        h[0] = 'J';
        cr_expect_eq(verify_buf(d, len, k, 1, err, sizeof(err), NULL), CRGW_ERR_DIGEST,
                     "%s: %s", positives[i].doc, err);
        free(d);
        EVP_PKEY_free(k);
    }
}

static int chains(X509 *leaf, const char *trusted, const char *untrusted)
{
    X509_STORE *st = X509_STORE_new();
    X509 *anchor = cert(trusted);
    X509_STORE_add_cert(st, anchor);
    STACK_OF(X509) *un = sk_X509_new_null();
    if (untrusted != NULL)
        sk_X509_push(un, cert(untrusted));
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, st, leaf, un);
    int ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(un, X509_free);
    X509_free(anchor);
    X509_STORE_free(st);
    return ok;
}

Test(xmlsec_suite, x509_documents_chain_as_xmlsec_says)
{
    char path[512], err[256];
    size_t len;
    crgw_xmldsig_result r;
    /* missing-cert: the signer certificate is in KeyInfo; chains only with ca2cert supplied */
    snprintf(path, sizeof(path), XS "aleksey-xmldsig-01/enveloped-x509-missing-cert.xml");
    char *d = slurp(path, &len);
    cr_assert_eq(verify_buf(d, len, NULL, 1, err, sizeof(err), &r), CRGW_XMLDSIG_OK, "%s", err);
    cr_assert_not_null(r.signer);
    cr_expect(chains(r.signer, XS "keys/cacert.pem", XS "keys/ca2cert.pem"));
    cr_expect(!chains(r.signer, XS "keys/cacert.pem", NULL));
    cr_expect(!chains(r.signer, XS "keys/rsa/rsa-4096-cert.pem", XS "keys/ca2cert.pem"));
    crgw_xmldsig_result_cleanup(&r);
    free(d);
    /* same-subj: passes trusting cert1 (the certificate itself), not cert2 (same subject) */
    snprintf(path, sizeof(path), XS "aleksey-xmldsig-01/enveloped-x509-same-subj-cert.xml");
    d = slurp(path, &len);
    cr_assert_eq(verify_buf(d, len, NULL, 1, err, sizeof(err), &r), CRGW_XMLDSIG_OK, "%s", err);
    cr_expect(chains(r.signer, XS "keys/same-subj-cert1.pem", NULL));
    cr_expect(!chains(r.signer, XS "keys/same-subj-cert2.pem", NULL));
    crgw_xmldsig_result_cleanup(&r);
    free(d);
    /* and with cert2's key the signature itself fails */
    X509 *c2 = cert(XS "keys/same-subj-cert2.pem");
    cr_expect_eq(verify_file("aleksey-xmldsig-01/enveloped-x509-same-subj-cert.xml",
                             X509_get0_pubkey(c2), err, sizeof(err)),
                 CRGW_ERR_SIG);
    X509_free(c2);
}

Test(xmlsec_suite, phaos_rsa_sha1_outside_policy_and_negatives_fail)
{
    char err[256];
    /* RSA-SHA1 is not a supported SignatureMethod: the positive is refused, as documented */
    cr_expect_eq(verify_file("phaos-xmldsig-three/signature-rsa-enveloped.xml", NULL, err,
                             sizeof(err)),
                 CRGW_ERR_ALG, "%s", err);
    cr_expect_neq(verify_file("phaos-xmldsig-three/signature-rsa-enveloped-bad-digest-val.xml",
                              NULL, err, sizeof(err)),
                  CRGW_XMLDSIG_OK);
    /* two References (and RSA-SHA1): refused */
    cr_expect_neq(verify_file("phaos-xmldsig-three/signature-rsa-enveloped-bad-sig.xml", NULL,
                              err, sizeof(err)),
                  CRGW_XMLDSIG_OK, "%s", err);
}
