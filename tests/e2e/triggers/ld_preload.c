/* TRC-7 triggers:
 *   env   execute /bin/true with LD_PRELOAD in its environment (empty value: nothing is loaded)
 *         near-miss: the same exec with an unrelated variable
 *   env-literal  the same, every string a literal of the forked child (on pages it has not
 *         touched, which a BPF probe cannot read at execve entry)
 *   file  write-open /etc/ld.so.preload without writing anything; if it did not exist, the empty
 *         file created is removed at once (the test also restores it). Near-miss: write-open of
 *         a file named ld.so.preload elsewhere (argv[3]).
 */
#include "trigger.h"

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "env|env-literal|file [OTHER-PRELOAD-FILE]");
    if (argc < 3) die("env, env-literal or file?");
    if (!strcmp(argv[2], "env-literal")) {
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            char *args[] = {"true", NULL};
            char *env[] = {"LD_PRELOAD=", "PATH=/usr/bin:/bin", NULL};
            char *near[] = {"E2E_NEAR_MISS=1", "PATH=/usr/bin:/bin", NULL};
            execve("/bin/true", args, attack ? env : near);
            die("execve");
        }
        fact("pid=%d", child);
        int status;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (!strcmp(argv[2], "env")) {
        pid_t child = fork();
        if (child < 0) die("fork");
        if (child == 0) {
            /* Strings built in writable memory, as a shell builds them: string literals of a
             * freshly forked child sit on pages the child has not touched, which a BPF probe
             * cannot fault in at execve entry. */
            char path[] = "/bin/true", arg0[] = "true", var[32], search[] = "PATH=/usr/bin:/bin";
            snprintf(var, sizeof var, "%s", attack ? "LD_PRELOAD=" : "E2E_NEAR_MISS=1");
            char *args[] = {arg0, NULL};
            char *env[] = {var, search, NULL};
            execve(path, args, env);
            die("execve");
        }
        fact("pid=%d", child);   /* the process whose execve carries the environment */
        int status;
        waitpid(child, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    }
    if (strcmp(argv[2], "file")) die("unknown method %s", argv[2]);
    fact("pid=%d", getpid());
    const char *path = "/etc/ld.so.preload";
    if (!attack) {
        if (argc < 4) die("benign file needs a path");
        path = argv[3];
    }
    int existed = access(path, F_OK) == 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) die("open %s", path);
    close(fd);
    if (!existed) unlink(path);
    fact("path=%s", path);
    return 0;
}
