#include "gateway/core/canon_codes.h"

#include <stddef.h>
#include <string.h>

const char *const crgw_canon_codes_kind[] = {"special_credit_report", "public_credit_report", NULL};
const char *const crgw_canon_codes_subject_type[] = {"legal_person", "unincorporated",
                                                     "individual_business", "natural_person", NULL};
const char *const crgw_canon_codes_record_kind[] = {"administrative_penalty",
                                                    "administrative_compulsory_measure",
                                                    "serious_dishonesty_list",
                                                    "abnormal_operation_list",
                                                    "criminal_judgment",
                                                    "other_dishonesty",
                                                    NULL};
const char *const crgw_canon_codes_severity[] = {"minor", "general", "serious", NULL};
const char *const crgw_canon_codes_record_status[] = {"published", "repaired", "expired", NULL};
const char *const crgw_canon_codes_criminal_record[] = {"none", "found", "not_covered", NULL};
const char *const crgw_canon_codes_conclusion[] = {"records_found", "no_record", NULL};
const char *const crgw_canon_codes_exclusion[] = {"summary_procedure_penalties", NULL};
const char *const crgw_canon_codes_domain[] = {"transport",
                                               "tax",
                                               "fire_safety",
                                               "ecology_environment",
                                               "market_regulation",
                                               "human_resources_social_security",
                                               "housing_construction",
                                               "emergency_management",
                                               "public_security",
                                               "medical_insurance",
                                               NULL};
const char *const crgw_canon_codes_category[] = {"registration_basics",
                                                 "judicial",
                                                 "administrative_management",
                                                 "titles_occupations",
                                                 "abnormal_operation_list",
                                                 "serious_dishonesty_list",
                                                 "contract_performance",
                                                 "credit_commitment",
                                                 "credit_evaluation",
                                                 "compliance",
                                                 "honours",
                                                 "intellectual_property",
                                                 "voluntary",
                                                 NULL};

int crgw_canon_codes_has(const char *const *codes, const char *v)
{
    if (codes == NULL)
        return 1;
    for (; *codes; codes++)
        if (strcmp(*codes, v) == 0)
            return 1;
    return 0;
}

int crgw_canon_codes_is_domain(const char *s)
{
    return crgw_canon_codes_has(crgw_canon_codes_domain, s);
}

int crgw_canon_codes_is_record_kind(const char *s)
{
    return crgw_canon_codes_has(crgw_canon_codes_record_kind, s);
}
