"""Triggers inside real containers: Docker's (local/busybox:1, made without a registry) and a
containerd `k8s.io` container as the CRI makes them, watched by `tracee run` with the container
enricher. Besides each finding's ID and Data (as in test_triggers.py), its Context must name the
container, its image and, where the container has the kubelet's labels, its pod.

The acceptance case: in a Docker container named `web-1` from `local/busybox:1`,
ptrace(PTRACE_TRACEME) yields a TRC-2 finding whose Context has that container id,
`containerName: web-1`, `containerImage: local/busybox:1`; with pod labels, the pod fields too.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable

import pytest

from e2e_harness import (BUSYBOX_IMAGE, ContainerdPods, DockerContainers, TraceeRun, WriteFlags, compile_triggers,
                         describe, docker_ready, sig_id)
from test_triggers import block_device, exercise  # noqa: F401 - block_device is a fixture

POD = {"io.kubernetes.pod.name": "web-7d9f5c-x2x", "io.kubernetes.pod.namespace": "shop",
       "io.kubernetes.pod.uid": "5e3c1a2b-0d4f-4e6a-9b8c-7f1e2d3c4b5a", "io.kubernetes.container.name": "web"}


@pytest.fixture(scope="session", autouse=True)
def _docker() -> None:
    why = docker_ready()
    if why:  # CI installs and starts Docker (scripts/test): there, a missing Docker is a failure
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)


@pytest.fixture(scope="session")
def static_programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The triggers linked statically: the busybox image has no C library."""
    return compile_triggers(tmp_path_factory.mktemp("e2e-static-bin"), static=True)


def assert_named(findings: list[dict[str, Any]], name: str, image: str, pod: dict[str, str] | None = None) -> None:
    for f in findings:
        ctx = f["Context"]
        assert (ctx["containerName"], ctx["containerImage"]) == (name, image), describe(f)
        want = (pod or {}).get
        assert (ctx["podName"], ctx["podNamespace"], ctx["podUID"]) == \
            (want("io.kubernetes.pod.name", ""), want("io.kubernetes.pod.namespace", ""),
             want("io.kubernetes.pod.uid", "")), describe(f)


def in_docker(sig: str, trigger: str, report: Callable[[str, str], None], programs: dict[str, Path], work: Path,
              program: str, benign: tuple[str, ...], attack: tuple[str, ...], expected: list[Any], *,
              name: str = "web-1", pod: dict[str, str] | None = None, setup: str = "",
              docker_args: tuple[str, ...] = ()) -> None:
    docker = DockerContainers(programs[program].parent, work, name=name, labels=pod or {},
                              docker_args=docker_args)
    exe = programs[program]
    got = exercise(sig, f"{trigger} (Docker container {name} from {BUSYBOX_IMAGE}"
                        f"{', with pod labels' if pod else ''})", report,
                   benign=lambda: docker.run(exe, *benign, setup=setup),
                   attack=lambda: docker.run(exe, *attack, setup=setup), expected=lambda r: expected)
    assert_named(got, name, BUSYBOX_IMAGE, pod)
    report(trigger, f"Context: containerName={name} containerImage={BUSYBOX_IMAGE}"
                    + (f" podName={pod['io.kubernetes.pod.name']}" if pod else ""))


def test_trc2_in_docker_web_1(static_programs, report, tmp_path):
    in_docker("TRC-2", "anti_debugging: ptrace(PTRACE_TRACEME)", report, static_programs, tmp_path,
              "anti_debugging", ("benign",), ("attack",), [None])


def test_trc2_in_docker_with_pod_labels(static_programs, report, tmp_path):
    in_docker("TRC-2", "anti_debugging: ptrace(PTRACE_TRACEME)", report, static_programs, tmp_path,
              "anti_debugging", ("benign",), ("attack",), [None], name="web-2", pod=POD)


def test_trc5_in_docker(static_programs, report, tmp_path):
    in_docker("TRC-5", "fileless_execution: /bin/true copied into a memfd and fexecve()d", report,
              static_programs, tmp_path, "fileless_execution", ("benign", "/tmp/true-copy"), ("attack",), [None])


def test_trc9_in_docker(static_programs, report, tmp_path):
    in_docker("TRC-9", "dropped_executable: /bin/true copied to /tmp/e2e-dropped with write()", report,
              static_programs, tmp_path, "dropped_executable", ("benign", "/tmp/e2e-dropped"),
              ("attack", "/tmp/e2e-dropped"), [{"file path": "/tmp/e2e-dropped"}])


def test_trc11_in_docker(static_programs, report, tmp_path, block_device):
    dev, fstype = block_device
    # The device and the right to mount, as --privileged would give (which this machine's root,
    # lacking CAP_SYS_RESOURCE, cannot grant: runc refuses a capability the host does not have).
    in_docker("TRC-11", f"disk_mount: mount of {dev} ({fstype}, read-only) in a container given the device",
              report, static_programs, tmp_path, "disk_mount", ("benign", dev, fstype, "/mnt/disk"),
              ("attack", dev, fstype, "/mnt/disk"), [{"mounted device": dev}], setup="mkdir -p /mnt/disk",
              docker_args=("--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
                           *(("--device", dev) if dev.startswith("/dev/loop") else ())))


def test_trc12_in_docker(static_programs, report, tmp_path):
    # The kernel reports the executed file's own path: busybox's /bin/sh is a symlink to
    # /bin/busybox, which names no shell (so TRC-12 misses busybox shells, as Tracee's does), so
    # /bin/sh is made a real file here, as in a Debian or Alpine image with a real shell.
    in_docker("TRC-12", "illegitimate_shell: a process named nginx executes /bin/sh", report, static_programs,
              tmp_path, "illegitimate_shell", ("benign",), ("attack",), [None], pod=POD,
              setup="cp /bin/busybox /bin/sh.real && mv /bin/sh.real /bin/sh")


def test_trc14_in_docker(static_programs, report, tmp_path):
    agent_dir = tmp_path / "cgrp"  # a plain file in the test's directory, bind-mounted: no real cgroup
    agent_dir.mkdir()
    (agent_dir / "release_agent").write_text("")
    agent = "/tmp/cgrp/release_agent"
    in_docker("TRC-14", f"cgroup_release_agent: write-open of {agent}", report, static_programs, tmp_path,
              "cgroup_release_agent", ("benign", agent), ("attack", agent),
              [{"File Flags": WriteFlags(), "File Path": agent}], docker_args=("-v", f"{agent_dir}:/tmp/cgrp"))


def test_trc2_in_a_containerd_k8s_container(static_programs, report):
    """A Kubernetes pod's container as containerd's CRI keeps it (namespace k8s.io, the kubelet's
    labels), started with ctr: no Docker involved, the metadata comes from containerd's API."""
    pods = ContainerdPods(static_programs["anti_debugging"].parent, POD)
    pods.ensure_image()
    exe = static_programs["anti_debugging"]
    got = exercise("TRC-2", "anti_debugging in a containerd k8s.io container (ctr run, CRI labels)", report,
                   benign=lambda: pods.run(exe, "benign"), attack=lambda: pods.run(exe, "attack"),
                   expected=lambda r: [None])
    assert_named(got, "web", pods.image, POD)


K8S_RULES = ("K8S-1", "K8S-2", "K8S-3", "K8S-4", "K8S-5", "K8S-6")
K8S_SCRIPT = """
cp /bin/busybox /tmp/kubectl && /tmp/kubectl get pods || true      # K8S-2: kubectl executed
cp /bin/busybox /tmp/nsenter && /tmp/nsenter --help || true        # K8S-4: nsenter executed
cat /root/.kube/config > /dev/null                                 # K8S-3: kubeconfig read
echo k8s-e2e > /proc/sys/kernel/hostname                           # K8S-6: its own UTS namespace
/e2e-bin/connect_to unix /run/e2e/docker.sock                      # K8S-5: a runtime socket
/e2e-bin/connect_to inet 169.254.169.254 80                        # K8S-1: no network: no packet leaves
"""


def test_k8s_pack_in_a_docker_pod_container(static_programs, report, tmp_path):
    """All six K8S rules from one container with the kubelet's labels: each finding names the
    container, the image and the pod. CAP_SYS_ADMIN and unmasked /proc paths let it write its own
    hostname through /proc/sys (its own UTS namespace: the host's name is untouched)."""
    kube = tmp_path / "kube"
    kube.mkdir()
    (kube / "config").write_text("apiVersion: v1\n")
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(sockets / "docker.sock"))  # named like Docker's socket; it is not
    server.listen(1)
    docker = DockerContainers(static_programs["connect_to"].parent, tmp_path / "docker", name="k8s-web",
                              labels=POD, docker_args=("--cap-add", "SYS_ADMIN", "--security-opt", "systempaths=unconfined", "-v", f"{kube}:/root/.kube:ro",
                                                       "-v", f"{sockets}:/run/e2e"))
    trigger = "K8S pack: kubectl, nsenter, kubeconfig read, /proc/sys write, runtime socket, metadata IP"
    try:
        with TraceeRun(K8S_RULES) as run:
            run.wait_ready()
            done = docker.run(static_programs["connect_to"], "unix", "/run/e2e/docker.sock", setup=K8S_SCRIPT).check()
            got = run.wait_for_all(done.owns, sig_id, set(K8S_RULES), 10)
    finally:
        server.close()
    for f in got:
        report(trigger, f"finding: {describe(f)}")
    assert sorted({sig_id(f) for f in got}) == list(K8S_RULES), run.stderr_text()
    assert_named(got, "k8s-web", BUSYBOX_IMAGE, POD)
    report(trigger, f"every K8S rule fired, each naming container k8s-web, pod {POD['io.kubernetes.pod.name']}")
