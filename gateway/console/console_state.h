/*
 * console_state: the console module's run-time state, shared by its files (private to
 * gateway/console/).
 */
#ifndef CRGW_CONSOLE_STATE_H
#define CRGW_CONSOLE_STATE_H

#include <stddef.h>

#include <jansson.h>

#include "gateway/server/config.h"
#include "gateway/server/http.h"

typedef struct {
    char **etags; /* per embedded asset: "\"<32 hex of SHA-256>\"" */
    size_t n_assets;
    json_t *anchors; /* [{node, file, subject, not_after, not_after_unix}] of the configuration */
} crgw_console_state;

/* The trust anchors of every node of cfg with their notAfter (unreadable files: "error"). */
json_t *crgw_console_anchors(const crgw_config *cfg);
/* The content type of an asset by its file name's extension. */
const char *crgw_console_content_type(const char *name);
/* GET /v1/federation/status */
void crgw_console_route_status(crgw_req *r);

#endif
