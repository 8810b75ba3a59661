/*
 * The module list of the unit tests: the same modules as gateway/main.c, so configuration files
 * with `cache:` and `repair:` sections load as they do in `crgw serve`.
 */
#ifndef CRGW_TEST_MODULES_H
#define CRGW_TEST_MODULES_H

#include "gateway/audit/audit.h"
#include "gateway/cache/cache.h"
#include "gateway/repair/repair.h"
#include "gateway/server/module.h"
#include "gateway/translate/translate_route.h"
#include "gateway/verify/verify_batch.h"
#include "gateway/verify/verify_route.h"

static const crgw_module *const crgw_test_modules[] = {
    &crgw_audit_module,
    &crgw_translate_module,
    &crgw_cache_module,
    &crgw_verify_module,
    &crgw_repair_module,
    &crgw_verify_batch_module,
    NULL,
};

#endif
