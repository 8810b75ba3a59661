#include "gateway/verify/xmldsig.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/xmlIO.h>
#include <libxml/xmlsave.h>
#include <openssl/err.h>

#include "gateway/core/b64.h"
#include "gateway/core/util.h"
#include "gateway/verify/certcache.h"
#include "gateway/verify/excc14n.h"

#define T_ENVELOPED "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
#define T_XPATH "http://www.w3.org/TR/1999/REC-xpath-19991116"
#define C_EXC "http://www.w3.org/2001/10/xml-exc-c14n#"
#define C_INC10 "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
#define C_INC11 "http://www.w3.org/2006/12/xml-c14n11"
#define XPATH_EXPR "not(ancestor-or-self::dsig:Signature)"
#define MAX_CERTS 8
#define MAX_SIGNED_INFO (64u << 10)

static int set_err(crgw_xmldsig_result *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_err(crgw_xmldsig_result *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    return code;
}

static int is_ds(const xmlNode *n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && n->ns != NULL &&
           xmlStrEqual(n->ns->href, BAD_CAST CRGW_XMLDSIG_NS) &&
           xmlStrEqual(n->name, BAD_CAST name);
}

static int is_ws_text(const xmlNode *n)
{
    if (n->type != XML_TEXT_NODE)
        return 0;
    for (const xmlChar *p = n->content; p != NULL && *p; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            return 0;
    return 1;
}

/*
 * The next element sibling starting at n (n itself included); white-space text is skipped,
 * anything else (comment, PI, CDATA, text, entity) makes *bad = 1.
 */
static xmlNodePtr elem_from(xmlNodePtr n, int *bad)
{
    for (; n != NULL; n = n->next) {
        if (n->type == XML_ELEMENT_NODE)
            return n;
        if (!is_ws_text(n))
            *bad = 1;
    }
    return NULL;
}

/* Only the listed attributes (no namespace) are allowed on n. */
static int attrs_ok(const xmlNode *n, const char *const *allowed)
{
    for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        int ok = 0;
        for (size_t i = 0; allowed != NULL && allowed[i] != NULL && !ok; i++)
            ok = a->ns == NULL && xmlStrEqual(a->name, BAD_CAST allowed[i]);
        if (!ok)
            return 0;
    }
    return 1;
}

static const char *const A_ID[] = {"Id", NULL};
static const char *const A_ALG[] = {"Algorithm", NULL};
static const char *const A_REF[] = {"URI", "Id", NULL};

/* Algorithm attribute value (libxml2 storage, freed by caller with xmlFree). */
static xmlChar *alg_of(xmlNodePtr n)
{
    return xmlGetNoNsProp(n, BAD_CAST "Algorithm");
}

/* Text content of an element that must hold only text (no comments, no elements). */
static int text_only(xmlNodePtr n, crgw_buf *out)
{
    for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
        if (c->type != XML_TEXT_NODE)
            return -1;
        if (c->content != NULL && crgw_buf_adds(out, (const char *)c->content) != 0)
            return -1;
    }
    return 0;
}

static int b64_elem(xmlNodePtr n, unsigned char **out, size_t *len)
{
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    int rc = -1;
    if (text_only(n, &b) == 0 && b.len > 0)
        rc = crgw_b64_decode(b.data, b.len, 1, out, len);
    crgw_buf_cleanup(&b);
    return rc;
}

/* ---- document-wide scan: DTD, entities, depth, ds:Signature count, Ids ---- */

typedef struct {
    int max_depth;
    int n_signatures;
    xmlNodePtr signature;
    int bad_node;
    int too_deep;
    int ds_outside;
    int dup_id;
    int bad_ns;
    const xmlChar **ids;
    size_t n_ids, cap_ids;
} scan_state;

static void scan_ids(scan_state *s, xmlNodePtr n)
{
    for (xmlAttrPtr a = n->properties; a != NULL; a = a->next) {
        if (a->ns != NULL ||
            !(xmlStrEqual(a->name, BAD_CAST "Id") || xmlStrEqual(a->name, BAD_CAST "ID") ||
              xmlStrEqual(a->name, BAD_CAST "id")))
            continue;
        const xmlChar *v = a->children ? a->children->content : NULL;
        if (v == NULL)
            continue;
        for (size_t i = 0; i < s->n_ids; i++)
            if (xmlStrEqual(s->ids[i], v))
                s->dup_id = 1;
        if (s->n_ids == s->cap_ids) {
            s->cap_ids = s->cap_ids ? 2 * s->cap_ids : 8;
            s->ids = xrealloc(s->ids, s->cap_ids * sizeof(*s->ids));
        }
        s->ids[s->n_ids++] = v;
    }
}

static void scan(scan_state *s, xmlNodePtr n, int depth, int in_sig)
{
    for (; n != NULL; n = n->next) {
        if (n->type != XML_ELEMENT_NODE) {
            if (!crgw_excc14n_leaf_type(n->type))
                s->bad_node = 1; /* entity references, DTD nodes, XInclude markers, ... */
            continue;
        }
        if (depth > s->max_depth) {
            s->too_deep = 1;
            return;
        }
        if (n->ns == NULL && xmlStrchr(n->name, ':') != NULL)
            s->bad_ns = 1; /* unbound prefix: libxml2 keeps it as a plain name */
        for (xmlAttrPtr a = n->properties; a != NULL; a = a->next)
            if (a->ns == NULL && xmlStrchr(a->name, ':') != NULL)
                s->bad_ns = 1;
        scan_ids(s, n);
        if (is_ds(n, "Signature")) {
            s->n_signatures++;
            s->signature = n;
            scan(s, n->children, depth + 1, 1);
        } else {
            if (!in_sig && n->ns != NULL && xmlStrEqual(n->ns->href, BAD_CAST CRGW_XMLDSIG_NS))
                s->ds_outside = 1;
            scan(s, n->children, depth + 1, in_sig);
        }
    }
}

/* ---- C14N into a digest or a buffer ---- */

/*
 * Node-set selection for C14N. The Signature subtree is marked through the nodes' _private
 * field (unused by the parser and the adapters) so that the visibility callback, called for
 * every node, attribute and namespace of the document, is O(1) instead of an ancestor walk.
 */
static char mark_sig; /* inside ds:Signature */
static char mark_si;  /* inside ds:SignedInfo (and so inside ds:Signature) */

static void mark_tree(xmlNodePtr n, void *m)
{
    for (; n != NULL; n = n->next) {
        n->_private = m;
        if (n->type == XML_ELEMENT_NODE)
            mark_tree(n->children, m);
    }
}

/* Marks sig (and si inside it) for the selections below; unmark with clear_marks. */
static void set_marks(xmlNodePtr sig, xmlNodePtr si)
{
    sig->_private = &mark_sig;
    mark_tree(sig->children, &mark_sig);
    if (si != NULL) {
        si->_private = &mark_si;
        mark_tree(si->children, &mark_si);
    }
}

static void clear_marks(xmlNodePtr sig)
{
    sig->_private = NULL;
    mark_tree(sig->children, NULL);
}

typedef struct {
    int signed_info; /* 1: SignedInfo only; 0: the reference */
    xmlNodePtr root; /* reference by Id: the document element only (no PIs around it) */
} c14n_sel;

static int c14n_visible(void *ud, xmlNodePtr node, xmlNodePtr parent)
{
    const c14n_sel *sel = ud;
    if (node == NULL || node->type == XML_COMMENT_NODE)
        return 0;
    xmlNodePtr n =
        node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE ? parent : node;
    if (n == NULL)
        return 0;
    if (sel->signed_info)
        return n->_private == &mark_si;
    if (n->_private == &mark_sig || n->_private == &mark_si)
        return 0;
    if (sel->root != NULL && n != sel->root && n->parent != NULL &&
        n->parent->type == XML_DOCUMENT_NODE)
        return 0;
    return 1;
}

typedef struct {
    EVP_MD_CTX *md; /* when digesting */
    crgw_buf *buf;  /* when collecting */
    int overflow;
} c14n_sink;

static int sink_write(void *ctx, const char *p, int len)
{
    c14n_sink *s = ctx;
    if (s->md != NULL)
        EVP_DigestUpdate(s->md, p, (size_t)len);
    if (s->buf != NULL && crgw_buf_add(s->buf, p, (size_t)len) != 0) {
        s->overflow = 1;
        return -1;
    }
    return len;
}

static int sink_close(void *ctx)
{
    (void)ctx;
    return 0;
}

/*
 * The SignedInfo pass only needs the Signature's ancestors for namespace context, but libxml2
 * walks every node of the document: the Signature's siblings are unlinked for that pass (pure
 * pointer surgery, undone right after) so that the walk is over root + Signature only.
 */
typedef struct {
    xmlNodePtr parent, first, last, prev, next;
} sibling_save;

static void isolate(xmlNodePtr sig, sibling_save *sv)
{
    sv->parent = sig->parent;
    sv->first = sv->parent->children;
    sv->last = sv->parent->last;
    sv->prev = sig->prev;
    sv->next = sig->next;
    sv->parent->children = sig;
    sv->parent->last = sig;
    sig->prev = NULL;
    sig->next = NULL;
}

static void restore(xmlNodePtr sig, const sibling_save *sv)
{
    sv->parent->children = sv->first;
    sv->parent->last = sv->last;
    sig->prev = sv->prev;
    sig->next = sv->next;
}

/*
 * The reference: the document (or, by Id, the document element only) minus the Signature,
 * without comments. The Signature (and, by Id, the nodes around the document element) are
 * unlinked for the pass, so that libxml2 canonicalizes the whole remaining tree without a
 * visibility callback (its fast path); the links are restored exactly afterwards (no node is
 * freed or merged).
 */
static int run_ref_c14n(xmlDocPtr doc, xmlNodePtr sig, int by_id, int mode, c14n_sink *sink)
{
    if (mode == XML_C14N_EXCLUSIVE_1_0) {
        crgw_buf b;
        crgw_buf_init(&b, sink->buf ? sink->buf->limit : (64u << 20));
        int rc = crgw_excc14n(doc, sig, by_id, &b);
        if (rc == 0)
            sink_write(sink, b.data, (int)b.len);
        crgw_buf_cleanup(&b);
        if (rc == 0)
            return sink->overflow ? -1 : 0;
        if (rc != CRGW_EXCC14N_UNSUPPORTED)
            return -1;
    }
    xmlNodePtr parent = sig->parent, prev = sig->prev, next = sig->next;
    xmlNodePtr dfirst = doc->children, dlast = doc->last;
    xmlNodePtr rprev = parent->prev, rnext = parent->next;
    if (prev != NULL)
        prev->next = next;
    else
        parent->children = next;
    if (next != NULL)
        next->prev = prev;
    else
        parent->last = prev;
    if (by_id) {
        doc->children = parent;
        doc->last = parent;
        parent->prev = NULL;
        parent->next = NULL;
    }
    int rc = -1, rc2 = -1;
    xmlOutputBufferPtr out = xmlOutputBufferCreateIO(sink_write, sink_close, sink, NULL);
    if (out != NULL) {
        rc = xmlC14NExecute(doc, NULL, NULL, mode, NULL, 0, out);
        rc2 = xmlOutputBufferClose(out);
    }
    if (by_id) {
        doc->children = dfirst;
        doc->last = dlast;
        parent->prev = rprev;
        parent->next = rnext;
    }
    if (prev != NULL)
        prev->next = sig;
    else
        parent->children = sig;
    if (next != NULL)
        next->prev = sig;
    else
        parent->last = sig;
    return rc < 0 || rc2 < 0 || sink->overflow ? -1 : 0;
}

static int run_c14n(xmlDocPtr doc, const c14n_sel *sel, int mode, c14n_sink *sink)
{
    xmlOutputBufferPtr out = xmlOutputBufferCreateIO(sink_write, sink_close, sink, NULL);
    if (out == NULL)
        return -1;
    int rc = xmlC14NExecute(doc, c14n_visible, (void *)sel, mode, NULL, 0, out);
    int rc2 = xmlOutputBufferClose(out);
    return rc < 0 || rc2 < 0 || sink->overflow ? -1 : 0;
}

static int c14n_mode(const xmlChar *uri)
{
    if (uri == NULL)
        return -1;
    if (xmlStrEqual(uri, BAD_CAST C_EXC))
        return XML_C14N_EXCLUSIVE_1_0;
    if (xmlStrEqual(uri, BAD_CAST C_INC10))
        return XML_C14N_1_0;
    if (xmlStrEqual(uri, BAD_CAST C_INC11))
        return XML_C14N_1_1;
    return -1;
}

/* ---- parsing the Signature element ---- */

typedef struct {
    xmlNodePtr signed_info, sig_value, key_info;
    int si_mode;  /* CanonicalizationMethod */
    int ref_mode; /* C14N of the reference (inclusive 1.0 when no C14N transform) */
    const EVP_MD *md;
    unsigned char *digest_value;
    size_t digest_len;
    int ref_by_id; /* URI="#Id": the document element only, no document-level PIs */
} sig_parts;

static int check_xpath_transform(xmlNodePtr t, crgw_xmldsig_result *r)
{
    int bad = 0;
    xmlNodePtr x = elem_from(t->children, &bad);
    if (bad || !is_ds(x, "XPath") || elem_from(x->next, &bad) != NULL || bad || !attrs_ok(x, NULL))
        return set_err(r, CRGW_ERR_INVALID, "XPath transform: one ds:XPath expected");
    crgw_buf b;
    crgw_buf_init(&b, 4096);
    int rc = text_only(x, &b);
    size_t s = 0, e = b.len;
    while (s < e &&
           (b.data[s] == ' ' || b.data[s] == '\n' || b.data[s] == '\t' || b.data[s] == '\r'))
        s++;
    while (e > s && (b.data[e - 1] == ' ' || b.data[e - 1] == '\n' || b.data[e - 1] == '\t' ||
                     b.data[e - 1] == '\r'))
        e--;
    int same = rc == 0 && e - s == strlen(XPATH_EXPR) && memcmp(b.data + s, XPATH_EXPR, e - s) == 0;
    crgw_buf_cleanup(&b);
    xmlNsPtr ns = xmlSearchNs(x->doc, x, BAD_CAST "dsig");
    if (!same || ns == NULL || !xmlStrEqual(ns->href, BAD_CAST CRGW_XMLDSIG_NS))
        return set_err(r, CRGW_ERR_INVALID,
                       "XPath transform other than " XPATH_EXPR " (dsig bound to XMLDSig)");
    return CRGW_XMLDSIG_OK;
}

static int parse_transforms(xmlNodePtr ts, const crgw_xmldsig_opts *o, sig_parts *sp,
                            crgw_xmldsig_result *r)
{
    int bad = 0, step = 0, seen_xpath = 0, seen_c14n = 0;
    sp->ref_mode = XML_C14N_1_0; /* a node-set output is serialised with inclusive C14N 1.0 */
    if (!attrs_ok(ts, NULL))
        return set_err(r, CRGW_ERR_INVALID, "unexpected attribute on Transforms");
    for (xmlNodePtr t = elem_from(ts->children, &bad); t != NULL;
         t = elem_from(t->next, &bad), step++) {
        if (!is_ds(t, "Transform") || !attrs_ok(t, A_ALG))
            return set_err(r, CRGW_ERR_INVALID, "Transforms holds a non-Transform");
        xmlChar *alg = alg_of(t);
        int rc = CRGW_XMLDSIG_OK;
        int mode = c14n_mode(alg);
        int bad2 = 0;
        int has_children = elem_from(t->children, &bad2) != NULL || bad2;
        if (alg == NULL) {
            rc = set_err(r, CRGW_ERR_INVALID, "Transform without Algorithm");
        } else if (step == 0) {
            if (!xmlStrEqual(alg, BAD_CAST T_ENVELOPED) || has_children)
                rc = set_err(r, CRGW_ERR_INVALID,
                             "first transform must be enveloped-signature, got %s", alg);
        } else if (xmlStrEqual(alg, BAD_CAST T_XPATH) && o->allow_xpath_enveloped && !seen_xpath &&
                   !seen_c14n) {
            rc = check_xpath_transform(t, r);
            seen_xpath = 1;
        } else if (mode >= 0 && !seen_c14n) {
            if (has_children)
                rc = set_err(r, CRGW_ERR_INVALID,
                             "C14N transform parameters (InclusiveNamespaces) not accepted");
            sp->ref_mode = mode;
            seen_c14n = 1;
        } else {
            rc = set_err(r, CRGW_ERR_INVALID, "transform %s not in the profile", alg);
        }
        xmlFree(alg);
        if (rc != CRGW_XMLDSIG_OK)
            return rc;
    }
    if (bad)
        return set_err(r, CRGW_ERR_INVALID, "comment or text inside Transforms");
    if (step == 0)
        return set_err(r, CRGW_ERR_INVALID, "enveloped-signature transform missing");
    return CRGW_XMLDSIG_OK;
}

static int parse_reference(xmlNodePtr ref, xmlNodePtr root, const crgw_xmldsig_opts *o,
                           sig_parts *sp, crgw_xmldsig_result *r)
{
    if (!attrs_ok(ref, A_REF))
        return set_err(r, CRGW_ERR_INVALID, "unexpected attribute on Reference");
    xmlChar *uri = xmlGetNoNsProp(ref, BAD_CAST "URI");
    int rc = CRGW_XMLDSIG_OK;
    if (uri == NULL) {
        rc = set_err(r, CRGW_ERR_INVALID, "Reference without URI");
    } else if (uri[0] == '#') {
        xmlChar *id = xmlGetNoNsProp(root, BAD_CAST "Id");
        if (id == NULL || !xmlStrEqual(id, uri + 1))
            rc = set_err(r, CRGW_ERR_INVALID, "Reference URI %s is not the document element's Id",
                         uri);
        xmlFree(id);
        sp->ref_by_id = 1;
    } else if (uri[0] != '\0') {
        rc = set_err(r, CRGW_ERR_INVALID, "Reference URI %s outside the profile", uri);
    }
    xmlFree(uri);
    if (rc != CRGW_XMLDSIG_OK)
        return rc;
    int bad = 0;
    xmlNodePtr n = elem_from(ref->children, &bad);
    if (!is_ds(n, "Transforms"))
        return set_err(r, CRGW_ERR_INVALID, "Reference needs Transforms (enveloped)");
    rc = parse_transforms(n, o, sp, r);
    if (rc != CRGW_XMLDSIG_OK)
        return rc;
    n = elem_from(n->next, &bad);
    if (!is_ds(n, "DigestMethod") || !attrs_ok(n, A_ALG) || n->children != NULL)
        return set_err(r, CRGW_ERR_INVALID, "Reference needs an empty DigestMethod");
    xmlChar *dm = alg_of(n);
    sp->md = crgw_sigalg_digest_by_uri((const char *)dm);
    for (size_t i = 0; sp->md != NULL && i < 4; i++) {
        static const char *const names[] = {"SHA256", "SHA384", "SHA512", "SM3"};
        if (EVP_MD_is_a(sp->md, names[i]))
            r->digest = names[i];
    }
    if (sp->md == NULL) {
        rc = set_err(r, CRGW_ERR_ALG, "DigestMethod %s not supported",
                     dm ? (const char *)dm : "(none)");
        xmlFree(dm);
        return rc;
    }
    xmlFree(dm);
    n = elem_from(n->next, &bad);
    if (!is_ds(n, "DigestValue") || !attrs_ok(n, NULL))
        return set_err(r, CRGW_ERR_INVALID, "Reference needs a DigestValue");
    if (b64_elem(n, &sp->digest_value, &sp->digest_len) != 0)
        return set_err(r, CRGW_ERR_INVALID,
                       "DigestValue is not plain base64 text (comment, element or bad char)");
    if (sp->digest_len != (size_t)EVP_MD_get_size(sp->md))
        return set_err(r, CRGW_ERR_INVALID, "DigestValue has the wrong length");
    if (elem_from(n->next, &bad) != NULL || bad)
        return set_err(r, CRGW_ERR_INVALID, "unexpected content after DigestValue");
    return CRGW_XMLDSIG_OK;
}

static int parse_signed_info(xmlNodePtr si, xmlNodePtr root, const crgw_xmldsig_opts *o,
                             sig_parts *sp, crgw_xmldsig_result *r)
{
    int bad = 0;
    if (!attrs_ok(si, A_ID))
        return set_err(r, CRGW_ERR_INVALID, "unexpected attribute on SignedInfo");
    xmlNodePtr n = elem_from(si->children, &bad);
    if (!is_ds(n, "CanonicalizationMethod") || !attrs_ok(n, A_ALG) || n->children != NULL)
        return set_err(r, CRGW_ERR_INVALID,
                       "SignedInfo needs an empty "
                       "CanonicalizationMethod first");
    xmlChar *cm = alg_of(n);
    sp->si_mode = c14n_mode(cm);
    if (sp->si_mode < 0) {
        int rc = set_err(r, CRGW_ERR_INVALID, "CanonicalizationMethod %s not accepted",
                         cm ? (const char *)cm : "(none)");
        xmlFree(cm);
        return rc;
    }
    xmlFree(cm);
    n = elem_from(n->next, &bad);
    if (!is_ds(n, "SignatureMethod") || !attrs_ok(n, A_ALG) || n->children != NULL)
        return set_err(r, CRGW_ERR_INVALID, "SignedInfo needs an empty SignatureMethod");
    xmlChar *sm = alg_of(n);
    r->alg = crgw_sigalg_by_uri((const char *)sm);
    if (r->alg == NULL) {
        int rc = set_err(r, CRGW_ERR_ALG, "SignatureMethod %s not supported",
                         sm ? (const char *)sm : "(none)");
        xmlFree(sm);
        return rc;
    }
    xmlFree(sm);
    n = elem_from(n->next, &bad);
    if (!is_ds(n, "Reference"))
        return set_err(r, CRGW_ERR_INVALID, "SignedInfo needs one Reference");
    xmlNodePtr ref = n;
    n = elem_from(n->next, &bad);
    if (n != NULL)
        return set_err(r, CRGW_ERR_INVALID, "SignedInfo must hold exactly one Reference");
    if (bad)
        return set_err(r, CRGW_ERR_INVALID, "comment or text inside SignedInfo");
    return parse_reference(ref, root, o, sp, r);
}

static int parse_key_info(xmlNodePtr ki, crgw_xmldsig_result *r)
{
    int bad = 0;
    if (!attrs_ok(ki, A_ID))
        return set_err(r, CRGW_ERR_INVALID, "unexpected attribute on KeyInfo");
    int n_data = 0;
    for (xmlNodePtr n = elem_from(ki->children, &bad); n != NULL; n = elem_from(n->next, &bad)) {
        if (is_ds(n, "KeyName"))
            continue;
        if (!is_ds(n, "X509Data") || !attrs_ok(n, NULL) || ++n_data > 1)
            return set_err(r, CRGW_ERR_INVALID, "KeyInfo may hold KeyName and one X509Data only");
        for (xmlNodePtr c = elem_from(n->children, &bad); c != NULL; c = elem_from(c->next, &bad)) {
            if (!is_ds(c, "X509Certificate") || !attrs_ok(c, NULL))
                return set_err(r, CRGW_ERR_INVALID,
                               "X509Data may hold X509Certificate elements only");
            unsigned char *der = NULL;
            size_t len = 0;
            if (b64_elem(c, &der, &len) != 0)
                return set_err(r, CRGW_ERR_INVALID, "X509Certificate is not base64");
            X509 *x = crgw_certcache_d2i(der, len);
            free(der);
            if (x == NULL)
                return set_err(r, CRGW_ERR_INVALID, "X509Certificate is not DER");
            if (r->signer == NULL) {
                r->signer = x;
            } else if (sk_X509_num(r->extra) >= MAX_CERTS || !sk_X509_push(r->extra, x)) {
                X509_free(x);
                return set_err(r, CRGW_ERR_INVALID, "too many certificates");
            }
        }
    }
    if (bad)
        return set_err(r, CRGW_ERR_INVALID, "comment or text inside KeyInfo");
    return CRGW_XMLDSIG_OK;
}

static int parse_signature(xmlNodePtr sig, xmlNodePtr root, const crgw_xmldsig_opts *o,
                           sig_parts *sp, crgw_xmldsig_result *r)
{
    int bad = 0;
    if (!attrs_ok(sig, A_ID))
        return set_err(r, CRGW_ERR_INVALID, "unexpected attribute on Signature");
    sp->signed_info = elem_from(sig->children, &bad);
    if (!is_ds(sp->signed_info, "SignedInfo"))
        return set_err(r, CRGW_ERR_INVALID, "Signature must start with SignedInfo");
    sp->sig_value = elem_from(sp->signed_info->next, &bad);
    if (!is_ds(sp->sig_value, "SignatureValue") || !attrs_ok(sp->sig_value, A_ID))
        return set_err(r, CRGW_ERR_INVALID, "SignatureValue must follow SignedInfo");
    xmlNodePtr n = elem_from(sp->sig_value->next, &bad);
    if (is_ds(n, "KeyInfo")) {
        sp->key_info = n;
        n = elem_from(n->next, &bad);
    }
    if (n != NULL)
        return set_err(r, CRGW_ERR_INVALID,
                       "Signature holds %s after SignatureValue/KeyInfo (Object not accepted)",
                       (const char *)n->name);
    if (bad)
        return set_err(r, CRGW_ERR_INVALID, "comment or text inside Signature");
    int rc = parse_signed_info(sp->signed_info, root, o, sp, r);
    if (rc != CRGW_XMLDSIG_OK)
        return rc;
    if (sp->key_info != NULL)
        return parse_key_info(sp->key_info, r);
    return CRGW_XMLDSIG_OK;
}

int crgw_xmldsig_verify(xmlDocPtr doc, const crgw_xmldsig_opts *o, crgw_xmldsig_result *r)
{
    static const crgw_xmldsig_opts defaults = {0};
    memset(r, 0, sizeof(*r));
    r->extra = sk_X509_new_null();
    crgw_assert(r->extra != NULL);
    if (o == NULL)
        o = &defaults;
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root == NULL)
        return set_err(r, CRGW_ERR_INVALID, "no document element");
    if (doc->intSubset != NULL || doc->extSubset != NULL)
        return set_err(r, CRGW_ERR_INVALID, "DTD not accepted");
    scan_state st = {.max_depth = o->max_depth > 0 ? o->max_depth : 64};
    scan(&st, doc->children, 0, 0);
    free(st.ids);
    if (st.bad_node)
        return set_err(r, CRGW_ERR_INVALID, "entity reference or DTD node in document");
    if (st.too_deep)
        return set_err(r, CRGW_ERR_INVALID, "document nested deeper than %d", st.max_depth);
    if (st.bad_ns)
        return set_err(r, CRGW_ERR_INVALID, "namespace error: unbound prefix");
    if (st.n_signatures == 0)
        return set_err(r, CRGW_ERR_INVALID, "no ds:Signature");
    if (st.n_signatures > 1)
        return set_err(r, CRGW_ERR_INVALID, "%d ds:Signature elements (exactly one)",
                       st.n_signatures);
    if (st.ds_outside)
        return set_err(r, CRGW_ERR_INVALID, "XMLDSig element outside ds:Signature");
    if (st.dup_id)
        return set_err(r, CRGW_ERR_INVALID, "duplicate Id attribute values");
    if (st.signature->parent != root)
        return set_err(r, CRGW_ERR_INVALID, "ds:Signature is not a child of the document element");
    r->signature = st.signature;
    r->covered = root;

    sig_parts sp = {0};
    int rc = parse_signature(st.signature, root, o, &sp, r);
    if (rc != CRGW_XMLDSIG_OK)
        goto out;

    EVP_PKEY *key = o->key;
    if (key == NULL) {
        if (r->signer == NULL) {
            rc = set_err(r, CRGW_ERR_KEY, "no X509Certificate in KeyInfo");
            goto out;
        }
        key = X509_get0_pubkey(r->signer);
    }
    if (key == NULL || !crgw_sigalg_key_fits(r->alg, key, 0)) {
        rc = set_err(r, CRGW_ERR_KEY, "signer key does not fit %s", r->alg->jws);
        goto out;
    }

    /* Reference digest over the document element minus the Signature, no comments. */
    set_marks(st.signature, sp.signed_info);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    crgw_assert(md != NULL);
    EVP_DigestInit_ex(md, sp.md, NULL);
    c14n_sink ds = {.md = md};
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    int c14n_ok = run_ref_c14n(doc, st.signature, sp.ref_by_id, sp.ref_mode, &ds) == 0;
    EVP_DigestFinal_ex(md, dig, &dl);
    EVP_MD_CTX_free(md);
    if (!c14n_ok) {
        rc = set_err(r, CRGW_ERR_INVALID, "canonicalization of the reference failed");
        goto out;
    }
    if (dl != sp.digest_len || CRYPTO_memcmp(dig, sp.digest_value, dl) != 0) {
        rc = set_err(r, CRGW_ERR_DIGEST, "reference digest does not match");
        goto out;
    }

    /* SignedInfo, canonicalized in context, signed with the SignatureMethod. */
    crgw_buf si;
    crgw_buf_init(&si, MAX_SIGNED_INFO);
    c14n_sel si_sel = {.signed_info = 1, .root = NULL};
    c14n_sink ss = {.buf = &si};
    int si_rc = -1;
    if (sp.si_mode == XML_C14N_EXCLUSIVE_1_0)
        si_rc = crgw_excc14n_element(sp.signed_info, &si) == 0 ? 0 : -1;
    if (si_rc != 0) {
        crgw_buf_reset(&si);
        sibling_save sv;
        isolate(st.signature, &sv);
        si_rc = run_c14n(doc, &si_sel, sp.si_mode, &ss);
        restore(st.signature, &sv);
    }
    if (si_rc != 0) {
        crgw_buf_cleanup(&si);
        rc = set_err(r, CRGW_ERR_INVALID, "canonicalization of SignedInfo failed");
        goto out;
    }
    unsigned char *sig = NULL;
    size_t sig_len = 0;
    if (b64_elem(sp.sig_value, &sig, &sig_len) != 0) {
        crgw_buf_cleanup(&si);
        rc = set_err(r, CRGW_ERR_INVALID, "SignatureValue is not plain base64 text");
        goto out;
    }
    int vr = crgw_sigalg_verify(r->alg, key, (const unsigned char *)si.data, si.len, sig, sig_len,
                                r->alg->xml_enc);
    free(sig);
    crgw_buf_cleanup(&si);
    if (vr == CRGW_ERR_KEY)
        rc = set_err(r, CRGW_ERR_KEY, "signer key does not fit %s", r->alg->jws);
    else if (vr != CRGW_SIGALG_OK)
        rc = set_err(r, CRGW_ERR_SIG, "%s SignatureValue does not verify", r->alg->jws);
out:
    if (r->signature != NULL)
        clear_marks(r->signature);
    free(sp.digest_value);
    return rc;
}

void crgw_xmldsig_result_cleanup(crgw_xmldsig_result *r)
{
    X509_free(r->signer);
    sk_X509_pop_free(r->extra, X509_free);
    r->signer = NULL;
    r->extra = NULL;
}

/* ---- signing ---- */

static xmlNodePtr add_ds(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *indent)
{
    xmlAddChild(parent, xmlNewText(BAD_CAST indent));
    return xmlNewChild(parent, ns, BAD_CAST name, NULL);
}

static void add_alg(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *alg,
                    const char *indent)
{
    xmlNodePtr n = add_ds(parent, ns, name, indent);
    xmlNewProp(n, BAD_CAST "Algorithm", BAD_CAST alg);
}

/* KeyInfo/X509Data: the signing certificate, then the chain. 0, or -1 (not encodable). */
static int add_key_info(xmlNodePtr sig, xmlNsPtr ns, X509 *cert, STACK_OF(X509) * chain,
                        const char *i1, const char *i2, const char *i3)
{
    xmlNodePtr ki = add_ds(sig, ns, "KeyInfo", i1);
    xmlNodePtr xd = add_ds(ki, ns, "X509Data", i2);
    int ncert = chain ? sk_X509_num(chain) : 0;
    for (int i = -1; i < ncert; i++) {
        X509 *c = i < 0 ? cert : sk_X509_value(chain, i);
        unsigned char *der = NULL;
        int dlen = i2d_X509(c, &der);
        if (dlen <= 0)
            return -1;
        char *b = crgw_b64_encode(der, (size_t)dlen, NULL);
        OPENSSL_free(der);
        xmlNodePtr xc = add_ds(xd, ns, "X509Certificate", i3);
        xmlNodeAddContent(xc, BAD_CAST b);
        free(b);
    }
    xmlAddChild(xd, xmlNewText(BAD_CAST i2));
    xmlAddChild(ki, xmlNewText(BAD_CAST i1));
    return 0;
}

/* Canonicalizes SignedInfo (its DigestValue filled in), signs it and fills SignatureValue sv. */
static int sign_signed_info(xmlDocPtr doc, xmlNodePtr sig, xmlNodePtr si, xmlNodePtr sv,
                            const crgw_sigalg *alg, EVP_PKEY *key, crgw_xmldsig_result *r)
{
    crgw_buf sib;
    crgw_buf_init(&sib, MAX_SIGNED_INFO);
    set_marks(sig, si); /* again: the DigestValue text node is new */
    c14n_sel si_sel = {.signed_info = 1, .root = NULL};
    c14n_sink ss = {.buf = &sib};
    sibling_save saved;
    isolate(sig, &saved);
    int si_rc = run_c14n(doc, &si_sel, XML_C14N_EXCLUSIVE_1_0, &ss);
    restore(sig, &saved);
    if (si_rc != 0) {
        crgw_buf_cleanup(&sib);
        return set_err(r, CRGW_ERR_INVALID, "canonicalization of SignedInfo failed");
    }
    unsigned char *sv_bytes = NULL;
    size_t sv_len = 0;
    if (crgw_sigalg_sign(alg, key, (const unsigned char *)sib.data, sib.len, alg->xml_enc,
                         &sv_bytes, &sv_len) != CRGW_SIGALG_OK) {
        crgw_buf_cleanup(&sib);
        return set_err(r, CRGW_ERR_KEY, "signing failed");
    }
    crgw_buf_cleanup(&sib);
    char *sb = crgw_b64_encode(sv_bytes, sv_len, NULL);
    free(sv_bytes);
    xmlNodeAddContent(sv, BAD_CAST sb);
    free(sb);
    return CRGW_XMLDSIG_OK;
}

int crgw_xmldsig_sign(xmlDocPtr doc, EVP_PKEY *key, X509 *cert, STACK_OF(X509) * chain,
                      const crgw_xmldsig_sign_opts *o, char *err, size_t err_len)
{
    crgw_xmldsig_result r = {0};
    xmlNodePtr marked = NULL;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const crgw_sigalg *alg = crgw_sigalg_by_jws(o->alg);
    const char *dname = o->digest ? o->digest : "SHA256";
    const char *duri = crgw_sigalg_digest_uri(dname);
    int rc = CRGW_XMLDSIG_OK;
    if (root == NULL || doc->intSubset != NULL) {
        rc = set_err(&r, CRGW_ERR_INVALID, "no document element, or a DTD");
        goto out;
    }
    if (alg == NULL || alg->xml_uri == NULL || duri == NULL) {
        rc = set_err(&r, CRGW_ERR_ALG, "algorithm %s / digest %s not supported", o->alg, dname);
        goto out;
    }
    if (!crgw_sigalg_key_fits(alg, key, 0)) {
        rc = set_err(&r, CRGW_ERR_KEY, "key does not fit %s", o->alg);
        goto out;
    }
    scan_state st = {.max_depth = 64};
    scan(&st, doc->children, 0, 0);
    free(st.ids);
    if (st.n_signatures > 0 || st.ds_outside || st.bad_node) {
        rc = set_err(&r, CRGW_ERR_INVALID, "document already holds XMLDSig elements");
        goto out;
    }
    xmlChar *id = NULL;
    if (o->ref_by_id) {
        id = xmlGetNoNsProp(root, BAD_CAST "Id");
        if (id == NULL) {
            rc = set_err(&r, CRGW_ERR_INVALID, "document element has no Id attribute");
            goto out;
        }
    }
    /* white space between the root's children, taken from the one before the last element */
    char indent[64] = "\n  ";
    xmlNodePtr last = root->last;
    if (last != NULL && is_ws_text(last) && last->prev != NULL &&
        last->prev->type == XML_ELEMENT_NODE && last->prev->prev != NULL &&
        is_ws_text(last->prev->prev) && xmlStrlen(last->prev->prev->content) < 60 &&
        xmlStrchr(last->prev->prev->content, '\n') != NULL)
        snprintf(indent, sizeof(indent), "%s", (const char *)last->prev->prev->content);
    const char *nl = strrchr(indent, '\n');
    const char *ind = nl ? nl + 1 : "";
    char i1[80], i2[80], i3[80], i4[80];
    snprintf(i1, sizeof(i1), "\n%s  ", ind);
    snprintf(i2, sizeof(i2), "\n%s    ", ind);
    snprintf(i3, sizeof(i3), "\n%s      ", ind);
    snprintf(i4, sizeof(i4), "\n%s        ", ind);

    xmlNodePtr sig = xmlNewDocNode(doc, NULL, BAD_CAST "Signature", NULL);
    xmlNsPtr ns = xmlNewNs(sig, BAD_CAST CRGW_XMLDSIG_NS, BAD_CAST "ds");
    xmlSetNs(sig, ns);
    if (last != NULL && is_ws_text(last)) {
        /* element first, then the text before it: text nodes next to text would merge */
        xmlAddPrevSibling(last, sig);
        xmlAddPrevSibling(sig, xmlNewDocText(doc, BAD_CAST indent));
    } else {
        xmlAddChild(root, xmlNewDocText(doc, BAD_CAST indent));
        xmlAddChild(root, sig);
        xmlAddChild(root, xmlNewDocText(doc, BAD_CAST "\n"));
    }
    xmlNodePtr si = add_ds(sig, ns, "SignedInfo", i1);
    add_alg(si, ns, "CanonicalizationMethod", C_EXC, i2);
    add_alg(si, ns, "SignatureMethod", alg->xml_uri, i2);
    xmlNodePtr ref = add_ds(si, ns, "Reference", i2);
    char uri[256];
    snprintf(uri, sizeof(uri), "%s%s", id ? "#" : "", id ? (const char *)id : "");
    xmlFree(id);
    xmlNewProp(ref, BAD_CAST "URI", BAD_CAST uri);
    xmlNodePtr ts = add_ds(ref, ns, "Transforms", i3);
    add_alg(ts, ns, "Transform", T_ENVELOPED, i4);
    add_alg(ts, ns, "Transform", C_EXC, i4);
    xmlAddChild(ts, xmlNewText(BAD_CAST i3));
    add_alg(ref, ns, "DigestMethod", duri, i3);
    xmlNodePtr dv = add_ds(ref, ns, "DigestValue", i3);
    xmlAddChild(ref, xmlNewText(BAD_CAST i2));
    xmlAddChild(si, xmlNewText(BAD_CAST i1));
    xmlNodePtr sv = add_ds(sig, ns, "SignatureValue", i1);
    if (add_key_info(sig, ns, cert, chain, i1, i2, i3) != 0) {
        rc = set_err(&r, CRGW_ERR_KEY, "certificate cannot be encoded");
        goto out;
    }
    char endind[80];
    snprintf(endind, sizeof(endind), "\n%s", ind);
    xmlAddChild(sig, xmlNewText(BAD_CAST endind));

    set_marks(sig, si);
    marked = sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    crgw_assert(md != NULL);
    EVP_DigestInit_ex(md, EVP_get_digestbyname(dname), NULL);
    c14n_sink ds = {.md = md};
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned dl = 0;
    int ok = run_ref_c14n(doc, sig, o->ref_by_id, XML_C14N_EXCLUSIVE_1_0, &ds) == 0;
    EVP_DigestFinal_ex(md, dig, &dl);
    EVP_MD_CTX_free(md);
    if (!ok) {
        rc = set_err(&r, CRGW_ERR_INVALID, "canonicalization failed");
        goto out;
    }
    char *db = crgw_b64_encode(dig, dl, NULL);
    xmlNodeAddContent(dv, BAD_CAST db);
    free(db);
    rc = sign_signed_info(doc, sig, si, sv, alg, key, &r);
out:
    if (marked != NULL)
        clear_marks(marked);
    if (rc != CRGW_XMLDSIG_OK && err != NULL)
        snprintf(err, err_len, "%s", r.err);
    return rc;
}

int crgw_xmldsig_serialize(xmlDocPtr doc, char **out, size_t *out_len)
{
    xmlChar *mem = NULL;
    int len = 0;
    const char *enc = doc->encoding ? (const char *)doc->encoding : "UTF-8";
    xmlDocDumpMemoryEnc(doc, &mem, &len, enc);
    if (mem == NULL || len <= 0) {
        xmlFree(mem);
        return -1;
    }
    *out = xmalloc((size_t)len + 1);
    memcpy(*out, mem, (size_t)len);
    (*out)[len] = '\0';
    *out_len = (size_t)len;
    xmlFree(mem);
    return 0;
}
