#include "gateway/core/err.h"

const char *crgw_err_name(int code)
{
    static const char *const names[] = {
        "CRGW_OK",
        "CRGW_ERR_INVALID",
        "CRGW_ERR_IO",
        "CRGW_ERR_TOOBIG",
        "CRGW_ERR_ALG",
        "CRGW_ERR_KEY",
        "CRGW_ERR_SIG",
        "CRGW_ERR_DIGEST",
        "CRGW_ERR_CHAIN",
        "CRGW_ERR_DENIED",
        "CRGW_ERR_NOT_FOUND",
        "CRGW_ERR_METHOD",
        "CRGW_ERR_UNAVAILABLE",
        "CRGW_ERR_INTERNAL",
    };
    if (code > 0 || -code >= (int)(sizeof(names) / sizeof(names[0])))
        return "CRGW_ERR_?";
    return names[-code];
}
