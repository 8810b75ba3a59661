/*
 * config: YAML node and federation configuration, validated through descriptor tables
 * (redis config.c style). Every problem is reported as "file:line: message"; loading goes on
 * after an error so that one run lists them all.
 */
#include "gateway/server/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gateway/core/canon_codes.h"
#include "gateway/core/util.h"
#include "gateway/core/yamltree.h"
#include "gateway/server/module.h"
#include "gateway/server/redis_target.h"

#define CONFIG_FILE_LIMIT (1u << 20)

/* ---- small shared helpers ---- */

static void strv_push(crgw_strv *sv, const char *s)
{
    sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
    sv->v[sv->n++] = xstrdup(s);
}

static void strv_cleanup(crgw_strv *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->n = 0;
}

/* Appends one message formatted from ap (at most 1,023 bytes), growing the list by doubling. */
static void errs_vadd(crgw_errs *e, const char *fmt, va_list ap)
{
    char buf[1024];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = xrealloc(e->v, e->cap * sizeof(*e->v));
    }
    e->v[e->n++] = xstrdup(buf);
}

void crgw_errs_add(crgw_errs *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    errs_vadd(e, fmt, ap);
    va_end(ap);
}

void crgw_errs_cleanup(crgw_errs *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
    e->v = NULL;
    e->n = e->cap = 0;
}

/* ---- loading context ---- */

typedef struct {
    crgw_config *cfg;
    crgw_errs *errs;
    const char *file; /* file being read, for messages */
    char dir[PATH_MAX];
    size_t n_before; /* errs->n when loading started */
    int fed_loaded;  /* the federation file was parsed (its nodes are known) */
} lctx;

static void err_at(lctx *c, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void err_at(lctx *c, int line, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    crgw_errs_add(c->errs, "%s:%d: %s", c->file, line, msg);
}

static void set_file(lctx *c, const char *file)
{
    c->file = file;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", file);
    snprintf(c->dir, sizeof(c->dir), "%s", dirname(tmp));
}

static char *resolve_path(const lctx *c, const char *p)
{
    if (p[0] == '/' || strcmp(c->dir, ".") == 0)
        return xstrdup(p);
    crgw_buf b;
    crgw_buf_init(&b, PATH_MAX * 2);
    crgw_buf_printf(&b, "%s/%s", c->dir, p);
    return crgw_buf_take(&b, NULL);
}

/* ---- value checks ---- */

int crgw_is_node_code(const char *s)
{
    if (strlen(s) != 6)
        return 0;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int valid_date(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || s[4] != '-' ||
        s[7] != '-')
        return 0;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* Splits "HOST:PORT" / "[V6]:PORT"; host into h (size hn). Returns port or -1. */
static int split_addr(const char *s, char *h, size_t hn)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s)
        return -1;
    size_t hl = (size_t)(colon - s);
    const char *hs = s;
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']')
            return -1;
        hs++;
        hl -= 2;
    }
    if (hl >= hn)
        return -1;
    memcpy(h, hs, hl);
    h[hl] = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 1 || port > 65535)
        return -1;
    return (int)port;
}

static int addr_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (strcmp(host, "localhost") == 0)
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

typedef enum { PEM_CERT, PEM_KEY, PEM_CRL } pem_kind;

/* Checks that path holds at least one PEM object of the kind. Returns 0 or -1 (message in why). */
static int check_pem(const char *path, pem_kind kind, const char **why)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        *why = strerror(errno);
        return -1;
    }
    int ok = 0;
    if (kind == PEM_CERT) {
        X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
        ok = x != NULL;
        X509_free(x);
        *why = "no PEM certificate in it";
    } else if (kind == PEM_KEY) {
        EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        ok = k != NULL;
        EVP_PKEY_free(k);
        *why = "no PEM private key in it";
    } else {
        X509_CRL *crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
        ok = crl != NULL;
        X509_CRL_free(crl);
        *why = "no PEM CRL in it";
    }
    fclose(f);
    return ok ? 0 : -1;
}

/* ---- descriptor tables ---- */

typedef enum {
    F_STR,   /* any non-empty string */
    F_CODE6, /* GB/T 2260 code (char[8]) */
    F_ADDR,  /* HOST:PORT */
    F_REDIS, /* HOST:PORT or unix:PATH (path resolved) */
    F_INT,   /* int within [min,max] */
    F_SIZE,  /* size_t within [min,max] */
    F_U32,   /* uint32_t within [min,max] */
    F_BOOL,  /* int 0/1 */
    F_LOGLEVEL,
    F_CERT,    /* path to a PEM certificate */
    F_KEY,     /* path to a PEM private key */
    F_DIR,     /* path to a directory */
    F_FILE,    /* path to a readable file */
    F_STRV,    /* list of strings */
    F_CERTS,   /* list of PEM certificate paths */
    F_CRLS,    /* list of PEM CRL paths */
    F_OBJ,     /* nested mapping described by sub */
    F_SECTION, /* a module's section: sub, parsed into cfg->sections[section] */
    F_CUSTOM,  /* custom parser */
} ftype;

typedef struct field field;
typedef void (*custom_fn)(lctx *c, crgw_ynode *v, void *base);

struct field {
    const char *name;
    ftype type;
    int required;
    size_t off;
    long long min, max;
    const field *sub; /* F_OBJ, F_SECTION: its fields, terminated by name == NULL */
    custom_fn fn;     /* F_CUSTOM */
    size_t section;   /* F_SECTION: index of the module */
};

static void parse_fields(lctx *c, crgw_ynode *map, const field *fields, void *base,
                         const char *what);

static const char *scalar(lctx *c, crgw_ynode *v, const char *name)
{
    if (v->type != CRGW_Y_SCALAR) {
        err_at(c, v->line, "'%s' must be a scalar, not %s", name, crgw_yaml_type_name(v->type));
        return NULL;
    }
    return v->scalar;
}

static int parse_number(lctx *c, crgw_ynode *v, const field *f, long long *out)
{
    const char *s = scalar(c, v, f->name);
    if (s == NULL)
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v->quoted) {
        err_at(c, v->line, "'%s' must be an integer, got '%s'", f->name, s);
        return -1;
    }
    if (n < f->min || n > f->max) {
        err_at(c, v->line, "'%s' must be between %lld and %lld, got %lld", f->name, f->min, f->max,
               n);
        return -1;
    }
    *out = n;
    return 0;
}

static void parse_path_list(lctx *c, crgw_ynode *v, const field *f, crgw_strv *sv, int pem)
{
    if (v->type != CRGW_Y_SEQ) {
        err_at(c, v->line, "'%s' must be a list, not %s", f->name, crgw_yaml_type_name(v->type));
        return;
    }
    for (size_t i = 0; i < v->n; i++) {
        const char *s = scalar(c, v->kids[i], f->name);
        if (s == NULL)
            continue;
        if (pem < 0) {
            strv_push(sv, s);
            continue;
        }
        char *p = resolve_path(c, s);
        const char *why;
        if (check_pem(p, (pem_kind)pem, &why) != 0)
            err_at(c, v->kids[i]->line, "'%s': cannot use %s: %s", f->name, p, why);
        sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
        sv->v[sv->n++] = p;
    }
}

static void parse_scalar_field(lctx *c, crgw_ynode *v, const field *f, char *target);

static void parse_field(lctx *c, crgw_ynode *v, const field *f, void *base)
{
    char *target = (char *)base + f->off;
    long long n;
    switch (f->type) {
    case F_OBJ:
    case F_SECTION:
        if (v->type != CRGW_Y_MAP) {
            err_at(c, v->line, "'%s' must be a mapping, not %s", f->name,
                   crgw_yaml_type_name(v->type));
            return;
        }
        parse_fields(c, v, f->sub, f->type == F_SECTION ? c->cfg->sections[f->section] : base,
                     f->name);
        return;
    case F_CUSTOM:
        f->fn(c, v, target);
        return;
    case F_STRV:
        parse_path_list(c, v, f, (crgw_strv *)target, -1);
        return;
    case F_CERTS:
        parse_path_list(c, v, f, (crgw_strv *)target, PEM_CERT);
        return;
    case F_CRLS:
        parse_path_list(c, v, f, (crgw_strv *)target, PEM_CRL);
        return;
    case F_INT:
        if (parse_number(c, v, f, &n) == 0)
            *(int *)target = (int)n;
        return;
    case F_SIZE:
        if (parse_number(c, v, f, &n) == 0)
            *(size_t *)target = (size_t)n;
        return;
    case F_U32:
        if (parse_number(c, v, f, &n) == 0)
            *(uint32_t *)target = (uint32_t)n;
        return;
    case F_REDIS:
        if (v->type == CRGW_Y_MAP) { /* the Sentinel set */
            char why[256];
            int line = v->line;
            char *a = crgw_redis_target_from_yaml(v, &line, why, sizeof(why));
            if (a == NULL)
                err_at(c, line, "%s", why);
            free(*(char **)target);
            *(char **)target = a ? a : xstrdup("sentinel:?");
            return;
        }
        parse_scalar_field(c, v, f, target);
        return;
    default:
        parse_scalar_field(c, v, f, target);
        return;
    }
}

/* A field whose value is one non-empty scalar: strings, codes, addresses, paths, booleans. */
static void parse_scalar_field(lctx *c, crgw_ynode *v, const field *f, char *target)
{
    const char *s = scalar(c, v, f->name);
    if (s == NULL)
        return;
    if (*s == '\0') {
        err_at(c, v->line, "'%s' must not be empty", f->name);
        return;
    }
    char **sp = (char **)target;
    char host[256];
    const char *why;
    switch (f->type) {
    case F_STR:
        free(*sp);
        *sp = xstrdup(s);
        break;
    case F_CODE6:
        if (!crgw_is_node_code(s))
            err_at(c, v->line, "'%s' must be a 6-digit GB/T 2260 code, got '%s'", f->name, s);
        else
            snprintf(target, 8, "%s", s);
        break;
    case F_ADDR:
        if (split_addr(s, host, sizeof(host)) < 0)
            err_at(c, v->line, "'%s' must be HOST:PORT, got '%s'", f->name, s);
        free(*sp);
        *sp = xstrdup(s);
        break;
    case F_REDIS:
        free(*sp);
        if (crgw_redis_is_sentinel(s)) {
            crgw_redis_target t;
            char why2[256];
            if (crgw_redis_target_parse(s, &t, why2, sizeof(why2)) != 0)
                err_at(c, v->line, "'%s': %s", f->name, why2);
            *sp = xstrdup(s);
        } else if (strncmp(s, "unix:", 5) == 0) {
            if (s[5] == '\0') {
                err_at(c, v->line, "'%s': unix: needs a socket path", f->name);
                *sp = xstrdup(s);
                break;
            }
            char *p = resolve_path(c, s + 5);
            crgw_buf b;
            crgw_buf_init(&b, PATH_MAX * 2);
            crgw_buf_printf(&b, "unix:%s", p);
            free(p);
            *sp = crgw_buf_take(&b, NULL);
        } else {
            if (split_addr(s, host, sizeof(host)) < 0)
                err_at(c, v->line, "'%s' must be HOST:PORT or unix:PATH, got '%s'", f->name, s);
            *sp = xstrdup(s);
        }
        break;
    case F_BOOL:
        if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0)
            *(int *)target = 1;
        else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
            *(int *)target = 0;
        else
            err_at(c, v->line, "'%s' must be true or false, got '%s'", f->name, s);
        break;
    case F_LOGLEVEL:
        if (strcmp(s, "error") && strcmp(s, "warn") && strcmp(s, "info") && strcmp(s, "debug"))
            err_at(c, v->line, "'%s' must be error, warn, info or debug, got '%s'", f->name, s);
        free(*sp);
        *sp = xstrdup(s);
        break;
    case F_CERT:
    case F_KEY:
    case F_FILE:
    case F_DIR:
        free(*sp);
        *sp = resolve_path(c, s);
        if (f->type == F_DIR) {
            if (access(*sp, R_OK | X_OK) != 0)
                err_at(c, v->line, "'%s': cannot use directory %s: %s", f->name, *sp,
                       strerror(errno));
        } else if (f->type == F_FILE) {
            if (access(*sp, R_OK) != 0)
                err_at(c, v->line, "'%s': cannot read %s: %s", f->name, *sp, strerror(errno));
        } else if (check_pem(*sp, f->type == F_CERT ? PEM_CERT : PEM_KEY, &why) != 0) {
            err_at(c, v->line, "'%s': cannot use %s: %s", f->name, *sp, why);
        }
        break;
    default:
        break;
    }
}

static void parse_fields(lctx *c, crgw_ynode *map, const field *fields, void *base,
                         const char *what)
{
    for (size_t i = 0; i < map->n; i++) {
        const field *f = fields;
        while (f->name && strcmp(f->name, map->keys[i]) != 0)
            f++;
        if (f->name == NULL) {
            err_at(c, map->key_lines[i], "unknown key '%s' in %s", map->keys[i], what);
            continue;
        }
        if (f->type == F_SECTION)
            c->cfg->section_lines[f->section] = map->key_lines[i];
        parse_field(c, map->kids[i], f, base);
    }
    for (const field *f = fields; f->name; f++)
        if (f->required && crgw_yaml_get(map, f->name) == NULL)
            err_at(c, map->line, "missing required key '%s' in %s", f->name, what);
}

/* ---- lists of structures ---- */

static crgw_ynode *expect_seq(lctx *c, crgw_ynode *v, const char *name)
{
    if (v->type != CRGW_Y_SEQ) {
        err_at(c, v->line, "'%s' must be a list, not %s", name, crgw_yaml_type_name(v->type));
        return NULL;
    }
    return v;
}

static void parse_roles(lctx *c, crgw_ynode *v, void *target)
{
    unsigned *roles = target;
    if (expect_seq(c, v, "roles") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const char *s = scalar(c, v->kids[i], "roles");
        if (s == NULL)
            continue;
        unsigned r = crgw_role_from_name(s);
        if (r == 0)
            err_at(c, v->kids[i]->line,
                   "unknown role '%s' (verifier, repair_desk, platform, operator)", s);
        *roles |= r;
    }
}

static const field client_fields[] = {
    {.name = "uri", .type = F_STR, .required = 1, .off = offsetof(crgw_client, uri)},
    {.name = "roles",
     .type = F_CUSTOM,
     .required = 1,
     .off = offsetof(crgw_client, roles),
     .fn = parse_roles},
    {0},
};

static void parse_clients(lctx *c, crgw_ynode *v, void *target)
{
    (void)target;
    crgw_config *cfg = c->cfg;
    if (expect_seq(c, v, "clients") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        crgw_ynode *item = v->kids[i];
        if (item->type != CRGW_Y_MAP) {
            err_at(c, item->line, "a client must be a mapping with uri and roles");
            continue;
        }
        crgw_client cl = {0};
        parse_fields(c, item, client_fields, &cl, "client");
        if (cl.uri == NULL) {
            continue;
        }
        for (size_t j = 0; j < cfg->n_clients; j++) {
            if (strcmp(cfg->clients[j].uri, cl.uri) == 0) {
                err_at(c, item->line, "duplicate client '%s'", cl.uri);
                break;
            }
        }
        cfg->clients = xrealloc(cfg->clients, (cfg->n_clients + 1) * sizeof(*cfg->clients));
        cfg->clients[cfg->n_clients++] = cl;
    }
}

static const char *const known_algorithms[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                               "PS512", "ES256", "ES384", "EdDSA", "SM2-SM3"};

static void check_url(lctx *c, int line, const char *url)
{
    char host[256];
    if (strncmp(url, "https://", 8) != 0) {
        err_at(c, line, "'url' must start with https://, got '%s'", url);
        return;
    }
    char hp[300];
    snprintf(hp, sizeof(hp), "%s", url + 8);
    char *slash = strchr(hp, '/');
    if (slash)
        *slash = '\0';
    if (split_addr(hp, host, sizeof(host)) < 0)
        err_at(c, line, "'url' must be https://HOST:PORT, got '%s'", url);
}

/* url: "https://HOST:PORT" or a list of them (the hosts of one node, tried in order). */
static void parse_node_urls(lctx *c, crgw_ynode *v, void *base)
{
    crgw_node *nd = base;
    if (v->type == CRGW_Y_SEQ && v->n == 0) {
        err_at(c, v->line, "'url' must name at least one https://HOST:PORT");
        return;
    }
    if (v->type == CRGW_Y_SEQ && v->n > CRGW_NODE_MAX_URLS) {
        err_at(c, v->line, "'url' lists %zu addresses, at most %d", v->n, CRGW_NODE_MAX_URLS);
        return;
    }
    size_t n = v->type == CRGW_Y_SEQ ? v->n : 1;
    for (size_t i = 0; i < n; i++) {
        crgw_ynode *item = v->type == CRGW_Y_SEQ ? v->kids[i] : v;
        const char *s = scalar(c, item, "url");
        if (s == NULL)
            continue;
        check_url(c, item->line, s);
        for (size_t j = 0; j < nd->urls.n; j++)
            if (strcmp(nd->urls.v[j], s) == 0)
                err_at(c, item->line, "'url' lists %s twice", s);
        strv_push(&nd->urls, s);
    }
    if (nd->urls.n && nd->url == NULL)
        nd->url = xstrdup(nd->urls.v[0]);
}

static const field fed_node_fields[] = {
    {.name = "code", .type = F_CODE6, .required = 1, .off = offsetof(crgw_node, code)},
    {.name = "name", .type = F_STR, .required = 1, .off = offsetof(crgw_node, name)},
    {.name = "platform", .type = F_STR, .off = offsetof(crgw_node, platform)},
    {.name = "url", .type = F_CUSTOM, .required = 1, .fn = parse_node_urls},
    {.name = "dialect", .type = F_STR, .required = 1, .off = offsetof(crgw_node, dialect)},
    {.name = "anchors", .type = F_CERTS, .required = 1, .off = offsetof(crgw_node, anchors)},
    {.name = "crls", .type = F_CRLS, .off = offsetof(crgw_node, crls)},
    {.name = "algorithms", .type = F_STRV, .off = offsetof(crgw_node, algorithms)},
    {.name = "tls_uri", .type = F_STR, .off = offsetof(crgw_node, tls_uri)},
    {0},
};

static void parse_nodes(lctx *c, crgw_ynode *v, void *target)
{
    (void)target;
    crgw_config *cfg = c->cfg;
    if (expect_seq(c, v, "nodes") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        crgw_ynode *item = v->kids[i];
        if (item->type != CRGW_Y_MAP) {
            err_at(c, item->line, "a node must be a mapping");
            continue;
        }
        crgw_node nd = {.line = item->line};
        parse_fields(c, item, fed_node_fields, &nd, "node");
        for (size_t k = 0; k < nd.algorithms.n; k++) {
            int known = 0;
            for (size_t a = 0; a < CRGW_ARRAY_LEN(known_algorithms); a++)
                known |= strcmp(nd.algorithms.v[k], known_algorithms[a]) == 0;
            if (!known)
                err_at(c, crgw_yaml_get(item, "algorithms")->line,
                       "unknown signature algorithm '%s'", nd.algorithms.v[k]);
        }
        if (nd.code[0]) {
            for (size_t j = 0; j < cfg->n_nodes; j++) {
                if (strcmp(cfg->nodes[j].code, nd.code) == 0) {
                    err_at(c, item->line, "duplicate node %s (first defined at line %d)", nd.code,
                           cfg->nodes[j].line);
                    break;
                }
            }
            if (nd.tls_uri == NULL) {
                crgw_buf b;
                crgw_buf_init(&b, 64);
                crgw_buf_printf(&b, "urn:crgw:node:%s", nd.code);
                nd.tls_uri = crgw_buf_take(&b, NULL);
            }
        }
        cfg->nodes = xrealloc(cfg->nodes, (cfg->n_nodes + 1) * sizeof(*cfg->nodes));
        cfg->nodes[cfg->n_nodes++] = nd;
    }
}

static void parse_kinds(lctx *c, crgw_ynode *v, void *target)
{
    unsigned *kinds = target;
    if (expect_seq(c, v, "kinds") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        const char *s = scalar(c, v->kids[i], "kinds");
        if (s == NULL)
            continue;
        if (strcmp(s, "special_credit_report") == 0)
            *kinds |= CRGW_KIND_SPECIAL;
        else if (strcmp(s, "public_credit_report") == 0)
            *kinds |= CRGW_KIND_PUBLIC;
        else
            err_at(c, v->kids[i]->line,
                   "unknown report kind '%s' (special_credit_report, public_credit_report)", s);
    }
}

static void parse_scenarios(lctx *c, crgw_ynode *v, void *target)
{
    crgw_agreement *ag = (crgw_agreement *)((char *)target - offsetof(crgw_agreement, scenarios));
    if (expect_seq(c, v, "scenarios") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        crgw_ynode *it = v->kids[i];
        crgw_scenario sc = {0};
        if (it->type == CRGW_Y_SCALAR) {
            sc.name = xstrdup(it->scalar);
        } else if (it->type == CRGW_Y_MAP) {
            crgw_ynode *name = crgw_yaml_get(it, "name");
            crgw_ynode *since = crgw_yaml_get(it, "since");
            for (size_t k = 0; k < it->n; k++)
                if (strcmp(it->keys[k], "name") && strcmp(it->keys[k], "since"))
                    err_at(c, it->key_lines[k], "unknown key '%s' in scenario", it->keys[k]);
            if (name == NULL || name->type != CRGW_Y_SCALAR) {
                err_at(c, it->line, "a scenario needs a name");
                continue;
            }
            sc.name = xstrdup(name->scalar);
            if (since) {
                if (since->type != CRGW_Y_SCALAR || !valid_date(since->scalar))
                    err_at(c, since->line, "'since' must be a date YYYY-MM-DD, got '%s'",
                           since->type == CRGW_Y_SCALAR ? since->scalar : "?");
                else
                    snprintf(sc.since, sizeof(sc.since), "%s", since->scalar);
            }
        } else {
            err_at(c, it->line, "a scenario is a name or {name, since}");
            continue;
        }
        ag->scenarios = xrealloc(ag->scenarios, (ag->n_scenarios + 1) * sizeof(*ag->scenarios));
        ag->scenarios[ag->n_scenarios++] = sc;
    }
}

static const field agreement_fields[] = {
    {.name = "id", .type = F_STR, .required = 1, .off = offsetof(crgw_agreement, id)},
    {.name = "members", .type = F_STRV, .required = 1, .off = offsetof(crgw_agreement, members)},
    {.name = "kinds", .type = F_CUSTOM, .off = offsetof(crgw_agreement, kinds), .fn = parse_kinds},
    {.name = "scenarios",
     .type = F_CUSTOM,
     .off = offsetof(crgw_agreement, scenarios),
     .fn = parse_scenarios},
    {.name = "max_age_days",
     .type = F_INT,
     .off = offsetof(crgw_agreement, max_age_days),
     .min = 0,
     .max = 3650},
    {.name = "require_coverage", .type = F_STRV, .off = offsetof(crgw_agreement, require_coverage)},
    {.name = "repair_domains", .type = F_STRV, .off = offsetof(crgw_agreement, repair_domains)},
    {0},
};

static void parse_agreements(lctx *c, crgw_ynode *v, void *target)
{
    (void)target;
    crgw_config *cfg = c->cfg;
    if (expect_seq(c, v, "agreements") == NULL)
        return;
    for (size_t i = 0; i < v->n; i++) {
        crgw_ynode *item = v->kids[i];
        if (item->type != CRGW_Y_MAP) {
            err_at(c, item->line, "an agreement must be a mapping");
            continue;
        }
        crgw_agreement ag = {.line = item->line};
        parse_fields(c, item, agreement_fields, &ag, "agreement");
        crgw_ynode *cov = crgw_yaml_get(item, "require_coverage");
        for (size_t k = 0; k < ag.require_coverage.n; k++)
            if (!crgw_canon_codes_is_record_kind(ag.require_coverage.v[k]))
                err_at(c, cov->line, "unknown record kind '%s' in require_coverage",
                       ag.require_coverage.v[k]);
        crgw_ynode *dom = crgw_yaml_get(item, "repair_domains");
        for (size_t k = 0; k < ag.repair_domains.n; k++)
            if (!crgw_canon_codes_is_domain(ag.repair_domains.v[k]))
                err_at(c, dom->line, "unknown domain '%s' in repair_domains",
                       ag.repair_domains.v[k]);
        if (ag.kinds == 0 && ag.repair_domains.n == 0 && ag.id)
            err_at(c, item->line,
                   "agreement '%s' recognises no report kind and shares no "
                   "repair domain",
                   ag.id);
        if (ag.kinds != 0 && ag.n_scenarios == 0 && ag.id)
            err_at(c, item->line,
                   "agreement '%s' recognises reports but names no scenario "
                   "(use '*' for every scenario)",
                   ag.id);
        if (ag.members.n < 2 && ag.id)
            err_at(c, item->line, "agreement '%s' needs at least two members", ag.id);
        for (size_t j = 0; ag.id && j < cfg->n_agreements; j++)
            if (strcmp(cfg->agreements[j].id, ag.id) == 0)
                err_at(c, item->line, "duplicate agreement '%s' (first at line %d)", ag.id,
                       cfg->agreements[j].line);
        cfg->agreements =
            xrealloc(cfg->agreements, (cfg->n_agreements + 1) * sizeof(*cfg->agreements));
        cfg->agreements[cfg->n_agreements++] = ag;
    }
}

static void parse_federation_name(lctx *c, crgw_ynode *v, void *target)
{
    (void)target;
    scalar(c, v, "federation");
}

static const field federation_fields[] = {
    {.name = "federation", .type = F_CUSTOM, .fn = parse_federation_name},
    {.name = "nodes", .type = F_CUSTOM, .required = 1, .fn = parse_nodes},
    {.name = "agreements", .type = F_CUSTOM, .fn = parse_agreements},
    {0},
};

static void load_federation(lctx *c, crgw_ynode *v, void *target)
{
    (void)target;
    const char *s = scalar(c, v, "federation");
    if (s == NULL)
        return;
    crgw_config *cfg = c->cfg;
    free(cfg->federation_path);
    cfg->federation_path = resolve_path(c, s);
    char err[512];
    crgw_ynode *root = NULL;
    int rc = crgw_yaml_load(cfg->federation_path, CONFIG_FILE_LIMIT, &root, err, sizeof(err));
    if (rc == CRGW_ERR_IO) {
        err_at(c, v->line, "cannot read federation file %s: %s", cfg->federation_path, err + 8);
        return;
    }
    if (rc != 0) {
        crgw_errs_add(c->errs, "%s:%s", cfg->federation_path, err + 5); /* "line N: m" */
        return;
    }
    c->fed_loaded = 1;
    lctx sub = *c;
    set_file(&sub, cfg->federation_path);
    if (root->type != CRGW_Y_MAP) {
        err_at(&sub, root->line, "the federation file must be a mapping");
    } else {
        parse_fields(&sub, root, federation_fields, cfg, "the federation file");
    }
    crgw_yaml_free(root);
}

static const field node_identity_fields[] = {
    {.name = "code", .type = F_CODE6, .required = 1, .off = offsetof(crgw_config, node)},
    {.name = "name", .type = F_STR, .required = 1, .off = offsetof(crgw_config, node_name)},
    {0},
};

static const field tls_fields[] = {
    {.name = "cert", .type = F_CERT, .required = 1, .off = offsetof(crgw_config, tls_cert)},
    {.name = "key", .type = F_KEY, .required = 1, .off = offsetof(crgw_config, tls_key)},
    {.name = "client_ca", .type = F_CERT, .required = 1, .off = offsetof(crgw_config, client_ca)},
    {0},
};

#define LIM(f) offsetof(crgw_config, limits) + offsetof(crgw_limits, f)
static const field limits_fields[] = {
    {.name = "max_body", .type = F_SIZE, .off = LIM(max_body), .min = 1024, .max = 1LL << 30},
    {.name = "max_header_list",
     .type = F_SIZE,
     .off = LIM(max_header_list),
     .min = 1024,
     .max = 1 << 20},
    {.name = "max_streams", .type = F_U32, .off = LIM(max_streams), .min = 1, .max = 10000},
    {.name = "idle_timeout_ms",
     .type = F_INT,
     .off = LIM(idle_timeout_ms),
     .min = 100,
     .max = 86400000},
    {.name = "request_timeout_ms",
     .type = F_INT,
     .off = LIM(request_timeout_ms),
     .min = 100,
     .max = 3600000},
    {.name = "drain_timeout_ms",
     .type = F_INT,
     .off = LIM(drain_timeout_ms),
     .min = 0,
     .max = 3600000},
    {.name = "redis_timeout_ms",
     .type = F_INT,
     .off = LIM(redis_timeout_ms),
     .min = 10,
     .max = 60000},
    {.name = "max_doc_depth", .type = F_INT, .off = LIM(max_doc_depth), .min = 8, .max = 1024},
    {.name = "max_buffered_per_conn",
     .type = F_SIZE,
     .off = LIM(max_buffered_per_conn),
     .min = 64 * 1024,
     .max = 1LL << 40},
    {.name = "max_buffered_total",
     .type = F_SIZE,
     .off = LIM(max_buffered_total),
     .min = 1024 * 1024,
     .max = 1LL << 44},
    {.name = "max_header_bytes_per_s",
     .type = F_SIZE,
     .off = LIM(max_header_bytes_per_s),
     .min = 64 * 1024,
     .max = 1LL << 32},
    {.name = "send_timeout_ms",
     .type = F_INT,
     .off = LIM(send_timeout_ms),
     .min = 100,
     .max = 3600000},
    {0},
};

static const field top_fields[] = {
    {.name = "node", .type = F_OBJ, .required = 1, .sub = node_identity_fields},
    {.name = "federation", .type = F_CUSTOM, .required = 1, .fn = load_federation},
    {.name = "listen", .type = F_ADDR, .off = offsetof(crgw_config, listen)},
    {.name = "h2c", .type = F_ADDR, .off = offsetof(crgw_config, h2c)},
    {.name = "redis", .type = F_REDIS, .required = 1, .off = offsetof(crgw_config, redis)},
    {.name = "workers", .type = F_INT, .off = offsetof(crgw_config, workers), .min = 1, .max = 256},
    {.name = "log_level", .type = F_LOGLEVEL, .off = offsetof(crgw_config, log_level)},
    {.name = "tls", .type = F_OBJ, .sub = tls_fields},
    {.name = "adapters", .type = F_DIR, .off = offsetof(crgw_config, adapters_dir)},
    {.name = "uscc_legacy", .type = F_STRV, .off = offsetof(crgw_config, uscc_legacy)},
    {.name = "limits", .type = F_OBJ, .sub = limits_fields},
    {.name = "clients", .type = F_CUSTOM, .fn = parse_clients},
    {0},
};

/* ---- module sections ---- */

#define N_TOP (CRGW_ARRAY_LEN(top_fields) - 1)
#define MAX_MODULES 16

/* The row type of a module descriptor (module.h) in the loader's own vocabulary. */
static ftype section_type(crgw_conf_type t)
{
    switch (t) {
    case CRGW_CONF_INT:
        return F_INT;
    case CRGW_CONF_SIZE:
        return F_SIZE;
    case CRGW_CONF_BOOL:
        return F_BOOL;
    case CRGW_CONF_STR:
        return F_STR;
    case CRGW_CONF_FILE:
        return F_FILE;
    }
    return F_STR;
}

/* Fills a module's section with its defaults. */
static void section_defaults(const crgw_module *m, void *sec)
{
    for (const crgw_conf_field *d = m->fields; d && d->name; d++) {
        char *t = (char *)sec + d->off;
        switch (d->type) {
        case CRGW_CONF_INT:
        case CRGW_CONF_BOOL:
            *(int *)t = (int)d->def;
            break;
        case CRGW_CONF_SIZE:
            *(size_t *)t = (size_t)d->def;
            break;
        case CRGW_CONF_STR:
        case CRGW_CONF_FILE:
            *(char **)t = d->def_str ? xstrdup(d->def_str) : NULL;
            break;
        }
    }
}

static void sections_free(crgw_config *cfg)
{
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const crgw_module *m = cfg->mods[i];
        for (const crgw_conf_field *d = m->fields; d && d->name && cfg->sections[i]; d++)
            if (d->type == CRGW_CONF_STR || d->type == CRGW_CONF_FILE)
                free(*(char **)((char *)cfg->sections[i] + d->off));
        free(cfg->sections[i]);
    }
    free(cfg->sections);
    free(cfg->section_lines);
}

/*
 * The top-level rows of this load: the node file's own, then one F_SECTION per module with a
 * section (rows converted into sub, which the caller frees). A section name that collides with
 * a key of the node file or of another module is an error of the module list.
 */
static field *top_rows(lctx *c, field **subs)
{
    crgw_config *cfg = c->cfg;
    field *rows = xcalloc(N_TOP + MAX_MODULES + 1, sizeof(*rows));
    memcpy(rows, top_fields, N_TOP * sizeof(*rows));
    size_t n = N_TOP;
    for (size_t i = 0; i < cfg->n_sections; i++) {
        const crgw_module *m = cfg->mods[i];
        cfg->sections[i] = xcalloc(1, m->conf_size ? m->conf_size : 1);
        section_defaults(m, cfg->sections[i]);
        if (m->section == NULL)
            continue;
        for (size_t k = 0; k < n; k++)
            crgw_assert(strcmp(rows[k].name, m->section) != 0); /* module list bug */
        size_t nf = 0;
        while (m->fields && m->fields[nf].name)
            nf++;
        field *sub = xcalloc(nf + 1, sizeof(*sub));
        for (size_t k = 0; k < nf; k++) {
            const crgw_conf_field *d = &m->fields[k];
            sub[k] = (field){.name = d->name,
                             .type = section_type(d->type),
                             .off = d->off,
                             .min = d->min,
                             .max = d->max};
        }
        subs[i] = sub;
        rows[n++] = (field){.name = m->section, .type = F_SECTION, .sub = sub, .section = i};
    }
    return rows;
}

static void set_defaults(crgw_config *cfg)
{
    cfg->refs = 1;
    cfg->workers = 1;
    cfg->limits.max_body = 4u << 20;
    cfg->limits.max_header_list = 16384;
    cfg->limits.max_streams = 100;
    cfg->limits.idle_timeout_ms = 60000;
    cfg->limits.request_timeout_ms = 10000;
    cfg->limits.drain_timeout_ms = 10000;
    cfg->limits.redis_timeout_ms = 1000;
    cfg->limits.max_doc_depth = 64;
    cfg->limits.max_buffered_per_conn = 64u << 20;
    cfg->limits.max_buffered_total = (size_t)8 << 30;
    cfg->limits.max_header_bytes_per_s = 16u << 20;
    cfg->limits.send_timeout_ms = 30000;
}

/* Cross-references, once everything is read. */
static void validate(lctx *c, crgw_ynode *root)
{
    crgw_config *cfg = c->cfg;
    int node_line = root->line;
    crgw_ynode *nv = crgw_yaml_get(root, "node");
    if (nv)
        node_line = nv->line;
    if (cfg->node[0] && c->fed_loaded && crgw_config_self(cfg) == NULL)
        err_at(c, node_line, "node %s is not a node of the federation file %s", cfg->node,
               cfg->federation_path);
    crgw_ynode *h2c = crgw_yaml_get(root, "h2c");
    char host[256];
    if (cfg->h2c && split_addr(cfg->h2c, host, sizeof(host)) > 0 && !addr_is_loopback(host))
        err_at(c, h2c->line, "'h2c' must bind a loopback address (127.0.0.0/8, ::1), got '%s'",
               cfg->h2c);
    if (cfg->listen && cfg->tls_cert == NULL)
        err_at(c, crgw_yaml_get(root, "listen")->line, "'listen' (TLS) needs a 'tls' section");
    if (cfg->listen == NULL && cfg->h2c == NULL)
        err_at(c, root->line, "no listener: set 'listen' (TLS) and/or 'h2c'");
    for (size_t i = 0; i < cfg->n_clients; i++) {
        if (strncmp(cfg->clients[i].uri, "urn:crgw:node:", 14) == 0)
            err_at(c, crgw_yaml_get(root, "clients")->line,
                   "client '%s' uses a node identity; peers are recognised from the federation",
                   cfg->clients[i].uri);
    }
    /* the federation file's own cross references, reported against that file */
    if (!c->fed_loaded)
        return;
    lctx f = *c;
    set_file(&f, cfg->federation_path);
    for (size_t i = 0; i < cfg->n_agreements; i++) {
        crgw_agreement *ag = &cfg->agreements[i];
        for (size_t k = 0; k < ag->members.n; k++) {
            if (crgw_config_node(cfg, ag->members.v[k]) == NULL)
                err_at(&f, ag->line, "agreement '%s' names unknown node '%s'",
                       ag->id ? ag->id : "?", ag->members.v[k]);
            for (size_t j = 0; j < k; j++)
                if (strcmp(ag->members.v[j], ag->members.v[k]) == 0)
                    err_at(&f, ag->line, "agreement '%s' lists node %s twice",
                           ag->id ? ag->id : "?", ag->members.v[k]);
        }
    }
    if (cfg->adapters_dir) {
        for (size_t i = 0; i < cfg->n_nodes; i++) {
            const crgw_node *n = &cfg->nodes[i];
            if (n->dialect == NULL)
                continue;
            crgw_buf b;
            crgw_buf_init(&b, PATH_MAX * 2);
            crgw_buf_printf(&b, "%s/%s.yaml", cfg->adapters_dir, n->dialect);
            char *p = crgw_buf_take(&b, NULL);
            if (access(p, R_OK) != 0)
                err_at(&f, n->line, "node %s: no adapter for dialect '%s' (%s)", n->code,
                       n->dialect, p);
            free(p);
        }
    }
}

static void config_free(crgw_config *cfg)
{
    if (cfg == NULL)
        return;
    char *owned[] = {cfg->path,      cfg->federation_path, cfg->node_name,
                     cfg->log_level, cfg->listen,          cfg->h2c,
                     cfg->redis,     cfg->tls_cert,        cfg->tls_key,
                     cfg->client_ca, cfg->adapters_dir};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(owned); i++)
        free(owned[i]);
    strv_cleanup(&cfg->uscc_legacy);
    sections_free(cfg);
    for (size_t i = 0; i < cfg->n_clients; i++)
        free(cfg->clients[i].uri);
    free(cfg->clients);
    for (size_t i = 0; i < cfg->n_nodes; i++) {
        crgw_node *n = &cfg->nodes[i];
        free(n->name);
        free(n->platform);
        free(n->url);
        strv_cleanup(&n->urls);
        free(n->dialect);
        free(n->tls_uri);
        strv_cleanup(&n->anchors);
        strv_cleanup(&n->crls);
        strv_cleanup(&n->algorithms);
    }
    free(cfg->nodes);
    for (size_t i = 0; i < cfg->n_agreements; i++) {
        crgw_agreement *a = &cfg->agreements[i];
        free(a->id);
        strv_cleanup(&a->members);
        for (size_t k = 0; k < a->n_scenarios; k++)
            free(a->scenarios[k].name);
        free(a->scenarios);
        strv_cleanup(&a->require_coverage);
        strv_cleanup(&a->repair_domains);
    }
    free(cfg->agreements);
    free(cfg);
}

int crgw_config_load(const char *path, const crgw_module *const *mods, crgw_config **out,
                     crgw_errs *errs)
{
    return crgw_config_load_set(path, mods, NULL, out, errs);
}

/* Applies the overrides to the tree just read; adds one error per malformed override. */
static void apply_sets(lctx *c, crgw_ynode *root, const char *const *sets)
{
    for (size_t i = 0; sets && sets[i]; i++) {
        const char *eq = strchr(sets[i], '=');
        char *key = eq ? xstrndup(sets[i], (size_t)(eq - sets[i])) : NULL;
        if (!key || crgw_yaml_set(root, key, eq + 1) != 0)
            err_at(c, 0, "override '%s': want SECTION.KEY=VALUE on a mapping section", sets[i]);
        free(key);
    }
}

int crgw_config_load_set(const char *path, const crgw_module *const *mods, const char *const *sets,
                         crgw_config **out, crgw_errs *errs)
{
    crgw_config *cfg = xcalloc(1, sizeof(*cfg));
    set_defaults(cfg);
    cfg->path = xstrdup(path);
    cfg->mods = mods;
    while (mods && mods[cfg->n_sections])
        cfg->n_sections++;
    crgw_assert(cfg->n_sections <= MAX_MODULES);
    cfg->sections = xcalloc(cfg->n_sections + 1, sizeof(*cfg->sections));
    cfg->section_lines = xcalloc(cfg->n_sections + 1, sizeof(*cfg->section_lines));
    lctx c = {.cfg = cfg, .errs = errs, .n_before = errs->n};
    set_file(&c, path);
    char err[512];
    crgw_ynode *root = NULL;
    if (crgw_yaml_load(path, CONFIG_FILE_LIMIT, &root, err, sizeof(err)) != 0) {
        crgw_errs_add(errs, "%s:%s", path, err + 5); /* "line N: msg" -> "N: msg" */
        config_free(cfg);
        return CRGW_ERR_INVALID;
    }
    if (root->type != CRGW_Y_MAP) {
        err_at(&c, root->line, "the configuration must be a mapping");
    } else {
        apply_sets(&c, root, sets);
        /* the federation file first, so that node references resolve */
        field *subs[MAX_MODULES] = {0};
        field *rows = top_rows(&c, subs);
        parse_fields(&c, root, rows, cfg, "the node file");
        free(rows);
        for (size_t i = 0; i < cfg->n_sections; i++)
            free(subs[i]);
        if (cfg->adapters_dir == NULL) {
            /* default: the adapters directory of the source tree the config lives in */
            char *guess = resolve_path(&c, "../../adapters");
            if (access(guess, R_OK | X_OK) == 0)
                cfg->adapters_dir = guess;
            else
                free(guess);
        }
        validate(&c, root);
    }
    crgw_yaml_free(root);
    if (errs->n > c.n_before) {
        config_free(cfg);
        return CRGW_ERR_INVALID;
    }
    if (cfg->log_level == NULL)
        cfg->log_level = xstrdup("info");
    *out = cfg;
    return 0;
}

crgw_config *crgw_config_ref(crgw_config *c)
{
    c->refs++;
    return c;
}

void crgw_config_unref(crgw_config *c)
{
    if (c && --c->refs == 0)
        config_free(c);
}
