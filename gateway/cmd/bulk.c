/*
 * bulk: the engine of `crgw verify` (see bulk.h).
 *
 * The main thread lists every input first (so the total is known and the order fixed), builds
 * one verifier per worker and starts the workers. A worker takes the next item (one atomic add),
 * reads it with the bounds, verifies it and formats its line itself; when its item is the next to
 * print it prints every ready item in order (under a lock taken with trylock: no thread waits for
 * another, nobody is woken per report). The main thread only waits for the end, redrawing the
 * progress bar every 200 ms.
 */
#include "gateway/cmd/bulk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "gateway/cache/cache.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/verify/verify.h"
#include "gateway/verify/verify_route.h"

char *crgw_bulk_fmt(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return xstrdup(buf);
}

/* ---- inputs ---- */

crgw_bulk_item *crgw_bulk_add(crgw_bulk_list *l, const char *name, crgw_bulk_src src)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    crgw_bulk_item *it = &l->v[l->n++];
    memset(it, 0, sizeof(*it));
    it->name = xstrdup(name);
    it->src = src;
    it->recognised = -1;
    atomic_init(&it->ready, 0);
    return it;
}

void crgw_bulk_add_error(crgw_bulk_list *l, const char *name, crgw_bulk_err err, const char *fmt,
                         ...)
{
    crgw_bulk_item *it = crgw_bulk_add(l, name, CRGW_SRC_ERROR);
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    it->err = err;
    it->errtext = xstrdup(buf);
}

static int is_zip_name(const char *p)
{
    size_t n = strlen(p);
    return n > 4 && strcasecmp(p + n - 4, ".zip") == 0;
}

/* Directory entries "<t>NAME" (t: the d_type mark) by NAME. */
static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a + 1, *(char *const *)b + 1);
}

static void add_path(crgw_bulk_list *l, const char *path, const crgw_bulk_bounds *b, int depth);

static void add_dir(crgw_bulk_list *l, const char *path, const crgw_bulk_bounds *b, int depth)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        crgw_bulk_add_error(l, path, CRGW_BULK_UNREADABLE, "cannot read the directory: %s",
                            strerror(errno));
        return;
    }
    char **names = NULL; /* each name after one byte: its d_type says "regular file" */
    size_t n = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = xrealloc(names, cap * sizeof(*names));
        }
        size_t nl = strlen(e->d_name);
        char *nm = xmalloc(nl + 2);
        nm[0] = e->d_type == DT_REG ? 'f' : '?';
        memcpy(nm + 1, e->d_name, nl + 1);
        names[n++] = nm;
    }
    int rerr = errno;
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    size_t pl = strlen(path);
    int slash = pl > 0 && path[pl - 1] == '/';
    for (size_t i = 0; i < n; i++) {
        size_t len = pl + strlen(names[i] + 1) + 2;
        char *p = xmalloc(len);
        snprintf(p, len, "%s%s%s", path, slash ? "" : "/", names[i] + 1);
        struct stat st;
        if (names[i][0] == 'f' && !is_zip_name(p))
            crgw_bulk_add(l, p, CRGW_SRC_FILE); /* no stat: the worker's fstat checks it */
        else if (lstat(p, &st) == 0 && S_ISLNK(st.st_mode) && stat(p, &st) == 0 &&
                 S_ISDIR(st.st_mode))
            crgw_bulk_add_error(l, p, CRGW_BULK_NOTREPORT,
                                "not followed: a symbolic link to a directory");
        else
            add_path(l, p, b, depth + 1);
        free(p);
        free(names[i]);
    }
    free(names);
    if (rerr != 0)
        crgw_bulk_add_error(l, path, CRGW_BULK_UNREADABLE, "cannot read the directory: %s",
                            strerror(rerr));
}

static void add_path(crgw_bulk_list *l, const char *path, const crgw_bulk_bounds *b, int depth)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        crgw_bulk_add_error(l, path, CRGW_BULK_UNREADABLE, "cannot read: %s", strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        if (depth > 64)
            crgw_bulk_add_error(l, path, CRGW_BULK_UNREADABLE,
                                "not read: directories nested more than 64 deep");
        else
            add_dir(l, path, b, depth);
    } else if (S_ISREG(st.st_mode) && is_zip_name(path)) {
        crgw_bulk_add_zip(l, path, b);
    } else {
        crgw_bulk_add(l, path, CRGW_SRC_FILE); /* read (and checked) by a worker */
    }
}

/* Reads fd to the end, at most max bytes: 0, or the error kind with its text. */
static crgw_bulk_err read_fd(int fd, size_t size_hint, size_t max, char **data, size_t *len,
                             char **errtext)
{
    size_t cap = (size_hint > 0 ? size_hint : 16384) + 1, n = 0;
    if (cap > max + 1)
        cap = max + 1;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                *errtext = crgw_bulk_fmt("too large: over the bound of %zu bytes", max);
                return CRGW_BULK_TOOBIG;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            buf = xrealloc(buf, cap);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            *errtext = crgw_bulk_fmt("cannot read: %s", strerror(e));
            return CRGW_BULK_UNREADABLE;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (n > max) {
        free(buf);
        *errtext = crgw_bulk_fmt("too large: over the bound of %zu bytes", max);
        return CRGW_BULK_TOOBIG;
    }
    *data = buf;
    *len = n;
    return CRGW_BULK_OK;
}

static crgw_bulk_err read_file(const char *path, const crgw_bulk_bounds *b, char **data,
                               size_t *len, char **errtext)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        *errtext = crgw_bulk_fmt("cannot read: %s", strerror(errno));
        return CRGW_BULK_UNREADABLE;
    }
    struct stat st;
    crgw_bulk_err rc;
    if (fstat(fd, &st) != 0) {
        *errtext = crgw_bulk_fmt("cannot read: %s", strerror(errno));
        rc = CRGW_BULK_UNREADABLE;
    } else if (!S_ISREG(st.st_mode)) {
        *errtext = crgw_bulk_fmt("not a report: not a regular file");
        rc = CRGW_BULK_NOTREPORT;
    } else if ((uint64_t)st.st_size > b->max_file) {
        *errtext = crgw_bulk_fmt("too large: %lld bytes, over the bound of %zu bytes",
                                 (long long)st.st_size, b->max_file);
        rc = CRGW_BULK_TOOBIG;
    } else {
        rc = read_fd(fd, (size_t)st.st_size, b->max_file, data, len, errtext);
    }
    close(fd);
    return rc;
}

/* Empty, or not a report at all (neither XML, JSON nor a compact JWS)? CRGW_BULK_OK otherwise. */
static crgw_bulk_err sniff(const char *d, size_t len, char **errtext)
{
    if (len == 0) {
        *errtext = crgw_bulk_fmt("empty: 0 bytes");
        return CRGW_BULK_EMPTY;
    }
    size_t i = 0;
    if (len >= 3 && memcmp(d, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    if (i == len) {
        *errtext = crgw_bulk_fmt("empty: only white space (%zu bytes)", len);
        return CRGW_BULK_EMPTY;
    }
    crgw_jws_form form;
    if (d[i] == '<' || d[i] == '{' || crgw_jws_sniff(d + i, len - i, &form))
        return CRGW_BULK_OK;
    *errtext =
        crgw_bulk_fmt("not a report: %s",
                      memchr(d, 0, len) ? "binary content" : "neither XML, JSON nor a compact JWS");
    return CRGW_BULK_NOTREPORT;
}

/* ---- workers ---- */

typedef struct shared shared;

typedef struct {
    shared *sh;
    pthread_t tid;
    crgw_verifier *v;
    crgw_verify_cli *cli; /* --redis */
    crgw_bulk_zips zips;
} worker;

struct shared {
    const crgw_bulk_opts *o;
    crgw_bulk_list *l;
    atomic_size_t next; /* the next item to verify */
    int name_w;
    /* printing: whoever holds mu prints the ready items in order (bulk.h) */
    pthread_mutex_t mu;
    atomic_size_t next_print;
    size_t failed;
    crgw_bulk_summary *sum;
    int bar_shown, share_tty; /* the bar is on the terminal; stdout is that terminal too */
    /* the end of the workers (main waits on it, with the progress bar's ticks) */
    pthread_mutex_t fin_mu;
    pthread_cond_t fin_cv;
    int finished;
    /* workers 1.. build their verifier in their thread, one at a time (the configuration's
     * reference count is not atomic), while worker 0 (built by main) already verifies */
    pthread_mutex_t build_mu;
    atomic_int fatal; /* a worker could not be set up: exit 2 */
};

static void copy_str(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "");
}

/* Fills the item's verdict fields from an answer (API.md). */
static void take_answer(crgw_bulk_item *it, json_t *a, const char *scenario)
{
    copy_str(it->indication, sizeof(it->indication),
             json_string_value(json_object_get(a, "indication")));
    copy_str(it->sub, sizeof(it->sub), json_string_value(json_object_get(a, "subindication")));
    copy_str(it->issuer, sizeof(it->issuer), json_string_value(json_object_get(a, "issuer_node")));
    json_t *rec = json_object_get(json_object_get(a, "recognition"), "recognised");
    it->recognised = json_is_boolean(rec) ? json_is_true(rec) : -1;
    it->passed =
        strcmp(it->indication, "TOTAL_PASSED") == 0 && (scenario == NULL || it->recognised == 1);
}

static void verify_item(worker *w, crgw_bulk_item *it)
{
    const crgw_bulk_opts *o = w->sh->o;
    char *data = NULL;
    size_t len = 0;
    crgw_bulk_err e = CRGW_BULK_OK;
    if (it->src == CRGW_SRC_FILE)
        e = read_file(it->name, &o->b, &data, &len, &it->errtext);
    else if (it->src == CRGW_SRC_ZIP)
        e = crgw_bulk_read_zip(&w->zips, w->sh->l, it, &o->b, &data, &len, &it->errtext);
    else if (it->src == CRGW_SRC_DATA) {
        data = it->data;
        len = it->data_len;
        it->data = NULL;
    }
    if (it->src == CRGW_SRC_ERROR)
        e = it->err;
    else if (e == CRGW_BULK_OK)
        e = sniff(data, len, &it->errtext);
    json_t *answer = NULL;
    if (e == CRGW_BULK_OK && w->cli != NULL) {
        int status = 0;
        answer = crgw_verify_cli_one(w->cli, data, len, &status);
        if (answer == NULL || status != 200) {
            const char *d = json_string_value(json_object_get(answer, "detail"));
            it->errtext = status ? crgw_bulk_fmt("no verdict: HTTP %d: %s", status, d ? d : "")
                                 : crgw_bulk_fmt("no verdict: no answer within 10 s");
            e = CRGW_BULK_NOANSWER;
            json_decref(answer);
            answer = NULL;
        }
    } else if (e == CRGW_BULK_OK) {
        crgw_verify_opts vo = {.scenario = o->scenario, .at = o->at};
        crgw_verify_outcome out;
        crgw_verify_report(w->v, data, len, &vo, &out);
        answer = out.verdict;
        out.verdict = NULL;
    }
    free(data);
    it->err = e;
    if (answer != NULL) {
        take_answer(it, answer, o->scenario);
        it->line = crgw_bulk_format_verdict(o->format, o->pretty, it, answer, w->sh->name_w);
        json_decref(answer);
    } else {
        it->line = crgw_bulk_format_error(o->format, it, w->sh->name_w);
    }
}

static int setup_worker(shared *sh, worker *w);

/* Prints the ready items that are next in order; mu held. */
static void print_ready(shared *sh)
{
    size_t i = atomic_load(&sh->next_print);
    int cleared = 0;
    for (; i < sh->l->n && atomic_load(&sh->l->v[i].ready); i++) {
        crgw_bulk_item *it = &sh->l->v[i];
        if (sh->bar_shown && sh->share_tty && !cleared) {
            crgw_bulk_progress_clear(stderr);
            sh->bar_shown = 0;
            cleared = 1;
        }
        fputs(it->line, stdout);
        free(it->line);
        it->line = NULL;
        sh->failed += !it->passed;
        crgw_bulk_summary_add(sh->sum, it);
    }
    atomic_store(&sh->next_print, i);
}

/*
 * Prints what is ready unless another thread is printing: that one checks again after it let
 * go of the lock, so an item made ready meanwhile is not left behind (and main prints whatever
 * remains at the end). No thread ever waits here for another.
 */
static void drain(shared *sh)
{
    while (pthread_mutex_trylock(&sh->mu) == 0) {
        print_ready(sh);
        pthread_mutex_unlock(&sh->mu);
        atomic_thread_fence(memory_order_seq_cst);
        size_t i = atomic_load(&sh->next_print);
        if (i >= sh->l->n || !atomic_load(&sh->l->v[i].ready))
            return;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    crgw_verify_thread_init();
    if (w->v == NULL) {
        pthread_mutex_lock(&sh->build_mu);
        if (setup_worker(sh, w) != 0)
            atomic_store(&sh->fatal, 1);
        pthread_mutex_unlock(&sh->build_mu);
    }
    while (!atomic_load(&sh->fatal)) {
        size_t i = atomic_fetch_add_explicit(&sh->next, 1, memory_order_relaxed);
        if (i >= sh->l->n)
            break;
        crgw_bulk_item *it = &sh->l->v[i];
        verify_item(w, it);
        atomic_store(&it->ready, 1);
        atomic_thread_fence(memory_order_seq_cst);
        size_t np = atomic_load(&sh->next_print); /* the head of the output: ready? */
        if (np < sh->l->n && atomic_load(&sh->l->v[np].ready))
            drain(sh);
    }
    crgw_bulk_zips_close(&w->zips);
    if (w->cli != NULL)
        crgw_verify_cli_close(w->cli);
    w->cli = NULL;
    crgw_verify_thread_cleanup();
    pthread_mutex_lock(&sh->fin_mu);
    sh->finished++;
    pthread_cond_signal(&sh->fin_cv);
    pthread_mutex_unlock(&sh->fin_mu);
    return NULL;
}

/* ---- the printer (main thread) ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void collect(crgw_bulk_list *l, int n, char **paths, const crgw_bulk_bounds *b)
{
    int stdin_used = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(paths[i], "-") != 0) {
            add_path(l, paths[i], b, 0);
            continue;
        }
        if (stdin_used++) {
            crgw_bulk_add_error(l, "-", CRGW_BULK_UNREADABLE,
                                "cannot read: the standard input was already read");
            continue;
        }
        char *data = NULL, *err = NULL;
        size_t len = 0;
        crgw_bulk_err e = read_fd(0, 0, b->max_file, &data, &len, &err);
        if (e != CRGW_BULK_OK) {
            crgw_bulk_add_error(l, "-", e, "%s", err);
            free(err);
            continue;
        }
        crgw_bulk_item *it = crgw_bulk_add(l, "-", CRGW_SRC_DATA);
        it->data = data;
        it->data_len = len;
    }
}

static void list_free(crgw_bulk_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].name);
        free(l->v[i].errtext);
        free(l->v[i].line);
        free(l->v[i].data);
    }
    for (size_t i = 0; i < l->n_zips; i++)
        free(l->zips[i]);
    free(l->zips);
    free(l->v);
}

/* The verifier (and the --redis session) of a worker; 0, or -1 with the reason on stderr. */
static int setup_worker(shared *sh, worker *w)
{
    const crgw_bulk_opts *o = sh->o;
    crgw_errs errs = {0};
    if (crgw_verifier_new(o->cfg, &w->v, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "crgw: verify: %s\n", errs.v[i]);
        crgw_errs_cleanup(&errs);
        return -1;
    }
    if (o->redis != NULL) {
        w->cli = crgw_verify_cli_open(o->cfg, w->v, o->redis, o->scenario,
                                      o->at_given ? (int64_t)o->at : 0);
        if (w->cli == NULL) {
            fprintf(stderr, "crgw: verify: --redis %s: cannot use this address\n", o->redis);
            return -1;
        }
    }
    return 0;
}

static int start_workers(shared *sh, worker *ws, int jobs)
{
    ws[0].sh = sh;
    if (setup_worker(sh, &ws[0]) != 0) /* configuration errors: exit 2 before any work */
        return -1;
    for (int k = 0; k < jobs; k++) {
        ws[k].sh = sh;
        if (pthread_create(&ws[k].tid, NULL, worker_main, &ws[k]) != 0) {
            fprintf(stderr, "crgw: verify: cannot start a thread\n");
            exit(2);
        }
    }
    return 0;
}

static void free_workers(worker *ws, int jobs)
{
    for (int k = 0; k < jobs; k++) {
        if (ws[k].cli != NULL)
            crgw_verify_cli_close(ws[k].cli);
        crgw_verifier_free(ws[k].v);
    }
    free(ws);
}

static void put_line(const char *s)
{
    fputs(s, stdout);
}

int crgw_bulk_verify(const crgw_bulk_opts *o, int n, char **paths)
{
    crgw_verify_process_init();
    (void)crgw_cache_sha256(); /* fetched once, before threads */
    /* libzip converts every entry's DOS time with mktime: with TZ unset glibc stats
     * /etc/localtime on each call under its one process-wide lock (3 stats and a futex per
     * entry between the workers, strace). ":/etc/localtime" is the same zone, read once. */
    setenv("TZ", ":/etc/localtime", 0);
    tzset();
    double t0 = now_s();
    crgw_bulk_list l = {0};
    collect(&l, n, paths, &o->b);
    int tty = isatty(2);
    int progress = o->progress < 0 ? tty : o->progress;
    int summary = o->summary < 0 ? tty : o->summary;
    shared sh = {.o = o, .l = &l, .share_tty = tty && isatty(1)};
    atomic_init(&sh.next, 0);
    atomic_init(&sh.next_print, 0);
    pthread_mutex_init(&sh.mu, NULL);
    pthread_mutex_init(&sh.fin_mu, NULL);
    pthread_mutex_init(&sh.build_mu, NULL);
    atomic_init(&sh.fatal, 0);
    pthread_cond_init(&sh.fin_cv, NULL);
    if (o->format == CRGW_FMT_TABLE)
        for (size_t i = 0; i < l.n; i++) {
            int w = (int)strlen(l.v[i].name);
            sh.name_w = w > sh.name_w ? (w > 60 ? 60 : w) : sh.name_w;
        }
    int jobs = o->jobs;
    if ((size_t)jobs > l.n)
        jobs = l.n > 0 ? (int)l.n : 1;
    sh.sum = crgw_bulk_summary_new(o->cfg, o->scenario);
    const char *hdr = crgw_bulk_header(o->format, sh.name_w);
    if (hdr != NULL)
        put_line(hdr);
    worker *ws = xcalloc((size_t)jobs, sizeof(*ws));
    if (start_workers(&sh, ws, jobs) != 0) {
        free_workers(ws, jobs);
        crgw_bulk_summary_free(sh.sum);
        list_free(&l);
        return 2;
    }
    pthread_mutex_lock(&sh.fin_mu);
    while (sh.finished < jobs) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sh.fin_cv, &sh.fin_mu, &ts);
        if (sh.finished < jobs && progress) {
            pthread_mutex_lock(&sh.mu);
            print_ready(&sh);
            fflush(stdout);
            crgw_bulk_progress(stderr, atomic_load(&sh.next_print), l.n, sh.failed, now_s() - t0);
            sh.bar_shown = 1;
            pthread_mutex_unlock(&sh.mu);
            drain(&sh); /* an item made ready while main held the lock */
        }
    }
    pthread_mutex_unlock(&sh.fin_mu);
    for (int k = 0; k < jobs; k++)
        pthread_join(ws[k].tid, NULL);
    print_ready(&sh); /* whatever a race left (none is expected) */
    fflush(stdout);
    if (progress) {
        crgw_bulk_progress(stderr, l.n, l.n, sh.failed, now_s() - t0);
        fputc('\n', stderr);
    }
    size_t failed = sh.failed;
    int fatal = atomic_load(&sh.fatal);
    crgw_bulk_summary *sum = sh.sum;
    if (summary)
        crgw_bulk_summary_print(sum, stderr, now_s() - t0, jobs);
    crgw_bulk_summary_free(sum);
    free_workers(ws, jobs);
    pthread_mutex_destroy(&sh.mu);
    pthread_mutex_destroy(&sh.fin_mu);
    pthread_mutex_destroy(&sh.build_mu);
    pthread_cond_destroy(&sh.fin_cv);
    list_free(&l);
    return fatal ? 2 : failed > 0 ? 1 : 0;
}
