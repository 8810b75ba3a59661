/*
 * engine: walks a compiled mapping (mapping.h) over a document through a small set of
 * operations that the XML engine (xmlmap.c) and the JSON engine (jsonmap.c) implement, in both
 * directions. Internal to adapters/.
 */
#ifndef CRGW_ENGINE_H
#define CRGW_ENGINE_H

#include <stddef.h>

#include <jansson.h>

#include "gateway/translate/mapping.h"
#include "gateway/translate/translate.h"

/* item: an element / JSON value; key: member name when iterating a JSON object (else NULL). */
typedef int (*engine_each_fn)(void *item, const char *key, void *u);

typedef struct {
    /*
     * Resolves p from ctx. Returns the number of matches of the path (0: absent, *out NULL;
     * more than one: the path is ambiguous), or -1 when the document has the wrong shape on the
     * way (*out NULL).
     */
    int (*find)(void *st, void *ctx, const map_path *p, void **out);
    /* Value of a handle: 0 text, 1 boolean ("true"/"false"), -1 neither (object, number...). */
    int (*scalar)(void *st, void *h, const char **s, size_t *n);
    /*
     * Calls fn for each item: repeated elements (XML) / array elements (JSON) / object members
     * when key_any (JSON). Returns the number of items (stopping early when fn returns non-zero),
     * or -1 when the location has the wrong type. *present: the list or its container exists.
     */
    int (*each)(void *st, void *ctx, const map_path *p, int key_any, engine_each_fn fn, void *u,
                int *present);
    /* Writing: find-or-create p from ctx and set its value. 0, or -1 with *why. */
    int (*set)(void *st, void *ctx, const map_path *p, const char *v, int as_bool,
               const char **why);
    /* Creates (or finds) the container of a list/map/section; returns it. */
    void *(*container)(void *st, void *ctx, const map_path *p, int key_any);
    /* Appends a new item (element / object) to a container. */
    void *(*item)(void *st, void *container, const map_path *p);
    /* Appends a scalar list value (XML: a new element then value path). 0 or -1 with *why. */
    int (*list_add)(void *st, void *container, const map_path *p, const map_path *value,
                    const char *v, const char **why);
    /*
     * Adds a map entry (k, v) that the dialect stores directly (JSON: a member when key_any):
     * 1 when it did, 0 when the engine is to append an item at f->at and set f->key and
     * f->value in it, -1 with *why when the entry cannot be written.
     */
    int (*map_add)(void *st, void *container, const map_field *f, const char *k, const char *v,
                   const char **why);
} engine_ops;

typedef struct {
    const engine_ops *ops;
    void *st;
    const map_dialect *d;
    const crgw_translate_opts *o;
    crgw_diags *warn;
    crgw_diags *errs;
} engine;

/* Fills canon (an empty object) from the document whose top is root. 0, or -1 (errors added). */
int engine_read(engine *e, void *root, json_t *canon);
/* Writes canon below root. 0, or -1 (errors added). "Cannot carry" warnings added. */
int engine_write(engine *e, void *root, json_t *canon);

#endif
