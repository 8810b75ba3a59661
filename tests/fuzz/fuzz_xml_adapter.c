/* libFuzzer target: the XML engine (hardened parse, jjj-xml and csj-xml mappings, writer). */
#include "tests/fuzz/adapter_fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const dialects[] = {"auto", "jjj-xml", "csj-xml"};
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
    /* the detector and the bare parser on the same bytes */
    crgw_adapters_detect(fz_adapters, (const char *)data, size);
    xmlDocPtr doc = NULL;
    crgw_diags_cleanup(&errs);
    if (crgw_xml_parse_strict((const char *)data, size, 0, &doc, &errs) == 0)
        xmlFreeDoc(doc);
    crgw_diags_cleanup(&warn);
    crgw_diags_cleanup(&errs);
    return 0;
}
