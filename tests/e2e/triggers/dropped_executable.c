/* TRC-9 trigger (in a container): drop an executable — /bin/true copied to a new file with
 * read()/write(). Near-miss: the same copy of a text file. The file is removed afterwards. */
#include "trigger.h"

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "DEST");
    if (argc < 3) die("destination?");
    const char *src = attack ? "/bin/true" : "/etc/os-release";
    int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
    if (out < 0) die("open %s", argv[2]);
    copy_file(src, out);
    close(out);
    unlink(argv[2]);
    fact("pid=%d", getpid());
    fact("path=%s", argv[2]);
    return 0;
}
