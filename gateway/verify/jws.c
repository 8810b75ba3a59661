#include "gateway/verify/jws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "gateway/core/b64.h"
#include "gateway/core/util.h"
#include "gateway/verify/certcache.h"

#define MAX_JWS_BYTES (16u << 20)
#define MAX_X5C 8

static int is_b64url_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static size_t trim_len(const char *data, size_t len)
{
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' ||
                       data[len - 1] == '\t'))
        len--;
    return len;
}

static size_t skip_ws(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
        i++;
    return i;
}

int crgw_jws_sniff(const char *data, size_t len, crgw_jws_form *form)
{
    size_t i = skip_ws(data, len);
    len = trim_len(data, len);
    if (i >= len)
        return 0;
    if (data[i] == '{') {
        /* flattened JSON: a top-level "signature" member; a cheap textual probe, parse decides */
        static const char needle[] = "\"signature\"";
        if (memmem(data + i, len - i, needle, sizeof(needle) - 1) == NULL)
            return 0;
        *form = CRGW_JWS_FLATTENED;
        return 1;
    }
    size_t dots = 0;
    for (size_t k = i; k < len; k++) {
        if (data[k] == '.')
            dots++;
        else if (!is_b64url_char((unsigned char)data[k]))
            return 0;
    }
    if (dots < 2)
        return 0;
    *form = CRGW_JWS_COMPACT;
    return 1;
}

static int fail(crgw_jws *jws, int code, const char *fmt, const char *arg)
{
    snprintf(jws->err, sizeof(jws->err), fmt, arg ? arg : "");
    return code;
}

static int decode_x5c(crgw_jws *jws, json_t *x5c)
{
    if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > MAX_X5C)
        return fail(jws, CRGW_ERR_INVALID, "x5c must be an array of 1..8 certificates%s", NULL);
    jws->x5c = sk_X509_new_null();
    if (jws->x5c == NULL)
        return CRGW_ERR_INTERNAL;
    size_t i;
    json_t *v;
    json_array_foreach(x5c, i, v)
    {
        if (!json_is_string(v))
            return fail(jws, CRGW_ERR_INVALID, "x5c entry is not a string%s", NULL);
        unsigned char *der = NULL;
        size_t der_len = 0;
        if (crgw_b64_decode(json_string_value(v), json_string_length(v), 0, &der, &der_len) != 0)
            return fail(jws, CRGW_ERR_INVALID, "x5c entry is not base64%s", NULL);
        X509 *c = crgw_certcache_d2i(der, der_len);
        free(der);
        if (c == NULL)
            return fail(jws, CRGW_ERR_INVALID, "x5c entry is not a DER certificate%s", NULL);
        if (!sk_X509_push(jws->x5c, c)) {
            X509_free(c);
            return CRGW_ERR_INTERNAL;
        }
    }
    return CRGW_JWS_OK;
}

static int check_header(crgw_jws *jws)
{
    json_t *h = jws->header;
    if (!json_is_object(h))
        return fail(jws, CRGW_ERR_INVALID, "protected header is not a JSON object%s", NULL);
    static const char *const refused[] = {"crit", "jwk", "jku", "x5u", "b64", "zip", "enc"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(refused); i++)
        if (json_object_get(h, refused[i]) != NULL)
            return fail(jws, CRGW_ERR_INVALID, "header parameter \"%s\" is not accepted",
                        refused[i]);
    json_t *alg = json_object_get(h, "alg");
    if (!json_is_string(alg))
        return fail(jws, CRGW_ERR_INVALID, "header has no alg%s", NULL);
    jws->alg = crgw_sigalg_by_jws(json_string_value(alg));
    if (jws->alg == NULL)
        return fail(jws, CRGW_ERR_ALG, "alg \"%s\" is not a supported signature algorithm",
                    json_string_value(alg));
    json_t *typ = json_object_get(h, "typ");
    if (typ != NULL) {
        if (!json_is_string(typ))
            return fail(jws, CRGW_ERR_INVALID, "typ is not a string%s", NULL);
        jws->typ = json_string_value(typ);
    }
    json_t *x5c = json_object_get(h, "x5c");
    if (x5c != NULL)
        return decode_x5c(jws, x5c);
    return CRGW_JWS_OK;
}

/* Decodes and checks the three segments (views into the input). */
/*
 * Parsed protected headers by their base64url text: reports signed by one signer carry the same
 * header (alg, typ, x5c), whose JSON and certificates need not be decoded again. One cache per
 * thread (thread-local, no locks); only headers that passed check_header are kept.
 */
#define HDR_SLOTS 64
#define HDR_MAX 16384

typedef struct {
    char *text;
    size_t len;
    json_t *header;
    const crgw_sigalg *alg;
    STACK_OF(X509) * x5c;
} hdr_slot;

static _Thread_local hdr_slot hdr_cache[HDR_SLOTS];

void crgw_jws_cache_clear(void)
{
    for (size_t i = 0; i < HDR_SLOTS; i++) {
        hdr_slot *s = &hdr_cache[i];
        free(s->text);
        json_decref(s->header);
        sk_X509_pop_free(s->x5c, X509_free);
        memset(s, 0, sizeof(*s));
    }
}

/* Slot of a header: its length and a sample of its bytes (equality is a full memcmp). */
static size_t hdr_hash(const char *h, size_t hl)
{
    size_t v = 5381 + hl;
    size_t step = hl / 64 + 1;
    for (size_t i = 0; i < hl; i += step)
        v = v * 33 + (unsigned char)h[i];
    return v % HDR_SLOTS;
}

static STACK_OF(X509) * x5c_ref(STACK_OF(X509) * in)
{
    if (in == NULL)
        return NULL;
    STACK_OF(X509) *out = sk_X509_dup(in);
    crgw_assert(out != NULL);
    for (int i = 0; i < sk_X509_num(out); i++)
        X509_up_ref(sk_X509_value(out, i));
    return out;
}

static void hdr_fill_from(crgw_jws *jws, const hdr_slot *s)
{
    jws->header = json_incref(s->header);
    jws->alg = s->alg;
    json_t *typ = json_object_get(s->header, "typ");
    jws->typ = json_is_string(typ) ? json_string_value(typ) : NULL;
    jws->x5c = x5c_ref(s->x5c);
}

static void hdr_store(const char *h, size_t hl, const crgw_jws *jws)
{
    if (hl > HDR_MAX)
        return;
    hdr_slot *s = &hdr_cache[hdr_hash(h, hl)];
    free(s->text);
    json_decref(s->header);
    sk_X509_pop_free(s->x5c, X509_free);
    s->text = xstrndup(h, hl);
    s->len = hl;
    s->header = json_incref(jws->header);
    s->alg = jws->alg;
    s->x5c = x5c_ref(jws->x5c);
}

static int parse_header(crgw_jws *jws, const char *h, size_t hl)
{
    const hdr_slot *s = &hdr_cache[hdr_hash(h, hl)];
    if (s->text != NULL && s->len == hl && memcmp(s->text, h, hl) == 0) {
        hdr_fill_from(jws, s);
        return CRGW_JWS_OK;
    }
    unsigned char *hdr = NULL;
    size_t hdr_len = 0;
    if (crgw_b64url_decode(h, hl, &hdr, &hdr_len) != 0)
        return fail(jws, CRGW_ERR_INVALID, "protected header is not base64url%s", NULL);
    json_error_t je;
    jws->header = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, &je);
    free(hdr);
    if (jws->header == NULL)
        return fail(jws, CRGW_ERR_INVALID, "protected header is not JSON: %s", je.text);
    int rc = check_header(jws);
    if (rc == CRGW_JWS_OK)
        hdr_store(h, hl, jws);
    return rc;
}

static int parse_parts(crgw_jws *jws, const char *h, size_t hl, const char *p, size_t pl,
                       const char *s, size_t sl)
{
    if (hl == 0 || sl == 0)
        return fail(jws, CRGW_ERR_INVALID, "empty header or signature%s", NULL);
    int rc = parse_header(jws, h, hl);
    if (rc != CRGW_JWS_OK)
        return rc;
    /* one block: payload (first, so that it can be handed out as is), signature, signing input */
    size_t pmax = crgw_b64_decoded_max(pl), smax = crgw_b64_decoded_max(sl);
    unsigned char *block = xmalloc(pmax + smax + hl + 1 + pl + 1);
    unsigned char *sig = block + pmax;
    char *in = (char *)block + pmax + smax;
    jws->payload = block; /* owned from here on (crgw_jws_cleanup) */
    if (crgw_b64url_decode_to(p, pl, block, &jws->payload_len) != 0)
        return fail(jws, CRGW_ERR_INVALID, "payload is not base64url%s", NULL);
    if (crgw_b64url_decode_to(s, sl, sig, &jws->sig_len) != 0)
        return fail(jws, CRGW_ERR_INVALID, "signature is not base64url%s", NULL);
    memcpy(in, h, hl);
    in[hl] = '.';
    memcpy(in + hl + 1, p, pl);
    in[hl + 1 + pl] = '\0';
    jws->sig = sig;
    jws->signing_input = in;
    jws->signing_input_len = hl + 1 + pl;
    return CRGW_JWS_OK;
}
static int all_b64url(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_b64url_char((unsigned char)s[i]))
            return 0;
    return 1;
}

static int parse_compact(crgw_jws *jws, const char *d, size_t len)
{
    const char *dot1 = memchr(d, '.', len);
    if (dot1 == NULL)
        return fail(jws, CRGW_ERR_INVALID, "compact JWS needs three parts%s", NULL);
    const char *dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - d));
    if (dot2 == NULL)
        return fail(jws, CRGW_ERR_INVALID, "compact JWS needs three parts%s", NULL);
    if (memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - d)) != NULL)
        return fail(jws, CRGW_ERR_INVALID,
                    "compact JWS has more than three parts (JWE or garbage)%s", NULL);
    size_t hl = (size_t)(dot1 - d), pl = (size_t)(dot2 - dot1 - 1);
    size_t sl = len - (size_t)(dot2 + 1 - d);
    if (!all_b64url(d, hl) || !all_b64url(dot1 + 1, pl) || !all_b64url(dot2 + 1, sl))
        return fail(jws, CRGW_ERR_INVALID, "compact JWS part is not base64url%s", NULL);
    return parse_parts(jws, d, hl, dot1 + 1, pl, dot2 + 1, sl);
}

/*
 * The common shape of a flattened JWS without jansson: one object of exactly the three members,
 * each a plain base64url string (no escapes), white space between tokens. Returns 1 and the
 * three views, or 0 when the input is anything else (then the full JSON parse decides, with its
 * precise error messages).
 */
static size_t ws(const char *d, size_t i, size_t len)
{
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    return i;
}

static int fast_flattened(const char *d, size_t len, const char *v[3], size_t vl[3])
{
    static const char *const names[3] = {"protected", "payload", "signature"};
    size_t i = ws(d, 0, len);
    if (i >= len || d[i++] != '{')
        return 0;
    v[0] = v[1] = v[2] = NULL;
    for (int m = 0; m < 3; m++) {
        i = ws(d, i, len);
        if (i >= len || d[i++] != '"')
            return 0;
        size_t ns = i;
        while (i < len && d[i] != '"' && d[i] != '\\')
            i++;
        if (i >= len || d[i] != '"')
            return 0;
        int which = -1;
        for (int k = 0; k < 3; k++)
            if (i - ns == strlen(names[k]) && memcmp(d + ns, names[k], i - ns) == 0)
                which = k;
        if (which < 0 || v[which] != NULL)
            return 0;
        i = ws(d, i + 1, len);
        if (i >= len || d[i++] != ':')
            return 0;
        i = ws(d, i, len);
        if (i >= len || d[i++] != '"')
            return 0;
        /* the characters are checked by the base64url decoder (or the header cache) */
        size_t vs = i;
        const char *q = memchr(d + i, '"', len - i);
        if (q == NULL)
            return 0;
        i = (size_t)(q - d);
        v[which] = d + vs;
        vl[which] = i - vs;
        i = ws(d, i + 1, len);
        if (i >= len || d[i++] != (m == 2 ? '}' : ','))
            return 0;
    }
    return ws(d, i, len) == len;
}

static int parse_flattened(crgw_jws *jws, const char *d, size_t len)
{
    const char *fv[3];
    size_t fvl[3];
    if (fast_flattened(d, len, fv, fvl))
        return parse_parts(jws, fv[0], fvl[0], fv[1], fvl[1], fv[2], fvl[2]);
    json_error_t je;
    json_t *o = json_loadb(d, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL)
        return fail(jws, CRGW_ERR_INVALID, "not JSON: %s", je.text);
    int rc = CRGW_ERR_INVALID;
    if (!json_is_object(o)) {
        fail(jws, rc, "flattened JWS is not a JSON object%s", NULL);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        if (strcmp(key, "protected") != 0 && strcmp(key, "payload") != 0 &&
            strcmp(key, "signature") != 0) {
            fail(jws, rc, "flattened JWS member \"%s\" is not accepted", key);
            goto out;
        }
    }
    json_t *h = json_object_get(o, "protected");
    json_t *p = json_object_get(o, "payload");
    json_t *s = json_object_get(o, "signature");
    if (!json_is_string(h) || !json_is_string(p) || !json_is_string(s)) {
        fail(jws, rc, "flattened JWS needs string protected, payload and signature%s", NULL);
        goto out;
    }
    const char *hs = json_string_value(h), *ps = json_string_value(p), *ss = json_string_value(s);
    size_t hl = json_string_length(h), pl = json_string_length(p), sl = json_string_length(s);
    if (!all_b64url(hs, hl) || !all_b64url(ps, pl) || !all_b64url(ss, sl)) {
        fail(jws, rc, "flattened JWS member is not base64url%s", NULL);
        goto out;
    }
    rc = parse_parts(jws, hs, hl, ps, pl, ss, sl);
out:
    json_decref(o);
    return rc;
}

int crgw_jws_parse(const char *data, size_t len, crgw_jws_form form, crgw_jws *jws)
{
    memset(jws, 0, sizeof(*jws));
    if (len > MAX_JWS_BYTES)
        return fail(jws, CRGW_ERR_INVALID, "JWS larger than 16 MiB%s", NULL);
    size_t start = skip_ws(data, len);
    len = trim_len(data, len);
    if (start >= len)
        return fail(jws, CRGW_ERR_INVALID, "empty input%s", NULL);
    crgw_jws_form found = data[start] == '{' ? CRGW_JWS_FLATTENED : CRGW_JWS_COMPACT;
    if (form != 0 && form != found)
        return fail(jws, CRGW_ERR_INVALID, "JWS is not in the %s serialization",
                    form == CRGW_JWS_COMPACT ? "compact" : "flattened JSON");
    jws->form = found;
    if (found == CRGW_JWS_COMPACT)
        return start == 0 ? parse_compact(jws, data, len)
                          : fail(jws, CRGW_ERR_INVALID, "white space before a compact JWS%s", NULL);
    return parse_flattened(jws, data + start, len - start);
}

int crgw_jws_check(crgw_jws *jws, EVP_PKEY *key)
{
    if (jws->alg == NULL || jws->signing_input == NULL)
        return fail(jws, CRGW_ERR_INVALID, "JWS not parsed%s", NULL);
    if (key == NULL) {
        if (jws->x5c == NULL || sk_X509_num(jws->x5c) == 0)
            return fail(jws, CRGW_ERR_KEY, "no x5c certificate to verify with%s", NULL);
        key = X509_get0_pubkey(sk_X509_value(jws->x5c, 0));
        if (key == NULL)
            return fail(jws, CRGW_ERR_KEY, "x5c[0] public key unreadable%s", NULL);
    }
    if (!crgw_sigalg_key_fits(jws->alg, key, 1))
        return fail(jws, CRGW_ERR_KEY, "the key does not fit alg %s", jws->alg->jws);
    int rc = crgw_sigalg_verify(jws->alg, key, (const unsigned char *)jws->signing_input,
                                jws->signing_input_len, jws->sig, jws->sig_len, jws->alg->jws_enc);
    if (rc == CRGW_SIGALG_OK)
        return CRGW_JWS_OK;
    if (rc == CRGW_ERR_KEY)
        return fail(jws, CRGW_ERR_KEY, "the key does not fit alg %s", jws->alg->jws);
    return fail(jws, CRGW_ERR_SIG, "%s signature does not verify", jws->alg->jws);
}

void crgw_jws_cleanup(crgw_jws *jws)
{
    json_decref(jws->header);
    free(jws->payload); /* the block holding sig and signing_input too */
    sk_X509_pop_free(jws->x5c, X509_free);
    jws->header = NULL;
    jws->payload = NULL;
    jws->signing_input = NULL;
    jws->sig = NULL;
    jws->x5c = NULL;
}

static char *cert_b64(X509 *c)
{
    unsigned char *der = NULL;
    int n = i2d_X509(c, &der);
    if (n <= 0)
        return NULL;
    char *s = crgw_b64_encode(der, (size_t)n, NULL);
    OPENSSL_free(der);
    return s;
}

int crgw_jws_sign(EVP_PKEY *key, const char *alg, const char *typ, STACK_OF(X509) * x5c,
                  const void *payload, size_t len, crgw_jws_form form, char **out, size_t *out_len)
{
    const crgw_sigalg *sa = crgw_sigalg_by_jws(alg);
    if (sa == NULL)
        return CRGW_ERR_ALG;
    if (!crgw_sigalg_key_fits(sa, key, 1))
        return CRGW_ERR_KEY;
    json_t *h = json_object();
    json_object_set_new(h, "alg", json_string(alg));
    if (typ != NULL)
        json_object_set_new(h, "typ", json_string(typ));
    if (x5c != NULL) {
        json_t *a = json_array();
        for (int i = 0; i < sk_X509_num(x5c); i++) {
            char *s = cert_b64(sk_X509_value(x5c, i));
            if (s == NULL) {
                json_decref(a);
                json_decref(h);
                return CRGW_ERR_KEY;
            }
            json_array_append_new(a, json_string(s));
            free(s);
        }
        json_object_set_new(h, "x5c", a);
    }
    char *hj = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    crgw_assert(hj != NULL);
    size_t hl, pl;
    char *hb = crgw_b64url_encode((const unsigned char *)hj, strlen(hj), &hl);
    free(hj);
    char *pb = crgw_b64url_encode(payload, len, &pl);
    crgw_buf in;
    crgw_buf_init(&in, SIZE_MAX);
    crgw_buf_add(&in, hb, hl);
    crgw_buf_add(&in, ".", 1);
    crgw_buf_add(&in, pb, pl);
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    int rc = crgw_sigalg_sign(sa, key, (const unsigned char *)in.data, in.len, sa->jws_enc, &sig,
                              &sig_len);
    if (rc != CRGW_SIGALG_OK) {
        crgw_buf_cleanup(&in);
        free(hb);
        free(pb);
        return CRGW_ERR_KEY;
    }
    char *sb = crgw_b64url_encode(sig, sig_len, NULL);
    free(sig);
    crgw_buf o;
    crgw_buf_init(&o, SIZE_MAX);
    if (form == CRGW_JWS_COMPACT) {
        crgw_buf_add(&o, in.data, in.len);
        crgw_buf_add(&o, ".", 1);
        crgw_buf_adds(&o, sb);
    } else {
        crgw_buf_printf(&o,
                        "{\n  \"protected\": \"%s\",\n  \"payload\": \"%s\",\n"
                        "  \"signature\": \"%s\"\n}\n",
                        hb, pb, sb);
    }
    crgw_buf_cleanup(&in);
    free(hb);
    free(pb);
    free(sb);
    *out = crgw_buf_take(&o, out_len);
    return CRGW_JWS_OK;
}

int crgw_jws_sign_compact(EVP_PKEY *key, const char *alg, STACK_OF(X509) * x5c, const void *payload,
                          size_t len, char **out)
{
    return crgw_jws_sign(key, alg, NULL, x5c, payload, len, CRGW_JWS_COMPACT, out, NULL);
}

static int alg_allowed(const char *alg, const char *const *allowed)
{
    static const char *const def[] = {"ES256", NULL};
    if (allowed == NULL)
        allowed = def;
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(allowed[i], alg) == 0)
            return 1;
    return 0;
}

int crgw_jws_verify_compact(const char *data, size_t len, const char *const *allowed_algs,
                            X509_STORE *store, unsigned char **payload, size_t *payload_len,
                            X509 **signer, char *err, size_t err_len)
{
    crgw_jws jws;
    int rc = crgw_jws_parse(data, len, CRGW_JWS_COMPACT, &jws);
    if (rc != CRGW_JWS_OK)
        goto out;
    if (!alg_allowed(jws.alg->jws, allowed_algs)) {
        rc = fail(&jws, CRGW_ERR_ALG, "alg %s not allowed here", jws.alg->jws);
        goto out;
    }
    rc = crgw_jws_check(&jws, NULL);
    if (rc != CRGW_JWS_OK)
        goto out;
    X509 *leaf = sk_X509_value(jws.x5c, 0);
    if (store != NULL) {
        X509_STORE_CTX *ctx = X509_STORE_CTX_new();
        STACK_OF(X509) *untrusted = sk_X509_dup(jws.x5c);
        if (ctx == NULL || untrusted == NULL) {
            X509_STORE_CTX_free(ctx);
            sk_X509_free(untrusted);
            rc = CRGW_ERR_INTERNAL;
            goto out;
        }
        (void)sk_X509_shift(untrusted);
        int ok =
            X509_STORE_CTX_init(ctx, store, leaf, untrusted) == 1 && X509_verify_cert(ctx) == 1;
        if (!ok)
            fail(&jws, 0, "x5c chain: %s",
                 X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        X509_STORE_CTX_free(ctx);
        sk_X509_free(untrusted);
        ERR_clear_error();
        if (!ok) {
            rc = CRGW_ERR_CHAIN;
            goto out;
        }
    }
    *payload = jws.payload;
    if (payload_len != NULL)
        *payload_len = jws.payload_len;
    jws.payload = NULL;
    if (signer != NULL) {
        X509_up_ref(leaf);
        *signer = leaf;
    }
out:
    if (rc != CRGW_JWS_OK && err != NULL)
        snprintf(err, err_len, "%s", jws.err);
    crgw_jws_cleanup(&jws);
    return rc;
}
