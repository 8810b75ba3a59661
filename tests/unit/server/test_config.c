/* Unit tests of gateway/server/config.c: the test federation loads; broken files give file:line errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/unit/test_modules.h"
#include "gateway/server/config.h"

#define DATA "tests/unit/data/config/"

static crgw_config *load_ok(const char *path)
{
    crgw_errs errs = {0};
    crgw_config *cfg = NULL;
    int rc = crgw_config_load(path, crgw_test_modules, &cfg, &errs);
    for (size_t i = 0; i < errs.n; i++)
        cr_log_error("%s", errs.v[i]);
    cr_assert_eq(rc, 0, "%s should load", path);
    cr_assert_eq(errs.n, 0);
    crgw_errs_cleanup(&errs);
    return cfg;
}

/* Loads a broken file and asserts one of the errors is exactly "<file>:<line>: <message...>". */
static void expect_error(const char *path, const char *file, int line, const char *msg)
{
    crgw_errs errs = {0};
    crgw_config *cfg = NULL;
    int rc = crgw_config_load(path, crgw_test_modules, &cfg, &errs);
    cr_assert_eq(rc, CRGW_ERR_INVALID, "%s must be refused", path);
    cr_assert_null(cfg);
    char want[512];
    snprintf(want, sizeof(want), "%s:%d: %s", file, line, msg);
    int found = 0;
    for (size_t i = 0; i < errs.n; i++)
        found |= strncmp(errs.v[i], want, strlen(want)) == 0;
    if (!found)
        for (size_t i = 0; i < errs.n; i++)
            cr_log_error("got: %s", errs.v[i]);
    cr_assert(found, "expected an error starting with '%s'", want);
    crgw_errs_cleanup(&errs);
}

Test(config, test_federation_every_node_loads)
{
    static const char *const codes[] = {"110000", "120000", "130100", "230100", "310000",
                                        "330100", "510100", "500000", "530100", "450100",
                                        "460100", "440100", "440300"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "config/test/node-%s.yaml", codes[i]);
        crgw_config *cfg = load_ok(path);
        cr_assert_str_eq(cfg->node, codes[i]);
        cr_assert_eq(cfg->n_nodes, 13);
        cr_assert_eq(cfg->n_agreements, 5);
        cr_assert_not_null(crgw_config_self(cfg));
        cr_assert_eq(crgw_config_self(cfg)->anchors.n, 1);
        crgw_config_unref(cfg);
    }
}

Test(config, values_and_lookups)
{
    crgw_config *cfg = load_ok("config/test/node-330100.yaml");
    cr_assert_str_eq(cfg->h2c, "127.0.0.1:19330");
    cr_assert_str_eq(cfg->listen, "127.0.0.1:18330");
    cr_assert_eq(cfg->limits.max_body, 4194304);
    cr_assert_eq(cfg->limits.max_streams, 100);
    cr_assert_eq(crgw_config_client_roles(cfg, "urn:crgw:client:330100:verifier"),
                 CRGW_ROLE_VERIFIER);
    cr_assert_eq(crgw_config_client_roles(cfg, "urn:crgw:client:330100:operator"),
                 CRGW_ROLE_OPERATOR);
    cr_assert_eq(crgw_config_client_roles(cfg, "urn:crgw:client:110000:operator"), 0);
    const crgw_node *p = crgw_config_peer_by_uri(cfg, "urn:crgw:node:120000");
    cr_assert_not_null(p);
    cr_assert_str_eq(p->dialect, "jjj-xml");
    cr_assert_str_eq(p->platform, "天津市信用信息中心");
    const crgw_agreement *cy = crgw_config_agreement(cfg, "chengyu");
    cr_assert_not_null(cy);
    cr_assert_eq(cy->max_age_days, 30);
    cr_assert_eq(cy->kinds, CRGW_KIND_SPECIAL);
    cr_assert_eq(cy->n_scenarios, 12);
    cr_assert_str_eq(cy->scenarios[10].name, "tender");
    cr_assert_str_eq(cy->scenarios[10].since, "2026-01-01");
    cr_assert_eq(cy->require_coverage.n, 4);
    const crgw_agreement *rp = crgw_config_agreement(cfg, "repair-7city-transport");
    cr_assert_eq(rp->members.n, 7);
    cr_assert(crgw_strv_contains(&rp->repair_domains, "transport"));
    cr_assert_not_null(strstr(cfg->redis, "unix:"));
    cr_assert_not_null(strstr(cfg->redis, "state/test/330100/redis.sock"));
    crgw_config_unref(cfg);
}

Test(config, defaults_apply)
{
    crgw_config *cfg = load_ok(DATA "ok.yaml");
    cr_assert_eq(cfg->limits.max_body, 4u << 20);
    cr_assert_eq(cfg->limits.idle_timeout_ms, 60000);
    cr_assert_eq(crgw_cache_conf_of(cfg)->enabled, 1);
    cr_assert_eq(crgw_cache_conf_of(cfg)->failure_ttl_s, 60);
    cr_assert_eq(crgw_repair_conf_of(cfg)->retry_base_ms, 200);
    cr_assert_eq(crgw_repair_conf_of(cfg)->overdue_scan_ms, 60000);
    cr_assert_str_eq(cfg->log_level, "info");
    cr_assert_null(cfg->listen);
    crgw_config_unref(cfg);
}

Test(config, missing_required_field)
{
    expect_error(DATA "missing-redis.yaml", DATA "missing-redis.yaml", 1,
                 "missing required key 'redis' in the node file");
}

Test(config, wrong_type)
{
    expect_error(DATA "wrong-type.yaml", DATA "wrong-type.yaml", 8,
                 "'max_streams' must be an integer, got 'many'");
}

Test(config, unknown_node_in_agreement)
{
    expect_error(DATA "unknown-member.yaml", DATA "fed-unknown-member.yaml", 15,
                 "agreement 'pair' names unknown node '999999'");
}

Test(config, unreadable_certificate)
{
    expect_error(DATA "unreadable-cert.yaml", DATA "unreadable-cert.yaml", 9, "'cert': cannot use");
}

Test(config, duplicate_peer)
{
    expect_error(DATA "duplicate-peer.yaml", DATA "fed-duplicate-node.yaml", 9,
                 "duplicate node 120000 (first defined at line 3)");
}

Test(config, h2c_must_be_loopback)
{
    expect_error(DATA "h2c-public.yaml", DATA "h2c-public.yaml", 5,
                 "'h2c' must bind a loopback address");
}

Test(config, unknown_key)
{
    expect_error(DATA "unknown-key.yaml", DATA "unknown-key.yaml", 7,
                 "unknown key 'lisen' in the node file");
}

Test(config, unknown_role)
{
    expect_error(DATA "bad-role.yaml", DATA "bad-role.yaml", 8, "unknown role 'admin'");
}

Test(config, node_not_in_federation)
{
    expect_error(DATA "not-in-federation.yaml", DATA "not-in-federation.yaml", 2,
                 "node 999999 is not a node of the federation file");
}

Test(config, impossible_phase_date)
{
    expect_error(DATA "bad-date.yaml", DATA "fed-bad-date.yaml", 18,
                 "'since' must be a date YYYY-MM-DD, got '2026-02-30'");
}

Test(config, yaml_syntax_error)
{
    expect_error(DATA "syntax.yaml", DATA "syntax.yaml", 8, "did not find expected");
}

Test(config, duplicate_key)
{
    expect_error(DATA "duplicate-key.yaml", DATA "duplicate-key.yaml", 7,
                 "duplicate key 'redis' (first at line 6)");
}

Test(config, crl_file_without_crl)
{
    expect_error(DATA "crl-not-crl.yaml", DATA "fed-crl-not-crl.yaml", 8, "'crls': cannot use");
}

Test(config, duplicate_client)
{
    expect_error(DATA "duplicate-client.yaml", DATA "duplicate-client.yaml", 9,
                 "duplicate client 'urn:crgw:client:120000:v'");
}

Test(config, bad_node_code)
{
    expect_error(DATA "bad-code.yaml", DATA "bad-code.yaml", 2,
                 "'code' must be a 6-digit GB/T 2260 code, got '12000A'");
}

Test(config, all_errors_reported_in_one_run)
{
    crgw_errs errs = {0};
    crgw_config *cfg = NULL;
    cr_assert_eq(crgw_config_load(DATA "h2c-public.yaml", crgw_test_modules, &cfg, &errs), CRGW_ERR_INVALID);
    size_t n1 = errs.n;
    cr_assert_eq(crgw_config_load(DATA "wrong-type.yaml", crgw_test_modules, &cfg, &errs), CRGW_ERR_INVALID);
    cr_assert_gt(errs.n, n1, "errors accumulate across loads");
    crgw_errs_cleanup(&errs);
}

Test(config, missing_file)
{
    crgw_errs errs = {0};
    crgw_config *cfg = NULL;
    cr_assert_eq(crgw_config_load(DATA "no-such-file.yaml", crgw_test_modules, &cfg, &errs),
                 CRGW_ERR_INVALID);
    cr_assert_eq(errs.n, 1);
    cr_assert_not_null(strstr(errs.v[0], "no-such-file.yaml:1: "));
    crgw_errs_cleanup(&errs);
}

Test(config, dialect_without_mapping_file)
{
    expect_error(DATA "unknown-dialect.yaml", DATA "fed-unknown-dialect.yaml", 9,
                 "node 330100: no adapter for dialect 'zz-xml'");
}

/* serve --set SECTION.KEY=VALUE (and --audit-dir): applied as if written in the node file. */
Test(config, overrides_apply_like_the_file)
{
    const char *sets[] = {"cache.max_ttl_s=5", "repair.consumer=p9", "cache.enabled=false", NULL};
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    cr_assert_eq(crgw_config_load_set(DATA "ok.yaml", crgw_test_modules, sets, &cfg, &errs), 0,
                 "%s", errs.n ? errs.v[0] : "");
    cr_assert_eq(crgw_cache_conf_of(cfg)->max_ttl_s, 5);
    cr_assert_eq(crgw_cache_conf_of(cfg)->enabled, 0);
    cr_assert_str_eq(crgw_repair_conf_of(cfg)->consumer, "p9");
    crgw_config_unref(cfg);
    const char *bad[] = {"cache.max_ttl_s=0", NULL}, *worse[] = {"nodot=1", NULL};
    cr_assert_eq(crgw_config_load_set(DATA "ok.yaml", crgw_test_modules, bad, &cfg, &errs),
                 CRGW_ERR_INVALID);
    cr_assert(strstr(errs.v[0], "max_ttl_s"), "%s", errs.v[0]);
    crgw_errs_cleanup(&errs);
    cr_assert_eq(crgw_config_load_set(DATA "ok.yaml", crgw_test_modules, worse, &cfg, &errs),
                 CRGW_ERR_INVALID);
    cr_assert(strstr(errs.v[0], "override 'nodot=1'"), "%s", errs.v[0]);
    crgw_errs_cleanup(&errs);
}

Test(config, url_may_list_the_hosts_of_a_node)
{
    crgw_config *cfg = load_ok(DATA "url-list.yaml");
    const crgw_node *b = crgw_config_peer_by_uri(cfg, "urn:crgw:node:330100");
    cr_assert_not_null(b);
    cr_assert_eq(b->urls.n, 2);
    cr_assert_str_eq(b->urls.v[0], "https://127.0.0.1:18330");
    cr_assert_str_eq(b->urls.v[1], "https://127.0.0.2:18330");
    cr_assert_str_eq(b->url, "https://127.0.0.1:18330", "url is the first of the list");
    const crgw_node *a = crgw_config_self(cfg);
    cr_assert_eq(a->urls.n, 1);
    cr_assert_str_eq(a->url, "https://127.0.0.1:18120");
    crgw_config_unref(cfg);
}

Test(config, bad_url_lists)
{
    const char *fed = DATA "fed-bad-url-list.yaml";
    expect_error(DATA "bad-url-list.yaml", fed, 5, "'url' must name at least one https://HOST:PORT");
    expect_error(DATA "bad-url-list.yaml", fed, 12,
                 "'url' must start with https://, got 'http://127.0.0.2:18330'");
    expect_error(DATA "bad-url-list.yaml", fed, 13, "'url' lists https://127.0.0.1:18330 twice");
}
