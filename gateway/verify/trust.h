/*
 * trust: per-issuing-node trust material (anchors, CRLs, algorithm allow-list) loaded once from
 * the configuration, and the validation of a report signer against the node named as issuer.
 *
 * Loading parses every anchor into one X509_STORE per node (plus one store of all federation
 * anchors, to tell "chains to another node's anchor" from "chains to nothing"), and verifies
 * every CRL's signature once (SM2 CRLs with the SM2 ID over their TBS bytes, which
 * X509_CRL_verify cannot do). The trust version of a node is the SHA-256 of its anchors' and
 * CRLs' bytes and of the policy; a verdict cache keys on it.
 *
 * Chain building (the expensive part: one signature check per certificate) is memoised per node
 * by the SHA-256 of the certificates presented; time, revocation and policy are re-evaluated at
 * every call, so the memo never changes a verdict. One thread per event loop: no locks.
 */
#ifndef CRGW_TRUST_H
#define CRGW_TRUST_H

#include <stdint.h>
#include <time.h>

#include <openssl/x509.h>

#include "gateway/server/config.h"
#include "gateway/verify/verdict.h"

typedef struct crgw_trust crgw_trust;

/*
 * Loads the trust material of every node of cfg. Returns 0 and *out, or -1 with messages in errs
 * (unreadable anchor, CRL not signed by any anchor of its node, ...).
 */
int crgw_trust_new(const crgw_config *cfg, crgw_trust **out, crgw_errs *errs);
void crgw_trust_free(crgw_trust *t);

/* Hex SHA-256 trust version of a node (NULL when unknown), and of the whole federation. */
const char *crgw_trust_node_version(const crgw_trust *t, const char *node);
const char *crgw_trust_version(const crgw_trust *t);

/* 1 when the node exists and allows this JWS algorithm name (empty list = default list). */
int crgw_trust_alg_allowed(const crgw_trust *t, const char *node, const char *alg);

typedef struct {
    char anchor_node[8]; /* node whose anchor the signer chains to, "" when none */
    time_t not_after;    /* earliest notAfter of the chain (0 when no chain) */
    time_t crl_next;     /* earliest nextUpdate of the CRLs consulted (0 when none) */
    char subject[512];   /* signer subject, RFC 2253, UTF-8 */
    char serial[80];     /* signer serial, upper-case hex */
} crgw_trust_info;

/*
 * Validates signer (with extra as untrusted intermediates, may be NULL) for a report issued by
 * node at signing_time, evaluated at time at. Appends the checks done to checks: "chain",
 * "key_usage", "signer_node", "validity", "revocation", "key_strength" (each PASSED or FAILED
 * with its sub-indication). Fills info. Returns the most significant sub-indication of these
 * checks (CRGW_SUB_NONE when all passed).
 */
crgw_sub crgw_trust_check(crgw_trust *t, const char *node, X509 *signer, STACK_OF(X509) * extra,
                          time_t signing_time, time_t at, crgw_checks *checks,
                          crgw_trust_info *info);

/* Statistics of the chain memo (tests, metrics). */
void crgw_trust_memo_stats(const crgw_trust *t, uint64_t *hits, uint64_t *misses);

#endif
