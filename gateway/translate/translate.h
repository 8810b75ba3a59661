/*
 * translate: declarative translation between the regions' report formats (dialects) and the
 * canonical report (shared/dialects/canonical.md).
 *
 * One mapping file per dialect (adapters/<dialect>.yaml, language in adapters/README.md) is
 * compiled once at load; two engines walk them: one over libxml2 trees (XML dialects), one over
 * jansson values (JSON dialects). Adding a dialect means adding a mapping file, not C code.
 *
 * Errors and warnings are collected as (path, message) pairs: path is the canonical field path
 * the problem concerns ("records[1].decided_on", "subject.uscc", "covers.domains[3]"), or "$"
 * for the document as a whole (syntax, encoding, limits).
 */
#ifndef CRGW_TRANSLATE_H
#define CRGW_TRANSLATE_H

#include <stddef.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "gateway/core/diag.h"
#include "gateway/core/json.h"

typedef struct crgw_adapters crgw_adapters; /* all mapping files of a directory, loaded */

/**
 * Loads every *.yaml mapping of dir (sorted by name). Errors ("file:line: message") into errs,
 * path NULL. Returns 0 and *out, or -1 (nothing loaded).
 */
int crgw_adapters_load(const char *dir, crgw_adapters **out, crgw_diags *errs);
/** Loads one mapping file into an existing set (used by tests for made-up dialects). 0 or -1. */
int crgw_adapters_add_file(crgw_adapters *a, const char *file, crgw_diags *errs);
/** An empty set (to be filled with crgw_adapters_add_file). */
crgw_adapters *crgw_adapters_new(void);
void crgw_adapters_free(crgw_adapters *a);
/* SHA-256 over the name and bytes of every mapping file loaded (answer versions of caches). */
void crgw_adapters_digest(const crgw_adapters *a, unsigned char out[32]);
/**
 * The default mapping directory: "<dir of the executable>/../adapters" (also ../../adapters, for
 * build/<name>/crgw), else "./adapters". Writes into buf, returns buf.
 */
const char *crgw_adapters_default_dir(char *buf, size_t n);
/** Number of dialects loaded and the name of the i-th (load order). */
size_t crgw_adapters_count(const crgw_adapters *a);
const char *crgw_adapters_name(const crgw_adapters *a, size_t i);

/**
 * Recognises the dialect of a document (XML root namespace and name, JSON keys; signed forms too:
 * XML with ds:Signature, flattened JWS JSON, compact JWS). Parses the document (hardened). NULL if
 * none matches.
 */
const char *crgw_adapters_detect(const crgw_adapters *a, const char *buf, size_t len);
/** 1 if the dialect is XML-based, 0 JSON-based, -1 unknown. */
int crgw_adapters_is_xml(const crgw_adapters *a, const char *dialect);

typedef struct {
    const char *translated_by;      /* this node's code, for provenance (NULL: omitted) */
    const char *const *uscc_legacy; /* allow-list of legacy USCCs (normalised form) */
    size_t n_uscc_legacy;
    size_t max_bytes; /* default 4 MiB when 0 */
    int max_depth;    /* default 64 when 0 */
    int utf8_output;  /* canonical -> XML dialect: write UTF-8 (with a matching declaration)
                         instead of the dialect's encoding, e.g. to embed it in JSON */
} crgw_translate_opts;

/**
 * dialect -> canonical, from the exact bytes received (unsigned document, XML with
 * ds:Signature, flattened JWS JSON or compact JWS). dialect may be "auto" or NULL (detected).
 * Returns 0 with *canon (new reference; warnings appended to *warn), or -1 with errors in *errs
 * (each path + message; *canon NULL). Canonical output includes "provenance" whose
 * source_sha256 is the SHA-256 of buf[0..len).
 */
int crgw_translate_to_canonical(const crgw_adapters *a, const char *dialect, const char *buf,
                                size_t len, const crgw_translate_opts *o, json_t **canon,
                                crgw_diags *warn, crgw_diags *errs);
/**
 * For the signature verifier: root is the element the signature covers (parsed by the caller
 * with crgw_xml_parse_strict; a ds:Signature child is ignored), payload the JWS payload JSON;
 * sha256 = digest of the exact bytes received. Same results as crgw_translate_to_canonical.
 * payload is not modified (reference not stolen).
 */
int crgw_translate_xml_node(const crgw_adapters *a, const char *dialect, xmlNodePtr root,
                            const unsigned char sha256[32], const crgw_translate_opts *o,
                            json_t **canon, crgw_diags *warn, crgw_diags *errs);
int crgw_translate_json(const crgw_adapters *a, const char *dialect, json_t *payload,
                        const unsigned char sha256[32], const crgw_translate_opts *o,
                        json_t **canon, crgw_diags *warn, crgw_diags *errs);
/**
 * canonical -> dialect document, in the dialect's encoding with the right declaration (XML), or
 * pretty-printed UTF-8 JSON (JSON dialects: the unsigned payload form). The document carries the
 * provenance (XML comment / "x-crgw-provenance" member) and is marked unsigned. Fields the target
 * cannot carry -> *warn (path of the canonical field). *out is NUL-terminated, free() it.
 * Returns 0, or -1 with *errs (canonical input invalid: bad code, missing required field).
 */
int crgw_translate_from_canonical(const crgw_adapters *a, const char *dialect, json_t *canon,
                                  const crgw_translate_opts *o, char **out, size_t *out_len,
                                  crgw_diags *warn, crgw_diags *errs);

/**
 * Hardened XML parse shared with the verifier: no DTD (DOCTYPE refused), no entities, no
 * network, depth (max_depth, 0 = 64) and size (4 MiB) limits, encoding errors refused (never
 * mojibake), no XInclude. Returns 0 and *out (xmlFreeDoc it), or -1 with errs (path "$").
 */
int crgw_xml_parse_strict(const char *buf, size_t len, int max_depth, xmlDocPtr *out,
                          crgw_diags *errs);
/**
 * Strict JSON parse: size (4 MiB) and depth limits (max_depth, 0 = 64), duplicate keys refused,
 * NUL in strings refused, one value only. Returns 0 and *out, or -1 with errs (path "$").
 */
int crgw_json_parse_strict(const char *buf, size_t len, int max_depth, json_t **out,
                           crgw_diags *errs);

/**
 * GB 32100 USCC check (both check characters: GB 32100 position 18 and GB 11714 position 17)
 * after normalising case and full-width forms. Returns 0 with out_normalised (18 chars + NUL),
 * or -1 with *why (static message). out_normalised may be NULL; why may be NULL.
 */
int crgw_uscc_check(const char *in, char out_normalised[19], const char **why);

#endif
