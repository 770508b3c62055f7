/* TRC-14 trigger (in a container): write-open a cgroup v1 `release_agent` file, the first step of
 * the release_agent container escape. The file is a plain file the test placed in the
 * container's own tmpfs, so no real cgroup hierarchy is touched. Near-miss: read it. */
#include "trigger.h"

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "PATH");
    if (argc < 3) die("path?");
    const char *path = argv[2];
    char buf[128];
    int fd = open(path, (attack ? O_WRONLY | O_TRUNC : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) die("open %s", path);
    if (attack) {
        if (write(fd, "/payload.sh\n", 12) != 12) die("write");
    } else if (read(fd, buf, sizeof buf) < 0) {
        die("read");
    }
    close(fd);
    fact("pid=%d", getpid());
    fact("path=%s", path);
    return 0;
}
