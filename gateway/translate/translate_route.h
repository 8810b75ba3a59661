/*
 * translate_route: POST /v1/reports/translate?from=DIALECT|auto&to=canonical|DIALECT (API.md).
 *
 * 200 with the canonical JSON (warnings count in the x-crgw-warnings header), or
 * {"document", "dialect", "warnings": [{"path","message"}]}; 422 problem+json of type
 * "untranslatable-report" with "errors": [{"path","message"}]; 400 for an unknown dialect name.
 * The mapping files are loaded lazily from cfg->adapters_dir (or the default directory) once per
 * configuration object and reloaded when the configuration changes.
 */
#ifndef CRGW_TRANSLATE_ROUTE_H
#define CRGW_TRANSLATE_ROUTE_H

#include "gateway/server/http.h"
#include "gateway/translate/translate.h"

void crgw_route_translate(crgw_req *r);

/*
 * The adapters for a configuration (loaded on first use, kept until the configuration object
 * or its adapters_dir changes). NULL when the mapping files do not load (logged). Borrowed:
 * valid until the next call with another configuration. Other routes (verify) may share it.
 */
const crgw_adapters *crgw_translate_adapters(struct crgw_config *cfg);

#endif
