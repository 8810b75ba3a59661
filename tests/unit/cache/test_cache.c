/*
 * Unit tests of gateway/cache/cache.c: key, TTL, times, value encoding, question 3 from an HGETALL
 * reply, splicing; then the whole flow against a private redis-server with a fake verifier
 * (miss, hit, repair-status change on a hit, coalescing, bypass when Redis is gone).
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
#include <jansson.h>
#include <openssl/sha.h>

#include "gateway/core/time.h"
#include "gateway/cache/cache.h"
#include "gateway/server/config.h"
#include "gateway/server/redis.h"
#include "tests/unit/test_redis.h"

static const unsigned char D0[32] = {0};

/* A configuration built by hand with only the cache module's section. */
static void with_cache_section(crgw_config *cfg, crgw_cache_conf *cc)
{
    static const crgw_module *const mods[] = {&crgw_cache_module, NULL};
    static void *secs[1];
    static int lines[1];
    secs[0] = cc;
    cfg->mods = mods;
    cfg->sections = secs;
    cfg->section_lines = lines;
    cfg->n_sections = 1;
}

Test(cache_key, every_part_counts)
{
    unsigned char a[32], b[32], d1[32];
    memset(d1, 1, sizeof(d1));
    crgw_cache_key("v1", "tender", NULL, D0, a);
    crgw_cache_key("v1", "tender", NULL, D0, b);
    cr_assert(memcmp(a, b, 32) == 0, "deterministic");
    crgw_cache_key("v2", "tender", NULL, D0, b);
    cr_assert(memcmp(a, b, 32) != 0, "trust version");
    crgw_cache_key("v1", "listing", NULL, D0, b);
    cr_assert(memcmp(a, b, 32) != 0, "scenario");
    crgw_cache_key("v1", "tender", "jjj-xml", D0, b);
    cr_assert(memcmp(a, b, 32) != 0, "to");
    crgw_cache_key("v1", "tender", NULL, d1, b);
    cr_assert(memcmp(a, b, 32) != 0, "body");
    crgw_cache_key("v1", NULL, NULL, D0, a);
    crgw_cache_key("v1", "", NULL, D0, b);
    cr_assert(memcmp(a, b, 32) != 0, "absent scenario is not an empty one");
    crgw_cache_key("v1t", "ender", NULL, D0, a);
    crgw_cache_key("v1", "tender", NULL, D0, b);
    cr_assert(memcmp(a, b, 32) != 0, "parts are separated");
}

Test(cache_ttl, bounds)
{
    int64_t now;
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-23T10:00:00+08:00", 0, &now), 0);
    /* 14 h to midnight in Beijing */
    cr_assert_eq(crgw_cache_ttl(now, 0, 0, 86400, 60), 14 * 3600);
    cr_assert_eq(crgw_cache_ttl(now, 0, 0, 3600, 60), 3600, "max_ttl_s");
    cr_assert_eq(crgw_cache_ttl(now, now + 100, 0, 86400, 60), 100, "not_after");
    cr_assert_eq(crgw_cache_ttl(now, now - 1, 0, 86400, 60), 0, "already past: not stored");
    cr_assert_eq(crgw_cache_ttl(now, 0, 1, 86400, 60), 60, "failure ttl");
    cr_assert_eq(crgw_cache_ttl(now, now + 10, 1, 86400, 60), 10, "failure ttl, bounded");
    int64_t late;
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-23T23:59:30+08:00", 0, &late), 0);
    cr_assert_eq(crgw_cache_ttl(late, 0, 0, 86400, 60), 30, "never across midnight");
}

Test(cache_time, parse_and_format)
{
    int64_t a, b, c;
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22T16:00:00+08:00", 0, &a), 0);
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22T08:00:00Z", 0, &b), 0);
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22T08:00:00.250Z", 0, &c), 0);
    cr_assert_eq(a, b);
    cr_assert_eq(b, c);
    cr_assert_eq(a, 1795334400);
    char out[40];
    crgw_time_format_rfc3339(a, out, sizeof(out));
    cr_assert_str_eq(out, "2026-11-22T16:00:00+08:00");
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22", 0, &a), -1);
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22T16:00:00", 0, &a), -1, "no offset");
    cr_assert_eq(crgw_time_parse_rfc3339("2026-13-22T16:00:00Z", 0, &a), -1);
    cr_assert_eq(crgw_time_parse_rfc3339("2026-11-22T16:00:00+08:00x", 0, &a), -1);
    cr_assert_eq(crgw_time_parse_rfc3339(NULL, 0, &a), -1);
}

static const char VERDICT[] =
    "{\"indication\":\"TOTAL_PASSED\",\"subindication\":null,\"issuer_node\":\"120000\","
    "\"report\":{\"issuer\":{\"node\":\"120000\"},\"issued_at\":\"2026-11-18T10:30:00+08:00\","
    "\"subject\":{\"uscc\":\"91120116MA06T8E28X\",\"type\":\"legal_person\"},"
    "\"records\":[{\"record_id\":\"TJJT-2026-0088\"},"
    "{\"record_id\":\"X-9\",\"origin_node\":\"330100\"}]},"
    "\"checks\":[{\"check\":\"signature\",\"result\":\"PASSED\"}]}";

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    cr_assert_not_null(j, "%s", e.text);
    return j;
}

Test(cache_subject, legal_natural_none)
{
    json_t *v = load(VERDICT);
    crgw_cache_subject s;
    crgw_cache_subject_from_verdict(v, &s);
    cr_assert_str_eq(s.uscc, "91120116MA06T8E28X");
    cr_assert_str_eq(s.issuer, "120000");
    cr_assert_eq(s.natural, 0);
    cr_assert_eq(s.legal_person, 1);
    cr_assert_eq(s.n_records, 2);
    cr_assert_str_eq(s.origin[0], "120000", "origin defaults to the issuer");
    cr_assert_str_eq(s.record_id[0], "TJJT-2026-0088");
    cr_assert_str_eq(s.origin[1], "330100", "a record may name its origin");
    int64_t ia;
    crgw_time_parse_rfc3339("2026-11-18T10:30:00+08:00", 0, &ia);
    cr_assert_eq(s.issued_at, ia);
    crgw_cache_subject_cleanup(&s);

    json_object_set_new(json_object_get(json_object_get(v, "report"), "subject"), "type",
                        json_string("natural_person"));
    crgw_cache_subject_from_verdict(v, &s);
    cr_assert_eq(s.natural, 1);
    cr_assert_null(s.uscc, "nothing of a natural person is kept");
    cr_assert_eq(s.n_records, 0);
    crgw_cache_subject_cleanup(&s);

    json_object_del(v, "report");
    crgw_cache_subject_from_verdict(v, &s);
    cr_assert_eq(s.natural, 1);
    cr_assert_null(s.uscc);
    cr_assert_str_eq(s.issuer, "120000");
    crgw_cache_subject_cleanup(&s);
    json_decref(v);
}

/* A reply as hiredis would build it, from RESP text. */
static redisReply *resp(const char *text)
{
    redisReader *r = redisReaderCreate();
    cr_assert_eq(redisReaderFeed(r, text, strlen(text)), REDIS_OK);
    void *reply = NULL;
    cr_assert_eq(redisReaderGetReply(r, &reply), REDIS_OK);
    cr_assert_not_null(reply);
    redisReaderFree(r);
    return reply;
}

static void append_bulk(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "$%zu\r\n%s\r\n", strlen(s), s);
}

Test(cache_current, changed_records_from_hgetall)
{
    json_t *v = load(VERDICT);
    crgw_cache_subject s;
    crgw_cache_subject_from_verdict(v, &s);
    char text[4096] = "*8\r\n";
    /* decided after issue: changed */
    append_bulk(text, sizeof(text), "120000:TJJT-2026-0088");
    append_bulk(
        text, sizeof(text),
        "{\"origin_node\":\"120000\",\"record_id\":\"TJJT-2026-0088\",\"domain\":"
        "\"transport\",\"status\":\"repaired\",\"decided_at\":\"2026-11-22T16:00:00+08:00\","
        "\"event_id\":\"E1\",\"origin_seq\":3}");
    /* a record of another report of the subject: ignored */
    append_bulk(text, sizeof(text), "120000:OTHER");
    append_bulk(text, sizeof(text),
                "{\"status\":\"repaired\",\"decided_at\":\"2026-11-22T16:00:00+08:00\","
                "\"origin_seq\":4}");
    /* decided before issue: not a change since issue */
    append_bulk(text, sizeof(text), "330100:X-9");
    append_bulk(text, sizeof(text),
                "{\"status\":\"repaired\",\"decided_at\":\"2026-11-01T09:00:00+08:00\","
                "\"origin_seq\":1}");
    /* an application state only (origin_seq 0) */
    append_bulk(text, sizeof(text), "999999:Z");
    append_bulk(text, sizeof(text), "not json");
    redisReply *r = resp(text);
    json_t *ch = crgw_cache_changed_records(&s, r);
    cr_assert_not_null(ch);
    cr_assert_eq(json_array_size(ch), 1);
    json_t *e = json_array_get(ch, 0);
    cr_assert_str_eq(json_string_value(json_object_get(e, "record_id")), "TJJT-2026-0088");
    cr_assert_str_eq(json_string_value(json_object_get(e, "status")), "repaired");
    cr_assert_str_eq(json_string_value(json_object_get(e, "event_id")), "E1");
    cr_assert_str_eq(json_string_value(json_object_get(e, "origin_node")), "120000");
    json_decref(ch);
    freeReplyObject(r);

    /* the X-9 decision after issue now (restored: status published) */
    char text2[1024] = "*2\r\n";
    append_bulk(text2, sizeof(text2), "330100:X-9");
    append_bulk(text2, sizeof(text2),
                "{\"status\":\"published\",\"decided_at\":\"2026-11-20T09:00:00+08:00\","
                "\"origin_seq\":2,\"event_id\":\"E2\"}");
    r = resp(text2);
    ch = crgw_cache_changed_records(&s, r);
    cr_assert_eq(json_array_size(ch), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ch, 0), "origin_node")),
                     "330100");
    json_decref(ch);
    freeReplyObject(r);

    /* application state only: no decision, not changed */
    char text3[1024] = "*2\r\n";
    append_bulk(text3, sizeof(text3), "120000:TJJT-2026-0088");
    append_bulk(text3, sizeof(text3),
                "{\"status\":\"submitted\",\"decided_at\":\"2026-11-22T16:00:00+08:00\","
                "\"origin_seq\":0}");
    r = resp(text3);
    ch = crgw_cache_changed_records(&s, r);
    cr_assert_eq(json_array_size(ch), 0);
    json_decref(ch);
    freeReplyObject(r);

    r = resp("*0\r\n");
    ch = crgw_cache_changed_records(&s, r);
    cr_assert_eq(json_array_size(ch), 0, "empty hash: nothing changed");
    json_decref(ch);
    freeReplyObject(r);

    /* an entry of one of the report's records that cannot be read: no answer, not "nothing" */
    char text4[1024] = "*2\r\n";
    append_bulk(text4, sizeof(text4), "330100:X-9");
    append_bulk(text4, sizeof(text4), "{\"status\":\"repaired\",\"decided_at\":\"yesterday\"}");
    r = resp(text4);
    cr_assert_null(crgw_cache_changed_records(&s, r), "unreadable decision time");
    freeReplyObject(r);
    char text5[1024] = "*2\r\n";
    append_bulk(text5, sizeof(text5), "120000:TJJT-2026-0088");
    append_bulk(text5, sizeof(text5), "not json");
    r = resp(text5);
    cr_assert_null(crgw_cache_changed_records(&s, r), "unreadable entry");
    freeReplyObject(r);

    r = resp("-ERR boom\r\n");
    cr_assert_null(crgw_cache_changed_records(&s, r), "an error is not 'nothing changed'");
    freeReplyObject(r);
    crgw_cache_subject_cleanup(&s);
    json_decref(v);
}

Test(cache_value, round_trip_and_refusals)
{
    json_t *v = load(VERDICT);
    crgw_cache_subject s, t;
    crgw_cache_subject_from_verdict(v, &s);
    unsigned char d[32], d2[32];
    SHA256((const unsigned char *)"body", 4, d);
    size_t len;
    char *val = crgw_cache_value_encode(d, 1234, &s, VERDICT, strlen(VERDICT), &len);
    const char *verdict;
    size_t vlen;
    int64_t at;
    cr_assert_eq(crgw_cache_value_decode(val, len, d2, &at, &t, &verdict, &vlen), 0);
    cr_assert(memcmp(d, d2, 32) == 0);
    cr_assert_eq(at, 1234);
    cr_assert_eq(vlen, strlen(VERDICT));
    cr_assert(memcmp(verdict, VERDICT, vlen) == 0, "the verdict is stored byte for byte");
    cr_assert_str_eq(t.uscc, s.uscc);
    cr_assert_eq(t.issued_at, s.issued_at);
    cr_assert_eq(t.n_records, 2);
    cr_assert_str_eq(t.origin[1], "330100");
    cr_assert_str_eq(t.record_id[1], "X-9");
    crgw_cache_subject_cleanup(&t);
    /* corruptions */
    cr_assert_eq(crgw_cache_value_decode(val, len - 1, d2, &at, &t, &verdict, &vlen), -1,
                 "truncated verdict");
    cr_assert_eq(crgw_cache_value_decode("{\"v\":2}\n{}", 10, d2, &at, &t, &verdict, &vlen), -1);
    cr_assert_eq(crgw_cache_value_decode("garbage", 7, d2, &at, &t, &verdict, &vlen), -1);
    free(val);
    crgw_cache_subject_cleanup(&s);

    /* natural person: the header keeps nothing of the subject */
    crgw_cache_subject n = {0};
    n.natural = 1;
    memcpy(n.issuer, "120000", 7);
    static const char nv[] = "{\"indication\":\"TOTAL_PASSED\"}";
    val = crgw_cache_value_encode(d, 1, &n, nv, strlen(nv), &len);
    cr_assert_null(strstr(val, "\"s\""), "%s", val);
    cr_assert_null(strstr(val, "\"r\""), "%s", val);
    cr_assert_eq(crgw_cache_value_decode(val, len, d2, &at, &t, &verdict, &vlen), 0);
    cr_assert_eq(t.natural, 1);
    cr_assert_null(t.uscc);
    crgw_cache_subject_cleanup(&t);
    free(val);
    json_decref(v);
}

Test(cache_splice, answer_shape)
{
    crgw_buf b;
    crgw_buf_init(&b, 1 << 20);
    json_t *ch = load("[{\"record_id\":\"R\",\"status\":\"repaired\"}]");
    cr_assert_eq(crgw_cache_splice(&b, VERDICT, strlen(VERDICT), 1795334400, ch, NULL, "hit", 12),
                 0);
    char *s = xstrndup(b.data, b.len);
    json_t *a = load(s);
    cr_assert_str_eq(json_string_value(json_object_get(a, "cache")), "hit");
    cr_assert_eq(json_integer_value(json_object_get(a, "cache_age_s")), 12);
    json_t *cur = json_object_get(a, "current");
    cr_assert_str_eq(json_string_value(json_object_get(cur, "as_of")), "2026-11-22T16:00:00+08:00");
    cr_assert(json_equal(json_object_get(cur, "changed_records"), ch));
    cr_assert_str_eq(json_string_value(json_object_get(a, "indication")), "TOTAL_PASSED");
    json_decref(a);
    free(s);

    crgw_buf_reset(&b);
    cr_assert_eq(crgw_cache_splice(&b, "{}", 2, 0, NULL, "redis down", "bypass", 0), 0);
    s = xstrndup(b.data, b.len);
    a = load(s);
    cur = json_object_get(a, "current");
    cr_assert(json_is_null(json_object_get(cur, "changed_records")),
              "unknown is not 'nothing changed'");
    cr_assert(json_is_null(json_object_get(cur, "as_of")));
    cr_assert_str_eq(json_string_value(json_object_get(cur, "unavailable")), "redis down");
    json_decref(a);
    free(s);

    crgw_buf_reset(&b);
    cr_assert_eq(crgw_cache_splice(&b, "[1]", 3, 0, ch, NULL, "hit", 0), CRGW_ERR_INVALID);
    json_decref(ch);
    crgw_buf_cleanup(&b);
}

/* ---------- the whole flow, against a private redis-server ---------- */

typedef struct {
    int calls;
    int natural;
    int sub_try_later;
    const char *subject_type; /* NULL: legal_person as in VERDICT */
} fake_verifier;

static void fake_verify(void *ctx, const crgw_cache_query *q, crgw_cache_verdict *out)
{
    fake_verifier *fv = ctx;
    fv->calls++;
    json_t *v = load(VERDICT);
    json_object_set_new(v, "body_len", json_integer((json_int_t)q->body_len));
    if (fv->subject_type)
        json_object_set_new(json_object_get(json_object_get(v, "report"), "subject"), "type",
                            json_string(fv->subject_type));
    if (fv->natural) {
        json_object_del(v, "report");
    }
    if (fv->sub_try_later) {
        json_object_set_new(v, "indication", json_string("INDETERMINATE"));
        json_object_set_new(v, "subindication", json_string("TRY_LATER"));
    }
    out->status = 200;
    out->answer = v;
    out->cacheable = !fv->sub_try_later;
    out->failure = fv->sub_try_later;
    out->not_after = 0;
}

typedef struct {
    int done;
    int status;
    char *body;
} answer;

static void on_done(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    (void)ctype;
    answer *a = priv;
    a->done++;
    a->status = status;
    free(a->body);
    a->body = xstrndup(body, len);
}

static void redis_start(void)
{
    test_redis_start("crgw-cache-ut");
}

static void redis_stop(void)
{
    test_redis_stop();
}

static void run_until(struct event_base *base, int *flag, int want)
{
    for (int i = 0; i < 2000 && *flag < want; i++) {
        struct timeval tv = {0, 5000};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
    }
    cr_assert_geq(*flag, want, "timed out waiting");
}

static void on_cmd(crgw_redis *rc, redisReply *r, void *priv)
{
    (void)rc;
    cr_assert_not_null(r);
    (*(int *)priv)++;
}

static json_t *parse_answer(const answer *a)
{
    cr_assert_eq(a->status, 200, "%s", a->body);
    return load(a->body);
}

Test(cache_flow, miss_hit_repair_coalesce_bypass, .fini = redis_stop)
{
    signal(SIGPIPE, SIG_IGN); /* as the server does: a killed Redis is an EPIPE, not a signal */
    redis_start();
    struct event_base *base = event_base_new();
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

    crgw_config cfg = {0};
    crgw_cache_conf cc = {.enabled = 1, .max_ttl_s = 86400, .failure_ttl_s = 60};
    with_cache_section(&cfg, &cc);
    cfg.limits.redis_timeout_ms = 1000;
    fake_verifier fv = {0};
    crgw_cache *c = crgw_cache_new(base, rc, fake_verify, &fv);
    static const char body[] = "<report>exact bytes</report>";
    crgw_cache_query q = {.cfg = &cfg,
                          .body = body,
                          .body_len = sizeof(body) - 1,
                          .scenario = "tender",
                          .version = "trust-v1"};

    /* miss, then hit with the identical verdict */
    answer a1 = {0}, a2 = {0};
    crgw_cache_submit(c, &q, on_done, &a1);
    run_until(base, &a1.done, 1);
    json_t *j1 = parse_answer(&a1);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "miss");
    cr_assert_eq(fv.calls, 1);
    crgw_cache_submit(c, &q, on_done, &a2);
    run_until(base, &a2.done, 1);
    json_t *j2 = parse_answer(&a2);
    cr_assert_str_eq(json_string_value(json_object_get(j2, "cache")), "hit", "%s", a2.body);
    cr_assert_eq(fv.calls, 1, "a hit does not verify");
    json_t *cur = json_object_get(j2, "current");
    cr_assert_eq(json_array_size(json_object_get(cur, "changed_records")), 0);
    cr_assert_str_neq(json_string_value(json_object_get(cur, "as_of")), "");
    json_object_del(j1, "cache");
    json_object_del(j2, "cache");
    json_object_del(j1, "current");
    json_object_del(j2, "current");
    json_object_del(j1, "cache_age_s");
    json_object_del(j2, "cache_age_s");
    cr_assert(json_equal(j1, j2), "identical verdicts on miss and hit");
    json_decref(j1);
    json_decref(j2);

    /* another trust version: unreachable entry, verified again */
    answer a3 = {0};
    crgw_cache_query q2 = q;
    q2.version = "trust-v2";
    crgw_cache_submit(c, &q2, on_done, &a3);
    run_until(base, &a3.done, 1);
    j1 = parse_answer(&a3);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "miss");
    cr_assert_eq(fv.calls, 2);
    json_decref(j1);

    /* a repair decided now shows on the next hit */
    int acks = 0;
    cr_assert_eq(crgw_redis_command(rc, on_cmd, &acks, "HSET crgw:rs:91120116MA06T8E28X %s %s",
                                    "120000:TJJT-2026-0088",
                                    "{\"origin_node\":\"120000\",\"record_id\":\"TJJT-2026-0088\","
                                    "\"status\":\"repaired\",\"decided_at\":"
                                    "\"2026-11-22T16:00:00+08:00\",\"event_id\":\"E1\","
                                    "\"origin_seq\":1}"),
                 0);
    run_until(base, &acks, 1);
    answer a4 = {0};
    crgw_cache_submit(c, &q, on_done, &a4);
    run_until(base, &a4.done, 1);
    j1 = parse_answer(&a4);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "hit");
    json_t *ch = json_object_get(json_object_get(j1, "current"), "changed_records");
    cr_assert_eq(json_array_size(ch), 1, "%s", a4.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(ch, 0), "status")),
                     "repaired");
    json_decref(j1);

    /* 200 identical concurrent misses: one verification */
    static const char body2[] = "<report>another</report>";
    crgw_cache_query q3 = q;
    q3.body = body2;
    q3.body_len = sizeof(body2) - 1;
    answer many[200];
    memset(many, 0, sizeof(many));
    int calls_before = fv.calls;
    crgw_cache_stats st0, st1;
    crgw_cache_get_stats(c, &st0);
    for (int i = 0; i < 200; i++)
        crgw_cache_submit(c, &q3, on_done, &many[i]);
    for (int i = 0; i < 200; i++)
        run_until(base, &many[i].done, 1);
    cr_assert_eq(fv.calls, calls_before + 1, "exactly one verification");
    crgw_cache_get_stats(c, &st1);
    cr_assert_eq(st1.coalesced - st0.coalesced, 199);
    for (int i = 0; i < 200; i++) {
        cr_assert_eq(many[i].done, 1);
        cr_assert_str_eq(many[i].body, many[0].body);
    }
    for (int i = 0; i < 200; i++)
        free(many[i].body);

    /* TRY_LATER is never stored */
    static const char body3[] = "<report>crl missing</report>";
    crgw_cache_query q4 = q;
    q4.body = body3;
    q4.body_len = sizeof(body3) - 1;
    fv.sub_try_later = 1;
    answer t1 = {0}, t2 = {0};
    crgw_cache_submit(c, &q4, on_done, &t1);
    run_until(base, &t1.done, 1);
    crgw_cache_submit(c, &q4, on_done, &t2);
    run_until(base, &t2.done, 1);
    j1 = parse_answer(&t2);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "miss");
    json_decref(j1);
    fv.sub_try_later = 0;

    /* reports are stored for legal persons only: an individual business is verified each time,
     * and its question 3 is still answered (it has a USCC) */
    static const char body5[] = "<report>individual business</report>";
    crgw_cache_query q5 = q;
    q5.body = body5;
    q5.body_len = sizeof(body5) - 1;
    fv.subject_type = "individual_business";
    answer i1 = {0}, i2 = {0};
    crgw_cache_submit(c, &q5, on_done, &i1);
    run_until(base, &i1.done, 1);
    crgw_cache_submit(c, &q5, on_done, &i2);
    run_until(base, &i2.done, 1);
    j1 = parse_answer(&i2);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "miss", "not stored");
    cr_assert_eq(
        json_array_size(json_object_get(json_object_get(j1, "current"), "changed_records")), 1,
        "%s", i2.body);
    json_decref(j1);
    free(i1.body);
    free(i2.body);
    fv.subject_type = NULL;

    /* Redis gone: bypass, correct verdict, currency marked unavailable */
    redis_stop();
    answer a5 = {0};
    int before = fv.calls;
    crgw_cache_submit(c, &q, on_done, &a5);
    run_until(base, &a5.done, 1);
    j1 = parse_answer(&a5);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "cache")), "bypass", "%s", a5.body);
    cr_assert_str_eq(json_string_value(json_object_get(j1, "indication")), "TOTAL_PASSED");
    cr_assert(json_is_null(json_object_get(json_object_get(j1, "current"), "changed_records")));
    cr_assert_eq(fv.calls, before + 1);
    cr_assert_not_null(crgw_cache_not_ready(c));
    json_decref(j1);

    free(a1.body);
    free(a2.body);
    free(a3.body);
    free(a4.body);
    free(a5.body);
    free(t1.body);
    free(t2.body);
    crgw_cache_free(c);
    crgw_redis_free(rc);
    event_base_free(base);
}

Test(cache_flow, without_redis_every_answer_is_bypass)
{
    struct event_base *base = event_base_new();
    crgw_config cfg = {0};
    crgw_cache_conf cc = {.enabled = 1, .max_ttl_s = 86400};
    with_cache_section(&cfg, &cc);
    fake_verifier fv = {0};
    fv.natural = 1;
    crgw_cache *c = crgw_cache_new(base, NULL, fake_verify, &fv);
    crgw_cache_query q = {.cfg = &cfg, .body = "x", .body_len = 1, .version = "v"};
    answer a = {0};
    crgw_cache_submit(c, &q, on_done, &a);
    cr_assert_eq(a.done, 0, "verifications run from the loop, not inside the handler");
    run_until(base, &a.done, 1);
    json_t *j = parse_answer(&a);
    cr_assert_str_eq(json_string_value(json_object_get(j, "cache")), "bypass");
    /* natural person: no USCC, nothing to look up: an empty list that is not a guess */
    cr_assert_eq(json_array_size(json_object_get(json_object_get(j, "current"), "changed_records")),
                 0);
    json_decref(j);
    free(a.body);
    crgw_cache_free(c);
    event_base_free(base);
}
