/*
 * repair: the repair routes and the repair module (calendar, federation keys, outbox, overdue
 * scan). The Redis side is in repair_store.c, delivery in outbox.c, peers in federation.c.
 */
#include "gateway/repair/repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "gateway/audit/audit.h"
#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/repair/calendar.h"
#include "gateway/repair/federation.h"
#include "gateway/repair/outbox.h"
#include "gateway/repair/repair_check.h"
#include "gateway/repair/repair_state.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/server.h"
#include "gateway/translate/translate.h"

#define MAX_DEST 64
#define MAX_ID 128
#define OVERDUE_SCAN_MAX 1000

crgw_repair *crgw_repair_of(const crgw_server *s)
{
    return crgw_server_state(s, &crgw_repair_module);
}

int crgw_repair_audit(const crgw_server *s, const char *action, const char *key, const char *id,
                      const char *peer, const char *result)
{
    crgw_audit *a = crgw_audit_of(s);
    if (!a)
        return 0;
    json_t *e = json_object();
    json_object_set_new(e, "action", json_string(action));
    if (key && id)
        json_object_set_new(e, key, json_string(id));
    json_object_set_new(e, "node", json_string(crgw_server_config(s)->node));
    json_object_set_new(e, "peer", peer ? json_string(peer) : json_null());
    json_object_set_new(e, "result", result ? json_string(result) : json_null());
    return crgw_audit_add(a, "repair", e);
}

int crgw_repair_audit_refuses(crgw_req *r)
{
    if (!crgw_audit_refusing(crgw_audit_of(r->server)))
        return 0;
    crgw_req_problem(r, 503, "audit-unavailable", "Audit log unavailable", NULL,
                     "the audit log cannot take entries (see /readyz): nothing is written");
    return 1;
}

/* ---- identifiers ---- */

void crgw_repair_new_id(char out[27])
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    unsigned char rnd[10];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        uint64_t t = crgw_now_us();
        for (size_t i = 0; i < sizeof(rnd); i++)
            rnd[i] = (unsigned char)(t >> (i * 5)) ^ (unsigned char)rand();
    }
    unsigned long long ms = (unsigned long long)crgw_rs_now_ms();
    /* 48-bit time: 10 characters; 80 random bits: 16 characters. */
    for (int i = 9; i >= 0; i--) {
        out[i] = b32[ms & 31];
        ms >>= 5;
    }
    unsigned acc = 0;
    int bits = 0, k = 10;
    for (size_t i = 0; i < sizeof(rnd); i++) {
        acc = (acc << 8) | rnd[i];
        bits += 8;
        while (bits >= 5) {
            out[k++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    out[26] = '\0';
}

/* ---- destinations ---- */

static int in_list(const char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

size_t crgw_repair_destinations(const crgw_config *cfg, const char *origin, const char *domain,
                                const char *applicant, const char **out, size_t max)
{
    size_t n = 0;
    if (applicant && *applicant && strcmp(applicant, origin) != 0 && n < max)
        out[n++] = applicant;
    for (size_t i = 0; i < cfg->n_agreements; i++) {
        const crgw_agreement *a = &cfg->agreements[i];
        if (!crgw_strv_contains(&a->members, origin) ||
            !crgw_strv_contains(&a->repair_domains, domain))
            continue;
        for (size_t j = 0; j < a->members.n && n < max; j++) {
            const char *m = a->members.v[j];
            if (strcmp(m, origin) != 0 && !in_list(out, n, m))
                out[n++] = m;
        }
    }
    return n;
}

/* ---- request helpers ---- */

static json_t *parse_body(crgw_req *r)
{
    if (r->body_len == 0) {
        crgw_req_problem(r, 400, "empty-body", "Empty body", NULL, "a JSON body is required");
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &e);
    if (!json_is_object(j)) {
        json_decref(j);
        crgw_req_problem(r, 400, "bad-json", "Malformed JSON", NULL,
                         "the body is not a JSON "
                         "object: %s",
                         e.text);
        return NULL;
    }
    return j;
}

/*
 * The request field a validation message is about, as a path ("record.origin_node"): the
 * rule set's messages start with it (repair_check.c). The problem's "field" member, so that a
 * form shows the message beside the right input. 0 when the message names no field.
 */
static int field_of(const char *why, char *out, size_t outlen)
{
    size_t n = strspn(why, "abcdefghijklmnopqrstuvwxyz_.[]0123456789");
    if (n == 0 || n >= outlen || why[n] != ':')
        return 0;
    memcpy(out, why, n);
    out[n] = '\0';
    return 1;
}

static void problem_422(crgw_req *r, const char *why)
{
    char field[64];
    crgw_req_problem(
        r, 422, "invalid-repair-request", "Invalid repair request",
        field_of(why, field, sizeof(field)) ? json_pack("{s:s}", "field", field) : NULL, "%s", why);
}

/* ---- Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) ---- */

/*
 * The Idempotency-Key of r for route into i (i->key NULL when none; digest: the body's SHA-256
 * hex, i->digest points to it). 0, or -1 when the key is malformed (answered 400).
 */
static int idem_of(crgw_req *r, const char *route, crgw_rs_idem *i, char digest[65])
{
    memset(i, 0, sizeof(*i));
    const char *k = crgw_req_header(r, "idempotency-key");
    if (k == NULL)
        return 0;
    size_t l = strlen(k);
    int ok = l >= 1 && l <= 255;
    for (size_t j = 0; ok && j < l; j++)
        ok = k[j] >= 0x20 && k[j] <= 0x7e;
    if (!ok) {
        crgw_req_problem(r, 400, "bad-idempotency-key", "Bad Idempotency-Key", NULL,
                         "Idempotency-Key must be 1 to 255 printable ASCII characters");
        return -1;
    }
    crgw_rs_sha256_hex(r->body, r->body_len, digest);
    i->route = route;
    i->client = r->client;
    i->key = k;
    i->digest = digest;
    return 0;
}

/*
 * The reply of a write sent with an Idempotency-Key: 1 when it answered r (the stored answer of
 * the same earlier request, or 422 for a key reused with another body), else 0.
 */
static int idem_answered(crgw_req *r, const struct redisReply *reply)
{
    if (reply == NULL)
        return 0;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "IDEMREUSED", 10) == 0) {
        crgw_req_problem(r, 422, "idempotency-key-reused", "Idempotency-Key reused", NULL,
                         "idempotency-key-reused: this Idempotency-Key was already used by this "
                         "client with a different request body (within 24 h); nothing written");
        return 1;
    }
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        crgw_metrics_counter_add("crgw_repair_idempotent_replays_total", NULL, 1);
        crgw_rs_respond_durable(r, (int)reply->element[0]->integer, reply->element[1]->str,
                                reply->element[1]->len);
        return 1;
    }
    return 0;
}

static void deadlines_json(const crgw_calendar *calendar, json_t *out, int32_t filed,
                           int32_t accepted, int extended, const char *status)
{
    crgw_repair_deadlines d;
    crgw_repair_deadlines_compute(calendar, filed, accepted, extended, &d);
    char a[11], b[11], c[11];
    crgw_date_format_day(d.accept_by, a);
    crgw_date_format_day(d.overall_by, c);
    json_t *dl = json_object();
    json_object_set_new(dl, "accept_by", json_string(a));
    if (d.decide_by >= 0) {
        crgw_date_format_day(d.decide_by, b);
        json_object_set_new(dl, "decide_by", json_string(b));
    } else {
        json_object_set_new(dl, "decide_by", json_null());
    }
    json_object_set_new(dl, "overall_by", json_string(c));
    int32_t today = crgw_day_of_unix(crgw_rs_now_ms() / 1000);
    json_object_set_new(dl, "overdue", json_boolean(crgw_repair_overdue(&d, status, today)));
    json_object_set_new(dl, "extended", json_boolean(extended));
    int y, m, dd;
    crgw_civil_from_days(d.overall_by, &y, &m, &dd);
    if (crgw_calendar_covers(calendar, y) != 1)
        json_object_set_new(dl, "calendar_provisional", json_true());
    json_object_set_new(out, "deadlines", dl);
}

/* ---- POST /v1/repair/applications ---- */

static void app_store_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_rs_op *op = priv; /* id: the outbox destination, "" = none */
    if (idem_answered(op->r, reply)) {
        json_decref(op->answer);
        free(op);
        return;
    }
    const char *failed = crgw_rs_reply_failed(reply, REDIS_REPLY_INTEGER);
    if (failed) {
        crgw_req_problem(op->r, 503, "store-unavailable", "Repair store unavailable", NULL,
                         "the application could not be stored durably: %s", failed);
        json_decref(op->answer);
    } else {
        crgw_metrics_counter_add("crgw_repair_applications_total", "result=\"filed\"", 1);
        crgw_repair_audit(op->r->server, "application_filed", "application_id",
                          json_string_value(json_object_get(op->answer, "application_id")),
                          op->id[0] ? op->id : NULL, "filed");
        if (op->id[0])
            crgw_outbox_kick(crgw_repair_of(op->r->server)->ob, op->id);
        crgw_rs_respond_json_durable(op->r, 201, op->answer);
    }
    free(op);
}

/* The initial history: submitted, and delivered at once when this node is the origin. */
static char *app_filing_history(const char *filed_at, const char *node, int local)
{
    json_t *hist = json_array();
    json_array_append_new(hist, crgw_rs_history_entry("submitted", filed_at, node, NULL));
    if (local)
        json_array_append_new(hist, crgw_rs_history_entry("delivered", filed_at, node, NULL));
    char *hists = crgw_json_dump(hist, 0, NULL);
    json_decref(hist);
    return hists;
}

/* Stores the application (and queues it for its origin) in one script; answers 201 or 503. */
static void app_filing_store(crgw_req *r, const crgw_rc_application *f, const crgw_rs_idem *idem)
{
    crgw_config *cfg = r->cfg;
    char id[27], filed_at[40], field[160];
    crgw_repair_new_id(id);
    crgw_rs_now_rfc3339(filed_at, 0);
    long long ms = crgw_rs_now_ms();
    snprintf(field, sizeof(field), "%s:%s", f->rec.origin, f->rec.record_id);
    int local = strcmp(f->rec.origin, cfg->node) == 0;
    const char *status = local ? "delivered" : "submitted";
    char *docs = crgw_rc_application_doc(f, id, cfg->node, filed_at);
    char *hists = app_filing_history(filed_at, cfg->node, local);
    char *vals =
        crgw_rs_app_state_value(f->rec.origin, f->rec.record_id, f->rec.domain, status, filed_at);

    crgw_rs_op *op = crgw_rs_op_new(r, local ? NULL : f->rec.origin);
    op->answer = json_object();
    json_object_set_new(op->answer, "application_id", json_string(id));
    json_object_set_new(op->answer, "status", json_string(status));
    json_object_set_new(op->answer, "filed_at", json_string(filed_at));
    deadlines_json(crgw_repair_of(r->server)->calendar, op->answer, crgw_day_of_unix(ms / 1000), -1,
                   0, status);
    /* as crgw_req_respond_json serialises it for app_store_cb: the stored answer is the same */
    char *answer = json_dumps(op->answer, JSON_COMPACT | JSON_ENSURE_ASCII);
    crgw_assert(answer != NULL);
    crgw_repair_app_store_args a = {.app_id = id,
                                    .uscc = f->uscc,
                                    .dest = local ? NULL : f->rec.origin,
                                    .doc = docs,
                                    .filed_at = filed_at,
                                    .history = hists,
                                    .field = field,
                                    .value = vals,
                                    .payload = docs,
                                    .now_ms = ms,
                                    .applicant_node = cfg->node,
                                    .filed_ms = ms,
                                    .status = status,
                                    .idem = *idem,
                                    .answer = answer,
                                    .answer_status = 201};
    int rc = crgw_repair_store_app_store(crgw_server_redis(r->server), &a, app_store_cb, op);
    free(answer);
    free(docs);
    free(hists);
    free(vals);
    if (rc != 0) {
        json_decref(op->answer);
        free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
}

void crgw_route_repair_application_post(crgw_req *r)
{
    if (crgw_repair_audit_refuses(r))
        return;
    char why[256] = "", digest[65] = "";
    crgw_rs_idem idem;
    if (idem_of(r, "applications", &idem, digest) != 0)
        return;
    json_t *body = parse_body(r);
    if (body == NULL)
        return;
    crgw_rc_application f;
    if (crgw_rc_application_of(r->cfg, body, 0, &f, why, sizeof(why)) == 0)
        app_filing_store(r, &f, &idem);
    else
        problem_422(r, why);
    json_decref(body);
}

/* ---- GET /v1/repair/applications/{id} ---- */

static int valid_id(const char *s)
{
    size_t l = strlen(s);
    if (l == 0 || l > 64)
        return 0;
    for (size_t i = 0; i < l; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

json_t *crgw_repair_app_json(const crgw_server *s, const struct redisReply *hash)
{
    const char *doc = NULL, *status = "", *filed = "", *accepted = NULL, *hist = "[]";
    int extended = 0;
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        if (hash->element[i]->type != REDIS_REPLY_STRING ||
            hash->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *k = hash->element[i]->str, *v = hash->element[i + 1]->str;
        if (strcmp(k, "doc") == 0)
            doc = v;
        else if (strcmp(k, "status") == 0)
            status = v;
        else if (strcmp(k, "filed_at") == 0)
            filed = v;
        else if (strcmp(k, "accepted_at") == 0)
            accepted = v;
        else if (strcmp(k, "history") == 0)
            hist = v;
        else if (strcmp(k, "extended") == 0)
            extended = strcmp(v, "1") == 0;
    }
    json_t *out = doc ? json_loads(doc, 0, NULL) : NULL;
    if (!json_is_object(out)) {
        json_decref(out);
        out = json_object();
    }
    json_object_set_new(out, "status", json_string(status));
    json_t *h = json_loads(hist, 0, NULL);
    json_object_set_new(out, "history", json_is_array(h) ? h : json_array());
    if (!json_is_array(h))
        json_decref(h);
    int32_t fday, aday = -1;
    if (crgw_day_of_rfc3339(filed, &fday) != 0)
        fday = crgw_day_of_unix(crgw_rs_now_ms() / 1000);
    if (accepted && crgw_day_of_rfc3339(accepted, &aday) != 0)
        aday = -1;
    deadlines_json(crgw_repair_of(s)->calendar, out, fday, aday, extended, status);
    return out;
}

static void app_get_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_req *r = priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        crgw_rs_unavailable(r, "Redis did not answer");
        return;
    }
    if (reply->elements == 0) {
        crgw_req_problem(r, 404, "unknown-application", "Unknown application", NULL,
                         "no application %s at this node", r->params[0]);
        return;
    }
    crgw_req_respond_json(r, 200, crgw_repair_app_json(r->server, reply));
}

void crgw_route_repair_application_get(crgw_req *r)
{
    if (!valid_id(r->params[0])) {
        crgw_req_problem(r, 404, "unknown-application", "Unknown application", NULL,
                         "malformed application id");
        return;
    }
    char key[96];
    crgw_rs_key(key, sizeof(key), "app", r->params[0]);
    if (crgw_redis_command(crgw_server_redis(r->server), app_get_cb, r, "HGETALL %s", key) != 0)
        crgw_rs_unavailable(r, "Redis is not connected");
}

/* ---- POST /v1/repair/decisions ---- */

typedef struct {
    crgw_req *r;
    json_t *payload; /* event without origin_seq */
    char event_id[27];
    char uscc[19];
    char field[160];
    char app_id[72];
    char decision[16];
    char decided_at[40];
    int extension;
    char applicant[8];
    const char *dest[MAX_DEST];
    size_t n_dest;
    crgw_rs_idem idem; /* views into the request (digest: into op) */
    char digest[65];
    char *ans_pre, *ans_suf; /* the answer is ans_pre .. origin_seq .. ans_suf */
} decide_op;

static void decide_op_free(decide_op *op)
{
    json_decref(op->payload);
    free(op->ans_pre);
    free(op->ans_suf);
    free(op);
}

static void decide_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    decide_op *op = priv;
    crgw_req *r = op->r;
    if (idem_answered(r, reply)) {
        decide_op_free(op);
        return;
    }
    if (reply == NULL) {
        crgw_rs_unavailable(r, "Redis did not answer: the decision may not be recorded");
    } else if (reply->type == REDIS_REPLY_ERROR) {
        if (strncmp(reply->str, "NOAPP", 5) == 0)
            problem_422(r, "application_id: unknown application at this node");
        else if (strncmp(reply->str, "MISMATCH", 8) == 0)
            problem_422(r, "application_id: the application concerns another record");
        else if (strncmp(reply->str, "ORDER", 5) == 0)
            crgw_req_problem(r, 409, "decision-out-of-order", "Decision older than the last one",
                             NULL, "decided_at: %s is older than %s", op->decided_at,
                             reply->str + 6);
        else if (strncmp(reply->str, "CONFLICT", 8) == 0)
            crgw_req_problem(r, 409, "repair-state-conflict", "Decision not allowed now", NULL,
                             "%s: %s not allowed", reply->str + 9, op->decision);
        else
            crgw_rs_unavailable(r, reply->str);
    } else if (reply->type == REDIS_REPLY_INTEGER) {
        for (size_t i = 0; i < op->n_dest; i++)
            crgw_outbox_kick(crgw_repair_of(r->server)->ob, op->dest[i]);
        char seq[24];
        snprintf(seq, sizeof(seq), "%lld", reply->integer);
        crgw_buf ans;
        crgw_buf_init(&ans, 8192);
        (void)crgw_buf_adds(&ans, op->ans_pre);
        (void)crgw_buf_adds(&ans, seq);
        (void)crgw_buf_adds(&ans, op->ans_suf);
        size_t alen = 0;
        char *a = crgw_buf_take(&ans, &alen);
        char lab[48];
        snprintf(lab, sizeof(lab), "decision=\"%s\"", op->decision);
        crgw_metrics_counter_add("crgw_repair_decisions_total", lab, 1);
        crgw_repair_audit(r->server, "decision", "event_id", op->event_id, NULL, op->decision);
        crgw_rs_respond_durable(r, 201, a, alen);
        free(a);
    } else {
        crgw_rs_unavailable(r, "unexpected Redis reply");
    }
    decide_op_free(op);
}

/*
 * The answer {"event_id","origin_seq","destinations"} around its origin_seq (as DECIDE stores it
 * with an Idempotency-Key): op->ans_pre and op->ans_suf.
 */
static void decide_answer_parts(decide_op *op)
{
    json_t *e = json_pack("{s:s}", "event_id", op->event_id);
    json_t *d = json_array();
    for (size_t i = 0; i < op->n_dest; i++)
        json_array_append_new(d, json_string(op->dest[i]));
    json_t *t = json_pack("{s:o}", "destinations", d);
    char *es = json_dumps(e, JSON_COMPACT | JSON_ENSURE_ASCII);
    char *ts = json_dumps(t, JSON_COMPACT | JSON_ENSURE_ASCII);
    crgw_assert(es != NULL && ts != NULL);
    json_decref(e);
    json_decref(t);
    crgw_buf b;
    crgw_buf_init(&b, 4096);
    (void)crgw_buf_add(&b, es, strlen(es) - 1); /* without its '}' */
    (void)crgw_buf_adds(&b, ",\"origin_seq\":");
    op->ans_pre = crgw_buf_take(&b, NULL);
    crgw_buf_init(&b, 4096);
    (void)crgw_buf_adds(&b, ",");
    (void)crgw_buf_adds(&b, ts + 1); /* without its '{' */
    op->ans_suf = crgw_buf_take(&b, NULL);
    free(es);
    free(ts);
}

/* Builds the value prefix/suffix and runs DECIDE. */
static void decide_run(decide_op *op)
{
    crgw_req *r = op->r;
    crgw_config *cfg = r->cfg;
    json_t *rec = json_object_get(op->payload, "record");
    if (op->applicant[0])
        json_object_set_new(op->payload, "applicant_node", json_string(op->applicant));
    json_t *recj = json_object_get(op->payload, "record");
    op->n_dest =
        crgw_repair_destinations(cfg, cfg->node, json_string_value(json_object_get(recj, "domain")),
                                 op->applicant, op->dest, MAX_DEST);
    decide_answer_parts(op);

    char received[40];
    crgw_rs_now_rfc3339(received, 1);
    json_t *val = json_object();
    json_object_set(val, "origin_node", json_object_get(rec, "origin_node"));
    json_object_set(val, "record_id", json_object_get(rec, "record_id"));
    json_object_set(val, "domain", json_object_get(rec, "domain"));
    json_object_set_new(val, "status", json_string(crgw_rs_status_of_decision(op->decision)));
    json_object_set_new(val, "decided_at", json_string(op->decided_at));
    json_object_set_new(val, "event_id", json_string(op->event_id));
    char *v = crgw_json_dump(val, 0, NULL);
    json_decref(val);
    size_t vl = strlen(v);
    crgw_buf pre;
    crgw_buf_init(&pre, 4096);
    (void)crgw_buf_add(&pre, v, vl - 1);
    (void)crgw_buf_adds(&pre, ",\"origin_seq\":");
    char *pres = crgw_buf_take(&pre, NULL);
    free(v);
    char suf[80];
    snprintf(suf, sizeof(suf), ",\"received_at\":\"%s\"}", received);

    json_object_set_new(op->payload, "emitted_ms", json_integer(crgw_rs_now_ms()));
    char *payload = crgw_json_dump(op->payload, 0, NULL);

    json_t *h = crgw_rs_history_entry(op->decision, op->decided_at, cfg->node, op->event_id);
    char *hs = crgw_json_dump(h, 0, NULL);
    json_decref(h);

    crgw_repair_decide_args a = {.node = cfg->node,
                                 .uscc = op->uscc,
                                 .app_id = op->app_id,
                                 .dest = op->dest,
                                 .n_dest = op->n_dest,
                                 .field = op->field,
                                 .value_prefix = pres,
                                 .value_suffix = suf,
                                 .event_id = op->event_id,
                                 .payload = payload,
                                 .decision = op->decision,
                                 .history_entry = hs,
                                 .extension = op->extension,
                                 .decided_at = op->decided_at,
                                 .idem = op->idem,
                                 .answer_prefix = op->ans_pre,
                                 .answer_suffix = op->ans_suf,
                                 .answer_status = 201};
    int rc = crgw_repair_store_decide(crgw_server_redis(r->server), &a, decide_cb, op);
    free(pres);
    free(payload);
    free(hs);
    if (rc != 0) {
        crgw_rs_unavailable(r, "Redis is not connected");
        decide_op_free(op);
    }
}

static void decide_app_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    decide_op *op = priv;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        crgw_rs_unavailable(op->r, reply ? reply->str : "Redis did not answer");
        decide_op_free(op);
        return;
    }
    if (reply->type != REDIS_REPLY_STRING) {
        problem_422(op->r, "application_id: unknown application at this node");
        decide_op_free(op);
        return;
    }
    snprintf(op->applicant, sizeof(op->applicant), "%.*s", (int)reply->len, reply->str);
    decide_run(op);
}

void crgw_route_repair_decision(crgw_req *r)
{
    if (crgw_repair_audit_refuses(r))
        return;
    crgw_config *cfg = r->cfg;
    char why[256] = "";
    crgw_rs_idem idem;
    char digest[65] = "";
    if (idem_of(r, "decisions", &idem, digest) != 0)
        return;
    json_t *body = parse_body(r);
    if (body == NULL)
        return;
    crgw_rc_record rec;
    if (crgw_rc_record_of(cfg, body, 0, &rec, why, sizeof(why)) != 0)
        goto invalid;
    if (strcmp(rec.origin, cfg->node) != 0) {
        crgw_req_problem(r, 403, "not-origin", "Not the identifying node", NULL,
                         "record %s was identified by node %s: only that node decides "
                         "(whoever identified the record repairs it); this node is %s",
                         rec.record_id, rec.origin, cfg->node);
        json_decref(body); /* rec points into body */
        return;
    }
    crgw_rc_decision d;
    if (crgw_rc_decision_of(cfg, body, 0, &d, why, sizeof(why)) != 0)
        goto invalid;
    const char *decision = d.decision, *decided_by = d.decided_by, *decided_at = d.decided_at;
    const char *app_id = d.app_id, *reason = d.reason, *norm = d.uscc;

    decide_op *op = xcalloc(1, sizeof(*op));
    op->r = r;
    crgw_repair_new_id(op->event_id);
    snprintf(op->uscc, sizeof(op->uscc), "%s", norm);
    snprintf(op->field, sizeof(op->field), "%s:%s", rec.origin, rec.record_id);
    snprintf(op->app_id, sizeof(op->app_id), "%s", app_id ? app_id : "");
    snprintf(op->decision, sizeof(op->decision), "%s", decision);
    snprintf(op->decided_at, sizeof(op->decided_at), "%s", decided_at);
    op->extension = d.extension;
    op->idem = idem;
    memcpy(op->digest, digest, sizeof(op->digest));
    op->idem.digest = idem.key ? op->digest : NULL;
    json_t *p = json_object();
    json_object_set_new(p, "event_id", json_string(op->event_id));
    json_object_set_new(p, "origin_node", json_string(cfg->node));
    json_object_set_new(p, "subject_uscc", json_string(norm));
    json_t *recj = json_object();
    json_object_set_new(recj, "origin_node", json_string(rec.origin));
    json_object_set_new(recj, "record_id", json_string(rec.record_id));
    json_object_set_new(recj, "domain", json_string(rec.domain));
    if (rec.kind)
        json_object_set_new(recj, "kind", json_string(rec.kind));
    json_object_set_new(p, "record", recj);
    json_object_set_new(p, "decision", json_string(decision));
    json_object_set_new(p, "decided_by", json_string(decided_by));
    json_object_set_new(p, "decided_at", json_string(decided_at));
    if (app_id)
        json_object_set_new(p, "application_id", json_string(app_id));
    json_object_set_new(p, "extension", json_boolean(op->extension));
    if (reason)
        json_object_set_new(p, "reason", json_string(reason));
    op->payload = p;
    json_decref(body); /* app_id and the other views die here: use op's copies */
    if (op->app_id[0] == '\0') {
        decide_run(op);
        return;
    }
    char key[128];
    crgw_rs_key(key, sizeof(key), "app", op->app_id);
    if (crgw_redis_command(crgw_server_redis(r->server), decide_app_cb, op,
                           "HGET %s applicant_node", key) != 0) {
        decide_op_free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
    return;
invalid:
    json_decref(body);
    problem_422(r, why);
}

/* ---- GET /v1/subjects/{uscc}/repairs ---- */

typedef struct {
    crgw_req *r;
    char uscc[19];
} subj_op;

static void subject_cb(json_t *records, void *priv)
{
    subj_op *op = priv;
    if (records == NULL) {
        crgw_rs_unavailable(op->r, "Redis did not answer");
    } else {
        json_t *out = json_object();
        json_object_set_new(out, "subject_uscc", json_string(op->uscc));
        json_object_set(out, "records", records);
        crgw_req_respond_json(op->r, 200, out);
    }
    free(op);
}

void crgw_route_subject_repairs(crgw_req *r)
{
    char norm[19];
    if (!crgw_rc_uscc_ok(r->cfg, r->params[0], norm)) {
        problem_422(r, "not a valid unified social credit code");
        return;
    }
    subj_op *op = xcalloc(1, sizeof(*op));
    op->r = r;
    snprintf(op->uscc, sizeof(op->uscc), "%s", norm);
    if (crgw_repair_status_fetch(crgw_server_redis(r->server), norm, subject_cb, op) != 0) {
        free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
}

/* ---- overdue scan ---- */

static void overdue_item_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_repair *rp = priv;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_STRING) {
        int32_t f, a = -1;
        const char *acc =
            reply->element[2]->type == REDIS_REPLY_STRING ? reply->element[2]->str : NULL;
        int ext = reply->element[3]->type == REDIS_REPLY_STRING &&
                  strcmp(reply->element[3]->str, "1") == 0;
        if (crgw_day_of_rfc3339(reply->element[1]->str, &f) == 0) {
            if (acc && crgw_day_of_rfc3339(acc, &a) != 0)
                a = -1;
            crgw_repair_deadlines d;
            crgw_repair_deadlines_compute(rp->calendar, f, a, ext, &d);
            if (crgw_repair_overdue(&d, reply->element[0]->str,
                                    crgw_day_of_unix(crgw_rs_now_ms() / 1000)))
                rp->scan_overdue++;
        }
    }
    if (--rp->scan_pending == 0)
        crgw_metrics_gauge_set("crgw_repair_overdue_applications", NULL, (double)rp->scan_overdue);
}

static void overdue_list_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    crgw_repair *rp = priv;
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY)
        return;
    rp->scan_overdue = 0;
    if (reply->elements == 0) {
        crgw_metrics_gauge_set("crgw_repair_overdue_applications", NULL, 0);
        return;
    }
    rp->scan_pending = reply->elements;
    for (size_t i = 0; i < reply->elements; i++) {
        char key[128];
        crgw_rs_key(key, sizeof(key), "app", reply->element[i]->str);
        if (crgw_redis_command(rc, overdue_item_cb, rp,
                               "HMGET %s status filed_at accepted_at extended", key) != 0)
            rp->scan_pending--;
    }
}

static void overdue_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_repair *rp = arg;
    crgw_server *server = rp->server;
    if (rp->scan_pending == 0)
        (void)crgw_redis_command(crgw_server_redis(server), overdue_list_cb, rp,
                                 "ZRANGE crgw:apps:open 0 %d", OVERDUE_SCAN_MAX - 1);
    /* repair.overdue_scan_ms; CRGW_TEST_REPAIR_SCAN_MS overrides it (tests only) */
    const char *e = getenv("CRGW_TEST_REPAIR_SCAN_MS");
    long scan_ms = e && *e ? strtol(e, NULL, 10)
                           : crgw_repair_conf_of(crgw_server_config(server))->overdue_scan_ms;
    if (scan_ms < 100)
        scan_ms = 100;
    struct timeval tv = {scan_ms / 1000, (scan_ms % 1000) * 1000};
    evtimer_add(rp->overdue_timer, &tv);
}

/* ---- module ---- */

/*
 * A broken repair configuration (no calendar, unusable federation key) is logged, not fatal: the
 * node still serves everything else; deadlines then count Monday..Friday (flagged
 * calendar_provisional) and nothing is delivered to peers until the configuration is fixed
 * (events wait in the outbox).
 */
/* The identity and the outbox of the configuration in force (either may end up NULL). */
static void start_federation(crgw_repair *rp, const char *when)
{
    /* repair.audit_events; CRGW_TEST_REPAIR_AUDIT=1 turns it on (fault tests) */
    const char *ta = getenv("CRGW_TEST_REPAIR_AUDIT");
    rp->audit_events = (ta && strcmp(ta, "1") == 0) ||
                       crgw_repair_conf_of(crgw_server_config(rp->server))->audit_events;
    rp->fed = crgw_federation_new(crgw_server_config(rp->server));
    if (!rp->fed)
        log_error("repair: federation identity unusable%s: nothing is sent to peers, peers' "
                  "messages are refused",
                  when);
    else if ((rp->ob = crgw_outbox_start(rp->server, rp->fed)) == NULL)
        log_error("repair: outbox not started%s: nothing is sent to peers", when);
}

int crgw_repair_start(crgw_server *s, void **state)
{
    crgw_config *cfg = crgw_server_config(s);
    crgw_repair *rp = xcalloc(1, sizeof(*rp));
    rp->server = s;
    char err[300];
    if (crgw_repair_conf_of(cfg)->calendar == NULL) {
        log_error(
            "repair: no calendar configured (repair.calendar): deadlines count Monday..Friday");
        rp->calendar = crgw_calendar_new_empty();
    } else if (crgw_calendar_load(crgw_repair_conf_of(cfg)->calendar, &rp->calendar, err,
                                  sizeof(err)) != 0) {
        log_error("repair: %s: deadlines count Monday..Friday", err);
        rp->calendar = crgw_calendar_new_empty();
    }
    static const char *const help[][2] = {
        {"crgw_repair_events_total", "Repair status events received from peers, by result"},
        {"crgw_repair_overdue_applications", "Open repair applications past a deadline"},
        {"crgw_repair_applications_total", "Repair applications filed here or received, by result"},
        {"crgw_repair_decisions_total", "Decisions recorded at this origin node, by decision"},
        {"crgw_repair_idempotent_replays_total", "Writes answered again for an Idempotency-Key"},
        {"crgw_repair_propagation_seconds", "From a decision at its origin to applied here"},
        {"crgw_repair_outbox_deliveries_total", "Outbox deliveries to peers, by peer and result"},
        {"crgw_repair_outbox_retries_total", "Outbox delivery retries, by peer"},
        {"crgw_repair_outbox_dead_letters_total", "Events moved to the dead letters, by peer"},
        {"crgw_repair_outbox_lag", "Events waiting in the outbox of a peer"},
        {"crgw_repair_durability_not_reached_total",
         "Repair writes answered 503 because fewer replicas than min_replicas_ack acknowledged"},
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(help); i++)
        crgw_metrics_help(help[i][0], help[i][1]);
    crgw_metrics_gauge_set("crgw_repair_overdue_applications", NULL, 0);
    rp->overdue_timer = evtimer_new(crgw_server_base(s), overdue_timer_cb, rp);
    struct timeval tv = {1, 0};
    evtimer_add(rp->overdue_timer, &tv);
    start_federation(rp, "");
    *state = rp;
    return 0;
}

void crgw_repair_reload(crgw_server *s, void *state, crgw_config *old)
{
    (void)s;
    (void)old;
    crgw_repair *rp = state;
    crgw_config *cfg = crgw_server_config(rp->server);
    crgw_calendar *c = NULL;
    char err[300];
    if (crgw_repair_conf_of(cfg)->calendar == NULL ||
        crgw_calendar_load(crgw_repair_conf_of(cfg)->calendar, &c, err, sizeof(err)) != 0) {
        log_error("repair: reload keeps the previous calendar: %s",
                  crgw_repair_conf_of(cfg)->calendar ? err : "none configured");
    } else {
        crgw_calendar_free(rp->calendar);
        rp->calendar = c;
    }
    crgw_outbox_stop(rp->ob);
    rp->ob = NULL;
    crgw_federation_free(rp->fed);
    start_federation(rp, " after reload");
}

void crgw_repair_stop(crgw_server *s, void *state)
{
    (void)s;
    crgw_repair *rp = state;
    crgw_outbox_stop(rp->ob);
    crgw_federation_free(rp->fed);
    if (rp->overdue_timer)
        event_free(rp->overdue_timer);
    crgw_calendar_free(rp->calendar);
    free(rp);
}

const char *crgw_repair_not_ready(crgw_server *s, void *state)
{
    (void)s;
    const crgw_repair *rp = state;
    return rp->fed ? NULL : "repair: federation identity unusable";
}
