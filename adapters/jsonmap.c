#include "adapters/jsonmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/engine.h"
#include "gateway/util.h"

#define JSON_MAX_BYTES (4u << 20)
#define PROV_KEY "x-crgw-provenance"

/* ---- strict parsing ---- */

typedef struct {
    char obj;
    char expect_key;
    size_t kstart, klen;
    size_t idx;
} frame;

/*
 * Scans buf up to stop (or the end): returns the nesting depth exceeded flag (1 when deeper than
 * max) and, when path is non-NULL, the JSON location at the stop point (or at the first
 * excessive nesting).
 */
static int scan(const char *buf, size_t len, int max, size_t stop, char *path, size_t cap)
{
    frame *st = xcalloc((size_t)max + 2, sizeof(frame));
    int depth = 0, deep = 0;
    size_t i = 0;
    if (stop > len)
        stop = len;
    while (i < stop) {
        char c = buf[i];
        if (c == '"') {
            size_t s = ++i;
            while (i < len && buf[i] != '"') {
                if (buf[i] == '\\')
                    i++;
                i++;
            }
            if (depth > 0 && st[depth - 1].obj && st[depth - 1].expect_key) {
                st[depth - 1].kstart = s;
                st[depth - 1].klen = (i < len ? i : len) - s;
                st[depth - 1].expect_key = 0;
            }
            i++;
            continue;
        }
        if (c == '{' || c == '[') {
            if (depth >= max) {
                deep = 1;
                break;
            }
            frame *f = &st[depth++];
            memset(f, 0, sizeof(*f));
            f->obj = c == '{';
            f->expect_key = f->obj;
            f->klen = (size_t)-1;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        } else if (c == ',' && depth > 0) {
            if (st[depth - 1].obj)
                st[depth - 1].expect_key = 1;
            else
                st[depth - 1].idx++;
        }
        i++;
    }
    if (path) {
        size_t n = 0;
        int w = snprintf(path, cap, "$");
        n = (size_t)w;
        for (int k = 0; k < depth && n < cap; k++) {
            if (st[k].obj && st[k].klen != (size_t)-1)
                w = snprintf(path + n, cap - n, ".%.*s", (int)(st[k].klen > 100 ? 100 : st[k].klen),
                             buf + st[k].kstart);
            else if (!st[k].obj)
                w = snprintf(path + n, cap - n, "[%zu]", st[k].idx);
            else
                w = 0;
            if (w < 0 || (size_t)w >= cap - n)
                break;
            n += (size_t)w;
        }
    }
    free(st);
    return deep;
}

int crgw_json_parse_strict(const char *buf, size_t len, int max_depth, json_t **out,
                           crgw_diags *errs)
{
    *out = NULL;
    if (max_depth <= 0)
        max_depth = 64;
    if (len > JSON_MAX_BYTES) {
        crgw_diags_add(errs, "$", "document larger than %u bytes", JSON_MAX_BYTES);
        return -1;
    }
    char where[256];
    if (scan(buf, len, max_depth, len, where, sizeof(where))) {
        crgw_diags_add(errs, "$", "JSON nested deeper than %d (at %s)", max_depth, where);
        return -1;
    }
    json_error_t err;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        if (json_error_code(&err) == json_error_duplicate_key) {
            scan(buf, len, max_depth, (size_t)err.position, where, sizeof(where));
            crgw_diags_add(errs, where, "duplicate key");
        } else {
            crgw_diags_add(errs, "$", "JSON: %s (line %d, column %d)", err.text, err.line,
                           err.column);
        }
        return -1;
    }
    *out = j;
    return 0;
}

static int b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* base64url without padding; returns a heap buffer (NUL-terminated) or NULL */
static char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    if (n % 4 == 1)
        return NULL;
    char *out = xmalloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)s[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) { /* non-canonical trailing bits */
        free(out);
        return NULL;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int decode_payload(const char *s, size_t n, int max_depth, json_t **payload,
                          crgw_diags *errs)
{
    size_t pl;
    char *p = b64url_decode(s, n, &pl);
    if (p == NULL) {
        crgw_diags_add(errs, "$.payload", "JWS payload is not base64url");
        return -1;
    }
    int rc = crgw_json_parse_strict(p, pl, max_depth, payload, errs);
    free(p);
    if (rc == 0 && !json_is_object(*payload)) {
        json_decref(*payload);
        *payload = NULL;
        crgw_diags_add(errs, "$.payload", "JWS payload is not a JSON object");
        return -1;
    }
    return rc;
}

static int is_compact(const char *buf, size_t len)
{
    int dots = 0;
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] == '.')
            dots++;
        else if (b64url_val((unsigned char)buf[i]) < 0)
            return 0;
    }
    return dots == 2;
}

int jsonmap_unwrap(const char *buf, size_t len, int max_depth, json_t **payload,
                   unsigned *envelope, crgw_diags *errs)
{
    *payload = NULL;
    *envelope = 0;
    if (len > JSON_MAX_BYTES) {
        crgw_diags_add(errs, "$", "document larger than %u bytes", JSON_MAX_BYTES);
        return -1;
    }
    size_t n = len;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    if (is_compact(buf, n)) {
        const char *d1 = memchr(buf, '.', n);
        const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - buf));
        size_t hl;
        char *h = b64url_decode(buf, (size_t)(d1 - buf), &hl);
        json_t *hdr = NULL;
        if (h == NULL || crgw_json_parse_strict(h, hl, max_depth, &hdr, errs) ||
            !json_is_object(hdr)) {
            if (errs->n == 0 || h == NULL || hdr != NULL)
                crgw_diags_add(errs, "$", "compact JWS: bad protected header");
            free(h);
            json_decref(hdr);
            return -1;
        }
        free(h);
        json_decref(hdr);
        *envelope = MAP_ENV_JWS_COMPACT;
        return decode_payload(d1 + 1, (size_t)(d2 - d1 - 1), max_depth, payload, errs);
    }
    json_t *j = NULL;
    if (crgw_json_parse_strict(buf, len, max_depth, &j, errs))
        return -1;
    if (!json_is_object(j)) {
        json_decref(j);
        crgw_diags_add(errs, "$", "a report is a JSON object");
        return -1;
    }
    json_t *pl = json_object_get(j, "payload");
    json_t *sig = json_object_get(j, "signature");
    if (json_is_string(pl) && json_is_string(sig) &&
        (json_object_get(j, "protected") || json_object_get(j, "header"))) {
        *envelope = MAP_ENV_JWS_FLAT;
        int rc = decode_payload(json_string_value(pl), json_string_length(pl), max_depth,
                                payload, errs);
        json_decref(j);
        return rc;
    }
    *payload = j;
    return 0;
}

/* ---- ops ---- */

static int j_find(void *st, void *ctx, const map_path *p, void **out)
{
    (void)st;
    json_t *cur = ctx;
    *out = NULL;
    for (size_t i = 0; i < p->n; i++) {
        if (!json_is_object(cur))
            return -1;
        cur = json_object_get(cur, p->v[i].name);
        if (cur == NULL)
            return 0;
    }
    *out = cur;
    return 1;
}

static int j_scalar(void *st, void *h, const char **s, size_t *n)
{
    (void)st;
    json_t *v = h;
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = json_string_length(v);
        return 0;
    }
    if (json_is_boolean(v)) {
        *s = json_is_true(v) ? "true" : "false";
        *n = strlen(*s);
        return 1;
    }
    if (json_is_null(v)) {
        *s = "";
        *n = 0;
        return 0;
    }
    return -1;
}

static int j_each(void *st, void *ctx, const map_path *p, int key_any, engine_each_fn fn,
                  void *u, int *present)
{
    json_t *c = NULL;
    *present = 0;
    int r = j_find(st, ctx, p, (void **)&c);
    if (r < 0)
        return -1;
    if (r == 0 || json_is_null(c))
        return 0;
    *present = 1;
    int count = 0;
    if (key_any) {
        if (!json_is_object(c))
            return -1;
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            count++;
            if (fn(v, k, u))
                break;
        }
        return count;
    }
    if (!json_is_array(c))
        return -1;
    size_t i;
    json_t *v;
    json_array_foreach(c, i, v)
    {
        count++;
        if (fn(v, NULL, u))
            break;
    }
    return count;
}

static json_t *obj_path(json_t *cur, const map_path *p, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        json_t *n = json_object_get(cur, p->v[i].name);
        if (!json_is_object(n)) {
            n = json_object();
            json_object_set_new(cur, p->v[i].name, n);
        }
        cur = n;
    }
    return cur;
}

static int j_set(void *st, void *ctx, const map_path *p, const char *v, int as_bool,
                 const char **why)
{
    (void)st;
    json_t *cj = ctx;
    if (p->n == 0 || !json_is_object(cj)) {
        *why = "no member to write";
        return -1;
    }
    json_t *o = obj_path(ctx, p, p->n - 1);
    json_t *val = as_bool ? json_boolean(strcmp(v, "true") == 0) : json_string(v);
    if (val == NULL) {
        *why = "invalid UTF-8";
        return -1;
    }
    json_object_set_new(o, p->v[p->n - 1].name, val);
    return 0;
}

static void *j_container(void *st, void *ctx, const map_path *p, int key_any)
{
    (void)st;
    json_t *o = obj_path(ctx, p, p->n - 1);
    const char *name = p->v[p->n - 1].name;
    json_t *c = json_object_get(o, name);
    if (key_any ? !json_is_object(c) : !json_is_array(c)) {
        c = key_any ? json_object() : json_array();
        json_object_set_new(o, name, c);
    }
    return c;
}

static void *j_item(void *st, void *container, const map_path *p)
{
    (void)st;
    (void)p;
    json_t *o = json_object();
    json_array_append_new(container, o);
    return o;
}

static int j_list_add(void *st, void *container, const map_path *p, const map_path *value,
                      const char *v, const char **why)
{
    if (value->n == 0) {
        json_t *s = json_string(v);
        if (s == NULL) {
            *why = "invalid UTF-8";
            return -1;
        }
        json_array_append_new(container, s);
        return 0;
    }
    return j_set(st, j_item(st, container, p), value, v, 0, why);
}

static int j_map_add(void *st, void *container, const map_field *f, const char *k,
                     const char *v, const char **why)
{
    if (f->key_any) {
        json_object_set_new(container, k, json_string(v));
        return 0;
    }
    json_t *item = j_item(st, container, &f->at);
    if (j_set(st, item, &f->key, k, 0, why))
        return -1;
    return j_set(st, item, &f->value, v, 0, why);
}

static const engine_ops JSON_OPS = {
    j_find, j_scalar, j_each, j_set, j_container, j_item, j_list_add, j_map_add,
};

/* ---- unknown keys ---- */

static const map_schema *kid(const map_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nkids; i++)
        if (strcmp(s->kids[i].step.name, name) == 0)
            return &s->kids[i];
    return NULL;
}

static void unknown_walk(json_t *o, const map_schema *s, char *loc, size_t len, size_t cap,
                         crgw_diags *warn, int depth)
{
    if (depth > 128)
        return;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int w = snprintf(loc + len, cap - len, ".%s", k);
        size_t nl = len + (w > 0 && (size_t)w < cap - len ? (size_t)w : 0);
        const map_schema *ks = kid(s, k);
        if (ks == NULL) {
            crgw_diags_add(warn, loc, "unknown key ignored");
            continue;
        }
        if (ks->ignore || ks->any)
            continue;
        if (json_is_object(v)) {
            unknown_walk(v, ks, loc, nl, cap, warn, depth + 1);
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (!json_is_object(e))
                    continue;
                int w2 = snprintf(loc + nl, cap - nl, "[%zu]", i);
                size_t nl2 = nl + (w2 > 0 && (size_t)w2 < cap - nl ? (size_t)w2 : 0);
                unknown_walk(e, ks, loc, nl2, cap, warn, depth + 1);
            }
        }
    }
}

/* ---- entry points ---- */

int jsonmap_matches(const map_dialect *d, json_t *payload)
{
    if (d->xml || d->nfixed == 0 || !json_is_object(payload))
        return 0;
    for (size_t i = 0; i < d->nfixed; i++) {
        void *h = NULL;
        const char *s;
        size_t n;
        if (j_find(NULL, payload, &d->fixed_at[i], &h) != 1 || j_scalar(NULL, h, &s, &n) != 0 ||
            n != strlen(d->fixed_val[i]) || memcmp(s, d->fixed_val[i], n) != 0)
            return 0;
    }
    return 1;
}

int jsonmap_read(const map_dialect *d, json_t *payload, const crgw_translate_opts *o,
                 json_t *canon, json_t **origin, crgw_diags *warn, crgw_diags *errs)
{
    *origin = NULL;
    if (!json_is_object(payload)) {
        crgw_diags_add(errs, "$", "a report is a JSON object");
        return -1;
    }
    engine e = {&JSON_OPS, NULL, d, o, warn, errs};
    int rc = engine_read(&e, payload, canon);
    if (rc == 0) {
        char loc[512] = "$";
        unknown_walk(payload, &d->schema, loc, 1, sizeof(loc), warn, 0);
        json_t *p = json_object_get(payload, PROV_KEY);
        if (json_is_object(p))
            *origin = json_incref(p);
    }
    return rc;
}

int jsonmap_write(const map_dialect *d, json_t *canon, json_t *prov,
                  const crgw_translate_opts *o, char **out, size_t *out_len, crgw_diags *warn,
                  crgw_diags *errs)
{
    json_t *doc = json_object();
    engine e = {&JSON_OPS, NULL, d, o, warn, errs};
    int rc = engine_write(&e, doc, canon);
    if (rc == 0) {
        if (prov)
            json_object_set(doc, PROV_KEY, prov);
        char *s = json_dumps(doc, JSON_INDENT(2));
        if (s == NULL) {
            crgw_diags_add(errs, "$", "cannot serialise the document");
            rc = -1;
        } else {
            size_t n = strlen(s);
            *out = xmalloc(n + 2);
            memcpy(*out, s, n);
            (*out)[n] = '\n';
            (*out)[n + 1] = '\0';
            *out_len = n + 1;
            free(s);
        }
    }
    json_decref(doc);
    return rc;
}
