"""The filters K8S-1..6 declare in their selectors (Rego/CEL `filters`, Python predicates) are
sound: the same findings with the engine checking them as without."""

from __future__ import annotations

import itertools
from pathlib import Path

from tracee import Event
from tracee.testing import assert_declarations_sound, installed_signatures, make_event

DATA = Path(__file__).parent / "data"
IDS = [f"K8S-{n}" for n in range(1, 7)]


def fresh():
    return installed_signatures(rules=IDS)


def test_every_rule_declares_filters():
    for sig in fresh():
        if sig.get_metadata().id == "K8S-2":
            continue  # matches on argv[0] too: nothing narrower than the event can be declared
        assert any(sel.where for sel in sig.get_selected_events()), sig.get_metadata().id


def test_declarations_hide_no_finding():
    events = [Event.from_json(line) for path in sorted(DATA.glob("*.jsonl"))
              for line in path.read_text().splitlines() if line.strip()]
    paths = ["/var/lib/kubelet/pki/kubelet.key", "/etc/kubernetes/admin.conf", "/root/.kube/config",
             "/etc/rancher/k3s/k3s.yaml", "/proc/sys/kernel/core_pattern", "/sys/kernel/uevent_helper",
             "/var/run/docker.sock", "/run/containerd/containerd.sock", "/etc/hosts", "/usr/bin/nsenter",
             "/bin/busybox", "/usr/local/bin/kubectl", "unshare"]
    for path, flags, origin in itertools.product(paths, ["O_RDONLY", "O_WRONLY", 0, 1, 2], [True, False, "init"]):
        events.append(make_event("security_file_open", pathname=path, flags=flags, container=origin))
    for path, origin in itertools.product(paths, [True, False]):
        events.append(make_event("sched_process_exec", pathname=path, cmdpath=path, argv=[path.rsplit("/")[-1]],
                                 container=origin))
    for address in [{"sa_family": "AF_INET", "sin_addr": "169.254.169.254", "sin_port": "80"},
                    {"sa_family": "AF_INET6", "sin6_addr": "fd00:ec2::254", "sin6_port": "80"},
                    {"sa_family": "AF_INET6", "sin6_addr": "169.254.169.254", "sin6_port": "80"},
                    {"sa_family": "AF_INET", "sin_addr": "10.0.0.1", "sin_port": "80"},
                    {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"},
                    {"sa_family": "AF_UNIX", "sun_path": "/tmp/x.sock"}]:
        events.append(make_event("security_socket_connect", sockfd=3, remote_addr=address, container=True))
    saved = assert_declarations_sound(fresh, events)
    assert saved > 100
