#include "gateway/server/h2.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/core/hex.h"

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

const char *crgw_h2_status(int status)
{
    static const char *const common[] = {"200", "201", "202", "204", "400", "403", "404", "405",
                                         "408", "413", "415", "422", "431", "500", "501", "503"};
    for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++)
        if (status == (common[i][0] - '0') * 100 + (common[i][1] - '0') * 10 + common[i][2] - '0')
            return common[i];
    return NULL;
}

int crgw_h2_split_path(const char *raw, void *(*alloc)(void *actx, size_t n), void *actx,
                       const char **path, const char **query)
{
    const char *p = raw;
    if (!p || p[0] != '/')
        return -1;
    const char *q = strchr(p, '?');
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    *query = q ? q + 1 : "";
    char *d = alloc(actx, plen + 1);
    size_t j = 0;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] == '%') {
            int hi = i + 2 < plen ? crgw_hexval(p[i + 1]) : -1;
            int lo = hi >= 0 ? crgw_hexval(p[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            d[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[j++] = p[i];
        }
    }
    d[j] = '\0';
    *path = d;
    return 0;
}
