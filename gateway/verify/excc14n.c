#include "gateway/verify/excc14n.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ATTRS 64
#define MAX_NS 32

typedef struct {
    const xmlChar *prefix; /* NULL = default namespace */
    const xmlChar *href;   /* "" for xmlns="" */
    int depth;
} rendered_ns;

typedef struct {
    crgw_buf *out;
    int toobig;
    xmlNodePtr skip;
    rendered_ns stack[256];
    size_t n;
    int overflow; /* stack full: unsupported */
} ctx;

static const xmlChar empty[] = "";

/* prefixes are normalised: NULL is the default namespace */
static int same_prefix(const xmlChar *a, const xmlChar *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return xmlStrEqual(a, b);
}

/* ---- what the serializer covers ---- */

static int attr_ok(const xmlAttr *a)
{
    if (a->type != XML_ATTRIBUTE_NODE)
        return 0;
    if (a->children == NULL)
        return 1;
    return a->children->type == XML_TEXT_NODE && a->children->next == NULL;
}

int crgw_excc14n_leaf_type(xmlElementType t)
{
    switch (t) {
    case XML_TEXT_NODE:
    case XML_CDATA_SECTION_NODE:
    case XML_COMMENT_NODE:
    case XML_PI_NODE:
        return 1;
    default:
        return 0;
    }
}

static int supported(const xmlNode *n, const xmlNode *skip, int depth)
{
    if (depth > 200)
        return 0;
    for (; n != NULL; n = n->next) {
        if (n == skip)
            continue;
        if (n->type != XML_ELEMENT_NODE) {
            if (!crgw_excc14n_leaf_type(n->type))
                return 0;
            continue;
        }
        size_t na = 0;
        for (const xmlAttr *a = n->properties; a != NULL; a = a->next, na++)
            if (!attr_ok(a) || na >= MAX_ATTRS)
                return 0;
        if (!supported(n->children, skip, depth + 1))
            return 0;
    }
    return 1;
}

/* ---- output ---- */

static void put(ctx *c, const char *s, size_t n)
{
    if (!c->toobig && crgw_buf_add(c->out, s, n) != 0)
        c->toobig = 1;
}

static void puts_x(ctx *c, const xmlChar *s)
{
    if (s != NULL)
        put(c, (const char *)s, strlen((const char *)s));
}

static void esc(ctx *c, const xmlChar *s, int attr)
{
    if (s == NULL)
        return;
    const xmlChar *run = s;
    for (; *s; s++) {
        const char *r = NULL;
        switch (*s) {
        case '&':
            r = "&amp;";
            break;
        case '<':
            r = "&lt;";
            break;
        case '>':
            r = attr ? NULL : "&gt;";
            break;
        case '"':
            r = attr ? "&quot;" : NULL;
            break;
        case '\t':
            r = attr ? "&#x9;" : NULL;
            break;
        case '\n':
            r = attr ? "&#xA;" : NULL;
            break;
        case '\r':
            r = "&#xD;";
            break;
        default:
            break;
        }
        if (r != NULL) {
            put(c, (const char *)run, (size_t)(s - run));
            put(c, r, strlen(r));
            run = s + 1;
        }
    }
    put(c, (const char *)run, (size_t)(s - run));
}

static void qname(ctx *c, const xmlNs *ns, const xmlChar *name)
{
    if (ns != NULL && ns->prefix != NULL) {
        puts_x(c, ns->prefix);
        put(c, ":", 1);
    }
    puts_x(c, name);
}

/* The href the nearest output ancestor rendered for prefix, NULL when none did. */
static const xmlChar *rendered(const ctx *c, const xmlChar *prefix)
{
    for (size_t i = c->n; i > 0; i--)
        if (same_prefix(c->stack[i - 1].prefix, prefix))
            return c->stack[i - 1].href;
    return NULL;
}

typedef struct {
    const xmlChar *prefix;
    const xmlChar *href;
} ns_use;

static int cmp_ns(const void *a, const void *b)
{
    const ns_use *x = a, *y = b;
    if (x->prefix == NULL)
        return y->prefix == NULL ? 0 : -1;
    if (y->prefix == NULL)
        return 1;
    return strcmp((const char *)x->prefix, (const char *)y->prefix);
}

static int cmp_attr(const void *a, const void *b)
{
    const xmlAttr *x = *(const xmlAttr *const *)a, *y = *(const xmlAttr *const *)b;
    const char *hx = x->ns ? (const char *)x->ns->href : "";
    const char *hy = y->ns ? (const char *)y->ns->href : "";
    int r = strcmp(hx, hy);
    return r != 0 ? r : strcmp((const char *)x->name, (const char *)y->name);
}

static void add_use(ns_use *u, size_t *n, const xmlChar *prefix, const xmlChar *href)
{
    if (prefix != NULL && *prefix == '\0')
        prefix = NULL;
    if (prefix != NULL && xmlStrEqual(prefix, BAD_CAST "xml"))
        return;
    for (size_t i = 0; i < *n; i++)
        if (same_prefix(u[i].prefix, prefix))
            return;
    if (*n < MAX_NS) {
        u[*n].prefix = prefix;
        u[*n].href = href ? href : empty;
        (*n)++;
    }
}

static void children(ctx *c, xmlNodePtr n, int depth);

static void element(ctx *c, xmlNodePtr e, int depth)
{
    ns_use use[MAX_NS], out[MAX_NS];
    size_t nu = 0, no = 0;
    if (e->ns != NULL) {
        add_use(use, &nu, e->ns->prefix, e->ns->href);
    } else {
        /* as libxml2: an element without a namespace utilizes the default namespace in scope
         * (normally an xmlns="" declaration; differs only for namespace-ill-formed input) */
        xmlNsPtr d = xmlSearchNs(e->doc, e, NULL);
        add_use(use, &nu, NULL, d ? d->href : empty);
    }
    const xmlAttr *attrs[MAX_ATTRS];
    size_t na = 0;
    for (xmlAttrPtr a = e->properties; a != NULL && na < MAX_ATTRS; a = a->next) {
        attrs[na++] = a;
        if (a->ns != NULL)
            add_use(use, &nu, a->ns->prefix, a->ns->href);
    }
    for (size_t i = 0; i < nu; i++) {
        const xmlChar *cur = rendered(c, use[i].prefix);
        int render = use[i].prefix == NULL
                         ? (cur == NULL ? use[i].href[0] != '\0' : !xmlStrEqual(cur, use[i].href))
                         : (cur == NULL || !xmlStrEqual(cur, use[i].href));
        if (render)
            out[no++] = use[i];
    }
    qsort(out, no, sizeof(out[0]), cmp_ns);
    qsort(attrs, na, sizeof(attrs[0]), cmp_attr);
    put(c, "<", 1);
    qname(c, e->ns, e->name);
    for (size_t i = 0; i < no; i++) {
        if (out[i].prefix == NULL) {
            put(c, " xmlns=\"", 8);
        } else {
            put(c, " xmlns:", 7);
            puts_x(c, out[i].prefix);
            put(c, "=\"", 2);
        }
        esc(c, out[i].href, 1);
        put(c, "\"", 1);
        if (c->n < CRGW_ARRAY_LEN(c->stack)) {
            c->stack[c->n].prefix = out[i].prefix;
            c->stack[c->n].href = out[i].href;
            c->stack[c->n].depth = depth;
            c->n++;
        } else {
            c->overflow = 1;
        }
    }
    for (size_t i = 0; i < na; i++) {
        put(c, " ", 1);
        qname(c, attrs[i]->ns, attrs[i]->name);
        put(c, "=\"", 2);
        if (attrs[i]->children != NULL)
            esc(c, attrs[i]->children->content, 1);
        put(c, "\"", 1);
    }
    put(c, ">", 1);
    children(c, e->children, depth + 1);
    put(c, "</", 2);
    qname(c, e->ns, e->name);
    put(c, ">", 1);
    while (c->n > 0 && c->stack[c->n - 1].depth == depth)
        c->n--;
}

static void pi(ctx *c, xmlNodePtr n)
{
    put(c, "<?", 2);
    puts_x(c, n->name);
    if (n->content != NULL && n->content[0] != '\0') {
        put(c, " ", 1);
        puts_x(c, n->content);
    }
    put(c, "?>", 2);
}

static void children(ctx *c, xmlNodePtr n, int depth)
{
    for (; n != NULL; n = n->next) {
        if (n == c->skip)
            continue;
        switch (n->type) {
        case XML_ELEMENT_NODE:
            element(c, n, depth);
            break;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
            esc(c, n->content, 0);
            break;
        case XML_PI_NODE:
            pi(c, n);
            break;
        default: /* comments */
            break;
        }
    }
}

int crgw_excc14n(xmlDocPtr doc, xmlNodePtr skip, int root_only, crgw_buf *out)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root == NULL || doc->intSubset != NULL || doc->extSubset != NULL)
        return CRGW_EXCC14N_UNSUPPORTED;
    for (xmlNodePtr n = doc->children; n != NULL; n = n->next)
        if (n->type != XML_ELEMENT_NODE && n->type != XML_COMMENT_NODE && n->type != XML_PI_NODE)
            return CRGW_EXCC14N_UNSUPPORTED;
    if (!supported(root, skip, 0))
        return CRGW_EXCC14N_UNSUPPORTED;
    size_t start = out->len;
    ctx c = {.out = out, .skip = skip};
    if (root_only) {
        element(&c, root, 0);
    } else {
        int after = 0;
        for (xmlNodePtr n = doc->children; n != NULL; n = n->next) {
            if (n->type == XML_ELEMENT_NODE) {
                element(&c, n, 0);
                after = 1;
            } else if (n->type == XML_PI_NODE) {
                if (after)
                    put(&c, "\n", 1);
                pi(&c, n);
                if (!after)
                    put(&c, "\n", 1);
            }
        }
    }
    if (c.overflow) {
        out->len = start;
        return CRGW_EXCC14N_UNSUPPORTED;
    }
    return c.toobig ? CRGW_EXCC14N_TOOBIG : 0;
}

int crgw_excc14n_element(xmlNodePtr e, crgw_buf *out)
{
    if (e == NULL || e->type != XML_ELEMENT_NODE || e->doc == NULL || e->doc->intSubset != NULL)
        return CRGW_EXCC14N_UNSUPPORTED;
    xmlNodePtr next = e->next;
    e->next = NULL; /* supported() walks siblings */
    int ok = supported(e, NULL, 0);
    e->next = next;
    if (!ok)
        return CRGW_EXCC14N_UNSUPPORTED;
    size_t start = out->len;
    ctx c = {.out = out, .skip = NULL};
    element(&c, e, 0);
    if (c.overflow) {
        out->len = start;
        return CRGW_EXCC14N_UNSUPPORTED;
    }
    return c.toobig ? CRGW_EXCC14N_TOOBIG : 0;
}
