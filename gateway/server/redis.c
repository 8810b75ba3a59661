/*
 * redis: hiredis 0.14 async on the libevent loop.
 *
 * hiredis 0.14 has no timeouts: the connect and every command get a libevent timer (stored in
 * the command, one allocation per command). A timeout frees the hiredis context
 * (redisAsyncFree), which calls every pending callback with reply == NULL; a failed connect is
 * freed by hiredis itself after the connect callback (without the disconnect callback), so
 * reconnects are scheduled from the connect callback, the disconnect callback and our own
 * teardown, each checking that the context is still the current one.
 *
 * Health: a PING every CRGW_REDIS_PING_MS; up = connected and the last PING answered.
 *
 * Sentinel form (redis_target.h): the primary is asked of the Sentinels (redis_sentinel.c) at
 * every (re)connection and must say ROLE master; +switch-master and READONLY move us. With
 * min_replicas_ack > 0, a second crgw_redis to the same address (wc) carries only the one-key
 * writes and WAITs of crgw_redis_durable, one WAIT at a time for every caller that asked
 * meanwhile (group commit).
 */
#include "gateway/server/redis.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/redis_sentinel.h"

#define PING_MS 500
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

struct crgw_redis {
    struct event_base *base;
    char *addr;
    char *host; /* NULL for unix */
    int port;
    char *path; /* unix socket path, or NULL */
    int timeout_ms;
    redisAsyncContext *ac; /* current context, NULL while disconnected */
    int connected;
    int up;
    int ping_pending;
    int backoff_ms;
    int freeing;
    struct event *connect_timer;
    struct event *retry_timer;
    struct event *ping_timer;
    void (*obs)(void *ctx, unsigned long us, int ok);
    void *obs_ctx;
    unsigned long reconnects;
    int down_logged;
    unsigned long gen; /* connection generation: +1 per context */
    /* Sentinel form (redis_target.h); host/port are then the primary last announced */
    crgw_sentinel *sentinel;
    crgw_redis_target *target;
    int role_ok; /* ROLE said master on the current context */
    /* durable(): group commit of WAIT acks ack_ms (acks > 0 only) */
    int acks, ack_ms;
    struct waiter *wpend, **wpend_tail;
    int wait_inflight;
    struct crgw_redis *wc; /* the WAIT connection (acks > 0): nothing else queues behind a WAIT */
};

typedef struct waiter {
    struct waiter *next;
    crgw_redis *owner; /* whose writes it covers (the callback's rc) */
    crgw_redis_durable_cb cb;
    void *priv;
    unsigned long gen; /* of the WAIT connection when asked */
} waiter;

typedef struct {
    crgw_redis *rc;
    crgw_redis_cb cb;
    void *priv;
    int done; /* user callback already called (timeout) */
    uint64_t start_us;
    struct event timer; /* command timeout */
} command;

static void start_connect(crgw_redis *rc);

static void schedule_reconnect(crgw_redis *rc)
{
    if (rc->freeing || evtimer_pending(rc->retry_timer, NULL))
        return;
    struct timeval tv = {rc->backoff_ms / 1000, (rc->backoff_ms % 1000) * 1000};
    evtimer_add(rc->retry_timer, &tv);
    rc->backoff_ms *= 2;
    if (rc->backoff_ms > BACKOFF_MAX_MS)
        rc->backoff_ms = BACKOFF_MAX_MS;
}

static void set_up(crgw_redis *rc, int up)
{
    if (rc->up != up)
        log_info("redis %s %s", rc->addr, up ? "up" : "down");
    rc->up = up;
}

/* Drops the current context (timeout or error): pending callbacks get NULL, then reconnect. */
static void drop_context(crgw_redis *rc, const char *why)
{
    redisAsyncContext *ac = rc->ac;
    if (!ac)
        return;
    log_warn("redis %s: %s", rc->addr, why);
    rc->ac = NULL;
    rc->connected = 0;
    rc->ping_pending = 0;
    rc->role_ok = 0;
    set_up(rc, 0);
    evtimer_del(rc->connect_timer);
    ac->data = NULL;
    redisAsyncFree(ac);
    schedule_reconnect(rc);
}

static void connected(crgw_redis *rc)
{
    rc->connected = 1;
    rc->down_logged = 0;
    rc->backoff_ms = BACKOFF_MIN_MS;
    log_debug("redis %s: connected", rc->addr);
    /* first PING right away so readiness flips quickly */
    event_active(rc->ping_timer, EV_TIMEOUT, 0);
}

static void check_role(crgw_redis *rc);

static void on_connect(const redisAsyncContext *ac, int status)
{
    crgw_redis *rc = ac->data;
    if (!rc || rc->ac != ac)
        return;
    evtimer_del(rc->connect_timer);
    if (status != REDIS_OK) {
        if (!rc->down_logged)
            log_warn("redis %s: connect failed: %s", rc->addr, ac->errstr);
        rc->down_logged = 1;
        rc->ac = NULL; /* hiredis frees it after this callback */
        rc->connected = 0;
        set_up(rc, 0);
        schedule_reconnect(rc);
        return;
    }
    if (rc->sentinel) { /* the announced primary must say it is one (ROLE) before use */
        check_role(rc);
        return;
    }
    connected(rc);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    crgw_redis *rc = ac->data;
    if (!rc || rc->ac != ac)
        return;
    log_warn("redis %s: disconnected%s%s", rc->addr, status == REDIS_OK ? "" : ": ",
             status == REDIS_OK ? "" : ac->errstr);
    rc->ac = NULL;
    rc->connected = 0;
    rc->ping_pending = 0;
    rc->role_ok = 0;
    set_up(rc, 0);
    schedule_reconnect(rc);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    drop_context(arg, "connect timeout");
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_redis *rc = arg;
    if (rc->sentinel) /* every reconnection asks the Sentinels first */
        crgw_sentinel_ask(rc->sentinel);
    else
        start_connect(rc);
}

static void start_connect(crgw_redis *rc)
{
    if (rc->ac || rc->freeing)
        return;
    rc->reconnects++;
    rc->gen++;
    redisAsyncContext *ac =
        rc->path ? redisAsyncConnectUnix(rc->path) : redisAsyncConnect(rc->host, rc->port);
    if (!ac) {
        log_error("redis %s: cannot allocate a context", rc->addr);
        schedule_reconnect(rc);
        return;
    }
    if (ac->err) {
        if (!rc->down_logged)
            log_warn("redis %s: connect: %s", rc->addr, ac->errstr);
        rc->down_logged = 1;
        redisAsyncFree(ac);
        set_up(rc, 0);
        schedule_reconnect(rc);
        return;
    }
    ac->data = rc;
    if (redisLibeventAttach(ac, rc->base) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_reconnect(rc);
        return;
    }
    rc->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    struct timeval tv = {rc->timeout_ms / 1000, (rc->timeout_ms % 1000) * 1000};
    evtimer_add(rc->connect_timer, &tv);
}

static void on_ping(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)priv;
    rc->ping_pending = 0;
    int ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;
    set_up(rc, ok && rc->connected);
}

static void on_ping_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_redis *rc = arg;
    struct timeval tv = {0, PING_MS * 1000};
    evtimer_add(rc->ping_timer, &tv);
    if (!rc->connected || rc->ping_pending)
        return;
    if (crgw_redis_command(rc, on_ping, NULL, "PING") == 0)
        rc->ping_pending = 1;
}

/* ---- Sentinel form ---- */

static void on_role(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)priv;
    if (!rc->ac)
        return;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        strcmp(reply->element[0]->str, "master") == 0) {
        rc->role_ok = 1;
        log_info("redis %s: primary %s:%d", rc->addr, rc->host, rc->port);
        connected(rc);
        return;
    }
    drop_context(rc, reply && reply->type == REDIS_REPLY_ARRAY
                         ? "the announced primary is not one (ROLE); asking the Sentinels again"
                         : "no answer to ROLE");
}

static void on_master(void *priv, const char *ip, int port, int switched)
{
    crgw_redis *rc = priv;
    if (rc->freeing)
        return;
    if (ip == NULL) {
        if (!rc->down_logged)
            log_warn("redis %s: no Sentinel named a primary", rc->addr);
        rc->down_logged = 1;
        schedule_reconnect(rc);
        return;
    }
    int same = rc->host && strcmp(rc->host, ip) == 0 && rc->port == port;
    if (!same) {
        free(rc->host);
        rc->host = xstrdup(ip);
        rc->port = port;
    }
    if (switched) {
        if (rc->ac && !same)
            drop_context(rc, "+switch-master: the primary moved");
        if (!rc->ac) { /* connect to the new primary now, not after the back-off */
            evtimer_del(rc->retry_timer);
            rc->backoff_ms = BACKOFF_MIN_MS;
            start_connect(rc);
        }
        return;
    }
    if (!rc->ac)
        start_connect(rc);
}

static int parse_addr(crgw_redis *rc, const char *addr)
{
    if (crgw_redis_is_sentinel(addr)) {
        char why[256];
        rc->target = xmalloc(sizeof(*rc->target));
        if (crgw_redis_target_parse(addr, rc->target, why, sizeof(why)) != 0) {
            log_error("redis: %s", why);
            free(rc->target);
            rc->target = NULL;
            return -1;
        }
        rc->acks = rc->target->acks;
        rc->ack_ms = rc->target->ack_ms;
        return 0;
    }
    if (strncmp(addr, "unix:", 5) == 0) {
        if (!addr[5])
            return -1;
        rc->path = xstrdup(addr + 5);
        return 0;
    }
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr)
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535)
        return -1;
    rc->host = xstrndup(addr, (size_t)(colon - addr));
    rc->port = (int)port;
    /* hiredis resolves names with a blocking getaddrinfo(): IP literals only on the loop */
    unsigned char bin[sizeof(struct in6_addr)];
    if (strcmp(rc->host, "localhost") == 0) {
        free(rc->host);
        rc->host = xstrdup("127.0.0.1");
    } else if (inet_pton(AF_INET, rc->host, bin) != 1 && inet_pton(AF_INET6, rc->host, bin) != 1) {
        log_error("redis: '%s' is not an IP address (no DNS lookups on the event loop)", rc->host);
        free(rc->host);
        rc->host = NULL;
        return -1;
    }
    return 0;
}

static crgw_redis *redis_new(struct event_base *base, const char *addr, int timeout_ms,
                             int wait_conn)
{
    crgw_redis *rc = xcalloc(1, sizeof(*rc));
    rc->base = base;
    rc->addr = xstrdup(addr);
    rc->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    rc->backoff_ms = BACKOFF_MIN_MS;
    if (parse_addr(rc, addr) != 0) {
        log_error("redis: bad address '%s' (HOST:PORT or unix:PATH)", addr);
        goto fail_addr;
    }
    rc->connect_timer = evtimer_new(base, on_connect_timeout, rc);
    rc->retry_timer = evtimer_new(base, on_retry, rc);
    rc->ping_timer = evtimer_new(base, on_ping_timer, rc);
    struct timeval tv = {0, PING_MS * 1000};
    evtimer_add(rc->ping_timer, &tv);
    rc->wpend_tail = &rc->wpend;
    if (rc->target) {
        rc->sentinel = crgw_sentinel_new(base, rc->target, rc->timeout_ms, on_master, rc);
        crgw_sentinel_ask(rc->sentinel);
    } else {
        start_connect(rc);
    }
    if (rc->acks > 0 && !wait_conn) {
        rc->wc = redis_new(base, addr, timeout_ms, 1); /* parsed above: cannot fail */
        size_t n = strlen(addr);
        free(rc->wc->addr); /* its log lines say which connection they are about */
        rc->wc->addr = xmalloc(n + sizeof(" (WAIT)"));
        memcpy(rc->wc->addr, addr, n);
        memcpy(rc->wc->addr + n, " (WAIT)", sizeof(" (WAIT)"));
    }
    return rc;

fail_addr:
    free(rc->addr);
    free(rc);
    return NULL;
}

crgw_redis *crgw_redis_new(struct event_base *base, const char *addr, int timeout_ms)
{
    return redis_new(base, addr, timeout_ms, 0);
}

static void waiters_fail(waiter *w);

void crgw_redis_free(crgw_redis *rc)
{
    if (!rc)
        return;
    rc->freeing = 1;
    crgw_redis_free(rc->wc); /* its waiters are called back (not ok) */
    rc->wc = NULL;
    crgw_sentinel_free(rc->sentinel);
    rc->sentinel = NULL;
    if (rc->ac) {
        redisAsyncContext *ac = rc->ac;
        rc->ac = NULL;
        rc->connected = 0;
        ac->data = NULL;
        redisAsyncFree(ac); /* pending callbacks run now with reply == NULL */
    }
    waiter *w = rc->wpend;
    rc->wpend = NULL;
    waiters_fail(w);
    event_free(rc->connect_timer);
    event_free(rc->retry_timer);
    event_free(rc->ping_timer);
    free(rc->target);
    free(rc->addr);
    free(rc->host);
    free(rc->path);
    free(rc);
}

int crgw_redis_up(const crgw_redis *rc)
{
    return rc && rc->up;
}

const char *crgw_redis_addr(const crgw_redis *rc)
{
    return rc->addr;
}

void crgw_redis_set_observer(crgw_redis *rc, void (*obs)(void *ctx, unsigned long us, int ok),
                             void *ctx)
{
    rc->obs = obs;
    rc->obs_ctx = ctx;
}

static void on_command_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    command *cmd = arg;
    crgw_redis *rc = cmd->rc;
    /* The reply may still come, but the connection is no longer trustworthy: drop it. The
     * command's own hiredis callback runs from redisAsyncFree with NULL and frees cmd. */
    drop_context(rc, "command timeout");
}

static void on_reply(redisAsyncContext *ac, void *r, void *priv)
{
    command *cmd = priv;
    redisReply *reply = r;
    crgw_redis *rc = cmd->rc;
    event_del(&cmd->timer);
    if (!cmd->done) {
        cmd->done = 1;
        int ok = reply && reply->type != REDIS_REPLY_ERROR;
        if (rc->obs)
            rc->obs(rc->obs_ctx, (unsigned long)(crgw_now_us() - cmd->start_us), ok);
        cmd->cb(rc, reply, cmd->priv);
    }
    free(cmd);
    /* A replica now (failover): ask the Sentinels again. */
    if (rc->sentinel && reply && reply->type == REDIS_REPLY_ERROR && ac == rc->ac &&
        strncmp(reply->str, "READONLY", 8) == 0)
        drop_context(rc, "READONLY: no longer the primary; asking the Sentinels");
}

static command *command_new(crgw_redis *rc, crgw_redis_cb cb, void *priv)
{
    command *cmd = xmalloc(sizeof(*cmd));
    cmd->rc = rc;
    cmd->cb = cb;
    cmd->priv = priv;
    cmd->done = 0;
    cmd->start_us = crgw_now_us();
    evtimer_assign(&cmd->timer, rc->base, on_command_timeout, cmd);
    return cmd;
}

static void command_armed(crgw_redis *rc, command *cmd)
{
    /* behind a WAIT on the same connection, a command waits for it too */
    int ms = rc->timeout_ms + (rc->wait_inflight ? rc->ack_ms : 0);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(&cmd->timer, &tv);
}

int crgw_redis_command(crgw_redis *rc, crgw_redis_cb cb, void *priv, const char *fmt, ...)
{
    if (!rc || !rc->ac || !rc->connected)
        return CRGW_ERR_UNAVAILABLE;
    command *cmd = command_new(rc, cb, priv);
    va_list ap;
    va_start(ap, fmt);
    int st = redisvAsyncCommand(rc->ac, on_reply, cmd, fmt, ap);
    va_end(ap);
    if (st != REDIS_OK) {
        free(cmd);
        return CRGW_ERR_UNAVAILABLE;
    }
    command_armed(rc, cmd);
    return 0;
}

int crgw_redis_commandargv(crgw_redis *rc, crgw_redis_cb cb, void *priv, int argc,
                           const char **argv, const size_t *argvlen)
{
    if (!rc || !rc->ac || !rc->connected)
        return CRGW_ERR_UNAVAILABLE;
    command *cmd = command_new(rc, cb, priv);
    if (redisAsyncCommandArgv(rc->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
        free(cmd);
        return CRGW_ERR_UNAVAILABLE;
    }
    command_armed(rc, cmd);
    return 0;
}

static void check_role(crgw_redis *rc)
{
    command *cmd = command_new(rc, on_role, NULL);
    if (redisAsyncCommand(rc->ac, on_reply, cmd, "ROLE") != REDIS_OK) {
        free(cmd);
        drop_context(rc, "cannot send ROLE");
        return;
    }
    command_armed(rc, cmd);
}

unsigned long crgw_redis_generation(const crgw_redis *rc)
{
    return rc->gen;
}

int crgw_redis_min_acks(const crgw_redis *rc)
{
    return rc ? rc->acks : 0;
}

/* ---- durable(): WAIT, one for every writer that asked since the last one (group commit) ---- */

static void waiters_fail(waiter *w)
{
    while (w) {
        waiter *next = w->next;
        w->cb(w->owner, 0, -1, w->priv);
        free(w);
        w = next;
    }
}

static void send_wait(crgw_redis *rc);

static void ignore_reply(crgw_redis *rc, redisReply *reply, void *priv)
{
    (void)rc;
    (void)reply;
    (void)priv;
}

static void on_wait(crgw_redis *rc, redisReply *reply, void *priv)
{
    waiter *w = priv;
    rc->wait_inflight = 0;
    long n = reply && reply->type == REDIS_REPLY_INTEGER ? (long)reply->integer : -1;
    int ok = n >= rc->acks;
    if (!ok)
        log_warn("redis %s: WAIT %d %d: %ld replicas acknowledged", rc->addr, rc->acks, rc->ack_ms,
                 n);
    while (w) {
        waiter *next = w->next;
        w->cb(w->owner, ok, n, w->priv);
        free(w);
        w = next;
    }
    if (rc->wpend && !rc->freeing)
        send_wait(rc);
}

/*
 * One write then WAIT: the write (of a constant) moves this connection's replication offset to
 * the primary's current one, so the WAIT covers everything written before it by anyone (the
 * outbox reads what another connection wrote; a replayed answer was written earlier).
 */
static void send_wait(crgw_redis *rc)
{
    waiter *w = rc->wpend;
    rc->wpend = NULL;
    rc->wpend_tail = &rc->wpend;
    /* a writer of an older connection cannot be covered by a WAIT on this one */
    waiter *ok = NULL, **okt = &ok, *bad = NULL;
    while (w) {
        waiter *next = w->next;
        w->next = NULL;
        if (w->gen == rc->gen && rc->connected) {
            *okt = w;
            okt = &w->next;
        } else {
            w->next = bad;
            bad = w;
        }
        w = next;
    }
    waiters_fail(bad);
    if (ok == NULL)
        return;
    command *probe = command_new(rc, ignore_reply, NULL);
    if (redisAsyncCommand(rc->ac, on_reply, probe, "SET crgw:durable 1") != REDIS_OK) {
        free(probe);
        waiters_fail(ok);
        return;
    }
    command_armed(rc, probe);
    command *cmd = command_new(rc, on_wait, ok);
    if (redisAsyncCommand(rc->ac, on_reply, cmd, "WAIT %d %d", rc->acks, rc->ack_ms) != REDIS_OK) {
        free(cmd);
        waiters_fail(ok);
        return;
    }
    command_armed(rc, cmd); /* before wait_inflight: its own timeout is below */
    event_del(&cmd->timer);
    int wms = rc->timeout_ms + rc->ack_ms;
    struct timeval tv = {wms / 1000, (wms % 1000) * 1000};
    evtimer_add(&cmd->timer, &tv);
    rc->wait_inflight = 1;
}

int crgw_redis_durable(crgw_redis *rc, crgw_redis_durable_cb cb, void *priv)
{
    if (rc == NULL)
        return CRGW_ERR_UNAVAILABLE;
    if (rc->acks <= 0) {
        cb(rc, 1, 0, priv);
        return 0;
    }
    /* The WAIT connection covers what is written on our server only if it is on the same one,
     * and stays on that connection until its WAIT (generation checked in send_wait). */
    crgw_redis *wc = rc->wc;
    if (!rc->ac || !rc->connected || !wc || !wc->ac || !wc->connected || !rc->host || !wc->host ||
        strcmp(rc->host, wc->host) != 0 || rc->port != wc->port)
        return CRGW_ERR_UNAVAILABLE;
    waiter *w = xmalloc(sizeof(*w));
    w->next = NULL;
    w->owner = rc;
    w->cb = cb;
    w->priv = priv;
    w->gen = wc->gen;
    *wc->wpend_tail = w;
    wc->wpend_tail = &w->next;
    if (!wc->wait_inflight)
        send_wait(wc);
    return 0;
}
