/* gateway/core/util: crgw_decimal, the printf-free decimal formatter. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "gateway/core/util.h"

Test(decimal, matches_printf)
{
    const long long v[] = {0,  1,   9,         10,       99, 100, 200, 503, 1234567890123LL,
                           -1, -42, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char got[21], want[32];
        memset(got, 'X', sizeof(got));
        size_t n = crgw_decimal(v[i], got);
        snprintf(want, sizeof(want), "%lld", v[i]);
        cr_assert_str_eq(got, want);
        cr_assert_eq(n, strlen(want));
    }
}
