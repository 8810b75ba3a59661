/*
 * batch: NDJSON and multipart/form-data push parsers (gateway/verify/batch.h).
 *
 * Both are one framer: bytes go into a buffer of max_item + delimiter bytes, searched for the
 * delimiter ("\n", or "\r\n--" + boundary with a virtual "\r\n" in front of the body so that the
 * first boundary needs no special case). An item that fills the buffer without a delimiter is
 * reported as too large at once and the framer skips to the next delimiter, keeping only the
 * delimiter's length minus one byte (a delimiter cut by the buffer's end is still found).
 */
#include "gateway/verify/batch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gateway/core/b64.h"
#include "gateway/core/util.h"

#define MAX_BOUNDARY 70 /* RFC 2046 */

enum {
    M_PREAMBLE, /* before the first boundary */
    M_PART,     /* collecting a part */
    M_AFTER,    /* after a boundary: "--" (close), transport padding, CRLF */
    M_DASH,     /* one '-' of the closing "--" seen */
    M_CR,       /* the CR of the boundary line's CRLF seen */
    M_END,      /* after the closing boundary: epilogue, ignored */
};

struct crgw_batch_parser {
    int multipart;
    crgw_batch_limits lim;
    char delim[MAX_BOUNDARY + 8];
    size_t dlen;
    char *buf;
    size_t len, cap;
    int discarding; /* the current item is too large (reported): skip to the delimiter */
    int state;      /* multipart: M_* */
    size_t index;   /* items returned */
    int fatal;
    const char *err_type;
    char err[300];
};

void crgw_batch_item_cleanup(crgw_batch_item *it)
{
    free(it->name);
    free(it->report);
    free(it->error);
    memset(it, 0, sizeof(*it));
}

/* The value of parameter name in a header value "type; a=b; name="v"" (quoted or token). */
static int header_param(const char *v, size_t vlen, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] != ';')
            continue;
        size_t j = i + 1;
        while (j < vlen && (v[j] == ' ' || v[j] == '\t'))
            j++;
        if (j + nl >= vlen || strncasecmp(v + j, name, nl) != 0 || v[j + nl] != '=')
            continue;
        j += nl + 1;
        size_t o = 0;
        if (j < vlen && v[j] == '"') {
            for (j++; j < vlen && v[j] != '"'; j++) {
                if (v[j] == '\\' && j + 1 < vlen)
                    j++;
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = v[j];
            }
            if (j >= vlen)
                return -1; /* unterminated quoted string */
        } else {
            for (; j < vlen && v[j] != ';' && v[j] != ' ' && v[j] != '\t'; j++) {
                if (o + 1 >= outlen)
                    return -1;
                out[o++] = v[j];
            }
        }
        out[o] = '\0';
        return o > 0 ? 0 : -1;
    }
    return -1;
}

crgw_batch_parser *crgw_batch_parser_new(const char *content_type, const crgw_batch_limits *lim,
                                         char *err, size_t errlen)
{
    const char *ct = content_type ? content_type : "";
    size_t tl = strcspn(ct, "; \t");
    int mp;
    if ((tl == 20 && strncasecmp(ct, "application/x-ndjson", tl) == 0) ||
        (tl == 18 && strncasecmp(ct, "application/ndjson", tl) == 0))
        mp = 0;
    else if (tl == 19 && strncasecmp(ct, "multipart/form-data", tl) == 0)
        mp = 1;
    else {
        crgw_strfmt(err, errlen,
                    "the content type must be application/x-ndjson or multipart/form-data, "
                    "not '%.80s'",
                    ct);
        return NULL;
    }
    crgw_batch_parser *p = xcalloc(1, sizeof(*p));
    p->multipart = mp;
    p->lim = *lim;
    if (!p->lim.max_item_name)
        p->lim.max_item_name = "max_item_bytes";
    if (!p->lim.max_items_name)
        p->lim.max_items_name = "max_items";
    if (mp) {
        char b[MAX_BOUNDARY + 2];
        if (header_param(ct + tl, strlen(ct + tl), "boundary", b, sizeof(b)) != 0 ||
            strlen(b) > MAX_BOUNDARY) {
            crgw_strfmt(err, errlen,
                        "multipart/form-data needs a boundary parameter of 1 to 70 characters");
            free(p);
            return NULL;
        }
        p->dlen = (size_t)snprintf(p->delim, sizeof(p->delim), "\r\n--%s", b);
        p->state = M_PREAMBLE;
    } else {
        p->delim[0] = '\n';
        p->dlen = 1;
    }
    p->cap = p->lim.max_item + p->dlen;
    p->buf = xmalloc(p->cap);
    if (mp) { /* the virtual CRLF in front of the first boundary */
        memcpy(p->buf, "\r\n", 2);
        p->len = 2;
    }
    return p;
}

void crgw_batch_parser_free(crgw_batch_parser *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p);
}

const char *crgw_batch_parser_error(const crgw_batch_parser *p)
{
    return p->fatal ? p->err : NULL;
}

const char *crgw_batch_parser_error_type(const crgw_batch_parser *p)
{
    return p->fatal ? p->err_type : NULL;
}

size_t crgw_batch_parser_items(const crgw_batch_parser *p)
{
    return p->index;
}

int crgw_batch_parser_is_multipart(const crgw_batch_parser *p)
{
    return p->multipart;
}

static int set_fatal(crgw_batch_parser *p, const char *type, const char *msg)
{
    p->fatal = 1;
    p->err_type = type;
    crgw_strfmt(p->err, sizeof(p->err), "%s", msg);
    return -1;
}

static void item_error(crgw_batch_item *it, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void item_error(crgw_batch_item *it, const char *type, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    free(it->report);
    it->report = NULL;
    it->report_len = 0;
    it->error_type = type;
    free(it->error);
    it->error = xstrdup(msg);
}

/* A new item (index, default name); -1 (fatal) past max_items. */
static int item_start(crgw_batch_parser *p, crgw_batch_item *it)
{
    memset(it, 0, sizeof(*it));
    if (p->index >= p->lim.max_items) {
        char msg[200];
        crgw_strfmt(msg, sizeof(msg), "the batch has more than %s (%zu) reports",
                    p->lim.max_items_name, p->lim.max_items);
        return set_fatal(p, "batch-too-many-items", msg);
    }
    it->index = p->index++;
    char name[32];
    crgw_strfmt(name, sizeof(name), "item-%zu", it->index);
    it->name = xstrdup(name);
    return 0;
}

static void set_report(crgw_batch_item *it, const char *data, size_t len)
{
    it->report = xstrndup(data, len);
    it->report_len = len;
}

/* An NDJSON line (without "\n") into it. */
static void ndjson_item(const char *line, size_t len, crgw_batch_item *it)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o || !json_is_object(o)) {
        if (o)
            item_error(it, "bad-item", "item %zu: a line must be a JSON object", it->index);
        else
            item_error(it, "bad-item", "item %zu: not JSON (column %d: %s)", it->index, je.column,
                       je.text);
        json_decref(o);
        return;
    }
    json_t *name = json_object_get(o, "name"), *rep = json_object_get(o, "report");
    json_t *enc = json_object_get(o, "encoding");
    if (name && json_is_string(name) && json_string_length(name) > 0) {
        free(it->name);
        it->name = xstrndup(json_string_value(name), json_string_length(name));
    }
    if (name && !json_is_string(name))
        item_error(it, "bad-item", "item %zu: \"name\" must be a string", it->index);
    else if (!rep || !json_is_string(rep))
        item_error(it, "bad-item", "item %zu: \"report\" (a string: the report as issued) is %s",
                   it->index, rep ? "not a string" : "missing");
    else if (enc && (!json_is_string(enc) || strcmp(json_string_value(enc), "base64") != 0))
        item_error(it, "bad-item", "item %zu: \"encoding\" must be \"base64\" when given",
                   it->index);
    else if (enc) {
        unsigned char *d = NULL;
        size_t dl = 0;
        if (crgw_b64_decode(json_string_value(rep), json_string_length(rep), 1, &d, &dl) != 0)
            item_error(it, "bad-item", "item %zu: \"report\" is not valid base64", it->index);
        else {
            it->report = (char *)d;
            it->report_len = dl;
        }
    } else {
        set_report(it, json_string_value(rep), json_string_length(rep));
    }
    json_decref(o);
    if (it->report && it->report_len == 0)
        item_error(it, "empty-item", "item %zu: \"report\" is empty", it->index);
}

/* The name of a part from its Content-Disposition (filename, else name); -1 when none. */
static int part_name(const char *h, size_t hlen, char *out, size_t outlen, int *has_cd)
{
    size_t i = 0;
    *has_cd = 0;
    while (i < hlen) {
        const char *e = memmem(h + i, hlen - i, "\r\n", 2);
        size_t ll = e ? (size_t)(e - (h + i)) : hlen - i;
        const char *l = h + i;
        if (ll > 20 && strncasecmp(l, "content-disposition:", 20) == 0) {
            *has_cd = 1;
            if (header_param(l + 20, ll - 20, "filename", out, outlen) == 0 ||
                header_param(l + 20, ll - 20, "name", out, outlen) == 0)
                return 0;
        }
        i += ll + 2;
    }
    return -1;
}

/* A multipart part (between boundaries) into it. */
static void part_item(const char *part, size_t len, crgw_batch_item *it, int complete)
{
    size_t hlen, body;
    if (len >= 2 && memcmp(part, "\r\n", 2) == 0) {
        hlen = 0;
        body = 2;
    } else {
        const char *e = memmem(part, len, "\r\n\r\n", 4);
        hlen = e ? (size_t)(e - part) : len;
        body = e ? hlen + 4 : len;
        if (!e && complete) {
            item_error(it, "bad-item", "part %zu: no blank line after its headers", it->index);
            return;
        }
    }
    char name[256];
    int has_cd;
    if (part_name(part, hlen, name, sizeof(name), &has_cd) == 0) {
        free(it->name);
        it->name = xstrdup(name);
    }
    if (!complete)
        return;
    if (!has_cd)
        item_error(it, "bad-item", "part %zu: no Content-Disposition header", it->index);
    else if (body == len)
        item_error(it, "empty-item", "part %zu: the report is empty", it->index);
    else
        set_report(it, part + body, len - body);
}

/* A complete item buf[0..n) of the current kind into it; 0 (skip: blank line), 1, -1 fatal. */
static int make_item(crgw_batch_parser *p, size_t n, crgw_batch_item *it)
{
    if (!p->multipart) {
        while (n > 0 && (p->buf[n - 1] == '\r' || p->buf[n - 1] == ' ' || p->buf[n - 1] == '\t'))
            n--;
        size_t i = 0;
        while (i < n && (p->buf[i] == ' ' || p->buf[i] == '\t'))
            i++;
        if (i == n)
            return 0;
        if (item_start(p, it) != 0)
            return -1;
        ndjson_item(p->buf + i, n - i, it);
        return 1;
    }
    if (item_start(p, it) != 0)
        return -1;
    part_item(p->buf, n, it, 1);
    return 1;
}

/* The bytes after a boundary; returns bytes taken, or -1 (fatal). */
static long after_boundary(crgw_batch_parser *p, const char *d, size_t len)
{
    size_t t = 0;
    while (t < len && p->state != M_PART && p->state != M_END) {
        char c = d[t++];
        if (p->state == M_AFTER && c == '-')
            p->state = M_DASH;
        else if (p->state == M_AFTER && (c == ' ' || c == '\t'))
            ; /* transport padding */
        else if (p->state == M_AFTER && c == '\r')
            p->state = M_CR;
        else if (p->state == M_DASH && c == '-')
            p->state = M_END;
        else if (p->state == M_CR && c == '\n')
            p->state = M_PART;
        else
            return set_fatal(p, "bad-framing",
                             "a multipart boundary must be followed by CRLF or by \"--\"");
    }
    return (long)t;
}

int crgw_batch_parser_feed(crgw_batch_parser *p, const char *data, size_t len, size_t *taken,
                           crgw_batch_item *item)
{
    size_t t = 0;
    int rv = 0;
    while (rv == 0 && !p->fatal && t < len) {
        if (p->multipart && p->state == M_END) {
            t = len; /* epilogue */
            break;
        }
        if (p->multipart && p->state != M_PART && p->state != M_PREAMBLE) {
            long n = after_boundary(p, data + t, len - t);
            if (n < 0)
                break;
            t += (size_t)n;
            continue;
        }
        size_t old = p->len, n = p->cap - p->len;
        if (n > len - t)
            n = len - t;
        memcpy(p->buf + p->len, data + t, n);
        p->len += n;
        size_t from = old >= p->dlen - 1 ? old - (p->dlen - 1) : 0;
        const char *hit = memmem(p->buf + from, p->len - from, p->delim, p->dlen);
        if (hit) {
            size_t pos = (size_t)(hit - p->buf);
            t += pos + p->dlen - old;
            if (p->discarding)
                p->discarding = 0;
            else if (!p->multipart || p->state == M_PART)
                rv = make_item(p, pos, item);
            p->len = 0;
            if (p->multipart)
                p->state = M_AFTER;
            continue;
        }
        t += n;
        if (p->len < p->cap)
            continue;
        /* full without a delimiter */
        if (p->multipart && p->state == M_PREAMBLE) {
            set_fatal(p, "bad-framing", "no multipart boundary at the start of the body");
            break;
        }
        if (!p->discarding) {
            if (item_start(p, item) != 0)
                break;
            if (p->multipart)
                part_item(p->buf, p->len, item, 0); /* its name, when the headers are there */
            item_error(item, "item-too-large", "%s %zu is larger than %s (%zu bytes)",
                       p->multipart ? "part" : "item", item->index, p->lim.max_item_name,
                       p->lim.max_item);
            p->discarding = 1;
            rv = 1;
        }
        memmove(p->buf, p->buf + p->len - (p->dlen - 1), p->dlen - 1);
        p->len = p->dlen - 1;
    }
    *taken = t;
    return p->fatal ? -1 : rv;
}

int crgw_batch_parser_finish(crgw_batch_parser *p, crgw_batch_item *item)
{
    if (p->fatal)
        return -1;
    if (p->multipart) {
        if (p->state == M_END)
            return 0;
        return set_fatal(p, "bad-framing",
                         p->state == M_PREAMBLE && p->index == 0
                             ? "no multipart boundary in the body"
                             : "the body ends before the closing multipart boundary");
    }
    if (p->discarding || p->len == 0) {
        p->discarding = 0;
        p->len = 0;
        return 0;
    }
    size_t n = p->len;
    p->len = 0;
    int rv = make_item(p, n, item);
    return rv;
}
