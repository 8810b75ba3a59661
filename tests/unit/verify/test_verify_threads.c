/*
 * Verification on several threads at once (`crgw verify --jobs N`): one verifier per thread,
 * the per-thread caches (certificates, JWS headers, digest context) and libxml2's per-thread
 * error handler. Every thread verifies every fixture of reports/EXPECTED.tsv many times,
 * interleaved, and must give each its expected verdict every time; the caches are emptied at
 * the end of each thread (the ASan build's leak check sees what would be left).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/verify/verify.h"
#include "tests/unit/test_modules.h"

#define FIX "tests/fixtures/"
#define THREADS 4
#define ROUNDS 8
#define MAXF 64

typedef struct {
    char *data;
    size_t len;
    char name[128];
    char want[96]; /* MAIN/SUB or MAIN/- */
} fixture;

static fixture fx[MAXF];
static int n_fx;

typedef struct {
    crgw_verifier *v;
    int id;
    int wrong;
    char first_wrong[256];
} job;

static void load_fixtures(void)
{
    char *tsv = NULL;
    size_t len = 0;
    cr_assert_eq(crgw_read_file(FIX "reports/EXPECTED.tsv", 1 << 20, &tsv, &len), 0);
    char *save = NULL, *line = strtok_r(tsv, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save)) != NULL && n_fx < MAXF) {
        char file[128], main_[40], sub[48];
        if (sscanf(line, "%127[^\t]\t%39[^\t]\t%47[^\t]", file, main_, sub) != 3)
            continue;
        fixture *f = &fx[n_fx++];
        char path[256];
        snprintf(path, sizeof(path), FIX "reports/%s", file);
        cr_assert_eq(crgw_read_file(path, 1 << 24, &f->data, &f->len), 0, "%s", path);
        snprintf(f->name, sizeof(f->name), "%s", file);
        snprintf(f->want, sizeof(f->want), "%s/%s", main_, sub);
    }
    free(tsv);
}

static void *run(void *arg)
{
    job *j = arg;
    crgw_verify_thread_init();
    crgw_verify_opts o = {.scenario = "tender"};
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-23T10:00:00+08:00", 1, &o.at), 0);
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < n_fx; k++) {
            const fixture *f = &fx[(k + j->id * 7 + r) % n_fx]; /* threads out of step */
            crgw_verify_outcome out;
            crgw_verify_report(j->v, f->data, f->len, &o, &out);
            char got[96];
            snprintf(got, sizeof(got), "%s/%s", crgw_sub_indication(out.sub),
                     out.sub == CRGW_SUB_NONE ? "-" : crgw_sub_name(out.sub));
            if (strcmp(got, f->want) != 0 && j->wrong++ == 0)
                snprintf(j->first_wrong, sizeof(j->first_wrong), "%s: got %s, want %s", f->name,
                         got, f->want);
            crgw_verify_outcome_cleanup(&out);
        }
    crgw_verify_thread_cleanup();
    return NULL;
}

Test(verify_threads, every_thread_gets_every_verdict)
{
    load_fixtures();
    cr_assert_geq(n_fx, 30, "EXPECTED.tsv lists the fixtures");
    crgw_verify_process_init();
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load("config/test/node-120000.yaml", crgw_test_modules, &cfg, &errs),
                 0);
    job jobs[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].id = i;
        cr_assert_eq(crgw_verifier_new(cfg, &jobs[i].v, &errs), 0);
    }
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, run, &jobs[i]), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        cr_expect_eq(jobs[i].wrong, 0, "thread %d: %d wrong verdicts; first: %s", i,
                     jobs[i].wrong, jobs[i].first_wrong);
        crgw_verifier_free(jobs[i].v);
    }
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
    for (int i = 0; i < n_fx; i++)
        free(fx[i].data);
}
