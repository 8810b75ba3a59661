/* Unit tests of the pure parts of gateway/repair/repair.c and gateway/repair/repair_store.c: destinations of
 * a decision, identifiers, status names, keys and timestamps. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_modules.h"
#include "gateway/server/config.h"
#include "gateway/repair/repair.h"
#include "gateway/repair/repair_store.h"

static crgw_config *cfg;

static void setup(void)
{
    crgw_errs errs = {0};
    int rc = crgw_config_load("config/test/node-120000.yaml", crgw_test_modules, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        cr_log_error("%s", errs.v[i]);
    cr_assert_eq(rc, 0);
    crgw_errs_cleanup(&errs);
}

static void teardown(void)
{
    crgw_config_unref(cfg);
}

TestSuite(repair, .init = setup, .fini = teardown);

static void expect_dests(const char *origin, const char *domain, const char *applicant,
                         const char *want)
{
    const char *d[32];
    size_t n = crgw_repair_destinations(cfg, origin, domain, applicant, d, 32);
    char got[256] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%s", i ? "," : "", d[i]);
    cr_assert_str_eq(got, want, "%s/%s/%s", origin, domain, applicant ? applicant : "-");
}

Test(repair, destinations_follow_the_agreement)
{
    /* repair-7city-transport: 120000 330100 130100 530100 450100 460100 230100. */
    expect_dests("120000", "transport", "330100", "330100,130100,530100,450100,460100,230100");
    expect_dests("120000", "transport", NULL, "330100,130100,530100,450100,460100,230100");
    /* An applicant outside the agreement still learns the decision on its application. */
    expect_dests("120000", "transport", "110000",
                 "110000,330100,130100,530100,450100,460100,230100");
    /* A domain no agreement shares: only the applicant. */
    expect_dests("120000", "tax", "330100", "330100");
    expect_dests("120000", "tax", "", "");
    /* The origin never sends to itself, even as "applicant". */
    expect_dests("120000", "tax", "120000", "");
    /* Beijing is only in jjj, which shares no repair domain. */
    expect_dests("110000", "transport", NULL, "");
    /* Bounded output. */
    const char *d[2];
    cr_assert_eq(crgw_repair_destinations(cfg, "120000", "transport", NULL, d, 2), 2);
}

Test(repair, ids_are_ulids)
{
    static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    enum { N = 5000 };
    static char ids[N][27];
    for (int i = 0; i < N; i++) {
        crgw_repair_new_id(ids[i]);
        cr_assert_eq(strlen(ids[i]), 26);
        cr_assert_eq(strspn(ids[i], alphabet), 26, "%s", ids[i]);
        if (i)
            cr_assert(memcmp(ids[i - 1], ids[i], 10) <= 0, "time prefix goes back");
    }
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            cr_assert(strcmp(ids[i], ids[j]) != 0, "duplicate id %s", ids[i]);
}

Test(repair, status_names)
{
    cr_assert_str_eq(crgw_rs_status_of_decision("revoked"), "published");
    cr_assert_str_eq(crgw_rs_status_of_decision("repaired"), "repaired");
    cr_assert_str_eq(crgw_rs_status_of_decision("accepted"), "accepted");
    const char *ok[] = {"accepted", "refused", "repaired", "rejected", "revoked"};
    for (size_t i = 0; i < 5; i++)
        cr_assert(crgw_rs_decision_valid(ok[i]));
    cr_assert_not(crgw_rs_decision_valid("published"));
    cr_assert_not(crgw_rs_decision_valid("Repaired"));
    cr_assert_not(crgw_rs_decision_valid(""));
}

Test(repair, keys_and_times)
{
    char k[64];
    cr_assert_str_eq(crgw_rs_key(k, sizeof(k), "rs", "91120116MA06T8E28X"),
                     "crgw:rs:91120116MA06T8E28X");
    char d0[64], d1[64];
    crgw_rs_dedup_key(d0, sizeof(d0), "120000", 0);
    crgw_rs_dedup_key(d1, sizeof(d1), "120000", 1);
    cr_assert_eq(strlen(d0), strlen("crgw:dedup:120000:") + 8, "%s", d0);
    cr_assert_eq(strncmp(d0, "crgw:dedup:120000:", 18), 0);
    cr_assert(strcmp(d1, d0) < 0, "yesterday %s sorts before today %s", d1, d0);
    char t[40];
    crgw_rs_now_rfc3339(t, 0);
    cr_assert_eq(strlen(t), 25, "%s", t);
    cr_assert_str_eq(t + 19, "+08:00");
    cr_assert_eq(t[10], 'T');
    crgw_rs_now_rfc3339(t, 1);
    cr_assert_eq(strlen(t), 29, "%s", t);
    cr_assert_eq(t[19], '.');
    cr_assert_str_eq(t + 23, "+08:00");
}
