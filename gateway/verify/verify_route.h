/*
 * verify_route: POST /v1/reports/verify?scenario=S&to=DIALECT[&at=RFC3339] [verifier].
 *
 * The body is the report exactly as issued (XML, flattened JWS JSON or compact JWS); the answer
 * is the verdict of crgw_verify_report (API.md), 200 even when the verdict is a failure; 400 for
 * an empty body or a bad parameter. `to` adds "translated" (the canonical report in that
 * dialect) when the report could be read.
 */
#ifndef CRGW_VERIFY_ROUTE_H
#define CRGW_VERIFY_ROUTE_H

#include "gateway/server/http.h"
#include "gateway/verify/verify.h"

void crgw_route_verify(crgw_req *r);

/*
 * The verifier of a configuration: built on first use for that configuration (trust stores,
 * adapters) and kept until another configuration is asked for (reload). NULL when the trust
 * material or the adapters cannot be loaded (logged). One per process (one event loop).
 */
crgw_verifier *crgw_verify_route_verifier(struct crgw_config *cfg);

/*
 * Builds the verifier of cfg now (trust stores, CRL signatures, adapters) and makes it the
 * process's verifier. On failure the errors go to errs and the current verifier stays: the
 * server calls it at start-up (failure: refuse to start) and before swapping in a reloaded
 * configuration (failure: refuse the reload), so no request pays for loading trust material.
 * Returns 0 or -1.
 */
int crgw_verify_route_install(struct crgw_config *cfg, crgw_errs *errs);

/*
 * Adds to a verdict "translated" (its canonical report in dialect `to`, translated by node) and
 * "translation_warnings", or "translation_errors" when it cannot be translated.
 */
void crgw_verify_add_translation(crgw_verifier *v, const char *node, const char *to,
                                 json_t *verdict);

/* Frees the process's verifier (shutdown, tests). */
void crgw_verify_route_shutdown(void);

#endif
