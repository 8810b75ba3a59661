/*
 * audit_check: the reader of an audit log (format: gateway/audit/README.md), behind
 * `crgw audit verify` and `crgw audit show`.
 *
 * A directory holds one chain (its files audit-YYYYMMDD-NNNN.jsonl, in name order) and/or one
 * chain per worker in its subfolders w0/, w1/... (in index order). crgw_audit_check reads every
 * chain completely and stops at the first problem, which it names by file and line.
 */
#ifndef CRGW_AUDIT_CHECK_H
#define CRGW_AUDIT_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "gateway/core/err.h"

typedef struct {
    size_t entries;     /* lines checked, over all chains */
    size_t checkpoints; /* checkpoint entries whose signature verified */
    size_t files;       /* files read */
    size_t chains;   /* 1, or the number of w<K>/ subfolders (plus the top level if it has files) */
    size_t in_range; /* entries whose time is within [from, to] */
    size_t warnings; /* e.g. a chain that does not end with a checkpoint */
    char warning[512]; /* the first warning, "" when none */
    /* the first problem (when crgw_audit_check does not return 0) */
    char file[1024]; /* path of the file (DIR/name or DIR/wK/name), "" when not about a file */
    long line;       /* 1-based line within file, 0 when not about a line */
    char what[256];  /* "prev does not match the previous line", "seq 41 after 39", ... */
} crgw_audit_report;

/*
 * Checks every chain of dir: complete lines, JSON objects whose first keys are v (1), seq, time,
 * prev, kind; seq continuous from 1 across files; prev the hash of the previous line; a rotate
 * entry naming the previous file at the start of every file after the first; checkpoints whose
 * count, head and compact JWS (ES256, P-1363, payload = the entry's node, count, head, time)
 * match and whose signature verifies with node_key (the node's federation certificate's key;
 * NULL: signatures are not checked, and that is a warning). A chain that does not end with a
 * checkpoint is a warning, not an error. from/to (Unix seconds, inclusive) only count entries
 * in out->in_range; the whole chain is always checked (pass INT64_MIN, INT64_MAX for all).
 *
 * Returns 0 (chain intact), or with out->file, out->line, out->what set: CRGW_ERR_INVALID (a
 * malformed line or a broken chain), CRGW_ERR_SIG (a checkpoint signature does not verify),
 * CRGW_ERR_IO (a file or folder cannot be read), CRGW_ERR_NOT_FOUND (no audit file in dir).
 */
int crgw_audit_check(const char *dir, EVP_PKEY *node_key, int64_t from, int64_t to,
                     crgw_audit_report *out);

/*
 * Called by crgw_audit_find for each matching entry: its file path, 1-based line number and
 * line bytes (without \n, NUL-terminated). Return 0 to go on, non-zero to stop.
 */
typedef int (*crgw_audit_find_cb)(const char *file, long line, const char *text, size_t len,
                                  void *ctx);

/*
 * Calls cb for every entry of every chain of dir (in chain order) whose member `field` (e.g.
 * "uscc", "body_sha256", "event_id") is the string value. Lines that are not JSON objects are
 * skipped (crgw_audit_check reports them). Returns the number of matches (>= 0), or
 * CRGW_ERR_IO / CRGW_ERR_NOT_FOUND (no audit file in dir), with the reason in err.
 */
long crgw_audit_find(const char *dir, const char *field, const char *value, crgw_audit_find_cb cb,
                     void *ctx, char *err, size_t err_len);

#endif
