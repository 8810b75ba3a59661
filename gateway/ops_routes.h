/*
 * ops_routes: the operator routes /healthz, /readyz, /metrics, and placeholders of routes whose
 * module is not written yet (each answers 501 problem "not-implemented" until replaced).
 */
#ifndef CRGW_OPS_ROUTES_H
#define CRGW_OPS_ROUTES_H

#include "gateway/http.h"

/* GET /healthz: 200 {"status":"ok"} while the loop runs. */
void crgw_route_healthz(crgw_req *r);
/* GET /readyz: 200 when configured and Redis answers PING (and every module is ready), else 503. */
void crgw_route_readyz(crgw_req *r);
/* GET /metrics: Prometheus text format. */
void crgw_route_metrics(crgw_req *r);
/*
 * PLACEHOLDER for GET /v1/federation/peers [operator] until the repair/federation module
 * provides the real handler: answers 501 problem "not-implemented". Replace it in routes.c.
 */
void crgw_route_peers_placeholder(crgw_req *r);

#endif
