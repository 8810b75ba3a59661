/*
 * verify: the whole verification of a report issued elsewhere (ARCHITECTURE.md §4).
 *
 *   detect the form (XML, flattened JWS JSON, compact JWS)
 *   -> strict parse + signature structure and cryptography over the covered node / payload
 *   -> translate exactly that node / payload to the canonical report
 * (gateway/translate/translate.h)
 *   -> issuer node = canonical issuer.node -> chain to THAT node's anchors, revocation, policy
 *   -> recognition under the agreements of the configuration (when a scenario is asked)
 *   -> verdict JSON in the shape of API.md (indication, subindication, issuer_node, signer,
 *      recognition, report, checks).
 *
 * A crgw_verifier holds what is parsed once per configuration: the trust stores of every node
 * (gateway/verify/trust.h) and the adapters. It is not thread-safe: one per event loop / process
 * or per thread. Threads: crgw_verify_process_init once before starting them, then in each
 * thread crgw_verify_thread_init before its first verification and crgw_verify_thread_cleanup
 * at its end (the certificate and JWS header caches and the digest context are per thread).
 *
 * The public header of the verify job: other jobs include only this one; it re-exports the JWS
 * codec (gateway/verify/jws.h: crgw_jws_parse, crgw_jws_check) that federation messages use.
 */
#ifndef CRGW_VERIFY_H
#define CRGW_VERIFY_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include "gateway/server/config.h"
#include "gateway/verify/jws.h"
#include "gateway/verify/verdict.h"

typedef struct crgw_verifier crgw_verifier;
struct crgw_adapters;
struct crgw_trust;

/*
 * Builds a verifier for cfg (a reference is taken): trust material of every node and the
 * adapters of cfg->adapters_dir. Returns 0 and *out, or -1 with errors in errs.
 */
int crgw_verifier_new(struct crgw_config *cfg, crgw_verifier **out, crgw_errs *errs);
void crgw_verifier_free(crgw_verifier *v);
struct crgw_config *crgw_verifier_config(const crgw_verifier *v);
struct crgw_trust *crgw_verifier_trust(const crgw_verifier *v);
struct crgw_adapters *crgw_verifier_adapters(const crgw_verifier *v);
/* Hex SHA-256 of the trust material and policy of the whole federation. */
const char *crgw_verifier_trust_version(const crgw_verifier *v);
/* The trust version of the verify module running in server s (NULL when it does not run). */
struct crgw_server;
const char *crgw_verify_running_trust_version(const struct crgw_server *s);

typedef struct {
    const char *scenario; /* recognition scenario ("tender", ...), NULL = not asked */
    time_t at;            /* evaluation time */
} crgw_verify_opts;

typedef struct {
    json_t *verdict;          /* the answer (API.md, without file/current/cache), owned */
    crgw_sub sub;             /* CRGW_SUB_NONE = TOTAL_PASSED */
    int recognised;           /* -1 not asked, 0 no, 1 yes */
    int cacheable;            /* 0 for transient outcomes (TRY_LATER, internal trouble) */
    time_t not_after;         /* the answer may change at this time: min(report valid_until,
                                 chain notAfter, CRL nextUpdate, recognition age limit); 0 =
                                 no known limit */
    char issuer_node[8];      /* "" when unknown */
    unsigned char sha256[32]; /* of the bytes verified */
} crgw_verify_outcome;

/*
 * Verifies one report (the exact bytes received). Always fills out (a report that cannot be read
 * at all is TOTAL_FAILED/FORMAT_FAILURE); returns 0, or -1 only on an internal error.
 */
int crgw_verify_report(crgw_verifier *v, const char *buf, size_t len, const crgw_verify_opts *o,
                       crgw_verify_outcome *out);
void crgw_verify_outcome_cleanup(crgw_verify_outcome *out);

/* Process-wide set-up before threads verify (libxml2, jansson's hash seed, base64 tables). */
void crgw_verify_process_init(void);
/* Per thread: libxml2's error handler (per thread in libxml2); and the thread's caches freed. */
void crgw_verify_thread_init(void);
void crgw_verify_thread_cleanup(void);

/* Times are parsed and formatted by gateway/core/time.h (crgw_time_parse_rfc3339, ...). */

#endif
