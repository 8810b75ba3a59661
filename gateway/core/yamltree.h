/*
 * yamltree: a small YAML document tree (libyaml events) that keeps line numbers, for
 * configuration files. Anchors, aliases and tags are refused; duplicate mapping keys are refused.
 */
#ifndef CRGW_YAMLTREE_H
#define CRGW_YAMLTREE_H

#include "gateway/core/err.h"

#include <stddef.h>

typedef enum { CRGW_Y_SCALAR, CRGW_Y_MAP, CRGW_Y_SEQ } crgw_ytype;

typedef struct crgw_ynode {
    crgw_ytype type;
    int line;     /* 1-based */
    int quoted;   /* scalar written in quotes */
    char *scalar; /* CRGW_Y_SCALAR: the value */
    char **keys;  /* CRGW_Y_MAP: keys (scalars only) */
    int *key_lines;
    struct crgw_ynode **kids; /* map values / sequence items */
    size_t n;
} crgw_ynode;

/*
 * Parses a whole file (at most limit bytes). Returns 0 and *root (an empty document gives an
 * empty mapping), or a negative code with a message "line N: ..." in err.
 */
int crgw_yaml_load(const char *path, size_t limit, crgw_ynode **root, char *err, size_t errlen);
void crgw_yaml_free(crgw_ynode *n);
/* Value of key in a mapping, or NULL. */
crgw_ynode *crgw_yaml_get(const crgw_ynode *map, const char *key);
const char *crgw_yaml_type_name(crgw_ytype t);
/*
 * Sets key `section.key` of a mapping root to the scalar value (command-line overrides such as
 * `--audit-dir`): replaces the key, or adds it (and the section) with line 0. Returns 0, or
 * CRGW_ERR_INVALID when path is not SECTION.KEY or section is not a mapping.
 */
int crgw_yaml_set(crgw_ynode *root, const char *path, const char *value);

#endif
