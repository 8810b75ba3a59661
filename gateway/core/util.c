#include "gateway/core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(size_t n, const char *file, int line)
{
    fprintf(stderr, "crgw: fatal: out of memory allocating %zu bytes at %s:%d\n", n, file, line);
    abort();
}

void *crgw_xmalloc_at(size_t n, const char *file, int line)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom(n, file, line);
    return p;
}

void *crgw_xcalloc_at(size_t n, size_t m, const char *file, int line)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (p == NULL)
        oom(n * m, file, line);
    return p;
}

void *crgw_xrealloc_at(void *p, size_t n, const char *file, int line)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom(n, file, line);
    return q;
}

char *crgw_xstrdup_at(const char *s, const char *file, int line)
{
    size_t n = strlen(s);
    char *p = crgw_xmalloc_at(n + 1, file, line);
    memcpy(p, s, n + 1);
    return p;
}

char *crgw_xstrndup_at(const char *s, size_t n, const char *file, int line)
{
    char *p = crgw_xmalloc_at(n + 1, file, line);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void crgw_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "crgw: assertion failed: %s at %s:%d\n", expr, file, line);
    abort();
}

void crgw_buf_init(crgw_buf *b, size_t limit)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->limit = limit;
}

void crgw_buf_cleanup(crgw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void crgw_buf_reset(crgw_buf *b)
{
    b->len = 0;
}

static int buf_reserve(crgw_buf *b, size_t extra)
{
    if (extra > b->limit || b->len > b->limit - extra)
        return CRGW_ERR_TOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    return 0;
}

int crgw_buf_reserve(crgw_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

int crgw_buf_add(crgw_buf *b, const void *p, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return CRGW_ERR_TOOBIG;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int crgw_buf_adds(crgw_buf *b, const char *s)
{
    return crgw_buf_add(b, s, strlen(s));
}

int crgw_buf_printf(crgw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return CRGW_ERR_TOOBIG;
    if (buf_reserve(b, (size_t)n) != 0)
        return CRGW_ERR_TOOBIG;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

void crgw_strfmt(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, cap, fmt, ap);
    va_end(ap);
}

size_t crgw_decimal(long long v, char out[21])
{
    char tmp[20];
    size_t n = 0, k = 0;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u > 0);
    if (v < 0)
        out[k++] = '-';
    while (n > 0)
        out[k++] = tmp[--n];
    out[k] = '\0';
    return k;
}

char *crgw_buf_take(crgw_buf *b, size_t *len)
{
    if (b->data == NULL) {
        b->data = xmalloc(1);
        b->data[0] = '\0';
    }
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int crgw_read_file(const char *path, size_t limit, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return CRGW_ERR_IO;
    crgw_buf b;
    crgw_buf_init(&b, limit);
    char chunk[16384];
    size_t n;
    int rc = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (crgw_buf_add(&b, chunk, n) != 0) {
            rc = CRGW_ERR_TOOBIG;
            goto out;
        }
    }
    if (ferror(f)) {
        rc = CRGW_ERR_IO;
        goto out;
    }
    *out = crgw_buf_take(&b, len);
out:
    if (rc != 0) {
        int e = errno;
        crgw_buf_cleanup(&b);
        errno = e;
    }
    fclose(f);
    return rc;
}

uint64_t crgw_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t crgw_wall_s(void)
{
    return (int64_t)time(NULL);
}
