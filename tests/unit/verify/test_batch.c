/*
 * The verify-batch body parsers (gateway/verify/batch.h): NDJSON and multipart/form-data fed
 * in chunks cut at every position, bad framing, bad items, and the limits.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/verify/batch.h"

#define MAXOUT 64

typedef struct {
    char *items[MAXOUT]; /* "index|name|report" or "index|name|!type: error" */
    size_t n;
    int fatal;
    char fatal_type[40];
    char fatal_msg[300];
} outcome;

static void outcome_free(outcome *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->items[i]);
    o->n = 0;
}

static void record(outcome *o, crgw_batch_item *it)
{
    cr_assert(o->n < MAXOUT);
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    crgw_buf_printf(&b, "%zu|%s|", it->index, it->name);
    if (it->error_type)
        crgw_buf_printf(&b, "!%s: %s", it->error_type, it->error);
    else
        crgw_buf_add(&b, it->report, it->report_len);
    o->items[o->n++] = crgw_buf_take(&b, NULL);
    crgw_batch_item_cleanup(it);
}

static crgw_batch_limits lim(size_t max_item, size_t max_items)
{
    crgw_batch_limits l = {.max_item = max_item,
                           .max_items = max_items,
                           .max_item_name = "verify_batch.max_item_bytes",
                           .max_items_name = "verify_batch.max_items"};
    return l;
}

/* Feeds body in pieces of the sizes in cuts (cycled; 0-terminated), then finishes. */
static void run(const char *ctype, crgw_batch_limits l, const char *body, size_t len,
                const size_t *cuts, outcome *o)
{
    memset(o, 0, sizeof(*o));
    char err[200];
    crgw_batch_parser *p = crgw_batch_parser_new(ctype, &l, err, sizeof(err));
    cr_assert(p != NULL, "parser for %s: %s", ctype, err);
    size_t off = 0, k = 0;
    int rv = 0;
    while (off < len && rv >= 0) {
        size_t n = cuts[k] ? cuts[k] : len;
        k = cuts[k + 1] ? k + 1 : 0;
        if (n > len - off)
            n = len - off;
        /* a chunk may hold several items: feed until it is all taken */
        size_t done = 0;
        while (done < n) {
            size_t taken = 0;
            crgw_batch_item it;
            rv = crgw_batch_parser_feed(p, body + off + done, n - done, &taken, &it);
            cr_assert(taken <= n - done);
            done += taken;
            if (rv == 1)
                record(o, &it);
            else if (rv < 0)
                break;
            else
                cr_assert_eq(done, n, "0 returned with bytes left");
        }
        off += n;
    }
    if (rv >= 0) {
        crgw_batch_item it;
        while ((rv = crgw_batch_parser_finish(p, &it)) == 1)
            record(o, &it);
    }
    if (rv < 0) {
        o->fatal = 1;
        snprintf(o->fatal_type, sizeof(o->fatal_type), "%s", crgw_batch_parser_error_type(p));
        snprintf(o->fatal_msg, sizeof(o->fatal_msg), "%s", crgw_batch_parser_error(p));
    }
    crgw_batch_parser_free(p);
}

/* The outcome with one piece, then the same for every single cut position and for 1-byte
 * pieces: chunk boundaries anywhere give the same items. */
static void run_all_cuts(const char *ctype, crgw_batch_limits l, const char *body, outcome *ref)
{
    size_t len = strlen(body);
    size_t whole[] = {0, 0};
    run(ctype, l, body, len, whole, ref);
    size_t ones[] = {1, 0};
    outcome o;
    run(ctype, l, body, len, ones, &o);
    cr_assert_eq(o.n, ref->n, "1-byte pieces: %zu items, whole: %zu", o.n, ref->n);
    for (size_t i = 0; i < o.n; i++)
        cr_assert_str_eq(o.items[i], ref->items[i], "1-byte pieces, item %zu", i);
    cr_assert_eq(o.fatal, ref->fatal);
    outcome_free(&o);
    for (size_t cut = 1; cut < len; cut++) {
        size_t c2[] = {cut, len, 0};
        run(ctype, l, body, len, c2, &o);
        cr_assert_eq(o.n, ref->n, "cut at %zu: %zu items, want %zu", cut, o.n, ref->n);
        for (size_t i = 0; i < o.n; i++)
            cr_assert_str_eq(o.items[i], ref->items[i], "cut at %zu, item %zu", cut, i);
        cr_assert_eq(o.fatal, ref->fatal, "cut at %zu", cut);
        outcome_free(&o);
    }
}

Test(batch_ndjson, items_at_every_cut)
{
    const char *body = "{\"name\":\"a.xml\",\"report\":\"<r>1</r>\"}\n"
                       "\r\n"
                       "{\"report\":\"eyJhIjoxfQ\",\"name\":\"b.jws\"}\r\n"
                       "  \n"
                       "{\"report\":\"PHI+Mzwvcj4=\",\"encoding\":\"base64\"}\n"
                       "{\"report\":\"<r>\\\"4\\\"\\n</r>\",\"extra\":[1,2]}";
    outcome o;
    run_all_cuts("application/x-ndjson", lim(1000, 100), body, &o);
    cr_assert_eq(o.n, 4);
    cr_assert_str_eq(o.items[0], "0|a.xml|<r>1</r>");
    cr_assert_str_eq(o.items[1], "1|b.jws|eyJhIjoxfQ");
    cr_assert_str_eq(o.items[2], "2|item-2|<r>3</r>");
    cr_assert_str_eq(o.items[3], "3|item-3|<r>\"4\"\n</r>");
    cr_assert(!o.fatal);
    outcome_free(&o);
}

Test(batch_ndjson, bad_items_name_what_is_wrong_and_the_batch_goes_on)
{
    const char *body = "{\"name\":\"x\",\"report\":\"<r/>\"\n"          /* not JSON */
                       "[1,2]\n"                                        /* not an object */
                       "{\"name\":\"m\"}\n"                             /* no report */
                       "{\"name\":7,\"report\":\"<r/>\"}\n"             /* name not a string */
                       "{\"report\":\"%%%\",\"encoding\":\"base64\"}\n" /* bad base64 */
                       "{\"report\":\"<r/>\",\"encoding\":\"gzip\"}\n"  /* bad encoding */
                       "{\"report\":\"\",\"name\":\"e\"}\n"             /* empty */
                       "{\"report\":\"<r/>\",\"report\":\"<s/>\"}\n"    /* duplicate key */
                       "{\"report\":\"<ok/>\",\"name\":\"last\"}\n";
    outcome o;
    run_all_cuts("application/ndjson; charset=utf-8", lim(1000, 100), body, &o);
    cr_assert_eq(o.n, 9);
    cr_assert(strstr(o.items[0], "0|item-0|!bad-item: item 0: not JSON") == o.items[0], "%s",
              o.items[0]);
    cr_assert(strstr(o.items[1], "must be a JSON object"), "%s", o.items[1]);
    cr_assert(strstr(o.items[2], "2|m|!bad-item: item 2: \"report\""), "%s", o.items[2]);
    cr_assert(strstr(o.items[2], "missing"), "%s", o.items[2]);
    cr_assert(strstr(o.items[3], "\"name\" must be a string"), "%s", o.items[3]);
    cr_assert(strstr(o.items[4], "not valid base64"), "%s", o.items[4]);
    cr_assert(strstr(o.items[5], "\"encoding\" must be \"base64\""), "%s", o.items[5]);
    cr_assert(strstr(o.items[6], "6|e|!empty-item"), "%s", o.items[6]);
    cr_assert(strstr(o.items[7], "!bad-item: item 7: not JSON"), "%s", o.items[7]);
    cr_assert_str_eq(o.items[8], "8|last|<ok/>");
    cr_assert(!o.fatal);
    outcome_free(&o);
}

Test(batch_ndjson, too_large_item_is_skipped_to_the_next_line)
{
    char body[600];
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(body, sizeof(body),
             "{\"report\":\"<a/>\"}\n{\"name\":\"big\",\"report\":\"%s\"}\n{\"report\":\"<c/>\"}\n"
             "{\"report\":\"%.60s\"}",
             big, big);
    outcome o;
    /* max item 100: the 2nd line (319 bytes) is too large; the last (77) is not */
    run_all_cuts("application/x-ndjson", lim(100, 100), body, &o);
    cr_assert_eq(o.n, 4);
    cr_assert_str_eq(o.items[0], "0|item-0|<a/>");
    cr_assert(strstr(o.items[1], "1|item-1|!item-too-large: item 1 is larger than "
                                 "verify_batch.max_item_bytes (100 bytes)") == o.items[1],
              "%s", o.items[1]);
    cr_assert_str_eq(o.items[2], "2|item-2|<c/>");
    cr_assert(strncmp(o.items[3], "3|item-3|xxxx", 13) == 0, "%s", o.items[3]);
    outcome_free(&o);

    /* a line of exactly max_item bytes (with its \r) passes, one more byte does not */
    const char *exact = "{\"report\":\"<12345/>\"}\r\n"; /* 21 + \r */
    run_all_cuts("application/x-ndjson", lim(22, 10), exact, &o);
    cr_assert_eq(o.n, 1);
    cr_assert_str_eq(o.items[0], "0|item-0|<12345/>");
    outcome_free(&o);
    run_all_cuts("application/x-ndjson", lim(21, 10), exact, &o);
    cr_assert_eq(o.n, 1);
    cr_assert(strstr(o.items[0], "!item-too-large"), "%s", o.items[0]);
    outcome_free(&o);
    /* a too-large last line without a newline is reported once */
    run_all_cuts("application/x-ndjson", lim(10, 10), "{\"report\":\"<12345/>\"}", &o);
    cr_assert_eq(o.n, 1);
    cr_assert(strstr(o.items[0], "!item-too-large"), "%s", o.items[0]);
    outcome_free(&o);
}

Test(batch_ndjson, max_items_is_fatal)
{
    const char *body = "{\"report\":\"<a/>\"}\n{\"report\":\"<b/>\"}\n{\"report\":\"<c/>\"}\n";
    outcome o;
    run_all_cuts("application/x-ndjson", lim(100, 2), body, &o);
    cr_assert_eq(o.n, 2);
    cr_assert(o.fatal);
    cr_assert_str_eq(o.fatal_type, "batch-too-many-items");
    cr_assert_str_eq(o.fatal_msg, "the batch has more than verify_batch.max_items (2) reports");
    outcome_free(&o);
    /* exactly max_items: fine */
    run_all_cuts("application/x-ndjson", lim(100, 3), body, &o);
    cr_assert_eq(o.n, 3);
    cr_assert(!o.fatal);
    outcome_free(&o);
}

#define MP "multipart/form-data; boundary=XbOuNd42"

Test(batch_multipart, parts_at_every_cut)
{
    const char *body = "preamble to ignore\r\n"
                       "--XbOuNd42\r\n"
                       "Content-Disposition: form-data; name=\"reports\"; filename=\"a.xml\"\r\n"
                       "Content-Type: application/xml\r\n"
                       "\r\n"
                       "<r>1\r\n--XbOuNd4 not a boundary</r>\r\n"
                       "--XbOuNd42  \r\n" /* transport padding */
                       "content-disposition: form-data; name=\"second\"\r\n"
                       "\r\n"
                       "eyJhIjoxfQ.e30.c2ln\r\n"
                       "--XbOuNd42\r\n"
                       "Content-Disposition: form-data; name=\"f\"; filename=\"q\\\"uote.json\"\r\n"
                       "\r\n"
                       "{\"payload\":1}\r\n"
                       "--XbOuNd42--\r\n"
                       "epilogue --XbOuNd42\r\n";
    outcome o;
    run_all_cuts(MP, lim(1000, 100), body, &o);
    cr_assert(!o.fatal, "%s", o.fatal_msg);
    cr_assert_eq(o.n, 3);
    cr_assert_str_eq(o.items[0], "0|a.xml|<r>1\r\n--XbOuNd4 not a boundary</r>");
    cr_assert_str_eq(o.items[1], "1|second|eyJhIjoxfQ.e30.c2ln");
    cr_assert_str_eq(o.items[2], "2|q\"uote.json|{\"payload\":1}");
    outcome_free(&o);
    /* a quoted boundary, no preamble */
    run_all_cuts("multipart/form-data; charset=x; boundary=\"a b\"", lim(1000, 100),
                 "--a b\r\nContent-Disposition: form-data; filename=x\r\n\r\n<x/>\r\n--a b--", &o);
    cr_assert(!o.fatal, "%s", o.fatal_msg);
    cr_assert_eq(o.n, 1);
    cr_assert_str_eq(o.items[0], "0|x|<x/>");
    outcome_free(&o);
}

Test(batch_multipart, bad_framing)
{
    outcome o;
    const char *unclosed = "--XbOuNd42\r\nContent-Disposition: form-data; filename=a\r\n\r\n"
                           "<a/>\r\n--XbOuNd42\r\nContent-Disposition: form-data; filename=b\r\n"
                           "\r\n<b/>";
    run_all_cuts(MP, lim(1000, 100), unclosed, &o);
    cr_assert_eq(o.n, 1);
    cr_assert(o.fatal);
    cr_assert_str_eq(o.fatal_type, "bad-framing");
    cr_assert(strstr(o.fatal_msg, "closing multipart boundary"), "%s", o.fatal_msg);
    outcome_free(&o);

    run_all_cuts(MP, lim(1000, 100), "no boundary at all", &o);
    cr_assert_eq(o.n, 0);
    cr_assert(o.fatal);
    cr_assert(strstr(o.fatal_msg, "no multipart boundary"), "%s", o.fatal_msg);
    outcome_free(&o);

    run_all_cuts(MP, lim(1000, 100), "--XbOuNd42xx\r\n\r\n<a/>\r\n--XbOuNd42--", &o);
    cr_assert(o.fatal);
    cr_assert(strstr(o.fatal_msg, "followed by CRLF"), "%s", o.fatal_msg);
    outcome_free(&o);

    /* a preamble longer than an item without any boundary */
    char big[400];
    memset(big, 'p', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    run_all_cuts(MP, lim(100, 100), big, &o);
    cr_assert(o.fatal);
    cr_assert_str_eq(o.fatal_type, "bad-framing");
    outcome_free(&o);

    char err[200];
    crgw_batch_limits l = lim(100, 10);
    cr_assert_null(crgw_batch_parser_new("multipart/form-data", &l, err, sizeof(err)));
    cr_assert(strstr(err, "boundary"), "%s", err);
    cr_assert_null(crgw_batch_parser_new("multipart/form-data; boundary=", &l, err, sizeof(err)));
    char longb[120];
    snprintf(longb, sizeof(longb), "multipart/form-data; boundary=%080d", 7);
    cr_assert_null(crgw_batch_parser_new(longb, &l, err, sizeof(err)));
    cr_assert_null(crgw_batch_parser_new("application/xml", &l, err, sizeof(err)));
    cr_assert(strstr(err, "application/x-ndjson or multipart/form-data"), "%s", err);
    cr_assert(strstr(err, "application/xml"), "%s", err);
    cr_assert_null(crgw_batch_parser_new(NULL, &l, err, sizeof(err)));
}

Test(batch_multipart, bad_parts_and_limits)
{
    char big[300];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    char body[1200];
    snprintf(body, sizeof(body),
             "--XbOuNd42\r\nContent-Type: text/plain\r\n\r\n<nocd/>\r\n"
             "--XbOuNd42\r\nContent-Disposition: form-data; filename=\"empty.xml\"\r\n\r\n\r\n"
             "--XbOuNd42\r\nContent-Disposition: form-data; filename=\"big.xml\"\r\n\r\n%s\r\n"
             "--XbOuNd42\r\nContent-Disposition: form-data; filename=\"ok.xml\"\r\n\r\n<ok/>\r\n"
             "--XbOuNd42--",
             big);
    outcome o;
    run_all_cuts(MP, lim(200, 100), body, &o);
    cr_assert(!o.fatal, "%s", o.fatal_msg);
    cr_assert_eq(o.n, 4);
    cr_assert(strstr(o.items[0], "0|item-0|!bad-item: part 0: no Content-Disposition"), "%s",
              o.items[0]);
    cr_assert(strstr(o.items[1], "1|empty.xml|!empty-item"), "%s", o.items[1]);
    cr_assert(strstr(o.items[2], "2|big.xml|!item-too-large: part 2 is larger than "
                                 "verify_batch.max_item_bytes (200 bytes)"),
              "%s", o.items[2]);
    cr_assert_str_eq(o.items[3], "3|ok.xml|<ok/>");
    outcome_free(&o);

    run_all_cuts(MP, lim(200, 2), body, &o);
    cr_assert_eq(o.n, 2);
    cr_assert(o.fatal);
    cr_assert_str_eq(o.fatal_type, "batch-too-many-items");
    outcome_free(&o);
}

Test(batch_ndjson, memory_stays_within_one_item)
{
    /* 1 MiB of lines of 64 bytes fed in 4 KiB pieces: every item comes out, and the parser
     * never takes more than the piece it was given (it holds at most one item) */
    char line[65];
    memset(line, ' ', 64);
    memcpy(line, "{\"report\":\"<r/>\"}", 17);
    line[63] = '\n';
    line[64] = '\0';
    size_t n = (1u << 20) / 64;
    char *body = xmalloc(n * 64 + 1);
    for (size_t i = 0; i < n; i++)
        memcpy(body + i * 64, line, 64);
    body[n * 64] = '\0';
    crgw_batch_limits l = lim(64, n);
    char err[100];
    crgw_batch_parser *p = crgw_batch_parser_new("application/x-ndjson", &l, err, sizeof(err));
    size_t off = 0, items = 0;
    while (off < n * 64) {
        size_t piece = n * 64 - off < 4096 ? n * 64 - off : 4096, taken = 0;
        crgw_batch_item it;
        int rv = crgw_batch_parser_feed(p, body + off, piece, &taken, &it);
        cr_assert(rv >= 0);
        if (rv == 1) {
            cr_assert_null(it.error_type, "%s", it.error);
            cr_assert_str_eq(it.report, "<r/>");
            crgw_batch_item_cleanup(&it);
            items++;
        }
        off += taken;
    }
    crgw_batch_item it;
    cr_assert_eq(crgw_batch_parser_finish(p, &it), 0);
    cr_assert_eq(items, n);
    cr_assert_eq(crgw_batch_parser_items(p), n);
    crgw_batch_parser_free(p);
    free(body);
}
