/*
 * repair_store: Lua scripts of the repair data model (see repair_store.h for the keys).
 */
#include "gateway/repair/repair_store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/util.h"

typedef enum {
    CRGW_RS_DECIDE = 0,
    CRGW_RS_APPLY,
    CRGW_RS_APP_STORE,
    CRGW_RS_APP_DELIVERED,
    CRGW_RS_OUTBOX_ACK,
    CRGW_RS_OUTBOX_DEAD,
    CRGW_RS_REDRIVE,
    CRGW_RS_N_SCRIPTS
} crgw_rs_script;

#define KEY_APPS_OPEN "crgw:apps:open"
#define KEY_STATS "crgw:stats:events"
#define KEY_AUDIT "crgw:audit:events"

/* Shared Lua helper: store an application state only when no decision is known yet. */
#define LUA_SET_IF_NO_DECISION                                                                     \
    "local function set_if_no_decision(key, field, value)\n"                                       \
    "  local cur = redis.call('HGET', key, field)\n"                                               \
    "  if cur then\n"                                                                              \
    "    local ok, o = pcall(cjson.decode, cur)\n"                                                 \
    "    if ok and type(o) == 'table' and tonumber(o.origin_seq) and tonumber(o.origin_seq) > 0 "  \
    "then return end\n"                                                                            \
    "  end\n"                                                                                      \
    "  redis.call('HSET', key, field, value)\n"                                                    \
    "end\n"

#define LUA_APPEND_HISTORY                                                                         \
    "local function append_history(key, entry)\n"                                                  \
    "  local h = redis.call('HGET', key, 'history') or '[]'\n"                                     \
    "  if h == '[]' then return '[' .. entry .. ']' end\n"                                         \
    "  return string.sub(h, 1, -2) .. ',' .. entry .. ']'\n"                                       \
    "end\n"

/*
 * Shared Lua helpers of the Idempotency-Key (digest "" = no key: both do nothing).
 * idem_replay(key, digest): nil when the key is unknown; the stored answer {status, body} when
 * it was used with the same request body digest; an IDEMREUSED error for another body.
 * idem_store(key, digest, status, answer, ttl): keeps the answer for ttl seconds.
 */
#define LUA_IDEM                                                                                   \
    "local function idem_replay(key, digest)\n"                                                    \
    "  if digest == '' then return nil end\n"                                                      \
    "  local h = redis.call('HMGET', key, 'd', 's', 'b')\n"                                        \
    "  if not h[1] then return nil end\n"                                                          \
    "  if h[1] ~= digest then\n"                                                                   \
    "    return redis.error_reply('IDEMREUSED the key was used with another request body') end\n"  \
    "  return {tonumber(h[2]), h[3]}\n"                                                            \
    "end\n"                                                                                        \
    "local function idem_store(key, digest, status, answer, ttl)\n"                                \
    "  if digest == '' then return end\n"                                                          \
    "  redis.call('HSET', key, 'd', digest, 's', status, 'b', answer)\n"                           \
    "  redis.call('EXPIRE', key, ttl)\n"                                                           \
    "end\n"

/* Application state transitions allowed for a decision. */
#define LUA_ALLOWED                                                                                \
    "local allowed = {accepted = {submitted = 1, delivered = 1},\n"                                \
    "  refused = {submitted = 1, delivered = 1}, repaired = {accepted = 1},\n"                     \
    "  rejected = {accepted = 1}, revoked = {repaired = 1}}\n"

/*
 * The record's last decision at this node (crgw:rs value with origin_seq > 0): its status and
 * decided_at as "YYYY-MM-DDThh:mm:ss" when stored in +08:00 (older free-form values: nil).
 * at19(s): the same prefix of a +08:00 time, else nil.
 */
#define LUA_LAST_DECISION                                                                          \
    "local function at19(s)\n"                                                                     \
    "  if type(s) == 'string' and string.match(s, '^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%d') and "    \
    "string.sub(s, -6) == '+08:00' then return string.sub(s, 1, 19) end\n"                         \
    "  return nil\n"                                                                               \
    "end\n"                                                                                        \
    "local function last_decision(key, field)\n"                                                   \
    "  local cur = redis.call('HGET', key, field)\n"                                               \
    "  if not cur then return nil, nil end\n"                                                      \
    "  local ok, o = pcall(cjson.decode, cur)\n"                                                   \
    "  if not ok or type(o) ~= 'table' or not tonumber(o.origin_seq) or tonumber(o.origin_seq) "   \
    "<= "                                                                                          \
    "0 then return nil, nil end\n"                                                                 \
    "  return o.status, at19(o.decided_at)\n"                                                      \
    "end\n"

/*
 * DECIDE. KEYS: 1 seq, 2 rs, 3 dedup, 4 app, 5 apps_open, 6 idem, 7.. outbox streams.
 * ARGV: 1 field, 2 value prefix, 3 value suffix (value = prefix .. seq .. suffix), 4 event_id,
 * 5 payload, 6 now_ms, 7 decision, 8 history entry, 9 extension 0/1, 10 has_app 0/1,
 * 11 decided_at, 12 app id, 13 dedup set lifetime (s), 14 request body digest ("" = no
 * Idempotency-Key), 15 answer prefix, 16 answer suffix (answer = prefix .. seq .. suffix),
 * 17 answer status, 18 idem lifetime (s).
 * Without an application (ARGV 10 = 0) the record's state decides: repaired unless it is
 * repaired already, revoked only when it is repaired. A decided_at older than the record's last
 * decision is refused (ORDER <last decided_at>).
 * Returns the origin_seq, the stored answer {status, body} of an earlier identical request, or
 * an error NOAPP / MISMATCH / CONFLICT / ORDER / IDEMREUSED.
 */
static const char lua_decide[] = LUA_APPEND_HISTORY LUA_ALLOWED LUA_IDEM
    "local done = idem_replay(KEYS[6], ARGV[14])\n"
    "if done then return done end\n"
    "if ARGV[10] == '1' then\n"
    "  local st = redis.call('HGET', KEYS[4], 'status')\n"
    "  if not st then return redis.error_reply('NOAPP unknown application') end\n"
    "  if redis.call('HGET', KEYS[4], 'field') ~= ARGV[1] then\n"
    "    return redis.error_reply('MISMATCH the application concerns another record') end\n"
    "  if not allowed[ARGV[7]][st] then\n"
    "    return redis.error_reply('CONFLICT the application is ' .. st) end\n"
    "end\n" LUA_LAST_DECISION "local last_st, last_at = last_decision(KEYS[2], ARGV[1])\n"
    "if last_at and at19(ARGV[11]) and at19(ARGV[11]) < last_at then\n"
    "  return redis.error_reply('ORDER ' .. last_at .. '+08:00') end\n"
    "if ARGV[10] ~= '1' then\n"
    "  if ARGV[7] == 'repaired' and last_st == 'repaired' then\n"
    "    return redis.error_reply('CONFLICT the record is already repaired') end\n"
    "  if ARGV[7] == 'revoked' and last_st ~= 'repaired' then\n"
    "    return redis.error_reply('CONFLICT the record is ' .. (last_st or 'not decided on')) end\n"
    "end\n"
    "local seq = redis.call('INCR', KEYS[1])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. seq .. ARGV[3])\n"
    "redis.call('SADD', KEYS[3], ARGV[4])\n"
    "redis.call('EXPIRE', KEYS[3], ARGV[13])\n"
    "if ARGV[10] == '1' then\n"
    "  redis.call('HSET', KEYS[4], 'status', ARGV[7], 'history', append_history(KEYS[4], "
    "ARGV[8]), 'last_seq', seq)\n"
    "  if ARGV[7] == 'accepted' then redis.call('HSET', KEYS[4], 'accepted_at', ARGV[11]) end\n"
    "  if ARGV[9] == '1' then redis.call('HSET', KEYS[4], 'extended', '1') end\n"
    "  if ARGV[7] ~= 'accepted' then redis.call('ZREM', KEYS[5], ARGV[12]) end\n"
    "end\n"
    "for i = 7, #KEYS do\n"
    "  redis.call('XADD', KEYS[i], '*', 'k', 'e', 'id', ARGV[4], 'seq', seq, 'p', ARGV[5], "
    "'at', ARGV[6])\n"
    "end\n"
    "idem_store(KEYS[6], ARGV[14], ARGV[17], ARGV[15] .. seq .. ARGV[16], ARGV[18])\n"
    "return seq\n";

/*
 * APPLY. KEYS: 1 dedup (today), 2 rs, 3 stats, 4 app, 5 apps_open, 6 audit list, 7 dedup
 * (yesterday).
 * ARGV: 1 event_id, 2 seq, 3 field, 4 value, 5 decision, 6 history entry, 7 extension 0/1,
 * 8 decided_at, 9 app id ("" = none), 10 audit 0/1 (append "field seq" of every applied event
 * to the audit list: the fault test checks that per record the applied seqs only increase),
 * 11 dedup set lifetime (s).
 * Returns "applied", "duplicate" or "stale".
 */
static const char lua_apply[] = LUA_APPEND_HISTORY
    "if redis.call('SISMEMBER', KEYS[7], ARGV[1]) == 1 or "
    "redis.call('SADD', KEYS[1], ARGV[1]) == 0 then\n"
    "  redis.call('HINCRBY', KEYS[3], 'duplicate', 1)\n"
    "  return 'duplicate'\n"
    "end\n"
    "redis.call('EXPIRE', KEYS[1], ARGV[11])\n"
    "local seq = tonumber(ARGV[2])\n"
    "local cur = redis.call('HGET', KEYS[2], ARGV[3])\n"
    "if cur then\n"
    "  local ok, o = pcall(cjson.decode, cur)\n"
    "  if ok and type(o) == 'table' and tonumber(o.origin_seq) and tonumber(o.origin_seq) >= seq "
    "then\n"
    "    redis.call('HINCRBY', KEYS[3], 'stale', 1)\n"
    "    return 'stale'\n"
    "  end\n"
    "end\n"
    "redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])\n"
    "redis.call('HINCRBY', KEYS[3], 'applied', 1)\n"
    "if ARGV[10] == '1' then redis.call('RPUSH', KEYS[6], ARGV[3] .. ' ' .. ARGV[2]) end\n"
    "if ARGV[9] ~= '' and redis.call('EXISTS', KEYS[4]) == 1 then\n"
    "  local last = tonumber(redis.call('HGET', KEYS[4], 'last_seq') or '0') or 0\n"
    "  if seq > last then\n"
    "    redis.call('HSET', KEYS[4], 'status', ARGV[5], 'history', append_history(KEYS[4], "
    "ARGV[6]), 'last_seq', seq)\n"
    "    if ARGV[5] == 'accepted' then redis.call('HSET', KEYS[4], 'accepted_at', ARGV[8]) end\n"
    "    if ARGV[7] == '1' then redis.call('HSET', KEYS[4], 'extended', '1') end\n"
    "    if ARGV[5] ~= 'accepted' then redis.call('ZREM', KEYS[5], ARGV[9]) end\n"
    "  end\n"
    "end\n"
    "return 'applied'\n";

/*
 * APP_STORE. KEYS: 1 app, 2 apps_open, 3 rs, 4 idem, 5 apps_all, [6 outbox stream].
 * ARGV: 1 app id, 2 doc, 3 filed_at, 4 history (JSON array), 5 field, 6 rs value, 7 payload,
 * 8 now_ms, 9 applicant_node, 10 uscc, 11 filed_ms, 12 status, 13 request body digest ("" = no
 * Idempotency-Key), 14 answer, 15 answer status, 16 idem lifetime (s).
 * Returns 1 when stored, 0 when the application already existed (nothing changed), or the
 * stored answer {status, body} of an earlier identical request, or an error IDEMREUSED.
 */
static const char lua_app_store[] = LUA_SET_IF_NO_DECISION LUA_IDEM
    "local done = idem_replay(KEYS[4], ARGV[13])\n"
    "if done then return done end\n"
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'status', ARGV[12], 'filed_at', ARGV[3], "
    "'history', ARGV[4], 'field', ARGV[5], 'last_seq', 0, 'extended', '0', "
    "'applicant_node', ARGV[9], 'uscc', ARGV[10])\n"
    "redis.call('ZADD', KEYS[2], ARGV[11], ARGV[1])\n"
    "redis.call('ZADD', KEYS[5], ARGV[11], ARGV[1])\n"
    "redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -" CRGW_RS_APPS_ALL_MAX_S " - 1)\n"
    "set_if_no_decision(KEYS[3], ARGV[5], ARGV[6])\n"
    "if KEYS[6] then\n"
    "  redis.call('XADD', KEYS[6], '*', 'k', 'a', 'id', ARGV[1], 'seq', 0, 'p', ARGV[7], "
    "'at', ARGV[8])\n"
    "end\n"
    "idem_store(KEYS[4], ARGV[13], ARGV[15], ARGV[14], ARGV[16])\n"
    "return 1\n";

/*
 * APP_DELIVERED. KEYS: 1 app, 2 rs. ARGV: 1 history entry, 2 field, 3 rs value.
 * Returns 1 when the application moved submitted -> delivered, else 0.
 */
static const char lua_app_delivered[] = LUA_SET_IF_NO_DECISION LUA_APPEND_HISTORY
    "if redis.call('HGET', KEYS[1], 'status') ~= 'submitted' then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'status', 'delivered', 'history', "
    "append_history(KEYS[1], ARGV[1]))\n"
    "set_if_no_decision(KEYS[2], ARGV[2], ARGV[3])\n"
    "return 1\n";

/* OUTBOX_ACK. KEYS: 1 stream. ARGV: 1 group, 2.. ids. XACK + XDEL. Returns acked count. */
static const char lua_outbox_ack[] = "local n = 0\n"
                                     "for i = 2, #ARGV do\n"
                                     "  n = n + redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])\n"
                                     "  redis.call('XDEL', KEYS[1], ARGV[i])\n"
                                     "end\n"
                                     "return n\n";

/*
 * OUTBOX_DEAD. KEYS: 1 stream, 2 dead. ARGV: 1 group, 2 id, 3 k, 4 event id, 5 seq, 6 payload,
 * 7 at, 8 reason, 9 now_ms. Moves one entry to the dead letters. Returns 1.
 */
static const char lua_outbox_dead[] =
    "redis.call('XADD', KEYS[2], '*', 'k', ARGV[3], 'id', ARGV[4], 'seq', ARGV[5], 'p', ARGV[6], "
    "'at', ARGV[7], 'reason', ARGV[8], 'dead_at', ARGV[9])\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('XDEL', KEYS[1], ARGV[2])\n"
    "return 1\n";

/*
 * REDRIVE. KEYS: 1 dead, 2 stream. ARGV: 1 max. Moves up to max dead letters back to the outbox
 * (in their order; fresh "at" so that their age restarts). Returns how many.
 */
static const char lua_redrive[] =
    "local t = redis.call('TIME')\n"
    "local now = t[1] * 1000 + math.floor(t[2] / 1000)\n"
    "local es = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[1]))\n"
    "for _, e in ipairs(es) do\n"
    "  local f = {}\n"
    "  for i = 1, #e[2], 2 do f[e[2][i]] = e[2][i + 1] end\n"
    "  redis.call('XADD', KEYS[2], '*', 'k', f.k, 'id', f.id, 'seq', f.seq, 'p', f.p, 'at', now)\n"
    "  redis.call('XDEL', KEYS[1], e[1])\n"
    "end\n"
    "return #es\n";

static const char *const scripts[CRGW_RS_N_SCRIPTS] = {
    lua_decide,     lua_apply,       lua_app_store, lua_app_delivered,
    lua_outbox_ack, lua_outbox_dead, lua_redrive,
};

static char shas[CRGW_RS_N_SCRIPTS][41];

static const char *script_sha(crgw_rs_script s)
{
    if (shas[s][0] == '\0') {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        crgw_assert(EVP_Digest(scripts[s], strlen(scripts[s]), md, &mdlen, EVP_sha1(), NULL) == 1);
        crgw_hex(md, mdlen, shas[s]);
    }
    return shas[s];
}

typedef struct {
    crgw_rs_script script;
    int argc;
    char **argv;
    size_t *lens;
    crgw_redis_cb cb;
    void *priv;
    int retried;
} eval_op;

static void eval_op_free(eval_op *op)
{
    for (int i = 0; i < op->argc; i++)
        free(op->argv[i]);
    free(op->argv);
    free(op->lens);
    free(op);
}

static void eval_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    eval_op *op = priv;
    if (reply != NULL && reply->type == REDIS_REPLY_ERROR && !op->retried &&
        strncmp(reply->str, "NOSCRIPT", 8) == 0) {
        /* Redis restarted or flushed its scripts: send the text once (EVAL loads it). */
        op->retried = 1;
        free(op->argv[0]);
        free(op->argv[1]);
        op->argv[0] = xstrdup("EVAL");
        op->lens[0] = 4;
        op->argv[1] = xstrdup(scripts[op->script]);
        op->lens[1] = strlen(op->argv[1]);
        if (crgw_redis_commandargv(rc, eval_cb, op, op->argc, (const char **)op->argv, op->lens) ==
            0)
            return;
        op->cb(rc, NULL, op->priv);
        eval_op_free(op);
        return;
    }
    op->cb(rc, reply, op->priv);
    eval_op_free(op);
}

/* Runs a script: n strings of argv are KEYS (nkeys of them) then ARGV. Strings are copied. */
static int rs_eval(crgw_redis *rc, crgw_rs_script s, int nkeys, int n, const char *const *argv,
                   crgw_redis_cb cb, void *priv)
{
    eval_op *op = xcalloc(1, sizeof(*op));
    op->script = s;
    op->argc = n + 3;
    op->argv = xcalloc((size_t)op->argc, sizeof(char *));
    op->lens = xcalloc((size_t)op->argc, sizeof(size_t));
    op->cb = cb;
    op->priv = priv;
    char nk[16];
    snprintf(nk, sizeof(nk), "%d", nkeys);
    op->argv[0] = xstrdup("EVALSHA");
    op->argv[1] = xstrdup(script_sha(s));
    op->argv[2] = xstrdup(nk);
    for (int i = 0; i < 3; i++)
        op->lens[i] = strlen(op->argv[i]);
    for (int i = 0; i < n; i++) {
        size_t l = strlen(argv[i]);
        op->argv[i + 3] = xmalloc(l + 1);
        memcpy(op->argv[i + 3], argv[i], l);
        op->argv[i + 3][l] = '\0';
        op->lens[i + 3] = l;
    }
    if (crgw_redis_commandargv(rc, eval_cb, op, op->argc, (const char **)op->argv, op->lens) != 0) {
        eval_op_free(op);
        return CRGW_ERR_UNAVAILABLE;
    }
    return 0;
}

/* ---- typed calls: each builds its script's KEYS and ARGV in the order listed above it ---- */

static void call_init(crgw_rs_call *c, size_t cap)
{
    memset(c, 0, sizeof(*c));
    c->cap = (int)cap;
    c->argv = xcalloc(cap, sizeof(char *));
    c->owned = xcalloc(cap, sizeof(char *));
}

void crgw_rs_call_cleanup(crgw_rs_call *c)
{
    for (int i = 0; i < c->n_owned; i++)
        free(c->owned[i]);
    free(c->owned);
    free((void *)c->argv);
    memset(c, 0, sizeof(*c));
}

/* A borrowed string. */
static void put(crgw_rs_call *c, const char *s)
{
    crgw_assert(c->n < c->cap);
    c->argv[c->n++] = s;
}

static void put_owned(crgw_rs_call *c, char *s)
{
    c->owned[c->n_owned++] = s;
    put(c, s);
}

static void put_fmt(crgw_rs_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put_fmt(crgw_rs_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int l = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    crgw_assert(l >= 0);
    char *s = xmalloc((size_t)l + 1);
    va_start(ap, fmt);
    vsnprintf(s, (size_t)l + 1, fmt, ap);
    va_end(ap);
    put_owned(c, s);
}

/* "crgw:<prefix>:<id>" (as crgw_rs_key). */
static void put_key(crgw_rs_call *c, const char *prefix, const char *id)
{
    put_fmt(c, "crgw:%s:%s", prefix, id);
}

static void put_dedup_key(crgw_rs_call *c, const char *origin, long long now_ms, int days_ago)
{
    char k[128];
    crgw_rs_dedup_key_at(k, sizeof(k), origin, now_ms ? now_ms : crgw_rs_now_ms(), days_ago);
    put_owned(c, xstrdup(k));
}

static void put_ll(crgw_rs_call *c, long long v)
{
    put_fmt(c, "%lld", v);
}

static void end_keys(crgw_rs_call *c)
{
    c->nkeys = c->n;
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

static int present(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int idem_on(const crgw_rs_idem *i)
{
    return present(i->key) && present(i->digest);
}

/* crgw:idem:<route>:<SHA-256 hex of client NUL key>, or crgw:idem:- (never written) */
static void put_idem_key(crgw_rs_call *c, const crgw_rs_idem *i)
{
    if (!idem_on(i)) {
        put(c, "crgw:idem:-");
        return;
    }
    char hex[65];
    crgw_rs_idem_hash(or_empty(i->client), i->key, hex);
    put_fmt(c, "crgw:idem:%s:%s", or_empty(i->route), hex);
}

void crgw_rs_idem_hash(const char *client, const char *key, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    crgw_assert(ctx != NULL);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    crgw_assert(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1);
    crgw_assert(EVP_DigestUpdate(ctx, client, strlen(client) + 1) == 1); /* with its NUL */
    crgw_assert(EVP_DigestUpdate(ctx, key, strlen(key)) == 1);
    crgw_assert(EVP_DigestFinal_ex(ctx, md, &mdlen) == 1);
    EVP_MD_CTX_free(ctx);
    crgw_hex(md, mdlen, out);
}

void crgw_rs_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    crgw_assert(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) == 1);
    crgw_hex(md, mdlen, out);
}

void crgw_repair_store_build_decide(const crgw_repair_decide_args *a, crgw_rs_call *c)
{
    long long now = a->now_ms ? a->now_ms : crgw_rs_now_ms();
    call_init(c, 6 + a->n_dest + 18);
    put_key(c, "seq", a->node);
    put_key(c, "rs", a->uscc);
    put_dedup_key(c, a->node, now, 0);
    put_key(c, "app", present(a->app_id) ? a->app_id : "-");
    put(c, KEY_APPS_OPEN);
    put_idem_key(c, &a->idem);
    for (size_t i = 0; i < a->n_dest; i++)
        put_key(c, "outbox", a->dest[i]);
    end_keys(c);
    put(c, a->field);
    put(c, a->value_prefix);
    put(c, a->value_suffix);
    put(c, a->event_id);
    put(c, a->payload);
    put_ll(c, now);
    put(c, a->decision);
    put(c, a->history_entry);
    put(c, a->extension ? "1" : "0");
    put(c, present(a->app_id) ? "1" : "0");
    put(c, a->decided_at);
    put(c, or_empty(a->app_id));
    put_ll(c, CRGW_RS_DEDUP_DAYS * 86400);
    put(c, idem_on(&a->idem) ? a->idem.digest : "");
    put(c, or_empty(a->answer_prefix));
    put(c, or_empty(a->answer_suffix));
    put_ll(c, a->answer_status);
    put_ll(c, CRGW_RS_IDEM_TTL_S);
}

void crgw_repair_store_build_apply(const crgw_repair_apply_args *a, crgw_rs_call *c)
{
    long long now = a->now_ms ? a->now_ms : crgw_rs_now_ms();
    call_init(c, 7 + 11);
    put_dedup_key(c, a->origin, now, 0);
    put_key(c, "rs", a->uscc);
    put(c, KEY_STATS);
    put_key(c, "app", present(a->app_id) ? a->app_id : "-");
    put(c, KEY_APPS_OPEN);
    put(c, KEY_AUDIT);
    put_dedup_key(c, a->origin, now, 1);
    end_keys(c);
    put(c, a->event_id);
    put_ll(c, a->origin_seq);
    put(c, a->field);
    put(c, a->value);
    put(c, a->decision);
    put(c, a->history_entry);
    put(c, a->extension ? "1" : "0");
    put(c, a->decided_at);
    put(c, or_empty(a->app_id));
    put(c, a->audit ? "1" : "0");
    put_ll(c, CRGW_RS_DEDUP_DAYS * 86400);
}

void crgw_repair_store_build_app_store(const crgw_repair_app_store_args *a, crgw_rs_call *c)
{
    call_init(c, 6 + 16);
    put_key(c, "app", a->app_id);
    put(c, KEY_APPS_OPEN);
    put_key(c, "rs", a->uscc);
    put_idem_key(c, &a->idem);
    put(c, CRGW_RS_KEY_APPS_ALL);
    if (present(a->dest))
        put_key(c, "outbox", a->dest);
    end_keys(c);
    put(c, a->app_id);
    put(c, a->doc);
    put(c, a->filed_at);
    put(c, a->history);
    put(c, a->field);
    put(c, a->value);
    put(c, a->payload);
    put_ll(c, a->now_ms ? a->now_ms : crgw_rs_now_ms());
    put(c, a->applicant_node);
    put(c, a->uscc);
    put_ll(c, a->filed_ms);
    put(c, a->status);
    put(c, idem_on(&a->idem) ? a->idem.digest : "");
    put(c, or_empty(a->answer));
    put_ll(c, a->answer_status);
    put_ll(c, CRGW_RS_IDEM_TTL_S);
}

void crgw_repair_store_build_app_delivered(const crgw_repair_app_delivered_args *a, crgw_rs_call *c)
{
    call_init(c, 2 + 3);
    put_key(c, "app", a->app_id);
    put_key(c, "rs", a->uscc);
    end_keys(c);
    put(c, a->history_entry);
    put(c, a->field);
    put(c, a->value);
}

void crgw_repair_store_build_outbox_ack(const crgw_repair_outbox_ack_args *a, crgw_rs_call *c)
{
    call_init(c, 1 + 1 + a->n_ids);
    put_key(c, "outbox", a->dest);
    end_keys(c);
    put(c, CRGW_RS_GROUP);
    for (size_t i = 0; i < a->n_ids; i++)
        put(c, a->ids[i]);
}

void crgw_repair_store_build_outbox_dead(const crgw_repair_outbox_dead_args *a, crgw_rs_call *c)
{
    call_init(c, 2 + 9);
    put_key(c, "outbox", a->dest);
    put_key(c, "dead", a->dest);
    end_keys(c);
    put(c, CRGW_RS_GROUP);
    put(c, a->entry_id);
    put_fmt(c, "%c", a->kind);
    put(c, a->event_id);
    put_ll(c, a->seq);
    put(c, a->payload);
    put_ll(c, a->at_ms);
    put(c, a->reason);
    put_ll(c, a->now_ms ? a->now_ms : crgw_rs_now_ms());
}

void crgw_repair_store_build_redrive(const crgw_repair_redrive_args *a, crgw_rs_call *c)
{
    call_init(c, 2 + 1);
    put_key(c, "dead", a->dest);
    put_key(c, "outbox", a->dest);
    end_keys(c);
    put_ll(c, a->max);
}

static int run_call(crgw_redis *rc, crgw_rs_script s, crgw_rs_call *c, crgw_redis_cb cb, void *priv)
{
    int r = rs_eval(rc, s, c->nkeys, c->n, c->argv, cb, priv);
    crgw_rs_call_cleanup(c);
    return r;
}

/* One typed entry point per script: build, then run. */
#define RS_ENTRY(name, SCRIPT)                                                                     \
    int crgw_repair_store_##name(crgw_redis *rc, const crgw_repair_##name##_args *a,               \
                                 crgw_redis_cb cb, void *priv)                                     \
    {                                                                                              \
        crgw_rs_call c;                                                                            \
        crgw_repair_store_build_##name(a, &c);                                                     \
        return run_call(rc, SCRIPT, &c, cb, priv);                                                 \
    }

RS_ENTRY(decide, CRGW_RS_DECIDE)
RS_ENTRY(apply, CRGW_RS_APPLY)
RS_ENTRY(app_store, CRGW_RS_APP_STORE)
RS_ENTRY(app_delivered, CRGW_RS_APP_DELIVERED)
RS_ENTRY(outbox_ack, CRGW_RS_OUTBOX_ACK)
RS_ENTRY(outbox_dead, CRGW_RS_OUTBOX_DEAD)
RS_ENTRY(redrive, CRGW_RS_REDRIVE)

/* ---- values stored by the scripts ---- */

char *crgw_rs_app_state_value(const char *origin, const char *record_id, const char *domain,
                              const char *status, const char *received_at)
{
    json_t *v = json_object();
    json_object_set_new(v, "origin_node", json_string(origin));
    json_object_set_new(v, "record_id", json_string(record_id));
    json_object_set_new(v, "domain", json_string(domain));
    json_object_set_new(v, "status", json_string(status));
    json_object_set_new(v, "decided_at", json_null());
    json_object_set_new(v, "event_id", json_null());
    json_object_set_new(v, "origin_seq", json_integer(0));
    json_object_set_new(v, "received_at", json_string(received_at));
    /* jansson, not crgw_json_dump (gateway/translate): the same bytes for these values */
    char *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    crgw_assert(s != NULL);
    json_decref(v);
    return s;
}

json_t *crgw_rs_history_entry(const char *status, const char *at, const char *node,
                              const char *event_id)
{
    json_t *h = json_object();
    json_object_set_new(h, "status", json_string(status));
    json_object_set_new(h, "at", json_string(at));
    json_object_set_new(h, "node", json_string(node));
    if (event_id)
        json_object_set_new(h, "event_id", json_string(event_id));
    return h;
}

char *crgw_rs_key(char *out, size_t cap, const char *prefix, const char *id)
{
    snprintf(out, cap, "crgw:%s:%s", prefix, id);
    return out;
}

char *crgw_rs_dedup_key(char *out, size_t cap, const char *origin, int days_ago)
{
    return crgw_rs_dedup_key_at(out, cap, origin, crgw_rs_now_ms(), days_ago);
}

char *crgw_rs_dedup_key_at(char *out, size_t cap, const char *origin, long long now_ms,
                           int days_ago)
{
    time_t t = (time_t)(now_ms / 1000) + 8 * 3600 - (time_t)days_ago * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    char day[16];
    strftime(day, sizeof(day), "%Y%m%d", &tm);
    snprintf(out, cap, "crgw:dedup:%s:%s", origin, day);
    return out;
}

long long crgw_rs_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void crgw_rs_now_rfc3339(char out[40], int with_ms)
{
    long long ms = crgw_rs_now_ms();
    time_t t = (time_t)(ms / 1000) + 8 * 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    if (with_ms)
        snprintf(out, 40, "%s.%03d+08:00", base, (int)(ms % 1000));
    else
        snprintf(out, 40, "%s+08:00", base);
}

const char *crgw_rs_reply_failed(const struct redisReply *reply, int type)
{
    if (reply != NULL &&
        (reply->type == type || (type == REDIS_REPLY_STRING && reply->type == REDIS_REPLY_STATUS)))
        return NULL;
    return reply && reply->type == REDIS_REPLY_ERROR ? reply->str : "Redis down";
}

crgw_rs_op *crgw_rs_op_new(crgw_req *r, const char *id)
{
    crgw_rs_op *op = xcalloc(1, sizeof(*op));
    op->r = r;
    snprintf(op->id, sizeof(op->id), "%s", id ? id : "");
    return op;
}

void crgw_rs_unavailable(crgw_req *r, const char *detail)
{
    crgw_req_problem(r, 503, "store-unavailable", "Repair store unavailable", NULL, "%s", detail);
}

const char *crgw_rs_status_of_decision(const char *decision)
{
    return strcmp(decision, "revoked") == 0 ? "published" : decision;
}

int crgw_rs_decision_valid(const char *s)
{
    static const char *const d[] = {"accepted", "refused", "repaired", "rejected", "revoked"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(d); i++)
        if (strcmp(s, d[i]) == 0)
            return 1;
    return 0;
}

typedef struct {
    void (*cb)(json_t *records, void *priv);
    void *priv;
} fetch_op;

static int cmp_record(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *xo = json_string_value(json_object_get(x, "origin_node"));
    const char *yo = json_string_value(json_object_get(y, "origin_node"));
    int c = strcmp(xo ? xo : "", yo ? yo : "");
    if (c)
        return c;
    const char *xr = json_string_value(json_object_get(x, "record_id"));
    const char *yr = json_string_value(json_object_get(y, "record_id"));
    return strcmp(xr ? xr : "", yr ? yr : "");
}

static void fetch_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    fetch_op *op = priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
            log_warn("repair: HGETALL: %s", reply->str);
        op->cb(NULL, op->priv);
        free(op);
        return;
    }
    size_t n = reply->elements / 2;
    json_t **v = xcalloc(n ? n : 1, sizeof(json_t *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct redisReply *val = reply->element[2 * i + 1];
        if (val->type != REDIS_REPLY_STRING)
            continue;
        json_t *o = json_loadb(val->str, val->len, 0, NULL);
        if (!json_is_object(o)) {
            json_decref(o);
            continue;
        }
        v[k++] = o;
    }
    qsort(v, k, sizeof(json_t *), cmp_record);
    json_t *arr = json_array();
    for (size_t i = 0; i < k; i++)
        json_array_append_new(arr, v[i]);
    free(v);
    op->cb(arr, op->priv);
    json_decref(arr);
    free(op);
}

int crgw_repair_status_fetch(crgw_redis *rc, const char *uscc,
                             void (*cb)(json_t *records, void *priv), void *priv)
{
    fetch_op *op = xmalloc(sizeof(*op));
    op->cb = cb;
    op->priv = priv;
    char key[96];
    crgw_rs_key(key, sizeof(key), "rs", uscc);
    if (crgw_redis_command(rc, fetch_cb, op, "HGETALL %s", key) != 0) {
        free(op);
        return CRGW_ERR_UNAVAILABLE;
    }
    return 0;
}
