/* libFuzzer target: the JSON engine (strict parser, JWS envelopes, cy-json and gba-json). */
#include "tests/fuzz/adapter_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const dialects[] = {"auto", "cy-json", "gba-json"};
    fz_load();
    const char *dialect = dialects[size % 3];
    crgw_diags warn = {0}, errs = {0};
    json_t *canon = NULL;
    if (crgw_translate_to_canonical(fz_adapters, dialect, (const char *)data, size, NULL, &canon,
                                    &warn, &errs) == 0) {
        if (errs.n != 0)
            fz_fail("success with errors", &errs);
        const char *d = json_string_value(json_object_get(canon, "dialect"));
        fz_check(d, canon);
        json_decref(canon);
    } else if (errs.n == 0 || canon != NULL) {
        fz_fail("failure without an error", NULL);
    }
    crgw_adapters_detect(fz_adapters, (const char *)data, size);
    /* the strict parser against jansson: whatever one accepts the other must accept */
    json_t *mine = NULL;
    crgw_diags_cleanup(&errs);
    int rm = crgw_json_parse_strict((const char *)data, size, 2048, &mine, &errs);
    json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    /* known, intended differences: jansson drops a NUL byte right after a number ("[17\0]"),
       and nests deeper (2048) than the strict parser allows (1000) */
    int nul = memchr(data, 0, size) != NULL;
    int deep = rm != 0 && errs.n > 0 && strstr(errs.v[0].message, "nested too deeply") != NULL;
    if ((rm == 0) != (ref != NULL) && !nul && !deep) {
        fprintf(stderr, "strict parser %s, jansson %s\n", rm == 0 ? "accepts" : "refuses",
                ref ? "accepts" : "refuses");
        fz_fail("parsers disagree", &errs);
    }
    if (rm == 0 && !json_equal(mine, ref))
        fz_fail("parsers build different values", NULL);
    if (rm == 0) { /* the fast serialiser writes what jansson writes */
        for (int pretty = 0; pretty < 2; pretty++) {
            char *a = crgw_json_dump(mine, pretty, NULL);
            char *b = json_dumps(mine, pretty ? JSON_INDENT(2) : JSON_COMPACT);
            if (b != NULL && strcmp(a, b) != 0) {
                fprintf(stderr, "crgw_json_dump: %s\njson_dumps:     %s\n", a, b);
                fz_fail("serialisers disagree", NULL);
            }
            free(a);
            free(b);
        }
    }
    json_decref(mine);
    json_decref(ref);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
    return 0;
}
