/* PLACEHOLDER: replaced by the real implementation (being written). */
#include <stdio.h>
#include "gateway/commands.h"

int crgw_cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "crgw: serve: not built yet\n");
    return 70;
}
