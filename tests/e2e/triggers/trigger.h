/* Shared helpers of the e2e trigger programs: mode parsing, facts for the test, fatal errors.
 *
 * Every trigger takes a mode first: "attack" does the suspicious step, "benign" runs the same
 * program with that one step replaced by a harmless near-miss. A trigger prints "fact: k=v" lines
 * (pids, ports, paths) that the test needs to build the expected finding.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((unused)) static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "trigger: ");
    vfprintf(stderr, fmt, ap);
    if (errno) fprintf(stderr, ": %s", strerror(errno));
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

__attribute__((unused)) static void fact(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("fact: ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

/* argv[1] is "attack" or "benign"; returns 1 for attack. */
static int attack_mode(int argc, char **argv, const char *usage) {
    if (argc < 2 || (strcmp(argv[1], "attack") && strcmp(argv[1], "benign"))) {
        fprintf(stderr, "usage: %s attack|benign %s\n", argv[0], usage);
        exit(64);
    }
    return strcmp(argv[1], "attack") == 0;
}

/* A child that just waits to be injected into (and killed). */
__attribute__((unused)) static pid_t idle_child(void) {
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the trigger, even if it dies */
        for (;;) pause();
    }
    return pid;
}

__attribute__((unused)) static void reap(pid_t pid) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Copy a file with read()/write() so the first write at offset 0 is a write(2) the eBPF input
 * sees (cp uses copy_file_range). */
__attribute__((unused)) static void copy_file(const char *src, int out) {
    char buf[65536];
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) die("open %s", src);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
        if (write(out, buf, n) != n) die("write");
    }
    if (n < 0) die("read %s", src);
    close(in);
}
