/*
 * repair_durable: an acknowledged repair write is answered only once it is on the replicas
 * (redis.min_replicas_ack, WAIT), else 503 durability-not-reached (see repair_store.h).
 *
 * What a 503 durability-not-reached means for the client: the write was made on the primary,
 * with its Idempotency-Key answer, but fewer replicas than required confirmed it in time. It
 * may survive (the replicas catch up, or the one that has it is promoted) or be lost (the
 * primary dies before any replica has it). The client retries with the same Idempotency-Key:
 * if the write survived, the retry gets the stored first answer (same event_id and origin_seq,
 * nothing written twice), once the replicas confirm it; if it was lost, the retry makes it
 * anew. Nothing acknowledged-by-503 is delivered to a peer before the replicas have it: the
 * outbox waits for the same acknowledgement before it sends (outbox.c).
 */
#include <stdlib.h>
#include <string.h>

#include "gateway/core/json.h"
#include "gateway/core/util.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/metrics.h"
#include "gateway/server/redis.h"
#include "gateway/server/server.h"

typedef struct {
    crgw_req *r;
    int status;
    size_t len;
    char body[]; /* NUL-terminated */
} pending;

static void refuse(crgw_req *r, crgw_redis *rc, long acks)
{
    crgw_metrics_counter_add("crgw_repair_durability_not_reached_total", NULL, 1);
    json_t *extra = json_pack("{s:I,s:I}", "replicas_required", (json_int_t)crgw_redis_min_acks(rc),
                              "replicas_acknowledged", (json_int_t)(acks < 0 ? 0 : acks));
    crgw_req_problem(r, 503, "durability-not-reached", "Durability not reached", extra,
                     "the write is on the primary but only %ld of the %d required replicas "
                     "acknowledged it in time; it may or may not survive a failover: retry with "
                     "the same Idempotency-Key (the stored answer is returned if it survived)",
                     acks < 0 ? 0 : acks, crgw_redis_min_acks(rc));
}

static void durable_cb(crgw_redis *rc, int ok, long acks, void *priv)
{
    pending *p = priv;
    if (ok)
        crgw_req_respond(p->r, p->status, "application/json", p->body, p->len, NULL);
    else
        refuse(p->r, rc, acks);
    free(p);
}

void crgw_rs_respond_durable(crgw_req *r, int status, const char *body, size_t len)
{
    crgw_redis *rc = crgw_server_redis(r->server);
    if (crgw_redis_min_acks(rc) <= 0) {
        crgw_req_respond(r, status, "application/json", body, len, NULL);
        return;
    }
    pending *p = xmalloc(sizeof(*p) + len + 1);
    p->r = r;
    p->status = status;
    p->len = len;
    memcpy(p->body, body, len);
    p->body[len] = '\0';
    if (crgw_redis_durable(rc, durable_cb, p) != 0) {
        free(p);
        refuse(r, rc, -1);
    }
}

void crgw_rs_respond_json_durable(crgw_req *r, int status, json_t *json)
{
    crgw_redis *rc = crgw_server_redis(r->server);
    if (crgw_redis_min_acks(rc) <= 0) {
        crgw_req_respond_json(r, status, json);
        return;
    }
    size_t len = 0;
    char *s = crgw_json_dump(json, 0, &len);
    json_decref(json);
    crgw_rs_respond_durable(r, status, s, len);
    free(s);
}
