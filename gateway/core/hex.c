#include "gateway/core/hex.h"

#include <string.h>

/* The two digits of each byte value (digests are hexed on hot paths: one load per byte). */
#define H4(x)                                                                                      \
#x "0" #x "1" #x "2" #x "3" #x "4" #x "5" #x "6" #x "7" #x "8" #x "9" #x "a" #x "b" #x "c" #x  \
       "d" #x "e" #x "f"
static const char pairs[513] =
    H4(0) H4(1) H4(2) H4(3) H4(4) H4(5) H4(6) H4(7) H4(8) H4(9) H4(a) H4(b) H4(c) H4(d) H4(e) H4(f);
#undef H4

void crgw_hex(const unsigned char *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        memcpy(out + 2 * i, pairs + 2 * p[i], 2);
    out[2 * n] = '\0';
}

int crgw_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int crgw_hex_decode(const char *s, size_t n, unsigned char *out)
{
    if (!s || strlen(s) != 2 * n)
        return -1;
    for (size_t i = 0; i < 2 * n; i++)
        if (s[i] >= 'A' && s[i] <= 'F')
            return -1; /* lower case only: one encoding per value */
    for (size_t i = 0; i < n; i++) {
        int hi = crgw_hexval(s[2 * i]), lo = crgw_hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    return 0;
}
