/*
 * uscc: the unified social credit code (GB 32100-2015), with the organisation code inside it
 * (GB 11714-1997, positions 9-17). crgw_uscc_check() is declared in gateway/translate/translate.h.
 */
#ifndef CRGW_USCC_H
#define CRGW_USCC_H

#include <stddef.h>

/*
 * Normalises in[0..n) (UTF-8): full-width ASCII forms to ASCII, lower to upper case. Writes at
 * most 18 characters + NUL into out. Returns 0, or -1 when the result is not 18 characters.
 */
int crgw_uscc_normalise(const char *in, size_t n, char out[19]);
/* 1 if in (normalised) equals one of the n entries of list (each normalised first). */
int crgw_uscc_listed(const char *norm, const char *const *list, size_t n);

#endif
