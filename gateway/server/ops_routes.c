#include "gateway/server/ops_routes.h"

#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/conn_guard.h"
#include "gateway/server/metrics.h"
#include "gateway/server/openapi.h"
#include "gateway/server/redis.h"
#include "gateway/server/server.h"

#define METRICS_LIMIT (8u * 1024 * 1024)

void crgw_route_healthz(crgw_req *r)
{
    static const char body[] = "{\"status\":\"ok\"}\n";
    crgw_req_respond(r, 200, "application/json", body, sizeof(body) - 1, NULL);
}

void crgw_route_readyz(crgw_req *r)
{
    const char *reasons[16];
    size_t n = crgw_server_not_ready(r->server, reasons, CRGW_ARRAY_LEN(reasons));
    crgw_redis *rc = crgw_server_redis(r->server);
    if (n == 0) {
        json_t *o =
            json_pack("{s:s,s:s,s:s}", "status", "ready", "node", r->cfg->node, "redis", "up");
        crgw_req_respond_json(r, 200, o);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(reasons[i]));
    json_t *extra =
        json_pack("{s:o,s:s}", "reasons", arr, "redis", crgw_redis_up(rc) ? "up" : "down");
    crgw_req_problem(r, 503, "not-ready", "Not ready", extra, "%s%s", reasons[0],
                     n > 1 ? " (and more, see reasons)" : "");
}

void crgw_route_metrics(crgw_req *r)
{
    crgw_metrics_gauge_set("crgw_http_open_connections", NULL, (double)crgw_conn_count());
    crgw_metrics_gauge_set("crgw_http_open_streams", NULL, (double)crgw_conn_open_streams());
    /* request body bytes held (or reserved) by every worker's connections (conn_guard) */
    crgw_metrics_gauge_set("crgw_http_buffered_body_bytes", NULL, (double)crgw_guard_total_used());
    crgw_metrics_gauge_set("crgw_http_requests_in_flight", NULL, (double)crgw_conn_inflight());
    crgw_metrics_gauge_set("crgw_redis_up", NULL, crgw_redis_up(crgw_server_redis(r->server)));
    crgw_metrics_gauge_set("crgw_draining", NULL, crgw_server_draining(r->server));
    crgw_buf b;
    crgw_buf_init(&b, METRICS_LIMIT);
    if (crgw_metrics_render(&b) != 0) {
        crgw_buf_cleanup(&b);
        crgw_req_problem(r, 500, "metrics-too-large", "Metrics too large", NULL,
                         "the metrics exceed %u bytes", METRICS_LIMIT);
        return;
    }
    crgw_req_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
                     b.len, NULL);
    crgw_buf_cleanup(&b);
}

static const crgw_route ops_routes[] = {
    {"GET", "/healthz", 0, crgw_route_healthz, "healthz"},
    {"GET", "/readyz", 0, crgw_route_readyz, "readyz"},
    {"GET", "/metrics", 0, crgw_route_metrics, "metrics"},
    {"GET", "/v1/openapi.yaml", 0, crgw_route_openapi, "openapi"},
    {0},
};

/* HELP texts of the server's own series (promtool check metrics wants one per metric). */
static int ops_start(crgw_server *s, void **state)
{
    (void)s;
    *state = NULL;
    static const char *const help[][2] = {
        {"crgw_http_open_connections", "Open client connections (both listeners)"},
        {"crgw_http_open_streams", "Open HTTP/2 streams"},
        {"crgw_http_requests_in_flight", "Requests received and not yet answered"},
        {"crgw_http_connections_total", "Connections accepted, by listener"},
        {"crgw_redis_up", "1 when the Redis connection answers, else 0"},
        {"crgw_draining", "1 while the server drains after SIGTERM, else 0"},
        {"crgw_redis_command_duration_seconds", "Round trip of Redis commands"},
        {"crgw_redis_errors_total", "Redis commands that failed or timed out"},
        {"crgw_config_reloads_total", "Configuration reloads (SIGHUP), by result"},
        {"crgw_http_buffered_body_bytes",
         "Request body bytes held or reserved by the server (limits.max_buffered_total)"},
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(help); i++)
        crgw_metrics_help(help[i][0], help[i][1]);
    return 0;
}

const crgw_module crgw_ops_module = {
    .name = "server",
    .routes = ops_routes,
    .start = ops_start,
};
