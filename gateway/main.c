/*
 * crgw: the cross-region credit-report mutual-recognition gateway.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/audit/audit.h"
#include "gateway/cache/cache.h"
#include "gateway/cmd/commands.h"
#include "gateway/repair/repair.h"
#include "gateway/translate/translate_route.h"
#include "gateway/verify/verify_route.h"

#ifndef CRGW_VERSION
#define CRGW_VERSION "0.1"
#endif

/*
 * The modules of crgw, in start order (stopped in reverse). The only list that names them all:
 * the server adds its own (/healthz, /readyz, /metrics) in front.
 */
static const crgw_module *const modules[] = {
    &crgw_audit_module,  &crgw_translate_module, &crgw_cache_module,
    &crgw_verify_module, &crgw_repair_module,    NULL,
};

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv, crgw_cmd_modules mods);
    const char *usage;
} command;

static const command commands[] = {
    {"serve", crgw_cmd_serve,
     "serve --config FILE [--h2c ADDR:PORT] [--listen ADDR:PORT] [--redis ADDR|unix:PATH]\n"
     "        [--workers N] [--log-level error|warn|info|debug]\n"
     "        run the gateway (flags override the file)"},
    {"check-config", crgw_cmd_check_config,
     "check-config --config FILE\n"
     "        validate a configuration; prints file:line: message per error, exit 1 on any"},
    {"translate", crgw_cmd_translate,
     "translate --config FILE [--from DIALECT|auto] [--to canonical|DIALECT] FILE...\n"
     "        translate reports to the canonical report or another dialect"},
    {"verify", crgw_cmd_verify,
     "verify --config FILE [--scenario S] [--at RFC3339] [--redis ADDR] FILE...\n"
     "        verify signed reports: authenticity, recognition, currency"},
    {"sign", crgw_cmd_sign,
     "sign --config FILE --key K --cert C [--chain CA] --dialect D IN OUT\n"
     "        sign a report as an issuing platform"},
    {"audit", crgw_cmd_audit,
     "audit verify --audit-dir DIR (--config FILE | --cert PEM) [--from RFC3339 --to RFC3339]\n"
     "        check the audit log's hash chain and checkpoint signatures; FILE:LINE: problem\n"
     "  crgw audit show --audit-dir DIR (--subject USCC | --body-sha256 HEX | --event ID)\n"
     "        print the audit entries about a subject, a report body or a repair event"},
    {"routes", crgw_cmd_routes,
     "routes\n"
     "        print the route table (method, pattern, roles, name; tab-separated)"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: crgw <command> [options]\n       crgw --version | --help\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  crgw %s\n", commands[i].usage);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("crgw %s\n", CRGW_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1, modules);
    fprintf(stderr, "crgw: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
