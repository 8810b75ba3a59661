/*
 * Acceptance 1 and 2 of issue 4: the four samples give the same canonical report; round trips
 * through every dialect; signed fixtures; provenance; a made-up fifth dialect from a file.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "gateway/translate/translate.h"
#include "gateway/core/hex.h"
#include "gateway/core/util.h"

static crgw_adapters *A;

static void setup(void)
{
    crgw_diags errs = {0};
    int rc = crgw_adapters_load("adapters", &A, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i].message);
    cr_assert_eq(rc, 0, "adapters/ loads");
    crgw_diags_cleanup(&errs);
}

static void teardown(void)
{
    crgw_adapters_free(A);
    A = NULL;
}

static const char *const SAMPLES[4][2] = {
    {"jjj-xml", "tests/fixtures/samples/jjj-xml.xml"},
    {"csj-xml", "tests/fixtures/samples/csj-xml.xml"},
    {"cy-json", "tests/fixtures/samples/cy-json.payload.json"},
    {"gba-json", "tests/fixtures/samples/gba-json.payload.json"},
};

static const crgw_translate_opts OPTS = {.translated_by = "110000"};

static void dump_diags(const char *what, const crgw_diags *d)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s: %s: %s\n", what, d->v[i].path, d->v[i].message);
}

static json_t *translate_bytes(const char *dialect, const char *buf, size_t len, crgw_diags *warn)
{
    crgw_diags errs = {0};
    json_t *c = NULL;
    int rc = crgw_translate_to_canonical(A, dialect, buf, len, &OPTS, &c, warn, &errs);
    dump_diags("error", &errs);
    cr_assert_eq(rc, 0, "translation of a %s document succeeds", dialect);
    cr_assert_not_null(c);
    crgw_diags_cleanup(&errs);
    return c;
}

static json_t *translate_file(const char *dialect, const char *file, crgw_diags *warn)
{
    char *buf;
    size_t len;
    cr_assert_eq(crgw_read_file(file, 1 << 20, &buf, &len), 0, "read %s", file);
    json_t *c = translate_bytes(dialect, buf, len, warn);
    free(buf);
    return c;
}

/* removes the fields acceptance 1 allows to differ */
static void strip_allowed(json_t *c)
{
    json_object_del(c, "dialect");
    json_object_del(c, "report_id");
    json_object_del(c, "issuer");
    json_object_del(c, "valid_until");
    json_object_del(c, "provenance");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(c, "records"), i, r)
    {
        json_object_del(r, "severity_local");
    }
}

static void assert_same_fields(json_t *a, json_t *b, const char *where)
{
    const char *k;
    json_t *v;
    cr_assert_eq(json_object_size(a), json_object_size(b), "%s: same number of fields", where);
    json_object_foreach(a, k, v)
    {
        json_t *w = json_object_get(b, k);
        cr_assert_not_null(w, "%s: field %s present in both", where, k);
        if (json_is_object(v) && json_is_object(w)) {
            char sub[128];
            snprintf(sub, sizeof(sub), "%s.%s", where, k);
            assert_same_fields(v, w, sub);
        } else {
            char *sv = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            char *sw = json_dumps(w, JSON_ENCODE_ANY | JSON_COMPACT);
            cr_assert(json_equal(v, w), "%s.%s: %s vs %s", where, k, sv, sw);
            free(sv);
            free(sw);
        }
    }
}

TestSuite(adapt_samples, .init = setup, .fini = teardown);

Test(adapt_samples, four_samples_same_report)
{
    json_t *c[4];
    for (int i = 0; i < 4; i++) {
        crgw_diags warn = {0};
        c[i] = translate_file(SAMPLES[i][0], SAMPLES[i][1], &warn);
        dump_diags("warning", &warn);
        cr_assert_eq(warn.n, 0, "%s sample translates without warnings", SAMPLES[i][0]);
        crgw_diags_cleanup(&warn);
        cr_assert_str_eq(json_string_value(json_object_get(c[i], "dialect")), SAMPLES[i][0]);
    }
    /* what the samples say, checked directly on one of them */
    cr_assert_str_eq(json_string_value(json_object_get(c[1], "kind")), "special_credit_report");
    cr_assert_str_eq(json_string_value(json_object_get(c[1], "issued_at")),
                     "2026-11-18T10:30:00+08:00");
    json_t *rec1 = json_array_get(json_object_get(c[3], "records"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(rec1, "decided_on")), "2025-11-02");
    cr_assert_str_eq(json_string_value(json_object_get(rec1, "severity")), "serious");
    cr_assert_str_eq(json_string_value(json_object_get(rec1, "severity_local")), "C");
    cr_assert_str_eq(json_string_value(json_object_get(c[0], "criminal_record")), "none");
    cr_assert_eq(json_array_size(json_object_get(c[2], "records")), 2);
    cr_assert_null(json_object_get(c[1], "valid_until"));
    cr_assert_str_eq(json_string_value(json_object_get(c[2], "valid_until")), "2026-12-18");
    /* issuer differs as documented */
    const char *nodes[4] = {"120000", "310000", "510100", "440100"};
    for (int i = 0; i < 4; i++) {
        json_t *n = json_object_get(json_object_get(c[i], "issuer"), "node");
        cr_assert_str_eq(json_string_value(n), nodes[i]);
    }
    for (int i = 0; i < 4; i++)
        strip_allowed(c[i]);
    for (int i = 1; i < 4; i++)
        assert_same_fields(c[0], c[i], SAMPLES[i][0]);
    for (int i = 0; i < 4; i++)
        json_decref(c[i]);
}

Test(adapt_samples, provenance_digest_of_exact_bytes)
{
    for (int i = 0; i < 4; i++) {
        char *buf;
        size_t len;
        cr_assert_eq(crgw_read_file(SAMPLES[i][1], 1 << 20, &buf, &len), 0);
        unsigned char md[32];
        char hex[65];
        EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL);
        crgw_hex(md, 32, hex);
        crgw_diags warn = {0};
        json_t *c = translate_bytes("auto", buf, len, &warn);
        json_t *p = json_object_get(c, "provenance");
        cr_assert_str_eq(json_string_value(json_object_get(p, "source_sha256")), hex);
        cr_assert_str_eq(json_string_value(json_object_get(p, "source_dialect")), SAMPLES[i][0]);
        cr_assert_str_eq(json_string_value(json_object_get(p, "translated_by")), "110000");
        cr_assert(json_is_false(json_object_get(p, "signed")));
        cr_assert_str_eq(json_string_value(json_object_get(p, "source_issuer_node")),
                         json_string_value(json_object_get(json_object_get(c, "issuer"), "node")));
        json_decref(c);
        crgw_diags_cleanup(&warn);
        free(buf);
    }
}

Test(adapt_samples, detect_all_forms)
{
    const char *cases[][2] = {
        {"tests/fixtures/samples/jjj-xml.xml", "jjj-xml"},
        {"tests/fixtures/samples/csj-xml.xml", "csj-xml"},
        {"tests/fixtures/samples/cy-json.payload.json", "cy-json"},
        {"tests/fixtures/samples/gba-json.payload.json", "gba-json"},
        {"tests/fixtures/reports/valid/120000.xml", "jjj-xml"},
        {"tests/fixtures/reports/valid/330100.xml", "csj-xml"},
        {"tests/fixtures/reports/valid/500000.json", "cy-json"},
        {"tests/fixtures/reports/valid/440300.jws", "gba-json"},
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(cases); i++) {
        char *buf;
        size_t len;
        cr_assert_eq(crgw_read_file(cases[i][0], 1 << 20, &buf, &len), 0);
        const char *d = crgw_adapters_detect(A, buf, len);
        cr_assert_not_null(d, "%s detected", cases[i][0]);
        cr_assert_str_eq(d, cases[i][1], "%s", cases[i][0]);
        free(buf);
    }
    cr_assert_null(crgw_adapters_detect(A, "{\"a\":1}", 7));
    cr_assert_null(crgw_adapters_detect(A, "<x/>", 4));
    cr_assert_eq(crgw_adapters_is_xml(A, "csj-xml"), 1);
    cr_assert_eq(crgw_adapters_is_xml(A, "gba-json"), 0);
    cr_assert_eq(crgw_adapters_is_xml(A, "nope"), -1);
}

/* every signed fixture reads like its dialect's sample (issuer aside); ds:Signature is no warning */
Test(adapt_samples, signed_fixtures)
{
    const char *files[] = {"110000.xml", "120000.xml", "130100.xml", "230100.xml",
                           "310000.xml", "330100.xml", "440100.jws", "440300.jws",
                           "450100.json", "460100.json", "500000.json", "510100.json",
                           "530100.json"};
    crgw_diags w0 = {0};
    json_t *ref = translate_file("jjj-xml", SAMPLES[0][1], &w0);
    strip_allowed(ref);
    for (size_t i = 0; i < CRGW_ARRAY_LEN(files); i++) {
        char path[256];
        snprintf(path, sizeof(path), "tests/fixtures/reports/valid/%s", files[i]);
        crgw_diags warn = {0};
        json_t *c = translate_file("auto", path, &warn);
        dump_diags(path, &warn);
        cr_assert_eq(warn.n, 0, "%s: no warnings (the signature is not an unknown element)",
                     files[i]);
        char node[7];
        memcpy(node, files[i], 6);
        node[6] = '\0';
        cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "issuer"), "node")),
                         node);
        strip_allowed(c);
        assert_same_fields(ref, c, files[i]);
        json_decref(c);
        crgw_diags_cleanup(&warn);
    }
    json_decref(ref);
    crgw_diags_cleanup(&w0);
}

static json_t *without(json_t *c, const crgw_diags *warned)
{
    json_t *x = json_deep_copy(c);
    json_object_del(x, "dialect");
    json_object_del(x, "provenance");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(x, "records"), i, r)
    {
        json_object_del(r, "severity_local");
    }
    for (size_t k = 0; warned && k < warned->n; k++) {
        const char *p = warned->v[k].path;
        const char *dot = strchr(p, '.');
        if (dot == NULL) {
            json_object_del(x, p);
        } else {
            char head[64];
            snprintf(head, sizeof(head), "%.*s", (int)(dot - p), p);
            json_object_del(json_object_get(x, head), dot + 1);
        }
    }
    return x;
}

Test(adapt_samples, round_trips)
{
    for (int i = 0; i < 4; i++) {
        crgw_diags w = {0};
        json_t *c = translate_file(SAMPLES[i][0], SAMPLES[i][1], &w);
        crgw_diags_cleanup(&w);
        for (int t = 0; t < 4; t++) {
            crgw_diags warn = {0}, errs = {0};
            char *doc = NULL;
            size_t len = 0;
            int rc = crgw_translate_from_canonical(A, SAMPLES[t][0], c, &OPTS, &doc, &len, &warn,
                                                   &errs);
            dump_diags("error", &errs);
            cr_assert_eq(rc, 0, "%s -> %s", SAMPLES[i][0], SAMPLES[t][0]);
            /* the target cannot carry valid_until in csj-xml and gba-json: a warning, no loss */
            int has_vu = json_object_get(c, "valid_until") != NULL;
            int can_vu = t == 0 || t == 2;
            cr_assert_eq(crgw_diags_has_path(&warn, "valid_until"), has_vu && !can_vu,
                         "%s -> %s: valid_until warning", SAMPLES[i][0], SAMPLES[t][0]);
            crgw_diags back_w = {0};
            json_t *c2 = translate_bytes(SAMPLES[t][0], doc, len, &back_w);
            cr_assert_str_eq(json_string_value(json_object_get(c2, "dialect")), SAMPLES[t][0]);
            /* provenance of the translated document points at the original */
            json_t *origin = json_object_get(json_object_get(c2, "provenance"), "origin");
            cr_assert_not_null(origin, "translated document carries provenance");
            cr_assert(json_equal(json_object_get(origin, "source_sha256"),
                                 json_object_get(json_object_get(c, "provenance"),
                                                 "source_sha256")));
            cr_assert(json_is_false(json_object_get(origin, "signed")));
            json_t *a = without(c, &warn), *b = without(c2, &warn);
            char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
            cr_assert(json_equal(a, b), "%s -> %s -> canonical:\n%s\n%s", SAMPLES[i][0],
                      SAMPLES[t][0], sa, sb);
            if (t == i) /* own dialect: severity_local too */
                cr_assert(json_equal(json_object_get(c, "records"),
                                     json_object_get(c2, "records")));
            free(sa);
            free(sb);
            json_decref(a);
            json_decref(b);
            json_decref(c2);
            free(doc);
            crgw_diags_cleanup(&back_w);
            crgw_diags_cleanup(&warn);
            crgw_diags_cleanup(&errs);
        }
        json_decref(c);
    }
}

Test(adapt_samples, csj_output_is_gb18030)
{
    crgw_diags w = {0}, errs = {0};
    json_t *c = translate_file("jjj-xml", SAMPLES[0][1], &w);
    char *doc;
    size_t len;
    cr_assert_eq(crgw_translate_from_canonical(A, "csj-xml", c, &OPTS, &doc, &len, &w, &errs), 0);
    const char *decl = "<?xml version=\"1.0\" encoding=\"GB18030\"?>";
    cr_assert_eq(strncmp(doc, decl, strlen(decl)), 0, "GB18030 declaration");
    /* 信用报告 in GB18030 is D0 C5 D3 C3 B1 A8 B8 E6, never its UTF-8 bytes */
    cr_assert_not_null(memmem(doc, len, "<\xD0\xC5\xD3\xC3\xB1\xA8\xB8\xE6", 9));
    cr_assert_null(memmem(doc, len, "信用报告", strlen("信用报告")));
    cr_assert_not_null(strstr(doc, "crgw-provenance"));
    cr_assert_null(strstr(doc, "Signature"), "a translated document is unsigned");
    free(doc);
    crgw_translate_opts u = OPTS;
    u.utf8_output = 1;
    cr_assert_eq(crgw_translate_from_canonical(A, "csj-xml", c, &u, &doc, &len, &w, &errs), 0);
    cr_assert_not_null(strstr(doc, "encoding=\"UTF-8\""));
    cr_assert_not_null(strstr(doc, "<信用报告"));
    free(doc);
    json_decref(c);
    crgw_diags_cleanup(&w);
    crgw_diags_cleanup(&errs);
}

Test(adapt_samples, cannot_carry_warnings)
{
    crgw_diags w = {0}, errs = {0};
    json_t *c = translate_file("cy-json", SAMPLES[2][1], &w);
    json_t *recs = json_object_get(c, "records");
    json_t *ab = json_deep_copy(json_array_get(recs, 0));
    json_object_set_new(ab, "kind", json_string("abnormal_operation_list"));
    json_object_set_new(ab, "category", json_string("abnormal_operation_list"));
    json_object_set_new(ab, "record_id", json_string("ABN-1"));
    json_array_append_new(recs, ab);
    json_object_set_new(c, "foo", json_true());
    char *doc;
    size_t len;
    crgw_diags_cleanup(&w);
    cr_assert_eq(crgw_translate_from_canonical(A, "gba-json", c, &OPTS, &doc, &len, &w, &errs), 0);
    cr_assert(crgw_diags_has_path(&w, "records[2].kind"), "abnormal operation dropped -> warning");
    cr_assert(crgw_diags_has_path(&w, "foo"), "unknown canonical field -> warning");
    free(doc);
    crgw_diags_cleanup(&w);
    cr_assert_eq(crgw_translate_from_canonical(A, "csj-xml", c, &OPTS, &doc, &len, &w, &errs), 0);
    cr_assert(!crgw_diags_has_path(&w, "records[2].kind"), "csj-xml has 经营异常名录");
    json_t *back = translate_bytes("csj-xml", doc, len, &w);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(back, "records"), 2), "kind")),
                     "abnormal_operation_list");
    json_decref(back);
    free(doc);
    json_decref(c);
    crgw_diags_cleanup(&w);
    crgw_diags_cleanup(&errs);
}

Test(adapt_samples, fifth_dialect_from_a_file)
{
    crgw_diags errs = {0}, warn = {0};
    crgw_adapters *t = crgw_adapters_new();
    cr_assert_eq(crgw_adapters_add_file(t, "tests/unit/data/translate/toy-xml.yaml", &errs), 0);
    cr_assert_eq(crgw_adapters_add_file(t, "adapters/jjj-xml.yaml", &errs), 0);
    char *buf;
    size_t len;
    cr_assert_eq(crgw_read_file("tests/unit/data/translate/toy.xml", 1 << 20, &buf, &len), 0);
    cr_assert_str_eq(crgw_adapters_detect(t, buf, len), "toy-xml");
    json_t *c = NULL;
    int rc = crgw_translate_to_canonical(t, "auto", buf, len, &OPTS, &c, &warn, &errs);
    dump_diags("toy", &errs);
    cr_assert_eq(rc, 0);
    cr_assert_str_eq(json_string_value(json_object_get(c, "issued_at")),
                     "2026-11-18T10:30:00+08:00");
    json_t *r0 = json_array_get(json_object_get(c, "records"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(r0, "decided_on")), "2026-03-20");
    cr_assert_str_eq(json_string_value(json_object_get(r0, "category")),
                     "administrative_management");
    cr_assert_str_eq(json_string_value(json_object_get(c, "criminal_record")), "not_covered");
    /* toy -> jjj-xml -> canonical, and toy -> toy (ISO-8859-1 output, Chinese as references) */
    char *doc;
    size_t dl;
    cr_assert_eq(crgw_translate_from_canonical(t, "toy-xml", c, &OPTS, &doc, &dl, &warn, &errs),
                 0);
    cr_assert_not_null(strstr(doc, "encoding=\"ISO-8859-1\""));
    json_t *c2 = NULL;
    cr_assert_eq(crgw_translate_to_canonical(t, "toy-xml", doc, dl, &OPTS, &c2, &warn, &errs), 0);
    json_t *a = without(c, NULL), *b = without(c2, NULL);
    cr_assert(json_equal(a, b));
    free(doc);
    cr_assert_eq(crgw_translate_from_canonical(t, "jjj-xml", c, &OPTS, &doc, &dl, &warn, &errs),
                 0);
    json_t *c3 = NULL;
    cr_assert_eq(crgw_translate_to_canonical(t, "jjj-xml", doc, dl, &OPTS, &c3, &warn, &errs), 0);
    json_t *d3 = without(c3, NULL);
    cr_assert(json_equal(a, d3));
    json_decref(a);
    json_decref(b);
    json_decref(d3);
    json_decref(c);
    json_decref(c2);
    json_decref(c3);
    free(doc);
    free(buf);
    crgw_adapters_free(t);
    crgw_diags_cleanup(&errs);
    crgw_diags_cleanup(&warn);
}

Test(adapt_samples, bad_mapping_files_say_file_line)
{
    const char *f = "/tmp/crgw-test-bad-mapping.yaml";
    FILE *fp = fopen(f, "w");
    cr_assert_not_null(fp);
    fputs("dialect: bad-json\nsyntax: json\ncodes:\n  k: {special: S}\nfields:\n"
          "  report_id: id\n  kind: {at: kind, codes: k}\n  nonsense: x\n",
          fp);
    fclose(fp);
    crgw_diags errs = {0};
    crgw_adapters *t = crgw_adapters_new();
    cr_assert_eq(crgw_adapters_add_file(t, f, &errs), -1);
    int saw_code = 0, saw_field = 0;
    for (size_t i = 0; i < errs.n; i++) {
        saw_code |= strstr(errs.v[i].message, ":7: code list k: 'special' is not a canonical") != NULL;
        saw_field |= strstr(errs.v[i].message, ":8: 'nonsense' is not a mappable") != NULL;
    }
    dump_diags("mapping", &errs);
    cr_assert(saw_code && saw_field);
    crgw_adapters_free(t);
    crgw_diags_cleanup(&errs);
    unlink(f);
}
