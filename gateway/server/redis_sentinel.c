/*
 * redis_sentinel: the Sentinel client (see redis_sentinel.h).
 *
 * Two hiredis contexts at most: the query context (one Sentinel at a time, freed after its one
 * answer) and the subscription context (SUBSCRIBE +switch-master). hiredis 0.14 calls a pending
 * callback with reply == NULL when its context goes (error, timeout, free); each callback checks
 * that its context is still the current one of its kind before acting.
 */
#include "gateway/server/redis_sentinel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"

#define RESUBSCRIBE_MS 500

struct crgw_sentinel {
    struct event_base *base;
    crgw_redis_target t;
    int timeout_ms;
    crgw_sentinel_cb cb;
    void *priv;
    int freeing;
    /* query */
    redisAsyncContext *qac;
    int asking;
    int q_idx;   /* Sentinel being asked */
    int q_tried; /* Sentinels tried in this ask */
    struct event *q_timer;
    /* subscription */
    redisAsyncContext *sub;
    int sub_idx;
    struct event *sub_timer;
    int sub_logged;
};

static void query_next(crgw_sentinel *s);

static void arm(struct event *ev, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(ev, &tv);
}

static void query_cb(redisAsyncContext *ac, void *r, void *priv)
{
    crgw_sentinel *s = priv;
    redisReply *reply = r;
    if (s->freeing || ac != s->qac)
        return;
    evtimer_del(s->q_timer);
    s->qac = NULL;
    redisAsyncFree(ac); /* deferred by hiredis: we are in its callback */
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING && reply->element[0]->len < 64) {
        char ip[64];
        snprintf(ip, sizeof(ip), "%s", reply->element[0]->str);
        char *end;
        long port = strtol(reply->element[1]->str, &end, 10);
        if (*end == '\0' && port > 0 && port <= 65535) {
            s->asking = 0;
            log_debug("sentinel %s:%d: master %s is %s:%ld", s->t.host[s->q_idx],
                      s->t.port[s->q_idx], s->t.master, ip, port);
            s->cb(s->priv, ip, (int)port, 0);
            return;
        }
    }
    log_warn("sentinel %s:%d: no primary for '%s': %s", s->t.host[s->q_idx], s->t.port[s->q_idx],
             s->t.master,
             reply == NULL                      ? "no answer"
             : reply->type == REDIS_REPLY_ERROR ? reply->str
             : reply->type == REDIS_REPLY_NIL   ? "unknown master name"
                                                : "unexpected reply");
    s->q_idx = (s->q_idx + 1) % s->t.n;
    query_next(s);
}

static void query_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_sentinel *s = arg;
    if (s->qac)
        redisAsyncFree(s->qac); /* query_cb runs with NULL and moves on */
}

/* Asks the Sentinel q_idx, or the next ones; after all of them failed, cb(NULL). */
static void query_next(crgw_sentinel *s)
{
    while (s->q_tried < s->t.n) {
        s->q_tried++;
        int i = s->q_idx;
        redisAsyncContext *ac = redisAsyncConnect(s->t.host[i], s->t.port[i]);
        if (ac == NULL || ac->err || redisLibeventAttach(ac, s->base) != REDIS_OK) {
            if (ac)
                redisAsyncFree(ac);
            s->q_idx = (s->q_idx + 1) % s->t.n;
            continue;
        }
        s->qac = ac;
        if (redisAsyncCommand(ac, query_cb, s, "SENTINEL get-master-addr-by-name %s",
                              s->t.master) != REDIS_OK) {
            s->qac = NULL;
            redisAsyncFree(ac);
            s->q_idx = (s->q_idx + 1) % s->t.n;
            continue;
        }
        arm(s->q_timer, s->timeout_ms);
        return;
    }
    s->asking = 0;
    s->cb(s->priv, NULL, 0, 0);
}

void crgw_sentinel_ask(crgw_sentinel *s)
{
    if (s->asking || s->freeing)
        return;
    s->asking = 1;
    s->q_tried = 0;
    query_next(s);
}

/* ---- +switch-master ---- */

static void subscribe(crgw_sentinel *s);

static void sub_later(crgw_sentinel *s)
{
    if (!s->freeing && !evtimer_pending(s->sub_timer, NULL))
        arm(s->sub_timer, RESUBSCRIBE_MS);
}

static void sub_msg(redisAsyncContext *ac, void *r, void *priv)
{
    crgw_sentinel *s = priv;
    redisReply *reply = r;
    if (s->freeing || ac != s->sub || reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
        reply->elements != 3 || reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[2]->type != REDIS_REPLY_STRING)
        return;
    if (strcmp(reply->element[0]->str, "subscribe") == 0) {
        s->sub_logged = 0;
        log_debug("sentinel %s:%d: subscribed to +switch-master", s->t.host[s->sub_idx],
                  s->t.port[s->sub_idx]);
        return;
    }
    if (strcmp(reply->element[0]->str, "message") != 0)
        return;
    /* "<master name> <old ip> <old port> <new ip> <new port>" */
    char name[128], oip[64], nip[64];
    int oport, nport;
    if (sscanf(reply->element[2]->str, "%127s %63s %d %63s %d", name, oip, &oport, nip, &nport) !=
            5 ||
        strcmp(name, s->t.master) != 0)
        return;
    log_info("sentinel: +switch-master %s %s:%d -> %s:%d", name, oip, oport, nip, nport);
    s->cb(s->priv, nip, nport, 1);
}

static void sub_connected(const redisAsyncContext *ac, int status)
{
    crgw_sentinel *s = ac->data;
    if (s == NULL || s->freeing || ac != s->sub || status == REDIS_OK)
        return;
    s->sub = NULL; /* hiredis frees it */
    s->sub_idx = (s->sub_idx + 1) % s->t.n;
    sub_later(s);
}

static void sub_disconnected(const redisAsyncContext *ac, int status)
{
    (void)status;
    crgw_sentinel *s = ac->data;
    if (s == NULL || s->freeing || ac != s->sub)
        return;
    if (!s->sub_logged)
        log_warn("sentinel %s:%d: subscription lost; moving to the next Sentinel",
                 s->t.host[s->sub_idx], s->t.port[s->sub_idx]);
    s->sub_logged = 1;
    s->sub = NULL;
    s->sub_idx = (s->sub_idx + 1) % s->t.n;
    sub_later(s);
}

static void subscribe(crgw_sentinel *s)
{
    if (s->sub || s->freeing)
        return;
    int i = s->sub_idx;
    redisAsyncContext *ac = redisAsyncConnect(s->t.host[i], s->t.port[i]);
    if (ac == NULL || ac->err || redisLibeventAttach(ac, s->base) != REDIS_OK) {
        if (ac)
            redisAsyncFree(ac);
        s->sub_idx = (s->sub_idx + 1) % s->t.n;
        sub_later(s);
        return;
    }
    ac->data = s;
    s->sub = ac;
    redisAsyncSetConnectCallback(ac, sub_connected);
    redisAsyncSetDisconnectCallback(ac, sub_disconnected);
    if (redisAsyncCommand(ac, sub_msg, s, "SUBSCRIBE +switch-master") != REDIS_OK) {
        s->sub = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
        sub_later(s);
    }
}

static void sub_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    subscribe(arg);
}

crgw_sentinel *crgw_sentinel_new(struct event_base *base, const crgw_redis_target *t,
                                 int timeout_ms, crgw_sentinel_cb cb, void *priv)
{
    crgw_sentinel *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->t = *t;
    s->timeout_ms = timeout_ms > 0 ? timeout_ms : 1000;
    s->cb = cb;
    s->priv = priv;
    s->q_timer = evtimer_new(base, query_timeout, s);
    s->sub_timer = evtimer_new(base, sub_timer_cb, s);
    subscribe(s);
    return s;
}

void crgw_sentinel_free(crgw_sentinel *s)
{
    if (s == NULL)
        return;
    s->freeing = 1;
    if (s->qac) {
        redisAsyncContext *ac = s->qac;
        s->qac = NULL;
        redisAsyncFree(ac);
    }
    if (s->sub) {
        redisAsyncContext *ac = s->sub;
        s->sub = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    event_free(s->q_timer);
    event_free(s->sub_timer);
    free(s);
}
