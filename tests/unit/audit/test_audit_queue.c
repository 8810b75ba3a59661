/* gateway/audit/audit_queue: records come out as they went in, in order, across chunks, with
 * chunks reused after a take and a record larger than a chunk in one of its own. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/audit/audit_queue.h"

static const char *const kinds[] = {"a", "b", "c", "d", "e", "f"};

/* Pushes records first..first+n-1 ("{"i":K,...}" padded with K % 300 x's, or big for one). */
static void push_range(audit_queue *q, int first, int n, int big_at, size_t big)
{
    char *buf = malloc((big > 300 ? big : 300) + 64);
    cr_assert_not_null(buf);
    for (int i = first; i < first + n; i++) {
        size_t fill = i == big_at ? big : (size_t)(i % 300);
        int h = snprintf(buf, 64, "{\"i\":%d,\"x\":\"", i);
        memset(buf + h, 'x', fill);
        memcpy(buf + h + fill, "\"}", 2);
        audit_queue_push(q, kinds[i % 6], 1000 + i, buf, (size_t)h + fill + 2);
    }
    free(buf);
}

/* Reads a taken list back: records first..first+n-1, each exactly as pushed. */
static void check_range(const audit_chunk *list, int first, int n, int big_at, size_t big)
{
    size_t off = 0;
    audit_record r;
    int i = first;
    while (audit_queue_next(&list, &off, &r)) {
        cr_assert_lt(i, first + n, "a record past the last pushed");
        size_t fill = i == big_at ? big : (size_t)(i % 300);
        char head[64];
        int h = snprintf(head, sizeof(head), "{\"i\":%d,\"x\":\"", i);
        cr_assert_eq(r.kind, kinds[i % 6], "the kind's pointer kept");
        cr_assert_eq(r.time_ms, 1000 + i);
        cr_assert_eq(r.len, (size_t)h + fill + 2, "record %d", i);
        cr_assert_eq(strlen(r.text), r.len, "NUL-terminated");
        cr_assert_eq(memcmp(r.text, head, (size_t)h), 0, "record %d in its place", i);
        cr_assert_eq(strspn(r.text + h, "x"), fill);
        cr_assert_str_eq(r.text + h + fill, "\"}");
        i++;
    }
    cr_assert_eq(i, first + n, "%d records read", i - first);
}

Test(audit_queue, order_across_chunks_reuse_and_a_big_record)
{
    audit_queue q = {0};
    cr_assert_null(audit_queue_take(&q), "empty");
    push_range(&q, 0, 2000, 777, 200000); /* ~500 KiB and one of 200 KB: many chunks */
    cr_assert_eq(q.len, 2000);
    audit_chunk *list = audit_queue_take(&q);
    cr_assert_eq(q.len, 0);
    cr_assert_null(q.head);
    /* adding while the writer holds a taken list goes to new chunks */
    push_range(&q, 2000, 10, -1, 0);
    check_range(list, 0, 2000, 777, 200000);
    audit_queue_recycle(&q, list);
    cr_assert_gt(q.n_spare, 0);
    cr_assert_leq(q.n_spare, 8, "at most 8 chunks kept");
    size_t spare = q.n_spare;
    push_range(&q, 2010, 3000, -1, 0); /* reuses the kept chunks */
    cr_assert_lt(q.n_spare, spare);
    list = audit_queue_take(&q);
    const audit_chunk *it = list;
    size_t off = 0;
    audit_record r;
    cr_assert(audit_queue_next(&it, &off, &r));
    check_range(list, 2000, 3010, -1, 0);
    audit_queue_recycle(&q, list);
    audit_queue_cleanup(&q);
    cr_assert_null(q.spare);
}
