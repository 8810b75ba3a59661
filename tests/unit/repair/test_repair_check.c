/* Unit tests of gateway/repair/repair_check.c: the rules of repair input (issue 15). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/repair/repair_check.h"
#include "gateway/server/config.h"
#include "tests/unit/test_modules.h"

static crgw_config *cfg;

static void setup(void)
{
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load("config/test/node-120000.yaml", crgw_test_modules, &cfg, &errs),
                 0);
    crgw_errs_cleanup(&errs);
}

static void teardown(void)
{
    crgw_config_unref(cfg);
}

TestSuite(repair_check, .init = setup, .fini = teardown);

#define H64 "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"

static const char APP[] =
    "{\"subject_uscc\":\"91120116ma06t8e28x\",\"record\":{\"origin_node\":\"120000\","
    "\"record_id\":\"TJJT-2026-0088\",\"domain\":\"transport\",\"kind\":\"administrative_"
    "penalty\"},\"commitment_sha256\":\"" H64 "\",\"applicant\":{\"name\":\"n\",\"contact\":"
    "\"022\",\"extra\":1},\"materials\":[{\"name\":\"a.pdf\",\"sha256\":\"" H64 "\"}],"
    "\"application_id\":\"APP-1\",\"applicant_node\":\"330100\",\"filed_at\":"
    "\"2026-11-23T02:00:00Z\"}";

static const char EV[] =
    "{\"event_id\":\"EV-1\",\"origin_node\":\"120000\",\"origin_seq\":3,\"subject_uscc\":"
    "\"91120116MA06T8E28X\",\"record\":{\"origin_node\":\"120000\",\"record_id\":\"R-1\","
    "\"domain\":\"transport\"},\"decision\":\"repaired\",\"decided_by\":\"x\",\"decided_at\":"
    "\"2026-11-23T10:00:00.250+08:00\",\"emitted_ms\":5}";

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

/* The application after one change (a JSON Pointer-like path set to the JSON value v; v NULL:
 * removed), checked; returns the refusal text ("" when accepted). */
static const char *app_with(const char *obj, const char *key, const char *v, int federated)
{
    static char why[320];
    json_t *j = load(APP);
    json_t *o = obj ? json_object_get(j, obj) : j;
    if (strncmp(key, "0.", 2) == 0) { /* materials[0].<key> */
        o = json_array_get(o, 0);
        key += 2;
    }
    if (v)
        json_object_set_new(o, key, json_loads(v, JSON_DECODE_ANY, NULL));
    else
        json_object_del(o, key);
    crgw_rc_application a;
    why[0] = '\0';
    if (crgw_rc_application_of(cfg, j, federated, &a, why, sizeof(why)) == 0)
        why[0] = '\0';
    json_decref(j);
    return why;
}

static const char *ev_with(const char *obj, const char *key, const char *v)
{
    static char why[320];
    json_t *j = load(EV);
    json_t *o = obj ? json_object_get(j, obj) : j;
    if (v)
        json_object_set_new(o, key, json_loads(v, JSON_DECODE_ANY, NULL));
    else
        json_object_del(o, key);
    crgw_rc_decision d;
    why[0] = '\0';
    if (crgw_rc_decision_of(cfg, j, 1, &d, why, sizeof(why)) == 0)
        why[0] = '\0';
    json_decref(j);
    return why;
}

Test(repair_check, a_valid_application_is_normalised)
{
    json_t *j = load(APP);
    crgw_rc_application a;
    char why[320] = "";
    cr_assert_eq(crgw_rc_application_of(cfg, j, 1, &a, why, sizeof(why)), 0, "%s", why);
    cr_assert_str_eq(a.uscc, "91120116MA06T8E28X");
    cr_assert_str_eq(a.filed_at, "2026-11-23T10:00:00+08:00");
    cr_assert_str_eq(a.rec.kind, "administrative_penalty");
    cr_assert_str_eq(a.contact, "022");
    char *doc = crgw_rc_application_doc(&a, a.app_id, a.applicant, a.filed_at);
    cr_assert_not_null(strstr(doc, "\"applicant\":{\"name\":\"n\",\"contact\":\"022\"}"), "%s",
                       doc);
    cr_assert_null(strstr(doc, "extra"), "unchecked members are not stored: %s", doc);
    cr_assert_not_null(strstr(doc, "\"filed_at\":\"2026-11-23T10:00:00+08:00\""), "%s", doc);
    free(doc);
    json_decref(j);
}

Test(repair_check, application_refusals_name_the_field)
{
    cr_assert_str_eq(app_with(NULL, "subject_uscc", NULL, 0), "subject_uscc: missing");
    cr_assert(strstr(app_with(NULL, "subject_uscc", "\"91120116MA06T8E28Y\"", 0),
                     "subject_uscc: not a valid unified social credit code (wrong check "
                     "character") != NULL);
    cr_assert_str_eq(app_with("record", "kind", NULL, 0), "record.kind: missing");
    cr_assert_str_eq(app_with("record", "kind", "\"xyz\"", 0), "record.kind: unknown code \"xyz\"");
    cr_assert_str_eq(app_with("record", "kind", "7", 0), "record.kind: must be a string, not a "
                                                         "number");
    cr_assert_str_eq(app_with("record", "domain", "\"shipping\"", 0),
                     "record.domain: unknown code \"shipping\"");
    cr_assert_str_eq(app_with("record", "origin_node", "\"999999\"", 0),
                     "record.origin_node: unknown node \"999999\"");
    cr_assert_str_eq(app_with("record", "origin_node", "\"12000a\"", 0),
                     "record.origin_node: unknown node \"12000a\"");
    cr_assert_str_eq(app_with("record", "record_id", "\"a\\u0001b\"", 0),
                     "record.record_id: contains control characters");
    cr_assert(strstr(app_with(NULL, "commitment_sha256", "\"00\"", 0),
                     "commitment_sha256: must be a SHA-256 digest of 64 hex digits") != NULL);
    cr_assert(
        strstr(app_with(NULL, "commitment_sha256",
                        "\"zz11642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\"", 0),
               "commitment_sha256: must be") != NULL);
    cr_assert_str_eq(app_with("applicant", "contact", "22000000", 0),
                     "applicant.contact: must be a string, not a number");
    cr_assert_str_eq(app_with("applicant", "name", NULL, 0), "applicant.name: missing");
    cr_assert(strstr(app_with("materials", "0.sha256", "\"00\"", 0), "materials[0].sha256: ") !=
              NULL);
    cr_assert_str_eq(app_with("materials", "0.name", "[]", 0),
                     "materials[0].name: must be a string, not an array");
    cr_assert_str_eq(app_with(NULL, "materials", "{}", 0),
                     "materials: must be an array, not an object");
    cr_assert_str_eq(app_with(NULL, "record", "\"x\"", 0), "record: must be an object, not a "
                                                           "string");
    /* the federation message's own fields */
    cr_assert_str_eq(app_with(NULL, "filed_at", "\"not-a-date\"", 1),
                     "filed_at: not an RFC 3339 date-time with an offset (\"not-a-date\")");
    cr_assert_str_eq(app_with(NULL, "filed_at", "\"2026-02-30T10:00:00+08:00\"", 1),
                     "filed_at: not an RFC 3339 date-time with an offset "
                     "(\"2026-02-30T10:00:00+08:00\")");
    cr_assert_str_eq(app_with(NULL, "applicant_node", "\"999999\"", 1),
                     "applicant_node: unknown node \"999999\"");
    cr_assert_str_eq(app_with(NULL, "application_id", "\"a b\"", 1),
                     "application_id: only letters, digits, '-' and '_' are allowed");
    /* a local filing does not read them */
    cr_assert_str_eq(app_with(NULL, "filed_at", "\"not-a-date\"", 0), "");
}

Test(repair_check, a_valid_event)
{
    json_t *j = load(EV);
    crgw_rc_decision d;
    char why[320] = "";
    cr_assert_eq(crgw_rc_decision_of(cfg, j, 1, &d, why, sizeof(why)), 0, "%s", why);
    cr_assert_str_eq(d.decided_at, "2026-11-23T10:00:00+08:00");
    cr_assert_eq(d.origin_seq, 3);
    cr_assert_eq(d.emitted_ms, 5);
    cr_assert_null(d.app_id);
    cr_assert_null(d.rec.kind);
    json_decref(j);
}

Test(repair_check, event_refusals_name_the_field)
{
    cr_assert_str_eq(ev_with(NULL, "decided_at", "\"not-a-date\""),
                     "decided_at: not an RFC 3339 date-time with an offset (\"not-a-date\")");
    cr_assert_str_eq(ev_with(NULL, "decided_at", "\"2026-11-23\""),
                     "decided_at: not an RFC 3339 date-time with an offset (\"2026-11-23\")");
    cr_assert_str_eq(ev_with(NULL, "decided_at", "\"2026-11-23T10:00:00\""),
                     "decided_at: not an RFC 3339 date-time with an offset "
                     "(\"2026-11-23T10:00:00\")");
    cr_assert(strstr(ev_with(NULL, "subject_uscc", "\"91120116MA06T8E28Y\""), "subject_uscc: ") ==
              ev_with(NULL, "subject_uscc", "\"91120116MA06T8E28Y\""));
    cr_assert_str_eq(ev_with(NULL, "origin_seq", "0"), "origin_seq: must be an integer of at "
                                                       "least 1");
    cr_assert_str_eq(ev_with(NULL, "origin_seq", "\"3\""),
                     "origin_seq: must be an integer of at least 1");
    cr_assert_str_eq(ev_with(NULL, "origin_seq", NULL), "origin_seq: missing");
    cr_assert_str_eq(ev_with(NULL, "emitted_ms", "-1"), "emitted_ms: must be an integer of at "
                                                        "least 0");
    cr_assert_str_eq(ev_with(NULL, "decision", "\"maybe\""),
                     "decision: unknown decision \"maybe\" (accepted, refused, repaired, rejected "
                     "or revoked)");
    cr_assert_str_eq(ev_with(NULL, "decided_by", "1"), "decided_by: must be a string, not a "
                                                       "number");
    cr_assert_str_eq(ev_with(NULL, "extension", "\"yes\""),
                     "extension: must be a boolean, not a string");
    cr_assert_str_eq(ev_with(NULL, "origin_node", "\"1\""), "origin_node: unknown node \"1\"");
    cr_assert_str_eq(ev_with(NULL, "applicant_node", "\"999999\""),
                     "applicant_node: unknown node \"999999\"");
    cr_assert_str_eq(ev_with(NULL, "event_id", "\"../x\""),
                     "event_id: only letters, digits, '-' and '_' are allowed");
    cr_assert_str_eq(ev_with("record", "domain", "\"x\""), "record.domain: unknown code \"x\"");
    cr_assert_str_eq(ev_with("record", "kind", "\"x\""), "record.kind: unknown code \"x\"");
    cr_assert_str_eq(ev_with("record", "kind", "\"serious_dishonesty_list\""), "");
}

Test(repair_check, decisions_on_an_application_name_it)
{
    const char *const need[] = {"accepted", "refused", "rejected"};
    for (size_t i = 0; i < 3; i++) {
        char v[32];
        snprintf(v, sizeof(v), "\"%s\"", need[i]);
        const char *why = ev_with(NULL, "decision", v);
        cr_assert(strncmp(why, "application_id: required for a decision", 39) == 0, "%s: %s",
                  need[i], why);
    }
    cr_assert_str_eq(ev_with(NULL, "decision", "\"revoked\""), "");
    json_t *j = load(EV);
    json_object_set_new(j, "decision", json_string("accepted"));
    json_object_set_new(j, "application_id", json_string("APP-1"));
    crgw_rc_decision d;
    char why[320] = "";
    cr_assert_eq(crgw_rc_decision_of(cfg, j, 1, &d, why, sizeof(why)), 0, "%s", why);
    cr_assert_str_eq(d.app_id, "APP-1");
    /* local decisions: the same rules, without the event's own fields */
    json_object_del(j, "event_id");
    json_object_del(j, "origin_seq");
    cr_assert_eq(crgw_rc_decision_of(cfg, j, 0, &d, why, sizeof(why)), 0, "%s", why);
    json_object_del(j, "application_id");
    cr_assert_eq(crgw_rc_decision_of(cfg, j, 0, &d, why, sizeof(why)), -1);
    cr_assert(strncmp(why, "application_id: ", 16) == 0, "%s", why);
    json_decref(j);
}

Test(repair_check, times_and_domains)
{
    char out[CRGW_RC_TIME_LEN];
    cr_assert_eq(crgw_rc_time_normalise("2026-11-23T02:00:00Z", out), 0);
    cr_assert_str_eq(out, "2026-11-23T10:00:00+08:00");
    cr_assert_eq(crgw_rc_time_normalise("2026-11-23T23:30:00-05:00", out), 0);
    cr_assert_str_eq(out, "2026-11-24T12:30:00+08:00");
    cr_assert_eq(crgw_rc_time_normalise("2026-11-23T10:00:00.999+08:00", out), 0);
    cr_assert_str_eq(out, "2026-11-23T10:00:00+08:00");
    cr_assert_eq(crgw_rc_time_normalise("2026-11-23 10:00", out), -1);
    cr_assert_eq(crgw_rc_time_normalise("", out), -1);
    cr_assert_eq(crgw_rc_domain_shared(cfg, "120000", "330100", "transport"), 1);
    cr_assert_eq(crgw_rc_domain_shared(cfg, "120000", "110000", "transport"), 0,
                 "jjj shares reports, not repairs");
    cr_assert_eq(crgw_rc_domain_shared(cfg, "120000", "330100", "tax"), 0);
    cr_assert_eq(crgw_rc_domain_shared(cfg, "120000", "510100", "transport"), 0);
}
