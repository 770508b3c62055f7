/* TRC-13 trigger (in a container): a program started with KUBERNETES_SERVICE_HOST=127.0.0.1
 * (as kubelet sets it in every pod) connects to that address. The exec with that environment
 * happens inside the started container, so the input sees it.
 *   attack|benign PORT [literal]  re-executes itself with the variable set, stage "connect";
 *                               literal: from a forked child, every string but the port a literal
 *                               (on pages the child has not touched: unreadable at execve entry);
 *                               the program must be /run/e2e-bin/k8s_api_connection (the harness's)
 *   connect IP PORT             connects to IP:PORT and sends a line
 * Near-miss: the same environment, but the connection goes to 127.0.0.2 (another loopback
 * address, not the API server's). */
#define _GNU_SOURCE
#include "trigger.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int do_connect(const char *ip, const char *port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(port))};
    if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) die("bad ip %s", ip);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) die("socket");
    if (connect(s, (struct sockaddr *)&addr, sizeof addr) < 0) {
        fact("connect_errno=%s", strerrorname_np(errno));
    } else {
        write(s, "GET /api HTTP/1.0\r\n\r\n", 21);
    }
    close(s);
    fact("pid=%d", getpid());
    fact("connected=%s:%s", ip, port);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "connect")) return do_connect(argv[2], argv[3]);
    int attack = attack_mode(argc, argv, "PORT");
    if (argc < 3) die("port?");
    /* strings in writable memory, as a shell or kubelet would pass them */
    char self[4096], stage[] = "connect", ip[16], port[16];
    char host[] = "KUBERNETES_SERVICE_HOST=127.0.0.1", kport[] = "KUBERNETES_SERVICE_PORT=443",
         path[] = "PATH=/usr/bin:/bin";
    snprintf(self, sizeof self, "%s", argv[0]);   /* keeps the comm readable (not "exe") */
    snprintf(ip, sizeof ip, "%s", attack ? "127.0.0.1" : "127.0.0.2");
    snprintf(port, sizeof port, "%s", argv[2]);
    char *args[] = {self, stage, ip, port, NULL};
    char *env[] = {host, kport, path, NULL};
    fact("api_ip=127.0.0.1");
    fflush(stdout);
    if (argc > 3 && !strcmp(argv[3], "literal")) {
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            char *largs[] = {"/run/e2e-bin/k8s_api_connection", "connect",
                             attack ? "127.0.0.1" : "127.0.0.2", port, NULL};
            char *lenv[] = {"KUBERNETES_SERVICE_HOST=127.0.0.1", "KUBERNETES_SERVICE_PORT=443",
                            "PATH=/usr/bin:/bin", NULL};
            execve("/run/e2e-bin/k8s_api_connection", largs, lenv);
            die("execve");
        }
        int status;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    execve(self, args, env);
    die("execve");
}
