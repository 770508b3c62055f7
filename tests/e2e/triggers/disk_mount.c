/* TRC-11 trigger (in a container): mount a block device (argv[2], a loop device the test made
 * from a small ext2 image) read-only, then unmount it. Near-miss: mount a tmpfs on the same
 * directory. The mount lives in the container's private mount namespace. */
#include "trigger.h"
#include <sys/mount.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "DEVICE FSTYPE MOUNTPOINT");
    if (argc < 5) die("usage: attack|benign DEVICE FSTYPE MOUNTPOINT");
    const char *dev = attack ? argv[2] : "tmpfs", *fstype = attack ? argv[3] : "tmpfs";
    const char *dir = argv[4];
    mkdir(dir, 0755);
    if (mount(dev, dir, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        /* the attempt is what counts; say why it failed */
        fact("mount_errno=%s", strerrorname_np(errno));
    } else {
        umount2(dir, MNT_DETACH);
    }
    fact("pid=%d", getpid());
    fact("device=%s", dev);
    return 0;
}
