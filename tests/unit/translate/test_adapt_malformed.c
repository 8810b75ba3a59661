/*
 * Acceptance 3 of issue 4: malformed inputs across the four dialects, each refused with an error
 * whose path is exactly the canonical field concerned ("$..." for document-level problems:
 * syntax, encoding, DOCTYPE, nesting, duplicate JSON keys at their JSON location).
 *
 * Each case is a mutation of a valid document: replace the first occurrence of `find` by
 * `repl` (or truncate, or nest deeply), translate, expect failure and an error at `path`.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/translate/translate.h"
#include "gateway/core/util.h"

enum op { REPLACE, TRUNCATE, NEST, RAW_BYTES };

typedef struct {
    const char *name;
    const char *file;
    const char *dialect; /* or "auto" */
    enum op op;
    const char *find;
    const char *repl;
    const char *path;
} mcase;

#define JJJ "tests/fixtures/samples/jjj-xml.xml"
/* the readable csj-xml copy, re-declared as UTF-8 (same document, see dialects/README.md) */
#define CSJ "tests/unit/data/translate/csj-xml.utf8-declared.xml"
#define CSJ_GB "tests/fixtures/samples/csj-xml.xml"
#define CY "tests/fixtures/samples/cy-json.payload.json"
#define GBA "tests/fixtures/samples/gba-json.payload.json"
#define CYS "tests/fixtures/reports/valid/510100.json"
#define GBAS "tests/fixtures/reports/valid/440100.jws"
#define JJJS "tests/fixtures/reports/valid/120000.xml"

static const mcase CASES[] = {
    /* jjj-xml */
    {"jjj_bad_date", JJJ, "jjj-xml", REPLACE, "<CFRQ>20260320", "<CFRQ>20260230",
     "records[0].decided_on"},
    {"jjj_bad_time", JJJ, "jjj-xml", REPLACE, "20261118103000", "20261118253000", "issued_at"},
    {"jjj_short_date", JJJ, "jjj-xml", REPLACE, "<CXQJQ>20231118", "<CXQJQ>2023111",
     "covers.period_from"},
    {"jjj_severity_code", JJJ, "jjj-xml", REPLACE, "<YZCD>2</YZCD>", "<YZCD>4</YZCD>",
     "records[0].severity"},
    {"jjj_uscc_check", JJJ, "jjj-xml", REPLACE, "MA06T8E28X", "MA06T8E28Y", "subject.uscc"},
    {"jjj_uscc_orgcode_check", JJJ, "jjj-xml", REPLACE, "MA06T8E28X", "MA06T8E38X",
     "subject.uscc"},
    {"jjj_uscc_charset", JJJ, "jjj-xml", REPLACE, "MA06T8E28X", "MA06T8E2IX", "subject.uscc"},
    {"jjj_missing_report_id", JJJ, "jjj-xml", REPLACE, "<BGBH>JJJ120000202611180001</BGBH>", "",
     "report_id"},
    {"jjj_empty_report_id", JJJ, "jjj-xml", REPLACE, "<BGBH>JJJ120000202611180001</BGBH>",
     "<BGBH>  </BGBH>", "report_id"},
    {"jjj_duplicate_report_id", JJJ, "jjj-xml", REPLACE, "<BGLX>",
     "<BGBH>JJJ2</BGBH><BGLX>", "report_id"},
    {"jjj_kind_code", JJJ, "jjj-xml", REPLACE, "ZXXYBG", "ZXBG", "kind"},
    {"jjj_subject_type", JJJ, "jjj-xml", REPLACE, "<ZTLX>1</ZTLX>", "<ZTLX>9</ZTLX>",
     "subject.type"},
    {"jjj_domain_code", JJJ, "jjj-xml", REPLACE, "<LY DM=\"04\"/>", "<LY DM=\"99\"/>",
     "covers.domains[3]"},
    {"jjj_conclusion_value", JJJ, "jjj-xml", REPLACE, "<LYJL DM=\"02\">0", "<LYJL DM=\"02\">5",
     "conclusions.tax"},
    {"jjj_conclusion_twice", JJJ, "jjj-xml", REPLACE, "<LYJL DM=\"03\">0", "<LYJL DM=\"02\">0",
     "conclusions.tax"},
    {"jjj_status_code", JJJ, "jjj-xml", REPLACE, "<ZT>1</ZT>", "<ZT>7</ZT>", "records[0].status"},
    {"jjj_record_domain", JJJ, "jjj-xml", REPLACE, "<LY DM=\"01\"/>\n      <YZCD>",
     "<LY DM=\"11\"/>\n      <YZCD>", "records[0].domain"},
    {"jjj_missing_record_id", JJJ, "jjj-xml", REPLACE, "<JLBH>TJHB-2025-1102</JLBH>", "",
     "records[1].record_id"},
    {"jjj_missing_issuer_node", JJJ, "jjj-xml", REPLACE, "<CJJGQH>120000</CJJGQH>", "",
     "issuer.node"},
    {"jjj_bad_issuer_node", JJJ, "jjj-xml", REPLACE, "<CJJGQH>120000", "<CJJGQH>12000",
     "issuer.node"},
    {"jjj_missing_subject_name", JJJ, "jjj-xml", REPLACE, "<ZTMC>天津海河通达物流有限公司</ZTMC>",
     "", "subject.name"},
    {"jjj_criminal_code", JJJ, "jjj-xml", REPLACE, "<YWJL>0</YWJL>", "<YWJL>2</YWJL>",
     "criminal_record"},
    {"jjj_publicity_until", JJJ, "jjj-xml", REPLACE, "<GSJZRQ>20281102", "<GSJZRQ>20281131",
     "records[1].publicity_until"},
    {"jjj_valid_until_month", JJJ, "jjj-xml", REPLACE, "<YXQZ>20261218", "<YXQZ>20261318",
     "valid_until"},
    {"jjj_doctype_entity", JJJ, "jjj-xml", REPLACE, "<XYBG ",
     "<!DOCTYPE XYBG [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;\">]>\n<XYBG ", "$"},
    {"jjj_doctype_external", JJJ, "jjj-xml", REPLACE, "<XYBG ",
     "<!DOCTYPE XYBG SYSTEM \"http://127.0.0.1:9/x.dtd\">\n<XYBG ", "$"},
    {"jjj_undeclared_entity", JJJ, "jjj-xml", REPLACE, "王建国", "&xxe;", "$"},
    {"jjj_truncated", JJJ, "jjj-xml", TRUNCATE, NULL, NULL, "$"},
    {"jjj_deep", JJJ, "jjj-xml", NEST, "<FDDBR>", NULL, "$"},
    {"jjj_bad_utf8", JJJ, "jjj-xml", REPLACE, "王建国", "\xE7\x8E\x8B\xFF\xFE", "$"},
    {"jjj_wrong_namespace", JJJ, "jjj-xml", REPLACE, "urn:jjj:xyxx:bg:1", "urn:jjj:xyxx:bg:9",
     "$"},
    {"jjj_signed_bad_date", JJJS, "auto", REPLACE, "<CFRQ>20251102", "<CFRQ>20251302",
     "records[1].decided_on"},
    /* csj-xml */
    {"csj_zero_padded_date", CSJ, "csj-xml", REPLACE, "2026年3月20日</决定日期>",
     "2026年03月20日</决定日期>", "records[0].decided_on"},
    {"csj_no_such_day", CSJ, "csj-xml", REPLACE, "2026年3月20日</决定日期>",
     "2026年2月30日</决定日期>", "records[0].decided_on"},
    {"csj_time_without_seconds", CSJ, "csj-xml", REPLACE, "10:30:00", "10:30", "issued_at"},
    {"csj_period_from", CSJ, "csj-xml", REPLACE, "起=\"2023年11月18日\"", "起=\"2023年11月31日\"",
     "covers.period_from"},
    {"csj_report_kind", CSJ, "csj-xml", REPLACE, "专项信用报告（", "信用报告（", "kind"},
    {"csj_record_kind", CSJ, "csj-xml", REPLACE, "类别=\"行政处罚\"", "类别=\"行政许可\"",
     "records[0].kind"},
    {"csj_severity", CSJ, "csj-xml", REPLACE, "<失信程度>严重", "<失信程度>很严重",
     "records[1].severity"},
    {"csj_missing_issuer_node", CSJ, "csj-xml", REPLACE, " 区划代码=\"310000\"", "",
     "issuer.node"},
    {"csj_subject_type", CSJ, "csj-xml", REPLACE, "<主体类型>法人", "<主体类型>公司",
     "subject.type"},
    {"csj_conclusion_domain", CSJ, "csj-xml", REPLACE, "领域=\"税务\"", "领域=\"税收\"",
     "conclusions"},
    {"csj_criminal", CSJ, "csj-xml", REPLACE, "<犯罪记录>无", "<犯罪记录>没有", "criminal_record"},
    {"csj_gb18030_bad_bytes", CSJ_GB, "csj-xml", RAW_BYTES, "\xCD\xF5\xBD\xA8\xB9\xFA",
     "\x81\x20\x81\x20\x81\x20", "$"},
    {"csj_declared_gb18030_but_utf8", "tests/fixtures/samples/csj-xml.utf8.xml", "csj-xml",
     REPLACE, "", "", "$"},
    /* cy-json */
    {"cy_unpadded_date", CY, "cy-json", REPLACE, "\"2026-03-20\"", "\"2026-3-20\"",
     "records[0].decided_on"},
    {"cy_time_without_offset", CY, "cy-json", REPLACE, "10:30:00+08:00\"", "10:30:00\"",
     "issued_at"},
    {"cy_leap_day", CY, "cy-json", REPLACE, "\"validUntil\": \"2026-12-18\"",
     "\"validUntil\": \"2026-02-29\"", "valid_until"},
    {"cy_duplicate_key", CY, "cy-json", REPLACE, "\"reportType\"",
     "\"reportNo\": \"X\", \"reportType\"", "$.reportNo"},
    {"cy_duplicate_nested_key", CY, "cy-json", REPLACE, "\"name\": \"成都",
     "\"regionCode\": \"510100\", \"name\": \"成都", "$.issuer.regionCode"},
    {"cy_severity_code", CY, "cy-json", REPLACE, "\"GENERAL\"", "\"MEDIUM\"",
     "records[0].severity"},
    {"cy_record_category", CY, "cy-json", REPLACE, "\"ADMINISTRATIVE_PENALTY\"", "\"LICENCE\"",
     "records[0].kind"},
    {"cy_uscc", CY, "cy-json", REPLACE, "MA06T8E28X", "MA06T8E28A", "subject.uscc"},
    {"cy_missing_kind", CY, "cy-json", REPLACE, "\"reportType\": \"SPECIAL_CREDIT_REPORT\",", "",
     "kind"},
    {"cy_domain_not_string", CY, "cy-json", REPLACE, "\"domain\": \"TRANSPORT\"", "\"domain\": 1",
     "records[0].domain"},
    {"cy_conclusion_value", CY, "cy-json", REPLACE, "\"TAX\": \"NONE\"", "\"TAX\": \"MAYBE\"",
     "conclusions.tax"},
    {"cy_domains_not_list", CY, "cy-json", REPLACE, "\"domains\": [", "\"domains\": \"TRANSPORT\", \"x\": [",
     "covers.domains"},
    {"cy_truncated", CY, "cy-json", TRUNCATE, NULL, NULL, "$"},
    {"cy_deep", CY, "cy-json", NEST, "\"legalRepresentative\": ", NULL, "$"},
    {"cy_jws_payload_bad_date", CYS, "auto", REPLACE, "", "", "records[1].decided_on"},
    /* gba-json */
    {"gba_iso_date", GBA, "gba-json", REPLACE, "\"20/03/2026\"", "\"2026-03-20\"",
     "records[0].decided_on"},
    {"gba_bad_hour", GBA, "gba-json", REPLACE, "\"18/11/2026 10:30\"", "\"18/11/2026 24:30\"",
     "issued_at"},
    {"gba_grade", GBA, "gba-json", REPLACE, "\"grade\": \"B\"", "\"grade\": \"D\"",
     "records[0].severity"},
    {"gba_criminal_not_bool", GBA, "gba-json", REPLACE, "\"found\": false", "\"found\": \"no\"",
     "criminal_record"},
    {"gba_state", GBA, "gba-json", REPLACE, "\"state\": \"active\"", "\"state\": \"open\"",
     "records[0].status"},
    {"gba_summary_sector", GBA, "gba-json", REPLACE, "\"sector\": \"TAX\", \"result\"",
     "\"sector\": \"XXX\", \"result\"", "conclusions"},
    {"gba_summary_twice", GBA, "gba-json", REPLACE, "\"sector\": \"TAX\", \"result\"",
     "\"sector\": \"TRN\", \"result\"", "conclusions.transport"},
    {"gba_entity_type", GBA, "gba-json", REPLACE, "\"company\"", "\"corp\"", "subject.type"},
    {"gba_enforcement_record_date", GBA, "gba-json", REPLACE, "\"enforcement_measures\": []",
     "\"enforcement_measures\": [{\"ref\": \"E1\", \"decided_on\": \"31/04/2026\"}]",
     "records[2].decided_on"},
    {"gba_area_code", GBA, "gba-json", REPLACE, "\"440100\"", "\"44010A\"", "issuer.node"},
    {"gba_missing_uscc", GBA, "gba-json", REPLACE, "\"uscc\": \"91120116MA06T8E28X\",", "",
     "subject.uscc"},
    {"gba_jws_garbage_payload", GBAS, "auto", REPLACE, ".ewog", ".AAAA", "$"},
};

static char *read_all(const char *file, size_t *len)
{
    char *buf;
    cr_assert_eq(crgw_read_file(file, 1 << 20, &buf, len), 0, "read %s", file);
    return buf;
}

static char *replace_first(const char *buf, size_t len, const char *find, const char *repl,
                           size_t *out_len)
{
    const char *at = memmem(buf, len, find, strlen(find));
    cr_assert_not_null(at, "mutation anchor '%s' found", find);
    size_t fl = strlen(find), rl = strlen(repl), pre = (size_t)(at - buf);
    char *out = xmalloc(len - fl + rl + 1);
    memcpy(out, buf, pre);
    memcpy(out + pre, repl, rl);
    memcpy(out + pre + rl, at + fl, len - pre - fl);
    *out_len = len - fl + rl;
    out[*out_len] = '\0';
    return out;
}

/* base64url without padding */
static char *b64url(const char *in, size_t n)
{
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *o = xmalloc(n * 4 / 3 + 4);
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        o[k++] = T[(v >> 18) & 63];
        o[k++] = T[(v >> 12) & 63];
        if (i + 1 < n)
            o[k++] = T[(v >> 6) & 63];
        if (i + 2 < n)
            o[k++] = T[v & 63];
    }
    o[k] = '\0';
    return o;
}

static char *mutate(const mcase *c, size_t *out_len)
{
    size_t len;
    char *buf = read_all(c->file, &len);
    char *out = NULL;
    if (strcmp(c->name, "cy_jws_payload_bad_date") == 0) {
        /* a flattened JWS whose payload (bytes covered by the signature) has a bad date */
        size_t pl;
        char *p = read_all(CY, &pl);
        char *bad = replace_first(p, pl, "\"2025-11-02\"", "\"2025-11-31\"", &pl);
        char *enc = b64url(bad, pl);
        crgw_buf b;
        crgw_buf_init(&b, 1 << 20);
        crgw_buf_printf(&b, "{\"protected\": \"eyJhbGciOiJFUzI1NiJ9\", \"payload\": \"%s\", "
                            "\"signature\": \"AAAA\"}",
                        enc);
        out = crgw_buf_take(&b, out_len);
        free(enc);
        free(bad);
        free(p);
    } else if (c->op == TRUNCATE) {
        *out_len = len / 2;
        out = xstrndup(buf, *out_len);
    } else if (c->op == NEST) {
        crgw_buf b;
        crgw_buf_init(&b, 1 << 20);
        int xml = c->file[strlen(c->file) - 1] == 'l';
        const char *at = strstr(buf, c->find) + strlen(c->find);
        crgw_buf_add(&b, buf, (size_t)(at - buf));
        for (int i = 0; i < 100; i++)
            crgw_buf_adds(&b, xml ? "<a>" : "{\"a\":");
        crgw_buf_adds(&b, xml ? "x" : "1");
        for (int i = 0; i < 100; i++)
            crgw_buf_adds(&b, xml ? "</a>" : "}");
        if (!xml) /* the nested object replaces the string value */
            at = strchr(strchr(at, '"') + 1, '"') + 1;
        crgw_buf_adds(&b, at);
        out = crgw_buf_take(&b, out_len);
    } else {
        out = replace_first(buf, len, c->find, c->repl, out_len);
    }
    free(buf);
    return out;
}

/* Criterion copies parameters into a re-executed child: pass indices, not pointers */
static size_t IDX[CRGW_ARRAY_LEN(CASES)];

ParameterizedTestParameters(adapt_malformed, refused_with_path)
{
    for (size_t i = 0; i < CRGW_ARRAY_LEN(CASES); i++)
        IDX[i] = i;
    return cr_make_param_array(size_t, IDX, CRGW_ARRAY_LEN(IDX));
}

ParameterizedTest(size_t *ip, adapt_malformed, refused_with_path)
{
    const mcase *c = &CASES[*ip];
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &a, &errs), 0);
    size_t len;
    char *doc = mutate(c, &len);
    json_t *canon = NULL;
    crgw_translate_opts o = {.translated_by = "110000"};
    int rc = crgw_translate_to_canonical(a, c->dialect, doc, len, &o, &canon, &warn, &errs);
    cr_assert_eq(rc, -1, "%s: refused", c->name);
    cr_assert_null(canon);
    int found = crgw_diags_has_path(&errs, c->path);
    if (!found || getenv("CRGW_TEST_VERBOSE"))
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s: got %s: %s\n", c->name, errs.v[i].path, errs.v[i].message);
    cr_assert(found, "%s: an error at %s", c->name, c->path);
    free(doc);
    crgw_diags_cleanup(&errs);
    crgw_diags_cleanup(&warn);
    crgw_adapters_free(a);
}

Test(adapt_malformed, enough_cases)
{
    cr_assert_geq(CRGW_ARRAY_LEN(CASES), 40);
}

/* the mutations are the only problem: the unmutated bases translate */
Test(adapt_malformed, bases_are_valid)
{
    const char *bases[] = {JJJ, CSJ, CSJ_GB, CY, GBA, CYS, GBAS, JJJS};
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &a, &errs), 0);
    for (size_t i = 0; i < CRGW_ARRAY_LEN(bases); i++) {
        size_t len;
        char *buf = read_all(bases[i], &len);
        json_t *c = NULL;
        cr_assert_eq(crgw_translate_to_canonical(a, "auto", buf, len, NULL, &c, &warn, &errs), 0,
                     "%s", bases[i]);
        json_decref(c);
        free(buf);
    }
    crgw_diags_cleanup(&errs);
    crgw_diags_cleanup(&warn);
    crgw_adapters_free(a);
}

/* warnings, not errors: unknown elements and keys, legacy USCC, uncovered domains */
Test(adapt_malformed, warnings_not_errors)
{
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &a, &errs), 0);
    size_t len, ml;
    char *buf = read_all(JJJ, &len);
    char *m = replace_first(buf, len, "<FDDBR>", "<XB>extra</XB><FDDBR>", &ml);
    json_t *c = NULL;
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", m, ml, NULL, &c, &warn, &errs), 0);
    cr_assert(crgw_diags_has_path(&warn, "/XYBG/ZTXX/XB"));
    json_decref(c);
    free(m);
    free(buf);
    crgw_diags_cleanup(&warn);

    buf = read_all(CY, &len);
    m = replace_first(buf, len, "\"legalRepresentative\"", "\"nickname\": \"x\", \"legalRepresentative\"",
                      &ml);
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", m, ml, NULL, &c, &warn, &errs), 0);
    cr_assert(crgw_diags_has_path(&warn, "$.subject.nickname"));
    json_decref(c);
    free(m);
    crgw_diags_cleanup(&warn);

    /* legacy code: refused, then accepted with the allow-list (in lower case, normalised) */
    m = replace_first(buf, len, "MA06T8E28X", "MA06T8E28A", &ml);
    const char *legacy[] = {"91120116ma06t8e28a"};
    crgw_translate_opts o = {.uscc_legacy = legacy, .n_uscc_legacy = 1};
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", m, ml, NULL, &c, &warn, &errs), -1);
    crgw_diags_cleanup(&errs);
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", m, ml, &o, &c, &warn, &errs), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(c, "subject"), "uscc")),
                     "91120116MA06T8E28A");
    cr_assert(crgw_diags_has_path(&warn, "subject.uscc"));
    json_decref(c);
    free(m);
    crgw_diags_cleanup(&warn);

    /* a record in a domain the report does not cover */
    m = replace_first(buf, len, "\"TRANSPORT\", \"TAX\"", "\"TAX\"", &ml);
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", m, ml, NULL, &c, &warn, &errs), 0);
    cr_assert(crgw_diags_has_path(&warn, "records[0].domain"));
    cr_assert(crgw_diags_has_path(&warn, "conclusions.transport"));
    json_decref(c);
    free(m);
    free(buf);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
    crgw_adapters_free(a);
}
