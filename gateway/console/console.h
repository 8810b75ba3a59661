/*
 * console: the web console served by crgw itself on its TLS listener (issue 13): the page, its
 * assets (embedded into the binary at build time from gateway/console/assets/), and the small
 * read-only routes the page needs that no other module answers.
 *
 *   GET /                        [any client]  the page (index.html)
 *   GET /assets/{name}           [any client]  app.js, app.css, icon.svg (404 for anything else)
 *   GET /v1/whoami               [any client]  {node, client, roles, lang}: what the page shows
 *   GET /v1/federation/status    [operator]    trust version, anchors' expiry, recent problems
 *
 * Every asset answer carries a strong ETag (SHA-256 of the bytes; If-None-Match gives 304),
 * Cache-Control, a strict Content-Security-Policy (default-src 'self', no inline script or
 * style), X-Content-Type-Options: nosniff, Referrer-Policy and frame-ancestors 'none'.
 */
#ifndef CRGW_CONSOLE_H
#define CRGW_CONSOLE_H

#include "gateway/server/module.h"

extern const crgw_module crgw_console_module;

/* "zh" or "en": the language of an Accept-Language value (NULL or no match: "zh"). */
const char *crgw_console_lang(const char *accept_language);

#endif
