/*
 * console_status: GET /v1/federation/status [operator], what the federation page shows beside
 * the peers (/v1/federation/peers) and readiness (/readyz): the trust version in force, every
 * trust anchor with its expiry, Redis, readiness reasons and the last warnings and errors of
 * this process (the log's ring, gateway/core/log.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/console/console.h"
#include "gateway/console/console_state.h"
#include "gateway/core/log.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/redis.h"
#include "gateway/server/server.h"
#include "gateway/verify/verify.h"

#define MAX_ANCHORS_PER_FILE 16

static json_t *subject_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return json_null();
    X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p = NULL;
    long n = BIO_get_mem_data(b, &p);
    json_t *s = json_stringn(p ? p : "", n > 0 ? (size_t)n : 0);
    BIO_free(b);
    return s ? s : json_string("?");
}

static void add_file(json_t *out, const char *node, const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        json_array_append_new(
            out, json_pack("{s:s,s:s,s:s}", "node", node, "file", file, "error", "cannot be read"));
        return;
    }
    X509 *x;
    int n = 0;
    while (n < MAX_ANCHORS_PER_FILE && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        struct tm tm;
        char when[40] = "";
        long long unix_s = 0;
        if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
            unix_s = (long long)timegm(&tm);
            crgw_time_format_rfc3339(unix_s, when, sizeof(when));
        }
        json_t *e = json_object();
        json_object_set_new(e, "node", json_string(node));
        json_object_set_new(e, "file", json_string(file));
        json_object_set_new(e, "subject", subject_of(x));
        json_object_set_new(e, "not_after", when[0] ? json_string(when) : json_null());
        json_object_set_new(e, "not_after_unix", json_integer(unix_s));
        json_array_append_new(out, e);
        X509_free(x);
        n++;
    }
    ERR_clear_error();
    fclose(f);
}

json_t *crgw_console_anchors(const crgw_config *cfg)
{
    json_t *out = json_array();
    for (size_t i = 0; cfg && i < cfg->n_nodes; i++)
        for (size_t k = 0; k < cfg->nodes[i].anchors.n; k++)
            add_file(out, cfg->nodes[i].code, cfg->nodes[i].anchors.v[k]);
    return out;
}

/* The anchors with days_left and expired as of now (not_after_unix left out). */
static json_t *anchors_now(const json_t *anchors)
{
    json_t *out = json_array();
    time_t now = time(NULL);
    size_t i;
    json_t *a;
    json_array_foreach(anchors, i, a)
    {
        json_t *e = json_deep_copy(a);
        json_t *u = json_object_get(e, "not_after_unix");
        if (json_is_integer(u) && json_integer_value(u) > 0) {
            long long left = (long long)json_integer_value(u) - (long long)now;
            json_object_set_new(e, "days_left", json_integer(left / 86400));
            json_object_set_new(e, "expired", json_boolean(left <= 0));
        }
        json_object_del(e, "not_after_unix");
        json_array_append_new(out, e);
    }
    return out;
}

/* The log's ring as [{at, level, message}], newest first. */
static json_t *recent_errors(void)
{
    static char lines[CRGW_LOG_RECENT_MAX][CRGW_LOG_RECENT_LEN]; /* loop thread only */
    size_t n = crgw_log_recent(lines, CRGW_LOG_RECENT_MAX);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        /* "2026-12-03T08:23:15.208Z warn c=0 s=0 message" */
        char *line = lines[i];
        char *sp1 = strchr(line, ' ');
        char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
        char *msg = sp2;
        for (int k = 0; msg && k < 2; k++) /* skip c= and s= */
            msg = strchr(msg + 1, ' ');
        json_t *e = json_object();
        if (sp1 && sp2 && msg) {
            json_object_set_new(e, "at", json_stringn(line, (size_t)(sp1 - line)));
            json_object_set_new(e, "level", json_stringn(sp1 + 1, (size_t)(sp2 - sp1 - 1)));
            json_object_set_new(e, "message", json_string(msg + 1));
        } else {
            json_object_set_new(e, "message", json_string(line));
        }
        /* a line cut inside a UTF-8 sequence is not a JSON string: keep the entry anyway */
        if (!json_object_get(e, "message"))
            json_object_set_new(e, "message", json_string("(line not UTF-8)"));
        json_array_append_new(out, e);
    }
    return out;
}

void crgw_console_route_status(crgw_req *r)
{
    crgw_console_state *st = crgw_server_state(r->server, &crgw_console_module);
    json_t *o = json_object();
    json_object_set_new(o, "node", json_string(r->cfg->node));
    const char *tv = crgw_verify_running_trust_version(r->server);
    json_object_set_new(o, "trust_version", tv ? json_string(tv) : json_null());
    json_object_set_new(o, "anchors", anchors_now(st->anchors));
    const char *reasons[16];
    size_t nr = crgw_server_not_ready(r->server, reasons, 16);
    json_t *why = json_array();
    for (size_t i = 0; i < nr; i++)
        json_array_append_new(why, json_string(reasons[i]));
    json_object_set_new(o, "ready", json_boolean(nr == 0));
    json_object_set_new(o, "not_ready", why);
    json_object_set_new(o, "redis",
                        json_string(crgw_redis_up(crgw_server_redis(r->server)) ? "up" : "down"));
    json_object_set_new(o, "worker", json_integer(crgw_server_worker(r->server)));
    json_object_set_new(
        o, "uptime_s",
        json_integer((json_int_t)((crgw_now_us() - crgw_server_started_us(r->server)) / 1000000)));
    json_object_set_new(o, "recent_errors", recent_errors());
    crgw_req_respond_json(r, 200, o);
}
