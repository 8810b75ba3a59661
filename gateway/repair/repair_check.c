/*
 * repair_check: the rules of repair input (see repair_check.h).
 */
#include "gateway/repair/repair_check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/canon_codes.h"
#include "gateway/core/json.h"
#include "gateway/core/time.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/config.h"
#include "gateway/translate/translate.h"

#define MAX_RECORD_ID 128
#define MAX_TEXT 256
#define MAX_REASON 2000
#define MAX_MATERIALS 100

/* "path.key" (or "key" at the top) into out. */
static const char *field_name(char *out, size_t cap, const char *path, const char *key)
{
    if (path && *path)
        snprintf(out, cap, "%s.%s", path, key);
    else
        snprintf(out, cap, "%s", key);
    return out;
}

#define FIELD(path, key) field_name(fbuf, sizeof(fbuf), path, key)

/* The JSON type of v in words, for messages. */
static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

int crgw_rc_string(json_t *o, const char *path, const char *key, size_t max, int required,
                   const char **out, char *why, size_t wl)
{
    char fbuf[96];
    *out = NULL;
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        snprintf(why, wl, "%s: missing", FIELD(path, key));
        return -1;
    }
    if (!json_is_string(v)) {
        snprintf(why, wl, "%s: must be a string, not %s", FIELD(path, key), type_name(v));
        return -1;
    }
    const char *s = json_string_value(v);
    size_t l = json_string_length(v);
    if (l == 0 || l > max) {
        snprintf(why, wl, "%s: must be a non-empty string of at most %zu bytes", FIELD(path, key),
                 max);
        return -1;
    }
    if (strlen(s) != l) {
        snprintf(why, wl, "%s: contains a NUL character", FIELD(path, key));
        return -1;
    }
    for (size_t i = 0; i < l; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(why, wl, "%s: contains control characters", FIELD(path, key));
            return -1;
        }
    *out = s;
    return 0;
}

int crgw_rc_ident(json_t *o, const char *path, const char *key, int required, const char **out,
                  char *why, size_t wl)
{
    char fbuf[96];
    if (crgw_rc_string(o, path, key, 64, required, out, why, wl) != 0)
        return -1;
    for (const char *p = *out; p && *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              *p == '-' || *p == '_')) {
            snprintf(why, wl, "%s: only letters, digits, '-' and '_' are allowed",
                     FIELD(path, key));
            *out = NULL;
            return -1;
        }
    return 0;
}

int crgw_rc_node(const crgw_config *cfg, json_t *o, const char *path, const char *key, int required,
                 const char **out, char *why, size_t wl)
{
    char fbuf[96];
    if (crgw_rc_string(o, path, key, 16, required, out, why, wl) != 0)
        return -1;
    if (*out && (!crgw_is_node_code(*out) || crgw_config_node(cfg, *out) == NULL)) {
        snprintf(why, wl, "%s: unknown node \"%.16s\"", FIELD(path, key), *out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int crgw_rc_uscc_ok(const crgw_config *cfg, const char *s, char norm[19])
{
    if (crgw_uscc_check(s, norm, NULL) == 0)
        return 1;
    for (size_t i = 0; cfg && i < cfg->uscc_legacy.n; i++)
        if (strcmp(cfg->uscc_legacy.v[i], s) == 0 && strlen(s) == 18) {
            snprintf(norm, 19, "%s", s);
            return 1;
        }
    return 0;
}

int crgw_rc_uscc(const crgw_config *cfg, json_t *o, const char *path, const char *key,
                 char norm[19], char *why, size_t wl)
{
    char fbuf[96];
    const char *s;
    norm[0] = '\0';
    if (crgw_rc_string(o, path, key, 64, 1, &s, why, wl) != 0)
        return -1;
    if (crgw_rc_uscc_ok(cfg, s, norm))
        return 0;
    const char *w = "not a unified social credit code";
    (void)crgw_uscc_check(s, NULL, &w);
    snprintf(why, wl, "%s: not a valid unified social credit code (%s)", FIELD(path, key), w);
    norm[0] = '\0';
    return -1;
}

int crgw_rc_code(const char *const *codes, json_t *o, const char *path, const char *key,
                 int required, const char **out, char *why, size_t wl)
{
    char fbuf[96];
    if (crgw_rc_string(o, path, key, 64, required, out, why, wl) != 0)
        return -1;
    if (*out && !crgw_canon_codes_has(codes, *out)) {
        snprintf(why, wl, "%s: unknown code \"%.64s\"", FIELD(path, key), *out);
        *out = NULL;
        return -1;
    }
    return 0;
}

int crgw_rc_hex64(json_t *o, const char *path, const char *key, int required, const char **out,
                  char *why, size_t wl)
{
    char fbuf[96];
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_string(v) && (json_string_length(v) != 64 ||
                              strspn(json_string_value(v), "0123456789abcdefABCDEF") != 64)) {
        snprintf(why, wl, "%s: must be a SHA-256 digest of 64 hex digits", FIELD(path, key));
        *out = NULL;
        return -1;
    }
    return crgw_rc_string(o, path, key, 64, required, out, why, wl);
}

int crgw_rc_time_normalise(const char *s, char out[CRGW_RC_TIME_LEN])
{
    int64_t t;
    out[0] = '\0';
    if (s == NULL || strlen(s) < 20 || crgw_time_parse_rfc3339(s, 0, &t) != 0)
        return -1;
    crgw_time_format_rfc3339(t, out, CRGW_RC_TIME_LEN);
    return out[0] ? 0 : -1;
}

int crgw_rc_time(json_t *o, const char *path, const char *key, int required,
                 char out[CRGW_RC_TIME_LEN], char *why, size_t wl)
{
    char fbuf[96];
    const char *s;
    out[0] = '\0';
    if (crgw_rc_string(o, path, key, 64, required, &s, why, wl) != 0)
        return -1;
    if (s && crgw_rc_time_normalise(s, out) != 0) {
        snprintf(why, wl, "%s: not an RFC 3339 date-time with an offset (\"%.40s\")",
                 FIELD(path, key), s);
        return -1;
    }
    return 0;
}

static int boolean(json_t *o, const char *key, int *out, char *why, size_t wl)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        snprintf(why, wl, "%s: must be a boolean, not %s", key, type_name(v));
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* An integer member: min..max, required or 0 when absent. */
static int integer(json_t *o, const char *key, int required, long long min, long long *out,
                   char *why, size_t wl)
{
    json_t *v = json_object_get(o, key);
    *out = 0;
    if (v == NULL || json_is_null(v)) {
        if (required)
            snprintf(why, wl, "%s: missing", key);
        return required ? -1 : 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min) {
        snprintf(why, wl, "%s: must be an integer of at least %lld", key, min);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

int crgw_rc_record_of(const crgw_config *cfg, json_t *body, int need_kind, crgw_rc_record *rec,
                      char *why, size_t wl)
{
    memset(rec, 0, sizeof(*rec));
    json_t *o = json_object_get(body, "record");
    if (o == NULL || json_is_null(o)) {
        snprintf(why, wl, "record: missing");
        return -1;
    }
    if (!json_is_object(o)) {
        snprintf(why, wl, "record: must be an object, not %s", type_name(o));
        return -1;
    }
    if (crgw_rc_node(cfg, o, "record", "origin_node", 1, &rec->origin, why, wl) != 0 ||
        crgw_rc_string(o, "record", "record_id", MAX_RECORD_ID, 1, &rec->record_id, why, wl) != 0 ||
        crgw_rc_code(crgw_canon_codes_domain, o, "record", "domain", 1, &rec->domain, why, wl) !=
            0 ||
        crgw_rc_code(crgw_canon_codes_record_kind, o, "record", "kind", need_kind, &rec->kind, why,
                     wl) != 0)
        return -1;
    return 0;
}

/* applicant {name, contact?}: only these are stored. */
static int applicant_of(json_t *body, crgw_rc_application *a, char *why, size_t wl)
{
    json_t *o = json_object_get(body, "applicant");
    if (o == NULL || json_is_null(o)) {
        snprintf(why, wl, "applicant: missing");
        return -1;
    }
    if (!json_is_object(o)) {
        snprintf(why, wl, "applicant: must be an object, not %s", type_name(o));
        return -1;
    }
    if (crgw_rc_string(o, "applicant", "name", MAX_TEXT, 1, &a->name, why, wl) != 0 ||
        crgw_rc_string(o, "applicant", "contact", MAX_TEXT, 0, &a->contact, why, wl) != 0)
        return -1;
    return 0;
}

/* materials [{name, sha256}]: optional; every entry checked. */
static int materials_of(json_t *body, crgw_rc_application *a, char *why, size_t wl)
{
    json_t *m = json_object_get(body, "materials");
    a->materials = NULL;
    if (m == NULL || json_is_null(m))
        return 0;
    if (!json_is_array(m)) {
        snprintf(why, wl, "materials: must be an array, not %s", type_name(m));
        return -1;
    }
    if (json_array_size(m) > MAX_MATERIALS) {
        snprintf(why, wl, "materials: at most %d entries", MAX_MATERIALS);
        return -1;
    }
    for (size_t i = 0; i < json_array_size(m); i++) {
        json_t *e = json_array_get(m, i);
        char path[32];
        snprintf(path, sizeof(path), "materials[%zu]", i);
        const char *s;
        if (!json_is_object(e)) {
            snprintf(why, wl, "%s: must be an object, not %s", path, type_name(e));
            return -1;
        }
        if (crgw_rc_string(e, path, "name", MAX_TEXT, 1, &s, why, wl) != 0 ||
            crgw_rc_hex64(e, path, "sha256", 1, &s, why, wl) != 0)
            return -1;
    }
    a->materials = m;
    return 0;
}

int crgw_rc_application_of(const crgw_config *cfg, json_t *body, int federated,
                           crgw_rc_application *a, char *why, size_t wl)
{
    memset(a, 0, sizeof(*a));
    why[0] = '\0';
    if (!json_is_object(body)) {
        snprintf(why, wl, "the application must be a JSON object");
        return -1;
    }
    if (federated &&
        (crgw_rc_ident(body, "", "application_id", 1, &a->app_id, why, wl) != 0 ||
         crgw_rc_node(cfg, body, "", "applicant_node", 1, &a->applicant, why, wl) != 0 ||
         crgw_rc_time(body, "", "filed_at", 1, a->filed_at, why, wl) != 0))
        return -1;
    if (crgw_rc_uscc(cfg, body, "", "subject_uscc", a->uscc, why, wl) != 0 ||
        crgw_rc_record_of(cfg, body, 1, &a->rec, why, wl) != 0 ||
        crgw_rc_hex64(body, "", "commitment_sha256", 1, &a->commit, why, wl) != 0 ||
        applicant_of(body, a, why, wl) != 0 || materials_of(body, a, why, wl) != 0)
        return -1;
    return 0;
}

int crgw_rc_decision_of(const crgw_config *cfg, json_t *body, int federated, crgw_rc_decision *d,
                        char *why, size_t wl)
{
    memset(d, 0, sizeof(*d));
    why[0] = '\0';
    if (!json_is_object(body)) {
        snprintf(why, wl, "the decision must be a JSON object");
        return -1;
    }
    if (federated &&
        (crgw_rc_ident(body, "", "event_id", 1, &d->event_id, why, wl) != 0 ||
         crgw_rc_node(cfg, body, "", "origin_node", 1, &d->origin, why, wl) != 0 ||
         integer(body, "origin_seq", 1, 1, &d->origin_seq, why, wl) != 0 ||
         crgw_rc_node(cfg, body, "", "applicant_node", 0, &d->applicant, why, wl) != 0 ||
         integer(body, "emitted_ms", 0, 0, &d->emitted_ms, why, wl) != 0))
        return -1;
    if (crgw_rc_record_of(cfg, body, 0, &d->rec, why, wl) != 0 ||
        crgw_rc_uscc(cfg, body, "", "subject_uscc", d->uscc, why, wl) != 0 ||
        crgw_rc_string(body, "", "decision", 16, 1, &d->decision, why, wl) != 0)
        return -1;
    if (!crgw_rs_decision_valid(d->decision)) {
        snprintf(why, wl,
                 "decision: unknown decision \"%.16s\" (accepted, refused, repaired, rejected or "
                 "revoked)",
                 d->decision);
        return -1;
    }
    if (crgw_rc_string(body, "", "decided_by", MAX_TEXT, 1, &d->decided_by, why, wl) != 0 ||
        crgw_rc_time(body, "", "decided_at", 1, d->decided_at, why, wl) != 0 ||
        crgw_rc_ident(body, "", "application_id", 0, &d->app_id, why, wl) != 0 ||
        boolean(body, "extension", &d->extension, why, wl) != 0 ||
        crgw_rc_string(body, "", "reason", MAX_REASON, 0, &d->reason, why, wl) != 0)
        return -1;
    if (d->app_id == NULL &&
        (strcmp(d->decision, "accepted") == 0 || strcmp(d->decision, "refused") == 0 ||
         strcmp(d->decision, "rejected") == 0)) {
        snprintf(why, wl,
                 "application_id: required for a decision \"%s\" (it decides on an application)",
                 d->decision);
        return -1;
    }
    return 0;
}

char *crgw_rc_application_doc(const crgw_rc_application *a, const char *app_id,
                              const char *applicant_node, const char *filed_at)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "application_id", json_string(app_id));
    json_object_set_new(doc, "subject_uscc", json_string(a->uscc));
    json_t *recj = json_object();
    json_object_set_new(recj, "origin_node", json_string(a->rec.origin));
    json_object_set_new(recj, "record_id", json_string(a->rec.record_id));
    json_object_set_new(recj, "domain", json_string(a->rec.domain));
    if (a->rec.kind)
        json_object_set_new(recj, "kind", json_string(a->rec.kind));
    json_object_set_new(doc, "record", recj);
    json_object_set_new(doc, "commitment_sha256", json_string(a->commit));
    json_t *ap = json_object();
    json_object_set_new(ap, "name", json_string(a->name));
    if (a->contact)
        json_object_set_new(ap, "contact", json_string(a->contact));
    json_object_set_new(doc, "applicant", ap);
    json_t *mats = json_array();
    for (size_t i = 0; a->materials && i < json_array_size(a->materials); i++) {
        json_t *e = json_array_get(a->materials, i);
        json_array_append_new(mats, json_pack("{s:O,s:O}", "name", json_object_get(e, "name"),
                                              "sha256", json_object_get(e, "sha256")));
    }
    json_object_set_new(doc, "materials", mats);
    json_object_set_new(doc, "applicant_node", json_string(applicant_node));
    json_object_set_new(doc, "filed_at", json_string(filed_at));
    char *s = crgw_json_dump(doc, 0, NULL);
    json_decref(doc);
    return s;
}

int crgw_rc_domain_shared(const crgw_config *cfg, const char *origin, const char *self,
                          const char *domain)
{
    for (size_t i = 0; i < cfg->n_agreements; i++) {
        const crgw_agreement *ag = &cfg->agreements[i];
        if (crgw_strv_contains(&ag->members, origin) && crgw_strv_contains(&ag->members, self) &&
            crgw_strv_contains(&ag->repair_domains, domain))
            return 1;
    }
    return 0;
}
