/*
 * translate_bench: documents per second per core of the adapters, for every sample, in both
 * directions (dialect -> canonical including serialising the canonical JSON with crgw_json_dump; canonical ->
 * dialect document). Single thread; rates use the thread's CPU time (so they are per core
 * even on a busy machine) and the wall time is printed beside.
 *
 * Usage: translate_bench [SECONDS] [ADAPTERS_DIR] [SAMPLES_DIR]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/translate/translate.h"
#include "gateway/core/util.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
    const char *dialect;
    const char *file;
} sample;

static const sample SAMPLES[] = {
    {"jjj-xml", "jjj-xml.xml"},
    {"csj-xml", "csj-xml.xml"},
    {"cy-json", "cy-json.payload.json"},
    {"gba-json", "gba-json.payload.json"},
};

int main(int argc, char **argv)
{
    double secs = argc > 1 ? strtod(argv[1], NULL) : 2.0;
    const char *adir = argc > 2 ? argv[2] : "adapters";
    const char *sdir = argc > 3 ? argv[3] : "tests/fixtures/samples";
    crgw_adapters *a = NULL;
    crgw_diags errs = {0}, warn = {0};
    if (crgw_adapters_load(adir, &a, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i].message);
        return 1;
    }
    crgw_translate_opts o = {.translated_by = "110000"};
    printf("%-9s %-22s %8s %12s %12s %10s\n", "dialect", "direction", "bytes", "docs/s/core",
           "docs/s wall", "docs");
    int rc = 0;
    for (size_t s = 0; s < sizeof(SAMPLES) / sizeof(SAMPLES[0]); s++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", sdir, SAMPLES[s].file);
        char *buf;
        size_t len;
        if (crgw_read_file(path, 1 << 20, &buf, &len) != 0) {
            fprintf(stderr, "cannot read %s\n", path);
            return 1;
        }
        json_t *canon = NULL;
        if (crgw_translate_to_canonical(a, SAMPLES[s].dialect, buf, len, &o, &canon, &warn,
                                        &errs) != 0) {
            fprintf(stderr, "%s does not translate\n", path);
            return 1;
        }
        for (int dir = 0; dir < 2; dir++) {
            long n = 0;
            size_t out_bytes = 0;
            double c0 = now(CLOCK_THREAD_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC), c1 = c0;
            while (c1 - c0 < secs) {
                for (int k = 0; k < 200; k++) {
                    if (dir == 0) {
                        json_t *c = NULL;
                        if (crgw_translate_to_canonical(a, SAMPLES[s].dialect, buf, len, &o, &c,
                                                        &warn, &errs) != 0)
                            rc = 1;
                        char *js = crgw_json_dump(c, 0, &out_bytes);
                        free(js);
                        json_decref(c);
                    } else {
                        char *out = NULL;
                        size_t ol = 0;
                        if (crgw_translate_from_canonical(a, SAMPLES[s].dialect, canon, &o, &out,
                                                          &ol, &warn, &errs) != 0)
                            rc = 1;
                        out_bytes = ol;
                        free(out);
                    }
                    crgw_diags_cleanup(&warn);
                    crgw_diags_cleanup(&errs);
                    n++;
                }
                c1 = now(CLOCK_THREAD_CPUTIME_ID);
            }
            double w1 = now(CLOCK_MONOTONIC);
            printf("%-9s %-22s %8zu %12.0f %12.0f %10ld\n", SAMPLES[s].dialect,
                   dir == 0 ? "dialect->canonical" : "canonical->dialect",
                   dir == 0 ? len : out_bytes, (double)n / (c1 - c0), (double)n / (w1 - w0), n);
            fflush(stdout);
        }
        json_decref(canon);
        free(buf);
    }
    crgw_adapters_free(a);
    return rc;
}
