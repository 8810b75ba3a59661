/*
 * cache_route: the verify route through the verdict cache, its server module, and the CLI.
 */
#include "gateway/cache/cache_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "gateway/cache/cache.h"
#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/redis.h"
#include "gateway/translate/translate.h"
#include "gateway/verify/verify.h"
#include "gateway/verify/verify_route.h"

#define MAX_REPORT (16u << 20)

static crgw_cache *cache; /* one per process (one event loop) */

/* The answer version of the configuration last seen (one entry: requests use the current one). */
static struct {
    const crgw_config *cfg;
    const crgw_verifier *v;
    char trust[65]; /* the verifier's trust version: a rebuilt verifier may reuse an address */
    char version[65];
} memo;

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

int crgw_cache_answer_version(const crgw_config *cfg, const crgw_verifier *v, char out[65])
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

static const char *answer_version(crgw_config *cfg, crgw_verifier *v)
{
    const char *trust = crgw_verifier_trust_version(v);
    if (memo.cfg == cfg && memo.v == v && trust && strcmp(memo.trust, trust) == 0)
        return memo.version;
    if (crgw_cache_answer_version(cfg, v, memo.version) != 0) {
        memo.cfg = NULL;
        log_warn("cache: cannot read the mapping files of %s: verifying without the cache",
                 cfg->adapters_dir ? cfg->adapters_dir : "adapters");
        return NULL;
    }
    memo.cfg = cfg;
    memo.v = v;
    snprintf(memo.trust, sizeof(memo.trust), "%s", trust ? trust : "");
    log_info("cache: answer version %.16s... (trust %.16s...)", memo.version,
             crgw_verifier_trust_version(v));
    return memo.version;
}

static json_t *problem(int status, const char *type, const char *title, const char *detail)
{
    char uri[128];
    snprintf(uri, sizeof(uri), "https://crgw.example/problems/%s", type);
    return json_pack("{s:s,s:s,s:i,s:s}", "type", uri, "title", title, "status", status, "detail",
                     detail);
}

/* The verification the cache runs on a miss or a bypass. ctx: a fixed verifier (CLI) or NULL. */
static void verify_cb(void *ctx, const crgw_cache_query *q, crgw_cache_verdict *out)
{
    crgw_verifier *v = ctx ? ctx : crgw_verify_route_verifier(q->cfg);
    if (!v) {
        out->status = 503;
        out->answer = problem(503, "trust-unavailable", "Trust material unavailable",
                              "the node cannot load its trust material or adapters (see its log)");
        return;
    }
    crgw_verify_opts o = {.scenario = q->scenario, .at = q->at ? (time_t)q->at : time(NULL)};
    crgw_verify_outcome oc;
    if (crgw_verify_report(v, q->body, q->body_len, &o, &oc) != 0) {
        out->status = 500;
        out->answer = problem(500, "internal", "Internal error", "verification failed");
        return;
    }
    if (q->to && strcmp(q->to, "canonical") != 0)
        crgw_verify_add_translation(v, q->cfg->node, q->to, oc.verdict);
    out->status = 200;
    out->answer = oc.verdict;
    oc.verdict = NULL;
    out->cacheable = oc.cacheable;
    /* only a verdict of the very trust material the key names may be stored under that key */
    const char *used = answer_version(q->cfg, v);
    if (!used || !q->version || strcmp(used, q->version) != 0)
        out->cacheable = 0;
    out->failure = oc.sub != CRGW_SUB_NONE;
    out->not_after = (int64_t)oc.not_after;
    crgw_verify_outcome_cleanup(&oc);
}

static void on_answer(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    crgw_req_respond(priv, status, ctype, body, len, NULL);
}

void crgw_route_verify_cached(crgw_req *r)
{
    if (!cache) { /* the module is not running (embedded server of the fuzz harness) */
        crgw_route_verify(r);
        return;
    }
    if (r->body_len == 0) {
        crgw_req_problem(r, 400, "empty-body", "Empty body", NULL,
                         "POST the report exactly as issued (XML or JWS)");
        return;
    }
    crgw_cache_query q = {0};
    q.cfg = r->cfg;
    q.body = r->body;
    q.body_len = r->body_len;
    q.user = r;
    q.scenario = crgw_req_query(r, "scenario");
    if (q.scenario && !q.scenario[0])
        q.scenario = NULL;
    const char *at = crgw_req_query(r, "at");
    if (at) {
        time_t t;
        if (crgw_time_parse_rfc3339(at, 1, &t) != 0) {
            crgw_req_problem(r, 400, "bad-parameter", "Bad parameter", NULL,
                             "at=%s is not an RFC 3339 time", at);
            return;
        }
        q.at = (int64_t)t;
        q.no_cache = "at"; /* another evaluation time: never cached */
    }
    crgw_verifier *v = crgw_verify_route_verifier(r->cfg);
    if (!v) {
        crgw_req_problem(r, 503, "trust-unavailable", "Trust material unavailable", NULL,
                         "the node cannot load its trust material or adapters (see its log)");
        return;
    }
    q.to = crgw_req_query(r, "to");
    if (q.to && crgw_adapters_is_xml(crgw_verifier_adapters(v), q.to) < 0 &&
        strcmp(q.to, "canonical") != 0) {
        crgw_req_problem(r, 400, "unknown-dialect", "Unknown dialect", NULL,
                         "to=%s is not a dialect of this node", q.to);
        return;
    }
    if (q.to && strcmp(q.to, "canonical") == 0)
        q.to = NULL; /* the same answer as without `to` */
    q.version = answer_version(r->cfg, v);
    crgw_cache_submit(cache, &q, on_answer, r);
}

int crgw_cache_route_start(crgw_server *s)
{
    cache = crgw_cache_new(crgw_server_base(s), crgw_server_redis(s), verify_cb, NULL);
    return 0;
}

void crgw_cache_route_reload(crgw_server *s, crgw_config *old)
{
    (void)s;
    (void)old;
    memo.cfg = NULL; /* the next request computes the new configuration's version */
    memo.v = NULL;
}

void crgw_cache_route_stop(crgw_server *s)
{
    (void)s;
    crgw_cache_free(cache);
    cache = NULL;
}

const char *crgw_cache_route_not_ready(crgw_server *s)
{
    (void)s;
    return crgw_cache_not_ready(cache);
}

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

int crgw_cache_cli_verify(crgw_config *cfg, crgw_verifier *v, const char *redis,
                          const char *scenario, int64_t at, int pretty, int n, char **files)
{
    struct event_base *base = event_base_new();
    crgw_redis *rc = crgw_redis_new(base, redis, cfg->limits.redis_timeout_ms);
    if (!rc) {
        event_base_free(base);
        return 2;
    }
    /* wait for the first PING (bounded): a Redis that does not answer means "bypass" */
    int up = 0;
    for (int waited = 0; !up && waited < cfg->limits.redis_timeout_ms; waited += 5) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        up = crgw_redis_up(rc);
    }
    crgw_cache *c = crgw_cache_new(base, rc, verify_cb, v);
    char version[65];
    int have_version = crgw_cache_answer_version(cfg, v, version) == 0;
    int rc_exit = 0;
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(files[i]));
        char *data = NULL;
        size_t len = 0;
        if (crgw_read_file(files[i], MAX_REPORT, &data, &len) != 0) {
            json_object_set_new(o, "error", json_string("cannot read the file"));
            rc_exit = rc_exit ? rc_exit : 1;
        } else {
            crgw_cache_query q = {0};
            q.cfg = cfg;
            q.body = data;
            q.body_len = len;
            q.scenario = scenario;
            q.version = have_version ? version : NULL;
            q.at = at;
            if (at)
                q.no_cache = "at";
            cli_answer a = {0};
            crgw_cache_submit(c, &q, cli_done, &a);
            cli_run(base, &a.done, 10 * 1000);
            json_t *ans = a.done ? json_loads(a.body ? a.body : "", 0, NULL) : NULL;
            if (!ans) {
                json_object_set_new(o, "error", json_string("no answer"));
                rc_exit = 1;
            } else {
                json_object_update(o, ans);
                const char *ind = json_string_value(json_object_get(ans, "indication"));
                json_t *rec = json_object_get(json_object_get(ans, "recognition"), "recognised");
                if (a.status != 200 || !ind || strcmp(ind, "TOTAL_PASSED") != 0 ||
                    (scenario && !json_is_true(rec)))
                    rc_exit = 1;
                json_decref(ans);
            }
            free(a.body);
        }
        free(data);
        char *s = json_dumps(o, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
        printf("%s\n", s);
        free(s);
        json_decref(o);
    }
    /* let the stores reach Redis before closing (bounded) */
    for (int i = 0; i < 400 && crgw_cache_pending(c) > 0; i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    crgw_cache_free(c);
    crgw_redis_free(rc);
    event_base_free(base);
    return rc_exit;
}
