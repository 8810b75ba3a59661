/*
 * verify_route: the verify module: POST /v1/reports/verify (one path, with or without the
 * cache module), its life cycle, and `crgw verify --redis`.
 */
#include "gateway/verify/verify_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "gateway/audit/audit.h"
#include "gateway/cache/cache.h"
#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/redis.h"
#include "gateway/server/server.h"
#include "gateway/translate/translate.h"

/* The module's state (or the CLI's): the verifier and the answer version it was last asked. */
typedef struct {
    crgw_verifier *v;
    const crgw_config *memo_cfg; /* the configuration and trust of the version below */
    char *memo_trust;            /* a rebuilt verifier may reuse an address: compare the trust */
    char *version;               /* NULL until computed */
} verify_state;

static void digest_str(EVP_MD_CTX *h, const char *tag, const char *s)
{
    EVP_DigestUpdate(h, tag, strlen(tag) + 1);
    EVP_DigestUpdate(h, s ? s : "", s ? strlen(s) + 1 : 0);
}

static void digest_strv(EVP_MD_CTX *h, const char *tag, const crgw_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        digest_str(h, tag, sv->v[i]);
}

int crgw_verify_answer_version(const crgw_config *cfg, const crgw_verifier *v, char out[65])
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    crgw_assert(h != NULL);
    EVP_DigestInit_ex(h, EVP_sha256(), NULL);
    digest_str(h, "scheme", "crgw-answer-version-1");
    digest_str(h, "trust", crgw_verifier_trust_version(v));
    digest_str(h, "node", cfg->node);
    digest_strv(h, "uscc_legacy", &cfg->uscc_legacy);
    for (size_t i = 0; i < cfg->n_agreements; i++) {
        const crgw_agreement *a = &cfg->agreements[i];
        char num[64];
        digest_str(h, "agreement", a->id);
        digest_strv(h, "member", &a->members);
        snprintf(num, sizeof(num), "%u/%d", a->kinds, a->max_age_days);
        digest_str(h, "kinds/max_age", num);
        for (size_t k = 0; k < a->n_scenarios; k++) {
            digest_str(h, "scenario", a->scenarios[k].name);
            digest_str(h, "since", a->scenarios[k].since);
        }
        digest_strv(h, "require", &a->require_coverage);
        digest_strv(h, "repair_domain", &a->repair_domains);
    }
    unsigned char d[32];
    crgw_adapters_digest(crgw_verifier_adapters(v), d);
    EVP_DigestUpdate(h, "mappings", 8);
    EVP_DigestUpdate(h, d, 32);
    EVP_DigestFinal_ex(h, d, NULL);
    EVP_MD_CTX_free(h);
    crgw_hex(d, 32, out);
    return 0;
}

/* The answer version of (cfg, st->v), computed once per configuration; NULL: no caching. */
static const char *answer_version(verify_state *st, const crgw_config *cfg)
{
    const char *trust = crgw_verifier_trust_version(st->v);
    if (st->version && st->memo_cfg == cfg && trust && strcmp(st->memo_trust, trust) == 0)
        return st->version;
    free(st->version);
    free(st->memo_trust);
    st->version = xmalloc(65);
    crgw_verify_answer_version(cfg, st->v, st->version);
    st->memo_cfg = cfg;
    st->memo_trust = xstrdup(trust ? trust : "");
    log_info("cache: answer version %.16s... (trust %.16s...)", st->version, st->memo_trust);
    return st->version;
}

static void add_translation(crgw_verifier *v, const char *node, const char *to, json_t *verdict)
{
    json_t *canon = json_object_get(verdict, "report");
    if (canon == NULL)
        return;
    crgw_translate_opts o = {.translated_by = node};
    crgw_diags warn = {0}, errs = {0};
    char *doc = NULL;
    size_t len = 0;
    if (crgw_translate_from_canonical(crgw_verifier_adapters(v), to, canon, &o, &doc, &len, &warn,
                                      &errs) == 0) {
        json_object_set_new(verdict, "translated", json_stringn(doc, len));
        if (warn.n > 0)
            json_object_set_new(verdict, "translation_warnings", crgw_diags_to_json(&warn));
    } else {
        json_object_set_new(verdict, "translation_errors", crgw_diags_to_json(&errs));
    }
    free(doc);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
}

/* The verification of a query (ctx: a verify_state), on a cache miss or bypass or uncached. */
static void verify_cb(void *ctx, const crgw_cache_query *q, crgw_cache_verdict *out)
{
    verify_state *st = ctx;
    if (!st->v) {
        out->status = 503;
        out->answer = crgw_problem_new(503, "trust-unavailable", "Trust material unavailable",
                                       "the node cannot load its trust material or adapters "
                                       "(see its log)");
        return;
    }
    crgw_verify_opts o = {.scenario = q->scenario, .at = q->at ? (time_t)q->at : time(NULL)};
    crgw_verify_outcome oc;
    if (crgw_verify_report(st->v, q->body, q->body_len, &o, &oc) != 0) {
        out->status = 500;
        out->answer = crgw_problem_new(500, "internal", "Internal error", "verification failed");
        return;
    }
    if (q->to && strcmp(q->to, "canonical") != 0)
        add_translation(st->v, q->cfg->node, q->to, oc.verdict);
    out->status = 200;
    out->answer = oc.verdict;
    oc.verdict = NULL;
    out->cacheable = oc.cacheable;
    /* only a verdict of the very trust material the key names may be stored under that key */
    const char *used = answer_version(st, q->cfg);
    if (!used || !q->version || strcmp(used, q->version) != 0)
        out->cacheable = 0;
    out->failure = oc.sub != CRGW_SUB_NONE;
    out->not_after = (int64_t)oc.not_after;
    crgw_verify_outcome_cleanup(&oc);
}

/* Copies n bytes to p and returns the end (the audit entry is formatted with these into a
 * buffer sized for it beforehand: audit_answer). */
static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

#define PUTS(p, lit) put(p, lit, sizeof(lit) - 1)

/* The last `"key":` in [body, end), or NULL. */
static const char *find_back(const char *body, const char *end, const char *pat, size_t n)
{
    if (end < body || (size_t)(end - body) < n)
        return NULL;
    const char *q = end - n + 1; /* a match starts before q */
    while ((q = memrchr(body, '"', (size_t)(q - body))) != NULL) {
        if (memcmp(q, pat, n) == 0)
            return q;
    }
    return NULL;
}

/*
 * Appends `,"key":` and the JSON value token (a string, true, false or null; else null) that
 * follows `"key":` (pat[0..n)) in an answer text body[0..len), as it is there: answers are
 * JSON, so the token is too. *at: where to look first, the keys of an answer coming in a known
 * order (moved past the token found); at NULL: the last occurrence (the cache's fields end the
 * answer). At most len + n + 6 bytes.
 */
static char *put_field(char *p, const char *pat, size_t n, const char *body, size_t len,
                       const char **at)
{
    const char *end = body + len, *v;
    if (!at) {
        v = find_back(body, end, pat, n);
    } else {
        const char *from = *at > body && *at < end ? *at : body;
        if ((size_t)(end - from) > n && (*from == ',' || *from == '{') &&
            memcmp(from + 1, pat, n) == 0) /* the next member: no search */
            v = from + 1;
        else if (!(v = memmem(from, (size_t)(end - from), pat, n)) && from > body)
            v = memmem(body, (size_t)(from - body), pat, n);
    }
    size_t left = v ? (size_t)(end - (v + n)) : 0, tok = 0;
    if (v) {
        v += n;
        if (left >= 4 && (memcmp(v, "true", 4) == 0 || memcmp(v, "null", 4) == 0)) {
            tok = 4;
        } else if (left >= 5 && memcmp(v, "false", 5) == 0) {
            tok = 5;
        } else if (left >= 2 && *v == '"') {
            for (const char *q = v + 1; !tok && (q = memchr(q, '"', (size_t)(end - q))) != NULL;
                 q++)
                if (q[-1] != '\\')
                    tok = (size_t)(q - v) + 1;
        }
        if (at)
            *at = v + tok;
    }
    *p++ = ',';
    p = put(p, pat, n);
    return tok ? put(p, v, tok) : PUTS(p, "null");
}

/* put_field of the key k (a literal). */
#define PUT_FIELD(p, k, body, len, at) put_field(p, "\"" k "\":", sizeof(k) + 2, body, len, at)

/* Appends s as a JSON string (quotes, backslashes and control characters escaped): at most
 * 6 * strlen(s) + 2 bytes. */
static char *put_string(char *p, const char *s)
{
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p = PUTS(p, "\\u00");
            crgw_hex(&c, 1, p);
            p += 2;
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    return p;
}

/*
 * The audit entry of one answer (gateway/audit/README.md, kind verify): who asked, on which
 * bytes (their SHA-256), what was answered, under which answer version. Only digests and codes:
 * no report content. Fields are copied from the answer text without parsing it (the hit path):
 * the verdict's own lead the answer (a recognition only when a scenario was asked), the cache's
 * are appended at its end. Formatted on the stack (a heap buffer only for unusually long
 * caller names or scenarios) and copied into the audit queue: no allocation per answer.
 */
static int audit_answer(crgw_req *r, const char *route, const unsigned char digest[32], int status,
                        const char *body, size_t len)
{
    crgw_audit *a = crgw_audit_of(r->server);
    if (!a)
        return 0;
    size_t head = len < 1024 ? len : 1024, tail = len < 256 ? len : 256;
    verify_state *st = crgw_server_state(r->server, &crgw_verify_module);
    const char *scenario = crgw_req_query(r, "scenario");
    if (scenario && !*scenario)
        scenario = NULL;
    const char *caller = r->client ? r->client : "";
    const char *version = st && st->v ? answer_version(st, r->cfg) : NULL;
    /* the constant text and numbers take under 400 bytes; each field at most its window */
    size_t cap = 512 + 6 * (strlen(caller) + (scenario ? strlen(scenario) : 0)) + strlen(route) +
                 (version ? strlen(version) : 0) + 4 * (head + 40) + tail + 40;
    char stack[8192];
    char *buf = cap <= sizeof(stack) ? stack : xmalloc(cap);
    char *p = PUTS(buf, "{\"caller\":");
    p = put_string(p, caller);
    p = PUTS(p, ",\"route\":\"");
    p = put(p, route, strlen(route));
    p = PUTS(p, "\",\"body_sha256\":\"");
    crgw_hex(digest, 32, p);
    p += 64;
    p = PUTS(p, "\",\"status\":");
    p += crgw_decimal(status, p);
    /* in the verdict's order: indication, subindication, issuer_node, signer, recognition */
    const char *at = body;
    p = PUT_FIELD(p, "indication", body, head, &at);
    p = PUT_FIELD(p, "subindication", body, head, &at);
    p = PUT_FIELD(p, "issuer_node", body, head, &at);
    p = PUT_FIELD(p, "recognised", body, scenario ? head : 0, &at);
    p = PUTS(p, ",\"scenario\":");
    p = scenario ? put_string(p, scenario) : PUTS(p, "null");
    if (version) {
        p = PUTS(p, ",\"answer_version\":\"");
        p = put(p, version, strlen(version));
        p = PUTS(p, "\"");
    } else {
        p = PUTS(p, ",\"answer_version\":null");
    }
    char *mark = p;
    p = PUT_FIELD(p, "cache", body + len - tail, tail, NULL);
    if (p - mark == (ptrdiff_t)strlen(",\"cache\":null")) /* no cache state in the answer */
        p = PUTS(mark, ",\"cache\":\"off\"");
    *p++ = '}';
    crgw_assert((size_t)(p - buf) <= cap);
    int rc = crgw_audit_add_text(a, "verify", buf, (size_t)(p - buf));
    if (buf != stack)
        free(buf);
    return rc;
}

#undef PUT_FIELD
#undef PUTS

/* The query's parameters (scenario, at, to) into q; 0, or -1 once answered with a problem. */
static int read_params(crgw_req *r, verify_state *st, crgw_cache_query *q)
{
    q->cfg = r->cfg;
    q->user = r;
    q->scenario = crgw_req_query(r, "scenario");
    if (q->scenario && !q->scenario[0])
        q->scenario = NULL;
    const char *at = crgw_req_query(r, "at");
    if (at) {
        int64_t t;
        if (crgw_time_parse_rfc3339(at, 1, &t) != 0) {
            crgw_req_problem(r, 400, "bad-parameter", "Bad parameter", NULL,
                             "at=%s is not an RFC 3339 time", at);
            return -1;
        }
        q->at = t;
        q->no_cache = "at"; /* another evaluation time: never cached */
    }
    if (!st || !st->v) {
        crgw_req_problem(r, 503, "trust-unavailable", "Trust material unavailable", NULL,
                         "the node cannot load its trust material or adapters (see its log)");
        return -1;
    }
    q->to = crgw_req_query(r, "to");
    if (q->to && crgw_adapters_is_xml(crgw_verifier_adapters(st->v), q->to) < 0 &&
        strcmp(q->to, "canonical") != 0) {
        crgw_req_problem(r, 400, "unknown-dialect", "Unknown dialect", NULL,
                         "to=%s is not a dialect of this node", q->to);
        return -1;
    }
    if (q->to && strcmp(q->to, "canonical") == 0)
        q->to = NULL; /* the same answer as without `to` */
    q->verify = verify_cb;
    q->verify_ctx = st;
    return 0;
}

/* ---------- one report: the route, and each report of a batch (verify_batch.c) ---------- */

struct crgw_verify_params {
    crgw_req *r;
    verify_state *st;
    crgw_cache_query q; /* the parameters; body set per report */
    const char *route;
};

crgw_verify_params *crgw_verify_params_new(crgw_req *r, const char *route)
{
    verify_state *st = crgw_server_state(r->server, &crgw_verify_module);
    if (crgw_audit_refusing(crgw_audit_of(r->server))) {
        crgw_req_problem(r, 503, "audit-unavailable", "Audit log unavailable", NULL,
                         "the audit log cannot take entries (see /readyz)");
        return NULL;
    }
    crgw_verify_params *p = xcalloc(1, sizeof(*p));
    if (read_params(r, st, &p->q) != 0) {
        free(p);
        return NULL;
    }
    p->r = r;
    p->st = st;
    p->route = route;
    return p;
}

void crgw_verify_params_free(crgw_verify_params *p)
{
    free(p);
}

typedef struct {
    crgw_verify_params *p;
    unsigned char digest[32];
    crgw_verify_done_fn done;
    void *priv;
} item_ctx;

static void item_answer(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    item_ctx ix = *(item_ctx *)priv;
    free(priv);
    crgw_req *r = ix.p->r;
    if (crgw_audit_refusing(crgw_audit_of(r->server))) {
        (void)audit_answer(r, ix.p->route, ix.digest, 503, "", 0);
        json_t *o = crgw_problem_new(503, "audit-unavailable", "Audit log unavailable",
                                     "the answer cannot be recorded in the audit log, so it is "
                                     "not given");
        char *t = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(o);
        ix.done(ix.priv, 503, "application/problem+json", t, strlen(t));
        free(t);
        return;
    }
    (void)audit_answer(r, ix.p->route, ix.digest, status, body, len);
    ix.done(ix.priv, status, ctype, body, len);
}

void crgw_verify_submit(crgw_verify_params *p, const char *body, size_t len,
                        crgw_verify_done_fn done, void *priv)
{
    crgw_cache_query q = p->q;
    q.body = body;
    q.body_len = len;
    item_ctx *ix = xmalloc(sizeof(*ix));
    ix->p = p;
    ix->done = done;
    ix->priv = priv;
    crgw_assert(EVP_Digest(body, len, ix->digest, NULL, crgw_cache_sha256(), NULL) == 1);
    crgw_cache *cache = crgw_cache_of(p->r->server);
    if (cache) {
        q.body_digest = ix->digest;
        q.version = answer_version(p->st, p->r->cfg);
        crgw_cache_submit(cache, &q, item_answer, ix);
        return;
    }
    crgw_cache_verdict v = {0}; /* no cache module on this server: the same verification */
    verify_cb(p->st, &q, &v);
    char *t = json_dumps(v.answer, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(v.answer);
    item_answer(ix, v.status, v.status == 200 ? "application/json" : "application/problem+json",
                t ? t : "{}", t ? strlen(t) : 2);
    free(t);
}

static void route_done(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    crgw_verify_params *p = priv;
    crgw_req_respond(p->r, status, ctype, body, len, NULL);
    crgw_verify_params_free(p);
}

/* POST /v1/reports/verify: one report, the same path as each report of a batch. */
static void route_verify(crgw_req *r)
{
    if (crgw_audit_refusing(crgw_audit_of(r->server))) {
        crgw_req_problem(r, 503, "audit-unavailable", "Audit log unavailable", NULL,
                         "the audit log cannot take entries (see /readyz)");
        return;
    }
    if (r->body_len == 0) {
        crgw_req_problem(r, 400, "empty-body", "Empty body", NULL,
                         "POST the report exactly as issued (XML or JWS)");
        return;
    }
    crgw_verify_params *p = crgw_verify_params_new(r, "reports_verify");
    if (p != NULL)
        crgw_verify_submit(p, r->body, r->body_len, route_done, p);
}

/* ---------- the module ---------- */

static crgw_verifier *build(crgw_config *cfg, crgw_errs *errs)
{
    crgw_verifier *v = NULL;
    if (crgw_verifier_new(cfg, &v, errs) != 0)
        return NULL;
    log_info("verify: trust material loaded, version %s", crgw_verifier_trust_version(v));
    return v;
}

static int verify_check(crgw_config *cfg, crgw_errs *errs)
{
    crgw_verifier *v = NULL;
    if (crgw_verifier_new(cfg, &v, errs) != 0)
        return CRGW_ERR_INVALID;
    crgw_verifier_free(v);
    return 0;
}

static int verify_start(crgw_server *s, void **state)
{
    crgw_errs errs = {0};
    verify_state *st = xcalloc(1, sizeof(*st));
    st->v = build(crgw_server_config(s), &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_error("verify: %s", errs.v[i]);
    crgw_errs_cleanup(&errs);
    *state = st;
    return st->v ? 0 : CRGW_ERR_INVALID;
}

/* The reload pre-flight ran verify_check on the new configuration: build its verifier now, on
 * the loop, before any request of the new configuration runs. */
static void verify_reload(crgw_server *s, void *state, crgw_config *old)
{
    (void)old;
    verify_state *st = state;
    crgw_errs errs = {0};
    crgw_verifier *v = build(crgw_server_config(s), &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_error("verify: reload: %s", errs.v[i]);
    crgw_errs_cleanup(&errs);
    if (!v)
        return; /* the files changed since the pre-flight: the running verifier stays */
    crgw_verifier_free(st->v);
    st->v = v;
    st->memo_cfg = NULL; /* the next request computes the new configuration's version */
}

static void verify_stop(crgw_server *s, void *state)
{
    (void)s;
    verify_state *st = state;
    crgw_verifier_free(st->v);
    free(st->version);
    free(st->memo_trust);
    free(st);
}

const char *crgw_verify_running_trust_version(const crgw_server *s)
{
    const verify_state *st = crgw_server_state(s, &crgw_verify_module);
    return st && st->v ? crgw_verifier_trust_version(st->v) : NULL;
}

static const crgw_route verify_routes[] = {
    {"POST", "/v1/reports/verify", CRGW_ROLE_VERIFIER, route_verify, "reports_verify"},
    {0},
};

const crgw_module crgw_verify_module = {
    .name = "verify",
    .routes = verify_routes,
    .check = verify_check,
    .checks = "trust material",
    .start = verify_start,
    .reload = verify_reload,
    .stop = verify_stop,
};

/* ---------- crgw verify --redis ---------- */

typedef struct {
    int done;
    int status;
    char *body;
} cli_answer;

static void cli_done(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    (void)ctype;
    cli_answer *a = priv;
    a->done = 1;
    a->status = status;
    a->body = xstrndup(body, len);
}

static void cli_run(struct event_base *base, const int *flag, int ms)
{
    for (int waited = 0; !*flag && waited < ms; waited += 5) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
}

struct crgw_verify_cli {
    struct event_base *base;
    crgw_redis *rc;
    crgw_cache *c;
    crgw_config *cfg;
    verify_state st;
    const char *version;
    const char *scenario;
    int64_t at;
};

crgw_verify_cli *crgw_verify_cli_open(crgw_config *cfg, crgw_verifier *v, const char *redis,
                                      const char *scenario, int64_t at)
{
    struct event_base *base = event_base_new();
    crgw_redis *rc = base ? crgw_redis_new(base, redis, cfg->limits.redis_timeout_ms) : NULL;
    if (!rc) {
        if (base)
            event_base_free(base);
        return NULL;
    }
    /* wait for the first PING (bounded): a Redis that does not answer means "bypass" */
    int up = 0;
    for (int waited = 0; !up && waited < cfg->limits.redis_timeout_ms; waited += 5) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        up = crgw_redis_up(rc);
    }
    crgw_verify_cli *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->rc = rc;
    s->c = crgw_cache_new(base, rc, NULL, NULL);
    s->cfg = cfg;
    s->st.v = v;
    s->version = answer_version(&s->st, cfg);
    s->scenario = scenario;
    s->at = at;
    return s;
}

json_t *crgw_verify_cli_one(crgw_verify_cli *s, const char *data, size_t len, int *status)
{
    crgw_cache_query q = {0};
    q.cfg = s->cfg;
    q.body = data;
    q.body_len = len;
    q.scenario = s->scenario;
    q.version = s->version;
    q.verify = verify_cb;
    q.verify_ctx = &s->st;
    q.at = s->at;
    if (s->at)
        q.no_cache = "at";
    cli_answer a = {0};
    crgw_cache_submit(s->c, &q, cli_done, &a);
    cli_run(s->base, &a.done, 10 * 1000);
    json_t *ans = a.done ? json_loads(a.body ? a.body : "", 0, NULL) : NULL;
    *status = a.done ? a.status : 0;
    free(a.body);
    return ans;
}

void crgw_verify_cli_close(crgw_verify_cli *s)
{
    if (!s)
        return;
    /* let the stores reach Redis before closing (bounded) */
    for (int i = 0; i < 400 && crgw_cache_pending(s->c) > 0; i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(s->base, &tv);
        event_base_dispatch(s->base);
    }
    crgw_cache_free(s->c);
    crgw_redis_free(s->rc);
    free(s->st.version);
    free(s->st.memo_trust);
    event_base_free(s->base);
    free(s);
}
