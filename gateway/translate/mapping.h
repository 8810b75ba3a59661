/*
 * mapping: a dialect's mapping file (adapters/<dialect>.yaml, language in adapters/README.md),
 * compiled once at load into the structures both engines walk. Internal to adapters/.
 */
#ifndef CRGW_MAPPING_H
#define CRGW_MAPPING_H

#include <stddef.h>

#include "gateway/translate/dates.h"
#include "gateway/translate/translate.h"

typedef struct {
    const char *ns; /* XML namespace URI (owned by the dialect), NULL = none; JSON: NULL */
    char *name;     /* local name or JSON member, UTF-8 */
    int attr;       /* XML attribute (@name) */
} map_step;

typedef struct {
    map_step *v;
    size_t n; /* 0: the context itself (".") */
    char *src;
} map_path;

typedef struct {
    char *canon;
    char **dv; /* dialect values; the first is written */
    size_t ndv;
} map_code;

typedef struct {
    char *name;
    map_code *v;
    size_t n;
} map_codes;

typedef enum { MT_TEXT, MT_DATE, MT_DATETIME, MT_USCC, MT_NODE, MT_BOOL } map_type;
typedef enum { MF_SCALAR, MF_LIST, MF_MAP, MF_DERIVE, MF_RECORDS } map_kind;

typedef struct {
    char *canon;
    char *value;
} map_const;

typedef struct {
    map_path at; /* XML: the repeated element; JSON: the array */
    map_const *set;
    size_t nset;
} map_section;

typedef struct map_field map_field;
struct map_field {
    map_kind kind;
    char *canon;    /* canonical path relative to the report or the record */
    map_path at;    /* SCALAR: the value; LIST, MAP: the items (JSON: array/object) */
    map_path value; /* LIST, MAP: value relative to an item */
    map_path key;   /* MAP: key relative to an item */
    int key_any;    /* MAP: JSON object, the member names are the keys */
    map_type type;
    crgw_datefmt *fmt;
    const map_codes *codes;
    const map_codes *key_codes;
    int prefix;   /* codes match the start of the value */
    char *raw;    /* canonical field that receives the value as written */
    char *absent; /* canonical value when the dialect has nothing */
    char *derive; /* MF_DERIVE: source canonical field */
    int required;
    int line;
    map_section *sections; /* MF_RECORDS */
    size_t nsections;
    map_field *sub;
    size_t nsub;
};

/* Schema tree of every location a mapping knows (unknown elements/keys are warned about). */
typedef struct map_schema map_schema;
struct map_schema {
    map_step step;
    int ignore; /* known, not looked into (ds:Signature, x-crgw-provenance) */
    int any;    /* JSON object whose member names are data: every member is known */
    map_schema *kids;
    size_t nkids;
};

enum { MAP_ENV_JWS_FLAT = 1u, MAP_ENV_JWS_COMPACT = 2u };

typedef struct {
    char *prefix;
    char *uri;
} map_ns;

typedef struct {
    char *name;
    char *file;
    int xml;
    char *encoding; /* XML output encoding, default UTF-8 */
    map_ns *ns;
    size_t nns;
    map_step root; /* XML root element */
    map_path *ignore;
    size_t nignore;
    map_path *fixed_at;
    char **fixed_val;
    size_t nfixed;
    map_codes *codes;
    size_t ncodes;
    map_field *fields;
    size_t nfields;
    unsigned envelopes;
    map_schema schema; /* children of the root (XML) or of the top object (JSON) */
} map_dialect;

/* Loads and compiles one file; errors "file:line: message". NULL on error. */
map_dialect *map_dialect_load(const char *file, crgw_diags *errs);
void map_dialect_free(map_dialect *d);

/* Code list lookups: canonical -> first dialect value; dialect -> canonical (NULL if none). */
const char *map_codes_encode(const map_codes *c, const char *canon);
const char *map_codes_decode(const map_codes *c, const char *v, size_t n, int prefix);

#endif
