/*
 * config: the node and federation configuration (YAML), immutable after load.
 *
 * A node file (config/test/node-120000.yaml) names the node, its listeners, Redis, limits, local
 * clients, and includes one federation file (nodes with their trust material, agreements) shared
 * by every node of the federation. Relative paths are resolved against the directory of the file
 * that holds them, and stored absolute (or as given when already absolute).
 *
 * Reload replaces the whole object: callers hold a pointer for the duration of one request at
 * most (the server keeps a refcount, see crgw_config_ref/unref).
 */
#ifndef CRGW_CONFIG_H
#define CRGW_CONFIG_H

#include "gateway/core/err.h"

#include <stddef.h>
#include <stdint.h>

/* Roles of local clients (bit set) and of peer nodes. */
enum {
    CRGW_ROLE_VERIFIER = 1u << 0,
    CRGW_ROLE_REPAIR_DESK = 1u << 1,
    CRGW_ROLE_PLATFORM = 1u << 2,
    CRGW_ROLE_OPERATOR = 1u << 3,
    CRGW_ROLE_PEER = 1u << 4, /* a federation certificate naming a configured node */
};

/* Returns the role bit of a name ("verifier", ...), or 0 when unknown. */
unsigned crgw_role_from_name(const char *name);
/* Returns the name of a single role bit, "peer" for CRGW_ROLE_PEER, "none" otherwise. */
const char *crgw_role_name(unsigned role);

/* A list of strings. */
typedef struct {
    char **v;
    size_t n;
} crgw_strv;

int crgw_strv_contains(const crgw_strv *sv, const char *s);

/* Error messages "file:line: message", in the order found. */
typedef struct crgw_errs {
    char **v;
    size_t n;
    size_t cap;
} crgw_errs;

void crgw_errs_add(crgw_errs *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void crgw_errs_cleanup(crgw_errs *e);

typedef struct {
    char *uri; /* certificate SAN URI, e.g. urn:crgw:client:120000:verifier */
    unsigned roles;
} crgw_client;

#define CRGW_NODE_MAX_URLS 8 /* addresses (hosts) of one node */

/* One node of the federation (this node included). */
typedef struct {
    char code[8];         /* GB/T 2260 division code, 6 digits */
    char *name;           /* e.g. 天津 Tianjin */
    char *platform;       /* credit platform name (issuer authority in its reports) */
    char *url;            /* https://127.0.0.1:18120 : federation endpoint (TLS); the first
                             of urls */
    crgw_strv urls;       /* every address of the node (`url` may be a list: several hosts of
                             one node); peers fail over between them in order */
    char *dialect;        /* jjj-xml, csj-xml, cy-json, gba-json, or another adapter's name */
    crgw_strv anchors;    /* PEM files: trust anchors for reports this node issues */
    crgw_strv crls;       /* PEM files: CRLs of those anchors */
    crgw_strv algorithms; /* allowed signature algorithms (JWS names: RS256 PS256 ES256 ES384
                             EdDSA SM2-SM3 ...); empty = the default allow-list */
    char *tls_uri;        /* federation TLS identity (SAN URI), default urn:crgw:node:<code> */
    int line;             /* line of its definition in the federation file */
} crgw_node;

typedef struct {
    char *name;     /* "tender", ... or "*" for every scenario */
    char since[11]; /* YYYY-MM-DD: phase start; "" = always */
} crgw_scenario;

enum {
    CRGW_KIND_SPECIAL = 1u << 0, /* special_credit_report */
    CRGW_KIND_PUBLIC = 1u << 1,  /* public_credit_report */
};

typedef struct {
    char *id;
    crgw_strv members; /* node codes */
    unsigned kinds;    /* CRGW_KIND_* bits; 0 for a repair-only agreement */
    crgw_scenario *scenarios;
    size_t n_scenarios;
    int max_age_days;           /* 0 = no limit */
    crgw_strv require_coverage; /* canonical record kinds the report must cover, e.g.
                                   administrative_penalty, administrative_compulsory_measure,
                                   serious_dishonesty_list, criminal_judgment */
    crgw_strv repair_domains;   /* canonical domains whose repairs are shared, e.g. transport */
    int line;
} crgw_agreement;

typedef struct {
    size_t max_body;               /* bytes, default 4 MiB */
    size_t max_header_list;        /* bytes, default 16 KiB */
    uint32_t max_streams;          /* per connection, default 100 */
    int idle_timeout_ms;           /* connection without streams, default 60000 */
    int request_timeout_ms;        /* headers+body must arrive within, default 10000 */
    int drain_timeout_ms;          /* SIGTERM: in-flight streams finish within, default 10000 */
    int redis_timeout_ms;          /* connect and command timeout, default 1000 */
    int max_doc_depth;             /* XML/JSON nesting, default 64 */
    size_t max_buffered_per_conn;  /* request body bytes one connection may hold, 64 MiB */
    size_t max_buffered_total;     /* ... every connection of every worker, default 8 GiB */
    size_t max_header_bytes_per_s; /* decoded header bytes per connection, default 16 MiB/s */
    int send_timeout_ms;           /* peer keeps a zero window longer: reset, default 30000 */
} crgw_limits;

typedef struct crgw_config {
    char *path;            /* the node file */
    char *federation_path; /* the included federation file */
    int refs;

    char node[8]; /* this node's code */
    char *node_name;
    char *log_level; /* error|warn|info|debug, default info */

    char *listen; /* TLS h2 ADDR:PORT, NULL = none */
    char *h2c;    /* h2c prior knowledge ADDR:PORT, loopback only, NULL = none */
    char *redis;  /* HOST:PORT or unix:PATH */
    int workers;  /* event-loop processes, default 1 */

    char *tls_cert; /* this node's federation certificate (server and client) */
    char *tls_key;
    char *client_ca; /* federation CA: verifies clients and peers */

    char *adapters_dir;    /* mapping files, default <repo>/adapters */
    crgw_strv uscc_legacy; /* legacy USCCs accepted despite failing check characters */

    crgw_limits limits;

    /* The modules' configuration sections (crgw_config_section), one per module of mods. */
    const struct crgw_module *const *mods;
    void **sections;
    int *section_lines;
    size_t n_sections;

    crgw_client *clients;
    size_t n_clients;
    crgw_node *nodes; /* every node of the federation, this one included */
    size_t n_nodes;
    crgw_agreement *agreements;
    size_t n_agreements;
} crgw_config;

/*
 * Loads and validates a node file (and its federation file). mods (NULL-terminated, may be
 * NULL) are the modules whose configuration sections the file may hold (gateway/server/module.h):
 * each section is parsed by its descriptor rows, defaults first; a key no module or the node
 * file itself declares is an error. Returns 0 and *out, or CRGW_ERR_INVALID with every problem
 * found in errs as "file:line: message". File checks: certificates, keys and CRLs named must be
 * readable PEM of the right type. The module check hooks are not called (crgw_config_check).
 */
int crgw_config_load(const char *path, const struct crgw_module *const *mods, crgw_config **out,
                     crgw_errs *errs);
/* The same with overrides "SECTION.KEY=VALUE" (NULL-terminated, may be NULL) applied to the node
 * file before it is read, as if written there (`serve --set`, `--audit-dir`). */
int crgw_config_load_set(const char *path, const struct crgw_module *const *mods,
                         const char *const *sets, crgw_config **out, crgw_errs *errs);
/*
 * Calls every module's check hook on cfg (check-config, start-up and reload pre-flight).
 * Returns 0, or CRGW_ERR_INVALID with *failed (may be NULL) = the first module that refused.
 */
int crgw_config_check(crgw_config *cfg, crgw_errs *errs, const struct crgw_module **failed);
/* The section struct of module m (defaults applied); m must be one of the modules of the load. */
const void *crgw_config_section(const crgw_config *cfg, const struct crgw_module *m);
/* The line of module m's section in the node file, 0 when absent (module checks' messages). */
int crgw_config_section_line(const crgw_config *cfg, const struct crgw_module *m);
crgw_config *crgw_config_ref(crgw_config *c);
void crgw_config_unref(crgw_config *c);

/* 1 when s is a node code: exactly 6 digits (GB/T 2260). */
int crgw_is_node_code(const char *s);

const crgw_node *crgw_config_node(const crgw_config *c, const char *code);
const crgw_node *crgw_config_self(const crgw_config *c);
/* Roles of a local client certificate's SAN URI, 0 when unknown. */
unsigned crgw_config_client_roles(const crgw_config *c, const char *uri);
/* The node whose federation identity is uri, or NULL. */
const crgw_node *crgw_config_peer_by_uri(const crgw_config *c, const char *uri);
const crgw_agreement *crgw_config_agreement(const crgw_config *c, const char *id);

#endif
