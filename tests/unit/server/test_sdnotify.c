/*
 * gateway/server/sdnotify.c: the sd_notify(3) datagram arrives at $NOTIFY_SOCKET as systemd
 * would receive it (a real AF_UNIX datagram socket, path and abstract names).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/server/sdnotify.h"

/* Binds a datagram socket at name ("/path" or "@abstract"); returns the fd. */
static int bind_dgram(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(name);
    cr_assert_lt(n, sizeof(sa.sun_path));
    memcpy(sa.sun_path, name, n);
    if (name[0] == '@')
        sa.sun_path[0] = '\0';
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, len), 0, "bind %s: %s", name, strerror(errno));
    return fd;
}

/* The next datagram on fd (waits up to 2 s), NUL-terminated in buf; its length. */
static ssize_t recv_one(int fd, char *buf, size_t cap)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 2000), 1, "no datagram arrived");
    ssize_t n = recv(fd, buf, cap - 1, 0);
    cr_assert_geq(n, 0);
    buf[n] = '\0';
    return n;
}

Test(sdnotify, unset_or_empty_sends_nothing)
{
    unsetenv("NOTIFY_SOCKET");
    cr_assert_eq(crgw_sd_notify("READY=1"), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    cr_assert_eq(crgw_sd_notify("READY=1"), 0);
}

Test(sdnotify, path_socket_receives_the_exact_datagram)
{
    char dir[] = "/tmp/crgw-sdnotify-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof(path), "%s/notify", dir);
    int fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    char buf[2048];
    cr_assert_eq(crgw_sd_notify("READY=1\nSTATUS=serving"), 1);
    cr_assert_eq(recv_one(fd, buf, sizeof(buf)), 22);
    cr_assert_str_eq(buf, "READY=1\nSTATUS=serving");
    cr_assert_eq(crgw_sd_notifyf("STOPPING=1\nSTATUS=draining (%s)", "SIGTERM"), 1);
    recv_one(fd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "STOPPING=1\nSTATUS=draining (SIGTERM)");
    close(fd);
    /* nobody listens any more: an error, not a hang nor a signal */
    unlink(path);
    cr_assert_eq(crgw_sd_notify("READY=1"), -1);
    rmdir(dir);
    unsetenv("NOTIFY_SOCKET");
}

Test(sdnotify, abstract_socket)
{
    char name[64];
    snprintf(name, sizeof(name), "@crgw-sdnotify-test-%d", (int)getpid());
    int fd = bind_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    char buf[256];
    cr_assert_eq(crgw_sd_notify("RELOADING=1"), 1);
    recv_one(fd, buf, sizeof(buf));
    cr_assert_str_eq(buf, "RELOADING=1");
    close(fd);
    unsetenv("NOTIFY_SOCKET");
}

Test(sdnotify, malformed_socket_names_are_refused)
{
    setenv("NOTIFY_SOCKET", "relative/notify", 1);
    errno = 0;
    cr_assert_eq(crgw_sd_notify("READY=1"), -1);
    cr_assert_eq(errno, EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[0] = '/';
    longname[sizeof(longname) - 1] = '\0';
    setenv("NOTIFY_SOCKET", longname, 1);
    errno = 0;
    cr_assert_eq(crgw_sd_notify("READY=1"), -1);
    cr_assert_eq(errno, EINVAL);
    unsetenv("NOTIFY_SOCKET");
}
