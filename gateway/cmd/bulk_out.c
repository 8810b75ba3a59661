/*
 * bulk_out: what `crgw verify` prints: one line (or object) per item in the chosen format, the
 * progress bar (stderr, a terminal) and the closing summary, in English or Chinese.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gateway/cmd/bulk.h"
#include "gateway/core/json.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"

static const char *const slugs[CRGW_BULK_N_ERR] = {
    "", "too_large", "unreadable", "not_a_report", "empty", "zip_refused", "no_answer",
};

const char *crgw_bulk_err_slug(crgw_bulk_err e)
{
    return e < CRGW_BULK_N_ERR ? slugs[e] : "error";
}

int crgw_bulk_lang_zh(void)
{
    const char *v = getenv("LC_ALL");
    if (v == NULL || *v == 0)
        v = getenv("LC_MESSAGES");
    if (v == NULL || *v == 0)
        v = getenv("LANG");
    return v != NULL && strncmp(v, "zh", 2) == 0;
}

/* ---- lines ---- */

static void csv_field(crgw_buf *b, const char *s)
{
    if (s == NULL)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        crgw_buf_adds(b, s);
        return;
    }
    crgw_buf_adds(b, "\"");
    for (; *s; s++) {
        if (*s == '"')
            crgw_buf_adds(b, "\"");
        crgw_buf_add(b, s, 1);
    }
    crgw_buf_adds(b, "\"");
}

static const char *rec_word(int r)
{
    return r < 0 ? "" : r ? "yes" : "no";
}

/* Table cell: s padded (or cut from the left, with "...") to w columns of bytes. */
static void cell(crgw_buf *b, const char *s, int w)
{
    int n = (int)strlen(s);
    if (n > w && w > 3)
        crgw_buf_printf(b, "...%s", s + (n - w + 3));
    else
        crgw_buf_printf(b, "%-*s", w, s);
}

const char *crgw_bulk_header(crgw_bulk_format f, int name_w)
{
    static char table[256];
    if (f == CRGW_FMT_CSV)
        return "file,indication,subindication,issuer_node,recognised,report_id,signer,error_kind,"
               "error\n";
    if (f != CRGW_FMT_TABLE)
        return NULL;
    snprintf(table, sizeof(table), "%-*s  %-48s  %-6s  %s\n", name_w < 4 ? 4 : name_w, "FILE",
             "VERDICT", "ISSUER", "RECOGNISED");
    return table;
}

static char *finish(crgw_buf *b)
{
    size_t len;
    return crgw_buf_take(b, &len);
}

char *crgw_bulk_format_error(crgw_bulk_format f, const crgw_bulk_item *it, int name_w)
{
    crgw_buf b;
    crgw_buf_init(&b, 1u << 20);
    const char *slug = crgw_bulk_err_slug(it->err);
    if (f == CRGW_FMT_CSV) {
        csv_field(&b, it->name);
        crgw_buf_adds(&b, ",,,,,,,");
        csv_field(&b, slug);
        crgw_buf_adds(&b, ",");
        csv_field(&b, it->errtext);
        crgw_buf_adds(&b, "\n");
    } else if (f == CRGW_FMT_TABLE) {
        cell(&b, it->name, name_w < 4 ? 4 : name_w);
        crgw_buf_printf(&b, "  error: %s\n", it->errtext ? it->errtext : slug);
    } else {
        json_t *o = json_object();
        json_t *name = json_string(it->name);
        json_object_set_new(o, "file", name ? name : json_string("(not UTF-8)"));
        json_object_set_new(o, "error", json_string(it->errtext ? it->errtext : slug));
        json_object_set_new(o, "error_kind", json_string(slug));
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        crgw_buf_adds(&b, s);
        crgw_buf_adds(&b, "\n");
        free(s);
        json_decref(o);
    }
    return finish(&b);
}

char *crgw_bulk_format_verdict(crgw_bulk_format f, int pretty, const crgw_bulk_item *it,
                               json_t *answer, int name_w)
{
    crgw_buf b;
    crgw_buf_init(&b, 64u << 20);
    if (f == CRGW_FMT_CSV || f == CRGW_FMT_TABLE) {
        const char *rid =
            json_string_value(json_object_get(json_object_get(answer, "report"), "report_id"));
        const char *signer =
            json_string_value(json_object_get(json_object_get(answer, "signer"), "subject"));
        if (f == CRGW_FMT_CSV) {
            const char *fs[] = {it->name,   it->indication,           it->sub,
                                it->issuer, rec_word(it->recognised), rid,
                                signer};
            for (size_t i = 0; i < CRGW_ARRAY_LEN(fs); i++) {
                csv_field(&b, fs[i]);
                crgw_buf_adds(&b, ",");
            }
            crgw_buf_adds(&b, ",\n");
        } else {
            char verdict[80];
            snprintf(verdict, sizeof(verdict), "%s%s%s", it->indication, it->sub[0] ? "/" : "",
                     it->sub);
            cell(&b, it->name, name_w < 4 ? 4 : name_w);
            crgw_buf_printf(&b, "  %-48s  %-6s  %s\n", verdict, it->issuer[0] ? it->issuer : "-",
                            it->recognised < 0 ? "-" : rec_word(it->recognised));
        }
        return finish(&b);
    }
    if (pretty && f == CRGW_FMT_JSON) {
        json_t *o = json_object();
        json_t *name = json_string(it->name);
        json_object_set_new(o, "file", name ? name : json_string("(not UTF-8)"));
        json_object_update(o, answer);
        char *s = crgw_json_dump(o, 1, NULL);
        crgw_buf_adds(&b, s);
        crgw_buf_adds(&b, "\n");
        free(s);
        json_decref(o);
        return finish(&b);
    }
    /* {"file":NAME, then the answer's members as they are (no copy of the tree) */
    json_t *name = json_string(it->name);
    char *ns = crgw_json_dump(name ? name : json_string("(not UTF-8)"), 0, NULL);
    json_decref(name);
    size_t len = 0;
    char *s = crgw_json_dump(answer, 0, &len);
    crgw_buf_adds(&b, "{\"file\":");
    crgw_buf_adds(&b, ns);
    if (len > 2)
        crgw_buf_adds(&b, ",");
    crgw_buf_add(&b, s + 1, len - 1);
    crgw_buf_adds(&b, "\n");
    free(ns);
    free(s);
    return finish(&b);
}

/* ---- progress ---- */

static void clock_text(double s, char *out, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, cap, "%ld:%02ld", t / 60, t % 60);
}

void crgw_bulk_progress(FILE *f, size_t done, size_t total, size_t failed, double seconds)
{
    int zh = crgw_bulk_lang_zh();
    char bar[31];
    size_t fill = total ? done * 30 / total : 30;
    for (size_t i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = 0;
    double rate = seconds > 0 ? (double)done / seconds : 0;
    char eta[32] = "-";
    if (rate > 0)
        clock_text((double)(total - done) / rate, eta, sizeof(eta));
    fprintf(f, "\r\033[K[%s] %zu/%zu %3d%%  %.0f/s  ETA %s  %s %zu", bar, done, total,
            total ? (int)(done * 100 / total) : 100, rate, eta, zh ? "未通过" : "failed", failed);
    fflush(f);
}

void crgw_bulk_progress_clear(FILE *f)
{
    fputs("\r\033[K", f);
    fflush(f);
}

/* ---- summary ---- */

typedef struct {
    char *key;
    size_t n;
} count;

typedef struct {
    count *v;
    size_t n, cap;
} counts;

struct crgw_bulk_summary {
    const crgw_config *cfg;
    const char *scenario;
    size_t files, passed, verdict_failed, errors;
    size_t rec_yes, rec_no;
    counts verdicts, issuers, errs;
    crgw_buf failures;
};

static void bump(counts *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].key, key) == 0) {
            c->v[i].n++;
            return;
        }
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
    }
    c->v[c->n].key = xstrdup(key);
    c->v[c->n++].n = 1;
}

static int by_count(const void *a, const void *b)
{
    const count *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

crgw_bulk_summary *crgw_bulk_summary_new(const crgw_config *cfg, const char *scenario)
{
    crgw_bulk_summary *s = xcalloc(1, sizeof(*s));
    s->cfg = cfg;
    s->scenario = scenario;
    crgw_buf_init(&s->failures, (size_t)1 << 30);
    return s;
}

void crgw_bulk_summary_add(crgw_bulk_summary *s, const crgw_bulk_item *it)
{
    s->files++;
    int zh = crgw_bulk_lang_zh();
    if (it->err != CRGW_BULK_OK) {
        s->errors++;
        bump(&s->errs, crgw_bulk_err_slug(it->err));
        crgw_buf_printf(&s->failures, "  %s: %s: %s\n", it->name, zh ? "错误" : "error",
                        it->errtext ? it->errtext : "");
        return;
    }
    char verdict[80];
    snprintf(verdict, sizeof(verdict), "%s%s%s", it->indication, it->sub[0] ? "/" : "", it->sub);
    bump(&s->verdicts, verdict);
    bump(&s->issuers, it->issuer[0] ? it->issuer : "-");
    if (it->recognised == 1)
        s->rec_yes++;
    else if (it->recognised == 0)
        s->rec_no++;
    if (it->passed) {
        s->passed++;
        return;
    }
    s->verdict_failed++;
    if (strcmp(it->indication, "TOTAL_PASSED") == 0)
        crgw_buf_printf(&s->failures, "  %s: %s\n", it->name,
                        zh ? "TOTAL_PASSED, 未获认可" : "TOTAL_PASSED, not recognised");
    else
        crgw_buf_printf(&s->failures, "  %s: %s\n", it->name, verdict);
}

static void print_counts(FILE *f, counts *c, const crgw_config *cfg, int nodes)
{
    qsort(c->v, c->n, sizeof(*c->v), by_count);
    for (size_t i = 0; i < c->n; i++) {
        const crgw_node *nd = nodes && cfg ? crgw_config_node(cfg, c->v[i].key) : NULL;
        fprintf(f, "  %-48s %8zu%s%s\n", c->v[i].key, c->v[i].n, nd ? "  " : "",
                nd && nd->name ? nd->name : "");
    }
}

void crgw_bulk_summary_print(crgw_bulk_summary *s, FILE *f, double seconds, int jobs)
{
    int zh = crgw_bulk_lang_zh();
    double rate = seconds > 0 ? (double)s->files / seconds : 0;
    if (zh)
        fprintf(f,
                "汇总: %zu 个文件, %zu 个通过, %zu 个未通过, %zu 个错误 (%.1f 秒, %.0f 份/秒, %d "
                "个线程)\n",
                s->files, s->passed, s->verdict_failed, s->errors, seconds, rate, jobs);
    else
        fprintf(f,
                "Summary: %zu files, %zu passed, %zu failed, %zu errors (%.1f s, %.0f reports/s, "
                "%d jobs)\n",
                s->files, s->passed, s->verdict_failed, s->errors, seconds, rate, jobs);
    fprintf(f, "%s\n", zh ? "按结论 (indication/subindication):" : "By indication/subindication:");
    print_counts(f, &s->verdicts, s->cfg, 0);
    fprintf(f, "%s\n", zh ? "按出具节点:" : "By issuer node:");
    print_counts(f, &s->issuers, s->cfg, 1);
    if (s->scenario != NULL) {
        if (zh)
            fprintf(f, "认可 (场景 %s): 认可 %zu, 不认可 %zu\n", s->scenario, s->rec_yes,
                    s->rec_no);
        else
            fprintf(f, "Recognition (scenario %s): recognised %zu, not recognised %zu\n",
                    s->scenario, s->rec_yes, s->rec_no);
    } else {
        fprintf(f, "%s\n",
                zh ? "认可: 未询问 (--scenario)" : "Recognition: not asked (--scenario)");
    }
    if (s->errs.n > 0) {
        fprintf(f, "%s\n", zh ? "错误:" : "Errors:");
        print_counts(f, &s->errs, NULL, 0);
    }
    if (s->failures.len > 0) {
        fprintf(f, "%s\n", zh ? "未通过的文件及原因:" : "Failed files and reasons:");
        fwrite(s->failures.data, 1, s->failures.len, f);
    }
    fflush(f);
}

static void counts_free(counts *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].key);
    free(c->v);
}

void crgw_bulk_summary_free(crgw_bulk_summary *s)
{
    counts_free(&s->verdicts);
    counts_free(&s->issuers);
    counts_free(&s->errs);
    crgw_buf_cleanup(&s->failures);
    free(s);
}
