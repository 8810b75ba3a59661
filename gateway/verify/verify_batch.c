/*
 * verify_batch: the verify-batch streaming route (gateway/verify/verify_batch.h).
 *
 * State machine of one batch, driven by a zero timer (one step per loop turn):
 *   received bytes -> `in` (not yet given back to the window) -> the parser (one item) ->
 *   the verification (crgw_verify_submit, maybe answered later from Redis) -> one answer line.
 * The timer does nothing while a verification is pending or the answer backlog is full
 * (ops->writable re-arms it); the client's window then closes and it waits. When the client
 * goes, the batch ends as soon as no verification is pending (its answer still references the
 * item).
 */
#include "gateway/verify/verify_batch.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"
#include "gateway/verify/batch.h"
#include "gateway/verify/verify_route.h"

#define ROUTE_NAME "reports_verify_batch"
#define N_IND 4

static const char *const indications[N_IND] = {"TOTAL_PASSED", "TOTAL_FAILED", "INDETERMINATE",
                                               "other"};

typedef struct {
    crgw_req *r;
    const crgw_verify_batch_conf *conf;
    crgw_verify_params *vp;
    crgw_batch_parser *parser;
    struct evbuffer *in; /* received and not parsed yet: not given back to the window */
    struct event *turn;
    crgw_batch_item item;
    int have_item; /* parsed, not answered yet */
    int pending;   /* its verification is running */
    int eof, gone, blocked, done_input;
    const char *fatal_type; /* the batch stops: slug, message, limit named */
    char fatal[320];
    const char *fatal_limit;
    size_t fatal_max;
    size_t received;
    size_t n_items, n_verdicts, n_errors, n_recognised, n_ind[N_IND];
} batch;

static const crgw_verify_batch_conf *conf_of(const crgw_config *cfg)
{
    return crgw_config_section(cfg, &crgw_verify_batch_module);
}

static void schedule(batch *b)
{
    struct timeval tv = {0, 0};
    evtimer_add(b->turn, &tv);
}

static void batch_free(batch *b)
{
    crgw_batch_item_cleanup(&b->item);
    crgw_batch_parser_free(b->parser);
    crgw_verify_params_free(b->vp);
    if (b->in)
        evbuffer_free(b->in);
    if (b->turn)
        event_free(b->turn);
    free(b);
}

/* Writes one answer line (text without its newline); starts the answer first. */
static void put_line(batch *b, const char *text, size_t len)
{
    crgw_req *r = b->r;
    if (b->gone)
        return;
    if (!crgw_req_stream_begun(r) &&
        crgw_req_stream_begin(r, 200, "application/x-ndjson", NULL) != 0) {
        b->gone = 1;
        return;
    }
    crgw_buf l;
    crgw_buf_init(&l, len + 2);
    crgw_buf_add(&l, text, len);
    crgw_buf_add(&l, "\n", 1);
    int rv = crgw_req_stream_write(r, l.data, l.len);
    crgw_buf_cleanup(&l);
    if (rv < 0)
        b->gone = 1;
    else if (rv == 1)
        b->blocked = 1;
}

/* The JSON string of a name (bytes that are not UTF-8 become '?'). */
static json_t *name_json(const char *name)
{
    json_t *s = json_string(name);
    if (s)
        return s;
    char *c = xstrdup(name);
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    s = json_string(c);
    free(c);
    return s;
}

/* {"index":N,"name":"...","status":S,"<key>":<text>} */
static void put_item_line(batch *b, const crgw_batch_item *it, int status, const char *key,
                          const char *text, size_t len)
{
    json_t *head = json_pack("{s:I,s:o,s:i}", "index", (json_int_t)it->index, "name",
                             name_json(it->name), "status", status);
    char *h = json_dumps(head, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(head);
    crgw_buf l;
    crgw_buf_init(&l, len + strlen(h) + 64);
    crgw_buf_add(&l, h, strlen(h) - 1); /* without its '}' */
    crgw_buf_printf(&l, ",\"%s\":", key);
    crgw_buf_add(&l, text, len);
    crgw_buf_adds(&l, "}");
    free(h);
    put_line(b, l.data, l.len);
    crgw_buf_cleanup(&l);
}

static int item_error_status(const char *type)
{
    return strcmp(type, "item-too-large") == 0 ? 413 : 400;
}

static void put_item_error(batch *b, const crgw_batch_item *it)
{
    int status = item_error_status(it->error_type);
    json_t *o = crgw_problem_new(status, it->error_type,
                                 status == 413 ? "Report too large" : "Bad report item", it->error);
    if (status == 413) {
        json_object_set_new(o, "limit", json_string("verify_batch.max_item_bytes"));
        json_object_set_new(o, "max", json_integer((json_int_t)b->conf->max_item_bytes));
    }
    char *t = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    put_item_line(b, it, status, "error", t, strlen(t));
    free(t);
    b->n_items++;
    b->n_errors++;
}

/* Counts the answer's indication and recognition (fields near its start, as the audit does). */
static void count_verdict(batch *b, const char *body, size_t len)
{
    size_t head = len < 2048 ? len : 2048;
    const char *p = memmem(body, head, "\"indication\":\"", 14);
    size_t k = N_IND - 1;
    for (size_t i = 0; p && i < N_IND - 1; i++) {
        size_t il = strlen(indications[i]);
        if ((size_t)(body + head - (p + 14)) > il && memcmp(p + 14, indications[i], il) == 0 &&
            p[14 + il] == '"')
            k = i;
    }
    b->n_ind[k]++;
    if (memmem(body, len, "\"recognised\":true", 17))
        b->n_recognised++;
}

static void batch_end(batch *b);

static void on_verified(void *priv, int status, const char *ctype, const char *body, size_t len)
{
    (void)ctype;
    batch *b = priv;
    b->pending = 0;
    b->have_item = 0;
    if (!b->gone) {
        put_item_line(b, &b->item, status, status == 200 ? "verdict" : "error", body, len);
        b->n_items++;
        if (status == 200) {
            b->n_verdicts++;
            count_verdict(b, body, len);
        } else {
            b->n_errors++;
        }
    }
    crgw_batch_item_cleanup(&b->item);
    schedule(b); /* the next item on the next turn (or the end when the client went) */
}

static void set_fatal(batch *b, const char *type, const char *msg, const char *limit, size_t max)
{
    if (b->fatal_type)
        return;
    b->fatal_type = type;
    crgw_strfmt(b->fatal, sizeof(b->fatal), "%s", msg);
    b->fatal_limit = limit;
    b->fatal_max = max;
}

static int fatal_status(const char *type)
{
    return strcmp(type, "bad-framing") == 0 ? 400 : 413;
}

/* The summary line, then the end of the answer and of the request (b is freed). */
static void batch_end(batch *b)
{
    crgw_req *r = b->r;
    if (!b->gone) {
        json_t *ind = json_object();
        for (size_t i = 0; i < N_IND; i++)
            if (b->n_ind[i])
                json_object_set_new(ind, indications[i], json_integer((json_int_t)b->n_ind[i]));
        json_t *s = json_pack("{s:{s:I,s:I,s:I,s:o,s:I,s:b,s:I}}", "summary", "items",
                              (json_int_t)b->n_items, "verdicts", (json_int_t)b->n_verdicts,
                              "errors", (json_int_t)b->n_errors, "indications", ind, "recognised",
                              (json_int_t)b->n_recognised, "complete", b->fatal_type == NULL, "ms",
                              (json_int_t)((crgw_now_us() - r->started_us) / 1000));
        char *t = json_dumps(s, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(s);
        put_line(b, t, strlen(t));
        free(t);
    }
    batch_free(b);
    crgw_req_stream_end(r);
}

/* A fatal error: a problem answer before the first answer byte, else an error line. */
static void batch_fail(batch *b)
{
    crgw_req *r = b->r;
    int status = fatal_status(b->fatal_type);
    json_t *extra = NULL;
    if (b->fatal_limit)
        extra = json_pack("{s:s,s:I}", "limit", b->fatal_limit, "max", (json_int_t)b->fatal_max);
    if (!crgw_req_stream_begun(r) && !b->gone) {
        const char *title = status == 400 ? "Bad batch body" : "Batch too large";
        char detail[sizeof(b->fatal)];
        memcpy(detail, b->fatal, sizeof(detail));
        const char *type = b->fatal_type; /* a static string */
        batch_free(b);
        crgw_req_problem(r, status, type, title, extra, "%s", detail);
        return;
    }
    json_t *o = crgw_problem_new(status, b->fatal_type, "Batch stopped", b->fatal);
    if (extra) {
        json_object_update(o, extra);
        json_decref(extra);
    }
    json_t *line = json_pack("{s:o}", "error", o);
    char *t = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    json_decref(line);
    put_line(b, t, strlen(t));
    free(t);
    batch_end(b);
}

/* Parses from `in` until an item is ready or `in` is empty; bytes parsed go back to the window.
 * Returns 1 (item), 0 (need more), -1 (fatal set). */
static int parse_some(batch *b)
{
    while (evbuffer_get_length(b->in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(b->in, -1, NULL, &v, 1) < 1)
            break;
        size_t taken = 0;
        int rv = crgw_batch_parser_feed(b->parser, v.iov_base, v.iov_len, &taken, &b->item);
        evbuffer_drain(b->in, taken);
        crgw_req_consume(b->r, taken);
        if (rv == 1)
            return 1;
        if (rv < 0) {
            const char *type = crgw_batch_parser_error_type(b->parser);
            int items = strcmp(type, "batch-too-many-items") == 0;
            set_fatal(b, type, crgw_batch_parser_error(b->parser),
                      items ? "verify_batch.max_items" : NULL,
                      items ? (size_t)b->conf->max_items : 0);
            return -1;
        }
    }
    if (!b->eof)
        return 0;
    int rv = crgw_batch_parser_finish(b->parser, &b->item);
    if (rv < 0) {
        set_fatal(b, crgw_batch_parser_error_type(b->parser), crgw_batch_parser_error(b->parser),
                  NULL, 0);
        return -1;
    }
    if (rv == 0)
        b->done_input = 1;
    return rv;
}

/* One step per loop turn. */
static void on_turn(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    batch *b = arg;
    if (b->pending)
        return; /* its answer schedules the next turn */
    if (b->gone) {
        batch_end(b);
        return;
    }
    if (b->blocked)
        return; /* ops->writable schedules the next turn */
    if (b->fatal_type) {
        batch_fail(b);
        return;
    }
    if (!b->have_item) {
        int rv = parse_some(b);
        if (rv < 0) {
            batch_fail(b);
            return;
        }
        if (rv == 0) {
            if (b->done_input)
                batch_end(b);
            return; /* more body to come: ops->body schedules */
        }
        b->have_item = 1;
    }
    if (b->item.error_type) {
        put_item_error(b, &b->item);
        crgw_batch_item_cleanup(&b->item);
        b->have_item = 0;
        schedule(b);
        return;
    }
    b->pending = 1;
    crgw_verify_submit(b->vp, b->item.report, b->item.report_len, on_verified, b);
}

/* ---- the streaming route's ops ---- */

static void on_body(crgw_req *r, void *ctx, const char *data, size_t len)
{
    (void)r;
    batch *b = ctx;
    b->received += len;
    if (b->received > b->conf->max_batch_bytes) {
        char msg[200];
        crgw_strfmt(msg, sizeof(msg),
                    "the batch body is larger than verify_batch.max_batch_bytes (%zu bytes)",
                    b->conf->max_batch_bytes);
        set_fatal(b, "batch-too-large", msg, "verify_batch.max_batch_bytes",
                  b->conf->max_batch_bytes);
    }
    if (!b->fatal_type)
        evbuffer_add(b->in, data, len); /* at most one window: not consumed yet */
    schedule(b);
}

static void on_end(crgw_req *r, void *ctx)
{
    (void)r;
    batch *b = ctx;
    b->eof = 1;
    schedule(b);
}

static void on_writable(crgw_req *r, void *ctx)
{
    (void)r;
    batch *b = ctx;
    b->blocked = 0;
    schedule(b);
}

static void on_closed(crgw_req *r, void *ctx)
{
    batch *b = ctx;
    CRGW_LOG(CRGW_LOG_INFO, r->conn_id, r->stream_id,
             "verify-batch: client gone after %zu items (%zu bytes received)", b->n_items,
             b->received);
    b->gone = 1;
    schedule(b); /* ends now, or once the pending verification answered */
}

static const crgw_stream_ops batch_ops = {
    .body = on_body, .end = on_end, .writable = on_writable, .closed = on_closed};

static void route_verify_batch(crgw_req *r)
{
    const crgw_verify_batch_conf *conf = conf_of(r->cfg);
    const char *cl = crgw_req_header(r, "content-length");
    if (cl && strtoull(cl, NULL, 10) > conf->max_batch_bytes) {
        crgw_req_problem(r, 413, "batch-too-large", "Batch too large",
                         json_pack("{s:s,s:I}", "limit", "verify_batch.max_batch_bytes", "max",
                                   (json_int_t)conf->max_batch_bytes),
                         "the batch body (%s bytes) is larger than verify_batch.max_batch_bytes "
                         "(%zu bytes)",
                         cl, conf->max_batch_bytes);
        return;
    }
    crgw_batch_limits lim = {.max_item = conf->max_item_bytes,
                             .max_items = (size_t)conf->max_items,
                             .max_item_name = "verify_batch.max_item_bytes",
                             .max_items_name = "verify_batch.max_items"};
    char err[200];
    crgw_batch_parser *p = crgw_batch_parser_new(r->content_type, &lim, err, sizeof(err));
    if (!p) {
        crgw_req_problem(r, 415, "unsupported-media-type", "Unsupported media type", NULL, "%s",
                         err);
        return;
    }
    crgw_verify_params *vp = crgw_verify_params_new(r, ROUTE_NAME);
    if (!vp) { /* answered (bad parameter, trust or audit unavailable) */
        crgw_batch_parser_free(p);
        return;
    }
    batch *b = xcalloc(1, sizeof(*b));
    b->r = r;
    b->conf = conf;
    b->vp = vp;
    b->parser = p;
    b->in = evbuffer_new();
    b->turn = evtimer_new(crgw_server_base(r->server), on_turn, b);
    crgw_assert(b->in && b->turn);
    crgw_req_stream_accept(r, b);
}

/* ---- the module ---- */

#define C crgw_verify_batch_conf
static const crgw_conf_field batch_fields[] = {
    {.name = "max_item_bytes",
     .type = CRGW_CONF_SIZE,
     .off = offsetof(C, max_item_bytes),
     .min = 256,
     .max = 64LL << 20,
     .def = 1LL << 20,
     .help = "largest report item: one NDJSON line, or one part with its headers (bytes)"},
    CRGW_CONF_INT_ROW(C, max_items, 1, 10000000, 100000, "most reports in one batch"),
    {.name = "max_batch_bytes",
     .type = CRGW_CONF_SIZE,
     .off = offsetof(C, max_batch_bytes),
     .min = 1024,
     .max = 1LL << 40,
     .def = 1LL << 30,
     .help = "largest batch body (bytes)"},
    {0},
};
#undef C

static const crgw_stream_route batch_routes[] = {
    {{"POST", "/v1/reports/verify-batch", CRGW_ROLE_VERIFIER, route_verify_batch, ROUTE_NAME},
     &batch_ops},
    {{0}, NULL},
};

const crgw_module crgw_verify_batch_module = {
    .name = "verify_batch",
    .stream_routes = batch_routes,
    .section = "verify_batch",
    .fields = batch_fields,
    .conf_size = sizeof(crgw_verify_batch_conf),
};
