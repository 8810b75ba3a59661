/*
 * Wycheproof vectors (tests/fixtures/vectors/wycheproof) through the gateway's one signature
 * primitive, crgw_sigalg_verify: every "valid" must verify, every "invalid" must fail.
 * "acceptable" cases are documented in vectors/README.md: the only ones in these files are RSA
 * PKCS#1 tcId 8 (DigestInfo without NULL), which OpenSSL 3.0 and therefore crgw reject; the
 * test asserts that rejection.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/core/sigalg.h"
#include "gateway/core/util.h"

#define WP "tests/fixtures/vectors/wycheproof/testvectors_v1/"

static unsigned char *unhex(const char *s, size_t *len)
{
    size_t n = strlen(s);
    cr_assert_eq(n % 2, 0, "odd hex length");
    unsigned char *out = xmalloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        cr_assert_eq(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
    *len = n / 2;
    return out;
}

typedef struct {
    size_t valid, invalid, acceptable, total;
    size_t wrong;
} tally;

/* alg_for: picks the crgw algorithm of a test group. */
typedef const char *(*alg_fn)(json_t *group);

static const char *ecdsa_alg(json_t *g)
{
    const char *sha = json_string_value(json_object_get(g, "sha"));
    return strcmp(sha, "SHA-256") == 0 ? "ES256" : strcmp(sha, "SHA-384") == 0 ? "ES384" : NULL;
}

static const char *rsa_alg(json_t *g)
{
    const char *sha = json_string_value(json_object_get(g, "sha"));
    return strcmp(sha, "SHA-256") == 0 ? "RS256" : strcmp(sha, "SHA-384") == 0 ? "RS384"
                                                                               : "RS512";
}

static const char *pss_alg(json_t *g)
{
    const char *sha = json_string_value(json_object_get(g, "sha"));
    const char *mgf = json_string_value(json_object_get(g, "mgfSha"));
    json_int_t slen = json_integer_value(json_object_get(g, "sLen"));
    cr_assert_str_eq(sha, mgf, "crgw PSS uses MGF1 with the same hash");
    if (strcmp(sha, "SHA-256") == 0 && slen == 32)
        return "PS256";
    if (strcmp(sha, "SHA-384") == 0 && slen == 48)
        return "PS384";
    if (strcmp(sha, "SHA-512") == 0 && slen == 64)
        return "PS512";
    return NULL;
}

static const char *eddsa_alg(json_t *g)
{
    (void)g;
    return "EdDSA";
}

static tally run_file(const char *name, alg_fn pick, crgw_sigenc enc)
{
    char path[512];
    snprintf(path, sizeof(path), WP "%s", name);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    cr_assert_not_null(root, "%s: %s", path, je.text);
    tally t = {0};
    json_t *groups = json_object_get(root, "testGroups");
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g)
    {
        const char *alg_name = pick(g);
        const crgw_sigalg *alg = crgw_sigalg_by_jws(alg_name);
        cr_assert_not_null(alg, "%s: no crgw algorithm for group %zu", name, gi);
        size_t der_len;
        unsigned char *der = unhex(json_string_value(json_object_get(g, "publicKeyDer")), &der_len);
        const unsigned char *p = der;
        EVP_PKEY *key = d2i_PUBKEY(NULL, &p, (long)der_len);
        free(der);
        cr_assert_not_null(key, "%s: group %zu key", name, gi);
        size_t ti;
        json_t *tc;
        json_array_foreach(json_object_get(g, "tests"), ti, tc)
        {
            const char *result = json_string_value(json_object_get(tc, "result"));
            json_int_t id = json_integer_value(json_object_get(tc, "tcId"));
            size_t ml, sl;
            unsigned char *msg = unhex(json_string_value(json_object_get(tc, "msg")), &ml);
            unsigned char *sig = unhex(json_string_value(json_object_get(tc, "sig")), &sl);
            int ok = crgw_sigalg_verify(alg, key, msg, ml, sig, sl, enc) == CRGW_SIGALG_OK;
            free(msg);
            free(sig);
            t.total++;
            if (strcmp(result, "valid") == 0) {
                t.valid++;
                if (!ok) {
                    t.wrong++;
                    cr_log_error("%s tcId %lld: valid signature rejected", name, (long long)id);
                }
            } else if (strcmp(result, "invalid") == 0) {
                t.invalid++;
                if (ok) {
                    t.wrong++;
                    cr_log_error("%s tcId %lld: invalid signature accepted", name, (long long)id);
                }
            } else {
                t.acceptable++;
                /* documented: OpenSSL 3.0 rejects the only acceptable cases (MissingNull) */
                if (ok) {
                    t.wrong++;
                    cr_log_error("%s tcId %lld: acceptable case accepted, README says rejected",
                                 name, (long long)id);
                }
            }
        }
        EVP_PKEY_free(key);
    }
    json_int_t declared = json_integer_value(json_object_get(root, "numberOfTests"));
    cr_expect_eq((json_int_t)t.total, declared, "%s: ran %zu of %lld tests", name, t.total,
                 (long long)declared);
    json_decref(root);
    return t;
}

Test(wycheproof, ecdsa_p256_der)
{
    tally t = run_file("ecdsa_secp256r1_sha256_test.json", ecdsa_alg, CRGW_SIGENC_DER);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 174);
    cr_expect_eq(t.invalid, 310);
}

Test(wycheproof, ecdsa_p256_p1363)
{
    tally t = run_file("ecdsa_secp256r1_sha256_p1363_test.json", ecdsa_alg, CRGW_SIGENC_P1363);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 173);
    cr_expect_eq(t.invalid, 89);
}

Test(wycheproof, ecdsa_p384_der)
{
    tally t = run_file("ecdsa_secp384r1_sha384_test.json", ecdsa_alg, CRGW_SIGENC_DER);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 194);
}

Test(wycheproof, ecdsa_p384_p1363)
{
    tally t = run_file("ecdsa_secp384r1_sha384_p1363_test.json", ecdsa_alg, CRGW_SIGENC_P1363);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 193);
}

Test(wycheproof, rsa_pkcs1_2048)
{
    tally t = run_file("rsa_signature_2048_sha256_test.json", rsa_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 9);
    cr_expect_eq(t.acceptable, 1);
}

Test(wycheproof, rsa_pkcs1_3072)
{
    tally t = run_file("rsa_signature_3072_sha256_test.json", rsa_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 8);
}

Test(wycheproof, rsa_pss_sha256)
{
    tally t = run_file("rsa_pss_2048_sha256_mgf1_32_test.json", pss_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 63);
}

Test(wycheproof, rsa_pss_sha384)
{
    tally t = run_file("rsa_pss_2048_sha384_mgf1_48_test.json", pss_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 95);
}

Test(wycheproof, rsa_pss_sha512)
{
    tally t = run_file("rsa_pss_4096_sha512_mgf1_64_test.json", pss_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 132);
}

Test(wycheproof, ed25519)
{
    tally t = run_file("ed25519_test.json", eddsa_alg, CRGW_SIGENC_RAW);
    cr_expect_eq(t.wrong, 0);
    cr_expect_eq(t.valid, 88);
    cr_expect_eq(t.invalid, 63);
}

/* GM/T 0003.5 Annex A: SM2 with SM3 and the standard ID, message "message digest". */
Test(sm2_vectors, gmt0003_annex_a)
{
    FILE *f = fopen("tests/fixtures/vectors/sm2/derived/gmt0003_5_annexA_pub.pem", "r");
    cr_assert_not_null(f);
    EVP_PKEY *key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(key);
    char *sig = NULL;
    size_t sl = 0;
    cr_assert_eq(crgw_read_file("tests/fixtures/vectors/sm2/derived/gmt0003_5_annexA_sig.der",
                                4096, &sig, &sl),
                 0);
    const crgw_sigalg *alg = crgw_sigalg_by_jws("SM2-SM3");
    static const char msg[] = "message digest";
    cr_expect_eq(crgw_sigalg_verify(alg, key, (const unsigned char *)msg, strlen(msg),
                                    (unsigned char *)sig, sl, CRGW_SIGENC_DER),
                 CRGW_SIGALG_OK);
    cr_expect_neq(crgw_sigalg_verify(alg, key, (const unsigned char *)msg, strlen(msg) - 1,
                                     (unsigned char *)sig, sl, CRGW_SIGENC_DER),
                  CRGW_SIGALG_OK, "changed message must fail");
    sig[sl - 3] ^= 1;
    cr_expect_neq(crgw_sigalg_verify(alg, key, (const unsigned char *)msg, strlen(msg),
                                     (unsigned char *)sig, sl, CRGW_SIGENC_DER),
                  CRGW_SIGALG_OK, "changed signature must fail");
    /* SM2 keys are not ECDSA keys */
    cr_expect_eq(crgw_sigalg_verify(crgw_sigalg_by_jws("ES256"), key, (const unsigned char *)msg,
                                    strlen(msg), (unsigned char *)sig, sl, CRGW_SIGENC_DER),
                 CRGW_ERR_KEY);
    free(sig);
    EVP_PKEY_free(key);
}

/* ---- json_web_signature_test.json through crgw_jws_parse + crgw_jws_check ---- */

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "gateway/core/b64.h"
#include "gateway/verify/jws.h"

static BIGNUM *jwk_bn(json_t *jwk, const char *name)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    cr_assert_not_null(s, "JWK member %s", name);
    unsigned char *b = NULL;
    size_t n = 0;
    cr_assert_eq(crgw_b64url_decode(s, strlen(s), &b, &n), 0);
    BIGNUM *bn = BN_bin2bn(b, (int)n, NULL);
    free(b);
    return bn;
}

/* The public key of a JWK (EC P-256/384/521 or RSA), NULL for other key types. */
static EVP_PKEY *jwk_key(json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY *key = NULL;
    BIGNUM *a = NULL, *b = NULL;
    unsigned char *pt = NULL;
    const char *type = NULL;
    if (kty != NULL && strcmp(kty, "RSA") == 0) {
        a = jwk_bn(jwk, "n");
        b = jwk_bn(jwk, "e");
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, a);
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, b);
        type = "RSA";
    } else if (kty != NULL && strcmp(kty, "EC") == 0) {
        const char *crv = json_string_value(json_object_get(jwk, "crv"));
        const char *group = strcmp(crv, "P-256") == 0   ? "prime256v1"
                            : strcmp(crv, "P-384") == 0 ? "secp384r1"
                                                        : "secp521r1";
        size_t sz = strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
        a = jwk_bn(jwk, "x");
        b = jwk_bn(jwk, "y");
        pt = xmalloc(1 + 2 * sz);
        pt[0] = 4;
        BN_bn2binpad(a, pt + 1, (int)sz);
        BN_bn2binpad(b, pt + 1 + sz, (int)sz);
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * sz);
        type = "EC";
    }
    if (type != NULL) {
        OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
        if (EVP_PKEY_fromdata_init(ctx) != 1 ||
            EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
            key = NULL;
        EVP_PKEY_CTX_free(ctx);
        OSSL_PARAM_free(params);
    }
    OSSL_PARAM_BLD_free(bld);
    BN_free(a);
    BN_free(b);
    free(pt);
    return key;
}

/* The key's own constraints: use "sig", key_ops containing "verify", alg pinned. */
static int jwk_allows(json_t *jwk, const char *alg)
{
    const char *use = json_string_value(json_object_get(jwk, "use"));
    if (use != NULL && strcmp(use, "sig") != 0)
        return 0;
    json_t *ops = json_object_get(jwk, "key_ops");
    if (ops != NULL) {
        int verify = 0;
        size_t i;
        json_t *o;
        json_array_foreach(ops, i, o)
        {
            if (json_is_string(o) && strcmp(json_string_value(o), "verify") == 0)
                verify = 1;
        }
        if (!verify)
            return 0;
    }
    const char *pin = json_string_value(json_object_get(jwk, "alg"));
    return pin == NULL || strcmp(pin, alg) == 0;
}

Test(wycheproof, json_web_signature)
{
    json_error_t je;
    json_t *root = json_load_file(WP "json_web_signature_test.json", 0, &je);
    cr_assert_not_null(root, "%s", je.text);
    size_t run = 0, skipped_hmac = 0, wrong = 0, pinned = 0;
    size_t gi;
    json_t *g;
    json_array_foreach(json_object_get(root, "testGroups"), gi, g)
    {
        json_t *jwk = json_object_get(g, "public");
        EVP_PKEY *key = jwk ? jwk_key(jwk) : NULL;
        size_t ti;
        json_t *tc;
        json_array_foreach(json_object_get(g, "tests"), ti, tc)
        {
            if (key == NULL) { /* HMAC groups: symmetric keys are out of scope (never accepted) */
                skipped_hmac++;
                continue;
            }
            json_int_t id = json_integer_value(json_object_get(tc, "tcId"));
            const char *result = json_string_value(json_object_get(tc, "result"));
            const char *jws = json_string_value(json_object_get(tc, "jws"));
            crgw_jws j;
            int ok = crgw_jws_parse(jws, strlen(jws), 0, &j) == CRGW_JWS_OK &&
                     jwk_allows(jwk, j.alg->jws) && crgw_jws_check(&j, key) == CRGW_JWS_OK;
            crgw_jws_cleanup(&j);
            run++;
            int want = strcmp(result, "valid") == 0;
            /* documented in vectors/README.md: RFC 7520 figures 20 and 27 sign with an alg other
             * than the JWK's pinned one; pinning rejects them (the safer choice) */
            if (id == 346 || id == 347 || id == 350 || id == 351) {
                cr_expect(!ok, "tcId %lld: pinned alg must reject", (long long)id);
                pinned++;
                continue;
            }
            if (ok != want) {
                wrong++;
                cr_log_error("JWS tcId %lld (%s): expected %s, got %s", (long long)id,
                             json_string_value(json_object_get(tc, "comment")), result,
                             ok ? "accepted" : "rejected");
            }
        }
        EVP_PKEY_free(key);
    }
    cr_expect_eq(wrong, 0, "%zu JWS vectors disagree", wrong);
    cr_expect_eq(pinned, 4);
    cr_expect_gt(run, 300);
    cr_log_info("JWS vectors: %zu run, %zu HMAC skipped", run, skipped_hmac);
    json_decref(root);
}
