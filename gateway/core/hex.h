/*
 * hex: the project's one hex codec: lower-case encoding of digests and keys, decoding of what
 * crgw_hex wrote (cache values), and the digit value behind percent-decoding and JSON \u escapes.
 */
#ifndef CRGW_HEX_H
#define CRGW_HEX_H

#include <stddef.h>

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void crgw_hex(const unsigned char *p, size_t n, char *out);

/* The value 0..15 of hex digit c (either case), or -1. */
int crgw_hexval(char c);

/*
 * Decodes exactly 2n lower-case hex digits s (the form crgw_hex writes; s must be exactly that
 * long when NUL-terminated: pass n and a string of strlen 2n) into out[0..n). Returns 0, or -1
 * when s is NULL, has another length or a character outside 0-9a-f (out is then unspecified).
 */
int crgw_hex_decode(const char *s, size_t n, unsigned char *out);

#endif
