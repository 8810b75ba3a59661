/*
 * audit_module: the audit module (format: gateway/audit/README.md). The `audit:` section, the
 * bounded queue (audit_queue.c) filled on the event-loop thread (crgw_audit_add), and the one
 * writer thread per process that serialises the entries with the chain fields, appends them to
 * DIR/w<K>/ with O_APPEND, rotates by size and UTC day and writes signed checkpoints.
 *
 * Threads: the loop thread only touches the queue (under mu) and the atomic flags; everything
 * about the files (fd, seq, prev, sizes) belongs to the writer thread once it runs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "gateway/audit/audit.h"
#include "gateway/audit/audit_files.h"
#include "gateway/audit/audit_queue.h"
#include "gateway/core/b64.h"
#include "gateway/core/hex.h"
#include "gateway/core/log.h"
#include "gateway/core/sigalg.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/server.h"

#define HASH_HEX 65
#define NAME_MAX_LEN 64
#define RETRY_MS 100
#define STOP_RETRY_MS 5000

#define CP_RING 1024
#define NAP_US 1000  /* the writer's pause after emptying the queue */
#define WAKE_AT 1024 /* entries that wake a napping writer at once */
#define BATCH 256    /* entries written with one write(2) */
#define SYNC_MS 1000 /* fdatasync at most this often under load */

struct crgw_audit {
    /* configuration, copied at start */
    char *dir; /* DIR/w<K> */
    char node[8];
    int refuse;
    int checkpoint_every;
    int checkpoint_s;
    size_t max_bytes;
    size_t queue_max;

    /* the queue (loop thread -> writer) */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    audit_queue q;
    int stopping;
    int sleeping; /* the writer waits without a timeout: a new entry must wake it */
    pthread_t thread;
    int thread_started;

    /* readable from the loop thread */
    atomic_int failing;    /* the disk refuses writes */
    atomic_int full;       /* an entry was refused for lack of room, not yet drained */
    atomic_size_t qlen_at; /* qlen, for crgw_audit_refusing */
    char fail_text[128];   /* under mu */
    char reason[160];      /* not_ready's answer (loop thread only) */

    /* writer state */
    int fd;
    char file[NAME_MAX_LEN]; /* current file name in dir */
    size_t size;             /* current file size */
    long long seq;           /* seq of the last entry written */
    char prev[HASH_HEX];     /* hash of the last entry written */
    long long since_cp;      /* entries since the last checkpoint */
    int abandon;             /* stopping with a failing disk: no more waiting */
    int64_t last_cp_ms;
    int64_t last_sync_ms;
    int unsynced;   /* a checkpoint was written after the last fdatasync */
    crgw_buf batch; /* the lines of one batch, kept between batches (no regrowth per batch) */

    /* the last CP_RING checkpoint entries written (lines), for GET /v1/audit/checkpoints */
    char *cps[CP_RING];
    size_t n_cps; /* written so far; cps[i % CP_RING] */

    /* checkpoint signing */
    EVP_PKEY *key;
    char *jws_hdr; /* base64url of {"alg":"ES256","x5c":[...]} */
};

/* ---- small helpers ---- */

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "YYYY-MM-DDThh:mm:ss.mmmZ" */
static void format_time(int64_t ms, char *out, size_t cap)
{
    /* the seconds part changes once a second: formatted once per second per thread */
    static _Thread_local int64_t last_s = -1;
    static _Thread_local char last[24];
    int64_t sec = ms / 1000;
    if (sec != last_s) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        crgw_strfmt(last, sizeof(last), "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        last_s = sec;
    }
    int m = (int)(ms % 1000);
    crgw_assert(cap >= 25);
    memcpy(out, last, 19);
    out[19] = '.';
    out[20] = (char)('0' + m / 100);
    out[21] = (char)('0' + m / 10 % 10);
    out[22] = (char)('0' + m % 10);
    out[23] = 'Z';
    out[24] = '\0';
}

/* UTC day of ms as YYYYMMDD. */
static int utc_day(int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* SHA-256 fetched once (EVP_sha256() in EVP_Digest would fetch it again on every call). */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

/*
 * Per thread, a context set up for SHA-256 once and one copied from it for each digest:
 * copying a set-up context costs less than setting one up (EVP_DigestInit_ex2) for every line,
 * and EVP_Digest would allocate and free one per call. Freed by the thread's key destructor.
 */
typedef struct {
    EVP_MD_CTX *base, *work;
} sha256_ctxs;

static pthread_key_t sha256_key;

static void sha256_ctx_free(void *p)
{
    sha256_ctxs *c = p;
    EVP_MD_CTX_free(c->base);
    EVP_MD_CTX_free(c->work);
    free(c);
}

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    crgw_assert(pthread_key_create(&sha256_key, sha256_ctx_free) == 0);
}

static void sha256_hex(const char *p, size_t n, char out[HASH_HEX])
{
    pthread_once(&sha256_once, sha256_fetch);
    crgw_assert(sha256_md != NULL);
    sha256_ctxs *c = pthread_getspecific(sha256_key);
    if (!c) {
        c = xcalloc(1, sizeof(*c));
        c->base = EVP_MD_CTX_new();
        c->work = EVP_MD_CTX_new();
        crgw_assert(c->base && c->work && EVP_DigestInit_ex2(c->base, sha256_md, NULL) == 1 &&
                    pthread_setspecific(sha256_key, c) == 0);
    }
    unsigned char md[32];
    unsigned int ml = 0;
    crgw_assert(EVP_MD_CTX_copy_ex(c->work, c->base) == 1 && EVP_DigestUpdate(c->work, p, n) == 1 &&
                EVP_DigestFinal_ex(c->work, md, &ml) == 1 && ml == 32);
    crgw_hex(md, 32, out);
}

static void path_of(const crgw_audit *a, const char *name, char *out, size_t cap)
{
    crgw_strfmt(out, cap, "%s/%s", a->dir, name);
}

/* ---- resuming the chain ---- */

/*
 * The last complete line of the open file fd (size *size): *line (heap, without '\n'), or NULL
 * when the file has no complete line. An incomplete last line is cut off (*size updated).
 * 0, or -1 on a read error.
 */
static int last_line(int fd, const char *path, size_t *size, char **line, size_t *len)
{
    *line = NULL;
    size_t win = 65536;
    for (;;) {
        size_t w = win < *size ? win : *size;
        char *buf = xmalloc(w + 1);
        if (audit_read_at(fd, (off_t)(*size - w), buf, w) != 0) {
            free(buf);
            return -1;
        }
        size_t end = w; /* one past the last '\n' in buf */
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        if (end == 0 && w < *size) { /* no newline in the window: widen it */
            free(buf);
            win *= 2;
            continue;
        }
        if (end < w) {
            size_t keep = *size - (w - end);
            log_warn("audit: %s: incomplete last line (%zu bytes) cut off", path, w - end);
            if (ftruncate(fd, (off_t)keep) != 0) {
                free(buf);
                return -1;
            }
            *size = keep;
            free(buf);
            if (keep == 0)
                return 0;
            continue; /* read again from the new end */
        }
        if (end == 0) { /* empty file */
            free(buf);
            return 0;
        }
        size_t start = end - 1;
        while (start > 0 && buf[start - 1] != '\n')
            start--;
        if (start == 0 && w < *size) {
            free(buf);
            win *= 2;
            continue;
        }
        *len = end - 1 - start;
        *line = xstrndup(buf + start, *len);
        free(buf);
        return 0;
    }
}

/* Takes seq and prev from a complete last line. 0, or -1 when it is not an entry. */
static int chain_from_line(crgw_audit *a, const char *line, size_t len)
{
    json_t *o = json_loadb(line, len, 0, NULL);
    json_t *seq = json_object_get(o, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
        json_decref(o);
        return -1;
    }
    a->seq = json_integer_value(seq);
    sha256_hex(line, len, a->prev);
    json_decref(o);
    return 0;
}

static int open_append(const crgw_audit *a, const char *name)
{
    char path[4096];
    path_of(a, name, path, sizeof(path));
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

/*
 * Finds the chain's head in the existing files (newest first) and opens the last file for
 * appending, or sets a->file to "" when there is none (the writer creates the first one).
 * 0, or a CRGW_ERR_* (logged).
 */
static int resume(crgw_audit *a)
{
    size_t n = 0;
    char **names = audit_list_files(a->dir, &n);
    memset(a->prev, '0', HASH_HEX - 1);
    a->prev[HASH_HEX - 1] = '\0';
    a->seq = 0;
    a->fd = -1;
    a->file[0] = '\0';
    int rc = 0;
    size_t i = n;
    while (i-- > 0) {
        char path[4096];
        path_of(a, names[i], path, sizeof(path));
        int fd = open(path, O_RDWR | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            log_error("audit: %s: %s", path, strerror(errno));
            rc = CRGW_ERR_IO;
            if (fd >= 0)
                close(fd);
            break;
        }
        size_t size = (size_t)st.st_size;
        char *line = NULL;
        size_t len = 0;
        if (last_line(fd, path, &size, &line, &len) != 0) {
            log_error("audit: %s: %s", path, strerror(errno));
            rc = CRGW_ERR_IO;
        } else if (line && chain_from_line(a, line, len) != 0) {
            log_error("audit: %s: the last line is not an audit entry", path);
            rc = CRGW_ERR_INVALID;
        }
        close(fd);
        free(line);
        if (rc != 0)
            break;
        if (line) {
            snprintf(a->file, sizeof(a->file), "%s", names[i]);
            a->size = size;
            break;
        }
        /* an empty file (a rotation that wrote nothing): the chain is in an earlier one */
        log_warn("audit: %s: empty, removed", path);
        unlink(path);
    }
    audit_free_names(names, n);
    if (rc == 0 && a->file[0]) {
        a->fd = open_append(a, a->file);
        if (a->fd < 0) {
            log_error("audit: %s/%s: %s", a->dir, a->file, strerror(errno));
            rc = CRGW_ERR_IO;
        }
    }
    return rc;
}

/* ---- writing lines (writer thread) ---- */

/* Appends the next entry's line (without '\n') to b: the chain fields, the kind, then the
 * members of the fields object fields[0..len). */
static void put_line(crgw_buf *b, const crgw_audit *a, const char *kind, const char *fields,
                     size_t len, int64_t ms)
{
    char ts[40], seq[21];
    format_time(ms, ts, sizeof(ts));
    size_t sl = crgw_decimal(a->seq + 1, seq), kl = strlen(kind);
    crgw_assert(crgw_buf_reserve(b, 160 + sl + kl + len) == 0);
    char *p = b->data + b->len;
#define PUT(s, n) (memcpy(p, (s), (n)), p += (n))
#define PUTS(lit) PUT(lit, sizeof(lit) - 1)
    PUTS("{\"v\":1,\"seq\":");
    PUT(seq, sl);
    PUTS(",\"time\":\"");
    PUT(ts, 24);
    PUTS("\",\"prev\":\"");
    PUT(a->prev, HASH_HEX - 1);
    PUTS("\",\"kind\":\"");
    PUT(kind, kl);
    *p++ = '"';
    if (len > 2) {
        *p++ = ',';
        PUT(fields + 1, len - 2);
    }
    *p++ = '}';
#undef PUTS
#undef PUT
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
}

static char *build_line(const crgw_audit *a, const char *kind, const char *fields, int64_t ms,
                        size_t *len)
{
    crgw_buf b;
    crgw_buf_init(&b, SIZE_MAX);
    put_line(&b, a, kind, fields, strlen(fields), ms);
    crgw_buf_add(&b, "\n", 1);
    return crgw_buf_take(&b, len);
}

/* Appends buf[0..len) (whole lines, each ending in '\n') to fd at size *size; on failure cuts
 * back. 0, or -1 (errno set). */
static int append(int fd, size_t *size, const char *buf, size_t len)
{
    size_t done = 0;
    int rc = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            rc = -1;
            break;
        }
        done += (size_t)w;
    }
    if (rc != 0) {
        int e = errno;
        if (done > 0 && ftruncate(fd, (off_t)*size) != 0)
            log_error("audit: cannot cut back a partial line: %s", strerror(errno));
        errno = e;
        return -1;
    }
    *size += len;
    return 0;
}

/* Writes one line into the current file and advances the chain. 0 or -1 (errno set). */
static int emit(crgw_audit *a, const char *kind, const char *fields, int64_t ms)
{
    size_t len;
    char *line = build_line(a, kind, fields, ms, &len); /* ends in '\n' */
    int rc = append(a->fd, &a->size, line, len);
    int e = errno;
    line[--len] = '\0';
    if (rc == 0) {
        a->seq++;
        sha256_hex(line, len, a->prev);
        if (strcmp(kind, "checkpoint") != 0) {
            a->since_cp++;
        } else { /* kept for GET /v1/audit/checkpoints */
            pthread_mutex_lock(&a->mu);
            free(a->cps[a->n_cps % CP_RING]);
            a->cps[a->n_cps++ % CP_RING] = xstrdup(line);
            pthread_mutex_unlock(&a->mu);
        }
    }
    free(line);
    errno = e;
    return rc;
}

/*
 * fdatasync of the current file once a checkpoint is written: at most every SYNC_MS under load,
 * and at once when forced (the writer going idle, a rotation, the stop). A power loss takes at
 * most about a second of entries; what survives is a whole chain (an incomplete last line is cut
 * off at the next start).
 */
static void sync_if_due(crgw_audit *a, int force)
{
    if (!a->unsynced || a->fd < 0)
        return;
    int64_t now = wall_ms();
    if (!force && now - a->last_sync_ms < SYNC_MS)
        return;
    if (fdatasync(a->fd) != 0)
        log_warn("audit: fdatasync: %s", strerror(errno));
    a->unsynced = 0;
    a->last_sync_ms = now;
}

/* The name of the file after a->file for an entry at ms. */
static void next_name(const crgw_audit *a, int64_t ms, char *out, size_t cap)
{
    int day = utc_day(ms), fday = 0, k = 0;
    if (a->file[0] && audit_parse_name(a->file, &fday, &k) && fday >= day)
        crgw_strfmt(out, cap, "audit-%08d-%04d.jsonl", fday, k + 1);
    else
        crgw_strfmt(out, cap, "audit-%08d-0001.jsonl", day);
}

/* Opens the next file; its first line is a rotate entry (unless it is the first file). */
static int rotate(crgw_audit *a, int64_t ms)
{
    sync_if_due(a, 1); /* the file closed next holds a checkpoint not yet on the disk */
    char name[NAME_MAX_LEN];
    next_name(a, ms, name, sizeof(name));
    int fd = open_append(a, name);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    int old_fd = a->fd;
    size_t old_size = a->size;
    char old_file[NAME_MAX_LEN];
    memcpy(old_file, a->file, sizeof(old_file));
    a->fd = fd;
    a->size = (size_t)st.st_size;
    snprintf(a->file, sizeof(a->file), "%s", name);
    if (old_file[0]) {
        json_t *f = json_pack("{s:s}", "previous_file", old_file);
        char *fs = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(f);
        int rc = emit(a, "rotate", fs, ms);
        free(fs);
        if (rc != 0) {
            int e = errno;
            close(fd);
            char path[4096];
            path_of(a, name, path, sizeof(path));
            if (a->size == 0)
                unlink(path);
            a->fd = old_fd;
            a->size = old_size;
            memcpy(a->file, old_file, sizeof(old_file));
            errno = e;
            return -1;
        }
        close(old_fd);
    }
    return 0;
}

/* Writes an entry, rotating first when needed. 0 or -1 (errno set). */
static int write_entry(crgw_audit *a, const char *kind, const char *fields, int64_t ms)
{
    int fday = 0, k = 0;
    int need = a->fd < 0 || !audit_parse_name(a->file, &fday, &k) || utc_day(ms) > fday;
    if (!need && a->size > 0) /* the chain fields and the kind take under 160 bytes */
        need = a->size + strlen(fields) + strlen(kind) + 160 > a->max_bytes;
    if (need && rotate(a, ms) != 0)
        return -1;
    return emit(a, kind, fields, ms);
}

/* ---- checkpoints ---- */

/* The compact JWS over payload (heap), NULL when it cannot be signed. */
static char *sign_jws(const crgw_audit *a, const char *payload)
{
    crgw_buf b;
    crgw_buf_init(&b, SIZE_MAX);
    char *p64 = crgw_b64url_encode((const unsigned char *)payload, strlen(payload), NULL);
    crgw_buf_adds(&b, a->jws_hdr);
    crgw_buf_adds(&b, ".");
    crgw_buf_adds(&b, p64);
    free(p64);
    unsigned char *sig = NULL;
    size_t sl = 0;
    if (crgw_sigalg_sign(crgw_sigalg_by_jws("ES256"), a->key, (const unsigned char *)b.data, b.len,
                         CRGW_SIGENC_P1363, &sig, &sl) != CRGW_SIGALG_OK) {
        crgw_buf_cleanup(&b);
        return NULL;
    }
    char *s64 = crgw_b64url_encode(sig, sl, NULL);
    free(sig);
    crgw_buf_adds(&b, ".");
    crgw_buf_adds(&b, s64);
    free(s64);
    return crgw_buf_take(&b, NULL);
}

/* Writes a checkpoint over the chain so far. 0 or -1 (errno set). */
static int checkpoint(crgw_audit *a)
{
    int64_t ms = wall_ms();
    if (!a->key) { /* not_ready says so; nothing to sign with */
        a->since_cp = 0;
        a->last_cp_ms = ms;
        return 0;
    }
    /* a rotation would change count and head: rotate first, then sign */
    int fday = 0, k = 0;
    if (a->fd < 0 || !audit_parse_name(a->file, &fday, &k) || utc_day(ms) > fday ||
        a->size + 1024 + strlen(a->jws_hdr) > a->max_bytes) {
        if (rotate(a, ms) != 0)
            return -1;
    }
    char ts[40];
    format_time(ms, ts, sizeof(ts));
    json_t *p = json_pack("{s:s,s:I,s:s,s:s}", "node", a->node, "count", (json_int_t)a->seq, "head",
                          a->prev, "time", ts);
    char *ps = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(p);
    char *jws = sign_jws(a, ps);
    free(ps);
    if (!jws) {
        log_error("audit: checkpoint cannot be signed");
        return 0;
    }
    json_t *f = json_pack("{s:I,s:s,s:s,s:s}", "count", (json_int_t)a->seq, "head", a->prev, "node",
                          a->node, "jws", jws);
    free(jws);
    char *fs = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(f);
    int rc = emit(a, "checkpoint", fs, ms);
    free(fs);
    if (rc == 0) {
        a->since_cp = 0;
        a->last_cp_ms = ms;
        a->unsynced = 1;
        sync_if_due(a, 0);
    }
    return rc;
}

/* ---- the writer thread ---- */

static void set_failing(crgw_audit *a, int err)
{
    pthread_mutex_lock(&a->mu);
    if (err)
        crgw_strfmt(a->fail_text, sizeof(a->fail_text), "%s", strerror(err));
    pthread_mutex_unlock(&a->mu);
    if (err && !atomic_load(&a->failing))
        log_error("audit: %s/%s: %s", a->dir, a->file[0] ? a->file : "-", strerror(err));
    if (!err && atomic_load(&a->failing))
        log_info("audit: writing again");
    atomic_store(&a->failing, err ? 1 : 0);
}

static int is_stopping(crgw_audit *a)
{
    pthread_mutex_lock(&a->mu);
    int s = a->stopping;
    pthread_mutex_unlock(&a->mu);
    return s;
}

/*
 * Writes e (NULL: a checkpoint) until it succeeds, trying every RETRY_MS; while stopping, gives
 * up after STOP_RETRY_MS, and then every later entry after one try. 0 or -1.
 */
static int with_retry(crgw_audit *a, const audit_record *e)
{
    int waited = 0;
    for (;;) {
        int rc = e ? write_entry(a, e->kind, e->text, e->time_ms) : checkpoint(a);
        if (rc == 0) {
            if (atomic_load(&a->failing))
                set_failing(a, 0);
            return 0;
        }
        set_failing(a, errno ? errno : EIO);
        if (a->abandon || (is_stopping(a) && waited >= STOP_RETRY_MS)) {
            a->abandon = 1; /* the rest of the queue gets one try each */
            return -1;
        }
        struct timespec ts = {0, RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
        waited += RETRY_MS;
    }
}

/*
 * Writes entries v[0..n) with one write(2) when they fit the current file (else entry by entry,
 * rotating as needed). The chain advances only when the write succeeded; a failed write is cut
 * back and retried every RETRY_MS like one entry. 0, or -1 (entries lost: stopping on a dead
 * disk; *lost counts them).
 */
static int write_batch(crgw_audit *a, const audit_record *v, size_t n, long long *lost)
{
    int64_t last = v[n - 1].time_ms;
    size_t est = 0;
    for (size_t i = 0; i < n; i++)
        est += v[i].len + 160;
    int fday = 0, k = 0;
    if (n == 1 || a->fd < 0 || !audit_parse_name(a->file, &fday, &k) || utc_day(last) > fday ||
        a->size + est > a->max_bytes) {
        for (size_t i = 0; i < n; i++)
            if (with_retry(a, &v[i]) != 0)
                (*lost)++;
        return 0;
    }
    long long seq = a->seq, since = a->since_cp;
    char prev[HASH_HEX];
    memcpy(prev, a->prev, HASH_HEX);
    crgw_buf *b = &a->batch;
    crgw_buf_reset(b);
    for (size_t i = 0; i < n; i++) {
        size_t at = b->len;
        put_line(b, a, v[i].kind, v[i].text, v[i].len, v[i].time_ms);
        sha256_hex(b->data + at, b->len - at, a->prev);
        crgw_buf_add(b, "\n", 1);
        a->seq++;
        a->since_cp++;
    }
    int waited = 0, rc = 0;
    while (append(a->fd, &a->size, b->data, b->len) != 0) {
        set_failing(a, errno ? errno : EIO);
        if (a->abandon || (is_stopping(a) && waited >= STOP_RETRY_MS)) {
            a->abandon = 1;
            a->seq = seq; /* nothing of the batch is in the file: the chain stays where it was */
            a->since_cp = since;
            memcpy(a->prev, prev, HASH_HEX);
            *lost += (long long)n;
            rc = -1;
            break;
        }
        struct timespec ts = {0, RETRY_MS * 1000000L};
        nanosleep(&ts, NULL);
        waited += RETRY_MS;
    }
    if (rc == 0 && atomic_load(&a->failing))
        set_failing(a, 0);
    if (b->cap > (4u << 20)) /* an unusually large batch: do not keep its memory */
        crgw_buf_cleanup(b);
    return rc;
}

static void checkpoint_if_due(crgw_audit *a)
{
    if (a->since_cp == 0)
        return;
    if (a->since_cp >= a->checkpoint_every ||
        wall_ms() - a->last_cp_ms >= (int64_t)a->checkpoint_s * 1000)
        with_retry(a, NULL);
}

/*
 * Writes the records taken from the queue, in order, in batches of up to BATCH entries that
 * never cross a checkpoint (a checkpoint lands after exactly checkpoint_every entries).
 */
static void write_records(crgw_audit *a, const audit_chunk *list, long long *lost)
{
    audit_record v[BATCH];
    size_t n = 0, off = 0;
    while (audit_queue_next(&list, &off, &v[n])) {
        n++;
        long long room = a->checkpoint_every - a->since_cp;
        if (n == BATCH || (long long)n >= room) {
            write_batch(a, v, n, lost);
            n = 0;
            checkpoint_if_due(a);
        }
    }
    if (n > 0)
        write_batch(a, v, n, lost);
    checkpoint_if_due(a);
}

static void *writer_main(void *arg)
{
    crgw_audit *a = arg;
    long long lost = 0;
    int napped = 0;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (!a->q.head) {
            if (a->stopping)
                break;
            if (!napped) { /* a short pause: entries arriving meanwhile are one batch */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += NAP_US * 1000L;
                if (ts.tv_nsec >= 1000000000L) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&a->cv, &a->mu, &ts);
                napped = 1;
                continue;
            }
            if (a->unsynced) { /* idle: the last checkpoint goes to the disk now */
                pthread_mutex_unlock(&a->mu);
                sync_if_due(a, 1);
                pthread_mutex_lock(&a->mu);
                continue;
            }
            a->sleeping = 1;
            if (a->since_cp > 0) {
                int64_t due = a->last_cp_ms + (int64_t)a->checkpoint_s * 1000;
                struct timespec ts = {(time_t)(due / 1000), (long)(due % 1000) * 1000000L};
                pthread_cond_timedwait(&a->cv, &a->mu, &ts);
            } else {
                pthread_cond_wait(&a->cv, &a->mu);
            }
            a->sleeping = 0;
            if (!a->q.head && !a->stopping) {
                pthread_mutex_unlock(&a->mu);
                checkpoint_if_due(a);
                pthread_mutex_lock(&a->mu);
            }
            continue;
        }
        napped = 0;
        /* the whole queue at once: the loop thread starts a new chunk meanwhile */
        audit_chunk *list = audit_queue_take(&a->q);
        atomic_store(&a->qlen_at, 0);
        atomic_store(&a->full, 0);
        pthread_mutex_unlock(&a->mu);
        write_records(a, list, &lost);
        pthread_mutex_lock(&a->mu);
        audit_queue_recycle(&a->q, list);
    }
    pthread_mutex_unlock(&a->mu);
    if (a->since_cp > 0)
        with_retry(a, NULL);
    sync_if_due(a, 1);
    if (lost)
        log_error("audit: %lld entries lost at stop (disk failing)", lost);
    return NULL;
}

/* ---- the public API ---- */

crgw_audit *crgw_audit_of(const crgw_server *s)
{
    return crgw_server_state(s, &crgw_audit_module);
}

const crgw_audit_conf *crgw_audit_conf_of(const crgw_config *cfg)
{
    return crgw_config_section(cfg, &crgw_audit_module);
}

/* The static name of a known entry kind (README), or NULL: records keep the name's pointer. */
static const char *valid_kind(const char *k)
{
    static const char *const kinds[] = {"verify", "repair",     "operator",
                                        "rotate", "checkpoint", "start"};
    for (size_t i = 0; k && i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(k, kinds[i]) == 0)
            return kinds[i];
    return NULL;
}

/* Queues a copy of fields[0..len) (a JSON object text) as an entry of kind kind (static). */
static int push(crgw_audit *a, const char *kind, const char *fields, size_t len)
{
    pthread_mutex_lock(&a->mu);
    int64_t ms = wall_ms(); /* under mu: times follow the order of the queue */
    if (a->q.len >= a->queue_max) {
        pthread_mutex_unlock(&a->mu);
        if (!atomic_exchange(&a->full, 1))
            log_error("audit: queue full (%zu entries): entries are refused", a->queue_max);
        return CRGW_ERR_UNAVAILABLE;
    }
    audit_queue_push(&a->q, kind, ms, fields, len);
    atomic_store(&a->qlen_at, a->q.len);
    /* a napping writer comes back within NAP_US by itself: one wake-up per batch, not per entry */
    if (a->sleeping || a->q.len >= WAKE_AT)
        pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    /* kept in the queue, written when the disk takes it again */
    return atomic_load(&a->failing) ? CRGW_ERR_UNAVAILABLE : 0;
}

int crgw_audit_add(crgw_audit *a, const char *kind, json_t *fields)
{
    if (!a) {
        json_decref(fields);
        return 0;
    }
    const char *k = valid_kind(kind);
    if (!k || !json_is_object(fields)) {
        json_decref(fields);
        return CRGW_ERR_INVALID;
    }
    char *text = json_dumps(fields, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(fields);
    crgw_assert(text != NULL);
    int rc = push(a, k, text, strlen(text));
    free(text);
    return rc;
}

int crgw_audit_add_text(crgw_audit *a, const char *kind, const char *fields, size_t len)
{
    if (!a)
        return 0;
    const char *k = valid_kind(kind);
    if (!k || !fields || len < 2 || fields[0] != '{' || fields[len - 1] != '}' ||
        memchr(fields, '\n', len) != NULL)
        return CRGW_ERR_INVALID;
    return push(a, k, fields, len);
}

int crgw_audit_refusing(const crgw_audit *a)
{
    if (!a || !a->refuse)
        return 0;
    crgw_audit *m = (crgw_audit *)a;
    size_t near = a->queue_max - a->queue_max / 10;
    return atomic_load(&m->failing) || atomic_load(&m->full) || atomic_load(&m->qlen_at) >= near;
}

/* ---- module hooks ---- */

static int audit_check(crgw_config *cfg, crgw_errs *errs)
{
    const crgw_audit_conf *ac = crgw_audit_conf_of(cfg);
    int line = crgw_config_section_line(cfg, &crgw_audit_module);
    int rc = 0;
    if (!ac || !ac->enabled)
        return 0;
    if (strcmp(ac->on_failure, "refuse") != 0 && strcmp(ac->on_failure, "degrade") != 0) {
        crgw_errs_add(errs, "%s:%d: audit: on_failure must be refuse or degrade, not '%s'",
                      cfg->path, line, ac->on_failure);
        rc = CRGW_ERR_INVALID;
    }
    if (!ac->dir) {
        crgw_errs_add(errs, "%s:%d: audit: 'dir' is required when audit is enabled", cfg->path,
                      line);
        return CRGW_ERR_INVALID;
    }
    if (audit_mkdir_p(ac->dir) != 0 || access(ac->dir, W_OK | X_OK) != 0) {
        crgw_errs_add(errs, "%s:%d: audit: dir %s: %s", cfg->path, line, ac->dir, strerror(errno));
        rc = CRGW_ERR_INVALID;
    }
    return rc;
}

/* Loads the node's federation key and certificate chain; leaves a->key NULL when unusable. */
static void load_signer(crgw_audit *a, const crgw_config *cfg)
{
    EVP_PKEY *key = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    FILE *fp = cfg->tls_key ? fopen(cfg->tls_key, "r") : NULL;
    if (fp) {
        key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
        fclose(fp);
    }
    fp = cfg->tls_cert ? fopen(cfg->tls_cert, "r") : NULL;
    if (fp) {
        X509 *c;
        while ((c = PEM_read_X509(fp, NULL, NULL, NULL)) != NULL)
            sk_X509_push(chain, c);
        fclose(fp);
    }
    if (!key || sk_X509_num(chain) == 0 ||
        !crgw_sigalg_key_fits(crgw_sigalg_by_jws("ES256"), key, 1)) {
        log_error("audit: no ES256 signing key (tls.key %s, tls.cert %s): no checkpoints",
                  cfg->tls_key ? cfg->tls_key : "-", cfg->tls_cert ? cfg->tls_cert : "-");
        EVP_PKEY_free(key);
        sk_X509_pop_free(chain, X509_free);
        return;
    }
    json_t *x5c = json_array();
    for (int i = 0; i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int dl = i2d_X509(sk_X509_value(chain, i), &der);
        crgw_assert(dl > 0);
        char *b = crgw_b64_encode(der, (size_t)dl, NULL);
        json_array_append_new(x5c, json_string(b));
        free(b);
        OPENSSL_free(der);
    }
    sk_X509_pop_free(chain, X509_free);
    json_t *h = json_pack("{s:s,s:o}", "alg", "ES256", "x5c", x5c);
    char *hs = json_dumps(h, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(h);
    a->jws_hdr = crgw_b64url_encode((const unsigned char *)hs, strlen(hs), NULL);
    free(hs);
    a->key = key;
}

static void audit_free(crgw_audit *a)
{
    for (size_t i = 0; a && i < CP_RING; i++)
        free(a->cps[i]);
    if (!a)
        return;
    audit_queue_cleanup(&a->q);
    if (a->fd >= 0)
        close(a->fd);
    EVP_PKEY_free(a->key);
    free(a->jws_hdr);
    free(a->dir);
    crgw_buf_cleanup(&a->batch);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}

static crgw_audit *audit_new(const crgw_config *cfg, const crgw_audit_conf *ac, int worker)
{
    crgw_audit *a = xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&a->cv, &ca); /* CLOCK_REALTIME: the checkpoint deadline is wall time */
    pthread_condattr_destroy(&ca);
    size_t dl = strlen(ac->dir) + 32;
    a->dir = xmalloc(dl);
    crgw_strfmt(a->dir, dl, "%s/w%d", ac->dir, worker);
    snprintf(a->node, sizeof(a->node), "%s", cfg->node);
    a->refuse = strcmp(ac->on_failure, "degrade") != 0;
    a->checkpoint_every = ac->checkpoint_every;
    a->checkpoint_s = ac->checkpoint_s;
    a->max_bytes = (size_t)ac->max_file_mb << 20;
    a->queue_max = (size_t)ac->queue_max;
    a->fd = -1;
    a->last_cp_ms = wall_ms();
    crgw_buf_init(&a->batch, SIZE_MAX);
    return a;
}

static int audit_start(crgw_server *s, void **state)
{
    const crgw_config *cfg = crgw_server_config(s);
    const crgw_audit_conf *ac = crgw_audit_conf_of(cfg);
    *state = NULL;
    if (!ac || !ac->enabled)
        return 0;
    if (!ac->dir) {
        log_error("audit: 'dir' is required when audit is enabled");
        return CRGW_ERR_INVALID;
    }
    crgw_audit *a = audit_new(cfg, ac, crgw_server_worker(s));
    if (audit_mkdir_p(a->dir) != 0) {
        log_error("audit: %s: %s", a->dir, strerror(errno));
        audit_free(a);
        return CRGW_ERR_IO;
    }
    int rc = resume(a);
    if (rc != 0) {
        audit_free(a);
        return rc;
    }
    load_signer(a, cfg);
    log_info("audit: writing %s (chain at seq %lld)", a->dir, a->seq);
    json_t *f = json_pack("{s:s,s:I}", "node", a->node, "pid", (json_int_t)getpid());
    (void)crgw_audit_add(a, "start", f);
    if (pthread_create(&a->thread, NULL, writer_main, a) != 0) {
        log_error("audit: cannot start the writer thread");
        audit_free(a);
        return CRGW_ERR_INTERNAL;
    }
    a->thread_started = 1;
    *state = a;
    return 0;
}

static void audit_stop(crgw_server *s, void *state)
{
    (void)s;
    crgw_audit *a = state;
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->thread_started)
        pthread_join(a->thread, NULL);
    audit_free(a);
}

static int str_eq(const char *x, const char *y)
{
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static void audit_reload(crgw_server *s, void *state, crgw_config *old)
{
    (void)state;
    const crgw_audit_conf *n = crgw_audit_conf_of(crgw_server_config(s));
    const crgw_audit_conf *o = crgw_audit_conf_of(old);
    if (!n || !o)
        return;
    if (n->enabled != o->enabled || !str_eq(n->dir, o->dir) ||
        !str_eq(n->on_failure, o->on_failure) || n->checkpoint_every != o->checkpoint_every ||
        n->checkpoint_s != o->checkpoint_s || n->max_file_mb != o->max_file_mb ||
        n->queue_max != o->queue_max)
        log_warn("audit: configuration changes apply at restart");
}

static const char *audit_not_ready(crgw_server *s, void *state)
{
    (void)s;
    crgw_audit *a = state;
    if (!a)
        return NULL;
    if (atomic_load(&a->failing)) {
        pthread_mutex_lock(&a->mu);
        crgw_strfmt(a->reason, sizeof(a->reason), "audit: disk: %s", a->fail_text);
        pthread_mutex_unlock(&a->mu);
        return a->reason;
    }
    if (atomic_load(&a->full))
        return "audit: queue full";
    if (!a->key)
        return "audit: no signing key";
    return NULL;
}

/* Operator-visible server events (reload accepted or refused) become operator entries. */
static void audit_event(crgw_server *s, void *state, const char *what, const char *detail)
{
    (void)s;
    if (!state)
        return;
    json_t *e = json_pack("{s:s,s:s}", "action", what, "detail", detail ? detail : "");
    (void)crgw_audit_add(state, "operator", e);
}

/*
 * GET /v1/audit/checkpoints?since=RFC3339 [operator]: the signed checkpoints this process wrote
 * (the last CP_RING), oldest first, each the whole entry as it is in the log, so another node or
 * an archive can hold them and later prove that the log was not rewritten.
 */
static void route_checkpoints(crgw_req *r)
{
    crgw_audit *a = crgw_audit_of(r->server);
    if (!a) {
        crgw_req_problem(r, 404, "audit-off", "Audit log off", NULL,
                         "this node does not keep an audit log (audit.enabled)");
        return;
    }
    const char *since = crgw_req_query(r, "since");
    int64_t t = 0;
    if (since && crgw_time_parse_rfc3339(since, 1, &t) != 0) {
        crgw_req_problem(r, 400, "bad-parameter", "Bad parameter", NULL,
                         "since=%s is not an RFC 3339 time", since);
        return;
    }
    json_t *list = json_array();
    pthread_mutex_lock(&a->mu);
    size_t first = a->n_cps > CP_RING ? a->n_cps - CP_RING : 0;
    for (size_t i = first; i < a->n_cps; i++) {
        json_t *e = json_loads(a->cps[i % CP_RING], 0, NULL);
        int64_t et = 0;
        const char *ts = json_string_value(json_object_get(e, "time"));
        if (e && (!since || (ts && crgw_time_parse_rfc3339(ts, 0, &et) == 0 && et >= t)))
            json_array_append(list, e);
        json_decref(e);
    }
    pthread_mutex_unlock(&a->mu);
    crgw_req_respond_json(r, 200, json_pack("{s:s,s:o}", "node", a->node, "checkpoints", list));
}

static const crgw_route audit_routes[] = {
    {"GET", "/v1/audit/checkpoints", CRGW_ROLE_OPERATOR, route_checkpoints, "audit_checkpoints"},
    {0},
};

#define C crgw_audit_conf
static const crgw_conf_field audit_fields[] = {
    CRGW_CONF_BOOL_ROW(C, enabled, 0, "write the hash-chained audit log"),
    CRGW_CONF_STR_ROW(C, dir, NULL, "directory of the log (one subdirectory per worker)"),
    CRGW_CONF_STR_ROW(C, on_failure, "refuse",
                      "refuse: no audited answer when the log fails; degrade: answer anyway"),
    CRGW_CONF_INT_ROW(C, checkpoint_every, 1, 10000000, 1000, "entries between checkpoints"),
    CRGW_CONF_INT_ROW(C, checkpoint_s, 1, 86400, 60, "seconds between checkpoints"),
    CRGW_CONF_INT_ROW(C, max_file_mb, 1, 4096, 64, "rotation size of a file (MiB)"),
    CRGW_CONF_INT_ROW(C, queue_max, 16, 10000000, 65536, "entries waiting for the writer"),
    {0},
};
#undef C

const crgw_module crgw_audit_module = {
    .name = "audit",
    .routes = audit_routes,
    .section = "audit",
    .fields = audit_fields,
    .conf_size = sizeof(crgw_audit_conf),
    .check = audit_check,
    .checks = "audit configuration",
    .start = audit_start,
    .reload = audit_reload,
    .stop = audit_stop,
    .not_ready = audit_not_ready,
    .event = audit_event,
};
