/*
 * repair_check: the one rule set of repair input (API.md "Repair" and "Between nodes"), used by
 * the local routes (repair.c) and the federation receive path (federation.c) alike, so that a
 * field refused at one door is refused at the other.
 *
 * Rules: strings are JSON strings (non-empty, bounded, no control characters); subject_uscc is a
 * unified social credit code whose check character holds (or a configured legacy code);
 * record.origin_node, applicant_node and origin_node are node codes of the federation;
 * record.domain and record.kind are canonical codes (gateway/core/canon_codes.h); digests
 * (commitment_sha256, materials[].sha256) are 64 hex digits; ids are [A-Za-z0-9_-]{1,64}; times
 * are RFC 3339 date-times with an offset, normalised to +08:00 (fractional seconds dropped);
 * accepted, refused and rejected decisions name their application_id.
 *
 * Every refusal writes into why a message that starts with the field's path, e.g.
 * `record.kind: unknown code "xyz"` or `materials[1].sha256: must be 64 hex digits`.
 * Views (const char *) point into the checked JSON: they live as long as it does.
 */
#ifndef CRGW_REPAIR_CHECK_H
#define CRGW_REPAIR_CHECK_H

#include <stddef.h>

#include <jansson.h>

struct crgw_config;

#define CRGW_RC_TIME_LEN 40

/* The record an application, decision or event is about. */
typedef struct {
    const char *origin;    /* record.origin_node: a node of the federation */
    const char *record_id; /* 1..128 bytes */
    const char *domain;    /* canonical domain */
    const char *kind;      /* canonical record kind, NULL when absent and not required */
} crgw_rc_record;

/* An application: POST /v1/repair/applications (federated 0) or its federation message (1). */
typedef struct {
    char uscc[19]; /* normalised */
    crgw_rc_record rec;
    const char *commit;              /* commitment_sha256 */
    const char *name;                /* applicant.name */
    const char *contact;             /* applicant.contact or NULL */
    json_t *materials;               /* checked array of {name, sha256}, or NULL when absent */
    const char *app_id;              /* federated only: application_id */
    const char *applicant;           /* federated only: applicant_node */
    char filed_at[CRGW_RC_TIME_LEN]; /* federated only: filed_at, normalised */
} crgw_rc_application;

/* A decision: POST /v1/repair/decisions (federated 0) or a repair event between nodes (1). */
typedef struct {
    char uscc[19];
    crgw_rc_record rec;
    const char *decision; /* accepted refused repaired rejected revoked */
    const char *decided_by;
    char decided_at[CRGW_RC_TIME_LEN]; /* normalised */
    const char *app_id;                /* NULL when absent */
    const char *reason;                /* NULL when absent */
    int extension;
    /* federated only */
    const char *event_id;
    const char *origin;    /* origin_node */
    const char *applicant; /* applicant_node or NULL */
    long long origin_seq;  /* > 0 */
    long long emitted_ms;  /* 0 when absent */
} crgw_rc_decision;

/*
 * Single fields of object o (path: the object's path for messages, "" at the top). Each returns
 * 0 (the value in *out; absent optional fields give NULL) or -1 with why.
 */
int crgw_rc_string(json_t *o, const char *path, const char *key, size_t max, int required,
                   const char **out, char *why, size_t wl);
int crgw_rc_ident(json_t *o, const char *path, const char *key, int required, const char **out,
                  char *why, size_t wl);
int crgw_rc_node(const struct crgw_config *cfg, json_t *o, const char *path, const char *key,
                 int required, const char **out, char *why, size_t wl);
int crgw_rc_uscc(const struct crgw_config *cfg, json_t *o, const char *path, const char *key,
                 char norm[19], char *why, size_t wl);
int crgw_rc_code(const char *const *codes, json_t *o, const char *path, const char *key,
                 int required, const char **out, char *why, size_t wl);
int crgw_rc_hex64(json_t *o, const char *path, const char *key, int required, const char **out,
                  char *why, size_t wl);
/* out: the time normalised to +08:00 ("" when absent and optional). */
int crgw_rc_time(json_t *o, const char *path, const char *key, int required,
                 char out[CRGW_RC_TIME_LEN], char *why, size_t wl);

/* A USCC string (path parameters): 1 valid (normalised into norm), else 0. */
int crgw_rc_uscc_ok(const struct crgw_config *cfg, const char *s, char norm[19]);
/* The NUL-terminated RFC 3339 s normalised to +08:00 into out: 0 or -1. */
int crgw_rc_time_normalise(const char *s, char out[CRGW_RC_TIME_LEN]);

/* body.record; need_kind: record.kind required (applications). */
int crgw_rc_record_of(const struct crgw_config *cfg, json_t *body, int need_kind,
                      crgw_rc_record *rec, char *why, size_t wl);
int crgw_rc_application_of(const struct crgw_config *cfg, json_t *body, int federated,
                           crgw_rc_application *a, char *why, size_t wl);
int crgw_rc_decision_of(const struct crgw_config *cfg, json_t *body, int federated,
                        crgw_rc_decision *d, char *why, size_t wl);

/*
 * The application document as stored and sent to the origin (only checked fields):
 * application_id, subject_uscc, record, commitment_sha256, applicant {name[, contact]},
 * materials, applicant_node, filed_at. malloc'd JSON.
 */
char *crgw_rc_application_doc(const crgw_rc_application *a, const char *app_id,
                              const char *applicant_node, const char *filed_at);

/*
 * 1 when node self shares repairs of domain with origin under an agreement (both members,
 * domain in its repair_domains), else 0.
 */
int crgw_rc_domain_shared(const struct crgw_config *cfg, const char *origin, const char *self,
                          const char *domain);

#endif
