#include "gateway/core/b64.h"

#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"

static const char std_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* -1: not in the alphabet; built on first use (both alphabets) */
static signed char tab_std[256], tab_url[256];
static int tabs_ready;

static void build_tabs(void)
{
    memset(tab_std, -1, sizeof(tab_std));
    memset(tab_url, -1, sizeof(tab_url));
    for (int i = 0; i < 64; i++) {
        tab_std[(unsigned char)std_alpha[i]] = (signed char)i;
        tab_url[(unsigned char)url_alpha[i]] = (signed char)i;
    }
    tabs_ready = 1;
}

static int value_of(unsigned char c, int url)
{
    return url ? tab_url[c] : tab_std[c];
}

int crgw_b64url_value(unsigned char c)
{
    if (!tabs_ready)
        build_tabs();
    return tab_url[c];
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Decodes n symbols (values) into out; checks that unused trailing bits are zero. */
/* Decodes into buf (at least crgw_b64_decoded_max(len) bytes); 0 or CRGW_ERR_INVALID. */
static int decode_into(const char *in, size_t len, int url, int allow_ws, int padded,
                       unsigned char *buf, size_t *out_len)
{
    if (!tabs_ready)
        build_tabs();
    size_t o = 0, nsym = 0, npad = 0;
    unsigned acc = 0;
    const signed char *tab = url ? tab_url : tab_std;
    size_t i = 0;
    /* fast path: whole quanta of alphabet characters */
    while (i + 4 <= len) {
        const unsigned char *q = (const unsigned char *)in + i;
        int a = tab[q[0]], b = tab[q[1]], c = tab[q[2]], d = tab[q[3]];
        if ((a | b | c | d) < 0)
            break;
        unsigned v = ((unsigned)a << 18) | ((unsigned)b << 12) | ((unsigned)c << 6) | (unsigned)d;
        buf[o++] = (unsigned char)(v >> 16);
        buf[o++] = (unsigned char)(v >> 8);
        buf[o++] = (unsigned char)v;
        i += 4;
        nsym += 4;
    }
    for (; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (allow_ws && is_ws(c))
            continue;
        if (padded && c == '=') {
            npad++;
            continue;
        }
        if (npad > 0)
            goto fail; /* data after padding */
        int v = value_of(c, url);
        if (v < 0)
            goto fail;
        acc = (acc << 6) | (unsigned)v;
        nsym++;
        if (nsym % 4 == 0) {
            buf[o++] = (unsigned char)(acc >> 16);
            buf[o++] = (unsigned char)(acc >> 8);
            buf[o++] = (unsigned char)acc;
            acc = 0;
        }
    }
    size_t rem = nsym % 4;
    if (rem == 1)
        goto fail;
    if (padded) {
        if ((rem == 0 && npad != 0) || (rem != 0 && npad != 4 - rem))
            goto fail;
    }
    if (rem == 2) {
        if (acc & 0xf)
            goto fail;
        buf[o++] = (unsigned char)(acc >> 4);
    } else if (rem == 3) {
        if (acc & 0x3)
            goto fail;
        buf[o++] = (unsigned char)(acc >> 10);
        buf[o++] = (unsigned char)(acc >> 2);
    }
    buf[o] = '\0';
    *out_len = o;
    return 0;
fail:
    return CRGW_ERR_INVALID;
}

static int decode_core(const char *in, size_t len, int url, int allow_ws, int padded,
                       unsigned char **out, size_t *out_len)
{
    unsigned char *buf = xmalloc(crgw_b64_decoded_max(len));
    if (decode_into(in, len, url, allow_ws, padded, buf, out_len) != 0) {
        free(buf);
        return CRGW_ERR_INVALID;
    }
    *out = buf;
    return 0;
}

size_t crgw_b64_decoded_max(size_t len)
{
    return len / 4 * 3 + 4;
}

int crgw_b64url_decode_to(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
    return decode_into(in, len, 1, 0, 0, out, out_len);
}

int crgw_b64_decode(const char *in, size_t len, int allow_ws, unsigned char **out, size_t *out_len)
{
    return decode_core(in, len, 0, allow_ws, 1, out, out_len);
}

int crgw_b64url_decode(const char *in, size_t len, unsigned char **out, size_t *out_len)
{
    return decode_core(in, len, 1, 0, 0, out, out_len);
}

static char *encode_core(const unsigned char *in, size_t len, const char *alpha, int pad,
                         size_t *out_len)
{
    char *out = xmalloc((len + 2) / 3 * 4 + 1);
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8) | in[i + 2];
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        out[o++] = alpha[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        unsigned v = ((unsigned)in[i] << 16) | ((unsigned)in[i + 1] << 8);
        out[o++] = alpha[(v >> 18) & 63];
        out[o++] = alpha[(v >> 12) & 63];
        out[o++] = alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    if (out_len != NULL)
        *out_len = o;
    return out;
}

char *crgw_b64_encode(const unsigned char *in, size_t len, size_t *out_len)
{
    return encode_core(in, len, std_alpha, 1, out_len);
}

char *crgw_b64url_encode(const unsigned char *in, size_t len, size_t *out_len)
{
    return encode_core(in, len, url_alpha, 0, out_len);
}
