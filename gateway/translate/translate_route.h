/*
 * translate_route: POST /v1/reports/translate?from=DIALECT|auto&to=canonical|DIALECT (API.md).
 *
 * 200 with the canonical JSON (warnings count in the x-crgw-warnings header), or
 * {"document", "dialect", "warnings": [{"path","message"}]}; 422 problem+json of type
 * "untranslatable-report" with "errors": [{"path","message"}]; 400 for an unknown dialect name.
 * The mapping files are loaded lazily from cfg->adapters_dir (or the default directory) once per
 * configuration object and reloaded when the configuration changes; they are the module's state.
 */
#ifndef CRGW_TRANSLATE_ROUTE_H
#define CRGW_TRANSLATE_ROUTE_H

#include "gateway/server/http.h"
#include "gateway/server/module.h"
#include "gateway/translate/translate.h"

/* The translate module (routes: POST /v1/reports/translate); its state: the adapters. */
extern const crgw_module crgw_translate_module;

void crgw_route_translate(crgw_req *r);

#endif
