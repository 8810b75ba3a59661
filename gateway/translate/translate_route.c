#include "gateway/translate/translate_route.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

/* The module's state: the adapters of the configuration last seen (one loop per process). */
typedef struct {
    crgw_adapters *adapters;
    const crgw_config *cfg;
    char *dir;
} translate_state;

static const crgw_adapters *state_adapters(translate_state *st, const crgw_config *cfg)
{
    char buf[PATH_MAX];
    const char *dir =
        cfg && cfg->adapters_dir ? cfg->adapters_dir : crgw_adapters_default_dir(buf, sizeof(buf));
    if (st->adapters && st->cfg == cfg && st->dir && strcmp(st->dir, dir) == 0)
        return st->adapters;
    crgw_adapters *a = NULL;
    crgw_diags errs = {0};
    if (crgw_adapters_load(dir, &a, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            log_error("adapters: %s", errs.v[i].message);
        crgw_diags_cleanup(&errs);
        return NULL;
    }
    crgw_diags_cleanup(&errs);
    crgw_adapters_free(st->adapters);
    free(st->dir);
    st->adapters = a;
    st->cfg = cfg;
    st->dir = xstrdup(dir);
    log_info("adapters: %zu dialects loaded from %s", crgw_adapters_count(a), dir);
    return st->adapters;
}

static int translate_start(crgw_server *s, void **state)
{
    (void)s;
    *state = xcalloc(1, sizeof(translate_state));
    return 0;
}

static void translate_stop(crgw_server *s, void *state)
{
    (void)s;
    translate_state *st = state;
    crgw_adapters_free(st->adapters);
    free(st->dir);
    free(st);
}

static const crgw_route translate_routes[] = {
    {"POST", "/v1/reports/translate", CRGW_ROLE_VERIFIER, crgw_route_translate,
     "reports_translate"},
    {0},
};

const crgw_module crgw_translate_module = {
    .name = "translate",
    .routes = translate_routes,
    .start = translate_start,
    .stop = translate_stop,
};

void crgw_route_translate(crgw_req *r)
{
    const crgw_adapters *a =
        state_adapters(crgw_server_state(r->server, &crgw_translate_module), r->cfg);
    if (a == NULL) {
        crgw_req_problem(r, 500, "adapters-unavailable", "Mapping files not loaded", NULL,
                         "the adapters directory could not be loaded (see the log)");
        return;
    }
    if (r->body_len == 0) {
        crgw_req_problem(r, 400, "empty-body", "Empty body", NULL,
                         "a report is required in the body");
        return;
    }
    const char *from = crgw_req_query(r, "from");
    const char *to = crgw_req_query(r, "to");
    if (from == NULL || *from == '\0')
        from = "auto";
    if (to == NULL || *to == '\0')
        to = "canonical";
    int to_canon = strcmp(to, "canonical") == 0;
    if ((strcmp(from, "auto") != 0 && crgw_adapters_is_xml(a, from) < 0) ||
        (!to_canon && crgw_adapters_is_xml(a, to) < 0)) {
        crgw_req_problem(r, 400, "unknown-dialect", "Unknown dialect", NULL,
                         "unknown dialect in from=%s or to=%s", from, to);
        return;
    }
    crgw_translate_opts o = {0};
    if (r->cfg) {
        o.translated_by = r->cfg->node;
        o.uscc_legacy = (const char *const *)r->cfg->uscc_legacy.v;
        o.n_uscc_legacy = r->cfg->uscc_legacy.n;
        o.max_bytes = r->cfg->limits.max_body;
        o.max_depth = r->cfg->limits.max_doc_depth;
    }
    o.utf8_output = 1; /* the document travels inside a JSON string */
    crgw_diags warn = {0}, errs = {0};
    json_t *canon = NULL;
    char *out = NULL;
    size_t out_len = 0;
    int ok =
        crgw_translate_to_canonical(a, from, r->body, r->body_len, &o, &canon, &warn, &errs) == 0;
    if (ok && !to_canon)
        ok = crgw_translate_from_canonical(a, to, canon, &o, &out, &out_len, &warn, &errs) == 0;
    if (!ok) {
        json_t *extra = json_object();
        json_object_set_new(extra, "errors", crgw_diags_to_json(&errs));
        json_object_set_new(extra, "warnings", crgw_diags_to_json(&warn));
        crgw_req_problem(r, 422, "untranslatable-report", "The report cannot be translated", extra,
                         "%zu error(s), first: %s: %s", errs.n, errs.n ? errs.v[0].path : "$",
                         errs.n ? errs.v[0].message : "");
    } else if (to_canon) {
        size_t slen = 0;
        char *s = crgw_json_dump(canon, 1, &slen);
        char count[24];
        snprintf(count, sizeof(count), "%zu", warn.n);
        const char *hdrs[] = {"x-crgw-warnings", count, NULL};
        crgw_req_respond(r, 200, "application/json", s, slen, hdrs);
        free(s);
    } else {
        json_t *body = json_object();
        json_object_set_new(body, "document", json_stringn(out, out_len));
        json_object_set_new(body, "dialect", json_string(to));
        json_object_set_new(body, "warnings", crgw_diags_to_json(&warn));
        crgw_req_respond_json(r, 200, body);
    }
    free(out);
    json_decref(canon);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
}
