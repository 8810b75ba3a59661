/*
 * `crgw check-config --config FILE`: loads the configuration as `crgw serve` would (the files,
 * then every module's check: trust material and adapters, the repair calendar...) and reports
 * every problem as file:line: message. And `crgw serve`, which the server module runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"

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

/* `serve --audit-dir DIR` is `--set audit.dir=DIR` (the server knows no module by name). */
int crgw_cmd_serve(int argc, char **argv, crgw_cmd_modules mods)
{
    char **v = xcalloc((size_t)argc + 1, sizeof(*v));
    char *set = NULL;
    for (int i = 0; i < argc; i++) {
        v[i] = argv[i];
        if (strcmp(argv[i], "--audit-dir") == 0 && i + 1 < argc && !set) {
            crgw_buf b;
            crgw_buf_init(&b, 8192);
            crgw_buf_printf(&b, "audit.dir=%s", argv[i + 1]);
            set = crgw_buf_take(&b, NULL);
            v[i] = (char *)"--set";
            v[++i] = set;
        }
    }
    int rc = crgw_server_main(argc, v, mods);
    free(v);
    free(set);
    return rc;
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
