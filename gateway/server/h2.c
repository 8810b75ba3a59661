#include "gateway/server/h2.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

ssize_t crgw_h2_span_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf, size_t length,
                          uint32_t *data_flags, nghttp2_data_source *source, void *user_data)
{
    (void)session;
    (void)stream_id;
    (void)user_data;
    crgw_h2_span *sp = source->ptr;
    size_t n = sp->len - sp->off;
    if (n > length)
        n = length;
    memcpy(buf, sp->data + sp->off, n);
    sp->off += n;
    if (sp->off == sp->len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* The Date header, formatted once per second. */
const char *crgw_h2_date(size_t *len)
{
    static time_t last;
    static char buf[40];
    static size_t blen;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        blen = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    *len = blen;
    return buf;
}

const char *crgw_h2_status(int status, char *buf)
{
    switch (status) {
    case 200:
        return "200";
    case 201:
        return "201";
    case 202:
        return "202";
    case 204:
        return "204";
    case 400:
        return "400";
    case 403:
        return "403";
    case 404:
        return "404";
    case 405:
        return "405";
    case 408:
        return "408";
    case 413:
        return "413";
    case 422:
        return "422";
    case 431:
        return "431";
    case 500:
        return "500";
    case 501:
        return "501";
    case 503:
        return "503";
    default: {
        snprintf(buf, 8, "%d", status);
        return buf;
    }
    }
}
