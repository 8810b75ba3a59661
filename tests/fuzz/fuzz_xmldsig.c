/*
 * libFuzzer target: the XMLDSig verifier (strict profile, C14N, base64, certificates) and the
 * whole verification path (translation of the covered node, trust, verdict JSON) on the same
 * bytes. Findings: crashes, sanitizer reports, leaks, and a verdict that is TOTAL_PASSED while
 * the XMLDSig layer refused the document, and a difference between gateway/verify/excc14n.c and
 * libxml2's exclusive C14N (whole document, and the subtree of the root's first child element).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/c14n.h>

#include "tests/unit/test_modules.h"
#include "gateway/translate/translate.h"
#include "gateway/verify/excc14n.h"
#include "gateway/server/config.h"
#include "gateway/verify/verify.h"
#include "gateway/verify/xmldsig.h"

#ifndef CRGW_SRCDIR
#define CRGW_SRCDIR "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static crgw_verifier *fz_verifier;

static void fz_init(void)
{
    static int done;
    if (done)
        return;
    done = 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/config/test/node-330100.yaml", CRGW_SRCDIR);
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    if (crgw_config_load(path, crgw_test_modules, &cfg, &errs) != 0 || crgw_verifier_new(cfg, &fz_verifier, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        abort();
    }
    crgw_errs_cleanup(&errs);
    crgw_config_unref(cfg);
}

static int fz_in_subtree(void *ud, xmlNodePtr node, xmlNodePtr parent)
{
    if (node->type == XML_COMMENT_NODE)
        return 0;
    xmlNodePtr n = node->type == XML_NAMESPACE_DECL || node->type == XML_ATTRIBUTE_NODE ? parent
                                                                                       : node;
    for (; n != NULL; n = n->parent)
        if (n == ud)
            return 1;
    return 0;
}

/* gateway/verify/excc14n.c must give libxml2's bytes wherever it claims to support the document */
static void fz_c14n_oracle(xmlDocPtr doc)
{
    crgw_buf mine;
    crgw_buf_init(&mine, 1u << 24);
    if (crgw_excc14n(doc, NULL, 0, &mine) == 0) {
        xmlChar *ref = NULL;
        int n = xmlC14NDocDumpMemory(doc, NULL, XML_C14N_EXCLUSIVE_1_0, NULL, 0, &ref);
        if (n >= 0 && ((size_t)n != mine.len || memcmp(ref, mine.data, mine.len) != 0))
            abort();
        xmlFree(ref);
    }
    crgw_buf_reset(&mine);
    xmlNodePtr root = xmlDocGetRootElement(doc), e = root ? root->children : NULL;
    while (e != NULL && e->type != XML_ELEMENT_NODE)
        e = e->next;
    if (e != NULL && crgw_excc14n_element(e, &mine) == 0) {
        xmlBufferPtr xb = xmlBufferCreate();
        xmlOutputBufferPtr ob = xmlOutputBufferCreateBuffer(xb, NULL);
        int n = xmlC14NExecute(doc, fz_in_subtree, e, XML_C14N_EXCLUSIVE_1_0, NULL, 0, ob);
        xmlOutputBufferClose(ob);
        if (n >= 0 && ((size_t)xmlBufferLength(xb) != mine.len ||
                       memcmp(xmlBufferContent(xb), mine.data, mine.len) != 0))
            abort();
        xmlBufferFree(xb);
    }
    crgw_buf_cleanup(&mine);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_init();
    int dsig_rc = CRGW_ERR_INVALID;
    crgw_diags d = {0};
    xmlDocPtr doc = NULL;
    if (crgw_xml_parse_strict((const char *)data, size, 0, &doc, &d) == 0) {
        fz_c14n_oracle(doc);
        for (int xpath = 0; xpath < 2; xpath++) {
            crgw_xmldsig_opts o = {.allow_xpath_enveloped = xpath};
            crgw_xmldsig_result r;
            int rc = crgw_xmldsig_verify(doc, &o, &r);
            if (!xpath)
                dsig_rc = rc;
            crgw_xmldsig_result_cleanup(&r);
        }
        xmlFreeDoc(doc);
    }
    crgw_diags_cleanup(&d);
    crgw_verify_opts vo = {.scenario = size % 2 ? "tender" : NULL, .at = 1795413600};
    crgw_verify_outcome out;
    crgw_verify_report(fz_verifier, (const char *)data, size, &vo, &out);
    if (out.sub == CRGW_SUB_NONE && size > 0 && data[0] == '<' && dsig_rc != CRGW_XMLDSIG_OK)
        abort(); /* passed although the signature layer refused it */
    char *s = json_dumps(out.verdict, JSON_COMPACT);
    if (s == NULL)
        abort(); /* the verdict must always serialise (valid UTF-8) */
    free(s);
    crgw_verify_outcome_cleanup(&out);
    return 0;
}
