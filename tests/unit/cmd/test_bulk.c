/*
 * The bulk engine's pieces (gateway/cmd/bulk*.c): ZIP archives listed in name order with their
 * bounds (entries, total size, ratio: the whole archive refused, naming the bound), an entry over
 * the file bound, entries read back exactly, what is not a ZIP; the output lines of errors
 * (CSV quoting, JSON, table) and the summary's counts.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "gateway/cmd/bulk.h"
#include "gateway/core/util.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/crgw-unit-bulk.XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(bulk, .init = setup, .fini = teardown);

typedef struct {
    const char *name;
    const char *data; /* NULL: a directory entry */
    size_t len;
    int store; /* 1: stored, not deflated */
} zentry;

static void make_zip(const char *path, const zentry *es, size_t n)
{
    int ze = 0;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &ze);
    cr_assert_not_null(z, "zip_open %s: %d", path, ze);
    for (size_t i = 0; i < n; i++) {
        if (es[i].data == NULL) {
            cr_assert_geq(zip_dir_add(z, es[i].name, 0), 0);
            continue;
        }
        zip_source_t *s = zip_source_buffer(z, es[i].data, es[i].len, 0);
        cr_assert_not_null(s);
        zip_int64_t idx = zip_file_add(z, es[i].name, s, 0);
        cr_assert_geq(idx, 0);
        if (es[i].store)
            cr_assert_eq(zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0), 0);
    }
    cr_assert_eq(zip_close(z), 0, "zip_close: %s", zip_strerror(z));
}

static const crgw_bulk_bounds defaults = {CRGW_BULK_MAX_FILE, CRGW_BULK_ZIP_MAX_ENTRIES,
                                          CRGW_BULK_ZIP_MAX_TOTAL, CRGW_BULK_ZIP_MAX_RATIO};

static void list_free(crgw_bulk_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].errtext);
    }
    for (size_t i = 0; i < l->n_zips; i++)
        free(l->zips[i]);
    free(l->zips);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static char *path_of(const char *name)
{
    static char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

Test(bulk, zip_entries_in_name_order_directories_skipped_and_read_back)
{
    const zentry es[] = {
        {"b.xml", "<b/>", 4, 0},
        {"a/", NULL, 0, 0},
        {"a/c.xml", "<c>third</c>", 12, 1},
        {"0.xml", "<zero/>", 7, 0},
    };
    char *p = xstrdup(path_of("t.zip"));
    make_zip(p, es, CRGW_ARRAY_LEN(es));
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &defaults);
    cr_assert_eq(l.n, 3);
    const char *want[] = {"0.xml", "a/c.xml", "b.xml"};
    const char *data[] = {"<zero/>", "<c>third</c>", "<b/>"};
    crgw_bulk_zips z = {0};
    for (size_t i = 0; i < 3; i++) {
        char name[256];
        snprintf(name, sizeof(name), "%s!%s", p, want[i]);
        cr_expect_str_eq(l.v[i].name, name);
        cr_expect_eq(l.v[i].src, CRGW_SRC_ZIP);
        char *d = NULL, *err = NULL;
        size_t len = 0;
        cr_assert_eq(crgw_bulk_read_zip(&z, &l, &l.v[i], &defaults, &d, &len, &err),
                     CRGW_BULK_OK, "%s", err ? err : "");
        cr_expect_eq(len, strlen(data[i]));
        cr_expect(memcmp(d, data[i], len) == 0);
        free(d);
    }
    crgw_bulk_zips_close(&z);
    list_free(&l);
    free(p);
}

static crgw_bulk_item *only_error(crgw_bulk_list *l)
{
    cr_assert_eq(l->n, 1, "one item for the archive, got %zu", l->n);
    cr_assert_eq(l->v[0].src, CRGW_SRC_ERROR);
    return &l->v[0];
}

Test(bulk, zip_over_the_entry_bound_refused)
{
    const zentry es[] = {{"1", "a", 1, 1}, {"2", "b", 1, 1}, {"3", "c", 1, 1}};
    char *p = xstrdup(path_of("n.zip"));
    make_zip(p, es, 3);
    crgw_bulk_bounds b = defaults;
    b.zip_max_entries = 2;
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &b);
    crgw_bulk_item *it = only_error(&l);
    cr_expect_eq(it->err, CRGW_BULK_ZIP);
    cr_expect_str_eq(it->errtext, "ZIP archive refused: 3 entries, over the bound of 2 entries");
    list_free(&l);
    free(p);
}

Test(bulk, zip_over_the_total_bound_refused)
{
    char a[60], c[60];
    for (int i = 0; i < 60; i++) {
        a[i] = (char)('A' + i % 26);
        c[i] = (char)('a' + (i * 7) % 26);
    }
    const zentry es[] = {{"a", a, 60, 1}, {"c", c, 60, 1}};
    char *p = xstrdup(path_of("t.zip"));
    make_zip(p, es, 2);
    crgw_bulk_bounds b = defaults;
    b.zip_max_total = 100;
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &b);
    crgw_bulk_item *it = only_error(&l);
    cr_expect_str_eq(it->errtext, "ZIP archive refused: more than 100 bytes uncompressed (the "
                                  "bound of one archive)");
    list_free(&l);
    free(p);
}

Test(bulk, zip_bomb_refused_by_its_ratio)
{
    size_t n = 4u << 20;
    char *zeros = xcalloc(1, n);
    const zentry es[] = {{"ok.xml", "<ok/>", 5, 0}, {"zeros.xml", zeros, n, 0}};
    char *p = xstrdup(path_of("bomb.zip"));
    make_zip(p, es, 2);
    free(zeros);
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &defaults);
    crgw_bulk_item *it = only_error(&l);
    cr_expect_eq(it->err, CRGW_BULK_ZIP);
    cr_expect(strstr(it->errtext, "ZIP archive refused: entry zeros.xml expands ") != NULL, "%s",
              it->errtext);
    cr_expect(strstr(it->errtext, " bytes to 4194304 (ratio over the bound of 200:1)") != NULL,
              "%s", it->errtext);
    list_free(&l);
    free(p);
}

Test(bulk, zip_entry_over_the_file_bound_is_too_large)
{
    const zentry es[] = {{"big.xml", "<0123456789012345/>", 19, 1}, {"s.xml", "<s/>", 4, 1}};
    char *p = xstrdup(path_of("big.zip"));
    make_zip(p, es, 2);
    crgw_bulk_bounds b = defaults;
    b.max_file = 10;
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &b);
    cr_assert_eq(l.n, 2);
    crgw_bulk_zips z = {0};
    char *d = NULL, *err = NULL;
    size_t len = 0;
    cr_expect_eq(crgw_bulk_read_zip(&z, &l, &l.v[0], &b, &d, &len, &err), CRGW_BULK_TOOBIG);
    cr_expect_str_eq(err, "too large: 19 bytes, over the bound of 10 bytes");
    free(err);
    err = NULL;
    cr_expect_eq(crgw_bulk_read_zip(&z, &l, &l.v[1], &b, &d, &len, &err), CRGW_BULK_OK);
    free(d);
    crgw_bulk_zips_close(&z);
    list_free(&l);
    free(p);
}

Test(bulk, not_a_zip)
{
    char *p = xstrdup(path_of("fake.zip"));
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs("this is not an archive\n", f);
    fclose(f);
    crgw_bulk_list l = {0};
    crgw_bulk_add_zip(&l, p, &defaults);
    crgw_bulk_item *it = only_error(&l);
    cr_expect_eq(it->err, CRGW_BULK_ZIP);
    cr_expect_str_eq(it->errtext, "cannot read the ZIP archive: Not a zip archive");
    list_free(&l);
    crgw_bulk_add_zip(&l, path_of("absent.zip"), &defaults);
    cr_expect_eq(only_error(&l)->err, CRGW_BULK_UNREADABLE);
    list_free(&l);
    free(p);
}

Test(bulk, error_lines_in_every_format)
{
    crgw_bulk_item it = {.name = (char *)"dir/a,\"b\".xml",
                         .src = CRGW_SRC_ERROR,
                         .err = CRGW_BULK_TOOBIG,
                         .errtext = (char *)"too large: 31457280 bytes, over the bound of 16777216"};
    char *s = crgw_bulk_format_error(CRGW_FMT_CSV, &it, 0);
    cr_expect_str_eq(s, "\"dir/a,\"\"b\"\".xml\",,,,,,,too_large,\"too large: 31457280 bytes, "
                        "over the bound of 16777216\"\n");
    free(s);
    s = crgw_bulk_format_error(CRGW_FMT_NDJSON, &it, 0);
    cr_expect_str_eq(s, "{\"file\":\"dir/a,\\\"b\\\".xml\",\"error\":\"too large: 31457280 "
                        "bytes, over the bound of 16777216\",\"error_kind\":\"too_large\"}\n");
    free(s);
    s = crgw_bulk_format_error(CRGW_FMT_TABLE, &it, 20);
    cr_expect_str_eq(s, "dir/a,\"b\".xml         error: too large: 31457280 bytes, over the "
                        "bound of 16777216\n");
    free(s);
}

Test(bulk, summary_counts)
{
    crgw_bulk_summary *s = crgw_bulk_summary_new(NULL, "tender");
    crgw_bulk_item ok = {.name = (char *)"a", .indication = "TOTAL_PASSED", .issuer = "120000",
                         .recognised = 1, .passed = 1};
    crgw_bulk_item bad = {.name = (char *)"b", .indication = "TOTAL_FAILED",
                          .sub = "HASH_FAILURE", .issuer = "120000", .recognised = 0};
    crgw_bulk_item err = {.name = (char *)"c", .src = CRGW_SRC_ERROR, .err = CRGW_BULK_EMPTY,
                          .errtext = (char *)"empty: 0 bytes"};
    crgw_bulk_summary_add(s, &ok);
    crgw_bulk_summary_add(s, &ok);
    crgw_bulk_summary_add(s, &bad);
    crgw_bulk_summary_add(s, &err);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    unsetenv("LC_ALL");
    unsetenv("LC_MESSAGES");
    setenv("LANG", "C.UTF-8", 1);
    crgw_bulk_summary_print(s, f, 2.0, 2);
    fclose(f);
    cr_expect(strstr(buf, "Summary: 4 files, 2 passed, 1 failed, 1 errors (2.0 s, 2 reports/s, "
                          "2 jobs)\n") == buf,
              "%s", buf);
    cr_expect(strstr(buf, "  TOTAL_PASSED                                            2\n"), "%s",
              buf);
    cr_expect(strstr(buf, "  TOTAL_FAILED/HASH_FAILURE                               1\n"), "%s",
              buf);
    cr_expect(strstr(buf, "  120000                                                  3\n"), "%s",
              buf);
    cr_expect(strstr(buf, "Recognition (scenario tender): recognised 2, not recognised 1\n"),
              "%s", buf);
    cr_expect(strstr(buf, "  empty                                                   1\n"), "%s",
              buf);
    cr_expect(strstr(buf, "  b: TOTAL_FAILED/HASH_FAILURE\n  c: error: empty: 0 bytes\n"), "%s",
              buf);
    free(buf);
    crgw_bulk_summary_free(s);
}
