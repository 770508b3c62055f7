"""TRC-1 … TRC-14 end to end: a real program does the attack while `tracee run` watches live.

Each test starts `tracee run --output json --rules TRC-N` (the eBPF input, as root), waits until
it is ready, runs the trigger's benign near-miss and checks for 1 s that it produced no finding,
then runs the attack and checks that exactly the expected findings (signature ID and Data) arrive
within 5 seconds. Findings are attributed to a trigger by its container id or its process ids, so
unrelated activity on the machine cannot make a test pass (or fail).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import pytest

from e2e_harness import TraceeRun, TriggerResult, WriteFlags, describe, run_trigger, sig_id

QUIET = 1.0      # seconds the near-miss is watched before the attack runs
DEADLINE = 5.0   # the attack's findings must arrive within this (issue 7)
STRAGGLERS = 0.5  # after the last expected finding, how long an extra (wrong) one may take


def exercise(sig: str, trigger: str, report: Callable[[str, str], None], *,
             benign: Callable[[], TriggerResult], attack: Callable[[], TriggerResult],
             expected: Callable[[TriggerResult], list[Any]], extra: Sequence[str] = (),
             pause_during_attack: bool = False) -> list[dict[str, Any]]:
    """Run near-miss then attack under `tracee run --rules sig`; assert exactly `expected` Data;
    return the attack's findings.
    `pause_during_attack`: tracee run is stopped (SIGSTOP) while the attack runs, so it reads the
    attack's events only after the attack has exited (and a short-lived container is gone)."""
    with TraceeRun([sig], extra) as run:
        run.wait_ready()
        report(trigger, f"tracee run {' '.join(run.argv[2:])}: ready after {run.ready_after:.1f}s")
        near = benign().check()
        time.sleep(QUIET)
        near_findings = [f for f in run.snapshot() if near.owns(f)]
        assert not near_findings, (f"{trigger}: the near-miss produced a finding:\n"
                                   + "\n".join(describe(f) for f in near_findings))
        report(trigger, f"near-miss `{near.command}`: no finding in {QUIET:.0f}s")

        if pause_during_attack:
            with run.paused():
                done = attack().check()
        else:
            done = attack().check()
        t0 = time.monotonic()
        report(trigger, f"attack `{done.command}`: facts {done.facts}")
        want = expected(done)
        got = run.wait_for(done.owns, len(want), DEADLINE)
        latency = time.monotonic() - t0
        time.sleep(STRAGGLERS)
        got = [f for f in run.snapshot() if done.owns(f)]
        others = [f for f in run.snapshot() if not done.owns(f) and not near.owns(f)]
    for f in others:
        report(trigger, f"(unrelated finding from another process on the machine: {describe(f)})")
    assert got, (f"{trigger}: no {sig} finding within {DEADLINE:.0f}s of the attack "
                 f"(facts {done.facts});\ntracee stderr:\n{run.stderr_text()}")
    assert latency <= DEADLINE, f"{trigger}: findings took {latency:.1f}s"
    for f in got:
        report(trigger, f"finding: {describe(f)}")
    report(trigger, f"all expected findings within {latency:.2f}s; {run.summary()}")
    assert [sig_id(f) for f in got] == [sig] * len(got)
    unmatched = [f.get("Data") for f in got]
    for data in want:
        assert data in unmatched, f"{trigger}: expected Data {data!r}, got {[f.get('Data') for f in got]}"
        unmatched.remove(data)
    assert not unmatched, f"{trigger}: unexpected extra finding(s) with Data {unmatched}"
    if done.container_id:
        for f in got:
            assert f["Context"]["contextFlags"]["containerStarted"] is True, describe(f)
    return got


# -- TRC-1 … TRC-7, TRC-12: on the host ---------------------------------------------------------------
def test_trc1_stdio_over_socket(programs, report):
    exe = programs["stdio_over_socket"]
    exercise("TRC-1", "stdio_over_socket: child connects to 127.0.0.1 and dup2()s the socket onto 0/1/2",
             report, benign=lambda: run_trigger([exe, "benign"]), attack=lambda: run_trigger([exe, "attack"]),
             expected=lambda r: [{"ip": "127.0.0.1", "port": r.facts["port"], "fd": fd} for fd in (0, 1, 2)])


def test_trc2_anti_debugging(programs, report):
    exe = programs["anti_debugging"]
    exercise("TRC-2", "anti_debugging: ptrace(PTRACE_TRACEME)", report,
             benign=lambda: run_trigger([exe, "benign"]), attack=lambda: run_trigger([exe, "attack"]),
             expected=lambda r: [None])


@pytest.mark.parametrize("how", ["poketext", "procmem", "vmwritev"])
def test_trc3_code_injection(programs, report, how):
    exe = programs["code_injection"]
    what = {"poketext": "PTRACE_POKETEXT into a child's variable",
            "procmem": "write-open of /proc/<child>/mem and a write to a variable",
            "vmwritev": "process_vm_writev into a child's variable"}[how]

    def expected(r: TriggerResult) -> list[Any]:
        if how == "procmem":
            assert int(r.facts["child"]) >= 10  # Tracee's regex `\d.+` needs two characters
            return [{"file flags": WriteFlags(), "file path": r.facts["path"]}]
        return [None]
    exercise("TRC-3", f"code_injection {how}: {what}", report,
             benign=lambda: run_trigger([exe, "benign", how]), attack=lambda: run_trigger([exe, "attack", how]),
             expected=expected)


def test_trc4_dynamic_code_loading(programs, report):
    exe = programs["dynamic_code_loading"]
    exercise("TRC-4", "dynamic_code_loading: anonymous mapping RWX, then mprotect to R+X", report,
             benign=lambda: run_trigger([exe, "benign"]), attack=lambda: run_trigger([exe, "attack"]),
             expected=lambda r: [None])


def test_trc5_fileless_execution(programs, report, tmp_path):
    exe = programs["fileless_execution"]
    exercise("TRC-5", "fileless_execution: /bin/true copied into a memfd and fexecve()d", report,
             benign=lambda: run_trigger([exe, "benign", tmp_path / "true-copy"]),
             attack=lambda: run_trigger([exe, "attack"]), expected=lambda r: [None])


@pytest.mark.parametrize("how", ["init", "finit"])
def test_trc6_kernel_module_loading(programs, report, tmp_path, how):
    exe = programs["kernel_module_loading"]
    image = str(tmp_path.resolve() / "bogus.ko")
    what = {"init": "init_module() of a bogus image", "finit": "finit_module() of a bogus image file"}[how]
    exercise("TRC-6", f"kernel_module_loading {how}: {what} (the kernel refuses it)", report,
             benign=lambda: run_trigger([exe, "benign", how, image]),
             attack=lambda: run_trigger([exe, "attack", how, image]),
             expected=lambda r: [None] if how == "init" else [{"pathname": image}])


@pytest.fixture
def ld_so_preload() -> Iterator[None]:
    """Whatever happens, /etc/ld.so.preload is left as it was (absent, or the same bytes and mode)."""
    path = Path("/etc/ld.so.preload")
    before = path.read_bytes() if path.exists() else None
    mode = path.stat().st_mode & 0o7777 if before is not None else None
    try:
        yield
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        elif not path.exists() or path.read_bytes() != before:
            path.write_bytes(before)
            os.chmod(path, mode)  # type: ignore[arg-type]


def test_trc7_ld_preload_env(programs, report):
    exe = programs["ld_preload"]
    exercise("TRC-7", "ld_preload env: execve(/bin/true) with LD_PRELOAD in its environment", report,
             benign=lambda: run_trigger([exe, "benign", "env"]), attack=lambda: run_trigger([exe, "attack", "env"]),
             expected=lambda r: [None])  # default flags: a rule selecting execs gets their environment


def test_trc7_ld_preload_env_literal(programs, report):
    """The exec's strings are literals of a forked child: not readable at execve entry."""
    exe = programs["ld_preload"]
    exercise("TRC-7", "ld_preload env-literal: fork, then execve(\"/bin/true\", ..., {\"LD_PRELOAD=\", ...}) "
             "with string literals", report,
             benign=lambda: run_trigger([exe, "benign", "env-literal"]),
             attack=lambda: run_trigger([exe, "attack", "env-literal"]),
             expected=lambda r: [None])  # default flags: a rule selecting execs gets their environment


def test_trc7_ld_preload_file(programs, report, tmp_path, ld_so_preload):
    exe = programs["ld_preload"]
    exercise("TRC-7", "ld_preload file: write-open of /etc/ld.so.preload (nothing written; restored)",
             report, benign=lambda: run_trigger([exe, "benign", "file", tmp_path / "ld.so.preload"]),
             attack=lambda: run_trigger([exe, "attack", "file"]), expected=lambda r: [None])


def test_trc12_illegitimate_shell(programs, report):
    exe = programs["illegitimate_shell"]
    exercise("TRC-12", "illegitimate_shell: a process named nginx executes /bin/sh", report,
             benign=lambda: run_trigger([exe, "benign"]), attack=lambda: run_trigger([exe, "attack"]),
             expected=lambda r: [None])


# -- TRC-8, 9, 10, 11, 13, 14: in a container -----------------------------------------------------------
SA_DIR = "/run/secrets/kubernetes.io/serviceaccount"


def test_trc8_k8s_service_account_token(programs, report, container):
    exe = programs["k8s_service_account_token"]
    files = {f"{SA_DIR}/token": "eyJhbGciOiJSUzI1NiJ9.e2e.not-a-real-token", f"{SA_DIR}/namespace": "default"}
    exercise("TRC-8", "k8s_service_account_token (container): read of "
             "/var/run/secrets/kubernetes.io/serviceaccount/token", report,
             benign=lambda: container.run(exe, "benign", files=files),
             attack=lambda: container.run(exe, "attack", files=files), expected=lambda r: [None])


def test_trc9_dropped_executable(programs, report, container):
    exe = programs["dropped_executable"]
    exercise("TRC-9", "dropped_executable (container): /bin/true copied to /tmp/e2e-dropped with write()",
             report, benign=lambda: container.run(exe, "benign", "/tmp/e2e-dropped"),
             attack=lambda: container.run(exe, "attack", "/tmp/e2e-dropped"),
             expected=lambda r: [{"file path": "/tmp/e2e-dropped"}])


def test_trc10_k8s_cert_theft(programs, report, container):
    exe = programs["k8s_cert_theft"]
    files = {"/etc/kubernetes/pki/ca.key": "-----BEGIN E2E TEST KEY-----",
             "/etc/kubernetes/kubelet.conf": "apiVersion: v1"}
    exercise("TRC-10", "k8s_cert_theft (container): read of /etc/kubernetes/pki/ca.key", report,
             benign=lambda: container.run(exe, "benign", files=files),
             attack=lambda: container.run(exe, "attack", files=files), expected=lambda r: [None])


@pytest.fixture
def block_device(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A read-only loop device over a 1 MiB ext2 image: (device, fstype); detached afterwards.
    Without mkfs.ext2/losetup: a device path that does not exist (the mount attempt still counts)."""
    image = tmp_path / "disk.img"
    if not (shutil.which("mkfs.ext2") and shutil.which("losetup")):
        yield "/dev/e2e-no-such-disk", "ext2"
        return
    with open(image, "wb") as f:
        f.truncate(1 << 20)
    subprocess.run(["mkfs.ext2", "-q", "-F", str(image)], check=True, capture_output=True)
    dev = subprocess.run(["losetup", "--find", "--show", "--read-only", str(image)], check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        yield dev, "ext2"
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def test_trc11_disk_mount(programs, report, container, block_device):
    exe = programs["disk_mount"]
    dev, fstype = block_device
    exercise("TRC-11", f"disk_mount (container): mount of {dev} ({fstype}, read-only) on /mnt/disk",
             report, benign=lambda: container.run(exe, "benign", dev, fstype, "/mnt/disk"),
             attack=lambda: container.run(exe, "attack", dev, fstype, "/mnt/disk"),
             expected=lambda r: [{"mounted device": dev}])


@pytest.fixture
def api_listeners() -> Iterator[int]:
    """Listeners on 127.0.0.1:P (the "API server") and 127.0.0.2:P (the near-miss's peer)."""
    socks = []
    first = socket.create_server(("127.0.0.1", 0))
    port = first.getsockname()[1]
    socks.append(first)
    socks.append(socket.create_server(("127.0.0.2", port)))
    stop = threading.Event()

    def serve(s: socket.socket) -> None:
        s.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = s.accept()
            except OSError:
                continue
            conn.close()
    threads = [threading.Thread(target=serve, args=(s,), daemon=True) for s in socks]
    for t in threads:
        t.start()
    try:
        yield port
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        for s in socks:
            s.close()


def test_trc13_k8s_api_connection(programs, report, container, api_listeners):
    exe = programs["k8s_api_connection"]
    port = str(api_listeners)
    exercise("TRC-13", "k8s_api_connection (container): exec with KUBERNETES_SERVICE_HOST=127.0.0.1, "
             f"then connect to 127.0.0.1:{port}", report,
             benign=lambda: container.run(exe, "benign", port), attack=lambda: container.run(exe, "attack", port),
             expected=lambda r: [{"ip": "127.0.0.1"}])  # default flags: a rule selecting execs gets their environment


def test_trc13_k8s_api_connection_literal(programs, report, container, api_listeners):
    """The exec with KUBERNETES_SERVICE_HOST passes string literals from a forked child."""
    exe = programs["k8s_api_connection"]
    port = str(api_listeners)
    exercise("TRC-13", "k8s_api_connection literal (container): fork, then execve with literal "
             f"KUBERNETES_SERVICE_HOST=127.0.0.1, then connect to 127.0.0.1:{port}", report,
             benign=lambda: container.run(exe, "benign", port, "literal"),
             attack=lambda: container.run(exe, "attack", port, "literal"),
             expected=lambda r: [{"ip": "127.0.0.1"}])  # default flags: a rule selecting execs gets their environment


def test_short_lived_container_trc10(programs, report, container):
    """`docker run --rm` shape: the container runs for milliseconds and its cgroups are removed
    as soon as it exits, before tracee run (stopped meanwhile) has read any of its events; the
    finding must still name the container and say it had started."""
    exe = programs["k8s_cert_theft"]
    files = {"/etc/kubernetes/pki/ca.key": "-----BEGIN E2E TEST KEY-----",
             "/etc/kubernetes/kubelet.conf": "apiVersion: v1"}
    exercise("TRC-10", "short-lived container (cgroups removed at exit, tracee run stopped meanwhile): "
             "read of /etc/kubernetes/pki/ca.key", report,
             benign=lambda: container.run(exe, "benign", files=files, short_lived=True),
             attack=lambda: container.run(exe, "attack", files=files, short_lived=True),
             expected=lambda r: [None], pause_during_attack=True)


def test_trc14_cgroup_release_agent(programs, report, container):
    exe = programs["cgroup_release_agent"]
    agent = "/tmp/cgrp/release_agent"
    exercise("TRC-14", f"cgroup_release_agent (container): write-open of {agent}", report,
             benign=lambda: container.run(exe, "benign", agent, files={agent: ""}),
             attack=lambda: container.run(exe, "attack", agent, files={agent: ""}),
             expected=lambda r: [{"File Flags": WriteFlags(), "File Path": agent}])
