/* TRC-2 trigger: a child asks to be traced by its parent (PTRACE_TRACEME), the classic
 * anti-debugging move. Near-miss: a different ptrace request (GETREGS on an untraced child,
 * which fails with ESRCH). */
#include "trigger.h"
#include <sys/ptrace.h>
#include <sys/user.h>

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        if (attack) {
            if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0) die("ptrace(PTRACE_TRACEME)");
        } else {
            struct user_regs_struct regs;
            ptrace(PTRACE_GETREGS, getppid(), NULL, &regs);   /* not our tracee: ESRCH */
        }
        _exit(0);
    }
    fact("pid=%d", child);
    int status;
    waitpid(child, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
