/*
 * A private redis-server for unit tests: on a unix socket in a fresh temporary directory, no
 * persistence. test_redis_start(prefix) before, test_redis_stop as .fini; test_redis_sock names
 * the socket.
 */
#ifndef CRGW_TEST_REDIS_H
#define CRGW_TEST_REDIS_H

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t test_redis_pid;
static char test_redis_sock[128];
static char test_redis_dir[64];

static inline void test_redis_start(const char *prefix)
{
    snprintf(test_redis_dir, sizeof(test_redis_dir), "/tmp/%s-XXXXXX", prefix);
    cr_assert_not_null(mkdtemp(test_redis_dir));
    snprintf(test_redis_sock, sizeof(test_redis_sock), "%s/redis.sock", test_redis_dir);
    test_redis_pid = fork();
    cr_assert(test_redis_pid >= 0);
    if (test_redis_pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", test_redis_sock,
               "--save", "", "--appendonly", "no", "--dir", test_redis_dir, "--loglevel", "warning",
               (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 500; i++) {
        struct stat st;
        if (stat(test_redis_sock, &st) == 0)
            return;
        usleep(10000);
    }
    cr_assert_fail("redis-server did not start");
}

static inline void test_redis_stop(void)
{
    if (test_redis_pid > 0) {
        kill(test_redis_pid, SIGKILL);
        waitpid(test_redis_pid, NULL, 0);
        test_redis_pid = 0;
    }
    unlink(test_redis_sock);
    rmdir(test_redis_dir);
}

#endif
