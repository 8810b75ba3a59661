/*
 * Unit tests of gateway/audit/audit_check.c: a log written per gateway/audit/README.md (300
 * entries over 3 files, rotate entries, checkpoints signed with node 120000's federation key)
 * is intact; each tampering is named at its file and line.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/audit/audit_check.h"
#include "gateway/core/b64.h"
#include "gateway/core/hex.h"
#include "gateway/core/json.h"
#include "gateway/core/sigalg.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"

#define KEY_120000 "tests/fixtures/pki/federation/120000/tls.key.pem"
#define CERT_120000 "tests/fixtures/pki/federation/120000/tls.pem"
#define KEY_110000 "tests/fixtures/pki/federation/110000/tls.key.pem"
#define USCC "91120000MA05ABCD3X"

#define N_FILES 3
static const char *const NAMES[N_FILES] = {"audit-20261202-0001.jsonl", "audit-20261202-0002.jsonl",
                                           "audit-20261202-0003.jsonl"};
static const long LAST_SEQ[N_FILES] = {100, 220, 300}; /* last seq of each file */
#define ENTRIES 300
#define CHECKPOINTS 6 /* every 50 entries, the last one included */

typedef struct {
    EVP_PKEY *key; /* signs the checkpoints */
    char *hdr64;   /* base64url of {"alg":"ES256","x5c":[cert]} */
    char prev[65];
    long seq;
    FILE *f;
    size_t repairs;
} gen;

static char tmp[256];
static EVP_PKEY *pub120000;

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(k, "%s", path);
    return k;
}

static X509 *load_cert(void)
{
    FILE *f = fopen(CERT_120000, "r");
    cr_assert_not_null(f);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    cr_assert_not_null(x);
    return x;
}

static char *header64(void)
{
    X509 *x = load_cert();
    unsigned char *der = NULL;
    int dl = i2d_X509(x, &der);
    cr_assert_gt(dl, 0);
    char *b = crgw_b64_encode(der, (size_t)dl, NULL);
    OPENSSL_free(der);
    X509_free(x);
    json_t *h = json_pack("{s:s,s:[s]}", "alg", "ES256", "x5c", b);
    free(b);
    size_t hl = 0;
    char *hs = crgw_json_dump(h, 0, &hl);
    json_decref(h);
    char *out = crgw_b64url_encode((const unsigned char *)hs, hl, NULL);
    free(hs);
    return out;
}

static void entry_time(long seq, char *out, size_t cap)
{
    snprintf(out, cap, "2026-12-02T10:%02ld:%02ld.%03ldZ", (seq / 60) % 60, seq % 60,
             (seq * 37) % 1000);
}

static char *sign_checkpoint(gen *g, EVP_PKEY *key, json_t *payload)
{
    size_t pl = 0;
    char *ps = crgw_json_dump(payload, 0, &pl);
    char *p64 = crgw_b64url_encode((const unsigned char *)ps, pl, NULL);
    free(ps);
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    cr_assert_eq(crgw_buf_printf(&b, "%s.%s", g->hdr64, p64), 0);
    free(p64);
    unsigned char *sig = NULL;
    size_t sl = 0;
    cr_assert_eq(crgw_sigalg_sign(crgw_sigalg_by_jws("ES256"), key, (const unsigned char *)b.data,
                                  b.len, CRGW_SIGENC_P1363, &sig, &sl),
                 0);
    char *s64 = crgw_b64url_encode(sig, sl, NULL);
    free(sig);
    cr_assert_eq(crgw_buf_printf(&b, ".%s", s64), 0);
    free(s64);
    return crgw_buf_take(&b, NULL);
}

/* Writes the next entry: chain fields, kind, then fields (stolen). */
static void emit(gen *g, const char *kind, json_t *fields)
{
    long seq = ++g->seq;
    char t[32];
    entry_time(seq, t, sizeof(t));
    json_t *o = json_pack("{s:i,s:I,s:s,s:s,s:s}", "v", 1, "seq", (json_int_t)seq, "time", t,
                          "prev", g->prev, "kind", kind);
    if (strcmp(kind, "checkpoint") == 0) {
        json_t *p = json_pack("{s:s,s:I,s:s,s:s}", "node", "120000", "count", (json_int_t)(seq - 1),
                              "head", g->prev, "time", t);
        char *jws = sign_checkpoint(g, g->key, p);
        json_decref(p);
        json_object_set_new(o, "count", json_integer(seq - 1));
        json_object_set_new(o, "head", json_string(g->prev));
        json_object_set_new(o, "node", json_string("120000"));
        json_object_set_new(o, "jws", json_string(jws));
        free(jws);
    }
    if (fields) {
        json_object_update(o, fields);
        json_decref(fields);
    }
    size_t len = 0;
    char *line = crgw_json_dump(o, 0, &len);
    json_decref(o);
    fwrite(line, 1, len, g->f);
    fputc('\n', g->f);
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(line, len, md, &ml, EVP_sha256(), NULL);
    crgw_hex(md, 32, g->prev);
    free(line);
}

static void body_hash(long seq, char out[65])
{
    char body[32];
    snprintf(body, sizeof(body), "body-%ld", seq);
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(body, strlen(body), md, &ml, EVP_sha256(), NULL);
    crgw_hex(md, 32, out);
}

static void emit_work(gen *g)
{
    long seq = g->seq + 1;
    if (seq % 50 == 0) {
        emit(g, "checkpoint", NULL);
    } else if (seq % 7 == 0) {
        char ev[32];
        snprintf(ev, sizeof(ev), "EV-%04ld", seq);
        emit(g, "repair",
             json_pack("{s:s,s:s,s:s,s:I,s:s,s:s,s:s,s:s}", "action", "event_sent", "event_id", ev,
                       "origin", "120000", "origin_seq", (json_int_t)seq, "record_id", "R1", "uscc",
                       USCC, "peer", "110000", "result", "ok"));
        g->repairs++;
    } else {
        char h[65];
        body_hash(seq, h);
        emit(g, "verify",
             json_pack("{s:s,s:s,s:s,s:s,s:s}", "caller", "urn:crgw:client:120000:verifier",
                       "route", "/v1/verify", "body_sha256", h, "indication", "TOTAL_PASSED",
                       "cache", "miss"));
    }
}

/* A valid log in dir; returns the number of repair entries. */
static size_t write_log(const char *dir)
{
    gen g = {.key = load_key(KEY_120000), .hdr64 = header64()};
    memset(g.prev, '0', 64);
    for (int i = 0; i < N_FILES; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/%s", dir, NAMES[i]);
        g.f = fopen(path, "w");
        cr_assert_not_null(g.f, "%s", path);
        if (i == 0)
            emit(&g, "start", json_pack("{s:s,s:i}", "node", "120000", "pid", 4242));
        else
            emit(&g, "rotate", json_pack("{s:s}", "previous_file", NAMES[i - 1]));
        while (g.seq < LAST_SEQ[i])
            emit_work(&g);
        fclose(g.f);
    }
    EVP_PKEY_free(g.key);
    free(g.hdr64);
    return g.repairs;
}

/* ---- tampering: a file as lines ---- */

typedef struct {
    char *data;
    char *line[512];
    size_t n;
} lines;

static void path_of(int file, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", tmp, NAMES[file]);
}

static void read_lines(int file, lines *l)
{
    char path[512];
    path_of(file, path, sizeof(path));
    size_t len = 0;
    cr_assert_eq(crgw_read_file(path, 1u << 26, &l->data, &len), 0);
    l->n = 0;
    for (char *p = l->data; *p;) {
        char *nl = strchr(p, '\n');
        cr_assert_not_null(nl);
        *nl = '\0';
        cr_assert_lt(l->n, 512);
        l->line[l->n++] = p;
        p = nl + 1;
    }
}

/* Writes the lines back; the last one without its \n when cut > 0 (cut bytes of it kept). */
static void write_lines(int file, lines *l, size_t cut)
{
    char path[512];
    path_of(file, path, sizeof(path));
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (size_t i = 0; i < l->n; i++) {
        if (cut && i + 1 == l->n) {
            fwrite(l->line[i], 1, cut, f);
            break;
        }
        fprintf(f, "%s\n", l->line[i]);
    }
    fclose(f);
    free(l->data);
}

static void delete_line(lines *l, size_t lineno)
{
    memmove(&l->line[lineno - 1], &l->line[lineno], (l->n - lineno) * sizeof(char *));
    l->n--;
}

static void setup(void)
{
    snprintf(tmp, sizeof(tmp), "/tmp/crgw-audit-XXXXXX");
    cr_assert_not_null(mkdtemp(tmp));
    write_log(tmp);
    FILE *f = fopen(CERT_120000, "r");
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    pub120000 = X509_get_pubkey(x);
    X509_free(x);
}

static void teardown(void)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    cr_assert_eq(system(cmd), 0);
    EVP_PKEY_free(pub120000);
}

TestSuite(audit_check, .init = setup, .fini = teardown);

static void expect_problem(int rc, const crgw_audit_report *r, int want_rc, int file, long line,
                           const char *what)
{
    char path[512];
    path_of(file, path, sizeof(path));
    cr_assert_eq(rc, want_rc, "rc %d: %s:%ld: %s", rc, r->file, r->line, r->what);
    cr_assert_str_eq(r->file, path);
    cr_assert_eq(r->line, line, "%s:%ld: %s", r->file, r->line, r->what);
    cr_assert_str_eq(r->what, what);
}

static int check(crgw_audit_report *r)
{
    return crgw_audit_check(tmp, pub120000, INT64_MIN, INT64_MAX, r);
}

Test(audit_check, intact)
{
    crgw_audit_report r;
    int rc = check(&r);
    cr_assert_eq(rc, 0, "%s:%ld: %s", r.file, r.line, r.what);
    cr_assert_eq(r.entries, ENTRIES);
    cr_assert_eq(r.checkpoints, CHECKPOINTS);
    cr_assert_eq(r.files, N_FILES);
    cr_assert_eq(r.chains, 1);
    cr_assert_eq(r.warnings, 0, "%s", r.warning);
    cr_assert_eq(r.in_range, ENTRIES);
}

Test(audit_check, time_range_counts)
{
    crgw_audit_report r;
    int64_t from = 0, to = 0;
    crgw_time_parse_rfc3339("2026-12-02T10:01:00Z", 0, &from);
    crgw_time_parse_rfc3339("2026-12-02T10:01:59Z", 0, &to);
    cr_assert_eq(crgw_audit_check(tmp, pub120000, from, to, &r), 0);
    cr_assert_eq(r.entries, ENTRIES);
    cr_assert_eq(r.in_range, 60); /* seq 60..119 */
}

Test(audit_check, flip_one_byte_in_a_value)
{
    lines l;
    read_lines(1, &l);
    char *h = strstr(l.line[9], "\"body_sha256\":\"");
    cr_assert_not_null(h);
    h[15 + 20] ^= 0x01;
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 11, "prev does not match the previous line");
}

Test(audit_check, flip_one_byte_of_the_syntax)
{
    lines l;
    read_lines(1, &l);
    l.line[9][0] ^= 0x01; /* '{' -> 'z' */
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 10, "not JSON (or not a JSON object)");
}

Test(audit_check, flip_one_byte_of_a_checkpoint)
{
    lines l;
    read_lines(1, &l);
    char *j = strstr(l.line[49], "\"jws\":\""); /* seq 150 */
    cr_assert_not_null(j);
    char *sig = strrchr(j, '.');
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_SIG, 1, 50,
                   "checkpoint signature does not verify with the node's certificate");
}

Test(audit_check, delete_one_line)
{
    lines l;
    read_lines(1, &l);
    delete_line(&l, 10); /* seq 110 */
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 10, "seq 111 after 109");
}

Test(audit_check, reorder_two_lines)
{
    lines l;
    read_lines(1, &l);
    char *t = l.line[9];
    l.line[9] = l.line[10];
    l.line[10] = t;
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 10, "seq 111 after 109");
}

Test(audit_check, truncate_a_file_mid_line)
{
    lines l;
    read_lines(1, &l);
    l.n = 20;
    write_lines(1, &l, strlen(l.line[19]) / 2);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 20, "incomplete last line (truncated file)");
}

Test(audit_check, truncate_the_last_file_mid_line)
{
    lines l;
    read_lines(2, &l);
    write_lines(2, &l, 30);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 2, 80, "incomplete last line (truncated file)");
}

/* The checkpoint line with its jws re-signed (same header and payload) by key. */
static char *resign(const char *line, EVP_PKEY *key)
{
    json_t *o = json_loads(line, 0, NULL);
    cr_assert_not_null(o);
    const char *jws = json_string_value(json_object_get(o, "jws"));
    cr_assert_not_null(jws);
    const char *d2 = strrchr(jws, '.');
    unsigned char *sig = NULL;
    size_t sl = 0;
    cr_assert_eq(crgw_sigalg_sign(crgw_sigalg_by_jws("ES256"), key, (const unsigned char *)jws,
                                  (size_t)(d2 - jws), CRGW_SIGENC_P1363, &sig, &sl),
                 0);
    char *s64 = crgw_b64url_encode(sig, sl, NULL);
    free(sig);
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    cr_assert_eq(crgw_buf_printf(&b, "%.*s.%s", (int)(d2 - jws), jws, s64), 0);
    free(s64);
    char *nj = crgw_buf_take(&b, NULL);
    json_object_set_new(o, "jws", json_string(nj));
    free(nj);
    char *out = crgw_json_dump(o, 0, NULL);
    json_decref(o);
    return out;
}

Test(audit_check, last_checkpoint_signed_by_another_node)
{
    /* the last checkpoint replaced by the same one signed by node 110000 */
    EVP_PKEY *k110 = load_key(KEY_110000);
    lines l;
    read_lines(2, &l);
    char *forged = resign(l.line[79], k110);
    EVP_PKEY_free(k110);
    cr_assert_str_neq(l.line[79], forged);
    cr_assert_eq(strlen(l.line[79]), strlen(forged));
    l.line[79] = forged;
    write_lines(2, &l, 0);
    free(forged);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_SIG, 2, 80,
                   "checkpoint signature does not verify with the node's certificate");
}

Test(audit_check, missing_final_checkpoint_is_a_warning)
{
    lines l;
    read_lines(2, &l);
    l.n--;
    write_lines(2, &l, 0);
    crgw_audit_report r;
    cr_assert_eq(check(&r), 0, "%s:%ld: %s", r.file, r.line, r.what);
    cr_assert_eq(r.entries, ENTRIES - 1);
    cr_assert_eq(r.checkpoints, CHECKPOINTS - 1);
    cr_assert_eq(r.warnings, 1);
    cr_assert_not_null(strstr(r.warning, "does not end with a checkpoint"), "%s", r.warning);
}

Test(audit_check, a_whole_file_removed)
{
    char path[512];
    path_of(1, path, sizeof(path));
    cr_assert_eq(unlink(path), 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 2, 1, "seq 221 after 100");
}

Test(audit_check, rotate_names_another_file)
{
    char from[512], to[512];
    path_of(0, from, sizeof(from));
    snprintf(to, sizeof(to), "%s/audit-20261201-0001.jsonl", tmp);
    cr_assert_eq(rename(from, to), 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 1,
                   "rotate previous_file is not audit-20261201-0001.jsonl");
}

Test(audit_check, rotate_entry_missing)
{
    /* file 2 split in two (0002: seq 101-160, 0003: seq 161-220), file 3 renamed 0004 */
    char from[512], to[512];
    path_of(2, from, sizeof(from));
    snprintf(to, sizeof(to), "%s/audit-20261202-0004.jsonl", tmp);
    cr_assert_eq(rename(from, to), 0);
    lines l;
    read_lines(1, &l);
    path_of(2, to, sizeof(to));
    FILE *f = fopen(to, "w");
    for (size_t i = 60; i < l.n; i++)
        fprintf(f, "%s\n", l.line[i]);
    fclose(f);
    l.n = 60;
    write_lines(1, &l, 0);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 2, 1,
                   "rotate entry missing (first entry of a file is repair)");
}

Test(audit_check, rotate_entry_not_at_the_start_of_a_file)
{
    /* file 2 and 3 merged: the rotate entry of file 3 is now in the middle of a file */
    lines a, b;
    read_lines(1, &a);
    read_lines(2, &b);
    char path[512];
    path_of(1, path, sizeof(path));
    FILE *f = fopen(path, "a");
    for (size_t i = 0; i < b.n; i++)
        fprintf(f, "%s\n", b.line[i]);
    fclose(f);
    free(a.data);
    path_of(2, path, sizeof(path));
    unlink(path);
    free(b.data);
    crgw_audit_report r;
    expect_problem(check(&r), &r, CRGW_ERR_INVALID, 1, 121,
                   "rotate entry not at the start of a file");
}

Test(audit_check, other_key_rejects_every_checkpoint)
{
    EVP_PKEY *k110 = load_key(KEY_110000);
    crgw_audit_report r;
    int rc = crgw_audit_check(tmp, k110, INT64_MIN, INT64_MAX, &r);
    EVP_PKEY_free(k110);
    expect_problem(rc, &r, CRGW_ERR_SIG, 0, 50,
                   "checkpoint signature does not verify with the node's certificate");
}

Test(audit_check, empty_directory)
{
    char empty[300];
    snprintf(empty, sizeof(empty), "%s/w0", tmp);
    cr_assert_eq(mkdir(empty, 0700), 0);
    crgw_audit_report r;
    cr_assert_eq(crgw_audit_check(empty, pub120000, INT64_MIN, INT64_MAX, &r), CRGW_ERR_NOT_FOUND);
}

Test(audit_check, one_chain_per_worker)
{
    for (int w = 0; w < 2; w++) {
        char d[300];
        snprintf(d, sizeof(d), "%s/workers/w%d", tmp, w);
        char parent[300];
        snprintf(parent, sizeof(parent), "%s/workers", tmp);
        mkdir(parent, 0700);
        cr_assert_eq(mkdir(d, 0700), 0);
        write_log(d);
    }
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/workers", tmp);
    crgw_audit_report r;
    cr_assert_eq(crgw_audit_check(dir, pub120000, INT64_MIN, INT64_MAX, &r), 0, "%s:%ld: %s",
                 r.file, r.line, r.what);
    cr_assert_eq(r.chains, 2);
    cr_assert_eq(r.entries, 2 * ENTRIES);
    cr_assert_eq(r.files, 2 * N_FILES);
    cr_assert_eq(r.checkpoints, 2 * CHECKPOINTS);
}

typedef struct {
    long n;
    long first_line;
    char first_file[512];
} hits;

static int on_hit(const char *file, long line, const char *text, size_t len, void *ctx)
{
    hits *h = ctx;
    cr_assert_eq(strlen(text), len);
    if (h->n++ == 0) {
        h->first_line = line;
        snprintf(h->first_file, sizeof(h->first_file), "%s", file);
    }
    return 0;
}

Test(audit_check, find)
{
    char err[256];
    hits h = {0};
    /* repair entries (seq % 7 == 0, not checkpoints): all about USCC */
    long want = 0;
    for (long s = 1; s <= ENTRIES; s++)
        want += s % 7 == 0 && s % 50 != 0 && s != 101 && s != 221;
    cr_assert_eq(crgw_audit_find(tmp, "uscc", USCC, on_hit, &h, err, sizeof(err)), want);
    cr_assert_eq(h.n, want);
    memset(&h, 0, sizeof(h));
    cr_assert_eq(crgw_audit_find(tmp, "event_id", "EV-0105", on_hit, &h, err, sizeof(err)), 1);
    char path[512];
    path_of(1, path, sizeof(path));
    cr_assert_str_eq(h.first_file, path);
    cr_assert_eq(h.first_line, 5);
    memset(&h, 0, sizeof(h));
    char bh[65];
    body_hash(43, bh);
    cr_assert_eq(crgw_audit_find(tmp, "body_sha256", bh, on_hit, &h, err, sizeof(err)), 1);
    cr_assert_eq(h.first_line, 43);
    cr_assert_eq(crgw_audit_find(tmp, "uscc", "nobody", on_hit, &h, err, sizeof(err)), 0);
}
