/*
 * repair_module: the repair module: its routes (repair desk, platform, federation peers and
 * operators), the `repair:` configuration section and its checks, and the life-cycle hooks.
 */
#include <stddef.h>
#include <stdio.h>

#include "gateway/core/util.h"
#include "gateway/repair/calendar.h"
#include "gateway/repair/federation.h"
#include "gateway/repair/repair.h"
#include "gateway/repair/repair_state.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

const crgw_repair_conf *crgw_repair_conf_of(const crgw_config *cfg)
{
    return crgw_config_section(cfg, &crgw_repair_module);
}

static int repair_check(crgw_config *cfg, crgw_errs *errs)
{
    const crgw_repair_conf *rc = crgw_repair_conf_of(cfg);
    int line = crgw_config_section_line(cfg, &crgw_repair_module);
    int bad = 0;
    if (rc->retry_base_ms > rc->retry_max_ms) {
        crgw_errs_add(errs, "%s:%d: 'retry_base_ms' must not exceed 'retry_max_ms'", cfg->path,
                      line);
        bad = 1;
    }
    if (rc->calendar) {
        crgw_calendar *c = NULL;
        char err[300];
        if (crgw_calendar_load(rc->calendar, &c, err, sizeof(err)) != 0) {
            crgw_errs_add(errs, "%s:%d: calendar: %s", cfg->path, line, err);
            bad = 1;
        }
        crgw_calendar_free(c);
    }
    return bad ? CRGW_ERR_INVALID : 0;
}

static const crgw_route repair_routes[] = {
    {"GET", "/v1/federation/peers", CRGW_ROLE_OPERATOR, crgw_route_federation_peers,
     "federation_peers"},
    {"POST", "/v1/federation/peers/{}/dead-letters/redrive", CRGW_ROLE_OPERATOR,
     crgw_route_federation_redrive, "federation_redrive"},
    {"POST", "/v1/repair/applications", CRGW_ROLE_REPAIR_DESK, crgw_route_repair_application_post,
     "repair_application_post"},
    {"GET", "/v1/repair/applications/{}", CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_OPERATOR,
     crgw_route_repair_application_get, "repair_application_get"},
    {"POST", "/v1/repair/decisions", CRGW_ROLE_PLATFORM, crgw_route_repair_decision,
     "repair_decision"},
    {"GET", "/v1/subjects/{}/repairs",
     CRGW_ROLE_VERIFIER | CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_PLATFORM, crgw_route_subject_repairs,
     "subject_repairs"},
    {"POST", "/federation/v1/repair/applications", CRGW_ROLE_PEER, crgw_route_fed_applications,
     "federation_applications"},
    {"POST", "/federation/v1/repair/events", CRGW_ROLE_PEER, crgw_route_fed_events,
     "federation_events"},
    {0},
};

#define F(x) offsetof(crgw_repair_conf, x)
static const crgw_conf_field repair_fields[] = {
    {.name = "calendar",
     .type = CRGW_CONF_FILE,
     .off = F(calendar),
     .help = "working-day calendar (YAML); without one deadlines count Monday..Friday"},
    {.name = "dead_letter_after_s",
     .type = CRGW_CONF_INT,
     .off = F(dead_letter_after_s),
     .min = 1,
     .max = 31536000,
     .def = 86400,
     .help = "an undeliverable event goes to the dead letters after this long (s)"},
    {.name = "retry_base_ms",
     .type = CRGW_CONF_INT,
     .off = F(retry_base_ms),
     .min = 1,
     .max = 600000,
     .def = 200,
     .help = "first delivery retry delay (ms), doubled each time"},
    {.name = "retry_max_ms",
     .type = CRGW_CONF_INT,
     .off = F(retry_max_ms),
     .min = 1,
     .max = 3600000,
     .def = 60000,
     .help = "longest delivery retry delay (ms)"},
    {.name = "overdue_scan_ms",
     .type = CRGW_CONF_INT,
     .off = F(overdue_scan_ms),
     .min = 100,
     .max = 86400000,
     .def = 60000,
     .help = "how often open applications are checked (ms)"},
    {.name = "claim_idle_ms",
     .type = CRGW_CONF_INT,
     .off = F(claim_idle_ms),
     .min = 100,
     .max = 86400000,
     .def = 30000,
     .help = "outbox entries idle this long at another consumer are claimed (ms)"},
    {.name = "consumer",
     .type = CRGW_CONF_STR,
     .off = F(consumer),
     .help = "outbox consumer name (default <host>-<node>; -w<worker> is appended)"},
    {.name = "audit_events",
     .type = CRGW_CONF_BOOL,
     .off = F(audit_events),
     .def = 0,
     .help = "keep a Redis list of every applied event (fault tests)"},
    {0},
};

const crgw_module crgw_repair_module = {
    .name = "repair",
    .routes = repair_routes,
    .section = "repair",
    .fields = repair_fields,
    .conf_size = sizeof(crgw_repair_conf),
    .check = repair_check,
    .checks = "repair configuration",
    .start = crgw_repair_start,
    .reload = crgw_repair_reload,
    .stop = crgw_repair_stop,
    .not_ready = crgw_repair_not_ready,
};
