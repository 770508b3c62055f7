/* TRC-3 triggers: three ways to write into another process's memory, each aimed at a variable
 * of an idle child (never its code, so nothing runs differently):
 *   poketext  PTRACE_POKETEXT          (near-miss: PTRACE_PEEKTEXT, a read)
 *   procmem   write-open /proc/<pid>/mem (near-miss: read-only open)
 *   vmwritev  process_vm_writev(child) (near-miss: process_vm_writev into ourselves)
 */
#include "trigger.h"
#include <sys/ptrace.h>
#include <sys/uio.h>

static volatile long target = 0x1111;
static volatile long scratch = 0;

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "poketext|procmem|vmwritev");
    if (argc < 3) die("which injection?");
    const char *how = argv[2];
    long value = 0x2222;
    pid_t child = idle_child();
    fact("pid=%d", getpid());
    fact("child=%d", child);
    if (!strcmp(how, "poketext")) {
        if (ptrace(PTRACE_ATTACH, child, NULL, NULL) < 0) die("ptrace(PTRACE_ATTACH)");
        waitpid(child, NULL, 0);
        errno = 0;
        if (attack) {
            if (ptrace(PTRACE_POKETEXT, child, (void *)&target, (void *)value) < 0) die("POKETEXT");
        } else {
            ptrace(PTRACE_PEEKTEXT, child, (void *)&target, NULL);
            if (errno) die("PEEKTEXT");
        }
        ptrace(PTRACE_DETACH, child, NULL, NULL);
    } else if (!strcmp(how, "procmem")) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", child);
        fact("path=%s", path);
        int fd = open(path, attack ? O_WRONLY : O_RDONLY);
        if (fd < 0) die("open %s", path);
        if (attack) {
            if (pwrite(fd, &value, sizeof value, (off_t)(unsigned long)&target) != sizeof value) die("pwrite");
        } else {
            if (pread(fd, &value, sizeof value, (off_t)(unsigned long)&target) != sizeof value) die("pread");
        }
        close(fd);
    } else if (!strcmp(how, "vmwritev")) {
        struct iovec local = {&value, sizeof value};
        struct iovec remote = {(void *)&target, sizeof value};
        pid_t into = child;
        if (!attack) {   /* into ourselves: not an injection */
            remote.iov_base = (void *)&scratch;
            into = getpid();
        }
        if (process_vm_writev(into, &local, 1, &remote, 1, 0) != sizeof value) die("process_vm_writev");
    } else {
        die("unknown injection %s", how);
    }
    reap(child);
    return 0;
}
