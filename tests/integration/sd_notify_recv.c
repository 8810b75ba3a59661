/*
 * sd_notify_recv PATH OUT: what systemd's side of Type=notify sees, for tests/integration/
 * sd_notify.sh. Binds an AF_UNIX datagram socket at PATH and appends every datagram to OUT as
 * one line (newlines inside shown as '|'), until killed.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 3 || strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "usage: sd_notify_recv PATH OUT\n");
        return 2;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, argv[1], strlen(argv[1]));
    unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        perror("sd_notify_recv: bind");
        return 1;
    }
    FILE *out = fopen(argv[2], "a");
    if (!out) {
        perror("sd_notify_recv: open");
        return 1;
    }
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
            continue;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] == '\n')
                buf[i] = '|';
        buf[n] = '\0';
        fprintf(out, "%s\n", buf);
        fflush(out);
    }
}
