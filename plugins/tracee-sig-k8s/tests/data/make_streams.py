"""Writes the test event streams `k8s-<n>.jsonl` (each event fires K8S-<n>) and `k8s-<n>-nearmiss.jsonl`
(none may fire it) in tracee-ebpf's JSON form (`--output json -o option:parse-arguments`).

Run `python make_streams.py` after changing it; the .jsonl files are committed, so the tests
need only the files. Each event is written out whole, so a stream doubles as an example of
what the rule sees; replace or extend them with lines captured from a real node.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from tracee.events import catalog

HERE = Path(__file__).parent
_clock = itertools.count(1_700_000_000_000_000_000, 1_234_567)
_pids = itertools.count(31)

CONTAINER = {"containerId": "3b1f9a7c2d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4",
             "containerImage": "docker.io/library/alpine:3.19", "containerName": "shell",
             "podName": "web-5c7d8f9b6-qx2lp", "podNamespace": "default",
             "podUID": "5f2c1a9e-0d3b-4c7a-9e21-6b8d4f3a2c10"}
HOST = {"containerId": "", "containerImage": "", "containerName": "", "podName": "", "podNamespace": "",
        "podUID": ""}


def event(name: str, args: list[tuple[str, str, Any]], *, origin: str = "container", comm: str = "sh",
          pid: int | None = None, ret: int = 0) -> dict[str, Any]:
    """One event as tracee-ebpf prints it. `origin`: container (started), container-init, or host."""
    ts = next(_clock)
    pid = pid if pid is not None else next(_pids)
    in_container = origin != "host"
    host_pid = 200_000 + pid if in_container else 4_000 + pid
    context = CONTAINER if in_container else HOST
    return {
        "timestamp": ts, "threadStartTime": ts - 2_000_000_000, "processorId": 1, "processId": pid,
        "cgroupId": 6123 if in_container else 1, "threadId": pid, "parentProcessId": 1,
        "hostProcessId": host_pid, "hostThreadId": host_pid, "hostParentProcessId": 199_990 if in_container else 1,
        "userId": 0, "mountNamespace": 4026532601 if in_container else 4026531840,
        "pidNamespace": 4026532604 if in_container else 4026531836, "processName": comm,
        "hostName": "web-5c7d8f9b6-qx2lp" if in_container else "ip-10-0-1-17", **context,
        "eventId": str(catalog.by_name(name).id), "eventName": name, "argsNum": len(args), "returnValue": ret,
        "stackAddresses": None, "contextFlags": {"containerStarted": origin == "container"},
        "args": [{"name": n, "type": t, "value": v} for n, t, v in args],
    }


def exec_(pathname: str, argv: list[str], *, cmdpath: str | None = None, **kw: Any) -> dict[str, Any]:
    return event("sched_process_exec", [
        ("cmdpath", "const char*", cmdpath or pathname), ("pathname", "const char*", pathname),
        ("argv", "const char**", argv), ("dev", "dev_t", 2049), ("inode", "unsigned long", 1835117),
        ("invoked_from_kernel", "int", 0), ("ctime", "unsigned long", 1699990000123456789),
        ("stdin_type", "string", "S_IFCHR"), ("inode_mode", "umode_t", 33261),
        ("interp", "const char*", cmdpath or pathname),
        ("interpreter_pathname", "const char*", "/lib/ld-musl-x86_64.so.1"),
        ("interpreter_dev", "dev_t", 2049), ("interpreter_inode", "unsigned long", 1835009)],
        comm=kw.pop("comm", pathname.rsplit("/", 1)[-1][:15]), **kw)


def exit_(pid: int, *, group: bool = True, **kw: Any) -> dict[str, Any]:
    return event("sched_process_exit", [("exit_code", "long", 0), ("process_group_exit", "bool", group)],
                 pid=pid, **kw)


def open_(pathname: str, flags: str | int, **kw: Any) -> dict[str, Any]:
    return event("security_file_open", [
        ("pathname", "const char*", pathname), ("flags", "string" if isinstance(flags, str) else "int", flags),
        ("dev", "dev_t", 2049), ("inode", "unsigned long", 1835230), ("ctime", "unsigned long", 1699990000123456789),
        ("syscall_pathname", "const char*", pathname), ("syscall", "int", "openat")], **kw)


def connect(addr: dict[str, str], **kw: Any) -> dict[str, Any]:
    return event("security_socket_connect", [("sockfd", "int", 3), ("remote_addr", "struct sockaddr*", addr)],
                 **kw)


def inet(ip: str, port: int = 80) -> dict[str, str]:
    return {"sa_family": "AF_INET", "sin_port": str(port), "sin_addr": ip}


def inet6(ip: str, port: int = 80) -> dict[str, str]:
    return {"sa_family": "AF_INET6", "sin6_port": str(port), "sin6_flowinfo": "0", "sin6_addr": ip,
            "sin6_scopeid": "0"}


def unix(path: str) -> dict[str, str]:
    return {"sa_family": "AF_UNIX", "sun_path": path}


def elsewhere(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same events seen on the host and in a container not yet started (runc init)."""
    out = []
    for origin in ("host", "container-init"):
        for e in events:
            copy = json.loads(json.dumps(e))
            copy["timestamp"] = next(_clock)
            copy["contextFlags"]["containerStarted"] = False
            if origin == "host":
                copy.update(HOST)
                copy["hostProcessId"] = copy["hostThreadId"] = copy["processId"] + 4_000
            out.append(copy)
    return out


def streams() -> dict[str, list[dict[str, Any]]]:
    s: dict[str, list[dict[str, Any]]] = {}

    # K8S-1: cloud metadata service
    k1 = [connect(inet("169.254.169.254"), comm="curl"),
          connect(inet6("fd00:ec2::254"), comm="aws"),
          connect(inet6("169.254.169.254"), comm="python3")]  # IPv4-mapped, as Go prints it
    s["k8s-1"] = k1
    s["k8s-1-nearmiss"] = [
        *elsewhere(k1),
        connect(inet("169.254.169.253", 53), comm="nslookup"),  # the VPC DNS resolver
        connect(inet("169.254.170.2"), comm="python3"),
        connect(inet("10.96.0.1", 443), comm="curl"),
        connect(inet6("fd00:ec2::253", 53), comm="nslookup"),
        connect(unix("/tmp/169.254.169.254"), comm="curl"),
        connect({"sa_family": "AF_UNSPEC"}, comm="curl"),
    ]

    # K8S-2: kubectl / crictl / ctr / nerdctl
    k2 = [exec_("/usr/local/bin/kubectl", ["kubectl", "get", "secrets", "-A", "-o", "yaml"]),
          exec_("/usr/bin/crictl", ["crictl", "--runtime-endpoint", "unix:///host/run/containerd/containerd.sock",
                                    "ps"]),
          exec_("/usr/bin/ctr", ["ctr", "-n", "k8s.io", "containers", "ls"]),
          exec_("/tmp/nerdctl", ["nerdctl", "run", "--privileged", "-v", "/:/host", "alpine"]),
          exec_("/bin/busybox", ["kubectl", "auth", "can-i", "--list"], cmdpath="/usr/local/bin/kubectl",
                comm="kubectl"),
          exec_("/tmp/.cache/k", ["kubectl", "create", "clusterrolebinding", "x"], comm="k")]
    s["k8s-2"] = k2
    s["k8s-2-nearmiss"] = [
        *elsewhere(k2),
        exec_("/usr/local/bin/kubectx", ["kubectx"]),
        exec_("/usr/bin/kubectl-convert", ["kubectl-convert", "-f", "a.yaml"]),
        exec_("/usr/bin/ctrl", ["ctrl"]),
        exec_("/usr/bin/containerd-shim-runc-v2", ["containerd-shim-runc-v2", "-namespace", "k8s.io"]),
        exec_("/bin/sh", ["sh", "-c", "kubectl get pods"]),
        exec_("/usr/local/bin/kubectl.sh", ["kubectl.sh"]),
    ]

    # K8S-3: kubelet / kubeconfig credentials read
    k3 = [open_("/var/lib/kubelet/pki/kubelet-client-current.pem", "O_RDONLY|O_LARGEFILE", comm="cat"),
          open_("/var/lib/kubelet/kubeconfig", "O_RDONLY", comm="kubectl"),
          open_("/etc/kubernetes/admin.conf", "O_RDONLY|O_CLOEXEC", comm="kubectl"),
          open_("/etc/kubernetes/kubelet.conf", 0, comm="cat"),  # raw flags (no parse-arguments)
          open_("/root/.kube/config", "O_RDWR", comm="python3"),
          open_("/home/dev/.kube/config", "O_RDONLY", comm="tar"),
          open_("/etc/rancher/k3s/k3s.yaml", 32768, comm="cat")]  # O_RDONLY|O_LARGEFILE, raw
    s["k8s-3"] = k3
    s["k8s-3-nearmiss"] = [
        *elsewhere(k3),
        open_("/root/.kube/config", "O_WRONLY|O_CREAT|O_TRUNC", comm="kubectl"),
        open_("/etc/kubernetes/admin.conf", 1, comm="cp"),  # raw O_WRONLY
        open_("/etc/kubernetes/manifests/kube-apiserver.yaml", "O_RDONLY", comm="cat"),
        open_("/etc/kubernetes/admin.conf.bak", "O_RDONLY", comm="cat"),
        open_("/var/lib/kubelet/pki", "O_RDONLY|O_DIRECTORY", comm="ls"),
        open_("/var/lib/kubelet/config.yaml", "O_RDONLY", comm="cat"),
        open_("/root/.kube/cache/discovery/servergroups.json", "O_RDONLY", comm="kubectl"),
        open_("/tmp/var/lib/kubelet/pki/x.pem", "O_RDONLY", comm="cat"),
    ]

    # K8S-4: nsenter / unshare / chroot
    k4 = [exec_("/usr/bin/nsenter", ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid",
                                     "--", "bash"]),
          exec_("/usr/bin/unshare", ["unshare", "-r", "-m", "sh"]),
          exec_("/usr/sbin/chroot", ["chroot", "/host", "bash"]),
          exec_("/bin/busybox", ["nsenter", "-t", "1", "-a", "sh"], cmdpath="/usr/bin/nsenter", comm="nsenter")]
    s["k8s-4"] = k4
    s["k8s-4-nearmiss"] = [
        *elsewhere(k4),
        exec_("/usr/bin/chrootkit", ["chrootkit"]),
        exec_("/usr/local/bin/nsenter-helper", ["nsenter-helper"]),
        exec_("/usr/bin/python3", ["python3", "/app/unshare.py"]),
        exec_("/bin/busybox", ["busybox", "ls"], cmdpath="/bin/ls", comm="ls"),
    ]

    # K8S-5: container runtime socket (the Python rule, stateful: the command comes from the exec)
    docker = exec_("/usr/bin/docker", ["docker", "run", "--privileged", "-v", "/:/host", "alpine"], pid=77)
    curl = exec_("/usr/bin/curl", ["curl", "--unix-socket", "/run/containerd/containerd.sock", "http://x/"],
                 pid=78)
    reused = exec_("/usr/bin/socat", ["socat", "-", "UNIX-CONNECT:/var/run/docker.sock"], pid=79)
    k5 = [docker, connect(unix("/var/run/docker.sock"), pid=77, comm="docker"),
          curl, connect(unix("/run/containerd/containerd.sock"), pid=78, comm="curl"),
          # pid 79 exits and is reused by a process whose exec was not seen: no command
          reused, exit_(79), connect(unix("/host/run/crio/crio.sock"), pid=79, comm="sh"),
          open_("/var/run/docker.sock", "O_RDWR", comm="socat")]
    s["k8s-5"] = k5
    s["k8s-5-nearmiss"] = [
        *elsewhere([e for e in k5 if e["eventName"] != "sched_process_exec"]),
        connect(unix("/var/run/nscd/socket"), comm="getent"),
        connect(unix("/var/run/docker.sock.bak"), comm="curl"),
        connect(unix("@/containerd-shim/k8s.io/3b1f9a7c/shim.sock"), comm="sh"),
        connect(inet("127.0.0.1", 2375), comm="curl"),
        open_("/var/run/docker.pid", "O_RDONLY", comm="cat"),
        open_("/etc/docker.sock.conf", "O_RDONLY", comm="cat"),
    ]

    # K8S-6: kernel parameters written
    k6 = [open_("/proc/sys/kernel/core_pattern", "O_WRONLY|O_CREAT|O_TRUNC", comm="sh"),
          open_("/sys/kernel/uevent_helper", "O_WRONLY", comm="sh"),
          open_("/proc/sys/kernel/modprobe", "O_RDWR", comm="python3"),
          open_("/proc/sys/vm/drop_caches", 577, comm="sh")]  # raw O_WRONLY|O_CREAT|O_TRUNC
    s["k8s-6"] = k6
    s["k8s-6-nearmiss"] = [
        *elsewhere(k6),
        open_("/proc/sys/kernel/core_pattern", "O_RDONLY", comm="cat"),
        open_("/proc/sys/kernel/hostname", 0, comm="cat"),
        open_("/proc/sysvipc/msg", "O_RDWR", comm="sh"),
        open_("/proc/self/attr/current", "O_WRONLY", comm="runc"),
        open_("/sys/kernelx/foo", "O_WRONLY", comm="sh"),
        open_("/tmp/proc/sys/kernel/core_pattern", "O_WRONLY", comm="sh"),
    ]
    return s


def main() -> None:
    for name, events in streams().items():
        with open(HERE / f"{name}.jsonl", "w") as f:
            for e in events:
                f.write(json.dumps(e, separators=(",", ":")) + "\n")
        print(f"{name}.jsonl: {len(events)} events")


if __name__ == "__main__":
    main()
