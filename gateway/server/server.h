/*
 * server: `crgw serve`. Owns the event base, the TLS context, the listeners, the current
 * configuration (refcounted, replaced whole on SIGHUP), the Redis client and the modules.
 *
 * Signals: SIGTERM/SIGINT drain (GOAWAY, listeners closed, in-flight streams finish up to
 * cfg->limits.drain_timeout_ms, exit 0; a second SIGINT exits at once); SIGHUP reloads the
 * same file: on errors they are logged and the running configuration stays, on success the
 * new one replaces it (requests in flight keep theirs) and each module's reload hook runs.
 *
 * Modules (gateway/server/module.h) come from the composition root (gateway/main.c): the server
 * adds its own (crgw_ops_module: /healthz, /readyz, /metrics) first, builds the route table
 * from all of them, starts them in order and stops them in reverse; each module's state is
 * what its start hook returned (crgw_server_state). They find the loop, the configuration and
 * Redis through the accessors. One server per process (with `workers` > 1 each forked worker
 * has its own).
 */
#ifndef CRGW_SERVER_H
#define CRGW_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct crgw_config;
struct crgw_redis;
struct ssl_ctx_st;

typedef struct crgw_server crgw_server;
struct crgw_module;
struct crgw_route_table;

/*
 * `crgw serve` with the modules of mods (NULL-terminated, start order): parses argv, loads and
 * checks the configuration, binds, runs the loop(s). Returns the process exit status.
 */
int crgw_server_main(int argc, char **argv, const struct crgw_module *const *mods);

/* The state module m's start hook returned, NULL when m is not started on s. */
void *crgw_server_state(const crgw_server *s, const struct crgw_module *m);
/* The route table built from the modules (gateway/server/conn.c). */
const struct crgw_route_table *crgw_server_routes(const crgw_server *s);

struct event_base *crgw_server_base(const crgw_server *s);
/* The configuration in force now. Keep crgw_config_ref() across asynchronous callbacks. */
struct crgw_config *crgw_server_config(const crgw_server *s);
/* The Redis client (never NULL while serving; it reconnects by itself). */
struct crgw_redis *crgw_server_redis(const crgw_server *s);
/* 1 once SIGTERM/SIGINT started the drain. */
int crgw_server_draining(const crgw_server *s);
/* Monotonic start time (µs) and worker index (0 with one process). */
uint64_t crgw_server_started_us(const crgw_server *s);
int crgw_server_worker(const crgw_server *s);

/*
 * Readiness: fills up to max reasons (static or server-lifetime strings) why the node is not
 * ready (Redis down, draining, a module's reason). Returns how many; 0 = ready.
 */
size_t crgw_server_not_ready(crgw_server *s, const char **reasons, size_t max);

/*
 * A server around an existing loop and configuration, without listeners or signals, running
 * the modules cfg was loaded with (fuzz targets and tests drive connections with
 * crgw_conn_accept on socket pairs). Holds a reference to cfg; redis_addr may name a socket
 * nobody listens on. NULL when a module does not start (logged).
 */
crgw_server *crgw_server_new_embedded(struct event_base *base, struct crgw_config *cfg,
                                      const char *redis_addr);
void crgw_server_free_embedded(crgw_server *s);

/* For gateway/server/conn.c: the TLS context of new connections (NULL without a TLS listener). */
struct ssl_ctx_st *crgw_server_ssl_ctx(const crgw_server *s);
/* For gateway/server/conn.c: called when the last connection closed or a drained request finished.
 */
void crgw_server_check_drained(crgw_server *s);

#endif
