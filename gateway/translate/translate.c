#include "gateway/translate/translate.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gateway/core/hex.h"
#include "gateway/core/util.h"
#include "gateway/translate/canon.h"
#include "gateway/translate/jsonmap.h"
#include "gateway/translate/mapping.h"
#include "gateway/translate/xmlmap.h"

#define DEFAULT_MAX_BYTES (4u << 20)
#define DEFAULT_MAX_DEPTH 64

struct crgw_adapters {
    map_dialect **v;
    size_t n;
    EVP_MD_CTX *h; /* running SHA-256 over the mapping files loaded */
    unsigned char digest[32];
};

/* ---- loading ---- */

crgw_adapters *crgw_adapters_new(void)
{
    return xcalloc(1, sizeof(crgw_adapters));
}

void crgw_adapters_free(crgw_adapters *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        map_dialect_free(a->v[i]);
    free(a->v);
    EVP_MD_CTX_free(a->h);
    free(a);
}

static const map_dialect *find(const crgw_adapters *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->n; i++)
        if (strcmp(a->v[i]->name, name) == 0)
            return a->v[i];
    return NULL;
}

int crgw_adapters_add_file(crgw_adapters *a, const char *file, crgw_diags *errs)
{
    map_dialect *d = map_dialect_load(file, errs);
    if (d == NULL)
        return -1;
    if (find(a, d->name)) {
        crgw_diags_add(errs, NULL, "%s:1: dialect %s is defined twice", file, d->name);
        map_dialect_free(d);
        return -1;
    }
    a->v = xrealloc(a->v, (a->n + 1) * sizeof(*a->v));
    a->v[a->n++] = d;
    /* the digest of what was loaded: name and bytes of every file, in load order */
    char *data = NULL;
    size_t len = 0;
    if (crgw_read_file(file, 1u << 20, &data, &len) == 0) {
        if (a->h == NULL) {
            a->h = EVP_MD_CTX_new();
            crgw_assert(a->h != NULL);
            EVP_DigestInit_ex(a->h, EVP_sha256(), NULL);
        }
        EVP_DigestUpdate(a->h, d->name, strlen(d->name) + 1);
        EVP_DigestUpdate(a->h, data, len);
        EVP_MD_CTX *copy = EVP_MD_CTX_new();
        crgw_assert(copy != NULL && EVP_MD_CTX_copy_ex(copy, a->h) == 1);
        EVP_DigestFinal_ex(copy, a->digest, NULL);
        EVP_MD_CTX_free(copy);
        free(data);
    }
    return 0;
}

void crgw_adapters_digest(const crgw_adapters *a, unsigned char out[32])
{
    memcpy(out, a->digest, 32);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int crgw_adapters_load(const char *dir, crgw_adapters **out, crgw_diags *errs)
{
    *out = NULL;
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        crgw_diags_add(errs, NULL, "%s:0: cannot open the adapters directory", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0 && de->d_name[0] != '.') {
            names = xrealloc(names, (n + 1) * sizeof(char *));
            names[n++] = xstrdup(de->d_name);
        }
    }
    closedir(dh);
    qsort(names, n, sizeof(char *), cmp_str);
    crgw_adapters *a = crgw_adapters_new();
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        crgw_buf p;
        crgw_buf_init(&p, 8192);
        crgw_buf_printf(&p, "%s/%s", dir, names[i]);
        char *file = crgw_buf_take(&p, NULL);
        if (crgw_adapters_add_file(a, file, errs))
            rc = -1;
        free(file);
        free(names[i]);
    }
    free(names);
    if (rc == 0 && a->n == 0) {
        crgw_diags_add(errs, NULL, "%s:0: no *.yaml mapping files", dir);
        rc = -1;
    }
    if (rc) {
        crgw_adapters_free(a);
        return -1;
    }
    *out = a;
    return 0;
}

size_t crgw_adapters_count(const crgw_adapters *a)
{
    return a ? a->n : 0;
}

const char *crgw_adapters_name(const crgw_adapters *a, size_t i)
{
    return a && i < a->n ? a->v[i]->name : NULL;
}

int crgw_adapters_is_xml(const crgw_adapters *a, const char *dialect)
{
    const map_dialect *d = find(a, dialect);
    return d ? d->xml : -1;
}

/* ---- detection ---- */

static int first_byte(const char *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i < len ? (unsigned char)buf[i] : -1;
}

static const map_dialect *detect_xml(const crgw_adapters *a, xmlNodePtr root)
{
    for (size_t i = 0; i < a->n; i++)
        if (xmlmap_root_matches(a->v[i], root))
            return a->v[i];
    return NULL;
}

static const map_dialect *detect_json(const crgw_adapters *a, json_t *payload)
{
    for (size_t i = 0; i < a->n; i++)
        if (jsonmap_matches(a->v[i], payload))
            return a->v[i];
    return NULL;
}

static int looks_xml(const char *buf, size_t len)
{
    int c = first_byte(buf, len);
    /* UTF-16 BOMs and '<' */
    return c == '<' ||
           (len >= 2 && ((unsigned char)buf[0] == 0xFE || (unsigned char)buf[0] == 0xFF));
}

const char *crgw_adapters_detect(const crgw_adapters *a, const char *buf, size_t len)
{
    crgw_diags errs = {0};
    const map_dialect *d = NULL;
    if (looks_xml(buf, len)) {
        xmlDocPtr doc = NULL;
        if (crgw_xml_parse_strict(buf, len, DEFAULT_MAX_DEPTH, &doc, &errs) == 0) {
            d = detect_xml(a, xmlDocGetRootElement(doc));
            xmlFreeDoc(doc);
        }
    } else {
        json_t *p = NULL;
        unsigned env;
        if (jsonmap_unwrap(buf, len, DEFAULT_MAX_DEPTH, &p, &env, &errs) == 0) {
            d = detect_json(a, p);
            json_decref(p);
        }
    }
    crgw_diags_cleanup(&errs);
    return d ? d->name : NULL;
}

/* ---- translation ---- */

static crgw_translate_opts fill_opts(const crgw_translate_opts *o)
{
    crgw_translate_opts r = {0};
    if (o)
        r = *o;
    if (r.max_bytes == 0)
        r.max_bytes = DEFAULT_MAX_BYTES;
    if (r.max_depth <= 0)
        r.max_depth = DEFAULT_MAX_DEPTH;
    return r;
}

static int is_auto(const char *dialect)
{
    return dialect == NULL || *dialect == '\0' || strcmp(dialect, "auto") == 0;
}

/* dialect, provenance, consistency, order; takes canon */
static json_t *finish(const map_dialect *d, json_t *canon, json_t *origin,
                      const unsigned char sha[32], const crgw_translate_opts *o, crgw_diags *warn,
                      crgw_diags *errs)
{
    /* the skeleton keeps canonical order: fill in place, then drop what stayed null */
    json_object_set_new(canon, "dialect", json_string(d->name));
    if (json_is_null(crgw_canon_get(canon, "covers.excludes")) &&
        json_is_array(crgw_canon_get(canon, "covers.domains")))
        crgw_canon_set(canon, "covers.excludes", json_array());
    if (json_is_null(json_object_get(canon, "criminal_record")))
        json_object_set_new(canon, "criminal_record", json_string("not_covered"));
    crgw_canon_prune(canon);
    json_t *type = crgw_canon_get(canon, "subject.type");
    if (!crgw_canon_get(canon, "subject.uscc") &&
        !(json_is_string(type) && strcmp(json_string_value(type), "natural_person") == 0)) {
        crgw_diags_add(errs, "subject.uscc", "required field missing");
        json_decref(canon);
        json_decref(origin);
        return NULL;
    }
    crgw_canon_consistency(canon, warn);
    char hex[65];
    crgw_hex(sha, 32, hex);
    json_t *prov = json_object();
    json_object_set_new(prov, "source_dialect", json_string(d->name));
    json_t *node = crgw_canon_get(canon, "issuer.node");
    if (node)
        json_object_set(prov, "source_issuer_node", node);
    json_object_set_new(prov, "source_sha256", json_string(hex));
    if (o->translated_by)
        json_object_set_new(prov, "translated_by", json_string(o->translated_by));
    json_object_set_new(prov, "signed", json_false());
    if (origin) {
        json_object_set_new(prov, "origin", origin);
        crgw_diags_add(warn, "provenance.origin",
                       "the input is itself a translated document (not the issued report)");
    }
    json_object_set_new(canon, "provenance", prov);
    return canon;
}

static int xml_node(const crgw_adapters *a, const char *dialect, xmlNodePtr root,
                    const unsigned char sha[32], const crgw_translate_opts *o, json_t **canon,
                    crgw_diags *warn, crgw_diags *errs)
{
    const map_dialect *d = is_auto(dialect) ? detect_xml(a, root) : find(a, dialect);
    if (d == NULL || !d->xml) {
        if (d == NULL && is_auto(dialect))
            crgw_diags_add(errs, "$", "no XML dialect has the root element {%s}%s",
                           root->ns ? (const char *)root->ns->href : "", (const char *)root->name);
        else
            crgw_diags_add(errs, "$", "%s is not a known XML dialect", dialect);
        return -1;
    }
    json_t *c = crgw_canon_skeleton(0), *origin = NULL;
    if (xmlmap_read(d, root, o, c, &origin, warn, errs)) {
        json_decref(c);
        return -1;
    }
    *canon = finish(d, c, origin, sha, o, warn, errs);
    return *canon ? 0 : -1;
}

static int json_payload(const crgw_adapters *a, const char *dialect, json_t *payload,
                        unsigned envelope, const unsigned char sha[32],
                        const crgw_translate_opts *o, json_t **canon, crgw_diags *warn,
                        crgw_diags *errs)
{
    const map_dialect *d = is_auto(dialect) ? detect_json(a, payload) : find(a, dialect);
    if (d == NULL || d->xml) {
        if (d == NULL && is_auto(dialect))
            crgw_diags_add(errs, "$", "no JSON dialect recognises this document");
        else
            crgw_diags_add(errs, "$", "%s is not a known JSON dialect", dialect);
        return -1;
    }
    if (envelope && !(d->envelopes & envelope)) {
        crgw_diags_add(errs, "$", "%s reports do not come as %s JWS", d->name,
                       envelope == MAP_ENV_JWS_FLAT ? "flattened" : "compact");
        return -1;
    }
    json_t *c = crgw_canon_skeleton(0), *origin = NULL;
    if (jsonmap_read(d, payload, o, c, &origin, warn, errs)) {
        json_decref(c);
        return -1;
    }
    *canon = finish(d, c, origin, sha, o, warn, errs);
    return *canon ? 0 : -1;
}

int crgw_translate_xml_node(const crgw_adapters *a, const char *dialect, xmlNodePtr root,
                            const unsigned char sha256[32], const crgw_translate_opts *o,
                            json_t **canon, crgw_diags *warn, crgw_diags *errs)
{
    crgw_translate_opts op = fill_opts(o);
    *canon = NULL;
    if (root == NULL) {
        crgw_diags_add(errs, "$", "no root element");
        return -1;
    }
    return xml_node(a, dialect, root, sha256, &op, canon, warn, errs);
}

int crgw_translate_json(const crgw_adapters *a, const char *dialect, json_t *payload,
                        const unsigned char sha256[32], const crgw_translate_opts *o,
                        json_t **canon, crgw_diags *warn, crgw_diags *errs)
{
    crgw_translate_opts op = fill_opts(o);
    *canon = NULL;
    return json_payload(a, dialect, payload, 0, sha256, &op, canon, warn, errs);
}

int crgw_translate_to_canonical(const crgw_adapters *a, const char *dialect, const char *buf,
                                size_t len, const crgw_translate_opts *o, json_t **canon,
                                crgw_diags *warn, crgw_diags *errs)
{
    crgw_translate_opts op = fill_opts(o);
    *canon = NULL;
    if (len > op.max_bytes) {
        crgw_diags_add(errs, "$", "document larger than %zu bytes", op.max_bytes);
        return -1;
    }
    const map_dialect *d = NULL;
    if (!is_auto(dialect) && (d = find(a, dialect)) == NULL) {
        crgw_diags_add(errs, "$", "unknown dialect %s", dialect);
        return -1;
    }
    unsigned char sha[32];
    EVP_Digest(buf, len, sha, NULL, EVP_sha256(), NULL);
    int xml = d ? d->xml : looks_xml(buf, len);
    if (xml) {
        xmlDocPtr doc = NULL;
        if (crgw_xml_parse_strict(buf, len, op.max_depth, &doc, errs))
            return -1;
        int rc = xml_node(a, dialect, xmlDocGetRootElement(doc), sha, &op, canon, warn, errs);
        xmlFreeDoc(doc);
        return rc;
    }
    json_t *payload = NULL;
    unsigned env = 0;
    if (jsonmap_unwrap(buf, len, op.max_depth, &payload, &env, errs))
        return -1;
    int rc = json_payload(a, dialect, payload, env, sha, &op, canon, warn, errs);
    json_decref(payload);
    return rc;
}

/* provenance a translated document carries */
static json_t *carried_provenance(json_t *canon, const crgw_translate_opts *o)
{
    json_t *p = json_object_get(canon, "provenance");
    /* a translated input: carry the facts of the issued document it came from */
    if (json_is_object(json_object_get(p, "origin")))
        p = json_object_get(p, "origin");
    json_t *r = json_object();
    const char *keys[] = {"source_dialect", "source_issuer_node", "source_sha256"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(keys); i++) {
        json_t *v = json_object_get(p, keys[i]);
        if (json_is_string(v))
            json_object_set(r, keys[i], v);
    }
    if (!json_object_get(r, "source_dialect")) {
        json_t *dl = json_object_get(canon, "dialect");
        json_object_set_new(r, "source_dialect",
                            json_string(json_is_string(dl) ? json_string_value(dl) : "canonical"));
    }
    if (!json_object_get(r, "source_issuer_node")) {
        json_t *n = crgw_canon_get(canon, "issuer.node");
        if (json_is_string(n))
            json_object_set(r, "source_issuer_node", n);
    }
    if (o->translated_by)
        json_object_set_new(r, "translated_by", json_string(o->translated_by));
    json_object_set_new(r, "signed", json_false());
    return r;
}

int crgw_translate_from_canonical(const crgw_adapters *a, const char *dialect, json_t *canon,
                                  const crgw_translate_opts *o, char **out, size_t *out_len,
                                  crgw_diags *warn, crgw_diags *errs)
{
    crgw_translate_opts op = fill_opts(o);
    *out = NULL;
    *out_len = 0;
    const map_dialect *d = find(a, dialect);
    if (d == NULL) {
        crgw_diags_add(errs, "$", "unknown dialect %s", dialect ? dialect : "(null)");
        return -1;
    }
    if (crgw_canon_validate(canon, &op, errs))
        return -1;
    json_t *prov = carried_provenance(canon, &op);
    int rc;
    if (d->xml) {
        char *txt = json_dumps(prov, JSON_COMPACT);
        /* "--" may not appear in an XML comment: escape every '-' (all are inside strings) */
        crgw_buf b;
        crgw_buf_init(&b, 16384);
        int dash = strstr(txt, "--") != NULL || txt[strlen(txt) - 1] == '-';
        for (const char *p = txt; *p; p++)
            if (*p == '-' && dash)
                crgw_buf_adds(&b, "\\u002d");
            else
                crgw_buf_add(&b, p, 1);
        char *safe = crgw_buf_take(&b, NULL);
        rc = xmlmap_write(d, canon, safe, &op, out, out_len, warn, errs);
        free(safe);
        free(txt);
    } else {
        rc = jsonmap_write(d, canon, prov, &op, out, out_len, warn, errs);
    }
    json_decref(prov);
    return rc;
}

static int is_dir(const char *p)
{
    DIR *d = opendir(p);
    if (d == NULL)
        return 0;
    closedir(d);
    return 1;
}

const char *crgw_adapters_default_dir(char *buf, size_t n)
{
    char exe[4096];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (l > 0) {
        exe[l] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        const char *up[] = {"/../adapters", "/../../adapters"};
        for (size_t i = 0; i < CRGW_ARRAY_LEN(up); i++) {
            snprintf(buf, n, "%s%s", exe, up[i]);
            if (is_dir(buf))
                return buf;
        }
    }
    snprintf(buf, n, "adapters");
    return buf;
}
