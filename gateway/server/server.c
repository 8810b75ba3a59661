/*
 * server: `crgw serve` (argument parsing, listeners, signals, reload, drain, workers, modules).
 */
#include "gateway/server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "gateway/core/log.h"
#include "gateway/core/util.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/server/conn_guard.h"
#include "gateway/server/metrics.h"
#include "gateway/server/module.h"
#include "gateway/server/ops_routes.h"
#include "gateway/server/redis.h"
#include "gateway/server/routes.h"
#include "gateway/server/sdnotify.h"
#include "gateway/server/tls.h"

#define MAX_MODULES 16
#define MAX_SETS 32

#define FINAL_GOAWAY_MS 200 /* shutdown notice, one round trip, then the real GOAWAY */

struct crgw_server {
    struct event_base *base;
    const char *config_path;
    crgw_config *cfg;
    const char *opt_h2c, *opt_listen, *opt_redis, *opt_log_level;
    const char *sets[MAX_SETS + 1]; /* --set SECTION.KEY=VALUE, applied at start and reload */
    size_t n_sets;
    char *redis_addr;
    crgw_redis *redis;
    SSL_CTX *ssl_ctx;
    evutil_socket_t tls_fd, h2c_fd;
    struct evconnlistener *tls_listener, *h2c_listener;
    struct event *sig_term, *sig_int, *sig_hup;
    struct event *goaway_timer, *deadline_timer;
    int draining;
    int worker;
    uint64_t started_us;
    /* the server's own module (ops routes) then the jobs of main's list, in start order */
    const crgw_module *mods[MAX_MODULES + 2];
    size_t n_mods;
    void *states[MAX_MODULES + 2]; /* what each module's start hook returned */
    crgw_route_table *routes;
    size_t n_started;    /* modules started */
    sigset_t saved_mask; /* workers: the mask to restore once the loop handles signals */
    int restore_mask;
};

struct event_base *crgw_server_base(const crgw_server *s)
{
    return s->base;
}

crgw_config *crgw_server_config(const crgw_server *s)
{
    return s->cfg;
}

crgw_redis *crgw_server_redis(const crgw_server *s)
{
    return s->redis;
}

int crgw_server_draining(const crgw_server *s)
{
    return s->draining;
}

uint64_t crgw_server_started_us(const crgw_server *s)
{
    return s->started_us;
}

int crgw_server_worker(const crgw_server *s)
{
    return s->worker;
}

void *crgw_server_state(const crgw_server *s, const crgw_module *m)
{
    for (size_t i = 0; s && i < s->n_started; i++)
        if (s->mods[i] == m)
            return s->states[i];
    return NULL;
}

const crgw_route_table *crgw_server_routes(const crgw_server *s)
{
    return s->routes;
}

struct ssl_ctx_st *crgw_server_ssl_ctx(const crgw_server *s)
{
    return s->ssl_ctx;
}

size_t crgw_server_not_ready(crgw_server *s, const char **reasons, size_t max)
{
    size_t n = 0;
    if (s->draining && n < max)
        reasons[n++] = "draining: the node is shutting down";
    if (!s->cfg && n < max)
        reasons[n++] = "configuration not loaded";
    if (!crgw_redis_up(s->redis) && n < max)
        reasons[n++] = "redis: not answering PING";
    for (size_t i = 0; i < s->n_started && n < max; i++) {
        const crgw_module *m = s->mods[i];
        const char *why = m->not_ready ? m->not_ready(s, s->states[i]) : NULL;
        if (why)
            reasons[n++] = why;
    }
    return n;
}

void crgw_server_check_drained(crgw_server *s)
{
    if (s->draining && crgw_conn_count() == 0 && crgw_conn_inflight() == 0)
        event_base_loopexit(s->base, NULL);
}

/* ---- addresses and listeners ---- */

static int parse_addr(const char *addr, struct sockaddr_storage *ss, int *len)
{
    *len = (int)sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    if (evutil_parse_sockaddr_port(addr, (struct sockaddr *)ss, len) != 0)
        return -1;
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
    if (ss->ss_family == AF_INET && in->sin_port == 0)
        return -1;
    if (ss->ss_family == AF_INET6 && in6->sin6_port == 0)
        return -1;
    return 0;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return 0;
}

static evutil_socket_t bind_listener(const char *what, const char *addr)
{
    struct sockaddr_storage ss;
    int len;
    if (parse_addr(addr, &ss, &len) != 0) {
        fprintf(stderr, "crgw: serve: bad %s address '%s' (want IPv4:PORT or [IPv6]:PORT)\n", what,
                addr);
        return -1;
    }
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "crgw: serve: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)len) != 0 || listen(fd, 1024) != 0) {
        fprintf(stderr, "crgw: serve: cannot listen on %s (%s): %s\n", addr, what, strerror(errno));
        close(fd);
        return -1;
    }
    evutil_make_socket_nonblocking(fd);
    return fd;
}

static void on_accept_tls(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    (void)l;
    (void)socklen;
    crgw_conn_accept(arg, fd, sa, 1);
}

static void on_accept_h2c(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                          int socklen, void *arg)
{
    (void)l;
    (void)socklen;
    crgw_conn_accept(arg, fd, sa, 0);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    (void)l;
    (void)arg;
    log_warn("accept: %s", evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void close_listeners(crgw_server *s)
{
    if (s->tls_listener)
        evconnlistener_free(s->tls_listener);
    else if (s->tls_fd >= 0)
        close(s->tls_fd);
    if (s->h2c_listener)
        evconnlistener_free(s->h2c_listener);
    else if (s->h2c_fd >= 0)
        close(s->h2c_fd);
    s->tls_listener = s->h2c_listener = NULL;
    s->tls_fd = s->h2c_fd = -1;
}

/* ---- configuration ---- */

static const char *eff(const char *opt, const char *file)
{
    if (opt)
        return strcmp(opt, "off") == 0 ? NULL : opt;
    return file;
}

static void print_errs(const crgw_errs *e, int to_log)
{
    for (size_t i = 0; i < e->n; i++) {
        if (to_log)
            log_error("reload: %s", e->v[i]);
        else
            fprintf(stderr, "%s\n", e->v[i]);
    }
}

static void apply_log_level(const crgw_server *s, const crgw_config *cfg)
{
    const char *lvl = s->opt_log_level ? s->opt_log_level : cfg->log_level;
    if (lvl && crgw_log_set_level(lvl) != 0)
        log_warn("unknown log level '%s'", lvl);
}

static void redis_observer(void *ctx, unsigned long us, int ok)
{
    (void)ctx;
    crgw_metrics_observe("crgw_redis_command_duration_seconds", NULL, (double)us / 1e6);
    if (!ok)
        crgw_metrics_counter_add("crgw_redis_errors_total", NULL, 1);
}

static void start_redis(crgw_server *s)
{
    const char *addr = eff(s->opt_redis, s->cfg->redis);
    free(s->redis_addr);
    s->redis_addr = xstrdup(addr ? addr : "unix:/var/run/redis/redis-server.sock");
    s->redis = crgw_redis_new(s->base, s->redis_addr, s->cfg->limits.redis_timeout_ms);
    if (s->redis)
        crgw_redis_set_observer(s->redis, redis_observer, NULL);
}

static void module_event(crgw_server *s, const char *what, const char *detail);

static void reload_refused(crgw_server *s)
{
    crgw_metrics_counter_add("crgw_config_reloads_total", "result=\"refused\"", 1);
    module_event(s, "reload_refused", s->config_path);
}

static void reload(crgw_server *s)
{
    log_info("SIGHUP: reloading %s", s->config_path);
    crgw_config *nc = NULL;
    crgw_errs errs = {0};
    if (crgw_config_load_set(s->config_path, s->cfg->mods, s->sets, &nc, &errs) != 0) {
        print_errs(&errs, 1);
        crgw_errs_cleanup(&errs);
        log_error("reload refused (%zu error%s): the running configuration stays", errs.n,
                  errs.n == 1 ? "" : "s");
        reload_refused(s);
        return;
    }
    crgw_errs_cleanup(&errs);
    SSL_CTX *nctx = NULL;
    if (s->tls_listener) {
        char err[512];
        nctx = crgw_tls_ctx_new(nc, err, sizeof(err));
        if (!nctx) {
            log_error("reload refused: TLS: %s; the running configuration stays", err);
            crgw_config_unref(nc);
            reload_refused(s);
            return;
        }
    }
    /* a new Redis address: the new client first, so a bad address refuses the reload */
    const char *naddr = eff(s->opt_redis, nc->redis);
    crgw_redis *nredis = NULL;
    if (naddr && strcmp(naddr, s->redis_addr) != 0) {
        nredis = crgw_redis_new(s->base, naddr, nc->limits.redis_timeout_ms);
        if (!nredis) {
            log_error("reload refused: bad redis address; the running configuration stays");
            if (nctx)
                SSL_CTX_free(nctx);
            crgw_config_unref(nc);
            reload_refused(s);
            return;
        }
        crgw_redis_set_observer(nredis, redis_observer, NULL);
    }
    const char *ol = eff(s->opt_listen, s->cfg->listen), *nl = eff(s->opt_listen, nc->listen);
    const char *oh = eff(s->opt_h2c, s->cfg->h2c), *nh = eff(s->opt_h2c, nc->h2c);
    if ((ol == NULL) != (nl == NULL) || (ol && strcmp(ol, nl) != 0) ||
        (oh == NULL) != (nh == NULL) || (oh && strcmp(oh, nh) != 0))
        log_warn("reload: listener addresses changed; they apply at the next restart");
    /* the modules' checks last (trust material, calendar): the pre-flight of the swap */
    const crgw_module *failed = NULL;
    if (crgw_config_check(nc, &errs, &failed) != 0) {
        print_errs(&errs, 1);
        crgw_errs_cleanup(&errs);
        log_error("reload refused: %s; the running configuration stays",
                  failed && failed->checks ? failed->checks : "a module's check");
        if (nctx)
            SSL_CTX_free(nctx);
        crgw_redis_free(nredis);
        crgw_config_unref(nc);
        reload_refused(s);
        return;
    }
    crgw_config *old = s->cfg;
    s->cfg = nc;
    if (nctx) {
        SSL_CTX_free(s->ssl_ctx); /* connections in progress keep their reference */
        s->ssl_ctx = nctx;
    }
    apply_log_level(s, nc);
    if (nredis) {
        log_info("reload: redis address %s -> %s", s->redis_addr, naddr);
        crgw_redis_free(s->redis); /* pending commands are called back with NULL */
        s->redis = nredis;
        free(s->redis_addr);
        s->redis_addr = xstrdup(naddr);
    }
    for (size_t i = 0; i < s->n_started; i++)
        if (s->mods[i]->reload)
            s->mods[i]->reload(s, s->states[i], old);
    crgw_config_unref(old);
    crgw_metrics_counter_add("crgw_config_reloads_total", "result=\"ok\"", 1);
    module_event(s, "reload_accepted", s->config_path);
    log_info("configuration reloaded from %s", s->config_path);
}

/* ---- signals and drain ---- */

static void on_final_goaway(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_server *s = arg;
    crgw_conn_drain_all(1);
    crgw_server_check_drained(s);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    crgw_server *s = arg;
    log_warn("drain deadline reached: %zu connection(s), %zu request(s) in flight abandoned",
             crgw_conn_count(), crgw_conn_inflight());
    event_base_loopexit(s->base, NULL);
}

static void start_drain(crgw_server *s, const char *why)
{
    s->draining = 1;
    if (s->worker == 0)
        crgw_sd_notifyf("STOPPING=1\nSTATUS=draining (%s)", why);
    log_info("%s: draining (%zu connection(s), %zu request(s) in flight, deadline %d ms)", why,
             crgw_conn_count(), crgw_conn_inflight(), s->cfg->limits.drain_timeout_ms);
    close_listeners(s);
    crgw_conn_drain_all(0);
    crgw_server_check_drained(s);
    struct timeval g = {0, FINAL_GOAWAY_MS * 1000};
    evtimer_add(s->goaway_timer, &g);
    int ms = s->cfg->limits.drain_timeout_ms;
    struct timeval d = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(s->deadline_timer, &d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    crgw_server *s = arg;
    if (sig == SIGHUP) {
        if (s->worker == 0 && !s->draining) /* systemd (Type=notify): one process reports */
            crgw_sd_notify("RELOADING=1\nSTATUS=reloading the configuration");
        reload(s);
        if (s->worker == 0 && !s->draining)
            crgw_sd_notifyf("READY=1\nSTATUS=serving node %s", s->cfg->node);
        return;
    }
    if (s->draining) {
        if (sig == SIGINT) {
            log_warn("SIGINT again: exiting now");
            event_base_loopexit(s->base, NULL);
        }
        return;
    }
    start_drain(s, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- modules ---- */

static void module_event(crgw_server *s, const char *what, const char *detail)
{
    for (size_t i = 0; i < s->n_started; i++)
        if (s->mods[i]->event)
            s->mods[i]->event(s, s->states[i], what, detail);
}

/* The module list of this server: its own (ops routes) first, then mods; the route table. */
static int set_modules(crgw_server *s, const crgw_module *const *mods, crgw_errs *errs)
{
    s->n_mods = 0;
    s->mods[s->n_mods++] = &crgw_ops_module;
    for (size_t i = 0; mods && mods[i]; i++) {
        crgw_assert(s->n_mods < MAX_MODULES + 1);
        s->mods[s->n_mods++] = mods[i];
    }
    s->mods[s->n_mods] = NULL;
    return crgw_route_table_new(s->mods, &s->routes, errs);
}

static int start_modules(crgw_server *s)
{
    crgw_metrics_set_routes(s->routes);
    for (; s->n_started < s->n_mods; s->n_started++) {
        const crgw_module *m = s->mods[s->n_started];
        s->states[s->n_started] = NULL;
        if (m->start && m->start(s, &s->states[s->n_started]) != 0) {
            log_error("module %s failed to start", m->name);
            return -1;
        }
    }
    return 0;
}

static void stop_modules(crgw_server *s)
{
    while (s->n_started > 0) {
        size_t i = --s->n_started;
        if (s->mods[i]->stop)
            s->mods[i]->stop(s, s->states[i]);
        s->states[i] = NULL;
    }
}

/* ---- one event loop (a process) ---- */

static int run_loop(crgw_server *s)
{
    int rc = 1;
    s->base = event_base_new();
    if (!s->base) {
        log_error("event_base_new failed");
        return 1;
    }
    s->started_us = crgw_now_us();
    if (s->tls_fd >= 0) {
        char err[512];
        s->ssl_ctx = crgw_tls_ctx_new(s->cfg, err, sizeof(err));
        if (!s->ssl_ctx) {
            log_error("TLS: %s", err);
            goto out;
        }
    }
    start_redis(s);
    if (!s->redis)
        goto out;
    if (start_modules(s) != 0)
        goto out;
    if (s->tls_fd >= 0) {
        s->tls_listener = evconnlistener_new(
            s->base, on_accept_tls, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, s->tls_fd);
        evconnlistener_set_error_cb(s->tls_listener, on_accept_error);
    }
    if (s->h2c_fd >= 0) {
        s->h2c_listener = evconnlistener_new(
            s->base, on_accept_h2c, s, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, s->h2c_fd);
        evconnlistener_set_error_cb(s->h2c_listener, on_accept_error);
    }
    s->sig_term = evsignal_new(s->base, SIGTERM, on_signal, s);
    s->sig_int = evsignal_new(s->base, SIGINT, on_signal, s);
    s->sig_hup = evsignal_new(s->base, SIGHUP, on_signal, s);
    evsignal_add(s->sig_term, NULL);
    evsignal_add(s->sig_int, NULL);
    evsignal_add(s->sig_hup, NULL);
    if (s->restore_mask)
        sigprocmask(SIG_SETMASK, &s->saved_mask, NULL); /* pending ones are delivered now */
    s->goaway_timer = evtimer_new(s->base, on_final_goaway, s);
    s->deadline_timer = evtimer_new(s->base, on_deadline, s);
    log_info("crgw node %s serving: tls %s, h2c %s, redis %s, worker %d (pid %d)", s->cfg->node,
             s->tls_listener ? eff(s->opt_listen, s->cfg->listen) : "off",
             s->h2c_listener ? eff(s->opt_h2c, s->cfg->h2c) : "off", s->redis_addr, s->worker,
             (int)getpid());
    if (s->worker == 0) /* worker 0 for all of them: the listeners were bound before the fork */
        crgw_sd_notifyf("READY=1\nSTATUS=serving node %s", s->cfg->node);
    event_base_dispatch(s->base);
    log_info("stopped: %zu connection(s) left", crgw_conn_count());
    rc = 0;

out:
    stop_modules(s);
    crgw_conn_close_all();
    close_listeners(s);
    crgw_redis_free(s->redis);
    s->redis = NULL;
    if (s->ssl_ctx)
        SSL_CTX_free(s->ssl_ctx);
    struct event **evs[] = {&s->sig_term, &s->sig_int, &s->sig_hup, &s->goaway_timer,
                            &s->deadline_timer};
    for (size_t i = 0; i < CRGW_ARRAY_LEN(evs); i++)
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    /* let libevent run deferred frees (bufferevents) before the base goes */
    event_base_loop(s->base, EVLOOP_NONBLOCK);
    event_base_free(s->base);
    s->base = NULL;
    crgw_conn_cleanup();
    crgw_metrics_reset();
    return rc;
}

/* ---- workers: the parent binds, forks N loops, forwards signals, reaps ---- */

/*
 * Signals are blocked before the fork: the parent takes them synchronously (sigwaitinfo, no
 * lost wake-up between a handler and waitpid) and forwards them; a worker unblocks them once
 * its loop's handlers are installed (run_loop), so a forwarded signal is never lost to a worker
 * still starting, nor kills it with the default action.
 */
static int run_workers(crgw_server *s, int n)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &s->saved_mask);
    s->restore_mask = 1;
    pid_t *pids = xcalloc((size_t)n, sizeof(*pids));
    pid_t parent = getpid();
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "crgw: serve: fork: %s\n", strerror(errno));
            n = i;
            break;
        }
        if (pid == 0) {
            /* own process group: a terminal's Ctrl-C reaches the parent only, which forwards it
             * once (a second SIGINT would skip the drain); the parent's death drains us */
            setpgid(0, 0);
            prctl(PR_SET_PDEATHSIG, SIGTERM);
            if (getppid() != parent)
                _exit(0);
            free(pids);
            s->worker = i;
            crgw_guard_worker(i);
            int rc = run_loop(s);
            crgw_config_unref(s->cfg);
            free(s->redis_addr);
            _exit(rc);
        }
        pids[i] = pid;
    }
    close_listeners(s); /* the workers hold them */
    int rc = 0, alive = n;
    while (alive > 0) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0)
            continue; /* EINTR */
        if (sig != SIGCHLD) {
            for (int i = 0; i < n; i++)
                if (pids[i] > 0)
                    kill(pids[i], sig);
            continue;
        }
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
            for (int i = 0; i < n; i++) {
                if (pids[i] != pid)
                    continue;
                pids[i] = 0;
                alive--;
                crgw_guard_worker_gone(i);
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                    rc = 1;
                    log_error("worker %d (pid %d) ended with status %d", i, (int)pid, st);
                }
            }
        }
    }
    free(pids);
    sigprocmask(SIG_SETMASK, &s->saved_mask, NULL);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: crgw serve --config FILE [--h2c ADDR:PORT|off] [--listen ADDR:PORT|off]\n"
            "                  [--redis HOST:PORT|unix:PATH|SENTINELS]\n"
            "                  (SENTINELS: sentinel:NAME@IP:PORT,...[;acks=N][;ack_ms=T])\n"
            "                  [--workers N]\n"
            "                  [--set SECTION.KEY=VALUE]... [--audit-dir DIR]\n"
            "                  [--log-level error|warn|info|debug]\n");
}

int crgw_server_main(int argc, char **argv, const crgw_module *const *mods)
{
    crgw_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.tls_fd = srv.h2c_fd = -1;
    int workers = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        if (strcmp(a, "--config") == 0)
            dst = &srv.config_path;
        else if (strcmp(a, "--h2c") == 0)
            dst = &srv.opt_h2c;
        else if (strcmp(a, "--listen") == 0)
            dst = &srv.opt_listen;
        else if (strcmp(a, "--redis") == 0)
            dst = &srv.opt_redis;
        else if (strcmp(a, "--log-level") == 0)
            dst = &srv.opt_log_level;
        else if (strcmp(a, "--set") == 0 && i + 1 < argc) {
            if (srv.n_sets == MAX_SETS) {
                fprintf(stderr, "crgw: serve: at most %d --set\n", MAX_SETS);
                return 2;
            }
            srv.sets[srv.n_sets++] = argv[++i];
            continue;
        } else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
            char *end;
            long w = strtol(argv[++i], &end, 10);
            if (*end || w < 1 || w > 256) {
                fprintf(stderr, "crgw: serve: --workers wants 1..256\n");
                return 2;
            }
            workers = (int)w;
            continue;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            return 0;
        } else {
            fprintf(stderr, "crgw: serve: unknown argument '%s'\n", a);
            usage();
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "crgw: serve: %s needs a value\n", a);
            return 2;
        }
        *dst = argv[++i];
    }
    if (!srv.config_path) {
        usage();
        return 2;
    }
    crgw_errs errs = {0};
    if (set_modules(&srv, mods, &errs) != 0) {
        print_errs(&errs, 0);
        crgw_errs_cleanup(&errs);
        fprintf(stderr, "crgw: serve: the module list is inconsistent\n");
        return 1;
    }
    if (crgw_config_load_set(srv.config_path, mods, srv.sets, &srv.cfg, &errs) != 0) {
        print_errs(&errs, 0);
        crgw_errs_cleanup(&errs);
        fprintf(stderr, "crgw: serve: %s: configuration refused\n", srv.config_path);
        crgw_route_table_free(srv.routes);
        return 1;
    }
    apply_log_level(&srv, srv.cfg);
    const crgw_module *failed = NULL;
    if (crgw_config_check(srv.cfg, &errs, &failed) != 0) {
        print_errs(&errs, 0);
        crgw_errs_cleanup(&errs);
        fprintf(stderr, "crgw: serve: %s: %s refused\n", srv.config_path,
                failed && failed->checks ? failed->checks : "configuration");
        crgw_config_unref(srv.cfg);
        crgw_route_table_free(srv.routes);
        return 1;
    }
    const char *h2c = eff(srv.opt_h2c, srv.cfg->h2c);
    const char *listen_addr = eff(srv.opt_listen, srv.cfg->listen);
    int rc = 1;
    if (h2c) {
        struct sockaddr_storage ss;
        int len;
        if (parse_addr(h2c, &ss, &len) != 0) {
            fprintf(stderr, "crgw: serve: bad h2c address '%s'\n", h2c);
            goto out;
        }
        if (!is_loopback(&ss)) {
            fprintf(stderr,
                    "crgw: serve: refusing h2c on %s: the h2c listener has no TLS and no client "
                    "authentication, it binds only to loopback addresses (127.0.0.0/8, [::1])\n",
                    h2c);
            goto out;
        }
    }
    if (!h2c && !listen_addr) {
        fprintf(stderr, "crgw: serve: no listener (neither listen nor h2c)\n");
        goto out;
    }
    if (listen_addr && (srv.tls_fd = bind_listener("tls", listen_addr)) < 0)
        goto out;
    if (h2c && (srv.h2c_fd = bind_listener("h2c", h2c)) < 0)
        goto out;
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN); /* a write past a file-size limit fails (EFBIG), the process lives */
    if (!workers)
        workers = srv.cfg->workers > 0 ? srv.cfg->workers : 1;
    crgw_guard_global_init(workers); /* the total body budget, shared by the workers */
    rc = workers > 1 ? run_workers(&srv, workers) : run_loop(&srv);

out:
    close_listeners(&srv);
    crgw_config_unref(srv.cfg);
    crgw_route_table_free(srv.routes);
    free(srv.redis_addr);
    return rc;
}

crgw_server *crgw_server_new_embedded(struct event_base *base, crgw_config *cfg,
                                      const char *redis_addr)
{
    crgw_server *s = xcalloc(1, sizeof(*s));
    s->base = base;
    s->cfg = crgw_config_ref(cfg);
    s->tls_fd = s->h2c_fd = -1;
    s->opt_redis = redis_addr;
    s->started_us = crgw_now_us();
    crgw_errs errs = {0};
    int rc = set_modules(s, cfg->mods, &errs);
    for (size_t i = 0; i < errs.n; i++)
        log_error("%s", errs.v[i]);
    crgw_errs_cleanup(&errs);
    start_redis(s);
    if (rc != 0 || !s->redis || start_modules(s) != 0) {
        crgw_server_free_embedded(s);
        return NULL;
    }
    return s;
}

void crgw_server_free_embedded(crgw_server *s)
{
    stop_modules(s);
    crgw_route_table_free(s->routes);
    crgw_conn_close_all();
    crgw_redis_free(s->redis);
    crgw_config_unref(s->cfg);
    free(s->redis_addr);
    free(s);
}
