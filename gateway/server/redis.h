/*
 * redis: an asynchronous Redis client (hiredis 0.14 on the libevent loop) with connect and
 * command timeouts (libevent timers), automatic reconnect with exponential back-off, and
 * PING-based health. Never blocks the loop.
 *
 * Cancellation is by detaching (STYLE.md rule 8): a callback always runs exactly once, with
 * reply == NULL on error, timeout or disconnection; its owner checks whether it still cares.
 */
#ifndef CRGW_REDIS_H
#define CRGW_REDIS_H

#include "gateway/core/err.h"

#include <stddef.h>

struct event_base;
struct redisReply;
typedef struct crgw_redis crgw_redis;

typedef void (*crgw_redis_cb)(crgw_redis *rc, struct redisReply *reply, void *priv);

/*
 * addr: "HOST:PORT", "unix:/path" or the Sentinel form "sentinel:NAME@IP:PORT,...;acks=N;ack_ms=T"
 * (redis_target.h: the primary is asked of the Sentinels at every (re)connection, confirmed with
 * ROLE, followed on +switch-master, and left on a READONLY error). timeout_ms bounds connect and
 * every command.
 */
crgw_redis *crgw_redis_new(struct event_base *base, const char *addr, int timeout_ms);
void crgw_redis_free(crgw_redis *rc);
/* 1 when connected and the last PING/command answered. */
int crgw_redis_up(const crgw_redis *rc);
const char *crgw_redis_addr(const crgw_redis *rc);

/* Returns 0 (cb will be called exactly once) or CRGW_ERR_UNAVAILABLE. Commands are pipelined. */
int crgw_redis_command(crgw_redis *rc, crgw_redis_cb cb, void *priv, const char *fmt, ...);
int crgw_redis_commandargv(crgw_redis *rc, crgw_redis_cb cb, void *priv, int argc,
                           const char **argv, const size_t *argvlen);

/*
 * Durability of what was written so far: cb(rc, ok, acks, priv) once every write the primary
 * holds now (this connection's and any other's) is acknowledged by min_replicas_ack replicas
 * (WAIT acks ack_ms after a one-key write that moves the WAIT connection's offset to the
 * primary's; callers that asked while a WAIT was out share the next one). The WAITs go over a
 * second connection of rc's to the same primary, so that nothing queues behind them. ok == 0
 * when fewer replicas acknowledged in time (acks is how many, -1 for no answer) or the WAIT
 * connection changed since the call. Without min_replicas_ack (0, or a plain address) cb runs at
 * once with ok == 1. Returns 0 (cb will be called exactly once) or CRGW_ERR_UNAVAILABLE (not
 * connected, or the WAIT connection is not on rc's server yet; cb not called).
 */
typedef void (*crgw_redis_durable_cb)(crgw_redis *rc, int ok, long acks, void *priv);
int crgw_redis_durable(crgw_redis *rc, crgw_redis_durable_cb cb, void *priv);
/* min_replicas_ack of the address (0 for a plain one). */
int crgw_redis_min_acks(const crgw_redis *rc);
/* +1 for every new connection (a reply belongs to the generation current when it arrives). */
unsigned long crgw_redis_generation(const crgw_redis *rc);

/* Optional observer of every round trip (metrics): microseconds, ok. */
void crgw_redis_set_observer(crgw_redis *rc, void (*obs)(void *ctx, unsigned long us, int ok),
                             void *ctx);

#endif
