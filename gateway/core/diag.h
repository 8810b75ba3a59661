/*
 * diag: a list of diagnostics, (path, message) pairs: path is the field path the problem
 * concerns ("records[1].decided_on", "subject.uscc"), or "$" for the document as a whole.
 * Translation fills it with errors and warnings; verification and the commands report them.
 */
#ifndef CRGW_DIAG_H
#define CRGW_DIAG_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

typedef struct {
    char *path;
    char *message;
} crgw_diag;

typedef struct {
    crgw_diag *v;
    size_t n, cap;
} crgw_diags;

/** Appends (path, printf(fmt, ...)); path may be NULL ("$"). */
void crgw_diags_add(crgw_diags *d, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/** crgw_diags_add with the arguments in ap. */
void crgw_diags_addv(crgw_diags *d, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/** Frees every entry; d is empty afterwards and may be reused. */
void crgw_diags_cleanup(crgw_diags *d);
/** 1 if some entry has exactly this path, 0 otherwise (handy in tests and callers). */
int crgw_diags_has_path(const crgw_diags *d, const char *path);
/** JSON array [{"path","message"}...] of d (new reference). */
json_t *crgw_diags_to_json(const crgw_diags *d);

#endif
