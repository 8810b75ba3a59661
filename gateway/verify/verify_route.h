/*
 * verify_route: the verify module. POST /v1/reports/verify?scenario=S&to=DIALECT[&at=RFC3339]
 * [verifier] and `crgw verify --redis ADDR`.
 *
 * The body is the report exactly as issued (XML, flattened JWS JSON or compact JWS); the answer
 * is the verdict of crgw_verify_report (API.md), 200 even when the verdict is a failure; 400 for
 * an empty body or a bad parameter, 503 without trust material. `to` adds "translated" (the
 * canonical report in that dialect) when the report could be read.
 *
 * One path: the request is checked, then answered through the verdict cache of the cache
 * module (gateway/cache/cache.h) when it runs on this server, which calls back this module's
 * verification on a miss or a bypass, synchronously on the loop; without a cache module (the
 * embedded server of the fuzz harness) the same verification answers directly. `at=`
 * (evaluation at another time) is never cached: such answers say "cache": "bypass".
 *
 * The module's state is the verifier of the configuration in force (trust stores, CRL
 * signatures, adapters), built at start and on reload, never by a request; its check hook
 * builds one to see that the trust material loads (check-config, reload pre-flight).
 *
 * The answer version in the cache key = SHA-256 of the verifier's trust version (anchors, CRLs,
 * algorithms, policy of every node), this node's code, the agreements, the legacy USCC list and
 * the bytes of the adapters' mapping files (they shape the canonical report), computed once per
 * configuration.
 */
#ifndef CRGW_VERIFY_ROUTE_H
#define CRGW_VERIFY_ROUTE_H

#include <stdint.h>

#include "gateway/server/http.h"
#include "gateway/server/module.h"
#include "gateway/verify/verify.h"

extern const crgw_module crgw_verify_module;

/*
 * The answer version of a configuration and its verifier into out (65 bytes, hex): the trust
 * version, this node, the agreements, the legacy USCC list and the digest of the mapping files
 * the verifier loaded. Returns 0.
 */
int crgw_verify_answer_version(const struct crgw_config *cfg, const crgw_verifier *v, char out[65]);

/*
 * `crgw verify --redis ADDR`: a session verifies reports through the cache of that Redis (its
 * own event loop and asynchronous client; a Redis that does not answer means "bypass"). One
 * session per thread, each with its own verifier. scenario and at (0 = now; another time
 * bypasses the cache) as for the route; cfg and v must outlive the session.
 * open: NULL on a set-up error (bad address). one: the answer object (API.md, with "current"
 * and "cache") and its HTTP status, or NULL when no answer came within 10 s.
 */
typedef struct crgw_verify_cli crgw_verify_cli;
crgw_verify_cli *crgw_verify_cli_open(struct crgw_config *cfg, crgw_verifier *v, const char *redis,
                                      const char *scenario, int64_t at);
json_t *crgw_verify_cli_one(crgw_verify_cli *s, const char *data, size_t len, int *status);
void crgw_verify_cli_close(crgw_verify_cli *s);

/*
 * One report verified exactly as POST /v1/reports/verify answers it (the same verification,
 * through the cache when it runs, one audit entry under the given route name), for
 * POST /v1/reports/verify-batch. crgw_verify_params_new reads r's query (scenario, at, to) as
 * the single route does: NULL once it answered r with the problem (400, 503). Each submit calls
 * done exactly once, before returning or later (a Redis reply), with the answer the single
 * route would give: status, content type, body (valid during the call). body stays the
 * caller's until then; the params must outlive every pending submit.
 */
typedef struct crgw_verify_params crgw_verify_params;
typedef void (*crgw_verify_done_fn)(void *priv, int status, const char *content_type,
                                    const char *body, size_t len);
crgw_verify_params *crgw_verify_params_new(crgw_req *r, const char *route);
void crgw_verify_submit(crgw_verify_params *p, const char *body, size_t len,
                        crgw_verify_done_fn done, void *priv);
void crgw_verify_params_free(crgw_verify_params *p);

#endif
