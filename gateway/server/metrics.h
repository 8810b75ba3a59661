/*
 * metrics: process-wide Prometheus counters, gauges and histograms, rendered as text format 0.0.4.
 *
 * Series are identified by a metric name and a label string in Prometheus syntax without braces
 * (`route="healthz",status="200"`, or NULL/"" for none). The first use of a series creates it
 * (one allocation); later updates are a hash lookup. One event loop per process, no locks.
 * With `workers` > 1 every process has its own registry (each scrape sees one worker).
 */
#ifndef CRGW_METRICS_H
#define CRGW_METRICS_H

#include "gateway/core/err.h"

#include <stddef.h>
#include <stdint.h>

#include "gateway/core/util.h"

/* Adds n to a counter (type counter, name should end in _total). */
void crgw_metrics_counter_add(const char *name, const char *labels, uint64_t n);
/* Sets / adds to a gauge. */
void crgw_metrics_gauge_set(const char *name, const char *labels, double v);
void crgw_metrics_gauge_add(const char *name, const char *labels, double d);
/* Observes a value (seconds) in a histogram with the default latency buckets (0.5 ms .. 10 s). */
void crgw_metrics_observe(const char *name, const char *labels, double v);
/* Optional HELP text of a metric name (string not copied: use literals). */
void crgw_metrics_help(const char *name, const char *help);

struct crgw_route_table;

/* The route table whose names label the request series (the server's, set at start). */
void crgw_metrics_set_routes(const struct crgw_route_table *t);
/*
 * HTTP requests of the server (hot path: fixed arrays, no hashing): route index in the table
 * (crgw_routes_count(t) for "unmatched"), status, latency in microseconds.
 */
void crgw_metrics_request(size_t route_index, int status, uint64_t us);

/* Appends the whole registry in Prometheus text format. Returns 0 or CRGW_ERR_TOOBIG. */
int crgw_metrics_render(crgw_buf *out);
/* Frees every series (process exit, tests). */
void crgw_metrics_reset(void);

#endif
