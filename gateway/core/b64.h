/*
 * b64: strict base64 (RFC 4648 §4) and base64url (§5) codecs for signatures, certificates and
 * JWS segments. Decoders are for untrusted input: they reject every character outside the
 * alphabet and non-zero trailing bits, so one encoded string has exactly one meaning.
 */
#ifndef CRGW_B64_H
#define CRGW_B64_H

#include "gateway/core/err.h"

#include <stddef.h>

/*
 * Standard base64 with '=' padding. When allow_ws, ASCII white space (space, tab, CR, LF) is
 * skipped anywhere (XMLDSig base64Binary). *out is malloc'd (free()), NUL-terminated (not
 * counted). Returns 0 or CRGW_ERR_INVALID.
 */
int crgw_b64_decode(const char *in, size_t len, int allow_ws, unsigned char **out, size_t *out_len);
/* base64url without padding (JWS); '=' is refused. Returns 0 or CRGW_ERR_INVALID. */
int crgw_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len);

/* The value (0..63) of c in the base64url alphabet, or -1 when c is not in it. */
int crgw_b64url_value(unsigned char c);

/* Room a decoder needs for len input characters (NUL terminator included). */
size_t crgw_b64_decoded_max(size_t len);
/* base64url into out (crgw_b64_decoded_max(len) bytes), NUL-terminated. 0 or CRGW_ERR_INVALID. */
int crgw_b64url_decode_to(const char *in, size_t len, unsigned char *out, size_t *out_len);

/* Encoders: malloc'd NUL-terminated string, length in *out_len when not NULL. */
char *crgw_b64_encode(const unsigned char *in, size_t len, size_t *out_len);
char *crgw_b64url_encode(const unsigned char *in, size_t len, size_t *out_len);

#endif
