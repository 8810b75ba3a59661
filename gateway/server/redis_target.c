/*
 * redis_target: the Sentinel form of a Redis address (see redis_target.h).
 */
#include "gateway/server/redis_target.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/core/yamltree.h"

#define PREFIX "sentinel:"

int crgw_redis_is_sentinel(const char *s)
{
    return s && strncmp(s, PREFIX, strlen(PREFIX)) == 0;
}

static int name_ok(const char *s, size_t n)
{
    if (n == 0 || n >= sizeof(((crgw_redis_target *)0)->master))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

/* One "IP:PORT" / "[V6]:PORT" of n bytes into slot i. 0 or -1 with why. */
static int parse_one(const char *s, size_t n, crgw_redis_target *t, char *why, size_t len)
{
    char a[80];
    if (n == 0 || n >= sizeof(a)) {
        snprintf(why, len, "empty or over-long Sentinel address");
        return -1;
    }
    memcpy(a, s, n);
    a[n] = '\0';
    char *colon = strrchr(a, ':');
    if (colon == NULL || colon == a) {
        snprintf(why, len, "Sentinel address '%s' must be IP:PORT", a);
        return -1;
    }
    *colon = '\0';
    char *host = a;
    if (host[0] == '[') {
        size_t hl = strlen(host);
        if (hl < 3 || host[hl - 1] != ']') {
            snprintf(why, len, "Sentinel address '%s' has a bad [IPv6] part", s);
            return -1;
        }
        host[hl - 1] = '\0';
        host++;
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
        snprintf(why, len, "Sentinel address '%.*s': bad port", (int)n, s);
        return -1;
    }
    if (strcmp(host, "localhost") == 0)
        host = (char *)"127.0.0.1";
    unsigned char bin[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1) {
        snprintf(why, len, "Sentinel address '%s' is not an IP address (no DNS lookups)", host);
        return -1;
    }
    if (t->n == CRGW_REDIS_MAX_SENTINELS) {
        snprintf(why, len, "more than %d Sentinels", CRGW_REDIS_MAX_SENTINELS);
        return -1;
    }
    size_t hl = strlen(host); /* an IP literal: < INET6_ADDRSTRLEN */
    if (hl >= sizeof(t->host[0]))
        hl = sizeof(t->host[0]) - 1;
    memcpy(t->host[t->n], host, hl);
    t->host[t->n][hl] = '\0';
    t->port[t->n++] = (int)port;
    return 0;
}

static int parse_opt(const char *s, size_t n, crgw_redis_target *t, char *why, size_t len)
{
    const char *eq = memchr(s, '=', n);
    if (eq == NULL) {
        snprintf(why, len, "option '%.*s' must be acks=N or ack_ms=T", (int)n, s);
        return -1;
    }
    size_t kl = (size_t)(eq - s);
    char v[24];
    size_t vl = n - kl - 1;
    if (vl == 0 || vl >= sizeof(v)) {
        snprintf(why, len, "option '%.*s' has no value", (int)n, s);
        return -1;
    }
    memcpy(v, eq + 1, vl);
    v[vl] = '\0';
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end) {
        snprintf(why, len, "option '%.*s': not a number", (int)n, s);
        return -1;
    }
    if (kl == 4 && memcmp(s, "acks", 4) == 0) {
        if (x < 0 || x > CRGW_REDIS_MAX_ACKS) {
            snprintf(why, len, "acks (min_replicas_ack) must be 0..%d, got %ld",
                     CRGW_REDIS_MAX_ACKS, x);
            return -1;
        }
        t->acks = (int)x;
    } else if (kl == 6 && memcmp(s, "ack_ms", 6) == 0) {
        if (x < 1 || x > CRGW_REDIS_MAX_ACK_MS) {
            snprintf(why, len, "ack_ms (ack_timeout_ms) must be 1..%d, got %ld",
                     CRGW_REDIS_MAX_ACK_MS, x);
            return -1;
        }
        t->ack_ms = (int)x;
    } else {
        snprintf(why, len, "unknown option '%.*s' (acks=N, ack_ms=T)", (int)kl, s);
        return -1;
    }
    return 0;
}

int crgw_redis_target_parse(const char *s, crgw_redis_target *t, char *why, size_t len)
{
    memset(t, 0, sizeof(*t));
    t->ack_ms = 1000;
    if (!crgw_redis_is_sentinel(s)) {
        snprintf(why, len, "not the Sentinel form (sentinel:NAME@IP:PORT,...)");
        return CRGW_ERR_INVALID;
    }
    s += strlen(PREFIX);
    const char *at = strchr(s, '@');
    if (at == NULL || !name_ok(s, (size_t)(at - s))) {
        snprintf(why, len,
                 "sentinel:NAME@IP:PORT,...: the master NAME ([A-Za-z0-9._-], 1..127) "
                 "and '@' are required");
        return CRGW_ERR_INVALID;
    }
    memcpy(t->master, s, (size_t)(at - s));
    t->master[at - s] = '\0';
    const char *p = at + 1;
    const char *semi = strchr(p, ';');
    const char *list_end = semi ? semi : p + strlen(p);
    while (p < list_end) {
        const char *comma = memchr(p, ',', (size_t)(list_end - p));
        const char *e = comma ? comma : list_end;
        if (parse_one(p, (size_t)(e - p), t, why, len) != 0)
            return CRGW_ERR_INVALID;
        p = comma ? comma + 1 : list_end;
        if (comma && p == list_end) {
            snprintf(why, len, "empty Sentinel address after ','");
            return CRGW_ERR_INVALID;
        }
    }
    if (t->n == 0) {
        snprintf(why, len, "at least one Sentinel address is required");
        return CRGW_ERR_INVALID;
    }
    while (semi) {
        p = semi + 1;
        semi = strchr(p, ';');
        const char *e = semi ? semi : p + strlen(p);
        if (parse_opt(p, (size_t)(e - p), t, why, len) != 0)
            return CRGW_ERR_INVALID;
    }
    return 0;
}

static const char *yscalar(const crgw_ynode *v, const char *name, int *line, char *why, size_t len)
{
    if (v->type != CRGW_Y_SCALAR || v->scalar[0] == '\0') {
        *line = v->line;
        snprintf(why, len, "'redis.%s' must be a non-empty scalar", name);
        return NULL;
    }
    return v->scalar;
}

char *crgw_redis_target_from_yaml(const crgw_ynode *map, int *line, char *why, size_t len)
{
    *line = map->line;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i];
        if (strcmp(k, "sentinels") && strcmp(k, "master") && strcmp(k, "min_replicas_ack") &&
            strcmp(k, "ack_timeout_ms")) {
            *line = map->key_lines[i];
            snprintf(why, len,
                     "unknown key 'redis.%s' (sentinels, master, min_replicas_ack, "
                     "ack_timeout_ms)",
                     k);
            return NULL;
        }
    }
    const crgw_ynode *sen = crgw_yaml_get(map, "sentinels");
    const crgw_ynode *mas = crgw_yaml_get(map, "master");
    if (sen == NULL || mas == NULL) {
        snprintf(why, len, "'redis' as a mapping needs 'sentinels' (a list) and 'master'");
        return NULL;
    }
    if (sen->type != CRGW_Y_SEQ || sen->n == 0) {
        *line = sen->line;
        snprintf(why, len, "'redis.sentinels' must be a non-empty list of IP:PORT");
        return NULL;
    }
    const char *name = yscalar(mas, "master", line, why, len);
    if (name == NULL)
        return NULL;
    crgw_buf b;
    crgw_buf_init(&b, 4096);
    crgw_buf_printf(&b, PREFIX "%s@", name);
    for (size_t i = 0; i < sen->n; i++) {
        const char *a = yscalar(sen->kids[i], "sentinels[]", line, why, len);
        if (a == NULL) {
            crgw_buf_cleanup(&b);
            return NULL;
        }
        crgw_buf_printf(&b, "%s%s", i ? "," : "", a);
    }
    const char *keys[2] = {"min_replicas_ack", "ack_timeout_ms"};
    const char *opts[2] = {"acks", "ack_ms"};
    for (int i = 0; i < 2; i++) {
        const crgw_ynode *v = crgw_yaml_get(map, keys[i]);
        if (v == NULL)
            continue;
        const char *s = yscalar(v, keys[i], line, why, len);
        if (s == NULL) {
            crgw_buf_cleanup(&b);
            return NULL;
        }
        crgw_buf_printf(&b, ";%s=%s", opts[i], s);
    }
    char *out = crgw_buf_take(&b, NULL);
    crgw_redis_target t;
    if (crgw_redis_target_parse(out, &t, why, len) != 0) {
        free(out);
        return NULL;
    }
    return out;
}
