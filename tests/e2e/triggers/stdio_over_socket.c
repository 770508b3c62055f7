/* TRC-1 trigger: a reverse-shell's first step — a child connects to a listener on 127.0.0.1 and
 * puts the socket on its stdin/stdout/stderr. Near-miss: the same connection, duplicated onto a
 * high fd instead. */
#include "trigger.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 ||
        listen(listener, 1) < 0 || getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
        die("listen on 127.0.0.1");
    fact("ip=127.0.0.1");
    fact("port=%d", ntohs(addr.sin_port));
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        if (attack) {
            for (int fd = 0; fd <= 2; fd++)
                if (dup2(s, fd) < 0) die("dup2");
            write(1, "shell> ", 7);   /* what a reverse shell's prompt would do */
        } else {
            int high = dup2(s, 20);
            if (high < 0) die("dup2");
            write(high, "hello", 5);
        }
        _exit(0);
    }
    fact("pid=%d", child);
    int conn = accept(listener, NULL, NULL);
    if (conn < 0) die("accept");
    char buf[64];
    while (read(conn, buf, sizeof buf) > 0) {}
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
