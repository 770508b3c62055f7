/* TRC-6 triggers: attempts to load a kernel module from a bogus image, which the kernel rejects
 * (ENOEXEC/EINVAL, or ENOSYS on a kernel without module support): nothing is ever loaded.
 *   init    init_module(image in memory)
 *   finit   finit_module(fd of the image file argv[3])
 * Near-miss: the same image file opened and read, no module syscall. */
#include "trigger.h"
#include <sys/syscall.h>

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "init|finit IMAGE-FILE");
    if (argc < 4) die("usage: attack|benign init|finit IMAGE-FILE");
    const char *how = argv[2], *path = argv[3];
    char image[256];
    memset(image, 0, sizeof image);
    memcpy(image, "not a kernel module", 19);   /* no ELF magic: rejected before anything else */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, image, sizeof image) != sizeof image) die("write %s", path);
    close(fd);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open %s", path);
    fact("pid=%d", getpid());
    fact("path=%s", path);
    long rc = 0;
    if (!attack) {
        rc = read(fd, image, sizeof image);
    } else if (!strcmp(how, "init")) {
        rc = syscall(SYS_init_module, image, sizeof image, "");
    } else if (!strcmp(how, "finit")) {
        rc = syscall(SYS_finit_module, fd, "", 0);
    } else {
        die("unknown method %s", how);
    }
    if (attack) {
        if (rc == 0) die("the kernel accepted a bogus module image");
        fact("errno=%s", strerrorname_np(errno));
    }
    close(fd);
    unlink(path);
    return 0;
}
