#include "gateway/verify/verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "gateway/core/b64.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/core/x509.h"
#include "gateway/translate/translate.h"
#include "gateway/verify/certcache.h"
#include "gateway/verify/jws.h"
#include "gateway/verify/trust.h"
#include "gateway/verify/xmldsig.h"

#define TZ_OFFSET (8 * 3600) /* the API's zone, +08:00 */

struct crgw_verifier {
    crgw_config *cfg;
    crgw_trust *trust;
    crgw_adapters *adapters;
    const char **uscc_legacy;
};

/* What each dialect's JWS must look like (serialization and typ); other dialects: no rule. */
static const struct {
    const char *dialect;
    crgw_jws_form form;
    const char *typ;
} jws_dialects[] = {
    {"cy-json", CRGW_JWS_FLATTENED, "cy-credit-report+jws"},
    {"gba-json", CRGW_JWS_COMPACT, "gba-credit-report+jws"},
};

static void silent_error(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

int crgw_verifier_new(crgw_config *cfg, crgw_verifier **out, crgw_errs *errs)
{
    crgw_verifier *v = xcalloc(1, sizeof(*v));
    /* libxml2 reports C14N trouble on stderr; verdicts carry the reasons instead */
    xmlSetGenericErrorFunc(NULL, silent_error);
    if (crgw_trust_new(cfg, &v->trust, errs) != 0) {
        free(v);
        return -1;
    }
    crgw_diags d = {0};
    const char *dir = cfg->adapters_dir ? cfg->adapters_dir : "adapters";
    if (crgw_adapters_load(dir, &v->adapters, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            crgw_errs_add(errs, "%s", d.v[i].message);
        if (d.n == 0)
            crgw_errs_add(errs, "%s: cannot load adapters", dir);
        crgw_diags_cleanup(&d);
        crgw_trust_free(v->trust);
        free(v);
        return -1;
    }
    crgw_diags_cleanup(&d);
    v->uscc_legacy = xcalloc(cfg->uscc_legacy.n + 1, sizeof(char *));
    for (size_t i = 0; i < cfg->uscc_legacy.n; i++)
        v->uscc_legacy[i] = cfg->uscc_legacy.v[i];
    v->cfg = crgw_config_ref(cfg);
    *out = v;
    return 0;
}

void crgw_verifier_free(crgw_verifier *v)
{
    if (v != NULL) {
        crgw_trust_free(v->trust);
        crgw_adapters_free(v->adapters);
        free(v->uscc_legacy);
        crgw_config_unref(v->cfg);
        free(v);
    }
}

crgw_config *crgw_verifier_config(const crgw_verifier *v)
{
    return v->cfg;
}

crgw_trust *crgw_verifier_trust(const crgw_verifier *v)
{
    return v->trust;
}

crgw_adapters *crgw_verifier_adapters(const crgw_verifier *v)
{
    return v->adapters;
}

const char *crgw_verifier_trust_version(const crgw_verifier *v)
{
    return crgw_trust_version(v->trust);
}

/* ---- time ---- */

static void local_date(time_t t, char out[11])
{
    time_t local = t + TZ_OFFSET;
    struct tm tm;
    gmtime_r(&local, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static void min_time(time_t *acc, time_t t)
{
    if (t > 0 && (*acc == 0 || t < *acc))
        *acc = t;
}

/* ---- helpers ---- */

static const char *jstr(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

typedef struct {
    char *out;
    size_t len;
} node_out;

/* the first urn:crgw:node:XX name (XX of 1..25 bytes) */
static int node_of_uri(const char *u, size_t ul, void *arg)
{
    node_out *o = arg;
    if (ul > 14 && ul < 40 && memcmp(u, "urn:crgw:node:", 14) == 0) {
        snprintf(o->out, o->len, "%.*s", (int)ul - 14, u + 14);
        return 1;
    }
    return 0;
}

static void san_node(X509 *c, char *out, size_t len)
{
    out[0] = '\0';
    node_out o = {out, len};
    crgw_x509_san_uris(c, node_of_uri, &o);
}

static char *diags_text(const crgw_diags *d, size_t max)
{
    crgw_buf b;
    crgw_buf_init(&b, 2048);
    for (size_t i = 0; i < d->n && i < max; i++)
        crgw_buf_printf(&b, "%s%s: %s", i ? "; " : "", d->v[i].path ? d->v[i].path : "$",
                        d->v[i].message);
    if (d->n > max)
        crgw_buf_printf(&b, "; and %zu more", d->n - max);
    return crgw_buf_take(&b, NULL);
}

/* ---- the signature part: fills the state below ---- */

typedef struct {
    crgw_checks checks;
    const crgw_sigalg *alg;
    X509 *signer;           /* borrowed from xr / jws */
    STACK_OF(X509) * extra; /* borrowed */
    const char *dialect;
    json_t *canon; /* canonical report when translated */
    xmlDocPtr doc;
    crgw_xmldsig_result xr;
    crgw_jws jws;
    int is_jws;
} vstate;

static void translated(vstate *s, int rc, crgw_diags *warn, crgw_diags *errs)
{
    if (rc == 0)
        s->dialect = jstr(s->canon, "dialect", NULL);
    if (rc != 0) {
        char *t = diags_text(errs, 5);
        crgw_checks_add(&s->checks, "translation", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE, "%s",
                        t);
        free(t);
    } else if (warn->n > 0) {
        char *t = diags_text(warn, 5);
        crgw_checks_add(&s->checks, "translation", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                        "%s, %zu warning(s): %s", s->dialect, warn->n, t);
        free(t);
    } else {
        crgw_checks_add(&s->checks, "translation", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "%s",
                        s->dialect);
    }
}

/* The serialization and typ the report's dialect uses (known dialects only). */
static void check_jws_dialect(vstate *s)
{
    for (size_t i = 0; s->dialect != NULL && i < CRGW_ARRAY_LEN(jws_dialects); i++) {
        if (strcmp(jws_dialects[i].dialect, s->dialect) != 0)
            continue;
        if (s->jws.form != jws_dialects[i].form)
            crgw_checks_add(&s->checks, "jws_profile", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                            "%s reports use the %s JWS serialization", s->dialect,
                            jws_dialects[i].form == CRGW_JWS_COMPACT ? "compact" : "flattened");
        else if (s->jws.typ == NULL || strcmp(s->jws.typ, jws_dialects[i].typ) != 0)
            crgw_checks_add(&s->checks, "jws_profile", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                            "%s reports have typ %s", s->dialect, jws_dialects[i].typ);
        else
            crgw_checks_add(&s->checks, "jws_profile", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                            "%s, typ %s", s->dialect, s->jws.typ);
    }
}

static crgw_translate_opts topts(crgw_verifier *v)
{
    crgw_translate_opts o = {0};
    o.translated_by = v->cfg->node;
    o.uscc_legacy = v->uscc_legacy;
    o.n_uscc_legacy = v->cfg->uscc_legacy.n;
    o.max_depth = v->cfg->limits.max_doc_depth;
    o.max_bytes = v->cfg->limits.max_body;
    return o;
}

static void verify_xml(crgw_verifier *v, vstate *s, const char *buf, size_t len,
                       const unsigned char sha[32])
{
    crgw_diags d = {0};
    if (crgw_xml_parse_strict(buf, len, v->cfg->limits.max_doc_depth, &s->doc, &d) != 0) {
        char *t = diags_text(&d, 3);
        crgw_checks_add(&s->checks, "parse", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "XML refused: %s", t);
        free(t);
        crgw_diags_cleanup(&d);
        return;
    }
    crgw_diags_cleanup(&d);
    crgw_checks_add(&s->checks, "parse", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "XML");
    crgw_xmldsig_opts xo = {.max_depth = v->cfg->limits.max_doc_depth};
    int rc = crgw_xmldsig_verify(s->doc, &xo, &s->xr);
    s->alg = s->xr.alg;
    s->signer = s->xr.signer;
    s->extra = s->xr.extra;
    switch (rc) {
    case CRGW_XMLDSIG_OK:
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                        "XMLDSig enveloped, %s, digest %s", s->alg->jws, s->xr.digest);
        crgw_checks_add(&s->checks, "reference_digest", CRGW_CHECK_PASSED, CRGW_SUB_NONE, NULL);
        crgw_checks_add(&s->checks, "signature", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "%s",
                        s->alg->jws);
        break;
    case CRGW_ERR_DIGEST:
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_PASSED, CRGW_SUB_NONE, NULL);
        crgw_checks_add(&s->checks, "reference_digest", CRGW_CHECK_FAILED, CRGW_SUB_HASH_FAILURE,
                        "%s", s->xr.err);
        break;
    case CRGW_ERR_SIG:
    case CRGW_ERR_KEY:
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_PASSED, CRGW_SUB_NONE, NULL);
        crgw_checks_add(&s->checks, "reference_digest", CRGW_CHECK_PASSED, CRGW_SUB_NONE, NULL);
        crgw_checks_add(&s->checks, "signature", CRGW_CHECK_FAILED, CRGW_SUB_SIG_CRYPTO_FAILURE,
                        "%s", s->xr.err);
        break;
    default:
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "%s", s->xr.err);
        return;
    }
    crgw_diags warn = {0}, errs = {0};
    crgw_translate_opts o = topts(v);
    /* dialect "auto": the adapter recognises the covered root element itself */
    rc =
        crgw_translate_xml_node(v->adapters, NULL, s->xr.covered, sha, &o, &s->canon, &warn, &errs);
    translated(s, rc, &warn, &errs);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
}

static void verify_jws(crgw_verifier *v, vstate *s, const char *buf, size_t len,
                       const unsigned char sha[32])
{
    s->is_jws = 1;
    int rc = crgw_jws_parse(buf, len, 0, &s->jws);
    if (rc != CRGW_JWS_OK) {
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "%s", s->jws.err);
        return;
    }
    s->alg = s->jws.alg;
    if (s->jws.x5c == NULL) {
        crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "JWS header has no x5c signer certificate");
        return;
    }
    s->signer = sk_X509_value(s->jws.x5c, 0);
    s->extra = sk_X509_new_null();
    for (int i = 1; i < sk_X509_num(s->jws.x5c); i++)
        sk_X509_push(s->extra, sk_X509_value(s->jws.x5c, i));

    crgw_checks_add(&s->checks, "signature_format", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "JWS %s, %s",
                    s->jws.form == CRGW_JWS_COMPACT ? "compact" : "flattened JSON", s->alg->jws);
    rc = crgw_jws_check(&s->jws, NULL);
    if (rc == CRGW_JWS_OK)
        crgw_checks_add(&s->checks, "signature", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "%s",
                        s->alg->jws);
    else
        crgw_checks_add(&s->checks, "signature", CRGW_CHECK_FAILED, CRGW_SUB_SIG_CRYPTO_FAILURE,
                        "%s", s->jws.err);

    crgw_diags d = {0};
    json_t *payload = NULL;
    if (crgw_json_parse_strict((const char *)s->jws.payload, s->jws.payload_len,
                               v->cfg->limits.max_doc_depth, &payload, &d) != 0) {
        char *t = diags_text(&d, 3);
        crgw_checks_add(&s->checks, "payload", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "payload refused: %s", t);
        free(t);
        crgw_diags_cleanup(&d);
        return;
    }
    crgw_diags_cleanup(&d);
    crgw_diags warn = {0}, errs = {0};
    crgw_translate_opts o = topts(v);
    rc = crgw_translate_json(v->adapters, NULL, payload, sha, &o, &s->canon, &warn, &errs);
    translated(s, rc, &warn, &errs);
    if (s->canon != NULL)
        check_jws_dialect(s);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
    json_decref(payload);
}

/* ---- recognition ---- */

static unsigned kind_bit(const char *kind)
{
    if (kind == NULL)
        return 0;
    if (strcmp(kind, "special_credit_report") == 0)
        return CRGW_KIND_SPECIAL;
    if (strcmp(kind, "public_credit_report") == 0)
        return CRGW_KIND_PUBLIC;
    return 0;
}

/* Does the canonical report cover a record kind the agreement requires? */
static int covers_kind(json_t *canon, const char *kind)
{
    json_t *rk = json_object_get(json_object_get(canon, "covers"), "record_kinds");
    if (json_is_array(rk))
        return crgw_json_array_has_string(rk, kind);
    if (strcmp(kind, "criminal_judgment") == 0) {
        const char *cr = jstr(canon, "criminal_record", NULL);
        return cr != NULL && strcmp(cr, "not_covered") != 0;
    }
    if (strcmp(kind, "abnormal_operation_list") == 0) {
        const char *d = jstr(canon, "dialect", NULL);
        return d != NULL && (strcmp(d, "csj-xml") == 0 || strcmp(d, "cy-json") == 0);
    }
    /* every dialect has sections for penalties, compulsory measures and dishonesty lists */
    return strcmp(kind, "administrative_penalty") == 0 ||
           strcmp(kind, "administrative_compulsory_measure") == 0 ||
           strcmp(kind, "serious_dishonesty_list") == 0;
}

static const crgw_scenario *agreement_scenario(const crgw_agreement *a, const char *scenario)
{
    for (size_t i = 0; i < a->n_scenarios; i++)
        if (strcmp(a->scenarios[i].name, scenario) == 0)
            return &a->scenarios[i];
    for (size_t i = 0; i < a->n_scenarios; i++)
        if (strcmp(a->scenarios[i].name, "*") == 0)
            return &a->scenarios[i];
    return NULL;
}

/* Reasons an agreement does not recognise the report (json array), limit time in *limit. */
static json_t *agreement_reasons(const crgw_agreement *a, json_t *canon, const char *scenario,
                                 time_t at, time_t issued, time_t *limit)
{
    json_t *r = json_array();
    char buf[256];
    const char *kind = jstr(canon, "kind", NULL);
    if ((a->kinds & kind_bit(kind)) == 0) {
        snprintf(buf, sizeof(buf), "agreement %s does not cover %s", a->id,
                 kind ? kind : "this report kind");
        json_array_append_new(r, json_string(buf));
    }
    const crgw_scenario *sc = agreement_scenario(a, scenario);
    char today[11];
    local_date(at, today);
    if (sc == NULL) {
        snprintf(buf, sizeof(buf), "agreement %s does not cover scenario %s", a->id, scenario);
        json_array_append_new(r, json_string(buf));
    } else if (sc->since[0] != '\0' && strcmp(today, sc->since) < 0) {
        snprintf(buf, sizeof(buf), "scenario %s under agreement %s only from %s", scenario, a->id,
                 sc->since);
        json_array_append_new(r, json_string(buf));
    }
    if (a->max_age_days > 0 && issued > 0) {
        time_t until = issued + (time_t)a->max_age_days * 86400;
        min_time(limit, until);
        if (at > until) {
            snprintf(buf, sizeof(buf), "report is %ld days old, agreement %s accepts at most %d",
                     (long)((at - issued) / 86400), a->id, a->max_age_days);
            json_array_append_new(r, json_string(buf));
        }
    }
    const char *vu = jstr(canon, "valid_until", NULL);
    if (vu != NULL && strcmp(today, vu) > 0) {
        snprintf(buf, sizeof(buf), "report valid until %s", vu);
        json_array_append_new(r, json_string(buf));
    }
    for (size_t i = 0; i < a->require_coverage.n; i++)
        if (!covers_kind(canon, a->require_coverage.v[i])) {
            snprintf(buf, sizeof(buf), "agreement %s requires coverage of %s", a->id,
                     a->require_coverage.v[i]);
            json_array_append_new(r, json_string(buf));
        }
    return r;
}

static json_t *recognition(crgw_verifier *v, json_t *canon, const char *issuer, crgw_sub sub,
                           const char *scenario, time_t at, time_t issued, time_t *limit,
                           int *recognised)
{
    json_t *rec = json_object();
    json_object_set_new(rec, "scenario", json_string(scenario));
    const crgw_config *cfg = v->cfg;
    json_t *best_reasons = NULL;
    const crgw_agreement *best = NULL;
    *recognised = 0;
    if (canon == NULL || issuer == NULL) {
        best_reasons = json_array();
        json_array_append_new(best_reasons,
                              json_string("the report could not be read: no issuer node"));
    } else if (strcmp(issuer, cfg->node) == 0) {
        json_object_set_new(rec, "agreement", json_string("local"));
        best_reasons = json_array();
        *recognised = sub == CRGW_SUB_NONE;
    } else {
        for (size_t i = 0; i < cfg->n_agreements; i++) {
            const crgw_agreement *a = &cfg->agreements[i];
            if (a->kinds == 0 || !crgw_strv_contains(&a->members, issuer) ||
                !crgw_strv_contains(&a->members, cfg->node))
                continue;
            time_t lim = 0;
            json_t *r = agreement_reasons(a, canon, scenario, at, issued, &lim);
            if (best == NULL || (json_array_size(r) == 0 && json_array_size(best_reasons) > 0)) {
                json_decref(best_reasons);
                best_reasons = r;
                best = a;
                *limit = lim;
            } else {
                json_decref(r);
            }
        }
        if (best == NULL) {
            best_reasons = json_array();
            char buf[160];
            snprintf(buf, sizeof(buf),
                     "no agreement between issuer node %s and this node %s "
                     "covers reports",
                     issuer, cfg->node);
            json_array_append_new(best_reasons, json_string(buf));
        } else {
            json_object_set_new(rec, "agreement", json_string(best->id));
            *recognised = json_array_size(best_reasons) == 0;
        }
    }
    if (!json_object_get(rec, "agreement"))
        json_object_set_new(rec, "agreement", json_null());
    if (sub != CRGW_SUB_NONE) {
        char buf[128];
        snprintf(buf, sizeof(buf), "the report is not authentic: %s/%s", crgw_sub_indication(sub),
                 crgw_sub_name(sub));
        json_array_insert_new(best_reasons, 0, json_string(buf));
        *recognised = 0;
    }
    json_object_set_new(rec, "recognised", json_boolean(*recognised));
    json_object_set_new(rec, "reasons", best_reasons);
    return rec;
}

/* ---- the whole verification ---- */

/* SHA-256 with the implementation fetched once per thread (SHA256() fetches it on every call). */
static _Thread_local EVP_MD *md;
static _Thread_local EVP_MD_CTX *ctx;

static void sha256(const char *buf, size_t len, unsigned char out[32])
{
    if (md == NULL) {
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
        ctx = EVP_MD_CTX_new();
        crgw_assert(md != NULL && ctx != NULL);
    }
    EVP_DigestInit_ex(ctx, md, NULL);
    EVP_DigestUpdate(ctx, buf, len);
    EVP_DigestFinal_ex(ctx, out, NULL);
}

void crgw_verify_process_init(void)
{
    xmlInitParser();
    json_object_seed(0);
    (void)crgw_b64url_value('A'); /* builds the decoding tables */
}

void crgw_verify_thread_init(void)
{
    xmlSetGenericErrorFunc(NULL, silent_error); /* libxml2's handlers are per thread */
}

void crgw_verify_thread_cleanup(void)
{
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
    ctx = NULL;
    md = NULL;
    crgw_jws_cache_clear();
    crgw_certcache_clear();
}

static int looks_xml(const char *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
        i++;
    return i < len && buf[i] == '<';
}

static json_t *signer_json(X509 *signer, const crgw_trust_info *ti, const crgw_sigalg *alg)
{
    json_t *o = json_object();
    char node[32];
    san_node(signer, node, sizeof(node));
    json_t *subj = json_string(ti->subject);
    json_object_set_new(o, "subject", subj ? subj : json_string("(not UTF-8)"));
    json_object_set_new(o, "node", node[0] ? json_string(node) : json_null());
    json_object_set_new(o, "serial", json_string(ti->serial));
    json_object_set_new(o, "algorithm", alg ? json_string(alg->jws) : json_null());
    char na[40];
    crgw_time_format_rfc3339(ti->not_after, na, sizeof(na));
    if (ti->not_after > 0)
        json_object_set_new(o, "not_after", json_string(na));
    return o;
}

int crgw_verify_report(crgw_verifier *v, const char *buf, size_t len, const crgw_verify_opts *o,
                       crgw_verify_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->recognised = -1;
    out->cacheable = 1;
    sha256(buf, len, out->sha256);
    vstate s = {0};
    crgw_jws_form form;
    if (len == 0) {
        crgw_checks_add(&s.checks, "parse", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "empty document");
    } else if (looks_xml(buf, len)) {
        verify_xml(v, &s, buf, len, out->sha256);
    } else if (crgw_jws_sniff(buf, len, &form)) {
        verify_jws(v, &s, buf, len, out->sha256);
    } else {
        crgw_checks_add(&s.checks, "signature_format", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                        "neither signed XML nor a JWS (an unsigned report is not verifiable)");
    }

    const char *issuer = s.canon ? jstr(s.canon, "issuer", "node") : NULL;
    if (issuer != NULL)
        snprintf(out->issuer_node, sizeof(out->issuer_node), "%s", issuer);
    time_t issued = 0;
    const char *issued_s = s.canon ? jstr(s.canon, "issued_at", NULL) : NULL;
    if (issued_s != NULL && crgw_time_parse_rfc3339(issued_s, 1, &issued) != 0)
        issued = 0;
    crgw_trust_info ti = {0};
    int have_signer = s.signer != NULL;
    if (have_signer && issuer != NULL) {
        char ts[40];
        if (issued == 0) {
            crgw_checks_add(&s.checks, "issue_time", CRGW_CHECK_FAILED, CRGW_SUB_FORMAT_FAILURE,
                            "report has no readable issue time");
            issued = o->at;
        } else if (issued > o->at + 300) {
            crgw_time_format_rfc3339(issued, ts, sizeof(ts));
            crgw_checks_add(&s.checks, "issue_time", CRGW_CHECK_FAILED, CRGW_SUB_NOT_YET_VALID,
                            "report issued %s, after the evaluation time", ts);
        } else {
            crgw_checks_add(&s.checks, "issue_time", CRGW_CHECK_PASSED, CRGW_SUB_NONE, "%s",
                            issued_s);
        }
        if (crgw_trust_alg_allowed(v->trust, issuer, s.alg->jws))
            crgw_checks_add(&s.checks, "algorithm", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                            "%s allowed for node %s", s.alg->jws, issuer);
        else
            crgw_checks_add(&s.checks, "algorithm", CRGW_CHECK_FAILED,
                            CRGW_SUB_CRYPTO_CONSTRAINTS_FAILURE,
                            "%s not in the allow-list of node %s", s.alg->jws, issuer);
        crgw_trust_check(v->trust, issuer, s.signer, s.extra, issued, o->at, &s.checks, &ti);
        min_time(&out->not_after, ti.not_after);
        min_time(&out->not_after, ti.crl_next);
        const crgw_node *cn = crgw_config_node(v->cfg, issuer);
        if (cn != NULL && cn->dialect != NULL && s.dialect != NULL &&
            strcmp(cn->dialect, s.dialect) != 0)
            crgw_checks_add(&s.checks, "dialect", CRGW_CHECK_WARNING, CRGW_SUB_NONE,
                            "node %s issues %s, this report is %s", issuer, cn->dialect, s.dialect);
    } else if (have_signer) {
        crgw_trust_check(v->trust, NULL, s.signer, s.extra, o->at, o->at, &s.checks, &ti);
    }
    const char *vu = s.canon ? jstr(s.canon, "valid_until", NULL) : NULL;
    time_t vut;
    if (vu != NULL && crgw_time_parse_rfc3339(vu, 1, &vut) == 0) {
        vut += 86400; /* valid through that whole day */
        min_time(&out->not_after, vut);
        crgw_checks_add(&s.checks, "report_validity",
                        vut > o->at ? CRGW_CHECK_PASSED : CRGW_CHECK_WARNING, CRGW_SUB_NONE,
                        "valid until %s", vu);
    }

    out->sub = crgw_checks_verdict(&s.checks);
    if (out->sub == CRGW_SUB_TRY_LATER)
        out->cacheable = 0;
    json_t *vj = json_object();
    json_object_set_new(vj, "indication", json_string(crgw_sub_indication(out->sub)));
    json_object_set_new(vj, "subindication",
                        out->sub == CRGW_SUB_NONE ? json_null()
                                                  : json_string(crgw_sub_name(out->sub)));
    json_object_set_new(vj, "issuer_node", issuer ? json_string(issuer) : json_null());
    json_object_set_new(vj, "signer",
                        have_signer ? signer_json(s.signer, &ti, s.alg) : json_null());
    if (o->scenario != NULL) {
        time_t limit = 0;
        json_object_set_new(vj, "recognition",
                            recognition(v, s.canon, issuer, out->sub, o->scenario, o->at, issued,
                                        &limit, &out->recognised));
        min_time(&out->not_after, limit);
    }
    const char *stype = s.canon ? jstr(s.canon, "subject", "type") : NULL;
    if (s.canon != NULL && strcmp(crgw_sub_indication(out->sub), "TOTAL_FAILED") != 0 &&
        (stype == NULL || strcmp(stype, "natural_person") != 0))
        json_object_set(vj, "report", s.canon);
    json_object_set_new(vj, "checks", crgw_checks_to_json(&s.checks));
    out->verdict = vj;

    json_decref(s.canon);
    crgw_checks_cleanup(&s.checks);
    if (s.is_jws) {
        sk_X509_free(s.extra);
        crgw_jws_cleanup(&s.jws);
    } else if (s.doc != NULL) {
        crgw_xmldsig_result_cleanup(&s.xr);
        xmlFreeDoc(s.doc);
    }
    return 0;
}

void crgw_verify_outcome_cleanup(crgw_verify_outcome *out)
{
    json_decref(out->verdict);
    out->verdict = NULL;
}
