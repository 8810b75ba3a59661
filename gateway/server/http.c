/*
 * http: the crgw_req_* functions of the handler contract (gateway/server/http.h): answers, RFC 9457
 * problems, query parameters. The transport side lives in conn.c.
 */
#include "gateway/server/http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/conn.h"

#define PROBLEM_BASE "https://crgw.example/problems/"

void crgw_req_respond(crgw_req *r, int status, const char *content_type, const char *body,
                      size_t len, const char *const *headers)
{
    crgw_conn_respond(r, status, content_type, body, len, headers);
}

void crgw_req_respond_json(crgw_req *r, int status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(body);
    if (!s) {
        crgw_req_problem(r, 500, "internal", "Internal error", NULL,
                         "the answer could not be serialised");
        return;
    }
    size_t len = strlen(s);
    crgw_conn_respond(r, status, "application/json", s, len, NULL);
    free(s);
}

json_t *crgw_problem_new(int status, const char *type, const char *title, const char *detail)
{
    char type_uri[160];
    snprintf(type_uri, sizeof(type_uri), PROBLEM_BASE "%s", type);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(type_uri));
    json_t *t = json_string(title), *d = json_string(detail);
    /* a detail quoting bytes that are not UTF-8 (a decoded path...): the key is still there */
    json_object_set_new(o, "title", t ? t : json_string("(title not UTF-8)"));
    json_object_set_new(o, "status", json_integer(status));
    json_object_set_new(o, "detail", d ? d : json_string("(detail not UTF-8)"));
    return o;
}

void crgw_http_problem_ex(crgw_req *r, int status, const char *type, const char *title,
                          json_t *extra, const char *const *headers, const char *detail)
{
    json_t *o = crgw_problem_new(status, type, title, detail);
    if (r->path && r->path[0])
        json_object_set_new(o, "instance", json_string(r->path));
    if (extra) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s) {
        /* only when a string was not UTF-8 (e.g. a decoded path): a fixed body */
        static const char fallback[] = "{\"type\":\"" PROBLEM_BASE "internal\",\"status\":500}";
        crgw_conn_respond(r, status, "application/problem+json", fallback, sizeof(fallback) - 1,
                          headers);
        return;
    }
    CRGW_LOG(CRGW_LOG_DEBUG, r->conn_id, r->stream_id, "problem %d %s: %s", status, type, detail);
    crgw_conn_respond(r, status, "application/problem+json", s, strlen(s), headers);
    free(s);
}

void crgw_req_problem(crgw_req *r, int status, const char *type, const char *title, json_t *extra,
                      const char *detail_fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, detail_fmt);
    vsnprintf(detail, sizeof(detail), detail_fmt, ap);
    va_end(ap);
    crgw_http_problem_ex(r, status, type, title, extra, NULL, detail);
}

int crgw_req_cancelled(const crgw_req *r)
{
    return crgw_conn_cancelled(r);
}

/*
 * Percent-decodes p[0..n) into out (n+1 bytes); returns the length. A '+' stays a '+' (the
 * contract says percent-decoded: RFC 3339 offsets such as +08:00 arrive unencoded).
 */
static size_t pct_decode(const char *p, size_t n, char *out)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n && crgw_hexval(p[i + 1]) >= 0 && crgw_hexval(p[i + 2]) >= 0) {
            out[j++] = (char)(crgw_hexval(p[i + 1]) * 16 + crgw_hexval(p[i + 2]));
            i += 2;
        } else {
            out[j++] = p[i];
        }
    }
    out[j] = '\0';
    return j;
}

const char *crgw_req_query(crgw_req *r, const char *name)
{
    const char *q = r->query;
    size_t nlen = strlen(name);
    while (q && *q) {
        const char *amp = strchr(q, '&');
        size_t plen = amp ? (size_t)(amp - q) : strlen(q);
        const char *eq = memchr(q, '=', plen);
        size_t klen = eq ? (size_t)(eq - q) : plen;
        char key[128];
        if (klen < sizeof(key)) {
            size_t kl = pct_decode(q, klen, key);
            if (kl == nlen && memcmp(key, name, nlen) == 0) {
                size_t vlen = eq ? plen - klen - 1 : 0;
                char *v = crgw_conn_alloc(r, vlen + 1);
                size_t dl = pct_decode(eq ? eq + 1 : "", vlen, v);
                if (memchr(v, '\0', dl))
                    return NULL; /* %00 */
                return v;
            }
        }
        q = amp ? amp + 1 : NULL;
    }
    return NULL;
}
