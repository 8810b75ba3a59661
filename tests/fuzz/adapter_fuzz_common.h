/*
 * Shared by the two adapter fuzz targets: loads the mapping files once, and checks the
 * translation invariants on every input that translates:
 *   1. the canonical report is valid (crgw_canon_validate);
 *   2. it can be written in every JSON dialect (and in XML dialects unless the text cannot be
 *      held by XML), and what is written translates back;
 *   3. through its own dialect it comes back identical (provenance and the origin note aside).
 * Any violation aborts (a finding).
 */
#ifndef CRGW_ADAPTER_FUZZ_COMMON_H
#define CRGW_ADAPTER_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/translate/translate.h"
#include "gateway/translate/canon.h"

#ifndef CRGW_SRCDIR
#define CRGW_SRCDIR "."
#endif

static crgw_adapters *fz_adapters;

static void fz_load(void)
{
    if (fz_adapters)
        return;
    const char *dir = getenv("CRGW_ADAPTERS_DIR");
    char buf[4096];
    if (dir == NULL) {
        snprintf(buf, sizeof(buf), "%s/adapters", CRGW_SRCDIR);
        dir = buf;
    }
    crgw_diags errs = {0};
    if (crgw_adapters_load(dir, &fz_adapters, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].message);
        abort();
    }
    crgw_diags_cleanup(&errs);
}

static void fz_fail(const char *what, const crgw_diags *d)
{
    fprintf(stderr, "invariant broken: %s\n", what);
    for (size_t i = 0; d && i < d->n; i++)
        fprintf(stderr, "  %s: %s\n", d->v[i].path, d->v[i].message);
    abort();
}

static json_t *fz_strip(json_t *c)
{
    json_t *x = json_deep_copy(c);
    json_object_del(x, "provenance");
    return x;
}

static void fz_check(const char *src_dialect, json_t *canon)
{
    crgw_diags warn = {0}, errs = {0};
    if (crgw_canon_validate(canon, NULL, &errs) != 0)
        fz_fail("translated report is not a valid canonical report", &errs);
    for (size_t t = 0; t < crgw_adapters_count(fz_adapters); t++) {
        const char *target = crgw_adapters_name(fz_adapters, t);
        char *doc = NULL;
        size_t len = 0;
        crgw_diags_cleanup(&warn);
        crgw_diags_cleanup(&errs);
        int rc = crgw_translate_from_canonical(fz_adapters, target, canon, NULL, &doc, &len,
                                               &warn, &errs);
        if (rc != 0) {
            int src_xml = crgw_adapters_is_xml(fz_adapters, src_dialect);
            if (crgw_adapters_is_xml(fz_adapters, target) && !src_xml)
                continue; /* JSON text XML cannot hold: an error, fine */
            fz_fail("canonical -> dialect failed", &errs);
        }
        json_t *back = NULL;
        crgw_diags_cleanup(&errs);
        if (crgw_translate_to_canonical(fz_adapters, target, doc, len, NULL, &back, &warn,
                                        &errs) != 0) {
            fprintf(stderr, "%s document:\n%.*s\n", target, (int)len, doc);
            fz_fail("a translated document does not translate back", &errs);
        }
        if (strcmp(target, src_dialect) == 0) {
            json_t *a = fz_strip(canon), *b = fz_strip(back);
            if (!json_equal(a, b)) {
                char *sa = json_dumps(a, JSON_COMPACT), *sb = json_dumps(b, JSON_COMPACT);
                fprintf(stderr, "before: %s\nafter:  %s\n", sa, sb);
                fz_fail("round trip through the own dialect changed the report", NULL);
            }
            json_decref(a);
            json_decref(b);
        }
        json_decref(back);
        free(doc);
    }
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
}

#endif
