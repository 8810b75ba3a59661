/*
 * excc14n: Exclusive XML Canonicalization 1.0 without comments (W3C REC xml-exc-c14n), for the
 * node-set the XMLDSig profile digests: a whole DTD-less document (or only its document
 * element) minus one excluded subtree (the enveloped ds:Signature).
 *
 * libxml2's xmlC14NExecute is general (any node-set, callbacks, lists allocated per element)
 * and costs several times a whole RSA verification; this serializer covers the profile's case
 * in one pass. It refuses what it does not cover (entity references, DTD nodes, attribute
 * values that are not a single text node, ...) so the caller can fall back to libxml2, and the
 * unit tests and the fuzz target check that both produce the same bytes.
 */
#ifndef CRGW_EXCC14N_H
#define CRGW_EXCC14N_H

#include <stddef.h>

#include <libxml/tree.h>

#include "gateway/core/util.h"

#define CRGW_EXCC14N_UNSUPPORTED (-1) /* nothing written: use libxml2 */
#define CRGW_EXCC14N_TOOBIG (-2)      /* the output buffer's limit was reached */

/*
 * Canonicalizes doc into out (appended). skip: a subtree left out (may be NULL). root_only:
 * only the document element (a same-document reference by Id: no PIs around it).
 * Returns 0, CRGW_EXCC14N_UNSUPPORTED (out unchanged) or CRGW_EXCC14N_TOOBIG.
 */
int crgw_excc14n(xmlDocPtr doc, xmlNodePtr skip, int root_only, crgw_buf *out);

/*
 * The subtree of element e in the context of its document (a SignedInfo): with exclusive C14N
 * the apex renders every namespace it visibly utilizes, so ancestors need not be walked.
 * Same return values.
 */
int crgw_excc14n_element(xmlNodePtr e, crgw_buf *out);

/*
 * 1 for the node types without children that both serializers accept as they are (text, CDATA,
 * comment, processing instruction); 0 for the others (elements, entity references, DTD nodes,
 * XInclude markers, ...).
 */
int crgw_excc14n_leaf_type(xmlElementType t);

#endif
