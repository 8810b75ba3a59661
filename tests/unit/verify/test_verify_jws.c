/* JWS: parse, verify the fixture reports, sign/verify round trips, compact federation API. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509_vfy.h>

#include "gateway/core/b64.h"
#include "gateway/verify/jws.h"
#include "gateway/core/util.h"

#define FIX "tests/fixtures/"

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    cr_assert_eq(crgw_read_file(path, 1 << 24, &d, len), 0, "read %s", path);
    return d;
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

static int verify_file(const char *path, crgw_jws_form *form)
{
    size_t len;
    char *d = slurp(path, &len);
    crgw_jws j;
    int rc = crgw_jws_parse(d, len, 0, &j);
    if (rc == CRGW_JWS_OK)
        rc = crgw_jws_check(&j, NULL);
    if (form)
        *form = j.form;
    crgw_jws_cleanup(&j);
    free(d);
    return rc;
}

Test(jws, valid_fixtures_verify)
{
    static const char *const files[] = {"510100.json", "500000.json", "530100.json",
                                        "450100.json", "460100.json", "440100.jws",
                                        "440300.jws"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(files); i++) {
        char p[256];
        snprintf(p, sizeof(p), FIX "reports/valid/%s", files[i]);
        crgw_jws_form form = 0;
        cr_expect_eq(verify_file(p, &form), CRGW_JWS_OK, "%s", files[i]);
        cr_expect_eq(form, strstr(files[i], ".jws") ? CRGW_JWS_COMPACT : CRGW_JWS_FLATTENED);
    }
}

Test(jws, tampered_fixtures_fail)
{
    cr_expect_eq(verify_file(FIX "reports/invalid/tampered-content.510100.json", NULL),
                 CRGW_ERR_SIG);
    cr_expect_eq(verify_file(FIX "reports/invalid/tampered-content.440100.jws", NULL),
                 CRGW_ERR_SIG);
    cr_expect_eq(verify_file(FIX "reports/invalid/tampered-signature.510100.json", NULL),
                 CRGW_ERR_SIG);
    cr_expect_eq(verify_file(FIX "reports/invalid/tampered-signature.440100.jws", NULL),
                 CRGW_ERR_SIG);
    /* bare payload JSON: not a JWS */
    cr_expect_eq(verify_file(FIX "reports/invalid/unsigned.510100.json", NULL),
                 CRGW_ERR_INVALID);
}

static void roundtrip(const char *node, const char *alg, crgw_jws_form form)
{
    char kp[256], cp[256], cap[256];
    snprintf(kp, sizeof(kp), FIX "pki/nodes/%s/signer.key.pem", node);
    snprintf(cp, sizeof(cp), FIX "pki/nodes/%s/signer.pem", node);
    snprintf(cap, sizeof(cap), FIX "pki/nodes/%s/issuing-ca.pem", node);
    EVP_PKEY *k = load_key(kp);
    STACK_OF(X509) *x5c = sk_X509_new_null();
    sk_X509_push(x5c, load_cert(cp));
    sk_X509_push(x5c, load_cert(cap));
    static const char payload[] = "{\"hello\": \"\xe4\xb8\x96\xe7\x95\x8c\"}\n";
    char *out = NULL;
    size_t out_len = 0;
    cr_assert_eq(crgw_jws_sign(k, alg, "x+jws", x5c, payload, strlen(payload), form, &out,
                               &out_len),
                 CRGW_JWS_OK, "%s %s", node, alg);
    crgw_jws j;
    cr_assert_eq(crgw_jws_parse(out, out_len, form, &j), CRGW_JWS_OK, "%s", j.err);
    cr_expect_eq(crgw_jws_check(&j, NULL), CRGW_JWS_OK, "%s: %s", alg, j.err);
    cr_expect_eq(j.payload_len, strlen(payload));
    cr_expect_str_eq(j.typ, "x+jws");
    cr_expect_eq(memcmp(j.payload, payload, j.payload_len), 0);
    crgw_jws_cleanup(&j);
    /* flip one byte of the signing input (header or payload): must fail */
    size_t dot = strcspn(out, ".");
    size_t pos = form == CRGW_JWS_COMPACT ? dot + 3 : (size_t)(strstr(out, "payload") - out) + 14;
    out[pos] = out[pos] == 'A' ? 'B' : 'A';
    int rc = crgw_jws_parse(out, out_len, form, &j);
    if (rc == CRGW_JWS_OK)
        rc = crgw_jws_check(&j, NULL);
    cr_expect_neq(rc, CRGW_JWS_OK, "%s: one changed byte must fail", alg);
    crgw_jws_cleanup(&j);
    free(out);
    sk_X509_pop_free(x5c, X509_free);
    EVP_PKEY_free(k);
}

Test(jws, sign_roundtrip_all_key_types)
{
    roundtrip("510100", "ES256", CRGW_JWS_FLATTENED);
    roundtrip("510100", "ES256", CRGW_JWS_COMPACT);
    roundtrip("440100", "EdDSA", CRGW_JWS_COMPACT);
    roundtrip("120000", "RS256", CRGW_JWS_FLATTENED);
    roundtrip("120000", "PS256", CRGW_JWS_COMPACT);
    roundtrip("310000", "SM2-SM3", CRGW_JWS_COMPACT);
}

Test(jws, sign_refuses_wrong_key)
{
    EVP_PKEY *k = load_key(FIX "pki/nodes/510100/signer.key.pem");
    char *out = NULL;
    cr_expect_eq(crgw_jws_sign_compact(k, "RS256", NULL, "x", 1, &out), CRGW_ERR_KEY);
    cr_expect_eq(crgw_jws_sign_compact(k, "HS256", NULL, "x", 1, &out), CRGW_ERR_ALG);
    cr_expect_eq(crgw_jws_sign_compact(k, "none", NULL, "x", 1, &out), CRGW_ERR_ALG);
    EVP_PKEY_free(k);
}

Test(jws, verify_compact_federation)
{
    EVP_PKEY *k = load_key(FIX "pki/federation/120000/tls.key.pem");
    STACK_OF(X509) *x5c = sk_X509_new_null();
    sk_X509_push(x5c, load_cert(FIX "pki/federation/120000/tls.pem"));
    char *out = NULL;
    static const char ev[] = "{\"event_id\":\"01J\",\"origin_node\":\"120000\"}";
    cr_assert_eq(crgw_jws_sign_compact(k, "ES256", x5c, ev, strlen(ev), &out), CRGW_JWS_OK);

    X509_STORE *fed = X509_STORE_new();
    X509 *fed_ca = load_cert(FIX "pki/federation/federation-ca.pem");
    X509_STORE_add_cert(fed, fed_ca);
    X509_free(fed_ca);
    X509_STORE *rogue = X509_STORE_new();
    X509 *rogue_ca = load_cert(FIX "pki/federation/rogue-ca.pem");
    X509_STORE_add_cert(rogue, rogue_ca);
    X509_free(rogue_ca);

    unsigned char *payload = NULL;
    size_t plen = 0;
    X509 *signer = NULL;
    char err[200];
    cr_expect_eq(crgw_jws_verify_compact(out, strlen(out), NULL, fed, &payload, &plen, &signer,
                                         err, sizeof(err)),
                 CRGW_JWS_OK, "%s", err);
    cr_expect_eq(plen, strlen(ev));
    cr_expect_str_eq((char *)payload, ev);
    cr_expect_not_null(signer);
    cr_expect_eq(X509_cmp(signer, sk_X509_value(x5c, 0)), 0);
    free(payload);
    X509_free(signer);
    payload = NULL;
    cr_expect_eq(crgw_jws_verify_compact(out, strlen(out), NULL, rogue, &payload, &plen, NULL,
                                         err, sizeof(err)),
                 CRGW_ERR_CHAIN);
    cr_expect_null(payload);
    static const char *const only_eddsa[] = {"EdDSA", NULL};
    cr_expect_eq(crgw_jws_verify_compact(out, strlen(out), only_eddsa, fed, &payload, &plen,
                                         NULL, err, sizeof(err)),
                 CRGW_ERR_ALG);
    free(out);
    X509_STORE_free(fed);
    X509_STORE_free(rogue);
    sk_X509_pop_free(x5c, X509_free);
    EVP_PKEY_free(k);
}

Test(jws, b64_strict)
{
    unsigned char *o = NULL;
    size_t n = 0;
    cr_expect_eq(crgw_b64url_decode("YWJj", 4, &o, &n), 0);
    cr_expect_eq(n, 3);
    free(o);
    cr_expect_eq(crgw_b64url_decode("YWI", 3, &o, &n), 0);
    cr_expect_eq(n, 2);
    free(o);
    cr_expect_eq(crgw_b64url_decode("YWJ", 3, &o, &n), CRGW_ERR_INVALID, "non-zero trailing bits");
    cr_expect_eq(crgw_b64url_decode("YWI=", 4, &o, &n), CRGW_ERR_INVALID, "padding in base64url");
    cr_expect_eq(crgw_b64url_decode("Y+Jj", 4, &o, &n), CRGW_ERR_INVALID);
    cr_expect_eq(crgw_b64url_decode("Y", 1, &o, &n), CRGW_ERR_INVALID);
    cr_expect_eq(crgw_b64_decode("YW\nI=", 5, 1, &o, &n), 0);
    cr_expect_eq(n, 2);
    free(o);
    cr_expect_eq(crgw_b64_decode("YW\nI=", 5, 0, &o, &n), CRGW_ERR_INVALID);
    cr_expect_eq(crgw_b64_decode("YWI", 3, 0, &o, &n), CRGW_ERR_INVALID, "missing padding");
    cr_expect_eq(crgw_b64_decode("YWI=YWI=", 8, 0, &o, &n), CRGW_ERR_INVALID);
}
