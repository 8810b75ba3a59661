/*
 * err: the one error convention of crgw (README, "Style").
 *
 * A function that can fail returns int: 0 (CRGW_OK) on success, else one of the negative
 * CRGW_ERR_* values below, which are distinct across the whole program so that a code can be
 * passed up through layers and still be named (crgw_err_name). Each header comment lists the
 * codes its function returns; the detail goes to a caller's buffer (char *err, size_t err_len),
 * a crgw_errs or crgw_diags list, never to a global. Functions that return a pointer return
 * NULL on failure and say where the reason goes. Allocation failure aborts (xmalloc).
 */
#ifndef CRGW_ERR_H
#define CRGW_ERR_H

enum {
    CRGW_OK = 0,
    CRGW_ERR_INVALID = -1,      /* malformed input: syntax, format, a value out of its bounds */
    CRGW_ERR_IO = -2,           /* a file or socket cannot be read or written */
    CRGW_ERR_TOOBIG = -3,       /* a size limit would be exceeded */
    CRGW_ERR_ALG = -4,          /* algorithm not allowed, not supported, or not the expected one */
    CRGW_ERR_KEY = -5,          /* a key or certificate is unusable */
    CRGW_ERR_SIG = -6,          /* a signature does not verify */
    CRGW_ERR_DIGEST = -7,       /* a digest of signed content does not match */
    CRGW_ERR_CHAIN = -8,        /* a certificate does not chain to a trust anchor */
    CRGW_ERR_DENIED = -9,       /* authentic, but not the identity or signer required */
    CRGW_ERR_NOT_FOUND = -10,   /* no such thing (route, node, client certificate) */
    CRGW_ERR_METHOD = -11,      /* the thing exists, not with this method */
    CRGW_ERR_UNAVAILABLE = -12, /* a dependency (Redis, a peer) does not answer */
    CRGW_ERR_INTERNAL = -13,    /* a library call failed unexpectedly */
};

/* The code's symbolic name ("CRGW_ERR_SIG"), or "CRGW_ERR_?" for an unknown value. */
const char *crgw_err_name(int code);

#endif
