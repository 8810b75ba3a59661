/*
 * verify_batch: POST /v1/reports/verify-batch?scenario=S&to=DIALECT[&at=RFC3339] [verifier], a
 * streaming route (gateway/server/http.h) and its `verify_batch:` configuration section.
 *
 * Body: application/x-ndjson or multipart/form-data (gateway/verify/batch.h). Answer: 200
 * application/x-ndjson, one line per report in order, written as each verdict is ready (the
 * first lines leave before the body has all arrived), then one summary line:
 *   {"index":0,"name":"a.xml","status":200,"verdict":{...the answer of POST /v1/reports/verify}}
 *   {"index":1,"name":"b.xml","status":413,"error":{problem: item-too-large, bad-item, ...}}
 *   {"summary":{"items":2,"verdicts":1,"errors":1,"indications":{"TOTAL_PASSED":1},
 *               "recognised":1,"complete":true,"ms":12}}
 * A bad item gets its error line and the batch goes on. A limit passed or bad framing before
 * the first answer byte is a problem answer (413 batch-too-large / batch-too-many-items, 400
 * bad-framing, 415 for another content type) naming the limit ("limit", "max"); after it, an
 * error line {"error": {...}} then the summary with "complete": false.
 *
 * One report is verified per loop turn (through the cache when it runs, exactly as the single
 * route, with its audit entry under route "reports_verify_batch"), and only while the answer
 * backlog is under the server's high-water mark; the body's bytes go back to the client's
 * window only as they are parsed: memory stays bounded (one item, one window, one backlog)
 * whatever the size of the batch.
 */
#ifndef CRGW_VERIFY_BATCH_H
#define CRGW_VERIFY_BATCH_H

#include <stddef.h>

#include "gateway/server/module.h"

/* The `verify_batch:` section. */
typedef struct {
    size_t max_item_bytes;  /* default 1 MiB: one NDJSON line, or one part with its headers */
    int max_items;          /* default 100000 reports per batch */
    size_t max_batch_bytes; /* default 1 GiB of body */
} crgw_verify_batch_conf;

extern const crgw_module crgw_verify_batch_module;

#endif
