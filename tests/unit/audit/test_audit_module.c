/*
 * The audit module on an embedded server: entries go through the writer thread into files that
 * are read back here and checked against gateway/audit/README.md: every line a JSON object, seq
 * continuous, prev the SHA-256 of the previous line, rotation by size with rotate entries,
 * checkpoints with the right count/head and an ES256 JWS that verifies with the certificate of
 * its x5c, and a restart that resumes the chain (cutting off an incomplete last line).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "gateway/audit/audit.h"
#include "gateway/core/b64.h"
#include "gateway/core/hex.h"
#include "gateway/core/sigalg.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

static const crgw_module *const mods[] = {&crgw_audit_module, NULL};

static char tmp[256];
static const char *key_file = "tests/fixtures/pki/federation/120000/tls.key.pem";
static char logdir[512];

static void make_tmp(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/crgw-audit-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    snprintf(logdir, sizeof(logdir), "%s/log", tmp);
}

static void rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Writes TMP/node.yaml with the audit section `audit` (YAML lines, indented) and loads it. */
static crgw_config *load_with(const char *audit, crgw_errs *errs)
{
    char cwd[512], path[600];
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    snprintf(path, sizeof(path), "%s/node.yaml", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "node:\n  code: \"120000\"\n  name: Tianjin\n"
            "federation: %s/tests/unit/data/config/fed-ok.yaml\n"
            "h2c: 127.0.0.1:19120\nredis: 127.0.0.1:6379\n"
            "tls:\n  cert: %s/tests/fixtures/pki/federation/120000/tls.pem\n"
            "  key: %s/%s\n"
            "  client_ca: %s/tests/fixtures/pki/federation/federation-ca.pem\n"
            "audit:\n%s",
            cwd, cwd, cwd, key_file, cwd, audit);
    fclose(f);
    crgw_config *cfg = NULL;
    int rc = crgw_config_load(path, mods, &cfg, errs);
    return rc == 0 ? cfg : NULL;
}

static crgw_config *load_ok(const char *audit)
{
    crgw_errs errs = {0};
    crgw_config *cfg = load_with(audit, &errs);
    cr_assert_not_null(cfg, "%s", errs.n ? errs.v[0] : "");
    cr_assert_eq(crgw_config_check(cfg, &errs, NULL), 0, "%s", errs.n ? errs.v[0] : "");
    crgw_errs_cleanup(&errs);
    return cfg;
}

/* An embedded server with the audit module, started on a configuration. */
typedef struct {
    crgw_config *cfg;
    struct event_base *base;
    crgw_server *s;
} node;

static crgw_server *node_start_cfg(node *n, crgw_config *cfg)
{
    n->cfg = cfg;
    n->base = event_base_new();
    n->s = crgw_server_new_embedded(n->base, cfg, "unix:/nonexistent/redis.sock");
    cr_assert_not_null(n->s);
    return n->s;
}

/* Starts an embedded server whose audit section is enabled, writes to logdir, and has the
 * more lines (YAML, indented) too. */
static crgw_server *node_start(node *n, const char *more)
{
    char conf[900];
    snprintf(conf, sizeof(conf), "  enabled: true\n  dir: %s\n%s", logdir, more);
    return node_start_cfg(n, load_ok(conf));
}

static void node_stop(node *n)
{
    crgw_server_free_embedded(n->s);
    event_base_free(n->base);
    crgw_config_unref(n->cfg);
}

/* Starts the module on an embedded server, adds n entries (filler bytes each), stops. */
static void run(const char *more, int n, size_t filler)
{
    node nd;
    crgw_server *s = node_start(&nd, more);
    crgw_audit *a = crgw_audit_of(s);
    cr_assert_not_null(a);
    char *fill = xmalloc(filler + 1);
    memset(fill, 'x', filler);
    fill[filler] = '\0';
    for (int i = 0; i < n; i++) {
        json_t *f = json_pack("{s:s,s:s,s:i,s:s}", "action", "redrive", "caller", "urn:test", "i",
                              i, "detail", fill);
        int rc;
        while ((rc = crgw_audit_add(a, "operator", f)) == CRGW_ERR_UNAVAILABLE) {
            usleep(1000); /* queue full: let the writer catch up (the entry was dropped) */
            f = json_pack("{s:s,s:s,s:i,s:s}", "action", "redrive", "caller", "urn:test", "i", i,
                          "detail", fill);
        }
        cr_assert_eq(rc, 0);
    }
    free(fill);
    cr_assert_eq(crgw_audit_add(a, "Bad kind", json_object()), CRGW_ERR_INVALID);
    node_stop(&nd);
}

/* ---- reading the log back ---- */

typedef struct {
    char **lines;
    size_t n;
    char **files; /* file of each line */
    size_t n_files;
} logv;

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void read_log(logv *l)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/w0", logdir);
    memset(l, 0, sizeof(*l));
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "audit-", 6) == 0) {
            cr_assert_lt(nn, 256);
            names[nn++] = xstrdup(de->d_name);
        }
    closedir(d);
    qsort(names, nn, sizeof(names[0]), cmp_str);
    l->n_files = nn;
    for (size_t i = 0; i < nn; i++) {
        char path[900];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        char *buf;
        size_t len;
        cr_assert_eq(crgw_read_file(path, 1u << 30, &buf, &len), 0);
        cr_assert(len > 0 && buf[len - 1] == '\n', "%s ends with a newline", path);
        for (char *p = buf; p < buf + len;) {
            char *nl = memchr(p, '\n', (size_t)(buf + len - p));
            l->lines = xrealloc(l->lines, (l->n + 1) * sizeof(char *));
            l->files = xrealloc(l->files, (l->n + 1) * sizeof(char *));
            l->lines[l->n] = xstrndup(p, (size_t)(nl - p));
            l->files[l->n] = names[i];
            l->n++;
            p = nl + 1;
        }
        free(buf);
    }
}

static void free_log(logv *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->lines[i]);
    for (size_t i = 0; i < l->n; i++)
        if (i == 0 || l->files[i] != l->files[i - 1])
            free(l->files[i]);
    free(l->lines);
    free(l->files);
}

static void sha_hex(const char *s, char out[65])
{
    unsigned char md[32];
    unsigned int ml;
    EVP_Digest(s, strlen(s), md, &ml, EVP_sha256(), NULL);
    crgw_hex(md, 32, out);
}

/* Verifies a checkpoint's JWS and that its payload carries the entry's values. */
static void check_jws(json_t *e)
{
    const char *jws = json_string_value(json_object_get(e, "jws"));
    cr_assert_not_null(jws);
    const char *d1 = strchr(jws, '.');
    cr_assert_not_null(d1);
    const char *d2 = strchr(d1 + 1, '.');
    cr_assert_not_null(d2);
    unsigned char *hdr, *pay, *sig;
    size_t hl, pl, sl;
    cr_assert_eq(crgw_b64url_decode(jws, (size_t)(d1 - jws), &hdr, &hl), 0);
    cr_assert_eq(crgw_b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &pay, &pl), 0);
    cr_assert_eq(crgw_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sl), 0);
    json_t *h = json_loadb((const char *)hdr, hl, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(h, "alg")), "ES256");
    const char *x0 = json_string_value(json_array_get(json_object_get(h, "x5c"), 0));
    cr_assert_not_null(x0);
    unsigned char *der;
    size_t dl;
    cr_assert_eq(crgw_b64_decode(x0, strlen(x0), 0, &der, &dl), 0);
    const unsigned char *dp = der;
    X509 *cert = d2i_X509(NULL, &dp, (long)dl);
    cr_assert_not_null(cert);
    EVP_PKEY *key = X509_get0_pubkey(cert);
    cr_assert_eq(crgw_sigalg_verify(crgw_sigalg_by_jws("ES256"), key, (const unsigned char *)jws,
                                    (size_t)(d2 - jws), sig, sl, CRGW_SIGENC_P1363),
                 CRGW_SIGALG_OK);
    json_t *p = json_loadb((const char *)pay, pl, 0, NULL);
    cr_assert_not_null(p);
    const char *keys[] = {"node", "count", "head", "time"};
    for (size_t i = 0; i < 4; i++)
        cr_assert(json_equal(json_object_get(p, keys[i]), json_object_get(e, keys[i])), "%s",
                  keys[i]);
    cr_assert_eq(json_object_size(p), 4);
    json_decref(p);
    json_decref(h);
    X509_free(cert);
    free(der);
    free(hdr);
    free(pay);
    free(sig);
}

typedef struct {
    size_t starts, rotates, checkpoints, operators;
} counts;

/* The whole chain: fields in order, seq 1..n, prev links, rotations, checkpoints. */
static counts check_chain(const logv *l)
{
    counts c = {0};
    char prev[65];
    memset(prev, '0', 64);
    prev[64] = '\0';
    for (size_t i = 0; i < l->n; i++) {
        const char *line = l->lines[i];
        cr_assert(strncmp(line, "{\"v\":1,\"seq\":", 13) == 0, "%s", line);
        json_t *e = json_loads(line, 0, NULL);
        cr_assert_not_null(e, "line %zu parses", i + 1);
        cr_assert_eq(json_integer_value(json_object_get(e, "seq")), (json_int_t)(i + 1));
        cr_assert_str_eq(json_string_value(json_object_get(e, "prev")), prev, "seq %zu", i + 1);
        const char *t = json_string_value(json_object_get(e, "time"));
        cr_assert(t && strlen(t) == 24 && t[23] == 'Z' && t[19] == '.', "%s", t);
        const char *kind = json_string_value(json_object_get(e, "kind"));
        cr_assert_not_null(kind);
        const char *order[] = {"v", "seq", "time", "prev", "kind"};
        void *it = json_object_iter(e);
        for (size_t k = 0; k < 5; k++, it = json_object_iter_next(e, it))
            cr_assert_str_eq(json_object_iter_key(it), order[k]);
        int first_of_file = i > 0 && l->files[i] != l->files[i - 1];
        if (first_of_file) {
            cr_assert_str_eq(kind, "rotate", "first line of %s", l->files[i]);
            cr_assert_str_eq(json_string_value(json_object_get(e, "previous_file")),
                             l->files[i - 1]);
        }
        if (strcmp(kind, "rotate") == 0) {
            cr_assert(first_of_file);
            c.rotates++;
        } else if (strcmp(kind, "start") == 0) {
            cr_assert_str_eq(json_string_value(json_object_get(e, "node")), "120000");
            cr_assert(json_integer_value(json_object_get(e, "pid")) > 0);
            c.starts++;
        } else if (strcmp(kind, "checkpoint") == 0) {
            cr_assert_eq(json_integer_value(json_object_get(e, "count")), (json_int_t)i);
            cr_assert_str_eq(json_string_value(json_object_get(e, "head")), prev);
            cr_assert_str_eq(json_string_value(json_object_get(e, "node")), "120000");
            check_jws(e);
            c.checkpoints++;
        } else {
            cr_assert_str_eq(kind, "operator");
            cr_assert_str_eq(json_string_value(json_object_get(e, "action")), "redrive");
            c.operators++;
        }
        json_decref(e);
        sha_hex(line, prev);
    }
    return c;
}

/* ---- tests ---- */

Test(audit, chain_rotation_and_checkpoints)
{
    make_tmp();
    run("  checkpoint_every: 1000\n  max_file_mb: 1\n  queue_max: 100000\n", 2500, 1000);
    logv l;
    read_log(&l);
    counts c = check_chain(&l);
    cr_assert_eq(c.starts, 1);
    cr_assert_eq(c.operators, 2500);
    cr_assert_geq(l.n_files, 3, "%zu files", l.n_files); /* ~2.8 MB in 1 MiB files */
    cr_assert_eq(c.rotates, l.n_files - 1);
    /* one every 1000 entries (rotations and start count), and the final one at stop */
    cr_assert_eq(c.checkpoints, (1 + 2500 + c.rotates) / 1000 + 1, "%zu", c.checkpoints);
    cr_assert_str_eq(strstr(l.lines[l.n - 1], "\"kind\":\"checkpoint\"") ? "y" : "n", "y");
    for (size_t i = 0; i < l.n; i++) {
        if (i > 0 && l.files[i] == l.files[i - 1])
            continue;
        /* every file stays within the size (the line that would pass it goes to the next) */
        char path[900];
        struct stat st;
        snprintf(path, sizeof(path), "%s/w0/%s", logdir, l.files[i]);
        cr_assert_eq(stat(path, &st), 0);
        cr_assert_leq(st.st_size, 1 << 20, "%s", path);
    }
    free_log(&l);
    rm_rf(tmp);
}

Test(audit, add_text_copies_checks_and_keeps_the_order)
{
    make_tmp();
    node nd;
    crgw_server *s = node_start(&nd, "  checkpoint_every: 50\n");
    crgw_audit *a = crgw_audit_of(s);
    cr_assert_not_null(a);
    /* not a JSON object text, or one with a raw newline (it would split the line) */
    const char *bad[] = {"", "{", "[1]", "{\"action\":\"x\"", "{\"action\":\n\"x\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(crgw_audit_add_text(a, "operator", bad[i], strlen(bad[i])), CRGW_ERR_INVALID,
                     "%s", bad[i]);
    cr_assert_eq(crgw_audit_add_text(a, "Operator", "{}", 2), CRGW_ERR_INVALID);
    cr_assert_eq(crgw_audit_add_text(NULL, "operator", "{}", 2), 0);
    /* a text entry, a tree entry, one larger than a queue chunk (64 KiB), in that order; the
     * caller's buffer is copied: changed at once after the call, it does not change the entry */
    size_t big = 200000;
    char *buf = xmalloc(big + 64);
    for (int i = 0; i < 300; i++) {
        size_t fill = i == 150 ? big : (size_t)i;
        int n = snprintf(buf, 64, "{\"action\":\"redrive\",\"i\":%d,\"detail\":\"", i);
        memset(buf + n, 'y', fill);
        memcpy(buf + n + fill, "\"}", 3);
        size_t len = (size_t)n + fill + 2;
        if (i % 2) {
            cr_assert_eq(crgw_audit_add_text(a, "operator", buf, len), 0);
            memset(buf, '#', len);
        } else {
            buf[len] = '\0';
            cr_assert_eq(crgw_audit_add(a, "operator", json_loads(buf, 0, NULL)), 0);
        }
    }
    free(buf);
    node_stop(&nd);
    logv l;
    read_log(&l);
    counts c = check_chain(&l);
    cr_assert_eq(c.operators, 300);
    int next = 0;
    for (size_t i = 0; i < l.n; i++) {
        json_t *e = json_loads(l.lines[i], 0, NULL);
        json_t *n = json_object_get(e, "i");
        if (n) {
            cr_assert_eq(json_integer_value(n), next, "entry %d in its place", next);
            size_t want = next == 150 ? big : (size_t)next;
            cr_assert_eq(strlen(json_string_value(json_object_get(e, "detail"))), want);
            next++;
        }
        json_decref(e);
    }
    cr_assert_eq(next, 300);
    free_log(&l);
    rm_rf(tmp);
}

Test(audit, restart_resumes_the_chain)
{
    make_tmp();
    run("  checkpoint_every: 7\n", 20, 10);
    logv l;
    read_log(&l);
    size_t n1 = l.n;
    check_chain(&l);
    free_log(&l);
    /* a crash in the middle of a line: the incomplete line is cut off at the next start */
    char path[900];
    snprintf(path, sizeof(path), "%s/w0", logdir);
    DIR *d = opendir(path);
    struct dirent *de;
    char name[300] = "";
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "audit-", 6) == 0 && strcmp(de->d_name, name) > 0)
            snprintf(name, sizeof(name), "%s", de->d_name);
    closedir(d);
    snprintf(path, sizeof(path), "%s/w0/%s", logdir, name);
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "{\"v\":1,\"seq\":99", 15), 15);
    close(fd);
    run("  checkpoint_every: 7\n", 5, 10);
    read_log(&l);
    counts c = check_chain(&l);
    cr_assert_eq(c.starts, 2);
    cr_assert_eq(c.operators, 25);
    cr_assert(strstr(l.lines[n1], "\"kind\":\"start\""), "%s", l.lines[n1]);
    free_log(&l);
    rm_rf(tmp);
}

Test(audit, disabled_has_no_state)
{
    make_tmp();
    crgw_config *cfg = load_ok("  enabled: false\n");
    const crgw_audit_conf *ac = crgw_audit_conf_of(cfg);
    cr_assert_eq(ac->checkpoint_every, 1000);
    cr_assert_eq(ac->checkpoint_s, 60);
    cr_assert_eq(ac->max_file_mb, 64);
    cr_assert_eq(ac->queue_max, 65536);
    cr_assert_str_eq(ac->on_failure, "refuse");
    node nd;
    crgw_server *s = node_start_cfg(&nd, cfg);
    cr_assert_null(crgw_audit_of(s));
    cr_assert_eq(crgw_audit_add(NULL, "operator", json_object()), 0);
    cr_assert_eq(crgw_audit_refusing(NULL), 0);
    node_stop(&nd);
    rm_rf(tmp);
}

Test(audit, check_hook_errors)
{
    make_tmp();
    crgw_errs errs = {0};
    crgw_config *cfg = load_with("  enabled: true\n  on_failure: shrug\n", &errs);
    cr_assert_not_null(cfg, "%s", errs.n ? errs.v[0] : "");
    cr_assert_eq(crgw_config_check(cfg, &errs, NULL), CRGW_ERR_INVALID);
    cr_assert_eq(errs.n, 2, "%zu", errs.n);
    cr_assert(strstr(errs.v[0], "node.yaml:11: audit: on_failure"), "%s", errs.v[0]);
    cr_assert(strstr(errs.v[1], "audit: 'dir' is required"), "%s", errs.v[1]);
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
    cfg = load_with("  enabled: true\n  dir: /proc/nope/audit\n", &errs);
    cr_assert_not_null(cfg);
    cr_assert_eq(crgw_config_check(cfg, &errs, NULL), CRGW_ERR_INVALID);
    cr_assert(errs.n == 1 && strstr(errs.v[0], "audit: dir /proc/nope/audit: "), "%s",
              errs.n ? errs.v[0] : "");
    crgw_config_unref(cfg);
    crgw_errs_cleanup(&errs);
    rm_rf(tmp);
}

/* The audit reason of /readyz, NULL when the log is fine. */
static const char *audit_reason(crgw_server *s)
{
    const char *r[8];
    size_t n = crgw_server_not_ready(s, r, 8);
    for (size_t i = 0; i < n; i++)
        if (strncmp(r[i], "audit:", 6) == 0)
            return r[i];
    return NULL;
}

/*
 * The disk refuses writes (a file size limit: EFBIG after a partial write): /readyz and
 * crgw_audit_refusing say so, the entries wait in the queue, and once the disk takes writes
 * again they are all written, in order, with no partial or duplicated line.
 */
Test(audit, disk_failure_keeps_every_entry_in_order)
{
    make_tmp();
    signal(SIGXFSZ, SIG_IGN);
    node nd;
    crgw_server *s = node_start(&nd, "  queue_max: 1000\n");
    crgw_audit *a = crgw_audit_of(s);
    cr_assert_null(audit_reason(s));
    cr_assert_eq(crgw_audit_refusing(a), 0);
    struct rlimit rl, small;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
    small = rl;
    small.rlim_cur = 65536;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    char fill[501];
    memset(fill, 'y', 500);
    fill[500] = '\0';
    for (int i = 0; i < 300; i++) {
        int rc = crgw_audit_add(
            a, "operator", json_pack("{s:s,s:i,s:s}", "action", "redrive", "i", i, "detail", fill));
        cr_assert(rc == 0 || rc == CRGW_ERR_UNAVAILABLE); /* queued either way */
    }
    const char *why = NULL;
    for (int i = 0; i < 500 && !(why = audit_reason(s)); i++)
        usleep(10000);
    cr_assert_not_null(why, "the disk failure shows in /readyz");
    cr_assert_str_eq(why, "audit: disk: File too large");
    cr_assert_eq(crgw_audit_refusing(a), 1);
    cr_assert_eq(crgw_audit_add(a, "operator", json_pack("{s:s}", "action", "redrive")),
                 CRGW_ERR_UNAVAILABLE);
    usleep(300000); /* a few retries */
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    for (int i = 0; i < 500 && audit_reason(s); i++)
        usleep(10000);
    cr_assert_null(audit_reason(s), "the writer recovers");
    cr_assert_eq(crgw_audit_refusing(a), 0);
    node_stop(&nd);
    logv l;
    read_log(&l);
    counts c = check_chain(&l);
    cr_assert_eq(c.operators, 301);
    for (size_t i = 0, k = 0; i < l.n && k < 300; i++) {
        json_t *e = json_loads(l.lines[i], 0, NULL);
        json_t *n = json_object_get(e, "i");
        if (n)
            cr_assert_eq(json_integer_value(n), (json_int_t)k++, "entries in order");
        json_decref(e);
    }
    free_log(&l);
    rm_rf(tmp);
}

/* A checkpoint is written checkpoint_s after the last one when something new was written. */
Test(audit, checkpoint_by_time)
{
    make_tmp();
    node nd;
    crgw_server *s = node_start(&nd, "  checkpoint_s: 1\n");
    crgw_audit *a = crgw_audit_of(s);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(crgw_audit_add(a, "operator", json_pack("{s:s}", "action", "redrive")), 0);
    usleep(1600000);
    logv l;
    read_log(&l); /* while the writer runs */
    counts c = check_chain(&l);
    cr_assert_eq(l.n, 5, "%zu lines", l.n);
    cr_assert_eq(c.checkpoints, 1);
    free_log(&l);
    usleep(1200000); /* nothing new: no other checkpoint */
    read_log(&l);
    cr_assert_eq(l.n, 5, "%zu lines", l.n);
    free_log(&l);
    node_stop(&nd);
    read_log(&l);
    cr_assert_eq(l.n, 5, "no final checkpoint after a checkpoint: %zu lines", l.n);
    free_log(&l);
    rm_rf(tmp);
}

/* Without a usable ES256 key the log is written, without checkpoints, and /readyz says so. */
Test(audit, no_signing_key)
{
    make_tmp();
    key_file = "tests/fixtures/pki/negative/120000-revoked/signer.key.pem"; /* RSA */
    node nd;
    crgw_server *s = node_start(&nd, "  checkpoint_every: 2\n");
    const char *why = audit_reason(s);
    cr_assert(why && strcmp(why, "audit: no signing key") == 0, "%s", why ? why : "(ready)");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(
            crgw_audit_add(crgw_audit_of(s), "operator", json_pack("{s:s}", "action", "redrive")),
            0);
    node_stop(&nd);
    logv l;
    read_log(&l);
    counts c = check_chain(&l);
    cr_assert_eq(c.checkpoints, 0);
    cr_assert_eq(c.operators, 5);
    free_log(&l);
    rm_rf(tmp);
}
