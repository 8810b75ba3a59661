/*
 * federation: messages between nodes (API.md "Between nodes"). Every message is a compact JWS,
 * ES256, x5c = the sending node's federation certificate, signed with this node's federation key
 * (cfg->tls_key / tls_cert).
 *
 *   POST /federation/v1/repair/applications [peer] an application filed at the caller for a
 *        record of this node: 202 stored, 200 already known
 *   POST /federation/v1/repair/events       [peer] a repair status event of the caller (its
 *        origin): signature checked against the federation CA (cfg->client_ca) and the origin's
 *        identity (SAN URI = the node's tls_uri), deduplicated by event_id, applied when its
 *        origin_seq is newer than the stored one: 202 applied (or stale), 200 duplicate
 *   GET  /v1/federation/peers               [operator] per peer: node, url, last_contact,
 *        outbox_lag, retries, dead_letters
 *   POST /v1/federation/peers/{node}/dead-letters/redrive [operator] dead letters back into the
 *        outbox: 200 {"node", "redriven"}
 *
 * Counters: crgw_repair_events_total{result="applied|duplicate|stale|refused"}; histogram
 * crgw_repair_propagation_seconds (decision at the origin to applied here, from the optional
 * payload field emitted_ms; meaningful when clocks agree, e.g. on one machine).
 */
#ifndef CRGW_FEDERATION_H
#define CRGW_FEDERATION_H

#include "gateway/core/err.h"

#include <stddef.h>

#include "gateway/server/http.h"

struct crgw_config;

/* This node's federation identity (key, x5c, federation CA) and its cache of peers' verified
 * certificates; part of the repair module's state. */
typedef struct crgw_federation crgw_federation;

/* Loads the signing key, certificate and federation CA of cfg, or NULL (logged). */
crgw_federation *crgw_federation_new(const struct crgw_config *cfg);
void crgw_federation_free(crgw_federation *f);

/* Signs payload as this node: *out (malloc'd compact JWS). 0 or -1 (f NULL: -1). */
int crgw_federation_sign(const crgw_federation *f, const char *payload, size_t len, char **out,
                         size_t *out_len);

/*
 * Verifies a message from node `from` (its certificate must chain to the federation CA and
 * name from's tls_uri). On success *payload is the parsed JSON object (caller decrefs).
 */
int crgw_federation_verify(crgw_federation *f, const struct crgw_config *cfg, const char *from,
                           const char *jws, size_t len, json_t **payload, char *err, size_t errlen);

void crgw_route_fed_applications(crgw_req *r);
void crgw_route_fed_events(crgw_req *r);
void crgw_route_federation_peers(crgw_req *r);
void crgw_route_federation_redrive(crgw_req *r);

#endif
