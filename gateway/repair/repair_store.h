/*
 * repair_store: the Redis data model of credit repair, and its atomic operations (Lua scripts run
 * with EVALSHA, falling back to EVAL when Redis lost its script cache).
 *
 * Keys (one Redis per node, shared by every crgw process of the node):
 *   crgw:rs:<uscc>         hash, field "<origin_node>:<record_id>", value JSON
 *                          {"origin_node","record_id","domain","status","decided_at","event_id",
 *                           "origin_seq","received_at"}: what this node knows now of the record
 *                          (read by the verification cache: keep this layout). origin_seq 0 =
 *                          only an application state, no decision known yet.
 *   crgw:seq:<origin>      counter: origin_seq of this node's decisions (INCR in DECIDE)
 *   crgw:dedup:<origin>:<YYYYMMDD>
 *                          set of the event ids of origin received (or, at the origin, emitted)
 *                          on that day (Beijing time); expires after CRGW_RS_DEDUP_DAYS days.
 *                          An event is a duplicate when today's or yesterday's set holds it.
 *                          Memory stays bounded; an older replay is still never applied twice:
 *                          its origin_seq is not above the record's stored one, so it is refused
 *                          as stale (the per-record origin_seq is what guarantees "at most
 *                          once"; the sets tell duplicates from stale events in the counts)
 *   crgw:stats:events      hash applied / duplicate / stale: durable event counts
 *   crgw:audit:events      list "field origin_seq" of every applied event, only when crgw runs
 *                          with CRGW_TEST_REPAIR_AUDIT=1 (fault tests)
 *   crgw:app:<id>          hash: doc (the filed application, JSON), status, filed_at,
 *                          accepted_at, extended, history (JSON array), field, uscc,
 *                          applicant_node, last_seq
 *   crgw:apps:open         sorted set of open application ids (score: filing time, ms)
 *   crgw:apps:all          sorted set of every application id stored here (score: filing time,
 *                          ms), the newest CRGW_RS_APPS_ALL_MAX kept: GET /v1/repair/applications
 *   crgw:outbox:<dest>     stream of deliveries to node dest, consumer group "crgw"; entry fields
 *                          k (e = event, a = application), id, seq, p (payload JSON), at (ms)
 *   crgw:dead:<dest>       stream of dead letters (same fields + reason, dead_at)
 *   crgw:peer:<dest>       hash: last_contact (RFC 3339), retries
 *   crgw:idem:<route>:<h>  hash d (SHA-256 hex of the request body), s (answer status), b
 *                          (answer body): the answer to a request with an Idempotency-Key,
 *                          written by the script of the write itself; h = SHA-256 hex of
 *                          "<client identity> NUL <key>"; expires after CRGW_RS_IDEM_TTL_S
 *
 * Every write that must be atomic with another is one script: a decision INCRs the origin_seq,
 * updates the local status and the application, and XADDs to every destination's outbox in one
 * step; an incoming event is deduplicated, ordered against the stored origin_seq and applied in
 * one step. With `appendonly yes` + `appendfsync always` (ops/redis/redis.conf; tests start
 * redis-server that way) a script's effects are on disk before Redis answers, hence before crgw
 * answers the client or the sending peer.
 */
#ifndef CRGW_REPAIR_STORE_H
#define CRGW_REPAIR_STORE_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <jansson.h>

#include "gateway/server/http.h"
#include "gateway/server/redis.h"

#define CRGW_RS_GROUP "crgw"
#define CRGW_RS_DEDUP_DAYS 8
#define CRGW_RS_IDEM_TTL_S 86400
#define CRGW_RS_KEY_APPS_ALL "crgw:apps:all"
#define CRGW_RS_APPS_ALL_MAX 100000
#define CRGW_RS_APPS_ALL_MAX_S "100000"

/*
 * The Idempotency-Key of a write (DECIDE, APP_STORE): key NULL or "" = none (the script then
 * neither looks up nor stores an answer).
 */
typedef struct {
    const char *route;  /* "decisions", "applications" */
    const char *client; /* the caller's identity (crgw_req.client) */
    const char *key;    /* the Idempotency-Key as sent */
    const char *digest; /* SHA-256 hex of the request body */
} crgw_rs_idem;

/* SHA-256 hex of "<client> NUL <key>": the last part of the crgw:idem key. */
void crgw_rs_idem_hash(const char *client, const char *key, char out[65]);
/* SHA-256 hex of data. */
void crgw_rs_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * One call of a script, as sent: argv[0..nkeys-1] are its KEYS, argv[nkeys..n-1] its ARGV, in
 * the order the script reads them (repair_store.c lists both by name above each script). The
 * strings are borrowed from the arguments or, for the keys and numbers built here, owned by the
 * call (crgw_rs_call_cleanup frees them).
 */
typedef struct {
    int nkeys;
    int n;
    int cap;
    const char **argv;
    char **owned;
    int n_owned;
} crgw_rs_call;

void crgw_rs_call_cleanup(crgw_rs_call *c);

/*
 * Every crgw_repair_store_<script> below builds its call with crgw_repair_store_build_<script>
 * and runs it (EVALSHA, EVAL after NOSCRIPT). Returns 0 (cb called exactly once, reply NULL on
 * Redis failure) or CRGW_ERR_UNAVAILABLE (cb not called). Times: now_ms 0 = now.
 */

/*
 * DECIDE: a decision at its origin (this node). Reply: origin_seq, or NOAPP/MISMATCH/CONFLICT;
 * with an Idempotency-Key also an array {status, body} (the stored answer of the same request:
 * nothing written) or IDEMREUSED (the key came with another body).
 */
typedef struct {
    const char *node;        /* this node: crgw:seq:<node>, today's dedup set */
    const char *uscc;        /* normalised subject: crgw:rs:<uscc> */
    const char *app_id;      /* the application decided on; NULL or "" = none */
    const char *const *dest; /* an outbox entry for each destination node */
    size_t n_dest;
    const char *field;        /* "<origin>:<record_id>" */
    const char *value_prefix; /* the rs value is value_prefix .. origin_seq .. value_suffix */
    const char *value_suffix;
    const char *event_id;
    const char *payload; /* the event without origin_seq (JSON) */
    long long now_ms;    /* outbox "at" and the day of the dedup set */
    const char *decision;
    const char *history_entry; /* JSON object appended to the application's history */
    int extension;
    const char *decided_at;
    crgw_rs_idem idem;
    const char *answer_prefix; /* the answer is answer_prefix .. origin_seq .. answer_suffix */
    const char *answer_suffix;
    int answer_status;
} crgw_repair_decide_args;

void crgw_repair_store_build_decide(const crgw_repair_decide_args *a, crgw_rs_call *c);
int crgw_repair_store_decide(crgw_redis *rc, const crgw_repair_decide_args *a, crgw_redis_cb cb,
                             void *priv);

/* APPLY: an event of a peer (its origin). Reply: status "applied", "duplicate" or "stale". */
typedef struct {
    const char *origin; /* dedup sets crgw:dedup:<origin>:<today and yesterday> */
    const char *uscc;   /* crgw:rs:<uscc> */
    const char *app_id; /* NULL or "" = none */
    const char *event_id;
    long long origin_seq;
    const char *field; /* "<origin>:<record_id>" */
    const char *value; /* the rs value (JSON) */
    const char *decision;
    const char *history_entry; /* JSON object */
    int extension;
    const char *decided_at;
    int audit;        /* append "field origin_seq" to crgw:audit:events */
    long long now_ms; /* the day of the dedup sets */
} crgw_repair_apply_args;

void crgw_repair_store_build_apply(const crgw_repair_apply_args *a, crgw_rs_call *c);
int crgw_repair_store_apply(crgw_redis *rc, const crgw_repair_apply_args *a, crgw_redis_cb cb,
                            void *priv);

/*
 * APP_STORE: a new application. Reply: integer 1 stored, 0 already known (nothing changed); with
 * an Idempotency-Key also {status, body} or IDEMREUSED as DECIDE.
 */
typedef struct {
    const char *app_id;   /* crgw:app:<app_id>, member of crgw:apps:open */
    const char *uscc;     /* crgw:rs:<uscc>; also stored in the application */
    const char *dest;     /* NULL or "": no outbox entry; else one in crgw:outbox:<dest> */
    const char *doc;      /* the application as filed (JSON) */
    const char *filed_at; /* RFC 3339 */
    const char *history;  /* JSON array */
    const char *field;    /* "<origin>:<record_id>" */
    const char *value;    /* rs value, stored unless a decision is known */
    const char *payload;  /* outbox payload */
    long long now_ms;     /* outbox "at" */
    const char *applicant_node;
    long long filed_ms; /* score in crgw:apps:open */
    const char *status; /* "submitted" or "delivered" */
    crgw_rs_idem idem;
    const char *answer; /* the answer body, stored with the idempotency key */
    int answer_status;
} crgw_repair_app_store_args;

void crgw_repair_store_build_app_store(const crgw_repair_app_store_args *a, crgw_rs_call *c);
int crgw_repair_store_app_store(crgw_redis *rc, const crgw_repair_app_store_args *a,
                                crgw_redis_cb cb, void *priv);

/* APP_DELIVERED: submitted -> delivered. Reply: integer 1 moved, else 0. */
typedef struct {
    const char *app_id;
    const char *uscc;
    const char *history_entry; /* JSON object */
    const char *field;
    const char *value; /* rs value, stored unless a decision is known */
} crgw_repair_app_delivered_args;

void crgw_repair_store_build_app_delivered(const crgw_repair_app_delivered_args *a,
                                           crgw_rs_call *c);
int crgw_repair_store_app_delivered(crgw_redis *rc, const crgw_repair_app_delivered_args *a,
                                    crgw_redis_cb cb, void *priv);

/* OUTBOX_ACK: XACK + XDEL of entries of crgw:outbox:<dest>. Reply: integer acked count. */
typedef struct {
    const char *dest;
    const char *const *ids;
    size_t n_ids;
} crgw_repair_outbox_ack_args;

void crgw_repair_store_build_outbox_ack(const crgw_repair_outbox_ack_args *a, crgw_rs_call *c);
int crgw_repair_store_outbox_ack(crgw_redis *rc, const crgw_repair_outbox_ack_args *a,
                                 crgw_redis_cb cb, void *priv);

/* OUTBOX_DEAD: one entry of crgw:outbox:<dest> to crgw:dead:<dest>. Reply: integer 1. */
typedef struct {
    const char *dest;
    const char *entry_id; /* stream entry id */
    char kind;            /* 'e' event, 'a' application */
    const char *event_id;
    long long seq;
    const char *payload;
    long long at_ms;
    const char *reason;
    long long now_ms; /* dead_at */
} crgw_repair_outbox_dead_args;

void crgw_repair_store_build_outbox_dead(const crgw_repair_outbox_dead_args *a, crgw_rs_call *c);
int crgw_repair_store_outbox_dead(crgw_redis *rc, const crgw_repair_outbox_dead_args *a,
                                  crgw_redis_cb cb, void *priv);

/* REDRIVE: up to max dead letters of dest back into its outbox. Reply: integer how many. */
typedef struct {
    const char *dest;
    long long max;
} crgw_repair_redrive_args;

void crgw_repair_store_build_redrive(const crgw_repair_redrive_args *a, crgw_rs_call *c);
int crgw_repair_store_redrive(crgw_redis *rc, const crgw_repair_redrive_args *a, crgw_redis_cb cb,
                              void *priv);

/*
 * The rs value of a record known only through an application (origin_seq 0, no decision), as
 * the scripts store it: malloc'd JSON.
 */
char *crgw_rs_app_state_value(const char *origin, const char *record_id, const char *domain,
                              const char *status, const char *received_at);
/* A history entry {"status","at","node"[,"event_id"]} (new reference; event_id may be NULL). */
json_t *crgw_rs_history_entry(const char *status, const char *at, const char *node,
                              const char *event_id);

/*
 * The merged repair status of a subject (one HGETALL): cb gets a JSON array of the records
 * (borrowed: valid during the callback; sorted by origin_node, record_id), or NULL when Redis
 * failed. Returns 0 or CRGW_ERR_UNAVAILABLE (cb not called).
 */
int crgw_repair_status_fetch(crgw_redis *rc, const char *uscc,
                             void (*cb)(json_t *records, void *priv), void *priv);

/* "crgw:rs:<uscc>" etc. into out (size cap). Returns out. */
char *crgw_rs_key(char *out, size_t cap, const char *prefix, const char *id);
/* "crgw:dedup:<origin>:<YYYYMMDD>" of today (days_ago 0) or an earlier day. Returns out. */
char *crgw_rs_dedup_key(char *out, size_t cap, const char *origin, int days_ago);
/* The same for the day (Beijing time) of the instant now_ms (Unix ms) minus days_ago days. */
char *crgw_rs_dedup_key_at(char *out, size_t cap, const char *origin, long long now_ms,
                           int days_ago);

/* Current time as RFC 3339 in Beijing time ("2026-11-23T10:00:00+08:00"; with_ms adds .mmm). */
void crgw_rs_now_rfc3339(char out[40], int with_ms);
/* Unix time in ms (wall clock). */
long long crgw_rs_now_ms(void);

/*
 * NULL when reply is of the expected type (REDIS_REPLY_STRING also accepts a status reply), else
 * why not: the Redis error, or "Redis down" (no reply, or one of another type).
 */
const char *crgw_rs_reply_failed(const struct redisReply *reply, int type);

/* A request waiting for a store reply (priv of the script's callback). */
typedef struct {
    crgw_req *r;
    char id[72];    /* what the answer names: application, event, node or outbox destination */
    json_t *answer; /* an answer prepared before the call, or NULL */
    long long ms;   /* a time the callback needs (an event's emitted_ms), or 0 */
} crgw_rs_op;

/* A new op for r naming id (NULL = ""); free() it. */
crgw_rs_op *crgw_rs_op_new(crgw_req *r, const char *id);

/* Answers 503 store-unavailable "Repair store unavailable" with detail. */
void crgw_rs_unavailable(crgw_req *r, const char *detail);

/*
 * repair_durable.c: answers status with the JSON body (len bytes, copied; or json, stolen) once
 * the write it acknowledges is on redis.min_replicas_ack replicas (crgw_redis_durable), else 503
 * durability-not-reached (metric crgw_repair_durability_not_reached_total). Without
 * min_replicas_ack it answers at once.
 */
void crgw_rs_respond_durable(crgw_req *r, int status, const char *body, size_t len);
void crgw_rs_respond_json_durable(crgw_req *r, int status, json_t *json);

/* API status of a decision: "published" for revoked, else the decision itself. */
const char *crgw_rs_status_of_decision(const char *decision);
/* 1 when s is one of accepted refused repaired rejected revoked. */
int crgw_rs_decision_valid(const char *s);

#endif
