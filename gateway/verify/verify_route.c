#include "gateway/verify/verify_route.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/translate/translate.h"

static crgw_verifier *current;

crgw_verifier *crgw_verify_route_verifier(crgw_config *cfg)
{
    if (current != NULL && crgw_verifier_config(current) == cfg)
        return current;
    crgw_verifier_free(current);
    current = NULL;
    crgw_errs errs = {0};
    if (crgw_verifier_new(cfg, &current, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            log_error("verify: %s", errs.v[i]);
        crgw_errs_cleanup(&errs);
        current = NULL;
        return NULL;
    }
    crgw_errs_cleanup(&errs);
    log_info("verify: trust material loaded, version %s", crgw_verifier_trust_version(current));
    return current;
}

int crgw_verify_route_install(crgw_config *cfg, crgw_errs *errs)
{
    crgw_verifier *v = NULL;
    if (crgw_verifier_new(cfg, &v, errs) != 0)
        return -1;
    crgw_verifier_free(current);
    current = v;
    log_info("verify: trust material loaded, version %s", crgw_verifier_trust_version(current));
    return 0;
}

void crgw_verify_route_shutdown(void)
{
    crgw_verifier_free(current);
    current = NULL;
}

void crgw_verify_add_translation(crgw_verifier *v, const char *node, const char *to,
                                 json_t *verdict)
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

void crgw_route_verify(crgw_req *r)
{
    if (r->body_len == 0) {
        crgw_req_problem(r, 400, "empty-body", "Empty body", NULL,
                         "POST the report exactly as issued (XML or JWS)");
        return;
    }
    crgw_verify_opts o = {.scenario = crgw_req_query(r, "scenario"), .at = time(NULL)};
    const char *at = crgw_req_query(r, "at");
    if (at != NULL && crgw_time_parse_rfc3339(at, 1, &o.at) != 0) {
        crgw_req_problem(r, 400, "bad-parameter", "Bad parameter", NULL,
                         "at=%s is not an RFC 3339 time", at);
        return;
    }
    if (o.scenario != NULL && o.scenario[0] == '\0')
        o.scenario = NULL;
    const char *to = crgw_req_query(r, "to");
    crgw_verifier *v = crgw_verify_route_verifier(r->cfg);
    if (v == NULL) {
        crgw_req_problem(r, 503, "trust-unavailable", "Trust material unavailable", NULL,
                         "the node cannot load its trust material or adapters (see its log)");
        return;
    }
    if (to != NULL && crgw_adapters_is_xml(crgw_verifier_adapters(v), to) < 0 &&
        strcmp(to, "canonical") != 0) {
        crgw_req_problem(r, 400, "unknown-dialect", "Unknown dialect", NULL,
                         "to=%s is not a dialect of this node", to);
        return;
    }
    crgw_verify_outcome out;
    if (crgw_verify_report(v, r->body, r->body_len, &o, &out) != 0) {
        crgw_req_problem(r, 500, "internal", "Internal error", NULL, "verification failed");
        return;
    }
    if (to != NULL && strcmp(to, "canonical") != 0)
        crgw_verify_add_translation(v, r->cfg->node, to, out.verdict);
    json_t *verdict = out.verdict;
    out.verdict = NULL;
    crgw_verify_outcome_cleanup(&out);
    crgw_req_respond_json(r, 200, verdict);
}
