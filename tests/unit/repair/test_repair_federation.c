/* Unit tests of gateway/repair/federation.c signing and verification of federation messages. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include "tests/unit/test_modules.h"
#include "gateway/server/config.h"
#include "gateway/repair/federation.h"
#include "gateway/verify/jws.h"
#include "gateway/server/peer_client.h"

static crgw_config *cfg;
static crgw_federation *fed;

static void setup(void)
{
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load("config/test/node-120000.yaml", crgw_test_modules, &cfg, &errs), 0);
    crgw_errs_cleanup(&errs);
    fed = crgw_federation_new(cfg);
    cr_assert_not_null(fed);
}

static void teardown(void)
{
    crgw_federation_free(fed);
    fed = NULL;
    crgw_config_unref(cfg);
}

TestSuite(federation, .init = setup, .fini = teardown);

static const char PAYLOAD[] =
    "{\"event_id\":\"01JD000000000000000000000A\",\"origin_node\":\"120000\",\"origin_seq\":17,"
    "\"decision\":\"repaired\"}";

static char *sign(void)
{
    char *jws = NULL;
    size_t len = 0;
    cr_assert_eq(crgw_federation_sign(fed, PAYLOAD, strlen(PAYLOAD), &jws, &len), 0);
    cr_assert_eq(len, strlen(jws));
    return jws;
}

Test(federation, round_trip_and_fast_path)
{
    char *jws = sign();
    char err[256];
    for (int i = 0; i < 3; i++) { /* first: full chain check; then the remembered signer */
        json_t *p = NULL;
        int rc = crgw_federation_verify(fed, cfg, "120000", jws, strlen(jws), &p, err, sizeof(err));
        cr_assert_eq(rc, 0, "%s", err);
        cr_assert_eq(json_integer_value(json_object_get(p, "origin_seq")), 17);
        json_decref(p);
    }
    free(jws);
}

Test(federation, interoperates_with_jws_module)
{
    char *jws = sign();
    X509_STORE *store = X509_STORE_new();
    cr_assert_eq(X509_STORE_load_file(store, cfg->client_ca), 1);
    unsigned char *payload = NULL;
    size_t plen = 0;
    X509 *signer = NULL;
    char err[256] = "";
    int rc = crgw_jws_verify_compact(jws, strlen(jws), NULL, store, &payload, &plen, &signer, err,
                                     sizeof(err));
    cr_assert_eq(rc, CRGW_JWS_OK, "%s", err);
    cr_assert_eq(plen, strlen(PAYLOAD));
    cr_assert_eq(memcmp(payload, PAYLOAD, plen), 0);
    cr_assert(crgw_cert_has_uri(signer, "urn:crgw:node:120000"));
    cr_assert_not(crgw_cert_has_uri(signer, "urn:crgw:node:330100"));
    cr_assert_not(crgw_cert_has_uri(signer, "urn:crgw:node:12000"));
    X509_free(signer);
    free(payload);
    X509_STORE_free(store);
    free(jws);
}

Test(federation, another_nodes_identity_is_refused)
{
    char *jws = sign();
    json_t *p = NULL;
    char err[256] = "";
    /* Signed by 120000, presented as coming from 330100: the certificate does not name it. */
    int rc = crgw_federation_verify(fed, cfg, "330100", jws, strlen(jws), &p, err, sizeof(err));
    cr_assert_eq(rc, CRGW_ERR_DENIED);
    cr_assert_null(p);
    cr_assert(strstr(err, "urn:crgw:node:330100") != NULL, "%s", err);
    rc = crgw_federation_verify(fed, cfg, "999999", jws, strlen(jws), &p, err, sizeof(err));
    cr_assert_eq(rc, CRGW_ERR_DENIED);
    free(jws);
}

/* Flips one character of part k (0 header, 1 payload, 2 signature) of a compact JWS. */
static void tamper(char *jws, int k)
{
    char *p = jws;
    for (int i = 0; i < k; i++)
        p = strchr(p, '.') + 1;
    p[5] = p[5] == 'A' ? 'B' : 'A';
}

Test(federation, tampering_is_detected_on_both_paths)
{
    char err[256];
    json_t *p = NULL;
    for (int warm = 0; warm < 2; warm++) {
        if (warm) { /* remember the signer first: the fast path must still check signatures */
            char *ok = sign();
            cr_assert_eq(
                crgw_federation_verify(fed, cfg, "120000", ok, strlen(ok), &p, err, sizeof(err)), 0);
            json_decref(p);
            free(ok);
        }
        for (int k = 1; k <= 2; k++) {
            char *jws = sign();
            tamper(jws, k);
            p = NULL;
            int rc = crgw_federation_verify(fed, cfg, "120000", jws, strlen(jws), &p, err, sizeof(err));
            cr_assert_neq(rc, 0, "tampered part %d accepted (warm %d)", k, warm);
            cr_assert_null(p);
            free(jws);
        }
    }
    p = NULL;
    cr_assert_eq(crgw_federation_verify(fed, cfg, "120000", "a.b.c", 5, &p, err, sizeof(err)),
                 CRGW_ERR_INVALID);
    cr_assert_eq(crgw_federation_verify(fed, cfg, "120000", "", 0, &p, err, sizeof(err)),
                 CRGW_ERR_INVALID);
}
