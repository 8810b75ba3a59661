#include "gateway/translate/xmlmap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

#include "gateway/core/util.h"
#include "gateway/translate/engine.h"

#define XML_MAX_BYTES (4u << 20)
#define PROV_TAG "crgw-provenance "

typedef struct {
    const map_dialect *d;
    crgw_buf text;
    xmlDocPtr doc;
    xmlNsPtr defns; /* output: the default namespace declared on the root */
} xml_st;

/* ---- hardened parsing ---- */

typedef struct {
    int dtd;
} parse_guard;

static void refuse_subset(void *ctx, const xmlChar *name, const xmlChar *ext, const xmlChar *sys)
{
    (void)name;
    (void)ext;
    (void)sys;
    xmlParserCtxtPtr c = ctx;
    ((parse_guard *)c->_private)->dtd = 1;
    xmlStopParser(c);
}

static void refuse_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
                          const xmlChar *sys, xmlChar *content)
{
    (void)name;
    (void)type;
    (void)pub;
    (void)sys;
    (void)content;
    xmlParserCtxtPtr c = ctx;
    ((parse_guard *)c->_private)->dtd = 1;
    xmlStopParser(c);
}

typedef struct {
    int set;
    int line;
    char msg[200];
} first_err;

static void quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void keep_first(void *ctx, xmlErrorPtr e)
{
    first_err *fe = ctx;
    if (fe->set || e == NULL || e->level < XML_ERR_ERROR)
        return;
    fe->set = 1;
    fe->line = e->line;
    snprintf(fe->msg, sizeof(fe->msg), "%s", e->message ? e->message : "error");
}

static int too_deep(xmlNodePtr root, int max)
{
    if (max < 1)
        return 1;
    xmlNodePtr n = root->children;
    int d = 2;
    if (n == NULL)
        return 0;
    for (;;) {
        if (n->type == XML_ELEMENT_NODE && d > max)
            return 1;
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            d++;
            continue;
        }
        while (n->next == NULL) {
            n = n->parent;
            d--;
            if (n == root || n == NULL)
                return 0;
        }
        n = n->next;
    }
}

int crgw_xml_parse_strict(const char *buf, size_t len, int max_depth, xmlDocPtr *out,
                          crgw_diags *errs)
{
    *out = NULL;
    if (max_depth <= 0)
        max_depth = 64;
    if (len > XML_MAX_BYTES || len > INT_MAX) {
        crgw_diags_add(errs, "$", "document larger than %u bytes", XML_MAX_BYTES);
        return -1;
    }
    if (len == 0) {
        crgw_diags_add(errs, "$", "empty document");
        return -1;
    }
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        crgw_diags_add(errs, "$", "out of memory");
        return -1;
    }
    parse_guard g = {0};
    ctxt->_private = &g;
    ctxt->sax->internalSubset = refuse_subset;
    ctxt->sax->externalSubset = refuse_subset;
    ctxt->sax->entityDecl = refuse_entity;
    first_err fe = {0};
    xmlGenericErrorFunc old_gen = xmlGenericError;
    void *old_gen_ctx = xmlGenericErrorContext;
    xmlStructuredErrorFunc old_st = xmlStructuredError;
    void *old_st_ctx = xmlStructuredErrorContext;
    xmlSetGenericErrorFunc(NULL, quiet);
    xmlSetStructuredErrorFunc(&fe, keep_first);
    int opts = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, NULL, NULL, opts);
    xmlSetGenericErrorFunc(old_gen_ctx, old_gen);
    xmlSetStructuredErrorFunc(old_st_ctx, old_st);
    int rc = -1;
    if (g.dtd) {
        crgw_diags_add(errs, "$", "DOCTYPE and entity declarations are not accepted");
    } else if (doc == NULL || !ctxt->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        char msg[256];
        snprintf(msg, sizeof(msg), "%s",
                 fe.set            ? fe.msg
                 : e && e->message ? e->message
                                   : "not well-formed XML");
        size_t ml = strlen(msg);
        while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
            msg[--ml] = '\0';
        int line = fe.set ? fe.line : e ? e->line : 0;
        if (line > 0)
            crgw_diags_add(errs, "$", "XML: %s (line %d)", msg, line);
        else
            crgw_diags_add(errs, "$", "XML: %s", msg);
    } else if (doc->intSubset != NULL || doc->extSubset != NULL) {
        crgw_diags_add(errs, "$", "DOCTYPE and entity declarations are not accepted");
    } else if (xmlDocGetRootElement(doc) == NULL) {
        crgw_diags_add(errs, "$", "no root element");
    } else if (too_deep(xmlDocGetRootElement(doc), max_depth)) {
        crgw_diags_add(errs, "$", "elements nested deeper than %d", max_depth);
    } else {
        rc = 0;
    }
    ctxt->_private = NULL;
    xmlFreeParserCtxt(ctxt);
    if (rc != 0) {
        if (doc)
            xmlFreeDoc(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

/* ---- reading ops ---- */

static int step_match(xmlNodePtr n, const map_step *s)
{
    if (n->type != XML_ELEMENT_NODE || strcmp((const char *)n->name, s->name) != 0)
        return 0;
    if (s->ns == NULL)
        return n->ns == NULL;
    return n->ns != NULL && strcmp((const char *)n->ns->href, s->ns) == 0;
}

static xmlAttrPtr find_attr(xmlNodePtr n, const char *name)
{
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a;
    return NULL;
}

static int x_find(void *st, void *ctx, const map_path *p, void **out)
{
    (void)st;
    xmlNodePtr n = ctx;
    *out = NULL;
    if (p->n == 0) {
        *out = n;
        return 1;
    }
    for (size_t i = 0; i < p->n; i++) {
        const map_step *s = &p->v[i];
        if (s->attr) {
            xmlAttrPtr a = find_attr(n, s->name);
            *out = a;
            return a ? 1 : 0;
        }
        xmlNodePtr first = NULL;
        int cnt = 0;
        for (xmlNodePtr c = n->children; c; c = c->next)
            if (step_match(c, s) && cnt++ == 0)
                first = c;
        if (cnt != 1) {
            *out = first;
            return cnt;
        }
        n = first;
    }
    *out = n;
    return 1;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int x_scalar(void *st, void *h, const char **s, size_t *n)
{
    xml_st *x = st;
    xmlNodePtr node = h;
    crgw_buf_reset(&x->text);
    for (xmlNodePtr c = node->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            crgw_buf_adds(&x->text, (const char *)c->content);
    const char *p = x->text.data ? x->text.data : "";
    size_t len = x->text.len;
    while (len > 0 && is_ws(*p)) {
        p++;
        len--;
    }
    while (len > 0 && is_ws(p[len - 1]))
        len--;
    *s = p;
    *n = len;
    return 0;
}

static int each_rec(xmlNodePtr n, const map_path *p, size_t i, engine_each_fn fn, void *u,
                    int *present, int *count)
{
    const map_step *s = &p->v[i];
    if (i + 1 == p->n) {
        *present = 1;
        for (xmlNodePtr c = n->children; c; c = c->next) {
            if (!step_match(c, s))
                continue;
            (*count)++;
            if (fn(c, NULL, u))
                return 1;
        }
        return 0;
    }
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (step_match(c, s) && each_rec(c, p, i + 1, fn, u, present, count))
            return 1;
    return 0;
}

static int x_each(void *st, void *ctx, const map_path *p, int key_any, engine_each_fn fn, void *u,
                  int *present)
{
    (void)st;
    (void)key_any;
    int count = 0;
    *present = 0;
    if (p->n == 0 || p->v[p->n - 1].attr)
        return -1;
    each_rec(ctx, p, 0, fn, u, present, &count);
    if (p->n == 1)
        *present = count > 0;
    return count;
}

/* ---- writing ops ---- */

/* valid UTF-8 made of XML 1.0 characters */
static int xml_text_ok(const char *v, const char **why)
{
    const unsigned char *p = (const unsigned char *)v;
    while (*p) {
        unsigned c = *p, cp;
        int k;
        if (c < 0x80) {
            cp = c;
            k = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            k = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            k = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            k = 3;
        } else {
            *why = "invalid UTF-8";
            return 0;
        }
        p++;
        for (int i = 0; i < k; i++, p++) {
            if ((*p & 0xC0) != 0x80) {
                *why = "invalid UTF-8";
                return 0;
            }
            cp = (cp << 6) | (*p & 0x3F);
        }
        if ((cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD) || (cp >= 0xD800 && cp <= 0xDFFF) ||
            cp == 0xFFFE || cp == 0xFFFF || cp > 0x10FFFF) {
            *why = "a character XML cannot hold";
            return 0;
        }
    }
    return 1;
}

static xmlNsPtr out_ns(xml_st *x, xmlNodePtr at, const char *href)
{
    if (href == NULL)
        return NULL;
    if (x->defns && strcmp((const char *)x->defns->href, href) == 0)
        return x->defns;
    xmlNsPtr ns = xmlSearchNsByHref(x->doc, at, (const xmlChar *)href);
    if (ns)
        return ns;
    const char *prefix = "ns";
    for (size_t i = 0; i < x->d->nns; i++)
        if (strcmp(x->d->ns[i].uri, href) == 0 && x->d->ns[i].prefix[0])
            prefix = x->d->ns[i].prefix;
    return xmlNewNs(xmlDocGetRootElement(x->doc), (const xmlChar *)href, (const xmlChar *)prefix);
}

static xmlNodePtr child_or_new(xml_st *x, xmlNodePtr n, const map_step *s)
{
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (step_match(c, s))
            return c;
    return xmlNewChild(n, out_ns(x, n, s->ns), (const xmlChar *)s->name, NULL);
}

static int x_set(void *st, void *ctx, const map_path *p, const char *v, int as_bool,
                 const char **why)
{
    (void)as_bool;
    xml_st *x = st;
    xmlNodePtr n = ctx;
    if (!xml_text_ok(v, why))
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        const map_step *s = &p->v[i];
        if (s->attr) {
            xmlSetProp(n, (const xmlChar *)s->name, (const xmlChar *)v);
            return 0;
        }
        n = child_or_new(x, n, s);
    }
    while (n->children) {
        xmlNodePtr c = n->children;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    xmlNodeAddContent(n, (const xmlChar *)v);
    return 0;
}

static void *x_container(void *st, void *ctx, const map_path *p, int key_any)
{
    (void)key_any;
    xml_st *x = st;
    xmlNodePtr n = ctx;
    for (size_t i = 0; i + 1 < p->n; i++)
        n = child_or_new(x, n, &p->v[i]);
    return n;
}

static void *x_item(void *st, void *container, const map_path *p)
{
    xml_st *x = st;
    xmlNodePtr c = container;
    const map_step *s = &p->v[p->n - 1];
    return xmlNewChild(c, out_ns(x, c, s->ns), (const xmlChar *)s->name, NULL);
}

static int x_list_add(void *st, void *container, const map_path *p, const map_path *value,
                      const char *v, const char **why)
{
    if (!xml_text_ok(v, why))
        return -1;
    return x_set(st, x_item(st, container, p), value, v, 0, why);
}

static int x_map_add(void *st, void *container, const map_field *f, const char *k, const char *v,
                     const char **why)
{
    (void)st;
    (void)container;
    (void)f;
    return xml_text_ok(k, why) && xml_text_ok(v, why) ? 0 : -1;
}

static const engine_ops XML_OPS = {
    x_find, x_scalar, x_each, x_set, x_container, x_item, x_list_add, x_map_add,
};

/* ---- unknown elements ---- */

static const map_schema *schema_kid(const map_schema *s, xmlNodePtr n, int attr)
{
    for (size_t i = 0; i < s->nkids; i++) {
        const map_schema *k = &s->kids[i];
        if (k->step.attr != attr || strcmp(k->step.name, (const char *)n->name) != 0)
            continue;
        if (attr) {
            if (n->ns == NULL)
                return k;
            continue;
        }
        if (step_match(n, &k->step))
            return k;
    }
    return NULL;
}

static void unknown_walk(xmlNodePtr n, const map_schema *s, char *loc, size_t len, size_t cap,
                         crgw_diags *warn, int depth)
{
    if (depth > 128)
        return;
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        if (schema_kid(s, (xmlNodePtr)a, 1) == NULL) {
            char p[600];
            snprintf(p, sizeof(p), "%.*s/@%s", (int)len, loc, (const char *)a->name);
            crgw_diags_add(warn, p, "unknown attribute ignored");
        }
    for (xmlNodePtr c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const map_schema *k = schema_kid(s, c, 0);
        if (k != NULL && (k->ignore || k->any))
            continue;
        /* the location is only built when needed */
        size_t kl = strlen((const char *)c->name), nl = len;
        if (len + kl + 2 < cap) {
            loc[len] = '/';
            memcpy(loc + len + 1, c->name, kl + 1);
            nl = len + 1 + kl;
        }
        if (k == NULL) {
            crgw_diags_add(warn, loc, "unknown element ignored");
            continue;
        }
        if (!k->ignore && !k->any)
            unknown_walk(c, k, loc, nl, cap, warn, depth + 1);
    }
}

/* ---- entry points ---- */

int xmlmap_root_matches(const map_dialect *d, xmlNodePtr root)
{
    return d->xml && root && d->root.name && step_match(root, &d->root);
}

static json_t *find_provenance(xmlNodePtr root)
{
    if (root->doc == NULL)
        return NULL;
    for (xmlNodePtr c = root->doc->children; c; c = c->next) {
        if (c->type != XML_COMMENT_NODE || c->content == NULL)
            continue;
        const char *t = (const char *)c->content;
        while (is_ws(*t))
            t++;
        if (strncmp(t, PROV_TAG, strlen(PROV_TAG)) != 0)
            continue;
        json_t *j = json_loads(t + strlen(PROV_TAG), JSON_REJECT_DUPLICATES, NULL);
        if (json_is_object(j))
            return j;
        json_decref(j);
    }
    return NULL;
}

int xmlmap_read(const map_dialect *d, xmlNodePtr root, const crgw_translate_opts *o, json_t *canon,
                json_t **origin, crgw_diags *warn, crgw_diags *errs)
{
    *origin = NULL;
    if (!xmlmap_root_matches(d, root)) {
        crgw_diags_add(errs, "$", "root element {%s}%s is not the %s root {%s}%s",
                       root && root->ns ? (const char *)root->ns->href : "",
                       root ? (const char *)root->name : "?", d->name, d->root.ns ? d->root.ns : "",
                       d->root.name ? d->root.name : "?");
        return -1;
    }
    xml_st x = {.d = d};
    crgw_buf_init(&x.text, XML_MAX_BYTES);
    engine e = {&XML_OPS, &x, d, o, warn, errs};
    int rc = engine_read(&e, root, canon);
    crgw_buf_cleanup(&x.text);
    if (rc == 0) {
        char loc[512];
        int w = snprintf(loc, sizeof(loc), "/%s", (const char *)root->name);
        unknown_walk(root, &d->schema, loc, w > 0 && (size_t)w < sizeof(loc) ? (size_t)w : 0,
                     sizeof(loc), warn, 0);
        *origin = find_provenance(root);
    }
    return rc;
}

int xmlmap_write(const map_dialect *d, json_t *canon, const char *prov,
                 const crgw_translate_opts *o, char **out, size_t *out_len, crgw_diags *warn,
                 crgw_diags *errs)
{
    xml_st x = {.d = d};
    x.doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewDocNode(x.doc, NULL, (const xmlChar *)d->root.name, NULL);
    xmlDocSetRootElement(x.doc, root);
    if (d->root.ns) {
        x.defns = xmlNewNs(root, (const xmlChar *)d->root.ns, NULL);
        xmlSetNs(root, x.defns);
    }
    if (prov) {
        crgw_buf c;
        crgw_buf_init(&c, 8192);
        crgw_buf_printf(&c, " %s%s ", PROV_TAG, prov);
        char *txt = crgw_buf_take(&c, NULL);
        xmlAddPrevSibling(root, xmlNewDocComment(x.doc, (const xmlChar *)txt));
        free(txt);
        xmlAddPrevSibling(root,
                          xmlNewDocComment(x.doc, (const xmlChar *)" translated by crgw: not the "
                                                                   "issued document, unsigned "));
    }
    engine e = {&XML_OPS, &x, d, o, warn, errs};
    int rc = engine_write(&e, root, canon);
    if (rc == 0) {
        xmlChar *mem = NULL;
        int size = 0;
        xmlDocDumpFormatMemoryEnc(x.doc, &mem, &size, o->utf8_output ? "UTF-8" : d->encoding, 1);
        if (mem == NULL) {
            crgw_diags_add(errs, "$", "cannot encode the document in %s", d->encoding);
            rc = -1;
        } else {
            *out = xstrndup((const char *)mem, (size_t)size);
            *out_len = (size_t)size;
            xmlFree(mem);
        }
    }
    xmlFreeDoc(x.doc);
    return rc;
}
