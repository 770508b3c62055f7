/* A minimal container without a container engine, for the container-only triggers.
 *
 *   container_launcher [-g CGROUP_PROCS]... [-n HOSTNAME] [ACTION]... -- PROGRAM ARGS...
 *
 * Joins the given cgroups (a runtime-style path the test created, e.g. .../docker/<64 hex>),
 * then unshares mount, UTS, IPC and pid namespaces, makes every mount private (nothing leaks to
 * the host), sets the hostname and forks the container's pid 1, which mounts a fresh /proc,
 * performs the ACTIONs in order and finally execs PROGRAM — the first exec inside the new mount
 * namespace, i.e. the moment a runtime's container "starts". ACTIONs:
 *   -t DIR               mount a tmpfs on DIR
 *   -o DIR:UPPER:WORK    mount an overlay on DIR (DIR's content below, writes go to UPPER)
 *   -b SRC:DST           bind-mount SRC (resolved now, so an earlier tmpfs may hide it later) on DST
 *   -d DIR               mkdir -p DIR
 *   -f PATH=CONTENT      create PATH with CONTENT
 * Exits with PROGRAM's status (128+signal if killed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void fail(const char *what, const char *arg) {
    fprintf(stderr, "container_launcher: %s %s: %s\n", what, arg ? arg : "", strerror(errno));
    exit(125);
}

static void mkdirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) fail("mkdir", buf);
        *p = '/';
    }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST) fail("mkdir", buf);
}

static void write_file(const char *path, const char *content, int mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) fail("create", path);
    size_t n = strlen(content);
    if (write(fd, content, n) != (ssize_t)n) fail("write", path);
    close(fd);
}

int main(int argc, char **argv) {
    const char *hostname = "e2e-container";
    int i = 1;
    /* pass 1: cgroups and hostname (before the namespaces change) */
    for (; i < argc && strcmp(argv[i], "--"); i++) {
        if (!strcmp(argv[i], "-g") && i + 1 < argc) {
            char pid[32];
            snprintf(pid, sizeof pid, "%d\n", getpid());
            int fd = open(argv[++i], O_WRONLY | O_CLOEXEC);
            if (fd < 0 || write(fd, pid, strlen(pid)) < 0) fail("join cgroup", argv[i]);
            close(fd);
        } else if (!strcmp(argv[i], "-n") && i + 1 < argc) {
            hostname = argv[++i];
        } else if (argv[i][0] == '-' && strchr("todfb", argv[i][1]) && i + 1 < argc) {
            i++;   /* an action: pass 2 */
        } else {
            fprintf(stderr, "container_launcher: unknown option %s\n", argv[i]);
            return 64;
        }
    }
    if (i >= argc - 1) {
        fprintf(stderr, "container_launcher: missing -- PROGRAM\n");
        return 64;
    }
    char **program = &argv[i + 1];
    if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) < 0) fail("unshare", NULL);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("make / private", NULL);
    if (sethostname(hostname, strlen(hostname)) < 0) fail("sethostname", hostname);
    pid_t child = fork();
    if (child < 0) fail("fork", NULL);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) fail("mount", "/proc");
        for (int j = 1; j < i; j++) {
            const char *opt = argv[j], *arg = argv[j + 1];
            if (!strcmp(opt, "-g") || !strcmp(opt, "-n")) { j++; continue; }
            j++;
            if (!strcmp(opt, "-t")) {
                if (mount("tmpfs", arg, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") < 0) fail("mount tmpfs on", arg);
            } else if (!strcmp(opt, "-o")) {
                char dir[4096], data[8192];
                snprintf(dir, sizeof dir, "%s", arg);
                char *upper = strchr(dir, ':');
                char *work = upper ? strchr(upper + 1, ':') : NULL;
                if (!work) { errno = EINVAL; fail("overlay spec", arg); }
                *upper++ = 0;
                *work++ = 0;
                snprintf(data, sizeof data, "lowerdir=%s,upperdir=%s,workdir=%s", dir, upper, work);
                if (mount("overlay", dir, "overlay", 0, data) < 0) fail("mount overlay on", dir);
            } else if (!strcmp(opt, "-b")) {
                char src[4096];
                snprintf(src, sizeof src, "%s", arg);
                char *dst = strchr(src, ':');
                if (!dst) { errno = EINVAL; fail("bind spec", arg); }
                *dst++ = 0;
                mkdirs(dst);
                if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0) fail("bind mount", arg);
            } else if (!strcmp(opt, "-d")) {
                mkdirs(arg);
            } else if (!strcmp(opt, "-f")) {
                char path[4096];
                snprintf(path, sizeof path, "%s", arg);
                char *eq = strchr(path, '=');
                if (!eq) { errno = EINVAL; fail("file spec", arg); }
                *eq = 0;
                write_file(path, eq + 1, 0600);
            }
        }
        if (chdir("/") < 0) fail("chdir", "/");
        execvp(program[0], program);
        fail("exec", program[0]);
    }
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) fail("waitpid", NULL);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
