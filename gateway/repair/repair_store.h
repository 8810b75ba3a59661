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
 *   crgw:outbox:<dest>     stream of deliveries to node dest, consumer group "crgw"; entry fields
 *                          k (e = event, a = application), id, seq, p (payload JSON), at (ms)
 *   crgw:dead:<dest>       stream of dead letters (same fields + reason, dead_at)
 *   crgw:peer:<dest>       hash: last_contact (RFC 3339), retries
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

#include "gateway/server/redis.h"

#define CRGW_RS_GROUP "crgw"
#define CRGW_RS_DEDUP_DAYS 8

typedef enum {
    CRGW_RS_DECIDE = 0,    /* KEYS seq rs dedup app open stream...; ARGV see repair_store.c */
    CRGW_RS_APPLY,         /* KEYS dedup rs stats app open audit dedup-yesterday */
    CRGW_RS_APP_STORE,     /* KEYS app open rs [stream] */
    CRGW_RS_APP_DELIVERED, /* KEYS app rs */
    CRGW_RS_OUTBOX_ACK,    /* KEYS stream; ARGV group id... */
    CRGW_RS_OUTBOX_DEAD,   /* KEYS stream dead; ARGV group id k eid seq p at reason now */
    CRGW_RS_REDRIVE,       /* KEYS dead stream; ARGV max */
    CRGW_RS_N_SCRIPTS
} crgw_rs_script;

/*
 * Runs a script: n strings of argv are KEYS (nkeys of them) then ARGV. Strings are copied.
 * Returns 0 (cb called exactly once, reply NULL on Redis failure) or CRGW_ERR_UNAVAILABLE.
 */
int crgw_rs_eval(crgw_redis *rc, crgw_rs_script s, int nkeys, int n, const char **argv,
                 const size_t *lens, crgw_redis_cb cb, void *priv);

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

/* Current time as RFC 3339 in Beijing time ("2026-11-23T10:00:00+08:00"; with_ms adds .mmm). */
void crgw_rs_now_rfc3339(char out[40], int with_ms);
/* Unix time in ms (wall clock). */
long long crgw_rs_now_ms(void);

/* API status of a decision: "published" for revoked, else the decision itself. */
const char *crgw_rs_status_of_decision(const char *decision);
/* 1 when s is one of accepted refused repaired rejected revoked. */
int crgw_rs_decision_valid(const char *s);

#endif
