/*
 * cache_module: the cache module: the `cache:` configuration section and the server's verdict
 * cache on its loop and Redis (the verify module submits to it through crgw_cache_of).
 */
#include <stddef.h>

#include "gateway/cache/cache.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

static int cache_start(crgw_server *s, void **state)
{
    *state = crgw_cache_new(crgw_server_base(s), crgw_server_redis(s), NULL, NULL);
    return 0;
}

static void cache_stop(crgw_server *s, void *state)
{
    (void)s;
    crgw_cache_free(state);
}

static const char *cache_not_ready(crgw_server *s, void *state)
{
    (void)s;
    return crgw_cache_not_ready(state);
}

crgw_cache *crgw_cache_of(const crgw_server *s)
{
    return crgw_server_state(s, &crgw_cache_module);
}

const crgw_cache_conf *crgw_cache_conf_of(const crgw_config *cfg)
{
    return crgw_config_section(cfg, &crgw_cache_module);
}

#define C crgw_cache_conf
static const crgw_conf_field cache_fields[] = {
    CRGW_CONF_BOOL_ROW(C, enabled, 1, "answer repeated verifications from Redis"),
    CRGW_CONF_INT_ROW(C, max_ttl_s, 1, 31536000, 86400, "longest life of a stored verdict (s)"),
    CRGW_CONF_INT_ROW(C, failure_ttl_s, 0, 86400, 60, "life of a stored failure verdict (s)"),
    {0},
};
#undef C

const crgw_module crgw_cache_module = {
    .name = "cache",
    .section = "cache",
    .fields = cache_fields,
    .conf_size = sizeof(crgw_cache_conf),
    .start = cache_start,
    .stop = cache_stop,
    .not_ready = cache_not_ready,
};
