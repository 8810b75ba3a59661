/*
 * `crgw audit verify|show`: checks an audit log's chain (gateway/audit/README.md) and finds
 * its entries.
 *
 *   crgw audit verify --audit-dir DIR (--config FILE | --cert PEM) [--from T --to T]
 *       exit 0: "N entries, M checkpoints, chain intact (F files)"; exit 1: "FILE:LINE: what";
 *       exit 2: usage. The node's federation certificate (tls.cert of --config, or --cert) is
 *       the key checkpoints must verify with.
 *   crgw audit show --audit-dir DIR (--subject USCC | --body-sha256 HEX | --event ID)
 *       prints the matching lines; exit 0 if any, 1 if none.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/audit_check.h"
#include "gateway/cmd/commands.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"

typedef struct {
    const char *dir, *config, *cert, *from, *to;
    const char *field, *value;
    int nfilters;
} audit_args;

/* --name VALUE or --name=VALUE at argv[*i]; 1 when matched (*val set, *i advanced). */
static int opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] == '\0' && *i + 1 < argc) {
        *val = argv[++*i];
        return 1;
    }
    return 0;
}

static int parse_args(int argc, char **argv, audit_args *a)
{
    static const struct {
        const char *opt, *field;
    } filters[] = {
        {"--subject", "uscc"}, {"--body-sha256", "body_sha256"}, {"--event", "event_id"}};
    for (int i = 2; i < argc; i++) {
        int ok = opt(argc, argv, &i, "--audit-dir", &a->dir) ||
                 opt(argc, argv, &i, "--config", &a->config) ||
                 opt(argc, argv, &i, "--cert", &a->cert) ||
                 opt(argc, argv, &i, "--from", &a->from) || opt(argc, argv, &i, "--to", &a->to);
        for (size_t k = 0; !ok && k < sizeof(filters) / sizeof(filters[0]); k++)
            if (opt(argc, argv, &i, filters[k].opt, &a->value)) {
                a->field = filters[k].field;
                a->nfilters++;
                ok = 1;
            }
        if (!ok) {
            fprintf(stderr, "crgw audit: unexpected argument '%s'\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: crgw audit verify [--audit-dir DIR] (--config FILE | --cert PEM)"
                    " [--from RFC3339 --to RFC3339]\n"
                    "       crgw audit show --audit-dir DIR (--subject USCC | --body-sha256 HEX"
                    " | --event ID)\n");
}

/* The public key of the first certificate of a PEM file, NULL (message printed) on failure. */
static EVP_PKEY *load_cert_key(const char *path)
{
    FILE *f = fopen(path, "r");
    X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    EVP_PKEY *k = x ? X509_get_pubkey(x) : NULL;
    X509_free(x);
    if (k == NULL)
        fprintf(stderr, "crgw audit: %s: cannot read a certificate\n", path);
    return k;
}

/* The node's certificate key (--cert, or the configuration's tls.cert); without --audit-dir the
 * configuration's audit.dir (copied into dirbuf). */
static EVP_PKEY *node_key(audit_args *a, crgw_cmd_modules mods, char *dirbuf, size_t cap)
{
    if (a->cert)
        return load_cert_key(a->cert);
    crgw_config *cfg = NULL;
    if (crgw_cmd_load_config(a->config, mods, &cfg) != 0)
        return NULL;
    EVP_PKEY *k = NULL;
    const crgw_audit_conf *ac = crgw_audit_conf_of(cfg);
    if (!a->dir && ac && ac->dir) {
        crgw_strfmt(dirbuf, cap, "%s", ac->dir);
        a->dir = dirbuf;
    }
    if (!a->dir)
        fprintf(stderr, "crgw audit: %s: no audit.dir; give --audit-dir\n", a->config);
    else if (cfg->tls_cert == NULL)
        fprintf(stderr, "crgw audit: %s: no tls.cert (the node's federation certificate)\n",
                a->config);
    else
        k = load_cert_key(cfg->tls_cert);
    crgw_config_unref(cfg);
    return k;
}

static int parse_range(const audit_args *a, int64_t *from, int64_t *to)
{
    *from = INT64_MIN;
    *to = INT64_MAX;
    if (a->from && crgw_time_parse_rfc3339(a->from, 1, from) != 0) {
        fprintf(stderr, "crgw audit: --from %s is not an RFC 3339 date-time\n", a->from);
        return -1;
    }
    if (a->to && crgw_time_parse_rfc3339(a->to, 1, to) != 0) {
        fprintf(stderr, "crgw audit: --to %s is not an RFC 3339 date-time\n", a->to);
        return -1;
    }
    return 0;
}

static int audit_verify(audit_args *a, crgw_cmd_modules mods)
{
    int64_t from, to;
    char dirbuf[4096];
    if ((a->dir == NULL && a->config == NULL) || (a->config == NULL) == (a->cert == NULL) ||
        a->nfilters || parse_range(a, &from, &to) != 0) {
        usage();
        return 2;
    }
    EVP_PKEY *key = node_key(a, mods, dirbuf, sizeof(dirbuf));
    if (key == NULL)
        return 1;
    crgw_audit_report r;
    int rc = crgw_audit_check(a->dir, key, from, to, &r);
    EVP_PKEY_free(key);
    if (rc != 0) {
        if (r.line > 0)
            printf("%s:%ld: %s\n", r.file, r.line, r.what);
        else
            printf("%s: %s\n", r.file, r.what);
        return 1;
    }
    if (r.warnings)
        fprintf(stderr, "warning: %s\n", r.warning);
    printf("%zu entries, %zu checkpoints, chain intact (%zu files", r.entries, r.checkpoints,
           r.files);
    if (r.chains > 1)
        printf(", %zu chains", r.chains);
    printf(")\n");
    if (a->from || a->to)
        printf("%zu entries from %s to %s\n", r.in_range, a->from ? a->from : "the start",
               a->to ? a->to : "the end");
    return 0;
}

static int print_line(const char *file, long line, const char *text, size_t len, void *ctx)
{
    (void)file;
    (void)line;
    (void)ctx;
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    return 0;
}

static int audit_show(const audit_args *a)
{
    if (a->dir == NULL || a->nfilters != 1 || a->config || a->cert || a->from || a->to) {
        usage();
        return 2;
    }
    char err[512] = "";
    long n = crgw_audit_find(a->dir, a->field, a->value, print_line, NULL, err, sizeof(err));
    if (n < 0) {
        fprintf(stderr, "crgw audit show: %s\n", err);
        return 1;
    }
    return n > 0 ? 0 : 1;
}

int crgw_cmd_audit(int argc, char **argv, crgw_cmd_modules mods)
{
    audit_args a = {0};
    if (argc < 2 || parse_args(argc, argv, &a) != 0) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "verify") == 0)
        return audit_verify(&a, mods);
    if (strcmp(argv[1], "show") == 0)
        return audit_show(&a);
    fprintf(stderr, "crgw audit: unknown subcommand '%s'\n", argv[1]);
    usage();
    return 2;
}
