#include "gateway/translate/uscc.h"

#include <string.h>

#include "gateway/translate/translate.h"

static const char CHARSET[] = "0123456789ABCDEFGHJKLMNPQRTUWXY";
static const int W32100[17] = {1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28};
static const int W11714[8] = {3, 7, 9, 10, 5, 8, 4, 2};

int crgw_uscc_normalise(const char *in, size_t n, char out[19])
{
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)in;
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        if (c < 0x80) {
            i++;
        } else if (n - i >= 3 && c == 0xEF && (p[i + 1] == 0xBC || p[i + 1] == 0xBD) &&
                   p[i + 2] >= 0x80 && p[i + 2] <= 0xBF) {
            /* U+FF01..U+FF5E full-width ASCII = EF BC 81 .. EF BD 9E */
            unsigned cp = (0xFu << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
            if (cp < 0xFF01 || cp > 0xFF5E)
                return -1;
            c = cp - 0xFF01u + 0x21u;
            i += 3;
        } else {
            return -1;
        }
        if (c >= 'a' && c <= 'z')
            c -= 'a' - 'A';
        if (k >= 18)
            return -1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    return k == 18 ? 0 : -1;
}

static int val32(char c)
{
    const char *p = c ? strchr(CHARSET, c) : NULL;
    return p ? (int)(p - CHARSET) : -1;
}

int crgw_uscc_check(const char *in, char out_normalised[19], const char **why)
{
    char norm[19];
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    if (crgw_uscc_normalise(in, strlen(in), norm)) {
        *why = "not 18 characters";
        return -1;
    }
    if (out_normalised)
        memcpy(out_normalised, norm, 19);
    int sum = 0;
    for (int i = 0; i < 18; i++) {
        int v = val32(norm[i]);
        if (v < 0) {
            *why = "character outside the GB 32100 character set";
            return -1;
        }
        if (i < 17)
            sum += v * W32100[i];
    }
    /* organisation code (GB 11714): positions 9..17 */
    int osum = 0;
    for (int i = 0; i < 8; i++) {
        char c = norm[8 + i];
        int v = (c >= '0' && c <= '9') ? c - '0' : c - 'A' + 10;
        osum += v * W11714[i];
    }
    int oc = 11 - osum % 11;
    char ocheck = oc == 10 ? 'X' : oc == 11 ? '0' : (char)('0' + oc);
    if (norm[16] != ocheck) {
        *why = "wrong organisation code check character (GB 11714, position 17)";
        return -1;
    }
    int check = (31 - sum % 31) % 31;
    if (norm[17] != CHARSET[check]) {
        *why = "wrong check character (GB 32100, position 18)";
        return -1;
    }
    return 0;
}

int crgw_uscc_listed(const char *norm, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char e[19];
        if (list[i] == NULL)
            continue;
        if (crgw_uscc_normalise(list[i], strlen(list[i]), e) == 0 && strcmp(e, norm) == 0)
            return 1;
    }
    return 0;
}
