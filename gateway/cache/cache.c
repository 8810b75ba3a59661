/*
 * cache: the verdict cache (see cache.h for the design and its reasons).
 *
 * A request becomes a *flight* (one per distinct key at a time; identical requests join it as
 * waiters). A flight sends GET <key>, pipelined with HGETALL crgw:rs:<uscc> when the subject of
 * the body is remembered; on a miss it verifies (synchronously, on the loop), stores the entry
 * (SET EX, not awaited) and reads the repair-status store if it could not be pipelined; then
 * it answers every waiter with the same body. A deadline timer bounds every wait on Redis:
 * when it fires, pending commands are detached (their callbacks run later and only free their
 * op) and the flight goes on without the cache.
 */
#include "gateway/cache/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/server/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/redis.h"

#define FLIGHT_BUCKETS 1024
#define MEMO_SLOTS 4096
#define USCC_MAX 24
#define INFO_POLL_S 1
#define SLOW_WINDOW_US (5u * 1000 * 1000)
#define ANSWER_LIMIT (64u * 1024 * 1024)
#define VERSION_MAX 132      /* answer version text (hex digest) */
#define VERIFY_SLICE_US 2000 /* verifications per loop turn: at most this long, then poll */

enum { OUT_HIT, OUT_MISS, OUT_BYPASS };
enum { OP_GET, OP_HGETALL, OP_SET, OP_INFO };
static const char *const op_names[] = {"get", "hgetall", "set", "info"};

typedef struct flight flight;

typedef struct op {
    crgw_cache *c;
    flight *f; /* NULL once detached */
    int kind;
    uint64_t sent_us;
} op;

typedef struct waiter {
    struct waiter *next;
    crgw_cache_done_fn done;
    void *priv;
} waiter;

struct flight {
    flight *next;           /* hash chain */
    flight *anext, **aprev; /* every live flight (crgw_cache_free) */
    crgw_cache *c;
    int in_table;
    unsigned char key[32];
    char rkey[sizeof(CRGW_CACHE_KEY_PREFIX) + 64];
    unsigned char body_digest[32];
    crgw_cache_query q;        /* the leader's: valid until the flight answers */
    char version[VERSION_MAX]; /* copy of q.version (the caller's storage may change) */
    waiter *waiters, **tail;

    op *get_op;
    op *rs_op;
    char rs_uscc[USCC_MAX];
    int rs_state; /* 0 none, 1 pending, 2 done (changed set), 3 failed */
    int expired;  /* deadline passed: no more waiting on Redis */
    int deadline_armed;
    struct event deadline;

    flight *vq_next; /* verification queue */
    int queued;
    const char *vq_reason; /* bypass reason, NULL for a miss */
    int outcome;           /* OUT_* */
    const char *bypass_reason;
    int have_verdict;
    int status;    /* HTTP status of the answer */
    char *verdict; /* verdict JSON text (status 200) or the problem body */
    size_t vlen;
    int64_t computed_at;
    crgw_cache_subject subj;
    json_t *changed; /* current.changed_records, NULL = unavailable */
    const char *unavailable;
};

typedef struct {
    unsigned char digest[32];
    char uscc[USCC_MAX];
    int used;
} memo_slot;

struct crgw_cache {
    struct event_base *base;
    crgw_redis *rc;
    crgw_cache_verify_fn verify;
    void *verify_ctx;
    flight *table[FLIGHT_BUCKETS];
    flight *all;
    memo_slot *memo;
    flight *vq_head, **vq_tail; /* flights waiting for their verification */
    struct event *vq_timer;
    struct event *info_timer;
    int info_pending;
    long long evicted_seen; /* -1 until the first INFO */
    uint64_t last_slow_us;
    uint64_t outstanding; /* ops not called back yet */
    int dead;             /* freed while ops were outstanding */
    crgw_cache_stats st;
};

static void flight_currency(flight *f);

/* ---------- pure helpers ---------- */

/* SHA-256, fetched once (an implicit fetch per digest takes a lock in OpenSSL 3). */
static const EVP_MD *sha256_md(void)
{
    static EVP_MD *md;
    if (!md)
        md = EVP_MD_fetch(NULL, "SHA256", NULL);
    crgw_assert(md != NULL);
    return md;
}

const EVP_MD *crgw_cache_sha256(void)
{
    return sha256_md();
}

void crgw_cache_key(const char *version, const char *scenario, const char *to,
                    const unsigned char body_digest[32], unsigned char out[32])
{
    static const char scheme[] = "crgw-verdict-cache-1";
    EVP_MD_CTX *sc = EVP_MD_CTX_new();
    crgw_assert(sc != NULL);
    crgw_assert(EVP_DigestInit_ex(sc, sha256_md(), NULL) == 1);
    EVP_DigestUpdate(sc, scheme, sizeof(scheme)); /* with its NUL: parts are NUL-separated */
    const char *parts[3] = {version ? version : "", scenario ? scenario : "", to ? to : ""};
    for (size_t i = 0; i < 3; i++) {
        /* a tag per part tells "absent" from "": absent parameters are not empty ones */
        const char tag = (i == 1 && !scenario) || (i == 2 && !to) ? '-' : '+';
        EVP_DigestUpdate(sc, &tag, 1);
        EVP_DigestUpdate(sc, parts[i], strlen(parts[i]) + 1);
    }
    EVP_DigestUpdate(sc, body_digest, 32);
    unsigned int n = 32;
    EVP_DigestFinal_ex(sc, out, &n);
    EVP_MD_CTX_free(sc);
}

int64_t crgw_cache_ttl(int64_t now, int64_t not_after, int failure, int max_ttl_s,
                       int failure_ttl_s)
{
    int64_t ttl = failure ? failure_ttl_s : max_ttl_s;
    if (not_after > 0 && not_after - now < ttl)
        ttl = not_after - now;
    /* never across a date boundary in Beijing time (recognition rules are stated in dates) */
    int64_t local = now + CRGW_BEIJING_OFFSET_S;
    int64_t midnight = (local / 86400 + 1) * 86400 - CRGW_BEIJING_OFFSET_S;
    if (midnight - now < ttl)
        ttl = midnight - now;
    return ttl > 0 ? ttl : 0;
}

static const char *str_at(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void crgw_cache_subject_cleanup(crgw_cache_subject *s)
{
    free(s->uscc);
    for (size_t i = 0; i < s->n_records; i++) {
        free(s->origin[i]);
        free(s->record_id[i]);
    }
    free(s->origin);
    free(s->record_id);
    memset(s, 0, sizeof(*s));
}

static void subject_add_record(crgw_cache_subject *s, const char *origin, const char *id)
{
    s->origin = xrealloc(s->origin, (s->n_records + 1) * sizeof(*s->origin));
    s->record_id = xrealloc(s->record_id, (s->n_records + 1) * sizeof(*s->record_id));
    s->origin[s->n_records] = xstrdup(origin);
    s->record_id[s->n_records] = xstrdup(id);
    s->n_records++;
}

void crgw_cache_subject_from_verdict(const json_t *answer, crgw_cache_subject *out)
{
    memset(out, 0, sizeof(*out));
    const json_t *report = json_object_get(answer, "report");
    const char *issuer = str_at(answer, "issuer_node");
    if (!issuer && json_is_object(report))
        issuer = str_at(json_object_get(report, "issuer"), "node");
    if (issuer && strlen(issuer) < sizeof(out->issuer))
        memcpy(out->issuer, issuer, strlen(issuer) + 1);
    if (!json_is_object(report)) {
        out->natural = 1; /* the verdict alone: nothing of the subject is known or kept */
        return;
    }
    const json_t *subject = json_object_get(report, "subject");
    const char *type = str_at(subject, "type");
    if (type && strcmp(type, "natural_person") == 0) {
        out->natural = 1;
        return;
    }
    out->legal_person = type && strcmp(type, "legal_person") == 0;
    const char *uscc = str_at(subject, "uscc");
    if (uscc && *uscc && strlen(uscc) < USCC_MAX)
        out->uscc = xstrdup(uscc);
    const char *issued = str_at(report, "issued_at");
    if (!issued || crgw_time_parse_rfc3339(issued, 0, &out->issued_at) != 0)
        out->issued_at = 0;
    const json_t *recs = json_object_get(report, "records");
    size_t i;
    const json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        const char *id = str_at(rec, "record_id");
        const char *origin = str_at(rec, "origin_node");
        if (!origin)
            origin = out->issuer;
        if (id && *origin)
            subject_add_record(out, origin, id);
    }
}

static void copy_field(json_t *dst, const json_t *src, const char *k, const char *fallback)
{
    json_t *v = json_object_get(src, k);
    if (v)
        json_object_set(dst, k, v);
    else if (fallback)
        json_object_set_new(dst, k, json_string(fallback));
}

json_t *crgw_cache_changed_records(const crgw_cache_subject *s, const struct redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY)
        return NULL;
    json_t *out = json_array();
    char field[256];
    for (size_t r = 0; r < s->n_records; r++) {
        int n = snprintf(field, sizeof(field), "%s:%s", s->origin[r], s->record_id[r]);
        if (n < 0 || (size_t)n >= sizeof(field))
            continue;
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *k = reply->element[i], *v = reply->element[i + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
                k->len != (size_t)n || memcmp(k->str, field, (size_t)n) != 0)
                continue;
            json_t *e = json_loadb(v->str, v->len, 0, NULL);
            int64_t decided = 0;
            json_t *seq = json_object_get(e, "origin_seq");
            int decision = !json_is_integer(seq) || json_integer_value(seq) != 0;
            if (!json_is_object(e) ||
                (decision && crgw_time_parse_rfc3339(str_at(e, "decided_at"), 0, &decided) != 0)) {
                /* a record of this report whose state cannot be read: question 3 has no answer,
                 * and "nothing changed" would be a guess */
                log_warn("cache: unreadable repair-status entry %s", field);
                json_decref(e);
                json_decref(out);
                return NULL;
            }
            if (decision && (s->issued_at == 0 || decided >= s->issued_at)) {
                json_t *o = json_object();
                copy_field(o, e, "origin_node", s->origin[r]);
                copy_field(o, e, "record_id", s->record_id[r]);
                copy_field(o, e, "domain", NULL);
                copy_field(o, e, "status", NULL);
                copy_field(o, e, "decided_at", NULL);
                copy_field(o, e, "event_id", NULL);
                json_array_append_new(out, o);
            }
            json_decref(e);
            break;
        }
    }
    return out;
}

char *crgw_cache_value_encode(const unsigned char body_digest[32], int64_t computed_at,
                              const crgw_cache_subject *s, const char *verdict, size_t vlen,
                              size_t *len)
{
    char hex[65];
    crgw_hex(body_digest, 32, hex);
    json_t *h = json_pack("{s:i,s:s,s:I,s:s,s:b}", "v", 1, "d", hex, "t", (json_int_t)computed_at,
                          "i", s->issuer, "n", s->natural);
    if (!s->natural && s->uscc) {
        json_object_set_new(h, "s", json_string(s->uscc));
        json_object_set_new(h, "ia", json_integer(s->issued_at));
        json_t *r = json_array();
        for (size_t i = 0; i < s->n_records; i++)
            json_array_append_new(r, json_pack("[ss]", s->origin[i], s->record_id[i]));
        json_object_set_new(h, "r", r);
    }
    char *head = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    crgw_assert(head != NULL);
    size_t hl = strlen(head);
    char *v = xmalloc(hl + 1 + vlen + 1);
    memcpy(v, head, hl);
    v[hl] = '\n';
    memcpy(v + hl + 1, verdict, vlen);
    v[hl + 1 + vlen] = '\0';
    free(head);
    *len = hl + 1 + vlen;
    return v;
}

int crgw_cache_value_decode(const char *value, size_t len, unsigned char body_digest[32],
                            int64_t *computed_at, crgw_cache_subject *s, const char **verdict,
                            size_t *vlen)
{
    memset(s, 0, sizeof(*s));
    const char *nl = memchr(value, '\n', len);
    if (!nl)
        return -1;
    json_t *h = json_loadb(value, (size_t)(nl - value), 0, NULL);
    if (!json_is_object(h))
        goto fail;
    if (json_integer_value(json_object_get(h, "v")) != 1 ||
        crgw_hex_decode(str_at(h, "d"), 32, body_digest) != 0 ||
        !json_is_integer(json_object_get(h, "t")))
        goto fail;
    *computed_at = json_integer_value(json_object_get(h, "t"));
    const char *issuer = str_at(h, "i");
    if (issuer && strlen(issuer) < sizeof(s->issuer))
        memcpy(s->issuer, issuer, strlen(issuer) + 1);
    s->natural = json_is_true(json_object_get(h, "n"));
    const char *uscc = str_at(h, "s");
    if (uscc && !s->natural) {
        if (strlen(uscc) >= USCC_MAX)
            goto fail;
        s->uscc = xstrdup(uscc);
        s->issued_at = json_integer_value(json_object_get(h, "ia"));
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(h, "r"), i, r)
        {
            const char *o = json_string_value(json_array_get(r, 0));
            const char *id = json_string_value(json_array_get(r, 1));
            if (!o || !id)
                goto fail;
            subject_add_record(s, o, id);
        }
    }
    json_decref(h);
    *verdict = nl + 1;
    *vlen = len - (size_t)(nl + 1 - value);
    if (*vlen < 2 || (*verdict)[0] != '{' || (*verdict)[*vlen - 1] != '}')
        goto fail_subject;
    return 0;

fail:
    json_decref(h);
fail_subject:
    crgw_cache_subject_cleanup(s);
    return -1;
}

int crgw_cache_splice(crgw_buf *out, const char *verdict, size_t vlen, int64_t now,
                      const json_t *changed, const char *unavailable, const char *cache,
                      int64_t age_s)
{
    while (vlen > 0 && (verdict[vlen - 1] == '\n' || verdict[vlen - 1] == ' '))
        vlen--;
    if (vlen < 2 || verdict[0] != '{' || verdict[vlen - 1] != '}')
        return CRGW_ERR_INVALID;
    size_t inner = 1;
    while (inner < vlen - 1 && (verdict[inner] == ' ' || verdict[inner] == '\n'))
        inner++;
    int empty = inner == vlen - 1;
    int rc = crgw_buf_add(out, verdict, vlen - 1);
    if (!empty)
        rc |= crgw_buf_adds(out, ",");
    if (changed) {
        char asof[40];
        crgw_time_format_rfc3339(now, asof, sizeof(asof));
        char *ch = json_dumps(changed, JSON_COMPACT);
        crgw_assert(ch != NULL);
        rc |=
            crgw_buf_printf(out, "\"current\":{\"as_of\":\"%s\",\"changed_records\":%s}", asof, ch);
        free(ch);
    } else {
        json_t *why = json_string(unavailable ? unavailable : "repair-status store unavailable");
        char *w = json_dumps(why, JSON_ENCODE_ANY);
        json_decref(why);
        crgw_assert(w != NULL);
        rc |= crgw_buf_printf(out,
                              "\"current\":{\"as_of\":null,\"changed_records\":null,"
                              "\"unavailable\":%s}",
                              w);
        free(w);
    }
    rc |= crgw_buf_printf(out, ",\"cache\":\"%s\",\"cache_age_s\":%lld}", cache,
                          (long long)(age_s > 0 ? age_s : 0));
    return rc ? CRGW_ERR_TOOBIG : 0;
}

/* ---------- metrics ---------- */

static void count_result(crgw_cache *c, int outcome)
{
    static const char *const labels[] = {"result=\"hit\"", "result=\"miss\"", "result=\"bypass\""};
    crgw_metrics_counter_add("crgw_cache_requests_total", labels[outcome], 1);
    if (outcome == OUT_HIT)
        c->st.hits++;
    else if (outcome == OUT_MISS)
        c->st.misses++;
    else
        c->st.bypasses++;
}

static void register_help(void)
{
    crgw_metrics_help("crgw_cache_requests_total", "Verify requests by cache result");
    crgw_metrics_help("crgw_cache_bypass_total", "Flights answered without the cache, by reason");
    crgw_metrics_help("crgw_cache_verifications_total",
                      "Verifications run by the verify route (misses and bypasses)");
    crgw_metrics_help("crgw_cache_coalesced_total",
                      "Requests that waited on an identical request's flight");
    crgw_metrics_help("crgw_cache_stores_total", "Verdict stores by result");
    crgw_metrics_help("crgw_cache_redis_seconds", "Round trip of the cache's Redis commands");
    crgw_metrics_help("crgw_cache_evicted_total",
                      "Keys evicted by Redis (INFO stats evicted_keys; all keys of that Redis)");
    crgw_metrics_help("crgw_cache_redis_evicted_keys",
                      "INFO stats evicted_keys of the Redis, as last polled (since its start)");
}

/* ---------- ops ---------- */

static op *op_new(crgw_cache *c, flight *f, int kind)
{
    op *o = xmalloc(sizeof(*o));
    o->c = c;
    o->f = f;
    o->kind = kind;
    o->sent_us = crgw_now_us();
    c->outstanding++;
    return o;
}

static void cache_destroy(crgw_cache *c);

/* Accounts for the end of an op; returns 1 when the cache is gone (caller must stop). */
static int op_end(op *o, const redisReply *reply)
{
    crgw_cache *c = o->c;
    c->outstanding--;
    if (reply) {
        char label[32];
        snprintf(label, sizeof(label), "cmd=\"%s\"", op_names[o->kind]);
        crgw_metrics_observe("crgw_cache_redis_seconds", label,
                             (double)(crgw_now_us() - o->sent_us) / 1e6);
    }
    if (c->dead) {
        if (c->outstanding == 0)
            cache_destroy(c);
        return 1;
    }
    return 0;
}

/* Sends a command; returns the op, or NULL when Redis is down (op freed). */
static op *op_send(crgw_cache *c, flight *f, int kind, crgw_redis_cb cb, int argc,
                   const char **argv, const size_t *argvlen)
{
    if (!c->rc)
        return NULL;
    op *o = op_new(c, f, kind);
    if (crgw_redis_commandargv(c->rc, cb, o, argc, argv, argvlen) != 0) {
        c->outstanding--;
        free(o);
        return NULL;
    }
    return o;
}

/* ---------- flights ---------- */

static size_t bucket_of(const unsigned char key[32])
{
    return ((size_t)key[0] << 8 | key[1]) % FLIGHT_BUCKETS;
}

static flight *table_find(crgw_cache *c, const unsigned char key[32])
{
    for (flight *f = c->table[bucket_of(key)]; f; f = f->next)
        if (memcmp(f->key, key, 32) == 0)
            return f;
    return NULL;
}

static void table_remove(crgw_cache *c, flight *f)
{
    if (!f->in_table)
        return;
    flight **pp = &c->table[bucket_of(f->key)];
    while (*pp && *pp != f)
        pp = &(*pp)->next;
    if (*pp)
        *pp = f->next;
    f->in_table = 0;
}

static memo_slot *memo_slot_of(crgw_cache *c, const unsigned char digest[32])
{
    return &c->memo[((size_t)digest[2] << 8 | digest[3]) % MEMO_SLOTS];
}

static void memo_put(crgw_cache *c, const unsigned char digest[32], const char *uscc)
{
    memo_slot *m = memo_slot_of(c, digest);
    memcpy(m->digest, digest, 32);
    size_t n = strlen(uscc);
    memcpy(m->uscc, uscc, n + 1);
    m->used = 1;
}

static const char *memo_get(crgw_cache *c, const unsigned char digest[32])
{
    memo_slot *m = memo_slot_of(c, digest);
    return m->used && memcmp(m->digest, digest, 32) == 0 ? m->uscc : NULL;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg);

static void arm_deadline(flight *f)
{
    if (f->deadline_armed)
        return;
    int ms = CRGW_CACHE_DEADLINE_MS;
    if (f->q.cfg && f->q.cfg->limits.redis_timeout_ms > 0 && f->q.cfg->limits.redis_timeout_ms < ms)
        ms = f->q.cfg->limits.redis_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_assign(&f->deadline, f->c->base, on_deadline, f);
    evtimer_add(&f->deadline, &tv);
    f->deadline_armed = 1;
}

static void flight_free(flight *f)
{
    *f->aprev = f->anext;
    if (f->anext)
        f->anext->aprev = f->aprev;
    if (f->deadline_armed)
        evtimer_del(&f->deadline);
    if (f->get_op)
        f->get_op->f = NULL;
    if (f->rs_op)
        f->rs_op->f = NULL;
    for (waiter *w = f->waiters, *n; w; w = n) {
        n = w->next;
        free(w);
    }
    free(f->verdict);
    crgw_cache_subject_cleanup(&f->subj);
    json_decref(f->changed);
    free(f);
}

static void flight_finish(flight *f)
{
    crgw_cache *c = f->c;
    table_remove(c, f);
    if (f->deadline_armed) {
        evtimer_del(&f->deadline);
        f->deadline_armed = 0;
    }
    int64_t now = crgw_wall_s();
    crgw_buf b;
    crgw_buf_init(&b, ANSWER_LIMIT);
    int status = f->status;
    const char *ctype = "application/json";
    if (status != 200) {
        ctype = "application/problem+json";
        crgw_buf_add(&b, f->verdict, f->vlen);
    } else {
        static const char *const names[] = {"hit", "miss", "bypass"};
        int rc = crgw_cache_splice(&b, f->verdict, f->vlen, now, f->changed, f->unavailable,
                                   names[f->outcome], now - f->computed_at);
        if (rc != 0) {
            log_error("cache: cannot build the answer (%d)", rc);
            crgw_buf_reset(&b);
            crgw_buf_adds(&b, "{\"type\":\"https://crgw.example/problems/internal\","
                              "\"title\":\"Internal error\",\"status\":500}");
            status = 500;
            ctype = "application/problem+json";
        }
    }
    waiter *ws = f->waiters;
    f->waiters = NULL;
    for (waiter *w = ws; w; w = w->next) {
        if (status == 200)
            count_result(c, f->outcome);
    }
    /* The flight is out of the table and owns nothing of the requests any more. */
    flight_free(f);
    for (waiter *w = ws, *n; w; w = n) {
        n = w->next;
        w->done(w->priv, status, ctype, b.data ? b.data : "", b.len);
        free(w);
    }
    crgw_buf_cleanup(&b);
}

static void on_set(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)rc;
    op *o = priv;
    crgw_cache *c = o->c;
    int ok = reply && reply->type == REDIS_REPLY_STATUS;
    if (op_end(o, reply)) {
        free(o);
        return;
    }
    free(o);
    if (ok) {
        c->st.stores++;
        crgw_metrics_counter_add("crgw_cache_stores_total", "result=\"ok\"", 1);
    } else {
        c->st.store_errors++;
        crgw_metrics_counter_add("crgw_cache_stores_total", "result=\"error\"", 1);
    }
}

static const char *subindication(const json_t *answer)
{
    const char *s = str_at(answer, "subindication");
    return s ? s : "";
}

/* Stores the verdict of a miss when allowed. */
static void flight_store(flight *f, const crgw_cache_verdict *v)
{
    crgw_cache *c = f->c;
    const crgw_cache_conf *cc = crgw_cache_conf_of(f->q.cfg);
    const char *sub = subindication(v->answer);
    const char *skip = NULL;
    if (!v->cacheable)
        skip = "not_cacheable";
    else if (strcmp(sub, "TRY_LATER") == 0 || strcmp(sub, "NOT_YET_VALID") == 0)
        skip = "not_cacheable";
    else if (!f->subj.legal_person &&
             (json_object_get(v->answer, "report") || json_object_get(v->answer, "translated")))
        skip = "not_legal_person"; /* reports are stored for legal persons only */

    int64_t ttl =
        crgw_cache_ttl(f->computed_at, v->not_after, v->failure, cc->max_ttl_s, cc->failure_ttl_s);
    if (!skip && ttl <= 0)
        skip = "expired";
    if (skip) {
        char label[48];
        snprintf(label, sizeof(label), "result=\"skipped_%s\"", skip);
        crgw_metrics_counter_add("crgw_cache_stores_total", label, 1);
        return;
    }
    size_t len;
    char *value = crgw_cache_value_encode(f->body_digest, f->computed_at, &f->subj, f->verdict,
                                          f->vlen, &len);
    char ttls[24];
    snprintf(ttls, sizeof(ttls), "%lld", (long long)ttl);
    const char *argv[] = {"SET", f->rkey, value, "EX", ttls};
    size_t argvlen[] = {3, strlen(f->rkey), len, 2, strlen(ttls)};
    if (!op_send(c, NULL, OP_SET, on_set, 5, argv, argvlen)) {
        c->st.store_errors++;
        crgw_metrics_counter_add("crgw_cache_stores_total", "result=\"error\"", 1);
    }
    free(value);
}

/* Verifies the leader's body (miss or bypass). */
static void flight_verify(flight *f, const char *bypass_reason)
{
    crgw_cache *c = f->c;
    if (bypass_reason) {
        f->outcome = OUT_BYPASS;
        f->bypass_reason = bypass_reason;
        char label[48];
        snprintf(label, sizeof(label), "reason=\"%s\"", bypass_reason);
        crgw_metrics_counter_add("crgw_cache_bypass_total", label, 1);
    } else {
        f->outcome = OUT_MISS;
    }
    crgw_cache_verdict v = {0};
    if (f->q.verify)
        f->q.verify(f->q.verify_ctx, &f->q, &v);
    else
        c->verify(c->verify_ctx, &f->q, &v);
    c->st.verifications++;
    crgw_metrics_counter_add("crgw_cache_verifications_total", NULL, 1);
    f->have_verdict = 1;
    f->computed_at = crgw_wall_s();
    f->status = v.status ? v.status : 500;
    if (!v.answer)
        v.answer = json_pack("{s:s,s:s,s:i}", "type", "https://crgw.example/problems/internal",
                             "title", "Internal error", "status", 500);
    f->verdict = json_dumps(v.answer, JSON_COMPACT);
    crgw_assert(f->verdict != NULL);
    f->vlen = strlen(f->verdict);
    if (f->status == 200) {
        crgw_cache_subject_from_verdict(v.answer, &f->subj);
        if (f->subj.uscc)
            memo_put(c, f->body_digest, f->subj.uscc);
        if (f->outcome == OUT_MISS)
            flight_store(f, &v);
    }
    json_decref(v.answer);
}

static void on_hgetall(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)rc;
    op *o = priv;
    flight *f = o->f;
    if (op_end(o, reply) || !f) {
        free(o);
        return;
    }
    free(o);
    f->rs_op = NULL;
    if (!f->have_verdict) {
        f->rs_state = 0; /* not expected (the flight is queued): sent again later */
        return;
    }
    if (reply && reply->type == REDIS_REPLY_ARRAY &&
        strcmp(f->rs_uscc, f->subj.uscc ? f->subj.uscc : "") == 0) {
        f->changed = crgw_cache_changed_records(&f->subj, reply);
        f->rs_state = f->changed ? 2 : 3;
        if (!f->changed)
            f->unavailable = "repair-status entry of a record unreadable";
    } else {
        f->rs_state = 3;
        f->unavailable = "repair-status store unavailable (redis error)";
    }
    if (f->have_verdict)
        flight_finish(f);
}

static int send_hgetall(flight *f, const char *uscc)
{
    char key[sizeof(CRGW_CACHE_RS_PREFIX) + USCC_MAX];
    snprintf(key, sizeof(key), "%s%s", CRGW_CACHE_RS_PREFIX, uscc);
    const char *argv[] = {"HGETALL", key};
    size_t argvlen[] = {7, strlen(key)};
    op *o = op_send(f->c, f, OP_HGETALL, on_hgetall, 2, argv, argvlen);
    if (!o)
        return -1;
    f->rs_op = o;
    f->rs_state = 1;
    snprintf(f->rs_uscc, sizeof(f->rs_uscc), "%s", uscc);
    return 0;
}

/* The verdict is known: answer question 3, then finish. */
static void flight_currency(flight *f)
{
    if (f->status != 200 || !f->subj.uscc) {
        if (f->status == 200 && !f->changed)
            f->changed = json_array(); /* no subject with a USCC: nothing can have changed */
        if (f->rs_op) {
            f->rs_op->f = NULL;
            f->rs_op = NULL;
        }
        flight_finish(f);
        return;
    }
    if (f->rs_op) {
        if (strcmp(f->rs_uscc, f->subj.uscc) == 0)
            return; /* pipelined with the GET: its reply comes next */
        f->rs_op->f = NULL;
        f->rs_op = NULL;
    }
    if (f->expired || !f->c->rc || !crgw_redis_up(f->c->rc) || send_hgetall(f, f->subj.uscc) != 0) {
        f->unavailable = "repair-status store unavailable (redis down or slow)";
        flight_finish(f);
        return;
    }
    arm_deadline(f);
}

/*
 * Verifications wait in a FIFO and run from a zero timer, at most VERIFY_SLICE_US per loop
 * turn (at least one): between turns the loop polls its sockets, so a burst of misses or of
 * bypassed requests (Redis down) never keeps /healthz or any other stream waiting for long.
 */
static void flight_enqueue(flight *f, const char *bypass_reason)
{
    crgw_cache *c = f->c;
    /* no Redis wait while queued: the deadline is for Redis only */
    if (f->deadline_armed) {
        evtimer_del(&f->deadline);
        f->deadline_armed = 0;
    }
    if (f->rs_op) { /* pipelined HGETALL: sent again once the records are known */
        f->rs_op->f = NULL;
        f->rs_op = NULL;
        f->rs_state = 0;
    }
    f->queued = 1;
    f->vq_reason = bypass_reason;
    f->vq_next = NULL;
    *c->vq_tail = f;
    c->vq_tail = &f->vq_next;
    if (!evtimer_pending(c->vq_timer, NULL)) {
        struct timeval tv = {0, 0};
        evtimer_add(c->vq_timer, &tv);
    }
}

static void on_vq_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_cache *c = arg;
    uint64_t start = crgw_now_us();
    do {
        flight *f = c->vq_head;
        c->vq_head = f->vq_next;
        if (!c->vq_head)
            c->vq_tail = &c->vq_head;
        f->queued = 0;
        flight_verify(f, f->vq_reason);
        flight_currency(f);
    } while (c->vq_head && crgw_now_us() - start < VERIFY_SLICE_US);
    if (c->vq_head) {
        struct timeval tv = {0, 0};
        evtimer_add(c->vq_timer, &tv);
    }
}

static void on_get(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)rc;
    op *o = priv;
    flight *f = o->f;
    if (op_end(o, reply) || !f) {
        free(o);
        return;
    }
    free(o);
    f->get_op = NULL;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply)
            log_warn("cache: GET: %s", reply->str);
        flight_enqueue(f, "error");
        return;
    } else if (reply->type == REDIS_REPLY_STRING) {
        unsigned char digest[32];
        const char *verdict;
        size_t vlen;
        if (crgw_cache_value_decode(reply->str, reply->len, digest, &f->computed_at, &f->subj,
                                    &verdict, &vlen) == 0 &&
            memcmp(digest, f->body_digest, 32) == 0) {
            f->outcome = OUT_HIT;
            f->have_verdict = 1;
            f->status = 200;
            f->verdict = xstrndup(verdict, vlen);
            f->vlen = vlen;
            if (f->subj.uscc)
                memo_put(f->c, f->body_digest, f->subj.uscc);
        } else {
            log_warn("cache: unreadable or foreign entry %s: verified again", f->rkey);
            crgw_cache_subject_cleanup(&f->subj);
            flight_enqueue(f, NULL);
            return;
        }
    } else {
        flight_enqueue(f, NULL); /* nil: a miss */
        return;
    }
    flight_currency(f);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    flight *f = arg;
    (void)fd;
    (void)what;
    f->deadline_armed = 0;
    f->expired = 1;
    f->c->last_slow_us = crgw_now_us();
    if (f->rs_op) {
        f->rs_op->f = NULL;
        f->rs_op = NULL;
        f->rs_state = 3;
        f->unavailable = "repair-status store unavailable (redis slow)";
    }
    if (f->get_op) {
        f->get_op->f = NULL;
        f->get_op = NULL;
        log_warn("cache: no answer from redis within the deadline: verifying without the cache");
        flight_enqueue(f, "timeout");
        return;
    }
    flight_finish(f);
}

static flight *flight_new(crgw_cache *c, const crgw_cache_query *q, const unsigned char digest[32],
                          crgw_cache_done_fn done, void *priv)
{
    flight *f = xcalloc(1, sizeof(*f));
    f->c = c;
    f->q = *q;
    if (q->version && strlen(q->version) < sizeof(f->version)) {
        memcpy(f->version, q->version, strlen(q->version) + 1);
        f->q.version = f->version;
    } else {
        f->q.version = NULL;
    }
    memcpy(f->body_digest, digest, 32);
    waiter *w = xcalloc(1, sizeof(*w));
    w->done = done;
    w->priv = priv;
    f->waiters = w;
    f->tail = &w->next;
    f->anext = c->all;
    if (c->all)
        c->all->aprev = &f->anext;
    f->aprev = &c->all;
    c->all = f;
    return f;
}

void crgw_cache_submit(crgw_cache *c, const crgw_cache_query *q, crgw_cache_done_fn done,
                       void *priv)
{
    unsigned char digest[32];
    if (q->body_digest)
        memcpy(digest, q->body_digest, 32);
    else
        crgw_assert(EVP_Digest(q->body, q->body_len, digest, NULL, sha256_md(), NULL) == 1);
    const char *no_cache = q->no_cache;
    if (!no_cache && (!q->version || strlen(q->version) >= VERSION_MAX || !q->cfg ||
                      !crgw_cache_conf_of(q->cfg)->enabled))
        no_cache = "disabled";
    if (no_cache) {
        flight *f = flight_new(c, q, digest, done, priv);
        flight_enqueue(f, no_cache);
        return;
    }
    unsigned char key[32];
    crgw_cache_key(q->version, q->scenario, q->to, digest, key);
    flight *f = table_find(c, key);
    if (f) {
        waiter *w = xcalloc(1, sizeof(*w));
        w->done = done;
        w->priv = priv;
        *f->tail = w;
        f->tail = &w->next;
        c->st.coalesced++;
        crgw_metrics_counter_add("crgw_cache_coalesced_total", NULL, 1);
        return;
    }
    f = flight_new(c, q, digest, done, priv);
    memcpy(f->key, key, 32);
    char hex[65];
    crgw_hex(key, 32, hex);
    snprintf(f->rkey, sizeof(f->rkey), "%s%s", CRGW_CACHE_KEY_PREFIX, hex);
    if (!c->rc || !crgw_redis_up(c->rc)) {
        flight_enqueue(f, "down");
        return;
    }
    const char *argv[] = {"GET", f->rkey};
    size_t argvlen[] = {3, strlen(f->rkey)};
    f->get_op = op_send(c, f, OP_GET, on_get, 2, argv, argvlen);
    if (!f->get_op) {
        flight_enqueue(f, "down");
        return;
    }
    const char *uscc = memo_get(c, digest);
    if (uscc)
        send_hgetall(f, uscc); /* pipelined: one round trip for the whole hit */
    size_t b = bucket_of(key);
    f->next = c->table[b];
    c->table[b] = f;
    f->in_table = 1;
    arm_deadline(f);
}

/* ---------- evictions (INFO stats) ---------- */

static void on_info(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)rc;
    op *o = priv;
    crgw_cache *c = o->c;
    if (op_end(o, reply)) {
        free(o);
        return;
    }
    free(o);
    c->info_pending = 0;
    if (!reply || reply->type != REDIS_REPLY_STRING)
        return;
    const char *p = strstr(reply->str, "\nevicted_keys:");
    if (!p)
        return;
    long long n = strtoll(p + 14, NULL, 10);
    if (c->evicted_seen >= 0) {
        /* a restarted Redis starts again from 0 */
        long long d = n >= c->evicted_seen ? n - c->evicted_seen : n;
        if (d > 0)
            crgw_metrics_counter_add("crgw_cache_evicted_total", NULL, (uint64_t)d);
    } else {
        crgw_metrics_counter_add("crgw_cache_evicted_total", NULL, 0);
    }
    crgw_metrics_gauge_set("crgw_cache_redis_evicted_keys", NULL, (double)n);
    c->evicted_seen = n;
}

static void on_info_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_cache *c = arg;
    if (c->info_pending || !c->rc || !crgw_redis_up(c->rc))
        return;
    const char *argv[] = {"INFO", "stats"};
    size_t argvlen[] = {4, 5};
    if (op_send(c, NULL, OP_INFO, on_info, 2, argv, argvlen))
        c->info_pending = 1;
}

/* ---------- life cycle ---------- */

crgw_cache *crgw_cache_new(struct event_base *base, crgw_redis *rc, crgw_cache_verify_fn verify,
                           void *verify_ctx)
{
    crgw_cache *c = xcalloc(1, sizeof(*c));
    c->base = base;
    c->rc = rc;
    c->verify = verify;
    c->verify_ctx = verify_ctx;
    c->memo = xcalloc(MEMO_SLOTS, sizeof(*c->memo));
    c->evicted_seen = -1;
    c->vq_tail = &c->vq_head;
    c->vq_timer = evtimer_new(base, on_vq_timer, c);
    register_help();
    crgw_metrics_counter_add("crgw_cache_evicted_total", NULL,
                             0); /* the series exists from the start */
    c->info_timer = event_new(base, -1, EV_PERSIST, on_info_timer, c);
    struct timeval tv = {INFO_POLL_S, 0};
    event_add(c->info_timer, &tv);
    return c;
}

void crgw_cache_set_redis(crgw_cache *c, crgw_redis *rc)
{
    c->rc = rc;
}

static void cache_destroy(crgw_cache *c)
{
    free(c->memo);
    free(c);
}

void crgw_cache_free(crgw_cache *c)
{
    if (!c)
        return;
    c->vq_head = NULL; /* queued flights are in c->all too */
    c->vq_tail = &c->vq_head;
    event_free(c->vq_timer);
    c->vq_timer = NULL;
    /* answer what is still waiting: without the cache */
    while (c->all) {
        flight *f = c->all;
        table_remove(c, f);
        if (f->get_op) {
            f->get_op->f = NULL;
            f->get_op = NULL;
        }
        if (f->rs_op) {
            f->rs_op->f = NULL;
            f->rs_op = NULL;
        }
        f->expired = 1;
        if (!f->have_verdict)
            flight_verify(f, "shutdown");
        if (!f->changed)
            f->unavailable = "repair-status store unavailable (shutdown)";
        flight_finish(f);
    }
    event_free(c->info_timer);
    c->info_timer = NULL;
    if (c->outstanding > 0) {
        c->dead = 1; /* the last pending callback frees it */
        return;
    }
    cache_destroy(c);
}

const char *crgw_cache_not_ready(const crgw_cache *c)
{
    if (!c || !c->rc)
        return NULL;
    if (!crgw_redis_up(c->rc))
        return "verdict cache bypassed: redis down (verifying without the cache)";
    if (c->last_slow_us && crgw_now_us() - c->last_slow_us < SLOW_WINDOW_US)
        return "verdict cache degraded: redis slow (lookups bypassed)";
    return NULL;
}

void crgw_cache_get_stats(const crgw_cache *c, crgw_cache_stats *out)
{
    *out = c->st;
}

size_t crgw_cache_pending(const crgw_cache *c)
{
    return (size_t)c->outstanding;
}
