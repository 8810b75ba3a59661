/*
 * Hostile documents: signature wrapping, parser attacks, JWS attacks. Each case asserts its exact
 * verdict; none may pass. Wrapping and JWS cases are generated here from the valid fixtures
 * (they need real signatures); parser attacks are files in tests/unit/data/hostile/.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "tests/unit/test_modules.h"
#include "gateway/core/time.h"
#include "gateway/core/b64.h"
#include "gateway/verify/jws.h"
#include "gateway/core/util.h"
#include "gateway/verify/verify.h"

#define FIX "tests/fixtures/"
#define HOSTILE "tests/unit/data/hostile/"
#define NOW "2026-11-23T10:00:00+08:00"

static crgw_verifier *V;
static size_t n_cases;

static void setup(void)
{
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load("config/test/node-330100.yaml", crgw_test_modules, &cfg, &errs), 0);
    cr_assert_eq(crgw_verifier_new(cfg, &V, &errs), 0);
    crgw_config_unref(cfg);
}

static void teardown(void)
{
    crgw_verifier_free(V);
    V = NULL;
}

static char *slurp(const char *path, size_t *len)
{
    char *d = NULL;
    cr_assert_eq(crgw_read_file(path, 1 << 24, &d, len), 0, "%s", path);
    return d;
}

/* Asserts the verdict of one hostile document. */
static void expect(const char *name, const char *doc, size_t len, crgw_sub want)
{
    crgw_verify_opts o = {.scenario = NULL};
    cr_assert_eq(crgw_time_parse_rfc3339(NOW, 1, &o.at), 0);
    crgw_verify_outcome out;
    cr_assert_eq(crgw_verify_report(V, doc, len, &o, &out), 0);
    char *checks = json_dumps(json_object_get(out.verdict, "checks"), JSON_COMPACT);
    cr_expect_neq(out.sub, CRGW_SUB_NONE, "%s: hostile document PASSED", name);
    cr_expect_eq(out.sub, want, "%s: expected %s, got %s; %s", name, crgw_sub_name(want),
                 out.sub ? crgw_sub_name(out.sub) : "TOTAL_PASSED", checks);
    if (out.sub != CRGW_SUB_NONE && strcmp(crgw_sub_indication(out.sub), "TOTAL_FAILED") == 0)
        cr_expect_null(json_object_get(out.verdict, "report"),
                       "%s: a failed report's content must not be presented", name);
    free(checks);
    crgw_verify_outcome_cleanup(&out);
    n_cases++;
}

/* Replaces the first occurrence of from in doc by to (asserted present). */
static char *subst(const char *doc, const char *from, const char *to, size_t *len)
{
    const char *p = strstr(doc, from);
    cr_assert_not_null(p, "'%.40s' not found", from);
    size_t a = (size_t)(p - doc), fl = strlen(from), tl = strlen(to), dl = strlen(doc);
    char *out = xmalloc(dl - fl + tl + 1);
    memcpy(out, doc, a);
    memcpy(out + a, to, tl);
    memcpy(out + a + tl, p + fl, dl - a - fl + 1);
    *len = dl - fl + tl;
    return out;
}

/* The text between (and including) the first "<tag" and the matching "</tag>". */
static char *extract(const char *doc, const char *open, const char *close)
{
    const char *a = strstr(doc, open);
    cr_assert_not_null(a);
    const char *b = strstr(a, close);
    cr_assert_not_null(b);
    return xstrndup(a, (size_t)(b - a) + strlen(close));
}

static void xml_case(const char *name, const char *base, const char *from, const char *to,
                     crgw_sub want)
{
    size_t len;
    char *doc = subst(base, from, to, &len);
    expect(name, doc, len, want);
    free(doc);
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 60);

Test(hostile, xml_wrapping_and_profile)
{
    size_t l;
    char *jjj = slurp(FIX "reports/valid/120000.xml", &l);
    char *csj = slurp(FIX "reports/valid/310000.xml", &l);
    char *sig = extract(jjj, "<ds:Signature", "</ds:Signature>");
    char *si = extract(jjj, "<ds:SignedInfo>", "</ds:SignedInfo>");
    char *ref = extract(jjj, "<ds:Reference", "</ds:Reference>");
    char buf[16384];

    /* 1. a second report inside the signature (ds:Object), read by a naive adapter */
    xml_case("second report in ds:Object", jjj, "</ds:KeyInfo>",
             "</ds:KeyInfo><ds:Object><XYBG xmlns=\"urn:jjj:xyxx:bg:1\"><BGJBXX><BGBH>EVIL"
             "</BGBH></BGJBXX></XYBG></ds:Object>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 2. the signature moved into a child element */
    {
        size_t len;
        char *a = subst(jjj, sig, "", &len);
        snprintf(buf, sizeof(buf), "<BGJBXX>%s", sig);
        char *b = subst(a, "<BGJBXX>", buf, &len);
        expect("signature moved into a child", b, len, CRGW_SUB_FORMAT_FAILURE);
        free(a);
        free(b);
    }
    /* 3. two signatures */
    snprintf(buf, sizeof(buf), "%s\n  %s", sig, sig);
    xml_case("two ds:Signature", jjj, sig, buf, CRGW_SUB_FORMAT_FAILURE);
    /* 4. the signed report wrapped into a new document element with a forged report (the
     * csj-xml root name is GB18030: take its bytes from the document) */
    {
        const char *x = strstr(csj, " xmlns=\"urn:csj:credit:report:2\"");
        cr_assert_not_null(x);
        const char *lt = x;
        while (lt > csj && *lt != '<')
            lt--;
        char name[64], open[80], close[80];
        snprintf(name, sizeof(name), "%.*s", (int)(x - lt - 1), lt + 1);
        snprintf(open, sizeof(open), "<%s ", name);
        snprintf(close, sizeof(close), "</%s>", name);
        snprintf(buf, sizeof(buf), "<Wrap><Forged>x</Forged>%s", open);
        size_t len;
        char *a = subst(csj, open, buf, &len);
        snprintf(buf, sizeof(buf), "%s</Wrap>", close);
        char *b = subst(a, close, buf, &len);
        expect("wrapped in a new root (#Id reference)", b, len, CRGW_SUB_FORMAT_FAILURE);
        free(a);
        free(b);
    }
    /* 5. duplicate Id: a decoy element with the root's Id */
    xml_case("duplicate Id", csj, "<ds:Signature",
             "<decoy Id=\"R-310000-20261118-0001\"/><ds:Signature", CRGW_SUB_FORMAT_FAILURE);
    /* 6. two SignedInfo */
    snprintf(buf, sizeof(buf), "%s%s", si, si);
    xml_case("two SignedInfo", jjj, si, buf, CRGW_SUB_FORMAT_FAILURE);
    /* 7. two References */
    snprintf(buf, sizeof(buf), "%s%s", ref, ref);
    xml_case("two References", jjj, ref, buf, CRGW_SUB_FORMAT_FAILURE);
    /* 8. a comment inside the DigestValue (canonical text would skip it) */
    xml_case("comment in DigestValue", jjj, "<ds:DigestValue>KXZt",
             "<ds:DigestValue>KX<!-- x -->Zt", CRGW_SUB_FORMAT_FAILURE);
    /* 9. a comment inside the SignatureValue */
    xml_case("comment in SignatureValue", jjj, "<ds:SignatureValue>Gz",
             "<ds:SignatureValue><!---->Gz", CRGW_SUB_FORMAT_FAILURE);
    /* 10. a remote reference */
    xml_case("external Reference URI", jjj, "<ds:Reference URI=\"\">",
             "<ds:Reference URI=\"http://127.0.0.1:9/report.xml\">", CRGW_SUB_FORMAT_FAILURE);
    /* 11. a reference to another Id */
    xml_case("Reference to a non-root Id", csj, "URI=\"#R-310000-20261118-0001\"",
             "URI=\"#decoy\"", CRGW_SUB_FORMAT_FAILURE);
    /* 12. an XPath transform (accepted only in the xmlsec-suite test mode) */
    xml_case("XPath transform", jjj,
             "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
             "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath "
             "xmlns:dsig=\"http://www.w3.org/2000/09/xmldsig#\">not(ancestor-or-self::dsig:"
             "Signature)</ds:XPath></ds:Transform>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 13. an XSLT transform */
    xml_case("XSLT transform", jjj,
             "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
             "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 14. no enveloped-signature transform */
    xml_case("enveloped transform missing", jjj,
             "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
             "", CRGW_SUB_FORMAT_FAILURE);
    /* 15. HMAC as SignatureMethod */
    xml_case("HMAC SignatureMethod", jjj, "xmldsig-more#rsa-sha256\"/>",
             "xmldsig-more#hmac-sha256\"/>", CRGW_SUB_FORMAT_FAILURE);
    /* 16. RSA-SHA1 */
    xml_case("RSA-SHA1 SignatureMethod", jjj,
             "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
             "http://www.w3.org/2000/09/xmldsig#rsa-sha1", CRGW_SUB_FORMAT_FAILURE);
    /* 17. InclusiveNamespaces parameters on exclusive C14N */
    xml_case("InclusiveNamespaces", jjj,
             "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
             "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:"
             "InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" "
             "PrefixList=\"#default\"/></ds:Transform>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 18. a second report-like element appended to the signed root */
    xml_case("extra report element after signing", jjj, "</XYBG>",
             "<XYBG><BGJBXX><CJJGQH>110000</CJJGQH></BGJBXX></XYBG></XYBG>",
             CRGW_SUB_HASH_FAILURE);
    /* 19. C14N with comments */
    xml_case("C14N WithComments", jjj,
             "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
             "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/"
             "xml-exc-c14n#WithComments\"/>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 20. KeyInfo pointing elsewhere */
    xml_case("RetrievalMethod in KeyInfo", jjj, "<ds:X509Data>",
             "<ds:RetrievalMethod URI=\"http://127.0.0.1:9/key\"/><ds:X509Data>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 21. X509Data with an issuer/serial hint (could select another certificate) */
    xml_case("X509IssuerSerial", jjj, "<ds:X509Data>",
             "<ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>CN=x</ds:X509IssuerName>"
             "<ds:X509SerialNumber>1</ds:X509SerialNumber></ds:X509IssuerSerial>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 22. an XMLDSig element outside the signature */
    xml_case("ds element outside Signature", jjj, "<ZTXX>",
             "<ds:SignatureValue xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">x"
             "</ds:SignatureValue><ZTXX>",
             CRGW_SUB_FORMAT_FAILURE);
    /* 23. a processing instruction added before the root (URI="" covers it) */
    xml_case("PI added before the root", jjj, "<XYBG ",
             "<?xml-stylesheet href=\"http://127.0.0.1:9/x.xsl\"?>\n<XYBG ",
             CRGW_SUB_HASH_FAILURE);
    /* 24. XInclude is not processed: an include element is just changed content */
    xml_case("XInclude", jjj, "<ZTXX>",
             "<xi:include xmlns:xi=\"http://www.w3.org/2001/XInclude\" href=\"file:///etc/"
             "passwd\" parse=\"text\"/><ZTXX>",
             CRGW_SUB_HASH_FAILURE);
    /* 25. the GB18030 report declared as UTF-8 (bytes do not decode) */
    xml_case("encoding lie", csj, "encoding=\"GB18030\"", "encoding=\"UTF-8\"",
             CRGW_SUB_FORMAT_FAILURE);
    /* 26. an unknown attribute on Reference (Type pointing to a manifest) */
    xml_case("Reference Type Manifest", jjj, "<ds:Reference URI=\"\">",
             "<ds:Reference URI=\"\" Type=\"http://www.w3.org/2000/09/xmldsig#Manifest\">",
             CRGW_SUB_FORMAT_FAILURE);
    /* 27. an unbound ds prefix (libxml2 keeps "ds:Signature" as a plain name) */
    xml_case("unbound ds prefix", jjj, "<ds:Signature xmlns:ds=",
             "<ds:Signature xmlns:ds1=", CRGW_SUB_FORMAT_FAILURE);
    cr_expect_eq(n_cases, 27, "XML wrapping/profile cases run");
    free(sig);
    free(si);
    free(ref);
    free(jjj);
    free(csj);
}

Test(hostile, parser_attacks)
{
    static const char *const files[] = {"billion-laughs.xml", "xxe-file.xml", "external-dtd.xml",
                                        "parameter-entity.xml", "not-well-formed.xml"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(files); i++) {
        char p[256];
        size_t len;
        snprintf(p, sizeof(p), HOSTILE "%s", files[i]);
        char *d = slurp(p, &len);
        expect(files[i], d, len, CRGW_SUB_FORMAT_FAILURE);
        free(d);
    }
    /* deep nesting: 100000 levels */
    crgw_buf b;
    crgw_buf_init(&b, 1u << 22);
    crgw_buf_adds(&b, "<?xml version=\"1.0\"?>\n<XYBG xmlns=\"urn:jjj:xyxx:bg:1\">");
    for (int i = 0; i < 100000; i++)
        crgw_buf_adds(&b, "<a>");
    expect("deep nesting", b.data, b.len, CRGW_SUB_FORMAT_FAILURE);
    crgw_buf_cleanup(&b);
    /* not a report at all */
    expect("empty body", "", 0, CRGW_SUB_FORMAT_FAILURE);
    expect("binary", "\x00\x01\x02\xff", 4, CRGW_SUB_FORMAT_FAILURE);
    cr_expect_eq(n_cases, 8, "parser cases run");
}

/* ---- JWS ---- */

static EVP_PKEY *key_of(const char *node)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "pki/nodes/%s/signer.key.pem", node);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static char *cert_b64(const char *node, const char *file)
{
    char p[256];
    snprintf(p, sizeof(p), FIX "pki/nodes/%s/%s", node, file);
    FILE *f = fopen(p, "r");
    cr_assert_not_null(f);
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der);
    char *s = crgw_b64_encode(der, (size_t)n, NULL);
    OPENSSL_free(der);
    X509_free(c);
    return s;
}

/* The payload of the valid Chengdu report. */
static char *chengdu_payload(size_t *len)
{
    size_t l;
    char *d = slurp(FIX "reports/valid/510100.json", &l);
    crgw_jws j;
    cr_assert_eq(crgw_jws_parse(d, l, 0, &j), CRGW_JWS_OK);
    char *p = xstrndup((const char *)j.payload, j.payload_len);
    *len = j.payload_len;
    crgw_jws_cleanup(&j);
    free(d);
    return p;
}

/*
 * Builds a JWS with an arbitrary header; the signature is made with key (ES256-style r||s for
 * EC, or HMAC when hmac_key != NULL, or left empty when both are NULL).
 */
static char *build_jws(const char *header, const char *payload, size_t plen, EVP_PKEY *key,
                       const char *sig_alg, const unsigned char *hmac_key, size_t hmac_len,
                       int compact, const char *extra_member)
{
    char *hb = crgw_b64url_encode((const unsigned char *)header, strlen(header), NULL);
    char *pb = crgw_b64url_encode((const unsigned char *)payload, plen, NULL);
    crgw_buf in;
    crgw_buf_init(&in, 1u << 24);
    crgw_buf_printf(&in, "%s.%s", hb, pb);
    unsigned char *sig = NULL;
    size_t sl = 0;
    if (hmac_key != NULL) {
        sig = xmalloc(EVP_MAX_MD_SIZE);
        unsigned int hl = 0;
        HMAC(EVP_sha256(), hmac_key, (int)hmac_len, (unsigned char *)in.data, in.len, sig, &hl);
        sl = hl;
    } else if (key != NULL) {
        const crgw_sigalg *a = crgw_sigalg_by_jws(sig_alg);
        cr_assert_eq(crgw_sigalg_sign(a, key, (unsigned char *)in.data, in.len, a->jws_enc, &sig,
                                      &sl),
                     CRGW_SIGALG_OK);
    }
    char *sb = crgw_b64url_encode(sig ? sig : (const unsigned char *)"", sl, NULL);
    free(sig);
    crgw_buf out;
    crgw_buf_init(&out, 1u << 24);
    if (compact)
        crgw_buf_printf(&out, "%s.%s", in.data, sb);
    else
        crgw_buf_printf(&out, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"%s}",
                        hb, pb, sb, extra_member ? extra_member : "");
    crgw_buf_cleanup(&in);
    free(hb);
    free(pb);
    free(sb);
    return crgw_buf_take(&out, NULL);
}

Test(hostile, jws_attacks)
{
    size_t plen;
    char *payload = chengdu_payload(&plen);
    EVP_PKEY *k = key_of("510100");
    char *signer = cert_b64("510100", "signer.pem");
    char *ca = cert_b64("510100", "issuing-ca.pem");
    char hdr[8192];
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    /* control: the generator makes good reports */
    char *good = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    {
        crgw_verify_opts o = {0};
        crgw_time_parse_rfc3339(NOW, 1, &o.at);
        crgw_verify_outcome out;
        crgw_verify_report(V, good, strlen(good), &o, &out);
        cr_assert_eq(out.sub, CRGW_SUB_NONE, "control JWS must pass");
        crgw_verify_outcome_cleanup(&out);
    }
    char *d;
    /* 1. alg none, empty signature */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"none\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, NULL, NULL, NULL, 0, 0, NULL);
    expect("alg none", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 2. HS256 keyed with the signer certificate (public) bytes */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"HS256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, NULL, NULL, (const unsigned char *)signer, strlen(signer),
                  0, NULL);
    expect("HS256 with the certificate as key", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 3. crit with an extension nobody understands, correctly signed */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"crit\":[\"exp\"],\"exp\":1,"
             "\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("crit", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 4. x5c swap: signed by 510100, x5c claims 500000's signer */
    char *other = cert_b64("500000", "signer.pem");
    char *other_ca = cert_b64("500000", "issuing-ca.pem");
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             other, other_ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("x5c swapped", d, strlen(d), CRGW_SUB_SIG_CRYPTO_FAILURE);
    free(d);
    /* 5. compact with extra dots */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"EdDSA\",\"typ\":\"gba-credit-report+jws\",\"x5c\":[\"%s\"]}", signer);
    d = build_jws(hdr, payload, plen, NULL, NULL, NULL, 0, 1, NULL);
    crgw_buf b;
    crgw_buf_init(&b, 1u << 24);
    crgw_buf_printf(&b, "%sAAAA.AAAA", d);
    expect("compact with extra dots", b.data, b.len, CRGW_SUB_FORMAT_FAILURE);
    crgw_buf_cleanup(&b);
    free(d);
    /* 6. payload with a duplicated key (the second reportNo would win in a lax parser) */
    {
        size_t l2;
        char *dup = subst(payload, "\"reportNo\"", "\"reportNo\": \"CY-120000-EVIL\",\n  \"reportNo\"",
                          &l2);
        snprintf(hdr, sizeof(hdr),
                 "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
                 signer, ca);
        d = build_jws(hdr, dup, l2, k, "ES256", NULL, 0, 0, NULL);
        expect("payload duplicate key", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
        free(d);
        free(dup);
    }
    /* 7. duplicated key in the protected header (alg twice) */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"alg\":\"none\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\","
             "\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("header duplicate alg", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 8. unprotected header next to the protected one */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, ",\"header\":{\"kid\":\"x\"}");
    expect("unprotected header", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 9. an embedded jwk (attacker-chosen key) */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"jwk\":{\"kty\":\"EC\"},"
             "\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("embedded jwk", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 10. cy-json in the compact serialization */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 1, NULL);
    expect("wrong serialization for the dialect", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 11. wrong typ */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"x5c\":[\"%s\",\"%s\"]}", signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("wrong typ", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 12. alg confusion: RS256 claimed with an EC key/certificate */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"RS256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, payload, plen, k, "ES256", NULL, 0, 0, NULL);
    expect("RS256 with an EC certificate", d, strlen(d), CRGW_SUB_SIG_CRYPTO_FAILURE);
    free(d);
    /* 13. the general JSON serialization (several signatures) */
    {
        const char *p = strstr(good, "\"signature\":\"");
        cr_assert_not_null(p);
        crgw_buf_init(&b, 1u << 24);
        crgw_buf_printf(&b, "{\"payload\":%.*s,\"signatures\":[{\"protected\":%.*s,%s]}",
                        (int)(strstr(good, ",\"signature\"") - strstr(good, "\"payload\":") - 10),
                        strstr(good, "\"payload\":") + 10,
                        (int)(strstr(good, ",\"payload\"") - good - 13), good + 13, p);
        expect("general serialization", b.data, b.len, CRGW_SUB_FORMAT_FAILURE);
        crgw_buf_cleanup(&b);
    }
    /* 14. trailing garbage after the flattened object */
    crgw_buf_init(&b, 1u << 24);
    crgw_buf_printf(&b, "%s{}", good);
    expect("trailing garbage", b.data, b.len, CRGW_SUB_FORMAT_FAILURE);
    crgw_buf_cleanup(&b);
    /* 15. the signature DER-encoded instead of r||s */
    {
        const crgw_sigalg *a = crgw_sigalg_by_jws("ES256");
        char *hb = crgw_b64url_encode((const unsigned char *)hdr, strlen(hdr), NULL);
        free(hb);
        snprintf(hdr, sizeof(hdr),
                 "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
                 signer, ca);
        hb = crgw_b64url_encode((const unsigned char *)hdr, strlen(hdr), NULL);
        char *pb = crgw_b64url_encode((const unsigned char *)payload, plen, NULL);
        crgw_buf in;
        crgw_buf_init(&in, 1u << 24);
        crgw_buf_printf(&in, "%s.%s", hb, pb);
        unsigned char *sig;
        size_t sl;
        cr_assert_eq(crgw_sigalg_sign(a, k, (unsigned char *)in.data, in.len, CRGW_SIGENC_DER,
                                      &sig, &sl),
                     0);
        char *sb = crgw_b64url_encode(sig, sl, NULL);
        crgw_buf_init(&b, 1u << 24);
        crgw_buf_printf(&b, "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}", hb,
                        pb, sb);
        expect("DER ECDSA signature in JWS", b.data, b.len, CRGW_SUB_SIG_CRYPTO_FAILURE);
        crgw_buf_cleanup(&b);
        crgw_buf_cleanup(&in);
        free(hb);
        free(pb);
        free(sb);
        free(sig);
    }
    /* 16. base64 (not base64url) with padding in the payload member */
    {
        size_t l2;
        char *g = subst(good, "\"payload\":\"", "\"payload\":\"+/==", &l2);
        expect("payload in padded base64", g, l2, CRGW_SUB_FORMAT_FAILURE);
        free(g);
    }
    /* 17. no x5c: nothing to verify with */
    d = build_jws("{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\"}", payload, plen, k,
                  "ES256", NULL, 0, 0, NULL);
    expect("no x5c", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    /* 18. payload that is not JSON, correctly signed */
    snprintf(hdr, sizeof(hdr),
             "{\"alg\":\"ES256\",\"typ\":\"cy-credit-report+jws\",\"x5c\":[\"%s\",\"%s\"]}",
             signer, ca);
    d = build_jws(hdr, "\x01\x02 not json", 11, k, "ES256", NULL, 0, 0, NULL);
    expect("payload not JSON", d, strlen(d), CRGW_SUB_FORMAT_FAILURE);
    free(d);
    cr_expect_eq(n_cases, 18, "JWS cases run");
    free(good);
    free(other);
    free(other_ca);
    free(signer);
    free(ca);
    free(payload);
    EVP_PKEY_free(k);
}
