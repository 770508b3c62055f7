/* TRC-12 trigger: a process named like a web server (comm "nginx") executes a shell, as after an
 * RCE in the server. Near-miss: the same process executes /bin/true. */
#include "trigger.h"
#include <sys/prctl.h>

extern char **environ;

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    if (prctl(PR_SET_NAME, "nginx", 0, 0, 0) < 0) die("prctl(PR_SET_NAME)");
    fact("pid=%d", getpid());
    fflush(stdout);
    if (attack) {
        char *args[] = {"sh", "-c", "exit 0", NULL};
        execve("/bin/sh", args, environ);
    } else {
        char *args[] = {"true", NULL};
        execve("/bin/true", args, environ);
    }
    die("execve");
}
