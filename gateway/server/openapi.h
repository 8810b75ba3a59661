/*
 * openapi: the OpenAPI 3.1 description of every public route (gateway/openapi.yaml), embedded in
 * the binary at build time, and the route that serves it.
 */
#ifndef CRGW_OPENAPI_H
#define CRGW_OPENAPI_H

#include <stddef.h>

#include "gateway/server/http.h"

/* The bytes of gateway/openapi.yaml as built into this binary (*len bytes, NUL after them). */
const char *crgw_openapi_yaml(size_t *len);

/* GET /v1/openapi.yaml: 200 application/yaml, any authenticated caller (h2c: anyone). */
void crgw_route_openapi(crgw_req *r);

#endif
