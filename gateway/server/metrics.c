#include "gateway/server/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/core/util.h"
#include "gateway/server/routes.h"

enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM };

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                 0.1,    0.25,  0.5,    1.0,   2.5,  10.0};
#define N_BUCKETS CRGW_ARRAY_LEN(buckets)

typedef struct series {
    struct series *next; /* hash chain */
    char *name;
    char *labels;
    int kind;
    uint64_t count;
    double value; /* gauge value, histogram sum */
    uint64_t bucket[N_BUCKETS];
} series;

typedef struct help_entry {
    struct help_entry *next;
    const char *name;
    const char *help;
} help_entry;

#define TABLE_SIZE 256
static series *table[TABLE_SIZE];
static size_t n_series;
static help_entry *helps;

/* Request metrics of the route table: counts per (route, status) and a histogram per route. */
#define MAX_STATUS_SLOTS 24
typedef struct {
    int status[MAX_STATUS_SLOTS];
    uint64_t count[MAX_STATUS_SLOTS];
    uint64_t bucket[N_BUCKETS];
    uint64_t n;
    double sum;
} route_stats;
static route_stats *rstats;
static size_t n_rstats;
static const crgw_route_table *routes; /* the server's (route names); NULL: none yet */

void crgw_metrics_set_routes(const crgw_route_table *t)
{
    routes = t;
}

static uint32_t hash2(const char *a, const char *b)
{
    uint32_t h = 2166136261u;
    for (; *a; a++)
        h = (h ^ (unsigned char)*a) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (; b && *b; b++)
        h = (h ^ (unsigned char)*b) * 16777619u;
    return h;
}

static series *lookup(const char *name, const char *labels, int kind)
{
    if (!labels)
        labels = "";
    uint32_t h = hash2(name, labels) & (TABLE_SIZE - 1);
    for (series *s = table[h]; s; s = s->next)
        if (strcmp(s->name, name) == 0 && strcmp(s->labels, labels) == 0)
            return s;
    series *s = xcalloc(1, sizeof(*s));
    s->name = xstrdup(name);
    s->labels = xstrdup(labels);
    s->kind = kind;
    s->next = table[h];
    table[h] = s;
    n_series++;
    return s;
}

void crgw_metrics_counter_add(const char *name, const char *labels, uint64_t n)
{
    lookup(name, labels, KIND_COUNTER)->count += n;
}

void crgw_metrics_gauge_set(const char *name, const char *labels, double v)
{
    lookup(name, labels, KIND_GAUGE)->value = v;
}

void crgw_metrics_gauge_add(const char *name, const char *labels, double d)
{
    lookup(name, labels, KIND_GAUGE)->value += d;
}

static void bucket_add(uint64_t *b, double v)
{
    for (size_t i = 0; i < N_BUCKETS; i++)
        if (v <= buckets[i]) {
            b[i]++;
            return;
        }
}

void crgw_metrics_observe(const char *name, const char *labels, double v)
{
    series *s = lookup(name, labels, KIND_HISTOGRAM);
    s->count++;
    s->value += v;
    bucket_add(s->bucket, v);
}

void crgw_metrics_help(const char *name, const char *help)
{
    for (help_entry *h = helps; h; h = h->next)
        if (strcmp(h->name, name) == 0) {
            h->help = help;
            return;
        }
    help_entry *h = xmalloc(sizeof(*h));
    h->name = name;
    h->help = help;
    h->next = helps;
    helps = h;
}

void crgw_metrics_request(size_t route_index, int status, uint64_t us)
{
    if (!rstats) {
        n_rstats = crgw_routes_count(routes) + 1;
        rstats = xcalloc(n_rstats, sizeof(*rstats));
    }
    if (route_index >= n_rstats)
        route_index = n_rstats - 1;
    route_stats *r = &rstats[route_index];
    size_t i;
    for (i = 0; i < MAX_STATUS_SLOTS; i++) {
        if (r->status[i] == status)
            break;
        if (r->status[i] == 0) {
            r->status[i] = status;
            break;
        }
    }
    if (i == MAX_STATUS_SLOTS)
        i = MAX_STATUS_SLOTS - 1; /* more distinct statuses than slots: lump into the last */
    r->count[i]++;
    double v = (double)us / 1e6;
    r->n++;
    r->sum += v;
    bucket_add(r->bucket, v);
}

static const char *help_of(const char *name)
{
    for (help_entry *h = helps; h; h = h->next)
        if (strcmp(h->name, name) == 0)
            return h->help;
    return NULL;
}

static int cmp_series(const void *a, const void *b)
{
    const series *x = *(const series *const *)a, *y = *(const series *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

static const char *kind_name(int kind)
{
    return kind == KIND_COUNTER ? "counter" : kind == KIND_GAUGE ? "gauge" : "histogram";
}

static int render_hist(crgw_buf *out, const char *name, const char *labels, const uint64_t *b,
                       uint64_t n, double sum)
{
    const char *sep = labels[0] ? "," : "";
    uint64_t cum = 0;
    int rc = 0;
    for (size_t i = 0; i < N_BUCKETS; i++) {
        cum += b[i];
        rc |= crgw_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets[i],
                              (unsigned long long)cum);
    }
    rc |= crgw_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                          (unsigned long long)n);
    rc |= crgw_buf_printf(out, "%s_sum%s%s%s %.6f\n", name, labels[0] ? "{" : "", labels,
                          labels[0] ? "}" : "", sum);
    rc |= crgw_buf_printf(out, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels,
                          labels[0] ? "}" : "", (unsigned long long)n);
    return rc ? CRGW_ERR_TOOBIG : 0;
}

static int render_requests(crgw_buf *out)
{
    int rc = 0;
    size_t nr = crgw_routes_count(routes);
    rc |= crgw_buf_adds(out, "# HELP crgw_http_requests_total HTTP requests answered, by route "
                             "and status.\n# TYPE crgw_http_requests_total counter\n");
    for (size_t r = 0; rstats && r < n_rstats; r++) {
        const char *rn = r < nr ? crgw_routes_at(routes, r)->name : "unmatched";
        for (size_t i = 0; i < MAX_STATUS_SLOTS && rstats[r].status[i]; i++)
            rc |=
                crgw_buf_printf(out, "crgw_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                                rn, rstats[r].status[i], (unsigned long long)rstats[r].count[i]);
    }
    rc |= crgw_buf_adds(out, "# HELP crgw_http_request_duration_seconds Time from the request's "
                             "first frame to its answer.\n"
                             "# TYPE crgw_http_request_duration_seconds histogram\n");
    for (size_t r = 0; rstats && r < n_rstats; r++) {
        if (!rstats[r].n)
            continue;
        char labels[128];
        snprintf(labels, sizeof(labels), "route=\"%s\"",
                 r < nr ? crgw_routes_at(routes, r)->name : "unmatched");
        rc |= render_hist(out, "crgw_http_request_duration_seconds", labels, rstats[r].bucket,
                          rstats[r].n, rstats[r].sum);
    }
    return rc ? CRGW_ERR_TOOBIG : 0;
}

int crgw_metrics_render(crgw_buf *out)
{
    int rc = render_requests(out);
    series **all = xmalloc((n_series ? n_series : 1) * sizeof(*all));
    size_t n = 0;
    for (size_t h = 0; h < TABLE_SIZE; h++)
        for (series *s = table[h]; s; s = s->next)
            all[n++] = s;
    qsort(all, n, sizeof(*all), cmp_series);
    const char *last = NULL;
    for (size_t i = 0; i < n && rc == 0; i++) {
        series *s = all[i];
        if (!last || strcmp(last, s->name) != 0) {
            const char *help = help_of(s->name);
            if (help)
                rc |= crgw_buf_printf(out, "# HELP %s %s\n", s->name, help);
            rc |= crgw_buf_printf(out, "# TYPE %s %s\n", s->name, kind_name(s->kind));
            last = s->name;
        }
        const char *l = s->labels;
        if (s->kind == KIND_HISTOGRAM) {
            rc |= render_hist(out, s->name, l, s->bucket, s->count, s->value);
        } else if (s->kind == KIND_COUNTER) {
            rc |= crgw_buf_printf(out, "%s%s%s%s %llu\n", s->name, l[0] ? "{" : "", l,
                                  l[0] ? "}" : "", (unsigned long long)s->count);
        } else {
            rc |= crgw_buf_printf(out, "%s%s%s%s %.17g\n", s->name, l[0] ? "{" : "", l,
                                  l[0] ? "}" : "", s->value);
        }
    }
    free(all);
    return rc ? CRGW_ERR_TOOBIG : 0;
}

void crgw_metrics_reset(void)
{
    for (size_t h = 0; h < TABLE_SIZE; h++) {
        series *s = table[h];
        while (s) {
            series *next = s->next;
            free(s->name);
            free(s->labels);
            free(s);
            s = next;
        }
        table[h] = NULL;
    }
    n_series = 0;
    while (helps) {
        help_entry *next = helps->next;
        free(helps);
        helps = next;
    }
    free(rstats);
    rstats = NULL;
    n_rstats = 0;
    routes = NULL;
}
