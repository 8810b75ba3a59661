/*
 * gateway/verify/excc14n.c against libxml2's exclusive C14N: the same bytes on the fixtures (with and
 * without the Signature), the xmlsec suite documents, the samples and hand-made namespace and
 * escaping cases; and the profile's fallbacks (DTD, entity references) are refused.
 */
#include <criterion/criterion.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/parser.h>

#include "gateway/verify/excc14n.h"
#include "gateway/core/util.h"

static xmlDocPtr parse(const char *buf, size_t len)
{
    return xmlReadMemory(buf, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
                             XML_PARSE_NOCDATA);
}

/* libxml2's exclusive C14N of the document without skip (unlinked from a copy) */
static char *reference(const char *buf, size_t len, const char *skip_name, int *out_len)
{
    xmlDocPtr doc = parse(buf, len);
    cr_assert_not_null(doc);
    if (skip_name != NULL) {
        xmlNodePtr root = xmlDocGetRootElement(doc);
        for (xmlNodePtr n = root->children; n != NULL; n = n->next)
            if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST skip_name)) {
                xmlUnlinkNode(n);
                xmlFreeNode(n);
                break;
            }
    }
    xmlChar *out = NULL;
    *out_len = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &out);
    xmlFreeDoc(doc);
    return (char *)out;
}

static void compare(const char *what, const char *buf, size_t len, const char *skip_name)
{
    int ref_len = 0;
    char *ref = reference(buf, len, skip_name, &ref_len);
    cr_assert_geq(ref_len, 0, "%s: libxml2 failed", what);
    xmlDocPtr doc = parse(buf, len);
    xmlNodePtr skip = NULL;
    if (skip_name != NULL)
        for (xmlNodePtr n = xmlDocGetRootElement(doc)->children; n != NULL; n = n->next)
            if (n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST skip_name))
                skip = n;
    crgw_buf b;
    crgw_buf_init(&b, 1u << 24);
    cr_assert_eq(crgw_excc14n(doc, skip, 0, &b), 0, "%s: unsupported", what);
    cr_expect_eq(b.len, (size_t)ref_len, "%s: %zu bytes, libxml2 %d", what, b.len, ref_len);
    if (b.len == (size_t)ref_len)
        cr_expect_eq(memcmp(b.data, ref, b.len), 0, "%s: bytes differ:\n%.*s\n--- libxml2:\n%s",
                     what, (int)b.len, b.data, ref);
    crgw_buf_cleanup(&b);
    xmlFree(ref);
    xmlFreeDoc(doc);
}

static size_t n_compared;

static void compare_files(const char *pattern, const char *skip_name)
{
    glob_t g;
    cr_assert_eq(glob(pattern, 0, NULL, &g), 0, "%s", pattern);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *d = NULL;
        size_t len = 0;
        cr_assert_eq(crgw_read_file(g.gl_pathv[i], 1 << 24, &d, &len), 0);
        xmlDocPtr probe = parse(d, len);
        if (probe == NULL) { /* csj-xml.utf8.xml: declared GB18030, not a valid input */
            free(d);
            continue;
        }
        xmlFreeDoc(probe);
        n_compared++;
        compare(g.gl_pathv[i], d, len, NULL);
        if (skip_name != NULL)
            compare(g.gl_pathv[i], d, len, skip_name);
        free(d);
    }
    globfree(&g);
}

Test(excc14n, fixtures_and_suites)
{
    compare_files("tests/fixtures/reports/valid/*.xml", "Signature");
    compare_files("tests/fixtures/reports/invalid/*.xml", "Signature");
    compare_files("tests/fixtures/samples/*.xml", NULL);
    compare_files("tests/fixtures/vectors/xmlsec/aleksey-xmldsig-01/*.xml", "Signature");
    compare_files("tests/fixtures/vectors/xmlsec/phaos-xmldsig-three/*.xml", "Signature");
    cr_expect_geq(n_compared, 33); /* every XML file there but csj-xml.utf8.xml */
}

Test(excc14n, namespaces_and_escaping)
{
    static const char *const docs[] = {
        "<a xmlns='urn:x' xmlns:p='urn:p' xmlns:unused='urn:u'><b p:at='1' z='2' a='3'/>"
        "<p:c xmlns='urn:y'><d xmlns=''/><p:e xmlns:p='urn:q'/></p:c></a>",
        "<?pi before?><!-- c --><r xmlns:q='urn:q' q:b='&amp;&lt;&gt;&quot;&#9;&#10;&#13;x' "
        "a=\"'\">t &amp; &lt; &gt; &#13; \" ' <![CDATA[<x>&]]><?inner data?></r><?pi after?>",
        "<r><s xmlns='urn:a'><t xmlns='urn:a'><u xmlns='urn:b'/></t></s><v/></r>",
        "<r xml:lang='zh' xmlns:xml='http://www.w3.org/XML/1998/namespace'><s xml:space='keep'/>"
        "</r>",
        "<n:r xmlns:n='urn:n' xmlns:m='urn:m' m:z='1' n:a='2' b='3'><m:s n:y='4'/></n:r>",
        "<r>\xe4\xb8\xad\xe6\x96\x87<s \xe5\xb1\x9e='\xe5\x80\xbc'/></r>",
        "<?xml version='1.0' encoding='GB18030'?><r>\xd6\xd0</r>",
        "<r a='x\ny'  b = 'z'>  \n  </r>",
    };
    for (size_t i = 0; i < CRGW_ARRAY_LEN(docs); i++) {
        char what[32];
        snprintf(what, sizeof(what), "doc %zu", i);
        compare(what, docs[i], strlen(docs[i]), NULL);
    }
}

/* libxml2's exclusive C14N of the subtree of e, in context */
static int in_subtree(void *ud, xmlNodePtr node, xmlNodePtr parent)
{
    xmlNodePtr apex = ud;
    if (node->type == XML_COMMENT_NODE)
        return 0;
    xmlNodePtr n = node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE ? parent
                                                                                       : node;
    for (; n != NULL; n = n->parent)
        if (n == apex)
            return 1;
    return 0;
}

static void compare_subtree(const char *what, const char *buf, size_t len, const char *name)
{
    xmlDocPtr doc = parse(buf, len);
    cr_assert_not_null(doc, "%s", what);
    xmlNodePtr apex = NULL, stack[64];
    int sp = 0;
    stack[sp++] = xmlDocGetRootElement(doc);
    while (sp > 0 && apex == NULL) {
        xmlNodePtr n = stack[--sp];
        if (xmlStrEqual(n->name, BAD_CAST name))
            apex = n;
        for (xmlNodePtr c = n->children; c != NULL && sp < 63; c = c->next)
            if (c->type == XML_ELEMENT_NODE)
                stack[sp++] = c;
    }
    cr_assert_not_null(apex, "%s: no %s", what, name);
    xmlBufferPtr xb = xmlBufferCreate();
    xmlOutputBufferPtr ob = xmlOutputBufferCreateBuffer(xb, NULL);
    cr_assert_geq(xmlC14NExecute(doc, in_subtree, apex, XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob), 0);
    xmlOutputBufferClose(ob);
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    cr_assert_eq(crgw_excc14n_element(apex, &b), 0, "%s", what);
    cr_expect_eq(b.len, (size_t)xmlBufferLength(xb), "%s: %zu vs %d", what, b.len,
                 xmlBufferLength(xb));
    if (b.len == (size_t)xmlBufferLength(xb))
        cr_expect_eq(memcmp(b.data, xmlBufferContent(xb), b.len), 0, "%s:\n%.*s\n---\n%s", what,
                     (int)b.len, b.data, (const char *)xmlBufferContent(xb));
    crgw_buf_cleanup(&b);
    xmlBufferFree(xb);
    xmlFreeDoc(doc);
}

Test(excc14n, subtrees_in_context)
{
    glob_t g;
    cr_assert_eq(glob("tests/fixtures/reports/valid/*.xml", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *d = NULL;
        size_t len = 0;
        cr_assert_eq(crgw_read_file(g.gl_pathv[i], 1 << 24, &d, &len), 0);
        compare_subtree(g.gl_pathv[i], d, len, "SignedInfo");
        compare_subtree(g.gl_pathv[i], d, len, "KeyInfo");
        free(d);
    }
    globfree(&g);
    static const char nested[] =
        "<a xmlns='urn:x' xmlns:p='urn:p' xmlns:q='urn:q'><p:b q:c='1' xmlns:r='urn:r'><d>"
        "<e xmlns=''/></d></p:b></a>";
    compare_subtree("nested b", nested, strlen(nested), "b");
    compare_subtree("nested d", nested, strlen(nested), "d");
    compare_subtree("nested e", nested, strlen(nested), "e");
}

Test(excc14n, refuses_what_it_does_not_cover)
{
    static const char doc[] = "<!DOCTYPE r [<!ENTITY e 'x'>]><r>&e;</r>";
    xmlDocPtr d = xmlReadMemory(doc, (int)strlen(doc), NULL, NULL, XML_PARSE_NONET);
    cr_assert_not_null(d);
    crgw_buf b;
    crgw_buf_init(&b, 1024);
    cr_expect_eq(crgw_excc14n(d, NULL, 0, &b), CRGW_EXCC14N_UNSUPPORTED);
    cr_expect_eq(b.len, 0);
    crgw_buf_cleanup(&b);
    xmlFreeDoc(d);
}
