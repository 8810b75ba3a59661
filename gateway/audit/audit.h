/*
 * audit: the append-only, hash-chained audit log of a node (format: gateway/audit/README.md).
 *
 * Jobs add entries with crgw_audit_add; the audit module's writer thread serialises them with
 * the chain fields (v, seq, time, prev) and appends them to the current file, so the event loop
 * never waits for the disk. The queue is bounded (audit.queue_max entries): when it is full, or
 * the disk fails, crgw_audit_add returns CRGW_ERR_UNAVAILABLE, /readyz says why ("audit: ..."),
 * and with audit.on_failure: refuse a caller must not give the answer it wanted to audit
 * (crgw_audit_refusing tells it before it does the work).
 */
#ifndef CRGW_AUDIT_H
#define CRGW_AUDIT_H

#include <jansson.h>

#include "gateway/core/err.h"
#include "gateway/server/module.h"

struct crgw_server;
struct crgw_config;

typedef struct crgw_audit crgw_audit;

/* The `audit:` section (crgw_audit_module's descriptor rows). */
typedef struct {
    int enabled;          /* default 0 */
    char *dir;            /* where the files go (created); required when enabled */
    char *on_failure;     /* "refuse" (default) or "degrade" */
    int checkpoint_every; /* entries, default 1000 */
    int checkpoint_s;     /* seconds, default 60 */
    int max_file_mb;      /* rotation size, default 64 */
    int queue_max;        /* entries waiting for the writer, default 65536 */
} crgw_audit_conf;

extern const crgw_module crgw_audit_module;

/* The `audit:` section of a configuration loaded with crgw_audit_module (defaults applied). */
const crgw_audit_conf *crgw_audit_conf_of(const struct crgw_config *cfg);

/* The audit log of a server, NULL when the module does not run there or is not enabled. */
crgw_audit *crgw_audit_of(const struct crgw_server *s);

/*
 * Queues one entry of kind `kind` with the fields of `fields` (reference stolen; the chain
 * fields are added by the writer). a NULL: nothing (audit off), returns 0. Returns 0,
 * CRGW_ERR_INVALID (kind not [a-z_]+ or fields not an object: nothing queued), or
 * CRGW_ERR_UNAVAILABLE when the entry cannot be written now: queue full (the entry is dropped)
 * or disk failing (the entry is kept in the queue and written, in order, once the disk takes
 * writes again).
 */
int crgw_audit_add(crgw_audit *a, const char *kind, json_t *fields);

/*
 * The same with the fields already as a compact JSON object text fields[0..len) (copied; no
 * newline), for the hot path of the verify route, which formats its few fields on its stack
 * without building a JSON tree. CRGW_ERR_INVALID when it does not look like one.
 */
int crgw_audit_add_text(crgw_audit *a, const char *kind, const char *fields, size_t len);

/* 1 when audit.on_failure is refuse and the log cannot take entries now: refuse the request. */
int crgw_audit_refusing(const crgw_audit *a);

#endif
