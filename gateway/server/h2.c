#include "gateway/server/h2.h"

#include <string.h>

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
