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
    {"GET", "/v1/federation/peers/{}/dead-letters", CRGW_ROLE_OPERATOR,
     crgw_route_federation_dead_letters, "federation_dead_letters"},
    {"GET", "/v1/repair/applications",
     CRGW_ROLE_REPAIR_DESK | CRGW_ROLE_PLATFORM | CRGW_ROLE_OPERATOR,
     crgw_route_repair_applications_list, "repair_applications_list"},
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

#define R crgw_repair_conf
static const crgw_conf_field repair_fields[] = {
    CRGW_CONF_FILE_ROW(R, calendar,
                       "working-day calendar (YAML); without one deadlines count Monday..Friday"),
    CRGW_CONF_INT_ROW(R, dead_letter_after_s, 1, 31536000, 86400,
                      "an undeliverable event goes to the dead letters after this long (s)"),
    CRGW_CONF_INT_ROW(R, retry_base_ms, 1, 600000, 200,
                      "first delivery retry delay (ms), doubled each time"),
    CRGW_CONF_INT_ROW(R, retry_max_ms, 1, 3600000, 60000, "longest delivery retry delay (ms)"),
    CRGW_CONF_INT_ROW(R, overdue_scan_ms, 100, 86400000, 60000,
                      "how often open applications are checked (ms)"),
    CRGW_CONF_INT_ROW(R, claim_idle_ms, 100, 86400000, 30000,
                      "outbox entries idle this long at another consumer are claimed (ms)"),
    CRGW_CONF_STR_ROW(R, consumer, NULL,
                      "outbox consumer name (default <host>-<node>; -w<worker> is appended)"),
    CRGW_CONF_BOOL_ROW(R, audit_events, 0, "keep a Redis list of every applied event (tests)"),
    {0},
};
#undef R

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
