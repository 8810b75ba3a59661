/*
 * federation: signing and verification of federation messages, the /federation/v1 handlers and
 * the operator's view of the peers.
 *
 * Verification cost: the chain of a peer's certificate is verified once and remembered (the
 * DER bytes of the last certificate that verified, per node); a message whose x5c[0] has the
 * same bytes only needs its signature checked. A different certificate is verified in full.
 */
#include "gateway/repair/federation.h"
#include "gateway/repair/repair.h"
#include "gateway/repair/repair_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/core/b64.h"
#include "gateway/core/json.h"
#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/repair/outbox.h"
#include "gateway/repair/repair_store.h"
#include "gateway/server/config.h"
#include "gateway/server/metrics.h"
#include "gateway/server/peer_client.h"
#include "gateway/server/server.h"
#include "gateway/verify/verify.h"

#define MAX_PEERS 64
#define REDRIVE_MAX 100000

typedef struct {
    char node[8];
    unsigned char *der;
    int len;
    char *hdr;     /* protected header segment (base64url) of the last message that verified */
    EVP_PKEY *key; /* its signer's key */
} verified_cert;

/* This node's federation identity and its memory of peers' certificates (repair state). */
struct crgw_federation {
    EVP_PKEY *sign_key;
    STACK_OF(X509) * sign_x5c;
    char *sign_hdr; /* base64url of {"alg":"ES256","x5c":[...]} */
    X509_STORE *ca_store;
    verified_cert verified[MAX_PEERS];
};

crgw_federation *crgw_federation_new(const crgw_config *cfg)
{
    if (!cfg->tls_key || !cfg->tls_cert || !cfg->client_ca) {
        log_error("federation: tls.cert, tls.key and tls.client_ca are required for repair sync");
        return NULL;
    }
    crgw_federation *f = xcalloc(1, sizeof(*f));
    FILE *fp = fopen(cfg->tls_key, "r");
    if (fp) {
        f->sign_key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
        fclose(fp);
    }
    f->sign_x5c = sk_X509_new_null();
    fp = fopen(cfg->tls_cert, "r");
    if (fp) {
        X509 *c;
        while ((c = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
            sk_X509_push(f->sign_x5c, c);
        fclose(fp);
    }
    f->ca_store = X509_STORE_new();
    if (f->sign_key == NULL || sk_X509_num(f->sign_x5c) == 0 ||
        X509_STORE_load_file(f->ca_store, cfg->client_ca) != 1) {
        log_error("federation: cannot load %s / %s / %s", cfg->tls_key, cfg->tls_cert,
                  cfg->client_ca);
        crgw_federation_free(f);
        return NULL;
    }
    json_t *h = json_object();
    json_t *x5c = json_array();
    json_object_set_new(h, "alg", json_string("ES256"));
    for (int i = 0; i < sk_X509_num(f->sign_x5c); i++) {
        unsigned char *der = NULL;
        int dl = i2d_X509(sk_X509_value(f->sign_x5c, i), &der);
        crgw_assert(dl > 0);
        size_t bl;
        char *b = crgw_b64_encode(der, (size_t)dl, &bl);
        json_array_append_new(x5c, json_string(b));
        free(b);
        OPENSSL_free(der);
    }
    json_object_set_new(h, "x5c", x5c);
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    f->sign_hdr = crgw_b64url_encode((const unsigned char *)hs, strlen(hs), NULL);
    free(hs);
    return f;
}

void crgw_federation_free(crgw_federation *f)
{
    if (!f)
        return;
    EVP_PKEY_free(f->sign_key);
    sk_X509_pop_free(f->sign_x5c, X509_free);
    X509_STORE_free(f->ca_store);
    free(f->sign_hdr);
    for (size_t i = 0; i < MAX_PEERS; i++) {
        OPENSSL_free(f->verified[i].der);
        free(f->verified[i].hdr);
        EVP_PKEY_free(f->verified[i].key);
    }
    free(f);
}

int crgw_federation_sign(const crgw_federation *f, const char *payload, size_t len, char **out,
                         size_t *out_len)
{
    if (f == NULL || f->sign_key == NULL || f->sign_hdr == NULL)
        return -1;
    /* The header is the same for every message: sign "hdr.payload" directly. */
    crgw_buf b;
    crgw_buf_init(&b, 16u << 20);
    char *p64 = crgw_b64url_encode((const unsigned char *)payload, len, NULL);
    int rc = crgw_buf_adds(&b, f->sign_hdr) | crgw_buf_adds(&b, ".") | crgw_buf_adds(&b, p64);
    free(p64);
    unsigned char *sig = NULL;
    size_t sl = 0;
    if (rc != 0 ||
        crgw_sigalg_sign(crgw_sigalg_by_jws("ES256"), f->sign_key, (const unsigned char *)b.data,
                         b.len, CRGW_SIGENC_P1363, &sig, &sl) != CRGW_SIGALG_OK) {
        crgw_buf_cleanup(&b);
        return -1;
    }
    char *s64 = crgw_b64url_encode(sig, sl, NULL);
    free(sig);
    rc = crgw_buf_adds(&b, ".") | crgw_buf_adds(&b, s64);
    free(s64);
    if (rc != 0) {
        crgw_buf_cleanup(&b);
        return -1;
    }
    *out = crgw_buf_take(&b, out_len);
    return 0;
}

static verified_cert *verified_slot(crgw_federation *f, const char *node)
{
    for (size_t i = 0; i < MAX_PEERS; i++)
        if (strcmp(f->verified[i].node, node) == 0)
            return &f->verified[i];
    for (size_t i = 0; i < MAX_PEERS; i++)
        if (f->verified[i].node[0] == '\0') {
            snprintf(f->verified[i].node, sizeof(f->verified[i].node), "%s", node);
            return &f->verified[i];
        }
    return NULL;
}

/* Chain to the federation CA and identity of node `from`, remembered when it verified. */
static int check_signer(crgw_federation *f, const crgw_config *cfg, const char *from,
                        STACK_OF(X509) * x5c, char *err, size_t errlen)
{
    X509 *leaf = sk_X509_value(x5c, 0);
    unsigned char *der = NULL;
    int len = i2d_X509(leaf, &der);
    if (len <= 0) {
        snprintf(err, errlen, "x5c[0] cannot be encoded");
        return -1;
    }
    verified_cert *slot = verified_slot(f, from);
    if (slot && slot->der && slot->len == len && memcmp(slot->der, der, (size_t)len) == 0) {
        OPENSSL_free(der);
        return 0;
    }
    const crgw_node *node = crgw_config_node(cfg, from);
    char uri[64];
    snprintf(uri, sizeof(uri), "urn:crgw:node:%s", from);
    const char *want = node && node->tls_uri ? node->tls_uri : uri;
    int ok = 0;
    if (node == NULL) {
        snprintf(err, errlen, "unknown node %s", from);
    } else if (!crgw_cert_has_uri(leaf, want)) {
        snprintf(err, errlen, "signer certificate does not name %s", want);
    } else {
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *untrusted = sk_X509_new_null();
        for (int i = 1; i < sk_X509_num(x5c); i++)
            sk_X509_push(untrusted, sk_X509_value(x5c, i));
        ok = ctx && X509_STORE_CTX_init(ctx, f->ca_store, leaf, untrusted) == 1 &&
             X509_verify_cert(ctx) == 1;
        if (!ok)
            snprintf(err, errlen, "signer chain: %s",
                     ctx ? X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)) : "?");
        sk_X509_free(untrusted);
        X509_STORE_CTX_free(ctx);
    }
    if (!ok) {
        OPENSSL_free(der);
        return -1;
    }
    if (slot) {
        OPENSSL_free(slot->der);
        slot->der = der;
        slot->len = len;
    } else {
        OPENSSL_free(der);
    }
    return 0;
}

int crgw_federation_verify(crgw_federation *f, const crgw_config *cfg, const char *from,
                           const char *jws, size_t len, json_t **payload, char *err, size_t errlen)
{
    crgw_jws j;
    *payload = NULL;
    if (f == NULL || f->ca_store == NULL) {
        snprintf(err, errlen, "federation trust not loaded");
        return CRGW_ERR_DENIED;
    }
    /* Fast path: same protected header (alg + x5c) as the last verified message of `from`. */
    const char *d1 = memchr(jws, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws)) : NULL;
    verified_cert *slot = verified_slot(f, from);
    if (d2 && slot && slot->hdr && slot->key && strlen(slot->hdr) == (size_t)(d1 - jws) &&
        memcmp(slot->hdr, jws, (size_t)(d1 - jws)) == 0) {
        size_t tail = len - (size_t)(d2 + 1 - jws);
        while (tail > 0 && (d2[tail] == '\n' || d2[tail] == '\r' || d2[tail] == ' '))
            tail--;
        unsigned char *pl = NULL, *sig = NULL;
        size_t pll = 0, sigl = 0;
        int ok =
            crgw_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pl, &pll) == 0 &&
            crgw_b64url_decode(d2 + 1, tail, &sig, &sigl) == 0 &&
            crgw_sigalg_verify(crgw_sigalg_by_jws("ES256"), slot->key, (const unsigned char *)jws,
                               (size_t)(d2 - jws), sig, sigl, CRGW_SIGENC_P1363) == CRGW_SIGALG_OK;
        free(sig);
        if (!ok) {
            free(pl);
            snprintf(err, errlen, "the signature does not verify");
            return CRGW_ERR_DENIED;
        }
        json_error_t e;
        json_t *p = json_loadb((const char *)pl, pll, JSON_REJECT_DUPLICATES, &e);
        free(pl);
        if (!json_is_object(p)) {
            json_decref(p);
            snprintf(err, errlen, "payload is not a JSON object");
            return CRGW_ERR_INVALID;
        }
        *payload = p;
        return 0;
    }
    int rc = crgw_jws_parse(jws, len, CRGW_JWS_COMPACT, &j);
    if (rc != CRGW_JWS_OK) {
        snprintf(err, errlen, "%s", j.err);
        crgw_jws_cleanup(&j);
        return CRGW_ERR_INVALID;
    }
    if (strcmp(j.alg->jws, "ES256") != 0 || j.x5c == NULL || sk_X509_num(j.x5c) == 0) {
        snprintf(err, errlen, "federation messages are ES256 with x5c");
        crgw_jws_cleanup(&j);
        return CRGW_ERR_INVALID;
    }
    if (check_signer(f, cfg, from, j.x5c, err, errlen) != 0) {
        crgw_jws_cleanup(&j);
        return CRGW_ERR_DENIED;
    }
    if (crgw_jws_check(&j, NULL) != CRGW_JWS_OK) {
        snprintf(err, errlen, "%s", j.err);
        crgw_jws_cleanup(&j);
        return CRGW_ERR_DENIED;
    }
    if (slot && d1) {
        free(slot->hdr);
        slot->hdr = xstrndup(jws, (size_t)(d1 - jws));
        EVP_PKEY_free(slot->key);
        slot->key = X509_get_pubkey(sk_X509_value(j.x5c, 0));
    }
    json_error_t e;
    json_t *p = json_loadb((const char *)j.payload, j.payload_len, JSON_REJECT_DUPLICATES, &e);
    crgw_jws_cleanup(&j);
    if (!json_is_object(p)) {
        json_decref(p);
        snprintf(err, errlen, "payload is not a JSON object");
        return CRGW_ERR_INVALID;
    }
    *payload = p;
    return 0;
}

/* ---- helpers ---- */

static const char *pstr(json_t *o, const char *k, size_t max)
{
    const char *s = json_string_value(json_object_get(o, k));
    if (s == NULL || *s == '\0' || strlen(s) > max)
        return NULL;
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return NULL;
    return s;
}

static int ident_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static void refuse(crgw_req *r, int status, const char *type, const char *fmt, const char *arg)
{
    crgw_metrics_counter_add("crgw_repair_events_total", "result=\"refused\"", 1);
    crgw_repair_audit(r->server, "event_refused", NULL, NULL, r->peer_node, type);
    crgw_req_problem(r, status, type, "Federation message refused", NULL, fmt, arg);
}

/* The script could not be sent: frees the pending operation and answers 503. */
static void not_queued(crgw_req *r, void *op)
{
    free(op);
    crgw_rs_unavailable(r, "Redis is not connected");
}

/* ---- POST /federation/v1/repair/events ---- */

static void apply_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_rs_op *op = priv;
    const char *failed = crgw_rs_reply_failed(reply, REDIS_REPLY_STRING);
    if (failed) {
        crgw_rs_unavailable(op->r, failed);
        free(op);
        return;
    }
    const char *res = reply->str;
    char lab[40];
    snprintf(lab, sizeof(lab), "result=\"%s\"", res);
    crgw_metrics_counter_add("crgw_repair_events_total", lab, 1);
    crgw_repair_audit(op->r->server, "event_received", "event_id", op->id, op->r->peer_node, res);
    if (strcmp(res, "applied") == 0 && op->ms > 0) {
        long long lat = crgw_rs_now_ms() - op->ms;
        crgw_metrics_observe("crgw_repair_propagation_seconds", NULL,
                             lat > 0 ? (double)lat / 1000.0 : 0.0);
    }
    json_t *ans = json_object();
    json_object_set_new(ans, "event_id", json_string(op->id));
    json_object_set_new(ans, "result", json_string(res));
    crgw_req_respond_json(op->r, strcmp(res, "duplicate") == 0 ? 200 : 202, ans);
    free(op);
}

/*
 * The payload of a federation message: the caller must be a peer node and the body a compact
 * JWS signed by it. NULL when refused (answered here).
 */
static json_t *fed_payload(crgw_req *r)
{
    char err[256];
    json_t *p = NULL;
    if (r->peer_node == NULL) {
        refuse(r, 403, "not-a-peer", "%s", "the caller is not a federation node");
        return NULL;
    }
    int rc = crgw_federation_verify(crgw_repair_of(r->server)->fed, r->cfg, r->peer_node, r->body,
                                    r->body_len, &p, err, sizeof(err));
    if (rc != 0) {
        refuse(r, rc == CRGW_ERR_DENIED ? 403 : 400,
               rc == CRGW_ERR_DENIED ? "bad-signer" : "bad-message", "%s", err);
        return NULL;
    }
    return p;
}

void crgw_route_fed_events(crgw_req *r)
{
    if (crgw_repair_audit_refuses(r))
        return;
    json_t *p = fed_payload(r);
    if (p == NULL)
        return;
    const char *eid = pstr(p, "event_id", 64), *origin = pstr(p, "origin_node", 6);
    const char *uscc = pstr(p, "subject_uscc", 18), *decision = pstr(p, "decision", 16);
    const char *decided_at = pstr(p, "decided_at", 39);
    json_t *seqj = json_object_get(p, "origin_seq");
    json_t *rec = json_object_get(p, "record");
    const char *rorigin = pstr(rec, "origin_node", 6), *rid = pstr(rec, "record_id", 128);
    const char *domain = pstr(rec, "domain", 64);
    const char *app = pstr(p, "application_id", 64);
    if (!eid || !ident_ok(eid) || !origin || !uscc || !ident_ok(uscc) || !decision ||
        !crgw_rs_decision_valid(decision) || !decided_at || !json_is_integer(seqj) ||
        json_integer_value(seqj) <= 0 || !rorigin || !rid || !domain || (app && !ident_ok(app))) {
        json_decref(p);
        refuse(r, 400, "bad-message", "%s", "the event lacks a required field or has a bad one");
        return;
    }
    if (strcmp(origin, r->peer_node) != 0 || strcmp(rorigin, origin) != 0) {
        refuse(r, 403, "not-origin", "an event of origin %s must come from that node", origin);
        json_decref(p); /* origin points into p */
        return;
    }
    long long seq = json_integer_value(seqj);
    char received[40], field[160];
    crgw_rs_now_rfc3339(received, 1);
    snprintf(field, sizeof(field), "%s:%s", origin, rid);
    json_t *val = json_object();
    json_object_set_new(val, "origin_node", json_string(origin));
    json_object_set_new(val, "record_id", json_string(rid));
    json_object_set_new(val, "domain", json_string(domain));
    json_object_set_new(val, "status", json_string(crgw_rs_status_of_decision(decision)));
    json_object_set_new(val, "decided_at", json_string(decided_at));
    json_object_set_new(val, "event_id", json_string(eid));
    json_object_set_new(val, "origin_seq", json_integer(seq));
    json_object_set_new(val, "received_at", json_string(received));
    char *vals = crgw_json_dump(val, 0, NULL);
    json_decref(val);
    json_t *h = crgw_rs_history_entry(decision, decided_at, origin, eid);
    char *hs = crgw_json_dump(h, 0, NULL);
    json_decref(h);
    int audit = crgw_repair_of(r->server)->audit_events;
    crgw_repair_apply_args a = {.origin = origin,
                                .uscc = uscc,
                                .app_id = app,
                                .event_id = eid,
                                .origin_seq = seq,
                                .field = field,
                                .value = vals,
                                .decision = decision,
                                .history_entry = hs,
                                .extension = json_is_true(json_object_get(p, "extension")),
                                .decided_at = decided_at,
                                .audit = audit};
    crgw_rs_op *op = crgw_rs_op_new(r, eid);
    json_t *em = json_object_get(p, "emitted_ms");
    op->ms = json_is_integer(em) ? json_integer_value(em) : 0;
    int rc = crgw_repair_store_apply(crgw_server_redis(r->server), &a, apply_cb, op);
    free(vals);
    free(hs);
    json_decref(p);
    if (rc != 0)
        not_queued(r, op);
}

/* ---- POST /federation/v1/repair/applications ---- */

static void fapp_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_rs_op *op = priv;
    const char *failed = crgw_rs_reply_failed(reply, REDIS_REPLY_INTEGER);
    if (failed) {
        crgw_rs_unavailable(op->r, failed);
    } else {
        crgw_metrics_counter_add("crgw_repair_applications_total",
                                 reply->integer ? "result=\"received\"" : "result=\"duplicate\"",
                                 1);
        json_t *ans = json_object();
        json_object_set_new(ans, "application_id", json_string(op->id));
        json_object_set_new(ans, "status", json_string("delivered"));
        crgw_req_respond_json(op->r, reply->integer ? 202 : 200, ans);
    }
    free(op);
}

void crgw_route_fed_applications(crgw_req *r)
{
    if (crgw_repair_audit_refuses(r))
        return;
    crgw_config *cfg = r->cfg;
    json_t *p = fed_payload(r);
    if (p == NULL)
        return;
    const char *id = pstr(p, "application_id", 64), *applicant = pstr(p, "applicant_node", 6);
    const char *uscc = pstr(p, "subject_uscc", 18), *filed = pstr(p, "filed_at", 39);
    json_t *rec = json_object_get(p, "record");
    const char *rorigin = pstr(rec, "origin_node", 6), *rid = pstr(rec, "record_id", 128);
    const char *domain = pstr(rec, "domain", 64);
    if (!id || !ident_ok(id) || !applicant || !uscc || !ident_ok(uscc) || !filed || !rorigin ||
        !rid || !domain) {
        json_decref(p);
        refuse(r, 400, "bad-message", "%s", "the application lacks a required field");
        return;
    }
    if (strcmp(applicant, r->peer_node) != 0) {
        refuse(r, 403, "not-applicant", "an application filed at %s must come from that node",
               applicant);
        json_decref(p); /* applicant points into p */
        return;
    }
    if (strcmp(rorigin, cfg->node) != 0) {
        refuse(r, 422, "not-origin", "record of node %s: applications go to the origin node",
               rorigin);
        json_decref(p); /* rorigin points into p */
        return;
    }
    char now[40], field[160];
    crgw_rs_now_rfc3339(now, 0);
    long long now_ms = crgw_rs_now_ms();
    snprintf(field, sizeof(field), "%s:%s", rorigin, rid);
    json_t *hist = json_array();
    json_array_append_new(hist, crgw_rs_history_entry("submitted", filed, applicant, NULL));
    json_array_append_new(hist, crgw_rs_history_entry("delivered", now, cfg->node, NULL));
    char *hs = crgw_json_dump(hist, 0, NULL);
    json_decref(hist);
    char *vals = crgw_rs_app_state_value(rorigin, rid, domain, "delivered", now);
    char *doc = crgw_json_dump(p, 0, NULL);
    crgw_repair_app_store_args a = {.app_id = id,
                                    .uscc = uscc,
                                    .doc = doc,
                                    .filed_at = filed,
                                    .history = hs,
                                    .field = field,
                                    .value = vals,
                                    .payload = "",
                                    .now_ms = now_ms,
                                    .applicant_node = applicant,
                                    .filed_ms = now_ms,
                                    .status = "delivered"};
    crgw_rs_op *op = crgw_rs_op_new(r, id);
    int rc = crgw_repair_store_app_store(crgw_server_redis(r->server), &a, fapp_cb, op);
    free(hs);
    free(vals);
    free(doc);
    json_decref(p);
    if (rc != 0)
        not_queued(r, op);
}

/* ---- GET /v1/federation/peers ---- */

typedef struct {
    crgw_req *r;
    json_t *peers;
    size_t pending;
    int failed;
} peers_op;

typedef struct {
    peers_op *op;
    json_t *entry;
    const char *what; /* "contact" (HMGET), "lag", "dead" */
} peers_item;

static void peers_item_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    peers_item *it = priv;
    peers_op *op = it->op;
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        op->failed = 1;
    } else if (strcmp(it->what, "contact") == 0 && reply->type == REDIS_REPLY_ARRAY &&
               reply->elements == 2) {
        struct redisReply *lc = reply->element[0], *rt = reply->element[1];
        json_object_set_new(it->entry, "last_contact",
                            lc->type == REDIS_REPLY_STRING ? json_string(lc->str) : json_null());
        json_object_set_new(
            it->entry, "retries",
            json_integer(rt->type == REDIS_REPLY_STRING ? strtoll(rt->str, NULL, 10) : 0));
    } else if (reply->type == REDIS_REPLY_INTEGER) {
        json_object_set_new(it->entry, strcmp(it->what, "lag") == 0 ? "outbox_lag" : "dead_letters",
                            json_integer(reply->integer));
    }
    free(it);
    if (--op->pending > 0)
        return;
    if (op->failed) {
        crgw_rs_unavailable(op->r, "Redis did not answer");
        json_decref(op->peers);
    } else {
        json_t *out = json_object();
        json_object_set_new(out, "node", json_string(op->r->cfg->node));
        json_object_set_new(out, "peers", op->peers);
        crgw_req_respond_json(op->r, 200, out);
    }
    free(op);
}

void crgw_route_federation_peers(crgw_req *r)
{
    crgw_config *cfg = r->cfg;
    crgw_redis *rc = crgw_server_redis(r->server);
    peers_op *op = xcalloc(1, sizeof(*op));
    op->r = r;
    op->peers = json_array();
    op->pending = 1; /* guard until every command is queued */
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        const crgw_node *n = &cfg->nodes[i];
        if (strcmp(n->code, cfg->node) == 0)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "node", json_string(n->code));
        json_object_set_new(e, "url", n->url ? json_string(n->url) : json_null());
        json_object_set_new(e, "last_contact", json_null());
        json_object_set_new(e, "outbox_lag", json_integer(0));
        json_object_set_new(e, "retries", json_integer(0));
        json_object_set_new(e, "dead_letters", json_integer(0));
        json_array_append_new(op->peers, e);
        static const char *const what[] = {"contact", "lag", "dead"};
        for (size_t k = 0; k < 3; k++) {
            peers_item *it = xcalloc(1, sizeof(*it));
            it->op = op;
            it->entry = e;
            it->what = what[k];
            char key[64];
            int rv;
            op->pending++;
            if (k == 0)
                rv = crgw_redis_command(rc, peers_item_cb, it, "HMGET %s last_contact retries",
                                        crgw_rs_key(key, sizeof(key), "peer", n->code));
            else
                rv = crgw_redis_command(
                    rc, peers_item_cb, it, "XLEN %s",
                    crgw_rs_key(key, sizeof(key), k == 1 ? "outbox" : "dead", n->code));
            if (rv != 0) {
                op->pending--;
                op->failed = 1;
                free(it);
            }
        }
    }
    /* Release the guard through the same path as a reply. */
    peers_item *g = xcalloc(1, sizeof(*g));
    g->op = op;
    g->what = "guard";
    struct redisReply fake = {.type = REDIS_REPLY_NIL};
    peers_item_cb(rc, &fake, g);
}

/* ---- POST /v1/federation/peers/{node}/dead-letters/redrive ---- */

static void redrive_cb(crgw_redis *rc, struct redisReply *reply, void *priv)
{
    (void)rc;
    crgw_rs_op *op = priv;
    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        crgw_rs_unavailable(op->r, "Redis did not answer");
    } else {
        crgw_outbox_kick(crgw_repair_of(op->r->server)->ob, op->id);
        char n[24];
        snprintf(n, sizeof(n), "%lld", reply->integer);
        crgw_repair_audit(op->r->server, "redriven", NULL, NULL, op->id, n);
        json_t *ans = json_object();
        json_object_set_new(ans, "node", json_string(op->id));
        json_object_set_new(ans, "redriven", json_integer(reply->integer));
        crgw_req_respond_json(op->r, 200, ans);
    }
    free(op);
}

void crgw_route_federation_redrive(crgw_req *r)
{
    const char *node = r->params[0];
    if (crgw_config_node(r->cfg, node) == NULL || strcmp(node, r->cfg->node) == 0) {
        crgw_req_problem(r, 404, "unknown-peer", "Unknown peer", NULL, "no peer node %s", node);
        return;
    }
    crgw_repair_redrive_args a = {.dest = node, .max = REDRIVE_MAX};
    crgw_rs_op *op = crgw_rs_op_new(r, node);
    if (crgw_repair_store_redrive(crgw_server_redis(r->server), &a, redrive_cb, op) != 0) {
        free(op);
        crgw_rs_unavailable(r, "Redis is not connected");
    }
}
