/*
 * audit_check: reads audit log directories (gateway/audit/README.md) and checks their chains.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "gateway/audit/audit_check.h"
#include "gateway/core/b64.h"
#include "gateway/core/hex.h"
#include "gateway/core/sigalg.h"
#include "gateway/core/time.h"
#include "gateway/core/util.h"

#define HASH_HEX 64
#define NAME_LEN 25 /* audit-YYYYMMDD-NNNN.jsonl */

static const char ZERO_HASH[HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---- directories ---- */

typedef struct {
    char **v;
    size_t n, cap;
} strlist;

static void strlist_add(strlist *l, char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = s;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return n > 0;
}

/* audit-YYYYMMDD-NNNN.jsonl */
static int is_audit_name(const char *s)
{
    return strlen(s) == NAME_LEN && strncmp(s, "audit-", 6) == 0 && all_digits(s + 6, 8) &&
           s[14] == '-' && all_digits(s + 15, 4) && strcmp(s + 19, ".jsonl") == 0;
}

/* w<K>: the index K, or -1 */
static long worker_index(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || n > 7 || s[0] != 'w' || !all_digits(s + 1, n - 1))
        return -1;
    return strtol(s + 1, NULL, 10);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_worker(const void *a, const void *b)
{
    long x = worker_index(*(char *const *)a), y = worker_index(*(char *const *)b);
    return x < y ? -1 : x > y;
}

/* The audit file names (files) and w<K> subfolder names (workers) of dir, both sorted. */
static int list_dir(const char *dir, strlist *files, strlist *workers)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return CRGW_ERR_IO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[2048];
        struct stat st;
        crgw_strfmt(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISREG(st.st_mode) && is_audit_name(e->d_name))
            strlist_add(files, xstrdup(e->d_name));
        else if (workers && S_ISDIR(st.st_mode) && worker_index(e->d_name) >= 0)
            strlist_add(workers, xstrdup(e->d_name));
    }
    closedir(d);
    if (files->n)
        qsort(files->v, files->n, sizeof(*files->v), cmp_str);
    if (workers && workers->n)
        qsort(workers->v, workers->n, sizeof(*workers->v), cmp_worker);
    return 0;
}

/* The chain folders of dir: dir itself when it has audit files, then dir/w0, dir/w1... */
static int list_chains(const char *dir, strlist *chains, char *err, size_t err_len)
{
    strlist files = {0}, workers = {0};
    if (list_dir(dir, &files, &workers) != 0) {
        crgw_strfmt(err, err_len, "cannot read: %s", strerror(errno));
        return CRGW_ERR_IO;
    }
    if (files.n)
        strlist_add(chains, xstrdup(dir));
    for (size_t i = 0; i < workers.n; i++) {
        char path[2048];
        crgw_strfmt(path, sizeof(path), "%s/%s", dir, workers.v[i]);
        strlist_add(chains, xstrdup(path));
    }
    strlist_free(&files);
    strlist_free(&workers);
    if (chains->n == 0) {
        crgw_strfmt(err, err_len, "no audit files (audit-YYYYMMDD-NNNN.jsonl)");
        return CRGW_ERR_NOT_FOUND;
    }
    return 0;
}

/* ---- one chain ---- */

typedef struct {
    EVP_PKEY *key;
    int64_t from, to;
    crgw_audit_report *out;
    const char *path; /* current file */
    long line;        /* current line */
    size_t file_index;
    long long seq;                /* seq of the last entry, 0 before the first */
    char prev[HASH_HEX + 1];      /* hash of the last line */
    char prev_name[NAME_LEN + 1]; /* name of the previous file */
    int last_checkpoint;          /* the last entry was a checkpoint */
} chain;

static int fail(chain *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(chain *c, int code, const char *fmt, ...)
{
    crgw_strfmt(c->out->file, sizeof(c->out->file), "%s", c->path);
    c->out->line = c->line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->out->what, sizeof(c->out->what), fmt, ap);
    va_end(ap);
    return code;
}

static void warn(crgw_audit_report *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(crgw_audit_report *out, const char *fmt, ...)
{
    if (out->warnings++ > 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->warning, sizeof(out->warning), fmt, ap);
    va_end(ap);
}

static void sha256_hex(const char *p, size_t n, char out[HASH_HEX + 1])
{
    unsigned char md[32];
    unsigned int ml = 0;
    crgw_assert(EVP_Digest(p, n, md, &ml, EVP_sha256(), NULL) == 1 && ml == 32);
    crgw_hex(md, 32, out);
}

static int is_hash(const char *s)
{
    if (s == NULL || strlen(s) != HASH_HEX)
        return 0;
    for (size_t i = 0; i < HASH_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* RFC 3339 UTC with milliseconds: 2026-12-02T10:00:00.123Z */
static int parse_entry_time(const char *s, int64_t *t)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (s == NULL || strlen(s) != sizeof(shape) - 1)
        return -1;
    for (size_t i = 0; shape[i]; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return -1;
    return crgw_time_parse_rfc3339(s, 0, t);
}

/* v, seq, time, prev, kind: the first keys, in this order, with their types. */
static int check_head(chain *c, json_t *o, long long *seq, const char **prev, const char **kind,
                      int64_t *t)
{
    static const char *const keys[] = {"v", "seq", "time", "prev", "kind"};
    void *it = json_object_iter(o);
    for (size_t i = 0; i < CRGW_ARRAY_LEN(keys); i++, it = json_object_iter_next(o, it))
        if (it == NULL || strcmp(json_object_iter_key(it), keys[i]) != 0)
            return fail(c, CRGW_ERR_INVALID, "first keys are not v, seq, time, prev, kind");
    json_t *v = json_object_get(o, "v");
    if (!json_is_integer(v) || json_integer_value(v) != 1)
        return fail(c, CRGW_ERR_INVALID, "v is not 1");
    json_t *s = json_object_get(o, "seq");
    if (!json_is_integer(s) || json_integer_value(s) < 1)
        return fail(c, CRGW_ERR_INVALID, "seq is not a positive integer");
    *seq = json_integer_value(s);
    if (parse_entry_time(json_string_value(json_object_get(o, "time")), t) != 0)
        return fail(c, CRGW_ERR_INVALID, "time is not RFC 3339 UTC with milliseconds");
    *prev = json_string_value(json_object_get(o, "prev"));
    if (!is_hash(*prev))
        return fail(c, CRGW_ERR_INVALID, "prev is not a lowercase hex SHA-256");
    *kind = json_string_value(json_object_get(o, "kind"));
    if (*kind == NULL)
        return fail(c, CRGW_ERR_INVALID, "kind is not a string");
    static const char *const kinds[] = {"verify", "repair",     "operator",
                                        "rotate", "checkpoint", "start"};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(kinds); i++)
        if (strcmp(*kind, kinds[i]) == 0)
            return 0;
    return fail(c, CRGW_ERR_INVALID, "unknown kind \"%.40s\"", *kind);
}

static json_t *decode_json(const char *s, size_t n)
{
    unsigned char *raw = NULL;
    size_t rl = 0;
    if (crgw_b64url_decode(s, n, &raw, &rl) != 0)
        return NULL;
    json_t *j = json_loadb((const char *)raw, rl, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (!json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int same_string(json_t *a, json_t *b)
{
    return json_is_string(a) && json_is_string(b) &&
           strcmp(json_string_value(a), json_string_value(b)) == 0;
}

/* The payload has exactly node, count, head, time, with the entry's values. */
static int payload_matches(json_t *p, json_t *entry)
{
    json_t *pc = json_object_get(p, "count"), *ec = json_object_get(entry, "count");
    return json_object_size(p) == 4 &&
           same_string(json_object_get(p, "node"), json_object_get(entry, "node")) &&
           same_string(json_object_get(p, "head"), json_object_get(entry, "head")) &&
           same_string(json_object_get(p, "time"), json_object_get(entry, "time")) &&
           json_is_integer(pc) && json_is_integer(ec) &&
           json_integer_value(pc) == json_integer_value(ec);
}

static int check_jws(chain *c, json_t *entry)
{
    const char *jws = json_string_value(json_object_get(entry, "jws"));
    const char *d1 = jws ? strchr(jws, '.') : NULL;
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (d2 == NULL || strchr(d2 + 1, '.') != NULL)
        return fail(c, CRGW_ERR_INVALID, "checkpoint jws is not a compact JWS");
    json_t *hdr = decode_json(jws, (size_t)(d1 - jws));
    json_t *x5c = json_object_get(hdr, "x5c");
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    int hdr_ok = alg && strcmp(alg, "ES256") == 0 && json_is_array(x5c) &&
                 json_array_size(x5c) > 0 && json_is_string(json_array_get(x5c, 0));
    json_decref(hdr);
    if (!hdr_ok)
        return fail(c, CRGW_ERR_INVALID,
                    "checkpoint jws header is not {\"alg\":\"ES256\",\"x5c\":[...]}");
    json_t *p = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
    int p_ok = p && payload_matches(p, entry);
    json_decref(p);
    if (!p_ok)
        return fail(c, CRGW_ERR_INVALID,
                    "checkpoint jws payload is not the entry's node, count, head and time");
    if (c->key == NULL)
        return 0;
    unsigned char *sig = NULL;
    size_t sl = 0;
    int ok = crgw_b64url_decode(d2 + 1, strlen(d2 + 1), &sig, &sl) == 0 &&
             crgw_sigalg_verify(crgw_sigalg_by_jws("ES256"), c->key, (const unsigned char *)jws,
                                (size_t)(d2 - jws), sig, sl, CRGW_SIGENC_P1363) == CRGW_SIGALG_OK;
    free(sig);
    if (!ok)
        return fail(c, CRGW_ERR_SIG,
                    "checkpoint signature does not verify with the node's certificate");
    return 0;
}

static int check_checkpoint(chain *c, json_t *o, long long seq, const char *prev)
{
    json_t *count = json_object_get(o, "count");
    if (!json_is_integer(count) || json_integer_value(count) != seq - 1)
        return fail(c, CRGW_ERR_INVALID, "checkpoint count is not seq - 1 (%lld)", seq - 1);
    const char *head = json_string_value(json_object_get(o, "head"));
    if (head == NULL || strcmp(head, prev) != 0)
        return fail(c, CRGW_ERR_INVALID, "checkpoint head is not its prev");
    if (!json_is_string(json_object_get(o, "node")))
        return fail(c, CRGW_ERR_INVALID, "checkpoint node is not a string");
    return check_jws(c, o);
}

/* The chain rules of an entry that is well formed: seq, prev, rotate. */
static int check_links(chain *c, json_t *o, long long seq, const char *prev, const char *kind)
{
    if (seq != c->seq + 1) {
        if (c->seq == 0)
            return fail(c, CRGW_ERR_INVALID, "seq %lld at the start of the chain (not 1)", seq);
        return fail(c, CRGW_ERR_INVALID, "seq %lld after %lld", seq, c->seq);
    }
    if (strcmp(prev, c->prev) != 0) {
        if (c->seq == 0)
            return fail(c, CRGW_ERR_INVALID, "prev of the first entry is not 64 zeros");
        if (c->line == 1)
            return fail(c, CRGW_ERR_INVALID, "prev does not match the last line of %s",
                        c->prev_name);
        return fail(c, CRGW_ERR_INVALID, "prev does not match the previous line");
    }
    int is_rotate = strcmp(kind, "rotate") == 0;
    if (c->line == 1 && c->file_index > 0) {
        if (!is_rotate)
            return fail(c, CRGW_ERR_INVALID,
                        "rotate entry missing (first entry of a file is %.40s)", kind);
        const char *pf = json_string_value(json_object_get(o, "previous_file"));
        if (pf == NULL || strcmp(pf, c->prev_name) != 0)
            return fail(c, CRGW_ERR_INVALID, "rotate previous_file is not %s", c->prev_name);
    } else if (is_rotate) {
        return fail(c, CRGW_ERR_INVALID, "rotate entry not at the start of a file");
    }
    return 0;
}

static int check_entry(chain *c, const char *text, size_t len)
{
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return fail(c, CRGW_ERR_INVALID, "not JSON (or not a JSON object)");
    }
    long long seq = 0;
    const char *prev = NULL, *kind = NULL;
    int64_t t = 0;
    int rc = check_head(c, o, &seq, &prev, &kind, &t);
    if (rc == 0)
        rc = check_links(c, o, seq, prev, kind);
    int is_cp = rc == 0 && strcmp(kind, "checkpoint") == 0;
    if (is_cp)
        rc = check_checkpoint(c, o, seq, prev);
    json_decref(o);
    if (rc != 0)
        return rc;
    c->seq = seq;
    c->last_checkpoint = is_cp;
    c->out->entries++;
    c->out->checkpoints += (size_t)is_cp;
    if (t >= c->from && t <= c->to)
        c->out->in_range++;
    sha256_hex(text, len, c->prev);
    return 0;
}

static int check_file(chain *c, const char *dir, const char *name)
{
    char path[2048];
    crgw_strfmt(path, sizeof(path), "%s/%s", dir, name);
    c->path = path;
    c->line = 0;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return fail(c, CRGW_ERR_IO, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&buf, &cap, f)) > 0) {
        c->line++;
        if (buf[n - 1] != '\n')
            rc = fail(c, CRGW_ERR_INVALID, "incomplete last line (truncated file)");
        else if (memchr(buf, '\0', (size_t)n) != NULL)
            rc = fail(c, CRGW_ERR_INVALID, "not JSON (NUL byte)");
        else
            rc = check_entry(c, buf, (size_t)n - 1);
    }
    if (rc == 0 && ferror(f))
        rc = fail(c, CRGW_ERR_IO, "read error: %s", strerror(errno));
    if (rc == 0 && c->line == 0) {
        c->line = 1;
        rc = fail(c, CRGW_ERR_INVALID, "empty file");
    }
    free(buf);
    fclose(f);
    c->out->files++;
    crgw_strfmt(c->prev_name, sizeof(c->prev_name), "%s", name);
    c->path = NULL;
    return rc;
}

static int check_chain(const char *dir, EVP_PKEY *key, int64_t from, int64_t to,
                       crgw_audit_report *out)
{
    chain c = {.key = key, .from = from, .to = to, .out = out, .path = dir};
    memcpy(c.prev, ZERO_HASH, sizeof(c.prev));
    strlist files = {0};
    if (list_dir(dir, &files, NULL) != 0)
        return fail(&c, CRGW_ERR_IO, "cannot read: %s", strerror(errno));
    int rc = 0;
    if (files.n == 0)
        rc = fail(&c, CRGW_ERR_NOT_FOUND, "no audit files");
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        c.file_index = i;
        rc = check_file(&c, dir, files.v[i]);
    }
    if (rc == 0 && !c.last_checkpoint)
        warn(out, "%s/%s: the chain does not end with a checkpoint (seq %lld is not signed)", dir,
             files.v[files.n - 1], c.seq);
    strlist_free(&files);
    out->chains++;
    return rc;
}

int crgw_audit_check(const char *dir, EVP_PKEY *node_key, int64_t from, int64_t to,
                     crgw_audit_report *out)
{
    memset(out, 0, sizeof(*out));
    strlist chains = {0};
    int rc = list_chains(dir, &chains, out->what, sizeof(out->what));
    if (rc != 0) {
        crgw_strfmt(out->file, sizeof(out->file), "%s", dir);
        return rc;
    }
    if (node_key == NULL)
        warn(out, "no node certificate: checkpoint signatures not checked");
    for (size_t i = 0; rc == 0 && i < chains.n; i++)
        rc = check_chain(chains.v[i], node_key, from, to, out);
    strlist_free(&chains);
    return rc;
}

/* ---- show ---- */

static long find_in_file(const char *path, const char *field, const char *value,
                         crgw_audit_find_cb cb, void *ctx, int *stop)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return CRGW_ERR_IO;
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    long line = 0, hits = 0;
    while (!*stop && (n = getline(&buf, &cap, f)) > 0) {
        line++;
        size_t len = (size_t)n;
        if (buf[len - 1] == '\n')
            buf[--len] = '\0';
        json_t *o = json_loadb(buf, len, 0, NULL);
        const char *s = json_string_value(json_object_get(o, field));
        if (s && strcmp(s, value) == 0) {
            hits++;
            *stop = cb(path, line, buf, len, ctx) != 0;
        }
        json_decref(o);
    }
    free(buf);
    fclose(f);
    return hits;
}

long crgw_audit_find(const char *dir, const char *field, const char *value, crgw_audit_find_cb cb,
                     void *ctx, char *err, size_t err_len)
{
    strlist chains = {0};
    char why[256];
    int rc = list_chains(dir, &chains, why, sizeof(why));
    if (rc != 0) {
        crgw_strfmt(err, err_len, "%s: %s", dir, why);
        return rc;
    }
    long hits = 0;
    int stop = 0;
    for (size_t i = 0; hits >= 0 && !stop && i < chains.n; i++) {
        strlist files = {0};
        if (list_dir(chains.v[i], &files, NULL) != 0) {
            crgw_strfmt(err, err_len, "cannot read %s: %s", chains.v[i], strerror(errno));
            hits = CRGW_ERR_IO;
        }
        for (size_t j = 0; hits >= 0 && !stop && j < files.n; j++) {
            char path[2048];
            crgw_strfmt(path, sizeof(path), "%s/%s", chains.v[i], files.v[j]);
            long h = find_in_file(path, field, value, cb, ctx, &stop);
            if (h < 0) {
                crgw_strfmt(err, err_len, "cannot read %s: %s", path, strerror(errno));
                hits = h;
            } else {
                hits += h;
            }
        }
        strlist_free(&files);
    }
    strlist_free(&chains);
    return hits;
}
