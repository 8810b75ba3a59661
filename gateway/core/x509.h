/*
 * x509: the URI subjectAltNames of a certificate (node and client identities such as
 * urn:crgw:node:XX), read in one place for TLS peers, the peer client and signature checks.
 */
#ifndef CRGW_X509_H
#define CRGW_X509_H

#include "gateway/core/err.h"

#include <stddef.h>

#include <openssl/x509.h>

/* A URI subjectAltName: uri[0..len), not NUL-terminated, may contain NUL bytes. */
typedef int (*crgw_x509_uri_fn)(const char *uri, size_t len, void *arg);

/*
 * Calls fn for each URI subjectAltName of cert in certificate order; stops at the first nonzero
 * return of fn and returns it. 0 when fn never returned nonzero (or cert has no such name).
 */
int crgw_x509_san_uris(X509 *cert, crgw_x509_uri_fn fn, void *arg);

/* 1 when cert has exactly uri as a URI subjectAltName, else 0. */
int crgw_x509_san_has_uri(X509 *cert, const char *uri);

/*
 * Copies the idx-th (from 0) URI subjectAltName of cert into out as a C string. Returns its
 * length; 0 when that name is empty, contains a NUL byte or needs cap bytes or more (out is
 * then ""); CRGW_ERR_NOT_FOUND when cert has no idx-th URI name.
 */
int crgw_x509_san_uri(X509 *cert, size_t idx, char *out, size_t cap);

#endif
