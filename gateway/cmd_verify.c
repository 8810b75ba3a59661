/* PLACEHOLDER: replaced by the real implementation (being written). */
#include <stdio.h>
#include "gateway/commands.h"

int crgw_cmd_verify(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crgw: verify: not built yet\n");
    return 70;
}

int crgw_cmd_sign(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crgw: sign: not built yet\n");
    return 70;
}
