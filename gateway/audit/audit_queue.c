/* audit_queue: the audit log's chunked queue (audit_queue.h). */
#include "gateway/audit/audit_queue.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"

#define CHUNK_BYTES (64 << 10) /* the queue's unit of memory */
#define FREE_CHUNKS 8          /* emptied chunks kept for reuse */

struct audit_chunk {
    audit_chunk *next;
    size_t used, cap; /* bytes of data */
    _Alignas(8) char data[];
};

/* A record in a chunk: this header, the text, a NUL, padded to 8 bytes. */
typedef struct {
    const char *kind;
    int64_t time_ms;
    size_t len;
} rec;

static size_t rec_size(size_t len)
{
    return (sizeof(rec) + len + 1 + 7) & ~(size_t)7;
}

/* Room for a record of size sz at the queue's end: the last chunk, a spare one, or a new one
 * (of the record's size when it is larger than a chunk). */
static audit_chunk *room_for(audit_queue *q, size_t sz)
{
    if (q->tail && q->tail->cap - q->tail->used >= sz)
        return q->tail;
    audit_chunk *c;
    if (sz <= CHUNK_BYTES && q->spare) {
        c = q->spare;
        q->spare = c->next;
        q->n_spare--;
    } else {
        size_t cap = sz > CHUNK_BYTES ? sz : CHUNK_BYTES;
        c = xmalloc(sizeof(*c) + cap);
        c->cap = cap;
    }
    c->next = NULL;
    c->used = 0;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    return c;
}

void audit_queue_push(audit_queue *q, const char *kind, int64_t time_ms, const char *text,
                      size_t len)
{
    size_t sz = rec_size(len);
    audit_chunk *c = room_for(q, sz);
    rec *r = (rec *)(c->data + c->used);
    r->time_ms = time_ms;
    r->len = len;
    r->kind = kind;
    memcpy(r + 1, text, len);
    ((char *)(r + 1))[len] = '\0';
    c->used += sz;
    q->len++;
}

audit_chunk *audit_queue_take(audit_queue *q)
{
    audit_chunk *list = q->head;
    q->head = q->tail = NULL;
    q->len = 0;
    return list;
}

int audit_queue_next(const audit_chunk **it, size_t *off, audit_record *out)
{
    while (*it && *off >= (*it)->used) {
        *it = (*it)->next;
        *off = 0;
    }
    if (!*it)
        return 0;
    const rec *r = (const rec *)((*it)->data + *off);
    out->kind = r->kind;
    out->time_ms = r->time_ms;
    out->text = (const char *)(r + 1);
    out->len = r->len;
    *off += rec_size(r->len);
    return 1;
}

static void free_list(audit_chunk *c)
{
    while (c) {
        audit_chunk *next = c->next;
        free(c);
        c = next;
    }
}

void audit_queue_recycle(audit_queue *q, audit_chunk *list)
{
    while (list) {
        audit_chunk *c = list;
        list = c->next;
        if (q->n_spare < FREE_CHUNKS && c->cap == CHUNK_BYTES) {
            c->next = q->spare;
            q->spare = c;
            q->n_spare++;
        } else {
            free(c);
        }
    }
}

void audit_queue_cleanup(audit_queue *q)
{
    free_list(q->head);
    free_list(q->spare);
    memset(q, 0, sizeof(*q));
}
