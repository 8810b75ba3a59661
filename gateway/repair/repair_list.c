/*
 * repair_list: the read-only lists the console shows (bounded, newest first, from Redis):
 *
 *   GET /v1/repair/applications?status=S&limit=N   [repair_desk, platform, operator]
 *       {"applications": [<the answer of GET /v1/repair/applications/{id}> + application_id],
 *        "status": S|null, "limit": N}; N in 1..200 (default 50); S one of the states or "open"
 *   GET /v1/federation/peers/{node}/dead-letters?limit=N   [operator]
 *       {"node", "dead_letters": [{"stream_id", "kind", "id", "seq", "reason", "dead_at",
 *        "queued_at", "payload"}]}
 *
 * Applications come from crgw:apps:all (every application stored here, newest first); at most
 * LIST_SCAN of them are examined per request, so a status filter over a large history returns
 * the matching ones among the newest LIST_SCAN.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "gateway/repair/repair.h"
#include "gateway/repair/repair_state.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

#define LIST_DEFAULT 50
#define LIST_MAX 200
#define LIST_SCAN 1000

/*
 * KEYS: 1 crgw:apps:all, 2 crgw:apps:open (applications stored before the index existed).
 * ARGV: 1 limit, 2 wanted status ("" = any, "open" = not repaired/rejected/refused/revoked),
 * 3 how many ids to examine. Returns {id, {HGETALL...}, ...}. Reads only the application
 * hashes crgw:app:<id> the indexes name.
 */
static const char lua_list[] =
    "local limit, want, scan = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])\n"
    "local ids = redis.call('ZREVRANGE', KEYS[1], 0, scan - 1)\n"
    "if #ids == 0 then ids = redis.call('ZREVRANGE', KEYS[2], 0, scan - 1) end\n"
    "local closed = {repaired = 1, rejected = 1, refused = 1, revoked = 1}\n"
    "local out, n = {}, 0\n"
    "for _, id in ipairs(ids) do\n"
    "  if n >= limit then break end\n"
    "  local h = redis.call('HGETALL', 'crgw:app:' .. id)\n"
    "  if #h > 0 then\n"
    "    local st = ''\n"
    "    for i = 1, #h, 2 do if h[i] == 'status' then st = h[i + 1] end end\n"
    "    if want == '' or st == want or (want == 'open' and not closed[st]) then\n"
    "      out[#out + 1] = id\n"
    "      out[#out + 1] = h\n"
    "      n = n + 1\n"
    "    end\n"
    "  end\n"
    "end\n"
    "return out\n";

static const char *const statuses[] = {"submitted", "delivered", "accepted", "refused",
                                       "repaired",  "rejected",  "revoked",  "open"};

/* The limit query parameter: 1..LIST_MAX (default LIST_DEFAULT), or -1 (answered 422). */
static int read_limit(crgw_req *r)
{
    const char *l = crgw_req_query(r, "limit");
    if (!l)
        return LIST_DEFAULT;
    char *end;
    long v = strtol(l, &end, 10);
    if (end == l || *end || v < 1 || v > LIST_MAX) {
        crgw_req_problem(r, 422, "invalid-parameter", "Invalid parameter",
                         json_pack("{s:s}", "field", "limit"),
                         "limit: an integer from 1 to %d, not '%.40s'", LIST_MAX, l);
        return -1;
    }
    return (int)v;
}

typedef struct {
    crgw_req *r;
    int limit;
    const char *status;
} list_op;

static void list_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    list_op *op = priv;
    crgw_req *r = op->r;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        crgw_rs_unavailable(r, reply && reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                         : "Redis did not answer");
        free(op);
        return;
    }
    json_t *apps = json_array();
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const struct redisReply *id = reply->element[i], *h = reply->element[i + 1];
        if (id->type != REDIS_REPLY_STRING || h->type != REDIS_REPLY_ARRAY)
            continue;
        json_t *a = crgw_repair_app_json(r->server, h);
        if (!json_object_get(a, "application_id"))
            json_object_set_new(a, "application_id", json_string(id->str));
        json_array_append_new(apps, a);
    }
    json_t *o = json_object();
    json_object_set_new(o, "applications", apps);
    json_object_set_new(o, "status", op->status ? json_string(op->status) : json_null());
    json_object_set_new(o, "limit", json_integer(op->limit));
    crgw_req_respond_json(r, 200, o);
    free(op);
}

void crgw_route_repair_applications_list(crgw_req *r)
{
    const char *st = crgw_req_query(r, "status");
    if (st && st[0]) {
        size_t i;
        for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
            if (strcmp(st, statuses[i]) == 0)
                break;
        if (i == sizeof(statuses) / sizeof(statuses[0])) {
            crgw_req_problem(r, 422, "invalid-parameter", "Invalid parameter",
                             json_pack("{s:s}", "field", "status"),
                             "status: one of submitted, delivered, accepted, refused, repaired, "
                             "rejected, revoked, open; not '%.40s'",
                             st);
            return;
        }
        st = statuses[i];
    } else {
        st = NULL;
    }
    int limit = read_limit(r);
    if (limit < 0)
        return;
    list_op *op = calloc(1, sizeof(*op));
    if (!op) {
        crgw_req_problem(r, 500, "internal", "Internal error", NULL, "out of memory");
        return;
    }
    op->r = r;
    op->limit = limit;
    op->status = st;
    char lim[16], scan[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    snprintf(scan, sizeof(scan), "%d", LIST_SCAN);
    const char *argv[] = {"EVAL",           lua_list, "2",          CRGW_RS_KEY_APPS_ALL,
                          "crgw:apps:open", lim,      st ? st : "", scan};
    if (crgw_redis_commandargv(crgw_server_redis(r->server), list_cb, op, 8, argv, NULL) != 0) {
        free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
}

/* ---- dead letters ---- */

typedef struct {
    crgw_req *r;
    char node[8];
} dead_op;

static json_t *dead_entry(const struct redisReply *e)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING || e->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "stream_id", json_string(e->element[0]->str));
    const struct redisReply *f = e->element[1];
    for (size_t i = 0; i + 1 < f->elements; i += 2) {
        if (f->element[i]->type != REDIS_REPLY_STRING ||
            f->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *k = f->element[i]->str, *v = f->element[i + 1]->str;
        if (strcmp(k, "k") == 0)
            json_object_set_new(o, "kind",
                                json_string(strcmp(v, "a") == 0 ? "application" : "event"));
        else if (strcmp(k, "id") == 0)
            json_object_set_new(o, "id", json_string(v));
        else if (strcmp(k, "seq") == 0)
            json_object_set_new(o, "seq", json_integer(strtoll(v, NULL, 10)));
        else if (strcmp(k, "reason") == 0)
            json_object_set_new(o, "reason", json_string(v));
        else if (strcmp(k, "dead_at") == 0 || strcmp(k, "at") == 0)
            json_object_set_new(o, k[0] == 'd' ? "dead_at" : "queued_at",
                                json_integer(strtoll(v, NULL, 10)));
        else if (strcmp(k, "p") == 0) {
            json_t *p = json_loads(v, 0, NULL);
            json_object_set_new(o, "payload", p ? p : json_string(v));
        }
    }
    return o;
}

static void dead_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    dead_op *op = priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        crgw_rs_unavailable(op->r, "Redis did not answer");
        free(op);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < reply->elements; i++) {
        json_t *e = dead_entry(reply->element[i]);
        if (e)
            json_array_append_new(list, e);
    }
    json_t *o = json_object();
    json_object_set_new(o, "node", json_string(op->node));
    json_object_set_new(o, "dead_letters", list);
    crgw_req_respond_json(op->r, 200, o);
    free(op);
}

void crgw_route_federation_dead_letters(crgw_req *r)
{
    const char *node = r->params[0];
    if (crgw_config_node(r->cfg, node) == NULL || strcmp(node, r->cfg->node) == 0) {
        crgw_req_problem(r, 404, "unknown-peer", "Unknown peer", NULL, "no peer node %.16s", node);
        return;
    }
    int limit = read_limit(r);
    if (limit < 0)
        return;
    dead_op *op = calloc(1, sizeof(*op));
    if (!op) {
        crgw_req_problem(r, 500, "internal", "Internal error", NULL, "out of memory");
        return;
    }
    op->r = r;
    snprintf(op->node, sizeof(op->node), "%s", node);
    char key[64];
    crgw_rs_key(key, sizeof(key), "dead", node);
    if (crgw_redis_command(crgw_server_redis(r->server), dead_cb, op, "XREVRANGE %s + - COUNT %d",
                           key, limit) != 0) {
        free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
}
