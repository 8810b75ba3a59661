/*
 * `crgw check-config --config FILE`: loads the configuration as `crgw serve` would (the files,
 * then every module's check: trust material and adapters, the repair calendar...) and reports
 * every problem as file:line: message. And `crgw serve`, which the server module runs.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/cmd/commands.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

int crgw_cmd_load_config(const char *path, crgw_cmd_modules mods, crgw_config **out)
{
    crgw_errs errs = {0};
    int rc = crgw_config_load(path, mods, out, &errs);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i]);
    crgw_errs_cleanup(&errs);
    return rc == 0 ? 0 : -1;
}

int crgw_cmd_serve(int argc, char **argv, crgw_cmd_modules mods)
{
    return crgw_server_main(argc, argv, mods);
}

int crgw_cmd_check_config(int argc, char **argv, crgw_cmd_modules mods)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            path = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            path = argv[i] + 9;
        else {
            fprintf(stderr, "crgw check-config: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: crgw check-config --config FILE\n");
        return 2;
    }
    crgw_config *cfg = NULL;
    if (crgw_cmd_load_config(path, mods, &cfg) != 0)
        return 1;
    /* every module's own checks, as the server runs them before serving or reloading */
    crgw_errs errs = {0};
    int rc = crgw_config_check(cfg, &errs, NULL);
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "%s\n", errs.v[i]);
    crgw_errs_cleanup(&errs);
    if (rc == 0)
        printf("%s: ok: node %s (%s), %zu nodes, %zu agreements, %zu local clients\n", path,
               cfg->node, cfg->node_name, cfg->n_nodes, cfg->n_agreements, cfg->n_clients);
    crgw_config_unref(cfg);
    return rc == 0 ? 0 : 1;
}
