#include "gateway/translate/canon.h"

#include <string.h>

#include "gateway/core/canon_codes.h"
#include "gateway/core/json.h"
#include "gateway/core/util.h"
#include "gateway/translate/dates.h"
#include "gateway/translate/uscc.h"

static const crgw_canon_field TOP[] = {
    {"dialect", CT_TEXT, NULL, NULL, 0},
    {"report_id", CT_TEXT, NULL, NULL, 1},
    {"kind", CT_CODE, crgw_canon_codes_kind, NULL, 1},
    {"issuer.node", CT_NODE, NULL, NULL, 1},
    {"issuer.authority", CT_TEXT, NULL, NULL, 1},
    {"issued_at", CT_DATETIME, NULL, NULL, 1},
    {"valid_until", CT_DATE, NULL, NULL, 0},
    {"covers.period_from", CT_DATE, NULL, NULL, 1},
    {"covers.period_to", CT_DATE, NULL, NULL, 1},
    {"covers.domains", CT_CODES, crgw_canon_codes_domain, NULL, 1},
    {"covers.excludes", CT_CODES, crgw_canon_codes_exclusion, NULL, 0},
    {"subject.uscc", CT_USCC, NULL, NULL, 0}, /* required unless natural_person */
    {"subject.name", CT_TEXT, NULL, NULL, 1},
    {"subject.type", CT_CODE, crgw_canon_codes_subject_type, NULL, 1},
    {"subject.legal_representative", CT_TEXT, NULL, NULL, 0},
    {"records", CT_RECORDS, NULL, NULL, 1},
    {"criminal_record", CT_CODE, crgw_canon_codes_criminal_record, NULL, 0},
    {"conclusions", CT_MAP, crgw_canon_codes_conclusion, crgw_canon_codes_domain, 1},
    {"provenance", CT_OBJECT, NULL, NULL, 0},
};

static const crgw_canon_field REC[] = {
    {"record_id", CT_TEXT, NULL, NULL, 1},
    {"origin_node", CT_NODE, NULL, NULL, 0},
    {"category", CT_CODE, crgw_canon_codes_category, NULL, 1},
    {"kind", CT_CODE, crgw_canon_codes_record_kind, NULL, 1},
    {"decision_no", CT_TEXT, NULL, NULL, 0},
    {"authority", CT_TEXT, NULL, NULL, 0},
    {"decided_on", CT_DATE, NULL, NULL, 0},
    {"domain", CT_CODE, crgw_canon_codes_domain, NULL, 0},
    {"severity", CT_CODE, crgw_canon_codes_severity, NULL, 0},
    {"severity_local", CT_TEXT, NULL, NULL, 0},
    {"content", CT_TEXT, NULL, NULL, 0},
    {"publicity_until", CT_DATE, NULL, NULL, 0},
    {"status", CT_CODE, crgw_canon_codes_record_status, NULL, 0},
};

const crgw_canon_field *crgw_canon_fields(int record, size_t *n)
{
    *n = record ? CRGW_ARRAY_LEN(REC) : CRGW_ARRAY_LEN(TOP);
    return record ? REC : TOP;
}

const crgw_canon_field *crgw_canon_lookup(const char *path, int record)
{
    size_t n;
    const crgw_canon_field *t = crgw_canon_fields(record, &n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].path, path) == 0)
            return &t[i];
    return NULL;
}

json_t *crgw_canon_get(json_t *obj, const char *dotted)
{
    const char *p = dotted;
    while (obj != NULL) {
        const char *dot = strchr(p, '.');
        if (dot == NULL)
            return json_object_get(obj, p);
        char key[64];
        size_t n = (size_t)(dot - p);
        if (n >= sizeof(key))
            return NULL;
        memcpy(key, p, n);
        key[n] = '\0';
        obj = json_object_get(obj, key);
        if (!json_is_object(obj))
            return NULL;
        p = dot + 1;
    }
    return NULL;
}

void crgw_canon_set(json_t *obj, const char *dotted, json_t *v)
{
    const char *p = dotted;
    for (;;) {
        const char *dot = strchr(p, '.');
        if (dot == NULL) {
            json_object_set_new(obj, p, v);
            return;
        }
        char key[64];
        size_t n = (size_t)(dot - p);
        crgw_assert(n < sizeof(key));
        memcpy(key, p, n);
        key[n] = '\0';
        json_t *sub = json_object_get(obj, key);
        if (!json_is_object(sub)) {
            sub = json_object();
            json_object_set_new(obj, key, sub);
        }
        obj = sub;
        p = dot + 1;
    }
}

void crgw_canon_del(json_t *obj, const char *dotted)
{
    const char *dot = strrchr(dotted, '.');
    if (dot == NULL) {
        json_object_del(obj, dotted);
        return;
    }
    char parent[64];
    size_t n = (size_t)(dot - dotted);
    if (n >= sizeof(parent))
        return;
    memcpy(parent, dotted, n);
    parent[n] = '\0';
    json_t *p = crgw_canon_get(obj, parent);
    if (json_is_object(p))
        json_object_del(p, dot + 1);
}

/* copies the members of src named by the table (in table order, nested by first segment) */
static json_t *ordered_obj(json_t *src, const crgw_canon_field *t, size_t n)
{
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(t[i].path, '.');
        char key[64];
        size_t kl = dot ? (size_t)(dot - t[i].path) : strlen(t[i].path);
        memcpy(key, t[i].path, kl);
        key[kl] = '\0';
        if (json_object_get(out, key))
            continue;
        json_t *v = json_object_get(src, key);
        if (v == NULL)
            continue;
        if (dot && json_is_object(v)) {
            /* sub-object: its members in table order, then others */
            json_t *sub = json_object();
            for (size_t j = i; j < n; j++) {
                if (strncmp(t[j].path, key, kl) != 0 || t[j].path[kl] != '.')
                    continue;
                json_t *m = json_object_get(v, t[j].path + kl + 1);
                if (m)
                    json_object_set(sub, t[j].path + kl + 1, m);
            }
            const char *k;
            json_t *m;
            json_object_foreach(v, k, m)
            {
                if (!json_object_get(sub, k))
                    json_object_set(sub, k, m);
            }
            json_object_set_new(out, key, sub);
        } else if (strcmp(key, "records") == 0 && json_is_array(v)) {
            json_t *arr = json_array();
            size_t idx;
            json_t *r;
            json_array_foreach(v, idx, r)
            {
                json_array_append_new(arr, json_is_object(r)
                                               ? ordered_obj(r, REC, CRGW_ARRAY_LEN(REC))
                                               : json_incref(r));
            }
            json_object_set_new(out, key, arr);
        } else {
            json_object_set(out, key, v);
        }
    }
    const char *k;
    json_t *m;
    json_object_foreach(src, k, m)
    {
        if (!json_object_get(out, k))
            json_object_set(out, k, m);
    }
    return out;
}

json_t *crgw_canon_ordered(json_t *c)
{
    return ordered_obj(c, TOP, CRGW_ARRAY_LEN(TOP));
}

static void check_value(const crgw_canon_field *f, json_t *v, const char *path,
                        const crgw_translate_opts *o, crgw_diags *errs)
{
    crgw_datetime t;
    const char *why;
    switch (f->type) {
    case CT_RECORDS:
    case CT_MAP:
    case CT_OBJECT:
        return;
    case CT_CODES: {
        if (!json_is_array(v)) {
            crgw_diags_add(errs, path, "expected an array of codes");
            return;
        }
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            char p[128];
            crgw_strfmt(p, sizeof(p), "%s[%zu]", path, i);
            if (!json_is_string(e))
                crgw_diags_add(errs, p, "expected a string");
            else if (!crgw_canon_codes_has(f->codes, json_string_value(e)))
                crgw_diags_add(errs, p, "value \"%s\" is not a canonical code",
                               json_string_value(e));
        }
        return;
    }
    default:
        break;
    }
    if (!json_is_string(v)) {
        crgw_diags_add(errs, path, "expected a string");
        return;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    switch (f->type) {
    case CT_CODE:
        if (!crgw_canon_codes_has(f->codes, s))
            crgw_diags_add(errs, path, "value \"%s\" is not a canonical code", s);
        break;
    case CT_DATE:
    case CT_DATETIME:
        if (crgw_date_parse_canonical(s, n, f->type == CT_DATETIME, &t, &why))
            crgw_diags_add(errs, path, "\"%s\": %s", s, why);
        break;
    case CT_USCC: {
        char norm[19];
        if (crgw_uscc_check(s, norm, &why) &&
            !(o && crgw_uscc_normalise(s, n, norm) == 0 &&
              crgw_uscc_listed(norm, o->uscc_legacy, o->n_uscc_legacy)))
            crgw_diags_add(errs, path, "\"%s\": %s", s, why);
        break;
    }
    case CT_NODE:
        if (n != 6 || strspn(s, "0123456789") != 6)
            crgw_diags_add(errs, path, "\"%s\" is not a 6-digit division code", s);
        break;
    case CT_TEXT:
        if (n == 0 || strlen(s) != n)
            crgw_diags_add(errs, path, "empty or contains NUL");
        break;
    default:
        break;
    }
}

static void validate_fields(json_t *obj, const crgw_canon_field *t, size_t n, const char *prefix,
                            const crgw_translate_opts *o, crgw_diags *errs)
{
    for (size_t i = 0; i < n; i++) {
        char path[128];
        crgw_strfmt(path, sizeof(path), "%s%s", prefix, t[i].path);
        json_t *v = crgw_canon_get(obj, t[i].path);
        if (v == NULL || json_is_null(v)) {
            if (t[i].required)
                crgw_diags_add(errs, path, "required field missing");
            continue;
        }
        check_value(&t[i], v, path, o, errs);
    }
}

int crgw_canon_validate(json_t *c, const crgw_translate_opts *o, crgw_diags *errs)
{
    size_t before = errs->n;
    if (!json_is_object(c)) {
        crgw_diags_add(errs, "$", "a canonical report is a JSON object");
        return -1;
    }
    validate_fields(c, TOP, CRGW_ARRAY_LEN(TOP), "", o, errs);
    json_t *type = crgw_canon_get(c, "subject.type");
    if (!crgw_canon_get(c, "subject.uscc") &&
        !(json_is_string(type) && strcmp(json_string_value(type), "natural_person") == 0))
        crgw_diags_add(errs, "subject.uscc", "required field missing");
    json_t *recs = json_object_get(c, "records");
    if (recs && !json_is_array(recs))
        crgw_diags_add(errs, "records", "expected an array");
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        char prefix[32];
        crgw_strfmt(prefix, sizeof(prefix), "records[%zu].", i);
        if (!json_is_object(r)) {
            crgw_strfmt(prefix, sizeof(prefix), "records[%zu]", i);
            crgw_diags_add(errs, prefix, "expected an object");
            continue;
        }
        validate_fields(r, REC, CRGW_ARRAY_LEN(REC), prefix, o, errs);
    }
    json_t *con = json_object_get(c, "conclusions");
    if (con && !json_is_object(con)) {
        crgw_diags_add(errs, "conclusions", "expected an object");
    } else if (con) {
        const char *k;
        json_t *v;
        json_object_foreach(con, k, v)
        {
            char path[128];
            crgw_strfmt(path, sizeof(path), "conclusions.%s", k);
            if (!crgw_canon_codes_has(crgw_canon_codes_domain, k))
                crgw_diags_add(errs, path, "\"%s\" is not a canonical domain", k);
            else if (!json_is_string(v) ||
                     !crgw_canon_codes_has(crgw_canon_codes_conclusion, json_string_value(v)))
                crgw_diags_add(errs, path, "expected records_found or no_record");
        }
    }
    return errs->n > before ? -1 : 0;
}

void crgw_canon_consistency(json_t *c, crgw_diags *warn)
{
    json_t *domains = crgw_canon_get(c, "covers.domains");
    if (!json_is_array(domains))
        return;
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(c, "records"), i, r)
    {
        json_t *d = json_object_get(r, "domain");
        if (json_is_string(d) && !crgw_json_array_has_string(domains, json_string_value(d))) {
            char path[64];
            crgw_strfmt(path, sizeof(path), "records[%zu].domain", i);
            crgw_diags_add(warn, path, "domain %s is not covered by the report",
                           json_string_value(d));
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "conclusions"), k, v)
    {
        if (!crgw_json_array_has_string(domains, k)) {
            char path[128];
            crgw_strfmt(path, sizeof(path), "conclusions.%s", k);
            crgw_diags_add(warn, path, "conclusion for a domain not covered by the report");
        }
    }
}

static json_t *skeleton(const crgw_canon_field *t, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *dot = strchr(t[i].path, '.');
        if (dot == NULL) {
            json_object_set_new_nocheck(o, t[i].path, json_null());
            continue;
        }
        char key[64];
        size_t kl = (size_t)(dot - t[i].path);
        memcpy(key, t[i].path, kl);
        key[kl] = '\0';
        json_t *sub = json_object_get(o, key);
        if (sub == NULL) {
            sub = json_object();
            json_object_set_new_nocheck(o, key, sub);
        }
        json_object_set_new_nocheck(sub, dot + 1, json_null());
    }
    return o;
}

json_t *crgw_canon_skeleton(int record)
{
    return record ? skeleton(REC, CRGW_ARRAY_LEN(REC)) : skeleton(TOP, CRGW_ARRAY_LEN(TOP));
}

static void prune_obj(json_t *o)
{
    void *it = json_object_iter(o);
    while (it) {
        json_t *v = json_object_iter_value(it);
        void *next = json_object_iter_next(o, it);
        if (json_is_null(v)) {
            json_object_del(o, json_object_iter_key(it));
        } else if (json_is_object(v) && strcmp(json_object_iter_key(it), "provenance") != 0 &&
                   strcmp(json_object_iter_key(it), "conclusions") != 0) {
            prune_obj(v);
            if (json_object_size(v) == 0)
                json_object_del(o, json_object_iter_key(it));
        }
        it = next;
    }
}

void crgw_canon_prune(json_t *c)
{
    prune_obj(c);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(c, "records"), i, r)
    {
        if (json_is_object(r))
            prune_obj(r);
    }
}
