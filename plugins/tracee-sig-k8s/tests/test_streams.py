"""Each rule fires on its event stream and on none of its near misses, through the real CLI
(`tracee run --input file:X --output json`) with the pack installed and no --rules-dir."""

from __future__ import annotations

import importlib.util
import re

import pytest

from conftest import DATA, RULES, read_events, run_stream

# What each rule reports on its stream, finding by finding: (ID, event name, Data).
EXPECTED = {
    "K8S-1": [("security_socket_connect", None)] * 3,
    "K8S-2": [("sched_process_exec", {"binary": b, "pathname": p}) for b, p in (
        ("kubectl", "/usr/local/bin/kubectl"), ("crictl", "/usr/bin/crictl"), ("ctr", "/usr/bin/ctr"),
        ("nerdctl", "/tmp/nerdctl"), ("kubectl", "/bin/busybox"), ("kubectl", "/tmp/.cache/k"))],
    "K8S-3": [("security_file_open", {"file path": p, "file flags": f}) for p, f in (
        ("/var/lib/kubelet/pki/kubelet-client-current.pem", "O_RDONLY|O_LARGEFILE"),
        ("/var/lib/kubelet/kubeconfig", "O_RDONLY"), ("/etc/kubernetes/admin.conf", "O_RDONLY|O_CLOEXEC"),
        ("/etc/kubernetes/kubelet.conf", 0), ("/root/.kube/config", "O_RDWR"),
        ("/home/dev/.kube/config", "O_RDONLY"), ("/etc/rancher/k3s/k3s.yaml", 32768))],
    "K8S-4": [("sched_process_exec", None)] * 4,
    "K8S-5": [
        ("security_socket_connect", {"socket": "/var/run/docker.sock", "access": "connect",
                                     "command": "docker run --privileged -v /:/host alpine"}),
        ("security_socket_connect", {"socket": "/run/containerd/containerd.sock", "access": "connect",
                                     "command": "curl --unix-socket /run/containerd/containerd.sock http://x/"}),
        ("security_socket_connect", {"socket": "/host/run/crio/crio.sock", "access": "connect", "command": ""}),
        ("security_file_open", {"socket": "/var/run/docker.sock", "access": "open", "command": ""})],
    "K8S-6": [("security_file_open", {"file path": p, "file flags": f}) for p, f in (
        ("/proc/sys/kernel/core_pattern", "O_WRONLY|O_CREAT|O_TRUNC"), ("/sys/kernel/uevent_helper", "O_WRONLY"),
        ("/proc/sys/kernel/modprobe", "O_RDWR"), ("/proc/sys/vm/drop_caches", 577))],
}


def stream(sid: str, nearmiss: bool = False):
    return DATA / f"{sid.lower()}{'-nearmiss' if nearmiss else ''}.jsonl"


def cel_backends() -> list[str]:
    backends = ["cel-python"]
    if importlib.util.find_spec("cel_expr_python") is not None:
        backends.append("cel-expr-python")
    return backends


@pytest.mark.parametrize("sid", sorted(RULES))
def test_fires_on_its_stream(sid):
    findings = run_stream(stream(sid))
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        (sid, name, data) for name, data in EXPECTED[sid]]


@pytest.mark.parametrize("sid", sorted(RULES))
def test_silent_on_near_misses(sid):
    path = stream(sid, nearmiss=True)
    events = read_events(path)
    # Each near-miss stream holds the positive events again as seen on the host and in a container
    # that has not started yet (origin host / container-init), plus look-alikes in a container.
    assert any(not e["containerId"] for e in events) and any(
        e["containerId"] and not e["contextFlags"]["containerStarted"] for e in events)
    assert run_stream(path) == []


@pytest.mark.parametrize("backend", cel_backends())
@pytest.mark.parametrize("sid", [s for s, lang in sorted(RULES.items()) if lang == "cel"])
def test_cel_rules_with_each_backend(sid, backend):
    findings = run_stream(stream(sid), "--cel-backend", backend)
    assert [f["SigMetadata"]["ID"] for f in findings] == [sid] * len(EXPECTED[sid])
    assert run_stream(stream(sid, nearmiss=True), "--cel-backend", backend) == []


@pytest.mark.parametrize("sid", sorted(RULES))
def test_metadata_conventions(sid):
    meta = run_stream(stream(sid), "--rules", sid)[0]["SigMetadata"]
    assert meta["ID"] == sid and meta["Version"] == "0.1.0"
    assert meta["Name"] and len(meta["Description"]) > 80
    assert {"container", "kubernetes"} <= set(meta["Tags"])
    props = meta["Properties"]
    assert type(props["Severity"]) is int and 0 <= props["Severity"] <= 4
    assert re.fullmatch(r"[A-Z][A-Za-z ]+: [A-Z][A-Za-z ]+", props["MITRE ATT&CK"]), props
    assert re.fullmatch(r"T\d{4}(\.\d{3})?", props["external_id"]), props


def test_all_streams_together_give_the_union(tmp_path):
    """The rules share one engine (and the Rego and CEL rules per-event work): all positive streams
    in one file give exactly the findings of the streams run one by one."""
    path = tmp_path / "all.jsonl"
    path.write_text("".join(stream(sid).read_text() for sid in sorted(RULES)))
    got = sorted((f["SigMetadata"]["ID"], f["Context"]["timestamp"]) for f in run_stream(path))
    want = sorted((f["SigMetadata"]["ID"], f["Context"]["timestamp"])
                  for sid in sorted(RULES) for f in run_stream(stream(sid)))
    assert len(got) == sum(len(v) for v in EXPECTED.values()) and got == want
