/*
 * bulk: `crgw verify` over many reports (files, directories, ZIP archives, stdin) on N worker
 * threads, output in input order, a progress bar on a terminal and a closing summary.
 *
 *   bulk.c       the engine: inputs -> items, worker threads (one verifier each), ordered output
 *   bulk_zip.c   ZIP archives (libzip): listing with bounds (entries, sizes, ratio), reading
 *   bulk_out.c   output formats (json, ndjson, csv, table), progress bar, summary (en / zh)
 *
 * Every item ends with a verdict or an error of one kind (crgw_bulk_err) with a text that says
 * exactly what is wrong. Threads share only read-only data (the configuration, the item list)
 * and the index of the next item (atomic); each has its own verifier, thread-local verify
 * caches, ZIP handles and output buffers.
 */
#ifndef CRGW_BULK_H
#define CRGW_BULK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct crgw_config;

typedef enum { CRGW_FMT_JSON, CRGW_FMT_NDJSON, CRGW_FMT_CSV, CRGW_FMT_TABLE } crgw_bulk_format;

typedef struct {
    size_t max_file;          /* bytes of one report: a file, a ZIP entry or stdin */
    uint64_t zip_max_entries; /* entries of one archive */
    uint64_t zip_max_total;   /* uncompressed bytes of one archive */
    uint64_t zip_max_ratio;   /* uncompressed / compressed size of one entry */
} crgw_bulk_bounds;

#define CRGW_BULK_MAX_FILE (16u << 20)
#define CRGW_BULK_ZIP_MAX_ENTRIES 100000u
#define CRGW_BULK_ZIP_MAX_TOTAL (2ull << 30)
#define CRGW_BULK_ZIP_MAX_RATIO 200u

typedef struct {
    struct crgw_config *cfg;
    int jobs; /* worker threads, >= 1 */
    crgw_bulk_format format;
    int pretty;   /* json: indented */
    int summary;  /* 1 always, 0 never, -1 when stderr is a terminal */
    int progress; /* 1 always, 0 never, -1 when stderr is a terminal */
    const char *scenario;
    time_t at;         /* evaluation time */
    int at_given;      /* --at: with --redis the cache is bypassed */
    const char *redis; /* through the verdict cache of that Redis, or NULL */
    crgw_bulk_bounds b;
} crgw_bulk_opts;

/* Verifies every PATH; returns the exit status (0 all passed, 1 some failed, 2 set-up error). */
int crgw_bulk_verify(const crgw_bulk_opts *o, int n, char **paths);

/* ---- shared by bulk*.c ---- */

typedef enum {
    CRGW_BULK_OK = 0,     /* a verdict */
    CRGW_BULK_TOOBIG,     /* over a size bound (named in the text) */
    CRGW_BULK_UNREADABLE, /* missing, no permission, I/O error: errno text */
    CRGW_BULK_NOTREPORT,  /* neither XML, JSON nor a compact JWS; not a regular file */
    CRGW_BULK_EMPTY,      /* 0 bytes or only white space */
    CRGW_BULK_ZIP,        /* an archive refused (bound named) or unreadable as a ZIP */
    CRGW_BULK_NOANSWER,   /* --redis: no answer, or not 200 */
    CRGW_BULK_N_ERR
} crgw_bulk_err;

typedef enum { CRGW_SRC_FILE, CRGW_SRC_DATA, CRGW_SRC_ZIP, CRGW_SRC_ERROR } crgw_bulk_src;

typedef struct {
    char *name; /* as printed: the path, "-", or ARCHIVE!ENTRY */
    crgw_bulk_src src;
    size_t zip;      /* CRGW_SRC_ZIP: index of the archive */
    uint64_t zindex; /* entry index in the archive */
    char *data;      /* CRGW_SRC_DATA (stdin) */
    size_t data_len;
    /* the result, written by one worker before `ready` */
    crgw_bulk_err err;
    char *errtext;       /* err != OK */
    char indication[24]; /* "TOTAL_PASSED", ... */
    char sub[40];        /* "" for none */
    char issuer[8];      /* "" unknown */
    int recognised;      /* -1 not asked, 0, 1 */
    int passed;
    char *line; /* the formatted output of this item */
    atomic_int ready;
} crgw_bulk_item;

typedef struct {
    crgw_bulk_item *v;
    size_t n, cap;
    char **zips; /* archive paths */
    size_t n_zips, cap_zips;
} crgw_bulk_list;

/* bulk_zip.c: adds the entries of archive path to l (sorted by name), or one error item naming
 * the bound it breaks or why it cannot be read. */
void crgw_bulk_add_zip(crgw_bulk_list *l, const char *path, const crgw_bulk_bounds *b);
crgw_bulk_item *crgw_bulk_add(crgw_bulk_list *l, const char *name, crgw_bulk_src src);
void crgw_bulk_add_error(crgw_bulk_list *l, const char *name, crgw_bulk_err err, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

/* A worker's open archives (one libzip handle per archive per thread). */
typedef struct {
    void **h; /* zip_t *, NULL until opened */
    size_t n;
} crgw_bulk_zips;

/* Reads entry it of its archive into *data (at most b->max_file bytes). 0, or the error kind
 * with the text in *errtext (allocated). */
crgw_bulk_err crgw_bulk_read_zip(crgw_bulk_zips *z, const crgw_bulk_list *l,
                                 const crgw_bulk_item *it, const crgw_bulk_bounds *b, char **data,
                                 size_t *len, char **errtext);
void crgw_bulk_zips_close(crgw_bulk_zips *z);

/* A new string (at most 1 KiB) from a format (bulk.c). */
char *crgw_bulk_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* bulk_out.c */
typedef struct crgw_bulk_summary crgw_bulk_summary;
int crgw_bulk_lang_zh(void); /* LC_ALL, else LC_MESSAGES, else LANG starts with "zh" */
/* The line of an error item in format f (name_w: the table's name column). */
char *crgw_bulk_format_error(crgw_bulk_format f, const crgw_bulk_item *it, int name_w);
/* The line of a verdict item: answer is the verdict object (API.md). */
struct json_t;
char *crgw_bulk_format_verdict(crgw_bulk_format f, int pretty, const crgw_bulk_item *it,
                               struct json_t *answer, int name_w);
const char *crgw_bulk_header(crgw_bulk_format f, int name_w); /* csv / table header, or NULL */
const char *crgw_bulk_err_slug(crgw_bulk_err e);

crgw_bulk_summary *crgw_bulk_summary_new(const struct crgw_config *cfg, const char *scenario);
void crgw_bulk_summary_add(crgw_bulk_summary *s, const crgw_bulk_item *it);
void crgw_bulk_summary_print(crgw_bulk_summary *s, FILE *f, double seconds, int jobs);
void crgw_bulk_summary_free(crgw_bulk_summary *s);

/* Draws the progress bar on f (a terminal): done/total, rate, ETA, failures. */
void crgw_bulk_progress(FILE *f, size_t done, size_t total, size_t failed, double seconds);
void crgw_bulk_progress_clear(FILE *f);

#endif
