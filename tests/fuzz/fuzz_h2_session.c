/*
 * Fuzz target: a whole crgw HTTP/2 server connection (nghttp2 session, our callbacks, routing,
 * limits, answers) fed from the fuzzer over a socket pair, like nghttp2's fuzz/fuzz_target.cc
 * but through gateway/server/conn.c. The client connection preface is prepended, so the fuzzer's
 * bytes are frames. Configuration: $CRGW_FUZZ_CONFIG or config/test/node-120000.yaml (run from
 * the repository root).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "tests/unit/test_modules.h"
#include "gateway/server/config.h"
#include "gateway/server/conn.h"
#include "gateway/core/log.h"
#include "gateway/server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static crgw_server *srv;

static void init(void)
{
    const char *path = getenv("CRGW_FUZZ_CONFIG");
#ifdef CRGW_SRCDIR
    if (!path)
        path = CRGW_SRCDIR "/config/test/node-120000.yaml";
#endif
    if (!path)
        path = "config/test/node-120000.yaml";
    crgw_config *cfg = NULL;
    crgw_errs errs = {0};
    if (crgw_config_load(path, crgw_test_modules, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.n; i++)
            fprintf(stderr, "%s\n", errs.v[i]);
        fprintf(stderr, "fuzz_h2_session: cannot load %s (run from the repository root)\n", path);
        abort();
    }
    crgw_errs_cleanup(&errs);
    crgw_log_set_level("error");
    base = event_base_new();
    srv = crgw_server_new_embedded(base, cfg, "unix:/nonexistent/crgw-fuzz.sock");
    crgw_config_unref(cfg);
}

static void drain_output(int fd)
{
    char buf[16384];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (!base)
        init();
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    crgw_conn_accept(srv, sv[0], NULL, 0);
    size_t off = 0;
    int rounds = 0;
    if (write(sv[1], preface, sizeof(preface) - 1) < 0)
        abort();
    while (off < size && rounds < 10000) {
        ssize_t n = write(sv[1], data + off, size - off);
        if (n > 0)
            off += (size_t)n;
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain_output(sv[1]);
        rounds++;
    }
    shutdown(sv[1], SHUT_WR);
    for (int i = 0; i < 50 && crgw_conn_count() > 0; i++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
        drain_output(sv[1]);
    }
    close(sv[1]);
    crgw_conn_close_all(); /* also frees requests parked by the x-crgw-test-delay-ms hook */
    event_base_loop(base, EVLOOP_NONBLOCK);
    return 0;
}
