/* Unit tests of gateway/server/redis_target.c: the Sentinel form of a Redis address. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/core/yamltree.h"
#include "gateway/server/redis_target.h"

static void refused(const char *s, const char *why_part)
{
    crgw_redis_target t;
    char why[256] = "";
    cr_assert_eq(crgw_redis_target_parse(s, &t, why, sizeof(why)), CRGW_ERR_INVALID, "%s", s);
    cr_assert(strstr(why, why_part) != NULL, "%s: got '%s', want '%s'", s, why, why_part);
}

Test(redis_target, full_form)
{
    crgw_redis_target t;
    char why[256] = "";
    cr_assert_eq(crgw_redis_target_parse(
                     "sentinel:crgw-a@127.0.0.1:26379,[::1]:26380,localhost:1;acks=2;ack_ms=250",
                     &t, why, sizeof(why)),
                 0, "%s", why);
    cr_assert_str_eq(t.master, "crgw-a");
    cr_assert_eq(t.n, 3);
    cr_assert_str_eq(t.host[0], "127.0.0.1");
    cr_assert_eq(t.port[0], 26379);
    cr_assert_str_eq(t.host[1], "::1");
    cr_assert_eq(t.port[1], 26380);
    cr_assert_str_eq(t.host[2], "127.0.0.1");
    cr_assert_eq(t.acks, 2);
    cr_assert_eq(t.ack_ms, 250);
}

Test(redis_target, defaults)
{
    crgw_redis_target t;
    char why[256] = "";
    cr_assert_eq(crgw_redis_target_parse("sentinel:m@10.0.0.1:26379", &t, why, sizeof(why)), 0);
    cr_assert_eq(t.acks, 0);
    cr_assert_eq(t.ack_ms, 1000);
    cr_assert(crgw_redis_is_sentinel("sentinel:x"));
    cr_assert(!crgw_redis_is_sentinel("unix:/tmp/s"));
    cr_assert(!crgw_redis_is_sentinel("127.0.0.1:6379"));
}

Test(redis_target, errors)
{
    refused("127.0.0.1:6379", "not the Sentinel form");
    refused("sentinel:127.0.0.1:26379", "master NAME");
    refused("sentinel:@127.0.0.1:26379", "master NAME");
    refused("sentinel:a b@127.0.0.1:26379", "master NAME");
    refused("sentinel:m@", "at least one Sentinel");
    refused("sentinel:m@;acks=1", "at least one Sentinel");
    refused("sentinel:m@db.example:26379", "not an IP address");
    refused("sentinel:m@127.0.0.1", "must be IP:PORT");
    refused("sentinel:m@127.0.0.1:0", "bad port");
    refused("sentinel:m@127.0.0.1:70000", "bad port");
    refused("sentinel:m@127.0.0.1:1,", "empty");
    refused("sentinel:m@127.0.0.1:1;acks=17", "0..16");
    refused("sentinel:m@127.0.0.1:1;acks=-1", "0..16");
    refused("sentinel:m@127.0.0.1:1;acks=x", "not a number");
    refused("sentinel:m@127.0.0.1:1;ack_ms=0", "1..60000");
    refused("sentinel:m@127.0.0.1:1;wait=1", "unknown option");
    refused("sentinel:m@127.0.0.1:1;acks", "acks=N or ack_ms=T");
}

static crgw_ynode *load(const char *text)
{
    char path[] = "/tmp/crgw-unit-rt.XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    crgw_ynode *root = NULL;
    char err[256];
    cr_assert_eq(crgw_yaml_load(path, 65536, &root, err, sizeof(err)), 0, "%s", err);
    unlink(path);
    return root;
}

Test(redis_target, yaml_mapping)
{
    crgw_ynode *root = load("redis:\n  sentinels: [127.0.0.1:1, 127.0.0.1:2]\n  master: m\n"
                            "  min_replicas_ack: 1\n  ack_timeout_ms: 300\n");
    int line = 0;
    char why[256] = "";
    char *s = crgw_redis_target_from_yaml(crgw_yaml_get(root, "redis"), &line, why, sizeof(why));
    cr_assert_not_null(s, "%s", why);
    cr_assert_str_eq(s, "sentinel:m@127.0.0.1:1,127.0.0.1:2;acks=1;ack_ms=300");
    free(s);
    crgw_yaml_free(root);

    root = load("redis:\n  sentinels: [127.0.0.1:1]\n  master: m\n  min_replicas_ack: 40\n");
    s = crgw_redis_target_from_yaml(crgw_yaml_get(root, "redis"), &line, why, sizeof(why));
    cr_assert_null(s);
    cr_assert(strstr(why, "0..16") != NULL, "%s", why);
    crgw_yaml_free(root);

    root = load("redis:\n  master: m\n  replicas: 2\n");
    s = crgw_redis_target_from_yaml(crgw_yaml_get(root, "redis"), &line, why, sizeof(why));
    cr_assert_null(s);
    cr_assert_eq(line, 3);
    cr_assert(strstr(why, "unknown key 'redis.replicas'") != NULL, "%s", why);
    crgw_yaml_free(root);

    root = load("redis:\n  master: m\n");
    s = crgw_redis_target_from_yaml(crgw_yaml_get(root, "redis"), &line, why, sizeof(why));
    cr_assert_null(s);
    cr_assert(strstr(why, "needs 'sentinels'") != NULL, "%s", why);
    crgw_yaml_free(root);

    root = load("redis:\n  sentinels: []\n  master: m\n");
    s = crgw_redis_target_from_yaml(crgw_yaml_get(root, "redis"), &line, why, sizeof(why));
    cr_assert_null(s);
    cr_assert_eq(line, 2);
    crgw_yaml_free(root);
}
