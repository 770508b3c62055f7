"""Every rule fires on real kernel events from tracee-input-ebpf, in a container made by hand: a
`docker-<id>.scope` cgroup and new mount and UTS namespaces (what a runtime does, minus the image).
Needs root, a BPF-capable kernel and tracee-input-ebpf; skipped otherwise."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import RULES

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

CONTAINER_ID = "c0ffee" * 10 + "abcd"
SCRIPT = r"""
set -e
W={work}
$W/bin/kubectl get pods
$W/bin/nsenter --target 1
cat $W/home/dev/.kube/config > /dev/null
hostname k8s-test                                   # our own UTS namespace: the host keeps its name
cp /proc/sys/kernel/hostname $W/h && cp $W/h /proc/sys/kernel/hostname
{python} -c "import socket; s = socket.socket(socket.AF_UNIX); s.connect('$W/docker.sock')"
{python} -c "import socket; s = socket.socket(); s.settimeout(0.2); s.connect_ex(('169.254.169.254', 80))"
"""


def _cgroup_root() -> Path | None:
    """The hierarchy tracee-input-ebpf reads container ids from (cpuset on v1, else cgroup2)."""
    from tracee_input_ebpf.program import cgroup_mode

    return cgroup_mode()[1]


@pytest.fixture
def container_cgroup():
    root = _cgroup_root()
    path = root / f"docker-{CONTAINER_ID}.scope"
    path.mkdir(exist_ok=True)
    for name in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset cgroup takes no task until these are set
        if (path / name).exists():
            (path / name).write_text((root / name).read_text())
    yield path
    for _ in range(50):
        try:
            path.rmdir()
            break
        except OSError:  # its last task is still exiting
            time.sleep(0.1)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
@pytest.mark.skipif(importlib.util.find_spec("tracee_input_ebpf") is None, reason="tracee-input-ebpf not installed")
@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1)")
def test_each_rule_fires_on_live_events(tmp_path, container_cgroup):
    work = tmp_path / "work"
    (work / "bin").mkdir(parents=True)
    (work / "home" / "dev" / ".kube").mkdir(parents=True)
    (work / "home" / "dev" / ".kube" / "config").write_text("apiVersion: v1\n")
    for tool in ("kubectl", "nsenter"):  # harmless stand-ins under the names the rules look for
        shutil.copy("/bin/true", work / "bin" / tool)
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(work / "docker.sock"))
    server.listen(5)

    args = [sys.executable, "-m", "tracee.cli", "run", "--output", "json"]
    for sid in sorted(RULES):
        args += ["--rules", sid]
    tracer = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        ready = ""
        while "Loaded" not in ready:  # the banner comes once the probes are attached
            line = tracer.stderr.readline()
            assert line, f"tracee run exited: {tracer.wait()}"
            ready += line
            assert time.monotonic() < deadline, ready
        script = SCRIPT.format(work=work, python=sys.executable)
        enter = f"echo $$ > {container_cgroup}/cgroup.procs && exec unshare -m -u sh -c \"$0\""
        subprocess.run(["sh", "-c", enter, script], check=True, timeout=60)
        time.sleep(2)  # let the last events through the ring buffer
    finally:
        tracer.send_signal(signal.SIGINT)
        out, err = tracer.communicate(timeout=60)
        server.close()
    findings = [json.loads(line) for line in out.splitlines() if line.strip()]
    fired = {f["SigMetadata"]["ID"] for f in findings}
    assert fired == set(RULES), err
    assert all(f["Context"]["containerId"] == CONTAINER_ID for f in findings)
    assert " 0 error(s)" in err, err
    by_id = {f["SigMetadata"]["ID"]: f for f in findings}
    assert by_id["K8S-2"]["Data"]["binary"] == "kubectl"
    assert by_id["K8S-6"]["Data"]["file path"] == "/proc/sys/kernel/hostname"
    assert by_id["K8S-5"]["Data"]["socket"] == str(work / "docker.sock")
    assert "socket.AF_UNIX" in by_id["K8S-5"]["Data"]["command"]
