/*
 * bulk_zip: ZIP archives as inputs of `crgw verify` (libzip).
 *
 * The central directory is checked before anything is decompressed: more entries than
 * zip_max_entries, a total uncompressed size over zip_max_total, or one entry whose declared
 * ratio (uncompressed / compressed) is over zip_max_ratio refuse the whole archive (a ZIP bomb)
 * with one error naming the bound. An entry over max_file gets its own "too large". Reading
 * never takes more than the declared size (nor max_file): an entry that inflates past what it
 * declared is refused, and libzip checks the CRC at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "gateway/cmd/bulk.h"
#include "gateway/core/util.h"

typedef struct {
    char *name;
    zip_uint64_t index;
} entry;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static void zip_open_error(crgw_bulk_list *l, const char *path, int ze)
{
    zip_error_t e;
    zip_error_init_with_code(&e, ze);
    int io = ze == ZIP_ER_OPEN || ze == ZIP_ER_READ || ze == ZIP_ER_NOENT;
    crgw_bulk_add_error(l, path, io ? CRGW_BULK_UNREADABLE : CRGW_BULK_ZIP,
                        "cannot read the ZIP archive: %s", zip_error_strerror(&e));
    zip_error_fini(&e);
}

void crgw_bulk_add_zip(crgw_bulk_list *l, const char *path, const crgw_bulk_bounds *b)
{
    int ze = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &ze);
    if (z == NULL) {
        zip_open_error(l, path, ze);
        return;
    }
    zip_int64_t n = zip_get_num_entries(z, 0);
    if (n < 0 || (uint64_t)n > b->zip_max_entries) {
        crgw_bulk_add_error(l, path, CRGW_BULK_ZIP,
                            "ZIP archive refused: %lld entries, over the bound of %llu entries",
                            (long long)n, (unsigned long long)b->zip_max_entries);
        zip_discard(z);
        return;
    }
    entry *es = xcalloc((size_t)n + 1, sizeof(*es));
    size_t ne = 0;
    uint64_t total = 0;
    const char *refusal = NULL;
    char why[512] = "";
    for (zip_int64_t i = 0; i < n && refusal == NULL; i++) {
        zip_stat_t st;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &st) != 0 || !(st.valid & ZIP_STAT_NAME) ||
            !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
            refusal = "entry";
            snprintf(why, sizeof(why), "ZIP archive refused: entry %lld cannot be read: %s",
                     (long long)i, zip_strerror(z));
            break;
        }
        size_t nl = strlen(st.name);
        if (nl > 0 && st.name[nl - 1] == '/')
            continue; /* a directory */
        total += st.size;
        if (total > b->zip_max_total) {
            refusal = "total";
            snprintf(why, sizeof(why),
                     "ZIP archive refused: more than %llu bytes uncompressed (the bound of "
                     "one archive)",
                     (unsigned long long)b->zip_max_total);
        } else if (st.size > 0 &&
                   (st.comp_size == 0 || st.size / st.comp_size >= b->zip_max_ratio)) {
            refusal = "ratio";
            snprintf(why, sizeof(why),
                     "ZIP archive refused: entry %s expands %llu bytes to %llu (ratio over the "
                     "bound of %llu:1)",
                     st.name, (unsigned long long)st.comp_size, (unsigned long long)st.size,
                     (unsigned long long)b->zip_max_ratio);
        } else {
            es[ne].name = xstrdup(st.name);
            es[ne].index = (zip_uint64_t)i;
            ne++;
        }
    }
    zip_discard(z);
    if (refusal != NULL) {
        crgw_bulk_add_error(l, path, CRGW_BULK_ZIP, "%s", why);
    } else {
        qsort(es, ne, sizeof(*es), by_name);
        if (l->n_zips == l->cap_zips) {
            l->cap_zips = l->cap_zips ? 2 * l->cap_zips : 4;
            l->zips = xrealloc(l->zips, l->cap_zips * sizeof(*l->zips));
        }
        size_t zi = l->n_zips++;
        l->zips[zi] = xstrdup(path);
        for (size_t i = 0; i < ne; i++) {
            size_t len = strlen(path) + strlen(es[i].name) + 2;
            char *name = xmalloc(len);
            snprintf(name, len, "%s!%s", path, es[i].name);
            crgw_bulk_item *it = crgw_bulk_add(l, name, CRGW_SRC_ZIP);
            free(name);
            it->zip = zi;
            it->zindex = es[i].index;
        }
    }
    for (size_t i = 0; i < ne; i++)
        free(es[i].name);
    free(es);
}

crgw_bulk_err crgw_bulk_read_zip(crgw_bulk_zips *z, const crgw_bulk_list *l,
                                 const crgw_bulk_item *it, const crgw_bulk_bounds *b, char **data,
                                 size_t *len, char **errtext)
{
    if (z->h == NULL) {
        z->n = l->n_zips;
        z->h = xcalloc(z->n ? z->n : 1, sizeof(*z->h));
    }
    const char *path = l->zips[it->zip];
    if (z->h[it->zip] == NULL) {
        int ze = 0;
        z->h[it->zip] = zip_open(path, ZIP_RDONLY, &ze);
        if (z->h[it->zip] == NULL) {
            zip_error_t e;
            zip_error_init_with_code(&e, ze);
            *errtext = crgw_bulk_fmt("cannot read the ZIP archive: %s", zip_error_strerror(&e));
            zip_error_fini(&e);
            return CRGW_BULK_UNREADABLE;
        }
    }
    zip_t *za = z->h[it->zip];
    zip_stat_t st;
    if (zip_stat_index(za, it->zindex, 0, &st) != 0) {
        *errtext = crgw_bulk_fmt("cannot read the entry: %s", zip_strerror(za));
        return CRGW_BULK_UNREADABLE;
    }
    if (st.size > b->max_file) {
        *errtext = crgw_bulk_fmt("too large: %llu bytes, over the bound of %zu bytes",
                                 (unsigned long long)st.size, b->max_file);
        return CRGW_BULK_TOOBIG;
    }
    zip_file_t *f = zip_fopen_index(za, it->zindex, 0);
    if (f == NULL) {
        *errtext = crgw_bulk_fmt("cannot read the entry: %s", zip_strerror(za));
        return CRGW_BULK_UNREADABLE;
    }
    /* one byte more than declared: an entry that inflates past its declared size is refused */
    size_t want = (size_t)st.size + 1, got = 0;
    char *buf = xmalloc(want);
    zip_int64_t r = 0;
    while (got < want && (r = zip_fread(f, buf + got, (zip_uint64_t)(want - got))) > 0)
        got += (size_t)r;
    crgw_bulk_err rc = CRGW_BULK_OK;
    if (r < 0) {
        *errtext = crgw_bulk_fmt("cannot read the entry: %s", zip_file_strerror(f));
        rc = CRGW_BULK_ZIP;
    } else if (got != (size_t)st.size) {
        *errtext = crgw_bulk_fmt("ZIP entry refused: it inflates to %s%zu bytes, not the %llu "
                                 "declared",
                                 got == want ? "more than " : "", got == want ? got - 1 : got,
                                 (unsigned long long)st.size);
        rc = CRGW_BULK_ZIP;
    }
    zip_fclose(f);
    if (rc != CRGW_BULK_OK) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = got;
    return CRGW_BULK_OK;
}

void crgw_bulk_zips_close(crgw_bulk_zips *z)
{
    for (size_t i = 0; i < z->n; i++)
        if (z->h[i] != NULL)
            zip_discard(z->h[i]);
    free(z->h);
    z->h = NULL;
    z->n = 0;
}
