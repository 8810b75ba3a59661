/*
 * redis_sentinel: asks a set of Redis Sentinels which server is the primary of a master name
 * (SENTINEL get-master-addr-by-name), and follows their +switch-master announcements (one
 * subscribed connection to one Sentinel at a time, moved to the next one when it goes). Used by
 * redis.c for the Sentinel form of a Redis address; everything runs on the event loop (hiredis
 * async, libevent timers), nothing blocks.
 */
#ifndef CRGW_REDIS_SENTINEL_H
#define CRGW_REDIS_SENTINEL_H

#include "gateway/server/redis_target.h"

struct event_base;
typedef struct crgw_sentinel crgw_sentinel;

/*
 * The primary's address: an answer to crgw_sentinel_ask (switched 0; ip NULL when no Sentinel
 * answered) or a +switch-master announcement for our master name (switched 1).
 */
typedef void (*crgw_sentinel_cb)(void *priv, const char *ip, int port, int switched);

crgw_sentinel *crgw_sentinel_new(struct event_base *base, const crgw_redis_target *t,
                                 int timeout_ms, crgw_sentinel_cb cb, void *priv);
/* Asks the Sentinels in turn (from the last one that answered); cb runs once per ask. A second
 * ask while one runs is merged into it. */
void crgw_sentinel_ask(crgw_sentinel *s);
void crgw_sentinel_free(crgw_sentinel *s);

#endif
