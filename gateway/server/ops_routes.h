/*
 * ops_routes: the operator routes /healthz, /readyz and /metrics, and /v1/openapi.yaml.
 */
#ifndef CRGW_OPS_ROUTES_H
#define CRGW_OPS_ROUTES_H

#include "gateway/server/http.h"
#include "gateway/server/module.h"

/* The server's own module: these routes, no configuration section, no state. */
extern const crgw_module crgw_ops_module;

/* GET /healthz: 200 {"status":"ok"} while the loop runs. */
void crgw_route_healthz(crgw_req *r);
/* GET /readyz: 200 when configured and Redis answers PING (and every module is ready), else 503. */
void crgw_route_readyz(crgw_req *r);
/* GET /metrics: Prometheus text format. */
void crgw_route_metrics(crgw_req *r);

#endif
