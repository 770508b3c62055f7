/* TRC-8 trigger (in a container): read the Kubernetes service-account token. Near-miss: read the
 * namespace file beside it. */
#include "trigger.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount/"

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    const char *path = attack ? SA_DIR "token" : SA_DIR "namespace";
    char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) die("read %s", path);
    close(fd);
    fact("pid=%d", getpid());
    fact("path=%s", path);
    return 0;
}
