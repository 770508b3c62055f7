"""Kernel cases a read at the tracepoint does not cover: exec strings on pages not yet present,
and a container whose cgroup is gone before its events are read."""

from __future__ import annotations

import errno
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from conftest import Collector, kernel_skip_reason

pytestmark = pytest.mark.kernel

# fork(), then execve() with every string on a file-backed page neither process has touched: fork
# copies no page-table entries for such mappings, so a BPF probe at sys_enter_execve cannot read
# them (as with string literals of a freshly forked C program). Prints the child's pid.
UNFAULTED_EXEC = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.execve.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
store, path, argv, envp = sys.argv[1], sys.argv[2], sys.argv[3].split(","), sys.argv[4].split(",")
strings = [path, *argv, *envp]
with open(store, "wb") as f:
    f.write(b"".join(s.encode() + b"\0" for s in strings))
base = libc.mmap(None, 4096, 1, 2, os.open(store, os.O_RDONLY), 0)  # PROT_READ, MAP_PRIVATE
where, at = [], base
for s in strings:
    where.append(at)
    at += len(s.encode()) + 1
pid = os.fork()
if pid == 0:
    a = (ctypes.c_void_p * (len(argv) + 1))(*where[1:1 + len(argv)], None)
    e = (ctypes.c_void_p * (len(envp) + 1))(*where[1 + len(argv):], None)
    libc.execve(where[0], a, e)
    os._exit(127)
print(pid, open("/proc/self/comm").read().strip(), flush=True)
os.waitpid(pid, 0)
"""


def args(event) -> dict:
    return {a["name"]: a["value"] for a in event.args}


def unfaulted_exec(tmp_path: Path, path: str, argv: list[str], envp: list[str]) -> tuple[int, str]:
    out = subprocess.run([sys.executable, "-c", UNFAULTED_EXEC, str(tmp_path / "strings"), path,
                          ",".join(argv), ",".join(envp)], capture_output=True, text=True, check=True)
    pid, comm = out.stdout.split()
    return int(pid), comm


def test_execve_strings_on_pages_not_present_come_from_the_new_image(collector, tmp_path: Path) -> None:
    pid, caller = unfaulted_exec(tmp_path, "/bin/true", ["true", "lit-arg"],
                                 ["LD_PRELOAD=", "KUBERNETES_SERVICE_HOST=10.0.0.1"])
    execve = collector.wait_for(lambda e: e.event_name == "execve" and e.host_process_id == pid)
    assert args(execve) == {"pathname": "/bin/true", "argv": ["true", "lit-arg"],
                            "envp": ["LD_PRELOAD=", "KUBERNETES_SERVICE_HOST=10.0.0.1"]}
    # Still the caller's event: its name and the time of the call, before the exec's own events.
    assert execve.process_name == caller != "true"
    assert execve.return_value == 0
    exe = collector.wait_for(lambda e: e.event_name == "sched_process_exec" and e.host_process_id == pid)
    assert execve.timestamp < exe.timestamp
    mine = [e.event_name for e in collector.all(lambda e: e.host_process_id == pid, settle=0)]
    assert mine.index("execve") < mine.index("security_bprm_check") < mine.index("sched_process_exec")


def test_failed_execve_with_strings_not_present_is_reported_at_exit(collector, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-program")
    pid, caller = unfaulted_exec(tmp_path, missing, ["nope", "x"], ["LD_PRELOAD=/tmp/evil.so"])
    execve = collector.wait_for(lambda e: e.event_name == "execve" and e.host_process_id == pid)
    assert args(execve)["pathname"] == missing  # the kernel's copy of it faulted the page in
    assert execve.return_value == -errno.ENOENT and execve.process_name == caller


# -- a container whose cgroup is removed right after it exits ------------------------------------------
def _make_cgroup(path: Path) -> None:
    path.mkdir()
    for name in ("cpuset.cpus", "cpuset.mems"):  # cgroup v1 cpuset: empty until given the parent's
        own = path / name
        if own.exists() and not own.read_text().strip():
            own.write_text((path.parent / name).read_text())


def _remove_cgroup(path: Path) -> None:
    for _ in range(100):  # an exited task leaves its cgroup asynchronously
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)
    path.rmdir()


# Joins the cgroup, enters a new mount namespace, execs: a container's first exec, in miniature.
ENTER = r"""
import ctypes, os, sys
open(sys.argv[1], "w").write(str(os.getpid()))
if ctypes.CDLL(None, use_errno=True).unshare(0x00020000) != 0:  # CLONE_NEWNS
    raise SystemExit("unshare: %s" % os.strerror(ctypes.get_errno()))
os.execv("/bin/true", ["true", "in-a-container"])
"""


@pytest.fixture
def unread_source() -> Iterator:
    """A source whose buffers are open but not read until the test starts a Collector on it."""
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")
    from tracee_input_ebpf.program import Filters
    from tracee_input_ebpf.source import EbpfSource, SourceOptions

    source = EbpfSource(SourceOptions(events=frozenset({"execve", "sched_process_exec"}),
                                      filters=Filters(pids=(os.getpid(),), follow=True),
                                      include_self=True, poll_ms=20))
    yield source
    source.close()


def test_short_lived_container_keeps_its_id_after_its_cgroup_is_removed(unread_source) -> None:
    cid = secrets.token_hex(32)
    parent = unread_source.program.cgroup_root / f"tracee-test-{os.getpid()}"
    group = parent / "docker" / cid
    made = []
    try:
        for path in (parent, parent / "docker", group):
            _make_cgroup(path)
            made.append(path)
        child = subprocess.run([sys.executable, "-c", ENTER, str(group / "cgroup.procs")])
        assert child.returncode == 0
    finally:
        for path in reversed(made):
            _remove_cgroup(path)
    assert not group.exists()
    # Only now are the container's records read: its cgroup can no longer be found on disk.
    collector = Collector(unread_source)
    try:
        exe = collector.wait_for(lambda e: e.event_name == "sched_process_exec"
                                 and args(e)["argv"] == ["true", "in-a-container"])
        assert exe.container_id == cid
        assert exe.container_started and exe.origin == "container"
        execve = collector.wait_for(lambda e: e.event_name == "execve" and e.host_process_id == exe.host_process_id
                                    and args(e)["pathname"] == "/bin/true")
        assert execve.container_id == cid and execve.origin == "container-init"  # before its first exec
        assert unread_source.containers.path(exe.cgroup_id).endswith(f"/docker/{cid}")
    finally:
        collector.close()
