/*
 * outbox: delivery of repair events and applications to peers from Redis Streams
 * (crgw:outbox:<dest>, consumer group "crgw", one per destination stream).
 *
 * Per destination: entries are read with XREADGROUP (first this consumer's own pending entries,
 * then new ones), signed and POSTed over the peer client with a window of WINDOW requests in
 * flight; a 200/202 answer XACKs and XDELs the entry (so XLEN = entries waiting = the lag). A
 * failure backs the destination off exponentially (retry_base_ms * 2^n, capped at retry_max_ms,
 * with jitter: half fixed, half random); an entry still failing after dead_letter_after_s, or
 * refused by the peer with a permanent 4xx, moves to crgw:dead:<dest>. While a destination is
 * failing, each retry sends a single probe; the window reopens on its success. Destinations are
 * independent: a peer that is down only delays its own stream. The gauge
 * crgw_repair_outbox_lag{dest} (XLEN, every 5 s) shows what waits per destination.
 *
 * Several processes of one node share each stream through the group. The consumer name is
 * stable (<host>-<node>-w<worker>, or $CRGW_TEST_OUTBOX_CONSUMER-w<worker> when several `crgw
 * serve` of one node run on one host), so a restarted process first redelivers its own pending
 * entries; every CLAIM_INTERVAL a process XAUTOCLAIMs entries idle longer than the claim idle
 * time (default 30 s; environment CRGW_TEST_OUTBOX_CLAIM_IDLE_MS) from dead processes.
 */
#ifndef CRGW_OUTBOX_H
#define CRGW_OUTBOX_H

#include <stddef.h>

struct crgw_server;
struct crgw_federation;

typedef struct crgw_outbox crgw_outbox;

/* The outbox of the server's configuration (its own Redis connection and peer client), signing
 * with fed (borrowed: outlives the outbox), or NULL
 * (logged) when the peer client cannot be set up. */
crgw_outbox *crgw_outbox_start(struct crgw_server *s, const struct crgw_federation *fed);
/* Stops and frees (NULL: nothing). Requests and Redis commands in flight are failed first. */
void crgw_outbox_stop(crgw_outbox *ob);
/* Something was appended to dest's stream by this process: read it now (ob may be NULL). */
void crgw_outbox_kick(crgw_outbox *ob, const char *dest);

#endif
