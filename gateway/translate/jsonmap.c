#include "gateway/translate/jsonmap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/b64.h"
#include "gateway/core/hex.h"
#include "gateway/core/util.h"
#include "gateway/translate/engine.h"

#define JSON_MAX_BYTES (4u << 20)
#define PROV_KEY "x-crgw-provenance"

/* ---- strict parsing ---- */

/*
 * A small recursive-descent JSON parser building jansson values (about twice as fast as
 * json_loadb, which reads through a per-character stream). Strict: RFC 8259 grammar, valid
 * UTF-8 without surrogates, no \u0000, duplicate keys refused with their JSON location, nesting
 * limited to max (the recursion depth is bounded by it), one value per document.
 */
#define JP_MAX_DEPTH 1000

typedef struct {
    const char *k; /* object: current key (NULL before the first) */
    size_t kl;
    long idx; /* array: current index, -1 for objects */
} jp_frame;

typedef struct {
    const char *start, *p, *end;
    int depth, max;
    jp_frame *st;
    const char *err; /* first error (static message) */
    const char *err_at;
    int err_path; /* the error is reported at the JSON location, not at "$" */
    crgw_buf sb;  /* unescaped strings */
} jp;

static json_t *jp_value(jp *j);

static void jp_fail(jp *j, const char *msg, int at_path)
{
    if (j->err == NULL) {
        j->err = msg;
        j->err_at = j->p;
        j->err_path = at_path;
    }
}

static void jp_ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
        j->p++;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int d = crgw_hexval(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/* length of a valid UTF-8 sequence at p (non-ASCII), 0 if invalid */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

static void put_utf8(crgw_buf *b, unsigned cp)
{
    char o[4];
    size_t n;
    if (cp < 0x80) {
        o[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        o[0] = (char)(0xF0 | (cp >> 18));
        o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    crgw_buf_add(b, o, n);
}

/* parses a string at j->p ('"'); *s, *n point into the input or into j->sb. 0 or -1 */
static int jp_string(jp *j, const char **s, size_t *n)
{
    const char *p = ++j->p;
    const char *e = j->end;
    /* fast path: no escapes */
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *s = j->p;
            *n = (size_t)(p - j->p);
            j->p = p + 1;
            return 0;
        }
        if (c == '\\')
            break;
        if (c < 0x20) {
            j->p = p;
            jp_fail(j, "control character in a string", 0);
            return -1;
        }
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
        if (k == 0) {
            j->p = p;
            jp_fail(j, "invalid UTF-8 in a string", 0);
            return -1;
        }
        p += k;
    }
    /* slow path: unescape into sb */
    crgw_buf_reset(&j->sb);
    crgw_buf_add(&j->sb, j->p, (size_t)(p - j->p));
    while (p < e) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            j->p = p + 1;
            *s = j->sb.data ? j->sb.data : "";
            *n = j->sb.len;
            return 0;
        }
        if (c < 0x20) {
            j->p = p;
            jp_fail(j, "control character in a string", 0);
            return -1;
        }
        if (c >= 0x80) {
            size_t k = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
            if (k == 0) {
                j->p = p;
                jp_fail(j, "invalid UTF-8 in a string", 0);
                return -1;
            }
            crgw_buf_add(&j->sb, p, k);
            p += k;
            continue;
        }
        if (c != '\\') {
            crgw_buf_add(&j->sb, p++, 1);
            continue;
        }
        if (e - p < 2)
            break;
        char x = p[1];
        const char *esc = strchr("\"\\/bfnrt", x);
        if (x != '\0' && esc != NULL && x != 'u') {
            static const char rep[] = "\"\\/\b\f\n\r\t";
            crgw_buf_add(&j->sb, &rep[esc - "\"\\/bfnrt"], 1);
            p += 2;
            continue;
        }
        unsigned cp, lo;
        if (x != 'u' || e - p < 6 || hex4(p + 2, &cp)) {
            j->p = p;
            jp_fail(j, "invalid escape in a string", 0);
            return -1;
        }
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 ||
                lo > 0xDFFF) {
                j->p = p;
                jp_fail(j, "invalid UTF-16 surrogate pair", 0);
                return -1;
            }
            p += 6;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
            j->p = p;
            jp_fail(j, cp ? "invalid UTF-16 surrogate" : "\\u0000 is not accepted", 0);
            return -1;
        }
        put_utf8(&j->sb, cp);
    }
    j->p = e;
    jp_fail(j, "unterminated string", 0);
    return -1;
}

static json_t *jp_number(jp *j)
{
    const char *s = j->p, *p = s, *e = j->end;
    int real = 0;
    if (p < e && *p == '-')
        p++;
    if (p < e && *p == '0') {
        p++;
    } else if (p < e && *p >= '1' && *p <= '9') {
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    } else {
        jp_fail(j, "invalid value", 0);
        return NULL;
    }
    if (p < e && *p == '.') {
        real = 1;
        p++;
        if (p >= e || *p < '0' || *p > '9') {
            j->p = p;
            jp_fail(j, "invalid number", 0);
            return NULL;
        }
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9') {
            j->p = p;
            jp_fail(j, "invalid number", 0);
            return NULL;
        }
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    /* numbers of any length, as jansson reads them: a long one (a real with many digits)
       is copied to the heap, the usual short one stays on the stack */
    char small[64], *tmp = small;
    size_t n = (size_t)(p - s);
    if (n >= sizeof(small) && (tmp = malloc(n + 1)) == NULL) {
        jp_fail(j, "out of memory", 0);
        return NULL;
    }
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    j->p = p;
    errno = 0;
    json_t *v = NULL;
    if (!real) {
        long long i = strtoll(tmp, NULL, 10);
        if (errno == ERANGE)
            jp_fail(j, "integer out of range", 0);
        else
            v = json_integer(i);
    } else {
        double d = strtod(tmp, NULL);
        if (errno == ERANGE && (d > 1.0 || d < -1.0))
            jp_fail(j, "real number out of range", 0);
        else
            v = json_real(d);
    }
    if (tmp != small)
        free(tmp);
    return v;
}

static int jp_push(jp *j, int obj)
{
    if (j->depth >= j->max) {
        jp_fail(j, "nested too deeply", 0);
        return -1;
    }
    jp_frame *f = &j->st[j->depth++];
    f->k = NULL;
    f->kl = 0;
    f->idx = obj ? -1 : 0;
    return 0;
}

static json_t *jp_object(jp *j)
{
    if (jp_push(j, 1))
        return NULL;
    jp_frame *f = &j->st[j->depth - 1];
    json_t *o = json_object();
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        j->depth--;
        return o;
    }
    for (;;) {
        jp_ws(j);
        if (j->p >= j->end || *j->p != '"') {
            jp_fail(j, "string (object key) expected", 0);
            goto fail;
        }
        const char *k;
        size_t kl;
        if (jp_string(j, &k, &kl))
            goto fail;
        char kbuf[128];
        char *key = kl < sizeof(kbuf) ? kbuf : xmalloc(kl + 1);
        memcpy(key, k, kl);
        key[kl] = '\0';
        f->k = k == j->sb.data ? NULL : k; /* location only when not unescaped */
        f->kl = kl;
        if (f->k == NULL) {
            f->k = "(escaped key)";
            f->kl = strlen(f->k);
        }
        if (json_object_get(o, key) != NULL) {
            if (key != kbuf)
                free(key);
            jp_fail(j, "duplicate key", 1);
            goto fail;
        }
        jp_ws(j);
        if (j->p >= j->end || *j->p != ':') {
            if (key != kbuf)
                free(key);
            jp_fail(j, "':' expected", 0);
            goto fail;
        }
        j->p++;
        json_t *v = jp_value(j);
        if (v == NULL) {
            if (key != kbuf)
                free(key);
            goto fail;
        }
        json_object_set_new_nocheck(o, key, v);
        if (key != kbuf)
            free(key);
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            j->depth--;
            return o;
        }
        jp_fail(j, "',' or '}' expected", 0);
        goto fail;
    }
fail:
    json_decref(o);
    return NULL;
}

static json_t *jp_array(jp *j)
{
    if (jp_push(j, 0))
        return NULL;
    jp_frame *f = &j->st[j->depth - 1];
    json_t *a = json_array();
    j->p++;
    jp_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        j->depth--;
        return a;
    }
    for (;;) {
        json_t *v = jp_value(j);
        if (v == NULL)
            goto fail;
        json_array_append_new(a, v);
        jp_ws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            f->idx++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            j->depth--;
            return a;
        }
        jp_fail(j, "',' or ']' expected", 0);
        goto fail;
    }
fail:
    json_decref(a);
    return NULL;
}

static json_t *jp_value(jp *j)
{
    jp_ws(j);
    if (j->p >= j->end) {
        jp_fail(j, "unexpected end of document", 0);
        return NULL;
    }
    size_t left = (size_t)(j->end - j->p);
    switch (*j->p) {
    case '{':
        return jp_object(j);
    case '[':
        return jp_array(j);
    case '"': {
        const char *s;
        size_t n;
        if (jp_string(j, &s, &n))
            return NULL;
        return json_stringn_nocheck(s, n);
    }
    case 't':
        if (left >= 4 && memcmp(j->p, "true", 4) == 0) {
            j->p += 4;
            return json_true();
        }
        break;
    case 'f':
        if (left >= 5 && memcmp(j->p, "false", 5) == 0) {
            j->p += 5;
            return json_false();
        }
        break;
    case 'n':
        if (left >= 4 && memcmp(j->p, "null", 4) == 0) {
            j->p += 4;
            return json_null();
        }
        break;
    default:
        return jp_number(j);
    }
    jp_fail(j, "invalid value", 0);
    return NULL;
}

static void jp_location(const jp *j, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "$");
    for (int k = 0; k < j->depth && n < cap; k++) {
        int w;
        if (j->st[k].idx >= 0)
            w = snprintf(out + n, cap - n, "[%ld]", j->st[k].idx);
        else if (j->st[k].k)
            w = snprintf(out + n, cap - n, ".%.*s", (int)(j->st[k].kl > 100 ? 100 : j->st[k].kl),
                         j->st[k].k);
        else
            w = 0;
        if (w < 0 || (size_t)w >= cap - n)
            break;
        n += (size_t)w;
    }
}

int crgw_json_parse_strict(const char *buf, size_t len, int max_depth, json_t **out,
                           crgw_diags *errs)
{
    *out = NULL;
    if (max_depth <= 0)
        max_depth = 64;
    if (max_depth > JP_MAX_DEPTH)
        max_depth = JP_MAX_DEPTH;
    if (len > JSON_MAX_BYTES) {
        crgw_diags_add(errs, "$", "document larger than %u bytes", JSON_MAX_BYTES);
        return -1;
    }
    jp_frame stack[72];
    jp j = {.start = buf, .p = buf, .end = buf + len, .max = max_depth};
    j.st = max_depth < 72 ? stack : xcalloc((size_t)max_depth, sizeof(jp_frame));
    crgw_buf_init(&j.sb, JSON_MAX_BYTES);
    json_t *v = NULL;
    jp_ws(&j);
    if (j.p < j.end && *j.p != '{' && *j.p != '[')
        jp_fail(&j, "a JSON document is an object or an array", 0);
    else
        v = jp_value(&j);
    if (v) {
        jp_ws(&j);
        if (j.p != j.end) {
            jp_fail(&j, "data after the JSON value", 0);
            json_decref(v);
            v = NULL;
        }
    }
    int rc = 0;
    if (v == NULL) {
        if (j.err == NULL)
            jp_fail(&j, "unexpected end of document", 0);
        char where[256];
        jp_location(&j, where, sizeof(where));
        int line = 1, col = 1;
        for (const char *p = buf; p < j.err_at && p < j.end; p++) {
            if (*p == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (j.err_path)
            crgw_diags_add(errs, where, "%s", j.err);
        else
            crgw_diags_add(errs, "$", "JSON: %s at %s (line %d, column %d)", j.err, where, line,
                           col);
        rc = -1;
    }
    crgw_buf_cleanup(&j.sb);
    if (j.st != stack)
        free(j.st);
    *out = v;
    return rc;
}

/* base64url without padding; returns a heap buffer (NUL-terminated) or NULL */
static char *b64url_decode(const char *s, size_t n, size_t *out_len)
{
    unsigned char *out;
    return crgw_b64url_decode(s, n, &out, out_len) == 0 ? (char *)out : NULL;
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
        else if (crgw_b64url_value((unsigned char)buf[i]) < 0)
            return 0;
    }
    return dots == 2;
}

int jsonmap_unwrap(const char *buf, size_t len, int max_depth, json_t **payload, unsigned *envelope,
                   crgw_diags *errs)
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
        int rc =
            decode_payload(json_string_value(pl), json_string_length(pl), max_depth, payload, errs);
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

static int j_each(void *st, void *ctx, const map_path *p, int key_any, engine_each_fn fn, void *u,
                  int *present)
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

static int j_map_add(void *st, void *container, const map_field *f, const char *k, const char *v,
                     const char **why)
{
    (void)st;
    (void)why;
    if (!f->key_any)
        return 0;
    json_object_set_new(container, k, json_string(v));
    return 1;
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
        const map_schema *ks = kid(s, k);
        if (ks != NULL && (ks->ignore || ks->any || !(json_is_object(v) || json_is_array(v))))
            continue;
        /* the location is only built when needed */
        size_t kl = strlen(k), nl = len;
        if (len + kl + 2 < cap) {
            loc[len] = '.';
            memcpy(loc + len + 1, k, kl + 1);
            nl = len + 1 + kl;
        }
        if (ks == NULL) {
            crgw_diags_add(warn, loc, "unknown key ignored");
            continue;
        }
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

int jsonmap_read(const map_dialect *d, json_t *payload, const crgw_translate_opts *o, json_t *canon,
                 json_t **origin, crgw_diags *warn, crgw_diags *errs)
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

int jsonmap_write(const map_dialect *d, json_t *canon, json_t *prov, const crgw_translate_opts *o,
                  char **out, size_t *out_len, crgw_diags *warn, crgw_diags *errs)
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
