/*
 * audit_queue: the queue between the threads that add audit entries and the writer
 * (gateway/audit/README.md, Writing), private to gateway/audit/. A list of 64 KiB chunks
 * holding records back to back; adding copies into the last chunk (no allocation per entry:
 * emptied chunks are kept for reuse), the writer takes the whole list at once and reads the
 * records in place. Not locked by itself: the audit module calls it under its mutex (except
 * audit_queue_next on a list already taken).
 */
#ifndef CRGW_AUDIT_QUEUE_H
#define CRGW_AUDIT_QUEUE_H

#include <stddef.h>
#include <stdint.h>

typedef struct audit_chunk audit_chunk;

typedef struct {
    audit_chunk *head, *tail;
    audit_chunk *spare; /* emptied chunks kept for reuse */
    size_t n_spare;
    size_t len; /* records queued */
} audit_queue;

/* One record: its kind (a static name, kept as the pointer), time and text. */
typedef struct {
    const char *kind;
    const char *text; /* NUL-terminated */
    size_t len;
    int64_t time_ms;
} audit_record;

/* Appends a record with a copy of text[0..len) (len < 2^32); kind must outlive the queue. */
void audit_queue_push(audit_queue *q, const char *kind, int64_t time_ms, const char *text,
                      size_t len);

/* Takes every record queued, in order (NULL when none); the queue is empty after. */
audit_chunk *audit_queue_take(audit_queue *q);

/* The next record of a taken list: *it starts as the list, *off as 0. 1, or 0 at the end. */
int audit_queue_next(const audit_chunk **it, size_t *off, audit_record *out);

/* Gives a taken list back once its records are written (kept for reuse or freed). */
void audit_queue_recycle(audit_queue *q, audit_chunk *list);

/* Frees everything the queue holds. */
void audit_queue_cleanup(audit_queue *q);

#endif
