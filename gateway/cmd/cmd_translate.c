/*
 * `crgw translate [--config FILE] [--adapters DIR] [--from DIALECT|auto]
 *                 [--to canonical|DIALECT] FILE...`
 *
 * Prints the canonical JSON (default) or the document in the target dialect on stdout; warnings
 * on stderr ("warning: path: message"); exit 0, or 2 with one line per error ("path: message",
 * prefixed with "FILE: " when several files are given). 1: configuration or I/O problem,
 * 64: usage.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/cmd/commands.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/translate/translate.h"

static void usage(void)
{
    fprintf(stderr, "usage: crgw translate [--config FILE] [--adapters DIR] [--from DIALECT|auto]\n"
                    "                      [--to canonical|DIALECT] FILE...\n");
}

static void print_diags(const crgw_diags *d, const char *prefix, const char *file)
{
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "%s%s%s%s: %s\n", prefix, file ? file : "", file ? ": " : "", d->v[i].path,
                d->v[i].message);
}

int crgw_cmd_translate(int argc, char **argv, crgw_cmd_modules mods)
{
    const char *config = NULL, *from = "auto", *to = "canonical", *adir = NULL;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (i + 1 >= argc) {
            usage();
            return 64;
        }
        if (strcmp(a, "--config") == 0)
            config = argv[++i];
        else if (strcmp(a, "--from") == 0)
            from = argv[++i];
        else if (strcmp(a, "--to") == 0)
            to = argv[++i];
        else if (strcmp(a, "--adapters") == 0)
            adir = argv[++i];
        else {
            fprintf(stderr, "crgw translate: unknown option %s\n", a);
            usage();
            return 64;
        }
    }
    if (i >= argc) {
        usage();
        return 64;
    }
    crgw_config *cfg = NULL;
    if (config) {
        if (crgw_cmd_load_config(config, mods, &cfg) != 0)
            return 1;
    }
    char dirbuf[PATH_MAX];
    if (adir == NULL && cfg && cfg->adapters_dir)
        adir = cfg->adapters_dir;
    if (adir == NULL)
        adir = crgw_adapters_default_dir(dirbuf, sizeof(dirbuf));
    crgw_diags lerrs = {0};
    crgw_adapters *ad = NULL;
    if (crgw_adapters_load(adir, &ad, &lerrs) != 0) {
        print_diags(&lerrs, "", NULL);
        crgw_diags_cleanup(&lerrs);
        if (cfg)
            crgw_config_unref(cfg);
        return 1;
    }
    int to_canon = strcmp(to, "canonical") == 0;
    if (!to_canon && crgw_adapters_is_xml(ad, to) < 0) {
        fprintf(stderr, "crgw translate: unknown target dialect %s\n", to);
        crgw_adapters_free(ad);
        if (cfg)
            crgw_config_unref(cfg);
        return 64;
    }
    crgw_translate_opts o = {0};
    if (cfg) {
        o.translated_by = cfg->node;
        o.uscc_legacy = (const char *const *)cfg->uscc_legacy.v;
        o.n_uscc_legacy = cfg->uscc_legacy.n;
        o.max_depth = cfg->limits.max_doc_depth;
        o.max_bytes = cfg->limits.max_body;
    }
    int rc = 0;
    int several = argc - i > 1;
    for (; i < argc; i++) {
        const char *file = argv[i];
        char *buf = NULL;
        size_t len = 0;
        int r = strcmp(file, "-") == 0 ? crgw_read_file("/dev/stdin", 64u << 20, &buf, &len)
                                       : crgw_read_file(file, 64u << 20, &buf, &len);
        if (r != 0) {
            fprintf(stderr, "crgw translate: %s: %s\n", file,
                    r == CRGW_ERR_TOOBIG ? "file too large" : strerror(errno));
            if (rc == 0)
                rc = 1;
            continue;
        }
        crgw_diags warn = {0}, errs = {0};
        json_t *canon = NULL;
        char *out = NULL;
        size_t out_len = 0;
        int ok = crgw_translate_to_canonical(ad, from, buf, len, &o, &canon, &warn, &errs) == 0;
        if (ok && !to_canon)
            ok =
                crgw_translate_from_canonical(ad, to, canon, &o, &out, &out_len, &warn, &errs) == 0;
        print_diags(&warn, "warning: ", several ? file : NULL);
        if (!ok) {
            print_diags(&errs, "", several ? file : NULL);
            rc = 2;
        } else if (to_canon) {
            char *s = crgw_json_dump(canon, 1, NULL);
            fputs(s, stdout);
            fputc('\n', stdout);
            free(s);
        } else {
            fwrite(out, 1, out_len, stdout);
        }
        free(out);
        json_decref(canon);
        crgw_diags_cleanup(&warn);
        crgw_diags_cleanup(&errs);
        free(buf);
    }
    crgw_adapters_free(ad);
    if (cfg)
        crgw_config_unref(cfg);
    return rc;
}
