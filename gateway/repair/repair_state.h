/*
 * repair_state: the repair module's run-time state, private to gateway/repair (the server keeps
 * it: crgw_server_state). Started and stopped by the module's hooks (repair_module.c).
 */
#ifndef CRGW_REPAIR_STATE_H
#define CRGW_REPAIR_STATE_H

#include <stddef.h>

#include "gateway/repair/calendar.h"
#include "gateway/repair/federation.h"
#include "gateway/repair/outbox.h"
#include "gateway/server/http.h"

struct crgw_server;
struct event;

typedef struct crgw_repair {
    struct crgw_server *server;
    crgw_calendar *calendar;     /* never NULL while started (empty: Monday..Friday) */
    struct event *overdue_timer; /* the scan of open applications */
    size_t scan_pending;         /* HMGETs of the scan in flight */
    long scan_overdue;
    crgw_federation *fed; /* NULL: identity unusable, peers' messages refused */
    crgw_outbox *ob;      /* NULL: nothing is delivered to peers */
    int audit_events;     /* repair.audit_events, or CRGW_TEST_REPAIR_AUDIT=1 (read at start) */
} crgw_repair;

/* The repair state of the server a request or callback belongs to (never NULL while started). */
crgw_repair *crgw_repair_of(const struct crgw_server *s);

/*
 * One audit entry of kind repair (gateway/audit/README.md): action, the id under key
 * ("event_id" or "application_id"), the peer node and the result (each may be NULL). Returns
 * crgw_audit_add's code (0 when the audit log is off).
 */
int crgw_repair_audit(const struct crgw_server *s, const char *action, const char *key,
                      const char *id, const char *peer, const char *result);
/* Answers 503 and returns 1 when the audit log refuses entries (audit.on_failure: refuse). */
int crgw_repair_audit_refuses(crgw_req *r);

/*
 * The answer of GET /v1/repair/applications/{id} for the HGETALL reply of crgw:app:<id> (the
 * filed document, status, history, deadlines with overdue): a new reference.
 */
struct redisReply;
json_t *crgw_repair_app_json(const struct crgw_server *s, const struct redisReply *hash);
/* GET /v1/repair/applications, GET /v1/federation/peers/{node}/dead-letters (repair_list.c). */
void crgw_route_repair_applications_list(crgw_req *r);
void crgw_route_federation_dead_letters(crgw_req *r);

/* The module's hooks (gateway/server/module.h); state is the crgw_repair. */
int crgw_repair_start(struct crgw_server *s, void **state);
void crgw_repair_reload(struct crgw_server *s, void *state, struct crgw_config *old);
void crgw_repair_stop(struct crgw_server *s, void *state);
const char *crgw_repair_not_ready(struct crgw_server *s, void *state);

#endif
