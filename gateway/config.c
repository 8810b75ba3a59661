/* PLACEHOLDER: replaced by the real implementation (being written). */
#include <stdio.h>
#include "gateway/commands.h"
int crgw_cmd_check_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return 70;
}
