/*
 * outbox: per-destination delivery loops over Redis Streams (see outbox.h).
 */
#include "gateway/repair/outbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/repair/federation.h"
#include "gateway/repair/repair.h"
#include "gateway/repair/repair_state.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/peer_client.h"
#include "gateway/server/redis.h"
#include "gateway/server/server.h"

#define WINDOW 256
#define ACK_BATCH 256
#define POLL_MS 500
#define LAG_EVERY_POLLS 10 /* gauge crgw_repair_outbox_lag every 5 s */
#define CLAIM_INTERVAL_MS 5000
#define PEER_TIMEOUT_MS 5000
#define CONTACT_EVERY_MS 1000
#define PATH_EVENTS "/federation/v1/repair/events"
#define PATH_APPS "/federation/v1/repair/applications"

typedef struct dest dest;
typedef struct crgw_outbox crgw_outbox;

typedef struct entry {
    struct entry *next;
    dest *d;
    char id[48];
    char kind;
    char *eid;
    long long seq;
    char *payload;
    long long at;
    int inflight;
    unsigned long rg; /* the read that brought it (sent once rg <= dest.durable_gen) */
} entry;

enum { G_NONE = 0, G_CREATING, G_OK };

struct dest {
    char code[8];
    char key[64];
    char dead[64];
    char peerkey[64];
    entry *head, *tail;
    size_t n, inflight;
    int reading, claiming, group;
    int history_done;
    char last_pending[48];
    int attempts;
    int in_backoff;
    long long last_contact_ms;
    struct event *timer;
    struct event *ack_ev; /* flushes the batch of acknowledgements */
    char (*acks)[48];
    size_t n_acks;
    crgw_outbox *ob;
    /* durability before delivery (redis.min_replicas_ack): reads are numbered; an entry is sent
     * only once a WAIT on the connection it was read from covered its read */
    unsigned long read_gen, durable_gen, confirm_gen;
    unsigned long conn_gen, confirm_conn;
    int confirming;
};

struct crgw_outbox {
    crgw_server *srv;
    crgw_config *cfg;
    crgw_redis *rc;
    crgw_peers *peers;
    dest *d;
    size_t n;
    struct event *poll;
    struct event *claim;
    char consumer[160];
    long long claim_idle_ms;
    int running;
    const crgw_federation *fed; /* signs every message */
    unsigned ticks;             /* polls, for the lag gauge */
    struct sigslot *sigcache;   /* SIGCACHE slots of signed messages */
};

static void pump(dest *d);

static dest *find_dest(crgw_outbox *ob, const char *code)
{
    for (size_t i = 0; i < ob->n; i++)
        if (strcmp(ob->d[i].code, code) == 0)
            return &ob->d[i];
    return NULL;
}

static void entry_free(entry *e)
{
    free(e->eid);
    free(e->payload);
    free(e);
}

static void queue_remove(dest *d, entry *e)
{
    entry **pp = &d->head;
    entry *prev = NULL;
    while (*pp && *pp != e) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL)
        return;
    *pp = e->next;
    if (d->tail == e)
        d->tail = prev;
    d->n--;
}

static int queue_has(const dest *d, const char *id)
{
    for (const entry *e = d->head; e; e = e->next)
        if (strcmp(e->id, id) == 0)
            return 1;
    return 0;
}

static void ignore_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    (void)reply;
    (void)priv;
}

/* Acknowledges one entry away at once. */
static void ack_now(const dest *d, const char *id)
{
    crgw_outbox *ob = d->ob;
    crgw_repair_outbox_ack_args a = {.dest = d->code, .ids = &id, .n_ids = 1};
    (void)crgw_repair_store_outbox_ack(ob->rc, &a, ignore_cb, NULL);
}

/* Appends a stream entry [id, [f, v, ...]]; returns 1 if added. Entries without fields (deleted
 * while pending) are acknowledged away. */
static int queue_add(dest *d, const struct redisReply *it)
{
    if (it->type != REDIS_REPLY_ARRAY || it->elements != 2 ||
        it->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    const char *id = it->element[0]->str;
    const struct redisReply *f = it->element[1];
    if (strlen(id) >= sizeof(((entry *)0)->id) || queue_has(d, id))
        return 0;
    if (f->type != REDIS_REPLY_ARRAY || f->elements == 0) {
        ack_now(d, id);
        return 0;
    }
    entry *e = xcalloc(1, sizeof(*e));
    e->d = d;
    snprintf(e->id, sizeof(e->id), "%s", id);
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "k") == 0)
            e->kind = v[0];
        else if (strcmp(k, "id") == 0)
            e->eid = xstrdup(v);
        else if (strcmp(k, "seq") == 0)
            e->seq = strtoll(v, NULL, 10);
        else if (strcmp(k, "p") == 0)
            e->payload = xstrdup(v);
        else if (strcmp(k, "at") == 0)
            e->at = strtoll(v, NULL, 10);
    }
    if (e->eid == NULL || e->payload == NULL || (e->kind != 'e' && e->kind != 'a')) {
        log_warn("outbox %s: malformed entry %s dropped", d->code, id);
        ack_now(d, id);
        entry_free(e);
        return 0;
    }
    e->rg = d->read_gen;
    *(d->tail ? &d->tail->next : &d->head) = e;
    d->tail = e;
    d->n++;
    return 1;
}

/*
 * Durability before delivery. An entry read from the stream may be a write the replicas do not
 * have yet (its decision was answered 503 durability-not-reached, or not answered yet): it is
 * held until a WAIT on the same connection confirms it. When the connection changes (failover),
 * held entries are dropped and the stream is read again from the new primary: an entry lost with
 * the old primary is never sent, so its origin_seq, taken again by a later decision on the new
 * primary, reaches the peers only once, with that later event.
 */
static void check_gen(dest *d)
{
    unsigned long g = crgw_redis_generation(d->ob->rc);
    if (g == d->conn_gen)
        return;
    d->conn_gen = g;
    size_t dropped = 0;
    for (entry *e = d->head, *next; e; e = next) {
        next = e->next;
        if (e->rg > d->durable_gen && !e->inflight) {
            queue_remove(d, e);
            entry_free(e);
            dropped++;
        }
    }
    d->read_gen = d->durable_gen;
    if (dropped) {
        log_info("outbox %s: new Redis connection: %zu unconfirmed entries read again", d->code,
                 dropped);
        d->history_done = 0;
        d->last_pending[0] = '\0';
    }
}

static void confirm_cb(crgw_redis *rc, int ok, long acks, void *priv)
{
    (void)acks;
    dest *d = priv;
    d->confirming = 0;
    if (!d->ob->running)
        return;
    if (ok && d->confirm_conn == crgw_redis_generation(rc) && d->confirm_conn == d->conn_gen &&
        d->confirm_gen > d->durable_gen) {
        d->durable_gen = d->confirm_gen;
        pump(d);
    } /* else the poll timer asks again */
}

static void confirm(dest *d)
{
    if (d->confirming || d->durable_gen >= d->read_gen)
        return;
    if (crgw_redis_min_acks(d->ob->rc) <= 0) { /* nothing to wait for */
        d->durable_gen = d->read_gen;
        return;
    }
    d->confirming = 1;
    d->confirm_gen = d->read_gen;
    d->confirm_conn = crgw_redis_generation(d->ob->rc);
    if (crgw_redis_durable(d->ob->rc, confirm_cb, d) != 0)
        d->confirming = 0;
}

/* ---- delivery ---- */

static void backoff_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    dest *d = arg;
    d->in_backoff = 0;
    pump(d);
}

static void start_backoff(dest *d, const char *why)
{
    crgw_outbox *ob = d->ob;
    if (d->in_backoff)
        return;
    d->attempts++;
    crgw_config *cfg = ob->cfg;
    long long base =
        crgw_repair_conf_of(cfg)->retry_base_ms > 0 ? crgw_repair_conf_of(cfg)->retry_base_ms : 200;
    long long max =
        crgw_repair_conf_of(cfg)->retry_max_ms > 0 ? crgw_repair_conf_of(cfg)->retry_max_ms : 60000;
    long long delay = base;
    for (int i = 1; i < d->attempts && delay < max; i++)
        delay *= 2;
    if (delay > max)
        delay = max;
    /* Jitter: half fixed, half random (decorrelates the retries of several processes). */
    delay = delay / 2 + (delay > 1 ? random() % (delay / 2 + 1) : 0);
    d->in_backoff = 1;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(d->timer, &tv);
    (void)crgw_redis_command(ob->rc, ignore_cb, NULL, "HINCRBY %s retries 1", d->peerkey);
    char lab[48];
    snprintf(lab, sizeof(lab), "dest=\"%s\"", d->code);
    crgw_metrics_counter_add("crgw_repair_outbox_retries_total", lab, 1);
    log_debug("outbox %s: %s; retry %d in %lld ms", d->code, why, d->attempts, delay);
}

static void move_dead(dest *d, entry *e, const char *reason)
{
    crgw_outbox *ob = d->ob;
    crgw_repair_outbox_dead_args a = {.dest = d->code,
                                      .entry_id = e->id,
                                      .kind = e->kind,
                                      .event_id = e->eid,
                                      .seq = e->seq,
                                      .payload = e->payload,
                                      .at_ms = e->at,
                                      .reason = reason};
    (void)crgw_repair_store_outbox_dead(ob->rc, &a, ignore_cb, NULL);
    char lab[48];
    snprintf(lab, sizeof(lab), "dest=\"%s\"", d->code);
    crgw_metrics_counter_add("crgw_repair_outbox_dead_letters_total", lab, 1);
    crgw_repair_audit(d->ob->srv, "dead_lettered", e->kind == 'a' ? "application_id" : "event_id",
                      e->eid, d->code, reason);
    log_warn("outbox %s: %s %s moved to dead letters: %s", d->code,
             e->kind == 'e' ? "event" : "application", e->eid, reason);
}

/* After an application reached its origin: submitted -> delivered (history, status). */
static void mark_delivered(const entry *e, const char *by)
{
    crgw_outbox *ob = e->d->ob;
    json_t *p = json_loads(e->payload, 0, NULL);
    json_t *rec = json_object_get(p, "record");
    const char *uscc = json_string_value(json_object_get(p, "subject_uscc"));
    const char *o = json_string_value(json_object_get(rec, "origin_node"));
    const char *rid = json_string_value(json_object_get(rec, "record_id"));
    const char *dom = json_string_value(json_object_get(rec, "domain"));
    if (uscc && o && rid && dom) {
        char now[40], field[160];
        crgw_rs_now_rfc3339(now, 0);
        snprintf(field, sizeof(field), "%s:%s", o, rid);
        json_t *h = crgw_rs_history_entry("delivered", now, by, NULL);
        char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(h);
        char *vs = crgw_rs_app_state_value(o, rid, dom, "delivered", now);
        crgw_repair_app_delivered_args a = {
            .app_id = e->eid, .uscc = uscc, .history_entry = hs, .field = field, .value = vs};
        (void)crgw_repair_store_app_delivered(ob->rc, &a, ignore_cb, NULL);
        free(hs);
        free(vs);
    }
    json_decref(p);
}

/* XACK + XDEL of delivered entries, batched per loop iteration (one script, one fsync). */
static void ack_flush(dest *d)
{
    crgw_outbox *ob = d->ob;
    if (d->n_acks == 0)
        return;
    const char **ids = xcalloc(d->n_acks, sizeof(char *));
    for (size_t i = 0; i < d->n_acks; i++)
        ids[i] = d->acks[i];
    crgw_repair_outbox_ack_args a = {.dest = d->code, .ids = ids, .n_ids = d->n_acks};
    (void)crgw_repair_store_outbox_ack(ob->rc, &a, ignore_cb, NULL);
    free(ids);
    d->n_acks = 0;
}

static void ack_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    ack_flush(arg);
}

static void ack_later(dest *d, const char *id)
{
    if (d->n_acks == ACK_BATCH)
        ack_flush(d);
    snprintf(d->acks[d->n_acks++], sizeof(d->acks[0]), "%s", id);
    if (d->n_acks == 1)
        event_active(d->ack_ev, EV_TIMEOUT, 0);
}

static void sent_cb(int status, const char *body, size_t len, const char *err, void *priv)
{
    (void)body;
    (void)len;
    entry *e = priv;
    dest *d = e->d;
    crgw_outbox *ob = d->ob;
    e->inflight = 0;
    d->inflight--;
    if (!ob->running)
        return; /* stopping: entries are freed by crgw_outbox_stop */
    char lab[64];
    if (status == 200 || status == 202) {
        snprintf(lab, sizeof(lab), "dest=\"%s\",result=\"delivered\"", d->code);
        crgw_metrics_counter_add("crgw_repair_outbox_deliveries_total", lab, 1);
        d->attempts = 0;
        crgw_repair_audit(ob->srv, e->kind == 'a' ? "application_sent" : "event_sent",
                          e->kind == 'a' ? "application_id" : "event_id", e->eid, d->code,
                          "delivered");
        ack_later(d, e->id);
        if (e->kind == 'a')
            mark_delivered(e, d->code);
        long long now = crgw_rs_now_ms();
        if (now - d->last_contact_ms >= CONTACT_EVERY_MS) {
            char ts[40];
            crgw_rs_now_rfc3339(ts, 0);
            d->last_contact_ms = now;
            (void)crgw_redis_command(ob->rc, ignore_cb, NULL, "HSET %s last_contact %s", d->peerkey,
                                     ts);
        }
        queue_remove(d, e);
        entry_free(e);
        pump(d);
        return;
    }
    snprintf(lab, sizeof(lab), "dest=\"%s\",result=\"failed\"", d->code);
    crgw_metrics_counter_add("crgw_repair_outbox_deliveries_total", lab, 1);
    int permanent = status >= 400 && status < 500 && status != 408 && status != 429;
    long long age_ms = crgw_rs_now_ms() - e->at;
    if (permanent || age_ms > (long long)crgw_repair_conf_of(ob->cfg)->dead_letter_after_s * 1000) {
        char reason[128];
        if (permanent)
            snprintf(reason, sizeof(reason), "refused by the peer with HTTP %d", status);
        else
            snprintf(reason, sizeof(reason), "undelivered after %lld s (last: %s)", age_ms / 1000,
                     status ? "HTTP error" : (err ? err : "no answer"));
        move_dead(d, e, reason);
        queue_remove(d, e);
        entry_free(e);
        pump(d);
        return;
    }
    /* Entries waiting behind the probe age too: move every expired one now. */
    long long limit_ms = (long long)crgw_repair_conf_of(ob->cfg)->dead_letter_after_s * 1000;
    long long now_ms = crgw_rs_now_ms();
    for (entry *x = d->head, *next; x; x = next) {
        next = x->next;
        if (!x->inflight && now_ms - x->at > limit_ms) {
            move_dead(d, x, "undelivered within repair.dead_letter_after_s");
            queue_remove(d, x);
            entry_free(x);
        }
    }
    char why[160];
    snprintf(why, sizeof(why), "delivery failed: %s%s", status ? "HTTP " : "",
             status ? (status >= 500 ? "5xx" : "error") : (err ? err : "no answer"));
    start_backoff(d, why);
}

/*
 * Signatures of recent entries, shared by the destinations: an event goes to several peers (and
 * is sent again on retries) but is signed once. Keyed by kind, seq and the exact payload.
 */
#define SIGCACHE 1024

typedef struct sigslot {
    char kind;
    long long seq;
    char *payload;
    char *jws;
    size_t len;
} sigslot;

static sigslot *sig_slot(const entry *e)
{
    uint32_t h = 2166136261u;
    for (const char *p = e->eid; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &e->d->ob->sigcache[(h ^ (uint32_t)e->seq) % SIGCACHE];
}

static void sig_cache_clear(crgw_outbox *ob)
{
    for (size_t i = 0; i < SIGCACHE; i++) {
        free(ob->sigcache[i].payload);
        free(ob->sigcache[i].jws);
        memset(&ob->sigcache[i], 0, sizeof(ob->sigcache[i]));
    }
}

static void send_entry(dest *d, entry *e)
{
    crgw_outbox *ob = d->ob;
    char *body = NULL;
    size_t blen = 0;
    char *payload = e->payload;
    char *owned = NULL;
    sigslot *slot = sig_slot(e);
    if (slot->jws && slot->kind == e->kind && slot->seq == e->seq &&
        strcmp(slot->payload, e->payload) == 0) {
        body = xmalloc(slot->len + 1);
        memcpy(body, slot->jws, slot->len + 1);
        blen = slot->len;
        goto post;
    }
    if (e->kind == 'e') {
        json_t *p = json_loads(e->payload, 0, NULL);
        if (!json_is_object(p)) {
            json_decref(p);
            move_dead(d, e, "payload is not JSON");
            queue_remove(d, e);
            entry_free(e);
            return;
        }
        json_object_set_new(p, "origin_seq", json_integer(e->seq));
        owned = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(p);
        payload = owned;
    }
    int rc = crgw_federation_sign(ob->fed, payload, strlen(payload), &body, &blen);
    free(owned);
    if (rc != 0) {
        log_error("outbox %s: cannot sign (federation key unusable)", d->code);
        start_backoff(d, "signing failed");
        return;
    }
    free(slot->payload);
    free(slot->jws);
    slot->kind = e->kind;
    slot->seq = e->seq;
    slot->payload = xstrdup(e->payload);
    slot->jws = xstrndup(body, blen);
    slot->len = blen;
post:
    e->inflight = 1;
    d->inflight++;
    if (crgw_peers_post(ob->peers, d->code, e->kind == 'e' ? PATH_EVENTS : PATH_APPS,
                        "application/jose", body, blen, sent_cb, e) != 0) {
        e->inflight = 0;
        d->inflight--;
        start_backoff(d, "peer not configured");
    }
    free(body);
}

/* ---- reading the stream ---- */

static void read_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    dest *d = priv;
    crgw_outbox *ob = d->ob;
    d->reading = 0;
    if (!ob->running)
        return;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        if (reply && strncmp(reply->str, "NOGROUP", 7) == 0)
            d->group = G_NONE;
        return; /* the poll timer tries again */
    }
    size_t added = 0, seen = 0;
    check_gen(d);
    d->read_gen++;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
        const struct redisReply *s = reply->element[0];
        if (s->type == REDIS_REPLY_ARRAY && s->elements == 2 &&
            s->element[1]->type == REDIS_REPLY_ARRAY) {
            const struct redisReply *items = s->element[1];
            seen = items->elements;
            for (size_t i = 0; i < items->elements; i++) {
                const struct redisReply *it = items->element[i];
                added += (size_t)queue_add(d, it);
                if (!d->history_done && it->type == REDIS_REPLY_ARRAY && it->elements >= 1 &&
                    it->element[0]->type == REDIS_REPLY_STRING)
                    snprintf(d->last_pending, sizeof(d->last_pending), "%s", it->element[0]->str);
            }
        }
    }
    if (!d->history_done && seen == 0) {
        d->history_done = 1;
        pump(d);
        return;
    }
    if (seen > 0)
        pump(d);
}

static void read_more(dest *d)
{
    crgw_outbox *ob = d->ob;
    if (d->reading || d->n >= WINDOW || !crgw_redis_up(ob->rc))
        return;
    char count[16];
    snprintf(count, sizeof(count), "%d", (int)(WINDOW - d->n));
    const char *from = d->history_done ? ">" : (d->last_pending[0] ? d->last_pending : "0");
    d->reading = 1;
    if (crgw_redis_command(ob->rc, read_cb, d, "XREADGROUP GROUP %s %s COUNT %s STREAMS %s %s",
                           CRGW_RS_GROUP, ob->consumer, count, d->key, from) != 0)
        d->reading = 0;
}

static void group_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    dest *d = priv;
    if (reply != NULL &&
        (reply->type == REDIS_REPLY_STATUS ||
         (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) == 0))) {
        d->group = G_OK;
        if (d->ob->running)
            pump(d);
    } else {
        d->group = G_NONE;
    }
}

static void pump(dest *d)
{
    crgw_outbox *ob = d->ob;
    if (!ob->running)
        return;
    if (d->group != G_OK) {
        if (d->group == G_NONE && crgw_redis_up(ob->rc)) {
            d->group = G_CREATING;
            if (crgw_redis_command(ob->rc, group_cb, d, "XGROUP CREATE %s %s 0 MKSTREAM", d->key,
                                   CRGW_RS_GROUP) != 0)
                d->group = G_NONE;
        }
        return;
    }
    check_gen(d);
    confirm(d);
    if (!d->in_backoff && d->inflight < d->n) {
        /* After a failure only one delivery probes the peer; the window opens on success. */
        size_t window = d->attempts > 0 ? 1 : WINDOW;
        for (entry *e = d->head, *next; e && d->inflight < window; e = next) {
            next = e->next;
            if (e->rg > d->durable_gen)
                break; /* not yet on the replicas */
            if (!e->inflight)
                send_entry(d, e);
            if (d->in_backoff)
                break;
        }
    }
    read_more(d);
}

/* ---- claiming the pending entries of dead consumers ---- */

static void claim_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    dest *d = priv;
    crgw_outbox *ob = d->ob;
    d->claiming = 0;
    if (!ob->running || reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
        return;
    const struct redisReply *items = reply->element[1];
    size_t added = 0;
    check_gen(d);
    d->read_gen++;
    for (size_t i = 0; items->type == REDIS_REPLY_ARRAY && i < items->elements; i++)
        added += (size_t)queue_add(d, items->element[i]);
    if (added) {
        log_info("outbox %s: claimed %zu pending deliveries of another process", d->code, added);
        pump(d);
    }
}

static void claim_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_outbox *ob = arg;
    for (size_t i = 0; i < ob->n; i++) {
        dest *d = &ob->d[i];
        if (d->group != G_OK || d->claiming || d->in_backoff || d->n >= WINDOW ||
            !crgw_redis_up(ob->rc))
            continue;
        char idle[24], count[16];
        snprintf(idle, sizeof(idle), "%lld", ob->claim_idle_ms);
        snprintf(count, sizeof(count), "%d", (int)(WINDOW - d->n));
        d->claiming = 1;
        if (crgw_redis_command(ob->rc, claim_cb, d, "XAUTOCLAIM %s %s %s %s 0-0 COUNT %s", d->key,
                               CRGW_RS_GROUP, ob->consumer, idle, count) != 0)
            d->claiming = 0;
    }
    struct timeval tv = {CLAIM_INTERVAL_MS / 1000, (CLAIM_INTERVAL_MS % 1000) * 1000};
    evtimer_add(ob->claim, &tv);
}

static void lag_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    dest *d = priv;
    if (!d->ob->running || reply == NULL || reply->type != REDIS_REPLY_INTEGER)
        return;
    char lab[32];
    snprintf(lab, sizeof(lab), "dest=\"%s\"", d->code);
    crgw_metrics_gauge_set("crgw_repair_outbox_lag", lab, (double)reply->integer);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    crgw_outbox *ob = arg;
    int lag = ob->ticks++ % LAG_EVERY_POLLS == 0 && crgw_redis_up(ob->rc);
    for (size_t i = 0; i < ob->n; i++) {
        pump(&ob->d[i]);
        if (lag)
            (void)crgw_redis_command(ob->rc, lag_cb, &ob->d[i], "XLEN %s", ob->d[i].key);
    }
    struct timeval tv = {0, POLL_MS * 1000};
    evtimer_add(ob->poll, &tv);
}

void crgw_outbox_kick(crgw_outbox *ob, const char *dest_code)
{
    dest *d = ob && ob->running ? find_dest(ob, dest_code) : NULL;
    if (d)
        pump(d);
}

crgw_outbox *crgw_outbox_start(crgw_server *s, const crgw_federation *fed)
{
    crgw_outbox *ob = xcalloc(1, sizeof(*ob));
    ob->fed = fed;
    ob->sigcache = xcalloc(SIGCACHE, sizeof(*ob->sigcache));
    ob->srv = s;
    ob->cfg = crgw_config_ref(crgw_server_config(s));
    struct event_base *base = crgw_server_base(s);
    char err[256];
    ob->peers = crgw_peers_new(base, ob->cfg, PEER_TIMEOUT_MS, err, sizeof(err));
    if (ob->peers == NULL) {
        log_error("outbox: %s", err);
        crgw_config_unref(ob->cfg);
        free(ob->sigcache);
        free(ob);
        return NULL;
    }
    /* A connection of its own: stream reads never queue behind request traffic. */
    ob->rc = crgw_redis_new(base, crgw_redis_addr(crgw_server_redis(s)),
                            ob->cfg->limits.redis_timeout_ms);
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    /* test-only overrides (several consumers of one node on one host): CRGW_TEST_* */
    const crgw_repair_conf *conf = crgw_repair_conf_of(ob->cfg);
    const char *cn = getenv("CRGW_TEST_OUTBOX_CONSUMER");
    if (!cn || !*cn)
        cn = conf->consumer;
    if (cn && *cn)
        snprintf(ob->consumer, sizeof(ob->consumer), "%s-w%d", cn, crgw_server_worker(s));
    else
        snprintf(ob->consumer, sizeof(ob->consumer), "%s-%s-w%d", host, ob->cfg->node,
                 crgw_server_worker(s));
    const char *ci = getenv("CRGW_TEST_OUTBOX_CLAIM_IDLE_MS");
    ob->claim_idle_ms = ci && *ci ? strtoll(ci, NULL, 10) : conf->claim_idle_ms;
    if (ob->claim_idle_ms < 100)
        ob->claim_idle_ms = 100;
    srandom((unsigned)(crgw_now_us() ^ (uint64_t)getpid()));
    ob->d = xcalloc(ob->cfg->n_nodes ? ob->cfg->n_nodes : 1, sizeof(dest));
    for (size_t i = 0; i < ob->cfg->n_nodes; i++) {
        const crgw_node *nd = &ob->cfg->nodes[i];
        if (strcmp(nd->code, ob->cfg->node) == 0)
            continue;
        dest *d = &ob->d[ob->n++];
        d->ob = ob;
        snprintf(d->code, sizeof(d->code), "%s", nd->code);
        crgw_rs_key(d->key, sizeof(d->key), "outbox", nd->code);
        crgw_rs_key(d->dead, sizeof(d->dead), "dead", nd->code);
        crgw_rs_key(d->peerkey, sizeof(d->peerkey), "peer", nd->code);
        d->timer = evtimer_new(base, backoff_cb, d);
        d->ack_ev = event_new(base, -1, 0, ack_cb, d);
        d->acks = xcalloc(ACK_BATCH, sizeof(*d->acks));
    }
    ob->poll = evtimer_new(base, poll_cb, ob);
    ob->claim = evtimer_new(base, claim_timer_cb, ob);
    struct timeval tv = {0, 50 * 1000};
    evtimer_add(ob->poll, &tv);
    struct timeval tc = {CLAIM_INTERVAL_MS / 1000, 0};
    evtimer_add(ob->claim, &tc);
    ob->running = 1;
    log_info("outbox: consumer %s, %zu destinations, claim idle %lld ms", ob->consumer, ob->n,
             ob->claim_idle_ms);
    return ob;
}

/* A destination's queue, timers and acknowledgement batch. */
static void dest_cleanup(dest *d)
{
    for (entry *e = d->head, *next; e; e = next) {
        next = e->next;
        entry_free(e);
    }
    event_free(d->timer);
    event_free(d->ack_ev);
    free(d->acks);
}

void crgw_outbox_stop(crgw_outbox *ob)
{
    if (!ob)
        return;
    ob->running = 0;
    crgw_peers_free(ob->peers); /* fails requests in flight: sent_cb sees !running */
    ob->peers = NULL;
    for (size_t i = 0; i < ob->n; i++)
        ack_flush(&ob->d[i]); /* best effort: unacknowledged entries are simply sent again */
    crgw_redis_free(ob->rc);  /* pending replies get NULL and see !running */
    ob->rc = NULL;
    for (size_t i = 0; i < ob->n; i++)
        dest_cleanup(&ob->d[i]);
    free(ob->d);
    struct event *timers[] = {ob->poll, ob->claim};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(timers); i++)
        event_free(timers[i]);
    crgw_config_unref(ob->cfg);
    sig_cache_clear(ob); /* the key may change with the next configuration */
    free(ob->sigcache);
    free(ob);
}
