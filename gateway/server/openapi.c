/*
 * The OpenAPI description is embedded with the assembler's .incbin (no generated file, no xxd):
 * the path is relative to the repository root, where make and tests/fuzz/build compile; the
 * Makefile makes this object depend on gateway/openapi.yaml, so an edit of the description
 * rebuilds it. A NUL byte follows the text.
 */
#include "gateway/server/openapi.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".type crgw_openapi_text, @object\n"
        "crgw_openapi_text:\n"
        ".incbin \"gateway/openapi.yaml\"\n"
        "crgw_openapi_text_end:\n"
        ".byte 0\n"
        ".size crgw_openapi_text, . - crgw_openapi_text\n"
        ".previous\n");

/* Local symbols of the block above (hidden: no dynamic relocation, no export). */
extern const char crgw_openapi_text[] __attribute__((visibility("hidden")));
extern const char crgw_openapi_text_end[] __attribute__((visibility("hidden")));

const char *crgw_openapi_yaml(size_t *len)
{
    *len = (size_t)(crgw_openapi_text_end - crgw_openapi_text);
    return crgw_openapi_text;
}

void crgw_route_openapi(crgw_req *r)
{
    size_t len;
    const char *text = crgw_openapi_yaml(&len);
    static const char *const headers[] = {"cache-control", "no-cache", NULL};
    crgw_req_respond(r, 200, "application/yaml", text, len, headers);
}
