/*
 * cache: the verdict cache of POST /v1/reports/verify (ARCHITECTURE.md §5, issue 6).
 *
 * Correct first, fast second. A stale answer is a legal defect (DOMAIN.md, credit repair), so:
 *
 * Key. "crgw:vc:" + hex SHA-256 over a scheme tag, the *answer version* of the request (the trust
 * version of the verification: SHA-256 over every node's anchors, CRLs and policy, plus a digest
 * of the configuration parts the answer depends on: this node, agreements), the query
 * parameters that change the answer (scenario, to), and the SHA-256 of the exact body bytes.
 * The issuer node is not a separate key part: the adapter reads it from the signed bytes, so it
 * is a function of the body digest and adds no separation, and learning it before the lookup
 * would mean parsing the document on every hit, the cost the cache exists to avoid. The trust
 * version covers the anchors and CRLs of every node (hence of any issuer). The value records the
 * issuer node and the body digest, and a hit whose stored digest differs from the request's is
 * treated as a miss (defence in depth against a foreign or corrupted entry).
 *
 * Value. One header line of JSON (scheme, body digest, computed-at, issuer, and for subjects
 * that are not natural persons: subject USCC, issued-at and the (origin_node, record_id) of each
 * record: what question 3 needs), then the verdict JSON exactly as answered (indication,
 * checks, signer, recognition, the canonical report for legal persons; for any other subject
 * the verdict alone: an answer carrying the report or a translation of a subject that is not a
 * legal person (natural person, individual business, unincorporated) is never stored). A hit
 * splices the stored verdict text into the answer without parsing it.
 *
 * TTL. min(not-after - now, the cache section's max_ttl_s, the next midnight in Beijing time) where
 * not-after = min(report valid_until, signer certificate notAfter, CRL nextUpdate) comes from
 * the verification. The midnight bound exists because recognition rules are stated in dates
 * (phase start, maximum age in days): a verdict is never carried across a date boundary.
 * Failures: failure_ttl_s. Never stored: TRY_LATER, NOT_YET_VALID, anything the
 * verification marks not cacheable (INDETERMINATE that may change with fresh data), answers
 * other than 200.
 *
 * Question 3 ("still current?") is answered at request time, also on a hit: HGETALL
 * crgw:rs:<uscc> (the repair-status store, gateway/repair/repair_store.h contract: field
 * "<origin_node>:<record_id>", value JSON with status, decided_at, event_id...). Records of the
 * report decided after its issued_at become current.changed_records. The subject of a body
 * digest is remembered in process (it is a function of the bytes, never stale), so from the
 * second request on the HGETALL is pipelined with the GET: one round trip per hit. When the
 * store cannot be read (Redis down or slow) the answer says so: current = {"as_of": null,
 * "changed_records": null, "unavailable": "..."}, never an empty list that would read as
 * "nothing repaired". Natural persons have no USCC, hence no repair-status entry: their
 * changed_records is always [] (the same on a miss and a hit).
 *
 * Coalescing. Identical concurrent requests (same key) share one flight: one lookup, at most
 * one verification, every waiter gets the same answer (crgw_cache_coalesced_total).
 * Verifications (misses, bypasses) run from a FIFO on a zero timer, at most 2 ms of them per
 * loop turn (at least one): a burst of misses or a Redis outage never holds other streams.
 *
 * Redis down or slow. Every Redis command goes through the asynchronous client
 * (gateway/server/redis.h): nothing blocks the loop. A flight that has no reply within
 * CRGW_CACHE_DEADLINE_MS (bounded by limits.redis_timeout_ms) or whose commands fail is answered
 * by verifying without the cache, marked "cache": "bypass"; /readyz shows the degradation
 * (crgw_cache_not_ready); the client reconnects by itself with back-off.
 *
 * Metrics: crgw_cache_requests_total{result=hit|miss|bypass}, crgw_cache_bypass_total{reason},
 * crgw_cache_verifications_total, crgw_cache_coalesced_total, crgw_cache_stores_total{result},
 * crgw_cache_redis_seconds (round-trip histogram, cmd=get|hgetall|set),
 * crgw_cache_evicted_total (Redis INFO stats evicted_keys, polled every second: keys evicted by
 * maxmemory since this process first saw that Redis; crgw_cache_redis_evicted_keys: the raw value;
 * the Redis of a node holds more than the cache, so this is an upper bound).
 */
#ifndef CRGW_CACHE_H
#define CRGW_CACHE_H

#include "gateway/core/err.h"

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "gateway/core/util.h"

#include "gateway/server/module.h"

struct event_base;
struct crgw_config;
struct crgw_redis;
struct crgw_server;
struct redisReply;

#define CRGW_CACHE_DEADLINE_MS 200 /* a lookup slower than this is bypassed */
#define CRGW_CACHE_KEY_PREFIX "crgw:vc:"
#define CRGW_CACHE_RS_PREFIX "crgw:rs:"

typedef struct crgw_cache crgw_cache;

/* The `cache:` section of the configuration (crgw_cache_module's descriptor rows). */
typedef struct {
    int enabled;       /* default 1 */
    int max_ttl_s;     /* default 86400 */
    int failure_ttl_s; /* default 60 */
} crgw_cache_conf;

/* The cache module: the `cache:` section; its state is the server's crgw_cache. */
extern const crgw_module crgw_cache_module;
/* The cache of a server, NULL when the cache module does not run there. */
crgw_cache *crgw_cache_of(const struct crgw_server *s);
/* The cache section of a configuration loaded with the cache module. */
const crgw_cache_conf *crgw_cache_conf_of(const struct crgw_config *cfg);

struct crgw_cache_query;
struct crgw_cache_verdict;

/* Verifies synchronously (on the loop). Must fill out (status, answer at least). */
typedef void (*crgw_cache_verify_fn)(void *ctx, const struct crgw_cache_query *q,
                                     struct crgw_cache_verdict *out);

/* What a request asks. Every pointer stays valid until the done callback ran. */
typedef struct crgw_cache_query {
    struct crgw_config *cfg; /* configuration of the request (cache settings, limits) */
    const char *body;
    size_t body_len;
    const char *scenario;        /* NULL when not asked */
    const char *to;              /* NULL when not asked */
    const char *version;         /* answer version (hex), see above; NULL: the cache is bypassed */
    void *user;                  /* for the verify function (e.g. the crgw_req) */
    const char *no_cache;        /* non-NULL: verify without the cache, this bypass reason */
    int64_t at;                  /* evaluation time for the verify function, 0 = now */
    crgw_cache_verify_fn verify; /* the verification of this query (NULL: the cache's own) */
    const unsigned char *body_digest; /* SHA-256 of body when the caller has it, else NULL */
    void *verify_ctx;
} crgw_cache_query;

/* The result of one verification (filled by the verify function). */
typedef struct crgw_cache_verdict {
    int status;     /* 200: answer is the verdict (API.md shape without cache/current);
                       else an HTTP error status, answer = problem object, never stored */
    json_t *answer; /* owned by the cache after the call */
    int cacheable;  /* 0: never stored */
    int failure;    /* 1: store for failure_ttl_s only (TOTAL_FAILED, stable INDETERMINATE) */
    /* wall seconds: min(valid_until, signer notAfter, CRL nextUpdate, age limit); 0: none */
    int64_t not_after;
} crgw_cache_verdict;

/* Receives the answer: status, content type, body (valid during the call only). */
typedef void (*crgw_cache_done_fn)(void *priv, int status, const char *content_type,
                                   const char *body, size_t len);

/*
 * A cache on base using rc (may be NULL: every query is verified, answers say "bypass").
 * verify (may be NULL) verifies queries that bring no verify function of their own.
 * Starts a timer polling Redis INFO stats (evictions).
 */
crgw_cache *crgw_cache_new(struct event_base *base, struct crgw_redis *rc,
                           crgw_cache_verify_fn verify, void *verify_ctx);
/* Frees the cache. Flights still waiting are answered first (by verification, "bypass"). */
void crgw_cache_free(crgw_cache *c);
void crgw_cache_set_redis(crgw_cache *c, struct crgw_redis *rc);

/*
 * Answers q through done, exactly once: before returning (Redis down, cache disabled, bypass)
 * or later from a Redis callback. The answer is the verdict + "current" + "cache" +
 * "cache_age_s" (API.md).
 */
void crgw_cache_submit(crgw_cache *c, const crgw_cache_query *q, crgw_cache_done_fn done,
                       void *priv);

/* NULL when the cache works, else a short reason for /readyz (static string). */
const char *crgw_cache_not_ready(const crgw_cache *c);

/* Counters of this cache object (tests; the same numbers go to the metrics). */
typedef struct {
    uint64_t hits, misses, bypasses, verifications, coalesced, stores, store_errors;
} crgw_cache_stats;
void crgw_cache_get_stats(const crgw_cache *c, crgw_cache_stats *out);
/* Redis commands of this cache not answered yet (stores included). */
size_t crgw_cache_pending(const crgw_cache *c);

/* ---- pure helpers, exposed for unit tests ---- */

/* SHA-256, fetched once (EVP_sha256() would fetch it on every digest). */
const struct evp_md_st *crgw_cache_sha256(void);

/* The cache key (32 bytes) of a query; scenario/to may be NULL. */
void crgw_cache_key(const char *version, const char *scenario, const char *to,
                    const unsigned char body_digest[32], unsigned char out[32]);

/*
 * Seconds to keep a verdict computed at now (wall seconds): 0 means do not store.
 * not_after 0 = no bound from the verification.
 */
int64_t crgw_cache_ttl(int64_t now, int64_t not_after, int failure, int max_ttl_s,
                       int failure_ttl_s);

/* What question 3 needs, taken from a verdict (NULL report or natural person: no subject). */
typedef struct {
    char *uscc; /* NULL: no repair-status lookup (natural person, no report) */
    char issuer[8];
    int64_t issued_at; /* 0 when unknown */
    size_t n_records;
    char **origin; /* origin_node of each record */
    char **record_id;
    int natural;      /* subject.type natural_person, or no report at all */
    int legal_person; /* subject.type legal_person (only their reports are stored) */
} crgw_cache_subject;

void crgw_cache_subject_from_verdict(const json_t *answer, crgw_cache_subject *out);
void crgw_cache_subject_cleanup(crgw_cache_subject *s);

/*
 * current.changed_records from an HGETALL reply of crgw:rs:<uscc>: the subject's records with
 * a decision (origin_seq != 0) taken at or after its issued_at, in report order (new reference,
 * an array). NULL when the reply is not an array, or when the entry of one of the report's
 * records cannot be read (unknown is not "nothing changed").
 */
json_t *crgw_cache_changed_records(const crgw_cache_subject *s, const struct redisReply *reply);

/*
 * Value encoding: header line + verdict text. encode returns a heap string (len in *len).
 * decode fills s (uscc, records...) and points *verdict (length *vlen) into value; returns 0 or -1.
 */
char *crgw_cache_value_encode(const unsigned char body_digest[32], int64_t computed_at,
                              const crgw_cache_subject *s, const char *verdict, size_t vlen,
                              size_t *len);
int crgw_cache_value_decode(const char *value, size_t len, unsigned char body_digest[32],
                            int64_t *computed_at, crgw_cache_subject *s, const char **verdict,
                            size_t *vlen);

/*
 * The answer: verdict (a JSON object text) with "current", "cache" and "cache_age_s" appended
 * without parsing it. changed NULL = the repair-status store could not be read. Returns 0 or
 * CRGW_ERR_TOOBIG, or CRGW_ERR_INVALID when verdict is not an object text.
 */
int crgw_cache_splice(crgw_buf *out, const char *verdict, size_t vlen, int64_t now,
                      const json_t *changed, const char *unavailable, const char *cache,
                      int64_t age_s);

#endif
