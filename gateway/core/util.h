/*
 * util: allocation that aborts on failure, bounded byte buffers, file reading, clocks.
 *
 * Service code treats allocation failure as fatal (STYLE.md rule 6); parsers of untrusted input
 * bound their buffers with crgw_buf limits and return errors instead.
 */
#ifndef CRGW_UTIL_H
#define CRGW_UTIL_H

#include "gateway/core/err.h"

#include <stddef.h>
#include <stdint.h>

#define CRGW_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *crgw_xmalloc_at(size_t n, const char *file, int line);
void *crgw_xcalloc_at(size_t n, size_t m, const char *file, int line);
void *crgw_xrealloc_at(void *p, size_t n, const char *file, int line);
char *crgw_xstrdup_at(const char *s, const char *file, int line);
char *crgw_xstrndup_at(const char *s, size_t n, const char *file, int line);

#define xmalloc(n) crgw_xmalloc_at((n), __FILE__, __LINE__)
#define xcalloc(n, m) crgw_xcalloc_at((n), (m), __FILE__, __LINE__)
#define xrealloc(p, n) crgw_xrealloc_at((p), (n), __FILE__, __LINE__)
#define xstrdup(s) crgw_xstrdup_at((s), __FILE__, __LINE__)
#define xstrndup(s, n) crgw_xstrndup_at((s), (n), __FILE__, __LINE__)

/* Always-on assertion (redis serverAssert): logs file:line and aborts. */
#define crgw_assert(e) ((e) ? (void)0 : crgw_assert_fail(#e, __FILE__, __LINE__))
void crgw_assert_fail(const char *expr, const char *file, int line) __attribute__((noreturn));

/* A growable byte buffer with a hard limit fixed at creation (curl dynbuf). */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    size_t limit;
} crgw_buf;

void crgw_buf_init(crgw_buf *b, size_t limit);
void crgw_buf_cleanup(crgw_buf *b);
void crgw_buf_reset(crgw_buf *b);
/* Returns 0, or CRGW_ERR_TOOBIG when the limit would be exceeded (buffer unchanged). */
int crgw_buf_add(crgw_buf *b, const void *p, size_t n);
/* Room for extra more bytes in one allocation (a declared length); CRGW_ERR_TOOBIG past the limit.
 */
int crgw_buf_reserve(crgw_buf *b, size_t extra);
int crgw_buf_adds(crgw_buf *b, const char *s);
int crgw_buf_printf(crgw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NUL-terminates (not counted in len) and hands the storage to the caller; b is reset. */
char *crgw_buf_take(crgw_buf *b, size_t *len);

/*
 * snprintf into out (cap bytes, always NUL-terminated when cap > 0), silently truncated: for
 * paths and messages whose bound is part of their contract.
 */
void crgw_strfmt(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The decimal digits of v (a '-' first when negative) into out, NUL-terminated; returns their
 * count. Without printf: for numbers formatted on hot paths. */
size_t crgw_decimal(long long v, char out[21]);

/*
 * Reads a whole file into a NUL-terminated heap buffer (not counted in *len).
 * Returns 0, CRGW_ERR_IO (errno set), or CRGW_ERR_TOOBIG when the file is larger than limit.
 */
int crgw_read_file(const char *path, size_t limit, char **out, size_t *len);

/* Monotonic and wall clocks. */
uint64_t crgw_now_us(void);
int64_t crgw_wall_s(void);

#endif
