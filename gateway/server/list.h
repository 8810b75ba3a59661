/*
 * list: intrusive doubly linked lists for the server's records (conn.c's connections and
 * streams, peer_client.c's requests). An element has `prev` and `next` members; a list is a
 * head pointer, with or without a tail pointer. The macros evaluate their arguments more than
 * once: pass plain lvalues.
 */
#ifndef CRGW_LIST_H
#define CRGW_LIST_H

/* Puts e at the end of the list head..tail. */
#define CRGW_LIST_APPEND(head, tail, e)                                                            \
    do {                                                                                           \
        (e)->prev = (tail);                                                                        \
        (e)->next = NULL;                                                                          \
        if (tail)                                                                                  \
            (tail)->next = (e);                                                                    \
        else                                                                                       \
            (head) = (e);                                                                          \
        (tail) = (e);                                                                              \
    } while (0)

/* Puts e at the front of a list that has a head only. */
#define CRGW_LIST_PUSH(head, e)                                                                    \
    do {                                                                                           \
        (e)->prev = NULL;                                                                          \
        (e)->next = (head);                                                                        \
        if (head)                                                                                  \
            (head)->prev = (e);                                                                    \
        (head) = (e);                                                                              \
    } while (0)

/* Takes e out of a list that has a head only; e's links become NULL. */
#define CRGW_LIST_UNLINK(head, e)                                                                  \
    do {                                                                                           \
        if ((e)->prev)                                                                             \
            (e)->prev->next = (e)->next;                                                           \
        else                                                                                       \
            (head) = (e)->next;                                                                    \
        if ((e)->next)                                                                             \
            (e)->next->prev = (e)->prev;                                                           \
        (e)->prev = (e)->next = NULL;                                                              \
    } while (0)

/* Takes e out of the list head..tail; e's links become NULL. */
#define CRGW_LIST_REMOVE(head, tail, e)                                                            \
    do {                                                                                           \
        if ((e)->next == NULL)                                                                     \
            (tail) = (e)->prev;                                                                    \
        CRGW_LIST_UNLINK(head, e);                                                                 \
    } while (0)

#endif
