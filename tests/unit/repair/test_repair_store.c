/*
 * Unit tests of gateway/repair/repair_store.c: the KEYS and ARGV each typed call builds (the
 * positional layout its Lua script reads), and the scripts against a private redis-server.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "gateway/repair/repair_store.h"
#include "gateway/server/redis.h"
#include "tests/unit/test_redis.h"

/* 2026-11-23T10:00:00+08:00 */
#define NOW_MS 1795399200000LL
/* 2026-11-23T01:00:00+08:00: still the 23rd in Beijing although the 22nd in UTC */
#define EARLY_MS 1795366800000LL

static void expect_call(const crgw_rs_call *c, int nkeys, const char *const *want, int n)
{
    cr_assert_eq(c->nkeys, nkeys, "nkeys %d, want %d", c->nkeys, nkeys);
    cr_assert_eq(c->n, n, "n %d, want %d", c->n, n);
    for (int i = 0; i < n; i++)
        cr_assert_str_eq(c->argv[i], want[i], "argv[%d] (%s %d)", i, i < nkeys ? "KEYS" : "ARGV",
                         i < nkeys ? i + 1 : i - nkeys + 1);
}

#define EXPECT(c, nkeys, ...)                                                                      \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_call(c, nkeys, want_, (int)(sizeof(want_) / sizeof(want_[0])));                     \
    } while (0)

static const char *const dests[] = {"330100", "130100"};

static crgw_repair_decide_args decide_args(const char *app_id)
{
    crgw_repair_decide_args a = {.node = "120000",
                                 .uscc = "91120116MA06T8E28X",
                                 .app_id = app_id,
                                 .dest = dests,
                                 .n_dest = 2,
                                 .field = "120000:R-1",
                                 .value_prefix = "{\"a\":1,\"origin_seq\":",
                                 .value_suffix = "}",
                                 .event_id = "EV1",
                                 .payload = "{\"event_id\":\"EV1\"}",
                                 .now_ms = NOW_MS,
                                 .decision = "accepted",
                                 .history_entry = "{\"status\":\"accepted\"}",
                                 .extension = 1,
                                 .decided_at = "2026-11-23T10:00:00+08:00"};
    return a;
}

Test(repair_store, decide_layout)
{
    crgw_repair_decide_args a = decide_args("APP1");
    crgw_rs_call c;
    crgw_repair_store_build_decide(&a, &c);
    EXPECT(&c, 8, "crgw:seq:120000", "crgw:rs:91120116MA06T8E28X", "crgw:dedup:120000:20261123",
           "crgw:app:APP1", "crgw:apps:open", "crgw:idem:-", "crgw:outbox:330100",
           "crgw:outbox:130100",
           /* ARGV */
           "120000:R-1", "{\"a\":1,\"origin_seq\":", "}", "EV1", "{\"event_id\":\"EV1\"}",
           "1795399200000", "accepted", "{\"status\":\"accepted\"}", "1", "1",
           "2026-11-23T10:00:00+08:00", "APP1", "691200", "", "", "", "0", "86400");
    crgw_rs_call_cleanup(&c);
}

/* SHA-256 hex of "uri:client-a" NUL "k1" */
#define IDEM_H "1d5528ce2ee4bb3320ff8d37fb6d3a2d5149e861072ead8addea533c6ad8fb5e"
#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const crgw_rs_idem idem_k1 = {
    .route = "decisions", .client = "uri:client-a", .key = "k1", .digest = DIGEST};

Test(repair_store, decide_with_idempotency_key)
{
    crgw_repair_decide_args a = decide_args("APP1");
    a.n_dest = 1;
    a.idem = idem_k1;
    a.answer_prefix = "{\"event_id\":\"EV1\",\"origin_seq\":";
    a.answer_suffix = ",\"destinations\":[\"330100\"]}";
    a.answer_status = 201;
    crgw_rs_call c;
    crgw_repair_store_build_decide(&a, &c);
    EXPECT(&c, 7, "crgw:seq:120000", "crgw:rs:91120116MA06T8E28X", "crgw:dedup:120000:20261123",
           "crgw:app:APP1", "crgw:apps:open", "crgw:idem:decisions:" IDEM_H, "crgw:outbox:330100",
           /* ARGV */
           "120000:R-1", "{\"a\":1,\"origin_seq\":", "}", "EV1", "{\"event_id\":\"EV1\"}",
           "1795399200000", "accepted", "{\"status\":\"accepted\"}", "1", "1",
           "2026-11-23T10:00:00+08:00", "APP1", "691200", DIGEST,
           "{\"event_id\":\"EV1\",\"origin_seq\":", ",\"destinations\":[\"330100\"]}", "201",
           "86400");
    crgw_rs_call_cleanup(&c);
    /* A key without a digest, or an empty key, is no key. */
    a.idem.key = "";
    crgw_repair_store_build_decide(&a, &c);
    cr_assert_str_eq(c.argv[5], "crgw:idem:-");
    cr_assert_str_eq(c.argv[c.nkeys + 13], "");
    crgw_rs_call_cleanup(&c);
}

Test(repair_store, idempotency_hashes)
{
    char h[65];
    crgw_rs_idem_hash("uri:client-a", "k1", h);
    cr_assert_str_eq(h, IDEM_H);
    crgw_rs_idem_hash("uri:client-a", "k2", h);
    cr_assert_str_neq(h, IDEM_H);
    crgw_rs_idem_hash("uri:client-b", "k1", h);
    cr_assert_str_neq(h, IDEM_H, "the key is per client");
    crgw_rs_sha256_hex("abc", 3, h);
    cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(repair_store, decide_without_application_or_destination)
{
    crgw_repair_decide_args a = decide_args(NULL);
    a.n_dest = 0;
    a.extension = 0;
    a.now_ms = EARLY_MS;
    crgw_rs_call c;
    crgw_repair_store_build_decide(&a, &c);
    EXPECT(&c, 6, "crgw:seq:120000", "crgw:rs:91120116MA06T8E28X", "crgw:dedup:120000:20261123",
           "crgw:app:-", "crgw:apps:open", "crgw:idem:-",
           /* ARGV */
           "120000:R-1", "{\"a\":1,\"origin_seq\":", "}", "EV1", "{\"event_id\":\"EV1\"}",
           "1795366800000", "accepted", "{\"status\":\"accepted\"}", "0", "0",
           "2026-11-23T10:00:00+08:00", "", "691200", "", "", "", "0", "86400");
    crgw_rs_call_cleanup(&c);
    a.app_id = ""; /* "" is no application too */
    crgw_repair_store_build_decide(&a, &c);
    cr_assert_str_eq(c.argv[3], "crgw:app:-");
    cr_assert_str_eq(c.argv[c.nkeys + 9], "0");
    crgw_rs_call_cleanup(&c);
}

static crgw_repair_apply_args apply_args(const char *app_id, long long seq)
{
    crgw_repair_apply_args a = {.origin = "330100",
                                .uscc = "91120116MA06T8E28X",
                                .app_id = app_id,
                                .event_id = "EV2",
                                .origin_seq = seq,
                                .field = "330100:R-9",
                                .value = "{\"origin_seq\":7}",
                                .decision = "repaired",
                                .history_entry = "{\"status\":\"repaired\"}",
                                .extension = 0,
                                .decided_at = "2026-11-23T09:00:00+08:00",
                                .audit = 1,
                                .now_ms = NOW_MS};
    return a;
}

Test(repair_store, apply_layout)
{
    crgw_repair_apply_args a = apply_args("APP2", 7);
    crgw_rs_call c;
    crgw_repair_store_build_apply(&a, &c);
    EXPECT(&c, 7, "crgw:dedup:330100:20261123", "crgw:rs:91120116MA06T8E28X", "crgw:stats:events",
           "crgw:app:APP2", "crgw:apps:open", "crgw:audit:events", "crgw:dedup:330100:20261122",
           /* ARGV */
           "EV2", "7", "330100:R-9", "{\"origin_seq\":7}", "repaired", "{\"status\":\"repaired\"}",
           "0", "2026-11-23T09:00:00+08:00", "APP2", "1", "691200");
    crgw_rs_call_cleanup(&c);
    a = apply_args(NULL, 12345678901LL);
    a.audit = 0;
    a.extension = 1;
    crgw_repair_store_build_apply(&a, &c);
    cr_assert_str_eq(c.argv[3], "crgw:app:-");
    cr_assert_str_eq(c.argv[7 + 1], "12345678901");
    cr_assert_str_eq(c.argv[7 + 6], "1");
    cr_assert_str_eq(c.argv[7 + 8], "");
    cr_assert_str_eq(c.argv[7 + 9], "0");
    crgw_rs_call_cleanup(&c);
}

static crgw_repair_app_store_args app_store_args(const char *dest)
{
    crgw_repair_app_store_args a = {.app_id = "APP3",
                                    .uscc = "91120116MA06T8E28X",
                                    .dest = dest,
                                    .doc = "{\"doc\":1}",
                                    .filed_at = "2026-11-23T10:00:00+08:00",
                                    .history = "[{\"status\":\"submitted\"}]",
                                    .field = "120000:R-1",
                                    .value = "{\"origin_seq\":0}",
                                    .payload = "{\"doc\":1}",
                                    .now_ms = NOW_MS,
                                    .applicant_node = "330100",
                                    .filed_ms = NOW_MS + 1,
                                    .status = "submitted"};
    return a;
}

Test(repair_store, app_store_layout)
{
    crgw_repair_app_store_args a = app_store_args("120000");
    crgw_rs_call c;
    crgw_repair_store_build_app_store(&a, &c);
    EXPECT(&c, 6, "crgw:app:APP3", "crgw:apps:open", "crgw:rs:91120116MA06T8E28X", "crgw:idem:-",
           "crgw:apps:all", "crgw:outbox:120000",
           /* ARGV */
           "APP3", "{\"doc\":1}", "2026-11-23T10:00:00+08:00", "[{\"status\":\"submitted\"}]",
           "120000:R-1", "{\"origin_seq\":0}", "{\"doc\":1}", "1795399200000", "330100",
           "91120116MA06T8E28X", "1795399200001", "submitted", "", "", "0", "86400");
    crgw_rs_call_cleanup(&c);
    /* No destination: no stream key, the ARGV start one earlier. */
    a = app_store_args(NULL);
    crgw_repair_store_build_app_store(&a, &c);
    cr_assert_eq(c.nkeys, 5);
    cr_assert_eq(c.n, 21);
    cr_assert_str_eq(c.argv[4], "crgw:apps:all");
    cr_assert_str_eq(c.argv[5], "APP3");
    crgw_rs_call_cleanup(&c);
    /* With an Idempotency-Key: its key, the body digest, the answer to store. */
    a = app_store_args(NULL);
    a.idem = idem_k1;
    a.idem.route = "applications";
    a.answer = "{\"application_id\":\"APP3\"}";
    a.answer_status = 201;
    crgw_repair_store_build_app_store(&a, &c);
    EXPECT(&c, 5, "crgw:app:APP3", "crgw:apps:open", "crgw:rs:91120116MA06T8E28X",
           "crgw:idem:applications:" IDEM_H, "crgw:apps:all",
           /* ARGV */
           "APP3", "{\"doc\":1}", "2026-11-23T10:00:00+08:00", "[{\"status\":\"submitted\"}]",
           "120000:R-1", "{\"origin_seq\":0}", "{\"doc\":1}", "1795399200000", "330100",
           "91120116MA06T8E28X", "1795399200001", "submitted", DIGEST,
           "{\"application_id\":\"APP3\"}", "201", "86400");
    crgw_rs_call_cleanup(&c);
}

Test(repair_store, small_scripts_layout)
{
    crgw_rs_call c;
    crgw_repair_app_delivered_args d = {.app_id = "APP4",
                                        .uscc = "91120116MA06T8E28X",
                                        .history_entry = "{}",
                                        .field = "120000:R-1",
                                        .value = "{\"v\":1}"};
    crgw_repair_store_build_app_delivered(&d, &c);
    EXPECT(&c, 2, "crgw:app:APP4", "crgw:rs:91120116MA06T8E28X", "{}", "120000:R-1", "{\"v\":1}");
    crgw_rs_call_cleanup(&c);

    const char *ids[] = {"1-0", "2-0", "3-1"};
    crgw_repair_outbox_ack_args k = {.dest = "330100", .ids = ids, .n_ids = 3};
    crgw_repair_store_build_outbox_ack(&k, &c);
    EXPECT(&c, 1, "crgw:outbox:330100", "crgw", "1-0", "2-0", "3-1");
    crgw_rs_call_cleanup(&c);

    crgw_repair_outbox_dead_args x = {.dest = "330100",
                                      .entry_id = "5-0",
                                      .kind = 'e',
                                      .event_id = "EV5",
                                      .seq = 42,
                                      .payload = "{}",
                                      .at_ms = 1000,
                                      .reason = "refused",
                                      .now_ms = 2000};
    crgw_repair_store_build_outbox_dead(&x, &c);
    EXPECT(&c, 2, "crgw:outbox:330100", "crgw:dead:330100", "crgw", "5-0", "e", "EV5", "42", "{}",
           "1000", "refused", "2000");
    crgw_rs_call_cleanup(&c);

    crgw_repair_redrive_args rd = {.dest = "330100", .max = 100000};
    crgw_repair_store_build_redrive(&rd, &c);
    EXPECT(&c, 2, "crgw:dead:330100", "crgw:outbox:330100", "100000");
    crgw_rs_call_cleanup(&c);
}

Test(repair_store, stored_values)
{
    char *v = crgw_rs_app_state_value("120000", "R-1", "transport", "submitted",
                                      "2026-11-23T10:00:00+08:00");
    cr_assert_str_eq(v,
                     "{\"origin_node\":\"120000\",\"record_id\":\"R-1\",\"domain\":\"transport\","
                     "\"status\":\"submitted\",\"decided_at\":null,\"event_id\":null,"
                     "\"origin_seq\":0,\"received_at\":\"2026-11-23T10:00:00+08:00\"}");
    free(v);
    json_t *h = crgw_rs_history_entry("accepted", "T", "120000", "EV1");
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(
        hs, "{\"status\":\"accepted\",\"at\":\"T\",\"node\":\"120000\",\"event_id\":\"EV1\"}");
    free(hs);
    json_decref(h);
    h = crgw_rs_history_entry("delivered", "T", "330100", NULL);
    hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    cr_assert_str_eq(hs, "{\"status\":\"delivered\",\"at\":\"T\",\"node\":\"330100\"}");
    free(hs);
    json_decref(h);
}

/* ---------- the scripts, against a private redis-server ---------- */

static void redis_start(void)
{
    test_redis_start("crgw-rs-ut");
}

static void redis_stop(void)
{
    test_redis_stop();
}

typedef struct {
    int done;
    int type;
    long long integer;
    char str[256];
} result;

static void on_reply(crgw_redis *rc, redisReply *r, void *priv)
{
    (void)rc;
    result *res = priv;
    res->done++;
    res->type = r ? r->type : -1;
    if (r && r->type == REDIS_REPLY_INTEGER)
        res->integer = r->integer;
    if (r && r->str)
        snprintf(res->str, sizeof(res->str), "%.*s", (int)r->len, r->str);
    /* a stored answer {status, body} */
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_INTEGER && r->element[1]->type == REDIS_REPLY_STRING) {
        res->integer = r->element[0]->integer;
        snprintf(res->str, sizeof(res->str), "%.*s", (int)r->element[1]->len,
                 r->element[1]->str);
    }
}

static struct event_base *base;

static void wait_for(result *res)
{
    for (int i = 0; i < 2000 && !res->done; i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert(res->done, "timed out waiting for Redis");
}

/* Runs a plain command and waits for its reply. */
static result cmd(crgw_redis *rc, const char *fmt, const char *arg)
{
    result res = {0};
    cr_assert_eq(crgw_redis_command(rc, on_reply, &res, fmt, arg), 0);
    wait_for(&res);
    return res;
}

#define RUN(fn, rc, args)                                                                          \
    ({                                                                                             \
        result res_ = {0};                                                                         \
        cr_assert_eq(fn(rc, args, on_reply, &res_), 0);                                            \
        wait_for(&res_);                                                                           \
        res_;                                                                                      \
    })

Test(repair_store_live, scripts_against_redis, .fini = redis_stop)
{
    signal(SIGPIPE, SIG_IGN);
    redis_start();
    base = event_base_new();
    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", test_redis_sock);
    crgw_redis *rc = crgw_redis_new(base, addr, 1000);
    cr_assert_not_null(rc);
    for (int i = 0; i < 400 && !crgw_redis_up(rc); i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert(crgw_redis_up(rc));

    /* An application filed here for a record of 120000, queued for 120000. */
    crgw_repair_app_store_args st = app_store_args("120000");
    result r = RUN(crgw_repair_store_app_store, rc, &st);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);
    cr_assert_eq(r.integer, 1);
    r = RUN(crgw_repair_store_app_store, rc, &st);
    cr_assert_eq(r.integer, 0, "the same application twice changes nothing");
    r = cmd(rc, "HGET %s status", "crgw:app:APP3");
    cr_assert_str_eq(r.str, "submitted");
    r = cmd(rc, "XLEN %s", "crgw:outbox:120000");
    cr_assert_eq(r.integer, 1);

    /* Delivered to its origin. */
    crgw_repair_app_delivered_args dl = {.app_id = "APP3",
                                         .uscc = "91120116MA06T8E28X",
                                         .history_entry = "{\"status\":\"delivered\"}",
                                         .field = "120000:R-1",
                                         .value = "{\"origin_seq\":0,\"status\":\"delivered\"}"};
    r = RUN(crgw_repair_store_app_delivered, rc, &dl);
    cr_assert_eq(r.integer, 1);
    r = cmd(rc, "HGET %s history", "crgw:app:APP3");
    cr_assert_str_eq(r.str, "[{\"status\":\"submitted\"},{\"status\":\"delivered\"}]");

    /* A decision on it, at its origin: origin_seq 1, one outbox entry per destination. */
    crgw_repair_decide_args de = decide_args("APP3");
    de.now_ms = 0;
    r = RUN(crgw_repair_store_decide, rc, &de);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);
    cr_assert_eq(r.integer, 1);
    r = cmd(rc, "HGET crgw:rs:91120116MA06T8E28X %s", "120000:R-1");
    cr_assert_str_eq(r.str, "{\"a\":1,\"origin_seq\":1}");
    r = cmd(rc, "HGET %s extended", "crgw:app:APP3");
    cr_assert_str_eq(r.str, "1");
    r = cmd(rc, "XLEN %s", "crgw:outbox:130100");
    cr_assert_eq(r.integer, 1);
    de.decision = "revoked"; /* accepted -> revoked is not a transition */
    r = RUN(crgw_repair_store_decide, rc, &de);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert_eq(strncmp(r.str, "CONFLICT", 8), 0, "%s", r.str);
    de.app_id = "NOPE";
    r = RUN(crgw_repair_store_decide, rc, &de);
    cr_assert_eq(strncmp(r.str, "NOAPP", 5), 0, "%s", r.str);

    /* With an Idempotency-Key: written once, then the stored answer; another body: IDEMREUSED. */
    crgw_repair_decide_args di = decide_args(NULL);
    di.now_ms = 0;
    di.n_dest = 0; /* the outbox checks below count the first decision's entries */
    di.idem = idem_k1;
    di.answer_prefix = "{\"event_id\":\"EV1\",\"origin_seq\":";
    di.answer_suffix = "}";
    di.answer_status = 201;
    r = RUN(crgw_repair_store_decide, rc, &di);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);
    cr_assert_eq(r.integer, 2);
    r = RUN(crgw_repair_store_decide, rc, &di);
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY, "%s", r.str);
    cr_assert_eq(r.integer, 201);
    cr_assert_str_eq(r.str, "{\"event_id\":\"EV1\",\"origin_seq\":2}");
    r = cmd(rc, "GET %s", "crgw:seq:120000");
    cr_assert_str_eq(r.str, "2", "the replay wrote nothing");
    r = cmd(rc, "TTL %s", "crgw:idem:decisions:" IDEM_H);
    cr_assert(r.integer > 86000 && r.integer <= 86400, "TTL %lld", r.integer);
    di.idem.digest = "ff";
    r = RUN(crgw_repair_store_decide, rc, &di);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert_eq(strncmp(r.str, "IDEMREUSED", 10), 0, "%s", r.str);
    r = cmd(rc, "GET %s", "crgw:seq:120000");
    cr_assert_str_eq(r.str, "2");

    /* An application with an Idempotency-Key: stored once, then the stored answer. */
    crgw_repair_app_store_args sa = app_store_args(NULL);
    sa.app_id = "APP4";
    sa.idem = idem_k1;
    sa.idem.route = "applications";
    sa.answer = "{\"application_id\":\"APP4\"}";
    sa.answer_status = 201;
    r = RUN(crgw_repair_store_app_store, rc, &sa);
    cr_assert_eq(r.integer, 1, "%s", r.str);
    sa.app_id = "APP5"; /* the retry of a client: a new id, the same body */
    r = RUN(crgw_repair_store_app_store, rc, &sa);
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY, "%s", r.str);
    cr_assert_str_eq(r.str, "{\"application_id\":\"APP4\"}");
    r = cmd(rc, "EXISTS %s", "crgw:app:APP5");
    cr_assert_eq(r.integer, 0);
    sa.idem.digest = "ee";
    r = RUN(crgw_repair_store_app_store, rc, &sa);
    cr_assert_eq(strncmp(r.str, "IDEMREUSED", 10), 0, "%s", r.str);

    /* A peer's event: applied, then a duplicate, then an older one is stale. */
    crgw_repair_apply_args ap = apply_args(NULL, 7);
    ap.now_ms = 0;
    r = RUN(crgw_repair_store_apply, rc, &ap);
    cr_assert_str_eq(r.str, "applied");
    r = RUN(crgw_repair_store_apply, rc, &ap);
    cr_assert_str_eq(r.str, "duplicate");
    ap.event_id = "EV3";
    ap.origin_seq = 6;
    r = RUN(crgw_repair_store_apply, rc, &ap);
    cr_assert_str_eq(r.str, "stale");
    r = cmd(rc, "LRANGE %s 0 -1", "crgw:audit:events");
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY);
    r = cmd(rc, "HGET crgw:stats:events %s", "applied");
    cr_assert_str_eq(r.str, "1");

    /* The outbox: dead letter, redrive, acknowledgement. */
    r = cmd(rc, "XGROUP CREATE %s crgw 0 MKSTREAM", "crgw:outbox:330100");
    r = cmd(rc, "XREADGROUP GROUP crgw t COUNT 10 STREAMS %s >", "crgw:outbox:330100");
    cr_assert_eq(r.type, REDIS_REPLY_ARRAY);
    crgw_repair_outbox_dead_args x = {.dest = "330100",
                                      .entry_id = "0-1",
                                      .kind = 'e',
                                      .event_id = "EV1",
                                      .seq = 1,
                                      .payload = "{}",
                                      .at_ms = 1000,
                                      .reason = "refused"};
    r = RUN(crgw_repair_store_outbox_dead, rc, &x);
    cr_assert_eq(r.integer, 1);
    r = cmd(rc, "XLEN %s", "crgw:dead:330100");
    cr_assert_eq(r.integer, 1);
    crgw_repair_redrive_args rd = {.dest = "330100", .max = 100};
    r = RUN(crgw_repair_store_redrive, rc, &rd);
    cr_assert_eq(r.integer, 1);
    r = cmd(rc, "XLEN %s", "crgw:dead:330100");
    cr_assert_eq(r.integer, 0);
    r = cmd(rc, "XLEN %s", "crgw:outbox:330100");
    cr_assert_eq(r.integer, 2);
    const char *none[] = {"0-1"};
    crgw_repair_outbox_ack_args k = {.dest = "330100", .ids = none, .n_ids = 1};
    r = RUN(crgw_repair_store_outbox_ack, rc, &k);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);

    /* Redis lost its scripts: the call falls back to EVAL once. */
    r = cmd(rc, "SCRIPT %s", "FLUSH");
    r = RUN(crgw_repair_store_outbox_ack, rc, &k);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);

    crgw_redis_free(rc);
    event_base_free(base);
}

/* Issue 15: a decision without application follows the record's state; decided_at never goes
 * back. */
static result decide_rec(crgw_redis *rc, const char *decision, const char *status,
                         const char *decided_at)
{
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "{\"status\":\"%s\",\"decided_at\":\"%s\",\"origin_seq\":",
             status, decided_at);
    crgw_repair_decide_args d = decide_args(NULL);
    d.now_ms = 0;
    d.n_dest = 0;
    d.field = "120000:R-9";
    d.value_prefix = prefix;
    d.decision = decision;
    d.decided_at = decided_at;
    return RUN(crgw_repair_store_decide, rc, &d);
}

Test(repair_store_live, decisions_without_application, .fini = redis_stop)
{
    signal(SIGPIPE, SIG_IGN);
    redis_start();
    base = event_base_new();
    char addr[160];
    snprintf(addr, sizeof(addr), "unix:%s", test_redis_sock);
    crgw_redis *rc = crgw_redis_new(base, addr, 1000);
    for (int i = 0; i < 400 && !crgw_redis_up(rc); i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert(crgw_redis_up(rc));
    const char *T9 = "2026-11-23T09:00:00+08:00", *T10 = "2026-11-23T10:00:00+08:00",
               *T11 = "2026-11-23T11:00:00+08:00";
    result r = decide_rec(rc, "revoked", "published", T10);
    cr_assert_eq(r.type, REDIS_REPLY_ERROR);
    cr_assert_str_eq(r.str, "CONFLICT the record is not decided on");
    r = cmd(rc, "EXISTS %s", "crgw:seq:120000");
    cr_assert_eq(r.integer, 0, "a refused decision takes no origin_seq");
    r = decide_rec(rc, "repaired", "repaired", T10);
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);
    cr_assert_eq(r.integer, 1);
    r = decide_rec(rc, "repaired", "repaired", T11);
    cr_assert_str_eq(r.str, "CONFLICT the record is already repaired");
    r = decide_rec(rc, "revoked", "published", T9);
    cr_assert_str_eq(r.str, "ORDER 2026-11-23T10:00:00+08:00");
    r = cmd(rc, "GET %s", "crgw:seq:120000");
    cr_assert_str_eq(r.str, "1", "refusals wrote nothing");
    r = decide_rec(rc, "revoked", "published", T10); /* the same instant is not older */
    cr_assert_eq(r.type, REDIS_REPLY_INTEGER, "%s", r.str);
    cr_assert_eq(r.integer, 2);
    r = decide_rec(rc, "revoked", "published", T11);
    cr_assert_str_eq(r.str, "CONFLICT the record is published");
    r = decide_rec(rc, "repaired", "repaired", T11); /* published again: may be repaired */
    cr_assert_eq(r.integer, 3, "%s", r.str);
    r = cmd(rc, "HGET crgw:rs:91120116MA06T8E28X %s", "120000:R-9");
    cr_assert_str_eq(r.str, "{\"status\":\"repaired\",\"decided_at\":\"2026-11-23T11:00:00+08:00\","
                            "\"origin_seq\":3}");
    crgw_redis_free(rc);
    event_base_free(base);
}
