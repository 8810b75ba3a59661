/*
 * cache_route: POST /v1/reports/verify through the verdict cache (gateway/cache/cache.h), the
 * server module that owns the cache, and `crgw verify --redis ADDR`.
 *
 * The route checks the request exactly as gateway/verify/verify_route.c does (400 empty body, bad
 * `at`, unknown `to`; 503 without trust material), then submits it to the cache; on a miss or
 * a bypass the cache calls crgw_verify_report (+ the translation for `to`) of the
 * configuration's verifier (crgw_verify_route_verifier), synchronously on the loop.
 * `at=` (evaluation at another time) is never cached: such answers say "cache": "bypass".
 *
 * The answer version in the key = SHA-256 of the verifier's trust version (anchors, CRLs,
 * algorithms, policy of every node), this node's code, the agreements, the legacy USCC list and
 * the bytes of the adapters' mapping files (they shape the canonical report), computed once per
 * configuration.
 */
#ifndef CRGW_CACHE_ROUTE_H
#define CRGW_CACHE_ROUTE_H

#include "gateway/server/http.h"
#include "gateway/server/server.h"

struct crgw_config;
struct crgw_verifier;

/* The handler of POST /v1/reports/verify (routes.c). */
void crgw_route_verify_cached(crgw_req *r);

/* Module hooks (server.c module table): the process's cache on the server's loop and Redis. */
int crgw_cache_route_start(crgw_server *s);
void crgw_cache_route_reload(crgw_server *s, struct crgw_config *old);
void crgw_cache_route_stop(crgw_server *s);
const char *crgw_cache_route_not_ready(crgw_server *s);

/*
 * The answer version of a configuration and its verifier into out (65 bytes, hex): the trust
 * version, this node, the agreements, the legacy USCC list and the digest of the mapping files
 * the verifier loaded. Returns 0.
 */
int crgw_cache_answer_version(const struct crgw_config *cfg, const struct crgw_verifier *v,
                              char out[65]);

/*
 * `crgw verify --redis ADDR`: verifies each file through the cache of that Redis (its own event
 * loop, the asynchronous client; a Redis that does not answer means "bypass"), prints one JSON
 * object per file ("file" + the answer). scenario and at (0 = now; another time bypasses the
 * cache) as for the route. Returns the exit status: 0 when every file is TOTAL_PASSED (and
 * recognised when a scenario is asked), 1 otherwise, 2 on a usage or set-up error.
 */
int crgw_cache_cli_verify(struct crgw_config *cfg, struct crgw_verifier *v, const char *redis,
                          const char *scenario, int64_t at, int pretty, int n, char **files);

#endif
