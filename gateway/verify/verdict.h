/*
 * verdict: the ETSI EN 319 102-1 vocabulary of a verification, and the list of checks done.
 *
 * Each failed check carries a sub-indication; the verdict is the failed check of highest
 * precedence (fixtures/reports/invalid/README.md): format, then cryptographic failures
 * (TOTAL_FAILED), revocation before signing (TOTAL_FAILED), X.509 validation results, then
 * signature acceptance (crypto constraints) (INDETERMINATE).
 */
#ifndef CRGW_VERDICT_H
#define CRGW_VERDICT_H

#include <stddef.h>

#include <jansson.h>

/* Sub-indications in precedence order (lower value wins). */
typedef enum {
    CRGW_SUB_NONE = 0,
    CRGW_SUB_FORMAT_FAILURE,
    CRGW_SUB_HASH_FAILURE,
    CRGW_SUB_SIG_CRYPTO_FAILURE,
    CRGW_SUB_REVOKED,
    CRGW_SUB_NO_CERTIFICATE_CHAIN_FOUND,
    CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE,
    CRGW_SUB_OUT_OF_BOUNDS_NO_POE,
    CRGW_SUB_NOT_YET_VALID,
    CRGW_SUB_REVOKED_NO_POE,
    CRGW_SUB_TRY_LATER,
    CRGW_SUB_CRYPTO_CONSTRAINTS_FAILURE,
    CRGW_SUB_SIG_CONSTRAINTS_FAILURE,
    CRGW_SUB_COUNT_
} crgw_sub;

/* "FORMAT_FAILURE", ...; NULL for CRGW_SUB_NONE. */
const char *crgw_sub_name(crgw_sub s);
/* "TOTAL_PASSED" (CRGW_SUB_NONE), "TOTAL_FAILED" or "INDETERMINATE". */
const char *crgw_sub_indication(crgw_sub s);
/* The sub-indication of a name, CRGW_SUB_NONE when unknown. */
crgw_sub crgw_sub_from_name(const char *name);

typedef enum {
    CRGW_CHECK_PASSED = 0,
    CRGW_CHECK_FAILED,
    CRGW_CHECK_WARNING,
    CRGW_CHECK_SKIPPED,
} crgw_check_result;

typedef struct {
    const char *check; /* "signature", "chain", ...: a string with static storage */
    crgw_check_result result;
    crgw_sub sub; /* for FAILED */
    char *detail; /* may be NULL */
} crgw_check;

typedef struct {
    crgw_check *v;
    size_t n, cap;
} crgw_checks;

/*
 * Appends a check; check must have static storage (a literal); detail_fmt may be NULL. sub is
 * ignored unless result is FAILED.
 */
void crgw_checks_add(crgw_checks *c, const char *check, crgw_check_result result, crgw_sub sub,
                     const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));
/* The sub-indication of the failed check of highest precedence, CRGW_SUB_NONE when none. */
crgw_sub crgw_checks_verdict(const crgw_checks *c);
/* 1 when some check of this name exists with this result. */
int crgw_checks_has(const crgw_checks *c, const char *check, crgw_check_result result);
/* [{"check","result","detail"?}...] (new reference). */
json_t *crgw_checks_to_json(const crgw_checks *c);
void crgw_checks_cleanup(crgw_checks *c);

#endif
