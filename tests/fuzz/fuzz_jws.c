/*
 * libFuzzer target: the JWS parser and verifier (compact and flattened, header rules, x5c,
 * base64url) and the whole verification path on the same bytes. Findings: crashes, sanitizer
 * reports, leaks, a JWS that verifies after parse refused it, and a verdict that does not
 * serialise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/test_modules.h"
#include "gateway/server/config.h"
#include "gateway/verify/jws.h"
#include "gateway/verify/verify.h"

#ifndef CRGW_SRCDIR
#define CRGW_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static crgw_verifier *fz_verifier;

static void fz_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/test/node-510100.yaml", CRGW_SRCDIR);
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    if (crgw_config_load(path, crgw_test_modules, &cfg, &errs) != 0 || crgw_verifier_new(cfg, &fz_verifier, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        abort();
    }
    crgw_errs_cleanup(&errs);
    crgw_config_unref(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    const char *s = (const char *)data;
    crgw_jws_form form = 0;
    crgw_jws_sniff(s, size, &form);
    for (int f = 0; f < 3; f++) {
        crgw_jws j;
        int rc = crgw_jws_parse(s, size, (crgw_jws_form)f, &j);
        if (rc == CRGW_JWS_OK) {
            if (j.alg == NULL || j.signing_input == NULL || j.sig == NULL)
                abort(); /* parsed without the parts */
            crgw_jws_check(&j, NULL);
        }
        crgw_jws_cleanup(&j);
    }
    unsigned char *payload = NULL;
    size_t plen = 0;
    X509 *signer = NULL;
    char err[200];
    static const char *const algs[] = {"ES256", "EdDSA", "RS256", "PS256", "SM2-SM3", NULL};
    if (crgw_jws_verify_compact(s, size, algs, NULL, &payload, &plen, &signer, err,
                                sizeof(err)) == CRGW_JWS_OK) {
        free(payload);
        X509_free(signer);
    }
    crgw_verify_opts vo = {.scenario = size % 2 ? "tender" : NULL, .at = 1795413600};
    crgw_verify_outcome out;
    crgw_verify_report(fz_verifier, s, size, &vo, &out);
    char *js = json_dumps(out.verdict, JSON_COMPACT);
    if (js == NULL)
        abort();
    free(js);
    crgw_verify_outcome_cleanup(&out);
    return 0;
}
