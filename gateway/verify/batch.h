/*
 * batch: the push parsers of POST /v1/reports/verify-batch bodies, fed in chunks cut anywhere.
 *
 * NDJSON (application/x-ndjson, also application/ndjson): one JSON object per line ("\n" or
 * "\r\n"; blank lines are skipped):
 *   {"name": "bidder-17.xml", "report": "<the report exactly as issued>", "encoding": "base64"}
 * "report" is required (a string: the XML, flattened JWS JSON or compact JWS; with "encoding":
 * "base64" its standard base64, whitespace allowed); "name" is optional (default "item-N");
 * other keys are ignored.
 *
 * multipart/form-data (RFC 7578; boundary from the content type): one part per report, its
 * Content-Disposition filename (else its name) is the item's name, its content the report.
 * Preamble and epilogue are ignored; a body that ends before the closing boundary is a framing
 * error.
 *
 * Bounds: an item (a line, or a part with its headers) over max_item bytes is an error item
 * (its bytes are skipped up to the next line or boundary, the batch goes on); more than
 * max_items items is fatal (the batch stops). The parser holds at most one item (max_item
 * plus the delimiter), whatever the size of the body.
 */
#ifndef CRGW_BATCH_H
#define CRGW_BATCH_H

#include <stddef.h>

typedef struct {
    size_t max_item;            /* bytes of one item */
    size_t max_items;           /* items per batch */
    const char *max_item_name;  /* the names of the limits in messages, e.g. */
    const char *max_items_name; /* "verify_batch.max_item_bytes" */
} crgw_batch_limits;

/* One item of the batch. A good one has report; a bad one error_type and error (report NULL). */
typedef struct {
    size_t index; /* 0-based position in the batch */
    char *name;   /* never NULL */
    char *report; /* NUL-terminated (not counted) */
    size_t report_len;
    const char *error_type; /* problem slug: item-too-large, bad-item, empty-item */
    char *error;            /* what is wrong, for people */
} crgw_batch_item;

void crgw_batch_item_cleanup(crgw_batch_item *it);

typedef struct crgw_batch_parser crgw_batch_parser;

/*
 * A parser for a body of this content type; NULL with a message in err (errlen bytes) when the
 * type is neither NDJSON nor multipart/form-data with a valid boundary (1..70 characters).
 */
crgw_batch_parser *crgw_batch_parser_new(const char *content_type, const crgw_batch_limits *lim,
                                         char *err, size_t errlen);
void crgw_batch_parser_free(crgw_batch_parser *p);

/*
 * Takes bytes of data[0..len) until an item is complete. *taken: bytes taken (copied into the
 * item being read or skipped: the caller may give them back to the sender's window). Returns 1
 * with *item (clean it up), 0 when everything was taken and no item is complete yet, -1 on a
 * fatal error (crgw_batch_parser_error; nothing more is taken).
 */
int crgw_batch_parser_feed(crgw_batch_parser *p, const char *data, size_t len, size_t *taken,
                           crgw_batch_item *item);
/* The body ended: 1 with a last item (a final line without its newline), 0 when complete, -1
 * on a fatal error (multipart body without its closing boundary). Call until it returns <= 0. */
int crgw_batch_parser_finish(crgw_batch_parser *p, crgw_batch_item *item);
/* The fatal error's message and problem slug (batch-too-many-items, bad-framing), or NULL. */
const char *crgw_batch_parser_error(const crgw_batch_parser *p);
const char *crgw_batch_parser_error_type(const crgw_batch_parser *p);
/* Items returned so far. */
size_t crgw_batch_parser_items(const crgw_batch_parser *p);
/* 1 for a multipart parser, 0 for NDJSON. */
int crgw_batch_parser_is_multipart(const crgw_batch_parser *p);

#endif
