/* TRC-5 trigger: run a program that exists only in memory — /bin/true copied into a memfd and
 * executed with fexecve. Near-miss: the same copy written to a regular file (argv[2]) and
 * executed from there (then removed). */
#include "trigger.h"
#include <sys/mman.h>

extern char **environ;

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "FILE-FOR-BENIGN");
    int fd;
    if (attack) {
        fd = memfd_create("e2e-fileless", 0);
        if (fd < 0) die("memfd_create");
        fact("path=memfd:e2e-fileless");
    } else {
        if (argc < 3) die("benign needs a file path");
        fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
        if (fd < 0) die("open %s", argv[2]);
        fact("path=%s", argv[2]);
    }
    copy_file("/bin/true", fd);
    if (!attack) {   /* a regular file cannot be executed while open for writing */
        close(fd);
    }
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
        char *args[] = {"true", NULL};
        if (attack) fexecve(fd, args, environ);
        else execve(argv[2], args, environ);
        die("exec");
    }
    fact("pid=%d", child);
    int status;
    waitpid(child, &status, 0);
    if (!attack) unlink(argv[2]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
