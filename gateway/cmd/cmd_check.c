/*
 * `crgw check-config --config FILE`: loads the configuration as `crgw serve` would (the files,
 * then the trust material and the adapters) and reports every problem as file:line: message.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/cmd/commands.h"
#include "gateway/server/config.h"
#include "gateway/verify/verify.h"

int crgw_cmd_check_config(int argc, char **argv)
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
    crgw_errs errs = {0};
    crgw_config *cfg = NULL;
    if (crgw_config_load(path, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        crgw_errs_cleanup(&errs);
        return 1;
    }
    /* the trust material and the adapters, as the server will load them */
    crgw_verifier *v = NULL;
    if (crgw_verifier_new(cfg, &v, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        crgw_errs_cleanup(&errs);
        crgw_config_unref(cfg);
        return 1;
    }
    crgw_verifier_free(v);
    printf("%s: ok: node %s (%s), %zu nodes, %zu agreements, %zu local clients\n", path, cfg->node,
           cfg->node_name, cfg->n_nodes, cfg->n_agreements, cfg->n_clients);
    crgw_config_unref(cfg);
    return 0;
}
