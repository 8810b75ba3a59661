/*
 * repair: credit-repair applications and decisions (ARCHITECTURE.md §6, API.md "Repair").
 *
 *   POST /v1/repair/applications      [repair_desk] file at node B for a record of node A; stored
 *                                      and queued for A in one Redis script; 201 with deadlines
 *   GET  /v1/repair/applications/{id} [repair_desk, operator] status, history, deadlines, overdue
 *   POST /v1/repair/decisions         [platform] only at the record's origin node (403 elsewhere):
 *                                      INCR origin_seq + local status + application + one XADD
 *                                      per destination, atomically; 201 once durable
 *   GET  /v1/subjects/{uscc}/repairs  [verifier, repair_desk, platform] merged status
 *
 * Destinations of a decision: the applicant's node, and every member of the agreements that
 * contain this node and list the record's domain in repair_domains (this node excluded).
 *
 * Durability guarantee: crgw answers 201 (decision, application) and 202 (a peer's event or
 * application) only after the Redis script that wrote the state and the outbox returned. The
 * guarantee therefore is Redis AOF with `appendfsync always` (ops/redis/redis.conf; every test
 * starts redis-server with `--appendonly yes --appendfsync always`): a write acknowledged by
 * Redis is fsynced to the AOF, so a crash of crgw or of Redis loses nothing that was
 * acknowledged. No WAIT is used (a replica is not a durability requirement of this design).
 *
 * Deadlines (gateway/repair/calendar.h): accept_by = filing + 3 working days, decide_by =
 * acceptance
 * + 7, overall_by = filing + 10; an extension adds 10 to decide_by and overall_by. Overdue
 * applications are flagged in the API and counted in the gauge crgw_repair_overdue_applications
 * (open applications scanned every 60 s; environment CRGW_TEST_REPAIR_SCAN_MS for tests).
 */
#ifndef CRGW_REPAIR_H
#define CRGW_REPAIR_H

#include "gateway/server/http.h"
#include "gateway/server/module.h"

struct crgw_server;
struct crgw_config;
struct crgw_calendar;

/* The `repair:` section of the configuration (crgw_repair_module's descriptor rows). */
typedef struct {
    char *calendar;          /* working-day calendar file (YAML) */
    int dead_letter_after_s; /* default 86400 */
    int retry_base_ms;       /* default 200 */
    int retry_max_ms;        /* default 60000 */
    int overdue_scan_ms;     /* default 60000 */
    int claim_idle_ms;       /* default 30000 */
    char *consumer;          /* outbox consumer name; NULL: <host>-<node> */
    int audit_events;        /* default 0 */
} crgw_repair_conf;

/* The repair module: routes, the `repair:` section, hooks (gateway/repair/repair_module.c). */
extern const crgw_module crgw_repair_module;
/* The repair section of a configuration loaded with the repair module. */
const crgw_repair_conf *crgw_repair_conf_of(const struct crgw_config *cfg);

/* Route handlers. */
void crgw_route_repair_application_post(crgw_req *r);
void crgw_route_repair_application_get(crgw_req *r);
void crgw_route_repair_decision(crgw_req *r);
void crgw_route_subject_repairs(crgw_req *r);

/* A new ULID-like identifier (26 characters of Crockford base32 + NUL). */
void crgw_repair_new_id(char out[27]);

/*
 * Destinations of a decision on a record of domain at origin (this node): members of the
 * agreements containing origin that list domain in repair_domains, plus applicant (may be NULL
 * or ""), each once, origin excluded, in configuration order. Returns how many (at most max).
 */
size_t crgw_repair_destinations(const struct crgw_config *cfg, const char *origin,
                                const char *domain, const char *applicant, const char **out,
                                size_t max);

#endif
