/*
 * module: what a job declares to the server (nginx's module list, h2o's handler registration).
 *
 * Each job folder (translate, verify, cache, repair) defines one `const crgw_module` in its
 * module file: its routes (with the roles that may call them), its configuration section (a
 * top-level YAML key and descriptor rows with type, bounds and default), and its life-cycle
 * hooks. The composition root (gateway/main.c) lists the modules once, in start order, and
 * hands the list to the commands; nothing in core or server names a job.
 *
 * With the list, the server builds the route table (a duplicate method+pattern or route name
 * refuses to start), the configuration loader parses each module's section into a struct of
 * conf_size bytes (crgw_config_section), `check-config` and the SIGHUP pre-flight call each
 * check hook, /readyz asks each not_ready hook, and the metrics take route names from the
 * table. A module's run-time state is what its start hook returns; the server keeps it
 * (crgw_server_state), so no job keeps state in process globals.
 */
#ifndef CRGW_MODULE_H
#define CRGW_MODULE_H

#include <stddef.h>

#include "gateway/core/err.h"
#include "gateway/server/http.h"

struct crgw_config;
struct crgw_server;
struct crgw_errs;

/* Types of configuration descriptor rows (the C type of the target in parentheses). */
typedef enum {
    CRGW_CONF_INT,  /* int within [min, max] (int) */
    CRGW_CONF_SIZE, /* byte count within [min, max] (size_t) */
    CRGW_CONF_BOOL, /* true/false (int 0/1) */
    CRGW_CONF_STR,  /* non-empty string (char *, heap; freed with the configuration) */
    CRGW_CONF_FILE, /* readable file, path resolved against the file holding it (char *) */
} crgw_conf_type;

/* One key of a module's configuration section. */
typedef struct {
    const char *name;
    crgw_conf_type type;
    size_t off;          /* offset in the module's section struct */
    long long min, max;  /* INT, SIZE: inclusive bounds */
    long long def;       /* INT, SIZE, BOOL: the value when the key is absent */
    const char *def_str; /* STR, FILE: the value when absent (NULL: unset) */
    const char *help;    /* one line for operators (README, check-config) */
} crgw_conf_field;

/*
 * One row per key, named like its field of the section struct T (redis' createIntConfig):
 *   CRGW_CONF_INT_ROW(T, field, min, max, default, help), CRGW_CONF_BOOL_ROW(T, field, default,
 *   help), CRGW_CONF_STR_ROW(T, field, default or NULL, help), CRGW_CONF_FILE_ROW(T, field, help).
 */
#define CRGW_CONF_INT_ROW(T, f, lo, hi, d, h)                                                      \
    {                                                                                              \
        .name = #f, .type = CRGW_CONF_INT, .off = offsetof(T, f), .min = (lo), .max = (hi),        \
        .def = (d), .help = (h)                                                                    \
    }
#define CRGW_CONF_BOOL_ROW(T, f, d, h)                                                             \
    {                                                                                              \
        .name = #f, .type = CRGW_CONF_BOOL, .off = offsetof(T, f), .def = (d), .help = (h)         \
    }
#define CRGW_CONF_STR_ROW(T, f, d, h)                                                              \
    {                                                                                              \
        .name = #f, .type = CRGW_CONF_STR, .off = offsetof(T, f), .def_str = (d), .help = (h)      \
    }
#define CRGW_CONF_FILE_ROW(T, f, h)                                                                \
    {                                                                                              \
        .name = #f, .type = CRGW_CONF_FILE, .off = offsetof(T, f), .help = (h)                     \
    }

typedef struct crgw_module {
    const char *name;

    /* Routes, terminated by a row whose method is NULL. May be NULL. */
    const crgw_route *routes;
    /* Streaming routes (http.h: the body as it arrives, the answer in pieces), terminated by a
     * row whose route.method is NULL. May be NULL. One table with the routes above. */
    const crgw_stream_route *stream_routes;

    /* Configuration section: top-level key (NULL: none), rows terminated by name == NULL. */
    const char *section;
    const crgw_conf_field *fields;
    size_t conf_size;

    /*
     * Semantic checks of a loaded configuration beyond the rows (cross-field rules, files that
     * must load): `check-config` and the reload pre-flight (a failure refuses the reload).
     * Adds "file:line: message" or "section: message" lines to errs. 0 or CRGW_ERR_INVALID.
     */
    int (*check)(struct crgw_config *cfg, struct crgw_errs *errs);
    const char *checks; /* what check examines, for "reload refused: <checks>" (log, stderr) */
    /* The server runs: loop, configuration and Redis exist. *state is kept by the server.
     * 0, or a negative CRGW_ERR_*: start-up fails (errors logged by the module). */
    int (*start)(struct crgw_server *s, void **state);
    /* After a reload swapped the configuration in; old is the previous one (still valid). */
    void (*reload)(struct crgw_server *s, void *state, struct crgw_config *old);
    /* At exit after the drain (the loop still exists): free state. */
    void (*stop)(struct crgw_server *s, void *state);
    /* NULL when ready, else a short reason for /readyz (static or state-lifetime string). */
    const char *(*not_ready)(struct crgw_server *s, void *state);
    /* An operator-visible event of the server ("reload_accepted", "reload_refused") with a
     * detail (the refusal reason, or the configuration path), for modules that record them. */
    void (*event)(struct crgw_server *s, void *state, const char *what, const char *detail);
} crgw_module;

#endif
