/*
 * jsonmap: the JSON engine (jansson): strict parsing (crgw_json_parse_strict, declared in
 * translate.h), JWS envelopes (flattened JSON and compact: the payload is read, the signature is
 * the verifier's business), reading a mapping's fields, writing a dialect document.
 */
#ifndef CRGW_JSONMAP_H
#define CRGW_JSONMAP_H

#include <stddef.h>

#include <jansson.h>

#include "gateway/translate/mapping.h"
#include "gateway/translate/translate.h"

/*
 * Parses the bytes of a JSON dialect document: plain JSON, flattened JWS JSON or compact JWS.
 * *payload: the report JSON (new ref); *envelope: 0, MAP_ENV_JWS_FLAT or MAP_ENV_JWS_COMPACT.
 * 0 or -1 (errors with path "$" or the JSON location of a duplicate key).
 */
int jsonmap_unwrap(const char *buf, size_t len, int max_depth, json_t **payload, unsigned *envelope,
                   crgw_diags *errs);
/* 1 if every fixed value of d is present and equal in payload (d must have some). */
int jsonmap_matches(const map_dialect *d, json_t *payload);
int jsonmap_read(const map_dialect *d, json_t *payload, const crgw_translate_opts *o, json_t *canon,
                 json_t **origin, crgw_diags *warn, crgw_diags *errs);
/* Writes canon as a pretty-printed UTF-8 document of d with prov as "x-crgw-provenance". */
int jsonmap_write(const map_dialect *d, json_t *canon, json_t *prov, const crgw_translate_opts *o,
                  char **out, size_t *out_len, crgw_diags *warn, crgw_diags *errs);

#endif
