/*
 * Building blocks of the adapters: USCC check characters, date formats, hardened XML and strict
 * JSON parsing, canonical -> dialect validation.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/translate/translate.h"
#include "gateway/translate/dates.h"
#include "gateway/translate/uscc.h"
#include "gateway/core/util.h"

Test(adapt_uscc, check_characters)
{
    char n[19];
    const char *why = NULL;
    cr_assert_eq(crgw_uscc_check("91120116MA06T8E28X", n, &why), 0);
    cr_assert_str_eq(n, "91120116MA06T8E28X");
    /* lower case and full-width forms are normalised */
    cr_assert_eq(crgw_uscc_check("91120116ma06t8e28x", n, &why), 0);
    cr_assert_str_eq(n, "91120116MA06T8E28X");
    cr_assert_eq(crgw_uscc_check("９１１２０１１６ＭＡ０６Ｔ８Ｅ２８Ｘ", n, &why), 0);
    cr_assert_str_eq(n, "91120116MA06T8E28X");
    /* a well-known published code: 91350100M000100Y43 */
    cr_assert_eq(crgw_uscc_check("91350100M000100Y43", n, &why), 0, "%s", why);
    cr_assert_eq(crgw_uscc_check("91120116MA06T8E28Y", n, &why), -1);
    cr_assert_not_null(strstr(why, "GB 32100"));
    cr_assert_eq(crgw_uscc_check("91120116MA06T8E38X", n, &why), -1);
    cr_assert_not_null(strstr(why, "GB 11714"));
    cr_assert_eq(crgw_uscc_check("91120116MA06T8E28", n, &why), -1);
    cr_assert_eq(crgw_uscc_check("91120116MA06T8E28XX", n, &why), -1);
    cr_assert_eq(crgw_uscc_check("91120116MA06T8EI8X", n, &why), -1); /* I not in the set */
    cr_assert_eq(crgw_uscc_check("", n, &why), -1);
    const char *list[] = {"91120116ma06t8e28a"};
    cr_assert_eq(crgw_uscc_listed("91120116MA06T8E28A", list, 1), 1);
    cr_assert_eq(crgw_uscc_listed("91120116MA06T8E28B", list, 1), 0);
}

/* GB 32100 check character computed independently for every prefix character position */
Test(adapt_uscc, every_check_value)
{
    static const char cs[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    char code[19] = "91120116MA06T8E28X";
    int ok = 0;
    for (int c = 0; c < 31; c++) {
        code[17] = cs[c];
        ok += crgw_uscc_check(code, NULL, NULL) == 0;
    }
    cr_assert_eq(ok, 1, "exactly one check character fits");
}

static int parse(const char *fmt, const char *s, crgw_datetime *t)
{
    const char *why;
    crgw_datefmt *f = crgw_datefmt_new(fmt, &why);
    cr_assert_not_null(f, "%s", fmt);
    int rc = crgw_datefmt_parse(f, s, strlen(s), t, &why);
    crgw_datefmt_free(f);
    return rc;
}

Test(adapt_dates, formats)
{
    crgw_datetime t;
    cr_assert_eq(parse("YYYY年M月D日", "2026年3月20日", &t), 0);
    cr_assert(t.y == 2026 && t.mo == 3 && t.d == 20);
    cr_assert_eq(parse("YYYY年M月D日", "2026年03月20日", &t), -1, "no zero padding");
    cr_assert_eq(parse("YYYY年M月D日", "2026年2月30日", &t), -1);
    cr_assert_eq(parse("YYYY年M月D日", "2024年2月29日", &t), 0, "leap year");
    cr_assert_eq(parse("YYYY年M月D日", "2100年2月29日", &t), -1, "not a leap year");
    cr_assert_eq(parse("YYYY年M月D日", "2000年2月29日", &t), 0);
    cr_assert_eq(parse("YYYY年M月D日 hh:mm:ss", "2026年11月18日 10:30:00", &t), 0);
    cr_assert_eq(parse("YYYY年M月D日 hh:mm:ss", "2026年11月18日 10:30:60", &t), -1);
    cr_assert_eq(parse("DD/MM/YYYY", "02/11/2025", &t), 0);
    cr_assert_eq(parse("DD/MM/YYYY", "2/11/2025", &t), -1);
    cr_assert_eq(parse("DD/MM/YYYY", "02/11/2025 ", &t), -1, "trailing bytes");
    cr_assert_eq(parse("YYYYMMDDhhmmss", "20261118103000", &t), 0);
    cr_assert(t.h == 10 && t.mi == 30 && t.s == 0);
    cr_assert_eq(parse("YYYYMMDD", "00000101", &t), -1, "year 0");
}

Test(adapt_dates, rfc3339_offsets)
{
    crgw_datetime t;
    char out[32];
    cr_assert_eq(parse("rfc3339", "2026-11-18T02:30:00Z", &t), 0);
    crgw_date_format_canonical(&t, 1, out);
    cr_assert_str_eq(out, "2026-11-18T10:30:00+08:00");
    cr_assert_eq(parse("rfc3339", "2026-12-31T20:00:00-05:00", &t), 0);
    crgw_date_format_canonical(&t, 1, out);
    cr_assert_str_eq(out, "2027-01-01T09:00:00+08:00", "carried over the year");
    cr_assert_eq(parse("rfc3339", "2026-03-01T01:00:00+09:00", &t), 0);
    crgw_date_format_canonical(&t, 1, out);
    cr_assert_str_eq(out, "2026-03-01T00:00:00+08:00");
    cr_assert_eq(parse("rfc3339", "2026-03-01T00:30:00+09:00", &t), 0);
    crgw_date_format_canonical(&t, 1, out);
    cr_assert_str_eq(out, "2026-02-28T23:30:00+08:00", "back over a month end");
    cr_assert_eq(parse("rfc3339", "2026-11-18T10:30:00.250+08:00", &t), 0);
    cr_assert_eq(t.has_frac, 1);
    cr_assert_eq(parse("rfc3339", "2026-11-18T10:30:00", &t), -1);
    cr_assert_eq(parse("rfc3339", "2026-11-18 10:30:00+08:00", &t), -1);
}

Test(adapt_dates, write_back)
{
    const char *why;
    crgw_datefmt *f = crgw_datefmt_new("DD/MM/YYYY hh:mm", &why);
    crgw_datetime t = {2026, 3, 5, 9, 7, 0, 0};
    char out[64];
    int lossy;
    cr_assert_gt(crgw_datefmt_format(f, &t, out, sizeof(out), &lossy), 0);
    cr_assert_str_eq(out, "05/03/2026 09:07");
    cr_assert_eq(lossy, 0);
    t.s = 12;
    crgw_datefmt_format(f, &t, out, sizeof(out), &lossy);
    cr_assert_eq(lossy, 1, "seconds cannot be written");
    crgw_datefmt_free(f);
    f = crgw_datefmt_new("YYYY年M月D日", &why);
    crgw_datefmt_format(f, &t, out, sizeof(out), &lossy);
    cr_assert_str_eq(out, "2026年3月5日");
    crgw_datefmt_free(f);
    cr_assert_null(crgw_datefmt_new("MM/YYYY", &why), "no day");
    cr_assert_null(crgw_datefmt_new("YYYY-MM-DD hh", &why), "hours without minutes");
}

Test(adapt_parse, xml_strict)
{
    crgw_diags e = {0};
    xmlDocPtr doc = NULL;
    const char *ok = "<?xml version=\"1.0\"?><a><b>x</b></a>";
    cr_assert_eq(crgw_xml_parse_strict(ok, strlen(ok), 0, &doc, &e), 0);
    xmlFreeDoc(doc);
    const char *lol = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>";
    cr_assert_eq(crgw_xml_parse_strict(lol, strlen(lol), 0, &doc, &e), -1);
    cr_assert_null(doc);
    cr_assert_not_null(strstr(e.v[0].message, "DOCTYPE"));
    crgw_diags_cleanup(&e);
    const char *ext = "<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>";
    cr_assert_eq(crgw_xml_parse_strict(ext, strlen(ext), 0, &doc, &e), -1);
    crgw_diags_cleanup(&e);
    const char *xi = "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                     "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></a>";
    cr_assert_eq(crgw_xml_parse_strict(xi, strlen(xi), 0, &doc, &e), 0, "parsed, not expanded");
    cr_assert_str_eq((const char *)xmlDocGetRootElement(doc)->children->name, "include");
    xmlFreeDoc(doc);
    /* depth: 3 levels allowed, 4 refused */
    const char *d4 = "<a><b><c><d/></c></b></a>";
    cr_assert_eq(crgw_xml_parse_strict(d4, strlen(d4), 4, &doc, &e), 0);
    xmlFreeDoc(doc);
    cr_assert_eq(crgw_xml_parse_strict(d4, strlen(d4), 3, &doc, &e), -1);
    crgw_diags_cleanup(&e);
    /* GB18030: a valid document and one with a byte sequence GB18030 does not have */
    const char *gb = "<?xml version=\"1.0\" encoding=\"GB18030\"?><a>\xCD\xF5</a>";
    cr_assert_eq(crgw_xml_parse_strict(gb, strlen(gb), 0, &doc, &e), 0);
    cr_assert_str_eq((const char *)xmlDocGetRootElement(doc)->children->content, "王");
    xmlFreeDoc(doc);
    const char *bad = "<?xml version=\"1.0\" encoding=\"GB18030\"?><a>\xCD\x20\x81\x7F</a>";
    cr_assert_eq(crgw_xml_parse_strict(bad, strlen(bad), 0, &doc, &e), -1);
    cr_assert_null(doc);
    crgw_diags_cleanup(&e);
    const char *trunc = "<?xml version=\"1.0\" encoding=\"GB18030\"?><a>\xCD</a>";
    cr_assert_eq(crgw_xml_parse_strict(trunc, strlen(trunc), 0, &doc, &e), -1);
    crgw_diags_cleanup(&e);
    char *big = xmalloc((5u << 20) + 1);
    memset(big, ' ', 5u << 20);
    big[0] = '<';
    cr_assert_eq(crgw_xml_parse_strict(big, 5u << 20, 0, &doc, &e), -1);
    free(big);
    crgw_diags_cleanup(&e);
}

Test(adapt_parse, json_strict)
{
    crgw_diags e = {0};
    json_t *j = NULL;
    const char *ok = "{\"a\": [1, {\"b\": \"c\"}]}";
    cr_assert_eq(crgw_json_parse_strict(ok, strlen(ok), 0, &j, &e), 0);
    json_decref(j);
    const char *dup = "{\"a\": [1, {\"b\": \"c\", \"b\": 2}]}";
    cr_assert_eq(crgw_json_parse_strict(dup, strlen(dup), 0, &j, &e), -1);
    cr_assert_str_eq(e.v[0].path, "$.a[1].b");
    crgw_diags_cleanup(&e);
    const char *nul = "{\"a\": \"x\\u0000y\"}";
    cr_assert_eq(crgw_json_parse_strict(nul, strlen(nul), 0, &j, &e), -1);
    crgw_diags_cleanup(&e);
    const char *two = "{} {}";
    cr_assert_eq(crgw_json_parse_strict(two, strlen(two), 0, &j, &e), -1);
    crgw_diags_cleanup(&e);
    const char *deep = "[[[[1]]]]";
    cr_assert_eq(crgw_json_parse_strict(deep, strlen(deep), 4, &j, &e), 0);
    json_decref(j);
    cr_assert_eq(crgw_json_parse_strict(deep, strlen(deep), 3, &j, &e), -1);
    crgw_diags_cleanup(&e);
    const char *badutf = "{\"a\": \"\xC3\x28\"}";
    cr_assert_eq(crgw_json_parse_strict(badutf, strlen(badutf), 0, &j, &e), -1);
    crgw_diags_cleanup(&e);
    /* brackets inside strings do not count as nesting */
    const char *str = "{\"a\": \"[[[[[[[[[[\"}";
    cr_assert_eq(crgw_json_parse_strict(str, strlen(str), 2, &j, &e), 0);
    json_decref(j);
    /* a real with more digits than a stack buffer holds reads as jansson reads it (fuzz find) */
    char longnum[300] = "{\"a\": ";
    memset(longnum + 6, '2', 200);
    memcpy(longnum + 206, ".79}", 5);
    cr_assert_eq(crgw_json_parse_strict(longnum, strlen(longnum), 0, &j, &e), 0);
    json_t *ref = json_loads(longnum, 0, NULL);
    cr_assert_not_null(ref);
    cr_assert(json_equal(j, ref));
    cr_assert(json_real_value(json_object_get(j, "a")) > 2e199);
    json_decref(ref);
    json_decref(j);
    /* a long integer is still refused as out of range, not truncated */
    longnum[206] = '}';
    longnum[207] = '\0';
    cr_assert_eq(crgw_json_parse_strict(longnum, strlen(longnum), 0, &j, &e), -1);
    cr_assert(strstr(e.v[0].message, "integer out of range") != NULL);
    crgw_diags_cleanup(&e);
}

Test(adapt_canonical, from_canonical_validates)
{
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &a, &errs), 0);
    char *buf;
    size_t len;
    cr_assert_eq(crgw_read_file("tests/fixtures/samples/jjj-xml.xml", 1 << 20, &buf, &len), 0);
    json_t *c = NULL;
    cr_assert_eq(crgw_translate_to_canonical(a, "jjj-xml", buf, len, NULL, &c, &warn, &errs), 0);
    char *out;
    size_t ol;
    json_t *bad = json_deep_copy(c);
    json_object_set_new(json_array_get(json_object_get(bad, "records"), 1), "severity",
                        json_string("catastrophic"));
    json_object_del(json_object_get(bad, "subject"), "name");
    json_object_set_new(bad, "issued_at", json_string("2026-11-18"));
    cr_assert_eq(crgw_translate_from_canonical(a, "cy-json", bad, NULL, &out, &ol, &warn, &errs),
                 -1);
    cr_assert(crgw_diags_has_path(&errs, "records[1].severity"));
    cr_assert(crgw_diags_has_path(&errs, "subject.name"));
    cr_assert(crgw_diags_has_path(&errs, "issued_at"));
    crgw_diags_cleanup(&errs);
    cr_assert_eq(crgw_translate_from_canonical(a, "nope", c, NULL, &out, &ol, &warn, &errs), -1);
    crgw_diags_cleanup(&errs);
    /* text XML cannot hold is an error, not a broken document */
    json_t *ctl = json_deep_copy(c);
    json_object_set_new(json_array_get(json_object_get(ctl, "records"), 0), "content",
                        json_string("bell \x07"));
    cr_assert_eq(crgw_translate_from_canonical(a, "jjj-xml", ctl, NULL, &out, &ol, &warn, &errs),
                 -1);
    cr_assert(crgw_diags_has_path(&errs, "records[0].content"));
    crgw_diags_cleanup(&errs);
    /* the same text goes into JSON, and XML special characters are escaped properly */
    json_object_set_new(json_array_get(json_object_get(ctl, "records"), 0), "content",
                        json_string("a < b & c > \"d\" ]]> --"));
    cr_assert_eq(crgw_translate_from_canonical(a, "jjj-xml", ctl, NULL, &out, &ol, &warn, &errs),
                 0);
    json_t *back = NULL;
    cr_assert_eq(crgw_translate_to_canonical(a, "jjj-xml", out, ol, NULL, &back, &warn, &errs), 0);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(back, "records"), 0), "content")),
                     "a < b & c > \"d\" ]]> --");
    free(out);
    json_decref(back);
    json_decref(ctl);
    json_decref(bad);
    json_decref(c);
    free(buf);
    crgw_diags_cleanup(&errs);
    crgw_diags_cleanup(&warn);
    crgw_adapters_free(a);
}

Test(adapt_canonical, provenance_comment_is_safe)
{
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &a, &errs), 0);
    char *buf;
    size_t len;
    cr_assert_eq(crgw_read_file("tests/fixtures/samples/cy-json.payload.json", 1 << 20, &buf,
                                &len),
                 0);
    json_t *c = NULL;
    cr_assert_eq(crgw_translate_to_canonical(a, "auto", buf, len, NULL, &c, &warn, &errs), 0);
    /* a hostile provenance value may not break out of the XML comment */
    json_object_set_new(json_object_get(c, "provenance"), "source_sha256",
                        json_string("--><evil/><!--"));
    char *out;
    size_t ol;
    cr_assert_eq(crgw_translate_from_canonical(a, "jjj-xml", c, NULL, &out, &ol, &warn, &errs), 0);
    json_t *back = NULL;
    crgw_diags_cleanup(&warn);
    cr_assert_eq(crgw_translate_to_canonical(a, "jjj-xml", out, ol, NULL, &back, &warn, &errs), 0);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(back, "provenance"), "origin"),
                         "source_sha256")),
                     "--><evil/><!--");
    cr_assert(!crgw_diags_has_path(&warn, "/XYBG/evil"), "no element was injected");
    cr_assert_eq(warn.n, 1, "only the translated-input warning");
    free(out);
    json_decref(back);
    json_decref(c);
    free(buf);
    crgw_diags_cleanup(&errs);
    crgw_diags_cleanup(&warn);
    crgw_adapters_free(a);
}

Test(adapt_parse, fast_dump_matches_jansson)
{
    const char *docs[] = {
        "{\"a\": [1, 2.5e3, -0.0, 1e-7, 123456789012, 1e300, 0.1, true, false, null, "
        "\"\\u00e9\\ud83d\\ude00 \\\" \\\\ / \\b\\f\\n\\r\\t \\u0001 \\u001f \\u007f\"],"
        " \"b\": {}, \"c\": [], \"d\": {\"e\": [[], {}], \"f\": -5}}",
        "[]",
        "{}",
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(docs); i++) {
        json_t *j = json_loads(docs[i], 0, NULL);
        cr_assert_not_null(j);
        for (int pretty = 0; pretty < 2; pretty++) {
            size_t n;
            char *a = crgw_json_dump(j, pretty, &n);
            char *b = json_dumps(j, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_ENCODE_ANY);
            cr_assert_str_eq(a, b);
            cr_assert_eq(n, strlen(b));
            free(a);
            free(b);
        }
        json_decref(j);
    }
    /* and on a canonical report */
    crgw_adapters *ad = NULL;
    crgw_diags errs = {0}, warn = {0};
    cr_assert_eq(crgw_adapters_load("adapters", &ad, &errs), 0);
    char *buf;
    size_t len;
    cr_assert_eq(crgw_read_file("tests/fixtures/samples/csj-xml.xml", 1 << 20, &buf, &len), 0);
    json_t *c = NULL;
    cr_assert_eq(crgw_translate_to_canonical(ad, "auto", buf, len, NULL, &c, &warn, &errs), 0);
    char *a = crgw_json_dump(c, 1, NULL), *b = json_dumps(c, JSON_INDENT(2));
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    json_decref(c);
    free(buf);
    crgw_adapters_free(ad);
    crgw_diags_cleanup(&warn);
}
