/* TRC-10 trigger: read a Kubernetes PKI key under /etc/kubernetes/pki/. Near-miss: read a
 * kubeconfig beside that directory. */
#include "trigger.h"

int main(int argc, char **argv) {
    int attack = attack_mode(argc, argv, "");
    const char *path = attack ? "/etc/kubernetes/pki/ca.key" : "/etc/kubernetes/kubelet.conf";
    char buf[256];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, buf, sizeof buf) < 0) die("read %s", path);
    close(fd);
    fact("pid=%d", getpid());
    fact("path=%s", path);
    return 0;
}
