/* PLACEHOLDER: replaced by the real implementation (being written). */
#include <stdio.h>
#include "gateway/commands.h"

int crgw_cmd_translate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crgw: translate: not built yet\n");
    return 70;
}
