"""K8S-5 (runtime socket, Python): address forms, per-process command state, settings, config file."""

from __future__ import annotations

import struct

import pytest

from conftest import DATA, run_stream, tracee
from tracee import SignatureError
from tracee_sig_k8s.runtime_socket import RuntimeSocketAccess


def connect(make_event, addr, pid=50, container=True, image="docker.io/library/alpine:3.19"):
    return make_event("security_socket_connect", sockfd=3, remote_addr=addr, container=container,
                      context={"host_process_id": pid, "container_image": image if container else ""})


def exec_(make_event, argv, pid=50, container=True):
    return make_event("sched_process_exec", pathname="/usr/bin/" + argv[0], argv=argv, container=container,
                      context={"host_process_id": pid})


def exit_(make_event, pid=50, group=True):
    return make_event("sched_process_exit", exit_code=0, process_group_exit=group, container=True,
                      context={"host_process_id": pid})


def unix_raw(path: str) -> bytes:
    return struct.pack("<H", 1) + path.encode() + b"\0" * (108 - len(path))


@pytest.mark.parametrize("addr", [
    {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"},
    "{'sa_family': 'AF_UNIX','sun_path': '/var/run/docker.sock'}",  # Tracee v0.6.0-v0.6.4 string form
    unix_raw("/var/run/docker.sock"),  # raw struct bytes, as an input may pass them
])
def test_every_sockaddr_form(run_signatures, make_event, addr):
    findings = run_signatures([RuntimeSocketAccess()], [connect(make_event, addr)])
    assert [(f.metadata.id, f.data) for f in findings] == [
        ("K8S-5", {"socket": "/var/run/docker.sock", "access": "connect", "command": ""})]


@pytest.mark.parametrize("path", ["/run/containerd/containerd.sock", "/run/k3s/containerd/containerd.sock",
                                  "/var/run/crio/crio.sock", "/var/run/dockershim.sock",
                                  "/run/podman/podman.sock", "/run/containerd/containerd.sock.ttrpc"])
def test_every_runtime(run_signatures, make_event, path):
    event = connect(make_event, {"sa_family": "AF_UNIX", "sun_path": path})
    assert run_signatures([RuntimeSocketAccess()], [event]).ids == ["K8S-5"]


def test_command_is_remembered_per_process_and_forgotten_at_exit(run_signatures, make_event):
    sock = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}
    events = [exec_(make_event, ["docker", "ps"], pid=50), exec_(make_event, ["ctr", "c", "ls"], pid=51),
              connect(make_event, sock, pid=51), connect(make_event, sock, pid=50),
              exit_(make_event, pid=50, group=False),  # one thread of it: the process lives on
              connect(make_event, sock, pid=50),
              exit_(make_event, pid=50), connect(make_event, sock, pid=50)]
    findings = run_signatures([RuntimeSocketAccess()], events)
    assert [f.data["command"] for f in findings] == ["ctr c ls", "docker ps", "docker ps", ""]


def test_host_and_container_init_are_not_watched(run_signatures, make_event):
    sock = {"sa_family": "AF_UNIX", "sun_path": "/run/containerd/containerd.sock"}
    events = [connect(make_event, sock, container=False), connect(make_event, sock, container="init")]
    assert run_signatures([RuntimeSocketAccess()], events) == []


def test_state_is_bounded(run_signatures, make_event, capsys):
    sig = RuntimeSocketAccess()
    sig.configure({"max_processes": 2})
    sock = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}
    events = [exec_(make_event, ["docker", str(pid)], pid=pid) for pid in (1, 2, 3)]
    events += [connect(make_event, sock, pid=1), connect(make_event, sock, pid=3)]
    findings = run_signatures([sig], events)
    assert [f.data["command"] for f in findings] == ["", "docker 3"]
    assert "K8S-5: 1 process(es) evicted" in capsys.readouterr().err


def test_long_command_lines_are_cut(run_signatures, make_event):
    sock = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}
    findings = run_signatures([RuntimeSocketAccess()], [exec_(make_event, ["docker", "x" * 5000]),
                                                        connect(make_event, sock)])
    command = findings[0].data["command"]
    assert len(command) == 512 and command.endswith("...")


def test_allowed_images(run_signatures, make_event):
    sig = RuntimeSocketAccess()
    sig.configure({"allowed_images": ["gcr.io/cadvisor/cadvisor", "datadog/agent:7"]})
    sock = {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}
    events = [connect(make_event, sock, image=image) for image in (
        "gcr.io/cadvisor/cadvisor:v0.47.0", "gcr.io/cadvisor/cadvisor@sha256:abc", "datadog/agent:7",
        "datadog/agent:7.50", "gcr.io/cadvisor/cadvisor-evil:1", "docker.io/library/docker:24")]
    findings = run_signatures([sig], events)
    assert [f.event.container_image for f in findings] == [
        "datadog/agent:7.50", "gcr.io/cadvisor/cadvisor-evil:1", "docker.io/library/docker:24"]


@pytest.mark.parametrize("settings, message", [
    ({"allowed": []}, "unknown setting 'allowed' for K8S-5"),
    ({"allowed_images": "cadvisor"}, "must be a list of image names"),
    ({"allowed_images": [""]}, "must be a list of image names"),
    ({"max_processes": 0}, "must be a positive integer"),
])
def test_bad_settings(settings, message):
    with pytest.raises(SignatureError, match=message):
        RuntimeSocketAccess().configure(settings)


def test_garbage_address_is_counted_not_fatal(run_signatures, make_event, tracee_logs):
    bad = connect(make_event, 12345)
    good = connect(make_event, {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"})
    findings = run_signatures([RuntimeSocketAccess()], [bad, good])
    assert findings.ids == ["K8S-5"]
    assert tracee_logs.count() == 1 and "K8S-5" in tracee_logs.text


def test_allow_list_from_the_config_file(tmp_path):
    config = tmp_path / "tracee.yaml"
    config.write_text("signatures:\n  K8S-5:\n    allowed_images: [docker.io/library/alpine]\n")
    assert run_stream(DATA / "k8s-5.jsonl", "--config", str(config)) == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("signatures:\n  K8S-5:\n    allowed_image: [alpine]\n")
    proc = tracee("run", "--input", f"file:{DATA / 'k8s-5.jsonl'}", "--config", str(bad))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "unknown setting 'allowed_image' for K8S-5" in proc.stderr

