/*
 * xmlmap: the XML engine (libxml2 trees): hardened parsing (crgw_xml_parse_strict, declared in
 * translate.h), reading a mapping's fields over a tree, writing a document in a dialect's
 * encoding. Paths are walked directly over element children (no XPath evaluation).
 */
#ifndef CRGW_XMLMAP_H
#define CRGW_XMLMAP_H

#include <jansson.h>
#include <libxml/tree.h>

#include "gateway/translate/mapping.h"
#include "gateway/translate/translate.h"

/* 1 if root is the dialect's root element (namespace and local name). */
int xmlmap_root_matches(const map_dialect *d, xmlNodePtr root);
/*
 * Reads root (the dialect's root element) into canon (an object). *origin: the crgw provenance
 * comment of a translated document (new ref), or NULL. 0 or -1.
 */
int xmlmap_read(const map_dialect *d, xmlNodePtr root, const crgw_translate_opts *o, json_t *canon,
                json_t **origin, crgw_diags *warn, crgw_diags *errs);
/* Writes canon as a document of d, with prov (compact JSON) in a comment. 0 or -1. */
int xmlmap_write(const map_dialect *d, json_t *canon, const char *prov,
                 const crgw_translate_opts *o, char **out, size_t *out_len, crgw_diags *warn,
                 crgw_diags *errs);

#endif
