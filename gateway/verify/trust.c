#include "gateway/verify/trust.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/sigalg.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/core/x509.h"

#define MEMO_CAP 1024 /* slots; cleared when 3/4 full */
#define MAX_TRUST_FILE (4u << 20)

/* The policy the trust version covers (change it when the checks below change). */
static const char policy_id[] =
    "crgw-trust-policy-1: rsa>=2048; ec p-256,p-384; sm2; ed25519; ku digitalSignature|"
    "nonRepudiation; san urn:crgw:node:<issuer>; crl required";

static const char *const default_algs[] = {"RS256", "PS256", "ES256", "ES384", "EdDSA", "SM2-SM3"};

typedef struct {
    X509_CRL *crl;
    X509 *issuer; /* the anchor that signed it */
    time_t next;  /* nextUpdate, 0 when absent */
} crl_ent;

typedef struct {
    char code[8];
    X509_STORE *store;
    X509 **anchors;
    size_t n_anchors;
    crl_ent *crls;
    size_t n_crls;
    char **algs;
    size_t n_algs;
    char version[65];
} tnode;

#define MEMO_MAX_CERTS 9

typedef struct {
    int used;
    char node[8];
    X509 *certs[MEMO_MAX_CERTS]; /* the key: signer and extras, referenced (identity) */
    int n_certs;
    crgw_sub sub; /* NONE, NO_CERTIFICATE_CHAIN_FOUND or CHAIN_CONSTRAINTS_FAILURE */
    char detail[200];
    char anchor_node[8];
    STACK_OF(X509) * chain; /* when sub == NONE: leaf .. anchor */
    /* facts of the signer that do not depend on time (computed once per entry) */
    char subject[512];
    char serial[80];
    int ku_ok;
    int san_ok;
    char san_detail[160];
    int strong;
    char strength_detail[200];
    /* validity of the chain certificates (when sub == NONE) */
    int n_times;
    time_t nb[12], na[12];
    time_t min_na;
    char leaf_na[32];
} memo_ent;

struct crgw_trust {
    tnode *nodes;
    size_t n_nodes;
    X509_STORE *all;
    char version[65];
    memo_ent *memo;
    size_t memo_n;
    uint64_t hits, misses;
};

static time_t asn1_time_t(const ASN1_TIME *a);

static int load_pem_file(const char *path, crgw_errs *errs, char **data, size_t *len)
{
    if (crgw_read_file(path, MAX_TRUST_FILE, data, len) != 0) {
        crgw_errs_add(errs, "%s: cannot read", path);
        return -1;
    }
    return 0;
}

static int load_anchors(tnode *n, const crgw_node *cn, X509_STORE *all, EVP_MD_CTX *h,
                        crgw_errs *errs)
{
    for (size_t i = 0; i < cn->anchors.n; i++) {
        char *data;
        size_t len;
        if (load_pem_file(cn->anchors.v[i], errs, &data, &len) != 0)
            return -1;
        EVP_DigestUpdate(h, "anchor", 6);
        EVP_DigestUpdate(h, data, len);
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509 *c;
        int count = 0;
        while ((c = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
            n->anchors = xrealloc(n->anchors, (n->n_anchors + 1) * sizeof(*n->anchors));
            n->anchors[n->n_anchors++] = c;
            X509_STORE_add_cert(n->store, c);
            X509_STORE_add_cert(all, c);
            count++;
        }
        ERR_clear_error();
        BIO_free(b);
        free(data);
        if (count == 0) {
            crgw_errs_add(errs, "%s: no certificate (node %s anchors)", cn->anchors.v[i], cn->code);
            return -1;
        }
    }
    return 0;
}

static int load_crls(tnode *n, const crgw_node *cn, EVP_MD_CTX *h, crgw_errs *errs)
{
    for (size_t i = 0; i < cn->crls.n; i++) {
        char *data;
        size_t len;
        if (load_pem_file(cn->crls.v[i], errs, &data, &len) != 0)
            return -1;
        EVP_DigestUpdate(h, "crl", 3);
        EVP_DigestUpdate(h, data, len);
        BIO *b = BIO_new_mem_buf(data, (int)len);
        X509_CRL *crl;
        int count = 0;
        while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) != NULL) {
            X509 *issuer = NULL;
            for (size_t a = 0; a < n->n_anchors && issuer == NULL; a++)
                if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(n->anchors[a])) ==
                        0 &&
                    crgw_sigalg_verify_crl_sig(crl, X509_get0_pubkey(n->anchors[a])))
                    issuer = n->anchors[a];
            if (issuer == NULL) {
                crgw_errs_add(errs, "%s: CRL not signed by an anchor of node %s", cn->crls.v[i],
                              cn->code);
                X509_CRL_free(crl);
                BIO_free(b);
                free(data);
                return -1;
            }
            n->crls = xrealloc(n->crls, (n->n_crls + 1) * sizeof(*n->crls));
            n->crls[n->n_crls].crl = crl;
            n->crls[n->n_crls].issuer = issuer;
            n->crls[n->n_crls].next = asn1_time_t(X509_CRL_get0_nextUpdate(crl));
            n->n_crls++;
            count++;
        }
        ERR_clear_error();
        BIO_free(b);
        free(data);
        if (count == 0) {
            crgw_errs_add(errs, "%s: no CRL (node %s)", cn->crls.v[i], cn->code);
            return -1;
        }
    }
    return 0;
}

int crgw_trust_new(const crgw_config *cfg, crgw_trust **out, crgw_errs *errs)
{
    crgw_trust *t = xcalloc(1, sizeof(*t));
    t->all = X509_STORE_new();
    t->memo = xcalloc(MEMO_CAP, sizeof(*t->memo));
    t->nodes = xcalloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof(*t->nodes));
    size_t nerr = errs->n;
    EVP_MD_CTX *all_h = EVP_MD_CTX_new();
    crgw_assert(all_h != NULL && t->all != NULL);
    EVP_DigestInit_ex(all_h, EVP_sha256(), NULL);
    EVP_DigestUpdate(all_h, policy_id, sizeof(policy_id) - 1);
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        const crgw_node *cn = &cfg->nodes[i];
        tnode *n = &t->nodes[t->n_nodes++];
        memcpy(n->code, cn->code, sizeof(n->code));
        n->store = X509_STORE_new();
        crgw_assert(n->store != NULL);
        EVP_MD_CTX *h = EVP_MD_CTX_new();
        crgw_assert(h != NULL);
        EVP_DigestInit_ex(h, EVP_sha256(), NULL);
        EVP_DigestUpdate(h, policy_id, sizeof(policy_id) - 1);
        EVP_DigestUpdate(h, cn->code, strlen(cn->code));
        size_t before = errs->n;
        if (load_anchors(n, cn, t->all, h, errs) == 0)
            load_crls(n, cn, h, errs);
        /* name the node's definition, as configuration errors do: file:line: message */
        for (size_t e = before; e < errs->n && cfg->federation_path; e++) {
            crgw_buf b;
            crgw_buf_init(&b, 4096);
            crgw_buf_printf(&b, "%s:%d: %s", cfg->federation_path, cn->line, errs->v[e]);
            free(errs->v[e]);
            errs->v[e] = crgw_buf_take(&b, NULL);
        }
        const char *const *algs = (const char *const *)cn->algorithms.v;
        size_t n_algs = cn->algorithms.n;
        if (n_algs == 0) {
            algs = default_algs;
            n_algs = CRGW_ARRAY_LEN(default_algs);
        }
        n->algs = xcalloc(n_algs, sizeof(char *));
        for (size_t k = 0; k < n_algs; k++) {
            n->algs[k] = xstrdup(algs[k]);
            EVP_DigestUpdate(h, "alg", 3);
            EVP_DigestUpdate(h, algs[k], strlen(algs[k]) + 1);
        }
        n->n_algs = n_algs;
        unsigned char d[32];
        EVP_DigestFinal_ex(h, d, NULL);
        EVP_MD_CTX_free(h);
        crgw_hex(d, 32, n->version);
        EVP_DigestUpdate(all_h, d, sizeof(d));
    }
    unsigned char d[32];
    EVP_DigestFinal_ex(all_h, d, NULL);
    EVP_MD_CTX_free(all_h);
    crgw_hex(d, 32, t->version);
    if (errs->n > nerr) {
        crgw_trust_free(t);
        return -1;
    }
    *out = t;
    return 0;
}

static void memo_clear(crgw_trust *t)
{
    for (size_t i = 0; i < MEMO_CAP; i++) {
        if (t->memo[i].used) {
            sk_X509_pop_free(t->memo[i].chain, X509_free);
            for (int k = 0; k < t->memo[i].n_certs; k++)
                X509_free(t->memo[i].certs[k]);
        }
        memset(&t->memo[i], 0, sizeof(t->memo[i]));
    }
    t->memo_n = 0;
}

void crgw_trust_free(crgw_trust *t)
{
    if (t == NULL)
        return;
    memo_clear(t);
    free(t->memo);
    for (size_t i = 0; i < t->n_nodes; i++) {
        tnode *n = &t->nodes[i];
        X509_STORE_free(n->store);
        for (size_t k = 0; k < n->n_anchors; k++)
            X509_free(n->anchors[k]);
        free(n->anchors);
        for (size_t k = 0; k < n->n_crls; k++)
            X509_CRL_free(n->crls[k].crl);
        free(n->crls);
        for (size_t k = 0; k < n->n_algs; k++)
            free(n->algs[k]);
        free(n->algs);
    }
    free(t->nodes);
    X509_STORE_free(t->all);
    free(t);
}

static tnode *find_node(const crgw_trust *t, const char *code)
{
    if (code == NULL)
        return NULL;
    for (size_t i = 0; i < t->n_nodes; i++)
        if (strcmp(t->nodes[i].code, code) == 0)
            return &t->nodes[i];
    return NULL;
}

const char *crgw_trust_node_version(const crgw_trust *t, const char *node)
{
    tnode *n = find_node(t, node);
    return n ? n->version : NULL;
}

const char *crgw_trust_version(const crgw_trust *t)
{
    return t->version;
}

int crgw_trust_alg_allowed(const crgw_trust *t, const char *node, const char *alg)
{
    tnode *n = find_node(t, node);
    if (n == NULL || alg == NULL)
        return 0;
    for (size_t i = 0; i < n->n_algs; i++)
        if (strcmp(n->algs[i], alg) == 0)
            return 1;
    return 0;
}

void crgw_trust_memo_stats(const crgw_trust *t, uint64_t *hits, uint64_t *misses)
{
    *hits = t->hits;
    *misses = t->misses;
}

/* ---- chain building (memoised) ---- */

static void set_sm2_id(X509 *c)
{
    if (!crgw_sigalg_cert_is_sm2_signed(c))
        return;
    ASN1_OCTET_STRING *id = ASN1_OCTET_STRING_new();
    crgw_assert(id != NULL);
    ASN1_OCTET_STRING_set(id, (const unsigned char *)CRGW_SM2_ID, (int)strlen(CRGW_SM2_ID));
    X509_set0_distinguishing_id(c, id);
}

/*
 * The memo is keyed by certificate identity: the certificate cache (gateway/verify/certcache.h)
 * hands out the same X509 object for the same DER bytes, and an entry holds a reference to each of
 * its key certificates, so a pointer cannot be reused for other bytes while the entry lives.
 */
static size_t memo_slot(const char *node, X509 *signer, STACK_OF(X509) * extra)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = node; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    int n = extra ? sk_X509_num(extra) : 0;
    for (int i = -1; i < n; i++) {
        uintptr_t v = (uintptr_t)(i < 0 ? signer : sk_X509_value(extra, i));
        h = (h ^ (uint64_t)v) * 1099511628211ull;
        h ^= h >> 29;
    }
    return (size_t)(h % MEMO_CAP);
}

static int memo_matches(const memo_ent *e, const char *node, X509 *signer, STACK_OF(X509) * extra)
{
    int n = extra ? sk_X509_num(extra) : 0;
    if (!e->used || strcmp(e->node, node) != 0 || e->n_certs != n + 1 || e->certs[0] != signer)
        return 0;
    for (int i = 0; i < n; i++)
        if (e->certs[i + 1] != sk_X509_value(extra, i))
            return 0;
    return 1;
}

/* Runs X509_verify_cert against store without time checks; returns the chain or NULL + error. */
static STACK_OF(X509) *
    build_chain(X509_STORE *store, X509 *signer, STACK_OF(X509) * extra, int *err)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    crgw_assert(ctx != NULL);
    STACK_OF(X509) *chain = NULL;
    *err = X509_V_ERR_UNSPECIFIED;
    if (X509_STORE_CTX_init(ctx, store, signer, extra) == 1) {
        X509_VERIFY_PARAM *p = X509_STORE_CTX_get0_param(ctx);
        X509_VERIFY_PARAM_set_flags(p, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_X509_STRICT);
        X509_VERIFY_PARAM_set_depth(p, 8);
        if (X509_verify_cert(ctx) == 1)
            chain = X509_STORE_CTX_get1_chain(ctx);
        else
            *err = X509_STORE_CTX_get_error(ctx);
    }
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return chain;
}

static const char *anchor_owner(const crgw_trust *t, X509 *anchor)
{
    for (size_t i = 0; i < t->n_nodes; i++)
        for (size_t k = 0; k < t->nodes[i].n_anchors; k++)
            if (X509_cmp(t->nodes[i].anchors[k], anchor) == 0)
                return t->nodes[i].code;
    return "?";
}

static void signer_facts(memo_ent *e, const char *node, X509 *signer);
static void chain_times(memo_ent *e);

static const memo_ent *chain_lookup(crgw_trust *t, tnode *n, X509 *signer, STACK_OF(X509) * extra)
{
    size_t start = memo_slot(n->code, signer, extra), slot = start;
    while (t->memo[slot].used) {
        if (memo_matches(&t->memo[slot], n->code, signer, extra)) {
            t->hits++;
            return &t->memo[slot];
        }
        slot = (slot + 1) % MEMO_CAP;
    }
    t->misses++;
    if (t->memo_n >= MEMO_CAP * 3 / 4) {
        memo_clear(t);
        slot = start;
    }
    memo_ent *e = &t->memo[slot];
    e->used = 1;
    t->memo_n++;
    snprintf(e->node, sizeof(e->node), "%s", n->code);
    int n_extra = extra ? sk_X509_num(extra) : 0;
    if (n_extra + 1 > MEMO_MAX_CERTS)
        n_extra = MEMO_MAX_CERTS - 1; /* longer lists simply never hit (see memo_matches) */
    e->n_certs = 0;
    X509_up_ref(signer);
    e->certs[e->n_certs++] = signer;
    for (int i = 0; i < n_extra; i++) {
        X509_up_ref(sk_X509_value(extra, i));
        e->certs[e->n_certs++] = sk_X509_value(extra, i);
    }

    signer_facts(e, n->code, signer);
    set_sm2_id(signer);
    for (int i = 0; extra != NULL && i < sk_X509_num(extra); i++)
        set_sm2_id(sk_X509_value(extra, i));
    int err = 0;
    e->chain = build_chain(n->store, signer, extra, &err);
    if (e->chain != NULL) {
        e->sub = CRGW_SUB_NONE;
        chain_times(e);
        memcpy(e->anchor_node, n->code, sizeof(e->anchor_node));
        snprintf(e->detail, sizeof(e->detail), "chains to an anchor of node %s (%d certificates)",
                 n->code, sk_X509_num(e->chain));
        return e;
    }
    int err_all = 0;
    STACK_OF(X509) *other = build_chain(t->all, signer, extra, &err_all);
    if (other != NULL) {
        const char *owner = anchor_owner(t, sk_X509_value(other, sk_X509_num(other) - 1));
        e->sub = CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE;
        snprintf(e->anchor_node, sizeof(e->anchor_node), "%s", owner);
        snprintf(e->detail, sizeof(e->detail),
                 "signer chains to the anchor of node %s, not to an anchor of issuer node %s",
                 owner, n->code);
        sk_X509_pop_free(other, X509_free);
        return e;
    }
    switch (err) {
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_INVALID_EXTENSION:
    case X509_V_ERR_INVALID_NON_CA:
        e->sub = CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE;
        break;
    default:
        e->sub = CRGW_SUB_NO_CERTIFICATE_CHAIN_FOUND;
    }
    snprintf(e->detail, sizeof(e->detail), "no chain to an anchor of node %s: %s", n->code,
             X509_verify_cert_error_string(err));
    return e;
}

/* ---- per-call checks ---- */

static time_t asn1_time_t(const ASN1_TIME *a)
{
    struct tm tm;
    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return 0;
    return timegm(&tm);
}

typedef struct {
    const char *want;
    char *other;
    size_t other_len;
    int found, foreign;
} node_names;

static int note_node_uri(const char *u, size_t ul, void *arg)
{
    node_names *n = arg;
    if (ul == strlen(n->want) && memcmp(u, n->want, ul) == 0) {
        n->found = 1;
    } else if (ul > 14 && memcmp(u, "urn:crgw:node:", 14) == 0) {
        n->foreign = 1;
        snprintf(n->other, n->other_len, "%.*s", (int)ul, u);
    }
    return 0;
}

static int san_names_node(X509 *c, const char *node, char *other, size_t other_len)
{
    char want[64];
    snprintf(want, sizeof(want), "urn:crgw:node:%s", node);
    node_names n = {.want = want, .other = other, .other_len = other_len};
    other[0] = '\0';
    crgw_x509_san_uris(c, note_node_uri, &n);
    return n.found && !n.foreign;
}

static void chain_times(memo_ent *e)
{
    e->n_times = 0;
    e->min_na = 0;
    for (int i = 0; i < sk_X509_num(e->chain) && i < 12; i++) {
        X509 *c = sk_X509_value(e->chain, i);
        e->nb[i] = asn1_time_t(X509_get0_notBefore(c));
        e->na[i] = asn1_time_t(X509_get0_notAfter(c));
        if (e->min_na == 0 || e->na[i] < e->min_na)
            e->min_na = e->na[i];
        e->n_times++;
    }
    crgw_time_format_utc(e->na[0], e->leaf_na, sizeof(e->leaf_na));
}

static void check_validity(const memo_ent *m, time_t signing, time_t at, crgw_checks *ck,
                           crgw_trust_info *info)
{
    info->not_after = m->min_na;
    for (int i = 0; i < m->n_times; i++) {
        const char *who = i == 0 ? "signer" : "CA";
        char t1[32], t2[32];
        if (m->nb[i] > signing) {
            crgw_time_format_utc(m->nb[i], t1, sizeof(t1));
            crgw_time_format_utc(signing, t2, sizeof(t2));
            crgw_checks_add(ck, "validity", CRGW_CHECK_FAILED, CRGW_SUB_NOT_YET_VALID,
                            "%s certificate not valid before %s, report issued %s", who, t1, t2);
            return;
        }
        if (m->na[i] < signing) {
            crgw_time_format_utc(m->na[i], t1, sizeof(t1));
            crgw_time_format_utc(signing, t2, sizeof(t2));
            crgw_checks_add(ck, "validity", CRGW_CHECK_FAILED, CRGW_SUB_OUT_OF_BOUNDS_NO_POE,
                            "%s certificate expired %s, before the report's issue time %s", who, t1,
                            t2);
            return;
        }
        if (m->na[i] < at) {
            crgw_time_format_utc(m->na[i], t1, sizeof(t1));
            crgw_time_format_utc(at, t2, sizeof(t2));
            crgw_checks_add(ck, "validity", CRGW_CHECK_FAILED, CRGW_SUB_OUT_OF_BOUNDS_NO_POE,
                            "%s certificate expired %s, before the evaluation time %s and no "
                            "proof of existence of the signature before that",
                            who, t1, t2);
            return;
        }
    }
    crgw_checks_add(ck, "validity", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                    "certificates valid at the issue and evaluation times (signer until %s)",
                    m->leaf_na);
}
static const crl_ent *find_crl(tnode *n, X509 *cert, X509 *issuer)
{
    for (size_t i = 0; i < n->n_crls; i++) {
        X509_CRL *crl = n->crls[i].crl;
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
            continue;
        if (n->crls[i].issuer == issuer || X509_cmp(n->crls[i].issuer, issuer) == 0)
            return &n->crls[i];
        if (crgw_sigalg_verify_crl_sig(crl, X509_get0_pubkey(issuer)))
            return &n->crls[i];
    }
    return NULL;
}
static void check_revocation(tnode *n, STACK_OF(X509) * chain, time_t signing, time_t at,
                             crgw_checks *ck, crgw_trust_info *info)
{
    int num = sk_X509_num(chain);
    for (int i = 0; i + 1 < num; i++) {
        X509 *c = sk_X509_value(chain, i);
        X509 *issuer = sk_X509_value(chain, i + 1);
        const char *who = i == 0 ? "signer" : "intermediate CA";
        const crl_ent *ce = find_crl(n, c, issuer);
        if (ce == NULL) {
            crgw_checks_add(ck, "revocation", CRGW_CHECK_FAILED, CRGW_SUB_TRY_LATER,
                            "no CRL of node %s for the %s's issuer", n->code, who);
            return;
        }
        X509_CRL *crl = ce->crl;
        if (ce->next != 0) {
            time_t nt = ce->next;
            if (info->crl_next == 0 || nt < info->crl_next)
                info->crl_next = nt;
            if (nt < at) {
                char ns[32], ta[32];
                crgw_time_format_utc(nt, ns, sizeof(ns));
                crgw_time_format_utc(at, ta, sizeof(ta));
                crgw_checks_add(ck, "revocation", CRGW_CHECK_FAILED, CRGW_SUB_TRY_LATER,
                                "CRL of node %s outdated since %s (evaluation time %s)", n->code,
                                ns, ta);
                return;
            }
        }
        X509_REVOKED *rev = NULL;
        if (X509_CRL_get0_by_cert(crl, &rev, c) == 1 && rev != NULL) {
            time_t rt = asn1_time_t(X509_REVOKED_get0_revocationDate(rev));
            char rs[32], ss[32];
            crgw_time_format_utc(rt, rs, sizeof(rs));
            crgw_time_format_utc(signing, ss, sizeof(ss));
            if (rt <= signing) {
                crgw_checks_add(ck, "revocation", CRGW_CHECK_FAILED, CRGW_SUB_REVOKED,
                                "%s certificate revoked %s, before the report's issue time %s", who,
                                rs, ss);
                return;
            }
            if (rt <= at) {
                crgw_checks_add(ck, "revocation", CRGW_CHECK_FAILED, CRGW_SUB_REVOKED_NO_POE,
                                "%s certificate revoked %s, after the issue time %s but with no "
                                "proof of existence of the signature before the revocation",
                                who, rs, ss);
                return;
            }
        }
    }
    crgw_checks_add(ck, "revocation", CRGW_CHECK_PASSED, CRGW_SUB_NONE,
                    "not revoked (CRL of node %s)", n->code);
}

static void strength_of(STACK_OF(X509) * chain, X509 *signer, memo_ent *e)
{
    char why[160];
    int num = chain ? sk_X509_num(chain) : 1;
    for (int i = 0; i < num; i++) {
        X509 *c = chain ? sk_X509_value(chain, i) : signer;
        if (!crgw_sigalg_key_strong(X509_get0_pubkey(c), why, sizeof(why))) {
            e->strong = 0;
            snprintf(e->strength_detail, sizeof(e->strength_detail), "%s: %s",
                     i == 0 ? "signer" : "CA", why);
            return;
        }
    }
    char desc[64];
    crgw_sigalg_key_desc(X509_get0_pubkey(signer), desc, sizeof(desc));
    e->strong = 1;
    snprintf(e->strength_detail, sizeof(e->strength_detail), "signer key %s", desc);
}
static void signer_facts(memo_ent *e, const char *node, X509 *signer)
{
    BIO *b = BIO_new(BIO_s_mem());
    crgw_assert(b != NULL);
    X509_NAME_print_ex(b, X509_get_subject_name(signer), 0,
                       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    snprintf(e->subject, sizeof(e->subject), "%.*s", (int)n, p);
    BIO_free(b);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(signer), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(e->serial, sizeof(e->serial), "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    uint32_t ku = X509_get_key_usage(signer);
    e->ku_ok = (X509_get_extension_flags(signer) & EXFLAG_KUSAGE) &&
               (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION));
    char other[80];
    e->san_ok = san_names_node(signer, node, other, sizeof(other));
    if (e->san_ok)
        snprintf(e->san_detail, sizeof(e->san_detail), "SAN urn:crgw:node:%s", node);
    else
        snprintf(e->san_detail, sizeof(e->san_detail),
                 "signer SAN does not name issuer node %s%s%s", node, other[0] ? " but " : "",
                 other);
}
static crgw_sub verdict_from(const crgw_checks *c, size_t from)
{
    crgw_checks view = {.v = c->v + from, .n = c->n - from, .cap = 0};
    return crgw_checks_verdict(&view);
}

crgw_sub crgw_trust_check(crgw_trust *t, const char *node, X509 *signer, STACK_OF(X509) * extra,
                          time_t signing_time, time_t at, crgw_checks *ck, crgw_trust_info *info)
{
    memset(info, 0, sizeof(*info));
    size_t from = ck->n;
    tnode *n = find_node(t, node);
    if (n == NULL) {
        memo_ent tmp;
        memset(&tmp, 0, sizeof(tmp));
        signer_facts(&tmp, "?", signer);
        memcpy(info->subject, tmp.subject, sizeof(info->subject));
        memcpy(info->serial, tmp.serial, sizeof(info->serial));
        crgw_checks_add(ck, "chain", CRGW_CHECK_FAILED, CRGW_SUB_NO_CERTIFICATE_CHAIN_FOUND,
                        "issuer node %s is not a node of the federation", node ? node : "?");
        return verdict_from(ck, from);
    }
    memo_ent *m = (memo_ent *)chain_lookup(t, n, signer, extra);
    memcpy(info->subject, m->subject, sizeof(info->subject));
    memcpy(info->serial, m->serial, sizeof(info->serial));
    snprintf(info->anchor_node, sizeof(info->anchor_node), "%s", m->anchor_node);
    crgw_checks_add(ck, "chain", m->sub == CRGW_SUB_NONE ? CRGW_CHECK_PASSED : CRGW_CHECK_FAILED,
                    m->sub, "%s", m->detail);
    if (m->ku_ok)
        crgw_checks_add(ck, "key_usage", CRGW_CHECK_PASSED, CRGW_SUB_NONE, NULL);
    else
        crgw_checks_add(ck, "key_usage", CRGW_CHECK_FAILED, CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE,
                        "signer keyUsage has neither digitalSignature nor nonRepudiation");
    crgw_checks_add(ck, "signer_node", m->san_ok ? CRGW_CHECK_PASSED : CRGW_CHECK_FAILED,
                    CRGW_SUB_CHAIN_CONSTRAINTS_FAILURE, "%s", m->san_detail);
    if (m->sub == CRGW_SUB_NONE) {
        check_validity(m, signing_time, at, ck, info);
        check_revocation(n, m->chain, signing_time, at, ck, info);
    }
    if (m->strength_detail[0] == '\0')
        strength_of(m->sub == CRGW_SUB_NONE ? m->chain : NULL, signer, m);
    crgw_checks_add(ck, "key_strength", m->strong ? CRGW_CHECK_PASSED : CRGW_CHECK_FAILED,
                    CRGW_SUB_CRYPTO_CONSTRAINTS_FAILURE, "%s", m->strength_detail);
    return verdict_from(ck, from);
}