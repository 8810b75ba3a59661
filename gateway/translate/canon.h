/*
 * canon: the canonical report model (shared/dialects/canonical.md) as data: field table, code
 * lists, presence rules, field order, consistency rules. Used by the mapping loader (to check
 * that a mapping only produces canonical fields and codes) and by both translation directions.
 */
#ifndef CRGW_CANON_H
#define CRGW_CANON_H

#include <stddef.h>

#include <jansson.h>

#include "gateway/core/canon_codes.h"

#include "gateway/translate/translate.h"

typedef enum {
    CT_TEXT,
    CT_CODE,     /* one value of codes */
    CT_CODES,    /* array of values of codes */
    CT_DATE,     /* YYYY-MM-DD */
    CT_DATETIME, /* YYYY-MM-DDThh:mm:ss+08:00 */
    CT_USCC,
    CT_NODE,    /* 6-digit division code */
    CT_RECORDS, /* array of records */
    CT_MAP,     /* object: key in key_codes -> value in codes */
    CT_OBJECT,  /* provenance: kept as is */
} crgw_canon_type;

typedef struct {
    const char *path; /* dotted, relative to the report or to a record */
    crgw_canon_type type;
    const char *const *codes;     /* NULL-terminated */
    const char *const *key_codes; /* CT_MAP */
    int required;
} crgw_canon_field;

/* Field tables (canonical order). */
const crgw_canon_field *crgw_canon_fields(int record, size_t *n);
/* The field of a dotted path, or NULL. */
const crgw_canon_field *crgw_canon_lookup(const char *path, int record);

/* Dotted-path access in nested objects. get: borrowed or NULL; set steals v. */
json_t *crgw_canon_get(json_t *obj, const char *dotted);
void crgw_canon_set(json_t *obj, const char *dotted, json_t *v);
void crgw_canon_del(json_t *obj, const char *dotted);

/*
 * An object with every canonical field (of the report or of a record) present as null, in
 * canonical order: filling it keeps that order without copying; crgw_canon_prune() then drops
 * the nulls and the sub-objects left empty (issuer, covers, subject).
 */
json_t *crgw_canon_skeleton(int record);
void crgw_canon_prune(json_t *c);
/* A new object with the members of c in canonical order (records too), unknown members last. */
json_t *crgw_canon_ordered(json_t *c);

/*
 * Checks a canonical report (input of canonical -> dialect): types, codes, dates, required
 * fields, USCC. Errors with canonical paths. Returns 0 or -1.
 */
int crgw_canon_validate(json_t *c, const crgw_translate_opts *o, crgw_diags *errs);
/*
 * Consistency rules of canonical.md on a translated report: records or conclusions for domains
 * not covered (warnings). Duplicate conclusions are detected by the engines.
 */
void crgw_canon_consistency(json_t *c, crgw_diags *warn);

#endif
