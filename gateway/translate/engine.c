#include "gateway/translate/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/translate/canon.h"
#include "gateway/translate/dates.h"
#include "gateway/translate/uscc.h"

#define PATH_MAX_LEN 160

static void join(char *out, const char *prefix, const char *canon)
{
    crgw_strfmt(out, PATH_MAX_LEN, "%s%s", prefix, canon);
}

/* a field path, formatted only when a diagnostic needs it */
typedef struct {
    const char *prefix;
    const char *canon;
    long idx;        /* >= 0: [idx] */
    const char *key; /* .key */
} epath;

static void diag(crgw_diags *d, const epath *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void diag(crgw_diags *d, const epath *p, const char *fmt, ...)
{
    char path[PATH_MAX_LEN];
    if (p->idx >= 0)
        crgw_strfmt(path, sizeof(path), "%s%s[%ld]", p->prefix, p->canon, p->idx);
    else if (p->key)
        crgw_strfmt(path, sizeof(path), "%s%s.%s", p->prefix, p->canon, p->key);
    else
        crgw_strfmt(path, sizeof(path), "%s%s", p->prefix, p->canon);
    va_list ap;
    va_start(ap, fmt);
    crgw_diags_addv(d, path, fmt, ap);
    va_end(ap);
}

/* ---- reading ---- */

/* converts a dialect value of field f; 0 and *out (new ref), or -1 (error added) */
static int convert_in(engine *e, const map_field *f, const epath *path, const char *s, size_t n,
                      json_t **out)
{
    const char *why;
    if (f->codes) {
        const char *c = map_codes_decode(f->codes, s, n, f->prefix);
        if (c == NULL) {
            diag(e->errs, path, "value \"%.*s\" is not in code list %s (%s)",
                 (int)(n > 200 ? 200 : n), s, f->codes->name, f->at.n ? f->at.src : f->value.src);
            return -1;
        }
        *out = json_string(c);
        return 0;
    }
    switch (f->type) {
    case MT_DATE:
    case MT_DATETIME: {
        crgw_datetime t;
        if (crgw_datefmt_parse(f->fmt, s, n, &t, &why)) {
            diag(e->errs, path, "\"%.*s\": %s (%s)", (int)(n > 100 ? 100 : n), s, why, f->at.src);
            return -1;
        }
        if (t.has_frac)
            diag(e->warn, path, "fractional seconds dropped");
        char buf[32];
        crgw_date_format_canonical(&t, f->type == MT_DATETIME, buf);
        *out = json_string(buf);
        return 0;
    }
    case MT_USCC: {
        char norm[19];
        char raw[64];
        if (n >= sizeof(raw)) {
            diag(e->errs, path, "not a unified social credit code (too long)");
            return -1;
        }
        memcpy(raw, s, n);
        raw[n] = '\0';
        if (crgw_uscc_check(raw, norm, &why)) {
            if (crgw_uscc_normalise(raw, n, norm) == 0 && e->o &&
                crgw_uscc_listed(norm, e->o->uscc_legacy, e->o->n_uscc_legacy)) {
                diag(e->warn, path, "legacy code %s accepted by the allow-list (%s)", norm, why);
            } else {
                diag(e->errs, path, "\"%s\": %s", raw, why);
                return -1;
            }
        }
        *out = json_string(norm);
        return 0;
    }
    case MT_NODE:
        if (n != 6 || strspn(s, "0123456789") < 6) {
            diag(e->errs, path, "\"%.*s\" is not a 6-digit division code", (int)(n > 50 ? 50 : n),
                 s);
            return -1;
        }
        *out = json_stringn(s, n);
        return 0;
    default:
        *out = json_stringn(s, n);
        return *out ? 0 : -1;
    }
}

/* reads a value handle h (scalar) of f; 0 with *s,*n, 1 when empty, -1 (error added) */
static int get_scalar(engine *e, const map_field *f, const epath *path, void *h, const char **s,
                      size_t *n)
{
    int r = e->ops->scalar(e->st, h, s, n);
    if (r < 0 || (r == 1) != (f->type == MT_BOOL)) {
        diag(e->errs, path, "expected a %s (%s)", f->type == MT_BOOL ? "boolean" : "string",
             f->at.src);
        return -1;
    }
    return *n == 0 ? 1 : 0;
}

static void read_scalar(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    epath path = {prefix, f->canon, -1, NULL};
    void *h = NULL;
    int cnt = e->ops->find(e->st, ctx, &f->at, &h);
    if (cnt < 0) {
        diag(e->errs, &path, "unexpected structure on the way to %s", f->at.src);
        return;
    }
    if (cnt > 1) {
        diag(e->errs, &path, "%s appears %d times", f->at.src, cnt);
        return;
    }
    const char *s = NULL;
    size_t n = 0;
    int r = cnt == 1 ? get_scalar(e, f, &path, h, &s, &n) : 1;
    if (r < 0)
        return;
    if (r == 1) {
        if (f->absent)
            crgw_canon_set(obj, f->canon, json_string(f->absent));
        else if (f->required)
            diag(e->errs, &path, "required field %s (%s)", cnt ? "is empty" : "missing", f->at.src);
        return;
    }
    json_t *v = NULL;
    if (convert_in(e, f, &path, s, n, &v))
        return;
    if (f->raw)
        crgw_canon_set(obj, f->raw, json_stringn(s, n));
    crgw_canon_set(obj, f->canon, v);
}

typedef struct {
    engine *e;
    const map_field *f;
    json_t *out;
    const char *prefix;
    size_t idx;
} list_ctx;

static int list_item(void *item, const char *key, void *u)
{
    (void)key;
    list_ctx *lc = u;
    engine *e = lc->e;
    epath path = {lc->prefix, lc->f->canon, (long)lc->idx++, NULL};
    void *h = NULL;
    int cnt = e->ops->find(e->st, item, &lc->f->value, &h);
    const char *s;
    size_t n;
    if (cnt != 1) {
        diag(e->errs, &path, "%s of an item %s", lc->f->value.src,
             cnt == 0 ? "missing" : "ambiguous");
        return 0;
    }
    int r = get_scalar(e, lc->f, &path, h, &s, &n);
    if (r == 1) {
        diag(e->errs, &path, "empty value");
        return 0;
    }
    json_t *v;
    if (r == 0 && convert_in(e, lc->f, &path, s, n, &v) == 0)
        json_array_append_new(lc->out, v);
    return 0;
}

static void read_list(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    epath path = {prefix, f->canon, -1, NULL};
    list_ctx lc = {e, f, json_array(), prefix, 0};
    int present = 0;
    int n = e->ops->each(e->st, ctx, &f->at, 0, list_item, &lc, &present);
    if (n < 0) {
        diag(e->errs, &path, "expected a list at %s", f->at.src);
        json_decref(lc.out);
        return;
    }
    if (!present && f->required) {
        diag(e->errs, &path, "required field missing (%s)", f->at.src);
        json_decref(lc.out);
        return;
    }
    /* no duplicates in a code list */
    for (size_t i = 0; i < json_array_size(lc.out); i++)
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_array_get(lc.out, i), json_array_get(lc.out, j))) {
                epath pi = {prefix, f->canon, (long)i, NULL};
                diag(e->warn, &pi, "%s listed twice", json_string_value(json_array_get(lc.out, i)));
            }
    crgw_canon_set(obj, f->canon, lc.out);
}

static int map_item(void *item, const char *key, void *u)
{
    list_ctx *lc = u;
    engine *e = lc->e;
    const map_field *f = lc->f;
    epath path = {lc->prefix, f->canon, -1, NULL};
    const char *ks, *vs;
    size_t kn, vn;
    void *vh = item;
    lc->idx++;
    if (key) {
        ks = key;
        kn = strlen(key);
    } else {
        void *kh = NULL;
        int cnt = e->ops->find(e->st, item, &f->key, &kh);
        if (cnt != 1 || e->ops->scalar(e->st, kh, &ks, &kn) != 0 || kn == 0) {
            diag(e->errs, &path, "entry %zu: key %s missing or not text", lc->idx, f->key.src);
            return 0;
        }
        ks = xstrndup(ks, kn); /* the next scalar() may reuse the buffer */
    }
    const char *kc = map_codes_decode(f->key_codes, ks, kn, 0);
    if (kc == NULL) {
        diag(e->errs, &path, "key \"%.*s\" is not in code list %s", (int)(kn > 100 ? 100 : kn), ks,
             f->key_codes->name);
        goto out;
    }
    epath vpath = {lc->prefix, f->canon, -1, kc};
    if (!key) {
        int cnt = e->ops->find(e->st, item, &f->value, &vh);
        if (cnt != 1) {
            diag(e->errs, &vpath, "value %s %s", f->value.src, cnt == 0 ? "missing" : "ambiguous");
            goto out;
        }
    }
    if (e->ops->scalar(e->st, vh, &vs, &vn) != 0) {
        diag(e->errs, &vpath, "expected a string");
        goto out;
    }
    const char *vc = map_codes_decode(f->codes, vs, vn, 0);
    if (vc == NULL) {
        diag(e->errs, &vpath, "value \"%.*s\" is not in code list %s", (int)(vn > 100 ? 100 : vn),
             vs, f->codes->name);
        goto out;
    }
    if (json_object_get(lc->out, kc)) {
        diag(e->errs, &vpath, "two conclusions for one domain");
        goto out;
    }
    json_object_set_new(lc->out, kc, json_string(vc));
out:
    if (!key)
        free((char *)ks);
    return 0;
}

static void read_map(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    epath path = {prefix, f->canon, -1, NULL};
    list_ctx lc = {e, f, json_object(), prefix, 0};
    int present = 0;
    int n = e->ops->each(e->st, ctx, &f->at, f->key_any, map_item, &lc, &present);
    if (n < 0 || (!present && f->required)) {
        diag(e->errs, &path, n < 0 ? "unexpected structure at %s" : "required field missing (%s)",
             f->at.src);
        json_decref(lc.out);
        return;
    }
    crgw_canon_set(obj, f->canon, lc.out);
}

static void read_fields(engine *e, void *ctx, const map_field *v, size_t n, json_t *obj,
                        const char *prefix);

static void read_derive(engine *e, const map_field *f, json_t *obj, const char *prefix)
{
    json_t *src = crgw_canon_get(obj, f->derive);
    if (!json_is_string(src))
        return;
    const char *c = map_codes_decode(f->codes, json_string_value(src), json_string_length(src), 0);
    if (c == NULL) {
        char path[PATH_MAX_LEN];
        join(path, prefix, f->canon);
        crgw_diags_add(e->errs, path, "no %s for %s \"%s\" (code list %s)", f->canon, f->derive,
                       json_string_value(src), f->codes->name);
        return;
    }
    crgw_canon_set(obj, f->canon, json_string(c));
}

typedef struct {
    engine *e;
    const map_field *f;
    const map_section *sec;
    json_t *out;
} rec_ctx;

static int rec_item(void *item, const char *key, void *u)
{
    (void)key;
    rec_ctx *rc = u;
    char prefix[32];
    crgw_strfmt(prefix, sizeof(prefix), "records[%zu].", json_array_size(rc->out));
    json_t *rec = crgw_canon_skeleton(1);
    for (size_t i = 0; i < rc->sec->nset; i++)
        json_object_set_new(rec, rc->sec->set[i].canon, json_string(rc->sec->set[i].value));
    read_fields(rc->e, item, rc->f->sub, rc->f->nsub, rec, prefix);
    json_array_append_new(rc->out, rec);
    return 0;
}

static void read_records(engine *e, void *ctx, const map_field *f, json_t *obj)
{
    json_t *arr = json_array();
    for (size_t s = 0; s < f->nsections; s++) {
        rec_ctx rc = {e, f, &f->sections[s], arr};
        int present = 0;
        if (e->ops->each(e->st, ctx, &f->sections[s].at, 0, rec_item, &rc, &present) < 0)
            crgw_diags_add(e->errs, "records", "expected a list at %s", f->sections[s].at.src);
    }
    crgw_canon_set(obj, f->canon, arr);
}

static void read_fields(engine *e, void *ctx, const map_field *v, size_t n, json_t *obj,
                        const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        switch (v[i].kind) {
        case MF_SCALAR:
            read_scalar(e, ctx, &v[i], obj, prefix);
            break;
        case MF_LIST:
            read_list(e, ctx, &v[i], obj, prefix);
            break;
        case MF_MAP:
            read_map(e, ctx, &v[i], obj, prefix);
            break;
        case MF_RECORDS:
            read_records(e, ctx, &v[i], obj);
            break;
        case MF_DERIVE:
            break;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (v[i].kind == MF_DERIVE)
            read_derive(e, &v[i], obj, prefix);
}

int engine_read(engine *e, void *root, json_t *canon)
{
    size_t before = e->errs->n;
    const map_dialect *d = e->d;
    for (size_t i = 0; i < d->nfixed; i++) {
        void *h = NULL;
        const char *s;
        size_t n;
        if (e->ops->find(e->st, root, &d->fixed_at[i], &h) == 1 &&
            (e->ops->scalar(e->st, h, &s, &n) != 0 || strlen(d->fixed_val[i]) != n ||
             memcmp(s, d->fixed_val[i], n) != 0))
            crgw_diags_add(e->warn, d->fixed_at[i].src, "expected \"%s\" (layout %s)",
                           d->fixed_val[i], d->name);
    }
    read_fields(e, root, d->fields, d->nfields, canon, "");
    return e->errs->n > before ? -1 : 0;
}

/* ---- writing ---- */

/* canonical value -> dialect text; NULL when it cannot be written (warning added) */
static const char *convert_out(engine *e, const map_field *f, const epath *path, json_t *v,
                               char *buf, size_t cap)
{
    if (!json_is_string(v)) {
        diag(e->errs, path, "expected a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (f->codes) {
        const char *d = map_codes_encode(f->codes, s);
        if (d == NULL)
            diag(e->warn, path, "%s cannot carry the value \"%s\"", e->d->name, s);
        return d;
    }
    if (f->type == MT_DATE || f->type == MT_DATETIME) {
        crgw_datetime t;
        const char *why;
        int lossy = 0;
        if (crgw_date_parse_canonical(s, strlen(s), f->type == MT_DATETIME, &t, &why)) {
            diag(e->errs, path, "\"%s\": %s", s, why);
            return NULL;
        }
        if (crgw_datefmt_format(f->fmt, &t, buf, cap, &lossy) < 0) {
            diag(e->errs, path, "date does not fit the format");
            return NULL;
        }
        if (lossy)
            diag(e->warn, path, "%s cannot carry the seconds of %s", e->d->name, s);
        return buf;
    }
    return s;
}

static int write_fields(engine *e, void *ctx, const map_field *v, size_t n, json_t *obj,
                        const char *prefix);

static void write_scalar(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    char buf[64];
    epath path = {prefix, f->canon, -1, NULL};
    json_t *v = crgw_canon_get(obj, f->canon);
    if (v == NULL)
        return;
    if (f->absent && json_is_string(v) && strcmp(json_string_value(v), f->absent) == 0)
        return;
    const char *s = convert_out(e, f, &path, v, buf, sizeof(buf));
    const char *why = "";
    if (s && e->ops->set(e->st, ctx, &f->at, s, f->type == MT_BOOL, &why))
        diag(e->errs, &path, "cannot be written: %s", why);
}

static void write_list(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    json_t *arr = crgw_canon_get(obj, f->canon);
    void *c = e->ops->container(e->st, ctx, &f->at, 0);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        char buf[64];
        epath path = {prefix, f->canon, (long)i, NULL};
        const char *s = convert_out(e, f, &path, v, buf, sizeof(buf));
        const char *why = "";
        if (s && e->ops->list_add(e->st, c, &f->at, &f->value, s, &why))
            diag(e->errs, &path, "cannot be written: %s", why);
    }
}

static void write_map(engine *e, void *ctx, const map_field *f, json_t *obj, const char *prefix)
{
    json_t *m = crgw_canon_get(obj, f->canon);
    void *c = e->ops->container(e->st, ctx, &f->at, f->key_any);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
    {
        epath path = {prefix, f->canon, -1, k};
        const char *kd = map_codes_encode(f->key_codes, k);
        const char *vd =
            json_is_string(v) ? map_codes_encode(f->codes, json_string_value(v)) : NULL;
        if (kd == NULL || vd == NULL) {
            diag(e->warn, &path, "%s cannot carry this conclusion", e->d->name);
            continue;
        }
        const char *why = "";
        int r = e->ops->map_add(e->st, c, f, kd, vd, &why);
        if (r == 0) {
            void *item = e->ops->item(e->st, c, &f->at);
            if (e->ops->set(e->st, item, &f->key, kd, 0, &why) ||
                e->ops->set(e->st, item, &f->value, vd, 0, &why))
                r = -1;
        }
        if (r < 0)
            diag(e->errs, &path, "cannot be written: %s", why);
    }
}

static int section_fits(const map_section *s, json_t *rec)
{
    for (size_t i = 0; i < s->nset; i++) {
        json_t *v = json_object_get(rec, s->set[i].canon);
        if (!json_is_string(v) || strcmp(json_string_value(v), s->set[i].value) != 0)
            return 0;
    }
    return 1;
}

static int mapped(const map_field *v, size_t n, const char *canon)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].canon, canon) == 0 || (v[i].raw && strcmp(v[i].raw, canon) == 0))
            return 1;
    return 0;
}

static void write_records(engine *e, void *ctx, const map_field *f, json_t *canon)
{
    void *cont[16];
    size_t ns = f->nsections < 16 ? f->nsections : 16;
    for (size_t s = 0; s < ns; s++)
        cont[s] = e->ops->container(e->st, ctx, &f->sections[s].at, 0);
    json_t *issuer = crgw_canon_get(canon, "issuer.node");
    size_t i;
    json_t *rec;
    json_array_foreach(json_object_get(canon, "records"), i, rec)
    {
        char prefix[32], path[PATH_MAX_LEN];
        crgw_strfmt(prefix, sizeof(prefix), "records[%zu].", i);
        size_t s;
        for (s = 0; s < ns; s++)
            if (section_fits(&f->sections[s], rec))
                break;
        if (s == ns) {
            join(path, prefix, "kind");
            json_t *k = json_object_get(rec, "kind");
            crgw_diags_add(e->warn, path, "%s cannot carry a %s record: record %s dropped",
                           e->d->name, json_is_string(k) ? json_string_value(k) : "?",
                           json_string_value(json_object_get(rec, "record_id")));
            continue;
        }
        void *item = e->ops->item(e->st, cont[s], &f->sections[s].at);
        write_fields(e, item, f->sub, f->nsub, rec, prefix);
        /* what the record has that this dialect cannot carry */
        const char *k;
        json_t *v;
        json_object_foreach(rec, k, v)
        {
            int ok = mapped(f->sub, f->nsub, k);
            for (size_t j = 0; j < f->sections[s].nset; j++)
                ok |= strcmp(f->sections[s].set[j].canon, k) == 0;
            if (strcmp(k, "severity_local") == 0) /* each dialect writes its own grade */
                ok = 1;
            if (strcmp(k, "origin_node") == 0 && json_equal(v, issuer))
                ok = 1;
            if (!ok) {
                join(path, prefix, k);
                crgw_diags_add(e->warn, path, "%s cannot carry this field", e->d->name);
            }
        }
    }
}

static void write_derive_check(engine *e, const map_field *f, json_t *obj, const char *prefix)
{
    json_t *src = crgw_canon_get(obj, f->derive);
    json_t *have = crgw_canon_get(obj, f->canon);
    if (!json_is_string(src) || have == NULL)
        return;
    const char *c = map_codes_decode(f->codes, json_string_value(src), json_string_length(src), 0);
    if (c == NULL || !json_is_string(have) || strcmp(c, json_string_value(have)) != 0) {
        char path[PATH_MAX_LEN];
        join(path, prefix, f->canon);
        crgw_diags_add(e->warn, path, "%s cannot carry %s \"%s\" (it implies %s)", e->d->name,
                       f->canon, json_is_string(have) ? json_string_value(have) : "?",
                       c ? c : "nothing");
    }
}

static int write_fields(engine *e, void *ctx, const map_field *v, size_t n, json_t *obj,
                        const char *prefix)
{
    for (size_t i = 0; i < n; i++) {
        switch (v[i].kind) {
        case MF_SCALAR:
            write_scalar(e, ctx, &v[i], obj, prefix);
            break;
        case MF_LIST:
            write_list(e, ctx, &v[i], obj, prefix);
            break;
        case MF_MAP:
            write_map(e, ctx, &v[i], obj, prefix);
            break;
        case MF_RECORDS:
            write_records(e, ctx, &v[i], obj);
            break;
        case MF_DERIVE:
            write_derive_check(e, &v[i], obj, prefix);
            break;
        }
    }
    return 0;
}

int engine_write(engine *e, void *root, json_t *canon)
{
    size_t before = e->errs->n;
    const map_dialect *d = e->d;
    const char *why = "";
    for (size_t i = 0; i < d->nfixed; i++)
        if (e->ops->set(e->st, root, &d->fixed_at[i], d->fixed_val[i], 0, &why))
            crgw_diags_add(e->errs, d->fixed_at[i].src, "cannot be written: %s", why);
    write_fields(e, root, d->fields, d->nfields, canon, "");
    /* top-level fields this dialect cannot carry */
    size_t nt;
    const crgw_canon_field *t = crgw_canon_fields(0, &nt);
    for (size_t i = 0; i < nt; i++) {
        const char *p = t[i].path;
        if (strcmp(p, "dialect") == 0 || strcmp(p, "provenance") == 0 ||
            crgw_canon_get(canon, p) == NULL || mapped(d->fields, d->nfields, p))
            continue;
        json_t *v = crgw_canon_get(canon, p);
        if (t[i].type == CT_CODES && json_array_size(v) == 0)
            continue;
        if (strcmp(p, "criminal_record") == 0 && json_is_string(v) &&
            strcmp(json_string_value(v), "not_covered") == 0)
            continue;
        crgw_diags_add(e->warn, p, "%s cannot carry this field", d->name);
    }
    const char *k;
    json_t *v;
    json_object_foreach(canon, k, v)
    {
        if (crgw_canon_lookup(k, 0) == NULL && strcmp(k, "issuer") != 0 &&
            strcmp(k, "covers") != 0 && strcmp(k, "subject") != 0)
            crgw_diags_add(e->warn, k, "not a canonical field: ignored");
    }
    return e->errs->n > before ? -1 : 0;
}
