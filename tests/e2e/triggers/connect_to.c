/* Helper of the K8S pack's container test (not a trigger of its own): connect(2) once, to a unix
 * socket (`unix PATH`) or to an IPv4 address (`inet ADDRESS PORT`), and report the result. Busybox
 * has no client for unix sockets. A failed connect still makes the event the rules look at. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int fd, rc;
    if (argc == 3 && strcmp(argv[1], "unix") == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        strncpy(sun.sun_path, argv[2], sizeof sun.sun_path - 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
    } else if (argc == 4 && strcmp(argv[1], "inet") == 0) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
        if (inet_pton(AF_INET, argv[2], &sin.sin_addr) != 1) return 64;
        fd = socket(AF_INET, SOCK_STREAM, 0);
        rc = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    } else {
        fprintf(stderr, "usage: %s unix PATH | inet ADDRESS PORT\n", argv[0]);
        return 64;
    }
    printf("fact: connect=%s\nfact: pid=%d\n", rc == 0 ? "ok" : strerror(errno), getpid());
    return 0;
}
