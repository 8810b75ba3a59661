#include "gateway/core/x509.h"

#include <string.h>

#include <openssl/x509v3.h>

int crgw_x509_san_uris(X509 *cert, crgw_x509_uri_fn fn, void *arg)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    int rc = 0;
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names) && rc == 0; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_URI)
            continue;
        const ASN1_IA5STRING *s = gn->d.uniformResourceIdentifier;
        rc = fn((const char *)ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s), arg);
    }
    GENERAL_NAMES_free(names);
    return rc;
}

static int uri_equals(const char *uri, size_t len, void *arg)
{
    const char *want = arg;
    return len == strlen(want) && memcmp(uri, want, len) == 0;
}

int crgw_x509_san_has_uri(X509 *cert, const char *uri)
{
    return crgw_x509_san_uris(cert, uri_equals, (void *)uri);
}

typedef struct {
    size_t idx, seen;
    char *out;
    size_t cap;
    int len;
} nth_uri;

static int copy_nth(const char *uri, size_t len, void *arg)
{
    nth_uri *n = arg;
    if (n->seen++ != n->idx)
        return 0;
    n->out[0] = '\0';
    n->len = 0;
    if (len == 0 || len >= n->cap || memchr(uri, '\0', len) != NULL)
        return 1;
    memcpy(n->out, uri, len);
    n->out[len] = '\0';
    n->len = (int)len;
    return 1;
}

int crgw_x509_san_uri(X509 *cert, size_t idx, char *out, size_t cap)
{
    nth_uri n = {.idx = idx, .out = out, .cap = cap};
    if (cap > 0)
        out[0] = '\0';
    if (crgw_x509_san_uris(cert, copy_nth, &n) == 0)
        return CRGW_ERR_NOT_FOUND;
    return n.len;
}
