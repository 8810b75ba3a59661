#include "gateway/verify/verdict.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"

static const char *const sub_names[CRGW_SUB_COUNT_] = {
    [CRGW_SUB_NONE] = NULL,
    [CRGW_SUB_FORMAT_FAILURE] = "FORMAT_FAILURE",
    [CRGW_SUB_HASH_FAILURE] = "HASH_FAILURE",
    [CRGW_SUB_SIG_CRYPTO_FAILURE] = "SIG_CRYPTO_FAILURE",
    [CRGW_SUB_REVOKED] = "REVOKED",
    [CRGW_SUB_NO_CERTIFICATE_CHAIN_FOUND] = "NO_CERTIFICATE_CHAIN_FOUND",
    [CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE] = "CHAIN_CONSTRAINTS_FAILURE",
    [CRGW_SUB_OUT_OF_BOUNDS_NO_POE] = "OUT_OF_BOUNDS_NO_POE",
    [CRGW_SUB_NOT_YET_VALID] = "NOT_YET_VALID",
    [CRGW_SUB_REVOKED_NO_POE] = "REVOKED_NO_POE",
    [CRGW_SUB_TRY_LATER] = "TRY_LATER",
    [CRGW_SUB_CRYPTO_CONSTRAINTS_FAILURE] = "CRYPTO_CONSTRAINTS_FAILURE",
    [CRGW_SUB_SIG_CONSTRAINTS_FAILURE] = "SIG_CONSTRAINTS_FAILURE",
};

const char *crgw_sub_name(crgw_sub s)
{
    return (unsigned)s < CRGW_SUB_COUNT_ ? sub_names[s] : NULL;
}

const char *crgw_sub_indication(crgw_sub s)
{
    switch (s) {
    case CRGW_SUB_NONE:
        return "TOTAL_PASSED";
    case CRGW_SUB_FORMAT_FAILURE:
    case CRGW_SUB_HASH_FAILURE:
    case CRGW_SUB_SIG_CRYPTO_FAILURE:
    case CRGW_SUB_REVOKED:
        return "TOTAL_FAILED";
    default:
        return "INDETERMINATE";
    }
}

crgw_sub crgw_sub_from_name(const char *name)
{
    for (unsigned i = 1; i < CRGW_SUB_COUNT_; i++)
        if (name != NULL && strcmp(sub_names[i], name) == 0)
            return (crgw_sub)i;
    return CRGW_SUB_NONE;
}

void crgw_checks_add(crgw_checks *c, const char *check, crgw_check_result result, crgw_sub sub,
                     const char *detail_fmt, ...)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    crgw_check *e = &c->v[c->n++];
    e->check = check;
    e->result = result;
    e->sub = result == CRGW_CHECK_FAILED ? sub : CRGW_SUB_NONE;
    e->detail = NULL;
    if (detail_fmt != NULL) {
        va_list ap;
        va_start(ap, detail_fmt);
        char tmp[1024];
        int n = vsnprintf(tmp, sizeof(tmp), detail_fmt, ap);
        va_end(ap);
        size_t len = n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1;
        e->detail = xstrndup(tmp, len);
    }
}

crgw_sub crgw_checks_verdict(const crgw_checks *c)
{
    crgw_sub best = CRGW_SUB_NONE;
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].result != CRGW_CHECK_FAILED)
            continue;
        crgw_sub s = c->v[i].sub == CRGW_SUB_NONE ? CRGW_SUB_FORMAT_FAILURE : c->v[i].sub;
        if (best == CRGW_SUB_NONE || s < best)
            best = s;
    }
    return best;
}

int crgw_checks_has(const crgw_checks *c, const char *check, crgw_check_result result)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].check, check) == 0 && c->v[i].result == result)
            return 1;
    return 0;
}

json_t *crgw_checks_to_json(const crgw_checks *c)
{
    static const char *const results[] = {"PASSED", "FAILED", "WARNING", "SKIPPED"};
    json_t *a = json_array();
    for (size_t i = 0; i < c->n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "check", json_string(c->v[i].check));
        json_object_set_new(o, "result", json_string(results[c->v[i].result]));
        if (c->v[i].result == CRGW_CHECK_FAILED && c->v[i].sub != CRGW_SUB_NONE)
            json_object_set_new(o, "subindication", json_string(crgw_sub_name(c->v[i].sub)));
        if (c->v[i].detail != NULL)
            json_object_set_new(o, "detail", json_string(c->v[i].detail));
        json_array_append_new(a, o);
    }
    return a;
}

void crgw_checks_cleanup(crgw_checks *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].detail);
    }
    free(c->v);
    c->v = NULL;
    c->n = c->cap = 0;
}
