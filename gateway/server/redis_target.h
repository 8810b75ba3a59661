/*
 * redis_target: where the Redis client goes. Either one address ("HOST:PORT", "unix:PATH") or a
 * Redis Sentinel set, written as one string so that the command line, the configuration and the
 * reload comparison all use the same form:
 *
 *   sentinel:NAME@IP:PORT[,IP:PORT...][;acks=N][;ack_ms=T]
 *
 * NAME is the monitored master's name, the addresses those of the Sentinels (IP literals: no DNS
 * lookups on the event loop), acks the replicas that must acknowledge every acknowledged write
 * (WAIT N T, "min_replicas_ack", default 0) and ack_ms the time they have ("ack_timeout_ms",
 * default 1000). The YAML form `redis: {sentinels: [..], master: NAME, min_replicas_ack: N,
 * ack_timeout_ms: T}` is turned into that string by crgw_redis_target_from_yaml.
 */
#ifndef CRGW_REDIS_TARGET_H
#define CRGW_REDIS_TARGET_H

#include "gateway/core/err.h"

#include <stddef.h>

struct crgw_ynode;

#define CRGW_REDIS_MAX_SENTINELS 16
#define CRGW_REDIS_MAX_ACKS 16
#define CRGW_REDIS_MAX_ACK_MS 60000

typedef struct {
    char master[128];
    int n;                                   /* Sentinels */
    char host[CRGW_REDIS_MAX_SENTINELS][64]; /* IP literals */
    int port[CRGW_REDIS_MAX_SENTINELS];
    int acks;   /* min_replicas_ack */
    int ack_ms; /* ack_timeout_ms */
} crgw_redis_target;

/* 1 when s is the Sentinel form (starts with "sentinel:"). */
int crgw_redis_is_sentinel(const char *s);

/* Parses the Sentinel form. Returns 0, or CRGW_ERR_INVALID with the reason in why. */
int crgw_redis_target_parse(const char *s, crgw_redis_target *t, char *why, size_t len);

/*
 * The YAML mapping form as the string form (caller frees). NULL with the reason in why and the
 * line of the offending node in *line.
 */
char *crgw_redis_target_from_yaml(const struct crgw_ynode *map, int *line, char *why, size_t len);

#endif
