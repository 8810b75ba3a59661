/*
 * The whole verification (gateway/verify/verify.c) against the fixtures: every file of
 * reports/EXPECTED.tsv gets its verdict; recognition under the test federation's agreements;
 * sign + verify round trips for every dialect and algorithm, and one-byte changes that fail.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/pem.h>

#include "tests/unit/test_modules.h"
#include "gateway/core/time.h"
#include "gateway/translate/translate.h"
#include "gateway/core/b64.h"
#include "gateway/verify/jws.h"
#include "gateway/verify/trust.h"
#include "gateway/core/util.h"
#include "gateway/verify/verify.h"
#include "gateway/verify/xmldsig.h"

#define FIX "tests/fixtures/"
#define NOW "2026-11-23T10:00:00+08:00"

static crgw_verifier *verifier_for(const char *node)
{
    char path[256];
    snprintf(path, sizeof(path), "config/test/node-%s.yaml", node);
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load(path, crgw_test_modules, &cfg, &errs), 0, "%s: %s", path,
                 errs.n ? errs.v[0] : "");
    crgw_verifier *v = NULL;
    cr_assert_eq(crgw_verifier_new(cfg, &v, &errs), 0, "verifier: %s", errs.n ? errs.v[0] : "");
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
    return v;
}

static time_t at(const char *s)
{
    time_t t;
    cr_assert_eq(crgw_time_parse_rfc3339(s, 1, &t), 0, "%s", s);
    return t;
}

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    cr_assert_eq(crgw_read_file(path, 1 << 24, &d, len), 0, "%s", path);
    return d;
}

static crgw_sub verify_bytes(crgw_verifier *v, const char *buf, size_t len, const char *scenario,
                             const char *when, int *recognised, json_t **verdict)
{
    crgw_verify_opts o = {.scenario = scenario, .at = at(when)};
    crgw_verify_outcome out;
    cr_assert_eq(crgw_verify_report(v, buf, len, &o, &out), 0);
    crgw_sub s = out.sub;
    if (recognised != NULL)
        *recognised = out.recognised;
    if (verdict != NULL)
        *verdict = json_incref(out.verdict);
    crgw_verify_outcome_cleanup(&out);
    return s;
}

static crgw_sub verify_path(crgw_verifier *v, const char *path, const char *scenario,
                            const char *when, int *recognised, json_t **verdict)
{
    size_t len;
    char *d = slurp(path, &len);
    crgw_sub s = verify_bytes(v, d, len, scenario, when, recognised, verdict);
    free(d);
    return s;
}

Test(verify_report, expected_tsv)
{
    crgw_verifier *v = verifier_for("330100");
    size_t len;
    char *tsv = slurp(FIX "reports/EXPECTED.tsv", &len);
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(tsv, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "file\t", 5) == 0)
            continue;
        char *cols[5] = {0};
        char *p = line;
        for (int i = 0; i < 5 && p != NULL; i++) {
            cols[i] = p;
            p = strchr(p, '\t');
            if (p != NULL)
                *p++ = '\0';
        }
        char path[512];
        snprintf(path, sizeof(path), FIX "reports/%s", cols[0]);
        json_t *verdict = NULL;
        crgw_sub s = verify_path(v, path, NULL, NOW, NULL, &verdict);
        const char *main_ind = crgw_sub_indication(s);
        const char *sub = s == CRGW_SUB_NONE ? "-" : crgw_sub_name(s);
        char got[128], also[128];
        snprintf(got, sizeof(got), "%s/%s", main_ind, sub);
        snprintf(also, sizeof(also), "%s", cols[3] ? cols[3] : "-");
        int ok = (strcmp(main_ind, cols[1]) == 0 && strcmp(sub, cols[2]) == 0) ||
                 strcmp(got, also) == 0;
        char *dump = json_dumps(json_object_get(verdict, "checks"), JSON_COMPACT);
        cr_expect(ok, "%s: expected %s/%s (or %s), got %s; checks %s", cols[0], cols[1], cols[2],
                  also, got, dump);
        free(dump);
        /* the answer's own fields agree with the outcome */
        cr_expect_str_eq(json_string_value(json_object_get(verdict, "indication")), main_ind);
        if (s == CRGW_SUB_NONE) {
            cr_expect(json_is_null(json_object_get(verdict, "subindication")));
            cr_expect(json_is_object(json_object_get(verdict, "report")), "%s", cols[0]);
            json_t *signer = json_object_get(verdict, "signer");
            cr_expect_str_eq(json_string_value(json_object_get(signer, "node")),
                             json_string_value(json_object_get(verdict, "issuer_node")));
        }
        json_decref(verdict);
        n++;
    }
    cr_expect_eq(n, 33, "EXPECTED.tsv lists 33 files");
    free(tsv);
    crgw_verifier_free(v);
}

Test(verify_report, revocation_after_issue_is_no_poe_and_expiry_later)
{
    crgw_verifier *v = verifier_for("120000");
    /* 120000-revoked was revoked 2025-06-01; as of 2025-05-01 (report claims a 2026 issue
     * time, after the evaluation time) the verdict cannot be a pass either */
    cr_expect_neq(verify_path(v, FIX "reports/invalid/revoked-signer.120000.xml", NULL,
                              "2025-05-01T00:00:00+08:00", NULL, NULL),
                  CRGW_SUB_NONE);
    /* a valid report evaluated after the signer's notAfter (2035-12-31) */
    cr_expect_eq(verify_path(v, FIX "reports/valid/120000.xml", NULL, "2036-01-02T00:00:00+08:00",
                             NULL, NULL),
                 CRGW_SUB_OUT_OF_BOUNDS_NO_POE);
    /* after the CRLs' nextUpdate (2035-12-31 23:59) but before the signer expires: no */
    crgw_verifier_free(v);
}

Test(verify_report, recognition)
{
    int rec = -1;
    json_t *vd = NULL;
    crgw_verifier *v = verifier_for("510100");
    /* chengyu: 500000 -> 510100, tender from 2026-01-01, 30 days, coverage */
    cr_expect_eq(verify_path(v, FIX "reports/valid/500000.json", "tender", NOW, &rec, &vd),
                 CRGW_SUB_NONE);
    cr_expect_eq(rec, 1);
    json_t *r = json_object_get(vd, "recognition");
    cr_expect_str_eq(json_string_value(json_object_get(r, "agreement")), "chengyu");
    cr_expect_eq(json_array_size(json_object_get(r, "reasons")), 0);
    json_decref(vd);
    /* 35 days after issue: too old for chengyu (30 days) and past valid_until */
    verify_path(v, FIX "reports/valid/500000.json", "tender", "2026-12-23T10:00:00+08:00", &rec,
                &vd);
    cr_expect_eq(rec, 0);
    char *dump = json_dumps(json_object_get(vd, "recognition"), JSON_COMPACT);
    cr_expect(strstr(dump, "at most 30") != NULL, "%s", dump);
    free(dump);
    json_decref(vd);
    /* a scenario chengyu does not list */
    verify_path(v, FIX "reports/valid/500000.json", "lottery", NOW, &rec, &vd);
    cr_expect_eq(rec, 0);
    json_decref(vd);
    /* Guangzhou's report in Chengdu: no agreement */
    cr_expect_eq(verify_path(v, FIX "reports/valid/440100.jws", "tender", NOW, &rec, &vd),
                 CRGW_SUB_NONE);
    cr_expect_eq(rec, 0);
    cr_expect(json_is_null(json_object_get(json_object_get(vd, "recognition"), "agreement")));
    json_decref(vd);
    /* a failed verdict is never recognised */
    verify_path(v, FIX "reports/invalid/tampered-content.510100.json", "tender", NOW, &rec, &vd);
    cr_expect_eq(rec, 0);
    json_decref(vd);
    /* no scenario: no recognition member */
    verify_path(v, FIX "reports/valid/500000.json", NULL, NOW, &rec, &vd);
    cr_expect_eq(rec, -1);
    cr_expect_null(json_object_get(vd, "recognition"));
    json_decref(vd);
    crgw_verifier_free(v);

    v = verifier_for("330100");
    cr_expect_eq(verify_path(v, FIX "reports/valid/310000.xml", "tender", NOW, &rec, NULL),
                 CRGW_SUB_NONE);
    cr_expect_eq(rec, 1, "csj: 310000 -> 330100");
    verify_path(v, FIX "reports/valid/120000.xml", "tender", NOW, &rec, NULL);
    cr_expect_eq(rec, 0, "no report agreement between 120000 and 330100 (repair only)");
    crgw_verifier_free(v);

    v = verifier_for("440300");
    verify_path(v, FIX "reports/valid/440100.jws", "subsidy", NOW, &rec, NULL);
    cr_expect_eq(rec, 1, "gba");
    crgw_verifier_free(v);
}

/* ---- sign round trips ---- */

static EVP_PKEY *load_key(const char *node)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "pki/nodes/%s/signer.key.pem", node);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(k);
    return k;
}

static X509 *load_cert(const char *node, const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "pki/nodes/%s/%s", node, name);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f, "%s", p);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(c);
    return c;
}

/* The unsigned form of a valid fixture: XML without ds:Signature, or the JWS payload. */
static char *unsigned_form(const char *node, const char *ext, size_t *len, int *is_xml)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "reports/valid/%s.%s", node, ext);
    size_t l;
    char *d = slurp(p, &l);
    *is_xml = strcmp(ext, "xml") == 0;
    if (!*is_xml) {
        crgw_jws j;
        cr_assert_eq(crgw_jws_parse(d, l, 0, &j), CRGW_JWS_OK);
        char *out = xmalloc(j.payload_len + 1);
        memcpy(out, j.payload, j.payload_len + 1);
        *len = j.payload_len;
        crgw_jws_cleanup(&j);
        free(d);
        return out;
    }
    crgw_diags dg = {0};
    xmlDocPtr doc = NULL;
    cr_assert_eq(crgw_xml_parse_strict(d, l, 0, &doc, &dg), 0);
    free(d);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr n = root->children; n != NULL; n = n->next)
        if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST "Signature")) {
            xmlNodePtr prev = n->prev;
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            if (prev != NULL && prev->type == XML_TEXT_NODE) {
                xmlUnlinkNode(prev);
                xmlFreeNode(prev);
            }
            break;
        }
    char *out = NULL;
    cr_assert_eq(crgw_xmldsig_serialize(doc, &out, len), 0);
    xmlFreeDoc(doc);
    return out;
}

static char *sign_doc(const char *node, const char *ext, const char *dialect, const char *alg,
                      const char *keynode, size_t *out_len)
{
    size_t len;
    int is_xml;
    char *in = unsigned_form(node, ext, &len, &is_xml);
    EVP_PKEY *k = load_key(keynode);
    X509 *c = load_cert(keynode, "signer.pem");
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, load_cert(keynode, "issuing-ca.pem"));
    char *out = NULL;
    if (is_xml) {
        crgw_diags dg = {0};
        xmlDocPtr doc = NULL;
        cr_assert_eq(crgw_xml_parse_strict(in, len, 0, &doc, &dg), 0);
        const crgw_sigalg *sa = crgw_sigalg_by_jws(alg);
        crgw_xmldsig_sign_opts so = {.alg = alg,
                                     .digest = sa->kind == CRGW_SIGKIND_SM2 ? "SM3" : "SHA256",
                                     .ref_by_id = strcmp(dialect, "csj-xml") == 0};
        char err[256];
        cr_assert_eq(crgw_xmldsig_sign(doc, k, c, NULL, &so, err, sizeof(err)), CRGW_XMLDSIG_OK,
                     "%s", err);
        cr_assert_eq(crgw_xmldsig_serialize(doc, &out, out_len), 0);
        xmlFreeDoc(doc);
    } else {
        STACK_OF(X509) *x5c = sk_X509_new_null();
        sk_X509_push(x5c, c);
        sk_X509_push(x5c, sk_X509_value(chain, 0));
        const char *typ = strcmp(dialect, "cy-json") == 0 ? "cy-credit-report+jws"
                                                          : "gba-credit-report+jws";
        cr_assert_eq(crgw_jws_sign(k, alg, typ, x5c, in, len,
                                   strcmp(dialect, "gba-json") == 0 ? CRGW_JWS_COMPACT
                                                                    : CRGW_JWS_FLATTENED,
                                   &out, out_len),
                     CRGW_JWS_OK);
        sk_X509_free(x5c);
    }
    sk_X509_pop_free(chain, X509_free);
    X509_free(c);
    EVP_PKEY_free(k);
    free(in);
    return out;
}

/* Root start in an XML document: the first '<' not opening a declaration or a comment. */
static size_t root_start(const char *d, size_t len)
{
    size_t i = 0;
    while (i + 1 < len && !(d[i] == '<' && d[i + 1] != '?' && d[i + 1] != '!'))
        i++;
    return i;
}

static void roundtrip(crgw_verifier *v, const char *node, const char *ext, const char *dialect,
                      const char *alg, size_t step)
{
    size_t len;
    char *doc = sign_doc(node, ext, dialect, alg, node, &len);
    json_t *vd = NULL;
    crgw_sub s = verify_bytes(v, doc, len, NULL, NOW, NULL, &vd);
    char *dump = json_dumps(json_object_get(vd, "checks"), JSON_COMPACT);
    cr_expect_eq(s, CRGW_SUB_NONE, "%s %s: %s", node, alg, dump);
    free(dump);
    json_decref(vd);
    size_t start = strcmp(ext, "xml") == 0 ? root_start(doc, len) : 0;
    size_t passed = 0, tried = 0;
    for (size_t i = start; i < len; i += step) {
        char saved = doc[i];
        doc[i] = (char)(saved ^ 0x01);
        crgw_sub r = verify_bytes(v, doc, len, NULL, NOW, NULL, NULL);
        doc[i] = saved;
        tried++;
        if (r == CRGW_SUB_NONE) {
            passed++;
            cr_log_error("%s %s: byte %zu (0x%02x) changed, still TOTAL_PASSED", node, alg, i,
                         (unsigned char)saved);
        }
    }
    cr_expect_eq(passed, 0, "%s %s: %zu of %zu one-byte changes passed", node, alg, passed,
                 tried);
    cr_expect_gt(tried, 100);
    free(doc);
}

Test(verify_report, sign_roundtrip_every_dialect, .timeout = 120)
{
    crgw_verifier *v = verifier_for("330100");
    roundtrip(v, "120000", "xml", "jjj-xml", "RS256", 5);
    roundtrip(v, "130100", "xml", "jjj-xml", "PS256", 11);
    roundtrip(v, "330100", "xml", "csj-xml", "SM2-SM3", 5);
    roundtrip(v, "510100", "json", "cy-json", "ES256", 5);
    roundtrip(v, "440300", "jws", "gba-json", "EdDSA", 5);
    crgw_verifier_free(v);
}

/* Re-issues Chongqing's report with edits to the payload text (a platform issuing it). */
static char *reissue_500000(const char *const *edits, size_t n_edits, size_t *out_len)
{
    size_t len;
    int is_xml;
    char *payload = unsigned_form("500000", "json", &len, &is_xml);
    for (size_t i = 0; i + 1 < n_edits; i += 2) {
        char *p = strstr(payload, edits[i]);
        cr_assert_not_null(p, "%s", edits[i]);
        crgw_buf b;
        crgw_buf_init(&b, 1u << 20);
        crgw_buf_add(&b, payload, (size_t)(p - payload));
        crgw_buf_adds(&b, edits[i + 1]);
        crgw_buf_adds(&b, p + strlen(edits[i]));
        free(payload);
        payload = crgw_buf_take(&b, &len);
    }
    EVP_PKEY *k = load_key("500000");
    STACK_OF(X509) *x5c = sk_X509_new_null();
    sk_X509_push(x5c, load_cert("500000", "signer.pem"));
    sk_X509_push(x5c, load_cert("500000", "issuing-ca.pem"));
    char *out = NULL;
    cr_assert_eq(crgw_jws_sign(k, "ES256", "cy-credit-report+jws", x5c, payload, len,
                               CRGW_JWS_FLATTENED, &out, out_len),
                 CRGW_JWS_OK);
    sk_X509_pop_free(x5c, X509_free);
    EVP_PKEY_free(k);
    free(payload);
    return out;
}

Test(verify_report, recognition_phases_of_chengyu)
{
    /* issued 2025-12-01: tender is recognised under chengyu only from 2026-01-01 */
    static const char *const edits[] = {"2026-11-18T10:30:00+08:00", "2025-12-01T10:30:00+08:00",
                                        "\"2026-12-18\"", "\"2025-12-31\""};
    size_t len;
    char *doc = reissue_500000(edits, CRGW_ARRAY_LEN(edits), &len);
    crgw_verifier *v = verifier_for("510100");
    int rec = -1;
    json_t *vd = NULL;
    cr_expect_eq(verify_bytes(v, doc, len, "tender", "2025-12-05T09:00:00+08:00", &rec, &vd),
                 CRGW_SUB_NONE);
    cr_expect_eq(rec, 0);
    char *dump = json_dumps(json_object_get(vd, "recognition"), JSON_COMPACT);
    cr_expect(strstr(dump, "only from 2026-01-01") != NULL, "%s", dump);
    free(dump);
    json_decref(vd);
    /* listing has been in force since 2025-01-01, subsidy since 2025-07-01 */
    verify_bytes(v, doc, len, "listing", "2025-12-05T09:00:00+08:00", &rec, NULL);
    cr_expect_eq(rec, 1);
    verify_bytes(v, doc, len, "subsidy", "2025-12-05T09:00:00+08:00", &rec, NULL);
    cr_expect_eq(rec, 1);
    /* once the tender phase started, a 30-day-old report is too old: 2026-01-05 is 35 days */
    verify_bytes(v, doc, len, "tender", "2026-01-05T09:00:00+08:00", &rec, &vd);
    cr_expect_eq(rec, 0);
    json_decref(vd);
    free(doc);
    crgw_verifier_free(v);
}

Test(verify_report, public_report_and_missing_coverage_under_chengyu)
{
    crgw_verifier *v = verifier_for("510100");
    int rec = -1;
    json_t *vd = NULL;
    /* chengyu recognises special reports only */
    static const char *const pub[] = {"SPECIAL_CREDIT_REPORT", "PUBLIC_CREDIT_REPORT"};
    size_t len;
    char *doc = reissue_500000(pub, CRGW_ARRAY_LEN(pub), &len);
    cr_expect_eq(verify_bytes(v, doc, len, "tender", NOW, &rec, &vd), CRGW_SUB_NONE);
    cr_expect_eq(rec, 0);
    char *dump = json_dumps(json_object_get(vd, "recognition"), JSON_COMPACT);
    cr_expect(strstr(dump, "does not cover public_credit_report") != NULL, "%s", dump);
    free(dump);
    json_decref(vd);
    free(doc);
    /* without a criminal-record section the report does not cover criminal_judgment */
    static const char *const nocrim[] = {"  \"criminalRecord\": \"NONE\",\n", ""};
    doc = reissue_500000(nocrim, CRGW_ARRAY_LEN(nocrim), &len);
    cr_expect_eq(verify_bytes(v, doc, len, "tender", NOW, &rec, &vd), CRGW_SUB_NONE);
    cr_expect_eq(rec, 0);
    dump = json_dumps(json_object_get(vd, "recognition"), JSON_COMPACT);
    cr_expect(strstr(dump, "requires coverage of criminal_judgment") != NULL, "%s", dump);
    free(dump);
    json_decref(vd);
    free(doc);
    crgw_verifier_free(v);
}

Test(verify_report, natural_person_report_content_omitted)
{
    static const char *const np[] = {"\"type\": \"LEGAL_PERSON\"", "\"type\": \"NATURAL_PERSON\"",
                                     "    \"creditCode\": \"91120116MA06T8E28X\",\n", ""};
    size_t len;
    char *doc = reissue_500000(np, CRGW_ARRAY_LEN(np), &len);
    crgw_verifier *v = verifier_for("510100");
    json_t *vd = NULL;
    crgw_sub s = verify_bytes(v, doc, len, NULL, NOW, NULL, &vd);
    char *dump = json_dumps(json_object_get(vd, "checks"), JSON_COMPACT);
    cr_expect_eq(s, CRGW_SUB_NONE, "%s", dump);
    free(dump);
    cr_expect_null(json_object_get(vd, "report"), "no canonical report for a natural person");
    cr_expect_str_eq(json_string_value(json_object_get(vd, "issuer_node")), "500000");
    json_decref(vd);
    free(doc);
    crgw_verifier_free(v);
}

Test(verify_report, signer_of_another_dialects_algorithm_is_refused)
{
    /* 120000 allows RS256/PS256 only: an ES256 signature by a P-256 key is refused by policy
     * even before the chain (which fails too: 510100's signer) */
    crgw_verifier *v = verifier_for("330100");
    size_t len;
    char *doc = sign_doc("120000", "xml", "jjj-xml", "ES256", "510100", &len);
    json_t *vd = NULL;
    crgw_sub s = verify_bytes(v, doc, len, NULL, NOW, NULL, &vd);
    cr_expect_neq(s, CRGW_SUB_NONE);
    char *dump = json_dumps(json_object_get(vd, "checks"), JSON_COMPACT);
    cr_expect(strstr(dump, "not in the allow-list of node 120000") != NULL, "%s", dump);
    free(dump);
    json_decref(vd);
    free(doc);
    crgw_verifier_free(v);
}

Test(verify_report, chain_memo_hits_and_trust_version)
{
    crgw_verifier *v = verifier_for("330100");
    for (int i = 0; i < 3; i++)
        cr_expect_eq(verify_path(v, FIX "reports/valid/310000.xml", NULL, NOW, NULL, NULL),
                     CRGW_SUB_NONE);
    uint64_t hits, misses;
    crgw_trust_memo_stats(crgw_verifier_trust(v), &hits, &misses);
    cr_expect_eq(misses, 1);
    cr_expect_eq(hits, 2);
    cr_expect_eq(strlen(crgw_verifier_trust_version(v)), 64);
    const char *a = crgw_trust_node_version(crgw_verifier_trust(v), "310000");
    const char *b = crgw_trust_node_version(crgw_verifier_trust(v), "330100");
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_expect_str_neq(a, b);
    cr_expect_null(crgw_trust_node_version(crgw_verifier_trust(v), "999999"));
    crgw_verifier_free(v);
}

Test(verify_report, times)
{
    time_t t;
    cr_expect_eq(crgw_time_parse_rfc3339("2026-11-18T10:30:00+08:00", 1, &t), 0);
    cr_expect_eq(t, 1794969000);
    cr_expect_eq(crgw_time_parse_rfc3339("2026-11-18T02:30:00Z", 1, &t), 0);
    cr_expect_eq(t, 1794969000);
    cr_expect_eq(crgw_time_parse_rfc3339("2026-11-18T02:30:00.123Z", 1, &t), 0);
    cr_expect_eq(crgw_time_parse_rfc3339("2026-11-18", 1, &t), 0);
    cr_expect_eq(t, 1794931200);
    cr_expect_neq(crgw_time_parse_rfc3339("2026-02-30", 1, &t), 0);
    cr_expect_neq(crgw_time_parse_rfc3339("2026-11-18T10:30:00", 1, &t), 0, "no offset");
    cr_expect_neq(crgw_time_parse_rfc3339("2026-11-18T10:30", 1, &t), 0);
    char buf[40];
    crgw_time_format_rfc3339(1794969000, buf, sizeof(buf));
    cr_expect_str_eq(buf, "2026-11-18T10:30:00+08:00");
}
