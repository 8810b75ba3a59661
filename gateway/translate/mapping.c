#include "gateway/translate/mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/core/yamltree.h"
#include "gateway/translate/canon.h"

#define MAP_FILE_LIMIT (1u << 20)

typedef struct {
    const char *file;
    crgw_diags *errs;
    map_dialect *d;
    const char *default_ns;
    int failed;
} ctx;

#define ERR(c, line, ...)                                                                          \
    do {                                                                                           \
        char m_[512];                                                                              \
        snprintf(m_, sizeof(m_), __VA_ARGS__);                                                     \
        crgw_diags_add((c)->errs, NULL, "%s:%d: %s", (c)->file, (line), m_);                       \
        (c)->failed = 1;                                                                           \
    } while (0)

/* ---- freeing ---- */

static void path_free(map_path *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].name);
    free(p->v);
    free(p->src);
    memset(p, 0, sizeof(*p));
}

static void field_free(map_field *f)
{
    free(f->canon);
    path_free(&f->at);
    path_free(&f->value);
    path_free(&f->key);
    crgw_datefmt_free(f->fmt);
    free(f->raw);
    free(f->absent);
    free(f->derive);
    for (size_t i = 0; i < f->nsections; i++) {
        path_free(&f->sections[i].at);
        for (size_t j = 0; j < f->sections[i].nset; j++) {
            free(f->sections[i].set[j].canon);
            free(f->sections[i].set[j].value);
        }
        free(f->sections[i].set);
    }
    free(f->sections);
    for (size_t i = 0; i < f->nsub; i++)
        field_free(&f->sub[i]);
    free(f->sub);
}

static void schema_free(map_schema *s)
{
    for (size_t i = 0; i < s->nkids; i++)
        schema_free(&s->kids[i]);
    free(s->kids);
    free(s->step.name);
}

void map_dialect_free(map_dialect *d)
{
    if (d == NULL)
        return;
    free(d->name);
    free(d->file);
    free(d->encoding);
    for (size_t i = 0; i < d->nns; i++) {
        free(d->ns[i].prefix);
        free(d->ns[i].uri);
    }
    free(d->ns);
    free(d->root.name);
    for (size_t i = 0; i < d->nignore; i++)
        path_free(&d->ignore[i]);
    free(d->ignore);
    for (size_t i = 0; i < d->nfixed; i++) {
        path_free(&d->fixed_at[i]);
        free(d->fixed_val[i]);
    }
    free(d->fixed_at);
    free(d->fixed_val);
    for (size_t i = 0; i < d->ncodes; i++) {
        for (size_t j = 0; j < d->codes[i].n; j++) {
            free(d->codes[i].v[j].canon);
            for (size_t k = 0; k < d->codes[i].v[j].ndv; k++)
                free(d->codes[i].v[j].dv[k]);
            free(d->codes[i].v[j].dv);
        }
        free(d->codes[i].v);
        free(d->codes[i].name);
    }
    free(d->codes);
    for (size_t i = 0; i < d->nfields; i++)
        field_free(&d->fields[i]);
    free(d->fields);
    schema_free(&d->schema);
    free(d);
}

/* ---- code lists ---- */

const char *map_codes_encode(const map_codes *c, const char *canon)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].canon, canon) == 0)
            return c->v[i].dv[0];
    return NULL;
}

const char *map_codes_decode(const map_codes *c, const char *v, size_t n, int prefix)
{
    for (size_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < c->v[i].ndv; k++) {
            const char *dv = c->v[i].dv[k];
            size_t dl = strlen(dv);
            if (prefix ? (n >= dl && memcmp(v, dv, dl) == 0) : (n == dl && memcmp(v, dv, n) == 0))
                return c->v[i].canon;
        }
    }
    return NULL;
}

static const map_codes *find_codes(const map_dialect *d, const char *name)
{
    for (size_t i = 0; i < d->ncodes; i++)
        if (strcmp(d->codes[i].name, name) == 0)
            return &d->codes[i];
    return NULL;
}

/* ---- YAML helpers ---- */

static const char *scalar(ctx *c, const crgw_ynode *n, const char *what)
{
    if (n == NULL)
        return NULL;
    if (n->type != CRGW_Y_SCALAR) {
        ERR(c, n->line, "%s must be a scalar, not %s", what, crgw_yaml_type_name(n->type));
        return NULL;
    }
    return n->scalar;
}

static int key_line(const crgw_ynode *map, size_t i)
{
    return map->key_lines ? map->key_lines[i] : map->line;
}

/* ---- paths ---- */

static const char *ns_uri(ctx *c, const char *prefix, size_t n)
{
    for (size_t i = 0; i < c->d->nns; i++)
        if (strlen(c->d->ns[i].prefix) == n && memcmp(c->d->ns[i].prefix, prefix, n) == 0)
            return c->d->ns[i].uri;
    return NULL;
}

static int parse_path(ctx *c, const char *src, int line, map_path *out)
{
    memset(out, 0, sizeof(*out));
    out->src = xstrdup(src);
    if (strcmp(src, ".") == 0)
        return 0;
    size_t cap = 1;
    for (const char *p = src; *p; p++)
        cap += *p == '/';
    out->v = xcalloc(cap, sizeof(map_step));
    const char *p = src;
    for (;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0) {
            ERR(c, line, "empty step in path '%s'", src);
            return -1;
        }
        map_step *s = &out->v[out->n++];
        if (*p == '@') {
            if (!c->d->xml) {
                ERR(c, line, "attributes (@) only exist in XML dialects: '%s'", src);
                return -1;
            }
            if (e != NULL) {
                ERR(c, line, "an attribute must be the last step: '%s'", src);
                return -1;
            }
            s->attr = 1;
            p++;
            n--;
        }
        const char *colon = c->d->xml ? memchr(p, ':', n) : NULL;
        if (colon) {
            s->ns = ns_uri(c, p, (size_t)(colon - p));
            if (s->ns == NULL) {
                ERR(c, line, "unknown namespace prefix in '%s'", src);
                return -1;
            }
            n -= (size_t)(colon + 1 - p);
            p = colon + 1;
        } else if (c->d->xml && !s->attr) {
            s->ns = c->default_ns;
        }
        if (n == 0) {
            ERR(c, line, "empty name in path '%s'", src);
            return -1;
        }
        s->name = xstrndup(p, n);
        if (e == NULL)
            break;
        p = e + 1;
    }
    return 0;
}

/* ---- schema tree ---- */

static map_schema *schema_child(map_schema *s, const map_step *st)
{
    for (size_t i = 0; i < s->nkids; i++) {
        map_schema *k = &s->kids[i];
        if (k->step.attr == st->attr && strcmp(k->step.name, st->name) == 0 &&
            (k->step.ns == st->ns || (k->step.ns && st->ns && strcmp(k->step.ns, st->ns) == 0)))
            return k;
    }
    s->kids = xrealloc(s->kids, (s->nkids + 1) * sizeof(map_schema));
    map_schema *k = &s->kids[s->nkids++];
    memset(k, 0, sizeof(*k));
    k->step = *st;
    k->step.name = xstrdup(st->name);
    return k;
}

/* Adds p below s; returns the node of its last step (s itself for "."). Children pointers are
 * only stable until the next insertion below the same parent: callers re-resolve. */
static map_schema *schema_add(map_schema *s, const map_path *p)
{
    for (size_t i = 0; i < p->n; i++)
        s = schema_child(s, &p->v[i]);
    return s;
}

/* ---- fields ---- */

static int compile_codes(ctx *c, const crgw_ynode *n)
{
    map_dialect *d = c->d;
    if (n == NULL)
        return 0;
    if (n->type != CRGW_Y_MAP) {
        ERR(c, n->line, "codes must be a mapping of code lists");
        return -1;
    }
    d->codes = xcalloc(n->n ? n->n : 1, sizeof(map_codes));
    for (size_t i = 0; i < n->n; i++) {
        const crgw_ynode *l = n->kids[i];
        map_codes *mc = &d->codes[d->ncodes++];
        mc->name = xstrdup(n->keys[i]);
        if (l->type != CRGW_Y_MAP) {
            ERR(c, l->line, "code list %s must map canonical codes to dialect values", mc->name);
            continue;
        }
        mc->v = xcalloc(l->n ? l->n : 1, sizeof(map_code));
        for (size_t j = 0; j < l->n; j++) {
            map_code *e = &mc->v[mc->n++];
            e->canon = xstrdup(l->keys[j]);
            const crgw_ynode *v = l->kids[j];
            if (v->type == CRGW_Y_SCALAR) {
                e->dv = xcalloc(1, sizeof(char *));
                e->dv[e->ndv++] = xstrdup(v->scalar);
            } else if (v->type == CRGW_Y_SEQ && v->n > 0) {
                e->dv = xcalloc(v->n, sizeof(char *));
                for (size_t k = 0; k < v->n; k++) {
                    const char *s = scalar(c, v->kids[k], "a dialect value");
                    if (s)
                        e->dv[e->ndv++] = xstrdup(s);
                }
                if (e->ndv == 0) {
                    ERR(c, v->line, "empty list of dialect values");
                    e->dv[e->ndv++] = xstrdup("");
                }
            } else {
                ERR(c, v->line, "a dialect value or a non-empty list of them expected");
                e->dv = xcalloc(1, sizeof(char *));
                e->dv[e->ndv++] = xstrdup("");
            }
        }
        /* a dialect value must decode to one canonical code only */
        for (size_t j = 0; j < mc->n; j++)
            for (size_t k = 0; k < mc->v[j].ndv; k++)
                for (size_t j2 = j + 1; j2 < mc->n; j2++)
                    for (size_t k2 = 0; k2 < mc->v[j2].ndv; k2++)
                        if (strcmp(mc->v[j].dv[k], mc->v[j2].dv[k2]) == 0)
                            ERR(c, l->line, "code list %s: dialect value '%s' is listed twice",
                                mc->name, mc->v[j].dv[k]);
    }
    return 0;
}

static void check_codes_canon(ctx *c, const map_codes *mc, const char *const *codes,
                              const char *field, int line)
{
    if (mc == NULL || codes == NULL)
        return;
    for (size_t i = 0; i < mc->n; i++)
        if (!crgw_canon_codes_has(codes, mc->v[i].canon))
            ERR(c, line, "code list %s: '%s' is not a canonical code of %s", mc->name,
                mc->v[i].canon, field);
}

static const char *const FIELD_KEYS[] = {
    "at",   "list",     "map",  "key", "value",  "derive",   "codes",    "key_codes", "match",
    "date", "datetime", "type", "raw", "absent", "required", "sections", "fields",    NULL};

static int compile_field(ctx *c, const char *canon, const crgw_ynode *spec, int record,
                         map_field *f);

static void compile_records(ctx *c, const crgw_ynode *spec, map_field *f)
{
    const crgw_ynode *secs = crgw_yaml_get(spec, "sections");
    const crgw_ynode *flds = crgw_yaml_get(spec, "fields");
    if (secs == NULL || secs->type != CRGW_Y_SEQ || secs->n == 0) {
        ERR(c, spec->line, "records need a non-empty list of sections");
        return;
    }
    if (flds == NULL || flds->type != CRGW_Y_MAP) {
        ERR(c, spec->line, "records need a mapping of fields");
        return;
    }
    f->kind = MF_RECORDS;
    f->sections = xcalloc(secs->n, sizeof(map_section));
    for (size_t i = 0; i < secs->n; i++) {
        const crgw_ynode *s = secs->kids[i];
        map_section *ms = &f->sections[f->nsections++];
        const char *at = scalar(c, crgw_yaml_get(s, "list"), "list");
        if (at == NULL) {
            ERR(c, s->line, "a section needs 'list: PATH'");
            parse_path(c, ".", s->line, &ms->at);
            continue;
        }
        parse_path(c, at, s->line, &ms->at);
        if (ms->at.n == 0 || ms->at.v[ms->at.n - 1].attr)
            ERR(c, s->line, "a section list must name elements or an array");
        const crgw_ynode *set = crgw_yaml_get(s, "set");
        if (set && set->type == CRGW_Y_MAP) {
            ms->set = xcalloc(set->n ? set->n : 1, sizeof(map_const));
            for (size_t j = 0; j < set->n; j++) {
                const char *v = scalar(c, set->kids[j], "a constant");
                const crgw_canon_field *cf = crgw_canon_lookup(set->keys[j], 1);
                if (cf == NULL || cf->type != CT_CODE) {
                    ERR(c, key_line(set, j), "'%s' is not a coded record field", set->keys[j]);
                    continue;
                }
                if (v && !crgw_canon_codes_has(cf->codes, v))
                    ERR(c, set->kids[j]->line, "'%s' is not a canonical code of %s", v,
                        set->keys[j]);
                ms->set[ms->nset].canon = xstrdup(set->keys[j]);
                ms->set[ms->nset++].value = xstrdup(v ? v : "");
            }
        } else if (set) {
            ERR(c, set->line, "set must be a mapping of record fields to canonical codes");
        }
    }
    f->sub = xcalloc(flds->n ? flds->n : 1, sizeof(map_field));
    for (size_t i = 0; i < flds->n; i++) {
        map_field *sf = &f->sub[f->nsub];
        memset(sf, 0, sizeof(*sf));
        sf->line = key_line(flds, i);
        for (size_t j = 0; j < f->nsub; j++)
            if (strcmp(f->sub[j].canon, flds->keys[i]) == 0)
                ERR(c, sf->line, "record field %s mapped twice", flds->keys[i]);
        compile_field(c, flds->keys[i], flds->kids[i], 1, sf);
        f->nsub++;
    }
    /* every record must get a kind and a category */
    const char *need[] = {"record_id", "kind", "category"};
    for (size_t k = 0; k < CRGW_ARRAY_LEN(need); k++) {
        int have = 0;
        for (size_t j = 0; j < f->nsub; j++)
            have |= strcmp(f->sub[j].canon, need[k]) == 0;
        for (size_t s = 0; s < f->nsections; s++)
            for (size_t j = 0; j < f->sections[s].nset; j++)
                have |= strcmp(f->sections[s].set[j].canon, need[k]) == 0;
        if (!have)
            ERR(c, spec->line, "records: nothing gives the required record field %s", need[k]);
    }
}

/* The kind of a field given as a mapping: at, list, map, derive or sections. 0, 1 (sections:
 * compiled as records, nothing more to read) or -1. */
static int field_kind(ctx *c, const char *canon, const crgw_ynode *spec, const crgw_canon_field *cf,
                      int record, map_field *f)
{
    map_dialect *d = c->d;
    for (size_t i = 0; i < spec->n; i++) {
        size_t k;
        for (k = 0; FIELD_KEYS[k]; k++)
            if (strcmp(FIELD_KEYS[k], spec->keys[i]) == 0)
                break;
        if (FIELD_KEYS[k] == NULL)
            ERR(c, key_line(spec, i), "field %s: unknown key '%s'", canon, spec->keys[i]);
    }
    const char *at = scalar(c, crgw_yaml_get(spec, "at"), "at");
    const char *list = scalar(c, crgw_yaml_get(spec, "list"), "list");
    const char *map = scalar(c, crgw_yaml_get(spec, "map"), "map");
    const char *derive = scalar(c, crgw_yaml_get(spec, "derive"), "derive");
    int nkinds = !!at + !!list + !!map + !!derive + !!crgw_yaml_get(spec, "sections");
    if (nkinds != 1) {
        ERR(c, spec->line, "field %s: exactly one of at, list, map, derive, sections", canon);
        return -1;
    }
    if (crgw_yaml_get(spec, "sections")) {
        if (cf->type != CT_RECORDS) {
            ERR(c, spec->line, "sections only map records");
            return -1;
        }
        compile_records(c, spec, f);
        return 1;
    }
    if (at) {
        f->kind = MF_SCALAR;
        parse_path(c, at, spec->line, &f->at);
    } else if (list) {
        f->kind = MF_LIST;
        parse_path(c, list, spec->line, &f->at);
    } else if (map) {
        f->kind = MF_MAP;
        parse_path(c, map, spec->line, &f->at);
        const char *key = scalar(c, crgw_yaml_get(spec, "key"), "key");
        if (key == NULL)
            ERR(c, spec->line, "field %s: a map needs 'key'", canon);
        else if (strcmp(key, "*") == 0 && !d->xml)
            f->key_any = 1;
        else
            parse_path(c, key, spec->line, &f->key);
        const char *kc = scalar(c, crgw_yaml_get(spec, "key_codes"), "key_codes");
        if (kc && (f->key_codes = find_codes(d, kc)) == NULL)
            ERR(c, spec->line, "unknown code list '%s'", kc);
        if (f->key_codes == NULL)
            ERR(c, spec->line, "field %s: a map needs key_codes", canon);
        check_codes_canon(c, f->key_codes, cf->key_codes, canon, spec->line);
    } else {
        f->kind = MF_DERIVE;
        f->derive = xstrdup(derive);
        if (crgw_canon_lookup(derive, record) == NULL)
            ERR(c, spec->line, "derive: '%s' is not a canonical field", derive);
    }
    return 0;
}

/* The options of a field given as a mapping (value, codes, match, formats, type, raw, ...). */
static void field_options(ctx *c, const char *canon, const crgw_ynode *spec,
                          const crgw_canon_field *cf, int record, map_field *f)
{
    map_dialect *d = c->d;
    if (f->kind == MF_LIST || f->kind == MF_MAP) {
        const char *v = scalar(c, crgw_yaml_get(spec, "value"), "value");
        parse_path(c, v ? v : ".", spec->line, &f->value);
        if (f->at.n == 0)
            ERR(c, spec->line, "field %s: list/map path must not be '.'", canon);
    }
    const char *codes = scalar(c, crgw_yaml_get(spec, "codes"), "codes");
    if (codes && (f->codes = find_codes(d, codes)) == NULL)
        ERR(c, spec->line, "unknown code list '%s'", codes);
    const char *match = scalar(c, crgw_yaml_get(spec, "match"), "match");
    if (match && strcmp(match, "prefix") == 0)
        f->prefix = 1;
    else if (match && strcmp(match, "exact") != 0)
        ERR(c, spec->line, "match: prefix or exact");
    const char *date = scalar(c, crgw_yaml_get(spec, "date"), "date");
    const char *dt = scalar(c, crgw_yaml_get(spec, "datetime"), "datetime");
    const char *why = "";
    if (date || dt) {
        f->type = date ? MT_DATE : MT_DATETIME;
        f->fmt = crgw_datefmt_new(date ? date : dt, &why);
        if (f->fmt == NULL)
            ERR(c, spec->line, "bad date format: %s", why);
        else if (crgw_datefmt_has_time(f->fmt) != (f->type == MT_DATETIME))
            ERR(c, spec->line, "%s format %s time fields", date ? "a date" : "a datetime",
                date ? "must not have" : "needs");
    }
    const char *type = scalar(c, crgw_yaml_get(spec, "type"), "type");
    if (type) {
        if (strcmp(type, "bool") == 0 && !d->xml)
            f->type = MT_BOOL;
        else if (strcmp(type, "uscc") == 0)
            f->type = MT_USCC;
        else if (strcmp(type, "node") == 0)
            f->type = MT_NODE;
        else if (strcmp(type, "text") != 0)
            ERR(c, spec->line, "type: text, uscc, node%s", d->xml ? "" : " or bool");
    }
    const char *raw = scalar(c, crgw_yaml_get(spec, "raw"), "raw");
    if (raw) {
        const crgw_canon_field *rf = crgw_canon_lookup(raw, record);
        if (rf == NULL || rf->type != CT_TEXT)
            ERR(c, spec->line, "raw: '%s' is not a canonical text field", raw);
        f->raw = xstrdup(raw);
    }
    const char *absent = scalar(c, crgw_yaml_get(spec, "absent"), "absent");
    if (absent) {
        if (!crgw_canon_codes_has(cf->codes, absent) || cf->type != CT_CODE)
            ERR(c, spec->line, "absent: '%s' is not a canonical code of %s", absent, canon);
        f->absent = xstrdup(absent);
    }
    const char *req = scalar(c, crgw_yaml_get(spec, "required"), "required");
    if (req)
        f->required = strcmp(req, "true") == 0;
}

/* Type compatibility of a compiled field with its canonical field. */
static void check_field_fits(ctx *c, const char *canon, const crgw_ynode *spec,
                             const crgw_canon_field *cf, int record, map_field *f)
{
    /* type compatibility with the canonical field */
    int ok = 1;
    switch (cf->type) {
    case CT_TEXT:
        ok = f->kind == MF_SCALAR && f->type == MT_TEXT && !f->codes;
        break;
    case CT_CODE:
        ok = (f->kind == MF_SCALAR || f->kind == MF_DERIVE) && f->codes &&
             (f->type == MT_TEXT || f->type == MT_BOOL);
        if (f->kind == MF_DERIVE) {
            const crgw_canon_field *src = crgw_canon_lookup(f->derive, record);
            if (src && f->codes)
                for (size_t i = 0; i < f->codes->n; i++)
                    for (size_t k = 0; k < f->codes->v[i].ndv; k++)
                        if (!crgw_canon_codes_has(src->codes, f->codes->v[i].dv[k]))
                            ERR(c, spec->line, "derive: '%s' is not a canonical code of %s",
                                f->codes->v[i].dv[k], f->derive);
        }
        break;
    case CT_CODES:
        ok = f->kind == MF_LIST && f->codes;
        break;
    case CT_DATE:
        ok = f->kind == MF_SCALAR && f->type == MT_DATE;
        break;
    case CT_DATETIME:
        ok = f->kind == MF_SCALAR && f->type == MT_DATETIME;
        break;
    case CT_USCC:
        if (f->type == MT_TEXT)
            f->type = MT_USCC;
        ok = f->kind == MF_SCALAR && f->type == MT_USCC;
        break;
    case CT_NODE:
        if (f->type == MT_TEXT)
            f->type = MT_NODE;
        ok = f->kind == MF_SCALAR && f->type == MT_NODE;
        break;
    case CT_MAP:
        ok = f->kind == MF_MAP && f->codes;
        break;
    case CT_RECORDS:
        ok = 0;
        break;
    case CT_OBJECT:
        ok = 0;
        break;
    }
    if (!ok) {
        const char *need = cf->type == CT_DATE       ? " (needs 'date: FORMAT')"
                           : cf->type == CT_DATETIME ? " (needs 'datetime: FORMAT')"
                           : cf->type == CT_CODE     ? " (needs 'codes')"
                           : cf->type == CT_CODES    ? " (needs 'list' and 'codes')"
                           : cf->type == CT_MAP      ? " (needs 'map', 'key', 'codes')"
                           : cf->type == CT_RECORDS  ? " (needs 'sections' and 'fields')"
                                                     : "";
        ERR(c, spec->line, "field %s: mapping does not fit the canonical field%s", canon, need);
    }
    if (f->kind != MF_RECORDS)
        check_codes_canon(c, f->codes, cf->codes, canon, spec->line);
    if (f->kind == MF_SCALAR && f->at.n == 0 && !record)
        ERR(c, spec->line, "field %s: '.' is the document itself", canon);
}

static int compile_field(ctx *c, const char *canon, const crgw_ynode *spec, int record,
                         map_field *f)
{
    f->canon = xstrdup(canon);
    f->line = spec->line;
    const crgw_canon_field *cf = crgw_canon_lookup(canon, record);
    if (cf == NULL || cf->type == CT_OBJECT || strcmp(canon, "dialect") == 0) {
        ERR(c, spec->line, "'%s' is not a mappable canonical %s field", canon,
            record ? "record" : "report");
        return -1;
    }
    if (spec->type == CRGW_Y_SCALAR) {
        /* shorthand: field: PATH */
        parse_path(c, spec->scalar, spec->line, &f->at);
        f->kind = MF_SCALAR;
    } else if (spec->type != CRGW_Y_MAP) {
        ERR(c, spec->line, "field %s: a path or a mapping expected", canon);
        return -1;
    } else {
        int k = field_kind(c, canon, spec, cf, record, f);
        if (k != 0)
            return k < 0 ? -1 : 0;
        field_options(c, canon, spec, cf, record, f);
    }
    if (cf->required && f->absent == NULL)
        f->required = 1;
    check_field_fits(c, canon, spec, cf, record, f);
    return 0;
}

/* ---- schema from fields ---- */

static void schema_fields(map_schema *s, const map_field *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const map_field *f = &v[i];
        switch (f->kind) {
        case MF_SCALAR:
            schema_add(s, &f->at);
            break;
        case MF_DERIVE:
            break;
        case MF_LIST:
            schema_add(schema_add(s, &f->at), &f->value);
            break;
        case MF_MAP: {
            map_schema *item = schema_add(s, &f->at);
            if (f->key_any) {
                item->any = 1;
            } else {
                schema_add(item, &f->key);
                item = schema_add(s, &f->at);
                schema_add(item, &f->value);
            }
            break;
        }
        case MF_RECORDS:
            for (size_t k = 0; k < f->nsections; k++) {
                for (size_t j = 0; j < f->nsub; j++) {
                    map_schema *item = schema_add(s, &f->sections[k].at);
                    schema_fields(item, &f->sub[j], 1);
                }
                schema_add(s, &f->sections[k].at);
            }
            break;
        }
    }
}

/* ---- top level ---- */

static const char *const TOP_KEYS[] = {"dialect",    "syntax", "encoding", "namespace",
                                       "namespaces", "root",   "ignore",   "fixed",
                                       "envelopes",  "codes",  "fields",   NULL};

/* namespaces, namespace and (XML) root */
static void compile_names(ctx *c, const crgw_ynode *y)
{
    map_dialect *d = c->d;
    const crgw_ynode *nss = crgw_yaml_get(y, "namespaces");
    if (nss && nss->type == CRGW_Y_MAP) {
        d->ns = xcalloc(nss->n + 1, sizeof(map_ns));
        for (size_t i = 0; i < nss->n; i++) {
            const char *u = scalar(c, nss->kids[i], "a namespace URI");
            d->ns[d->nns].prefix = xstrdup(nss->keys[i]);
            d->ns[d->nns++].uri = xstrdup(u ? u : "");
        }
    } else if (nss) {
        ERR(c, nss->line, "namespaces: a mapping of prefix to URI");
    }
    const char *defns = scalar(c, crgw_yaml_get(y, "namespace"), "namespace");
    if (defns) {
        if (!d->xml)
            ERR(c, y->line, "namespace: only for XML dialects");
        d->ns = xrealloc(d->ns, (d->nns + 1) * sizeof(map_ns));
        d->ns[d->nns].prefix = xstrdup("");
        d->ns[d->nns++].uri = xstrdup(defns);
        c->default_ns = d->ns[d->nns - 1].uri;
    }
    if (d->xml) {
        const char *root = scalar(c, crgw_yaml_get(y, "root"), "root");
        map_path rp;
        if (root == NULL) {
            ERR(c, y->line, "XML dialects need 'root: NAME'");
        } else if (parse_path(c, root, y->line, &rp) == 0) {
            if (rp.n != 1 || rp.v[0].attr)
                ERR(c, y->line, "root: one element name");
            else {
                d->root = rp.v[0];
                d->root.name = xstrdup(rp.v[0].name);
            }
            path_free(&rp);
        }
    }
}

/* ignore and fixed: locations of the dialect that carry no canonical field */
static void compile_ignore_fixed(ctx *c, const crgw_ynode *y)
{
    map_dialect *d = c->d;
    const crgw_ynode *ign = crgw_yaml_get(y, "ignore");
    if (ign && ign->type == CRGW_Y_SEQ) {
        d->ignore = xcalloc(ign->n + 1, sizeof(map_path));
        for (size_t i = 0; i < ign->n; i++) {
            const char *s = scalar(c, ign->kids[i], "an ignored path");
            if (s && parse_path(c, s, ign->kids[i]->line, &d->ignore[d->nignore]) == 0)
                d->nignore++;
            else
                path_free(&d->ignore[d->nignore]);
        }
    } else if (ign) {
        ERR(c, ign->line, "ignore: a list of paths");
    }
    const crgw_ynode *fx = crgw_yaml_get(y, "fixed");
    if (fx && fx->type == CRGW_Y_MAP) {
        d->fixed_at = xcalloc(fx->n + 1, sizeof(map_path));
        d->fixed_val = xcalloc(fx->n + 1, sizeof(char *));
        for (size_t i = 0; i < fx->n; i++) {
            const char *v = scalar(c, fx->kids[i], "a fixed value");
            if (parse_path(c, fx->keys[i], key_line(fx, i), &d->fixed_at[d->nfixed]) == 0 &&
                d->fixed_at[d->nfixed].n > 0) {
                d->fixed_val[d->nfixed++] = xstrdup(v ? v : "");
            } else {
                path_free(&d->fixed_at[d->nfixed]);
            }
        }
    } else if (fx) {
        ERR(c, fx->line, "fixed: a mapping of path to value");
    }
}

static void compile(ctx *c, const crgw_ynode *y)
{
    map_dialect *d = c->d;
    if (y->type != CRGW_Y_MAP) {
        ERR(c, y->line, "a mapping file is a YAML mapping");
        return;
    }
    for (size_t i = 0; i < y->n; i++) {
        size_t k;
        for (k = 0; TOP_KEYS[k]; k++)
            if (strcmp(TOP_KEYS[k], y->keys[i]) == 0)
                break;
        if (TOP_KEYS[k] == NULL)
            ERR(c, key_line(y, i), "unknown key '%s'", y->keys[i]);
    }
    const char *name = scalar(c, crgw_yaml_get(y, "dialect"), "dialect");
    if (name == NULL || !*name ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != strlen(name) ||
        strstr(name, "--") || strcmp(name, "canonical") == 0 || strcmp(name, "auto") == 0) {
        ERR(c, y->line, "'dialect: NAME' (lower case letters, digits, - _ .) is required");
        name = "?";
    }
    d->name = xstrdup(name);
    const char *syntax = scalar(c, crgw_yaml_get(y, "syntax"), "syntax");
    if (syntax && strcmp(syntax, "xml") == 0)
        d->xml = 1;
    else if (!syntax || strcmp(syntax, "json") != 0)
        ERR(c, y->line, "'syntax: xml' or 'syntax: json' is required");
    const char *enc = scalar(c, crgw_yaml_get(y, "encoding"), "encoding");
    d->encoding = xstrdup(enc ? enc : "UTF-8");
    if (!d->xml && enc && strcmp(enc, "UTF-8") != 0)
        ERR(c, y->line, "JSON dialects are UTF-8");
    compile_names(c, y);
    compile_ignore_fixed(c, y);
    const crgw_ynode *env = crgw_yaml_get(y, "envelopes");
    if (env && env->type != CRGW_Y_SEQ)
        ERR(c, env->line, "envelopes: a list");
    for (size_t i = 0; env && env->type == CRGW_Y_SEQ && env->kids && i < env->n; i++) {
        const crgw_ynode *kid = env->kids[i];
        const char *e = kid ? scalar(c, kid, "an envelope") : NULL;
        if (e && strcmp(e, "jws-flattened") == 0 && !d->xml)
            d->envelopes |= MAP_ENV_JWS_FLAT;
        else if (e && strcmp(e, "jws-compact") == 0 && !d->xml)
            d->envelopes |= MAP_ENV_JWS_COMPACT;
        else
            ERR(c, kid ? kid->line : env->line, "envelopes (JSON): jws-flattened, jws-compact");
    }
    compile_codes(c, crgw_yaml_get(y, "codes"));
    const crgw_ynode *fl = crgw_yaml_get(y, "fields");
    if (fl == NULL || fl->type != CRGW_Y_MAP) {
        ERR(c, y->line, "'fields:' (a mapping of canonical fields) is required");
        return;
    }
    d->fields = xcalloc(fl->n + 1, sizeof(map_field));
    for (size_t i = 0; i < fl->n; i++) {
        map_field *f = &d->fields[d->nfields];
        memset(f, 0, sizeof(*f));
        compile_field(c, fl->keys[i], fl->kids[i], 0, f);
        if (f->line == 0)
            f->line = key_line(fl, i);
        d->nfields++;
    }
    /* every required canonical field must be produced */
    size_t nt;
    const crgw_canon_field *t = crgw_canon_fields(0, &nt);
    for (size_t i = 0; i < nt; i++) {
        if (!t[i].required || strcmp(t[i].path, "dialect") == 0)
            continue;
        int have = 0;
        for (size_t j = 0; j < d->nfields; j++)
            have |= strcmp(d->fields[j].canon, t[i].path) == 0;
        if (!have)
            ERR(c, fl->line, "required canonical field %s is not mapped", t[i].path);
    }
    /* the schema of known locations */
    for (size_t i = 0; i < d->nignore; i++)
        schema_add(&d->schema, &d->ignore[i])->ignore = 1;
    for (size_t i = 0; i < d->nfixed; i++)
        schema_add(&d->schema, &d->fixed_at[i]);
    schema_fields(&d->schema, d->fields, d->nfields);
    if (!d->xml) {
        map_step st = {NULL, (char *)"x-crgw-provenance", 0};
        schema_child(&d->schema, &st)->ignore = 1;
    }
}

map_dialect *map_dialect_load(const char *file, crgw_diags *errs)
{
    crgw_ynode *y = NULL;
    char err[512];
    if (crgw_yaml_load(file, MAP_FILE_LIMIT, &y, err, sizeof(err)) != 0) {
        /* err is "line N: ..." */
        const char *m = err;
        int line = 1;
        if (strncmp(err, "line ", 5) == 0) {
            line = (int)strtol(err + 5, NULL, 10);
            const char *colon = strchr(err, ':');
            if (colon)
                m = colon + 2;
        }
        crgw_diags_add(errs, NULL, "%s:%d: %s", file, line, m);
        return NULL;
    }
    map_dialect *d = xcalloc(1, sizeof(*d));
    d->file = xstrdup(file);
    ctx c = {.file = file, .errs = errs, .d = d};
    compile(&c, y);
    crgw_yaml_free(y);
    if (c.failed) {
        map_dialect_free(d);
        return NULL;
    }
    return d;
}
