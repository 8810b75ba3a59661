/* XMLDSig strict profile: fixtures, sign round trips (every XML algorithm), one-byte changes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/pem.h>

#include "gateway/core/util.h"
#include "gateway/verify/xmldsig.h"

#define FIX "tests/fixtures/"

static xmlDocPtr parse(const char *buf, size_t len)
{
    return xmlReadMemory(buf, (int)len, NULL, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                        XML_PARSE_NOWARNING);
}

static int verify_buf(const char *buf, size_t len, char *err, size_t err_len)
{
    xmlDocPtr doc = parse(buf, len);
    if (doc == NULL) {
        snprintf(err, err_len, "not well-formed");
        return -100;
    }
    crgw_xmldsig_result r;
    int rc = crgw_xmldsig_verify(doc, NULL, &r);
    snprintf(err, err_len, "%s", r.err);
    crgw_xmldsig_result_cleanup(&r);
    xmlFreeDoc(doc);
    return rc;
}

static int verify_path(const char *path, char *err, size_t err_len)
{
    char *d = NULL;
    size_t len = 0;
    cr_assert_eq(crgw_read_file(path, 1 << 24, &d, &len), 0, "%s", path);
    int rc = verify_buf(d, len, err, err_len);
    free(d);
    return rc;
}

Test(xmldsig, valid_fixtures)
{
    static const char *const nodes[] = {"110000", "120000", "130100", "230100", "310000",
                                        "330100"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(nodes); i++) {
        char p[256], err[256];
        snprintf(p, sizeof(p), FIX "reports/valid/%s.xml", nodes[i]);
        cr_expect_eq(verify_path(p, err, sizeof(err)), CRGW_XMLDSIG_OK, "%s: %s", nodes[i], err);
    }
}

Test(xmldsig, invalid_fixtures)
{
    static const struct {
        const char *file;
        int rc;
    } cases[] = {
        {"tampered-content.120000.xml", CRGW_ERR_DIGEST},
        {"tampered-content.310000.xml", CRGW_ERR_DIGEST},
        {"tampered-signature.120000.xml", CRGW_ERR_SIG},
        {"tampered-signature.310000.xml", CRGW_ERR_SIG},
        {"unsigned.120000.xml", CRGW_ERR_INVALID},
        {"unsigned.310000.xml", CRGW_ERR_INVALID},
        /* signer problems are not the signature's: cryptographically fine */
        {"expired-signer.120000.xml", CRGW_XMLDSIG_OK},
        {"revoked-signer.120000.xml", CRGW_XMLDSIG_OK},
        {"weak-key.120000.xml", CRGW_XMLDSIG_OK},
        {"foreign-ca-signer.120000.xml", CRGW_XMLDSIG_OK},
        {"untrusted-root.120000.xml", CRGW_XMLDSIG_OK},
        {"no-digital-signature.120000.xml", CRGW_XMLDSIG_OK},
        {"wrong-node-signer.120000.xml", CRGW_XMLDSIG_OK},
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(cases); i++) {
        char p[256], err[256];
        snprintf(p, sizeof(p), FIX "reports/invalid/%s", cases[i].file);
        cr_expect_eq(verify_path(p, err, sizeof(err)), cases[i].rc, "%s: %s", cases[i].file,
                     err);
    }
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(k);
    return k;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(c);
    return c;
}

/* Signs the valid fixture of node again (old signature removed) and checks every byte. */
static void sign_and_flip(const char *node, const char *alg, const char *digest, int by_id,
                          const char *keynode, int flip_all)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "reports/valid/%s.xml", node);
    char *d = NULL;
    size_t len = 0;
    cr_assert_eq(crgw_read_file(p, 1 << 24, &d, &len), 0);
    xmlDocPtr doc = parse(d, len);
    free(d);
    cr_assert_not_null(doc);
    /* remove the existing signature */
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr n = root->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "Signature")) {
            xmlNodePtr prev = n->prev;
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            if (prev != NULL && prev->type == XML_TEXT_NODE) {
                xmlUnlinkNode(prev);
                xmlFreeNode(prev);
            }
            break;
        }
    char kp[256], cp[256];
    snprintf(kp, sizeof(kp), FIX "pki/nodes/%s/signer.key.pem", keynode);
    snprintf(cp, sizeof(cp), FIX "pki/nodes/%s/signer.pem", keynode);
    EVP_PKEY *k = load_key(kp);
    X509 *c = load_cert(cp);
    crgw_xmldsig_sign_opts so = {.alg = alg, .digest = digest, .ref_by_id = by_id};
    char err[256];
    cr_assert_eq(crgw_xmldsig_sign(doc, k, c, NULL, &so, err, sizeof(err)), CRGW_XMLDSIG_OK,
                 "%s", err);
    char *out = NULL;
    size_t out_len = 0;
    cr_assert_eq(crgw_xmldsig_serialize(doc, &out, &out_len), 0);
    xmlFreeDoc(doc);
    cr_expect_eq(verify_buf(out, out_len, err, sizeof(err)), CRGW_XMLDSIG_OK, "%s %s: %s", node,
                 alg, err);
    /* one-byte changes: in the content (every 7th byte of the body, or all) must not pass */
    /* from the document element on (the prolog comment is not signed content) */
    size_t start = 0;
    while (start + 1 < out_len && !(out[start] == '<' && out[start + 1] != '?' &&
                                    out[start + 1] != '!'))
        start++;
    /* KeyInfo is not covered by the signature (a changed certificate fails the chain, not
     * the signature): flip everything before it */
    const char *ki = strstr(out, "<ds:KeyInfo");
    size_t end = ki ? (size_t)(ki - out) : out_len;
    size_t step = flip_all ? 1 : 7;
    size_t passes = 0, tried = 0;
    for (size_t i = start; i < end; i += step) {
        char saved = out[i];
        out[i] = (char)(saved ^ 0x01);
        int rc = verify_buf(out, out_len, err, sizeof(err));
        out[i] = saved;
        tried++;
        if (rc == CRGW_XMLDSIG_OK) {
            /* only changes invisible to the canonical form may pass: white space inside
             * the signature or between attributes, never content */
            passes++;
            cr_expect(saved == ' ' || saved == '\n' || saved == '!', "%s %s: flip at %zu ('%c') "
                      "passes", node, alg, i, saved);
        }
    }
    cr_expect_gt(tried, 10);
    free(out);
    X509_free(c);
    EVP_PKEY_free(k);
}

Test(xmldsig, sign_roundtrip_rsa)
{
    sign_and_flip("120000", "RS256", "SHA256", 0, "120000", 0);
    sign_and_flip("120000", "PS256", "SHA384", 0, "120000", 0);
}

Test(xmldsig, sign_roundtrip_sm2_gb18030)
{
    sign_and_flip("310000", "SM2-SM3", "SM3", 1, "310000", 0);
}

Test(xmldsig, sign_roundtrip_ecdsa_eddsa)
{
    sign_and_flip("120000", "ES256", "SHA256", 0, "510100", 0);
    sign_and_flip("120000", "EdDSA", "SHA512", 0, "440100", 0);
}
