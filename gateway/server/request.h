/*
 * request: pieces of reading a request's headers that need no connection state (conn.c):
 * the :path split into decoded path and raw query, and the simulated caller of the loopback
 * h2c listener (x-crgw-role, x-crgw-client; see conn.h).
 */
#ifndef CRGW_REQUEST_H
#define CRGW_REQUEST_H

#include <stddef.h>

#include "gateway/server/http.h"

/*
 * Splits a request's :path into the percent-decoded path and the raw query (without '?', ""
 * when none), with storage from alloc(actx, n). 0, or -1 when raw does not start with '/' or
 * has a bad or NUL escape.
 */
int crgw_request_split_path(const char *raw, void *(*alloc)(void *actx, size_t n), void *actx,
                            const char **path, const char **query);
/*
 * Applies x-crgw-client (may be NULL) and x-crgw-role (NULL: the roles stay) to r: exactly the
 * roles listed (comma or space separated role names, "peer" allowed: then r->peer_node is the
 * node whose federation identity r->client is). 0, or -1 for an unknown or too long name.
 */
int crgw_request_h2c_identity(crgw_req *r, const char *x_role, const char *x_client);

#endif
