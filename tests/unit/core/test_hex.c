/* gateway/core/hex: lower-case hex of bytes, and back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/hex.h"

Test(hex, every_byte_value_and_back)
{
    unsigned char all[256], back[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)i;
    char out[513];
    memset(out, 'X', sizeof(out));
    crgw_hex(all, sizeof(all), out);
    cr_assert_eq(out[512], '\0');
    cr_assert_eq(strncmp(out, "000102030405060708090a0b0c0d0e0f10", 34), 0);
    cr_assert_eq(strcmp(out + 500, "fafbfcfdfeff"), 0);
    for (int i = 0; i < 256; i++) {
        char want[3];
        snprintf(want, sizeof(want), "%02x", i);
        cr_assert_eq(memcmp(out + 2 * i, want, 2), 0, "byte %d: %.2s", i, out + 2 * i);
    }
    cr_assert_eq(crgw_hex_decode(out, sizeof(back), back), 0);
    cr_assert_eq(memcmp(all, back, sizeof(all)), 0);
}

Test(hex, empty_and_short)
{
    char out[3] = "zz";
    crgw_hex((const unsigned char *)"", 0, out);
    cr_assert_str_eq(out, "");
    crgw_hex((const unsigned char *)"\xab", 1, out);
    cr_assert_str_eq(out, "ab");
}

Test(hex, decode_refuses_upper_case_odd_and_non_hex)
{
    unsigned char b[2];
    cr_assert_eq(crgw_hex_decode("ABCD", 2, b), -1);
    cr_assert_eq(crgw_hex_decode("abc", 2, b), -1);
    cr_assert_eq(crgw_hex_decode("zz00", 2, b), -1);
    cr_assert_eq(crgw_hex_decode("ab0f", 2, b), 0);
    cr_assert(b[0] == 0xab && b[1] == 0x0f);
}
