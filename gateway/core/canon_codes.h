/*
 * canon_codes: the code lists of the canonical report (shared/dialects/canonical.md), the
 * vocabulary shared by the configuration (agreements name domains and record kinds) and the
 * translation (field tables of gateway/translate/canon). Each list is NULL-terminated.
 */
#ifndef CRGW_CANON_CODES_H
#define CRGW_CANON_CODES_H

extern const char *const crgw_canon_codes_kind[];
extern const char *const crgw_canon_codes_subject_type[];
extern const char *const crgw_canon_codes_record_kind[];
extern const char *const crgw_canon_codes_severity[];
extern const char *const crgw_canon_codes_record_status[];
extern const char *const crgw_canon_codes_criminal_record[];
extern const char *const crgw_canon_codes_conclusion[];
extern const char *const crgw_canon_codes_exclusion[];
extern const char *const crgw_canon_codes_domain[];
extern const char *const crgw_canon_codes_category[];

/* 1 if v is one of codes (or codes is NULL: no code list), else 0. */
int crgw_canon_codes_has(const char *const *codes, const char *v);
/* 1 when s is a canonical domain (transport, tax, ...) / record kind (administrative_penalty, ...).
 */
int crgw_canon_codes_is_domain(const char *s);
int crgw_canon_codes_is_record_kind(const char *s);

#endif
