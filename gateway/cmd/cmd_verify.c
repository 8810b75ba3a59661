/*
 * cmd_verify: `crgw verify` (its options; the engine is gateway/cmd/bulk.c) and `crgw sign`
 * (issue signed reports, as a regional platform does: one or many IN OUT pairs).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <openssl/pem.h>

#include "gateway/cmd/bulk.h"
#include "gateway/cmd/commands.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/translate/translate.h"
#include "gateway/verify/jws.h"
#include "gateway/verify/verify.h"
#include "gateway/verify/verify_route.h"
#include "gateway/verify/xmldsig.h"

#define MAX_REPORT (16u << 20)

static void verify_usage(void)
{
    fprintf(stderr,
            "usage: crgw verify --config FILE [--jobs N] [--format json|ndjson|csv|table] "
            "[--summary|--no-summary]\n"
            "                   [--progress|--no-progress] [--scenario S] [--at RFC3339] "
            "[--redis ADDR] [--pretty]\n"
            "                   [--max-file BYTES] [--bench SECONDS] PATH...\n"
            "PATH: a report file, a directory (recursive, sorted), a .zip archive, or - (stdin)\n");
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * --bench SECONDS: verifies each file over and over for SECONDS (CPU time) on this one thread and
 * prints "file dialect algorithm verdict verifications/s" (the whole path, no cache).
 */
static int run_bench(crgw_verifier *v, const crgw_verify_opts *vo, double seconds, int n,
                     char **files)
{
    for (int i = 0; i < n; i++) {
        char *data = NULL;
        size_t len = 0;
        if (crgw_read_file(files[i], MAX_REPORT, &data, &len) != 0) {
            fprintf(stderr, "crgw: verify: cannot read %s\n", files[i]);
            return 2;
        }
        crgw_verify_outcome out;
        crgw_verify_report(v, data, len, vo, &out);
        json_t *report = json_object_get(out.verdict, "report");
        const char *dialect = json_string_value(json_object_get(report, "dialect"));
        json_t *signer = json_object_get(out.verdict, "signer");
        const char *alg = json_string_value(json_object_get(signer, "algorithm"));
        char line[512];
        snprintf(line, sizeof(line), "%s %s %s %s", files[i], dialect ? dialect : "-",
                 alg ? alg : "-", crgw_sub_indication(out.sub));
        crgw_verify_outcome_cleanup(&out);
        /* CPU time of this thread, like `openssl speed` (which counts CPU time by default):
         * per core, and fair on a busy machine */
        double start = cpu_seconds(), now;
        unsigned long count = 0;
        do {
            for (int k = 0; k < 16; k++) {
                crgw_verify_report(v, data, len, vo, &out);
                crgw_verify_outcome_cleanup(&out);
            }
            count += 16;
            now = cpu_seconds();
        } while (now - start < seconds);
        printf("%s %.0f\n", line, (double)count / (now - start));
        fflush(stdout);
        free(data);
    }
    return 0;
}

static int parse_format(const char *s, crgw_bulk_format *f)
{
    static const char *const names[] = {"json", "ndjson", "csv", "table"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0) {
            *f = (crgw_bulk_format)i;
            return 0;
        }
    return -1;
}

/* A positive integer option (--jobs, bounds); -1 when s is not one. */
static long long positive(const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == 0 && v > 0 ? v : -1;
}

static int default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

static int bench_main(crgw_config *cfg, const crgw_bulk_opts *bo, double bench, int n, char **files)
{
    crgw_verifier *v = NULL;
    crgw_errs errs = {0};
    int brc = 2;
    if (crgw_verifier_new(cfg, &v, &errs) == 0) {
        crgw_verify_opts vo = {.scenario = bo->scenario, .at = bo->at};
        brc = run_bench(v, &vo, bench, n, files);
        crgw_verifier_free(v);
    }
    for (size_t i = 0; i < errs.n; i++)
        fprintf(stderr, "crgw: verify: %s\n", errs.v[i]);
    crgw_errs_cleanup(&errs);
    return brc;
}

/*
 * glibc's per-thread cache keeps 7 free chunks of each size; one verification frees trees of
 * hundreds of same-size nodes (libxml2, jansson) and allocates them again for the next report,
 * so most of them went through the arena's bins and malloc_consolidate: with
 * glibc.malloc.tcache_count=1000 a bulk run takes about 20% less CPU (perf, ops/bench/bulk).
 * Tunables are read at start-up only, so `crgw verify` executes itself once more with it, unless
 * GLIBC_TUNABLES is already set (the caller's choice then stands) or CRGW_NO_REEXEC is set.
 */
static void reexec_with_tcache(int argc, char **argv)
{
    if (getenv("GLIBC_TUNABLES") != NULL || getenv("CRGW_NO_REEXEC") != NULL)
        return;
    if (setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=1000", 1) != 0)
        return;
    char **av = xcalloc((size_t)argc + 2, sizeof(*av)); /* "crgw" "verify" ARGS... NULL */
    av[0] = (char *)"crgw";
    for (int i = 0; i < argc; i++)
        av[i + 1] = argv[i];
    execv("/proc/self/exe", av);
    free(av); /* no /proc: run as we are */
    unsetenv("GLIBC_TUNABLES");
}

enum { OPT_NO_SUMMARY = 256, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_MAX_FILE };

int crgw_cmd_verify(int argc, char **argv, crgw_cmd_modules mods)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"scenario", required_argument, NULL, 's'},
        {"at", required_argument, NULL, 'a'},
        {"redis", required_argument, NULL, 'r'},
        {"pretty", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"bench", required_argument, NULL, 'b'},
        {"jobs", required_argument, NULL, 'j'},
        {"format", required_argument, NULL, 'f'},
        {"summary", no_argument, NULL, 'S'},
        {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"max-file", required_argument, NULL, OPT_MAX_FILE},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *at_s = NULL;
    crgw_bulk_opts bo = {
        .jobs = default_jobs(),
        .format = CRGW_FMT_JSON,
        .summary = -1,
        .progress = -1,
        .b = {CRGW_BULK_MAX_FILE, CRGW_BULK_ZIP_MAX_ENTRIES, CRGW_BULK_ZIP_MAX_TOTAL,
              CRGW_BULK_ZIP_MAX_RATIO},
    };
    int c;
    long long num;
    double bench = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:a:r:phb:j:f:S", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            bo.scenario = optarg;
            break;
        case 'a':
            at_s = optarg;
            break;
        case 'r':
            bo.redis = optarg; /* through the verdict cache of that Redis (verify_route.h) */
            break;
        case 'p':
            bo.pretty = 1;
            break;
        case 'b':
            bench = strtod(optarg, NULL);
            break;
        case 'j':
            if ((num = positive(optarg)) < 0 || num > 256) {
                fprintf(stderr, "crgw: verify: --jobs %s: a number of threads from 1 to 256\n",
                        optarg);
                return 2;
            }
            bo.jobs = (int)num;
            break;
        case 'f':
            if (parse_format(optarg, &bo.format) != 0) {
                fprintf(stderr, "crgw: verify: --format %s: json, ndjson, csv or table\n", optarg);
                return 2;
            }
            break;
        case 'S':
            bo.summary = 1;
            break;
        case OPT_NO_SUMMARY:
            bo.summary = 0;
            break;
        case OPT_PROGRESS:
            bo.progress = 1;
            break;
        case OPT_NO_PROGRESS:
            bo.progress = 0;
            break;
        case OPT_MAX_FILE:
            if ((num = positive(optarg)) < 0 || (unsigned long long)num > (1ull << 30)) {
                fprintf(stderr, "crgw: verify: --max-file %s: bytes, from 1 to 1073741824\n",
                        optarg);
                return 2;
            }
            bo.b.max_file = (size_t)num;
            break;
        case 'h':
            verify_usage();
            return 0;
        default:
            verify_usage();
            return 2;
        }
    }
    if (config == NULL || optind >= argc) {
        verify_usage();
        return 2;
    }
    bo.at = time(NULL);
    if (at_s != NULL && crgw_time_parse_rfc3339(at_s, 1, &bo.at) != 0) {
        fprintf(stderr, "crgw: verify: --at %s is not an RFC 3339 time\n", at_s);
        return 2;
    }
    bo.at_given = at_s != NULL;
    if (bench == 0)
        reexec_with_tcache(argc, argv);
    crgw_config *cfg = NULL;
    if (crgw_cmd_load_config(config, mods, &cfg) != 0)
        return 2;
    if (bench > 0) {
        int brc = bench_main(cfg, &bo, bench, argc - optind, argv + optind);
        crgw_config_unref(cfg);
        return brc;
    }
    bo.cfg = cfg;
    int rc = crgw_bulk_verify(&bo, argc - optind, argv + optind);
    crgw_config_unref(cfg);
    return rc;
}

/* ---- sign ---- */

static void sign_usage(void)
{
    fprintf(stderr, "usage: crgw sign [--config FILE] --key K --cert C [--chain CA]... "
                    "--dialect D [--alg ALG] IN OUT [IN OUT]...\n");
}

static const char *default_alg(EVP_PKEY *k)
{
    static const char *const algs[] = {"RS256", "ES256", "ES384", "EdDSA", "SM2-SM3"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(algs); i++)
        if (crgw_sigalg_key_fits(crgw_sigalg_by_jws(algs[i]), k, 1))
            return algs[i];
    return NULL;
}

static int write_file(const char *path, const char *data, size_t len)
{
    if (strcmp(path, "-") == 0)
        return fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    int ok = fwrite(data, 1, len, f) == len;
    ok &= fclose(f) == 0;
    return ok ? 0 : -1;
}
static int sign_xml(const char *in, size_t in_len, EVP_PKEY *key, X509 *cert,
                    STACK_OF(X509) * chain, const char *dialect, const char *alg, char **out,
                    size_t *out_len)
{
    crgw_diags d = {0};
    xmlDocPtr doc = NULL;
    if (crgw_xml_parse_strict(in, in_len, 0, &doc, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "crgw: sign: %s\n", d.v[i].message);
        crgw_diags_cleanup(&d);
        return -1;
    }
    crgw_diags_cleanup(&d);
    const crgw_sigalg *sa = crgw_sigalg_by_jws(alg);
    crgw_xmldsig_sign_opts so = {
        .alg = alg,
        .digest = sa != NULL && sa->kind == CRGW_SIGKIND_SM2 ? "SM3"
                  : sa != NULL && strcmp(sa->md ? sa->md : "", "SHA384") == 0 ? "SHA384"
                                                                              : "SHA256",
        .ref_by_id = strcmp(dialect, "csj-xml") == 0 ||
                     xmlHasProp(xmlDocGetRootElement(doc), BAD_CAST "Id") != NULL,
    };
    if (strcmp(dialect, "jjj-xml") == 0)
        so.ref_by_id = 0;
    char err[256];
    int rc = crgw_xmldsig_sign(doc, key, cert, chain, &so, err, sizeof(err));
    if (rc != CRGW_XMLDSIG_OK) {
        fprintf(stderr, "crgw: sign: %s\n", err);
        xmlFreeDoc(doc);
        return -1;
    }
    rc = crgw_xmldsig_serialize(doc, out, out_len);
    xmlFreeDoc(doc);
    return rc;
}

static int sign_json(const char *in, size_t in_len, EVP_PKEY *key, X509 *cert,
                     STACK_OF(X509) * chain, const char *dialect, const char *alg, char **out,
                     size_t *out_len)
{
    crgw_diags d = {0};
    json_t *j = NULL;
    if (crgw_json_parse_strict(in, in_len, 0, &j, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "crgw: sign: %s\n", d.v[i].message);
        crgw_diags_cleanup(&d);
        return -1;
    }
    crgw_diags_cleanup(&d);
    json_decref(j);
    STACK_OF(X509) *x5c = sk_X509_new_null();
    sk_X509_push(x5c, cert);
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++)
        sk_X509_push(x5c, sk_X509_value(chain, i));
    int compact = strcmp(dialect, "gba-json") == 0;
    char typ[96];
    snprintf(typ, sizeof(typ), "%.*s-credit-report+jws", (int)strcspn(dialect, "-"), dialect);
    int rc = crgw_jws_sign(key, alg, typ, x5c, in, in_len,
                           compact ? CRGW_JWS_COMPACT : CRGW_JWS_FLATTENED, out, out_len);
    sk_X509_free(x5c);
    if (rc != CRGW_JWS_OK) {
        fprintf(stderr, "crgw: sign: the key cannot sign %s\n", alg);
        return -1;
    }
    return 0;
}

/* The signer's key, certificate and chain (PEM files); 0, or -1 with a message on stderr. */
static int read_signer(const char *keyp, const char *certp, const char *const *chainp,
                       size_t n_chain, EVP_PKEY **key, X509 **cert, STACK_OF(X509) * chain)
{
    FILE *f = fopen(keyp, "r");
    *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    f = fopen(certp, "r");
    *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (*key == NULL || *cert == NULL) {
        fprintf(stderr, "crgw: sign: cannot read %s\n", *key == NULL ? keyp : certp);
        return -1;
    }
    for (size_t i = 0; i < n_chain; i++) {
        f = fopen(chainp[i], "r");
        X509 *cc = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
        if (f)
            fclose(f);
        if (cc == NULL) {
            fprintf(stderr, "crgw: sign: cannot read %s\n", chainp[i]);
            return -1;
        }
        sk_X509_push(chain, cc);
    }
    return 0;
}

int crgw_cmd_sign(int argc, char **argv, crgw_cmd_modules mods)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},  {"key", required_argument, NULL, 'k'},
        {"cert", required_argument, NULL, 'C'},    {"chain", required_argument, NULL, 'n'},
        {"dialect", required_argument, NULL, 'd'}, {"alg", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *config = NULL, *keyp = NULL, *certp = NULL, *dialect = NULL, *alg = NULL;
    const char *chainp[8];
    size_t n_chain = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:k:C:n:d:a:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 'k':
            keyp = optarg;
            break;
        case 'C':
            certp = optarg;
            break;
        case 'n':
            if (n_chain < CRGW_ARRAY_LEN(chainp))
                chainp[n_chain++] = optarg;
            break;
        case 'd':
            dialect = optarg;
            break;
        case 'a':
            alg = optarg;
            break;
        case 'h':
            sign_usage();
            return 0;
        default:
            sign_usage();
            return 2;
        }
    }
    if (keyp == NULL || certp == NULL || dialect == NULL || argc - optind < 2 ||
        (argc - optind) % 2 != 0) {
        sign_usage();
        return 2;
    }
    const char *adapters_dir = "adapters";
    crgw_config *cfg = NULL;
    if (config != NULL) {
        if (crgw_cmd_load_config(config, mods, &cfg) != 0)
            return 2;
        if (cfg->adapters_dir != NULL)
            adapters_dir = cfg->adapters_dir;
    }
    int rc = 1;
    crgw_adapters *ad = NULL;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    char *in = NULL, *out = NULL;
    size_t in_len = 0, out_len = 0;
    crgw_diags d = {0};
    if (crgw_adapters_load(adapters_dir, &ad, &d) != 0) {
        for (size_t i = 0; i < d.n; i++)
            fprintf(stderr, "crgw: sign: %s\n", d.v[i].message);
        goto out;
    }
    int is_xml = crgw_adapters_is_xml(ad, dialect);
    if (is_xml < 0) {
        fprintf(stderr, "crgw: sign: unknown dialect %s\n", dialect);
        goto out;
    }
    if (read_signer(keyp, certp, chainp, n_chain, &key, &cert, chain) != 0)
        goto out;
    if (alg == NULL)
        alg = default_alg(key);
    if (alg == NULL || crgw_sigalg_by_jws(alg) == NULL) {
        fprintf(stderr, "crgw: sign: no supported algorithm for this key\n");
        goto out;
    }
    /* the key, certificate and adapters are loaded once for every IN OUT pair */
    for (int i = optind; i + 1 < argc; i += 2) {
        free(in);
        free(out);
        in = out = NULL;
        int rr = crgw_read_file(argv[i], MAX_REPORT, &in, &in_len);
        if (rr != 0) {
            fprintf(stderr, "crgw: sign: cannot read %s: %s\n", argv[i],
                    rr == CRGW_ERR_TOOBIG ? "over 16 MiB" : strerror(errno));
            goto out;
        }
        int sr = is_xml ? sign_xml(in, in_len, key, cert, chain, dialect, alg, &out, &out_len)
                        : sign_json(in, in_len, key, cert, chain, dialect, alg, &out, &out_len);
        if (sr != 0) {
            fprintf(stderr, "crgw: sign: %s not signed\n", argv[i]);
            goto out;
        }
        if (write_file(argv[i + 1], out, out_len) != 0) {
            fprintf(stderr, "crgw: sign: cannot write %s: %s\n", argv[i + 1], strerror(errno));
            goto out;
        }
    }
    rc = 0;
out:
    crgw_diags_cleanup(&d);
    free(in);
    free(out);
    sk_X509_pop_free(chain, X509_free);
    X509_free(cert);
    EVP_PKEY_free(key);
    crgw_adapters_free(ad);
    if (cfg != NULL)
        crgw_config_unref(cfg);
    return rc;
}
