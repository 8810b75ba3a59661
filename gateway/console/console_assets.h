/*
 * console_assets: the files of gateway/console/assets/, embedded into the binary by
 * gateway/console/embed.sh (run by the Makefile; the generated C file lives under build/gen/).
 */
#ifndef CRGW_CONSOLE_ASSETS_H
#define CRGW_CONSOLE_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name; /* file name, e.g. "app.js" */
    const unsigned char *data;
    size_t len;
} crgw_console_asset;

/* Terminated by a row whose name is NULL. */
extern const crgw_console_asset crgw_console_assets[];

#endif
